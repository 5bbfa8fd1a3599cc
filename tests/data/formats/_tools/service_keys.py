#!/usr/bin/env python3
"""Answer keys for logs written by real servers run on this machine (no parallel structured output
exists for these, except where noted).  Each format has a STRICT, format-specific pattern that must
match every physical line (or an explicitly allowed continuation line) — the script fails on any
line it cannot account for; records were additionally checked by hand (see README.md), and, where
possible, cross-checked against an independent source:
  nginx-access   <- nginx's own parallel JSON access log (same requests, log_format keyjson)
  nginx-error    <- connection numbers and times cross-checked against that JSON log
  apache-access  <- Apache's own parallel JSON access log (same requests, LogFormat keyjson)
  haproxy        <- method/path/status and time window from the client that sent the requests
Usage: service_keys.py <format> <sample.log> [extra file] > key.jsonl
"""
import datetime as dt, decimal, json, re, sys

UTC = dt.timezone.utc
fmt, path = sys.argv[1], sys.argv[2]
extra = sys.argv[3] if len(sys.argv) > 3 else None
L = open(path, encoding="utf-8").read().split("\n")
assert L[-1] == "", "file must end with a newline"
L = L[:-1]
keys = []

def rfc(t, digits):
    s = t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    if digits:
        s += "." + ("%06d" % t.microsecond)[:digits]
    return s + "Z"

def key(line, n, t, sev, level, msg, fields):
    keys.append({"line": line, "lines": n, "time": t, "severity": sev, "level": level, "message": msg, "fields": fields})

def simple(rx, build):
    for i, l in enumerate(L, 1):
        m = re.fullmatch(rx, l)
        if not m:
            sys.exit("%s line %d does not match: %r" % (fmt, i, l))
        build(i, m)

if fmt == "redis":
    SEV = {".": 5, "-": 5, "*": 10, "#": 13}
    def b(i, m):
        t = dt.datetime.strptime(m[3], "%d %b %Y %H:%M:%S.%f").replace(tzinfo=UTC)
        key(i, 1, rfc(t, 3), SEV[m[4]], m[4], m[5], {"pid": int(m[1]), "role": m[2]})
    simple(r"(\d+):([CMSX]) (\d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d\.\d{3}) ([.*#-]) (.*)", b)

elif fmt == "nats":
    SEV = {"TRC": 1, "DBG": 5, "INF": 9, "WRN": 13, "ERR": 17, "FTL": 21}
    def b(i, m):
        t = dt.datetime.strptime(m[2], "%Y/%m/%d %H:%M:%S.%f").replace(tzinfo=UTC)
        f = {"pid": int(m[1])}
        c = re.match(r"([\d.]+:\d+) - (cid:\d+) - ", m[4])
        if c:
            f["client"], f["cid"] = c[1], c[2]
        key(i, 1, rfc(t, 6), SEV[m[3]], m[3], m[4], f)
    simple(r"\[(\d+)\] (\d{4}/\d\d/\d\d \d\d:\d\d:\d\d\.\d{6}) \[(TRC|DBG|INF|WRN|ERR|FTL)\] ?(.*)", b)

elif fmt == "mosquitto":
    def b(i, m):
        t = dt.datetime.fromtimestamp(int(m[1]), UTC)
        key(i, 1, rfc(t, 0), 0, None, m[2], {})
    simple(r"(\d{10}): (.*)", b)

