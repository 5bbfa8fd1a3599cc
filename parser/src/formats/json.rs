//! One JSON object per line. Well-known keys fill the event's time, level and
//! message; every other key, nested objects included, becomes an attribute.
//!
//! The object is read in one streaming pass: well-known keys and their string
//! values are borrowed from the line, not copied into a map and removed again.
//!
//! Most lines are read by a plain scanner ([`read_plain`]) that writes
//! nested objects and arrays straight into the message encoding, with no
//! `serde_json::Value` built. It declines what it does not read itself
//! (escapes in strings, nesting under a well-known key, anything invalid),
//! and serde_json reads those lines instead; both give the same draft, which
//! the parser's property tests check.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, Visitor};
use serde_json::Value;

use loghaul_model::codec::pieces;

use super::{Draft, Mismatch, Word};
use crate::timestamp::{self, Stamp};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    Time,
    Level,
    Message,
    Other,
}

fn role(key: &str) -> Role {
    match key {
        // Kubernetes events: `eventTime` (often null), else `lastTimestamp`.
        "@timestamp" | "timestamp" | "time" | "ts" | "datetime" | "date" | "eventTime"
        | "lastTimestamp" | "asctime" => Role::Time,
        // PostgreSQL's jsonlog: `error_severity`.
        "level" | "severity" | "lvl" | "loglevel" | "levelname" | "log.level" | "severity_text"
        | "error_severity" => Role::Level,
        "message" | "msg" | "@m" | "text" | "event" => Role::Message,
        _ => Role::Other,
    }
}

pub(super) fn parse(line: &str, draft: &mut Draft) -> Result<(), Mismatch> {
    let trimmed = line.trim();
    if !trimmed.starts_with('{') {
        return Err(Mismatch::new("not a JSON object: it does not start with {"));
    }
    if read_plain(trimmed, draft).is_ok() {
        return Ok(());
    }
    draft.restart();
    read_full(trimmed, draft)
}

/// Reads `trimmed` with serde_json, whatever it holds.
fn read_full(trimmed: &str, draft: &mut Draft) -> Result<(), Mismatch> {
    let mut deserializer = serde_json::Deserializer::from_str(trimmed);
    Fields { draft }
        .deserialize(&mut deserializer)
        .and_then(|()| deserializer.end())
        .map_err(|error| Mismatch::new(format!("invalid JSON: {error}")))?;
    if draft.level().is_none()
        && let Some(Value::Object(log)) = draft.attribute_value_mut("log")
        && let Some(level) = log.remove("level")
    {
        // Elastic Common Schema: {"log": {"level": "info"}}.
        set_level(draft, level);
    }
    Ok(())
}

/// A value, borrowed from the line when it is a string without escapes.
enum Scalar<'de> {
    Text(Cow<'de, str>),
    Other(Value),
}

/// MongoDB's `"s"`: `F`, `E`, `W`, `I`, or `D1`–`D5`.
fn mongo_severity<'a>(value: &'a Scalar<'_>) -> Option<(&'a str, u8)> {
    let text = match value {
        Scalar::Text(text) => text.as_ref(),
        Scalar::Other(Value::String(text)) => text.as_str(),
        Scalar::Other(_) => return None,
    };
    let number = match text {
        "F" => crate::severity::number::FATAL,
        "E" => crate::severity::number::ERROR,
        "W" => crate::severity::number::WARN,
        "I" => crate::severity::number::INFO,
        "D" | "D1" | "D2" | "D3" | "D4" | "D5" => crate::severity::number::DEBUG,
        _ => return None,
    };
    Some((text, number))
}

/// A Kubernetes event's type as a severity: `Normal` info, `Warning` warn.
fn kubernetes_event_type(value: &Scalar<'_>) -> Option<u8> {
    let text = match value {
        Scalar::Text(text) => text.as_ref(),
        Scalar::Other(Value::String(text)) => text.as_str(),
        Scalar::Other(_) => return None,
    };
    match text {
        "Normal" => Some(crate::severity::number::INFO),
        "Warning" => Some(crate::severity::number::WARN),
        _ => None,
    }
}

