//! The config file's schema. Each section rejects unknown keys and fills in
//! defaults, so `loghaul run` needs no file at all. Typed fields (sizes,
//! durations, patterns, enums) are checked while parsing; checks that span
//! several fields live in `validate.rs`.

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::{ByteSize, HumanDuration, Pattern, Secret, SecretUrl, SourceFormat, TimeZoneSpec};

/// The whole configuration of every role.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Where checkpoints, the spool, indexes and the local archive live.
    pub data_dir: PathBuf,
    /// This host's name, as events and archive keys record it.
    pub host: String,
    /// The queue between roles.
    pub queue: QueueConfig,
    /// The per-host sidecar.
    pub shipper: ShipperConfig,
    /// The parser workers.
    pub parser: ParserConfig,
    /// The indexer and its HTTP API.
    pub indexer: IndexerConfig,
    /// Where rotated raw files go.
    pub archive: ArchiveConfig,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from("loghaul-data"),
            host: crate::hostname(),
            queue: QueueConfig::default(),
            shipper: ShipperConfig::default(),
            parser: ParserConfig::default(),
            indexer: IndexerConfig::default(),
            archive: ArchiveConfig::default(),
        }
    }
}

/// Which queue backend carries messages between roles.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum QueueKind {
    /// On local disk under `<data_dir>/queue`, fsynced before a publish is
    /// confirmed: every role inside one `loghaul run`, and a crash of it
    /// loses nothing. The default.
    Disk,
    /// In memory, for tests: every role inside one `loghaul run`, and a
    /// crash loses what the queue holds.
    Memory,
    /// RabbitMQ over AMQP 0-9-1.
    Amqp,
}

/// `[queue]`
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct QueueConfig {
    /// `disk` (the default), `memory` or `amqp`.
    pub kind: QueueKind,
    /// The broker URL, `amqp://` or `amqps://`; its password is redacted in output.
    pub url: SecretUrl,
    /// Prefix of every exchange and queue name.
    pub prefix: String,
    /// Number of indexer shards, and so of event queues.
    pub shards: u32,
    /// Unacknowledged deliveries a consumer may hold.
    pub prefetch: u16,
    /// Maximum messages per queue; publishes past it are refused, never dropped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_length: Option<u64>,
    /// Maximum bytes per queue; publishes past it are refused, never dropped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_length_bytes: Option<ByteSize>,
    /// The disk backend's byte bound on disk, split evenly between its
    /// queues (each bounded by its share alone).
    pub disk_max_bytes: ByteSize,
    /// The memory backend's byte budget, split evenly between its queues
    /// (each is bounded by its share alone, so a full raw queue never
    /// refuses the events that would drain it).
    pub memory_max_bytes: ByteSize,
    /// How long to wait for the broker to confirm a batch.
    pub confirm_timeout: HumanDuration,
    /// First wait before reconnecting to the broker.
    pub reconnect_min: HumanDuration,
    /// Longest wait between reconnection attempts.
    pub reconnect_max: HumanDuration,
}

impl Default for QueueConfig {
    fn default() -> Self {
        QueueConfig {
            kind: QueueKind::Disk,
            url: SecretUrl::new("amqp://guest:guest@127.0.0.1:5672/%2f"),
            prefix: "loghaul".into(),
            shards: 1,
            // Batches are up to 1MiB: prefetch bounds what a consumer holds.
            prefetch: 32,
            max_length: None,
            max_length_bytes: None,
            disk_max_bytes: ByteSize::gib(4),
            memory_max_bytes: ByteSize::mib(64),
            confirm_timeout: HumanDuration::secs(30),
            reconnect_min: HumanDuration::millis(200),
            reconnect_max: HumanDuration::secs(10),
        }
    }
}

/// `[shipper]`
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ShipperConfig {
    /// `[[shipper.sources]]`: the files to tail.
    pub sources: Vec<SourceConfig>,
    /// Rotation of the files the shipper manages.
    pub rotate: RotateConfig,
    /// The spot-termination and preemption watcher.
    pub spot: SpotConfig,
    /// How records are grouped before publishing.
    pub batch: BatchConfig,
    /// Bytes read but not yet confirmed by the queue, at most.
    pub buffer_bytes: ByteSize,
    /// How often to look for new files when no event said so.
    pub rescan_interval: HumanDuration,
    /// Files held open at once; idle ones are closed and reopened.
    pub max_open_files: usize,
    /// Prometheus metrics and health, when set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metrics_listen: Option<SocketAddr>,
    /// Rotate and archive everything on SIGTERM, as on a spot notice.
    pub archive_on_shutdown: bool,
    /// On shutdown, how long the whole drain may take: the queue's
    /// confirmations of what was read and, with `archive_on_shutdown` or a
    /// spot notice, rotating and archiving.
    pub drain_timeout: HumanDuration,
}

impl Default for ShipperConfig {
    fn default() -> Self {
        ShipperConfig {
            sources: Vec::new(),
            rotate: RotateConfig::default(),
            spot: SpotConfig::default(),
            batch: BatchConfig::default(),
            buffer_bytes: ByteSize::mib(32),
            rescan_interval: HumanDuration::secs(1),
            max_open_files: 512,
            metrics_listen: None,
            archive_on_shutdown: false,
            drain_timeout: HumanDuration::secs(30),
        }
    }
}

