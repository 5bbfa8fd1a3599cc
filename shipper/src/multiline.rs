//! Joins lines into one record: a Java stack trace, a pretty-printed dump.
//!
//! Two rules, as the config offers them:
//!
//! - `start`: a line matching the pattern begins a record, and every other
//!   line belongs to the record before it;
//! - `continuation`: a line matching the pattern belongs to the record before
//!   it, and every other line begins a record.
//!
//! A record waits for the line that ends it. If none comes within the
//! timeout, it goes out anyway. A merged record stays within the size limit,
//! flagged `truncated` when cut.

use std::time::{Duration, Instant};

use loghaul_model::RawRecord;
use regex::bytes::Regex;

use crate::records::{Line, trim_cut_character};

/// How lines join.
#[derive(Clone, Debug)]
pub enum MultilineRule {
    /// A match starts a new record.
    Start(Regex),
    /// A match continues the current record.
    Continuation(Regex),
}

impl MultilineRule {
    /// The rule a `multiline` config entry describes.
    pub fn from_config(config: &loghaul_config::MultilineConfig) -> Option<Self> {
        let compile = |pattern: &loghaul_config::Pattern| Regex::new(pattern.as_str()).ok();
        match (&config.start, &config.continuation) {
            (Some(start), _) => compile(start).map(MultilineRule::Start),
            (None, Some(continuation)) => compile(continuation).map(MultilineRule::Continuation),
            (None, None) => None,
        }
    }

    fn joins_previous(&self, bytes: &[u8]) -> bool {
        match self {
            MultilineRule::Start(start) => !start.is_match(bytes),
            MultilineRule::Continuation(continuation) => continuation.is_match(bytes),
        }
    }
}

#[derive(Debug)]
struct Pending {
    line: Line,
    updated: Instant,
}

/// Merges lines by a [`MultilineRule`].
#[derive(Debug)]
pub struct MultilineMerger {
    rule: MultilineRule,
    timeout: Duration,
    max_bytes: usize,
    pending: Option<Pending>,
}

impl MultilineMerger {
    /// A merger; merged records are capped at `max_bytes`.
    pub fn new(rule: MultilineRule, timeout: Duration, max_bytes: usize) -> Self {
        MultilineMerger {
            rule,
            timeout,
            max_bytes,
            pending: None,
        }
    }

    /// Offset where the record waiting for more lines starts: nothing from
    /// here on may be checkpointed yet.
    pub fn pending_start(&self) -> Option<u64> {
        self.pending
            .as_ref()
            .map(|pending| pending.line.record.offset)
    }

    /// Takes the next line; finished records go to `out`.
    pub fn push(&mut self, line: Line, now: Instant, out: &mut Vec<Line>) {
        match self.pending.as_mut() {
            Some(pending) if self.rule.joins_previous(&line.record.bytes) => {
                append(&mut pending.line, &line, self.max_bytes);
                pending.updated = now;
            }
            _ => {
                self.flush(out);
                self.pending = Some(Pending { line, updated: now });
            }
        }
    }

    /// Emits the waiting record if no line came for it within the timeout.
    pub fn flush_stale(&mut self, now: Instant, out: &mut Vec<Line>) {
        if self
            .pending
            .as_ref()
            .is_some_and(|pending| now.duration_since(pending.updated) >= self.timeout)
        {
            self.flush(out);
        }
    }

    /// Emits the waiting record now.
    pub fn flush(&mut self, out: &mut Vec<Line>) {
        if let Some(pending) = self.pending.take() {
            let mut line = pending.line;
            if line.record.flags.truncated {
                trim_cut_character(&mut line.record.bytes);
            }
            line.record.flags.invalid_utf8 = std::str::from_utf8(&line.record.bytes).is_err();
            out.push(line);
        }
    }
}

