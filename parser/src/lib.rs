//! The parser role of loghaul: it turns `RawBatch` records into `Event`s
//! (format detection, timestamp and level normalisation, the worker loop).
//!
//! Built so far: [`severity`], the mapping of level spellings, syslog
//! priorities and HTTP status classes to OpenTelemetry severity numbers. The
//! formats, timestamps and the worker arrive with the rest of issue 5;
//! `loghaul run` does not start this role yet.

pub mod severity;
