//! The indexer role of loghaul: events into per-day tantivy indexes, exactly
//! once, and search over them.
//!
//! - [`schema`]: the fields of a day index; events to documents and back.
//! - [`dedup`]: the offset ranges a shard has indexed, journaled, so that a
//!   redelivered event is never indexed twice.
//! - [`store`]: a shard's day indexes, written in generations with a crash-safe
//!   commit protocol.
//!
//! - [`worker`]: the queue loop: add, commit, then acknowledge.
//!
//! Issue 6 is in progress: search, the HTTP API and the query CLI are not
//! built yet, and `loghaul run` does not start this role.

pub mod api;
pub mod client;
pub mod dedup;
pub mod query;
pub mod schema;
pub mod search;
pub mod store;
pub mod worker;
