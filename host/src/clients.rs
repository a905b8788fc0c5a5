//! Who may connect and what each may use: client identities, their grants and their limits,
//! checked from the manifest (`[clients.*]`, `[stdio]`, `[oauth]`, `[http]` and the per-tool
//! `rate`/`burst`/`max_concurrency`/`confirm`).
//!
//! Grants are parsed into types and matched on the parsed form: `files_*` is "every tool of
//! component `files`", never a string prefix (`filesystem_read` does not match it).

use std::collections::{BTreeMap, BTreeSet};
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::catalog::{Catalog, Tool};
use crate::digest::Sha256Digest;
use crate::http::origin::{HostAllowlist, OriginAllowlist};
use crate::http::tls::DistinguishedName;
use crate::manifest::{
    Diagnostic, Located, RawClient, RawHttpServer, RawOAuth, RawStdio, SourceMap,
};
use crate::policy::ComponentId;
use crate::resources::Namespace;
use crate::units::parse_duration;

/// Default `rate` of a named HTTP client and of each OAuth subject.
pub const DEFAULT_CLIENT_RATE: &str = "20/s";
/// Default `burst` of a named HTTP client and of each OAuth subject.
pub const DEFAULT_CLIENT_BURST: u32 = 40;
/// Default `[http] request_timeout`.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// The largest `max_concurrency`.
pub const MAX_CONCURRENCY: usize = 4096;
/// The name the local stdio client has in grants and the audit log.
pub const STDIO_CLIENT: &str = "stdio";

/// Every client and the HTTP settings, checked.
#[derive(Clone, Debug)]
pub struct Clients {
    /// `[clients.<name>]`, in name order.
    pub named: Vec<ClientPolicy>,
    /// `[stdio]`: the local client on stdin/stdout.
    pub stdio: ClientPolicy,
    /// `[oauth]`, when JWT access tokens are accepted.
    pub oauth: Option<OAuthPolicy>,
    /// `[http]`.
    pub http: HttpSettings,
}

impl Clients {
    /// Only the stdio client, with everything granted (for `warden inspect`).
    pub fn local_only() -> Self {
        Clients {
            named: Vec::new(),
            stdio: ClientPolicy {
                name: ClientName(STDIO_CLIENT.to_string()),
                credential: None,
                allowed: Allowed::everything(),
                limits: ClientLimits {
                    rate: None,
                    max_concurrency: 1,
                },
            },
            oauth: None,
            http: HttpSettings {
                hosts: HostAllowlist::loopback(),
                origins: OriginAllowlist::loopback(),
                request_timeout: DEFAULT_REQUEST_TIMEOUT,
            },
        }
    }

    /// The client that requests without credentials act as, if one is configured.
    pub fn anonymous(&self) -> Option<&ClientPolicy> {
        self.named
            .iter()
            .find(|client| matches!(client.credential, Some(Credential::Anonymous)))
    }
}

/// A client name: `[a-z][a-z0-9_-]*`, at most 64 characters.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ClientName(String);

impl ClientName {
    /// Parses a name.
    ///
    /// # Errors
    /// A message saying what a name looks like.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut chars = text.chars();
        let valid = text.len() <= 64
            && chars.next().is_some_and(|c| c.is_ascii_lowercase())
            && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
        if valid {
            Ok(ClientName(text.to_string()))
        } else {
            Err(format!(
                "`{text}` is not a client name: it must start with a lowercase letter and hold only lowercase letters, digits, `_` and `-` (at most 64)"
            ))
        }
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for ClientName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// How a named client proves who it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Credential {
    /// A bearer token whose sha256 is this.
    Token(Sha256Digest),
    /// A TLS client certificate (verified against `--client-ca`) with this subject.
    Certificate(DistinguishedName),
    /// Nothing: the client for requests without credentials, on loopback only.
    Anonymous,
}

/// One entry of a `tools` grant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ToolPattern {
    /// `"*"`: every tool.
    All,
    /// `"<component>_*"`: every tool of one component.
    Component(ComponentId),
    /// `"<tool>"`: one tool, by its full name.
    Tool(String),
}

