#!/usr/bin/env python3
"""sample.log = the first 110 and the last 130 records of this machine's RabbitMQ log
(/var/log/rabbitmq/rabbit@localhost.log, RabbitMQ 3.10.8), lines copied unchanged; a record is a
run of consecutive lines with the same "time [level] <pid>" header (RabbitMQ repeats the header on
every line of a multi-line message), so no record is cut.  The Erlang-cookie hash in the
start-up banner is replaced by a placeholder of the same length."""
import re, sys
src = sys.argv[1] if len(sys.argv) > 1 else "/var/log/rabbitmq/rabbit@localhost.log"
L = open(src, encoding="utf-8").read().split("\n")[:-1]
rx = re.compile(r"(\S+ \S+) \[(\w+)\] (<[\d.]+>)")
groups, prev = [], None
for l in L:
    h = rx.match(l).groups()
    if h == prev: groups[-1].append(l)
    else: groups.append([l]); prev = h
sel = groups[:110] + groups[-130:] if len(groups) > 240 else groups
text = "\n".join(l for g in sel for l in g) + "\n"
# scrub: the start-up banner prints a hash of this node's Erlang cookie; replaced by a same-length placeholder
text = re.sub(r"(cookie hash    : )[A-Za-z0-9+/=]{24}", lambda m: m[1] + "A" * 22 + "==", text)
open("sample.log", "w", encoding="utf-8").write(text)
