//! Search over one shard's day indexes: pages of events newest first with a
//! cursor, counts, histograms, top values of a field, file context and the
//! events of recent commits (for live tail).
//!
//! A time range opens only the days it overlaps. Readers are cached per day
//! and reloaded on each request, which costs a `meta.json` check; a day that
//! retention removed drops its reader at the next listing.
//!
//! Pages follow the order of [`crate::page`]: a collector of our own keeps
//! the first `limit` documents by their whole position (time, then source,
//! host, file, offset and id, read from fast columns), after the cursor's
//! position. Nothing looks up a date term, whose precision is seconds.
//!
//! Every query runs under a [`Control`] ([`Searcher::under`]): stopped when
//! cancelled or past its deadline, refused past its memory budget. The plain
//! methods of [`Searcher`] run without limits (the CLI on a data directory).

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use loghaul_model::time::UtcDateTime;
use loghaul_model::{Event, EventId};
use serde::{Deserialize, Serialize};
use tantivy::collector::{Collector, Count, SegmentCollector, TopDocs};
use tantivy::columnar::{Column, StrColumn, TermOrdHit};
use tantivy::query::{BooleanQuery, Occur, Query, RangeQuery, TermQuery};
use tantivy::schema::IndexRecordOption;
use tantivy::{
    DateTime, DocAddress, DocId, Index, IndexReader, Order, ReloadPolicy, Score, SegmentReader,
    TantivyDocument, Term,
};

use crate::control::{Control, Guarded, Stop};
use crate::page::Position;
pub use crate::page::SearchPage;
use crate::query::{self, QueryError};
use crate::schema::Fields;

/// Most events one page may ask for.
pub const MAX_LIMIT: usize = 1000;
/// Most histogram buckets.
pub const MAX_BUCKETS: usize = 2000;
/// Most facet values returned.
pub const MAX_FACETS: usize = 1000;
/// Most context records on each side.
pub const MAX_CONTEXT: usize = 500;

/// Why a search failed.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    /// The query text is wrong; it has a position.
    #[error("{0}")]
    Query(#[from] QueryError),
    /// A parameter is outside what is allowed.
    #[error("{0}")]
    Invalid(String),
    /// No event has this id.
    #[error("no event with id {0}")]
    NotFound(String),
    /// The query was stopped: its client went away, it ran past its time
    /// limit, or it needed more memory than its budget. No partial answer
    /// is returned.
    #[error("{0}")]
    Stopped(Stop),
    /// The index failed.
    #[error("index {path}: {source}")]
    Index {
        /// The day index.
        path: PathBuf,
        /// What tantivy said.
        source: tantivy::TantivyError,
    },
}

/// What to search.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SearchRequest {
    /// The query text (see [`crate::query`]).
    pub query: String,
    /// From this time, inclusive (ns since the epoch).
    pub from: Option<i64>,
    /// To this time, exclusive.
    pub to: Option<i64>,
    /// Events per page, 1 to [`MAX_LIMIT`].
    pub limit: usize,
    /// Where the previous page ended: its `next_cursor`.
    pub cursor: Option<String>,
}

/// Search over `<data_dir>/index/<shard>`.
pub struct Searcher {
    root: PathBuf,
    /// Where rehydrated indexes live (`<data_dir>`), for shard 0 only: one
    /// shard serves them, so a fan-out never counts them twice.
    rehydrated_in: Option<PathBuf>,
    fields: Fields,
    readers: Mutex<HashMap<String, (Index, IndexReader)>>,
}

impl std::fmt::Debug for Searcher {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Searcher")
            .field("root", &self.root)
            .finish()
    }
}

fn day_name(unix_nano: i64) -> String {
    UtcDateTime::from_unix_nano(unix_nano).date_string()
}

/// The first window below a cursor: one second (a run of equal timestamps
/// fits whole).
const WINDOW_START: i64 = 1_000_000_000;

/// The `YYYY-MM-DD` of a day index's name: the name itself for a live day,
/// the last part of the path for a rehydrated one.
fn date_part(day: &str) -> &str {
    day.get(day.len().saturating_sub(10)..).unwrap_or(day)
}

/// The first nanosecond of day `day` (`YYYY-MM-DD`, UTC).
fn day_start(day: &str) -> Option<i64> {
    let date: jiff::civil::Date = date_part(day).parse().ok()?;
    let start = date.to_zoned(jiff::tz::TimeZone::UTC).ok()?;
    i64::try_from(start.timestamp().as_nanosecond()).ok()
}

fn date_term(fields: &Fields, unix_nano: i64) -> Term {
    // Full precision: a range on the timestamp is answered from its fast
    // column, which keeps nanoseconds (its terms keep only seconds).
    Term::from_field_date(fields.timestamp, DateTime::from_timestamp_nanos(unix_nano))
}

impl Searcher {
    /// A searcher over shard `shard` of `data_dir`.
    pub fn new(data_dir: &Path, shard: u32) -> Self {
        Searcher {
            root: data_dir.join("index").join(shard.to_string()),
            rehydrated_in: (shard == 0).then(|| data_dir.to_owned()),
            fields: Fields::new(),
            readers: Mutex::new(HashMap::new()),
        }
    }

    /// The fields of the schema.
    pub fn fields(&self) -> &Fields {
        &self.fields
    }

    /// Day names with an index between `from` and `to`, newest first.
    ///
    /// Cached readers of days that are gone (removed by retention) are
    /// dropped here, so their files' space is freed.
    pub fn days(&self, from: Option<i64>, to: Option<i64>) -> Vec<String> {
        self.days_in(from, to, false)
    }

