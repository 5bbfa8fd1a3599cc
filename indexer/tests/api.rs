//! The HTTP API end to end, in one process: events go through the queue
//! (memory backend) into the indexer, and every endpoint is asked over real
//! HTTP on loopback. RabbitMQ-backed runs are in the root package's tests.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use loghaul_indexer::api::{self, ApiState};
use loghaul_indexer::client::encode;
use loghaul_indexer::search::Searcher;
use loghaul_indexer::store::ShardStore;
use loghaul_indexer::worker::{self, CommitPolicy, IndexStats};
use loghaul_model::{Event, EventBatch, EventId, FileIdentity, Resource, Severity, codec};
use loghaul_queue::{Broker, MemoryBroker, Message, QueueSettings, Route};
use loghaul_testkit::{http_get, http_get_with};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

const TOKEN: &str = "s3cret-token";

fn events(first: u64, count: u64, base: i64) -> EventBatch {
    let file = FileIdentity {
        device: 1,
        inode: 2,
        fingerprint: 3,
    };
    EventBatch {
        events: (first..first + count)
            .map(|index| Event {
                id: EventId::new("api-host", &file, index * 50),
                timestamp_unix_nano: base + index as i64 * 1_000_000_000,
                observed_timestamp_unix_nano: base,
                severity: Severity {
                    text: Some(if index % 5 == 0 { "ERROR" } else { "INFO" }.into()),
                    number: if index % 5 == 0 { 17 } else { 9 },
                },
                body: format!("payment {index} processed for order {}", index * 3),
                attributes: [("order".to_owned(), json!({"total": index * 10}))]
                    .into_iter()
                    .collect(),
                resource: Resource {
                    host: "api-host".into(),
                    source: "/var/log/pay.log".into(),
                    service: Some("payments".into()),
                    source_name: None,
                },
                file,
                offset: index * 50,
                parse_error: None,
            })
            .collect(),
    }
}

