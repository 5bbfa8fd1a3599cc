//! The versioned envelope around every message loghaul puts on a queue.
//!
//! ```text
//! byte 0-1  magic "LH"
//! byte 2    kind: 1 RawBatch, 2 EventBatch
//! byte 3    version of that kind's body
//! byte 4..  body
//! ```
//!
//! RawBatch bodies are postcard (compact, binary-safe for raw record bytes).
//! Version 2 appended the source's time zone and service; version 1 bodies
//! still decode, with both unset.
//! EventBatch bodies are JSON, because attributes are free-form JSON and dead
//! letters should be readable by an operator. A new body layout gets a new
//! version number and the decoder keeps reading the old ones.
//!
//! Decoding never panics and never allocates more than the input justifies:
//! garbage, truncation and trailing bytes are all errors.

use crate::{EventBatch, RawBatch};

const MAGIC: [u8; 2] = *b"LH";
const HEADER_LEN: usize = 4;

/// The kind of message an envelope holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageKind {
    /// A [`RawBatch`].
    RawBatch,
    /// An [`EventBatch`].
    EventBatch,
}

impl MessageKind {
    fn byte(self) -> u8 {
        match self {
            MessageKind::RawBatch => 1,
            MessageKind::EventBatch => 2,
        }
    }

    fn from_byte(byte: u8) -> Option<Self> {
        match byte {
            1 => Some(MessageKind::RawBatch),
            2 => Some(MessageKind::EventBatch),
            _ => None,
        }
    }

    /// The newest body version this build writes.
    pub fn current_version(self) -> u8 {
        match self {
            MessageKind::RawBatch => 2,
            MessageKind::EventBatch => 1,
        }
    }
}

/// Why bytes could not be decoded. The text of each variant is what lands in
/// the dead-letter header.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CodecError {
    /// Fewer bytes than the envelope header.
    #[error("message too short: {len} bytes, the envelope header alone is {HEADER_LEN}")]
    TooShort {
        /// The message length.
        len: usize,
    },
    /// The first two bytes are not `LH`.
    #[error("not a loghaul message: magic bytes {found:02x?}, expected \"LH\"")]
    BadMagic {
        /// The first two bytes.
        found: [u8; 2],
    },
    /// The kind byte names no known kind.
    #[error("unknown message kind {kind}")]
    UnknownKind {
        /// The kind byte.
        kind: u8,
    },
    /// A different kind than the caller expected.
    #[error("expected a {expected:?} message, got {found:?}")]
    WrongKind {
        /// What the caller asked for.
        expected: MessageKind,
        /// What the envelope says.
        found: MessageKind,
    },
    /// A body version this build cannot read (written by a newer loghaul).
    #[error("{kind:?} version {version} is not supported (this build reads 1 to {newest})")]
    UnsupportedVersion {
        /// The kind.
        kind: MessageKind,
        /// The version byte.
        version: u8,
        /// The newest version this build reads.
        newest: u8,
    },
    /// The body does not decode.
    #[error("{kind:?} v{version} body is malformed: {reason}")]
    MalformedBody {
        /// The kind.
        kind: MessageKind,
        /// The version.
        version: u8,
        /// What the body decoder said.
        reason: String,
    },
}

/// Reads the envelope header: the kind and version of a message.
pub fn peek(bytes: &[u8]) -> Result<(MessageKind, u8), CodecError> {
    if bytes.len() < HEADER_LEN {
        return Err(CodecError::TooShort { len: bytes.len() });
    }
    if bytes[..2] != MAGIC {
        return Err(CodecError::BadMagic {
            found: [bytes[0], bytes[1]],
        });
    }
    let kind =
        MessageKind::from_byte(bytes[2]).ok_or(CodecError::UnknownKind { kind: bytes[2] })?;
    Ok((kind, bytes[3]))
}

fn header(kind: MessageKind) -> Vec<u8> {
    vec![MAGIC[0], MAGIC[1], kind.byte(), kind.current_version()]
}

fn body_for(bytes: &[u8], expected: MessageKind) -> Result<(u8, &[u8]), CodecError> {
    let (kind, version) = peek(bytes)?;
    if kind != expected {
        return Err(CodecError::WrongKind {
            expected,
            found: kind,
        });
    }
    let newest = kind.current_version();
    if version == 0 || version > newest {
        return Err(CodecError::UnsupportedVersion {
            kind,
            version,
            newest,
        });
    }
    Ok((version, &bytes[HEADER_LEN..]))
}

/// Encodes a [`RawBatch`] in the current version.
pub fn encode_raw_batch(batch: &RawBatch) -> Vec<u8> {
    let mut out = header(MessageKind::RawBatch);
    // Serialising plain structs into a Vec cannot fail.
    out.extend(postcard::to_stdvec(batch).unwrap_or_default());
    out
}

