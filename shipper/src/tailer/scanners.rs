//! Each source's glob scan runs on a thread of its own, so one slow source
//! (a huge tree, a hung network mount) never delays the others: a scan
//! round waits a short while for every source, takes what finished, and
//! keeps a slow source's previous result until its scan ends. A source
//! still scanning is not scanned again meanwhile, and one WARN says it is
//! slow.

use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use tracing::{info, warn};

use crate::discovery::Scan;

/// One source's scan, as a job a thread can run.
pub(crate) type ScanJob = Arc<dyn Fn() -> Scan + Send + Sync>;

struct Slot {
    name: String,
    job: ScanJob,
    /// The newest finished scan.
    latest: Scan,
    /// The scan in flight, and when it started.
    pending: Option<(Receiver<Scan>, Instant)>,
    /// Whether this scan in flight was said to be slow.
    warned: bool,
}

pub(crate) struct Scanners {
    slots: Vec<Slot>,
}

impl std::fmt::Debug for Scanners {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_list()
            .entries(self.slots.iter().map(|slot| &slot.name))
            .finish()
    }
}

impl Scanners {
    /// A scanner per (source name, scan job).
    pub(crate) fn new(jobs: Vec<(String, ScanJob)>) -> Self {
        Scanners {
            slots: jobs
                .into_iter()
                .map(|(name, job)| Slot {
                    name,
                    job,
                    latest: Scan::default(),
                    pending: None,
                    warned: false,
                })
                .collect(),
        }
    }

    /// Starts a scan of every source that is not scanning already, waits
    /// up to `wait` for the scans it started (not for older ones still
    /// running: a slow source holds up one round at most), and returns
    /// each source's newest finished scan, in source order.
    pub(crate) fn round(&mut self, wait: Duration) -> impl Iterator<Item = &Scan> {
        let mut started = vec![false; self.slots.len()];
        for (index, slot) in self.slots.iter_mut().enumerate() {
            if slot.pending.is_some() {
                continue;
            }
            started[index] = true;
            let (sender, receiver) = mpsc::sync_channel(1);
            let job = slot.job.clone();
            let spawned = std::thread::Builder::new()
                .name("loghaul-scan".into())
                .spawn(move || {
                    let _ = sender.send(job());
                });
            match spawned {
                Ok(_) => slot.pending = Some((receiver, Instant::now())),
                // No thread to be had: scan here rather than not at all.
                Err(_) => slot.latest = (slot.job)(),
            }
        }
        let deadline = Instant::now() + wait;
        for (index, slot) in self.slots.iter_mut().enumerate() {
            let Some((receiver, since)) = &slot.pending else {
                continue;
            };
            let timeout = if started[index] {
                deadline.saturating_duration_since(Instant::now())
            } else {
                Duration::ZERO
            };
            match receiver.recv_timeout(timeout) {
                Ok(scan) => {
                    if slot.warned {
                        info!(source = %slot.name, seconds = since.elapsed().as_secs_f64(), "the slow scan of this source ended");
                    }
                    slot.latest = scan;
                    slot.pending = None;
                    slot.warned = false;
                }
                Err(RecvTimeoutError::Timeout) => {
                    if !slot.warned {
                        warn!(source = %slot.name, "scanning this source's globs is slow (a large tree or a slow file system): the other sources go on, and its files are found when the scan ends");
                        slot.warned = true;
                    }
                }
                // The scan's thread died: the next round starts another.
                Err(RecvTimeoutError::Disconnected) => slot.pending = None,
            }
        }
        self.slots.iter().map(|slot| &slot.latest)
    }

    /// How many sources are scanning past a round's wait now.
    pub(crate) fn slow(&self) -> usize {
        self.slots.iter().filter(|slot| slot.warned).count()
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::sync::{Condvar, Mutex};

    use super::*;

    /// A scan job that finds `files` once `gate` opens.
    fn gated(gate: &Arc<(Mutex<bool>, Condvar)>, files: &[&str]) -> ScanJob {
        let gate = gate.clone();
        let files: Vec<PathBuf> = files.iter().map(PathBuf::from).collect();
        Arc::new(move || {
            let (open, opened) = &*gate;
            let mut is_open = open.lock().expect("gate");
            while !*is_open {
                is_open = opened.wait(is_open).expect("gate");
            }
            Scan {
                files: files.clone(),
                skipped: Vec::new(),
            }
        })
    }

    fn round(scanners: &mut Scanners) -> Vec<Scan> {
        scanners.round(Duration::from_secs(2)).cloned().collect()
    }

    #[test]
    fn a_slow_source_never_holds_up_the_others() {
        let fast_files = Arc::new(Mutex::new(vec![PathBuf::from("/fast/a.log")]));
        let fast: ScanJob = {
            let files = fast_files.clone();
            Arc::new(move || Scan {
                files: files.lock().expect("files").clone(),
                skipped: Vec::new(),
            })
        };
        let gate = Arc::new((Mutex::new(false), Condvar::new()));
        let mut scanners = Scanners::new(vec![
            ("fast".into(), fast),
            ("slow".into(), gated(&gate, &["/slow/b.log"])),
        ]);
        let files = |scans: &[Scan], index: usize| -> Vec<String> {
            scans[index]
                .files
                .iter()
                .map(|path| path.display().to_string())
                .collect()
        };

        // The slow source's scan hangs: the fast one's result comes anyway.
        let scans = round(&mut scanners);
        assert_eq!(files(&scans, 0), ["/fast/a.log"]);
        assert!(files(&scans, 1).is_empty());
        assert_eq!(scanners.slow(), 1);
        // Rounds go on for the fast source, which sees its new file.
        fast_files
            .lock()
            .expect("files")
            .push(PathBuf::from("/fast/b.log"));
        let scans = round(&mut scanners);
        assert_eq!(files(&scans, 0), ["/fast/a.log", "/fast/b.log"]);
        assert!(files(&scans, 1).is_empty());

        // The slow scan ends: its files come in the next round.
        {
            let (open, opened) = &*gate;
            *open.lock().expect("gate") = true;
            opened.notify_all();
        }
        // (Its scan started rounds ago: a round does not wait for it, so
        // wait here until it has ended.)
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut scans = round(&mut scanners);
        while files(&scans, 1).is_empty() {
            assert!(Instant::now() < deadline, "the slow scan never ended");
            std::thread::sleep(Duration::from_millis(20));
            scans = round(&mut scanners);
        }
        assert_eq!(files(&scans, 1), ["/slow/b.log"]);
        assert_eq!(scanners.slow(), 0);
    }
}
