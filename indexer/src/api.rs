//! The indexer's HTTP API, in JSON.
//!
//! | endpoint | parameters |
//! |---|---|
//! | `GET /api/search` | `q`, `from`, `to`, `since`, `limit` (default 100), `cursor` |
//! | `GET /api/count` | `q`, `from`, `to`, `since` |
//! | `GET /api/histogram` | `q`, `from`, `to`, `since`, `interval` (`1m`, `1h`…, or ns; default: about 60 buckets) |
//! | `GET /api/facets` | `q`, `from`, `to`, `since`, `field` (host, source, service, level, file), `limit` |
//! | `GET /api/context` | `id`, `before`, `after` (default 10 each) |
//! | `GET /api/tail` | `q`: server-sent events, one `event` per new match |
//! | `GET /metrics` | Prometheus text |
//! | `GET /healthz`, `GET /readyz` | liveness; readiness (the index is open and consuming) |
//!
//! With `indexer.shard_urls`, search, count, histogram, facets and context
//! also ask those shards (marking the request `local=1` so they do not ask
//! further) and merge: events by (timestamp, id), sums of counts, buckets and
//! facet values. A shard that fails fails the request, rather than answer
//! with silent gaps. The live tail also forwards the peers' tails.
//!
//! `from` and `to` take RFC 3339 or Unix seconds, milliseconds or
//! nanoseconds; `since` a duration back from now (`15m`). Every error is
//! `{"error": "...", "position": n}` (position only for query errors) with
//! status 400, 401, 404 or 503. A bearer token, when configured, guards all
//! but `/healthz`.
//!
//! Queries run on blocking threads, at most [`MAX_CONCURRENT_QUERIES`] at a
//! time, each within [`QUERY_TIMEOUT`]; past either, the answer is 503.

use std::convert::Infallible;
use std::fmt::Write;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::extract::{Query, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use crate::client::{Client, encode};
use crate::search::{SearchError, SearchRequest, Searcher};
use crate::worker::IndexStats;

/// Queries running at once; more wait up to a second, then get 503.
pub const MAX_CONCURRENT_QUERIES: usize = 4;
/// Longest a query may run before the answer is 503.
pub const QUERY_TIMEOUT: Duration = Duration::from_secs(10);

/// Query latency histogram bounds, in seconds.
const LATENCY_BOUNDS: [f64; 10] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 10.0,
];

/// What the API serves from.
#[derive(Debug)]
pub struct ApiState {
    searcher: Arc<Searcher>,
    stats: Arc<IndexStats>,
    token: Option<String>,
    ready: Arc<AtomicBool>,
    permits: Semaphore,
    queries: AtomicU64,
    query_errors: AtomicU64,
    latency_buckets: [AtomicU64; 10],
    latency_micros: AtomicU64,
    /// The other shards' APIs, for fan-out.
    peers: Vec<Client>,
    /// How long one query may run.
    timeout: Duration,
}

impl ApiState {
    /// State over `searcher`; `token` guards everything but `/healthz`.
    pub fn new(
        searcher: Arc<Searcher>,
        stats: Arc<IndexStats>,
        token: Option<String>,
        ready: Arc<AtomicBool>,
    ) -> Self {
        ApiState {
            searcher,
            stats,
            token: token.filter(|token| !token.is_empty()),
            ready,
            permits: Semaphore::new(MAX_CONCURRENT_QUERIES),
            queries: AtomicU64::new(0),
            query_errors: AtomicU64::new(0),
            latency_buckets: Default::default(),
            latency_micros: AtomicU64::new(0),
            peers: Vec::new(),
            timeout: QUERY_TIMEOUT,
        }
    }

    /// A shorter (or longer) time limit per query than [`QUERY_TIMEOUT`].
    pub fn with_query_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Also asks these shard APIs and merges their answers into this one's
    /// (`indexer.shard_urls`).
    pub fn with_peers(mut self, peers: Vec<Client>) -> Self {
        self.peers = peers;
        self
    }

