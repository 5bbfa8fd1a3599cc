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
//! - [`query`]: the query language, parsed here for positioned errors and
//!   bounds.
//! - [`search`]: pages with cursors, counts, histograms, facets, context and
//!   the events of new generations, over the day indexes a range touches.
//! - [`page`]: the API's answers as types, the one page order and cursor,
//!   and the merges the shard fan-out and the CLI share.
//! - [`control`]: a query's deadline, cancellation and memory budget,
//!   checked inside the scorers and collectors.
//! - [`api`]: the HTTP API (axum), with token, limits, metrics and shard
//!   fan-out; [`client`]: the small HTTP client that fan-out and
//!   `loghaul query --server` use; [`listener`]: the API's listener, which
//!   answers an over-long request head with a JSON error.

pub mod api;
pub mod archived;
pub mod client;
pub mod control;
pub mod dedup;
pub mod listener;
pub mod page;
pub mod query;
pub mod rehydrated;
pub mod schema;
pub mod search;
pub mod store;
pub mod ui;
pub mod worker;
