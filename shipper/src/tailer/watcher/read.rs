//! Reading a file: plain or gzip, found truncated or rewritten, bytes to
//! records, multiline, into the batch.

use std::os::unix::fs::{FileExt, MetadataExt};
use std::time::Instant;

use loghaul_model::SourceLabels;
use tracing::{info, warn};

use super::gzip::GzipRead;
use super::{Delivery, FileWatcher, Presence};
use crate::checkpoint::Checkpoints;
use crate::identity::{Fingerprint, file_identity, looks_compressed, looks_gzip};
use crate::records::{Line, RecordSplitter};
use crate::tailer::{Confirmation, OutgoingBatch, PollReport, SourceSpec, TailerSettings};

/// What reading a file needs of the tailer around it.
pub(in crate::tailer) struct ReadContext<'a> {
    /// The file's source.
    pub(in crate::tailer) spec: &'a SourceSpec,
    pub(in crate::tailer) settings: &'a TailerSettings,
    /// A truncation is recorded here at once.
    pub(in crate::tailer) checkpoints: &'a mut Checkpoints,
    /// Reused for every read.
    pub(in crate::tailer) buffer: &'a mut [u8],
    pub(in crate::tailer) now: Instant,
    pub(in crate::tailer) report: &'a mut PollReport,
}

impl FileWatcher {
    /// Reads what is new into the batch. A closed file is reopened first if
    /// it has more to read at the same path and one of the `slots` is free.
    /// When the file turns out truncated or rewritten, the batch of its old
    /// content comes back, and the new content is read in the same call.
    pub(in crate::tailer) fn read_available(
        &mut self,
        context: &mut ReadContext<'_>,
        slots: &mut usize,
    ) -> Option<OutgoingBatch> {
        if self.reading.file.is_none() {
            // Closed (idle, or waiting for a slot): reopen only if it has more to
            // read at the same path and a slot is free.
            if *slots == 0 || self.place.presence != Presence::Matched {
                return None;
            }
            if !self.grew_at_path() {
                return None;
            }
            match crate::identity::open_as(&self.place.path, self.key) {
                Ok(file) => {
                    self.reading.file = Some(file);
                    *slots -= 1;
                }
                Err(_) => return None,
            }
        }
        if self.reading.gzip.is_some() {
            self.read_gzip(context);
            return None;
        }
        let now = context.now;
        let file = self.reading.file.as_ref()?;
        let stat = file.metadata().ok()?;
        let size = stat.len();
        let rewritten = self
            .content
            .rewritten(file, self.reading.splitter.next_offset());
        // After a truncation, go on to read the new content in the same call.
        let old_content = if size < self.reading.splitter.next_offset() || rewritten {
            self.truncated(context)
        } else {
            None
        };
        let mut remaining = size - self.reading.splitter.next_offset();
        while remaining > 0 && !self.batch.is_full(context.settings) {
            let want = remaining.min(context.buffer.len() as u64) as usize;
            let Some(file) = self.reading.file.as_ref() else {
                break;
            };
            let offset = self.reading.splitter.next_offset();
            let read = match file.read_at(&mut context.buffer[..want], offset) {
                Ok(0) => break,
                Ok(read) => read,
                Err(error) => {
                    warn!(%error, path = %self.place.path.display(), "read failed; will retry");
                    break;
                }
            };
            if self.content.fingerprint.is_none() && offset == 0 && looks_compressed(file) {
                // Seen empty at first, then filled by a compressor.
                if context.spec.include_compressed && looks_gzip(file) {
                    self.read_as_gzip();
                    self.read_gzip(context);
                    return old_content;
                }
                self.reading.compressed = true;
                break;
            }
            if self.content.fingerprint.is_none() {
                match Fingerprint::take(file, size) {
                    Ok(fingerprint) => self.content.fingerprint = Some(fingerprint),
                    Err(_) => break,
                }
            }
            let chunk = &context.buffer[..read];
            self.content.remember_tail(chunk);
            if self.reading.merger.is_none() {
                // The hot path: records go straight from the read buffer into the
                // encoded batch, with no allocation per record.
                let batch = &mut self.batch;
                let report = &mut *context.report;
                self.reading.splitter.push_with(chunk, |record| {
                    batch.push(
                        record.offset,
                        record.bytes,
                        record.truncated,
                        record.end_offset,
                        now,
                    );
                    report.records += 1;
                });
            } else {
                self.push_lines(chunk, now, context.report);
            }
            context.report.bytes_read += read as u64;
            remaining -= read as u64;
            self.reading.last_active = now;
        }
        if stat.nlink() == 0 && self.place.presence == Presence::Matched {
            self.place.presence = Presence::Orphaned(now);
        }
        old_content
    }

