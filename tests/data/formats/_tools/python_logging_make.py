#!/usr/bin/env python3
"""Writes sample.log with the Python stdlib logging module (format
'%(asctime)s - %(name)s - %(levelname)s - %(message)s', asctime default
'%Y-%m-%d %H:%M:%S,mmm', local time) and key.jsonl from a second handler that
sees the same LogRecords (record.created/msecs, levelname, name, getMessage()).

Run:  TZ=UTC faketime -f "@2026-11-30 23:59:57" python3 make.py
(libfaketime only moves the clock so that the records cross midnight.)
"""
import json, logging, os, random, sys, time, datetime

FMT = sys.argv[1] if len(sys.argv) > 1 else "%(asctime)s - %(name)s - %(levelname)s - %(message)s"
SEV = {"DEBUG": 5, "INFO": 9, "WARNING": 13, "ERROR": 17, "CRITICAL": 18}

class KeyHandler(logging.Handler):
    """Parallel structured output of the same records."""
    def __init__(self, out, fmt):
        super().__init__()
        self.out, self.fmtr, self.line = out, fmt, 1
    def emit(self, r):
        text = self.fmtr.format(r)
        n = text.count("\n") + 1
        t = datetime.datetime.fromtimestamp(int(r.created), datetime.timezone.utc)
        t = t.replace(microsecond=int(r.msecs) * 1000)
        fields = {"logger": r.name}
        fields.update(getattr(r, "keyfields", {}))
        k = {"line": self.line, "lines": n,
             "time": t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % int(r.msecs),
             "severity": SEV[r.levelname], "level": r.levelname,
             "message": r.getMessage().split("\n")[0], "fields": fields}
        if "%(asctime)" not in FMT:
            k["time"] = None
        self.out.write(json.dumps(k) + "\n")
        self.line += n

def main():
    rnd = random.Random(42)
    fmt = logging.Formatter(FMT)
    main_h = logging.FileHandler("sample.log", mode="w", encoding="utf-8")
    main_h.setFormatter(fmt)
    key = open("key.jsonl", "w")
    root = logging.getLogger()
    root.setLevel(logging.DEBUG)
    root.addHandler(main_h)
    root.addHandler(KeyHandler(key, fmt))
    loggers = [logging.getLogger(n) for n in ("app", "app.api", "app.db", "urllib3.connectionpool", "celery.worker", "__main__")]
    users = ["alice", "bob", "carol", "dave"]
    for i in range(150):
        lg = rnd.choice(loggers)
        k = rnd.randrange(20)
        if k < 8:
            st = rnd.choice([200, 200, 201, 302, 404])
            path = rnd.choice(["/", "/login", "/api/items/17", "/static/app.css", "/api/search?q=caf%C3%A9"])
            lg.info("%s %s -> %d (%.1f ms)", rnd.choice(["GET", "POST"]), path, st, rnd.uniform(0.5, 300))
        elif k < 11:
            lg.debug("Starting new HTTPS connection (%d): api.example.com:443", rnd.randint(1, 4))
        elif k < 13:
            lg.warning("Retrying (Retry(total=%d, connect=None, read=None, redirect=None, status=None)) after connection broken", rnd.randint(0, 3))
        elif k < 15:
            lg.error("Task tasks.send_email[%08x-1c2d-4e5f-8a9b-0c1d2e3f4a5b] raised unexpected: %s", rnd.getrandbits(32), "SMTPServerDisconnected('Connection unexpectedly closed')")
        elif k < 16:
            lg.critical("Database unavailable, giving up after %d attempts", rnd.randint(3, 9))
        elif k < 18:
            try:
                {"alice": 1}[rnd.choice(users)] / rnd.choice([0, 1]) if rnd.random() < 0.5 else int("12a")
            except Exception:
                lg.exception("Unhandled error while processing job %d", 1000 + i)
        elif k < 19:
            lg.info("User %s logged in from 203.0.113.%d", rnd.choice(users), rnd.randint(1, 254))
        else:
            lg.warning("Config value looks odd:\n  timeout=%r\n  retries=%r", "30s", -1)
        if rnd.random() < 0.75:
            time.sleep(rnd.uniform(0.0, 0.08))
    main_h.close(); key.close()

if __name__ == "__main__":
    main()
