//! Asking the human a question through the MCP client (`warden:tool/elicitation`): a form
//! whose fields the tool describes as a JSON Schema of flat primitive properties.
//!
//! The operator must grant it (`elicitation = true` on the component), and the client must
//! support elicitation; otherwise [`ask`] returns an error saying why. Under MCP 2026-07-28
//! the host may stop the call at an unanswered question and run it again, from the start, with
//! the answer: ask before doing anything that must not happen twice, and give each question
//! its own `key`. Never ask for secrets.
//!
//! ```no_run
//! use warden_sdk::elicitation::{Answer, ask};
//!
//! let schema = r#"{"type": "object",
//!                  "properties": {"name": {"type": "string", "title": "Your name"}},
//!                  "required": ["name"]}"#;
//! match ask("name", "Who should the report be addressed to?", schema) {
//!     Ok(Answer::Accept(json)) => { /* `json` is the form's content, e.g. {"name":"Ada"} */ }
//!     Ok(Answer::Decline | Answer::Cancel) => { /* the human said no */ }
//!     Err(why) => { /* not granted, no client support, a bad schema, ... */ }
//! }
//! ```

pub use crate::bindings::warden::tool::elicitation::Answer;

/// Asks the human `message` with the form `requested_schema` (JSON), under `key` (letters,
/// digits, `_`, `-`, `.`; the same key is the same question within a call).
///
/// # Errors
/// Why nothing was asked or the answer was unusable: not granted, the client cannot answer
/// questions, a malformed key or schema, or an answer that does not match the form.
pub fn ask(key: &str, message: &str, requested_schema: &str) -> Result<Answer, String> {
    crate::bindings::warden::tool::elicitation::ask(key, message, requested_schema)
}
