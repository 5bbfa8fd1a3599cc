//! The real-world format corpus in `tests/data/formats`: 46 formats people
//! run, each a sample as its program wrote it and an answer key per record
//! (time, severity, message), made from what the generator handed the
//! logger or from the program's own parallel structured output, never by a
//! parser like ours (see its README).
//!
//! With `format = "auto"`, at least 99% of each format's records must get
//! the key's time and severity. The test prints every format's scores, and
//! the first misses of any format below the bar.

#![allow(clippy::print_stdout)]

use std::path::{Path, PathBuf};

use loghaul_config::ParserConfig;
use loghaul_model::{Event, FileIdentity, RawBatch, RawRecord};
use loghaul_parser::Parser;
use serde::Deserialize;

mod support;

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/data/formats")
}

#[derive(Deserialize)]
struct Entry {
    name: String,
    dir: String,
    file: String,
    records: usize,
    timezone: Option<String>,
}

#[derive(Deserialize)]
struct Key {
    line: usize,
    lines: usize,
    time: Option<String>,
    severity: u8,
    message: String,
    #[serde(default)]
    fields: serde_json::Value,
}

/// How one format scored.
struct Score {
    name: String,
    records: usize,
    time: usize,
    severity: usize,
    message: usize,
    misses: Vec<String>,
}

impl Score {
    fn rate(&self, right: usize) -> f64 {
        right as f64 / self.records.max(1) as f64
    }
}

/// The key's records, cut from the sample by their line numbers, as a
/// shipper with the right multiline setting sends them.
fn records(sample: &[u8], keys: &[Key]) -> Vec<RawRecord> {
    let mut starts = vec![0usize];
    for (at, byte) in sample.iter().enumerate() {
        if *byte == b'\n' {
            starts.push(at + 1);
        }
    }
    keys.iter()
        .map(|key| {
            let start = starts[key.line - 1];
            let end = starts
                .get(key.line - 1 + key.lines)
                .map_or(sample.len(), |next| next - 1);
            RawRecord::new(start as u64, sample[start..end].to_vec())
        })
        .collect()
}

fn key_nanos(text: &str) -> i64 {
    let timestamp: jiff::Timestamp = text
        .parse()
        .unwrap_or_else(|error| panic!("key time {text:?}: {error}"));
    i64::try_from(timestamp.as_nanosecond()).expect("in range")
}

fn score(entry: &Entry) -> Score {
    let dir = corpus().join(&entry.dir);
    let sample = std::fs::read(dir.join(&entry.file)).expect("sample");
    let keys: Vec<Key> = std::fs::read_to_string(dir.join("key.jsonl"))
        .expect("key")
        .lines()
        .map(|line| serde_json::from_str(line).expect("key line"))
        .collect();
    assert_eq!(
        keys.len(),
        entry.records,
        "{}: the manifest's count",
        entry.name
    );
    let batch = RawBatch {
        host: "corpus".into(),
        source: format!("/var/log/{}.log", entry.name),
        file: FileIdentity {
            device: 1,
            inode: 2,
            fingerprint: 3,
        },
        format_hint: None,
        records: records(&sample, &keys),
        // An hour after the newest record: yearless stamps take this year.
        read_time_unix_nano: key_nanos("2026-12-01T12:00:00Z"),
        timezone: entry.timezone.clone(),
        service: None,
        source_name: Some(entry.name.clone()),
    };
    let mut parser = Parser::new(&ParserConfig::default()).expect("parser");
    let events = support::parse_checked(&mut parser, &batch);
    assert_eq!(
        events.len(),
        keys.len(),
        "{}: one event per record",
        entry.name
    );
    let mut score = Score {
        name: entry.name.clone(),
        records: keys.len(),
        time: 0,
        severity: 0,
        message: 0,
        misses: Vec::new(),
    };
    for (key, event) in keys.iter().zip(&events) {
        let time_right = match &key.time {
            // Floats (zap, Caddy) carry rounding digits: a microsecond.
            Some(time) => (event.timestamp_unix_nano - key_nanos(time)).abs() <= 1_000,
            // A format that writes no time: the read time, and no claim.
            None => event.timestamp_unix_nano == batch.read_time_unix_nano,
        };
        let severity_right = event.severity.number == expected_severity(key, event);
        let message_right = message_matches(event, &key.message);
        score.time += usize::from(time_right);
        score.severity += usize::from(severity_right);
        score.message += usize::from(message_right);
        if !(time_right && severity_right) && score.misses.len() < 6 {
            let first_line = String::from_utf8_lossy(&sample)
                .lines()
                .nth(key.line - 1)
                .unwrap_or_default()
                .chars()
                .take(160)
                .collect::<String>();
            score.misses.push(format!(
                "line {}: {first_line}\n      key time {:?} severity {}; got {} severity {} ({:?}) format {:?}",
                key.line,
                key.time,
                key.severity,
                jiff::Timestamp::from_nanosecond(i128::from(event.timestamp_unix_nano))
                    .map(|time| time.to_string())
                    .unwrap_or_default(),
                event.severity.number,
                event.severity.text,
                event.attributes.get("log.format"),
            ));
        }
    }
    score
}

/// The key's severity, except where loghaul documents a rule of its own:
/// an access log line, which writes no level, gets the severity of its
/// HTTP status (README, "Formats").
fn expected_severity(key: &Key, event: &Event) -> u8 {
    let access = event.attributes.contains_key("http.response.status_code");
    match key.fields.get("status").and_then(serde_json::Value::as_u64) {
        Some(status) if key.severity == 0 && access => {
            loghaul_parser::severity::from_http_status(u16::try_from(status).unwrap_or(0))
        }
        _ => key.severity,
    }
}

/// Whether the event's body holds the key's message (its first line; the
/// body may keep a prefix the key does not, such as a logger name).
fn message_matches(event: &Event, message: &str) -> bool {
    let message = message.lines().next().unwrap_or_default().trim();
    message.is_empty() || event.body.contains(message)
}

#[test]
fn every_format_of_the_corpus_reads_right_with_auto() {
    let manifest: Vec<Entry> = serde_json::from_str(
        &std::fs::read_to_string(corpus().join("MANIFEST.json")).expect("manifest"),
    )
    .expect("manifest JSON");
    assert!(manifest.len() >= 25, "at least 25 formats");
    let scores: Vec<Score> = manifest.iter().map(score).collect();
    println!(
        "{:<28} {:>7} {:>7} {:>9} {:>8}",
        "format", "records", "time", "severity", "message"
    );
    for score in &scores {
        println!(
            "{:<28} {:>7} {:>6.1}% {:>8.1}% {:>7.1}%",
            score.name,
            score.records,
            100.0 * score.rate(score.time),
            100.0 * score.rate(score.severity),
            100.0 * score.rate(score.message),
        );
    }
    let below: Vec<&Score> = scores
        .iter()
        .filter(|score| score.rate(score.time) < 0.99 || score.rate(score.severity) < 0.99)
        .collect();
    for score in &below {
        println!("\n{} misses:", score.name);
        for miss in &score.misses {
            println!("  {miss}");
        }
    }
    assert!(
        below.is_empty(),
        "below 99% in time or severity: {}",
        below
            .iter()
            .map(|score| score.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
}
