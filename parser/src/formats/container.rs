//! Container runtimes wrap each line the application wrote:
//!
//! - Docker's json-file driver: `{"log":"msg\n","stream":"stdout","time":"…"}`
//! - CRI (containerd, CRI-O): `2026-11-22T08:00:00.123456789Z stdout F msg`,
//!   where `P` marks a partial line that the next record continues.
//!
//! A wrapper is taken off first; the inner line is then parsed as its own
//! format. The wrapper's time is kept in `container.time` and used when the
//! inner line has none.

use serde_json::{Map, Value};

use super::{Mismatch, token};
use crate::timestamp::{self, Stamp};

/// A container wrapper.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wrapper {
    /// Docker json-file.
    Docker,
    /// CRI.
    Cri,
}

/// What a wrapper held.
#[derive(Debug, Clone, PartialEq)]
pub struct Unwrapped {
    /// The application's line.
    pub inner: String,
    /// The runtime's time for it.
    pub stamp: Option<Stamp>,
    /// `stream` and other fields of the wrapper.
    pub attributes: Map<String, Value>,
}

impl Wrapper {
    /// The wrapper called `name`.
    pub fn named(name: &str) -> Option<Wrapper> {
        match name {
            "docker" => Some(Wrapper::Docker),
            "cri" => Some(Wrapper::Cri),
            _ => None,
        }
    }

    /// Its name.
    pub fn name(self) -> &'static str {
        match self {
            Wrapper::Docker => "docker",
            Wrapper::Cri => "cri",
        }
    }

    /// The wrapper a line seems to have, for `auto`.
    pub fn detect(line: &str) -> Option<Wrapper> {
        if line.starts_with("{\"log\":") {
            return Some(Wrapper::Docker);
        }
        let (stamp, rest) = token(line);
        let (stream, _) = token(rest);
        let looks_cri = matches!(stream, "stdout" | "stderr")
            && stamp.len() >= 20
            && timestamp::scan(stamp.as_bytes()).is_some_and(|(_, used)| used == stamp.len());
        looks_cri.then_some(Wrapper::Cri)
    }

    /// Takes the wrapper off `line`.
    pub fn unwrap(self, line: &str) -> Result<Unwrapped, Mismatch> {
        match self {
            Wrapper::Docker => docker(line),
            Wrapper::Cri => cri(line),
        }
    }
}

fn docker(line: &str) -> Result<Unwrapped, Mismatch> {
    let mut object: Map<String, Value> = serde_json::from_str(line.trim())
        .map_err(|error| Mismatch::new(format!("not a Docker json-file line: {error}")))?;
    let Some(Value::String(mut inner)) = object.remove("log") else {
        return Err(Mismatch::new(
            "not a Docker json-file line: no \"log\" string",
        ));
    };
    if inner.ends_with('\n') {
        inner.pop();
        if inner.ends_with('\r') {
            inner.pop();
        }
    }
    let stamp = match object.remove("time") {
        Some(Value::String(time)) => timestamp::scan(time.as_bytes()).map(|(stamp, _)| stamp),
        _ => None,
    };
    let mut attributes = Map::new();
    for (key, value) in object {
        attributes.insert(format!("container.{key}"), value);
    }
    Ok(Unwrapped {
        inner,
        stamp,
        attributes,
    })
}

fn cri(line: &str) -> Result<Unwrapped, Mismatch> {
    let not = |what: &str| Mismatch::new(format!("not a CRI line: {what}"));
    let (time, rest) = line
        .split_once(' ')
        .ok_or_else(|| not("expected TIME STREAM TAG MESSAGE"))?;
    let (stamp, used) =
        timestamp::scan(time.as_bytes()).ok_or_else(|| not("the time is not RFC 3339"))?;
    if used != time.len() {
        return Err(not("the time is not RFC 3339"));
    }
    let (stream, rest) = rest.split_once(' ').ok_or_else(|| not("no stream"))?;
    if !matches!(stream, "stdout" | "stderr") {
        return Err(not("the stream is not stdout or stderr"));
    }
    let (tag, inner) = rest.split_once(' ').unwrap_or((rest, ""));
    let mut attributes = Map::new();
    attributes.insert("container.stream".into(), Value::String(stream.into()));
    match tag.split(':').next() {
        Some("F") => {}
        Some("P") => {
            attributes.insert("container.partial".into(), Value::Bool(true));
        }
        _ => return Err(not("the tag is not F or P")),
    }
    Ok(Unwrapped {
        inner: inner.to_owned(),
        stamp: Some(stamp),
        attributes,
    })
}
