//! Turns the raw manifest into typed settings: limits, pinned sources and per-tool settings.
//!
//! Every problem is collected, so that `warden check` can report them all at once.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;

use crate::digest::Sha256Digest;
use crate::grants::{Access, DirGrant, HostGrant};
use crate::manifest::{
    Diagnostic, Diagnostics, Located, RawComponent, RawHttp, RawLimits, RawManifest, RawSecret,
    RawTrust, SourceMap,
};
use crate::resources::Namespace;
use crate::signature::{Trust, TrustedKey};
use crate::units::{ByteSize, format_duration, parse_duration};

/// Default for `server.max_concurrent_calls`.
pub const DEFAULT_MAX_CONCURRENT_CALLS: usize = 64;
/// Default for `server.max_argument_bytes`.
pub const DEFAULT_MAX_ARGUMENT_BYTES: ByteSize = ByteSize(1 << 20);
/// Default for `server.max_output_bytes`.
pub const DEFAULT_MAX_OUTPUT_BYTES: ByteSize = ByteSize(4 << 20);
/// Default for `limits.fuel`.
pub const DEFAULT_FUEL: u64 = 2_000_000_000;
/// Default for `limits.memory`.
pub const DEFAULT_MEMORY: ByteSize = ByteSize(64 << 20);
/// Default for `limits.timeout`.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Everything the manifest decides, checked and typed.
#[derive(Clone, Debug)]
pub struct Policy {
    /// The manifest file, for later diagnostics.
    pub file: PathBuf,
    /// `[server]`.
    pub server: ServerSettings,
    /// The components, in id order.
    pub components: Vec<ComponentPolicy>,
    /// The secrets, by name.
    pub secrets: BTreeMap<String, Secret>,
    /// The pinned prompt files, by prompt name.
    pub prompts: BTreeMap<String, (Located<PathBuf>, Located<Sha256Digest>)>,
    /// Who may connect and what each may use.
    pub clients: crate::clients::Clients,
    /// `[audit]`.
    pub audit: crate::audit::AuditSettings,
    /// `[trust]`: the keys component signatures may be made with.
    pub trust: Trust,
    /// Problems worth a look that do not stop the start.
    pub warnings: Vec<String>,
}

/// A secret the host holds: its value never leaves the host except to its `hosts`.
#[derive(Clone, Debug)]
pub struct Secret {
    /// The value (zeroized on drop; `Debug` prints no value).
    pub value: SecretString,
    /// The only destinations the value may be sent to.
    pub hosts: Vec<HostGrant>,
}

/// Everything a component may touch beyond computing.
#[derive(Clone, Debug, Default)]
pub struct Grants {
    /// Preopened directories.
    pub dirs: Vec<DirGrant>,
    /// Destinations of outgoing HTTP requests.
    pub hosts: Vec<HostGrant>,
    /// Names of secrets it may use through handles.
    pub secrets: Vec<String>,
    /// Plain environment variables, in name order.
    pub env: Vec<(String, String)>,
    /// Bounds on outgoing requests.
    pub http: HttpLimits,
    /// Whether its tools may ask the human questions (`warden:tool/elicitation`).
    pub elicitation: bool,
}

impl Grants {
    /// Whether any granted directory is writable.
    pub fn writes_files(&self) -> bool {
        self.dirs.iter().any(|dir| dir.access == Access::ReadWrite)
    }
}

/// Bounds on a component's outgoing HTTP requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HttpLimits {
    /// Time to establish a connection.
    pub connect_timeout: Duration,
    /// Time to the first byte of the response.
    pub first_byte_timeout: Duration,
    /// Longest pause between response body chunks.
    pub between_bytes_timeout: Duration,
    /// Largest response body.
    pub max_response_bytes: ByteSize,
}

impl Default for HttpLimits {
    fn default() -> Self {
        HttpLimits {
            connect_timeout: Duration::from_secs(5),
            first_byte_timeout: Duration::from_secs(10),
            between_bytes_timeout: Duration::from_secs(10),
            max_response_bytes: ByteSize(4 << 20),
        }
    }
}

/// `[server]`, with defaults applied.
#[derive(Clone, Debug)]
pub struct ServerSettings {
    /// Sandboxes alive at once.
    pub max_concurrent_calls: usize,
    /// Largest `arguments` object a call may send, as JSON.
    pub max_argument_bytes: ByteSize,
    /// Largest result a call may return, as JSON.
    pub max_output_bytes: ByteSize,
    /// What a description-lint finding does.
    pub description_policy: DescriptionPolicy,
}

/// What a finding of the description lint does at load.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DescriptionPolicy {
    /// Refuse the start, listing every finding.
    #[default]
    Refuse,
    /// Start, with a warning per finding.
    Warn,
}

/// What instruction-like text in a component's output does.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OutputPolicy {
    /// Send it, with a note in `_meta` and a marker in the text.
    #[default]
    Annotate,
    /// Remove it (inside strings, so the schema still holds), with a note in `_meta`.
    Strip,
    /// Refuse the result: the call returns `isError: true`.
    Block,
}

