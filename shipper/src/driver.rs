//! Runs the tailer against a queue: one thread for all file I/O, one task
//! for publishing.
//!
//! The tailer thread owns the files and the checkpoints. It reads, sends
//! batches to the publisher over a bounded channel, and applies
//! confirmations as they come back. The publisher task publishes each group
//! of batches and waits for the broker's confirmation, retrying with backoff
//! while the queue is down or full. Reading pauses meanwhile, because the
//! tailer's byte budget fills up.
//!
//! Shutdown happens in two phases. First, stop reading and publish every
//! complete record already read. Then wait for the confirmations, and write
//! the checkpoints. A record whose confirmation never came is read again on
//! the next start. The whole drain, archive included, keeps to one
//! deadline fixed when it starts ([`DrainDeadline`]): each step has only
//! the time the steps before it left.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use loghaul_config::Config;
use loghaul_durable::{Backoff, DiskFull, Store};
use loghaul_queue::{Broker, Message, Route};
use notify::{EventKind, RecursiveMode, Watcher};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::ShipperError;
use crate::checkpoint::Checkpoints;
use crate::discovery::FileMatcher;
use crate::metrics::ShipperMetrics;
use crate::multiline::MultilineRule;
use crate::rotate::{RotationPolicy, Rotator};
use crate::spot::SpotWatcher;
use crate::tailer::{Confirmation, OutgoingBatch, SourceSpec, Tailer, TailerSettings};
use loghaul_archive::{ArchiveRequest, Archived, Archiver, Spool};
use loghaul_config::SpotProvider;
use loghaul_model::{RotationReason, SourceLabels};

/// Header naming the host on published batches.
pub const HOST_HEADER: &str = "x-loghaul-host";
/// Header naming the source file on published batches.
pub const SOURCE_HEADER: &str = "x-loghaul-source";

/// How often confirmed positions reach disk: what a crash can repeat.
const PERSIST_INTERVAL: Duration = Duration::from_millis(250);
const IDLE_WAIT: Duration = Duration::from_millis(100);
const READ_CHUNK: usize = 256 * 1024;
const BATCHES_PER_PUBLISH: usize = 16;

/// What a run shipped.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ShipReport {
    /// Batches confirmed by the queue.
    pub batches: u64,
    /// Records in them.
    pub records: u64,
    /// Record bytes in them.
    pub bytes: u64,
}

enum Wake {
    Confirmed(Confirmation),
    /// Files appeared, vanished or were renamed: scan.
    Changed,
    /// A file was written: read.
    Written,
    Stop,
    /// The machine is going away: rotate, read and archive everything.
    Emergency(RotationReason),
}

/// Where the shipper keeps its checkpoints under `data_dir`.
pub fn checkpoint_path(config: &Config) -> PathBuf {
    config.data_dir.join("shipper").join("checkpoints.json")
}

/// The `[[shipper.sources]]` of `config`, compiled.
pub fn sources_from_config(config: &Config) -> Result<Vec<SourceSpec>, ShipperError> {
    config
        .shipper
        .sources
        .iter()
        .map(|source| {
            Ok(SourceSpec {
                name: source.name.clone(),
                matcher: FileMatcher::new(&source.name, &source.paths, &source.exclude)?,
                labels: SourceLabels {
                    format_hint: source.format.hint(),
                    timezone: Some(source.timezone.to_string()),
                    service: source.service.clone(),
                    name: (!source.name.is_empty()).then(|| source.name.clone()),
                },
                max_line_bytes: usize::try_from(source.max_line_bytes.bytes())
                    .unwrap_or(usize::MAX),
                multiline: source.multiline.as_ref().and_then(|multiline| {
                    MultilineRule::from_config(multiline).map(|rule| (rule, multiline.timeout.0))
                }),
                include_compressed: source.include_compressed,
            })
        })
        .collect()
}

fn settings_from_config(config: &Config) -> TailerSettings {
    let batch = &config.shipper.batch;
    TailerSettings {
        host: config.host.clone(),
        batch_max_bytes: usize::try_from(batch.max_bytes.bytes()).unwrap_or(usize::MAX),
        batch_max_records: batch.max_records,
        batch_max_wait: batch.max_wait.0,
        buffer_bytes: config.shipper.buffer_bytes.bytes(),
        max_open_files: config.shipper.max_open_files,
        read_chunk: READ_CHUNK,
    }
}

