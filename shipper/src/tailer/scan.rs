//! Finding files: new ones start (from their checkpoint or from 0), renamed
//! ones follow their new path, vanished ones are orphaned, and checkpointed
//! ones rotated away while the shipper was down are found beside their old
//! path.

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::Instant;

use tracing::{info, warn};

use super::Tailer;
use super::watcher::{FileWatcher, Resume};
use crate::checkpoint::FileCheckpoint;
use crate::discovery::looks_rotated;
use crate::identity::{DiskKey, looks_compressed, looks_gzip, open_as};

/// How long a scan round waits for the scans it starts; a source slower
/// than this is picked up at a later round, without holding the others.
const SCAN_WAIT: std::time::Duration = std::time::Duration::from_secs(1);

impl Tailer {
    /// Looks for files: new ones start (from their checkpoint or from 0),
    /// renamed ones follow their new path, vanished ones are orphaned.
    pub fn scan(&mut self, now: Instant) {
        let mut seen: HashMap<DiskKey, (PathBuf, usize)> = HashMap::new();
        let mut skipped = Vec::new();
        // A round waits for fast sources and never long for a slow one.
        for (index, scan) in self.scanners.round(SCAN_WAIT).enumerate() {
            skipped.extend_from_slice(&scan.skipped);
            for path in &scan.files {
                let Ok(stat) = std::fs::metadata(path) else {
                    continue;
                };
                seen.entry(DiskKey::from_metadata(&stat))
                    .or_insert_with(|| (path.clone(), index));
            }
        }
        let known_before = self.files.len();
        for (key, (path, source)) in &seen {
            let rotated_name = looks_rotated(path, self.rotated_names.as_ref());
            match self.files.get_mut(key) {
                Some(watcher) => watcher.seen_at(path, rotated_name, now),
                None if rotated_name => {
                    self.handoff
                        .rotated_copy_found(*key, path, &mut self.checkpoints);
                }
                None => self.start_watching(*key, path.clone(), *source, now),
            }
        }
        self.skips.scanned(skipped);
        self.skips.retain_unreadable(|key| seen.contains_key(key));
        self.handoff.retain_seen(|key| seen.contains_key(key));
        // A skipped compressed file that is gone frees its inode for reuse.
        self.skipped.retain(|key| seen.contains_key(key));
        let vanished: Vec<DiskKey> = self
            .files
            .keys()
            .filter(|key| !seen.contains_key(key))
            .copied()
            .collect();
        for key in vanished {
            let Some(watcher) = self.files.get_mut(&key) else {
                continue;
            };
            if watcher.vanished(now) && !watcher.is_open() {
                reopen_moved(watcher);
            }
        }
        if !self.recovered {
            self.recovered = true;
            self.recover_rotated(now);
        }
        if self.files.len() != known_before || self.checkpoints.is_dirty() {
            // A file rotated away before its first confirmation must still be
            // found after a crash: record new files on disk at once.
            if let Err(error) = self.checkpoints.persist() {
                warn!(%error, "cannot record newly found files in the checkpoints");
            }
        }
    }

    /// Files the checkpoints know that no glob matches any more were rotated
    /// away (or deleted) while the shipper was down. Look for each beside its
    /// old path and read it to its end; forget the ones that are gone.
    fn recover_rotated(&mut self, now: Instant) {
        let missing: Vec<FileCheckpoint> = self
            .checkpoints
            .entries()
            .filter(|entry| !self.files.contains_key(&entry.key))
            .cloned()
            .collect();
        for entry in missing {
            if entry.archived {
                if find_beside(entry.key, &entry.path).is_none() {
                    self.checkpoints.remove(&entry.key);
                }
                continue;
            }
            let Some((path, file)) = find_beside(entry.key, &entry.path) else {
                info!(path = %entry.path.display(), "checkpointed file is gone; forgetting it");
                self.checkpoints.remove(&entry.key);
                continue;
            };
            // Same inode beside our old path but other content (truncated and
            // rewritten): read it from the start rather than lose it.
            let resume = if entry.still_matches(&file) {
                Resume::from_checkpoint(&entry)
            } else {
                self.checkpoints.reset(entry.key, &path, entry.epoch + 1);
                Resume::from_start(entry.epoch + 1)
            };
            let source = self
                .sources
                .iter()
                .position(|spec| spec.matcher.matches(&entry.path))
                .unwrap_or(0);
            info!(from = %entry.path.display(), to = %path.display(), offset = resume.offset(), "reading a file rotated while the shipper was down");
            let mut watcher = FileWatcher::new(
                entry.key,
                path,
                Some(file),
                source,
                &self.sources[source],
                resume,
                now,
            );
            watcher.rotated_while_down(entry.path.clone(), now);
            self.files.insert(entry.key, watcher);
        }
    }

