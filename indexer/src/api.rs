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
//! | `GET /api/openapi.json` | this API's OpenAPI 3 document |
//!
//! Answers are the types of [`crate::page`]. With `indexer.shard_urls`,
//! search, count, histogram, facets and context also ask those shards, all
//! at once (marking the request `local=1` so they do not ask further), and
//! merge with the same code: pages by position (see [`crate::page`]), sums
//! of counts, buckets and facet values. A shard that fails fails the
//! request, rather than answer with silent gaps. The live tail also forwards
//! the peers' tails.
//!
//! `from` and `to` take RFC 3339 or Unix seconds, milliseconds or
//! nanoseconds; `since` a duration back from now (`15m`); a time outside
//! what the index can hold (1677 to 2262) is refused, naming the parameter.
//! Every error is `{"error": "...", "position": n}` (position only for query
//! errors) with status 400, 401, 404, 422 (over the memory budget) or 503.
//! A bearer token, when configured, guards all but `/healthz`, `/readyz`
//! (probes cannot send one, and they learn only ready or not) and the page.
//!
//! Queries run on blocking threads, at most [`QueryLimits::concurrent`] at a
//! time (default [`MAX_CONCURRENT_QUERIES`]); a query waits for a slot
//! within its time limit (default [`QUERY_TIMEOUT`]). A query past its time
//! limit, or whose client disconnects, is stopped inside tantivy's scorers
//! and collectors (see [`crate::control`]) and keeps its slot until its work
//! has ended, so stopped queries never pile up.

use std::convert::Infallible;
use std::fmt::Write;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use crate::client::{Client, encode};
use crate::control::{Control, Stop};
use crate::page::{
    Bucket, ContextAnswer, CountAnswer, FacetValue, FacetsAnswer, HistogramAnswer, SearchPage,
};
use crate::search::{Scope, SearchError, SearchRequest, Searcher};
use crate::worker::IndexStats;

/// Queries running at once by default; more wait their turn, in arrival
/// order, up to the time limit, then get 503.
pub const MAX_CONCURRENT_QUERIES: usize = 4;
/// Longest a query may run by default before it is stopped and the answer
/// is 503.
pub const QUERY_TIMEOUT: Duration = Duration::from_secs(10);
/// Default memory budget of one query.
pub const QUERY_MEMORY: usize = 256 << 20;

/// Query latency histogram bounds, in seconds.
const LATENCY_BOUNDS: [f64; 10] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 10.0,
];

/// How queries are bounded.
#[derive(Debug, Clone, Copy)]
pub struct QueryLimits {
    /// Queries running at once.
    pub concurrent: usize,
    /// Time limit of one query, waiting for a slot included.
    pub timeout: Duration,
    /// Memory budget of one query, in bytes.
    pub memory: usize,
}

impl Default for QueryLimits {
    fn default() -> Self {
        QueryLimits {
            concurrent: MAX_CONCURRENT_QUERIES,
            timeout: QUERY_TIMEOUT,
            memory: QUERY_MEMORY,
        }
    }
}

/// Counters of queries that ended early.
#[derive(Debug, Default)]
struct Stops {
    cancelled: AtomicU64,
    timed_out: AtomicU64,
    over_budget: AtomicU64,
    busy: AtomicU64,
}

/// What the API serves from.
#[derive(Debug)]
pub struct ApiState {
    searcher: Arc<Searcher>,
    stats: Arc<IndexStats>,
    token: Option<String>,
    ready: Arc<AtomicBool>,
    permits: Arc<Semaphore>,
    queries: AtomicU64,
    query_errors: AtomicU64,
    /// Query threads still working (a stopped query counts until its work
    /// has really ended).
    running: Arc<AtomicU64>,
    stops: Stops,
    latency_buckets: [AtomicU64; 10],
    latency_micros: AtomicU64,
    /// The other shards' APIs, for fan-out.
    peers: Vec<Client>,
    /// Host names answered besides IP literals and loopback names.
    allowed_hosts: Vec<String>,
    limits: QueryLimits,
    /// Where rotated files are archived, for links from events to them.
    archive: Option<Archive>,
}

/// The archive store, shown by its description in debug output.
#[derive(Clone)]
struct Archive(Arc<dyn loghaul_archive::ObjectStore>);

impl std::fmt::Debug for Archive {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(&self.0.describe())
    }
}

