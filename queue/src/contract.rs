//! The contract every backend passes, run against [`crate::MemoryBroker`] in
//! unit tests and against a real RabbitMQ in `tests/amqp.rs`.
//!
//! Each case takes a factory that builds a broker from [`QueueSettings`] and
//! gets a fresh, uniquely named topology, which it deletes at the end.
//! `contract_tests!(factory)` expands into one `#[tokio::test]` per case.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::{
    Broker, Consumer, DEAD_LETTER_REASON_HEADER, Delivery, Message, QueueError, QueueSettings,
    Route,
};

/// How long a case waits for something that should arrive.
const ARRIVAL: Duration = Duration::from_secs(20);
/// How long a case waits to be satisfied that something does not arrive.
const SILENCE: Duration = Duration::from_millis(500);

/// A prefix no other test in this or any concurrent run uses.
pub fn unique_prefix(case: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.subsec_nanos())
        .unwrap_or(0);
    format!(
        "lhtest.{case}.{}.{nanos}.{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

fn numbered(range: std::ops::Range<u32>) -> Vec<Message> {
    range
        .map(|n| Message::new(n.to_string().into_bytes()))
        .collect()
}

fn number(delivery: &Delivery) -> u32 {
    String::from_utf8_lossy(&delivery.payload).parse().unwrap()
}

async fn next_within(consumer: &mut dyn Consumer) -> Delivery {
    tokio::time::timeout(ARRIVAL, consumer.next())
        .await
        .expect("a delivery should arrive")
        .expect("next() should succeed")
}

async fn assert_silent(consumer: &mut dyn Consumer) {
    if let Ok(result) = tokio::time::timeout(SILENCE, consumer.next()).await {
        panic!("expected no delivery, got {result:?}");
    }
}

async fn build<F, Fut>(
    factory: &F,
    case: &str,
    adjust: impl FnOnce(&mut QueueSettings),
) -> Arc<dyn Broker>
where
    F: Fn(QueueSettings) -> Fut,
    Fut: Future<Output = Arc<dyn Broker>>,
{
    let mut settings = QueueSettings::with_prefix(unique_prefix(case));
    settings.shards = 2;
    adjust(&mut settings);
    factory(settings).await
}

/// Messages arrive in publish order, and acknowledged ones do not come back.
pub async fn order_and_ack<F, Fut>(factory: F)
where
    F: Fn(QueueSettings) -> Fut,
    Fut: Future<Output = Arc<dyn Broker>>,
{
    // All 200 are held before the first ack.
    let broker = build(&factory, "order", |settings| settings.prefetch = 500).await;
    let mut publisher = broker.publisher().await.unwrap();
    publisher
        .publish(Route::Raw, &numbered(0..100))
        .await
        .unwrap();
    publisher
        .publish(Route::Raw, &numbered(100..200))
        .await
        .unwrap();
    let mut consumer = broker.consumer(Route::Raw).await.unwrap();
    let mut tags = Vec::new();
    for expected in 0..200 {
        let delivery = next_within(consumer.as_mut()).await;
        assert_eq!(number(&delivery), expected);
        assert!(!delivery.redelivered);
        tags.push(delivery.tag);
    }
    consumer.ack(&tags).await.unwrap();
    drop(consumer);
    let mut again = broker.consumer(Route::Raw).await.unwrap();
    assert_silent(again.as_mut()).await;
    drop(again);
    broker.delete_topology().await.unwrap();
}

/// What a consumer held without acknowledging is delivered again, flagged,
/// once it goes away; what it acknowledged is not, even out of order.
pub async fn unacked_are_redelivered<F, Fut>(factory: F)
where
    F: Fn(QueueSettings) -> Fut,
    Fut: Future<Output = Arc<dyn Broker>>,
{
    let broker = build(&factory, "redeliver", |_| {}).await;
    let mut publisher = broker.publisher().await.unwrap();
    publisher
        .publish(Route::Raw, &numbered(0..10))
        .await
        .unwrap();
    let mut first = broker.consumer(Route::Raw).await.unwrap();
    let mut held = Vec::new();
    for _ in 0..6 {
        held.push(next_within(first.as_mut()).await);
    }
    // Ack 1, 3 and 4: not a contiguous prefix.
    first
        .ack(&[held[1].tag, held[3].tag, held[4].tag])
        .await
        .unwrap();
    drop(first);

    let mut second = broker.consumer(Route::Raw).await.unwrap();
    let mut seen = BTreeSet::new();
    let mut tags = Vec::new();
    for _ in 0..7 {
        let delivery = next_within(second.as_mut()).await;
        let n = number(&delivery);
        // What the first consumer held comes back flagged. (AMQP may flag the
        // rest too: the broker pushed them to the first consumer's buffer.)
        if [0, 2, 5].contains(&n) {
            assert!(
                delivery.redelivered,
                "{n} was held unacknowledged, so it is flagged redelivered"
            );
        }
        assert!(seen.insert(n), "{n} delivered twice to one consumer");
        tags.push(delivery.tag);
    }
    assert_eq!(seen, BTreeSet::from([0, 2, 5, 6, 7, 8, 9]));
    assert_silent(second.as_mut()).await;
    second.ack(&tags).await.unwrap();
    drop(second);
    broker.delete_topology().await.unwrap();
}

/// Headers travel with the message; each shard has its own queue; a route
/// without a queue is an error, never a silent drop.
pub async fn routing_and_headers<F, Fut>(factory: F)
where
    F: Fn(QueueSettings) -> Fut,
    Fut: Future<Output = Arc<dyn Broker>>,
{
    let broker = build(&factory, "routing", |_| {}).await;
    let mut publisher = broker.publisher().await.unwrap();
    let mut message = Message::new(b"for shard 1".to_vec());
    message
        .headers
        .insert("x-source".into(), "/var/log/app.log".into());
    publisher
        .publish(Route::Events(1), std::slice::from_ref(&message))
        .await
        .unwrap();
    publisher
        .publish(Route::Events(0), &[Message::new(b"for shard 0".to_vec())])
        .await
        .unwrap();
    let missing = publisher
        .publish(Route::Events(7), &[Message::new(b"lost?".to_vec())])
        .await;
    assert!(
        matches!(missing, Err(QueueError::NoRoute { .. })),
        "{missing:?}"
    );

    let mut shard_one = broker.consumer(Route::Events(1)).await.unwrap();
    let delivery = next_within(shard_one.as_mut()).await;
    assert_eq!(delivery.payload, message.payload);
    assert_eq!(
        delivery.headers.get("x-source").map(String::as_str),
        Some("/var/log/app.log")
    );
    shard_one.ack(&[delivery.tag]).await.unwrap();
    assert_silent(shard_one.as_mut()).await;
    let mut shard_zero = broker.consumer(Route::Events(0)).await.unwrap();
    let delivery = next_within(shard_zero.as_mut()).await;
    assert_eq!(&delivery.payload[..], b"for shard 0");
    shard_zero.ack(&[delivery.tag]).await.unwrap();
    drop((shard_one, shard_zero));
    broker.delete_topology().await.unwrap();
}

/// A dead-lettered message leaves its queue and lands in the dead-letter
/// queue with the reason in a header.
pub async fn dead_letter_keeps_the_reason<F, Fut>(factory: F)
where
    F: Fn(QueueSettings) -> Fut,
    Fut: Future<Output = Arc<dyn Broker>>,
{
    let broker = build(&factory, "dead", |_| {}).await;
    let mut publisher = broker.publisher().await.unwrap();
    publisher
        .publish(Route::Raw, &[Message::new(b"\xffgarbage".to_vec())])
        .await
        .unwrap();
    let mut consumer = broker.consumer(Route::Raw).await.unwrap();
    let delivery = next_within(consumer.as_mut()).await;
    consumer
        .dead_letter(delivery, "not a loghaul message: magic bytes [ff, 67]")
        .await
        .unwrap();
    assert_silent(consumer.as_mut()).await;
    drop(consumer);
    let mut dead = broker.consumer(Route::Dead).await.unwrap();
    let letter = next_within(dead.as_mut()).await;
    assert_eq!(&letter.payload[..], b"\xffgarbage");
    assert_eq!(
        letter
            .headers
            .get(DEAD_LETTER_REASON_HEADER)
            .map(String::as_str),
        Some("not a loghaul message: magic bytes [ff, 67]")
    );
    dead.ack(&[letter.tag]).await.unwrap();
    drop(dead);
    broker.delete_topology().await.unwrap();
}

/// A consumer never holds more than `prefetch` unacknowledged deliveries.
pub async fn prefetch_is_bounded<F, Fut>(factory: F)
where
    F: Fn(QueueSettings) -> Fut,
    Fut: Future<Output = Arc<dyn Broker>>,
{
    let broker = build(&factory, "prefetch", |settings| settings.prefetch = 3).await;
    let mut publisher = broker.publisher().await.unwrap();
    publisher
        .publish(Route::Raw, &numbered(0..10))
        .await
        .unwrap();
    let mut consumer = broker.consumer(Route::Raw).await.unwrap();
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(next_within(consumer.as_mut()).await);
    }
    assert_silent(consumer.as_mut()).await;
    consumer.ack(&[held[0].tag]).await.unwrap();
    let fourth = next_within(consumer.as_mut()).await;
    assert_eq!(number(&fourth), 3);
    drop(consumer);
    broker.delete_topology().await.unwrap();
}

