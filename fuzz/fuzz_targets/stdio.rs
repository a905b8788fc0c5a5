//! Stdio framing and JSON-RPC decoding: the bytes a client writes to `warden serve`.
//!
//! Input: two bytes of settings (read-buffer size, line limit), then the stream.
//! - [`LineReader`], reading in fuzz-chosen chunks with a signal-interrupted read before every
//!   other chunk, frames the stream exactly like a plain split on `\n`;
//! - [`StdioTransport`] answers every line it does not pass on with a well-formed JSON-RPC
//!   error, and passes on or answers at most one thing per line.

#![no_main]

use std::io::{self, BufReader, Read, Write};
use std::sync::{Arc, LazyLock, Mutex};

use libfuzzer_sys::fuzz_target;
use rmcp::RoleServer;
use rmcp::transport::Transport;
use serde_json::Value;
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

/// Reads `stream` in chunks of `capacity` bytes or fewer, with an interrupted read before
/// every other chunk.
fn interrupted_read(stream: &[u8], capacity: usize, limit: usize) -> Vec<Frame> {
    let source = Stutter {
        data: stream,
        at: 0,
        chunk: capacity.div_ceil(2),
        interrupt: false,
    };
    let mut reader = LineReader::new(BufReader::with_capacity(capacity, source), limit);
    let mut frames = Vec::new();
    while let Some(frame) = reader.next_frame().expect("reading from memory") {
        frames.push(frame);
    }
    frames
}

/// Runs the transport over `stream`: how many lines it answered, and how many messages it
/// passed on. Every answer must be a JSON-RPC error it is allowed to send.
async fn transport(stream: &[u8], capacity: usize, limit: usize) -> (usize, usize) {
    let written = Arc::new(Mutex::new(Vec::new()));
    let input = BufReader::with_capacity(capacity, io::Cursor::new(stream.to_vec()));
    let (mut transport, finished) =
        StdioTransport::new(input, Sink(Arc::clone(&written)), limit).expect("threads start");
    let mut passed_on = 0;
    while Transport::<RoleServer>::receive(&mut transport)
        .await
        .is_some()
    {
        passed_on += 1;
    }
    drop(transport);
    finished.await.expect("the writer ends");
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

/// Bytes from memory, `chunk` at a time, interrupted before every other chunk.
struct Stutter<'a> {
    data: &'a [u8],
    at: usize,
    chunk: usize,
    interrupt: bool,
}

impl Read for Stutter<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.interrupt = !self.interrupt;
        if self.interrupt && self.at < self.data.len() {
            return Err(io::ErrorKind::Interrupted.into());
        }
        let end = (self.at + self.chunk.min(buf.len())).min(self.data.len());
        let n = end - self.at;
        buf[..n].copy_from_slice(&self.data[self.at..end]);
        self.at = end;
        Ok(n)
    }
}

/// Collects what the transport writes.
struct Sink(Arc<Mutex<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().expect("not poisoned").extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
