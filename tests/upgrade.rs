//! Upgrades read the previous versions' state: golden fixtures written by
//! the code of their day, committed under `tests/data/golden/<date>/`, are
//! read by this build.
//!
//! Each fixture directory holds what a node leaves on disk or on a queue:
//!
//! - `raw-batch-v<N>.bin`, `event-batch-v<N>.bin`: queue envelopes, the
//!   pinned version 1 raw batch and the versions that day's build wrote
//!   (2026-11-30: raw v2, events v1; 2026-11-30b: raw v3, events v2);
//! - `shipper/checkpoints.json`: the shipper's checkpoints;
//! - `archive-spool/`: a pending archive request and an open multipart
//!   upload in the journal;
//! - `data/index/0/`: a day index with its dedup journal;
//! - `archive/`: an archived object, its metadata and its record.
//!
//! A format change adds a fixture directory, written by setting
//! `LOGHAUL_WRITE_GOLDEN=<date>` once: `cargo test --test upgrade`. The
//! older directories stay, and this test reads every one of them.

#![allow(clippy::print_stdout)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use loghaul_archive::{ArchiveRequest, Archiver, LocalStore, ObjectStore, Spool};
use loghaul_model::codec::{
    decode_event_batch, decode_raw_batch, encode_event_batch, encode_raw_batch,
};
use loghaul_model::{EventBatch, FileIdentity, RawBatch, RawRecord, RotationReason};

/// The version-1 RawBatch layout, as version-1 builds wrote it (pinned in
/// the codec's unit test too).
const RAW_BATCH_V1: &[u8] = &[
    b'L', b'H', 1, 1, 1, b'h', 1, b's', 1, 2, 3, 0, 1, 5, 2, b'h', b'i', 0, 0, 9,
];

const LINES: [&str; 3] = [
    "2026-11-30T10:00:00Z INFO golden first line",
    "2026-11-30T10:00:01Z WARN golden second line",
    "2026-11-30T10:00:02Z ERROR golden third line",
];

fn golden_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/golden")
}

fn raw_batch() -> RawBatch {
    let mut offset = 0;
    let records = LINES
        .iter()
        .map(|line| {
            let record = RawRecord::new(offset, line.as_bytes().to_vec());
            offset += line.len() as u64 + 1;
            record
        })
        .collect();
    RawBatch {
        host: "golden-host".into(),
        source: "/var/log/golden.log".into(),
        file: FileIdentity {
            device: 1,
            inode: 2,
            fingerprint: 3,
        },
        format_hint: None,
        records,
        read_time_unix_nano: 1_796_032_800_000_000_000,
        timezone: Some("UTC".into()),
        service: Some("golden".into()),
        source_name: Some("golden-app".into()),
    }
}

