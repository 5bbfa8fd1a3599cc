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

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use flate2::read::MultiGzDecoder;
use loghaul_model::{RawBatch, RawBatchEncoder, RotationReason, SourceLabels, codec};
use tracing::{debug, info, warn};

use crate::ShipperError;
use crate::checkpoint::{Checkpoints, FileCheckpoint};
use crate::discovery::{FileMatcher, looks_rotated};
use crate::identity::{DiskKey, Fingerprint, file_identity, looks_compressed, looks_gzip};
use crate::multiline::{MultilineMerger, MultilineRule};
use crate::records::{Line, RecordSplitter};

/// How long a rotated-away or deleted file is still watched at its end, in
/// case its writer has not reopened yet.
pub const ROTATE_WAIT: Duration = Duration::from_secs(5);

/// How many of the last bytes read are kept to detect rewritten files.
const TAIL_CHECK_BYTES: usize = 64;

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

/// Where reading a file starts.
struct Resume {
    offset: u64,
    /// `None` until the first read takes one.
    fingerprint: Option<Fingerprint>,
    epoch: u64,
    /// The checkpoint's fingerprint of the bytes before `offset`.
    tail: Option<Fingerprint>,
}

impl Resume {
    fn from_checkpoint(checkpoint: &FileCheckpoint) -> Self {
        // The fingerprint of zero bytes marks a file known but never read.
        let fingerprint =
            Some(checkpoint.fingerprint).filter(|fingerprint| !fingerprint.is_empty());
        Resume {
            offset: checkpoint.offset,
            fingerprint,
            epoch: checkpoint.epoch,
            tail: checkpoint.tail,
        }
    }
}

#[derive(Debug, PartialEq, Eq, Clone, Copy)]
enum Presence {
    /// At a path the globs match.
    Matched,
    /// Renamed away or deleted since this moment.
    Orphaned(Instant),
}

#[derive(Debug)]
struct Watched {
    source: usize,
    path: PathBuf,
    file: Option<File>,
    fingerprint: Option<Fingerprint>,
    epoch: u64,
    splitter: RecordSplitter,
    merger: Option<MultilineMerger>,
    /// Records read and not yet sent, encoded as they come.
    encoder: RawBatchEncoder,
    record_bytes: usize,
    batch_end: u64,
    batch_since: Option<Instant>,
    presence: Presence,
    /// Set by a scan: check on the next read that the file still starts with
    /// the fingerprinted bytes (a copytruncate followed by fast writes can
    /// grow the file past the old offset before the shrink is seen).
    verify_fingerprint: bool,
    /// The last bytes read, up to [`TAIL_CHECK_BYTES`]: a file that still has
    /// them just before our offset was not rewritten, even where its first
    /// bytes are the same as before.
    tail: Vec<u8>,
    /// Until the first read fills `tail`: the checkpoint's fingerprint of the
    /// bytes before the resume offset, for the same check after a restart.
    resume_tail: Option<Fingerprint>,
    last_active: Instant,
    /// Found to be compressed at its first read: to be dropped and skipped.
    compressed: bool,
    /// For a gzip file read decompressed: its decoder and progress.
    gzip: Option<GzipState>,
    /// The last path the globs matched, named in the archive.
    source_path: PathBuf,
    /// Set when our own rotation renamed it, with why.
    rotated: Option<RotationReason>,
    /// Offset up to which batches were sent (confirmed or not).
    sent_until: u64,
    confirmed: u64,
}

/// Tails every file of every source.
pub struct Tailer {
    settings: TailerSettings,
    sources: Vec<SourceSpec>,
    checkpoints: Checkpoints,
    files: BTreeMap<DiskKey, Watched>,
    in_flight: u64,
    /// Whether the first scan has looked for checkpointed files that were
    /// rotated away while the shipper was down.
    recovered: bool,
    /// Reused for every read.
    read_buffer: Vec<u8>,
    /// Compressed files found, not to be looked at again.
    skipped: std::collections::HashSet<DiskKey>,
    /// Rotated files read to their end and confirmed, for the archive.
    finished: Vec<FinishedFile>,
    /// A drain is on: rotated files finish at their end, without waiting.
    hurry: bool,
    /// `[shipper.rotate] rotated_patterns`, beside the built-in names.
    rotated_names: Option<globset::GlobSet>,
    /// Rotated copies the globs match but that were never live here: not
    /// tailed (their lines were shipped from the live file).
    ignored_rotated: std::collections::HashSet<DiskKey>,
}