impl ApiState {
    /// State over `searcher`; `token` guards the API (see the module docs).
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
            permits: Arc::new(Semaphore::new(MAX_CONCURRENT_QUERIES)),
            queries: AtomicU64::new(0),
            query_errors: AtomicU64::new(0),
            running: Arc::new(AtomicU64::new(0)),
            stops: Stops::default(),
            latency_buckets: Default::default(),
            latency_micros: AtomicU64::new(0),
            peers: Vec::new(),
            allowed_hosts: Vec::new(),
            limits: QueryLimits::default(),
            archive: None,
        }
    }

    /// Links events to their archived files in `store`.
    pub fn with_archive(mut self, store: Arc<dyn loghaul_archive::ObjectStore>) -> Self {
        self.archive = Some(Archive(store));
        self
    }

    /// Other limits than the defaults.
    pub fn with_limits(mut self, limits: QueryLimits) -> Self {
        self.permits = Arc::new(Semaphore::new(limits.concurrent));
        self.limits = limits;
        self
    }

    /// A shorter (or longer) time limit per query than [`QUERY_TIMEOUT`].
    pub fn with_query_timeout(mut self, timeout: Duration) -> Self {
        self.limits.timeout = timeout;
        self
    }

    /// Also answers requests for these host names (`indexer.allowed_hosts`):
    /// exact names, or `*.suffix` for every name under `suffix`.
    pub fn with_allowed_hosts(mut self, hosts: Vec<String>) -> Self {
        self.allowed_hosts = hosts
            .into_iter()
            .map(|host| host.trim_end_matches('.').to_ascii_lowercase())
            .collect();
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

    fn count_stop(&self, stop: &Stop) {
        let counter = match stop {
            Stop::Cancelled => &self.stops.cancelled,
            Stop::TimedOut(_) => &self.stops.timed_out,
            Stop::OverBudget { .. } => &self.stops.over_budget,
        };
        counter.fetch_add(1, Ordering::Relaxed);
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
            SearchError::Stopped(stop) => ApiError {
                status: match stop {
                    // Nobody reads it: the client has gone.
                    Stop::Cancelled => StatusCode::SERVICE_UNAVAILABLE,
                    Stop::TimedOut(_) => StatusCode::SERVICE_UNAVAILABLE,
                    Stop::OverBudget { .. } => StatusCode::UNPROCESSABLE_ENTITY,
                },
                message: stop.to_string(),
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

/// The body of every API error.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ErrorBody {
    /// What went wrong.
    pub error: String,
    /// For a query error: the byte offset in the query text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<usize>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(ErrorBody {
                error: self.message,
                position: self.position,
            }),
        )
            .into_response()
    }
}

/// The parameters every endpoint may take, read from the query string.
///
/// Read by hand rather than by serde, so that every mistake is a JSON error
/// that names the parameter: a number that is not one, a value that is not
/// UTF-8, a parameter given twice.
#[derive(Debug, Default, Clone)]
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
    /// Include the current rehydrations (`loghaul archive reindex`).
    rehydrated: bool,
}

/// Decodes one `application/x-www-form-urlencoded` component.
fn form_decode(name: &str, text: &str) -> Result<String, ApiError> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        match bytes[at] {
            b'+' => out.push(b' '),
            b'%' => {
                let byte = bytes
                    .get(at + 1..at + 3)
                    .and_then(|hex| std::str::from_utf8(hex).ok())
                    .and_then(|hex| u8::from_str_radix(hex, 16).ok())
                    .ok_or_else(|| {
                        ApiError::bad(format!(
                            "{name}: bad percent-escape at byte {at} of the parameter"
                        ))
                    })?;
                out.push(byte);
                at += 2;
            }
            other => out.push(other),
        }
        at += 1;
    }
    String::from_utf8(out).map_err(|error| {
        ApiError::bad(format!(
            "{name} is not valid UTF-8 (at byte {} of its decoded value)",
            error.utf8_error().valid_up_to()
        ))
    })
}

fn whole(name: &str, text: &str) -> Result<usize, ApiError> {
    text.parse::<usize>()
        .map_err(|_| ApiError::bad(format!("{name} must be a whole number, not {text:?}")))
}

/// The parameters the API knows; any other is refused, so a typo
/// (`limt=5`) is not silently ignored. `_` (a cache-buster) is allowed.
const KNOWN_PARAMETERS: &str =
    "q, from, to, since, limit, cursor, interval, field, id, before, after, rehydrated";

