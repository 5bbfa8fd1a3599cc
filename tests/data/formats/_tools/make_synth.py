#!/usr/bin/env python3
"""SYNTHESIZED samples for formats whose programs are not available on this machine (no .NET,
MongoDB, Elasticsearch, Kubernetes, AWS or GCP here, and no public sample file of them was found
on the machine or in installable packages).  Each line is written by this script to follow the
documented format exactly (see README.md for the references); the key is written from the same
values, so it is exact by construction.  Usage: make_synth.py <format> (writes sample.log, key.jsonl)."""
import datetime as dt, json, random, sys, uuid

FMT = sys.argv[1]
rnd = random.Random({"dotnet-serilog": 1, "mongodb-json": 2, "elasticsearch-json": 3, "kubernetes-events": 4, "aws-alb": 5, "gcp-lb": 6}[FMT])
UTC = dt.timezone.utc

def timeline(n, start=dt.datetime(2026, 11, 30, 23, 59, 40, tzinfo=UTC), max_us=900_000):
    t = start
    for i in range(n):
        if i and rnd.random() > 0.12:
            t += dt.timedelta(microseconds=rnd.randrange(1, max_us))
        yield t

def iso(t, digits):
    s = t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return s + ("." + "%06d" % t.microsecond)[: digits + 1] + "Z" if digits else s + "Z"

def trunc(t, digits):
    us = t.microsecond - t.microsecond % (10 ** (6 - digits))
    return t.replace(microsecond=us)

out, keys, line = [], [], 1
def emit(text, t, digits, sev, level, msg, fields):
    global line
    out.append(text)
    n = text.count("\n") + 1
    keys.append({"line": line, "lines": n, "time": iso(trunc(t, digits), digits), "severity": sev, "level": level, "message": msg, "fields": fields})
    line += n

