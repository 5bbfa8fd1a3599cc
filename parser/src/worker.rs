//! The parser worker loop, behind `loghaul parse` and `loghaul run`.
//!
//! It consumes `RawBatch` messages from `<prefix>.raw`, parses them, and
//! publishes one `EventBatch` to the shard queue of the batch's file
//! (`hash(file identity) mod shards`). A raw message is acknowledged only after
//! its events are confirmed by the broker, so a worker killed at any point
//! loses nothing: the broker delivers the raw message again, to this worker
//! or another, and the same records give the same event ids. Workers are
//! stateless competing consumers; start as many as the load needs.
//!
//! A message that does not decode goes to the dead-letter exchange with the
//! decoder's reason. Parsing itself never refuses a record.

use std::sync::atomic::{AtomicU64, Ordering};

use loghaul_durable::Backoff;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use loghaul_model::codec;
use loghaul_queue::{Broker, Message, Publisher, QueueError, Route};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::Parser;

/// Counters of one worker, readable while it runs.
#[derive(Debug, Default)]
pub struct WorkerStats {
    /// Raw batches parsed and acknowledged.
    pub batches: AtomicU64,
    /// Records parsed (events published).
    pub events: AtomicU64,
    /// Events with `parse_error` set.
    pub parse_errors: AtomicU64,
    /// Messages sent to the dead-letter queue.
    pub dead_lettered: AtomicU64,
    /// Raw payload bytes parsed.
    pub bytes: AtomicU64,
}

impl WorkerStats {
    fn add(counter: &AtomicU64, value: u64) {
        counter.fetch_add(value, Ordering::Relaxed);
    }
}

/// Why a worker stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    /// The queue failed in a way retrying does not fix.
    #[error("queue: {0}")]
    Queue(#[from] QueueError),
}

/// Runs one worker until `shutdown`. Deliveries not yet acknowledged when it
/// stops go back to the queue.
pub async fn run(
    broker: Arc<dyn Broker>,
    parser: Parser,
    stats: Arc<WorkerStats>,
    shutdown: CancellationToken,
) -> Result<(), WorkerError> {
    let shards = broker.settings().shards.max(1);
    let mut consumer = broker.consumer(Route::Raw).await?;
    let mut publisher = broker.publisher().await?;
    // Only the blocking task below touches it; the lock is never contended.
    let parser = Arc::new(Mutex::new(parser));
    info!(shards, "parser worker consuming");
    loop {
        let delivery = tokio::select! {
            biased;
            () = shutdown.cancelled() => break,
            delivery = consumer.next() => delivery?,
        };
        let batch = match codec::decode_raw_batch(&delivery.payload) {
            Ok(batch) => batch,
            Err(error) => {
                warn!(%error, "undecodable message: dead-lettered");
                consumer.dead_letter(delivery, &error.to_string()).await?;
                WorkerStats::add(&stats.dead_lettered, 1);
                continue;
            }
        };
        let shard = batch.file.shard(shards);
        let bytes = batch.payload_bytes() as u64;
        // Parsing is CPU work: keep it off the threads that drive the queue.
        let task_parser = parser.clone();
        let (payload, count, errors) = tokio::task::spawn_blocking(move || {
            let mut parser = task_parser
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let encoded = parser.parse_batch_encoded(&batch);
            (encoded.payload, encoded.events, encoded.parse_errors)
        })
        .await
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic.into_panic()));
        let message = Message::new(payload);
        if !publish_until_confirmed(&mut *publisher, Route::Events(shard), &message, &shutdown)
            .await?
        {
            // Stopping before the confirm: the raw message stays unacknowledged
            // and comes back.
            break;
        }
        consumer.ack(&[delivery.tag]).await?;
        WorkerStats::add(&stats.batches, 1);
        WorkerStats::add(&stats.events, count as u64);
        WorkerStats::add(&stats.parse_errors, errors as u64);
        WorkerStats::add(&stats.bytes, bytes);
        debug!(shard, events = count, "batch parsed");
    }
    info!("parser worker stopped");
    Ok(())
}

/// Publishes until confirmed, retrying what can be retried with backoff.
/// `Ok(false)` when shutdown came first.
async fn publish_until_confirmed(
    publisher: &mut dyn Publisher,
    route: Route,
    message: &Message,
    shutdown: &CancellationToken,
) -> Result<bool, QueueError> {
    let mut backoff = Backoff::new(Duration::from_millis(50), Duration::from_secs(5));
    loop {
        match publisher
            .publish(route, std::slice::from_ref(message))
            .await
        {
            Ok(()) => return Ok(true),
            Err(error) if error.is_retryable() => {
                let wait = backoff.next_delay();
                warn!(%error, backoff = ?wait, "publishing events failed; retrying");
                tokio::select! {
                    () = shutdown.cancelled() => return Ok(false),
                    () = tokio::time::sleep(wait) => {}
                }
            }
            Err(error) => return Err(error),
        }
    }
}
