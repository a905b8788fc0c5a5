//! Redaction of tool results: replaces every defined secret's value (in the encodings it may
//! travel in) and every credential of a well-known format by `[REDACTED:<rule-id>]`.
//!
//! Two kinds of rules find what to hide:
//!
//! - **Exact values** (`secret:<name>`): the operator's secrets, raw and — for values of at
//!   least [`MIN_ENCODED_LEN`] bytes — base64 (standard and URL-safe, padded or not, and, from
//!   [`MIN_BASE64_OFFSET_LEN`] bytes, at any byte offset inside a longer base64 text, so
//!   `Basic base64(user:secret)` is caught), hex in either case, percent-encoded, and written with JSON string escapes (`\u0073`, `\/`, ...)
//!   in any mix with literal characters. One Aho-Corasick automaton finds every form at once.
//! - **Patterns**: credential formats ported from gitleaks' MIT rule set (see `NOTICE`), plus
//!   passwords in URLs. Each rule runs only when one of its keywords occurs in the text (one
//!   case-insensitive Aho-Corasick pass over all keywords), uses the linear-time `regex`
//!   crate, and keeps gitleaks' Shannon-entropy threshold and allowlists where it has them.
//!   The "semi-generic" rules (`name = value`, such as `generic-api-key`) run anchored at
//!   their keywords' occurrences, after a byte-class pre-check.
//!
//! Overlapping finds are merged into one marker, named after the most specific rule (exact
//! values first, then the rules in table order, `generic-api-key` last). A marker this
//! redactor writes is never matched again, and a pass whose markers open new matches (a
//! `\b` next to a marker, say) is followed by another, so redacting twice changes nothing.
//! Such a later pass reuses the first keyword pass (a marker cannot create a keyword) and
//! looks for exact values and assignments only near the markers just written.
//!
//! The automata hold the secret values for the redactor's lifetime; they are not zeroized.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::fmt::{self, Write as _};
use std::sync::LazyLock;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use regex::bytes::{Regex, RegexBuilder};
use serde_json::Value;

/// Secrets shorter than this are redacted only in their raw form: their encodings are too
/// short to be told apart from ordinary text.
pub const MIN_ENCODED_LEN: usize = 4;

/// Secrets of at least this many bytes are also found inside a longer base64 text, at any
/// byte offset; shorter ones (from [`MIN_ENCODED_LEN`]) only as base64 of their own.
pub const MIN_BASE64_OFFSET_LEN: usize = 5;

/// The shortest base64 run worth matching when a secret sits at an offset inside a longer
/// base64 text: 6 characters, 36 bits, so 6 such runs per secret match unrelated base64 about
/// once in 10^10 positions. It is what a [`MIN_BASE64_OFFSET_LEN`]-byte secret leaves at its
/// worst offset; shorter runs would match unrelated base64.
const MIN_BASE64_CORE_LEN: usize = 6;

/// Passes over a text at most: one, plus one for each round of matches that the previous
/// round's markers opened (two in practice; the bound keeps adversarial chains linear).
const MAX_PASSES: usize = 8;

const MARKER_OPEN: &str = "[REDACTED:";

/// What a redaction pass found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// How many markers were written.
    pub count: usize,
    /// The rule ids the markers name (`secret:<name>` for an exact value).
    pub rules: BTreeSet<String>,
}

/// Finds and replaces secrets and credentials in text and JSON. Build it once: the built-in
/// rules are compiled once per process, the exact values once per redactor.
pub struct Redactor {
    exact: Option<Exact>,
    /// `secret:<name>` for each secret, by index.
    labels: Vec<String>,
    /// Every marker this redactor can write, to leave them alone.
    markers: AhoCorasick,
}

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Redactor")
            .field("secrets", &self.labels)
            .field("rules", &RULES.rules.len())
            .finish_non_exhaustive()
    }
}

impl Redactor {
    /// Built-in credential rules plus exact values: `secrets` are (name, value) pairs.
    /// Empty values are ignored.
    pub fn new<'a>(secrets: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let secrets: Vec<(&str, &str)> = secrets
            .into_iter()
            .filter(|(_, value)| !value.is_empty())
            .collect();
        let labels: Vec<String> = secrets
            .iter()
            .map(|(name, _)| format!("secret:{name}"))
            .collect();
        let markers = labels
            .iter()
            .map(String::as_str)
            // The rules' ids, from their specs: building a redactor does not wait for the
            // rules to compile.
            .chain(SPECS.iter().map(|spec| spec.id))
            .map(|label| format!("{MARKER_OPEN}{label}]"));
        let markers = AhoCorasickBuilder::new()
            .match_kind(MatchKind::LeftmostLongest)
            .build(markers)
            .expect("markers are short literals");
        Redactor {
            exact: Exact::new(&secrets),
            labels,
            markers,
        }
    }

    /// Redacts `text`; Cow::Borrowed when nothing matched (the common, fast path).
    pub fn redact_str<'t>(&self, text: &'t str, report: &mut Report) -> Cow<'t, str> {
        // Markers cannot make a keyword appear, so later passes reuse the first keyword scan
        // (its anchors moved past the markers written).
        let mut scan = RULES.scan(text.as_bytes());
        let spans = self.find(text, &scan);
        if spans.is_empty() {
            return Cow::Borrowed(text);
        }
        let mut current = self.apply(text, &spans, &mut scan, report);
        for _ in 1..MAX_PASSES {
            let spans = self.find(&current, &scan);
            if spans.is_empty() {
                break;
            }
            current = self.apply(&current, &spans, &mut scan, report);
        }
        Cow::Owned(current)
    }

    /// Redacts every string inside `value` in place (object keys too), keeping JSON types.
    ///
    /// The one exception: a number whose digits hold a secret becomes the marker string, as a
    /// leak is worse than a changed type. Two keys of one object that redact alike are kept
    /// apart by a `#2`, `#3`, ... suffix.
    pub fn redact_json(&self, value: &mut Value, report: &mut Report) {
        let mut stack = vec![value];
        // Each number's digits, written into one buffer.
        let mut digits = String::new();
        while let Some(value) = stack.pop() {
            if let Value::Number(number) = value {
                digits.clear();
                write!(digits, "{number}").expect("writing to a String succeeds");
                if let Cow::Owned(text) = self.redact_str(&digits, report) {
                    *value = Value::String(text);
                }
                continue;
            }
            match value {
                Value::String(text) => {
                    if let Cow::Owned(redacted) = self.redact_str(text, report) {
                        *text = redacted;
                    }
                }
                Value::Array(items) => stack.extend(items.iter_mut()),
                Value::Object(map) => {
                    self.redact_keys(map, report);
                    stack.extend(map.values_mut());
                }
                Value::Null | Value::Bool(_) | Value::Number(_) => {}
            }
        }
    }

    /// Redacts the keys of `map`, keeping their order.
    fn redact_keys(&self, map: &mut serde_json::Map<String, Value>, report: &mut Report) {
        // Most maps keep every key: the list of new names starts at the first renamed key.
        let rename = |key: &String, report: &mut Report| match self.redact_str(key, report) {
            Cow::Borrowed(_) => None,
            Cow::Owned(key) => Some(key),
        };
        let mut first_renamed = None;
        let Some(first) = map.keys().position(|key| {
            first_renamed = rename(key, report);
            first_renamed.is_some()
        }) else {
            return;
        };
        let mut renamed: Vec<Option<String>> = vec![None; first];
        renamed.push(first_renamed);
        renamed.extend(map.keys().skip(first + 1).map(|key| rename(key, report)));
        // Keys that keep their name keep it; a renamed key takes a suffix if need be.
        let kept: BTreeSet<&String> = map
            .keys()
            .zip(&renamed)
            .filter(|(_, renamed)| renamed.is_none())
            .map(|(key, _)| key)
            .collect();
        let mut taken: BTreeSet<String> = kept.into_iter().cloned().collect();
        let old = std::mem::take(map);
        for ((key, value), renamed) in old.into_iter().zip(renamed) {
            let key = match renamed {
                None => key,
                Some(key) if taken.insert(key.clone()) => key,
                Some(key) => {
                    let free = (2..)
                        .map(|n| format!("{key}#{n}"))
                        .find(|candidate| !taken.contains(candidate))
                        .expect("some suffix is free");
                    taken.insert(free.clone());
                    free
                }
            };
            map.insert(key, value);
        }
    }

    /// The spans to replace in `text`: sorted, disjoint, on char boundaries, none inside a
    /// marker already there.
    fn find(&self, text: &str, scan: &Scan) -> Vec<Span> {
        let mut spans = Vec::new();
        if let Some(exact) = &self.exact {
            match &scan.markers {
                None => exact.find(text, 0, &mut spans),
                // An exact match is context-free and bounded: a new one must overlap a
                // marker just written (or an escape it cut).
                Some(markers) => {
                    for (start, end) in windows(text, markers, exact.longest + 16) {
                        exact.find(&text[start..end], start, &mut spans);
                    }
                }
            }
        }
        RULES.find(text.as_bytes(), scan, &mut spans);
        if spans.is_empty() {
            return spans;
        }
        for span in &mut spans {
            span.start = text.floor_char_boundary(span.start);
            span.end = text.ceil_char_boundary(span.end);
        }
        if text.contains(MARKER_OPEN) {
            let markers: Vec<(usize, usize)> = self
                .markers
                .find_iter(text)
                .map(|m| (m.start(), m.end()))
                .collect();
            spans.retain(|span| !inside_any(&markers, span));
        }
        merge(spans)
    }

    /// `text` with each span replaced by its marker; `scan`'s anchors follow the text.
    fn apply(&self, text: &str, spans: &[Span], scan: &mut Scan, report: &mut Report) -> String {
        // Where the markers land in the new text.
        let mut markers = Vec::with_capacity(spans.len());
        let mut shift = 0isize;
        for span in spans {
            let start = span.start.strict_add_signed(shift);
            let len = self.marker_len(span.label);
            markers.push((start, start + len));
            shift += len as isize - (span.end - span.start) as isize;
        }
        let mut index = 0;
        let mut shift = 0isize;
        scan.anchors.retain_mut(|anchor| {
            while let Some(span) = spans.get(index).filter(|span| span.end <= anchor.at) {
                shift += self.marker_len(span.label) as isize - (span.end - span.start) as isize;
                index += 1;
            }
            if spans.get(index).is_some_and(|span| span.start <= anchor.at) {
                return false;
            }
            anchor.at = anchor.at.strict_add_signed(shift);
            let near = markers.partition_point(|&(_, end)| end + ASSIGNMENT_BEHIND < anchor.at);
            anchor.fresh = markers
                .get(near)
                .is_some_and(|&(start, _)| start <= anchor.at + ASSIGNMENT_AHEAD);
            true
        });
        scan.markers = Some(markers);
        let mut out = String::with_capacity(text.len() + spans.len() * 24);
        let mut at = 0;
        for span in spans {
            let label = self.label(span.label);
            out.push_str(&text[at..span.start]);
            out.push_str(MARKER_OPEN);
            out.push_str(label);
            out.push(']');
            at = span.end;
            report.count += 1;
            if !report.rules.contains(label) {
                report.rules.insert(label.to_string());
            }
        }
        out.push_str(&text[at..]);
        out
    }

    fn marker_len(&self, label: Label) -> usize {
        MARKER_OPEN.len() + self.label(label).len() + 1
    }

    fn label(&self, label: Label) -> &str {
        match label {
            Label::Secret(index) => &self.labels[index],
            Label::Rule(index) => RULES.rules[index].id,
        }
    }
}

