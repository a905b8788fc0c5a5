//! The command line: `warden serve`, `warden check`, `warden lock`, `warden inspect`,
//! `warden token` and `warden audit`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use serde_json::json;

use crate::catalog::Catalog;
use crate::component::LoadedComponent;
use crate::lock::{self, Lock, Verified};
use crate::manifest::{Diagnostics, SourceMap};
use crate::mcp::Warden;
use crate::policy::{ComponentId, ComponentPolicy, Limits, Policy, ServerSettings};
use crate::sandbox::Sandbox;
use crate::stdio::StdioTransport;
use crate::{PrepareError, prepare};

/// The manifest read when `--manifest` is not given.
pub const DEFAULT_MANIFEST: &str = "warden.toml";

/// Warden: an MCP server whose tools are sandboxed WebAssembly components.
#[derive(Debug, Parser)]
#[command(name = "warden", version, about)]
pub struct Cli {
    /// Log format on stderr (the level comes from `WARDEN_LOG`, default `info`).
    #[arg(long, value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// How log lines are written.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve MCP over stdio (newline-delimited JSON-RPC on stdin/stdout), or over Streamable
    /// HTTP at `/mcp` with `--http`.
    Serve {
        /// The manifest.
        #[arg(long, default_value = DEFAULT_MANIFEST)]
        manifest: PathBuf,
        /// HTTP options (without `--http`, MCP is served on stdio).
        #[command(flatten)]
        http: HttpArgs,
        /// Refuse to start without a lock file (recommended in production).
        #[arg(long)]
        locked: bool,
        /// Reload the catalog when the manifest, the lock or a file they name changes, if the
        /// lock approves the new catalog (implies --locked).
        #[arg(long)]
        watch: bool,
        /// Where compiled components are kept.
        #[command(flatten)]
        cache: CacheArgs,
        /// Export tracing spans over OTLP/HTTP to this collector (base URL, e.g.
        /// `http://127.0.0.1:4318`; `/v1/traces` is appended). Default: the
        /// `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` or `OTEL_EXPORTER_OTLP_ENDPOINT` variable;
        /// without any, nothing is exported.
        #[cfg(feature = "otlp")]
        #[arg(long, value_name = "URL")]
        otlp_endpoint: Option<String>,
    },
    /// Client tokens.
    Token {
        /// What to do.
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// The audit log.
    Audit {
        /// What to do.
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Check a manifest and its components, reporting every problem; exit 1 if any.
    Check {
        /// The manifest.
        #[arg(long, default_value = DEFAULT_MANIFEST)]
        manifest: PathBuf,
        /// Fail without a lock file, as `serve --locked` would.
        #[arg(long)]
        locked: bool,
        /// Where compiled components are kept.
        #[command(flatten)]
        cache: CacheArgs,
    },
    /// Approve the catalog: write `<manifest>.lock` (e.g. `warden.lock`), which `serve` and
    /// `check` compare the loaded catalog with.
    Lock {
        /// The manifest.
        #[arg(long, default_value = DEFAULT_MANIFEST)]
        manifest: PathBuf,
        /// Where compiled components are kept.
        #[command(flatten)]
        cache: CacheArgs,
    },
    /// Show the tools, schemas, descriptions, imports, digest and signer a component would
    /// get, as JSON.
    Inspect {
        /// The component file.
        component: PathBuf,
        /// The component id to name its tools with (default: its id in `--manifest`, else the
        /// file name).
        #[arg(long)]
        id: Option<String>,
        /// Verify the component's signature against this manifest's `[trust] keys` (the
        /// signature is its entry's `signature`, else `COMPONENT.wasm.minisig` beside it).
        #[arg(long)]
        manifest: Option<PathBuf>,
    },
}

/// `warden token` subcommands.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Print a fresh bearer token for a client (once) and the line to paste into the manifest.
    New {
        /// The client's name, as in `[clients.<name>]`.
        client: String,
    },
}

/// `warden audit` subcommands.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check every record's hash and the chain; print `ok: N records` or the first broken
    /// record and why; exit 1 if broken.
    Verify {
        /// The audit file (JSON lines).
        file: PathBuf,
    },
}

