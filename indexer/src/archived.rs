//! Which archived object holds an event's raw line: the link from a search
//! result back to the byte-exact file it was read from.
//!
//! An object is filed under the day of its first record and the file's
//! name, so the candidates for an event are a few prefixes
//! (`<host>/<day>/<file name>/`); the one whose record names the event's
//! host and file identity is it.
//!
//! The object's day can fall on either side of the event's. A first line
//! with a leading stamp dates the object at or before its events; a file
//! whose lines carry none there (JSON, access logs, plain text) is dated by
//! its modification time, at or after every line it holds, so an event
//! read just before midnight lies in a file filed under the next day.

use loghaul_archive::ObjectStore;
use loghaul_archive::catalog::{self, parse_key};
use loghaul_model::time::UtcDateTime;
use loghaul_model::{Event, safe_key_segment};
use serde::Serialize;

const NANOS_PER_DAY: i64 = 86_400 * 1_000_000_000;
/// Days before the event's own that its file may have begun.
const LOOKBACK_DAYS: i64 = 2;
/// Days after the event's own that its file may have been last written
/// (and dated by), never past today.
const LOOKAHEAD_DAYS: i64 = 31;

/// Where an event's file is archived.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Located {
    /// The object key.
    pub key: String,
    /// The rotated file's name on its host.
    pub raw_name: String,
    /// Raw bytes.
    pub raw_size: u64,
    /// Lines.
    pub line_count: u64,
    /// sha256 of the raw bytes.
    pub sha256: String,
    /// Size of the gzip object.
    pub gzip_size: u64,
}

/// The archived object holding `event`'s file, if it is archived yet.
pub async fn locate(
    store: &dyn ObjectStore,
    event: &Event,
) -> Result<Option<Located>, loghaul_archive::ArchiveError> {
    let host = safe_key_segment(&event.resource.host);
    let name = event.resource.source.rsplit('/').next().unwrap_or_default();
    let name = safe_key_segment(name);
    let today = loghaul_model::time::now_unix_nano().div_euclid(NANOS_PER_DAY);
    for day in candidate_days(event.timestamp_unix_nano.div_euclid(NANOS_PER_DAY), today) {
        let date = UtcDateTime::from_unix_nano(day * NANOS_PER_DAY);
        let prefix = format!(
            "{host}/{:04}/{:02}/{:02}/{name}/",
            date.year, date.month, date.day
        );
        for object in store.list(&prefix).await? {
            if parse_key(&object.key).is_none() {
                continue;
            }
            let entry = catalog::entry(store, &object.key).await?;
            let (Some(expected), Some(summary)) = (entry.expected, entry.object) else {
                continue;
            };
            let manifest = &expected.manifest;
            if manifest.file == event.file && *manifest.host == *event.resource.host {
                return Ok(Some(Located {
                    key: entry.key,
                    raw_name: expected.raw_name,
                    raw_size: manifest.raw_size,
                    line_count: manifest.line_count,
                    sha256: manifest.sha256.clone(),
                    gzip_size: summary.size,
                }));
            }
        }
    }
    Ok(None)
}

