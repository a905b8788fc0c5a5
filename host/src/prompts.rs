//! Prompts, only from files the manifest pins by sha256: loaded and checked at start, served
//! through `prompts/list` and `prompts/get`. Arguments are validated and substituted as
//! data in a single pass, never re-read as a template; no prompt comes from a component or
//! at run time.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use rmcp::model::{GetPromptResult, Prompt, PromptArgument, PromptMessage, Role};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::digest::Sha256Digest;
use crate::manifest::{Diagnostic, Located};

/// Longest argument value, in bytes.
pub const MAX_ARGUMENT_BYTES: usize = 16 << 10;

/// A prompt file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPrompt {
    description: Option<String>,
    #[serde(default)]
    arguments: Vec<RawArgument>,
    #[serde(default)]
    messages: Vec<RawMessage>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawArgument {
    name: String,
    description: Option<String>,
    #[serde(default)]
    required: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMessage {
    role: String,
    text: Option<String>,
    image: Option<String>,
    mime_type: Option<String>,
    resource_uri: Option<String>,
    resource_text: Option<String>,
}

/// One message of a prompt.
#[derive(Clone, Debug)]
enum Message {
    Text {
        role: Role,
        template: String,
    },
    Image {
        role: Role,
        data: Vec<u8>,
        mime_type: String,
    },
    Resource {
        role: Role,
        uri: String,
        text: String,
        mime_type: Option<String>,
    },
}

/// A loaded prompt.
#[derive(Clone, Debug)]
pub struct LoadedPrompt {
    listed: Prompt,
    arguments: Vec<RawArgumentSpec>,
    messages: Vec<Message>,
}

#[derive(Clone, Debug)]
struct RawArgumentSpec {
    name: String,
    required: bool,
}

/// Every prompt, by name.
#[derive(Clone, Debug, Default)]
pub struct Prompts(BTreeMap<String, LoadedPrompt>);

/// A prompt pin from the manifest: `[prompts.<name>] file, sha256`.
pub struct PromptPin<'a> {
    /// The prompt's name.
    pub name: &'a str,
    /// The file, resolved.
    pub file: &'a Located<std::path::PathBuf>,
    /// Its pinned digest.
    pub sha256: &'a Located<Sha256Digest>,
}

impl Prompts {
    /// Loads each pinned prompt file, checking its digest first.
    ///
    /// # Errors
    /// Every unreadable, changed or invalid file, as diagnostics at its manifest key.
    pub fn load(manifest: &Path, pins: &[PromptPin<'_>]) -> Result<Prompts, Vec<Diagnostic>> {
        let mut prompts = BTreeMap::new();
        let mut errors = Vec::new();
        for pin in pins {
            match load_one(pin) {
                Ok(prompt) => {
                    prompts.insert(pin.name.to_string(), prompt);
                }
                Err((at, message, help)) => {
                    let at = if at { &pin.sha256.at } else { &pin.file.at };
                    errors.push(Diagnostic::new(manifest, at, message, help));
                }
            }
        }
        if errors.is_empty() {
            Ok(Prompts(prompts))
        } else {
            Err(errors)
        }
    }

    /// Whether there are any.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether a prompt named `name` is served.
    pub fn contains(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }

    /// Every prompt as listed, in name order.
    pub fn list(&self) -> Vec<Prompt> {
        self.0.values().map(|p| p.listed.clone()).collect()
    }

    /// Renders prompt `name` with `arguments`.
    ///
    /// # Errors
    /// An unknown prompt, a missing required argument, an unknown argument, or a value that
    /// is too long, not a string or holds control characters: a message for `-32602`.
    pub fn get(
        &self,
        name: &str,
        arguments: &Map<String, Value>,
    ) -> Result<GetPromptResult, String> {
        self.0
            .get(name)
            .ok_or_else(|| format!("Unknown prompt: {name}"))?
            .render(arguments)
    }
}

impl LoadedPrompt {
    /// Renders the prompt with `arguments`.
    ///
    /// # Errors
    /// A missing required argument, an unknown argument, or a value that is too long, not a
    /// string or holds control characters: a message for `-32602`.
    pub fn render(&self, arguments: &Map<String, Value>) -> Result<GetPromptResult, String> {
        let name = &*self.listed.name;
        let mut values = BTreeMap::new();
        for (key, value) in arguments {
            if !self.arguments.iter().any(|a| &a.name == key) {
                return Err(format!("prompt `{name}` has no argument `{key}`"));
            }
            let Value::String(text) = value else {
                return Err(format!("argument `{key}` must be a string"));
            };
            if text.len() > MAX_ARGUMENT_BYTES {
                return Err(format!(
                    "argument `{key}` is over {MAX_ARGUMENT_BYTES} bytes"
                ));
            }
            if text
                .chars()
                .any(|c| c.is_control() && c != '\n' && c != '\t')
            {
                return Err(format!("argument `{key}` holds control characters"));
            }
            values.insert(key.as_str(), text.as_str());
        }
        if let Some(missing) = self
            .arguments
            .iter()
            .find(|a| a.required && !values.contains_key(a.name.as_str()))
        {
            return Err(format!(
                "prompt `{name}` needs the argument `{}`",
                missing.name
            ));
        }
        let messages = self
            .messages
            .iter()
            .map(|message| match message {
                Message::Text { role, template } => {
                    PromptMessage::new_text(role.clone(), substitute(template, &values))
                }
                Message::Image {
                    role,
                    data,
                    mime_type,
                } => PromptMessage::new_image(role.clone(), data, mime_type, None, None),
                Message::Resource {
                    role,
                    uri,
                    text,
                    mime_type,
                } => PromptMessage::new_resource(
                    role.clone(),
                    substitute(uri, &values),
                    mime_type.clone(),
                    Some(substitute(text, &values)),
                    None,
                    None,
                    None,
                ),
            })
            .collect();
        let mut result = GetPromptResult::new(messages);
        result.description = self.listed.description.clone();
        Ok(result)
    }