/// Who found a span; the smaller label names a merged span.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Label {
    /// An exact secret value, by index.
    Secret(usize),
    /// A pattern rule, by index in the rule table.
    Rule(usize),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Span {
    start: usize,
    end: usize,
    label: Label,
}

/// The char-aligned ranges of `text` within `reach` bytes of `markers` (sorted), merged.
fn windows(text: &str, markers: &[(usize, usize)], reach: usize) -> Vec<(usize, usize)> {
    let mut windows: Vec<(usize, usize)> = Vec::new();
    for &(start, end) in markers {
        let start = text.floor_char_boundary(start.saturating_sub(reach));
        let end = text.ceil_char_boundary(end.saturating_add(reach).min(text.len()));
        match windows.last_mut() {
            Some(last) if start <= last.1 => last.1 = last.1.max(end),
            _ => windows.push((start, end)),
        }
    }
    windows
}

/// Whether `span` lies wholly inside one of `markers` (sorted, disjoint).
fn inside_any(markers: &[(usize, usize)], span: &Span) -> bool {
    let after = markers.partition_point(|&(start, _)| start <= span.start);
    after > 0 && span.end <= markers[after - 1].1
}

/// Sorts `spans` and merges the overlapping ones, keeping the smallest label.
fn merge(mut spans: Vec<Span>) -> Vec<Span> {
    spans.sort_unstable_by_key(|span| (span.start, span.label));
    let mut merged: Vec<Span> = Vec::with_capacity(spans.len());
    for span in spans {
        match merged.last_mut() {
            Some(last) if span.start < last.end => {
                last.end = last.end.max(span.end);
                last.label = last.label.min(span.label);
            }
            _ => merged.push(span),
        }
    }
    merged
}

// ---------------------------------------------------------------------------------------
// Exact values
// ---------------------------------------------------------------------------------------

/// One automaton over every form of every secret.
struct Exact {
    automaton: AhoCorasick,
    /// What each automaton pattern is, by pattern index.
    forms: Vec<Form>,
    /// The bytes that occur in some form: an escape that decodes to anything else cannot be
    /// part of a match, so it is not decoded.
    relevant: [bool; 256],
    /// Finds the JSON escapes worth decoding: `\`, or only `\u` when no form holds a byte
    /// that a one-letter escape (`\n`, `\"`, ...) stands for.
    json_escape: AhoCorasick,
    /// Finds `%`.
    percent: AhoCorasick,
    /// The longest form, in bytes.
    longest: usize,
}

#[derive(Clone, Copy)]
struct Form {
    secret: usize,
    /// Whether the secret is shorter than [`MIN_ENCODED_LEN`] (its raw form only).
    short: bool,
    /// For base64 of the secret at an offset inside longer base64: the alphabet, to widen
    /// the match by the characters that hold some of the secret's bits.
    core: Option<Core>,
}

#[derive(Clone, Copy)]
struct Core {
    url_safe: bool,
    left: bool,
    right: bool,
}

impl Core {
    fn widen(self, hay: &[u8], start: usize, end: usize) -> (usize, usize) {
        let in_alphabet = |byte: u8| {
            byte.is_ascii_alphanumeric()
                || if self.url_safe {
                    byte == b'-' || byte == b'_'
                } else {
                    byte == b'+' || byte == b'/'
                }
        };
        let start = if self.left && start > 0 && in_alphabet(hay[start - 1]) {
            start - 1
        } else {
            start
        };
        let end = if self.right && end < hay.len() && in_alphabet(hay[end]) {
            end + 1
        } else {
            end
        };
        (start, end)
    }
}

impl Exact {
    fn new(secrets: &[(&str, &str)]) -> Option<Self> {
        let mut patterns: Vec<Vec<u8>> = Vec::new();
        let mut forms = Vec::new();
        let mut add = |pattern: Vec<u8>, form: Form| {
            if !pattern.is_empty() && !patterns.contains(&pattern) {
                patterns.push(pattern);
                forms.push(form);
            }
        };
        for (secret, (_, value)) in secrets.iter().enumerate() {
            let value = value.as_bytes();
            let short = value.len() < MIN_ENCODED_LEN;
            let plain = Form {
                secret,
                short,
                core: None,
            };
            add(value.to_vec(), plain);
            if short {
                continue;
            }
            add(hex::encode(value).into_bytes(), plain);
            add(hex::encode_upper(value).into_bytes(), plain);
            // The base64 runs that hold only the secret's bits, at each offset mod 3, find
            // it alone (padded or not) and inside longer base64; a secret too short for
            // them is matched by its whole encodings.
            let cores: Vec<(Vec<u8>, Core)> = [false, true]
                .into_iter()
                .flat_map(|url_safe| (0..3).map(move |shift| (shift, url_safe)))
                .filter_map(|(shift, url_safe)| base64_core(value, shift, url_safe))
                .collect();
            if cores.len() == 6 {
                for (core, widen) in cores {
                    let form = Form {
                        core: Some(widen),
                        ..plain
                    };
                    add(core, form);
                }
            } else {
                for engine in [&STANDARD, &STANDARD_NO_PAD, &URL_SAFE, &URL_SAFE_NO_PAD] {
                    add(engine.encode(value).into_bytes(), plain);
                }
            }
        }
        if patterns.is_empty() {
            return None;
        }
        let mut relevant = [false; 256];
        for byte in patterns.iter().flatten() {
            relevant[usize::from(*byte)] = true;
        }
        let simple_escapes = [b'"', b'\\', b'/', 0x08, 0x0c, b'\n', b'\r', b'\t']
            .iter()
            .any(|&byte| relevant[usize::from(byte)]);
        let json_escape =
            AhoCorasick::new([if simple_escapes { "\\" } else { "\\u" }]).expect("a literal");
        let percent = AhoCorasick::new(["%"]).expect("a literal");
        let longest = patterns.iter().map(Vec::len).max().unwrap_or(0);
        let automaton = AhoCorasickBuilder::new()
            .match_kind(MatchKind::LeftmostLongest)
            .build(&patterns)
            .expect("secret forms are literals");
        Some(Exact {
            automaton,
            forms,
            relevant,
            json_escape,
            percent,
            longest,
        })
    }

    /// Every occurrence of every form in `text` (which starts at `offset` of the text being
    /// redacted), and in its JSON-unescaped and percent-decoded readings.
    fn find(&self, text: &str, offset: usize, spans: &mut Vec<Span>) {
        let hay = text.as_bytes();
        self.each_match(hay, |form, start, end| {
            spans.push(Span {
                start: offset + start,
                end: offset + end,
                label: Label::Secret(form.secret),
            });
        });
        let relevant = |bytes: &[u8]| {
            bytes
                .first()
                .is_some_and(|&b| self.relevant[usize::from(b)])
        };
        let readings = [
            Decoded::json_unescape(text, &self.json_escape, relevant),
            Decoded::percent_decode(text, &self.percent, relevant),
        ];
        for decoded in readings.iter().flatten() {
            self.each_match(&decoded.bytes, |form, start, end| {
                if !form.short {
                    spans.push(Span {
                        start: offset + decoded.unit(start).0,
                        end: offset + decoded.unit(end - 1).1,
                        label: Label::Secret(form.secret),
                    });
                }
            });
        }
    }

    /// Calls `found` with the form and (widened) range of the longest match at each position
    /// where one starts: overlapping occurrences are all seen.
    fn each_match(&self, hay: &[u8], mut found: impl FnMut(Form, usize, usize)) {
        let mut at = 0;
        while let Some(hit) = self
            .automaton
            .find(aho_corasick::Input::new(hay).span(at..hay.len()))
        {
            let form = self.forms[hit.pattern().as_usize()];
            let (start, end) = match form.core {
                Some(core) => core.widen(hay, hit.start(), hit.end()),
                None => (hit.start(), hit.end()),
            };
            found(form, start, end);
            at = hit.start() + 1;
        }
    }
}

/// The base64 characters that depend only on `value`'s bits when it sits `shift` bytes
/// (mod 3) into a base64 text, and which neighbours also hold some of its bits; `None`
/// when that run is too short to tell apart from other base64.
fn base64_core(value: &[u8], shift: usize, url_safe: bool) -> Option<(Vec<u8>, Core)> {
    let mut shifted = vec![0u8; shift];
    shifted.extend_from_slice(value);
    let engine = if url_safe {
        &URL_SAFE_NO_PAD
    } else {
        &STANDARD_NO_PAD
    };
    let encoded = engine.encode(&shifted).into_bytes();
    let first_bit = 8 * shift;
    let end_bit = 8 * (shift + value.len());
    let first = first_bit.div_ceil(6);
    let last = end_bit / 6;
    if last < first + MIN_BASE64_CORE_LEN {
        return None;
    }
    let core = Core {
        url_safe,
        left: !first_bit.is_multiple_of(6),
        right: !end_bit.is_multiple_of(6),
    };
    Some((encoded[first..last].to_vec(), core))
}

/// A decoded reading of a text, and where each decoded byte came from.
struct Decoded {
    bytes: Vec<u8>,
    /// Decoded runs that differ from the original, in order.
    edits: Vec<Edit>,
}

/// `len` decoded bytes at `at` came from `source_len` original bytes at `from`.
struct Edit {
    at: usize,
    len: usize,
    from: usize,
    source_len: usize,
}

impl Decoded {
    /// The original byte range that decoded byte `index` came from.
    fn unit(&self, index: usize) -> (usize, usize) {
        let after = self.edits.partition_point(|edit| edit.at <= index);
        let Some(edit) = after.checked_sub(1).map(|i| &self.edits[i]) else {
            return (index, index + 1);
        };
        if index < edit.at + edit.len {
            (edit.from, edit.from + edit.source_len)
        } else {
            let original = index - (edit.at + edit.len) + edit.from + edit.source_len;
            (original, original + 1)
        }
    }

