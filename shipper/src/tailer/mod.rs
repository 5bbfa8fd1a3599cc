//! The tailer: discovery, reading, rotation handling and batching for every
//! file, as one synchronous state machine.
//!
//! It does no waiting and keeps no clock of its own. The caller passes `now`
//! and decides when to [`Tailer::scan`] and [`Tailer::poll`]. The driver runs
//! it on a dedicated thread, and tests step it deterministically.
//!
//! What it promises:
//!
//! - Records come out in file order, each file in its own batches, and every
//!   byte of a file is in exactly one record.
//! - A checkpoint moves only through [`Tailer::confirm`], after the queue has
//!   the batch.
//! - A file renamed or deleted away from the globs is read through its open
//!   handle until it has stayed at its end for [`ROTATE_WAIT`], then
//!   finished: its unterminated last line and pending multiline record go out.
//! - A file that shrank (copytruncate) finishes what it had and starts again
//!   at 0 under a new epoch. Confirmations of the old epoch no longer move its
//!   checkpoint.
//! - Reading stops while the bytes waiting for confirmation exceed the budget.
//!
//! The pieces, split as Vector's file source splits its `FileServer` from
//! its `FileWatcher`:
//!
//! - [`Tailer`], here: the scheduler. It polls the files in turn within the
//!   open-file limit and the byte budget, sends the batches that are due,
//!   confirms, closes idle files, lets finished ones go and drains;
//! - `scan`: finding files, new, renamed, vanished, and rotated away while
//!   the shipper was down;
//! - `watcher`: one file, its handle, where reading stands, truncation and
//!   rewrite detection, gzip, records and multiline, and its batch;
//! - `handoff`: rotated files read to their end and confirmed, handed to
//!   the archive as [`FinishedFile`]s.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use loghaul_model::{RawBatch, RotationReason, SourceLabels, codec};
use tracing::info;

use crate::ShipperError;
use crate::checkpoint::Checkpoints;
use crate::discovery::FileMatcher;
use crate::identity::{DiskKey, Fingerprint};
use crate::multiline::MultilineRule;

mod handoff;
mod scan;
mod scanners;
mod skips;
mod watcher;

pub use handoff::FinishedFile;
use handoff::Handoff;
use watcher::{FileWatcher, ReadContext};

/// How long a rotated-away or deleted file is still watched at its end, in
/// case its writer has not reopened yet.
pub const ROTATE_WAIT: Duration = Duration::from_secs(5);

/// One `[[shipper.sources]]` entry, compiled.
#[derive(Debug, Clone)]
pub struct SourceSpec {
    /// The source's name.
    pub name: String,
    /// Its globs.
    pub matcher: FileMatcher,
    /// Format, time zone and service, as every batch carries them.
    pub labels: SourceLabels,
    /// The record size cap.
    pub max_line_bytes: usize,
    /// Multiline rule and timeout.
    pub multiline: Option<(MultilineRule, Duration)>,
    /// Read gzip files decompressed instead of skipping them.
    pub include_compressed: bool,
}

/// Limits of the tailer.
#[derive(Debug, Clone)]
pub struct TailerSettings {
    /// The host name batches carry.
    pub host: String,
    /// A batch goes out at this many bytes of records…
    pub batch_max_bytes: usize,
    /// …or this many records…
    pub batch_max_records: usize,
    /// …or this long after its first record.
    pub batch_max_wait: Duration,
    /// Bytes read but not yet confirmed, at most.
    pub buffer_bytes: u64,
    /// Open files at most; files at their end are closed beyond it.
    pub max_open_files: usize,
    /// Bytes read from one file in one go.
    pub read_chunk: usize,
}

/// What confirming a batch means for its file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confirmation {
    /// The file.
    pub key: DiskKey,
    /// Its fingerprint.
    pub fingerprint: Fingerprint,
    /// Incremented each time the file is found truncated.
    pub epoch: u64,
    /// Where it was read.
    pub path: PathBuf,
    /// Everything before this offset is in this batch or an earlier one.
    pub end_offset: u64,
    /// Record bytes in the batch, released from the budget.
    pub bytes: u64,
}

/// A batch to publish, already encoded, and what to tell the tailer once it
/// is confirmed.
#[derive(Debug, Clone)]
pub struct OutgoingBatch {
    /// The RawBatch message, ready to publish.
    pub encoded: Vec<u8>,
    /// The host it names.
    pub host: String,
    /// The file path it names.
    pub source: String,
    /// How many records it holds.
    pub records: u64,
    /// Hand this back to [`Tailer::confirm`].
    pub confirmation: Confirmation,
}

