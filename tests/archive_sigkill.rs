//! `loghaul ship` killed with SIGKILL in the middle of a multipart upload,
//! then restarted: the object ends up complete and byte-exact, and no upload
//! is left open on the S3 server.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use loghaul_archive::{ObjectStore, S3Connection, S3Store, StoreOptions};
use tokio::io::AsyncReadExt;

fn start_shipper(config: &Path) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_loghaul"))
        .args(["ship", "-c"])
        .arg(config)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("loghaul ship starts")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_multipart_then_restart_gives_a_whole_object() {
    let server = loghaul_testkit::S3Server::start();
    let connection = S3Connection::path_style(
        &server.endpoint(),
        Some((
            loghaul_testkit::S3_ACCESS_KEY.into(),
            loghaul_testkit::S3_SECRET_KEY.into(),
        )),
    );
    let bucket = S3Store::connect(&connection, "crash", "", StoreOptions::default()).await;
    bucket.create_bucket_if_missing().await.expect("bucket");

    let dir = tempfile::tempdir().expect("tempdir");
    let logs = dir.path().join("logs");
    std::fs::create_dir_all(&logs).expect("mkdir");
    // 40 MiB of hex: gzip halves it, so the object needs several 5 MiB parts.
    let mut out =
        std::io::BufWriter::new(std::fs::File::create(logs.join("app.log")).expect("create"));
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut written = 0;
    while written < 40 << 20 {
        let mut line = String::with_capacity(130);
        for _ in 0..8 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            line.push_str(&format!("{state:016x}"));
        }
        line.push('\n');
        out.write_all(line.as_bytes()).expect("write");
        written += line.len();
    }
    out.flush().expect("flush");
    drop(out);

    let prefix = loghaul_queue::contract::unique_prefix("archive-kill");
    let config = dir.path().join("loghaul.toml");
    std::fs::write(
        &config,
        format!(
            "data_dir = \"{data}\"\nhost = \"crash-host\"\n[queue]\nkind = \"amqp\"\nurl = \"{url}\"\nprefix = \"{prefix}\"\n\
             [shipper.rotate]\nmax_bytes = \"1MiB\"\n\
             [archive]\nurl = \"s3://crash\"\nendpoint = \"{s3}\"\nforce_path_style = true\naccess_key_id = \"{key}\"\nsecret_access_key = \"{secret}\"\n\
             multipart_threshold = \"5MiB\"\npart_size = \"5MiB\"\n\
             [[shipper.sources]]\nname = \"app\"\npaths = [\"{logs}/*.log\"]\n",
            data = dir.path().join("data").display(),
            url = loghaul_testkit::amqp_url(),
            s3 = server.endpoint(),
            key = loghaul_testkit::S3_ACCESS_KEY,
            secret = loghaul_testkit::S3_SECRET_KEY,
            logs = logs.display(),
        ),
    )
    .expect("config");

    // Kill the shipper the moment its multipart upload is journaled.
    let journal = dir.path().join("data/shipper/archive-spool/uploads");
    let mut shipper = start_shipper(&config);
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        // A complete record: the parts are going up.
        let journaled = std::fs::read_dir(&journal)
            .map(|entries| {
                entries
                    .flatten()
                    .filter(|entry| entry.path().extension().is_some_and(|ext| ext == "json"))
                    .count()
            })
            .unwrap_or(0);
        if journaled > 0 {
            break;
        }
        assert!(Instant::now() < deadline, "no multipart upload started");
        assert!(
            shipper.try_wait().expect("poll").is_none(),
            "the shipper exited early"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    shipper.kill().expect("SIGKILL");
    shipper.wait().expect("reaped");
    assert_eq!(
        server.open_uploads(),
        1,
        "the kill left an upload open on the server"
    );
    assert!(
        loghaul_archive::catalog::only_objects(bucket.list("").await.expect("list")).is_empty(),
        "the object was not completed before the kill"
    );

    // Restart: the open upload is aborted and the file archived whole.
    let mut restarted = start_shipper(&config);
    let deadline = Instant::now() + Duration::from_secs(120);
    let key = loop {
        if let Some(object) =
            loghaul_archive::catalog::only_objects(bucket.list("").await.expect("list"))
                .into_iter()
                .next()
        {
            break object.key;
        }
        assert!(
            Instant::now() < deadline,
            "the restarted shipper did not archive the file"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let status = Command::new("kill")
        .args(["-TERM", &restarted.id().to_string()])
        .status()
        .expect("kill -TERM");
    assert!(status.success());
    assert!(
        restarted.wait().expect("exits").success(),
        "exits 0 on SIGTERM"
    );
    assert_eq!(server.open_uploads(), 0, "no upload is left open");

    let rotated: Vec<_> = std::fs::read_dir(&logs)
        .expect("logs")
        .flatten()
        .map(|entry| entry.path())
        .collect();
    assert_eq!(rotated.len(), 1, "{rotated:?}");
    let original = std::fs::read(&rotated[0]).expect("rotated file");
    let mut compressed = Vec::new();
    bucket
        .get(&key)
        .await
        .expect("get")
        .read_to_end(&mut compressed)
        .await
        .expect("read");
    let raw = loghaul_testkit::gunzip(&compressed);
    assert!(raw == original, "the object is complete and byte-exact");

    let broker = loghaul_queue::AmqpBroker::new(
        &loghaul_testkit::amqp_url(),
        loghaul_queue::QueueSettings::with_prefix(prefix),
    );
    loghaul_queue::Broker::delete_topology(&broker)
        .await
        .expect("cleanup");
}
