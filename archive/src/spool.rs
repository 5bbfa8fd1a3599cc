//! The durable list of rotated files waiting to be archived.
//!
//! Each request is a JSON file in `<dir>/pending/`, written atomically
//! (temporary file, fsync, rename, fsync of the directory), so it survives a
//! crash and a restart. It is removed only after its object is in the store
//! and verified. A request the store refuses for good (a conflicting object
//! under its key) moves to `<dir>/failed/` with the reason, to be looked at
//! by a person; it is never dropped. `<dir>/work/` holds compressed copies
//! being uploaded; they are rebuilt from the raw file after a restart.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use loghaul_model::{FileIdentity, RotationReason};
use serde::{Deserialize, Serialize};

use crate::ArchiveError;

/// What to archive.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArchiveRequest {
    /// The rotated raw file on this host.
    pub raw_path: PathBuf,
    /// The path the file had while it was written, for the key and metadata.
    pub source_path: String,
    /// The host it came from.
    pub host: String,
    /// Its identity.
    pub file: FileIdentity,
    /// Why it was rotated.
    pub reason: RotationReason,
}

/// A pending request and its spool id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpoolEntry {
    /// Orders entries oldest first; names the spool file.
    pub id: String,
    /// The request.
    pub request: ArchiveRequest,
}

/// The spool directory.
#[derive(Clone, Debug)]
pub struct Spool {
    dir: PathBuf,
}

/// Every `*.json` file of `dir`, parsed; an unreadable one is an error.
fn read_json_dir<T: serde::de::DeserializeOwned>(
    dir: &Path,
) -> Result<Vec<(PathBuf, T)>, ArchiveError> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|error| ArchiveError::io("list", dir, error))? {
        let path = entry
            .map_err(|error| ArchiveError::io("list", dir, error))?
            .path();
        if path.extension().is_none_or(|ext| ext != "json") {
            continue;
        }
        let bytes = std::fs::read(&path).map_err(|error| ArchiveError::io("read", &path, error))?;
        let value = serde_json::from_slice(&bytes)
            .map_err(|error| ArchiveError::io("parse", &path, std::io::Error::other(error)))?;
        found.push((path, value));
    }
    Ok(found)
}

/// [`loghaul_durable::write_atomically`], as an archive error.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), ArchiveError> {
    loghaul_durable::write_atomically(path, bytes)
        .map_err(|error| ArchiveError::io("write", path, error))
}

impl Spool {
    /// Opens (and creates) the spool under `dir`, sweeping temporary files a
    /// crash left behind.
    pub fn open(dir: &Path) -> Result<Self, ArchiveError> {
        for sub in ["pending", "failed", "work", "uploads"] {
            let path = dir.join(sub);
            std::fs::create_dir_all(&path)
                .map_err(|error| ArchiveError::io("create directory", &path, error))?;
        }
        let spool = Spool {
            dir: dir.to_owned(),
        };
        for sub in ["pending", "work"] {
            for entry in std::fs::read_dir(dir.join(sub))
                .into_iter()
                .flatten()
                .flatten()
            {
                let path = entry.path();
                let stale = path
                    .extension()
                    .is_some_and(|ext| ext == "tmp" || ext == "partial")
                    || (sub == "work" && path.extension().is_some_and(|ext| ext == "gz"));
                if stale {
                    let _ = std::fs::remove_file(path);
                }
            }
        }
        Ok(spool)
    }

    /// Where compressed copies are prepared.
    pub fn work_dir(&self) -> PathBuf {
        self.dir.join("work")
    }

