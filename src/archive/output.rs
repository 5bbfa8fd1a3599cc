//! Tables and JSON for `loghaul archive`. Names from the archive are shown
//! with control characters escaped: a hostile key cannot drive the terminal.

use std::io::Write;
use std::path::Path;

use loghaul_archive::catalog::{Entry, Listing};
use loghaul_archive::check::{Status, Verdict};
use loghaul_archive::restore::Restored;
use loghaul_model::time::UtcDateTime;
use serde::Serialize;

use crate::query::sanitize;

pub(crate) fn write_stdout(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        // A closed pipe (`| head`) is the reader's choice, not a failure.
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}

/// `2026-11-22T10:00:00Z`, with nanoseconds when there are any.
pub(crate) fn rfc3339(unix_nano: i64) -> String {
    let time = UtcDateTime::from_unix_nano(unix_nano);
    let nanos = unix_nano.rem_euclid(1_000_000_000);
    let fraction = if nanos == 0 {
        String::new()
    } else {
        format!(".{nanos:09}").trim_end_matches('0').to_owned()
    };
    format!(
        "{}T{:02}:{:02}:{:02}{fraction}Z",
        time.date_string(),
        time.hour,
        time.minute,
        time.second
    )
}

/// 1234567 → `1,234,567`.
pub(crate) fn thousands(number: u64) -> String {
    let digits = number.to_string();
    let mut out = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// Bytes in B, KiB, MiB or GiB.
pub(crate) fn bytes(count: u64) -> String {
    let value = count as f64;
    match count {
        0..1024 => format!("{count} B"),
        1024..1_048_576 => format!("{:.1} KiB", value / 1024.0),
        1_048_576..1_073_741_824 => format!("{:.1} MiB", value / 1_048_576.0),
        _ => format!("{:.2} GiB", value / 1_073_741_824.0),
    }
}

/// Lays out rows in columns two spaces apart; the last column is not padded.
fn columns(rows: &[Vec<String>]) -> String {
    let width = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..width)
        .map(|column| {
            rows.iter()
                .filter_map(|row| row.get(column))
                .map(|cell| cell.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in rows {
        let last = row.len().saturating_sub(1);
        for (column, cell) in row.iter().enumerate() {
            out.push_str(cell);
            if column < last {
                let pad = widths[column] - cell.chars().count() + 2;
                out.push_str(&" ".repeat(pad));
            }
        }
        out.push('\n');
    }
    out
}

/// One `ls --json` row.
#[derive(Serialize)]
pub(crate) struct ListRow<'a> {
    #[serde(flatten)]
    entry: &'a Entry,
    first: Option<String>,
    last: Option<String>,
}

/// `ls --json`.
#[derive(Serialize)]
pub(crate) struct ListJson<'a> {
    objects: Vec<ListRow<'a>>,
    foreign: &'a [String],
    prefixes: &'a [String],
    totals: Totals,
}

#[derive(Serialize, Default)]
struct Totals {
    objects: u64,
    missing: u64,
    raw_bytes: u64,
    compressed_bytes: u64,
    lines: u64,
}

fn totals(listing: &Listing) -> Totals {
    let mut totals = Totals::default();
    for entry in &listing.entries {
        match &entry.object {
            Some(object) => {
                totals.objects += 1;
                totals.compressed_bytes += object.size;
            }
            None => totals.missing += 1,
        }
        if let Some(expected) = &entry.expected {
            totals.raw_bytes += expected.manifest.raw_size;
            totals.lines += expected.manifest.line_count;
        }
    }
    totals
}

impl<'a> ListJson<'a> {
    pub(crate) fn new(listing: &'a Listing) -> Self {
        ListJson {
            objects: listing
                .entries
                .iter()
                .map(|entry| ListRow {
                    entry,
                    first: entry
                        .expected
                        .as_ref()
                        .map(|expected| rfc3339(expected.manifest.first_timestamp_unix_nano)),
                    last: entry
                        .expected
                        .as_ref()
                        .map(|expected| rfc3339(expected.manifest.last_timestamp_unix_nano)),
                })
                .collect(),
            foreign: &listing.foreign,
            prefixes: &listing.prefixes,
            totals: totals(listing),
        }
    }
}

pub(crate) fn list_table(listing: &Listing) -> String {
    let mut rows = vec![
        [
            "HOST",
            "SOURCE",
            "FIRST",
            "LAST",
            "RAW",
            "GZIP",
            "LINES",
            "REASON",
            "RETENTION",
            "SHA256",
        ]
        .map(str::to_owned)
        .to_vec(),
    ];
    let mut notes = Vec::new();
    for entry in &listing.entries {
        let gzip = entry
            .object
            .as_ref()
            .map_or("MISSING".to_owned(), |object| bytes(object.size));
        let retention = entry
            .object
            .as_ref()
            .and_then(|object| object.retention.as_ref())
            .map_or("-".to_owned(), |retention| {
                format!(
                    "{} until {}",
                    retention.mode.to_lowercase(),
                    retention.until
                )
            });
        match &entry.expected {
            Some(expected) => {
                let manifest = &expected.manifest;
                rows.push(vec![
                    sanitize(&manifest.host),
                    sanitize(&manifest.source_path),
                    rfc3339(manifest.first_timestamp_unix_nano),
                    rfc3339(manifest.last_timestamp_unix_nano),
                    bytes(manifest.raw_size),
                    gzip,
                    thousands(manifest.line_count),
                    manifest.reason.to_string(),
                    retention,
                    manifest.sha256.clone(),
                ]);
            }
            None => rows.push(vec![
                "?".into(),
                sanitize(&entry.key),
                "-".into(),
                "-".into(),
                "-".into(),
                gzip,
                "-".into(),
                "-".into(),
                retention,
                "-".into(),
            ]),
        }
        if let Some(problem) = &entry.problem {
            notes.push(format!("{}: {}", sanitize(&entry.key), sanitize(problem)));
        }
    }
    let mut out = columns(&rows);
    let totals = totals(listing);
    out.push_str(&format!(
        "\n{} objects, {} raw, {} gzip, {} lines",
        thousands(totals.objects),
        bytes(totals.raw_bytes),
        bytes(totals.compressed_bytes),
        thousands(totals.lines)
    ));
    if totals.missing > 0 {
        out.push_str(&format!(
            "; {} MISSING (a record without its object)",
            totals.missing
        ));
    }
    out.push('\n');
    for note in notes {
        out.push_str(&format!("note: {note}\n"));
    }
    for key in &listing.foreign {
        out.push_str(&format!(
            "note: {} is not in the key layout; not listed\n",
            sanitize(key)
        ));
    }
    out
}

pub(crate) fn verdict_table(verdicts: &[Verdict], summary: &str) -> String {
    let mut rows = vec![
        ["STATUS", "KEY", "RAW", "LINES", "REASON"]
            .map(str::to_owned)
            .to_vec(),
    ];
    for verdict in verdicts {
        rows.push(vec![
            verdict.status.as_str().to_uppercase(),
            sanitize(&verdict.key),
            bytes(verdict.raw_bytes),
            thousands(verdict.lines),
            verdict.reason.as_deref().map_or(String::new(), sanitize),
        ]);
    }
    format!("{}\n{summary}\n", columns(&rows))
}

pub(crate) fn restore_table(restored: &[Restored], summary: &str, manifest: &Path) -> String {
    let mut rows = vec![
        ["STATUS", "ACTION", "PATH", "REASON"]
            .map(str::to_owned)
            .to_vec(),
    ];
    for one in restored {
        rows.push(vec![
            one.verdict.status.as_str().to_uppercase(),
            one.action.to_owned(),
            one.path
                .as_deref()
                .map_or_else(|| sanitize(&one.verdict.key), sanitize),
            one.verdict
                .reason
                .as_deref()
                .map_or(String::new(), sanitize),
        ]);
    }
    let good = restored
        .iter()
        .filter(|one| one.verdict.status == Status::Good)
        .count();
    format!(
        "{}\n{summary}\naudit manifest: {}\n{}",
        columns(&rows),
        manifest.display(),
        if good > 0 {
            "check: cd DEST && sha256sum -c SHA256SUMS\n"
        } else {
            ""
        }
    )
}

#[cfg(test)]
mod tests {
    use loghaul_archive::Retention;
    use loghaul_archive::catalog::{Entry, Expected, ObjectSummary};
    use loghaul_model::{ArchiveManifest, FileIdentity, RotationReason};

    use super::*;

    /// `ls` shows each object's Object Lock retention, in the table and in
    /// JSON, and `-` where there is none.
    #[test]
    fn ls_shows_each_objects_retention() {
        let entry = |key: &str, retention: Option<Retention>| Entry {
            key: key.into(),
            object: Some(ObjectSummary {
                size: 10,
                retention,
            }),
            expected: Some(Expected {
                manifest: ArchiveManifest {
                    host: "web-1".into(),
                    source_path: "/var/log/app.log".into(),
                    file: FileIdentity {
                        device: 1,
                        inode: 2,
                        fingerprint: 3,
                    },
                    sha256: "ab".repeat(32),
                    raw_size: 20,
                    line_count: 2,
                    first_timestamp_unix_nano: 0,
                    last_timestamp_unix_nano: 1,
                    reason: RotationReason::Size,
                },
                raw_name: "app.log.1".into(),
                gzip_sha256: None,
            }),
            problem: None,
        };
        let listing = Listing {
            entries: vec![
                entry(
                    "a",
                    Some(Retention {
                        mode: "COMPLIANCE".into(),
                        until: "2027-01-01T00:00:00Z".into(),
                    }),
                ),
                entry("b", None),
            ],
            foreign: Vec::new(),
            prefixes: Vec::new(),
        };
        let table = list_table(&listing);
        let rows: Vec<&str> = table.lines().collect();
        assert!(rows[0].contains("RETENTION"), "{table}");
        assert!(
            rows[1].contains("compliance until 2027-01-01T00:00:00Z"),
            "{table}"
        );
        assert!(!rows[2].contains("until"), "{table}");
        let json = serde_json::to_value(ListJson::new(&listing)).expect("json");
        assert_eq!(
            json["objects"][0]["object"]["retention"],
            serde_json::json!({"mode": "COMPLIANCE", "until": "2027-01-01T00:00:00Z"})
        );
        assert!(json["objects"][1]["object"]["retention"].is_null());
    }

    #[test]
    fn numbers_and_times_read_well() {
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(thousands(12), "12");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_500_000_000), "1970-01-01T00:00:01.5Z");
    }
}
