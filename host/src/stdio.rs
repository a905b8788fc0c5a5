//! Warden's own stdio framing in front of rmcp: newline-delimited JSON-RPC with a bound on
//! line length, and a precise JSON-RPC error for every line that is not a message.
//!
//! rmcp's stdio transport skips unparsable lines silently and drops over-long ones; a
//! security product must answer them instead (`-32700` for malformed JSON, `-32600` for an
//! oversized line or a non-request, `-32602` for a request whose params do not parse).

use std::borrow::Cow;
use std::io::{BufRead, Write};

use rmcp::RoleServer;
use rmcp::model::{
    CallToolRequestMethod, CallToolRequestParams, ClientRequest, ConstString, JsonRpcMessage,
};
use rmcp::service::{RxJsonRpcMessage, TxJsonRpcMessage};
use rmcp::transport::Transport;
use serde_json::{Value, json};
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

impl<R: BufRead> LineReader<R> {
    /// Reads from `reader`.
    pub fn new(reader: R, limit: usize) -> Self {
        LineReader { reader, limit }
    }

    /// The next frame, or `None` at end of input (blocking until one arrives). A read
    /// interrupted by a signal is tried again.
    ///
    /// # Errors
    /// Reading fails.
    pub fn next_frame(&mut self) -> std::io::Result<Option<Frame>> {
        let mut line = Vec::new();
        let mut length = 0usize;
        loop {
            let available = match self.reader.fill_buf() {
                Ok(available) => available,
                Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(error) => return Err(error),
            };
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

/// Frames read ahead of the transport before the reader waits.
const INBOX: usize = 64;

/// An rmcp transport over a byte reader and writer, with Warden's framing.
pub struct StdioTransport {
    frames: mpsc::Receiver<std::io::Result<Frame>>,
    outbox: mpsc::Sender<String>,
    limit: usize,
}

/// Why the transport could not send.
#[derive(Debug, thiserror::Error)]
#[error("the output stream is closed")]
pub struct Closed;

impl StdioTransport {
    /// Reads messages from `input` (lines of at most `limit` bytes) on a thread of its own,
    /// and writes to `output` from another. The writer ends once the transport is dropped
    /// and every pending line is written, and then completes the returned receiver: await it
    /// before exiting, so no answer is lost. (Plain threads, not tokio's blocking pool, so
    /// that a reader or writer still waiting can never hold up the runtime's shutdown.)
    ///
    /// Both are plain blocking loops rather than tokio's stdin and stdout: those run each
    /// read, each write and each flush as a separate job on tokio's blocking pool, which
    /// cost several round trips between threads per message. Here a message costs one
    /// wake-up of the transport's task when it arrives and one of the writer when its answer
    /// is ready, and lines that wait are written together.
    pub fn new<R: BufRead + Send + 'static, W: Write + Send + 'static>(
        input: R,
        output: W,
        limit: usize,
    ) -> std::io::Result<(Self, oneshot::Receiver<()>)> {
        let (arrived, frames) = mpsc::channel(INBOX);
        let read = move || {
            let mut lines = LineReader::new(input, limit);
            loop {
                match lines.next_frame() {
                    Ok(Some(frame)) => {
                        if arrived.blocking_send(Ok(frame)).is_err() {
                            return; // the transport is gone
                        }
                    }
                    // End of input: dropping `arrived` ends the session.
                    Ok(None) => return,
                    Err(error) => {
                        let _ = arrived.blocking_send(Err(error));
                        return;
                    }
                }
            }
        };
        std::thread::Builder::new()
            .name("warden-stdin".into())
            .spawn(read)?;
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
            frames,
            outbox,
            limit,
        };
        Ok((transport, finished))
    }

    /// Queues an error reply without waiting, so that `receive` stays cancel-safe: in order
    /// when the outbox has room, else from a task of its own.
    fn reply_error(&mut self, id: Value, code: i64, message: String) {
        tracing::warn!(code, %message, "refused an incoming line");
        let reply =
            json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}})
                .to_string();
        if let Err(mpsc::error::TrySendError::Full(reply)) = self.outbox.try_send(reply) {
            let outbox = self.outbox.clone();
            tokio::spawn(async move {
                let _ = outbox.send(reply).await;
            });
        }
    }

    /// Classifies a line that is not a valid message and answers it when it can be answered.
    fn refuse(&mut self, line: &[u8]) {
        let value: Value = match serde_json::from_slice(line) {
            Ok(value) => value,
            Err(error) => {
                return self.reply_error(Value::Null, -32700, format!("Parse error: {error}"));
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
                );
            }
            // A notification with bad params cannot be answered.
            (true, None) => tracing::warn!("dropped a notification whose params do not parse"),
            (false, id) => {
                self.reply_error(
                    id.unwrap_or(Value::Null),
                    -32600,
                    "Invalid Request: expected a JSON-RPC 2.0 request, notification or response object".into(),
                );
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

impl Transport<RoleServer> for StdioTransport {
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

    /// Cancel-safe, as rmcp's service loop needs (it races `receive` against its other events
    /// and drops it when another wins): lines are framed on the reader thread and wait in a
    /// channel, and nothing here awaits anything else.
    async fn receive(&mut self) -> Option<RxJsonRpcMessage<RoleServer>> {
        loop {
            let frame = match self.frames.recv().await {
                Some(Ok(frame)) => frame,
                None => return None,
                Some(Err(error)) => {
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
                    );
                }
                Frame::Line(line) if line.iter().all(u8::is_ascii_whitespace) => {}
                Frame::Line(line) => match serde_json::from_slice(&line) {
                    Ok(message) => match misparsed(&message) {
                        None => return Some(message),
                        Some((id, method, why)) => {
                            let message = format!("Invalid params for `{method}`: {why}");
                            self.reply_error(id, -32602, message);
                        }
                    },
                    Err(_) => self.refuse(&line),
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

    #[test]
    fn frames_lines_and_discards_long_ones() {
        let input: &[u8] = b"short\r\n0123456789abc\nlast";
        let mut reader = LineReader::new(std::io::BufReader::with_capacity(4, input), 8);
        assert_eq!(
            reader.next_frame().unwrap(),
            Some(Frame::Line(b"short".to_vec()))
        );
        assert_eq!(reader.next_frame().unwrap(), Some(Frame::TooLong(13)));
        assert_eq!(
            reader.next_frame().unwrap(),
            Some(Frame::Line(b"last".to_vec()))
        );
        assert_eq!(reader.next_frame().unwrap(), None);
    }

    #[test]
    fn a_read_interrupted_by_a_signal_is_tried_again() {
        /// Fails every other read with `Interrupted` (EINTR), as a signal may.
        struct Interrupting(&'static [u8], bool);
        impl std::io::Read for Interrupting {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                self.1 = !self.1;
                if self.1 {
                    return Err(std::io::ErrorKind::Interrupted.into());
                }
                let n = self.0.len().min(buf.len()).min(3);
                buf[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let input = Interrupting(b"{\"a\":1}\nnext\n", false);
        let mut reader = LineReader::new(std::io::BufReader::with_capacity(4, input), 64);
        assert_eq!(
            reader.next_frame().unwrap(),
            Some(Frame::Line(b"{\"a\":1}".to_vec()))
        );
        assert_eq!(
            reader.next_frame().unwrap(),
            Some(Frame::Line(b"next".to_vec()))
        );
        assert_eq!(reader.next_frame().unwrap(), None);
    }
}
