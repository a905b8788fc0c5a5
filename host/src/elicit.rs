//! Questions a tool asks the human (`warden:tool/elicitation`): checked, framed with who
//! asks, and put to the client the way the negotiated era allows.
//!
//! - MCP 2025-11-25: an `elicitation/create` request to the client while the guest waits.
//! - MCP 2026-07-28 (no server-to-client requests): the guest is stopped at its first
//!   unanswered question, the call answers `input_required` with it, and the client's retry
//!   runs the call again from the start with every answer so far (carried in the sealed
//!   `requestState`, [`crate::request_state`]), so the same question returns its answer at
//!   once.
//!
//! Only form mode is offered: a URL would let a tool send the human anywhere. The schema must
//! be an MCP form schema (flat primitive properties; rmcp's `ElicitationSchema` parses it),
//! and an accepted answer must match it before the guest sees it.

use std::collections::BTreeMap;
use std::time::Duration;

use rmcp::RoleServer;
use rmcp::model::{ElicitRequestParams, ElicitResult, ElicitationAction, ElicitationSchema};
use rmcp::service::{ElicitationMode, Peer};
use serde_json::Value;

use crate::redact::{Redactor, Report};

/// Longest question key, in bytes.
const MAX_KEY: usize = 64;
/// Longest question text, in bytes.
const MAX_MESSAGE: usize = 4 << 10;
/// Longest requested schema, in bytes of JSON.
const MAX_SCHEMA: usize = 16 << 10;

/// How a call's questions reach the human.
pub enum Channel {
    /// They cannot: the reason is the guest's error.
    Closed(String),
    /// `elicitation/create` requests on the session (2025-11-25).
    Request(Peer<RoleServer>),
    /// `input_required` results (2026-07-28).
    Retry,
}

/// What a guest's question came to.
#[derive(Debug, PartialEq)]
pub enum Answer {
    /// The human sent the form: its content, as JSON.
    Accept(String),
    /// The human said no.
    Decline,
    /// The human dismissed the question.
    Cancel,
}

/// A question the call stopped to ask (2026-07-28).
#[derive(Clone, Debug)]
pub struct Question {
    /// The tool's key for it, the key of the input request.
    pub key: String,
    /// The elicitation, framed with who asks.
    pub params: ElicitRequestParams,
}

/// The guest stopped at a question that has no answer yet: the call answers `input_required`.
#[derive(Debug)]
pub struct NeedsAnswer;

impl std::fmt::Display for NeedsAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the tool asked the human a question; the call continues when it is answered")
    }
}

impl std::error::Error for NeedsAnswer {}

/// One call's questions: how they are asked, the answers known, and the one left open.
pub struct Questions {
    channel: Channel,
    answers: BTreeMap<String, ElicitResult>,
    asker: String,
    timeout: Duration,
    pending: Option<Question>,
}

impl Default for Questions {
    fn default() -> Self {
        Questions::closed("this call cannot ask the human questions")
    }
}

impl Questions {
    /// A call whose questions cannot be asked, for `reason`.
    pub fn closed(reason: &str) -> Self {
        Questions::new(
            Channel::Closed(reason.to_string()),
            BTreeMap::new(),
            String::new(),
            Duration::ZERO,
        )
    }

    /// A call whose questions go through `channel`, with the `answers` known so far (a
    /// 2026-07-28 retry), asked by `asker` (e.g. "The tool `x` (component `c`, sha256 …)"),
    /// waiting at most `timeout` for a 2025-11-25 answer.
    pub fn new(
        channel: Channel,
        answers: BTreeMap<String, ElicitResult>,
        asker: String,
        timeout: Duration,
    ) -> Self {
        Questions {
            channel,
            answers,
            asker,
            timeout,
            pending: None,
        }
    }

    /// Asks the human `message` with the form `schema` under `key`; the guest's error when
    /// nothing could be asked or the answer did not fit. Every text is redacted and escaped.
    ///
    /// # Errors
    /// [`NeedsAnswer`] when the call must stop to ask (2026-07-28); the question is then
    /// [`Questions::take_pending`].
    pub async fn ask(
        &mut self,
        key: &str,
        message: &str,
        schema: &str,
        redactor: &Redactor,
    ) -> Result<Result<Answer, String>, NeedsAnswer> {
        let (form, validator) = match check(key, message, schema) {
            Ok(checked) => checked,
            Err(why) => return Ok(Err(why)),
        };
        let shown = crate::confirm::escape(&redactor.redact_str(message, &mut Report::default()));
        let params = ElicitRequestParams::FormElicitationParams {
            meta: None,
            message: format!("{} asks:\n\n{shown}", self.asker),
            requested_schema: form,
        };
        let answer = match &self.channel {
            Channel::Closed(reason) => return Ok(Err(reason.clone())),
            Channel::Retry => match self.answers.get(key) {
                Some(answer) => answer.clone(),
                None => {
                    self.pending = Some(Question {
                        key: key.to_string(),
                        params,
                    });
                    return Err(NeedsAnswer);
                }
            },
            Channel::Request(peer) => {
                if !peer
                    .supported_elicitation_modes()
                    .contains(&ElicitationMode::Form)
                {
                    return Ok(Err("the client cannot answer questions (it did not declare the elicitation capability)".into()));
                }
                match peer
                    .create_elicitation_with_timeout(params, Some(self.timeout))
                    .await
                {
                    Ok(answer) => answer,
                    Err(error) => return Ok(Err(format!("asking the human failed: {error}"))),
                }
            }
        };
        Ok(fitted(&answer, &validator))
    }

