//! Restarting RabbitMQ in the middle of a stream loses no confirmed message.
//!
//! This is its own test binary because it stops the broker for everyone:
//! `cargo test` runs test binaries one after another, so no other test is
//! talking to RabbitMQ meanwhile.
#![allow(clippy::print_stdout)]

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use loghaul_queue::{AmqpBroker, Broker, Message, QueueSettings, Route};

const TOTAL: u32 = 20_000;
const BATCH: u32 = 100;

/// Starts the broker's app again even if the test fails half-way.
struct RestartGuard;

impl Drop for RestartGuard {
    fn drop(&mut self) {
        let _ = std::process::Command::new("rabbitmqctl")
            .arg("start_app")
            .output();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_restart_mid_stream_loses_nothing() {
    let mut settings =
        QueueSettings::with_prefix(loghaul_queue::contract::unique_prefix("restart"));
    settings.reconnect_max = Duration::from_secs(1);
    settings.confirm_timeout = Duration::from_secs(10);
    let broker = Arc::new(AmqpBroker::new(&loghaul_testkit::amqp_url(), settings));
    broker.check().await.expect("RabbitMQ answers");

    let published = Arc::new(AtomicU32::new(0));
    let publisher_task = {
        let broker = broker.clone();
        let published = published.clone();
        tokio::spawn(async move {
            let mut publisher = broker.publisher().await.expect("publisher");
            for start in (0..TOTAL).step_by(BATCH as usize) {
                let batch: Vec<Message> = (start..start + BATCH)
                    .map(|n| Message::new(n.to_string().into_bytes()))
                    .collect();
                publisher
                    .publish(Route::Raw, &batch)
                    .await
                    .expect("publish retries until confirmed");
                published.store(start + BATCH, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(15)).await;
            }
        })
    };

    let consumer_task = {
        let broker = broker.clone();
        tokio::spawn(async move {
            let mut consumer = broker.consumer(Route::Raw).await.expect("consumer");
            let mut seen: HashMap<u32, u32> = HashMap::new();
            let mut pending = Vec::new();
            while seen.len() < TOTAL as usize {
                let delivery = tokio::time::timeout(Duration::from_secs(120), consumer.next())
                    .await
                    .expect("deliveries keep coming")
                    .expect("next");
                let n: u32 = String::from_utf8_lossy(&delivery.payload)
                    .parse()
                    .expect("numbered");
                *seen.entry(n).or_default() += 1;
                pending.push(delivery.tag);
                // Fewer than the prefetch (32), or the broker stops delivering.
                if pending.len() >= 16 {
                    consumer.ack(&pending).await.expect("ack");
                    pending.clear();
                }
            }
            consumer.ack(&pending).await.expect("ack");
            seen
        })
    };

    // Restart the broker once a quarter of the stream is confirmed.
    while published.load(Ordering::SeqCst) < TOTAL / 4 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let guard = RestartGuard;
    tokio::task::spawn_blocking(|| loghaul_testkit::rabbitmqctl(&["stop_app"]))
        .await
        .expect("stop_app");
    let at_stop = published.load(Ordering::SeqCst);
    tokio::time::sleep(Duration::from_secs(2)).await;
    tokio::task::spawn_blocking(|| loghaul_testkit::rabbitmqctl(&["start_app"]))
        .await
        .expect("start_app");
    drop(guard);
    assert!(
        at_stop < TOTAL,
        "the restart happened mid-stream ({at_stop} of {TOTAL} confirmed)"
    );

    tokio::time::timeout(Duration::from_secs(180), publisher_task)
        .await
        .expect("the publisher finishes after the broker returns")
        .expect("publisher task");
    let seen = tokio::time::timeout(Duration::from_secs(180), consumer_task)
        .await
        .expect("the consumer sees every message")
        .expect("consumer task");

    let missing = (0..TOTAL).filter(|n| !seen.contains_key(n)).count();
    let duplicates: u32 = seen.values().map(|count| count - 1).sum();
    println!(
        "broker restart after {at_stop} of {TOTAL} confirmed: {missing} missing, {duplicates} delivered more than once"
    );
    assert_eq!(missing, 0);
    broker.delete_topology().await.expect("cleanup");
}
