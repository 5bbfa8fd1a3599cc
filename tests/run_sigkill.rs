//! `loghaul run` on its defaults (the durable disk queue) is killed with
//! SIGKILL twice while 30,000 numbered lines are written, with a rename
//! rotation and a copytruncate on the way. After a clean restart every line
//! is searchable exactly once: 0 missing, 0 duplicates.
//!
//! Before this queue, the same run lost 20,001 lines: the shipper
//! checkpointed what the memory queue had accepted, and the memory queue
//! died with the process.
#![allow(clippy::print_stdout)]

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::{Duration, Instant};

use loghaul_testkit::{api_count, numbers_on_the_index};

const TOTAL: u32 = 30_000;

struct Run {
    child: Child,
    address: SocketAddr,
    _stderr: std::sync::mpsc::Receiver<String>,
}

fn start(dir: &Path, config: &Path) -> Run {
    // start_run passes the log as PATHS; the config adds nothing else.
    let (child, address, stderr) = loghaul_testkit::start_run_with(
        Path::new(env!("CARGO_BIN_EXE_loghaul")),
        dir,
        &[String::from("-c"), config.display().to_string()],
    );
    Run {
        child,
        address,
        _stderr: stderr,
    }
}

fn count(address: SocketAddr) -> Option<u64> {
    api_count(address, "marker")
}

