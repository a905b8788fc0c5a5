//! One tool call from arguments to result: validate, run in the sandbox, shape the result,
//! check it against the output schema, and write the audit record.

use std::time::Instant;

use rmcp::model::{CallToolResult, ContentBlock, MetaObject};
use serde_json::{Map, Value, json};
use wasmtime::component::Val;

use crate::audit::{self, CallRecord, Outcome};
use crate::catalog::{Output, Tool};
use crate::policy::ServerSettings;
use crate::sandbox::{CallTarget, Sandbox};
use crate::units::ByteSize;
use crate::values;

/// Arguments nested deeper than this are refused before schema validation.
pub const MAX_ARGUMENT_DEPTH: usize = 64;

/// Calls `tool` with `arguments`: never a protocol error; every failure is an `isError` result.
pub async fn call(
    tool: &Tool,
    sandbox: &Sandbox,
    arguments: Map<String, Value>,
    settings: &ServerSettings,
) -> CallToolResult {
    let started = Instant::now();
    let arguments = Value::Object(arguments);
    let argument_bytes = serde_json::to_vec(&arguments).map_or(usize::MAX, |b| b.len());
    let mut record = CallRecord {
        tool: &tool.name,
        component: Some((tool.component.as_str(), tool.digest)),
        outcome: Outcome::InvalidArguments,
        argument_bytes,
        duration: started.elapsed(),
        fuel_used: 0,
    };
    let (outcome, result) = match check_arguments(
        tool,
        &arguments,
        argument_bytes,
        settings.max_argument_bytes,
    ) {
        Err(message) => (Outcome::InvalidArguments, error_result(message)),
        Ok(params) => {
            let report = sandbox
                .call(
                    CallTarget {
                        tool: &tool.name,
                        pre: &tool.pre,
                        function: &tool.function.index,
                        result_count: usize::from(tool.function.result.is_some()),
                        limits: tool.limits,
                        grants: &tool.grants,
                    },
                    params,
                )
                .await;
            record.fuel_used = report.fuel_used;
            match report.outcome {
                Err(failure) => (
                    Outcome::Failed(failure.kind()),
                    error_result(failure.to_string()),
                ),
                Ok(results) => shape(tool, results.first()),
            }
        }
    };
    let (outcome, mut result) = bound_output(outcome, result, settings.max_output_bytes);
    result.meta = Some(provenance(tool));
    record.outcome = outcome;
    record.duration = started.elapsed();
    audit::record(&record);
    result
}

/// Replaces a result larger than `limit` (as JSON) by an error: no partial output is sent.
fn bound_output(
    outcome: Outcome,
    result: CallToolResult,
    limit: ByteSize,
) -> (Outcome, CallToolResult) {
    let size = serde_json::to_vec(&result).map_or(usize::MAX, |bytes| bytes.len());
    if size as u64 <= limit.bytes() {
        return (outcome, result);
    }
    (
        Outcome::OutputTooLarge,
        error_result(format!(
            "the result is {size} bytes of JSON; the limit is {limit} (server.max_output_bytes), so none of it is sent"
        )),
    )
}

/// `_meta` naming where a result came from, so a client can label it as a tool's data.
fn provenance(tool: &Tool) -> MetaObject {
    let mut meta = Map::new();
    meta.insert(
        "dev.warden/provenance".into(),
        json!({
            "component": tool.component.as_str(),
            "digest": tool.digest.to_string(),
            "tool": &*tool.name,
        }),
    );
    MetaObject(meta)
}