    /// Builds a reading of `text` where `decode` turns the escape at a byte offset into
    /// bytes and returns its length. Escapes whose bytes are not `relevant` stay as they
    /// are; `None` when no escape was decoded.
    fn build(
        text: &str,
        trigger: &AhoCorasick,
        relevant: impl Fn(&[u8]) -> bool,
        decode: impl Fn(&[u8], usize, &mut Vec<u8>) -> Option<usize>,
    ) -> Option<Decoded> {
        let hay = text.as_bytes();
        let mut bytes = Vec::new();
        let mut edits = Vec::new();
        let mut copied = 0;
        let mut search = 0;
        let mut scratch = Vec::with_capacity(4);
        for found in trigger.find_iter(hay) {
            let at = found.start();
            if at < search {
                continue;
            }
            scratch.clear();
            match decode(hay, at, &mut scratch) {
                Some(source_len) if relevant(&scratch) => {
                    if bytes.is_empty() {
                        bytes.reserve(hay.len());
                    }
                    bytes.extend_from_slice(&hay[copied..at]);
                    edits.push(Edit {
                        at: bytes.len(),
                        len: scratch.len(),
                        from: at,
                        source_len,
                    });
                    bytes.extend_from_slice(&scratch);
                    copied = at + source_len;
                    search = copied;
                }
                Some(source_len) => search = at + source_len,
                None => search = at + 1,
            }
        }
        if edits.is_empty() {
            return None;
        }
        bytes.extend_from_slice(&hay[copied..]);
        Some(Decoded { bytes, edits })
    }

    /// `text` with JSON string escapes decoded (`\"`, `\\`, `\/`, `\b`, `\f`, `\n`, `\r`,
    /// `\t`, `\uXXXX` and surrogate pairs); `escape` finds `\` for all of them, or `\u`.
    fn json_unescape(
        text: &str,
        escape: &AhoCorasick,
        relevant: impl Fn(&[u8]) -> bool,
    ) -> Option<Decoded> {
        Decoded::build(text, escape, relevant, |hay, at, out| {
            let simple = match hay.get(at + 1)? {
                b'"' => b'"',
                b'\\' => b'\\',
                b'/' => b'/',
                b'b' => 0x08,
                b'f' => 0x0c,
                b'n' => b'\n',
                b'r' => b'\r',
                b't' => b'\t',
                b'u' => {
                    let (ch, len) = unicode_escape(hay, at)?;
                    let mut buffer = [0u8; 4];
                    out.extend_from_slice(ch.encode_utf8(&mut buffer).as_bytes());
                    return Some(len);
                }
                _ => return None,
            };
            out.push(simple);
            Some(2)
        })
    }

    /// `text` with `%XX` escapes decoded; `percent` finds `%`.
    fn percent_decode(
        text: &str,
        percent: &AhoCorasick,
        relevant: impl Fn(&[u8]) -> bool,
    ) -> Option<Decoded> {
        Decoded::build(text, percent, relevant, |hay, at, out| {
            let high = hex_digit(*hay.get(at + 1)?)?;
            let low = hex_digit(*hay.get(at + 2)?)?;
            out.push((high << 4) | low);
            Some(3)
        })
    }
}

/// The character a `\uXXXX` escape (or a `\uD8xx\uDCxx` pair) at `at` stands for, and the
/// escape's length.
fn unicode_escape(hay: &[u8], at: usize) -> Option<(char, usize)> {
    let unit = |at: usize| -> Option<u32> {
        if hay.get(at..at + 2)? != b"\\u" {
            return None;
        }
        hay.get(at + 2..at + 6)?
            .iter()
            .try_fold(0u32, |acc, &byte| {
                Some((acc << 4) | u32::from(hex_digit(byte)?))
            })
    };
    let first = unit(at)?;
    if (0xd800..0xdc00).contains(&first) {
        let second = unit(at + 6).filter(|low| (0xdc00..0xe000).contains(low))?;
        let code = 0x10000 + ((first - 0xd800) << 10) + (second - 0xdc00);
        return Some((char::from_u32(code)?, 12));
    }
    Some((char::from_u32(first)?, 6))
}

fn hex_digit(byte: u8) -> Option<u8> {
    (byte as char).to_digit(16).map(|digit| digit as u8)
}

// ---------------------------------------------------------------------------------------
// Pattern rules
// ---------------------------------------------------------------------------------------

/// How a rule's regex is written.
enum Shape {
    /// A regex as is.
    Token(&'static str),
    /// gitleaks' "semi-generic" form: one of `names` (a regex), a few separator characters,
    /// an assignment operator, optional quotes, then the secret `value` (a regex) and a
    /// terminator. gitleaks also lets up to 50 identifier characters precede the name; they
    /// take no part in the secret, so they are left out of the search, and only the
    /// `allow_match` lists see them (see [`identifier_prefix`]).
    Assignment {
        names: &'static str,
        value: &'static str,
    },
}

/// One rule of the table.
struct Spec {
    id: &'static str,
    shape: Shape,
    /// Lowercase literals, one of which must occur (case-insensitively) for the rule to run;
    /// empty to always run.
    keywords: &'static [&'static str],
    /// The secret's Shannon entropy (bits per byte) must exceed this; 0 for no threshold.
    entropy: f64,
    /// Regexes that clear a secret when they match it.
    allow_secret: &'static [&'static str],
    /// Regexes that clear a secret when they match the whole match, with the identifier
    /// characters before it.
    allow_match: &'static [&'static str],
}

/// The terminator after a secret in most gitleaks rules.
macro_rules! end {
    () => {
        r#"(?:[\x60'"\s;]|\\[nr]|$)"#
    };
}

