//! `test`: the fixture of the official MCP conformance suite (`tests/conformance/`).
//!
//! The suite's server scenarios call tools, resources and templates by fixed names; served
//! under the component id `test`, the function `simple-text` becomes the tool
//! `test_simple_text`, and so on. The resources live in the namespace `test://*`:
//! `test://static-text`, `test://static-binary` and the template `test://template/{id}/data`;
//! every other URI is not found. It needs no grants.

use std::thread::sleep;
use std::time::Duration;

use crate::exports::warden::tool::resources::{
    Body, Contents, Guest as Resources, Listed, Page, ReadError, Template,
};
use warden_sdk::elicitation::{Answer, ask};
use warden_sdk::resources::strip_template;
use warden_sdk::{Content, log, progress};

warden_sdk::tool!({ world: "conformance", export: Fixture });

/// The `conformance` world's implementation.
struct Fixture;

/// A 1×1 transparent PNG.
const PIXEL: &[u8] = include_bytes!("../assets/pixel.png");

/// A tenth of a second of silence: WAV, 8 kHz, mono, 8-bit.
const SILENCE: &[u8] = include_bytes!("../assets/silence.wav");

/// The URI of the static text resource.
const STATIC_TEXT: &str = "test://static-text";

/// The URI of the static binary resource.
const STATIC_BINARY: &str = "test://static-binary";

/// The template of the resources read by id.
const TEMPLATE: &str = "test://template/{id}/data";

/// Time between two progress reports: more than the host's 100 ms progress interval, so none
/// is held back.
const PROGRESS_GAP: Duration = Duration::from_millis(200);

/// Time between two log messages of `tool-with-logging`.
const LOG_GAP: Duration = Duration::from_millis(50);

impl Guest for Fixture {
    fn simple_text() -> Content {
        Content::text("This is a simple text response for testing.")
    }

    fn image_content() -> Content {
        Content::image(PIXEL, "image/png")
    }

    fn audio_content() -> Content {
        Content::audio(SILENCE, "audio/wav")
    }

    fn embedded_resource() -> Content {
        Content::embedded_text(
            "test://embedded-resource",
            "text/plain",
            "This is an embedded resource content.",
        )
    }

    fn multiple_content_types() -> Vec<Content> {
        vec![
            Content::text("Multiple content types test:"),
            Content::image(PIXEL, "image/png"),
            Content::embedded_text(
                "test://mixed-content-resource",
                "application/json",
                r#"{"test":"data","value":123}"#,
            ),
        ]
    }

    fn error_handling() -> Result<Content, String> {
        Err("This tool intentionally returns an error for testing".into())
    }

    fn tool_with_progress() -> Content {
        for (step, done) in [0.0, 50.0, 100.0].into_iter().enumerate() {
            if step > 0 {
                sleep(PROGRESS_GAP);
            }
            progress::report(done, Some(100.0), Some(&format!("{done}% done")));
        }
        Content::text("Progress test completed.")
    }

    fn tool_with_logging() -> Content {
        let messages = [
            "Tool execution started",
            "Tool processing data",
            "Tool execution completed",
        ];
        for (i, message) in messages.into_iter().enumerate() {
            if i > 0 {
                sleep(LOG_GAP);
            }
            log::info(message);
        }
        Content::text("Logging test completed.")
    }

    fn logging_tool() -> Content {
        log::info("logging-tool ran");
        Content::text("Logged one message.")
    }

    fn streaming_elicitation() -> Content {
        Content::text("Answered without asking the client.")
    }

    fn missing_capability() -> Content {
        Content::text("Ran: the client declared sampling.")
    }

    fn elicitation(message: String) -> Result<Content, String> {
        let form = r#"{"type":"object","properties":{
            "username":{"type":"string","description":"Your username"},
            "email":{"type":"string","format":"email","description":"Your email address"}},
            "required":["username","email"]}"#;
        answered("info", &message, form, |content| format!("Received: {content}"))
    }

    fn elicitation_sep1034_defaults() -> Result<Content, String> {
        let form = r#"{"type":"object","properties":{
            "name":{"type":"string","default":"John Doe"},
            "age":{"type":"integer","default":30},
            "score":{"type":"number","default":95.5},
            "status":{"type":"string","enum":["active","inactive","pending"],"default":"active"},
            "verified":{"type":"boolean","default":true}}}"#;
        answered("profile", "Please review your profile.", form, |content| {
            format!("Received: {content}")
        })
    }

    fn elicitation_sep1330_enums() -> Result<Content, String> {
        let form = r#"{"type":"object","properties":{
            "untitledSingle":{"type":"string","enum":["option1","option2","option3"]},
            "titledSingle":{"type":"string","oneOf":[
                {"const":"value1","title":"First option"},
                {"const":"value2","title":"Second option"},
                {"const":"value3","title":"Third option"}]},
            "legacyEnum":{"type":"string","enum":["opt1","opt2","opt3"],
                "enumNames":["Option One","Option Two","Option Three"]},
            "untitledMulti":{"type":"array","items":{"type":"string","enum":["option1","option2","option3"]}},
            "titledMulti":{"type":"array","items":{"anyOf":[
                {"const":"value1","title":"First choice"},
                {"const":"value2","title":"Second choice"},
                {"const":"value3","title":"Third choice"}]}}}}"#;
        answered("choices", "Please make your choices.", form, |content| {
            format!("Received: {content}")
        })
    }

    fn input_required_result_elicitation() -> Result<Content, String> {
        answered("user_name", "What is your name?", NAME, |content| {
            format!("Hello, {}!", field(&content, "name"))
        })
    }

    fn input_required_result_request_state() -> Result<Content, String> {
        answered("confirmation", "Shall I go on?", OK, |_| "state-ok".to_string())
    }

    fn input_required_result_multi_round() -> Result<Content, String> {
        let Answer::Accept(name) = ask("step1", "Step 1: What is your name?", NAME)? else {
            return Ok(Content::text("No name given."));
        };
        let colour = r#"{"type":"object","properties":{"color":{"type":"string"}},"required":["color"]}"#;
        answered("step2", "Step 2: What is your favorite color?", colour, |content| {
            format!(
                "{} likes {}",
                field(&name, "name"),
                field(&content, "color")
            )
        })
    }

    fn input_required_result_tampered_state() -> Result<Content, String> {
        answered("approval", "Approve?", OK, |_| "approved".to_string())
    }

    fn input_required_result_capabilities() -> Result<Content, String> {
        answered("user_name", "What is your name?", NAME, |content| {
            format!("Hello, {}!", field(&content, "name"))
        })
    }
}

