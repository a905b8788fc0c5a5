//! `requires`: the MCP client capabilities a tool needs (`[components.<id>.tools.<fn>]
//! requires = ["elicitation"]`), parsed from the manifest and checked before a call runs.
//!
//! A client that did not declare one of them is refused before the guest runs: in MCP
//! 2026-07-28 with `-32021` and `data.requiredCapabilities`; in 2025-11-25 (which has no such
//! code) with an `isError` result naming what is missing.

use rmcp::model::ClientCapabilities;

use crate::manifest::{Diagnostic, SourceMap};

/// A client capability a tool may require.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Capability {
    /// `elicitation`: the client can ask its user for input.
    Elicitation,
    /// `sampling`: the client can run a model completion for the server.
    Sampling,
    /// `roots`: the client can list its roots.
    Roots,
}

/// Every capability name `requires` accepts.
pub const NAMES: &[&str] = &["elicitation", "sampling", "roots"];

impl Capability {
    /// The capability's name, as MCP and the manifest write it.
    pub fn as_str(self) -> &'static str {
        match self {
            Capability::Elicitation => "elicitation",
            Capability::Sampling => "sampling",
            Capability::Roots => "roots",
        }
    }

    fn parse(name: &str) -> Option<Self> {
        match name {
            "elicitation" => Some(Capability::Elicitation),
            "sampling" => Some(Capability::Sampling),
            "roots" => Some(Capability::Roots),
            _ => None,
        }
    }

    /// Whether `caps` declares this capability.
    pub fn declared_in(self, caps: &ClientCapabilities) -> bool {
        match self {
            Capability::Elicitation => caps.elicitation.is_some(),
            Capability::Sampling => caps.sampling.is_some(),
            Capability::Roots => caps.roots.is_some(),
        }
    }
}

/// Parses the `requires` of the tool at `path`: every name must be known (each unknown one
/// is an error at the key); duplicates are dropped; the result is sorted.
pub fn parse(
    path: &[&str],
    names: &[String],
    map: &SourceMap,
    errors: &mut Vec<Diagnostic>,
) -> Vec<Capability> {
    let mut found = Vec::new();
    for name in names {
        match Capability::parse(name) {
            Some(capability) => found.push(capability),
            None => errors.push(map.diagnostic(
                &[path, &["requires"]].concat(),
                format!("unknown client capability `{}`", name.escape_debug()),
                format!(
                    "use one of the MCP client capabilities: {}",
                    NAMES.join(", ")
                ),
            )),
        }
    }
    found.sort();
    found.dedup();
    found
}

/// The capabilities of `required` that `declared` lacks (all of them when the client
/// declared nothing).
pub fn missing(required: &[Capability], declared: Option<&ClientCapabilities>) -> Vec<Capability> {
    required
        .iter()
        .copied()
        .filter(|capability| !declared.is_some_and(|caps| capability.declared_in(caps)))
        .collect()
}

/// The `requiredCapabilities` object of a `-32021` error: each capability as an empty object.
pub fn as_client_capabilities(capabilities: &[Capability]) -> ClientCapabilities {
    let mut object = serde_json::Map::new();
    for capability in capabilities {
        object.insert(
            capability.as_str().to_string(),
            serde_json::Value::Object(serde_json::Map::new()),
        );
    }
    serde_json::from_value(serde_json::Value::Object(object)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_lists_what_the_client_did_not_declare() {
        let required = [Capability::Elicitation, Capability::Sampling];
        let caps: ClientCapabilities =
            serde_json::from_value(serde_json::json!({"elicitation": {}})).unwrap();
        assert_eq!(missing(&required, Some(&caps)), vec![Capability::Sampling]);
        assert_eq!(missing(&required, None), required.to_vec());
        assert!(missing(&[], None).is_empty());
    }

    #[test]
    fn required_capabilities_serialize_as_empty_objects() {
        let caps = as_client_capabilities(&[Capability::Elicitation]);
        let json = serde_json::to_value(caps).unwrap();
        assert!(json.get("elicitation").is_some(), "{json}");
        assert!(json.get("sampling").is_none(), "{json}");
    }
}
