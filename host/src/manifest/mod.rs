//! Reads a manifest file into its raw form, reporting every syntax problem and unknown key.

pub mod diagnostic;
pub mod raw;

use std::path::Path;

pub use diagnostic::{Diagnostic, Diagnostics, Located, Location, SourceMap, dotted};
pub use raw::{
    RawAudit, RawClient, RawComponent, RawDefaults, RawDir, RawHttp, RawHttpServer, RawLimits,
    RawManifest, RawOAuth, RawPromptPin, RawSecret, RawServer, RawStdio, RawTool, RawTrust,
};

/// Reads and parses the manifest at `path`.
///
/// Every unknown key is an error (a typo in a security manifest must fail loudly), and all of
/// them are reported together, each with its file, line and key.
///
/// # Errors
/// The file cannot be read, is not TOML, has unknown keys, or has a value of the wrong type.
pub fn load(path: &Path) -> Result<(RawManifest, SourceMap), Diagnostics> {
    let text = std::fs::read_to_string(path).map_err(|error| {
        Diagnostics(vec![Diagnostic::new(
            path,
            &Location {
                line: 1,
                column: 1,
                key: String::new(),
            },
            format!("cannot read the manifest: {error}"),
            "pass the path of an existing manifest with `--manifest PATH`",
        )])
    })?;
    parse(path, text)
}

/// Parses manifest `text` read from `path`.
///
/// # Errors
/// As [`load`].
pub fn parse(path: &Path, text: String) -> Result<(RawManifest, SourceMap), Diagnostics> {
    let syntax_error = |map: &SourceMap, error: toml::de::Error| {
        let at = map.locate_span(error.span().unwrap_or(0..0), "");
        Diagnostic::new(
            &map.file,
            &at,
            format!("not valid TOML: {}", error.message().trim()),
            "fix the TOML syntax at this position",
        )
    };
    let keys = match toml::de::DeTable::parse(&text) {
        Ok(table) => SourceMap::key_spans(table.get_ref()),
        Err(error) => {
            let map = SourceMap::new(path.to_path_buf(), text.clone(), Default::default());
            return Err(Diagnostics(vec![syntax_error(&map, error)]));
        }
    };
    let map = SourceMap::new(path.to_path_buf(), text, keys);

    let mut unknown = Vec::new();
    let deserializer = toml::de::Deserializer::parse(map.text_ref())
        .map_err(|error| Diagnostics(vec![syntax_error(&map, error)]))?;
    let parsed: Result<RawManifest, _> =
        serde_ignored::deserialize(deserializer, |ignored| unknown.push(key_path(&ignored)));

    let mut diagnostics: Vec<Diagnostic> = unknown
        .iter()
        .map(|path| {
            let known = known_keys(path);
            map.diagnostic(
                path,
                format!("unknown key `{}`", path.last().map_or("", String::as_str)),
                if known.is_empty() {
                    "remove it".to_string()
                } else {
                    format!("remove it, or use one of the keys allowed here: {known}")
                },
            )
        })
        .collect();
    match parsed {
        Ok(manifest) if diagnostics.is_empty() => Ok((manifest, map)),
        Ok(_) => Err(Diagnostics(diagnostics).sorted()),
        Err(error) => {
            let at = map.locate_offset(error.span().map_or(0, |span| span.start));
            diagnostics.push(Diagnostic::new(
                &map.file,
                &at,
                error.message().trim().to_string(),
                "give the value the type the manifest reference in README.md shows",
            ));
            Err(Diagnostics(diagnostics).sorted())
        }
    }
}

/// The path of an ignored key, as a list of keys.
fn key_path(path: &serde_ignored::Path<'_>) -> Vec<String> {
    let mut keys = Vec::new();
    let mut current = Some(path);
    while let Some(segment) = current {
        current = match segment {
            serde_ignored::Path::Root => None,
            serde_ignored::Path::Map { parent, key } => {
                keys.push(key.clone());
                Some(*parent)
            }
            serde_ignored::Path::Seq { parent, index } => {
                keys.push(index.to_string());
                Some(*parent)
            }
            serde_ignored::Path::Some { parent }
            | serde_ignored::Path::NewtypeStruct { parent }
            | serde_ignored::Path::NewtypeVariant { parent } => Some(*parent),
        };
    }
    keys.reverse();
    keys
}

