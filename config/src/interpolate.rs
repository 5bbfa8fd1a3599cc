//! `${VAR}` and `${VAR:-default}` in the config text, replaced before parsing.
//!
//! Substitution happens on the text, as Vector and Quickwit do, so a variable may
//! stand for a number or a boolean as well as a string, but a value is always
//! taken literally: the scanner knows whether each `${` stands in a `"…"`
//! string (the value is escaped for it), a `'…'` string (a value with a quote
//! or a control character is refused) or outside strings (only a plain
//! number, boolean or date is accepted). So `a"b`, `\\u0041` or `x", admin =
//! "y` stay the strings they are, never new keys. Comments are left alone and
//! `$${` writes a literal `${`. The [`OffsetMap`] turns positions in the
//! substituted text back into positions in the file, so errors point at what
//! the operator wrote.

/// Maps byte offsets in the substituted text to offsets in the original.
#[derive(Debug, Default)]
pub(crate) struct OffsetMap {
    /// (start in substituted text, end in substituted text, start in original,
    /// end in original) for each substitution, in order.
    spans: Vec<(usize, usize, usize, usize)>,
}

impl OffsetMap {
    pub(crate) fn to_original(&self, offset: usize) -> usize {
        let mut shift: isize = 0;
        for &(new_start, new_end, original_start, original_end) in &self.spans {
            if offset < new_start {
                break;
            }
            if offset < new_end {
                return original_start;
            }
            shift = original_end as isize - new_end as isize;
        }
        (offset as isize + shift).max(0) as usize
    }
}

/// An interpolation failure at a byte offset of the original text.
#[derive(Debug)]
pub(crate) struct InterpolationError {
    pub(crate) offset: usize,
    pub(crate) message: String,
}

/// Where in the TOML text a `${…}` stands, which decides how its value is
/// written there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Context {
    /// Outside any string: a number, a boolean or a date, nothing else.
    Bare,
    /// Inside `"…"` or `"""…"""`: escaped, so any value stays one string.
    Basic,
    /// Inside `'…'` or `'''…'''`: no escapes exist, so a value holding a
    /// quote or a control character is refused.
    Literal,
}

/// The scanner's state between characters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Normal,
    Comment,
    Basic,
    MultiBasic,
    Literal,
    MultiLiteral,
}

