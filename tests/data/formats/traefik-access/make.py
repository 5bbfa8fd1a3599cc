#!/usr/bin/env python3
"""Traefik's default access log format (Traefik documentation, "Access Logs", format "common"):
the Common Log Format with referer and user agent, then the request count, the router name,
the backend URL and the duration:

  <remote_IP> - <user> [<time>] "<method> <path> <proto>" <status> <size> "<referer>" "<ua>"
  <request count> "<router>" "<server URL>" <duration>ms

Traefik does not run here: the lines are synthesized after that format. The key holds the
values this script put in each line. Run: python3 make.py (writes sample.log, key.jsonl)."""
import json, random, datetime
rnd = random.Random(7)
t = datetime.datetime(2026, 11, 30, 23, 59, 40, tzinfo=datetime.timezone.utc)
lines, keys = [], []
for i in range(80):
    if rnd.random() < 0.6:
        t += datetime.timedelta(seconds=rnd.randint(0, 1))
    zone = rnd.choice([0, -7 * 3600, 2 * 3600])
    local = t + datetime.timedelta(seconds=zone)
    sign = "-" if zone < 0 else "+"
    off = "%s%02d%02d" % (sign, abs(zone) // 3600, abs(zone) % 3600 // 60)
    stamp = local.strftime("%d/%b/%Y:%H:%M:%S ") + off
    method = rnd.choice(["GET", "GET", "POST"])
    path = rnd.choice(["/", "/api/orders", "/login", "/static/site.css", "/missing"])
    status = rnd.choice([200, 200, 200, 302, 304, 404, 500, 502])
    size = rnd.randint(0, 50000)
    user = rnd.choice(["-", "-", "alice"])
    ua = rnd.choice(["curl/8.5.0", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"])
    ref = rnd.choice(["-", "https://shop.example.com/"])
    router = rnd.choice(["web@docker", "api@file", "dashboard@internal"])
    backend = "http://172.17.0.%d:80" % rnd.randint(2, 9)
    ms = rnd.randint(0, 900)
    ip = "192.0.2.%d" % rnd.randint(1, 254)
    lines.append('%s - %s [%s] "%s %s HTTP/1.1" %d %d "%s" "%s" %d "%s" "%s" %dms' % (
        ip, user, stamp, method, path, status, size, ref, ua, i + 1, router, backend, ms))
    keys.append({"line": i + 1, "lines": 1, "time": t.strftime("%Y-%m-%dT%H:%M:%SZ"), "severity": 0,
                 "level": None, "message": "%s %s HTTP/1.1" % (method, path),
                 "fields": {"client_ip": ip, "status": status, "bytes": size, "method": method, "path": path,
                            "router": router, "backend": backend, "duration_ms": ms}})
open("sample.log", "w").write("\n".join(lines) + "\n")
open("key.jsonl", "w").write("".join(json.dumps(k) + "\n" for k in keys))
