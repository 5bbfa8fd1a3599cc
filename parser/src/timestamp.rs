//! Timestamps as logs write them, to nanoseconds since the Unix epoch.
//!
//! [`scan`] reads the stamp a piece of text starts with, in any of the forms
//! below, and says how many bytes it took. It is hand-written byte matching,
//! not regexes, because it runs once per record on the hot path.
//!
//! | form | example |
//! |---|---|
//! | RFC 3339 / ISO 8601 | `2026-11-22T08:00:00.123+01:00`, `2026-11-22 08:00:00,123` |
//! | ISO with `/` or `.` dates, `_` or `-` before the time | `2005.06.03-15.42.50.675872` |
//! | basic ISO | `20261122T080000Z` |
//! | syslog (no year) | `Nov 22 08:00:00`, `Nov  2 08:00:00.123` |
//! | ctime, as in Apache's error log | `Sun Nov 22 08:00:00 2026` |
//! | RFC 2822 | `Sun, 22 Nov 2026 08:00:00 +0000` |
//! | Apache access | `22/Nov/2026:08:00:00 +0000` |
//! | compact | `261122 080000`, `26/11/22 08:00:00`, `11-22 08:00:00.123` (no year) |
//! | unpadded | `20261122-8:0:5:31` |
//! | epoch | `1795334400`, `1795334400.5`, 13 digits ms, 16 µs, 19 ns |
//!
//! A stamp without a zone is *naive*: [`Zone`] gives it one. A stamp without
//! a year gets the year that puts it closest before the reference time (the
//! read time), so a December line read in January lands in the past year.
//! [`Strftime`] handles the forms a config names with a pattern.

use std::fmt;

use loghaul_model::time::days_from_civil;

const NANOS_PER_SECOND: i64 = 1_000_000_000;

/// A calendar stamp as written: fields, and the zone offset if it had one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Civil {
    /// The year, if the stamp has one.
    pub year: Option<i32>,
    /// 1–12.
    pub month: u8,
    /// 1–31.
    pub day: u8,
    /// 0–23.
    pub hour: u8,
    /// 0–59.
    pub minute: u8,
    /// 0–60 (a leap second is kept as 60 and lands on the next second).
    pub second: u8,
    /// Fraction of the second.
    pub nanos: u32,
    /// Offset east of UTC in seconds, when the stamp carries one.
    pub offset_seconds: Option<i32>,
}

/// What [`scan`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stamp {
    /// A calendar stamp.
    Civil(Civil),
    /// An absolute instant (epoch numbers).
    UnixNano(i64),
}

impl Stamp {
    /// The instant, given the zone for naive stamps and the reference time for
    /// stamps without a year. `None` for dates that do not exist.
    pub fn resolve(&self, zone: &Zone, reference_unix_nano: i64) -> Option<i64> {
        match self {
            Stamp::UnixNano(nanos) => Some(*nanos),
            Stamp::Civil(civil) => civil.resolve(zone, reference_unix_nano),
        }
    }
}

/// The zone of naive stamps: UTC, a fixed offset, or a zone of the system's
/// time zone database (which knows daylight saving time).
#[derive(Clone, Debug, PartialEq)]
pub enum Zone {
    /// UTC.
    Utc,
    /// A fixed offset east of UTC, in seconds.
    Fixed(i32),
    /// A named zone (`Europe/Paris`) or the machine's own (`local`).
    Named(jiff::tz::TimeZone),
}

impl Zone {
    /// `UTC`, `Z`, `local`, `±HH:MM` or an IANA zone name.
    pub fn parse(text: &str) -> Result<Zone, String> {
        Zone::of(loghaul_config::TimeZoneSpec::parse(text)?)
    }

    /// The zone a config value names.
    pub fn of(spec: loghaul_config::TimeZoneSpec) -> Result<Zone, String> {
        match spec {
            loghaul_config::TimeZoneSpec::Utc => Ok(Zone::Utc),
            loghaul_config::TimeZoneSpec::Fixed(seconds) => Ok(Zone::Fixed(seconds)),
            loghaul_config::TimeZoneSpec::Local => Ok(Zone::Named(jiff::tz::TimeZone::system())),
            loghaul_config::TimeZoneSpec::Named(name) => jiff::tz::TimeZone::get(&name)
                .map(Zone::Named)
                .map_err(|error| format!("unknown time zone {name:?}: {error}")),
        }
    }
}

impl fmt::Display for Zone {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Zone::Utc => formatter.write_str("UTC"),
            Zone::Fixed(seconds) => {
                let sign = if *seconds < 0 { '-' } else { '+' };
                let abs = seconds.unsigned_abs();
                write!(formatter, "{sign}{:02}:{:02}", abs / 3600, abs % 3600 / 60)
            }
            Zone::Named(zone) => formatter.write_str(zone.iana_name().unwrap_or("local")),
        }
    }
}

