//! Benchmarks as subcommands: each prints its figures beside a baseline
//! measured in the same run. Nothing here asserts a time.

mod archive;
mod compare;
mod index;
mod parse;
mod run;
mod ship;

use std::io::{BufWriter, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::Context;
use loghaul_config::ByteSize;
use serde_json::json;

pub(crate) use archive::{ARCHIVE_HELP, BenchArchiveArgs, bench_archive};
pub(crate) use compare::{BenchCompareArgs, COMPARE_HELP, bench_compare};
pub(crate) use index::{BenchIndexArgs, INDEX_HELP, bench_index};
pub(crate) use parse::{BenchParseArgs, PARSE_HELP, bench_parse};
pub(crate) use run::{BenchRunArgs, RUN_HELP, bench_run};
pub(crate) use ship::{BenchShipArgs, HELP, bench_ship};

pub(super) fn parse_size(text: &str) -> Result<ByteSize, String> {
    ByteSize::parse(text)
}

/// CPU seconds of this process (user + system) and of its waited-for children.
pub(super) fn cpu_seconds() -> (f64, f64) {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the parenthesised command name; utime is field 14.
    let after_name = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .unwrap_or_default();
    let fields: Vec<f64> = after_name
        .split_whitespace()
        .map(|field| field.parse().unwrap_or(0.0))
        .collect();
    let ticks = 100.0;
    let own = (fields.get(11).unwrap_or(&0.0) + fields.get(12).unwrap_or(&0.0)) / ticks;
    let children = (fields.get(13).unwrap_or(&0.0) + fields.get(14).unwrap_or(&0.0)) / ticks;
    (own, children)
}

/// Bytes of the files under `dir`.
pub(super) fn disk_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|entry| match entry.file_type() {
            Ok(kind) if kind.is_dir() => disk_bytes(&entry.path()),
            Ok(_) => entry.metadata().map_or(0, |metadata| metadata.len()),
            Err(_) => 0,
        })
        .sum()
}

pub(super) fn peak_rss_bytes() -> u64 {
    peak_rss_of("self")
}

/// Peak RSS of process `pid` (`self` for this one), 0 when unreadable.
pub(super) fn peak_rss_of(pid: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| {
            value
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        })
        .map_or(0, |kib| kib * 1024)
}

/// Writes realistic application log lines up to `size` bytes; returns the
/// line count.
pub(super) fn generate(path: &Path, size: u64) -> anyhow::Result<u64> {
    let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    let levels = ["INFO", "INFO", "INFO", "DEBUG", "WARN", "ERROR"];
    let paths = [
        "/api/v1/items",
        "/api/v1/users",
        "/healthz",
        "/api/v2/orders/search",
        "/static/app.js",
    ];
    let (mut written, mut lines, mut state) = (0u64, 0u64, 0x2545_f491_4f6c_dd1du64);
    while written < size {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let line = format!(
            "2026-11-22T{:02}:{:02}:{:02}.{:03}Z {} [worker-{}] request handled path={}/{} status={} duration_ms={} user=u{}\n",
            (state >> 8) % 24,
            (state >> 16) % 60,
            (state >> 24) % 60,
            (state >> 32) % 1000,
            levels[(state % 6) as usize],
            (state >> 40) % 16,
            paths[((state >> 20) % 5) as usize],
            (state >> 12) % 100_000,
            [200, 200, 201, 304, 404, 500][((state >> 44) % 6) as usize],
            (state >> 48) % 2000,
            (state >> 4) % 1_000_000,
        );
        out.write_all(line.as_bytes())?;
        written += line.len() as u64;
        lines += 1;
    }
    out.flush()?;
    Ok(lines)
}

/// The newlines in `file`.
pub(super) fn count_lines(file: &Path) -> anyhow::Result<u64> {
    Ok(std::fs::read(file)?
        .iter()
        .filter(|byte| **byte == b'\n')
        .count() as u64)
}

/// The file to measure: `file` when given (its lines counted), else a
/// generated one of `size` in `scratch`.
pub(super) fn bench_input(
    file: Option<&Path>,
    size: ByteSize,
    scratch: &Path,
) -> anyhow::Result<(std::path::PathBuf, u64)> {
    if let Some(file) = file {
        return Ok((file.to_owned(), count_lines(file)?));
    }
    let path = scratch.join("bench.log");
    eprintln!("generating {size} of log lines in {}", path.display());
    let lines = generate(&path, size.bytes())?;
    Ok((path, lines))
}

pub(super) struct Figure {
    pub(super) name: String,
    pub(super) seconds: f64,
    pub(super) cpu_seconds: f64,
    pub(super) peak_rss: Option<u64>,
}

pub(super) fn baseline(name: &str, shell: &str, file: &Path) -> anyhow::Result<Figure> {
    let (_, children_before) = cpu_seconds();
    let started = Instant::now();
    let status = Command::new("sh")
        .arg("-c")
        .arg(shell)
        .arg("bench")
        .arg(file)
        .stdout(Stdio::null())
        .status()
        .with_context(|| format!("running {name}"))?;
    let seconds = started.elapsed().as_secs_f64();
    anyhow::ensure!(status.success(), "{name} failed: {status}");
    let (_, children_after) = cpu_seconds();
    Ok(Figure {
        name: name.into(),
        seconds,
        cpu_seconds: children_after - children_before,
        peak_rss: None,
    })
}

#[allow(clippy::print_stdout)]
pub(super) fn report(figures: &[Figure], bytes: u64, lines: u64, profile: &str, json: bool) {
    let mib = bytes as f64 / f64::from(1 << 20);
    let gib = bytes as f64 / f64::from(1 << 30);
    if json {
        let rows: Vec<serde_json::Value> = figures
            .iter()
            .map(|figure| {
                json!({
                    "name": figure.name,
                    "seconds": figure.seconds,
                    "mib_per_second": mib / figure.seconds,
                    "lines_per_second": lines as f64 / figure.seconds,
                    "cpu_seconds_per_gib": figure.cpu_seconds / gib,
                    "peak_rss_bytes": figure.peak_rss,
                })
            })
            .collect();
        println!(
            "{}",
            json!({ "bytes": bytes, "lines": lines, "profile": profile, "results": rows })
        );
        return;
    }
    println!("{:.2} GiB, {lines} lines; {profile}", gib);
    println!(
        "{:<22} {:>10} {:>12} {:>12} {:>12}",
        "", "MiB/s", "lines/s", "CPU s/GiB", "peak RSS"
    );
    for figure in figures {
        let rss = figure.peak_rss.map_or("-".to_owned(), |rss| {
            format!("{:.1} MiB", rss as f64 / f64::from(1 << 20))
        });
        println!(
            "{:<22} {:>10.1} {:>12.0} {:>12.2} {:>12}",
            figure.name,
            mib / figure.seconds,
            lines as f64 / figure.seconds,
            figure.cpu_seconds / gib,
            rss
        );
    }
}
