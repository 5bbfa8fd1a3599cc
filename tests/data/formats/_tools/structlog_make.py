#!/usr/bin/env python3
"""Writes sample.log with structlog (PyPI structlog 26.1.0) and key.jsonl.

MODE=console: structlog's default processor chain (merge_contextvars, add_log_level,
  StackInfoRenderer, set_exc_info, TimeStamper(fmt="%Y-%m-%d %H:%M:%S", utc=False),
  ConsoleRenderer) with ConsoleRenderer(colors=False).
MODE=json: add_log_level, TimeStamper(fmt="iso"), format_exc_info, JSONRenderer().

The key comes from a processor placed just before the renderer: it sees the final
event dict (timestamp string, level, event, other keys) of the same call.
Run:  TZ=UTC faketime -f "@2026-11-30 23:59:57" python3 make.py console|json
"""
import datetime, json, random, sys, time
import structlog

MODE = sys.argv[1] if len(sys.argv) > 1 else "console"
SEV = {"debug": 5, "info": 9, "warning": 13, "error": 17, "critical": 18}
captured = []

def capture(logger, method_name, event_dict):
    captured.append(dict(event_dict))
    return event_dict

class Out:
    def __init__(self, f): self.f = f
    def msg(self, s): self.f.write(s + "\n"); self.f.flush(); captured[-1]["_text"] = s
    debug = info = warning = warn = error = critical = exception = log = msg

def main():
    f = open("sample.log", "w", encoding="utf-8")
    if MODE == "console":
        procs = [structlog.contextvars.merge_contextvars, structlog.processors.add_log_level,
                 structlog.processors.StackInfoRenderer(), structlog.dev.set_exc_info,
                 structlog.processors.TimeStamper(fmt="%Y-%m-%d %H:%M:%S", utc=False),
                 capture, structlog.dev.ConsoleRenderer(colors=False)]
    else:
        procs = [structlog.processors.add_log_level, structlog.processors.TimeStamper(fmt="iso"),
                 structlog.processors.format_exc_info, capture, structlog.processors.JSONRenderer()]
    structlog.configure(processors=procs, logger_factory=lambda *a: Out(f), cache_logger_on_first_use=False)
    log = structlog.get_logger()
    rnd = random.Random(7)
    for i in range(140):
        k = rnd.randrange(20)
        lg = log.bind(request_id="%08x" % rnd.getrandbits(32)) if rnd.random() < 0.4 else log
        if k < 8:
            lg.info("request finished", method=rnd.choice(["GET", "POST"]), path=rnd.choice(["/", "/cart", "/api/v2/items", "/checkout"]),
                    status=rnd.choice([200, 200, 201, 404, 500]), duration_ms=round(rnd.uniform(1, 400), 2))
        elif k < 11:
            lg.debug("cache miss", key="sess:%d" % rnd.randint(1000, 9999))
        elif k < 13:
            lg.warning("rate limit close", client="203.0.113.%d" % rnd.randint(1, 254), remaining=rnd.randint(0, 5))
        elif k < 15:
            lg.error("upstream error", upstream="inventory", error="ConnectTimeout: timed out after 5.0s")
        elif k < 16:
            lg.critical("out of disk space", mount="/var/lib/app", free_bytes=rnd.randint(0, 4096))
        elif k < 18:
            try:
                json.loads("{'bad': json}")
            except ValueError:
                lg.exception("could not parse webhook payload", source="github")
        else:
            lg.info("user signed up", user="user%d@example.com" % rnd.randint(1, 999), plan=rnd.choice(["free", "pro"]))
        if rnd.random() < 0.75:
            time.sleep(rnd.uniform(0, 0.08))
    f.close()
    line = 1
    with open("key.jsonl", "w") as kf:
        for ev in captured:
            text = ev.pop("_text")
            n = text.count("\n") + 1
            ts = ev.pop("timestamp")
            if MODE == "console":
                t = datetime.datetime.strptime(ts, "%Y-%m-%d %H:%M:%S").strftime("%Y-%m-%dT%H:%M:%SZ")  # TZ=UTC: local == UTC
            else:
                t = ts  # already ISO 8601 UTC with 'Z'
            lvl = ev.pop("level")
            msg = ev.pop("event")
            ev.pop("exc_info", None); ev.pop("exception", None)
            kf.write(json.dumps({"line": line, "lines": n, "time": t, "severity": SEV[lvl], "level": lvl,
                                 "message": msg, "fields": ev}) + "\n")
            line += n

if __name__ == "__main__":
    main()
