//! The indexer role of loghaul: events into per-day tantivy indexes, exactly
//! once, and search over them.
//!
//! - [`schema`]: the fields of a day index; events to documents and back.
//! - [`dedup`]: the offset ranges a shard has indexed, journaled, so that a
//!   redelivered event is never indexed twice.
//! - [`store`]: a shard's day indexes, written in generations with a crash-safe
//!   commit protocol.
//!
//! Issue 6 is in progress: the queue loop, search, the HTTP API and the query
//! CLI are not built yet, and `loghaul run` does not start this role.

pub mod dedup;
pub mod schema;
pub mod store;
