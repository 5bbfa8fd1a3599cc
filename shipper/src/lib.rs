//! The shipper role of loghaul: it tails files, tracks file identity and checkpoints, batches records and publishes `RawBatch` onto the queue; rotates the files it manages and watches for spot notices.
//!
//! This crate holds its place in the workspace layout of DESIGN.md. Its code
//! arrives with issue 3; until then it exports nothing, and `loghaul run` does
//! not start this role.
