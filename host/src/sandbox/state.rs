//! Per-call store state: the WASI context (nothing granted), the `warden:tool/log`,
//! `warden:tool/progress` and `warden:tool/elicitation` imports, the summed memory limiter and
//! the captured stdout/stderr.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use wasmtime::component::ResourceTable;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use wasmtime::component::Resource;

use super::bindings::warden::tool::elicitation::{self, Answer};
use super::bindings::warden::tool::log::{self, Level};
use super::bindings::warden::tool::{content, progress, secrets};
use crate::notify::{GuestLevel, Notifier};
use crate::policy::Grants;
use crate::redact::{Redactor, Report};

/// Bytes of one log message kept; the rest is cut.
const MAX_LOG_MESSAGE: usize = 4 << 10;
/// Bytes of log messages one call may write in all; the rest are dropped, and the drop is logged once.
const MAX_LOG_TOTAL: usize = 64 << 10;

/// The state of one call's `Store`.
pub struct CallState {
    pub(super) wasi: WasiCtx,
    pub(super) table: ResourceTable,
    pub(super) limiter: MemoryLimiter,
    pub(super) guest: GuestReport,
    pub(super) grants: Arc<Grants>,
    pub(super) http: wasmtime_wasi_http::WasiHttpCtx,
    pub(super) egress: super::egress::EgressHooks,
    /// What the call tells the MCP client (log messages, progress).
    pub(super) notifier: Notifier,
    /// How the guest's questions reach the human.
    pub(super) questions: crate::elicit::Questions,
}

impl wasmtime_wasi_http::WasiHttpView for CallState {
    fn http(&mut self) -> wasmtime_wasi_http::WasiHttpCtxView<'_> {
        wasmtime_wasi_http::WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.egress,
        }
    }
}

/// A secret handle held by a guest: the secret's name and this call's token for it.
#[derive(Debug)]
pub struct SecretHandle {
    name: String,
    token: String,
}

/// A fresh random placeholder: 128 bits, hex.
fn new_token() -> String {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).expect("the operating system provides randomness");
    format!("warden-secret-{}", hex::encode(bytes))
}

impl secrets::Host for CallState {
    fn get(&mut self, name: String) -> Result<Resource<SecretHandle>, String> {
        if !self.grants.secrets.contains(&name) {
            tracing::warn!(target: "warden::denial", tool = &*self.guest.tool, secret = %name, "secret not granted");
            self.egress.deny("secret", name.clone());
            return Err(format!("secret `{name}` is not granted to this tool"));
        }
        let token = match self
            .egress
            .tokens
            .iter()
            .find(|(_, granted)| *granted == name)
        {
            Some((token, _)) => token.clone(),
            None => {
                let token = new_token();
                self.egress.tokens.push((token.clone(), name.clone()));
                token
            }
        };
        self.table
            .push(SecretHandle { name, token })
            .map_err(|e| format!("cannot hand out the secret: {e}"))
    }
}

impl secrets::HostSecret for CallState {
    fn name(&mut self, handle: Resource<SecretHandle>) -> String {
        self.table
            .get(&handle)
            .map(|h| h.name.clone())
            .unwrap_or_default()
    }

    fn token(&mut self, handle: Resource<SecretHandle>) -> String {
        self.table
            .get(&handle)
            .map(|h| h.token.clone())
            .unwrap_or_default()
    }

    fn drop(&mut self, handle: Resource<SecretHandle>) -> wasmtime::Result<()> {
        self.table.delete(handle)?;
        Ok(())
    }
}

impl WasiView for CallState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// What the guest told the host during a call through `warden:tool/log`.
#[derive(Debug)]
pub struct GuestReport {
    /// The tool, for log lines.
    pub tool: Arc<str>,
    /// Redacts what the guest logs.
    redactor: Arc<Redactor>,
    /// The message of a panic the SDK's hook reported.
    pub panic: Option<String>,
    logged: usize,
}

impl GuestReport {
    /// A report for calls of `tool`, whose log lines `redactor` cleans.
    pub fn new(tool: Arc<str>, redactor: Arc<Redactor>) -> Self {
        GuestReport {
            tool,
            redactor,
            panic: None,
            logged: 0,
        }
    }
}

impl log::Host for CallState {
    fn emit(&mut self, level: Level, message: String) {
        let report = &mut self.guest;
        if report.logged >= MAX_LOG_TOTAL {
            return;
        }
        report.logged += message.len();
        let message = truncate(message, MAX_LOG_MESSAGE);
        let message = report.redactor.redact_str(&message, &mut Report::default());
        let tool = &*report.tool;
        self.notifier.log(
            match level {
                Level::Trace => GuestLevel::Trace,
                Level::Debug => GuestLevel::Debug,
                Level::Info => GuestLevel::Info,
                Level::Warn => GuestLevel::Warn,
                Level::Error => GuestLevel::Error,
            },
            &message,
        );
        match level {
            Level::Trace => tracing::trace!(target: "warden::guest", tool, "{message}"),
            Level::Debug => tracing::debug!(target: "warden::guest", tool, "{message}"),
            Level::Info => tracing::info!(target: "warden::guest", tool, "{message}"),
            Level::Warn => tracing::warn!(target: "warden::guest", tool, "{message}"),
            Level::Error => tracing::error!(target: "warden::guest", tool, "{message}"),
        }
        if report.logged >= MAX_LOG_TOTAL {
            tracing::warn!(target: "warden::guest", tool, "log budget of {MAX_LOG_TOTAL} bytes used up; further messages of this call are dropped");
        }
    }

