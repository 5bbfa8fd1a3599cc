//! Search over one shard's day indexes: pages of events newest first with a
//! cursor, counts, histograms, top values of a field, file context and the
//! events of recent commits (for live tail).
//!
//! A time range opens only the days it overlaps. Readers are cached per day
//! and reloaded on each request, which costs a `meta.json` check; a day that
//! retention removed drops its reader at the next listing.

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use loghaul_model::Event;
use loghaul_model::time::UtcDateTime;
use serde::{Deserialize, Serialize};
use tantivy::collector::{Collector, Count, SegmentCollector, TopDocs};
use tantivy::columnar::{Column, StrColumn};
use tantivy::query::{BooleanQuery, Occur, Query, RangeQuery, TermQuery};
use tantivy::schema::IndexRecordOption;
use tantivy::{
    DateTime, DocAddress, DocId, Index, IndexReader, Order, ReloadPolicy, Score, SegmentReader,
    TantivyDocument, Term,
};

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
    /// Where the previous page ended.
    pub cursor: Option<String>,
}

/// One page of results.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SearchPage {
    /// Events, newest first (ties by id, descending).
    pub events: Vec<Event>,
    /// Pass back for the next page; absent on the last.
    pub next_cursor: Option<String>,
}

/// `"<timestamp ns>:<id>"` of the last event of a page.
fn cursor_of(event: &Event) -> String {
    format!("{}:{}", event.timestamp_unix_nano, event.id)
}

fn parse_cursor(text: &str) -> Result<(i64, String), SearchError> {
    let invalid = || {
        SearchError::Invalid(format!(
            "invalid cursor {text:?}: pass back next_cursor as given"
        ))
    };
    let (timestamp, id) = text.split_once(':').ok_or_else(invalid)?;
    let timestamp = timestamp.parse().map_err(|_| invalid())?;
    if id.len() != 32 || !id.bytes().all(|byte| byte.is_ascii_hexdigit()) {
        return Err(invalid());
    }
    Ok((timestamp, id.to_owned()))
}