impl ToolPattern {
    /// Parses a grant entry.
    ///
    /// # Errors
    /// A message saying what a grant looks like.
    pub fn parse(text: &str) -> Result<Self, String> {
        if text == "*" {
            return Ok(ToolPattern::All);
        }
        if let Some(component) = text.strip_suffix("_*") {
            return ComponentId::parse(component)
                .map(ToolPattern::Component)
                .map_err(|_| format!("`{text}`: `{component}` before `_*` is not a component id"));
        }
        let valid = !text.is_empty()
            && text
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if valid {
            Ok(ToolPattern::Tool(text.to_string()))
        } else {
            Err(format!(
                "`{text}` is not a tool grant: use \"*\", \"<component>_*\" or a tool name"
            ))
        }
    }

    /// Whether `tool` is granted by this entry.
    pub fn matches(&self, tool: &Tool) -> bool {
        match self {
            ToolPattern::All => true,
            ToolPattern::Component(id) => tool.component == *id,
            ToolPattern::Tool(name) => *tool.name == **name,
        }
    }
}

impl std::fmt::Display for ToolPattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ToolPattern::All => f.write_str("*"),
            ToolPattern::Component(id) => write!(f, "{id}_*"),
            ToolPattern::Tool(name) => f.write_str(name),
        }
    }
}

/// One entry of a `prompts` grant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PromptPattern {
    /// `"*"`: every prompt.
    All,
    /// One prompt, by name.
    Name(String),
}

impl PromptPattern {
    fn parse(text: &str) -> Self {
        if text == "*" {
            PromptPattern::All
        } else {
            PromptPattern::Name(text.to_string())
        }
    }

    /// Whether the prompt called `name` is granted by this entry.
    pub fn matches(&self, name: &str) -> bool {
        match self {
            PromptPattern::All => true,
            PromptPattern::Name(granted) => granted == name,
        }
    }
}

/// One entry of a `resources` grant: `"*"`, or a namespace `scheme://path/*`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ResourcePattern {
    /// `"*"`: every resource.
    All,
    /// Every URI inside the namespace.
    Namespace(Namespace),
}

impl ResourcePattern {
    /// Parses a grant entry.
    ///
    /// # Errors
    /// A message saying what a namespace looks like.
    pub fn parse(text: &str) -> Result<Self, String> {
        if text == "*" {
            return Ok(ResourcePattern::All);
        }
        Namespace::parse(text).map(ResourcePattern::Namespace).map_err(|_| {
            format!(
                "`{text}` is not a resource namespace: use \"*\" or \"<scheme>://<path>/*\", e.g. \"notes://*\""
            )
        })
    }

    /// Whether the resource at `uri` is granted by this entry.
    pub fn matches(&self, uri: &str) -> bool {
        match self {
            ResourcePattern::All => true,
            ResourcePattern::Namespace(namespace) => namespace.contains(uri),
        }
    }

    /// Whether some resource of `namespace` is granted by this entry.
    pub fn meets(&self, namespace: &Namespace) -> bool {
        match self {
            ResourcePattern::All => true,
            ResourcePattern::Namespace(granted) => granted.overlaps(namespace),
        }
    }

    /// Whether every URI a template starting inside `template` can name is granted.
    pub fn matches_template(&self, template: &str) -> bool {
        match self {
            ResourcePattern::All => true,
            ResourcePattern::Namespace(granted) => granted.contains_template(template),
        }
    }
}

/// What a client may use.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Allowed {
    /// Tools it may list and call.
    pub tools: Vec<ToolPattern>,
    /// Resources it may list and read.
    pub resources: Vec<ResourcePattern>,
    /// Prompts it may list and get.
    pub prompts: Vec<PromptPattern>,
}

impl Allowed {
    /// Everything.
    pub fn everything() -> Self {
        Allowed {
            tools: vec![ToolPattern::All],
            resources: vec![ResourcePattern::All],
            prompts: vec![PromptPattern::All],
        }
    }

    /// Whether `tool` may be listed and called.
    pub fn tool(&self, tool: &Tool) -> bool {
        self.tools.iter().any(|pattern| pattern.matches(tool))
    }

    /// Whether the prompt `name` may be listed and got.
    pub fn prompt(&self, name: &str) -> bool {
        self.prompts.iter().any(|pattern| pattern.matches(name))
    }