/// The built-in rules, most specific first: on overlap, the earlier rule names the marker.
/// Ids, regexes, keywords and entropy thresholds are gitleaks' unless marked "Warden's".
const SPECS: &[Spec] = &[
    Spec {
        id: "private-key",
        // gitleaks' rule, plus a second branch (Warden's) for a block cut short before its
        // END line: the header and the base64 body that follows.
        shape: Shape::Token(concat!(
            r"(?i)-----BEGIN[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----(?s:.){64,}?KEY(?: BLOCK)?-----",
            r"|(?i)-----BEGIN[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----[\sA-Za-z0-9+/=:,\\-]{64,}",
        )),
        keywords: &["-----begin"],
        entropy: 0.0,
        allow_secret: &[],
        allow_match: &[],
    },
    Spec {
        id: "aws-access-token",
        shape: Shape::Token(r"\b((?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16})\b"),
        keywords: &["a3t", "akia", "asia", "abia", "acca"],
        entropy: 3.0,
        allow_secret: &[],
        allow_match: &[],
    },
    Spec {
        id: "github-fine-grained-pat",
        shape: Shape::Token(r"github_pat_\w{82}"),
        keywords: &["github_pat_"],
        entropy: 3.0,
        allow_secret: &[],
        allow_match: &[],
    },
    Spec {
        id: "github-pat",
        shape: Shape::Token(r"ghp_[0-9a-zA-Z]{36}"),
        keywords: &["ghp_"],
        entropy: 3.0,
        allow_secret: &[],
        allow_match: &[],
    },
    Spec {
        id: "github-oauth",
        shape: Shape::Token(r"gho_[0-9a-zA-Z]{36}"),
        keywords: &["gho_"],
        entropy: 3.0,
        allow_secret: &[],
        allow_match: &[],
    },
    Spec {
        id: "github-app-token",
        shape: Shape::Token(r"(?:ghu|ghs)_[0-9a-zA-Z]{36}"),
        keywords: &["ghu_", "ghs_"],
        entropy: 3.0,
        allow_secret: &[],
        allow_match: &[],
    },
    Spec {
        id: "github-refresh-token",
        shape: Shape::Token(r"ghr_[0-9a-zA-Z]{36}"),
        keywords: &["ghr_"],
        entropy: 3.0,
        allow_secret: &[],
        allow_match: &[],
    },
    Spec {
        id: "gitlab-pat-routable",
        shape: Shape::Token(r"\bglpat-[0-9a-zA-Z_-]{27,300}\.[0-9a-z]{2}[0-9a-z]{7}\b"),
        keywords: &["glpat-"],
        entropy: 4.0,
        allow_secret: &[],
        allow_match: &[],
    },
    Spec {
        id: "gitlab-pat",
        shape: Shape::Token(r"glpat-[\w-]{20}"),
        keywords: &["glpat-"],
        entropy: 3.0,
        allow_secret: &[],
        allow_match: &[],
    },
    Spec {
        id: "gitlab-ptt",
        shape: Shape::Token(r"glptt-[0-9a-f]{40}"),
        keywords: &["glptt-"],
        entropy: 3.0,
        allow_secret: &[],
        allow_match: &[],
    },
    Spec {
        id: "gitlab-runner-authentication-token",
        shape: Shape::Token(r"glrt-[0-9a-zA-Z_\-]{20}"),
        keywords: &["glrt-"],
        entropy: 3.0,
        allow_secret: &[],
        allow_match: &[],
    },
    Spec {
        id: "gitlab-deploy-token",
        shape: Shape::Token(r"gldt-[0-9a-zA-Z_\-]{20}"),
        keywords: &["gldt-"],
        entropy: 3.0,
        allow_secret: &[],
        allow_match: &[],
    },
    Spec {
        id: "slack-bot-token",
        shape: Shape::Token(r"xoxb-[0-9]{10,13}-[0-9]{10,13}[a-zA-Z0-9-]*"),
        keywords: &["xoxb"],
        entropy: 3.0,
        allow_secret: &[],
        allow_match: &[],
    },
    Spec {
        id: "slack-user-token",
        shape: Shape::Token(r"xox[pe](?:-[0-9]{10,13}){3}-[a-zA-Z0-9-]{28,34}"),
        keywords: &["xoxp-", "xoxe-"],
        entropy: 2.0,
        allow_secret: &[],
        allow_match: &[],
    },
    Spec {
        id: "slack-app-token",
        shape: Shape::Token(r"(?i)xapp-\d-[A-Z0-9]+-\d+-[a-z0-9]+"),
        keywords: &["xapp"],
        entropy: 2.0,
        allow_secret: &[],
        allow_match: &[],
    },
    Spec {
        id: "slack-webhook-url",
        shape: Shape::Token(
            r"(?:https?://)?hooks.slack.com/(?:services|workflows|triggers)/[A-Za-z0-9+/]{43,56}",
        ),
        keywords: &["hooks.slack.com"],
        entropy: 0.0,
        allow_secret: &[],
        allow_match: &[],
    },
    Spec {
        id: "stripe-access-token",
        shape: Shape::Token(concat!(
            r"\b((?:sk|rk)_(?:test|live|prod)_[a-zA-Z0-9]{10,99})",
            end!()
        )),
        keywords: &[
            "sk_test", "sk_live", "sk_prod", "rk_test", "rk_live", "rk_prod",
        ],
        entropy: 2.0,
        allow_secret: &[],
        allow_match: &[],
    },
    Spec {
        id: "gcp-api-key",
        shape: Shape::Token(concat!(r"\b(AIza[\w-]{35})", end!())),
        keywords: &["aiza"],
        entropy: 4.0,
        allow_secret: &[],
        allow_match: &[],
    },
    Spec {
        id: "jwt",
        shape: Shape::Token(concat!(
            r"\b(ey[a-zA-Z0-9]{17,}\.ey[a-zA-Z0-9/\\_-]{17,}\.(?:[a-zA-Z0-9/\\_-]{10,}={0,2})?)",
            end!()
        )),
        // gitleaks' keyword is `ey`, which nearly every English text holds; every match
        // also holds `.ey` (the second segment), a far better filter.
        keywords: &[".ey"],
        entropy: 3.0,
        allow_secret: &[],
        allow_match: &[],
    },
    Spec {
        id: "npm-access-token",
        shape: Shape::Token(concat!(r"(?i)\b(npm_[a-z0-9]{36})", end!())),
        keywords: &["npm_"],
        entropy: 2.0,
        allow_secret: &[],
        allow_match: &[],
    },
    Spec {
        id: "pypi-upload-token",
        shape: Shape::Token(r"pypi-AgEIcHlwaS5vcmc[\w-]{50,1000}"),
        keywords: &["pypi-ageichlwas5vcmc"],
        entropy: 3.0,
        allow_secret: &[],
        allow_match: &[],
    },
    Spec {
        id: "anthropic-admin-api-key",
        shape: Shape::Token(concat!(r"\b(sk-ant-admin01-[a-zA-Z0-9_\-]{93}AA)", end!())),
        keywords: &["sk-ant-admin01"],
        entropy: 0.0,
        allow_secret: &[],
        allow_match: &[],
    },
    Spec {
        id: "anthropic-api-key",
        shape: Shape::Token(concat!(r"\b(sk-ant-api03-[a-zA-Z0-9_\-]{93}AA)", end!())),
        keywords: &["sk-ant-api03"],
        entropy: 0.0,
        allow_secret: &[],
        allow_match: &[],
    },
    Spec {
        id: "openai-api-key",
        shape: Shape::Token(concat!(
            r"\b(sk-(?:proj|svcacct|admin)-(?:[A-Za-z0-9_-]{74}|[A-Za-z0-9_-]{58})T3BlbkFJ(?:[A-Za-z0-9_-]{74}|[A-Za-z0-9_-]{58})\b",
            r"|sk-[a-zA-Z0-9]{20}T3BlbkFJ[a-zA-Z0-9]{20})",
            end!()
        )),
        keywords: &["t3blbkfj"],
        entropy: 3.0,
        allow_secret: &[],
        allow_match: &[],
    },
    Spec {
        id: "twilio-api-key",
        shape: Shape::Token(r"SK[0-9a-fA-F]{32}"),
        keywords: &["sk"],
        entropy: 3.0,
        allow_secret: &[],
        allow_match: &[],
    },
    Spec {
        id: "sendgrid-api-token",
        shape: Shape::Token(concat!(r"\b(SG\.(?i)[a-z0-9=_\-\.]{66})", end!())),
        keywords: &["sg."],
        entropy: 2.0,
        allow_secret: &[],
        allow_match: &[],
    },
    Spec {
        id: "heroku-api-key-v2",
        shape: Shape::Token(concat!(r"\b((HRKU-AA[0-9a-zA-Z_-]{58}))", end!())),
        keywords: &["hrku-aa"],
        entropy: 4.0,
        allow_secret: &[],
        allow_match: &[],
    },
    Spec {
        id: "heroku-api-key",
        shape: Shape::Assignment {
            names: "heroku",
            value: "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
        },
        keywords: &["heroku"],
        entropy: 0.0,
        allow_secret: &[],
        allow_match: &[],
    },
    Spec {
        id: "digitalocean-pat",
        shape: Shape::Token(concat!(r"\b(dop_v1_[a-f0-9]{64})", end!())),
        keywords: &["dop_v1_"],
        entropy: 3.0,
        allow_secret: &[],
        allow_match: &[],
    },
    Spec {
        id: "huggingface-access-token",
        shape: Shape::Token(concat!(r"\b(hf_(?i:[a-z]{34}))", end!())),
        keywords: &["hf_"],
        entropy: 2.0,
        allow_secret: &[],
        allow_match: &[],
    },
    Spec {
        id: "databricks-api-token",
        shape: Shape::Token(concat!(r"\b(dapi[a-f0-9]{32}(?:-\d)?)", end!())),
        keywords: &["dapi"],
        entropy: 3.0,
        allow_secret: &[],
        allow_match: &[],
    },
    Spec {
        id: "shopify-access-token",
        shape: Shape::Token(r"shpat_[a-fA-F0-9]{32}"),
        keywords: &["shpat_"],
        entropy: 2.0,
        allow_secret: &[],
        allow_match: &[],
    },
    Spec {
        // Warden's: the password of a URL's userinfo (`postgres://user:pass@host`,
        // `redis://:pass@host`).
        id: "url-credentials",
        shape: Shape::Token(
            r#"(?i)\b[a-z][a-z0-9+.-]{1,30}://[^\s:/?#@'"\x60<>]{0,256}:([^\s/?#@'"\x60<>]{1,256})@"#,
        ),
        keywords: &["://"],
        entropy: 0.0,
        allow_secret: &[],
        allow_match: &[],
    },
    Spec {
        // Warden's, in gitleaks' semi-generic form: an AWS secret access key assigned to a
        // name that says so (`aws_secret_access_key = ...`, `"SecretAccessKey": "..."`).
        id: "aws-secret-access-key",
        shape: Shape::Assignment {
            names: r"(?:aws[_.-]?)?secret[_.-]?(?:access[_.-]?)?key",
            value: "[A-Za-z0-9/+]{40}",
        },
        keywords: &["secret"],
        entropy: 3.5,
        allow_secret: &[],
        allow_match: &[],
    },
    Spec {
        id: "generic-api-key",
        shape: Shape::Assignment {
            names: r"access|auth|(?-i:[Aa]pi|API)|credential|creds|key|passw(?:or)?d|secret|token",
            value: r"[\w.=-]{10,150}|[a-z0-9][a-z0-9+/]{11,}={0,3}",
        },
        keywords: &[
            "access",
            "api",
            "auth",
            "key",
            "credential",
            "creds",
            "passwd",
            "password",
            "secret",
            "token",
        ],
        entropy: 3.5,
        allow_secret: &[r"^[a-zA-Z_.-]+$"],
        allow_match: &[concat!(
            r"(?i)(?:access(?:ibility|or)|access[_.-]?id|random[_.-]?access|api[_.-]?(?:id|name|version)|rapid|capital",
            r"|[a-z0-9-]*?api[a-z0-9-]*?:jar:|author|X-MS-Exchange-Organization-Auth|Authentication-Results",
            r"|(?:credentials?[_.-]?id|withCredentials)|(?:bucket|foreign|hot|idx|natural|primary|pub(?:lic)?|schema|sequence)[_.-]?key",
            r"|(?:turkey)|key[_.-]?(?:alias|board|code|frame|id|length|mesh|name|pair|press(?:ed)?|ring|selector|signature|size|stone|storetype|word|up|down|left|right)",
            r"|key[_.-]?vault[_.-]?(?:id|name)|keyVaultToStoreSecrets|key(?:store|tab)[_.-]?(?:file|path)|issuerkeyhash",
            r"|(?-i:[DdMm]onkey|[DM]ONKEY)|keying|(?:secret)[_.-]?(?:length|name|size)|UserSecretsId|(?:csrf)[_.-]?token",
            r"|(?:io\.jsonwebtoken[ \t]?:[ \t]?[\w-]+)|(?:api|credentials|token)[_.-]?(?:endpoint|ur[il])|public[_.-]?token",
            r"|(?:key|token)[_.-]?file",
            r"|(?-i:(?:[A-Z_]+=\n[A-Z_]+=|[a-z_]+=\n[a-z_]+=)(?:\n|\z))|(?-i:(?:[A-Z.]+=\n[A-Z.]+=|[a-z.]+=\n[a-z.]+=)(?:\n|\z)))",
        )],
    },
];

/// gitleaks' global allowlist: secrets that are placeholders, not credentials.
const GLOBAL_ALLOW: &[&str] = &[
    r"(?i)^(?:true|false|null)$",
    r"^(?i:a+|b+|c+|d+|e+|f+|g+|h+|i+|j+|k+|l+|m+|n+|o+|p+|q+|r+|s+|t+|u+|v+|w+|x+|y+|z+|\*+|\.+)$",
    r"^\$(?:\d+|\{\d+\})$",
    r"^\$(?:[A-Z_]+|[a-z_]+)$",
    r"^\$\{(?:[A-Z_]+|[a-z_]+)\}$",
    r"^\{\{[ \t]*[\w ().|]+[ \t]*\}\}$",
    r#"^\$\{\{[ \t]*(?:(?:env|github|secrets|vars)(?:\.[A-Za-z]\w+)+[\w "'&./=|]*)[ \t]*\}\}$"#,
    r"^%(?:[A-Z_]+|[a-z_]+)%$",
    r"^%[+\-# 0]?[bcdeEfFgGoOpqstTUvxX]$",
    r"^\{\d{0,2}\}$",
    r"^@(?:[A-Z_]+|[a-z_]+)@$",
    r"^/Users/(?i)[a-z0-9]+/[\w .-/]+$",
    r"^/(?:bin|etc|home|opt|tmp|usr|var)/[\w ./-]+$",
];

/// gitleaks' global stopwords: a secret containing one is not a credential.
const GLOBAL_STOPWORDS: &[&str] = &[
    "014df517-39d1-4453-b7b3-9930c563627c",
    "abcdefghijklmnopqrstuvwxyz",
];

/// The compiled rule table, shared by every redactor.
static RULES: LazyLock<Rules> = LazyLock::new(|| Rules::compile(SPECS));

/// Compiles the built-in rules on a thread of its own, so that they are ready (or nearly)
/// when the first text is redacted: start-up loads the components meanwhile.
pub fn compile_in_background() {
    // Nothing to wait for: the first redaction waits for the rules if they are not ready
    // yet (and compiles them itself if this thread could not be started).
    let _ = std::thread::Builder::new()
        .name("warden-redact".into())
        .spawn(|| LazyLock::force(&RULES));
}

struct Rules {
    rules: Vec<Rule>,
    /// One case-insensitive automaton over every rule's keywords.
    keywords: AhoCorasick,
    /// The rules each keyword turns on, by keyword pattern index.
    by_keyword: Vec<Vec<usize>>,
    /// The rules without keywords.
    always: Vec<usize>,
    global_allow: Regex,
}

struct Rule {
    id: &'static str,
    search: Search,
    entropy: f64,
    allow_secret: Vec<Regex>,
    allow_match: Vec<Regex>,
}

/// How a rule looks for matches.
enum Search {
    /// Over the whole text.
    Scan(Regex),
    /// Anchored (`^`) at each occurrence of one of the rule's keywords: for the
    /// [`Shape::Assignment`] rules, whose names are their keywords. Unanchored, their leading
    /// name alternation has no literal a prefilter could use.
    AtKeyword(Regex),
}

