//! Any S3-compatible store, through aws-sdk-s3.
//!
//! - Credentials come from `[archive]` when both keys are set, else from the
//!   standard AWS chain (environment, profile, web identity, IMDS).
//! - A custom endpoint and path-style addressing reach MinIO, Ceph, R2 or
//!   s3s-fs.
//! - Single-request puts carry our own sha256 as `x-amz-checksum-sha256`, so
//!   the server refuses a body that changed on the way. Multipart parts carry
//!   the SDK's default checksum; the object's sha256 lives in its metadata
//!   and [`ObjectStore::verify`] checks it end to end.
//! - Create-only: a HEAD first (s3s-fs and some stores ignore conditional
//!   writes), then a put with `If-None-Match: *` where the server honours it.
//! - `archive.object_lock` sends the Object Lock mode and retain-until date
//!   with each upload. A bucket created without Object Lock refuses them
//!   (`InvalidRequest`): the store then logs one ERROR naming the bucket and
//!   the setting, and uploads without retention from there on, so the
//!   archive is never stopped by it.

use std::collections::HashMap;
use std::path::Path;

use aws_sdk_s3::Client;
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::config::{
    Credentials, Region, RequestChecksumCalculation, ResponseChecksumValidation,
};
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::{ByteStream, DateTime, DateTimeFormat};
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart, ObjectLockMode};
use base64::Engine;
use loghaul_config::{ArchiveConfig, ChecksumMode};
use tokio::io::AsyncReadExt;
use tracing::{error, warn};

use crate::digest::{FileDigest, digest_file, outcome_for_existing};
use crate::{
    ArchiveError, CONTENT_SHA256, Metadata, NoJournal, ObjectInfo, ObjectReader, ObjectStore,
    PutOutcome, Retention, StoreOptions, UploadJournal, validate_key,
};

/// How to reach an S3-compatible store.
#[derive(Clone, Debug, Default)]
pub struct S3Connection {
    /// A custom endpoint, such as `http://127.0.0.1:9000`.
    pub endpoint: Option<String>,
    /// The region.
    pub region: String,
    /// `endpoint/bucket/key` addressing.
    pub force_path_style: bool,
    /// Static access key and secret; the AWS chain when `None`.
    pub static_credentials: Option<(String, String)>,
    /// Send request checksums only where the API requires them.
    pub checksum_when_required: bool,
}

impl S3Connection {
    /// `endpoint` addressed path-style (MinIO, Ceph, s3s-fs), with static
    /// keys when given, in us-east-1.
    pub fn path_style(endpoint: &str, static_credentials: Option<(String, String)>) -> Self {
        S3Connection {
            endpoint: Some(endpoint.to_owned()),
            region: "us-east-1".into(),
            force_path_style: true,
            static_credentials,
            checksum_when_required: false,
        }
    }
}

/// Objects under a prefix of one bucket.
pub struct S3Store {
    client: Client,
    bucket: String,
    prefix: String,
    options: StoreOptions,
    list_page_size: Option<i32>,
    /// Set once the bucket refused Object Lock headers.
    lock_refused: std::sync::atomic::AtomicBool,
}

impl S3Store {
    /// A store from the `[archive]` section.
    pub async fn from_config(
        archive: &ArchiveConfig,
        bucket: &str,
        prefix: &str,
        options: StoreOptions,
    ) -> Self {
        let static_credentials = match (&archive.access_key_id, &archive.secret_access_key) {
            (Some(id), Some(secret)) => Some((id.expose().to_owned(), secret.expose().to_owned())),
            _ => None,
        };
        let connection = S3Connection {
            endpoint: archive.endpoint.clone(),
            region: archive.region.clone(),
            force_path_style: archive.force_path_style,
            static_credentials,
            checksum_when_required: archive.request_checksum_calculation
                == ChecksumMode::WhenRequired,
        };
        S3Store::connect(&connection, bucket, prefix, options).await
    }

