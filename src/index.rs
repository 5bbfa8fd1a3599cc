//! `loghaul index`: an indexer shard and its search API.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context;
use loghaul_indexer::api::{self, ApiState};
use loghaul_indexer::search::Searcher;
use loghaul_indexer::store::ShardStore;
use loghaul_indexer::worker::{self, CommitPolicy, IndexStats};
use tokio_util::sync::CancellationToken;
use tracing::info;

use crate::exit::BadInput;

pub(crate) const HELP: &str = "\
Consumes <prefix>.events.<shard> (shard = indexer.shard) and writes the events
into one tantivy index per UTC day under <data_dir>/index/<shard>/. It commits
every indexer.commit_interval or indexer.commit_docs documents, and
acknowledges messages only after the commit that holds them. An event already
indexed (a redelivery after a crash, a shipper's repeat) is skipped by its
record's place in its file, so a kill -9 at any moment neither loses nor
duplicates anything. A day is deleted whole once its events are older than
indexer.retention and it was last written longer ago than that, so an import
of old files stays searchable for the retention period after it arrives.

It serves the search web UI at / and the search API on indexer.listen
(default 127.0.0.1:7700): /api/search, /api/count, /api/histogram,
/api/facets, /api/context, /api/tail, /metrics, /healthz, /readyz. Every
route but /healthz, /readyz and the page itself needs a token, sent as
`Authorization: Bearer TOKEN`: indexer.token, or else the one made at the
first start in <data_dir>/api-token (mode 0600, readable only by the user
loghaul runs as; loghaul query finds it there).
Pages follow next_cursor exactly (newest first, equal times in file order).
A query runs at most indexer.query_timeout within indexer.query_memory, at
most indexer.max_concurrent_queries at a time; an abandoned or timed-out
query's work is stopped, and every error is JSON.

SIGTERM or Ctrl-C commits what is pending, waits for merges and exits 0.

Example:
  loghaul index -c /etc/loghaul/loghaul.toml";

#[derive(clap::Args, Debug)]
pub(crate) struct IndexArgs {
    /// Config file with [queue] (amqp) and [indexer].
    #[arg(short, long, value_name = "FILE", env = "LOGHAUL_CONFIG")]
    config: PathBuf,
}

pub(crate) fn index(args: IndexArgs) -> anyhow::Result<()> {
    let config = loghaul_config::load_file_as(&args.config, loghaul_config::Role::Indexer)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let shutdown = crate::signals::shutdown_on_signal();
        let broker = loghaul_queue::broker_from_config(&config.queue, &config.data_dir)?;
        serve_shard(&config, broker, shutdown, None).await
    })
}

/// The indexer and its API until `shutdown`: shared by `index` and `run`.
/// An open listen address without a token is refused here, as bad input.
pub(crate) async fn serve_shard(
    config: &loghaul_config::Config,
    broker: Arc<dyn loghaul_queue::Broker>,
    shutdown: CancellationToken,
    listening: Option<tokio::sync::oneshot::Sender<std::net::SocketAddr>>,
) -> anyhow::Result<()> {
    // Without indexer.token, on loopback, the token of the data directory:
    // no reading without it, with zero configuration. Off loopback the
    // operator sets one (peers and remote clients need it).
    let configured = config
        .indexer
        .token
        .as_ref()
        .map(|token| token.expose().to_owned());
    api::check_listen(config.indexer.listen, configured.as_deref()).map_err(BadInput)?;
    let token = match configured {
        Some(token) => token,
        None => {
            let (token, created) = crate::api_token::load_or_create(&config.data_dir)?;
            tracing::info!(
                file = %crate::api_token::path(&config.data_dir).display(),
                created,
                "the API needs the token in this file (no indexer.token is set); loghaul query finds it there, the web UI asks for it"
            );
            token
        }
    };
    let token = Some(token);
    let shard = config.indexer.shard;
    let heap = usize::try_from(config.indexer.writer_heap.bytes()).unwrap_or(usize::MAX);
    let store = ShardStore::open(&config.data_dir, shard, heap)
        .with_context(|| format!("opening shard {shard} under {}", config.data_dir.display()))?;
    let stats = Arc::new(IndexStats::default());
    // A live tail shows what commits after the generation it starts at:
    // from 0 after a restart, its first commit would bring back every event.
    stats
        .generation
        .store(store.generation(), Ordering::Relaxed);
    let store = Arc::new(tokio::sync::Mutex::new(store));
    let ready = Arc::new(AtomicBool::new(false));
    let searcher = Arc::new(Searcher::new(&config.data_dir, shard));
    let mut peers = Vec::new();
    for url in &config.indexer.shard_urls {
        peers.push(
            loghaul_indexer::client::Client::new(url, token.clone())
                .map_err(|error| BadInput(format!("indexer.shard_urls: {error}")))?,
        );
    }
    let archive = loghaul_archive::store_from_config(config).await?;
    let state = Arc::new(
        ApiState::new(searcher, stats.clone(), token, ready.clone())
            .with_archive(archive)
            .with_peers(peers)
            .with_allowed_hosts(config.indexer.allowed_hosts.clone())
            .with_limits(api::QueryLimits {
                concurrent: config.indexer.max_concurrent_queries,
                timeout: config.indexer.query_timeout.0,
                memory: usize::try_from(config.indexer.query_memory.bytes()).unwrap_or(usize::MAX),
            }),
    );
    let api_stop = CancellationToken::new();
    let (address, server) = api::start(config.indexer.listen, state, api_stop.clone())
        .await
        .map_err(|why| {
            anyhow::anyhow!(
                "the search API could not listen on {}: {why}",
                config.indexer.listen
            )
        })?;
    crate::api_token::note_address(&config.data_dir, address);
    if let Some(listening) = listening {
        let _ = listening.send(address);
    }
    info!(shard, api = %format!("http://{address}"), data_dir = %config.data_dir.display(), "indexing; Ctrl-C or SIGTERM stops");
    let policy = CommitPolicy {
        interval: config.indexer.commit_interval.0,
        documents: config.indexer.commit_docs,
        retention: Some(config.indexer.retention.0),
    };
    let result = worker::run(
        broker,
        shard,
        store.clone(),
        policy,
        stats.clone(),
        ready,
        shutdown,
    )
    .await;
    // The API (/healthz 200, /readyz 503) stays up until the store is
    // closed, merges included: the whole drain, not only its commit.
    let closed = result.map_err(anyhow::Error::from).and_then(|()| {
        let store = Arc::try_unwrap(store)
            .map_err(|_| anyhow::anyhow!("the index is still in use at shutdown"))?
            .into_inner();
        tokio::task::block_in_place(|| store.close())?;
        Ok(())
    });
    api_stop.cancel();
    let _ = server.await;
    closed?;
    info!(
        documents = stats.documents.load(Ordering::Relaxed),
        duplicates_skipped = stats.duplicates.load(Ordering::Relaxed),
        commits = stats.commits.load(Ordering::Relaxed),
        "indexer totals"
    );
    Ok(())
}
