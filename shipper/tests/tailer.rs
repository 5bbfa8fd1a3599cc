//! Scenario tests of the tailer on real files, stepped by hand.

use std::path::Path;
use std::time::{Duration, Instant};

use loghaul_shipper::checkpoint::Checkpoints;
use loghaul_shipper::discovery::FileMatcher;
use loghaul_shipper::tailer::{OutgoingBatch, SourceSpec, Tailer, TailerSettings};

fn tailer(dir: &Path, glob: &str) -> Tailer {
    tailer_with(dir, glob, false, 1 << 20)
}

fn tailer_with(dir: &Path, glob: &str, include_compressed: bool, batch_max_bytes: usize) -> Tailer {
    let source = SourceSpec {
        name: "app".into(),
        matcher: FileMatcher::new("app", &[dir.join(glob).display().to_string()], &[])
            .expect("glob"),
        labels: Default::default(),
        max_line_bytes: 1 << 16,
        multiline: None,
        include_compressed,
    };
    let settings = TailerSettings {
        host: "h".into(),
        batch_max_bytes,
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

fn gzip(text: &str) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(text.as_bytes()).expect("compress");
    encoder.finish().expect("compress")
}

fn numbered(range: std::ops::Range<u32>) -> String {
    range.map(|n| format!("old line {n}\n")).collect()
}

fn numbers(batches: &[OutgoingBatch]) -> Vec<u32> {
    texts(batches)
        .iter()
        .map(|text| {
            text.trim_start_matches("old line ")
                .parse()
                .expect("numbered")
        })
        .collect()
}

#[test]
fn gzip_files_are_read_once_when_configured() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("app.log.1.gz"), gzip(&numbered(0..1000))).expect("write");
    let mut tailer = tailer_with(dir.path(), "app.log*", true, 1 << 20);
    let mut now = Instant::now();
    let mut all = Vec::new();
    for _ in 0..3 {
        all.extend(step(&mut tailer, &mut now));
    }
    assert_eq!(numbers(&all), (0..1000).collect::<Vec<_>>());
    tailer.persist().expect("persist");
    let mut again = tailer_with(dir.path(), "app.log*", true, 1 << 20);
    assert!(
        step(&mut again, &mut now).is_empty(),
        "a finished gzip file is not read again"
    );
}

#[test]
fn a_gzip_file_resumes_mid_stream_after_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("big.log.gz"), gzip(&numbered(0..20_000))).expect("write");
    // Small batches: one step reads only part of the stream.
    let mut tailer = tailer_with(dir.path(), "*.gz", true, 4096);
    let mut now = Instant::now();
    let first = step(&mut tailer, &mut now);
    let got = numbers(&first);
    assert!(
        !got.is_empty() && got.len() < 20_000,
        "read part: {}",
        got.len()
    );
    tailer.persist().expect("persist");
    let mut resumed = tailer_with(dir.path(), "*.gz", true, 1 << 20);
    let mut rest = Vec::new();
    for _ in 0..5 {
        rest.extend(step(&mut resumed, &mut now));
    }
    let mut all = got;
    all.extend(numbers(&rest));
    assert_eq!(
        all,
        (0..20_000).collect::<Vec<_>>(),
        "every line once, in order"
    );
}

#[test]
fn a_gzip_file_still_being_written_is_read_once_complete() {
    let dir = tempfile::tempdir().expect("tempdir");
    let compressed = gzip(&numbered(0..5000));
    let path = dir.path().join("app.log.2.gz");
    std::fs::write(&path, &compressed[..compressed.len() / 2]).expect("write half");
    let mut tailer = tailer_with(dir.path(), "*.gz", true, 1 << 20);
    let mut now = Instant::now();
    let mut all = step(&mut tailer, &mut now);
    std::fs::write(&path, &compressed).expect("write all");
    for _ in 0..3 {
        all.extend(step(&mut tailer, &mut now));
    }
    assert_eq!(numbers(&all), (0..5000).collect::<Vec<_>>());
}

#[test]
fn the_shippers_own_rotation_loses_no_line() {
    use loghaul_config::RotateMode;
    use loghaul_shipper::rotate::{RotationPolicy, Rotator};
    use std::io::Write;

    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("app.log");
    let append = |path: &Path, range: std::ops::Range<u32>| {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .expect("open");
        for n in range {
            writeln!(file, "old line {n}").expect("write");
        }
    };
    append(&log, 0..100);
    let mut tailer = tailer(dir.path(), "*.log");
    let mut now = Instant::now();
    let mut all = step(&mut tailer, &mut now);
    append(&log, 100..150);
    let mut rotator = Rotator::new(RotationPolicy {
        max_bytes: Some(1000),
        max_age: None,
        mode: RotateMode::Rename,
        signal_command: None,
    });
    let reason = rotator
        .due(&log, std::time::SystemTime::now())
        .expect("over max_bytes");
    let rotated = rotator.rotate(&log, reason).expect("rotate");
    // The application has not reopened yet: it still writes to the old file.
    append(&rotated, 150..170);
    append(&log, 170..200);
    for _ in 0..3 {
        all.extend(step(&mut tailer, &mut now));
        now += loghaul_shipper::tailer::ROTATE_WAIT + Duration::from_secs(1);
    }
    all.extend(step(&mut tailer, &mut now));
    let mut got = numbers(&all);
    got.sort_unstable();
    assert_eq!(
        got,
        (0..200).collect::<Vec<_>>(),
        "every line once, rotated file read to its end"
    );
}

fn append_numbered(path: &Path, range: std::ops::Range<u32>) {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .expect("open");
    for n in range {
        writeln!(file, "old line {n}").expect("write");
    }
}