/// A rotated file the tailer is done with: read to its end and confirmed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FinishedFile {
    /// Where the rotated file is now.
    pub rotated_path: PathBuf,
    /// The path it was written under.
    pub source_path: PathBuf,
    /// The identity its events carry.
    pub identity: loghaul_model::FileIdentity,
    /// Why it was rotated.
    pub reason: RotationReason,
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
        Tailer {
            settings,
            sources,
            checkpoints,
            files: BTreeMap::new(),
            in_flight: 0,
            recovered: false,
            read_buffer,
            skipped: std::collections::HashSet::new(),
            finished: Vec::new(),
            hurry: false,
            rotated_names: None,
            ignored_rotated: std::collections::HashSet::new(),
        }
    }

    /// Bytes sent but not confirmed.
    pub fn in_flight_bytes(&self) -> u64 {
        self.in_flight
    }

    /// Files being watched, and how many are open.
    pub fn file_counts(&self) -> (usize, usize) {
        (
            self.files.len(),
            self.files
                .values()
                .filter(|watched| watched.file.is_some())
                .count(),
        )
    }

    /// Bytes each watched file has beyond its confirmed offset, by path.
    pub fn lag(&self) -> Vec<(PathBuf, u64)> {
        self.files
            .values()
            .map(|watched| {
                let size = std::fs::metadata(&watched.path)
                    .map(|stat| stat.len())
                    .unwrap_or(watched.confirmed);
                (watched.path.clone(), size.saturating_sub(watched.confirmed))
            })
            .collect()
    }

    /// The host batches name.
    pub fn host(&self) -> &str {
        &self.settings.host
    }

    /// A rotated copy this shipper never tailed (logrotate's copytruncate
    /// copy, history from before it started): its lines were shipped from
    /// the live file, so it is not tailed, but it is archived, once. The
    /// checkpoint remembers that across restarts.
    fn archive_copy_once(&mut self, key: DiskKey, path: &Path) {
        if self
            .checkpoints
            .get(&key)
            .is_some_and(|entry| entry.archived)
        {
            return;
        }
        let Ok(file) = File::open(path) else { return };
        let size = file.metadata().map(|stat| stat.len()).unwrap_or(0);
        if size == 0 || looks_compressed(&file) {
            return;
        }
        let Ok(fingerprint) = Fingerprint::take(&file, size) else {
            return;
        };
        info!(path = %path.display(), "archiving a rotated copy; it is not tailed, its lines came from the live file");
        self.finished.push(FinishedFile {
            rotated_path: path.to_owned(),
            source_path: crate::discovery::live_name(path),
            identity: file_identity(key, &fingerprint, 0),
            reason: RotationReason::External,
        });
        self.checkpoints.confirm(FileCheckpoint {
            key,
            fingerprint,
            offset: size,
            tail: None,
            epoch: 0,
            compressed: false,
            archived: true,
            path: path.to_owned(),
        });
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
            .filter(|watched| matches!(watched.presence, Presence::Orphaned(_)))
            .count()
    }

    /// Rotated files finished since the last call.
    pub fn take_finished(&mut self) -> Vec<FinishedFile> {
        std::mem::take(&mut self.finished)
    }

    /// Paths of the files the globs match now (not gzip backfill).
    pub fn matched_paths(&self) -> Vec<PathBuf> {
        self.files
            .values()
            .filter(|watched| watched.presence == Presence::Matched && watched.gzip.is_none())
            .map(|watched| watched.path.clone())
            .collect()
    }

    /// Our own rotation renamed the file at `path`: remember why.
    pub fn mark_rotated(&mut self, path: &Path, reason: RotationReason) {
        // Only the live file: an older one rotated away keeps this path until
        // it is let go.
        if let Some(watched) = self
            .files
            .values_mut()
            .find(|watched| watched.presence == Presence::Matched && watched.path == path)
        {
            watched.rotated = Some(reason);
        }
    }

    /// Looks for files: new ones start (from their checkpoint or from 0),
    /// renamed ones follow their new path, vanished ones are orphaned.
    pub fn scan(&mut self, now: Instant) {
        let mut seen: HashMap<DiskKey, (PathBuf, usize)> = HashMap::new();
        for (index, source) in self.sources.iter().enumerate() {
            for path in source.matcher.scan() {
                let Ok(stat) = std::fs::metadata(&path) else {
                    continue;
                };
                seen.entry(DiskKey::from_metadata(&stat))
                    .or_insert((path, index));
            }
        }
        let known_before = self.files.len();
        for (key, (path, source)) in &seen {
            let rotated_name = looks_rotated(path, self.rotated_names.as_ref());
            match self.files.get_mut(key) {
                Some(watched) => {
                    if watched.path != *path {
                        debug!(from = %watched.path.display(), to = %path.display(), "file renamed");
                        if rotated_name && watched.presence == Presence::Matched {
                            // Rotated by others within the globs (logrotate's
                            // `app.log.1`): finish it like one renamed away.
                            watched.source_path = watched.path.clone();
                            watched.path = path.clone();
                            watched.presence = Presence::Orphaned(now);
                            continue;
                        }
                        watched.path = path.clone();
                    }
                    if rotated_name && matches!(watched.presence, Presence::Orphaned(_)) {
                        continue;
                    }
                    watched.presence = Presence::Matched;
                    watched.source_path = watched.path.clone();
                    watched.verify_fingerprint = true;
                }
                None if rotated_name => {
                    if self.ignored_rotated.insert(*key) {
                        self.archive_copy_once(*key, path);
                    }
                }
                None => self.start_watching(*key, path.clone(), *source, now),
            }
        }
        self.ignored_rotated.retain(|key| seen.contains_key(key));
        // A skipped compressed file that is gone frees its inode for reuse.
        self.skipped.retain(|key| seen.contains_key(key));
        let vanished: Vec<DiskKey> = self
            .files
            .keys()
            .filter(|key| !seen.contains_key(key))
            .copied()
            .collect();
        for key in vanished {
            let Some(watched) = self.files.get_mut(&key) else {
                continue;
            };
            if watched.presence == Presence::Matched {
                debug!(path = %watched.path.display(), "file renamed away or deleted; reading it to its end");
                watched.presence = Presence::Orphaned(now);
                watched.source_path = watched.path.clone();
                if watched.file.is_none() {
                    reopen_moved(key, watched);
                }
            }
        }
        if !self.recovered {
            self.recovered = true;
            self.recover_rotated(now);
        }
        if self.files.len() != known_before || self.checkpoints.is_dirty() {
            // A file rotated away before its first confirmation must still be
            // found after a crash: record new files on disk at once.
            if let Err(error) = self.checkpoints.persist() {
                warn!(%error, "cannot record newly found files in the checkpoints");
            }
        }
    }

    /// Files the checkpoints know that no glob matches any more were rotated
    /// away (or deleted) while the shipper was down. Look for each beside its
    /// old path and read it to its end; forget the ones that are gone.
    fn recover_rotated(&mut self, now: Instant) {
        let missing: Vec<FileCheckpoint> = self
            .checkpoints
            .entries()
            .filter(|entry| !self.files.contains_key(&entry.key))
            .cloned()
            .collect();
        for entry in missing {
            if entry.archived {
                if find_beside(entry.key, &entry.path).is_none() {
                    self.checkpoints.remove(&entry.key);
                }
                continue;
            }
            let Some((path, file)) = find_beside(entry.key, &entry.path) else {
                info!(path = %entry.path.display(), "checkpointed file is gone; forgetting it");
                self.checkpoints.remove(&entry.key);
                continue;
            };
            // Same inode beside our old path but other content (truncated and
            // rewritten): read it from the start rather than lose it.
            let resume = if entry.still_matches(&file) {
                Resume::from_checkpoint(&entry)
            } else {
                self.checkpoints.reset(entry.key, &path, entry.epoch + 1);
                Resume {
                    offset: 0,
                    fingerprint: None,
                    epoch: entry.epoch + 1,
                    tail: None,
                }
            };
            let source = self
                .sources
                .iter()
                .position(|spec| spec.matcher.matches(&entry.path))
                .unwrap_or(0);
            info!(from = %entry.path.display(), to = %path.display(), offset = resume.offset, "reading a file rotated while the shipper was down");
            self.watch(
                entry.key,
                path,
                Some(file),
                source,
                resume,
                Presence::Orphaned(now),
                now,
            );
            if let Some(watched) = self.files.get_mut(&entry.key) {
                watched.source_path = entry.path.clone();
            }
        }
    }

    fn start_watching(&mut self, key: DiskKey, path: PathBuf, source: usize, now: Instant) {
        if self.skipped.contains(&key) {
            return;
        }
        let file = match File::open(&path) {
            Ok(file) => file,
            Err(error) => {
                warn!(%error, path = %path.display(), "cannot open file; will try again at the next scan");
                return;
            }
        };
        let read_gzip =
            looks_compressed(&file) && self.sources[source].include_compressed && looks_gzip(&file);
        if looks_compressed(&file) && !read_gzip {
            info!(path = %path.display(), "skipping a compressed file (set include_compressed to read gzip files)");
            self.skipped.insert(key);
            return;
        }

        let resume = match self.checkpoints.get(&key) {
            // An archived rotated copy's inode now holding a live file is
            // never resumed: it is read from the start.
            Some(checkpoint) if !checkpoint.archived && checkpoint.still_matches(&file) => {
                Resume::from_checkpoint(checkpoint)
            }
            Some(checkpoint) => {
                info!(path = %path.display(), "file replaced or rewritten since its checkpoint; reading it from the start");
                let epoch = checkpoint.epoch + 1;
                self.checkpoints.reset(key, &path, epoch);
                Resume {
                    offset: 0,
                    fingerprint: None,
                    epoch,
                    tail: None,
                }
            }
            None => {
                // Known from the moment it is opened, so a restart can find it
                // again even if it is rotated away before anything is confirmed.
                self.checkpoints.reset(key, &path, 0);
                Resume {
                    offset: 0,
                    fingerprint: None,
                    epoch: 0,
                    tail: None,
                }
            }
        };
        // Beyond the open-file limit, a new file waits closed for a slot.
        let keep_open = self.open_count() < self.settings.max_open_files;
        self.watch(
            key,
            path,
            keep_open.then_some(file),
            source,
            resume,
            Presence::Matched,
            now,
        );
        if read_gzip && let Some(watched) = self.files.get_mut(&key) {
            watched.gzip = Some(GzipState::default());
        }
    }

    fn open_count(&self) -> usize {
        self.files
            .values()
            .filter(|watched| watched.file.is_some())
            .count()
    }

    #[allow(clippy::too_many_arguments)]
    fn watch(
        &mut self,
        key: DiskKey,
        path: PathBuf,
        file: Option<File>,
        source: usize,
        resume: Resume,
        presence: Presence,
        now: Instant,
    ) {
        let Resume {
            offset,
            fingerprint,
            epoch,
            tail: resume_tail,
        } = resume;
        let spec = &self.sources[source];
        let merger = spec.multiline.as_ref().map(|(rule, timeout)| {
            MultilineMerger::new(rule.clone(), *timeout, spec.max_line_bytes)
        });
        debug!(path = %path.display(), offset, "watching file");
        self.files.insert(
            key,
            Watched {
                source,
                path,
                file,
                fingerprint,
                epoch,
                splitter: RecordSplitter::new(offset, spec.max_line_bytes),
                merger,
                encoder: RawBatchEncoder::new(),
                record_bytes: 0,
                batch_end: offset,
                batch_since: None,
                presence,
                verify_fingerprint: false,
                tail: Vec::new(),
                resume_tail,
                compressed: false,
                gzip: None,
                source_path: PathBuf::new(),
                rotated: None,
                last_active: now,
                sent_until: offset,
                confirmed: offset,
            },
        );
        if let Some(watched) = self.files.get_mut(&key) {
            watched.source_path = watched.path.clone();
        }
    }

    /// Reads what is new, merges, batches, and emits the batches that are
    /// due into `out`.
    pub fn poll(&mut self, now: Instant, out: &mut Vec<OutgoingBatch>) -> PollReport {
        let mut report = PollReport::default();
        // Closed files with more to read wait for a slot; files idle at their
        // end give theirs up.
        let waiting = self
            .files
            .iter()
            .filter(|(key, watched)| waits_for_slot(**key, watched))
            .count();
        self.close_idle(waiting);
        let mut slots = self
            .settings
            .max_open_files
            .saturating_sub(self.open_count());
        let keys: Vec<DiskKey> = self.files.keys().copied().collect();
        // Record bytes held in batches not yet sent, kept up to date per file.
        let mut buffered: u64 = self
            .files
            .values()
            .map(|watched| watched.record_bytes as u64)
            .sum();
        for key in keys {
            if self.in_flight + buffered >= self.settings.buffer_bytes {
                report.throttled = true;
            }
            let Some(watched) = self.files.get_mut(&key) else {
                continue;
            };
            let held_before = watched.record_bytes as u64;
            if !report.throttled {
                let spec = &self.sources[watched.source];
                if let Some(old_content) = read_available(
                    key,
                    watched,
                    spec,
                    &self.settings,
                    &mut self.checkpoints,
                    now,
                    &mut report,
                    &mut slots,
                    &mut self.read_buffer,
                ) {
                    self.in_flight += old_content.confirmation.bytes;
                    out.push(old_content);
                }
            }
            if let Some(merger) = watched.merger.as_mut() {
                let mut lines = Vec::new();
                merger.flush_stale(now, &mut lines);
                add_lines(watched, lines, now, &mut report);
            }
            let finished = self.finish_if_gone(key, now);
            if let Some(watched) = self.files.get_mut(&key) {
                let due = watched.record_bytes >= self.settings.batch_max_bytes
                    || watched.encoder.len() as usize >= self.settings.batch_max_records
                    || watched.batch_since.is_some_and(|since| {
                        now.duration_since(since) >= self.settings.batch_max_wait
                    })
                    || finished;
                if due && !watched.encoder.is_empty() {
                    let batch = take_batch(
                        key,
                        watched,
                        &self.sources[watched.source],
                        &self.settings.host,
                    );
                    self.in_flight += batch.confirmation.bytes;
                    out.push(batch);
                }
            }
            let held_after = self
                .files
                .get(&key)
                .map_or(0, |watched| watched.record_bytes as u64);
            buffered = (buffered + held_after).saturating_sub(held_before);
        }
        self.close_idle(0);
        self.forget_finished();
        let compressed: Vec<DiskKey> = self
            .files
            .iter()
            .filter(|(_, watched)| watched.compressed)
            .map(|(key, _)| *key)
            .collect();
        for key in compressed {
            if let Some(watched) = self.files.remove(&key) {
                info!(path = %watched.path.display(), "skipping a compressed file; compressed files are not read");
            }
            self.checkpoints.remove(&key);
            self.skipped.insert(key);
        }
        report
    }

    /// Finishes an orphaned file that has stayed at its end for
    /// [`ROTATE_WAIT`]: its last partial line and multiline record go out.
    fn finish_if_gone(&mut self, key: DiskKey, now: Instant) -> bool {
        let Some(watched) = self.files.get_mut(&key) else {
            return false;
        };
        let Presence::Orphaned(since) = watched.presence else {
            return false;
        };
        let gzip_done = watched.gzip.as_ref().is_some_and(|gzip| gzip.complete);
        let at_end = gzip_done
            || watched.file.as_ref().is_none_or(|file| {
                file.metadata()
                    .is_ok_and(|stat| stat.len() <= watched.splitter.next_offset())
            });
        let waited = now.duration_since(since.max(watched.last_active)) >= ROTATE_WAIT;
        if !at_end || !(waited || self.hurry) {
            return false;
        }
        finish_content(watched, now, &mut PollReport::default());
        watched.file = None;
        true
    }

    fn forget_finished(&mut self) {
        let done: Vec<DiskKey> = self
            .files
            .iter()
            .filter(|(_, watched)| {
                matches!(watched.presence, Presence::Orphaned(_))
                    && watched.file.is_none()
                    && watched.encoder.is_empty()
                    && watched.confirmed >= watched.sent_until
                    && !watched.splitter.has_pending()
            })
            .map(|(key, _)| *key)
            .collect();
        for key in done {
            if let Some(watched) = self.files.remove(&key) {
                info!(path = %watched.path.display(), offset = watched.confirmed, "file finished and confirmed; letting it go");
                // Renamed away, not deleted: it goes to the archive, and the
                // checkpoint remembers that, so it is never handed over twice.
                let rotated = if watched.gzip.is_none() {
                    find_beside(key, &watched.path)
                } else {
                    None
                };
                let Some((rotated_path, _)) = rotated else {
                    self.checkpoints.remove(&key);
                    continue;
                };
                let fingerprint = watched.fingerprint.unwrap_or_else(Fingerprint::empty);
                self.finished.push(FinishedFile {
                    rotated_path: rotated_path.clone(),
                    source_path: watched.source_path.clone(),
                    identity: file_identity(key, &fingerprint, watched.epoch),
                    reason: watched.rotated.unwrap_or(RotationReason::External),
                });
                self.ignored_rotated.insert(key);
                self.checkpoints.confirm(FileCheckpoint {
                    key,
                    fingerprint,
                    offset: watched.confirmed,
                    tail: None,
                    epoch: watched.epoch,
                    compressed: false,
                    archived: true,
                    path: rotated_path,
                });
            }
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
            .filter(|(_, watched)| {
                watched.presence == Presence::Matched
                    && watched.file.as_ref().is_some_and(|file| {
                        file.metadata()
                            .is_ok_and(|stat| stat.len() == watched.splitter.next_offset())
                    })
            })
            .map(|(key, watched)| (watched.last_active, *key))
            .collect();
        idle.sort();
        for (_, key) in idle.into_iter().take(open - allowed) {
            if let Some(watched) = self.files.get_mut(&key) {
                watched.file = None;
            }
        }
    }

    /// The queue has a batch: move its file's checkpoint and free its bytes.
    pub fn confirm(&mut self, confirmation: &Confirmation) {
        self.in_flight = self.in_flight.saturating_sub(confirmation.bytes);
        let Some(watched) = self.files.get_mut(&confirmation.key) else {
            return;
        };
        if watched.epoch != confirmation.epoch {
            return;
        }
        watched.confirmed = watched.confirmed.max(confirmation.end_offset);
        let compressed = watched.gzip.is_some();
        let tail = watched
            .file
            .as_ref()
            .filter(|_| !compressed)
            .and_then(|file| {
                Fingerprint::of_range(file, confirmation.end_offset, TAIL_CHECK_BYTES as u64).ok()
            });
        self.checkpoints.confirm(FileCheckpoint {
            key: confirmation.key,
            fingerprint: confirmation.fingerprint,
            offset: confirmation.end_offset,
            tail,
            epoch: confirmation.epoch,
            compressed,
            archived: false,
            path: confirmation.path.clone(),
        });
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
            .filter(|(_, watched)| {
                watched
                    .file
                    .as_ref()
                    .is_some_and(|file| file.metadata().is_ok_and(|stat| stat.nlink() == 0))
            })
            .map(|(key, _)| *key)
            .collect();
        for key in deleted {
            let Some(watched) = self.files.get_mut(&key) else {
                continue;
            };
            let spec = &self.sources[watched.source];
            let mut report = PollReport::default();
            loop {
                let before = watched.splitter.next_offset();
                // A deleted file is read whatever the open-file limit says.
                let mut unlimited = usize::MAX;
                if let Some(old_content) = read_available(
                    key,
                    watched,
                    spec,
                    &self.settings,
                    &mut self.checkpoints,
                    now,
                    &mut report,
                    &mut unlimited,
                    &mut self.read_buffer,
                ) {
                    self.in_flight += old_content.confirmation.bytes;
                    out.push(old_content);
                }
                // Empty the buffer into batches, or reading stops at its cap.
                if !watched.encoder.is_empty() {
                    let batch = take_batch(key, watched, spec, &self.settings.host);
                    self.in_flight += batch.confirmation.bytes;
                    out.push(batch);
                }
                if watched.splitter.next_offset() == before {
                    break;
                }
            }
            finish_content(watched, now, &mut report);
            info!(path = %watched.path.display(), "read a deleted file to its end before stopping");
        }
        for (key, watched) in self.files.iter_mut() {
            if !watched.encoder.is_empty() {
                let batch = take_batch(
                    *key,
                    watched,
                    &self.sources[watched.source],
                    &self.settings.host,
                );
                self.in_flight += batch.confirmation.bytes;
                out.push(batch);
            }
        }
    }

    /// Whether every batch sent has been confirmed.
    pub fn all_confirmed(&self) -> bool {
        self.in_flight == 0
            && self
                .files
                .values()
                .all(|watched| watched.confirmed >= watched.sent_until)
    }

    /// Writes the checkpoints if they changed.
    pub fn persist(&mut self) -> Result<(), ShipperError> {
        self.checkpoints.persist()
    }
}

