//! logfmt: `ts=… level=info msg="hello world" user=ada`.

use std::borrow::Cow;

use super::{Draft, Mismatch};
use crate::timestamp;

/// `key=value` pairs, with `"…"` values unescaped; bare keys mean `true`.
/// The line must start with a pair and hold at least two, or it is not logfmt.
/// A timestamp may come first (`2026-11-22T10:00:00Z level=error msg=…`, as
/// many loggers write a stamp before their fields): it is the record's time.
pub(super) fn parse(line: &str, draft: &mut Draft) -> Result<(), Mismatch> {
    let bytes = line.as_bytes();
    let mut at = 0;
    if bytes.first().is_some_and(u8::is_ascii_digit)
        && let Some((stamp, used)) = timestamp::scan(bytes)
        && bytes.get(used) == Some(&b' ')
    {
        draft.stamp = Some(stamp);
        at = used;
    }
    let mut pairs = 0;
    let mut first = true;
    while at < bytes.len() {
        while at < bytes.len() && bytes[at] == b' ' {
            at += 1;
        }
        if at >= bytes.len() {
            break;
        }
        let key_start = at;
        while at < bytes.len() && !matches!(bytes[at], b'=' | b' ' | b'"') {
            at += 1;
        }
        let key = &line[key_start..at];
        if key.is_empty() {
            return Err(Mismatch::new(format!(
                "not logfmt: expected a key at byte {key_start}"
            )));
        }
        if at >= bytes.len() || bytes[at] != b'=' {
            if first {
                return Err(Mismatch::new(
                    "not logfmt: the line does not start with key=",
                ));
            }
            if at < bytes.len() && bytes[at] == b'"' {
                return Err(Mismatch::new(format!(
                    "not logfmt: a quote inside the key at byte {at}"
                )));
            }
            draft.attribute_named(key, true);
            continue;
        }
        at += 1; // '='
        let value = if at < bytes.len() && bytes[at] == b'"' {
            let (value, used) = quoted(&line[at..]).ok_or_else(|| {
                Mismatch::new(format!("not logfmt: unterminated quote at byte {at}"))
            })?;
            at += used;
            value
        } else {
            let start = at;
            while at < bytes.len() && bytes[at] != b' ' {
                at += 1;
            }
            Cow::Borrowed(&line[start..at])
        };
        pairs += 1;
        first = false;
        assign(key, value, draft);
    }
    if pairs < 2 {
        return Err(Mismatch::new("not logfmt: fewer than two key=value pairs"));
    }
    Ok(())
}

/// A `"…"` value with `\"` and `\\` escapes: the text and bytes used.
fn quoted(text: &str) -> Option<(Cow<'_, str>, usize)> {
    // Most values have no escape: borrow them.
    let inner = text.get(1..)?;
    if let Some(end) = memchr::memchr2(b'"', b'\\', inner.as_bytes())
        && inner.as_bytes()[end] == b'"'
    {
        return Some((Cow::Borrowed(&inner[..end]), end + 2));
    }
    let mut value = String::new();
    let mut chars = text.char_indices().skip(1);
    while let Some((index, c)) = chars.next() {
        match c {
            '"' => return Some((Cow::Owned(value), index + 1)),
            '\\' => match chars.next()?.1 {
                'n' => value.push('\n'),
                't' => value.push('\t'),
                other => value.push(other),
            },
            other => value.push(other),
        }
    }
    None
}

fn assign(key: &str, value: Cow<'_, str>, draft: &mut Draft) {
    match key {
        "ts" | "time" | "timestamp" | "t" if draft.stamp.is_none() => {
            if let Some((stamp, _)) = timestamp::scan(value.as_bytes()) {
                draft.stamp = Some(stamp);
                return;
            }
        }
        "level" | "lvl" | "severity" if draft.level().is_none() => {
            draft.set_level(value);
            return;
        }
        "msg" | "message" if draft.body().is_none() => {
            draft.set_body(value);
            return;
        }
        _ => {}
    }
    draft.attribute_named(key, value);
}
