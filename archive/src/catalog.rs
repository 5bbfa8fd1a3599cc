//! What the archive holds, found from the key layout: which objects belong to
//! a host, a source and a time range, and what each records about itself.
//!
//! Keys are `<host>/<YYYY>/<MM>/<DD>/<file name>/<first>_<last>_<sha12>.log.gz`,
//! filed under the day of the first record. Beside each object the archiver
//! writes a small JSON record, `…_<sha12>.manifest.json`, so that an object
//! deleted from under its record is seen as missing, not silently absent.
//!
//! A listing with a host and a range reads one prefix per day (plus the
//! look-back days before `from`, for files that began earlier); without a
//! host it first lists the hosts, one level deep. Nothing scans the whole
//! store unless no range is given.

use std::collections::BTreeMap;
use std::sync::Arc;

use futures_util::{StreamExt, stream};
use loghaul_model::time::{UtcDateTime, days_from_civil};
use loghaul_model::{ArchiveManifest, FileIdentity, RotationReason, safe_key_segment};
use serde::{Deserialize, Serialize};
use tokio::io::AsyncReadExt;

use crate::{ArchiveError, CONTENT_SHA256, Metadata, ObjectInfo, ObjectStore, Retention};

const OBJECT_SUFFIX: &str = ".log.gz";
const RECORD_SUFFIX: &str = ".manifest.json";
const NANOS_PER_DAY: i64 = 86_400 * 1_000_000_000;
/// Beyond this many days a range is listed host by host, not day by day.
const MAX_DAY_PREFIXES: i64 = 3_660;
/// Records and heads fetched at once.
const CONCURRENCY: usize = 16;
/// A record is small; anything bigger is not ours.
const MAX_RECORD_BYTES: u64 = 64 * 1024;

/// The record written beside each archived object.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArchiveRecord {
    /// Format version, 1.
    pub version: u32,
    /// The object's key.
    pub key: String,
    /// What the raw file was.
    pub manifest: ArchiveManifest,
    /// The rotated file's name on its host (`app.log.20261122T000000Z`).
    pub raw_name: String,
    /// Size of the gzip object.
    pub gzip_size: u64,
    /// sha256 of the gzip object.
    pub gzip_sha256: String,
    /// When it was archived, nanoseconds since the epoch.
    pub archived_unix_nano: i64,
}

/// The record key beside an object key.
pub fn record_key(object_key: &str) -> String {
    format!(
        "{}{RECORD_SUFFIX}",
        object_key.strip_suffix(OBJECT_SUFFIX).unwrap_or(object_key)
    )
}

/// The archived files of a listing, without their records beside them.
pub fn only_objects(listed: Vec<ObjectInfo>) -> Vec<ObjectInfo> {
    listed
        .into_iter()
        .filter(|info| info.key.ends_with(OBJECT_SUFFIX))
        .collect()
}

/// Which objects to look at.
#[derive(Clone, Debug, Default)]
pub struct Selection {
    /// Only this host (exactly as shipped).
    pub host: Option<String>,
    /// Only sources whose path this matches.
    pub source: Option<globset::GlobSet>,
    /// Only objects with records at or after this time (ns).
    pub from: Option<i64>,
    /// Only objects with records before this time (ns).
    pub to: Option<i64>,
    /// How far before `from` to look for objects whose first record is
    /// earlier (their key is dated by it), in nanoseconds.
    pub lookback: i64,
}

impl Selection {
    fn overlaps(&self, first: i64, last: i64) -> bool {
        self.from.is_none_or(|from| last >= from) && self.to.is_none_or(|to| first < to)
    }

    fn wants(&self, expected: &Expected) -> bool {
        let manifest = &expected.manifest;
        self.host.as_ref().is_none_or(|host| *host == manifest.host)
            && self
                .source
                .as_ref()
                .is_none_or(|glob| glob.is_match(&manifest.source_path))
            && self.overlaps(
                manifest.first_timestamp_unix_nano,
                manifest.last_timestamp_unix_nano,
            )
    }
}

/// What an object should be, from its record or its metadata.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Expected {
    /// The raw file's description.
    pub manifest: ArchiveManifest,
    /// The rotated file's name on its host.
    pub raw_name: String,
    /// sha256 of the gzip bytes, when recorded.
    pub gzip_sha256: Option<String>,
}

