//! The contract every [`ObjectStore`] passes, run against [`crate::LocalStore`]
//! in unit tests and against a real S3-compatible server in `tests/s3.rs`.
//!
//! A factory builds a fresh, empty store from [`StoreOptions`] and returns a
//! guard that keeps its backing (a directory, a server) alive.
//! `archive_contract_tests!(factory)` expands into one `#[tokio::test]` per case.
#![allow(clippy::unwrap_used)]

use std::future::Future;
use std::path::Path;
use std::sync::Arc;

use tokio::io::AsyncReadExt;

use crate::{
    ArchiveError, CONTENT_SHA256, Metadata, ObjectStore, PutOutcome, StoreOptions, digest_file,
};

/// Parts of 5 MiB from 5 MiB on, so a 12 MiB file takes three parts.
pub const SMALL_PARTS: StoreOptions = StoreOptions {
    multipart_threshold: 5 << 20,
    part_size: 5 << 20,
    object_lock: None,
};

fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// Deterministic bytes that do not compress to nothing.
pub fn pseudo_random(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

async fn read_all(store: &dyn ObjectStore, key: &str) -> Vec<u8> {
    let mut bytes = Vec::new();
    store
        .get(key)
        .await
        .unwrap()
        .read_to_end(&mut bytes)
        .await
        .unwrap();
    bytes
}

/// A small file reads back byte for byte, with its metadata and sha256.
pub async fn small_round_trip<F, Fut, G>(factory: F)
where
    F: Fn(StoreOptions) -> Fut,
    Fut: Future<Output = (Arc<dyn ObjectStore>, G)>,
{
    let (store, _guard) = factory(StoreOptions::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let content =
        b"2026-11-22T00:00:00Z INFO one\n2026-11-22T00:00:01Z WARN two\n\xff\xfe binary\n";
    let path = write(dir.path(), "app.log", content);
    let metadata = Metadata::from([
        ("reason".to_owned(), "size".to_owned()),
        ("line-count".to_owned(), "3".to_owned()),
    ]);
    let key = "web-1/2026/11/22/app.log/a_b_0123.log.gz";
    assert_eq!(
        store.put_file(key, &path, &metadata).await.unwrap(),
        PutOutcome::Created
    );
    assert_eq!(read_all(store.as_ref(), key).await, content);
    let info = store.head(key).await.unwrap().expect("the object exists");
    assert_eq!(info.size, content.len() as u64);
    assert_eq!(
        info.metadata.get("reason").map(String::as_str),
        Some("size")
    );
    assert_eq!(
        info.metadata.get("line-count").map(String::as_str),
        Some("3")
    );
    let digest = digest_file(&path).await.unwrap();
    assert_eq!(info.metadata.get(CONTENT_SHA256), Some(&digest.sha256));
    store.verify(key, &digest).await.unwrap();
}

/// A file over the multipart threshold goes up in parts and reads back whole.
pub async fn multipart_round_trip<F, Fut, G>(factory: F)
where
    F: Fn(StoreOptions) -> Fut,
    Fut: Future<Output = (Arc<dyn ObjectStore>, G)>,
{
    let (store, _guard) = factory(SMALL_PARTS).await;
    let dir = tempfile::tempdir().unwrap();
    let content = pseudo_random((12 << 20) + 123, 7);
    let path = write(dir.path(), "big.log", &content);
    let key = "host/big.log.gz";
    assert_eq!(
        store.put_file(key, &path, &Metadata::new()).await.unwrap(),
        PutOutcome::Created
    );
    let digest = digest_file(&path).await.unwrap();
    assert_eq!(
        store.head(key).await.unwrap().map(|info| info.size),
        Some(content.len() as u64)
    );
    store.verify(key, &digest).await.unwrap();
    assert!(
        read_all(store.as_ref(), key).await == content,
        "multipart object differs from the file"
    );
}

/// Writes never overwrite: same content is already present, other content is
/// a conflict and the original stays.
pub async fn create_only<F, Fut, G>(factory: F)
where
    F: Fn(StoreOptions) -> Fut,
    Fut: Future<Output = (Arc<dyn ObjectStore>, G)>,
{
    let (store, _guard) = factory(StoreOptions::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let first = write(dir.path(), "first", b"original\n");
    let same = write(dir.path(), "same", b"original\n");
    let other = write(dir.path(), "other", b"tampered\n");
    let key = "h/x.log.gz";
    assert_eq!(
        store.put_file(key, &first, &Metadata::new()).await.unwrap(),
        PutOutcome::Created
    );
    assert_eq!(
        store.put_file(key, &same, &Metadata::new()).await.unwrap(),
        PutOutcome::AlreadyPresent
    );
    let conflict = store.put_file(key, &other, &Metadata::new()).await;
    assert!(
        matches!(conflict, Err(ArchiveError::Conflict { .. })),
        "{conflict:?}"
    );
    assert!(!conflict.as_ref().is_err_and(ArchiveError::is_retryable));
    assert_eq!(read_all(store.as_ref(), key).await, b"original\n");
}

/// Listing by prefix returns exactly the matching keys, sorted, with sizes.
pub async fn list_by_prefix<F, Fut, G>(factory: F)
where
    F: Fn(StoreOptions) -> Fut,
    Fut: Future<Output = (Arc<dyn ObjectStore>, G)>,
{
    let (store, _guard) = factory(StoreOptions::default()).await;
    let dir = tempfile::tempdir().unwrap();
    for (index, key) in ["p/b/1", "p/a/2", "q/1", "p/a/1", "p/a10"]
        .into_iter()
        .enumerate()
    {
        let path = write(dir.path(), &index.to_string(), &vec![b'x'; index + 1]);
        store.put_file(key, &path, &Metadata::new()).await.unwrap();
    }
    let listed = store.list("p/a/").await.unwrap();
    let keys: Vec<(&str, u64)> = listed
        .iter()
        .map(|info| (info.key.as_str(), info.size))
        .collect();
    assert_eq!(keys, [("p/a/1", 4), ("p/a/2", 2)]);
    let all_p: Vec<String> = store
        .list("p/")
        .await
        .unwrap()
        .into_iter()
        .map(|info| info.key)
        .collect();
    assert_eq!(all_p, ["p/a/1", "p/a/2", "p/a10", "p/b/1"]);
    assert_eq!(store.list("").await.unwrap().len(), 5);
    assert!(store.list("zzz").await.unwrap().is_empty());
    assert_eq!(store.list_children("").await.unwrap(), ["p", "q"]);
    assert_eq!(store.list_children("p/").await.unwrap(), ["a", "b"]);
    assert!(store.list_children("p/a/").await.unwrap().is_empty());
    assert!(store.list_children("none/").await.unwrap().is_empty());
}

/// Missing objects, wrong digests and hostile keys are clear errors.
pub async fn missing_and_hostile<F, Fut, G>(factory: F)
where
    F: Fn(StoreOptions) -> Fut,
    Fut: Future<Output = (Arc<dyn ObjectStore>, G)>,
{
    let (store, _guard) = factory(StoreOptions::default()).await;
    assert_eq!(store.head("nope/x").await.unwrap(), None);
    assert!(matches!(
        store.get("nope/x").await,
        Err(ArchiveError::NotFound { .. })
    ));
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "f", b"content\n");
    for key in ["../escape", "/abs", "a//b", "a/../../b"] {
        let refused = store.put_file(key, &path, &Metadata::new()).await;
        assert!(
            matches!(refused, Err(ArchiveError::InvalidKey { .. })),
            "{key}: {refused:?}"
        );
    }
    assert!(!dir.path().parent().unwrap().join("escape").exists());
    store
        .put_file("ok/f", &path, &Metadata::new())
        .await
        .unwrap();
    let mut wrong = digest_file(&path).await.unwrap();
    wrong.sha256 = "0".repeat(64);
    assert!(matches!(
        store.verify("ok/f", &wrong).await,
        Err(ArchiveError::Verification { .. })
    ));
}

/// One `#[tokio::test]` per contract case for a factory
/// `async fn(StoreOptions) -> (Arc<dyn ObjectStore>, Guard)`.
#[macro_export]
macro_rules! archive_contract_tests {
    ($factory:path) => {
        #[tokio::test]
        async fn contract_small_round_trip() {
            $crate::contract::small_round_trip($factory).await;
        }
        #[tokio::test]
        async fn contract_multipart_round_trip() {
            $crate::contract::multipart_round_trip($factory).await;
        }
        #[tokio::test]
        async fn contract_create_only() {
            $crate::contract::create_only($factory).await;
        }
        #[tokio::test]
        async fn contract_list_by_prefix() {
            $crate::contract::list_by_prefix($factory).await;
        }
        #[tokio::test]
        async fn contract_missing_and_hostile() {
            $crate::contract::missing_and_hostile($factory).await;
        }
    };
}