/// Ships the configured sources to `broker` until `shutdown`, then drains.
pub async fn ship(
    config: &Config,
    broker: Arc<dyn Broker>,
    shutdown: CancellationToken,
) -> Result<ShipReport, ShipperError> {
    ship_with_metrics(
        config,
        broker,
        shutdown,
        Arc::new(ShipperMetrics::default()),
    )
    .await
}

/// [`ship`], updating `metrics` as it goes, for callers that watch progress.
pub async fn ship_with_metrics(
    config: &Config,
    broker: Arc<dyn Broker>,
    shutdown: CancellationToken,
    metrics: Arc<ShipperMetrics>,
) -> Result<ShipReport, ShipperError> {
    let sources = sources_from_config(config)?;
    let checkpoints = Checkpoints::load(&checkpoint_path(config))?;
    let mut tailer = Tailer::new(settings_from_config(config), sources.clone(), checkpoints);
    tailer.set_rotated_patterns(&config.shipper.rotate.rotated_patterns)?;
    let (wake_sender, wake_receiver) = std::sync::mpsc::channel();
    let (batch_sender, batch_receiver) = tokio::sync::mpsc::channel(8);
    let _watcher = watch_directories(&sources, wake_sender.clone());

    // Stop on the caller's shutdown or on a termination notice: from then
    // on the shipper drains.
    let stop = CancellationToken::new();
    // Health is served until this function returns, drain included.
    let served = CancellationToken::new();
    let _serve_until_return = served.clone().drop_guard();
    if let Some(listen) = config.shipper.metrics_listen {
        crate::metrics::serve(listen, metrics.clone(), stop.clone(), served).await?;
        info!(%listen, "serving /metrics, /healthz and /readyz");
    }
    let rescan = config.shipper.rescan_interval.0;
    let drain_timeout = config.shipper.drain_timeout.0;
    let drain = DrainDeadline::new(drain_timeout);
    let thread_metrics = metrics.clone();
    // Rotated files go through a durable spool to the archive.
    let spool = Spool::open(&config.data_dir.join("shipper").join("archive-spool"))?;
    let archiver = Archiver::new(
        loghaul_archive::store_from_config(config).await?,
        spool.clone(),
        "",
        config.archive.gzip_level,
        config.archive.multipart_threshold.bytes(),
    )
    .with_gzip_threads(config.archive.gzip_threads);
    let archive_wake = Arc::new(tokio::sync::Notify::new());
    let archive_stop = CancellationToken::new();
    let retention = LocalRetention {
        keep: config.shipper.rotate.keep_local,
        archived: Default::default(),
    };
    let archiving = tokio::spawn(archive_loop(
        archiver,
        archive_wake.clone(),
        archive_stop.clone(),
        drain.clone(),
        retention,
    ));
    let policy = RotationPolicy::from_config(&config.shipper.rotate);
    let rotate_on_policy = policy.is_active();
    let rotator = Rotator::new(policy);
    let thread_wake = archive_wake.clone();
    let thread_drain = drain.clone();
    let thread = std::thread::Builder::new()
        .name("loghaul-tailer".into())
        .spawn(move || {
            tail_loop(
                tailer,
                wake_receiver,
                batch_sender,
                Timing {
                    rescan,
                    drain: thread_drain,
                },
                &thread_metrics,
                Archiving {
                    spool,
                    spool_full: DiskFull::new(Store::Spool),
                    wake: thread_wake,
                    rotator,
                    rotate_on_policy,
                },
            )
        })
        .map_err(|error| ShipperError::io("start tailer thread", &PathBuf::from("."), error))?;

    let give_up = CancellationToken::new();
    let mut publisher = tokio::spawn(publish_loop(
        broker,
        batch_receiver,
        wake_sender.clone(),
        give_up.clone(),
        metrics.clone(),
    ));
    tokio::spawn({
        let (stop, shutdown) = (stop.clone(), shutdown.clone());
        async move {
            shutdown.cancelled().await;
            stop.cancel();
        }
    });
    let spot = &config.shipper.spot;
    let spot_task = if spot.provider == SpotProvider::None {
        None
    } else {
        let mut watcher = SpotWatcher::new(spot.provider, &spot.endpoint, spot.poll_interval.0)?;
        let stop = stop.clone();
        Some(tokio::spawn(async move {
            let notice = watcher.watch(stop.clone()).await;
            if notice.is_some() {
                stop.cancel();
            }
            notice.map(|notice| (watcher, notice))
        }))
    };
    let early = tokio::select! {
        _ = stop.cancelled() => None,
        result = &mut publisher => Some(result),
    };
    stop.cancel();
    let notice = match spot_task {
        Some(task) => task.await.ok().flatten(),
        None => None,
    };
    let drain_started = Instant::now();
    // The notice's own deadline, when nearer, bounds the whole drain: one
    // instant for every step, each taking only what is left of it.
    let deadline = notice.as_ref().and_then(|(_, notice)| notice.deadline());
    let budget = crate::spot::drain_budget(drain_timeout, deadline, std::time::SystemTime::now());
    let drain_ends = drain_started + budget;
    drain.set(drain_ends);
    if let Some((_, notice)) = &notice {
        if deadline.is_some_and(|deadline| {
            deadline <= std::time::SystemTime::now() + crate::spot::MIN_DRAIN
        }) {
            warn!(
                ?notice,
                "the notice's deadline is already (nearly) past; draining for the shortest time"
            );
        }
        info!(
            ?notice,
            seconds_to_deadline = seconds_left(deadline),
            drain_seconds = budget.as_secs_f64(),
            "draining before the machine goes away"
        );
    }
    let emergency = match (&notice, config.shipper.archive_on_shutdown) {
        (Some(_), _) => Some(RotationReason::Spot),
        (None, true) => Some(RotationReason::Shutdown),
        (None, false) => None,
    };
    let _ = wake_sender.send(emergency.map_or(Wake::Stop, Wake::Emergency));
    let give_up_later = give_up.clone();
    tokio::spawn(async move {
        tokio::time::sleep_until(drain_ends.into()).await;
        give_up_later.cancel();
    });
    let tailed = tokio::task::spawn_blocking(move || thread.join())
        .await
        .map_err(|error| {
            ShipperError::io(
                "join tailer thread",
                &PathBuf::from("."),
                std::io::Error::other(error),
            )
        })?;
    let published = match early {
        Some(result) => result,
        None => publisher.await,
    };
    give_up.cancel();
    if emergency.is_some() {
        info!(
            drain_seconds_left = drain_ends
                .saturating_duration_since(Instant::now())
                .as_secs_f64(),
            seconds_to_deadline = seconds_left(deadline),
            "drain: the tailer and the publisher are done; archiving in the time left"
        );
    }
    // The tailer is done: one last archive pass, then stop.
    archive_stop.cancel();
    archive_wake.notify_one();
    if let Err(error) = archiving.await {
        warn!(%error, "archive task ended abnormally");
    }
    if let Some(reason) = emergency {
        info!(
            %reason,
            drain_seconds = drain_started.elapsed().as_secs_f64(),
            drain_seconds_left = drain_ends
                .saturating_duration_since(Instant::now())
                .as_secs_f64(),
            seconds_to_deadline = seconds_left(deadline),
            "drain done: files rotated, read, published and archived"
        );
    }
    if let Some((watcher, notice)) = &notice
        && let Err(error) = watcher.acknowledge(notice).await
    {
        warn!(%error, "cannot acknowledge the termination notice");
    }
    let report = published.map_err(|error| {
        ShipperError::io(
            "join publisher",
            &PathBuf::from("."),
            std::io::Error::other(error),
        )
    })??;
    match tailed {
        Ok(result) => result?,
        Err(_) => {
            return Err(ShipperError::io(
                "tailer thread",
                &PathBuf::from("."),
                std::io::Error::other("panicked"),
            ));
        }
    }
    info!(
        batches = report.batches,
        records = report.records,
        bytes = report.bytes,
        "shipper stopped"
    );
    Ok(report)
}

