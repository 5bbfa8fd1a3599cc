//! One file being tailed, like Vector's `FileWatcher`: its handle, where
//! reading stands, truncation and rewrite detection, gzip, records and
//! multiline, and the batch being built.
//!
//! The [`Tailer`](super::Tailer) decides which file is read when; a
//! [`FileWatcher`] knows what reading its file means. Its state is in a few
//! parts: where the file is (`Place`), which content is read (`Content`),
//! the handle and where reading stands (`Reading`), the batch being built
//! (`PendingBatch`) and how far batches went (`Delivery`).
//!
//! - `read`: reading, plain or gzip, truncation, records and multiline;
//! - `content`: the fingerprint, epoch and tail that tell a rewrite apart;
//! - `batch`: the batch being built;
//! - `gzip`: a gzip file read once, decompressed.

use std::fs::File;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Instant;

use loghaul_model::RotationReason;
use tracing::debug;

use super::{Confirmation, PollReport, ROTATE_WAIT, SourceSpec, TailerSettings};
use crate::checkpoint::FileCheckpoint;
use crate::identity::{DiskKey, Fingerprint};
use crate::multiline::MultilineMerger;
use crate::records::RecordSplitter;
use batch::PendingBatch;
use content::{Content, TAIL_CHECK_BYTES};
use gzip::GzipState;

mod batch;
mod content;
mod gzip;
mod read;

pub(super) use read::ReadContext;

/// Where reading a file starts.
pub(super) struct Resume {
    offset: u64,
    /// `None` until the first read takes one.
    fingerprint: Option<Fingerprint>,
    epoch: u64,
    /// The checkpoint's fingerprint of the bytes before `offset`.
    tail: Option<Fingerprint>,
}

impl Resume {
    /// Where the checkpoint stands.
    pub(super) fn from_checkpoint(checkpoint: &FileCheckpoint) -> Self {
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

    /// At 0, for content never read, under `epoch`.
    pub(super) fn from_start(epoch: u64) -> Self {
        Resume {
            offset: 0,
            fingerprint: None,
            epoch,
            tail: None,
        }
    }

    /// Where reading starts.
    pub(super) fn offset(&self) -> u64 {
        self.offset
    }
}

#[derive(Debug, PartialEq, Eq, Clone, Copy)]
enum Presence {
    /// At a path the globs match.
    Matched,
    /// Renamed away or deleted since this moment.
    Orphaned(Instant),
}

/// Where the file is, and where it was written.
#[derive(Debug)]
struct Place {
    /// Where it is read.
    path: PathBuf,
    presence: Presence,
    /// The last path the globs matched, named in the archive.
    source_path: PathBuf,
    /// Set when our own rotation renamed it, with why.
    rotated: Option<RotationReason>,
}

/// The open handle, and where reading stands.
#[derive(Debug)]
struct Reading {
    file: Option<File>,
    /// Bytes to records; its next offset is where reading goes on.
    splitter: RecordSplitter,
    merger: Option<MultilineMerger>,
    /// For a gzip file read decompressed: its decoder and progress.
    gzip: Option<GzipState>,
    /// Found to be compressed at its first read: to be dropped and skipped.
    compressed: bool,
    last_active: Instant,
}

/// How far the batches of the content went.
#[derive(Debug)]
struct Delivery {
    /// Offset up to which batches were sent (confirmed or not).
    sent_until: u64,
    /// Offset up to which the queue has them.
    confirmed: u64,
}

impl Delivery {
    fn at(offset: u64) -> Self {
        Delivery {
            sent_until: offset,
            confirmed: offset,
        }
    }
}

/// One file being tailed.
#[derive(Debug)]
pub(super) struct FileWatcher {
    key: DiskKey,
    /// Its source, as an index into the tailer's.
    source: usize,
    place: Place,
    content: Content,
    reading: Reading,
    batch: PendingBatch,
    delivery: Delivery,
}

impl FileWatcher {
    /// Watches the file `key` at `path`, a live file of source number
    /// `source`, open or waiting closed for a slot, from `resume`.
    pub(super) fn new(
        key: DiskKey,
        path: PathBuf,
        file: Option<File>,
        source: usize,
        spec: &SourceSpec,
        resume: Resume,
        now: Instant,
    ) -> Self {
        let Resume {
            offset,
            fingerprint,
            epoch,
            tail: resume_tail,
        } = resume;
        let merger = spec.multiline.as_ref().map(|(rule, timeout)| {
            MultilineMerger::new(rule.clone(), *timeout, spec.max_line_bytes)
        });
        debug!(path = %path.display(), offset, "watching file");
        FileWatcher {
            key,
            source,
            place: Place {
                source_path: path.clone(),
                path,
                presence: Presence::Matched,
                rotated: None,
            },
            content: Content::new(fingerprint, epoch, resume_tail),
            reading: Reading {
                file,
                splitter: RecordSplitter::new(offset, spec.max_line_bytes),
                merger,
                gzip: None,
                compressed: false,
                last_active: now,
            },
            batch: PendingBatch::new(offset),
            delivery: Delivery::at(offset),
        }
    }

