#!/bin/sh
# mosquitto 2.0.11 (Debian) with mosquitto.conf (log_type all), traffic from mosquitto_pub/sub, then SIGTERM.
H=$(dirname "$(readlink -f "$0")"); D=${D:-/work/corpus/mosq}; mkdir -p "$D"; chown mosquitto "$D"
rm -f "$D/mosquitto.log"
setsid mosquitto -c "$H/mosquitto.conf" </dev/null >/dev/null 2>&1 &
MPID=$!
sleep 0.5
P="-h 127.0.0.1 -p 1899"
timeout 3 mosquitto_sub $P -i dashboard-1 -t 'sensors/#' -q 1 -v >/dev/null 2>&1 &
SPID=$!
sleep 0.3
for i in 1 2 3; do mosquitto_pub $P -i sensor-kitchen -t sensors/kitchen/temp -m "21.$i" -q 1; sleep 0.4; done
mosquitto_pub $P -i sensor-garage -t sensors/garage/door -m open -r -q 2
mosquitto_pub $P -i big-sender -t sensors/blob -m "$(head -c 4000 /dev/zero | tr '\0' x)"
mosquitto_pub $P -V mqttv311 -i old-client -t 'bad/#/topic' -m x 2>/dev/null
mosquitto_pub $P -i sensor-kitchen -t sensors/kitchen/temp -m 22.0 -k 5 -q 0 --will-topic sensors/kitchen/status --will-payload offline
mosquitto_sub $P -i sensor-kitchen -t 'sensors/kitchen/#' -C 1 -W 1 >/dev/null 2>&1
wait $SPID
sleep 1.5
kill -TERM "$MPID"
sleep 0.5
cp "$D/mosquitto.log" "$H/sample.log" && python3 "$H/../_tools/service_keys.py" mosquitto "$H/sample.log" > "$H/key.jsonl"
