//! The parser role of loghaul: it turns the shipper's `RawBatch` records into
//! `Event`s and passes them on to the indexer shards.
//!
//! - [`formats`]: JSON, logfmt, syslog, access logs, Apache error, log4j-like,
//!   klog, container wrappers, user regexes, and `plain` as the last resort.
//! - [`timestamp`]: the time forms logs write, zones and yearless stamps.
//! - [`severity`]: level words, letters, syslog priorities and HTTP statuses
//!   to OpenTelemetry severity numbers.
//! - [`Parser`]: per-source format choice (`auto` detection included) and
//!   event assembly.
//! - [`worker`]: the queue loop behind `loghaul parse`.
//!
//! Nothing is dropped: a record no format reads becomes an event whose body
//! is its text, with `parse_error` saying why; one without a usable time gets
//! the read time and the same flag.

pub mod formats;
pub mod severity;
pub mod timestamp;
pub mod worker;

use std::collections::HashMap;
use std::sync::Arc;

use loghaul_config::ParserConfig;
use loghaul_model::codec::{EventHead, EventTail, EventWriter};
use loghaul_model::{Event, EventIdHasher, RawBatch, RawRecord, Resource, Severity};

use formats::{Draft, Format, Mismatch, UserPattern, Word, Wrapper};
use timestamp::Zone;

/// After this many records in a row that the chosen format refuses and
/// another reads, `auto` switches to the other.
const SWITCH_AFTER: u32 = 8;

/// Sources whose detection state is kept; beyond this it starts afresh.
const MAX_SOURCES: usize = 16_384;

/// Turns raw batches into events. One per worker; it keeps what `auto`
/// learnt about each source.
#[derive(Debug, Clone)]
pub struct Parser {
    patterns: HashMap<String, Arc<UserPattern>>,
    sources: HashMap<(String, String), SourceState>,
    zones: HashMap<String, Arc<Zone>>,
    draft: Draft,
    /// Encoded bytes per raw byte in the last batch: the next message's
    /// buffer is sized from it, so it is not grown (and copied) midway.
    encoded_per_raw_byte: f64,
}

/// How one source's records are read.
#[derive(Debug, Clone)]
struct SourceState {
    /// `None`: detect per record.
    wrapper: Option<Option<Wrapper>>,
    format: Choice,
    /// Why the configured format could not be used, if it could not.
    hint_problem: Option<String>,
    /// The hint this state was built for; a batch with another (the
    /// shipper's config changed) starts afresh.
    hint: Option<String>,
}

#[derive(Debug, Clone)]
enum Choice {
    Fixed(Format),
    Auto(Detector),
}

#[derive(Debug, Default, Clone)]
struct Detector {
    current: Option<Format>,
    misses: u32,
    /// The format that last read a record the current one refused: tried
    /// next, so a source that mixes formats costs one refusal a record, not
    /// a walk through every candidate.
    recent: Option<Format>,
}

impl Detector {
    /// Reads `text` with the current format, or the first candidate that
    /// takes it, or `plain`. Returns the format used.
    fn parse(&mut self, text: &str, draft: &mut Draft) -> Format {
        // The line is copied into the draft once; later tries reuse it.
        draft.start(text);
        if let Some(current) = &self.current {
            let plain_with_time = matches!(current, Format::Plain);
            if current.parse_again(text, draft).is_ok()
                && (!plain_with_time || draft.stamp.is_some())
            {
                self.misses = 0;
                return current.clone();
            }
        }
        let current_name = self.current.as_ref().map(Format::name);
        let mut chosen = self
            .recent
            .take()
            .filter(|recent| Some(recent.name()) != current_name)
            .filter(|recent| recent.parse_again(text, draft).is_ok());
        if chosen.is_none() {
            for candidate in Format::candidates() {
                if Some(candidate.name()) == current_name {
                    continue;
                }
                if candidate.parse_again(text, draft).is_ok() {
                    chosen = Some(candidate);
                    break;
                }
            }
        }
        let chosen = chosen.unwrap_or_else(|| {
            Format::Plain.parse_again(text, draft).ok();
            Format::Plain
        });
        let plain_without_time = matches!(chosen, Format::Plain) && draft.stamp.is_none();
        if !matches!(chosen, Format::Plain) {
            self.recent = Some(chosen.clone());
        }
        if !plain_without_time {
            if self.current.is_none() {
                self.current = Some(chosen.clone());
            } else {
                self.misses += 1;
                if self.misses >= SWITCH_AFTER {
                    self.current = Some(chosen.clone());
                    self.misses = 0;
                }
            }
        }
        chosen
    }
}

