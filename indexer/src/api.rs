//! The indexer's HTTP API, in JSON.
//!
//! | endpoint | parameters |
//! |---|---|
//! | `GET /api/search` | `q`, `from`, `to`, `since`, `limit` (default 100), `cursor` |
//! | `GET /api/count` | `q`, `from`, `to`, `since` |
//! | `GET /api/histogram` | `q`, `from`, `to`, `since`, `interval` (`1m`, `1h`…; default: about 60 buckets) |
//! | `GET /api/facets` | `q`, `from`, `to`, `since`, `field` (host, source, service, level, file), `limit` |
//! | `GET /api/context` | `id`, `before`, `after` (default 10 each) |
//! | `GET /api/tail` | `q`: server-sent events, one `event` per new match |
//! | `GET /metrics` | Prometheus text |
//! | `GET /healthz`, `GET /readyz` | liveness; readiness (the index is open and consuming) |
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
        }
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
#[derive(Debug, Default, Deserialize)]
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
}

fn now_nanos() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_nanos() as i64)
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
            from = Some(now_nanos() - duration.as_nanos() as i64);
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
    let result = match tokio::time::timeout(QUERY_TIMEOUT, task).await {
        Err(_) => Err(ApiError::unavailable(format!(
            "the query ran longer than {} s; narrow the time range or the query",
            QUERY_TIMEOUT.as_secs()
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
    let started = Instant::now();
    let page = run_query(&state, move |searcher| searcher.search(&request)).await?;
    Ok(Json(json!({
        "events": page.events,
        "next_cursor": page.next_cursor,
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
    let count = run_query(&state, move |searcher| searcher.count(&query, from, to)).await?;
    Ok(Json(json!({ "count": count })).into_response())
}

async fn histogram(
    State(state): State<Arc<ApiState>>,
    Query(params): Query<Params>,
) -> Result<Response, ApiError> {
    let (from, to) = params.range()?;
    let to = to.unwrap_or_else(now_nanos);
    let from = from.unwrap_or(to - 3_600 * 1_000_000_000);
    if from >= to {
        return Err(ApiError::bad("from must be before to"));
    }
    let interval = match &params.interval {
        Some(text) => parse_duration(text)
            .map_err(|message| ApiError::bad(format!("interval: {message}")))?
            .as_nanos() as i64,
        None => ((to - from) / 60).max(1_000_000_000),
    };
    if interval <= 0 {
        return Err(ApiError::bad("interval must be positive"));
    }
    let query = params.query();
    let buckets = run_query(&state, move |searcher| {
        searcher.histogram(&query, from, to, interval)
    })
    .await?;
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
    let values = run_query(&state, move |searcher| {
        searcher.facets(&query, from, to, &field, limit)
    })
    .await?;
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
    let (earlier, event, later) =
        run_query(&state, move |searcher| searcher.context(&id, before, after)).await?;
    Ok(Json(json!({ "before": earlier, "event": event, "after": later })).into_response())
}

async fn tail(
    State(state): State<Arc<ApiState>>,
    Query(params): Query<Params>,
) -> Result<Response, ApiError> {
    let query = params.query();
    state.searcher.validate(&query).map_err(ApiError::from)?;
    let start = state.stats.generation.load(Ordering::Relaxed);
    let stream = futures_util::stream::unfold(
        (state, query, start, Vec::<SseEvent>::new()),
        |(state, query, mut seen, mut queued)| async move {
            loop {
                if let Some(next) = queued.pop() {
                    return Some((Ok::<_, Infallible>(next), (state, query, seen, queued)));
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
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
        observed => ((now_nanos() - observed as i64).max(0)) as f64 / 1e9,
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
