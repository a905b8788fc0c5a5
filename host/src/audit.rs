//! The audit log: one tamper-evident JSON line per tool call or refusal (of a tool call, a
//! request's credentials, or a `prompts/get`).
//!
//! Records never hold argument values or outputs, except the values of parameters the
//! manifest lists in `log_params`, and those only after redaction. Each record carries `prev`,
//! the `hash` of the record before it (64 zeros for the first), and its own `hash`: the hex
//! sha256 of its line without the trailing `,"hash":"…"` member. Editing, deleting, reordering
//! or truncating records breaks the chain, which [`verify`] (`warden audit verify FILE`) finds.
//!
//! Records go to `[audit] path` (appended; a restart continues the chain) or, without a path,
//! to the `warden::audit` tracing target on stderr. Each is handed to the OS (`write(2)`)
//! before the call's response is sent.

use std::fmt;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use serde_json::{Map, Value, json};
use sha2::{Digest as _, Sha256};

use crate::digest::Sha256Digest;
use crate::redact::{Redactor, Report};

/// The `prev` of the first record.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";
/// How often `fsync = "interval"` flushes written records to stable storage.
pub const FSYNC_INTERVAL: Duration = Duration::from_secs(1);
/// Bytes of a logged parameter value kept (after redaction); the rest is cut.
const MAX_LOGGED_VALUE: usize = 1 << 10;
/// Capability denials kept per record; more are counted in `denials_dropped`.
const MAX_DENIALS: usize = 16;

/// The outcome of a call, as the audit log names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The tool returned a value.
    Ok,
    /// The tool returned its own error (`result::err`).
    ToolError,
    /// No such tool (JSON-RPC error).
    UnknownTool,
    /// No such prompt (JSON-RPC error).
    UnknownPrompt,
    /// No such resource: no component serves the URI, or its component says it does not
    /// exist (JSON-RPC error).
    UnknownResource,
    /// The arguments were too large, too deep or did not match the schema.
    InvalidArguments,
    /// The tool's output did not match its output schema.
    InvalidOutput,
    /// The result was larger than `server.max_output_bytes`.
    OutputTooLarge,
    /// The result held instruction-like text and the output policy is `block`.
    Blocked,
    /// The caller's grants do not include the tool or prompt.
    NotGranted,
    /// The sandbox refused a capability the tool asked for (`http`, `secret`), and the call
    /// then failed.
    Denied(&'static str),
    /// A rate limit refused the call.
    RateLimited,
    /// A per-client concurrency limit refused the call.
    Busy,
    /// The human declined (or cancelled) the confirmation.
    Declined,
    /// The confirmation could not be asked, so the tool did not run.
    Unconfirmed,
    /// An HTTP request's credentials were missing or wrong.
    AuthFailed,
    /// The sandbox stopped the call: a failure kind from [`crate::sandbox::Failure::kind`].
    Failed(&'static str),
    /// `serve --watch` took over a changed catalog the lock approves.
    Reloaded,
    /// `serve --watch` refused a changed catalog (a security event).
    ReloadRejected,
    /// The client cancelled the request (or closed its response stream) while the tool ran;
    /// the guest was stopped.
    Cancelled,
    /// The client did not declare a capability the tool `requires`; the tool did not run.
    MissingCapability,
    /// At start, the audit file ended in an unterminated record, which was cut off.
    TailCut,
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            Outcome::Ok => "ok",
            Outcome::ToolError => "tool_error",
            Outcome::UnknownTool => "unknown_tool",
            Outcome::UnknownPrompt => "unknown_prompt",
            Outcome::UnknownResource => "unknown_resource",
            Outcome::InvalidArguments => "invalid_args",
            Outcome::InvalidOutput => "invalid_output",
            Outcome::OutputTooLarge => "output_too_large",
            Outcome::Blocked => "output_blocked",
            Outcome::NotGranted => "not_granted",
            Outcome::Denied(capability) => return write!(f, "denied:{capability}"),
            Outcome::RateLimited => "rate_limited",
            Outcome::Busy => "busy",
            Outcome::Declined => "declined",
            Outcome::Unconfirmed => "unconfirmed",
            Outcome::AuthFailed => "auth_failed",
            Outcome::Reloaded => "catalog_reloaded",
            Outcome::ReloadRejected => "reload_rejected",
            Outcome::Failed(kind) => kind,
            Outcome::Cancelled => "cancelled",
            Outcome::MissingCapability => "missing_capability",
            Outcome::TailCut => "audit_tail_cut",
        };
        f.write_str(name)
    }
}

/// A capability the sandbox refused during a call, and what it was asked for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Denial {
    /// `http` or `secret`.
    pub capability: &'static str,
    /// The destination (scheme, host, port and path; no query) or the secret's name.
    pub target: String,
}

