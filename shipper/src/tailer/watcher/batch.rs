//! The batch being built for one file: records are encoded as they are
//! read, with no allocation per record.

use std::time::Instant;

use loghaul_model::{FileIdentity, RawBatchEncoder, SourceLabels};

use super::TailerSettings;

/// Records read and not yet sent, encoded as they come.
#[derive(Debug)]
pub(super) struct PendingBatch {
    encoder: RawBatchEncoder,
    /// Bytes of the records in it.
    record_bytes: usize,
    /// The offset just past its last record.
    end_offset: u64,
    /// When its first record came.
    since: Option<Instant>,
}

/// A batch taken out of a [`PendingBatch`].
pub(super) struct EncodedBatch {
    /// The RawBatch message.
    pub(super) encoded: Vec<u8>,
    /// How many records it holds.
    pub(super) records: u64,
    /// Bytes of those records.
    pub(super) record_bytes: u64,
    /// The offset just past its last record.
    pub(super) end_offset: u64,
}

impl PendingBatch {
    /// An empty batch of a file read from `offset`.
    pub(super) fn new(offset: u64) -> Self {
        PendingBatch {
            encoder: RawBatchEncoder::new(),
            record_bytes: 0,
            end_offset: offset,
            since: None,
        }
    }

    /// Adds one record that ends at `end_offset`. On the hot path: called
    /// for every record read.
    #[inline]
    pub(super) fn push(
        &mut self,
        offset: u64,
        bytes: &[u8],
        truncated: bool,
        end_offset: u64,
        now: Instant,
    ) {
        if self.encoder.is_empty() {
            self.since = Some(now);
        }
        self.encoder.push(offset, bytes, truncated);
        self.record_bytes += bytes.len();
        self.end_offset = end_offset;
    }

    /// Whether it holds no record.
    pub(super) fn is_empty(&self) -> bool {
        self.encoder.is_empty()
    }

    /// Bytes of the records it holds.
    pub(super) fn record_bytes(&self) -> usize {
        self.record_bytes
    }

    /// The file was truncated: an empty batch of it ends at `offset` again.
    pub(super) fn restart_at(&mut self, offset: u64) {
        self.end_offset = offset;
    }

    /// Whether it holds twice a batch, where reading the file stops.
    pub(super) fn is_full(&self, settings: &TailerSettings) -> bool {
        self.record_bytes >= settings.batch_max_bytes * 2
    }

    /// Whether it is big enough or old enough to go out.
    pub(super) fn is_due(&self, settings: &TailerSettings, now: Instant) -> bool {
        self.record_bytes >= settings.batch_max_bytes
            || self.encoder.len() as usize >= settings.batch_max_records
            || self
                .since
                .is_some_and(|since| now.duration_since(since) >= settings.batch_max_wait)
    }

    /// Encodes what it holds as one RawBatch message and starts empty.
    pub(super) fn take(
        &mut self,
        host: &str,
        source: &str,
        file: &FileIdentity,
        labels: &SourceLabels,
    ) -> EncodedBatch {
        let records = self.encoder.len();
        let record_bytes = std::mem::take(&mut self.record_bytes) as u64;
        self.since = None;
        let read_time_unix_nano = loghaul_model::time::now_unix_nano();
        let encoded = self
            .encoder
            .finish(host, source, file, labels, read_time_unix_nano);
        EncodedBatch {
            encoded,
            records,
            record_bytes,
            end_offset: self.end_offset,
        }
    }
}
