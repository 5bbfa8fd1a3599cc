//! The indexer's queue loop, behind `loghaul index` and `loghaul run`.
//!
//! It consumes `<prefix>.events.<shard>`, adds each batch's new events to the
//! current generation, and commits on `commit_interval`, on `commit_docs`,
//! or before it would hold `prefetch` unacknowledged deliveries. Deliveries
//! are acknowledged only after the commit that holds them, so a crash at any
//! point loses nothing and, thanks to the dedup ranges, duplicates nothing.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use loghaul_durable::{Backoff, DiskFull, Store};
use loghaul_model::codec;
use loghaul_queue::{AckTag, Broker, QueueError, Route};
use tokio::sync::Mutex;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::store::{ShardStore, StoreError};

/// Counters of the indexer, readable while it runs.
#[derive(Debug, Default)]
pub struct IndexStats {
    /// Documents committed.
    pub documents: AtomicU64,
    /// Events skipped as already indexed.
    pub duplicates: AtomicU64,
    /// Commits made.
    pub commits: AtomicU64,
    /// Total commit time, in microseconds.
    pub commit_micros: AtomicU64,
    /// Messages dead-lettered.
    pub dead_lettered: AtomicU64,
    /// Generation of the last commit (before the first, the store's at
    /// open: see `ShardStore::generation`).
    pub generation: AtomicU64,
    /// Newest read time (ns) among committed events, for lag.
    pub last_observed_nanos: AtomicU64,
    /// Events already past retention when they arrived (an import of old
    /// files): indexed, and kept for the retention period from arrival.
    pub expired_on_arrival: AtomicU64,
}

/// Warns once per (host, source) about events already past retention on
/// arrival, and counts them.
#[derive(Debug, Default)]
struct ArrivalCheck {
    warned: std::collections::HashSet<(String, String)>,
}

impl ArrivalCheck {
    /// Most sources remembered; past it the set starts again (a source may
    /// then be warned about once more).
    const MAX_SOURCES: usize = 10_000;

    /// Counts `batch`'s events older than `retention` at `now`; returns
    /// the (host, source) pairs warned about for the first time.
    fn check(
        &mut self,
        batch: &loghaul_model::EventBatch,
        retention: Duration,
        now: i64,
        stats: &IndexStats,
    ) -> Vec<(String, String)> {
        let mut warned_now = Vec::new();
        let cutoff = now.saturating_sub(i64::try_from(retention.as_nanos()).unwrap_or(i64::MAX));
        let mut expired = 0u64;
        for event in &batch.events {
            if event.timestamp_unix_nano >= cutoff {
                continue;
            }
            expired += 1;
            let key = (
                event.resource.host.to_string(),
                event.resource.source.to_string(),
            );
            if !self.warned.contains(&key) {
                if self.warned.len() >= Self::MAX_SOURCES {
                    self.warned.clear();
                }
                warn!(
                    host = %key.0,
                    source = %key.1,
                    timestamp = %loghaul_model::time::UtcDateTime::from_unix_nano(event.timestamp_unix_nano).date_string(),
                    retention_days = retention.as_secs() / 86_400,
                    "events older than retention arrived: indexed and kept for the retention period from now (shown once per source)"
                );
                self.warned.insert(key.clone());
                warned_now.push(key);
            }
        }
        stats
            .expired_on_arrival
            .fetch_add(expired, Ordering::Relaxed);
        warned_now
    }
}

/// When to commit.
#[derive(Debug, Clone, Copy)]
pub struct CommitPolicy {
    /// At least this often while something is pending.
    pub interval: Duration,
    /// After this many documents.
    pub documents: u64,
    /// Days whose events are all older than this, and that were last
    /// written longer ago than this, are deleted (checked every minute).
    pub retention: Option<Duration>,
}