fn watch_directories(
    sources: &[SourceSpec],
    wake: Sender<Wake>,
) -> Option<notify::RecommendedWatcher> {
    let handler = move |event: notify::Result<notify::Event>| {
        let Ok(event) = event else { return };
        let wake_up = match event.kind {
            EventKind::Modify(notify::event::ModifyKind::Data(_)) => Wake::Written,
            EventKind::Access(_) => return,
            _ => Wake::Changed,
        };
        let _ = wake.send(wake_up);
    };
    let mut watcher = match notify::recommended_watcher(handler) {
        Ok(watcher) => watcher,
        Err(error) => {
            warn!(%error, "file notifications unavailable; relying on periodic scans");
            return None;
        }
    };
    for source in sources {
        for root in source.matcher.watch_roots() {
            if let Err(error) = watcher.watch(root, RecursiveMode::Recursive) {
                // The directory may appear later; periodic scans will find it.
                warn!(%error, dir = %root.display(), "cannot watch directory; relying on periodic scans");
            }
        }
    }
    Some(watcher)
}

fn publish_gauges(tailer: &Tailer, metrics: &ShipperMetrics) {
    let (watched, open) = tailer.file_counts();
    metrics
        .files_watched
        .store(watched as u64, Ordering::Relaxed);
    metrics.files_open.store(open as u64, Ordering::Relaxed);
    for ((_, count), slot) in tailer.skipped_counts().iter().zip(&metrics.skipped) {
        slot.store(*count, Ordering::Relaxed);
    }
    metrics
        .scans_cut
        .store(tailer.scans_cut() as u64, Ordering::Relaxed);
    metrics
        .scans_slow
        .store(tailer.scans_slow() as u64, Ordering::Relaxed);
    metrics
        .in_flight_bytes
        .store(tailer.in_flight_bytes(), Ordering::Relaxed);
    let lag = tailer
        .lag()
        .into_iter()
        .map(|(path, bytes)| (path.display().to_string(), bytes))
        .collect();
    if let Ok(mut shared) = metrics.lag.lock() {
        *shared = lag;
    }
}

