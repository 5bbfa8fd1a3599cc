//! `loghaul bench ship`: throughput, CPU and memory of the shipper, printed
//! beside `cat` and `wc -l` over the same file, measured in the same run.
//!
//! Each shipper measurement runs in a fresh child process (this binary with a
//! hidden `--worker` flag), so its peak RSS is its own and not the
//! generator's. Figures are printed, never asserted.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use loghaul_config::{ByteSize, QueueKind, SourceConfig};
use loghaul_queue::Route;
use serde_json::json;
use tokio_util::sync::CancellationToken;

use super::{Figure, baseline, bench_input, cpu_seconds, parse_size, peak_rss_bytes, report};
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
    // RabbitMQ is drained from this process, so the worker's peak RSS is
    // the shipper's alone (a sidecar has no consumer beside it).
    let mut drain = None;
    if let Some(url) = amqp_url {
        command.args(["--amqp-url", url]);
        let prefix = format!("lhbench.{}", std::process::id());
        command.env("LOGHAUL_BENCH_PREFIX", &prefix);
        drain = Some(Drain::start(url, &prefix)?);
    }
    let output = command.output().context("running the shipper worker");
    if let Some(drain) = drain {
        drain.stop()?;
    }
    let output = output?;
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
const PROFILE: &str = "shipper.buffer_bytes=8MiB shipper.batch.max_bytes=512KiB queue.memory_max_bytes=48MiB (16MiB a queue) queue.prefetch=16";

fn apply_profile(config: &mut loghaul_config::Config) {
    config.shipper.buffer_bytes = ByteSize::mib(8);
    config.shipper.batch.max_bytes = ByteSize(512 * 1024);
    config.queue.memory_max_bytes = ByteSize::mib(48);
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
    match queue {
        "amqp" => {
            amqp_queue(&mut config, amqp_url.unwrap_or_default());
            config.queue.prefix = std::env::var("LOGHAUL_BENCH_PREFIX")?;
        }
        "disk" => config.queue.kind = QueueKind::Disk,
        _ => config.queue.kind = QueueKind::Memory,
    }
    // The embedded queues live in this process, so their consumer does too.
    let embedded = queue != "amqp";
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let broker = loghaul_queue::broker_from_config(&config.queue, &config.data_dir)?;
        let shutdown = CancellationToken::new();
        let drain = if embedded {
            let consumer = broker.consumer(Route::Raw).await?;
            Some(tokio::spawn(ack_all(consumer, shutdown.clone())))
        } else {
            None
        };
        let metrics = Arc::new(loghaul_shipper::metrics::ShipperMetrics::default());
        let (cpu_before, _) = cpu_seconds();
        let started = Instant::now();
        let shipping = tokio::spawn({
            let (config, broker, shutdown, metrics) = (config.clone(), broker.clone(), shutdown.clone(), metrics.clone());
            async move { loghaul_shipper::ship_with_metrics(&config, broker, shutdown, metrics).await }
        });
        while metrics.confirmed_records() < lines {
            if shipping.is_finished() {
                return match shipping.await? {
                    Err(error) => Err(anyhow::anyhow!("the shipper stopped early: {error}")),
                    Ok(_) => Err(anyhow::anyhow!("the shipper stopped early")),
                };
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let seconds = started.elapsed().as_secs_f64();
        let (cpu_after, _) = cpu_seconds();
        shutdown.cancel();
        shipping.await??;
        if let Some(drain) = drain {
            let _ = drain.await;
            broker.delete_topology().await?;
        }
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

/// Points `config` at RabbitMQ at `url`.
fn amqp_queue(config: &mut loghaul_config::Config, url: &str) {
    config.queue.kind = QueueKind::Amqp;
    config.queue.url = loghaul_config::SecretUrl::new(url);
}

/// Takes and acks every delivery of `consumer` until `shutdown`.
async fn ack_all(mut consumer: Box<dyn loghaul_queue::Consumer>, shutdown: CancellationToken) {
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

/// A consumer of the raw queue under `prefix` on RabbitMQ, on a thread of
/// its own, acking everything until stopped; stopping deletes the queues.
struct Drain {
    shutdown: CancellationToken,
    thread: std::thread::JoinHandle<anyhow::Result<()>>,
}

impl Drain {
    fn start(url: &str, prefix: &str) -> anyhow::Result<Self> {
        let data = tempfile::tempdir()?;
        let mut config = loghaul_config::defaults()?;
        config.data_dir = data.path().to_owned();
        amqp_queue(&mut config, url);
        config.queue.prefix = prefix.to_owned();
        apply_profile(&mut config);
        let shutdown = CancellationToken::new();
        let (ready, started) = std::sync::mpsc::channel();
        let thread = std::thread::spawn({
            let shutdown = shutdown.clone();
            move || {
                let _data = data;
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?;
                runtime.block_on(async {
                    let broker =
                        loghaul_queue::broker_from_config(&config.queue, &config.data_dir)?;
                    let consumer = broker.consumer(Route::Raw).await;
                    let _ = ready.send(
                        consumer
                            .as_ref()
                            .map(|_| ())
                            .map_err(|error| error.to_string()),
                    );
                    ack_all(consumer?, shutdown).await;
                    broker.delete_topology().await?;
                    Ok(())
                })
            }
        });
        match started.recv() {
            Ok(Ok(())) => Ok(Drain { shutdown, thread }),
            Ok(Err(error)) => Err(anyhow::anyhow!("draining RabbitMQ: {error}")),
            Err(_) => Err(anyhow::anyhow!(
                "the RabbitMQ drain stopped before it began"
            )),
        }
    }

    fn stop(self) -> anyhow::Result<()> {
        self.shutdown.cancel();
        self.thread
            .join()
            .map_err(|_| anyhow::anyhow!("the RabbitMQ drain panicked"))?
    }
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
    let (file, lines) = bench_input(args.file.as_deref(), args.size, scratch.path())?;
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
    eprintln!("shipping to the durable disk queue (run's default)");
    figures.push(worker_figure(
        "ship -> disk queue",
        "disk",
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
    report(
        &figures,
        bytes,
        lines,
        &format!("shipper profile: {PROFILE}"),
        args.json,
    );
    Ok(())
}
