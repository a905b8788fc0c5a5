//! Redaction speed: throughput on 1 MiB of mixed tool output (prose, JSON and a few
//! secrets), and the time of one call on a clean 1 KiB result.

use std::borrow::Cow;
use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use warden::redact::{Redactor, Report};

const SECRETS: &[(&str, &str)] = &[
    ("github", "ghp_R3alTok3nF0rTheBenchOnly0123456789"),
    ("db", "correct-horse-battery-staple-42"),
    ("stripe", "sk_live_BenchBenchBench0123456789"),
];

const WORDS: &[&str] = &[
    "the",
    "result",
    "of",
    "a",
    "call",
    "is",
    "returned",
    "to",
    "client",
    "and",
    "model",
    "reads",
    "it",
    "before",
    "they",
    "decide",
    "what",
    "next",
    "task",
    "should",
    "run",
    "when",
    "issue",
    "was",
    "opened",
    "someone",
    "asked",
    "about",
    "keyboard",
    "layout",
    "monkey",
    "patching",
    "authors",
    "documented",
    "tokenizer",
    "settings",
    "in",
    "readme",
    "with",
    "examples",
    "for",
    "every",
    "language",
    "server",
    "response",
    "includes",
    "headers",
    "status",
    "body",
    "timing",
    "cache",
    "entries",
    "expire",
    "after",
    "one",
    "hour",
    "unless",
    "refreshed",
    "by",
    "worker",
];

/// A deterministic xorshift generator: the same text on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn prose(rng: &mut Rng, out: &mut String) {
    let sentences = 3 + rng.below(5);
    for _ in 0..sentences {
        let words = 6 + rng.below(14);
        for i in 0..words {
            let word = WORDS[rng.below(WORDS.len())];
            if i == 0 {
                let mut chars = word.chars();
                let first = chars.next().unwrap().to_ascii_uppercase();
                out.push(first);
                out.push_str(chars.as_str());
            } else {
                out.push(' ');
                out.push_str(word);
            }
        }
        out.push_str(". ");
    }
    out.push('\n');
}

fn json(rng: &mut Rng, out: &mut String) {
    let id = rng.next() % 100_000;
    let words: Vec<&str> = (0..8).map(|_| WORDS[rng.below(WORDS.len())]).collect();
    out.push_str(&format!(
        concat!(
            r#"{{"id": {id}, "number": {n}, "title": "{t}", "state": "open", "#,
            r#""html_url": "https://github.com/acme/widgets/issues/{n}", "#,
            r#""user": {{"login": "dev{u}", "type": "User", "site_admin": false}}, "#,
            r#""labels": [{{"name": "bug", "color": "d73a4a"}}, {{"name": "help wanted"}}], "#,
            r#""body": "{b}\n\nSteps:\n1. run \"make\"\n2. see caf\u00e9 \u2014 done", "#,
            r#""created_at": "2026-11-24T10:{m:02}:00Z", "comments": {c}}}"#,
            "\n"
        ),
        id = id,
        n = id % 5000,
        t = words[..4].join(" "),
        u = id % 97,
        b = words.join(" "),
        m = id % 60,
        c = id % 13,
    ));
}

fn secrets(rng: &mut Rng, out: &mut String) {
    match rng.below(6) {
        0 => out.push_str("export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE\n"),
        1 => out.push_str(&format!("token: {}\n", SECRETS[0].1)),
        2 => out.push_str(&format!(
            "DATABASE_URL=postgres://app:{}@db.internal:5432/app\n",
            SECRETS[1].1
        )),
        3 => out.push_str(
            "Authorization: Basic YWRtaW46Y29ycmVjdC1ob3JzZS1iYXR0ZXJ5LXN0YXBsZS00Mg==\n",
        ),
        4 => out.push_str(concat!(
            "jwt=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.",
            "eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.",
            "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c\n"
        )),
        _ => out.push_str(&format!("{{\"stripe_key\": \"{}\"}}\n", SECRETS[2].1)),
    }
}

/// About `size` bytes: mostly prose and JSON, a secret every ~64 KiB.
fn mixed(size: usize) -> String {
    let mut rng = Rng(0x5eed_cafe_f00d_beef);
    let mut out = String::with_capacity(size + 4096);
    let mut next_secret = 32 << 10;
    while out.len() < size {
        if rng.below(2) == 0 {
            prose(&mut rng, &mut out);
        } else {
            json(&mut rng, &mut out);
        }
        if out.len() >= next_secret {
            secrets(&mut rng, &mut out);
            next_secret += 64 << 10;
        }
    }
    out
}

/// A clean 1 KiB result: prose and JSON, no secret.
fn clean_kib() -> String {
    let mut rng = Rng(0x0123_4567_89ab_cdef);
    let mut out = String::new();
    while out.len() < 1024 {
        json(&mut rng, &mut out);
        prose(&mut rng, &mut out);
    }
    let mut end = 1024;
    while !out.is_char_boundary(end) {
        end -= 1;
    }
    out.truncate(end);
    out
}

fn bench(c: &mut Criterion) {
    let redactor = Redactor::new(SECRETS.iter().copied());

    let text = mixed(1 << 20);
    let mut report = Report::default();
    let redacted = redactor.redact_str(&text, &mut report);
    assert!(
        report.count >= 16,
        "the mixed text holds secrets: {report:?}"
    );
    for (_, value) in SECRETS {
        assert!(!redacted.contains(value));
    }

    let clean = clean_kib();
    let mut report = Report::default();
    assert!(
        matches!(redactor.redact_str(&clean, &mut report), Cow::Borrowed(_)),
        "the 1 KiB text is clean: {report:?}"
    );

    let mut group = c.benchmark_group("redact");
    group.throughput(Throughput::Bytes(text.len() as u64));
    group.bench_function("mixed_1mib", |b| {
        b.iter(|| {
            let mut report = Report::default();
            black_box(redactor.redact_str(black_box(&text), &mut report));
        })
    });
    group.throughput(Throughput::Bytes(clean.len() as u64));
    group.bench_function("clean_1kib", |b| {
        b.iter(|| {
            let mut report = Report::default();
            black_box(redactor.redact_str(black_box(&clean), &mut report));
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