elif fmt == "dpkg":
    def b(i, m):
        t = dt.datetime.strptime(m[1], "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
        f = {"action": m[2]}
        parts = m[3].split(" ")
        if m[2] in ("install", "upgrade", "remove", "purge", "configure", "trigproc"):
            f["package"] = parts[0]
        elif m[2] == "status":
            f["state"], f["package"] = parts[0], parts[1]
        key(i, 1, rfc(t, 0), 0, None, "%s %s" % (m[2], m[3]), f)
    simple(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) (startup|status|install|upgrade|remove|purge|configure|trigproc|conffile) (.*)", b)

elif fmt == "mariadb-error":
    SEV = {"Note": 9, "Warning": 13, "ERROR": 17}
    rx = re.compile(r"(\d{4}-\d\d-\d\d  ?\d?\d:\d\d:\d\d) (\d+) \[(Note|Warning|ERROR)\] (.*)")
    for i, l in enumerate(L, 1):
        m = rx.fullmatch(l)
        if m:
            t = dt.datetime.strptime(m[1], "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
            key(i, 1, rfc(t, 0), SEV[m[3]], m[3], m[4], {"thread_id": int(m[2])})
        elif l.startswith("Version: '") and keys and keys[-1]["message"].endswith(": ready for connections."):
            keys[-1]["lines"] += 1   # the version banner mariadbd prints (without a stamp) right after "ready for connections."
        else:
            sys.exit("mariadb line %d: %r" % (i, l))

elif fmt == "rabbitmq":
    SEV = {"debug": 5, "info": 9, "notice": 10, "warning": 13, "error": 17, "critical": 18, "alert": 22, "emergency": 23}
    rx = re.compile(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6})\+00:00 \[(debug|info|notice|warning|error|critical|alert|emergency)\] (<\d+\.\d+\.\d+>) ?(.*)")
    prev = None
    for i, l in enumerate(L, 1):
        m = rx.fullmatch(l)
        if not m:
            sys.exit("rabbitmq line %d: %r" % (i, l))
        head = (m[1], m[2], m[3])
        if head == prev:
            keys[-1]["lines"] += 1   # RabbitMQ repeats the full header on every line of a multi-line message
            continue
        prev = head
        t = dt.datetime.strptime(m[1], "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=UTC)
        key(i, 1, rfc(t, 6), SEV[m[2]], m[2], m[4], {"erlang_pid": m[3]})

elif fmt == "nginx-error":
    SEV = {"debug": 5, "info": 9, "notice": 10, "warn": 13, "error": 17, "crit": 18, "alert": 22, "emerg": 23}
    acc = {}
    if extra:
        for l in open(extra):
            a = json.loads(l); acc[a["connection"]] = a
    def b(i, m):
        t = dt.datetime.strptime(m[1], "%Y/%m/%d %H:%M:%S").replace(tzinfo=UTC)
        f = {"pid": int(m[3]), "tid": int(m[4])}
        text = m[6]
        if m[5]:
            f["connection"] = int(m[5])
        tail = re.search(r", client: ([\d.]+), server: ([^,]*)(?:, request: \"([^\"]*)\")?(?:, upstream: \"([^\"]*)\")?(?:, host: \"([^\"]*)\")?$", text)
        msg = text
        if tail:
            msg = text[:tail.start()]
            for k, v in zip(("client", "server", "request", "upstream", "host"), tail.groups()):
                if v is not None:
                    f[k] = v
        if m[5] and m[5] in acc:  # cross-check against nginx's own JSON access log of the same connection
            a = acc[m[5]]
            at = dt.datetime.fromisoformat(a["time_iso8601"])
            assert abs((at - t).total_seconds()) <= 1, (i, a)
        key(i, 1, rfc(t, 0), SEV[m[2]], m[2], msg, f)
    simple(r"(\d{4}/\d\d/\d\d \d\d:\d\d:\d\d) \[(debug|info|notice|warn|error|crit|alert|emerg)\] (\d+)#(\d+): (?:\*(\d+) )?(.*)", b)

elif fmt == "nginx-access":
    rx = re.compile(r'(\S+) - (\S+) \[(\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4})\] "(.*)" (\d{3}) (\d+) "(.*)" "(.*)"')
    A = [json.loads(l) for l in open(extra)]
    assert len(A) == len(L)
    for i, (l, a) in enumerate(zip(L, A), 1):
        m = rx.fullmatch(l)
        assert m and m[3] == a["time_local"] and m[5] == a["status"] and m[4] == a["request"], (i, l, a)
        t = dt.datetime.fromisoformat(a["time_iso8601"])
        f = {"client_ip": a["remote_addr"], "status": int(a["status"]), "bytes": int(a["bytes"]),
             "referer": a["referer"] or "-", "user_agent": a["ua"] or "-"}
        if a["method"]: f["method"] = a["method"]
        if a["uri"]: f["path"] = a["uri"]
        key(i, 1, rfc(t, 0), 0, None, a["request"], f)

elif fmt == "apache-access":
    rx = re.compile(r'(\S+) (\S+) (\S+) \[(\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4})\] "(.*)" (\d{3}) (\S+) "(.*)" "(.*)"')
    A = [json.loads(l) for l in open(extra)]
    assert len(A) == len(L)
    for i, (l, a) in enumerate(zip(L, A), 1):
        m = rx.fullmatch(l)
        assert m and "[%s]" % m[4] == a["tl"] and m[6] == a["s"], (i, l, a)
        t = dt.datetime.strptime(a["t"], "%Y-%m-%dT%H:%M:%S.%f%z")
        f = {"client_ip": a["h"], "method": a["m"], "path": a["U"], "status": int(a["s"]), "bytes": a["b"], "pid": int(a["pid"])}
        key(i, 1, rfc(t, 0), 0, None, m[5], f)

elif fmt == "apache-error":
    SEV = {"emerg": 23, "alert": 22, "crit": 18, "error": 17, "warn": 13, "notice": 10, "info": 9, "debug": 5}
    def b(i, m):
        t = dt.datetime.strptime(m[1], "%a %b %d %H:%M:%S.%f %Y").replace(tzinfo=UTC)
        lv = m[3]
        sev = 1 if lv.startswith("trace") else SEV[lv]
        f = {"module": m[2], "pid": int(m[4])}
        if m[5]: f["tid"] = int(m[5])
        if m[6]: f["os_error"] = m[6]
        if m[7]: f["client"] = "%s:%s" % (m[7], m[8])
        msg = m[9]
        ah = re.match(r"(AH\d{5}): ", msg)
        if ah: f["code"] = ah[1]
        key(i, 1, rfc(t, 6), sev, lv, msg, f)
    simple(r"\[([A-Z][a-z]{2} [A-Z][a-z]{2} \d\d \d\d:\d\d:\d\d\.\d{6} \d{4})\] \[(\w*):(\w+)\] \[pid (\d+)(?::tid (\d+))?\] (?:(\(\d+\)[^:]+): )?(?:\[client ([\d.]+):(\d+)\] )?(.*)", b)

elif fmt == "haproxy":
    C = [json.loads(l) for l in open(extra)]
    assert len(C) == len(L), (len(C), len(L))
    rx = re.compile(r'([\d.]+):(\d+) \[(\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d\.\d{3})\] (\S+) (\S+)/(\S+) (\S+) (\d{3}) (\d+) (\S+) (\S+) (\S{4}) (\S+) (\S+) "(.*)"')
    for i, (l, c) in enumerate(zip(L, C), 1):
        m = rx.fullmatch(l)
        assert m, (i, l)
        t = dt.datetime.strptime(m[3], "%d/%b/%Y:%H:%M:%S.%f").replace(tzinfo=UTC)
        assert c["t0"] - 0.005 <= t.timestamp() <= c["t1"] + 0.001, (i, l, c)
        assert int(m[8]) == c["status"], (i, l, c)
        if c["method"] == "BADREQ":
            assert m[15] == "<BADREQ>"
        else:
            assert m[15] == "%s %s HTTP/1.1" % (c["method"], c["path"]), (i, l, c)
        f = {"client_ip": m[1], "client_port": int(m[2]), "frontend": m[4], "backend": m[5], "server": m[6], "timers": m[7],
             "status": int(m[8]), "bytes": int(m[9]), "termination_state": m[12]}
        if c["method"] != "BADREQ":
            f["method"], f["path"] = c["method"], c["path"]
        key(i, 1, rfc(t, 3), 0, None, m[15], f)

elif fmt == "caddy":
    SEV = {"debug": 5, "info": 9, "warn": 13, "error": 17, "dpanic": 21, "panic": 21, "fatal": 21}
    for i, l in enumerate(L, 1):
        d = json.loads(l, parse_float=decimal.Decimal)
        ts = d["ts"]
        sec = int(ts); frac = str(ts).split(".")[1] if "." in str(ts) else ""
        t = dt.datetime.fromtimestamp(sec, UTC).strftime("%Y-%m-%dT%H:%M:%S") + ("." + frac if frac else "") + "Z"
        f = {}
        if "logger" in d: f["logger"] = d["logger"]
        if "request" in d:
            r = d["request"]; f.update({"method": r["method"], "uri": r["uri"], "remote_ip": r["remote_ip"]})
        if "status" in d: f["status"] = d["status"]
        key(i, 1, t, SEV[d["level"]], d["level"], d["msg"], f)
else:
    sys.exit("unknown format")

for k in keys:
    print(json.dumps(k, ensure_ascii=False))