if FMT == "dotnet-serilog":
    # Serilog.Sinks.File default outputTemplate:
    # "{Timestamp:yyyy-MM-dd HH:mm:ss.fff zzz} [{Level:u3}] {Message:lj}{NewLine}{Exception}"
    # written by a process whose local zone is UTC+01:00 (Europe/Berlin in winter).
    tz = dt.timezone(dt.timedelta(hours=1))
    SEV = {"VRB": 1, "DBG": 5, "INF": 9, "WRN": 13, "ERR": 17, "FTL": 21}
    startup = [("INF", "Now listening on: {0}", ["http://[::]:8080"]), ("INF", "Application started. Press Ctrl+C to shut down.", []),
               ("INF", "Hosting environment: {0}", ["Production"]), ("INF", "Content root path: {0}", ["/app"])]
    exc = ("System.InvalidOperationException: Sequence contains no elements\n"
           "   at System.Linq.ThrowHelper.ThrowNoElementsException()\n"
           "   at System.Linq.Enumerable.First[TSource](IEnumerable`1 source)\n"
           "   at Shop.Api.Services.OrderService.GetAsync(Int32 id) in /src/Shop.Api/Services/OrderService.cs:line 57\n"
           "   at Shop.Api.Controllers.OrdersController.Get(Int32 id) in /src/Shop.Api/Controllers/OrdersController.cs:line 31")
    exc2 = ("Npgsql.NpgsqlException (0x80004005): Failed to connect to 10.0.3.7:5432\n"
            " ---> System.Net.Sockets.SocketException (111): Connection refused\n"
            "   at Npgsql.Internal.NpgsqlConnector.Connect(NpgsqlTimeout timeout)\n"
            "   --- End of inner exception stack trace ---\n"
            "   at Npgsql.Internal.NpgsqlConnector.Open(NpgsqlTimeout timeout, Boolean async, CancellationToken cancellationToken)")
    ts = list(timeline(120))
    for i, t in enumerate(ts):
        lt = t.astimezone(tz)
        stamp = lt.strftime("%Y-%m-%d %H:%M:%S.") + "%03d" % (lt.microsecond // 1000) + " +01:00"
        if i < len(startup):
            lv, tmpl, args = startup[i]
            msg = tmpl.format(*args); e = None
        else:
            k = rnd.randrange(20); e = None
            oid = rnd.randrange(1000, 9999)
            if k < 6:
                lv = "INF"; msg = "Request starting HTTP/1.1 GET http://shop.example.com/api/orders/%d - -" % oid
            elif k < 10:
                lv = "INF"; msg = "Request finished HTTP/1.1 GET http://shop.example.com/api/orders/%d - %d - application/json;+charset=utf-8 %.4fms" % (oid, rnd.choice([200, 200, 404]), rnd.uniform(0.5, 300))
            elif k < 12:
                lv = "DBG"; msg = 'Processed {"Latitude": 25, "Longitude": 134} in %03d ms.' % rnd.randrange(1, 999)
            elif k < 13:
                lv = "VRB"; msg = "Cache entry orders:%d refreshed" % oid
            elif k < 15:
                lv = "WRN"; msg = "Order %d for customer Alice Example took %d ms, exceeding the budget" % (oid, rnd.randrange(800, 5000))
            elif k < 17:
                lv = "ERR"; msg = "Unhandled exception while handling GET /api/orders/%d" % oid; e = exc
            elif k < 18:
                lv = "FTL"; msg = "Database unreachable, stopping host"; e = exc2
            else:
                lv = "INF"; msg = "Executed endpoint 'Shop.Api.Controllers.OrdersController.Get (Shop.Api)'"
        text = "%s [%s] %s" % (stamp, lv, msg) + ("\n" + e if e else "")
        emit(text, t, 3, SEV[lv], lv, msg, {} if not e else {"exception": e.split(":")[0].split(" ")[0]})

elif FMT == "mongodb-json":
    # MongoDB >= 4.4 structured log (one JSON document per line; padding after "s", "c" and "id"
    # as mongod writes it: s padded to 2, c to 8, id to 7 characters).
    SEV = {"F": 21, "E": 17, "W": 13, "I": 9, "D1": 5, "D2": 5}
    def line_for(t, s, c, id_, ctx, msg, attr=None):
        d = t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03d" % (t.microsecond // 1000) + "+00:00"
        txt = '{"t":{"$date":"%s"},"s":"%s",%s"c":"%s",%s"id":%d,%s"ctx":"%s","msg":%s' % (
            d, s, " " * (3 - len(s)), c, " " * (9 - len(c)), id_, " " * (8 - len(str(id_))), ctx, json.dumps(msg))
        if attr is not None:
            txt += ',"attr":' + json.dumps(attr, separators=(",", ":"))
        return txt + "}"
    conn = 10
    for i, t in enumerate(timeline(110)):
        k = rnd.randrange(20)
        if k < 5:
            conn += 1
            rec = ("I", "NETWORK", 22943, "listener", "Connection accepted", {"remote": "10.0.1.%d:%d" % (rnd.randrange(2, 250), rnd.randrange(30000, 60000)), "uuid": str(uuid.UUID(int=rnd.getrandbits(128))), "connectionId": conn, "connectionCount": rnd.randrange(3, 40)})
        elif k < 8:
            rec = ("I", "NETWORK", 22944, "conn%d" % conn, "Connection ended", {"remote": "10.0.1.%d:%d" % (rnd.randrange(2, 250), rnd.randrange(30000, 60000)), "uuid": str(uuid.UUID(int=rnd.getrandbits(128))), "connectionId": conn, "connectionCount": rnd.randrange(3, 40)})
        elif k < 11:
            rec = ("I", "COMMAND", 51803, "conn%d" % conn, "Slow query", {"type": "command", "ns": "shop.orders", "command": {"find": "orders", "filter": {"status": "open"}, "$db": "shop"}, "planSummary": "COLLSCAN", "keysExamined": 0, "docsExamined": rnd.randrange(10000, 90000), "nreturned": rnd.randrange(0, 50), "durationMillis": rnd.randrange(100, 3000)})
        elif k < 13:
            rec = ("W", "CONTROL", 22120, "initandlisten", "Access control is not enabled for the database. Read and write access to data and configuration is unrestricted", {}) 
            rec = rec[:5] + ({"tags": ["startupWarnings"]},)
        elif k < 14:
            rec = ("W", "ASIO", 22601, "main", "No TransportLayer configured during NetworkInterface startup", None)
        elif k < 16:
            rec = ("E", "REPL", 21426, "ReplCoord-%d" % rnd.randrange(0, 9), "Error in heartbeat", {"target": "mongo-2.mongo:27017", "error": {"code": 6, "codeName": "HostUnreachable", "errmsg": "Connection refused"}})
        elif k < 17:
            rec = ("F", "STORAGE", 28595, "initandlisten", "Terminating.", {"reason": "13: Permission denied"})
        elif k < 18:
            rec = ("D1", "QUERY", 20967, "conn%d" % conn, "Beginning planning", {"query": "ns=shop.orders limit=20Tree: status $eq \"open\"\nSort: {}\nProj: {}\n"})
        else:
            rec = ("I", "STORAGE", 22430, "Checkpointer", "WiredTiger message", {"message": "[%d:%d][1:0x7f3b2c][WT_SESSION.checkpoint] saving checkpoint snapshot min: %d, snapshot max: %d snapshot count: 0, oldest timestamp: (0, 0) , meta checkpoint timestamp: (0, 0) base write gen: 1" % (1796083000 + i, rnd.randrange(1000, 9999), 100 + i, 100 + i)})
        s, c, id_, ctx, msg, attr = rec
        emit(line_for(t, s, c, id_, ctx, msg, attr), t, 3, SEV[s], s, msg, {"component": c, "id": id_, "ctx": ctx})

elif FMT == "elasticsearch-json":
    # Elasticsearch 7.x JSON server log (ESJsonLayout): ", "-separated keys, comma before the
    # milliseconds, stack traces as a JSON array under "stacktrace", a space before the closing brace.
    SEV = {"TRACE": 1, "DEBUG": 5, "INFO": 9, "WARN": 13, "ERROR": 17, "FATAL": 21}
    joined = False
    for i, t in enumerate(timeline(100)):
        k = rnd.randrange(20)
        comp, lv, msg, st = "o.e.c.r.a.DiskThresholdMonitor", "INFO", None, None
        if i == 0: comp, msg = "o.e.n.Node", "version[7.17.15], pid[7], build[default/docker/0b8ecfb4378335f4689c4223d1f1115f16bef3ba/2023-11-10T22:03:46.987399016Z], OS[Linux/6.1.0-13-amd64/amd64], JVM[Oracle Corporation/OpenJDK 64-Bit Server VM/21.0.1/21.0.1+12-29]"
        elif i == 1: comp, msg = "o.e.n.Node", "starting ..."
        elif i == 2: comp, msg = "o.e.c.s.MasterService", "elected-as-master ([1] nodes joined)[{es01}{Vb0a1ZcLQfu1pXq0w2iK3g}{x1}{10.0.2.5}{10.0.2.5:9300}{cdfhilmrstw} elect leader, _BECOME_MASTER_TASK_, _FINISH_ELECTION_], term: 3, version: 71, delta: master node changed {previous [], current [{es01}{Vb0a1ZcLQfu1pXq0w2iK3g}]}"; joined = True
        elif i == 3: comp, msg = "o.e.n.Node", "started"
        elif k < 6: comp, msg = "o.e.c.m.MetadataCreateIndexService", "[logs-%d] creating index, cause [auto(bulk api)], templates [], shards [1]/[1]" % rnd.randrange(1, 99)
        elif k < 9: comp, msg = "o.e.c.r.a.AllocationService", "Cluster health status changed from [RED] to [YELLOW] (reason: [shards started [[logs-%d][0]]])." % rnd.randrange(1, 99)
        elif k < 12: comp, lv, msg = "o.e.c.r.a.DiskThresholdMonitor", "WARN", "high disk watermark [90%%] exceeded on [Vb0a1ZcLQfu1pXq0w2iK3g][es01][/usr/share/elasticsearch/data/nodes/0] free: %.1fgb[%.1f%%], shards will be relocated away from this node" % (rnd.uniform(1, 5), rnd.uniform(5, 9.9))
        elif k < 14: comp, lv, msg = "o.e.m.j.JvmGcMonitorService", "WARN", "[gc][%d] overhead, spent [%dms] collecting in the last [1s]" % (1000 + i, rnd.randrange(300, 900))
        elif k < 16:
            comp, lv, msg = "o.e.a.b.TransportShardBulkAction", "ERROR", "[logs-7][0] failed to execute bulk item (index) index {[logs-7][_doc][%s], source[n/a, actual length: [2.1kb], max length: 2kb]}" % uuid.UUID(int=rnd.getrandbits(128)).hex[:20]
            st = ["org.elasticsearch.index.mapper.MapperParsingException: failed to parse field [status] of type [long] in document with id 'x1'. Preview of field's value: 'ok'",
                  "at org.elasticsearch.index.mapper.FieldMapper.parse(FieldMapper.java:234) ~[elasticsearch-7.17.15.jar:7.17.15]",
                  "at org.elasticsearch.index.mapper.DocumentParser.parseObjectOrField(DocumentParser.java:502) ~[elasticsearch-7.17.15.jar:7.17.15]",
                  "Caused by: java.lang.NumberFormatException: For input string: \"ok\"",
                  "at jdk.internal.math.FloatingDecimal.readJavaFormatString(FloatingDecimal.java:2054) ~[?:?]"]
        elif k < 17: comp, lv, msg = "o.e.x.s.a.l.LoggingAuditTrail", "DEBUG", "authentication success for user [elastic] realm [reserved]"
        else: comp, msg = "o.e.c.m.MetadataMappingService", "[logs-%d/%s] update_mapping [_doc]" % (rnd.randrange(1, 99), uuid.UUID(int=rnd.getrandbits(128)).hex[:22])
        stamp = t.strftime("%Y-%m-%dT%H:%M:%S,") + "%03dZ" % (t.microsecond // 1000)
        parts = ['"type": "server"', '"timestamp": "%s"' % stamp, '"level": "%s"' % lv, '"component": "%s"' % comp,
                 '"cluster.name": "docker-cluster"', '"node.name": "es01"', '"message": %s' % json.dumps(msg)]
        if st: parts.append('"stacktrace": [%s]' % ", ".join(json.dumps(x) for x in st))
        if joined and i > 2: parts += ['"cluster.uuid": "q0Yb1x9XTRuM8fVh6XbQ8w"', '"node.id": "Vb0a1ZcLQfu1pXq0w2iK3g"']
        emit("{" + ", ".join(parts) + ("  }" if joined and i > 2 else " }"), t, 3, SEV[lv], lv, msg, {"component": comp, "node.name": "es01", "cluster.name": "docker-cluster"})

elif FMT == "kubernetes-events":
    # core/v1 Event objects, one per line, as `kubectl get events -A -o json | jq -c '.items[]'`
    # prints them (type Normal/Warning; timestamps to the second).
    pods = ["web-7d9f8b6c5d-x2x4k", "web-7d9f8b6c5d-q8l2m", "worker-5c7b9d8f6-zt7kp", "db-migrate-28391230-h7f2x"]
    for i, t in enumerate(timeline(90, max_us=2_500_000)):
        pod = rnd.choice(pods); k = rnd.randrange(20)
        typ = "Normal"
        if k < 4: reason, msg, comp = "Scheduled", "Successfully assigned default/%s to node-%d" % (pod, rnd.randrange(1, 4)), "default-scheduler"
        elif k < 7: reason, msg, comp = "Pulled", "Container image \"registry.example.com/shop/web:1.8.2\" already present on machine", "kubelet"
        elif k < 9: reason, msg, comp = "Created", "Created container web", "kubelet"
        elif k < 11: reason, msg, comp = "Started", "Started container web", "kubelet"
        elif k < 13: typ, reason, msg, comp = "Warning", "BackOff", "Back-off restarting failed container worker in pod %s_default(%s)" % (pod, uuid.UUID(int=rnd.getrandbits(128))), "kubelet"
        elif k < 15: typ, reason, msg, comp = "Warning", "Unhealthy", "Readiness probe failed: HTTP probe failed with statuscode: 503", "kubelet"
        elif k < 16: typ, reason, msg, comp = "Warning", "FailedScheduling", "0/3 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, 2 Insufficient memory. preemption: 0/3 nodes are available: 1 Preemption is not helpful for scheduling, 2 No preemption victims found for incoming pod..", "default-scheduler"
        elif k < 17: typ, reason, msg, comp = "Warning", "OOMKilling", "Memory cgroup out of memory: Killed process 4121 (java) total-vm:3921456kB, anon-rss:1048576kB, file-rss:0kB, shmem-rss:0kB, UID:1000 pgtables:2460kB oom_score_adj:999", "kernel-monitor"
        elif k < 18: reason, msg, comp = "ScalingReplicaSet", "Scaled up replica set web-7d9f8b6c5d to 3", "deployment-controller"
        else: reason, msg, comp = "Killing", "Stopping container web", "kubelet"
        first = t - dt.timedelta(seconds=rnd.choice([0, 0, 0, 30, 300]))
        count = 1 if first == t else rnd.randrange(2, 20)
        ts = lambda x: x.strftime("%Y-%m-%dT%H:%M:%SZ")
        kind = "Deployment" if reason == "ScalingReplicaSet" else "Pod"
        name = "web" if kind == "Deployment" else pod
        ev = {"apiVersion": "v1", "count": count, "eventTime": None, "firstTimestamp": ts(first),
              "involvedObject": {"apiVersion": "apps/v1" if kind == "Deployment" else "v1", "kind": kind, "name": name, "namespace": "default",
                                 "resourceVersion": str(812000 + i * 7), "uid": str(uuid.UUID(int=rnd.getrandbits(128)))},
              "kind": "Event", "lastTimestamp": ts(t), "message": msg,
              "metadata": {"creationTimestamp": ts(first), "name": "%s.%x" % (name, rnd.getrandbits(60)), "namespace": "default",
                           "resourceVersion": str(812003 + i * 7), "uid": str(uuid.UUID(int=rnd.getrandbits(128)))},
              "reason": reason, "reportingComponent": comp if comp != "kubelet" else "", "reportingInstance": "",
              "source": {"component": comp} if comp not in ("kubelet", "kernel-monitor") else {"component": comp, "host": "node-%d" % rnd.randrange(1, 4)},
              "type": typ}
        if kind == "Pod" and reason not in ("Scheduled", "FailedScheduling"):
            ev["involvedObject"]["fieldPath"] = "spec.containers{web}"
        emit(json.dumps(ev, separators=(",", ":")), t, 0, 13 if typ == "Warning" else 9, typ, msg,
             {"reason": reason, "kind": kind, "name": name, "namespace": "default", "count": count})

elif FMT == "aws-alb":
    # Application Load Balancer access log entry (space-separated, fields in the documented order).
    for i, t in enumerate(timeline(100)):
        k = rnd.randrange(20)
        method, path = rnd.choice([("GET", "/"), ("GET", "/api/orders?limit=20"), ("POST", "/api/orders"), ("GET", "/static/app.3f2a.js"), ("GET", "/health")])
        status = 200 if k < 12 else 304 if k < 13 else 404 if k < 15 else 502 if k < 17 else 503 if k < 18 else 460
        typ = "h2" if k % 3 == 0 else "https"
        client = "203.0.113.%d:%d" % (rnd.randrange(1, 254), rnd.randrange(1024, 65535))
        target = "-" if status in (503, 460) else "10.0.%d.%d:8080" % (rnd.randrange(1, 3), rnd.randrange(2, 250))
        rp = "-1" if target == "-" else "%.3f" % rnd.uniform(0, 0.002)
        tp = "-1" if status in (502, 503, 460) else "%.3f" % rnd.uniform(0.001, 0.9)
        sp = "-1" if target == "-" else "%.3f" % rnd.uniform(0, 0.001)
        tstatus = "-" if target == "-" or status == 502 else str(status)
        created = t - dt.timedelta(microseconds=rnd.randrange(1000, 900000))
        ua = rnd.choice(["Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36", "curl/8.5.0", "ELB-HealthChecker/2.0"])
        trace = "Root=1-%08x-%s" % (int(t.timestamp()), uuid.UUID(int=rnd.getrandbits(128)).hex[:24])
        err = "-" if status < 500 else ("TargetConnectionError" if status == 502 else "-")
        fields = [typ, iso(t, 6), "app/shop-alb/50dc6c495c0c9188", client, target, rp, tp, sp, str(status), tstatus,
                  str(rnd.randrange(100, 2000)), str(rnd.randrange(200, 90000)),
                  '"%s https://shop.example.com:443%s HTTP/%s"' % (method, path, "2.0" if typ == "h2" else "1.1"), '"%s"' % ua,
                  "ECDHE-RSA-AES128-GCM-SHA256", "TLSv1.2",
                  "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/shop-web/73e2d6bc24d8a067", '"%s"' % trace,
                  '"shop.example.com"', '"arn:aws:acm:eu-west-1:123456789012:certificate/12345678-1234-1234-1234-123456789012"',
                  "0" if path == "/" else "1", iso(created, 6), '"forward"' if target != "-" else '"waf,fixed-response"' if status == 460 else '"forward"',
                  '"-"', '"%s"' % err, '"%s"' % target, '"%s"' % tstatus, '"-"', '"-"', "TID_%s" % uuid.UUID(int=rnd.getrandbits(128)).hex]
        emit(" ".join(fields), t, 6, 0, None, "%s https://shop.example.com:443%s" % (method, path),
             {"type": typ, "client": client, "elb_status_code": status, "method": method, "path": path})

elif FMT == "gcp-lb":
    # Cloud Logging LogEntry of an external Application Load Balancer request log, one JSON per line
    # (as exported by a log sink / `gcloud logging read --format=json` flattened to one line).
    SEV = {"INFO": 9, "WARNING": 13, "ERROR": 17}
    for i, t in enumerate(timeline(90)):
        k = rnd.randrange(20)
        status = 200 if k < 12 else 301 if k < 13 else 404 if k < 16 else 502 if k < 18 else 503
        sev = "INFO" if status < 400 else "WARNING" if status < 500 else "ERROR"
        path = rnd.choice(["/", "/api/cart", "/api/cart/items/17", "/img/logo.svg", "/robots.txt"])
        details = {200: "response_sent_by_backend", 301: "response_sent_by_backend", 404: "response_sent_by_backend",
                   502: "failed_to_connect_to_backend", 503: "backend_connection_closed_before_data_sent_to_client"}[status]
        e = {"httpRequest": {"latency": "%.6fs" % rnd.uniform(0.001, 1.5), "remoteIp": "198.51.100.%d" % rnd.randrange(1, 254),
                             "requestMethod": rnd.choice(["GET", "GET", "POST"]), "requestSize": str(rnd.randrange(80, 900)),
                             "requestUrl": "https://shop.example.com" + path, "responseSize": str(rnd.randrange(0, 50000)),
                             "serverIp": "10.128.0.%d" % rnd.randrange(2, 50), "status": status,
                             "userAgent": "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36"},
             "insertId": "%x" % rnd.getrandbits(40),
             "jsonPayload": {"@type": "type.googleapis.com/google.cloud.loadbalancing.type.LoadBalancerLogEntry",
                             "backendTargetProjectNumber": "projects/123456789012", "cacheDecision": ["RESPONSE_HAS_CONTENT_TYPE", "REQUEST_HAS_IF_NONE_MATCH"] if path.endswith(".svg") else ["CACHE_MODE_USE_ORIGIN_HEADERS"],
                             "remoteIp": None, "statusDetails": details},
             "logName": "projects/shop-prod/logs/requests",
             "receiveTimestamp": iso(t + dt.timedelta(microseconds=rnd.randrange(100000, 2000000)), 9 if False else 6),
             "resource": {"labels": {"backend_service_name": "shop-web-backend", "forwarding_rule_name": "shop-https-rule", "project_id": "shop-prod",
                                     "target_proxy_name": "shop-https-proxy", "url_map_name": "shop-url-map", "zone": "global"}, "type": "http_load_balancer"},
             "severity": sev, "spanId": "%016x" % rnd.getrandbits(64), "timestamp": iso(t, 6),
             "trace": "projects/shop-prod/traces/%032x" % rnd.getrandbits(128)}
        del e["jsonPayload"]["remoteIp"]
        emit(json.dumps(e, separators=(",", ":")), t, 6, SEV[sev], sev, "%s %s" % (e["httpRequest"]["requestMethod"], e["httpRequest"]["requestUrl"]),
             {"status": status, "remote_ip": e["httpRequest"]["remoteIp"], "method": e["httpRequest"]["requestMethod"], "url": e["httpRequest"]["requestUrl"]})
else:
    sys.exit("unknown format " + FMT)

open("sample.log", "w").write("\n".join(out) + "\n")
with open("key.jsonl", "w") as f:
    for k in keys:
        f.write(json.dumps(k) + "\n")