    /// A store reached through `connection`.
    pub async fn connect(
        connection: &S3Connection,
        bucket: &str,
        prefix: &str,
        options: StoreOptions,
    ) -> Self {
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(Region::new(connection.region.clone()));
        if let Some((id, secret)) = &connection.static_credentials {
            loader = loader.credentials_provider(Credentials::new(
                id,
                secret,
                None,
                None,
                "loghaul-config",
            ));
        }
        if let Some(endpoint) = &connection.endpoint {
            loader = loader.endpoint_url(endpoint);
        }
        let shared = loader.load().await;
        let mut builder = aws_sdk_s3::config::Builder::from(&shared)
            .force_path_style(connection.force_path_style);
        if connection.checksum_when_required {
            builder = builder
                .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
                .response_checksum_validation(ResponseChecksumValidation::WhenRequired);
        }
        S3Store {
            client: Client::from_conf(builder.build()),
            bucket: bucket.to_owned(),
            prefix: prefix.trim_matches('/').to_owned(),
            options,
            list_page_size: None,
            lock_refused: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Whether `error` is the bucket refusing Object Lock headers we sent.
    /// It then stops sending them (saying so once), and the caller retries
    /// without: only a request that carried them is retried.
    fn lock_was_refused<E: ProvideErrorMetadata>(&self, error: &SdkError<E, HttpResponse>) -> bool {
        let SdkError::ServiceError(context) = error else {
            return false;
        };
        let refused = context.err().code() == Some("InvalidRequest")
            && context
                .err()
                .message()
                .is_some_and(|message| message.to_ascii_lowercase().contains("object lock"));
        if refused
            && !self
                .lock_refused
                .swap(true, std::sync::atomic::Ordering::Relaxed)
        {
            error!(
                bucket = %self.bucket,
                message = context.err().message().unwrap_or_default(),
                "the bucket refuses Object Lock, so archive.object_lock cannot be applied: \
                 objects are uploaded without retention from now on (Object Lock is enabled \
                 when a bucket is created; use such a bucket, or remove archive.object_lock)"
            );
        }
        refused
    }

    /// Lists in pages of `size` keys (the server's default is 1000).
    pub fn with_list_page_size(mut self, size: i32) -> Self {
        self.list_page_size = Some(size);
        self
    }

    /// Creates the bucket unless it exists.
    pub async fn create_bucket_if_missing(&self) -> Result<(), ArchiveError> {
        if self
            .client
            .head_bucket()
            .bucket(&self.bucket)
            .send()
            .await
            .is_ok()
        {
            return Ok(());
        }
        self.client
            .create_bucket()
            .bucket(&self.bucket)
            .send()
            .await
            .map(|_| ())
            .map_err(|error| s3_error("create-bucket", &self.bucket, error))
    }

    /// The Object Lock to ask for: the configured one, unless the bucket
    /// refused it.
    fn lock(&self) -> Option<loghaul_config::ObjectLockConfig> {
        if self.lock_refused.load(std::sync::atomic::Ordering::Relaxed) {
            return None;
        }
        self.options.object_lock
    }

    fn lock_mode(&self) -> Option<ObjectLockMode> {
        self.lock()
            .map(|lock| ObjectLockMode::from(lock.mode.as_s3()))
    }

    /// `days` after now, when Object Lock is configured.
    fn lock_until(&self) -> Option<DateTime> {
        let lock = self.lock()?;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_secs() as i64);
        Some(DateTime::from_secs(now + i64::from(lock.days) * 86_400))
    }

    fn full_key(&self, key: &str) -> Result<String, ArchiveError> {
        validate_key(key)?;
        Ok(if self.prefix.is_empty() {
            key.to_owned()
        } else {
            format!("{}/{key}", self.prefix)
        })
    }

    /// Every page of ListObjectsV2 under `full_prefix` (with `delimiter`),
    /// following continuation tokens.
    async fn list_pages(
        &self,
        full_prefix: &str,
        delimiter: Option<&str>,
        mut each: impl FnMut(&aws_sdk_s3::operation::list_objects_v2::ListObjectsV2Output),
    ) -> Result<(), ArchiveError> {
        let mut token: Option<String> = None;
        loop {
            let page = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(full_prefix)
                .set_delimiter(delimiter.map(str::to_owned))
                .set_max_keys(self.list_page_size)
                .set_continuation_token(token.take())
                .send()
                .await
                .map_err(|error| s3_error("list-objects-v2", full_prefix, error))?;
            each(&page);
            match page.next_continuation_token() {
                Some(next) if page.is_truncated().unwrap_or(false) => token = Some(next.to_owned()),
                _ => return Ok(()),
            }
        }
    }

    fn full_prefix(&self, prefix: &str) -> String {
        if self.prefix.is_empty() {
            prefix.to_owned()
        } else {
            format!("{}/{prefix}", self.prefix)
        }
    }

    fn relative_key<'a>(&self, full: &'a str) -> &'a str {
        if self.prefix.is_empty() {
            return full;
        }
        full.strip_prefix(&self.prefix)
            .and_then(|rest| rest.strip_prefix('/'))
            .unwrap_or(full)
    }

    async fn existing_outcome(
        &self,
        key: &str,
        info: &ObjectInfo,
        ours: &FileDigest,
    ) -> Result<PutOutcome, ArchiveError> {
        let sha256 = match info.metadata.get(CONTENT_SHA256) {
            Some(sha256) => sha256.clone(),
            // Written by something else: hash what is there.
            None => {
                crate::digest::digest_reader(self.get(key).await?, key)
                    .await?
                    .sha256
            }
        };
        outcome_for_existing(
            key,
            &FileDigest {
                size: info.size,
                sha256,
            },
            ours,
        )
    }

    async fn put_single(
        &self,
        full: &str,
        path: &Path,
        digest: &FileDigest,
        metadata: HashMap<String, String>,
    ) -> Result<bool, ArchiveError> {
        let checksum = base64::engine::general_purpose::STANDARD.encode(digest.sha256_bytes());
        let result = loop {
            let sent_lock = self.lock().is_some();
            let body = ByteStream::from_path(path)
                .await
                .map_err(|error| ArchiveError::io("open", path, std::io::Error::other(error)))?;
            let result = self
                .client
                .put_object()
                .bucket(&self.bucket)
                .key(full)
                .body(body)
                .content_length(digest.size as i64)
                .checksum_sha256(checksum.clone())
                .set_metadata(Some(metadata.clone()))
                .set_object_lock_mode(self.lock_mode())
                .set_object_lock_retain_until_date(self.lock_until())
                .if_none_match("*")
                .send()
                .await;
            match result {
                Err(error) if sent_lock && self.lock_was_refused(&error) => continue,
                result => break result,
            }
        };
        match result {
            Ok(_) => Ok(true),
            Err(error) if status_of(&error) == Some(412) => Ok(false),
            Err(error) => Err(s3_error("put-object", full, error)),
        }
    }

    async fn put_multipart(
        &self,
        key: &str,
        full: &str,
        path: &Path,
        metadata: HashMap<String, String>,
        journal: &dyn UploadJournal,
    ) -> Result<(), ArchiveError> {
        let created = loop {
            let sent_lock = self.lock().is_some();
            let result = self
                .client
                .create_multipart_upload()
                .bucket(&self.bucket)
                .key(full)
                .set_metadata(Some(metadata.clone()))
                .set_object_lock_mode(self.lock_mode())
                .set_object_lock_retain_until_date(self.lock_until())
                .send()
                .await;
            match result {
                Err(error) if sent_lock && self.lock_was_refused(&error) => continue,
                result => break result,
            }
        }
        .map_err(|error| s3_error("create-multipart-upload", full, error))?;
        let upload_id = created.upload_id().unwrap_or_default().to_owned();
        if let Err(error) = journal.started(key, &upload_id) {
            // Without a record, a crash would leave this upload open: give up now.
            let _ = self.abort_upload(key, &upload_id).await;
            return Err(error);
        }
        let uploaded = self.upload_parts(full, path, &upload_id).await;
        let completed = match uploaded {
            Ok(parts) => self
                .client
                .complete_multipart_upload()
                .bucket(&self.bucket)
                .key(full)
                .upload_id(&upload_id)
                .multipart_upload(
                    CompletedMultipartUpload::builder()
                        .set_parts(Some(parts))
                        .build(),
                )
                .send()
                .await
                .map(|_| ())
                .map_err(|error| s3_error("complete-multipart-upload", full, error)),
            Err(error) => Err(error),
        };
        if let Err(error) = completed {
            // Leave no half-finished upload behind to be billed or confused with data.
            if let Err(abort_error) = self
                .client
                .abort_multipart_upload()
                .bucket(&self.bucket)
                .key(full)
                .upload_id(&upload_id)
                .send()
                .await
            {
                warn!(key = full, error = %DisplayErrorContext(&abort_error), "abort of a failed multipart upload failed");
                // Still journaled: the next recovery aborts it.
                return Err(error);
            }
            journal.finished(&upload_id)?;
            return Err(error);
        }
        journal.finished(&upload_id)?;
        Ok(())
    }

    async fn upload_parts(
        &self,
        full: &str,
        path: &Path,
        upload_id: &str,
    ) -> Result<Vec<CompletedPart>, ArchiveError> {
        let mut file = tokio::fs::File::open(path)
            .await
            .map_err(|error| ArchiveError::io("open", path, error))?;
        let part_size = usize::try_from(self.options.part_size).unwrap_or(usize::MAX);
        let mut parts = Vec::new();
        for part_number in 1.. {
            let mut buffer = Vec::with_capacity(part_size);
            let read = (&mut file)
                .take(part_size as u64)
                .read_to_end(&mut buffer)
                .await
                .map_err(|error| ArchiveError::io("read", path, error))?;
            if read == 0 {
                break;
            }
            let response = self
                .client
                .upload_part()
                .bucket(&self.bucket)
                .key(full)
                .upload_id(upload_id)
                .part_number(part_number)
                .content_length(read as i64)
                .body(ByteStream::from(buffer))
                .send()
                .await
                .map_err(|error| s3_error("upload-part", full, error))?;
            parts.push(
                CompletedPart::builder()
                    .part_number(part_number)
                    .set_e_tag(response.e_tag().map(str::to_owned))
                    .set_checksum_crc32(response.checksum_crc32().map(str::to_owned))
                    .build(),
            );
            if read < part_size {
                break;
            }
        }
        Ok(parts)
    }
}