#[test]
fn logrotate_renames_within_the_glob_are_finished_for_the_archive() {
    for rotated_name in ["app.log.1", "app.log-20261122", "app.log.old"] {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = dir.path().join("app.log");
        append_numbered(&log, 0..100);
        let mut tailer = tailer(dir.path(), "app.log*");
        tailer
            .set_rotated_patterns(&["*.old".into()])
            .expect("valid pattern");
        let mut now = Instant::now();
        let mut all = step(&mut tailer, &mut now);
        // logrotate renames; the writer still appends before it reopens.
        let rotated = dir.path().join(rotated_name);
        std::fs::rename(&log, &rotated).expect("rotate");
        append_numbered(&rotated, 100..120);
        append_numbered(&log, 120..200);
        let mut finished = Vec::new();
        for _ in 0..3 {
            all.extend(step(&mut tailer, &mut now));
            finished.extend(tailer.take_finished());
            now += loghaul_shipper::tailer::ROTATE_WAIT + Duration::from_secs(1);
        }
        all.extend(step(&mut tailer, &mut now));
        finished.extend(tailer.take_finished());
        let mut got = numbers(&all);
        got.sort_unstable();
        assert_eq!(
            got,
            (0..200).collect::<Vec<_>>(),
            "{rotated_name}: every line once"
        );
        assert_eq!(finished.len(), 1, "{rotated_name}: {finished:?}");
        assert_eq!(finished[0].rotated_path, rotated, "{rotated_name}");
        assert_eq!(
            finished[0].source_path, log,
            "{rotated_name}: archived under the live name"
        );
        assert_eq!(finished[0].reason, loghaul_model::RotationReason::External);
    }
}

#[test]
fn rotated_copies_never_seen_live_are_not_tailed() {
    let dir = tempfile::tempdir().expect("tempdir");
    append_numbered(&dir.path().join("app.log.3"), 0..50);
    append_numbered(&dir.path().join("app.log-20261101"), 50..60);
    append_numbered(&dir.path().join("app.log"), 100..110);
    let mut tailer = tailer(dir.path(), "app.log*");
    let mut now = Instant::now();
    let all = step(&mut tailer, &mut now);
    assert_eq!(
        numbers(&all),
        (100..110).collect::<Vec<_>>(),
        "only the live file is shipped"
    );
}

#[test]
fn a_logrotate_copytruncate_copy_is_archived_once_not_tailed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("app.log");
    append_numbered(&log, 0..100);
    let mut tailer = tailer(dir.path(), "app.log*");
    let mut now = Instant::now();
    let mut all = step(&mut tailer, &mut now);
    // logrotate copytruncate: copy, then truncate in place; writes go on.
    std::fs::copy(&log, dir.path().join("app.log.1")).expect("copy");
    std::fs::OpenOptions::new()
        .write(true)
        .open(&log)
        .expect("open")
        .set_len(0)
        .expect("truncate");
    append_numbered(&log, 100..150);
    let mut finished = Vec::new();
    for _ in 0..3 {
        all.extend(step(&mut tailer, &mut now));
        finished.extend(tailer.take_finished());
    }
    let mut got = numbers(&all);
    got.sort_unstable();
    assert_eq!(
        got,
        (0..150).collect::<Vec<_>>(),
        "every line once: the copy is not shipped again"
    );
    assert_eq!(finished.len(), 1, "{finished:?}");
    assert_eq!(finished[0].rotated_path, dir.path().join("app.log.1"));
    assert_eq!(finished[0].source_path, log, "named after the live file");

    // After a restart the copy is known as archived.
    tailer.persist().expect("persist");
    let mut restarted = self::tailer(dir.path(), "app.log*");
    let mut again = Vec::new();
    for _ in 0..2 {
        step(&mut restarted, &mut now);
        again.extend(restarted.take_finished());
    }
    assert!(again.is_empty(), "archived once: {again:?}");
}

#[test]
fn a_rotated_file_the_spool_did_not_take_is_handed_over_again_after_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("app.log");
    append_numbered(&log, 0..100);
    let mut tailer = tailer(dir.path(), "app.log");
    let mut now = Instant::now();
    step(&mut tailer, &mut now);
    let rotated = dir.path().join("app.log.1");
    std::fs::rename(&log, &rotated).expect("rotate");
    append_numbered(&log, 100..110);
    let mut finished = Vec::new();
    for _ in 0..3 {
        step(&mut tailer, &mut now);
        now += loghaul_shipper::tailer::ROTATE_WAIT + Duration::from_secs(1);
        finished = tailer.finished();
    }
    assert_eq!(finished.len(), 1, "{finished:?}");
    assert_eq!(finished[0].rotated_path, rotated);
    // The spool refused it (a full disk) and the shipper stops.
    tailer.persist().expect("persist");
    drop(tailer);

    let mut restarted = self::tailer(dir.path(), "app.log");
    let mut again = Vec::new();
    for _ in 0..3 {
        step(&mut restarted, &mut now);
        now += loghaul_shipper::tailer::ROTATE_WAIT + Duration::from_secs(1);
        again = restarted.finished();
    }
    assert_eq!(again.len(), 1, "handed over again: {again:?}");
    assert_eq!(again[0].rotated_path, rotated);
    assert_eq!(again[0].identity, finished[0].identity, "the same file");
    // Taken this time: never again.
    restarted.handed_over(&again[0]);
    assert!(restarted.finished().is_empty());
    restarted.persist().expect("persist");
    drop(restarted);
    let mut third = self::tailer(dir.path(), "app.log");
    for _ in 0..3 {
        step(&mut third, &mut now);
        now += loghaul_shipper::tailer::ROTATE_WAIT + Duration::from_secs(1);
        assert!(third.finished().is_empty(), "{:?}", third.finished());
    }
}
