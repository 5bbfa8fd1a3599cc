//! `loghaul archive ls | verify | restore` as an auditor uses them, against
//! a real S3-compatible server (s3s-fs) and a local directory archive:
//! damaged, missing and hostile objects are named and never restored, a
//! gzip bomb stops at its recorded size, and what is restored passes
//! `sha256sum -c`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

use loghaul_archive::{
    ArchiveRequest, Archiver, LocalStore, Metadata, ObjectStore, S3Connection, S3Store, Spool,
    StoreOptions,
};
use loghaul_model::{FileIdentity, RotationReason};
use loghaul_testkit::{S3_ACCESS_KEY, S3_SECRET_KEY, S3Server};
use serde_json::Value;

/// An archive under test: the store, where its objects sit on disk, and the
/// flags that name it to the CLI.
struct Archive {
    store: Arc<dyn ObjectStore>,
    /// Directory holding `<key>` files (the local root, or s3s-fs's bucket directory).
    objects_on_disk: PathBuf,
    flags: Vec<String>,
    /// The same archive as a config file's `[archive]` section.
    config: String,
    _server: Option<S3Server>,
    _dir: tempfile::TempDir,
}

impl Archive {
    fn local() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("archive");
        Archive {
            store: Arc::new(LocalStore::new(&root)),
            objects_on_disk: root.clone(),
            flags: vec!["--archive".into(), root.display().to_string()],
            config: format!("[archive]\nurl = \"file://{}\"\n", root.display()),
            _server: None,
            _dir: dir,
        }
    }

    async fn s3() -> Self {
        let server = S3Server::start();
        let connection = S3Connection::path_style(
            &server.endpoint(),
            Some((S3_ACCESS_KEY.into(), S3_SECRET_KEY.into())),
        );
        let store = S3Store::connect(&connection, "audit", "", StoreOptions::default()).await;
        store.create_bucket_if_missing().await.expect("bucket");
        Archive {
            store: Arc::new(store),
            objects_on_disk: server.data_dir().join("audit"),
            flags: vec![
                "--archive".into(),
                "s3://audit".into(),
                "--endpoint".into(),
                server.endpoint(),
                "--path-style".into(),
                "--access-key-id".into(),
                S3_ACCESS_KEY.into(),
                "--secret-access-key".into(),
                S3_SECRET_KEY.into(),
            ],
            config: format!(
                "[archive]\nurl = \"s3://audit\"\nendpoint = \"{}\"\nforce_path_style = true\n\
                 access_key_id = \"{S3_ACCESS_KEY}\"\nsecret_access_key = \"{S3_SECRET_KEY}\"\n",
                server.endpoint()
            ),
            _server: Some(server),
            _dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    /// Archives `text` as a file rotated from `source` on `host`; returns its key.
    async fn put(&self, host: &str, source: &str, rotated_name: &str, text: &[u8]) -> String {
        let work = tempfile::tempdir().expect("tempdir");
        let raw = work.path().join(rotated_name);
        std::fs::write(&raw, text).expect("write raw");
        let spool = Spool::open(&work.path().join("spool")).expect("spool");
        let archiver = Archiver::new(self.store.clone(), spool, "", 1, 64 << 20);
        let file = FileIdentity::of_path(&raw, 7).expect("stat");
        archiver
            .archive(&ArchiveRequest {
                raw_path: raw,
                source_path: source.into(),
                host: host.into(),
                file,
                reason: RotationReason::Size,
            })
            .await
            .expect("archived")
            .key
    }

    fn cli(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_loghaul"))
            .arg("archive")
            .args(args)
            .args(&self.flags)
            .env("RUST_LOG", "warn")
            .output()
            .expect("loghaul runs")
    }

    fn json(&self, args: &[&str]) -> (i32, Value) {
        let mut with_json = args.to_vec();
        with_json.push("--json");
        let output = self.cli(&with_json);
        let code = output.status.code().expect("exited");
        let value = serde_json::from_slice(&output.stdout).unwrap_or_else(|error| {
            panic!(
                "{args:?} printed no JSON ({error}): {}\n{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            )
        });
        (code, value)
    }
}

fn log_lines(day: u32, count: u32, tag: &str) -> Vec<u8> {
    (0..count)
        .map(|n| {
            format!(
                "2026-11-{day:02}T{:02}:{:02}:{:02}Z INFO [{tag}] request {n} served\n",
                (n / 3600) % 24,
                (n / 60) % 60,
                n % 60
            )
        })
        .collect::<String>()
        .into_bytes()
}

/// The keys of an `ls --json` listing, in its order.
fn listed_keys(listing: &Value) -> Vec<&str> {
    listing["objects"]
        .as_array()
        .expect("objects")
        .iter()
        .map(|row| row["key"].as_str().expect("key"))
        .collect()
}

/// `sha256sum -c SHA256SUMS` in `dir`: asserts it passes, returns its output.
fn sha256sum_check(dir: &Path) -> String {
    let checked = Command::new("sha256sum")
        .args(["-c", "SHA256SUMS"])
        .current_dir(dir)
        .output()
        .expect("sha256sum runs");
    assert!(checked.status.success(), "{checked:?}");
    String::from_utf8_lossy(&checked.stdout).into_owned()
}

fn statuses(report: &Value, field: &str) -> Vec<(String, String)> {
    let mut found: Vec<(String, String)> = report["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|result| {
            (
                result[field]
                    .as_str()
                    .unwrap_or_else(|| result["key"].as_str().expect("key"))
                    .to_owned(),
                result["status"].as_str().expect("status").to_owned(),
            )
        })
        .collect();
    found.sort();
    found
}

fn files_under(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(next) = pending.pop() {
        for entry in std::fs::read_dir(&next).expect("list").flatten() {
            let path = entry.path();
            if entry.file_type().expect("type").is_dir() {
                pending.push(path);
            } else {
                found.push(path.strip_prefix(dir).expect("below").display().to_string());
            }
        }
    }
    found.sort();
    found
}

/// The whole audit on one backend: list by host and range, verify, damage
/// three objects three ways, verify again, restore, and restore again.
async fn audit(archive: Archive) {
    let app_22 = log_lines(22, 30_000, "a22");
    let app_24 = log_lines(24, 20_000, "a24");
    let db_22 = log_lines(22, 1_000, "db");
    let other_host = log_lines(22, 10, "w2");
    let key_app_22 = archive
        .put(
            "web-1",
            "/var/log/app.log",
            "app.log.20261122T230000Z",
            &app_22,
        )
        .await;
    let key_app_24 = archive
        .put(
            "web-1",
            "/var/log/app.log",
            "app.log.20261124T230000Z",
            &app_24,
        )
        .await;
    let key_db = archive
        .put(
            "web-1",
            "/var/log/db.log",
            "db.log.20261122T230000Z",
            &db_22,
        )
        .await;
    let key_other = archive
        .put(
            "web-2",
            "/var/log/app.log",
            "app.log.20261122T230000Z",
            &other_host,
        )
        .await;

    // Everything: four files, with what each records about itself.
    let (code, all) = archive.json(&["ls"]);
    assert_eq!(code, 0, "{all}");
    assert_eq!(all["totals"]["objects"], 4, "{all}");
    assert_eq!(all["totals"]["lines"], 51_010);
    let row = all["objects"]
        .as_array()
        .expect("objects")
        .iter()
        .find(|row| row["key"] == key_app_24.as_str())
        .expect("the 24th's file is listed");
    let manifest = &row["expected"]["manifest"];
    assert_eq!(manifest["host"], "web-1");
    assert_eq!(manifest["source_path"], "/var/log/app.log");
    assert_eq!(manifest["raw_size"], app_24.len() as u64);
    assert_eq!(manifest["line_count"], 20_000);
    assert_eq!(manifest["reason"], "size");
    assert_eq!(row["expected"]["raw_name"], "app.log.20261124T230000Z");
    assert_eq!(row["first"], "2026-11-24T00:00:00Z");
    assert_eq!(row["last"], "2026-11-24T05:33:19Z");
    assert_eq!(
        manifest["sha256"].as_str(),
        Some(sha256_hex(&app_24).as_str())
    );
    assert!(row["object"]["size"].as_u64().expect("gzip size") < app_24.len() as u64 / 4);

    // A host and a day are listed by their day prefixes, never the whole store.
    let day = [
        "--host",
        "web-1",
        "--from",
        "2026-11-22T00:00:00Z",
        "--to",
        "2026-11-23T00:00:00Z",
    ];
    let (_, picked) = archive.json(&[&["ls"][..], &day[..]].concat());
    assert_eq!(listed_keys(&picked), [key_app_22.as_str(), key_db.as_str()]);
    assert_eq!(
        picked["prefixes"],
        serde_json::json!([
            "web-1/2026/11/20/",
            "web-1/2026/11/21/",
            "web-1/2026/11/22/"
        ])
    );
    let (_, one_source) =
        archive.json(&[&["ls", "--source", "/var/log/db*"][..], &day[..]].concat());
    assert_eq!(one_source["totals"]["objects"], 1);
    // The same archive named by a config file alone (-c), and a source named
    // as the config names it.
    let config_dir = tempfile::tempdir().expect("tempdir");
    let config = config_dir.path().join("loghaul.toml");
    std::fs::write(
        &config,
        format!(
            "{}\n[[shipper.sources]]\nname = \"database\"\npaths = [\"/var/log/db.log\"]\n",
            archive.config
        ),
    )
    .expect("write config");
    let by_config = Command::new(env!("CARGO_BIN_EXE_loghaul"))
        .args(["archive", "ls", "--json", "-c"])
        .arg(&config)
        .args(["--source", "database"])
        .env("RUST_LOG", "warn")
        .output()
        .expect("runs");
    assert!(by_config.status.success(), "{by_config:?}");
    let by_config: Value = serde_json::from_slice(&by_config.stdout).expect("JSON");
    assert_eq!(listed_keys(&by_config), [key_db.as_str()], "{by_config}");
    let (_, estimate) = archive.json(&[&["ls", "--estimate"][..], &day[..]].concat());
    assert_eq!(estimate["objects"], 2, "{estimate}");
    assert!(estimate["bytes"].as_u64().expect("bytes") > 0);
    let table = archive.cli(&["ls"]);
    let table = String::from_utf8_lossy(&table.stdout);
    assert!(
        table.contains("HOST") && table.contains("/var/log/db.log"),
        "{table}"
    );
    assert!(table.contains("4 objects"), "{table}");

    let (code, verified) = archive.json(&["verify"]);
    assert_eq!(code, 0, "{verified}");
    assert_eq!(verified["summary"]["good"], 4);
    // Piped, verify draws no progress bar: stderr stays empty.
    let piped = archive.cli(&["verify"]);
    assert!(piped.status.success());
    assert_eq!(String::from_utf8_lossy(&piped.stderr), "");
    // On a terminal (util-linux `script` gives it one) the bar is drawn,
    // then cleared before the table.
    let command = std::iter::once(env!("CARGO_BIN_EXE_loghaul").to_owned())
        .chain(["archive".into(), "verify".into()])
        .chain(archive.flags.iter().cloned())
        .map(|word| format!("'{word}'"))
        .collect::<Vec<_>>()
        .join(" ");
    let on_terminal = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .env("RUST_LOG", "warn")
        .output()
        .expect("script runs");
    assert!(on_terminal.status.success(), "{on_terminal:?}");
    let screen = String::from_utf8_lossy(&on_terminal.stdout);
    assert!(
        screen.contains("[00:00:0") && screen.contains("\u{1b}["),
        "a progress bar on the terminal: {screen:?}"
    );
    assert!(screen.contains("4 good"), "{screen:?}");
    // Bad usage is 2, with the flag named.
    for (args, named) in [
        (&["verify", "--from", "yesterday-ish"][..], "--from"),
        (
            &["verify", "--from", "2026-11-23", "--to", "2026-11-22"][..],
            "--from",
        ),
        (&["verify", "--source", "[unclosed"][..], "--source"),
        (&["verify", "--no-such-flag"][..], "--no-such-flag"),
    ] {
        let output = archive.cli(args);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {output:?}");
        assert!(
            String::from_utf8_lossy(&output.stderr).contains(named),
            "{output:?}"
        );
    }
    let unnamed = Command::new(env!("CARGO_BIN_EXE_loghaul"))
        .args(["archive", "verify"])
        .env_remove("LOGHAUL_CONFIG")
        .output()
        .expect("runs");
    assert_eq!(unnamed.status.code(), Some(2), "{unnamed:?}");
    assert!(String::from_utf8_lossy(&unnamed.stderr).contains("--archive"));

    // One byte flipped, one object cut short, one deleted behind its record.
    let flipped = archive.objects_on_disk.join(&key_app_22);
    let mut bytes = std::fs::read(&flipped).expect("object on disk");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x20;
    std::fs::write(&flipped, &bytes).expect("flip");
    let cut = archive.objects_on_disk.join(&key_db);
    let length = std::fs::metadata(&cut).expect("stat").len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&cut)
        .expect("open")
        .set_len(length / 2)
        .expect("truncate");
    std::fs::remove_file(archive.objects_on_disk.join(&key_other)).expect("delete");

    let (code, verified) = archive.json(&["verify"]);
    assert_eq!(code, 1, "a damaged archive fails verify: {verified}");
    let found = statuses(&verified, "key");
    let status_of = |key: &str| {
        found
            .iter()
            .find(|(found, _)| found == key)
            .map(|(_, status)| status.as_str())
            .unwrap_or("absent")
    };
    assert_eq!(status_of(&key_app_24), "good");
    // gzip's CRC and length trailer catch a flipped byte and a cut stream.
    assert_eq!(status_of(&key_app_22), "corrupt", "{verified}");
    assert_eq!(status_of(&key_db), "corrupt", "{verified}");
    assert_eq!(status_of(&key_other), "missing", "{verified}");
    let table = String::from_utf8_lossy(&archive.cli(&["verify"]).stdout).into_owned();
    assert!(
        table.contains("MISSING") && table.contains("1 good"),
        "{table}"
    );

    // Restore everything: only the good file is written.
    let dest = tempfile::tempdir().expect("tempdir");
    let dest_flag = dest.path().display().to_string();
    let (code, restored) = archive.json(&["restore", "--dest", &dest_flag]);
    assert_eq!(code, 1, "{restored}");
    let target = "web-1/var/log/app.log/app.log.20261124T230000Z";
    assert_eq!(
        std::fs::read(dest.path().join(target)).expect("restored file"),
        app_24,
        "restored byte for byte"
    );
    let files = files_under(dest.path());
    assert_eq!(
        files.len(),
        3,
        "the file, SHA256SUMS and the manifest: {files:?}"
    );
    assert!(files.iter().any(|file| file == "SHA256SUMS"));
    assert!(
        files
            .iter()
            .any(|file| file.starts_with("loghaul-restore-") && file.ends_with(".json"))
    );
    assert_eq!(sha256sum_check(dest.path()), format!("{target}: OK\n"));
    let manifest_name = files
        .iter()
        .find(|file| file.starts_with("loghaul-restore-"))
        .expect("manifest");
    let audit: Value =
        serde_json::from_slice(&std::fs::read(dest.path().join(manifest_name)).expect("read"))
            .expect("manifest JSON");
    let files = audit["files"].as_array().expect("files");
    assert_eq!(files.len(), 4);
    assert_eq!(audit["summary"]["good"], 1);
    assert_eq!(audit["summary"]["missing"], 1);
    assert_eq!(audit["summary"]["corrupt"], 2);
    for field in ["started", "finished"] {
        assert!(
            audit[field]
                .as_str()
                .is_some_and(|time| time.starts_with("20") && time.ends_with('Z')),
            "{field}: {audit}"
        );
    }
    assert!(audit["selection"].is_object(), "{audit}");
    assert_eq!(
        audit["destination"],
        dest.path()
            .canonicalize()
            .expect("dest")
            .display()
            .to_string()
    );
    let file_of = |key: &str| {
        files
            .iter()
            .find(|file| file["key"] == key)
            .unwrap_or_else(|| panic!("{key} is in the manifest: {audit}"))
    };
    let good = file_of(&key_app_24);
    assert_eq!(good["status"], "good");
    assert_eq!(good["action"], "restored");
    assert_eq!(good["path"], target);
    assert_eq!(good["sha256"].as_str(), Some(sha256_hex(&app_24).as_str()));
    assert_eq!(file_of(&key_app_22)["status"], "corrupt");
    assert_eq!(file_of(&key_app_22)["action"], "not-written");
    assert_eq!(file_of(&key_db)["status"], "corrupt");
    assert_eq!(file_of(&key_other)["status"], "missing");
    assert!(
        audit["archive"]
            .as_str()
            .is_some_and(|text| !text.is_empty())
    );

    // Again: the restored file is recognised, not fetched again.
    let (_, again) = archive.json(&[
        "restore",
        "--dest",
        &dest_flag,
        "--host",
        "web-1",
        "--from",
        "2026-11-24",
        "--to",
        "2026-11-25",
    ]);
    assert_eq!(again["results"][0]["action"], "already-restored", "{again}");
    assert_eq!(again["summary"]["good"], 1);

    // logrotate's numbered scheme: one rotated name on two days. Both come
    // back, restored in parallel jobs, the second beside the first.
    let monday = log_lines(23, 500, "mon");
    let tuesday = log_lines(24, 700, "tue");
    archive
        .put("web-3", "/var/log/cron.log", "cron.log.1", &monday)
        .await;
    archive
        .put("web-3", "/var/log/cron.log", "cron.log.1", &tuesday)
        .await;
    let numbered = tempfile::tempdir().expect("tempdir");
    let numbered_flag = numbered.path().display().to_string();
    let (code, both) = archive.json(&[
        "restore",
        "--dest",
        &numbered_flag,
        "--host",
        "web-3",
        "--jobs",
        "4",
    ]);
    assert_eq!(code, 0, "{both}");
    assert_eq!(both["summary"]["good"], 2, "{both}");
    let dir = numbered.path().join("web-3/var/log/cron.log");
    assert_eq!(
        std::fs::read(dir.join("cron.log.1")).expect("first"),
        monday
    );
    let beside = format!("cron.log.1.{}", &sha256_hex(&tuesday)[..12]);
    assert_eq!(std::fs::read(dir.join(&beside)).expect("second"), tuesday);
    let checked = sha256sum_check(numbered.path());
    assert_eq!(checked.lines().count(), 2, "{checked}");
}

