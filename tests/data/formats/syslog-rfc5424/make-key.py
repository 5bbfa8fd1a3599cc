#!/usr/bin/env python3
"""Keys for the three rsyslog outputs of one run, from rsyslog-key.jsonl: the same messages written
by rsyslog itself through a JSON template (timereported, pri, syslogseverity, hostname, app-name,
procid, msgid, msg) — the program's own parallel structured output.  Each line is cross-checked to
contain the message and host.  Severity: the RFC 5424 lines carry <PRI> (severity = PRI & 7, mapped
to OpenTelemetry); the traditional and RFC 3339 file formats carry no level, so severity 0 there.
Usage: make-key.py <rsyslog-key.jsonl> <formats dir>"""
import datetime as dt, json, os, sys
src, root = sys.argv[1], sys.argv[2]
K = [json.loads(l) for l in open(src, encoding="utf-8")]
OTEL = {0: 23, 1: 22, 2: 18, 3: 17, 4: 13, 5: 10, 6: 9, 7: 5}
for name, digits, has_pri in (("syslog-rfc5424", 6, True), ("syslog-rfc3339", 6, False), ("syslog-traditional", 0, False)):
    L = open(os.path.join(root, name, "sample.log"), encoding="utf-8").read().split("\n")[:-1]
    assert len(L) == len(K), name
    with open(os.path.join(root, name, "key.jsonl"), "w", encoding="utf-8") as out:
        for i, (l, k) in enumerate(zip(L, K), 1):
            assert l.endswith(k["msg"].lstrip()) and (" %s " % k["host"]) in l, (name, i, l, k)
            t = dt.datetime.fromisoformat(k["time"]).astimezone(dt.timezone.utc)
            ts = t.strftime("%Y-%m-%dT%H:%M:%S") + ("." + ("%06d" % t.microsecond)[:digits] if digits else "") + "Z"
            f = {"host": k["host"], "app": k["app"]}
            if k["procid"] not in ("", "-"): f["pid"] = int(k["procid"]) if k["procid"].isdigit() else k["procid"]
            if has_pri:
                f["facility"] = k["facility"]
                if k["msgid"] != "-": f["msgid"] = k["msgid"]
            out.write(json.dumps({"line": i, "lines": 1, "time": ts, "severity": OTEL[k["severity"]] if has_pri else 0,
                                  "level": "<%d>" % k["pri"] if has_pri else None, "message": k["msg"].lstrip(), "fields": f}) + "\n")
