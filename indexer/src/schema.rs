//! The tantivy schema of a day index, and events to documents and back.
//!
//! | field | type | why |
//! |---|---|---|
//! | `id` | raw string | `context` and `id:` (fast in older days) |
//! | `timestamp` | date, ns, fast (older days: indexed too) | time ranges, newest first |
//! | `host`, `source`, `service`, `level`, `file` | raw string, fast | filters and facets |
//! | `severity` | u64, indexed + fast | `severity:>=13` |
//! | `body` | text with positions | full-text and phrases |
//! | `attributes` | JSON, text with positions | `http.response.status_code:500` |
//! | `offset` | u64, fast (older days: indexed too) | context by file order, `offset:N` |
//! | `parse_error` | text | finding what did not parse |
//! | `gen` | u64, indexed | the writer generation, to roll back a half-committed one |
//! | `_source` | older days: stored JSON of the whole event | results come back exactly as indexed |
//! | `source_name` | raw string | `source:` finds a source by its configured name too |
//! | `id_key` | u64, fast | `id:` and `context` in new days: the id's first 64 bits |
//! | `_event` | stored bytes | new days: the event in `model::codec::encode_stored`'s form, in place of `_source` |
//!
//! Fields are only ever added at the end, so that one set of handles fits
//! the days older builds wrote: their schema lacks the newer fields, and
//! queries on those match nothing there (see `query::InSchema`).

use loghaul_model::{Event, EventId};
use tantivy::schema::{
    DateOptions, DateTimePrecision, FAST, Field, INDEXED, IndexRecordOption, JsonObjectOptions,
    NumericOptions, STORED, STRING, Schema, TEXT, TextFieldIndexing, TextOptions,
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
    /// The id's first 64 bits ([`id_key`]), a fast column; new days keep
    /// this instead of the id's text.
    pub id_key: Field,
    /// The stored event in binary ([`loghaul_model::codec::encode_stored`]);
    /// new days keep this instead of `_source`.
    pub event_bytes: Field,
}

/// Which of the later fields a day's schema has: days keep the schema
/// they were made with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayShape {
    /// `source_name`.
    pub names: bool,
    /// `id_key`, in place of the id's text.
    pub id_key: bool,
    /// `_event`, in place of `_source`.
    pub event_bytes: bool,
}

impl DayShape {
    /// The shape of `schema`.
    pub fn of(schema: &Schema) -> Self {
        DayShape {
            names: schema.get_field("source_name").is_ok(),
            id_key: schema.get_field("id_key").is_ok(),
            event_bytes: schema.get_field("_event").is_ok(),
        }
    }
}

