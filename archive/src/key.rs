use crate::ArchiveError;

/// Refuses keys that are empty, absolute, contain empty, `.` or `..`
/// segments, backslashes or control characters, or are over 1024 bytes.
pub fn validate_key(key: &str) -> Result<(), ArchiveError> {
    let invalid = |reason| {
        Err(ArchiveError::InvalidKey {
            key: key.to_owned(),
            reason,
        })
    };
    if key.is_empty() {
        return invalid("empty");
    }
    if key.len() > 1024 {
        return invalid("longer than 1024 bytes");
    }
    if key.starts_with('/') {
        return invalid("absolute");
    }
    if key.chars().any(|c| c.is_control() || c == '\\') {
        return invalid("contains a control character or backslash");
    }
    if key
        .split('/')
        .any(|segment| segment.is_empty() || segment == "." || segment == "..")
    {
        return invalid("contains an empty, '.' or '..' segment");
    }
    if key
        .split('/')
        .next()
        .is_some_and(|first| first.starts_with(".loghaul-"))
    {
        return invalid("starts with a reserved .loghaul- segment");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_keys_are_refused() {
        for key in [
            "",
            "/etc/passwd",
            "a/../b",
            "../x",
            "a//b",
            "a/./b",
            "a\\b",
            "a\nb",
            ".loghaul-meta/x",
            "a/",
        ] {
            assert!(validate_key(key).is_err(), "{key:?} should be refused");
        }
        for key in ["web-1/2026/11/22/app.log/x.log.gz", "a", "a.b/c..d"] {
            assert!(validate_key(key).is_ok(), "{key:?} should be accepted");
        }
    }
}