    /// Parses the `text` of the prompt file of prompt `name`; the images its messages name
    /// are read from `dir`, the file's folder.
    ///
    /// # Errors
    /// What is wrong with the file, for the operator.
    pub fn parse(name: &str, text: &str, dir: &Path) -> Result<LoadedPrompt, String> {
        let raw: RawPrompt = toml::from_str(text).map_err(|e| e.message().to_string())?;
        let declared: BTreeSet<&str> = raw.arguments.iter().map(|a| a.name.as_str()).collect();
        if raw.messages.is_empty() {
            return Err("a prompt needs at least one [[messages]]".into());
        }
        let mut messages = Vec::new();
        for (i, message) in raw.messages.iter().enumerate() {
            let role = match message.role.as_str() {
                "user" => Role::User,
                "assistant" => Role::Assistant,
                other => {
                    return Err(format!(
                        "messages[{i}]: role `{other}` is not \"user\" or \"assistant\""
                    ));
                }
            };
            let parsed = match (&message.text, &message.image, &message.resource_uri) {
                (Some(template), None, None) => Message::Text {
                    role,
                    template: template.clone(),
                },
                (None, Some(image), None) => {
                    let mime_type = message
                        .mime_type
                        .clone()
                        .ok_or_else(|| format!("messages[{i}]: an image needs mime_type"))?;
                    let file = dir.join(image);
                    let data = std::fs::read(&file).map_err(|e| {
                        format!("messages[{i}]: cannot read {}: {e}", file.display())
                    })?;
                    Message::Image {
                        role,
                        data,
                        mime_type,
                    }
                }
                (None, None, Some(uri)) => Message::Resource {
                    role,
                    uri: uri.clone(),
                    text: message.resource_text.clone().unwrap_or_default(),
                    mime_type: message.mime_type.clone(),
                },
                _ => {
                    return Err(format!(
                        "messages[{i}]: give exactly one of text, image or resource_uri"
                    ));
                }
            };
            let templates: Vec<&str> = match &parsed {
                Message::Text { template, .. } => vec![template],
                Message::Resource { uri, text, .. } => vec![uri, text],
                Message::Image { .. } => vec![],
            };
            for template in templates {
                for placeholder in placeholders(template) {
                    if !declared.contains(placeholder) {
                        return Err(format!(
                            "messages[{i}]: `{{{{{placeholder}}}}}` names no declared argument"
                        ));
                    }
                }
            }
            messages.push(parsed);
        }
        let arguments = raw
            .arguments
            .iter()
            .map(|a| {
                let mut argument = PromptArgument::new(a.name.clone());
                argument.description = a.description.clone();
                argument.required = Some(a.required);
                argument
            })
            .collect();
        Ok(LoadedPrompt {
            listed: Prompt::new(name, raw.description.clone(), Some(arguments)),
            arguments: raw
                .arguments
                .iter()
                .map(|a| RawArgumentSpec {
                    name: a.name.clone(),
                    required: a.required,
                })
                .collect(),
            messages,
        })
    }
}

/// Reads one prompt file; the error says whether it concerns the digest (`true`) or the file.
fn load_one(pin: &PromptPin<'_>) -> Result<LoadedPrompt, (bool, String, String)> {
    let path = &pin.file.value;
    let bytes = std::fs::read(path).map_err(|e| {
        (
            false,
            format!("cannot read {}: {e}", path.display()),
            "check the path: it is relative to the manifest file".to_string(),
        )
    })?;
    let actual = Sha256Digest::of(&bytes);
    if actual != pin.sha256.value {
        return Err((
            true,
            format!(
                "sha256 mismatch for {}: the manifest pins {}, the file is {actual}",
                path.display(),
                pin.sha256.value
            ),
            format!(
                "the file changed since it was pinned: restore it, or, if you trust it, pin sha256 = \"{actual}\""
            ),
        ));
    }
    let invalid = |message: String| {
        (
            false,
            format!("{}: {message}", path.display()),
            "see README.md, \"Prompts\", for the file format".to_string(),
        )
    };
    let text = String::from_utf8(bytes).map_err(|_| invalid("not UTF-8".into()))?;
    LoadedPrompt::parse(pin.name, &text, path.parent().unwrap_or(Path::new("."))).map_err(invalid)
}

/// The `{{name}}` placeholders of a template.
fn placeholders(template: &str) -> Vec<&str> {
    let mut found = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        match after.find("}}") {
            Some(end) => {
                found.push(after[..end].trim());
                rest = &after[end + 2..];
            }
            None => break,
        }
    }
    found
}

/// Replaces each `{{name}}` by its value in one left-to-right pass: a value is inserted as
/// data and never scanned for placeholders itself. A missing optional value is empty.
fn substitute(template: &str, values: &BTreeMap<&str, &str>) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find("}}") {
            Some(end) => {
                out.push_str(values.get(after[..end].trim()).copied().unwrap_or(""));
                rest = &after[end + 2..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn substitution_is_one_pass() {
        let values = BTreeMap::from([("a", "{{b}}"), ("b", "B")]);
        assert_eq!(
            substitute("x {{a}} y {{ b }} {{c}}", &values),
            "x {{b}} y B "
        );
        assert_eq!(substitute("open {{", &values), "open {{");
        assert_eq!(placeholders("{{a}} and {{ b }}"), vec!["a", "b"]);
    }
}
