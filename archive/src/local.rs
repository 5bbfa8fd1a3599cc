//! A directory as an object store.
//!
//! Objects are plain files at `<root>/<key>`, so `zcat` works on them; their
//! metadata is JSON at `<root>/.loghaul-meta/<key>.json`. A write goes to
//! `<root>/.loghaul-tmp/` first, is fsynced, and is then hard-linked into
//! place: `link` fails when the target exists, which makes the write atomic
//! and create-only even against a concurrent writer.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use crate::digest::{digest_file, outcome_for_existing};
use crate::{
    ArchiveError, CONTENT_SHA256, Metadata, ObjectInfo, ObjectReader, ObjectStore, PutOutcome,
    validate_key,
};

const META_DIR: &str = ".loghaul-meta";
const TMP_DIR: &str = ".loghaul-tmp";

/// Objects in a local directory.
pub struct LocalStore {
    root: PathBuf,
}

impl LocalStore {
    /// A store rooted at `root`, created on first write.
    pub fn new(root: &Path) -> Self {
        LocalStore {
            root: root.to_owned(),
        }
    }

    fn object_path(&self, key: &str) -> Result<PathBuf, ArchiveError> {
        validate_key(key)?;
        Ok(self.root.join(key))
    }

    /// The directory a listing of `prefix` starts in: the part of the
    /// prefix up to its last `/`, so only that subtree is walked.
    fn prefix_dir(&self, prefix: &str) -> Result<PathBuf, ArchiveError> {
        let dir = prefix.rsplit_once('/').map_or("", |(dir, _)| dir);
        if dir.is_empty() {
            return Ok(self.root.clone());
        }
        validate_key(dir)?;
        Ok(self.root.join(dir))
    }

    fn meta_path(&self, key: &str) -> PathBuf {
        self.root.join(META_DIR).join(format!("{key}.json"))
    }
}

fn read_metadata(path: &Path) -> Metadata {
    std::fs::read(path)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_default()
}

fn fsync_dir(dir: &Path) -> Result<(), ArchiveError> {
    std::fs::File::open(dir)
        .and_then(|handle| handle.sync_all())
        .map_err(|error| ArchiveError::io("fsync directory", dir, error))
}

fn create_parent(path: &Path) -> Result<(), ArchiveError> {
    match path.parent() {
        Some(parent) => std::fs::create_dir_all(parent)
            .map_err(|error| ArchiveError::io("create directory", parent, error)),
        None => Ok(()),
    }
}

