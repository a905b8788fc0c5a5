//! Shared test helpers: manifests pinned to the real plugins, the real `warden` binary, and
//! clients that talk to it (rmcp's client, or raw JSON-RPC lines for framing tests).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rmcp::model::{
    CallToolRequestParams, CallToolResult, ClientCapabilities, ClientConfig, ElicitRequestParams,
    ElicitResult, ElicitationAction,
};
use rmcp::service::{RequestContext, RunningService};
use rmcp::transport::{ConfigureCommandExt, TokioChildProcess};
use rmcp::{ClientHandler, ErrorData, RoleClient, ServiceExt};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

/// The `warden` binary under test.
pub const WARDEN: &str = env!("CARGO_BIN_EXE_warden");

/// The repository root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// A built plugin, e.g. `plugin("echo")`.
pub fn plugin(name: &str) -> PathBuf {
    root().join("plugins").join(format!("{name}.wasm"))
}

/// The sha256 of a file, in hex.
pub fn sha256(path: &Path) -> String {
    hex::encode(Sha256::digest(std::fs::read(path).unwrap()))
}

/// The value of the secret `db` that the leak tests define (`[secrets.db]`).
pub const SECRET: &str = "hunter2-correct-horse-battery";

/// `secret` in every form a leak may take: raw, inside other text, base64 (standard and
/// URL-safe), hex (both cases), percent-encoded and JSON `\u`-escaped.
pub fn leak_forms(secret: &str) -> Vec<String> {
    use base64::Engine as _;
    let hex = hex::encode(secret);
    vec![
        secret.to_string(),
        format!("before {secret} after"),
        base64::engine::general_purpose::STANDARD.encode(secret),
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret),
        hex.clone(),
        hex.to_uppercase(),
        secret.bytes().map(|b| format!("%{b:02X}")).collect(),
        secret
            .chars()
            .map(|c| format!("\\u{:04x}", c as u32))
            .collect(),
    ]
}

/// Credentials of well-known formats (no defined secret), each with the rule that catches it.
pub const CREDENTIALS: [(&str, &str); 3] = [
    ("AKIAIOSFODNN7EXAMPLE", "aws-access-token"),
    ("ghp_Zq3Xv9LmT2rW8kPf5NbY7cJ1dH6sQ0aE4uRt", "github-pat"),
    (
        "postgres://admin:S3cretPassw0rd@db.internal:5432/app",
        "url-credentials",
    ),
];

/// A PEM private key, and the part of its body that must never be seen.
pub const PRIVATE_KEY: (&str, &str) = (
    "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAq7BFUAkEXAMPLEKEYDATAxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n-----END RSA PRIVATE KEY-----",
    "MIIEowIBAAKCAQEA",
);

/// A temporary folder holding a manifest.
pub struct Manifest {
    /// Keeps the folder alive.
    pub dir: tempfile::TempDir,
    /// The manifest file.
    pub path: PathBuf,
}

/// Writes a manifest with `[components.<id>]` tables for `components` (id, plugin name)
/// pinned to their real digests, followed by `extra` TOML.
pub fn manifest(components: &[(&str, &str)], extra: &str) -> Manifest {
    let mut text = String::new();
    for (id, plugin_name) in components {
        let path = plugin(plugin_name);
        text.push_str(&format!(
            "[components.{id}]\nsource = {:?}\nsha256 = \"{}\"\n\n",
            path.display().to_string(),
            sha256(&path)
        ));
    }
    text.push_str(extra);
    manifest_text(&text)
}

/// Writes `text` as a manifest.
pub fn manifest_text(text: &str) -> Manifest {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("warden.toml");
    std::fs::write(&path, text).unwrap();
    Manifest { dir, path }
}

/// The human behind a test client: answers every confirmation Warden asks with `answer`
/// (or, with `answer: None`, the client does not declare elicitation at all), and keeps the
/// questions asked.
#[derive(Clone)]
pub struct Human {
    /// The answer to every question.
    pub answer: Option<ElicitationAction>,
    /// The form content sent with an accepted answer.
    pub content: Option<Value>,
    /// The messages of the questions asked, in order.
    pub asked: Arc<Mutex<Vec<String>>>,
}

