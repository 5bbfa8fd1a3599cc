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
    /// Hash of the file's first bytes; 0 while the file is shorter than the
    /// fingerprint window.
    pub fingerprint: u64,
}

impl FileIdentity {
    /// A short stable text form, `dev-inode-fingerprint` in hex, used in archive
    /// metadata and index fields.
    pub fn to_key(&self) -> String {
        format!(
            "{:x}-{:x}-{:016x}",
            self.device, self.inode, self.fingerprint
        )
    }
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
    fn key_is_stable_hex() {
        let identity = FileIdentity {
            device: 2049,
            inode: 255,
            fingerprint: 1,
        };
        assert_eq!(identity.to_key(), "801-ff-0000000000000001");
    }
}
