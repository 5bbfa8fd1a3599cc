//! `loghaul run` on its defaults with its data_dir on a small tmpfs that
//! fills up while 100,000 lines are written: it keeps running (paused, with
//! a WARN and `loghaul_disk_full_*` metrics), and once the tmpfs grows every
//! line is searchable exactly once.
//!
//! Before the pauses, `run` exited 1 on this ("write checkpoints … No space
//! left on device"), and a restart found 38,555 of 100,000 lines.
#![allow(clippy::print_stdout)]

use std::path::Path;
use std::time::{Duration, Instant};

use loghaul_testkit::{Tmpfs, api_count, http_get, numbers_on_the_index};

const TOTAL: u32 = 100_000;

fn disk_full_retries(address: std::net::SocketAddr) -> u64 {
    let (_, metrics) = http_get(address, "/metrics");
    metrics
        .lines()
        .filter(|line| line.starts_with("loghaul_disk_full_retries_total{"))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

fn append(log: &Path, numbers: std::ops::Range<u32>) {
    loghaul_testkit::append_numbered(
        log,
        numbers,
        "marker GET /api/v1/orders/{n} 200 the quick brown fox jumps over the lazy dog",
    );
}

#[test]
fn a_full_data_dir_pauses_run_and_loses_and_doubles_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    // The logs live on the real disk; only data_dir is small.
    let log = dir.path().join("logs/app.log");
    std::fs::create_dir_all(log.parent().expect("parent")).expect("mkdir");
    let config = dir.path().join("loghaul.toml");
    std::fs::write(
        &config,
        format!(
            "host = \"full\"\n[[shipper.sources]]\nname = \"app\"\npaths = [\"{}\"]\n[shipper.batch]\nmax_wait = \"50ms\"\n",
            log.display()
        ),
    )
    .expect("config");
    let tmpfs = Tmpfs::mount_on(&dir.path().join("data"), "3m");
    append(&log, 0..100);
    let (mut child, address, _stderr) = loghaul_testkit::start_run_with(
        Path::new(env!("CARGO_BIN_EXE_loghaul")),
        dir.path(),
        &[String::from("-c"), config.display().to_string()],
    );

    // 100,000 lines (about 9 MiB) into 3 MiB: the disk fills on the way.
    let mut n = 100;
    while n < TOTAL {
        let end = (n + 5_000).min(TOTAL);
        append(&log, n..end);
        n = end;
        std::thread::sleep(Duration::from_millis(50));
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    while disk_full_retries(address) == 0 {
        assert!(
            Instant::now() < deadline,
            "the disk never filled: {} bytes free",
            tmpfs.free_bytes()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // Full, for a while: still running, still answering.
    std::thread::sleep(Duration::from_secs(5));
    assert!(
        child.try_wait().expect("try_wait").is_none(),
        "run exited on a full disk"
    );
    let while_full = api_count(address, "marker").expect("the API answers while full");
    let (_, metrics) = http_get(address, "/metrics");
    let paused: Vec<&str> = metrics
        .lines()
        .filter(|line| line.starts_with("loghaul_disk_full_paused{") && !line.ends_with(" 0"))
        .collect();
    assert!(!paused.is_empty(), "no store shows its pause:\n{metrics}");

    tmpfs.resize("512m");
    let deadline = Instant::now() + Duration::from_secs(300);
    while api_count(address, "marker") != Some(u64::from(TOTAL)) {
        assert!(
            Instant::now() < deadline,
            "stuck at {:?} of {TOTAL} after space returned",
            api_count(address, "marker")
        );
        assert!(child.try_wait().expect("try_wait").is_none(), "run exited");
        std::thread::sleep(Duration::from_millis(200));
    }
    let seen = numbers_on_the_index(address, "marker");
    let duplicates: u32 = seen.values().map(|count| count - 1).sum();
    let missing = (0..TOTAL).filter(|n| !seen.contains_key(n)).count();
    println!(
        "data_dir on a 3 MiB tmpfs, {TOTAL} lines: {while_full} searchable while full ({} paused), {} retries; after growing: {missing} missing, {duplicates} duplicates",
        paused.join(", "),
        disk_full_retries(address)
    );
    assert_eq!(missing, 0);
    assert_eq!(duplicates, 0);
    std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill -TERM");
    assert!(child.wait().expect("exit").success());
}
