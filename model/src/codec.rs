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
//! Version 2 appended the source's time zone and service, version 3 its
//! name; older bodies still decode, with what they lack unset.
//! EventBatch bodies were JSON in version 1; version 2 is the binary layout
//! of `event_codec.rs`, written in a third of the time (`loghaul dead
//! show` decodes either for an operator). A new body layout gets a new
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
            MessageKind::RawBatch => 3,
            MessageKind::EventBatch => 2,
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

pub(crate) fn header(kind: MessageKind) -> Vec<u8> {
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
    let (batch, rest) = match version {
        1 => postcard::take_from_bytes::<RawBatchV1>(body).map(|(v1, rest)| (v1.upgrade(), rest)),
        2 => postcard::take_from_bytes::<RawBatchV2>(body).map(|(v2, rest)| (v2.upgrade(), rest)),
        _ => postcard::take_from_bytes::<RawBatch>(body),
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
            source_name: None,
        }
    }
}

/// The version 2 layout of [`RawBatch`]: without the source's name at the
/// end.
#[derive(serde::Deserialize)]
struct RawBatchV2 {
    host: String,
    source: String,
    file: crate::FileIdentity,
    format_hint: Option<String>,
    records: Vec<crate::RawRecord>,
    read_time_unix_nano: i64,
    timezone: Option<String>,
    service: Option<String>,
}

impl RawBatchV2 {
    fn upgrade(self) -> RawBatch {
        RawBatch {
            host: self.host,
            source: self.source,
            file: self.file,
            format_hint: self.format_hint,
            records: self.records,
            read_time_unix_nano: self.read_time_unix_nano,
            timezone: self.timezone,
            service: self.service,
            source_name: None,
        }
    }
}

pub use crate::event_codec::{
    EventHead, EventTail, EventWriter, decode_stored, encode_stored, pieces,
};

/// Encodes an [`EventBatch`] in the current version.
pub fn encode_event_batch(batch: &EventBatch) -> Vec<u8> {
    crate::event_codec::encode(batch)
}

/// Encodes an [`EventBatch`] in version 1 (JSON), as builds before version
/// 2 wrote it: for fixtures and tests of older peers.
pub fn encode_event_batch_v1(batch: &EventBatch) -> Vec<u8> {
    let mut out = vec![MAGIC[0], MAGIC[1], MessageKind::EventBatch.byte(), 1];
    // Events hold only strings, numbers and JSON maps with string keys.
    serde_json::to_writer(&mut out, batch).unwrap_or_default();
    out
}

