//! The disk queue on a really full file system (a small tmpfs): a publish
//! is refused as `Full` (retryable) and counted, acknowledgements hold in
//! memory, and once space returns the same publish goes through and the
//! held acks reach the disk: a reopen redelivers exactly what was not
//! acknowledged.

use loghaul_durable::{Store, retries};
use loghaul_queue::{Broker, DiskBroker, Message, QueueError, QueueSettings, Route};
use loghaul_testkit::Tmpfs;

fn settings() -> QueueSettings {
    let mut settings = QueueSettings::with_prefix("full");
    settings.shards = 1;
    settings.prefetch = 100;
    settings
}

fn numbered(range: std::ops::Range<u32>) -> Vec<Message> {
    range
        .map(|n| {
            let mut payload = n.to_le_bytes().to_vec();
            payload.resize(8 << 10, b'x');
            Message::new(payload)
        })
        .collect()
}

fn number(payload: &[u8]) -> u32 {
    u32::from_le_bytes(payload[..4].try_into().expect("4 bytes"))
}

#[tokio::test]
async fn a_full_disk_refuses_publishes_as_full_and_loses_no_ack() {
    let tmpfs = Tmpfs::mount("2m");
    let root = tmpfs.path().join("queue");
    {
        let broker = DiskBroker::open(&root, settings(), 1 << 30).expect("open");
        let mut publisher = broker.publisher().await.expect("publisher");
        publisher
            .publish(Route::Raw, &numbered(0..10))
            .await
            .expect("room at first");
        let mut consumer = broker.consumer(Route::Raw).await.expect("consumer");
        let mut tags = Vec::new();
        for _ in 0..5 {
            tags.push(consumer.next().await.expect("delivery").tag);
        }

        let ballast = tmpfs.fill();
        let before = retries(Store::Queue);
        let error = publisher
            .publish(Route::Raw, &numbered(10..20))
            .await
            .expect_err("the disk is full");
        assert!(
            matches!(error, QueueError::Full { .. }) && error.is_retryable(),
            "{error}"
        );
        assert!(error.to_string().contains("disk full"), "{error}");
        assert!(retries(Store::Queue) > before, "the refusal is counted");
        // Acks while full hold in memory.
        consumer
            .ack(&tags)
            .await
            .expect("an ack never fails on a full disk");
        let mut metrics = String::new();
        loghaul_durable::render_metrics(&mut metrics);
        assert!(
            metrics.contains("loghaul_disk_full_paused{store=\"queue\"} 1"),
            "{metrics}"
        );

        std::fs::remove_file(ballast).expect("space returns");
        publisher
            .publish(Route::Raw, &numbered(10..20))
            .await
            .expect("the same publish goes through once space returns");
        let mut metrics = String::new();
        loghaul_durable::render_metrics(&mut metrics);
        assert!(
            metrics.contains("loghaul_disk_full_paused{store=\"queue\"} 0"),
            "{metrics}"
        );
    }
    // Everything not acknowledged, nothing acknowledged.
    let broker = DiskBroker::open(&root, settings(), 1 << 30).expect("reopen");
    assert_eq!(broker.depth(Route::Raw), 15);
    let mut consumer = broker.consumer(Route::Raw).await.expect("consumer");
    let mut seen = Vec::new();
    for _ in 0..15 {
        seen.push(number(&consumer.next().await.expect("delivery").payload));
    }
    let wanted: Vec<u32> = (5..20).collect();
    assert_eq!(seen, wanted);
}
