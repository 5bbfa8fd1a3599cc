#!/usr/bin/env python3
"""key.jsonl for the three PostgreSQL 15 logs written by the same server run.

The server wrote every event three times (log_destination='stderr,csvlog,jsonlog').
jsonlog is its own structured output; the keys of all three come from it:
  time      <- "timestamp" (log_timezone=UTC, millisecond precision)
  severity  <- "error_severity"
  message   <- "message" (+ " at character N" in the stderr form, as elog.c appends it)
  order     the three files interleave concurrent backends differently, so each file's record
            order is its own: csvlog rows are matched to JSON records by (session_id, line_num);
            stderr records by their exact first line, rebuilt from the JSON record
            ("%m [%p] %q%u@%d " + SEVERITY + ":  " + message).
  lines     stderr: 1 per part that elog.c prints (message, DETAIL, HINT, QUERY, CONTEXT,
            STATEMENT, each plus its embedded newlines); csvlog: physical lines of the CSV row
            (counted with Python's csv reader, and the row's message is checked equal to the
            JSON message); jsonlog: 1.
Usage: make-key.py <log dir> <out dir with postgresql-stderr/, postgresql-csvlog/, postgresql-jsonlog/>
"""
import csv, json, sys, os
logdir, out = sys.argv[1], sys.argv[2]
SEV = {"LOG": 9, "INFO": 9, "NOTICE": 10, "WARNING": 13, "ERROR": 17, "FATAL": 21, "PANIC": 21}
recs = [json.loads(l) for l in open(os.path.join(logdir, "postgresql.json"), encoding="utf-8")]

def t(ts):  # "2026-11-30 11:30:47.949 UTC" -> RFC 3339
    assert ts.endswith(" UTC")
    return ts[:-4].replace(" ", "T") + "Z"

def sev(s):
    return 5 if s.startswith("DEBUG") else SEV[s]

def fields(r):
    f = {"pid": r["pid"]}
    for k in ("user", "dbname", "session_id", "state_code", "backend_type", "application_name", "remote_host"):
        if k in r:
            f[k] = r[k]
    return f

def nl(s):
    return s.count("\n") + 1

def key(r, line, n, msg):
    return json.dumps({"line": line, "lines": n, "time": t(r["timestamp"]), "severity": sev(r["error_severity"]),
                       "level": r["error_severity"], "message": msg.split("\n")[0], "fields": fields(r)}) + "\n"

# stderr
L = open(os.path.join(logdir, "postgresql.log"), encoding="utf-8").read().split("\n")
pos = {}
for i, l in enumerate(L):
    pos.setdefault(l, []).append(i + 1)
out_recs = []
for r in recs:
    msg = r["message"]
    if "cursor_position" in r:
        msg += " at character %d" % r["cursor_position"]
    prefix = "%s [%d] " % (r["timestamp"], r["pid"])
    if "remote_host" in r:
        prefix += "%s@%s " % (r.get("user", "[unknown]"), r.get("dbname", "[unknown]"))
    first = prefix + r["error_severity"] + ":  " + msg.split("\n")[0]
    line = pos[first].pop(0)
    n = nl(msg) + sum(nl(r[p]) for p in ("detail", "hint", "internal_query", "context", "statement") if p in r)
    out_recs.append((line, key(r, line, n, msg)))
out_recs.sort()
assert sum(1 for l in L if l[:4] == "2026") == sum(json.loads(k)["lines"] for _, k in out_recs) - sum(l.startswith("\t") for l in L)
open(os.path.join(out, "postgresql-stderr", "key.jsonl"), "w").writelines(k for _, k in out_recs)
# csvlog
by_id = {(r["session_id"], r["line_num"]): r for r in recs}
with open(os.path.join(logdir, "postgresql.csv"), newline="", encoding="utf-8") as f, \
     open(os.path.join(out, "postgresql-csvlog", "key.jsonl"), "w") as k:
    rd = csv.reader(f)
    start = 1
    for row in rd:
        r = by_id.pop((row[5], int(row[6])))
        assert row[13] == r["message"] and row[11] == r["error_severity"], (row, r)
        n = rd.line_num - start + 1
        k.write(key(r, start, n, r["message"]))
        start = rd.line_num + 1
    assert not by_id
# jsonlog
with open(os.path.join(out, "postgresql-jsonlog", "key.jsonl"), "w") as k:
    for i, r in enumerate(recs, 1):
        k.write(key(r, i, 1, r["message"]))
