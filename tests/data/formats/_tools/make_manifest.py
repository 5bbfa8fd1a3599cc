#!/usr/bin/env python3
"""Writes MANIFEST.json from the table below and the record counts of each key.jsonl."""
import json, os, sys
root = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OWN = "CC0-1.0 (test material made for loghaul on its development machine; program output is not covered by the programs' licences)"
MACH = "CC0-1.0 (excerpt of this development machine's own log; no personal data)"
SYN = "CC0-1.0 (synthesized by loghaul's make.py)"
PAR = "the program's own parallel structured output of the same events"
M = [
 ("postgresql-stderr", None, "PostgreSQL 15.20 (Debian postgresql-15), throw-away cluster, logging_collector=on, log_destination='stderr,csvlog,jsonlog', log_line_prefix='%m [%p] %q%u@%d ', log_timezone=UTC; activity from make-activity.sh (psql)", True, OWN,
  "from the jsonlog file the same server wrote in the same run (" + PAR + "); record order and first lines matched by rebuilding each record's first stderr line from its JSON; line counts = one per message/DETAIL/HINT/QUERY/CONTEXT/STATEMENT part plus embedded newlines (make-key.py)"),
 ("postgresql-csvlog", None, "same server run as postgresql-stderr (csvlog destination)", True, OWN,
  "from the jsonlog file of the same run, rows matched by (session_id, session line number); physical lines per row counted with Python's csv reader, message and severity cross-checked"),
 ("postgresql-jsonlog", None, "same server run as postgresql-stderr (jsonlog destination)", True, OWN,
  "JSON-decoded from the file itself (PostgreSQL's structured output), cross-checked against the csvlog of the same run"),
 ("mariadb-error", "UTC", "MariaDB 10.11.19 (Debian), throw-away datadir on 127.0.0.1:3399, --log-warnings=4; bad logins, aborted/killed connections, shutdown, restart (make.sh)", True, OWN,
  "strict per-format pattern over every line (_tools/service_keys.py), checked by hand; the unstamped 'Version: ...' banner line is counted as the second line of the 'ready for connections.' record"),
 ("redis", "UTC", "Redis 7.0.15 (Debian), throw-away primary (loglevel debug, then verbose) and replica appending to one file; redis-cli traffic, SAVE/BGSAVE, replication, SHUTDOWN (make.sh)", True, OWN,
  "strict per-format pattern over every line (_tools/service_keys.py), checked by hand"),
 ("nats", "UTC", "nats-server 2.9.10 (Debian), nats.conf with debug+trace, raw-protocol clients (make-traffic.py)", True, OWN,
  "strict per-format pattern over every line (_tools/service_keys.py), checked by hand"),
 ("mosquitto", None, "Mosquitto 2.0.11 (Debian), mosquitto.conf with log_type all (default epoch-seconds stamps), mosquitto_pub/sub clients (make.sh)", True, OWN,
  "strict per-format pattern over every line (_tools/service_keys.py), checked by hand; the format has no level: severity 0"),
 ("rabbitmq", None, "RabbitMQ 3.10.8 (Debian), this machine's running broker: first 110 and last 130 records of /var/log/rabbitmq/rabbit@localhost.log, after make-activity.py (pika) added failed logins / bad headers", True, MACH,
  "strict per-format pattern (_tools/service_keys.py); consecutive lines with an identical 'time [level] <pid>' header form one record (RabbitMQ repeats the header on each line of a multi-line message); checked by hand"),
 ("dpkg", "UTC", "dpkg 1.21 (Debian 12): lines 5895-6100 of this machine's /var/log/dpkg.log, unchanged", True, MACH,
  "strict per-format pattern over every line (_tools/service_keys.py); no level in the format: severity 0"),
 ("nginx-error", "UTC", "nginx 1.22.1 (Debian), nginx.conf on 127.0.0.1:18080, error_log level info; curl requests provoking 403/404/413/502/503/504, bad requests, reload, a broken config test (nginx -t -e), graceful stop (make.sh)", True, OWN,
  "strict per-format pattern over every line (_tools/service_keys.py); connection numbers and times cross-checked against nginx's parallel JSON access log of the same requests; checked by hand"),
 ("nginx-access", None, "nginx 1.22.1 (Debian), same run as nginx-error, log_format combined", True, OWN,
  "from access-key.jsonl, the parallel JSON access log (log_format keyjson: $time_iso8601, $request, $status, ...) nginx wrote for the same requests (" + PAR + "); each line cross-checked"),
 ("apache-error", "UTC", "Apache httpd 2.4.71 (Debian apache2), httpd.conf on 127.0.0.1:18084, LogLevel info; curl requests provoking 403/404/401/502/CGI errors, graceful restart, graceful stop (make.sh)", True, OWN,
  "strict per-format pattern over every line (_tools/service_keys.py), checked by hand"),
 ("apache-access", None, "Apache httpd 2.4.71 (Debian apache2), same run as apache-error, LogFormat combined", True, OWN,
  "from access-key.jsonl, the parallel JSON access log Apache wrote for the same requests (" + PAR + "); each line cross-checked"),
 ("haproxy", "UTC", "HAProxy 2.6.12 (Debian), haproxy.cfg: log stdout format raw, option httplog, foreground on 127.0.0.1:18081; Python backend and client (make.sh)", True, OWN,
  "method, path and status from the requests client.py sent (client.jsonl); time read from the accept date and checked to lie inside the client's send window; other fields by a strict pattern; the 4 unstamped 'Proxy ... stopped' shutdown lines were cut off"),
 ("caddy", None, "Caddy 2.6.2 (Debian), Caddyfile: JSON runtime log at DEBUG plus access log in one file, 127.0.0.1:18085 (make.sh)", True, OWN,
  "JSON-decoded from the lines themselves (Caddy's structured output); time = the 'ts' epoch float with its digits as written"),
 ("go-slog-text", None, "Go 1.27.3 log/slog TextHandler (make.go), TZ=UTC", True, OWN, "from the values handed to slog (time, level, message, attrs) by make.go"),
 ("go-slog-json", None, "Go 1.27.3 log/slog JSONHandler (make.go), TZ=America/New_York (-05:00 offsets)", True, OWN, "from the values handed to slog by make.go"),
 ("go-logrus-text", None, "github.com/sirupsen/logrus 1.9.0 (Debian source) default TextFormatter, non-TTY (make.go), TZ=UTC", True, OWN, "from the values handed to logrus (Entry.WithTime, level, message, fields) by make.go"),
 ("go-zap-console", None, "go.uber.org/zap 1.23.0 (Debian source), NewDevelopmentEncoderConfig console encoder, AddCaller, stack traces from WARN (make.go), TZ=UTC", True, OWN, "from the values handed to zap (time via zapcore.Clock, level, message, fields) by make.go; lines counted from the bytes zap wrote per entry"),
 ("go-zap-json", None, "go.uber.org/zap 1.23.0 (Debian source), NewProductionEncoderConfig JSON encoder, AddCaller, stack traces from ERROR (make.go)", True, OWN, "from the values handed to zap by make.go (time exact to the microsecond; the 'ts' float may show float64 rounding digits)"),
 ("kubernetes-klog", "UTC", "k8s.io/klog/v2 2.80.1 (Debian source), default header format (make.go), TZ=UTC", True, OWN, "level, message and fields from the values logged by make.go; time from each header, checked to lie between clock readings taken just before and after the call (which also give the year)"),
 ("python-logging", "UTC", "CPython 3.11.7 logging, Formatter('%(asctime)s - %(name)s - %(levelname)s - %(message)s'), FileHandler, TZ=UTC, libfaketime start 23:59:57 (make.py)", True, OWN, "a second handler on the same logger writes each LogRecord (created/msecs, levelname, name, message) and counts the formatted lines: " + PAR),
 ("python-logging-basicconfig", None, "CPython 3.11.7 logging, logging.BASIC_FORMAT '%(levelname)s:%(name)s:%(message)s' (the basicConfig default; no time in the lines) (make.py)", True, OWN, "as python-logging; 'time' is null because the format carries none"),
 ("structlog-console", "UTC", "structlog 26.1.0 (PyPI) default processor chain with ConsoleRenderer(colors=False), TimeStamper('%Y-%m-%d %H:%M:%S', utc=False), TZ=UTC (make.py console)", True, OWN, "a processor placed just before the renderer records each final event dict (timestamp, level, event, keys): " + PAR),
 ("structlog-json", None, "structlog 26.1.0 (PyPI) add_log_level, TimeStamper(fmt='iso'), format_exc_info, JSONRenderer() (make.py json)", True, OWN, "as structlog-console"),
 ("java-logback", "UTC", "logback 1.2.11 + SLF4J 1.7.32 (Debian), FileAppender pattern '%d{yyyy-MM-dd HH:mm:ss.SSS} [%thread] %-5level %logger{36} - %msg%n', JDK 17, TZ=UTC (Make.java, logback.xml)", True, OWN, "KeyAppender (same events, same pattern to count lines): " + PAR),
 ("java-log4j2", "UTC", "Log4j 2.19.0 (Debian), PatternLayout '%d %p %c{1.} [%t] %m%n' (default %d = comma fraction; default extended exceptions), JDK 17, TZ=UTC (Make.java, log4j2.xml)", True, OWN, "KeyAppender added to the root logger (same events, same layout to count lines): " + PAR),
 ("spring-boot", None, "Spring Boot 3.1's default console pattern reproduced with logback 1.2.11 (Spring Boot itself is not installable here): '%d{yyyy-MM-dd'T'HH:mm:ss.SSSXXX} %5p ${PID} --- [%15.15t] %-40.40logger{39} : %m%n%wEx' (colour converters removed, %wEx re-implemented), TZ=UTC", False, OWN, "KeyAppender (same events, same pattern): " + PAR + "; the lines are real logback output, but the Spring Boot layout is a reproduction"),
 ("java-jul", "UTC", "JDK 17 java.util.logging FileHandler + SimpleFormatter default format (Make.java), TZ=UTC", True, OWN, "a second Handler on the same logger formats each LogRecord with the same SimpleFormatter: " + PAR),
 ("node-pino", None, "pino 10.4.0 (npm), default JSON output, sync destination, Node 20 (make.js)", True, OWN, "level and message handed to pino; time = the epoch ms pino's timestamp function (stdTimeFunctions.epochTime, value remembered) wrote"),
 ("node-winston-json", None, "winston 3.19.0 (npm), format.combine(errors({stack:true}), timestamp(), json()), File transport, Node 20 (make.js json)", True, OWN, "a second transport receives the same info objects after formatting: " + PAR),
 ("node-winston-text", None, "winston 3.19.0 (npm), format.combine(errors({stack:true}), timestamp(), printf('${timestamp} [${LEVEL}] ${message} ${meta}\\n${stack}')) (make.js text)", True, OWN, "as node-winston-json"),
 ("rails", "UTC", "Rails 6.1.7.10 (Debian ruby-railties/actionpack), one-file app in production mode with the generated production.rb logging (Logger::Formatter, log_tags [:request_id], TaggedLogging); Rack::MockRequest traffic; Ruby 3.1, TZ=UTC (make.rb)", True, OWN, "a module extending the main logger's formatter sees each entry's severity, time and message and the text written: " + PAR),
 ("laravel", "UTC", "Laravel's default single-channel log format reproduced with the library it uses: Monolog 2.9.1 (Debian php-monolog) StreamHandler + LineFormatter(null, 'Y-m-d H:i:s', true, true)->includeStacktraces(), channel 'production' (Laravel itself is not installed); PHP 8.2, TZ=UTC (make.php)", True, OWN, "a second Monolog handler receives the same records and formats them with the same formatter: " + PAR),
 ("journalctl-short-iso", None, "journalctl 252 (Debian systemd) -o short-iso over a journal file built with systemd-journal-remote from entries make.py wrote (no journald runs here; the journal of this machine is empty)", True, OWN, "journalctl -o json of the same file: __REALTIME_TIMESTAMP (to the second shown), PRIORITY -> severity; lines per entry from MESSAGE's newlines"),
 ("syslog-rfc5424", None, "rsyslogd 8.2302.0 (Debian) with rsyslog.conf: imuxsock on a private socket, template RSYSLOG_SyslogProtocol23Format; messages from util-linux logger --rfc5424 under a libfaketime-shifted clock (make-traffic.sh)", True, OWN,
  "rsyslog-key.jsonl, written by the same rsyslogd through a JSON template for the same messages (" + PAR + "); severity = PRI & 7"),
 ("syslog-rfc3339", None, "same rsyslogd run as syslog-rfc5424, template RSYSLOG_FileFormat (high-precision RFC 3339 stamps)", True, OWN,
  "as syslog-rfc5424; the format has no level: severity 0"),
 ("syslog-traditional", "UTC", "same rsyslogd run as syslog-rfc5424, template RSYSLOG_TraditionalFileFormat (BSD 'Mmm dd hh:mm:ss', no year, no zone)", True, OWN,
  "as syslog-rfc5424; the format has no level: severity 0; the year comes from the run"),
 ("dotnet-serilog", None, "SYNTHESIZED after Serilog.Sinks.File's documented default outputTemplate '{Timestamp:yyyy-MM-dd HH:mm:ss.fff zzz} [{Level:u3}] {Message:lj}{NewLine}{Exception}' with a +01:00 local offset (no .NET here) (make.py)", False, SYN, "written by make.py from the same values"),
 ("mongodb-json", None, "SYNTHESIZED after MongoDB 4.4+ structured log (docs 'Log Messages': {t:{$date}, s, c, id, ctx, msg, attr} with mongod's padding) (make.py)", False, SYN, "written by make.py from the same values"),
 ("elasticsearch-json", None, "SYNTHESIZED after Elasticsearch 7.x JSON server log (ESJsonLayout: type, timestamp with ',' before ms, level, component, cluster.name, node.name, message, stacktrace[], cluster.uuid, node.id) (make.py)", False, SYN, "written by make.py from the same values"),
 ("kubernetes-events", None, "SYNTHESIZED core/v1 Event objects one per line, as 'kubectl get events -o json | jq -c .items[]' prints them (make.py)", False, SYN, "written by make.py from the same values; time = lastTimestamp; Normal -> 9, Warning -> 13"),
 ("aws-alb", None, "SYNTHESIZED after the AWS Application Load Balancer access-log entry format (documented field order) (make.py)", False, SYN, "written by make.py from the same values; time = the 'time' field (response sent)"),
 ("gcp-lb", None, "SYNTHESIZED Cloud Logging LogEntry of an external Application Load Balancer request log (httpRequest, jsonPayload LoadBalancerLogEntry, resource http_load_balancer), one JSON per line (make.py)", False, SYN, "written by make.py from the same values"),
]
out = []
for name, tz, made, real, lic, kf in M:
    n = sum(1 for _ in open(os.path.join(root, name, "key.jsonl")))
    out.append({"name": name, "dir": name, "file": "sample.log", "records": n, "timezone": tz, "made_by": made, "real": real, "licence": lic, "key_from": kf})
names = {m[0] for m in M}
dirs = {d for d in os.listdir(root) if os.path.isfile(os.path.join(root, d, "key.jsonl"))}
assert names == dirs, (names ^ dirs)
json.dump(out, open(os.path.join(root, "MANIFEST.json"), "w"), indent=1, ensure_ascii=False)
open(os.path.join(root, "MANIFEST.json"), "a").write("\n")
print(len(out), "formats,", sum(o["real"] for o in out), "real")