fn take(key: Cow<'_, str>, value: Scalar<'_>, draft: &mut Draft) {
    // MongoDB 4.4+: {"t":{"$date":…},"s":"W","c":"NETWORK",…,"msg":…}.
    if key == "s"
        && draft.level().is_none()
        && let Some((text, number)) = mongo_severity(&value)
    {
        draft.set_level(text);
        draft.severity_number = Some(number);
        return;
    }
    // Kubernetes events: `"type": "Normal"` or `"Warning"`.
    if key == "type"
        && draft.level().is_none()
        && let Some(number) = kubernetes_event_type(&value)
    {
        draft.set_level(Word(if number == crate::severity::number::WARN {
            "Warning"
        } else {
            "Normal"
        }));
        draft.severity_number = Some(number);
        return;
    }
    if key == "t"
        && draft.stamp.is_none()
        && let Some(stamp) = stamp_of(&value)
    {
        draft.stamp = Some(stamp);
        return;
    }
    match role(&key) {
        Role::Time if draft.stamp.is_none() => {
            if let Some(stamp) = stamp_of(&value) {
                draft.stamp = Some(stamp);
                return;
            }
        }
        Role::Level if draft.level().is_none() => {
            match value {
                Scalar::Text(text) => draft.set_level(text),
                Scalar::Other(other) => set_level(draft, other),
            }
            return;
        }
        Role::Message if draft.body().is_none() => {
            match value {
                Scalar::Text(text) => draft.set_body(text),
                Scalar::Other(Value::String(text)) => draft.set_body(text),
                Scalar::Other(other) => draft.set_body(other.to_string()),
            }
            return;
        }
        _ => {}
    }
    match value {
        Scalar::Text(text) => draft.attribute_named(key, text),
        Scalar::Other(other) => draft.attribute_named(key, other),
    }
}

fn set_level(draft: &mut Draft, level: Value) {
    match level {
        Value::String(text) => draft.set_level(text),
        Value::Number(number) => {
            // pino and bunyan: 10 trace … 60 fatal.
            draft.severity_number = match number.as_u64() {
                Some(10) => Some(crate::severity::number::TRACE),
                Some(20) => Some(crate::severity::number::DEBUG),
                Some(30) => Some(crate::severity::number::INFO),
                Some(40) => Some(crate::severity::number::WARN),
                Some(50) => Some(crate::severity::number::ERROR),
                Some(60) => Some(crate::severity::number::FATAL),
                _ => None,
            };
            draft.set_level(number.to_string());
        }
        other => {
            draft.attribute("level", other);
        }
    }
}

fn stamp_of(value: &Scalar<'_>) -> Option<Stamp> {
    match value {
        Scalar::Text(text) => timestamp::scan(text.trim().as_bytes()).map(|(stamp, _)| stamp),
        Scalar::Other(Value::String(text)) => {
            timestamp::scan(text.trim().as_bytes()).map(|(stamp, _)| stamp)
        }
        Scalar::Other(Value::Number(number)) => {
            timestamp::from_epoch_number(number.as_f64()?).map(Stamp::UnixNano)
        }
        // Extended JSON: {"$date": "2026-…"} or {"$date": {"$numberLong": "…"}}.
        Scalar::Other(Value::Object(object)) => match object.get("$date")? {
            Value::String(text) => timestamp::scan(text.trim().as_bytes()).map(|(stamp, _)| stamp),
            Value::Number(number) => {
                timestamp::from_epoch_number(number.as_f64()?).map(Stamp::UnixNano)
            }
            Value::Object(long) => {
                let millis: f64 = long.get("$numberLong")?.as_str()?.parse().ok()?;
                timestamp::from_epoch_number(millis).map(Stamp::UnixNano)
            }
            _ => None,
        },
        Scalar::Other(_) => None,
    }
}

struct Fields<'a> {
    draft: &'a mut Draft,
}

impl<'de> DeserializeSeed<'de> for Fields<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Fields<'_> {
    type Value = ();

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(Text(key)) = map.next_key::<Text<'de>>()? {
            let value = map.next_value_seed(ScalarSeed)?;
            take(key, value, self.draft);
        }
        Ok(())
    }
}

