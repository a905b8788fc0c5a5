//! Turns the raw manifest into typed settings: limits, pinned sources and per-tool settings.
//!
//! Every problem is collected, so that `warden check` can report them all at once.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::digest::Sha256Digest;
use crate::manifest::{Diagnostic, Diagnostics, Located, RawLimits, RawManifest, SourceMap};
use crate::units::{ByteSize, format_duration, parse_duration};

/// Default for `server.max_concurrent_calls`.
pub const DEFAULT_MAX_CONCURRENT_CALLS: usize = 64;
/// Default for `server.max_argument_bytes`.
pub const DEFAULT_MAX_ARGUMENT_BYTES: ByteSize = ByteSize(1 << 20);
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
}

/// `[server]`, with defaults applied.
#[derive(Clone, Debug)]
pub struct ServerSettings {
    /// Sandboxes alive at once.
    pub max_concurrent_calls: usize,
    /// Largest `arguments` object a call may send, as JSON.
    pub max_argument_bytes: ByteSize,
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
    /// Its limits (defaults merged with its overrides).
    pub limits: Limits,
    /// Per-tool settings, keyed by WIT function name or `<interface>.<function>`.
    pub tools: BTreeMap<String, Located<ToolSettings>>,
}

/// `[components.<id>.tools.<function>]`, checked.
#[derive(Clone, Debug, Default)]
pub struct ToolSettings {
    /// Replaces the WIT description.
    pub description: Option<String>,
    /// Replaces the function part of the tool name (already with `-` turned into `_`).
    pub name: Option<Located<String>>,
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
            let sha_path = ["components", id.as_str(), "sha256"];
            let sha256 = match component.sha256.as_deref().map(Sha256Digest::parse) {
                Some(Ok(digest)) => Some(Located {
                    value: digest,
                    at: map.locate(&sha_path),
                }),
                Some(Err(message)) => {
                    errors.push(map.diagnostic(
                        &sha_path,
                        message,
                        "pin the file's digest: `sha256sum FILE` prints it",
                    ));
                    None
                }
                None => {
                    errors.push(map.diagnostic(
                        &sha_path,
                        "missing key `sha256`: every component is pinned by digest",
                        "add `sha256 = \"<digest>\"`; `sha256sum FILE` prints it",
                    ));
                    None
                }
            };
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
                    limits,
                    tools,
                });
            }
        }

        if errors.is_empty() {
            Ok(Policy {
                file: map.file.clone(),
                server: ServerSettings {
                    max_concurrent_calls,
                    max_argument_bytes,
                },
                components,
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
