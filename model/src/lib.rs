//! The wire types that cross loghaul's process boundaries, and their codec.
//!
//! - [`RawBatch`] goes from a shipper to the parser workers: records read from one
//!   file, each with its byte offset and flags.
//! - [`Event`] and [`EventBatch`] go from the parsers to an indexer shard. An event
//!   follows the OpenTelemetry log data model.
//! - [`EventId`] is a stable hash of host, [`FileIdentity`] and byte offset, so the
//!   same record always gets the same id, however often it is delivered.
//! - [`ArchiveManifest`] describes one archived raw file.
//!
//! Every message on the queue is wrapped in a versioned envelope ([`codec`]), so
//! that a newer worker can still read what an older shipper wrote.
//!
//! ```
//! use loghaul_model::{codec, FileIdentity, RawBatch, RawRecord};
//!
//! let file = FileIdentity { device: 2049, inode: 77, fingerprint: 0xfeed };
//! let batch = RawBatch {
//!     host: "web-1".into(),
//!     source: "/var/log/app.log".into(),
//!     file,
//!     format_hint: None,
//!     records: vec![RawRecord::new(0, b"hello".to_vec())],
//!     read_time_unix_nano: 1_700_000_000_000_000_000,
//!     timezone: None,
//!     service: Some("shop".into()),
//!     source_name: Some("app".into()),
//! };
//! let bytes = codec::encode_raw_batch(&batch);
//! assert_eq!(codec::decode_raw_batch(&bytes)?, batch);
//! # Ok::<(), loghaul_model::CodecError>(())
//! ```

pub mod codec;
mod encoder;
mod event;
mod event_codec;
mod id;
mod identity;
pub mod level;
mod manifest;
mod raw;
pub mod time;

pub use codec::CodecError;
pub use encoder::RawBatchEncoder;
pub use event::{Event, EventBatch, Resource, Severity};
pub use id::{EventId, EventIdHasher};
pub use identity::{FileIdentity, find_beside};
pub use manifest::{ArchiveManifest, RotationReason, safe_key_segment};
pub use raw::{RawBatch, RawRecord, RecordFlags, SourceLabels};