/// Why the indexer stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    /// The queue failed in a way retrying does not fix.
    #[error("queue: {0}")]
    Queue(#[from] QueueError),
    /// The index failed.
    #[error("index: {0}")]
    Store(#[from] StoreError),
}

/// How one spell of consuming ended.
enum Ended {
    /// Shut down; what was pending is committed and acknowledged (or, on a
    /// full disk, left in the queue for the next start).
    Shutdown,
    /// A write failed for lack of space. The consumer is gone, so the queue
    /// redelivers what it held; the store must be reopened.
    DiskFull(StoreError),
}

/// The pauses of the two stores the indexer writes.
struct Pauses {
    index: DiskFull,
    dedup: DiskFull,
}

impl Pauses {
    fn hit(&mut self, error: &StoreError) {
        match error.store() {
            Store::Dedup => self.dedup.hit(error),
            _ => self.index.hit(error),
        }
    }

    fn cleared(&mut self) {
        self.index.cleared();
        self.dedup.cleared();
    }
}

/// Runs until `shutdown`, then commits what is pending and acknowledges it.
///
/// A full disk never stops it: the deliveries not committed go back to the
/// queue, the store rolls back to its last commit, and it waits (WARN,
/// `loghaul_disk_full_retries_total{store="index"|"dedup"}`) until the
/// store opens again, then consumes again.
pub async fn run(
    broker: Arc<dyn Broker>,
    shard: u32,
    store: Arc<Mutex<ShardStore>>,
    policy: CommitPolicy,
    stats: Arc<IndexStats>,
    ready: Arc<std::sync::atomic::AtomicBool>,
    shutdown: CancellationToken,
) -> Result<(), IndexError> {
    let root = store.lock().await.root().to_owned();
    let mut indexer = Indexer {
        root,
        broker,
        shard,
        store: store.clone(),
        policy,
        stats,
        ready: ready.clone(),
        shutdown: shutdown.clone(),
        arrivals: ArrivalCheck::default(),
        pauses: Pauses {
            index: DiskFull::new(Store::Index),
            dedup: DiskFull::new(Store::Dedup),
        },
    };
    let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(5));
    info!(shard, "indexer consuming");
    // Not ready from the moment a drain starts: an orchestrator stops
    // sending queries while what is pending is committed.
    tokio::spawn({
        let (ready, shutdown) = (ready.clone(), shutdown.clone());
        async move {
            shutdown.cancelled().await;
            ready.store(false, Ordering::Relaxed);
        }
    });
    loop {
        let Ended::DiskFull(error) = indexer.consume().await? else {
            break;
        };
        indexer.pauses.hit(&error);
        // Roll back to the last commit; opening writes too, so it may have
        // to wait for space as well.
        loop {
            tokio::select! {
                biased;
                () = shutdown.cancelled() => {
                    ready.store(false, Ordering::Relaxed);
                    info!(shard, "indexer stopped while the disk was full; what was not committed stays queued");
                    return Ok(());
                }
                () = tokio::time::sleep(backoff.next_delay()) => {}
            }
            let reopened = {
                let mut guard = store.lock().await;
                tokio::task::block_in_place(|| guard.reopen())
            };
            match reopened {
                Ok(()) => break,
                Err(error) if error.is_disk_full_at(&indexer.root) => indexer.pauses.hit(&error),
                Err(error) => return Err(error.into()),
            }
        }
    }
    ready.store(false, Ordering::Relaxed);
    info!(shard, "indexer stopped");
    Ok(())
}

/// What one shard's indexer works with.
struct Indexer {
    broker: Arc<dyn Broker>,
    shard: u32,
    store: Arc<Mutex<ShardStore>>,
    policy: CommitPolicy,
    stats: Arc<IndexStats>,
    ready: Arc<std::sync::atomic::AtomicBool>,
    shutdown: CancellationToken,
    arrivals: ArrivalCheck,
    pauses: Pauses,
    /// The shard's directory, to ask its file system for space.
    root: std::path::PathBuf,
}