impl Params {
    /// Reads a query string.
    pub fn parse(query: &str) -> Result<Self, ApiError> {
        let mut params = Params::default();
        let mut seen: Vec<String> = Vec::new();
        for pair in query.split('&').filter(|pair| !pair.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let name = form_decode("a parameter name", name)?;
            let value = form_decode(&name, value)?;
            if seen.contains(&name) {
                return Err(ApiError::bad(format!("{name} is given more than once")));
            }
            seen.push(name.clone());
            let text = Some(value.clone());
            match name.as_str() {
                "q" => params.q = text,
                "from" => params.from = text,
                "to" => params.to = text,
                "since" => params.since = text,
                "cursor" => params.cursor = text,
                "interval" => params.interval = text,
                "field" => params.field = text,
                "id" => params.id = text,
                "limit" => params.limit = Some(whole("limit", &value)?),
                "before" => params.before = Some(whole("before", &value)?),
                "after" => params.after = Some(whole("after", &value)?),
                "local" => params.local = Some(u8::from(whole("local", &value)? > 0)),
                "rehydrated" => params.rehydrated = whole("rehydrated", &value)? > 0,
                "_" => {}
                unknown => {
                    return Err(ApiError::bad(format!(
                        "unknown parameter {unknown:?}; the API takes {KNOWN_PARAMETERS}"
                    )));
                }
            }
        }
        Ok(params)
    }
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Params {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, ApiError> {
        Params::parse(parts.uri.query().unwrap_or(""))
    }
}

/// The first and last instants an index can hold: nanoseconds in an i64.
fn representable(nanos: i128) -> Option<i64> {
    i64::try_from(nanos).ok()
}

const RANGE_HELP: &str = "the index holds times from 1677-09-22 to 2262-04-11";

/// RFC 3339, or a Unix time in s, ms or ns (by magnitude). Times the index
/// cannot hold are refused rather than wrapped or clamped.
pub fn parse_time(text: &str) -> Result<i64, String> {
    let text = text.trim();
    if let Ok(number) = text.parse::<i64>() {
        let nanos = match number.unsigned_abs() {
            0..100_000_000_000 => i128::from(number) * 1_000_000_000,
            100_000_000_000..100_000_000_000_000 => i128::from(number) * 1_000_000,
            _ => i128::from(number),
        };
        return representable(nanos).ok_or_else(|| format!("{text} is out of range: {RANGE_HELP}"));
    }
    let timestamp = text.parse::<jiff::Timestamp>().map_err(|_| {
        format!("{text:?} is not a time: use RFC 3339 (2026-11-22T08:00:00Z) or Unix seconds")
    })?;
    representable(timestamp.as_nanosecond())
        .ok_or_else(|| format!("{text} is out of range: {RANGE_HELP}"))
}

/// A duration like `90s`, `15m`, `2h`, `7d`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    loghaul_config::HumanDuration::parse(text.trim()).map(|duration| duration.0)
}

/// `now` minus `duration`, refused when it falls before what the index can
/// hold.
pub fn time_ago(duration: Duration, now: i64) -> Result<i64, String> {
    representable(i128::from(now) - duration.as_nanos() as i128).ok_or_else(|| {
        format!(
            "{} s back from now is out of range: {RANGE_HELP}",
            duration.as_secs()
        )
    })
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
            if self.from.is_some() {
                return Err(ApiError::bad("give since or from, not both"));
            }
            let duration = parse_duration(since)
                .map_err(|message| ApiError::bad(format!("since: {message}")))?;
            from = Some(
                time_ago(duration, loghaul_model::time::now_unix_nano())
                    .map_err(|message| ApiError::bad(format!("since: {message}")))?,
            );
        }
        if let (Some(from), Some(to)) = (from, to)
            && from >= to
        {
            return Err(ApiError::bad("from must be before to"));
        }
        Ok((from, to))
    }
}

/// Cancels a query's work, and counts it, when the request's future is
/// dropped before the work ended: its client went away.
struct CancelOnDrop {
    control: Arc<Control>,
    state: Arc<ApiState>,
    armed: bool,
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if self.armed {
            self.control.cancel();
            self.state.count_stop(&Stop::Cancelled);
        }
    }
}

/// Counts a query thread from start to its real end.
struct Running(Arc<AtomicU64>);

