//! Which records a shard has indexed, so that a redelivered event is not
//! indexed twice.
//!
//! An event's id is a hash of (host, file identity, offset), and every
//! `EventBatch` holds the consecutive records of one file. So a shard keeps,
//! per (host, file), the offset ranges `[first, last]` of the batches it has
//! indexed: a record whose offset falls in one is already there. This is
//! exact, and costs 16 bytes per batch instead of an entry per event.
//!
//! The ranges live in a journal, `dedup.journal`, one JSON line each, tagged
//! with the writer generation that indexed them. A line `{"done":G}` follows
//! once generation G is committed in every day index it touched. On start-up
//! only generations up to the last `done` count; the store rolls back any
//! day index that holds documents of a later generation (see
//! `store::ShardStore::open`). So a crash at any point leaves the ranges and
//! the index agreeing, and the queue's redelivery fills the gap.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use loghaul_model::FileIdentity;
use serde::{Deserialize, Serialize};
use tracing::warn;

/// One journal line.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
enum Line {
    Range {
        g: u64,
        h: String,
        f: FileIdentity,
        a: u64,
        b: u64,
    },
    Done {
        done: u64,
    },
}

/// Offset ranges by host, then file. Keyed by host first so that a lookup
/// with a borrowed host name allocates nothing: it runs once per event.
type Ranges = HashMap<String, HashMap<FileIdentity, Vec<(u64, u64)>>>;

fn ranges_of<'a>(ranges: &'a Ranges, host: &str, file: &FileIdentity) -> &'a [(u64, u64)] {
    ranges
        .get(host)
        .and_then(|files| files.get(file))
        .map_or(&[], Vec::as_slice)
}

fn add_range(ranges: &mut Ranges, host: &str, file: FileIdentity, range: (u64, u64)) {
    match ranges.get_mut(host) {
        Some(files) => files.entry(file).or_default().push(range),
        None => {
            ranges.insert(host.to_owned(), HashMap::from([(file, vec![range])]));
        }
    }
}

/// The indexed ranges of one shard, and their journal.
#[derive(Debug)]
pub struct Dedup {
    path: PathBuf,
    journal: File,
    /// Committed ranges, sorted and merged per file.
    ranges: Ranges,
    /// Ranges of the generation being written, not yet in `ranges`: a few
    /// per file, kept as added.
    pending: Ranges,
    committed: u64,
    lines: u64,
}

impl Dedup {
    /// Loads `<dir>/dedup.journal` (creating it), keeping generations up to
    /// the last one marked done. A torn last line is ignored.
    pub fn open(dir: &Path) -> std::io::Result<Self> {
        let path = dir.join("dedup.journal");
        let mut ranges = Ranges::new();
        let mut committed = 0;
        let mut lines = 0;
        if path.exists() {
            let mut by_generation: Vec<(u64, String, FileIdentity, u64, u64)> = Vec::new();
            let mut reader = BufReader::new(File::open(&path)?);
            let mut whole = 0u64;
            let mut line = Vec::new();
            loop {
                line.clear();
                let read = reader.read_until(b'\n', &mut line)?;
                let Some(text) = line.strip_suffix(b"\n") else {
                    break;
                };
                match serde_json::from_slice::<Line>(text) {
                    Ok(Line::Range { g, h, f, a, b }) => by_generation.push((g, h, f, a, b)),
                    Ok(Line::Done { done }) => committed = committed.max(done),
                    Err(_) => break,
                }
                lines += 1;
                whole += read as u64;
            }
            // A torn tail (a crash or a full disk in the middle of a write)
            // goes: the next commit's lines must not follow it.
            let length = std::fs::metadata(&path)?.len();
            if whole < length {
                warn!(path = %path.display(), torn_bytes = length - whole, "cutting a torn tail off the dedup journal");
                OpenOptions::new().write(true).open(&path)?.set_len(whole)?;
            }
            for (generation, host, file, first, last) in by_generation {
                if generation <= committed {
                    add_range(&mut ranges, &host, file, (first, last));
                }
            }
            for list in ranges.values_mut().flat_map(HashMap::values_mut) {
                normalise(list);
            }
        }
        let journal = OpenOptions::new().create(true).append(true).open(&path)?;
        Ok(Self {
            path,
            journal,
            ranges,
            pending: Ranges::new(),
            committed,
            lines,
        })
    }

    /// The last generation known committed.
    pub fn committed(&self) -> u64 {
        self.committed
    }

    /// Whether the record at `offset` of `file` on `host` is indexed, or is
    /// in the generation being written.
    pub fn contains(&self, host: &str, file: &FileIdentity, offset: u64) -> bool {
        let committed = ranges_of(&self.ranges, host, file);
        let index = committed.partition_point(|(first, _)| *first <= offset);
        if index > 0 && committed[index - 1].1 >= offset {
            return true;
        }
        ranges_of(&self.pending, host, file)
            .iter()
            .any(|(first, last)| (*first..=*last).contains(&offset))
    }

    /// Notes a batch's range as part of the generation being written.
    pub fn add_pending(&mut self, host: &str, file: FileIdentity, first: u64, last: u64) {
        add_range(&mut self.pending, host, file, (first, last));
    }

    /// Every (host, file, first, last) of `ranges`.
    fn each(ranges: &Ranges) -> impl Iterator<Item = (&String, &FileIdentity, u64, u64)> {
        ranges.iter().flat_map(|(host, files)| {
            files.iter().flat_map(move |(file, list)| {
                list.iter()
                    .map(move |(first, last)| (host, file, *first, *last))
            })
        })
    }