fn status_of<E>(error: &SdkError<E, HttpResponse>) -> Option<u16> {
    match error {
        SdkError::ServiceError(context) => Some(context.raw().status().as_u16()),
        SdkError::ResponseError(context) => Some(context.raw().status().as_u16()),
        _ => None,
    }
}

fn s3_error<E>(operation: &'static str, key: &str, error: SdkError<E, HttpResponse>) -> ArchiveError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let status = status_of(&error);
    let retryable = match &error {
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) | SdkError::ResponseError(_) => {
            true
        }
        SdkError::ServiceError(context) => {
            status.is_some_and(|code| code >= 500 || code == 429)
                || matches!(
                    context.err().code(),
                    Some("SlowDown" | "RequestTimeout" | "InternalError")
                )
        }
        _ => false,
    };
    ArchiveError::S3 {
        operation,
        key: key.to_owned(),
        message: DisplayErrorContext(&error).to_string(),
        retryable,
    }
}

#[async_trait::async_trait]
impl ObjectStore for S3Store {
    fn describe(&self) -> String {
        if self.prefix.is_empty() {
            format!("s3://{}", self.bucket)
        } else {
            format!("s3://{}/{}", self.bucket, self.prefix)
        }
    }

    async fn put_file(
        &self,
        key: &str,
        path: &Path,
        metadata: &Metadata,
    ) -> Result<PutOutcome, ArchiveError> {
        self.put_file_journaled(key, path, metadata, &NoJournal)
            .await
    }