impl OutgoingBatch {
    /// The batch decoded again, for tests and tools.
    pub fn decode(&self) -> Result<RawBatch, loghaul_model::CodecError> {
        codec::decode_raw_batch(&self.encoded)
    }
}

/// Tails every file of every source.
pub struct Tailer {
    settings: TailerSettings,
    sources: Vec<SourceSpec>,
    checkpoints: Checkpoints,
    files: BTreeMap<DiskKey, FileWatcher>,
    in_flight: u64,
    /// Whether the first scan has looked for checkpointed files that were
    /// rotated away while the shipper was down.
    recovered: bool,
    /// Reused for every read.
    read_buffer: Vec<u8>,
    /// Compressed files found, not to be looked at again.
    skipped: HashSet<DiskKey>,
    /// Every input skipped, warned about once and counted.
    skips: skips::Skips,
    /// Each source's glob scan, on a thread of its own.
    scanners: scanners::Scanners,
    /// Rotated files on their way to the archive.
    handoff: Handoff,
    /// A drain is on: rotated files finish at their end, without waiting.
    hurry: bool,
    /// `[shipper.rotate] rotated_patterns`, beside the built-in names.
    rotated_names: Option<globset::GlobSet>,
}

/// What one [`Tailer::poll`] did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PollReport {
    /// Bytes read.
    pub bytes_read: u64,
    /// Records emitted into batches.
    pub records: u64,
    /// Whether reading stopped because the budget is used up.
    pub throttled: bool,
}

impl Tailer {
    /// A tailer that resumes from `checkpoints`.
    pub fn new(
        settings: TailerSettings,
        sources: Vec<SourceSpec>,
        checkpoints: Checkpoints,
    ) -> Self {
        let read_buffer = vec![0; settings.read_chunk];
        let scanners = scanners::Scanners::new(
            sources
                .iter()
                .map(|source| {
                    let matcher = source.matcher.clone();
                    let job: scanners::ScanJob = std::sync::Arc::new(move || matcher.scan_all());
                    (source.name.clone(), job)
                })
                .collect(),
        );
        Tailer {
            settings,
            sources,
            checkpoints,
            files: BTreeMap::new(),
            in_flight: 0,
            recovered: false,
            read_buffer,
            skipped: HashSet::new(),
            skips: skips::Skips::default(),
            scanners,
            handoff: Handoff::default(),
            hurry: false,
            rotated_names: None,
        }
    }

    /// Inputs skipped so far, by reason (each counted once).
    pub fn skipped_counts(&self) -> Vec<(crate::discovery::SkipReason, u64)> {
        self.skips.counts().collect()
    }

    /// How many sources are scanning past a round's wait now.
    pub fn scans_slow(&self) -> usize {
        self.scanners.slow()
    }

    /// How many sources' scans stopped at their budget.
    pub fn scans_cut(&self) -> usize {
        self.sources
            .iter()
            .filter(|source| !source.matcher.scan_complete())
            .count()
    }

    /// Bytes sent but not confirmed.
    pub fn in_flight_bytes(&self) -> u64 {
        self.in_flight
    }

    /// Files being watched, and how many are open.
    pub fn file_counts(&self) -> (usize, usize) {
        (self.files.len(), self.open_count())
    }

    /// Bytes each watched file has beyond its confirmed offset, by path.
    pub fn lag(&self) -> Vec<(PathBuf, u64)> {
        self.files
            .values()
            .map(|watcher| (watcher.path().to_owned(), watcher.lag()))
            .collect()
    }

    /// The host batches name.
    pub fn host(&self) -> &str {
        &self.settings.host
    }

    /// Adds `[shipper.rotate] rotated_patterns` to the built-in rotated names.
    pub fn set_rotated_patterns(&mut self, globs: &[String]) -> Result<(), ShipperError> {
        self.rotated_names = crate::discovery::rotated_patterns(globs)?;
        Ok(())
    }

    /// From now on, rotated files finish as soon as they are read to their
    /// end: the machine is going away.
    pub fn hurry(&mut self) {
        self.hurry = true;
    }

    /// Files rotated away or deleted that are not finished yet.
    pub fn orphans_left(&self) -> usize {
        self.files
            .values()
            .filter(|watcher| watcher.is_orphaned())
            .count()
    }

    /// Rotated files read to their end and confirmed, waiting to be handed
    /// to the archive, oldest first. Each stays here (and comes back after a
    /// restart) until [`Tailer::handed_over`].
    pub fn finished(&self) -> Vec<FinishedFile> {
        self.handoff.pending()
    }