/// What one call of a component may consume.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Wasm fuel (about one unit per instruction).
    pub fuel: u64,
    /// Total of all linear memories and tables.
    pub memory: ByteSize,
    /// Wall clock, including time blocked in host calls.
    pub timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            fuel: DEFAULT_FUEL,
            memory: DEFAULT_MEMORY,
            timeout: DEFAULT_TIMEOUT,
        }
    }
}

/// A component id: `[a-z][a-z0-9]*`, the prefix of its tools' names.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ComponentId(String);

impl ComponentId {
    /// Parses an id.
    ///
    /// # Errors
    /// A message saying what an id looks like.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut chars = text.chars();
        let valid = chars.next().is_some_and(|c| c.is_ascii_lowercase())
            && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
        if valid {
            Ok(ComponentId(text.to_string()))
        } else {
            Err(format!(
                "`{text}` is not a component id: it must start with a lowercase letter and hold only lowercase letters and digits (e.g. `echo`, `text2`)"
            ))
        }
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for ComponentId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// One `[components.<id>]`, checked.
#[derive(Clone, Debug)]
pub struct ComponentPolicy {
    /// The id.
    pub id: ComponentId,
    /// Where `[components.<id>]` is written.
    pub at: crate::manifest::Location,
    /// The component file, resolved against the manifest's folder.
    pub source: Located<PathBuf>,
    /// The pinned digest of the file.
    pub sha256: Located<Sha256Digest>,
    /// Its minisign signature file, resolved against the manifest's folder.
    pub signature: Option<Located<PathBuf>>,
    /// Its limits (defaults merged with its overrides).
    pub limits: Limits,
    /// What it may touch.
    pub grants: Arc<Grants>,
    /// What instruction-like text in its outputs does.
    pub output_policy: OutputPolicy,
    /// Per-tool settings, keyed by WIT function name or `<interface>.<function>`.
    pub tools: BTreeMap<String, Located<ToolSettings>>,
    /// The resource namespaces it serves (`resources`); no two components' overlap.
    pub resources: Vec<Located<Namespace>>,
}

/// `[components.<id>.tools.<function>]`, checked.
#[derive(Clone, Debug, Default)]
pub struct ToolSettings {
    /// Replaces the WIT description.
    pub description: Option<String>,
    /// Replaces the function part of the tool name (already with `-` turned into `_`).
    pub name: Option<Located<String>>,
    /// Overrides of the annotations derived from the grants.
    pub hints: HintOverrides,
    /// Tools of other components this tool's name may look like, on purpose.
    pub shadows_ok: Vec<String>,
    /// Per-client limits of this tool.
    pub limits: crate::clients::ToolLimits,
    /// Whether a call asks the human first; `None`: the tool's `destructiveHint`.
    pub confirm: Option<bool>,
    /// Parameters whose values (redacted) the audit log may show.
    pub log_params: Vec<String>,
    /// Client capabilities a caller must have declared (`requires`).
    pub requires: Vec<crate::requires::Capability>,
}

/// Operator overrides of a tool's annotations.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HintOverrides {
    /// `read_only`.
    pub read_only: Option<bool>,
    /// `destructive`.
    pub destructive: Option<bool>,
    /// `idempotent`.
    pub idempotent: Option<bool>,
    /// `open_world`.
    pub open_world: Option<bool>,
}

