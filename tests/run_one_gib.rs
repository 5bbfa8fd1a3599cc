//! One 1 GiB nginx access log through `loghaul run` on its defaults (the
//! durable disk queue, `format = "auto"`) until `/api/count` equals its line
//! count. Before the per-queue bounds, `run` stalled on a 100 MiB file:
//! raw batches filled the one memory budget, the parser's events were
//! refused, and nothing more was indexed.
//!
//! The rate is printed, never asserted; the deadline only keeps a stuck run
//! from hanging the suite.
#![allow(clippy::print_stdout)]

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use loghaul_testkit::api_count;

const SIZE: u64 = 1 << 30;

/// Writes an nginx combined log of at least `SIZE` bytes; returns its lines.
fn generate(path: &Path) -> u64 {
    const PATHS: [&str; 6] = [
        "/api/v1/orders",
        "/api/v1/users",
        "/static/app.js",
        "/index.html",
        "/api/v1/cart",
        "/login",
    ];
    const AGENTS: [&str; 3] = [
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
        "curl/8.5.0",
        "Go-http-client/1.1",
    ];
    let mut out =
        std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path).expect("create"));
    let (mut written, mut lines) = (0u64, 0u64);
    while written < SIZE {
        let n = lines;
        let line = format!(
            "10.{}.{}.{} - - [29/Nov/2026:{:02}:{:02}:{:02} +0000] \"GET {}/{n} HTTP/1.1\" {} {} \"-\" \"{}\"\n",
            n % 256,
            (n / 256) % 256,
            n % 7,
            (n / 3_600_000) % 24,
            (n / 60_000) % 60,
            (n / 1_000) % 60,
            PATHS[(n % 6) as usize],
            if n % 50 == 0 { 500 } else { 200 },
            n % 5_000,
            AGENTS[(n % 3) as usize],
        );
        out.write_all(line.as_bytes()).expect("write");
        written += line.len() as u64;
        lines += 1;
    }
    out.flush().expect("flush");
    lines
}

#[test]
fn a_one_gib_access_log_is_all_searchable_through_run_on_its_defaults() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("access.log");
    let lines = generate(&log);
    let started = Instant::now();
    let (mut child, address, _stderr) =
        loghaul_testkit::start_run(Path::new(env!("CARGO_BIN_EXE_loghaul")), dir.path(), &log);
    let deadline = Instant::now() + Duration::from_secs(30 * 60);
    let mut last_report = Instant::now();
    loop {
        let count = api_count(address, "*").unwrap_or(0);
        if count == lines {
            break;
        }
        assert!(count <= lines, "{count} events for {lines} lines");
        assert!(
            child.try_wait().expect("try_wait").is_none(),
            "run exited at {count} of {lines}"
        );
        assert!(
            Instant::now() < deadline,
            "stuck at {count} of {lines} after {:.0} s",
            started.elapsed().as_secs_f64()
        );
        if last_report.elapsed() >= Duration::from_secs(30) {
            println!(
                "{:.0} s: {count} of {lines}",
                started.elapsed().as_secs_f64()
            );
            last_report = Instant::now();
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    let seconds = started.elapsed().as_secs_f64();
    let errors = api_count(address, "http.response.status_code:500").unwrap_or(0);
    println!(
        "1 GiB through run on its defaults: {lines} lines all searchable in {seconds:.1} s ({:.1} MiB/s, {:.0} lines/s); http.response.status_code:500 finds {errors}",
        (SIZE >> 20) as f64 / seconds,
        lines as f64 / seconds
    );
    assert_eq!(errors, lines.div_ceil(50), "the format was recognised");
    std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill -TERM");
    assert!(child.wait().expect("exit").success());
}
