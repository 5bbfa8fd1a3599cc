#!/usr/bin/env python3
"""Sends requests to haproxy on 127.0.0.1:18081 and writes client.jsonl:
one row per request with the wall-clock window [t0, t1] around it, method, path, expected status."""
import http.client, json, random, socket, time
rnd = random.Random(5)
paths = ["/", "/home", "/api/items", "/api/items/7", "/missing/page", "/api/boom", "/login", "/slow/report", "/admin/panel", "/legacy/app", "/static/app.js?v=2"]
out = open("client.jsonl", "w")
for i in range(75):
    p = rnd.choice(paths); m = rnd.choice(["GET", "GET", "GET", "POST", "HEAD"]) if not p.startswith("/admin") else "GET"
    t0 = time.time()
    if i in (30, 55):
        s = socket.create_connection(("127.0.0.1", 18081)); s.sendall(b"GET /bad path HTTP/1.1\r\n\r\n")
        try: s.recv(1000)
        except Exception: pass
        s.close(); st = 400; m, p = "BADREQ", "/bad path"
    else:
        c = http.client.HTTPConnection("127.0.0.1", 18081, timeout=3)
        c.request(m, p, body=b'{"a":1}' if m == "POST" else None, headers={"User-Agent": "loadgen/1.0"})
        r = c.getresponse(); r.read(); st = r.status; c.close()
    t1 = time.time()
    out.write(json.dumps({"t0": t0, "t1": t1, "method": m, "path": p, "status": st}) + "\n")
    if rnd.random() < 0.5: time.sleep(rnd.uniform(0, 0.05))