/// Writes `bytes` to `path` through a fsynced temporary file in `tmp_dir`
/// (kept out of the listed tree) and a rename.
fn write_atomically(path: &Path, bytes: &[u8], tmp_dir: &Path) -> Result<(), ArchiveError> {
    use std::io::Write as _;
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    create_parent(path)?;
    let temporary = tmp_dir.join(format!(
        "{}-{}.tmp",
        std::process::id(),
        COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    loghaul_durable::replace_via(path, &temporary, |out| out.write_all(bytes))
        .map_err(|error| ArchiveError::io("write", path, error))
}

#[async_trait::async_trait]
impl ObjectStore for LocalStore {
    fn describe(&self) -> String {
        format!("file://{}", self.root.display())
    }

    async fn put_file(
        &self,
        key: &str,
        path: &Path,
        metadata: &Metadata,
    ) -> Result<PutOutcome, ArchiveError> {
        let target = self.object_path(key)?;
        let digest = digest_file(path).await?;
        if target.exists() {
            return outcome_for_existing(key, &digest_file(&target).await?, &digest);
        }
        let mut metadata = metadata.clone();
        metadata.insert(CONTENT_SHA256.into(), digest.sha256.clone());
        let (source, root, meta_path) = (path.to_owned(), self.root.clone(), self.meta_path(key));
        let target_for_write = target.clone();
        let linked = tokio::task::spawn_blocking(move || -> Result<bool, ArchiveError> {
            let tmp_dir = root.join(TMP_DIR);
            std::fs::create_dir_all(&tmp_dir)
                .map_err(|error| ArchiveError::io("create directory", &tmp_dir, error))?;
            let meta_json = serde_json::to_vec_pretty(&metadata).unwrap_or_default();
            write_atomically(&meta_path, &meta_json, &tmp_dir)?;
            let tmp = tempfile::NamedTempFile::new_in(&tmp_dir)
                .map_err(|error| ArchiveError::io("create temporary file", &tmp_dir, error))?;
            std::fs::copy(&source, tmp.path())
                .map_err(|error| ArchiveError::io("copy", &source, error))?;
            tmp.as_file()
                .sync_all()
                .map_err(|error| ArchiveError::io("fsync", tmp.path(), error))?;
            create_parent(&target_for_write)?;
            match std::fs::hard_link(tmp.path(), &target_for_write) {
                Ok(()) => {}
                Err(error) if error.kind() == ErrorKind::AlreadyExists => return Ok(false),
                Err(error) => return Err(ArchiveError::io("link", &target_for_write, error)),
            }
            if let Some(parent) = target_for_write.parent() {
                fsync_dir(parent)?;
            }
            Ok(true)
        })
        .await
        .map_err(|error| ArchiveError::io("write", path, std::io::Error::other(error)))??;
        if !linked {
            // Another writer won the race between our check and our link.
            return outcome_for_existing(key, &digest_file(&target).await?, &digest);
        }
        Ok(PutOutcome::Created)
    }

    async fn get(&self, key: &str) -> Result<ObjectReader, ArchiveError> {
        let path = self.object_path(key)?;
        match tokio::fs::File::open(&path).await {
            Ok(file) => Ok(Box::new(file)),
            Err(error) if error.kind() == ErrorKind::NotFound => Err(ArchiveError::NotFound {
                key: key.to_owned(),
                store: self.describe(),
            }),
            Err(error) => Err(ArchiveError::io("open", &path, error)),
        }
    }

    async fn head(&self, key: &str) -> Result<Option<ObjectInfo>, ArchiveError> {
        let path = self.object_path(key)?;
        match tokio::fs::metadata(&path).await {
            Ok(stat) if stat.is_file() => Ok(Some(ObjectInfo {
                key: key.to_owned(),
                size: stat.len(),
                metadata: read_metadata(&self.meta_path(key)),
                retention: None,
            })),
            Ok(_) => Ok(None),
            Err(error) if error.kind() == ErrorKind::NotFound => Ok(None),
            Err(error) => Err(ArchiveError::io("stat", &path, error)),
        }
    }

    async fn list_children(&self, prefix: &str) -> Result<Vec<String>, ArchiveError> {
        let dir = self.prefix_dir(prefix)?;
        tokio::task::spawn_blocking(move || {
            let entries = match std::fs::read_dir(&dir) {
                Ok(entries) => entries,
                Err(error) if error.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
                Err(error) => return Err(ArchiveError::io("list", &dir, error)),
            };
            let mut names = Vec::new();
            for entry in entries {
                let entry = entry.map_err(|error| ArchiveError::io("list", &dir, error))?;
                let name = entry.file_name().to_string_lossy().into_owned();
                let is_dir = entry
                    .file_type()
                    .map_err(|error| ArchiveError::io("stat", &entry.path(), error))?
                    .is_dir();
                if is_dir && name != META_DIR && name != TMP_DIR {
                    names.push(name);
                }
            }
            names.sort();
            Ok(names)
        })
        .await
        .map_err(|error| ArchiveError::io("list", Path::new(""), std::io::Error::other(error)))?
    }

    async fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>, ArchiveError> {
        let root = self.root.clone();
        let start = self.prefix_dir(prefix)?;
        let prefix = prefix.to_owned();
        tokio::task::spawn_blocking(move || {
            let mut found = Vec::new();
            let mut pending = vec![start];
            while let Some(dir) = pending.pop() {
                let entries = match std::fs::read_dir(&dir) {
                    Ok(entries) => entries,
                    Err(error) if error.kind() == ErrorKind::NotFound => continue,
                    Err(error) => return Err(ArchiveError::io("list", &dir, error)),
                };
                for entry in entries {
                    let entry = entry.map_err(|error| ArchiveError::io("list", &dir, error))?;
                    let path = entry.path();
                    let Ok(relative) = path.strip_prefix(&root) else {
                        continue;
                    };
                    let key = relative.to_string_lossy().into_owned();
                    if key == META_DIR || key == TMP_DIR {
                        continue;
                    }
                    let kind = entry
                        .file_type()
                        .map_err(|error| ArchiveError::io("stat", &path, error))?;
                    if kind.is_dir() {
                        pending.push(path);
                    } else if kind.is_file() && key.starts_with(&prefix) {
                        let size = entry
                            .metadata()
                            .map_err(|error| ArchiveError::io("stat", &path, error))?
                            .len();
                        found.push(ObjectInfo {
                            key,
                            size,
                            metadata: Metadata::new(),
                            retention: None,
                        });
                    }
                }
            }
            found.sort_by(|a, b| a.key.cmp(&b.key));
            Ok(found)
        })
        .await
        .map_err(|error| ArchiveError::io("list", Path::new(""), std::io::Error::other(error)))?
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::StoreOptions;

    /// A directory ignores part sizes: every write is one local copy.
    async fn factory(_options: StoreOptions) -> (Arc<dyn ObjectStore>, tempfile::TempDir) {
        let root = tempfile::tempdir().expect("tempdir");
        (Arc::new(LocalStore::new(&root.path().join("store"))), root)
    }

    crate::archive_contract_tests!(factory);
}