/// The compiled-component cache option.
#[derive(Debug, clap::Args)]
pub struct CacheArgs {
    /// Keep compiled components in this folder (created 0700), keyed by digest and engine, so
    /// that a start does not compile them again [default: $XDG_CACHE_HOME/warden/components,
    /// else ~/.cache/warden/components].
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
}

impl CacheArgs {
    /// The folder to use, if any.
    fn dir(&self) -> Option<PathBuf> {
        self.cache_dir
            .clone()
            .or_else(crate::cache::ArtifactCache::default_dir)
    }
}

/// The HTTP transport's command-line options.
#[derive(Debug, clap::Args)]
pub struct HttpArgs {
    /// Serve Streamable HTTP on this address (repeatable), e.g. `127.0.0.1:8931`. A
    /// non-loopback address needs `--tls-cert`/`--tls-key` or `--insecure-plaintext`.
    #[arg(long = "http", value_name = "ADDR")]
    pub addrs: Vec<std::net::SocketAddr>,
    /// The server certificate chain (PEM).
    #[arg(long, requires = "tls_key", value_name = "PEM")]
    pub tls_cert: Option<PathBuf>,
    /// The server's private key (PEM).
    #[arg(long, requires = "tls_cert", value_name = "PEM")]
    pub tls_key: Option<PathBuf>,
    /// Verify client certificates against these CAs (PEM); a certificate's subject maps to a
    /// client's `cert_subject`.
    #[arg(long, requires = "tls_cert", value_name = "PEM")]
    pub client_ca: Option<PathBuf>,
    /// Allow plain HTTP on a non-loopback address (tokens cross the network in clear).
    #[arg(long)]
    pub insecure_plaintext: bool,
}

/// The log layer on stderr: `WARDEN_LOG` filters it, `--log-format` shapes it.
fn stderr_layer<S>(cli: &Cli) -> impl tracing_subscriber::Layer<S> + 'static
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    use tracing_subscriber::Layer as _;
    // Audit records without an `[audit] path` go to stderr through this layer: no
    // `WARDEN_LOG` level may drop them, so their target is always kept at `info`.
    let audit = "warden::audit=info"
        .parse()
        .unwrap_or_else(|_| unreachable!("a valid directive"));
    let filter = tracing_subscriber::EnvFilter::try_from_env("WARDEN_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,rmcp=warn"))
        .add_directive(audit);
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(false);
    match cli.log_format {
        LogFormat::Text => layer.boxed(),
        LogFormat::Json => layer.json().boxed(),
    }
    .with_filter(filter)
}

/// Starts logging to stderr; stdout carries only MCP.
#[cfg(not(feature = "otlp"))]
pub fn init_logging(cli: &Cli) {
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    tracing_subscriber::registry()
        .with(stderr_layer(cli))
        .init();
}

/// Starts logging to stderr (stdout carries only MCP) and, for `serve` with an OTLP endpoint
/// configured, span export; shut the exporter it returns down on exit.
///
/// # Errors
/// The endpoint is unusable or the exporter cannot be built.
#[cfg(feature = "otlp")]
pub fn init_logging(
    cli: &Cli,
) -> Result<Option<crate::telemetry::Telemetry>, crate::telemetry::TelemetryError> {
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    let endpoint = match &cli.command {
        Command::Serve { otlp_endpoint, .. } => {
            crate::telemetry::endpoint(otlp_endpoint.as_deref(), |name| std::env::var(name).ok())?
        }
        _ => None,
    };
    let registry = tracing_subscriber::registry().with(stderr_layer(cli));
    let Some(endpoint) = endpoint else {
        registry.init();
        return Ok(None);
    };
    let (telemetry, spans) = crate::telemetry::Telemetry::start(&endpoint)?;
    registry.with(spans).init();
    tracing::info!(endpoint = %endpoint.url, from = endpoint.from, "exporting spans over OTLP");
    Ok(Some(telemetry))
}

/// Runs the command.
///
/// # Errors
/// The command failed; the message says why.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    match cli.command {
        Command::Serve {
            manifest,
            http,
            locked,
            watch,
            cache,
            ..
        } => runtime.block_on(serve(&manifest, http, locked, watch, cache.dir())),
        Command::Token {
            command: TokenCommand::New { client },
        } => new_token(&client),
        Command::Audit {
            command: AuditCommand::Verify { file },
        } => verify_audit(&file),
        Command::Check {
            manifest,
            locked,
            cache,
        } => Ok(check(&manifest, locked, cache.dir().as_deref())),
        Command::Lock { manifest, cache } => write_lock(&manifest, cache.dir().as_deref()),
        Command::Inspect {
            component,
            id,
            manifest,
        } => inspect(&component, id, manifest.as_deref()),
    }
}

