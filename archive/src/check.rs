//! Reading an archived object back against what it should be: gunzip as it
//! streams, hash and count the raw bytes, and stop at the recorded raw size
//! so a gzip bomb cannot fill a disk. Memory stays at a few fixed buffers
//! whatever the object's size. `verify` reads into nothing; `restore` hands
//! in the file to write.

use std::io::{Read, Write};
use std::sync::Arc;

use serde::Serialize;

use crate::catalog::{Entry, Expected};
use crate::digest::{DigestBuilder, FileDigest};
use crate::{ArchiveError, ObjectStore};

const BUFFER: usize = 256 * 1024;

/// How an object compares with what it should be.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Read back whole and equal to its record.
    Good,
    /// Its record is there, the object is not.
    Missing,
    /// The gzip stream is damaged or cut short.
    Corrupt,
    /// It reads, but not as recorded (size, sha256, line count, or no
    /// usable record at all).
    Mismatched,
    /// Its key or names would write outside the destination.
    Refused,
    /// Reading it stopped on a store or local I/O error (a network fault,
    /// a full destination): the object may be fine; run again.
    Failed,
}

impl Status {
    /// Lowercase name, as in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Good => "good",
            Status::Missing => "missing",
            Status::Corrupt => "corrupt",
            Status::Mismatched => "mismatched",
            Status::Refused => "refused",
            Status::Failed => "failed",
        }
    }
}

/// The result of reading one object back.
#[derive(Clone, Debug, Serialize)]
pub struct Verdict {
    /// The object key.
    pub key: String,
    /// How it compared.
    pub status: Status,
    /// What differed, for anything but good.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The raw sha256 read back, when the stream was read to its end.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// Raw bytes read back.
    pub raw_bytes: u64,
    /// Lines read back.
    pub lines: u64,
}

impl Verdict {
    /// A verdict reached without reading the object.
    pub fn without_reading(key: &str, status: Status, reason: impl Into<String>) -> Self {
        Verdict {
            key: key.to_owned(),
            status,
            reason: Some(reason.into()),
            sha256: None,
            raw_bytes: 0,
            lines: 0,
        }
    }
}

/// Called with compressed byte counts as they are read, for progress bars.
pub type Progress = Arc<dyn Fn(u64) + Send + Sync>;

/// A progress callback that shows nothing.
pub fn no_progress() -> Progress {
    Arc::new(|_| {})
}

/// The verdict for an entry that cannot be read at all, if it is one.
pub fn unreadable(entry: &Entry) -> Option<Verdict> {
    if let Err(error) = crate::validate_key(&entry.key) {
        return Some(Verdict::without_reading(
            &entry.key,
            Status::Refused,
            error.to_string(),
        ));
    }
    if entry.object.is_none() {
        return Some(Verdict::without_reading(
            &entry.key,
            Status::Missing,
            "the record is there but the object is not",
        ));
    }
    if entry.expected.is_none() {
        return Some(Verdict::without_reading(
            &entry.key,
            Status::Mismatched,
            entry
                .problem
                .clone()
                .unwrap_or_else(|| "no record of what it should be".into()),
        ));
    }
    None
}

/// Reads `entry`'s object back, writing the raw bytes to `sink` when given.
/// A store error other than "not found" is a `failed` verdict: the object
/// may be fine, and one fault does not stop the others being checked.
///
/// A stream that breaks is read once more from the start. Breaking again at
/// the same byte is the object, not the network (a store that promised more
/// bytes than it holds): `corrupt`.
pub async fn check(
    store: &dyn ObjectStore,
    entry: &Entry,
    mut sink: Option<std::fs::File>,
    progress: Progress,
) -> Result<(Verdict, Option<std::fs::File>), ArchiveError> {
    let mut first_break = None;
    loop {
        let (verdict, returned, broke_at) =
            check_once(store, entry, sink, progress.clone()).await?;
        sink = returned;
        let Some(at) = broke_at else {
            return Ok((verdict, sink));
        };
        if first_break == Some(at) {
            return Ok((
                Verdict {
                    status: Status::Corrupt,
                    reason: Some(format!(
                        "the store ends it early, after {at} stored bytes, each time it is read ({})",
                        verdict.reason.unwrap_or_default()
                    )),
                    ..verdict
                },
                sink,
            ));
        }
        if first_break.is_some() {
            return Ok((verdict, sink));
        }
        first_break = Some(at);
        if let Some(file) = sink.as_mut() {
            use std::io::Seek;
            let rewound = file.set_len(0).and_then(|()| file.rewind());
            if let Err(error) = rewound {
                return Ok((
                    Verdict::without_reading(
                        &entry.key,
                        Status::Failed,
                        format!("cannot rewind the restored copy: {error}"),
                    ),
                    sink,
                ));
            }
        }
    }
}

