//! Model-based test of the tailer on real files.
//!
//! Random sequences of writes, rename rotation, copytruncate, deletion (the
//! next file often gets the same inode), scans, polls, clean restarts and
//! crash restarts run against the real tailer in a temporary directory. The
//! queue is a list that confirms what it receives. At the end, every written
//! line must have arrived, in order within each file, and duplicates are
//! allowed only after a crash restart.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use loghaul_shipper::checkpoint::Checkpoints;
use loghaul_shipper::discovery::FileMatcher;
use loghaul_shipper::tailer::{OutgoingBatch, ROTATE_WAIT, SourceSpec, Tailer, TailerSettings};
use proptest::prelude::*;

#[derive(Clone, Debug)]
enum Op {
    Write(u8),
    /// Write half a line, no newline yet.
    WritePartial,
    Scan,
    Poll,
    RenameRotate,
    CopyTruncate,
    Delete,
    CleanRestart,
    CrashRestart,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (1u8..30).prop_map(Op::Write),
        1 => Just(Op::WritePartial),
        2 => Just(Op::Scan),
        4 => Just(Op::Poll),
        2 => Just(Op::RenameRotate),
        1 => Just(Op::CopyTruncate),
        1 => Just(Op::Delete),
        1 => Just(Op::CleanRestart),
        1 => Just(Op::CrashRestart),
    ]
}

struct Harness {
    dir: tempfile::TempDir,
    checkpoint_path: PathBuf,
    tailer: Tailer,
    now: Instant,
    /// Lines written and not lost by design, by number.
    written: Vec<u64>,
    next_line: u64,
    /// A partial line (no newline yet) at the end of app.log.
    partial_open: bool,
    delivered: Vec<(String, u64, u64)>,
    rotations: u32,
    crashed: bool,
    /// Which physical file each line went into, and which files were deleted.
    generation: u32,
    line_generation: HashMap<u64, u32>,
    deleted: std::collections::HashSet<u32>,
    /// Lines a crash made unreachable: written to a deleted file and not yet
    /// read. Only the open handle of the crashed process could reach them.
    excused: std::collections::HashSet<u64>,
}

fn settings() -> TailerSettings {
    TailerSettings {
        host: "model".into(),
        batch_max_bytes: 200,
        batch_max_records: 7,
        batch_max_wait: Duration::from_millis(100),
        buffer_bytes: 4096,
        max_open_files: 100,
        read_chunk: 64,
    }
}

fn tailer_for(dir: &Path, checkpoint_path: &Path) -> Tailer {
    let glob = dir.join("app.log").display().to_string();
    let source = SourceSpec {
        name: "app".into(),
        matcher: FileMatcher::new("app", &[glob], &[]).expect("glob"),
        labels: Default::default(),
        max_line_bytes: 1 << 16,
        multiline: None,
        include_compressed: false,
    };
    let checkpoints = Checkpoints::load(checkpoint_path).expect("checkpoints load");
    Tailer::new(settings(), vec![source], checkpoints)
}

