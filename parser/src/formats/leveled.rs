//! Lines that are a stamp, a level and a message, in the many layouts
//! application loggers write:
//!
//! - log4j/logback/Hadoop: `2015-10-18 18:01:47,978 INFO [main] org.a.B: msg`
//! - Zookeeper: `2015-07-29 17:41:44,747 - INFO  [thread@774] - msg`
//! - Spark: `17/06/09 20:10:40 INFO executor.Backend: msg`
//! - HDFS: `081109 203615 148 INFO dfs.DataNode: msg` (pid before the level)
//! - logcat: `03-17 16:13:38.811  1702  2395 D WindowManager: msg`
//! - Windows CBS: `2016-09-28 04:30:30, Info   CBS    msg`
//! - Python: `2026-11-22 08:00:00,123 - name - WARNING - msg`
//! - logback: `2026-11-30 23:59:57.473 [main] WARN  c.e.Service - msg`
//! - PostgreSQL: `2026-11-29 20:21:26.026 UTC [2223] app@shop LOG:  msg`
//! - Ruby Logger (Rails): `I, [2026-11-30T23:59:57.952874 #3645]  INFO -- : msg`
//! - zap's console encoder: `2026-11-30T23:59:21.000Z\tINFO\tmain.go:49\tmsg\t{…}`
//!
//! plus Apache's error log and klog, which have their own shapes.

use super::{Draft, Mismatch, token};
use crate::severity;
use crate::timestamp::{self, Stamp};

/// A stamp at the start of `text` (optionally in `[…]`, where Ruby's
/// Logger adds ` #pid` before the `]`): the stamp, the pid if any, and the
/// rest of the line after it.
fn leading_stamp(text: &str) -> Option<(Stamp, Option<&str>, &str)> {
    let (bracketed, body) = match text.strip_prefix('[') {
        Some(inner) => (true, inner),
        None => (false, text),
    };
    let (stamp, used) = timestamp::scan(body.as_bytes())?;
    let mut rest = &body[used..];
    let mut pid = None;
    if bracketed {
        if let Some(after) = rest.strip_prefix(" #")
            && let Some(end) = after.find(']')
            && end > 0
            && after[..end].bytes().all(|byte| byte.is_ascii_digit())
        {
            pid = Some(&after[..end]);
            rest = &after[end..];
        }
        rest = rest.strip_prefix(']')?;
    }
    Some((stamp, pid, rest))
}

/// Separators loggers put between fields.
fn skip_separators(text: &str) -> &str {
    let mut rest = text;
    loop {
        let trimmed = rest.trim_start_matches(' ');
        let next = trimmed
            .strip_prefix("- ")
            .or_else(|| trimmed.strip_prefix("-- "))
            .or_else(|| trimmed.strip_prefix("| "))
            .or_else(|| trimmed.strip_prefix(", "))
            .or_else(|| trimmed.strip_prefix(": "));
        match next {
            Some(after) => rest = after,
            None => return trimmed,
        }
    }
}

/// A level token: a word such as `INFO`, `[warn]`, `<ERROR>` or `Warning:`,
/// or an upper-case logcat/glog letter. Returns the level as written.
pub(super) fn level_word(word: &str) -> Option<&str> {
    let bare = word
        .trim_end_matches(':')
        .trim_start_matches(['[', '<'])
        .trim_end_matches([']', '>']);
    // Laravel/Monolog's `production.ERROR:`: a channel, a dot, an
    // upper-case level.
    if let Some((channel, level)) = bare.rsplit_once('.')
        && !channel.is_empty()
        && word.ends_with(':')
        && level.len() > 1
        && level.bytes().all(|byte| byte.is_ascii_uppercase())
        && severity::from_word(level).is_some()
    {
        return Some(level);
    }
    if bare.is_empty() || bare.len() > 11 {
        return None;
    }
    // PostgreSQL's `LOG:` (its everyday level), only in that spelling.
    if bare == "LOG" && word.ends_with(':') {
        return Some(bare);
    }
    // Upper case or in brackets only: see `AMBIGUOUS_WORDS`.
    if loghaul_model::level::AMBIGUOUS_WORDS
        .iter()
        .any(|ambiguous| bare.eq_ignore_ascii_case(ambiguous))
        && !word.starts_with(['[', '<'])
        && !bare.bytes().all(|byte| byte.is_ascii_uppercase())
    {
        return None;
    }
    if bare.len() == 1 {
        let letter = bare.chars().next()?;
        return (letter.is_ascii_uppercase() && severity::from_letter(letter).is_some())
            .then_some(bare);
    }
    severity::from_word(bare).map(|_| bare)
}