impl Policy {
    /// Checks `raw` (read from `map.file`) and resolves sources against the manifest's folder.
    ///
    /// # Errors
    /// Every invalid value, each with its location and a fix.
    pub fn from_raw(raw: RawManifest, map: &SourceMap) -> Result<Policy, Diagnostics> {
        let mut errors = Vec::new();
        let base = map.file.parent().unwrap_or(Path::new("."));

        let max_concurrent_calls = match raw.server.max_concurrent_calls {
            None => DEFAULT_MAX_CONCURRENT_CALLS,
            Some(n @ 1..=4096) => n as usize,
            Some(n) => {
                errors.push(map.diagnostic(
                    &["server", "max_concurrent_calls"],
                    format!("{n} is out of range"),
                    "use a number from 1 to 4096",
                ));
                DEFAULT_MAX_CONCURRENT_CALLS
            }
        };
        let max_argument_bytes = match raw.server.max_argument_bytes.as_deref() {
            None => DEFAULT_MAX_ARGUMENT_BYTES,
            Some(text) => match ByteSize::parse(text) {
                Ok(size) if (1 << 10..=64 << 20).contains(&size.bytes()) => size,
                Ok(size) => {
                    errors.push(map.diagnostic(
                        &["server", "max_argument_bytes"],
                        format!("{size} is out of range"),
                        "use a size from \"1 KiB\" to \"64 MiB\"",
                    ));
                    DEFAULT_MAX_ARGUMENT_BYTES
                }
                Err(message) => {
                    errors.push(map.diagnostic(
                        &["server", "max_argument_bytes"],
                        message,
                        "e.g. max_argument_bytes = \"1 MiB\"",
                    ));
                    DEFAULT_MAX_ARGUMENT_BYTES
                }
            },
        };

        let max_output_bytes = match raw.server.max_output_bytes.as_deref() {
            None => DEFAULT_MAX_OUTPUT_BYTES,
            Some(text) => match ByteSize::parse(text) {
                Ok(size) if (1 << 10..=256 << 20).contains(&size.bytes()) => size,
                Ok(size) => {
                    errors.push(map.diagnostic(
                        &["server", "max_output_bytes"],
                        format!("{size} is out of range"),
                        "use a size from \"1 KiB\" to \"256 MiB\"",
                    ));
                    DEFAULT_MAX_OUTPUT_BYTES
                }
                Err(message) => {
                    errors.push(map.diagnostic(
                        &["server", "max_output_bytes"],
                        message,
                        "e.g. max_output_bytes = \"4 MiB\"",
                    ));
                    DEFAULT_MAX_OUTPUT_BYTES
                }
            },
        };
        let description_policy = match raw.server.description_policy.as_deref() {
            None | Some("refuse") => DescriptionPolicy::Refuse,
            Some("warn") => DescriptionPolicy::Warn,
            Some(other) => {
                errors.push(map.diagnostic(
                    &["server", "description_policy"],
                    format!("`{other}` is not a description policy"),
                    "use \"refuse\" (the default) or \"warn\"",
                ));
                DescriptionPolicy::Refuse
            }
        };

        let audit = audit_settings(&raw.audit, base, map, &mut errors);
        let defaults = match &raw.defaults.limits {
            Some(limits) => merge_limits(
                Limits::default(),
                limits,
                &["defaults", "limits"],
                map,
                &mut errors,
            ),
            None => Limits::default(),
        };

        let mut warnings = Vec::new();
        let secrets = load_secrets(&raw.secrets, base, map, &mut errors, &mut warnings);
        let mut prompts = BTreeMap::new();
        for (name, pin) in &raw.prompts {
            let path = ["prompts", name.as_str()];
            let file = match &pin.file {
                Some(file) => Some(Located {
                    value: base.join(file),
                    at: map.locate(&["prompts", name.as_str(), "file"]),
                }),
                None => {
                    errors.push(map.diagnostic(
                        &path,
                        "missing key `file`",
                        "add file = \"prompts/<name>.toml\"",
                    ));
                    None
                }
            };
            let sha256 = pinned_digest(
                pin.sha256.as_deref(),
                &["prompts", name.as_str(), "sha256"],
                "prompt file",
                map,
                &mut errors,
            );
            if let (Some(file), Some(sha256)) = (file, sha256) {
                prompts.insert(name.clone(), (file, sha256));
            }
        }
        let clients = crate::clients::ClientsInput {
            clients: &raw.clients,
            stdio: &raw.stdio,
            http: &raw.http,
            oauth: raw.oauth.as_ref(),
            max_concurrent_calls,
            base,
        }
        .check(map, &mut errors);
        let trust = check_trust(&raw.trust, map, &mut errors);
        let mut components = Vec::new();
        for (id, component) in raw.components {
            let path = ["components", id.as_str()];
            let id = match ComponentId::parse(&id) {
                Ok(id) => id,
                Err(message) => {
                    errors.push(map.diagnostic(
                        &path,
                        message,
                        "rename the table, e.g. [components.echo]",
                    ));
                    continue;
                }
            };
            let limits = match &component.limits {
                Some(limits) => merge_limits(
                    defaults,
                    limits,
                    &["components", id.as_str(), "limits"],
                    map,
                    &mut errors,
                ),
                None => defaults,
            };
            let grants = component_grants(&id, &component, &raw.secrets, base, map, &mut errors);
            let output_policy = match component.output_policy.as_deref() {
                None | Some("annotate") => OutputPolicy::Annotate,
                Some("strip") => OutputPolicy::Strip,
                Some("block") => OutputPolicy::Block,
                Some(other) => {
                    errors.push(map.diagnostic(
                        &["components", id.as_str(), "output_policy"],
                        format!("`{other}` is not an output policy"),
                        "use \"annotate\" (the default), \"strip\" or \"block\"",
                    ));
                    OutputPolicy::Annotate
                }
            };
            let source = match component.source {
                Some(source) => Some(Located {
                    value: base.join(source),
                    at: map.locate(&["components", id.as_str(), "source"]),
                }),
                None => {
                    errors.push(map.diagnostic(
                        &["components", id.as_str(), "source"],
                        "missing key `source`",
                        format!(
                            "add `source = \"plugins/{id}.wasm\"`: the component file, relative to the manifest"
                        ),
                    ));
                    None
                }
            };
            let sha256 = pinned_digest(
                component.sha256.as_deref(),
                &["components", id.as_str(), "sha256"],
                "component",
                map,
                &mut errors,
            );
            let signature = component_signature(
                &id,
                component.signature.as_deref(),
                &trust,
                base,
                map,
                &mut errors,
            );
            let resources = resource_namespaces(&id, &component.resources, map, &mut errors);
            let mut tools = BTreeMap::new();
            for (key, tool) in component.tools {
                let tool_path = ["components", id.as_str(), "tools", key.as_str()];
                let name = match tool.name {
                    Some(name) => match check_tool_name(&name) {
                        Ok(name) => Some(Located {
                            value: name,
                            at: map.locate(&[&tool_path[..], &["name"]].concat()),
                        }),
                        Err(message) => {
                            errors.push(map.diagnostic(
                                &[&tool_path[..], &["name"]].concat(),
                                message,
                                "use letters, digits, `_` and `-` only, e.g. name = \"say\"",
                            ));
                            None
                        }
                    },
                    None => None,
                };
                let settings = ToolSettings {
                    description: tool.description,
                    name,
                    hints: HintOverrides {
                        read_only: tool.read_only,
                        destructive: tool.destructive,
                        idempotent: tool.idempotent,
                        open_world: tool.open_world,
                    },
                    shadows_ok: tool.shadows_ok,
                    limits: crate::clients::ToolLimits {
                        rate: crate::clients::rate_of(
                            &tool_path,
                            tool.rate.as_deref(),
                            tool.burst,
                            map,
                            &mut errors,
                        ),
                        max_concurrency: crate::clients::concurrency_of(
                            &tool_path,
                            tool.max_concurrency,
                            map,
                            &mut errors,
                        ),
                    },
                    confirm: tool.confirm,
                    log_params: tool.log_params,
                    requires: crate::requires::parse(&tool_path, &tool.requires, map, &mut errors),
                };
                let at = map.locate(&tool_path);
                tools.insert(
                    key,
                    Located {
                        value: settings,
                        at,
                    },
                );
            }
            if let (Some(source), Some(sha256)) = (source, sha256) {
                components.push(ComponentPolicy {
                    at: map.locate(&["components", id.as_str()]),
                    id,
                    source,
                    sha256,
                    signature,
                    limits,
                    grants: Arc::new(grants),
                    output_policy,
                    tools,
                    resources,
                });
            }
        }
        check_namespace_overlaps(&components, map, &mut errors);

        if errors.is_empty() {
            Ok(Policy {
                file: map.file.clone(),
                server: ServerSettings {
                    max_concurrent_calls,
                    max_argument_bytes,
                    max_output_bytes,
                    description_policy,
                },
                components,
                secrets,
                prompts,
                clients,
                audit,
                trust,
                warnings,
            })
        } else {
            Err(Diagnostics(errors).sorted())
        }
    }

