//! The lock file: the catalog an operator approved — every component's digest and grants,
//! every tool as a client or model sees it, every prompt file's digest — and the diff between
//! it and the catalog a manifest loads now.
//!
//! Only the host reads and writes it: [`Lock::compute`] derives it from a prepared manifest,
//! [`Lock::to_toml`] and [`Lock::parse`] carry it to and from `<manifest>.lock`, and
//! [`Lock::diff`] says, change by change, what differs.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::catalog::{Catalog, Hints, Tool};
use crate::digest::Sha256Digest;
use crate::grants::Access;
use crate::policy::{Grants, Policy, Secret};
use crate::resources::{ResourceServer, Resources};
use crate::units::format_duration;

/// The format version this host writes and reads.
pub const LOCK_VERSION: u32 = 1;

/// The lock file of `manifest`: beside it, with the extension `.lock` (`warden.toml` →
/// `warden.lock`).
pub fn lock_path(manifest: &Path) -> PathBuf {
    manifest.with_extension("lock")
}

/// The approved catalog.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lock {
    /// The format version, [`LOCK_VERSION`].
    pub version: u32,
    /// Components by id.
    #[serde(default)]
    pub components: BTreeMap<String, LockedComponent>,
    /// Tools by MCP name.
    #[serde(default)]
    pub tools: BTreeMap<String, LockedTool>,
    /// Prompts by name.
    #[serde(default)]
    pub prompts: BTreeMap<String, LockedPrompt>,
}

/// A component: its digest and its grants, in a fixed order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockedComponent {
    /// The sha256 of its bytes.
    pub sha256: String,
    /// Granted directories, as `"<guest> <access> from <host>"`, by guest path.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dirs: Vec<String>,
    /// Granted HTTP destinations, sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hosts: Vec<String>,
    /// Granted secrets, each as `"<name> for <host>, <host>"` (the only destinations its
    /// value may be sent to), sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<String>,
    /// Its resource namespaces (what it serves, and the only URIs its results may embed),
    /// sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<String>,
    /// Whether its tools may ask the human questions.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub elicitation: bool,
    /// Bounds on outgoing HTTP requests.
    pub http: LockedHttp,
    /// The environment it sees (plain config, never secrets).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    /// Its resource templates as clients see them, by URI template.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub resource_templates: BTreeMap<String, LockedTemplate>,
}

/// A resource template as clients see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockedTemplate {
    /// Its name.
    pub name: String,
    /// Its title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Its description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Its MIME type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
}

/// A component's `http` limits, written as in the manifest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockedHttp {
    /// `connect_timeout`.
    pub connect_timeout: String,
    /// `first_byte_timeout`.
    pub first_byte_timeout: String,
    /// `between_bytes_timeout`.
    pub between_bytes_timeout: String,
    /// `max_response_bytes`.
    pub max_response_bytes: String,
}

impl fmt::Display for LockedHttp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "connect {}, first byte {}, between bytes {}, response {}",
            self.connect_timeout,
            self.first_byte_timeout,
            self.between_bytes_timeout,
            self.max_response_bytes
        )
    }
}

/// A tool as a client or model sees it: readable parts, and one hash over all of them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockedTool {
    /// The component it belongs to.
    pub component: String,
    /// The sha256 of the canonical JSON of its name, description, schemas, annotations,
    /// `confirm` and (when set) `requires`.
    pub sha256: String,
    /// The description shown to clients.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The sha256 of the canonical JSON of its input schema.
    pub input_schema: String,
    /// The sha256 of the canonical JSON of its output schema, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_schema: Option<String>,
    /// The annotations that are true (`readOnlyHint`, `destructiveHint`, `idempotentHint`,
    /// `openWorldHint`); the others are false.
    pub annotations: Vec<String>,
    /// Whether each call asks the human first.
    pub confirm: bool,
    /// The client capabilities a caller must have declared (`requires`), when any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub requires: Vec<String>,
}

/// A prompt: its file's digest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockedPrompt {
    /// The sha256 of the prompt file.
    pub sha256: String,
}

