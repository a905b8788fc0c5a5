//! `serve --watch`: reloads the catalog when the manifest, its lock, or a component, signature
//! or prompt file it names changes, but only if the reloaded catalog matches the lock. A change
//! the lock does not approve is a security event (logged and audited), and the catalog
//! already served keeps serving.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::audit::{AuditLog, Outcome, Record};
use crate::lock::{self, Lock};
use crate::mcp::{Served, Warden};
use crate::policy::Policy;

/// How often the watched files are looked at.
///
/// Polling a dozen `stat`s is simpler and more predictable than filesystem events (editors
/// replace files by renaming, which event watchers must re-arm for), and costs nothing.
const POLL: Duration = Duration::from_millis(250);

/// Manifest sections a running server cannot take over: the transports, client identities
/// and grants, server-wide limits and the audit log are set up once at start.
const RESTART_ONLY: [&str; 6] = ["server", "clients", "stdio", "http", "oauth", "audit"];

/// The watcher of one served manifest.
pub struct Watch {
    manifest: PathBuf,
    /// The compiled-component cache.
    cache: Option<PathBuf>,
    /// The restart-only sections as the server started with them.
    fixed: Vec<Option<toml::Value>>,
    files: Vec<PathBuf>,
    seen: Vec<Stamp>,
}

/// What `stat` says of a file, enough to notice a change: missing, or size, time and inode.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Stamp(Option<(u64, SystemTime, u64)>);

/// Why a reload was refused.
#[derive(Debug, thiserror::Error)]
pub enum Rejected {
    /// The manifest cannot be read or parsed.
    #[error("cannot read the manifest: {0}")]
    Read(String),
    /// A section only a restart applies changed.
    #[error(
        "[{0}] changed: it applies only at start; restart `warden serve` to apply it (the old catalog keeps serving)"
    )]
    RestartOnly(&'static str),
    /// The manifest or a component has problems.
    #[error("{0}")]
    Prepare(#[from] crate::PrepareError),
    /// The new catalog does not match the lock.
    #[error("{0}")]
    Lock(#[from] lock::LockError),
}

impl Watch {
    /// Watches `manifest`, served with `policy` (the one the server starts with).
    ///
    /// # Errors
    /// The manifest cannot be read again.
    pub fn new(manifest: &Path, policy: &Policy, cache: Option<PathBuf>) -> Result<Self, Rejected> {
        let fixed = restart_only(manifest)?;
        let files = watched(manifest, policy);
        let seen = stamps(&files);
        Ok(Watch {
            manifest: manifest.to_path_buf(),
            cache,
            fixed,
            files,
            seen,
        })
    }

    /// Watches until the process ends: each settled change is one attempt to reload what
    /// `warden` serves, audited in `audit`.
    pub async fn run(mut self, warden: Warden, audit: Arc<AuditLog>) {
        loop {
            tokio::time::sleep(POLL).await;
            let mut now = stamps(&self.files);
            if now == self.seen {
                continue;
            }
            // Wait until the files stop changing (a copy in progress, an editor's save).
            loop {
                tokio::time::sleep(POLL).await;
                let again = stamps(&self.files);
                if again == now {
                    break;
                }
                now = again;
            }
            self.seen = now;
            self.attempt(&warden, &audit).await;
        }
    }

    /// Reloads, or refuses to, and says which in the log and the audit log.
    async fn attempt(&mut self, warden: &Warden, audit: &AuditLog) {
        let manifest = self.manifest.clone();
        let fixed = self.fixed.clone();
        let cache = self.cache.clone();
        let prepared =
            tokio::task::spawn_blocking(move || prepare(&manifest, cache.as_deref(), &fixed)).await;
        let prepared = match prepared {
            Ok(result) => result,
            Err(join) => {
                tracing::error!(error = %join, "the reload task failed");
                return;
            }
        };
        match prepared {
            Ok(prepared) => {
                for warning in &prepared.warnings {
                    tracing::warn!("{warning}");
                }
                self.files = watched(&self.manifest, &prepared.policy);
                self.seen = stamps(&self.files);
                let tools = prepared.catalog.tools().count();
                let changed = warden
                    .reload(Served {
                        catalog: prepared.catalog,
                        prompts: prepared.prompts,
                        sandbox: prepared.sandbox,
                        resources: prepared.resources,
                    })
                    .await;
                let summary = format!(
                    "the lock approves the change: now serving {tools} tool(s); tool list changed: {}, prompt list changed: {}",
                    changed.tools, changed.prompts
                );
                tracing::info!(manifest = %self.manifest.display(), "catalog reloaded: {summary}");
                self.audit(audit, Outcome::Reloaded, summary);
            }
            Err(rejected) => {
                tracing::warn!(
                    target: "warden::audit",
                    manifest = %self.manifest.display(),
                    "security event: a change to the catalog was refused; the old catalog keeps serving:\n{rejected}"
                );
                self.audit(audit, Outcome::ReloadRejected, rejected.to_string());
            }
        }
    }

    /// Writes the audit record of a reload attempt: the operator's, over no transport.
    fn audit(&self, audit: &AuditLog, outcome: Outcome, reason: String) {
        let mut record = Record::new(
            &crate::audit::correlation_id(None),
            "operator",
            "watch",
            &self.manifest.display().to_string(),
            outcome,
        );
        record.reason = Some(reason);
        audit.record(record);
    }
}

/// Loads the manifest again and checks it against what the running server can take.
fn prepare(
    manifest: &Path,
    cache: Option<&Path>,
    fixed: &[Option<toml::Value>],
) -> Result<crate::Prepared, Rejected> {
    let now = restart_only(manifest)?;
    if let Some(index) = (0..RESTART_ONLY.len()).find(|&i| now[i] != fixed[i]) {
        return Err(Rejected::RestartOnly(RESTART_ONLY[index]));
    }
    let prepared = crate::prepare(manifest, cache)?;
    let lock = Lock::compute(&prepared.policy, &prepared.catalog, &prepared.resources);
    lock::verify(manifest, &lock, true)?;
    Ok(prepared)
}

/// The restart-only sections of the manifest, in [`RESTART_ONLY`] order.
fn restart_only(manifest: &Path) -> Result<Vec<Option<toml::Value>>, Rejected> {
    let text = std::fs::read_to_string(manifest)
        .map_err(|error| Rejected::Read(format!("{}: {error}", manifest.display())))?;
    let mut table: toml::Table = text
        .parse()
        .map_err(|error: toml::de::Error| Rejected::Read(error.message().to_string()))?;
    Ok(RESTART_ONLY
        .iter()
        .map(|section| table.remove(*section))
        .collect())
}

/// The files a served catalog is made of.
fn watched(manifest: &Path, policy: &Policy) -> Vec<PathBuf> {
    let mut files = vec![manifest.to_path_buf(), lock::lock_path(manifest)];
    for component in &policy.components {
        files.push(component.source.value.clone());
        files.extend(component.signature.as_ref().map(|file| file.value.clone()));
    }
    files.extend(policy.prompts.values().map(|(file, _)| file.value.clone()));
    files
}

/// Stamps each of `files`.
fn stamps(files: &[PathBuf]) -> Vec<Stamp> {
    use std::os::unix::fs::MetadataExt;
    files
        .iter()
        .map(|file| {
            Stamp(std::fs::metadata(file).ok().map(|metadata| {
                let modified = metadata.modified().unwrap_or(SystemTime::UNIX_EPOCH);
                (metadata.len(), modified, metadata.ino())
            }))
        })
        .collect()
}