/// Decodes an [`EventBatch`] of any supported version.
pub fn decode_event_batch(bytes: &[u8]) -> Result<EventBatch, CodecError> {
    let kind = MessageKind::EventBatch;
    let (version, body) = body_for(bytes, kind)?;
    let malformed = |reason: String| CodecError::MalformedBody {
        kind,
        version,
        reason,
    };
    if version == 1 {
        serde_json::from_slice(body).map_err(|error| malformed(error.to_string()))
    } else {
        crate::event_codec::decode(body).map_err(malformed)
    }
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
            (
                proptest::option::of(".{0,12}"),
                proptest::option::of(".{0,12}"),
            ),
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
                    (service, source_name),
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
                        source_name,
                    }
                },
            )
    }

    /// Attribute values; `floats` only where the body keeps them exact
    /// (version 1's JSON, without serde_json's float_roundtrip, may not).
    fn json_value(floats: bool) -> impl Strategy<Value = serde_json::Value> {
        let float = if floats {
            (-1e300f64..1e300).boxed()
        } else {
            Just(0.5f64).boxed()
        };
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::from),
            any::<i64>().prop_map(serde_json::Value::from),
            any::<u64>().prop_map(serde_json::Value::from),
            float.prop_map(serde_json::Value::from),
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
        event_with(true)
    }

    fn event_with(floats: bool) -> impl Strategy<Value = Event> {
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
                prop::collection::btree_map("[a-z.]{1,8}", json_value(floats), 0..5),
            ),
            (
                ".{0,10}",
                ".{0,20}",
                proptest::option::of(".{0,10}"),
                proptest::option::of(".{0,10}"),
            ),
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
                    (host, source, service, source_name),
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
                        source_name: source_name.map(Into::into),
                    },
                    file,
                    offset,
                    parse_error,
                },
            )
    }

    proptest! {
        /// The stored form gives the event back whole: its id whether
        /// host, file and offset give it or not, and attributes that are
        /// pieces of the body (kept as spans), under known keys or not.
        #[test]
        fn a_stored_event_reads_back_whole(
            mut event in event(),
            derived in any::<bool>(),
            pieces in prop::collection::vec(
                (any::<prop::sample::Index>(), 0usize..40, 0usize..30),
                0..6,
            ),
        ) {
            if derived {
                event.id = EventId::new(&event.resource.host, &event.file, event.offset);
            }
            let chars: Vec<usize> = event.body.char_indices().map(|(at, _)| at).collect();
            for (start, len, key) in pieces {
                if chars.is_empty() {
                    break;
                }
                let from = start.index(chars.len());
                let begin = chars[from];
                let end = chars.get(from + len).copied().unwrap_or(event.body.len());
                let key = match key {
                    0..=2 => format!("custom.key{key}"),
                    known => ["url.original", "client.address", "user_agent.original", "http.request.method"][known % 4].to_owned(),
                };
                let piece = event.body[begin..end].to_owned();
                event.attributes.insert(key, serde_json::Value::String(piece));
            }
            let bytes = encode_stored(&event);
            prop_assert_eq!(decode_stored(&bytes), Ok(event.clone()));
            // Every cut of it is an error, never a panic.
            for cut in 0..bytes.len() {
                prop_assert!(decode_stored(&bytes[..cut]).is_err());
            }
        }

        /// Garbage is an error or an event (which then stores and reads
        /// back as itself), never a panic.
        #[test]
        fn stored_garbage_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
            if let Ok(event) = decode_stored(&bytes) {
                prop_assert_eq!(decode_stored(&encode_stored(&event)), Ok(event));
            }
        }

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
        fn event_batches_of_version_one_still_decode(events in prop::collection::vec(event_with(false), 0..8)) {
            let batch = EventBatch { events };
            let bytes = encode_event_batch_v1(&batch);
            prop_assert_eq!(bytes[3], 1);
            prop_assert_eq!(decode_event_batch(&bytes), Ok(batch));
        }

        #[test]
        fn every_truncation_of_an_event_batch_is_an_error(
            events in prop::collection::vec(event(), 1..4),
            cut in any::<prop::sample::Index>(),
        ) {
            let bytes = encode_event_batch(&EventBatch { events });
            let cut = cut.index(bytes.len());
            prop_assert!(decode_event_batch(&bytes[..cut]).is_err());
        }

        #[test]
        fn garbage_behind_an_event_batch_header_is_an_error(body in prop::collection::vec(any::<u8>(), 0..300)) {
            let mut bytes = b"LH\x02\x02".to_vec();
            bytes.extend(&body);
            if let Ok(batch) = decode_event_batch(&bytes) {
                prop_assert_eq!(decode_event_batch(&encode_event_batch(&batch)), Ok(batch));
            }
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
                newest: 3
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
            source_name: None,
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
        assert_eq!(batch.source_name, None);
        // This build writes version 3: the same fields, then the name.
        let mut v3 = v2.to_vec();
        v3[3] = 3;
        v3.push(0);
        assert_eq!(encode_raw_batch(&batch), v3);
    }

    #[test]
    fn version_three_raw_batch_layout_is_pinned() {
        let v3: &[u8] = &[
            b'L', b'H', 1, 3, 1, b'h', 1, b's', 1, 2, 3, 0, 0, 9, 0, 0, 1, 3, b'w', b'e', b'b',
        ];
        let batch = decode_raw_batch(v3).expect("v3 layout decodes");
        assert_eq!(batch.source_name.as_deref(), Some("web"));
        assert_eq!(encode_raw_batch(&batch), v3);
    }

    #[test]
    fn version_two_event_batch_layout_is_pinned() {
        let v2: &[u8] = &[
            b'L', b'H', 2, 2, 1, // one event
            1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // id 1
            4, 3, // timestamps 2 and -2
            1, 1, b'W', 13, // severity "W", 13
            2, b'h', b'i', // body
            2, 1, b'a', 3, 5, 1, b'b', 8, 1, 1, b'c', 6, 1, b'x', // {"a":5,"b":{"c":"x"}}
            1, 1, b'h', 1, b's', 0, 1, 1, b'n', // resource
            1, 2, 3, 9, 0, // file, offset, no parse error
        ];
        let batch = decode_event_batch(v2).expect("v2 layout decodes");
        let event = &batch.events[0];
        assert_eq!(event.id, EventId(1));
        assert_eq!(
            (
                event.timestamp_unix_nano,
                event.observed_timestamp_unix_nano
            ),
            (2, -2)
        );
        assert_eq!(event.severity.text.as_deref(), Some("W"));
        assert_eq!(
            serde_json::Value::Object(event.attributes.clone()),
            serde_json::json!({"a": 5, "b": {"c": "x"}})
        );
        assert_eq!(event.resource.source_name.as_deref(), Some("n"));
        assert_eq!(event.offset, 9);
        assert_eq!(encode_event_batch(&batch), v2);
    }

    #[test]
    fn event_batch_values_nest_at_most_the_limit() {
        let mut deep = serde_json::Value::Null;
        for _ in 0..200 {
            deep = serde_json::Value::Array(vec![deep]);
        }
        let mut event = Event {
            id: EventId(1),
            timestamp_unix_nano: 0,
            observed_timestamp_unix_nano: 0,
            severity: Severity::default(),
            body: String::new(),
            attributes: serde_json::Map::new(),
            resource: Resource::default(),
            file: FileIdentity {
                device: 0,
                inode: 0,
                fingerprint: 0,
            },
            offset: 0,
            parse_error: None,
        };
        event.attributes.insert("deep".into(), deep);
        let bytes = encode_event_batch(&EventBatch {
            events: vec![event],
        });
        let error = decode_event_batch(&bytes).expect_err("too deep");
        assert!(error.to_string().contains("nest deeper"), "{error}");
    }
}