    /// The current rehydrations this searcher includes when asked.
    pub fn rehydrations(&self) -> Vec<crate::rehydrated::Rehydration> {
        self.rehydrated_in
            .as_deref()
            .map(|data_dir| {
                crate::rehydrated::current(data_dir, loghaul_model::time::now_unix_nano())
                    .into_iter()
                    .map(|(_, rehydration)| rehydration)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// [`Searcher::days`], with the day indexes of current rehydrations
    /// (named by their absolute paths) when `rehydrated` is set. Expired
    /// rehydrations are deleted here.
    pub fn days_in(&self, from: Option<i64>, to: Option<i64>, rehydrated: bool) -> Vec<String> {
        let first = from.map(day_name);
        let last = to.map(|to| day_name(to.saturating_sub(1)));
        let day_dirs = |root: &Path| -> Vec<std::fs::DirEntry> {
            std::fs::read_dir(root)
                .into_iter()
                .flatten()
                .flatten()
                .filter(|entry| entry.path().join("meta.json").exists())
                .filter(|entry| entry.file_name().len() == 10)
                .collect()
        };
        let mut present: Vec<String> = day_dirs(&self.root)
            .into_iter()
            .filter_map(|entry| entry.file_name().into_string().ok())
            .collect();
        if rehydrated && let Some(data_dir) = &self.rehydrated_in {
            let now = loghaul_model::time::now_unix_nano();
            for (dir, _) in crate::rehydrated::current(data_dir, now) {
                present.extend(
                    day_dirs(&dir.join("index").join("0"))
                        .into_iter()
                        .map(|entry| entry.path().display().to_string()),
                );
            }
        }
        self.readers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .retain(|day, _| present.contains(day));
        let mut days: Vec<String> = present
            .into_iter()
            .filter(|name| {
                first
                    .as_deref()
                    .is_none_or(|first| date_part(name) >= first)
            })
            .filter(|name| last.as_deref().is_none_or(|last| date_part(name) <= last))
            .collect();
        days.sort_unstable_by(|a, b| date_part(b).cmp(date_part(a)).then_with(|| a.cmp(b)));
        days
    }

    fn searcher(&self, day: &str) -> Result<tantivy::Searcher, SearchError> {
        let path = self.root.join(day);
        let error = |source| SearchError::Index {
            path: path.clone(),
            source,
        };
        let mut readers = self
            .readers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if !readers.contains_key(day) {
            let index = Index::open_in_dir(&path).map_err(error)?;
            let reader = index
                .reader_builder()
                .reload_policy(ReloadPolicy::Manual)
                .try_into()
                .map_err(error)?;
            readers.insert(day.to_owned(), (index, reader));
        }
        let (_, reader) = readers
            .get(day)
            .ok_or_else(|| SearchError::Invalid(format!("day {day} vanished")))?;
        reader.reload().map_err(error)?;
        Ok(reader.searcher())
    }

    /// The newest committed generation found in the day indexes' commit
    /// payloads (0 when there is none): where a local live tail starts.
    pub fn latest_generation(&self) -> u64 {
        self.days(None, None)
            .iter()
            .filter_map(|day| Index::open_in_dir(self.root.join(day)).ok())
            .filter_map(|index| index.load_metas().ok())
            .filter_map(|metas| metas.payload)
            .filter_map(|payload| serde_json::from_str::<serde_json::Value>(&payload).ok())
            .filter_map(|payload| payload["generation"].as_u64())
            .max()
            .unwrap_or(0)
    }

    /// Checks a query without running it, so a bad query fails the same
    /// whether or not there is data to search.
    pub fn validate(&self, text: &str) -> Result<(), SearchError> {
        let ast = query::parse(text)?;
        query::compile(&ast, &self.fields, &mut analyzer()?)?;
        Ok(())
    }

    /// This searcher with every query under `control`: stopped when it is
    /// cancelled or past its deadline, refused past its memory budget.
    pub fn under(&self, control: Arc<Control>) -> Scope<'_> {
        Scope {
            searcher: self,
            control,
            rehydrated: false,
        }
    }

    /// One page of events (see [`crate::page`] for the order and cursor).
    pub fn search(&self, request: &SearchRequest) -> Result<SearchPage, SearchError> {
        self.under(Control::unlimited()).search(request)
    }

    /// How many events match.
    pub fn count(
        &self,
        text: &str,
        from: Option<i64>,
        to: Option<i64>,
    ) -> Result<u64, SearchError> {
        self.under(Control::unlimited()).count(text, from, to)
    }

    /// Counts per `interval` from `from` to `to`: (bucket start, count).
    pub fn histogram(
        &self,
        text: &str,
        from: i64,
        to: i64,
        interval: i64,
    ) -> Result<Vec<(i64, u64)>, SearchError> {
        self.under(Control::unlimited())
            .histogram(text, from, to, interval)
    }

    /// The most frequent values of a raw field among matching events.
    pub fn facets(
        &self,
        text: &str,
        from: Option<i64>,
        to: Option<i64>,
        field: &str,
        limit: usize,
    ) -> Result<Vec<(String, u64)>, SearchError> {
        self.under(Control::unlimited())
            .facets(text, from, to, field, limit)
    }

    /// The event `id`, with up to `before` and `after` records of the same
    /// file around it, in file order.
    pub fn context(
        &self,
        id: &str,
        before: usize,
        after: usize,
    ) -> Result<(Vec<Event>, Event, Vec<Event>), SearchError> {
        self.under(Control::unlimited()).context(id, before, after)
    }

    /// Matching events written in generations after `generation`, oldest
    /// first (equal times in file order), at most `limit`: what a live tail
    /// shows next.
    pub fn since_generation(
        &self,
        text: &str,
        generation: u64,
        limit: usize,
    ) -> Result<Vec<Event>, SearchError> {
        self.under(Control::unlimited())
            .since_generation(text, generation, limit)
    }
}

/// A [`Searcher`] whose queries obey one [`Control`].
#[derive(Debug)]
pub struct Scope<'a> {
    searcher: &'a Searcher,
    control: Arc<Control>,
    rehydrated: bool,
}

/// Bytes an event holds beyond its stored JSON, for the memory budget.
const EVENT_OVERHEAD: usize = 256;

/// `"id":"<32 hex digits>",`: what the answer's JSON of an event holds
/// even where the store left the id out.
const ID_JSON: usize = 40;

/// The names and punctuation of an event's JSON in an answer, which its
/// binary stored form does not hold.
const JSON_NAMES: usize = 192;

/// About the bytes of `event`'s JSON in an answer.
fn answer_bytes(event: &Event) -> usize {
    let resource = &event.resource;
    let attributes: usize = event
        .attributes
        .iter()
        .map(|(key, value)| {
            key.len()
                + 6
                + match value {
                    serde_json::Value::String(text) => text.len(),
                    other => other.to_string().len(),
                }
        })
        .sum();
    ID_JSON
        + JSON_NAMES
        + 64
        + event.body.len()
        + event.severity.text.as_ref().map_or(0, String::len)
        + resource.host.len()
        + resource.source.len()
        + resource.service.as_ref().map_or(0, |text| text.len())
        + resource.source_name.as_ref().map_or(0, |text| text.len())
        + event.parse_error.as_ref().map_or(0, String::len)
        + attributes
}

impl Scope<'_> {
    /// This scope over the live index and, when `on`, the current
    /// rehydrations too.
    pub fn with_rehydrated(mut self, on: bool) -> Self {
        self.rehydrated = on;
        self
    }

