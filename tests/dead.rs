//! `loghaul dead` on a real RabbitMQ: a poison message published to the raw
//! queue is dead-lettered by a real `loghaul parse`, listed (twice, the
//! same, and still there), shown decoded as far as it goes, replayed to the
//! queue it came from, and dead letters are purged only with confirmation.
//! Dead letters that do decode (an event batch sent to the raw queue, a raw
//! batch) are shown decoded, records and fields, and all replayed at once.

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
    parser_dead_letters_it(&config).await;

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

/// Dead letters that decode: an event batch published to the raw queue by
/// mistake, dead-lettered by a real parser (it takes only raw batches), and
/// a raw batch dead-lettered with the headers the AMQP consumer writes.
/// `show` prints each decoded, a raw batch's records and an event batch's
/// events with their fields; `replay --all` sends both back to the queue
/// they came from.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn decodable_dead_letters_are_shown_decoded_and_replayed_all() {
    use loghaul_model::codec::{encode_event_batch, encode_raw_batch};
    use loghaul_model::{EventBatch, FileIdentity, RawBatch, RawRecord};

    let dir = tempfile::tempdir().expect("tempdir");
    let prefix = loghaul_queue::contract::unique_prefix("deaddecoded");
    let config = loghaul_testkit::amqp_config(dir.path(), &prefix, "");
    let loaded = loghaul_config::load_file(&config).expect("config");
    let broker = AmqpBroker::new(
        loaded.queue.url.expose(),
        QueueSettings::from_config(&loaded.queue),
    );
    let lines = [
        "2026-11-30T10:00:00Z ERROR disk /data is full",
        "2026-11-30T10:00:01Z WARN retrying the write in 5s",
    ];
    let mut offset = 0;
    let raw = RawBatch {
        host: "dead-host".into(),
        source: "/var/log/app.log".into(),
        file: FileIdentity {
            device: 7,
            inode: 8,
            fingerprint: 9,
        },
        format_hint: None,
        records: lines
            .iter()
            .map(|line| {
                let record = RawRecord::new(offset, line.as_bytes().to_vec());
                offset += line.len() as u64 + 1;
                record
            })
            .collect(),
        read_time_unix_nano: 1_796_032_800_000_000_000,
        timezone: Some("UTC".into()),
        service: Some("app".into()),
        source_name: Some("app".into()),
    };
    let events = EventBatch {
        events: loghaul_parser::Parser::new(&loghaul_config::ParserConfig::default())
            .expect("parser")
            .parse_batch(&raw),
    };
    let event_payload = encode_event_batch(&events);
    let raw_payload = encode_raw_batch(&raw);

    // The event batch on the raw queue: a real parser dead-letters it.
    let mut publisher = broker.publisher().await.expect("publisher");
    publisher
        .publish(Route::Raw, &[message(&event_payload, None)])
        .await
        .expect("published");
    parser_dead_letters_it(&config).await;
    // A raw batch, dead-lettered as the AMQP consumer writes one.
    publisher
        .publish(
            Route::Dead,
            &[message(&raw_payload, Some("a reason the test wrote"))],
        )
        .await
        .expect("published");

    let listed = listing(&config);
    assert_eq!(listed["held"], 2, "{listed}");
    let letter = |kind: &str| -> serde_json::Value {
        listed["letters"]
            .as_array()
            .expect("letters")
            .iter()
            .find(|letter| letter["kind"] == kind)
            .unwrap_or_else(|| panic!("a {kind} in {listed}"))
            .clone()
    };
    let (raw_letter, event_letter) = (letter("raw batch"), letter("event batch"));
    assert_eq!(raw_letter["origin"], "raw");
    assert_eq!(raw_letter["reason"], "a reason the test wrote");
    assert_eq!(raw_letter["bytes"], raw_payload.len());
    assert_eq!(event_letter["origin"], "raw", "where the parser took it");
    let reason = event_letter["reason"].as_str().expect("reason");
    assert!(
        reason.contains("RawBatch") && reason.contains("EventBatch"),
        "the parser's reason names what it expected and what it got: {reason}"
    );

    // The raw batch shown decoded: where it was read, and every record.
    let show = |id: &serde_json::Value, json: bool| -> Output {
        let id = id.as_str().expect("id");
        let args: &[&str] = if json {
            &["show", id, "--json"]
        } else {
            &["show", id]
        };
        let output = dead(&config, args);
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        output
    };
    let shown: serde_json::Value =
        serde_json::from_slice(&show(&raw_letter["id"], true).stdout).expect("JSON");
    assert_eq!(
        shown["decoded"],
        serde_json::json!({
            "host": "dead-host",
            "source": "/var/log/app.log",
            "file": raw.file.to_key(),
            "records": [
                {"offset": 0, "text": lines[0]},
                {"offset": lines[0].len() + 1, "text": lines[1]},
            ],
        }),
        "{shown}"
    );
    assert_eq!(
        shown["headers"][loghaul_queue::DEAD_LETTER_REASON_HEADER],
        "a reason the test wrote"
    );
    let text = String::from_utf8_lossy(&show(&raw_letter["id"], false).stdout).into_owned();
    for line in lines {
        assert!(text.contains(line), "{line} in {text}");
    }

    // The event batch shown decoded: each event with its time, level, body
    // and resource, as the parser made it.
    let shown: serde_json::Value =
        serde_json::from_slice(&show(&event_letter["id"], true).stdout).expect("JSON");
    let decoded = &shown["decoded"];
    assert_eq!(
        *decoded,
        serde_json::to_value(&events).expect("JSON"),
        "{shown}"
    );
    let levels: Vec<&serde_json::Value> = decoded["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|event| &event["severity"]["text"])
        .collect();
    assert_eq!(levels, ["ERROR", "WARN"], "{decoded}");
    for (event, line) in decoded["events"]
        .as_array()
        .expect("events")
        .iter()
        .zip(lines)
    {
        let body = event["body"].as_str().expect("body");
        assert!(
            !body.is_empty() && line.ends_with(body),
            "{body:?} from {line:?}"
        );
        assert_eq!(event["resource"]["host"], "dead-host");
        assert_eq!(event["resource"]["source_name"], "app");
        assert!(
            event["timestamp_unix_nano"]
                .as_i64()
                .is_some_and(|nanos| nanos > 0)
        );
    }

    // Both sent back at once, each to the queue it came from.
    let replayed = dead(&config, &["replay", "--all", "--json"]);
    assert!(
        replayed.status.success(),
        "{}",
        String::from_utf8_lossy(&replayed.stderr)
    );
    let replayed: serde_json::Value = serde_json::from_slice(&replayed.stdout).expect("JSON");
    assert_eq!(
        replayed["replayed"].as_array().map(Vec::len),
        Some(2),
        "{replayed}"
    );
    assert_eq!(replayed["not_found"], serde_json::json!([]));
    assert_eq!(listing(&config)["held"], 0);
    let mut back = Vec::new();
    let mut queue = broker.consumer(Route::Raw).await.expect("consumer");
    for _ in 0..2 {
        let delivery = tokio::time::timeout(Duration::from_secs(10), queue.next())
            .await
            .expect("replayed to raw")
            .expect("delivery");
        back.push(delivery.payload.to_vec());
        queue.ack(&[delivery.tag]).await.expect("ack");
    }
    back.sort();
    let mut sent = vec![raw_payload, event_payload];
    sent.sort();
    assert_eq!(back, sent, "both, byte for byte");
    drop(queue);

    broker.delete_topology().await.expect("cleanup");
}

/// Runs a real parser until the dead-letter queue holds one message, then
/// stops it with SIGTERM.
async fn parser_dead_letters_it(config: &Path) {
    let mut parser = loghaul_testkit::spawn_role(Path::new(BIN), "parse", config);
    let deadline = Instant::now() + Duration::from_secs(60);
    while listing(config)["held"] != 1 {
        assert!(Instant::now() < deadline, "never dead-lettered");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Command::new("kill")
        .args(["-TERM", &parser.id().to_string()])
        .status()
        .expect("kill");
    assert!(parser.wait().expect("exit").success());
}
