//! Apache and nginx access logs:
//! `host ident user [10/Oct/2000:13:55:36 -0700] "GET /a HTTP/1.0" 200 2326`,
//! and the combined form, which adds `"referer" "user agent"`.

use std::borrow::Cow;

use super::{Draft, Mismatch, Word, token};
use crate::severity;
use crate::timestamp;

pub(super) fn parse(line: &str, draft: &mut Draft, combined: bool) -> Result<(), Mismatch> {
    let not = |what: &str| Mismatch::new(format!("not an access log: {what}"));
    let (client, rest) = token(line);
    let (ident, rest) = token(rest);
    let (user, rest) = token(rest);
    if client.is_empty() || ident.is_empty() || user.is_empty() {
        return Err(not("expected host, ident and user"));
    }
    let rest = rest
        .strip_prefix('[')
        .ok_or_else(|| not("expected [time] after host, ident and user"))?;
    let close = rest.find(']').ok_or_else(|| not("[time is not closed"))?;
    let (stamp, _) = timestamp::scan(&rest.as_bytes()[..close])
        .ok_or_else(|| not("the [time] is not a timestamp"))?;
    let rest = rest[close + 1..]
        .strip_prefix(" \"")
        .ok_or_else(|| not("expected \"request\" after the time"))?;
    let (request, rest) = quoted(rest).ok_or_else(|| not("the \"request is not closed"))?;
    let rest = rest.trim_start_matches(' ');
    let (status_text, rest) = token(rest);
    let status: u16 = status_text
        .parse()
        .ok()
        .filter(|status| (100..=999).contains(status))
        .ok_or_else(|| not("the status is not a 3-digit number"))?;
    let (size_text, rest) = token(rest);
    let size = match size_text {
        "-" => None,
        text => Some(
            text.parse::<u64>()
                .map_err(|_| not("the response size is not a number or -"))?,
        ),
    };
    let mut referer = None;
    let mut agent = None;
    if combined {
        let rest = rest
            .strip_prefix('"')
            .ok_or_else(|| not("combined: expected \"referer\""))?;
        let (referer_text, rest) =
            quoted(rest).ok_or_else(|| not("the \"referer is not closed"))?;
        let rest = rest
            .trim_start_matches(' ')
            .strip_prefix('"')
            .ok_or_else(|| not("combined: expected \"user agent\""))?;
        let (agent_text, _rest) =
            quoted(rest).ok_or_else(|| not("the \"user agent is not closed"))?;
        referer = Some(referer_text);
        agent = Some(agent_text);
    } else if !rest.is_empty() {
        return Err(not("unexpected text after the response size"));
    }

    draft.stamp = Some(stamp);
    set_status(draft, status);
    // In key order: sorting them before encoding is then one pass.
    let parts = request_parts(&request);
    draft.attribute("client.address", client);
    request_head(draft, &request, parts);
    if let Some(referer) = referer.filter(|referer| referer != "-") {
        draft.attribute("http.request.referrer", referer);
    }
    if let Some(size) = size {
        draft.attribute("http.response.body.size", size);
    }
    draft.attribute("http.response.status_code", status);
    if ident != "-" {
        draft.attribute("ident", ident);
    }
    request_tail(draft, parts);
    if user != "-" {
        draft.attribute("user.name", user);
    }
    if let Some(agent) = agent.filter(|agent| agent != "-") {
        draft.attribute("user_agent.original", agent);
    }
    Ok(())
}

/// An access log line has no level: its status gives the severity.
fn set_status(draft: &mut Draft, status: u16) {
    let number = severity::from_http_status(status);
    draft.severity_number = Some(number);
    draft.set_level(Word(severity::short_name(number)));
}

/// A request line's method, target and protocol (`GET /a HTTP/1.1`), when
/// it has a method and a target.
fn request_parts(request: &str) -> Option<(&str, &str, Option<&str>)> {
    let space = memchr::memchr(b' ', request.as_bytes()).filter(|space| *space > 0)?;
    let (method, rest) = (&request[..space], &request[space + 1..]);
    Some(match memchr::memchr(b' ', rest.as_bytes()) {
        Some(space) => (method, &rest[..space], Some(&rest[space + 1..])),
        None => (method, rest, None),
    })
}

/// `http.request.method`, or the whole line when it has no method and target.
fn request_head(draft: &mut Draft, request: &str, parts: Option<(&str, &str, Option<&str>)>) {
    match parts {
        Some((method, _, _)) => draft.attribute("http.request.method", method),
        None => draft.attribute("http.request.line", request),
    }
}

/// `network.protocol` and `url.original`.
fn request_tail(draft: &mut Draft, parts: Option<(&str, &str, Option<&str>)>) {
    if let Some((_, target, protocol)) = parts {
        if let Some(protocol) = protocol {
            draft.attribute("network.protocol", protocol);
        }
        draft.attribute("url.original", target);
    }
}

/// After a stamp, a quoted request line and a status, as Envoy's default
/// access log has them (`[2026-11-30T23:59:50.352Z] "GET /a HTTP/1.1" 200 -
/// 517 …`): fills the request, the status and its severity. Envoy writes
/// status 0 when no response was sent.
pub(super) fn request_and_status(after_stamp: &str, draft: &mut Draft) -> bool {
    let Some(rest) = after_stamp.trim_start_matches(' ').strip_prefix('"') else {
        return false;
    };
    let Some((request, rest)) = quoted(rest) else {
        return false;
    };
    if !request.contains(" /") && !request.contains(" http") {
        return false;
    }
    let (status_text, _) = token(rest.trim_start_matches(' '));
    let Some(status) = status_text
        .parse::<u16>()
        .ok()
        .filter(|status| *status == 0 || (100..=999).contains(status))
    else {
        return false;
    };
    set_status(draft, status);
    let parts = request_parts(&request);
    request_head(draft, &request, parts);
    draft.attribute("http.response.status_code", status);
    request_tail(draft, parts);
    true
}

/// The text up to the closing `"` (with `\"` escapes, as nginx writes them),
/// and what follows it. Borrowed unless there were escapes.
fn quoted(text: &str) -> Option<(Cow<'_, str>, &str)> {
    let bytes = text.as_bytes();
    let mut at = 0;
    let mut escapes = false;
    loop {
        at += memchr::memchr2(b'"', b'\\', &bytes[at..])?;
        if bytes[at] == b'"' {
            break;
        }
        escapes = true;
        at += 2;
        if at > bytes.len() {
            return None;
        }
    }
    let inner = &text[..at];
    let value = if escapes {
        Cow::Owned(inner.replace("\\\"", "\"").replace("\\\\", "\\"))
    } else {
        Cow::Borrowed(inner)
    };
    Some((value, &text[at + 1..]))
}
