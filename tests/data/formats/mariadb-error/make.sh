#!/bin/sh
# Throw-away MariaDB 10.11 (Debian) on 127.0.0.1:3399 with its own datadir and error log;
# start, bad logins, aborted connections, a killed query, a warning-level note, then shutdown,
# a restart and a second shutdown.
D=${D:-/work/corpus/maria}; H=$(dirname "$(readlink -f "$0")"); mkdir -p "$D"; chown mysql "$D"
rm -rf "$D/data" "$D/error.log"
mariadb-install-db --no-defaults --datadir="$D/data" --user=mysql --auth-root-authentication-method=normal >/dev/null 2>&1
start() {
  setsid /usr/sbin/mariadbd --no-defaults --datadir="$D/data" --user=mysql --port=3399 --bind-address=127.0.0.1 \
    --socket="$D/mysqld.sock" --pid-file="$D/mysqld.pid" --log-error="$D/error.log" --log-warnings=4 \
    --innodb-buffer-pool-size=32M --max-connections=20 </dev/null >/dev/null 2>&1 &
  for i in $(seq 50); do [ -S "$D/mysqld.sock" ] && break; sleep 0.2; done; sleep 0.5
}
M="mariadb --no-defaults -S $D/mysqld.sock -uroot"
start
$M -e "CREATE DATABASE shop; CREATE USER 'app'@'localhost' IDENTIFIED BY 'app-pass-not-real'; GRANT ALL ON shop.* TO 'app'@'localhost';"
mariadb --no-defaults -h 127.0.0.1 -P 3399 -uapp -pwrong -e "SELECT 1" 2>/dev/null
mariadb --no-defaults -h 127.0.0.1 -P 3399 -unobody -e "SELECT 1" 2>/dev/null
mariadb --no-defaults -h 127.0.0.1 -P 3399 -uapp -papp-pass-not-real -D nosuchdb -e "SELECT 1" 2>/dev/null
printf 'garbage\r\n' | timeout 1 python3 -c "import socket,sys;s=socket.create_connection(('127.0.0.1',3399));s.recv(1000);s.close()"
( mariadb --no-defaults -h 127.0.0.1 -P 3399 -uapp -papp-pass-not-real -e "SELECT SLEEP(5)" 2>/dev/null ) &
QPID=$!
sleep 1
$M -e "SELECT id FROM information_schema.processlist WHERE info LIKE 'SELECT SLEEP%'" -N | while read id; do $M -e "KILL $id"; done
$M -e "SELECT * FROM shop.nosuch" 2>/dev/null
wait $QPID
$M -e "SET GLOBAL innodb_buffer_pool_size=33554432; SET GLOBAL max_connections=30"
$M -e "SHUTDOWN"
sleep 2
start
$M -e "SELECT 1" >/dev/null
mariadb --no-defaults -h 127.0.0.1 -P 3399 -uapp -pwrong2 -e "SELECT 1" 2>/dev/null
kill -TERM "$(cat "$D/mysqld.pid")"
sleep 3
cp "$D/error.log" "$H/sample.log" && python3 "$H/../_tools/service_keys.py" mariadb-error "$H/sample.log" > "$H/key.jsonl"