/// Why the lock cannot be read, written or accepted.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// The lock file exists but cannot be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The lock file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The lock file cannot be written.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        /// The lock file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The lock file is not a lock of this format.
    #[error(
        "{} is not a valid lock file: {reason}\n  help: if the catalog is as you intend (`warden check --manifest {}`), regenerate it: warden lock --manifest {}",
        path.display(), manifest.display(), manifest.display()
    )]
    Parse {
        /// The lock file.
        path: PathBuf,
        /// The manifest it locks.
        manifest: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// `--locked`, and there is no lock file.
    #[error(
        "no lock file {} (--locked requires one)\n  help: review the catalog (`warden check --manifest {}`), then approve it: warden lock --manifest {}",
        path.display(), manifest.display(), manifest.display()
    )]
    Missing {
        /// The lock file.
        path: PathBuf,
        /// The manifest it locks.
        manifest: PathBuf,
    },
    /// The catalog differs from the lock.
    #[error(
        "the catalog of {} differs from {} ({} change(s)); refusing to start:\n{}  help: review the changes; if you accept them, update the lock: warden lock --manifest {}",
        manifest.display(), path.display(), changes.len(), render(changes), manifest.display()
    )]
    Drift {
        /// The lock file.
        path: PathBuf,
        /// The manifest it locks.
        manifest: PathBuf,
        /// What differs.
        changes: Vec<Change>,
    },
}

/// One difference between the lock and the current catalog.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    /// What changed: ``component `echo` ``, ``tool `echo_echo` ``, ``prompt `review` ``.
    pub subject: String,
    /// How, old → new; may hold further indented lines.
    pub what: String,
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.subject, self.what)
    }
}

/// The changes, one per line (continuation lines indented further).
pub fn render(changes: &[Change]) -> String {
    changes
        .iter()
        .map(|change| format!("  {change}\n"))
        .collect()
}

/// Whether a lock was found and matched.
#[derive(Debug, PartialEq, Eq)]
pub enum Verified {
    /// The catalog is the one locked.
    Matches,
    /// There is no lock file (at this path), and none was required.
    Missing(PathBuf),
}

