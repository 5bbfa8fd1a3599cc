//! The indexer role of loghaul: it writes events into per-day tantivy indexes and serves search, the HTTP API and the web UI.
//!
//! This crate holds its place in the workspace layout of DESIGN.md. Its code
//! arrives with issue 6; until then it exports nothing, and `loghaul run` does
//! not start this role.
