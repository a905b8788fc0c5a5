//! The manifest exactly as written: serde mirrors of the TOML.
//!
//! Nothing here interprets a value (positions come from `SourceMap`, by key path); `policy` turns these into typed settings and grants.
//! Unknown keys are collected by `manifest::load` (with `serde_ignored`, so that every one is
//! reported, not only the first) and are errors.

use std::collections::BTreeMap;

use serde::Deserialize;

/// The whole manifest.
#[derive(Debug, Default, Deserialize)]
pub struct RawManifest {
    /// `[server]`: settings of the server itself.
    #[serde(default)]
    pub server: RawServer,
    /// `[defaults]`: settings applied to every component unless it overrides them.
    #[serde(default)]
    pub defaults: RawDefaults,
    /// `[components.<id>]`: the components to load, by id.
    #[serde(default)]
    pub components: BTreeMap<String, RawComponent>,
    /// `[secrets.<name>]`: secrets the host holds, by name.
    #[serde(default)]
    pub secrets: BTreeMap<String, RawSecret>,
    /// `[prompts.<name>]`: prompts served from pinned files, by name.
    #[serde(default)]
    pub prompts: BTreeMap<String, RawPromptPin>,
    /// `[clients.<name>]`: who may connect over HTTP, and what each may use.
    #[serde(default)]
    pub clients: BTreeMap<String, RawClient>,
    /// `[stdio]`: what the local stdio client may use.
    #[serde(default)]
    pub stdio: RawStdio,
    /// `[http]`: settings of the HTTP transport.
    #[serde(default)]
    pub http: RawHttpServer,
    /// `[oauth]`: accept JWT access tokens from an authorization server.
    pub oauth: Option<RawOAuth>,
    /// `[audit]`: where the audit log goes and how it is written.
    #[serde(default)]
    pub audit: RawAudit,
    /// `[trust]`: the keys component signatures may be made with.
    #[serde(default)]
    pub trust: RawTrust,
}

/// `[audit]`: the tamper-evident audit log.
#[derive(Debug, Default, Deserialize)]
pub struct RawAudit {
    /// The JSON-lines file, relative to the manifest; records are appended and the chain
    /// continues across restarts. Without it, records go to stderr. Example: `path = "audit.jsonl"`
    pub path: Option<String>,
    /// When records reach stable storage: `"always"`, `"interval"` (at most every second, the
    /// default) or `"never"`. Example: `fsync = "always"`
    pub fsync: Option<String>,
    /// What a record that cannot be written does: `"refuse"` the call (the default) or
    /// `"continue"` without it. Example: `on_error = "refuse"`
    pub on_error: Option<String>,
}

/// `[trust]`: who may sign components.
#[derive(Debug, Default, Deserialize)]
pub struct RawTrust {
    /// Minisign public keys, as minisign prints them (the second line of `minisign.pub`).
    /// Example: `keys = ["RWQf6LRCGA9i53mlYecO4IzT51TGPpvWucNSCh1CBM0QTaLn73Y7GFO3"]`
    #[serde(default)]
    pub keys: Vec<String>,
    /// Refuse every component without a `signature`. Example: `require_signatures = true`
    pub require_signatures: Option<bool>,
}

/// `[clients.<name>]`: one client identity, its grants and its limits.
#[derive(Debug, Default, Deserialize)]
pub struct RawClient {
    /// Hex sha256 of the client's bearer token (`warden token new <name>` makes one).
    /// Example: `token_sha256 = "9f86d0..."`
    pub token_sha256: Option<String>,
    /// The subject of the client's TLS certificate (with `--client-ca`).
    /// Example: `cert_subject = "CN=cibot"`
    pub cert_subject: Option<String>,
    /// The client for requests without credentials (loopback addresses only).
    /// Example: `anonymous = true`
    pub anonymous: Option<bool>,
    /// Tools it may list and call: `"*"`, `"<component>_*"` or a tool name.
    /// Example: `tools = ["files_*", "fetch_get"]`
    #[serde(default)]
    pub tools: Vec<String>,
    /// Resource URIs it may list and read. Example: `resources = ["notes://*"]`
    #[serde(default)]
    pub resources: Vec<String>,
    /// Prompts it may list and get: `"*"` or a prompt name. Example: `prompts = ["review"]`
    #[serde(default)]
    pub prompts: Vec<String>,
    /// Calls per client, all tools together. Example: `rate = "10/s"`
    pub rate: Option<String>,
    /// Calls allowed at once above the rate. Example: `burst = 20`
    pub burst: Option<i64>,
    /// Calls of this client running at once. Example: `max_concurrency = 8`
    pub max_concurrency: Option<i64>,
}