fn days_in_month(year: i64, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        _ => 28,
    }
}

impl Civil {
    fn valid_time(&self) -> bool {
        (1..=12).contains(&self.month)
            && self.day >= 1
            && self.day <= 31
            && self.hour <= 23
            && self.minute <= 59
            && self.second <= 60
    }

    fn at_year(&self, year: i64, zone: &Zone) -> Option<i64> {
        if !self.valid_time() || self.day > days_in_month(year, self.month) {
            return None;
        }
        let seconds_of_day =
            i64::from(self.hour) * 3600 + i64::from(self.minute) * 60 + i64::from(self.second);
        let utc_seconds = days_from_civil(year, u32::from(self.month), u32::from(self.day))
            * 86_400
            + seconds_of_day;
        let offset = match (self.offset_seconds, zone) {
            (Some(offset), _) => i64::from(offset),
            (None, Zone::Utc) => 0,
            (None, Zone::Fixed(offset)) => i64::from(*offset),
            (None, Zone::Named(zone)) => {
                let civil = jiff::civil::DateTime::new(
                    i16::try_from(year).ok()?,
                    self.month as i8,
                    self.day as i8,
                    self.hour as i8,
                    self.minute as i8,
                    self.second.min(59) as i8,
                    0,
                )
                .ok()?;
                let zoned = zone.to_ambiguous_zoned(civil).compatible().ok()?;
                i64::from(zoned.offset().seconds())
            }
        };
        (utc_seconds - offset)
            .checked_mul(NANOS_PER_SECOND)?
            .checked_add(i64::from(self.nanos))
    }

    /// The instant; see [`Stamp::resolve`].
    pub fn resolve(&self, zone: &Zone, reference_unix_nano: i64) -> Option<i64> {
        if let Some(year) = self.year {
            return self.at_year(i64::from(year), zone);
        }
        // No year: the latest year that does not put the stamp more than a
        // day after the reference (clocks and zones disagree by hours).
        let reference_year = loghaul_model::time::UtcDateTime::from_unix_nano(reference_unix_nano)
            .year
            .clamp(1, 9998);
        let tolerance = 86_400 * NANOS_PER_SECOND;
        let mut year = reference_year + 1;
        // Feb 29 exists one year in four; look back far enough to find one.
        for _ in 0..9 {
            if let Some(nanos) = self.at_year(year, zone)
                && nanos <= reference_unix_nano.saturating_add(tolerance)
            {
                return Some(nanos);
            }
            year -= 1;
        }
        None
    }
}

#[inline]
fn digit(bytes: &[u8], at: usize) -> Option<u32> {
    match bytes.get(at) {
        Some(byte @ b'0'..=b'9') => Some(u32::from(byte - b'0')),
        _ => None,
    }
}

/// Exactly `count` digits at `at`.
#[inline]
fn fixed(bytes: &[u8], at: usize, count: usize) -> Option<u32> {
    let mut value = 0;
    for index in at..at + count {
        value = value * 10 + digit(bytes, index)?;
    }
    Some(value)
}

/// One or two digits at `at`: the value and how many.
#[inline]
fn one_or_two(bytes: &[u8], at: usize) -> Option<(u32, usize)> {
    let first = digit(bytes, at)?;
    match digit(bytes, at + 1) {
        Some(second) => Some((first * 10 + second, 2)),
        None => Some((first, 1)),
    }
}

fn is(bytes: &[u8], at: usize, expected: u8) -> bool {
    bytes.get(at) == Some(&expected)
}

const MONTHS: [&[u8; 3]; 12] = [
    b"jan", b"feb", b"mar", b"apr", b"may", b"jun", b"jul", b"aug", b"sep", b"oct", b"nov", b"dec",
];
const WEEKDAYS: [&[u8; 3]; 7] = [b"mon", b"tue", b"wed", b"thu", b"fri", b"sat", b"sun"];

fn three_letters(bytes: &[u8], at: usize) -> Option<[u8; 3]> {
    let slice = bytes.get(at..at + 3)?;
    Some([
        slice[0].to_ascii_lowercase(),
        slice[1].to_ascii_lowercase(),
        slice[2].to_ascii_lowercase(),
    ])
}

fn month_name(bytes: &[u8], at: usize) -> Option<u8> {
    let word = three_letters(bytes, at)?;
    MONTHS
        .iter()
        .position(|month| **month == word)
        .map(|index| index as u8 + 1)
}

fn weekday_name(bytes: &[u8], at: usize) -> bool {
    three_letters(bytes, at).is_some_and(|word| WEEKDAYS.contains(&&word))
}

