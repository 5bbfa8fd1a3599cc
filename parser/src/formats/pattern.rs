//! User formats: `[[parser.patterns]]`, a regex with named captures.
//!
//! The captures `timestamp`, `level` and `message` (or `msg`) fill the event;
//! every other named capture that matched becomes a string attribute.

use std::sync::Arc;

use regex::Regex;

use super::{Draft, Mismatch};
use crate::timestamp::{self, Strftime, Zone};

/// A compiled `[[parser.patterns]]` entry.
#[derive(Debug)]
pub struct UserPattern {
    name: String,
    regex: Regex,
    layout: Option<Strftime>,
    zone: Arc<Zone>,
    /// (capture index, attribute name) of the other captures.
    attributes: Vec<(usize, String)>,
    timestamp: Option<usize>,
    level: Option<usize>,
    message: Option<usize>,
}

impl UserPattern {
    /// Compiles a config entry.
    pub fn new(config: &loghaul_config::PatternConfig) -> Result<Self, String> {
        let regex = config.regex.regex().clone();
        let mut attributes = Vec::new();
        let (mut timestamp, mut level, mut message) = (None, None, None);
        for (index, name) in regex.capture_names().enumerate() {
            match name {
                None => {}
                Some("timestamp") => timestamp = Some(index),
                Some("level") => level = Some(index),
                Some("message" | "msg") => message = Some(index),
                Some(other) => attributes.push((index, other.to_owned())),
            }
        }
        Ok(Self {
            name: format!("regex:{}", config.name),
            regex,
            layout: config
                .timestamp_format
                .as_deref()
                .map(Strftime::new)
                .transpose()?,
            zone: Arc::new(Zone::parse(&config.timezone)?),
            attributes,
            timestamp,
            level,
            message,
        })
    }

    /// `regex:<name>`.
    pub fn name(&self) -> &str {
        &self.name
    }

    pub(super) fn parse(&self, line: &str, draft: &mut Draft) -> Result<(), Mismatch> {
        let captures = self
            .regex
            .captures(line)
            .ok_or_else(|| Mismatch::new(format!("{} does not match", self.name)))?;
        if let Some(text) = self.timestamp.and_then(|index| captures.get(index)) {
            let text = text.as_str();
            let stamp = match &self.layout {
                Some(layout) => layout.parse(text),
                None => timestamp::scan(text.as_bytes()).map(|(stamp, _)| stamp),
            };
            let stamp = stamp.ok_or_else(|| {
                Mismatch::new(format!(
                    "{}: the timestamp capture {text:?} is not a time this pattern reads",
                    self.name
                ))
            })?;
            draft.stamp = Some(stamp);
            draft.zone = Some(self.zone.clone());
        }
        if let Some(level) = self.level.and_then(|index| captures.get(index)) {
            draft.level = Some(level.as_str().to_owned());
        }
        if let Some(message) = self.message.and_then(|index| captures.get(index)) {
            draft.body = Some(message.as_str().to_owned());
        }
        for (index, name) in &self.attributes {
            if let Some(value) = captures.get(*index) {
                draft.attribute(name, value.as_str());
            }
        }
        Ok(())
    }
}
