//! Parser workers on the real RabbitMQ: three `loghaul parse` processes share
//! the raw queue, one is killed with SIGKILL mid-stream, and every record
//! still reaches the event queues. The two survivors must both have done a
//! share of the work. A message that is not a RawBatch goes to the
//! dead-letter queue with the reason.
#![allow(clippy::print_stdout)]

use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use loghaul_model::{EventId, FileIdentity, RawBatch, RawRecord, codec};
use loghaul_queue::{AmqpBroker, Broker, DEAD_LETTER_REASON_HEADER, Message, QueueSettings, Route};

const FILES: u64 = 24;
const BATCHES_PER_FILE: u64 = 40;
const RECORDS_PER_BATCH: u64 = 250;

fn write_config(dir: &std::path::Path, prefix: &str) -> std::path::PathBuf {
    let path = dir.join("loghaul.toml");
    std::fs::write(
        &path,
        format!(
            "data_dir = \"{data}\"\n[queue]\nkind = \"amqp\"\nurl = \"{url}\"\nprefix = \"{prefix}\"\nshards = 2\nprefetch = 4\n",
            data = dir.join("data").display(),
            url = loghaul_testkit::amqp_url(),
        ),
    )
    .expect("config");
    path
}

fn start_worker(config: &std::path::Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_loghaul"))
        .args(["--log-format", "json", "parse", "-c"])
        .arg(config)
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("loghaul parse starts")
}

fn raw_batch(file: u64, batch: u64) -> RawBatch {
    let identity = FileIdentity {
        device: 7,
        inode: 1000 + file,
        fingerprint: file * 7919,
    };
    let records = (0..RECORDS_PER_BATCH)
        .map(|index| {
            let line = batch * RECORDS_PER_BATCH + index;
            let text = format!(
                "2026-11-22 07:{:02}:{:02},{:03} INFO [worker-{file}] app.Service: request {line} of file {file} done in {} ms",
                line / 60 % 60,
                line % 60,
                line % 1000,
                line % 97
            );
            RawRecord::new(line * 200, text.into_bytes())
        })
        .collect();
    RawBatch {
        host: "scale-test".into(),
        source: format!("/var/log/app-{file}.log"),
        file: identity,
        format_hint: None,
        records,
        read_time_unix_nano: 1_795_334_400_000_000_000,
        timezone: Some("UTC".into()),
        service: Some("app".into()),
        source_name: None,
    }
}

