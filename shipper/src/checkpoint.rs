//! Where each file has been shipped up to, kept across restarts.
//!
//! An offset here means that every byte before it is confirmed by the queue.
//! It only moves after the publisher confirms a batch, so a crash can repeat
//! records (deduplicated downstream by event id) but never skip one.
//!
//! The file is versioned JSON. Each write goes to a temporary file, is
//! fsynced, renamed into place, and then the directory is fsynced. A crash
//! therefore leaves either the old checkpoints or the new ones.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use loghaul_durable::{DiskFull, Store};
use serde::{Deserialize, Serialize};

use crate::ShipperError;
use crate::identity::{DiskKey, Fingerprint};

const VERSION: u32 = 1;

/// One file's confirmed position.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileCheckpoint {
    /// Device and inode.
    pub key: DiskKey,
    /// The fingerprint taken when the file was first read.
    pub fingerprint: Fingerprint,
    /// Every byte before this offset is confirmed downstream.
    pub offset: u64,
    /// A fingerprint of the bytes just before `offset`. A restart resumes at
    /// `offset` only if they are still there: a file truncated and rewritten
    /// while the shipper was down is read again from the start instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tail: Option<Fingerprint>,
    /// How many times the file was found truncated or rewritten; part of the
    /// identity its events carry.
    #[serde(default)]
    pub epoch: u64,
    /// A gzip file read decompressed: `offset` counts decompressed bytes, so
    /// only the head fingerprint can be checked against the file.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub compressed: bool,
    /// A rotated copy never tailed here, already handed to the archive.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub archived: bool,
    /// Where the file was last seen.
    pub path: PathBuf,
}

#[derive(Serialize, Deserialize)]
struct OnDisk {
    version: u32,
    files: Vec<FileCheckpoint>,
}

/// The checkpoints of one shipper, held in memory and persisted on demand.
#[derive(Debug)]
pub struct Checkpoints {
    path: PathBuf,
    entries: BTreeMap<DiskKey, FileCheckpoint>,
    dirty: bool,
    /// The pause while the disk is full.
    full: DiskFull,
}

impl FileCheckpoint {
    /// Whether `file` is still the file this checkpoint describes, with the
    /// confirmed bytes in place.
    pub fn still_matches(&self, file: &std::fs::File) -> bool {
        if self.compressed {
            return self.fingerprint.matches(file);
        }
        let long_enough = file.metadata().is_ok_and(|stat| stat.len() >= self.offset);
        let tail_in_place = self.tail.is_none_or(|tail| {
            Fingerprint::of_range(file, self.offset, tail.len).is_ok_and(|again| again == tail)
        });
        long_enough && tail_in_place && self.fingerprint.matches(file)
    }
}

