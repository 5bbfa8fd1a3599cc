//! `loghaul parse`: a parser worker.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::Context;
use loghaul_parser::Parser;
use loghaul_parser::worker::{self, WorkerStats};
use tracing::info;

use crate::exit::BadInput;

pub(crate) const HELP: &str = "\
Consumes raw batches from <prefix>.raw, normalises each record into an event
(format from the source's `format`, or detected when it is `auto`), and
publishes the events to <prefix>.events.<shard>. A raw batch is acknowledged
only after its events are confirmed, so killing a worker loses nothing: its
unacknowledged batches go to another worker. Run as many as the load needs;
they share the queue.

Records no format reads are kept: the body is the raw text and parse_error
says why. Messages that do not decode go to the dead-letter queue
<prefix>.dead with the reason in the x-loghaul-reason header.

SIGTERM or Ctrl-C stops it after the batch in hand; exit code 0.

Before shipping a new source, --explain shows how its lines are read: for
each record the format chosen, the time (or that none was found), the level
and the fields, then a summary. Nothing is consumed from any queue. Give -c
for the config's [[parser.patterns]] (regex:NAME formats).

Examples:
  loghaul parse -c /etc/loghaul/loghaul.toml
  loghaul parse -c loghaul.toml --workers 2
  loghaul parse --explain /var/log/postgresql/postgresql-15-main.log
  tail -n 20 app.log | loghaul parse --explain - --format logfmt --json";

#[derive(clap::Args, Debug)]
pub(crate) struct ParseArgs {
    /// Config file with [queue] (amqp) and [[parser.patterns]].
    #[arg(
        short,
        long,
        value_name = "FILE",
        env = "LOGHAUL_CONFIG",
        required_unless_present = "explain"
    )]
    config: Option<PathBuf>,

    /// Workers in this process, each with its own consumer; one per core.
    #[arg(
        long,
        default_value_t = 1,
        value_name = "N",
        conflicts_with = "explain"
    )]
    workers: u16,

    /// Show how each line of FILE (- or nothing: stdin) is read, and exit.
    #[arg(long, value_name = "FILE", num_args = 0..=1, default_missing_value = "-")]
    explain: Option<PathBuf>,

    /// With --explain: read every line as this format (json, logfmt, syslog,
    /// common, combined, apache_error, log4j, klog, docker, cri, plain,
    /// regex:NAME) instead of detecting it.
    #[arg(long, value_name = "NAME", requires = "explain")]
    format: Option<String>,

    /// With --explain: the zone of stamps that carry none (UTC, Europe/Paris, local).
    #[arg(long, value_name = "ZONE", requires = "explain")]
    timezone: Option<String>,

    /// With --explain: one JSON object per record.
    #[arg(long, requires = "explain")]
    json: bool,
}

pub(crate) fn parse(args: ParseArgs) -> anyhow::Result<()> {
    if let Some(input) = &args.explain {
        let config = match &args.config {
            Some(path) => loghaul_config::load_file(path)?,
            None => loghaul_config::Config::default(),
        };
        return crate::explain::explain(
            &config,
            input,
            args.format.as_deref(),
            args.timezone.as_deref(),
            args.json,
        );
    }
    let Some(config_path) = &args.config else {
        return Err(BadInput("-c FILE is required".into()).into());
    };
    let config = loghaul_config::load_file_as(config_path, loghaul_config::Role::Parser)?;
    if args.workers == 0 {
        return Err(BadInput("--workers must be at least 1".into()).into());
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let shutdown = crate::signals::shutdown_on_signal();
        let broker = loghaul_queue::broker_from_config(&config.queue, &config.data_dir)?;
        let stats = Arc::new(WorkerStats::default());
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..args.workers {
            let parser = Parser::new(&config.parser).map_err(BadInput)?;
            tasks.spawn(worker::run(
                broker.clone(),
                parser,
                stats.clone(),
                shutdown.clone(),
            ));
        }
        // Served until this function returns: /readyz turns 503 when the
        // drain starts, /healthz stays 200 through it.
        let _health = match config.parser.metrics_listen {
            Some(listen) => Some(serve_health(listen, stats.clone(), shutdown.clone()).await?),
            None => None,
        };
        info!(workers = args.workers, queue = %config.queue.url.redacted(), "parsing; Ctrl-C or SIGTERM stops");
        let started = Instant::now();
        let mut report = tokio::time::interval(Duration::from_secs(30));
        report.tick().await;
        loop {
            tokio::select! {
                joined = tasks.join_next() => match joined {
                    Some(result) => {
                        result.context("parser worker panicked")??;
                        if shutdown.is_cancelled() { continue; }
                    }
                    None => break,
                },
                _ = report.tick() => log_stats(&stats, started),
            }
        }
        log_stats(&stats, started);
        Ok(())
    })
}

/// Serves `/metrics`, `/healthz` and `/readyz` on `listen`; the server
/// stops when the returned guard drops.
async fn serve_health(
    listen: std::net::SocketAddr,
    stats: Arc<WorkerStats>,
    draining: tokio_util::sync::CancellationToken,
) -> anyhow::Result<tokio_util::sync::DropGuard> {
    use axum::routing::get;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("parser.metrics_listen: cannot listen on {listen}"))?;
    let metrics = move || {
        let stats = stats.clone();
        async move {
            let mut out = String::new();
            for (name, help, counter) in [
                (
                    "loghaul_parser_batches_total",
                    "Raw batches parsed and acknowledged.",
                    &stats.batches,
                ),
                (
                    "loghaul_parser_events_total",
                    "Records parsed into events.",
                    &stats.events,
                ),
                (
                    "loghaul_parser_parse_errors_total",
                    "Events kept with parse_error set.",
                    &stats.parse_errors,
                ),
                (
                    "loghaul_parser_dead_lettered_total",
                    "Messages sent to the dead-letter queue.",
                    &stats.dead_lettered,
                ),
                (
                    "loghaul_parser_bytes_total",
                    "Raw payload bytes parsed.",
                    &stats.bytes,
                ),
            ] {
                out.push_str(&format!(
                    "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}\n",
                    counter.load(Ordering::Relaxed)
                ));
            }
            loghaul_durable::render_metrics(&mut out);
            ([("content-type", "text/plain; version=0.0.4")], out)
        }
    };
    let app = axum::Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", loghaul_shipper::metrics::readiness(draining));
    let until = tokio_util::sync::CancellationToken::new();
    let stop = until.clone();
    tokio::spawn(async move {
        let server = axum::serve(listener, app)
            .with_graceful_shutdown(async move { stop.cancelled().await });
        if let Err(error) = server.await {
            tracing::warn!(%error, "metrics server stopped");
        }
    });
    info!(%listen, "serving /metrics, /healthz and /readyz");
    Ok(until.drop_guard())
}

fn log_stats(stats: &WorkerStats, started: Instant) {
    let events = stats.events.load(Ordering::Relaxed);
    let seconds = started.elapsed().as_secs_f64().max(1e-9);
    info!(
        batches = stats.batches.load(Ordering::Relaxed),
        events,
        parse_errors = stats.parse_errors.load(Ordering::Relaxed),
        dead_lettered = stats.dead_lettered.load(Ordering::Relaxed),
        events_per_second = (events as f64 / seconds).round(),
        "parser totals"
    );
}