    fn days(&self, from: Option<i64>, to: Option<i64>) -> Vec<String> {
        self.searcher.days_in(from, to, self.rehydrated)
    }

    fn fields(&self) -> &Fields {
        &self.searcher.fields
    }

    /// The error for a failed tantivy call: the stop, when the control
    /// stopped it, else the index's own error.
    fn failed(&self, path: &Path, source: tantivy::TantivyError) -> SearchError {
        match self.control.reason() {
            Some(stop) => SearchError::Stopped(stop),
            None => SearchError::Index {
                path: path.to_owned(),
                source,
            },
        }
    }

    fn stopped(&self) -> Result<(), SearchError> {
        self.control.check().map_err(SearchError::Stopped)
    }

    /// Runs `collector` over `day`; a stopped query is an error, never a
    /// partial answer.
    fn collect<C: Collector>(
        &self,
        day: &str,
        query: &dyn Query,
        collector: &C,
    ) -> Result<(tantivy::Searcher, C::Fruit), SearchError> {
        self.stopped()?;
        let searcher = self.searcher.searcher(day)?;
        let fruit = searcher
            .search(query, collector)
            .map_err(|source| self.failed(&self.searcher.root.join(day), source))?;
        self.stopped()?;
        Ok((searcher, fruit))
    }

    /// The query of a request: the text and the time range, plus `extra`
    /// clauses, guarded by the control.
    fn build(
        &self,
        text: &str,
        from: Option<i64>,
        to: Option<i64>,
        extra: Vec<Box<dyn Query>>,
    ) -> Result<Box<dyn Query>, SearchError> {
        let ast = query::parse(text)?;
        let mut analyzer = analyzer()?;
        let fields = self.fields();
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = vec![(
            Occur::Must,
            query::compile_under(&ast, fields, &mut analyzer, Some(&self.control))?,
        )];
        if from.is_some() || to.is_some() {
            clauses.push((
                Occur::Must,
                Box::new(RangeQuery::new(
                    from.map_or(Bound::Unbounded, |from| {
                        Bound::Included(date_term(fields, from))
                    }),
                    to.map_or(Bound::Unbounded, |to| {
                        Bound::Excluded(date_term(fields, to))
                    }),
                )),
            ));
        }
        for query in extra {
            clauses.push((Occur::Must, query));
        }
        // The multi-term clauses charge their own bitsets (see
        // `compile_under`); the whole query's guard checks between segments
        // and documents.
        Ok(Box::new(Guarded::new(
            Box::new(BooleanQuery::new(clauses)),
            self.control.clone(),
            0,
        )))
    }

    /// The stored events at `addresses`, charged to the memory budget.
    fn events_at(
        &self,
        searcher: &tantivy::Searcher,
        addresses: impl IntoIterator<Item = DocAddress>,
        path: &Path,
    ) -> Result<Vec<Event>, SearchError> {
        let mut events = Vec::new();
        for address in addresses {
            let document: TantivyDocument = searcher
                .doc(address)
                .map_err(|source| self.failed(path, source))?;
            let Some((event, stored)) = self.fields().stored(&document) else {
                continue;
            };
            let Ok(event) = event else {
                self.control
                    .charge(stored + EVENT_OVERHEAD)
                    .map_err(SearchError::Stopped)?;
                continue;
            };
            // The stored form, the event read from it and its JSON in the
            // answer are held until the answer is sent.
            self.control
                .charge(stored + 2 * answer_bytes(&event) + EVENT_OVERHEAD)
                .map_err(SearchError::Stopped)?;
            events.push(event);
        }
        Ok(events)
    }