/// Decodes a [`RawBatch`] of any supported version.
pub fn decode_raw_batch(bytes: &[u8]) -> Result<RawBatch, CodecError> {
    let kind = MessageKind::RawBatch;
    let (version, body) = body_for(bytes, kind)?;
    let malformed = |reason: String| CodecError::MalformedBody {
        kind,
        version,
        reason,
    };
    let (batch, rest) = if version == 1 {
        postcard::take_from_bytes::<RawBatchV1>(body).map(|(v1, rest)| (v1.upgrade(), rest))
    } else {
        postcard::take_from_bytes::<RawBatch>(body)
    }
    .map_err(|error| malformed(error.to_string()))?;
    if !rest.is_empty() {
        return Err(malformed(format!("{} trailing bytes", rest.len())));
    }
    Ok(batch)
}

/// The version 1 layout of [`RawBatch`]: the same fields, without the
/// time zone and service at the end.
#[derive(serde::Deserialize)]
struct RawBatchV1 {
    host: String,
    source: String,
    file: crate::FileIdentity,
    format_hint: Option<String>,
    records: Vec<crate::RawRecord>,
    read_time_unix_nano: i64,
}

impl RawBatchV1 {
    fn upgrade(self) -> RawBatch {
        RawBatch {
            host: self.host,
            source: self.source,
            file: self.file,
            format_hint: self.format_hint,
            records: self.records,
            read_time_unix_nano: self.read_time_unix_nano,
            timezone: None,
            service: None,
        }
    }
}

/// Encodes an [`EventBatch`] in the current version.
pub fn encode_event_batch(batch: &EventBatch) -> Vec<u8> {
    let mut out = header(MessageKind::EventBatch);
    // Events hold only strings, numbers and JSON maps with string keys.
    serde_json::to_writer(&mut out, batch).unwrap_or_default();
    out
}