/// The machine is going away: rotate every managed file now, read the
/// rotated files to their end, publish them, and hand them to the archive,
/// by `deadline`.
#[allow(clippy::too_many_arguments)]
fn emergency_drain(
    tailer: &mut Tailer,
    wake: &Receiver<Wake>,
    batches: &tokio::sync::mpsc::Sender<OutgoingBatch>,
    archiving: &mut Archiving,
    host: &str,
    reason: RotationReason,
    deadline: Instant,
) {
    let started = Instant::now();
    // A notice can come before the first scan: know every file first.
    tailer.scan(Instant::now());
    let rotated = archiving.rotate_all(tailer, reason);
    tailer.hurry();
    tailer.scan(Instant::now());
    loop {
        let now = Instant::now();
        let mut out = Vec::new();
        tailer.poll(now, &mut out);
        for batch in out {
            if batches.blocking_send(batch).is_err() {
                return;
            }
        }
        archiving.hand_over(tailer, host);
        if tailer.orphans_left() == 0 {
            break;
        }
        if now >= deadline {
            warn!(
                left = tailer.orphans_left(),
                "drain time is up; unfinished rotated files are archived on the next start"
            );
            break;
        }
        if let Ok(Wake::Confirmed(confirmation)) = wake.recv_timeout(Duration::from_millis(20)) {
            tailer.confirm(&confirmation);
        }
    }
    info!(
        %reason,
        rotated,
        seconds = started.elapsed().as_secs_f64(),
        drain_seconds_left = deadline.saturating_duration_since(Instant::now()).as_secs_f64(),
        "every file rotated and read for the drain"
    );
}

/// What an event asks the tailer loop to do next.
enum Asked {
    Nothing,
    Scan,
    Stop,
    Emergency(RotationReason),
}

fn apply(event: Wake, tailer: &mut Tailer) -> Asked {
    match event {
        Wake::Confirmed(confirmation) => {
            tailer.confirm(&confirmation);
            Asked::Nothing
        }
        Wake::Changed => Asked::Scan,
        Wake::Written => Asked::Nothing,
        Wake::Stop => Asked::Stop,
        Wake::Emergency(reason) => Asked::Emergency(reason),
    }
}

struct Timing {
    rescan: Duration,
    drain: DrainDeadline,
}

/// Seconds until `deadline` (0 once past), for the drain's logs.
fn seconds_left(deadline: Option<std::time::SystemTime>) -> Option<f64> {
    deadline.map(|deadline| {
        deadline
            .duration_since(std::time::SystemTime::now())
            .map_or(0.0, |left| left.as_secs_f64())
    })
}

/// When the whole drain must be over, fixed when it starts: `drain_timeout`
/// from then, or sooner when a termination notice's own deadline comes
/// first ([`crate::spot::drain_budget`]). The tailer thread (rotating and
/// reading, then waiting for confirmations), the publisher's give-up timer
/// and the archive task all end by this one instant, so each step has only
/// what the steps before it left, and the drain as a whole, not each step,
/// keeps to the deadline.
#[derive(Clone, Debug)]
struct DrainDeadline {
    drain_timeout: Duration,
    at: Arc<std::sync::OnceLock<Instant>>,
}

impl DrainDeadline {
    fn new(drain_timeout: Duration) -> Self {
        DrainDeadline {
            drain_timeout,
            at: Arc::default(),
        }
    }