/// The days whose prefixes may hold the object of an event of `event_day`,
/// nearest first: that day, the ones before it, then the ones after it up to
/// `today` (an object is never dated after it was written).
fn candidate_days(event_day: i64, today: i64) -> Vec<i64> {
    let before = (event_day - LOOKBACK_DAYS..=event_day).rev();
    let after = event_day + 1..=today.min(event_day + LOOKAHEAD_DAYS);
    before.chain(after).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use loghaul_archive::{ArchiveRequest, Archiver, LocalStore, Spool};
    use loghaul_model::{EventId, FileIdentity, Resource, RotationReason, Severity};
    use proptest::prelude::*;
    use std::sync::Arc;

    proptest! {
        /// Every day an object may be dated by is looked at once, nearest
        /// first, and no day after today.
        #[test]
        fn the_days_around_an_event_are_each_looked_at_once(
            event_day in -1_000i64..100_000,
            ahead in 0i64..100,
            object_offset in -LOOKBACK_DAYS..=LOOKAHEAD_DAYS,
        ) {
            let today = event_day + ahead;
            let days = candidate_days(event_day, today);
            let mut sorted = days.clone();
            sorted.sort_unstable();
            sorted.dedup();
            prop_assert_eq!(sorted.len(), days.len(), "a day twice: {:?}", days);
            prop_assert_eq!(days[0], event_day);
            prop_assert!(days.iter().all(|day| *day <= today.max(event_day)));
            let object_day = event_day + object_offset;
            if object_day <= today {
                prop_assert!(days.contains(&object_day), "{} not in {:?}", object_day, days);
            }
            prop_assert!(days.len() as i64 <= LOOKBACK_DAYS + 1 + LOOKAHEAD_DAYS);
        }
    }

    fn event(timestamp_unix_nano: i64, file: FileIdentity, source: &str) -> Event {
        Event {
            id: EventId::new("web-1", &file, 0),
            timestamp_unix_nano,
            observed_timestamp_unix_nano: timestamp_unix_nano,
            severity: Severity::default(),
            body: String::new(),
            attributes: serde_json::Map::new(),
            resource: Resource {
                host: "web-1".into(),
                source: source.into(),
                service: None,
                source_name: None,
            },
            file,
            offset: 0,
            parse_error: None,
        }
    }

    /// Archives `lines` as the rotated `app.log` last written at
    /// `modified_unix_nano`; the store and the file's identity.
    async fn archived(
        dir: &std::path::Path,
        lines: &str,
        modified_unix_nano: i64,
    ) -> (Arc<LocalStore>, FileIdentity) {
        let raw = dir.join("app.log.1");
        std::fs::write(&raw, lines).expect("raw");
        let modified = std::time::UNIX_EPOCH
            + std::time::Duration::from_nanos(
                u64::try_from(modified_unix_nano).expect("after 1970"),
            );
        std::fs::File::options()
            .write(true)
            .open(&raw)
            .and_then(|handle| handle.set_modified(modified))
            .expect("mtime");
        let file = FileIdentity::of_path(&raw, 1).expect("stat");
        let store = Arc::new(LocalStore::new(&dir.join("archive")));
        let spool = Spool::open(&dir.join("spool")).expect("spool");
        let archiver = Archiver::new(store.clone(), spool, "", 6, u64::MAX);
        archiver
            .archive(&ArchiveRequest {
                raw_path: raw,
                source_path: dir.join("app.log").display().to_string(),
                host: "web-1".into(),
                file,
                reason: RotationReason::Size,
            })
            .await
            .expect("archived");
        (store, file)
    }

    /// 2026-11-30T23:59:30Z, thirty seconds before a day ends.
    const LATE: i64 = 1_796_083_170 * 1_000_000_000;

    #[tokio::test]
    async fn an_event_just_before_midnight_finds_its_file_dated_the_next_day() {
        let dir = tempfile::tempdir().expect("tempdir");
        // A line that names no time: the object is dated by the file's
        // modification time, one minute into the next day, while the event
        // has its read time.
        let (store, file) = archived(
            dir.path(),
            "request served late\n",
            LATE + 90 * 1_000_000_000,
        )
        .await;
        let source = dir.path().join("app.log").display().to_string();
        let located = locate(store.as_ref(), &event(LATE, file, &source))
            .await
            .expect("listed")
            .expect("found on the next day");
        assert!(located.key.contains("/2026/12/01/"), "{}", located.key);
        assert_eq!(located.line_count, 1);
        assert_eq!(located.raw_name, "app.log.1");
        // Another file of the same name is not it.
        let other = FileIdentity { inode: 43, ..file };
        assert_eq!(
            locate(store.as_ref(), &event(LATE, other, &source))
                .await
                .expect("listed"),
            None
        );
    }

    /// The archiver dates a file by the times its first and last lines name
    /// wherever they are (a JSON field, an access log's brackets), not by
    /// its modification time.
    #[tokio::test]
    async fn a_file_is_dated_by_the_times_its_lines_name() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (store, file) = archived(
            dir.path(),
            concat!(
                "{\"level\":\"info\",\"time\":\"2026-11-30T23:59:30Z\",\"msg\":\"late\"}\n",
                "10.0.0.1 - - [01/Dec/2026:00:00:30 +0000] \"GET / HTTP/1.1\" 200 5 \"-\" \"curl/8\"\n",
            ),
            LATE + 3 * 86_400 * 1_000_000_000,
        )
        .await;
        let source = dir.path().join("app.log").display().to_string();
        let located = locate(store.as_ref(), &event(LATE, file, &source))
            .await
            .expect("listed")
            .expect("found on the event's day");
        assert!(
            located
                .key
                .contains("/2026/11/30/app.log/20261130T235930Z_20261201T000030Z_"),
            "{}",
            located.key
        );
    }

    #[tokio::test]
    async fn an_event_after_midnight_finds_its_file_dated_by_its_first_line() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (store, file) = archived(
            dir.path(),
            "2026-11-30T23:59:30Z first\n2026-12-01T00:00:30Z second\n",
            LATE + 90 * 1_000_000_000,
        )
        .await;
        let source = dir.path().join("app.log").display().to_string();
        let located = locate(
            store.as_ref(),
            &event(LATE + 60 * 1_000_000_000, file, &source),
        )
        .await
        .expect("listed")
        .expect("found on the day before");
        assert!(located.key.contains("/2026/11/30/"), "{}", located.key);
        assert_eq!(located.line_count, 2);
    }
}