/// One call or refusal, before it is numbered and chained.
#[derive(Clone, Debug)]
pub struct Record {
    /// Ties the record to the call's tracing span and the client's trace.
    pub correlation_id: String,
    /// Who called: the client identity.
    pub client: String,
    /// How it connected.
    pub transport: &'static str,
    /// The tool name as requested (empty for a prompt or an authentication failure).
    pub tool: String,
    /// The prompt name as requested, for a refused `prompts/get`.
    pub prompt: Option<String>,
    /// The component's id and digest, when the tool exists.
    pub component: Option<(String, Sha256Digest)>,
    /// The argument summary from [`summarize`].
    pub args: Value,
    /// What happened.
    pub outcome: Outcome,
    /// Wall-clock time of the call.
    pub duration: Duration,
    /// Fuel the guest used.
    pub fuel_used: u64,
    /// The most linear memory and table space the instance held, in bytes, if it ran.
    pub peak_memory: Option<u64>,
    /// Secrets and credentials redacted from the result.
    pub redactions: usize,
    /// Capabilities the sandbox refused.
    pub denials: Vec<Denial>,
    /// Why, for refusals that have more to say (authentication failures).
    pub reason: Option<String>,
    /// The peer address, for authentication failures.
    pub source: Option<String>,
}

impl Record {
    /// A record of `tool` called by `client` with nothing measured yet.
    pub fn new(
        correlation_id: &str,
        client: &str,
        transport: &'static str,
        tool: &str,
        outcome: Outcome,
    ) -> Self {
        Record {
            correlation_id: correlation_id.to_string(),
            client: client.to_string(),
            transport,
            tool: tool.to_string(),
            prompt: None,
            component: None,
            args: Value::Array(Vec::new()),
            outcome,
            duration: Duration::ZERO,
            fuel_used: 0,
            peak_memory: None,
            redactions: 0,
            denials: Vec::new(),
            reason: None,
            source: None,
        }
    }
}

/// The line of one record, in field order; `hash` is appended after hashing.
#[derive(Serialize)]
struct Line<'a> {
    #[serde(serialize_with = "display")]
    time: Rfc3339,
    seq: u64,
    correlation_id: &'a str,
    client: &'a str,
    transport: &'a str,
    tool: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    prompt: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    component: Option<&'a str>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "display_some"
    )]
    digest: Option<&'a Sha256Digest>,
    args: &'a Value,
    #[serde(serialize_with = "display")]
    outcome: Outcome,
    duration_us: u64,
    fuel_used: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    peak_memory: Option<u64>,
    redactions: usize,
    denials: &'a [Denial],
    #[serde(skip_serializing_if = "is_zero")]
    denials_dropped: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    source: Option<&'a str>,
    prev: &'a str,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// Serializes `value` as the string it displays as, without an intermediate `String`.
fn display<S: serde::Serializer>(
    value: &impl fmt::Display,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.collect_str(value)
}

/// [`display`] of an `Option` that `skip_serializing_if` leaves only when it is `Some`.
fn display_some<S: serde::Serializer>(
    value: &Option<&Sha256Digest>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match value {
        Some(value) => serializer.collect_str(value),
        None => serializer.serialize_none(),
    }
}

/// When written records are flushed to stable storage.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Fsync {
    /// After every record (slowest; nothing written is lost to a crash of the machine).
    Always,
    /// At most every [`FSYNC_INTERVAL`]: a machine crash loses at most the last second.
    #[default]
    Interval,
    /// Never: the OS decides.
    Never,
}

/// What a record that cannot be written does to its call.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OnError {
    /// The call fails closed: `isError` "audit log unavailable".
    #[default]
    Refuse,
    /// The call proceeds; the server logs the error.
    Continue,
}

/// `[audit]`, checked.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditSettings {
    /// The file, resolved against the manifest's folder; `None`: stderr.
    pub path: Option<PathBuf>,
    /// When records reach stable storage.
    pub fsync: Fsync,
    /// What a failed write does.
    pub on_error: OnError,
}

/// Why the audit log cannot be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The file cannot be opened or read.
    #[error("cannot open the audit log {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file's last record cannot be continued.
    #[error(
        "the audit log {} cannot be continued: its last record (line {line}) {problem}; run `warden audit verify {}`, then move the file aside (keep it as evidence) or repair it",
        path.display(),
        path.display()
    )]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// The line of the last record.
        line: u64,
        /// What is wrong.
        problem: String,
    },
}

/// The chain state and the file, behind the one writer lock.
struct Chain {
    seq: u64,
    prev: String,
    file: Option<File>,
    /// Bytes of the file that hold whole records, to undo a partial write.
    len: u64,
}

