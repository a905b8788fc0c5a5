//! Stdio framing and JSON-RPC decoding: the bytes a client writes to `warden serve`.
//!
//! Input: two bytes of settings (read-buffer size, line limit), then the stream.
//! - [`LineReader`] read in fuzz-chosen chunks, dropped at every pending read (as rmcp's
//!   service loop drops `receive`), frames the stream exactly like a plain split on `\n`;
//! - [`StdioTransport`] answers every line it does not pass on with a well-formed JSON-RPC
//!   error, and passes on or answers at most one thing per line.

#![no_main]

use std::io;
use std::pin::Pin;
use std::sync::{Arc, LazyLock, Mutex};
use std::task::{Context, Poll, Waker};

use libfuzzer_sys::fuzz_target;
use rmcp::RoleServer;
use rmcp::transport::Transport;
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncWrite, BufReader, ReadBuf};
use warden::stdio::{Frame, LineReader, StdioTransport};

static RUNTIME: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime")
});

fuzz_target!(|data: &[u8]| {
    let [capacity, limit, stream @ ..] = data else {
        return;
    };
    let capacity = usize::from(*capacity % 64) + 1;
    let limit = usize::from(*limit) * 4;
    let expected = frames(stream, limit);
    assert_eq!(interrupted_read(stream, capacity, limit), expected);
    let (answered, passed_on) = RUNTIME.block_on(transport(stream, capacity, limit));
    assert!(
        answered + passed_on <= expected.len(),
        "{answered} + {passed_on} > {expected:?}"
    );
});

/// The frames of `stream`, by the book.
fn frames(stream: &[u8], limit: usize) -> Vec<Frame> {
    let mut lines: Vec<&[u8]> = stream.split(|b| *b == b'\n').collect();
    if lines.last().is_some_and(|last| last.is_empty()) {
        lines.pop();
    }
    lines
        .into_iter()
        .map(|line| match line {
            line if line.len() > limit => Frame::TooLong(line.len()),
            line => Frame::Line(line.strip_suffix(b"\r").unwrap_or(line).to_vec()),
        })
        .collect()
}

/// Reads `stream` in chunks of `capacity` bytes or fewer, with a pending read before every
/// other chunk; each pending `next()` is dropped and a new one started.
fn interrupted_read(stream: &[u8], capacity: usize, limit: usize) -> Vec<Frame> {
    let source = Stutter {
        data: stream,
        at: 0,
        chunk: capacity.div_ceil(2),
        pending: false,
    };
    let mut reader = LineReader::new(BufReader::with_capacity(capacity, source), limit);
    let mut context = Context::from_waker(Waker::noop());
    let mut frames = Vec::new();
    loop {
        let next = std::pin::pin!(reader.next());
        match next.poll(&mut context) {
            Poll::Pending => {}
            Poll::Ready(Ok(Some(frame))) => frames.push(frame),
            Poll::Ready(Ok(None)) => return frames,
            Poll::Ready(Err(error)) => panic!("reading from memory failed: {error}"),
        }
    }
}

/// Runs the transport over `stream`: how many lines it answered, and how many messages it
/// passed on. Every answer must be a JSON-RPC error it is allowed to send.
async fn transport(stream: &[u8], capacity: usize, limit: usize) -> (usize, usize) {
    let written = Arc::new(Mutex::new(Vec::new()));
    let input = BufReader::with_capacity(capacity, stream);
    let (mut transport, writer) = StdioTransport::new(input, Sink(Arc::clone(&written)), limit);
    let mut passed_on = 0;
    while Transport::<RoleServer>::receive(&mut transport)
        .await
        .is_some()
    {
        passed_on += 1;
    }
    drop(transport);
    writer.await.expect("the writer task ends");
    let written = written.lock().expect("not poisoned");
    let mut answered = 0;
    for line in written
        .split(|b| *b == b'\n')
        .filter(|line| !line.is_empty())
    {
        let reply: Value = serde_json::from_slice(line).expect("every reply is JSON");
        assert_eq!(reply["jsonrpc"], "2.0", "{reply}");
        assert!(
            matches!(
                reply["id"],
                Value::Null | Value::String(_) | Value::Number(_)
            ),
            "{reply}"
        );
        let code = reply["error"]["code"].as_i64();
        assert!(matches!(code, Some(-32700 | -32600 | -32602)), "{reply}");
        assert!(reply["error"]["message"].is_string(), "{reply}");
        answered += 1;
    }
    (answered, passed_on)
}

/// Bytes from memory, `chunk` at a time, pending before every other chunk.
struct Stutter<'a> {
    data: &'a [u8],
    at: usize,
    chunk: usize,
    pending: bool,
}

impl AsyncRead for Stutter<'_> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.pending = !self.pending;
        if self.pending && self.at < self.data.len() {
            context.waker().wake_by_ref();
            return Poll::Pending;
        }
        let end = (self.at + self.chunk.min(buf.remaining())).min(self.data.len());
        buf.put_slice(&self.data[self.at..end]);
        self.at = end;
        Poll::Ready(Ok(()))
    }
}

/// Collects what the transport writes.
struct Sink(Arc<Mutex<Vec<u8>>>);

impl AsyncWrite for Sink {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.0.lock().expect("not poisoned").extend_from_slice(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