/// The `batches` figure of a worker's final "parser totals" log line.
fn batches_done(stderr: &str) -> u64 {
    stderr
        .lines()
        .rev()
        .filter(|line| line.contains("parser totals"))
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter_map(|value| value["fields"]["batches"].as_u64())
        .next()
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_workers_one_killed_lose_nothing_and_share_the_load() {
    let dir = tempfile::tempdir().expect("tempdir");
    let prefix = loghaul_queue::contract::unique_prefix("parse-scale");
    let config = write_config(dir.path(), &prefix);
    let mut settings = QueueSettings::with_prefix(&prefix);
    settings.shards = 2;
    settings.prefetch = 64;
    let broker = AmqpBroker::new(&loghaul_testkit::amqp_url(), settings);
    broker.check().await.expect("RabbitMQ on 127.0.0.1:5672");

    // Every record the test expects, by event id.
    let mut expected = HashSet::new();
    let mut publisher = broker.publisher().await.expect("publisher");
    for batch in 0..BATCHES_PER_FILE {
        let mut messages = Vec::new();
        for file in 0..FILES {
            let raw = raw_batch(file, batch);
            for record in &raw.records {
                expected.insert(EventId::new(&raw.host, &raw.file, record.offset));
            }
            messages.push(Message::new(codec::encode_raw_batch(&raw)));
        }
        publisher
            .publish(Route::Raw, &messages)
            .await
            .expect("publish raw");
    }
    let total = expected.len();
    assert_eq!(total as u64, FILES * BATCHES_PER_FILE * RECORDS_PER_BATCH);

    let mut workers: Vec<Child> = (0..3).map(|_| start_worker(&config)).collect();

    let mut seen: HashMap<EventId, u32> = HashMap::new();
    let mut per_shard = [0u64; 2];
    let mut killed = false;
    let (sender, mut receiver) = tokio::sync::mpsc::channel(64);
    for shard in 0..2u32 {
        let mut consumer = broker
            .consumer(Route::Events(shard))
            .await
            .expect("consumer");
        let sender = sender.clone();
        tokio::spawn(async move {
            while let Ok(delivery) = consumer.next().await {
                let batch = codec::decode_event_batch(&delivery.payload).expect("event batch");
                if consumer.ack(&[delivery.tag]).await.is_err() {
                    break;
                }
                if sender.send((shard, batch)).await.is_err() {
                    break;
                }
            }
        });
    }
    drop(sender);
    let deadline = Instant::now() + Duration::from_secs(240);
    while expected.iter().any(|id| !seen.contains_key(id)) {
        assert!(
            Instant::now() < deadline,
            "timed out: {} of {total} seen",
            seen.len()
        );
        let Ok(Some((shard, batch))) =
            tokio::time::timeout(Duration::from_secs(5), receiver.recv()).await
        else {
            continue;
        };
        for event in batch.events {
            assert_eq!(event.file.shard(2), shard, "an event on the wrong shard");
            assert!(event.parse_error.is_none(), "{:?}", event.parse_error);
            per_shard[shard as usize] += 1;
            *seen.entry(event.id).or_default() += 1;
        }
        if !killed && seen.len() >= total / 4 {
            workers[0].kill().expect("SIGKILL");
            workers[0].wait().expect("reap");
            killed = true;
            println!("killed worker 0 after {} of {total} records", seen.len());
        }
    }
    assert!(killed, "the kill happened mid-stream");
    let missing = expected.iter().filter(|id| !seen.contains_key(id)).count();
    let duplicates: u32 = seen.values().map(|count| count - 1).sum();
    let unexpected = seen.keys().filter(|id| !expected.contains(id)).count();

    // Stop the survivors cleanly and read what each did.
    let mut shares = Vec::new();
    for worker in workers.iter_mut().skip(1) {
        let pid = worker.id().to_string();
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill");
        worker.wait().expect("survivor exits");
        let mut stderr = String::new();
        if let Some(mut pipe) = worker.stderr.take() {
            pipe.read_to_string(&mut stderr).expect("stderr");
        }
        shares.push(batches_done(&stderr));
    }
    println!(
        "{total} records, {missing} missing, {duplicates} duplicates (redelivered after the kill), shards {per_shard:?}, survivor batches {shares:?}"
    );
    broker.delete_topology().await.ok();
    assert_eq!(missing, 0);
    assert_eq!(unexpected, 0);
    let batches = FILES * BATCHES_PER_FILE;
    assert!(
        shares.iter().all(|share| *share >= batches / 10),
        "each survivor parsed at least a tenth of {batches} batches: {shares:?}"
    );
    assert!(
        per_shard.iter().all(|count| *count > 0),
        "both shards got events"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undecodable_messages_go_to_the_dead_letter_queue_with_the_reason() {
    let dir = tempfile::tempdir().expect("tempdir");
    let prefix = loghaul_queue::contract::unique_prefix("parse-dead");
    let config = write_config(dir.path(), &prefix);
    let mut settings = QueueSettings::with_prefix(&prefix);
    settings.shards = 2;
    let broker = AmqpBroker::new(&loghaul_testkit::amqp_url(), settings);
    broker.check().await.expect("RabbitMQ");
    let mut publisher = broker.publisher().await.expect("publisher");
    let good = raw_batch(1, 0);
    publisher
        .publish(
            Route::Raw,
            &[
                Message::new(b"{\"not\": \"a batch\"}".to_vec()),
                Message::new(codec::encode_raw_batch(&good)),
                Message::new(b"LH\x01\x09future".to_vec()),
            ],
        )
        .await
        .expect("publish");
    let mut worker = start_worker(&config);
    let mut dead = broker.consumer(Route::Dead).await.expect("dead consumer");
    let mut reasons = Vec::new();
    for _ in 0..2 {
        let delivery = tokio::time::timeout(Duration::from_secs(60), dead.next())
            .await
            .expect("a dead letter within 60 s")
            .expect("delivery");
        reasons.push(delivery.headers[DEAD_LETTER_REASON_HEADER].clone());
        dead.ack(&[delivery.tag]).await.expect("ack");
    }
    let mut events = broker
        .consumer(Route::Events(good.file.shard(2)))
        .await
        .expect("events consumer");
    let delivery = tokio::time::timeout(Duration::from_secs(60), events.next())
        .await
        .expect("events within 60 s")
        .expect("delivery");
    let batch = codec::decode_event_batch(&delivery.payload).expect("events");
    assert_eq!(batch.events.len() as u64, RECORDS_PER_BATCH);
    Command::new("kill")
        .args(["-TERM", &worker.id().to_string()])
        .status()
        .expect("kill");
    let status = worker.wait().expect("exit");
    broker.delete_topology().await.ok();
    println!("dead-letter reasons: {reasons:?}");
    assert!(reasons[0].contains("not a loghaul message"), "{reasons:?}");
    assert!(
        reasons[1].contains("version 9 is not supported"),
        "{reasons:?}"
    );
    assert!(status.success(), "SIGTERM exits 0: {status}");
}
