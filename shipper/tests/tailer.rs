//! Scenario tests of the tailer on real files, stepped by hand.

use std::path::Path;
use std::time::{Duration, Instant};

use loghaul_shipper::checkpoint::Checkpoints;
use loghaul_shipper::discovery::FileMatcher;
use loghaul_shipper::tailer::{OutgoingBatch, SourceSpec, Tailer, TailerSettings};

fn tailer(dir: &Path, glob: &str) -> Tailer {
    let source = SourceSpec {
        name: "app".into(),
        matcher: FileMatcher::new("app", &[dir.join(glob).display().to_string()], &[])
            .expect("glob"),
        format_hint: None,
        max_line_bytes: 1 << 16,
        multiline: None,
    };
    let settings = TailerSettings {
        host: "h".into(),
        batch_max_bytes: 1 << 20,
        batch_max_records: 1000,
        batch_max_wait: Duration::from_millis(10),
        buffer_bytes: 1 << 24,
        max_open_files: 100,
        read_chunk: 4096,
    };
    Tailer::new(
        settings,
        vec![source],
        Checkpoints::load(&dir.join("state/cp.json")).expect("checkpoints"),
    )
}

fn step(tailer: &mut Tailer, now: &mut Instant) -> Vec<OutgoingBatch> {
    *now += Duration::from_millis(50);
    tailer.scan(*now);
    let mut out = Vec::new();
    tailer.poll(*now, &mut out);
    *now += Duration::from_millis(50);
    tailer.poll(*now, &mut out);
    for batch in &out {
        tailer.confirm(&batch.confirmation);
    }
    out
}

fn texts(batches: &[OutgoingBatch]) -> Vec<String> {
    batches
        .iter()
        .flat_map(|batch| {
            let decoded = batch.decode().expect("valid batch");
            decoded
                .records
                .into_iter()
                .map(|record| String::from_utf8_lossy(&record.bytes).into_owned())
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn compressed_files_are_skipped_whatever_their_name() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("app.log"), b"plain line\n").expect("write");
    std::fs::write(
        dir.path().join("app.log.1.gz"),
        [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, b'\n'],
    )
    .expect("write");
    // Seen empty first, then filled by a compressor.
    std::fs::write(dir.path().join("app.log.2.gz"), b"").expect("write");
    let mut tailer = tailer(dir.path(), "app.log*");
    let mut now = Instant::now();
    let mut all = step(&mut tailer, &mut now);
    std::fs::write(
        dir.path().join("app.log.2.gz"),
        [0x1f, 0x8b, 8, 0, b'\n', 1, 2, 3, b'\n'],
    )
    .expect("write");
    all.extend(step(&mut tailer, &mut now));
    all.extend(step(&mut tailer, &mut now));
    assert_eq!(texts(&all), ["plain line"]);
    assert_eq!(tailer.file_counts().0, 1, "only the plain file is watched");
}

#[test]
fn content_rewritten_to_the_same_size_gets_new_event_identities() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("app.log");
    std::fs::write(&log, b"same prefix: old\n").expect("write");
    let mut tailer = tailer(dir.path(), "app.log");
    let mut now = Instant::now();
    let first = step(&mut tailer, &mut now);
    // copytruncate, then the writer refills the file to the same length with
    // the same first bytes: only the bytes before the offset tell.
    std::fs::write(&log, b"same prefix: new\n").expect("rewrite");
    let second = step(&mut tailer, &mut now);
    assert_eq!(texts(&first), ["same prefix: old"]);
    assert_eq!(texts(&second), ["same prefix: new"]);
    assert_ne!(
        first[0].decode().expect("valid").file,
        second[0].decode().expect("valid").file,
        "new content at the same offsets must not share event ids with the old"
    );
}
