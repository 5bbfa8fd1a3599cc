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
        "trace" | "finest" | "finer" => number::TRACE,
        // Redis's `-` is "verbose", a step above debug.
        "debug" | "dbug" | "fine" | "config" | "verbose" => number::DEBUG,
        // MariaDB and MySQL write `[Note]` for their informational lines.
        "info" | "information" | "informational" | "inf" | "log" | "note" => number::INFO,
        "notice" => number::NOTICE,
        "warn" | "warning" | "wrn" => number::WARN,
        "error" | "err" | "eror" | "severe" => number::ERROR,
        "critical" | "crit" => number::CRITICAL,
        "fatal" | "panic" | "ftl" => number::FATAL,
        "alert" => number::ALERT,
        "emerg" | "emergency" => number::EMERGENCY,
        _ => return None,
    })
}

/// Words of the table above that are levels in one logger and ordinary
/// words elsewhere (Mosquitto's `1796025551: Config loaded from …`): a
/// parser takes them as levels only as their loggers write them, upper
/// case (JUL's `CONFIG`, `SEVERE`) or in brackets (MariaDB's `[Note]`).
pub const AMBIGUOUS_WORDS: [&str; 7] = [
    "config", "fine", "finer", "finest", "severe", "note", "verbose",
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
