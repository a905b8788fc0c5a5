//! Warden: an MCP server whose tools are WebAssembly components, each confined to what an
//! operator's manifest grants.
//!
//! The data path reads top to bottom: [`manifest`] → [`policy`] → [`component`] →
//! [`catalog`] → transport ([`stdio`], [`http`], [`mcp`]) → [`authorize`] (with [`clients`]
//! and [`confirm`]) → [`call`] (validate → [`sandbox`] → shape → redact) → [`audit`].

pub mod audit;
pub mod authorize;
pub mod cache;
pub mod call;
pub mod catalog;
pub mod cli;
pub mod clients;
pub mod component;
pub mod confirm;
pub mod confusable;
pub mod content;
pub mod digest;
pub mod docs;
pub mod elicit;
pub mod grants;
pub mod http;
pub mod lint;
pub mod lock;
pub mod manifest;
pub mod mcp;
pub mod notify;
pub mod policy;
pub mod prompts;
pub mod redact;
pub mod request_state;
pub mod requires;
pub mod resources;
pub mod sandbox;
pub mod schema;
pub mod signature;
pub mod stdio;
#[cfg(feature = "otlp")]
pub mod telemetry;
#[cfg(test)]
mod typegen;
pub mod units;
pub mod values;
pub mod vet;
pub mod watch;

use std::path::Path;

use crate::catalog::Catalog;
use crate::component::{LoadError, LoadedComponent, SignatureCheck};
use crate::manifest::{Diagnostic, Diagnostics};
use crate::policy::Policy;
use crate::sandbox::Sandbox;

/// A manifest read, checked and loaded: ready to serve.
pub struct Prepared {
    /// The checked manifest.
    pub policy: Policy,
    /// The tools.
    pub catalog: Catalog,
    /// Where calls run.
    pub sandbox: Sandbox,
    /// The prompts.
    pub prompts: prompts::Prompts,
    /// The resources components serve.
    pub resources: resources::Resources,
    /// Problems worth a look that do not stop the start.
    pub warnings: Vec<String>,
    /// How the manifest is applied where that is not obvious.
    pub notes: Vec<String>,
}

