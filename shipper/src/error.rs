use std::path::{Path, PathBuf};

/// What can stop the shipper.
#[derive(Debug, thiserror::Error)]
pub enum ShipperError {
    /// A file operation failed.
    #[error("{operation} {}: {source}", path.display())]
    Io {
        /// What was being done.
        operation: &'static str,
        /// On which path.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The checkpoint file cannot be read. Starting over would ship every
    /// file again from the beginning, so the shipper refuses instead.
    #[error(
        "checkpoint file {} is unreadable ({reason}); move it aside to start over, which ships every file again",
        path.display()
    )]
    CorruptCheckpoint {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A glob in the config does not compile.
    #[error("source {source_name}: invalid glob {glob:?}: {reason}")]
    Glob {
        /// The source.
        source_name: String,
        /// The glob.
        glob: String,
        /// Why.
        reason: String,
    },
    /// The spot watcher's endpoint is unusable.
    #[error("spot watcher: {0}")]
    Spot(#[from] crate::spot::SpotError),
    /// The archive could not be set up.
    #[error("archive: {0}")]
    Archive(#[from] loghaul_archive::ArchiveError),
    /// The queue refused for good.
    #[error("queue: {0}")]
    Queue(#[from] loghaul_queue::QueueError),
}

impl ShipperError {
    pub(crate) fn io(operation: &'static str, path: &Path, source: std::io::Error) -> Self {
        ShipperError::Io {
            operation,
            path: path.to_owned(),
            source,
        }
    }
}