/// The keys allowed in the table that holds the key at `path`, for the error's help text.
fn known_keys(path: &[String]) -> &'static str {
    let parent: Vec<&str> = path[..path.len().saturating_sub(1)]
        .iter()
        .map(String::as_str)
        .collect();
    match parent.as_slice() {
        [] => {
            "server, defaults, components, secrets, prompts, clients, stdio, http, oauth, audit, trust"
        }
        ["audit"] => "path, fsync, on_error",
        ["trust"] => "keys, require_signatures",
        ["clients", _] => {
            "token_sha256, cert_subject, anonymous, tools, resources, prompts, rate, burst, max_concurrency"
        }
        ["stdio"] => "tools, resources, prompts, rate, burst, max_concurrency",
        ["http"] => "allowed_hosts, allowed_origins, request_timeout",
        ["oauth"] => "jwks_file, issuer, audience, scopes, rate, burst, max_concurrency",
        ["prompts", _] => "file, sha256",
        ["secrets", _] => "from_env, from_file, hosts",
        ["components", _, "dirs", _] => "host, guest, access",
        ["components", _, "http"] => {
            "connect_timeout, first_byte_timeout, between_bytes_timeout, max_response_bytes"
        }
        ["server"] => {
            "max_concurrent_calls, max_argument_bytes, max_output_bytes, description_policy"
        }
        ["defaults"] => "limits",
        ["defaults", "limits"] | ["components", _, "limits"] => "fuel, memory, timeout",
        ["components", _] => {
            "source, sha256, limits, dirs, hosts, secrets, env, http, output_policy, tools, signature"
        }
        ["components", _, "tools", _] => {
            "description, name, read_only, destructive, idempotent, open_world, shadows_ok, rate, burst, max_concurrency, confirm, log_params, requires"
        }
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(text: &str) -> Result<RawManifest, Vec<String>> {
        parse(Path::new("w.toml"), text.to_string())
            .map(|(manifest, _)| manifest)
            .map_err(|d| d.0.iter().map(ToString::to_string).collect())
    }

    #[test]
    fn reads_every_key() {
        let manifest = parse_str(
            r#"
[server]
max_concurrent_calls = 8
max_argument_bytes = "2 MiB"
[defaults.limits]
fuel = 5
[components.echo]
source = "e.wasm"
sha256 = "00"
limits = { timeout = "1s" }
[components.echo.tools.echo]
description = "d"
name = "say"
"#,
        )
        .unwrap();
        assert_eq!(manifest.server.max_concurrent_calls, Some(8));
        let echo = &manifest.components["echo"];
        assert_eq!(echo.tools["echo"].name.as_deref(), Some("say"));
        assert_eq!(echo.limits.as_ref().unwrap().timeout.as_deref(), Some("1s"));
    }

    #[test]
    fn reports_every_unknown_key_with_its_line() {
        let errors =
            parse_str("[server]\nmax_calls = 1\n[components.echo]\nsource = \"e\"\nsha = \"x\"\n")
                .unwrap_err();
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(
            errors[0].starts_with("w.toml:2:1: `server.max_calls`: unknown key"),
            "{errors:?}"
        );
        assert!(
            errors[1].starts_with("w.toml:5:1: `components.echo.sha`: unknown key"),
            "{errors:?}"
        );
        assert!(errors[1].contains("source, sha256, limits, dirs, hosts"));
    }

    #[test]
    fn reports_syntax_and_type_errors() {
        let errors = parse_str("[server\n").unwrap_err();
        assert!(errors[0].starts_with("w.toml:1:"), "{errors:?}");
        let errors = parse_str("[server]\nmax_concurrent_calls = \"many\"\n").unwrap_err();
        assert!(
            errors[0].starts_with("w.toml:2:24: `server.max_concurrent_calls`: invalid type"),
            "{errors:?}"
        );
    }
}
