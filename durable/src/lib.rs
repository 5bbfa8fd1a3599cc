//! Writing to local disk so that it lasts, and waiting out a full disk.
//!
//! Every loghaul component that keeps state on local disk (the shipper's
//! checkpoints, the embedded queue, the index and its dedup journal, the
//! archive spool) writes through here:
//!
//! - [`replace`] and [`write_atomically`] swap a file's content so that a
//!   crash leaves the old content or the new, never a mix, and never leave
//!   their temporary file behind on failure (on a full disk it is the space
//!   that is short).
//! - [`is_full`] tells a full disk (or an exhausted quota) from other
//!   failures, through wrapped errors and the text of errors that lost
//!   their kind.
//! - [`DiskFull`] is what a component does on a full disk: it pauses, warns
//!   (once, then every [`WARN_EVERY`] while still full), counts the retry in
//!   `loghaul_disk_full_retries_total{store}` and shows the pause in
//!   `loghaul_disk_full_paused{store}` until space returns.
//! - [`Backoff`] is the one exponential retry delay.

mod atomic;
mod backoff;
mod full;

pub use atomic::{replace, replace_via, sync_dir, temporary_path, write_atomically};
pub use backoff::Backoff;
pub use full::{
    DiskFull, SHORT_OF_SPACE, Store, WARN_EVERY, is_full, is_full_io, render_metrics, retries,
    short_of_space,
};
