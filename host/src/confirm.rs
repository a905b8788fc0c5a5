//! Confirmation of high-impact tools: the human is asked before the call runs.
//!
//! - MCP 2026-07-28: the call answers `input_required` with an elicitation and a
//!   `requestState` sealed (HMAC-SHA256, rmcp's `RequestStateCodec`) to the client, the tool,
//!   a digest of the arguments and a 5-minute expiry; each state is good for one answer, so a
//!   replayed or tampered state is refused.
//! - MCP 2025-11-25: an `elicitation/create` request to the client during the call.
//!
//! The prompt names the component, its digest, the tool and the arguments: redacted, escaped
//! (control, bidirectional and invisible characters shown as `\u{...}`) and truncated.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rmcp::model::{
    ClientCapabilities, ElicitRequest, ElicitRequestParams, ElicitResult, ElicitationAction,
    ElicitationSchema, InputRequest, InputRequests, InputRequiredResult, RequestStateCodec,
    SealOptions,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData as McpError, RoleServer};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::catalog::Tool;
use crate::redact::{Redactor, Report};

/// How long a confirmation request stays valid.
pub const CONFIRM_TTL: Duration = Duration::from_secs(300);
/// The key of Warden's request in `inputRequests` / `inputResponses`.
pub const INPUT_KEY: &str = "dev.warden/confirm";
/// Longest argument text shown in a prompt.
const MAX_SHOWN: usize = 2048;

/// What the confirmation step decided.
#[derive(Debug)]
pub enum Verdict {
    /// The human accepted: run the call.
    Accepted,
    /// The human declined or cancelled: do not run it.
    Declined(&'static str),
    /// Ask first (2026-07-28): send this result.
    Ask(InputRequiredResult),
    /// The client cannot be asked (2025-11-25), or asking failed: do not run; the message says why.
    Unavailable(String),
}

/// The state of pending confirmations: the sealing key and the states already answered.
pub struct Confirmations {
    codec: RequestStateCodec,
    answered: Mutex<HashMap<[u8; 16], Instant>>,
}

impl Confirmations {
    /// A fresh key, random per server process.
    ///
    /// # Errors
    /// The system has no randomness.
    pub fn new() -> Result<Self, getrandom::Error> {
        let mut key = [0u8; 32];
        getrandom::fill(&mut key)?;
        let codec = RequestStateCodec::try_new(key.to_vec())
            .unwrap_or_else(|_| unreachable!("a 32-byte key is long enough"));
        Ok(Confirmations {
            codec,
            answered: Mutex::new(HashMap::new()),
        })
    }

    /// Decides a call of `tool` by `identity` with `arguments`, asking the human as the
    /// negotiated protocol era allows.
    ///
    /// # Errors
    /// A 2026-07-28 client that cannot answer elicitations (`-32021`), or a `requestState`
    /// that is tampered, expired, for another call or already answered (`-32602`).
    pub async fn decide(
        &self,
        tool: &Tool,
        identity: &str,
        arguments: &Map<String, Value>,
        request: StateEcho<'_>,
        redactor: &Redactor,
        context: &RequestContext<RoleServer>,
    ) -> Result<Verdict, McpError> {
        let message = prompt(tool, arguments, redactor);
        let bound = binding(identity, tool, arguments);
        let modern = context
            .protocol_version()
            .is_some_and(|version| version >= rmcp::model::ProtocolVersion::V_2026_07_28);
        if modern {
            self.decide_modern(&message, &bound, request, context)
        } else {
            Ok(decide_legacy(message, context).await)
        }
    }

    fn decide_modern(
        &self,
        message: &str,
        bound: &[u8],
        request: StateEcho<'_>,
        context: &RequestContext<RoleServer>,
    ) -> Result<Verdict, McpError> {
        if !context
            .client_capabilities()
            .is_some_and(|caps| can_elicit_form(&caps))
        {
            return Err(McpError::missing_required_client_capability(
                ClientCapabilities::builder().enable_elicitation().build(),
            ));
        }
        let Some(state) = request.state else {
            return Ok(Verdict::Ask(self.ask(message, bound)));
        };
        let nonce = self.codec.open_with(state, bound).map_err(|error| {
            McpError::invalid_params(
                format!("the confirmation state was refused ({error}): call the tool again without requestState to be asked anew"),
                None,
            )
        })?;
        let nonce: [u8; 16] = nonce
            .try_into()
            .map_err(|_| McpError::invalid_params("the confirmation state is malformed", None))?;
        if !self.mark_answered(nonce) {
            return Err(McpError::invalid_params(
                "this confirmation was already answered: call the tool again without requestState to be asked anew",
                None,
            ));
        }
        let answer = request
            .responses
            .and_then(|responses| responses.get(INPUT_KEY))
            .and_then(|value| serde_json::from_value::<ElicitResult>(value.clone()).ok());
        Ok(match answer {
            Some(answer) => verdict(&answer.action),
            // No (readable) answer: ask again with a fresh state.
            None => Verdict::Ask(self.ask(message, bound)),
        })
    }

    fn ask(&self, message: &str, bound: &[u8]) -> InputRequiredResult {
        let mut nonce = [0u8; 16];
        // Without randomness the nonce would repeat; an all-zero nonce is refused as answered
        // after its first use, so the failure is safe.
        let _ = getrandom::fill(&mut nonce);
        let state = self.codec.seal_with(
            &nonce,
            &SealOptions::new().associated_data(bound).ttl(CONFIRM_TTL),
        );
        let mut requests = InputRequests::new();
        requests.insert(
            INPUT_KEY.to_string(),
            InputRequest::Elicitation(ElicitRequest::new(form(message.to_string()))),
        );
        InputRequiredResult::new(Some(requests), Some(state))
    }

