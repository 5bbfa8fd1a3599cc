//! Correctness on real logs: every Loghub sample in `tests/data/loghub`,
//! parsed with `format = "auto"`, against the structured CSV Loghub ships
//! beside it. At least 99% of events must get the CSV's timestamp and level.
//!
//! The CSVs split the stamp into columns that differ per system; `expected`
//! below reads them. Two systems have no level in their text: Loghub's
//! `Linux` CSV puts the host name in its `Level` column and `OpenSSH` has no
//! level column; for those the host the parser extracted is checked instead.

use std::fs;
use std::path::{Path, PathBuf};

use loghaul_config::ParserConfig;
use loghaul_model::time::UtcDateTime;
use loghaul_model::{Event, FileIdentity, RawBatch, RawRecord};
use loghaul_parser::Parser;

mod support;

/// 2026-11-22T08:00:00Z: the read time, which yearless stamps are placed before.
const READ_TIME: i64 = 1_795_334_400_000_000_000;

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/data/loghub")
}

/// RFC 4180 rows: quoted fields with `""` escapes; CRLF or LF.
fn csv_rows(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => field.push(c),
        }
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    rows
}

/// What the CSV says: (year if it has one, month, day, h, m, s, ms).
type Expected = (Option<i64>, u32, u32, u32, u32, u32, u32);

fn month_number(name: &str) -> u32 {
    let months = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    months
        .iter()
        .position(|month| *month == name)
        .map(|index| index as u32 + 1)
        .unwrap_or_else(|| panic!("month {name:?}"))
}

fn number(text: &str) -> u32 {
    text.trim()
        .parse()
        .unwrap_or_else(|_| panic!("number {text:?}"))
}

/// `HH:MM:SS`, `HH:MM:SS.mmm` or `HH:MM:SS,mmm`.
fn clock(text: &str) -> (u32, u32, u32, u32) {
    let (main, fraction) = text.split_once(['.', ',']).unwrap_or((text, "0"));
    let parts: Vec<u32> = main.split(':').map(number).collect();
    let millis = number(&format!("{fraction:0<3}")[..3]);
    (parts[0], parts[1], parts[2], millis)
}

fn expected(system: &str, column: &dyn Fn(&str) -> String) -> Expected {
    let iso_date = |text: String| {
        let parts: Vec<u32> = text.split('-').map(number).collect();
        (i64::from(parts[0]), parts[1], parts[2])
    };
    match system {
        "Android" => {
            let (month, day) = column("Date")
                .split_once('-')
                .map(|(m, d)| (number(m), number(d)))
                .expect("MM-DD");
            let (h, m, s, ms) = clock(&column("Time"));
            (None, month, day, h, m, s, ms)
        }
        "Apache" => {
            // `Sun Dec 04 04:47:44 2005`
            let time = column("Time");
            let parts: Vec<&str> = time.split_whitespace().collect();
            let (h, m, s, ms) = clock(parts[3]);
            (
                Some(i64::from(number(parts[4]))),
                month_number(parts[1]),
                number(parts[2]),
                h,
                m,
                s,
                ms,
            )
        }
        "HDFS" => {
            let date = column("Date");
            let time = column("Time");
            (
                Some(2000 + i64::from(number(&date[0..2]))),
                number(&date[2..4]),
                number(&date[4..6]),
                number(&time[0..2]),
                number(&time[2..4]),
                number(&time[4..6]),
                0,
            )
        }
        "Spark" => {
            let date = column("Date");
            let parts: Vec<u32> = date.split('/').map(number).collect();
            let (h, m, s, ms) = clock(&column("Time"));
            (
                Some(2000 + i64::from(parts[0])),
                parts[1],
                parts[2],
                h,
                m,
                s,
                ms,
            )
        }
        "Linux" => {
            let (h, m, s, ms) = clock(&column("Time"));
            (
                None,
                month_number(&column("Month")),
                number(&column("Date")),
                h,
                m,
                s,
                ms,
            )
        }
        "OpenSSH" => {
            let (h, m, s, ms) = clock(&column("Time"));
            (
                None,
                month_number(&column("Date")),
                number(&column("Day")),
                h,
                m,
                s,
                ms,
            )
        }
        _ => {
            let (year, month, day) = iso_date(column("Date"));
            let (h, m, s, ms) = clock(&column("Time"));
            (Some(year), month, day, h, m, s, ms)
        }
    }
}

fn actual(event: &Event) -> Expected {
    let civil = UtcDateTime::from_unix_nano(event.timestamp_unix_nano);
    let millis = (event.timestamp_unix_nano.rem_euclid(1_000_000_000) / 1_000_000) as u32;
    (
        Some(civil.year),
        civil.month,
        civil.day,
        civil.hour,
        civil.minute,
        civil.second,
        millis,
    )
}