/// `.123` or `,123456789` at `at`: nanoseconds and bytes used (0 if none).
fn fraction(bytes: &[u8], at: usize) -> (u32, usize) {
    if !matches!(bytes.get(at), Some(b'.' | b',')) || digit(bytes, at + 1).is_none() {
        return (0, 0);
    }
    let mut nanos = 0u32;
    let mut index = at + 1;
    let mut scale = 100_000_000u32;
    while let Some(value) = digit(bytes, index) {
        nanos += value * scale;
        scale /= 10;
        index += 1;
    }
    (nanos, index - at)
}

/// `Z`, `±HH:MM`, `±HHMM` or `±HH` at `at`, where the stamp may end with a
/// zone: seconds east and bytes used.
fn offset(bytes: &[u8], at: usize) -> Option<(i32, usize)> {
    match bytes.get(at)? {
        b'Z' | b'z' => Some((0, 1)),
        sign @ (b'+' | b'-') => {
            let hours = fixed(bytes, at + 1, 2)?;
            let (minutes, used) = if is(bytes, at + 3, b':') {
                (fixed(bytes, at + 4, 2)?, 6)
            } else if let Some(minutes) = fixed(bytes, at + 3, 2) {
                (minutes, 5)
            } else {
                (0, 3)
            };
            if digit(bytes, at + used).is_some() || hours > 14 || minutes > 59 {
                return None;
            }
            let seconds = (hours * 3600 + minutes * 60) as i32;
            Some((if *sign == b'-' { -seconds } else { seconds }, used))
        }
        _ => None,
    }
}

/// A zone after one space (`… 08:00:00 +0100`, `… GMT`), or none.
fn spaced_offset(bytes: &[u8], at: usize) -> Option<(i32, usize)> {
    if !is(bytes, at, b' ') {
        return None;
    }
    if let Some(word) = bytes.get(at + 1..at + 4)
        && (word == b"UTC" || word == b"GMT")
        && !bytes.get(at + 4).is_some_and(u8::is_ascii_alphanumeric)
    {
        return Some((0, 4));
    }
    match bytes.get(at + 1) {
        Some(b'+' | b'-') => {
            let (seconds, used) = offset(bytes, at + 1)?;
            (used >= 5).then_some((seconds, used + 1))
        }
        _ => None,
    }
}

/// `HH:MM:SS` (or `HH:MM`) with a fraction, at `at`: hour, minute, second,
/// nanos, bytes used. `separator` is `:` or `.` (DB2 style).
fn clock(bytes: &[u8], at: usize, separator: u8) -> Option<(u8, u8, u8, u32, usize)> {
    let hour = fixed(bytes, at, 2)?;
    if !is(bytes, at + 2, separator) {
        return None;
    }
    let minute = fixed(bytes, at + 3, 2)?;
    let (second, mut used) = if is(bytes, at + 5, separator) {
        (fixed(bytes, at + 6, 2)?, 8)
    } else {
        (0, 5)
    };
    let (nanos, fraction_len) = if used == 8 {
        fraction(bytes, at + used)
    } else {
        (0, 0)
    };
    used += fraction_len;
    Some((hour as u8, minute as u8, second as u8, nanos, used))
}

/// ` H:MM:SS[.f]`, an hour padded with a space, at `at`.
fn space_padded_clock(bytes: &[u8], at: usize) -> Option<(u8, u8, u8, u32, usize)> {
    if !is(bytes, at, b' ') || !is(bytes, at + 2, b':') {
        return None;
    }
    let hour = digit(bytes, at + 1)?;
    let minute = fixed(bytes, at + 3, 2)?;
    if !is(bytes, at + 5, b':') {
        return None;
    }
    let second = fixed(bytes, at + 6, 2)?;
    let (nanos, fraction_len) = fraction(bytes, at + 8);
    Some((
        hour as u8,
        minute as u8,
        second as u8,
        nanos,
        8 + fraction_len,
    ))
}

/// A stamp must not run on into a word: `2026-11-22T08:00:00abc` is no stamp.
fn ends_cleanly(bytes: &[u8], at: usize) -> bool {
    !bytes.get(at).is_some_and(u8::is_ascii_alphanumeric)
}

fn finish(civil: Civil, used: usize, bytes: &[u8]) -> Option<(Stamp, usize)> {
    (civil.valid_time() && ends_cleanly(bytes, used)).then_some((Stamp::Civil(civil), used))
}

/// The stamp `text` starts with, and how many bytes it takes.
pub fn scan(text: &[u8]) -> Option<(Stamp, usize)> {
    match text.first()? {
        b'0'..=b'9' => scan_numeric(text),
        b'A'..=b'Z' | b'a'..=b'z' => scan_named(text),
        _ => None,
    }
}

