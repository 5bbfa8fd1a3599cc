//! A full disk: telling it apart, and pausing until space returns.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tracing::{info, warn};

/// While a store stays paused, its WARN repeats this often (the first comes
/// at once).
pub const WARN_EVERY: Duration = Duration::from_secs(30);

/// What local state a write was for; the `store` label of the metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Store {
    /// The shipper's checkpoints file.
    Checkpoints,
    /// The embedded disk queue (segments and acks).
    Queue,
    /// The tantivy day indexes.
    Index,
    /// The indexer's dedup journal.
    Dedup,
    /// The archive spool (pending requests, compressed work copies).
    Spool,
    /// A local-directory archive.
    Archive,
}

impl Store {
    /// Every store, in the order the metrics list them.
    pub const ALL: [Store; 6] = [
        Store::Checkpoints,
        Store::Queue,
        Store::Index,
        Store::Dedup,
        Store::Spool,
        Store::Archive,
    ];

    /// The label value.
    pub fn name(self) -> &'static str {
        match self {
            Store::Checkpoints => "checkpoints",
            Store::Queue => "queue",
            Store::Index => "index",
            Store::Dedup => "dedup",
            Store::Spool => "spool",
            Store::Archive => "archive",
        }
    }

    fn slot(self) -> usize {
        self as usize
    }
}

static RETRIES: [AtomicU64; 6] = [const { AtomicU64::new(0) }; 6];
static PAUSED: [AtomicI64; 6] = [const { AtomicI64::new(0) }; 6];

/// Writes to `store` refused for lack of space since the process started.
pub fn retries(store: Store) -> u64 {
    RETRIES[store.slot()].load(Ordering::Relaxed)
}

/// Appends the full-disk metrics, in Prometheus text, for every store.
pub fn render_metrics(out: &mut String) {
    out.push_str(
        "# HELP loghaul_disk_full_retries_total Writes refused for lack of disk space (or quota), paused and retried, by store.\n\
         # TYPE loghaul_disk_full_retries_total counter\n",
    );
    for store in Store::ALL {
        let _ = writeln!(
            out,
            "loghaul_disk_full_retries_total{{store=\"{}\"}} {}",
            store.name(),
            retries(store)
        );
    }
    out.push_str(
        "# HELP loghaul_disk_full_paused Writers of a store paused now, waiting for disk space.\n\
         # TYPE loghaul_disk_full_paused gauge\n",
    );
    for store in Store::ALL {
        let _ = writeln!(
            out,
            "loghaul_disk_full_paused{{store=\"{}\"}} {}",
            store.name(),
            PAUSED[store.slot()].load(Ordering::Relaxed).max(0)
        );
    }
}

/// Below this many free bytes a file system is taken as full when an error
/// lost its cause (tantivy's "index writer was killed").
pub const SHORT_OF_SPACE: u64 = 64 << 20;

/// Whether the file system holding `path` has less than [`SHORT_OF_SPACE`]
/// free (for the user: root's reserve is not counted). `false` when it
/// cannot be asked.
pub fn short_of_space(path: &std::path::Path) -> bool {
    fs4::available_space(path).is_ok_and(|free| free < SHORT_OF_SPACE)
}

/// The kind or errno of a full disk (ENOSPC) or quota (EDQUOT).
fn says_full(error: &std::io::Error) -> bool {
    matches!(
        error.kind(),
        std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded
    ) || matches!(error.raw_os_error(), Some(28 | 122))
}

/// Whether `error` means the disk (or the user's quota) is full.
pub fn is_full_io(error: &std::io::Error) -> bool {
    says_full(error) || error.get_ref().is_some_and(|inner| is_full(inner))
}

/// Whether `error`, or any error it wraps, means the disk is full. Errors
/// that kept only the text of the cause (tantivy's "an error occurred in a
/// thread") are read by their text.
pub fn is_full(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(current) = next {
        if current
            .downcast_ref::<std::io::Error>()
            .is_some_and(says_full)
        {
            return true;
        }
        let text = current.to_string();
        if text.contains("No space left on device")
            || text.contains("Disk quota exceeded")
            || text.contains("StorageFull")
        {
            return true;
        }
        next = current.source();
    }
    false
}

