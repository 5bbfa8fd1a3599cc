//! `loghaul bench ship`: throughput, CPU and memory of the shipper, printed
//! beside `cat` and `wc -l` over the same file, measured in the same run.
//!
//! Each shipper measurement runs in a fresh child process (this binary with a
//! hidden `--worker` flag), so its peak RSS is its own and not the
//! generator's. Figures are printed, never asserted.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use loghaul_config::{ByteSize, QueueKind, SourceConfig};
use loghaul_queue::Route;
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::exit::BadInput;

pub(crate) const HELP: &str = "\
Generates a log file of --size (or uses --file), then measures:
  cat FILE > /dev/null     the disk and page-cache baseline
  wc -l FILE               a line-splitting baseline
  ship -> memory queue     loghaul's shipper, in-process queue
  ship -> rabbitmq         the same against RabbitMQ (with --amqp-url)
Each line gives MiB/s, lines/s, CPU seconds per GiB and peak RSS (for the
shipper, measured in a child process of its own).

Example:
  loghaul bench ship --size 1GiB --amqp-url amqp://guest:guest@127.0.0.1:5672/%2f";

#[derive(clap::Args, Debug)]
pub(crate) struct BenchShipArgs {
    /// Size of the generated file.
    #[arg(long, default_value = "1GiB", value_parser = parse_size)]
    size: ByteSize,
    /// Use this file instead of generating one.
    #[arg(long, value_name = "PATH")]
    file: Option<PathBuf>,
    /// Also measure against RabbitMQ at this URL.
    #[arg(long, value_name = "URL")]
    amqp_url: Option<String>,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// Internal: run one shipper measurement and print it as JSON.
    #[arg(long, hide = true, value_name = "QUEUE")]
    worker: Option<String>,
}

fn parse_size(text: &str) -> Result<ByteSize, String> {
    ByteSize::parse(text)
}