    /// Fixes the deadline; `ship` does so before it tells anyone to stop.
    fn set(&self, at: Instant) {
        let _ = self.at.set(at);
    }

    /// The deadline; `drain_timeout` from now if no drain fixed it yet.
    fn get(&self) -> Instant {
        *self.at.get_or_init(|| Instant::now() + self.drain_timeout)
    }
}

/// What the tailer thread needs for rotation and archiving.
struct Archiving {
    spool: Spool,
    /// The pause while the spool's disk is full.
    spool_full: DiskFull,
    wake: Arc<tokio::sync::Notify>,
    rotator: Rotator,
    /// Whether `[shipper.rotate]` asks for rotation by size or age.
    rotate_on_policy: bool,
}

impl Archiving {
    /// Rotates managed files that are due, and hands finished rotated files
    /// to the archive through the spool.
    fn tend(&mut self, tailer: &mut Tailer, host: &str) -> bool {
        let mut rotated_any = false;
        if self.rotate_on_policy {
            let rotator = &mut self.rotator;
            let now = std::time::SystemTime::now();
            for path in tailer.matched_paths() {
                if let Some(reason) = rotator.due(&path, now) {
                    match rotator.rotate(&path, reason) {
                        Ok(_) => {
                            tailer.mark_rotated(&path, reason);
                            rotated_any = true;
                        }
                        Err(error) => warn!(%error, "rotation failed; will try again"),
                    }
                }
            }
        }
        self.hand_over(tailer, host);
        rotated_any
    }

    /// Rotates every managed file that has content, now.
    fn rotate_all(&mut self, tailer: &mut Tailer, reason: RotationReason) -> usize {
        let mut rotated = 0;
        for path in tailer.matched_paths() {
            if std::fs::metadata(&path).is_ok_and(|stat| stat.len() > 0) {
                match self.rotator.rotate(&path, reason) {
                    Ok(_) => {
                        tailer.mark_rotated(&path, reason);
                        rotated += 1;
                    }
                    Err(error) => {
                        warn!(%error, path = %path.display(), "cannot rotate for the drain")
                    }
                }
            }
        }
        rotated
    }

    /// Queues finished rotated files for the archive. A file the spool
    /// cannot take (a full disk) stays with the tailer, and its checkpoint
    /// does not say archived: it is tried again at the next tend, and after
    /// a restart.
    fn hand_over(&mut self, tailer: &mut Tailer, host: &str) {
        let mut queued = 0;
        for file in tailer.finished() {
            let request = ArchiveRequest {
                raw_path: file.rotated_path.clone(),
                source_path: file.source_path.display().to_string(),
                host: host.to_owned(),
                file: file.identity,
                reason: file.reason,
            };
            match self.spool.enqueue(&request) {
                Ok(_) => {
                    tailer.handed_over(&file);
                    self.spool_full.cleared();
                    queued += 1;
                }
                Err(error) if loghaul_durable::is_full(&error) => {
                    self.spool_full.hit(&error);
                    break;
                }
                Err(error) => {
                    warn!(%error, path = %file.rotated_path.display(), "cannot queue a rotated file for the archive; will try again");
                    break;
                }
            }
        }
        if queued > 0 {
            self.wake.notify_one();
        }
    }
}

/// `keep_local`: how many of each source's newest archived rotated files
/// stay on disk. Only files archived and verified by this process are ever
/// deleted, oldest first, and each is found by its device and inode: under
/// logrotate's numbered names, the path it was archived from may by now
/// hold a newer file.
struct LocalRetention {
    keep: Option<u32>,
    archived: std::collections::HashMap<
        String,
        std::collections::VecDeque<(PathBuf, loghaul_model::FileIdentity)>,
    >,
}

impl LocalRetention {
    fn archived(&mut self, archived: &Archived) {
        let Some(keep) = self.keep else { return };
        let kept = self
            .archived
            .entry(archived.manifest.source_path.clone())
            .or_default();
        kept.push_back((archived.raw_path.clone(), archived.manifest.file));
        while kept.len() > keep as usize {
            let Some((path, file)) = kept.pop_front() else {
                break;
            };
            let Ok(oldest) = loghaul_archive::locate_raw(&path, &file) else {
                info!(path = %path.display(), "an archived rotated file is already gone");
                continue;
            };
            match std::fs::remove_file(&oldest) {
                Ok(()) => {
                    info!(path = %oldest.display(), "deleted a rotated file after its archive was verified")
                }
                Err(error) => {
                    warn!(%error, path = %oldest.display(), "cannot delete an archived rotated file")
                }
            }
        }
    }
}

