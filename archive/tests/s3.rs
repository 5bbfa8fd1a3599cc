//! The object store contract against a real S3-compatible server (s3s-fs on
//! loopback, one server and bucket per test), plus S3-only behaviour.

use std::sync::Arc;

use loghaul_archive::{
    ArchiveError, Metadata, ObjectStore, PutOutcome, S3Connection, S3Store, StoreOptions,
};
use loghaul_testkit::{S3_ACCESS_KEY, S3_SECRET_KEY, S3Server};

#[path = "support/lock_proxy.rs"]
mod lock_proxy;
use lock_proxy::{Bucket, LockProxy};

fn connection(server: &S3Server) -> S3Connection {
    S3Connection::path_style(
        &server.endpoint(),
        Some((S3_ACCESS_KEY.into(), S3_SECRET_KEY.into())),
    )
}

async fn store_on(server: &S3Server, prefix: &str, options: StoreOptions) -> S3Store {
    store_on_endpoint(&server.endpoint(), prefix, options).await
}

async fn store_on_endpoint(endpoint: &str, prefix: &str, options: StoreOptions) -> S3Store {
    let bucket = loghaul_testkit::unique_name("lh")
        .to_lowercase()
        .replace('_', "-");
    let store = S3Store::connect(
        &S3Connection::path_style(endpoint, Some((S3_ACCESS_KEY.into(), S3_SECRET_KEY.into()))),
        &bucket[..bucket.len().min(63)],
        prefix,
        options,
    )
    .await;
    store
        .create_bucket_if_missing()
        .await
        .expect("bucket created on the S3 server");
    store
}

async fn factory(options: StoreOptions) -> (Arc<dyn ObjectStore>, S3Server) {
    let server = S3Server::start();
    let store = store_on(&server, "archive/logs", options).await;
    (Arc::new(store), server)
}

loghaul_archive::archive_contract_tests!(factory);

#[tokio::test]
async fn listing_follows_continuation_pages() {
    let server = S3Server::start();
    let store = store_on(&server, "", StoreOptions::default())
        .await
        .with_list_page_size(2);
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("f");
    std::fs::write(&file, b"x").expect("write");
    for n in 0..7 {
        store
            .put_file(&format!("k/{n}"), &file, &Metadata::new())
            .await
            .expect("put");
    }
    let keys: Vec<String> = store
        .list("k/")
        .await
        .expect("list")
        .into_iter()
        .map(|info| info.key)
        .collect();
    assert_eq!(keys, (0..7).map(|n| format!("k/{n}")).collect::<Vec<_>>());
}

#[tokio::test]
async fn objects_sit_under_the_prefix_in_the_bucket() {
    let server = S3Server::start();
    let store = store_on(&server, "logs/prod", StoreOptions::default()).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("f");
    std::fs::write(&file, b"payload\n").expect("write");
    store
        .put_file("web-1/a.log.gz", &file, &Metadata::new())
        .await
        .expect("put");
    // s3s-fs keeps objects as files: bucket/key.
    let stored: Vec<_> = walk(server.data_dir());
    assert!(
        stored
            .iter()
            .any(|path| path.ends_with("logs/prod/web-1/a.log.gz")),
        "object under its prefix: {stored:?}"
    );
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(walk(&path));
        } else {
            found.push(path);
        }
    }
    found
}

#[tokio::test]
async fn an_outage_is_a_retryable_error_and_writes_resume_after_it() {
    let mut server = S3Server::start();
    let store = store_on(&server, "", StoreOptions::default()).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("f");
    std::fs::write(&file, b"during the outage\n").expect("write");
    server.stop();
    let failed = store.put_file("h/f.gz", &file, &Metadata::new()).await;
    match &failed {
        Err(error @ ArchiveError::S3 { .. }) => assert!(error.is_retryable(), "{error}"),
        other => panic!("expected a retryable S3 error, got {other:?}"),
    }
    server.restart();
    assert_eq!(
        store
            .put_file("h/f.gz", &file, &Metadata::new())
            .await
            .expect("put after restart"),
        PutOutcome::Created
    );
}

