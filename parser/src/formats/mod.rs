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

use loghaul_model::codec::pieces;
use serde_json::{Map, Value};

use crate::timestamp::Stamp;

pub use container::Wrapper;
pub use pattern::UserPattern;

/// A piece of text a format found: a span of the record's line where it
/// is one, so reading a record allocates nothing for the text it keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Text {
    /// Bytes `start..end` of the line.
    Span(u32, u32),
    /// A fixed word (`INFO` for a 200 status, a facility name…).
    Static(&'static str),
    /// Text that is not in the line as written (unescaped, joined…).
    Owned(String),
}

/// An attribute's value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Field {
    Text(Text),
    Value(Value),
    /// A value already in the message encoding: bytes `start..end` of the
    /// draft's [`Draft::encoded`] (nested JSON read without a `Value`).
    Encoded(u32, u32),
}

/// Text a format hands the draft: a `&str` (kept as a span when it lies in
/// the line), or a `String` built for it (kept as it is, never copied).
pub(crate) trait IntoText {
    #[doc(hidden)]
    fn into_text(self, draft: &Draft) -> Text;
}

impl IntoText for &str {
    fn into_text(self, draft: &Draft) -> Text {
        draft.text_of(self)
    }
}

impl IntoText for String {
    fn into_text(self, _: &Draft) -> Text {
        Text::Owned(self)
    }
}

impl IntoText for std::borrow::Cow<'_, str> {
    fn into_text(self, draft: &Draft) -> Text {
        match self {
            std::borrow::Cow::Borrowed(text) => text.into_text(draft),
            std::borrow::Cow::Owned(text) => Text::Owned(text),
        }
    }
}

/// What [`Draft::attribute`] takes as a value: text, numbers, booleans and
/// JSON values.
pub(crate) trait IntoField {
    #[doc(hidden)]
    fn into_field(self, draft: &Draft) -> Field;
}

impl<T: IntoText> IntoField for T {
    fn into_field(self, draft: &Draft) -> Field {
        Field::Text(self.into_text(draft))
    }
}

/// A fixed word (a level, a facility, a format's name).
pub(crate) struct Word(pub &'static str);

impl IntoText for Word {
    fn into_text(self, _: &Draft) -> Text {
        Text::Static(self.0)
    }
}

macro_rules! value_fields {
    ($($kind:ty),*) => {$(
        impl IntoField for $kind {
            fn into_field(self, _: &Draft) -> Field {
                Field::Value(Value::from(self))
            }
        }
    )*};
}
value_fields!(Value, bool, u16, u64, i64);

/// What a format read from one record.
///
/// Text it keeps (level, body, attribute keys and values) is held as spans
/// of a copy of the record's line where it can be, and becomes `String`s
/// only when an [`Event`](loghaul_model::Event) is built from it;
/// [`crate::Parser::parse_batch_encoded`] writes it into a message without
/// that step.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Draft {
    /// The record's own time, if found.
    pub stamp: Option<Stamp>,
    /// The OpenTelemetry severity number, when the format knows it better
    /// than the level text does (syslog priority, HTTP status).
    pub severity_number: Option<u8>,
    /// A zone that overrides the source's for naive stamps (user patterns).
    pub zone: Option<Arc<crate::timestamp::Zone>>,
    /// The level as written.
    level: Option<Text>,
    /// The message; `None` keeps the whole record text as the body.
    body: Option<Text>,
    /// Fields the format extracted, in the order found; of two with one
    /// key, the later wins.
    attributes: Vec<(Text, Field)>,
    /// A copy of the line being read, which spans refer to.
    line: String,
    /// Where the caller's line starts in memory: a `&str` that lies within
    /// `origin..origin + line.len()` is part of that line.
    origin: usize,
    /// Values in the message encoding that [`Field::Encoded`] refers to.
    encoded: Vec<u8>,
    /// The order the last record's attributes were written in.
    order: std::cell::RefCell<WriteOrder>,
}

/// The order [`Draft::write_attributes`] wrote a record's attributes in,
/// kept for the next record: lines of one source mostly carry the same keys
/// in the same order, and then need no sort.
#[derive(Debug, Default, Clone)]
struct WriteOrder {
    /// The keys as the record added them, end to end.
    keys: String,
    /// Where each ends in `keys`.
    ends: Vec<usize>,
    /// Indexes of the attributes to write, in key order (the last of equal
    /// keys only).
    written: Vec<usize>,
}