/// Two consumers on one queue share the messages, each delivered once.
pub async fn competing_consumers_share<F, Fut>(factory: F)
where
    F: Fn(QueueSettings) -> Fut,
    Fut: Future<Output = Arc<dyn Broker>>,
{
    let broker = build(&factory, "compete", |settings| settings.prefetch = 5).await;
    let mut publisher = broker.publisher().await.unwrap();
    let mut first = broker.consumer(Route::Raw).await.unwrap();
    let mut second = broker.consumer(Route::Raw).await.unwrap();
    publisher
        .publish(Route::Raw, &numbered(0..40))
        .await
        .unwrap();
    let mut seen = BTreeSet::new();
    let mut counts = [0u32; 2];
    while seen.len() < 40 {
        let (which, delivery) = tokio::select! {
            delivery = first.next() => (0, delivery.unwrap()),
            delivery = second.next() => (1, delivery.unwrap()),
            _ = tokio::time::sleep(ARRIVAL) => panic!("stalled after {} messages", seen.len()),
        };
        assert!(seen.insert(number(&delivery)), "delivered twice");
        counts[which] += 1;
        let consumer = if which == 0 { &mut first } else { &mut second };
        consumer.ack(&[delivery.tag]).await.unwrap();
    }
    assert!(
        counts[0] > 0 && counts[1] > 0,
        "both consumers get work: {counts:?}"
    );
    drop((first, second));
    broker.delete_topology().await.unwrap();
}

