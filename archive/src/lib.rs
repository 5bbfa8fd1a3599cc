//! Where rotated raw files are kept: the [`ObjectStore`] trait and its two
//! backends, [`S3Store`] (any S3-compatible server, through aws-sdk-s3) and
//! [`LocalStore`] (a directory, the default of `loghaul run`).
//!
//! The contract, which [`contract`] checks against both:
//!
//! - [`ObjectStore::put_file`] is create-only. An existing key with the same
//!   content is [`PutOutcome::AlreadyPresent`]; with other content it is
//!   [`ArchiveError::Conflict`] and nothing is overwritten.
//! - Every object carries the sha256 of its bytes in its metadata
//!   ([`CONTENT_SHA256`]), computed by us and, on S3, sent as the request's
//!   `x-amz-checksum-sha256` so the server checks it on arrival.
//! - Large files go up in parts ([`StoreOptions::multipart_threshold`]),
//!   holding one part in memory at a time.
//! - [`ObjectStore::get`] streams; [`ObjectStore::verify`] reads an object back
//!   and compares size and sha256.
//! - Keys never climb out of the store: `..`, empty segments and absolute keys
//!   are refused.
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use loghaul_archive::{LocalStore, ObjectStore, PutOutcome};
//! let root = tempfile::tempdir().unwrap();
//! let store = LocalStore::new(root.path());
//! let file = root.path().join("app.log");
//! std::fs::write(&file, b"line 1\n").unwrap();
//! let outcome = store.put_file("web-1/app.log.gz", &file, &Default::default()).await?;
//! assert_eq!(outcome, PutOutcome::Created);
//! assert_eq!(store.head("web-1/app.log.gz").await?.map(|info| info.size), Some(7));
//! # Ok::<(), loghaul_archive::ArchiveError>(())
//! # }).unwrap();
//! ```

mod archiver;
pub mod catalog;
pub mod check;
pub mod contract;
mod digest;
mod error;
mod key;
mod local;
mod prepare;
pub mod restore;
mod s3;
mod spool;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

pub use archiver::{Archived, Archiver, DrainReport, manifest_metadata};
pub use digest::{FileDigest, digest_file};
pub use error::ArchiveError;
pub use key::validate_key;
pub use local::LocalStore;
use loghaul_config::{ArchiveTarget, Config};
pub use prepare::{Prepared, default_gzip_threads, locate_raw, prepare};
pub use s3::{S3Connection, S3Store};
pub use spool::{ArchiveRequest, Spool, SpoolEntry};
use tokio::io::AsyncRead;

/// Metadata key holding the lowercase hex sha256 of the object's bytes.
pub const CONTENT_SHA256: &str = "content-sha256";

/// User metadata stored with an object: lowercase keys, text values.
pub type Metadata = BTreeMap<String, String>;

/// What `put_file` did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PutOutcome {
    /// The object was written.
    Created,
    /// The same content was already there under that key.
    AlreadyPresent,
}

/// An object's size and metadata.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectInfo {
    /// The key.
    pub key: String,
    /// Size in bytes.
    pub size: u64,
    /// User metadata; empty in listings, which do not carry it.
    pub metadata: Metadata,
    /// Object Lock retention, where the store reports one (S3 `head`).
    pub retention: Option<Retention>,
}

/// An object's write-once retention.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Retention {
    /// `GOVERNANCE` or `COMPLIANCE`.
    pub mode: String,
    /// Until when, RFC 3339.
    pub until: String,
}

/// A streaming reader of an object's bytes.
pub type ObjectReader = Box<dyn AsyncRead + Send + Unpin>;

/// Tunables shared by the backends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoreOptions {
    /// Files at least this large are uploaded in parts.
    pub multipart_threshold: u64,
    /// Size of each part.
    pub part_size: u64,
    /// Object Lock retention set on every upload.
    pub object_lock: Option<loghaul_config::ObjectLockConfig>,
}

impl Default for StoreOptions {
    fn default() -> Self {
        let defaults = loghaul_config::ArchiveConfig::default();
        StoreOptions {
            multipart_threshold: defaults.multipart_threshold.bytes(),
            part_size: defaults.part_size.bytes(),
            object_lock: None,
        }
    }
}