impl Harness {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let checkpoint_path = dir.path().join("state/checkpoints.json");
        let tailer = tailer_for(&dir.path().join("logs"), &checkpoint_path);
        std::fs::create_dir_all(dir.path().join("logs")).expect("mkdir");
        Harness {
            dir,
            checkpoint_path,
            tailer,
            now: Instant::now(),
            written: Vec::new(),
            next_line: 0,
            partial_open: false,
            delivered: Vec::new(),
            rotations: 0,
            crashed: false,
            generation: 0,
            line_generation: HashMap::new(),
            deleted: std::collections::HashSet::new(),
            excused: std::collections::HashSet::new(),
        }
    }

    fn log(&self) -> PathBuf {
        self.dir.path().join("logs/app.log")
    }

    fn append(&mut self, bytes: &[u8]) {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log())
            .expect("open for append");
        file.write_all(bytes).expect("append");
    }

    fn write_lines(&mut self, count: u8) {
        let mut text = String::new();
        for _ in 0..count {
            if self.partial_open {
                // Finish the half-written line first.
                text.push_str(&format!("{}\n", self.next_line));
                self.written.push(self.next_line);
                self.line_generation.insert(self.next_line, self.generation);
                self.next_line += 1;
                self.partial_open = false;
                continue;
            }
            text.push_str(&format!("line {}\n", self.next_line));
            self.written.push(self.next_line);
            self.line_generation.insert(self.next_line, self.generation);
            self.next_line += 1;
        }
        self.append(text.as_bytes());
    }

    fn write_partial(&mut self) {
        if !self.partial_open {
            self.append(b"line ");
            self.partial_open = true;
        }
    }

    fn deliver(&mut self, batches: Vec<OutgoingBatch>) {
        for batch in batches {
            let decoded = batch.decode().expect("the tailer encodes valid batches");
            for record in &decoded.records {
                let text = String::from_utf8(record.bytes.clone()).expect("utf8");
                // An unterminated "line " left in a rotated or deleted file
                // arrives as it is: a fragment, not a numbered line.
                let number = if text == "line " {
                    u64::MAX
                } else {
                    text.trim_start_matches("line ")
                        .parse()
                        .unwrap_or_else(|_| panic!("unexpected record {text:?}"))
                };
                self.delivered
                    .push((decoded.file.to_key(), record.offset, number));
            }
            self.tailer.confirm(&batch.confirmation);
        }
    }

    fn poll(&mut self) {
        self.now += Duration::from_millis(150);
        self.tailer.scan(self.now);
        for _ in 0..200 {
            let mut out = Vec::new();
            let report = self.tailer.poll(self.now, &mut out);
            let idle = report.bytes_read == 0 && out.is_empty();
            self.deliver(out);
            if idle {
                break;
            }
        }
    }

    fn settle(&mut self) {
        for _ in 0..3 {
            self.poll();
            self.now += ROTATE_WAIT + Duration::from_secs(1);
            self.poll();
        }
        self.now += Duration::from_secs(1);
        let mut out = Vec::new();
        self.tailer.poll(self.now, &mut out);
        self.tailer.drain(self.now, &mut out);
        self.deliver(out);
    }

    fn restart(&mut self, clean: bool) {
        if clean {
            let mut out = Vec::new();
            self.tailer.drain(self.now, &mut out);
            self.deliver(out);
            self.tailer.persist().expect("persist");
        } else {
            self.crashed = true;
            let delivered: std::collections::HashSet<u64> = self
                .delivered
                .iter()
                .map(|(_, _, number)| *number)
                .collect();
            for (line, generation) in &self.line_generation {
                if self.deleted.contains(generation) && !delivered.contains(line) {
                    self.excused.insert(*line);
                }
            }
        }
        self.tailer = tailer_for(&self.dir.path().join("logs"), &self.checkpoint_path);
    }

    fn run(&mut self, op: &Op) {
        match op {
            Op::Write(count) => self.write_lines(*count),
            Op::WritePartial => self.write_partial(),
            Op::Scan => {
                self.now += Duration::from_millis(10);
                self.tailer.scan(self.now);
            }
            Op::Poll => {
                self.poll();
                // A crash may come right after a checkpoint write.
                self.tailer.persist().expect("persist");
            }
            Op::RenameRotate => {
                // The shipper has seen the file (it exists for a while before
                // any rotation); the rest it must read through its handle.
                self.tailer.scan(self.now);
                if self.log().exists() {
                    self.rotations += 1;
                    let rotated = self
                        .dir
                        .path()
                        .join(format!("logs/app.log.{}", self.rotations));
                    std::fs::rename(self.log(), rotated).expect("rename");
                    self.generation += 1;
                    // The writer keeps its half line; it finishes in the new file.
                    if self.partial_open {
                        self.append(b"line ");
                    }
                }
            }
            Op::CopyTruncate => {
                // copytruncate loses what was written after the shipper's last
                // confirmed read by its nature: let the shipper catch up and
                // confirm first, as it would within `max_wait` (the second
                // poll is past it, so the last partial batch goes out).
                self.poll();
                self.poll();
                if self.log().exists() {
                    self.rotations += 1;
                    let copy = self
                        .dir
                        .path()
                        .join(format!("logs/app.log.{}.copy", self.rotations));
                    std::fs::copy(self.log(), copy).expect("copy");
                    std::fs::File::create(self.log()).expect("truncate");
                    self.generation += 1;
                    if self.partial_open {
                        // The half line was copied away unterminated; it arrives
                        // as it was, but it is no longer a numbered line.
                        self.partial_open = false;
                        self.written.push(u64::MAX);
                    }
                }
            }
            Op::Delete => {
                self.tailer.scan(self.now);
                if self.log().exists() {
                    std::fs::remove_file(self.log()).expect("delete");
                    self.deleted.insert(self.generation);
                    self.generation += 1;
                    if self.partial_open {
                        self.partial_open = false;
                        self.written.push(u64::MAX);
                    }
                }
            }
            Op::CleanRestart => self.restart(true),
            Op::CrashRestart => self.restart(false),
        }
    }
}

fn check(harness: &Harness) -> Result<(), TestCaseError> {
    let mut counts: HashMap<u64, usize> = HashMap::new();
    for (_, _, number) in &harness.delivered {
        *counts.entry(*number).or_default() += 1;
    }
    for number in harness
        .written
        .iter()
        .filter(|number| **number != u64::MAX && !harness.excused.contains(number))
    {
        prop_assert!(
            counts.contains_key(number),
            "line {number} was written but never arrived"
        );
    }
    let duplicates: usize = counts
        .iter()
        .filter(|(number, _)| **number != u64::MAX)
        .map(|(_, count)| count - 1)
        .sum();
    if !harness.crashed {
        prop_assert_eq!(duplicates, 0, "duplicates without a crash");
    }
    // In order within each file, by offset, as first delivered.
    let mut last: HashMap<&str, u64> = HashMap::new();
    let mut seen_once = std::collections::HashSet::new();
    for (file, offset, number) in &harness.delivered {
        if !seen_once.insert((file.as_str(), *offset)) {
            continue;
        }
        if let Some(previous) = last.insert(file.as_str(), *offset) {
            prop_assert!(
                *offset > previous || harness.crashed,
                "offset {offset} after {previous} in {file} (line {number})"
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn every_written_line_arrives(ops in prop::collection::vec(op(), 1..40)) {
        let mut harness = Harness::new();
        for op in &ops {
            harness.run(op);
        }
        if harness.partial_open {
            harness.write_lines(1);
        }
        harness.settle();
        check(&harness)?;
    }
}