    /// The file's key.
    pub(super) fn key(&self) -> DiskKey {
        self.key
    }

    /// Its source, as an index into the tailer's.
    pub(super) fn source(&self) -> usize {
        self.source
    }

    /// Where it is read.
    pub(super) fn path(&self) -> &Path {
        &self.place.path
    }

    /// The last path the globs matched.
    pub(super) fn source_path(&self) -> &Path {
        &self.place.source_path
    }

    /// Why it was rotated: ours when our own rotation renamed it.
    pub(super) fn rotation_reason(&self) -> RotationReason {
        self.place.rotated.unwrap_or(RotationReason::External)
    }

    /// Its fingerprint; the empty one before the first read.
    pub(super) fn fingerprint(&self) -> Fingerprint {
        self.content.fingerprint.unwrap_or_else(Fingerprint::empty)
    }

    /// Its epoch, incremented each time it is found truncated.
    pub(super) fn epoch(&self) -> u64 {
        self.content.epoch
    }

    /// Where reading goes on.
    pub(super) fn next_offset(&self) -> u64 {
        self.reading.splitter.next_offset()
    }

    /// Offset up to which the queue has its batches.
    pub(super) fn confirmed_offset(&self) -> u64 {
        self.delivery.confirmed
    }

    /// When it was last read from.
    pub(super) fn last_active(&self) -> Instant {
        self.reading.last_active
    }

    /// Record bytes read and not yet sent.
    pub(super) fn held_bytes(&self) -> u64 {
        self.batch.record_bytes() as u64
    }

    /// Whether it holds records not yet sent.
    pub(super) fn has_batch(&self) -> bool {
        !self.batch.is_empty()
    }

    /// Whether it has a handle open.
    pub(super) fn is_open(&self) -> bool {
        self.reading.file.is_some()
    }

    /// Gives its handle up.
    pub(super) fn close(&mut self) {
        self.reading.file = None;
    }

    /// Whether it is at a path the globs match.
    pub(super) fn is_matched(&self) -> bool {
        self.place.presence == Presence::Matched
    }

    /// Whether it was renamed away or deleted.
    pub(super) fn is_orphaned(&self) -> bool {
        matches!(self.place.presence, Presence::Orphaned(_))
    }

    /// Whether it is a gzip file read decompressed.
    pub(super) fn is_gzip(&self) -> bool {
        self.reading.gzip.is_some()
    }

    /// Whether it was found compressed at its first read, to be dropped.
    pub(super) fn is_compressed(&self) -> bool {
        self.reading.compressed
    }

    /// It is a gzip file: read it decompressed.
    pub(super) fn read_as_gzip(&mut self) {
        self.reading.gzip = Some(GzipState::default());
    }

    /// Our own rotation renamed it, for `reason`.
    pub(super) fn mark_rotated(&mut self, reason: RotationReason) {
        self.place.rotated = Some(reason);
    }

    /// Found after a restart beside `source_path`, where it was written: it
    /// was rotated away while the shipper was down.
    pub(super) fn rotated_while_down(&mut self, source_path: PathBuf, now: Instant) {
        self.place.presence = Presence::Orphaned(now);
        self.place.source_path = source_path;
    }

    /// A scan found it at `path`, a rotated name or not.
    pub(super) fn seen_at(&mut self, path: &Path, rotated_name: bool, now: Instant) {
        let place = &mut self.place;
        if place.path != path {
            debug!(from = %place.path.display(), to = %path.display(), "file renamed");
            if rotated_name && place.presence == Presence::Matched {
                // Rotated by others within the globs (logrotate's
                // `app.log.1`): finish it like one renamed away.
                place.source_path = place.path.clone();
                place.path = path.to_owned();
                place.presence = Presence::Orphaned(now);
                return;
            }
            place.path = path.to_owned();
        }
        if rotated_name && matches!(place.presence, Presence::Orphaned(_)) {
            return;
        }
        place.presence = Presence::Matched;
        place.source_path = place.path.clone();
        self.content.verify_on_next_read();
    }

