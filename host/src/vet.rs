//! Vets the text a model will read before anything is served: instruction-like tool and
//! parameter descriptions, hidden Unicode, overlong text, and tool names that look like a
//! tool of another component.

use serde_json::Value;

use crate::catalog::Catalog;
use crate::confusable;
use crate::lint;
use crate::manifest::Diagnostic;
use crate::policy::{DescriptionPolicy, Policy};

/// Longest description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 2_000;

/// What vetting found: problems that refuse the start, and warnings.
#[derive(Debug, Default)]
pub struct Verdict {
    /// Problems that refuse the start.
    pub errors: Vec<Diagnostic>,
    /// Findings that only warn (under `description_policy = "warn"`).
    pub warnings: Vec<String>,
}

/// Lints every description of `catalog` and compares every pair of tool names of different
/// components.
pub fn vet(policy: &Policy, catalog: &Catalog) -> Verdict {
    let mut verdict = Verdict::default();
    let names: Vec<&str> = catalog.tools().map(|tool| &*tool.name).collect();
    let located = |component: &str| {
        policy
            .components
            .iter()
            .find(|c| c.id.as_str() == component)
            .map(|c| c.at.clone())
    };
    for tool in catalog.tools() {
        let Some(at) = located(tool.component.as_str()) else {
            continue;
        };
        let mut texts: Vec<(String, String)> = Vec::new();
        if let Some(description) = &tool.description {
            texts.push(("description".into(), description.clone()));
        }
        collect_descriptions(
            &Value::Object((*tool.input_schema).clone()),
            "inputSchema",
            &mut texts,
        );
        if let Some(output) = &tool.output_schema {
            collect_descriptions(
                &Value::Object((**output).clone()),
                "outputSchema",
                &mut texts,
            );
        }
        for (place, text) in &texts {
            for finding in lint::lint_description(text, &names, &tool.name, MAX_DESCRIPTION_CHARS) {
                let message = format!(
                    "tool `{}`: its {place} breaks rule `{}` at bytes {}..{}: {:?}",
                    tool.name, finding.rule, finding.span.start, finding.span.end, finding.excerpt
                );
                match policy.server.description_policy {
                    DescriptionPolicy::Refuse => verdict.errors.push(policy.diagnostic(
                        &at,
                        message,
                        format!(
                            "descriptions must state facts about the tool, not instruct the model: fix the component's WIT docs, override it with [components.{}.tools.<function>] description = \"...\", or set [server] description_policy = \"warn\"",
                            tool.component
                        ),
                    )),
                    DescriptionPolicy::Warn => verdict.warnings.push(message),
                }
            }
        }
    }
    let tools: Vec<_> = catalog.tools().collect();
    for (i, a) in tools.iter().enumerate() {
        for b in &tools[i + 1..] {
            if a.component == b.component || !confusable::confusable(&a.name, &b.name) {
                continue;
            }
            let allowed = a.shadows_ok.iter().any(|n| *n == *b.name)
                || b.shadows_ok.iter().any(|n| *n == *a.name);
            if allowed {
                continue;
            }
            if let Some(at) = located(b.component.as_str()) {
                verdict.errors.push(policy.diagnostic(
                    &at,
                    format!(
                        "tool `{}` (component `{}`) looks like tool `{}` (component `{}`): a model could call one for the other",
                        b.name, b.component, a.name, a.component
                    ),
                    format!(
                        "rename one of them, or, if the likeness is intended, list it: [components.{}.tools.<function>] shadows_ok = [\"{}\"]",
                        b.component, a.name
                    ),
                ));
            }
        }
    }
    verdict
}

/// Every `description` inside a JSON Schema, with where it is.
fn collect_descriptions(schema: &Value, path: &str, out: &mut Vec<(String, String)>) {
    match schema {
        Value::Object(map) => {
            for (key, value) in map {
                let here = format!("{path}/{key}");
                match (key.as_str(), value) {
                    ("description", Value::String(text)) => out.push((here, text.clone())),
                    _ => collect_descriptions(value, &here, out),
                }
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                collect_descriptions(item, &format!("{path}/{i}"), out);
            }
        }
        _ => {}
    }
}
