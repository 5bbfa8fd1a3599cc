//! One pass over a rotated raw file: its sha256, size and line count, its
//! first and last lines, and a gzip copy in the spool, all while reading it
//! once in 1 MiB pieces. Nothing is held whole in memory.
//!
//! The gzip copy is made as pigz makes its: each 1 MiB piece is compressed
//! on its own, on one of `threads` threads, into a complete gzip member, and
//! the members are written in order. A file of several members is one valid
//! gzip file: `gunzip` and [`flate2::read::MultiGzDecoder`] read it back
//! whole. Unlike pigz, a member does not start from the previous piece's
//! last 32 KiB, which costs a fraction of a percent of size and keeps the
//! members independent. At most `2 × threads + 1` pieces are in flight: each
//! thread has a piece queued behind the one it compresses, so a member that
//! finishes before an earlier one, and must wait to be written, stalls no
//! thread.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, mpsc};

use flate2::{Compress, Compression, Crc, FlushCompress, Status};

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

/// How many threads compress when none is configured: one per core.
pub fn default_gzip_threads() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// Reads the file `file` (found at `raw` or renamed beside it) once,
/// writing `<work_dir>/<name>.gz` at gzip `level`, compressed on `threads`
/// threads.
pub async fn prepare(
    raw: &Path,
    file: FileIdentity,
    work_dir: &Path,
    name: &str,
    level: u32,
    threads: usize,
) -> Result<Prepared, ArchiveError> {
    let (raw, work_dir, name) = (raw.to_owned(), work_dir.to_owned(), name.to_owned());
    tokio::task::spawn_blocking(move || {
        prepare_blocking(&raw, file, &work_dir, &name, level, threads.max(1))
    })
    .await
    .map_err(|error| ArchiveError::io("compress", Path::new("."), std::io::Error::other(error)))?
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
    threads: usize,
) -> Result<Prepared, ArchiveError> {
    std::fs::create_dir_all(work_dir)
        .map_err(|error| ArchiveError::io("create directory", work_dir, error))?;
    let (raw, mut input) = open_located(raw, &file)?;
    let raw = raw.as_path();
    let gzip_path = work_dir.join(format!("{name}.gz"));
    let partial = work_dir.join(format!("{name}.gz.partial"));
    let output =
        File::create(&partial).map_err(|error| ArchiveError::io("create", &partial, error))?;
    let mut hashing = HashingWriter {
        inner: BufWriter::with_capacity(CHUNK, output),
        digest: DigestBuilder::default(),
    };
    let mut digest = DigestBuilder::default();
    let (mut newlines, mut first_line, mut first_done, mut last_byte) =
        (0u64, Vec::new(), false, None);
    let each_piece = |chunk: &[u8]| {
        digest.update(chunk);
        newlines += memchr::memchr_iter(b'\n', chunk).count() as u64;
        if !first_done {
            let end = memchr::memchr(b'\n', chunk).unwrap_or(chunk.len());
            let room = LINE_SAMPLE.saturating_sub(first_line.len());
            first_line.extend_from_slice(&chunk[..end.min(room)]);
            first_done = end < chunk.len() || first_line.len() >= LINE_SAMPLE;
        }
        last_byte = chunk.last().copied();
    };
    compress_members(
        &mut input,
        &mut hashing,
        Compression::new(level),
        threads,
        each_piece,
    )
    .map_err(|failure| match failure {
        Failure::Read(error) => ArchiveError::io("read", raw, error),
        Failure::Write(error) => ArchiveError::io("compress", &partial, error),
    })?;
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

/// Where [`compress_members`] stopped.
enum Failure {
    Read(std::io::Error),
    Write(std::io::Error),
}

/// Reads `input` to its end in pieces of [`CHUNK`] bytes, shows each piece
/// to `each_piece` in order, and writes each as its own gzip member to
/// `out`, in order, compressing on `threads` threads (see the module
/// comment). An empty input still makes one (empty) member, so the output
/// is always a gzip file.
///
/// Buffers go round rather than being allocated per piece: a piece and its
/// member's buffer travel to a thread with the job and come back with the
/// result, and each thread keeps its deflate state, reset between members.
/// Fresh megabytes per piece cost page faults and zeroing on the reading
/// thread, which competes with the compressing ones.
fn compress_members(
    input: &mut impl Read,
    out: &mut impl Write,
    level: Compression,
    threads: usize,
    mut each_piece: impl FnMut(&[u8]),
) -> Result<(), Failure> {
    let (job_sender, jobs) = mpsc::channel::<Job>();
    let jobs = Arc::new(Mutex::new(jobs));
    let (done_sender, done) = mpsc::channel::<Done>();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            let (jobs, done_sender) = (jobs.clone(), done_sender.clone());
            scope.spawn(move || {
                let mut members = MemberWriter::new(level);
                loop {
                    let job = jobs.lock().map(|jobs| jobs.recv());
                    let Ok(Ok(mut job)) = job else {
                        return;
                    };
                    let result = members.write(&job.piece, &mut job.member);
                    if done_sender.send((job, result)).is_err() {
                        return;
                    }
                }
            });
        }
        drop(done_sender);
        let mut waiting: BTreeMap<u64, Job> = BTreeMap::new();
        let mut spare: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
        let (mut sent, mut written) = (0u64, 0u64);
        // Receives one member, then writes every member next in order.
        let mut receive_and_write = |written: &mut u64, spare: &mut Vec<(Vec<u8>, Vec<u8>)>| {
            match done.recv() {
                Ok((job, Ok(()))) => {
                    waiting.insert(job.index, job);
                }
                Ok((_, Err(error))) => return Err(Failure::Write(error)),
                Err(_) => {
                    return Err(Failure::Write(std::io::Error::other(
                        "a compression thread stopped",
                    )));
                }
            }
            while let Some(job) = waiting.remove(written) {
                out.write_all(&job.member).map_err(Failure::Write)?;
                *written += 1;
                spare.push((job.piece, job.member));
            }
            Ok(())
        };
        let result = (|| {
            loop {
                let (mut piece, member) = spare.pop().unwrap_or_default();
                piece.resize(CHUNK, 0);
                let read = read_full(input, &mut piece).map_err(Failure::Read)?;
                if read == 0 && sent > 0 {
                    break;
                }
                piece.truncate(read);
                each_piece(&piece);
                let job = Job {
                    index: sent,
                    piece,
                    member,
                };
                job_sender
                    .send(job)
                    .map_err(|_| Failure::Write(std::io::Error::other("no compression thread")))?;
                sent += 1;
                while sent - written > 2 * threads as u64 {
                    receive_and_write(&mut written, &mut spare)?;
                }
                if read < CHUNK {
                    break;
                }
            }
            while written < sent {
                receive_and_write(&mut written, &mut spare)?;
            }
            Ok(())
        })();
        // Ends the threads, whether or not all went well.
        drop(job_sender);
        result
    })
}

