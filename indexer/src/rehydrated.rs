//! Rehydrated indexes: archived files brought back into their own index
//! for a while (`loghaul archive reindex`).
//!
//! Each lives in `<data_dir>/rehydrated/<id>/` with its own `index/0/<day>`
//! directories and a `rehydration.json` saying when it expires. The
//! directory appears under its final name only once it is complete (it is
//! built as `<id>.partial`, whose builder holds an `flock` on its
//! `building.lock`; a partial one whose lock nobody holds was left by a
//! killed build and is deleted at the next sweep). Searches include it when asked
//! (`rehydrated=1`); once its time is up it is deleted, at the next search
//! that looks or the indexer's next retention pass.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tracing::{info, warn};

/// The directory under `data_dir`.
pub const DIR: &str = "rehydrated";
/// The description file in each rehydration.
pub const FILE: &str = "rehydration.json";
/// Suffix of a rehydration being built.
pub const PARTIAL: &str = ".partial";
/// The file a builder keeps locked inside its partial directory.
pub const LOCK: &str = "building.lock";

/// Creates `<data_dir>/rehydrated/<id>.partial` and locks it for the caller,
/// who keeps the returned file open while it builds.
pub fn start_building(data_dir: &Path, id: &str) -> std::io::Result<(PathBuf, std::fs::File)> {
    let partial = root(data_dir).join(format!("{id}{PARTIAL}"));
    std::fs::create_dir_all(&partial)?;
    let lock = std::fs::File::create(partial.join(LOCK))?;
    lock.lock()?;
    Ok((partial, lock))
}

/// Deletes `path`, a partial rehydration, when no live build holds its lock.
fn remove_if_abandoned(path: &Path) {
    let Ok(lock) = std::fs::File::open(path.join(LOCK)) else {
        return;
    };
    if lock.try_lock().is_err() {
        return;
    }
    match std::fs::remove_dir_all(path) {
        Ok(()) => {
            info!(path = %path.display(), "a rehydration left unfinished by a stopped build: deleted")
        }
        Err(error) => {
            warn!(path = %path.display(), %error, "cannot delete an unfinished rehydration")
        }
    }
}

/// What one rehydration holds and until when.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Rehydration {
    /// Its directory name.
    pub id: String,
    /// When it was made, ns since the epoch.
    pub created_unix_nano: i64,
    /// When it is deleted, ns since the epoch.
    pub expires_unix_nano: i64,
    /// The archive it came from.
    pub archive: String,
    /// The selection (host, source, range) it was made from.
    pub selection: serde_json::Value,
    /// Archived files read.
    pub files: u64,
    /// Events indexed.
    pub events: u64,
    /// Events not indexed because the live index still holds them.
    pub skipped_live: u64,
}

/// `<data_dir>/rehydrated`.
pub fn root(data_dir: &Path) -> PathBuf {
    data_dir.join(DIR)
}

/// The complete, unexpired rehydrations under `data_dir`, oldest first.
/// Expired ones are deleted on the way.
pub fn current(data_dir: &Path, now: i64) -> Vec<(PathBuf, Rehydration)> {
    let Ok(entries) = std::fs::read_dir(root(data_dir)) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if !path.is_dir() {
            continue;
        }
        if name.ends_with(PARTIAL) {
            remove_if_abandoned(&path);
            continue;
        }
        let described = std::fs::read(path.join(FILE))
            .ok()
            .and_then(|bytes| serde_json::from_slice::<Rehydration>(&bytes).ok());
        let Some(rehydration) = described else {
            warn!(path = %path.display(), "a rehydration without a readable {FILE}: not searched");
            continue;
        };
        if rehydration.expires_unix_nano <= now {
            match std::fs::remove_dir_all(&path) {
                Ok(()) => {
                    info!(id = %rehydration.id, events = rehydration.events, "rehydration expired: deleted")
                }
                Err(error) => {
                    warn!(path = %path.display(), %error, "cannot delete an expired rehydration")
                }
            }
            continue;
        }
        found.push((path, rehydration));
    }
    found.sort_by_key(|(_, rehydration)| rehydration.created_unix_nano);
    found
}

/// Deletes expired rehydrations; returns how many remain.
pub fn sweep(data_dir: &Path) -> usize {
    current(data_dir, loghaul_model::time::now_unix_nano()).len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn make(data_dir: &Path, id: &str, expires: i64) -> PathBuf {
        let dir = root(data_dir).join(id);
        std::fs::create_dir_all(dir.join("index/0")).expect("mkdir");
        let rehydration = Rehydration {
            id: id.into(),
            created_unix_nano: 1,
            expires_unix_nano: expires,
            archive: "file:///a".into(),
            selection: serde_json::json!({}),
            files: 1,
            events: 2,
            skipped_live: 0,
        };
        std::fs::write(
            dir.join(FILE),
            serde_json::to_vec(&rehydration).expect("json"),
        )
        .expect("write");
        dir
    }

    #[test]
    fn a_partial_one_is_kept_while_its_build_holds_the_lock_and_deleted_after() {
        let data = tempfile::tempdir().expect("tempdir");
        let (partial, lock) = start_building(data.path(), "x").expect("start");
        assert!(current(data.path(), 60).is_empty());
        assert!(partial.exists(), "a build in progress is left alone");
        drop(lock);
        assert!(current(data.path(), 60).is_empty());
        assert!(!partial.exists(), "an abandoned build is deleted");
    }

    #[test]
    fn expired_ones_are_deleted_and_partial_ones_ignored() {
        let data = tempfile::tempdir().expect("tempdir");
        let kept = make(data.path(), "a", 100);
        let gone = make(data.path(), "b", 50);
        std::fs::create_dir_all(root(data.path()).join(format!("c{PARTIAL}"))).expect("mkdir");
        let current = current(data.path(), 60);
        assert_eq!(current.len(), 1);
        assert_eq!(current[0].0, kept);
        assert!(!gone.exists(), "the expired one is deleted");
        assert!(root(data.path()).join(format!("c{PARTIAL}")).exists());
    }
}
