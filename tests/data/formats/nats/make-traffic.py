#!/usr/bin/env python3
"""Talks raw NATS protocol to the throw-away server on 127.0.0.1:4299: a good client that
subscribes/publishes, one with a wrong password, one that sends garbage, one that exceeds
max_payload, and one that just disconnects."""
import socket, time, json
def conn(user="svc", pw="s3cr3t-not-real", name="orders-svc"):
    s = socket.create_connection(("127.0.0.1", 4299), timeout=2)
    s.recv(4096)  # INFO
    s.sendall(b"CONNECT " + json.dumps({"verbose": False, "pedantic": False, "user": user, "pass": pw, "name": name, "lang": "python3", "version": "0.1"}).encode() + b"\r\n")
    return s
def drain(s):
    try:
        time.sleep(0.1); return s.recv(65536)
    except Exception:
        return b""
s = conn()
s.sendall(b"SUB orders.created 1\r\nSUB orders.* q1 2\r\nPING\r\n"); drain(s)
for i in range(3):
    body = b'{"id":%d}' % (100 + i)
    s.sendall(b"PUB orders.created %d\r\n%s\r\n" % (len(body), body)); time.sleep(0.05)
s.sendall(b"UNSUB 2\r\nPING\r\n"); drain(s)
b = conn(pw="wrong")
drain(b); b.close()
g = conn(name="broken-client")
g.sendall(b"HELLO WORLD\r\n"); drain(g); g.close()
p = conn(name="big-publisher")
p.sendall(b"PUB big.payload 5000\r\n" + b"x" * 5000 + b"\r\n"); drain(p); p.close()
s.sendall(b"PUB orders.created 2\r\nok\r\n"); drain(s)
s.close()
time.sleep(0.3)
