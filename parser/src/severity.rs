//! Severity in the OpenTelemetry log data model, from whatever a log wrote.
//!
//! OpenTelemetry numbers severities 1–24 in six ranges: TRACE 1–4, DEBUG
//! 5–8, INFO 9–12, WARN 13–16, ERROR 17–20, FATAL 21–24; 0 is unspecified.
//! Each range's first number is its plain level. Sources spell levels many
//! ways; this module maps them:
//!
//! - words, in any case: `trace`, `debug`, `info`, `notice`, `warn`,
//!   `warning`, `error`, `err`, `critical`, `crit`, `alert`, `emerg`,
//!   `emergency`, `fatal`, `panic`, `severe`, `fine`, `finest`, `verbose`…;
//! - single letters, as Android and klog write them: `V D I W E F`, plus `A`
//!   (assert) and `S` (silent);
//! - syslog priorities: `<PRI>` where severity = PRI mod 8;
//! - HTTP status classes, for access logs: 1xx–3xx info, 4xx warn, 5xx error.

use loghaul_model::Severity;

pub use loghaul_model::level::{from_letter, from_word, number};

/// The severity number of a syslog priority (`<PRI>`'s value).
pub fn from_syslog_priority(priority: u16) -> u8 {
    match priority % 8 {
        0 => number::EMERGENCY,
        1 => number::ALERT,
        2 => number::CRITICAL,
        3 => number::ERROR,
        4 => number::WARN,
        5 => number::NOTICE,
        6 => number::INFO,
        _ => number::DEBUG,
    }
}

/// The severity of an HTTP status, for access logs.
pub fn from_http_status(status: u16) -> u8 {
    match status {
        500..=599 => number::ERROR,
        400..=499 => number::WARN,
        _ => number::INFO,
    }
}

/// OpenTelemetry's short name of a severity number (`INFO`, `WARN2`…).
pub fn short_name(number: u8) -> &'static str {
    const NAMES: [&str; 25] = [
        "UNSPECIFIED",
        "TRACE",
        "TRACE2",
        "TRACE3",
        "TRACE4",
        "DEBUG",
        "DEBUG2",
        "DEBUG3",
        "DEBUG4",
        "INFO",
        "INFO2",
        "INFO3",
        "INFO4",
        "WARN",
        "WARN2",
        "WARN3",
        "WARN4",
        "ERROR",
        "ERROR2",
        "ERROR3",
        "ERROR4",
        "FATAL",
        "FATAL2",
        "FATAL3",
        "FATAL4",
    ];
    NAMES
        .get(usize::from(number))
        .copied()
        .unwrap_or("UNSPECIFIED")
}

/// A [`Severity`] keeping the text as written beside its number; an
/// unrecognised text keeps its text with number 0.
pub fn severity_of(text: &str) -> Severity {
    Severity {
        text: Some(text.to_owned()),
        number: from_word(text).unwrap_or(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_in_any_case_and_decoration() {
        for (word, expected) in [
            ("INFO", number::INFO),
            ("info", number::INFO),
            ("[WARN]", number::WARN),
            ("Warning:", number::WARN),
            ("ERROR", number::ERROR),
            ("err", number::ERROR),
            ("SEVERE", number::ERROR),
            ("crit", number::CRITICAL),
            ("FATAL", number::FATAL),
            ("panic", number::FATAL),
            ("emerg", number::EMERGENCY),
            ("notice", number::NOTICE),
            ("DEBUG", number::DEBUG),
            ("TRACE", number::TRACE),
            ("FINEST", number::TRACE),
        ] {
            assert_eq!(from_word(word), Some(expected), "{word}");
        }
        assert_eq!(from_word("banana"), None);
        assert_eq!(from_word(""), None);
    }

    #[test]
    fn android_and_klog_letters() {
        for (letter, expected) in [
            ('V', 1),
            ('D', 5),
            ('I', 9),
            ('W', 13),
            ('E', 17),
            ('F', 21),
            ('A', 21),
        ] {
            assert_eq!(from_letter(letter), Some(expected), "{letter}");
            assert_eq!(from_word(&letter.to_string()), Some(expected));
        }
        assert_eq!(from_letter('Z'), None);
    }

    #[test]
    fn syslog_priorities_use_the_low_three_bits() {
        // <34> is facility 4 (auth), severity 2 (critical).
        assert_eq!(from_syslog_priority(34), number::CRITICAL);
        assert_eq!(from_syslog_priority(13), number::NOTICE);
        assert_eq!(from_syslog_priority(86), number::INFO);
        assert_eq!(from_syslog_priority(0), number::EMERGENCY);
        assert_eq!(from_syslog_priority(7), number::DEBUG);
    }

    #[test]
    fn http_status_classes() {
        assert_eq!(from_http_status(200), number::INFO);
        assert_eq!(from_http_status(304), number::INFO);
        assert_eq!(from_http_status(404), number::WARN);
        assert_eq!(from_http_status(503), number::ERROR);
    }

    #[test]
    fn every_number_sits_in_its_opentelemetry_range() {
        let ranges = [
            (number::TRACE, 1..=4),
            (number::DEBUG, 5..=8),
            (number::INFO, 9..=12),
            (number::NOTICE, 9..=12),
            (number::WARN, 13..=16),
            (number::ERROR, 17..=20),
            (number::CRITICAL, 17..=20),
            (number::FATAL, 21..=24),
            (number::ALERT, 21..=24),
            (number::EMERGENCY, 21..=24),
        ];
        for (value, range) in ranges {
            assert!(range.contains(&value), "{value}");
        }
    }

    #[test]
    fn unknown_text_is_kept_with_number_zero() {
        assert_eq!(
            severity_of("LOUD"),
            Severity {
                text: Some("LOUD".into()),
                number: 0
            }
        );
        assert_eq!(severity_of("warn").number, number::WARN);
    }
}
