//! Warden's own stdio framing in front of rmcp: newline-delimited JSON-RPC with a bound on
//! line length, and a precise JSON-RPC error for every line that is not a message.
//!
//! rmcp's stdio transport skips unparsable lines silently and drops over-long ones; a
//! security product must answer them instead (`-32700` for malformed JSON, `-32600` for an
//! oversized line or a non-request, `-32602` for a request whose params do not parse).

use std::borrow::Cow;
use std::io::Write;

use rmcp::RoleServer;
use rmcp::model::{
    CallToolRequestMethod, CallToolRequestParams, ClientRequest, ConstString, JsonRpcMessage,
};
use rmcp::service::{RxJsonRpcMessage, TxJsonRpcMessage};
use rmcp::transport::Transport;
use serde_json::{Value, json};
use tokio::io::{AsyncBufRead, AsyncBufReadExt};
use tokio::sync::{mpsc, oneshot};

/// Lines waiting for the writer before senders wait.
const OUTBOX: usize = 256;

/// One newline-terminated frame.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame {
    /// A line, without its newline.
    Line(Vec<u8>),
    /// A line longer than the limit; its length in bytes. Its bytes were discarded.
    TooLong(usize),
}

/// Reads lines of at most `limit` bytes, discarding longer ones without buffering them.
pub struct LineReader<R> {
    reader: R,
    limit: usize,
}

impl<R: AsyncBufRead + Unpin> LineReader<R> {
    /// Reads from `reader`.
    pub fn new(reader: R, limit: usize) -> Self {
        LineReader { reader, limit }
    }

    /// The next frame, or `None` at end of input.
    ///
    /// # Errors
    /// Reading fails.
    pub async fn next(&mut self) -> std::io::Result<Option<Frame>> {
        let mut line = Vec::new();
        let mut length = 0usize;
        loop {
            let available = self.reader.fill_buf().await?;
            if available.is_empty() {
                return Ok((length > 0).then(|| self.frame(line, length)));
            }
            let (chunk, consumed, done) = match available.iter().position(|b| *b == b'\n') {
                Some(end) => (&available[..end], end + 1, true),
                None => (available, available.len(), false),
            };
            length += chunk.len();
            if length <= self.limit {
                line.extend_from_slice(chunk);
            } else {
                line = Vec::new();
            }
            self.reader.consume(consumed);
            if done {
                return Ok(Some(self.frame(line, length)));
            }
        }
    }

    fn frame(&self, mut line: Vec<u8>, length: usize) -> Frame {
        if length > self.limit {
            Frame::TooLong(length)
        } else {
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            Frame::Line(line)
        }
    }
}

/// An rmcp transport over a byte reader and writer, with Warden's framing.
pub struct StdioTransport<R> {
    lines: LineReader<R>,
    outbox: mpsc::Sender<String>,
    limit: usize,
}

/// Why the transport could not send.
#[derive(Debug, thiserror::Error)]
#[error("the output stream is closed")]
pub struct Closed;

impl<R: AsyncBufRead + Unpin + Send> StdioTransport<R> {
    /// Reads messages from `input` (lines of at most `limit` bytes) and writes to `output`
    /// from a thread of its own. The thread ends once the transport is dropped and every
    /// pending line is written, and then completes the returned receiver: await it before
    /// exiting, so no answer is lost. (A plain thread, not one of tokio's blocking pool, so
    /// that a writer still waiting can never hold up the runtime's shutdown.)
    ///
    /// The writer is a plain blocking loop on a thread, not async writes to tokio's stdout:
    /// those run each write and each flush as a separate job on tokio's blocking pool, which
    /// cost a line, its newline and the flush three round trips between threads per message.
    /// Here a message costs one wake-up of the writer, and lines that wait are written
    /// together.
    pub fn new<W: Write + Send + 'static>(
        input: R,
        output: W,
        limit: usize,
    ) -> std::io::Result<(Self, oneshot::Receiver<()>)> {
        let (outbox, mut pending) = mpsc::channel::<String>(OUTBOX);
        let (done, finished) = oneshot::channel();
        let write = move || {
            let mut output = output;
            let mut batch = String::new();
            while let Some(line) = pending.blocking_recv() {
                batch.clear();
                batch.push_str(&line);
                batch.push('\n');
                while let Ok(line) = pending.try_recv() {
                    batch.push_str(&line);
                    batch.push('\n');
                }
                if let Err(error) = output
                    .write_all(batch.as_bytes())
                    .and_then(|()| output.flush())
                {
                    tracing::warn!(%error, "cannot write to stdout; stopping");
                    break;
                }
            }
            // The receiver is gone only when nobody waits for the last answers any more.
            let _ = done.send(());
        };
        std::thread::Builder::new()
            .name("warden-stdout".into())
            .spawn(write)?;
        let transport = StdioTransport {
            lines: LineReader::new(input, limit),
            outbox,
            limit,
        };
        Ok((transport, finished))
    }

    async fn reply_error(&mut self, id: Value, code: i64, message: String) {
        reply_error(self.outbox.clone(), id, code, message).await;
    }

    /// Classifies a line that is not a valid message and answers it when it can be answered.
    async fn refuse(&mut self, line: &[u8]) {
        let value: Value = match serde_json::from_slice(line) {
            Ok(value) => value,
            Err(error) => {
                return self
                    .reply_error(Value::Null, -32700, format!("Parse error: {error}"))
                    .await;
            }
        };
        let id = value
            .get("id")
            .cloned()
            .filter(|id| id.is_string() || id.is_number());
        let is_request = value.get("jsonrpc") == Some(&json!("2.0"))
            && value.get("method").is_some_and(Value::is_string);
        match (is_request, id) {
            (true, Some(id)) => {
                let method = value["method"].as_str().unwrap_or_default();
                let error = serde_json::from_value::<RxJsonRpcMessage<RoleServer>>(value.clone())
                    .err()
                    .map_or_else(String::new, |e| e.to_string());
                self.reply_error(
                    id,
                    -32602,
                    format!("Invalid params for `{method}`: {error}"),
                )
                .await;
            }
            // A notification with bad params cannot be answered.
            (true, None) => tracing::warn!("dropped a notification whose params do not parse"),
            (false, id) => {
                self.reply_error(
                    id.unwrap_or(Value::Null),
                    -32600,
                    "Invalid Request: expected a JSON-RPC 2.0 request, notification or response object".into(),
                )
                .await;
            }
        }
    }
}