    /// Whether the resource at `uri` may be listed and read.
    pub fn resource(&self, uri: &str) -> bool {
        self.resources.iter().any(|pattern| pattern.matches(uri))
    }

    /// Whether the resource template `template` may be listed.
    pub fn resource_template(&self, template: &str) -> bool {
        self.resources
            .iter()
            .any(|pattern| pattern.matches_template(template))
    }

    /// Whether any resource of `namespace` may be listed or read.
    pub fn resource_namespace(&self, namespace: &Namespace) -> bool {
        self.resources
            .iter()
            .any(|pattern| pattern.meets(namespace))
    }
}

/// A call rate: `count` per `period`, with `burst` calls allowed at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rate {
    /// Calls per period.
    pub count: NonZeroU32,
    /// The period.
    pub period: Duration,
    /// Calls allowed at once above the steady rate.
    pub burst: NonZeroU32,
}

impl Rate {
    /// Parses `"<n>/s"`, `"<n>/m"` or `"<n>/h"` with a burst (default: `n`).
    ///
    /// # Errors
    /// A message saying what a rate looks like.
    pub fn parse(text: &str, burst: Option<u32>) -> Result<Self, String> {
        let bad = || {
            format!(
                "`{text}` is not a rate: use \"<calls>/s\", \"<calls>/m\" or \"<calls>/h\", e.g. \"10/s\""
            )
        };
        let (count, unit) = text.split_once('/').ok_or_else(bad)?;
        let count: u32 = count.trim().parse().map_err(|_| bad())?;
        let count = NonZeroU32::new(count)
            .filter(|n| n.get() <= 1_000_000)
            .ok_or_else(bad)?;
        let period = match unit.trim() {
            "s" | "sec" | "second" => Duration::from_secs(1),
            "m" | "min" | "minute" => Duration::from_secs(60),
            "h" | "hour" => Duration::from_secs(3600),
            _ => return Err(bad()),
        };
        let burst = match burst {
            None => count,
            Some(burst) => {
                NonZeroU32::new(burst).ok_or_else(|| "a burst must be at least 1".to_string())?
            }
        };
        Ok(Rate {
            count,
            period,
            burst,
        })
    }

    /// The time between two calls at the steady rate.
    pub fn interval(&self) -> Duration {
        self.period / self.count.get()
    }
}

/// A client's limits over all its calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientLimits {
    /// Calls per period, if limited.
    pub rate: Option<Rate>,
    /// Calls running at once.
    pub max_concurrency: usize,
}

/// One client: its name, credential, grants and limits.
#[derive(Clone, Debug)]
pub struct ClientPolicy {
    /// The name, as in `[clients.<name>]` (`stdio` for the local client).
    pub name: ClientName,
    /// How it authenticates; `None` for the stdio client.
    pub credential: Option<Credential>,
    /// What it may use.
    pub allowed: Allowed,
    /// Its limits.
    pub limits: ClientLimits,
}

/// `[oauth]`, checked.
#[derive(Clone, Debug)]
pub struct OAuthPolicy {
    /// The JWKS file.
    pub jwks_file: Located<PathBuf>,
    /// The required `iss`.
    pub issuer: String,
    /// The required `aud`: this server's URL.
    pub audience: String,
    /// Tools granted by each scope.
    pub scopes: BTreeMap<String, Vec<ToolPattern>>,
    /// Limits of each token subject.
    pub limits: ClientLimits,
}

/// `[http]`, with defaults applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpSettings {
    /// Accepted `Host` values (default: the loopback names).
    pub hosts: HostAllowlist,
    /// Accepted `Origin` values (default: loopback origins).
    pub origins: OriginAllowlist,
    /// Time to receive a whole request.
    pub request_timeout: Duration,
}

/// Per-client limits of one tool (`[components.<id>.tools.<fn>]`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ToolLimits {
    /// Calls of the tool per client, if limited.
    pub rate: Option<Rate>,
    /// Calls of the tool running at once per client, if limited.
    pub max_concurrency: Option<usize>,
}