    /// The first `limit` events in page order among those `text` (and
    /// `extra`) matches from `from` to `to` after `after`, with whether more
    /// exist.
    ///
    /// After a cursor, the page is looked for in a time window just below
    /// it, widened eightfold until it holds a page or reaches `from` (or the
    /// oldest day). So a page deep in a large day costs the events near it,
    /// not every older event of the day: newest-first paging stays linear.
    fn page(
        &self,
        text: &str,
        from: Option<i64>,
        to: Option<i64>,
        after: Option<Position>,
        limit: usize,
        extra: &dyn Fn() -> Vec<Box<dyn Query>>,
    ) -> Result<(Vec<Event>, bool), SearchError> {
        // Nothing newer than the cursor is past it.
        let upper = match &after {
            Some(after) => {
                let edge = after.timestamp.saturating_add(1);
                Some(to.map_or(edge, |to| to.min(edge)))
            }
            None => to,
        };
        let oldest_day_start = self.days(from, upper).last().and_then(|day| day_start(day));
        // The first page searches its whole range at once: nothing is known
        // yet of how dense the matches are.
        let mut span: Option<i64> = (after.is_some() && upper.is_some()).then_some(WINDOW_START);
        loop {
            let lower = match (span, upper) {
                (Some(span), Some(upper)) => {
                    let lower = upper.saturating_sub(span);
                    let reaches_from = from.is_some_and(|from| from >= lower);
                    let reaches_oldest = oldest_day_start.is_none_or(|start| lower <= start);
                    if reaches_from || reaches_oldest {
                        from
                    } else {
                        Some(lower)
                    }
                }
                _ => from,
            };
            let last_try = lower == from;
            let query = self.build(text, lower, upper, extra())?;
            // Days come newest first and each holds only its own times, so
            // their pages, one after another, are in page order.
            let mut hits: Vec<(DocAddress, tantivy::Searcher, String)> = Vec::new();
            for day in self.days(lower, upper) {
                // One more than asked, to know whether a next page exists.
                // Each day holds only its own timestamps, so a newer day's
                // events all come before an older day's.
                let collector = PageCollector {
                    limit: limit + 1 - hits.len(),
                    after: after.clone(),
                    control: self.control.clone(),
                };
                let (searcher, found) = self.collect(&day, &*query, &collector)?;
                hits.extend(
                    found
                        .into_iter()
                        .map(|address| (address, searcher.clone(), day.clone())),
                );
                if hits.len() > limit {
                    break;
                }
            }
            if hits.len() > limit || last_try {
                let more = hits.len() > limit;
                hits.truncate(limit);
                let mut events = Vec::with_capacity(hits.len());
                for (address, searcher, day) in &hits {
                    events.extend(self.events_at(
                        searcher,
                        [*address],
                        &self.searcher.root.join(day),
                    )?);
                }
                return Ok((events, more));
            }
            span = span.map(|span| span.saturating_mul(8));
        }
    }

    /// One page of events (see [`crate::page`] for the order and cursor).
    pub fn search(&self, request: &SearchRequest) -> Result<SearchPage, SearchError> {
        let limit = request.limit;
        if limit == 0 || limit > MAX_LIMIT {
            return Err(SearchError::Invalid(format!(
                "limit must be between 1 and {MAX_LIMIT}, not {limit}"
            )));
        }
        let after = request
            .cursor
            .as_deref()
            .map(|cursor| Position::from_cursor(cursor, &request.query))
            .transpose()
            .map_err(SearchError::Invalid)?;
        // A bad query fails before any day is opened, data or not.
        self.searcher.validate(&request.query)?;
        let (events, more) = self.page(
            &request.query,
            request.from,
            request.to,
            after,
            limit,
            &Vec::new,
        )?;
        Ok(SearchPage::cut(events, limit, more, &request.query))
    }

    /// How many events match.
    pub fn count(
        &self,
        text: &str,
        from: Option<i64>,
        to: Option<i64>,
    ) -> Result<u64, SearchError> {
        let query = self.build(text, from, to, Vec::new())?;
        let mut total = 0;
        for day in self.days(from, to) {
            total += self.collect(&day, &*query, &Count)?.1 as u64;
        }
        Ok(total)
    }

    /// Counts per `interval` from `from` to `to`: (bucket start, count).
    pub fn histogram(
        &self,
        text: &str,
        from: i64,
        to: i64,
        interval: i64,
    ) -> Result<Vec<(i64, u64)>, SearchError> {
        if interval <= 0 || to <= from {
            return Err(SearchError::Invalid(
                "a histogram needs from < to and a positive interval".into(),
            ));
        }
        let buckets = usize::try_from((to - from + interval - 1) / interval).unwrap_or(usize::MAX);
        if buckets > MAX_BUCKETS {
            return Err(SearchError::Invalid(format!(
                "{buckets} buckets: at most {MAX_BUCKETS}; widen the interval"
            )));
        }
        let query = self.build(text, Some(from), Some(to), Vec::new())?;
        let mut counts = vec![0u64; buckets];
        for day in self.days(Some(from), Some(to)) {
            let (_, fruit) = self.collect(
                &day,
                &*query,
                &Histogram {
                    from,
                    interval,
                    buckets,
                },
            )?;
            for (total, add) in counts.iter_mut().zip(fruit) {
                *total += add;
            }
        }
        Ok(counts
            .into_iter()
            .enumerate()
            .map(|(index, count)| (from + index as i64 * interval, count))
            .collect())
    }

    /// The most frequent values of a raw field among matching events.
    pub fn facets(
        &self,
        text: &str,
        from: Option<i64>,
        to: Option<i64>,
        field: &str,
        limit: usize,
    ) -> Result<Vec<(String, u64)>, SearchError> {
        // A raw field, or an attribute path (`attributes.` may be left out).
        let field = if matches!(field, "host" | "source" | "service" | "level" | "file") {
            field.to_owned()
        } else if !field.is_empty() && !matches!(field, "body" | "message" | "msg" | "parse_error")
        {
            format!(
                "attributes.{}",
                field.strip_prefix("attributes.").unwrap_or(field)
            )
        } else {
            return Err(SearchError::Invalid(format!(
                "facets work on host, source, service, level, file and attributes, not {field:?}"
            )));
        };
        let field = field.as_str();
        if limit == 0 || limit > MAX_FACETS {
            return Err(SearchError::Invalid(format!(
                "limit must be between 1 and {MAX_FACETS}"
            )));
        }
        let query = self.build(text, from, to, Vec::new())?;
        let mut totals: HashMap<String, u64> = HashMap::new();
        for day in self.days(from, to) {
            let (_, fruit) = self.collect(
                &day,
                &*query,
                &Terms {
                    field: field.to_owned(),
                    control: self.control.clone(),
                },
            )?;
            for (value, count) in fruit {
                *totals.entry(value).or_default() += count;
            }
        }
        let mut values: Vec<(String, u64)> = totals.into_iter().collect();
        values.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        values.truncate(limit);
        Ok(values)
    }

