//! What a file is, independent of its path.
//!
//! Device and inode follow a file through renames. They are not enough on
//! their own: an inode freed by a deleted file is soon given to a new one. So
//! a file is also fingerprinted by a hash of its first bytes, up to
//! [`FINGERPRINT_BYTES`]. The fingerprint is taken when the first record is
//! read and remembers how many bytes it covered. That lets a file shorter
//! than the window be identified too: later checks hash the same length.

use std::fs::File;
use std::io;
use std::os::unix::fs::{FileExt, MetadataExt};

use loghaul_model::FileIdentity;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// How many leading bytes the fingerprint covers at most.
pub const FINGERPRINT_BYTES: u64 = 1024;

/// Device and inode: where a file is on disk, whatever its name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct DiskKey {
    /// `st_dev`.
    pub device: u64,
    /// `st_ino`.
    pub inode: u64,
}

impl DiskKey {
    /// The key of an open file.
    pub fn of(file: &File) -> io::Result<Self> {
        let metadata = file.metadata()?;
        Ok(DiskKey {
            device: metadata.dev(),
            inode: metadata.ino(),
        })
    }

    /// The key of a path's metadata.
    pub fn from_metadata(metadata: &std::fs::Metadata) -> Self {
        DiskKey {
            device: metadata.dev(),
            inode: metadata.ino(),
        }
    }
}

/// Opens `path` only if it is still the file `key` names.
///
/// A path's metadata and an open of the same path are two lookups: a rename
/// between them (logrotate's, at any moment) opens another file than the one
/// examined. Every open of a file known by its key goes through here, so the
/// key and the content always belong to the same file.
pub fn open_as(path: &std::path::Path, key: DiskKey) -> io::Result<File> {
    let file = File::open(path)?;
    if DiskKey::of(&file)? == key {
        Ok(file)
    } else {
        Err(io::Error::new(
            io::ErrorKind::NotFound,
            "the path now names another file (it was renamed or replaced)",
        ))
    }
}

/// A hash of a file's first `len` bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Fingerprint {
    /// First 64 bits of the SHA-256 of the bytes.
    pub hash: u64,
    /// How many bytes it covers.
    pub len: u64,
}

impl Fingerprint {
    /// Fingerprints the first `min(size, FINGERPRINT_BYTES)` bytes of `file`.
    pub fn take(file: &File, size: u64) -> io::Result<Self> {
        Self::of_len(file, size.min(FINGERPRINT_BYTES))
    }

    /// The fingerprint of zero bytes: every file matches it. It marks a file
    /// known before any of it was read.
    pub fn empty() -> Self {
        Self::of_bytes(&[])
    }

    fn of_bytes(bytes: &[u8]) -> Self {
        let digest = Sha256::digest(bytes);
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest[..8]);
        Fingerprint {
            hash: u64::from_be_bytes(first),
            len: bytes.len() as u64,
        }
    }

    /// Fingerprints exactly the first `len` bytes, or fails if the file is
    /// shorter (it was truncated or replaced).
    pub fn of_len(file: &File, len: u64) -> io::Result<Self> {
        let mut buffer = vec![0u8; len as usize];
        file.read_exact_at(&mut buffer, 0)?;
        let digest = Sha256::digest(&buffer);
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest[..8]);
        Ok(Fingerprint {
            hash: u64::from_be_bytes(first),
            len,
        })
    }

    /// Fingerprints the `len` bytes that end at `end`.
    pub fn of_range(file: &File, end: u64, len: u64) -> io::Result<Self> {
        let len = len.min(end);
        let mut buffer = vec![0u8; len as usize];
        file.read_exact_at(&mut buffer, end - len)?;
        Ok(Self::of_bytes(&buffer))
    }

    /// Whether this is the fingerprint of zero bytes, which says nothing.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether `file` still starts with the bytes this fingerprint covers.
    pub fn matches(&self, file: &File) -> bool {
        Self::of_len(file, self.len).is_ok_and(|again| again == *self)
    }
}