impl Lock {
    /// The lock of a loaded catalog and the resources its components serve.
    pub fn compute(policy: &Policy, catalog: &Catalog, resources: &Resources) -> Lock {
        let base = policy
            .file
            .parent()
            .filter(|parent| !parent.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let base = std::fs::canonicalize(base).unwrap_or_else(|_| base.to_path_buf());
        let components = policy
            .components
            .iter()
            .map(|component| {
                let mut locked = locked_component(
                    &component.sha256.value,
                    &component.grants,
                    &policy.secrets,
                    &base,
                );
                let namespaces: BTreeSet<String> = component
                    .resources
                    .iter()
                    .map(|namespace| namespace.value.to_string())
                    .collect();
                locked.resources = namespaces.into_iter().collect();
                if let Some(server) = resources
                    .servers()
                    .find(|server| server.component == component.id)
                {
                    locked_templates(server, &mut locked);
                }
                (component.id.as_str().to_string(), locked)
            })
            .collect();
        let tools = catalog
            .tools()
            .map(|tool| (tool.name.to_string(), locked_tool(tool)))
            .collect();
        let prompts = policy
            .prompts
            .iter()
            .map(|(name, (_, sha256))| {
                let sha256 = sha256.value.to_string();
                (name.clone(), LockedPrompt { sha256 })
            })
            .collect();
        Lock {
            version: LOCK_VERSION,
            components,
            tools,
            prompts,
        }
    }

    /// Parses a lock file's text.
    ///
    /// # Errors
    /// The text is not TOML of this format, or of another version.
    pub fn parse(text: &str) -> Result<Lock, String> {
        let lock: Lock = toml::from_str(text).map_err(|e| e.to_string().trim().to_string())?;
        if lock.version != LOCK_VERSION {
            return Err(format!(
                "it has version {}; this warden reads version {LOCK_VERSION}",
                lock.version
            ));
        }
        Ok(lock)
    }

    /// The lock file's text: a header saying what it is and how to update it, then the lock.
    /// The same catalog always gives the same text.
    pub fn to_toml(&self, manifest: &Path) -> String {
        let name = manifest
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default();
        let body = toml::to_string_pretty(self).expect("a lock is always TOML");
        format!(
            "# The catalog approved for {name}: each component's sha256 and grants, each tool as clients\n\
             # and models see it (description, and a sha256 of its name, description, schemas,\n\
             # annotations and confirm), each component's resource namespaces and templates, each\n\
             # prompt file's sha256. `warden serve` refuses to start\n\
             # when the manifest loads anything else. Do not edit: review a change, then update this\n\
             # file with `warden lock --manifest {name}`, and review its diff.\n\n{body}"
        )
    }

    /// What differs from `self` (the lock) to `now` (the current catalog), in a fixed order:
    /// components, tools, prompts.
    pub fn diff(&self, now: &Lock) -> Vec<Change> {
        let mut changes = Vec::new();
        each(&self.components, &now.components, |name, old, new| {
            let subject = format!("component `{name}`");
            match (old, new) {
                (None, Some(new)) => changes.push(Change {
                    subject,
                    what: format!(
                        "added (sha256 {}){}{}",
                        new.sha256,
                        if new.resources.is_empty() {
                            String::new()
                        } else {
                            format!(", serving resources {}", new.resources.join(", "))
                        },
                        new.resource_templates
                            .keys()
                            .map(|uri| format!("\n      resource template: {uri}"))
                            .collect::<String>()
                    ),
                }),
                (Some(_), None) => changes.push(Change {
                    subject,
                    what: "removed".into(),
                }),
                (Some(old), Some(new)) => component_changes(&subject, old, new, &mut changes),
                (None, None) => {}
            }
        });
        each(&self.tools, &now.tools, |name, old, new| {
            let subject = format!("tool `{name}`");
            match (old, new) {
                (None, Some(new)) => changes.push(Change {
                    subject,
                    what: format!(
                        "added (component `{}`){}",
                        new.component,
                        described("description", new.description.as_deref())
                    ),
                }),
                (Some(old), None) => changes.push(Change {
                    subject,
                    what: format!("removed (component `{}`)", old.component),
                }),
                (Some(old), Some(new)) => tool_changes(&subject, old, new, &mut changes),
                (None, None) => {}
            }
        });
        each(&self.prompts, &now.prompts, |name, old, new| {
            let subject = format!("prompt `{name}`");
            let what = match (old, new) {
                (None, Some(new)) => format!("added (sha256 {})", new.sha256),
                (Some(_), None) => "removed".into(),
                (Some(old), Some(new)) if old != new => {
                    format!("file changed: sha256 {} → {}", old.sha256, new.sha256)
                }
                _ => return,
            };
            changes.push(Change { subject, what });
        });
        changes
    }
}

/// Checks the current catalog against the lock beside `manifest`.
///
/// # Errors
/// The lock differs (every change listed), cannot be read, or is missing and `required`.
pub fn verify(manifest: &Path, now: &Lock, required: bool) -> Result<Verified, LockError> {
    let path = lock_path(manifest);
    let Some(locked) = read(manifest)? else {
        if required {
            return Err(LockError::Missing {
                path,
                manifest: manifest.to_path_buf(),
            });
        }
        return Ok(Verified::Missing(path));
    };
    let changes = locked.diff(now);
    if changes.is_empty() {
        Ok(Verified::Matches)
    } else {
        Err(LockError::Drift {
            path,
            manifest: manifest.to_path_buf(),
            changes,
        })
    }
}

/// Writes `now` as the lock of `manifest`; returns the lock file and what changed from the
/// lock it replaces (`None` when there was none, or it was unreadable).
///
/// # Errors
/// The file cannot be written.
pub fn write(manifest: &Path, now: &Lock) -> Result<(PathBuf, Option<Vec<Change>>), LockError> {
    let path = lock_path(manifest);
    let changes = read(manifest).ok().flatten().map(|before| before.diff(now));
    let text = now.to_toml(manifest);
    let temporary = path.with_extension("lock.tmp");
    std::fs::write(&temporary, text)
        .and_then(|()| std::fs::rename(&temporary, &path))
        .map_err(|source| LockError::Write {
            path: path.clone(),
            source,
        })?;
    Ok((path, changes))
}

/// The lock beside `manifest`, if there is one.
fn read(manifest: &Path) -> Result<Option<Lock>, LockError> {
    let path = lock_path(manifest);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(LockError::Read { path, source }),
    };
    Lock::parse(&text)
        .map(Some)
        .map_err(|reason| LockError::Parse {
            path,
            manifest: manifest.to_path_buf(),
            reason,
        })
}

