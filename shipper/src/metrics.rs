//! The shipper's own numbers, in Prometheus text format, and a health check.

use std::fmt::Write;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use tokio_util::sync::CancellationToken;

use crate::ShipperError;

/// Counters and gauges, updated by the tailer thread and the publisher.
#[derive(Debug, Default)]
pub struct ShipperMetrics {
    pub(crate) read_bytes: AtomicU64,
    pub(crate) read_records: AtomicU64,
    pub(crate) confirmed_batches: AtomicU64,
    pub(crate) confirmed_records: AtomicU64,
    pub(crate) in_flight_bytes: AtomicU64,
    pub(crate) files_watched: AtomicU64,
    pub(crate) files_open: AtomicU64,
    /// Inputs skipped, by reason (`SkipReason::ALL` order).
    pub(crate) skipped: [AtomicU64; crate::discovery::SkipReason::ALL.len()],
    /// Sources whose scans stopped at their budget.
    pub(crate) scans_cut: AtomicU64,
    /// Sources whose scan is running past a round's wait.
    pub(crate) scans_slow: AtomicU64,
    pub(crate) lag: Mutex<Vec<(String, u64)>>,
}

fn escape_label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

impl ShipperMetrics {
    /// Records the queue has confirmed so far.
    pub fn confirmed_records(&self) -> u64 {
        self.confirmed_records.load(Ordering::Relaxed)
    }

    /// Bytes read from files so far.
    pub fn read_bytes(&self) -> u64 {
        self.read_bytes.load(Ordering::Relaxed)
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let mut metric = |name: &str, kind: &str, help: &str, value: u64| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
            );
        };
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        metric(
            "loghaul_shipper_read_bytes_total",
            "counter",
            "Bytes read from log files.",
            load(&self.read_bytes),
        );
        metric(
            "loghaul_shipper_read_records_total",
            "counter",
            "Records read from log files.",
            load(&self.read_records),
        );
        metric(
            "loghaul_shipper_confirmed_batches_total",
            "counter",
            "Batches the queue confirmed.",
            load(&self.confirmed_batches),
        );
        metric(
            "loghaul_shipper_confirmed_records_total",
            "counter",
            "Records the queue confirmed.",
            load(&self.confirmed_records),
        );
        metric(
            "loghaul_shipper_in_flight_bytes",
            "gauge",
            "Bytes read and sent but not yet confirmed.",
            load(&self.in_flight_bytes),
        );
        metric(
            "loghaul_shipper_files_watched",
            "gauge",
            "Files being tailed.",
            load(&self.files_watched),
        );
        metric(
            "loghaul_shipper_files_open",
            "gauge",
            "Files held open.",
            load(&self.files_open),
        );
        metric(
            "loghaul_shipper_sources_scan_cut",
            "gauge",
            "Sources whose glob scan reached its budget of entries or depth (files beyond it are not found).",
            load(&self.scans_cut),
        );
        metric(
            "loghaul_shipper_sources_scan_slow",
            "gauge",
            "Sources whose glob scan is running longer than a scan round waits (1 s); the others go on meanwhile.",
            load(&self.scans_slow),
        );
        let _ = writeln!(
            out,
            "# HELP loghaul_shipper_skipped_files_total Inputs the globs match but that are not read, once each, by reason.\n# TYPE loghaul_shipper_skipped_files_total counter"
        );
        for (reason, count) in crate::discovery::SkipReason::ALL.iter().zip(&self.skipped) {
            let _ = writeln!(
                out,
                "loghaul_shipper_skipped_files_total{{reason=\"{}\"}} {}",
                reason.label(),
                load(count)
            );
        }
        let _ = writeln!(
            out,
            "# HELP loghaul_shipper_lag_bytes Bytes of a file not yet confirmed by the queue.\n# TYPE loghaul_shipper_lag_bytes gauge"
        );
        let lag = self.lag.lock().map(|lag| lag.clone()).unwrap_or_default();
        for (path, bytes) in lag {
            let _ = writeln!(
                out,
                "loghaul_shipper_lag_bytes{{path=\"{}\"}} {bytes}",
                escape_label(&path)
            );
        }
        loghaul_durable::render_metrics(&mut out);
        out
    }
}

/// `GET /readyz`: 200 until `draining` is cancelled, then 503. The parser
/// serves the same.
pub fn readiness(draining: CancellationToken) -> axum::routing::MethodRouter {
    get(move || {
        let draining = draining.is_cancelled();
        async move {
            if draining {
                (StatusCode::SERVICE_UNAVAILABLE, "draining\n")
            } else {
                (StatusCode::OK, "ready\n")
            }
        }
    })
}

/// Serves `/metrics`, `/healthz` and `/readyz` on `listen` until `until`.
/// `/readyz` answers 503 once `draining` is cancelled, while `/healthz`
/// stays 200 to the end: an orchestrator stops routing to a draining
/// shipper without killing it before its queue has confirmed what it read.
pub(crate) async fn serve(
    listen: SocketAddr,
    metrics: Arc<ShipperMetrics>,
    draining: CancellationToken,
    until: CancellationToken,
) -> Result<(), ShipperError> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|error| {
            ShipperError::io(
                "listen for metrics on",
                std::path::Path::new(&listen.to_string()),
                error,
            )
        })?;
    let app = Router::new()
        .route(
            "/metrics",
            get(move || {
                let metrics = metrics.clone();
                async move {
                    (
                        [("content-type", "text/plain; version=0.0.4")],
                        metrics.render(),
                    )
                }
            }),
        )
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", readiness(draining));
    tokio::spawn(async move {
        let server = axum::serve(listener, app)
            .with_graceful_shutdown(async move { until.cancelled().await });
        if let Err(error) = server.await {
            tracing::warn!(%error, "metrics server stopped");
        }
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_prometheus_text_with_escaped_labels() {
        let metrics = ShipperMetrics::default();
        metrics.read_records.store(42, Ordering::Relaxed);
        if let Ok(mut lag) = metrics.lag.lock() {
            lag.push(("/var/log/a \"b\".log".into(), 7));
        }
        let text = metrics.render();
        assert!(text.contains("# TYPE loghaul_shipper_read_records_total counter\nloghaul_shipper_read_records_total 42\n"), "{text}");
        assert!(
            text.contains("loghaul_shipper_lag_bytes{path=\"/var/log/a \\\"b\\\".log\"} 7\n"),
            "{text}"
        );
    }
}