async fn serve(
    manifest: &Path,
    http: HttpArgs,
    locked: bool,
    watch: bool,
    cache: Option<PathBuf>,
) -> anyhow::Result<ExitCode> {
    let prepared = match prepare(manifest, cache.as_deref()) {
        Ok(prepared) => prepared,
        Err(error) => {
            eprint!("{}", render(&error));
            return Ok(ExitCode::FAILURE);
        }
    };
    let now = Lock::compute(&prepared.policy, &prepared.catalog, &prepared.resources);
    // Watching reloads only what the lock approves: it needs one.
    match lock::verify(manifest, &now, locked || watch) {
        Ok(Verified::Matches) => {}
        Ok(Verified::Missing(path)) => tracing::warn!("{}", missing_lock(manifest, &path)),
        Err(error) => {
            eprintln!("error: {error}");
            return Ok(ExitCode::FAILURE);
        }
    }
    for warning in &prepared.warnings {
        tracing::warn!("{warning}");
    }
    for note in &prepared.notes {
        tracing::info!("{note}");
    }
    let settings = prepared.policy.server.clone();
    let body_limit =
        usize::try_from(settings.max_argument_bytes.bytes()).unwrap_or(usize::MAX) + (1 << 20);
    let drain = prepared
        .catalog
        .tools()
        .map(|tool| tool.limits.timeout)
        .max()
        .unwrap_or_default()
        + std::time::Duration::from_secs(5);
    let clients = prepared.policy.clients.clone();
    let audit = match crate::audit::AuditLog::open(
        &prepared.policy.audit,
        std::sync::Arc::clone(prepared.sandbox.redactor()),
    ) {
        Ok(audit) => audit,
        Err(error) => {
            eprintln!("error: {error}");
            return Ok(ExitCode::FAILURE);
        }
    };
    if !http.addrs.is_empty() {
        check_http(&http, &clients)?;
    }
    tracing::info!(
        manifest = %manifest.display(),
        tools = prepared.catalog.tools().count(),
        "serving MCP on {}",
        if http.addrs.is_empty() { "stdio" } else { "HTTP" }
    );
    let watcher = if watch {
        Some(
            crate::watch::Watch::new(manifest, &prepared.policy, cache)
                .context("cannot watch the manifest")?,
        )
    } else {
        None
    };
    let warden = Warden::new(
        prepared.catalog,
        prepared.prompts,
        prepared.sandbox,
        settings,
        &clients.stdio,
        Arc::clone(&audit),
    )
    .context("cannot set up confirmations")?
    .with_resources(prepared.resources);
    if let Some(watcher) = watcher {
        warden.announce_list_changes();
        tracing::info!(manifest = %manifest.display(), "watching the catalog's files: changes the lock approves are reloaded");
        tokio::spawn(watcher.run(warden.clone(), audit));
    }
    if http.addrs.is_empty() {
        serve_stdio(warden, body_limit).await
    } else {
        serve_http(warden, clients, http, body_limit, drain).await
    }
}

/// Refuses HTTP setups that would expose the server: plaintext or anonymous access off loopback.
fn check_http(http: &HttpArgs, clients: &crate::clients::Clients) -> anyhow::Result<()> {
    let remote: Vec<_> = http
        .addrs
        .iter()
        .filter(|addr| !addr.ip().is_loopback())
        .collect();
    if let Some(addr) = remote.first() {
        if http.tls_cert.is_none() && !http.insecure_plaintext {
            anyhow::bail!(
                "--http {addr} is not a loopback address: serve it with TLS (--tls-cert and --tls-key), or pass --insecure-plaintext to send tokens in clear"
            );
        }
        if http.tls_cert.is_none() {
            tracing::warn!(
                "serving plain HTTP on {addr}: bearer tokens cross the network in clear"
            );
        }
        if let Some(client) = clients.anonymous() {
            anyhow::bail!(
                "[clients.{}] is anonymous, and --http {addr} is not a loopback address: an anonymous client is only allowed when every --http address is loopback",
                client.name
            );
        }
        if clients.http.hosts == crate::http::origin::HostAllowlist::loopback() {
            tracing::warn!(
                "--http {addr} is not loopback, but [http] allowed_hosts is the loopback default: requests naming this server by another host name get 403"
            );
        }
    }
    let certificate_clients = clients.named.iter().any(|c| {
        matches!(
            c.credential,
            Some(crate::clients::Credential::Certificate(_))
        )
    });
    if certificate_clients && http.client_ca.is_none() {
        tracing::warn!(
            "some clients authenticate with cert_subject, but --client-ca is not set: they cannot connect"
        );
    }
    Ok(())
}

