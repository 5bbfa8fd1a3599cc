//! Bytes to records: split on `\n` (dropping a `\r` before it), cap the
//! size, and flag what is odd, never dropping anything.

use loghaul_model::RawRecord;

/// A record and the offset just past its line terminator. Everything before
/// `end_offset` is accounted for once the record is confirmed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    /// The record.
    pub record: RawRecord,
    /// Offset just past the record's last byte and its terminator.
    pub end_offset: u64,
}

/// A record as it is split, borrowed from the bytes read where possible.
#[derive(Debug, Clone, Copy)]
pub struct RecordRef<'a> {
    /// Offset of the record's first byte.
    pub offset: u64,
    /// The record, without its terminator.
    pub bytes: &'a [u8],
    /// Whether it was cut at the size limit.
    pub truncated: bool,
    /// Offset just past its terminator.
    pub end_offset: u64,
}

impl RecordRef<'_> {
    /// An owned [`Line`].
    pub fn to_line(&self) -> Line {
        let mut record = RawRecord::new(self.offset, self.bytes.to_vec());
        record.flags.truncated = self.truncated;
        Line {
            record,
            end_offset: self.end_offset,
        }
    }
}

/// Splits a file's bytes into records as they are read.
#[derive(Debug)]
pub struct RecordSplitter {
    max_bytes: usize,
    partial: Vec<u8>,
    truncated: bool,
    line_start: u64,
    next_offset: u64,
}

impl RecordSplitter {
    /// A splitter whose next byte is at `offset`; records longer than
    /// `max_bytes` are cut there and flagged `truncated`.
    pub fn new(offset: u64, max_bytes: usize) -> Self {
        RecordSplitter {
            max_bytes,
            partial: Vec::new(),
            truncated: false,
            line_start: offset,
            next_offset: offset,
        }
    }

    /// The offset of the next byte to push.
    pub fn next_offset(&self) -> u64 {
        self.next_offset
    }

    /// Whether an unfinished line is pending (its terminator not read yet).
    pub fn has_pending(&self) -> bool {
        self.line_start < self.next_offset
    }

    fn append(&mut self, bytes: &[u8]) {
        let room = self.max_bytes.saturating_sub(self.partial.len());
        if bytes.len() > room {
            self.partial.extend_from_slice(&bytes[..room]);
            self.truncated = true;
        } else {
            self.partial.extend_from_slice(bytes);
        }
    }

    fn emit_with<F: FnMut(RecordRef<'_>)>(&mut self, end_offset: u64, sink: &mut F) {
        if !self.truncated && self.partial.last() == Some(&b'\r') {
            self.partial.pop();
        }
        if self.truncated {
            trim_cut_character(&mut self.partial);
        }
        sink(RecordRef {
            offset: self.line_start,
            bytes: &self.partial,
            truncated: self.truncated,
            end_offset,
        });
        // Keep the buffer's capacity for the next long line.
        self.partial.clear();
        self.truncated = false;
        self.line_start = end_offset;
    }

    /// Feeds the next bytes of the file; complete lines go to `out`.
    pub fn push(&mut self, bytes: &[u8], out: &mut Vec<Line>) {
        self.push_with(bytes, |record| out.push(record.to_line()));
    }

    /// Feeds the next bytes of the file; each complete line goes to `sink`,
    /// borrowed: a line inside this chunk costs no allocation.
    pub fn push_with<F: FnMut(RecordRef<'_>)>(&mut self, bytes: &[u8], mut sink: F) {
        let base = self.next_offset;
        let mut start = 0;
        for newline in memchr::memchr_iter(b'\n', bytes) {
            let end_offset = base + newline as u64 + 1;
            let line = &bytes[start..newline];
            if self.partial.is_empty() && !self.truncated && line.len() <= self.max_bytes {
                let text = line.strip_suffix(b"\r").unwrap_or(line);
                sink(RecordRef {
                    offset: self.line_start,
                    bytes: text,
                    truncated: false,
                    end_offset,
                });
                self.line_start = end_offset;
            } else {
                self.append(line);
                self.emit_with(end_offset, &mut sink);
            }
            start = newline + 1;
        }
        self.append(&bytes[start..]);
        self.next_offset = base + bytes.len() as u64;
    }

    /// Emits an unfinished last line, for a file that will not grow again
    /// (rotated away, deleted).
    pub fn finish(&mut self, out: &mut Vec<Line>) {
        if self.has_pending() {
            let end_offset = self.next_offset;
            self.emit_with(end_offset, &mut |record: RecordRef<'_>| {
                out.push(record.to_line())
            });
        }
    }
}