/// Runs `work` to its end, or, once `stop` came, until the drain's
/// deadline: `None` when the time ran out first (the work is dropped).
async fn within_drain<T>(
    work: impl std::future::Future<Output = T>,
    stop: &CancellationToken,
    deadline: &DrainDeadline,
) -> Option<T> {
    let time_up = async {
        stop.cancelled().await;
        tokio::time::sleep_until(deadline.get().into()).await;
    };
    tokio::select! {
        biased;
        done = work => Some(done),
        () = time_up => None,
    }
}

/// Archives what the spool holds: aborts uploads a crash left open, then
/// drains, backing off while the store is down. After `stop`, one last
/// pass. Once `stop` came, whatever it is doing (that last pass, a pass
/// under way, the clean-up) ends by the drain's deadline: a store that
/// hangs cannot hold the drain. What is left stays in the spool, and an
/// upload cut short is aborted at the next start.
async fn archive_loop(
    archiver: Archiver,
    wake: Arc<tokio::sync::Notify>,
    stop: CancellationToken,
    deadline: DrainDeadline,
    mut retention: LocalRetention,
) {
    const OUT_OF_TIME: &str =
        "archive still busy when the drain's time ran out; what is left stays in the spool";
    match within_drain(archiver.recover(), &stop, &deadline).await {
        Some(Ok(_)) => {}
        Some(Err(error)) => {
            warn!(%error, "cannot clean up uploads from before a crash; will retry them later");
        }
        None => {
            warn!("{OUT_OF_TIME}");
            return;
        }
    }
    let mut backoff = Backoff::new(Duration::from_secs(2), Duration::from_secs(30));
    let mut spool_full = DiskFull::new(Store::Spool);
    loop {
        let stopping = stop.is_cancelled();
        let Some(result) = within_drain(archiver.drain_spool(), &stop, &deadline).await else {
            warn!("{OUT_OF_TIME}");
            return;
        };
        let stopped_by = match result {
            Ok(report) => {
                // `archive` returned Ok only after verifying the object.
                for archived in &report.archived {
                    retention.archived(archived);
                }
                report.stopped_by
            }
            Err(error) => {
                warn!(%error, "archive pass failed");
                Some(error)
            }
        };
        let store_down = stopped_by.is_some();
        // A full local disk (the spool's work copies, or a directory
        // archive under data_dir) is a pause like any other.
        match &stopped_by {
            Some(error) if loghaul_durable::is_full(error) => spool_full.hit(error),
            _ => spool_full.cleared(),
        }
        if stopping {
            return;
        }
        let wait = if store_down {
            backoff.next_delay()
        } else {
            backoff.reset();
            Duration::from_secs(10)
        };
        tokio::select! {
            _ = wake.notified() => {}
            _ = tokio::time::sleep(wait) => {}
            _ = stop.cancelled() => {}
        }
    }
}

