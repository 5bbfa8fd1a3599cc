//! The in-process backend: the same contract as RabbitMQ inside one process.
//!
//! `memory_max_bytes` is split evenly between the queues, and each queue is
//! bounded by its own share alone. A budget shared by all queues deadlocks a
//! pipeline: the shipper filled it with raw batches, so the parser's
//! publishes of events were refused; the parser cannot acknowledge a raw
//! batch before its events are confirmed, and the indexer had nothing to
//! consume and free. With a share each, a stage is throttled only by the
//! stage after it, and the last stage always drains.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;

use crate::{
    AckTag, Broker, Consumer, DEAD_LETTER_REASON_HEADER, Delivery, Headers, Message, Publisher,
    QueueError, QueueSettings, Route,
};

/// Queues held in memory, each bounded by its share of a byte budget.
pub struct MemoryBroker {
    settings: QueueSettings,
    queues: HashMap<Route, Arc<MemoryQueue>>,
}

struct MemoryQueue {
    name: String,
    state: Mutex<QueueState>,
    notify: Notify,
    /// This queue's share of `memory_max_bytes`.
    max_bytes: u64,
}

#[derive(Default)]
struct QueueState {
    ready: VecDeque<Stored>,
    /// Messages ready or held by a consumer.
    count: u64,
    bytes: u64,
    next_sequence: u64,
}

#[derive(Clone)]
struct Stored {
    sequence: u64,
    payload: bytes::Bytes,
    headers: Headers,
    redelivered: bool,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock cannot leave these structures half-updated
    // in a way that matters more than stopping would.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl MemoryBroker {
    /// A broker with one queue per route of `settings`.
    pub fn new(settings: QueueSettings) -> Self {
        let routes = settings.routes();
        let share = settings.memory_max_bytes / routes.len().max(1) as u64;
        let queues = routes
            .into_iter()
            .map(|route| {
                let queue = MemoryQueue {
                    name: settings.queue_name(route),
                    state: Mutex::new(QueueState::default()),
                    notify: Notify::new(),
                    max_bytes: share,
                };
                (route, Arc::new(queue))
            })
            .collect();
        MemoryBroker { settings, queues }
    }

    fn queue(&self, route: Route) -> Result<Arc<MemoryQueue>, QueueError> {
        self.queues
            .get(&route)
            .cloned()
            .ok_or_else(|| QueueError::NoRoute {
                route: route.to_string(),
            })
    }

    /// Messages in the queue behind `route`, ready or held by consumers.
    pub fn depth(&self, route: Route) -> u64 {
        self.queues
            .get(&route)
            .map_or(0, |queue| lock(&queue.state).count)
    }

    /// Bytes held across all queues.
    pub fn bytes_used(&self) -> u64 {
        self.queues
            .values()
            .map(|queue| lock(&queue.state).bytes)
            .sum()
    }

    /// Bytes each queue may hold: its share of `memory_max_bytes`.
    pub fn queue_max_bytes(&self) -> u64 {
        self.queues
            .values()
            .map(|queue| queue.max_bytes)
            .max()
            .unwrap_or(0)
    }
}

fn enqueue(
    settings: &QueueSettings,
    queue: &MemoryQueue,
    messages: &[Message],
) -> Result<(), QueueError> {
    let batch_bytes: u64 = messages
        .iter()
        .map(|message| message.payload.len() as u64)
        .sum();
    let queue_budget = settings
        .max_length_bytes
        .unwrap_or(u64::MAX)
        .min(queue.max_bytes);
    // Like RabbitMQ's reject-publish, the bound is checked on arrival: a
    // queue that holds nothing takes any batch whose messages each fit, so
    // a batch bigger than a small share still goes through once the queue
    // drains; only a single message over the bound can never fit.
    if let Some(largest) = messages
        .iter()
        .map(|message| message.payload.len() as u64)
        .max()
        .filter(|largest| *largest > queue_budget)
    {
        return Err(QueueError::TooLarge {
            bytes: largest as usize,
            budget: queue_budget as usize,
        });
    }
    let mut state = lock(&queue.state);
    let over_length = settings
        .max_length
        .is_some_and(|max| state.count + messages.len() as u64 > max);
    let over_bytes = state.bytes > 0 && state.bytes + batch_bytes > queue_budget;
    if over_length || over_bytes {
        return Err(QueueError::Full {
            queue: queue.name.clone(),
        });
    }
    for message in messages {
        let sequence = state.next_sequence;
        state.next_sequence += 1;
        state.ready.push_back(Stored {
            sequence,
            payload: message.payload.clone(),
            headers: message.headers.clone(),
            redelivered: false,
        });
    }
    state.count += messages.len() as u64;
    state.bytes += batch_bytes;
    drop(state);
    queue.notify.notify_waiters();
    Ok(())
}