impl Checkpoints {
    /// Loads `path`, or starts empty when it does not exist yet.
    pub fn load(path: &Path) -> Result<Self, ShipperError> {
        let bytes = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Checkpoints {
                    path: path.to_owned(),
                    entries: BTreeMap::new(),
                    dirty: false,
                    full: DiskFull::new(Store::Checkpoints),
                });
            }
            Err(error) => return Err(ShipperError::io("read checkpoints", path, error)),
        };
        let corrupt = |reason: String| ShipperError::CorruptCheckpoint {
            path: path.to_owned(),
            reason,
        };
        let value: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|error| corrupt(error.to_string()))?;
        let version = value.get("version").and_then(serde_json::Value::as_u64);
        if version != Some(u64::from(VERSION)) {
            return Err(corrupt(format!(
                "version {version:?}, this build reads version {VERSION}"
            )));
        }
        let on_disk: OnDisk =
            serde_json::from_value(value).map_err(|error| corrupt(error.to_string()))?;
        let entries = on_disk
            .files
            .into_iter()
            .map(|entry| (entry.key, entry))
            .collect();
        Ok(Checkpoints {
            path: path.to_owned(),
            entries,
            dirty: false,
            full: DiskFull::new(Store::Checkpoints),
        })
    }

    /// The checkpoint of a file, if any.
    pub fn get(&self, key: &DiskKey) -> Option<&FileCheckpoint> {
        self.entries.get(key)
    }

    /// Records a confirmed position. A position never moves backwards for the
    /// same fingerprint; a new fingerprint (a reused inode, a truncated file)
    /// replaces the entry.
    pub fn confirm(&mut self, checkpoint: FileCheckpoint) {
        match self.entries.get(&checkpoint.key) {
            Some(existing)
                if existing.fingerprint == checkpoint.fingerprint
                    && existing.offset >= checkpoint.offset =>
            {
                if existing.path != checkpoint.path {
                    self.entries.insert(
                        checkpoint.key,
                        FileCheckpoint {
                            offset: existing.offset,
                            ..checkpoint
                        },
                    );
                    self.dirty = true;
                }
            }
            _ => {
                self.entries.insert(checkpoint.key, checkpoint);
                self.dirty = true;
            }
        }
    }

    /// Starts a file over at offset 0, whatever was confirmed before (it was
    /// truncated or rewritten). The file stays known, so a restart can still
    /// find it if it is rotated away.
    pub fn reset(&mut self, key: DiskKey, path: &Path, epoch: u64) {
        self.entries.insert(
            key,
            FileCheckpoint {
                key,
                fingerprint: Fingerprint::empty(),
                offset: 0,
                tail: None,
                epoch,
                compressed: false,
                archived: false,
                path: path.to_owned(),
            },
        );
        self.dirty = true;
    }

    /// Forgets a file that is gone for good.
    pub fn remove(&mut self, key: &DiskKey) {
        if self.entries.remove(key).is_some() {
            self.dirty = true;
        }
    }

    /// Whether something changed since the last write.
    pub fn is_dirty(&self) -> bool {
        self.dirty
    }

    /// Every entry.
    pub fn entries(&self) -> impl Iterator<Item = &FileCheckpoint> {
        self.entries.values()
    }

    /// Writes the checkpoints if anything changed since the last write.
    ///
    /// On a full disk nothing is lost: the file keeps its older positions
    /// (a restart reads those records again, and the indexer's dedup drops
    /// them), the change stays pending for the next call, and the pause is
    /// warned about and counted (`loghaul_disk_full_retries_total{store="checkpoints"}`).
    /// Other failures are errors.
    pub fn persist(&mut self) -> Result<(), ShipperError> {
        if !self.dirty {
            return Ok(());
        }
        let on_disk = OnDisk {
            version: VERSION,
            files: self.entries.values().cloned().collect(),
        };
        let bytes = serde_json::to_vec_pretty(&on_disk).unwrap_or_default();
        match loghaul_durable::write_atomically(&self.path, &bytes) {
            Ok(()) => {
                self.full.cleared();
                self.dirty = false;
                Ok(())
            }
            Err(error) if loghaul_durable::is_full_io(&error) => {
                self.full.hit(&error);
                Ok(())
            }
            Err(error) => Err(ShipperError::io("write checkpoints", &self.path, error)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checkpoint(inode: u64, hash: u64, offset: u64) -> FileCheckpoint {
        FileCheckpoint {
            key: DiskKey { device: 1, inode },
            fingerprint: Fingerprint { hash, len: 10 },
            offset,
            tail: None,
            epoch: 0,
            compressed: false,
            archived: false,
            path: PathBuf::from(format!("/var/log/{inode}.log")),
        }
    }

    #[test]
    fn survives_a_reload() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("state/checkpoints.json");
        let mut checkpoints = Checkpoints::load(&path).expect("missing file is empty");
        checkpoints.confirm(checkpoint(7, 1, 100));
        checkpoints.confirm(checkpoint(8, 2, 5));
        checkpoints.persist().expect("persist");
        assert!(
            !loghaul_durable::temporary_path(&path).exists(),
            "the temporary file was renamed"
        );
        let reloaded = Checkpoints::load(&path).expect("reload");
        assert_eq!(
            reloaded.get(&DiskKey {
                device: 1,
                inode: 7
            }),
            Some(&checkpoint(7, 1, 100))
        );
        assert_eq!(reloaded.entries().count(), 2);
    }

    #[test]
    fn positions_never_move_backwards_for_the_same_file() {
        let mut checkpoints = Checkpoints::load(Path::new("/nonexistent/c.json")).expect("empty");
        checkpoints.confirm(checkpoint(7, 1, 100));
        checkpoints.confirm(checkpoint(7, 1, 50));
        assert_eq!(
            checkpoints
                .get(&DiskKey {
                    device: 1,
                    inode: 7
                })
                .map(|c| c.offset),
            Some(100)
        );
        // A new fingerprint on the same inode is a new file.
        checkpoints.confirm(checkpoint(7, 9, 3));
        assert_eq!(
            checkpoints
                .get(&DiskKey {
                    device: 1,
                    inode: 7
                })
                .map(|c| c.offset),
            Some(3)
        );
    }

    #[test]
    fn a_full_disk_keeps_the_change_pending_and_never_fails() {
        let tmpfs = loghaul_testkit::Tmpfs::mount("1m");
        let path = tmpfs.path().join("checkpoints.json");
        let mut checkpoints = Checkpoints::load(&path).expect("empty");
        checkpoints.confirm(checkpoint(7, 1, 100));
        checkpoints.persist().expect("room at first");
        let ballast = tmpfs.fill();
        let before = loghaul_durable::retries(Store::Checkpoints);
        for inode in 8..2_000 {
            checkpoints.confirm(checkpoint(inode, 2, 5));
        }
        checkpoints.persist().expect("a full disk is not an error");
        assert!(checkpoints.is_dirty(), "the change waits for space");
        assert!(loghaul_durable::retries(Store::Checkpoints) > before);
        assert_eq!(
            Checkpoints::load(&path)
                .expect("old file")
                .entries()
                .count(),
            1,
            "the file on disk keeps its older content, whole"
        );
        std::fs::remove_file(ballast).expect("space returns");
        checkpoints.persist().expect("persist");
        assert!(!checkpoints.is_dirty());
        assert_eq!(
            Checkpoints::load(&path)
                .expect("new file")
                .entries()
                .count(),
            1_993
        );
    }

    #[test]
    fn corrupt_or_future_files_are_refused_with_the_path() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("checkpoints.json");
        std::fs::write(&path, b"{not json").expect("write");
        let error = Checkpoints::load(&path).expect_err("corrupt");
        assert!(
            error.to_string().contains("checkpoints.json is unreadable"),
            "{error}"
        );
        std::fs::write(&path, br#"{"version": 9, "files": []}"#).expect("write");
        let error = Checkpoints::load(&path).expect_err("future version");
        assert!(error.to_string().contains("version Some(9)"), "{error}");
    }
}