/// `[[shipper.sources]]`
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SourceConfig {
    /// A name for logs and metrics.
    pub name: String,
    /// Glob patterns of files to tail.
    pub paths: Vec<String>,
    /// Glob patterns of files to skip.
    pub exclude: Vec<String>,
    /// `auto`, a format name, or `regex:<pattern name>`.
    pub format: SourceFormat,
    /// Time zone of timestamps that carry none: `UTC`, `local`, `+HH:MM`, or an
    /// IANA name such as `Europe/Paris`.
    pub timezone: TimeZoneSpec,
    /// The service name events from this source get.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// How lines join into one record.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub multiline: Option<MultilineConfig>,
    /// Records longer than this are truncated and flagged.
    pub max_line_bytes: ByteSize,
    /// Read gzip files (found by their bytes, whatever their name) once,
    /// decompressed; other compressed files are always skipped.
    pub include_compressed: bool,
}

impl Default for SourceConfig {
    fn default() -> Self {
        SourceConfig {
            name: String::new(),
            paths: Vec::new(),
            // Compressed files are recognised by their bytes, not by name.
            exclude: Vec::new(),
            format: SourceFormat::Auto,
            timezone: TimeZoneSpec::Utc,
            service: None,
            multiline: None,
            max_line_bytes: ByteSize::mib(1),
            include_compressed: false,
        }
    }
}

/// `multiline = { start = '…', timeout = "2s" }`: exactly one of `start` or
/// `continuation`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MultilineConfig {
    /// A line matching this starts a new record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<Pattern>,
    /// A line matching this continues the previous record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub continuation: Option<Pattern>,
    /// A pending record is emitted after this long without a new line.
    #[serde(default = "default_multiline_timeout")]
    pub timeout: HumanDuration,
}

fn default_multiline_timeout() -> HumanDuration {
    HumanDuration::secs(2)
}

/// How the shipper rotates a file it manages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RotateMode {
    /// Rename the file, then run `signal_command` so the writer reopens it.
    Rename,
    /// Copy the file, then truncate it in place.
    Copytruncate,
}

/// `[shipper.rotate]`
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RotateConfig {
    /// Rotate when a file reaches this size.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_bytes: Option<ByteSize>,
    /// Rotate when a file's first unrotated byte is this old.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_age: Option<HumanDuration>,
    /// `rename` or `copytruncate`.
    pub mode: RotateMode,
    /// Run after a rename, so the application reopens its file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signal_command: Option<String>,
    /// Keep this many of a source's newest rotated files once archived; older
    /// ones are deleted, only after their object is verified. Unset: never
    /// delete (files rotated by others are theirs to clean up).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keep_local: Option<u32>,
    /// Extra patterns that name files rotated by others, beside logrotate's.
    pub rotated_patterns: Vec<String>,
}

impl Default for RotateConfig {
    fn default() -> Self {
        RotateConfig {
            max_bytes: None,
            max_age: None,
            mode: RotateMode::Rename,
            signal_command: None,
            keep_local: None,
            rotated_patterns: Vec::new(),
        }
    }
}

/// Which cloud's metadata service announces spot termination or preemption.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SpotProvider {
    /// Probe each in turn.
    Auto,
    /// AWS IMDSv2.
    Aws,
    /// GCP's metadata server.
    Gcp,
    /// Azure Scheduled Events.
    Azure,
    /// No watcher.
    None,
}

/// `[shipper.spot]`
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SpotConfig {
    /// The provider.
    pub provider: SpotProvider,
    /// The metadata service's base URL.
    pub endpoint: String,
    /// How often to ask it.
    pub poll_interval: HumanDuration,
}

impl Default for SpotConfig {
    fn default() -> Self {
        SpotConfig {
            provider: SpotProvider::None,
            endpoint: "http://169.254.169.254".into(),
            poll_interval: HumanDuration::secs(2),
        }
    }
}

/// `[shipper.batch]`
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BatchConfig {
    /// A batch is published once its records reach this many bytes.
    pub max_bytes: ByteSize,
    /// … or this many records.
    pub max_records: usize,
    /// … or it has waited this long.
    pub max_wait: HumanDuration,
}

impl Default for BatchConfig {
    fn default() -> Self {
        BatchConfig {
            max_bytes: ByteSize::mib(1),
            max_records: 4096,
            max_wait: HumanDuration::millis(200),
        }
    }
}

/// `[parser]`
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ParserConfig {
    /// `[[parser.patterns]]`: user formats, used as `format = "regex:<name>"`.
    pub patterns: Vec<PatternConfig>,
    /// Prometheus metrics, `/healthz` and `/readyz` of `loghaul parse`,
    /// when set.
    pub metrics_listen: Option<SocketAddr>,
}

