//! Apache and nginx access logs:
//! `host ident user [10/Oct/2000:13:55:36 -0700] "GET /a HTTP/1.0" 200 2326`,
//! and the combined form, which adds `"referer" "user agent"`.

use std::borrow::Cow;

use serde_json::Value;

use super::{Draft, Mismatch, token};
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
    draft.severity_number = Some(severity::from_http_status(status));
    draft.level = Some(severity::short_name(severity::from_http_status(status)).to_owned());
    draft.attribute("client.address", client);
    if user != "-" {
        draft.attribute("user.name", user);
    }
    if ident != "-" {
        draft.attribute("ident", ident);
    }
    let mut parts = request.splitn(3, ' ');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(method), Some(target), protocol) if !method.is_empty() => {
            draft.attribute("http.request.method", method);
            draft.attribute("url.original", target);
            if let Some(protocol) = protocol {
                draft.attribute("network.protocol", protocol);
            }
        }
        _ => draft.attribute("http.request.line", request.as_ref()),
    }
    draft.attribute("http.response.status_code", status);
    if let Some(size) = size {
        draft.attribute("http.response.body.size", size);
    }
    if let Some(referer) = referer.filter(|referer| referer != "-") {
        draft.attribute("http.request.referrer", Value::String(referer.into_owned()));
    }
    if let Some(agent) = agent.filter(|agent| agent != "-") {
        draft.attribute("user_agent.original", Value::String(agent.into_owned()));
    }
    Ok(())
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