fn matches(expected: Expected, actual: Expected) -> bool {
    let (year, rest) = (
        expected.0,
        (
            expected.1, expected.2, expected.3, expected.4, expected.5, expected.6,
        ),
    );
    let actual_rest = (actual.1, actual.2, actual.3, actual.4, actual.5, actual.6);
    year.is_none_or(|year| Some(year) == actual.0) && rest == actual_rest
}

fn parse_file(system: &str) -> Vec<Event> {
    let path = data_dir().join(system).join(format!("{system}_2k.log"));
    let bytes = fs::read(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    let mut records = Vec::new();
    let mut offset = 0u64;
    for line in bytes.split(|byte| *byte == b'\n') {
        let start = offset;
        offset += line.len() as u64 + 1;
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if !line.is_empty() {
            records.push(RawRecord::new(start, line.to_vec()));
        }
    }
    let mut parser = Parser::new(&ParserConfig::default()).expect("parser");
    let mut events = Vec::new();
    // Several batches, as the shipper would send them: what auto detection
    // learnt must carry over.
    for chunk in records.chunks(300) {
        let batch = RawBatch {
            host: "loghub".into(),
            source: path.display().to_string(),
            file: FileIdentity {
                device: 1,
                inode: 2,
                fingerprint: 3,
            },
            format_hint: None,
            records: chunk.to_vec(),
            read_time_unix_nano: READ_TIME,
            timezone: Some("UTC".into()),
            service: None,
            source_name: None,
        };
        events.extend(support::parse_checked(&mut parser, &batch));
    }
    events
}

fn attribute<'a>(event: &'a Event, key: &str) -> Option<&'a str> {
    event.attributes.get(key).and_then(|value| value.as_str())
}

#[test]
fn loghub_timestamps_and_levels_match_the_answer_keys() {
    let systems = [
        "Android",
        "Apache",
        "HDFS",
        "Hadoop",
        "Linux",
        "OpenSSH",
        "OpenStack",
        "Spark",
        "Windows",
        "Zookeeper",
    ];
    let mut failures = Vec::new();
    for system in systems {
        let csv_path = data_dir()
            .join(system)
            .join(format!("{system}_2k.log_structured.csv"));
        let text = fs::read_to_string(&csv_path).expect("csv");
        let rows = csv_rows(&text);
        let header = rows[0].clone();
        let events = parse_file(system);
        assert_eq!(
            events.len(),
            rows.len() - 1,
            "{system}: one event per CSV row"
        );

        let mut time_ok = 0;
        let mut level_ok = 0;
        let mut examples = Vec::new();
        for (row, event) in rows[1..].iter().zip(&events) {
            let column = |name: &str| -> String {
                let index = header
                    .iter()
                    .position(|column| column == name)
                    .unwrap_or_else(|| panic!("{system}: no column {name}"));
                row[index].clone()
            };
            let want = expected(system, &column);
            let got = actual(event);
            let time_matches = matches(want, got) && event.timestamp_unix_nano <= READ_TIME;
            if time_matches {
                time_ok += 1;
            }
            let level_matches = match system {
                // Loghub's Linux CSV has the host in `Level`; OpenSSH's has
                // it in `Component`. Neither text carries a level.
                "Linux" => attribute(event, "syslog.hostname") == Some(column("Level").as_str()),
                "OpenSSH" => {
                    attribute(event, "syslog.hostname") == Some(column("Component").as_str())
                }
                _ => {
                    event.severity.text.as_deref() == Some(column("Level").trim())
                        && event.severity.number > 0
                }
            };
            if level_matches {
                level_ok += 1;
            }
            if (!time_matches || !level_matches) && examples.len() < 3 {
                examples.push(format!(
                    "  line {}: want {want:?} level {:?}, got {got:?} {:?} ({:?})",
                    column("LineId"),
                    if system == "OpenSSH" {
                        column("Component")
                    } else {
                        column("Level")
                    },
                    event.severity,
                    event.parse_error
                ));
            }
        }
        let total = events.len();
        let rate = |ok: usize| 100.0 * ok as f64 / total as f64;
        let level_label = if matches!(system, "Linux" | "OpenSSH") {
            "host"
        } else {
            "level"
        };
        eprintln!(
            "{system:<10} timestamp {time_ok}/{total} ({:.2}%)  {level_label} {level_ok}/{total} ({:.2}%)  format {:?}",
            rate(time_ok),
            rate(level_ok),
            events
                .last()
                .and_then(|event| attribute(event, "log.format")),
        );
        for example in &examples {
            eprintln!("{example}");
        }
        if rate(time_ok) < 99.0 || rate(level_ok) < 99.0 {
            failures.push(system);
        }
    }
    assert!(failures.is_empty(), "below 99%: {failures:?}");
}