impl Parser {
    /// A parser with the user patterns of `config`.
    pub fn new(config: &ParserConfig) -> Result<Self, String> {
        let mut patterns = HashMap::new();
        for pattern in &config.patterns {
            patterns.insert(pattern.name.clone(), Arc::new(UserPattern::new(pattern)?));
        }
        Ok(Self {
            patterns,
            sources: HashMap::new(),
            zones: HashMap::new(),
            draft: Draft::default(),
            encoded_per_raw_byte: 0.0,
        })
    }

    fn source_state(&self, hint: Option<&str>) -> SourceState {
        let auto = || SourceState {
            wrapper: None,
            format: Choice::Auto(Detector::default()),
            hint_problem: None,
            hint: hint.map(str::to_owned),
        };
        let Some(hint) = hint.filter(|hint| *hint != "auto") else {
            return auto();
        };
        if let Some(wrapper) = Wrapper::named(hint) {
            return SourceState {
                wrapper: Some(Some(wrapper)),
                ..auto()
            };
        }
        if let Some(name) = hint.strip_prefix("regex:") {
            return match self.patterns.get(name) {
                Some(pattern) => SourceState {
                    wrapper: Some(None),
                    format: Choice::Fixed(Format::Pattern(pattern.clone())),
                    ..auto()
                },
                None => SourceState {
                    hint_problem: Some(format!(
                        "format {hint} names no [[parser.patterns]] entry in this parser's config; detected instead"
                    )),
                    ..auto()
                },
            };
        }
        match Format::builtin(hint) {
            Some(format) => SourceState {
                wrapper: Some(None),
                format: Choice::Fixed(format),
                ..auto()
            },
            None => SourceState {
                hint_problem: Some(format!("unknown format {hint:?}; detected instead")),
                ..auto()
            },
        }
    }

    fn zone(&mut self, name: Option<&str>) -> Result<Arc<Zone>, String> {
        let name = name.unwrap_or("UTC");
        if let Some(zone) = self.zones.get(name) {
            return Ok(zone.clone());
        }
        let zone = Arc::new(Zone::parse(name)?);
        self.zones.insert(name.to_owned(), zone.clone());
        Ok(zone)
    }

    /// The events of `batch`, one per record, in order.
    pub fn parse_batch(&mut self, batch: &RawBatch) -> Vec<Event> {
        let mut events = Vec::with_capacity(batch.records.len());
        let ids = EventIdHasher::new(&batch.host, &batch.file);
        self.each_record(batch, |draft, record, resource, read| {
            events.push(Event {
                id: ids.id(record.offset),
                timestamp_unix_nano: read.timestamp_unix_nano,
                observed_timestamp_unix_nano: batch.read_time_unix_nano,
                severity: Severity {
                    text: draft.level().map(str::to_owned),
                    number: read.severity_number,
                },
                body: draft.body_or_line().to_owned(),
                attributes: draft.attributes(),
                resource: resource.clone(),
                file: batch.file,
                offset: record.offset,
                parse_error: read.parse_error,
            });
        });
        events
    }

    /// When `line` says it happened, as `format = "auto"` reads it: naive
    /// stamps in UTC, a stamp without a year in the year around
    /// `reference_unix_nano`; `None` when the line names no time. The
    /// archiver dates a rotated file by its first and last lines so.
    pub fn record_time(line: &[u8], reference_unix_nano: i64) -> Option<i64> {
        let mut parser = Parser::new(&ParserConfig::default()).ok()?;
        let batch = one_line_batch(line, reference_unix_nano);
        let mut time = None;
        parser.each_record(&batch, |_, _, _, read| {
            time = read.own_time.then_some(read.timestamp_unix_nano);
        });
        time
    }

