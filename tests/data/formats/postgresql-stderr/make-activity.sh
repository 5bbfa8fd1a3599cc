#!/bin/sh
# Activity against a throw-away PostgreSQL 15 instance (port 5499, socket ${SOCK:-/work/corpus/pg/sock})
# whose postgresql.conf has logging_collector=on, log_destination='stderr,csvlog,jsonlog',
# log_line_prefix='%m [%p] %q%u@%d ', log_timezone='UTC', log_connections/disconnections/
# checkpoints/lock_waits=on, log_min_duration_statement=200, log_temp_files=0, log_min_messages=notice.
# The three files of log/ (postgresql.log, .csv, .json) then hold the same events.
PSQL="psql -X -q -h ${SOCK:-/work/corpus/pg/sock} -p 5499 -U postgres"
$PSQL -d postgres -c "CREATE DATABASE shop" 
$PSQL -d postgres -c "CREATE ROLE app LOGIN"
$PSQL -d shop <<'SQL'
CREATE TABLE orders (id int PRIMARY KEY, customer text NOT NULL, total numeric(10,2) CHECK (total >= 0));
INSERT INTO orders SELECT g, 'cust' || g, g * 1.5 FROM generate_series(1, 2000) g;
GRANT ALL ON orders TO app;
SQL
$PSQL -d shop -c "SELEC * FROM orders"
$PSQL -d shop -c "SELECT * FROM order_items"
$PSQL -d shop -c "SELECT 1/0"
$PSQL -d shop -c "INSERT INTO orders VALUES (1, 'dup', 5)"
$PSQL -d shop -c "INSERT INTO orders VALUES (5001, 'neg', -3)"
$PSQL -d shop -c "INSERT INTO orders VALUES (5002, NULL, 3)"
$PSQL -d shop <<'SQL'
DO $$
BEGIN
  RAISE NOTICE 'vacuum of % rows scheduled', 2000;
  RAISE WARNING 'table % is % %% bloated', 'orders', 37 USING HINT = 'Run VACUUM FULL during the maintenance window.';
  RAISE LOG 'custom log line from plpgsql: batch=%', 42;
  RAISE INFO 'info message only for the client';
END
$$;
SQL
$PSQL -d shop -c "DO \$\$ BEGIN RAISE EXCEPTION 'order % has invalid state', 77 USING DETAIL = 'state=shipped, expected paid', HINT = 'Check the payment webhook.', ERRCODE = 'P0001'; END \$\$"
$PSQL -d shop -c "SELECT pg_sleep(0.3), 'slow query' AS label"
$PSQL -d shop <<'SQL'
-- NB: the committed sample was made with "HAVING pg_sleep(0.25) IS NOT NULL AND ..." here, which
-- sleeps once per group (~8 minutes; its duration line says 498296.508 ms); this sleeps once.
WITH pause AS MATERIALIZED (SELECT pg_sleep(0.25))
SELECT customer,
       sum(total)
  FROM orders, pause
 WHERE id > 10
 GROUP BY customer
 HAVING sum(total) > 100000000;
SQL
$PSQL -d shop -c "SET work_mem = '64kB'; SELECT count(*) FROM (SELECT * FROM generate_series(1, 20000) g ORDER BY g DESC) s"
$PSQL -d shop <<'SQL'
SET log_min_messages = debug1;
SET client_min_messages = warning;
CREATE TEMP TABLE t AS SELECT 1 AS x;
ANALYZE orders;
SQL
# lock wait
( $PSQL -d shop -c "BEGIN; UPDATE orders SET total = total + 1 WHERE id = 10; SELECT pg_sleep(1.2); COMMIT;" ) &
sleep 0.3
$PSQL -d shop -c "UPDATE orders SET total = 0 WHERE id = 10"
wait
# deadlock
( $PSQL -d shop -c "BEGIN; UPDATE orders SET total = 1 WHERE id = 20; SELECT pg_sleep(0.5); UPDATE orders SET total = 1 WHERE id = 21; COMMIT;" ) &
( $PSQL -d shop -c "BEGIN; UPDATE orders SET total = 2 WHERE id = 21; SELECT pg_sleep(0.5); UPDATE orders SET total = 2 WHERE id = 20; COMMIT;" ) &
wait
$PSQL -d nosuchdb -c "SELECT 1"
$PSQL -U nosuchuser -d shop -c "SELECT 1"
$PSQL -U app -d shop -c "DROP TABLE orders"
$PSQL -U app -d shop -c "SELECT count(*) FROM orders WHERE customer = 'o''brien'"
$PSQL -d shop -c "CHECKPOINT"
$PSQL -d shop -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE 1 = 0"
$PSQL -d shop -c "ALTER SYSTEM SET work_mem = '8MB'" -c "SELECT pg_reload_conf()"
sleep 0.5
$PSQL -d shop -c "ALTER SYSTEM RESET work_mem" -c "SELECT pg_reload_conf()"
sleep 0.5
$PSQL -d shop -c "SELECT pg_sleep(5)" &
sleep 0.5
$PSQL -d postgres -c "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(5)%' AND pid <> pg_backend_pid()"
wait