    /// The archive's spool holds `file` durably: its checkpoint records it
    /// as archived, so it is never handed over again.
    pub fn handed_over(&mut self, file: &FinishedFile) {
        self.handoff.handed_over(file, &mut self.checkpoints);
    }

    /// Every finished file, each marked handed over at once: for callers
    /// whose archive cannot refuse (tests).
    pub fn take_finished(&mut self) -> Vec<FinishedFile> {
        let finished = self.finished();
        for file in &finished {
            self.handed_over(file);
        }
        finished
    }

    /// Paths of the files the globs match now (not gzip backfill).
    pub fn matched_paths(&self) -> Vec<PathBuf> {
        self.files
            .values()
            .filter(|watcher| watcher.is_matched() && !watcher.is_gzip())
            .map(|watcher| watcher.path().to_owned())
            .collect()
    }

    /// Our own rotation renamed the file at `path`: remember why.
    pub fn mark_rotated(&mut self, path: &Path, reason: RotationReason) {
        // Only the live file: an older one rotated away keeps this path until
        // it is let go.
        if let Some(watcher) = self
            .files
            .values_mut()
            .find(|watcher| watcher.is_matched() && watcher.path() == path)
        {
            watcher.mark_rotated(reason);
        }
    }

    fn open_count(&self) -> usize {
        self.files
            .values()
            .filter(|watcher| watcher.is_open())
            .count()
    }

    /// Reads what is new, merges, batches, and emits the batches that are
    /// due into `out`.
    pub fn poll(&mut self, now: Instant, out: &mut Vec<OutgoingBatch>) -> PollReport {
        let mut report = PollReport::default();
        // Closed files with more to read wait for a slot; files idle at their
        // end give theirs up.
        let waiting = self
            .files
            .values()
            .filter(|watcher| watcher.waits_for_slot())
            .count();
        self.close_idle(waiting);
        let mut slots = self
            .settings
            .max_open_files
            .saturating_sub(self.open_count());
        let keys: Vec<DiskKey> = self.files.keys().copied().collect();
        // Record bytes held in batches not yet sent, kept up to date per file.
        let mut buffered: u64 = self.files.values().map(FileWatcher::held_bytes).sum();
        for key in keys {
            if self.in_flight + buffered >= self.settings.buffer_bytes {
                report.throttled = true;
            }
            let Some(watcher) = self.files.get_mut(&key) else {
                continue;
            };
            let held_before = watcher.held_bytes();
            let spec = &self.sources[watcher.source()];
            if !report.throttled {
                let mut context = ReadContext {
                    spec,
                    settings: &self.settings,
                    checkpoints: &mut self.checkpoints,
                    buffer: &mut self.read_buffer,
                    now,
                    report: &mut report,
                };
                if let Some(old_content) = watcher.read_available(&mut context, &mut slots) {
                    self.in_flight += old_content.confirmation.bytes;
                    out.push(old_content);
                }
            }
            watcher.flush_stale(now, &mut report);
            let finished = watcher.finish_if_gone(now, self.hurry);
            let due = finished || watcher.batch_due(&self.settings, now);
            if due && watcher.has_batch() {
                let batch = watcher.take_batch(&spec.labels, &self.settings.host);
                self.in_flight += batch.confirmation.bytes;
                out.push(batch);
            }
            buffered = (buffered + watcher.held_bytes()).saturating_sub(held_before);
        }
        self.close_idle(0);
        self.forget_finished();
        self.drop_compressed();
        report
    }

    /// Lets the orphaned files go that are finished and confirmed.
    fn forget_finished(&mut self) {
        let done: Vec<DiskKey> = self
            .files
            .iter()
            .filter(|(_, watcher)| watcher.is_done())
            .map(|(key, _)| *key)
            .collect();
        for key in done {
            if let Some(watcher) = self.files.remove(&key) {
                self.handoff.let_go(watcher, &mut self.checkpoints);
            }
        }
    }

    /// Files found compressed at their first read are dropped, and skipped
    /// from now on.
    fn drop_compressed(&mut self) {
        let compressed: Vec<DiskKey> = self
            .files
            .iter()
            .filter(|(_, watcher)| watcher.is_compressed())
            .map(|(key, _)| *key)
            .collect();
        for key in compressed {
            if let Some(watcher) = self.files.remove(&key) {
                self.skips
                    .warn(watcher.path(), crate::discovery::SkipReason::Compressed);
            }
            self.checkpoints.remove(&key);
            self.skipped.insert(key);
        }
    }

