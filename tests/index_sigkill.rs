//! `loghaul index` on the real RabbitMQ, killed with SIGKILL mid-stream and
//! restarted: every event ends up in the index exactly once. The stream also
//! carries upstream repeats (a batch published twice, and one overlapping
//! another), as a restarted shipper or parser produces them.
#![allow(clippy::print_stdout)]

use std::collections::{HashMap, HashSet};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use loghaul_model::{Event, EventBatch, EventId, FileIdentity, Resource, Severity, codec};
use loghaul_queue::{AmqpBroker, Broker, Message, QueueSettings, Route};

const FILES: u64 = 8;
const BATCHES_PER_FILE: u64 = 60;
const EVENTS_PER_BATCH: u64 = 200;

fn event_batch(file: u64, first: u64, count: u64) -> EventBatch {
    let identity = FileIdentity {
        device: 3,
        inode: 500 + file,
        fingerprint: file + 1,
    };
    let events = (first..first + count)
        .map(|record| Event {
            id: EventId::new("index-test", &identity, record * 120),
            // Spread over two UTC days.
            timestamp_unix_nano: (1_795_305_000 + record as i64 * 7) * 1_000_000_000,
            observed_timestamp_unix_nano: 1_795_334_400_000_000_000,
            severity: Severity {
                text: Some("INFO".into()),
                number: 9,
            },
            body: format!("request {record} of file {file} served"),
            attributes: serde_json::Map::new(),
            resource: Resource {
                host: "index-test".into(),
                source: format!("/var/log/app-{file}.log").into(),
                service: Some("app".into()),
                source_name: None,
            },
            file: identity,
            offset: record * 120,
            parse_error: None,
        })
        .collect();
    EventBatch { events }
}

fn start_indexer(config: &std::path::Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_loghaul"))
        .args(["index", "-c"])
        .arg(config)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("loghaul index starts")
}

fn indexed(data: &std::path::Path) -> Vec<Event> {
    // A reader beside the writer; a day index being created may not be
    // readable for a moment.
    loghaul_indexer::store::read_all_events(data, 0).unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_stream_gives_zero_missing_and_zero_duplicates() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let prefix = loghaul_queue::contract::unique_prefix("index-kill");
    let config = dir.path().join("loghaul.toml");
    std::fs::write(
        &config,
        format!(
            "data_dir = \"{}\"\n[queue]\nkind = \"amqp\"\nurl = \"{}\"\nprefix = \"{prefix}\"\nprefetch = 8\n[indexer]\ncommit_interval = \"300ms\"\ncommit_docs = 2000\nwriter_heap = \"32MiB\"\n",
            data.display(),
            loghaul_testkit::amqp_url()
        ),
    )
    .expect("config");
    let broker = AmqpBroker::new(
        &loghaul_testkit::amqp_url(),
        QueueSettings::with_prefix(&prefix),
    );
    broker.check().await.expect("RabbitMQ on 127.0.0.1:5672");

    let mut expected = HashSet::new();
    let mut messages = Vec::new();
    for batch in 0..BATCHES_PER_FILE {
        for file in 0..FILES {
            let events = event_batch(file, batch * EVENTS_PER_BATCH, EVENTS_PER_BATCH);
            for event in &events.events {
                expected.insert(event.id);
            }
            messages.push(Message::new(codec::encode_event_batch(&events)));
        }
    }
    // Upstream repeats: one batch again whole, one overlapping two batches.
    messages.push(Message::new(codec::encode_event_batch(&event_batch(
        2,
        0,
        EVENTS_PER_BATCH,
    ))));
    messages.push(Message::new(codec::encode_event_batch(&event_batch(
        5,
        EVENTS_PER_BATCH / 2,
        EVENTS_PER_BATCH,
    ))));
    let mut publisher = broker.publisher().await.expect("publisher");
    for chunk in messages.chunks(50) {
        publisher
            .publish(Route::Events(0), chunk)
            .await
            .expect("publish");
    }
    let total = expected.len();

    let mut indexer = start_indexer(&config);
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        assert!(Instant::now() < deadline, "no progress before the kill");
        let count = indexed(&data).len();
        if count >= total / 3 {
            println!("SIGKILL after {count} of {total} events were committed");
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    indexer.kill().expect("SIGKILL");
    indexer.wait().expect("reap");

    let mut indexer = start_indexer(&config);
    let events = loop {
        assert!(Instant::now() < deadline, "not all events indexed in time");
        let events = indexed(&data);
        let unique: HashSet<EventId> = events.iter().map(|event| event.id).collect();
        if unique.len() >= total {
            break events;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    // Let it finish the queue, then stop it cleanly.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    Command::new("kill")
        .args(["-TERM", &indexer.id().to_string()])
        .status()
        .expect("kill");
    let status = indexer.wait().expect("exit");
    let events = {
        let after = indexed(&data);
        if after.len() >= events.len() {
            after
        } else {
            events
        }
    };
    broker.delete_topology().await.ok();

    let mut seen: HashMap<EventId, u32> = HashMap::new();
    for event in &events {
        *seen.entry(event.id).or_default() += 1;
    }
    let missing = expected.iter().filter(|id| !seen.contains_key(id)).count();
    let duplicates: u32 = seen.values().map(|count| count - 1).sum();
    let unexpected = seen.keys().filter(|id| !expected.contains(id)).count();
    println!(
        "{total} events: {missing} missing, {duplicates} duplicates, {unexpected} unexpected; {} documents",
        events.len()
    );
    assert!(status.success(), "SIGTERM exits 0: {status}");
    assert_eq!(missing, 0);
    assert_eq!(duplicates, 0);
    assert_eq!(unexpected, 0);
}