impl Human {
    /// A human who answers every question with `answer`.
    pub fn answering(answer: ElicitationAction) -> Self {
        Human {
            answer: Some(answer),
            content: None,
            asked: Arc::default(),
        }
    }

    /// A human who accepts every question, filling its form with `content`.
    pub fn filling(content: Value) -> Self {
        Human {
            content: Some(content),
            ..Human::answering(ElicitationAction::Accept)
        }
    }

    /// A client that cannot ask its human anything.
    pub fn unreachable() -> Self {
        Human {
            answer: None,
            content: None,
            asked: Arc::default(),
        }
    }

    /// The questions asked so far.
    pub fn questions(&self) -> Vec<String> {
        self.asked.lock().unwrap().clone()
    }
}

impl ClientHandler for Human {
    fn get_info(&self) -> ClientConfig {
        let mut config = ClientConfig::default();
        if self.answer.is_some() {
            config.capabilities = ClientCapabilities::builder().enable_elicitation().build();
        }
        config
    }

    async fn create_elicitation(
        &self,
        request: ElicitRequestParams,
        _context: RequestContext<RoleClient>,
    ) -> Result<ElicitResult, ErrorData> {
        if let ElicitRequestParams::FormElicitationParams { message, .. } = &request {
            self.asked.lock().unwrap().push(message.clone());
        }
        let answer = ElicitResult::new(self.answer.clone().unwrap_or(ElicitationAction::Decline));
        Ok(match &self.content {
            Some(content) => answer.with_content(content.clone()),
            None => answer,
        })
    }
}

/// A test client: rmcp's client with a [`Human`].
pub type Client = RunningService<RoleClient, Human>;

/// An rmcp client connected to `warden serve` on `manifest`, whose human accepts every
/// confirmation.
pub async fn client(manifest: &Manifest) -> Client {
    client_as(manifest, Human::answering(ElicitationAction::Accept)).await
}

/// An rmcp client with `human`, connected to `warden serve` on `manifest`.
pub async fn client_as(manifest: &Manifest, human: Human) -> Client {
    connect(manifest, Command::new(WARDEN), &[], human).await
}

/// An rmcp client connected to `command serve` on `manifest`, with extra environment.
pub async fn client_with(manifest: &Manifest, command: Command, env: &[(&str, &str)]) -> Client {
    connect(
        manifest,
        command,
        env,
        Human::answering(ElicitationAction::Accept),
    )
    .await
}

async fn connect(
    manifest: &Manifest,
    command: Command,
    env: &[(&str, &str)],
    human: Human,
) -> Client {
    let command = command.configure(|cmd| {
        cmd.arg("serve")
            .arg("--manifest")
            .arg(&manifest.path)
            .env("WARDEN_LOG", "warn")
            .envs(env.iter().copied())
            .stderr(Stdio::null());
    });
    human
        .serve(TokioChildProcess::new(command).unwrap())
        .await
        .expect("warden starts and answers initialize")
}

/// Calls `tool` with `arguments` and expects a result (not a protocol error).
pub async fn call(client: &Client, tool: &str, arguments: Value) -> CallToolResult {
    let Value::Object(arguments) = arguments else {
        panic!("arguments must be an object")
    };
    client
        .call_tool(CallToolRequestParams::new(tool.to_string()).with_arguments(arguments))
        .await
        .unwrap_or_else(|e| panic!("{tool}: {e}"))
}

/// The text of a result's first content block.
pub fn text(result: &CallToolResult) -> String {
    result
        .content
        .first()
        .and_then(|c| c.as_text())
        .map(|t| t.text.clone())
        .unwrap_or_default()
}

/// Asserts `result` is an error whose text contains `needle`.
pub fn assert_error(result: &CallToolResult, needle: &str) {
    assert_eq!(result.is_error, Some(true), "expected isError: {result:?}");
    let text = text(result);
    assert!(text.contains(needle), "expected {needle:?} in {text:?}");
}

/// `warden serve` driven with raw lines, for framing tests.
pub struct RawServer {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl RawServer {
    /// Starts `warden serve` on `manifest`; stderr goes to `stderr_file` when given.
    pub fn start(manifest: &Manifest, stderr_file: Option<&Path>) -> RawServer {
        RawServer::start_logging(manifest, stderr_file, "info")
    }