/// After the stamp: optional pid/tid numbers, a level, an optional
/// `[thread]`, an optional `logger:`; fills the draft. `Err` when no level.
fn after_stamp(rest: &str, draft: &mut Draft) -> Result<(), Mismatch> {
    if let Some(fields) = rest.strip_prefix('\t') {
        return tab_separated(fields, draft);
    }
    let mut rest = skip_separators(rest);
    let mut numbers = 0;
    let mut logger_seen = false;
    let mut thread_seen = false;
    let mut user_seen = false;
    let level = loop {
        let (word, after) = token(rest);
        if let Some(level) = level_word(word) {
            rest = after;
            break level;
        }
        // logback's `[thread] LEVEL`: a thread in brackets before the level.
        if !thread_seen
            && word.starts_with('[')
            && !word[1..].starts_with(|c: char| c.is_ascii_digit())
            && let Some(end) = bracket_end(rest)
        {
            let (next, _) = token(skip_separators(&rest[end + 1..]));
            if level_word(next).is_some() {
                draft.attribute("thread.name", &rest[1..end]);
                thread_seen = true;
                rest = skip_separators(&rest[end + 1..]);
                continue;
            }
        }
        // PostgreSQL's `%u@%d` (user and database) before the level.
        if !user_seen
            && let Some((user, database)) = word.split_once('@')
            && !after.is_empty()
        {
            if user != "[unknown]" && !user.is_empty() {
                draft.attribute("db.user", user);
            }
            if database != "[unknown]" && !database.is_empty() {
                draft.attribute("db.name", database);
            }
            user_seen = true;
            rest = skip_separators(after);
            continue;
        }
        // Python's default `stamp - logger - LEVEL - message`: a logger
        // before the level.
        if !logger_seen && numbers == 0 && is_logger(word) && after.starts_with("- ") {
            draft.attribute("logger", word);
            logger_seen = true;
            rest = skip_separators(after);
            continue;
        }
        // PostgreSQL's `[2223]`: the process id in brackets.
        let word = word
            .strip_prefix('[')
            .and_then(|inner| inner.strip_suffix(']'))
            .unwrap_or(word);
        let number = !word.is_empty() && word.bytes().all(|byte| byte.is_ascii_digit());
        if number && numbers < 2 {
            draft.attribute(
                if numbers == 0 {
                    "process.pid"
                } else {
                    "thread.id"
                },
                word,
            );
            numbers += 1;
            rest = skip_separators(after);
            continue;
        }
        return Err(Mismatch::new("no level after the timestamp"));
    };
    draft.set_level(level);
    rest = skip_separators(rest);
    if rest.starts_with('[')
        && let Some(end) = bracket_end(rest)
    {
        draft.attribute("thread.name", &rest[1..end]);
        rest = skip_separators(&rest[end + 1..]);
    }
    let (word, after) = token(rest);
    if let Some(logger) = word.strip_suffix(':').filter(|logger| is_logger(logger)) {
        draft.attribute("logger", logger);
        rest = after;
    } else if is_logger(word) && (after.starts_with("- ") || after.starts_with(": ")) {
        draft.attribute("logger", word);
        rest = skip_separators(after);
    }
    draft.set_body(rest);
    Ok(())
}

/// zap's console encoder: level, caller, message and a JSON object of
/// fields, separated by tabs.
fn tab_separated(fields: &str, draft: &mut Draft) -> Result<(), Mismatch> {
    let mut parts = fields.splitn(4, '\t');
    let level = parts
        .next()
        .and_then(|word| level_word(word.trim()))
        .ok_or_else(|| Mismatch::new("no level after the timestamp and a tab"))?;
    draft.set_level(level);
    let mut rest: Vec<&str> = parts.collect();
    // The caller, `path/file.go:49`, when present.
    if rest.len() > 1 && is_code_location(rest[0]) {
        draft.attribute("code.location", rest[0]);
        rest.remove(0);
    }
    draft.set_body(rest.join("\t"));
    Ok(())
}

fn is_code_location(word: &str) -> bool {
    word.rsplit_once(':').is_some_and(|(file, line)| {
        file.contains('.') && !line.is_empty() && line.bytes().all(|byte| byte.is_ascii_digit())
    })
}

