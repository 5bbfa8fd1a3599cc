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

/// A config shipping `<dir>/logs/*.log` to a fresh prefix on the real
/// RabbitMQ; `queue_extra` and `shipper_extra` add keys to those sections.
fn test_config(
    dir: &Path,
    case: &str,
    queue_extra: &str,
    shipper_extra: &str,
) -> loghaul_config::Config {
    std::fs::create_dir_all(dir.join("logs")).expect("mkdir");
    let text = format!(
        "data_dir = \"{data}\"\nhost = \"test-host\"\n[queue]\nkind = \"amqp\"\nurl = \"{url}\"\nprefix = \"{prefix}\"\n{queue_extra}\n\
         [shipper]\n{shipper_extra}\n[[shipper.sources]]\nname = \"app\"\npaths = [\"{logs}/*.log\"]\n",
        data = dir.join("data").display(),
        url = loghaul_testkit::amqp_url(),
        prefix = loghaul_queue::contract::unique_prefix(case),
        logs = dir.join("logs").display(),
    );
    loghaul_config::load_str(&text, "test.toml", &|_| None).expect("valid config")
}

fn broker_for(config: &loghaul_config::Config) -> Arc<dyn Broker> {
    Arc::new(AmqpBroker::new(
        config.queue.url.expose(),
        QueueSettings::from_config(&config.queue),
    ))
}

type Shipping =
    tokio::task::JoinHandle<Result<loghaul_shipper::ShipReport, loghaul_shipper::ShipperError>>;

