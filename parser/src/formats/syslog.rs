//! Syslog: RFC 5424 (`<165>1 2026-11-22T08:00:00Z host app 12 ID47 [sd] msg`)
//! and RFC 3164 as files hold it (`Nov 22 08:00:00 host sshd[12]: msg`, with or
//! without `<PRI>`).

use serde_json::{Map, Value};

use super::{Draft, Mismatch, Word, token};
use crate::severity;
use crate::timestamp::{self, Stamp};

const FACILITIES: [&str; 24] = [
    "kern",
    "user",
    "mail",
    "daemon",
    "auth",
    "syslog",
    "lpr",
    "news",
    "uucp",
    "cron",
    "authpriv",
    "ftp",
    "ntp",
    "security",
    "console",
    "solaris-cron",
    "local0",
    "local1",
    "local2",
    "local3",
    "local4",
    "local5",
    "local6",
    "local7",
];
const SEVERITIES: [&str; 8] = [
    "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
];

pub(super) fn parse(line: &str, draft: &mut Draft) -> Result<(), Mismatch> {
    let mut rest = line;
    if let Some(after) = rest.strip_prefix('<') {
        let end = after
            .find('>')
            .filter(|end| (1..=3).contains(end))
            .ok_or_else(|| Mismatch::new("not syslog: <PRI> is not closed within 3 digits"))?;
        let priority: u16 = after[..end]
            .parse()
            .ok()
            .filter(|priority| *priority <= 191)
            .ok_or_else(|| Mismatch::new("not syslog: PRI is not a number from 0 to 191"))?;
        draft.severity_number = Some(severity::from_syslog_priority(priority));
        draft.set_level(Word(SEVERITIES[usize::from(priority % 8)]));
        draft.attribute(
            "syslog.facility",
            Word(FACILITIES[usize::from(priority / 8)]),
        );
        rest = &after[end + 1..];
        if let Some(after_version) = rest.strip_prefix("1 ") {
            return rfc5424(after_version, draft);
        }
    }
    rfc3164(rest, draft)
}

fn nil(field: &str) -> Option<&str> {
    (field != "-" && !field.is_empty()).then_some(field)
}

fn rfc5424(text: &str, draft: &mut Draft) -> Result<(), Mismatch> {
    let (stamp, rest) = token(text);
    if stamp != "-" {
        let (parsed, used) = timestamp::scan(stamp.as_bytes())
            .filter(|(_, used)| *used == stamp.len())
            .ok_or_else(|| Mismatch::new(format!("RFC 5424: bad TIMESTAMP {stamp:?}")))?;
        let _ = used;
        draft.stamp = Some(parsed);
    }
    let (hostname, rest) = token(rest);
    let (app, rest) = token(rest);
    let (procid, rest) = token(rest);
    let (msgid, rest) = token(rest);
    if msgid.is_empty() {
        return Err(Mismatch::new(
            "RFC 5424: expected HOSTNAME APP-NAME PROCID MSGID",
        ));
    }
    for (key, value) in [
        ("syslog.hostname", hostname),
        ("syslog.appname", app),
        ("syslog.procid", procid),
        ("syslog.msgid", msgid),
    ] {
        if let Some(value) = nil(value) {
            draft.attribute(key, value);
        }
    }
    let message = if let Some(after) = rest.strip_prefix('-') {
        after
    } else if rest.starts_with('[') {
        let (data, used) = structured_data(rest)?;
        draft.attribute("syslog.sd", Value::Object(data));
        &rest[used..]
    } else {
        return Err(Mismatch::new(
            "RFC 5424: expected STRUCTURED-DATA (- or [id …])",
        ));
    };
    let message = message.strip_prefix(' ').unwrap_or(message);
    draft.set_body(message.strip_prefix('\u{feff}').unwrap_or(message));
    Ok(())
}

