#!/bin/sh
# HAProxy in the foreground logging raw HTTP-log lines to stdout (= sample.log), a Python backend, client.py traffic.
H=$(dirname "$(readlink -f "$0")"); D=${D:-/work/corpus/haproxy}; mkdir -p "$D"; cd "$D"
python3 "$H/backend.py" </dev/null >/dev/null 2>&1 & B=$!
haproxy -db -f "$H/haproxy.cfg" </dev/null >"$D/haproxy.log" 2>"$D/haproxy.stderr" & P=$!
sleep 1
python3 "$H/client.py"
sleep 0.5
kill -USR1 $P; wait $P; kill $B
# the 4 'Proxy ... stopped' lines HAProxy prints at shutdown carry no time stamp in raw format: only the request lines are kept
head -n $(wc -l < "$D/client.jsonl") "$D/haproxy.log" > "$H/sample.log"; cp "$D/client.jsonl" "$H/client.jsonl"
python3 "$H/../_tools/service_keys.py" haproxy "$H/sample.log" "$H/client.jsonl" > "$H/key.jsonl"
