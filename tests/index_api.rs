//! Two `loghaul index` shards on the real RabbitMQ: events routed by file go
//! to their shard's queue, and shard 0, given shard 1's URL, answers for
//! both. Also measured and printed: how long after publishing an event is
//! searchable. And the start-up refusal of an open listen address without a
//! token.
#![allow(clippy::print_stdout)]

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use loghaul_model::{Event, EventBatch, EventId, FileIdentity, Resource, Severity, codec};
use loghaul_queue::{AmqpBroker, Broker, Message, QueueSettings, Route};
use loghaul_testkit::http_get;
use serde_json::Value;

const TOKEN: &str = "shard-token";

fn batch(file: u64, count: u64) -> EventBatch {
    let identity = FileIdentity {
        device: 4,
        inode: 900 + file,
        fingerprint: file,
    };
    EventBatch {
        events: (0..count)
            .map(|index| Event {
                id: EventId::new("shards", &identity, index * 64),
                // 2026-11-22T00:00:00Z plus a minute per record.
                timestamp_unix_nano: 1_795_305_600_000_000_000 + index as i64 * 60_000_000_000,
                observed_timestamp_unix_nano: 1_795_305_600_000_000_000,
                severity: Severity {
                    text: Some(if index % 4 == 0 { "WARN" } else { "INFO" }.into()),
                    number: if index % 4 == 0 { 13 } else { 9 },
                },
                body: format!("job {index} of file {file} finished"),
                attributes: serde_json::Map::new(),
                resource: Resource {
                    host: format!("host-{file}").into(),
                    source: "/var/log/jobs.log".into(),
                    service: None,
                    source_name: None,
                },
                file: identity,
                offset: index * 64,
                parse_error: None,
            })
            .collect(),
    }
}

fn start(config: &std::path::Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_loghaul"))
        .args(["index", "-c"])
        .arg(config)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("loghaul index starts")
}

fn get(addr: SocketAddr, path: &str) -> (u16, Value) {
    let (status, body) =
        loghaul_testkit::http_get_with(addr, path, &[&format!("Authorization: Bearer {TOKEN}")]);
    (
        status,
        serde_json::from_str(&body).unwrap_or(Value::String(body)),
    )
}

