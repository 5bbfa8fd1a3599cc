//! Types derived from config strings. `SourceFormat` and `TimeZoneSpec` are
//! parsed while the file is read, so a bad value is an error at its line
//! and column; the archive target is derived from the URL on demand.

use std::fmt;
use std::path::{Path, PathBuf};

/// Where the archive writes objects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ArchiveTarget {
    /// A local directory.
    Local {
        /// The directory.
        root: PathBuf,
    },
    /// An S3 bucket, with a key prefix that may be empty.
    S3 {
        /// The bucket.
        bucket: String,
        /// The key prefix, without leading or trailing `/`.
        prefix: String,
    },
}

impl ArchiveTarget {
    /// Parses `archive.url`; `None` means `<data_dir>/archive`.
    pub fn parse(url_opt: Option<&str>, data_dir: &Path) -> Result<Self, String> {
        let Some(url) = url_opt else {
            return Ok(ArchiveTarget::Local {
                root: data_dir.join("archive"),
            });
        };
        if let Some(path) = url.strip_prefix("file://") {
            if path.is_empty() {
                return Err(
                    "a file:// archive URL needs a path, like file:///var/lib/loghaul/archive"
                        .into(),
                );
            }
            return Ok(ArchiveTarget::Local {
                root: PathBuf::from(path),
            });
        }
        if let Some(rest) = url.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            let valid_bucket = (3..=63).contains(&bucket.len())
                && bucket
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.');
            if !valid_bucket {
                return Err(format!(
                    "invalid bucket name {bucket:?}: 3 to 63 lowercase letters, digits, '-' or '.'"
                ));
            }
            return Ok(ArchiveTarget::S3 {
                bucket: bucket.into(),
                prefix: prefix.trim_matches('/').into(),
            });
        }
        Err(format!(
            "unsupported archive URL {url:?}: use s3://bucket/prefix or file:///path"
        ))
    }
}

impl fmt::Display for ArchiveTarget {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ArchiveTarget::Local { root } => write!(formatter, "file://{}", root.display()),
            ArchiveTarget::S3 { bucket, prefix } if prefix.is_empty() => {
                write!(formatter, "s3://{bucket}")
            }
            ArchiveTarget::S3 { bucket, prefix } => write!(formatter, "s3://{bucket}/{prefix}"),
        }
    }
}

/// How a source's records are parsed: `format` in the config, parsed at
/// load (a bad name is an error at its line and column).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum SourceFormat {
    /// Detected from the first records.
    #[default]
    Auto,
    /// A built-in format, by name.
    Builtin(&'static str),
    /// A `[[parser.patterns]]` entry, by name.
    Pattern(String),
}

impl SourceFormat {
    /// The built-in format names.
    pub const BUILTIN: [&'static str; 11] = [
        "json",
        "logfmt",
        "syslog",
        "common",
        "combined",
        "apache_error",
        "log4j",
        "klog",
        "docker",
        "cri",
        "plain",
    ];

    /// The format hint a batch carries: the name as written in the config,
    /// or none for `auto`.
    pub fn hint(&self) -> Option<String> {
        match self {
            SourceFormat::Auto => None,
            other => Some(other.to_string()),
        }
    }

    /// Parses a `format` value.
    pub fn parse(text: &str) -> Result<Self, String> {
        if text == "auto" {
            return Ok(SourceFormat::Auto);
        }
        if let Some(name) = text.strip_prefix("regex:") {
            if name.is_empty() {
                return Err("`regex:` needs the name of a [[parser.patterns]] entry".into());
            }
            return Ok(SourceFormat::Pattern(name.into()));
        }
        SourceFormat::BUILTIN
            .into_iter()
            .find(|builtin| *builtin == text)
            .map(SourceFormat::Builtin)
            .ok_or_else(|| {
                format!(
                    "unknown format {text:?}: use auto, {}, or regex:<name>",
                    SourceFormat::BUILTIN.join(", ")
                )
            })
    }
}

impl fmt::Display for SourceFormat {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SourceFormat::Auto => formatter.write_str("auto"),
            SourceFormat::Builtin(name) => formatter.write_str(name),
            SourceFormat::Pattern(name) => write!(formatter, "regex:{name}"),
        }
    }
}