    fn start_watching(&mut self, key: DiskKey, path: PathBuf, source: usize, now: Instant) {
        if self.skipped.contains(&key) || !self.skips.may_open(key, now) {
            return;
        }
        let file = match open_as(&path, key) {
            Ok(file) => file,
            // Renamed between the scan's look and this open: the next scan
            // sees both names as they are now.
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return,
            Err(error) => {
                self.skips.open_failed(key, &path, &error, now);
                return;
            }
        };
        self.skips.opened(key, &path);
        let read_gzip =
            looks_compressed(&file) && self.sources[source].include_compressed && looks_gzip(&file);
        if looks_compressed(&file) && !read_gzip {
            self.skips
                .warn(&path, crate::discovery::SkipReason::Compressed);
            self.skipped.insert(key);
            return;
        }

        let resume = match self.checkpoints.get(&key) {
            // An archived rotated copy's inode now holding a live file is
            // never resumed: it is read from the start.
            Some(checkpoint) if !checkpoint.archived && checkpoint.still_matches(&file) => {
                Resume::from_checkpoint(checkpoint)
            }
            Some(checkpoint) => {
                info!(path = %path.display(), "file replaced or rewritten since its checkpoint; reading it from the start");
                let epoch = checkpoint.epoch + 1;
                self.checkpoints.reset(key, &path, epoch);
                Resume::from_start(epoch)
            }
            None => {
                // Known from the moment it is opened, so a restart can find it
                // again even if it is rotated away before anything is confirmed.
                self.checkpoints.reset(key, &path, 0);
                Resume::from_start(0)
            }
        };
        // Beyond the open-file limit, a new file waits closed for a slot.
        let keep_open = self.open_count() < self.settings.max_open_files;
        let mut watcher = FileWatcher::new(
            key,
            path,
            keep_open.then_some(file),
            source,
            &self.sources[source],
            resume,
            now,
        );
        if read_gzip {
            watcher.read_as_gzip();
        }
        self.files.insert(key, watcher);
    }
}

/// Finds the file with `key` in the directory of `old_path`, where rotated
/// names live.
pub(super) fn find_beside(key: DiskKey, old_path: &Path) -> Option<(PathBuf, File)> {
    let path = loghaul_model::find_beside(old_path, key.device, key.inode)?;
    let file = open_as(&path, key).ok()?;
    Some((path, file))
}

/// A closed file vanished from its path: reopen it where it was rotated to.
fn reopen_moved(watcher: &mut FileWatcher) {
    match find_beside(watcher.key(), watcher.path()) {
        Some((path, file)) => watcher.reopen_at(path, file),
        None => {
            warn!(path = %watcher.path().display(), "a closed idle file was rotated and deleted before it was reopened")
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::time::{Duration, Instant};

    use super::super::{OutgoingBatch, Tailer};
    use crate::identity::DiskKey;

    fn tailer(dir: &Path) -> Tailer {
        super::super::test_tailer(dir, &dir.join("cp.json"))
    }

    fn append(path: &Path, range: std::ops::Range<u32>) {
        loghaul_testkit::append_numbered(path, range, "line");
    }

    /// Reads, confirms what was read, and returns the numbers of the lines.
    fn step(tailer: &mut Tailer, now: &mut Instant) -> Vec<(u32, u64)> {
        let mut out: Vec<OutgoingBatch> = Vec::new();
        for _ in 0..2 {
            *now += Duration::from_millis(50);
            tailer.scan(*now);
            tailer.poll(*now, &mut out);
        }
        let mut lines = Vec::new();
        for batch in &out {
            tailer.confirm(&batch.confirmation);
            for record in batch.decode().expect("a batch").records {
                let text = String::from_utf8_lossy(&record.bytes).into_owned();
                let number = text
                    .split(' ')
                    .next()
                    .and_then(|n| n.parse().ok())
                    .expect("numbered");
                lines.push((number, batch.confirmation.epoch));
            }
        }
        lines
    }

    /// The CI failure of `run_sigkill` on a loaded machine: a restart's scan
    /// took `app.log`'s key while it was still the old file, logrotate
    /// renamed it, and the open found the new file. The new file was then
    /// read under the old file's key (as that file "rewritten", a new
    /// epoch), and both files again from the start under new identities:
    /// 9,100 lines doubled. Now the open is checked against the key.
    #[test]
    fn a_rename_between_the_scans_look_and_its_open_doubles_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = dir.path().join("app.log");
        append(&log, 0..100);
        let mut now = Instant::now();
        let mut first = tailer(dir.path());
        let read: Vec<u32> = step(&mut first, &mut now)
            .iter()
            .map(|line| line.0)
            .collect();
        assert_eq!(read, (0..100).collect::<Vec<_>>());
        first.persist().expect("persist");
        drop(first);
        append(&log, 100..150);
        let old_key = DiskKey::from_metadata(&std::fs::metadata(&log).expect("stat"));

        // The restart looked at app.log (the old file) ... then it is renamed
        // and a new app.log is written, before the open.
        std::fs::rename(&log, dir.path().join("app.log.1")).expect("rotate");
        append(&log, 1000..1050);
        let mut second = tailer(dir.path());
        second.start_watching(old_key, log.clone(), 0, now);
        assert!(
            !second.files.contains_key(&old_key),
            "the old key must not be given the new file"
        );
        let checkpoint = second.checkpoints.get(&old_key).expect("still known");
        assert_eq!((checkpoint.epoch, checkpoint.offset > 0), (0, true));

        let mut lines = Vec::new();
        for _ in 0..4 {
            lines.extend(step(&mut second, &mut now));
            now += super::super::ROTATE_WAIT + Duration::from_secs(1);
        }
        lines.sort_unstable();
        let expected: Vec<(u32, u64)> = (100..150).chain(1000..1050).map(|n| (n, 0)).collect();
        assert_eq!(
            lines, expected,
            "the rest of the old file and all the new, once, epoch 0"
        );
    }
}
