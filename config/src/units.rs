//! Human units in the config: byte sizes (`100MiB`) and durations (`1h30m`).

use std::fmt;
use std::time::Duration;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A number of bytes, written `512`, `64KiB`, `100MiB`, `1.5GiB` or `10MB`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ByteSize(pub u64);

impl ByteSize {
    /// `n` mebibytes.
    pub const fn mib(n: u64) -> Self {
        ByteSize(n * 1024 * 1024)
    }

    /// `n` gibibytes.
    pub const fn gib(n: u64) -> Self {
        ByteSize(n * 1024 * 1024 * 1024)
    }

    /// The byte count.
    pub fn bytes(self) -> u64 {
        self.0
    }

    /// Parses the text form.
    pub fn parse(text: &str) -> Result<Self, String> {
        let trimmed = text.trim();
        let split = trimmed
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(trimmed.len());
        let (number, unit) = trimmed.split_at(split);
        let multiplier: u64 = match unit.trim().to_ascii_lowercase().as_str() {
            "" | "b" => 1,
            "k" | "kb" => 1000,
            "m" | "mb" => 1000_u64.pow(2),
            "g" | "gb" => 1000_u64.pow(3),
            "t" | "tb" => 1000_u64.pow(4),
            "kib" => 1 << 10,
            "mib" => 1 << 20,
            "gib" => 1 << 30,
            "tib" => 1 << 40,
            other => {
                return Err(format!(
                    "invalid size {text:?}: unknown unit {other:?} (use B, KiB, MiB, GiB, TiB, KB, MB, GB or TB)"
                ));
            }
        };
        let value: f64 = number.parse().map_err(|_| {
            format!("invalid size {text:?}: expected a number followed by a unit, like 100MiB")
        })?;
        let bytes = value * multiplier as f64;
        if !bytes.is_finite() || bytes < 0.0 || bytes > u64::MAX as f64 {
            return Err(format!("invalid size {text:?}: out of range"));
        }
        Ok(ByteSize(bytes.round() as u64))
    }
}

impl fmt::Display for ByteSize {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        const UNITS: [(&str, u64); 4] = [
            ("TiB", 1 << 40),
            ("GiB", 1 << 30),
            ("MiB", 1 << 20),
            ("KiB", 1 << 10),
        ];
        for (name, size) in UNITS {
            if self.0 >= size && self.0.is_multiple_of(size) {
                return write!(formatter, "{}{name}", self.0 / size);
            }
        }
        write!(formatter, "{}B", self.0)
    }
}

impl Serialize for ByteSize {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SizeVisitor;
        impl Visitor<'_> for SizeVisitor {
            type Value = ByteSize;
            fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str("a size such as \"100MiB\" or a number of bytes")
            }
            fn visit_i64<E: de::Error>(self, value: i64) -> Result<ByteSize, E> {
                u64::try_from(value)
                    .map(ByteSize)
                    .map_err(|_| E::custom("a size cannot be negative"))
            }
            fn visit_u64<E: de::Error>(self, value: u64) -> Result<ByteSize, E> {
                Ok(ByteSize(value))
            }
            fn visit_str<E: de::Error>(self, value: &str) -> Result<ByteSize, E> {
                ByteSize::parse(value).map_err(E::custom)
            }
        }
        deserializer.deserialize_any(SizeVisitor)
    }
}

/// A duration, written `500ms`, `5s`, `1m`, `1h30m`, `30d`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HumanDuration(pub Duration);

impl HumanDuration {
    /// `n` seconds.
    pub const fn secs(n: u64) -> Self {
        HumanDuration(Duration::from_secs(n))
    }

    /// `n` milliseconds.
    pub const fn millis(n: u64) -> Self {
        HumanDuration(Duration::from_millis(n))
    }