/// The audit log of a running server.
pub struct AuditLog {
    chain: Mutex<Chain>,
    fsync: Fsync,
    on_error: OnError,
    /// Records written since the last fsync (`interval`).
    dirty: AtomicBool,
    /// Replaced when a reload brings new secrets (`serve --watch`).
    redactor: std::sync::RwLock<Arc<Redactor>>,
}

impl AuditLog {
    /// Opens the log `settings` describe; every string in a record goes through `redactor`.
    ///
    /// An existing file is continued: its last record's `hash` and `seq` start the chain. An
    /// unterminated last line is a record whose write never finished (the server was killed
    /// or the machine crashed mid-write), so its call was never answered: it is cut off, as a
    /// security event (logged, and recorded as `audit_tail_cut` with its size and sha256).
    /// Whole records are never changed.
    ///
    /// # Errors
    /// The file cannot be opened, or its last whole line is not an intact record.
    pub fn open(settings: &AuditSettings, redactor: Arc<Redactor>) -> Result<Arc<Self>, OpenError> {
        let mut chain = Chain {
            seq: 0,
            prev: GENESIS.to_string(),
            file: None,
            len: 0,
        };
        let mut torn = None;
        if let Some(path) = &settings.path {
            let io = |source| OpenError::Io {
                path: path.clone(),
                source,
            };
            let mut file = std::fs::OpenOptions::new()
                .read(true)
                .append(true)
                .create(true)
                .open(path)
                .map_err(io)?;
            let metadata = file.metadata().map_err(io)?;
            // Only a regular file has a tail to read (a device such as /dev/full has none).
            if metadata.is_file() && metadata.len() > 0 {
                let tail = Tail::read(&mut file).map_err(io)?;
                if let Some((line_number, line)) = &tail.last {
                    let corrupt = |problem: String| OpenError::Corrupt {
                        path: path.clone(),
                        line: *line_number,
                        problem,
                    };
                    let line = std::str::from_utf8(line)
                        .map_err(|_| corrupt("is not UTF-8 (edited)".into()))?;
                    let checked = check_line(line).map_err(corrupt)?;
                    chain.seq = checked.seq;
                    chain.prev = checked.hash;
                }
                if tail.whole < metadata.len() {
                    torn = Some(cut_torn_tail(&mut file, path, tail.whole, chain.seq).map_err(io)?);
                }
                chain.len = tail.whole;
            }
            chain.file = Some(file);
        }
        let log = Arc::new(AuditLog {
            chain: Mutex::new(chain),
            fsync: settings.fsync,
            on_error: settings.on_error,
            dirty: AtomicBool::new(false),
            redactor: std::sync::RwLock::new(redactor),
        });
        if let (Some(path), Some(reason)) = (&settings.path, torn) {
            let mut record = Record::new(
                &correlation_id(None),
                "operator",
                "start",
                &path.display().to_string(),
                Outcome::TailCut,
            );
            record.reason = Some(reason);
            log.record(record);
        }
        if settings.path.is_some() && settings.fsync == Fsync::Interval {
            let weak = Arc::downgrade(&log);
            std::thread::Builder::new()
                .name("warden-audit-fsync".into())
                .spawn(move || flush_every_interval(&weak))
                .map_err(|source| OpenError::Io {
                    path: settings.path.clone().unwrap_or_default(),
                    source,
                })?;
        }
        Ok(log)
    }

    /// A log to stderr only, which never fails a call.
    pub fn stderr(redactor: Arc<Redactor>) -> Arc<Self> {
        AuditLog::open(&AuditSettings::default(), redactor)
            .unwrap_or_else(|_| unreachable!("stderr needs no file"))
    }