fn release(queue: &MemoryQueue, stored: &Stored) {
    let size = stored.payload.len() as u64;
    let mut state = lock(&queue.state);
    state.count -= 1;
    state.bytes -= size;
}

#[async_trait::async_trait]
impl Broker for MemoryBroker {
    fn settings(&self) -> &QueueSettings {
        &self.settings
    }

    async fn publisher(&self) -> Result<Box<dyn Publisher>, QueueError> {
        Ok(Box::new(MemoryPublisher {
            settings: self.settings.clone(),
            queues: self.queues.clone(),
        }))
    }

    async fn consumer(&self, route: Route) -> Result<Box<dyn Consumer>, QueueError> {
        static NEXT_GENERATION: AtomicU64 = AtomicU64::new(1);
        Ok(Box::new(MemoryConsumer {
            queue: self.queue(route)?,
            dead: self.queue(Route::Dead)?,
            settings: self.settings.clone(),
            generation: NEXT_GENERATION.fetch_add(1, Ordering::Relaxed),
            next_tag: 1,
            unacked: BTreeMap::new(),
        }))
    }

    async fn delete_topology(&self) -> Result<(), QueueError> {
        for queue in self.queues.values() {
            let mut state = lock(&queue.state);
            let freed: u64 = state
                .ready
                .iter()
                .map(|stored| stored.payload.len() as u64)
                .sum();
            state.count -= state.ready.len() as u64;
            state.bytes -= freed;
            state.ready.clear();
        }
        Ok(())
    }
}

struct MemoryPublisher {
    settings: QueueSettings,
    queues: HashMap<Route, Arc<MemoryQueue>>,
}

#[async_trait::async_trait]
impl Publisher for MemoryPublisher {
    async fn publish(&mut self, route: Route, messages: &[Message]) -> Result<(), QueueError> {
        let queue = self.queues.get(&route).ok_or_else(|| QueueError::NoRoute {
            route: route.to_string(),
        })?;
        enqueue(&self.settings, queue, messages)
    }
}

struct MemoryConsumer {
    queue: Arc<MemoryQueue>,
    dead: Arc<MemoryQueue>,
    settings: QueueSettings,
    generation: u64,
    next_tag: u64,
    unacked: BTreeMap<u64, Stored>,
}

impl MemoryConsumer {
    fn try_take(&mut self) -> Option<Delivery> {
        if self.unacked.len() >= usize::from(self.settings.prefetch) {
            return None;
        }
        let stored = lock(&self.queue.state).ready.pop_front()?;
        let tag = AckTag {
            generation: self.generation,
            tag: self.next_tag,
        };
        self.next_tag += 1;
        let delivery = Delivery {
            payload: stored.payload.clone(),
            headers: stored.headers.clone(),
            redelivered: stored.redelivered,
            tag,
        };
        self.unacked.insert(tag.tag, stored);
        Some(delivery)
    }
}

#[async_trait::async_trait]
impl Consumer for MemoryConsumer {
    async fn next(&mut self) -> Result<Delivery, QueueError> {
        let queue = self.queue.clone();
        loop {
            let notified = queue.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if let Some(delivery) = self.try_take() {
                return Ok(delivery);
            }
            notified.await;
        }
    }