    /// Like [`RawServer::start`], with `WARDEN_LOG` set to `level`.
    pub fn start_logging(
        manifest: &Manifest,
        stderr_file: Option<&Path>,
        level: &str,
    ) -> RawServer {
        let stderr = match stderr_file {
            Some(path) => Stdio::from(std::fs::File::create(path).unwrap()),
            None => Stdio::null(),
        };
        let mut child = Command::new(WARDEN)
            .arg("serve")
            .arg("--manifest")
            .arg(&manifest.path)
            .env("WARDEN_LOG", level)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        RawServer {
            child,
            stdin,
            stdout,
        }
    }

    /// Sends raw bytes followed by a newline.
    pub async fn send_line(&mut self, line: &[u8]) {
        self.stdin.write_all(line).await.unwrap();
        self.stdin.write_all(b"\n").await.unwrap();
        self.stdin.flush().await.unwrap();
    }

    /// Reads the next line of stdout as JSON (failing the test on anything else).
    pub async fn recv(&mut self) -> Value {
        let mut line = String::new();
        tokio::time::timeout(Duration::from_secs(60), self.stdout.read_line(&mut line))
            .await
            .expect("warden answers")
            .unwrap();
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {line:?}"))
    }

    /// Sends `message` and returns the next line.
    pub async fn request(&mut self, message: Value) -> Value {
        self.send_line(message.to_string().as_bytes()).await;
        self.recv().await
    }

    /// Performs the legacy initialize handshake.
    pub async fn initialize(&mut self) {
        let reply = self
            .request(
                json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
                "protocolVersion": "2025-11-25", "capabilities": {},
                "clientInfo": {"name": "raw-test", "version": "0"}}}),
            )
            .await;
        assert_eq!(reply["result"]["serverInfo"]["name"], "warden", "{reply}");
        self.send_line(br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#)
            .await;
    }

    /// Kills the server with SIGKILL (it gets no chance to finish anything) and returns the
    /// whole lines it had written to stdout that were not read yet.
    pub async fn kill(mut self) -> Vec<Value> {
        self.child.start_kill().unwrap();
        self.child.wait().await.unwrap();
        let mut rest = String::new();
        tokio::io::AsyncReadExt::read_to_string(&mut self.stdout, &mut rest)
            .await
            .unwrap();
        let whole = rest.rfind('\n').map_or("", |end| &rest[..end]);
        whole
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    }

    /// Closes stdin and waits for the server to exit; returns everything else it wrote.
    pub async fn finish(mut self) -> String {
        drop(self.stdin);
        let mut rest = String::new();
        tokio::io::AsyncReadExt::read_to_string(&mut self.stdout, &mut rest)
            .await
            .unwrap();
        let status = tokio::time::timeout(Duration::from_secs(30), self.child.wait())
            .await
            .expect("warden exits when stdin closes")
            .unwrap();
        assert!(status.success(), "warden exited with {status}");
        rest
    }
}

/// Runs the `warden` binary with `args` to completion: (exit code, stdout, stderr).
pub fn run(args: &[&str]) -> (i32, String, String) {
    let output = std::process::Command::new(WARDEN)
        .args(args)
        .env("WARDEN_LOG", "warn")
        .output()
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// `_meta` of a 2026-07-28 request from a client declaring `capabilities`.
pub fn modern_meta(capabilities: Value) -> Value {
    json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": capabilities,
        "io.modelcontextprotocol/clientInfo": {"name": "rich-test", "version": "0"},
    })
}

/// A `tools/call` request, with `meta` as its `_meta` when given.
pub fn call_request(id: u64, tool: &str, arguments: Value, meta: Option<Value>) -> Value {
    let mut params = json!({"name": tool, "arguments": arguments});
    if let Some(meta) = meta {
        params["_meta"] = meta;
    }
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": params})
}

/// Reads lines until the response to `id`: the notifications before it, and it.
pub async fn until_response(server: &mut RawServer, id: u64) -> (Vec<Value>, Value) {
    let mut notifications = Vec::new();
    loop {
        let message = server.recv().await;
        if message.get("id") == Some(&json!(id)) && message.get("method").is_none() {
            return (notifications, message);
        }
        if message.get("method").is_some() && message.get("id").is_none() {
            notifications.push(message);
        }
    }
}
