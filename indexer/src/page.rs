//! The answers of the search API as types, and the one order every page of
//! events follows.
//!
//! **Order.** Newest first. Events with the same timestamp come in file order:
//! by source, host and file, then ascending byte offset, then id. So the lines
//! of a file that carry no time of their own (they all take their batch's read
//! time) read like the file. [`Position`] is that order; it is total, because
//! ids are unique.
//!
//! **Cursor.** A page's `next_cursor` is the [`Position`] of its last event,
//! written out whole, with a hash of the query text it belongs to. The next
//! page holds exactly the events after it; a cursor passed with another
//! query is refused rather than mixing two result lists. It does not depend
//! on the precision of tantivy's date terms (seconds), so a run of a million
//! equal timestamps pages like any other.
//!
//! **Merging.** One shard's page, a day's page and a peer's page merge the
//! same way ([`SearchPage::merge`]): every part applied the same cursor, so
//! the merged pages sorted by position and cut to the limit continue exactly
//! where the last page ended. Counts, histogram buckets and facet values add
//! up.

use std::cmp::Ordering;
use std::collections::HashMap;

use loghaul_model::{Event, EventId};
use serde::{Deserialize, Serialize};

/// Where an event sits in result order. Smaller comes first on a page.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Position {
    /// Event time, ns since the epoch.
    pub timestamp: i64,
    /// Source path.
    pub source: String,
    /// Host.
    pub host: String,
    /// File identity key.
    pub file: String,
    /// Byte offset in the file.
    pub offset: u64,
    /// Event id.
    pub id: EventId,
}

impl Ord for Position {
    fn cmp(&self, other: &Self) -> Ordering {
        other
            .timestamp
            .cmp(&self.timestamp)
            .then_with(|| self.source.cmp(&other.source))
            .then_with(|| self.host.cmp(&other.host))
            .then_with(|| self.file.cmp(&other.file))
            .then_with(|| self.offset.cmp(&other.offset))
            .then_with(|| self.id.cmp(&other.id))
    }
}

impl PartialOrd for Position {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

const CURSOR_VERSION: &str = "p1";

/// FNV-1a of the query text: which query a cursor belongs to.
fn query_hash(query: &str) -> u64 {
    query.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn hex(text: &str) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(text.len() * 2);
    for byte in text.bytes() {
        let _ = write!(out, "{byte:02x}");
    }
    out
}

fn unhex(text: &str) -> Option<String> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    let bytes = (0..text.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(text.get(at..at + 2)?, 16).ok())
        .collect::<Option<Vec<u8>>>()?;
    String::from_utf8(bytes).ok()
}

impl Position {
    /// The position of `event`.
    pub fn of(event: &Event) -> Self {
        Position {
            timestamp: event.timestamp_unix_nano,
            source: event.resource.source.to_string(),
            host: event.resource.host.to_string(),
            file: event.file.to_key(),
            offset: event.offset,
            id: event.id,
        }
    }

    /// The cursor text of this position in the results of `query`:
    /// URL-safe, opaque to clients.
    pub fn cursor(&self, query: &str) -> String {
        format!(
            "{CURSOR_VERSION}.{:016x}.{}.{}.{}.{}.{}.{}",
            query_hash(query),
            self.timestamp,
            self.offset,
            self.id,
            hex(&self.source),
            hex(&self.host),
            hex(&self.file)
        )
    }

    /// Reads a cursor made by [`Position::cursor`] for the same `query`.
    pub fn from_cursor(text: &str, query: &str) -> Result<Self, String> {
        let invalid = || format!("invalid cursor {text:?}: pass back next_cursor as given");
        let mut parts = text.split('.');
        if parts.next() != Some(CURSOR_VERSION) {
            return Err(invalid());
        }
        let mut next = || parts.next().ok_or_else(invalid);
        if u64::from_str_radix(next()?, 16).map_err(|_| invalid())? != query_hash(query) {
            return Err(format!(
                "this cursor belongs to another query: pass next_cursor back with the same q as the page that gave it (q {query:?})"
            ));
        }
        let timestamp = next()?.parse().map_err(|_| invalid())?;
        let offset = next()?.parse().map_err(|_| invalid())?;
        let id = next()?.parse().map_err(|_| invalid())?;
        let source = unhex(next()?).ok_or_else(invalid)?;
        let host = unhex(next()?).ok_or_else(invalid)?;
        let file = unhex(next()?).ok_or_else(invalid)?;
        if parts.next().is_some() {
            return Err(invalid());
        }
        Ok(Position {
            timestamp,
            source,
            host,
            file,
            offset,
            id,
        })
    }
}

/// Sorts events into page order.
pub fn sort_events(events: &mut [Event]) {
    events.sort_by_cached_key(Position::of);
}

/// One page of `/api/search`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SearchPage {
    /// Events in page order (newest first; equal times in file order).
    pub events: Vec<Event>,
    /// Pass back as `cursor` for the next page; absent on the last.
    pub next_cursor: Option<String>,
    /// Milliseconds this node spent.
    #[serde(default)]
    pub took_ms: f64,
    /// For each event, in order: the byte ranges `[start, end)` of its body
    /// (within the first 64 KiB) that the query's body words match. Absent
    /// when the query looks for nothing in bodies.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub highlights: Vec<Vec<[usize; 2]>>,
}