    fn report_panic(&mut self, message: String) {
        let message = truncate(message, MAX_LOG_MESSAGE);
        let message = self
            .guest
            .redactor
            .redact_str(&message, &mut Report::default());
        self.guest.panic = Some(message.into_owned());
    }
}

impl progress::Host for CallState {
    fn report(&mut self, progress: f64, total: Option<f64>, message: Option<String>) {
        self.notifier
            .progress(progress, total, message, &self.guest.redactor);
    }
}

/// `warden:tool/content` holds only types.
impl content::Host for CallState {}

impl elicitation::Host for CallState {
    async fn ask(
        &mut self,
        key: String,
        message: String,
        requested_schema: String,
    ) -> wasmtime::Result<Result<Answer, String>> {
        if !self.grants.elicitation {
            tracing::warn!(target: "warden::denial", tool = &*self.guest.tool, key = %key, "elicitation not granted");
            self.egress.deny("elicitation", key);
            return Ok(Err(
                "asking the human is not granted to this component (the manifest's `elicitation = true`)".into(),
            ));
        }
        let asked = self
            .questions
            .ask(&key, &message, &requested_schema, &self.guest.redactor)
            .await
            .map_err(wasmtime::Error::new)?;
        Ok(asked.map(|answer| match answer {
            crate::elicit::Answer::Accept(content) => Answer::Accept(content),
            crate::elicit::Answer::Decline => Answer::Decline,
            crate::elicit::Answer::Cancel => Answer::Cancel,
        }))
    }
}

/// Cuts `text` to at most `max` bytes, on a character boundary, marking the cut.
pub fn truncate(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push_str("… (truncated)");
    }
    text
}

/// Limits the total of all linear memories and tables of one instance.
///
/// `wasmtime::StoreLimits` applies its memory limit to each memory on its own; a component
/// has several core instances, so the sum is what bounds the host's memory.
#[derive(Debug)]
pub struct MemoryLimiter {
    limit: usize,
    used: usize,
    /// The most `used` ever was: the call's peak memory.
    pub peak: usize,
    /// Whether a grow was refused: a guest that then aborts ran out of memory.
    pub refused: bool,
}

impl MemoryLimiter {
    /// A limiter allowing `limit` bytes in all.
    pub fn new(limit: u64) -> Self {
        MemoryLimiter {
            limit: usize::try_from(limit).unwrap_or(usize::MAX),
            used: 0,
            peak: 0,
            refused: false,
        }
    }

    fn grow(&mut self, current: usize, desired: usize) -> bool {
        let next = self.used.saturating_sub(current).saturating_add(desired);
        if next > self.limit {
            self.refused = true;
            false
        } else {
            self.used = next;
            self.peak = self.peak.max(next);
            true
        }
    }
}

impl wasmtime::ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(self.grow(current, desired))
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        // A table element is a pointer on the host.
        let size = std::mem::size_of::<usize>();
        Ok(self.grow(current.saturating_mul(size), desired.saturating_mul(size)))
    }
}

/// A guest's stdout or stderr: kept in memory up to a bound, the rest silently dropped.
///
/// `MemoryOutputPipe` traps the guest once full; a chatty tool should lose output, not fail.
#[derive(Clone, Debug)]
pub struct CapturedOutput {
    capacity: usize,
    buffer: Arc<Mutex<Vec<u8>>>,
}

impl CapturedOutput {
    /// Keeps the first `capacity` bytes written.
    pub fn new(capacity: usize) -> Self {
        CapturedOutput {
            capacity,
            buffer: Arc::default(),
        }
    }

    /// What was kept, lossily decoded.
    pub fn text(&self) -> String {
        let buffer = self.buffer.lock().unwrap_or_else(|e| e.into_inner());
        String::from_utf8_lossy(&buffer).into_owned()
    }
}

impl IsTerminal for CapturedOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for CapturedOutput {
    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

impl tokio::io::AsyncWrite for CapturedOutput {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        bytes: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let mut buffer = self.buffer.lock().unwrap_or_else(|e| e.into_inner());
        let room = self.capacity.saturating_sub(buffer.len());
        buffer.extend_from_slice(&bytes[..bytes.len().min(room)]);
        Poll::Ready(Ok(bytes.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limiter_sums_every_memory() {
        let mut limiter = MemoryLimiter::new(100);
        assert!(limiter.grow(0, 60));
        assert!(limiter.grow(0, 40));
        assert!(
            !limiter.grow(0, 1),
            "a second memory may not push the sum over"
        );
        assert!(limiter.refused);
        assert!(limiter.grow(40, 30), "shrinking a grow request frees room");
        assert_eq!(limiter.peak, 100);
    }

    #[test]
    fn truncates_on_char_boundaries() {
        assert_eq!(truncate("ééé".into(), 3), "é… (truncated)");
        assert_eq!(truncate("short".into(), 10), "short");
    }
}