/// The index of the `]` that closes the `[` at 0, counting nested brackets.
fn bracket_end(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (index, byte) in text.bytes().enumerate() {
        match byte {
            b'[' => depth += 1,
            b']' => {
                depth -= 1;
                if depth == 0 {
                    return Some(index);
                }
            }
            _ => {}
        }
    }
    None
}

fn is_logger(word: &str) -> bool {
    !word.is_empty()
        && word.bytes().all(|byte| {
            byte.is_ascii_alphanumeric()
                || matches!(
                    byte,
                    b'.' | b'$' | b'_' | b'-' | b'/' | b'(' | b')' | b'@' | b'#'
                )
        })
}

pub(super) fn log4j(line: &str, draft: &mut Draft) -> Result<(), Mismatch> {
    let (stamp, pid, rest) =
        leading_stamp(line).ok_or_else(|| Mismatch::new("not log4j: no timestamp at the start"))?;
    draft.stamp = Some(stamp);
    if let Some(pid) = pid {
        draft.attribute("process.pid", pid);
    }
    after_stamp(rest, draft).map_err(|mismatch| Mismatch::new(format!("not log4j: {mismatch}")))
}

/// Best effort: a stamp at one of the first four tokens, then whatever of a
/// level, thread and logger follows it. The body is always the whole line,
/// so nothing around the stamp is lost.
pub(super) fn plain(line: &str, draft: &mut Draft) {
    let mut rest = line;
    for _ in 0..4 {
        if let Some((stamp, pid, after)) = leading_stamp(rest) {
            draft.stamp = Some(stamp);
            if let Some(level) = redis_mark(line, after) {
                draft.set_level(level);
                break;
            }
            if let Some(level) = csv_level(after) {
                draft.set_level(level);
                break;
            }
            if after_stamp(after, draft).is_ok() {
                if let Some(pid) = pid {
                    draft.attribute("process.pid", pid);
                }
            } else {
                draft.clear_attributes();
                match next_line_level(after) {
                    Some(level) => draft.set_level(level),
                    None => draft.clear_level(),
                }
                if draft.level().is_none() {
                    super::access::request_and_status(after, draft);
                }
            }
            break;
        }
        let (_, after) = token(rest);
        if after.is_empty() {
            break;
        }
        rest = after;
    }
    if draft.stamp.is_none() {
        // No time: still take a level word that opens the line, as Python's
        // basicConfig writes it too (`WARNING:app.db:msg`).
        let (word, _) = token(line.trim_start());
        let level = level_word(word).or_else(|| {
            let (head, _) = word.split_once(':')?;
            (head.bytes().all(|byte| byte.is_ascii_uppercase()))
                .then(|| level_word(head))
                .flatten()
        });
        if let Some(level) = level.filter(|level| level.len() > 1) {
            draft.set_level(level);
        }
    }
    draft.clear_body();
}

/// PostgreSQL's csvlog: after the stamp, comma-separated fields, one of
/// them (the 12th) an upper-case level (`LOG`, `ERROR`, `DEBUG1`…).
fn csv_level(after_stamp: &str) -> Option<&str> {
    let fields = after_stamp.strip_prefix(',')?;
    fields.split(',').take(16).find(|field| {
        field.len() > 1
            && field
                .bytes()
                .all(|byte| byte.is_ascii_uppercase() || byte.is_ascii_digit())
            && severity::from_word(field).is_some()
    })
}

/// java.util.logging's two lines: the stamp, class and method on the
/// first; `LEVEL: message` on the second.
fn next_line_level(after_stamp: &str) -> Option<&str> {
    let (_, second) = after_stamp.split_once('\n')?;
    let (word, _) = second.split_once(": ")?;
    (word.len() > 1 && word.bytes().all(|byte| byte.is_ascii_uppercase()))
        .then(|| level_word(word))
        .flatten()
}

/// Redis: `2242:M 29 Nov 2026 20:16:28.146 # WARNING …`, `pid:role` then
/// the stamp then a mark that is its level: `.` debug, `-` verbose, `*`
/// notice, `#` warning. The level is given the name Redis uses for it.
fn redis_mark(line: &str, after_stamp: &str) -> Option<&'static str> {
    let (first, _) = token(line);
    let (pid, role) = first.split_once(':')?;
    let redis = !pid.is_empty()
        && pid.bytes().all(|byte| byte.is_ascii_digit())
        && matches!(role, "M" | "S" | "C" | "X");
    if !redis {
        return None;
    }
    let (mark, _) = token(after_stamp.trim_start());
    Some(match mark {
        "." => "DEBUG",
        "-" => "VERBOSE",
        "*" => "NOTICE",
        "#" => "WARNING",
        _ => return None,
    })
}

