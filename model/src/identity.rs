use std::fmt;

use serde::{Deserialize, Serialize};

/// What a log file is, independent of the path it currently has.
///
/// Device and inode follow the file through renames; the fingerprint (a hash of
/// its first bytes) tells a reused inode from the file that had it before.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct FileIdentity {
    /// `st_dev` of the file.
    pub device: u64,
    /// `st_ino` of the file.
    pub inode: u64,
    /// Hash of the file's first bytes (those present while it is shorter
    /// than the fingerprint window), mixed with the file's epoch once it has
    /// been truncated or rewritten (see the shipper's `file_identity`), so
    /// new content at old offsets gets new event ids.
    pub fingerprint: u64,
}

impl FileIdentity {
    /// The indexer shard, below `shards`, that this file's events go to. The
    /// function is pinned: changing it would split a file across shards.
    pub fn shard(&self, shards: u32) -> u32 {
        if shards <= 1 {
            return 0;
        }
        // splitmix64's finaliser over the three fields.
        let mut mixed = self.device ^ self.inode.rotate_left(21) ^ self.fingerprint.rotate_left(42);
        mixed = (mixed ^ (mixed >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        mixed = (mixed ^ (mixed >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        mixed ^= mixed >> 31;
        (mixed % u64::from(shards)) as u32
    }

    /// The identity of the file at `path` (its device and inode) with a
    /// given fingerprint.
    pub fn of_path(path: &std::path::Path, fingerprint: u64) -> std::io::Result<Self> {
        use std::os::unix::fs::MetadataExt;
        let stat = std::fs::metadata(path)?;
        Ok(FileIdentity {
            device: stat.dev(),
            inode: stat.ino(),
            fingerprint,
        })
    }

    /// Whether `stat` is of this identity's file (same device and inode).
    pub fn is_file_of(&self, stat: &std::fs::Metadata) -> bool {
        use std::os::unix::fs::MetadataExt;
        stat.dev() == self.device && stat.ino() == self.inode
    }

    /// A short stable text form, `dev-inode-fingerprint` in hex, used in archive
    /// metadata and index fields.
    pub fn to_key(&self) -> String {
        format!(
            "{:x}-{:x}-{:016x}",
            self.device, self.inode, self.fingerprint
        )
    }

    /// Reads back what [`FileIdentity::to_key`] wrote.
    pub fn from_key(key: &str) -> Option<Self> {
        let mut parts = key.splitn(3, '-');
        let mut next = || u64::from_str_radix(parts.next()?, 16).ok();
        Some(FileIdentity {
            device: next()?,
            inode: next()?,
            fingerprint: next()?,
        })
    }
}

/// The regular file with `device` and `inode` in the directory of `path`,
/// where a rotation leaves a file it renames (`app.log.1` to `app.log.2`).
/// The shipper and the archiver both find a file this way, by what it is
/// rather than by its name.
pub fn find_beside(path: &std::path::Path, device: u64, inode: u64) -> Option<std::path::PathBuf> {
    use std::os::unix::fs::MetadataExt;
    let dir = path.parent().unwrap_or(std::path::Path::new("."));
    std::fs::read_dir(dir).ok()?.flatten().find_map(|entry| {
        let stat = entry.metadata().ok()?;
        (stat.is_file() && stat.dev() == device && stat.ino() == inode).then(|| entry.path())
    })
}

impl fmt::Display for FileIdentity {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.to_key())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_read_back() {
        let identity = FileIdentity {
            device: 0xfd01,
            inode: 7,
            fingerprint: u64::MAX,
        };
        assert_eq!(FileIdentity::from_key(&identity.to_key()), Some(identity));
        for bad in ["", "1-2", "1-2-x", "-1-2"] {
            assert_eq!(FileIdentity::from_key(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn key_is_stable_hex() {
        let identity = FileIdentity {
            device: 2049,
            inode: 255,
            fingerprint: 1,
        };
        assert_eq!(identity.to_key(), "801-ff-0000000000000001");
    }

    #[test]
    fn shard_is_pinned_and_spreads() {
        let identity = FileIdentity {
            device: 2049,
            inode: 255,
            fingerprint: 1,
        };
        assert_eq!(identity.shard(1), 0);
        assert_eq!(identity.shard(0), 0);
        let pinned: Vec<u32> = (0..8)
            .map(|inode| {
                FileIdentity {
                    device: 2049,
                    inode,
                    fingerprint: 7,
                }
                .shard(4)
            })
            .collect();
        assert_eq!(pinned, PINNED_SHARDS);
        let mut counts = [0u32; 4];
        for inode in 0..4000 {
            let file = FileIdentity {
                device: 2049,
                inode,
                fingerprint: inode * 31,
            };
            counts[file.shard(4) as usize] += 1;
        }
        assert!(
            counts.iter().all(|count| (800..1200).contains(count)),
            "{counts:?}"
        );
    }

    const PINNED_SHARDS: [u32; 8] = [0, 3, 0, 2, 3, 3, 3, 1];
}