/// Checks the client sections of the manifest.
pub struct ClientsInput<'a> {
    /// `[clients]`.
    pub clients: &'a BTreeMap<String, RawClient>,
    /// `[stdio]`.
    pub stdio: &'a RawStdio,
    /// `[http]`.
    pub http: &'a RawHttpServer,
    /// `[oauth]`.
    pub oauth: Option<&'a RawOAuth>,
    /// `server.max_concurrent_calls`, for the default per-client concurrency.
    pub max_concurrent_calls: usize,
    /// The manifest's folder.
    pub base: &'a Path,
}

impl ClientsInput<'_> {
    /// The checked clients; problems go to `errors`.
    pub fn check(&self, map: &SourceMap, errors: &mut Vec<Diagnostic>) -> Clients {
        let default_concurrency = (self.max_concurrent_calls / 2).max(1);
        let mut named = Vec::new();
        let mut seen_tokens: BTreeMap<Sha256Digest, String> = BTreeMap::new();
        let mut seen_subjects: BTreeMap<String, String> = BTreeMap::new();
        let mut anonymous: Option<String> = None;
        for (name, raw) in self.clients {
            let path = ["clients", name.as_str()];
            let client_name = match ClientName::parse(name) {
                Ok(n) if n.as_str() != STDIO_CLIENT => n,
                Ok(_) => {
                    errors.push(map.diagnostic(
                        &path,
                        "`stdio` is the local stdio client's name",
                        "set the stdio client's grants in [stdio], and give this client another name",
                    ));
                    continue;
                }
                Err(message) => {
                    errors.push(map.diagnostic(
                        &path,
                        message,
                        "rename the table, e.g. [clients.cibot]",
                    ));
                    continue;
                }
            };
            let credential = credential(name, raw, map, errors);
            match &credential {
                Some(Credential::Token(digest)) => {
                    if let Some(other) = seen_tokens.insert(*digest, name.clone()) {
                        errors.push(map.diagnostic(
                            &["clients", name.as_str(), "token_sha256"],
                            format!("clients `{other}` and `{name}` have the same token"),
                            format!("give each client its own token: warden token new {name}"),
                        ));
                    }
                }
                Some(Credential::Certificate(subject)) => {
                    if let Some(other) = seen_subjects.insert(subject.to_string(), name.clone()) {
                        errors.push(map.diagnostic(
                            &["clients", name.as_str(), "cert_subject"],
                            format!(
                                "clients `{other}` and `{name}` have the same certificate subject"
                            ),
                            "give each client a certificate with its own subject",
                        ));
                    }
                }
                Some(Credential::Anonymous) => {
                    if let Some(other) = anonymous.replace(name.clone()) {
                        errors.push(map.diagnostic(
                            &["clients", name.as_str(), "anonymous"],
                            format!("clients `{other}` and `{name}` are both anonymous"),
                            "keep one anonymous client",
                        ));
                    }
                }
                None => {}
            }
            let allowed = allowed(&path, &raw.tools, &raw.resources, &raw.prompts, map, errors);
            let limits = remote_limits(
                &path,
                (raw.rate.as_deref(), raw.burst, raw.max_concurrency),
                default_concurrency,
                map,
                errors,
            );
            if let Some(credential) = credential {
                named.push(ClientPolicy {
                    name: client_name,
                    credential: Some(credential),
                    allowed,
                    limits,
                });
            }
        }

        let stdio_path = ["stdio"];
        let all = vec!["*".to_string()];
        let stdio = ClientPolicy {
            name: ClientName(STDIO_CLIENT.to_string()),
            credential: None,
            allowed: allowed(
                &stdio_path,
                self.stdio.tools.as_ref().unwrap_or(&all),
                self.stdio.resources.as_ref().unwrap_or(&all),
                self.stdio.prompts.as_ref().unwrap_or(&all),
                map,
                errors,
            ),
            limits: limits(
                &stdio_path,
                self.stdio.rate.as_deref(),
                self.stdio.burst,
                self.stdio.max_concurrency,
                // The server-wide cap already bounds the only stdio client.
                MAX_CONCURRENCY,
                map,
                errors,
            ),
        };

        let request_timeout = match self.http.request_timeout.as_deref() {
            None => DEFAULT_REQUEST_TIMEOUT,
            Some(text) => match parse_duration(text) {
                Ok(timeout) if timeout >= Duration::from_secs(1) => timeout,
                Ok(_) | Err(_) => {
                    errors.push(map.diagnostic(
                        &["http", "request_timeout"],
                        format!("`{text}` is not a request timeout"),
                        "use a duration of at least one second, e.g. request_timeout = \"30s\"",
                    ));
                    DEFAULT_REQUEST_TIMEOUT
                }
            },
        };
        let mut list_error = |key: &str, message: String, help: &str| {
            errors.push(map.diagnostic(&["http", key], message, help));
        };
        let hosts = match &self.http.allowed_hosts {
            None => HostAllowlist::loopback(),
            Some(list) if list.is_empty() => {
                list_error(
                    "allowed_hosts",
                    "`allowed_hosts` is empty, so no request would be accepted".into(),
                    "list at least one host name, or remove the key for the loopback default",
                );
                HostAllowlist::loopback()
            }
            Some(list) => HostAllowlist::parse(list).unwrap_or_else(|message| {
                list_error(
                    "allowed_hosts",
                    message,
                    "e.g. allowed_hosts = [\"mcp.example.com\"]",
                );
                HostAllowlist::loopback()
            }),
        };
        let origins = match &self.http.allowed_origins {
            None => OriginAllowlist::loopback(),
            Some(list) if list.is_empty() => {
                list_error(
                    "allowed_origins",
                    "`allowed_origins` is empty, so no browser origin would be accepted".into(),
                    "list at least one origin, or remove the key for the loopback default (requests without Origin are not affected)",
                );
                OriginAllowlist::loopback()
            }
            Some(list) => OriginAllowlist::parse(list).unwrap_or_else(|message| {
                list_error(
                    "allowed_origins",
                    message,
                    "e.g. allowed_origins = [\"https://app.example.com\"]",
                );
                OriginAllowlist::loopback()
            }),
        };
        let http = HttpSettings {
            hosts,
            origins,
            request_timeout,
        };
        let oauth = self
            .oauth
            .and_then(|raw| oauth(raw, self.base, default_concurrency, map, errors));
        Clients {
            named,
            stdio,
            oauth,
            http,
        }
    }
}