    /// Closes files idle at their end, least recently active first, until
    /// the open files are within the limit with `room` slots to spare.
    fn close_idle(&mut self, room: usize) {
        let allowed = self.settings.max_open_files.saturating_sub(room);
        let open = self.open_count();
        if open <= allowed {
            return;
        }
        let mut idle: Vec<(Instant, DiskKey)> = self
            .files
            .iter()
            .filter(|(_, watcher)| watcher.is_idle_at_end())
            .map(|(key, watcher)| (watcher.last_active(), *key))
            .collect();
        idle.sort();
        for (_, key) in idle.into_iter().take(open - allowed) {
            if let Some(watcher) = self.files.get_mut(&key) {
                watcher.close();
            }
        }
    }

    /// The queue has a batch: move its file's checkpoint and free its bytes.
    pub fn confirm(&mut self, confirmation: &Confirmation) {
        self.in_flight = self.in_flight.saturating_sub(confirmation.bytes);
        let Some(watcher) = self.files.get_mut(&confirmation.key) else {
            return;
        };
        if let Some(checkpoint) = watcher.confirm(confirmation) {
            self.checkpoints.confirm(checkpoint);
        }
    }

    /// Every complete record still held goes into batches now, for a
    /// shutdown. Unterminated lines and pending multiline records stay: on
    /// restart they are read again from their start. The exception is a file
    /// deleted while open: nothing can reach it after this process, so it is
    /// read to its end and finished first, whatever the budget.
    pub fn drain(&mut self, now: Instant, out: &mut Vec<OutgoingBatch>) {
        let deleted: Vec<DiskKey> = self
            .files
            .iter()
            .filter(|(_, watcher)| watcher.is_deleted_while_open())
            .map(|(key, _)| *key)
            .collect();
        for key in deleted {
            let Some(watcher) = self.files.get_mut(&key) else {
                continue;
            };
            let spec = &self.sources[watcher.source()];
            let mut report = PollReport::default();
            loop {
                let before = watcher.next_offset();
                // A deleted file is read whatever the open-file limit says.
                let mut unlimited = usize::MAX;
                let mut context = ReadContext {
                    spec,
                    settings: &self.settings,
                    checkpoints: &mut self.checkpoints,
                    buffer: &mut self.read_buffer,
                    now,
                    report: &mut report,
                };
                if let Some(old_content) = watcher.read_available(&mut context, &mut unlimited) {
                    self.in_flight += old_content.confirmation.bytes;
                    out.push(old_content);
                }
                // Empty the buffer into batches, or reading stops at its cap.
                if watcher.has_batch() {
                    let batch = watcher.take_batch(&spec.labels, &self.settings.host);
                    self.in_flight += batch.confirmation.bytes;
                    out.push(batch);
                }
                if watcher.next_offset() == before {
                    break;
                }
            }
            watcher.finish_content(now, &mut report);
            info!(path = %watcher.path().display(), "read a deleted file to its end before stopping");
        }
        for watcher in self.files.values_mut() {
            if watcher.has_batch() {
                let spec = &self.sources[watcher.source()];
                let batch = watcher.take_batch(&spec.labels, &self.settings.host);
                self.in_flight += batch.confirmation.bytes;
                out.push(batch);
            }
        }
    }

    /// Whether every batch sent has been confirmed.
    pub fn all_confirmed(&self) -> bool {
        self.in_flight == 0 && self.files.values().all(FileWatcher::all_confirmed)
    }

    /// Writes the checkpoints if they changed.
    pub fn persist(&mut self) -> Result<(), ShipperError> {
        self.checkpoints.persist()
    }
}

/// A tailer of `<logs>/app.log` with small test settings and its
/// checkpoints at `checkpoints`, for the crate's unit tests.
#[cfg(test)]
pub(crate) fn test_tailer(logs: &Path, checkpoints: &Path) -> Tailer {
    let source = SourceSpec {
        name: "app".into(),
        matcher: crate::discovery::FileMatcher::new(
            "app",
            &[logs.join("app.log").display().to_string()],
            &[],
        )
        .expect("glob"),
        labels: Default::default(),
        max_line_bytes: 1 << 16,
        multiline: None,
        include_compressed: false,
    };
    let settings = TailerSettings {
        host: "h".into(),
        batch_max_bytes: 1 << 20,
        batch_max_records: 1000,
        batch_max_wait: std::time::Duration::from_millis(10),
        buffer_bytes: 1 << 24,
        max_open_files: 100,
        read_chunk: 4096,
    };
    Tailer::new(
        settings,
        vec![source],
        crate::checkpoint::Checkpoints::load(checkpoints).expect("checkpoints"),
    )
}