fn json_get(addr: std::net::SocketAddr, path: &str) -> (u16, Value) {
    let (status, body) = http_get_with(addr, path, &[&format!("Authorization: Bearer {TOKEN}")]);
    let value = serde_json::from_str(&body).unwrap_or(Value::String(body));
    (status, value)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_endpoint_over_http() {
    let dir = tempfile::tempdir().expect("tempdir");
    let broker: Arc<dyn Broker> = Arc::new(MemoryBroker::new(QueueSettings::with_prefix("api")));
    let store = Arc::new(tokio::sync::Mutex::new(
        ShardStore::open(dir.path(), 0, 20 << 20).expect("store"),
    ));
    let stats = Arc::new(IndexStats::default());
    let ready = Arc::new(AtomicBool::new(false));
    let state = Arc::new(ApiState::new(
        Arc::new(Searcher::new(dir.path(), 0)),
        stats.clone(),
        Some(TOKEN.into()),
        ready.clone(),
    ));
    let stop = CancellationToken::new();
    let (addr, server) = api::start("127.0.0.1:0".parse().expect("addr"), state, stop.clone())
        .await
        .expect("listening");
    let indexer = tokio::spawn(worker::run(
        broker.clone(),
        0,
        store.clone(),
        CommitPolicy {
            interval: Duration::from_millis(200),
            documents: 10_000,
            retention: None,
        },
        stats.clone(),
        ready,
        stop.clone(),
    ));

    // 2026-11-22T08:00:00Z.
    let base = 1_795_334_400_000_000_000;
    let mut publisher = broker.publisher().await.expect("publisher");
    let sent = Instant::now();
    publisher
        .publish(
            Route::Events(0),
            &[Message::new(codec::encode_event_batch(&events(
                0, 100, base,
            )))],
        )
        .await
        .expect("publish");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, body) = json_get(addr, "/api/count?q=payment");
        if body["count"] == 100 {
            break;
        }
        assert!(Instant::now() < deadline, "not searchable: {body}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    eprintln!(
        "searchable {} ms after publishing",
        sent.elapsed().as_millis()
    );

    // Health and auth.
    assert_eq!(http_get(addr, "/healthz").0, 200);
    // The web UI is open (it holds no data; it asks the API with the token).
    let (status, page) = http_get(addr, "/");
    assert_eq!(status, 200);
    assert!(
        page.contains("<script type=\"module\" src=\"/ui/app.js\">"),
        "{page}"
    );
    let (status, script) = http_get(addr, "/ui/app.js");
    assert_eq!(status, 200);
    assert!(script.contains("textContent"));
    assert_eq!(http_get(addr, "/ui/nothing.js").0, 404);
    let (status, body) = http_get(addr, "/api/search?q=payment");
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("bearer token"));
    assert_eq!(
        http_get_with(addr, "/api/count", &["Authorization: Bearer wrong"]).0,
        401
    );
    // A prefix of the token, or the token and more, is wrong too.
    for wrong in [&TOKEN[..TOKEN.len() - 1], &format!("{TOKEN}x")] {
        let header = format!("Authorization: Bearer {wrong}");
        assert_eq!(http_get_with(addr, "/api/count", &[&header]).0, 401);
    }
    // The scheme in any case (RFC 7235), with extra spaces.
    for scheme in ["bearer", "BEARER", "Bearer "] {
        let header = format!("Authorization: {scheme} {TOKEN}");
        assert_eq!(
            http_get_with(addr, "/api/count", &[&header]).0,
            200,
            "{header}"
        );
    }
    // Two Authorization headers: which counts is ambiguous, so neither.
    let (status, body) = http_get_with(
        addr,
        "/api/count",
        &[
            &format!("Authorization: Bearer {TOKEN}"),
            "Authorization: Bearer wrong",
        ],
    );
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("more than one Authorization"), "{body}");
    assert_eq!(json_get(addr, "/readyz").0, 200);
    // Probes cannot send a secret: readiness is open (it says only ready
    // or not); the metrics are not.
    assert_eq!(http_get(addr, "/readyz").0, 200);
    assert_eq!(http_get(addr, "/metrics").0, 401);

    // Search, newest first, with a cursor.
    let (status, page) = json_get(addr, "/api/search?q=level:ERROR&limit=7");
    assert_eq!(status, 200, "{page}");
    let first: Vec<u64> = page["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|event| event["offset"].as_u64().unwrap_or(0))
        .collect();
    assert_eq!(first, [4750, 4500, 4250, 4000, 3750, 3500, 3250]);
    let cursor = page["next_cursor"].as_str().expect("cursor").to_owned();
    let (_, next) = json_get(
        addr,
        &format!("/api/search?q=level:ERROR&limit=50&cursor={cursor}"),
    );
    assert_eq!(next["events"].as_array().map(Vec::len), Some(13));
    assert_eq!(next["next_cursor"], Value::Null);

    // Time ranges: RFC 3339 and Unix seconds.
    let (_, ranged) = json_get(addr, "/api/count?from=2026-11-22T08:00:10Z&to=1795334420");
    assert_eq!(ranged["count"], 10);
    let (_, recent) = json_get(addr, "/api/count?since=100000d");
    assert_eq!(recent["count"], 100);
    let (status, body) = json_get(addr, "/api/count?from=yesterday");
    assert_eq!(status, 400);
    assert!(
        body["error"].as_str().unwrap_or("").contains("not a time"),
        "{body}"
    );

    // Attributes, histogram, facets.
    let (_, orders) = json_get(addr, "/api/count?q=order.total:%5B100%20TO%20190%5D");
    assert_eq!(orders["count"], 10);
    let (status, histogram) = json_get(
        addr,
        "/api/histogram?from=2026-11-22T08:00:00Z&to=2026-11-22T08:02:00Z&interval=30s",
    );
    assert_eq!(status, 200, "{histogram}");
    let counts: Vec<u64> = histogram["buckets"]
        .as_array()
        .expect("buckets")
        .iter()
        .map(|bucket| bucket["count"].as_u64().unwrap_or(0))
        .collect();
    assert_eq!(counts, [30, 30, 30, 10]);
    let (_, facets) = json_get(addr, "/api/facets?field=level");
    assert_eq!(
        facets["values"],
        json!([{"value": "INFO", "count": 80}, {"value": "ERROR", "count": 20}])
    );

    // Context around one event.
    let id = EventId::new(
        "api-host",
        &FileIdentity {
            device: 1,
            inode: 2,
            fingerprint: 3,
        },
        50 * 50,
    );
    let (status, context) = json_get(addr, &format!("/api/context?id={id}&before=2&after=1"));
    assert_eq!(status, 200, "{context}");
    assert_eq!(context["event"]["offset"], 2500);
    assert_eq!(context["before"][0]["offset"], 2400);
    assert_eq!(context["before"][1]["offset"], 2450);
    assert_eq!(context["after"][0]["offset"], 2550);
    assert_eq!(
        json_get(addr, &format!("/api/context?id={}", "0".repeat(32))).0,
        404
    );

    // Errors with positions and limits.
    let (status, error) = json_get(addr, "/api/search?q=level:ERROR%20AND%20(payment");
    assert_eq!(status, 400);
    assert_eq!(error["position"], 16, "{error}");
    let (status, error) = json_get(addr, "/api/search?limit=100000");
    assert_eq!(status, 400);
    assert!(
        error["error"].as_str().unwrap_or("").contains("limit"),
        "{error}"
    );
    let deep = format!("{}x{}", "(".repeat(60), ")".repeat(60));
    let (status, error) = json_get(addr, &format!("/api/count?q={deep}"));
    assert_eq!(status, 400, "{error}");
    assert!(
        error["error"].as_str().unwrap_or("").contains("nested"),
        "{error}"
    );
    assert_eq!(json_get(addr, "/api/nothing").0, 404);

    // Live tail: a new event arrives as a server-sent event.
    let tail = tokio::task::spawn_blocking(move || {
        use std::io::{BufRead, BufReader, Write};
        let mut stream = std::net::TcpStream::connect(addr).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .expect("timeout");
        write!(
            stream,
            "GET /api/tail?q=refund HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {TOKEN}\r\n\r\n"
        )
        .expect("request");
        let reader = BufReader::new(stream);
        for line in reader.lines() {
            let line = line.expect("line");
            if let Some(data) = line.strip_prefix("data: ") {
                return data.to_owned();
            }
        }
        String::new()
    });
    // The tail only shows what is committed after it connects, so publish a
    // new refund every half second until one arrives.
    let mut tail = tail;
    let mut next = 100;
    let data = loop {
        let mut refund = events(next, 1, base);
        refund.events[0].body = "refund issued".into();
        publisher
            .publish(
                Route::Events(0),
                &[Message::new(codec::encode_event_batch(&refund))],
            )
            .await
            .expect("publish");
        next += 1;
        assert!(next < 200, "the tail never delivered");
        if let Ok(joined) = tokio::time::timeout(Duration::from_millis(500), &mut tail).await {
            break joined.expect("tail");
        }
    };
    let event: Value = serde_json::from_str(&data).expect("event JSON");
    assert_eq!(event["body"], "refund issued");

    // Metrics: 100 events, then the refunds published for the tail.
    let documents = |text: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix("loghaul_indexer_documents_total "))
            .and_then(|value| value.parse::<u64>().ok())
    };
    let (status, metrics) = http_get_with(
        addr,
        "/metrics",
        &[&format!("Authorization: Bearer {TOKEN}")],
    );
    assert_eq!(status, 200);
    for name in [
        "loghaul_indexer_documents_total ",
        "loghaul_indexer_commits_total",
        "loghaul_indexer_commit_seconds_total",
        "loghaul_indexer_lag_seconds",
        "loghaul_indexer_query_seconds_bucket{le=\"+Inf\"}",
        "loghaul_indexer_query_errors_total",
    ] {
        assert!(metrics.contains(name), "{name} missing from\n{metrics}");
    }

    let committed = documents(&metrics).expect("documents_total");
    assert!((101..200).contains(&committed), "{committed}");
    // A query over its time limit gets 503, and the server stays up.
    let hasty = Arc::new(
        ApiState::new(
            Arc::new(Searcher::new(dir.path(), 0)),
            stats.clone(),
            None,
            Arc::new(AtomicBool::new(true)),
        )
        .with_query_timeout(Duration::ZERO),
    );
    let (hasty_addr, hasty_server) =
        api::start("127.0.0.1:0".parse().expect("addr"), hasty, stop.clone())
            .await
            .expect("listening");
    let (status, body) = http_get(hasty_addr, "/api/search?q=serv*");
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("ran longer than"), "{body}");
    assert_eq!(http_get(hasty_addr, "/healthz").0, 200);

    stop.cancel();
    hasty_server.await.expect("join").expect("server");
    indexer.await.expect("join").expect("indexer");
    server.await.expect("join").expect("server");
    assert!(api::check_listen("0.0.0.0:7700".parse().expect("addr"), None).is_err());
    assert!(api::check_listen("0.0.0.0:7700".parse().expect("addr"), Some("t")).is_ok());
    assert!(api::check_listen("127.0.0.1:7700".parse().expect("addr"), None).is_ok());
}