/// A closed file at its path with bytes beyond where reading stopped.
fn waits_for_slot(key: DiskKey, watched: &Watched) -> bool {
    watched.file.is_none()
        && watched.presence == Presence::Matched
        && std::fs::metadata(&watched.path).is_ok_and(|stat| {
            DiskKey::from_metadata(&stat) == key && stat.len() > watched.splitter.next_offset()
        })
}

/// Finds the file with `key` in the directory of `old_path`, where rotated
/// names live.
fn find_beside(key: DiskKey, old_path: &Path) -> Option<(PathBuf, File)> {
    let dir = old_path.parent().map(Path::to_path_buf).unwrap_or_default();
    for entry in std::fs::read_dir(&dir).ok()?.flatten() {
        if entry
            .metadata()
            .is_ok_and(|stat| stat.is_file() && DiskKey::from_metadata(&stat) == key)
            && let Ok(file) = File::open(entry.path())
        {
            return Some((entry.path(), file));
        }
    }
    None
}

/// A closed file vanished from its path: reopen it where it was rotated to.
fn reopen_moved(key: DiskKey, watched: &mut Watched) {
    match find_beside(key, &watched.path) {
        Some((path, file)) => {
            watched.path = path;
            watched.file = Some(file);
        }
        None => {
            warn!(path = %watched.path.display(), "a closed idle file was rotated and deleted before it was reopened")
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn read_available(
    key: DiskKey,
    watched: &mut Watched,
    spec: &SourceSpec,
    settings: &TailerSettings,
    checkpoints: &mut Checkpoints,
    now: Instant,
    report: &mut PollReport,
    slots: &mut usize,
    buffer: &mut [u8],
) -> Option<OutgoingBatch> {
    if watched.file.is_none() {
        // Closed (idle, or waiting for a slot): reopen only if it has more to
        // read at the same path and a slot is free.
        if *slots == 0 || watched.presence != Presence::Matched {
            return None;
        }
        let grew = std::fs::metadata(&watched.path).is_ok_and(|stat| {
            DiskKey::from_metadata(&stat) == key && stat.len() > watched.splitter.next_offset()
        });
        if !grew {
            return None;
        }
        match File::open(&watched.path) {
            Ok(file) => {
                watched.file = Some(file);
                *slots -= 1;
            }
            Err(_) => return None,
        }
    }
    if watched.gzip.is_some() {
        read_gzip(watched, settings, now, report, buffer);
        return None;
    }
    let file = watched.file.as_ref()?;
    let stat = file.metadata().ok()?;
    let size = stat.len();
    let rewritten = std::mem::take(&mut watched.verify_fingerprint)
        && (watched
            .fingerprint
            .is_some_and(|fingerprint| !fingerprint.matches(file))
            || !tail_still_there(
                file,
                &watched.tail,
                watched.resume_tail,
                watched.splitter.next_offset(),
            ));
    // After a truncation, go on to read the new content in the same call.
    let old_content = if size < watched.splitter.next_offset() || rewritten {
        truncated(key, watched, spec, settings, checkpoints, now, report)
    } else {
        None
    };
    let mut remaining = size - watched.splitter.next_offset();
    while remaining > 0 && watched.record_bytes < settings.batch_max_bytes * 2 {
        let want = remaining.min(buffer.len() as u64) as usize;
        let Some(file) = watched.file.as_ref() else {
            break;
        };
        let read = match file.read_at(&mut buffer[..want], watched.splitter.next_offset()) {
            Ok(0) => break,
            Ok(read) => read,
            Err(error) => {
                warn!(%error, path = %watched.path.display(), "read failed; will retry");
                break;
            }
        };
        if watched.fingerprint.is_none()
            && watched.splitter.next_offset() == 0
            && looks_compressed(file)
        {
            // Seen empty at first, then filled by a compressor.
            if spec.include_compressed && looks_gzip(file) {
                watched.gzip = Some(GzipState::default());
                read_gzip(watched, settings, now, report, buffer);
                return old_content;
            }
            watched.compressed = true;
            break;
        }
        if watched.fingerprint.is_none() {
            match Fingerprint::take(file, size) {
                Ok(fingerprint) => watched.fingerprint = Some(fingerprint),
                Err(_) => break,
            }
        }
        remember_tail(&mut watched.tail, &buffer[..read]);
        watched.resume_tail = None;
        if watched.merger.is_none() {
            // The hot path: records go straight from the read buffer into the
            // encoded batch, with no allocation per record.
            let Watched {
                splitter,
                encoder,
                record_bytes,
                batch_end,
                batch_since,
                ..
            } = &mut *watched;
            splitter.push_with(&buffer[..read], |record| {
                if encoder.is_empty() {
                    *batch_since = Some(now);
                }
                encoder.push(record.offset, record.bytes, record.truncated);
                *record_bytes += record.bytes.len();
                *batch_end = record.end_offset;
                report.records += 1;
            });
        } else {
            let mut lines = Vec::new();
            watched.splitter.push(&buffer[..read], &mut lines);
            let lines = merge(watched, lines, now);
            add_lines(watched, lines, now, report);
        }
        report.bytes_read += read as u64;
        remaining -= read as u64;
        watched.last_active = now;
    }
    if stat.nlink() == 0 && watched.presence == Presence::Matched {
        watched.presence = Presence::Orphaned(now);
    }
    old_content
}

/// A gzip file is read once, decompressed. Offsets count decompressed bytes.
#[derive(Default)]
struct GzipState {
    decoder: Option<Box<MultiGzDecoder<BufReader<File>>>>,
    /// The whole stream was read.
    complete: bool,
    /// Size of the compressed file when decoding last failed; decoding is
    /// tried again only once the file has changed (still being written).
    failed_at_size: Option<u64>,
}

impl std::fmt::Debug for GzipState {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("GzipState")
            .field("complete", &self.complete)
            .field("failed_at_size", &self.failed_at_size)
            .finish_non_exhaustive()
    }
}

fn read_gzip(
    watched: &mut Watched,
    settings: &TailerSettings,
    now: Instant,
    report: &mut PollReport,
    buffer: &mut [u8],
) {
    let Some(file) = watched.file.as_ref() else {
        return;
    };
    let size = file.metadata().map(|stat| stat.len()).unwrap_or(0);
    let Some(state) = watched.gzip.as_mut() else {
        return;
    };
    if state.complete || state.failed_at_size == Some(size) {
        return;
    }
    if watched.fingerprint.is_none() {
        watched.fingerprint = Fingerprint::take(file, size).ok();
    }
    if state.decoder.is_none() {
        let Ok(mut handle) = file.try_clone() else {
            return;
        };
        if handle.seek(SeekFrom::Start(0)).is_err() {
            return;
        }
        let mut decoder = MultiGzDecoder::new(BufReader::new(handle));
        // Skip what earlier runs or attempts already read.
        let skip = watched.splitter.next_offset();
        match std::io::copy(&mut (&mut decoder).take(skip), &mut std::io::sink()) {
            Ok(skipped) if skipped == skip => state.decoder = Some(Box::new(decoder)),
            _ => {
                state.failed_at_size = Some(size);
                return;
            }
        }
    }
    while watched.record_bytes < settings.batch_max_bytes * 2 {
        let Some(decoder) = watched
            .gzip
            .as_mut()
            .and_then(|state| state.decoder.as_mut())
        else {
            return;
        };
        match decoder.read(buffer) {
            Ok(0) => {
                finish_content(watched, now, report);
                if let Some(state) = watched.gzip.as_mut() {
                    state.complete = true;
                    state.decoder = None;
                }
                info!(path = %watched.path.display(), bytes = watched.splitter.next_offset(), "read a gzip file to its end");
                return;
            }
            Ok(read) => {
                let mut lines = Vec::new();
                watched.splitter.push(&buffer[..read], &mut lines);
                let lines = merge(watched, lines, now);
                add_lines(watched, lines, now, report);
                report.bytes_read += read as u64;
                watched.last_active = now;
            }
            Err(error) => {
                // Most often still being written; corrupt files wait here too.
                if let Some(state) = watched.gzip.as_mut() {
                    if state.failed_at_size.is_none()
                        && error.kind() != std::io::ErrorKind::UnexpectedEof
                    {
                        warn!(%error, path = %watched.path.display(), "cannot decompress; will retry when the file changes");
                    }
                    state.decoder = None;
                    state.failed_at_size = Some(size);
                }
                return;
            }
        }
    }
}

fn remember_tail(tail: &mut Vec<u8>, chunk: &[u8]) {
    if chunk.len() >= TAIL_CHECK_BYTES {
        tail.clear();
        tail.extend_from_slice(&chunk[chunk.len() - TAIL_CHECK_BYTES..]);
        return;
    }
    tail.extend_from_slice(chunk);
    let excess = tail.len().saturating_sub(TAIL_CHECK_BYTES);
    tail.drain(..excess);
}

/// Whether the bytes just before `offset` are still the ones we read there
/// (or, before any read since a restart, the ones the checkpoint recorded).
fn tail_still_there(
    file: &File,
    tail: &[u8],
    resume_tail: Option<Fingerprint>,
    offset: u64,
) -> bool {
    if tail.is_empty() {
        return resume_tail.is_none_or(|expected| {
            Fingerprint::of_range(file, offset, expected.len).is_ok_and(|found| found == expected)
        });
    }
    if offset < tail.len() as u64 {
        return true;
    }
    let mut found = vec![0u8; tail.len()];
    file.read_exact_at(&mut found, offset - tail.len() as u64)
        .is_ok_and(|()| found == tail)
}

/// The file shrank: finish what was read of the old content, then start
/// again at 0 under a new epoch.
fn truncated(
    key: DiskKey,
    watched: &mut Watched,
    spec: &SourceSpec,
    settings: &TailerSettings,
    checkpoints: &mut Checkpoints,
    now: Instant,
    report: &mut PollReport,
) -> Option<OutgoingBatch> {
    info!(path = %watched.path.display(), offset = watched.splitter.next_offset(), "file truncated; reading it again from the start");
    finish_content(watched, now, report);
    // What is buffered belongs to the old content: it goes out now, with the
    // old fingerprint and epoch. Confirmations of that epoch are ignored from
    // here on.
    let old_content =
        (!watched.encoder.is_empty()).then(|| take_batch(key, watched, spec, &settings.host));
    watched.epoch += 1;
    watched.fingerprint = None;
    watched.splitter = RecordSplitter::new(0, spec.max_line_bytes);
    watched.sent_until = 0;
    watched.confirmed = 0;
    watched.batch_end = 0;
    watched.tail.clear();
    checkpoints.reset(key, &watched.path, watched.epoch);
    if let Err(error) = checkpoints.persist() {
        warn!(%error, "cannot record the truncation in the checkpoints");
    }
    old_content
}

/// The content will not grow again (rotated away, deleted, truncated, a gzip
/// stream at its end): its unterminated last line and pending multiline
/// record go into the batch.
fn finish_content(watched: &mut Watched, now: Instant, report: &mut PollReport) {
    let mut lines = Vec::new();
    watched.splitter.finish(&mut lines);
    let mut merged = merge(watched, lines, now);
    if let Some(merger) = watched.merger.as_mut() {
        merger.flush(&mut merged);
    }
    add_lines(watched, merged, now, report);
}

fn merge(watched: &mut Watched, lines: Vec<Line>, now: Instant) -> Vec<Line> {
    let Some(merger) = watched.merger.as_mut() else {
        return lines;
    };
    let mut merged = Vec::new();
    for line in lines {
        merger.push(line, now, &mut merged);
    }
    merged
}

fn add_lines(watched: &mut Watched, lines: Vec<Line>, now: Instant, report: &mut PollReport) {
    for line in lines {
        if watched.encoder.is_empty() {
            watched.batch_since = Some(now);
        }
        watched.record_bytes += line.record.bytes.len();
        watched.batch_end = line.end_offset;
        watched.encoder.push(
            line.record.offset,
            &line.record.bytes,
            line.record.flags.truncated,
        );
        report.records += 1;
    }
}

fn take_batch(key: DiskKey, watched: &mut Watched, spec: &SourceSpec, host: &str) -> OutgoingBatch {
    let fingerprint = watched.fingerprint.unwrap_or_else(Fingerprint::empty);
    let records = watched.encoder.len();
    let bytes = std::mem::take(&mut watched.record_bytes) as u64;
    watched.batch_since = None;
    watched.sent_until = watched.batch_end;
    let read_time_unix_nano = loghaul_model::time::now_unix_nano();
    let source = watched.path.display().to_string();
    let encoded = watched.encoder.finish(
        host,
        &source,
        &file_identity(key, &fingerprint, watched.epoch),
        &spec.labels,
        read_time_unix_nano,
    );
    OutgoingBatch {
        encoded,
        host: host.to_owned(),
        source,
        records,
        confirmation: Confirmation {
            key,
            fingerprint,
            epoch: watched.epoch,
            path: watched.path.clone(),
            end_offset: watched.batch_end,
            bytes,
        },
    }
}
