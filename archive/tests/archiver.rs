//! Archiving rotated files into a real S3-compatible server (s3s-fs).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use loghaul_archive::{
    ArchiveError, ArchiveRequest, Archiver, LocalStore, ObjectStore, PutOutcome, S3Connection,
    S3Store, Spool, StoreOptions,
};
use loghaul_model::{FileIdentity, RotationReason};
use loghaul_testkit::{S3_ACCESS_KEY, S3_SECRET_KEY, S3Server};
use tokio::io::AsyncReadExt;

async fn s3_store(server: &S3Server, options: StoreOptions) -> Arc<dyn ObjectStore> {
    let connection = S3Connection::path_style(
        &server.endpoint(),
        Some((S3_ACCESS_KEY.into(), S3_SECRET_KEY.into())),
    );
    let store = S3Store::connect(&connection, "archive-test", "", options).await;
    store.create_bucket_if_missing().await.expect("bucket");
    Arc::new(store)
}

fn archiver(store: Arc<dyn ObjectStore>, dir: &Path, options: StoreOptions) -> Archiver {
    let spool = Spool::open(&dir.join("spool")).expect("spool");
    Archiver::new(store, spool, "logs", 6, options.multipart_threshold)
}

fn request(raw: &Path) -> ArchiveRequest {
    ArchiveRequest {
        raw_path: raw.to_owned(),
        source_path: "/var/log/app/app.log".into(),
        host: "web-1".into(),
        // The archiver reads the file by its device and inode; a file not
        // written yet (a vanished one) gets a made-up identity.
        file: FileIdentity::of_path(raw, 3).unwrap_or(FileIdentity {
            device: 1,
            inode: 2,
            fingerprint: 3,
        }),
        reason: RotationReason::Size,
    }
}

fn log_text(lines: u32, seed: u32) -> String {
    (0..lines)
        .map(|n| {
            let second = n % 60;
            let minute = (n / 60) % 60;
            format!("2026-11-22T10:{minute:02}:{second:02}Z INFO [{seed}] request {n} handled in {}ms\n", n % 97)
        })
        .collect()
}

async fn decompressed(store: &dyn ObjectStore, key: &str) -> Vec<u8> {
    let mut compressed = Vec::new();
    store
        .get(key)
        .await
        .expect("get")
        .read_to_end(&mut compressed)
        .await
        .expect("read");
    loghaul_testkit::gunzip(&compressed)
}

#[tokio::test]
async fn archived_objects_decompress_to_the_original_bytes() {
    let server = S3Server::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let raw = dir.path().join("app.log.20261122T110000Z");
    let text = log_text(40_000, 1);
    std::fs::write(&raw, &text).expect("write");
    let store = s3_store(&server, StoreOptions::default()).await;
    let archiver = archiver(store.clone(), dir.path(), StoreOptions::default());

    let archived = archiver.archive(&request(&raw)).await.expect("archived");
    assert_eq!(archived.outcome, PutOutcome::Created);
    assert!(
        archived
            .key
            .starts_with("logs/web-1/2026/11/22/app.log/20261122T100000Z_20261122T100639Z_"),
        "{}",
        archived.key
    );
    assert!(
        archived
            .key
            .ends_with(&format!("{}.log.gz", &archived.manifest.sha256[..12])),
        "{}",
        archived.key
    );
    assert!(
        decompressed(store.as_ref(), &archived.key).await == text.as_bytes(),
        "byte-exact"
    );

    let info = store
        .head(&archived.key)
        .await
        .expect("head")
        .expect("exists");
    let raw_digest = loghaul_archive::digest_file(&raw).await.expect("digest");
    assert_eq!(info.metadata.get("sha256"), Some(&raw_digest.sha256));
    assert_eq!(
        info.metadata.get("raw-size").map(String::as_str),
        Some(text.len().to_string().as_str())
    );
    assert_eq!(
        info.metadata.get("line-count").map(String::as_str),
        Some("40000")
    );
    assert_eq!(
        info.metadata.get("reason").map(String::as_str),
        Some("size")
    );
    assert_eq!(
        info.metadata.get("source").map(String::as_str),
        Some("/var/log/app/app.log")
    );
    assert_eq!(
        info.metadata.get("file-identity"),
        Some(&request(&raw).file.to_key())
    );
    assert!(raw.exists(), "the raw file is the caller's to delete");

    let again = archiver
        .archive(&request(&raw))
        .await
        .expect("archived again");
    assert_eq!(
        (again.outcome, again.key.as_str()),
        (PutOutcome::AlreadyPresent, archived.key.as_str())
    );
    // Another gzip level gives other compressed bytes for the same raw file:
    // still the same archive, not a conflict.
    let spool = Spool::open(&dir.path().join("spool-1")).expect("spool");
    let level_one = Archiver::new(store.clone(), spool, "logs", 1, u64::MAX);
    let other_level = level_one
        .archive(&request(&raw))
        .await
        .expect("same raw bytes");
    assert_eq!(
        (other_level.outcome, other_level.key),
        (PutOutcome::AlreadyPresent, archived.key)
    );
}