/// A full queue refuses publishes and keeps everything it accepted, oldest
/// first. (RabbitMQ's quorum queues notice the limit one message late, so the
/// refusal may come one message after `max_length`.)
pub async fn full_queue_refuses_never_drops<F, Fut>(factory: F)
where
    F: Fn(QueueSettings) -> Fut,
    Fut: Future<Output = Arc<dyn Broker>>,
{
    const MAX_LENGTH: u32 = 5;
    let broker = build(&factory, "full", |settings| {
        settings.max_length = Some(u64::from(MAX_LENGTH))
    })
    .await;
    let mut publisher = broker.publisher().await.unwrap();
    let mut accepted = 0;
    let refusal = loop {
        match publisher
            .publish(Route::Raw, &numbered(accepted..accepted + 1))
            .await
        {
            Ok(()) => accepted += 1,
            Err(error) => break error,
        }
        assert!(
            accepted <= MAX_LENGTH + 1,
            "the queue took {accepted} messages with max_length {MAX_LENGTH}"
        );
    };
    assert!(matches!(refusal, QueueError::Full { .. }), "{refusal:?}");
    assert!(refusal.is_retryable());
    assert!(
        accepted >= MAX_LENGTH,
        "refused at {accepted}, before the limit"
    );
    let mut consumer = broker.consumer(Route::Raw).await.unwrap();
    let mut tags = Vec::new();
    for expected in 0..accepted {
        let delivery = next_within(consumer.as_mut()).await;
        assert_eq!(
            number(&delivery),
            expected,
            "every accepted message is kept, oldest first"
        );
        tags.push(delivery.tag);
    }
    consumer.ack(&tags).await.unwrap();
    assert_silent(consumer.as_mut()).await;
    publisher
        .publish(Route::Raw, &numbered(100..101))
        .await
        .unwrap();
    assert_eq!(
        number(&next_within(consumer.as_mut()).await),
        100,
        "room again after the acks"
    );
    drop(consumer);
    broker.delete_topology().await.unwrap();
}

/// One `#[tokio::test]` per contract case, for a backend's factory
/// `async fn(QueueSettings) -> Arc<dyn Broker>`.
#[macro_export]
macro_rules! contract_tests {
    ($factory:path) => {
        #[tokio::test]
        async fn contract_order_and_ack() {
            $crate::contract::order_and_ack($factory).await;
        }
        #[tokio::test]
        async fn contract_unacked_are_redelivered() {
            $crate::contract::unacked_are_redelivered($factory).await;
        }
        #[tokio::test]
        async fn contract_routing_and_headers() {
            $crate::contract::routing_and_headers($factory).await;
        }
        #[tokio::test]
        async fn contract_dead_letter_keeps_the_reason() {
            $crate::contract::dead_letter_keeps_the_reason($factory).await;
        }
        #[tokio::test]
        async fn contract_prefetch_is_bounded() {
            $crate::contract::prefetch_is_bounded($factory).await;
        }
        #[tokio::test]
        async fn contract_competing_consumers_share() {
            $crate::contract::competing_consumers_share($factory).await;
        }
        #[tokio::test]
        async fn contract_full_queue_refuses_never_drops() {
            $crate::contract::full_queue_refuses_never_drops($factory).await;
        }
    };
}
