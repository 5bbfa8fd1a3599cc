//! The indexer on a really full disk (its data_dir on a small tmpfs): it
//! never stops. A failed write gives back what it held to the queue, rolls
//! the store back to its last commit, pauses with a WARN and a metric, and
//! once space returns every event is indexed exactly once.
#![allow(clippy::print_stdout)]

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use loghaul_durable::{Store, retries};
use loghaul_indexer::store::{ShardStore, read_all_events};
use loghaul_indexer::worker::{self, CommitPolicy, IndexStats};
use loghaul_model::{Event, EventBatch, EventId, FileIdentity, Resource, Severity, codec};
use loghaul_queue::{Broker, MemoryBroker, Message, QueueSettings, Route};
use loghaul_testkit::Tmpfs;
use tokio_util::sync::CancellationToken;

const PER_BATCH: u64 = 2_000;
const BATCHES: u64 = 20;

/// Batch `batch`: 2,000 events of one file, spread over two days so a commit
/// touches two day indexes (a failure can fall between them).
fn batch(batch: u64) -> EventBatch {
    let file = FileIdentity {
        device: 9,
        inode: batch,
        fingerprint: 7,
    };
    // 2026-11-29T23:00:00Z: the batch crosses midnight.
    let base = 1_796_079_600_000_000_000i64;
    EventBatch {
        events: (0..PER_BATCH)
            .map(|index| Event {
                id: EventId::new("full-host", &file, index * 120),
                timestamp_unix_nano: base + index as i64 * 3_600_000_000,
                observed_timestamp_unix_nano: base,
                severity: Severity {
                    text: Some("INFO".into()),
                    number: 9,
                },
                body: format!(
                    "batch {batch} line {index} GET /api/v1/orders/{index} 200 with a body long enough to take room"
                ),
                attributes: Default::default(),
                resource: Resource {
                    host: "full-host".into(),
                    source: "/var/log/full.log".into(),
                    service: None,
                    source_name: None,
                },
                file,
                offset: index * 120,
                parse_error: None,
            })
            .collect(),
    }
}

async fn publish(broker: &dyn Broker, range: std::ops::Range<u64>) {
    let mut publisher = broker.publisher().await.expect("publisher");
    for number in range {
        publisher
            .publish(
                Route::Events(0),
                &[Message::new(codec::encode_event_batch(&batch(number)))],
            )
            .await
            .expect("publish");
    }
}

async fn wait_until(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_pauses_the_indexer_and_loses_and_doubles_nothing() {
    let tmpfs = Tmpfs::mount("24m");
    let data_dir = tmpfs.path().join("data");
    let broker: Arc<dyn Broker> = Arc::new(MemoryBroker::new(QueueSettings::with_prefix("full")));
    let store = Arc::new(tokio::sync::Mutex::new(
        ShardStore::open(&data_dir, 0, 20 << 20).expect("store"),
    ));
    let stats = Arc::new(IndexStats::default());
    let stop = CancellationToken::new();
    let indexer = tokio::spawn(worker::run(
        broker.clone(),
        0,
        store.clone(),
        CommitPolicy {
            interval: Duration::from_millis(100),
            documents: 100_000,
            retention: None,
        },
        stats.clone(),
        Arc::new(AtomicBool::new(false)),
        stop.clone(),
    ));

    publish(&*broker, 0..2).await;
    wait_until(
        "the first batches are committed",
        Duration::from_secs(60),
        || stats.documents.load(Ordering::Relaxed) == 2 * PER_BATCH,
    )
    .await;

    let ballast = tmpfs.fill();
    let before = retries(Store::Index) + retries(Store::Dedup);
    publish(&*broker, 2..BATCHES).await;
    wait_until(
        "a write fails for lack of space",
        Duration::from_secs(60),
        || retries(Store::Index) + retries(Store::Dedup) > before || indexer.is_finished(),
    )
    .await;
    if indexer.is_finished() {
        panic!("the indexer stopped on a full disk: {:?}", indexer.await);
    }
    // Still paused, still running, nothing more committed.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(!indexer.is_finished(), "the indexer stopped on a full disk");
    let mut metrics = String::new();
    loghaul_durable::render_metrics(&mut metrics);
    assert!(
        metrics.contains("loghaul_disk_full_paused{store=\"index\"} 1")
            || metrics.contains("loghaul_disk_full_paused{store=\"dedup\"} 1"),
        "{metrics}"
    );
    let while_full = stats.documents.load(Ordering::Relaxed);

    std::fs::remove_file(ballast).expect("space returns");
    wait_until(
        "every event is committed once space returned",
        Duration::from_secs(120),
        || stats.documents.load(Ordering::Relaxed) == BATCHES * PER_BATCH,
    )
    .await;
    stop.cancel();
    indexer
        .await
        .expect("joined")
        .expect("the indexer ends cleanly");

    let events = read_all_events(&data_dir, 0).expect("read back");
    let ids: HashSet<EventId> = events.iter().map(|event| event.id).collect();
    println!(
        "full disk: {} documents committed before space returned, {} in all, {} distinct, {} retries",
        while_full,
        events.len(),
        ids.len(),
        retries(Store::Index) + retries(Store::Dedup) - before
    );
    assert_eq!(ids.len() as u64, BATCHES * PER_BATCH, "every event indexed");
    assert_eq!(events.len(), ids.len(), "no event indexed twice");
    drop(store);
}
