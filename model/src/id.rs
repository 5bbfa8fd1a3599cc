use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};

use crate::FileIdentity;

/// The identity of one record, stable across retries, restarts and redelivery.
///
/// It is the first 128 bits of a SHA-256 over the host, the file identity and
/// the record's byte offset, each length-prefixed or fixed-width so that no two
/// inputs share an encoding. The text form is 32 lowercase hex digits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EventId(pub u128);

impl EventId {
    /// The id of the record that starts at `offset` in `file` on `host`.
    pub fn new(host: &str, file: &FileIdentity, offset: u64) -> Self {
        let mut hasher = Sha256::new();
        hasher.update(b"loghaul.event-id.v1");
        hasher.update((host.len() as u64).to_le_bytes());
        hasher.update(host.as_bytes());
        hasher.update(file.device.to_le_bytes());
        hasher.update(file.inode.to_le_bytes());
        hasher.update(file.fingerprint.to_le_bytes());
        hasher.update(offset.to_le_bytes());
        let digest = hasher.finalize();
        let mut first = [0u8; 16];
        first.copy_from_slice(&digest[..16]);
        Self(u128::from_be_bytes(first))
    }
}

/// SHA-256's initial state (FIPS 180-4, 5.3.3).
const SHA256_INITIAL: [u32; 8] = [
    0x6a09_e667,
    0xbb67_ae85,
    0x3c6e_f372,
    0xa54f_f53a,
    0x510e_527f,
    0x9b05_688c,
    0x1f83_d9ab,
    0x5be0_cd19,
];

/// [`EventId::new`] for the records of one file: what every record shares
/// (prefix, host, file identity) is hashed once, so each id costs the last
/// one or two SHA-256 blocks only (one when the host name has 13 bytes or
/// more). Property-tested equal to [`EventId::new`].
#[derive(Clone, Debug)]
pub struct EventIdHasher {
    /// The state after the shared bytes' whole blocks.
    state: [u32; 8],
    /// The shared bytes after those blocks (fewer than 64).
    tail: [u8; 64],
    tail_len: usize,
    /// The length of the whole hashed message, offset included.
    message_len: u64,
}

impl EventIdHasher {
    /// The hasher for records of `file` on `host`.
    pub fn new(host: &str, file: &FileIdentity) -> Self {
        let mut shared = Vec::with_capacity(64 + host.len());
        shared.extend_from_slice(b"loghaul.event-id.v1");
        shared.extend_from_slice(&(host.len() as u64).to_le_bytes());
        shared.extend_from_slice(host.as_bytes());
        shared.extend_from_slice(&file.device.to_le_bytes());
        shared.extend_from_slice(&file.inode.to_le_bytes());
        shared.extend_from_slice(&file.fingerprint.to_le_bytes());
        let whole = shared.len() / 64 * 64;
        let mut state = SHA256_INITIAL;
        let blocks: Vec<_> = shared[..whole]
            .chunks_exact(64)
            .map(|block| *sha2::digest::generic_array::GenericArray::from_slice(block))
            .collect();
        sha2::compress256(&mut state, &blocks);
        let mut tail = [0u8; 64];
        tail[..shared.len() - whole].copy_from_slice(&shared[whole..]);
        Self {
            state,
            tail,
            tail_len: shared.len() - whole,
            message_len: shared.len() as u64 + 8,
        }
    }

    /// The id of the record that starts at `offset`.
    pub fn id(&self, offset: u64) -> EventId {
        // The rest of the message, then SHA-256's padding: 0x80, zeros, and
        // the length in bits, big-endian, ending a block.
        let mut last = [0u8; 128];
        let tail_len = self.tail_len;
        last[..tail_len].copy_from_slice(&self.tail[..tail_len]);
        last[tail_len..tail_len + 8].copy_from_slice(&offset.to_le_bytes());
        last[tail_len + 8] = 0x80;
        let blocks = if tail_len + 8 + 1 + 8 <= 64 { 1 } else { 2 };
        last[blocks * 64 - 8..blocks * 64].copy_from_slice(&(self.message_len * 8).to_be_bytes());
        let mut state = self.state;
        let array =
            |at: usize| *sha2::digest::generic_array::GenericArray::from_slice(&last[at..at + 64]);
        sha2::compress256(&mut state, &[array(0), array(64)][..blocks]);
        EventId(
            (u128::from(state[0]) << 96)
                | (u128::from(state[1]) << 64)
                | (u128::from(state[2]) << 32)
                | u128::from(state[3]),
        )
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{:032x}", self.0)
    }
}

/// The text was not 32 hex digits.
#[derive(Debug, thiserror::Error)]
#[error("invalid event id {0:?}: expected 32 hex digits")]
pub struct ParseEventIdError(String);

impl FromStr for EventId {
    type Err = ParseEventIdError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text.len() != 32 {
            return Err(ParseEventIdError(text.to_owned()));
        }
        u128::from_str_radix(text, 16)
            .map(EventId)
            .map_err(|_| ParseEventIdError(text.to_owned()))
    }
}

impl Serialize for EventId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for EventId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file() -> FileIdentity {
        FileIdentity {
            device: 1,
            inode: 2,
            fingerprint: 3,
        }
    }

    #[test]
    fn same_inputs_give_the_same_id() {
        assert_eq!(
            EventId::new("web-1", &file(), 42),
            EventId::new("web-1", &file(), 42)
        );
    }

    #[test]
    fn each_input_changes_the_id() {
        let base = EventId::new("web-1", &file(), 42);
        assert_ne!(base, EventId::new("web-2", &file(), 42));
        assert_ne!(base, EventId::new("web-1", &file(), 43));
        let other_file = FileIdentity {
            fingerprint: 4,
            ..file()
        };
        assert_ne!(base, EventId::new("web-1", &other_file, 42));
    }

    #[test]
    fn id_is_pinned_across_versions() {
        // Changing the hash would break deduplication against existing indexes.
        let id = EventId::new("web-1", &file(), 42);
        assert_eq!(id.to_string(), "3aa0777e7901dace68636013fdae23f0");
    }

    #[test]
    fn the_hasher_gives_the_pinned_id() {
        assert_eq!(
            EventIdHasher::new("web-1", &file()).id(42).to_string(),
            "3aa0777e7901dace68636013fdae23f0"
        );
    }

    proptest::proptest! {
        /// Every host length puts the offset at another place in the last
        /// blocks (0 to 63 bytes of shared tail, one or two blocks).
        #[test]
        fn the_hasher_gives_what_new_gives(
            host in "\\PC{0,150}",
            device: u64,
            inode: u64,
            fingerprint: u64,
            offsets in proptest::collection::vec(proptest::prelude::any::<u64>(), 1..8),
        ) {
            let file = FileIdentity { device, inode, fingerprint };
            let hasher = EventIdHasher::new(&host, &file);
            for offset in offsets {
                proptest::prop_assert_eq!(hasher.id(offset), EventId::new(&host, &file, offset));
            }
        }
    }

    #[test]
    fn text_form_round_trips() {
        let id = EventId::new("h", &file(), 0);
        assert_eq!(id.to_string().parse::<EventId>().ok(), Some(id));
        assert!("xyz".parse::<EventId>().is_err());
        assert!("g".repeat(32).parse::<EventId>().is_err());
    }
}
