//! Checks that span several fields, run after parsing. Each problem names the
//! key it is about, so the loader can point at it in the file.

use std::collections::HashSet;

use crate::{ArchiveTarget, Config, QueueKind, RotateMode, SourceFormat};

/// A problem with one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    /// The dotted key, such as `shipper.sources[0].format`.
    pub key: String,
    /// What is wrong.
    pub message: String,
}

fn issue(key: impl Into<String>, message: impl Into<String>) -> Issue {
    Issue {
        key: key.into(),
        message: message.into(),
    }
}

fn is_name(text: &str) -> bool {
    !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// Every problem in `config`, in file order of sections.
pub fn validate(config: &Config) -> Vec<Issue> {
    let mut issues = Vec::new();
    if config.host.is_empty() || config.host.contains('/') {
        issues.push(issue(
            "host",
            format!(
                "invalid host {:?}: it must be non-empty and contain no '/'",
                config.host
            ),
        ));
    }
    validate_queue(config, &mut issues);
    validate_shipper(config, &mut issues);
    validate_parser(config, &mut issues);
    validate_indexer(config, &mut issues);
    validate_archive(config, &mut issues);
    issues
}

fn validate_queue(config: &Config, issues: &mut Vec<Issue>) {
    let queue = &config.queue;
    if !is_name(&queue.prefix) {
        issues.push(issue(
            "queue.prefix",
            "the prefix must be letters, digits, '.', '_' or '-'",
        ));
    }
    if !(1..=1024).contains(&queue.shards) {
        issues.push(issue(
            "queue.shards",
            format!("shards must be 1 to 1024, not {}", queue.shards),
        ));
    }
    if !(1..=2000).contains(&queue.prefetch) {
        issues.push(issue(
            "queue.prefetch",
            format!("prefetch must be 1 to 2000, not {}", queue.prefetch),
        ));
    }
    if queue.reconnect_min > queue.reconnect_max {
        issues.push(issue(
            "queue.reconnect_min",
            "reconnect_min is longer than reconnect_max",
        ));
    }
    if queue.kind == QueueKind::Amqp {
        match url::Url::parse(queue.url.expose()) {
            Ok(url) if matches!(url.scheme(), "amqp" | "amqps") && url.host_str().is_some() => {}
            Ok(url) => issues.push(issue(
                "queue.url",
                format!(
                    "unsupported URL scheme {:?}: use amqp:// or amqps://host",
                    url.scheme()
                ),
            )),
            Err(error) => issues.push(issue("queue.url", format!("invalid URL: {error}"))),
        }
    }
}

fn validate_shipper(config: &Config, issues: &mut Vec<Issue>) {
    let shipper = &config.shipper;
    let pattern_names: HashSet<&str> = config
        .parser
        .patterns
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    let mut source_names = HashSet::new();
    for (index, source) in shipper.sources.iter().enumerate() {
        let key = |field: &str| format!("shipper.sources[{index}].{field}");
        if !is_name(&source.name) {
            issues.push(issue(
                key("name"),
                "each source needs a name of letters, digits, '.', '_' or '-'",
            ));
        } else if !source_names.insert(source.name.as_str()) {
            issues.push(issue(
                key("name"),
                format!("duplicate source name {:?}", source.name),
            ));
        }
        if source.paths.is_empty() {
            issues.push(issue(
                key("paths"),
                "a source needs at least one path or glob",
            ));
        }
        if let SourceFormat::Pattern(name) = &source.format
            && !pattern_names.contains(name.as_str())
        {
            issues.push(issue(
                key("format"),
                format!("no [[parser.patterns]] entry is named {name:?}"),
            ));
        }
        if let Some(multiline) = &source.multiline
            && multiline.start.is_some() == multiline.continuation.is_some()
        {
            issues.push(issue(
                key("multiline"),
                "set exactly one of `start` or `continuation`",
            ));
        }
        if source.max_line_bytes.bytes() < 256 {
            issues.push(issue(
                key("max_line_bytes"),
                "max_line_bytes must be at least 256B",
            ));
        }
    }
    if shipper.batch.max_bytes > shipper.buffer_bytes {
        issues.push(issue(
            "shipper.batch.max_bytes",
            format!(
                "a batch ({}) cannot be larger than shipper.buffer_bytes ({})",
                shipper.batch.max_bytes, shipper.buffer_bytes
            ),
        ));
    }
    if shipper.batch.max_records == 0 {
        issues.push(issue(
            "shipper.batch.max_records",
            "max_records must be at least 1",
        ));
    }
    if shipper.max_open_files == 0 {
        issues.push(issue(
            "shipper.max_open_files",
            "max_open_files must be at least 1",
        ));
    }
    if shipper.rotate.signal_command.is_some() && shipper.rotate.mode != RotateMode::Rename {
        issues.push(issue(
            "shipper.rotate.signal_command",
            "signal_command only applies to mode = \"rename\"",
        ));
    }
    if !shipper.spot.endpoint.starts_with("http://")
        && !shipper.spot.endpoint.starts_with("https://")
    {
        issues.push(issue(
            "shipper.spot.endpoint",
            "the metadata endpoint must be an http:// or https:// URL",
        ));
    }
}

fn validate_parser(config: &Config, issues: &mut Vec<Issue>) {
    let mut names = HashSet::new();
    for (index, pattern) in config.parser.patterns.iter().enumerate() {
        if !is_name(&pattern.name) {
            issues.push(issue(
                format!("parser.patterns[{index}].name"),
                "a pattern needs a name",
            ));
        } else if !names.insert(pattern.name.as_str()) {
            issues.push(issue(
                format!("parser.patterns[{index}].name"),
                format!("duplicate pattern name {:?}", pattern.name),
            ));
        }
        if pattern
            .regex
            .regex()
            .capture_names()
            .flatten()
            .next()
            .is_none()
        {
            issues.push(issue(
                format!("parser.patterns[{index}].regex"),
                "the regex has no named capture such as (?P<message>…)",
            ));
        }
        if let Some(format) = &pattern.timestamp_format
            && let Err(message) = crate::check_timestamp_format(format)
        {
            issues.push(issue(
                format!("parser.patterns[{index}].timestamp_format"),
                message,
            ));
        }
    }
}

fn validate_indexer(config: &Config, issues: &mut Vec<Issue>) {
    let indexer = &config.indexer;
    if let Some(token) = &indexer.token {
        let text = token.expose();
        if text.trim().is_empty() {
            issues.push(issue(
                "indexer.token",
                "the token is blank: set a secret (e.g. `openssl rand -hex 32`) or remove the key"
                    .to_owned(),
            ));
        } else if text.trim() != text {
            issues.push(issue(
                "indexer.token",
                "the token starts or ends with white space, which no client sends".to_owned(),
            ));
        }
    }
    if !indexer.listen.ip().is_loopback()
        && indexer.token.as_ref().is_none_or(|t| t.expose().is_empty())
    {
        issues.push(issue(
            "indexer.listen",
            format!(
                "{} is reachable from other hosts: set indexer.token, or listen on 127.0.0.1",
                indexer.listen
            ),
        ));
    }
    if indexer.shard >= config.queue.shards {
        issues.push(issue(
            "indexer.shard",
            format!(
                "shard {} does not exist: queue.shards is {}",
                indexer.shard, config.queue.shards
            ),
        ));
    }
    if indexer.writer_heap.bytes() < 15 << 20 {
        issues.push(issue(
            "indexer.writer_heap",
            "writer_heap must be at least 15MiB (tantivy's minimum)",
        ));
    }
    if indexer.commit_docs == 0 {
        issues.push(issue(
            "indexer.commit_docs",
            "commit_docs must be at least 1",
        ));
    }
    if !(1..=256).contains(&indexer.max_concurrent_queries) {
        issues.push(issue(
            "indexer.max_concurrent_queries",
            "max_concurrent_queries must be from 1 to 256",
        ));
    }
    if indexer.query_timeout.0.is_zero() {
        issues.push(issue(
            "indexer.query_timeout",
            "query_timeout must be longer than 0s",
        ));
    }
    if indexer.query_memory.bytes() < 1 << 20 {
        issues.push(issue(
            "indexer.query_memory",
            "query_memory must be at least 1MiB",
        ));
    }
}

fn validate_archive(config: &Config, issues: &mut Vec<Issue>) {
    let archive = &config.archive;
    if let Err(message) = ArchiveTarget::parse(archive.url.as_deref(), &config.data_dir) {
        issues.push(issue("archive.url", message));
    }
    if let Some(endpoint) = &archive.endpoint
        && url::Url::parse(endpoint)
            .map(|url| !matches!(url.scheme(), "http" | "https"))
            .unwrap_or(true)
    {
        issues.push(issue(
            "archive.endpoint",
            format!("invalid endpoint {endpoint:?}: use http:// or https://"),
        ));
    }
    if archive.access_key_id.is_some() != archive.secret_access_key.is_some() {
        issues.push(issue(
            "archive.access_key_id",
            "set both access_key_id and secret_access_key, or neither",
        ));
    }
    if archive.part_size.bytes() < 5 << 20 {
        issues.push(issue("archive.part_size", "S3 parts must be at least 5MiB"));
    }
    if archive.multipart_threshold < archive.part_size {
        issues.push(issue(
            "archive.multipart_threshold",
            "multipart_threshold must be at least part_size",
        ));
    }
    if archive.gzip_level > 9 {
        issues.push(issue("archive.gzip_level", "gzip_level must be 0 to 9"));
    }
    if archive.gzip_threads > 256 {
        issues.push(issue(
            "archive.gzip_threads",
            "gzip_threads must be 0 (one per core) to 256",
        ));
    }
    if let Some(lock) = &archive.object_lock {
        if lock.days == 0 {
            issues.push(issue(
                "archive.object_lock.days",
                "object_lock.days must be 1 or more",
            ));
        }
        if !archive
            .url
            .as_deref()
            .is_some_and(|url| url.starts_with("s3://"))
        {
            issues.push(issue(
                "archive.object_lock",
                "object_lock needs an s3:// archive url: a directory cannot lock its files",
            ));
        }
    }
}
