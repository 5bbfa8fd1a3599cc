//! User formats: `[[parser.patterns]]`, a regex with named captures.
//!
//! The captures `timestamp`, `level` and `message` (or `msg`) fill the event;
//! every other named capture that matched becomes a string attribute.

use std::sync::{Arc, Mutex};

use regex::{CaptureLocations, Regex};

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
    /// Reused capture slots; one worker thread uses a parser, so the lock is
    /// never contended.
    locations: Mutex<CaptureLocations>,
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
            locations: Mutex::new(regex.capture_locations()),
            regex,
            layout: config
                .timestamp_format
                .as_deref()
                .map(Strftime::new)
                .transpose()?,
            zone: Arc::new(Zone::of(config.timezone.clone())?),
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
        let mut locations = self
            .locations
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        self.regex
            .captures_read(&mut locations, line)
            .ok_or_else(|| Mismatch::new(format!("{} does not match", self.name)))?;
        let capture = |index: usize| locations.get(index).map(|(start, end)| &line[start..end]);
        if let Some(text) = self.timestamp.and_then(capture) {
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
        if let Some(level) = self.level.and_then(capture) {
            draft.set_level(level);
        }
        if let Some(message) = self.message.and_then(capture) {
            draft.set_body(message);
        }
        for (index, name) in &self.attributes {
            if let Some(value) = capture(*index) {
                draft.attribute_named(name.as_str(), value);
            }
        }
        Ok(())
    }
}