fn scan_numeric(b: &[u8]) -> Option<(Stamp, usize)> {
    let run = b.iter().take_while(|byte| byte.is_ascii_digit()).count();
    match (run, b.get(run)) {
        (4, Some(b'-' | b'/' | b'.')) => iso_like(b),
        (8, Some(b'T' | b'-' | b' ')) => basic_iso(b),
        (6, Some(b' ')) => yymmdd_hhmmss(b),
        (2, Some(b'/')) => two_digit_slashes(b),
        (2, Some(b'-')) => month_day(b),
        // RFC 2822 without its weekday, as Redis writes it:
        // `29 Nov 2026 20:16:28.146`.
        (1 | 2, Some(b' ')) => day_month_year(b, 0, b' ', b' '),
        (1, Some(b'/')) => apache_access(b),
        (10 | 13 | 16 | 19, _) => epoch(b, run),
        _ => None,
    }
}

/// `YYYY-MM-DD[T ]HH:MM:SS[.f][zone]`, and its `/`, `.`, `_`, `-` cousins.
fn iso_like(b: &[u8]) -> Option<(Stamp, usize)> {
    let date_separator = b[4];
    let year = fixed(b, 0, 4)?;
    let (month, month_len) = one_or_two(b, 5)?;
    let mut at = 5 + month_len;
    if !is(b, at, date_separator) {
        return None;
    }
    let (day, day_len) = one_or_two(b, at + 1)?;
    at += 1 + day_len;
    let clock_separator = match b.get(at)? {
        b'T' | b't' | b' ' | b'_' | b':' => b':',
        // DB2 and BGL write `2005-06-03-15.42.50.675872`.
        b'-' => b'.',
        _ => return None,
    };
    // MariaDB (and MySQL 5) pad the hour with a space: `2026-11-30  7:59:33`.
    let padded = (b[at] == b' ')
        .then(|| space_padded_clock(b, at + 1))
        .flatten();
    let (hour, minute, second, nanos, clock_len) = match padded {
        Some(found) => found,
        None => clock(b, at + 1, clock_separator).or_else(|| clock(b, at + 1, b':'))?,
    };
    at += 1 + clock_len;
    let mut offset_seconds = None;
    if let Some((seconds, used)) = offset(b, at).or_else(|| spaced_offset(b, at)) {
        offset_seconds = Some(seconds);
        at += used;
    }
    finish(
        Civil {
            year: Some(year as i32),
            month: month as u8,
            day: day as u8,
            hour,
            minute,
            second,
            nanos,
            offset_seconds,
        },
        at,
        b,
    )
}

/// `YYYYMMDDTHHMMSS[zone]`, `YYYYMMDD HH:MM:SS`, or the unpadded
/// `YYYYMMDD-H:M:S:ms` that some Android health apps write.
fn basic_iso(b: &[u8]) -> Option<(Stamp, usize)> {
    let (year, month, day) = (fixed(b, 0, 4)?, fixed(b, 4, 2)?, fixed(b, 6, 2)?);
    let mut civil = Civil {
        year: Some(year as i32),
        month: month as u8,
        day: day as u8,
        hour: 0,
        minute: 0,
        second: 0,
        nanos: 0,
        offset_seconds: None,
    };
    let mut at;
    match b[8] {
        b'T' => {
            civil.hour = fixed(b, 9, 2)? as u8;
            civil.minute = fixed(b, 11, 2)? as u8;
            civil.second = fixed(b, 13, 2)? as u8;
            at = 15;
            let (nanos, used) = fraction(b, at);
            civil.nanos = nanos;
            at += used;
            if let Some((seconds, used)) = offset(b, at) {
                civil.offset_seconds = Some(seconds);
                at += used;
            }
        }
        b' ' => {
            let (hour, minute, second, nanos, used) = clock(b, 9, b':')?;
            (civil.hour, civil.minute, civil.second, civil.nanos) = (hour, minute, second, nanos);
            at = 9 + used;
        }
        _ => {
            // `-H:M:S:ms`, each part one or two digits (three for ms).
            let mut parts = [0u32; 3];
            at = 9;
            for (index, part) in parts.iter_mut().enumerate() {
                let (value, used) = one_or_two(b, at)?;
                *part = value;
                at += used;
                if index < 2 {
                    if !is(b, at, b':') {
                        return None;
                    }
                    at += 1;
                }
            }
            (civil.hour, civil.minute, civil.second) =
                (parts[0] as u8, parts[1] as u8, parts[2] as u8);
            if is(b, at, b':') && digit(b, at + 1).is_some() {
                let mut millis = 0;
                let mut digits = 0;
                while digits < 3
                    && let Some(value) = digit(b, at + 1 + digits)
                {
                    millis = millis * 10 + value;
                    digits += 1;
                }
                civil.nanos = millis * 1_000_000;
                at += 1 + digits;
            }
        }
    }
    finish(civil, at, b)
}

