//! `loghaul index`: an indexer shard.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use anyhow::Context;
use loghaul_config::QueueKind;
use loghaul_indexer::store::ShardStore;
use loghaul_indexer::worker::{self, CommitPolicy, IndexStats};
use tracing::info;

use crate::exit::BadInput;

pub(crate) const HELP: &str = "\
Consumes <prefix>.events.<shard> (shard = indexer.shard) and writes the events
into one tantivy index per UTC day under <data_dir>/index/<shard>/. It commits
every indexer.commit_interval or indexer.commit_docs documents, and
acknowledges messages only after the commit that holds them. An event already
indexed (a redelivery after a crash, a shipper's repeat) is skipped by its
record's place in its file, so a kill -9 at any moment neither loses nor
duplicates anything.

SIGTERM or Ctrl-C commits what is pending, waits for merges and exits 0.
(The search API on indexer.listen arrives with the rest of issue 6.)

Example:
  loghaul index -c /etc/loghaul/loghaul.toml";

#[derive(clap::Args, Debug)]
pub(crate) struct IndexArgs {
    /// Config file with [queue] (amqp) and [indexer].
    #[arg(short, long, value_name = "FILE", env = "LOGHAUL_CONFIG")]
    config: PathBuf,
}

pub(crate) fn index(args: IndexArgs) -> anyhow::Result<()> {
    let config = loghaul_config::load_file(&args.config)?;
    if config.queue.kind == QueueKind::Memory {
        return Err(BadInput(format!(
            "{}: queue.kind is memory, which lives inside one process; a separate indexer needs queue.kind = \"amqp\" (or use loghaul run)",
            args.config.display()
        ))
        .into());
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let shutdown = crate::signals::shutdown_on_signal();
        let broker = loghaul_queue::broker_from_config(&config.queue);
        let shard = config.indexer.shard;
        let heap = usize::try_from(config.indexer.writer_heap.bytes()).unwrap_or(usize::MAX);
        let store = ShardStore::open(&config.data_dir, shard, heap).with_context(|| {
            format!("opening shard {shard} under {}", config.data_dir.display())
        })?;
        let store = Arc::new(tokio::sync::Mutex::new(store));
        let stats = Arc::new(IndexStats::default());
        let policy = CommitPolicy {
            interval: config.indexer.commit_interval.0,
            documents: config.indexer.commit_docs,
        };
        info!(shard, data_dir = %config.data_dir.display(), "indexing; Ctrl-C or SIGTERM stops");
        worker::run(
            broker,
            shard,
            store.clone(),
            policy,
            stats.clone(),
            shutdown,
        )
        .await?;
        let store = Arc::try_unwrap(store)
            .map_err(|_| anyhow::anyhow!("the index is still in use at shutdown"))?
            .into_inner();
        tokio::task::block_in_place(|| store.close())?;
        info!(
            documents = stats.documents.load(Ordering::Relaxed),
            duplicates_skipped = stats.duplicates.load(Ordering::Relaxed),
            commits = stats.commits.load(Ordering::Relaxed),
            "indexer totals"
        );
        Ok(())
    })
}