/// What the keyword pass found in a text, for the rules to use.
struct Scan {
    /// Which [`Search::Scan`] rules run, by rule index.
    on: Vec<bool>,
    /// Each occurrence of a keyword of a [`Search::AtKeyword`] rule where an assignment may
    /// follow, sorted.
    anchors: Vec<Anchor>,
    /// The markers the previous pass wrote; `None` on the first pass.
    markers: Option<Vec<(usize, usize)>>,
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Anchor {
    at: usize,
    rule: usize,
    /// Whether to try the rule here: always on the first pass; on later passes only near
    /// a marker the previous pass wrote, as elsewhere the outcome cannot have changed.
    fresh: bool,
}

/// How far before an anchor a marker can change an assignment's outcome: the identifier
/// characters its allowlist looks at.
const ASSIGNMENT_BEHIND: usize = 51;
/// How far after an anchor a marker can change an assignment's outcome: the name and the
/// separators (64), the operator and quotes (9), a value of up to 150 bytes and its
/// terminator. A marker further on cuts a longer value before its terminator, and a value
/// must end in a terminator, so it can only remove a match.
const ASSIGNMENT_AHEAD: usize = 64 + 9 + 150 + 2;

/// Compiles a rule regex: bytes, ASCII classes and boundaries, as in Go's RE2 that gitleaks
/// uses. Matches are moved to char boundaries afterwards.
fn compile(pattern: &str) -> Regex {
    RegexBuilder::new(pattern)
        .unicode(false)
        .build()
        .unwrap_or_else(|error| panic!("built-in redaction regex `{pattern}`: {error}"))
}

impl Rules {
    fn compile(specs: &[Spec]) -> Rules {
        let mut keywords: Vec<&str> = Vec::new();
        let mut by_keyword: Vec<Vec<usize>> = Vec::new();
        let mut always = Vec::new();
        let mut rules = Vec::with_capacity(specs.len());
        for (index, spec) in specs.iter().enumerate() {
            let search = match spec.shape {
                Shape::Token(pattern) => Search::Scan(compile(pattern)),
                Shape::Assignment { names, value } => Search::AtKeyword(compile(&format!(
                    concat!(
                        r#"^(?i)(?:{names})(?:[ \t\w.-]{{0,20}})[\s'"]{{0,3}}(?:=|>|:{{1,3}}=|\|\||:|=>|\?=|,)[\x60'"\s=]{{0,5}}({value})"#,
                        end!()
                    ),
                    names = names,
                    value = value,
                ))),
            };
            rules.push(Rule {
                id: spec.id,
                search,
                entropy: spec.entropy,
                allow_secret: spec.allow_secret.iter().map(|p| compile(p)).collect(),
                allow_match: spec.allow_match.iter().map(|p| compile(p)).collect(),
            });
            if spec.keywords.is_empty() {
                always.push(index);
            }
            for keyword in spec.keywords {
                match keywords.iter().position(|known| known == keyword) {
                    Some(at) => by_keyword[at].push(index),
                    None => {
                        keywords.push(keyword);
                        by_keyword.push(vec![index]);
                    }
                }
            }
        }
        let keywords = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .kind(Some(AhoCorasickKind::DFA))
            .build(&keywords)
            .expect("keywords are short literals");
        let global_allow = compile(&format!("(?:{})", GLOBAL_ALLOW.join(")|(?:")));
        Rules {
            rules,
            keywords,
            by_keyword,
            always,
            global_allow,
        }
    }

    /// One pass over `hay` for every keyword occurrence. (Keywords such as `key` or `sk` are
    /// so common in text that a prefilter would only slow the automaton down: it walks
    /// every byte, as a DFA.)
    fn scan(&self, hay: &[u8]) -> Scan {
        let mut on = vec![false; self.rules.len()];
        for &index in &self.always {
            on[index] = true;
        }
        let mut anchors = Vec::new();
        for found in self.keywords.find_overlapping_iter(hay) {
            // Whether an assignment may start here: worked out once per keyword, and
            // final, as a marker written later can only cut the runs it looks for.
            let mut assignment = None;
            for &rule in &self.by_keyword[found.pattern().as_usize()] {
                match self.rules[rule].search {
                    Search::Scan(_) => on[rule] = true,
                    Search::AtKeyword(_) => {
                        if *assignment
                            .get_or_insert_with(|| assignment_may_follow(&hay[found.start()..]))
                        {
                            anchors.push(Anchor {
                                at: found.start(),
                                rule,
                                fresh: true,
                            });
                        }
                    }
                }
            }
        }
        anchors.sort_unstable();
        anchors.dedup();
        Scan {
            on,
            anchors,
            markers: None,
        }
    }

    /// Every accepted match of the rules `scan` turned on.
    fn find(&self, hay: &[u8], scan: &Scan, spans: &mut Vec<Span>) {
        for (index, rule) in self.rules.iter().enumerate() {
            if let (Search::Scan(regex), true) = (&rule.search, scan.on[index]) {
                let mut at = 0;
                let mut locations = regex.capture_locations();
                while let Some(whole) = regex.captures_read_at(&mut locations, hay, at) {
                    let secret = (1..locations.len())
                        .find_map(|group| locations.get(group))
                        .unwrap_or((whole.start(), whole.end()));
                    self.judge(
                        index,
                        rule,
                        hay,
                        (whole.start(), whole.end()),
                        secret,
                        spans,
                    );
                    at = whole.end().max(whole.start() + 1);
                    if at > hay.len() {
                        break;
                    }
                }
            }
        }
        for anchor in scan.anchors.iter().filter(|anchor| anchor.fresh) {
            let (at, index) = (anchor.at, anchor.rule);
            let rule = &self.rules[index];
            let Search::AtKeyword(regex) = &rule.search else {
                continue;
            };
            if !assignment_may_follow(&hay[at..]) {
                continue;
            }
            let mut locations = regex.capture_locations();
            if let Some(whole) = regex.captures_read(&mut locations, &hay[at..]) {
                let (start, end) = locations.get(1).expect("an assignment captures its value");
                let whole = (at + whole.start(), at + whole.end());
                self.judge(index, rule, hay, whole, (at + start, at + end), spans);
            }
        }
    }

