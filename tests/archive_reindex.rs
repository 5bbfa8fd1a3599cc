//! `loghaul archive reindex` end to end: `loghaul run` ships, rotates and
//! archives a file while indexing it live; a second file of another host is
//! in the archive only. Reindexing both brings back exactly the events the
//! live index lacks (same ids, none doubled), searchable through the API
//! and the CLI with `rehydrated`, until the TTL sweeps them away.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use loghaul_archive::{
    ArchiveRequest, Archiver, LocalStore, ObjectStore, S3Connection, S3Store, Spool, StoreOptions,
};
use loghaul_model::{EventId, FileIdentity, RotationReason};
use loghaul_testkit::{
    S3_ACCESS_KEY, S3_SECRET_KEY, S3Server, api_count, http_get, start_run_with,
};

fn loghaul(args: &[&str]) -> std::process::Output {
    loghaul_with_env(args, &[])
}

fn loghaul_with_env(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_loghaul"))
        .args(args)
        .env("RUST_LOG", "warn")
        .envs(env.iter().copied())
        .output()
        .expect("loghaul runs")
}

fn json_of(output: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|error| {
        panic!(
            "no JSON ({error}): {}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

/// Archives one rotated file into `store`, as the shipper would.
async fn archive_file(store: &Arc<dyn ObjectStore>, work: &Path, request: ArchiveRequest) {
    Archiver::new(
        store.clone(),
        Spool::open(&work.join("spool")).expect("spool"),
        "",
        1,
        64 << 20,
    )
    .archive(&request)
    .await
    .expect("archived");
}

fn wait_for(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reindex_brings_back_only_what_the_live_index_lacks_until_the_ttl() {
    reindex_case(None).await;
}

/// The same, with `run` archiving into S3 (s3s-fs) and reindex reading it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reindex_from_s3_brings_back_only_what_the_live_index_lacks_until_the_ttl() {
    let server = S3Server::start();
    reindex_case(Some(&server)).await;
}

async fn reindex_case(s3: Option<&S3Server>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let logs = dir.path().join("logs");
    std::fs::create_dir_all(&logs).expect("mkdir");
    let data = dir.path().join("data");
    let config = dir.path().join("loghaul.toml");
    let (store, archive_section): (Arc<dyn ObjectStore>, String) = match s3 {
        None => (
            Arc::new(LocalStore::new(&data.join("archive"))),
            String::new(),
        ),
        Some(server) => {
            let connection = S3Connection::path_style(
                &server.endpoint(),
                Some((S3_ACCESS_KEY.into(), S3_SECRET_KEY.into())),
            );
            let store =
                S3Store::connect(&connection, "reindex", "raw", StoreOptions::default()).await;
            store.create_bucket_if_missing().await.expect("bucket");
            (
                Arc::new(store),
                format!(
                    "[archive]\nurl = \"s3://reindex/raw\"\nendpoint = \"{}\"\n\
                     force_path_style = true\naccess_key_id = \"{S3_ACCESS_KEY}\"\n\
                     secret_access_key = \"{S3_SECRET_KEY}\"\n",
                    server.endpoint()
                ),
            )
        }
    };
    std::fs::write(
        &config,
        format!(
            "data_dir = \"{data}\"\nhost = \"live-host\"\n\
             [shipper.rotate]\nmax_bytes = \"1MiB\"\n\
             [[shipper.sources]]\nname = \"app\"\npaths = [\"{logs}/app.log\"]\n{archive_section}",
            data = data.display(),
            logs = logs.display(),
        ),
    )
    .expect("config");
    // 20,000 lines of about 70 bytes: one rotation at 1 MiB, archived.
    let text: String = (0..20_000)
        .map(|n| {
            format!(
                "2026-11-20T{:02}:{:02}:{:02}Z {} live line {n:05} served by the pipeline\n",
                n / 3600,
                (n / 60) % 60,
                n % 60,
                if n % 10 == 0 { "ERROR" } else { "INFO" }
            )
        })
        .collect();
    std::fs::write(logs.join("app.log"), &text).expect("log");
    let config_flag = config.display().to_string();
    let (run, addr, _stderr) = start_run_with(
        Path::new(env!("CARGO_BIN_EXE_loghaul")),
        dir.path(),
        &["-c".into(), config_flag.clone()],
    );
    let _run = KillOnDrop(run);
    wait_for("20,000 live events", Duration::from_secs(120), || {
        api_count(addr, "live") == Some(20_000)
    });
    wait_for(
        "the rotated file in the archive",
        Duration::from_secs(120),
        || {
            let listed = json_of(&loghaul(&["archive", "ls", "-c", &config_flag, "--json"]));
            listed["totals"]["objects"].as_u64() >= Some(1)
        },
    );
    let listed = json_of(&loghaul(&["archive", "ls", "-c", &config_flag, "--json"]));
    let archived_live_lines = listed["totals"]["lines"].as_u64().expect("lines");
    assert!(archived_live_lines > 10_000, "{listed}");

    // A file of another host that only the archive has: 3,000 lines, 300 errors.
    let old_text: String = (0..3_000)
        .map(|n| {
            format!(
                "2026-11-19T10:{:02}:{:02}Z {} old line {n:05}\n",
                n / 60,
                n % 60,
                if n % 10 == 0 { "ERROR" } else { "INFO" }
            )
        })
        .collect();
    let work = tempfile::tempdir().expect("tempdir");
    let raw = work.path().join("app.log.20261119T110000Z");
    std::fs::write(&raw, &old_text).expect("raw");
    let old_file = FileIdentity::of_path(&raw, 999).expect("stat");
    archive_file(
        &store,
        work.path(),
        ArchiveRequest {
            raw_path: raw,
            source_path: logs.join("app.log").display().to_string(),
            host: "old-host".into(),
            file: old_file,
            reason: RotationReason::Size,
        },
    )
    .await;

    // A cap below the selection is refused before any work.
    let capped = loghaul(&[
        "archive",
        "reindex",
        "-c",
        &config_flag,
        "--ttl",
        "1h",
        "--max-events",
        "100",
    ]);
    assert_eq!(capped.status.code(), Some(2), "{capped:?}");
    assert!(String::from_utf8_lossy(&capped.stderr).contains("--max-events"));
    assert!(
        !data.join("rehydrated").exists()
            || std::fs::read_dir(data.join("rehydrated"))
                .expect("list")
                .count()
                == 0
    );

    let reindexed = loghaul(&[
        "archive",
        "reindex",
        "-c",
        &config_flag,
        "--ttl",
        "8s",
        "--json",
    ]);
    assert!(reindexed.status.success(), "{reindexed:?}");
    let made = json_of(&reindexed);
    let estimate = String::from_utf8_lossy(&reindexed.stderr);
    assert!(
        estimate.contains("reindex: 2 files"),
        "the scan estimate comes first: {estimate}"
    );
    assert_eq!(made["files"], 2);
    assert_eq!(
        made["events"], 3_000,
        "only the old host's events are new: {made}"
    );
    assert_eq!(made["skipped_live"], archived_live_lines, "{made}");

    // Rehydrated events join the live ones, none doubled.
    assert_eq!(api_count(addr, "line"), Some(20_000));
    assert_eq!(api_count(addr, "line&rehydrated=1"), Some(23_000));
    assert_eq!(api_count(addr, "level:ERROR&rehydrated=1"), Some(2_300));
    let (status, body) = http_get(addr, "/api/search?q=host:old-host&rehydrated=1&limit=5");
    assert_eq!(status, 200, "{body}");
    let page: serde_json::Value = serde_json::from_str(&body).expect("page");
    let events = page["events"].as_array().expect("events");
    assert_eq!(events.len(), 5);
    for event in events {
        let offset = event["offset"].as_u64().expect("offset");
        assert_eq!(
            event["id"].as_str(),
            Some(
                EventId::new("old-host", &old_file, offset)
                    .to_string()
                    .as_str()
            ),
            "the id is the one the original ingestion gives"
        );
    }
    let server = format!("http://{addr}");
    // The token `run` made, as a script passes it.
    let token = loghaul_testkit::api_token(addr).expect("run made a token");
    let with_token = [("LOGHAUL_TOKEN", token.as_str())];
    let cli = loghaul_with_env(
        &[
            "query",
            "--server",
            &server,
            "--rehydrated",
            "--count",
            "old",
        ],
        &with_token,
    );
    assert_eq!(
        String::from_utf8_lossy(&cli.stdout).trim(),
        "3000",
        "{cli:?}"
    );
    let cli = loghaul_with_env(
        &["query", "--server", &server, "--count", "old"],
        &with_token,
    );
    assert_eq!(String::from_utf8_lossy(&cli.stdout).trim(), "0", "{cli:?}");

    // Past the TTL the rehydration is swept and searches are live only.
    wait_for("the TTL sweep", Duration::from_secs(30), || {
        api_count(addr, "line&rehydrated=1") == Some(20_000)
    });
    let left = std::fs::read_dir(data.join("rehydrated"))
        .expect("list")
        .count();
    assert_eq!(left, 0, "the expired rehydration is deleted");

    // Ctrl-C midway keeps nothing. A bigger file makes the work long enough
    // to interrupt: 400,000 lines of another host.
    let big: String = (0..400_000)
        .map(|n| format!("2026-11-18T00:00:{:02}Z INFO big line {n}\n", n % 60))
        .collect();
    let big_raw = work.path().join("big.log.20261118T010000Z");
    std::fs::write(&big_raw, &big).expect("raw");
    archive_file(
        &store,
        work.path(),
        ArchiveRequest {
            file: FileIdentity::of_path(&big_raw, 1).expect("stat"),
            raw_path: big_raw,
            source_path: "/var/log/big.log".into(),
            host: "big-host".into(),
            reason: RotationReason::Size,
        },
    )
    .await;
    let interrupted = Command::new(env!("CARGO_BIN_EXE_loghaul"))
        .args(["archive", "reindex", "-c", &config_flag, "--ttl", "1h"])
        .args(["--host", "big-host"])
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("starts");
    let rehydrated = data.join("rehydrated");
    wait_for("the reindex to start", Duration::from_secs(60), || {
        std::fs::read_dir(&rehydrated).is_ok_and(|mut entries| entries.next().is_some())
    });
    std::thread::sleep(Duration::from_millis(300));
    // SIGINT, as Ctrl-C sends.
    let sent = Command::new("kill")
        .args(["-INT", &interrupted.id().to_string()])
        .status()
        .expect("kill");
    assert!(sent.success());
    let output = interrupted.wait_with_output().expect("ends");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("nothing was kept"), "{stderr}");
    assert_eq!(
        std::fs::read_dir(&rehydrated).expect("list").count(),
        0,
        "a cancelled reindex leaves nothing"
    );

    // SIGKILL leaves its partial build behind; the next sweep (a search that
    // looks at rehydrations) sees nobody holds its lock and deletes it.
    let mut killed = Command::new(env!("CARGO_BIN_EXE_loghaul"))
        .args(["archive", "reindex", "-c", &config_flag, "--ttl", "1h"])
        .args(["--host", "big-host"])
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("starts");
    wait_for("the reindex to start", Duration::from_secs(60), || {
        std::fs::read_dir(&rehydrated).is_ok_and(|mut entries| entries.next().is_some())
    });
    std::thread::sleep(Duration::from_millis(300));
    killed.kill().expect("SIGKILL");
    killed.wait().expect("reaped");
    let left: Vec<String> = std::fs::read_dir(&rehydrated)
        .expect("list")
        .map(|entry| {
            entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert!(
        left.len() == 1 && left[0].ends_with(".partial"),
        "the killed build's partial directory: {left:?}"
    );
    assert_eq!(api_count(addr, "line&rehydrated=1"), Some(20_000));
    assert_eq!(
        std::fs::read_dir(&rehydrated).expect("list").count(),
        0,
        "an abandoned partial build is swept"
    );
}

/// Stops `loghaul run` however the test ends.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
