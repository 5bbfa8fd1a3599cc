//! `loghaul run`: every role in one process, on embedded defaults.
//!
//! Today it wires what exists: the queue (memory unless the config says
//! amqp) with its topology, the archive store (a local directory unless the
//! config names S3), the shipper for the given paths and sources, and one
//! parser worker. The indexer joins with its issue; until then `run` says so
//! at start-up instead of pretending.

use std::path::PathBuf;

use anyhow::Context;
use loghaul_config::{ArchiveTarget, Config, QueueKind, SourceConfig};
use loghaul_queue::{AmqpBroker, QueueSettings};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::exit::BadInput;

pub(crate) const HELP: &str = "\
With no config file, everything is local: the queue lives in memory, the data
directory is ./loghaul-data, and rotated files are archived to
./loghaul-data/archive. PATHS are tailed into the queue and parsed into
events. (The index and the search UI on 127.0.0.1:7700 arrive with their
role; until then events wait in the queue, which pauses shipping when full.)
Stop it with Ctrl-C or SIGTERM; it drains and exits 0.

Examples:
  loghaul run
  loghaul run /var/log/app/*.log
  loghaul run -c loghaul.toml --data-dir /tmp/lh";

#[derive(clap::Args, Debug)]
pub(crate) struct RunArgs {
    /// Config file; the defaults need none.
    #[arg(short, long, value_name = "FILE", env = "LOGHAUL_CONFIG")]
    config: Option<PathBuf>,

    /// Data directory, overriding the config's `data_dir`.
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,

    /// Log files to ship, added to the config's sources as source `cli`.
    #[arg(value_name = "PATHS")]
    paths: Vec<PathBuf>,
}

fn effective_config(args: &RunArgs) -> anyhow::Result<Config> {
    let mut config = match &args.config {
        Some(path) => loghaul_config::load_file(path)?,
        None => loghaul_config::defaults()?,
    };
    if let Some(data_dir) = &args.data_dir {
        config.data_dir = data_dir.clone();
    }
    if !args.paths.is_empty() {
        let mut paths = Vec::new();
        for path in &args.paths {
            if !path.exists() {
                return Err(BadInput(format!("{}: no such file", path.display())).into());
            }
            paths.push(path.display().to_string());
        }
        config.shipper.sources.push(SourceConfig {
            name: "cli".into(),
            paths,
            ..SourceConfig::default()
        });
    }
    Ok(config)
}

pub(crate) fn run(args: RunArgs) -> anyhow::Result<()> {
    let config = effective_config(&args)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let shutdown = crate::signals::shutdown_on_signal();
        serve(config, shutdown).await
    })
}

async fn serve(config: Config, shutdown: CancellationToken) -> anyhow::Result<()> {
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("cannot create data directory {}", config.data_dir.display()))?;

    if config.queue.kind == QueueKind::Amqp {
        let broker = AmqpBroker::new(
            config.queue.url.expose(),
            QueueSettings::from_config(&config.queue),
        );
        broker
            .check()
            .await
            .with_context(|| format!("queue at {}", config.queue.url.redacted()))?;
    }
    if let ArchiveTarget::Local { root } = config.archive_target() {
        std::fs::create_dir_all(&root)
            .with_context(|| format!("cannot create archive directory {}", root.display()))?;
    }
    let broker = loghaul_queue::broker_from_config(&config.queue);
    let store = loghaul_archive::store_from_config(&config).await?;

    let settings = broker.settings();
    info!(
        data_dir = %config.data_dir.display(),
        queue = ?config.queue.kind,
        queues = %settings.routes().iter().map(|route| settings.queue_name(*route)).collect::<Vec<_>>().join(","),
        archive = %store.describe(),
        "loghaul is running; Ctrl-C or SIGTERM stops it"
    );
    warn!("the indexer role is not built yet (issue 6): parsed events wait in the queue");
    let parser = loghaul_parser::Parser::new(&config.parser).map_err(BadInput)?;
    let parse_stats = std::sync::Arc::new(loghaul_parser::worker::WorkerStats::default());
    let parser_stop = CancellationToken::new();
    let parser_task = tokio::spawn(loghaul_parser::worker::run(
        broker.clone(),
        parser,
        parse_stats.clone(),
        parser_stop.clone(),
    ));
    if config.shipper.sources.is_empty() {
        info!("no files to ship: pass PATHS or add [[shipper.sources]]");
        shutdown.cancelled().await;
        info!("stopping: nothing in flight to drain");
    } else {
        let report = loghaul_shipper::ship(&config, broker, shutdown).await?;
        info!(records = report.records, "shipper stopped");
    }
    parser_stop.cancel();
    parser_task.await.context("parser worker panicked")??;
    info!(
        events = parse_stats
            .events
            .load(std::sync::atomic::Ordering::Relaxed),
        "stopped"
    );
    Ok(())
}
