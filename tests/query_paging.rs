//! `loghaul query` pages through every match, at volume.
//!
//! - Against a data directory of 1,000,000 events, `--all --json` prints each
//!   exactly once while the process's memory stays far below the size of
//!   what it prints (the whole output is read, counted and dropped here).
//! - Against `loghaul run` serving a file of 2,500 lines without timestamps
//!   (so whole batches share one read time): `--all` and `-n 1200` print
//!   exactly that many distinct lines, equal times in file order.

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use loghaul_indexer::store::ShardStore;
use loghaul_model::{Event, EventBatch, EventId, FileIdentity, Resource, Severity};

fn loghaul() -> Command {
    Command::new(env!("CARGO_BIN_EXE_loghaul"))
}

const MILLION: u64 = 1_000_000;
/// 2026-11-22T00:00:00Z.
const BASE: i64 = 1_795_305_600_000_000_000;

fn rss_kib(pid: u32) -> Option<u64> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()?
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
}

#[test]
fn all_json_over_a_million_events_holds_one_page_at_a_time() {
    let dir = tempfile::tempdir().expect("tempdir");
    let started = Instant::now();
    let mut store = ShardStore::open(dir.path(), 0, 128 << 20).expect("store");
    let file = FileIdentity {
        device: 9,
        inode: 9,
        fingerprint: 9,
    };
    let mut batch = Vec::with_capacity(10_000);
    for index in 0..MILLION {
        batch.push(Event {
            id: EventId::new("bulk", &file, index * 120),
            // Runs of 1,000 equal timestamps, one run a second.
            timestamp_unix_nano: BASE + (index / 1000) as i64 * 1_000_000_000,
            observed_timestamp_unix_nano: BASE,
            severity: Severity::default(),
            body: format!("export line {index} of the bulk file, with some words to carry"),
            attributes: serde_json::Map::new(),
            resource: Resource {
                host: "bulk".into(),
                source: "/var/log/bulk.log".into(),
                service: None,
                source_name: None,
            },
            file,
            offset: index * 120,
            parse_error: None,
        });
        if batch.len() == 10_000 {
            store
                .add_batch(&EventBatch {
                    events: std::mem::take(&mut batch),
                })
                .expect("add");
        }
        if (index + 1) % 250_000 == 0 {
            store.commit().expect("commit");
        }
    }
    store.close().expect("close");
    eprintln!(
        "indexed {MILLION} events in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let began = Instant::now();
    let mut child = loghaul()
        .args(["query", "--all", "--json", "--data-dir"])
        .arg(dir.path())
        .arg("export")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("query");
    let pid = child.id();
    let peak = Arc::new(AtomicU64::new(0));
    let running = Arc::new(AtomicBool::new(true));
    let sampler = {
        let (peak, running) = (peak.clone(), running.clone());
        std::thread::spawn(move || {
            while running.load(Ordering::Relaxed) {
                if let Some(rss) = rss_kib(pid) {
                    peak.fetch_max(rss, Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };
    let stdout = child.stdout.take().expect("stdout");
    let mut seen: HashSet<u64> = HashSet::with_capacity(MILLION as usize);
    let mut bytes = 0u64;
    let mut previous: Option<(i64, u64)> = None;
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("line");
        bytes += line.len() as u64 + 1;
        let event: serde_json::Value = serde_json::from_str(&line).expect("JSON");
        let offset = event["offset"].as_u64().expect("offset");
        let time = event["timestamp_unix_nano"].as_i64().expect("time");
        assert!(seen.insert(offset), "offset {offset} printed twice");
        // Newest first; equal times in file order.
        if let Some((last_time, last_offset)) = previous {
            assert!(
                time < last_time || (time == last_time && offset > last_offset),
                "out of order: ({last_time}, {last_offset}) then ({time}, {offset})"
            );
        }
        previous = Some((time, offset));
    }
    let status = child.wait().expect("exit");
    running.store(false, Ordering::Relaxed);
    sampler.join().expect("sampler");
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().expect("stderr"), &mut stderr)
        .expect("stderr");
    assert!(status.success(), "{stderr}");
    assert_eq!(seen.len() as u64, MILLION);
    let peak_mib = peak.load(Ordering::Relaxed) / 1024;
    let output_mib = bytes >> 20;
    eprintln!(
        "query --all --json: {MILLION} events, {output_mib} MiB of output in {:.1} s, peak RSS {peak_mib} MiB",
        began.elapsed().as_secs_f64()
    );
    assert!(
        peak_mib * 2 < output_mib,
        "peak RSS {peak_mib} MiB against {output_mib} MiB printed: the events were held"
    );
}

#[test]
fn query_pages_through_a_server() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("plain.log");
    let text: String = (0..2500)
        .map(|index| format!("plain output line {index} without a time\n"))
        .collect();
    std::fs::write(&log, text).expect("log");
    let (mut child, address, _stderr) = loghaul_testkit::start_run(
        std::path::Path::new(env!("CARGO_BIN_EXE_loghaul")),
        dir.path(),
        &log,
    );
    let url = format!("http://{address}");
    let token = loghaul_testkit::api_token(address).expect("run made a token");
    let query = |args: &[&str]| {
        let output = loghaul()
            .arg("query")
            .args(["--server", &url])
            .env("LOGHAUL_TOKEN", &token)
            .args(args)
            .output()
            .expect("runs");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).expect("UTF-8")
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while query(&["--count", "plain"]).trim() != "2500" {
        assert!(Instant::now() < deadline, "never all searchable");
        std::thread::sleep(Duration::from_millis(200));
    }
    let numbers = |out: &str| -> Vec<u64> {
        out.lines()
            .map(|line| {
                let value: serde_json::Value = serde_json::from_str(line).expect("JSON");
                value["offset"].as_u64().expect("offset")
            })
            .collect()
    };
    let all = numbers(&query(&["--all", "--json", "plain"]));
    assert_eq!(all.len(), 2500);
    assert_eq!(all.iter().collect::<HashSet<_>>().len(), 2500, "each once");
    let some = numbers(&query(&["-n", "1200", "--json", "plain"]));
    assert_eq!(some, all[..1200], "-n 1200 is the first 1200 of --all");
    // One page prints oldest first: the last line is the newest match.
    let page = numbers(&query(&["-n", "10", "--json", "plain"]));
    assert_eq!(page.len(), 10);
    assert_eq!(page.last(), all.first());
    let human = query(&["-n", "0", "plain"]);
    assert_eq!(human.lines().count(), 2500);
    // The query goes as typed: 32 levels of nesting, the documented most.
    let deep = format!("{}plain{}", "(".repeat(32), ")".repeat(32));
    assert_eq!(query(&["--count", &deep]).trim(), "2500");
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(child.wait().expect("exit").success());
}
