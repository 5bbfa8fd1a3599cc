use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::{EventId, FileIdentity};

/// Severity in the OpenTelemetry log data model: the text as written, and the
/// normalised number (1–4 trace, 5–8 debug, 9–12 info, 13–16 warn, 17–20 error,
/// 21–24 fatal; 0 unknown).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Severity {
    /// The level as the record wrote it (`WARN`, `E`, `<3>`…), if any.
    pub text: Option<String>,
    /// The normalised severity number, 0 when unknown.
    pub number: u8,
}

/// Where an event comes from. Shared by every event of a batch, so cloning it
/// per event costs reference counts, not copies.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resource {
    /// The host the file lives on.
    pub host: Arc<str>,
    /// The file's path.
    pub source: Arc<str>,
    /// The service, where a parser or the config names one.
    pub service: Option<Arc<str>>,
    /// The configured name of the shipper source that read the file, if it
    /// has one. Searched by `source:` beside the path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_name: Option<Arc<str>>,
}

/// One normalised record, as the indexer stores it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// The record's stable id.
    pub id: EventId,
    /// When the record says it happened, in nanoseconds since the Unix epoch; the
    /// read time when the record carries no usable timestamp.
    pub timestamp_unix_nano: i64,
    /// When the shipper read the record.
    pub observed_timestamp_unix_nano: i64,
    /// The record's severity.
    pub severity: Severity,
    /// The message.
    pub body: String,
    /// Fields the parser extracted.
    pub attributes: serde_json::Map<String, serde_json::Value>,
    /// Host, source and service.
    pub resource: Resource,
    /// The identity of the file the record was read from.
    pub file: FileIdentity,
    /// Byte offset of the record's first byte in that file.
    pub offset: u64,
    /// Why parsing failed, when it did. The body then holds the raw text.
    pub parse_error: Option<String>,
}

/// Events bound for one indexer shard.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EventBatch {
    /// The events, in the order they were parsed.
    pub events: Vec<Event>,
}
