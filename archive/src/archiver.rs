//! Archiving a rotated raw file: compress it in one streaming pass, name it
//! by the DESIGN.md key layout, upload it create-only, and verify what the
//! store holds before anyone may delete the local copy.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::UNIX_EPOCH;

use loghaul_model::ArchiveManifest;
use tracing::{info, warn};

use crate::catalog::{ArchiveRecord, record_key};
use crate::digest::FileDigest;
use crate::prepare::{Prepared, prepare};
use crate::spool::{ArchiveRequest, Spool};
use crate::{ArchiveError, CONTENT_SHA256, Metadata, ObjectStore, PutOutcome};

/// An archived file: its key, what was recorded, and what the store did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Archived {
    /// The object key.
    pub key: String,
    /// The raw file that was archived (still in place).
    pub raw_path: std::path::PathBuf,
    /// What the object's metadata records.
    pub manifest: ArchiveManifest,
    /// Written now, or found already there with the same bytes.
    pub outcome: PutOutcome,
    /// Size of the gzip object.
    pub compressed_bytes: u64,
}

/// What a pass over the spool did.
#[derive(Debug, Default)]
pub struct DrainReport {
    /// Files now in the store, verified.
    pub archived: Vec<Archived>,
    /// Requests set aside because the store refuses them for good.
    pub failed: usize,
    /// Why the pass stopped early, leaving requests pending (store down).
    pub stopped_by: Option<ArchiveError>,
}

/// Archives rotated files into an [`ObjectStore`].
pub struct Archiver {
    store: Arc<dyn ObjectStore>,
    spool: Spool,
    prefix: String,
    gzip_level: u32,
    gzip_threads: usize,
    multipart_threshold: u64,
}