/// One archived file as the listing found it.
#[derive(Clone, Debug, Serialize)]
pub struct Entry {
    /// The object key.
    pub key: String,
    /// The object's size and metadata; `None` when only its record is there.
    pub object: Option<ObjectSummary>,
    /// What it should be; `None` when neither record nor metadata say.
    pub expected: Option<Expected>,
    /// Why `expected` cannot be trusted whole (record and metadata disagree,
    /// metadata unreadable).
    pub problem: Option<String>,
}

/// An object's size and retention.
#[derive(Clone, Debug, Serialize)]
pub struct ObjectSummary {
    /// Compressed size.
    pub size: u64,
    /// Object Lock retention.
    pub retention: Option<Retention>,
}

/// What a listing found.
#[derive(Debug, Default, Serialize)]
pub struct Listing {
    /// The selected files, by key.
    pub entries: Vec<Entry>,
    /// Keys under the listed prefixes that are not in the key layout:
    /// named, never silently dropped.
    pub foreign: Vec<String>,
    /// The prefixes that were listed.
    pub prefixes: Vec<String>,
}

/// Parts of a key in the layout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyParts {
    /// Host segment (made key-safe).
    pub host: String,
    /// First record, whole seconds (ns).
    pub first: i64,
    /// Last record, whole seconds (ns).
    pub last: i64,
}

/// Reads `…/<host>/<YYYY>/<MM>/<DD>/<file>/<first>_<last>_<sha12>.log.gz`.
pub fn parse_key(key: &str) -> Option<KeyParts> {
    let stem = key.strip_suffix(OBJECT_SUFFIX)?;
    let segments: Vec<&str> = stem.rsplit('/').take(6).collect();
    let [name, _file, _day, _month, _year, host] = segments.as_slice() else {
        return None;
    };
    let mut pieces = name.split('_');
    let first = parse_compact(pieces.next()?)?;
    let last = parse_compact(pieces.next()?)?;
    let sha = pieces.next()?;
    if pieces.next().is_some() || sha.len() != 12 {
        return None;
    }
    Some(KeyParts {
        host: (*host).to_owned(),
        first,
        last,
    })
}