fn credential(
    name: &str,
    raw: &RawClient,
    map: &SourceMap,
    errors: &mut Vec<Diagnostic>,
) -> Option<Credential> {
    let path = ["clients", name];
    let mut found = Vec::new();
    if let Some(text) = &raw.token_sha256 {
        match Sha256Digest::parse(text) {
            Ok(digest) => found.push(Credential::Token(digest)),
            Err(message) => {
                errors.push(map.diagnostic(
                    &["clients", name, "token_sha256"],
                    message,
                    format!("paste the line `warden token new {name}` prints"),
                ));
                return None;
            }
        }
    }
    if let Some(text) = &raw.cert_subject {
        match DistinguishedName::parse(text) {
            Ok(subject) => found.push(Credential::Certificate(subject)),
            Err(message) => {
                errors.push(map.diagnostic(
                    &["clients", name, "cert_subject"],
                    message,
                    "write the subject as attribute=value pairs, e.g. cert_subject = \"CN=cibot,O=Example\"",
                ));
                return None;
            }
        }
    }
    match raw.anonymous {
        Some(true) => found.push(Credential::Anonymous),
        Some(false) => {
            errors.push(map.diagnostic(
                &["clients", name, "anonymous"],
                "`anonymous = false` says nothing",
                "remove it, and give the client token_sha256 or cert_subject",
            ));
            return None;
        }
        None => {}
    }
    match found.len() {
        1 => found.pop(),
        0 => {
            errors.push(map.diagnostic(
                &path,
                format!("client `{name}` has no credential"),
                format!(
                    "add token_sha256 (from `warden token new {name}`), cert_subject, or anonymous = true"
                ),
            ));
            None
        }
        _ => {
            errors.push(map.diagnostic(
                &path,
                format!("client `{name}` has more than one credential"),
                "keep exactly one of token_sha256, cert_subject and anonymous = true; one identity per client",
            ));
            None
        }
    }
}

