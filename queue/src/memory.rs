//! The in-process backend: the same contract as RabbitMQ inside one process.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;

use crate::{
    AckTag, Broker, Consumer, DEAD_LETTER_REASON_HEADER, Delivery, Headers, Message, Publisher,
    QueueError, QueueSettings, Route,
};

/// Queues held in memory, bounded by a total byte budget.
pub struct MemoryBroker {
    settings: QueueSettings,
    queues: HashMap<Route, Arc<MemoryQueue>>,
    budget: Arc<Budget>,
}

struct Budget {
    used: Mutex<u64>,
    max: u64,
}

struct MemoryQueue {
    name: String,
    state: Mutex<QueueState>,
    notify: Notify,
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
        let queues = settings
            .routes()
            .into_iter()
            .map(|route| {
                let queue = MemoryQueue {
                    name: settings.queue_name(route),
                    state: Mutex::new(QueueState::default()),
                    notify: Notify::new(),
                };
                (route, Arc::new(queue))
            })
            .collect();
        let budget = Arc::new(Budget {
            used: Mutex::new(0),
            max: settings.memory_max_bytes,
        });
        MemoryBroker {
            settings,
            queues,
            budget,
        }
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
        *lock(&self.budget.used)
    }
}

fn enqueue(
    settings: &QueueSettings,
    budget: &Budget,
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
        .min(budget.max);
    if batch_bytes > queue_budget {
        return Err(QueueError::TooLarge {
            bytes: batch_bytes as usize,
            budget: queue_budget as usize,
        });
    }
    let mut state = lock(&queue.state);
    let over_length = settings
        .max_length
        .is_some_and(|max| state.count + messages.len() as u64 > max);
    let over_bytes = settings
        .max_length_bytes
        .is_some_and(|max| state.bytes + batch_bytes > max);
    let mut used = lock(&budget.used);
    if over_length || over_bytes || *used + batch_bytes > budget.max {
        return Err(QueueError::Full {
            queue: queue.name.clone(),
        });
    }
    *used += batch_bytes;
    drop(used);
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

fn release(budget: &Budget, queue: &MemoryQueue, stored: &Stored) {
    let size = stored.payload.len() as u64;
    let mut state = lock(&queue.state);
    state.count -= 1;
    state.bytes -= size;
    drop(state);
    *lock(&budget.used) -= size;
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
            budget: self.budget.clone(),
        }))
    }

    async fn consumer(&self, route: Route) -> Result<Box<dyn Consumer>, QueueError> {
        static NEXT_GENERATION: AtomicU64 = AtomicU64::new(1);
        Ok(Box::new(MemoryConsumer {
            queue: self.queue(route)?,
            dead: self.queue(Route::Dead)?,
            settings: self.settings.clone(),
            budget: self.budget.clone(),
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
            *lock(&self.budget.used) -= freed;
        }
        Ok(())
    }
}

struct MemoryPublisher {
    settings: QueueSettings,
    queues: HashMap<Route, Arc<MemoryQueue>>,
    budget: Arc<Budget>,
}

#[async_trait::async_trait]
impl Publisher for MemoryPublisher {
    async fn publish(&mut self, route: Route, messages: &[Message]) -> Result<(), QueueError> {
        let queue = self.queues.get(&route).ok_or_else(|| QueueError::NoRoute {
            route: route.to_string(),
        })?;
        enqueue(&self.settings, &self.budget, queue, messages)
    }
}

struct MemoryConsumer {
    queue: Arc<MemoryQueue>,
    dead: Arc<MemoryQueue>,
    settings: QueueSettings,
    budget: Arc<Budget>,
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
                release(&self.budget, &self.queue, &stored);
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
        enqueue(&self.settings, &self.budget, &self.dead, &[message])?;
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

    #[tokio::test]
    async fn the_byte_budget_is_shared_and_released_on_ack() {
        let mut settings = QueueSettings::with_prefix("budget");
        settings.memory_max_bytes = 100;
        let broker = MemoryBroker::new(settings);
        let mut publisher = broker.publisher().await.expect("publisher");
        let sixty = Message::new(vec![0; 60]);
        publisher
            .publish(Route::Raw, std::slice::from_ref(&sixty))
            .await
            .expect("fits");
        let refused = publisher
            .publish(Route::Events(0), std::slice::from_ref(&sixty))
            .await;
        assert!(
            matches!(refused, Err(QueueError::Full { .. })),
            "{refused:?}"
        );
        assert!(matches!(
            publisher
                .publish(Route::Raw, &[Message::new(vec![0; 101])])
                .await,
            Err(QueueError::TooLarge {
                bytes: 101,
                budget: 100
            })
        ));
        assert_eq!(broker.bytes_used(), 60);
        let mut consumer = broker.consumer(Route::Raw).await.expect("consumer");
        let delivery = consumer.next().await.expect("delivery");
        assert_eq!(broker.bytes_used(), 60, "held by a consumer still counts");
        consumer.ack(&[delivery.tag]).await.expect("ack");
        assert_eq!(broker.bytes_used(), 0);
        publisher
            .publish(Route::Events(0), &[sixty])
            .await
            .expect("fits after the ack");
    }
}
