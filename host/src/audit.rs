//! One structured event per tool call: who was called, with what outcome, at what cost.
//!
//! Records never hold argument values or outputs, only their sizes and the outcome. They go
//! to the `warden::audit` tracing target (stderr, JSON with `--log-format json`).

use std::time::Duration;

use crate::digest::Sha256Digest;

/// The outcome of a call, as the audit log names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The tool returned a value.
    Ok,
    /// The tool returned its own error (`result::err`).
    ToolError,
    /// No such tool (JSON-RPC error).
    UnknownTool,
    /// The arguments were too large, too deep or did not match the schema.
    InvalidArguments,
    /// The tool's output did not match its output schema.
    InvalidOutput,
    /// The result was larger than `server.max_output_bytes`.
    OutputTooLarge,
    /// The result held instruction-like text and the output policy is `block`.
    Blocked,
    /// The caller's grants do not include the tool.
    NotGranted,
    /// A rate limit refused the call.
    RateLimited,
    /// A per-client concurrency limit refused the call.
    Busy,
    /// The human declined (or cancelled) the confirmation.
    Declined,
    /// The confirmation could not be asked, so the tool did not run.
    Unconfirmed,
    /// The sandbox stopped the call: a failure kind from [`crate::sandbox::Failure::kind`].
    Failed(&'static str),
}

impl Outcome {
    /// The name written to the log.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::ToolError => "tool_error",
            Outcome::UnknownTool => "unknown_tool",
            Outcome::InvalidArguments => "invalid_arguments",
            Outcome::InvalidOutput => "invalid_output",
            Outcome::OutputTooLarge => "output_too_large",
            Outcome::Blocked => "blocked",
            Outcome::NotGranted => "not_granted",
            Outcome::RateLimited => "rate_limited",
            Outcome::Busy => "busy",
            Outcome::Declined => "declined",
            Outcome::Unconfirmed => "unconfirmed",
            Outcome::Failed(kind) => kind,
        }
    }
}

/// One call, as recorded.
#[derive(Clone, Debug)]
pub struct CallRecord<'a> {
    /// Who called: the client identity.
    pub client: &'a str,
    /// How it connected.
    pub transport: &'static str,
    /// The tool name as requested.
    pub tool: &'a str,
    /// The component's id and digest, when the tool exists.
    pub component: Option<(&'a str, Sha256Digest)>,
    /// What happened.
    pub outcome: Outcome,
    /// Size of the `arguments` JSON.
    pub argument_bytes: usize,
    /// Wall-clock time of the call.
    pub duration: Duration,
    /// Fuel the guest used.
    pub fuel_used: u64,
    /// Secrets and credentials redacted from the result.
    pub redactions: usize,
}

/// Writes `record` to the audit log.
pub fn record(record: &CallRecord<'_>) {
    let (component, digest) = match record.component {
        Some((id, digest)) => (id, digest.to_string()),
        None => ("", String::new()),
    };
    tracing::info!(
        target: "warden::audit",
        client = record.client,
        transport = record.transport,
        tool = record.tool,
        component,
        digest = digest.as_str(),
        outcome = record.outcome.as_str(),
        argument_bytes = record.argument_bytes,
        duration_us = u64::try_from(record.duration.as_micros()).unwrap_or(u64::MAX),
        fuel_used = record.fuel_used,
        redactions = record.redactions,
        "tool call"
    );
}

/// A request refused before it reached MCP: bad or missing credentials.
pub fn auth_failure(source: std::net::IpAddr, reason: &str) {
    tracing::warn!(
        target: "warden::audit",
        outcome = "auth_failed",
        source = %source,
        reason,
        "authentication failed"
    );
}
