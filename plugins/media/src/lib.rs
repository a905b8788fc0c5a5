//! Rich results for tests and examples: content blocks, progress, log messages, questions to
//! the human, and a loop that runs until the host stops it.

use warden_sdk::elicitation::{self, Answer};
use warden_sdk::{Content, log, progress};

warden_sdk::tool!({ world: "media", export: Media });

/// The `media` world's implementation.
struct Media;

/// A 1×1 transparent PNG.
const PIXEL: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44,
    0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f,
    0x15, 0xc4, 0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x00,
    0x01, 0x00, 0x00, 0x05, 0x00, 0x01, 0x0d, 0x0a, 0x2d, 0xb4, 0x00, 0x00, 0x00, 0x00, 0x49,
    0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

/// A WAV file of `samples` silent 8-bit mono samples at 8 kHz.
fn wav(samples: u32) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + samples).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes()); // PCM
    out.extend_from_slice(&1u16.to_le_bytes()); // mono
    out.extend_from_slice(&8000u32.to_le_bytes()); // sample rate
    out.extend_from_slice(&8000u32.to_le_bytes()); // byte rate
    out.extend_from_slice(&1u16.to_le_bytes()); // block align
    out.extend_from_slice(&8u16.to_le_bytes()); // bits per sample
    out.extend_from_slice(b"data");
    out.extend_from_slice(&samples.to_le_bytes());
    out.resize(out.len() + samples as usize, 0x80);
    out
}

impl Guest for Media {
    fn pixel() -> Content {
        Content::image(PIXEL, "image/png")
    }

    fn beep() -> Content {
        Content::audio(wav(800), "audio/wav")
    }

    fn note(uri: String, mime_type: String, text: String) -> Content {
        Content::embedded_text(uri, mime_type, text)
    }

    fn attachment(uri: String, mime_type: String, size: u32) -> Content {
        Content::embedded_blob(uri, mime_type, vec![0u8; size as usize])
    }

    fn mixed(caption: String) -> Vec<Content> {
        vec![
            Content::text(caption.clone()),
            Content::image(PIXEL, "image/png"),
            Content::embedded_text("media://caption.md", "text/markdown", caption),
        ]
    }

    fn blob(mime_type: String, size: u32) -> Content {
        Content::image(vec![0u8; size as usize], mime_type)
    }

    fn maybe(why: String) -> Result<Vec<Content>, String> {
        if why.is_empty() {
            Ok(vec![Content::image(PIXEL, "image/png")])
        } else {
            Err(why)
        }
    }

    fn count(steps: u32) -> String {
        for step in 1..=steps {
            progress::report(
                f64::from(step),
                Some(f64::from(steps)),
                Some(&format!("step {step} of {steps}")),
            );
        }
        format!("counted {steps}")
    }

    fn chatter(message: String) -> String {
        log::trace(&format!("trace: {message}"));
        log::debug(&format!("debug: {message}"));
        log::info(&format!("info: {message}"));
        log::warn(&format!("warn: {message}"));
        log::error(&format!("error: {message}"));
        "logged".into()
    }

    fn flood(count: u32) -> String {
        for i in 0..count {
            log::info(&format!("line {i}"));
        }
        format!("logged {count}")
    }

    fn greet_asking() -> Result<String, String> {
        Ok(match ask_text("name", "What is your name?", "name")? {
            Some(name) => format!("Hello, {name}!"),
            None => "no answer".into(),
        })
    }

    fn two_questions() -> Result<String, String> {
        let name = ask_text("name", "Step 1: what is your name?", "name")?;
        let colour = ask_text("colour", "Step 2: what is your favourite colour?", "colour")?;
        Ok(match (name, colour) {
            (Some(name), Some(colour)) => format!("{name} likes {colour}"),
            _ => "no answer".into(),
        })
    }

    fn spin() -> String {
        progress::report(1.0, None, Some("started"));
        let mut turns = 0u64;
        loop {
            turns = std::hint::black_box(turns.wrapping_add(1));
        }
    }
}

/// Asks `message` under `key` with a form of one required string `field`: its value, or
/// `None` when the human declined or dismissed the question.
fn ask_text(key: &str, message: &str, field: &str) -> Result<Option<String>, String> {
    let schema = serde_json::json!({
        "type": "object",
        "properties": {field: {"type": "string", "minLength": 1}},
        "required": [field],
    });
    match elicitation::ask(key, message, &schema.to_string())? {
        Answer::Accept(content) => {
            let content: serde_json::Value =
                serde_json::from_str(&content).map_err(|e| e.to_string())?;
            Ok(content[field].as_str().map(str::to_string))
        }
        Answer::Decline | Answer::Cancel => Ok(None),
    }
}