/// The indexed key of `id`: its first 64 bits. Two events of a day share
/// one with odds of about 2^-64 per pair; `context` checks the whole id.
pub fn id_key(id: EventId) -> u64 {
    (id.0 >> 64) as u64
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
        // Results come in time order, never by relevance: no field keeps
        // the fieldnorms only scoring reads.
        // The older schema (`!expand_dots`) keeps its options as its days
        // have them.
        let norms = |options: TextOptions| {
            if expand_dots {
                without_norms(options)
            } else {
                options
            }
        };
        let raw = norms(STRING);
        let raw_fast = raw.clone() | FAST;
        let numeric = if expand_dots {
            NumericOptions::default().set_indexed().set_fast()
        } else {
            NumericOptions::from(INDEXED | FAST)
        };
        // Ids are looked up, never sorted or faceted: no fast column (the
        // dictionary of a million unique ids would double their size).
        let id = builder.add_text_field(
            "id",
            if expand_dots {
                raw.clone()
            } else {
                raw_fast.clone()
            },
        );
        // Time ranges and the page order read the fast column (exact to the
        // nanosecond); the terms, at second precision, served nothing.
        let timestamp_options = DateOptions::default()
            .set_fast()
            .set_precision(DateTimePrecision::Nanoseconds);
        let timestamp = builder.add_date_field(
            "timestamp",
            if expand_dots {
                timestamp_options
            } else {
                timestamp_options.set_indexed()
            },
        );
        let host = builder.add_text_field("host", raw_fast.clone());
        let source = builder.add_text_field("source", raw_fast.clone());
        let service = builder.add_text_field("service", raw_fast.clone());
        let level = builder.add_text_field("level", raw_fast.clone());
        let severity = builder.add_u64_field("severity", numeric.clone());
        let body = builder.add_text_field("body", norms(TEXT));
        let json_options = JsonObjectOptions::default()
            .set_indexing_options(
                TextFieldIndexing::default()
                    .set_tokenizer("default")
                    .set_index_option(IndexRecordOption::WithFreqsAndPositions)
                    .set_fieldnorms(!expand_dots),
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
        // Offsets are ranges (context) and exact values answered from the
        // fast column: no terms, one per record, in new days.
        let offset = builder.add_u64_field(
            "offset",
            if expand_dots {
                NumericOptions::default().set_fast()
            } else {
                numeric.clone()
            },
        );
        let parse_error = builder.add_text_field("parse_error", norms(TEXT));
        let generation = builder.add_u64_field("gen", numeric);
        let source_json = builder.add_text_field("_source", STORED);
        // The older schema lacks it; its handle then names no field there,
        // and the store never writes it into such a day.
        let source_name = if expand_dots {
            builder.add_text_field("source_name", raw)
        } else {
            Field::from_field_id(u32::MAX)
        };
        // Ids are looked up one at a time, by a scan of this column (8 bytes
        // an event) rather than in a dictionary of a million unique terms
        // (about 20 bytes an event).
        let id_key = if expand_dots {
            builder.add_u64_field("id_key", NumericOptions::default().set_fast())
        } else {
            Field::from_field_id(u32::MAX - 1)
        };
        // The event once, in binary: an access log's fields are spans of
        // its line there, not a second copy as in `_source`'s JSON.
        let event_bytes = if expand_dots {
            builder.add_bytes_field("_event", STORED)
        } else {
            Field::from_field_id(u32::MAX - 2)
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
            id_key,
            event_bytes,
        }
    }

    /// The document of `event`, written in writer generation `generation`,
    /// for a day of schema `shape`.
    pub fn document(&self, event: &Event, generation: u64, shape: DayShape) -> TantivyDocument {
        let mut document = TantivyDocument::default();
        if shape.id_key {
            document.add_u64(self.id_key, id_key(event.id));
        } else {
            document.add_text(self.id, event.id.to_string());
        }
        document.add_date(
            self.timestamp,
            DateTime::from_timestamp_nanos(event.timestamp_unix_nano),
        );
        document.add_text(self.host, &event.resource.host);
        document.add_text(self.source, &event.resource.source);
        if let Some(service) = &event.resource.service {
            document.add_text(self.service, service);
        }
        if shape.names
            && let Some(name) = &event.resource.source_name
        {
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
        if shape.event_bytes {
            document.add_bytes(
                self.event_bytes,
                &loghaul_model::codec::encode_stored(event),
            );
        } else {
            document.add_text(
                self.source_json,
                serde_json::to_string(event).unwrap_or_default(),
            );
        }
        document
    }

    /// The event a stored document holds, and the bytes it was stored in;
    /// `None` when it holds none, an error when they do not read.
    pub fn stored(&self, document: &TantivyDocument) -> Option<(Result<Event, String>, usize)> {
        use tantivy::schema::Value;
        if let Some(bytes) = document
            .get_first(self.event_bytes)
            .and_then(|value| value.as_bytes())
        {
            return Some((loghaul_model::codec::decode_stored(bytes), bytes.len()));
        }
        let text = document.get_first(self.source_json)?.as_str()?;
        Some((
            serde_json::from_str(text).map_err(|error| error.to_string()),
            text.len(),
        ))
    }

    /// The event a stored document holds.
    pub fn event(&self, document: &TantivyDocument) -> Option<Event> {
        self.stored(document)?.0.ok()
    }
}

/// `options` indexed as before, without fieldnorms.
fn without_norms(options: TextOptions) -> TextOptions {
    match options.get_indexing_options() {
        Some(indexing) => {
            let indexing = indexing.clone().set_fieldnorms(false);
            options.set_indexing_options(indexing)
        }
        None => options,
    }
}

impl Default for Fields {
    fn default() -> Self {
        Self::new()
    }
}
