//! One JSON object per line. Well-known keys fill the event's time, level and
//! message; every other key, nested objects included, becomes an attribute.

use serde_json::{Map, Value};

use super::{Draft, Mismatch};
use crate::timestamp::{self, Stamp};

const TIME_KEYS: [&str; 8] = [
    "@timestamp",
    "timestamp",
    "time",
    "ts",
    "datetime",
    "date",
    "eventTime",
    "asctime",
];
const LEVEL_KEYS: [&str; 7] = [
    "level",
    "severity",
    "lvl",
    "loglevel",
    "levelname",
    "log.level",
    "severity_text",
];
const MESSAGE_KEYS: [&str; 5] = ["message", "msg", "@m", "text", "event"];

pub(super) fn parse(line: &str, draft: &mut Draft) -> Result<(), Mismatch> {
    let trimmed = line.trim();
    if !trimmed.starts_with('{') {
        return Err(Mismatch::new("not a JSON object: it does not start with {"));
    }
    let mut object: Map<String, Value> = serde_json::from_str(trimmed)
        .map_err(|error| Mismatch::new(format!("invalid JSON: {error}")))?;
    fill(&mut object, draft);
    draft.attributes = object;
    Ok(())
}

/// Moves the well-known keys of `object` into `draft`.
pub(super) fn fill(object: &mut Map<String, Value>, draft: &mut Draft) {
    for key in TIME_KEYS {
        if let Some(value) = object.get(key)
            && let Some(stamp) = stamp_of(value)
        {
            draft.stamp = Some(stamp);
            object.remove(key);
            break;
        }
    }
    let mut level = take_first(object, &LEVEL_KEYS);
    if level.is_none()
        && let Some(Value::Object(log)) = object.get_mut("log")
    {
        // Elastic Common Schema: {"log": {"level": "info"}}.
        level = log.remove("level");
    }
    match level {
        Some(Value::String(text)) => draft.level = Some(text),
        Some(Value::Number(number)) => {
            // pino and bunyan: 10 trace … 60 fatal.
            let severity = match number.as_u64() {
                Some(10) => Some(crate::severity::number::TRACE),
                Some(20) => Some(crate::severity::number::DEBUG),
                Some(30) => Some(crate::severity::number::INFO),
                Some(40) => Some(crate::severity::number::WARN),
                Some(50) => Some(crate::severity::number::ERROR),
                Some(60) => Some(crate::severity::number::FATAL),
                _ => None,
            };
            draft.severity_number = severity;
            draft.level = Some(number.to_string());
        }
        Some(other) => {
            object.insert("level".into(), other);
        }
        None => {}
    }
    match take_first(object, &MESSAGE_KEYS) {
        Some(Value::String(text)) => draft.body = Some(text),
        Some(other) => draft.body = Some(other.to_string()),
        None => {}
    }
}

fn take_first(object: &mut Map<String, Value>, keys: &[&str]) -> Option<Value> {
    keys.iter().find_map(|key| object.remove(*key))
}

fn stamp_of(value: &Value) -> Option<Stamp> {
    match value {
        Value::String(text) => {
            let (stamp, _) = timestamp::scan(text.trim().as_bytes())?;
            Some(stamp)
        }
        Value::Number(number) => {
            timestamp::from_epoch_number(number.as_f64()?).map(Stamp::UnixNano)
        }
        _ => None,
    }
}