    /// The event `id`, with up to `before` and `after` records of the same
    /// file around it, in file order.
    pub fn context(
        &self,
        id: &str,
        before: usize,
        after: usize,
    ) -> Result<(Vec<Event>, Event, Vec<Event>), SearchError> {
        if before > MAX_CONTEXT || after > MAX_CONTEXT {
            return Err(SearchError::Invalid(format!(
                "at most {MAX_CONTEXT} records on each side"
            )));
        }
        let fields = self.fields();
        let wanted: EventId = id
            .parse()
            .map_err(|_| SearchError::NotFound(id.to_owned()))?;
        let id_query = crate::query::IdQuery(wanted);
        let mut found = None;
        for day in self.days(None, None) {
            // New days index the id's first 64 bits: of the events sharing
            // them (almost never more than one), the one with the whole id.
            let (searcher, hits) =
                self.collect(&day, &id_query, &TopDocs::with_limit(8).order_by_score())?;
            found = self
                .events_at(
                    &searcher,
                    hits.into_iter().map(|(_, address)| address),
                    &self.searcher.root.join(&day),
                )?
                .into_iter()
                .find(|event| event.id == wanted);
            if found.is_some() {
                break;
            }
        }
        let event = found.ok_or_else(|| SearchError::NotFound(id.to_owned()))?;
        let file = Term::from_field_text(fields.file, &event.file.to_key());
        let host = Term::from_field_text(fields.host, &event.resource.host);
        let side = |lower: Bound<u64>, upper: Bound<u64>, order: Order, count: usize| {
            let mut events: Vec<Event> = Vec::new();
            if count == 0 {
                return Ok(events);
            }
            let query = BooleanQuery::new(vec![
                (
                    Occur::Must,
                    Box::new(TermQuery::new(file.clone(), IndexRecordOption::Basic))
                        as Box<dyn Query>,
                ),
                (
                    Occur::Must,
                    Box::new(TermQuery::new(host.clone(), IndexRecordOption::Basic)),
                ),
                (
                    Occur::Must,
                    Box::new(RangeQuery::new(
                        map_u64(lower, fields.offset),
                        map_u64(upper, fields.offset),
                    )),
                ),
            ]);
            for day in self.days(None, None) {
                let (searcher, hits) = self.collect(
                    &day,
                    &query,
                    &TopDocs::with_limit(count).order_by_fast_field::<u64>("offset", order),
                )?;
                events.extend(self.events_at(
                    &searcher,
                    hits.into_iter().map(|(_, address)| address),
                    &self.searcher.root.join(&day),
                )?);
            }
            events.sort_by_key(|event| event.offset);
            Ok::<_, SearchError>(events)
        };
        let mut earlier = side(
            Bound::Unbounded,
            Bound::Excluded(event.offset),
            Order::Desc,
            before,
        )?;
        let start = earlier.len().saturating_sub(before);
        earlier.drain(..start);
        let mut later = side(
            Bound::Excluded(event.offset),
            Bound::Unbounded,
            Order::Asc,
            after,
        )?;
        later.truncate(after);
        Ok((earlier, event, later))
    }

    /// Matching events written in generations after `generation`, oldest
    /// first (equal times in file order), at most `limit`: what a live tail
    /// shows next.
    pub fn since_generation(
        &self,
        text: &str,
        generation: u64,
        limit: usize,
    ) -> Result<Vec<Event>, SearchError> {
        let newer = RangeQuery::new(
            Bound::Excluded(Term::from_field_u64(self.fields().generation, generation)),
            Bound::Unbounded,
        );
        self.searcher.validate(text)?;
        let extra = || vec![Box::new(newer.clone()) as Box<dyn Query>];
        let (mut events, _) = self.page(text, None, None, None, limit, &extra)?;
        // The newest `limit`, shown oldest first; equal times keep file order.
        events.sort_by(|a, b| {
            a.timestamp_unix_nano
                .cmp(&b.timestamp_unix_nano)
                .then_with(|| Position::of(b).cmp(&Position::of(a)))
        });
        Ok(events)
    }
}

/// A string column's value as a number that sorts like the string within a
/// segment: `2 * ord + 1` (0 when absent).
fn ord_rank(column: Option<&StrColumn>, doc: DocId) -> u64 {
    column
        .and_then(|column| column.ords().first(doc))
        .map_or(0, |ord| 2 * ord + 1)
}

/// Where `text` falls among a segment's values of a string column, on the
/// scale of [`ord_rank`]: `2 * ord + 1` when present, else `2 * next`, the
/// place between the values around it.
fn text_rank(column: Option<&StrColumn>, text: &str) -> tantivy::Result<u64> {
    let Some(column) = column else {
        return Ok(if text.is_empty() { 0 } else { 1 });
    };
    Ok(
        match column
            .dictionary()
            .term_ord_or_next(text)
            .map_err(tantivy::TantivyError::from)?
        {
            TermOrdHit::Exact(ord) => 2 * ord + 1,
            TermOrdHit::Next(next) => next.saturating_mul(2),
        },
    )
}

/// Page order within one segment: (newer first, then source, host, file,
/// offset and id ascending), strings by their ranks.
type Rank = (std::cmp::Reverse<i64>, u64, u64, u64, u64, u64);

/// The columns that order equal timestamps, opened only when a segment
/// meets equal timestamps (most segments of most queries never do).
struct TieColumns {
    /// source, host, file, id.
    strings: [Option<StrColumn>; 4],
    offset: Column<u64>,
}