fn locked_component(
    sha256: &Sha256Digest,
    grants: &Grants,
    secrets: &BTreeMap<String, Secret>,
    base: &Path,
) -> LockedComponent {
    let mut dirs: Vec<String> = grants
        .dirs
        .iter()
        .map(|dir| {
            let host = dir.host.strip_prefix(base).unwrap_or(&dir.host);
            let host = if host.as_os_str().is_empty() {
                Path::new(".")
            } else {
                host
            };
            let access = match dir.access {
                Access::ReadOnly => "read-only",
                Access::ReadWrite => "read-write",
            };
            format!("{} {access} from {}", dir.guest, host.display())
        })
        .collect();
    dirs.sort();
    let hosts: BTreeSet<String> = grants.hosts.iter().map(ToString::to_string).collect();
    // A secret's hosts decide where its plaintext may go: widening them is drift too.
    let secrets: BTreeSet<String> = grants
        .secrets
        .iter()
        .map(|name| {
            let mut hosts: Vec<String> = secrets
                .get(name)
                .map(|secret| secret.hosts.iter().map(ToString::to_string).collect())
                .unwrap_or_default();
            hosts.sort();
            format!("{name} for {}", hosts.join(", "))
        })
        .collect();
    LockedComponent {
        sha256: sha256.to_string(),
        dirs,
        hosts: hosts.into_iter().collect(),
        secrets: secrets.into_iter().collect(),
        http: LockedHttp {
            connect_timeout: format_duration(grants.http.connect_timeout),
            first_byte_timeout: format_duration(grants.http.first_byte_timeout),
            between_bytes_timeout: format_duration(grants.http.between_bytes_timeout),
            max_response_bytes: grants.http.max_response_bytes.to_string(),
        },
        env: grants.env.iter().cloned().collect(),
        elicitation: grants.elicitation,
        resources: Vec::new(),
        resource_templates: BTreeMap::new(),
    }
}

/// Adds the templates of a component that serves resources to its lock entry.
fn locked_templates(server: &ResourceServer, locked: &mut LockedComponent) {
    locked.resource_templates = server
        .templates
        .iter()
        .map(|template| {
            (
                template.uri_template.clone(),
                LockedTemplate {
                    name: template.name.clone(),
                    title: template.title.clone(),
                    description: template.description.clone(),
                    mime_type: template.mime_type.clone(),
                },
            )
        })
        .collect();
}

fn locked_tool(tool: &Tool) -> LockedTool {
    let input = Value::Object((*tool.input_schema).clone());
    let output = tool
        .output_schema
        .as_ref()
        .map(|schema| Value::Object((**schema).clone()));
    let seen = json!({
        "name": &*tool.name,
        "description": tool.description,
        "inputSchema": input,
        "outputSchema": output,
        "annotations": {
            "readOnlyHint": tool.hints.read_only,
            "destructiveHint": tool.hints.destructive,
            "idempotentHint": tool.hints.idempotent,
            "openWorldHint": tool.hints.open_world,
        },
        "confirm": tool.confirm,
    });
    let requires: Vec<String> = tool
        .requires
        .iter()
        .map(|capability| capability.as_str().to_string())
        .collect();
    let mut seen = seen;
    // Only when set, so that the hash of a tool without `requires` is what it always was.
    if !requires.is_empty() {
        seen["requires"] = json!(requires);
    }
    LockedTool {
        component: tool.component.as_str().to_string(),
        sha256: hash(&seen),
        description: tool.description.clone(),
        input_schema: hash(&input),
        output_schema: output.as_ref().map(hash),
        annotations: annotations(tool.hints),
        confirm: tool.confirm,
        requires,
    }
}

fn annotations(hints: Hints) -> Vec<String> {
    [
        ("readOnlyHint", hints.read_only),
        ("destructiveHint", hints.destructive),
        ("idempotentHint", hints.idempotent),
        ("openWorldHint", hints.open_world),
    ]
    .into_iter()
    .filter(|(_, on)| *on)
    .map(|(name, _)| name.to_string())
    .collect()
}

/// The sha256 of `value` as canonical JSON: object keys sorted at every depth, no spaces.
pub fn hash(value: &Value) -> String {
    let text = canonical(value).to_string();
    Sha256Digest::of(text.as_bytes()).to_string()
}

/// `value` with every object's keys in sorted order (serde_json keeps insertion order here).
fn canonical(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let sorted: Map<String, Value> = keys
                .into_iter()
                .map(|key| (key.clone(), canonical(&map[key])))
                .collect();
            Value::Object(sorted)
        }
        Value::Array(items) => Value::Array(items.iter().map(canonical).collect()),
        other => other.clone(),
    }
}