fn tail_loop(
    mut tailer: Tailer,
    wake: Receiver<Wake>,
    batches: tokio::sync::mpsc::Sender<OutgoingBatch>,
    timing: Timing,
    metrics: &ShipperMetrics,
    mut archiving: Archiving,
) -> Result<(), ShipperError> {
    let Timing { rescan, drain } = timing;
    let host = tailer.host().to_owned();
    let mut next_scan = Instant::now();
    let mut next_persist = Instant::now() + PERSIST_INTERVAL;
    let mut stopping = false;
    let mut emergency: Option<RotationReason> = None;
    while !stopping {
        let mut scan_now = false;
        while let Ok(event) = wake.try_recv() {
            match apply(event, &mut tailer) {
                Asked::Scan => scan_now = true,
                Asked::Stop => stopping = true,
                Asked::Emergency(reason) => {
                    emergency = Some(reason);
                    stopping = true;
                }
                Asked::Nothing => {}
            }
        }
        if stopping {
            break;
        }
        let now = Instant::now();
        if scan_now || now >= next_scan {
            tailer.scan(now);
            next_scan = now + rescan;
        }
        let mut out = Vec::new();
        let report = tailer.poll(now, &mut out);
        metrics
            .read_bytes
            .fetch_add(report.bytes_read, Ordering::Relaxed);
        metrics
            .read_records
            .fetch_add(report.records, Ordering::Relaxed);
        for batch in out {
            if batches.blocking_send(batch).is_err() {
                // The publisher stopped; its error is reported by `ship`.
                return tailer.persist();
            }
        }
        if now >= next_persist {
            tailer.persist()?;
            next_persist = now + PERSIST_INTERVAL;
            publish_gauges(&tailer, metrics);
            if archiving.tend(&mut tailer, &host) {
                next_scan = Instant::now();
            }
        }
        if report.bytes_read == 0 || report.throttled {
            match wake.recv_timeout(IDLE_WAIT) {
                Ok(event) => match apply(event, &mut tailer) {
                    Asked::Scan => next_scan = Instant::now(),
                    Asked::Stop => stopping = true,
                    Asked::Emergency(reason) => {
                        emergency = Some(reason);
                        stopping = true;
                    }
                    Asked::Nothing => {}
                },
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => stopping = true,
            }
        }
    }

    // Read now: the drain's deadline is fixed before the stop is sent.
    let deadline = drain.get();
    if let Some(reason) = emergency {
        emergency_drain(
            &mut tailer,
            &wake,
            &batches,
            &mut archiving,
            &host,
            reason,
            deadline,
        );
    }

    // Phase one: no more reading; publish every complete record read so far.
    let mut out = Vec::new();
    tailer.drain(Instant::now(), &mut out);
    for batch in out {
        if batches.blocking_send(batch).is_err() {
            break;
        }
    }
    drop(batches);
    // Phase two: wait for the confirmations, in what is left of the drain,
    // then save where we are.
    while !tailer.all_confirmed() {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            warn!(
                unconfirmed_bytes = tailer.in_flight_bytes(),
                "drain timed out; unconfirmed records will be read again on the next start"
            );
            break;
        }
        match wake.recv_timeout(left) {
            Ok(Wake::Confirmed(confirmation)) => tailer.confirm(&confirmation),
            Ok(_) | Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
    }
    tailer.persist()
}