impl Drop for Running {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Runs `work` on a blocking thread within the concurrency, time and memory
/// limits. The slot is held until the work has really stopped, so a query
/// that timed out or whose client left cannot pile up behind the limit.
async fn run_query<T: Send + 'static>(
    state: &Arc<ApiState>,
    work: impl FnOnce(Scope<'_>) -> Result<T, SearchError> + Send + 'static,
) -> Result<T, ApiError> {
    let started = Instant::now();
    let timeout = state.limits.timeout;
    // A query waits for a slot up to its time limit, in arrival order,
    // then has its time limit to run.
    let permit = match tokio::time::timeout(timeout, state.permits.clone().acquire_owned()).await {
        Ok(Ok(permit)) => permit,
        Ok(Err(_)) => return Err(ApiError::unavailable("shutting down")),
        Err(_) => {
            state.stops.busy.fetch_add(1, Ordering::Relaxed);
            state.observe(started.elapsed().as_secs_f64(), true);
            return Err(ApiError::unavailable(format!(
                "{} queries were running for all of {:.1} s; try again",
                state.limits.concurrent,
                timeout.as_secs_f64()
            )));
        }
    };
    let control = Control::new(Some(timeout), state.limits.memory);
    let mut abandoned = CancelOnDrop {
        control: control.clone(),
        state: state.clone(),
        armed: true,
    };
    let searcher = state.searcher.clone();
    state.running.fetch_add(1, Ordering::Relaxed);
    let running = Running(state.running.clone());
    let task_control = control.clone();
    let task = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        let _running = running;
        work(searcher.under(task_control))
    });
    let result = match tokio::time::timeout(timeout, task).await {
        // The work checks the same deadline and stops by itself; it keeps
        // its slot until it has.
        Err(_) => Err(SearchError::Stopped(Stop::TimedOut(timeout))),
        Ok(Err(join)) => {
            abandoned.armed = false;
            return Err(ApiError {
                status: StatusCode::INTERNAL_SERVER_ERROR,
                message: format!("the query failed: {join}"),
                position: None,
            });
        }
        Ok(Ok(result)) => result,
    };
    abandoned.armed = false;
    if matches!(result, Err(SearchError::Stopped(Stop::TimedOut(_)))) {
        // The work may still be inside one segment: make sure it stops.
        control.cancel();
    }
    if let Err(SearchError::Stopped(stop)) = &result {
        state.count_stop(stop);
    }
    state.observe(started.elapsed().as_secs_f64(), result.is_err());
    result.map_err(ApiError::from)
}

/// The peers to ask for this request: none when it came from a peer.
fn peers_for(state: &ApiState, params: &Params) -> Vec<Client> {
    if params.local.is_some() {
        Vec::new()
    } else {
        state.peers.clone()
    }
}

/// Asks one peer `path_and_query` (with `local=1`) for a typed answer.
async fn ask_peer<T: DeserializeOwned + Send + 'static>(
    peer: Client,
    path_and_query: String,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(move || {
        let separator = if path_and_query.contains('?') {
            '&'
        } else {
            '?'
        };
        let answer = peer
            .get(&format!("{path_and_query}{separator}local=1"))
            .map_err(|error| ApiError::unavailable(format!("shard {}: {error}", peer.url())))?;
        if answer.status != 200 {
            let body: Option<ErrorBody> = serde_json::from_str(&answer.body).ok();
            return Err(ApiError {
                status: StatusCode::from_u16(answer.status).unwrap_or(StatusCode::BAD_GATEWAY),
                message: format!(
                    "shard {}: {}",
                    peer.url(),
                    body.as_ref()
                        .map_or(answer.body.as_str(), |body| &body.error)
                ),
                position: body.and_then(|body| body.position),
            });
        }
        serde_json::from_str(&answer.body).map_err(|error| {
            ApiError::unavailable(format!("shard {} answered badly: {error}", peer.url()))
        })
    })
    .await
    .map_err(|error| ApiError::unavailable(format!("fan-out failed: {error}")))?
}

/// Asks every peer at once. A peer that fails makes the whole answer fail:
/// partial results would look complete.
async fn ask_peers<T: DeserializeOwned + Send + 'static>(
    peers: Vec<Client>,
    path_and_query: String,
) -> Result<Vec<T>, ApiError> {
    futures_util::future::join_all(
        peers
            .into_iter()
            .map(|peer| ask_peer(peer, path_and_query.clone())),
    )
    .await
    .into_iter()
    .collect()
}