/// A segment's [`TieColumns`], opened at first need and shared by its
/// candidates.
struct LazyTies {
    /// Two reference counts to clone, where a `SegmentReader` would copy
    /// maps: this is made for every segment of every page.
    fast: tantivy::fastfield::FastFieldReaders,
    columns: std::sync::OnceLock<tantivy::Result<TieColumns>>,
}

impl LazyTies {
    fn get(&self) -> Option<&TieColumns> {
        self.columns
            .get_or_init(|| {
                let fast = &self.fast;
                Ok(TieColumns {
                    strings: [
                        fast.str("source")?,
                        fast.str("host")?,
                        fast.str("file")?,
                        // Newer days have no id column: (source,
                        // host, file, offset) are unique without it.
                        fast.str("id").ok().flatten(),
                    ],
                    offset: fast.u64("offset")?,
                })
            })
            .as_ref()
            .ok()
    }

    /// The whole rank of `doc` at `timestamp`.
    fn rank(&self, doc: DocId, timestamp: i64) -> Rank {
        let Some(ties) = self.get() else {
            return (std::cmp::Reverse(timestamp), 0, 0, 0, 0, 0);
        };
        let [source, host, file, id] = &ties.strings;
        (
            std::cmp::Reverse(timestamp),
            ord_rank(source.as_ref(), doc),
            ord_rank(host.as_ref(), doc),
            ord_rank(file.as_ref(), doc),
            ties.offset.first(doc).unwrap_or(0),
            ord_rank(id.as_ref(), doc),
        )
    }

    /// `position` on this segment's rank scale.
    fn rank_of(&self, position: &Position) -> Rank {
        let Some(ties) = self.get() else {
            return (std::cmp::Reverse(position.timestamp), 0, 0, 0, 0, 0);
        };
        let [source, host, file, id] = &ties.strings;
        let place = |column: &Option<StrColumn>, text: &str| {
            text_rank(column.as_ref(), text).unwrap_or(u64::MAX)
        };
        (
            std::cmp::Reverse(position.timestamp),
            place(source, &position.source),
            place(host, &position.host),
            place(file, &position.file),
            position.offset,
            id.as_ref()
                .map_or(0, |_| place(id, &position.id.to_string())),
        )
    }
}

/// A document a segment kept, with what places it among other segments'.
struct Candidate {
    rank: Rank,
    address: DocAddress,
    ties: Arc<LazyTies>,
}

impl Candidate {
    /// The whole position, to order equal timestamps from different
    /// segments (their ordinals do not compare).
    fn position(&self) -> Position {
        let doc = self.address.doc_id;
        let text = |column: &Option<StrColumn>| {
            let mut out = String::new();
            if let Some(column) = column
                && let Some(ord) = column.ords().first(doc)
            {
                let _ = column.ord_to_str(ord, &mut out);
            }
            out
        };
        let timestamp = self.rank.0.0;
        match self.ties.get() {
            Some(ties) => {
                let [source, host, file, id] = &ties.strings;
                Position {
                    timestamp,
                    source: text(source),
                    host: text(host),
                    file: text(file),
                    offset: ties.offset.first(doc).unwrap_or(0),
                    id: text(id).parse().unwrap_or(EventId(0)),
                }
            }
            None => Position {
                timestamp,
                source: String::new(),
                host: String::new(),
                file: String::new(),
                offset: 0,
                id: EventId(0),
            },
        }
    }
}

/// The first `limit` documents in page order after `after`: exact whatever
/// the timestamps, because it compares the whole position, never a date
/// term (whose precision is seconds).
///
/// A segment orders by timestamp alone until two timestamps tie where it
/// matters (at the edge of what it keeps, at the cursor, or among what it
/// kept); only then does it open the columns of the whole position.
struct PageCollector {
    limit: usize,
    after: Option<Position>,
    control: Arc<Control>,
}

struct PageSegment {
    segment: u32,
    timestamp: Column<DateTime>,
    ties: Arc<LazyTies>,
    /// Whether the ranks in `heap` are whole (else timestamps only).
    exact: bool,
    after: Option<Position>,
    /// `after` on this segment's scale, once exact.
    after_rank: Option<Rank>,
    /// What the segment keeps so far: up to twice `limit`, cut to `limit`
    /// when full.
    kept: Vec<(Rank, DocId)>,
    /// The last kept at the latest cut: a newcomer must come before it.
    threshold: Option<(Rank, DocId)>,
    limit: usize,
}

impl Collector for PageCollector {
    /// The first `limit` documents, in page order.
    type Fruit = Vec<DocAddress>;
    type Child = PageSegment;