/// Whether a file starts like a compressed stream (gzip, zstd, bzip2, xz,
/// lz4). Such files are rotated copies; tailing them as text would ship
/// noise, so the shipper skips them whatever their name.
pub fn looks_compressed(file: &File) -> bool {
    let mut magic = [0u8; 6];
    let Ok(read) = file.read_at(&mut magic, 0) else {
        return false;
    };
    let magic = &magic[..read];
    magic.starts_with(&[0x1f, 0x8b])
        || magic.starts_with(&[0x28, 0xb5, 0x2f, 0xfd])
        || magic.starts_with(b"BZh")
        || magic.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0x00])
        || magic.starts_with(&[0x04, 0x22, 0x4d, 0x18])
}

/// Whether a file starts like a gzip stream.
pub fn looks_gzip(file: &File) -> bool {
    let mut magic = [0u8; 2];
    file.read_at(&mut magic, 0)
        .is_ok_and(|read| read == 2 && magic == [0x1f, 0x8b])
}

/// The identity events carry: disk key plus fingerprint hash, mixed with the
/// file's epoch once it has been truncated or rewritten. New content at old
/// offsets then gets new event ids, even when it starts with the same bytes,
/// and the indexer never mistakes it for a duplicate.
pub fn file_identity(key: DiskKey, fingerprint: &Fingerprint, epoch: u64) -> FileIdentity {
    let mixed = if epoch == 0 {
        fingerprint.hash
    } else {
        fingerprint.hash.rotate_left(17) ^ epoch.wrapping_mul(0x9E37_79B9_7F4A_7C15)
    };
    FileIdentity {
        device: key.device,
        inode: key.inode,
        fingerprint: mixed,
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    #[test]
    fn fingerprint_follows_content_not_name() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("a.log");
        std::fs::write(&path, b"first line\n").expect("write");
        let file = File::open(&path).expect("open");
        let fingerprint = Fingerprint::take(&file, 11).expect("fingerprint");
        assert_eq!(fingerprint.len, 11);
        let renamed = dir.path().join("a.log.1");
        std::fs::rename(&path, &renamed).expect("rename");
        assert!(fingerprint.matches(&File::open(&renamed).expect("open")));
    }

    #[test]
    fn short_files_are_fingerprinted_over_what_they_have() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("short.log");
        std::fs::write(&path, b"hi\n").expect("write");
        let file = File::open(&path).expect("open");
        let fingerprint = Fingerprint::take(&file, 3).expect("fingerprint");
        assert_eq!(fingerprint.len, 3);
        // The file grows: the first 3 bytes are the same, so it is the same file.
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .expect("open")
            .write_all(b"more\n")
            .expect("append");
        assert!(fingerprint.matches(&File::open(&path).expect("open")));
    }

    #[test]
    fn compressed_files_are_recognised_by_their_bytes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let gzip = dir.path().join("app.log.1");
        std::fs::write(&gzip, [0x1f, 0x8b, 0x08, 0x00, 0x00]).expect("write");
        assert!(looks_compressed(&File::open(&gzip).expect("open")));
        let plain = dir.path().join("app.log.gz");
        std::fs::write(&plain, b"plain text despite the name\n").expect("write");
        assert!(!looks_compressed(&File::open(&plain).expect("open")));
        let empty = dir.path().join("empty.log");
        std::fs::write(&empty, b"").expect("write");
        assert!(!looks_compressed(&File::open(&empty).expect("open")));
    }

    #[test]
    fn replaced_content_does_not_match() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("x.log");
        std::fs::write(&path, b"old content\n").expect("write");
        let fingerprint =
            Fingerprint::take(&File::open(&path).expect("open"), 12).expect("fingerprint");
        std::fs::write(&path, b"new content\n").expect("rewrite");
        assert!(!fingerprint.matches(&File::open(&path).expect("open")));
        std::fs::write(&path, b"old").expect("truncate");
        assert!(
            !fingerprint.matches(&File::open(&path).expect("open")),
            "shorter than the window"
        );
    }
}