/// Calls `f` for every key of either map, in key order.
fn each<T>(
    old: &BTreeMap<String, T>,
    new: &BTreeMap<String, T>,
    mut f: impl FnMut(&str, Option<&T>, Option<&T>),
) {
    let keys: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    for key in keys {
        f(key, old.get(key), new.get(key));
    }
}

fn component_changes(
    subject: &str,
    old: &LockedComponent,
    new: &LockedComponent,
    changes: &mut Vec<Change>,
) {
    let mut push = |what: String| {
        changes.push(Change {
            subject: subject.to_string(),
            what,
        });
    };
    if old.sha256 != new.sha256 {
        push(format!(
            "binary changed: sha256 {} → {}",
            old.sha256, new.sha256
        ));
    }
    for (grant, old, new) in [
        ("dirs", &old.dirs, &new.dirs),
        ("hosts", &old.hosts, &new.hosts),
        ("secrets", &old.secrets, &new.secrets),
    ] {
        if let Some(what) = list_change(grant, old, new) {
            push(what);
        }
    }
    let old_env: Vec<String> = old.env.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let new_env: Vec<String> = new.env.iter().map(|(k, v)| format!("{k}={v}")).collect();
    if let Some(what) = list_change("env", &old_env, &new_env) {
        push(what);
    }
    if old.http != new.http {
        push(format!("http limits: {} → {}", old.http, new.http));
    }
    if old.elicitation != new.elicitation {
        push(format!(
            "elicitation: {} → {}",
            old.elicitation, new.elicitation
        ));
    }
    if let Some(what) = list_change("resources", &old.resources, &new.resources) {
        push(what);
    }
    each(
        &old.resource_templates,
        &new.resource_templates,
        |uri, old, new| match (old, new) {
            (None, Some(new)) => push(format!(
                "resource template `{uri}` added{}",
                described("description", new.description.as_deref())
            )),
            (Some(_), None) => push(format!("resource template `{uri}` removed")),
            (Some(old), Some(new)) if old != new => push(format!(
                "resource template `{uri}` changed: name {:?} → {:?}, title {:?} → {:?}, MIME type {:?} → {:?}{}{}",
                old.name,
                new.name,
                old.title,
                new.title,
                old.mime_type,
                new.mime_type,
                described("old description", old.description.as_deref()),
                described("new description", new.description.as_deref())
            )),
            _ => {}
        },
    );
}

/// `"<grant>: added a, b; removed c"`, or `None` when the lists hold the same items.
fn list_change(grant: &str, old: &[String], new: &[String]) -> Option<String> {
    let added: Vec<&str> = new
        .iter()
        .filter(|item| !old.contains(item))
        .map(String::as_str)
        .collect();
    let removed: Vec<&str> = old
        .iter()
        .filter(|item| !new.contains(item))
        .map(String::as_str)
        .collect();
    let mut parts = Vec::new();
    if !added.is_empty() {
        parts.push(format!("added {}", added.join(", ")));
    }
    if !removed.is_empty() {
        parts.push(format!("removed {}", removed.join(", ")));
    }
    (!parts.is_empty()).then(|| format!("{grant}: {}", parts.join("; ")))
}

fn tool_changes(subject: &str, old: &LockedTool, new: &LockedTool, changes: &mut Vec<Change>) {
    let before = changes.len();
    let mut push = |what: String| {
        changes.push(Change {
            subject: subject.to_string(),
            what,
        });
    };
    if old.component != new.component {
        push(format!(
            "component `{}` → `{}`",
            old.component, new.component
        ));
    }
    if old.description != new.description {
        push(format!(
            "description changed{}{}",
            described("old", old.description.as_deref()),
            described("new", new.description.as_deref())
        ));
    }
    if old.input_schema != new.input_schema {
        push(format!(
            "input schema changed: sha256 {} → {} (`warden inspect` shows the new one)",
            old.input_schema, new.input_schema
        ));
    }
    match (&old.output_schema, &new.output_schema) {
        (None, Some(_)) => push("output schema added".into()),
        (Some(_), None) => push("output schema removed".into()),
        (Some(old), Some(new)) if old != new => push(format!(
            "output schema changed: sha256 {old} → {new} (`warden inspect` shows the new one)"
        )),
        _ => {}
    }
    if old.annotations != new.annotations {
        push(format!(
            "annotations: [{}] → [{}]",
            old.annotations.join(", "),
            new.annotations.join(", ")
        ));
    }
    if old.confirm != new.confirm {
        push(format!("confirm: {} → {}", old.confirm, new.confirm));
    }
    if old.requires != new.requires {
        push(format!(
            "requires: [{}] → [{}]",
            old.requires.join(", "),
            new.requires.join(", ")
        ));
    }
    if changes.len() == before && old.sha256 != new.sha256 {
        changes.push(Change {
            subject: subject.to_string(),
            what: format!(
                "what clients see changed: sha256 {} → {} (was the lock edited by hand?)",
                old.sha256, new.sha256
            ),
        });
    }
}