/// Where multipart uploads in flight are written down, so that after a crash
/// they can be aborted instead of lingering (and being billed) forever.
pub trait UploadJournal: Send + Sync {
    /// An upload of `key` began with `upload_id`; on disk when this returns.
    fn started(&self, key: &str, upload_id: &str) -> Result<(), ArchiveError>;
    /// The upload completed or was aborted.
    fn finished(&self, upload_id: &str) -> Result<(), ArchiveError>;
}

/// A journal that writes nothing, for callers with no crash to survive.
pub struct NoJournal;

impl UploadJournal for NoJournal {
    fn started(&self, _key: &str, _upload_id: &str) -> Result<(), ArchiveError> {
        Ok(())
    }

    fn finished(&self, _upload_id: &str) -> Result<(), ArchiveError> {
        Ok(())
    }
}

/// A place to keep objects.
#[async_trait::async_trait]
pub trait ObjectStore: Send + Sync {
    /// A URL-like description for logs: `s3://bucket/prefix`, `file:///dir`.
    fn describe(&self) -> String;

    /// Writes the file at `path` under `key`, create-only. `metadata` is
    /// stored beside [`CONTENT_SHA256`], which this call computes.
    async fn put_file(
        &self,
        key: &str,
        path: &Path,
        metadata: &Metadata,
    ) -> Result<PutOutcome, ArchiveError>;

    /// [`ObjectStore::put_file`], writing multipart uploads in flight to
    /// `journal`. Stores without multipart uploads ignore the journal.
    async fn put_file_journaled(
        &self,
        key: &str,
        path: &Path,
        metadata: &Metadata,
        journal: &dyn UploadJournal,
    ) -> Result<PutOutcome, ArchiveError> {
        let _ = journal;
        self.put_file(key, path, metadata).await
    }

    /// Aborts an upload a crash left open; an upload already gone is fine.
    async fn abort_upload(&self, key: &str, upload_id: &str) -> Result<(), ArchiveError> {
        let _ = (key, upload_id);
        Ok(())
    }

    /// Streams the object's bytes.
    async fn get(&self, key: &str) -> Result<ObjectReader, ArchiveError>;

    /// Size and metadata, or `None` when there is no such object.
    async fn head(&self, key: &str) -> Result<Option<ObjectInfo>, ArchiveError>;

    /// Every object whose key starts with `prefix`, sorted by key.
    async fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>, ArchiveError>;

    /// The names one level below `prefix` (which is empty or ends in `/`)
    /// that hold objects, sorted: the "directories" of a key layout, found
    /// without listing every object beneath them.
    async fn list_children(&self, prefix: &str) -> Result<Vec<String>, ArchiveError> {
        let mut names: Vec<String> = self
            .list(prefix)
            .await?
            .into_iter()
            .filter_map(|info| {
                let rest = info.key.strip_prefix(prefix)?;
                let (name, _) = rest.split_once('/')?;
                Some(name.to_owned())
            })
            .collect();
        names.dedup();
        Ok(names)
    }

    /// Reads the object back and checks its size and sha256.
    async fn verify(&self, key: &str, expected: &FileDigest) -> Result<(), ArchiveError> {
        let reader = self.get(key).await?;
        let actual = digest::digest_reader(reader, key).await?;
        if actual != *expected {
            return Err(ArchiveError::Verification {
                key: key.to_owned(),
                reason: format!(
                    "expected {} bytes with sha256 {}, read {} bytes with sha256 {}",
                    expected.size, expected.sha256, actual.size, actual.sha256
                ),
            });
        }
        Ok(())
    }
}

/// The store `[archive]` asks for.
pub async fn store_from_config(config: &Config) -> Result<Arc<dyn ObjectStore>, ArchiveError> {
    let options = StoreOptions {
        multipart_threshold: config.archive.multipart_threshold.bytes(),
        part_size: config.archive.part_size.bytes(),
        object_lock: config.archive.object_lock,
    };
    Ok(match config.archive_target() {
        // A directory needs no parts: every write is one local copy.
        ArchiveTarget::Local { root } => Arc::new(LocalStore::new(&root)),
        ArchiveTarget::S3 { bucket, prefix } => {
            Arc::new(S3Store::from_config(&config.archive, &bucket, &prefix, options).await)
        }
    })
}