    /// Reads a gzip file on, decompressed.
    fn read_gzip(&mut self, context: &mut ReadContext<'_>) {
        let Some(file) = self.reading.file.as_ref() else {
            return;
        };
        let size = file.metadata().map(|stat| stat.len()).unwrap_or(0);
        let Some(gzip) = self.reading.gzip.as_mut() else {
            return;
        };
        if !gzip.worth_reading(size) {
            return;
        }
        if self.content.fingerprint.is_none() {
            self.content.fingerprint = Fingerprint::take(file, size).ok();
        }
        if !gzip.open(file, size, self.reading.splitter.next_offset()) {
            return;
        }
        while !self.batch.is_full(context.settings) {
            let Some(gzip) = self.reading.gzip.as_mut() else {
                return;
            };
            match gzip.read(context.buffer, size, &self.place.path) {
                GzipRead::Bytes(read) => {
                    self.push_lines(&context.buffer[..read], context.now, context.report);
                    context.report.bytes_read += read as u64;
                    self.reading.last_active = context.now;
                }
                GzipRead::End => {
                    self.finish_content(context.now, context.report);
                    info!(path = %self.place.path.display(), bytes = self.reading.splitter.next_offset(), "read a gzip file to its end");
                    return;
                }
                GzipRead::Stopped => return,
            }
        }
    }

    /// The file shrank: finish what was read of the old content, then start
    /// again at 0 under a new epoch.
    fn truncated(&mut self, context: &mut ReadContext<'_>) -> Option<OutgoingBatch> {
        info!(path = %self.place.path.display(), offset = self.reading.splitter.next_offset(), "file truncated; reading it again from the start");
        self.finish_content(context.now, context.report);
        // What is buffered belongs to the old content: it goes out now, with the
        // old fingerprint and epoch. Confirmations of that epoch are ignored from
        // here on.
        let old_content = (!self.batch.is_empty())
            .then(|| self.take_batch(&context.spec.labels, &context.settings.host));
        self.content.start_again();
        self.reading.splitter = RecordSplitter::new(0, context.spec.max_line_bytes);
        self.delivery = Delivery::at(0);
        self.batch.restart_at(0);
        context
            .checkpoints
            .reset(self.key, &self.place.path, self.content.epoch);
        if let Err(error) = context.checkpoints.persist() {
            warn!(%error, "cannot record the truncation in the checkpoints");
        }
        old_content
    }

    /// The content will not grow again (rotated away, deleted, truncated, a gzip
    /// stream at its end): its unterminated last line and pending multiline
    /// record go into the batch.
    pub(in crate::tailer) fn finish_content(&mut self, now: Instant, report: &mut PollReport) {
        let mut lines = Vec::new();
        self.reading.splitter.finish(&mut lines);
        let mut merged = self.merge(lines, now);
        if let Some(merger) = self.reading.merger.as_mut() {
            merger.flush(&mut merged);
        }
        self.add_lines(merged, now, report);
    }

    /// Multiline records that waited too long go into the batch.
    pub(in crate::tailer) fn flush_stale(&mut self, now: Instant, report: &mut PollReport) {
        if let Some(merger) = self.reading.merger.as_mut() {
            let mut lines = Vec::new();
            merger.flush_stale(now, &mut lines);
            self.add_lines(lines, now, report);
        }
    }

    /// Bytes read go through the splitter and the merger into the batch.
    fn push_lines(&mut self, chunk: &[u8], now: Instant, report: &mut PollReport) {
        let mut lines = Vec::new();
        self.reading.splitter.push(chunk, &mut lines);
        let lines = self.merge(lines, now);
        self.add_lines(lines, now, report);
    }

    fn merge(&mut self, lines: Vec<Line>, now: Instant) -> Vec<Line> {
        let Some(merger) = self.reading.merger.as_mut() else {
            return lines;
        };
        let mut merged = Vec::new();
        for line in lines {
            merger.push(line, now, &mut merged);
        }
        merged
    }

    fn add_lines(&mut self, lines: Vec<Line>, now: Instant, report: &mut PollReport) {
        for line in lines {
            self.batch.push(
                line.record.offset,
                &line.record.bytes,
                line.record.flags.truncated,
                line.end_offset,
                now,
            );
            report.records += 1;
        }
    }

    /// The records held, as a batch to publish.
    pub(in crate::tailer) fn take_batch(
        &mut self,
        labels: &SourceLabels,
        host: &str,
    ) -> OutgoingBatch {
        let fingerprint = self.fingerprint();
        let epoch = self.content.epoch;
        let source = self.place.path.display().to_string();
        let taken = self.batch.take(
            host,
            &source,
            &file_identity(self.key, &fingerprint, epoch),
            labels,
        );
        self.delivery.sent_until = taken.end_offset;
        OutgoingBatch {
            encoded: taken.encoded,
            host: host.to_owned(),
            source,
            records: taken.records,
            confirmation: Confirmation {
                key: self.key,
                fingerprint,
                epoch,
                path: self.place.path.clone(),
                end_offset: taken.end_offset,
                bytes: taken.record_bytes,
            },
        }
    }
}