#[tokio::test]
async fn a_large_file_goes_up_in_parts_and_reads_back_whole() {
    let server = S3Server::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let raw = dir.path().join("big.log");
    // Random bytes barely compress: the gzip object stays above the 5 MiB
    // multipart threshold.
    let mut bytes = loghaul_archive::contract::pseudo_random(12 << 20, 9);
    for chunk in bytes.chunks_mut(200) {
        if let Some(last) = chunk.last_mut() {
            *last = b'\n';
        }
    }
    std::fs::write(&raw, &bytes).expect("write");
    let options = loghaul_archive::contract::SMALL_PARTS;
    let store = s3_store(&server, options).await;
    let archived = archiver(store.clone(), dir.path(), options)
        .archive(&request(&raw))
        .await
        .expect("archived");
    assert!(
        archived.compressed_bytes > options.multipart_threshold,
        "went up in parts"
    );
    assert!(
        decompressed(store.as_ref(), &archived.key).await == bytes,
        "byte-exact"
    );
}

#[tokio::test]
async fn a_key_collision_with_other_content_is_refused() {
    let server = S3Server::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let raw = dir.path().join("app.log.1");
    std::fs::write(&raw, log_text(100, 2)).expect("write");
    // Learn the key from a scratch local archive, then plant other bytes there.
    let scratch: Arc<dyn ObjectStore> = Arc::new(LocalStore::new(&dir.path().join("scratch")));
    let key = archiver(scratch, &dir.path().join("a"), StoreOptions::default())
        .archive(&request(&raw))
        .await
        .expect("scratch archive")
        .key;
    let store = s3_store(&server, StoreOptions::default()).await;
    let foreign = dir.path().join("foreign");
    std::fs::write(&foreign, b"someone else's bytes").expect("write");
    store
        .put_file(&key, &foreign, &Default::default())
        .await
        .expect("plant");

    let refused = archiver(
        store.clone(),
        &dir.path().join("b"),
        StoreOptions::default(),
    )
    .archive(&request(&raw))
    .await;
    assert!(
        matches!(refused, Err(ArchiveError::Conflict { .. })),
        "{refused:?}"
    );
    let mut kept = Vec::new();
    store
        .get(&key)
        .await
        .expect("get")
        .read_to_end(&mut kept)
        .await
        .expect("read");
    assert_eq!(kept, b"someone else's bytes", "never overwritten");
}