/// `[id k="v" …][id2 …]`: one object per id, and bytes used.
fn structured_data(text: &str) -> Result<(Map<String, Value>, usize), Mismatch> {
    let bytes = text.as_bytes();
    let mut data = Map::new();
    let mut at = 0;
    let bad =
        |at: usize| Mismatch::new(format!("RFC 5424: malformed STRUCTURED-DATA at byte {at}"));
    while bytes.get(at) == Some(&b'[') {
        at += 1;
        let id_start = at;
        while at < bytes.len() && !matches!(bytes[at], b' ' | b']') {
            at += 1;
        }
        let id = text[id_start..at].to_owned();
        let mut params = Map::new();
        loop {
            match bytes.get(at) {
                Some(b']') => {
                    at += 1;
                    break;
                }
                Some(b' ') => at += 1,
                Some(_) => {
                    let name_start = at;
                    while at < bytes.len() && bytes[at] != b'=' {
                        at += 1;
                    }
                    let name = text[name_start..at].to_owned();
                    if bytes.get(at + 1) != Some(&b'"') {
                        return Err(bad(at));
                    }
                    at += 2;
                    let mut value = String::new();
                    loop {
                        match bytes.get(at) {
                            None => return Err(bad(at)),
                            Some(b'"') => {
                                at += 1;
                                break;
                            }
                            Some(b'\\')
                                if matches!(bytes.get(at + 1), Some(b'"' | b'\\' | b']')) =>
                            {
                                value.push(char::from(bytes[at + 1]));
                                at += 2;
                            }
                            Some(_) => {
                                let c = text[at..].chars().next().ok_or_else(|| bad(at))?;
                                value.push(c);
                                at += c.len_utf8();
                            }
                        }
                    }
                    params.insert(name, Value::String(value));
                }
                None => return Err(bad(at)),
            }
        }
        data.insert(id, Value::Object(params));
    }
    Ok((data, at))
}

fn rfc3164(text: &str, draft: &mut Draft) -> Result<(), Mismatch> {
    // `Nov 22 08:00:00`, or RFC 3339 as rsyslog's high-precision template
    // writes it; other stamps belong to other formats.
    let bytes = text.as_bytes();
    let syslog_shape = bytes.first().is_some_and(u8::is_ascii_alphabetic)
        || (bytes.len() > 19 && bytes[10] == b'T');
    // java.util.logging's `Nov 30, 2026 11:59:59 PM` is no syslog stamp.
    let (stamp, used) = timestamp::scan(bytes)
        .filter(|(stamp, used)| {
            syslog_shape && matches!(stamp, Stamp::Civil(_)) && !bytes[..*used].contains(&b',')
        })
        .ok_or_else(|| Mismatch::new("not syslog: no syslog timestamp at the start"))?;
    draft.stamp = Some(stamp);
    let rest = text[used..]
        .strip_prefix(' ')
        .ok_or_else(|| Mismatch::new("not syslog: no space after the timestamp"))?;
    let (first, after_first) = token(rest);
    // A level word or a `key=value` pair where the host would be is another
    // format (`2026-11-29T20:02:00Z ERROR boom`, a stamp then logfmt): a
    // syslog line names a plausible host.
    if super::leveled::level_word(first).is_some() || first.contains('=') {
        return Err(Mismatch::new(format!(
            "not syslog: {first:?} after the timestamp is a level or a key=value pair, not a host"
        )));
    }
    // `host tag[pid]: msg`, or `tag[pid]: msg` when the host is left out.
    let (hostname, tag_part, message) = if is_tag(first) {
        (None, first, after_first)
    } else {
        let (second, after_second) = token(after_first);
        if !is_tag(second) {
            // `host message…` with no tag: keep the host, the rest is the body.
            if first.is_empty() || after_first.is_empty() {
                return Err(Mismatch::new(
                    "not syslog: no host or tag after the timestamp",
                ));
            }
            draft.attribute("syslog.hostname", first);
            draft.set_body(after_first);
            return Ok(());
        }
        (Some(first), second, after_second)
    };
    if let Some(hostname) = hostname {
        draft.attribute("syslog.hostname", hostname);
    }
    let tag = tag_part.trim_end_matches(':');
    match tag.rfind('[') {
        Some(open) if tag.ends_with(']') => {
            draft.attribute("syslog.appname", &tag[..open]);
            draft.attribute("syslog.procid", &tag[open + 1..tag.len() - 1]);
        }
        _ => draft.attribute("syslog.appname", tag),
    }
    draft.set_body(message);
    Ok(())
}

/// `sshd[12]:`, `kernel:`, `sshd(pam_unix)[19939]:`.
fn is_tag(word: &str) -> bool {
    word.len() > 1
        && word.ends_with(':')
        && word[..word.len() - 1]
            .bytes()
            .all(|byte| !matches!(byte, b' ' | b'=' | b'"' | b'{'))
}