impl WriteOrder {
    /// Whether `keys`, in the order added, are the ones last sorted.
    fn holds(&self, mut keys: impl ExactSizeIterator<Item = impl AsRef<str>>) -> bool {
        if keys.len() != self.ends.len() {
            return false;
        }
        let mut start = 0;
        self.ends.iter().all(|end| {
            let same = keys
                .next()
                .is_some_and(|key| self.keys.get(start..*end) == Some(key.as_ref()));
            start = *end;
            same
        })
    }

    /// Sorts `keys` (in the order added) and keeps the order.
    fn sort<'k>(&mut self, keys: impl ExactSizeIterator<Item = &'k str>) {
        self.keys.clear();
        self.ends.clear();
        self.written.clear();
        let mut sorted: Vec<(&str, usize)> = Vec::with_capacity(keys.len());
        for (index, key) in keys.enumerate() {
            self.keys.push_str(key);
            self.ends.push(self.keys.len());
            sorted.push((key, index));
        }
        // Stable: of equal keys, the one added last stays last, and wins.
        sorted.sort_by(|a, b| a.0.cmp(b.0));
        for (at, (key, index)) in sorted.iter().enumerate() {
            if sorted.get(at + 1).is_none_or(|next| next.0 != *key) {
                self.written.push(*index);
            }
        }
    }
}

/// Two drafts that read alike are equal, whatever order they last wrote.
impl PartialEq for WriteOrder {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Draft {
    /// Clears the draft for reading `line`, keeping allocations.
    pub fn start(&mut self, line: &str) {
        self.restart();
        self.line.clear();
        self.line.push_str(line);
        self.origin = line.as_ptr() as usize;
    }

    /// Clears what was read for another try at the same line as
    /// [`Draft::start`]'s, keeping its copy.
    pub(crate) fn restart(&mut self) {
        self.stamp = None;
        self.level = None;
        self.severity_number = None;
        self.body = None;
        self.attributes.clear();
        self.encoded.clear();
        self.zone = None;
    }

    /// `text` as a span when it lies within the line being read, else a copy.
    fn text_of(&self, text: &str) -> Text {
        let start = (text.as_ptr() as usize).wrapping_sub(self.origin);
        match start.checked_add(text.len()) {
            Some(end) if end <= self.line.len() && u32::try_from(end).is_ok() => {
                Text::Span(start as u32, end as u32)
            }
            _ => Text::Owned(text.to_owned()),
        }
    }

    fn resolve<'a>(&'a self, text: &'a Text) -> &'a str {
        match text {
            Text::Span(start, end) => self
                .line
                .get(*start as usize..*end as usize)
                .unwrap_or_default(),
            Text::Static(word) => word,
            Text::Owned(text) => text,
        }
    }

    /// The level as written, if found.
    pub fn level(&self) -> Option<&str> {
        self.level.as_ref().map(|text| self.resolve(text))
    }

    /// Sets the level to `text` (a part of the line, or any text).
    pub(crate) fn set_level(&mut self, text: impl IntoText) {
        self.level = Some(text.into_text(self));
    }

    /// Forgets the level.
    pub(crate) fn clear_level(&mut self) {
        self.level = None;
    }

    /// The message, if the format took one out of the line.
    pub fn body(&self) -> Option<&str> {
        self.body.as_ref().map(|text| self.resolve(text))
    }

    /// The message, or the whole line when the format took none.
    pub fn body_or_line(&self) -> &str {
        self.body().unwrap_or(&self.line)
    }

    /// Sets the message to `text` (a part of the line, or any text).
    pub(crate) fn set_body(&mut self, text: impl IntoText) {
        self.body = Some(text.into_text(self));
    }

    /// Keeps the whole line as the body.
    pub(crate) fn clear_body(&mut self) {
        self.body = None;
    }

    /// Adds the attribute `key` (a fixed name).
    pub(crate) fn attribute(&mut self, key: &'static str, value: impl IntoField) {
        let field = value.into_field(self);
        self.attributes.push((Text::Static(key), field));
    }

    /// Adds the attribute `key`, a name found in the line or built.
    pub(crate) fn attribute_named(&mut self, key: impl IntoText, value: impl IntoField) {
        let key = key.into_text(self);
        let field = value.into_field(self);
        self.attributes.push((key, field));
    }

