//! Work stops when its answer is abandoned, and stays within its limits.
//!
//! Over a real index of 100,000 events with half a million distinct words,
//! wildcard queries that walk the whole term dictionary are slow. The test:
//!
//! - asks waves of slow queries of an API that runs at most 2 at a time with
//!   a 1 s limit: every one is answered 503 with a JSON error, at most 2 query
//!   threads ever run (read from `/metrics`), they all end soon after, a
//!   cheap count waiting behind a wave is answered as soon as a slot frees,
//!   and the process's memory stays bounded;
//! - closes the connection of a slow query on an API with a 60 s limit: the
//!   work stops (`queries_running` back to 0, counted as cancelled, not timed
//!   out) long before the limit;
//! - asks for more than a 1 MiB budget allows: 422, with an error that says
//!   so.
//!
//! Its own test binary, so the memory figures are this test's alone.

use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use loghaul_indexer::api::{self, ApiState, QueryLimits};
use loghaul_indexer::search::Searcher;
use loghaul_indexer::store::ShardStore;
use loghaul_indexer::worker::IndexStats;
use loghaul_model::{Event, EventBatch, EventId, FileIdentity, Resource, Severity};
use loghaul_testkit::http_get;
use tokio_util::sync::CancellationToken;

const EVENTS: u64 = 100_000;
/// 2026-11-22T00:00:00Z.
const BASE: i64 = 1_795_305_600_000_000_000;

/// A word from a number: distinct numbers give distinct words.
fn word(mut n: u64) -> String {
    const LETTERS: &[u8] = b"bcdfghjklmnpqrstvwxz";
    let mut out = String::from("w");
    while n > 0 {
        out.push(char::from(LETTERS[(n % 20) as usize]));
        n /= 20;
    }
    out
}

fn fixture(dir: &std::path::Path) {
    let mut store = ShardStore::open(dir, 0, 64 << 20).expect("store");
    let file = FileIdentity {
        device: 1,
        inode: 1,
        fingerprint: 1,
    };
    let events: Vec<Event> = (0..EVENTS)
        .map(|index| {
            let words: Vec<String> = (0..5)
                .map(|k| word(index.wrapping_mul(2_654_435_761).wrapping_add(k) % 10_000_000))
                .collect();
            Event {
                id: EventId::new("h", &file, index * 100),
                timestamp_unix_nano: BASE + index as i64 * 1_000_000,
                observed_timestamp_unix_nano: BASE,
                severity: Severity::default(),
                body: format!("request {} {}", words.join(" "), "x".repeat(40)),
                attributes: serde_json::Map::new(),
                resource: Resource {
                    host: "h".into(),
                    source: "/var/log/app.log".into(),
                    service: None,
                    source_name: None,
                },
                file,
                offset: index * 100,
                parse_error: None,
            }
        })
        .collect();
    for chunk in events.chunks(10_000) {
        store
            .add_batch(&EventBatch {
                events: chunk.to_vec(),
            })
            .expect("add");
        store.commit().expect("commit");
    }
    store.close().expect("close");
}

/// A query of `clauses` leading wildcards, each walking the whole term
/// dictionary of every segment.
fn slow_query(clauses: usize) -> String {
    let vowels = ["b", "c", "d", "f", "g", "h", "j", "k", "l", "m"];
    (0..clauses)
        .map(|index| {
            format!(
                "*{}*{}*q*",
                vowels[index % vowels.len()],
                vowels[(index / 10) % 10]
            )
        })
        .collect::<Vec<_>>()
        .join(" OR ")
}

fn encode(text: &str) -> String {
    loghaul_indexer::client::encode(text)
}