/// A string, borrowed when the input allows.
struct Text<'de>(Cow<'de, str>);

impl<'de> de::Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextVisitor;
        impl<'de> Visitor<'de> for TextVisitor {
            type Value = Text<'de>;
            fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, text: &'de str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Borrowed(text)))
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(text.to_owned())))
            }
            fn visit_string<E: de::Error>(self, text: String) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(text)))
            }
        }
        deserializer.deserialize_str(TextVisitor)
    }
}

/// Deserialises a value: strings as [`Scalar::Text`], anything else as a
/// `serde_json::Value`.
struct ScalarSeed;

impl<'de> DeserializeSeed<'de> for ScalarSeed {
    type Value = Scalar<'de>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Scalar<'de>, D::Error> {
        deserializer.deserialize_any(ScalarVisitor)
    }
}

struct ScalarVisitor;

impl<'de> Visitor<'de> for ScalarVisitor {
    type Value = Scalar<'de>;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a JSON value")
    }

    fn visit_borrowed_str<E: de::Error>(self, text: &'de str) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Text(Cow::Borrowed(text)))
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Text(Cow::Owned(text.to_owned())))
    }

    fn visit_string<E: de::Error>(self, text: String) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Text(Cow::Owned(text)))
    }

    fn visit_bool<E: de::Error>(self, value: bool) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Other(Value::Bool(value)))
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Other(Value::from(value)))
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Other(Value::from(value)))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Other(Value::from(value)))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Other(Value::Null))
    }

    fn visit_none<E: de::Error>(self) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Other(Value::Null))
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, seq: A) -> Result<Scalar<'de>, A::Error> {
        de::Deserialize::deserialize(de::value::SeqAccessDeserializer::new(seq)).map(Scalar::Other)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Scalar<'de>, A::Error> {
        de::Deserialize::deserialize(de::value::MapAccessDeserializer::new(map)).map(Scalar::Other)
    }
}

/// [`read_plain`] leaves the line to serde_json.
#[derive(Debug)]
struct Declined;

/// How deep [`read_plain`] follows nesting before it leaves the line to
/// serde_json (whose own limit is 128).
const PLAIN_DEPTH: usize = 32;

/// Reads a JSON object line with no escapes in its strings, handing each
/// member to [`take`] as serde_json's reader would, and writing nested
/// objects and arrays (under keys without a role) straight into the message
/// encoding. Declined lines may have left members in the draft: the caller
/// restarts it.
fn read_plain(trimmed: &str, draft: &mut Draft) -> Result<(), Declined> {
    let mut cursor = Cursor {
        text: trimmed,
        at: 0,
        entries: Vec::new(),
    };
    cursor.expect(b'{')?;
    cursor.skip_space();
    if cursor.peek() == Some(b'}') {
        cursor.at += 1;
        return cursor.end();
    }
    loop {
        let key = cursor.string()?;
        cursor.skip_space();
        cursor.expect(b':')?;
        cursor.skip_space();
        match cursor.peek().ok_or(Declined)? {
            b'"' => {
                let text = cursor.string()?;
                take(Cow::Borrowed(key), Scalar::Text(Cow::Borrowed(text)), draft);
            }
            b'{' | b'[' => {
                // Well-known keys read nested values (Extended JSON dates,
                // ECS's log.level): serde_json builds those.
                if role(key) != Role::Other || matches!(key, "t" | "s" | "type" | "log") {
                    return Err(Declined);
                }
                draft
                    .attribute_encoded(key, |out| cursor.nested(out, 1).ok())
                    .ok_or(Declined)?;
            }
            _ => {
                let scalar = cursor.scalar()?;
                take(Cow::Borrowed(key), Scalar::Other(scalar), draft);
            }
        }
        cursor.skip_space();
        match cursor.next()? {
            b',' => cursor.skip_space(),
            b'}' => return cursor.end(),
            _ => return Err(Declined),
        }
    }
}

