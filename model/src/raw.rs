use serde::{Deserialize, Serialize};

use crate::FileIdentity;

/// What the shipper noticed about a record's bytes. Nothing is dropped for these
/// reasons; the record travels on, flagged.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordFlags {
    /// The record was longer than `max_line_bytes` and was cut there.
    pub truncated: bool,
    /// The record's bytes are not valid UTF-8.
    pub invalid_utf8: bool,
}

/// One record as read from a file: a line, or several lines merged by multiline
/// rules.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RawRecord {
    /// Byte offset of the record's first byte in its file.
    pub offset: u64,
    /// The record's bytes, without the final line terminator.
    #[serde(with = "serde_bytes")]
    pub bytes: Vec<u8>,
    /// What was noticed about the bytes.
    pub flags: RecordFlags,
}

impl RawRecord {
    /// A record at `offset`, with `invalid_utf8` set from the bytes themselves.
    pub fn new(offset: u64, bytes: Vec<u8>) -> Self {
        let invalid_utf8 = std::str::from_utf8(&bytes).is_err();
        Self {
            offset,
            bytes,
            flags: RecordFlags {
                truncated: false,
                invalid_utf8,
            },
        }
    }
}

/// Records read from one file in one go, as the shipper publishes them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RawBatch {
    /// The host the file lives on.
    pub host: String,
    /// The file's path when it was read.
    pub source: String,
    /// The file's identity.
    pub file: FileIdentity,
    /// The configured format (`json`, `syslog`, `regex:<name>`…), if not `auto`.
    pub format_hint: Option<String>,
    /// The records, in file order.
    pub records: Vec<RawRecord>,
    /// When the shipper read them, in nanoseconds since the Unix epoch.
    pub read_time_unix_nano: i64,
    /// The source's zone for timestamps that carry none (`UTC`, `local`,
    /// `+02:00`, `Europe/Paris`), if the source names one. Added in v2.
    pub timezone: Option<String>,
    /// The service the source's events belong to, if configured. Added in v2.
    pub service: Option<String>,
    /// The source's configured name, if it has one. Added in v3.
    pub source_name: Option<String>,
}

/// What a shipper source says about its records, carried in every batch so
/// that any parser worker can act on it without the shipper's config.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SourceLabels {
    /// The configured format, when not `auto`.
    pub format_hint: Option<String>,
    /// The zone of timestamps that carry none.
    pub timezone: Option<String>,
    /// The service name.
    pub service: Option<String>,
    /// The source's configured name.
    pub name: Option<String>,
}

impl RawBatch {
    /// Total bytes of record payload, the figure memory budgets count.
    pub fn payload_bytes(&self) -> usize {
        self.records.iter().map(|record| record.bytes.len()).sum()
    }
}