    /// A diagnostic at `at` in this manifest.
    pub fn diagnostic(
        &self,
        at: &crate::manifest::Location,
        message: impl Into<String>,
        help: impl Into<String>,
    ) -> Diagnostic {
        Diagnostic::new(&self.file, at, message, help)
    }
}

/// Checks `[audit]`.
fn audit_settings(
    raw: &crate::manifest::RawAudit,
    base: &Path,
    map: &SourceMap,
    errors: &mut Vec<Diagnostic>,
) -> crate::audit::AuditSettings {
    use crate::audit::{Fsync, OnError};
    let path = match raw.path.as_deref() {
        Some("") => {
            errors.push(map.diagnostic(
                &["audit", "path"],
                "the audit log path is empty",
                "name a file, e.g. path = \"audit.jsonl\" (relative to the manifest), or remove the key to log to stderr",
            ));
            None
        }
        other => other.map(|path| base.join(path)),
    };
    let fsync = match raw.fsync.as_deref() {
        None | Some("interval") => Fsync::Interval,
        Some("always") => Fsync::Always,
        Some("never") => Fsync::Never,
        Some(other) => {
            errors.push(map.diagnostic(
                &["audit", "fsync"],
                format!("`{other}` is not an fsync mode"),
                "use \"always\", \"interval\" (the default: at most every second) or \"never\"",
            ));
            Fsync::Interval
        }
    };
    let on_error = match raw.on_error.as_deref() {
        None | Some("refuse") => OnError::Refuse,
        Some("continue") => OnError::Continue,
        Some(other) => {
            errors.push(map.diagnostic(
                &["audit", "on_error"],
                format!("`{other}` is not an audit error policy"),
                "use \"refuse\" (the default: calls fail while records cannot be written) or \"continue\"",
            ));
            OnError::Refuse
        }
    };
    if (raw.fsync.is_some() || raw.on_error.is_some()) && path.is_none() && raw.path.is_none() {
        errors.push(map.diagnostic(
            &["audit"],
            "`fsync` and `on_error` apply to an audit file, but `[audit]` has no `path`",
            "add path = \"audit.jsonl\", or remove them to log to stderr",
        ));
    }
    crate::audit::AuditSettings {
        path,
        fsync,
        on_error,
    }
}

