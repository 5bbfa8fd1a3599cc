//! The binary body of [`EventBatch`] version 2.
//!
//! Version 1 bodies were JSON, and writing them took as long as parsing the
//! records did. Version 2 writes each field in order, with no names:
//!
//! ```text
//! batch     varint count, then count events
//! event     id (16 bytes, little-endian u128)
//!           timestamp, observed timestamp (zigzag varints)
//!           severity text (option string), severity number (1 byte)
//!           body (string)
//!           attributes (object)
//!           resource: 1 byte 0 = as the previous event's, 1 = follows:
//!               host, source (strings), service, source name (option strings)
//!           file: device, inode, fingerprint (varints)
//!           offset (varint)
//!           parse error (option string)
//! string    varint length, then UTF-8 bytes
//! option    1 byte 0 (none) or 1 (some), then the value
//! value     1 byte tag: 0 null, 1 false, 2 true, 3 u64 (varint),
//!           4 i64 (zigzag varint), 5 f64 (8 bytes, little-endian),
//!           6 string, 7 array (varint count, values),
//!           8 object (varint count, then string key and value each),
//!           9 number as text (string)
//! ```
//!
//! Decoding checks every length against the bytes left, so garbage is an
//! error, never a panic or a large allocation; values nest at most
//! [`MAX_DEPTH`] deep, as serde_json's own limit.

use std::sync::Arc;

use serde_json::{Map, Number, Value};

use crate::{Event, EventBatch, EventId, FileIdentity, Resource, Severity};

/// How deep attribute values may nest.
pub(crate) const MAX_DEPTH: usize = 128;

use crate::encoder::{optional_string, string, varint, zigzag};

fn unzigzag(value: u64) -> i64 {
    ((value >> 1) as i64) ^ -((value & 1) as i64)
}

fn value(out: &mut Vec<u8>, item: &Value) {
    match item {
        Value::Null => out.push(0),
        Value::Bool(false) => out.push(1),
        Value::Bool(true) => out.push(2),
        Value::Number(number) => {
            if let Some(unsigned) = number.as_u64() {
                out.push(3);
                varint(out, unsigned);
            } else if let Some(signed) = number.as_i64() {
                out.push(4);
                varint(out, zigzag(signed));
            } else if let Some(float) = number.as_f64().filter(|float| float.is_finite()) {
                out.push(5);
                out.extend_from_slice(&float.to_le_bytes());
            } else {
                out.push(9);
                string(out, &number.to_string());
            }
        }
        Value::String(text) => {
            out.push(6);
            string(out, text);
        }
        Value::Array(items) => {
            out.push(7);
            varint(out, items.len() as u64);
            for item in items {
                value(out, item);
            }
        }
        Value::Object(map) => {
            out.push(8);
            object(out, map);
        }
    }
}

fn object(out: &mut Vec<u8>, map: &Map<String, Value>) {
    varint(out, map.len() as u64);
    for (key, item) in map {
        string(out, key);
        value(out, item);
    }
}

/// Attribute values written piece by piece in this encoding, for a parser
/// that reads nested JSON straight into it instead of building a
/// `serde_json::Value` first. Written as [`value`] would write the `Value`
/// (an object's entries in ascending key order, no key twice), the pieces
/// are bytes [`EventWriter::encoded_value`] takes and [`decode`] reads.
pub mod pieces {
    use serde_json::{Number, Value};

    use crate::encoder::{string, varint};

    /// A whole value.
    pub fn value(out: &mut Vec<u8>, item: &Value) {
        super::value(out, item);
    }

    /// A number, as its `Value` would be written.
    pub fn number(out: &mut Vec<u8>, number: &Number) {
        super::value(out, &Value::Number(number.clone()));
    }

    /// A string value.
    pub fn text(out: &mut Vec<u8>, text: &str) {
        out.push(6);
        string(out, text);
    }

    /// What starts an array of `count` values (which follow).
    pub fn array_header(out: &mut Vec<u8>, count: usize) {
        out.push(7);
        varint(out, count as u64);
    }

    /// What starts an object of `count` entries (which follow, each a
    /// [`key`] and a value).
    pub fn object_header(out: &mut Vec<u8>, count: usize) {
        out.push(8);
        varint(out, count as u64);
    }

    /// An object entry's key.
    pub fn key(out: &mut Vec<u8>, key: &str) {
        string(out, key);
    }