    async fn abort_upload(&self, key: &str, upload_id: &str) -> Result<(), ArchiveError> {
        let full = self.full_key(key)?;
        match self
            .client
            .abort_multipart_upload()
            .bucket(&self.bucket)
            .key(&full)
            .upload_id(upload_id)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(error) if status_of(&error) == Some(404) => Ok(()),
            Err(error) => Err(s3_error("abort-multipart-upload", &full, error)),
        }
    }

    async fn put_file_journaled(
        &self,
        key: &str,
        path: &Path,
        metadata: &Metadata,
        journal: &dyn UploadJournal,
    ) -> Result<PutOutcome, ArchiveError> {
        let full = self.full_key(key)?;
        let digest = digest_file(path).await?;
        if let Some(info) = self.head(key).await? {
            return self.existing_outcome(key, &info, &digest).await;
        }
        let mut user_metadata: HashMap<String, String> = metadata.clone().into_iter().collect();
        user_metadata.insert(CONTENT_SHA256.into(), digest.sha256.clone());
        if digest.size >= self.options.multipart_threshold {
            self.put_multipart(key, &full, path, user_metadata, journal)
                .await?;
        } else if !self.put_single(&full, path, &digest, user_metadata).await? {
            // 412: someone wrote the key between our HEAD and our PUT.
            let info = self
                .head(key)
                .await?
                .ok_or_else(|| ArchiveError::NotFound {
                    key: key.to_owned(),
                    store: self.describe(),
                })?;
            return self.existing_outcome(key, &info, &digest).await;
        }
        let stored = self.head(key).await?;
        match stored {
            Some(info) if info.size == digest.size => Ok(PutOutcome::Created),
            Some(info) => Err(ArchiveError::Verification {
                key: key.to_owned(),
                reason: format!("wrote {} bytes, the store holds {}", digest.size, info.size),
            }),
            None => Err(ArchiveError::Verification {
                key: key.to_owned(),
                reason: "the object is missing after the write".into(),
            }),
        }
    }

    async fn get(&self, key: &str) -> Result<ObjectReader, ArchiveError> {
        let full = self.full_key(key)?;
        match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(&full)
            .send()
            .await
        {
            Ok(output) => Ok(Box::new(output.body.into_async_read())),
            Err(error) if status_of(&error) == Some(404) => Err(ArchiveError::NotFound {
                key: key.to_owned(),
                store: self.describe(),
            }),
            Err(error) => Err(s3_error("get-object", &full, error)),
        }
    }

    async fn head(&self, key: &str) -> Result<Option<ObjectInfo>, ArchiveError> {
        let full = self.full_key(key)?;
        match self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(&full)
            .send()
            .await
        {
            Ok(output) => Ok(Some(ObjectInfo {
                key: key.to_owned(),
                size: output.content_length().unwrap_or(0).max(0) as u64,
                metadata: output
                    .metadata()
                    .map(|map| map.clone().into_iter().collect())
                    .unwrap_or_default(),
                retention: match (
                    output.object_lock_mode(),
                    output.object_lock_retain_until_date(),
                ) {
                    (Some(mode), Some(until)) => Some(Retention {
                        mode: mode.as_str().to_owned(),
                        until: until
                            .fmt(DateTimeFormat::DateTime)
                            .unwrap_or_else(|_| until.secs().to_string()),
                    }),
                    _ => None,
                },
            })),
            Err(error) if status_of(&error) == Some(404) => Ok(None),
            Err(error) => Err(s3_error("head-object", &full, error)),
        }
    }

    async fn list_children(&self, prefix: &str) -> Result<Vec<String>, ArchiveError> {
        let full_prefix = self.full_prefix(prefix);
        let mut names = Vec::new();
        self.list_pages(&full_prefix, Some("/"), |page| {
            for common in page.common_prefixes() {
                if let Some(name) = common
                    .prefix()
                    .and_then(|full| full.strip_prefix(&full_prefix))
                    .and_then(|rest| rest.strip_suffix('/'))
                {
                    names.push(name.to_owned());
                }
            }
        })
        .await?;
        names.sort();
        names.dedup();
        Ok(names)
    }

    async fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>, ArchiveError> {
        let full_prefix = self.full_prefix(prefix);
        let mut found = Vec::new();
        self.list_pages(&full_prefix, None, |page| {
            for object in page.contents() {
                let Some(full) = object.key() else { continue };
                found.push(ObjectInfo {
                    key: self.relative_key(full).to_owned(),
                    size: object.size().unwrap_or(0).max(0) as u64,
                    metadata: Metadata::new(),
                    retention: None,
                });
            }
        })
        .await?;
        found.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(found)
    }
}
