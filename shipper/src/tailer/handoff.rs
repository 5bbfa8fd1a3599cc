//! The hand-off of rotated files to the archive: files rotated away (by us
//! or by others) once read to their end and confirmed, and rotated copies
//! this shipper never tailed, each once.
//!
//! A file stays pending until the caller says the archive's spool holds it
//! ([`Handoff::handed_over`]); only then does its checkpoint say
//! `archived`. So a crash, or a spool that cannot be written (a full
//! disk), between the two hands it over again after the restart: at least
//! once, never lost (the archive's keys make a second copy harmless).

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use loghaul_model::RotationReason;
use tracing::info;

use super::scan::find_beside;
use super::watcher::FileWatcher;
use crate::checkpoint::{Checkpoints, FileCheckpoint};
use crate::identity::{DiskKey, Fingerprint, file_identity, looks_compressed};

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

/// A finished file and the checkpoint it gets once handed over.
#[derive(Debug)]
struct Pending {
    file: FinishedFile,
    checkpoint: FileCheckpoint,
}

/// Rotated files on their way to the archive.
#[derive(Debug, Default)]
pub(super) struct Handoff {
    /// Rotated files read to their end and confirmed, not handed over yet.
    pending: Vec<Pending>,
    /// Rotated copies the globs match but that were never live here: not
    /// tailed (their lines were shipped from the live file).
    ignored_rotated: HashSet<DiskKey>,
}

impl Handoff {
    /// Rotated files waiting to be handed over, oldest first.
    pub(super) fn pending(&self) -> Vec<FinishedFile> {
        self.pending
            .iter()
            .map(|pending| pending.file.clone())
            .collect()
    }

    /// The archive's spool holds `file`: its checkpoint now says archived,
    /// so it is never handed over again.
    pub(super) fn handed_over(&mut self, file: &FinishedFile, checkpoints: &mut Checkpoints) {
        if let Some(index) = self
            .pending
            .iter()
            .position(|pending| &pending.file == file)
        {
            let pending = self.pending.remove(index);
            checkpoints.confirm(pending.checkpoint);
        }
    }

    /// A scan found a rotated name that no watcher follows.
    pub(super) fn rotated_copy_found(
        &mut self,
        key: DiskKey,
        path: &Path,
        checkpoints: &mut Checkpoints,
    ) {
        if self.ignored_rotated.insert(key) {
            self.archive_copy_once(key, path, checkpoints);
        }
    }

    /// Forgets the ignored rotated copies a scan no longer finds.
    pub(super) fn retain_seen(&mut self, seen: impl Fn(&DiskKey) -> bool) {
        self.ignored_rotated.retain(|key| seen(key));
    }

    /// An orphaned file finished and confirmed is let go. Renamed away, not
    /// deleted, it goes to the archive, and the checkpoint remembers that,
    /// so it is never handed over twice.
    pub(super) fn let_go(&mut self, watcher: FileWatcher, checkpoints: &mut Checkpoints) {
        let key = watcher.key();
        info!(path = %watcher.path().display(), offset = watcher.confirmed_offset(), "file finished and confirmed; letting it go");
        let rotated = if watcher.is_gzip() {
            None
        } else {
            find_beside(key, watcher.path())
        };
        let Some((rotated_path, _)) = rotated else {
            checkpoints.remove(&key);
            return;
        };
        let fingerprint = watcher.fingerprint();
        self.ignored_rotated.insert(key);
        self.pending.push(Pending {
            file: FinishedFile {
                rotated_path: rotated_path.clone(),
                source_path: watcher.source_path().to_owned(),
                identity: file_identity(key, &fingerprint, watcher.epoch()),
                reason: watcher.rotation_reason(),
            },
            checkpoint: FileCheckpoint {
                key,
                fingerprint,
                offset: watcher.confirmed_offset(),
                tail: None,
                epoch: watcher.epoch(),
                compressed: false,
                archived: true,
                path: rotated_path,
            },
        });
    }

    /// A rotated copy this shipper never tailed (logrotate's copytruncate
    /// copy, history from before it started): its lines were shipped from
    /// the live file, so it is not tailed, but it is archived, once. The
    /// checkpoint remembers that across restarts.
    fn archive_copy_once(&mut self, key: DiskKey, path: &Path, checkpoints: &mut Checkpoints) {
        if checkpoints.get(&key).is_some_and(|entry| entry.archived) {
            return;
        }
        let Ok(file) = crate::identity::open_as(path, key) else {
            return;
        };
        let size = file.metadata().map(|stat| stat.len()).unwrap_or(0);
        if size == 0 || looks_compressed(&file) {
            return;
        }
        let Ok(fingerprint) = Fingerprint::take(&file, size) else {
            return;
        };
        info!(path = %path.display(), "archiving a rotated copy; it is not tailed, its lines came from the live file");
        self.pending.push(Pending {
            file: FinishedFile {
                rotated_path: path.to_owned(),
                source_path: crate::discovery::live_name(path),
                identity: file_identity(key, &fingerprint, 0),
                reason: RotationReason::External,
            },
            checkpoint: FileCheckpoint {
                key,
                fingerprint,
                offset: size,
                tail: None,
                epoch: 0,
                compressed: false,
                archived: true,
                path: path.to_owned(),
            },
        });
    }
}
