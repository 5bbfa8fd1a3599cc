//! Which archived object holds an event's raw line: the link from a search
//! result back to the byte-exact file it was read from.
//!
//! An object is filed under the day of its first record and the file's
//! name, so the candidates for an event are a few prefixes
//! (`<host>/<day>/<file name>/` for the event's day and the two before);
//! the one whose record names the event's host and file identity is it.

use loghaul_archive::ObjectStore;
use loghaul_archive::catalog::{self, parse_key};
use loghaul_model::time::UtcDateTime;
use loghaul_model::{Event, safe_key_segment};
use serde::Serialize;

const NANOS_PER_DAY: i64 = 86_400 * 1_000_000_000;
/// Days before the event's own that its file may have begun.
const LOOKBACK_DAYS: i64 = 2;

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
    let day = event.timestamp_unix_nano.div_euclid(NANOS_PER_DAY);
    for day in (day - LOOKBACK_DAYS..=day).rev() {
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