/// Checks `[trust]`: every key must parse (each bad one is an error at its line), and
/// requiring signatures needs a key to verify them with.
pub fn check_trust(raw: &RawTrust, map: &SourceMap, errors: &mut Vec<Diagnostic>) -> Trust {
    let mut keys = Vec::new();
    for (i, text) in raw.keys.iter().enumerate() {
        match TrustedKey::parse(text) {
            Ok(key) => keys.push(key),
            Err(message) => errors.push(Diagnostic::new(
                &map.file,
                &locate_in_array(map, &["trust", "keys"], i, text),
                message,
                "write each key as minisign prints it: the second line of its minisign.pub, e.g. \"RWQf6LRCGA9i53mlYecO4IzT51TGPpvWucNSCh1CBM0QTaLn73Y7GFO3\"",
            )),
        }
    }
    let require_signatures = raw.require_signatures.unwrap_or(false);
    if require_signatures && raw.keys.is_empty() {
        errors.push(map.diagnostic(
            &["trust", "require_signatures"],
            "signatures are required, but [trust] has no keys to verify them with",
            "add the signers' public keys: keys = [\"RWQ...\"] (the second line of each minisign.pub)",
        ));
    }
    Trust {
        keys,
        require_signatures,
    }
}

/// The location of element `index` (whose text is `text`) of the array at `path`: its own line
/// when it can be found after the key, else the key's.
fn locate_in_array(
    map: &SourceMap,
    path: &[&str],
    index: usize,
    text: &str,
) -> crate::manifest::Location {
    let key: Vec<String> = path
        .iter()
        .map(|s| s.to_string())
        .chain([index.to_string()])
        .collect();
    let at = map.locate(path);
    let source = map.text_ref();
    let line_start: usize = source
        .split_inclusive('\n')
        .take(at.line - 1)
        .map(str::len)
        .sum();
    match source[line_start..].find(text).filter(|_| !text.is_empty()) {
        Some(offset) => map.locate_span(
            line_start + offset..line_start + offset,
            crate::manifest::dotted(&key),
        ),
        None => crate::manifest::Location {
            key: crate::manifest::dotted(&key),
            ..at
        },
    }
}

/// Checks `components.<id>.signature` against `[trust]` and resolves it against `base`.
fn component_signature(
    id: &ComponentId,
    signature: Option<&str>,
    trust: &Trust,
    base: &Path,
    map: &SourceMap,
    errors: &mut Vec<Diagnostic>,
) -> Option<Located<PathBuf>> {
    let key = ["components", id.as_str(), "signature"];
    match signature {
        Some(file) => {
            if trust.keys.is_empty() {
                errors.push(map.diagnostic(
                    &key,
                    "this component is signed, but [trust] has no keys to verify the signature with",
                    "add the signer's public key: [trust] keys = [\"RWQ...\"] (the second line of its minisign.pub)",
                ));
            }
            Some(Located {
                value: base.join(file),
                at: map.locate(&key),
            })
        }
        None if trust.require_signatures => {
            errors.push(map.diagnostic(
                &["components", id.as_str()],
                format!("component `{id}` has no `signature`, and [trust] require_signatures = true"),
                format!("sign it (`minisign -Sm plugins/{id}.wasm`) and add signature = \"plugins/{id}.wasm.minisig\", relative to the manifest"),
            ));
            None
        }
        None => None,
    }
}

/// Parses the `sha256` pin at `path` of a `what` (component, prompt file).
fn pinned_digest(
    value: Option<&str>,
    path: &[&str],
    what: &str,
    map: &SourceMap,
    errors: &mut Vec<Diagnostic>,
) -> Option<Located<Sha256Digest>> {
    match value.map(Sha256Digest::parse) {
        Some(Ok(digest)) => Some(Located {
            value: digest,
            at: map.locate(path),
        }),
        Some(Err(message)) => {
            errors.push(map.diagnostic(
                path,
                message,
                "pin the file's digest: `sha256sum FILE` prints it",
            ));
            None
        }
        None => {
            errors.push(map.diagnostic(
                path,
                format!("missing key `sha256`: every {what} is pinned by digest"),
                "add `sha256 = \"<digest>\"`; `sha256sum FILE` prints it",
            ));
            None
        }
    }
}