    /// The `EventBatch` message of `batch`, as
    /// `codec::encode_event_batch(&EventBatch { events: self.parse_batch(batch) })`
    /// would write it, without building the events: what the worker
    /// publishes.
    pub fn parse_batch_encoded(&mut self, batch: &RawBatch) -> EncodedEvents {
        let raw_bytes = batch.payload_bytes();
        // The ratio differs by format (an access-log line encodes to over
        // 2.5 times its size): the last batch's, an eighth more for longer
        // lines, sizes the buffer better than a fixed guess, so it is not
        // grown and copied midway. Capped: after a batch of a few short
        // lines (a ratio of 100 or more), a big one must not reserve 100
        // times its size.
        let records = batch.records.len();
        let estimate = if self.encoded_per_raw_byte > 0.0 {
            let guess = (raw_bytes as f64 * self.encoded_per_raw_byte * 1.125) as usize + 64;
            guess.min(raw_bytes * 4 + 256 * records)
        } else {
            raw_bytes * 2 + 96 * records
        };
        let mut writer = EventWriter::new(batch.records.len(), estimate);
        let mut parse_errors = 0;
        let ids = EventIdHasher::new(&batch.host, &batch.file);
        self.each_record(batch, |draft, record, resource, read| {
            writer.head(&EventHead {
                id: ids.id(record.offset),
                timestamp_unix_nano: read.timestamp_unix_nano,
                observed_timestamp_unix_nano: batch.read_time_unix_nano,
                severity_text: draft.level(),
                severity_number: read.severity_number,
                body: draft.body_or_line(),
            });
            draft.write_attributes(&mut writer);
            writer.tail(&EventTail {
                resource,
                file: batch.file,
                offset: record.offset,
                parse_error: read.parse_error.as_deref(),
            });
            parse_errors += usize::from(read.parse_error.is_some());
        });
        let payload = writer.finish();
        if raw_bytes > 0 {
            self.encoded_per_raw_byte = payload.len() as f64 / raw_bytes as f64;
        }
        EncodedEvents {
            payload,
            events: batch.records.len(),
            parse_errors,
        }
    }

    /// Reads each record of `batch` into the draft, in order, and hands it
    /// to `emit` with what was read beside it.
    fn each_record(
        &mut self,
        batch: &RawBatch,
        mut emit: impl FnMut(&Draft, &RawRecord, &Resource, Read),
    ) {
        let (zone, zone_problem) = match self.zone(batch.timezone.as_deref()) {
            Ok(zone) => (zone, None),
            Err(problem) => (Arc::new(Zone::Utc), Some(format!("{problem}; UTC used"))),
        };
        let key = (batch.host.clone(), batch.source.clone());
        let mut state = match self.sources.remove(&key) {
            Some(state) if state.hint == batch.format_hint => state,
            _ => self.source_state(batch.format_hint.as_deref()),
        };
        let resource = Resource {
            host: batch.host.as_str().into(),
            source: batch.source.as_str().into(),
            service: batch.service.as_deref().map(Into::into),
            source_name: batch.source_name.as_deref().map(Into::into),
        };
        for record in &batch.records {
            let mut read = self.read_record(batch, record, &mut state, &zone);
            if let Some(problem) = zone_problem.as_ref().or(state.hint_problem.as_ref()) {
                append_error(&mut read.parse_error, problem);
            }
            emit(&self.draft, record, &resource, read);
        }
        if self.sources.len() >= MAX_SOURCES {
            // Bounded memory: forgetting only costs a fresh detection.
            self.sources.clear();
        }
        self.sources.insert(key, state);
    }

