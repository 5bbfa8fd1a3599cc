//! The spot watcher against a metadata server on loopback that speaks each
//! cloud's protocol and enforces its headers.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use loghaul_config::SpotProvider;
use loghaul_shipper::spot::{Notice, SpotWatcher};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::sync::CancellationToken;

#[derive(Clone, Copy, PartialEq)]
enum Cloud {
    Aws,
    Gcp,
    Azure,
}

struct State {
    notice: bool,
    tokens_issued: u32,
    azure_acks: Vec<String>,
    /// When the notice says the machine goes away, from the notice on:
    /// AWS gives two minutes; Azure at least 30 s.
    deadline: jiff::Timestamp,
}

impl Default for State {
    fn default() -> Self {
        State {
            notice: false,
            tokens_issued: 0,
            azure_acks: Vec::new(),
            deadline: jiff::Timestamp::now() + jiff::SignedDuration::from_secs(120),
        }
    }
}

struct FakeMetadata {
    endpoint: String,
    state: Arc<Mutex<State>>,
}

impl FakeMetadata {
    async fn start(cloud: Cloud) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let endpoint = format!("http://{}", listener.local_addr().expect("addr"));
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let state = shared.clone();
                tokio::spawn(async move {
                    let mut buffer = vec![0u8; 8192];
                    let mut read = 0;
                    // Read the head and the body its Content-Length announces.
                    loop {
                        let Ok(count) = stream.read(&mut buffer[read..]).await else {
                            return;
                        };
                        read += count;
                        let text = String::from_utf8_lossy(&buffer[..read]).into_owned();
                        if let Some((head, body)) = text.split_once("\r\n\r\n") {
                            let length = head
                                .lines()
                                .find_map(|line| line.strip_prefix("Content-Length: "))
                                .and_then(|value| value.trim().parse::<usize>().ok())
                                .unwrap_or(0);
                            if body.len() >= length || count == 0 {
                                let (status, reply) = respond(cloud, &state, head, body);
                                let response = format!(
                                    "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{reply}",
                                    reply.len()
                                );
                                let _ = stream.write_all(response.as_bytes()).await;
                                return;
                            }
                        }
                        if count == 0 {
                            return;
                        }
                    }
                });
            }
        });
        FakeMetadata { endpoint, state }
    }

    fn give_notice(&self) {
        self.give_notice_with(Duration::from_secs(120));
    }

    /// A notice whose deadline is `left` from now.
    fn give_notice_with(&self, left: Duration) {
        let mut state = self.state.lock().expect("state");
        state.notice = true;
        state.deadline =
            jiff::Timestamp::now() + jiff::SignedDuration::try_from(left).expect("a duration");
    }
}