#[tokio::test]
async fn wrong_credentials_are_a_clear_error() {
    let server = S3Server::start();
    let mut bad = connection(&server);
    bad.static_credentials = Some((S3_ACCESS_KEY.into(), "wrong-secret".into()));
    let store = S3Store::connect(&bad, "no-access-bucket", "", StoreOptions::default()).await;
    let error = store.create_bucket_if_missing().await.expect_err("refused");
    assert!(!error.is_retryable(), "{error}");
    assert!(error.to_string().contains("create-bucket"), "{error}");
}

#[tokio::test]
async fn when_required_checksum_mode_still_writes_and_verifies() {
    let server = S3Server::start();
    let mut settings = connection(&server);
    settings.checksum_when_required = true;
    let store = S3Store::connect(
        &settings,
        "checksum-mode",
        "",
        loghaul_archive::contract::SMALL_PARTS,
    )
    .await;
    store.create_bucket_if_missing().await.expect("bucket");
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("f");
    std::fs::write(&file, loghaul_archive::contract::pseudo_random(6 << 20, 3)).expect("write");
    store
        .put_file("multi/f", &file, &Metadata::new())
        .await
        .expect("multipart put");
    let digest = loghaul_archive::digest_file(&file).await.expect("digest");
    store.verify("multi/f", &digest).await.expect("verified");
}

/// A raw client on the same server, to put what loghaul never would.
async fn raw_client(server: &S3Server) -> aws_sdk_s3::Client {
    let config = aws_sdk_s3::config::Builder::new()
        .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
        .region(aws_sdk_s3::config::Region::new("us-east-1"))
        .endpoint_url(server.endpoint())
        .force_path_style(true)
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            S3_ACCESS_KEY,
            S3_SECRET_KEY,
            None,
            None,
            "test",
        ))
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

#[tokio::test]
async fn a_key_that_climbs_out_is_named_and_never_read() {
    use loghaul_archive::catalog::{self, Selection};
    use loghaul_archive::check::{self, Status};
    let server = S3Server::start();
    let store: Arc<dyn ObjectStore> =
        Arc::new(store_on(&server, "", StoreOptions::default()).await);
    let client = raw_client(&server).await;
    let bucket = store.describe().trim_start_matches("s3://").to_owned();
    let hostile =
        "../../etc/2026/11/22/cron.d/20261122T000000Z_20261122T000001Z_0123456789ab.log.gz";
    let put = client
        .put_object()
        .bucket(&bucket)
        .key(hostile)
        .body(aws_sdk_s3::primitives::ByteStream::from_static(b"x"))
        .send()
        .await;
    match put {
        Err(error) => {
            // Then the server itself keeps such keys out; say so.
            eprintln!(
                "s3s-fs refuses the key {hostile:?} itself: {}",
                aws_sdk_s3::error::DisplayErrorContext(&error)
            );
            assert!(store.list("").await.expect("list").is_empty());
        }
        Ok(_) => {
            let listing = catalog::list(store.clone(), &Selection::default())
                .await
                .expect("listing");
            match listing.entries.iter().find(|entry| entry.key == hostile) {
                Some(entry) => {
                    let verdict = check::unreadable(entry).expect("not read");
                    assert_eq!(verdict.status, Status::Refused, "{verdict:?}");
                }
                None => eprintln!(
                    "s3s-fs 0.14.1 stored {hostile:?} outside the bucket's directory and does not list it; \
                     the catalog's unit tests cover a store that lists such keys"
                ),
            }
            let dest = tempfile::tempdir().expect("tempdir");
            for entry in &listing.entries {
                loghaul_archive::restore::restore(
                    store.as_ref(),
                    entry,
                    dest.path(),
                    check::no_progress(),
                )
                .await
                .expect("restore answers");
            }
            assert_eq!(std::fs::read_dir(dest.path()).expect("list").count(), 0);
        }
    }
}

