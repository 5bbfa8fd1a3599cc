//! Watches the cloud's metadata service for a spot-termination or
//! preemption notice.
//!
//! Each provider's real protocol:
//!
//! - AWS (IMDSv2): `PUT /latest/api/token` with a TTL header gives a token
//!   for every later request. `GET /latest/meta-data/spot/instance-action` is
//!   404 until a notice. The rebalance recommendation
//!   (`/latest/meta-data/events/recommendations/rebalance`) counts as a notice
//!   too.
//! - GCP: `GET /computeMetadata/v1/instance/preempted` with
//!   `Metadata-Flavor: Google` answers `TRUE` once preempted.
//! - Azure: `GET /metadata/scheduledevents` with `Metadata: true` lists
//!   events. A `Preempt` event is acknowledged with a POST of its id, which
//!   [`SpotWatcher::acknowledge`] sends once the drain is done.
//!
//! `auto` tries AWS, GCP and Azure in turn and keeps the first that answers.
//! Metadata services are plain HTTP on a link-local address, so a minimal
//! HTTP/1.1 client suffices.

use std::time::Duration;

use loghaul_config::SpotProvider;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);
const AWS_TOKEN_TTL_SECONDS: u32 = 21_600;
const AZURE_API: &str = "api-version=2020-07-01";

/// A notice that the machine will go away.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Notice {
    /// AWS `spot/instance-action`: the action and when.
    AwsInstanceAction {
        /// `terminate`, `stop` or `hibernate`.
        action: String,
        /// When, as AWS wrote it.
        time: String,
    },
    /// AWS rebalance recommendation: a termination is likely soon.
    AwsRebalance {
        /// When AWS noticed.
        notice_time: String,
    },
    /// GCP preemption.
    GcpPreempted,
    /// Azure Scheduled Events `Preempt`.
    AzurePreempt {
        /// The event id, to acknowledge.
        event_id: String,
        /// When it takes effect, as Azure wrote it.
        not_before: String,
    },
}

impl Notice {
    /// When the machine goes away, as the notice itself says: AWS's
    /// `instance-action.time` (RFC 3339) and Azure's `NotBefore` (RFC 1123).
    /// GCP's preemption and AWS's rebalance carry none (GCP documents 30 s:
    /// keep `drain_timeout` below that there). `None` too when the text does
    /// not parse; the drain then keeps `drain_timeout`.
    pub fn deadline(&self) -> Option<std::time::SystemTime> {
        let timestamp = match self {
            Notice::AwsInstanceAction { time, .. } => time.parse::<jiff::Timestamp>().ok()?,
            Notice::AzurePreempt { not_before, .. } => {
                jiff::fmt::rfc2822::parse(not_before).ok()?.timestamp()
            }
            Notice::AwsRebalance { .. } | Notice::GcpPreempted => return None,
        };
        Some(std::time::SystemTime::from(timestamp))
    }
}

/// How long the whole drain may take: `drain_timeout`, or less when a
/// notice's own deadline comes first. The drain ends [`DEADLINE_MARGIN`]
/// before that deadline, but is never given less than [`MIN_DRAIN`] (a
/// deadline already past, from a skewed clock or a stale notice, still gets
/// a short best effort rather than none).
pub fn drain_budget(
    drain_timeout: Duration,
    deadline: Option<std::time::SystemTime>,
    now: std::time::SystemTime,
) -> Duration {
    let Some(deadline) = deadline else {
        return drain_timeout;
    };
    let left = deadline
        .duration_since(now)
        .unwrap_or_default()
        .saturating_sub(DEADLINE_MARGIN);
    drain_timeout.min(left.max(MIN_DRAIN))
}

/// Time kept in hand before a notice's deadline.
pub const DEADLINE_MARGIN: Duration = Duration::from_secs(2);
/// The shortest drain, whatever the deadline says.
pub const MIN_DRAIN: Duration = Duration::from_secs(3);

/// Why the metadata service could not be asked.
#[derive(Debug, thiserror::Error)]
pub enum SpotError {
    /// The endpoint is not an `http://host[:port]` URL.
    #[error("spot metadata endpoint {0:?} is not an http://host[:port] URL")]
    BadEndpoint(String),
    /// The request failed or timed out.
    #[error("metadata request {path} failed: {reason}")]
    Request {
        /// The path.
        path: String,
        /// What happened.
        reason: String,
    },
}

struct Response {
    status: u16,
    body: String,
}

/// Polls one provider's metadata service.
pub struct SpotWatcher {
    provider: SpotProvider,
    address: String,
    poll_interval: Duration,
    aws_token: Option<String>,
}

