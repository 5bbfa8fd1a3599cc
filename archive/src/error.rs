/// What can go wrong in the archive.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    /// A key that could escape the store's root or is not a valid key.
    #[error("invalid object key {key:?}: {reason}")]
    InvalidKey {
        /// The key.
        key: String,
        /// Why.
        reason: &'static str,
    },
    /// The object does not exist.
    #[error("object {key:?} not found in {store}")]
    NotFound {
        /// The key.
        key: String,
        /// The store.
        store: String,
    },
    /// The key holds different content; create-only stores never overwrite.
    #[error(
        "object {key:?} already exists with different content (sha256 {existing}, ours {ours}); not overwritten"
    )]
    Conflict {
        /// The key.
        key: String,
        /// The stored object's sha256, or `unknown`.
        existing: String,
        /// The sha256 of what we tried to write.
        ours: String,
    },
    /// The object was written but reads back wrong.
    #[error("object {key:?} failed verification: {reason}")]
    Verification {
        /// The key.
        key: String,
        /// What differed.
        reason: String,
    },
    /// The rotated file to archive is gone, under its name and beside it;
    /// only a person can say why.
    #[error("{path}: the file to archive no longer exists (nor under another name beside it)")]
    MissingRaw {
        /// The file.
        path: String,
    },
    /// A local file operation failed.
    #[error("{operation} {path}: {source}")]
    Io {
        /// What was being done.
        operation: &'static str,
        /// On which path.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// An S3 request failed.
    #[error("s3 {operation} {key:?}: {message}")]
    S3 {
        /// The API call.
        operation: &'static str,
        /// The key or prefix.
        key: String,
        /// What the SDK or server said.
        message: String,
        /// Whether the same request may succeed later (network, throttling, 5xx).
        retryable: bool,
    },
}

impl ArchiveError {
    /// Whether trying again later may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            ArchiveError::S3 { retryable, .. } => *retryable,
            ArchiveError::Io { .. } => true,
            _ => false,
        }
    }

    pub(crate) fn io(
        operation: &'static str,
        path: &std::path::Path,
        source: std::io::Error,
    ) -> Self {
        ArchiveError::Io {
            operation,
            path: path.display().to_string(),
            source,
        }
    }
}
