//! `loghaul run`: every role in one process, on embedded defaults.
//!
//! It wires every role: the queue (on disk under `<data_dir>/queue` unless the
//! config says amqp or memory) with its topology, the archive store (a local
//! directory unless the config names S3), the shipper for the given paths and
//! sources, one parser worker, and the indexer with its search API. On
//! SIGTERM the shipper drains, then the parser and the indexer stop; what is
//! still queued on disk is taken up at the next start (a memory queue is
//! emptied first, within the drain timeout).

use std::path::PathBuf;

use anyhow::Context;
use loghaul_config::{ArchiveTarget, Config, QueueKind, SourceConfig};
use loghaul_queue::{AmqpBroker, Broker, MemoryBroker, QueueSettings, Route};
use tokio_util::sync::CancellationToken;
use tracing::info;

use crate::exit::BadInput;

pub(crate) const HELP: &str = "\
With no config file, everything is local: the data directory is
./loghaul-data, the queue between the roles is on disk in ./loghaul-data/queue
(fsynced before the shipper moves its checkpoint, so a crash or a kill -9
loses no line: what was queued is taken up at the next start), and rotated
files are archived to ./loghaul-data/archive. PATHS are tailed, parsed and indexed under
./loghaul-data/index; search them with `loghaul query error`, in a browser
at http://127.0.0.1:7700/ or through the API there. The API needs the token
made at the first start in ./loghaul-data/api-token (mode 0600, readable
only by you): `loghaul query` run from here finds it; the browser asks for
it once, or open the link `loghaul ui` prints (`loghaul ui --open`);
curl -H \"Authorization: Bearer $(cat loghaul-data/api-token)\"
'http://127.0.0.1:7700/api/search?q=error&since=1h'. A full disk pauses
what cannot be written, with a WARN and loghaul_disk_full_* in /metrics,
and it goes on when space returns; nothing is dropped.
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

    /// Address of the search API, overriding indexer.listen (port 0 picks a
    /// free one; the ready line says which).
    #[arg(long, value_name = "ADDR")]
    listen: Option<std::net::SocketAddr>,

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
    if let Some(listen) = args.listen {
        config.indexer.listen = listen;
    }
    if !args.paths.is_empty() {
        let mut paths = Vec::new();
        for path in &args.paths {
            if !path.exists() {
                return Err(BadInput(format!("{}: no such file", path.display())).into());
            }
            // The shipper's globs are absolute: a relative path would match
            // nothing, silently.
            let absolute = std::path::absolute(path)
                .map_err(|error| BadInput(format!("{}: {error}", path.display())))?;
            paths.push(absolute.display().to_string());
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
    // The memory broker is kept by its type as well, to drain it at the end.
    let memory = (config.queue.kind == QueueKind::Memory)
        .then(|| std::sync::Arc::new(MemoryBroker::new(QueueSettings::from_config(&config.queue))));
    if memory.is_some() {
        tracing::warn!(
            "queue.kind = \"memory\": a crash of this process loses what the queue holds (the shipper has already moved its checkpoints past it); the default, \"disk\", does not"
        );
    }
    let broker: std::sync::Arc<dyn Broker> = match &memory {
        Some(memory) => memory.clone(),
        None => loghaul_queue::broker_from_config(&config.queue, &config.data_dir)
            .with_context(|| format!("opening the queue under {}", config.data_dir.display()))?,
    };
    let store = loghaul_archive::store_from_config(&config).await?;

    let indexer_stop = CancellationToken::new();
    let (listening_tx, listening_rx) = tokio::sync::oneshot::channel();
    let indexer_task = {
        let config = config.clone();
        let broker = broker.clone();
        let stop = indexer_stop.clone();
        tokio::spawn(async move {
            crate::index::serve_shard(&config, broker, stop, Some(listening_tx)).await
        })
    };
    let search = match listening_rx.await {
        Ok(address) => address,
        Err(_) => {
            return match indexer_task.await {
                Ok(Err(error)) => Err(error),
                _ => Err(anyhow::anyhow!("the indexer did not start")),
            };
        }
    };
    let settings = broker.settings();
    info!(
        search = %format!("http://{search}"),
        data_dir = %config.data_dir.display(),
        queue = ?config.queue.kind,
        queues = %settings.routes().iter().map(|route| settings.queue_name(*route)).collect::<Vec<_>>().join(","),
        archive = %store.describe(),
        "loghaul is running; Ctrl-C or SIGTERM stops it"
    );
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
    } else {
        let report = loghaul_shipper::ship(&config, broker, shutdown).await?;
        info!(records = report.records, "shipper stopped");
    }
    info!("stopping: the parser and the indexer finish what is queued");
    // The memory queue dies with the process: let the parser and the indexer
    // empty it first, within the drain timeout.
    if let Some(memory) = &memory {
        let deadline = tokio::time::Instant::now() + config.shipper.drain_timeout.0;
        let shards = config.queue.shards.max(1);
        while tokio::time::Instant::now() < deadline {
            let waiting = memory.depth(Route::Raw)
                + (0..shards)
                    .map(|shard| memory.depth(Route::Events(shard)))
                    .sum::<u64>();
            if waiting == 0 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
    parser_stop.cancel();
    parser_task.await.context("parser worker panicked")??;
    indexer_stop.cancel();
    indexer_task.await.context("indexer panicked")??;
    info!(
        events = parse_stats
            .events
            .load(std::sync::atomic::Ordering::Relaxed),
        "stopped"
    );
    Ok(())
}