impl SpotWatcher {
    /// A watcher of `provider` at `endpoint` (`http://169.254.169.254`).
    pub fn new(
        provider: SpotProvider,
        endpoint: &str,
        poll_interval: Duration,
    ) -> Result<Self, SpotError> {
        let address = endpoint
            .strip_prefix("http://")
            .map(|rest| rest.trim_end_matches('/'))
            .filter(|rest| !rest.is_empty() && !rest.contains('/'))
            .ok_or_else(|| SpotError::BadEndpoint(endpoint.to_owned()))?;
        let address = if address.contains(':') {
            address.to_owned()
        } else {
            format!("{address}:80")
        };
        Ok(SpotWatcher {
            provider,
            address,
            poll_interval,
            aws_token: None,
        })
    }

    /// The provider in use (after `auto` found one).
    pub fn provider(&self) -> SpotProvider {
        self.provider
    }

    async fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> Result<Response, SpotError> {
        let failed = |reason: String| SpotError::Request {
            path: path.to_owned(),
            reason,
        };
        let exchange = async {
            let mut stream = tokio::net::TcpStream::connect(&self.address).await?;
            let mut request = format!(
                "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n",
                self.address
            );
            for (name, value) in headers {
                request.push_str(&format!("{name}: {value}\r\n"));
            }
            request.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
            stream.write_all(request.as_bytes()).await?;
            let mut raw = Vec::new();
            stream.read_to_end(&mut raw).await?;
            Ok::<_, std::io::Error>(raw)
        };
        let raw = tokio::time::timeout(REQUEST_TIMEOUT, exchange)
            .await
            .map_err(|_| failed("timed out".into()))?
            .map_err(|error| failed(error.to_string()))?;
        let text = String::from_utf8_lossy(&raw);
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        let status = head
            .split(' ')
            .nth(1)
            .and_then(|code| code.parse().ok())
            .ok_or_else(|| failed("no HTTP status".into()))?;
        Ok(Response {
            status,
            body: body.to_owned(),
        })
    }

    async fn aws_token(&mut self) -> Result<String, SpotError> {
        if let Some(token) = &self.aws_token {
            return Ok(token.clone());
        }
        let ttl = AWS_TOKEN_TTL_SECONDS.to_string();
        let response = self
            .request(
                "PUT",
                "/latest/api/token",
                &[("X-aws-ec2-metadata-token-ttl-seconds", &ttl)],
                "",
            )
            .await?;
        if response.status != 200 {
            return Err(SpotError::Request {
                path: "/latest/api/token".into(),
                reason: format!("status {}", response.status),
            });
        }
        let token = response.body.trim().to_owned();
        self.aws_token = Some(token.clone());
        Ok(token)
    }

    async fn poll_aws(&mut self) -> Result<Option<Notice>, SpotError> {
        for _attempt in 0..2 {
            let token = self.aws_token().await?;
            let headers = [("X-aws-ec2-metadata-token", token.as_str())];
            let action = self
                .request(
                    "GET",
                    "/latest/meta-data/spot/instance-action",
                    &headers,
                    "",
                )
                .await?;
            if action.status == 401 {
                // The token expired: get a new one and ask again.
                self.aws_token = None;
                continue;
            }
            if action.status == 200 {
                let json: serde_json::Value =
                    serde_json::from_str(&action.body).unwrap_or_default();
                return Ok(Some(Notice::AwsInstanceAction {
                    action: json["action"].as_str().unwrap_or("terminate").to_owned(),
                    time: json["time"].as_str().unwrap_or_default().to_owned(),
                }));
            }
            let rebalance = self
                .request(
                    "GET",
                    "/latest/meta-data/events/recommendations/rebalance",
                    &headers,
                    "",
                )
                .await?;
            if rebalance.status == 200 {
                let json: serde_json::Value =
                    serde_json::from_str(&rebalance.body).unwrap_or_default();
                return Ok(Some(Notice::AwsRebalance {
                    notice_time: json["noticeTime"].as_str().unwrap_or_default().to_owned(),
                }));
            }
            return Ok(None);
        }
        Ok(None)
    }

    async fn poll_gcp(&self) -> Result<Option<Notice>, SpotError> {
        let response = self
            .request(
                "GET",
                "/computeMetadata/v1/instance/preempted",
                &[("Metadata-Flavor", "Google")],
                "",
            )
            .await?;
        Ok(
            (response.status == 200 && response.body.trim().eq_ignore_ascii_case("TRUE"))
                .then_some(Notice::GcpPreempted),
        )
    }

    async fn poll_azure(&self) -> Result<Option<Notice>, SpotError> {
        let path = format!("/metadata/scheduledevents?{AZURE_API}");
        let response = self
            .request("GET", &path, &[("Metadata", "true")], "")
            .await?;
        if response.status != 200 {
            return Ok(None);
        }
        let json: serde_json::Value = serde_json::from_str(&response.body).unwrap_or_default();
        let preempt = json["Events"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|event| event["EventType"] == "Preempt");
        Ok(preempt.map(|event| Notice::AzurePreempt {
            event_id: event["EventId"].as_str().unwrap_or_default().to_owned(),
            not_before: event["NotBefore"].as_str().unwrap_or_default().to_owned(),
        }))
    }