/// Reads every `[secrets.<name>]` value from its source.
fn load_secrets(
    raw: &BTreeMap<String, RawSecret>,
    base: &Path,
    map: &SourceMap,
    errors: &mut Vec<Diagnostic>,
    warnings: &mut Vec<String>,
) -> BTreeMap<String, Secret> {
    let mut secrets = BTreeMap::new();
    for (name, secret) in raw {
        let path = ["secrets", name.as_str()];
        let mut hosts = Vec::new();
        for (i, host) in secret.hosts.iter().enumerate() {
            match HostGrant::parse(host) {
                Ok(grant) => hosts.push(grant),
                Err(message) => errors.push(map.diagnostic(
                    &[&path[..], &["hosts", &i.to_string()]].concat(),
                    message,
                    "write each destination as scheme://host[:port], e.g. \"https://api.github.com\"",
                )),
            }
        }
        if secret.hosts.is_empty() {
            errors.push(map.diagnostic(
                &path,
                format!("secret `{name}` has no `hosts`, so it could never be sent anywhere"),
                "add the destinations it is for, e.g. hosts = [\"https://api.github.com\"]",
            ));
        }
        let value = match (&secret.from_env, &secret.from_file) {
            (Some(var), None) => match std::env::var(var) {
                Ok(value) if !value.is_empty() => Some(value),
                _ => {
                    errors.push(map.diagnostic(
                        &[&path[..], &["from_env"]].concat(),
                        format!("environment variable `{var}` is not set (or empty)"),
                        format!("set `{var}` for the server, or read the secret from a file with from_file"),
                    ));
                    None
                }
            },
            (None, Some(file)) => {
                let file_path = base.join(file);
                match std::fs::read_to_string(&file_path) {
                    Ok(text) => {
                        warn_if_shared(name, &file_path, warnings);
                        let value = text
                            .strip_suffix('\n')
                            .map(|t| t.strip_suffix('\r').unwrap_or(t))
                            .unwrap_or(&text)
                            .to_string();
                        if value.is_empty() {
                            errors.push(map.diagnostic(
                                &[&path[..], &["from_file"]].concat(),
                                format!("{} is empty", file_path.display()),
                                "put the secret's value in the file",
                            ));
                            None
                        } else {
                            Some(value)
                        }
                    }
                    Err(error) => {
                        errors.push(map.diagnostic(
                            &[&path[..], &["from_file"]].concat(),
                            format!("cannot read {}: {error}", file_path.display()),
                            "check the path: it is relative to the manifest file",
                        ));
                        None
                    }
                }
            }
            (Some(_), Some(_)) => {
                errors.push(map.diagnostic(
                    &path,
                    format!("secret `{name}` has both from_env and from_file"),
                    "keep one of them",
                ));
                None
            }
            (None, None) => {
                errors.push(map.diagnostic(
                    &path,
                    format!("secret `{name}` has no source"),
                    "add from_env = \"VARIABLE\" or from_file = \"path\"",
                ));
                None
            }
        };
        if let Some(value) = value {
            secrets.insert(
                name.clone(),
                Secret {
                    value: SecretString::from(value),
                    hosts,
                },
            );
        }
    }
    secrets
}

/// Warns when a secret file is readable by its group or by others.
fn warn_if_shared(name: &str, path: &Path, warnings: &mut Vec<String>) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(metadata) = std::fs::metadata(path)
        && metadata.permissions().mode() & 0o044 != 0
    {
        warnings.push(format!(
            "secret `{name}`: {} is readable by its group or by others; `chmod 600` it",
            path.display()
        ));
    }
}

/// Checks and types the grants of one component.
fn component_grants(
    id: &ComponentId,
    component: &RawComponent,
    secrets: &BTreeMap<String, RawSecret>,
    base: &Path,
    map: &SourceMap,
    errors: &mut Vec<Diagnostic>,
) -> Grants {
    let path = ["components", id.as_str()];
    let key =
        |rest: &[&str]| -> Vec<String> { path.iter().chain(rest).map(|s| s.to_string()).collect() };
    let mut grants = Grants::default();

    for (i, dir) in component.dirs.iter().enumerate() {
        let index = i.to_string();
        let at = key(&["dirs", &index]);
        let (Some(host), Some(guest), Some(access)) = (&dir.host, &dir.guest, &dir.access) else {
            errors.push(map.diagnostic(
                &at,
                "a dir needs `host`, `guest` and `access`",
                "e.g. { host = \"./data\", guest = \"/data\", access = \"read-only\" }",
            ));
            continue;
        };
        let access = match Access::parse(access) {
            Ok(access) => access,
            Err(message) => {
                errors.push(map.diagnostic(&at, message, "use \"read-only\" or \"read-write\""));
                continue;
            }
        };
        let guest_ok = guest.starts_with('/')
            && !guest.split('/').any(|part| part == ".." || part == ".")
            && !grants.dirs.iter().any(|d| &d.guest == guest);
        if !guest_ok {
            errors.push(map.diagnostic(
                &at,
                format!("`{guest}` is not a usable guest path: it must be absolute, without `.` or `..`, and not used twice"),
                "e.g. guest = \"/data\"",
            ));
            continue;
        }
        let host_path = base.join(host);
        match std::fs::canonicalize(&host_path) {
            Ok(resolved) if resolved.is_dir() => grants.dirs.push(DirGrant {
                host: resolved,
                guest: guest.clone(),
                access,
            }),
            _ => errors.push(map.diagnostic(
                &at,
                format!("{} is not an existing directory", host_path.display()),
                "create it, or fix `host` (relative to the manifest file)",
            )),
        }
    }

    for (i, host) in component.hosts.iter().enumerate() {
        match HostGrant::parse(host) {
            Ok(grant) => grants.hosts.push(grant),
            Err(message) => errors.push(map.diagnostic(
                &key(&["hosts", &i.to_string()]),
                message,
                "write each destination as scheme://host[:port], e.g. \"https://api.github.com\"",
            )),
        }
    }

    for name in &component.secrets {
        let Some(secret) = secrets.get(name) else {
            errors.push(map.diagnostic(
                &key(&["secrets"]),
                format!("secret `{name}` is not defined"),
                format!("define it: [secrets.{name}] with from_env or from_file, and hosts"),
            ));
            continue;
        };
        for host in &secret.hosts {
            if let Ok(secret_host) = HostGrant::parse(host)
                && !grants.hosts.iter().any(|grant| grant.covers(&secret_host))
            {
                errors.push(map.diagnostic(
                    &key(&["secrets"]),
                    format!(
                        "secret `{name}` is bound to {secret_host}, which component `{id}` is not granted"
                    ),
                    format!("add \"{secret_host}\" to components.{id}.hosts, or do not grant it `{name}`"),
                ));
            }
        }
        grants.secrets.push(name.clone());
    }

    for (name, value) in &component.env {
        let valid = name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if valid {
            grants.env.push((name.clone(), value.clone()));
        } else {
            errors.push(map.diagnostic(
                &key(&["env", name]),
                format!("`{name}` is not an environment variable name"),
                "use letters, digits and `_`, not starting with a digit",
            ));
        }
    }

    if let Some(http) = &component.http {
        grants.http = http_limits(http, &key(&["http"]), map, errors);
    }
    grants.elicitation = component.elicitation.unwrap_or(false);
    grants
}