#[tokio::test]
async fn an_outage_keeps_everything_pending_until_the_store_returns() {
    let mut server = S3Server::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let store = s3_store(&server, StoreOptions::default()).await;
    let archiver = archiver(store.clone(), dir.path(), StoreOptions::default());
    let raws: Vec<PathBuf> = (0..3)
        .map(|n| {
            let raw = dir.path().join(format!("app.log.{n}"));
            std::fs::write(&raw, log_text(500, n + 10)).expect("write");
            raw
        })
        .collect();
    for raw in &raws {
        archiver.spool().enqueue(&request(raw)).expect("enqueue");
    }

    server.stop();
    let report = archiver.drain_spool().await.expect("drain runs");
    assert!(report.archived.is_empty());
    assert!(
        report
            .stopped_by
            .as_ref()
            .is_some_and(ArchiveError::is_retryable),
        "{:?}",
        report.stopped_by
    );
    assert_eq!(
        archiver.spool().pending().expect("pending").len(),
        3,
        "nothing leaves the spool"
    );
    assert!(raws.iter().all(|raw| raw.exists()), "nothing is deleted");

    server.restart();
    // A restart of the shipper reads the same spool.
    let reopened = Archiver::new(
        store.clone(),
        Spool::open(&dir.path().join("spool")).expect("spool"),
        "logs",
        6,
        u64::MAX,
    );
    let report = reopened.drain_spool().await.expect("drain");
    assert_eq!(report.archived.len(), 3);
    assert!(reopened.spool().pending().expect("pending").is_empty());
    for (archived, raw) in report.archived.iter().zip(&raws) {
        assert!(
            decompressed(store.as_ref(), &archived.key).await == std::fs::read(raw).expect("raw")
        );
    }
}

#[tokio::test]
async fn a_vanished_raw_file_is_set_aside_not_retried_forever() {
    let server = S3Server::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let store = s3_store(&server, StoreOptions::default()).await;
    let archiver = archiver(store, dir.path(), StoreOptions::default());
    archiver
        .spool()
        .enqueue(&request(&dir.path().join("gone.log")))
        .expect("enqueue");
    let report = archiver.drain_spool().await.expect("drain");
    assert_eq!((report.archived.len(), report.failed), (0, 1));
    assert_eq!(archiver.spool().failed_count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_mid_multipart_leaves_no_open_upload_and_the_retry_is_whole() {
    let server = S3Server::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let raw = dir.path().join("big.log");
    let mut bytes = loghaul_archive::contract::pseudo_random(30 << 20, 21);
    for chunk in bytes.chunks_mut(250) {
        if let Some(last) = chunk.last_mut() {
            *last = b'\n';
        }
    }
    std::fs::write(&raw, &bytes).expect("write");
    let options = loghaul_archive::contract::SMALL_PARTS;
    let store = s3_store(&server, options).await;
    let spool_dir = dir.path().join("spool");
    let first = Archiver::new(
        store.clone(),
        Spool::open(&spool_dir).expect("spool"),
        "logs",
        1,
        options.multipart_threshold,
    );
    first.spool().enqueue(&request(&raw)).expect("enqueue");

    // The "crash": drop the upload the moment its id is journaled, so it
    // never completes and is never aborted, as after a SIGKILL.
    let uploading = tokio::spawn(async move { first.drain_spool().await });
    let journal = spool_dir.join("uploads");
    loop {
        let journaled = std::fs::read_dir(&journal)
            .map(|entries| entries.flatten().count())
            .unwrap_or(0);
        if journaled > 0 {
            break;
        }
        assert!(
            !uploading.is_finished(),
            "the upload finished before the simulated crash"
        );
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
    uploading.abort();
    let _ = uploading.await;
    assert_eq!(
        server.open_uploads(),
        1,
        "the crash left the upload open on the server"
    );

    let restarted = Archiver::new(
        store.clone(),
        Spool::open(&spool_dir).expect("spool"),
        "logs",
        1,
        options.multipart_threshold,
    );
    assert_eq!(restarted.recover().await.expect("recover"), 1);
    assert_eq!(server.open_uploads(), 0, "recovery aborted it");
    let report = restarted.drain_spool().await.expect("drain");
    assert_eq!(report.archived.len(), 1);
    assert_eq!(server.open_uploads(), 0, "no upload is left open");
    assert!(
        decompressed(store.as_ref(), &report.archived[0].key).await == bytes,
        "complete and byte-exact"
    );
}
