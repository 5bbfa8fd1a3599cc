#!/bin/sh
# Runs a throw-away Redis 7.0.15 (Debian) primary on 127.0.0.1:6399 and a replica on :6398,
# both appending to one log file (loglevel debug on the primary for a moment, verbose after), then
# exercises it with redis-cli: clients, SAVE, BGSAVE, replication, CONFIG SET, SHUTDOWN.
D=${D:-/work/corpus/redis}; H=$(dirname "$(readlink -f "$0")"); mkdir -p "$D"
cd "$D"
rm -f redis.log dump.rdb
redis-server --port 6399 --bind 127.0.0.1 --daemonize yes --logfile "$D/redis.log" --loglevel debug --dir "$D" --dbfilename p.rdb --save "" --pidfile "$D/p.pid" </dev/null >/dev/null 2>&1
sleep 0.5
redis-cli -p 6399 set greeting hello >/dev/null
redis-cli -p 6399 config set loglevel verbose >/dev/null
for i in 1 2 3 4 5; do redis-cli -p 6399 incr counter >/dev/null; done
redis-cli -p 6399 save >/dev/null
redis-cli -p 6399 bgsave >/dev/null
sleep 1.2
redis-server --port 6398 --bind 127.0.0.1 --daemonize yes --logfile "$D/redis.log" --loglevel notice --dir "$D" --dbfilename r.rdb --save "" --replicaof 127.0.0.1 6399 --pidfile "$D/r.pid" </dev/null >/dev/null 2>&1
sleep 2.5
redis-cli -p 6399 debug sleep 0 >/dev/null
redis-cli -p 6399 config set maxmemory 1mb >/dev/null
redis-cli -p 6399 config set loglevel notice >/dev/null
redis-cli -p 6398 replicaof no one >/dev/null
sleep 0.5
redis-cli -p 6398 shutdown nosave >/dev/null 2>&1
redis-cli -p 6399 shutdown >/dev/null 2>&1
sleep 0.5
cp "$D/redis.log" "$H/sample.log" && python3 "$H/../_tools/service_keys.py" redis "$H/sample.log" > "$H/key.jsonl"