async fn serve_stdio(warden: Warden, limit: usize) -> anyhow::Result<ExitCode> {
    let (transport, writer) = StdioTransport::new(
        std::io::BufReader::new(std::io::stdin()),
        std::io::stdout(),
        limit,
    )
    .context("cannot start the stdout writer")?;
    let running = rmcp::serve_server(warden, transport)
        .await
        .context("the MCP session failed to start")?;
    running.waiting().await.context("the MCP session failed")?;
    // The session is over and the transport dropped: let the writer flush the last answers.
    if tokio::time::timeout(std::time::Duration::from_secs(5), writer)
        .await
        .is_err()
    {
        tracing::warn!("stdout did not drain within 5s");
    }
    Ok(ExitCode::SUCCESS)
}

async fn serve_http(
    warden: Warden,
    clients: crate::clients::Clients,
    http: HttpArgs,
    body_limit: usize,
    drain: std::time::Duration,
) -> anyhow::Result<ExitCode> {
    let tls = match (&http.tls_cert, &http.tls_key) {
        (Some(cert), Some(key)) => Some(
            crate::http::tls::server_config(cert, key, http.client_ca.as_deref())
                .context("cannot set up TLS")?,
        ),
        _ => None,
    };
    let shutdown = tokio_util::sync::CancellationToken::new();
    let signals = shutdown.clone();
    tokio::spawn(async move {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(error) => {
                    tracing::error!(%error, "cannot listen for SIGTERM");
                    return;
                }
            };
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM"),
            _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT"),
        }
        signals.cancel();
    });
    let mut servers = tokio::task::JoinSet::new();
    for addr in http.addrs {
        let options = crate::http::HttpOptions {
            addr,
            tls: tls.clone(),
            body_limit,
            drain,
        };
        servers.spawn(crate::http::serve(
            warden.clone(),
            clients.clone(),
            options,
            shutdown.clone(),
        ));
    }
    let mut result = Ok(ExitCode::SUCCESS);
    while let Some(done) = servers.join_next().await {
        if let Err(error) = done.context("an HTTP server task failed")? {
            // One address failing stops them all.
            shutdown.cancel();
            result = Err(error);
        }
    }
    result
}

