#!/bin/sh
# Regenerates the three PostgreSQL samples (postgresql-stderr, postgresql-csvlog, postgresql-jsonlog)
# from one run of a throw-away PostgreSQL 15 cluster (Debian postgresql-15) in $D, port 5499,
# Unix socket only.  The machine's own cluster (15/main) is not touched.
set -e
H=$(dirname "$(readlink -f "$0")"); D=${D:-/work/corpus/pg}; B=/usr/lib/postgresql/15/bin
mkdir -p "$D/sock"; chown postgres "$D" "$D/sock"; rm -rf "$D/data"
su postgres -c "$B/initdb -D $D/data -A trust -U postgres --locale=C.UTF-8 -E UTF8" >/dev/null
cat >> "$D/data/postgresql.conf" <<CONF
port = 5499
listen_addresses = ''
unix_socket_directories = '$D/sock'
logging_collector = on
log_destination = 'stderr,csvlog,jsonlog'
log_directory = 'log'
log_filename = 'postgresql.log'
log_line_prefix = '%m [%p] %q%u@%d '
log_timezone = 'UTC'
log_min_messages = notice
log_connections = on
log_disconnections = on
log_checkpoints = on
log_lock_waits = on
log_min_duration_statement = 200
log_temp_files = 0
deadlock_timeout = 200ms
CONF
su postgres -c "setsid $B/pg_ctl -D $D/data -l $D/pgctl.log start" </dev/null >/dev/null 2>&1; sleep 2
(cd /tmp && su postgres -c "sh $H/make-activity.sh" </dev/null >/dev/null 2>&1) || true
su postgres -c "$B/pg_ctl -D $D/data -m fast stop" </dev/null >/dev/null 2>&1; sleep 1
cp "$D/data/log/postgresql.log" "$H/sample.log"
cp "$D/data/log/postgresql.csv" "$H/../postgresql-csvlog/sample.log"
cp "$D/data/log/postgresql.json" "$H/../postgresql-jsonlog/sample.log"
python3 "$H/make-key.py" "$D/data/log" "$H/.."