    fn observe(&self, seconds: f64, failed: bool) {
        self.queries.fetch_add(1, Ordering::Relaxed);
        if failed {
            self.query_errors.fetch_add(1, Ordering::Relaxed);
        }
        self.latency_micros
            .fetch_add((seconds * 1e6) as u64, Ordering::Relaxed);
        for (bound, bucket) in LATENCY_BOUNDS.iter().zip(&self.latency_buckets) {
            if seconds <= *bound {
                bucket.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// An API error: status and JSON body.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
    position: Option<usize>,
}

impl ApiError {
    fn bad(message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
            position: None,
        }
    }

    fn unavailable(message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::SERVICE_UNAVAILABLE,
            message: message.into(),
            position: None,
        }
    }
}

impl From<SearchError> for ApiError {
    fn from(error: SearchError) -> Self {
        match error {
            SearchError::Query(error) => ApiError {
                status: StatusCode::BAD_REQUEST,
                message: error.message,
                position: Some(error.position),
            },
            SearchError::Invalid(message) => ApiError::bad(message),
            SearchError::NotFound(id) => ApiError {
                status: StatusCode::NOT_FOUND,
                message: format!("no event with id {id}"),
                position: None,
            },
            other => ApiError {
                status: StatusCode::INTERNAL_SERVER_ERROR,
                message: other.to_string(),
                position: None,
            },
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({ "error": self.message });
        if let Some(position) = self.position {
            body["position"] = json!(position);
        }
        (self.status, Json(body)).into_response()
    }
}

/// Common parameters.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct Params {
    q: Option<String>,
    from: Option<String>,
    to: Option<String>,
    since: Option<String>,
    limit: Option<usize>,
    cursor: Option<String>,
    interval: Option<String>,
    field: Option<String>,
    id: Option<String>,
    before: Option<usize>,
    after: Option<usize>,
    /// Set on requests between shards: answer from the local shard only.
    local: Option<u8>,
}

/// RFC 3339, or a Unix time in s, ms or ns (by magnitude).
pub fn parse_time(text: &str) -> Result<i64, String> {
    let text = text.trim();
    if let Ok(number) = text.parse::<i64>() {
        return Ok(match number.unsigned_abs() {
            0..100_000_000_000 => number.saturating_mul(1_000_000_000),
            100_000_000_000..100_000_000_000_000 => number.saturating_mul(1_000_000),
            _ => number,
        });
    }
    text.parse::<jiff::Timestamp>()
        .map(|timestamp| timestamp.as_nanosecond() as i64)
        .map_err(|_| {
            format!("{text:?} is not a time: use RFC 3339 (2026-11-22T08:00:00Z) or Unix seconds")
        })
}

/// A duration like `90s`, `15m`, `2h`, `7d`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    loghaul_config::HumanDuration::parse(text.trim()).map(|duration| duration.0)
}

impl Params {
    fn query(&self) -> String {
        self.q.clone().unwrap_or_default()
    }

    fn range(&self) -> Result<(Option<i64>, Option<i64>), ApiError> {
        let mut from = self
            .from
            .as_deref()
            .map(parse_time)
            .transpose()
            .map_err(|message| ApiError::bad(format!("from: {message}")))?;
        let to = self
            .to
            .as_deref()
            .map(parse_time)
            .transpose()
            .map_err(|message| ApiError::bad(format!("to: {message}")))?;
        if let Some(since) = &self.since {
            let duration = parse_duration(since)
                .map_err(|message| ApiError::bad(format!("since: {message}")))?;
            from = Some(loghaul_model::time::now_unix_nano() - duration.as_nanos() as i64);
        }
        if let (Some(from), Some(to)) = (from, to)
            && from >= to
        {
            return Err(ApiError::bad("from must be before to"));
        }
        Ok((from, to))
    }
}

/// Runs `work` on a blocking thread within the concurrency and time limits.
async fn run_query<T: Send + 'static>(
    state: &Arc<ApiState>,
    work: impl FnOnce(&Searcher) -> Result<T, SearchError> + Send + 'static,
) -> Result<T, ApiError> {
    let _permit = tokio::time::timeout(Duration::from_secs(1), state.permits.acquire())
        .await
        .map_err(|_| ApiError::unavailable("too many queries at once; try again"))?
        .map_err(|_| ApiError::unavailable("shutting down"))?;
    let started = Instant::now();
    let searcher = state.searcher.clone();
    let task = tokio::task::spawn_blocking(move || work(&searcher));
    let result = match tokio::time::timeout(state.timeout, task).await {
        Err(_) => Err(ApiError::unavailable(format!(
            "the query ran longer than {:.1} s; narrow the time range or the query",
            state.timeout.as_secs_f64()
        ))),
        Ok(Err(join)) => Err(ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            message: format!("the query failed: {join}"),
            position: None,
        }),
        Ok(Ok(result)) => result.map_err(ApiError::from),
    };
    state.observe(started.elapsed().as_secs_f64(), result.is_err());
    result
}