    fn for_segment(&self, segment: u32, reader: &SegmentReader) -> tantivy::Result<PageSegment> {
        if self.control.stopped() {
            return Err(tantivy::TantivyError::InternalError("stopped".into()));
        }
        Ok(PageSegment {
            segment,
            timestamp: reader.fast_fields().date("timestamp")?,
            ties: Arc::new(LazyTies {
                fast: reader.fast_fields().clone(),
                columns: std::sync::OnceLock::new(),
            }),
            exact: false,
            after: self.after.clone(),
            after_rank: None,
            kept: Vec::with_capacity(2 * self.limit.min(1024)),
            threshold: None,
            limit: self.limit,
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<Vec<Candidate>>) -> tantivy::Result<Vec<DocAddress>> {
        let mut all: Vec<Candidate> = fruits.into_iter().flatten().collect();
        // By time first: that alone orders most documents.
        all.sort_by_key(|candidate| candidate.rank.0);
        if all.len() > self.limit {
            // Keep the whole run of equal times at the edge.
            let edge = all[self.limit - 1].rank.0;
            let end = all.partition_point(|candidate| candidate.rank.0 <= edge);
            all.truncate(end);
        }
        // Runs of equal times: by rank within one segment (a segment makes
        // its ranks whole when it kept equal times), else by the whole
        // position.
        let mut start = 0;
        while start < all.len() {
            let time = all[start].rank.0;
            let end = start
                + all[start..]
                    .iter()
                    .take_while(|candidate| candidate.rank.0 == time)
                    .count();
            let run = &mut all[start..end];
            if run.len() > 1 {
                let segment = run[0].address.segment_ord;
                if run
                    .iter()
                    .all(|candidate| candidate.address.segment_ord == segment)
                {
                    run.sort_by_key(|candidate| candidate.rank);
                } else {
                    run.sort_by_cached_key(Candidate::position);
                }
            }
            start = end;
        }
        all.truncate(self.limit);
        Ok(all.into_iter().map(|candidate| candidate.address).collect())
    }
}

impl PageSegment {
    /// Makes every rank whole from now on.
    fn make_exact(&mut self) {
        if self.exact {
            return;
        }
        self.exact = true;
        self.after_rank = self.after.as_ref().map(|after| self.ties.rank_of(after));
        for entry in &mut self.kept {
            entry.0 = self.ties.rank(entry.1, entry.0.0.0);
        }
        if self.threshold.is_some() {
            // The bar was picked among equal times by document order: by
            // whole ranks it is the worst of the first `limit` kept, which
            // may be another document.
            if self.kept.len() > self.limit {
                self.kept.select_nth_unstable(self.limit - 1);
                self.kept.truncate(self.limit);
            }
            self.threshold = self.kept.iter().max().copied();
        }
    }

    fn rank(&self, doc: DocId, timestamp: i64) -> Rank {
        if self.exact {
            self.ties.rank(doc, timestamp)
        } else {
            (std::cmp::Reverse(timestamp), 0, 0, 0, 0, 0)
        }
    }

    /// Cuts `kept` to the first `limit`, and remembers the last of them as
    /// the bar a newcomer must pass. Amortised over `limit` additions, as
    /// tantivy's own top-N does: no heap work per document.
    fn cut(&mut self) {
        let limit = self.limit;
        if self.kept.len() <= limit {
            return;
        }
        self.kept.select_nth_unstable(limit - 1);
        if !self.exact {
            let edge = self.kept[limit - 1].0.0;
            if self.kept[limit..].iter().any(|(rank, _)| rank.0 == edge) {
                // Equal times straddle the cut: which go depends on the
                // whole positions.
                self.make_exact();
                self.kept.select_nth_unstable(limit - 1);
            }
        }
        self.kept.truncate(limit);
        self.threshold = self.kept.get(limit - 1).copied();
    }

    fn consider(&mut self, doc: DocId, timestamp: i64) {
        if let Some(after) = &self.after {
            if timestamp > after.timestamp {
                return;
            }
            if timestamp == after.timestamp {
                self.make_exact();
                let rank = self.ties.rank(doc, timestamp);
                if self.after_rank.is_some_and(|after| rank <= after) {
                    return;
                }
            }
        }
        if let Some((bar, _)) = self.threshold {
            if timestamp < bar.0.0 {
                return;
            }
            if timestamp == bar.0.0 {
                self.make_exact();
            }
        }
        let rank = self.rank(doc, timestamp);
        if self.threshold.is_some_and(|(bar, _)| rank >= bar) {
            return;
        }
        self.kept.push((rank, doc));
        if self.kept.len() >= 2 * self.limit {
            self.cut();
        }
    }
}

impl SegmentCollector for PageSegment {
    type Fruit = Vec<Candidate>;

    fn collect(&mut self, doc: DocId, _: Score) {
        if let Some(timestamp) = self.timestamp.first(doc) {
            self.consider(doc, timestamp.into_timestamp_nanos());
        }
    }

    fn collect_block(&mut self, docs: &[DocId]) {
        // Timestamps a block at a time; most documents stop at the first
        // comparison with the worst kept so far.
        let mut buffer = [None; tantivy::COLLECT_BLOCK_BUFFER_LEN];
        for docs in docs.chunks(tantivy::COLLECT_BLOCK_BUFFER_LEN) {
            let timestamps = &mut buffer[..docs.len()];
            self.timestamp.first_vals(docs, timestamps);
            for (doc, timestamp) in docs.iter().zip(timestamps.iter()) {
                if let Some(timestamp) = timestamp {
                    self.consider(*doc, timestamp.into_timestamp_nanos());
                }
            }
        }
    }

    fn harvest(mut self) -> Vec<Candidate> {
        self.cut();
        // Equal times among what was kept are ordered by whole ranks.
        if !self.exact {
            let mut times: Vec<std::cmp::Reverse<i64>> =
                self.kept.iter().map(|(rank, _)| rank.0).collect();
            times.sort_unstable();
            if times.windows(2).any(|pair| pair[0] == pair[1]) {
                self.make_exact();
            }
        }
        let segment = self.segment;
        let ties = self.ties;
        self.kept
            .into_iter()
            .map(|(rank, doc)| Candidate {
                rank,
                address: DocAddress::new(segment, doc),
                ties: ties.clone(),
            })
            .collect()
    }
}

pub(crate) fn analyzer() -> Result<tantivy::tokenizer::TextAnalyzer, SearchError> {
    tantivy::tokenizer::TokenizerManager::default()
        .get("default")
        .ok_or_else(|| SearchError::Invalid("the default tokenizer is missing".into()))
}

fn map_u64(bound: Bound<u64>, field: tantivy::schema::Field) -> Bound<Term> {
    match bound {
        Bound::Included(value) => Bound::Included(Term::from_field_u64(field, value)),
        Bound::Excluded(value) => Bound::Excluded(Term::from_field_u64(field, value)),
        Bound::Unbounded => Bound::Unbounded,
    }
}

struct Histogram {
    from: i64,
    interval: i64,
    buckets: usize,
}

struct HistogramSegment {
    column: Column<DateTime>,
    from: i64,
    interval: i64,
    counts: Vec<u64>,
}

impl Collector for Histogram {
    type Fruit = Vec<u64>;
    type Child = HistogramSegment;

    fn for_segment(&self, _: u32, segment: &SegmentReader) -> tantivy::Result<HistogramSegment> {
        Ok(HistogramSegment {
            column: segment.fast_fields().date("timestamp")?,
            from: self.from,
            interval: self.interval,
            counts: vec![0; self.buckets],
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<Vec<u64>>) -> tantivy::Result<Vec<u64>> {
        let mut total = vec![0; self.buckets];
        for fruit in fruits {
            for (sum, add) in total.iter_mut().zip(fruit) {
                *sum += add;
            }
        }
        Ok(total)
    }
}

impl HistogramSegment {
    fn add(&mut self, timestamp: DateTime) {
        let offset = timestamp.into_timestamp_nanos() - self.from;
        if offset >= 0
            && let Some(count) = self.counts.get_mut((offset / self.interval) as usize)
        {
            *count += 1;
        }
    }
}

impl SegmentCollector for HistogramSegment {
    type Fruit = Vec<u64>;

    fn collect(&mut self, doc: DocId, _: Score) {
        if let Some(timestamp) = self.column.first(doc) {
            self.add(timestamp);
        }
    }

    fn collect_block(&mut self, docs: &[DocId]) {
        let mut buffer = [None; tantivy::COLLECT_BLOCK_BUFFER_LEN];
        for docs in docs.chunks(tantivy::COLLECT_BLOCK_BUFFER_LEN) {
            let timestamps = &mut buffer[..docs.len()];
            self.column.first_vals(docs, timestamps);
            for timestamp in timestamps.iter().flatten() {
                self.add(*timestamp);
            }
        }
    }

    fn harvest(self) -> Vec<u64> {
        self.counts
    }
}

struct Terms {
    field: String,
    control: Arc<Control>,
}

struct TermsSegment {
    column: Option<StrColumn>,
    counts: BTreeMap<u64, u64>,
    /// An attribute's numeric and boolean columns (a path may hold several
    /// types), each with its counts by the value's bits (text at harvest).
    others: Vec<(tantivy::columnar::DynamicColumn, HashMap<u64, u64>)>,
    control: Arc<Control>,
}

/// Bytes a facet value holds beyond its text, for the memory budget.
const FACET_OVERHEAD: usize = 48;

impl Collector for Terms {
    type Fruit = HashMap<String, u64>;
    type Child = TermsSegment;

    fn for_segment(&self, _: u32, segment: &SegmentReader) -> tantivy::Result<TermsSegment> {
        use tantivy::columnar::DynamicColumn;
        let mut others = Vec::new();
        if self.field.starts_with("attributes.") {
            for handle in segment.fast_fields().dynamic_column_handles(&self.field)? {
                let column = handle.open()?;
                if matches!(
                    column,
                    DynamicColumn::I64(_)
                        | DynamicColumn::U64(_)
                        | DynamicColumn::F64(_)
                        | DynamicColumn::Bool(_)
                ) {
                    others.push((column, HashMap::new()));
                }
            }
        }
        Ok(TermsSegment {
            column: segment.fast_fields().str(&self.field)?,
            counts: BTreeMap::new(),
            others,
            control: self.control.clone(),
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(
        &self,
        fruits: Vec<HashMap<String, u64>>,
    ) -> tantivy::Result<HashMap<String, u64>> {
        let mut total = HashMap::new();
        for fruit in fruits {
            for (value, count) in fruit {
                *total.entry(value).or_default() += count;
            }
        }
        Ok(total)
    }
}

impl SegmentCollector for TermsSegment {
    type Fruit = HashMap<String, u64>;

    fn collect(&mut self, doc: DocId, _: Score) {
        use tantivy::columnar::DynamicColumn;
        if let Some(column) = &self.column {
            for ord in column.term_ords(doc) {
                *self.counts.entry(ord).or_default() += 1;
            }
        }
        for (column, counts) in &mut self.others {
            let mut count = |bits: u64| match counts.get_mut(&bits) {
                Some(count) => *count += 1,
                // The value's text (at most 24 bytes) comes at harvest.
                None if self.control.charge(24 + FACET_OVERHEAD).is_ok() => {
                    counts.insert(bits, 1);
                }
                None => {}
            };
            match column {
                DynamicColumn::I64(c) => c.values_for_doc(doc).for_each(|v| count(v as u64)),
                DynamicColumn::U64(c) => c.values_for_doc(doc).for_each(&mut count),
                DynamicColumn::F64(c) => c.values_for_doc(doc).for_each(|v| count(v.to_bits())),
                DynamicColumn::Bool(c) => c.values_for_doc(doc).for_each(|v| count(u64::from(v))),
                _ => {}
            }
        }
    }

    fn harvest(self) -> HashMap<String, u64> {
        use tantivy::columnar::DynamicColumn;
        let mut values: HashMap<String, u64> = HashMap::new();
        for (column, counts) in self.others {
            for (bits, count) in counts {
                let text = match column {
                    DynamicColumn::I64(_) => (bits as i64).to_string(),
                    DynamicColumn::F64(_) => f64::from_bits(bits).to_string(),
                    DynamicColumn::Bool(_) => (bits != 0).to_string(),
                    _ => bits.to_string(),
                };
                *values.entry(text).or_default() += count;
            }
        }
        if let Some(column) = &self.column {
            for (ord, count) in self.counts {
                let mut text = String::new();
                if column.ord_to_str(ord, &mut text).unwrap_or(false) {
                    // Over budget stops the query; the searcher reports it.
                    if self.control.charge(text.len() + FACET_OVERHEAD).is_err() {
                        break;
                    }
                    *values.entry(text).or_default() += count;
                }
            }
        }
        values
    }
}