/// CPU seconds of this process (user + system) and of its waited-for children.
fn cpu_seconds() -> (f64, f64) {
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

fn peak_rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
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
fn generate(path: &Path, size: u64) -> anyhow::Result<u64> {
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

struct Figure {
    name: String,
    seconds: f64,
    cpu_seconds: f64,
    peak_rss: Option<u64>,
}

fn baseline(name: &str, shell: &str, file: &Path) -> anyhow::Result<Figure> {
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

fn worker_figure(
    name: &str,
    queue: &str,
    file: &Path,
    lines: u64,
    amqp_url: Option<&str>,
) -> anyhow::Result<Figure> {
    let mut command = Command::new(std::env::current_exe()?);
    command
        .args(["--quiet", "bench", "ship", "--worker", queue, "--file"])
        .arg(file)
        .env("LOGHAUL_BENCH_LINES", lines.to_string())
        .stderr(Stdio::inherit());
    if let Some(url) = amqp_url {
        command.args(["--amqp-url", url]);
    }
    let output = command.output().context("running the shipper worker")?;
    anyhow::ensure!(
        output.status.success(),
        "the {name} worker failed: {}",
        output.status
    );
    let result: serde_json::Value =
        serde_json::from_slice(&output.stdout).context("worker output")?;
    Ok(Figure {
        name: name.into(),
        seconds: result["seconds"].as_f64().unwrap_or(0.0),
        cpu_seconds: result["cpu_seconds"].as_f64().unwrap_or(0.0),
        peak_rss: result["peak_rss_bytes"].as_u64(),
    })
}

/// The small-footprint profile every shipper measurement uses; the report
/// prints it, since memory use follows from these budgets.
const PROFILE: &str = "shipper.buffer_bytes=8MiB shipper.batch.max_bytes=512KiB queue.memory_max_bytes=16MiB queue.prefetch=16";

fn apply_profile(config: &mut loghaul_config::Config) {
    config.shipper.buffer_bytes = ByteSize::mib(8);
    config.shipper.batch.max_bytes = ByteSize(512 * 1024);
    config.queue.memory_max_bytes = ByteSize::mib(16);
    config.queue.prefetch = 16;
}

/// One shipper run in this process: ship `file` until every line is
/// confirmed, with a consumer acking as it goes.
fn worker(queue: &str, file: &Path, amqp_url: Option<&str>) -> anyhow::Result<()> {
    let lines: u64 = std::env::var("LOGHAUL_BENCH_LINES")?.parse()?;
    let data = tempfile::tempdir()?;
    let mut config = loghaul_config::defaults()?;
    config.data_dir = data.path().to_owned();
    config.host = "bench".into();
    config.shipper.sources.push(SourceConfig {
        name: "bench".into(),
        paths: vec![file.display().to_string()],
        ..SourceConfig::default()
    });
    config.queue.prefix = format!("lhbench.{}", std::process::id());
    apply_profile(&mut config);
    if queue == "amqp" {
        config.queue.kind = QueueKind::Amqp;
        config.queue.url = loghaul_config::SecretUrl::new(amqp_url.unwrap_or_default());
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let broker = loghaul_queue::broker_from_config(&config.queue);
        let mut consumer = broker.consumer(Route::Raw).await?;
        let shutdown = CancellationToken::new();
        let drain = tokio::spawn({
            let shutdown = shutdown.clone();
            async move {
                let mut tags = Vec::new();
                loop {
                    tokio::select! {
                        delivery = consumer.next() => {
                            let Ok(delivery) = delivery else { break };
                            tags.push(delivery.tag);
                            if tags.len() >= 8 {
                                let _ = consumer.ack(&tags).await;
                                tags.clear();
                            }
                        }
                        _ = shutdown.cancelled() => break,
                        _ = tokio::time::sleep(Duration::from_millis(20)), if !tags.is_empty() => {
                            let _ = consumer.ack(&tags).await;
                            tags.clear();
                        }
                    }
                }
            }
        });
        let metrics = Arc::new(loghaul_shipper::metrics::ShipperMetrics::default());
        let (cpu_before, _) = cpu_seconds();
        let started = Instant::now();
        let shipping = tokio::spawn({
            let (config, broker, shutdown, metrics) = (config.clone(), broker.clone(), shutdown.clone(), metrics.clone());
            async move { loghaul_shipper::ship_with_metrics(&config, broker, shutdown, metrics).await }
        });
        while metrics.confirmed_records() < lines {
            anyhow::ensure!(!shipping.is_finished(), "the shipper stopped early");
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let seconds = started.elapsed().as_secs_f64();
        let (cpu_after, _) = cpu_seconds();
        shutdown.cancel();
        shipping.await??;
        let _ = drain.await;
        broker.delete_topology().await?;
        let result = json!({
            "seconds": seconds,
            "cpu_seconds": cpu_after - cpu_before,
            "peak_rss_bytes": peak_rss_bytes(),
        });
        #[allow(clippy::print_stdout)]
        {
            println!("{result}");
        }
        Ok(())
    })
}

pub(crate) fn bench_ship(args: BenchShipArgs) -> anyhow::Result<()> {
    if let Some(queue) = &args.worker {
        let file = args
            .file
            .as_deref()
            .ok_or_else(|| BadInput("--worker needs --file".into()))?;
        return worker(queue, file, args.amqp_url.as_deref());
    }
    let scratch = tempfile::tempdir()?;
    let (file, lines) = match &args.file {
        Some(file) => {
            let lines = std::fs::read(file)?
                .iter()
                .filter(|byte| **byte == b'\n')
                .count() as u64;
            (file.clone(), lines)
        }
        None => {
            let file = scratch.path().join("bench.log");
            eprintln!(
                "generating {} of log lines in {}",
                args.size,
                file.display()
            );
            let lines = generate(&file, args.size.bytes())?;
            (file, lines)
        }
    };
    let bytes = std::fs::metadata(&file)?.len();
    // Warm the page cache so every measurement reads from memory alike.
    baseline("warm-up", "cat \"$1\" > /dev/null", &file)?;
    let mut figures = vec![
        baseline("cat > /dev/null", "cat \"$1\" > /dev/null", &file)?,
        baseline("wc -l", "wc -l \"$1\"", &file)?,
    ];
    eprintln!("shipping to the memory queue");
    figures.push(worker_figure(
        "ship -> memory queue",
        "memory",
        &file,
        lines,
        None,
    )?);
    if let Some(url) = &args.amqp_url {
        eprintln!("shipping to RabbitMQ");
        figures.push(worker_figure(
            "ship -> rabbitmq",
            "amqp",
            &file,
            lines,
            Some(url),
        )?);
    }
    report(&figures, bytes, lines, args.json);
    Ok(())
}

#[allow(clippy::print_stdout)]
fn report(figures: &[Figure], bytes: u64, lines: u64, json: bool) {
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
            json!({ "bytes": bytes, "lines": lines, "profile": PROFILE, "results": rows })
        );
        return;
    }
    println!("{:.2} GiB, {lines} lines; shipper profile: {PROFILE}", gib);
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