/// `YYMMDD HHMMSS`, as Hadoop's HDFS writes.
fn yymmdd_hhmmss(b: &[u8]) -> Option<(Stamp, usize)> {
    let civil = Civil {
        year: Some(2000 + fixed(b, 0, 2)? as i32),
        month: fixed(b, 2, 2)? as u8,
        day: fixed(b, 4, 2)? as u8,
        hour: fixed(b, 7, 2)? as u8,
        minute: fixed(b, 9, 2)? as u8,
        second: fixed(b, 11, 2)? as u8,
        nanos: 0,
        offset_seconds: None,
    };
    finish(civil, 13, b)
}

/// `YY/MM/DD HH:MM:SS`, as Spark writes; or Apache's `DD/Mmm/YYYY:…`.
fn two_digit_slashes(b: &[u8]) -> Option<(Stamp, usize)> {
    if month_name(b, 3).is_some() {
        return apache_access(b);
    }
    let (year, month, day) = (fixed(b, 0, 2)?, fixed(b, 3, 2)?, fixed(b, 6, 2)?);
    if !is(b, 5, b'/') || !is(b, 8, b' ') {
        return None;
    }
    let (hour, minute, second, nanos, used) = clock(b, 9, b':')?;
    finish(
        Civil {
            year: Some(2000 + year as i32),
            month: month as u8,
            day: day as u8,
            hour,
            minute,
            second,
            nanos,
            offset_seconds: None,
        },
        9 + used,
        b,
    )
}

/// `MM-DD HH:MM:SS.mmm`, Android logcat's stamp, which has no year.
fn month_day(b: &[u8]) -> Option<(Stamp, usize)> {
    let (month, day) = (fixed(b, 0, 2)?, fixed(b, 3, 2)?);
    if !is(b, 5, b' ') {
        return None;
    }
    let (hour, minute, second, nanos, used) = clock(b, 6, b':')?;
    finish(
        Civil {
            year: None,
            month: month as u8,
            day: day as u8,
            hour,
            minute,
            second,
            nanos,
            offset_seconds: None,
        },
        6 + used,
        b,
    )
}

/// `DD/Mmm/YYYY:HH:MM:SS ±zzzz`, the common log format's stamp.
fn apache_access(b: &[u8]) -> Option<(Stamp, usize)> {
    day_month_year(b, 0, b'/', b':')
}

/// `dd<sep>Mmm<sep>YYYY<before time>HH:MM:SS[ zone]` from `at`: Apache's
/// `10/Oct/2000:13:55:36 -0700` and RFC 2822's `22 Nov 2026 08:00:00 GMT`.
fn day_month_year(b: &[u8], at: usize, separator: u8, before_time: u8) -> Option<(Stamp, usize)> {
    let (day, day_len) = one_or_two(b, at)?;
    let mut at = at + day_len;
    if !is(b, at, separator) {
        return None;
    }
    let month = month_name(b, at + 1)?;
    at += 4;
    if !is(b, at, separator) {
        return None;
    }
    let year = fixed(b, at + 1, 4)?;
    at += 5;
    if !is(b, at, before_time) {
        return None;
    }
    let (hour, minute, second, nanos, used) = clock(b, at + 1, b':')?;
    at += 1 + used;
    let mut offset_seconds = None;
    if let Some((seconds, used)) = spaced_offset(b, at) {
        offset_seconds = Some(seconds);
        at += used;
    }
    finish(
        Civil {
            year: Some(year as i32),
            month,
            day: day as u8,
            hour,
            minute,
            second,
            nanos,
            offset_seconds,
        },
        at,
        b,
    )
}

/// A whole number of seconds, ms, µs or ns since the epoch, judged by its
/// length, between the years 2000 and 2100. Seconds may have a fraction.
fn epoch(b: &[u8], run: usize) -> Option<(Stamp, usize)> {
    let mut value: i64 = 0;
    for byte in &b[..run] {
        value = value.checked_mul(10)?.checked_add(i64::from(byte - b'0'))?;
    }
    let (nanos, mut used) = match run {
        10 => {
            let (fraction_nanos, fraction_len) = if is(b, run, b'.') {
                fraction(b, run)
            } else {
                (0, 0)
            };
            (
                value
                    .checked_mul(NANOS_PER_SECOND)?
                    .checked_add(i64::from(fraction_nanos))?,
                run + fraction_len,
            )
        }
        13 => (value.checked_mul(1_000_000)?, run),
        16 => (value.checked_mul(1_000)?, run),
        _ => (value, run),
    };
    let plausible = (946_684_800 * NANOS_PER_SECOND)..(4_102_444_800 * NANOS_PER_SECOND);
    if !plausible.contains(&nanos) || !ends_cleanly(b, used) {
        return None;
    }
    if is(b, used, b'.') && digit(b, used + 1).is_some() {
        // `1795334400123.5` is no epoch stamp we know.
        return None;
    }
    used = used.min(b.len());
    Some((Stamp::UnixNano(nanos), used))
}