/// Every bad request gets a JSON error that names what is wrong: times the
/// index cannot hold, numbers that are not, bytes that are not UTF-8, a
/// parameter given twice, nesting one level too deep, a wildcard too
/// complex for the automaton, and a URL longer than hyper takes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_are_json_and_name_their_cause() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store = ShardStore::open(dir.path(), 0, 20 << 20).expect("store");
    store
        .add_batch(&events(0, 20, 1_795_334_400_000_000_000))
        .expect("add");
    store.commit().expect("commit");
    store.close().expect("close");
    let state = Arc::new(ApiState::new(
        Arc::new(Searcher::new(dir.path(), 0)),
        Arc::new(IndexStats::default()),
        None,
        Arc::new(AtomicBool::new(true)),
    ));
    let stop = CancellationToken::new();
    let (addr, _) = api::start("127.0.0.1:0".parse().expect("addr"), state, stop.clone())
        .await
        .expect("listening");
    tokio::task::spawn_blocking(move || {
        let refused = |path: &str, status: u16, needle: &str| {
            let (got, body) = http_get(addr, path);
            assert_eq!(got, status, "{path}: {body}");
            let value: Value = serde_json::from_str(&body)
                .unwrap_or_else(|_| panic!("{path}: not JSON: {body:?}"));
            let error = value["error"].as_str().unwrap_or_default();
            assert!(error.contains(needle), "{path}: {error:?} lacks {needle:?}");
            value
        };
        refused("/api/count?from=9999-01-01T00:00:00Z", 400, "from:");
        refused("/api/count?to=-9999999999999", 400, "to:");
        refused("/api/count?since=1000000d", 400, "since:");
        refused("/api/count?since=1h&from=0", 400, "since or from");
        refused("/api/histogram?interval=1000000000d", 400, "interval");
        refused("/api/search?limit=-1", 400, "limit must be a whole number");
        refused(
            "/api/search?limit=5000",
            400,
            "limit must be between 1 and 1000",
        );
        refused(
            "/api/facets?field=host&limit=0",
            400,
            "limit must be between",
        );
        refused(
            "/api/context?id=x&before=abc",
            400,
            "before must be a whole number",
        );
        refused("/api/search?q=%FF%FE", 400, "q is not valid UTF-8");
        refused("/api/search?q=a&q=b", 400, "q is given more than once");
        refused("/api/search?q=%4", 400, "bad percent-escape");
        refused("/api/search?cursor=1700000000:abc", 400, "invalid cursor");
        refused("/api/search?limt=5", 400, "unknown parameter \"limt\"");
        refused("/api/tail?since=abc", 400, "takes no from, to or since");
        // A cursor is tied to the query it came from.
        let (_, page) = http_get(addr, "/api/search?q=payment&limit=3");
        let page: Value = serde_json::from_str(&page).expect("page");
        let cursor = page["next_cursor"].as_str().expect("a cursor").to_owned();
        refused(
            &format!("/api/search?q=order&limit=3&cursor={cursor}"),
            400,
            "belongs to another query",
        );
        let (status, _) = http_get(
            addr,
            &format!("/api/search?q=payment&limit=3&cursor={cursor}"),
        );
        assert_eq!(status, 200);
        // Exactly 32 levels pass; 33 are refused at the 33rd.
        let levels = |n: usize| format!("{}x{}", "(".repeat(n), ")".repeat(n));
        let (status, body) = http_get(addr, &format!("/api/count?q={}", encode(&levels(32))));
        assert_eq!(status, 200, "{body}");
        let deep = refused(
            &format!("/api/count?q={}", encode(&levels(33))),
            400,
            "nested too deeply",
        );
        assert_eq!(deep["position"], 32);
        // A wildcard within 128 bytes whose automaton is too big: our own
        // error, with the clause's position, never the regex engine's.
        let complex = format!("level:ERROR *a{}", "?".repeat(12));
        let error = refused(
            &format!("/api/count?q={}", encode(&complex)),
            400,
            "too complex",
        );
        assert_eq!(error["position"], 12);
        assert!(
            !error["error"]
                .as_str()
                .unwrap_or_default()
                .contains("states of")
        );
        // 100,000 characters: past hyper's URI limit, still a JSON answer.
        let long = "a".repeat(100_000);
        refused(&format!("/api/search?q={long}"), 414, "longer than");
        // The server is still well afterwards.
        let (status, body) = http_get(addr, "/api/count?q=payment");
        assert_eq!((status, body.as_str()), (200, "{\"count\":20}"));
        let (status, _) = http_get(addr, "/no/such/endpoint");
        assert_eq!(status, 404);
        // Another method than GET: a JSON 405.
        let mut stream = std::net::TcpStream::connect(addr).expect("connect");
        std::io::Write::write_all(
            &mut stream,
            format!("POST /api/search HTTP/1.0\r\nHost: {addr}\r\nContent-Length: 0\r\n\r\n")
                .as_bytes(),
        )
        .expect("send");
        let mut answer = String::new();
        std::io::Read::read_to_string(&mut stream, &mut answer).expect("answer");
        assert!(
            answer.starts_with("HTTP/1.0 405") || answer.starts_with("HTTP/1.1 405"),
            "{answer}"
        );
        assert!(
            answer.contains("{\"error\":\"the API is read-only"),
            "{answer}"
        );
        // A header over the limit: a JSON 431, not a 414.
        let mut stream = std::net::TcpStream::connect(addr).expect("connect");
        std::io::Write::write_all(
            &mut stream,
            format!(
                "GET /api/count HTTP/1.0\r\nHost: {addr}\r\nX-Big: {}\r\n\r\n",
                "b".repeat(70_000)
            )
            .as_bytes(),
        )
        .expect("send");
        let mut answer = String::new();
        std::io::Read::read_to_string(&mut stream, &mut answer).expect("answer");
        assert!(
            answer.starts_with("HTTP/1.1 431"),
            "{}",
            &answer[..answer.len().min(200)]
        );
        assert!(answer.contains("request header is longer"), "{answer}");
    })
    .await
    .expect("checks");
    stop.cancel();
}