    /// The one value `bytes` hold.
    pub fn decode(bytes: &[u8]) -> Result<Value, String> {
        let mut reader = super::Reader { bytes, at: 0 };
        let item = reader.value(0)?;
        if reader.at != bytes.len() {
            return Err(format!("{} trailing bytes", bytes.len() - reader.at));
        }
        Ok(item)
    }
}

/// The whole `EventBatch` message of `batch`, version 2.
pub(crate) fn encode(batch: &EventBatch) -> Vec<u8> {
    // Most of a batch is its bodies; the rest is a few dozen bytes an event.
    let estimate: usize = batch
        .events
        .iter()
        .map(|event| event.body.len() + 64 + 24 * event.attributes.len())
        .sum();
    let mut writer = EventWriter::new(batch.events.len(), estimate);
    for event in &batch.events {
        writer.head(&EventHead {
            id: event.id,
            timestamp_unix_nano: event.timestamp_unix_nano,
            observed_timestamp_unix_nano: event.observed_timestamp_unix_nano,
            severity_text: event.severity.text.as_deref(),
            severity_number: event.severity.number,
            body: &event.body,
        });
        writer.attribute_count(event.attributes.len());
        for (key, item) in &event.attributes {
            writer.key(key);
            writer.value(item);
        }
        writer.tail(&EventTail {
            resource: &event.resource,
            file: event.file,
            offset: event.offset,
            parse_error: event.parse_error.as_deref(),
        });
    }
    writer.finish()
}

/// The fields of an event that come before its attributes.
#[derive(Clone, Copy, Debug)]
pub struct EventHead<'a> {
    /// The record's id.
    pub id: EventId,
    /// The record's own time.
    pub timestamp_unix_nano: i64,
    /// The read time.
    pub observed_timestamp_unix_nano: i64,
    /// The level as written.
    pub severity_text: Option<&'a str>,
    /// The normalised severity.
    pub severity_number: u8,
    /// The message.
    pub body: &'a str,
}

/// The fields of an event that come after its attributes.
#[derive(Clone, Copy, Debug)]
pub struct EventTail<'a> {
    /// Host, source, service and source name.
    pub resource: &'a Resource,
    /// The file the record was read from.
    pub file: FileIdentity,
    /// The record's first byte in that file.
    pub offset: u64,
    /// Why parsing failed, if it did.
    pub parse_error: Option<&'a str>,
}

/// Writes an `EventBatch` message (version 2) event by event, straight from
/// borrowed parts, so a parser need not build each [`Event`] first.
///
/// Each event is [`head`](Self::head), then
/// [`attribute_count`](Self::attribute_count) and that many
/// [`key`](Self::key)/value pairs in ascending key order with no key twice
/// (as a `serde_json::Map` iterates), then [`tail`](Self::tail); exactly
/// the count given to [`new`](Self::new) of them. Written that way, the
/// bytes equal `codec::encode_event_batch` of the same events, which the
/// parser's tests check.
#[derive(Debug)]
pub struct EventWriter {
    out: Vec<u8>,
    previous: Option<Resource>,
}

impl EventWriter {
    /// A message of `count` events, with room for about `bytes_hint` bytes.
    pub fn new(count: usize, bytes_hint: usize) -> Self {
        let mut out = crate::codec::header(crate::codec::MessageKind::EventBatch);
        out.reserve(bytes_hint);
        varint(&mut out, count as u64);
        Self {
            out,
            previous: None,
        }
    }

    /// Starts an event.
    pub fn head(&mut self, head: &EventHead<'_>) {
        let out = &mut self.out;
        out.extend_from_slice(&head.id.0.to_le_bytes());
        varint(out, zigzag(head.timestamp_unix_nano));
        varint(out, zigzag(head.observed_timestamp_unix_nano));
        optional_string(out, head.severity_text);
        out.push(head.severity_number);
        string(out, head.body);
    }

    /// How many attributes follow.
    pub fn attribute_count(&mut self, count: usize) {
        varint(&mut self.out, count as u64);
    }

    /// An attribute's key.
    pub fn key(&mut self, key: &str) {
        string(&mut self.out, key);
    }

    /// An attribute's value.
    pub fn value(&mut self, item: &Value) {
        value(&mut self.out, item);
    }

    /// An attribute's value written with [`pieces`].
    pub fn encoded_value(&mut self, bytes: &[u8]) {
        self.out.extend_from_slice(bytes);
    }

    /// An attribute's value that is a string.
    pub fn string_value(&mut self, text: &str) {
        self.out.push(6);
        string(&mut self.out, text);
    }

