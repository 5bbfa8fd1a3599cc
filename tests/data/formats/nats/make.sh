#!/bin/sh
# nats-server 2.9.10 (Debian) with nats.conf (debug+trace, logtime), traffic from make-traffic.py, then SIGTERM.
D=${D:-/work/corpus/nats}; H=$(dirname "$(readlink -f "$0")"); mkdir -p "$D"
rm -f "$D/nats.log"
setsid /usr/sbin/nats-server -c "$H/nats.conf" -l "$D/nats.log" -P "$D/nats.pid" </dev/null >/dev/null 2>&1 &
sleep 1; python3 "$H/make-traffic.py"; kill "$(cat "$D/nats.pid")"; sleep 1
cp "$D/nats.log" "$H/sample.log" && python3 "$H/../_tools/service_keys.py" nats "$H/sample.log" > "$H/key.jsonl"