    /// No glob matches it any more: it is read to its end. Whether it was
    /// live until now.
    pub(super) fn vanished(&mut self, now: Instant) -> bool {
        let place = &mut self.place;
        if place.presence != Presence::Matched {
            return false;
        }
        debug!(path = %place.path.display(), "file renamed away or deleted; reading it to its end");
        place.presence = Presence::Orphaned(now);
        place.source_path = place.path.clone();
        true
    }

    /// A closed file that vanished was found again at `path`.
    pub(super) fn reopen_at(&mut self, path: PathBuf, file: File) {
        self.place.path = path;
        self.reading.file = Some(file);
    }

    /// Bytes its file has beyond its confirmed offset.
    pub(super) fn lag(&self) -> u64 {
        let confirmed = self.delivery.confirmed;
        let size = std::fs::metadata(&self.place.path)
            .map(|stat| stat.len())
            .unwrap_or(confirmed);
        size.saturating_sub(confirmed)
    }

    /// Whether it is closed at its path with bytes beyond where reading
    /// stopped.
    pub(super) fn waits_for_slot(&self) -> bool {
        self.reading.file.is_none()
            && self.place.presence == Presence::Matched
            && self.grew_at_path()
    }

    /// Whether the file at its path is still this one, with bytes beyond
    /// where reading stopped.
    fn grew_at_path(&self) -> bool {
        std::fs::metadata(&self.place.path).is_ok_and(|stat| {
            DiskKey::from_metadata(&stat) == self.key
                && stat.len() > self.reading.splitter.next_offset()
        })
    }

    /// Whether it is open at a path the globs match and read to its end: it
    /// can give its slot up.
    pub(super) fn is_idle_at_end(&self) -> bool {
        self.place.presence == Presence::Matched
            && self.reading.file.as_ref().is_some_and(|file| {
                file.metadata()
                    .is_ok_and(|stat| stat.len() == self.reading.splitter.next_offset())
            })
    }

    /// Whether it is open and deleted.
    pub(super) fn is_deleted_while_open(&self) -> bool {
        self.reading
            .file
            .as_ref()
            .is_some_and(|file| file.metadata().is_ok_and(|stat| stat.nlink() == 0))
    }

    /// Whether every batch sent of it was confirmed.
    pub(super) fn all_confirmed(&self) -> bool {
        self.delivery.confirmed >= self.delivery.sent_until
    }

    /// Whether it is orphaned, finished and confirmed: nothing of it is left.
    pub(super) fn is_done(&self) -> bool {
        self.is_orphaned()
            && self.reading.file.is_none()
            && self.batch.is_empty()
            && self.all_confirmed()
            && !self.reading.splitter.has_pending()
    }

    /// Whether its batch is big enough or old enough to go out.
    pub(super) fn batch_due(&self, settings: &TailerSettings, now: Instant) -> bool {
        self.batch.is_due(settings, now)
    }

    /// The queue has a batch of it: the checkpoint that now holds, unless
    /// the batch is of an older epoch.
    pub(super) fn confirm(&mut self, confirmation: &Confirmation) -> Option<FileCheckpoint> {
        if self.content.epoch != confirmation.epoch {
            return None;
        }
        self.delivery.confirmed = self.delivery.confirmed.max(confirmation.end_offset);
        let compressed = self.reading.gzip.is_some();
        let tail = self
            .reading
            .file
            .as_ref()
            .filter(|_| !compressed)
            .and_then(|file| {
                Fingerprint::of_range(file, confirmation.end_offset, TAIL_CHECK_BYTES as u64).ok()
            });
        Some(FileCheckpoint {
            key: confirmation.key,
            fingerprint: confirmation.fingerprint,
            offset: confirmation.end_offset,
            tail,
            epoch: confirmation.epoch,
            compressed,
            archived: false,
            path: confirmation.path.clone(),
        })
    }

    /// Finishes an orphaned file that has stayed at its end for
    /// [`ROTATE_WAIT`], or at once in a `hurry`: its last partial line and
    /// multiline record go out. Whether it finished.
    pub(super) fn finish_if_gone(&mut self, now: Instant, hurry: bool) -> bool {
        let Presence::Orphaned(since) = self.place.presence else {
            return false;
        };
        let gzip_done = self
            .reading
            .gzip
            .as_ref()
            .is_some_and(GzipState::is_complete);
        let at_end = gzip_done
            || self.reading.file.as_ref().is_none_or(|file| {
                file.metadata()
                    .is_ok_and(|stat| stat.len() <= self.reading.splitter.next_offset())
            });
        let waited = now.duration_since(since.max(self.reading.last_active)) >= ROTATE_WAIT;
        if !at_end || !(waited || hurry) {
            return false;
        }
        self.finish_content(now, &mut PollReport::default());
        self.reading.file = None;
        true
    }
}