    /// Parses the text form.
    pub fn parse(text: &str) -> Result<Self, String> {
        let trimmed = text.trim();
        if trimmed == "0" {
            return Ok(HumanDuration(Duration::ZERO));
        }
        if trimmed.is_empty() {
            return Err("invalid duration \"\": expected a number and a unit, like 5s".into());
        }
        let mut total = Duration::ZERO;
        let mut rest = trimmed;
        while !rest.is_empty() {
            let digits_end = rest
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(rest.len());
            let unit_end = rest[digits_end..]
                .find(|c: char| c.is_ascii_digit())
                .map_or(rest.len(), |i| digits_end + i);
            let (number, unit) = (&rest[..digits_end], &rest[digits_end..unit_end]);
            let value: u64 = number.parse().map_err(|_| {
                format!("invalid duration {text:?}: expected a number and a unit, like 5s or 1h30m")
            })?;
            let part = match unit {
                "ns" => Duration::from_nanos(value),
                "us" | "µs" => Duration::from_micros(value),
                "ms" => Duration::from_millis(value),
                "s" => Duration::from_secs(value),
                "m" => Duration::from_secs(value.saturating_mul(60)),
                "h" => Duration::from_secs(value.saturating_mul(3600)),
                "d" => Duration::from_secs(value.saturating_mul(86_400)),
                "" => {
                    return Err(format!(
                        "invalid duration {text:?}: missing unit (ms, s, m, h or d)"
                    ));
                }
                other => {
                    return Err(format!(
                        "invalid duration {text:?}: unknown unit {other:?} (use ns, us, ms, s, m, h or d)"
                    ));
                }
            };
            total = total.saturating_add(part);
            rest = &rest[unit_end..];
        }
        Ok(HumanDuration(total))
    }
}

impl fmt::Display for HumanDuration {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let nanos = self.0.as_nanos();
        if nanos == 0 {
            return formatter.write_str("0s");
        }
        const UNITS: [(&str, u128); 7] = [
            ("d", 86_400_000_000_000),
            ("h", 3_600_000_000_000),
            ("m", 60_000_000_000),
            ("s", 1_000_000_000),
            ("ms", 1_000_000),
            ("us", 1_000),
            ("ns", 1),
        ];
        let mut remaining = nanos;
        for (name, size) in UNITS {
            if remaining >= size {
                write!(formatter, "{}{name}", remaining / size)?;
                remaining %= size;
            }
        }
        Ok(())
    }
}

impl Serialize for HumanDuration {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct DurationVisitor;
        impl Visitor<'_> for DurationVisitor {
            type Value = HumanDuration;
            fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str("a duration such as \"5s\" or \"1h30m\"")
            }
            fn visit_i64<E: de::Error>(self, value: i64) -> Result<HumanDuration, E> {
                if value == 0 {
                    return Ok(HumanDuration(Duration::ZERO));
                }
                Err(E::custom(format!(
                    "invalid duration {value}: a duration needs a unit, like \"{value}s\""
                )))
            }
            fn visit_str<E: de::Error>(self, value: &str) -> Result<HumanDuration, E> {
                HumanDuration::parse(value).map_err(E::custom)
            }
        }
        deserializer.deserialize_any(DurationVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_in_both_unit_families() {
        assert_eq!(ByteSize::parse("100MiB"), Ok(ByteSize(100 << 20)));
        assert_eq!(ByteSize::parse("1.5 GiB"), Ok(ByteSize(3 << 29)));
        assert_eq!(ByteSize::parse("10MB"), Ok(ByteSize(10_000_000)));
        assert_eq!(ByteSize::parse("512"), Ok(ByteSize(512)));
        assert_eq!(ByteSize::parse("64kib"), Ok(ByteSize(65_536)));
        assert!(
            ByteSize::parse("12 parsecs")
                .expect_err("must be refused")
                .contains("unknown unit")
        );
        assert!(ByteSize::parse("MiB").is_err());
        assert!(ByteSize::parse("1e999GiB").is_err());
    }

    #[test]
    fn sizes_display_in_the_largest_exact_unit() {
        assert_eq!(ByteSize(100 << 20).to_string(), "100MiB");
        assert_eq!(ByteSize(1000).to_string(), "1000B");
        assert_eq!(ByteSize(3 << 29).to_string(), "1536MiB");
    }

    #[test]
    fn durations_parse_and_display() {
        assert_eq!(
            HumanDuration::parse("1h30m"),
            Ok(HumanDuration(Duration::from_secs(5400)))
        );
        assert_eq!(
            HumanDuration::parse("250ms"),
            Ok(HumanDuration::millis(250))
        );
        assert_eq!(
            HumanDuration::parse("30d").map(|d| d.0.as_secs()),
            Ok(2_592_000)
        );
        assert_eq!(
            HumanDuration(Duration::from_millis(61_500)).to_string(),
            "1m1s500ms"
        );
        assert!(
            HumanDuration::parse("5")
                .expect_err("must be refused")
                .contains("missing unit")
        );
        assert!(HumanDuration::parse("5 years").is_err());
        assert!(HumanDuration::parse("").is_err());
    }

    #[test]
    fn display_parses_back() {
        for text in ["1d2h3m4s5ms6us7ns", "0s", "90s"] {
            let duration = HumanDuration::parse(text).expect("parses");
            assert_eq!(HumanDuration::parse(&duration.to_string()), Ok(duration));
        }
    }
}
