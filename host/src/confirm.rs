//! Confirmation of high-impact tools: the human is asked before the call runs.
//!
//! - MCP 2026-07-28: the call answers `input_required` with an elicitation and a sealed
//!   `requestState` ([`crate::request_state`]: bound to the client, the tool and the
//!   arguments, five minutes, one use), so a replayed or tampered state is refused.
//! - MCP 2025-11-25: an `elicitation/create` request to the client during the call.
//!
//! The prompt names the component, its digest, the tool and the arguments: redacted, escaped
//! (control, bidirectional and invisible characters shown as `\u{...}`) and truncated.

use rmcp::model::{
    ClientCapabilities, ElicitRequest, ElicitRequestParams, ElicitResult, ElicitationAction,
    ElicitationSchema, InputRequest, InputRequests, InputRequiredResult, InputResponses,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData as McpError, RoleServer};
use serde_json::{Map, Value};

use crate::catalog::Tool;
use crate::redact::{Redactor, Report};
use crate::request_state::{Binding, Continuation, RequestStates, STATE_TTL};

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

/// A 2026-07-28 retry: the continuation its `requestState` opened to, and its
/// `inputResponses`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Retry<'a> {
    /// What the (verified) `requestState` carried, if one was sent.
    pub continuation: Option<&'a Continuation>,
    /// The `inputResponses`.
    pub responses: Option<&'a InputResponses>,
}

/// Decides a call of `tool` with `arguments`, asking the human as the negotiated protocol
/// era allows; a 2026-07-28 question is sealed with `states` to `binding`.
///
/// # Errors
/// A 2026-07-28 client that cannot answer elicitations (`-32021`).
pub async fn decide(
    tool: &Tool,
    arguments: &Map<String, Value>,
    retry: Retry<'_>,
    (states, binding): (&RequestStates, &Binding),
    redactor: &Redactor,
    context: &RequestContext<RoleServer>,
) -> Result<Verdict, McpError> {
    let message = prompt(tool, arguments, redactor);
    let modern = context
        .protocol_version()
        .is_some_and(|version| version >= rmcp::model::ProtocolVersion::V_2026_07_28);
    if !modern {
        return Ok(decide_legacy(message, context).await);
    }
    if !context
        .client_capabilities()
        .is_some_and(|caps| can_elicit_form(&caps))
    {
        return Err(McpError::missing_required_client_capability(
            ClientCapabilities::builder().enable_elicitation().build(),
        ));
    }
    let ask = || -> Result<Verdict, McpError> {
        let state = states.seal(&Continuation::default(), binding)?;
        let mut requests = InputRequests::new();
        requests.insert(
            INPUT_KEY.to_string(),
            InputRequest::Elicitation(ElicitRequest::new(form(message.clone()))),
        );
        Ok(Verdict::Ask(InputRequiredResult::new(
            Some(requests),
            Some(state),
        )))
    };
    match retry.continuation {
        // Confirmed in an earlier round (the tool then asked questions of its own).
        Some(continuation) if continuation.confirmed => Ok(Verdict::Accepted),
        Some(_) => {
            let answer = retry
                .responses
                .and_then(|responses| responses.get(INPUT_KEY))
                .and_then(|value| serde_json::from_value::<ElicitResult>(value.clone()).ok());
            match answer {
                Some(answer) => Ok(verdict(&answer.action)),
                // No (readable) answer: ask again with a fresh state.
                None => ask(),
            }
        }
        None => ask(),
    }
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
        .create_elicitation_with_timeout(form(message), Some(STATE_TTL))
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

/// Whether a client declaring `caps` can answer a form elicitation.
pub(crate) fn can_elicit_form(caps: &ClientCapabilities) -> bool {
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

/// Shows control, bidirectional-override and invisible characters as `\u{...}`, so that what
/// the human reads is what is there.
pub(crate) fn escape(text: &str) -> String {
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

    #[test]
    fn escape_shows_hidden_characters() {
        assert_eq!(
            escape("ok\u{202E}evil\u{200B}\u{7}\nline"),
            "ok\\u{202E}evil\\u{200B}\\u{0007}\nline"
        );
    }
}
