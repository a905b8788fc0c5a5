//! Prompt files: TOML text → a prompt (roles, templates, placeholders checked against the
//! declared arguments), then rendered with arguments a client sends.
//!
//! Input: the prompt file, a NUL byte, then the `arguments` object as JSON. Images are read
//! from an empty folder.

#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value};
use warden::prompts::LoadedPrompt;

static DIR: LazyLock<tempfile::TempDir> =
    LazyLock::new(|| tempfile::tempdir().expect("a temporary folder"));

fuzz_target!(|data: &[u8]| {
    let (file, arguments) = match data.iter().position(|b| *b == 0) {
        Some(nul) => (&data[..nul], &data[nul + 1..]),
        None => (data, &b"{}"[..]),
    };
    let Ok(text) = std::str::from_utf8(file) else {
        return;
    };
    let Ok(prompt) = LoadedPrompt::parse("fuzzed", text, DIR.path()) else {
        return;
    };
    let Ok(arguments) = serde_json::from_slice::<Map<String, Value>>(arguments) else {
        return;
    };
    if let Ok(rendered) = prompt.render(&arguments) {
        assert!(!rendered.messages.is_empty(), "a prompt has messages");
        // Every value was substituted as data: the result is plain, serializable JSON.
        serde_json::to_string(&rendered).expect("a rendered prompt serializes");
    }
});