/// Substitutes variables using `lookup`. Each value is taken literally: in
/// a basic string it is escaped, in a literal string it must hold no quote,
/// and outside strings it must be a plain scalar (`8080`, `true`), so no
/// value can add keys, end a string or change the file's structure.
/// `${…}` in comments is left alone.
pub(crate) fn interpolate(
    text: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<(String, OffsetMap), InterpolationError> {
    let mut out = String::with_capacity(text.len());
    let mut map = OffsetMap::default();
    let bytes = text.as_bytes();
    let mut state = State::Normal;
    let mut copied = 0;
    let mut at = 0;
    while at < bytes.len() {
        // Only ASCII bytes are matched below, so `at` is on a character
        // boundary wherever the text is sliced.
        let ahead = &bytes[at..];
        let byte = bytes[at];
        state = match (state, byte) {
            (State::Comment, b'\n') => State::Normal,
            (State::Comment, _) => State::Comment,
            (State::Normal, b'#') => State::Comment,
            (State::Normal, b'"') if ahead.starts_with(b"\"\"\"") => {
                at += 3;
                state = State::MultiBasic;
                continue;
            }
            (State::Normal, b'"') => State::Basic,
            (State::Normal, b'\'') if ahead.starts_with(b"'''") => {
                at += 3;
                state = State::MultiLiteral;
                continue;
            }
            (State::Normal, b'\'') => State::Literal,
            (State::Basic | State::MultiBasic, b'\\') => {
                // An escape: the character after the backslash is part of it.
                let next = text[at + 1..].chars().next().map_or(0, char::len_utf8);
                at += 1 + next;
                continue;
            }
            (State::Basic, b'"' | b'\n') | (State::Literal, b'\'' | b'\n') => State::Normal,
            (State::MultiBasic, b'"') if ahead.starts_with(b"\"\"\"") => {
                at += 3;
                state = State::Normal;
                continue;
            }
            (State::MultiLiteral, b'\'') if ahead.starts_with(b"'''") => {
                at += 3;
                state = State::Normal;
                continue;
            }
            (current, b'$') => {
                let context = match current {
                    State::Basic | State::MultiBasic => Context::Basic,
                    State::Literal | State::MultiLiteral => Context::Literal,
                    _ => Context::Bare,
                };
                if ahead.starts_with(b"$${") {
                    out.push_str(&text[copied..at]);
                    let new_start = out.len();
                    out.push_str("${");
                    map.spans.push((new_start, out.len(), at, at + 3));
                    at += 3;
                    copied = at;
                    continue;
                }
                if ahead.starts_with(b"${") {
                    let ((name, value), used) = variable(text, at, lookup)?;
                    let written =
                        write_value(&value, context).map_err(|message| InterpolationError {
                            offset: at,
                            message: format!("the value of {name}: {message}"),
                        })?;
                    out.push_str(&text[copied..at]);
                    let new_start = out.len();
                    out.push_str(&written);
                    map.spans.push((new_start, out.len(), at, at + used));
                    at += used;
                    copied = at;
                    continue;
                }
                current
            }
            (current, _) => current,
        };
        at += 1;
    }
    out.push_str(&text[copied..]);
    Ok((out, map))
}

/// The `${NAME}` or `${NAME:-default}` at `at`: (name, value) and its length.
fn variable(
    text: &str,
    at: usize,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<((String, String), usize), InterpolationError> {
    let error_here = |message: String| InterpolationError {
        offset: at,
        message,
    };
    let rest = &text[at..];
    let line = rest.split('\n').next().unwrap_or(rest);
    let close = line
        .find('}')
        .ok_or_else(|| error_here("unterminated `${`: expected `}` on the same line".into()))?;
    let inner = &rest[2..close];
    let (name, default) = match inner.split_once(":-") {
        Some((name, default)) => (name, Some(default)),
        None => (inner, None),
    };
    if name.is_empty()
        || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        || name.starts_with(|c: char| c.is_ascii_digit())
    {
        return Err(error_here(format!(
            "invalid variable name {name:?} in `${{{inner}}}`: use letters, digits and _"
        )));
    }
    let value = match (lookup(name), default) {
        (Some(value), _) => value,
        (None, Some(default)) => default.to_owned(),
        (None, None) => {
            return Err(error_here(format!(
                "environment variable {name} is not set (write ${{{name}:-default}} to give a default)"
            )));
        }
    };
    Ok(((name.to_owned(), value), close + 1))
}

/// `value` as it must be written at a place of `context` to be read back
/// as exactly itself.
fn write_value(value: &str, context: Context) -> Result<String, String> {
    match context {
        Context::Basic => {
            let mut out = String::with_capacity(value.len());
            for c in value.chars() {
                match c {
                    '"' => out.push_str("\\\""),
                    '\\' => out.push_str("\\\\"),
                    '\n' => out.push_str("\\n"),
                    '\t' => out.push_str("\\t"),
                    '\r' => out.push_str("\\r"),
                    c if c.is_control() => out.push_str(&format!("\\u{:04X}", u32::from(c))),
                    c => out.push(c),
                }
            }
            Ok(out)
        }
        Context::Literal => {
            if value.contains('\'') || value.chars().any(|c| c.is_control() && c != '\t') {
                return Err(
                    "it holds a quote or a control character, which a '...' string cannot: write it in \"...\""
                        .into(),
                );
            }
            Ok(value.to_owned())
        }
        Context::Bare => {
            let plain = !value.is_empty()
                && value
                    .bytes()
                    .all(|byte| byte.is_ascii_alphanumeric() || b"_.:+-".contains(&byte));
            if !plain {
                return Err(format!(
                    "{value:?} is not a plain number, boolean or date, and outside quotes it would be TOML syntax: write \"${{...}}\" in quotes for a string"
                ));
            }
            Ok(value.to_owned())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "HOST" => Some("web-1".into()),
            "LONG" => Some("a-much-longer-value".into()),
            _ => None,
        }
    }

    #[test]
    fn substitutes_values_and_defaults() {
        let (out, _) = interpolate(
            "a = \"${HOST}\"\nb = ${MISSING:-7}\nc = \"$${HOST}\" # $x\n",
            &env,
        )
        .expect("interpolates");
        assert_eq!(out, "a = \"web-1\"\nb = 7\nc = \"${HOST}\" # $x\n");
    }

    #[test]
    fn comment_lines_are_left_alone() {
        let (out, _) = interpolate("  # ${NOT_SET}\n", &env).expect("comments are skipped");
        assert_eq!(out, "  # ${NOT_SET}\n");
    }

    #[test]
    fn missing_variable_points_at_the_dollar() {
        let error = interpolate("a = 1\nb = \"${NOPE}\"\n", &env).expect_err("NOPE is unset");
        assert_eq!(error.offset, 11);
        assert!(
            error.message.contains("NOPE is not set"),
            "{}",
            error.message
        );
    }

    #[test]
    fn bad_names_and_unterminated_are_errors() {
        assert!(interpolate("a = \"${}\"", &env).is_err());
        assert!(interpolate("a = \"${9X}\"", &env).is_err());
        assert!(interpolate("a = \"${HOST\"", &env).is_err());
    }

    fn with(name: &str, value: &str) -> impl Fn(&str) -> Option<String> {
        let (name, value) = (name.to_owned(), value.to_owned());
        move |asked: &str| (asked == name).then(|| value.clone())
    }

    fn parsed(text: &str, lookup: &dyn Fn(&str) -> Option<String>) -> toml::Table {
        let (out, _) = interpolate(text, lookup).expect("interpolates");
        out.parse::<toml::Table>().expect("still TOML")
    }

    /// Whatever the value, it is the one string it stands for.
    #[test]
    fn values_are_taken_literally_in_strings() {
        for value in [
            "a\"b",
            "back\\slash",
            "ab\\u0041cd",
            "x\", admin = \"yes",
            "two\nlines",
            "tab\tand\u{1}control",
            "$${not a variable}",
            "\"\"\"",
            "é ü 雪",
        ] {
            let lookup = with("V", value);
            let table = parsed("a = \"${V}\"\nb = { c = \"${V}\" }\n", &lookup);
            assert_eq!(table["a"].as_str(), Some(value), "{value:?}");
            assert_eq!(table["b"]["c"].as_str(), Some(value), "{value:?}");
            assert_eq!(table.len(), 2, "no key injected by {value:?}");
            let table = parsed("m = \"\"\"\nx ${V} y\"\"\"\n", &lookup);
            assert_eq!(
                table["m"].as_str(),
                Some(format!("x {value} y").as_str()),
                "{value:?}"
            );
        }
    }

    #[test]
    fn literal_strings_refuse_what_they_cannot_hold() {
        let table = parsed("a = '${V}'\n", &with("V", "C:\\path \"x\""));
        assert_eq!(table["a"].as_str(), Some("C:\\path \"x\""));
        for value in ["it's", "new\nline"] {
            let error = interpolate("a = '${V}'\n", &with("V", value)).expect_err(value);
            assert_eq!(error.offset, 5);
            assert!(
                error.message.contains("the value of V"),
                "{}",
                error.message
            );
        }
    }

    #[test]
    fn outside_strings_only_plain_scalars() {
        let table = parsed(
            "port = ${P}\non = ${B}\nat = ${D}\n",
            &|name: &str| match name {
                "P" => Some("8080".into()),
                "B" => Some("true".into()),
                "D" => Some("2026-11-30T10:00:00Z".into()),
                _ => None,
            },
        );
        assert_eq!(table["port"].as_integer(), Some(8080));
        assert_eq!(table["on"].as_bool(), Some(true));
        assert!(table["at"].is_datetime());
        for value in ["\"x\"", "1\nadmin = true", "{ a = 1 }", "[1]", "1 # c", ""] {
            let error = interpolate("port = ${P}\n", &with("P", value)).expect_err(value);
            assert!(error.message.contains("in quotes"), "{}", error.message);
        }
    }

    #[test]
    fn comments_and_escapes_are_read_as_toml_reads_them() {
        // A `${` after `#` is a comment's; an escaped quote does not end
        // the string, so the `${` after it is still inside.
        let (out, _) = interpolate(
            "a = \"x\\\" ${V}\" # ${NOT_SET}\n# ${NOT_SET}\nb = 'q' # '${NOT_SET}\n",
            &with("V", "\""),
        )
        .expect("interpolates");
        assert_eq!(
            out,
            "a = \"x\\\" \\\"\" # ${NOT_SET}\n# ${NOT_SET}\nb = 'q' # '${NOT_SET}\n"
        );
    }

    #[test]
    fn offsets_map_back_to_the_original() {
        let original = "a = \"${LONG}\" x\nb = 1";
        let (out, map) = interpolate(original, &env).expect("interpolates");
        let x_in_out = out.find(" x").expect("x present") + 1;
        assert_eq!(
            map.to_original(x_in_out),
            original.find(" x").expect("x") + 1
        );
        let b_in_out = out.find("b =").expect("b present");
        assert_eq!(map.to_original(b_in_out), original.find("b =").expect("b"));
        // Inside a substituted value, the position is the `${`.
        assert_eq!(
            map.to_original(out.find("much").expect("value")),
            original.find("${").expect("$")
        );
    }
}