/// A form of one required string, `name`.
const NAME: &str = r#"{"type":"object","properties":{"name":{"type":"string"}},"required":["name"]}"#;

/// A form of one boolean, `ok`.
const OK: &str = r#"{"type":"object","properties":{"ok":{"type":"boolean"}}}"#;

/// Asks `message` with `form` under `key`: `reply` of the accepted content (JSON), or a text
/// saying the human said no.
fn answered(
    key: &str,
    message: &str,
    form: &str,
    reply: impl FnOnce(String) -> String,
) -> Result<Content, String> {
    Ok(Content::text(match ask(key, message, form)? {
        Answer::Accept(content) => reply(content),
        Answer::Decline => "The human declined.".to_string(),
        Answer::Cancel => "The human cancelled.".to_string(),
    }))
}

/// The string `name` of a JSON object such as `{"name":"Alice"}` (empty when it has none).
fn field(json: &str, name: &str) -> String {
    serde_json::from_str::<serde_json::Value>(json)
        .ok()
        .and_then(|value| value[name].as_str().map(str::to_string))
        .unwrap_or_default()
}

impl Resources for Fixture {
    fn list_resources(cursor: Option<String>) -> Result<Page, String> {
        if let Some(cursor) = cursor {
            return Err(format!("invalid cursor `{cursor}`: the list has one page"));
        }
        let listed = |uri: &str, name: &str, description: &str, mime_type: &str| Listed {
            uri: uri.into(),
            name: name.into(),
            title: None,
            description: Some(description.into()),
            mime_type: Some(mime_type.into()),
            size: None,
        };
        Ok(Page {
            resources: vec![
                listed(STATIC_TEXT, "static-text", "A fixed text.", "text/plain"),
                listed(
                    STATIC_BINARY,
                    "static-binary",
                    "A 1×1 PNG image.",
                    "image/png",
                ),
            ],
            next_cursor: None,
        })
    }

    fn resource_templates() -> Vec<Template> {
        vec![Template {
            uri_template: TEMPLATE.into(),
            name: "template-data".into(),
            title: None,
            description: Some("JSON data naming the `id` it was read with.".into()),
            mime_type: Some("application/json".into()),
        }]
    }

    fn read_resource(uri: String) -> Result<Vec<Contents>, ReadError> {
        let (mime_type, body) = match uri.as_str() {
            STATIC_TEXT => (
                "text/plain",
                Body::Text("This is the content of the static text resource.".into()),
            ),
            STATIC_BINARY => ("image/png", Body::Blob(PIXEL.to_vec())),
            _ => {
                let id = strip_template(TEMPLATE, &uri)
                    .filter(|id| id.chars().all(|c| c.is_ascii_alphanumeric()))
                    .ok_or(ReadError::NotFound)?;
                let data =
                    format!(r#"{{"id":"{id}","templateTest":true,"data":"Data for ID: {id}"}}"#);
                ("application/json", Body::Text(data))
            }
        };
        Ok(vec![Contents {
            uri,
            mime_type: Some(mime_type.into()),
            body,
        }])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The text of the one part of a read, or `None` for a blob.
    fn text(uri: &str) -> Option<String> {
        let mut contents = Fixture::read_resource(uri.into()).ok()?;
        assert_eq!(contents.len(), 1);
        match contents.remove(0).body {
            Body::Text(text) => Some(text),
            Body::Blob(_) => None,
        }
    }

    #[test]
    fn the_template_reads_back_its_id() {
        let data = text("test://template/123/data").unwrap();
        assert_eq!(
            data,
            r#"{"id":"123","templateTest":true,"data":"Data for ID: 123"}"#
        );
    }

    #[test]
    fn every_listed_resource_is_readable() {
        let page = Fixture::list_resources(None).unwrap();
        assert_eq!(page.resources[0].uri, STATIC_TEXT);
        for listed in page.resources {
            assert!(Fixture::read_resource(listed.uri).is_ok());
        }
    }

    #[test]
    fn other_uris_are_not_found() {
        for uri in [
            "test://nonexistent-resource-for-conformance-testing",
            "test://template//data",
            "test://template/a\"b/data",
            "test://template/1/2/data",
            "test://static-text/",
        ] {
            assert!(
                matches!(Fixture::read_resource(uri.into()), Err(ReadError::NotFound)),
                "{uri}"
            );
        }
    }
}
