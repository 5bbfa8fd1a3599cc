//! `${VAR}` and `${VAR:-default}` in the config text, replaced before parsing.
//!
//! Substitution happens on the text, as Vector and Quickwit do, so a variable may
//! stand for a number or a boolean as well as a string. Lines that are only a
//! comment are left alone, `$${` writes a literal `${`, and a value may not
//! contain a newline (that would shift every position after it). The
//! [`OffsetMap`] turns positions in the substituted text back into positions in
//! the file, so errors point at what the operator wrote.

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

/// Substitutes variables using `lookup`.
pub(crate) fn interpolate(
    text: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<(String, OffsetMap), InterpolationError> {
    let mut out = String::with_capacity(text.len());
    let mut map = OffsetMap::default();
    let mut line_start = 0;
    for line in text.split_inclusive('\n') {
        if line.trim_start().starts_with('#') {
            out.push_str(line);
            line_start += line.len();
            continue;
        }
        let mut cursor = 0;
        while let Some(found) = line[cursor..].find('$') {
            let dollar = cursor + found;
            out.push_str(&line[cursor..dollar]);
            let rest = &line[dollar..];
            if rest.starts_with("$${") {
                let new_start = out.len();
                out.push_str("${");
                map.spans.push((
                    new_start,
                    out.len(),
                    line_start + dollar,
                    line_start + dollar + 3,
                ));
                cursor = dollar + 3;
                continue;
            }
            if !rest.starts_with("${") {
                out.push('$');
                cursor = dollar + 1;
                continue;
            }
            let error_here = |message: String| InterpolationError {
                offset: line_start + dollar,
                message,
            };
            let close = rest.find('}').ok_or_else(|| {
                error_here("unterminated `${`: expected `}` on the same line".into())
            })?;
            let inner = &rest[2..close];
            let (name, default_opt) = match inner.split_once(":-") {
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
            let value = match (lookup(name), default_opt) {
                (Some(value), _) => value,
                (None, Some(default)) => default.to_owned(),
                (None, None) => {
                    return Err(error_here(format!(
                        "environment variable {name} is not set (write ${{{name}:-default}} to give a default)"
                    )));
                }
            };
            if value.contains('\n') {
                return Err(error_here(format!(
                    "the value of {name} contains a newline"
                )));
            }
            let new_start = out.len();
            out.push_str(&value);
            map.spans.push((
                new_start,
                out.len(),
                line_start + dollar,
                line_start + dollar + close + 1,
            ));
            cursor = dollar + close + 1;
        }
        out.push_str(&line[cursor..]);
        line_start += line.len();
    }
    Ok((out, map))
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