fn metric(addr: SocketAddr, name: &str) -> u64 {
    let (_, body) = http_get(addr, "/metrics");
    body.lines()
        .find_map(|line| line.strip_prefix(&format!("{name} ")))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {name} in /metrics"))
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .expect("status")
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

async fn serve(dir: &std::path::Path, limits: QueryLimits, stop: &CancellationToken) -> SocketAddr {
    let state = Arc::new(
        ApiState::new(
            Arc::new(Searcher::new(dir, 0)),
            Arc::new(IndexStats::default()),
            None,
            Arc::new(AtomicBool::new(true)),
        )
        .with_limits(limits),
    );
    api::start("127.0.0.1:0".parse().expect("addr"), state, stop.clone())
        .await
        .expect("listening")
        .0
}

/// Waits up to `limit` for `done`; false when it never came.
fn wait_for(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let until = Instant::now() + limit;
    while Instant::now() < until {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abandoned_work_stops_and_limits_hold() {
    let dir = tempfile::tempdir().expect("tempdir");
    let started = Instant::now();
    fixture(dir.path());
    eprintln!(
        "indexed {EVENTS} events in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let stop = CancellationToken::new();
    let patient = serve(
        dir.path(),
        QueryLimits {
            concurrent: 4,
            timeout: Duration::from_secs(60),
            memory: 256 << 20,
        },
        &stop,
    )
    .await;
    let strict = serve(
        dir.path(),
        QueryLimits {
            concurrent: 2,
            timeout: Duration::from_secs(1),
            memory: 256 << 20,
        },
        &stop,
    )
    .await;
    let tiny = serve(
        dir.path(),
        QueryLimits {
            concurrent: 2,
            timeout: Duration::from_secs(60),
            memory: 1 << 20,
        },
        &stop,
    )
    .await;

    tokio::task::spawn_blocking(move || {
        // A slow query: enough wildcard clauses to take 4 s or more here,
        // measured, not assumed.
        let mut clauses = 2;
        let slow = loop {
            let query = slow_query(clauses);
            let began = Instant::now();
            let (status, body) = http_get(patient, &format!("/api/count?q={}", encode(&query)));
            assert_eq!(status, 200, "{body}");
            let took = began.elapsed();
            eprintln!("{clauses} wildcard clauses: {:.2} s alone", took.as_secs_f64());
            if took >= Duration::from_secs(4) || clauses >= 200 {
                break query;
            }
            let scale = 5.0 / took.as_secs_f64().max(0.01);
            clauses = ((clauses as f64 * scale) as usize).clamp(clauses + 1, 200);
        };
        let path = format!("/api/count?q={}", encode(&slow));

        // Disconnect: the work stops long before its 60 s limit.
        let mut stream = TcpStream::connect(patient).expect("connect");
        write!(stream, "GET {path} HTTP/1.1\r\nHost: {patient}\r\n\r\n").expect("send");
        assert!(
            wait_for(Duration::from_secs(5), || metric(
                patient,
                "loghaul_indexer_queries_running"
            ) == 1),
            "the query never started"
        );
        let left = Instant::now();
        drop(stream);
        assert!(
            wait_for(Duration::from_secs(30), || metric(
                patient,
                "loghaul_indexer_queries_running"
            ) == 0),
            "the abandoned query still runs"
        );
        eprintln!(
            "abandoned query stopped {} ms after its client left",
            left.elapsed().as_millis()
        );
        assert_eq!(metric(patient, "loghaul_indexer_queries_cancelled_total"), 1);
        assert_eq!(metric(patient, "loghaul_indexer_queries_timed_out_total"), 0);

        // Waves against 2 slots and a 1 s limit.
        let rss_before = rss_kib();
        let peak_running = Arc::new(AtomicU64::new(0));
        let peak_rss = Arc::new(AtomicU64::new(rss_before));
        let sampling = Arc::new(AtomicBool::new(true));
        let sampler = {
            let (peak_running, peak_rss, sampling) =
                (peak_running.clone(), peak_rss.clone(), sampling.clone());
            std::thread::spawn(move || {
                while sampling.load(Ordering::Relaxed) {
                    peak_running.fetch_max(
                        metric(strict, "loghaul_indexer_queries_running"),
                        Ordering::Relaxed,
                    );
                    peak_rss.fetch_max(rss_kib(), Ordering::Relaxed);
                    std::thread::sleep(Duration::from_millis(10));
                }
            })
        };
        for (wave, size) in [(1, 2), (2, 4), (3, 8)] {
            let began = Instant::now();
            let slow_ones: Vec<_> = (0..size)
                .map(|_| {
                    let path = path.clone();
                    std::thread::spawn(move || http_get(strict, &path))
                })
                .collect();
            // A cheap count behind the first wave gets the first free slot.
            let cheap = (wave == 1).then(|| {
                std::thread::sleep(Duration::from_millis(200));
                std::thread::spawn(move || http_get(strict, "/api/count?q=request"))
            });
            for handle in slow_ones {
                let (status, body) = handle.join().expect("slow query");
                assert_eq!(status, 503, "{body}");
                let error: serde_json::Value = serde_json::from_str(&body).expect("JSON");
                assert!(error["error"].is_string(), "{body}");
            }
            if let Some(cheap) = cheap {
                let (status, body) = cheap.join().expect("cheap");
                assert_eq!(status, 200, "the cheap count: {body}");
                assert_eq!(body, format!("{{\"count\":{EVENTS}}}"));
            }
            eprintln!(
                "wave {wave}: {size} slow queries answered 503 within {:.2} s",
                began.elapsed().as_secs_f64()
            );
        }
        assert!(
            wait_for(Duration::from_secs(30), || metric(
                strict,
                "loghaul_indexer_queries_running"
            ) == 0),
            "stopped queries kept running"
        );
        sampling.store(false, Ordering::Relaxed);
        sampler.join().expect("sampler");
        let peak = peak_running.load(Ordering::Relaxed);
        assert!(peak <= 2, "{peak} queries ran at once with 2 slots");
        let grew = peak_rss.load(Ordering::Relaxed).saturating_sub(rss_before);
        eprintln!(
            "RSS {} MiB before the waves, peak +{} MiB; at most {peak} queries ran at once; {} timed out, {} refused busy",
            rss_before / 1024,
            grew / 1024,
            metric(strict, "loghaul_indexer_queries_timed_out_total"),
            metric(strict, "loghaul_indexer_queries_busy_total"),
        );
        assert!(grew < 512 * 1024, "RSS grew by {} MiB", grew / 1024);
        let (status, body) = http_get(strict, "/api/count?q=request");
        assert_eq!((status, body), (200, format!("{{\"count\":{EVENTS}}}")));

        // The memory budget.
        let (status, body) = http_get(tiny, "/api/search?q=request&limit=1000");
        assert_eq!(status, 422, "{body}");
        assert!(body.contains("memory budget"), "{body}");
        assert_eq!(metric(tiny, "loghaul_indexer_queries_over_budget_total"), 1);
        let (status, body) = http_get(tiny, "/api/search?q=request&limit=10");
        assert_eq!(status, 200, "a page within the budget: {body}");
    })
    .await
    .expect("checks");
    stop.cancel();
}