/// Why Warden cannot start on a manifest.
#[derive(Debug, thiserror::Error)]
pub enum PrepareError {
    /// The manifest or its components have problems; all of them are listed.
    #[error(transparent)]
    Manifest(#[from] Diagnostics),
    /// The wasm engine could not be set up.
    #[error("cannot set up the wasm engine: {0}")]
    Engine(String),
}

/// Reads the manifest at `path`, checks it, and loads and pins every component (compiled in
/// parallel, or taken from the compiled-component cache at `cache`).
///
/// # Errors
/// Every problem found, each naming the file, line and key.
pub fn prepare(path: &Path, cache: Option<&Path>) -> Result<Prepared, PrepareError> {
    // The two rule sets compile beside the component loading below.
    lint::compile_in_background();
    redact::compile_in_background();
    let (raw, map) = manifest::load(path)?;
    let policy = Policy::from_raw(raw, &map)?;
    let secrets = std::sync::Arc::new(policy.secrets.clone());
    let largest_memory = policy
        .components
        .iter()
        .map(|component| component.limits.memory.bytes())
        .max()
        .unwrap_or(0);
    let mut sandbox = Sandbox::new(policy.server.max_concurrent_calls, largest_memory, secrets)
        .map_err(|e| PrepareError::Engine(format!("{e:#}")))?;
    let mut errors = Vec::new();
    let mut loaded = Vec::new();
    let mut warnings = policy.warnings.clone();
    let mut notes = Vec::new();
    if let Some(dir) = cache
        && let Err(error) = sandbox.use_cache(dir)
    {
        warnings.push(format!("{error}; components are compiled at every start"));
    }
    let results = std::thread::scope(|scope| {
        let sandbox = &sandbox;
        let running: Vec<_> = policy
            .components
            .iter()
            .map(|component| {
                let signature = component.signature.as_ref().map(|file| SignatureCheck {
                    file: &file.value,
                    keys: &policy.trust.keys,
                });
                scope.spawn(move || {
                    LoadedComponent::load_checked(
                        sandbox,
                        &component.source.value,
                        Some(component.sha256.value),
                        signature,
                    )
                })
            })
            .collect();
        running
            .into_iter()
            .map(|thread| {
                thread
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect::<Vec<_>>()
    });
    for (component, result) in policy.components.iter().zip(results) {
        match result {
            Ok(done) => {
                let id = &component.id;
                if done
                    .imports
                    .iter()
                    .any(|name| name.starts_with("wasi:sockets/"))
                {
                    notes.push(format!(
                        "component `{id}` imports wasi:sockets: it is linked with every address and name lookup denied (tools reach the network only through wasi:http and `hosts`)"
                    ));
                }
                loaded.push((component, done));
            }
            Err(error) => errors.push(load_diagnostic(&policy, component, error)),
        }
    }
    if !errors.is_empty() {
        return Err(Diagnostics(errors).sorted().into());
    }
    let resources = resources::Resources::load(&sandbox, &policy.file, &loaded)
        .map_err(|errors| Diagnostics(errors).sorted())?;
    let catalog = Catalog::build(&policy, loaded)?;
    let verdict = vet::vet(&policy, &catalog);
    if !verdict.errors.is_empty() {
        return Err(Diagnostics(verdict.errors).sorted().into());
    }
    warnings.extend(verdict.warnings);
    let pins: Vec<prompts::PromptPin<'_>> = policy
        .prompts
        .iter()
        .map(|(name, (file, sha256))| prompts::PromptPin { name, file, sha256 })
        .collect();
    let prompts = prompts::Prompts::load(&policy.file, &pins)
        .map_err(|errors| Diagnostics(errors).sorted())?;
    warnings.extend(catalog.warnings.iter().cloned());
    let prompt_names = policy.prompts.keys().cloned().collect();
    let grant_errors = clients::check_grants(
        &policy.clients,
        &catalog,
        &prompt_names,
        &resources.namespaces(),
        &map,
    );
    if !grant_errors.is_empty() {
        return Err(Diagnostics(grant_errors).sorted().into());
    }
    Ok(Prepared {
        policy,
        catalog,
        sandbox,
        prompts,
        resources,
        warnings,
        notes,
    })
}

/// Places a load error at the manifest key it concerns, with a fix.
fn load_diagnostic(
    policy: &Policy,
    component: &policy::ComponentPolicy,
    error: LoadError,
) -> Diagnostic {
    let id = &component.id;
    let (at, help) = match &error {
        LoadError::Read { .. } => (
            &component.source.at,
            "check the path: `source` is relative to the manifest file".to_string(),
        ),
        LoadError::DigestMismatch { actual, .. } => (
            &component.sha256.at,
            format!(
                "the file changed since it was pinned: restore the pinned file, or, if you trust the new one, pin it with sha256 = \"{actual}\""
            ),
        ),
        LoadError::SignatureRead { .. } => (
            component.signature.as_ref().map_or(&component.at, |s| &s.at),
            "check the path: `signature` is relative to the manifest file; `minisign -Sm FILE` writes FILE.minisig".to_string(),
        ),
        LoadError::Signature { reason, .. } => (
            component.signature.as_ref().map_or(&component.at, |s| &s.at),
            match reason {
                signature::SignatureError::UntrustedKey { key_id } => format!(
                    "if you trust key {key_id}, add its public key (the second line of its minisign.pub) to [trust] keys; otherwise do not load `{id}`"
                ),
                signature::SignatureError::Mismatch { .. } => format!(
                    "`{id}` is not the file that was signed: restore the signed file, or have its publisher sign the new one (`minisign -Sm FILE`)"
                ),
                signature::SignatureError::Malformed(_) => {
                    "point `signature` at the .minisig file `minisign -Sm FILE` writes".to_string()
                }
            },
        ),
        LoadError::Compile { .. } | LoadError::Docs { .. } => (
            &component.source.at,
            "rebuild the component for wasm32-wasip2 against Warden's WIT (see README: Writing a tool)".to_string(),
        ),
        LoadError::Import { .. } => (
            &component.at,
            format!(
                "Warden provides WASI 0.2 (cli, io, clocks, filesystem, random, sockets, http: only what the manifest grants) and warden:tool/{{log, secrets}}; rebuild `{id}` without the other import"
            ),
        ),
    };
    policy.diagnostic(at, error.to_string(), help)
}
