//! A 1 GiB restore from a real S3-compatible server (s3s-fs), SIGKILLed
//! after its first file and run again: the second run keeps what the first
//! finished, restores the rest, and every file is byte-exact. The peak RSS
//! of both runs is printed; memory must not follow the object size. The
//! same from a local-directory archive, at 256 MiB.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use loghaul_archive::{
    ArchiveRequest, Archiver, LocalStore, ObjectStore, S3Connection, S3Store, Spool, StoreOptions,
    digest_file,
};
use loghaul_model::{FileIdentity, RotationReason};
use loghaul_testkit::{S3_ACCESS_KEY, S3_SECRET_KEY, S3Server};

const FILES: u64 = 4;

fn write_log(path: &Path, seed: u64, file_bytes: u64) {
    let mut out =
        std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path).expect("create"));
    let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut written = 0u64;
    let mut n = 0u64;
    while written < file_bytes {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let line = format!(
            "2026-11-2{}T{:02}:{:02}:{:02}Z INFO request {n} took {}ms id={state:016x}\n",
            seed,
            (n / 3600) % 24,
            (n / 60) % 60,
            n % 60,
            state % 997
        );
        out.write_all(line.as_bytes()).expect("write");
        written += line.len() as u64;
        n += 1;
    }
    out.flush().expect("flush");
}

/// Peak resident memory (VmHWM) of a running process, in KiB.
fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

fn finals(dest: &Path) -> Vec<PathBuf> {
    let dir = dest.join("big-host/var/log/big.log");
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| {
            !path
                .file_name()
                .is_some_and(|name| name.to_string_lossy().starts_with('.'))
        })
        .collect();
    found.sort();
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_one_gib_restore_killed_midway_resumes_byte_exact() {
    let server = S3Server::start();
    let connection = S3Connection::path_style(
        &server.endpoint(),
        Some((S3_ACCESS_KEY.into(), S3_SECRET_KEY.into())),
    );
    let store = S3Store::connect(&connection, "big", "", StoreOptions::default()).await;
    store.create_bucket_if_missing().await.expect("bucket");
    let flags: Vec<String> = [
        "--archive",
        "s3://big",
        "--endpoint",
        &server.endpoint(),
        "--path-style",
        "--access-key-id",
        S3_ACCESS_KEY,
        "--secret-access-key",
        S3_SECRET_KEY,
    ]
    .map(str::to_owned)
    .to_vec();
    killed_midway_then_resumed(Arc::new(store), &flags, 256 << 20).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restore_from_a_directory_killed_midway_resumes_byte_exact() {
    let archive = tempfile::tempdir().expect("tempdir");
    let flags = vec!["--archive".to_owned(), archive.path().display().to_string()];
    killed_midway_then_resumed(Arc::new(LocalStore::new(archive.path())), &flags, 64 << 20).await;
}

async fn killed_midway_then_resumed(
    store: Arc<dyn ObjectStore>,
    flags: &[String],
    file_bytes: u64,
) {
    let work = tempfile::tempdir().expect("tempdir");
    let archiver = Archiver::new(
        store,
        Spool::open(&work.path().join("spool")).expect("spool"),
        "",
        1,
        64 << 20,
    );
    let mut originals = Vec::new();
    for seed in 1..=FILES {
        let raw = work.path().join(format!("big.log.2026112{seed}T000000Z"));
        write_log(&raw, seed, file_bytes);
        archiver
            .archive(&ArchiveRequest {
                raw_path: raw.clone(),
                source_path: "/var/log/big.log".into(),
                host: "big-host".into(),
                file: FileIdentity::of_path(&raw, 0).expect("stat"),
                reason: RotationReason::Size,
            })
            .await
            .expect("archived");
        originals.push((raw.clone(), digest_file(&raw).await.expect("digest")));
        // Keep the disk use down: only the digests are needed from here on.
        std::fs::remove_file(&raw).expect("remove");
    }

    let dest = tempfile::tempdir().expect("tempdir");
    let restore = || {
        Command::new(env!("CARGO_BIN_EXE_loghaul"))
            .args(["archive", "restore", "--jobs", "1", "--json"])
            .args(flags)
            .arg("--dest")
            .arg(dest.path())
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("restore starts")
    };

    // First run: killed once its first file is final.
    let mut first = restore();
    let started = Instant::now();
    let mut first_peak = 0;
    while finals(dest.path()).is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "no file restored in 5 minutes"
        );
        assert!(
            first.try_wait().expect("wait").is_none(),
            "the run ended before the kill"
        );
        first_peak = first_peak.max(peak_rss_kib(first.id()).unwrap_or(0));
        std::thread::sleep(Duration::from_millis(10));
    }
    first.kill().expect("SIGKILL");
    first.wait().expect("reaped");
    let kept = finals(dest.path());
    assert!(
        !kept.is_empty() && kept.len() < FILES as usize,
        "killed midway: {kept:?}"
    );

    // Second run: continues, and ends with every file whole.
    let mut second = restore();
    let pid = second.id();
    let mut second_peak = 0;
    let status = loop {
        if let Some(status) = second.try_wait().expect("wait") {
            break status;
        }
        second_peak = second_peak.max(peak_rss_kib(pid).unwrap_or(0));
        std::thread::sleep(Duration::from_millis(10));
    };
    let output = second.wait_with_output().expect("output");
    assert!(
        status.success(),
        "{:?}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let actions: Vec<&str> = report["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|result| result["action"].as_str().expect("action"))
        .collect();
    let already = actions
        .iter()
        .filter(|action| **action == "already-restored")
        .count();
    assert_eq!(
        already,
        kept.len(),
        "what the killed run finished is kept: {actions:?}"
    );
    assert_eq!(actions.len(), FILES as usize);

    let restored = finals(dest.path());
    assert_eq!(restored.len(), FILES as usize, "{restored:?}");
    let mut total = 0;
    for (original, digest) in &originals {
        let path = dest
            .path()
            .join("big-host/var/log/big.log")
            .join(original.file_name().expect("name"));
        assert_eq!(
            &digest_file(&path).await.expect("digest"),
            digest,
            "{}",
            path.display()
        );
        total += digest.size;
    }
    let leftovers: Vec<_> = std::fs::read_dir(dest.path().join("big-host/var/log/big.log"))
        .expect("list")
        .flatten()
        .filter(|entry| {
            entry
                .file_name()
                .to_string_lossy()
                .contains("loghaul-partial")
        })
        .collect();
    assert!(
        leftovers.is_empty(),
        "no partial file is left: {leftovers:?}"
    );
    let checked = Command::new("sha256sum")
        .args(["-c", "--quiet", "SHA256SUMS"])
        .current_dir(dest.path())
        .status()
        .expect("sha256sum");
    assert!(checked.success());
    eprintln!(
        "restored {:.0} MiB in {FILES} files; peak RSS: killed run {:.1} MiB, resumed run {:.1} MiB",
        total as f64 / f64::from(1 << 20),
        first_peak as f64 / 1024.0,
        second_peak as f64 / 1024.0
    );
    // Streaming: far below one object's size, whatever it is.
    assert!(
        second_peak > 0 && second_peak < 128 * 1024,
        "peak RSS {second_peak} KiB"
    );
}