    /// Reads one record into `self.draft`: level, body and attributes stay
    /// there (the attributes complete), the rest is returned.
    fn read_record(
        &mut self,
        batch: &RawBatch,
        record: &RawRecord,
        state: &mut SourceState,
        zone: &Zone,
    ) -> Read {
        // simdutf8 checks ASCII-heavy text several times faster than std.
        let text = match simdutf8::basic::from_utf8(&record.bytes) {
            Ok(text) => std::borrow::Cow::Borrowed(text),
            Err(_) => String::from_utf8_lossy(&record.bytes),
        };
        let draft = &mut self.draft;
        let mut parse_error = None;
        let mut wrapper_stamp = None;
        let mut wrapper_attributes = None;
        let wrapper = match state.wrapper {
            Some(wrapper) => wrapper,
            None => Wrapper::detect(&text),
        };
        let mut inner_text = None;
        if let Some(wrapper) = wrapper {
            match wrapper.unwrap(&text) {
                Ok(unwrapped) => {
                    wrapper_stamp = unwrapped.stamp;
                    wrapper_attributes = Some(unwrapped.attributes);
                    inner_text = Some(unwrapped.inner);
                }
                Err(mismatch) => parse_error = Some(mismatch.0),
            }
        }
        let line: &str = inner_text.as_deref().unwrap_or(&text);
        // The format `auto` chose, worth an attribute; a configured one is not.
        let detected = match &mut state.format {
            Choice::Fixed(format) => {
                if let Err(Mismatch(reason)) = format.parse(line, draft) {
                    append_error(&mut parse_error, &reason);
                    Format::Plain.parse_again(line, draft).ok();
                }
                None
            }
            Choice::Auto(detector) => Some(detector.parse(line, draft)),
        };

        let reference = batch.read_time_unix_nano;
        let own_zone = draft.zone.take();
        let zone = own_zone.as_deref().unwrap_or(zone);
        let timestamp = draft
            .stamp
            .and_then(|stamp| stamp.resolve(zone, reference))
            .or_else(|| wrapper_stamp.and_then(|stamp| stamp.resolve(zone, reference)));
        let timestamp_unix_nano = match timestamp {
            Some(timestamp) => timestamp,
            None => {
                let why = if draft.stamp.is_some() {
                    "the timestamp names a date that does not exist; the read time stands in"
                } else {
                    "no timestamp found; the read time stands in"
                };
                append_error(&mut parse_error, why);
                reference
            }
        };
        let severity_number = draft
            .severity_number
            .or_else(|| draft.level().and_then(severity::from_word))
            .unwrap_or(0);
        if let Some(wrapper_attributes) = wrapper_attributes {
            for (key, value) in wrapper_attributes {
                draft.attribute_named(key, value);
            }
        }
        match detected {
            Some(Format::Pattern(pattern)) => {
                draft.attribute("log.format", pattern.name().to_owned());
            }
            Some(format) => draft.attribute("log.format", Word(format.builtin_name())),
            None => {}
        }
        if record.flags.invalid_utf8 {
            draft.attribute("log.invalid_utf8", true);
        }
        if record.flags.truncated {
            draft.attribute("log.truncated", true);
        }
        Read {
            timestamp_unix_nano,
            own_time: timestamp.is_some(),
            severity_number,
            parse_error,
        }
    }
}

/// What reading a record gave beside the draft.
struct Read {
    timestamp_unix_nano: i64,
    /// Whether the time is the record's own, not the read time.
    own_time: bool,
    severity_number: u8,
    parse_error: Option<String>,
}

/// An `EventBatch` message and what it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedEvents {
    /// The encoded message.
    pub payload: Vec<u8>,
    /// Events in it: one per record.
    pub events: usize,
    /// Events flagged with a parse error.
    pub parse_errors: usize,
}

/// A batch of `line` alone, read at `read_time_unix_nano`, from no host,
/// source or file in particular.
fn one_line_batch(line: &[u8], read_time_unix_nano: i64) -> RawBatch {
    RawBatch {
        host: String::new(),
        source: String::new(),
        file: loghaul_model::FileIdentity {
            device: 0,
            inode: 0,
            fingerprint: 0,
        },
        format_hint: None,
        records: vec![RawRecord::new(0, line.to_vec())],
        read_time_unix_nano,
        timezone: None,
        service: None,
        source_name: None,
    }
}