/// Search over `<data_dir>/index/<shard>`.
pub struct Searcher {
    root: PathBuf,
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

fn date_term(fields: &Fields, unix_nano: i64) -> Term {
    Term::from_field_date(fields.timestamp, DateTime::from_timestamp_nanos(unix_nano))
}

impl Searcher {
    /// A searcher over shard `shard` of `data_dir`.
    pub fn new(data_dir: &Path, shard: u32) -> Self {
        Searcher {
            root: data_dir.join("index").join(shard.to_string()),
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
        let first = from.map(day_name);
        let last = to.map(|to| day_name(to.saturating_sub(1)));
        let present: Vec<String> = std::fs::read_dir(&self.root)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|entry| entry.path().join("meta.json").exists())
            .filter_map(|entry| entry.file_name().into_string().ok())
            .filter(|name| name.len() == 10)
            .collect();
        self.readers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .retain(|day, _| present.contains(day));
        let mut days: Vec<String> = present
            .into_iter()
            .filter(|name| first.as_ref().is_none_or(|first| name >= first))
            .filter(|name| last.as_ref().is_none_or(|last| name <= last))
            .collect();
        days.sort_unstable_by(|a, b| b.cmp(a));
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

    /// The query of a request: the text, the time range, and the cursor.
    fn build(
        &self,
        text: &str,
        from: Option<i64>,
        to: Option<i64>,
        extra: Vec<Box<dyn Query>>,
    ) -> Result<Box<dyn Query>, SearchError> {
        let ast = query::parse(text)?;
        let mut analyzer = analyzer()?;
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = vec![(
            Occur::Must,
            query::compile(&ast, &self.fields, &mut analyzer)?,
        )];
        if from.is_some() || to.is_some() {
            clauses.push((
                Occur::Must,
                Box::new(RangeQuery::new(
                    from.map_or(Bound::Unbounded, |from| {
                        Bound::Included(date_term(&self.fields, from))
                    }),
                    to.map_or(Bound::Unbounded, |to| {
                        Bound::Excluded(date_term(&self.fields, to))
                    }),
                )),
            ));
        }
        for query in extra {
            clauses.push((Occur::Must, query));
        }
        Ok(Box::new(BooleanQuery::new(clauses)))
    }

    /// Checks a query without running it, so a bad query fails the same
    /// whether or not there is data to search.
    pub fn validate(&self, text: &str) -> Result<(), SearchError> {
        self.build(text, None, None, Vec::new()).map(|_| ())
    }

    fn events_at(
        &self,
        searcher: &tantivy::Searcher,
        addresses: impl IntoIterator<Item = DocAddress>,
        path: &Path,
    ) -> Result<Vec<Event>, SearchError> {
        let mut events = Vec::new();
        for address in addresses {
            let document: TantivyDocument =
                searcher.doc(address).map_err(|source| SearchError::Index {
                    path: path.to_owned(),
                    source,
                })?;
            if let Some(event) = self.fields.event(&document) {
                events.push(event);
            }
        }
        Ok(events)
    }

    /// The events a top-docs collector picks in `day`.
    fn top_events<T, C>(
        &self,
        day: &str,
        query: &dyn Query,
        collector: &C,
    ) -> Result<Vec<Event>, SearchError>
    where
        C: Collector<Fruit = Vec<(T, DocAddress)>>,
    {
        let searcher = self.searcher(day)?;
        let path = self.root.join(day);
        let hits = searcher
            .search(query, collector)
            .map_err(|source| SearchError::Index {
                path: path.clone(),
                source,
            })?;
        self.events_at(
            &searcher,
            hits.into_iter().map(|(_, address)| address),
            &path,
        )
    }

    /// One page of events, newest first.
    pub fn search(&self, request: &SearchRequest) -> Result<SearchPage, SearchError> {
        let limit = request.limit;
        if limit == 0 || limit > MAX_LIMIT {
            return Err(SearchError::Invalid(format!(
                "limit must be between 1 and {MAX_LIMIT}, not {limit}"
            )));
        }
        self.validate(&request.query)?;
        let cursor = request.cursor.as_deref().map(parse_cursor).transpose()?;
        // The cursor narrows the time range to what is not yet returned.
        let to = match &cursor {
            Some((timestamp, _)) => {
                Some(request.to.map_or(timestamp + 1, |to| to.min(timestamp + 1)))
            }
            None => request.to,
        };
        let mut events: Vec<Event> = Vec::new();
        for day in self.days(request.from, to) {
            let searcher = self.searcher(&day)?;
            let path = self.root.join(&day);
            let mut extra: Vec<Box<dyn Query>> = Vec::new();
            if let Some((timestamp, id)) = &cursor {
                extra.push(self.after_cursor(*timestamp, id));
            }
            let query = self.build(&request.query, request.from, to, extra)?;
            // One more than asked, to know whether a next page exists and
            // whether a run of equal timestamps crosses the page's edge.
            let wanted = limit + 1 - events.len().min(limit);
            let hits = searcher
                .search(
                    &query,
                    &TopDocs::with_limit(wanted)
                        .order_by_fast_field::<DateTime>("timestamp", Order::Desc),
                )
                .map_err(|source| SearchError::Index {
                    path: path.clone(),
                    source,
                })?;
            events.extend(self.events_at(
                &searcher,
                hits.into_iter().map(|(_, address)| address),
                &path,
            )?);
            if events.len() > limit {
                // Equal timestamps at the edge: take that whole run, in id
                // order, so the cursor (timestamp, id) is exact.
                let edge = events[limit - 1].timestamp_unix_nano;
                if events[limit].timestamp_unix_nano == edge {
                    events.retain(|event| event.timestamp_unix_nano != edge);
                    let mut extra: Vec<Box<dyn Query>> = vec![Box::new(TermQuery::new(
                        date_term(&self.fields, edge),
                        IndexRecordOption::Basic,
                    ))];
                    if let Some((timestamp, id)) = &cursor {
                        extra.push(self.after_cursor(*timestamp, id));
                    }
                    let exact = self.build(&request.query, request.from, to, extra)?;
                    let count =
                        searcher
                            .search(&exact, &Count)
                            .map_err(|source| SearchError::Index {
                                path: path.clone(),
                                source,
                            })?;
                    let hits = searcher
                        .search(&exact, &TopDocs::with_limit(count.max(1)).order_by_score())
                        .map_err(|source| SearchError::Index {
                            path: path.clone(),
                            source,
                        })?;
                    let mut run = self.events_at(
                        &searcher,
                        hits.into_iter().map(|(_, address)| address),
                        &path,
                    )?;
                    run.sort_by_key(|event| std::cmp::Reverse(event.id));
                    events.extend(run);
                }
                break;
            }
        }
        events.sort_by(|a, b| {
            b.timestamp_unix_nano
                .cmp(&a.timestamp_unix_nano)
                .then(b.id.cmp(&a.id))
        });
        let more = events.len() > limit;
        events.truncate(limit);
        Ok(SearchPage {
            next_cursor: more.then(|| events.last().map(cursor_of)).flatten(),
            events,
        })
    }

    /// Events strictly after the cursor in (timestamp desc, id desc) order.
    fn after_cursor(&self, timestamp: i64, id: &str) -> Box<dyn Query> {
        let older = RangeQuery::new(
            Bound::Unbounded,
            Bound::Excluded(date_term(&self.fields, timestamp)),
        );
        let same_time_lower_id = BooleanQuery::new(vec![
            (
                Occur::Must,
                Box::new(TermQuery::new(
                    date_term(&self.fields, timestamp),
                    IndexRecordOption::Basic,
                )),
            ),
            (
                Occur::Must,
                Box::new(RangeQuery::new(
                    Bound::Unbounded,
                    Bound::Excluded(Term::from_field_text(self.fields.id, id)),
                )),
            ),
        ]);
        Box::new(BooleanQuery::new(vec![
            (Occur::Should, Box::new(older)),
            (Occur::Should, Box::new(same_time_lower_id)),
        ]))
    }

    /// How many events match.
    pub fn count(
        &self,
        text: &str,
        from: Option<i64>,
        to: Option<i64>,
    ) -> Result<u64, SearchError> {
        self.validate(text)?;
        let mut total = 0;
        for day in self.days(from, to) {
            let searcher = self.searcher(&day)?;
            let query = self.build(text, from, to, Vec::new())?;
            total += searcher
                .search(&query, &Count)
                .map_err(|source| SearchError::Index {
                    path: self.root.join(&day),
                    source,
                })? as u64;
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
        self.validate(text)?;
        let mut counts = vec![0u64; buckets];
        for day in self.days(Some(from), Some(to)) {
            let searcher = self.searcher(&day)?;
            let query = self.build(text, Some(from), Some(to), Vec::new())?;
            let fruit = searcher
                .search(
                    &query,
                    &Histogram {
                        from,
                        interval,
                        buckets,
                    },
                )
                .map_err(|source| SearchError::Index {
                    path: self.root.join(&day),
                    source,
                })?;
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
        if !matches!(field, "host" | "source" | "service" | "level" | "file") {
            return Err(SearchError::Invalid(format!(
                "facets work on host, source, service, level and file, not {field:?}"
            )));
        }
        if limit == 0 || limit > MAX_FACETS {
            return Err(SearchError::Invalid(format!(
                "limit must be between 1 and {MAX_FACETS}"
            )));
        }
        self.validate(text)?;
        let mut totals: HashMap<String, u64> = HashMap::new();
        for day in self.days(from, to) {
            let searcher = self.searcher(&day)?;
            let query = self.build(text, from, to, Vec::new())?;
            let fruit = searcher
                .search(
                    &query,
                    &Terms {
                        field: field.to_owned(),
                    },
                )
                .map_err(|source| SearchError::Index {
                    path: self.root.join(&day),
                    source,
                })?;
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
        let id_query = TermQuery::new(
            Term::from_field_text(self.fields.id, id),
            IndexRecordOption::Basic,
        );
        let mut found = None;
        for day in self.days(None, None) {
            let searcher = self.searcher(&day)?;
            let hits = searcher
                .search(&id_query, &TopDocs::with_limit(1).order_by_score())
                .map_err(|source| SearchError::Index {
                    path: self.root.join(&day),
                    source,
                })?;
            if let Some((_, address)) = hits.first() {
                found = self
                    .events_at(&searcher, [*address], &self.root.join(&day))?
                    .pop();
                break;
            }
        }
        let event = found.ok_or_else(|| SearchError::NotFound(id.to_owned()))?;
        let file = Term::from_field_text(self.fields.file, &event.file.to_key());
        let host = Term::from_field_text(self.fields.host, &event.resource.host);
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
                        map_u64(lower, self.fields.offset),
                        map_u64(upper, self.fields.offset),
                    )),
                ),
            ]);
            for day in self.days(None, None) {
                events.extend(self.top_events(
                    &day,
                    &query,
                    &TopDocs::with_limit(count).order_by_fast_field::<u64>("offset", order),
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
    /// first, at most `limit`: what a live tail shows next.
    pub fn since_generation(
        &self,
        text: &str,
        generation: u64,
        limit: usize,
    ) -> Result<Vec<Event>, SearchError> {
        let newer = RangeQuery::new(
            Bound::Excluded(Term::from_field_u64(self.fields.generation, generation)),
            Bound::Unbounded,
        );
        let mut events = Vec::new();
        for day in self.days(None, None) {
            let query = self.build(text, None, None, vec![Box::new(newer.clone())])?;
            events.extend(
                self.top_events(
                    &day,
                    &query,
                    &TopDocs::with_limit(limit)
                        .order_by_fast_field::<DateTime>("timestamp", Order::Desc),
                )?,
            );
        }
        events.sort_by(|a, b| {
            a.timestamp_unix_nano
                .cmp(&b.timestamp_unix_nano)
                .then(a.id.cmp(&b.id))
        });
        let skip = events.len().saturating_sub(limit);
        events.drain(..skip);
        Ok(events)
    }
}

fn analyzer() -> Result<tantivy::tokenizer::TextAnalyzer, SearchError> {
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

impl SegmentCollector for HistogramSegment {
    type Fruit = Vec<u64>;

    fn collect(&mut self, doc: DocId, _: Score) {
        if let Some(timestamp) = self.column.first(doc) {
            let offset = timestamp.into_timestamp_nanos() - self.from;
            if offset >= 0
                && let Some(count) = self.counts.get_mut((offset / self.interval) as usize)
            {
                *count += 1;
            }
        }
    }

    fn harvest(self) -> Vec<u64> {
        self.counts
    }
}

struct Terms {
    field: String,
}

struct TermsSegment {
    column: Option<StrColumn>,
    counts: BTreeMap<u64, u64>,
}

impl Collector for Terms {
    type Fruit = HashMap<String, u64>;
    type Child = TermsSegment;

    fn for_segment(&self, _: u32, segment: &SegmentReader) -> tantivy::Result<TermsSegment> {
        Ok(TermsSegment {
            column: segment.fast_fields().str(&self.field)?,
            counts: BTreeMap::new(),
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
        if let Some(column) = &self.column {
            for ord in column.term_ords(doc) {
                *self.counts.entry(ord).or_default() += 1;
            }
        }
    }

    fn harvest(self) -> HashMap<String, u64> {
        let mut values = HashMap::new();
        if let Some(column) = &self.column {
            for (ord, count) in self.counts {
                let mut text = String::new();
                if column.ord_to_str(ord, &mut text).unwrap_or(false) {
                    values.insert(text, count);
                }
            }
        }
        values
    }
}
