//! The formats: each reads one record's text into a [`Draft`], or says why
//! the text is not in that format.
//!
//! Built-in names (as `format = "…"` in a source): `json`, `logfmt`,
//! `syslog` (RFC 3164 and 5424), `common` and `combined` (Apache/nginx
//! access logs), `apache_error`, `log4j` (also logback, Python logging,
//! Hadoop, Spark, Zookeeper and logcat layouts: a stamp, then a level), `klog`,
//! `docker` and `cri` (container wrappers, unwrapped and the inner line
//! parsed), `plain` (a stamp and a level wherever they are near the start,
//! the whole line as body), and `regex:<name>` for `[[parser.patterns]]`.

mod access;
mod container;
mod json;
mod leveled;
mod logfmt;
mod pattern;
mod syslog;

use std::fmt;
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::timestamp::Stamp;

pub use container::Wrapper;
pub use pattern::UserPattern;

/// What a format read from one record.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Draft {
    /// The record's own time, if found.
    pub stamp: Option<Stamp>,
    /// The level as written.
    pub level: Option<String>,
    /// The OpenTelemetry severity number, when the format knows it better
    /// than the level text does (syslog priority, HTTP status).
    pub severity_number: Option<u8>,
    /// The message; `None` keeps the whole record text as the body.
    pub body: Option<String>,
    /// Fields the format extracted.
    pub attributes: Map<String, Value>,
    /// A zone that overrides the source's for naive stamps (user patterns).
    pub zone: Option<Arc<crate::timestamp::Zone>>,
}

impl Draft {
    /// Clears the draft for the next record, keeping allocations.
    pub fn clear(&mut self) {
        self.stamp = None;
        self.level = None;
        self.severity_number = None;
        self.body = None;
        self.attributes.clear();
        self.zone = None;
    }

    fn attribute(&mut self, key: &str, value: impl Into<Value>) {
        self.attributes.insert(key.to_owned(), value.into());
    }
}

/// Why a record is not in a format. The text ends up in `parse_error`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch(pub String);

impl Mismatch {
    fn new(reason: impl Into<String>) -> Self {
        Mismatch(reason.into())
    }
}

impl fmt::Display for Mismatch {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.0)
    }
}

/// A record format (wrappers aside: see [`Wrapper`]).
#[derive(Debug, Clone)]
pub enum Format {
    /// One JSON object per line.
    Json,
    /// `key=value key="quoted value"`.
    Logfmt,
    /// RFC 3164 or RFC 5424.
    Syslog,
    /// Common log format.
    Common,
    /// Combined log format (common plus referrer and user agent).
    Combined,
    /// Apache's error log.
    ApacheError,
    /// A stamp, then a level, then thread, logger and message.
    Log4j,
    /// Kubernetes' klog.
    Klog,
    /// Best effort: a stamp and level near the start, the line as body.
    Plain,
    /// A user regex.
    Pattern(Arc<UserPattern>),
}

impl Format {
    /// The built-in format called `name` (wrappers are not formats).
    pub fn builtin(name: &str) -> Option<Format> {
        Some(match name {
            "json" => Format::Json,
            "logfmt" => Format::Logfmt,
            "syslog" => Format::Syslog,
            "common" => Format::Common,
            "combined" => Format::Combined,
            "apache_error" => Format::ApacheError,
            "log4j" => Format::Log4j,
            "klog" => Format::Klog,
            "plain" => Format::Plain,
            _ => return None,
        })
    }

    /// What `auto` tries, most specific first. `Plain` is the last resort.
    pub fn candidates() -> [Format; 8] {
        [
            Format::Json,
            Format::Syslog,
            Format::Combined,
            Format::Common,
            Format::ApacheError,
            Format::Klog,
            Format::Log4j,
            Format::Logfmt,
        ]
    }

    /// The name, as configs and attributes spell it.
    pub fn name(&self) -> &str {
        match self {
            Format::Json => "json",
            Format::Logfmt => "logfmt",
            Format::Syslog => "syslog",
            Format::Common => "common",
            Format::Combined => "combined",
            Format::ApacheError => "apache_error",
            Format::Log4j => "log4j",
            Format::Klog => "klog",
            Format::Plain => "plain",
            Format::Pattern(pattern) => pattern.name(),
        }
    }

    /// Reads `line` into `draft` (cleared first), or says why it cannot.
    /// `Plain` never refuses a line; it leaves `stamp` unset when it finds no
    /// time.
    pub fn parse(&self, line: &str, draft: &mut Draft) -> Result<(), Mismatch> {
        draft.clear();
        match self {
            Format::Json => json::parse(line, draft),
            Format::Logfmt => logfmt::parse(line, draft),
            Format::Syslog => syslog::parse(line, draft),
            Format::Common => access::parse(line, draft, false),
            Format::Combined => access::parse(line, draft, true),
            Format::ApacheError => leveled::apache_error(line, draft),
            Format::Log4j => leveled::log4j(line, draft),
            Format::Klog => leveled::klog(line, draft),
            Format::Plain => {
                leveled::plain(line, draft);
                Ok(())
            }
            Format::Pattern(pattern) => pattern.parse(line, draft),
        }
    }
}

/// Splits off the first space-delimited token: (token, rest after the
/// spaces that follow it).
fn token(text: &str) -> (&str, &str) {
    match memchr::memchr(b' ', text.as_bytes()) {
        Some(end) => (&text[..end], text[end..].trim_start_matches(' ')),
        None => (text, ""),
    }
}