/// A cut at a byte limit can split a UTF-8 character; drop the broken tail
/// so a valid line does not look invalid just because it was long.
pub(crate) fn trim_cut_character(bytes: &mut Vec<u8>) {
    if let Err(error) = std::str::from_utf8(bytes)
        && error.error_len().is_none()
    {
        bytes.truncate(error.valid_up_to());
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn split(chunks: &[&[u8]], max: usize) -> (Vec<Line>, RecordSplitter) {
        let mut splitter = RecordSplitter::new(0, max);
        let mut out = Vec::new();
        for chunk in chunks {
            splitter.push(chunk, &mut out);
        }
        (out, splitter)
    }

    #[test]
    fn lines_keep_their_offsets_across_chunks() {
        let (lines, splitter) = split(&[b"ab", b"c\nde\r\n", b"\nf"], 100);
        let texts: Vec<&[u8]> = lines
            .iter()
            .map(|line| line.record.bytes.as_slice())
            .collect();
        assert_eq!(texts, [&b"abc"[..], b"de", b""]);
        let offsets: Vec<(u64, u64)> = lines
            .iter()
            .map(|line| (line.record.offset, line.end_offset))
            .collect();
        assert_eq!(offsets, [(0, 4), (4, 8), (8, 9)]);
        assert!(splitter.has_pending());
        assert_eq!(splitter.next_offset(), 10);
    }

    #[test]
    fn an_unterminated_last_line_is_kept_on_finish() {
        let (mut lines, mut splitter) = split(&[b"one\ntwo"], 100);
        splitter.finish(&mut lines);
        assert_eq!(lines[1].record.bytes, b"two");
        assert_eq!((lines[1].record.offset, lines[1].end_offset), (4, 7));
        assert!(!splitter.has_pending());
    }

    #[test]
    fn long_lines_are_truncated_and_flagged_never_dropped() {
        let (lines, _) = split(&[b"0123456789abcdef\nshort\n"], 10);
        assert_eq!(lines[0].record.bytes, b"0123456789");
        assert!(lines[0].record.flags.truncated);
        assert_eq!(lines[0].end_offset, 17, "the whole line is accounted for");
        assert_eq!(lines[1].record.bytes, b"short");
        assert!(!lines[1].record.flags.truncated);
    }

    #[test]
    fn truncation_does_not_split_a_character() {
        // "é" is two bytes; a cut after 3 bytes would leave half of one.
        let (lines, _) = split(&["aéé\n".as_bytes()], 4);
        assert_eq!(lines[0].record.bytes, "aé".as_bytes());
        assert!(!lines[0].record.flags.invalid_utf8);
    }

    #[test]
    fn invalid_utf8_is_flagged_and_kept() {
        let (lines, _) = split(&[b"ok\n\xff\xfebinary\x00\n"], 100);
        assert!(!lines[0].record.flags.invalid_utf8);
        assert!(lines[1].record.flags.invalid_utf8);
        assert_eq!(lines[1].record.bytes, b"\xff\xfebinary\x00");
    }

    proptest! {
        #[test]
        fn any_chunking_gives_the_same_records(text in prop::collection::vec(prop_oneof![Just(b'\n'), Just(b'\r'), any::<u8>()], 0..400), cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..6)) {
            let (whole, mut whole_splitter) = split(&[&text], 50);
            let mut points: Vec<usize> = cuts.iter().map(|cut| cut.index(text.len() + 1)).collect();
            points.push(0);
            points.push(text.len());
            points.sort_unstable();
            let chunks: Vec<&[u8]> = points.windows(2).map(|pair| &text[pair[0]..pair[1]]).collect();
            let (pieces, mut pieces_splitter) = split(&chunks, 50);
            prop_assert_eq!(&whole, &pieces);
            let (mut whole, mut pieces) = (whole, pieces);
            whole_splitter.finish(&mut whole);
            pieces_splitter.finish(&mut pieces);
            // Every byte is accounted for, contiguously.
            let mut expected_start = 0;
            for line in &whole {
                prop_assert_eq!(line.record.offset, expected_start);
                expected_start = line.end_offset;
            }
            prop_assert_eq!(expected_start, text.len() as u64);
            prop_assert_eq!(whole, pieces);
        }
    }
}
