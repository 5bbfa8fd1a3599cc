#!/usr/bin/env python3
"""Builds a journal file with systemd-journal-remote (systemd 252, Debian) from an export-format
stream of typical system-daemon entries (this machine's journal is empty: no journald runs here),
then renders it with `journalctl --file ... -o short-iso` (sample.log) and `-o json` (key source).
The key's time is __REALTIME_TIMESTAMP (to the second the line shows); severity 0, because
short-iso prints no priority (the journal's PRIORITY is kept as fields.priority_severity)."""
import json, random, subprocess, os, sys, datetime
W = sys.argv[1] if len(sys.argv) > 1 else "/work/corpus/journal"
os.makedirs(W, exist_ok=True)
rnd = random.Random(99)
t = 1796083140_000000  # 2026-11-30T23:59:00Z
ents = []
def add(ident, pid, prio, msg, extra=None):
    global t
    if rnd.random() < 0.8:
        t += rnd.randint(0, 1_400_000)
    f = {"MESSAGE": msg, "PRIORITY": str(prio), "SYSLOG_IDENTIFIER": ident, "_HOSTNAME": "vm", "_TRANSPORT": "syslog" if ident != "kernel" else "kernel", "SYSLOG_FACILITY": "3"}
    if pid: f["_PID"] = str(pid)
    if extra: f.update(extra)
    ents.append((t, f))
for i in range(120):
    k = rnd.randrange(24)
    if k < 5: add("sshd", 4000 + rnd.randrange(50), 6, "Accepted publickey for deploy from 198.51.100.%d port %d ssh2: ED25519 SHA256:Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2RlZmdoaWo" % (rnd.randrange(1, 255), rnd.randrange(30000, 60000)))
    elif k < 8: add("sshd", 4000 + rnd.randrange(50), 5, "Invalid user admin from 203.0.113.%d port %d" % (rnd.randrange(1, 255), rnd.randrange(30000, 60000)))
    elif k < 10: add("CRON", 5000 + i, 6, "(root) CMD (   test -x /etc/cron.daily/popularity-contest && /etc/cron.daily/popularity-contest --crond)")
    elif k < 12: add("systemd", 1, 6, rnd.choice(["Started session-%d.scope - Session %d of User deploy." % (i, i), "Starting logrotate.service - Rotate log files...", "Finished logrotate.service - Rotate log files.", "Reloading..."]))
    elif k < 13: add("systemd", 1, 4, "nginx.service: Watchdog timeout (limit 30s)!")
    elif k < 15: add("kernel", None, 4, "TCP: request_sock_TCP: Possible SYN flooding on port 443. Sending cookies.  Check SNMP counters.")
    elif k < 16: add("kernel", None, 3, "Out of memory: Killed process %d (java) total-vm:8123456kB, anon-rss:4012345kB, file-rss:0kB, shmem-rss:0kB, UID:1001 pgtables:9012kB oom_score_adj:0" % (7000 + i))
    elif k < 17: add("kernel", None, 2, "EXT4-fs error (device sda1): ext4_find_entry:1463: inode #2: comm ls: reading directory lblock 0")
    elif k < 18: add("sudo", 6000 + i, 5, "  deploy : TTY=pts/0 ; PWD=/home/deploy ; USER=root ; COMMAND=/usr/bin/systemctl restart app")
    elif k < 19: add("app", 2345, 7, "cache warmup step %d done" % i)
    elif k < 20: add("app", 2345, 3, "unhandled exception in worker\nTraceback (most recent call last):\n  File \"/srv/app/worker.py\", line 42, in run\nKeyError: 'user_id'")
    elif k < 21: add("smartd", 812, 1, "Device: /dev/sda [SAT], FAILED SMART self-check. BACK UP DATA NOW!")
    elif k < 22: add("systemd-logind", 700, 0, "System is going down for poweroff NOW! (test broadcast)")
    else: add("postfix/smtpd", 9000 + i, 6, "connect from unknown[192.0.2.%d]" % rnd.randrange(1, 255))
exp = os.path.join(W, "entries.export"); jf = os.path.join(W, "corpus.journal")
with open(exp, "wb") as f:
    for ts, fl in ents:
        f.write(b"__REALTIME_TIMESTAMP=%d\n__MONOTONIC_TIMESTAMP=%d\n_BOOT_ID=0f0e0d0c0b0a09080706050403020100\n" % (ts, ts - 1796000000_000000))
        for k, v in fl.items():
            vb = v.encode()
            if b"\n" in vb:  # binary-safe field form of the export format
                f.write(k.encode() + b"\n" + len(vb).to_bytes(8, "little") + vb + b"\n")
            else:
                f.write(k.encode() + b"=" + vb + b"\n")
        f.write(b"\n")
if os.path.exists(jf): os.remove(jf)
subprocess.run(["/lib/systemd/systemd-journal-remote", "--output=" + jf, exp], check=True, stderr=subprocess.DEVNULL)
env = dict(os.environ, TZ="UTC", SYSTEMD_COLORS="0", SYSTEMD_PAGER="")
txt = subprocess.run(["journalctl", "--file", jf, "-o", "short-iso", "--no-pager"], env=env, capture_output=True, check=True).stdout
open("sample.log", "wb").write(txt)
js = subprocess.run(["journalctl", "--file", jf, "-o", "json", "--no-pager"], env=env, capture_output=True, check=True).stdout.decode().splitlines()
SEV = {0: 23, 1: 22, 2: 18, 3: 17, 4: 13, 5: 10, 6: 9, 7: 5}
line = 1
with open("key.jsonl", "w") as k:
    for l in js:
        e = json.loads(l)
        msg = e["MESSAGE"] if isinstance(e["MESSAGE"], str) else bytes(e["MESSAGE"]).decode()
        n = msg.count("\n") + 1
        ts = int(e["__REALTIME_TIMESTAMP"]) // 1_000_000
        tt = datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        f = {"host": e["_HOSTNAME"], "identifier": e["SYSLOG_IDENTIFIER"]}
        if "_PID" in e: f["pid"] = int(e["_PID"])
        # short-iso prints no priority: the line has no level (severity 0, as
        # every format that writes none); the journal's own is kept as a field.
        f["priority_severity"] = SEV[int(e["PRIORITY"])]
        k.write(json.dumps({"line": line, "lines": n, "time": tt, "severity": 0, "level": None,
                            "message": msg.split("\n")[0], "fields": f}) + "\n")
        line += n
