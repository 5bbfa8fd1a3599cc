#!/usr/bin/env python3
"""Envoy's default access log format (the format string in Envoy's documentation,
docs/root/configuration/observability/access_log/usage.rst, "Default Format String"):

  [%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%"
  %RESPONSE_CODE% %RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT% %DURATION%
  %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%"
  "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%"

Envoy does not run here: the lines are synthesized after that format. The key holds the
values this script put in each line. Run: python3 make.py (writes sample.log, key.jsonl)."""
import json, random, uuid, datetime
rnd = random.Random(4242)
t = datetime.datetime(2026, 11, 30, 23, 59, 50, tzinfo=datetime.timezone.utc)
paths = ["/api/v1/locations", "/api/v1/orders", "/healthz", "/static/app.js", "/api/v1/users/17"]
agents = ["curl/8.5.0", "nsq2http", "Go-http-client/2.0", "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"]
codes = [200, 200, 200, 204, 301, 404, 429, 500, 503, 0]
flags = {0: "UC", 503: "UF", 429: "RL", 404: "NR"}
lines, keys = [], []
for i in range(80):
    if rnd.random() < 0.7:
        t += datetime.timedelta(microseconds=rnd.randint(0, 400_000) * 1000 // 1000)
    method = rnd.choice(["GET", "GET", "POST", "PUT", "DELETE"])
    path = rnd.choice(paths)
    proto = rnd.choice(["HTTP/1.1", "HTTP/2"])
    code = rnd.choice(codes)
    flag = flags.get(code, "-")
    rx, tx, dur = rnd.randint(0, 900), rnd.randint(0, 90000), rnd.randint(0, 400)
    up = "-" if code in (0, 404) else str(max(0, dur - rnd.randint(0, 5)))
    xff = rnd.choice(["-", "10.0.35.%d" % rnd.randint(1, 254)])
    ua = rnd.choice(agents)
    rid = str(uuid.UUID(int=rnd.getrandbits(128), version=4))
    authority = rnd.choice(["locations", "orders.internal", "shop.example.com"])
    upstream = "-" if code == 0 else "tcp://10.0.2.%d:80" % rnd.randint(1, 9)
    ms = t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (t.microsecond // 1000)
    lines.append('[%s] "%s %s %s" %d %s %d %d %d %s "%s" "%s" "%s" "%s" "%s"' % (
        ms, method, path, proto, code, flag, rx, tx, dur, up, xff, ua, rid, authority, upstream))
    keys.append({"line": i + 1, "lines": 1, "time": ms, "severity": 0, "level": None,
                 "message": "%s %s %s" % (method, path, proto),
                 "fields": {"method": method, "path": path, "status": code, "response_flags": flag,
                            "bytes_received": rx, "bytes_sent": tx, "duration_ms": dur,
                            "user_agent": ua, "request_id": rid, "authority": authority}})
open("sample.log", "w").write("\n".join(lines) + "\n")
open("key.jsonl", "w").write("".join(json.dumps(k) + "\n" for k in keys))