/// Prints a fresh token for `client` and the manifest line holding its digest.
fn new_token(client: &str) -> anyhow::Result<ExitCode> {
    let name = crate::clients::ClientName::parse(client).map_err(anyhow::Error::msg)?;
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    use base64::Engine as _;
    let token = format!(
        "wdn_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    );
    let digest = crate::digest::Sha256Digest::of(token.as_bytes());
    println!("{token}");
    println!();
    println!(
        "# The token above is shown once: give it to the client (Authorization: Bearer <token>)."
    );
    println!("# Paste this into the manifest; it holds only the token's digest:");
    println!("[clients.{name}]");
    println!("token_sha256 = \"{digest}\"");
    println!("tools = []   # grant what it may call, e.g. [\"files_*\"]");
    Ok(ExitCode::SUCCESS)
}

fn verify_audit(file: &Path) -> anyhow::Result<ExitCode> {
    let verdict = crate::audit::verify_file(file)
        .with_context(|| format!("cannot read the audit log {}", file.display()))?;
    match verdict {
        crate::audit::Verdict::Ok { records } => {
            println!("ok: {records} records");
            Ok(ExitCode::SUCCESS)
        }
        crate::audit::Verdict::Broken { record, reason } => {
            println!("broken: record {record} (line {record}) {reason}");
            Ok(ExitCode::FAILURE)
        }
    }
}

fn check(manifest: &Path, locked: bool, cache: Option<&Path>) -> ExitCode {
    match prepare(manifest, cache) {
        Ok(prepared) => {
            let now = Lock::compute(&prepared.policy, &prepared.catalog, &prepared.resources);
            match lock::verify(manifest, &now, locked) {
                Ok(Verified::Matches) => {}
                Ok(Verified::Missing(path)) => {
                    println!("warning: {}", missing_lock(manifest, &path));
                }
                Err(error) => {
                    println!("error: {error}");
                    return ExitCode::FAILURE;
                }
            }
            for warning in &prepared.warnings {
                println!("warning: {warning}");
            }
            for note in &prepared.notes {
                println!("note: {note}");
            }
            println!(
                "ok: {} component(s), {} tool(s) in {}",
                prepared.policy.components.len(),
                prepared.catalog.tools().count(),
                manifest.display()
            );
            ExitCode::SUCCESS
        }
        Err(error) => {
            print!("{}", render(&error));
            ExitCode::FAILURE
        }
    }
}

fn missing_lock(manifest: &Path, path: &Path) -> String {
    let manifest = manifest.display();
    format!(
        "no lock file {}: the catalog is not pinned, so a changed tool text, schema or grant would go unnoticed; approve it with `warden lock --manifest {manifest}` and serve with --locked",
        path.display()
    )
}

/// `warden lock`: loads the manifest as `serve` would and writes its lock.
fn write_lock(manifest: &Path, cache: Option<&Path>) -> anyhow::Result<ExitCode> {
    let prepared = match prepare(manifest, cache) {
        Ok(prepared) => prepared,
        Err(error) => {
            print!("{}", render(&error));
            return Ok(ExitCode::FAILURE);
        }
    };
    let now = Lock::compute(&prepared.policy, &prepared.catalog, &prepared.resources);
    let (path, changes) = lock::write(manifest, &now)?;
    match changes {
        None => println!(
            "wrote {}: {} component(s), {} tool(s), {} prompt(s)",
            path.display(),
            now.components.len(),
            now.tools.len(),
            now.prompts.len()
        ),
        Some(changes) if changes.is_empty() => println!("{} is up to date", path.display()),
        Some(changes) => {
            println!(
                "wrote {}, accepting {} change(s):",
                path.display(),
                changes.len()
            );
            print!("{}", lock::render(&changes));
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn render(error: &PrepareError) -> String {
    match error {
        PrepareError::Manifest(diagnostics) => diagnostics.to_string(),
        other => format!("error: {other}\n"),
    }
}

/// What `inspect --manifest` takes from the manifest: the trusted keys, and the component's
/// entry (its id and signature file) when it lists the component.
struct InspectTrust {
    keys: Vec<crate::signature::TrustedKey>,
    id: Option<String>,
    signature: Option<PathBuf>,
}

/// Reads `[trust]` and the entry whose `source` is `component` from `manifest`.
fn inspect_trust(manifest: &Path, component: &Path) -> Result<InspectTrust, Diagnostics> {
    let (raw, map) = crate::manifest::load(manifest)?;
    let mut errors = Vec::new();
    let trust = crate::policy::check_trust(&raw.trust, &map, &mut errors);
    if !errors.is_empty() {
        return Err(Diagnostics(errors).sorted());
    }
    let base = manifest.parent().unwrap_or(Path::new("."));
    let wanted = std::fs::canonicalize(component).ok();
    let entry = raw.components.iter().find(|(_, entry)| {
        entry.source.as_ref().is_some_and(|source| {
            wanted.is_some() && std::fs::canonicalize(base.join(source)).ok() == wanted
        })
    });
    Ok(InspectTrust {
        keys: trust.keys,
        id: entry.map(|(id, _)| id.clone()),
        signature: entry
            .and_then(|(_, entry)| entry.signature.as_ref())
            .map(|file| base.join(file)),
    })
}

fn inspect(path: &Path, id: Option<String>, manifest: Option<&Path>) -> anyhow::Result<ExitCode> {
    let trust = match manifest.map(|manifest| inspect_trust(manifest, path)) {
        None => None,
        Some(Ok(trust)) => Some(trust),
        Some(Err(diagnostics)) => {
            eprint!("{diagnostics}");
            return Ok(ExitCode::FAILURE);
        }
    };
    let beside = {
        let mut name = path.as_os_str().to_owned();
        name.push(".minisig");
        PathBuf::from(name)
    };
    let signature_file = trust
        .as_ref()
        .and_then(|trust| trust.signature.clone())
        .or_else(|| beside.is_file().then_some(beside));
    let id = id.or_else(|| trust.as_ref().and_then(|trust| trust.id.clone()));
    let id = id.unwrap_or_else(|| {
        path.file_stem()
            .map(|stem| {
                stem.to_string_lossy()
                    .chars()
                    .filter(char::is_ascii_alphanumeric)
                    .collect::<String>()
                    .to_ascii_lowercase()
            })
            .unwrap_or_default()
    });
    let id = ComponentId::parse(&id)
        .map_err(anyhow::Error::msg)
        .context("choose a component id with --id")?;
    // Inspecting compiles but never runs: any memory size the pool allows by default.
    let sandbox = Sandbox::new(1, 4 << 30, Default::default())?;
    let check = match (&trust, &signature_file) {
        (Some(trust), Some(file)) => Some(crate::component::SignatureCheck {
            file,
            keys: &trust.keys,
        }),
        _ => None,
    };
    let loaded = LoadedComponent::load_checked(&sandbox, path, None, check)?;
    let signature = match (&signature_file, &loaded.signed) {
        (None, _) => serde_json::Value::Null,
        (Some(file), Some(signed)) => json!({
            "file": file.display().to_string(),
            "verified": true,
            "key_id": signed.key_id,
            "key": signed.key,
            "trusted_comment": signed.trusted_comment,
        }),
        (Some(file), None) => {
            let text = std::fs::read_to_string(file)
                .with_context(|| format!("cannot read signature {}", file.display()))?;
            json!({
                "file": file.display().to_string(),
                "verified": false,
                "key_id": crate::signature::signature_key_id(&text)?,
                "note": "not verified: pass --manifest to check it against [trust] keys",
            })
        }
    };
    let digest = loaded.digest;
    let imports = loaded.imports.clone();
    // Inspect as a one-component manifest with default limits and no per-tool settings.
    let map = SourceMap::new(
        PathBuf::from("(inspect)"),
        String::new(),
        Default::default(),
    );
    let at = map.locate(&["components", id.as_str()]);
    let component = ComponentPolicy {
        id,
        at: at.clone(),
        source: crate::manifest::Located {
            value: path.to_path_buf(),
            at: at.clone(),
        },
        sha256: crate::manifest::Located { value: digest, at },
        signature: None,
        limits: Limits::default(),
        grants: Default::default(),
        output_policy: Default::default(),
        tools: Default::default(),
        resources: Vec::new(),
    };
    let policy = Policy {
        file: map.file.clone(),
        server: ServerSettings {
            max_concurrent_calls: 1,
            max_argument_bytes: crate::policy::DEFAULT_MAX_ARGUMENT_BYTES,
            max_output_bytes: crate::policy::DEFAULT_MAX_OUTPUT_BYTES,
            description_policy: Default::default(),
        },
        components: vec![component.clone()],
        secrets: Default::default(),
        prompts: Default::default(),
        clients: crate::clients::Clients::local_only(),
        audit: Default::default(),
        trust: Default::default(),
        warnings: Vec::new(),
    };
    let catalog =
        Catalog::build(&policy, vec![(&component, loaded)]).map_err(|Diagnostics(errors)| {
            anyhow::anyhow!(
                "{}",
                errors
                    .iter()
                    .map(|e| e.message.clone())
                    .collect::<Vec<_>>()
                    .join("\n")
            )
        })?;
    let tools: Vec<_> = catalog
        .tools()
        .map(|tool| {
            json!({
                "name": &*tool.name,
                "function": tool.function.name,
                "interface": tool.function.interface,
                "description": tool.description,
                "inputSchema": &*tool.input_schema,
                "outputSchema": tool.output_schema.as_deref(),
            })
        })
        .collect();
    let report = json!({
        "file": path.display().to_string(),
        "sha256": digest.to_string(),
        "signature": signature,
        "imports": imports,
        "tools": tools,
        "warnings": catalog.warnings,
    });
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(ExitCode::SUCCESS)
}