/// One reading of `entry`; the third value is the count of stored bytes read
/// when the store's stream broke, if it did.
async fn check_once(
    store: &dyn ObjectStore,
    entry: &Entry,
    sink: Option<std::fs::File>,
    progress: Progress,
) -> Result<(Verdict, Option<std::fs::File>, Option<u64>), ArchiveError> {
    if let Some(verdict) = unreadable(entry) {
        return Ok((verdict, sink, None));
    }
    let Some(expected) = entry.expected.clone() else {
        return Ok((
            Verdict::without_reading(&entry.key, Status::Mismatched, "no record"),
            sink,
            None,
        ));
    };
    let reader = match store.get(&entry.key).await {
        Ok(reader) => reader,
        Err(ArchiveError::NotFound { .. }) => {
            return Ok((
                Verdict::without_reading(&entry.key, Status::Missing, "the object is gone"),
                sink,
                None,
            ));
        }
        Err(error) => {
            return Ok((
                Verdict::without_reading(
                    &entry.key,
                    Status::Failed,
                    format!("the store failed: {error}"),
                ),
                sink,
                None,
            ));
        }
    };
    let key = entry.key.clone();
    let problem = entry.problem.clone();
    tokio::task::spawn_blocking(move || {
        let bridge = tokio_util::io::SyncIoBridge::new(reader);
        let mut sink = sink;
        let (verdict, broke_at) = stream(bridge, &key, &expected, sink.as_mut(), &progress);
        let verdict = match (verdict, problem) {
            (verdict, Some(problem)) if verdict.status == Status::Good => Verdict {
                status: Status::Mismatched,
                reason: Some(problem),
                ..verdict
            },
            (verdict, _) => verdict,
        };
        (verdict, sink, broke_at)
    })
    .await
    .map_err(|error| {
        ArchiveError::io(
            "verify",
            std::path::Path::new(&entry.key),
            std::io::Error::other(error),
        )
    })
}

/// Hashes the compressed bytes as the decoder pulls them, and remembers an
/// error of the source itself, so a network fault is not taken for damage.
struct Counting<R> {
    inner: R,
    digest: DigestBuilder,
    progress: Progress,
    read: u64,
    source_error: Option<String>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        let read = match self.inner.read(buffer) {
            Ok(read) => read,
            Err(error) => {
                self.source_error = Some(error.to_string());
                return Err(error);
            }
        };
        self.digest.update(&buffer[..read]);
        self.read += read as u64;
        (self.progress)(read as u64);
        Ok(read)
    }
}

/// The streaming comparison; see the module comment. The second value is
/// the count of stored bytes read when the source itself broke.
pub(crate) fn stream(
    compressed: impl Read,
    key: &str,
    expected: &Expected,
    mut sink: Option<&mut std::fs::File>,
    progress: &Progress,
) -> (Verdict, Option<u64>) {
    let limit = expected.manifest.raw_size;
    let counting = Counting {
        inner: compressed,
        digest: DigestBuilder::default(),
        progress: progress.clone(),
        read: 0,
        source_error: None,
    };
    let mut decoder = flate2::read::MultiGzDecoder::new(counting);
    let mut raw = DigestBuilder::default();
    let mut buffer = vec![0u8; BUFFER];
    let (mut lines, mut last_byte, mut total) = (0u64, None, 0u64);
    let verdict = |status, reason: String, sha256, raw_bytes, lines| {
        (
            Verdict {
                key: key.to_owned(),
                status,
                reason: Some(reason),
                sha256,
                raw_bytes,
                lines,
            },
            None,
        )
    };
    loop {
        // One byte past the recorded size is enough to know it is too big.
        let room = (limit + 1 - total).min(BUFFER as u64) as usize;
        let read = match decoder.read(&mut buffer[..room]) {
            Ok(read) => read,
            Err(error) => {
                let source = decoder.get_ref();
                if let Some(error) = &source.source_error {
                    let (failed, _) = verdict(
                        Status::Failed,
                        format!("reading the object failed after {total} raw bytes: {error}"),
                        None,
                        total,
                        lines,
                    );
                    return (failed, Some(source.read));
                }
                return verdict(
                    Status::Corrupt,
                    format!("the gzip stream is damaged after {total} raw bytes: {error}"),
                    None,
                    total,
                    lines,
                );
            }
        };
        if read == 0 {
            break;
        }
        let chunk = &buffer[..read];
        total += read as u64;
        if total > limit {
            return verdict(
                Status::Mismatched,
                format!(
                    "it holds more than the recorded {limit} raw bytes; stopped there (a gzip bomb, or a wrong record)"
                ),
                None,
                total,
                lines,
            );
        }
        raw.update(chunk);
        lines += memchr::memchr_iter(b'\n', chunk).count() as u64;
        last_byte = chunk.last().copied();
        if let Some(file) = sink.as_deref_mut()
            && let Err(error) = file.write_all(chunk)
        {
            return verdict(
                Status::Failed,
                format!("cannot write the restored copy: {error}"),
                None,
                total,
                lines,
            );
        }
    }
    lines += u64::from(last_byte.is_some_and(|byte| byte != b'\n'));
    let gzip = decoder.into_inner().digest.finish();
    let raw = raw.finish();
    (compare(key, expected, &raw, &gzip, lines), None)
}