    /// Ends an event. A resource equal to the previous event's is written
    /// as one byte.
    pub fn tail(&mut self, tail: &EventTail<'_>) {
        let out = &mut self.out;
        if self
            .previous
            .as_ref()
            .is_some_and(|previous| same_resource(previous, tail.resource))
        {
            out.push(0);
        } else {
            out.push(1);
            let resource = tail.resource;
            string(out, &resource.host);
            string(out, &resource.source);
            optional_string(out, resource.service.as_deref());
            optional_string(out, resource.source_name.as_deref());
            self.previous = Some(resource.clone());
        }
        varint(out, tail.file.device);
        varint(out, tail.file.inode);
        varint(out, tail.file.fingerprint);
        varint(out, tail.offset);
        optional_string(out, tail.parse_error);
    }

    /// The message.
    pub fn finish(self) -> Vec<u8> {
        self.out
    }
}

/// Whether two resources are equal, comparing pointers first: the events of
/// one batch share one resource's strings.
fn same_resource(a: &Resource, b: &Resource) -> bool {
    let same = |x: &Arc<str>, y: &Arc<str>| Arc::ptr_eq(x, y) || x == y;
    let same_option = |x: &Option<Arc<str>>, y: &Option<Arc<str>>| match (x, y) {
        (Some(x), Some(y)) => same(x, y),
        (None, None) => true,
        _ => false,
    };
    same(&a.host, &b.host)
        && same(&a.source, &b.source)
        && same_option(&a.service, &b.service)
        && same_option(&a.source_name, &b.source_name)
}

/// Reads a version 2 body.
pub(crate) fn decode(bytes: &[u8]) -> Result<EventBatch, String> {
    let mut reader = Reader { bytes, at: 0 };
    let count = reader.count(1)?;
    let mut events = Vec::with_capacity(count);
    let mut previous: Option<Resource> = None;
    for _ in 0..count {
        let id = EventId(u128::from_le_bytes(reader.array::<16>()?));
        let timestamp_unix_nano = unzigzag(reader.varint()?);
        let observed_timestamp_unix_nano = unzigzag(reader.varint()?);
        let text = reader.optional_string()?;
        let number = reader.byte()?;
        let body = reader.string()?.to_owned();
        let attributes = reader.object(0)?;
        let resource = match reader.byte()? {
            0 => previous
                .clone()
                .ok_or("the first event refers to a previous resource")?,
            1 => {
                let resource = reader.resource()?;
                previous = Some(resource.clone());
                resource
            }
            other => return Err(format!("resource flag {other} at byte {}", reader.at)),
        };
        let file = reader.file()?;
        let offset = reader.varint()?;
        let parse_error = reader.optional_string()?.map(str::to_owned);
        events.push(Event {
            id,
            timestamp_unix_nano,
            observed_timestamp_unix_nano,
            severity: Severity {
                text: text.map(str::to_owned),
                number,
            },
            body,
            attributes,
            resource,
            file,
            offset,
            parse_error,
        });
    }
    if reader.at != bytes.len() {
        return Err(format!("{} trailing bytes", bytes.len() - reader.at));
    }
    Ok(EventBatch { events })
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn left(&self) -> usize {
        self.bytes.len() - self.at
    }

    fn truncated(&self) -> String {
        format!("truncated at byte {}", self.at)
    }

    fn byte(&mut self) -> Result<u8, String> {
        let byte = *self.bytes.get(self.at).ok_or_else(|| self.truncated())?;
        self.at += 1;
        Ok(byte)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], String> {
        let slice = self
            .bytes
            .get(self.at..self.at + N)
            .ok_or_else(|| self.truncated())?;
        self.at += N;
        let mut array = [0u8; N];
        array.copy_from_slice(slice);
        Ok(array)
    }

    fn varint(&mut self) -> Result<u64, String> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.byte()?;
            let bits = u64::from(byte & 0x7f);
            if shift == 63 && bits > 1 {
                return Err(format!("varint overflows 64 bits at byte {}", self.at));
            }
            value |= bits << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(format!("varint longer than 10 bytes at byte {}", self.at))
    }

    /// A count of items each at least `min_bytes` long: never more than the
    /// bytes left could hold, so garbage cannot make a huge allocation.
    fn count(&mut self, min_bytes: usize) -> Result<usize, String> {
        let count = self.varint()?;
        usize::try_from(count)
            .ok()
            .filter(|count| count.saturating_mul(min_bytes) <= self.left())
            .ok_or_else(|| format!("count {count} exceeds the bytes left at byte {}", self.at))
    }

    fn string(&mut self) -> Result<&'a str, String> {
        let len = self.count(1)?;
        let slice = &self.bytes[self.at..self.at + len];
        let text = std::str::from_utf8(slice)
            .map_err(|error| format!("invalid UTF-8 at byte {}: {error}", self.at))?;
        self.at += len;
        Ok(text)
    }

    /// Host, source (strings), service and source name (option strings).
    fn resource(&mut self) -> Result<Resource, String> {
        Ok(Resource {
            host: Arc::from(self.string()?),
            source: Arc::from(self.string()?),
            service: self.optional_string()?.map(Arc::from),
            source_name: self.optional_string()?.map(Arc::from),
        })
    }

    /// Device, inode and fingerprint (varints).
    fn file(&mut self) -> Result<FileIdentity, String> {
        Ok(FileIdentity {
            device: self.varint()?,
            inode: self.varint()?,
            fingerprint: self.varint()?,
        })
    }

    fn optional_string(&mut self) -> Result<Option<&'a str>, String> {
        match self.byte()? {
            0 => Ok(None),
            1 => self.string().map(Some),
            other => Err(format!("option flag {other} at byte {}", self.at - 1)),
        }
    }

    fn object(&mut self, depth: usize) -> Result<Map<String, Value>, String> {
        // A key and a value take at least two bytes.
        let count = self.count(2)?;
        let mut map = Map::new();
        for _ in 0..count {
            let key = self.string()?.to_owned();
            let item = self.value(depth + 1)?;
            map.insert(key, item);
        }
        Ok(map)
    }

    fn value(&mut self, depth: usize) -> Result<Value, String> {
        if depth > MAX_DEPTH {
            return Err(format!("values nest deeper than {MAX_DEPTH}"));
        }
        let at = self.at;
        Ok(match self.byte()? {
            0 => Value::Null,
            1 => Value::Bool(false),
            2 => Value::Bool(true),
            3 => Value::from(self.varint()?),
            4 => Value::from(unzigzag(self.varint()?)),
            5 => Number::from_f64(f64::from_le_bytes(self.array::<8>()?))
                .map(Value::Number)
                .ok_or_else(|| format!("a float that is not finite at byte {at}"))?,
            6 => Value::String(self.string()?.to_owned()),
            7 => {
                let count = self.count(1)?;
                let mut items = Vec::with_capacity(count);
                for _ in 0..count {
                    items.push(self.value(depth + 1)?);
                }
                Value::Array(items)
            }
            8 => Value::Object(self.object(depth)?),
            9 => {
                let text = self.string()?;
                Value::Number(
                    text.parse::<Number>()
                        .map_err(|error| format!("number {text:?} at byte {at}: {error}"))?,
                )
            }
            other => return Err(format!("value tag {other} at byte {at}")),
        })
    }
}