    async fn ack(&mut self, tags: &[AckTag]) -> Result<(), QueueError> {
        for tag in tags.iter().filter(|tag| tag.generation == self.generation) {
            if let Some(stored) = self.unacked.remove(&tag.tag) {
                release(&self.queue, &stored);
            }
        }
        Ok(())
    }

    async fn dead_letter(&mut self, delivery: Delivery, reason: &str) -> Result<(), QueueError> {
        let mut headers = delivery.headers.clone();
        headers.insert(DEAD_LETTER_REASON_HEADER.into(), reason.into());
        let message = Message {
            payload: delivery.payload.clone(),
            headers,
        };
        enqueue(&self.settings, &self.dead, &[message])?;
        self.ack(&[delivery.tag]).await
    }
}

impl Drop for MemoryConsumer {
    fn drop(&mut self) {
        if self.unacked.is_empty() {
            return;
        }
        let mut state = lock(&self.queue.state);
        // Put them back in front, oldest first, as a broker would on channel close.
        for (_, mut stored) in std::mem::take(&mut self.unacked).into_iter().rev() {
            stored.redelivered = true;
            state.ready.push_front(stored);
        }
        let ready = state.ready.make_contiguous();
        let back_count = ready.iter().take_while(|stored| stored.redelivered).count();
        ready[..back_count].sort_by_key(|stored| stored.sequence);
        drop(state);
        self.queue.notify.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn factory(settings: QueueSettings) -> Arc<dyn Broker> {
        Arc::new(MemoryBroker::new(settings))
    }

    crate::contract_tests!(factory);

    /// The stall of `loghaul run` on a large file: the shipper fills the
    /// raw queue to its bound while the parser holds fewer raw deliveries
    /// than its prefetch, waiting to publish their events. With a budget
    /// shared by all queues that publish was refused forever; with a share
    /// each, the events go through, the parser acknowledges, and raw space
    /// comes back.
    #[tokio::test]
    async fn a_full_raw_queue_never_blocks_the_events_it_waits_for() {
        let mut settings = QueueSettings::with_prefix("stall");
        settings.memory_max_bytes = 300; // raw, dead and one shard: 100 each
        settings.prefetch = 4;
        let broker = MemoryBroker::new(settings);
        assert_eq!(broker.queue_max_bytes(), 100);
        let mut shipper = broker.publisher().await.expect("publisher");
        let batch = Message::new(vec![0; 25]);
        for _ in 0..4 {
            shipper
                .publish(Route::Raw, std::slice::from_ref(&batch))
                .await
                .expect("fits");
        }
        // The raw queue is full: the shipper is told so.
        assert!(matches!(
            shipper
                .publish(Route::Raw, std::slice::from_ref(&batch))
                .await,
            Err(QueueError::Full { .. })
        ));
        // The parser holds two raw deliveries (fewer than its prefetch) and
        // publishes their events while raw is still full.
        let mut parser = broker.consumer(Route::Raw).await.expect("consumer");
        let first = parser.next().await.expect("delivery");
        let second = parser.next().await.expect("delivery");
        let mut events = broker.publisher().await.expect("publisher");
        events
            .publish(Route::Events(0), &[Message::new(vec![1; 60])])
            .await
            .expect("events are not refused because raw is full");
        parser
            .ack(&[first.tag, second.tag])
            .await
            .expect("acknowledged");
        // Raw space is back for the shipper.
        shipper
            .publish(Route::Raw, std::slice::from_ref(&batch))
            .await
            .expect("fits again");
        // The indexer drains the events queue regardless of the others.
        let mut indexer = broker.consumer(Route::Events(0)).await.expect("consumer");
        let delivery = indexer.next().await.expect("events");
        indexer.ack(&[delivery.tag]).await.expect("ack");
        assert_eq!(broker.depth(Route::Events(0)), 0);
        assert!(matches!(
            events
                .publish(Route::Events(0), &[Message::new(vec![0; 101])])
                .await,
            Err(QueueError::TooLarge {
                bytes: 101,
                budget: 100
            })
        ));
    }
}