fn start(
    config: &loghaul_config::Config,
    broker: &Arc<dyn Broker>,
) -> (CancellationToken, Shipping) {
    let shutdown = CancellationToken::new();
    let task = tokio::spawn({
        let (config, broker, shutdown) = (config.clone(), broker.clone(), shutdown.clone());
        async move { loghaul_shipper::ship(&config, broker, shutdown).await }
    });
    (shutdown, task)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ships_through_rotation_and_resumes_after_a_clean_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let logs = dir.path().join("logs");
    let metrics_addr = loghaul_testkit::free_local_addr();
    let config = test_config(
        dir.path(),
        "ship",
        "",
        &format!("metrics_listen = \"{metrics_addr}\"\n[shipper.batch]\nmax_wait = \"50ms\""),
    );
    let broker = broker_for(&config);
    let mut consumer = broker.consumer(Route::Raw).await.expect("consumer");

    let app = logs.join("app.log");
    append_lines(&app, 0..5000);
    let (shutdown, shipping) = start(&config, &broker);
    let mut seen = HashMap::new();
    collect(consumer.as_mut(), &mut seen, 5000).await;

    // The shipper reports on itself while it runs.
    tokio::time::sleep(Duration::from_millis(400)).await;
    let (status, body) =
        tokio::task::spawn_blocking(move || loghaul_testkit::http_get(metrics_addr, "/metrics"))
            .await
            .expect("http task");
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains("loghaul_shipper_confirmed_records_total 5000\n"),
        "{body}"
    );
    assert!(
        body.contains("loghaul_shipper_read_records_total 5000\n"),
        "{body}"
    );
    assert!(body.contains("loghaul_shipper_files_watched 1\n"), "{body}");
    assert!(
        body.contains(&format!(
            "loghaul_shipper_lag_bytes{{path=\"{}\"}} 0\n",
            logs.join("app.log").display()
        )),
        "{body}"
    );
    let (status, body) =
        tokio::task::spawn_blocking(move || loghaul_testkit::http_get(metrics_addr, "/healthz"))
            .await
            .expect("http task");
    assert_eq!((status, body.as_str()), (200, "ok\n"));

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
    let (shutdown, shipping) = start(&config, &broker);
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

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .map(|entries| entries.count())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_thousand_files_within_the_open_file_limit() {
    const FILES: u32 = 2000;
    const MAX_OPEN: usize = 64;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = test_config(
        dir.path(),
        "many",
        "",
        &format!("max_open_files = {MAX_OPEN}\n[shipper.batch]\nmax_wait = \"50ms\""),
    );
    for n in 0..FILES {
        append_lines(
            &dir.path().join(format!("logs/f{n:04}.log")),
            n * 3..n * 3 + 3,
        );
    }
    let broker = broker_for(&config);
    let mut consumer = broker.consumer(Route::Raw).await.expect("consumer");
    let baseline = open_fds();
    let (shutdown, shipping) = start(&config, &broker);
    let peak = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let sampler = {
        let peak = peak.clone();
        let stop = shutdown.clone();
        tokio::spawn(async move {
            while !stop.is_cancelled() {
                peak.fetch_max(open_fds(), std::sync::atomic::Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };
    let mut seen = HashMap::new();
    collect(consumer.as_mut(), &mut seen, (FILES * 3) as usize).await;
    // Every file grows once more: closed idle files are reopened.
    for n in (0..FILES).step_by(50) {
        append_lines(
            &dir.path().join(format!("logs/f{n:04}.log")),
            10_000 + n..10_001 + n,
        );
    }
    collect(
        consumer.as_mut(),
        &mut seen,
        (FILES * 3 + FILES / 50) as usize,
    )
    .await;
    shutdown.cancel();
    shipping.await.expect("task").expect("clean stop");
    sampler.await.expect("sampler");
    let peak = peak.load(std::sync::atomic::Ordering::Relaxed);
    eprintln!(
        "2000 files: open descriptors peaked at {peak} ({baseline} before the shipper started)"
    );
    assert!(
        peak <= baseline + MAX_OPEN + 48,
        "peak {peak} fds, baseline {baseline}, limit {MAX_OPEN}"
    );
    assert!(seen.values().all(|count| *count == 1));
    drop(consumer);
    broker.delete_topology().await.expect("cleanup");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_file_is_found_by_notification_without_waiting_for_a_scan() {
    let dir = tempfile::tempdir().expect("tempdir");
    // With an hour between scans, only a file notification can find the file.
    let config = test_config(
        dir.path(),
        "notify",
        "",
        "rescan_interval = \"1h\"\n[shipper.batch]\nmax_wait = \"50ms\"",
    );
    let broker = broker_for(&config);
    let mut consumer = broker.consumer(Route::Raw).await.expect("consumer");
    let (shutdown, shipping) = start(&config, &broker);
    tokio::time::sleep(Duration::from_millis(500)).await;
    append_lines(&dir.path().join("logs/new.log"), 0..3);
    let mut seen = HashMap::new();
    collect(consumer.as_mut(), &mut seen, 3).await;
    shutdown.cancel();
    shipping.await.expect("task").expect("clean stop");
    drop(consumer);
    broker.delete_topology().await.expect("cleanup");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_pauses_reading_and_loses_nothing() {
    const LINES: u32 = 20_000;
    let dir = tempfile::tempdir().expect("tempdir");
    // The queue holds 5 batches; the broker refuses the rest until a consumer
    // drains it. The shipper must hold back, not drop.
    let config = test_config(
        dir.path(),
        "full",
        "max_length = 5",
        "buffer_bytes = \"256KiB\"\n[shipper.batch]\nmax_bytes = \"16KiB\"\nmax_wait = \"50ms\"",
    );
    append_lines(&dir.path().join("logs/app.log"), 0..LINES);
    let broker = broker_for(&config);
    broker
        .consumer(Route::Raw)
        .await
        .expect("declare the queue");
    let (shutdown, shipping) = start(&config, &broker);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut consumer = broker.consumer(Route::Raw).await.expect("consumer");
    let mut seen = HashMap::new();
    collect(consumer.as_mut(), &mut seen, LINES as usize).await;
    shutdown.cancel();
    let report = shipping.await.expect("task").expect("clean stop");
    assert_eq!(report.records, u64::from(LINES));
    drop(consumer);
    broker.delete_topology().await.expect("cleanup");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn size_rotation_archives_byte_exact_objects_to_s3() {
    use loghaul_archive::{ObjectStore, S3Connection, S3Store, StoreOptions};
    use tokio::io::AsyncReadExt;

    let server = loghaul_testkit::S3Server::start();
    let connection = S3Connection {
        endpoint: Some(server.endpoint()),
        region: "us-east-1".into(),
        force_path_style: true,
        static_credentials: Some((
            loghaul_testkit::S3_ACCESS_KEY.into(),
            loghaul_testkit::S3_SECRET_KEY.into(),
        )),
        checksum_when_required: false,
    };
    let bucket = S3Store::connect(&connection, "rotated", "", StoreOptions::default()).await;
    bucket.create_bucket_if_missing().await.expect("bucket");

    let dir = tempfile::tempdir().expect("tempdir");
    let archive = format!(
        "[archive]\nurl = \"s3://rotated\"\nendpoint = \"{}\"\nforce_path_style = true\naccess_key_id = \"{}\"\nsecret_access_key = \"{}\"\n",
        server.endpoint(),
        loghaul_testkit::S3_ACCESS_KEY,
        loghaul_testkit::S3_SECRET_KEY
    );
    let config = test_config(
        dir.path(),
        "rotate",
        "",
        &format!(
            "[shipper.rotate]\nmax_bytes = \"4KiB\"\n[shipper.batch]\nmax_wait = \"50ms\"\n{archive}"
        ),
    );
    let broker = broker_for(&config);
    broker
        .consumer(Route::Raw)
        .await
        .expect("declare the queue");
    let (shutdown, shipping) = start(&config, &broker);
    let app = dir.path().join("logs/app.log");
    for chunk in 0..10 {
        append_lines(&app, chunk * 300..(chunk + 1) * 300);
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    // The last rotated file is let go after ROTATE_WAIT, then archived.
    tokio::time::sleep(loghaul_shipper::tailer::ROTATE_WAIT + Duration::from_secs(4)).await;
    shutdown.cancel();
    shipping.await.expect("task").expect("clean stop");

    let mut rotated: Vec<std::path::PathBuf> = std::fs::read_dir(dir.path().join("logs"))
        .expect("logs")
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| {
            path.file_name()
                .is_some_and(|name| name.to_string_lossy().starts_with("app.log."))
        })
        .collect();
    rotated.sort();
    assert!(rotated.len() >= 3, "size rotation happened: {rotated:?}");

    // Every line is in exactly one file: the rotation itself lost nothing.
    let mut all = Vec::new();
    for path in rotated.iter().chain(std::iter::once(&app)) {
        for line in std::fs::read_to_string(path).unwrap_or_default().lines() {
            all.push(
                line.trim_start_matches("line ")
                    .parse::<u32>()
                    .expect("numbered"),
            );
        }
    }
    all.sort_unstable();
    assert_eq!(all, (0..3000).collect::<Vec<_>>());

    // Every rotated file is in S3, byte-exact, found by its raw sha256.
    let objects = loghaul_archive::catalog::only_objects(bucket.list("").await.expect("list"));
    assert_eq!(
        objects.len(),
        rotated.len(),
        "one object per rotated file: {objects:?}"
    );
    for path in &rotated {
        let sha256 = loghaul_archive::digest_file(path)
            .await
            .expect("digest")
            .sha256;
        let mut found = None;
        for object in &objects {
            let info = bucket
                .head(&object.key)
                .await
                .expect("head")
                .expect("exists");
            if info.metadata.get("sha256") == Some(&sha256) {
                found = Some(object.key.clone());
            }
        }
        let key = found.unwrap_or_else(|| panic!("no object for {}", path.display()));
        assert!(
            key.contains("/app.log/"),
            "keyed by the source file name: {key}"
        );
        let info = bucket.head(&key).await.expect("head").expect("exists");
        assert_eq!(
            info.metadata.get("reason").map(String::as_str),
            Some("size")
        );
        let mut compressed = Vec::new();
        bucket
            .get(&key)
            .await
            .expect("get")
            .read_to_end(&mut compressed)
            .await
            .expect("read");
        let raw = loghaul_testkit::gunzip(&compressed);
        assert!(
            raw == std::fs::read(path).expect("rotated file"),
            "byte-exact: {key}"
        );
    }
    broker.delete_topology().await.expect("cleanup");
}

async fn rotated_bucket(
    server: &loghaul_testkit::S3Server,
    bucket: &str,
) -> loghaul_archive::S3Store {
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
    let store = loghaul_archive::S3Store::connect(
        &connection,
        bucket,
        "",
        loghaul_archive::StoreOptions::default(),
    )
    .await;
    store.create_bucket_if_missing().await.expect("bucket");
    store
}

fn archive_section(server: &loghaul_testkit::S3Server, bucket: &str) -> String {
    format!(
        "[archive]\nurl = \"s3://{bucket}\"\nendpoint = \"{}\"\nforce_path_style = true\naccess_key_id = \"{}\"\nsecret_access_key = \"{}\"\n",
        server.endpoint(),
        loghaul_testkit::S3_ACCESS_KEY,
        loghaul_testkit::S3_SECRET_KEY
    )
}

fn rotated_files(logs: &Path) -> Vec<std::path::PathBuf> {
    let mut rotated: Vec<std::path::PathBuf> = std::fs::read_dir(logs)
        .expect("logs")
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| {
            path.file_name()
                .is_some_and(|name| name.to_string_lossy().starts_with("app.log."))
        })
        .collect();
    rotated.sort();
    rotated
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_s3_outage_across_rotations_loses_and_deletes_nothing() {
    use loghaul_archive::ObjectStore;

    let mut server = loghaul_testkit::S3Server::start();
    let bucket = rotated_bucket(&server, "outage").await;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = test_config(
        dir.path(),
        "outage",
        "",
        &format!(
            "[shipper.rotate]\nmax_bytes = \"4KiB\"\n[shipper.batch]\nmax_wait = \"50ms\"\n{}",
            archive_section(&server, "outage")
        ),
    );
    let broker = broker_for(&config);
    broker
        .consumer(Route::Raw)
        .await
        .expect("declare the queue");
    server.stop();
    let (shutdown, shipping) = start(&config, &broker);
    let app = dir.path().join("logs/app.log");
    for chunk in 0..8 {
        append_lines(&app, chunk * 300..(chunk + 1) * 300);
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    // Several rotations happened with S3 down: all still on disk.
    tokio::time::sleep(loghaul_shipper::tailer::ROTATE_WAIT + Duration::from_secs(1)).await;
    let rotated = rotated_files(&dir.path().join("logs"));
    assert!(
        rotated.len() >= 3,
        "rotations during the outage: {rotated:?}"
    );
    server.restart();
    // Everything goes up once S3 is back (the archive retries with backoff).
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    loop {
        let objects = bucket
            .list("")
            .await
            .map(|objects| loghaul_archive::catalog::only_objects(objects).len())
            .unwrap_or(0);
        if objects == rotated.len() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "only {objects} of {} archived after S3 returned",
            rotated.len()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    shutdown.cancel();
    shipping.await.expect("task").expect("clean stop");
    assert!(
        rotated.iter().all(|path| path.exists()),
        "nothing was deleted"
    );
    broker.delete_topology().await.expect("cleanup");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_local_deletes_only_verified_archives_beyond_the_newest() {
    use loghaul_archive::ObjectStore;
    use tokio::io::AsyncReadExt;

    let server = loghaul_testkit::S3Server::start();
    let bucket = rotated_bucket(&server, "keep").await;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = test_config(
        dir.path(),
        "keep",
        "",
        &format!(
            "[shipper.rotate]\nmax_bytes = \"4KiB\"\nkeep_local = 1\n[shipper.batch]\nmax_wait = \"50ms\"\n{}",
            archive_section(&server, "keep")
        ),
    );
    let broker = broker_for(&config);
    broker
        .consumer(Route::Raw)
        .await
        .expect("declare the queue");
    let (shutdown, shipping) = start(&config, &broker);
    let app = dir.path().join("logs/app.log");
    for chunk in 0..10 {
        append_lines(&app, chunk * 300..(chunk + 1) * 300);
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    tokio::time::sleep(loghaul_shipper::tailer::ROTATE_WAIT + Duration::from_secs(4)).await;
    shutdown.cancel();
    shipping.await.expect("task").expect("clean stop");

    let remaining = rotated_files(&dir.path().join("logs"));
    assert_eq!(
        remaining.len(),
        1,
        "only the newest archived file stays: {remaining:?}"
    );
    let objects = loghaul_archive::catalog::only_objects(bucket.list("").await.expect("list"));
    assert!(
        objects.len() >= 3,
        "several rotations were archived: {objects:?}"
    );
    // Every line is in exactly one archived object or in the live file.
    let mut all = Vec::new();
    let mut kept_is_archived = false;
    let kept = std::fs::read(&remaining[0]).expect("kept file");
    for object in &objects {
        let mut compressed = Vec::new();
        bucket
            .get(&object.key)
            .await
            .expect("get")
            .read_to_end(&mut compressed)
            .await
            .expect("read");
        let raw = loghaul_testkit::gunzip(&compressed);
        kept_is_archived |= raw == kept;
        for line in String::from_utf8_lossy(&raw).lines() {
            all.push(
                line.trim_start_matches("line ")
                    .parse::<u32>()
                    .expect("numbered"),
            );
        }
    }
    assert!(kept_is_archived, "the file kept locally is archived too");
    for line in std::fs::read_to_string(&app).unwrap_or_default().lines() {
        all.push(
            line.trim_start_matches("line ")
                .parse::<u32>()
                .expect("numbered"),
        );
    }
    all.sort_unstable();
    assert_eq!(
        all,
        (0..3000).collect::<Vec<_>>(),
        "nothing deleted before it was archived"
    );
    broker.delete_topology().await.expect("cleanup");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn archive_on_shutdown_rotates_and_archives_everything_on_sigterm() {
    use loghaul_archive::ObjectStore;

    let server = loghaul_testkit::S3Server::start();
    let bucket = rotated_bucket(&server, "shutdown").await;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = test_config(
        dir.path(),
        "shutdown",
        "",
        &format!(
            "archive_on_shutdown = true\n[shipper.batch]\nmax_wait = \"50ms\"\n{}",
            archive_section(&server, "shutdown")
        ),
    );
    let app = dir.path().join("logs/app.log");
    append_lines(&app, 0..2000);
    let broker = broker_for(&config);
    broker
        .consumer(Route::Raw)
        .await
        .expect("declare the queue");
    let (shutdown, shipping) = start(&config, &broker);
    tokio::time::sleep(Duration::from_millis(500)).await;
    // What SIGTERM does in `loghaul ship`.
    shutdown.cancel();
    let report = shipping.await.expect("task").expect("clean stop");
    assert_eq!(report.records, 2000);

    let rotated = rotated_files(&dir.path().join("logs"));
    assert_eq!(
        rotated.len(),
        1,
        "the live file was rotated at shutdown: {rotated:?}"
    );
    let sha256 = loghaul_archive::digest_file(&rotated[0])
        .await
        .expect("digest")
        .sha256;
    let objects = loghaul_archive::catalog::only_objects(bucket.list("").await.expect("list"));
    assert_eq!(objects.len(), 1);
    let info = bucket
        .head(&objects[0].key)
        .await
        .expect("head")
        .expect("exists");
    assert_eq!(info.metadata.get("sha256"), Some(&sha256));
    assert_eq!(
        info.metadata.get("reason").map(String::as_str),
        Some("shutdown")
    );
    broker.delete_topology().await.expect("cleanup");
}