fn stop(child: &mut Child) {
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(child.wait().expect("exit").success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_shards_answer_as_one_and_fresh_events_are_searchable() {
    let dir = tempfile::tempdir().expect("tempdir");
    let prefix = loghaul_queue::contract::unique_prefix("shards");
    let listen = [
        loghaul_testkit::free_local_addr(),
        loghaul_testkit::free_local_addr(),
    ];
    let mut configs = Vec::new();
    for shard in 0..2 {
        let peers = if shard == 0 {
            format!("shard_urls = [\"http://{}\"]\n", listen[1])
        } else {
            String::new()
        };
        let path = dir.path().join(format!("shard{shard}.toml"));
        std::fs::write(
            &path,
            format!(
                "data_dir = \"{}\"\n[queue]\nkind = \"amqp\"\nurl = \"{}\"\nprefix = \"{prefix}\"\nshards = 2\n[indexer]\nshard = {shard}\nlisten = \"{}\"\ntoken = \"{TOKEN}\"\ncommit_interval = \"200ms\"\nwriter_heap = \"32MiB\"\n{peers}",
                dir.path().join(format!("data{shard}")).display(),
                loghaul_testkit::amqp_url(),
                listen[shard]
            ),
        )
        .expect("config");
        configs.push(path);
    }
    let mut shards: Vec<Child> = configs.iter().map(|config| start(config)).collect();
    for addr in listen {
        assert!(
            loghaul_testkit::wait_for_port(addr, Duration::from_secs(30)),
            "shard API on {addr}"
        );
    }

    let mut settings = QueueSettings::with_prefix(&prefix);
    settings.shards = 2;
    let broker = AmqpBroker::new(&loghaul_testkit::amqp_url(), settings);
    let mut publisher = broker.publisher().await.expect("publisher");

    // Freshness: one event, published, then polled for.
    let probe = batch(100, 1);
    let probe_id = probe.events[0].id.to_string();
    let probe_shard = probe.events[0].file.shard(2);
    let sent = Instant::now();
    publisher
        .publish(
            Route::Events(probe_shard),
            &[Message::new(codec::encode_event_batch(&probe))],
        )
        .await
        .expect("publish");
    loop {
        let (_, page) = get(listen[0], &format!("/api/search?q=id:{probe_id}&limit=1"));
        if page["events"]
            .as_array()
            .is_some_and(|events| !events.is_empty())
        {
            break;
        }
        assert!(
            sent.elapsed() < Duration::from_secs(30),
            "never searchable: {page}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    println!(
        "an event on shard {probe_shard} was searchable through shard 0 {} ms after publishing",
        sent.elapsed().as_millis()
    );

    // Six files of 40 events, spread over the two shards by file identity.
    let mut per_shard = [0u64; 2];
    for file in 0..6 {
        let events = batch(file, 40);
        let shard = events.events[0].file.shard(2);
        per_shard[shard as usize] += 40;
        publisher
            .publish(
                Route::Events(shard),
                &[Message::new(codec::encode_event_batch(&events))],
            )
            .await
            .expect("publish");
    }
    assert!(
        per_shard.iter().all(|count| *count > 0),
        "both shards used: {per_shard:?}"
    );
    let total = 6 * 40 + 1;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (_, count) = get(listen[0], "/api/count");
        if count["count"] == total {
            break;
        }
        assert!(Instant::now() < deadline, "count through shard 0: {count}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (_, local_only) = get(listen[0], "/api/count?local=1");
    assert!(local_only["count"].as_u64().unwrap_or(0) < total);

    // Merged pages: every event once, newest first.
    let mut seen = std::collections::HashSet::new();
    let mut last = i64::MAX;
    let mut cursor = String::new();
    loop {
        let (status, page) = get(listen[0], &format!("/api/search?limit=17{cursor}"));
        assert_eq!(status, 200, "{page}");
        for event in page["events"].as_array().expect("events") {
            let timestamp = event["timestamp_unix_nano"].as_i64().expect("timestamp");
            assert!(timestamp <= last, "newest first across shards");
            last = timestamp;
            assert!(
                seen.insert(event["id"].as_str().unwrap_or("").to_owned()),
                "once"
            );
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => break,
        }
    }
    assert_eq!(seen.len() as u64, total);

    // Sums of histograms and facets; context of an event on the other shard.
    let (_, histogram) = get(
        listen[0],
        "/api/histogram?from=2026-11-22T00:00:00Z&to=2026-11-22T01:00:00Z&interval=10m",
    );
    let counts: Vec<u64> = histogram["buckets"]
        .as_array()
        .expect("buckets")
        .iter()
        .map(|bucket| bucket["count"].as_u64().unwrap_or(0))
        .collect();
    assert_eq!(counts, [61, 60, 60, 60, 0, 0]);
    let (_, facets) = get(listen[0], "/api/facets?field=level");
    assert_eq!(facets["values"][0]["value"], "INFO");
    assert_eq!(facets["values"][0]["count"], 180);
    assert_eq!(facets["values"][1]["count"], 61);
    let remote_file = (0..6)
        .map(|file| batch(file, 40))
        .find(|events| events.events[0].file.shard(2) == 1)
        .expect("a file on shard 1");
    let (status, context) = get(
        listen[0],
        &format!(
            "/api/context?id={}&before=2&after=2",
            remote_file.events[10].id
        ),
    );
    assert_eq!(status, 200, "{context}");
    assert_eq!(context["before"].as_array().map(Vec::len), Some(2));
    assert_eq!(context["event"]["offset"], 640);

    // A malformed query: 400 with its position, through the real server.
    let (status, error) = get(listen[0], "/api/search?q=job%20AND%20%22unclosed");
    assert_eq!(status, 400);
    assert_eq!(error["position"], 8, "{error}");
    assert_eq!(
        http_get(listen[0], "/api/count").0,
        401,
        "the token guards the API"
    );
    assert_eq!(http_get(listen[0], "/healthz").0, 200);
    let cli = |token: Option<&str>| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_loghaul"));
        command.args([
            "query",
            "--count",
            "--server",
            &format!("http://{}", listen[0]),
        ]);
        if let Some(token) = token {
            command.args(["--token", token]);
        }
        command
            .env_remove("LOGHAUL_TOKEN")
            .output()
            .expect("query runs")
    };
    let counted = cli(Some(TOKEN));
    assert_eq!(
        String::from_utf8_lossy(&counted.stdout).trim(),
        total.to_string()
    );
    let refused = cli(None);
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("wants a token"));

    // The live tail of shard 0 also carries what shard 1 indexes.
    let mut follow = Command::new(env!("CARGO_BIN_EXE_loghaul"))
        .args(["query", "-f", "-n", "1", "--token", TOKEN, "--server"])
        .arg(format!("http://{}", listen[0]))
        .arg("latecomer")
        .stdout(Stdio::piped())
        .spawn()
        .expect("follow");
    let stdout = follow.stdout.take().expect("stdout");
    let (sender, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    let mut attempt = 0u64;
    let line = loop {
        let mut late = batch(200 + attempt, 1);
        late.events[0].body = format!("latecomer {attempt}");
        let shard = late.events[0].file.shard(2);
        if shard == 1 {
            publisher
                .publish(
                    Route::Events(1),
                    &[Message::new(codec::encode_event_batch(&late))],
                )
                .await
                .expect("publish");
        }
        attempt += 1;
        assert!(
            attempt < 200,
            "shard 1's event never reached shard 0's tail"
        );
        if let Ok(line) = lines.recv_timeout(Duration::from_millis(300)) {
            break line;
        }
    };
    assert!(line.contains("latecomer"), "{line}");
    let _ = follow.kill();
    let _ = follow.wait();

    for shard in &mut shards {
        stop(shard);
    }
    broker.delete_topology().await.ok();
}

#[test]
fn an_open_listen_address_without_a_token_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("loghaul.toml");
    std::fs::write(
        &config,
        format!(
            "data_dir = \"{}\"\n[queue]\nkind = \"amqp\"\nurl = \"{}\"\n[indexer]\nlisten = \"0.0.0.0:7799\"\n",
            dir.path().display(),
            loghaul_testkit::amqp_url()
        ),
    )
    .expect("config");
    let output = Command::new(env!("CARGO_BIN_EXE_loghaul"))
        .args(["index", "-c"])
        .arg(&config)
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("indexer.token"), "{stderr}");
}