/// `[[parser.patterns]]`
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatternConfig {
    /// The name sources refer to.
    pub name: String,
    /// A regex with named captures (`timestamp`, `level`, `message`, others).
    pub regex: Pattern,
    /// Time zone of timestamps that carry none.
    #[serde(default)]
    pub timezone: TimeZoneSpec,
    /// The layout of the `timestamp` capture in strftime notation
    /// (`%d.%m.%Y %H:%M:%S`), when the built-in forms do not read it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp_format: Option<String>,
}

/// `[indexer]`
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IndexerConfig {
    /// Address of the HTTP API and web UI.
    pub listen: SocketAddr,
    /// Bearer token for everything but `/healthz`; required off loopback.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<Secret>,
    /// The shard this indexer writes, below `queue.shards`.
    pub shard: u32,
    /// Commit at least this often.
    pub commit_interval: HumanDuration,
    /// … or after this many documents.
    pub commit_docs: u64,
    /// Days older than this are deleted.
    pub retention: HumanDuration,
    /// Memory for tantivy's writer.
    pub writer_heap: ByteSize,
    /// Other shards' API URLs, for a search node that fans out.
    pub shard_urls: Vec<String>,
    /// Host names the API answers to, besides IP addresses and `localhost`
    /// (`logs.example.com`, or `*.example.com` for every name under it).
    /// Requests for any other name get 421: a web page cannot reach the
    /// API by pointing its own name at 127.0.0.1 (DNS rebinding).
    pub allowed_hosts: Vec<String>,
    /// Queries the API runs at once; more wait for a slot within their
    /// time limit.
    pub max_concurrent_queries: usize,
    /// Longest a query may run; then it is stopped and answered 503. A
    /// query may also wait this long for a slot.
    pub query_timeout: HumanDuration,
    /// Memory one query may hold (loaded events, facet values, wildcard
    /// bitsets); past it the query stops with a 422 that says so.
    pub query_memory: ByteSize,
}

impl Default for IndexerConfig {
    fn default() -> Self {
        IndexerConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 7700)),
            token: None,
            shard: 0,
            commit_interval: HumanDuration::secs(1),
            commit_docs: 100_000,
            retention: HumanDuration::secs(30 * 86_400),
            writer_heap: ByteSize::mib(128),
            shard_urls: Vec::new(),
            allowed_hosts: Vec::new(),
            max_concurrent_queries: 4,
            query_timeout: HumanDuration::secs(10),
            query_memory: ByteSize::mib(256),
        }
    }
}

/// S3 request checksum behaviour, for stores that reject the SDK's defaults.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChecksumMode {
    /// Send checksums wherever the API allows them.
    WhenSupported,
    /// Only where the API requires one (for R2 and some MinIO versions).
    WhenRequired,
}

/// S3 Object Lock retention mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LockMode {
    /// Users with `s3:BypassGovernanceRetention` may still delete.
    Governance,
    /// Nobody, root included, deletes before the date.
    Compliance,
}

impl LockMode {
    /// The S3 API's spelling.
    pub fn as_s3(self) -> &'static str {
        match self {
            LockMode::Governance => "GOVERNANCE",
            LockMode::Compliance => "COMPLIANCE",
        }
    }
}

/// `archive.object_lock = { mode = "governance", days = 365 }`: write-once
/// retention set on every object at upload.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObjectLockConfig {
    /// `governance` or `compliance`.
    pub mode: LockMode,
    /// Days from the upload until the object may be deleted (1 or more).
    pub days: u32,
}

/// `[archive]`
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ArchiveConfig {
    /// `s3://bucket/prefix` or `file:///path`; `<data_dir>/archive` when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// An S3-compatible endpoint (MinIO, Ceph, R2…); AWS when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// The S3 region.
    pub region: String,
    /// Address buckets as `endpoint/bucket` rather than `bucket.endpoint`.
    pub force_path_style: bool,
    /// Static credentials; the standard AWS chain is used when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_key_id: Option<Secret>,
    /// Static credentials; the standard AWS chain is used when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_access_key: Option<Secret>,
    /// Files at least this large go up in multipart.
    pub multipart_threshold: ByteSize,
    /// Size of each multipart part (at least 5MiB).
    pub part_size: ByteSize,
    /// `when_supported` or `when_required`.
    pub request_checksum_calculation: ChecksumMode,
    /// gzip level, 0 to 9.
    pub gzip_level: u32,
    /// Threads compressing one rotated file, each 1 MiB piece its own gzip
    /// member (pigz's approach); 0 is one per core. Each holds about 2.5 MiB
    /// of pieces and members in flight on text logs, up to 4 MiB on
    /// incompressible data.
    pub gzip_threads: usize,
    /// S3 Object Lock on every upload, where the bucket has it enabled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object_lock: Option<ObjectLockConfig>,
}

impl Default for ArchiveConfig {
    fn default() -> Self {
        ArchiveConfig {
            url: None,
            endpoint: None,
            region: "us-east-1".into(),
            force_path_style: false,
            access_key_id: None,
            secret_access_key: None,
            multipart_threshold: ByteSize::mib(64),
            part_size: ByteSize::mib(16),
            request_checksum_calculation: ChecksumMode::WhenSupported,
            gzip_level: 6,
            gzip_threads: 0,
            object_lock: None,
        }
    }
}