/// The local answer and the peers' answers, asked at the same time.
async fn local_and_peers<L: Send + 'static, P: DeserializeOwned + Send + 'static>(
    state: &Arc<ApiState>,
    peers: Vec<Client>,
    peer_path: String,
    work: impl FnOnce(Scope<'_>) -> Result<L, SearchError> + Send + 'static,
) -> Result<(L, Vec<P>), ApiError> {
    let (local, theirs) = tokio::join!(run_query(state, work), ask_peers(peers, peer_path));
    Ok((local?, theirs?))
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
    add("rehydrated", params.rehydrated.then(|| "1".to_owned()));
    query
}

async fn search(
    State(state): State<Arc<ApiState>>,
    params: Params,
) -> Result<Json<SearchPage>, ApiError> {
    let (from, to) = params.range()?;
    // A relative range is resolved once, so every shard searches the same.
    let resolved = Params {
        from: from.map(|from| from.to_string()),
        to: to.map(|to| to.to_string()),
        since: None,
        ..params.clone()
    };
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
    let (page, theirs) = local_and_peers::<_, SearchPage>(
        &state,
        peers,
        format!("/api/search?{}", forward(&resolved)),
        move |scope| scope.with_rehydrated(params.rehydrated).search(&request),
    )
    .await?;
    // Every shard applied the same cursor, so the merged order continues
    // exactly where the last page ended.
    let mut page = SearchPage::merge(std::iter::once(page).chain(theirs), limit, &params.query());
    // The query parsed, or the search would have failed.
    if let (Ok(ast), Ok(mut analyzer)) = (
        crate::query::parse(&params.query()),
        crate::search::analyzer(),
    ) {
        let highlighter = crate::query::Highlighter::new(&ast, &mut analyzer);
        if !highlighter.is_empty() {
            page.highlights = page
                .events
                .iter()
                .map(|event| highlighter.ranges(&mut analyzer, &event.body))
                .collect();
        }
    }
    page.took_ms = started.elapsed().as_secs_f64() * 1e3;
    Ok(Json(page))
}

async fn count(
    State(state): State<Arc<ApiState>>,
    params: Params,
) -> Result<Json<CountAnswer>, ApiError> {
    let (from, to) = params.range()?;
    let resolved = Params {
        from: from.map(|from| from.to_string()),
        to: to.map(|to| to.to_string()),
        since: None,
        ..params.clone()
    };
    let query = params.query();
    let (count, theirs) = local_and_peers::<_, CountAnswer>(
        &state,
        peers_for(&state, &params),
        format!("/api/count?{}", forward(&resolved)),
        move |scope| {
            scope
                .with_rehydrated(params.rehydrated)
                .count(&query, from, to)
        },
    )
    .await?;
    Ok(Json(CountAnswer::merge(
        std::iter::once(CountAnswer { count }).chain(theirs),
    )))
}

async fn histogram(
    State(state): State<Arc<ApiState>>,
    params: Params,
) -> Result<Json<HistogramAnswer>, ApiError> {
    let (from, to) = params.range()?;
    let to = to.unwrap_or_else(loghaul_model::time::now_unix_nano);
    let from = from.unwrap_or(to.saturating_sub(3_600 * 1_000_000_000));
    if from >= to {
        return Err(ApiError::bad("from must be before to"));
    }
    let interval = match params.interval.as_deref() {
        // A bare number is nanoseconds (what a fanning-out node sends).
        Some(text) => match text.parse::<i64>() {
            Ok(nanos) => nanos,
            Err(_) => i64::try_from(
                parse_duration(text)
                    .map_err(|message| ApiError::bad(format!("interval: {message}")))?
                    .as_nanos(),
            )
            .map_err(|_| ApiError::bad(format!("interval: {text} is too long")))?,
        },
        None => ((to - from) / 60).max(1_000_000_000),
    };
    if interval <= 0 {
        return Err(ApiError::bad("interval must be positive"));
    }
    let query = params.query();
    // Peers get the resolved range and interval, so their buckets line up.
    let peer_query = format!(
        "/api/histogram?q={}&from={from}&to={to}&interval={interval}{}",
        encode(&params.query()),
        if params.rehydrated {
            "&rehydrated=1"
        } else {
            ""
        },
    );
    let rehydrated = params.rehydrated;
    let (buckets, theirs) = local_and_peers::<_, HistogramAnswer>(
        &state,
        peers_for(&state, &params),
        peer_query,
        move |scope| {
            scope
                .with_rehydrated(rehydrated)
                .histogram(&query, from, to, interval)
        },
    )
    .await?;
    let mut answer = HistogramAnswer {
        from,
        to,
        interval_ns: interval,
        buckets: buckets
            .into_iter()
            .map(|(start, count)| Bucket { start, count })
            .collect(),
    };
    for their in &theirs {
        answer.add(their).map_err(ApiError::unavailable)?;
    }
    Ok(Json(answer))
}

async fn facets(
    State(state): State<Arc<ApiState>>,
    params: Params,
) -> Result<Json<FacetsAnswer>, ApiError> {
    let (from, to) = params.range()?;
    let field = params.field.clone().ok_or_else(|| {
        ApiError::bad("field is required: host, source, service, level, file or an attribute path")
    })?;
    let limit = params.limit.unwrap_or(10);
    if limit == 0 || limit > crate::search::MAX_FACETS {
        return Err(ApiError::bad(format!(
            "limit must be between 1 and {}",
            crate::search::MAX_FACETS
        )));
    }
    let query = params.query();
    let local_field = field.clone();
    // Each shard's top list is longer than asked, so the merged top is
    // exact unless a value is rare on every shard at once.
    let wide = (limit * 4).clamp(1, crate::search::MAX_FACETS);
    let peer_params = forward(&Params {
        limit: Some(wide),
        from: from.map(|from| from.to_string()),
        to: to.map(|to| to.to_string()),
        since: None,
        ..params.clone()
    });
    let (mine, theirs) = local_and_peers::<_, FacetsAnswer>(
        &state,
        peers_for(&state, &params),
        format!("/api/facets?{peer_params}"),
        move |scope| {
            scope
                .with_rehydrated(params.rehydrated)
                .facets(&query, from, to, &local_field, wide)
        },
    )
    .await?;
    let mine = mine
        .into_iter()
        .map(|(value, count)| FacetValue { value, count })
        .collect();
    Ok(Json(FacetsAnswer::merge(
        field,
        std::iter::once(mine).chain(theirs.into_iter().map(|answer| answer.values)),
        limit,
    )))
}

async fn context(
    State(state): State<Arc<ApiState>>,
    params: Params,
) -> Result<Json<ContextAnswer>, ApiError> {
    let id = params
        .id
        .clone()
        .ok_or_else(|| ApiError::bad("id is required"))?;
    let (before, after) = (params.before.unwrap_or(10), params.after.unwrap_or(10));
    let peers = peers_for(&state, &params);
    let local_id = id.clone();
    let rehydrated = params.rehydrated;
    match run_query(&state, move |scope| {
        scope
            .with_rehydrated(rehydrated)
            .context(&local_id, before, after)
    })
    .await
    {
        Ok((before, event, after)) => Ok(Json(ContextAnswer {
            before,
            event,
            after,
        })),
        Err(error) if error.status == StatusCode::NOT_FOUND && !peers.is_empty() => {
            // A file's records all live on one shard: ask the others.
            let path = format!(
                "/api/context?id={}&before={before}&after={after}{}",
                encode(&id),
                if rehydrated { "&rehydrated=1" } else { "" }
            );
            let answers: Vec<Result<ContextAnswer, ApiError>> = futures_util::future::join_all(
                peers.into_iter().map(|peer| ask_peer(peer, path.clone())),
            )
            .await;
            answers
                .into_iter()
                .find_map(Result::ok)
                .map(Json)
                .ok_or(error)
        }
        Err(error) => Err(error),
    }
}

/// `/api/archived?id=…`: the event's file in the archive, once archived.
#[derive(Debug, Serialize, Deserialize)]
pub struct ArchivedAnswer {
    /// Whether the file is in the archive.
    pub archived: bool,
    /// Where, and what it records.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object: Option<serde_json::Value>,
    /// The store, `s3://bucket/prefix` or `file:///dir`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub store: Option<String>,
}

/// The archive, and the archived object of event `params.id`'s file.
async fn locate_archived(
    state: &Arc<ApiState>,
    params: &Params,
) -> Result<(Archive, Option<crate::archived::Located>), ApiError> {
    let Some(Archive(store)) = state.archive.clone() else {
        return Err(ApiError {
            status: StatusCode::NOT_FOUND,
            message: "this server has no archive configured".into(),
            position: None,
        });
    };
    let found = context(
        State(state.clone()),
        Params {
            before: Some(0),
            after: Some(0),
            ..params.clone()
        },
    )
    .await?;
    let located = crate::archived::locate(store.as_ref(), &found.0.event)
        .await
        .map_err(|error| ApiError::unavailable(format!("the archive: {error}")))?;
    Ok((Archive(store), located))
}

async fn archived(
    State(state): State<Arc<ApiState>>,
    params: Params,
) -> Result<Json<ArchivedAnswer>, ApiError> {
    let (Archive(store), located) = locate_archived(&state, &params).await?;
    Ok(Json(ArchivedAnswer {
        archived: located.is_some(),
        object: located.map(|located| serde_json::json!(located)),
        store: Some(store.describe()),
    }))
}

/// The gzip object of the event's file, as stored: gunzip gives the raw
/// file byte for byte.
async fn archived_object(
    State(state): State<Arc<ApiState>>,
    params: Params,
) -> Result<Response, ApiError> {
    let (Archive(store), located) = locate_archived(&state, &params).await?;
    let located = located.ok_or_else(|| ApiError {
        status: StatusCode::NOT_FOUND,
        message: "the event's file is not archived yet".into(),
        position: None,
    })?;
    let reader = store
        .get(&located.key)
        .await
        .map_err(|error| ApiError::unavailable(format!("the archive: {error}")))?;
    let name: String = located
        .raw_name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' {
                c
            } else {
                '_'
            }
        })
        .collect();
    Ok((
        [
            (
                axum::http::header::CONTENT_TYPE,
                "application/gzip".to_owned(),
            ),
            (
                axum::http::header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}.gz\""),
            ),
            (
                axum::http::header::HeaderName::from_static("x-loghaul-raw-sha256"),
                located.sha256.clone(),
            ),
        ],
        axum::body::Body::from_stream(tokio_util::io::ReaderStream::new(reader)),
    )
        .into_response())
}