    /// The question the call stopped at, if it did.
    pub fn take_pending(&mut self) -> Option<Question> {
        self.pending.take()
    }
}

/// The form and a validator of its answers, if `key`, `message` and `schema` are acceptable.
fn check(
    key: &str,
    message: &str,
    schema: &str,
) -> Result<(ElicitationSchema, jsonschema::Validator), String> {
    let key_ok = !key.is_empty()
        && key.len() <= MAX_KEY
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
        // The confirmation's own key, `dev.warden/confirm`, is not a tool's.
        && !key.starts_with("dev.warden");
    if !key_ok {
        return Err(format!(
            "the question key `{}` is not usable: use 1 to {MAX_KEY} letters, digits, `_`, `-` or `.`",
            key.escape_debug()
        ));
    }
    if message.len() > MAX_MESSAGE {
        return Err(format!(
            "the question is {} bytes; at most {MAX_MESSAGE} are allowed",
            message.len()
        ));
    }
    if schema.len() > MAX_SCHEMA {
        return Err(format!(
            "the requested schema is {} bytes; at most {MAX_SCHEMA} are allowed",
            schema.len()
        ));
    }
    let form: ElicitationSchema = serde_json::from_str(schema).map_err(|error| {
        format!("the requested schema is not an MCP form schema (an object of flat string, number, integer, boolean or enum properties): {error}")
    })?;
    let as_json = serde_json::to_value(&form).map_err(|error| error.to_string())?;
    let validator = jsonschema::draft202012::new(&as_json)
        .map_err(|error| format!("the requested schema does not compile: {error}"))?;
    Ok((form, validator))
}

/// The guest's view of `answer`: an accepted form must match the schema.
fn fitted(answer: &ElicitResult, validator: &jsonschema::Validator) -> Result<Answer, String> {
    match answer.action {
        ElicitationAction::Accept => {
            let content = answer
                .content
                .clone()
                .unwrap_or(Value::Object(Default::default()));
            let problems: Vec<String> = validator
                .iter_errors(&content)
                .map(|error| error.to_string())
                .collect();
            if problems.is_empty() {
                Ok(Answer::Accept(content.to_string()))
            } else {
                Err(format!(
                    "the human's answer does not match the form: {}",
                    problems.join("; ")
                ))
            }
        }
        ElicitationAction::Decline => Ok(Answer::Decline),
        // Cancel, and anything a later revision adds: not an answer.
        _ => Ok(Answer::Cancel),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NAME: &str = r#"{"type":"object","properties":{"name":{"type":"string","minLength":1}},"required":["name"]}"#;

    fn redactor() -> Redactor {
        Redactor::new([("db", "hunter2-correct-horse")])
    }

    fn retry(answers: &[(&str, ElicitResult)]) -> Questions {
        Questions::new(
            Channel::Retry,
            answers
                .iter()
                .map(|(key, answer)| (key.to_string(), answer.clone()))
                .collect(),
            "The tool `t_x`".into(),
            Duration::from_secs(1),
        )
    }

    fn accept(content: Value) -> ElicitResult {
        ElicitResult::new(ElicitationAction::Accept).with_content(content)
    }

    #[tokio::test]
    async fn an_unanswered_question_stops_the_call_with_its_framed_form() {
        let mut questions = retry(&[]);
        let asked = questions
            .ask(
                "name",
                "Your name? (db: hunter2-correct-horse)",
                NAME,
                &redactor(),
            )
            .await;
        assert!(asked.is_err());
        let question = questions.take_pending().unwrap();
        assert_eq!(question.key, "name");
        let ElicitRequestParams::FormElicitationParams {
            message,
            requested_schema,
            ..
        } = question.params
        else {
            panic!("a form")
        };
        assert!(message.starts_with("The tool `t_x` asks:\n\n"), "{message}");
        assert!(!message.contains("hunter2"), "{message}");
        assert_eq!(requested_schema.required, Some(vec!["name".to_string()]));
    }

    #[tokio::test]
    async fn answers_are_checked_against_the_form() {
        let mut questions = retry(&[
            ("good", accept(json!({"name": "Alice"}))),
            ("bad", accept(json!({"name": 5}))),
            ("no", ElicitResult::new(ElicitationAction::Decline)),
        ]);
        let redactor = redactor();
        assert_eq!(
            questions.ask("good", "?", NAME, &redactor).await.unwrap(),
            Ok(Answer::Accept(r#"{"name":"Alice"}"#.into()))
        );
        let bad = questions.ask("bad", "?", NAME, &redactor).await.unwrap();
        assert!(bad.unwrap_err().contains("does not match the form"));
        assert_eq!(
            questions.ask("no", "?", NAME, &redactor).await.unwrap(),
            Ok(Answer::Decline)
        );
    }

    #[tokio::test]
    async fn bad_keys_and_schemas_ask_nothing() {
        let mut questions = retry(&[]);
        let redactor = redactor();
        for (key, schema, why) in [
            ("", NAME, "not usable"),
            ("dev.warden/confirm", NAME, "not usable"),
            ("a b", NAME, "not usable"),
            (
                "k",
                r#"{"type":"object","properties":{"x":{"type":"object"}}}"#,
                "not an MCP form schema",
            ),
            ("k", "not json", "not an MCP form schema"),
        ] {
            let asked = questions.ask(key, "?", schema, &redactor).await.unwrap();
            assert!(asked.unwrap_err().contains(why), "{key} {schema}");
        }
        assert!(questions.take_pending().is_none());
        let closed = Questions::closed("no asking here")
            .ask("k", "?", NAME, &redactor)
            .await
            .unwrap();
        assert_eq!(closed, Err("no asking here".to_string()));
    }
}
