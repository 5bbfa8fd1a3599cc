//! One JSON object per line. Well-known keys fill the event's time, level and
//! message; every other key, nested objects included, becomes an attribute.
//!
//! The object is read in one streaming pass: well-known keys and their string
//! values are borrowed from the line, not copied into a map and removed again.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, Visitor};
use serde_json::Value;

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