    /// Records generation `generation` as committed: its ranges, then the
    /// done marker, in one write and one fsync. Call only after every day
    /// index it touched has committed.
    pub fn commit(&mut self, generation: u64) -> std::io::Result<()> {
        let mut text = String::new();
        let mut count = 0;
        for (host, file, first, last) in Self::each(&self.pending) {
            count += 1;
            let line = Line::Range {
                g: generation,
                h: host.clone(),
                f: *file,
                a: first,
                b: last,
            };
            text.push_str(&serde_json::to_string(&line).map_err(std::io::Error::other)?);
            text.push('\n');
        }
        text.push_str(
            &serde_json::to_string(&Line::Done { done: generation })
                .map_err(std::io::Error::other)?,
        );
        text.push('\n');
        let before = self.journal.metadata()?.len();
        if let Err(error) = self
            .journal
            .write_all(text.as_bytes())
            .and_then(|()| self.journal.sync_data())
        {
            // Cut what part was written: a torn line followed by the next
            // commit's lines would hide them (and their done marker) from
            // the next start.
            let _ = self.journal.set_len(before);
            return Err(error);
        }
        self.lines += count + 1;
        for (host, files) in std::mem::take(&mut self.pending) {
            for (file, list) in files {
                for range in list {
                    add_range(&mut self.ranges, &host, file, range);
                }
                if let Some(merged) = self
                    .ranges
                    .get_mut(&host)
                    .and_then(|files| files.get_mut(&file))
                {
                    normalise(merged);
                }
            }
        }
        self.committed = generation;
        if self.lines > 4 * (self.range_count() as u64 + 1000)
            && let Err(error) = self.compact()
        {
            // The commit holds; the journal is only longer than it needs.
            warn!(%error, "cannot compact the dedup journal; will try again after a later commit");
        }
        Ok(())
    }

    fn range_count(&self) -> usize {
        Self::each(&self.ranges).count()
    }

    /// Rewrites the journal as the current ranges under one done marker,
    /// atomically.
    pub fn compact(&mut self) -> std::io::Result<()> {
        loghaul_durable::replace(&self.path, |out| {
            for (host, file, first, last) in Self::each(&self.ranges) {
                let line = Line::Range {
                    g: self.committed,
                    h: host.clone(),
                    f: *file,
                    a: first,
                    b: last,
                };
                serde_json::to_writer(&mut *out, &line).map_err(std::io::Error::other)?;
                out.write_all(b"\n")?;
            }
            serde_json::to_writer(
                &mut *out,
                &Line::Done {
                    done: self.committed,
                },
            )
            .map_err(std::io::Error::other)?;
            out.write_all(b"\n")
        })?;
        self.journal = OpenOptions::new().append(true).open(&self.path)?;
        self.lines = self.range_count() as u64 + 1;
        Ok(())
    }
}

/// Sorts and merges overlapping ranges.
fn normalise(list: &mut Vec<(u64, u64)>) {
    list.sort_unstable();
    let mut merged: Vec<(u64, u64)> = Vec::with_capacity(list.len());
    for (first, last) in list.drain(..) {
        match merged.last_mut() {
            Some(previous) if first <= previous.1.saturating_add(1) => {
                previous.1 = previous.1.max(last);
            }
            _ => merged.push((first, last)),
        }
    }
    *list = merged;
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: FileIdentity = FileIdentity {
        device: 1,
        inode: 2,
        fingerprint: 3,
    };

    #[test]
    fn ranges_survive_a_restart_only_once_committed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut dedup = Dedup::open(dir.path()).expect("open");
        dedup.add_pending("h", FILE, 0, 900);
        assert!(dedup.contains("h", &FILE, 450), "pending ranges count");
        dedup.commit(1).expect("commit");
        dedup.add_pending("h", FILE, 1000, 1900);
        drop(dedup); // a crash before generation 2 committed

        let dedup = Dedup::open(dir.path()).expect("reopen");
        assert_eq!(dedup.committed(), 1);
        assert!(dedup.contains("h", &FILE, 0));
        assert!(dedup.contains("h", &FILE, 900));
        assert!(!dedup.contains("h", &FILE, 901));
        assert!(
            !dedup.contains("h", &FILE, 1000),
            "generation 2 never committed"
        );
        assert!(!dedup.contains("other", &FILE, 0));
    }

    #[test]
    fn a_torn_last_line_is_ignored_and_compaction_keeps_everything() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut dedup = Dedup::open(dir.path()).expect("open");
        for generation in 1..=50 {
            dedup.add_pending("h", FILE, generation * 100, generation * 100 + 50);
            dedup.commit(generation).expect("commit");
        }
        dedup.compact().expect("compact");
        drop(dedup);
        let path = dir.path().join("dedup.journal");
        let mut text = std::fs::read_to_string(&path).expect("journal");
        text.push_str("{\"g\":51,\"h\":\"h\",\"f\":{\"dev");
        std::fs::write(&path, text).expect("tear");
        let mut dedup = Dedup::open(dir.path()).expect("reopen");
        assert_eq!(dedup.committed(), 50);
        for generation in 1..=50 {
            assert!(dedup.contains("h", &FILE, generation * 100 + 25));
            assert!(!dedup.contains("h", &FILE, generation * 100 + 75));
        }
        // The torn tail was cut: a commit after it is read at the next start
        // (appended behind the torn line, it was lost with it).
        dedup.add_pending("h", FILE, 9000, 9050);
        dedup.commit(51).expect("commit");
        drop(dedup);
        let dedup = Dedup::open(dir.path()).expect("reopen");
        assert_eq!(dedup.committed(), 51);
        assert!(dedup.contains("h", &FILE, 9025));
    }
}
