//! Text utilities as tools: count, and search and replace with regular expressions.

use regex::Regex;

use crate::exports::warden_example::text::ops::{Counts, Found, Guest};

warden_sdk::tool!({ world: "text", export: Text });

/// The `text` world's implementation.
struct Text;

impl Guest for Text {
    fn count(text: String) -> Counts {
        Counts {
            bytes: widen(text.len()),
            chars: widen(text.chars().count()),
            words: widen(text.split_whitespace().count()),
            lines: widen(text.lines().count()),
        }
    }

    fn search(text: String, pattern: String) -> Result<Vec<Found>, String> {
        let regex = compile(&pattern)?;
        let mut line = 1;
        let mut scanned = 0;
        let mut found = Vec::new();
        for m in regex.find_iter(&text) {
            line += text[scanned..m.start()].matches('\n').count();
            scanned = m.start();
            found.push(Found {
                line: offset(line),
                start: offset(m.start()),
                end: offset(m.end()),
                text: m.as_str().to_string(),
            });
        }
        Ok(found)
    }

    fn replace(text: String, pattern: String, replacement: String) -> Result<String, String> {
        Ok(compile(&pattern)?
            .replace_all(&text, replacement.as_str())
            .into_owned())
    }
}

/// Compiles `pattern`, turning a syntax error into the tool's error text.
fn compile(pattern: &str) -> Result<Regex, String> {
    Regex::new(pattern).map_err(|err| err.to_string())
}

/// A count as a WIT `u64` (a `usize` always fits).
fn widen(count: usize) -> u64 {
    u64::try_from(count).unwrap_or(u64::MAX)
}

/// A line number or byte offset as a WIT `u32` (a `usize` is 32 bits on wasm32).
fn offset(value: usize) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}