/// `"\n      <label>: <text>"`, indenting further lines; `(none)` when there is no text.
fn described(label: &str, text: Option<&str>) -> String {
    let text = text.unwrap_or("(none)").replace('\n', "\n        ");
    format!("\n      {label}: {text}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn component(sha: &str) -> LockedComponent {
        LockedComponent {
            sha256: sha.repeat(64),
            dirs: vec!["/notes read-only from examples/notes".into()],
            hosts: vec!["https://example.org".into()],
            secrets: Vec::new(),
            elicitation: false,
            http: LockedHttp {
                connect_timeout: "5s".into(),
                first_byte_timeout: "10s".into(),
                between_bytes_timeout: "10s".into(),
                max_response_bytes: "4 MiB".into(),
            },
            env: BTreeMap::from([("MODE".to_string(), "fast".to_string())]),
            resources: Vec::new(),
            resource_templates: BTreeMap::new(),
        }
    }

    #[test]
    fn resource_namespaces_and_templates_drift_with_a_readable_diff() {
        let template = |description: &str| LockedTemplate {
            name: "note".into(),
            title: None,
            description: Some(description.into()),
            mime_type: Some("text/markdown".into()),
        };
        let mut old = component("a");
        old.resources = vec!["notes://*".into()];
        old.resource_templates =
            BTreeMap::from([("notes://{path}".to_string(), template("A note."))]);
        let mut new = old.clone();
        new.resources = vec!["notes://*".into(), "secrets://*".into()];
        new.resource_templates = BTreeMap::from([
            (
                "notes://{path}".to_string(),
                template("A note; also read secrets://"),
            ),
            ("notes://x/{id}".to_string(), template("X.")),
        ]);
        let mut changes = Vec::new();
        component_changes("component `notes`", &old, &new, &mut changes);
        let text = render(&changes);
        assert!(text.contains("resources: added secrets://*"), "{text}");
        assert!(
            text.contains("resource template `notes://x/{id}` added"),
            "{text}"
        );
        assert!(
            text.contains(
                "old description: A note.\n      new description: A note; also read secrets://"
            ),
            "{text}"
        );
        assert_eq!(changes.len(), 3, "{text}");
    }

    fn tool(description: &str) -> LockedTool {
        LockedTool {
            component: "echo".into(),
            sha256: hash(&json!({ "d": description })),
            description: Some(description.into()),
            input_schema: "1".repeat(64),
            output_schema: Some("2".repeat(64)),
            annotations: vec!["readOnlyHint".into()],
            confirm: false,
            requires: Vec::new(),
        }
    }

    fn lock() -> Lock {
        Lock {
            version: LOCK_VERSION,
            components: BTreeMap::from([("echo".to_string(), component("a"))]),
            tools: BTreeMap::from([("echo_echo".to_string(), tool("Say it \"back\".\nTwice."))]),
            prompts: BTreeMap::from([(
                "review".to_string(),
                LockedPrompt {
                    sha256: "c".repeat(64),
                },
            )]),
        }
    }

    #[test]
    fn round_trips_with_a_header() {
        let lock = lock();
        let text = lock.to_toml(Path::new("/srv/warden.toml"));
        assert!(
            text.starts_with("# The catalog approved for warden.toml"),
            "{text}"
        );
        assert!(
            text.contains("`warden lock --manifest warden.toml`"),
            "{text}"
        );
        assert_eq!(Lock::parse(&text).unwrap(), lock);
        assert_eq!(
            text,
            Lock::parse(&text)
                .unwrap()
                .to_toml(Path::new("warden.toml"))
        );
        assert!(lock.diff(&lock).is_empty());
    }

    #[test]
    fn refuses_unknown_keys_and_other_versions() {
        let text = lock().to_toml(Path::new("warden.toml"));
        let typo = text.replace("confirm = false", "confirm = false\nconfrim = true");
        assert!(Lock::parse(&typo).unwrap_err().contains("confrim"));
        let future = text.replace("version = 1", "version = 2");
        assert!(Lock::parse(&future).unwrap_err().contains("version 2"));
    }

    #[test]
    fn canonical_hash_ignores_key_order() {
        let a: Value =
            serde_json::from_str(r#"{"b":1,"a":{"y":[1,{"q":1,"p":2}],"x":2}}"#).unwrap();
        let b: Value =
            serde_json::from_str(r#"{"a":{"x":2,"y":[1,{"p":2,"q":1}]},"b":1}"#).unwrap();
        assert_eq!(hash(&a), hash(&b));
        assert_ne!(hash(&a), hash(&json!({"b": 2})));
    }

    #[test]
    fn renders_each_kind_of_change() {
        let old = lock();
        let mut new = lock();
        let echo = new.components.get_mut("echo").unwrap();
        echo.sha256 = "b".repeat(64);
        echo.dirs.push("/data read-write from data".into());
        echo.hosts.clear();
        echo.env.insert("MODE".into(), "slow".into());
        echo.secrets.push("db for https://db.example.org".into());
        echo.elicitation = true;
        echo.http.connect_timeout = "2s".into();
        let tool = new.tools.get_mut("echo_echo").unwrap();
        tool.description = Some("Say it.".into());
        tool.input_schema = "3".repeat(64);
        tool.output_schema = None;
        tool.annotations = vec!["destructiveHint".into(), "openWorldHint".into()];
        tool.confirm = true;
        new.tools.insert("echo_new".into(), self::tool("New."));
        new.prompts.get_mut("review").unwrap().sha256 = "d".repeat(64);
        new.prompts.insert(
            "other".into(),
            LockedPrompt {
                sha256: "e".repeat(64),
            },
        );

        let text = render(&old.diff(&new));
        let expected = format!(
            "  component `echo`: binary changed: sha256 {} → {}\n\
             \x20 component `echo`: dirs: added /data read-write from data\n\
             \x20 component `echo`: hosts: removed https://example.org\n\
             \x20 component `echo`: secrets: added db for https://db.example.org\n\
             \x20 component `echo`: env: added MODE=slow; removed MODE=fast\n\
             \x20 component `echo`: http limits: connect 5s, first byte 10s, between bytes 10s, response 4 MiB → connect 2s, first byte 10s, between bytes 10s, response 4 MiB\n\
             \x20 component `echo`: elicitation: false → true\n\
             \x20 tool `echo_echo`: description changed\n      old: Say it \"back\".\n        Twice.\n      new: Say it.\n\
             \x20 tool `echo_echo`: input schema changed: sha256 {} → {} (`warden inspect` shows the new one)\n\
             \x20 tool `echo_echo`: output schema removed\n\
             \x20 tool `echo_echo`: annotations: [readOnlyHint] → [destructiveHint, openWorldHint]\n\
             \x20 tool `echo_echo`: confirm: false → true\n\
             \x20 tool `echo_new`: added (component `echo`)\n      description: New.\n\
             \x20 prompt `other`: added (sha256 {})\n\
             \x20 prompt `review`: file changed: sha256 {} → {}\n",
            "a".repeat(64),
            "b".repeat(64),
            "1".repeat(64),
            "3".repeat(64),
            "e".repeat(64),
            "c".repeat(64),
            "d".repeat(64),
        );
        assert_eq!(text, expected);

        let removed = render(&new.diff(&Lock::default()));
        assert!(
            removed.contains("  component `echo`: removed\n"),
            "{removed}"
        );
        assert!(
            removed.contains("  tool `echo_new`: removed (component `echo`)\n"),
            "{removed}"
        );
        assert!(
            removed.contains("  prompt `review`: removed\n"),
            "{removed}"
        );
    }

    #[test]
    fn a_hash_alone_that_differs_is_still_drift() {
        let old = lock();
        let mut new = lock();
        new.tools.get_mut("echo_echo").unwrap().sha256 = "f".repeat(64);
        let changes = old.diff(&new);
        assert_eq!(changes.len(), 1);
        assert!(changes[0].what.contains("was the lock edited by hand?"));
    }
}