/// The peers to ask for this request: none when it came from a peer.
fn peers_for(state: &ApiState, params: &Params) -> Vec<Client> {
    if params.local.is_some() {
        Vec::new()
    } else {
        state.peers.clone()
    }
}

/// Asks every peer `path_and_query` (with `local=1`) and returns their JSON
/// answers. A peer that fails makes the whole answer fail: partial results
/// would look complete.
async fn ask_peers(
    peers: Vec<Client>,
    path_and_query: String,
) -> Result<Vec<serde_json::Value>, ApiError> {
    if peers.is_empty() {
        return Ok(Vec::new());
    }
    tokio::task::spawn_blocking(move || {
        let separator = if path_and_query.contains('?') {
            '&'
        } else {
            '?'
        };
        let mut answers = Vec::new();
        for peer in &peers {
            let answer = peer
                .get(&format!("{path_and_query}{separator}local=1"))
                .map_err(|error| ApiError::unavailable(format!("shard {}: {error}", peer.url())))?;
            let value: serde_json::Value = serde_json::from_str(&answer.body).unwrap_or_default();
            if answer.status != 200 {
                let message = value["error"].as_str().unwrap_or(&answer.body).to_owned();
                return Err(ApiError {
                    status: StatusCode::from_u16(answer.status).unwrap_or(StatusCode::BAD_GATEWAY),
                    message: format!("shard {}: {message}", peer.url()),
                    position: value["position"].as_u64().map(|position| position as usize),
                });
            }
            answers.push(value);
        }
        Ok(answers)
    })
    .await
    .map_err(|error| ApiError::unavailable(format!("fan-out failed: {error}")))?
}

/// The request's common parameters, re-encoded for a peer.
fn forward(params: &Params) -> String {
    let mut query = String::new();
    let mut add = |key: &str, value: Option<String>| {
        if let Some(value) = value {
            query.push_str(&format!("&{key}={}", encode(&value)));
        }
    };
    add("q", params.q.clone());
    add("from", params.from.clone());
    add("to", params.to.clone());
    add("since", params.since.clone());
    add("limit", params.limit.map(|limit| limit.to_string()));
    add("cursor", params.cursor.clone());
    add("interval", params.interval.clone());
    add("field", params.field.clone());
    query
}

async fn search(
    State(state): State<Arc<ApiState>>,
    Query(params): Query<Params>,
) -> Result<Response, ApiError> {
    let (from, to) = params.range()?;
    let request = SearchRequest {
        query: params.query(),
        from,
        to,
        limit: params.limit.unwrap_or(100),
        cursor: params.cursor.clone(),
    };
    let limit = request.limit;
    let started = Instant::now();
    let peers = peers_for(&state, &params);
    let page = run_query(&state, move |searcher| searcher.search(&request)).await?;
    let answers = ask_peers(peers, format!("/api/search?{}", forward(&params))).await?;
    let mut events = page.events;
    let mut more = page.next_cursor.is_some();
    for answer in answers {
        more |= !answer["next_cursor"].is_null();
        let theirs: Vec<loghaul_model::Event> = serde_json::from_value(answer["events"].clone())
            .map_err(|error| ApiError::unavailable(format!("a shard answered badly: {error}")))?;
        events.extend(theirs);
    }
    // Every shard applied the same (timestamp, id) cursor, so the merged
    // order continues exactly where the last page ended.
    events.sort_by(|a, b| {
        b.timestamp_unix_nano
            .cmp(&a.timestamp_unix_nano)
            .then(b.id.cmp(&a.id))
    });
    more |= events.len() > limit;
    events.truncate(limit);
    let next_cursor = more
        .then(|| {
            events
                .last()
                .map(|event| format!("{}:{}", event.timestamp_unix_nano, event.id))
        })
        .flatten();
    Ok(Json(json!({
        "events": events,
        "next_cursor": next_cursor,
        "took_ms": started.elapsed().as_secs_f64() * 1e3,
    }))
    .into_response())
}