/// Attribute keys the parsers write, numbered for [`encode_stored`]: a key
/// in this list is stored as its place. Only ever append to it: stored
/// events name keys by place.
const KNOWN_KEYS: [&str; 27] = [
    "process.pid",
    "logger",
    "thread.name",
    "thread.id",
    "syslog.hostname",
    "syslog.appname",
    "log.format",
    "http.response.status_code",
    "code.location",
    "client.address",
    "user_agent.original",
    "user.name",
    "url.original",
    "syslog.sd",
    "syslog.procid",
    "network.protocol",
    "log.truncated",
    "level",
    "ident",
    "http.response.body.size",
    "http.request.referrer",
    "http.request.method",
    "http.request.line",
    "db.user",
    "db.name",
    "apache.module",
    "duration_ms",
];

/// The value tag of a string that is a span of the body.
const SPAN: u8 = 10;

/// Strings shorter than this are written out: a span would be no smaller.
const MIN_SPAN: usize = 4;

/// The stored form of `event`, as day indexes keep it (see
/// [`decode_stored`]). Most of an access log's attributes are pieces of
/// its line: they are kept as spans of the body, not a second time.
///
/// ```text
/// version    1 byte: 1
/// id         1 byte 0 = the one host, file and offset give, 1 = 16 bytes follow
/// timestamp  zigzag varint; observed: zigzag varint of observed - timestamp
/// severity   text (option string), number (1 byte)
/// body       string
/// attributes varint count; each a key (varint: 0 = a string follows,
///            n = KNOWN_KEYS[n - 1]) and a value (as version 2, or tag 10,
///            a span of the body: varint start, varint length in bytes)
/// resource   host, source (strings), service, source name (option strings)
/// file       device, inode, fingerprint (varints); offset (varint)
/// parse error (option string)
/// ```
pub fn encode_stored(event: &Event) -> Vec<u8> {
    let mut out = Vec::with_capacity(event.body.len() + 64 + 8 * event.attributes.len());
    out.push(1);
    let derived = EventId::new(&event.resource.host, &event.file, event.offset);
    if event.id == derived {
        out.push(0);
    } else {
        out.push(1);
        out.extend_from_slice(&event.id.0.to_le_bytes());
    }
    varint(&mut out, zigzag(event.timestamp_unix_nano));
    varint(
        &mut out,
        zigzag(
            event
                .observed_timestamp_unix_nano
                .wrapping_sub(event.timestamp_unix_nano),
        ),
    );
    optional_string(&mut out, event.severity.text.as_deref());
    out.push(event.severity.number);
    string(&mut out, &event.body);
    varint(&mut out, event.attributes.len() as u64);
    for (key, item) in &event.attributes {
        match KNOWN_KEYS.iter().position(|known| known == key) {
            Some(place) => varint(&mut out, place as u64 + 1),
            None => {
                out.push(0);
                string(&mut out, key);
            }
        }
        match item {
            Value::String(text) if text.len() >= MIN_SPAN => match event.body.find(text.as_str()) {
                Some(start) => {
                    out.push(SPAN);
                    varint(&mut out, start as u64);
                    varint(&mut out, text.len() as u64);
                }
                None => value(&mut out, item),
            },
            _ => value(&mut out, item),
        }
    }
    string(&mut out, &event.resource.host);
    string(&mut out, &event.resource.source);
    optional_string(&mut out, event.resource.service.as_deref());
    optional_string(&mut out, event.resource.source_name.as_deref());
    varint(&mut out, event.file.device);
    varint(&mut out, event.file.inode);
    varint(&mut out, event.file.fingerprint);
    varint(&mut out, event.offset);
    optional_string(&mut out, event.parse_error.as_deref());
    out
}