fn event_batch() -> EventBatch {
    let mut parser =
        loghaul_parser::Parser::new(&loghaul_config::ParserConfig::default()).expect("parser");
    EventBatch {
        events: parser.parse_batch(&raw_batch()),
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir").flatten() {
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// Writes a fixture directory with this build's code.
async fn write_golden(dir: &Path) {
    std::fs::create_dir_all(dir).expect("mkdir");
    std::fs::write(dir.join("raw-batch-v1.bin"), RAW_BATCH_V1).expect("write");
    let raw = encode_raw_batch(&raw_batch());
    std::fs::write(dir.join(format!("raw-batch-v{}.bin", raw[3])), &raw).expect("write");
    let events = encode_event_batch(&event_batch());
    std::fs::write(dir.join(format!("event-batch-v{}.bin", events[3])), &events).expect("write");

    let mut checkpoints =
        loghaul_shipper::checkpoint::Checkpoints::load(&dir.join("shipper/checkpoints.json"))
            .expect("checkpoints");
    checkpoints.confirm(loghaul_shipper::checkpoint::FileCheckpoint {
        key: loghaul_shipper::identity::DiskKey {
            device: 1,
            inode: 2,
        },
        fingerprint: loghaul_shipper::identity::Fingerprint {
            hash: 0x1234_5678_9abc_def0,
            len: 1024,
        },
        offset: 4096,
        tail: Some(loghaul_shipper::identity::Fingerprint {
            hash: 0x0fed_cba9_8765_4321,
            len: 64,
        }),
        epoch: 1,
        compressed: false,
        archived: false,
        path: "/var/log/golden.log".into(),
    });
    checkpoints.persist().expect("persist");

    let spool = Spool::open(&dir.join("archive-spool")).expect("spool");
    spool
        .enqueue(&ArchiveRequest {
            raw_path: "/var/log/golden.log.1".into(),
            source_path: "/var/log/golden.log".into(),
            host: "golden-host".into(),
            file: raw_batch().file,
            reason: RotationReason::Size,
        })
        .expect("enqueue");
    loghaul_archive::UploadJournal::started(&spool, "golden/key.log.gz", "upload-1")
        .expect("journal");

    let mut store =
        loghaul_indexer::store::ShardStore::open(&dir.join("data"), 0, 20 << 20).expect("store");
    store.add_batch(&event_batch()).expect("add");
    store.commit().expect("commit");
    store.close().expect("close");

    let work = tempfile::tempdir().expect("tempdir");
    let raw = work.path().join("golden.log.1");
    std::fs::write(&raw, LINES.join("\n") + "\n").expect("raw");
    let store: Arc<dyn ObjectStore> = Arc::new(LocalStore::new(&dir.join("archive")));
    Archiver::new(
        store,
        Spool::open(&work.path().join("spool")).expect("spool"),
        "",
        6,
        64 << 20,
    )
    .archive(&ArchiveRequest {
        file: FileIdentity::of_path(&raw, 3).expect("stat"),
        raw_path: raw,
        source_path: "/var/log/golden.log".into(),
        host: "golden-host".into(),
        reason: RotationReason::Size,
    })
    .await
    .expect("archived");
}

/// What every fixture directory must still give this build.
async fn read_golden(dir: &Path) {
    let name = dir.display();
    let v1 = decode_raw_batch(&std::fs::read(dir.join("raw-batch-v1.bin")).expect("read"))
        .unwrap_or_else(|error| panic!("{name}: raw batch v1: {error}"));
    assert_eq!(
        (v1.host.as_str(), v1.records[0].bytes.as_slice()),
        ("h", &b"hi"[..])
    );
    // Each later raw batch version: the same batch, less what it lacked.
    let mut raw_versions = 0;
    for version in 2..=3u8 {
        let Ok(bytes) = std::fs::read(dir.join(format!("raw-batch-v{version}.bin"))) else {
            continue;
        };
        raw_versions += 1;
        let batch = decode_raw_batch(&bytes)
            .unwrap_or_else(|error| panic!("{name}: raw batch v{version}: {error}"));
        let mut expected = raw_batch();
        if version < 3 {
            expected.source_name = None;
        }
        assert_eq!(batch, expected, "{name}: raw batch v{version}");
    }
    assert!(raw_versions > 0, "{name}: no raw batch beyond v1");
    let mut event_batches = Vec::new();
    for version in 1..=2u8 {
        let Ok(bytes) = std::fs::read(dir.join(format!("event-batch-v{version}.bin"))) else {
            continue;
        };
        let events = decode_event_batch(&bytes)
            .unwrap_or_else(|error| panic!("{name}: event batch v{version}: {error}"));
        assert_eq!(events.events.len(), 3, "{name}");
        let levels: Vec<Option<&str>> = events
            .events
            .iter()
            .map(|event| event.severity.text.as_deref())
            .collect();
        assert_eq!(
            levels,
            [Some("INFO"), Some("WARN"), Some("ERROR")],
            "{name}"
        );
        let names: Vec<Option<&str>> = events
            .events
            .iter()
            .map(|event| event.resource.source_name.as_deref())
            .collect();
        let expected = if version < 2 {
            None
        } else {
            Some("golden-app")
        };
        assert_eq!(names, [expected; 3], "{name}: event batch v{version}");
        event_batches.push(events);
    }
    let events = event_batches
        .pop()
        .unwrap_or_else(|| panic!("{name}: no event batch"));

    let scratch = tempfile::tempdir().expect("tempdir");
    let copy = scratch.path().join("state");
    copy_dir(dir, &copy);

    let checkpoints =
        loghaul_shipper::checkpoint::Checkpoints::load(&copy.join("shipper/checkpoints.json"))
            .unwrap_or_else(|error| panic!("{name}: checkpoints: {error}"));
    let entry = checkpoints
        .get(&loghaul_shipper::identity::DiskKey {
            device: 1,
            inode: 2,
        })
        .expect("the golden file's checkpoint");
    assert_eq!((entry.offset, entry.epoch), (4096, 1), "{name}");

    let spool = Spool::open(&copy.join("archive-spool")).expect("spool");
    let pending = spool.pending().expect("pending");
    assert_eq!(pending.len(), 1, "{name}");
    assert_eq!(pending[0].request.host, "golden-host");
    assert_eq!(
        spool.open_uploads().expect("uploads"),
        [("golden/key.log.gz".to_owned(), "upload-1".to_owned())],
        "{name}"
    );

    // The index: searchable as it is, and its dedup journal still drops the
    // same events indexed again.
    let searcher = loghaul_indexer::search::Searcher::new(&copy.join("data"), 0);
    let count = searcher.count("golden", None, None).expect("count");
    assert_eq!(count, 3, "{name}: searchable");
    let mut store =
        loghaul_indexer::store::ShardStore::open(&copy.join("data"), 0, 20 << 20).expect("store");
    store.add_batch(&events).expect("add");
    assert_eq!(store.skipped(), 3, "{name}: the dedup journal knows them");
    store.commit().expect("commit");
    store.close().expect("close");
    let searcher = loghaul_indexer::search::Searcher::new(&copy.join("data"), 0);
    assert_eq!(searcher.count("golden", None, None).expect("count"), 3);

    // The archive: listed with its record, and verified good.
    let store: Arc<dyn ObjectStore> = Arc::new(LocalStore::new(&copy.join("archive")));
    let listing = loghaul_archive::catalog::list(
        store.clone(),
        &loghaul_archive::catalog::Selection::default(),
    )
    .await
    .expect("list");
    assert_eq!(listing.entries.len(), 1, "{name}");
    let (verdict, _) = loghaul_archive::check::check(
        store.as_ref(),
        &listing.entries[0],
        None,
        loghaul_archive::check::no_progress(),
    )
    .await
    .expect("check");
    assert_eq!(
        verdict.status,
        loghaul_archive::check::Status::Good,
        "{name}: {verdict:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_golden_fixture_is_read_by_this_build() {
    if let Ok(date) = std::env::var("LOGHAUL_WRITE_GOLDEN") {
        let dir = golden_root().join(&date);
        assert!(
            !dir.exists(),
            "{} exists: fixtures are never rewritten",
            dir.display()
        );
        write_golden(&dir).await;
    }
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(golden_root())
        .expect("tests/data/golden")
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.is_dir())
        .collect();
    dirs.sort();
    assert!(!dirs.is_empty(), "no golden fixtures");
    for dir in &dirs {
        read_golden(dir).await;
        println!("read {}", dir.display());
    }
}

/// A rolling upgrade: parsers and an indexer of this build take a live
/// stream into which every fixture-era envelope is mixed (raw batches v1 and
/// v2, an event batch v1). All are indexed, none is dead-lettered, and the
/// event batch whose events the v2 raw batch also yields is not doubled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fixture_era_envelopes_mixed_into_a_live_stream_are_all_indexed() {
    use loghaul_queue::{AmqpBroker, Broker, Message, QueueSettings, Route};

    let dir = tempfile::tempdir().expect("tempdir");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let prefix = loghaul_queue::contract::unique_prefix("upgrade");
    let config = loghaul_testkit::amqp_config(
        dir.path(),
        &prefix,
        &format!("[indexer]\nlisten = \"127.0.0.1:{port}\"\ncommit_interval = \"200ms\"\n"),
    );
    let loaded = loghaul_config::load_file(&config).expect("config");
    let broker = AmqpBroker::new(
        loaded.queue.url.expose(),
        QueueSettings::from_config(&loaded.queue),
    );
    let mut publisher = broker.publisher().await.expect("publisher");
    let live = |batch: u64| {
        let mut raw = raw_batch();
        raw.host = "live-host".into();
        raw.file.inode = 100 + batch;
        raw.records = (0..100)
            .map(|n| {
                RawRecord::new(
                    n * 100,
                    format!("2026-11-30T11:00:{:02}Z INFO live line {batch}-{n}", n % 60)
                        .into_bytes(),
                )
            })
            .collect();
        Message {
            payload: encode_raw_batch(&raw).into(),
            headers: Default::default(),
        }
    };
    let fixture = |name: &str| Message {
        payload: std::fs::read(golden_root().join("2026-11-30").join(name))
            .expect("fixture")
            .into(),
        headers: Default::default(),
    };
    let raw_stream = [
        live(0),
        fixture("raw-batch-v1.bin"),
        live(1),
        fixture("raw-batch-v2.bin"),
        live(2),
    ];
    publisher
        .publish(Route::Raw, &raw_stream)
        .await
        .expect("raw published");
    publisher
        .publish(Route::Events(0), &[fixture("event-batch-v1.bin")])
        .await
        .expect("events published");

    let bin = Path::new(env!("CARGO_BIN_EXE_loghaul"));
    let mut parser = loghaul_testkit::spawn_role(bin, "parse", &config);
    let mut indexer = loghaul_testkit::spawn_role(bin, "index", &config);
    let address: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
    let wanted = 300 + 1 + 3;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let mut count = None;
    while count != Some(wanted) {
        assert!(
            std::time::Instant::now() < deadline,
            "indexed {count:?} of {wanted}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        // The indexer made its API token in its data directory.
        loghaul_testkit::remember_api_token(address, &dir.path().join("data"));
        count = loghaul_testkit::api_count(address, "*");
    }
    // Give a doubled event batch time to show, then count again.
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    assert_eq!(loghaul_testkit::api_count(address, "*"), Some(wanted));
    assert_eq!(loghaul_testkit::api_count(address, "golden"), Some(3));
    let (dead, held) = broker.dead_letters(10).await.expect("dead letters");
    assert_eq!((dead.len(), held), (0, 0), "nothing dead-lettered");
    for child in [&mut parser, &mut indexer] {
        std::process::Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .expect("kill");
        assert!(child.wait().expect("exit").success());
    }
    broker.delete_topology().await.expect("cleanup");
}