async fn count(
    State(state): State<Arc<ApiState>>,
    Query(params): Query<Params>,
) -> Result<Response, ApiError> {
    let (from, to) = params.range()?;
    let query = params.query();
    let peers = peers_for(&state, &params);
    let mut count = run_query(&state, move |searcher| searcher.count(&query, from, to)).await?;
    for answer in ask_peers(peers, format!("/api/count?{}", forward(&params))).await? {
        count += answer["count"].as_u64().unwrap_or(0);
    }
    Ok(Json(json!({ "count": count })).into_response())
}

async fn histogram(
    State(state): State<Arc<ApiState>>,
    Query(params): Query<Params>,
) -> Result<Response, ApiError> {
    let (from, to) = params.range()?;
    let to = to.unwrap_or_else(loghaul_model::time::now_unix_nano);
    let from = from.unwrap_or(to - 3_600 * 1_000_000_000);
    if from >= to {
        return Err(ApiError::bad("from must be before to"));
    }
    let interval = match params.interval.as_deref() {
        // A bare number is nanoseconds (what a fanning-out node sends).
        Some(text) => match text.parse::<i64>() {
            Ok(nanos) => nanos,
            Err(_) => parse_duration(text)
                .map_err(|message| ApiError::bad(format!("interval: {message}")))?
                .as_nanos() as i64,
        },
        None => ((to - from) / 60).max(1_000_000_000),
    };
    if interval <= 0 {
        return Err(ApiError::bad("interval must be positive"));
    }
    let query = params.query();
    let peers = peers_for(&state, &params);
    let mut buckets = run_query(&state, move |searcher| {
        searcher.histogram(&query, from, to, interval)
    })
    .await?;
    // Peers get the resolved range and interval, so their buckets line up.
    let peer_query = format!(
        "/api/histogram?q={}&from={from}&to={to}&interval={}",
        encode(&params.query()),
        interval
    );
    for answer in ask_peers(peers, peer_query).await? {
        let theirs = answer["buckets"].as_array().cloned().unwrap_or_default();
        for (bucket, their) in buckets.iter_mut().zip(theirs) {
            bucket.1 += their["count"].as_u64().unwrap_or(0);
        }
    }
    let buckets: Vec<serde_json::Value> = buckets
        .into_iter()
        .map(|(start, count)| json!({ "start": start, "count": count }))
        .collect();
    Ok(
        Json(json!({ "from": from, "to": to, "interval_ns": interval, "buckets": buckets }))
            .into_response(),
    )
}

async fn facets(
    State(state): State<Arc<ApiState>>,
    Query(params): Query<Params>,
) -> Result<Response, ApiError> {
    let (from, to) = params.range()?;
    let field = params
        .field
        .clone()
        .ok_or_else(|| ApiError::bad("field is required: host, source, service, level or file"))?;
    let limit = params.limit.unwrap_or(10);
    let query = params.query();
    let response_field = field.clone();
    let peers = peers_for(&state, &params);
    // Each shard's top list is longer than asked, so the merged top is
    // exact unless a value is rare on every shard at once.
    let wide = (limit * 4).clamp(1, crate::search::MAX_FACETS);
    let mut totals: std::collections::HashMap<String, u64> = run_query(&state, move |searcher| {
        searcher.facets(&query, from, to, &field, wide)
    })
    .await?
    .into_iter()
    .collect();
    let peer_params = forward(&Params {
        limit: Some(wide),
        ..params.clone()
    });
    for answer in ask_peers(peers, format!("/api/facets?{peer_params}")).await? {
        for value in answer["values"].as_array().into_iter().flatten() {
            if let Some(name) = value["value"].as_str() {
                *totals.entry(name.to_owned()).or_default() += value["count"].as_u64().unwrap_or(0);
            }
        }
    }
    let mut values: Vec<(String, u64)> = totals.into_iter().collect();
    values.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    values.truncate(limit);
    let values: Vec<serde_json::Value> = values
        .into_iter()
        .map(|(value, count)| json!({ "value": value, "count": count }))
        .collect();
    Ok(Json(json!({ "field": response_field, "values": values })).into_response())
}