    /// Asks once. `auto` settles on the first provider that answers.
    pub async fn poll(&mut self) -> Result<Option<Notice>, SpotError> {
        match self.provider {
            SpotProvider::None => Ok(None),
            SpotProvider::Aws => self.poll_aws().await,
            SpotProvider::Gcp => self.poll_gcp().await,
            SpotProvider::Azure => self.poll_azure().await,
            SpotProvider::Auto => {
                if self.aws_token().await.is_ok() {
                    self.provider = SpotProvider::Aws;
                } else if self
                    .request(
                        "GET",
                        "/computeMetadata/v1/",
                        &[("Metadata-Flavor", "Google")],
                        "",
                    )
                    .await
                    .is_ok_and(|response| response.status == 200)
                {
                    self.provider = SpotProvider::Gcp;
                } else if self
                    .request(
                        "GET",
                        &format!("/metadata/scheduledevents?{AZURE_API}"),
                        &[("Metadata", "true")],
                        "",
                    )
                    .await
                    .is_ok_and(|response| response.status == 200)
                {
                    self.provider = SpotProvider::Azure;
                } else {
                    return Ok(None);
                }
                info!(provider = ?self.provider, "spot watcher found its metadata service");
                Box::pin(self.poll()).await
            }
        }
    }

    /// Polls every `poll_interval` until a notice arrives or `stop` is
    /// cancelled. Errors are logged and polling goes on.
    pub async fn watch(&mut self, stop: CancellationToken) -> Option<Notice> {
        if self.provider == SpotProvider::None {
            stop.cancelled().await;
            return None;
        }
        let mut warned = false;
        loop {
            match self.poll().await {
                Ok(Some(notice)) => {
                    warn!(?notice, "termination notice received");
                    return Some(notice);
                }
                Ok(None) => {}
                Err(error) if !warned => {
                    warn!(%error, "cannot reach the metadata service; still trying");
                    warned = true;
                }
                Err(_) => {}
            }
            tokio::select! {
                _ = tokio::time::sleep(self.poll_interval) => {}
                _ = stop.cancelled() => return None,
            }
        }
    }

    /// Tells the provider the drain is done, where it expects that (Azure).
    pub async fn acknowledge(&self, notice: &Notice) -> Result<(), SpotError> {
        let Notice::AzurePreempt { event_id, .. } = notice else {
            return Ok(());
        };
        let body = serde_json::json!({ "StartRequests": [{ "EventId": event_id }] }).to_string();
        let path = format!("/metadata/scheduledevents?{AZURE_API}");
        let response = self
            .request(
                "POST",
                &path,
                &[("Metadata", "true"), ("Content-Type", "application/json")],
                &body,
            )
            .await?;
        if response.status / 100 != 2 {
            return Err(SpotError::Request {
                path,
                reason: format!("status {}", response.status),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    use super::*;

    fn at(seconds: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(seconds)
    }

    #[test]
    fn notices_carry_their_deadlines() {
        let aws = Notice::AwsInstanceAction {
            action: "terminate".into(),
            time: "2026-11-30T10:02:00Z".into(),
        };
        assert_eq!(aws.deadline(), Some(at(1_796_032_920)));
        let azure = Notice::AzurePreempt {
            event_id: "e".into(),
            not_before: "Mon, 30 Nov 2026 10:02:00 GMT".into(),
        };
        assert_eq!(azure.deadline(), Some(at(1_796_032_920)));
        let garbled = Notice::AwsInstanceAction {
            action: "terminate".into(),
            time: "soon".into(),
        };
        assert_eq!(garbled.deadline(), None);
        assert_eq!(Notice::GcpPreempted.deadline(), None);
    }

    #[test]
    fn the_earlier_of_the_deadline_and_drain_timeout_bounds_the_drain() {
        let timeout = Duration::from_secs(30);
        let now = at(1_000);
        assert_eq!(drain_budget(timeout, None, now), timeout);
        // Two minutes away: drain_timeout comes first.
        assert_eq!(drain_budget(timeout, Some(at(1_120)), now), timeout);
        // Ten seconds away: ten less the margin.
        assert_eq!(
            drain_budget(timeout, Some(at(1_010)), now),
            Duration::from_secs(10) - DEADLINE_MARGIN
        );
        // Past, or nearly: a short best effort, never more than drain_timeout.
        assert_eq!(drain_budget(timeout, Some(at(900)), now), MIN_DRAIN);
        assert_eq!(
            drain_budget(Duration::from_secs(1), Some(at(900)), now),
            Duration::from_secs(1)
        );
    }
}