/// Epoch numbers from JSON: seconds (with a fraction), ms, µs or ns, by
/// magnitude.
pub fn from_epoch_number(value: f64) -> Option<i64> {
    if !value.is_finite() || value <= 0.0 {
        return None;
    }
    // Whole numbers take the exact integer path (f64 would round ms).
    if value.fract() == 0.0 && value < 9.0e15 {
        let whole = value as i64;
        let scale = if whole < 100_000_000_000 {
            NANOS_PER_SECOND
        } else if whole < 100_000_000_000_000 {
            1_000_000
        } else {
            1_000
        };
        return whole.checked_mul(scale);
    }
    let nanos = if value < 1e11 {
        value * 1e9
    } else if value < 1e14 {
        value * 1e6
    } else if value < 1e17 {
        value * 1e3
    } else {
        value
    };
    (nanos < 9.2e18).then_some(nanos as i64)
}

/// Stamps that start with a word: syslog's `Mmm dd HH:MM:SS`, ctime's
/// `Ddd Mmm dd HH:MM:SS YYYY`, RFC 2822's `Ddd, dd Mmm YYYY HH:MM:SS zone`.
fn scan_named(b: &[u8]) -> Option<(Stamp, usize)> {
    if let Some(month) = month_name(b, 0) {
        return syslog_like(b, month, 3);
    }
    if !weekday_name(b, 0) {
        return None;
    }
    match b.get(3)? {
        b' ' => {
            let month = month_name(b, 4)?;
            syslog_like(b, month, 7)
        }
        b',' if is(b, 4, b' ') => rfc2822(b, 5),
        _ => None,
    }
}

/// `Mmm dd HH:MM:SS[.f][ YYYY]` with the month already read; `at` is just
/// after the month name.
fn syslog_like(b: &[u8], month: u8, at: usize) -> Option<(Stamp, usize)> {
    if !is(b, at, b' ') {
        return None;
    }
    let mut at = at + 1;
    if is(b, at, b' ') {
        at += 1; // `Nov  2`: the day is space-padded
    }
    let (day, day_len) = one_or_two(b, at)?;
    at += day_len;
    if is(b, at, b',') {
        return month_day_comma_year(b, month, day as u8, at + 1);
    }
    if !is(b, at, b' ') {
        return None;
    }
    let (hour, minute, second, nanos, used) = clock(b, at + 1, b':')?;
    at += 1 + used;
    let mut year = None;
    if is(b, at, b' ')
        && let Some(value) = fixed(b, at + 1, 4)
        && ends_cleanly(b, at + 5)
    {
        year = Some(value as i32);
        at += 5;
    }
    finish(
        Civil {
            year,
            month,
            day: day as u8,
            hour,
            minute,
            second,
            nanos,
            offset_seconds: None,
        },
        at,
        b,
    )
}

/// java.util.logging's `Nov 30, 2026 11:59:59 PM` (and `1:05:03 AM`), from
/// just after the comma: a year, then a 12-hour clock.
fn month_day_comma_year(b: &[u8], month: u8, day: u8, at: usize) -> Option<(Stamp, usize)> {
    if !is(b, at, b' ') {
        return None;
    }
    let year = fixed(b, at + 1, 4)?;
    let mut at = at + 5;
    if !is(b, at, b' ') {
        return None;
    }
    let (hour, hour_len) = one_or_two(b, at + 1)?;
    at += 1 + hour_len;
    if !is(b, at, b':') || !is(b, at + 3, b':') {
        return None;
    }
    let minute = fixed(b, at + 1, 2)?;
    let second = fixed(b, at + 4, 2)?;
    at += 6;
    let (nanos, fraction_len) = fraction(b, at);
    at += fraction_len;
    let hour = match b.get(at..at + 3) {
        Some(b" AM") if (1..=12).contains(&hour) => hour % 12,
        Some(b" PM") if (1..=12).contains(&hour) => hour % 12 + 12,
        _ => return None,
    };
    finish(
        Civil {
            year: Some(year as i32),
            month,
            day,
            hour: hour as u8,
            minute: minute as u8,
            second: second as u8,
            nanos,
            offset_seconds: None,
        },
        at + 3,
        b,
    )
}

/// `dd Mmm YYYY HH:MM:SS zone`, after `Ddd, `.
fn rfc2822(b: &[u8], at: usize) -> Option<(Stamp, usize)> {
    day_month_year(b, at, b' ', b' ')
}

/// A custom stamp layout from the config, in strftime notation
/// (`%d.%m.%Y %H:%M:%S`), parsed with jiff.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Strftime {
    format: String,
}