async fn context(
    State(state): State<Arc<ApiState>>,
    Query(params): Query<Params>,
) -> Result<Response, ApiError> {
    let id = params
        .id
        .clone()
        .ok_or_else(|| ApiError::bad("id is required"))?;
    let (before, after) = (params.before.unwrap_or(10), params.after.unwrap_or(10));
    let peers = peers_for(&state, &params);
    let local_id = id.clone();
    match run_query(&state, move |searcher| {
        searcher.context(&local_id, before, after)
    })
    .await
    {
        Ok((earlier, event, later)) => {
            Ok(Json(json!({ "before": earlier, "event": event, "after": later })).into_response())
        }
        Err(error) if error.status == StatusCode::NOT_FOUND && !peers.is_empty() => {
            // A file's records all live on one shard: ask the others.
            let path = format!(
                "/api/context?id={}&before={before}&after={after}",
                encode(&id)
            );
            for peer in peers {
                if let Ok(answers) = ask_peers(vec![peer], path.clone()).await
                    && let Some(answer) = answers.into_iter().next()
                {
                    return Ok(Json(answer).into_response());
                }
            }
            Err(error)
        }
        Err(error) => Err(error),
    }
}

async fn tail(
    State(state): State<Arc<ApiState>>,
    Query(params): Query<Params>,
) -> Result<Response, ApiError> {
    let query = params.query();
    state.searcher.validate(&query).map_err(ApiError::from)?;
    let start = state.stats.generation.load(Ordering::Relaxed);
    // Peers' tails are read on blocking threads and forwarded here; a
    // thread ends when this stream is dropped and its next send fails.
    let (forward_tx, forward_rx) = tokio::sync::mpsc::channel::<String>(1024);
    for peer in peers_for(&state, &params) {
        let sender = forward_tx.clone();
        let path = format!("/api/tail?q={}&local=1", encode(&query));
        tokio::task::spawn_blocking(move || {
            let _ = peer.stream(&path, |data| sender.blocking_send(data.to_owned()).is_ok());
        });
    }
    drop(forward_tx);
    let stream = futures_util::stream::unfold(
        (
            state,
            query,
            start,
            Vec::<SseEvent>::new(),
            Some(forward_rx),
        ),
        |(state, query, mut seen, mut queued, mut forwarded)| async move {
            loop {
                if let Some(next) = queued.pop() {
                    return Some((
                        Ok::<_, Infallible>(next),
                        (state, query, seen, queued, forwarded),
                    ));
                }
                let from_peer = match forwarded.as_mut() {
                    Some(receiver) => tokio::select! {
                        data = receiver.recv() => Some(data),
                        () = tokio::time::sleep(Duration::from_millis(250)) => None,
                    },
                    None => {
                        tokio::time::sleep(Duration::from_millis(250)).await;
                        None
                    }
                };
                match from_peer {
                    Some(Some(data)) => {
                        queued.push(SseEvent::default().event("event").data(data));
                        continue;
                    }
                    // Every peer's stream ended: carry on with the local one.
                    Some(None) => forwarded = None,
                    None => {}
                }
                let current = state.stats.generation.load(Ordering::Relaxed);
                if current <= seen {
                    continue;
                }
                let text = query.clone();
                let after = seen;
                let events = run_query(&state, move |searcher| {
                    searcher.since_generation(&text, after, crate::search::MAX_LIMIT)
                })
                .await;
                seen = current;
                if let Ok(events) = events {
                    // Newest at the front of the queue, so pop gives oldest first.
                    queued = events
                        .iter()
                        .rev()
                        .filter_map(|event| {
                            SseEvent::default().event("event").json_data(event).ok()
                        })
                        .collect();
                }
            }
        },
    );
    Ok(Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response())
}