    /// Adds `secret` (a byte range of `hay`, inside the match `whole`) unless its entropy is
    /// too low or an allowlist clears it.
    fn judge(
        &self,
        index: usize,
        rule: &Rule,
        hay: &[u8],
        whole: (usize, usize),
        secret: (usize, usize),
        spans: &mut Vec<Span>,
    ) {
        let text = &hay[secret.0..secret.1];
        if rule.entropy > 0.0 && shannon_entropy(text) <= rule.entropy {
            return;
        }
        if self.global_allow.is_match(text)
            || GLOBAL_STOPWORDS.iter().any(|stop| {
                text.windows(stop.len())
                    .any(|window| window.eq_ignore_ascii_case(stop.as_bytes()))
            })
            || rule.allow_secret.iter().any(|allow| allow.is_match(text))
        {
            return;
        }
        if !rule.allow_match.is_empty() {
            let context = &hay[identifier_prefix(hay, whole.0)..whole.1];
            if rule.allow_match.iter().any(|allow| allow.is_match(context)) {
                return;
            }
        }
        spans.push(Span {
            start: secret.0,
            end: secret.1,
            label: Label::Rule(index),
        });
    }
}

/// Byte classes for [`assignment_may_follow`].
const WORD: u8 = 1;
const BLANK: u8 = 2;
const SPACE: u8 = 4;
const QUOTE: u8 = 8;
const OPERATOR: u8 = 16;
const VALUE: u8 = 32;
const BACKTICK: u8 = 64;

static CLASSES: [u8; 256] = {
    let mut classes = [0u8; 256];
    let mut byte = 0;
    while byte < 256 {
        let b = byte as u8;
        let mut class = 0;
        if b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'-' {
            class |= WORD | VALUE;
        }
        if b == b' ' || b == b'\t' {
            class |= BLANK | SPACE;
        }
        if b == b'\n' || b == b'\r' || b == 0x0b || b == 0x0c {
            class |= SPACE;
        }
        if b == b'\'' || b == b'"' {
            class |= QUOTE;
        }
        if matches!(b, b'=' | b'>' | b':' | b'|' | b'?' | b',') {
            class |= OPERATOR;
        }
        if b == b'=' || b == b'+' || b == b'/' {
            class |= VALUE;
        }
        if b == b'`' {
            class |= BACKTICK;
        }
        classes[byte] = class;
        byte += 1;
    }
    classes
};

/// Whether an assignment can start at the name at the start of `hay`: a cheap test that
/// lets through everything the [`Shape::Assignment`] regex would match. The name and up to
/// 20 more bytes are `[ \t\w.-]`, up to 3 of `[\s'"]` follow, then the operator (at most 4
/// bytes) and up to 5 of ``[`'"\s=]``, then a value of at least 10 bytes of `[\w.=+/-]`
/// (which may begin with some of the `=` skipped). Taking each run greedily is enough, as
/// no operator is in the classes before it.
fn assignment_may_follow(hay: &[u8]) -> bool {
    let run = |from: usize, limit: usize, class: u8| {
        hay[from.min(hay.len())..]
            .iter()
            .take(limit)
            .take_while(|&&byte| CLASSES[usize::from(byte)] & class != 0)
            .count()
    };
    let mut at = run(0, usize::MAX, WORD);
    at += run(at, 20, WORD | BLANK);
    at += run(at, 3, SPACE | QUOTE);
    if hay
        .get(at)
        .is_none_or(|&byte| CLASSES[usize::from(byte)] & OPERATOR == 0)
    {
        return false;
    }
    let skipped = run(at, 9, OPERATOR | SPACE | QUOTE | BACKTICK);
    let equals = hay[at..at + skipped]
        .iter()
        .rev()
        .take_while(|&&byte| byte == b'=')
        .count();
    equals + run(at + skipped, 10, VALUE) >= 10
}

/// Where the identifier characters (`[\w.-]`, at most 50) that end at `end` begin: the part
/// of gitleaks' match that its semi-generic regexes take before the name.
fn identifier_prefix(hay: &[u8], end: usize) -> usize {
    let run = hay[..end]
        .iter()
        .rev()
        .take(50)
        .take_while(|&&byte| byte.is_ascii_alphanumeric() || matches!(byte, b'_' | b'.' | b'-'))
        .count();
    end - run
}

/// Shannon entropy of `bytes`, in bits per byte.
fn shannon_entropy(bytes: &[u8]) -> f64 {
    if bytes.is_empty() {
        return 0.0;
    }
    let mut counts = [0u32; 256];
    for &byte in bytes {
        counts[usize::from(byte)] += 1;
    }
    let total = bytes.len() as f64;
    counts
        .iter()
        .filter(|&&count| count > 0)
        .map(|&count| {
            let p = f64::from(count) / total;
            -p * p.log2()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;

    fn redact(redactor: &Redactor, text: &str) -> (String, Report) {
        let mut report = Report::default();
        let out = redactor.redact_str(text, &mut report).into_owned();
        (out, report)
    }

    fn builtin() -> Redactor {
        Redactor::new([])
    }

    /// `n` characters cycling through `alphabet`, starting at `seed`: fake key material.
    fn fake(alphabet: &str, n: usize, seed: usize) -> String {
        let chars: Vec<char> = alphabet.chars().collect();
        (0..n)
            .map(|i| chars[(seed + i * 7 + i / chars.len()) % chars.len()])
            .collect()
    }

    const ALNUM: &str = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    const LOWER_ALNUM: &str = "0123456789abcdefghijklmnopqrstuvwxyz";
    const HEX: &str = "0123456789abcdef";

    /// (rule, a text holding a credential, the credential, a near miss).
    fn examples() -> Vec<(&'static str, String, String, String)> {
        let body = fake(ALNUM, 64, 3);
        let pem = format!(
            "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA{body}\n{body}\n-----END RSA PRIVATE KEY-----"
        );
        let fine = format!("github_pat_{}", fake(ALNUM, 82, 5));
        let ghp = format!("ghp_{}", fake(ALNUM, 36, 1));
        let gho = format!("gho_{}", fake(ALNUM, 36, 2));
        let ghs = format!("ghs_{}", fake(ALNUM, 36, 4));
        let ghr = format!("ghr_{}", fake(ALNUM, 36, 6));
        let routable = format!("glpat-{}.01{}", fake(ALNUM, 30, 8), fake(LOWER_ALNUM, 7, 2));
        let glpat = format!("glpat-{}", fake(ALNUM, 20, 9));
        let glptt = format!("glptt-{}", fake(HEX, 40, 1));
        let glrt = format!("glrt-{}", fake(ALNUM, 20, 11));
        let gldt = format!("gldt-{}", fake(ALNUM, 20, 12));
        let xoxb = format!("xoxb-1234567890-1234567890123-{}", fake(ALNUM, 24, 13));
        let xoxp = format!(
            "xoxp-1234567890-2345678901-3456789012-{}",
            fake(ALNUM, 32, 14)
        );
        let xapp = format!("xapp-1-A0123456789-1234567890123-{}", fake(HEX, 64, 3));
        let hook = format!(
            "https://hooks.slack.com/services/T00000000/B00000000/{}",
            fake(ALNUM, 24, 15)
        );
        let stripe = format!("sk_live_{}", fake(ALNUM, 24, 16));
        let gcp = "AIzaSyDaGmWKa4JsXZ-HjGw7ISLn_3namBGewQe".to_string();
        let jwt = concat!(
            "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.",
            "eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.",
            "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
        )
        .to_string();
        let npm = format!("npm_{}", fake(LOWER_ALNUM, 36, 17));
        let pypi = format!("pypi-AgEIcHlwaS5vcmc{}", fake(ALNUM, 60, 18));
        let admin = format!("sk-ant-admin01-{}AA", fake(ALNUM, 93, 19));
        let anthropic = format!("sk-ant-api03-{}AA", fake(ALNUM, 93, 20));
        let openai = format!("sk-{}T3BlbkFJ{}", fake(ALNUM, 20, 21), fake(ALNUM, 20, 22));
        let twilio = format!("SK{}", fake(HEX, 32, 23));
        let sendgrid = format!("SG.{}.{}", fake(ALNUM, 22, 24), fake(ALNUM, 43, 25));
        let heroku2 = format!("HRKU-AA{}", fake(ALNUM, 58, 26));
        let uuid = "01234567-89ab-cdef-0123-456789abcdef".to_string();
        let dop = format!("dop_v1_{}", fake(HEX, 64, 27));
        let hf = format!(
            "hf_{}",
            fake(
                "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
                34,
                28
            )
        );
        let dapi = format!("dapi{}", fake(HEX, 32, 29));
        let shpat = format!("shpat_{}", fake(HEX, 32, 30));
        let aws_secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".to_string();
        let generic = "a1b2c3d4e5f6g7h8i9j0kLmNoP".to_string();
        let cut = |token: &str| token[..token.len() - 1].to_string();
        vec![
            (
                "private-key",
                format!("key file:\n{pem}\n"),
                pem.clone(),
                pem.replace("PRIVATE", "PUBLIC"),
            ),
            (
                "aws-access-token",
                "id AKIAIOSFODNN7EXAMPLE here".into(),
                "AKIAIOSFODNN7EXAMPLE".into(),
                "id AKIAIOSFODNN7EXAMPLEX here".into(),
            ),
            (
                "github-fine-grained-pat",
                format!("GH={fine}"),
                fine.clone(),
                format!("GH={}", cut(&fine)),
            ),
            (
                "github-pat",
                format!("token {ghp} ok"),
                ghp.clone(),
                format!("x {} ok", cut(&ghp)),
            ),
            ("github-oauth", format!("{gho}\n"), gho.clone(), cut(&gho)),
            (
                "github-app-token",
                format!("'{ghs}'"),
                ghs.clone(),
                cut(&ghs),
            ),
            ("github-refresh-token", ghr.clone(), ghr.clone(), cut(&ghr)),
            (
                "gitlab-pat-routable",
                format!("{routable} "),
                routable.clone(),
                cut(&glpat),
            ),
            (
                "gitlab-pat",
                format!("x {glpat} y"),
                glpat.clone(),
                cut(&glpat),
            ),
            ("gitlab-ptt", glptt.clone(), glptt.clone(), cut(&glptt)),
            (
                "gitlab-runner-authentication-token",
                glrt.clone(),
                glrt.clone(),
                cut(&glrt),
            ),
            (
                "gitlab-deploy-token",
                gldt.clone(),
                gldt.clone(),
                cut(&gldt),
            ),
            (
                "slack-bot-token",
                format!("bot: {xoxb}"),
                xoxb.clone(),
                xoxb.replace("1234567890-", "123456789-"),
            ),
            (
                "slack-user-token",
                format!("{xoxp}\n"),
                xoxp.clone(),
                xoxp.replace("-3456789012", ""),
            ),
            (
                "slack-app-token",
                format!("app {xapp}"),
                xapp.clone(),
                xapp.replace("xapp-1", "xapp-x"),
            ),
            (
                "slack-webhook-url",
                format!("post to {hook}"),
                hook.clone(),
                "https://hooks.slack.com/services/T0/B0/short".into(),
            ),
            (
                "stripe-access-token",
                format!("key: {stripe}\n"),
                stripe.clone(),
                "sk_live_abc123 ".into(),
            ),
            (
                "gcp-api-key",
                format!("k={gcp};"),
                gcp.clone(),
                format!("k={};", cut(&gcp)),
            ),
            (
                "jwt",
                format!("Authorization: Bearer {jwt}\n"),
                jwt.clone(),
                "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9 alone".into(),
            ),
            (
                "npm-access-token",
                format!("{npm}\n"),
                npm.clone(),
                cut(&npm),
            ),
            (
                "pypi-upload-token",
                format!("password = {pypi}"),
                pypi.clone(),
                "pypi-AgEIcHlwaS5vcmcshort".into(),
            ),
            (
                "anthropic-admin-api-key",
                format!("{admin}\n"),
                admin.clone(),
                admin.replace("AA", "AB"),
            ),
            (
                "anthropic-api-key",
                format!("ANTHROPIC={anthropic} "),
                anthropic.clone(),
                anthropic.replace("api03-", "api03-X"),
            ),
            (
                "openai-api-key",
                format!("{openai}\n"),
                openai.clone(),
                openai.replace("T3BlbkFJ", "T3BlbkFX"),
            ),
            (
                "twilio-api-key",
                format!("sid {twilio}"),
                twilio.clone(),
                cut(&twilio),
            ),
            (
                "sendgrid-api-token",
                format!("{sendgrid}\n"),
                sendgrid.clone(),
                format!("{}\n", cut(&sendgrid)),
            ),
            (
                "heroku-api-key-v2",
                format!("{heroku2}\n"),
                heroku2.clone(),
                format!("{}\n", cut(&heroku2)),
            ),
            (
                "heroku-api-key",
                format!("HEROKU_API_KEY={uuid}\n"),
                uuid.clone(),
                format!("request_id={uuid}\n"),
            ),
            (
                "digitalocean-pat",
                format!("{dop}\n"),
                dop.clone(),
                format!("{}\n", cut(&dop)),
            ),
            (
                "huggingface-access-token",
                format!("{hf}\n"),
                hf.clone(),
                format!("{}\n", cut(&hf)),
            ),
            (
                "databricks-api-token",
                format!("{dapi}\n"),
                dapi.clone(),
                format!("{}\n", cut(&dapi)),
            ),
            (
                "shopify-access-token",
                shpat.clone(),
                shpat.clone(),
                cut(&shpat),
            ),
            (
                "url-credentials",
                "DATABASE_URL=postgres://app:s3cr3t-pass@db.internal:5432/app".into(),
                "s3cr3t-pass".into(),
                "see https://example.com:8080/path?q=a@b".into(),
            ),
            (
                "aws-secret-access-key",
                format!("aws_secret_access_key = {aws_secret}\n"),
                aws_secret.clone(),
                "aws_secret_access_key = ${AWS_SECRET}\n".into(),
            ),
            (
                "generic-api-key",
                format!("api_key = \"{generic}\""),
                generic.clone(),
                format!("public_key = \"{generic}\""),
            ),
        ]
    }

    #[test]
    fn every_rule_has_an_example_and_catches_it() {
        let redactor = builtin();
        let examples = examples();
        for rule in &RULES.rules {
            assert!(
                examples.iter().any(|(id, ..)| id == &rule.id),
                "no example for {}",
                rule.id
            );
        }
        for (id, text, secret, _) in &examples {
            let (out, report) = redact(&redactor, text);
            assert!(
                !out.contains(secret.as_str()),
                "{id}: `{secret}` survived in `{out}`"
            );
            assert!(
                out.contains(&format!("[REDACTED:{id}]")),
                "{id}: `{out}` ({report:?})"
            );
            assert_eq!(
                report.rules,
                BTreeSet::from([id.to_string()]),
                "{id}: {out}"
            );
        }
    }

    #[test]
    fn near_misses_are_left_alone() {
        let redactor = builtin();
        for (id, _, _, near) in examples() {
            let (out, report) = redact(&redactor, &near);
            assert_eq!(report.count, 0, "{id}: near miss `{near}` became `{out}`");
        }
    }

    #[test]
    fn only_the_secret_part_of_an_assignment_is_redacted() {
        let redactor = builtin();
        let (out, _) = redact(
            &redactor,
            r#"{"api_key": "a1b2c3d4e5f6g7h8i9j0kLmNoP", "n": 1}"#,
        );
        assert_eq!(out, r#"{"api_key": "[REDACTED:generic-api-key]", "n": 1}"#);
        let (out, _) = redact(&redactor, "redis://:hunter2@cache:6379/0");
        assert_eq!(out, "redis://:[REDACTED:url-credentials]@cache:6379/0");
    }

    #[test]
    fn low_entropy_and_placeholder_values_are_not_credentials() {
        let redactor = builtin();
        for text in [
            "password = \"password123\"",
            "token: aaaaaaaaaaaaaaaaaaaa",
            "api_key = ${API_KEY_FROM_ENVIRONMENT}",
            "author = \"Jonathan8Q2x7Smithers\"",
            "ghp_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            "The key, then the token: both are rotated every hour by the worker.",
        ] {
            let (out, report) = redact(&redactor, text);
            assert_eq!(report.count, 0, "`{text}` became `{out}`");
        }
    }

    #[test]
    fn a_private_key_cut_short_is_still_redacted() {
        let redactor = builtin();
        let body = fake(ALNUM, 64, 7);
        let text = format!("-----BEGIN OPENSSH PRIVATE KEY-----\n{body}\n{body}\n[truncated]");
        let (out, _) = redact(&redactor, &text);
        assert!(!out.contains(&body), "{out}");
        assert!(out.ends_with("[REDACTED:private-key][truncated]"), "{out}");
    }

    const SECRET: &str = "s3cr3t-V@lue/with+chars";

    fn with_secret() -> Redactor {
        Redactor::new([("db", SECRET), ("pin", "abc")])
    }

    /// Every encoding of `secret` the redactor must find: raw, base64 (standard and
    /// URL-safe, padded or not), hex and percent-encoding in either case, and JSON `\u`
    /// escapes (UTF-16 units, either case).
    fn encodings(secret: &str) -> Vec<String> {
        let bytes = secret.as_bytes();
        let escapes = |upper: bool| {
            secret
                .encode_utf16()
                .map(|unit| match upper {
                    true => format!("\\u{unit:04X}"),
                    false => format!("\\u{unit:04x}"),
                })
                .collect()
        };
        vec![
            secret.to_string(),
            STANDARD.encode(bytes),
            STANDARD_NO_PAD.encode(bytes),
            URL_SAFE.encode(bytes),
            URL_SAFE_NO_PAD.encode(bytes),
            hex::encode(bytes),
            hex::encode_upper(bytes),
            bytes.iter().map(|b| format!("%{b:02X}")).collect(),
            bytes.iter().map(|b| format!("%{b:02x}")).collect(),
            escapes(true),
            escapes(false),
        ]
    }

    /// `text` with every marker `redactor` writes replaced by a character no secret holds.
    fn unmarked(redactor: &Redactor, text: &str) -> String {
        let holes = vec!["\u{fffe}"; redactor.markers.patterns_len()];
        redactor.markers.replace_all(text, &holes)
    }

    /// A secret: printable ASCII, any Unicode, or short (redacted raw only).
    fn secret() -> impl Strategy<Value = String> {
        prop_oneof!["[A-Za-z0-9_+/=:@.-]{4,24}", "\\PC{1,10}", "[a-z]{1,3}"]
            .prop_filter("no secret holds the stand-in for a marker", |s| {
                !s.contains('\u{fffe}')
            })
    }

    /// Text around a secret: printable ASCII, base64-like runs, escapes' starts, Unicode.
    fn filler() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            "[ -~]{0,8}",
            "[A-Za-z0-9+/=_-]{0,6}",
            Just("\\".to_string()),
            Just("%".to_string()),
            Just("\\u00".to_string()),
            "\\PC{0,3}",
        ];
        prop::collection::vec(piece, 0..4).prop_map(|pieces| pieces.concat())
    }

    proptest! {
        /// Any defined secret, in any encoding it may travel in (also inside longer base64,
        /// at any byte offset), anywhere in a text: it does not survive redaction, and
        /// redacting again changes nothing.
        #[test]
        fn no_secret_survives_in_any_encoding_at_any_offset(
            secrets in prop::collection::vec(secret(), 1..=3),
            which in any::<prop::sample::Index>(),
            encoding in any::<prop::sample::Index>(),
            before in filler(),
            after in filler(),
            prefix in prop::collection::vec(any::<u8>(), 0..=5),
            suffix in prop::collection::vec(any::<u8>(), 0..=5),
        ) {
            let named: Vec<(String, &str)> = secrets
                .iter()
                .enumerate()
                .map(|(i, value)| (format!("s{i}"), value.as_str()))
                .collect();
            let redactor = Redactor::new(named.iter().map(|(name, value)| (name.as_str(), *value)));
            let secret = which.get(&secrets);
            let mut forms = match secret.len() {
                n if n < MIN_ENCODED_LEN => vec![secret.clone()],
                _ => encodings(secret),
            };
            if secret.len() >= MIN_BASE64_OFFSET_LEN {
                let inside = [prefix.as_slice(), secret.as_bytes(), &suffix].concat();
                forms.push(STANDARD.encode(&inside));
                forms.push(URL_SAFE_NO_PAD.encode(&inside));
            }
            let form = encoding.get(&forms);
            let text = format!("{before}{form}{after}");
            let (once, _) = redact(&redactor, &text);
            let (twice, again) = redact(&redactor, &once);
            prop_assert_eq!((&twice, again.count), (&once, 0), "not idempotent: {:?}", text);
            let left = unmarked(&redactor, &once);
            for value in &secrets {
                prop_assert!(!left.contains(value.as_str()), "{:?} -> {:?}", text, once);
            }
            // After an odd run of backslashes, `\u0061` is not an escape but its text.
            let escaped = before.bytes().rev().take_while(|b| *b == b'\\').count() % 2 == 1;
            if !(escaped && form.starts_with('\\')) {
                prop_assert!(!left.contains(form.as_str()), "{:?} -> {:?}", text, once);
            }
        }
    }

    #[test]
    fn every_encoding_of_an_exact_secret_is_redacted() {
        let redactor = with_secret();
        let mut forms = encodings(SECRET);
        forms.extend([
            percent_encoding::utf8_percent_encode(SECRET, percent_encoding::NON_ALPHANUMERIC)
                .to_string(),
            "s3cr3t-V%40lue%2fwith%2Bchars".to_string(),
            r"s3cr3t-V\u0040lue\/with+chars".to_string(),
        ]);
        for form in forms {
            for text in [
                form.clone(),
                format!("before {form} after"),
                format!("\"{form}\""),
            ] {
                let (out, report) = redact(&redactor, &text);
                assert!(!out.contains(&form), "`{form}` survived: {out}");
                assert!(out.contains("[REDACTED:secret:db]"), "{text} -> {out}");
                assert!(report.rules.contains("secret:db"));
            }
        }
    }

    #[test]
    fn a_secret_inside_longer_base64_is_redacted_at_any_offset() {
        let redactor = with_secret();
        for prefix in ["", "a", "ab", "admin:", "user01:"] {
            let encoded = STANDARD.encode(format!("{prefix}{SECRET}:and more bytes"));
            let text = format!("Authorization: Basic {encoded}\n");
            let (out, _) = redact(&redactor, &text);
            assert!(out.contains("[REDACTED:secret:db]"), "{prefix}: {out}");
            // What is left of the base64 decodes to nothing of the secret.
            let leftover: String = out
                .split("[REDACTED:secret:db]")
                .flat_map(|part| part.chars())
                .collect();
            assert!(!leftover.contains(&encoded), "{out}");
        }
    }

    #[test]
    fn a_short_secret_inside_longer_base64_is_redacted_at_any_offset() {
        // Found by the `redact` fuzz target: a 5-byte secret 4 bytes into a base64 text came
        // through, its runs having been judged too short to match.
        let secret = "th+ch";
        assert_eq!(secret.len(), MIN_BASE64_OFFSET_LEN);
        let redactor = Redactor::new([("pin", secret)]);
        for prefix in ["", "a", "ab", "\u{3}abc"] {
            for engine in [&STANDARD, &URL_SAFE_NO_PAD] {
                let encoded = engine.encode(format!("{prefix}{secret}\0\u{f9}"));
                let (out, _) = redact(&redactor, &format!("x {encoded} y"));
                assert!(
                    out.contains("[REDACTED:secret:pin]") && !out.contains(&encoded),
                    "{prefix:?}: {out}"
                );
            }
        }
    }

    #[test]
    fn non_ascii_secrets_are_found_escaped_and_split() {
        let secret = "pässwörd-😀-中文";
        let redactor = Redactor::new([("u", secret)]);
        let escaped: String = secret
            .encode_utf16()
            .map(|unit| format!("\\u{unit:04x}"))
            .collect();
        let mixed = r"p\u00e4ssw\u00F6rd-\ud83d\ude00-中\u6587";
        let percent =
            percent_encoding::utf8_percent_encode(secret, percent_encoding::NON_ALPHANUMERIC)
                .to_string();
        for text in [secret.to_string(), escaped, mixed.to_string(), percent] {
            let wrapped = format!("é{text}é");
            let (out, _) = redact(&redactor, &wrapped);
            assert_eq!(out, "é[REDACTED:secret:u]é", "{wrapped}");
        }
    }

    #[test]
    fn short_secrets_are_redacted_raw_only() {
        let redactor = with_secret();
        let (out, _) = redact(&redactor, "pin=abc");
        assert_eq!(out, "pin=[REDACTED:secret:pin]");
        for encoded in ["YWJj", "616263", r"\u0061bc", "%61bc"] {
            let (out, report) = redact(&redactor, encoded);
            assert_eq!((out.as_str(), report.count), (encoded, 0));
        }
    }

    #[test]
    fn overlapping_matches_become_one_marker_named_by_the_most_specific_rule() {
        let token = format!("ghp_{}", fake(ALNUM, 36, 1));
        let part = &token[10..30];
        let redactor = Redactor::new([("tail", part)]);
        let (out, report) = redact(&redactor, &format!("t={token};"));
        assert_eq!(out, "t=[REDACTED:secret:tail];");
        assert_eq!(report.count, 1);

        let redactor = Redactor::new([("a", "abcdefgh"), ("b", "efghijkl")]);
        let (out, report) = redact(&redactor, "xxabcdefghijklxx");
        assert_eq!(out, "xx[REDACTED:secret:a]xx");
        assert_eq!(report.count, 1);

        let redactor = Redactor::new([("a", "abcdefgh"), ("b", "ijklmnop")]);
        let (out, _) = redact(&redactor, "abcdefghijklmnop");
        assert_eq!(out, "[REDACTED:secret:a][REDACTED:secret:b]");
    }

    #[test]
    fn markers_are_never_matched_again() {
        let redactor = Redactor::new([("github_token_value_for_prod", "abcdefgh")]);
        let labels = RULES
            .rules
            .iter()
            .map(|rule| rule.id.to_string())
            .chain(["secret:github_token_value_for_prod".to_string()]);
        for label in labels {
            let marker = format!("[REDACTED:{label}]");
            for text in [
                marker.clone(),
                format!("api_key = {marker}"),
                format!("{{\"token\": \"{marker}\"}}"),
                format!("postgres://u:{marker}@h/db"),
                format!("AKIA{marker}{marker}"),
            ] {
                let mut report = Report::default();
                let out = redactor.redact_str(&text, &mut report);
                assert!(matches!(out, Cow::Borrowed(_)), "{text} -> {out}");
            }
        }
    }

    #[test]
    fn a_match_that_a_marker_opens_is_redacted_in_the_same_call() {
        // `\b` before the key holds only once the secret before it is a marker.
        let redactor = Redactor::new([("s", "xyzw1234")]);
        let (out, report) = redact(&redactor, "id=xyzw1234AKIAIOSFODNN7EXAMPLE;");
        assert_eq!(out, "id=[REDACTED:secret:s][REDACTED:aws-access-token];");
        assert_eq!(report.count, 2);
        // An allowlisted name loses its allowlist when a marker cuts it.
        let value = "\"a1b2c3d4e5f6g7h8i9j0kLmNoP\"";
        let (out, _) = redact(&builtin(), &format!("xpublic_key = {value}"));
        assert_eq!(out, format!("xpublic_key = {value}"));
        let (out, _) = redact(
            &Redactor::new([("p", "xpub")]),
            &format!("xpublic_key = {value}"),
        );
        assert_eq!(
            out,
            "[REDACTED:secret:p]lic_key = \"[REDACTED:generic-api-key]\""
        );
    }

    #[test]
    fn a_redactor_is_shared_across_threads() {
        fn shared<T: Send + Sync>() {}
        shared::<Redactor>();
        let redactor = std::sync::Arc::new(with_secret());
        let threads: Vec<_> = (0..2)
            .map(|_| {
                let redactor = redactor.clone();
                std::thread::spawn(move || redact(&redactor, SECRET).0)
            })
            .collect();
        for thread in threads {
            assert_eq!(thread.join().unwrap(), "[REDACTED:secret:db]");
        }
    }

    #[test]
    fn debug_shows_names_not_values() {
        let shown = format!("{:?}", with_secret());
        assert!(
            shown.contains("secret:db") && !shown.contains(SECRET),
            "{shown}"
        );
    }

    #[test]
    fn a_fake_marker_does_not_hide_a_token() {
        let token = format!("ghp_{}", fake(ALNUM, 36, 1));
        let (out, _) = redact(&builtin(), &format!("[REDACTED:{token}]"));
        assert_eq!(out, "[REDACTED:[REDACTED:github-pat]]");
    }

    #[test]
    fn a_clean_kib_is_borrowed() {
        let redactor = with_secret();
        let mut text = String::new();
        while text.len() < 1024 {
            text.push_str(
                r#"{"id": 1234, "title": "Layout breaks on narrow screens", "state": "open", "labels": ["bug"], "body": "When the window is narrow the sidebar overlaps.\nSteps: resize, then scroll.", "url": "https://example.com/issues/1234"} "#,
            );
            text.push_str(
                "They asked which task should run next; the worker refreshed the cache. ",
            );
        }
        let mut report = Report::default();
        assert!(matches!(
            redactor.redact_str(&text, &mut report),
            Cow::Borrowed(_)
        ));
        assert_eq!(report, Report::default());
    }

    #[test]
    fn json_values_and_keys_are_redacted_in_place_keeping_types() {
        let redactor = Redactor::new([("db", SECRET), ("num", "12345678")]);
        let token = format!("ghp_{}", fake(ALNUM, 36, 1));
        let mut value = json!({
            "ok": true,
            "count": 3,
            "pin": 12345678,
            "nothing": null,
            SECRET: "the key is a secret",
            "nested": {
                "list": [1, "plain", format!("use {token}"), {"deep": [SECRET, 2.5]}],
                "url": format!("https://u:{}@h", "pa55w0rd"),
            },
        });
        let mut report = Report::default();
        redactor.redact_json(&mut value, &mut report);
        assert_eq!(
            value,
            json!({
                "ok": true,
                "count": 3,
                "pin": "[REDACTED:secret:num]",
                "nothing": null,
                "[REDACTED:secret:db]": "the key is a secret",
                "nested": {
                    "list": [1, "plain", "use [REDACTED:github-pat]", {"deep": ["[REDACTED:secret:db]", 2.5]}],
                    "url": "https://u:[REDACTED:url-credentials]@h",
                },
            })
        );
        assert_eq!(report.count, 5);
        let keys: Vec<&String> = value.as_object().unwrap().keys().collect();
        assert_eq!(keys[4], "[REDACTED:secret:db]", "key order kept");

        let mut value = json!({ "abcdefgh1": 1, "abcdefgh2": 2 });
        Redactor::new([("a", "abcdefgh")]).redact_json(&mut value, &mut Report::default());
        assert_eq!(
            value,
            json!({ "[REDACTED:secret:a]1": 1, "[REDACTED:secret:a]2": 2 })
        );
        let mut value = json!({ "x abcdefgh": 1, "y abcdefgh": 2 });
        Redactor::new([("a", "x abcdefgh"), ("b", "y abcdefgh")])
            .redact_json(&mut value, &mut Report::default());
        assert_eq!(
            value,
            json!({ "[REDACTED:secret:a]": 1, "[REDACTED:secret:b]": 2 })
        );
        let mut value = json!({ "abcdefgh": 1, "[REDACTED:secret:a]": 2 });
        Redactor::new([("a", "abcdefgh")]).redact_json(&mut value, &mut Report::default());
        assert_eq!(
            value,
            json!({ "[REDACTED:secret:a]": 2, "[REDACTED:secret:a]#2": 1 })
        );
    }

    #[test]
    fn entropy_matches_known_values() {
        assert_eq!(shannon_entropy(b""), 0.0);
        assert_eq!(shannon_entropy(b"aaaa"), 0.0);
        assert!((shannon_entropy(b"abcd") - 2.0).abs() < 1e-12);
        assert!(shannon_entropy(b"AKIAIOSFODNN7EXAMPLE") > 3.0);
    }

    /// A deterministic generator of texts built from pieces likely to interact.
    struct Gen(u64);

    impl Gen {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
            items[(self.next() % items.len() as u64) as usize]
        }

        fn text(&mut self, pieces: &[&str]) -> String {
            let n = self.next() % 40;
            (0..n).map(|_| self.pick(pieces)).collect()
        }
    }

    #[test]
    fn property_idempotent_borrowed_when_clean_and_no_secret_left() {
        let secrets = [("db", SECRET), ("pin", "abc"), ("uni", "pässwörd-😀")];
        let redactor = Redactor::new(secrets);
        let ghp = format!("ghp_{}", fake(ALNUM, 36, 1));
        let b64 = STANDARD.encode(SECRET);
        let hexed = hex::encode(SECRET);
        let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U";
        let pem = format!(
            "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----",
            fake(ALNUM, 70, 2)
        );
        let pieces: Vec<&str> = vec![
            "a",
            "b",
            "Z",
            "0",
            "7",
            "_",
            "-",
            ".",
            "/",
            "+",
            "=",
            ":",
            ";",
            "@",
            "%",
            "%4",
            "%40",
            " ",
            "\n",
            "\t",
            "\"",
            "'",
            "`",
            "\\",
            "\\u",
            "\\u0073",
            "\\u00",
            "\\/",
            "\\\\",
            "\\ud83d",
            "\\ude00",
            "{",
            "}",
            "[",
            "]",
            "é",
            "中文",
            "😀",
            "\u{200b}",
            "s3cr3t",
            "-V@lue",
            "/with+chars",
            SECRET,
            "abc",
            "pässwörd-",
            "pässwörd-😀",
            &b64,
            &hexed,
            "api_key=",
            "token: ",
            "password = \"",
            "secret:",
            "AKIA",
            "AKIAIOSFODNN7EXAMPLE",
            "IOSFODNN7EXAMPLE",
            &ghp,
            "ghp_",
            jwt,
            "ey",
            "postgres://",
            "u:",
            "x:y@",
            &pem,
            "-----BEGIN RSA PRIVATE KEY-----",
            "[REDACTED:",
            "[REDACTED:jwt]",
            "[REDACTED:secret:db]",
            "[REDACTED:secret:",
            "REDACTED",
            "a1b2c3d4e5f6g7h8i9j0kLmNoP",
            "SK0123456789abcdef0123456789abcdef",
            "sk_live_",
            "xoxb-1234567890-1234567890123-",
            "public_",
            "_key",
            "key",
            "=",
            " = ",
            ": \"",
            "heroku_api_key=",
            "01234567-89ab-cdef-0123-456789abcdef",
            "aws_secret_access_key=",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "redis://:",
            "@host",
            "glpat-",
            "AbCdEfGhIjKlMnOpQrSt",
            ".01abcdefg",
            "xpub",
            "lic",
            "abcdefghijklmnop",
            "eyJhbGciOiJIUzI1NiJ9",
            ".eyJzdWIiOiIxMjM0NTY3ODkwIn0",
            "-----END PRIVATE KEY-----",
        ];
        let mut generator = Gen(0x9e37_79b9_7f4a_7c15);
        for _ in 0..10000 {
            let text = generator.text(&pieces);
            let mut first = Report::default();
            let once = redactor.redact_str(&text, &mut first);
            assert_eq!(
                matches!(once, Cow::Borrowed(_)),
                first.count == 0,
                "{text:?} -> {once:?}"
            );
            if first.count == 0 {
                assert_eq!(once, text);
            }
            for (_, secret) in secrets {
                assert!(!once.contains(secret), "{text:?} -> {once:?}");
            }
            assert!(
                !once.contains(&b64) && !once.contains(&hexed),
                "{text:?} -> {once:?}"
            );
            let mut second = Report::default();
            let twice = redactor.redact_str(&once, &mut second);
            assert!(
                matches!(twice, Cow::Borrowed(_)),
                "not idempotent: {text:?} -> {once:?} -> {twice:?}"
            );
        }
        for _ in 0..1000 {
            let mut value = json!({
                generator.text(&pieces): [generator.text(&pieces), 7, {generator.text(&pieces): null}],
                generator.text(&pieces): generator.text(&pieces),
            });
            let mut first = Report::default();
            redactor.redact_json(&mut value, &mut first);
            let once = value.clone();
            let mut second = Report::default();
            redactor.redact_json(&mut value, &mut second);
            assert_eq!((&value, second.count), (&once, 0));
            let shown = value.to_string();
            assert!(!shown.contains(SECRET) && !shown.contains(&b64), "{shown}");
        }
    }

    #[test]
    fn decoded_offsets_map_back_to_whole_escapes() {
        let backslash = AhoCorasick::new(["\\"]).unwrap();
        let decoded = Decoded::json_unescape(r"a\u00e9b\nc", &backslash, |_| true).unwrap();
        assert_eq!(decoded.bytes, "aéb\nc".as_bytes());
        assert_eq!(decoded.unit(0), (0, 1));
        assert_eq!(decoded.unit(1), (1, 7));
        assert_eq!(decoded.unit(2), (1, 7));
        assert_eq!(decoded.unit(3), (7, 8));
        assert_eq!(decoded.unit(4), (8, 10));
        assert_eq!(decoded.unit(5), (10, 11));
        assert!(Decoded::json_unescape(r"no escapes \q here", &backslash, |_| true).is_none());
        assert!(
            Decoded::percent_decode("100% sure %zz", &AhoCorasick::new(["%"]).unwrap(), |_| true)
                .is_none()
        );
        let lone = Decoded::json_unescape(r"\ud800x\n", &backslash, |_| true).unwrap();
        assert_eq!(lone.bytes, b"\\ud800x\n");
    }
}