/// `YYYYMMDDTHHMMSSZ` to nanoseconds.
fn parse_compact(text: &str) -> Option<i64> {
    let bytes = text.as_bytes();
    if bytes.len() != 16 || bytes[8] != b'T' || bytes[15] != b'Z' {
        return None;
    }
    let number = |range: std::ops::Range<usize>| text.get(range)?.parse::<i64>().ok();
    let (year, month, day) = (number(0..4)?, number(4..6)?, number(6..8)?);
    let (hour, minute, second) = (number(9..11)?, number(11..13)?, number(13..15)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 {
        return None;
    }
    let days = days_from_civil(year, month as u32, day as u32);
    Some(((days * 86_400) + hour * 3600 + minute * 60 + second) * 1_000_000_000)
}

/// The day prefixes `host/YYYY/MM/DD/` a selection needs for one host, or
/// `host/` when the range is open or too long.
fn day_prefixes(host: &str, selection: &Selection, now: i64) -> Vec<String> {
    let Some(from) = selection.from else {
        return vec![format!("{host}/")];
    };
    let start = from
        .saturating_sub(selection.lookback)
        .div_euclid(NANOS_PER_DAY);
    // `to` is exclusive: a range ending at midnight needs not the next day.
    let end = selection
        .to
        .map_or(now, |to| to.saturating_sub(1))
        .max(from)
        .div_euclid(NANOS_PER_DAY);
    if end - start > MAX_DAY_PREFIXES {
        return vec![format!("{host}/")];
    }
    (start..=end)
        .map(|day| {
            let date = UtcDateTime::from_unix_nano(day * NANOS_PER_DAY);
            format!("{host}/{:04}/{:02}/{:02}/", date.year, date.month, date.day)
        })
        .collect()
}

/// Undoes the archiver's header escaping (`%XX` for bytes outside printable
/// ASCII and for `%` itself).
pub fn header_unescape(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%'
            && let Some(byte) = text
                .get(index + 1..index + 3)
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
        {
            out.push(byte);
            index += 3;
            continue;
        }
        out.push(bytes[index]);
        index += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// What an object's own metadata says it is, when it says enough.
fn expected_from_metadata(key: &str, metadata: &Metadata) -> Result<Expected, String> {
    let text = |name: &str| {
        metadata
            .get(name)
            .cloned()
            .ok_or_else(|| format!("metadata has no {name}"))
    };
    let number = |name: &str| -> Result<i64, String> {
        text(name)?
            .parse()
            .map_err(|_| format!("metadata {name} is not a number"))
    };
    let manifest = ArchiveManifest {
        host: header_unescape(&text("host")?),
        source_path: header_unescape(&text("source")?),
        file: FileIdentity::from_key(&text("file-identity")?)
            .ok_or("metadata file-identity is unreadable")?,
        sha256: text("sha256")?,
        raw_size: number("raw-size")?.max(0) as u64,
        line_count: number("line-count")?.max(0) as u64,
        first_timestamp_unix_nano: number("first-timestamp-ns")?,
        last_timestamp_unix_nano: number("last-timestamp-ns")?,
        reason: text("reason")?.parse::<RotationReason>()?,
    };
    let raw_name = metadata
        .get("raw-name")
        .map(|name| header_unescape(name))
        .unwrap_or_else(|| fallback_raw_name(key));
    Ok(Expected {
        manifest,
        raw_name,
        gzip_sha256: metadata.get(CONTENT_SHA256).cloned(),
    })
}

/// Objects archived before the rotated name was recorded are restored
/// under their key's last segment without `.gz`.
fn fallback_raw_name(key: &str) -> String {
    let name = key.rsplit('/').next().unwrap_or(key);
    name.strip_suffix(".gz").unwrap_or(name).to_owned()
}

async fn read_record(store: &dyn ObjectStore, key: &str) -> Result<ArchiveRecord, String> {
    let mut bytes = Vec::new();
    store
        .get(key)
        .await
        .map_err(|error| error.to_string())?
        .take(MAX_RECORD_BYTES)
        .read_to_end(&mut bytes)
        .await
        .map_err(|error| format!("read {key}: {error}"))?;
    serde_json::from_slice(&bytes).map_err(|error| format!("record {key} is unreadable: {error}"))
}

/// One candidate, with its object (if listed) and record (if listed).
struct Candidate {
    key: String,
    object: Option<ObjectInfo>,
    record_key: Option<String>,
}

async fn describe(store: &dyn ObjectStore, candidate: Candidate) -> Result<Entry, ArchiveError> {
    let summary = |info: &ObjectInfo| ObjectSummary {
        size: info.size,
        retention: info.retention.clone(),
    };
    // A key that could climb out of the store is never read: it is shown.
    if let Err(error) = crate::validate_key(&candidate.key) {
        return Ok(Entry {
            object: candidate.object.as_ref().map(summary),
            key: candidate.key,
            expected: None,
            problem: Some(error.to_string()),
        });
    }
    let record = match &candidate.record_key {
        Some(key) => Some(read_record(store, key).await),
        None => None,
    };
    let head = match &candidate.object {
        Some(_) => store.head(&candidate.key).await?,
        None => None,
    };
    let from_metadata = head
        .as_ref()
        .map(|info| expected_from_metadata(&candidate.key, &info.metadata));
    let from_record = record.map(|record| {
        record.map(|record| Expected {
            manifest: record.manifest,
            raw_name: record.raw_name,
            gzip_sha256: Some(record.gzip_sha256),
        })
    });
    let (expected, problem) = match (from_record, from_metadata) {
        (Some(Ok(from_record)), Some(Ok(metadata))) => {
            let problem = (from_record.manifest != metadata.manifest)
                .then(|| "its record and its metadata disagree".to_owned());
            (Some(from_record), problem)
        }
        (Some(Ok(from_record)), _) => (Some(from_record), None),
        (Some(Err(record_error)), Some(Ok(metadata))) => (Some(metadata), Some(record_error)),
        (None, Some(Ok(metadata))) => (Some(metadata), None),
        (Some(Err(record_error)), Some(Err(metadata_error))) => {
            (None, Some(format!("{record_error}; {metadata_error}")))
        }
        (Some(Err(error)), None) | (None, Some(Err(error))) => (None, Some(error)),
        (None, None) => (
            None,
            Some("neither the object nor a record is there".into()),
        ),
    };
    Ok(Entry {
        key: candidate.key,
        object: head.as_ref().map(summary),
        expected,
        problem,
    })
}

/// One object, described as a listing would: its record and metadata.
pub async fn entry(store: &dyn ObjectStore, key: &str) -> Result<Entry, ArchiveError> {
    let record = record_key(key);
    let candidate = Candidate {
        key: key.to_owned(),
        object: store.head(key).await?,
        record_key: store.head(&record).await?.map(|_| record),
    };
    describe(store, candidate).await
}

/// Lists what `selection` picks from `store`.
pub async fn list(
    store: Arc<dyn ObjectStore>,
    selection: &Selection,
) -> Result<Listing, ArchiveError> {
    let listed = list_objects(store.as_ref(), selection).await?;
    let mut listing = Listing {
        prefixes: listed.prefixes,
        foreign: listed.foreign,
        entries: Vec::new(),
    };
    let described: Vec<Result<Entry, ArchiveError>> = stream::iter(listed.candidates)
        .map(|candidate| {
            let store = store.clone();
            async move { describe(store.as_ref(), candidate).await }
        })
        .buffered(CONCURRENCY)
        .collect()
        .await;
    for entry in described {
        let entry = entry?;
        // What cannot be read is kept: filtering it out would hide it.
        if entry
            .expected
            .as_ref()
            .is_none_or(|expected| selection.wants(expected))
        {
            listing.entries.push(entry);
        }
    }
    Ok(listing)
}

/// Only the listing, no per-object reads: `--estimate`.
#[derive(Debug, Default, Serialize)]
pub struct Estimate {
    /// Objects in range by their keys.
    pub objects: u64,
    /// Their compressed bytes.
    pub bytes: u64,
    /// Records whose object is not listed.
    pub missing: u64,
    /// The prefixes listed.
    pub prefixes: Vec<String>,
}

/// Counts objects and bytes from listings alone. The host and source are
/// matched on the key's segments, so this may count a little more than
/// [`list`] selects, never less.
pub async fn estimate(
    store: &dyn ObjectStore,
    selection: &Selection,
) -> Result<Estimate, ArchiveError> {
    let listed = list_objects(store, selection).await?;
    let mut estimate = Estimate {
        prefixes: listed.prefixes,
        ..Estimate::default()
    };
    for candidate in listed.candidates {
        match candidate.object {
            Some(object) => {
                estimate.objects += 1;
                estimate.bytes += object.size;
            }
            None => estimate.missing += 1,
        }
    }
    Ok(estimate)
}

struct Listed {
    candidates: Vec<Candidate>,
    foreign: Vec<String>,
    prefixes: Vec<String>,
}

async fn list_objects(
    store: &dyn ObjectStore,
    selection: &Selection,
) -> Result<Listed, ArchiveError> {
    let hosts = match &selection.host {
        Some(host) => vec![safe_key_segment(host)],
        None => store.list_children("").await?,
    };
    let now = loghaul_model::time::now_unix_nano();
    let prefixes: Vec<String> = hosts
        .iter()
        .flat_map(|host| day_prefixes(host, selection, now))
        .collect();
    let mut objects: BTreeMap<String, (Option<ObjectInfo>, Option<String>)> = BTreeMap::new();
    let mut foreign = Vec::new();
    let pages: Vec<Result<Vec<ObjectInfo>, ArchiveError>> = stream::iter(prefixes.clone())
        .map(|prefix| async move { store.list(&prefix).await })
        .buffered(CONCURRENCY)
        .collect()
        .await;
    for page in pages {
        for info in page? {
            if let Some(stem) = info.key.strip_suffix(RECORD_SUFFIX) {
                let object_key = format!("{stem}{OBJECT_SUFFIX}");
                objects.entry(object_key).or_default().1 = Some(info.key);
            } else if info.key.ends_with(OBJECT_SUFFIX) {
                let key = info.key.clone();
                objects.entry(key).or_default().0 = Some(info);
            } else {
                foreign.push(info.key);
            }
        }
    }
    let mut candidates = Vec::new();
    for (key, (object, record_key)) in objects {
        match parse_key(&key) {
            Some(parts) => {
                // Key times are whole seconds: widen by one.
                if !selection.overlaps(parts.first, parts.last + 1_000_000_000) {
                    continue;
                }
            }
            None => {
                foreign.push(key);
                continue;
            }
        }
        candidates.push(Candidate {
            key,
            object,
            record_key,
        });
    }
    Ok(Listed {
        candidates,
        foreign,
        prefixes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_of_the_layout_are_read_and_others_are_not() {
        let parts = parse_key(
            "archive/web-1/2026/11/22/app.log/20261122T000000Z_20261122T235959Z_0123456789ab.log.gz",
        )
        .expect("a layout key");
        assert_eq!(parts.host, "web-1");
        assert_eq!(parts.first, 1_795_305_600 * 1_000_000_000);
        assert_eq!(parts.last - parts.first, 86_399 * 1_000_000_000);
        for other in [
            "web-1/app.log.gz",
            "web-1/2026/11/22/app.log/x_y_z.log.gz",
            "web-1/2026/11/22/app.log/20261122T000000Z_20261122T235959Z_short.log.gz",
            "web-1/2026/11/22/app.log/20261122T000000Z_20261122T235959Z_0123456789ab.txt",
        ] {
            assert_eq!(parse_key(other), None, "{other}");
        }
    }

    #[test]
    fn a_range_lists_its_days_and_the_lookback() {
        let day = NANOS_PER_DAY;
        let from = 20_000 * day + 5;
        let selection = Selection {
            from: Some(from),
            to: Some(from + day),
            lookback: day,
            ..Selection::default()
        };
        let prefixes = day_prefixes("h", &selection, 0);
        assert_eq!(prefixes.len(), 3, "{prefixes:?}");
        assert_eq!(prefixes[0], "h/2024/10/03/");
        assert_eq!(prefixes[2], "h/2024/10/05/");
        assert_eq!(day_prefixes("h", &Selection::default(), 0), ["h/"]);
    }

    #[test]
    fn header_escapes_read_back() {
        assert_eq!(
            header_unescape("/var/log/%C3%A9 100%25%0A"),
            "/var/log/é 100%\n"
        );
        assert_eq!(header_unescape("50%"), "50%");
    }

    /// A store that lists whatever keys it is given, as S3 does for keys
    /// with `..` in them (s3s-fs does not: it writes them elsewhere).
    struct Listed(BTreeMap<String, Vec<u8>>);

    #[async_trait::async_trait]
    impl ObjectStore for Listed {
        fn describe(&self) -> String {
            "memory://".into()
        }

        async fn put_file(
            &self,
            key: &str,
            path: &std::path::Path,
            _: &Metadata,
        ) -> Result<crate::PutOutcome, ArchiveError> {
            Err(ArchiveError::io(
                "put",
                path,
                std::io::Error::other(format!("read-only test store: {key}")),
            ))
        }

        async fn get(&self, key: &str) -> Result<crate::ObjectReader, ArchiveError> {
            let bytes = self.0.get(key).cloned().ok_or(ArchiveError::NotFound {
                key: key.into(),
                store: self.describe(),
            })?;
            Ok(Box::new(std::io::Cursor::new(bytes)))
        }

        async fn head(&self, key: &str) -> Result<Option<ObjectInfo>, ArchiveError> {
            crate::validate_key(key)?;
            Ok(self.0.get(key).map(|bytes| ObjectInfo {
                key: key.into(),
                size: bytes.len() as u64,
                metadata: Metadata::new(),
                retention: None,
            }))
        }

        async fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>, ArchiveError> {
            Ok(self
                .0
                .iter()
                .filter(|(key, _)| key.starts_with(prefix))
                .map(|(key, bytes)| ObjectInfo {
                    key: key.clone(),
                    size: bytes.len() as u64,
                    metadata: Metadata::new(),
                    retention: None,
                })
                .collect())
        }
    }

    #[tokio::test]
    async fn keys_that_climb_out_are_listed_refused_and_never_read() {
        let name = "20261122T000000Z_20261122T000001Z_0123456789ab.log.gz";
        let hostile = format!("../../etc/2026/11/22/cron.d/{name}");
        let store: Arc<dyn ObjectStore> = Arc::new(Listed(BTreeMap::from([(
            hostile.clone(),
            b"not gzip".to_vec(),
        )])));
        let listing = list(store.clone(), &Selection::default())
            .await
            .expect("listing");
        assert_eq!(listing.entries.len(), 1, "{listing:?}");
        let entry = &listing.entries[0];
        assert_eq!(entry.key, hostile);
        let verdict = crate::check::unreadable(entry).expect("refused before reading");
        assert_eq!(verdict.status, crate::check::Status::Refused);
        let dest = tempfile::tempdir().expect("tempdir");
        let restored = crate::restore::restore(
            store.as_ref(),
            entry,
            dest.path(),
            crate::check::no_progress(),
        )
        .await
        .expect("answers");
        assert_eq!(restored.verdict.status, crate::check::Status::Refused);
        assert_eq!(std::fs::read_dir(dest.path()).expect("list").count(), 0);
    }

    #[test]
    fn record_keys_sit_beside_objects() {
        assert_eq!(
            record_key("h/2026/a_b_c.log.gz"),
            "h/2026/a_b_c.manifest.json"
        );
    }
}