/// DNS rebinding: a page whose own name now points at 127.0.0.1 sends its
/// name as the Host. Only IP addresses, localhost and the configured names
/// are answered; anything else gets 421 before the token is even looked at.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_for_foreign_host_names_get_421() {
    use std::io::{Read, Write};
    let dir = tempfile::tempdir().expect("tempdir");
    let state = Arc::new(
        ApiState::new(
            Arc::new(Searcher::new(dir.path(), 0)),
            Arc::new(IndexStats::default()),
            None,
            Arc::new(AtomicBool::new(true)),
        )
        .with_allowed_hosts(vec!["Logs.Example.com".into(), "*.corp.example".into()]),
    );
    let stop = CancellationToken::new();
    let (addr, _) = api::start("127.0.0.1:0".parse().expect("addr"), state, stop.clone())
        .await
        .expect("listening");
    let status = |host: &str, path: &str| {
        let request = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
        let address = addr;
        std::thread::spawn(move || {
            let mut stream = std::net::TcpStream::connect(address).expect("connect");
            stream.write_all(request.as_bytes()).expect("write");
            let mut answer = String::new();
            stream.read_to_string(&mut answer).expect("read");
            answer
        })
        .join()
        .expect("request")
    };
    let port = addr.port();
    for (host, wanted) in [
        (format!("127.0.0.1:{port}"), "200"),
        (format!("localhost:{port}"), "200"),
        ("app.localhost".to_owned(), "200"),
        (format!("[::1]:{port}"), "200"),
        ("10.1.2.3".to_owned(), "200"),
        ("logs.example.com".to_owned(), "200"),
        ("LOGS.EXAMPLE.COM.".to_owned(), "200"),
        ("eu.corp.example:443".to_owned(), "200"),
        ("attacker.example".to_owned(), "421"),
        (format!("attacker.example:{port}"), "421"),
        ("corp.example".to_owned(), "421"),
        ("evilcorp.example".to_owned(), "421"),
        ("logs.example.com.attacker.example".to_owned(), "421"),
    ] {
        for path in ["/api/count?q=x", "/", "/healthz"] {
            let answer = status(&host, path);
            let code = answer.split(' ').nth(1).unwrap_or_default();
            assert_eq!(code, wanted, "Host: {host} {path}: {answer}");
            if wanted == "421" {
                assert!(answer.contains("indexer.allowed_hosts"), "{answer}");
            }
        }
    }
    stop.cancel();
}
