//! Human-readable quantities in the manifest: byte sizes ("64 MiB") and durations ("10s");
//! and the size of a JSON value, which the byte-size limits are checked against.
//!
//! Hand-written rather than pulled from a crate: the grammar is four suffixes each, and the
//! error text must say exactly what the manifest accepts.

use std::fmt;
use std::time::Duration;

/// A number of bytes, parsed from `"<n> <unit>"` with unit B, KiB, MiB or GiB (or a bare integer).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ByteSize(pub u64);

impl ByteSize {
    /// The size in bytes.
    pub fn bytes(self) -> u64 {
        self.0
    }

    /// Parses `"64 MiB"`, `"512KiB"`, `"100 B"`; the unit is required and binary.
    ///
    /// # Errors
    /// A message saying which forms are accepted.
    pub fn parse(text: &str) -> Result<Self, String> {
        let (number, unit) = split_number(text)?;
        let scale: u64 = match unit {
            "B" => 1,
            "KiB" => 1 << 10,
            "MiB" => 1 << 20,
            "GiB" => 1 << 30,
            _ => {
                return Err(format!(
                    "`{text}` is not a size: write a whole number and a unit B, KiB, MiB or GiB, e.g. \"64 MiB\""
                ));
            }
        };
        number
            .checked_mul(scale)
            .map(ByteSize)
            .ok_or_else(|| format!("`{text}` is too large"))
    }
}

impl fmt::Display for ByteSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const UNITS: [(&str, u64); 3] = [("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)];
        for (unit, scale) in UNITS {
            if self.0 >= scale && self.0.is_multiple_of(scale) {
                return write!(f, "{} {unit}", self.0 / scale);
            }
        }
        write!(f, "{} B", self.0)
    }
}

/// The size of `value` as compact JSON, counted as it is serialized rather than by building
/// the text; `usize::MAX` if it does not serialize.
pub fn json_size(value: &impl serde::Serialize) -> usize {
    /// Counts the bytes written to it.
    struct Counter(usize);

    impl std::io::Write for Counter {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0 += bytes.len();
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    let mut counter = Counter(0);
    match serde_json::to_writer(&mut counter, value) {
        Ok(()) => counter.0,
        Err(_) => usize::MAX,
    }
}

/// Parses `"10s"`, `"250ms"`, `"2m"`, `"1h"` into a [`Duration`].
///
/// # Errors
/// A message saying which forms are accepted.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let (number, unit) = split_number(text)?;
    let duration = match unit {
        "ms" => Some(Duration::from_millis(number)),
        "s" => Some(Duration::from_secs(number)),
        "m" => number.checked_mul(60).map(Duration::from_secs),
        "h" => number.checked_mul(3600).map(Duration::from_secs),
        _ => {
            return Err(format!(
                "`{text}` is not a duration: write a whole number and a unit ms, s, m or h, e.g. \"10s\""
            ));
        }
    };
    duration.ok_or_else(|| format!("`{text}` is too long"))
}

/// Renders a duration the way the manifest writes it.
pub fn format_duration(duration: Duration) -> String {
    let ms = duration.as_millis();
    if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

fn split_number(text: &str) -> Result<(u64, &str), String> {
    let trimmed = text.trim();
    let digits_end = trimmed
        .find(|c: char| !c.is_ascii_digit() && c != '_')
        .unwrap_or(trimmed.len());
    let digits: String = trimmed[..digits_end]
        .chars()
        .filter(|c| *c != '_')
        .collect();
    let number = digits
        .parse::<u64>()
        .map_err(|_| format!("`{text}` does not start with a whole number"))?;
    Ok((number, trimmed[digits_end..].trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(ByteSize::parse("64 MiB"), Ok(ByteSize(64 << 20)));
        assert_eq!(ByteSize::parse("1KiB"), Ok(ByteSize(1024)));
        assert_eq!(ByteSize::parse("1_000 B"), Ok(ByteSize(1000)));
        assert!(
            ByteSize::parse("64 MB")
                .unwrap_err()
                .contains("KiB, MiB or GiB")
        );
        assert!(ByteSize::parse("lots").is_err());
        assert!(ByteSize::parse("99999999999999 GiB").is_err());
        assert_eq!(ByteSize(64 << 20).to_string(), "64 MiB");
        assert_eq!(ByteSize(1000).to_string(), "1000 B");
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("250 ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert!(parse_duration("10").unwrap_err().contains("ms, s, m or h"));
        assert_eq!(format_duration(Duration::from_millis(1500)), "1500ms");
        assert_eq!(format_duration(Duration::from_secs(3)), "3s");
    }

    #[test]
    fn json_size_is_the_length_of_the_text() {
        let value = serde_json::json!({"a": [1, "é\n", null], "b": {"c": 1.5}});
        assert_eq!(json_size(&value), serde_json::to_vec(&value).unwrap().len());
    }
}
