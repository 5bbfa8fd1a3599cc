//! Inputs a source's globs match but the shipper does not read: each gets
//! one WARN with its reason and is counted in
//! `loghaul_shipper_skipped_files_total{reason}`, never a WARN a second.
//! A file that cannot be opened is tried again with a pause that doubles
//! up to five minutes, and each failed try WARNs again: the WARNs back off
//! with the tries (the metric counts the file once).

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tracing::{info, warn};

use crate::discovery::SkipReason;
use crate::identity::DiskKey;

/// The first pause before an unreadable file is tried again.
const FIRST_PAUSE: Duration = Duration::from_secs(5);
/// The longest pause.
const LONGEST_PAUSE: Duration = Duration::from_secs(300);

#[derive(Debug, Default)]
pub(crate) struct Skips {
    /// Paths skipped by the scans, as last reported: warned once while
    /// they stay so.
    scanned: HashSet<(PathBuf, SkipReason)>,
    /// Files that could not be opened: when to try again, and the pause.
    unreadable: HashMap<DiskKey, (Instant, Duration)>,
    /// Skips so far, by reason (in `SkipReason::ALL` order).
    counts: [u64; SkipReason::ALL.len()],
}

impl Skips {
    /// Takes one scan's skipped matches: new ones are warned about and
    /// counted; ones no longer reported are forgotten (warned again if they
    /// come back).
    pub(crate) fn scanned(&mut self, skipped: Vec<(PathBuf, SkipReason)>) {
        let now: HashSet<(PathBuf, SkipReason)> = skipped.into_iter().collect();
        for (path, reason) in &now {
            if !self.scanned.contains(&(path.clone(), *reason)) {
                self.warn(path, *reason);
            }
        }
        self.scanned = now;
    }

    /// One skip of `path` for `reason`: a WARN and a count. Callers skip a
    /// file once (compressed files are remembered by their inode).
    pub(crate) fn warn(&mut self, path: &Path, reason: SkipReason) {
        warn!(path = %path.display(), reason = reason.label(), "{}", reason.explain());
        self.count(reason);
    }

    fn count(&mut self, reason: SkipReason) {
        if let Some(index) = SkipReason::ALL.iter().position(|known| *known == reason) {
            self.counts[index] += 1;
        }
    }

    /// Whether an open of `key` may be tried now.
    pub(crate) fn may_open(&self, key: DiskKey, now: Instant) -> bool {
        self.unreadable
            .get(&key)
            .is_none_or(|(next, _)| now >= *next)
    }

    /// An open of `key` failed: the first time a WARN and a count, then a
    /// WARN per try, each after a pause twice the last.
    pub(crate) fn open_failed(
        &mut self,
        key: DiskKey,
        path: &Path,
        error: &std::io::Error,
        now: Instant,
    ) {
        match self.unreadable.get_mut(&key) {
            Some((next, pause)) => {
                *pause = (*pause * 2).min(LONGEST_PAUSE);
                *next = now + *pause;
                warn!(
                    path = %path.display(),
                    %error,
                    reason = SkipReason::Unreadable.label(),
                    next_try_seconds = pause.as_secs(),
                    "still cannot be opened"
                );
            }
            None => {
                warn!(
                    path = %path.display(),
                    %error,
                    reason = SkipReason::Unreadable.label(),
                    "{}",
                    SkipReason::Unreadable.explain()
                );
                self.count(SkipReason::Unreadable);
                self.unreadable
                    .insert(key, (now + FIRST_PAUSE, FIRST_PAUSE));
            }
        }
    }

    /// `key` opened: if it could not be before, that is over.
    pub(crate) fn opened(&mut self, key: DiskKey, path: &Path) {
        if self.unreadable.remove(&key).is_some() {
            info!(path = %path.display(), "a file that could not be opened now can; reading it");
        }
    }

    /// Forgets unreadable files no scan finds any more.
    pub(crate) fn retain_unreadable(&mut self, keep: impl Fn(&DiskKey) -> bool) {
        self.unreadable.retain(|key, _| keep(key));
    }

    /// Skips so far, by reason.
    pub(crate) fn counts(&self) -> impl Iterator<Item = (SkipReason, u64)> + '_ {
        SkipReason::ALL
            .iter()
            .copied()
            .zip(self.counts.iter().copied())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(skips: &Skips, reason: SkipReason) -> u64 {
        skips
            .counts()
            .find(|(known, _)| *known == reason)
            .map_or(0, |(_, count)| count)
    }

    #[test]
    fn a_skipped_match_counts_once_while_it_stays() {
        let mut skips = Skips::default();
        let fifo = (PathBuf::from("/l/pipe.log"), SkipReason::NotRegular);
        for _ in 0..5 {
            skips.scanned(vec![fifo.clone()]);
        }
        assert_eq!(count(&skips, SkipReason::NotRegular), 1);
        // Gone, then back: a new skip.
        skips.scanned(vec![]);
        skips.scanned(vec![fifo]);
        assert_eq!(count(&skips, SkipReason::NotRegular), 2);
    }

    #[test]
    fn an_unreadable_file_warns_once_and_is_tried_less_and_less_often() {
        let mut skips = Skips::default();
        let key = DiskKey {
            device: 1,
            inode: 2,
        };
        let path = Path::new("/l/secret.log");
        let denied = std::io::Error::from(std::io::ErrorKind::PermissionDenied);
        let start = Instant::now();
        assert!(skips.may_open(key, start));
        skips.open_failed(key, path, &denied, start);
        assert!(!skips.may_open(key, start + Duration::from_secs(4)));
        assert!(skips.may_open(key, start + FIRST_PAUSE));
        // Each failure doubles the pause, up to five minutes.
        let mut now = start + FIRST_PAUSE;
        let mut pauses = Vec::new();
        for _ in 0..8 {
            skips.open_failed(key, path, &denied, now);
            let pause = skips.unreadable[&key].1;
            pauses.push(pause.as_secs());
            now += pause;
        }
        assert_eq!(pauses, [10, 20, 40, 80, 160, 300, 300, 300]);
        assert_eq!(
            count(&skips, SkipReason::Unreadable),
            1,
            "one WARN, one count"
        );
        skips.opened(key, path);
        assert!(skips.may_open(key, now));
    }
}
