//! The shipper: tails log files and publishes what it reads, losing nothing.
//!
//! The pieces, each in its own module:
//!
//! - [`identity`]: what a file is, whatever its name (device, inode and a
//!   fingerprint of its first bytes);
//! - [`checkpoint`]: how far each file is confirmed downstream, persisted
//!   atomically;
//! - [`records`]: bytes to records, with offsets, size caps and flags;
//! - [`multiline`]: lines to multi-line records;
//! - [`discovery`]: which files a source's globs name;
//! - [`tailer`]: the state machine that reads, follows rotations and
//!   batches, moving checkpoints only on confirmation: a scheduler over one
//!   watcher per file, and the hand-off of rotated files to the archive;
//! - `driver` (private; [`ship`] and [`ship_with_metrics`] are its entry
//!   points): the tailer on its own thread, publishing to a queue, with a
//!   two-phase drain on shutdown.

pub mod checkpoint;
pub mod discovery;
mod driver;
mod error;
pub mod identity;
pub mod metrics;
pub mod multiline;
pub mod records;
pub mod rotate;
pub mod spot;
pub mod tailer;

pub use driver::{
    HOST_HEADER, SOURCE_HEADER, ShipReport, checkpoint_path, ship, ship_with_metrics,
    sources_from_config,
};
pub use error::ShipperError;