    /// The redactor records go through.
    pub fn redactor(&self) -> Arc<Redactor> {
        Arc::clone(
            &self
                .redactor
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }

    /// Redacts records with `redactor` from now on (the secrets of a reloaded manifest).
    pub fn set_redactor(&self, redactor: Arc<Redactor>) {
        *self
            .redactor
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = redactor;
    }

    /// Writes `record`. Returns whether the call may proceed: `false` only when the record
    /// could not be written and `on_error` is `refuse` (the error is logged either way).
    pub fn record(&self, record: Record) -> bool {
        match self.write(record) {
            Ok(()) => true,
            Err(error) => {
                tracing::error!(target: "warden::audit", error = %error, on_error = ?self.on_error, "cannot write the audit record");
                self.on_error == OnError::Continue
            }
        }
    }

    /// Numbers, chains and writes one record.
    fn write(&self, mut record: Record) -> std::io::Result<()> {
        let mut report = Report::default();
        let redactor = &*self.redactor();
        for text in [
            &mut record.client,
            &mut record.tool,
            &mut record.correlation_id,
        ] {
            if let std::borrow::Cow::Owned(clean) = redactor.redact_str(text, &mut report) {
                *text = clean;
            }
        }
        redactor.redact_json(&mut record.args, &mut report);
        for denial in &mut record.denials {
            denial.target = redactor
                .redact_str(&denial.target, &mut report)
                .into_owned();
        }
        let reason = record
            .reason
            .as_deref()
            .map(|r| redactor.redact_str(r, &mut report).into_owned());
        let prompt = record
            .prompt
            .as_deref()
            .map(|p| redactor.redact_str(p, &mut report).into_owned());
        let dropped = record.denials.len().saturating_sub(MAX_DENIALS);
        record.denials.truncate(MAX_DENIALS);

        let mut guard = self
            .chain
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let chain = &mut *guard;
        let seq = chain.seq + 1;
        let line = Line {
            time: Rfc3339(SystemTime::now()),
            seq,
            correlation_id: &record.correlation_id,
            client: &record.client,
            transport: record.transport,
            tool: &record.tool,
            prompt: prompt.as_deref(),
            component: record.component.as_ref().map(|(id, _)| id.as_str()),
            digest: record.component.as_ref().map(|(_, digest)| digest),
            args: &record.args,
            outcome: record.outcome,
            duration_us: u64::try_from(record.duration.as_micros()).unwrap_or(u64::MAX),
            fuel_used: record.fuel_used,
            peak_memory: record.peak_memory,
            redactions: record.redactions,
            denials: &record.denials,
            denials_dropped: dropped,
            reason: reason.as_deref(),
            source: record.source.as_deref(),
            prev: &chain.prev,
        };
        let mut bytes = serde_json::to_vec(&line).map_err(std::io::Error::other)?;
        let hash = seal(&mut bytes);
        let Some(file) = chain.file.as_mut() else {
            tracing::info!(target: "warden::audit", "{}", String::from_utf8_lossy(&bytes).trim_end());
            chain.seq = seq;
            chain.prev = hash;
            return Ok(());
        };
        if let Err(error) = file.write_all(&bytes) {
            // Undo a partial line, so that later records still chain.
            let _ = file.set_len(chain.len);
            return Err(error);
        }
        // The record is in the file now: the chain moves on even if the fsync below fails,
        // so that the next record follows this one rather than forking the chain.
        chain.len += bytes.len() as u64;
        chain.seq = seq;
        chain.prev = hash;
        match self.fsync {
            Fsync::Always => file.sync_data(),
            Fsync::Interval => {
                self.dirty.store(true, Ordering::Release);
                Ok(())
            }
            Fsync::Never => Ok(()),
        }
    }

    /// Flushes written records to stable storage if any are pending.
    fn flush(&self) {
        if !self.dirty.swap(false, Ordering::AcqRel) {
            return;
        }
        let chain = self
            .chain
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(file) = &chain.file
            && let Err(error) = file.sync_data()
        {
            tracing::error!(target: "warden::audit", %error, "cannot fsync the audit log");
        }
    }
}

impl Drop for AuditLog {
    fn drop(&mut self) {
        self.flush();
    }
}

fn flush_every_interval(log: &Weak<AuditLog>) {
    loop {
        std::thread::sleep(FSYNC_INTERVAL);
        match log.upgrade() {
            Some(log) => log.flush(),
            None => return,
        }
    }
}

/// Turns the canonical `line` (a JSON object) into the record's line: `,"hash":"…"` added
/// as its last member, and a newline. Returns the hash.
fn seal(line: &mut Vec<u8>) -> String {
    let mut hash = [0u8; 64];
    hex::encode_to_slice(Sha256::digest(&line[..]), &mut hash)
        .expect("64 hex digits encode 32 bytes");
    if line.last() == Some(&b'}') {
        line.pop();
    }
    line.extend_from_slice(b",\"hash\":\"");
    line.extend_from_slice(&hash);
    line.extend_from_slice(b"\"}\n");
    String::from_utf8_lossy(&hash).into_owned()
}

/// The end of an audit file: its last whole (newline-terminated) line, and where the whole
/// lines end. Read in bounded chunks: the file can be large.
struct Tail {
    /// The last whole line without its newline, and its 1-based number.
    last: Option<(u64, Vec<u8>)>,
    /// The length of the file without an unterminated last line.
    whole: u64,
}

impl Tail {
    fn read(file: &mut File) -> std::io::Result<Tail> {
        file.seek(SeekFrom::Start(0))?;
        let (mut lines, mut offset) = (0u64, 0u64);
        let mut last = None;
        let mut line_start = 0u64;
        for_each_chunk(file, |chunk| {
            for (i, _) in chunk.iter().enumerate().filter(|(_, b)| **b == b'\n') {
                let end = offset + i as u64;
                lines += 1;
                last = Some((lines, line_start, end));
                line_start = end + 1;
            }
            offset += chunk.len() as u64;
        })?;
        let last = match last {
            None => None,
            Some((number, start, end)) => {
                let mut line = vec![0u8; usize::try_from(end - start).unwrap_or(usize::MAX)];
                file.seek(SeekFrom::Start(start))?;
                file.read_exact(&mut line)?;
                Some((number, line))
            }
        };
        Ok(Tail {
            last,
            whole: line_start,
        })
    }
}

/// Reads `file` from its position to its end, in bounded chunks.
fn for_each_chunk(file: &mut File, mut visit: impl FnMut(&[u8])) -> std::io::Result<()> {
    let mut chunk = vec![0u8; 64 << 10];
    loop {
        match file.read(&mut chunk) {
            Ok(0) => return Ok(()),
            Ok(read) => visit(&chunk[..read]),
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
}

/// Cuts the unterminated line after `whole` bytes of `file` (after record `seq`), logging it
/// as a security event; returns the reason for the `audit_tail_cut` record.
fn cut_torn_tail(file: &mut File, path: &Path, whole: u64, seq: u64) -> std::io::Result<String> {
    // Hashed in chunks, and shown in part: the fragment may be large.
    file.seek(SeekFrom::Start(whole))?;
    let (mut hasher, mut length, mut preview) = (Sha256::new(), 0u64, Vec::new());
    for_each_chunk(file, |chunk| {
        hasher.update(chunk);
        length += chunk.len() as u64;
        let room = 256usize.saturating_sub(preview.len()).min(chunk.len());
        preview.extend_from_slice(&chunk[..room]);
    })?;
    file.set_len(whole)?;
    file.sync_data()?;
    let reason = format!(
        "cut {length} bytes (sha256 {}) after record {seq}: an unterminated record whose write never finished (killed or crashed mid-write), so its call was never answered",
        hex::encode(hasher.finalize()),
    );
    let preview = String::from_utf8_lossy(&preview).into_owned();
    tracing::warn!(
        target: "warden::security",
        file = %path.display(),
        torn = %preview.escape_debug(),
        "the audit log ended in an unterminated record: {reason}"
    );
    Ok(reason)
}

/// What a record's own line says about it.
struct Checked {
    seq: u64,
    prev: String,
    hash: String,
}

/// Checks that `line` is a record whose `hash` matches its content.
fn check_line(line: &str) -> Result<Checked, String> {
    let value: Value = serde_json::from_str(line)
        .map_err(|e| format!("is not a JSON record (truncated or edited): {e}"))?;
    let field = |name: &str| value.get(name).and_then(Value::as_str).map(str::to_string);
    let (Some(hash), Some(prev), Some(seq)) = (
        field("hash"),
        field("prev"),
        value.get("seq").and_then(Value::as_u64),
    ) else {
        return Err("lacks `seq`, `prev` or `hash`".into());
    };
    let suffix = format!(",\"hash\":\"{hash}\"}}");
    let Some(body) = line.strip_suffix(&suffix) else {
        return Err("does not end with its `hash` (edited)".into());
    };
    let actual = hex::encode(Sha256::digest(format!("{body}}}").as_bytes()));
    if actual != hash {
        return Err(format!(
            "does not match its hash (edited): it hashes to {actual}, the record says {hash}"
        ));
    }
    Ok(Checked { seq, prev, hash })
}

/// The result of checking an audit file.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Every record is intact and chained.
    Ok {
        /// How many records.
        records: u64,
    },
    /// The first record that is not.
    Broken {
        /// Its 1-based number (its line).
        record: u64,
        /// Why.
        reason: String,
    },
}

/// Checks every record's hash and the chain from the genesis record.
pub fn verify(text: &[u8]) -> Verdict {
    let mut prev = GENESIS.to_string();
    let mut expected_seq = 1;
    let mut number = 0;
    let mut rest = text;
    while !rest.is_empty() {
        number += 1;
        let broken = |reason: String| Verdict::Broken {
            record: number,
            reason,
        };
        let Some(end) = rest.iter().position(|&b| b == b'\n') else {
            return broken("is truncated: the file does not end with a newline".into());
        };
        let Ok(line) = std::str::from_utf8(&rest[..end]) else {
            return broken("is not UTF-8 (edited)".into());
        };
        rest = &rest[end + 1..];
        let checked = match check_line(line) {
            Ok(checked) => checked,
            Err(problem) => return broken(problem),
        };
        if checked.prev != prev {
            let why = if checked.seq > expected_seq {
                format!(
                    "is seq {} where seq {expected_seq} was expected: a record before it was deleted, or records were reordered",
                    checked.seq
                )
            } else if checked.seq < expected_seq {
                format!(
                    "is seq {} where seq {expected_seq} was expected: records were reordered or duplicated",
                    checked.seq
                )
            } else {
                "does not chain to the record before it (`prev` differs): a record was replaced"
                    .into()
            };
            return broken(why);
        }
        if checked.seq != expected_seq {
            return broken(format!(
                "is seq {} where seq {expected_seq} was expected",
                checked.seq
            ));
        }
        prev = checked.hash;
        expected_seq += 1;
    }
    Verdict::Ok { records: number }
}

/// Verifies the audit file at `path`.
///
/// # Errors
/// The file cannot be read.
pub fn verify_file(path: &Path) -> std::io::Result<Verdict> {
    Ok(verify(&std::fs::read(path)?))
}

/// Summarizes `arguments`: per key its JSON type and size in bytes (as JSON), plus the value,
/// redacted and cut to 1 KiB, for keys listed in `log_params`.
pub fn summarize(
    arguments: &Map<String, Value>,
    log_params: &[String],
    redactor: &Redactor,
) -> Value {
    let summary = arguments
        .iter()
        .map(|(key, value)| {
            let kind = match value {
                Value::Null => "null",
                Value::Bool(_) => "boolean",
                Value::Number(_) => "number",
                Value::String(_) => "string",
                Value::Array(_) => "array",
                Value::Object(_) => "object",
            };
            let bytes = crate::units::json_size(value);
            let mut entry = json!({"key": key, "type": kind, "bytes": bytes});
            if log_params.iter().any(|p| p == key) {
                let mut value = value.clone();
                redactor.redact_json(&mut value, &mut Report::default());
                let shown = crate::units::json_size(&value);
                match value {
                    _ if shown <= MAX_LOGGED_VALUE => entry["value"] = value,
                    Value::String(text) => {
                        entry["value"] =
                            Value::String(crate::sandbox::truncate(text, MAX_LOGGED_VALUE));
                    }
                    _ => entry["value_omitted"] = json!("larger than 1 KiB"),
                }
            }
            entry
        })
        .collect();
    Value::Array(summary)
}

/// The trace id of a W3C `traceparent` (`00-<32 hex>-<16 hex>-<2 hex>`), if it is valid.
pub fn trace_id(traceparent: &str) -> Option<&str> {
    let mut parts = traceparent.trim().split('-');
    let (version, trace, parent, flags) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let hex = |s: &str, n: usize| {
        s.len() == n
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    let valid = hex(version, 2)
        && version != "ff"
        && hex(trace, 32)
        && trace.bytes().any(|b| b != b'0')
        && hex(parent, 16)
        && hex(flags, 2)
        && (version != "00" || parts.next().is_none());
    valid.then_some(trace)
}

/// A correlation id: the trace id of `traceparent` when valid, else 128 random bits in hex.
pub fn correlation_id(traceparent: Option<&str>) -> String {
    if let Some(trace) = traceparent.and_then(trace_id) {
        return trace.to_string();
    }
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).expect("the operating system provides randomness");
    hex::encode(bytes)
}

/// A time, displayed as RFC 3339 in UTC with microseconds, e.g. `2026-11-25T02:18:38.123456Z`.
struct Rfc3339(SystemTime);

impl fmt::Display for Rfc3339 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let since = self.0.duration_since(UNIX_EPOCH).unwrap_or_default();
        let secs = since.as_secs();
        let (days, rem) = (secs / 86_400, secs % 86_400);
        // Howard Hinnant's civil_from_days.
        let z = days as i64 + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        write!(
            f,
            "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:06}Z",
            rem / 3_600,
            rem % 3_600 / 60,
            rem % 60,
            since.subsec_micros()
        )
    }
}