fn sha256_hex(bytes: &[u8]) -> String {
    use std::io::Write;
    let mut child = Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("sha256sum");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(bytes)
        .expect("write");
    let output = child.wait_with_output().expect("sha256sum ends");
    String::from_utf8_lossy(&output.stdout)[..64].to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_a_directory_archive() {
    audit(Archive::local()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_an_s3_archive() {
    audit(Archive::s3().await).await;
}

/// Puts an object and its record as an attacker might write them.
async fn plant(archive: &Archive, key: &str, compressed: &[u8], metadata: Metadata) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("object");
    std::fs::write(&path, compressed).expect("write");
    archive
        .store
        .put_file(key, &path, &metadata)
        .await
        .expect("planted");
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
    encoder.write_all(bytes).expect("compress");
    encoder.finish().expect("finish")
}

fn hostile_metadata(
    host: &str,
    source: &str,
    raw: &[u8],
    raw_size: u64,
    raw_name: &str,
) -> Metadata {
    Metadata::from([
        ("sha256".into(), sha256_hex(raw)),
        ("raw-size".into(), raw_size.to_string()),
        ("line-count".into(), "1".into()),
        ("first-timestamp-ns".into(), "1795305600000000000".into()),
        ("last-timestamp-ns".into(), "1795305601000000000".into()),
        ("host".into(), host.into()),
        ("source".into(), source.into()),
        ("file-identity".into(), "1-2-0000000000000003".into()),
        ("reason".into(), "size".into()),
        ("raw-name".into(), raw_name.into()),
    ])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_names_links_and_bombs_are_refused() {
    for archive in [Archive::local(), Archive::s3().await] {
        let name = "20261122T000000Z_20261122T000001Z_0123456789ab.log.gz";
        let line = b"2026-11-22T00:00:00Z x\n";
        // Names that climb out of the destination.
        for (n, (host, source, raw_name)) in [
            ("../../etc", "/var/log/a.log", "a.log.1"),
            ("web-1", "/var/../../../etc/cron.d", "a.log.1"),
            ("web-1", "/var/log/a.log", "../../../../tmp/x"),
        ]
        .into_iter()
        .enumerate()
        {
            plant(
                &archive,
                &format!("evil/2026/11/22/n{n}/{name}"),
                &gzip(line),
                hostile_metadata(host, source, line, line.len() as u64, raw_name),
            )
            .await;
        }
        // A gzip bomb: 256 MiB of zeros recorded as 1,000 bytes.
        let zeros = vec![0u8; 1000];
        plant(
            &archive,
            &format!("bomb/2026/11/22/b/{name}"),
            &gzip(&vec![0u8; 256 << 20]),
            hostile_metadata("bomb", "/var/log/b.log", &zeros, 1000, "b.log.1"),
        )
        .await;
        // A destination whose host directory is a symlink to elsewhere.
        plant(
            &archive,
            &format!("linked/2026/11/22/c/{name}"),
            &gzip(line),
            hostile_metadata(
                "linked",
                "/var/log/c.log",
                line,
                line.len() as u64,
                "c.log.1",
            ),
        )
        .await;
        let dest = tempfile::tempdir().expect("tempdir");
        let elsewhere = tempfile::tempdir().expect("tempdir");
        std::os::unix::fs::symlink(elsewhere.path(), dest.path().join("linked")).expect("symlink");

        let dest_flag = dest.path().display().to_string();
        let (code, report) = archive.json(&["restore", "--dest", &dest_flag]);
        assert_eq!(code, 1, "{report}");
        let results = report["results"].as_array().expect("results");
        assert_eq!(results.len(), 5, "{report}");
        for result in results {
            assert_eq!(result["action"], "not-written", "{result}");
            let key = result["key"].as_str().expect("key");
            let expected = if key.starts_with("bomb/") {
                "mismatched"
            } else {
                "refused"
            };
            assert_eq!(result["status"], expected, "{result}");
        }
        let bomb = results
            .iter()
            .find(|result| {
                result["key"]
                    .as_str()
                    .is_some_and(|key| key.starts_with("bomb/"))
            })
            .expect("bomb");
        assert_eq!(
            bomb["raw_bytes"], 1001,
            "stopped one byte past the record: {bomb}"
        );
        assert!(
            bomb["reason"]
                .as_str()
                .is_some_and(|reason| reason.contains("more than the recorded 1000"))
        );
        // Nothing but the run's own files was written, here or through the link.
        let mut written = files_under(dest.path());
        written.retain(|file| {
            file != "SHA256SUMS" && file != "linked" && !file.starts_with("loghaul-restore-")
        });
        assert!(written.is_empty(), "{written:?}");
        assert!(files_under(elsewhere.path()).is_empty());
        assert_eq!(
            std::fs::read_to_string(dest.path().join("SHA256SUMS")).expect("sums"),
            ""
        );
    }
}

/// `bench archive` prints our verify and restore beside `gunzip` and
/// `gunzip | sha256sum` over the same object, for a directory and for S3,
/// in one run. Figures are printed, never compared.
#[tokio::test]
async fn bench_archive_reads_back_beside_the_standard_tools() {
    let server = S3Server::start();
    let output = Command::new(env!("CARGO_BIN_EXE_loghaul"))
        .args([
            "bench",
            "archive",
            "--size",
            "2MiB",
            "--json",
            "--s3-endpoint",
        ])
        .arg(server.endpoint())
        .args([
            "--s3-access-key",
            S3_ACCESS_KEY,
            "--s3-secret-key",
            S3_SECRET_KEY,
        ])
        .env("RUST_LOG", "warn")
        .output()
        .expect("runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_slice(&output.stdout).expect("JSON report");
    eprintln!("{report}");
    assert!(
        report["bytes"]
            .as_u64()
            .is_some_and(|bytes| bytes >= 2 << 20)
    );
    let names: Vec<&str> = report["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|row| {
            assert!(
                row["mib_per_second"]
                    .as_f64()
                    .is_some_and(|speed| speed > 0.0),
                "{row}"
            );
            row["name"].as_str().expect("name")
        })
        .collect();
    for wanted in [
        "gzip -6",
        "gzip -6 x2 at once",
        "archive -6 -> directory",
        "archive -6 -> s3",
        "gunzip",
        "gunzip | sha256sum",
        "verify <- directory",
        "restore <- directory",
        "verify <- s3",
        "restore <- s3",
    ] {
        assert!(names.contains(&wanted), "{wanted} missing from {names:?}");
    }
}
