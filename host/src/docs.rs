//! Reads the WIT documentation a component carries in its `warden-docs` custom section.
//!
//! wit-bindgen drops WIT doc comments from a built component, so the SDK's `tool!` macro
//! embeds them as JSON in a custom section of the core module. This text comes from the
//! component, so it is as untrusted as the component itself.

use std::collections::BTreeMap;

use serde::Deserialize;

/// The custom section's name.
pub const SECTION: &str = "warden-docs";

/// The docs of every exported function.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct ComponentDocs {
    /// Format version; this host reads version 1.
    pub version: u32,
    /// The world the component was built for.
    pub world: String,
    /// One entry per exported function.
    pub functions: Vec<FunctionDocs>,
}

/// The docs of one exported function.
#[derive(Clone, Debug, Deserialize)]
pub struct FunctionDocs {
    /// The export name of its interface; `None` for a world-level function.
    pub interface: Option<String>,
    /// The WIT function name as written.
    pub name: String,
    /// The function's doc comment.
    pub docs: Option<String>,
    /// Docs of each parameter's type.
    #[serde(default)]
    pub params: Vec<ParamDocs>,
    /// Docs of the result type.
    pub result: Option<TypeDocs>,
}

/// Docs of a parameter's type.
#[derive(Clone, Debug, Deserialize)]
pub struct ParamDocs {
    /// The parameter name.
    pub name: String,
    /// The doc comment of its named type.
    pub docs: Option<String>,
    /// Docs of the type's fields, cases or flags, by name.
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
}

/// Docs of a result type.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct TypeDocs {
    /// The doc comment of the named type.
    pub docs: Option<String>,
    /// Docs of its fields, cases or flags, by name.
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
}

impl ComponentDocs {
    /// Reads the `warden-docs` section of `wasm`, wherever it is nested; `Ok(None)` when
    /// the component has none (it was not built with the SDK).
    ///
    /// # Errors
    /// The binary cannot be parsed, or the section is not valid docs JSON.
    pub fn read(wasm: &[u8]) -> Result<Option<Self>, String> {
        for payload in wasmparser::Parser::new(0).parse_all(wasm) {
            let payload = payload.map_err(|e| format!("cannot parse the component: {e}"))?;
            if let wasmparser::Payload::CustomSection(section) = payload
                && section.name() == SECTION
            {
                let docs: ComponentDocs = serde_json::from_slice(section.data())
                    .map_err(|e| format!("its `{SECTION}` section is not valid: {e}"))?;
                if docs.version != 1 {
                    return Err(format!(
                        "its `{SECTION}` section has version {}; this Warden reads version 1",
                        docs.version
                    ));
                }
                return Ok(Some(docs));
            }
        }
        Ok(None)
    }

    /// The docs of function `name` in `interface`.
    pub fn function(&self, interface: Option<&str>, name: &str) -> Option<&FunctionDocs> {
        self.functions
            .iter()
            .find(|f| f.interface.as_deref() == interface && f.name == name)
    }
}
