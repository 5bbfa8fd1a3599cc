#!/usr/bin/env python3
"""Checks every <format>/key.jsonl against its <format>/sample.log:
  * one key object per record, required members, 60-300 records;
  * line numbers strictly increasing, each record's span [line, line+lines) directly followed by
    the next record's, the last one ending at the end of the file (every physical line is
    accounted for);
  * "time" parses as RFC 3339 UTC ("...Z"), and the record's first line carries that time
    rendered the way that format writes it (format-specific rule below: position, zone, fraction);
  * "severity" is one of the allowed OpenTelemetry numbers.
Usage: check_keys.py <formats dir>   (exit status 1 on any failure)"""
import datetime as dt, decimal, json, os, re, sys
from zoneinfo import ZoneInfo

ALLOWED = {0, 1, 5, 9, 10, 13, 17, 18, 21, 22, 23}
UTC = dt.timezone.utc

def parse(ts):
    m = re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?Z", ts)
    assert m, "not RFC 3339 UTC: %r" % ts
    t = dt.datetime.strptime(m[1], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
    return t, (m[2] or "")[1:]

def ms(frac): return (frac + "000")[:3]
def us(frac): return (frac + "000000")[:6]
def epoch(t, frac): return "%d%s" % (int(t.timestamp()), "." + frac if frac else "")
def S(t, f): return t.strftime(f)

RULES = {  # name: (kind, render(t, frac)) ; kind "start" = line starts with it, "in" = line contains it
    "postgresql-stderr": ("start", lambda t, f: S(t, "%Y-%m-%d %H:%M:%S.") + ms(f) + " UTC "),
    "postgresql-csvlog": ("start", lambda t, f: S(t, "%Y-%m-%d %H:%M:%S.") + ms(f) + " UTC,"),
    "postgresql-jsonlog": ("start", lambda t, f: '{"timestamp":"' + S(t, "%Y-%m-%d %H:%M:%S.") + ms(f) + ' UTC"'),
    "mariadb-error": ("start", lambda t, f: S(t, "%Y-%m-%d %H:%M:%S ")),
    "redis": ("in", lambda t, f: S(t, " %d %b %Y %H:%M:%S.") + ms(f) + " "),
    "nats": ("in", lambda t, f: S(t, "] %Y/%m/%d %H:%M:%S.") + us(f) + " ["),
    "mosquitto": ("start", lambda t, f: epoch(t, "") + ": "),
    "rabbitmq": ("start", lambda t, f: S(t, "%Y-%m-%d %H:%M:%S.") + us(f) + "+00:00 ["),
    "dpkg": ("start", lambda t, f: S(t, "%Y-%m-%d %H:%M:%S ")),
    "nginx-error": ("start", lambda t, f: S(t, "%Y/%m/%d %H:%M:%S [")),
    "nginx-access": ("in", lambda t, f: S(t, " [%d/%b/%Y:%H:%M:%S +0000] ")),
    "envoy-access": ("start", lambda t, f: S(t, "[%Y-%m-%dT%H:%M:%S.") + ms(f) + "Z] "),
    # Traefik writes the server's local time with its offset: the stamp in
    # [...] must be the key's instant.
    "traefik-access": ("clf", None),
    "apache-access": ("in", lambda t, f: S(t, " [%d/%b/%Y:%H:%M:%S +0000] ")),
    "apache-error": ("start", lambda t, f: S(t, "[%a %b %d %H:%M:%S.") + us(f) + S(t, " %Y] [")),
    "haproxy": ("in", lambda t, f: S(t, " [%d/%b/%Y:%H:%M:%S.") + ms(f) + "] "),
    "caddy": ("in", lambda t, f: '"ts":' + epoch(t, f) + ","),
    "go-slog-text": ("start", lambda t, f: S(t, "time=%Y-%m-%dT%H:%M:%S.") + ms(f) + "Z "),
    "go-slog-json": ("start", lambda t, f: '{"time":"' + S(t.astimezone(ZoneInfo("America/New_York")), "%Y-%m-%dT%H:%M:%S") + ("." + f if f else "") + S(t.astimezone(ZoneInfo("America/New_York")), "%z")[:3] + ":" + S(t.astimezone(ZoneInfo("America/New_York")), "%z")[3:] + '"'),
    "go-logrus-text": ("start", lambda t, f: S(t, 'time="%Y-%m-%dT%H:%M:%SZ" ')),
    # zap's epoch-float "ts" is the float64 nearest the time, so it can show rounding digits
    # (1796083163.6945431 for .694543): compared numerically, to within a microsecond.
    "go-zap-json": ("float", lambda t, f: (decimal.Decimal(epoch(t, f)), re.compile(r'"ts":([0-9.]+),'))),
    "go-zap-console": ("start", lambda t, f: S(t, "%Y-%m-%dT%H:%M:%S.") + ms(f) + "Z\t"),
    "kubernetes-klog": ("in", lambda t, f: S(t, "%m%d %H:%M:%S.") + us(f) + " "),
    "python-logging": ("start", lambda t, f: S(t, "%Y-%m-%d %H:%M:%S,") + ms(f) + " - "),
    "python-logging-basicconfig": (None, None),
    "structlog-console": ("start", lambda t, f: S(t, "%Y-%m-%d %H:%M:%S [")),
    "structlog-json": ("in", lambda t, f: S(t, '"timestamp": "%Y-%m-%dT%H:%M:%S.') + f + 'Z"'),
    "java-logback": ("start", lambda t, f: S(t, "%Y-%m-%d %H:%M:%S.") + ms(f) + " ["),
    "java-log4j2": ("start", lambda t, f: S(t, "%Y-%m-%d %H:%M:%S,") + ms(f) + " "),
    "spring-boot": ("start", lambda t, f: S(t, "%Y-%m-%dT%H:%M:%S.") + ms(f) + "Z "),
    "java-jul": ("start", lambda t, f: S(t, "%b %d, %Y ") + str(int(S(t, "%I"))) + S(t, ":%M:%S %p ")),
    "node-pino": ("in", lambda t, f: '"time":' + str(int(t.timestamp()) * 1000 + int(ms(f))) + ","),
    "node-winston-json": ("in", lambda t, f: S(t, '"timestamp":"%Y-%m-%dT%H:%M:%S.') + ms(f) + 'Z"'),
    "node-winston-text": ("start", lambda t, f: S(t, "%Y-%m-%dT%H:%M:%S.") + ms(f) + "Z ["),
    "rails": ("in", lambda t, f: S(t, ", [%Y-%m-%dT%H:%M:%S.") + us(f) + " #"),
    "laravel": ("start", lambda t, f: S(t, "[%Y-%m-%d %H:%M:%S] ")),
    "journalctl-short-iso": ("start", lambda t, f: S(t, "%Y-%m-%dT%H:%M:%S+0000 ")),
    "dotnet-serilog": ("start", lambda t, f: S(t.astimezone(dt.timezone(dt.timedelta(hours=1))), "%Y-%m-%d %H:%M:%S.") + ms(f) + " +01:00 ["),
    "mongodb-json": ("start", lambda t, f: S(t, '{"t":{"$date":"%Y-%m-%dT%H:%M:%S.') + ms(f) + '+00:00"}'),
    "elasticsearch-json": ("in", lambda t, f: S(t, '"timestamp": "%Y-%m-%dT%H:%M:%S,') + ms(f) + 'Z"'),
    "kubernetes-events": ("in", lambda t, f: S(t, '"lastTimestamp":"%Y-%m-%dT%H:%M:%SZ"')),
    "aws-alb": ("in", lambda t, f: S(t, " %Y-%m-%dT%H:%M:%S.") + us(f) + "Z app/"),
    "syslog-rfc5424": ("in", lambda t, f: S(t, ">1 %Y-%m-%dT%H:%M:%S.") + us(f) + "+00:00 "),
    "syslog-rfc3339": ("start", lambda t, f: S(t, "%Y-%m-%dT%H:%M:%S.") + us(f) + "+00:00 "),
    "syslog-traditional": ("start", lambda t, f: S(t, "%b %e %H:%M:%S ")),
    "gcp-lb": ("in", lambda t, f: S(t, '"timestamp":"%Y-%m-%dT%H:%M:%S.') + f + 'Z"'),
}

def check(d, name):
    errs = []
    lines = open(os.path.join(d, "sample.log"), encoding="utf-8").read().split("\n")
    if lines[-1] != "":
        errs.append("sample.log does not end with a newline")
    lines = lines[:-1]
    keys = [json.loads(l) for l in open(os.path.join(d, "key.jsonl"), encoding="utf-8")]
    if not 60 <= len(keys) <= 300:
        errs.append("%d records (want 60-300)" % len(keys))
    kind, render = RULES[name]
    expect = 1
    for i, k in enumerate(keys):
        miss = {"line", "lines", "time", "severity", "level", "message", "fields"} - set(k)
        if miss:
            errs.append("record %d lacks %s" % (i, miss)); continue
        if k["line"] != expect:
            errs.append("record %d starts at line %s, expected %d" % (i, k["line"], expect))
        if not isinstance(k["lines"], int) or k["lines"] < 1:
            errs.append("record %d: bad lines %r" % (i, k["lines"]))
        expect = k["line"] + k["lines"]
        if k["severity"] not in ALLOWED:
            errs.append("record %d: severity %r" % (i, k["severity"]))
        if not isinstance(k["fields"], dict):
            errs.append("record %d: fields not an object" % i)
        first = lines[k["line"] - 1] if 0 < k["line"] <= len(lines) else None
        if first is None:
            errs.append("record %d: line %d out of range" % (i, k["line"])); continue
        if k["time"] is None:
            if kind is not None:
                errs.append("record %d: time is null" % i)
            continue
        try:
            t, frac = parse(k["time"])
        except AssertionError as e:
            errs.append("record %d: %s" % (i, e)); continue
        if kind == "clf":
            m = re.search(r"\[(\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4})\]", first)
            ok = bool(m) and dt.datetime.strptime(m[1], "%d/%b/%Y:%H:%M:%S %z") == t
            if not ok:
                errs.append("record %d (line %d): the [stamp] is not %s" % (i, k["line"], k["time"]))
            continue
        want = render(t, frac)
        if kind == "float":
            val, rx = want
            m = rx.search(first)
            ok = bool(m) and abs(decimal.Decimal(m[1]) - val) < decimal.Decimal("0.000001")
        else:
            ok = first.startswith(want) if kind == "start" else want in first
        if not ok:
            errs.append("record %d (line %d): time text %r not %s %r" % (i, k["line"], want, "at start of" if kind == "start" else "in", first[:120]))
    if expect != len(lines) + 1:
        errs.append("records cover lines 1..%d but the file has %d lines" % (expect - 1, len(lines)))
    return len(keys), len(lines), errs

root = sys.argv[1]
bad = 0
for name in sorted(os.listdir(root)):
    d = os.path.join(root, name)
    if not os.path.isfile(os.path.join(d, "key.jsonl")):
        continue
    if name not in RULES:
        print("%-28s NO RULE" % name); bad += 1; continue
    n, nl, errs = check(d, name)
    print("%-28s %4d records %4d lines  %s" % (name, n, nl, "OK" if not errs else "FAIL"))
    for e in errs[:8]:
        print("    " + e)
    bad += bool(errs)
print("%d formats failed" % bad)
sys.exit(1 if bad else 0)
