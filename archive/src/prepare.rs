//! One pass over a rotated raw file: its sha256, size and line count, its
//! first and last lines, and a gzip copy in the spool, all while reading it
//! once in 1 MiB pieces. Nothing is held whole in memory.

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use flate2::Compression;
use flate2::write::GzEncoder;

use loghaul_model::FileIdentity;

use crate::ArchiveError;
use crate::digest::{DigestBuilder, FileDigest};

const CHUNK: usize = 1 << 20;
const LINE_SAMPLE: usize = 512;

/// What one pass learned, and where the compressed copy is.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// Where the raw file was read: its request's path, or the name it was
    /// renamed to since.
    pub raw_path: PathBuf,
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

/// Reads the file `file` (found at `raw` or renamed beside it) once,
/// writing `<work_dir>/<name>.gz` at gzip `level`.
pub async fn prepare(
    raw: &Path,
    file: FileIdentity,
    work_dir: &Path,
    name: &str,
    level: u32,
) -> Result<Prepared, ArchiveError> {
    let (raw, work_dir, name) = (raw.to_owned(), work_dir.to_owned(), name.to_owned());
    tokio::task::spawn_blocking(move || prepare_blocking(&raw, file, &work_dir, &name, level))
        .await
        .map_err(|error| {
            ArchiveError::io("compress", Path::new("."), std::io::Error::other(error))
        })?
}

/// Where the file `file` names is now: `path` while it is still that file,
/// else the entry beside it with the same device and inode (renamed again).
/// A path that now holds another file is never taken for it.
pub fn locate_raw(path: &Path, file: &FileIdentity) -> Result<PathBuf, ArchiveError> {
    if std::fs::metadata(path).is_ok_and(|stat| file.is_file_of(&stat)) {
        return Ok(path.to_owned());
    }
    match loghaul_model::find_beside(path, file.device, file.inode) {
        Some(found) => {
            tracing::info!(from = %path.display(), to = %found.display(), "the rotated file was renamed again; archiving it under its new name");
            Ok(found)
        }
        None => Err(ArchiveError::MissingRaw {
            path: path.display().to_string(),
        }),
    }
}

/// Opens the file `file` names, found by [`locate_raw`]. A rename between
/// the look and the open opens another file: that is checked on the open
/// file, and the look is made again.
fn open_located(path: &Path, file: &FileIdentity) -> Result<(PathBuf, File), ArchiveError> {
    for _ in 0..3 {
        let located = locate_raw(path, file)?;
        let input =
            File::open(&located).map_err(|error| ArchiveError::io("open", &located, error))?;
        if input.metadata().is_ok_and(|stat| file.is_file_of(&stat)) {
            return Ok((located, input));
        }
    }
    Err(ArchiveError::MissingRaw {
        path: path.display().to_string(),
    })
}

fn prepare_blocking(
    raw: &Path,
    file: FileIdentity,
    work_dir: &Path,
    name: &str,
    level: u32,
) -> Result<Prepared, ArchiveError> {
    std::fs::create_dir_all(work_dir)
        .map_err(|error| ArchiveError::io("create directory", work_dir, error))?;
    let (raw, mut input) = open_located(raw, &file)?;
    let raw = raw.as_path();
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
        raw_path: raw.to_owned(),
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

    fn identity(path: &Path) -> FileIdentity {
        FileIdentity::of_path(path, 1).expect("stat")
    }

    /// logrotate's numbered scheme renames app.log.1 to app.log.2 and puts a
    /// newer file at app.log.1 before the archiver gets to it: the file
    /// asked for is archived from its new name, never the newer file.
    #[tokio::test]
    async fn a_file_renamed_again_is_read_under_its_new_name_not_the_old_one() {
        let dir = tempfile::tempdir().expect("tempdir");
        let first = dir.path().join("app.log.1");
        std::fs::write(&first, "older\n").expect("write");
        let file = identity(&first);
        std::fs::rename(&first, dir.path().join("app.log.2")).expect("rotate");
        std::fs::write(&first, "newer, not yet archived\n").expect("write");
        let prepared = prepare(&first, file, &dir.path().join("work"), "r", 6)
            .await
            .expect("prepare");
        assert_eq!(prepared.raw_path, dir.path().join("app.log.2"));
        assert_eq!(prepared.first_line, b"older");

        // Gone under every name: an error naming it, not the newer file.
        std::fs::remove_file(dir.path().join("app.log.2")).expect("delete");
        let error = prepare(&first, file, &dir.path().join("work"), "g", 6)
            .await
            .expect_err("gone");
        assert!(
            matches!(&error, ArchiveError::MissingRaw { path } if path.ends_with("app.log.1")),
            "{error}"
        );
    }

    #[tokio::test]
    async fn one_pass_gives_digest_lines_samples_and_an_exact_gzip() {
        let dir = tempfile::tempdir().expect("tempdir");
        let raw = dir.path().join("app.log");
        let text = "2026-11-22T00:00:00Z first\nmiddle\n2026-11-22T01:00:00Z last without newline";
        std::fs::write(&raw, text).expect("write");
        let prepared = prepare(&raw, identity(&raw), &dir.path().join("work"), "x", 6)
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
        let prepared = prepare(&raw, identity(&raw), dir.path(), "e", 1)
            .await
            .expect("prepare");
        assert_eq!((prepared.line_count, prepared.raw.size), (0, 0));
        assert!(prepared.first_line.is_empty() && prepared.last_line.is_empty());
    }
}