async fn metrics(State(state): State<Arc<ApiState>>) -> Response {
    let mut out = String::new();
    let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
    let stats = &state.stats;
    let mut metric = |name: &str, kind: &str, help: &str, value: String| {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
        );
    };
    metric(
        "loghaul_indexer_documents_total",
        "counter",
        "Documents indexed and committed.",
        load(&stats.documents).to_string(),
    );
    metric(
        "loghaul_indexer_duplicates_skipped_total",
        "counter",
        "Events skipped as already indexed.",
        load(&stats.duplicates).to_string(),
    );
    metric(
        "loghaul_indexer_commits_total",
        "counter",
        "Commits.",
        load(&stats.commits).to_string(),
    );
    metric(
        "loghaul_indexer_commit_seconds_total",
        "counter",
        "Time spent committing.",
        format!("{:.6}", load(&stats.commit_micros) as f64 / 1e6),
    );
    metric(
        "loghaul_indexer_dead_lettered_total",
        "counter",
        "Messages dead-lettered.",
        load(&stats.dead_lettered).to_string(),
    );
    metric(
        "loghaul_indexer_generation",
        "gauge",
        "Generation of the last commit.",
        load(&stats.generation).to_string(),
    );
    let lag = match load(&stats.last_observed_nanos) {
        0 => 0.0,
        observed => ((loghaul_model::time::now_unix_nano() - observed as i64).max(0)) as f64 / 1e9,
    };
    metric(
        "loghaul_indexer_lag_seconds",
        "gauge",
        "Seconds from the shipper reading the newest committed event to now.",
        format!("{lag:.3}"),
    );
    metric(
        "loghaul_indexer_queries_total",
        "counter",
        "API queries answered.",
        load(&state.queries).to_string(),
    );
    metric(
        "loghaul_indexer_query_errors_total",
        "counter",
        "API queries that failed.",
        load(&state.query_errors).to_string(),
    );
    let _ = writeln!(
        out,
        "# HELP loghaul_indexer_query_seconds API query latency.\n# TYPE loghaul_indexer_query_seconds histogram"
    );
    for (bound, bucket) in LATENCY_BOUNDS.iter().zip(&state.latency_buckets) {
        let _ = writeln!(
            out,
            "loghaul_indexer_query_seconds_bucket{{le=\"{bound}\"}} {}",
            load(bucket)
        );
    }
    let _ = writeln!(
        out,
        "loghaul_indexer_query_seconds_bucket{{le=\"+Inf\"}} {}",
        load(&state.queries)
    );
    let _ = writeln!(
        out,
        "loghaul_indexer_query_seconds_sum {:.6}",
        load(&state.latency_micros) as f64 / 1e6
    );
    let _ = writeln!(
        out,
        "loghaul_indexer_query_seconds_count {}",
        load(&state.queries)
    );
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out).into_response()
}

async fn readyz(State(state): State<Arc<ApiState>>) -> Response {
    if state.ready.load(Ordering::Relaxed) {
        (StatusCode::OK, "ready\n").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready\n").into_response()
    }
}

/// Constant-time comparison, so the token cannot be guessed by timing.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn authorize(State(state): State<Arc<ApiState>>, request: Request, next: Next) -> Response {
    if let Some(token) = &state.token {
        let presented = request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "));
        if !presented.is_some_and(|presented| same(presented.as_bytes(), token.as_bytes())) {
            return (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Bearer")],
                Json(json!({ "error": "missing or wrong bearer token" })),
            )
                .into_response();
        }
    }
    next.run(request).await
}

/// The routes.
pub fn router(state: Arc<ApiState>) -> Router {
    let guarded = Router::new()
        .route("/api/search", get(search))
        .route("/api/count", get(count))
        .route("/api/histogram", get(histogram))
        .route("/api/facets", get(facets))
        .route("/api/context", get(context))
        .route("/api/tail", get(tail))
        .route("/metrics", get(metrics))
        .route("/readyz", get(readyz))
        .route_layer(middleware::from_fn_with_state(state.clone(), authorize));
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .merge(guarded)
        .fallback(|| async {
            ApiError {
                status: StatusCode::NOT_FOUND,
                message: "no such endpoint; see /api/search, /api/histogram, /api/facets, /api/context, /api/tail".into(),
                position: None,
            }
        })
        .with_state(state)
}

/// Refuses to listen off loopback without a token.
pub fn check_listen(listen: SocketAddr, token: Option<&str>) -> Result<(), String> {
    if !listen.ip().is_loopback() && token.is_none_or(str::is_empty) {
        return Err(format!(
            "refusing to serve the API on {listen} without indexer.token: anyone who can reach it could read every log"
        ));
    }
    Ok(())
}

/// Serves on `listen` until `shutdown`; returns the bound address through
/// `bound` as soon as it listens.
pub async fn serve(
    listen: SocketAddr,
    state: Arc<ApiState>,
    shutdown: CancellationToken,
    bound: tokio::sync::oneshot::Sender<SocketAddr>,
) -> std::io::Result<()> {
    check_listen(listen, state.token.as_deref()).map_err(std::io::Error::other)?;
    let listener = tokio::net::TcpListener::bind(listen).await?;
    let _ = bound.send(listener.local_addr()?);
    axum::serve(listener, router(state))
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await
}