/// `[stdio]`: the grants and limits of the local stdio client (default: everything, no limit).
#[derive(Debug, Default, Deserialize)]
pub struct RawStdio {
    /// As `clients.<name>.tools`; default `["*"]`.
    pub tools: Option<Vec<String>>,
    /// As `clients.<name>.resources`; default `["*"]`.
    pub resources: Option<Vec<String>>,
    /// As `clients.<name>.prompts`; default `["*"]`.
    pub prompts: Option<Vec<String>>,
    /// As `clients.<name>.rate`; default none.
    pub rate: Option<String>,
    /// As `clients.<name>.burst`.
    pub burst: Option<i64>,
    /// As `clients.<name>.max_concurrency`.
    pub max_concurrency: Option<i64>,
}

/// `[http]`: the HTTP transport.
#[derive(Debug, Default, Deserialize)]
pub struct RawHttpServer {
    /// `Host` header values accepted (DNS-rebinding defence); default the loopback names.
    /// Example: `allowed_hosts = ["mcp.example.com"]`
    pub allowed_hosts: Option<Vec<String>>,
    /// `Origin` header values accepted (browsers); default loopback origins on any port.
    /// Example: `allowed_origins = ["https://app.example.com"]`
    pub allowed_origins: Option<Vec<String>>,
    /// Time a client has to send a whole request (headers and body). Example: `request_timeout = "30s"`
    pub request_timeout: Option<String>,
}

/// `[oauth]`: Warden as an OAuth 2.1 resource server.
#[derive(Debug, Default, Deserialize)]
pub struct RawOAuth {
    /// The authorization server's public keys (a JWKS JSON file), relative to the manifest.
    /// Example: `jwks_file = "keys/jwks.json"`
    pub jwks_file: Option<String>,
    /// The `iss` every token must carry. Example: `issuer = "https://auth.example.com"`
    pub issuer: Option<String>,
    /// This server's URL, which every token's `aud` must hold (RFC 8707).
    /// Example: `audience = "https://mcp.example.com/mcp"`
    pub audience: Option<String>,
    /// The tools each scope grants. Example: `scopes = { "tools:read" = ["files_list"] }`
    #[serde(default)]
    pub scopes: BTreeMap<String, Vec<String>>,
    /// Calls per token subject, all tools together. Example: `rate = "10/s"`
    pub rate: Option<String>,
    /// Calls allowed at once above the rate.
    pub burst: Option<i64>,
    /// Calls of one subject running at once.
    pub max_concurrency: Option<i64>,
}

/// `[prompts.<name>]`: a prompt file and its pin.
#[derive(Debug, Default, Deserialize)]
pub struct RawPromptPin {
    /// The prompt file (TOML), relative to the manifest. Example: `file = "prompts/review.toml"`
    pub file: Option<String>,
    /// Hex sha256 of the file. Example: `sha256 = "3f1c..."`
    pub sha256: Option<String>,
}

/// `[secrets.<name>]`: where a secret's value comes from and where it may be sent.
#[derive(Debug, Default, Deserialize)]
pub struct RawSecret {
    /// Read the value from this environment variable of the server.
    /// Example: `from_env = "GITHUB_TOKEN"`
    pub from_env: Option<String>,
    /// Read the value from this file (relative to the manifest; a trailing newline is trimmed).
    /// Example: `from_file = "/run/secrets/github"`
    pub from_file: Option<String>,
    /// The only destinations the secret may ever be sent to.
    /// Example: `hosts = ["https://api.github.com"]`
    #[serde(default)]
    pub hosts: Vec<String>,
}

/// One entry of `components.<id>.dirs`.
#[derive(Debug, Deserialize)]
pub struct RawDir {
    /// The directory on the host, relative to the manifest. Example: `host = "./data"`
    pub host: Option<String>,
    /// Where the tool sees it. Example: `guest = "/data"`
    pub guest: Option<String>,
    /// `"read-only"` or `"read-write"`.
    pub access: Option<String>,
}

/// `components.<id>.http`: bounds on outgoing requests.
#[derive(Debug, Default, Deserialize)]
pub struct RawHttp {
    /// Time to establish a connection. Example: `connect_timeout = "5s"`
    pub connect_timeout: Option<String>,
    /// Time from sending the request to the first byte of the response.
    /// Example: `first_byte_timeout = "10s"`
    pub first_byte_timeout: Option<String>,
    /// Longest pause between two chunks of the response body.
    /// Example: `between_bytes_timeout = "10s"`
    pub between_bytes_timeout: Option<String>,
    /// Largest response body a tool may receive. Example: `max_response_bytes = "4 MiB"`
    pub max_response_bytes: Option<String>,
}

/// `[server]`.
#[derive(Debug, Default, Deserialize)]
pub struct RawServer {
    /// Sandboxes alive at once; beyond it calls wait, then get a "busy" error.
    /// Example: `max_concurrent_calls = 64`
    pub max_concurrent_calls: Option<i64>,
    /// Largest `arguments` object a call may send, as JSON.
    /// Example: `max_argument_bytes = "1 MiB"`
    pub max_argument_bytes: Option<String>,
    /// Largest result a call may return, as JSON; a larger one is not sent at all.
    /// Example: `max_output_bytes = "4 MiB"`
    pub max_output_bytes: Option<String>,
    /// What a finding of the description lint does: `"refuse"` the start, or `"warn"`.
    /// Example: `description_policy = "refuse"`
    pub description_policy: Option<String>,
}