/// s3s-fs accepts Object Lock headers but keeps no retention, so a proxy
/// plays the bucket (tests/support/lock_proxy.rs): it records what each
/// upload asked for and answers HEAD as a locked bucket does.
#[tokio::test]
async fn object_lock_is_sent_on_every_upload_and_read_back_as_retention() {
    let server = S3Server::start();
    let proxy = LockProxy::start(&server.endpoint(), Bucket::Locking).await;
    let options = StoreOptions {
        multipart_threshold: 5 << 20,
        part_size: 5 << 20,
        object_lock: Some(loghaul_config::ObjectLockConfig {
            mode: loghaul_config::LockMode::Governance,
            days: 30,
        }),
    };
    let store = store_on_endpoint(&proxy.endpoint(), "", options).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let small = dir.path().join("small");
    std::fs::write(&small, b"locked\n").expect("write");
    let big = dir.path().join("big");
    std::fs::write(&big, vec![b'x'; 6 << 20]).expect("write");
    let before = now_secs();
    for (key, file) in [("h/small.log.gz", &small), ("h/big.log.gz", &big)] {
        let outcome = store
            .put_file(key, file, &Metadata::new())
            .await
            .expect("put through the proxy");
        assert_eq!(outcome, PutOutcome::Created);
    }
    let after = now_secs();
    let seen = proxy.seen();
    let methods: Vec<&str> = seen.iter().map(|one| one.method.as_str()).collect();
    assert_eq!(
        methods,
        ["PUT", "POST"],
        "one single put and one multipart create carry the lock: {seen:?}"
    );
    assert!(seen[0].path.ends_with("/h/small.log.gz"), "{seen:?}");
    assert!(seen[1].path.ends_with("/h/big.log.gz"), "{seen:?}");
    for one in &seen {
        assert_eq!(one.mode, "GOVERNANCE");
        let until = aws_sdk_s3::primitives::DateTime::from_str(
            &one.until,
            aws_sdk_s3::primitives::DateTimeFormat::DateTime,
        )
        .unwrap_or_else(|error| panic!("retain-until {:?}: {error}", one.until))
        .secs();
        assert!(
            (before + 30 * 86_400..=after + 30 * 86_400).contains(&until),
            "30 days from the upload: {one:?}"
        );
    }
    for key in ["h/small.log.gz", "h/big.log.gz"] {
        let retention = store
            .head(key)
            .await
            .expect("head")
            .expect("exists")
            .retention
            .unwrap_or_else(|| panic!("{key}: no retention read back"));
        assert_eq!(retention.mode, "GOVERNANCE");
        assert!(
            retention.until.starts_with(&seen[0].until[..10]),
            "{retention:?}"
        );
    }
}

/// A bucket created without Object Lock refuses the headers: the store says
/// so once and archives without retention, rather than stopping.
#[tokio::test]
async fn a_bucket_without_object_lock_gets_the_objects_without_retention() {
    let server = S3Server::start();
    let proxy = LockProxy::start(&server.endpoint(), Bucket::Unlocked).await;
    let options = StoreOptions {
        object_lock: Some(loghaul_config::ObjectLockConfig {
            mode: loghaul_config::LockMode::Compliance,
            days: 7,
        }),
        ..StoreOptions::default()
    };
    let store = store_on_endpoint(&proxy.endpoint(), "", options).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("f");
    std::fs::write(&file, b"kept anyway\n").expect("write");
    for key in ["h/one.log.gz", "h/two.log.gz"] {
        let outcome = store
            .put_file(key, &file, &Metadata::new())
            .await
            .expect("archived without the lock");
        assert_eq!(outcome, PutOutcome::Created);
        let info = store.head(key).await.expect("head").expect("exists");
        assert!(info.retention.is_none());
    }
    let seen = proxy.seen();
    assert_eq!(
        seen.len(),
        1,
        "only the first upload asked, and was refused: {seen:?}"
    );
    assert!(seen[0].refused);
    assert_eq!(seen[0].mode, "COMPLIANCE");
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64
}