    /// Records `nonce` as answered; false when it already was.
    fn mark_answered(&self, nonce: [u8; 16]) -> bool {
        let now = Instant::now();
        let mut answered = self
            .answered
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // States expire after the TTL, so older entries can go.
        answered.retain(|_, at| now.duration_since(*at) <= CONFIRM_TTL + Duration::from_secs(60));
        answered.insert(nonce, now).is_none()
    }
}

/// What a 2026-07-28 retry echoes: `requestState` and `inputResponses`.
#[derive(Clone, Copy, Debug, Default)]
pub struct StateEcho<'a> {
    /// The echoed `requestState`.
    pub state: Option<&'a str>,
    /// The `inputResponses`.
    pub responses: Option<&'a rmcp::model::InputResponses>,
}

async fn decide_legacy(message: String, context: &RequestContext<RoleServer>) -> Verdict {
    let supported = context
        .peer
        .supported_elicitation_modes()
        .contains(&rmcp::service::ElicitationMode::Form);
    if !supported {
        return Verdict::Unavailable(
            "this tool asks the human before it runs, and this client cannot ask (it did not declare the elicitation capability): the tool did not run".to_string(),
        );
    }
    match context
        .peer
        .create_elicitation_with_timeout(form(message), Some(CONFIRM_TTL))
        .await
    {
        Ok(answer) => verdict(&answer.action),
        Err(error) => Verdict::Unavailable(format!(
            "asking the human failed ({error}): the tool did not run"
        )),
    }
}

fn verdict(action: &ElicitationAction) -> Verdict {
    match action {
        ElicitationAction::Accept => Verdict::Accepted,
        ElicitationAction::Decline => Verdict::Declined("declined"),
        // Cancel, and anything a later revision adds: not a yes.
        _ => Verdict::Declined("cancelled"),
    }
}

fn can_elicit_form(caps: &ClientCapabilities) -> bool {
    caps.elicitation
        .as_ref()
        .is_some_and(|e| e.form.is_some() || e.url.is_none())
}

fn form(message: String) -> ElicitRequestParams {
    ElicitRequestParams::FormElicitationParams {
        meta: None,
        message,
        requested_schema: ElicitationSchema::new(Default::default()),
    }
}

/// The associated data a state is sealed to: client, tool and the arguments' digest.
fn binding(identity: &str, tool: &Tool, arguments: &Map<String, Value>) -> Vec<u8> {
    let mut canonical = String::new();
    canonical_json(&Value::Object(arguments.clone()), &mut canonical);
    let digest = Sha256::digest(canonical.as_bytes());
    let mut bound = Vec::new();
    for part in [identity.as_bytes(), tool.name.as_bytes(), &digest[..]] {
        bound.extend_from_slice(&(part.len() as u64).to_be_bytes());
        bound.extend_from_slice(part);
    }
    bound
}

/// JSON with object keys sorted at every level, so the digest does not depend on key order.
fn canonical_json(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (index, key) in keys.into_iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                canonical_json(&map[key], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                canonical_json(item, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// The text the human reads.
pub fn prompt(tool: &Tool, arguments: &Map<String, Value>, redactor: &Redactor) -> String {
    let json = serde_json::to_string_pretty(arguments).unwrap_or_default();
    let mut report = Report::default();
    let redacted = redactor.redact_str(&json, &mut report);
    let mut shown = escape(&redacted);
    if shown.len() > MAX_SHOWN {
        let mut end = MAX_SHOWN;
        while !shown.is_char_boundary(end) {
            end -= 1;
        }
        let more = shown.len() - end;
        shown.truncate(end);
        shown.push_str(&format!("\n... ({more} more bytes)"));
    }
    format!(
        "Allow the tool `{}` (component `{}`, sha256 {}) to run with these arguments?\n\n{shown}",
        tool.name,
        tool.component,
        &tool.digest.to_string()[..16],
    )
}

/// Shows control, bidirectional-override and invisible characters as `\u{...}`.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let hidden = (c.is_control() && c != '\n')
            || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}' | '\u{00AD}');
        if hidden {
            out.push_str(&format!("\\u{{{:04X}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn canonical_json_sorts_keys_at_every_level() {
        let mut a = String::new();
        canonical_json(
            &json!({"b": 1, "a": {"d": [1, {"y": 2, "x": 1}], "c": "s"}}),
            &mut a,
        );
        assert_eq!(a, r#"{"a":{"c":"s","d":[1,{"x":1,"y":2}]},"b":1}"#);
    }

    #[test]
    fn escape_shows_hidden_characters() {
        assert_eq!(
            escape("ok\u{202E}evil\u{200B}\u{7}\nline"),
            "ok\\u{202E}evil\\u{200B}\\u{0007}\nline"
        );
    }

    #[test]
    fn answered_states_are_refused_the_second_time() {
        let confirmations = Confirmations::new().unwrap();
        assert!(confirmations.mark_answered([1; 16]));
        assert!(!confirmations.mark_answered([1; 16]));
        assert!(confirmations.mark_answered([2; 16]));
    }
}
