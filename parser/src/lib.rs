//! The parser role of loghaul: it turns `RawBatch` records into `Event`s: format detection, timestamp and level normalisation, the worker loop.
//!
//! This crate holds its place in the workspace layout of DESIGN.md. Its code
//! arrives with issue 5; until then it exports nothing, and `loghaul run` does
//! not start this role.
