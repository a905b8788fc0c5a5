//! The command line: `warden serve`, `warden check` and `warden inspect`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use serde_json::json;

use crate::catalog::Catalog;
use crate::component::LoadedComponent;
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
    /// Serve MCP over stdio (newline-delimited JSON-RPC on stdin/stdout).
    Serve {
        /// The manifest.
        #[arg(long, default_value = DEFAULT_MANIFEST)]
        manifest: PathBuf,
    },
    /// Check a manifest and its components, reporting every problem; exit 1 if any.
    Check {
        /// The manifest.
        #[arg(long, default_value = DEFAULT_MANIFEST)]
        manifest: PathBuf,
    },
    /// Show the tools, schemas, descriptions and imports a component would get, as JSON.
    Inspect {
        /// The component file.
        component: PathBuf,
        /// The component id to name its tools with (default: the file name).
        #[arg(long)]
        id: Option<String>,
    },
}

/// Starts logging to stderr; stdout carries only MCP.
pub fn init_logging(cli: &Cli) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("WARDEN_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false);
    match cli.log_format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
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
        Command::Serve { manifest } => runtime.block_on(serve(&manifest)),
        Command::Check { manifest } => Ok(check(&manifest)),
        Command::Inspect { component, id } => inspect(&component, id),
    }
}

async fn serve(manifest: &Path) -> anyhow::Result<ExitCode> {
    let prepared = match prepare(manifest) {
        Ok(prepared) => prepared,
        Err(error) => {
            eprint!("{}", render(&error));
            return Ok(ExitCode::FAILURE);
        }
    };
    for warning in &prepared.warnings {
        tracing::warn!("{warning}");
    }
    for note in &prepared.notes {
        tracing::info!("{note}");
    }
    let settings = prepared.policy.server.clone();
    let max_argument_bytes = settings.max_argument_bytes;
    tracing::info!(
        manifest = %manifest.display(),
        tools = prepared.catalog.tools().count(),
        "serving MCP on stdio"
    );
    let warden = Warden::new(
        prepared.catalog,
        prepared.prompts,
        prepared.sandbox,
        settings,
    );
    let limit = usize::try_from(max_argument_bytes.bytes()).unwrap_or(usize::MAX) + (1 << 20);
    let (transport, writer) = StdioTransport::new(
        tokio::io::BufReader::new(tokio::io::stdin()),
        tokio::io::stdout(),
        limit,
    );
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

fn check(manifest: &Path) -> ExitCode {
    match prepare(manifest) {
        Ok(prepared) => {
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

fn render(error: &PrepareError) -> String {
    match error {
        PrepareError::Manifest(diagnostics) => diagnostics.to_string(),
        other => format!("error: {other}\n"),
    }
}

fn inspect(path: &Path, id: Option<String>) -> anyhow::Result<ExitCode> {
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
    let sandbox = Sandbox::new(1, Default::default())?;
    let loaded = LoadedComponent::load(&sandbox, path, None)?;
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
        limits: Limits::default(),
        grants: Default::default(),
        output_policy: Default::default(),
        tools: Default::default(),
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
        "imports": imports,
        "tools": tools,
        "warnings": catalog.warnings,
    });
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(ExitCode::SUCCESS)
}
