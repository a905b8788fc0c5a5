//! Loads a component: checks its pinned digest and signature, compiles it, links it against what the host
//! offers (refusing any other import) and lists the functions it exports.

use std::path::Path;

use wasmtime::component::types::{ComponentItem, Type};
use wasmtime::component::{ComponentExportIndex, InstancePre};

use crate::digest::Sha256Digest;
use crate::docs::ComponentDocs;
use crate::sandbox::{CallState, Sandbox};
use crate::signature::{SignatureError, Signed, TrustedKey};

/// A compiled, linked component ready to instantiate per call.
pub struct LoadedComponent {
    /// The digest of its bytes.
    pub digest: Sha256Digest,
    /// Who signed those bytes, when a signature was checked.
    pub signed: Option<Signed>,
    /// Pre-instantiated against the host's linker.
    pub pre: InstancePre<CallState>,
    /// What it imports, by name.
    pub imports: Vec<String>,
    /// Every function it exports as a tool.
    pub functions: Vec<ExportedFunction>,
    /// Its embedded WIT docs, if it was built with the SDK.
    pub docs: Option<ComponentDocs>,
    /// Its export of `warden:tool/resources`, if it serves resources.
    pub resources: Option<ResourceExports>,
}

/// The functions of a component's `warden:tool/resources` export.
#[derive(Clone, Copy, Debug)]
pub struct ResourceExports {
    /// `list-resources`.
    pub list: ComponentExportIndex,
    /// `resource-templates`.
    pub templates: ComponentExportIndex,
    /// `read-resource`.
    pub read: ComponentExportIndex,
}

/// The interface a component exports to serve resources, without its version.
pub const RESOURCES_INTERFACE: &str = "warden:tool/resources";

/// One exported function: a tool.
#[derive(Clone, Debug)]
pub struct ExportedFunction {
    /// The export name of its interface; `None` at world level.
    pub interface: Option<String>,
    /// The WIT function name as written.
    pub name: String,
    /// Where to find it in an instance.
    pub index: ComponentExportIndex,
    /// Parameter names and types.
    pub params: Vec<(String, Type)>,
    /// The result type, if any.
    pub result: Option<Type>,
}

impl ExportedFunction {
    /// The interface's short name: `ops` for `example:text/ops@0.1.0`.
    pub fn interface_short(&self) -> Option<&str> {
        self.interface.as_deref().map(short_interface_name)
    }
}

/// `ops` for `example:text/ops@0.1.0`; a plain name is its own short name.
pub fn short_interface_name(name: &str) -> &str {
    let name = name.rsplit_once('/').map_or(name, |(_, rest)| rest);
    name.split_once('@').map_or(name, |(short, _)| short)
}

/// Why a component cannot be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file cannot be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The file's digest is not the pinned one.
    #[error("sha256 mismatch for {path}: the manifest pins {expected}, the file is {actual}")]
    DigestMismatch {
        /// The file.
        path: String,
        /// The pinned digest.
        expected: Sha256Digest,
        /// The file's digest.
        actual: Sha256Digest,
    },
    /// Its signature cannot be read or does not verify.
    #[error("signature {signature} of {path} is refused: {reason}")]
    Signature {
        /// The component file.
        path: String,
        /// The signature file.
        signature: String,
        /// Why.
        reason: SignatureError,
    },
    /// Its signature file cannot be read.
    #[error("cannot read signature {signature} of {path}: {source}")]
    SignatureRead {
        /// The component file.
        path: String,
        /// The signature file.
        signature: String,
        /// Why.
        source: std::io::Error,
    },
    /// It is not a valid component.
    #[error("{path} is not a valid WebAssembly component: {reason}")]
    Compile {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// It imports something the host does not provide.
    #[error("{path} imports `{import}`, which Warden does not provide: {reason}")]
    Import {
        /// The file.
        path: String,
        /// The import's name.
        import: String,
        /// The linker's explanation.
        reason: String,
    },
    /// Its docs section is malformed.
    #[error("{path}: {reason}")]
    Docs {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
}

/// A signature to check a component against: its `.minisig` file and the keys it may be made with.
#[derive(Clone, Copy, Debug)]
pub struct SignatureCheck<'a> {
    /// The `.minisig` file.
    pub file: &'a Path,
    /// The trusted keys.
    pub keys: &'a [TrustedKey],
}

impl LoadedComponent {
    /// Reads `path`, checks it against `pinned` (when given) and prepares it for calls.
    ///
    /// # Errors
    /// See [`LoadError`].
    pub fn load(
        sandbox: &Sandbox,
        path: &Path,
        pinned: Option<Sha256Digest>,
    ) -> Result<Self, LoadError> {
        Self::load_checked(sandbox, path, pinned, None)
    }

