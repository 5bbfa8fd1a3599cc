use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::FileIdentity;
use crate::time::UtcDateTime;

/// Why a raw file was rotated and archived.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RotationReason {
    /// It reached `max_bytes`.
    Size,
    /// It reached `max_age`.
    Age,
    /// Something else (logrotate, the application) rotated it.
    External,
    /// A spot-termination or preemption notice arrived.
    Spot,
    /// The shipper was shutting down with `archive_on_shutdown`.
    Shutdown,
    /// An operator asked for it.
    Manual,
}

impl RotationReason {
    /// Every reason, in declaration order.
    pub const ALL: [RotationReason; 6] = [
        RotationReason::Size,
        RotationReason::Age,
        RotationReason::External,
        RotationReason::Spot,
        RotationReason::Shutdown,
        RotationReason::Manual,
    ];

    /// The lowercase name used in metadata.
    pub fn as_str(self) -> &'static str {
        match self {
            RotationReason::Size => "size",
            RotationReason::Age => "age",
            RotationReason::External => "external",
            RotationReason::Spot => "spot",
            RotationReason::Shutdown => "shutdown",
            RotationReason::Manual => "manual",
        }
    }
}

impl fmt::Display for RotationReason {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

impl FromStr for RotationReason {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        RotationReason::ALL
            .into_iter()
            .find(|reason| reason.as_str() == text)
            .ok_or_else(|| format!("unknown rotation reason {text:?}"))
    }
}

/// What the archive records about one rotated raw file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArchiveManifest {
    /// The host the file came from.
    pub host: String,
    /// The file's path on that host.
    pub source_path: String,
    /// The file's identity.
    pub file: FileIdentity,
    /// SHA-256 of the raw (uncompressed) bytes, lowercase hex.
    pub sha256: String,
    /// Size of the raw bytes.
    pub raw_size: u64,
    /// Number of lines in the raw bytes.
    pub line_count: u64,
    /// Timestamp of the first record, nanoseconds since the Unix epoch.
    pub first_timestamp_unix_nano: i64,
    /// Timestamp of the last record.
    pub last_timestamp_unix_nano: i64,
    /// Why the file was rotated.
    pub reason: RotationReason,
}

impl ArchiveManifest {
    /// The object key of DESIGN.md:
    /// `<prefix>/<host>/<YYYY>/<MM>/<DD>/<file name>/<first>_<last>_<sha256[..12]>.log.gz`,
    /// dated by the first record. Path separators and other unsafe characters in
    /// the host and file name are replaced, so a key never climbs out of its prefix.
    pub fn object_key(&self, prefix: &str) -> String {
        let first = UtcDateTime::from_unix_nano(self.first_timestamp_unix_nano);
        let last = UtcDateTime::from_unix_nano(self.last_timestamp_unix_nano);
        let file_name = self.source_path.rsplit('/').next().unwrap_or_default();
        let digest_prefix: String = self.sha256.chars().take(12).collect();
        let mut key = String::new();
        let prefix = prefix.trim_matches('/');
        if !prefix.is_empty() {
            key.push_str(prefix);
            key.push('/');
        }
        key.push_str(&format!(
            "{}/{:04}/{:02}/{:02}/{}/{}_{}_{}.log.gz",
            safe_key_segment(&self.host),
            first.year,
            first.month,
            first.day,
            safe_key_segment(file_name),
            first.compact_string(),
            last.compact_string(),
            digest_prefix,
        ));
        key
    }
}

/// Keeps `[A-Za-z0-9._-]`, replaces anything else with `_`, and never yields
/// `.`, `..` or an empty segment.
pub fn safe_key_segment(segment: &str) -> String {
    let cleaned: String = segment
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if cleaned.is_empty() || cleaned.chars().all(|c| c == '.') {
        format!("_{cleaned}")
    } else {
        cleaned
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest() -> ArchiveManifest {
        ArchiveManifest {
            host: "web-1".into(),
            source_path: "/var/log/app/app.log".into(),
            file: FileIdentity {
                device: 1,
                inode: 2,
                fingerprint: 3,
            },
            sha256: "0123456789abcdef".repeat(4),
            raw_size: 10,
            line_count: 1,
            first_timestamp_unix_nano: 1_795_305_600_000_000_000,
            last_timestamp_unix_nano: 1_795_309_200_000_000_000,
            reason: RotationReason::Size,
        }
    }

    #[test]
    fn key_follows_the_design_layout() {
        assert_eq!(
            manifest().object_key("logs/"),
            "logs/web-1/2026/11/22/app.log/20261122T000000Z_20261122T010000Z_0123456789ab.log.gz"
        );
    }

    #[test]
    fn hostile_names_stay_inside_the_prefix() {
        let mut hostile = manifest();
        hostile.host = "../../etc".into();
        hostile.source_path = "/x/..".into();
        let key = hostile.object_key("");
        assert!(key.starts_with(".._.._etc/"), "{key}");
        assert!(
            !key.split('/')
                .any(|segment| segment == ".." || segment == "."),
            "{key}"
        );
    }

    #[test]
    fn reasons_round_trip_through_text() {
        for reason in RotationReason::ALL {
            assert_eq!(reason.as_str().parse::<RotationReason>(), Ok(reason));
        }
        assert!("later".parse::<RotationReason>().is_err());
    }
}