    /// Adds a request; it is on disk when this returns.
    pub fn enqueue(&self, request: &ArchiveRequest) -> Result<SpoolEntry, ArchiveError> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|elapsed| elapsed.as_nanos())
            .unwrap_or(0);
        let id = format!(
            "{nanos:024}-{:06}",
            COUNTER.fetch_add(1, Ordering::Relaxed) % 1_000_000
        );
        let bytes = serde_json::to_vec_pretty(request).unwrap_or_default();
        write_atomically(&self.dir.join("pending").join(format!("{id}.json")), &bytes)?;
        Ok(SpoolEntry {
            id,
            request: request.clone(),
        })
    }

    /// Every pending request, oldest first. Unreadable entries are reported
    /// as errors, not skipped.
    pub fn pending(&self) -> Result<Vec<SpoolEntry>, ArchiveError> {
        let mut entries: Vec<SpoolEntry> =
            read_json_dir::<ArchiveRequest>(&self.dir.join("pending"))?
                .into_iter()
                .map(|(path, request)| SpoolEntry {
                    id: path
                        .file_stem()
                        .map(|stem| stem.to_string_lossy().into_owned())
                        .unwrap_or_default(),
                    request,
                })
                .collect();
        entries.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(entries)
    }

    /// The request is archived and verified: forget it.
    pub fn complete(&self, id: &str) -> Result<(), ArchiveError> {
        let path = self.dir.join("pending").join(format!("{id}.json"));
        std::fs::remove_file(&path).map_err(|error| ArchiveError::io("remove", &path, error))?;
        let dir = self.dir.join("pending");
        std::fs::File::open(&dir)
            .and_then(|handle| handle.sync_all())
            .map_err(|error| ArchiveError::io("fsync directory", &dir, error))
    }

    /// The store refused the request for good: keep it aside with the reason.
    pub fn fail(&self, id: &str, reason: &str) -> Result<(), ArchiveError> {
        let from = self.dir.join("pending").join(format!("{id}.json"));
        let to = self.dir.join("failed").join(format!("{id}.json"));
        std::fs::rename(&from, &to).map_err(|error| ArchiveError::io("move", &from, error))?;
        write_atomically(
            &self.dir.join("failed").join(format!("{id}.reason")),
            reason.as_bytes(),
        )
    }

    /// Multipart uploads begun and not known to be finished: `(key, upload id)`.
    ///
    /// A crash during the journal write leaves the record in its temporary
    /// file; a complete one counts too (a killed process loses nothing it
    /// wrote), a partial one cannot name its upload and is skipped.
    pub fn open_uploads(&self) -> Result<Vec<(String, String)>, ArchiveError> {
        let dir = self.dir.join("uploads");
        let mut uploads: Vec<(String, String)> = read_json_dir::<UploadRecord>(&dir)?
            .into_iter()
            .map(|(_, record)| (record.key, record.upload_id))
            .collect();
        for entry in std::fs::read_dir(&dir)
            .map_err(|error| ArchiveError::io("list", &dir, error))?
            .flatten()
        {
            let path = entry.path();
            if path.extension().is_some_and(|ext| ext == "tmp")
                && let Ok(record) = serde_json::from_slice::<UploadRecord>(
                    &std::fs::read(&path).unwrap_or_default(),
                )
                && !uploads.iter().any(|(_, id)| *id == record.upload_id)
            {
                uploads.push((record.key, record.upload_id));
            }
        }
        Ok(uploads)
    }

    fn upload_path(&self, upload_id: &str) -> PathBuf {
        // Upload ids are opaque; keep the file name safe.
        let safe: String = upload_id
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        self.dir.join("uploads").join(format!("{safe}.json"))
    }

    /// Requests set aside as failed.
    pub fn failed_count(&self) -> usize {
        std::fs::read_dir(self.dir.join("failed"))
            .map(|entries| {
                entries
                    .flatten()
                    .filter(|entry| entry.path().extension().is_some_and(|ext| ext == "json"))
                    .count()
            })
            .unwrap_or(0)
    }
}

#[derive(Serialize, Deserialize)]
struct UploadRecord {
    key: String,
    upload_id: String,
}

impl crate::UploadJournal for Spool {
    fn started(&self, key: &str, upload_id: &str) -> Result<(), ArchiveError> {
        let record = UploadRecord {
            key: key.to_owned(),
            upload_id: upload_id.to_owned(),
        };
        write_atomically(
            &self.upload_path(upload_id),
            &serde_json::to_vec(&record).unwrap_or_default(),
        )
    }

    fn finished(&self, upload_id: &str) -> Result<(), ArchiveError> {
        let path = self.upload_path(upload_id);
        for path in [path.with_extension("tmp"), path] {
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
                Err(error) => return Err(ArchiveError::io("remove", &path, error)),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(name: &str) -> ArchiveRequest {
        ArchiveRequest {
            raw_path: PathBuf::from(format!("/var/log/{name}")),
            source_path: "/var/log/app.log".into(),
            host: "web-1".into(),
            file: FileIdentity {
                device: 1,
                inode: 2,
                fingerprint: 3,
            },
            reason: RotationReason::Size,
        }
    }

    #[test]
    fn entries_survive_a_reopen_in_order_until_completed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let spool = Spool::open(dir.path()).expect("open");
        let first = spool.enqueue(&request("a.1")).expect("enqueue");
        let second = spool.enqueue(&request("a.2")).expect("enqueue");
        let reopened = Spool::open(dir.path()).expect("reopen");
        let pending = reopened.pending().expect("pending");
        assert_eq!(pending, vec![first.clone(), second.clone()]);
        reopened.complete(&first.id).expect("complete");
        reopened.fail(&second.id, "conflict").expect("fail");
        assert!(reopened.pending().expect("pending").is_empty());
        assert_eq!(reopened.failed_count(), 1);
        let reason = std::fs::read_to_string(
            dir.path()
                .join("failed")
                .join(format!("{}.reason", second.id)),
        );
        assert_eq!(reason.ok().as_deref(), Some("conflict"));
    }

    #[test]
    fn a_corrupt_entry_is_an_error_not_a_silent_skip() {
        let dir = tempfile::tempdir().expect("tempdir");
        let spool = Spool::open(dir.path()).expect("open");
        std::fs::write(dir.path().join("pending/broken.json"), b"{").expect("write");
        assert!(spool.pending().is_err());
    }
}