/// A place in a line being scanned.
struct Cursor<'a> {
    text: &'a str,
    at: usize,
    /// The entries of the nested objects being read, innermost last: each
    /// key and where its entry starts and ends in the output.
    entries: Vec<(&'a str, usize, usize)>,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.at).copied()
    }

    fn next(&mut self) -> Result<u8, Declined> {
        let byte = self.peek().ok_or(Declined)?;
        self.at += 1;
        Ok(byte)
    }

    fn expect(&mut self, byte: u8) -> Result<(), Declined> {
        if self.next()? == byte {
            Ok(())
        } else {
            Err(Declined)
        }
    }

    /// JSON's whitespace: space, tab, newline, carriage return.
    fn skip_space(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    /// Nothing may follow the object.
    fn end(&mut self) -> Result<(), Declined> {
        self.skip_space();
        if self.at == self.text.len() {
            Ok(())
        } else {
            Err(Declined)
        }
    }

    /// A string without escapes or control characters, borrowed.
    fn string(&mut self) -> Result<&'a str, Declined> {
        self.expect(b'"')?;
        let start = self.at;
        let rest = &self.text.as_bytes()[start..];
        let length = memchr::memchr2(b'"', b'\\', rest).ok_or(Declined)?;
        if rest[length] != b'"' || rest[..length].iter().any(|byte| *byte < 0x20) {
            return Err(Declined);
        }
        self.at = start + length + 1;
        // Both ends are ASCII quotes, so the slice is whole characters.
        self.text.get(start..start + length).ok_or(Declined)
    }

    /// `true`, `false`, `null` or a number.
    fn scalar(&mut self) -> Result<Value, Declined> {
        let (word, value) = match self.peek() {
            Some(b't') => ("true", Value::Bool(true)),
            Some(b'f') => ("false", Value::Bool(false)),
            Some(b'n') => ("null", Value::Null),
            _ => return self.number(),
        };
        if self.text.as_bytes()[self.at..].starts_with(word.as_bytes()) {
            self.at += word.len();
            Ok(value)
        } else {
            Err(Declined)
        }
    }

    /// A number: plain integers and short decimals read here, the rest as
    /// serde_json reads them, so both readers agree on every number.
    fn number(&mut self) -> Result<Value, Declined> {
        let start = self.at;
        while matches!(
            self.peek(),
            Some(b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E')
        ) {
            self.at += 1;
        }
        let token = &self.text[start..self.at];
        match plain_number(token.as_bytes()) {
            Some(value) => Ok(value),
            None => serde_json::from_str::<serde_json::Number>(token)
                .map(Value::Number)
                .map_err(|_| Declined),
        }
    }

    /// The object or array here, written into `out` in the message
    /// encoding: entries in ascending key order, the last of equal keys.
    fn nested(&mut self, out: &mut Vec<u8>, depth: usize) -> Result<(), Declined> {
        if depth > PLAIN_DEPTH {
            return Err(Declined);
        }
        let start = out.len();
        let body_end = match self.next()? {
            b'[' => {
                let mut count = 0;
                self.skip_space();
                if self.peek() == Some(b']') {
                    self.at += 1;
                } else {
                    loop {
                        self.value(out, depth)?;
                        count += 1;
                        self.skip_space();
                        match self.next()? {
                            b',' => self.skip_space(),
                            b']' => break,
                            _ => return Err(Declined),
                        }
                    }
                }
                let body_end = out.len();
                pieces::array_header(out, count);
                body_end
            }
            b'{' => {
                let base = self.entries.len();
                self.skip_space();
                if self.peek() == Some(b'}') {
                    self.at += 1;
                } else {
                    loop {
                        let key = self.string()?;
                        self.skip_space();
                        self.expect(b':')?;
                        self.skip_space();
                        let entry = out.len();
                        pieces::key(out, key);
                        self.value(out, depth)?;
                        self.entries.push((key, entry, out.len()));
                        self.skip_space();
                        match self.next()? {
                            b',' => self.skip_space(),
                            b'}' => break,
                            _ => return Err(Declined),
                        }
                    }
                }
                let count = sort_entries(out, start, &mut self.entries[base..]);
                self.entries.truncate(base);
                let body_end = out.len();
                pieces::object_header(out, count);
                body_end
            }
            _ => return Err(Declined),
        };
        // The header, written last, goes before what it counts.
        let header = out.len() - body_end;
        out[start..].rotate_right(header);
        Ok(())
    }

    /// One value of an array or nested object, into `out`.
    fn value(&mut self, out: &mut Vec<u8>, depth: usize) -> Result<(), Declined> {
        match self.peek().ok_or(Declined)? {
            b'"' => {
                let text = self.string()?;
                pieces::text(out, text);
            }
            b'{' | b'[' => self.nested(out, depth + 1)?,
            _ => {
                let scalar = self.scalar()?;
                pieces::value(out, &scalar);
            }
        }
        Ok(())
    }
}