fn compare(
    key: &str,
    expected: &Expected,
    raw: &FileDigest,
    gzip: &FileDigest,
    lines: u64,
) -> Verdict {
    let manifest = &expected.manifest;
    let mut differences = Vec::new();
    if raw.size != manifest.raw_size {
        differences.push(format!(
            "{} raw bytes, recorded {}",
            raw.size, manifest.raw_size
        ));
    }
    if raw.sha256 != manifest.sha256 {
        differences.push(format!(
            "raw sha256 {}, recorded {}",
            raw.sha256, manifest.sha256
        ));
    }
    if lines != manifest.line_count {
        differences.push(format!("{lines} lines, recorded {}", manifest.line_count));
    }
    // The raw bytes are right but the stored gzip is not the one written.
    if differences.is_empty()
        && let Some(recorded) = &expected.gzip_sha256
        && *recorded != gzip.sha256
    {
        differences.push(format!("gzip sha256 {}, recorded {recorded}", gzip.sha256));
    }
    let status = if differences.is_empty() {
        Status::Good
    } else {
        Status::Mismatched
    };
    Verdict {
        key: key.to_owned(),
        status,
        reason: (!differences.is_empty()).then(|| differences.join("; ")),
        sha256: Some(raw.sha256.clone()),
        raw_bytes: raw.size,
        lines,
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use flate2::Compression;
    use flate2::write::GzEncoder;
    use loghaul_model::{ArchiveManifest, FileIdentity, RotationReason};

    use super::*;

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::new(6));
        encoder.write_all(bytes).expect("compress");
        encoder.finish().expect("finish")
    }

    fn expected_for(raw: &[u8]) -> Expected {
        let mut digest = DigestBuilder::default();
        digest.update(raw);
        let digest = digest.finish();
        Expected {
            manifest: ArchiveManifest {
                host: "h".into(),
                source_path: "/var/log/a.log".into(),
                file: FileIdentity {
                    device: 1,
                    inode: 2,
                    fingerprint: 3,
                },
                sha256: digest.sha256,
                raw_size: digest.size,
                line_count: memchr::memchr_iter(b'\n', raw).count() as u64
                    + u64::from(raw.last().is_some_and(|byte| *byte != b'\n')),
                first_timestamp_unix_nano: 0,
                last_timestamp_unix_nano: 0,
                reason: RotationReason::Size,
            },
            raw_name: "a.log.1".into(),
            gzip_sha256: None,
        }
    }

    fn verdict_of(compressed: &[u8], expected: &Expected) -> Verdict {
        stream(compressed, "k", expected, None, &no_progress()).0
    }

    /// A store whose reads break after `breaks[n]` bytes on the n-th get
    /// (`None`: whole).
    struct Breaking {
        gzip: Vec<u8>,
        breaks: Vec<Option<usize>>,
        gets: std::sync::atomic::AtomicUsize,
    }

    struct BrokenAfter(std::io::Cursor<Vec<u8>>, usize);

    impl tokio::io::AsyncRead for BrokenAfter {
        fn poll_read(
            mut self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
            buffer: &mut tokio::io::ReadBuf<'_>,
        ) -> std::task::Poll<std::io::Result<()>> {
            let at = self.0.position() as usize;
            if at >= self.1 {
                return std::task::Poll::Ready(Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "connection reset",
                )));
            }
            let room = buffer.remaining().min(self.1 - at).min(100);
            let mut chunk = vec![0; room];
            let read = std::io::Read::read(&mut self.0, &mut chunk)?;
            buffer.put_slice(&chunk[..read]);
            std::task::Poll::Ready(Ok(()))
        }
    }

    #[async_trait::async_trait]
    impl ObjectStore for Breaking {
        fn describe(&self) -> String {
            "breaking://".into()
        }

        async fn put_file(
            &self,
            _: &str,
            path: &std::path::Path,
            _: &crate::Metadata,
        ) -> Result<crate::PutOutcome, ArchiveError> {
            Err(ArchiveError::io(
                "put",
                path,
                std::io::Error::other("read-only"),
            ))
        }

        async fn get(&self, _: &str) -> Result<crate::ObjectReader, ArchiveError> {
            let n = self.gets.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let limit = self.breaks.get(n).copied().flatten().unwrap_or(usize::MAX);
            Ok(Box::new(BrokenAfter(
                std::io::Cursor::new(self.gzip.clone()),
                limit,
            )))
        }

        async fn head(&self, _: &str) -> Result<Option<crate::ObjectInfo>, ArchiveError> {
            Ok(None)
        }

        async fn list(&self, _: &str) -> Result<Vec<crate::ObjectInfo>, ArchiveError> {
            Ok(Vec::new())
        }
    }

    /// A stream that breaks once is read again and found good; one that
    /// breaks at the same byte twice is the object, `corrupt`; one that
    /// breaks at two different bytes is the network, `failed`. A restored
    /// copy is rewound between readings.
    #[tokio::test]
    async fn a_broken_stream_is_read_again_before_anything_is_decided() {
        let raw: Vec<u8> = (0..20_000)
            .flat_map(|n| format!("line {n} of the archived file\n").into_bytes())
            .collect();
        let gzip = gzip(&raw);
        let entry = crate::catalog::Entry {
            key: "k".into(),
            object: Some(crate::catalog::ObjectSummary {
                size: gzip.len() as u64,
                retention: None,
            }),
            expected: Some(expected_for(&raw)),
            problem: None,
        };
        let half = gzip.len() / 2;
        for (breaks, status) in [
            (vec![Some(half), None], Status::Good),
            (vec![Some(half), Some(half)], Status::Corrupt),
            (vec![Some(half), Some(half + 1)], Status::Failed),
        ] {
            let store = Breaking {
                gzip: gzip.clone(),
                breaks: breaks.clone(),
                gets: std::sync::atomic::AtomicUsize::new(0),
            };
            let sink = tempfile::tempfile().expect("sink");
            let (verdict, sink) = check(&store, &entry, Some(sink), no_progress())
                .await
                .expect("answers");
            assert_eq!(verdict.status, status, "{breaks:?}: {verdict:?}");
            assert_eq!(store.gets.load(std::sync::atomic::Ordering::Relaxed), 2);
            if status == Status::Good {
                let mut sink = sink.expect("sink");
                use std::io::{Read, Seek};
                sink.rewind().expect("rewind");
                let mut copy = Vec::new();
                sink.read_to_end(&mut copy).expect("read");
                assert!(copy == raw, "the copy holds the file once");
            }
        }
    }

    #[test]
    fn good_flipped_truncated_and_bomb_are_told_apart() {
        let raw: Vec<u8> = (0..20_000)
            .flat_map(|n| format!("2026-11-30T00:00:00Z line {n}\n").into_bytes())
            .collect();
        let expected = expected_for(&raw);
        let compressed = gzip(&raw);
        let good = verdict_of(&compressed, &expected);
        assert_eq!(good.status, Status::Good, "{good:?}");
        assert_eq!((good.raw_bytes, good.lines), (raw.len() as u64, 20_000));

        let mut flipped = compressed.clone();
        let middle = flipped.len() / 2;
        flipped[middle] ^= 0x01;
        let verdict = verdict_of(&flipped, &expected);
        assert!(
            matches!(verdict.status, Status::Corrupt | Status::Mismatched),
            "{verdict:?}"
        );
        assert_ne!(verdict.status, Status::Good);

        let truncated = &compressed[..compressed.len() * 2 / 3];
        assert_eq!(
            verdict_of(truncated, &expected).status,
            Status::Corrupt,
            "a cut stream is corrupt"
        );

        // 64 MiB of zeros in a 64 KiB gzip, recorded as 1,000 bytes.
        let bomb = gzip(&vec![0u8; 64 << 20]);
        let mut small = expected_for(&[0u8; 1000]);
        small.manifest.raw_size = 1000;
        let verdict = verdict_of(&bomb, &small);
        assert_eq!(verdict.status, Status::Mismatched, "{verdict:?}");
        assert_eq!(verdict.raw_bytes, 1001, "it stops one byte past the record");
    }

    #[test]
    fn wrong_records_are_mismatches_named_by_field() {
        let raw = b"one\ntwo\nthree";
        let mut expected = expected_for(raw);
        assert_eq!(expected.manifest.line_count, 3);
        expected.manifest.line_count = 2;
        let verdict = verdict_of(&gzip(raw), &expected);
        assert_eq!(verdict.status, Status::Mismatched);
        assert_eq!(verdict.reason.as_deref(), Some("3 lines, recorded 2"));
        let mut expected = expected_for(raw);
        expected.gzip_sha256 = Some("0".repeat(64));
        let verdict = verdict_of(&gzip(raw), &expected);
        assert_eq!(verdict.status, Status::Mismatched);
        assert!(
            verdict
                .reason
                .is_some_and(|reason| reason.starts_with("gzip sha256"))
        );
    }
}