fn allowed(
    path: &[&str],
    tools: &[String],
    resources: &[String],
    prompts: &[String],
    map: &SourceMap,
    errors: &mut Vec<Diagnostic>,
) -> Allowed {
    let mut allowed = Allowed::default();
    for (index, text) in tools.iter().enumerate() {
        match ToolPattern::parse(text) {
            Ok(pattern) => allowed.tools.push(pattern),
            Err(message) => errors.push(map.diagnostic(
                &[path, &["tools", &index.to_string()]].concat(),
                message,
                "e.g. tools = [\"files_*\", \"fetch_get\"]",
            )),
        }
    }
    for (index, text) in resources.iter().enumerate() {
        match ResourcePattern::parse(text) {
            Ok(pattern) => allowed.resources.push(pattern),
            Err(message) => errors.push(map.diagnostic(
                &[path, &["resources", &index.to_string()]].concat(),
                message,
                "e.g. resources = [\"notes://*\"]",
            )),
        }
    }
    allowed.prompts = prompts.iter().map(|p| PromptPattern::parse(p)).collect();
    allowed
}

fn limits(
    path: &[&str],
    rate: Option<&str>,
    burst: Option<i64>,
    max_concurrency: Option<i64>,
    default_concurrency: usize,
    map: &SourceMap,
    errors: &mut Vec<Diagnostic>,
) -> ClientLimits {
    ClientLimits {
        rate: rate_of(path, rate, burst, map, errors),
        max_concurrency: concurrency_of(path, max_concurrency, map, errors)
            .unwrap_or(default_concurrency),
    }
}

/// The limits of a remote caller (a named client or an OAuth subject): `rate`, `burst` and
/// `max_concurrency`, with the remote defaults when no rate is written.
fn remote_limits(
    path: &[&str],
    (rate, burst, max_concurrency): (Option<&str>, Option<i64>, Option<i64>),
    default_concurrency: usize,
    map: &SourceMap,
    errors: &mut Vec<Diagnostic>,
) -> ClientLimits {
    let burst = match (rate, burst) {
        (None, None) => Some(i64::from(DEFAULT_CLIENT_BURST)),
        (_, burst) => burst,
    };
    limits(
        path,
        rate.or(Some(DEFAULT_CLIENT_RATE)),
        burst,
        max_concurrency,
        default_concurrency,
        map,
        errors,
    )
}

/// Checks `rate` and `burst` at `path`.
pub fn rate_of(
    path: &[&str],
    rate: Option<&str>,
    burst: Option<i64>,
    map: &SourceMap,
    errors: &mut Vec<Diagnostic>,
) -> Option<Rate> {
    let burst = match burst {
        None => None,
        Some(n @ 1..=1_000_000) => Some(n as u32),
        Some(n) => {
            errors.push(map.diagnostic(
                &[path, &["burst"]].concat(),
                format!("{n} is out of range"),
                "use a number from 1 to 1000000",
            ));
            return None;
        }
    };
    let text = match rate {
        Some(text) => text,
        None => {
            if burst.is_some() {
                errors.push(map.diagnostic(
                    &[path, &["burst"]].concat(),
                    "`burst` without `rate`",
                    "add a rate, e.g. rate = \"10/s\"",
                ));
            }
            return None;
        }
    };
    match Rate::parse(text, burst) {
        Ok(rate) => Some(rate),
        Err(message) => {
            errors.push(map.diagnostic(
                &[path, &["rate"]].concat(),
                message,
                "e.g. rate = \"10/s\"",
            ));
            None
        }
    }
}

/// Checks `max_concurrency` at `path`.
pub fn concurrency_of(
    path: &[&str],
    value: Option<i64>,
    map: &SourceMap,
    errors: &mut Vec<Diagnostic>,
) -> Option<usize> {
    match value {
        None => None,
        Some(n @ 1..=4096) => Some(n as usize),
        Some(n) => {
            errors.push(map.diagnostic(
                &[path, &["max_concurrency"]].concat(),
                format!("{n} is out of range"),
                "use a number from 1 to 4096",
            ));
            None
        }
    }
}