/// One writer's pause on a full disk.
///
/// Call [`DiskFull::hit`] each time a write fails for lack of space (then
/// wait and retry), and [`DiskFull::cleared`] after a write succeeds.
#[derive(Debug)]
pub struct DiskFull {
    store: Store,
    since: Option<Instant>,
    last_warning: Option<Instant>,
}

impl DiskFull {
    /// A writer of `store`, not paused.
    pub fn new(store: Store) -> Self {
        DiskFull {
            store,
            since: None,
            last_warning: None,
        }
    }

    /// Whether the last write failed for lack of space.
    pub fn is_paused(&self) -> bool {
        self.since.is_some()
    }

    /// A write failed for lack of space: counts the retry, marks the store
    /// paused, and warns (at once, then every [`WARN_EVERY`]) with `error`,
    /// which names the file.
    pub fn hit(&mut self, error: &dyn std::fmt::Display) {
        RETRIES[self.store.slot()].fetch_add(1, Ordering::Relaxed);
        let now = Instant::now();
        let since = *self.since.get_or_insert_with(|| {
            PAUSED[self.store.slot()].fetch_add(1, Ordering::Relaxed);
            now
        });
        if self
            .last_warning
            .is_none_or(|warned| now.duration_since(warned) >= WARN_EVERY)
        {
            self.last_warning = Some(now);
            warn!(
                store = self.store.name(),
                paused_s = now.duration_since(since).as_secs(),
                %error,
                "disk full: writing paused, nothing is dropped; retrying until space returns"
            );
        }
    }

    /// A write succeeded: if it was paused, the store resumes (INFO).
    pub fn cleared(&mut self) {
        if let Some(since) = self.since.take() {
            PAUSED[self.store.slot()].fetch_sub(1, Ordering::Relaxed);
            self.last_warning = None;
            info!(
                store = self.store.name(),
                paused_s = since.elapsed().as_secs(),
                "disk space is back: writing resumed"
            );
        }
    }
}

impl Drop for DiskFull {
    fn drop(&mut self) {
        if self.since.is_some() {
            PAUSED[self.store.slot()].fetch_sub(1, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Wrapper(std::io::Error);

    impl std::fmt::Display for Wrapper {
        fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            formatter.write_str("commit failed")
        }
    }

    impl std::error::Error for Wrapper {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn a_full_disk_is_found_through_wrappers_and_text() {
        let enospc = std::io::Error::from_raw_os_error(28);
        assert!(is_full_io(&enospc));
        assert!(is_full(&Wrapper(std::io::Error::from_raw_os_error(28))));
        assert!(is_full_io(&std::io::Error::other(Wrapper(
            std::io::Error::from(std::io::ErrorKind::QuotaExceeded)
        ))));
        let lost_kind = std::io::Error::other(
            "An error occurred in a thread: 'No space left on device (os error 28)'",
        );
        assert!(is_full_io(&lost_kind));
        assert!(!is_full_io(&std::io::Error::from(
            std::io::ErrorKind::PermissionDenied
        )));
        assert!(!is_full(&Wrapper(std::io::Error::from_raw_os_error(5))));
    }

    #[test]
    fn a_pause_counts_every_retry_and_shows_until_cleared() {
        let before = retries(Store::Spool);
        let mut pause = DiskFull::new(Store::Spool);
        assert!(!pause.is_paused());
        pause.hit(&"spool/pending/1.json: No space left on device");
        pause.hit(&"spool/pending/1.json: No space left on device");
        assert!(pause.is_paused());
        assert!(retries(Store::Spool) >= before + 2);
        let mut text = String::new();
        render_metrics(&mut text);
        assert!(
            text.contains("loghaul_disk_full_paused{store=\"spool\"} 1")
                || text.contains("loghaul_disk_full_paused{store=\"spool\"} 2"),
            "{text}"
        );
        pause.cleared();
        assert!(!pause.is_paused());
        assert!(text.contains("loghaul_disk_full_retries_total{store=\"queue\"}"));
    }
}