fn append(into: &mut Line, next: &Line, max_bytes: usize) {
    let record: &mut RawRecord = &mut into.record;
    record.flags.truncated |= next.record.flags.truncated;
    let room = max_bytes.saturating_sub(record.bytes.len());
    if room == 0 {
        // Not even the joining newline fits.
        record.flags.truncated = true;
    } else {
        record.bytes.push(b'\n');
        let take = next.record.bytes.len().min(room - 1);
        record.bytes.extend_from_slice(&next.record.bytes[..take]);
        if take < next.record.bytes.len() {
            record.flags.truncated = true;
        }
    }
    into.end_offset = next.end_offset;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::RecordSplitter;

    fn lines_of(text: &[u8]) -> Vec<Line> {
        let mut splitter = RecordSplitter::new(0, 1 << 20);
        let mut lines = Vec::new();
        splitter.push(text, &mut lines);
        splitter.finish(&mut lines);
        lines
    }

    fn merge(rule: MultilineRule, text: &[u8], max_bytes: usize) -> Vec<Line> {
        let mut merger = MultilineMerger::new(rule, Duration::from_secs(2), max_bytes);
        let now = Instant::now();
        let mut out = Vec::new();
        for line in lines_of(text) {
            merger.push(line, now, &mut out);
        }
        merger.flush(&mut out);
        out
    }

    fn start(pattern: &str) -> MultilineRule {
        MultilineRule::Start(Regex::new(pattern).expect("valid pattern"))
    }

    #[test]
    fn kafka_stack_traces_come_out_one_record_per_entry() {
        let text = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/data/elastic-examples/kafka0_controller.log.2016-12-19-18"
        ))
        .expect("fixture present");
        let records = merge(start(r"^\[\d{4}-\d{2}-\d{2} "), &text, 1 << 20);
        assert_eq!(records.len(), 803, "803 entries in 1,032 lines");
        for record in &records {
            assert!(
                record.record.bytes.starts_with(b"[2016-12-19 "),
                "each record starts an entry"
            );
        }
        let with_trace = records
            .iter()
            .find(|record| {
                record
                    .record
                    .bytes
                    .windows(11)
                    .any(|window| window == b"IOException")
            })
            .expect("a record with a stack trace");
        let text = String::from_utf8_lossy(&with_trace.record.bytes);
        assert!(
            text.contains("\n\tat kafka.utils.NetworkClientBlockingOps"),
            "{text}"
        );
        // Offsets tile the file.
        let mut expected = 0;
        for record in &records {
            assert_eq!(record.record.offset, expected);
            expected = record.end_offset;
        }
        assert_eq!(
            expected,
            std::fs::metadata(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../tests/data/elastic-examples/kafka0_controller.log.2016-12-19-18"
            ))
            .expect("fixture")
            .len()
        );
    }

    #[test]
    fn continuation_rule_joins_indented_lines() {
        let rule = MultilineRule::Continuation(Regex::new(r"^\s").expect("valid"));
        let records = merge(rule, b"a\n  b\n  c\nd\ne\n  f\n", 1000);
        let texts: Vec<&[u8]> = records
            .iter()
            .map(|line| line.record.bytes.as_slice())
            .collect();
        assert_eq!(texts, [&b"a\n  b\n  c"[..], b"d", b"e\n  f"]);
    }

    #[test]
    fn merged_records_respect_the_size_limit() {
        let records = merge(start("^S"), b"S123\nxxxxx\nyyyyy\nS2\n", 8);
        assert_eq!(records[0].record.bytes, b"S123\nxxx");
        assert!(records[0].record.flags.truncated);
        assert_eq!(
            records[0].end_offset, 17,
            "the skipped lines are still accounted for"
        );
        assert_eq!(records[1].record.bytes, b"S2");
    }

    #[test]
    fn a_waiting_record_goes_out_after_the_timeout() {
        let mut merger = MultilineMerger::new(start("^S"), Duration::from_secs(2), 100);
        let begin = Instant::now();
        let mut out = Vec::new();
        for line in lines_of(b"S first\n  more\n") {
            merger.push(line, begin, &mut out);
        }
        assert!(out.is_empty());
        assert_eq!(merger.pending_start(), Some(0));
        merger.flush_stale(begin + Duration::from_secs(1), &mut out);
        assert!(out.is_empty(), "not stale yet");
        merger.flush_stale(begin + Duration::from_secs(2), &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(merger.pending_start(), None);
    }
}