/// One piece on its way to a compression thread and back.
struct Job {
    /// Its place in the file, counting pieces.
    index: u64,
    piece: Vec<u8>,
    /// Where the thread writes the piece's gzip member.
    member: Vec<u8>,
}

type Done = (Job, std::io::Result<()>);

/// Fills `buffer` unless the input ends first; the count read.
fn read_full(input: &mut impl Read, buffer: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        match input.read(&mut buffer[filled..]) {
            Ok(0) => break,
            Ok(read) => filled += read,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    Ok(filled)
}

/// Writes complete gzip members (RFC 1952) with one deflate state, reset
/// for each: the header flate2 writes, the raw deflate stream, then the
/// CRC-32 and the length of the piece.
struct MemberWriter {
    deflate: Compress,
    /// The header's XFL byte: 2 for the slowest level, 4 for the fastest.
    extra_flags: u8,
}

impl MemberWriter {
    fn new(level: Compression) -> Self {
        let extra_flags = match level.level() {
            9.. => 2,
            0 | 1 => 4,
            _ => 0,
        };
        Self {
            deflate: Compress::new(level, false),
            extra_flags,
        }
    }

    /// `member` becomes the gzip member of `piece`.
    fn write(&mut self, piece: &[u8], member: &mut Vec<u8>) -> std::io::Result<()> {
        member.clear();
        // Magic, deflate, no flags, no time, XFL, OS unknown.
        member.extend_from_slice(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, self.extra_flags, 255]);
        self.deflate.reset();
        // Room for the whole stream, incompressible input included, so that
        // one call writes it: zlib-rs splits its blocks differently when the
        // output runs out on the way, and the same piece must always give
        // the same member, whatever buffer it lands in.
        member.reserve(piece.len() + piece.len() / 64 + 64);
        loop {
            let consumed = usize::try_from(self.deflate.total_in()).unwrap_or(usize::MAX);
            let rest = piece.get(consumed..).unwrap_or_default();
            match self
                .deflate
                .compress_vec(rest, member, FlushCompress::Finish)
                .map_err(std::io::Error::other)?
            {
                Status::StreamEnd => break,
                // Out of room: grow and go on.
                Status::Ok | Status::BufError => member.reserve(member.capacity().max(4096)),
            }
        }
        let mut crc = Crc::new();
        crc.update(piece);
        member.extend_from_slice(&crc.sum().to_le_bytes());
        // ISIZE: the length modulo 2^32 (a piece is 1 MiB at most).
        member.extend_from_slice(&(piece.len() as u32).to_le_bytes());
        Ok(())
    }
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

    use flate2::write::GzEncoder;

    use super::*;

    fn identity(path: &Path) -> FileIdentity {
        FileIdentity::of_path(path, 1).expect("stat")
    }

    proptest::proptest! {
        /// One deflate state, reset between members, writes each member as
        /// a fresh one would, and each is a whole gzip member of its piece:
        /// flate2's header, and a stream, CRC-32 and length that its
        /// checking decoder reads back exactly. A buffer that held a longer
        /// member keeps none of it.
        #[test]
        fn a_reused_member_writer_writes_whole_members(
            pieces in proptest::collection::vec(
                proptest::collection::vec(proptest::prop_oneof![
                    proptest::prelude::any::<u8>(),
                    proptest::sample::select(b"GET /api 200 \n".to_vec()),
                ], 0..20_000),
                1..5,
            ),
            level in 0u32..=9,
        ) {
            let mut reused = MemberWriter::new(Compression::new(level));
            let mut member = vec![0xaa; 70_000];
            for piece in &pieces {
                reused.write(piece, &mut member).expect("compress");
                let mut fresh = Vec::new();
                MemberWriter::new(Compression::new(level))
                    .write(piece, &mut fresh)
                    .expect("compress");
                proptest::prop_assert!(member == fresh, "level {level}, {} bytes", piece.len());
                let mut encoder = GzEncoder::new(Vec::new(), Compression::new(level));
                encoder.write_all(piece).expect("compress");
                let theirs = encoder.finish().expect("finish");
                proptest::prop_assert_eq!(&member[..10], &theirs[..10]);
                let mut back = Vec::new();
                flate2::read::GzDecoder::new(&member[..])
                    .read_to_end(&mut back)
                    .expect("a whole member");
                proptest::prop_assert!(&back == piece, "level {level}, {} bytes", piece.len());
            }
        }
    }

    /// Members compressed on any number of threads read back byte-exact,
    /// with `gunzip` and with `MultiGzDecoder`, at sizes around the piece
    /// boundaries; the pieces are shown in order; an empty input is still a
    /// gzip file.
    #[test]
    fn members_on_any_thread_count_read_back_byte_exact() {
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let text: Vec<u8> = (0..(3 * CHUNK + 100))
            .map(|n| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                if n % 61 == 60 {
                    b'\n'
                } else {
                    b'a' + (state % 20) as u8
                }
            })
            .collect();
        for size in [
            0,
            1,
            CHUNK - 1,
            CHUNK,
            CHUNK + 1,
            2 * CHUNK,
            3 * CHUNK + 100,
        ] {
            for threads in [1, 2, 3, 8] {
                let raw = &text[..size];
                let mut out = Vec::new();
                let mut shown = Vec::new();
                compress_members(
                    &mut &raw[..],
                    &mut out,
                    Compression::new(6),
                    threads,
                    |piece| shown.extend_from_slice(piece),
                )
                .unwrap_or_else(|_| panic!("compress {size} on {threads}"));
                assert!(shown == raw, "pieces in order: {size} on {threads}");
                let mut back = Vec::new();
                flate2::read::MultiGzDecoder::new(&out[..])
                    .read_to_end(&mut back)
                    .expect("decode");
                assert!(back == raw, "{size} bytes on {threads} threads");
                let members = size.div_ceil(CHUNK).max(1);
                let gunzip = std::process::Command::new("gunzip")
                    .arg("-c")
                    .stdin(std::process::Stdio::piped())
                    .stdout(std::process::Stdio::piped())
                    .spawn()
                    .expect("gunzip runs");
                let mut child = gunzip;
                let mut stdin = child.stdin.take().expect("stdin");
                let writer = std::thread::spawn(move || stdin.write_all(&out));
                let output = child.wait_with_output().expect("gunzip ends");
                writer.join().expect("writer").expect("written");
                assert!(output.status.success());
                assert!(
                    output.stdout == raw,
                    "gunzip: {size} bytes, {members} members"
                );
            }
        }
    }

    /// A read error stops the work with that error, and no thread is left.
    #[test]
    fn a_read_error_stops_the_threads() {
        struct Failing(usize);
        impl Read for Failing {
            fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
                if self.0 == 0 {
                    return Err(std::io::Error::other("disk gone"));
                }
                let n = buffer.len().min(self.0);
                buffer[..n].fill(b'x');
                self.0 -= n;
                Ok(n)
            }
        }
        let mut out = Vec::new();
        let result = compress_members(
            &mut Failing(CHUNK * 2 + 5),
            &mut out,
            Compression::new(1),
            2,
            |_| {},
        );
        assert!(matches!(result, Err(Failure::Read(error)) if error.to_string() == "disk gone"));
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
        let prepared = prepare(&first, file, &dir.path().join("work"), "r", 6, 2)
            .await
            .expect("prepare");
        assert_eq!(prepared.raw_path, dir.path().join("app.log.2"));
        assert_eq!(prepared.first_line, b"older");

        // Gone under every name: an error naming it, not the newer file.
        std::fs::remove_file(dir.path().join("app.log.2")).expect("delete");
        let error = prepare(&first, file, &dir.path().join("work"), "g", 6, 2)
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
        let prepared = prepare(&raw, identity(&raw), &dir.path().join("work"), "x", 6, 2)
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
        flate2::read::MultiGzDecoder::new(File::open(&prepared.gzip_path).expect("gz"))
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
        let prepared = prepare(&raw, identity(&raw), dir.path(), "e", 1, 2)
            .await
            .expect("prepare");
        assert_eq!((prepared.line_count, prepared.raw.size), (0, 0));
        assert!(prepared.first_line.is_empty() && prepared.last_line.is_empty());
    }
}