/// `[defaults]`.
#[derive(Debug, Default, Deserialize)]
pub struct RawDefaults {
    /// `[defaults.limits]`.
    pub limits: Option<RawLimits>,
}

/// Sandbox limits: `[defaults.limits]` or `components.<id>.limits`.
#[derive(Debug, Default, Deserialize)]
pub struct RawLimits {
    /// Wasm fuel per call. Example: `fuel = 2_000_000_000`
    pub fuel: Option<i64>,
    /// Total of all linear memories and tables of one instance. Example: `memory = "64 MiB"`
    pub memory: Option<String>,
    /// Wall clock per call, including time blocked in host calls. Example: `timeout = "10s"`
    pub timeout: Option<String>,
}

/// `[components.<id>]`.
#[derive(Debug, Deserialize)]
pub struct RawComponent {
    /// Path of the `.wasm` component, relative to the manifest file.
    /// Example: `source = "plugins/echo.wasm"`
    pub source: Option<String>,
    /// Hex sha256 of the component file; checked before compiling.
    /// Example: `sha256 = "3f1c..."`
    pub sha256: Option<String>,
    /// Minisign signature of the component file, relative to the manifest file; it must
    /// verify with one of `[trust] keys`. Example: `signature = "plugins/echo.wasm.minisig"`
    pub signature: Option<String>,
    /// Overrides of `[defaults.limits]` for this component.
    pub limits: Option<RawLimits>,
    /// Directories the tool may use, each read-only or read-write.
    /// Example: `dirs = [{ host = "./data", guest = "/data", access = "read-only" }]`
    #[serde(default)]
    pub dirs: Vec<RawDir>,
    /// Destinations of outgoing HTTP requests: `scheme://host[:port]`, where host may be
    /// `*.domain` for its subdomains. Example: `hosts = ["https://api.github.com"]`
    #[serde(default)]
    pub hosts: Vec<String>,
    /// Names of `[secrets.<name>]` the tool may use through handles.
    /// Example: `secrets = ["github"]`
    #[serde(default)]
    pub secrets: Vec<String>,
    /// Plain, non-secret environment variables the tool sees (it sees no others).
    /// Example: `env = { USER_AGENT = "warden-fetch/0.1" }`
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Bounds on outgoing HTTP requests.
    pub http: Option<RawHttp>,
    /// Whether the component's tools may ask the human questions through the client
    /// (`warden:tool/elicitation`). Example: `elicitation = true`
    pub elicitation: Option<bool>,
    /// The resource namespaces this component serves: it may list and serve only URIs inside
    /// them. Example: `resources = ["notes://*"]`
    #[serde(default)]
    pub resources: Vec<String>,
    /// What instruction-like text in this component's outputs does: `"annotate"`,
    /// `"strip"` or `"block"`. Example: `output_policy = "annotate"`
    pub output_policy: Option<String>,
    /// `[components.<id>.tools.<function>]`: per-tool settings, keyed by the WIT function name
    /// as written, or `"<interface>.<function>"` where two interfaces export the same name.
    #[serde(default)]
    pub tools: BTreeMap<String, RawTool>,
}

/// `[components.<id>.tools.<function>]`.
#[derive(Debug, Deserialize)]
pub struct RawTool {
    /// Replaces the description taken from the WIT docs.
    /// Example: `description = "Return the message unchanged."`
    pub description: Option<String>,
    /// Renames the function part of the tool name: the tool becomes `<component id>_<name>`.
    /// Example: `name = "say"`
    pub name: Option<String>,
    /// Overrides the derived `readOnlyHint`. Example: `read_only = true`
    pub read_only: Option<bool>,
    /// Overrides the derived `destructiveHint`.
    pub destructive: Option<bool>,
    /// Overrides the derived `idempotentHint`.
    pub idempotent: Option<bool>,
    /// Overrides the derived `openWorldHint`.
    pub open_world: Option<bool>,
    /// Tools of other components this tool's name may look like, on purpose.
    /// Example: `shadows_ok = ["fetch_get"]`
    #[serde(default)]
    pub shadows_ok: Vec<String>,
    /// Calls of this tool per client. Example: `rate = "1/s"`
    pub rate: Option<String>,
    /// Calls of this tool allowed at once above its rate, per client.
    pub burst: Option<i64>,
    /// Calls of this tool running at once, per client. Example: `max_concurrency = 2`
    pub max_concurrency: Option<i64>,
    /// Ask the human before each call (default: the tool's `destructiveHint`).
    /// Example: `confirm = true`
    pub confirm: Option<bool>,
    /// Parameters whose values the audit log may show (after redaction); others are logged
    /// as type and size only. Example: `log_params = ["path"]`
    #[serde(default)]
    pub log_params: Vec<String>,
    /// Client capabilities a caller must have declared for this tool to run.
    /// Example: `requires = ["elicitation"]`
    #[serde(default)]
    pub requires: Vec<String>,
}