impl Strftime {
    /// A layout, checked as the config checks it.
    pub fn new(format: &str) -> Result<Self, String> {
        loghaul_config::check_timestamp_format(format)?;
        Ok(Self {
            format: format.to_owned(),
        })
    }

    /// The whole of `text` as this layout; `None` if it does not match.
    pub fn parse(&self, text: &str) -> Option<Stamp> {
        let time = jiff::fmt::strtime::parse(&self.format, text).ok()?;
        if let Some(timestamp) = time.timestamp() {
            return Some(Stamp::UnixNano(
                i64::try_from(timestamp.as_nanosecond()).ok()?,
            ));
        }
        let civil = Civil {
            year: time.year().map(i32::from),
            month: time.month()? as u8,
            day: time.day()? as u8,
            hour: time.hour().unwrap_or(0) as u8,
            minute: time.minute().unwrap_or(0) as u8,
            second: time.second().unwrap_or(0) as u8,
            nanos: time.subsec_nanosecond().unwrap_or(0).max(0) as u32,
            offset_seconds: time.offset().map(|offset| offset.seconds()),
        };
        civil.valid_time().then_some(Stamp::Civil(civil))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-11-22T08:00:00Z.
    const REFERENCE: i64 = 1_795_334_400 * NANOS_PER_SECOND;

    fn utc(text: &str) -> Option<(i64, usize)> {
        let (stamp, used) = scan(text.as_bytes())?;
        Some((stamp.resolve(&Zone::Utc, REFERENCE)?, used))
    }

    fn iso(text: &str) -> i64 {
        let zoned: jiff::Timestamp = text.parse().expect("test stamp");
        zoned.as_nanosecond() as i64
    }

    /// java.util.logging's 12-hour stamps: midnight and noon included.
    #[test]
    fn month_day_comma_year_with_a_twelve_hour_clock() {
        for (text, expected, used) in [
            (
                "Nov 30, 2026 11:59:59 PM Make main",
                "2026-11-30T23:59:59Z",
                24,
            ),
            (
                "Dec 1, 2026 12:00:01 AM Make main",
                "2026-12-01T00:00:01Z",
                23,
            ),
            ("Dec 1, 2026 12:30:00 PM x", "2026-12-01T12:30:00Z", 23),
            ("Dec 1, 2026 1:05:03 AM x", "2026-12-01T01:05:03Z", 22),
        ] {
            assert_eq!(utc(text), Some((iso(expected), used)), "{text}");
        }
        for text in [
            "Dec 1, 2026 13:05:03 PM",
            "Dec 1, 2026 0:05:03 AM",
            "Dec 1, 2026 1:05:03",
            "Dec 1, 26 1:05:03 AM",
        ] {
            assert_eq!(utc(text), None, "{text}");
        }
    }

    #[test]
    fn iso_forms() {
        let cases = [
            ("2026-11-22T08:00:00Z", "2026-11-22T08:00:00Z", 20),
            (
                "2026-11-22T08:00:00.123+01:00 x",
                "2026-11-22T07:00:00.123Z",
                29,
            ),
            (
                "2026-11-22 08:00:00,123 INFO",
                "2026-11-22T08:00:00.123Z",
                23,
            ),
            ("2026-11-22 08:00:00 +0100 x", "2026-11-22T07:00:00Z", 25),
            ("2026-11-22 08:00:00, Info", "2026-11-22T08:00:00Z", 19),
            ("2026/11/22 08:00:00", "2026-11-22T08:00:00Z", 19),
            (
                "2005.06.03-15.42.50.675872 x",
                "2005-06-03T15:42:50.675872Z",
                26,
            ),
            ("2017-05-16_00:00:00.008", "2017-05-16T00:00:00.008Z", 23),
            (
                "2026-11-22T08:00:00.123456789-07:00",
                "2026-11-22T15:00:00.123456789Z",
                35,
            ),
            ("20261122T080000Z", "2026-11-22T08:00:00Z", 16),
            ("20171224-0:0:5:31|x", "2017-12-24T00:00:05.031Z", 17),
            ("081109 203615 148", "2008-11-09T20:36:15Z", 13),
            ("17/06/09 20:10:40 INFO", "2017-06-09T20:10:40Z", 17),
            (
                "10/Oct/2000:13:55:36 -0700] \"GET",
                "2000-10-10T20:55:36Z",
                26,
            ),
            ("Sun Dec 04 04:47:44 2005]", "2005-12-04T04:47:44Z", 24),
            (
                "Wed Oct 11 14:32:52.123456 2000]",
                "2000-10-11T14:32:52.123456Z",
                31,
            ),
            ("Sun, 22 Nov 2026 08:00:00 GMT", "2026-11-22T08:00:00Z", 29),
            ("1795334400 x", "2026-11-22T08:00:00Z", 10),
            ("1795334400.25", "2026-11-22T08:00:00.25Z", 13),
            ("1795334400123", "2026-11-22T08:00:00.123Z", 13),
            ("1795334400123456789", "2026-11-22T08:00:00.123456789Z", 19),
        ];
        for (text, expected, used) in cases {
            assert_eq!(utc(text), Some((iso(expected), used)), "{text}");
        }
    }

    #[test]
    fn yearless_stamps_land_before_the_reference() {
        // Read on 2026-11-22: November is this year, December the last one.
        assert_eq!(
            utc("Nov 22 07:59:00 host"),
            Some((iso("2026-11-22T07:59:00Z"), 15))
        );
        assert_eq!(
            utc("Dec 10 06:55:46 LabSZ"),
            Some((iso("2025-12-10T06:55:46Z"), 15))
        );
        assert_eq!(
            utc("Jun  4 15:16:01 combo"),
            Some((iso("2026-06-04T15:16:01Z"), 15))
        );
        assert_eq!(
            utc("03-17 16:13:38.811  1702"),
            Some((iso("2026-03-17T16:13:38.811Z"), 18))
        );
        // A stamp a few hours ahead (a zone mix-up) stays in this year.
        assert_eq!(
            utc("Nov 22 11:00:00 x"),
            Some((iso("2026-11-22T11:00:00Z"), 15))
        );
        // Feb 29 goes back to the last leap year.
        assert_eq!(
            utc("Feb 29 12:00:00 x"),
            Some((iso("2024-02-29T12:00:00Z"), 15))
        );
    }

    #[test]
    fn naive_stamps_take_the_zone() {
        let (stamp, _) = scan(b"2026-07-01 12:00:00").expect("stamp");
        let paris = Zone::parse("Europe/Paris").expect("zone database");
        assert_eq!(
            stamp.resolve(&paris, REFERENCE),
            Some(iso("2026-07-01T10:00:00Z"))
        );
        let (winter, _) = scan(b"2026-01-01 12:00:00").expect("stamp");
        assert_eq!(
            winter.resolve(&paris, REFERENCE),
            Some(iso("2026-01-01T11:00:00Z"))
        );
        assert_eq!(
            stamp.resolve(&Zone::Fixed(-5 * 3600), REFERENCE),
            Some(iso("2026-07-01T17:00:00Z"))
        );
        // A stamp's own zone wins over the source's.
        let (zoned, _) = scan(b"2026-07-01T12:00:00Z").expect("stamp");
        assert_eq!(
            zoned.resolve(&paris, REFERENCE),
            Some(iso("2026-07-01T12:00:00Z"))
        );
        assert!(Zone::parse("Mars/Olympus").is_err());
    }

    #[test]
    fn not_stamps() {
        for text in [
            "",
            "hello",
            "2026-11-22",
            "2026-13-01 00:00:00",
            "2026-02-30 00:00:00",
            "2026-11-22T25:00:00",
            "2026-11-22T08:00:00abc",
            "12345",
            "0000000001",
            "9999999999",
            "9999999999999999999",
            "Nov 22",
            "Mon Nov",
            "17/06/09",
            "nova-api.log.1.2017-05-16_13:53:08",
            "32/Oct/2000:13:55:36 -0700",
        ] {
            assert_eq!(utc(text), None, "{text}");
        }
    }

    #[test]
    fn strftime_layouts() {
        let layout = Strftime::new("%d.%m.%Y %H:%M:%S").expect("layout");
        let stamp = layout.parse("22.11.2026 08:00:00").expect("parses");
        assert_eq!(
            stamp.resolve(&Zone::Utc, REFERENCE),
            Some(iso("2026-11-22T08:00:00Z"))
        );
        assert_eq!(layout.parse("2026-11-22 08:00:00"), None);
        let zoned = Strftime::new("%Y-%m-%d %H:%M:%S %z").expect("layout");
        assert_eq!(
            zoned
                .parse("2026-11-22 08:00:00 +0200")
                .and_then(|stamp| stamp.resolve(&Zone::Utc, REFERENCE)),
            Some(iso("2026-11-22T06:00:00Z"))
        );
        assert!(Strftime::new("%Q").is_err());
    }

    #[test]
    fn epoch_numbers() {
        assert_eq!(
            from_epoch_number(1_795_334_400.5),
            Some(iso("2026-11-22T08:00:00.5Z"))
        );
        assert_eq!(
            from_epoch_number(1_795_334_400_123.0),
            Some(iso("2026-11-22T08:00:00.123Z"))
        );
        assert_eq!(from_epoch_number(f64::NAN), None);
        assert_eq!(from_epoch_number(-1.0), None);
    }
}
