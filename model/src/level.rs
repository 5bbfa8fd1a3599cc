//! Level words and letters as severity numbers, in the OpenTelemetry log
//! data model: TRACE 1–4, DEBUG 5–8, INFO 9–12, WARN 13–16, ERROR 17–20,
//! FATAL 21–24; 0 is unspecified. The parser reads levels with this table,
//! and the query side uses it so that `level:error` finds every spelling of
//! that level (`ERROR`, `err`, `E`, `severe`…).

/// OpenTelemetry's plain severity numbers.
pub mod number {
    /// TRACE.
    pub const TRACE: u8 = 1;
    /// DEBUG.
    pub const DEBUG: u8 = 5;
    /// INFO.
    pub const INFO: u8 = 9;
    /// INFO2: a notable informational event (syslog notice).
    pub const NOTICE: u8 = 10;
    /// WARN.
    pub const WARN: u8 = 13;
    /// ERROR.
    pub const ERROR: u8 = 17;
    /// ERROR2: critical.
    pub const CRITICAL: u8 = 18;
    /// FATAL.
    pub const FATAL: u8 = 21;
    /// FATAL2: alert.
    pub const ALERT: u8 = 22;
    /// FATAL3: emergency.
    pub const EMERGENCY: u8 = 23;
}

/// The severity number of a level word or letter, if it is one.
pub fn from_word(word: &str) -> Option<u8> {
    let trimmed = word
        .trim()
        .trim_matches(|c: char| matches!(c, '[' | ']' | '<' | '>' | ':' | '(' | ')'));
    if trimmed.len() == 1 {
        return from_letter(trimmed.chars().next()?);
    }
    // Go's slog writes levels between its named ones as an offset from the
    // one below (`DEBUG-4`, `ERROR+4`, `INFO+2`): one slog step is one
    // OpenTelemetry number, as OpenTelemetry's slog bridge maps them.
    if let Some(at) = trimmed.rfind(['+', '-'])
        && at >= 4
        && let Ok(offset) = trimmed[at + 1..].parse::<u8>()
        && let Some(base) = from_word(&trimmed[..at])
    {
        let number = if trimmed.as_bytes()[at] == b'+' {
            base.saturating_add(offset)
        } else {
            base.saturating_sub(offset)
        };
        return Some(number.clamp(number::TRACE, 24));
    }
    // Lower-case into a stack buffer: this runs once per record.
    let mut buffer = [0u8; 16];
    let bytes = trimmed.as_bytes();
    if bytes.len() > buffer.len() {
        return None;
    }
    for (slot, byte) in buffer.iter_mut().zip(bytes) {
        *slot = byte.to_ascii_lowercase();
    }
    let lower = std::str::from_utf8(&buffer[..bytes.len()]).ok()?;
    Some(match lower {
        // NATS `[TRC]`, Serilog `[VRB]` (Verbose, its lowest), winston's
        // `silly`.
        "trace" | "trc" | "finest" | "finer" | "vrb" | "silly" => number::TRACE,
        // Redis's `-` is "verbose", a step above debug.
        // PostgreSQL's `DEBUG1` to `DEBUG5`.
        "debug" | "dbug" | "dbg" | "fine" | "config" | "verbose" | "debug1" | "debug2"
        | "debug3" | "debug4" | "debug5" => number::DEBUG,
        // MariaDB and MySQL write `[Note]` for their informational lines;
        // winston's `http` sits between info and verbose.
        "info" | "information" | "informational" | "inf" | "log" | "note" | "http" => number::INFO,
        "notice" => number::NOTICE,
        "warn" | "warning" | "wrn" => number::WARN,
        "error" | "err" | "eror" | "severe" => number::ERROR,
        "critical" | "crit" => number::CRITICAL,
        // zap's `dpanic` panics in development builds.
        "fatal" | "panic" | "dpanic" | "ftl" => number::FATAL,
        "alert" => number::ALERT,
        "emerg" | "emergency" => number::EMERGENCY,
        _ => return None,
    })
}

/// Words of the table above that are levels in one logger and ordinary
/// words elsewhere (Mosquitto's `1796025551: Config loaded from …`): a
/// parser takes them as levels only as their loggers write them, upper
/// case (JUL's `CONFIG`, `SEVERE`) or in brackets (MariaDB's `[Note]`).
pub const AMBIGUOUS_WORDS: [&str; 9] = [
    "config", "fine", "finer", "finest", "severe", "note", "verbose", "http", "silly",
];

/// Android and klog letters: V D I W E F, A (assert), S (silent).
pub fn from_letter(letter: char) -> Option<u8> {
    Some(match letter.to_ascii_uppercase() {
        'V' | 'T' => number::TRACE,
        'D' => number::DEBUG,
        'I' => number::INFO,
        'N' => number::NOTICE,
        'W' => number::WARN,
        'E' => number::ERROR,
        'C' => number::CRITICAL,
        'F' | 'A' => number::FATAL,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_letters_and_slog_offsets() {
        assert_eq!(from_word("[WARN]"), Some(number::WARN));
        assert_eq!(from_word("LOG:"), Some(number::INFO));
        assert_eq!(from_word("DBG"), Some(number::DEBUG));
        assert_eq!(from_word("TRC"), Some(number::TRACE));
        assert_eq!(from_word("VRB"), Some(number::TRACE));
        assert_eq!(from_word("dpanic"), Some(number::FATAL));
        assert_eq!(from_word("silly"), Some(number::TRACE));
        // slog: one step per number, from the named level below.
        assert_eq!(from_word("DEBUG-4"), Some(number::TRACE));
        assert_eq!(from_word("INFO+2"), Some(number::INFO + 2));
        assert_eq!(from_word("ERROR+4"), Some(number::FATAL));
        assert_eq!(from_word("ERROR+40"), Some(24));
        assert_eq!(from_word("DEBUG-9"), Some(number::TRACE));
        // Not levels: a word before the sign that is none, a short base, a
        // sign without a number.
        assert_eq!(from_word("order-4"), None);
        assert_eq!(from_word("E-5"), None);
        assert_eq!(from_word("ERROR+"), None);
    }
}