impl serde::Serialize for SourceFormat {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for SourceFormat {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        SourceFormat::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// Checks a strftime layout (`%d.%m.%Y %H:%M:%S`) for a user pattern by
/// formatting a sample time with it and reading the result back.
pub fn check_timestamp_format(format: &str) -> Result<(), String> {
    let sample = jiff::civil::date(2026, 11, 22)
        .at(8, 9, 10, 123_000_000)
        .to_zoned(jiff::tz::TimeZone::UTC)
        .map_err(|error| error.to_string())?;
    let text = jiff::fmt::strtime::format(format, &sample)
        .map_err(|error| format!("invalid timestamp format {format:?}: {error}"))?;
    let parsed = jiff::fmt::strtime::parse(format, &text).map_err(|error| {
        format!("timestamp format {format:?} cannot read its own output {text:?}: {error}")
    })?;
    if (parsed.month().is_none() || parsed.day().is_none()) && parsed.timestamp().is_none() {
        return Err(format!(
            "timestamp format {format:?} has no month and day (%m, %b, %d…) and no %s"
        ));
    }
    Ok(())
}

/// The zone of timestamps that carry none.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum TimeZoneSpec {
    /// UTC.
    #[default]
    Utc,
    /// The machine's local zone.
    Local,
    /// A fixed offset east of UTC, in seconds.
    Fixed(i32),
    /// A zone of the system's time zone database, such as `Europe/Paris`.
    Named(String),
}

impl TimeZoneSpec {
    /// Parses `UTC`, `Z`, `local`, `±HH:MM`, or an IANA zone name found in
    /// the system's time zone database.
    pub fn parse(text: &str) -> Result<Self, String> {
        match text {
            "UTC" | "utc" | "Z" | "Etc/UTC" => return Ok(TimeZoneSpec::Utc),
            "local" => return Ok(TimeZoneSpec::Local),
            _ => {}
        }
        let bytes = text.as_bytes();
        let shape_ok = bytes.len() == 6
            && matches!(bytes[0], b'+' | b'-')
            && bytes[3] == b':'
            && [1, 2, 4, 5].iter().all(|&i| bytes[i].is_ascii_digit());
        if shape_ok {
            let hours: i32 = text[1..3].parse().unwrap_or(99);
            let minutes: i32 = text[4..6].parse().unwrap_or(99);
            if hours <= 14 && minutes < 60 {
                let seconds = hours * 3600 + minutes * 60;
                return Ok(TimeZoneSpec::Fixed(if bytes[0] == b'-' {
                    -seconds
                } else {
                    seconds
                }));
            }
        }
        if !text.is_empty() && jiff::tz::TimeZone::get(text).is_ok() {
            return Ok(TimeZoneSpec::Named(text.to_owned()));
        }
        Err(format!(
            "unknown time zone {text:?}: use UTC, local, an offset like +02:00, or a zone name like Europe/Paris"
        ))
    }
}

impl fmt::Display for TimeZoneSpec {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TimeZoneSpec::Utc => formatter.write_str("UTC"),
            TimeZoneSpec::Local => formatter.write_str("local"),
            TimeZoneSpec::Fixed(seconds) => {
                let sign = if *seconds < 0 { '-' } else { '+' };
                let abs = seconds.unsigned_abs();
                write!(formatter, "{sign}{:02}:{:02}", abs / 3600, abs % 3600 / 60)
            }
            TimeZoneSpec::Named(name) => formatter.write_str(name),
        }
    }
}

impl TryFrom<String> for TimeZoneSpec {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        TimeZoneSpec::parse(&text)
    }
}

impl From<TimeZoneSpec> for String {
    fn from(zone: TimeZoneSpec) -> String {
        zone.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn archive_urls() {
        let data = Path::new("/data");
        assert_eq!(
            ArchiveTarget::parse(None, data),
            Ok(ArchiveTarget::Local {
                root: "/data/archive".into()
            })
        );
        assert_eq!(
            ArchiveTarget::parse(Some("s3://logs-bucket/a/b/"), data),
            Ok(ArchiveTarget::S3 {
                bucket: "logs-bucket".into(),
                prefix: "a/b".into()
            })
        );
        assert!(ArchiveTarget::parse(Some("s3://B"), data).is_err());
        assert!(ArchiveTarget::parse(Some("ftp://x"), data).is_err());
        assert!(ArchiveTarget::parse(Some("file://"), data).is_err());
    }

    #[test]
    fn formats_and_zones() {
        assert_eq!(
            SourceFormat::parse("json"),
            Ok(SourceFormat::Builtin("json"))
        );
        assert_eq!(
            SourceFormat::parse("regex:myapp"),
            Ok(SourceFormat::Pattern("myapp".into()))
        );
        assert!(
            SourceFormat::parse("xml")
                .expect_err("must be refused")
                .contains("unknown format")
        );
        assert_eq!(
            TimeZoneSpec::parse("-07:30"),
            Ok(TimeZoneSpec::Fixed(-27_000))
        );
        assert_eq!(TimeZoneSpec::parse("UTC"), Ok(TimeZoneSpec::Utc));
        assert!(TimeZoneSpec::parse("+25:00").is_err());
        assert!(TimeZoneSpec::parse("Mars/Olympus").is_err());
        assert_eq!(
            TimeZoneSpec::parse("America/New_York"),
            Ok(TimeZoneSpec::Named("America/New_York".into()))
        );
    }
}
