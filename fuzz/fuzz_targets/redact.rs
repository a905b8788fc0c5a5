//! The redactor: every text a tool returns, every log line and audit record passes it.
//!
//! Input: up to three secrets, one of them written into the text in a chosen encoding at a
//! chosen place, then the text. Checked: nothing is reported iff the text comes back
//! borrowed; redacting twice changes nothing; no secret survives raw, nor the encoding that
//! was written in (raw, base64 standard or URL-safe, padded or not, alone or — from
//! `MIN_BASE64_OFFSET_LEN` bytes — inside longer base64, hex in either case, percent-encoded,
//! JSON `\u` escapes); JSON keeps its shape.

#![no_main]

use std::borrow::Cow;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use serde_json::json;
use warden::redact::{MIN_BASE64_OFFSET_LEN, MIN_ENCODED_LEN, Redactor, Report};

/// Stands in for a marker when looking for what survived; no secret holds it.
const HOLE: char = '\u{fffe}';

fuzz_target!(|data: &[u8]| {
    let _ = run(Unstructured::new(data));
});

fn run(mut input: Unstructured<'_>) -> Result<()> {
    let count = input.int_in_range(1..=3)?;
    let mut secrets = Vec::new();
    for i in 0..count {
        let len = input.int_in_range(0..=24)?;
        let value = String::from_utf8_lossy(input.bytes(len)?).into_owned();
        if !value.is_empty() && !value.contains(HOLE) {
            secrets.push((format!("s{i}"), value));
        }
    }
    if secrets.is_empty() {
        return Ok(());
    }
    let (_, secret) = input.choose(&secrets)?.clone();
    let form = encoding(&mut input, &secret)?;
    let at: usize = input.arbitrary()?;
    let mut text = String::from_utf8_lossy(input.take_rest()).into_owned();
    let at = text.floor_char_boundary(at % (text.len() + 1));
    // After an odd run of backslashes, a `\u` escape is not an escape (`\\u0061` is `\u0061`).
    let escaped = text[..at].bytes().rev().take_while(|b| *b == b'\\').count() % 2 == 1;
    text.insert_str(at, &form);

    let redactor = Redactor::new(secrets.iter().map(|(n, v)| (n.as_str(), v.as_str())));
    let mut report = Report::default();
    let once = redactor.redact_str(&text, &mut report);
    assert_eq!(
        matches!(once, Cow::Borrowed(_)),
        report.count == 0,
        "{text:?} -> {once:?}"
    );
    let mut again = Report::default();
    let twice = redactor.redact_str(&once, &mut again);
    assert!(
        matches!(twice, Cow::Borrowed(_)),
        "not idempotent: {text:?} -> {once:?} -> {twice:?}"
    );
    let left = without_markers(&once);
    for (_, value) in &secrets {
        assert!(
            !left.contains(value.as_str()),
            "{value:?} survived: {text:?} -> {once:?}"
        );
    }
    let checked = secret.len() >= MIN_ENCODED_LEN && !(escaped && form.starts_with("\\u"));
    if checked {
        assert!(
            !left.contains(&form),
            "{form:?} survived: {text:?} -> {once:?}"
        );
    }

    let mut value = json!({ text.clone(): [text.clone(), 7, { "k": text }] });
    let mut first = Report::default();
    redactor.redact_json(&mut value, &mut first);
    let shape = value.clone();
    let mut second = Report::default();
    redactor.redact_json(&mut value, &mut second);
    assert_eq!((&value, second.count), (&shape, 0));
    assert!(value.as_object().is_some_and(|o| o.len() == 1), "{value}");
    Ok(())
}

/// `secret` in an encoding it may travel in (raw only for a short one).
fn encoding(input: &mut Unstructured<'_>, secret: &str) -> Result<String> {
    if secret.len() < MIN_ENCODED_LEN {
        return Ok(secret.to_string());
    }
    let bytes = secret.as_bytes();
    let inside = secret.len() >= MIN_BASE64_OFFSET_LEN;
    Ok(match input.int_in_range(0..=if inside { 10 } else { 9 })? {
        0 => secret.to_string(),
        1 => STANDARD.encode(bytes),
        2 => STANDARD_NO_PAD.encode(bytes),
        3 => URL_SAFE.encode(bytes),
        4 => URL_SAFE_NO_PAD.encode(bytes),
        5 => hex::encode(bytes),
        6 => hex::encode_upper(bytes),
        7 => bytes.iter().map(|b| format!("%{b:02X}")).collect(),
        8 => bytes.iter().map(|b| format!("%{b:02x}")).collect(),
        9 => secret
            .encode_utf16()
            .map(|unit| format!("\\u{unit:04x}"))
            .collect(),
        _ => {
            // Inside longer base64, at any byte offset: `Basic base64(user:secret)`.
            let before_len = input.int_in_range(0..=5)?;
            let before = input.bytes(before_len)?.to_vec();
            let after_len = input.int_in_range(0..=5)?;
            let after = input.bytes(after_len)?;
            let engine = if input.arbitrary()? {
                &STANDARD
            } else {
                &URL_SAFE
            };
            let whole = [before.as_slice(), bytes, after].concat();
            engine.encode(whole)
        }
    })
}

/// `text` with each marker (`[REDACTED:<rule or secret:name>]`) replaced by [`HOLE`].
fn without_markers(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("[REDACTED:") {
        let after = &rest[start + "[REDACTED:".len()..];
        let label_len = after
            .find(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == ':'))
            .unwrap_or(after.len());
        if after[label_len..].starts_with(']') && label_len > 0 {
            out.push_str(&rest[..start]);
            out.push(HOLE);
            rest = &after[label_len + 1..];
        } else {
            out.push_str(&rest[..start + 1]);
            rest = &rest[start + 1..];
        }
    }
    out.push_str(rest);
    out
}