fn append_error(slot: &mut Option<String>, reason: &str) {
    match slot {
        Some(existing) => {
            existing.push_str("; ");
            existing.push_str(reason);
        }
        None => *slot = Some(reason.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An ISO stamp followed by a level word or by logfmt pairs is never
    /// syslog: syslog names a plausible host there (issue 14's rule).
    #[test]
    fn a_stamp_then_a_level_or_logfmt_is_not_syslog() {
        let parse = |line: &str| {
            let mut detector = Detector::default();
            let mut draft = Draft::default();
            let format = detector.parse(line, &mut draft).name().to_owned();
            (
                format,
                draft.level().map(str::to_owned),
                draft.attribute_value("syslog.hostname").is_some(),
            )
        };
        let (format, level, host) = parse("2026-11-29T20:02:00Z ERROR boom");
        assert_ne!(format, "syslog");
        assert_eq!(level.as_deref(), Some("ERROR"));
        assert!(!host, "ERROR is not a host");
        let (format, level, host) =
            parse(r#"2026-11-22T10:00:00Z level=error seqi=5 msg="disk full""#);
        assert_ne!(format, "syslog");
        assert!(!host, "level=error is not a host");
        assert_eq!(
            (format.as_str(), level.as_deref()),
            ("logfmt", Some("error"))
        );
        let (format, _, host) = parse("2026-11-29T20:02:00Z web-1 sshd[12]: accepted key");
        assert_eq!(format, "syslog", "a real host still is");
        assert!(host);
        let (format, _, host) = parse("Nov 22 08:00:00 combo sshd(pam_unix)[19939]: check pass");
        assert_eq!(format, "syslog");
        assert!(host);
    }

    /// A batch of `count` copies of `line`, one after another in the file.
    fn repeated_batch(line: &[u8], count: u64) -> RawBatch {
        let mut batch = one_line_batch(line, 1_795_000_000_000_000_000);
        batch.records = (0..count)
            .map(|index| RawRecord::new(index * (line.len() as u64 + 1), line.to_vec()))
            .collect();
        batch
    }

    /// The message buffer is sized from the last batch's ratio, so a second
    /// batch of access-log lines (which encode to more than twice their
    /// size) is written without growing it: grown, its capacity would be
    /// about twice what was reserved. The bytes do not depend on it.
    #[test]
    fn a_second_batch_is_written_without_growing_its_buffer() {
        let line = br#"10.1.2.3 - - [30/Nov/2026:10:00:00 +0000] "GET /api/v1/orders/8812/items?page=2 HTTP/1.1" 200 5123 "https://shop.example/basket" "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36""#;
        let mut batch = repeated_batch(line, 2_000);
        batch.format_hint = Some("combined".into());
        let mut parser = Parser::new(&ParserConfig::default()).expect("parser");
        let first = parser.parse_batch_encoded(&batch).payload;
        let second = parser.parse_batch_encoded(&batch).payload;
        assert_eq!(first, second);
        assert!(
            second.capacity() <= second.len() * 9 / 8 + 128,
            "{} bytes in a buffer of {}",
            second.len(),
            second.capacity()
        );
    }

    /// A batch of one short line (which encodes to 100 times its size and
    /// more) does not make the next, big batch reserve that ratio.
    #[test]
    fn a_tiny_batch_does_not_blow_up_the_next_buffer() {
        let line = br#"10.1.2.3 - - [30/Nov/2026:10:00:00 +0000] "GET /a HTTP/1.1" 200 5 "-" "curl/8.11.0""#;
        let mut parser = Parser::new(&ParserConfig::default()).expect("parser");
        parser.parse_batch_encoded(&one_line_batch(b"x", 1_795_000_000_000_000_000));
        assert!(
            parser.encoded_per_raw_byte > 50.0,
            "{}",
            parser.encoded_per_raw_byte
        );
        let batch = repeated_batch(line, 2_000);
        let raw_bytes = batch.payload_bytes();
        let payload = parser.parse_batch_encoded(&batch).payload;
        assert!(
            payload.capacity() <= raw_bytes * 4 + 256 * 2_000 + 64,
            "{} raw bytes, a buffer of {}",
            raw_bytes,
            payload.capacity()
        );
    }

    /// A stamp then logfmt pairs is logfmt: the stamp is the time, the pairs
    /// give level, message and attributes, in every stamp layout loggers
    /// write there. A stamp then something else is left to the other
    /// formats.
    #[test]
    fn a_stamp_then_logfmt_pairs_is_logfmt_with_that_time() {
        let parse = |line: &str| {
            let mut parser = Parser::new(&ParserConfig::default()).expect("parser");
            let batch = one_line_batch(line.as_bytes(), 1_795_000_000_000_000_000);
            parser.parse_batch(&batch).remove(0)
        };
        for (line, nanos) in [
            (
                r#"2026-11-30T00:00:00.001Z level=error msg="order 1 handled" user_id=682554"#,
                1_795_996_800_001_000_000,
            ),
            (
                r#"2026-11-30T01:00:00.001+01:00 level=error msg="order 1 handled" user_id=682554"#,
                1_795_996_800_001_000_000,
            ),
            (
                r#"2026-11-30 00:00:00,001 level=error msg="order 1 handled" user_id=682554"#,
                1_795_996_800_001_000_000,
            ),
        ] {
            let event = parse(line);
            assert_eq!(event.timestamp_unix_nano, nanos, "{line}");
            assert_eq!(event.severity.text.as_deref(), Some("error"), "{line}");
            assert_eq!(event.severity.number, severity::number::ERROR, "{line}");
            assert_eq!(event.body, "order 1 handled", "{line}");
            assert_eq!(event.attributes["user_id"], "682554", "{line}");
            assert_eq!(event.attributes["log.format"], "logfmt", "{line}");
            assert_eq!(event.parse_error, None, "{line}");
        }
        for (line, format, level) in [
            ("2026-11-29T20:02:00Z ERROR boom a=b c=d", "log4j", "ERROR"),
            (
                "2026-11-29 20:21:26.026 UTC [2223] LOG:  checkpoint starting",
                "log4j",
                "LOG",
            ),
            (
                "2026-11-29 20:16:36,123 - app.db - WARNING - pool a=b c=d",
                "log4j",
                "WARNING",
            ),
        ] {
            let event = parse(line);
            assert_eq!(
                (
                    event.attributes["log.format"].as_str(),
                    event.severity.text.as_deref()
                ),
                (Some(format), Some(level)),
                "{line}"
            );
        }
    }

    /// PostgreSQL's default stderr line and Python logging's default format
    /// keep their time and level.
    #[test]
    fn the_config_and_the_parser_know_the_same_format_names() {
        let config: Vec<&str> = loghaul_config::SourceFormat::BUILTIN.to_vec();
        for name in &config {
            assert!(
                Format::builtin(name).is_some() || Wrapper::named(name).is_some(),
                "the config accepts {name:?}, the parser does not know it"
            );
        }
        let mut parser: Vec<String> = Format::candidates()
            .iter()
            .map(|format| format.name().to_owned())
            .collect();
        parser.extend(
            [
                Format::Plain.name(),
                Wrapper::Docker.name(),
                Wrapper::Cri.name(),
            ]
            .map(str::to_owned),
        );
        for name in &parser {
            assert!(
                config.contains(&name.as_str()),
                "the parser reads {name:?}, the config refuses it"
            );
        }
        assert_eq!(config.len(), parser.len());
    }

    #[test]
    fn laravel_channels_and_mongodb_json_keep_their_level_and_time() {
        let parse = |line: &str| {
            let mut detector = Detector::default();
            let mut draft = Draft::default();
            detector.parse(line, &mut draft);
            draft
        };
        let draft = parse(
            "[2026-11-22 10:00:00] production.ERROR: Undefined variable $user {\"exception\":\"[object]\"}",
        );
        assert!(draft.stamp.is_some());
        assert_eq!(draft.level(), Some("ERROR"));
        assert!(
            draft
                .body()
                .is_some_and(|body| body.starts_with("Undefined variable"))
        );
        // A dotted word that is not a channel and level stays text.
        let draft = parse("[2026-11-22 10:00:00] app.Service: started");
        assert_eq!(draft.level(), None);

        let draft = parse(
            r#"{"t":{"$date":"2026-11-22T10:00:00.123+00:00"},"s":"W","c":"NETWORK","id":4615610,"ctx":"conn12","msg":"Slow query","attr":{"durationMillis":120}}"#,
        );
        assert!(draft.stamp.is_some(), "the $date is the time");
        assert_eq!(draft.level(), Some("W"));
        assert_eq!(draft.severity_number, Some(crate::severity::number::WARN));
        assert_eq!(draft.body(), Some("Slow query"));
        assert_eq!(
            draft.attribute_value("c").as_ref(),
            Some(&serde_json::json!("NETWORK"))
        );
        let draft = parse(r#"{"t":{"$date":{"$numberLong":"1795341600000"}},"s":"D2","msg":"x"}"#);
        assert!(draft.stamp.is_some());
        assert_eq!(draft.severity_number, Some(crate::severity::number::DEBUG));
        // An "s" that is no MongoDB severity is an ordinary attribute.
        let draft = parse(r#"{"s":"hello","msg":"x"}"#);
        assert_eq!(draft.level(), None);
        assert_eq!(
            draft.attribute_value("s").as_ref(),
            Some(&serde_json::json!("hello"))
        );
    }

    #[test]
    fn postgresql_and_python_default_lines_keep_their_level() {
        let parse = |line: &str| {
            let mut detector = Detector::default();
            let mut draft = Draft::default();
            detector.parse(line, &mut draft);
            (
                draft.stamp.is_some(),
                draft.level().map(str::to_owned),
                draft.attributes(),
            )
        };
        let (stamped, level, attributes) =
            parse("2026-11-29 20:21:26.026 UTC [2223] LOG:  checkpoint starting: time");
        assert!(stamped);
        assert_eq!(level.as_deref(), Some("LOG"));
        assert_eq!(
            attributes.get("process.pid"),
            Some(&serde_json::json!("2223"))
        );
        let (stamped, level, attributes) =
            parse("2026-11-29 20:16:36,123 - app.db - WARNING - pool exhausted, waiting");
        assert!(stamped);
        assert_eq!(level.as_deref(), Some("WARNING"));
        assert_eq!(attributes.get("logger"), Some(&serde_json::json!("app.db")));
        assert_eq!(
            crate::severity::from_word("LOG"),
            Some(crate::severity::number::INFO)
        );
        // Redis: the time after `pid:role`, the mark as the level.
        let (stamped, level, _) =
            parse("2242:M 29 Nov 2026 20:16:28.146 # WARNING overcommit_memory is set to 0!");
        assert!(stamped);
        assert_eq!(level.as_deref(), Some("WARNING"));
        let (stamped, level, _) =
            parse("2242:M 29 Nov 2026 20:16:28.146 * Ready to accept connections tcp");
        assert!(stamped);
        assert_eq!(level.as_deref(), Some("NOTICE"));
    }

    #[test]
    fn detection_switches_after_a_run_of_other_records() {
        let mut detector = Detector::default();
        let mut draft = Draft::default();
        let json = r#"{"time":"2026-11-22T07:00:00Z","level":"info","msg":"j"}"#;
        assert_eq!(detector.parse(json, &mut draft).name(), "json");
        assert_eq!(detector.current.as_ref().map(Format::name), Some("json"));
        let logfmt = "time=2026-11-22T07:00:00Z level=info msg=l";
        for seen in 1..SWITCH_AFTER {
            // Each record is read by the format that fits it…
            assert_eq!(detector.parse(logfmt, &mut draft).name(), "logfmt");
            // …but one stray run does not move the source yet.
            assert_eq!(
                detector.current.as_ref().map(Format::name),
                Some("json"),
                "after {seen}"
            );
        }
        detector.parse(logfmt, &mut draft);
        assert_eq!(detector.current.as_ref().map(Format::name), Some("logfmt"));
        // A line nothing reads (no time) does not count toward a switch.
        assert_eq!(detector.parse("free text", &mut draft).name(), "plain");
        assert_eq!(detector.current.as_ref().map(Format::name), Some("logfmt"));
    }
}