/// The request methods rmcp parses into typed requests. A request for one of them that
/// arrives as a custom request is one whose params did not parse: rmcp would answer it
/// "method not found", which misleads the client.
const TYPED_METHODS: &[&str] = {
    use rmcp::model::*;
    &[
        InitializeResultMethod::VALUE,
        PingRequestMethod::VALUE,
        DiscoverRequestMethod::VALUE,
        CompleteRequestMethod::VALUE,
        SetLevelRequestMethod::VALUE,
        GetPromptRequestMethod::VALUE,
        ListPromptsRequestMethod::VALUE,
        ListResourcesRequestMethod::VALUE,
        ListResourceTemplatesRequestMethod::VALUE,
        ReadResourceRequestMethod::VALUE,
        SubscriptionsListenRequestMethod::VALUE,
        SubscribeRequestMethod::VALUE,
        UnsubscribeRequestMethod::VALUE,
        CallToolRequestMethod::VALUE,
        ListToolsRequestMethod::VALUE,
        GetTaskMethod::VALUE,
        UpdateTaskMethod::VALUE,
        CancelTaskMethod::VALUE,
        ListSkillsRequestMethod::VALUE,
        GetSkillRequestMethod::VALUE,
        ReadResourceDirectoryRequestMethod::VALUE,
    ]
};

/// A request for a typed method whose params did not parse: its id, method and why.
fn misparsed(message: &RxJsonRpcMessage<RoleServer>) -> Option<(Value, String, String)> {
    let JsonRpcMessage::Request(request) = message else {
        return None;
    };
    let ClientRequest::CustomRequest(custom) = &request.request else {
        return None;
    };
    if !TYPED_METHODS.contains(&custom.method.as_str()) {
        return None;
    }
    let params = custom.params.clone().unwrap_or(Value::Null);
    let why = if custom.method == CallToolRequestMethod::VALUE {
        serde_json::from_value::<CallToolRequestParams>(params)
            .err()
            .map_or_else(
                || "they do not match the method".to_string(),
                |e| e.to_string(),
            )
    } else {
        "they do not match the method's schema".to_string()
    };
    let id = serde_json::to_value(&request.id).unwrap_or(Value::Null);
    Some((id, custom.method.clone(), why))
}

/// Writes a JSON-RPC error reply.
async fn reply_error(outbox: mpsc::Sender<String>, id: Value, code: i64, message: String) {
    tracing::warn!(code, %message, "refused an incoming line");
    let reply = json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}});
    let _ = outbox.send(reply.to_string()).await;
}

impl<R: AsyncBufRead + Unpin + Send> Transport<RoleServer> for StdioTransport<R> {
    type Error = Closed;

    fn name() -> Cow<'static, str> {
        "warden-stdio".into()
    }

    fn send(
        &mut self,
        item: TxJsonRpcMessage<RoleServer>,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send + 'static {
        let outbox = self.outbox.clone();
        async move {
            let line = serde_json::to_string(&item).map_err(|_| Closed)?;
            outbox.send(line).await.map_err(|_| Closed)
        }
    }

    async fn receive(&mut self) -> Option<RxJsonRpcMessage<RoleServer>> {
        loop {
            let frame = match self.lines.next().await {
                Ok(Some(frame)) => frame,
                Ok(None) => return None,
                Err(error) => {
                    tracing::warn!(%error, "cannot read stdin; stopping");
                    return None;
                }
            };
            match frame {
                Frame::TooLong(length) => {
                    let limit = self.limit;
                    self.reply_error(
                        Value::Null,
                        -32600,
                        format!("Invalid Request: a message of {length} bytes exceeds the limit of {limit} bytes (server.max_argument_bytes plus 1 MiB)"),
                    )
                    .await;
                }
                Frame::Line(line) if line.iter().all(u8::is_ascii_whitespace) => {}
                Frame::Line(line) => match serde_json::from_slice(&line) {
                    Ok(message) => match misparsed(&message) {
                        None => return Some(message),
                        Some((id, method, why)) => {
                            let message = format!("Invalid params for `{method}`: {why}");
                            self.reply_error(id, -32602, message).await;
                        }
                    },
                    Err(_) => self.refuse(&line).await,
                },
            }
        }
    }

    async fn close(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn frames_lines_and_discards_long_ones() {
        let input: &[u8] = b"short\r\n0123456789abc\nlast";
        let mut reader = LineReader::new(tokio::io::BufReader::with_capacity(4, input), 8);
        assert_eq!(
            reader.next().await.unwrap(),
            Some(Frame::Line(b"short".to_vec()))
        );
        assert_eq!(reader.next().await.unwrap(), Some(Frame::TooLong(13)));
        assert_eq!(
            reader.next().await.unwrap(),
            Some(Frame::Line(b"last".to_vec()))
        );
        assert_eq!(reader.next().await.unwrap(), None);
    }
}