/// Reads `components.<id>.http`.
fn http_limits(
    raw: &RawHttp,
    path: &[String],
    map: &SourceMap,
    errors: &mut Vec<Diagnostic>,
) -> HttpLimits {
    let mut limits = HttpLimits::default();
    let mut duration = |value: &Option<String>, name: &str, slot: &mut Duration| {
        if let Some(text) = value {
            match parse_duration(text) {
                Ok(d) if d > Duration::ZERO && d <= Duration::from_secs(600) => *slot = d,
                Ok(_) => errors.push(map.diagnostic(
                    &[path, &[name.to_string()]].concat(),
                    format!("`{text}` is out of range"),
                    "use a duration from \"1ms\" to \"10m\"",
                )),
                Err(message) => errors.push(map.diagnostic(
                    &[path, &[name.to_string()]].concat(),
                    message,
                    "e.g. \"10s\"",
                )),
            }
        }
    };
    duration(
        &raw.connect_timeout,
        "connect_timeout",
        &mut limits.connect_timeout,
    );
    duration(
        &raw.first_byte_timeout,
        "first_byte_timeout",
        &mut limits.first_byte_timeout,
    );
    duration(
        &raw.between_bytes_timeout,
        "between_bytes_timeout",
        &mut limits.between_bytes_timeout,
    );
    if let Some(text) = &raw.max_response_bytes {
        match ByteSize::parse(text) {
            Ok(size) if size.bytes() >= 1 && size.bytes() <= 1 << 30 => {
                limits.max_response_bytes = size
            }
            Ok(size) => errors.push(map.diagnostic(
                &[path, &["max_response_bytes".to_string()]].concat(),
                format!("{size} is out of range"),
                "use a size from \"1 B\" to \"1 GiB\"",
            )),
            Err(message) => errors.push(map.diagnostic(
                &[path, &["max_response_bytes".to_string()]].concat(),
                message,
                "e.g. \"4 MiB\"",
            )),
        }
    }
    limits
}

/// Applies the keys of `raw` over `base`, recording invalid values.
fn merge_limits(
    base: Limits,
    raw: &RawLimits,
    path: &[&str],
    map: &SourceMap,
    errors: &mut Vec<Diagnostic>,
) -> Limits {
    let mut limits = base;
    let key = |name: &'static str| [path, &[name]].concat();
    match raw.fuel {
        None => {}
        Some(fuel) if fuel > 0 => limits.fuel = fuel as u64,
        Some(fuel) => errors.push(map.diagnostic(
            &key("fuel"),
            format!("{fuel} is not a positive amount of fuel"),
            format!("use a positive number, e.g. fuel = {DEFAULT_FUEL}"),
        )),
    }
    if let Some(text) = &raw.memory {
        match ByteSize::parse(text) {
            Ok(size) if (1 << 20..=4 << 30).contains(&size.bytes()) => limits.memory = size,
            Ok(size) => errors.push(map.diagnostic(
                &key("memory"),
                format!("{size} is out of range"),
                "use a size from \"1 MiB\" to \"4 GiB\"",
            )),
            Err(message) => errors.push(map.diagnostic(
                &key("memory"),
                message,
                format!("e.g. memory = \"{DEFAULT_MEMORY}\""),
            )),
        }
    }
    if let Some(text) = &raw.timeout {
        match parse_duration(text) {
            Ok(timeout) if timeout > Duration::ZERO && timeout <= Duration::from_secs(3600) => {
                limits.timeout = timeout;
            }
            Ok(timeout) => errors.push(map.diagnostic(
                &key("timeout"),
                format!("{} is out of range", format_duration(timeout)),
                "use a duration from \"1ms\" to \"1h\"",
            )),
            Err(message) => errors.push(map.diagnostic(
                &key("timeout"),
                message,
                format!("e.g. timeout = \"{}\"", format_duration(DEFAULT_TIMEOUT)),
            )),
        }
    }
    limits
}

