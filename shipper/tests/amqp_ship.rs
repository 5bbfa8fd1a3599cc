//! The shipper end to end against the real RabbitMQ.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use loghaul_model::codec;
use loghaul_queue::{AmqpBroker, Broker, Consumer, QueueSettings, Route};
use tokio_util::sync::CancellationToken;

fn append_lines(path: &Path, numbers: std::ops::Range<u32>) {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .expect("open");
    let mut text = String::new();
    for number in numbers {
        text.push_str(&format!("line {number}\n"));
    }
    file.write_all(text.as_bytes()).expect("append");
}

/// Receives until `count` distinct lines have arrived; returns how often
/// each arrived.
async fn collect(consumer: &mut dyn Consumer, seen: &mut HashMap<u32, u32>, count: usize) {
    while seen.len() < count {
        let delivery = tokio::time::timeout(Duration::from_secs(30), consumer.next())
            .await
            .unwrap_or_else(|_| panic!("stalled at {} of {count} lines", seen.len()))
            .expect("delivery");
        let batch = codec::decode_raw_batch(&delivery.payload).expect("a RawBatch");
        assert_eq!(batch.host, "test-host");
        for record in &batch.records {
            let text = String::from_utf8_lossy(&record.bytes);
            let number: u32 = text.trim_start_matches("line ").parse().expect("numbered");
            *seen.entry(number).or_default() += 1;
        }
        consumer.ack(&[delivery.tag]).await.expect("ack");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ships_through_rotation_and_resumes_after_a_clean_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let logs = dir.path().join("logs");
    std::fs::create_dir_all(&logs).expect("mkdir");
    let prefix = loghaul_queue::contract::unique_prefix("ship");
    let text = format!(
        "data_dir = \"{data}\"\nhost = \"test-host\"\n[queue]\nkind = \"amqp\"\nurl = \"{url}\"\nprefix = \"{prefix}\"\n\
         [[shipper.sources]]\nname = \"app\"\npaths = [\"{logs}/*.log\"]\n[shipper.batch]\nmax_wait = \"50ms\"\n",
        data = dir.path().join("data").display(),
        url = loghaul_testkit::amqp_url(),
        logs = logs.display(),
    );
    let config = loghaul_config::load_str(&text, "test.toml", &|_| None).expect("valid config");
    let broker: Arc<dyn Broker> = Arc::new(AmqpBroker::new(
        config.queue.url.expose(),
        QueueSettings::from_config(&config.queue),
    ));
    let mut consumer = broker.consumer(Route::Raw).await.expect("consumer");

    let app = logs.join("app.log");
    append_lines(&app, 0..5000);
    let shutdown = CancellationToken::new();
    let shipping = tokio::spawn({
        let (config, broker, shutdown) = (config.clone(), broker.clone(), shutdown.clone());
        async move { loghaul_shipper::ship(&config, broker, shutdown).await }
    });
    let mut seen = HashMap::new();
    collect(consumer.as_mut(), &mut seen, 5000).await;

    // Rename rotation; the writer still appends to the old file for a while.
    let rotated = logs.join("app.log.1");
    std::fs::rename(&app, &rotated).expect("rotate");
    append_lines(&rotated, 5000..6000);
    append_lines(&app, 6000..9000);
    collect(consumer.as_mut(), &mut seen, 9000).await;

    shutdown.cancel();
    let report = shipping.await.expect("task").expect("clean stop");
    assert_eq!(report.records, 9000);
    let duplicates: u32 = seen.values().map(|count| count - 1).sum();
    assert_eq!(duplicates, 0, "no duplicates without a crash");

    // A clean restart ships only what is new.
    let shutdown = CancellationToken::new();
    let shipping = tokio::spawn({
        let (config, broker, shutdown) = (config.clone(), broker.clone(), shutdown.clone());
        async move { loghaul_shipper::ship(&config, broker, shutdown).await }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    append_lines(&app, 9000..9010);
    collect(consumer.as_mut(), &mut seen, 9010).await;
    if let Ok(extra) = tokio::time::timeout(Duration::from_millis(700), consumer.next()).await {
        panic!("nothing else should arrive after the restart, got {extra:?}");
    }
    shutdown.cancel();
    let report = shipping.await.expect("task").expect("clean stop");
    assert_eq!(
        report.records, 10,
        "only the 10 new lines after the restart"
    );
    assert!(seen.values().all(|count| *count == 1));
    drop(consumer);
    broker.delete_topology().await.expect("cleanup");
}