fn wait_for_count(run: &Run, dir: &Path, wanted: u64) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if count(run.address) == Some(wanted) {
            return;
        }
        if Instant::now() >= deadline {
            panic!(
                "count stuck at {:?}, wanted {wanted}\n{}",
                count(run.address),
                what_went_wrong(run, dir)
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// For a failure: which numbers are doubled or missing (as ranges), the
/// shipper's checkpoints, and the run's warnings.
fn what_went_wrong(run: &Run, dir: &Path) -> String {
    let seen = numbers_on_the_index(run.address, "marker");
    let top = seen.keys().max().copied().unwrap_or(0);
    let ranges = |wanted: &dyn Fn(u32) -> bool| {
        let mut out: Vec<String> = Vec::new();
        let mut start: Option<u32> = None;
        for n in 0..=top + 1 {
            match (wanted(n), start) {
                (true, None) => start = Some(n),
                (false, Some(from)) => {
                    out.push(format!("{from}..{n}"));
                    start = None;
                }
                _ => {}
            }
        }
        out.join(" ")
    };
    let doubled = ranges(&|n| seen.get(&n).is_some_and(|count| *count > 1));
    let missing = ranges(&|n| n <= top && !seen.contains_key(&n));
    let checkpoints = std::fs::read_to_string(dir.join("data/shipper/checkpoints.json"))
        .unwrap_or_else(|error| format!("no checkpoints: {error}"));
    let warnings: Vec<String> = run
        ._stderr
        .try_iter()
        .filter(|line| !line.contains(" INFO "))
        .take(50)
        .collect();
    format!(
        "doubled: {doubled}\nmissing: {missing}\ncheckpoints: {checkpoints}\nwarnings:\n{}",
        warnings.join("\n")
    )
}

fn kill(run: &mut Run) {
    run.child.kill().expect("SIGKILL");
    run.child.wait().expect("reaped");
}

fn append(log: &Path, numbers: std::ops::Range<u32>) {
    loghaul_testkit::append_numbered(
        log,
        numbers,
        "marker the quick brown fox jumps over the lazy dog",
    );
}

/// Writes `numbers` in slices of 100, 10 ms apart, and SIGKILLs `run` once
/// `kill_at` is written.
fn write_slowly(log: &Path, numbers: std::ops::Range<u32>, kill_at: Option<(u32, &mut Run)>) {
    let mut kill_at = kill_at;
    let mut n = numbers.start;
    while n < numbers.end {
        let end = (n + 100).min(numbers.end);
        append(log, n..end);
        n = end;
        if let Some((at, run)) = kill_at.as_mut()
            && n >= *at
        {
            kill(run);
            kill_at = None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn two_sigkills_a_rename_and_a_copytruncate_lose_and_double_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let logs: PathBuf = dir.path().join("logs");
    std::fs::create_dir_all(&logs).expect("mkdir");
    let log = logs.join("app.log");
    let config = dir.path().join("loghaul.toml");
    std::fs::write(
        &config,
        format!(
            "host = \"kill-run\"\n[[shipper.sources]]\nname = \"app\"\npaths = [\"{}\"]\n[shipper.batch]\nmax_wait = \"50ms\"\n",
            log.display()
        ),
    )
    .expect("config");
    append(&log, 0..100);

    // First run: killed in the middle of lines 100..10,000.
    let mut first = start(dir.path(), &config);
    write_slowly(&log, 100..10_000, Some((5_000, &mut first)));

    // Second run: a rename rotation (logrotate's name, outside the glob;
    // the shipper follows the file it had open), then killed again.
    let mut second = start(dir.path(), &config);
    std::fs::rename(&log, logs.join("app.log.1")).expect("rotate");
    write_slowly(&log, 10_000..20_000, Some((15_000, &mut second)));

    // Third run: caught up, then a copytruncate (which by its nature loses
    // what is written between a shipper's last read and the truncation, so
    // the writer waits for everything to be searchable first).
    let mut third = start(dir.path(), &config);
    wait_for_count(&third, dir.path(), 20_000);
    std::fs::copy(&log, logs.join("app.log.copy")).expect("copy");
    std::fs::File::create(&log).expect("truncate");
    write_slowly(&log, 20_000..TOTAL, None);
    wait_for_count(&third, dir.path(), u64::from(TOTAL));
    let seen = numbers_on_the_index(third.address, "marker");
    std::process::Command::new("kill")
        .args(["-TERM", &third.child.id().to_string()])
        .status()
        .expect("kill -TERM");
    assert!(third.child.wait().expect("exit").success());

    let missing: Vec<u32> = (0..TOTAL).filter(|n| !seen.contains_key(n)).collect();
    let duplicates: u32 = seen.values().map(|count| count - 1).sum();
    println!(
        "run on defaults, {TOTAL} lines, 2 SIGKILLs, a rename and a copytruncate: {} missing, {duplicates} duplicates",
        missing.len()
    );
    assert!(
        missing.is_empty(),
        "missing {}: first {:?}",
        missing.len(),
        &missing[..missing.len().min(10)]
    );
    assert_eq!(duplicates, 0);
    assert_eq!(seen.len(), TOTAL as usize);
}

/// A SIGKILL in the middle of importing a 100 MiB file loses nothing: after
/// the restart every one of its lines is searchable exactly once.
#[test]
fn a_sigkill_during_a_100_mib_import_loses_nothing() {
    const LINES: u32 = 1_000_000;
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("import.log");
    {
        let mut file = std::io::BufWriter::new(std::fs::File::create(&log).expect("create"));
        for n in 0..LINES {
            // About 106 bytes a line: just over 100 MiB in all.
            writeln!(
                file,
                "{n:07} marker GET /api/v1/orders/{n} 200 0.0{:02}s request served; the quick brown fox jumps over the lazy dog",
                n % 100
            )
            .expect("write");
        }
    }
    let size = std::fs::metadata(&log).expect("size").len();
    let config = dir.path().join("loghaul.toml");
    std::fs::write(
        &config,
        format!(
            "host = \"import\"\n[[shipper.sources]]\nname = \"import\"\npaths = [\"{}\"]\n",
            log.display()
        ),
    )
    .expect("config");
    let started = Instant::now();
    let mut first = start(dir.path(), &config);
    let deadline = Instant::now() + Duration::from_secs(300);
    while count(first.address).unwrap_or(0) < u64::from(LINES) / 3 {
        assert!(Instant::now() < deadline, "the import never got a third in");
        std::thread::sleep(Duration::from_millis(100));
    }
    let at_kill = count(first.address).unwrap_or(0);
    kill(&mut first);
    let mut second = start(dir.path(), &config);
    let deadline = Instant::now() + Duration::from_secs(600);
    while count(second.address) != Some(u64::from(LINES)) {
        assert!(
            Instant::now() < deadline,
            "stuck at {:?} of {LINES}",
            count(second.address)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let seen = numbers_on_the_index(second.address, "marker");
    let duplicates: u32 = seen.values().map(|count| count - 1).sum();
    println!(
        "{} MiB import, SIGKILL at {at_kill} of {LINES} indexed: all searchable {:.1} s after the first start; {} distinct, {duplicates} duplicates",
        size >> 20,
        started.elapsed().as_secs_f64(),
        seen.len()
    );
    std::process::Command::new("kill")
        .args(["-TERM", &second.child.id().to_string()])
        .status()
        .expect("kill -TERM");
    assert!(second.child.wait().expect("exit").success());
    assert_eq!(seen.len(), LINES as usize, "every line once");
    assert_eq!(duplicates, 0);
}