/// `/api/rehydrations`: what `loghaul archive reindex` made, still current.
async fn rehydrations(State(state): State<Arc<ApiState>>) -> Json<serde_json::Value> {
    let current = state.searcher.rehydrations();
    Json(serde_json::json!({ "rehydrations": current }))
}

async fn tail(State(state): State<Arc<ApiState>>, params: Params) -> Result<Response, ApiError> {
    // A tail starts now: a range makes no sense, and a bad one is an error.
    if params.from.is_some() || params.to.is_some() || params.since.is_some() {
        return Err(ApiError::bad(
            "the live tail starts now and takes no from, to or since; use /api/search for the past",
        ));
    }
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
            let _ = peer.stream_while(
                &path,
                || !sender.is_closed(),
                |data| sender.blocking_send(data.to_owned()).is_ok(),
            );
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
                let events = run_query(&state, move |scope| {
                    scope.since_generation(&text, after, crate::search::MAX_LIMIT)
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
        "loghaul_indexer_expired_on_arrival_total",
        "counter",
        "Events already past retention when they arrived; kept for the retention period from arrival.",
        load(&stats.expired_on_arrival).to_string(),
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
    metric(
        "loghaul_indexer_queries_running",
        "gauge",
        "Query threads working now, stopped ones included until their work ends.",
        load(&state.running).to_string(),
    );
    metric(
        "loghaul_indexer_queries_cancelled_total",
        "counter",
        "Queries stopped because their client went away.",
        load(&state.stops.cancelled).to_string(),
    );
    metric(
        "loghaul_indexer_queries_timed_out_total",
        "counter",
        "Queries stopped at their time limit.",
        load(&state.stops.timed_out).to_string(),
    );
    metric(
        "loghaul_indexer_queries_over_budget_total",
        "counter",
        "Queries stopped at their memory budget.",
        load(&state.stops.over_budget).to_string(),
    );
    metric(
        "loghaul_indexer_queries_busy_total",
        "counter",
        "Queries refused because every slot stayed busy for their whole time limit.",
        load(&state.stops.busy).to_string(),
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
    // This process's full-disk pauses (in `run`: every component's).
    loghaul_durable::render_metrics(&mut out);
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out).into_response()
}

async fn readyz(State(state): State<Arc<ApiState>>) -> Response {
    if state.ready.load(Ordering::Relaxed) {
        (StatusCode::OK, "ready\n").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready\n").into_response()
    }
}

/// Whether a `Host` header names this API: an IP address (a rebinding
/// attack needs a name), `localhost` or a name under it, or an allowed name.
fn host_allowed(host: &str, allowed: &[String]) -> bool {
    let name = if let Some(inner) = host.strip_prefix('[') {
        // `[::1]:7700`: an IPv6 literal.
        return inner.split_once(']').is_some();
    } else {
        match host.rsplit_once(':') {
            Some((name, port)) if port.bytes().all(|byte| byte.is_ascii_digit()) => name,
            _ => host,
        }
    };
    if name.parse::<std::net::IpAddr>().is_ok() {
        return true;
    }
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    if name == "localhost" || name.ends_with(".localhost") {
        return true;
    }
    allowed
        .iter()
        .any(|pattern| match pattern.strip_prefix("*.") {
            Some(suffix) => name
                .strip_suffix(suffix)
                .is_some_and(|head| head.ends_with('.')),
            None => name == *pattern,
        })
}

/// Refuses requests for host names this API does not answer to, with 421
/// Misdirected Request (RFC 9110): the DNS-rebinding guard.
async fn check_host(State(state): State<Arc<ApiState>>, request: Request, next: Next) -> Response {
    let named = request
        .uri()
        .authority()
        .map(|authority| authority.as_str().to_owned())
        .or_else(|| {
            request
                .headers()
                .get(header::HOST)
                .map(|host| String::from_utf8_lossy(host.as_bytes()).into_owned())
        });
    if let Some(host) = named
        && !host_allowed(&host, &state.allowed_hosts)
    {
        return (
            StatusCode::MISDIRECTED_REQUEST,
            Json(ErrorBody {
                error: format!(
                    "this API does not answer to the host {host:?}: use an IP address or localhost, or add the name to indexer.allowed_hosts"
                ),
                position: None,
            }),
        )
            .into_response();
    }
    next.run(request).await
}

/// Whether `presented` is the token, in time that depends on neither: the
/// SHA-256 digests of both (always 32 bytes) are compared without an early
/// return, so neither the content nor the length leaks through timing.
fn same(presented: &[u8], token: &[u8]) -> bool {
    use sha2::Digest;
    let (a, b) = (sha2::Sha256::digest(presented), sha2::Sha256::digest(token));
    a.iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

/// The credentials of an `Authorization: Bearer …` header. The scheme is
/// case-insensitive (RFC 7235) and may be followed by any run of spaces.
fn bearer(value: &str) -> Option<&str> {
    let (scheme, credentials) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| credentials.trim_matches(' '))
}

async fn authorize(State(state): State<Arc<ApiState>>, request: Request, next: Next) -> Response {
    if let Some(token) = &state.token {
        let mut headers = request.headers().get_all(header::AUTHORIZATION).iter();
        let first = headers.next();
        if headers.next().is_some() {
            // Which one would count? Proxies and servers disagree: refuse.
            return (
                StatusCode::BAD_REQUEST,
                Json(ErrorBody {
                    error: "more than one Authorization header".into(),
                    position: None,
                }),
            )
                .into_response();
        }
        let presented = first.and_then(|value| value.to_str().ok()).and_then(bearer);
        if !presented.is_some_and(|presented| same(presented.as_bytes(), token.as_bytes())) {
            return (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Bearer")],
                Json(ErrorBody {
                    error: "missing or wrong bearer token".into(),
                    position: None,
                }),
            )
                .into_response();
        }
    }
    next.run(request).await
}

async fn ui_asset(uri: axum::http::Uri, headers: axum::http::HeaderMap) -> Response {
    crate::ui::serve(uri.path(), &headers).unwrap_or_else(|| {
        ApiError {
            status: StatusCode::NOT_FOUND,
            message: format!("no such file: {}", uri.path()),
            position: None,
        }
        .into_response()
    })
}

/// The OpenAPI 3 document of these routes (`openapi.json`, written by
/// hand; `tests/openapi.rs` checks it against the routes and fuzzes the
/// API with schemathesis).
pub const OPENAPI: &str = include_str!("openapi.json");

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
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
        .route("/api/archived", get(archived))
        .route("/api/archived/object", get(archived_object))
        .route("/api/rehydrations", get(rehydrations))
        .route("/metrics", get(metrics))
        .route_layer(middleware::from_fn_with_state(state.clone(), authorize));
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        // The API's contract holds no data: open, as the page is.
        .route("/api/openapi.json", get(openapi))
        // Probes (a kubelet's) cannot send a secret; the answer is only
        // ready or not.
        .route("/readyz", get(readyz))
        // The page holds no data: it is open, and asks the API for the
        // token like any client.
        .route("/", get(ui_asset))
        .route("/ui/{*file}", get(ui_asset))
        .merge(guarded)
        .fallback(|| async {
            ApiError {
                status: StatusCode::NOT_FOUND,
                message: "no such endpoint; see /api/search, /api/histogram, /api/facets, /api/context, /api/tail".into(),
                position: None,
            }
        })
        .method_not_allowed_fallback(|| async {
            ApiError {
                status: StatusCode::METHOD_NOT_ALLOWED,
                message: "the API is read-only: use GET".into(),
                position: None,
            }
        })
        // Every request, the page and /healthz too: first the host.
        .layer(middleware::from_fn_with_state(state.clone(), check_host))
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
    axum::serve(crate::listener::GuardedListener(listener), router(state))
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await
}

/// Serves on `listen` in a task until `shutdown`; returns the bound address
/// once it listens, and the task. An error to bind (or to start) is
/// returned, not left in the task.
pub async fn start(
    listen: SocketAddr,
    state: Arc<ApiState>,
    shutdown: CancellationToken,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<std::io::Result<()>>)> {
    let (bound_tx, bound_rx) = tokio::sync::oneshot::channel();
    let server = tokio::spawn(serve(listen, state, shutdown, bound_tx));
    match bound_rx.await {
        Ok(address) => Ok((address, server)),
        Err(_) => Err(match server.await {
            Ok(Err(error)) => error,
            Ok(Ok(())) => std::io::Error::other("it stopped"),
            Err(error) => std::io::Error::other(error),
        }),
    }
}
