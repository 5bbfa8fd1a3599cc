//! Which content of a file is read, and how a rewrite is told apart from
//! growth: the fingerprint of its first bytes, its epoch, and the last bytes
//! read just before where reading stands.

use std::fs::File;
use std::os::unix::fs::FileExt;

use crate::identity::Fingerprint;

/// How many of the last bytes read are kept to detect rewritten files.
pub(super) const TAIL_CHECK_BYTES: usize = 64;

/// Which content is read, and what shows that it is still the same.
#[derive(Debug)]
pub(super) struct Content {
    /// `None` until the first read takes one.
    pub(super) fingerprint: Option<Fingerprint>,
    /// Incremented each time the file is found truncated.
    pub(super) epoch: u64,
    /// Set by a scan: check on the next read that the file still starts with
    /// the fingerprinted bytes (a copytruncate followed by fast writes can
    /// grow the file past the old offset before the shrink is seen).
    verify_fingerprint: bool,
    /// The last bytes read, up to [`TAIL_CHECK_BYTES`]: a file that still has
    /// them just before our offset was not rewritten, even where its first
    /// bytes are the same as before.
    tail: Vec<u8>,
    /// Until the first read fills `tail`: the checkpoint's fingerprint of the
    /// bytes before the resume offset, for the same check after a restart.
    resume_tail: Option<Fingerprint>,
}

impl Content {
    /// The content as its checkpoint knows it, if any: `resume_tail` is the
    /// fingerprint of the bytes before where reading resumes.
    pub(super) fn new(
        fingerprint: Option<Fingerprint>,
        epoch: u64,
        resume_tail: Option<Fingerprint>,
    ) -> Self {
        Content {
            fingerprint,
            epoch,
            verify_fingerprint: false,
            tail: Vec::new(),
            resume_tail,
        }
    }

    /// A scan saw the file again: check on the next read that it was not
    /// rewritten meanwhile.
    pub(super) fn verify_on_next_read(&mut self) {
        self.verify_fingerprint = true;
    }

    /// Whether a scan asked for a check and the file no longer holds the
    /// content read: other first bytes, or other bytes just before `offset`.
    pub(super) fn rewritten(&mut self, file: &File, offset: u64) -> bool {
        std::mem::take(&mut self.verify_fingerprint)
            && (self
                .fingerprint
                .is_some_and(|fingerprint| !fingerprint.matches(file))
                || !self.tail_still_there(file, offset))
    }

    /// Whether the bytes just before `offset` are still the ones we read there
    /// (or, before any read since a restart, the ones the checkpoint recorded).
    fn tail_still_there(&self, file: &File, offset: u64) -> bool {
        let tail = &self.tail;
        if tail.is_empty() {
            return self.resume_tail.is_none_or(|expected| {
                Fingerprint::of_range(file, offset, expected.len)
                    .is_ok_and(|found| found == expected)
            });
        }
        if offset < tail.len() as u64 {
            return true;
        }
        let mut found = vec![0u8; tail.len()];
        file.read_exact_at(&mut found, offset - tail.len() as u64)
            .is_ok_and(|()| found == *tail)
    }

    /// Keeps the last bytes of `chunk`, just read, in `tail`; they replace
    /// the checkpoint's.
    pub(super) fn remember_tail(&mut self, chunk: &[u8]) {
        let tail = &mut self.tail;
        if chunk.len() >= TAIL_CHECK_BYTES {
            tail.clear();
            tail.extend_from_slice(&chunk[chunk.len() - TAIL_CHECK_BYTES..]);
        } else {
            tail.extend_from_slice(chunk);
            let excess = tail.len().saturating_sub(TAIL_CHECK_BYTES);
            tail.drain(..excess);
        }
        self.resume_tail = None;
    }

    /// The file was truncated: new content, under a new epoch.
    pub(super) fn start_again(&mut self) {
        self.epoch += 1;
        self.fingerprint = None;
        self.tail.clear();
    }
}