/// Apache httpd's error log: `[Sun Dec 04 04:47:44 2005] [error] msg`, and
/// 2.4's `[Wed Oct 11 14:32:52.123 2000] [core:error] [pid 35708:tid 4328] [client 1.2.3.4:5] AH00124: msg`.
pub(super) fn apache_error(line: &str, draft: &mut Draft) -> Result<(), Mismatch> {
    let not = |what: &str| Mismatch::new(format!("not an Apache error log: {what}"));
    let inner = line
        .strip_prefix('[')
        .ok_or_else(|| not("no [time] at the start"))?;
    let (stamp, used) = timestamp::scan(inner.as_bytes())
        .filter(|_| {
            inner
                .as_bytes()
                .first()
                .is_some_and(u8::is_ascii_alphabetic)
        })
        .ok_or_else(|| not("the [time] is not a ctime stamp"))?;
    let mut rest = inner[used..]
        .strip_prefix("] [")
        .ok_or_else(|| not("expected ] [level]"))?;
    let close = rest.find(']').ok_or_else(|| not("[level is not closed"))?;
    let level_field = &rest[..close];
    let (module, level) = match level_field.split_once(':') {
        Some((module, level)) => (Some(module), level),
        None => (None, level_field),
    };
    if severity::from_word(level).is_none() {
        return Err(not("the level is not a level"));
    }
    draft.stamp = Some(stamp);
    draft.set_level(level);
    if let Some(module) = module {
        draft.attribute("apache.module", module);
    }
    rest = rest[close + 1..].trim_start_matches(' ');
    while let Some(field) = rest.strip_prefix('[') {
        let Some(close) = field.find(']') else { break };
        let content = &field[..close];
        if let Some(ids) = content.strip_prefix("pid ") {
            let (pid, tid) = ids.split_once(":tid ").unwrap_or((ids, ""));
            draft.attribute("process.pid", pid);
            if !tid.is_empty() {
                draft.attribute("thread.id", tid);
            }
        } else if let Some(client) = content.strip_prefix("client ") {
            draft.attribute("client.address", client);
        } else {
            break;
        }
        rest = field[close + 1..].trim_start_matches(' ');
    }
    draft.set_body(rest);
    Ok(())
}

/// klog: `I1122 08:00:00.123456    1234 server.go:42] msg`.
pub(super) fn klog(line: &str, draft: &mut Draft) -> Result<(), Mismatch> {
    let not = |what: &str| Mismatch::new(format!("not klog: {what}"));
    let bytes = line.as_bytes();
    let letter = *bytes.first().ok_or_else(|| not("empty line"))?;
    if !matches!(letter, b'I' | b'W' | b'E' | b'F' | b'D') {
        return Err(not("no I, W, E or F at the start"));
    }
    if bytes.len() < 5 || !bytes[1..5].iter().all(u8::is_ascii_digit) {
        return Err(not("no MMDD after the level letter"));
    }
    // `MMDD hh:mm:ss.uuuuuu` reads as logcat's `MM-DD hh:mm:ss` without the dash.
    let tail = &bytes[3..bytes.len().min(30)];
    let mut stamp_text = [0u8; 30];
    stamp_text[..2].copy_from_slice(&bytes[1..3]);
    stamp_text[2] = b'-';
    stamp_text[3..3 + tail.len()].copy_from_slice(tail);
    let (stamp, used) =
        timestamp::scan(&stamp_text[..3 + tail.len()]).ok_or_else(|| not("no time after MMDD"))?;
    let rest = line[used..].trim_start_matches(' ');
    let (thread, rest) = token(rest);
    if thread.is_empty() || !thread.bytes().all(|byte| byte.is_ascii_digit()) {
        return Err(not("no thread id after the time"));
    }
    let (location, message) = rest
        .split_once("] ")
        .or_else(|| rest.strip_suffix(']').map(|location| (location, "")))
        .ok_or_else(|| not("no file:line] before the message"))?;
    draft.stamp = Some(stamp);
    draft.set_level(&line[..1]);
    draft.attribute("thread.id", thread);
    draft.attribute("code.location", location);
    draft.set_body(message);
    Ok(())
}
