//! The tantivy schema of a day index, and events to documents and back.
//!
//! | field | type | why |
//! |---|---|---|
//! | `id` | raw string | dedup checks and `context` |
//! | `timestamp` | date, ns, indexed + fast | time ranges, newest first |
//! | `host`, `source`, `service`, `level`, `file` | raw string, fast | filters and facets |
//! | `severity` | u64, indexed + fast | `severity:>=13` |
//! | `body` | text with positions | full-text and phrases |
//! | `attributes` | JSON, text with positions | `http.response.status_code:500` |
//! | `offset` | u64, indexed + fast | context by file order |
//! | `parse_error` | text | finding what did not parse |
//! | `gen` | u64, indexed | the writer generation, to roll back a half-committed one |
//! | `_source` | stored JSON of the whole event | results come back exactly as indexed |
//! | `source_name` | raw string | `source:` finds a source by its configured name too |
//!
//! Fields are only ever added at the end, so that one set of handles fits
//! the days older builds wrote: their schema lacks the newer fields, and
//! queries on those match nothing there (see `query::InSchema`).

use loghaul_model::Event;
use tantivy::schema::{
    DateOptions, DateTimePrecision, FAST, Field, INDEXED, IndexRecordOption, JsonObjectOptions,
    STORED, STRING, Schema, TEXT, TextFieldIndexing,
};
use tantivy::{DateTime, TantivyDocument};

/// Handles of every field.
#[derive(Debug, Clone)]
pub struct Fields {
    /// The schema they belong to.
    pub schema: Schema,
    /// Event id, 32 hex digits.
    pub id: Field,
    /// Event time.
    pub timestamp: Field,
    /// Host.
    pub host: Field,
    /// Source path.
    pub source: Field,
    /// Service.
    pub service: Field,
    /// Severity text.
    pub level: Field,
    /// Severity number.
    pub severity: Field,
    /// Message.
    pub body: Field,
    /// Parsed fields.
    pub attributes: Field,
    /// File identity key.
    pub file: Field,
    /// Byte offset in the file.
    pub offset: Field,
    /// Why parsing failed.
    pub parse_error: Field,
    /// Writer generation.
    pub generation: Field,
    /// The whole event as JSON.
    pub source_json: Field,
    /// The configured name of the source (days written since 2026-11-30).
    pub source_name: Field,
}

impl Fields {
    /// The schema every day index is created with.
    pub fn new() -> Self {
        Self::build(true)
    }

    /// The schema of builds before flat dotted attribute keys were
    /// expanded and sources' names were added (2026-11-30): day indexes
    /// they wrote keep it.
    #[cfg(test)]
    pub(crate) fn before_expanded_dots() -> Self {
        Self::build(false)
    }

    fn build(expand_dots: bool) -> Self {
        let mut builder = Schema::builder();
        let raw_fast = STRING | FAST;
        let id = builder.add_text_field("id", STRING | FAST);
        let timestamp = builder.add_date_field(
            "timestamp",
            DateOptions::default()
                .set_indexed()
                .set_fast()
                .set_precision(DateTimePrecision::Nanoseconds),
        );
        let host = builder.add_text_field("host", raw_fast.clone());
        let source = builder.add_text_field("source", raw_fast.clone());
        let service = builder.add_text_field("service", raw_fast.clone());
        let level = builder.add_text_field("level", raw_fast.clone());
        let severity = builder.add_u64_field("severity", INDEXED | FAST);
        let body = builder.add_text_field("body", TEXT);
        let json_options = JsonObjectOptions::default()
            .set_indexing_options(
                TextFieldIndexing::default()
                    .set_tokenizer("default")
                    .set_index_option(IndexRecordOption::WithFreqsAndPositions),
            )
            // Fast columns make numeric ranges on attributes work.
            .set_fast("raw");
        // A flat key `http.response.status_code` (what the parser writes) is
        // the path http → response → status_code, as nested objects are:
        // one dotted path finds both.
        let json_options = if expand_dots {
            json_options.set_expand_dots_enabled()
        } else {
            json_options
        };
        let attributes = builder.add_json_field("attributes", json_options);
        let file = builder.add_text_field("file", raw_fast);
        let offset = builder.add_u64_field("offset", INDEXED | FAST);
        let parse_error = builder.add_text_field("parse_error", TEXT);
        let generation = builder.add_u64_field("gen", INDEXED | FAST);
        let source_json = builder.add_text_field("_source", STORED);
        // The older schema lacks it; its handle then names no field there,
        // and the store never writes it into such a day.
        let source_name = if expand_dots {
            builder.add_text_field("source_name", STRING)
        } else {
            Field::from_field_id(u32::MAX)
        };
        Fields {
            schema: builder.build(),
            id,
            timestamp,
            host,
            source,
            service,
            level,
            severity,
            body,
            attributes,
            file,
            offset,
            parse_error,
            generation,
            source_json,
            source_name,
        }
    }

    /// The document of `event`, written in writer generation `generation`,
    /// for a day whose schema has the `source_name` field when `names`.
    pub fn document(&self, event: &Event, generation: u64, names: bool) -> TantivyDocument {
        let mut document = TantivyDocument::default();
        document.add_text(self.id, event.id.to_string());
        document.add_date(
            self.timestamp,
            DateTime::from_timestamp_nanos(event.timestamp_unix_nano),
        );
        document.add_text(self.host, &event.resource.host);
        document.add_text(self.source, &event.resource.source);
        if let Some(service) = &event.resource.service {
            document.add_text(self.service, service);
        }
        if names && let Some(name) = &event.resource.source_name {
            document.add_text(self.source_name, name);
        }
        if let Some(level) = &event.severity.text {
            document.add_text(self.level, level);
        }
        document.add_u64(self.severity, u64::from(event.severity.number));
        document.add_text(self.body, &event.body);
        if !event.attributes.is_empty() {
            document.add_object(
                self.attributes,
                event
                    .attributes
                    .iter()
                    .map(|(key, value)| (key.clone(), value.clone().into()))
                    .collect(),
            );
        }
        document.add_text(self.file, event.file.to_key());
        document.add_u64(self.offset, event.offset);
        if let Some(error) = &event.parse_error {
            document.add_text(self.parse_error, error);
        }
        document.add_u64(self.generation, generation);
        document.add_text(
            self.source_json,
            serde_json::to_string(event).unwrap_or_default(),
        );
        document
    }

    /// The event a stored document holds.
    pub fn event(&self, document: &TantivyDocument) -> Option<Event> {
        use tantivy::schema::Value;
        let text = document.get_first(self.source_json)?.as_str()?;
        serde_json::from_str(text).ok()
    }
}

impl Default for Fields {
    fn default() -> Self {
        Self::new()
    }
}
