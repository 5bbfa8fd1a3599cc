use std::io::Read;
use std::path::Path;

use sha2::{Digest, Sha256};
use tokio::io::AsyncReadExt;

use crate::{ArchiveError, ObjectReader, PutOutcome};

const BUFFER: usize = 1 << 20;

/// Size and sha256 of some bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileDigest {
    /// Byte count.
    pub size: u64,
    /// Lowercase hex sha256.
    pub sha256: String,
}

impl FileDigest {
    /// The sha256 as raw bytes, for the base64 S3 checksum header.
    pub(crate) fn sha256_bytes(&self) -> Vec<u8> {
        (0..self.sha256.len())
            .step_by(2)
            .filter_map(|i| u8::from_str_radix(&self.sha256[i..i + 2], 16).ok())
            .collect()
    }
}

/// Accumulates size and sha256 as bytes go by.
#[derive(Default)]
pub(crate) struct DigestBuilder {
    hasher: Sha256,
    size: u64,
}

impl DigestBuilder {
    /// Adds bytes.
    pub(crate) fn update(&mut self, bytes: &[u8]) {
        self.hasher.update(bytes);
        self.size += bytes.len() as u64;
    }

    /// The size and sha256 of everything added.
    pub(crate) fn finish(self) -> FileDigest {
        FileDigest {
            size: self.size,
            sha256: hex(&self.hasher.finalize()),
        }
    }
}

/// Whether an object already under `key` is what we meant to write: the same
/// bytes count as done, anything else is a conflict and is never overwritten.
pub(crate) fn outcome_for_existing(
    key: &str,
    existing: &FileDigest,
    ours: &FileDigest,
) -> Result<PutOutcome, ArchiveError> {
    if existing == ours {
        return Ok(PutOutcome::AlreadyPresent);
    }
    Err(ArchiveError::Conflict {
        key: key.to_owned(),
        existing: existing.sha256.clone(),
        ours: ours.sha256.clone(),
    })
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Hashes a file on a blocking thread, reading 1 MiB at a time.
pub async fn digest_file(path: &Path) -> Result<FileDigest, ArchiveError> {
    let owned = path.to_owned();
    tokio::task::spawn_blocking(move || {
        let mut file =
            std::fs::File::open(&owned).map_err(|error| ArchiveError::io("open", &owned, error))?;
        let mut digest = DigestBuilder::default();
        let mut buffer = vec![0; BUFFER];
        loop {
            let read = file
                .read(&mut buffer)
                .map_err(|error| ArchiveError::io("read", &owned, error))?;
            if read == 0 {
                break;
            }
            digest.update(&buffer[..read]);
        }
        Ok(digest.finish())
    })
    .await
    .map_err(|error| ArchiveError::io("hash", path, std::io::Error::other(error)))?
}

/// Hashes a stream as it is read.
pub(crate) async fn digest_reader(
    mut reader: ObjectReader,
    key: &str,
) -> Result<FileDigest, ArchiveError> {
    let mut digest = DigestBuilder::default();
    let mut buffer = vec![0; 256 * 1024];
    loop {
        let read = reader
            .read(&mut buffer)
            .await
            .map_err(|source| ArchiveError::Io {
                operation: "read object",
                path: key.to_owned(),
                source,
            })?;
        if read == 0 {
            break;
        }
        digest.update(&buffer[..read]);
    }
    Ok(digest.finish())
}