/// Checks a tool rename and turns `-` into `_`, as tool names do.
fn check_tool_name(name: &str) -> Result<String, String> {
    if !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        Ok(name.replace('-', "_"))
    } else {
        Err(format!("`{name}` is not a valid tool name"))
    }
}

/// Parses a component's `resources` namespaces.
fn resource_namespaces(
    id: &ComponentId,
    raw: &[String],
    map: &SourceMap,
    errors: &mut Vec<Diagnostic>,
) -> Vec<Located<Namespace>> {
    let mut namespaces = Vec::new();
    for (i, text) in raw.iter().enumerate() {
        let path = ["components", id.as_str(), "resources", &i.to_string()];
        match Namespace::parse(text) {
            Ok(namespace) => namespaces.push(Located {
                value: namespace,
                at: map.locate(&path),
            }),
            Err(message) => errors.push(map.diagnostic(
                &path,
                message,
                format!("e.g. resources = [\"{id}://*\"]"),
            )),
        }
    }
    namespaces
}

/// Refuses two components whose namespaces share a URI, naming both: a URI must have exactly
/// one component that may serve it.
fn check_namespace_overlaps(
    components: &[ComponentPolicy],
    map: &SourceMap,
    errors: &mut Vec<Diagnostic>,
) {
    for (i, first) in components.iter().enumerate() {
        for second in &components[i + 1..] {
            for a in &first.resources {
                for b in &second.resources {
                    if a.value.overlaps(&b.value) {
                        errors.push(Diagnostic::new(
                            &map.file,
                            &b.at,
                            format!(
                                "the resource namespace `{}` of component `{}` overlaps `{}` of component `{}`",
                                b.value, second.id, a.value, first.id
                            ),
                            format!(
                                "give each component its own namespaces (a URI has one component that serves it), e.g. \"{}://*\" and \"{}://*\"",
                                first.id, second.id
                            ),
                        ));
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest;

    fn policy(text: &str) -> Result<Policy, Vec<String>> {
        let (raw, map) = manifest::parse(Path::new("/m/w.toml"), text.to_string())
            .map_err(|d| d.0.iter().map(ToString::to_string).collect::<Vec<_>>())?;
        Policy::from_raw(raw, &map).map_err(|d| d.0.iter().map(ToString::to_string).collect())
    }

    const DIGEST: &str = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

    #[test]
    fn applies_defaults_and_overrides() {
        let policy = policy(&format!(
            "[defaults.limits]\nmemory = \"32 MiB\"\n[components.a]\nsource = \"a.wasm\"\nsha256 = \"{DIGEST}\"\nlimits = {{ timeout = \"2s\" }}\n"
        ))
        .unwrap();
        let a = &policy.components[0];
        assert_eq!(a.source.value, PathBuf::from("/m/a.wasm"));
        assert_eq!(
            a.limits,
            Limits {
                fuel: DEFAULT_FUEL,
                memory: ByteSize(32 << 20),
                timeout: Duration::from_secs(2)
            }
        );
        assert_eq!(policy.server.max_concurrent_calls, 64);
    }

    #[test]
    fn reports_every_bad_value() {
        let errors = policy(
            "[server]\nmax_concurrent_calls = 0\n[defaults.limits]\nmemory = \"lots\"\ntimeout = \"0s\"\nfuel = -1\n[components.Bad]\nsource = \"x\"\n[components.b]\nsha256 = \"zz\"\n[components.b.tools.f]\nname = \"a b\"\n",
        )
        .unwrap_err();
        let joined = errors.join("\n");
        for expected in [
            "w.toml:2:1: `server.max_concurrent_calls`: 0 is out of range",
            "`defaults.limits.memory`: `lots` does not start with a whole number",
            "`defaults.limits.timeout`: 0s is out of range",
            "`defaults.limits.fuel`: -1 is not a positive amount",
            "`components.Bad`: `Bad` is not a component id",
            "`components.b.source`: missing key `source`",
            "`components.b.sha256`: `zz` is not a sha256 digest",
            "`components.b.tools.f.name`: `a b` is not a valid tool name",
        ] {
            assert!(
                joined.contains(expected),
                "missing {expected:?} in\n{joined}"
            );
        }
        assert_eq!(errors.len(), 8, "{joined}");
    }
}