    /// Adds the attribute `key` whose value `encode` writes in the message
    /// encoding (see [`pieces`]); `None` from it adds nothing.
    pub(crate) fn attribute_encoded(
        &mut self,
        key: impl IntoText,
        encode: impl FnOnce(&mut Vec<u8>) -> Option<()>,
    ) -> Option<()> {
        let start = self.encoded.len();
        let written = encode(&mut self.encoded);
        let end = self.encoded.len();
        match (written, u32::try_from(start), u32::try_from(end)) {
            (Some(()), Ok(start), Ok(end)) => {
                let key = key.into_text(self);
                self.attributes.push((key, Field::Encoded(start, end)));
                Some(())
            }
            _ => {
                self.encoded.truncate(start);
                None
            }
        }
    }

    /// Forgets every attribute.
    pub(crate) fn clear_attributes(&mut self) {
        self.attributes.clear();
    }

    fn position(&self, key: &str) -> Option<usize> {
        self.attributes
            .iter()
            .rposition(|(name, _)| self.resolve(name) == key)
    }

    /// The value of attribute `key`, as the event will hold it.
    pub fn attribute_value(&self, key: &str) -> Option<Value> {
        self.position(key)
            .map(|index| self.value_of(&self.attributes[index].1))
    }

    /// The JSON value of attribute `key`, when it is not plain text.
    pub(crate) fn attribute_value_mut(&mut self, key: &str) -> Option<&mut Value> {
        let index = self.position(key)?;
        match &mut self.attributes[index].1 {
            Field::Value(value) => Some(value),
            Field::Text(_) | Field::Encoded(..) => None,
        }
    }

    fn value_of(&self, field: &Field) -> Value {
        match field {
            Field::Text(text) => Value::String(self.resolve(text).to_owned()),
            Field::Value(value) => value.clone(),
            // Written by this draft's own encoder: it decodes, or it is a
            // bug the parser's property tests catch.
            Field::Encoded(start, end) => pieces::decode(
                &self.encoded[*start as usize..*end as usize],
            )
            .unwrap_or_else(|problem| Value::String(format!("(unreadable value: {problem})"))),
        }
    }

    /// The attributes as an event holds them.
    pub fn attributes(&self) -> Map<String, Value> {
        let mut map = Map::new();
        for (key, field) in &self.attributes {
            map.insert(self.resolve(key).to_owned(), self.value_of(field));
        }
        map
    }

    /// Writes the attributes as [`EventWriter`](loghaul_model::codec::EventWriter)
    /// wants them: by key, the last of equal keys.
    pub(crate) fn write_attributes(&self, writer: &mut loghaul_model::codec::EventWriter) {
        let mut order = self.order.borrow_mut();
        let keys = || self.attributes.iter().map(|(key, _)| self.resolve(key));
        if !order.holds(keys()) {
            order.sort(keys());
        }
        writer.attribute_count(order.written.len());
        for index in &order.written {
            let (key, field) = &self.attributes[*index];
            writer.key(self.resolve(key));
            self.write_field(writer, field);
        }
    }

    fn write_field(&self, writer: &mut loghaul_model::codec::EventWriter, field: &Field) {
        match field {
            Field::Text(text) => writer.string_value(self.resolve(text)),
            Field::Value(value) => writer.value(value),
            Field::Encoded(start, end) => {
                writer.encoded_value(&self.encoded[*start as usize..*end as usize]);
            }
        }
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
            Format::Pattern(pattern) => pattern.name(),
            builtin => builtin.builtin_name(),
        }
    }

    /// The name of a built-in format; `regex` for a user pattern.
    pub(crate) fn builtin_name(&self) -> &'static str {
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
            Format::Pattern(_) => "regex",
        }
    }

    /// Reads `line` into `draft` (cleared first), or says why it cannot.
    /// `Plain` never refuses a line; it leaves `stamp` unset when it finds no
    /// time.
    pub fn parse(&self, line: &str, draft: &mut Draft) -> Result<(), Mismatch> {
        draft.start(line);
        self.read(line, draft)
    }

    /// [`Format::parse`] of the same `line` the draft last started with,
    /// without copying it again: `auto` tries several formats on a line.
    pub(crate) fn parse_again(&self, line: &str, draft: &mut Draft) -> Result<(), Mismatch> {
        debug_assert!(line.as_ptr() as usize == draft.origin && line.len() == draft.line.len());
        draft.restart();
        self.read(line, draft)
    }

    fn read(&self, line: &str, draft: &mut Draft) -> Result<(), Mismatch> {
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