/// The event [`encode_stored`] wrote. Garbage is an error, never a panic.
pub fn decode_stored(bytes: &[u8]) -> Result<Event, String> {
    let mut reader = Reader { bytes, at: 0 };
    let version = reader.byte()?;
    if version != 1 {
        return Err(format!(
            "stored event version {version}, this build reads 1"
        ));
    }
    let id = match reader.byte()? {
        0 => None,
        1 => Some(EventId(u128::from_le_bytes(reader.array::<16>()?))),
        other => return Err(format!("id flag {other}")),
    };
    let timestamp_unix_nano = unzigzag(reader.varint()?);
    let observed_timestamp_unix_nano = timestamp_unix_nano.wrapping_add(unzigzag(reader.varint()?));
    let text = reader.optional_string()?;
    let number = reader.byte()?;
    let body = reader.string()?;
    let count = reader.count(2)?;
    let mut attributes = Map::new();
    for _ in 0..count {
        let key = match reader.varint()? {
            0 => reader.string()?.to_owned(),
            place => KNOWN_KEYS
                .get(usize::try_from(place - 1).unwrap_or(usize::MAX))
                .ok_or_else(|| format!("known key {place} is not in this build's list"))?
                .to_string(),
        };
        let item = if reader.bytes.get(reader.at) == Some(&SPAN) {
            reader.at += 1;
            let start = usize::try_from(reader.varint()?).unwrap_or(usize::MAX);
            let len = usize::try_from(reader.varint()?).unwrap_or(usize::MAX);
            let span = start
                .checked_add(len)
                .and_then(|end| body.get(start..end))
                .ok_or_else(|| format!("span {start}+{len} is not within the body"))?;
            Value::String(span.to_owned())
        } else {
            reader.value(1)?
        };
        attributes.insert(key, item);
    }
    let resource = reader.resource()?;
    let file = reader.file()?;
    let offset = reader.varint()?;
    let parse_error = reader.optional_string()?.map(str::to_owned);
    if reader.at != bytes.len() {
        return Err(format!("{} trailing bytes", bytes.len() - reader.at));
    }
    Ok(Event {
        id: id.unwrap_or_else(|| EventId::new(&resource.host, &file, offset)),
        timestamp_unix_nano,
        observed_timestamp_unix_nano,
        severity: Severity {
            text: text.map(str::to_owned),
            number,
        },
        body: body.to_owned(),
        attributes,
        resource,
        file,
        offset,
        parse_error,
    })
}
