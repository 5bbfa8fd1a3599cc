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
//! older directories stay, and this test reads every one of them. The rule
//! is enforced: the envelope versions this build writes must each have a
//! fixture, and every envelope file found is read (by its name and its
//! header), so a new version cannot be skipped.

#![allow(clippy::print_stdout)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use loghaul_archive::{ArchiveRequest, Archiver, LocalStore, ObjectStore, Spool};
use loghaul_model::codec::{
    self, MessageKind, decode_event_batch, decode_raw_batch, encode_event_batch, encode_raw_batch,
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

/// Every fixture directory, oldest first.
fn golden_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(golden_root())
        .expect("tests/data/golden")
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.is_dir())
        .collect();
    dirs.sort();
    assert!(!dirs.is_empty(), "no golden fixtures");
    dirs
}

/// One queue envelope fixture: `raw-batch-v<N>.bin` or
/// `event-batch-v<N>.bin`.
struct Envelope {
    path: PathBuf,
    kind: MessageKind,
    version: u8,
    bytes: Vec<u8>,
}

/// The envelope fixtures of one directory, found by their names, each
/// checked against its own header. Any other file beside them fails the
/// test: a fixture this test does not know would otherwise go unread.
fn envelopes(dir: &Path) -> Vec<Envelope> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
        let path = entry.path();
        if entry.file_type().expect("type").is_dir() {
            continue;
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some((kind, version)) = name
            .strip_suffix(".bin")
            .and_then(|stem| {
                stem.strip_prefix("raw-batch-v")
                    .map(|version| (MessageKind::RawBatch, version))
                    .or_else(|| {
                        stem.strip_prefix("event-batch-v")
                            .map(|version| (MessageKind::EventBatch, version))
                    })
            })
            .and_then(|(kind, version)| Some((kind, version.parse::<u8>().ok()?)))
        else {
            panic!(
                "{}: not a fixture this test reads (raw-batch-v<N>.bin, event-batch-v<N>.bin)",
                path.display()
            );
        };
        let bytes = std::fs::read(&path).expect("read");
        assert_eq!(
            codec::peek(&bytes),
            Ok((kind, version)),
            "{}: the header says what the name says",
            path.display()
        );
        found.push(Envelope {
            path,
            kind,
            version,
            bytes,
        });
    }
    found.sort_by_key(|envelope| (envelope.kind == MessageKind::EventBatch, envelope.version));
    found
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
    let envelopes = envelopes(dir);
    // Every raw batch found: the pinned version 1, and each later version
    // the same batch, less what it lacked.
    let mut raw_versions = 0;
    for envelope in envelopes
        .iter()
        .filter(|envelope| envelope.kind == MessageKind::RawBatch)
    {
        let version = envelope.version;
        let batch = decode_raw_batch(&envelope.bytes)
            .unwrap_or_else(|error| panic!("{}: {error}", envelope.path.display()));
        if version == 1 {
            assert_eq!(envelope.bytes, RAW_BATCH_V1, "{name}: raw batch v1");
            assert_eq!(
                (batch.host.as_str(), batch.records[0].bytes.as_slice()),
                ("h", &b"hi"[..])
            );
            continue;
        }
        raw_versions += 1;
        let mut expected = raw_batch();
        if version < 3 {
            expected.source_name = None;
        }
        assert_eq!(batch, expected, "{name}: raw batch v{version}");
    }
    assert!(
        envelopes
            .iter()
            .any(|envelope| envelope.kind == MessageKind::RawBatch && envelope.version == 1),
        "{name}: the pinned raw batch v1"
    );
    assert!(raw_versions > 0, "{name}: no raw batch beyond v1");
    let mut event_batches = Vec::new();
    for envelope in envelopes
        .iter()
        .filter(|envelope| envelope.kind == MessageKind::EventBatch)
    {
        let version = envelope.version;
        let events = decode_event_batch(&envelope.bytes)
            .unwrap_or_else(|error| panic!("{}: {error}", envelope.path.display()));
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
    // Each event reads back whole, its id too (stored since 2026-11-30c
    // only where host, file and offset do not give it), and is found by
    // its id (older days index its text, newer ones its first 64 bits).
    let page = searcher
        .search(&loghaul_indexer::search::SearchRequest {
            query: "golden".into(),
            from: None,
            to: None,
            limit: 10,
            cursor: None,
        })
        .expect("search");
    let ids = |events: &[loghaul_model::Event]| {
        let mut ids: Vec<String> = events.iter().map(|event| event.id.to_string()).collect();
        ids.sort();
        ids
    };
    assert_eq!(
        ids(&page.events),
        ids(&events.events),
        "{name}: ids read back"
    );
    for event in &page.events {
        let id = event.id.to_string();
        assert_eq!(
            searcher
                .count(&format!("id:{id}"), None, None)
                .expect("id:"),
            1,
            "{name}: id:{id}"
        );
        let (_, found, _) = searcher.context(&id, 1, 1).expect("context");
        assert_eq!(&found, event, "{name}: context of {id}");
    }
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
    for dir in &golden_dirs() {
        read_golden(dir).await;
        println!("read {}", dir.display());
    }
}