fn oauth(
    raw: &RawOAuth,
    base: &Path,
    default_concurrency: usize,
    map: &SourceMap,
    errors: &mut Vec<Diagnostic>,
) -> Option<OAuthPolicy> {
    let path = ["oauth"];
    let mut missing = |key: &str, example: &str| {
        errors.push(map.diagnostic(
            &path,
            format!("missing key `{key}`"),
            format!("add {key} = {example}"),
        ));
    };
    let jwks_file = raw.jwks_file.as_ref().map(|file| Located {
        value: base.join(file),
        at: map.locate(&["oauth", "jwks_file"]),
    });
    if jwks_file.is_none() {
        missing("jwks_file", "\"keys/jwks.json\"");
    }
    if raw.issuer.is_none() {
        missing("issuer", "\"https://auth.example.com\"");
    }
    if raw.audience.is_none() {
        missing(
            "audience",
            "\"https://mcp.example.com/mcp\" (this server's URL)",
        );
    }
    if raw.scopes.is_empty() {
        missing(
            "scopes",
            "{ \"tools:read\" = [\"files_list\"] } (a token grants only what its scopes map to)",
        );
    }
    let mut scopes = BTreeMap::new();
    for (scope, grants) in &raw.scopes {
        let mut patterns = Vec::new();
        for (index, text) in grants.iter().enumerate() {
            match ToolPattern::parse(text) {
                Ok(pattern) => patterns.push(pattern),
                Err(message) => errors.push(map.diagnostic(
                    &["oauth", "scopes", scope.as_str(), &index.to_string()],
                    message,
                    "e.g. scopes = { \"tools:read\" = [\"files_list\"] }",
                )),
            }
        }
        scopes.insert(scope.clone(), patterns);
    }
    let limits = remote_limits(
        &path,
        (raw.rate.as_deref(), raw.burst, raw.max_concurrency),
        default_concurrency,
        map,
        errors,
    );
    Some(OAuthPolicy {
        jwks_file: jwks_file?,
        issuer: raw.issuer.clone()?,
        audience: raw.audience.clone()?,
        scopes,
        limits,
    })
}

/// Where a grant is written, for the "matches nothing" check.
struct GrantSite<'a> {
    path: Vec<String>,
    patterns: &'a [ToolPattern],
}

