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
    /// Overrides of `[defaults.limits]` for this component.
    pub limits: Option<RawLimits>,
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
}