/// The rule that a format change adds a fixture, enforced: each envelope
/// version this build writes (its encoders' output, which is also
/// `MessageKind::current_version`) has a fixture in some golden directory.
/// A build that writes a new version without one fails here, before the
/// next build could meet that version untested.
#[test]
fn every_envelope_version_this_build_writes_has_a_fixture() {
    let fixtures: Vec<Envelope> = golden_dirs()
        .iter()
        .flat_map(|dir| envelopes(dir))
        .collect();
    for (kind, written) in [
        (MessageKind::RawBatch, encode_raw_batch(&raw_batch())),
        (MessageKind::EventBatch, encode_event_batch(&event_batch())),
    ] {
        let (found, version) = codec::peek(&written).expect("our own envelope");
        assert_eq!(found, kind);
        assert_eq!(version, kind.current_version(), "{kind:?}");
        let holders: Vec<String> = fixtures
            .iter()
            .filter(|fixture| fixture.kind == kind && fixture.version == version)
            .map(|fixture| fixture.path.display().to_string())
            .collect();
        assert!(
            !holders.is_empty(),
            "this build writes {kind:?} v{version}, and no tests/data/golden/<date>/ holds one: \
             add a fixture directory (LOGHAUL_WRITE_GOLDEN=<date> cargo test --test upgrade)"
        );
        println!("{kind:?} v{version}: {}", holders.join(", "));
    }
}

/// The value of a counter in Prometheus text.
fn metric(text: &str, name: &str) -> Option<u64> {
    text.lines().find_map(|line| {
        line.strip_prefix(name)?
            .strip_prefix(' ')?
            .trim()
            .parse()
            .ok()
    })
}