    /// As [`LoadedComponent::load`], and verifies `signature` (when given) over the same bytes
    /// that are hashed and compiled: the file is read once.
    ///
    /// # Errors
    /// See [`LoadError`].
    pub fn load_checked(
        sandbox: &Sandbox,
        path: &Path,
        pinned: Option<Sha256Digest>,
        signature: Option<SignatureCheck<'_>>,
    ) -> Result<Self, LoadError> {
        let shown = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|source| LoadError::Read {
            path: shown.clone(),
            source,
        })?;
        // Hash the very bytes that get compiled, before compiling them.
        let digest = Sha256Digest::of(&bytes);
        if let Some(expected) = pinned
            && expected != digest
        {
            return Err(LoadError::DigestMismatch {
                path: shown,
                expected,
                actual: digest,
            });
        }
        let signed = match signature {
            Some(check) => Some(verify_signature(&bytes, &shown, check)?),
            None => None,
        };
        let docs = ComponentDocs::read(&bytes).map_err(|reason| LoadError::Docs {
            path: shown.clone(),
            reason,
        })?;
        let component = sandbox
            .compile(&digest, &bytes)
            .map_err(|error| LoadError::Compile {
                path: shown.clone(),
                reason: format!("{error:#}"),
            })?;
        let engine = sandbox.engine();
        let component_type = component.component_type();
        let imports: Vec<String> = component_type
            .imports(engine)
            .map(|(name, _)| name.to_string())
            .collect();
        let pre = sandbox
            .linker()
            .instantiate_pre(&component)
            .map_err(|error| {
                let reason = format!("{error:#}");
                let import = imports
                    .iter()
                    .find(|name| reason.contains(name.as_str()))
                    .cloned()
                    .unwrap_or_else(|| "an import".into());
                LoadError::Import {
                    path: shown.clone(),
                    import,
                    reason,
                }
            })?;

        let mut functions = Vec::new();
        let mut resources = None;
        for (name, export) in component_type.exports(engine) {
            if name.split('@').next() == Some(RESOURCES_INTERFACE) {
                let parent = component.get_export_index(None, name);
                let function = |func: &str| {
                    component
                        .get_export_index(parent.as_ref(), func)
                        .ok_or_else(|| LoadError::Docs {
                            path: shown.clone(),
                            reason: format!(
                                "its export `{name}` has no function `{func}`: rebuild it against Warden's WIT"
                            ),
                        })
                };
                resources = Some(ResourceExports {
                    list: function("list-resources")?,
                    templates: function("resource-templates")?,
                    read: function("read-resource")?,
                });
                continue;
            }
            match export.ty {
                ComponentItem::ComponentFunc(func) => {
                    let index = component
                        .get_export_index(None, name)
                        .expect("listed export has an index");
                    functions.push(exported(None, name, index, &func));
                }
                ComponentItem::ComponentInstance(instance) if !is_host_protocol(name) => {
                    let parent = component
                        .get_export_index(None, name)
                        .expect("listed export has an index");
                    for (func_name, item) in instance.exports(engine) {
                        if let ComponentItem::ComponentFunc(func) = item.ty {
                            let index = component
                                .get_export_index(Some(&parent), func_name)
                                .expect("listed export has an index");
                            functions.push(exported(Some(name), func_name, index, &func));
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(LoadedComponent {
            digest,
            signed,
            pre,
            imports,
            functions,
            docs,
            resources,
        })
    }
}

/// Verifies the signature file of `check` over `bytes`, the component's contents.
fn verify_signature(
    bytes: &[u8],
    shown: &str,
    check: SignatureCheck<'_>,
) -> Result<Signed, LoadError> {
    let signature = check.file.display().to_string();
    let text = std::fs::read_to_string(check.file).map_err(|source| LoadError::SignatureRead {
        path: shown.to_string(),
        signature: signature.clone(),
        source,
    })?;
    crate::signature::verify(check.keys, bytes, &text).map_err(|reason| LoadError::Signature {
        path: shown.to_string(),
        signature,
        reason,
    })
}

/// Interfaces of the `wasi` and `warden` packages are protocols between host and guest,
/// not tools.
fn is_host_protocol(name: &str) -> bool {
    matches!(name.split_once(':'), Some(("wasi" | "warden", _)))
}

fn exported(
    interface: Option<&str>,
    name: &str,
    index: ComponentExportIndex,
    func: &wasmtime::component::types::ComponentFunc,
) -> ExportedFunction {
    ExportedFunction {
        interface: interface.map(str::to_string),
        name: name.to_string(),
        index,
        params: func
            .params()
            .map(|(name, ty)| (name.to_string(), ty))
            .collect(),
        result: func.results().next(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interface_names() {
        assert_eq!(short_interface_name("example:text/ops@0.1.0"), "ops");
        assert_eq!(short_interface_name("example:text/ops"), "ops");
        assert_eq!(short_interface_name("inline"), "inline");
        assert!(is_host_protocol("wasi:cli/run@0.2.0"));
        assert!(is_host_protocol("warden:tool/resources@0.1.0"));
        assert!(!is_host_protocol("example:text/ops@0.1.0"));
        assert!(!is_host_protocol("plain"));
    }
}
