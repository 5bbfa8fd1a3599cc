//! Values that must never be printed: tokens, keys, passwords inside URLs.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// What secrets look like when printed.
pub const REDACTED: &str = "***";

/// A secret string. `Debug` and `Serialize` print [`REDACTED`] (it has no
/// `Display`, so it cannot be formatted into a message by accident);
/// [`Secret::expose`] gives the value to the code that needs it.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The value itself.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(REDACTED)
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(REDACTED)
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Secret)
    }
}

/// A URL that may carry a password (`amqp://user:pass@host/vhost`). Printing
/// shows it with the password replaced by [`REDACTED`].
#[derive(Clone, PartialEq, Eq)]
pub struct SecretUrl(String);

impl SecretUrl {
    /// Wraps a URL.
    pub fn new(value: impl Into<String>) -> Self {
        SecretUrl(value.into())
    }

    /// The URL with its password.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The URL with its password replaced.
    pub fn redacted(&self) -> String {
        redact_url(&self.0)
    }
}

/// Keys whose values are secrets wherever they appear.
const SECRET_KEYS: [&str; 5] = [
    "token",
    "secret_access_key",
    "access_key_id",
    "password",
    "session_token",
];

/// Parts of key names that mark a secret even in a key loghaul does not
/// know: an error about a misspelt `access_key` or `api_tokn` quotes its
/// line, and that line must not show the value.
const SECRET_PARTS: [&str; 6] = ["token", "tokn", "secret", "password", "passwd", "key"];

/// Whether `key` (`indexer.token`, or a line's `token`) names a secret: a
/// known secret key, or any key with a part such as `key`, `secret` or
/// `password` in its name (`access_key`, `api_secret`).
pub(crate) fn is_secret_key(key: &str) -> bool {
    let last = key
        .trim()
        .trim_matches('"')
        .rsplit('.')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    SECRET_KEYS.contains(&last.as_str())
        || last
            .split(['_', '-'])
            .any(|part| SECRET_PARTS.contains(&part))
}

/// A line of a config file as an error may quote it: the value of a secret
/// key is `***`, and so is the password of every URL in a quoted string.
pub(crate) fn redact_source_line(line: &str) -> String {
    let secret = line
        .split_once('=')
        .is_some_and(|(key, _)| is_secret_key(key));
    redact_quoted(line, secret)
}

/// Every `"…"` of `text` with its URL passwords replaced, or entirely when
/// `all` (the value of a secret key), for error messages that quote values.
pub(crate) fn redact_quoted(text: &str, all: bool) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('"') {
        out.push_str(&rest[..=open]);
        rest = &rest[open + 1..];
        let close = rest.find('"').unwrap_or(rest.len());
        if all {
            out.push_str(REDACTED);
        } else {
            out.push_str(&redact_url(&rest[..close]));
        }
        rest = &rest[close..];
        if let Some(after) = rest.strip_prefix('"') {
            out.push('"');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// Replaces the password of a URL, and anything that looks like one in a
/// string that does not parse as a URL.
pub fn redact_url(text: &str) -> String {
    match url::Url::parse(text) {
        // A URL without a password is left exactly as written (parsing
        // would normalise it, adding a `/` to `http://host`).
        Ok(parsed) if parsed.password().is_none() => text.to_owned(),
        Ok(mut parsed) => {
            // Only fails for URLs that cannot have credentials at all.
            let _ = parsed.set_password(Some(REDACTED));
            parsed.to_string()
        }
        Err(_) => match (text.find("://"), text.rfind('@')) {
            (Some(scheme_end), Some(at)) if at > scheme_end => {
                format!("{}{REDACTED}@{}", &text[..scheme_end + 3], &text[at + 1..])
            }
            _ => text.to_owned(),
        },
    }
}

impl fmt::Debug for SecretUrl {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{:?}", self.redacted())
    }
}

impl fmt::Display for SecretUrl {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.redacted())
    }
}

impl Serialize for SecretUrl {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.redacted())
    }
}

impl<'de> Deserialize<'de> for SecretUrl {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(SecretUrl)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_in_urls_are_redacted() {
        assert_eq!(
            redact_url("amqp://guest:hunter2@127.0.0.1:5672/%2f"),
            "amqp://guest:***@127.0.0.1:5672/%2f"
        );
        assert_eq!(
            redact_url("amqp://127.0.0.1:5672/%2f"),
            "amqp://127.0.0.1:5672/%2f"
        );
        assert_eq!(redact_url("amqp://u:p@[bad"), "amqp://***@[bad");
    }

    #[test]
    fn secrets_never_print() {
        let secret = Secret::new("hunter2");
        assert_eq!(format!("{secret:?}"), "***");
        let url = SecretUrl::new("amqps://u:hunter2@h/v");
        assert!(!format!("{url:?} {url}").contains("hunter2"));
        assert_eq!(url.expose(), "amqps://u:hunter2@h/v");
    }
}