/// Decodes an [`EventBatch`] of any supported version.
pub fn decode_event_batch(bytes: &[u8]) -> Result<EventBatch, CodecError> {
    let kind = MessageKind::EventBatch;
    let (version, body) = body_for(bytes, kind)?;
    serde_json::from_slice(body).map_err(|error| CodecError::MalformedBody {
        kind,
        version,
        reason: error.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::{Event, EventId, FileIdentity, RawRecord, RecordFlags, Resource, Severity};

    fn file_identity() -> impl Strategy<Value = FileIdentity> {
        (any::<u64>(), any::<u64>(), any::<u64>()).prop_map(|(device, inode, fingerprint)| {
            FileIdentity {
                device,
                inode,
                fingerprint,
            }
        })
    }

    fn raw_batch() -> impl Strategy<Value = RawBatch> {
        let record = (
            any::<u64>(),
            prop::collection::vec(any::<u8>(), 0..200),
            any::<bool>(),
        )
            .prop_map(|(offset, bytes, truncated)| {
                let mut record = RawRecord::new(offset, bytes);
                record.flags.truncated = truncated;
                record
            });
        (
            ".{0,20}",
            ".{0,40}",
            file_identity(),
            proptest::option::of("[a-z:]{1,12}"),
            prop::collection::vec(record, 0..20),
            any::<i64>(),
            proptest::option::of("[A-Za-z/+:0-9]{1,16}"),
            proptest::option::of(".{0,12}"),
        )
            .prop_map(
                |(
                    host,
                    source,
                    file,
                    format_hint,
                    records,
                    read_time_unix_nano,
                    timezone,
                    service,
                )| {
                    RawBatch {
                        host,
                        source,
                        file,
                        format_hint,
                        records,
                        read_time_unix_nano,
                        timezone,
                        service,
                    }
                },
            )
    }

    fn json_value() -> impl Strategy<Value = serde_json::Value> {
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::from),
            any::<i64>().prop_map(serde_json::Value::from),
            ".{0,10}".prop_map(serde_json::Value::from),
        ];
        leaf.prop_recursive(3, 16, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
                prop::collection::btree_map("[a-z]{1,5}", inner, 0..4)
                    .prop_map(|map| serde_json::Value::Object(map.into_iter().collect())),
            ]
        })
    }

    fn event() -> impl Strategy<Value = Event> {
        (
            (
                any::<u128>(),
                any::<i64>(),
                any::<i64>(),
                proptest::option::of("[A-Z]{1,5}"),
                0u8..=24,
            ),
            (
                ".{0,80}",
                prop::collection::btree_map("[a-z.]{1,8}", json_value(), 0..5),
            ),
            (".{0,10}", ".{0,20}", proptest::option::of(".{0,10}")),
            (
                file_identity(),
                any::<u64>(),
                proptest::option::of(".{0,30}"),
            ),
        )
            .prop_map(
                |(
                    (id, timestamp, observed, severity_text, severity_number),
                    (body, attributes),
                    (host, source, service),
                    (file, offset, parse_error),
                )| Event {
                    id: EventId(id),
                    timestamp_unix_nano: timestamp,
                    observed_timestamp_unix_nano: observed,
                    severity: Severity {
                        text: severity_text,
                        number: severity_number,
                    },
                    body,
                    attributes: attributes.into_iter().collect(),
                    resource: Resource {
                        host: host.into(),
                        source: source.into(),
                        service: service.map(Into::into),
                    },
                    file,
                    offset,
                    parse_error,
                },
            )
    }

    proptest! {
        #[test]
        fn raw_batches_round_trip(batch in raw_batch()) {
            let bytes = encode_raw_batch(&batch);
            prop_assert_eq!(decode_raw_batch(&bytes), Ok(batch));
        }

        #[test]
        fn event_batches_round_trip(events in prop::collection::vec(event(), 0..8)) {
            let batch = EventBatch { events };
            let bytes = encode_event_batch(&batch);
            prop_assert_eq!(decode_event_batch(&bytes), Ok(batch));
        }

        #[test]
        fn garbage_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
            let _ = decode_raw_batch(&bytes);
            let _ = decode_event_batch(&bytes);
        }

        #[test]
        fn garbage_behind_a_valid_header_is_an_error(body in prop::collection::vec(any::<u8>(), 0..300)) {
            let mut bytes = b"LH\x01\x01".to_vec();
            bytes.extend(&body);
            // Either a clean error or a batch that survives a round trip.
            if let Ok(batch) = decode_raw_batch(&bytes) {
                prop_assert_eq!(decode_raw_batch(&encode_raw_batch(&batch)), Ok(batch));
            }
        }

        #[test]
        fn every_truncation_of_a_batch_is_an_error(batch in raw_batch(), cut in any::<prop::sample::Index>()) {
            let bytes = encode_raw_batch(&batch);
            let cut = cut.index(bytes.len());
            prop_assert!(decode_raw_batch(&bytes[..cut]).is_err());
        }
    }

    #[test]
    fn header_errors_name_what_is_wrong() {
        assert_eq!(
            decode_raw_batch(b"LH"),
            Err(CodecError::TooShort { len: 2 })
        );
        assert_eq!(
            decode_raw_batch(b"{\"x\":1}"),
            Err(CodecError::BadMagic { found: *b"{\"" })
        );
        assert_eq!(
            decode_raw_batch(b"LH\x09\x01"),
            Err(CodecError::UnknownKind { kind: 9 })
        );
        assert_eq!(
            decode_raw_batch(b"LH\x01\x07"),
            Err(CodecError::UnsupportedVersion {
                kind: MessageKind::RawBatch,
                version: 7,
                newest: 2
            })
        );
        let events = encode_event_batch(&EventBatch { events: vec![] });
        assert_eq!(
            decode_raw_batch(&events),
            Err(CodecError::WrongKind {
                expected: MessageKind::RawBatch,
                found: MessageKind::EventBatch
            })
        );
    }

    #[test]
    fn trailing_bytes_are_refused() {
        let batch = RawBatch {
            host: "h".into(),
            source: "s".into(),
            file: FileIdentity {
                device: 1,
                inode: 1,
                fingerprint: 1,
            },
            format_hint: None,
            records: vec![RawRecord {
                offset: 0,
                bytes: vec![0xff, 0xfe],
                flags: RecordFlags {
                    truncated: false,
                    invalid_utf8: true,
                },
            }],
            read_time_unix_nano: 0,
            timezone: None,
            service: None,
        };
        let mut bytes = encode_raw_batch(&batch);
        bytes.push(0);
        assert!(matches!(
            decode_raw_batch(&bytes),
            Err(CodecError::MalformedBody { .. })
        ));
    }

    #[test]
    fn version_one_raw_batch_layout_is_pinned() {
        // Bytes written by version 1 must stay readable by every later build.
        let v1: &[u8] = &[
            b'L', b'H', 1, 1, 1, b'h', 1, b's', 1, 2, 3, 0, 1, 5, 2, b'h', b'i', 0, 0, 9,
        ];
        let batch = decode_raw_batch(v1).expect("v1 layout decodes");
        assert_eq!(batch.host, "h");
        assert_eq!(
            batch.file,
            FileIdentity {
                device: 1,
                inode: 2,
                fingerprint: 3
            }
        );
        assert_eq!(batch.records[0].offset, 5);
        assert_eq!(batch.records[0].bytes, b"hi");
        assert_eq!(batch.read_time_unix_nano, -5);
        assert_eq!((batch.timezone, batch.service), (None, None));
    }

    #[test]
    fn version_two_raw_batch_layout_is_pinned() {
        let v2: &[u8] = &[
            b'L', b'H', 1, 2, 1, b'h', 1, b's', 1, 2, 3, 0, 0, 9, 1, 3, b'+', b'0', b'1', 1, 1,
            b'w',
        ];
        let batch = decode_raw_batch(v2).expect("v2 layout decodes");
        assert!(batch.records.is_empty());
        assert_eq!(batch.timezone.as_deref(), Some("+01"));
        assert_eq!(batch.service.as_deref(), Some("w"));
        assert_eq!(encode_raw_batch(&batch), v2);
    }
}