/// A rolling upgrade: a parser and an indexer of this build take a live
/// stream into which every envelope of every fixture directory is mixed
/// (raw batches v1, v2 and v3 to the raw queue, event batches v1 and v2 to
/// the events queue). None is dead-lettered, and each went through: the
/// parser's counters show every raw batch and record, the indexer's show
/// every event arriving, and the index holds each distinct record once.
/// The fixtures all carry the same three golden lines (and the v1 batch its
/// one record), so the distinct count grows only with the live batches;
/// the indexer's duplicates counter proves the rest arrived and were
/// recognised, not doubled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fixture_era_envelopes_mixed_into_a_live_stream_are_all_indexed() {
    use loghaul_queue::{AmqpBroker, Broker, Message, QueueSettings, Route};
    use std::collections::HashSet;

    let dir = tempfile::tempdir().expect("tempdir");
    let api = loghaul_testkit::free_local_addr();
    let parser_metrics = loghaul_testkit::free_local_addr();
    let prefix = loghaul_queue::contract::unique_prefix("upgrade");
    let config = loghaul_testkit::amqp_config(
        dir.path(),
        &prefix,
        &format!(
            "[indexer]\nlisten = \"{api}\"\ncommit_interval = \"200ms\"\n\
             [parser]\nmetrics_listen = \"{parser_metrics}\"\n"
        ),
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
        raw
    };
    // What should arrive: every record or event by its place (host, file,
    // offset), which is what the indexer's dedup goes by.
    #[derive(Default)]
    struct Stream {
        distinct: HashSet<(String, FileIdentity, u64)>,
        raw: Vec<Message>,
        raw_batches: u64,
        parsed_records: u64,
        events: Vec<Message>,
        fixture_events: u64,
    }
    impl Stream {
        fn raw(&mut self, raw: &RawBatch, payload: Vec<u8>) {
            for record in &raw.records {
                self.distinct
                    .insert((raw.host.clone(), raw.file, record.offset));
            }
            self.raw_batches += 1;
            self.parsed_records += raw.records.len() as u64;
            self.raw.push(Message {
                payload: payload.into(),
                headers: Default::default(),
            });
        }
        fn events(&mut self, batch: &EventBatch, payload: Vec<u8>) {
            for event in &batch.events {
                self.distinct
                    .insert((event.resource.host.to_string(), event.file, event.offset));
            }
            self.fixture_events += batch.events.len() as u64;
            self.events.push(Message {
                payload: payload.into(),
                headers: Default::default(),
            });
        }
    }
    let mut stream = Stream::default();
    let mut live_batches = 0;
    let mut add_live = |stream: &mut Stream| {
        let raw = live(live_batches);
        live_batches += 1;
        stream.raw(&raw, encode_raw_batch(&raw));
    };
    add_live(&mut stream);
    let mut mixed = Vec::new();
    for dir in golden_dirs() {
        for envelope in envelopes(&dir) {
            mixed.push(format!(
                "{}/{}",
                dir.file_name().unwrap_or_default().to_string_lossy(),
                envelope
                    .path
                    .file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
            ));
            match envelope.kind {
                MessageKind::RawBatch => {
                    let raw = decode_raw_batch(&envelope.bytes).expect("fixture");
                    stream.raw(&raw, envelope.bytes);
                    // A live batch after each fixture: old and new interleaved.
                    add_live(&mut stream);
                }
                MessageKind::EventBatch => {
                    let events = decode_event_batch(&envelope.bytes).expect("fixture");
                    stream.events(&events, envelope.bytes);
                }
            }
        }
    }
    println!("mixed into the live stream: {}", mixed.join(", "));
    for wanted in [
        "2026-11-30/raw-batch-v1.bin",
        "2026-11-30/raw-batch-v2.bin",
        "2026-11-30/event-batch-v1.bin",
        "2026-11-30b/raw-batch-v3.bin",
        "2026-11-30b/event-batch-v2.bin",
    ] {
        assert!(mixed.iter().any(|name| name == wanted), "{wanted} mixed in");
    }
    let Stream {
        distinct,
        raw: raw_stream,
        raw_batches,
        parsed_records,
        events: event_stream,
        fixture_events,
    } = stream;
    publisher
        .publish(Route::Raw, &raw_stream)
        .await
        .expect("raw published");
    // One shard: every event batch belongs to the one events queue.
    publisher
        .publish(Route::Events(0), &event_stream)
        .await
        .expect("events published");

    let bin = Path::new(env!("CARGO_BIN_EXE_loghaul"));
    let mut parser = loghaul_testkit::spawn_role(bin, "parse", &config);
    let mut indexer = loghaul_testkit::spawn_role(bin, "index", &config);
    let wanted = distinct.len() as u64;
    let arrived = parsed_records + fixture_events;
    let settled = || {
        // The indexer made its API token in its data directory.
        loghaul_testkit::remember_api_token(api, &dir.path().join("data"));
        let (_, parsing) = loghaul_testkit::http_get(parser_metrics, "/metrics");
        let (_, indexing) = loghaul_testkit::http_get(api, "/metrics");
        (
            metric(&parsing, "loghaul_parser_batches_total"),
            metric(&parsing, "loghaul_parser_events_total"),
            metric(&indexing, "loghaul_indexer_documents_total"),
            metric(&indexing, "loghaul_indexer_duplicates_skipped_total"),
        )
    };
    let expected = (
        Some(raw_batches),
        Some(parsed_records),
        Some(wanted),
        Some(arrived - wanted),
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let mut seen = None;
    while seen != Some(expected) {
        assert!(
            std::time::Instant::now() < deadline,
            "(raw batches parsed, records parsed, documents, duplicates skipped): {seen:?}, expected {expected:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        if loghaul_testkit::wait_for_port(api, std::time::Duration::from_millis(100))
            && loghaul_testkit::wait_for_port(parser_metrics, std::time::Duration::from_millis(100))
        {
            seen = Some(settled());
        }
    }
    println!(
        "{raw_batches} raw batches ({parsed_records} records) and {} event batches ({fixture_events} events) in; {wanted} distinct indexed, {} recognised as already indexed",
        event_stream.len(),
        arrived - wanted
    );
    // Give a doubled event batch time to show, then count again.
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    assert_eq!(loghaul_testkit::api_count(api, "*"), Some(wanted));
    assert_eq!(loghaul_testkit::api_count(api, "golden"), Some(3));
    assert_eq!(settled(), expected, "nothing more arrived");
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