/// Size, depth and schema checks, then conversion to component values.
fn check_arguments(
    tool: &Tool,
    arguments: &Value,
    argument_bytes: usize,
    limit: ByteSize,
) -> Result<Vec<Val>, String> {
    if argument_bytes as u64 > limit.bytes() {
        return Err(format!(
            "invalid arguments: they are {argument_bytes} bytes of JSON; the limit is {limit} (server.max_argument_bytes)"
        ));
    }
    if depth(arguments) > MAX_ARGUMENT_DEPTH {
        return Err(format!(
            "invalid arguments: they nest deeper than {MAX_ARGUMENT_DEPTH} levels"
        ));
    }
    let errors = tool.argument_errors(arguments);
    if !errors.is_empty() {
        return Err(format!("invalid arguments:\n- {}", errors.join("\n- ")));
    }
    let Value::Object(object) = arguments else {
        unreachable!("arguments are an object")
    };
    values::params_from_json(&tool.function.params, object)
        .map_err(|message| format!("invalid arguments: {message}"))
}

/// How deeply `value` nests (a scalar is 1).
fn depth(value: &Value) -> usize {
    // Iterative, so that a hostile document cannot overflow the host's stack.
    let mut deepest = 0;
    let mut stack = vec![(value, 1)];
    while let Some((value, level)) = stack.pop() {
        deepest = deepest.max(level);
        match value {
            Value::Array(items) => stack.extend(items.iter().map(|v| (v, level + 1))),
            Value::Object(map) => stack.extend(map.values().map(|v| (v, level + 1))),
            _ => {}
        }
    }
    deepest
}

/// Turns the function's result into a `CallToolResult`.
fn shape(tool: &Tool, result: Option<&Val>) -> (Outcome, CallToolResult) {
    let value = match (tool.output, result) {
        (Output::Nothing, _) | (_, None) => return (Outcome::Ok, CallToolResult::success(vec![])),
        (Output::Value { wrapped }, Some(value)) => Some((wrapped, value)),
        (Output::Fallible { ok }, Some(Val::Result(Ok(payload)))) => match (ok, payload) {
            (Some(wrapped), Some(value)) => Some((wrapped, &**value)),
            _ => None,
        },
        (Output::Fallible { .. }, Some(Val::Result(Err(payload)))) => {
            let text = match payload.as_deref().map(values::to_json) {
                None => "the tool reported an error".to_string(),
                Some(Ok(value)) => render(&value),
                Some(Err(message)) => message,
            };
            return (Outcome::ToolError, error_result(text));
        }
        (Output::Fallible { .. }, Some(_)) => {
            return (
                Outcome::InvalidOutput,
                error_result("the tool returned a value of the wrong type".into()),
            );
        }
    };
    let Some((wrapped, value)) = value else {
        return (Outcome::Ok, CallToolResult::success(vec![]));
    };
    let json = match values::to_json(value) {
        Ok(json) => json,
        Err(message) => {
            return (
                Outcome::InvalidOutput,
                error_result(format!("invalid output: {message}")),
            );
        }
    };
    let text = render(&json);
    let structured = if wrapped {
        json!({ "result": json })
    } else {
        json
    };
    let errors = tool.output_errors(&structured);
    if !errors.is_empty() {
        return (
            Outcome::InvalidOutput,
            error_result(format!(
                "invalid output: it does not match the tool's outputSchema:\n- {}",
                errors.join("\n- ")
            )),
        );
    }
    let mut result = CallToolResult::success(vec![ContentBlock::text(text)]);
    result.structured_content = Some(structured);
    (Outcome::Ok, result)
}

/// A string is its own text; anything else is its JSON.
fn render(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

fn error_result(message: String) -> CallToolResult {
    CallToolResult::error(vec![ContentBlock::text(message)])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_counts_levels() {
        assert_eq!(depth(&json!(1)), 1);
        assert_eq!(depth(&json!({"a": [1, {"b": 2}]})), 4);
        let mut deep = json!(0);
        for _ in 0..1_000 {
            deep = json!([deep]);
        }
        assert_eq!(depth(&deep), 1_001);
    }

    #[test]
    fn renders_strings_as_themselves() {
        assert_eq!(render(&json!("hi")), "hi");
        assert_eq!(render(&json!({"a": 1})), "{\"a\":1}");
    }
}