fn respond(cloud: Cloud, state: &Mutex<State>, head: &str, body: &str) -> (u16, String) {
    let mut lines = head.lines();
    let request_line = lines.next().unwrap_or_default().to_owned();
    let headers: Vec<String> = lines.map(str::to_owned).collect();
    let has = |header: &str| headers.iter().any(|line| line.eq_ignore_ascii_case(header));
    let mut state = state.lock().expect("state");
    let notice = state.notice;
    let path = request_line.split(' ').nth(1).unwrap_or_default();
    match (
        cloud,
        request_line.split(' ').next().unwrap_or_default(),
        path,
    ) {
        (Cloud::Aws, "PUT", "/latest/api/token") => {
            if !headers
                .iter()
                .any(|line| line.starts_with("X-aws-ec2-metadata-token-ttl-seconds: "))
            {
                return (400, "missing ttl".into());
            }
            state.tokens_issued += 1;
            (200, "token-abc".into())
        }
        (Cloud::Aws, "GET", path) if path.starts_with("/latest/meta-data/") => {
            if !has("X-aws-ec2-metadata-token: token-abc") {
                return (401, String::new());
            }
            match (path, notice) {
                ("/latest/meta-data/spot/instance-action", true) => (
                    200,
                    format!(
                        r#"{{"action": "terminate", "time": "{}"}}"#,
                        state.deadline.strftime("%Y-%m-%dT%H:%M:%SZ")
                    ),
                ),
                _ => (404, String::new()),
            }
        }
        (Cloud::Gcp, "GET", path) if path.starts_with("/computeMetadata/v1/") => {
            if !has("Metadata-Flavor: Google") {
                return (403, String::new());
            }
            match path {
                "/computeMetadata/v1/instance/preempted" => {
                    (200, if notice { "TRUE" } else { "FALSE" }.into())
                }
                _ => (200, "instance/\n".into()),
            }
        }
        (Cloud::Azure, method, path)
            if path.starts_with("/metadata/scheduledevents?api-version=") =>
        {
            if !has("Metadata: true") {
                return (400, String::new());
            }
            if method == "POST" {
                let json: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
                if let Some(id) = json["StartRequests"][0]["EventId"].as_str() {
                    state.azure_acks.push(id.to_owned());
                }
                return (200, String::new());
            }
            let events = if notice {
                let not_before = jiff::fmt::rfc2822::DateTimePrinter::new()
                    .timestamp_to_rfc9110_string(&state.deadline)
                    .expect("a date");
                format!(
                    r#"[{{"EventId": "602d9444-d2cd-49c7-8624-8643e7171297", "EventType": "Preempt", "NotBefore": "{not_before}"}}]"#
                )
            } else {
                "[]".to_owned()
            };
            (
                200,
                format!(r#"{{"DocumentIncarnation": 1, "Events": {events}}}"#),
            )
        }
        _ => (404, String::new()),
    }
}

fn watcher(provider: SpotProvider, fake: &FakeMetadata) -> SpotWatcher {
    SpotWatcher::new(provider, &fake.endpoint, Duration::from_millis(50)).expect("valid endpoint")
}

#[tokio::test]
async fn aws_uses_an_imdsv2_token_and_sees_the_instance_action() {
    let fake = FakeMetadata::start(Cloud::Aws).await;
    let mut watcher = watcher(SpotProvider::Aws, &fake);
    assert_eq!(watcher.poll().await.expect("poll"), None);
    fake.give_notice();
    let notice = watcher.poll().await.expect("poll").expect("a notice");
    let Notice::AwsInstanceAction { action, .. } = &notice else {
        panic!("{notice:?}");
    };
    assert_eq!(action, "terminate");
    let deadline = notice.deadline().expect("its deadline");
    let left = deadline
        .duration_since(std::time::SystemTime::now())
        .expect("ahead");
    assert!(
        left > Duration::from_secs(100) && left <= Duration::from_secs(120),
        "{left:?}"
    );
    assert_eq!(
        fake.state.lock().expect("state").tokens_issued,
        1,
        "the token is reused"
    );
}

#[tokio::test]
async fn gcp_needs_its_header_and_sees_preemption() {
    let fake = FakeMetadata::start(Cloud::Gcp).await;
    let mut watcher = watcher(SpotProvider::Gcp, &fake);
    assert_eq!(watcher.poll().await.expect("poll"), None);
    fake.give_notice();
    assert_eq!(
        watcher.poll().await.expect("poll"),
        Some(Notice::GcpPreempted)
    );
}

#[tokio::test]
async fn azure_sees_preempt_and_acknowledges_after_the_drain() {
    let fake = FakeMetadata::start(Cloud::Azure).await;
    let mut watcher = watcher(SpotProvider::Azure, &fake);
    assert_eq!(watcher.poll().await.expect("poll"), None);
    fake.give_notice();
    let notice = watcher.poll().await.expect("poll").expect("a notice");
    assert!(
        matches!(&notice, Notice::AzurePreempt { event_id, .. } if event_id == "602d9444-d2cd-49c7-8624-8643e7171297")
    );
    let left = notice
        .deadline()
        .expect("NotBefore read")
        .duration_since(std::time::SystemTime::now())
        .expect("ahead");
    assert!(
        left > Duration::from_secs(100) && left <= Duration::from_secs(120),
        "{left:?}"
    );
    assert!(
        fake.state.lock().expect("state").azure_acks.is_empty(),
        "not acknowledged before the drain"
    );
    watcher.acknowledge(&notice).await.expect("acknowledged");
    assert_eq!(
        fake.state.lock().expect("state").azure_acks,
        ["602d9444-d2cd-49c7-8624-8643e7171297"]
    );
}

#[tokio::test]
async fn auto_finds_each_provider() {
    for (cloud, provider) in [
        (Cloud::Aws, SpotProvider::Aws),
        (Cloud::Gcp, SpotProvider::Gcp),
        (Cloud::Azure, SpotProvider::Azure),
    ] {
        let fake = FakeMetadata::start(cloud).await;
        let mut watcher = watcher(SpotProvider::Auto, &fake);
        assert_eq!(watcher.poll().await.expect("poll"), None);
        assert_eq!(watcher.provider(), provider);
        fake.give_notice();
        assert!(watcher.poll().await.expect("poll").is_some());
    }
}

#[tokio::test]
async fn watch_returns_the_notice_or_stops_when_cancelled() {
    let fake = FakeMetadata::start(Cloud::Gcp).await;
    let mut first = watcher(SpotProvider::Gcp, &fake);
    let stop = CancellationToken::new();
    let watching = tokio::spawn(async move { first.watch(stop).await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    fake.give_notice();
    let notice = tokio::time::timeout(Duration::from_secs(10), watching)
        .await
        .expect("returns")
        .expect("task");
    assert_eq!(notice, Some(Notice::GcpPreempted));

    let quiet = FakeMetadata::start(Cloud::Aws).await;
    let mut second = watcher(SpotProvider::Aws, &quiet);
    let stop = CancellationToken::new();
    let cancel = stop.clone();
    let watching = tokio::spawn(async move { second.watch(stop).await });
    tokio::time::sleep(Duration::from_millis(150)).await;
    cancel.cancel();
    let result = tokio::time::timeout(Duration::from_secs(10), watching)
        .await
        .expect("stops")
        .expect("task");
    assert_eq!(result, None);
}

#[test]
fn endpoints_must_be_plain_http_hosts() {
    for bad in [
        "https://169.254.169.254",
        "169.254.169.254",
        "http://",
        "http://host/path",
    ] {
        assert!(
            SpotWatcher::new(SpotProvider::Aws, bad, Duration::from_secs(1)).is_err(),
            "{bad}"
        );
    }
    assert!(
        SpotWatcher::new(
            SpotProvider::Aws,
            "http://169.254.169.254",
            Duration::from_secs(1)
        )
        .is_ok()
    );
}

/// Writes `total` bytes of numbered lines into 4 files; returns the line count.
fn write_unarchived(logs: &std::path::Path, total: u64) -> u64 {
    use std::io::Write;
    let mut lines = 0u64;
    for file in 0..4 {
        let mut out = std::io::BufWriter::new(
            std::fs::File::create(logs.join(format!("app-{file}.log"))).expect("create"),
        );
        let mut written = 0;
        while written < total / 4 {
            let line = format!(
                "line {lines} of the data a spot notice must not lose, padded to a realistic length\n"
            );
            out.write_all(line.as_bytes()).expect("write");
            written += line.len() as u64;
            lines += 1;
        }
        out.flush().expect("flush");
    }
    lines
}

/// Ships with the config `text` (RabbitMQ) until a notice whose deadline is
/// `left` away ends it: the report, how long the drain took, and the broker.
async fn ship_until_notice(
    text: &str,
    fake: &FakeMetadata,
    left: Duration,
) -> (
    loghaul_shipper::ShipReport,
    Duration,
    std::sync::Arc<dyn loghaul_queue::Broker>,
) {
    use loghaul_queue::Broker;
    let config = loghaul_config::load_str(text, "spot.toml", &|_| None).expect("valid config");
    let broker: std::sync::Arc<dyn Broker> = std::sync::Arc::new(loghaul_queue::AmqpBroker::new(
        config.queue.url.expose(),
        loghaul_queue::QueueSettings::from_config(&config.queue),
    ));
    broker
        .consumer(loghaul_queue::Route::Raw)
        .await
        .expect("declare the queue");
    let shipping = tokio::spawn({
        let (config, broker) = (config.clone(), broker.clone());
        // Never cancelled: only the notice stops it.
        async move { loghaul_shipper::ship(&config, broker, CancellationToken::new()).await }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    fake.give_notice_with(left);
    let noticed = std::time::Instant::now();
    let report = tokio::time::timeout(Duration::from_secs(300), shipping)
        .await
        .expect("the drain ends by itself")
        .expect("task")
        .expect("clean drain");
    (report, noticed.elapsed(), broker)
}

#[allow(clippy::print_stdout)]
async fn drain_on_notice(cloud: Cloud, provider: &str, total: u64) {
    use loghaul_archive::ObjectStore;

    let fake = FakeMetadata::start(cloud).await;
    let server = loghaul_testkit::S3Server::start();
    let connection = loghaul_archive::S3Connection {
        endpoint: Some(server.endpoint()),
        region: "us-east-1".into(),
        force_path_style: true,
        static_credentials: Some((
            loghaul_testkit::S3_ACCESS_KEY.into(),
            loghaul_testkit::S3_SECRET_KEY.into(),
        )),
        checksum_when_required: false,
    };
    let bucket = loghaul_archive::S3Store::connect(
        &connection,
        "spot",
        "",
        loghaul_archive::StoreOptions::default(),
    )
    .await;
    bucket.create_bucket_if_missing().await.expect("bucket");
    let dir = tempfile::tempdir().expect("tempdir");
    let logs = dir.path().join("logs");
    std::fs::create_dir_all(&logs).expect("mkdir");
    let lines = write_unarchived(&logs, total);

    let text = format!(
        "data_dir = \"{data}\"\nhost = \"spot-host\"\n[queue]\nkind = \"amqp\"\nurl = \"{url}\"\nprefix = \"{prefix}\"\n\
         [shipper]\ndrain_timeout = \"90s\"\n[shipper.spot]\nprovider = \"{provider}\"\nendpoint = \"{endpoint}\"\npoll_interval = \"100ms\"\n\
         [shipper.batch]\nmax_wait = \"50ms\"\n\
         [archive]\nurl = \"s3://spot\"\nendpoint = \"{s3}\"\nforce_path_style = true\naccess_key_id = \"{key}\"\nsecret_access_key = \"{secret}\"\ngzip_level = 1\n\
         [[shipper.sources]]\nname = \"app\"\npaths = [\"{logs}/*.log\"]\n",
        data = dir.path().join("data").display(),
        url = loghaul_testkit::amqp_url(),
        prefix = loghaul_queue::contract::unique_prefix("spot"),
        endpoint = fake.endpoint,
        s3 = server.endpoint(),
        key = loghaul_testkit::S3_ACCESS_KEY,
        secret = loghaul_testkit::S3_SECRET_KEY,
        logs = logs.display(),
    );
    let (report, drain, broker) = ship_until_notice(&text, &fake, Duration::from_secs(120)).await;
    assert_eq!(
        report.records, lines,
        "every line was published to the queue and confirmed before exiting"
    );
    println!(
        "{provider}: {} MiB not yet archived, drained into S3 in {drain:.2?}",
        total >> 20
    );

    let rotated: Vec<std::path::PathBuf> = std::fs::read_dir(&logs)
        .expect("logs")
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_none_or(|ext| ext != "log"))
        .collect();
    assert_eq!(
        rotated.len(),
        4,
        "every managed file rotated at the notice: {rotated:?}"
    );
    let objects = loghaul_archive::catalog::only_objects(bucket.list("").await.expect("list"));
    assert_eq!(objects.len(), 4, "one object per rotated file");
    let mut archived_bytes = 0u64;
    for path in &rotated {
        let sha256 = loghaul_archive::digest_file(path)
            .await
            .expect("digest")
            .sha256;
        let mut matched = false;
        for object in &objects {
            let info = bucket
                .head(&object.key)
                .await
                .expect("head")
                .expect("exists");
            if info.metadata.get("sha256") == Some(&sha256) {
                assert_eq!(
                    info.metadata.get("reason").map(String::as_str),
                    Some("spot")
                );
                archived_bytes += info
                    .metadata
                    .get("raw-size")
                    .and_then(|size| size.parse::<u64>().ok())
                    .unwrap_or(0);
                matched = true;
            }
        }
        assert!(
            matched,
            "{} is in S3, verified by its sha256",
            path.display()
        );
    }
    assert!(
        archived_bytes >= total,
        "all {total} bytes archived, got {archived_bytes}"
    );
    if cloud == Cloud::Azure {
        assert_eq!(
            fake.state.lock().expect("state").azure_acks.len(),
            1,
            "acknowledged after the drain"
        );
    }
    broker.delete_topology().await.expect("cleanup");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_aws_notice_drains_200_mib_into_s3() {
    drain_on_notice(Cloud::Aws, "aws", 200 << 20).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gcp_preemption_drains_200_mib_into_s3() {
    drain_on_notice(Cloud::Gcp, "gcp", 200 << 20).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_azure_preempt_event_drains_200_mib_then_acknowledges() {
    drain_on_notice(Cloud::Azure, "azure", 200 << 20).await;
}

/// The log lines of this test binary: one subscriber, installed by the
/// first test that asks, writes into this buffer for every test.
fn captured_logs() -> Arc<Mutex<Vec<u8>>> {
    struct Capture(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Capture {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    static LOGS: std::sync::OnceLock<Arc<Mutex<Vec<u8>>>> = std::sync::OnceLock::new();
    LOGS.get_or_init(|| {
        let logs: Arc<Mutex<Vec<u8>>> = Arc::default();
        let writer = logs.clone();
        let _ = tracing_subscriber::fmt()
            .with_writer(move || Capture(writer.clone()))
            .with_ansi(false)
            .with_max_level(tracing::Level::INFO)
            .try_init();
        logs
    })
    .clone()
}

/// The number after `name=` in a log line.
fn logged_number(line: &str, name: &str) -> Option<f64> {
    line.split_whitespace()
        .find_map(|word| word.strip_prefix(name)?.strip_prefix('=')?.parse().ok())
}

/// A server that accepts connections and never answers: an object store
/// that hangs. Counts the connections.
fn stalled_server() -> (std::net::SocketAddr, Arc<std::sync::atomic::AtomicUsize>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = listener.local_addr().expect("addr");
    let connections: Arc<std::sync::atomic::AtomicUsize> = Arc::default();
    let counted = connections.clone();
    std::thread::spawn(move || {
        let mut open = Vec::new();
        for stream in listener.incoming().flatten() {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            // Kept open, never read from or answered.
            open.push(stream);
        }
    });
    (address, connections)
}

/// A notice whose own deadline (8 s) is nearer than `drain_timeout` (300 s)
/// bounds the whole drain, not each step of it. Every step is held as long
/// as it may be: the broker refuses every connection (so the rotated files
/// never finish, no confirmation comes and the publisher never succeeds),
/// and the archive accepts connections and never answers (a rotated file
/// from before is in the spool, its upload hanging). The drain still ends
/// by the deadline plus a few seconds, and logs the time left as it goes:
/// at its start, when the tailer and the publisher are done, and at its end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::print_stdout)]
async fn a_notice_deadline_nearer_than_drain_timeout_bounds_the_drain() {
    use tracing::Instrument;
    let logs = captured_logs();
    let fake = FakeMetadata::start(Cloud::Aws).await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let refusing_broker = closed.local_addr().expect("addr");
    drop(closed);
    let (hanging_s3, s3_connections) = stalled_server();
    let dir = tempfile::tempdir().expect("tempdir");
    let logs_dir = dir.path().join("logs");
    std::fs::create_dir_all(&logs_dir).expect("mkdir");
    let lines = write_unarchived(&logs_dir, 256 << 10);
    // A file rotated before this run, waiting in the spool for the archive.
    let old = dir.path().join("old.log.1");
    std::fs::write(&old, "2026-11-30T09:00:00Z INFO an older file\n").expect("write");
    loghaul_archive::Spool::open(&dir.path().join("data/shipper/archive-spool"))
        .expect("spool")
        .enqueue(&loghaul_archive::ArchiveRequest {
            raw_path: old.clone(),
            source_path: "/var/log/old.log".into(),
            host: "spot-host".into(),
            file: loghaul_model::FileIdentity::of_path(&old, 1).expect("stat"),
            reason: loghaul_model::RotationReason::Size,
        })
        .expect("enqueued");
    let text = format!(
        "data_dir = \"{data}\"\nhost = \"spot-host\"\n[queue]\nkind = \"amqp\"\nurl = \"amqp://guest:guest@{refusing_broker}/%2f\"\nprefix = \"{prefix}\"\n\
         [shipper]\ndrain_timeout = \"300s\"\n[shipper.spot]\nprovider = \"aws\"\nendpoint = \"{endpoint}\"\npoll_interval = \"100ms\"\n\
         [shipper.batch]\nmax_wait = \"50ms\"\n\
         [archive]\nurl = \"s3://spot\"\nendpoint = \"http://{hanging_s3}\"\nforce_path_style = true\naccess_key_id = \"a\"\nsecret_access_key = \"b\"\n\
         [[shipper.sources]]\nname = \"app\"\npaths = [\"{logs}/*.log\"]\n",
        data = dir.path().join("data").display(),
        prefix = loghaul_queue::contract::unique_prefix("spotdeadline"),
        endpoint = fake.endpoint,
        logs = logs_dir.display(),
    );
    let config = loghaul_config::load_str(&text, "spot.toml", &|_| None).expect("valid config");
    let broker: Arc<dyn loghaul_queue::Broker> = Arc::new(loghaul_queue::AmqpBroker::new(
        config.queue.url.expose(),
        loghaul_queue::QueueSettings::from_config(&config.queue),
    ));
    // Its log lines carry this span, told apart from the other tests'.
    let shipping = tokio::spawn(
        async move { loghaul_shipper::ship(&config, broker, CancellationToken::new()).await }
            .instrument(tracing::info_span!("deadline_case")),
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    fake.give_notice_with(Duration::from_secs(8));
    let noticed = std::time::Instant::now();
    let report = tokio::time::timeout(Duration::from_secs(120), shipping)
        .await
        .expect("the drain ends by itself")
        .expect("task")
        .expect("the drain ends without an error");
    let drain = noticed.elapsed();
    println!(
        "a notice 8 s from its deadline, drain_timeout 300 s, broker and archive unreachable: drained in {drain:.2?}"
    );
    assert!(
        drain < Duration::from_secs(8 + 3),
        "the whole drain ended by the notice's deadline (8 s) plus a few seconds: {drain:?}"
    );
    // Each step was really held.
    assert_eq!(
        report.records, 0,
        "nothing of the {lines} lines was confirmed: they are read again at the next start"
    );
    assert!(
        s3_connections.load(std::sync::atomic::Ordering::SeqCst) > 0,
        "the archive was tried, and hung"
    );
    let rotated = std::fs::read_dir(&logs_dir)
        .expect("logs")
        .flatten()
        .filter(|entry| entry.path().extension().is_none_or(|ext| ext != "log"))
        .count();
    assert_eq!(rotated, 4, "every managed file rotated at the notice");

    // The time left, logged as the drain goes.
    let text = String::from_utf8_lossy(&logs.lock().expect("logs")).into_owned();
    let ours: Vec<&str> = text
        .lines()
        .filter(|line| line.contains("deadline_case"))
        .collect();
    let line = |message: &str| -> &str {
        ours.iter()
            .find(|line| line.contains(message))
            .unwrap_or_else(|| panic!("{message:?} logged, in {ours:#?}"))
    };
    let start = line("draining before the machine goes away");
    let to_deadline = logged_number(start, "seconds_to_deadline").expect("seconds_to_deadline");
    assert!(to_deadline > 0.0 && to_deadline <= 8.0, "{start}");
    let budget = logged_number(start, "drain_seconds").expect("drain_seconds");
    assert!(budget > 0.0 && budget <= to_deadline, "{start}");
    let archiving = line("archiving in the time left");
    let left = logged_number(archiving, "drain_seconds_left").expect("drain_seconds_left");
    assert!((0.0..budget).contains(&left), "{archiving}");
    assert!(
        logged_number(archiving, "seconds_to_deadline").is_some(),
        "{archiving}"
    );
    let done = line("drain done");
    for name in ["drain_seconds", "drain_seconds_left", "seconds_to_deadline"] {
        assert!(logged_number(done, name).is_some(), "{name} in {done}");
    }
    let spent = logged_number(done, "drain_seconds").expect("drain_seconds");
    assert!(
        spent < budget + 3.0,
        "the drain kept to its {budget} s, give or take: {done}"
    );
}
