#!/bin/sh
# rsyslogd in the foreground with rsyslog.conf; logger traffic (make-traffic.sh) under libfaketime
# (clock shifted so that the messages cross midnight);
# the three output files become the syslog-traditional, syslog-rfc3339 and syslog-rfc5424 samples.
H=$(dirname "$(readlink -f "$0")"); D=/work/corpus/rsyslog
mkdir -p "$D"; rm -f "$D"/*.log "$D"/key.jsonl
rsyslogd -n -f "$H/rsyslog.conf" -i "$D/rsyslogd.pid" </dev/null >/dev/null 2>&1 & P=$!
sleep 1
# a relative offset (not "@start", which would restart the clock in every logger process)
OFF=$(( $(date -u -d "2026-11-30 23:59:58" +%s) - $(date -u +%s) ))
TZ=UTC FAKETIME="+${OFF}s" LD_PRELOAD=/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1 sh "$H/make-traffic.sh"
sleep 1; kill $P; wait $P
cp "$D/rfc5424.log" "$H/sample.log"; cp "$D/rfc3339.log" "$H/../syslog-rfc3339/sample.log"; cp "$D/traditional.log" "$H/../syslog-traditional/sample.log"
cp "$D/key.jsonl" "$H/rsyslog-key.jsonl"
python3 "$H/make-key.py" "$H/rsyslog-key.jsonl" "$H/.."
