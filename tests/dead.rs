//! `loghaul dead` on a real RabbitMQ: a poison message published to the raw
//! queue is dead-lettered by a real `loghaul parse`, listed (twice, the
//! same, and still there), shown decoded as far as it goes, replayed to the
//! queue it came from, and dead letters are purged only with confirmation.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use loghaul_queue::{AmqpBroker, Broker, Message, QueueSettings, Route};

const BIN: &str = env!("CARGO_BIN_EXE_loghaul");

fn dead(config: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("dead")
        .args(args)
        .arg("-c")
        .arg(config)
        .stdin(Stdio::null())
        .output()
        .expect("loghaul dead runs")
}

fn listing(config: &Path) -> serde_json::Value {
    let output = dead(config, &["ls", "--json"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("JSON")
}

fn message(payload: &[u8], reason: Option<&str>) -> Message {
    let mut headers = loghaul_queue::Headers::new();
    if let Some(reason) = reason {
        headers.insert(
            loghaul_queue::DEAD_LETTER_REASON_HEADER.into(),
            reason.into(),
        );
        headers.insert(
            loghaul_queue::DEAD_LETTER_ORIGIN_HEADER.into(),
            "raw".into(),
        );
    }
    Message {
        payload: payload.to_vec().into(),
        headers,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poison_message_is_listed_shown_replayed_and_purged() {
    let dir = tempfile::tempdir().expect("tempdir");
    let prefix = loghaul_queue::contract::unique_prefix("dead");
    let config = loghaul_testkit::amqp_config(dir.path(), &prefix, "");
    let loaded = loghaul_config::load_file(&config).expect("config");
    let broker = AmqpBroker::new(
        loaded.queue.url.expose(),
        QueueSettings::from_config(&loaded.queue),
    );
    let poison: &[u8] = b"LH\x07 this is no loghaul batch";
    let mut publisher = broker.publisher().await.expect("publisher");
    publisher
        .publish(Route::Raw, &[message(poison, None)])
        .await
        .expect("published");

    // A real parser dead-letters it.
    let mut parser = loghaul_testkit::spawn_role(Path::new(BIN), "parse", &config);
    let deadline = Instant::now() + Duration::from_secs(60);
    while listing(&config)["held"] != 1 {
        assert!(Instant::now() < deadline, "never dead-lettered");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Command::new("kill")
        .args(["-TERM", &parser.id().to_string()])
        .status()
        .expect("kill");
    assert!(parser.wait().expect("exit").success());

    // Listed, the same twice, and still there.
    let first = listing(&config);
    let second = listing(&config);
    assert_eq!(first, second, "listing takes nothing");
    let letter = &first["letters"][0];
    let id = letter["id"].as_str().expect("id").to_owned();
    assert_eq!(id.len(), 12);
    assert_eq!(letter["origin"], "raw");
    assert_eq!(letter["bytes"], poison.len());
    assert_eq!(letter["kind"], "not a loghaul envelope");
    assert!(
        !letter["reason"].as_str().expect("reason").is_empty()
            && letter["reason"] != "(no reason recorded)",
        "{letter}"
    );
    let text = dead(&config, &["ls"]);
    let table = String::from_utf8_lossy(&text.stdout);
    assert!(
        table.contains(&id) && table.contains("1 dead letter(s)"),
        "{table}"
    );

    // Shown as far as it decodes.
    let shown = dead(&config, &["show", &id, "--json"]);
    assert!(shown.status.success());
    let shown: serde_json::Value = serde_json::from_slice(&shown.stdout).expect("JSON");
    assert!(!shown["decoded"]["undecodable"].is_null(), "{shown}");
    assert_eq!(
        shown["decoded"]["text"],
        String::from_utf8_lossy(poison).as_ref()
    );
    assert_eq!(
        dead(&config, &["show", "000000000000"]).status.code(),
        Some(1)
    );

    // Replayed to the raw queue, once, without the dead-letter headers.
    let replayed = dead(&config, &["replay", &id]);
    assert!(
        replayed.status.success(),
        "{}",
        String::from_utf8_lossy(&replayed.stderr)
    );
    assert_eq!(listing(&config)["held"], 0);
    let mut raw = broker.consumer(Route::Raw).await.expect("consumer");
    let delivery = tokio::time::timeout(Duration::from_secs(10), raw.next())
        .await
        .expect("replayed to raw")
        .expect("delivery");
    assert_eq!(&delivery.payload[..], poison);
    assert!(
        !delivery
            .headers
            .contains_key(loghaul_queue::DEAD_LETTER_REASON_HEADER)
    );
    raw.ack(&[delivery.tag]).await.expect("ack");
    drop(raw);

    // Purged only when confirmed; an unknown id is an error (exit 1).
    publisher
        .publish(
            Route::Dead,
            &[
                message(b"first poison", Some("bad one")),
                message(b"second poison", Some("bad two")),
            ],
        )
        .await
        .expect("published");
    let before = listing(&config);
    assert_eq!(before["held"], 2);
    let refused = dead(&config, &["purge", "--all"]);
    assert_eq!(
        refused.status.code(),
        Some(2),
        "no --yes without a terminal"
    );
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--yes"));
    assert_eq!(listing(&config)["held"], 2, "nothing purged");
    let one = before["letters"][0]["id"].as_str().expect("id").to_owned();
    let purged = dead(&config, &["purge", &one, "--yes"]);
    assert!(purged.status.success());
    let after = listing(&config);
    assert_eq!(after["held"], 1);
    assert_ne!(after["letters"][0]["id"], one.as_str());
    assert_eq!(
        dead(&config, &["replay", "nosuchid0000"]).status.code(),
        Some(1)
    );
    assert!(dead(&config, &["purge", "--all", "--yes"]).status.success());
    assert_eq!(listing(&config)["held"], 0);

    // The embedded queue is not RabbitMQ: said, exit 2.
    let disk = dir.path().join("disk.toml");
    std::fs::write(&disk, "[queue]\nkind = \"disk\"\n").expect("config");
    let wrong = dead(&disk, &["ls"]);
    assert_eq!(wrong.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("amqp"));

    broker.delete_topology().await.expect("cleanup");
}