async fn publish_loop(
    broker: Arc<dyn Broker>,
    mut batches: tokio::sync::mpsc::Receiver<OutgoingBatch>,
    wake: Sender<Wake>,
    give_up: CancellationToken,
    metrics: Arc<ShipperMetrics>,
) -> Result<ShipReport, ShipperError> {
    let mut report = ShipReport::default();
    let mut publisher = broker.publisher().await?;
    while let Some(first) = batches.recv().await {
        let mut group = vec![first];
        while group.len() < BATCHES_PER_PUBLISH {
            match batches.try_recv() {
                Ok(batch) => group.push(batch),
                Err(_) => break,
            }
        }
        let messages: Vec<Message> = group
            .iter_mut()
            .map(|outgoing| {
                // Already encoded by the tailer: hand the buffer over.
                let mut message = Message::new(std::mem::take(&mut outgoing.encoded));
                message
                    .headers
                    .insert(HOST_HEADER.into(), outgoing.host.clone());
                message
                    .headers
                    .insert(SOURCE_HEADER.into(), outgoing.source.clone());
                message
            })
            .collect();
        // Mostly a full queue (connection loss is retried inside the
        // publisher): a consumer frees room soon, so retry soon, then back off.
        // Past the drain's deadline a publish under way is dropped: its
        // batches are not confirmed, so they are read again at the next
        // start, and a broker that does not answer cannot hold the drain.
        let mut backoff = Backoff::new(Duration::from_millis(5), Duration::from_secs(1));
        loop {
            let published = tokio::select! {
                biased;
                published = publisher.publish(Route::Raw, &messages) => published,
                () = give_up.cancelled() => return Ok(report),
            };
            match published {
                Ok(()) => break,
                Err(error) if error.is_retryable() => {
                    let wait = backoff.next_delay();
                    if wait >= Duration::from_millis(500) {
                        warn!(%error, retry_in_ms = wait.as_millis() as u64, "publish refused; reading pauses until the queue takes it");
                    }
                    tokio::select! {
                        _ = tokio::time::sleep(wait) => {}
                        _ = give_up.cancelled() => return Ok(report),
                    }
                }
                Err(error) => return Err(error.into()),
            }
        }
        for outgoing in group {
            report.batches += 1;
            report.records += outgoing.records;
            report.bytes += outgoing.confirmation.bytes;
            metrics.confirmed_batches.fetch_add(1, Ordering::Relaxed);
            metrics
                .confirmed_records
                .fetch_add(outgoing.records, Ordering::Relaxed);
            let _ = wake.send(Wake::Confirmed(outgoing.confirmation));
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn archived(path: &std::path::Path) -> Archived {
        Archived {
            key: path.display().to_string(),
            raw_path: path.to_owned(),
            manifest: loghaul_model::ArchiveManifest {
                host: "h".into(),
                source_path: "/var/log/app.log".into(),
                file: loghaul_model::FileIdentity::of_path(path, 0).expect("stat"),
                sha256: String::new(),
                raw_size: 0,
                line_count: 0,
                first_timestamp_unix_nano: 0,
                last_timestamp_unix_nano: 0,
                reason: loghaul_model::RotationReason::External,
            },
            outcome: loghaul_archive::PutOutcome::Created,
            compressed_bytes: 0,
        }
    }

    /// logrotate's numbered names: the file archived from app.log.1 is at
    /// app.log.2 by the time it is the oldest, and app.log.1 holds a newer
    /// file. keep_local deletes the old file, wherever it is now, never the
    /// newer one that took its name.
    #[test]
    fn keep_local_deletes_the_archived_file_not_the_one_now_at_its_path() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (first, second) = (dir.path().join("app.log.1"), dir.path().join("app.log.2"));
        let mut retention = LocalRetention {
            keep: Some(1),
            archived: Default::default(),
        };
        std::fs::write(&first, "older\n").expect("write");
        retention.archived(&archived(&first));
        std::fs::rename(&first, &second).expect("rotate");
        std::fs::write(&first, "newer\n").expect("write");
        retention.archived(&archived(&first));
        assert!(
            !second.exists(),
            "the older file is deleted where it is now"
        );
        assert_eq!(std::fs::read_to_string(&first).expect("kept"), "newer\n");

        // Gone already (someone deleted it): nothing else is deleted.
        std::fs::rename(&first, &second).expect("rotate");
        std::fs::write(&first, "newest\n").expect("write");
        std::fs::remove_file(&second).expect("delete");
        retention.archived(&archived(&first));
        assert_eq!(std::fs::read_to_string(&first).expect("kept"), "newest\n");
    }

    fn tailer(logs: &std::path::Path, state: &std::path::Path) -> Tailer {
        crate::tailer::test_tailer(logs, &state.join("checkpoints.json"))
    }

    /// A rotated file finished while the spool's disk is full stays with
    /// the tailer (counted as a pause) and is queued once space returns.
    #[test]
    fn a_full_spool_keeps_the_finished_file_until_space_returns() {
        let logs = tempfile::tempdir().expect("logs");
        let tmpfs = loghaul_testkit::Tmpfs::mount("1m");
        let log = logs.path().join("app.log");
        std::fs::write(&log, "one\ntwo\n").expect("write");
        let mut tailer = tailer(logs.path(), tmpfs.path());
        let mut now = Instant::now();
        let step = |tailer: &mut Tailer, now: &mut Instant| {
            *now += crate::tailer::ROTATE_WAIT + Duration::from_secs(1);
            tailer.scan(*now);
            let mut out = Vec::new();
            tailer.poll(*now, &mut out);
            for batch in &out {
                tailer.confirm(&batch.confirmation);
            }
        };
        step(&mut tailer, &mut now);
        std::fs::rename(&log, logs.path().join("app.log.1")).expect("rotate");
        std::fs::File::create(&log)
            .and_then(|mut file| file.write_all(b"three\n"))
            .expect("new file");
        for _ in 0..3 {
            step(&mut tailer, &mut now);
        }
        assert_eq!(tailer.finished().len(), 1);

        let spool = Spool::open(&tmpfs.path().join("spool")).expect("spool");
        let ballast = tmpfs.fill();
        let mut archiving = Archiving {
            spool: spool.clone(),
            spool_full: DiskFull::new(Store::Spool),
            wake: Arc::new(tokio::sync::Notify::new()),
            rotator: Rotator::new(RotationPolicy {
                max_bytes: None,
                max_age: None,
                mode: loghaul_config::RotateMode::Rename,
                signal_command: None,
            }),
            rotate_on_policy: false,
        };
        let before = loghaul_durable::retries(Store::Spool);
        archiving.tend(&mut tailer, "h");
        assert!(loghaul_durable::retries(Store::Spool) > before, "counted");
        assert_eq!(tailer.finished().len(), 1, "kept for the next try");
        assert!(spool.pending().expect("pending").is_empty());

        std::fs::remove_file(ballast).expect("space returns");
        archiving.tend(&mut tailer, "h");
        assert!(tailer.finished().is_empty(), "handed over");
        let pending = spool.pending().expect("pending");
        assert_eq!(pending.len(), 1);
        assert_eq!(pending[0].request.raw_path, logs.path().join("app.log.1"));
    }
}