/// Powers of ten a double holds exactly.
const EXACT_POWERS: [f64; 16] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
];

/// `-?[1-9][0-9]*` or `0` within 18 digits, as an integer; `-?digits.digits`
/// of at most 15 digits in all, as the double nearest it (both factors are
/// exact, so one division rounds once, as serde_json's reader does); `None`
/// for anything else.
fn plain_number(token: &[u8]) -> Option<Value> {
    let (negative, digits) = match token.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, token),
    };
    let point = digits.iter().position(|byte| *byte == b'.');
    let (whole, fraction) = match point {
        Some(at) => (&digits[..at], &digits[at + 1..]),
        None => (digits, &[][..]),
    };
    let all_digits = |part: &[u8]| !part.is_empty() && part.iter().all(u8::is_ascii_digit);
    if !all_digits(whole) || (whole.len() > 1 && whole[0] == b'0') {
        return None;
    }
    let fold = |sum: u64, digit: &u8| sum * 10 + u64::from(digit - b'0');
    match point {
        None if whole.len() <= 18 => {
            let magnitude = whole.iter().fold(0, fold);
            match (negative, magnitude) {
                (false, _) => Some(Value::from(magnitude)),
                // serde_json reads -0 as a double.
                (true, 0) => None,
                (true, _) => Some(Value::from(-(magnitude as i64))),
            }
        }
        Some(_) if all_digits(fraction) && whole.len() + fraction.len() <= 15 => {
            let mantissa = fraction.iter().fold(whole.iter().fold(0, fold), fold);
            let magnitude = mantissa as f64 / EXACT_POWERS[fraction.len()];
            serde_json::Number::from_f64(if negative { -magnitude } else { magnitude })
                .map(Value::Number)
        }
        _ => None,
    }
}