/// Metadata values travel as HTTP headers: keep printable ASCII, encode the
/// rest as %XX.
fn header_safe(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if (0x20..0x7f).contains(&byte) && byte != b'%' {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The object metadata of DESIGN.md for a manifest.
pub fn manifest_metadata(manifest: &ArchiveManifest) -> Metadata {
    BTreeMap::from([
        ("sha256".to_owned(), manifest.sha256.clone()),
        ("raw-size".to_owned(), manifest.raw_size.to_string()),
        ("line-count".to_owned(), manifest.line_count.to_string()),
        (
            "first-timestamp-ns".to_owned(),
            manifest.first_timestamp_unix_nano.to_string(),
        ),
        (
            "last-timestamp-ns".to_owned(),
            manifest.last_timestamp_unix_nano.to_string(),
        ),
        ("host".to_owned(), header_safe(&manifest.host)),
        ("source".to_owned(), header_safe(&manifest.source_path)),
        ("file-identity".to_owned(), manifest.file.to_key()),
        ("reason".to_owned(), manifest.reason.to_string()),
    ])
}

fn modified_unix_nano(path: &Path) -> i64 {
    std::fs::metadata(path)
        .and_then(|stat| stat.modified())
        .ok()
        .and_then(|time| time.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |elapsed| elapsed.as_nanos() as i64)
}

impl Archiver {
    /// An archiver writing under `prefix` of `store`, preparing files in
    /// `spool`'s work directory.
    pub fn new(
        store: Arc<dyn ObjectStore>,
        spool: Spool,
        prefix: &str,
        gzip_level: u32,
        multipart_threshold: u64,
    ) -> Self {
        Archiver {
            store,
            spool,
            prefix: prefix.trim_matches('/').to_owned(),
            gzip_level,
            gzip_threads: crate::prepare::default_gzip_threads(),
            multipart_threshold,
        }
    }

    /// Compresses on `threads` threads (0: one per core).
    pub fn with_gzip_threads(mut self, threads: usize) -> Self {
        self.gzip_threads = match threads {
            0 => crate::prepare::default_gzip_threads(),
            threads => threads,
        };
        self
    }

    /// The spool of pending requests.
    pub fn spool(&self) -> &Spool {
        &self.spool
    }

    /// Compresses, uploads and verifies one file. The raw file is left in
    /// place; deleting it is the caller's decision, safe once this returns Ok.
    pub async fn archive(&self, request: &ArchiveRequest) -> Result<Archived, ArchiveError> {
        let name = format!(
            "{}-{}",
            request.file.to_key(),
            std::time::SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|elapsed| elapsed.as_nanos())
                .unwrap_or(0)
        );
        let prepared = prepare(
            &request.raw_path,
            request.file,
            &self.spool.work_dir(),
            &name,
            self.gzip_level,
            self.gzip_threads,
        )
        .await?;
        // logrotate may have renamed it again (app.log.1 to app.log.2) and put
        // a newer file under its name: what follows names the file read.
        let located = ArchiveRequest {
            raw_path: prepared.raw_path.clone(),
            ..request.clone()
        };
        let result = self.upload(&located, &prepared).await;
        let _ = tokio::fs::remove_file(&prepared.gzip_path).await;
        result
    }

    async fn upload(
        &self,
        request: &ArchiveRequest,
        prepared: &Prepared,
    ) -> Result<Archived, ArchiveError> {
        let modified = modified_unix_nano(&request.raw_path);
        // The time each line names wherever `auto` finds it (a JSON field,
        // an access log's brackets), else the file's modification time.
        let first =
            loghaul_parser::Parser::record_time(&prepared.first_line, modified).unwrap_or(modified);
        let last =
            loghaul_parser::Parser::record_time(&prepared.last_line, modified).unwrap_or(modified);
        let manifest = ArchiveManifest {
            host: request.host.clone(),
            source_path: request.source_path.clone(),
            file: request.file,
            sha256: prepared.raw.sha256.clone(),
            raw_size: prepared.raw.size,
            line_count: prepared.line_count,
            first_timestamp_unix_nano: first,
            last_timestamp_unix_nano: last,
            reason: request.reason,
        };
        let key = manifest.object_key(&self.prefix);
        let raw_name = request
            .raw_path
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default();
        // The same raw bytes are the same archive, whatever gzip produced
        // them (another level or library version gives other gzip bytes).
        if let Some(existing) = self.store.head(&key).await? {
            return match existing.metadata.get("sha256") {
                Some(sha256) if *sha256 == manifest.sha256 => {
                    info!(%key, "already archived");
                    // A crash may have come between the object and its record.
                    let gzip = FileDigest {
                        size: existing.size,
                        sha256: existing
                            .metadata
                            .get(CONTENT_SHA256)
                            .cloned()
                            .unwrap_or_default(),
                    };
                    self.write_record(&key, &manifest, &raw_name, &gzip).await?;
                    Ok(Archived {
                        key,
                        raw_path: request.raw_path.clone(),
                        manifest,
                        outcome: PutOutcome::AlreadyPresent,
                        compressed_bytes: existing.size,
                    })
                }
                other => Err(ArchiveError::Conflict {
                    key,
                    existing: other.cloned().unwrap_or_else(|| "unknown".into()),
                    ours: manifest.sha256,
                }),
            };
        }
        let compressed = prepared.gzip.clone();
        let mut metadata = manifest_metadata(&manifest);
        metadata.insert("raw-name".to_owned(), header_safe(&raw_name));
        let outcome = self
            .store
            .put_file_journaled(&key, &prepared.gzip_path, &metadata, &self.spool)
            .await?;
        self.verify(&key, &compressed).await?;
        self.write_record(&key, &manifest, &raw_name, &compressed)
            .await?;
        info!(%key, raw_bytes = manifest.raw_size, compressed_bytes = compressed.size, ?outcome, "archived");
        Ok(Archived {
            key,
            raw_path: request.raw_path.clone(),
            manifest,
            outcome,
            compressed_bytes: compressed.size,
        })
    }

    /// Writes the record beside the object (see [`crate::catalog`]) unless
    /// one is there already.
    async fn write_record(
        &self,
        key: &str,
        manifest: &ArchiveManifest,
        raw_name: &str,
        gzip: &FileDigest,
    ) -> Result<(), ArchiveError> {
        let record_key = record_key(key);
        if self.store.head(&record_key).await?.is_some() {
            return Ok(());
        }
        let record = ArchiveRecord {
            version: 1,
            key: key.to_owned(),
            manifest: manifest.clone(),
            raw_name: raw_name.to_owned(),
            gzip_size: gzip.size,
            gzip_sha256: gzip.sha256.clone(),
            archived_unix_nano: loghaul_model::time::now_unix_nano(),
        };
        let path = self.spool.work_dir().join(format!(
            "record-{}-{}.json",
            manifest.file.to_key(),
            record.archived_unix_nano
        ));
        let bytes = serde_json::to_vec_pretty(&record).unwrap_or_default();
        tokio::fs::create_dir_all(self.spool.work_dir())
            .await
            .map_err(|error| ArchiveError::io("create directory", &self.spool.work_dir(), error))?;
        tokio::fs::write(&path, &bytes)
            .await
            .map_err(|error| ArchiveError::io("write", &path, error))?;
        let result = self
            .store
            .put_file(&record_key, &path, &Metadata::new())
            .await;
        let _ = tokio::fs::remove_file(&path).await;
        match result {
            // Another writer's record for the same bytes: theirs stands.
            Ok(_) | Err(ArchiveError::Conflict { .. }) => Ok(()),
            Err(error) => Err(error),
        }
    }

    /// The store holds exactly our bytes: size and sha256 from the object's
    /// metadata, and a full read-back where no server-side checksum covered
    /// the whole object (multipart uploads).
    async fn verify(&self, key: &str, expected: &FileDigest) -> Result<(), ArchiveError> {
        let info = self
            .store
            .head(key)
            .await?
            .ok_or_else(|| ArchiveError::Verification {
                key: key.to_owned(),
                reason: "the object is missing after the upload".into(),
            })?;
        if info.size != expected.size {
            return Err(ArchiveError::Verification {
                key: key.to_owned(),
                reason: format!(
                    "the store holds {} bytes, we wrote {}",
                    info.size, expected.size
                ),
            });
        }
        match info.metadata.get(CONTENT_SHA256) {
            Some(sha256) if *sha256 != expected.sha256 => Err(ArchiveError::Verification {
                key: key.to_owned(),
                reason: format!(
                    "the store records sha256 {sha256}, we wrote {}",
                    expected.sha256
                ),
            }),
            Some(_) if expected.size < self.multipart_threshold => Ok(()),
            _ => self.store.verify(key, expected).await,
        }
    }

    /// Aborts every multipart upload a crash left open. Call before
    /// [`Archiver::drain_spool`] at start-up; the requests behind them are
    /// still pending and are archived again from the raw files.
    pub async fn recover(&self) -> Result<usize, ArchiveError> {
        let uploads = self.spool.open_uploads()?;
        for (key, upload_id) in &uploads {
            self.store.abort_upload(key, upload_id).await?;
            crate::UploadJournal::finished(&self.spool, upload_id)?;
            info!(%key, %upload_id, "aborted an upload a crash left open");
        }
        Ok(uploads.len())
    }

    /// Archives every pending request, oldest first. A store that is down
    /// stops the pass with the rest still pending; a request refused for good
    /// is set aside with its reason.
    pub async fn drain_spool(&self) -> Result<DrainReport, ArchiveError> {
        let mut report = DrainReport::default();
        let mut pending = self.spool.pending()?;
        // In a drain, what was just rotated goes first: current data first.
        pending.sort_by_key(|entry| {
            !matches!(
                entry.request.reason,
                loghaul_model::RotationReason::Spot | loghaul_model::RotationReason::Shutdown
            )
        });
        for entry in pending {
            match self.archive(&entry.request).await {
                Ok(archived) => {
                    self.spool.complete(&entry.id)?;
                    report.archived.push(archived);
                }
                Err(error) if error.is_retryable() => {
                    warn!(%error, "archive store unavailable; pending files stay in the spool");
                    report.stopped_by = Some(error);
                    return Ok(report);
                }
                Err(error) => {
                    warn!(%error, raw = %entry.request.raw_path.display(), "cannot archive; set aside in the spool's failed/");
                    self.spool.fail(&entry.id, &error.to_string())?;
                    report.failed += 1;
                }
            }
        }
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_values_are_header_safe() {
        assert_eq!(header_safe("/var/log/app.log"), "/var/log/app.log");
        assert_eq!(
            header_safe("/var/log/é 100%\n"),
            "/var/log/%C3%A9 100%25%0A"
        );
    }
}
