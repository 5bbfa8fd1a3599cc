//! Publish and consume with acknowledgements, over RabbitMQ or in memory.
//!
//! A [`Broker`] hands out [`Publisher`]s and [`Consumer`]s. The contract is the
//! same for both backends:
//!
//! - [`Publisher::publish`] returns only once the broker has taken
//!   responsibility for every message of the batch (publisher confirms). On an
//!   error the caller publishes the batch again; a message may then arrive
//!   twice, never zero times.
//! - A [`Delivery`] stays owned by its consumer until [`Consumer::ack`]. If the
//!   consumer goes away first (dropped, crashed, connection lost) the message is
//!   delivered again, flagged `redelivered`.
//! - A full queue refuses publishes ([`QueueError::Full`]); it never drops old
//!   messages to make room.
//! - [`Consumer::dead_letter`] moves a message that cannot be processed to the
//!   dead-letter queue with the reason in the [`DEAD_LETTER_REASON_HEADER`].
//!
//! [`AmqpBroker`] runs this on RabbitMQ: durable exchanges, quorum queues,
//! persistent messages, confirms, manual acks, bounded prefetch, and
//! reconnection with backoff. [`MemoryBroker`] runs it inside one process for
//! `loghaul run` and unit tests. [`contract`] is the test suite both pass.
//!
//! ```
//! use loghaul_queue::{Broker, MemoryBroker, Message, QueueSettings, Route};
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let broker = MemoryBroker::new(QueueSettings::with_prefix("demo"));
//! let mut publisher = broker.publisher().await?;
//! publisher.publish(Route::Raw, &[Message::new(b"hello".to_vec())]).await?;
//! let mut consumer = broker.consumer(Route::Raw).await?;
//! let delivery = consumer.next().await?;
//! assert_eq!(&delivery.payload[..], b"hello");
//! consumer.ack(&[delivery.tag]).await?;
//! # Ok::<(), loghaul_queue::QueueError>(())
//! # }).unwrap();
//! ```

mod amqp;
pub mod contract;
mod disk;
mod error;
mod memory;
mod topology;

use std::collections::BTreeMap;
use std::sync::Arc;

pub use amqp::{AmqpBroker, DeadLetter};
pub use bytes::Bytes;
pub use disk::{DiskBroker, SEGMENT_BYTES};
pub use error::QueueError;
use loghaul_config::{QueueConfig, QueueKind};
pub use memory::MemoryBroker;
pub use topology::{DEAD_LETTER_ORIGIN_HEADER, DEAD_LETTER_REASON_HEADER, QueueSettings, Route};

/// Message headers: text keys and values.
pub type Headers = BTreeMap<String, String>;

/// A message to publish.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// The body, shared rather than copied on its way through the memory
    /// backend.
    pub payload: Bytes,
    /// Headers.
    pub headers: Headers,
}

impl Message {
    /// A message with no headers.
    pub fn new(payload: impl Into<Bytes>) -> Self {
        Message {
            payload: payload.into(),
            headers: Headers::new(),
        }
    }
}

/// Identifies a delivery to its consumer for acknowledgement.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AckTag {
    /// Which connection or channel the delivery came on; tags of an older one
    /// are stale, because the broker has already put those messages back.
    pub generation: u64,
    /// The delivery tag within it.
    pub tag: u64,
}

/// A message handed to a consumer.
#[derive(Clone, Debug)]
pub struct Delivery {
    /// The body.
    pub payload: Bytes,
    /// Headers.
    pub headers: Headers,
    /// Whether it was delivered before and not acknowledged.
    pub redelivered: bool,
    /// For [`Consumer::ack`].
    pub tag: AckTag,
}

/// A source of publishers and consumers over one topology.
#[async_trait::async_trait]
pub trait Broker: Send + Sync {
    /// The names and limits in use.
    fn settings(&self) -> &QueueSettings;
    /// A new publisher.
    async fn publisher(&self) -> Result<Box<dyn Publisher>, QueueError>;
    /// A new consumer of the queue behind `route`.
    async fn consumer(&self, route: Route) -> Result<Box<dyn Consumer>, QueueError>;
    /// Deletes every exchange and queue of the topology, for tests and teardown.
    async fn delete_topology(&self) -> Result<(), QueueError>;
}

/// Publishes batches and waits for their confirmation.
#[async_trait::async_trait]
pub trait Publisher: Send {
    /// Publishes `messages` to `route`, returning once all are confirmed.
    async fn publish(&mut self, route: Route, messages: &[Message]) -> Result<(), QueueError>;
}

/// Receives deliveries and acknowledges them.
///
/// A consumer holds at most `prefetch` unacknowledged deliveries; `next`
/// waits while it holds that many. Code that acks in groups must ack before a
/// group reaches the prefetch, or it waits forever.
#[async_trait::async_trait]
pub trait Consumer: Send {
    /// The next delivery, waiting as long as it takes. Cancel-safe.
    async fn next(&mut self) -> Result<Delivery, QueueError>;
    /// Acknowledges deliveries; they will not be delivered again. Stale tags
    /// (from before a reconnection) are ignored: those messages come again.
    async fn ack(&mut self, tags: &[AckTag]) -> Result<(), QueueError>;
    /// Moves a delivery to the dead-letter queue with `reason`, then acks it.
    async fn dead_letter(&mut self, delivery: Delivery, reason: &str) -> Result<(), QueueError>;
}

/// The broker the `[queue]` section asks for; the disk queue lives under
/// `<data_dir>/queue`.
pub fn broker_from_config(
    config: &QueueConfig,
    data_dir: &std::path::Path,
) -> Result<Arc<dyn Broker>, QueueError> {
    let settings = QueueSettings::from_config(config);
    Ok(match config.kind {
        QueueKind::Disk => Arc::new(DiskBroker::open(
            &data_dir.join("queue"),
            settings,
            config.disk_max_bytes.bytes(),
        )?),
        QueueKind::Memory => Arc::new(MemoryBroker::new(settings)),
        QueueKind::Amqp => Arc::new(AmqpBroker::new(config.url.expose(), settings)),
    })
}