/// Puts the entries written at `out[start..]` in ascending key order,
/// keeping the last of equal keys (as a `serde_json::Map` does); how many
/// are kept.
fn sort_entries(out: &mut Vec<u8>, start: usize, entries: &mut [(&str, usize, usize)]) -> usize {
    if entries.windows(2).all(|pair| pair[0].0 < pair[1].0) {
        return entries.len();
    }
    // Stable: of equal keys, the one written last stays last.
    entries.sort_by(|a, b| a.0.cmp(b.0));
    let mut sorted = Vec::with_capacity(out.len() - start);
    let mut kept = 0;
    for (index, (key, from, to)) in entries.iter().enumerate() {
        if entries.get(index + 1).is_none_or(|next| next.0 != *key) {
            sorted.extend_from_slice(&out[*from..*to]);
            kept += 1;
        }
    }
    out.truncate(start);
    out.extend_from_slice(&sorted);
    kept
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// What a read leaves in the draft that an event or a message shows.
    fn outcome(line: &str, read: fn(&str, &mut Draft) -> Result<(), Mismatch>) -> String {
        let mut draft = Draft::default();
        draft.start(line);
        let trimmed = line.trim();
        if read(trimmed, &mut draft).is_err() {
            return "refused".into();
        }
        let mut writer = loghaul_model::codec::EventWriter::new(1, 64);
        draft.write_attributes(&mut writer);
        format!(
            "{:?} {:?} {:?} {:?} {} {:?}",
            draft.stamp,
            draft.level(),
            draft.severity_number,
            draft.body(),
            serde_json::Value::Object(draft.attributes()),
            writer.finish()
        )
    }

    /// The reader as the parser runs it: the plain scanner, else serde_json.
    fn both(trimmed: &str, draft: &mut Draft) -> Result<(), Mismatch> {
        if read_plain(trimmed, draft).is_ok() {
            return Ok(());
        }
        draft.restart();
        read_full(trimmed, draft)
    }

    fn scalar() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("null".to_owned()),
            Just("true".to_owned()),
            Just("false".to_owned()),
            Just("tru".to_owned()),
            any::<u64>().prop_map(|n| n.to_string()),
            any::<i64>().prop_map(|n| n.to_string()),
            any::<f64>().prop_map(|n| n.to_string()),
            "-?(0|[1-9][0-9]{0,21})(\\.[0-9]{1,5})?([eE][+-]?[0-9]{1,3})?",
            "[-+0-9.eE]{1,6}",
            // Strings: plain, with escapes, quotes, control characters,
            // non-ASCII; some of them not valid JSON.
            "\"[a-zA-Z0-9 é€/:._-]{0,12}\"",
            "\"[a-z\\\\\"\\t\\u{1}ü]{0,8}\"",
            "\"(\\\\[nt\"\\\\/]|\\\\u00e9|[a-z])*\"",
            Just("\"2026-11-30T23:59:59.999999999Z\"".to_owned()),
            Just("\"ERROR\"".to_owned()),
            Just("\"W\"".to_owned()),
            Just("1764547199".to_owned()),
        ]
    }

    fn key() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-c]{1,2}",
            Just("time".to_owned()),
            Just("level".to_owned()),
            Just("msg".to_owned()),
            Just("message".to_owned()),
            Just("t".to_owned()),
            Just("s".to_owned()),
            Just("type".to_owned()),
            Just("log".to_owned()),
            Just("http".to_owned()),
            Just("é".to_owned()),
            Just("a\\\"b".to_owned()),
        ]
    }

    fn value() -> impl Strategy<Value = String> {
        scalar().prop_recursive(3, 24, 5, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4)
                    .prop_map(|items| format!("[{}]", items.join(","))),
                prop::collection::vec((key(), inner), 0..5).prop_map(|entries| {
                    let entries: Vec<String> = entries
                        .into_iter()
                        .map(|(key, value)| format!("\"{key}\":{value}"))
                        .collect();
                    format!("{{{}}}", entries.join(" , "))
                }),
                Just("{\"$date\":\"2026-12-01T00:00:00Z\"}".to_owned()),
                Just("{\"level\":\"warn\"}".to_owned()),
            ]
        })
    }

    fn line() -> impl Strategy<Value = String> {
        (
            prop::collection::vec((key(), value()), 0..7),
            prop_oneof![
                Just(""),
                Just(" "),
                Just("\t"),
                Just("x"),
                Just(","),
                Just("}")
            ],
            any::<prop::sample::Index>(),
            any::<bool>(),
        )
            .prop_map(|(entries, tail, cut, truncate)| {
                let entries: Vec<String> = entries
                    .into_iter()
                    .map(|(key, value)| format!("\"{key}\": {value}"))
                    .collect();
                let line = format!("{{ {} }}{tail}", entries.join(","));
                if truncate {
                    let at = cut.index(line.len() + 1);
                    line.get(..at).unwrap_or(&line).to_owned()
                } else {
                    line
                }
            })
    }

    /// Scalars the plain scanner reads itself.
    fn plain_scalar() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("null".to_owned()),
            Just("true".to_owned()),
            Just("false".to_owned()),
            any::<u64>().prop_map(|n| n.to_string()),
            any::<i64>().prop_map(|n| n.to_string()),
            prop::num::f64::NORMAL.prop_map(|n| n.to_string()),
            "-?(0|[1-9][0-9]{0,21})(\\.[0-9]{1,5})?([eE][+-]?[0-9]{1,2})?",
            "\"[a-zA-Z0-9 é€/:._-]{0,12}\"",
            Just("\"2026-11-30T23:59:59.999999999Z\"".to_owned()),
            Just("\"ERROR\"".to_owned()),
            Just("1764547199".to_owned()),
        ]
    }

    fn plain_nested() -> impl Strategy<Value = String> {
        plain_scalar().prop_recursive(3, 24, 5, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4)
                    .prop_map(|items| format!("[{}]", items.join(", "))),
                prop::collection::vec(("[a-c]{1,2}|é|time|level", inner), 0..5).prop_map(
                    |entries| {
                        let entries: Vec<String> = entries
                            .into_iter()
                            .map(|(key, value)| format!("\"{key}\" :{value}"))
                            .collect();
                        format!("{{{}}}", entries.join(","))
                    }
                ),
            ]
        })
    }

    /// Lines with no escapes and nesting only under keys without a role.
    fn plain_line() -> impl Strategy<Value = String> {
        let member = prop_oneof![
            ("[a-c]{1,2}|é|http", plain_nested()),
            ("time|level|msg|message|t|s|type|log", plain_scalar()),
        ];
        prop::collection::vec(member, 0..7).prop_map(|entries| {
            let entries: Vec<String> = entries
                .into_iter()
                .map(|(key, value)| format!("\"{key}\":{value}"))
                .collect();
            format!("{{{}}}", entries.join(" ,\t"))
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// Every number the scanner reads itself is the number serde_json
        /// reads, to the bit.
        #[test]
        fn plain_numbers_are_serde_json_numbers(
            token in prop_oneof![
                "-?[0-9]{1,20}(\\.[0-9]{0,16})?",
                prop::num::f64::ANY.prop_map(|n| n.to_string()),
                any::<i64>().prop_map(|n| n.to_string()),
            ]
        ) {
            if let Some(value) = plain_number(token.as_bytes()) {
                let serde: Value = serde_json::from_str(&token).expect("serde_json reads it");
                let bits = |value: &Value| value.as_f64().map(f64::to_bits);
                prop_assert_eq!(&value, &serde, "{}", token);
                prop_assert_eq!(bits(&value), bits(&serde), "{}", token);
                prop_assert_eq!(value.is_u64(), serde.is_u64());
                prop_assert_eq!(value.is_i64(), serde.is_i64());
            }
        }

        /// Lines without escapes are read by the plain scanner alone, and
        /// it leaves what serde_json would.
        #[test]
        fn plain_lines_are_read_plainly_as_serde_json_reads_them(line in plain_line()) {
            let mut draft = Draft::default();
            draft.start(&line);
            prop_assert!(read_plain(&line, &mut draft).is_ok(), "declined {}", line);
            prop_assert_eq!(outcome(&line, both), outcome(&line, read_full), "{}", line);
        }

        /// Whatever the line, the plain scanner with serde_json behind it
        /// leaves what serde_json alone leaves: the same refusals, time,
        /// level, message, attributes and message bytes.
        #[test]
        fn the_plain_scanner_reads_as_serde_json_does(line in line()) {
            prop_assert_eq!(outcome(&line, both), outcome(&line, read_full), "{}", line);
        }
    }

    #[test]
    fn common_lines_are_read_without_serde_json() {
        for line in [
            r#"{"time":"2026-11-22T10:00:00.123Z","level":"info","msg":"order 7 paid","service":"orders","user_id":7,"duration_ms":12.5,"http":{"method":"GET","path":"/api","status":200}}"#,
            r#"{"b":[1,-2,3.5e3,"x",null,true,{"z":1,"a":2,"z":3}],"a":{}}"#,
            "{}",
        ] {
            let mut draft = Draft::default();
            draft.start(line);
            assert!(read_plain(line, &mut draft).is_ok(), "{line}");
            assert_eq!(outcome(line, both), outcome(line, read_full), "{line}");
        }
        // Nested keys are sorted and the last of two equal ones wins.
        let line = r#"{"b":{"z":1,"a":2,"z":3}}"#;
        let mut draft = Draft::default();
        draft.start(line);
        read_plain(line, &mut draft).expect("read");
        assert_eq!(
            serde_json::Value::Object(draft.attributes()).to_string(),
            r#"{"b":{"a":2,"z":3}}"#
        );
        // Escapes are left to serde_json.
        let line = r#"{"msg":"a \"quoted\" word"}"#;
        let mut draft = Draft::default();
        draft.start(line);
        assert!(read_plain(line, &mut draft).is_err());
    }
}
