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
    fn text_form_round_trips() {
        let id = EventId::new("h", &file(), 0);
        assert_eq!(id.to_string().parse::<EventId>().ok(), Some(id));
        assert!("xyz".parse::<EventId>().is_err());
        assert!("g".repeat(32).parse::<EventId>().is_err());
    }
}
