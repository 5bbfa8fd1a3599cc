//! loghaul's configuration: one TOML file for every role.
//!
//! Loading goes in three steps:
//!
//! 1. `${VAR}` and `${VAR:-default}` are substituted in the text;
//! 2. the text is parsed into [`Config`], whose sections reject unknown keys and
//!    fill in defaults, so `loghaul run` needs no file at all;
//! 3. [`validate`] checks what spans several fields.
//!
//! Every error is a [`ConfigError`] that names the file, the line and column in
//! the file as written (before substitution), and the dotted key.
//!
//! ```
//! let text = "[queue]\nshards = 0\n";
//! let error = loghaul_config::load_str(text, "loghaul.toml", &|_| None).unwrap_err();
//! assert_eq!(
//!     error.to_string().lines().next(),
//!     Some("loghaul.toml:2:10: key `queue.shards`: shards must be 1 to 1024, not 0")
//! );
//! ```

mod derived;
mod error;
mod interpolate;
mod locate;
mod pattern;
mod schema;
mod secret;
mod units;
mod validate;

use std::path::Path;

pub use derived::{ArchiveTarget, SourceFormat, TimeZoneSpec, check_timestamp_format};
pub use error::{ConfigError, Located};
pub use pattern::Pattern;
pub use schema::{
    ArchiveConfig, BatchConfig, ChecksumMode, Config, IndexerConfig, LockMode, MultilineConfig,
    ObjectLockConfig, ParserConfig, PatternConfig, QueueConfig, QueueKind, RotateConfig,
    RotateMode, ShipperConfig, SourceConfig, SpotConfig, SpotProvider,
};
pub use secret::{REDACTED, Secret, SecretUrl, redact_url};
pub use units::{ByteSize, HumanDuration};
pub use validate::{Issue, validate};

use error::SourceText;

/// Which command a configuration is loaded for: a role run apart from the
/// others must share its queues with them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// `loghaul run`, `config check`: every role in one process.
    All,
    /// `loghaul ship` alone.
    Shipper,
    /// `loghaul parse` alone.
    Parser,
    /// `loghaul index` alone.
    Indexer,
}

impl Role {
    fn name(self) -> &'static str {
        match self {
            Role::All => "loghaul run",
            Role::Shipper => "a separate shipper (loghaul ship)",
            Role::Parser => "a separate parser (loghaul parse)",
            Role::Indexer => "a separate indexer (loghaul index)",
        }
    }
}

/// Reads, interpolates from the process environment, parses and validates `path`.
pub fn load_file(path: &Path) -> Result<Config, ConfigError> {
    load_file_as(path, Role::All)
}

/// [`load_file`] for one role. A role run apart refuses a queue it cannot
/// share: the disk and memory queues live inside one process, so a shipper
/// would publish (and checkpoint) into a queue that nothing reads.
pub fn load_file_as(path: &Path, role: Role) -> Result<Config, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    load_str_as(
        &text,
        &path.display().to_string(),
        &|name| std::env::var(name).ok(),
        role,
    )
}

/// The defaults, validated: what `loghaul run` uses without a file.
pub fn defaults() -> Result<Config, ConfigError> {
    load_str("", "<defaults>", &|_| None)
}

/// Interpolates `text` with `env`, parses and validates it. `file` names it in
/// errors.
pub fn load_str(
    text: &str,
    file: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Config, ConfigError> {
    load_str_as(text, file, env, Role::All)
}

/// [`load_str`] for one role (see [`load_file_as`]).
pub fn load_str_as(
    text: &str,
    file: &str,
    env: &dyn Fn(&str) -> Option<String>,
    role: Role,
) -> Result<Config, ConfigError> {
    let original = SourceText { file, text };
    let (interpolated, offsets) = interpolate::interpolate(text, env)
        .map_err(|error| original.error_at(Some(error.offset), None, error.message))?;

    let deserializer = toml::Deserializer::parse(&interpolated).map_err(|error| {
        let offset = error.span().map(|span| offsets.to_original(span.start));
        original.error_at(offset, None, first_line(error.message()))
    })?;
    let config: Config = serde_path_to_error::deserialize(deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        let message = first_line(inner.message());
        let mut key = if path == "." { None } else { Some(path) };
        // The path usually ends at the unknown key already; add it where not.
        if let Some(unknown) = unknown_field(&message) {
            let ends_with_unknown = key
                .as_deref()
                .is_some_and(|k| k == unknown || k.ends_with(&format!(".{unknown}")));
            if !ends_with_unknown {
                key = Some(match key {
                    Some(parent) => format!("{parent}.{unknown}"),
                    None => unknown.to_owned(),
                });
            }
        }
        let offset = inner.span().map(|span| offsets.to_original(span.start));
        original.error_at(offset, key, message)
    })?;

    let mut issues = validate(&config);
    if role != Role::All && config.queue.kind != QueueKind::Amqp {
        let kind = if config.queue.kind == QueueKind::Memory {
            "memory"
        } else {
            "disk"
        };
        issues.push(Issue {
            key: "queue.kind".into(),
            message: format!(
                "queue.kind is {kind}, which lives inside one process; {} needs queue.kind = \"amqp\" shared with the other roles (or use loghaul run)",
                role.name()
            ),
        });
    }
    if let Some(issue) = issues.into_iter().next() {
        let offset =
            locate::locate(&interpolated, &issue.key).map(|offset| offsets.to_original(offset));
        return Err(original.error_at(offset, Some(issue.key), issue.message));
    }
    Ok(config)
}

fn first_line(message: &str) -> String {
    message.lines().next().unwrap_or_default().trim().to_owned()
}

fn unknown_field(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("unknown field `")?;
    rest.split_once('`').map(|(name, _)| name)
}

impl Config {
    /// Where the archive writes.
    pub fn archive_target(&self) -> ArchiveTarget {
        // Validation already parsed it; fall back to the local default if not.
        ArchiveTarget::parse(self.archive.url.as_deref(), &self.data_dir).unwrap_or_else(|_| {
            ArchiveTarget::Local {
                root: self.data_dir.join("archive"),
            }
        })
    }

    /// The effective configuration as TOML, with every secret redacted.
    /// Secret fields print as `***` by their type; every other string that
    /// is a URL with a password (an S3 endpoint, a peer's URL, a metadata
    /// endpoint) has it replaced here, whatever field it is in.
    pub fn to_redacted_toml(&self) -> String {
        toml::to_string_pretty(self)
            .map(|text| {
                text.lines()
                    .map(|line| secret::redact_quoted(line, false) + "\n")
                    .collect()
            })
            .unwrap_or_else(|error| format!("# cannot render config: {error}\n"))
    }

    /// The effective configuration as JSON, redacted as
    /// [`Config::to_redacted_toml`].
    pub fn to_redacted_json(&self) -> serde_json::Value {
        fn redact(value: &mut serde_json::Value) {
            match value {
                serde_json::Value::String(text) => *text = redact_url(text),
                serde_json::Value::Array(items) => items.iter_mut().for_each(redact),
                serde_json::Value::Object(map) => map.values_mut().for_each(redact),
                _ => {}
            }
        }
        let mut value = serde_json::to_value(self).unwrap_or_default();
        redact(&mut value);
        value
    }
}

/// This machine's host name: `$HOSTNAME`, else the kernel's, else `localhost`.
pub fn hostname() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

#[cfg(test)]
mod tests;