/// Checks that every tool, prompt and resource grant matches something the server serves
/// (`namespaces`: every namespace a component serves).
pub fn check_grants(
    clients: &Clients,
    catalog: &Catalog,
    prompts: &BTreeSet<String>,
    namespaces: &[Namespace],
    map: &SourceMap,
) -> Vec<Diagnostic> {
    let mut errors = Vec::new();
    let mut sites = Vec::new();
    let mut prompt_sites = Vec::new();
    let mut resource_sites = Vec::new();
    for client in clients.named.iter().chain([&clients.stdio]) {
        let base: Vec<String> = if client.credential.is_none() {
            vec!["stdio".into()]
        } else {
            vec!["clients".into(), client.name.to_string()]
        };
        sites.push(GrantSite {
            path: [base.clone(), vec!["tools".into()]].concat(),
            patterns: &client.allowed.tools,
        });
        prompt_sites.push((
            [base.clone(), vec!["prompts".into()]].concat(),
            &client.allowed.prompts,
        ));
        resource_sites.push((
            [base, vec!["resources".into()]].concat(),
            &client.allowed.resources,
        ));
    }
    if let Some(oauth) = &clients.oauth {
        for (scope, patterns) in &oauth.scopes {
            sites.push(GrantSite {
                path: vec!["oauth".into(), "scopes".into(), scope.clone()],
                patterns,
            });
        }
    }
    for site in sites {
        for (index, pattern) in site.patterns.iter().enumerate() {
            if *pattern == ToolPattern::All || catalog.tools().any(|tool| pattern.matches(tool)) {
                continue;
            }
            let path: Vec<String> = [site.path.clone(), vec![index.to_string()]].concat();
            let names: Vec<&str> = catalog.tools().map(|tool| &*tool.name).collect();
            errors.push(map.diagnostic(
                &path,
                format!("the grant `{pattern}` matches no tool"),
                format!(
                    "grant \"*\", \"<component>_*\" or one of the tools: {}",
                    names.join(", ")
                ),
            ));
        }
    }
    for (path, patterns) in prompt_sites {
        for (index, pattern) in patterns.iter().enumerate() {
            if let PromptPattern::Name(name) = pattern
                && !prompts.contains(name)
            {
                let path: Vec<String> = [path.clone(), vec![index.to_string()]].concat();
                let known: Vec<&str> = prompts.iter().map(String::as_str).collect();
                errors.push(map.diagnostic(
                    &path,
                    format!("the grant `{name}` matches no prompt"),
                    if known.is_empty() {
                        "the manifest has no [prompts]; remove the grant".to_string()
                    } else {
                        format!("grant \"*\" or one of: {}", known.join(", "))
                    },
                ));
            }
        }
    }
    for (path, patterns) in resource_sites {
        for (index, pattern) in patterns.iter().enumerate() {
            if let ResourcePattern::Namespace(granted) = pattern
                && !namespaces.iter().any(|served| granted.overlaps(served))
            {
                let path: Vec<String> = [path.clone(), vec![index.to_string()]].concat();
                let served: Vec<String> = namespaces.iter().map(ToString::to_string).collect();
                errors.push(map.diagnostic(
                    &path,
                    format!("the grant `{granted}` matches no resource: no component serves that namespace"),
                    if served.is_empty() {
                        "no component serves resources; remove the grant".to_string()
                    } else {
                        format!("grant \"*\" or a namespace inside one served: {}", served.join(", "))
                    },
                ));
            }
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tool_grants_are_parsed_not_prefixes() {
        assert_eq!(ToolPattern::parse("*"), Ok(ToolPattern::All));
        assert_eq!(
            ToolPattern::parse("files_*"),
            Ok(ToolPattern::Component(ComponentId::parse("files").unwrap()))
        );
        assert_eq!(
            ToolPattern::parse("fetch_get"),
            Ok(ToolPattern::Tool("fetch_get".into()))
        );
        for bad in [
            "", "files*", "*_get", "Files_*", "a b", "fi*les", "files_**",
        ] {
            assert!(ToolPattern::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn rates_parse_with_bursts() {
        let rate = Rate::parse("10/s", None).unwrap();
        assert_eq!(rate.count.get(), 10);
        assert_eq!(rate.burst.get(), 10);
        assert_eq!(rate.interval(), Duration::from_millis(100));
        let rate = Rate::parse("1/m", Some(3)).unwrap();
        assert_eq!(rate.period, Duration::from_secs(60));
        assert_eq!(rate.burst.get(), 3);
        for bad in ["10", "0/s", "x/s", "10/d", "-1/s", "10/s/s"] {
            assert!(Rate::parse(bad, None).is_err(), "{bad}");
        }
    }

    #[test]
    fn resource_namespaces() {
        assert_eq!(ResourcePattern::parse("*"), Ok(ResourcePattern::All));
        assert_eq!(
            ResourcePattern::parse("notes://*"),
            Ok(ResourcePattern::Namespace(Namespace {
                scheme: "notes".into(),
                segments: vec![]
            }))
        );
        assert_eq!(
            ResourcePattern::parse("file://docs/a/*"),
            Ok(ResourcePattern::Namespace(Namespace {
                scheme: "file".into(),
                segments: vec!["docs".into(), "a".into()]
            }))
        );
        for bad in ["notes", "notes://", "notes://a*", "://*", "notes://a/*/b*"] {
            assert!(ResourcePattern::parse(bad).is_err(), "{bad}");
        }
        let granted = ResourcePattern::parse("notes://a/*").unwrap();
        assert!(granted.matches("notes://a/x.md"));
        assert!(!granted.matches("notes://ab/x.md"));
        assert!(!granted.matches("notes://a/../b/x.md"));
        assert!(granted.matches_template("notes://a/{name}"));
        assert!(!granted.matches_template("notes://{path}"));
    }

    #[test]
    fn client_names() {
        assert!(ClientName::parse("cibot").is_ok());
        assert!(ClientName::parse("ci-bot_2").is_ok());
        assert!(ClientName::parse("2bot").is_err());
        assert!(ClientName::parse("Bot").is_err());
    }
}