/// A refused `prompts/get` of `prompt` by `client`: the arguments are summarized (keys, types
/// and sizes; never values).
pub fn prompt_refusal(
    log: &AuditLog,
    correlation_id: &str,
    (client, transport): (&str, &'static str),
    prompt: &str,
    outcome: Outcome,
    arguments: &Map<String, Value>,
) {
    let mut record = Record::new(correlation_id, client, transport, "", outcome);
    record.prompt = Some(prompt.to_string());
    record.args = summarize(arguments, &[], &log.redactor());
    // The request is refused either way; a failed write is logged by `record`.
    log.record(record);
}

/// A request refused before it reached MCP: bad or missing credentials.
pub fn auth_failure(log: &AuditLog, source: std::net::IpAddr, reason: &str) {
    let mut record = Record::new(&correlation_id(None), "", "http", "", Outcome::AuthFailed);
    record.reason = Some(reason.to_string());
    record.source = Some(source.to_string());
    log.record(record);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redactor() -> Arc<Redactor> {
        Arc::new(Redactor::new([("db", "hunter2-correct-horse")]))
    }

    fn write_records(path: &Path, n: usize) {
        let settings = AuditSettings {
            path: Some(path.to_path_buf()),
            fsync: Fsync::Never,
            on_error: OnError::Refuse,
        };
        let log = AuditLog::open(&settings, redactor()).unwrap();
        for i in 0..n {
            let mut record = Record::new("c", "local", "stdio", &format!("t{i}"), Outcome::Ok);
            record.args = json!([{"key": "x", "type": "string", "bytes": 3}]);
            assert!(log.record(record));
        }
    }

    fn lines(path: &Path) -> Vec<String> {
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect()
    }

    fn broken_at(text: &str) -> u64 {
        match verify(text.as_bytes()) {
            Verdict::Broken { record, .. } => record,
            Verdict::Ok { .. } => panic!("must be broken: {text}"),
        }
    }

    #[test]
    fn a_chain_verifies_and_continues_across_opens() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        write_records(&path, 3);
        write_records(&path, 2);
        assert_eq!(verify_file(&path).unwrap(), Verdict::Ok { records: 5 });
        let all = lines(&path);
        let first: Value = serde_json::from_str(&all[0]).unwrap();
        assert_eq!(first["prev"], GENESIS);
        assert_eq!(first["seq"], 1);
        let fourth: Value = serde_json::from_str(&all[3]).unwrap();
        let third: Value = serde_json::from_str(&all[2]).unwrap();
        assert_eq!(fourth["prev"], third["hash"]);
        assert_eq!(fourth["seq"], 4);
        assert!(all[0].ends_with(&format!(
            ",\"hash\":\"{}\"}}",
            first["hash"].as_str().unwrap()
        )));
    }

    #[test]
    fn verify_names_the_first_broken_record() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        write_records(&path, 4);
        let all = lines(&path);
        let join = |lines: &[String]| lines.iter().map(|l| format!("{l}\n")).collect::<String>();

        let mut edited = all.clone();
        edited[1] = edited[1].replace("\"t1\"", "\"tX\"");
        assert_eq!(broken_at(&join(&edited)), 2);

        let mut deleted = all.clone();
        deleted.remove(2);
        assert_eq!(broken_at(&join(&deleted)), 3);
        let Verdict::Broken { reason, .. } = verify(join(&deleted).as_bytes()) else {
            unreachable!()
        };
        assert!(reason.contains("deleted"), "{reason}");

        let mut reordered = all.clone();
        reordered.swap(1, 2);
        assert_eq!(broken_at(&join(&reordered)), 2);

        let mut first_gone = all.clone();
        first_gone.remove(0);
        assert_eq!(broken_at(&join(&first_gone)), 1);

        let whole = join(&all);
        assert_eq!(broken_at(&whole[..whole.len() - 10]), 4);
        assert_eq!(broken_at(&whole[..whole.len() - 1]), 4, "no final newline");
        assert_eq!(verify(b""), Verdict::Ok { records: 0 });
    }

    #[test]
    fn a_torn_last_record_is_cut_and_the_chain_continues() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        write_records(&path, 2);
        let whole = std::fs::read_to_string(&path).unwrap();
        let first_line_len = whole.find('\n').unwrap() + 1;
        // A kill -9 or a crash mid-write: the second record lost its end, or just its newline;
        // or a first record was cut short.
        for torn in [
            whole[..whole.len() - 5].to_string(),
            whole[..whole.len() - 1].to_string(),
            whole[..first_line_len + 1].to_string(),
            whole[..7].to_string(),
        ] {
            std::fs::write(&path, &torn).unwrap();
            let kept = torn.rfind('\n').map_or(0, |i| i + 1);
            write_records(&path, 1);
            let text = std::fs::read_to_string(&path).unwrap();
            assert!(
                text.starts_with(&torn[..kept]),
                "whole records are untouched"
            );
            assert_eq!(
                verify(text.as_bytes()),
                Verdict::Ok {
                    records: text.lines().count() as u64
                }
            );
            let all = lines(&path);
            let cut: Value = serde_json::from_str(&all[all.len() - 2]).unwrap();
            assert_eq!(cut["outcome"], "audit_tail_cut");
            assert_eq!(
                (cut["client"].as_str(), cut["transport"].as_str()),
                (Some("operator"), Some("start"))
            );
            let reason = cut["reason"].as_str().unwrap();
            let fragment = &torn[kept..];
            assert!(
                reason.starts_with(&format!(
                    "cut {} bytes (sha256 {})",
                    fragment.len(),
                    hex::encode(Sha256::digest(fragment))
                )),
                "{reason}"
            );
            let last: Value = serde_json::from_str(&all[all.len() - 1]).unwrap();
            assert_eq!(last["tool"], "t0");
        }
    }

    #[test]
    fn an_edited_last_record_refuses_to_continue() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        write_records(&path, 2);
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, text.replace("\"t1\"", "\"tY\"")).unwrap();
        let settings = AuditSettings {
            path: Some(path.clone()),
            ..AuditSettings::default()
        };
        let error = AuditLog::open(&settings, redactor())
            .err()
            .unwrap()
            .to_string();
        assert!(
            error.contains("line 2") && error.contains("edited"),
            "{error}"
        );
        // Refused, the file is left as it was (evidence), even with a torn line after it.
        std::fs::write(
            &path,
            format!("{}{{\"seq\":3", text.replace("\"t1\"", "\"tY\"")),
        )
        .unwrap();
        let before = std::fs::read(&path).unwrap();
        assert!(AuditLog::open(&settings, redactor()).is_err());
        assert_eq!(std::fs::read(&path).unwrap(), before);
    }

    #[test]
    fn a_failing_sink_refuses_or_continues() {
        for (on_error, proceeds) in [(OnError::Refuse, false), (OnError::Continue, true)] {
            let settings = AuditSettings {
                path: Some(PathBuf::from("/dev/full")),
                fsync: Fsync::Always,
                on_error,
            };
            let log = AuditLog::open(&settings, redactor()).unwrap();
            let record = Record::new("c", "local", "stdio", "t", Outcome::Ok);
            assert_eq!(log.record(record), proceeds);
        }
    }

    #[test]
    fn summaries_show_values_only_for_log_params_and_redacted() {
        let arguments =
            json!({"path": "/etc/hunter2-correct-horse", "body": "hunter2-correct-horse", "n": 3});
        let Value::Object(arguments) = arguments else {
            unreachable!()
        };
        let summary = summarize(&arguments, &["path".into()], &redactor());
        let text = summary.to_string();
        assert!(!text.contains("hunter2"), "{text}");
        // In the order the client sent them.
        assert_eq!(summary[0]["value"], "/etc/[REDACTED:secret:db]");
        assert_eq!(summary[1]["key"], "body");
        assert!(summary[1].get("value").is_none());
        assert_eq!(summary[1]["type"], "string");
        assert_eq!(summary[2]["key"], "n");
        assert_eq!(summary[2]["bytes"], 1);
    }

    #[test]
    fn trace_ids_come_from_valid_traceparents_only() {
        let id = "4bf92f3577b34da6a3ce929d0e0e4736";
        assert_eq!(trace_id(&format!("00-{id}-00f067aa0ba902b7-01")), Some(id));
        assert_eq!(
            trace_id("00-00000000000000000000000000000000-00f067aa0ba902b7-01"),
            None
        );
        assert_eq!(
            trace_id(&format!("00-{}-00f067aa0ba902b7-01", id.to_uppercase())),
            None
        );
        assert_eq!(trace_id("garbage"), None);
        assert_eq!(
            correlation_id(Some(&format!("00-{id}-00f067aa0ba902b7-01"))),
            id
        );
        let random = correlation_id(None);
        assert_eq!(random.len(), 32);
        assert_ne!(random, correlation_id(None));
    }

    #[test]
    fn times_are_rfc3339_utc() {
        assert_eq!(
            Rfc3339(UNIX_EPOCH).to_string(),
            "1970-01-01T00:00:00.000000Z"
        );
        let t = UNIX_EPOCH + Duration::from_micros(1_795_918_718_123_456);
        assert_eq!(Rfc3339(t).to_string(), "2026-11-29T02:18:38.123456Z");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400);
        assert_eq!(Rfc3339(leap).to_string(), "2000-02-29T00:00:00.000000Z");
    }

    #[test]
    fn a_failed_fsync_refuses_the_call_but_keeps_the_chain_whole() {
        use std::io::BufRead as _;
        // fdatasync(2) on a FIFO fails (EINVAL) after the write itself succeeded.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.fifo");
        let made = std::process::Command::new("mkfifo")
            .arg(&path)
            .status()
            .unwrap();
        assert!(made.success());
        let settings = AuditSettings {
            path: Some(path.clone()),
            fsync: Fsync::Always,
            on_error: OnError::Refuse,
        };
        let log = AuditLog::open(&settings, redactor()).unwrap();
        let mut reader = std::io::BufReader::new(File::open(&path).unwrap());
        for i in 0..2 {
            let record = Record::new("c", "local", "stdio", &format!("t{i}"), Outcome::Ok);
            assert!(!log.record(record), "a failed fsync refuses the call");
        }
        let mut text = String::new();
        for _ in 0..2 {
            reader.read_line(&mut text).unwrap();
        }
        assert_eq!(
            verify(text.as_bytes()),
            Verdict::Ok { records: 2 },
            "{text}"
        );
    }
}