impl Indexer {
    /// Consumes until shutdown or until a write fails for lack of space.
    async fn consume(&mut self) -> Result<Ended, IndexError> {
        let Indexer {
            broker,
            shard,
            store,
            policy,
            stats,
            ready,
            shutdown,
            arrivals,
            pauses,
            root,
        } = self;
        let (shard, policy) = (*shard, *policy);
        let mut consumer = broker.consumer(Route::Events(shard)).await?;
        ready.store(!shutdown.is_cancelled(), Ordering::Relaxed);
        let mut next_retention = Instant::now();
        // Commit before holding as many deliveries as the consumer may.
        let max_held = usize::from(broker.settings().prefetch.max(2)) - 1;
        let mut held: Vec<AckTag> = Vec::new();
        let mut first_pending: Option<Instant> = None;
        let mut pending_observed = 0i64;
        loop {
            let deadline = first_pending.map(|since| since + policy.interval);
            let delivery = tokio::select! {
                biased;
                () = shutdown.cancelled() => break,
                () = sleep_until(deadline) => None,
                delivery = consumer.next() => Some(delivery?),
            };
            if let Some(delivery) = delivery {
                match codec::decode_event_batch(&delivery.payload) {
                    Ok(batch) => {
                        if let Some(retention) = policy.retention {
                            arrivals.check(
                                &batch,
                                retention,
                                loghaul_model::time::now_unix_nano(),
                                stats,
                            );
                        }
                        if let Some(observed) = batch
                            .events
                            .iter()
                            .map(|event| event.observed_timestamp_unix_nano)
                            .max()
                        {
                            pending_observed = pending_observed.max(observed);
                        }
                        let mut guard = store.lock().await;
                        let before = guard.skipped();
                        let added = match tokio::task::block_in_place(|| guard.add_batch(&batch)) {
                            Ok(added) => added,
                            Err(error) if error.is_disk_full_at(root) => {
                                return Ok(Ended::DiskFull(error));
                            }
                            Err(error) => return Err(error.into()),
                        };
                        let skipped = guard.skipped() - before;
                        drop(guard);
                        stats.duplicates.fetch_add(skipped, Ordering::Relaxed);
                        debug!(added, skipped, "batch added");
                        held.push(delivery.tag);
                        first_pending.get_or_insert_with(Instant::now);
                    }
                    Err(error) => {
                        warn!(%error, "undecodable event batch: dead-lettered");
                        consumer.dead_letter(delivery, &error.to_string()).await?;
                        stats.dead_lettered.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            if Instant::now() >= next_retention {
                next_retention = Instant::now() + Duration::from_secs(60);
                if let Some(retention) = policy.retention {
                    let removed = store
                        .lock()
                        .await
                        .apply_retention(loghaul_model::time::now_unix_nano(), retention)?;
                    if !removed.is_empty() {
                        info!(days = ?removed, "retention removed whole days");
                    }
                }
                // <data_dir>/index/<shard>: rehydrations sit beside the index.
                if shard == 0
                    && let Some(data_dir) = root.parent().and_then(Path::parent)
                {
                    crate::rehydrated::sweep(data_dir);
                }
            }
            let pending_documents = store.lock().await.pending_documents();
            let due = first_pending.is_some_and(|since| since.elapsed() >= policy.interval)
                || pending_documents >= policy.documents
                || held.len() >= max_held;
            if due && !held.is_empty() {
                match commit_and_ack(store, &mut *consumer, &mut held, stats).await {
                    Ok(()) => pauses.cleared(),
                    Err(IndexError::Store(error)) if error.is_disk_full_at(root) => {
                        return Ok(Ended::DiskFull(error));
                    }
                    Err(error) => return Err(error),
                }
                stats
                    .last_observed_nanos
                    .fetch_max(pending_observed.max(0) as u64, Ordering::Relaxed);
                first_pending = None;
            }
        }
        if !held.is_empty() {
            match commit_and_ack(store, &mut *consumer, &mut held, stats).await {
                Ok(()) => {}
                Err(IndexError::Store(error)) if error.is_disk_full_at(root) => {
                    warn!(%error, deliveries = held.len(), "disk full at stop: what was not committed stays queued for the next start");
                    return Ok(Ended::Shutdown);
                }
                Err(error) => return Err(error),
            }
            stats
                .last_observed_nanos
                .fetch_max(pending_observed.max(0) as u64, Ordering::Relaxed);
        }
        Ok(Ended::Shutdown)
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline.into()).await,
        None => std::future::pending().await,
    }
}

async fn commit_and_ack(
    store: &Mutex<ShardStore>,
    consumer: &mut dyn loghaul_queue::Consumer,
    held: &mut Vec<AckTag>,
    stats: &IndexStats,
) -> Result<(), IndexError> {
    let report = {
        let mut guard = store.lock().await;
        tokio::task::block_in_place(|| guard.commit())?
    };
    consumer.ack(held).await?;
    held.clear();
    stats
        .documents
        .fetch_add(report.documents, Ordering::Relaxed);
    stats.commits.fetch_add(1, Ordering::Relaxed);
    stats
        .commit_micros
        .fetch_add((report.seconds * 1e6) as u64, Ordering::Relaxed);
    stats.generation.store(report.generation, Ordering::Relaxed);
    debug!(
        generation = report.generation,
        documents = report.documents,
        days = report.days,
        seconds = report.seconds,
        "committed"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use loghaul_model::{Event, EventBatch, EventId, FileIdentity, Resource, Severity};

    fn event(host: &str, source: &str, timestamp: i64, offset: u64) -> Event {
        let file = FileIdentity {
            device: 1,
            inode: 1,
            fingerprint: 1,
        };
        Event {
            id: EventId::new(host, &file, offset),
            timestamp_unix_nano: timestamp,
            observed_timestamp_unix_nano: timestamp,
            severity: Severity::default(),
            body: String::new(),
            attributes: serde_json::Map::new(),
            resource: Resource {
                host: host.into(),
                source: source.into(),
                service: None,
                source_name: None,
            },
            file,
            offset,
            parse_error: None,
        }
    }

    #[test]
    fn old_events_are_counted_and_warned_about_once_per_source() {
        const DAY: i64 = 86_400 * 1_000_000_000;
        let now = 20_000 * DAY;
        let retention = Duration::from_secs(30 * 86_400);
        let stats = IndexStats::default();
        let mut check = ArrivalCheck::default();
        // A log from 2005 and fresh lines, from two sources.
        let old = 12_800 * DAY;
        let batch = EventBatch {
            events: vec![
                event("h", "/var/log/2005.log", old, 0),
                event("h", "/var/log/2005.log", old, 10),
                event("h", "/var/log/new.log", now - DAY, 0),
                event("g", "/var/log/2005.log", old, 0),
            ],
        };
        let warned = check.check(&batch, retention, now, &stats);
        assert_eq!(
            warned,
            [
                ("h".to_owned(), "/var/log/2005.log".to_owned()),
                ("g".to_owned(), "/var/log/2005.log".to_owned())
            ]
        );
        assert_eq!(stats.expired_on_arrival.load(Ordering::Relaxed), 3);
        // The same sources again: counted, not warned about again.
        assert!(check.check(&batch, retention, now, &stats).is_empty());
        assert_eq!(stats.expired_on_arrival.load(Ordering::Relaxed), 6);
    }
}
