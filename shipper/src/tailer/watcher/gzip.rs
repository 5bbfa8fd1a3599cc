//! A gzip file, read once, decompressed. Offsets count decompressed bytes.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use flate2::read::MultiGzDecoder;
use tracing::warn;

/// A gzip file's decoder and progress.
#[derive(Default)]
pub(super) struct GzipState {
    decoder: Option<Box<MultiGzDecoder<BufReader<File>>>>,
    /// The whole stream was read.
    complete: bool,
    /// Size of the compressed file when decoding last failed; decoding is
    /// tried again only once the file has changed (still being written).
    failed_at_size: Option<u64>,
}

impl std::fmt::Debug for GzipState {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("GzipState")
            .field("complete", &self.complete)
            .field("failed_at_size", &self.failed_at_size)
            .finish_non_exhaustive()
    }
}

/// What one [`GzipState::read`] got.
pub(super) enum GzipRead {
    /// This many decompressed bytes, at the start of the buffer.
    Bytes(usize),
    /// The end of the stream: the file is read.
    End,
    /// Nothing now: no decoder, or decoding failed (it is tried again once
    /// the file changes).
    Stopped,
}

impl GzipState {
    /// Whether the whole stream was read.
    pub(super) fn is_complete(&self) -> bool {
        self.complete
    }

    /// Whether reading can get anywhere with the file at `size` bytes: it is
    /// not read to its end, and it changed since decoding last failed.
    pub(super) fn worth_reading(&self, size: u64) -> bool {
        !self.complete && self.failed_at_size != Some(size)
    }

    /// Makes sure a decoder is open, past the `skip` decompressed bytes that
    /// earlier runs or attempts already read. False when there is none.
    pub(super) fn open(&mut self, file: &File, size: u64, skip: u64) -> bool {
        if self.decoder.is_some() {
            return true;
        }
        let Ok(mut handle) = file.try_clone() else {
            return false;
        };
        if handle.seek(SeekFrom::Start(0)).is_err() {
            return false;
        }
        let mut decoder = MultiGzDecoder::new(BufReader::new(handle));
        match std::io::copy(&mut (&mut decoder).take(skip), &mut std::io::sink()) {
            Ok(skipped) if skipped == skip => {
                self.decoder = Some(Box::new(decoder));
                true
            }
            _ => {
                self.failed_at_size = Some(size);
                false
            }
        }
    }

    /// Decompresses the next bytes into `buffer`. `size` is the compressed
    /// file's, `path` only names it in the log.
    pub(super) fn read(&mut self, buffer: &mut [u8], size: u64, path: &Path) -> GzipRead {
        let Some(decoder) = self.decoder.as_mut() else {
            return GzipRead::Stopped;
        };
        match decoder.read(buffer) {
            Ok(0) => {
                self.complete = true;
                self.decoder = None;
                GzipRead::End
            }
            Ok(read) => GzipRead::Bytes(read),
            Err(error) => {
                // Most often still being written; corrupt files wait here too.
                if self.failed_at_size.is_none()
                    && error.kind() != std::io::ErrorKind::UnexpectedEof
                {
                    warn!(%error, path = %path.display(), "cannot decompress; will retry when the file changes");
                }
                self.decoder = None;
                self.failed_at_size = Some(size);
                GzipRead::Stopped
            }
        }
    }
}
