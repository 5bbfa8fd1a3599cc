//! The queue contract against the real RabbitMQ.

use std::sync::Arc;

use loghaul_queue::{AmqpBroker, Broker, QueueError, QueueSettings};

async fn factory(settings: QueueSettings) -> Arc<dyn Broker> {
    let broker = AmqpBroker::new(&loghaul_testkit::amqp_url(), settings);
    broker
        .check()
        .await
        .expect("RabbitMQ must answer at LOGHAUL_TEST_AMQP_URL or 127.0.0.1:5672");
    Arc::new(broker)
}

loghaul_queue::contract_tests!(factory);

#[tokio::test]
async fn queues_are_durable_quorum_queues_with_reject_publish() {
    let prefix = loghaul_queue::contract::unique_prefix("args");
    let broker = factory(QueueSettings::with_prefix(prefix.clone())).await;
    let output = std::process::Command::new("rabbitmqctl")
        .args([
            "list_queues",
            "name",
            "durable",
            "type",
            "arguments",
            "--no-table-headers",
            "--quiet",
        ])
        .output()
        .expect("rabbitmqctl runs");
    let listing = String::from_utf8_lossy(&output.stdout);
    let ours: Vec<&str> = listing
        .lines()
        .filter(|line| line.starts_with(&prefix))
        .collect();
    assert_eq!(ours.len(), 3, "raw, dead and one events queue: {ours:?}");
    for line in ours {
        assert!(
            line.contains("\ttrue\tquorum\t"),
            "durable quorum queue: {line}"
        );
        assert!(
            line.contains("reject-publish"),
            "overflow refuses, never drops: {line}"
        );
    }
    broker.delete_topology().await.expect("cleanup");
}

#[tokio::test]
async fn a_wrong_password_is_a_clear_error() {
    let url = loghaul_testkit::amqp_url().replacen("guest:guest", "guest:wrong", 1);
    let broker = AmqpBroker::new(&url, QueueSettings::with_prefix("never-declared"));
    let error = broker
        .check()
        .await
        .expect_err("bad credentials are refused");
    assert!(
        matches!(error, QueueError::Connection(_) | QueueError::Refused(_)),
        "{error:?}"
    );
}