impl SearchPage {
    /// A page of `query` of the first `limit` of `events` (already in page
    /// order) when `more` says whether anything lies past them.
    pub fn cut(mut events: Vec<Event>, limit: usize, more: bool, query: &str) -> Self {
        let more = more || events.len() > limit;
        events.truncate(limit);
        SearchPage {
            next_cursor: more
                .then(|| events.last().map(|event| Position::of(event).cursor(query)))
                .flatten(),
            events,
            took_ms: 0.0,
            highlights: Vec::new(),
        }
    }

    /// Merges pages of `query` that applied the same cursor and limit (from
    /// days, shards or peers) into the page of the whole.
    pub fn merge(pages: impl IntoIterator<Item = SearchPage>, limit: usize, query: &str) -> Self {
        let mut more = false;
        let mut events = Vec::new();
        for page in pages {
            more |= page.next_cursor.is_some();
            events.extend(page.events);
        }
        sort_events(&mut events);
        Self::cut(events, limit, more, query)
    }
}

/// `/api/count`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CountAnswer {
    /// Matching events.
    pub count: u64,
}

impl CountAnswer {
    /// The sum of the parts.
    pub fn merge(parts: impl IntoIterator<Item = CountAnswer>) -> Self {
        CountAnswer {
            count: parts.into_iter().map(|part| part.count).sum(),
        }
    }
}

/// One histogram bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bucket {
    /// Bucket start, ns since the epoch.
    pub start: i64,
    /// Matching events from `start` to `start + interval_ns`.
    pub count: u64,
}

/// `/api/histogram`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistogramAnswer {
    /// Range start, ns.
    pub from: i64,
    /// Range end, ns, exclusive.
    pub to: i64,
    /// Bucket width, ns.
    pub interval_ns: i64,
    /// Buckets, oldest first.
    pub buckets: Vec<Bucket>,
}

impl HistogramAnswer {
    /// Adds `other`'s buckets (same range and interval) into these.
    pub fn add(&mut self, other: &HistogramAnswer) -> Result<(), String> {
        if other.from != self.from
            || other.interval_ns != self.interval_ns
            || other.buckets.len() != self.buckets.len()
        {
            return Err(format!(
                "histograms do not line up: {} buckets of {} ns from {} against {} of {} ns from {}",
                self.buckets.len(),
                self.interval_ns,
                self.from,
                other.buckets.len(),
                other.interval_ns,
                other.from
            ));
        }
        for (mine, theirs) in self.buckets.iter_mut().zip(&other.buckets) {
            mine.count += theirs.count;
        }
        Ok(())
    }
}

/// One value of a facet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FacetValue {
    /// The value.
    pub value: String,
    /// Matching events with it.
    pub count: u64,
}

/// `/api/facets`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FacetsAnswer {
    /// The field.
    pub field: String,
    /// Most frequent first; equal counts by value.
    pub values: Vec<FacetValue>,
}

impl FacetsAnswer {
    /// Sums the parts' values and keeps the `limit` most frequent.
    pub fn merge(
        field: String,
        parts: impl IntoIterator<Item = Vec<FacetValue>>,
        limit: usize,
    ) -> Self {
        let mut totals: HashMap<String, u64> = HashMap::new();
        for part in parts {
            for value in part {
                *totals.entry(value.value).or_default() += value.count;
            }
        }
        let mut values: Vec<FacetValue> = totals
            .into_iter()
            .map(|(value, count)| FacetValue { value, count })
            .collect();
        values.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
        values.truncate(limit);
        FacetsAnswer { field, values }
    }
}

/// `/api/context`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContextAnswer {
    /// Records before the event in its file, in file order.
    pub before: Vec<Event>,
    /// The event.
    pub event: Event,
    /// Records after it, in file order.
    pub after: Vec<Event>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_round_trips_any_text() {
        let position = Position {
            timestamp: -5,
            source: "/var/log/a.b.log \u{e9}\n".into(),
            host: "".into(),
            file: "1-2-0000000000000003".into(),
            offset: u64::MAX,
            id: EventId(7),
        };
        let query = "level:ERROR";
        assert_eq!(
            Position::from_cursor(&position.cursor(query), query).expect("parses"),
            position
        );
        assert!(Position::from_cursor("1700000000:abc", query).is_err());
        assert!(Position::from_cursor(&format!("{}.00", position.cursor(query)), query).is_err());
        assert!(Position::from_cursor("p1.0.1.2.3.zz.00.00", query).is_err());
        let other = Position::from_cursor(&position.cursor(query), "timeout")
            .expect_err("another query's cursor");
        assert!(other.contains("another query"), "{other}");
    }

    #[test]
    fn equal_times_come_in_file_order() {
        let at = |timestamp, source: &str, offset| Position {
            timestamp,
            source: source.into(),
            host: "h".into(),
            file: "f".into(),
            offset,
            id: EventId(u128::from(offset)),
        };
        let mut positions = vec![at(1, "a", 9), at(2, "b", 0), at(1, "a", 3), at(1, "0", 50)];
        positions.sort();
        assert_eq!(
            positions,
            vec![at(2, "b", 0), at(1, "0", 50), at(1, "a", 3), at(1, "a", 9)]
        );
    }
}
