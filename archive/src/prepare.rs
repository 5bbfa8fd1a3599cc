//! One pass over a rotated raw file: its sha256, size and line count, its
//! first and last lines, and a gzip copy in the spool, all while reading it
//! once in 1 MiB pieces. Nothing is held whole in memory.

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use flate2::Compression;
use flate2::write::GzEncoder;

use crate::ArchiveError;
use crate::digest::{DigestBuilder, FileDigest};

const CHUNK: usize = 1 << 20;
const LINE_SAMPLE: usize = 512;

/// What one pass learned, and where the compressed copy is.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The gzip copy, ready to upload.
    pub gzip_path: PathBuf,
    /// Size and sha256 of the raw bytes.
    pub raw: FileDigest,
    /// Size and sha256 of the gzip copy, hashed as it was written.
    pub gzip: FileDigest,
    /// Lines in the raw file (a last line without a newline counts).
    pub line_count: u64,
    /// The first line, up to 512 bytes.
    pub first_line: Vec<u8>,
    /// The last line, up to 512 bytes.
    pub last_line: Vec<u8>,
}

/// Reads `raw` once, writing `<work_dir>/<name>.gz` at gzip `level`.
pub async fn prepare(
    raw: &Path,
    work_dir: &Path,
    name: &str,
    level: u32,
) -> Result<Prepared, ArchiveError> {
    let (raw, work_dir, name) = (raw.to_owned(), work_dir.to_owned(), name.to_owned());
    tokio::task::spawn_blocking(move || prepare_blocking(&raw, &work_dir, &name, level))
        .await
        .map_err(|error| {
            ArchiveError::io("compress", Path::new("."), std::io::Error::other(error))
        })?
}

fn prepare_blocking(
    raw: &Path,
    work_dir: &Path,
    name: &str,
    level: u32,
) -> Result<Prepared, ArchiveError> {
    std::fs::create_dir_all(work_dir)
        .map_err(|error| ArchiveError::io("create directory", work_dir, error))?;
    let mut input = File::open(raw).map_err(|error| ArchiveError::io("open", raw, error))?;
    let gzip_path = work_dir.join(format!("{name}.gz"));
    let partial = work_dir.join(format!("{name}.gz.partial"));
    let output =
        File::create(&partial).map_err(|error| ArchiveError::io("create", &partial, error))?;
    let mut encoder = GzEncoder::new(
        HashingWriter {
            inner: BufWriter::with_capacity(CHUNK, output),
            digest: DigestBuilder::default(),
        },
        Compression::new(level),
    );
    let mut digest = DigestBuilder::default();
    let mut buffer = vec![0u8; CHUNK];
    let (mut newlines, mut first_line, mut first_done, mut last_byte) =
        (0u64, Vec::new(), false, None);
    loop {
        let read = input
            .read(&mut buffer)
            .map_err(|error| ArchiveError::io("read", raw, error))?;
        if read == 0 {
            break;
        }
        let chunk = &buffer[..read];
        digest.update(chunk);
        newlines += memchr::memchr_iter(b'\n', chunk).count() as u64;
        if !first_done {
            let end = memchr::memchr(b'\n', chunk).unwrap_or(chunk.len());
            let room = LINE_SAMPLE.saturating_sub(first_line.len());
            first_line.extend_from_slice(&chunk[..end.min(room)]);
            first_done = end < chunk.len() || first_line.len() >= LINE_SAMPLE;
        }
        last_byte = chunk.last().copied();
        encoder
            .write_all(chunk)
            .map_err(|error| ArchiveError::io("compress", &partial, error))?;
    }
    let hashing = encoder
        .finish()
        .map_err(|error| ArchiveError::io("compress", &partial, error))?;
    let gzip = hashing.digest.finish();
    let file = hashing
        .inner
        .into_inner()
        .map_err(|error| ArchiveError::io("write", &partial, error.into_error()))?;
    file.sync_all()
        .map_err(|error| ArchiveError::io("fsync", &partial, error))?;
    std::fs::rename(&partial, &gzip_path)
        .map_err(|error| ArchiveError::io("rename", &gzip_path, error))?;
    let raw_digest = digest.finish();
    let line_count = newlines + u64::from(last_byte.is_some_and(|byte| byte != b'\n'));
    let last_line =
        last_line(&input, raw_digest.size).map_err(|error| ArchiveError::io("read", raw, error))?;
    Ok(Prepared {
        gzip_path,
        raw: raw_digest,
        gzip,
        line_count,
        first_line,
        last_line,
    })
}

/// Hashes what passes through to `inner`.
struct HashingWriter<W> {
    inner: W,
    digest: DigestBuilder,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let written = self.inner.write(bytes)?;
        self.digest.update(&bytes[..written]);
        Ok(written)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// The last line of a file of `size` bytes, up to 512 bytes of it.
fn last_line(file: &File, size: u64) -> std::io::Result<Vec<u8>> {
    let window = size.min(4096);
    let mut tail = vec![0u8; window as usize];
    file.read_exact_at(&mut tail, size - window)?;
    if tail.last() == Some(&b'\n') {
        tail.pop();
    }
    let start = memchr::memrchr(b'\n', &tail).map_or(0, |newline| newline + 1);
    let line = &tail[start..];
    Ok(line[..line.len().min(LINE_SAMPLE)].to_vec())
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    #[tokio::test]
    async fn one_pass_gives_digest_lines_samples_and_an_exact_gzip() {
        let dir = tempfile::tempdir().expect("tempdir");
        let raw = dir.path().join("app.log");
        let text = "2026-11-22T00:00:00Z first\nmiddle\n2026-11-22T01:00:00Z last without newline";
        std::fs::write(&raw, text).expect("write");
        let prepared = prepare(&raw, &dir.path().join("work"), "x", 6)
            .await
            .expect("prepare");
        assert_eq!(prepared.line_count, 3);
        assert_eq!(prepared.first_line, b"2026-11-22T00:00:00Z first");
        assert_eq!(
            prepared.last_line,
            b"2026-11-22T01:00:00Z last without newline"
        );
        assert_eq!(
            prepared.raw,
            crate::digest_file(&raw).await.expect("digest")
        );
        assert_eq!(
            prepared.gzip,
            crate::digest_file(&prepared.gzip_path)
                .await
                .expect("digest")
        );
        let mut decompressed = String::new();
        flate2::read::GzDecoder::new(File::open(&prepared.gzip_path).expect("gz"))
            .read_to_string(&mut decompressed)
            .expect("valid gzip");
        assert_eq!(decompressed, text);
        assert!(!dir.path().join("work/x.gz.partial").exists());
    }

    #[tokio::test]
    async fn empty_files_have_no_lines() {
        let dir = tempfile::tempdir().expect("tempdir");
        let raw = dir.path().join("empty.log");
        std::fs::write(&raw, b"").expect("write");
        let prepared = prepare(&raw, dir.path(), "e", 1).await.expect("prepare");
        assert_eq!((prepared.line_count, prepared.raw.size), (0, 0));
        assert!(prepared.first_line.is_empty() && prepared.last_line.is_empty());
    }
}
