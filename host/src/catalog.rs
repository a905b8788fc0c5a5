//! The fixed tool list: every exported function of every loaded component, named, described
//! and given its input and output schemas. Built once at start; never changes while serving.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Map, Value, json};
use wasmtime::component::types::Type;
use wasmtime::component::{InstancePre, Val};

use crate::component::{ExportedFunction, LoadedComponent};
use crate::digest::Sha256Digest;
use crate::docs::{ComponentDocs, ParamDocs, TypeDocs};
use crate::manifest::{Diagnostics, Location};
use crate::policy::{ComponentId, ComponentPolicy, HintOverrides, Limits, Policy, ToolSettings};
use crate::sandbox::CallState;
use crate::{schema, values};
use rmcp::model::ToolAnnotations;

/// Clients accept tool names of at most this many characters.
pub const MAX_TOOL_NAME: usize = 64;

/// All tools, in name order.
pub struct Catalog {
    tools: BTreeMap<String, Arc<Tool>>,
    /// Problems worth a look that do not stop the start (e.g. a tool with no description).
    pub warnings: Vec<String>,
}

/// One tool: a function of a component, with everything needed to call it.
pub struct Tool {
    /// The MCP tool name.
    pub name: Arc<str>,
    /// The component's id.
    pub component: ComponentId,
    /// The component's digest.
    pub digest: Sha256Digest,
    /// The function.
    pub function: ExportedFunction,
    /// The pre-instantiated component.
    pub pre: InstancePre<CallState>,
    /// The component's limits.
    pub limits: Limits,
    /// The component's grants.
    pub grants: Arc<crate::policy::Grants>,
    /// The annotations, derived from the grants and the operator's overrides.
    pub hints: Hints,
    /// The description shown to clients.
    pub description: Option<String>,
    /// Tools of other components this tool's name may look like, on purpose.
    pub shadows_ok: Vec<String>,
    /// Per-client limits of this tool.
    pub client_limits: crate::clients::ToolLimits,
    /// Client capabilities a caller must have declared (`requires`).
    pub requires: Vec<crate::requires::Capability>,
    /// Whether each call asks the human first (`confirm`, default `destructiveHint`).
    pub confirm: bool,
    /// Parameters whose values (redacted) the audit log may show.
    pub log_params: Vec<String>,
    /// What instruction-like text in its outputs does.
    pub output_policy: crate::policy::OutputPolicy,
    /// The component's resource namespaces: the only URIs its results may embed.
    pub namespaces: Arc<[crate::resources::Namespace]>,
    /// JSON Schema of the arguments.
    pub input_schema: Arc<Map<String, Value>>,
    /// JSON Schema of `structuredContent`, when the tool returns a value.
    pub output_schema: Option<Arc<Map<String, Value>>>,
    /// How the result maps to MCP.
    pub output: Output,
    input_validator: jsonschema::Validator,
    output_validator: Option<jsonschema::Validator>,
}

/// A tool's annotations. All four are always sent; they come from the component's grants,
/// never from the guest, unless the operator overrides them per tool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hints {
    /// `readOnlyHint`: no writable directory and no hosts.
    pub read_only: bool,
    /// `destructiveHint`: a writable directory or any host.
    pub destructive: bool,
    /// `idempotentHint`: false unless the operator says otherwise.
    pub idempotent: bool,
    /// `openWorldHint`: it has hosts.
    pub open_world: bool,
}

impl Hints {
    /// The hints `grants` imply, with `overrides` applied.
    pub fn derive(grants: &crate::policy::Grants, overrides: HintOverrides) -> Self {
        let network = !grants.hosts.is_empty();
        let writes = grants.writes_files();
        Hints {
            read_only: overrides.read_only.unwrap_or(!writes && !network),
            destructive: overrides.destructive.unwrap_or(writes || network),
            idempotent: overrides.idempotent.unwrap_or(false),
            open_world: overrides.open_world.unwrap_or(network),
        }
    }
}

/// How a function's result becomes a `CallToolResult`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Output {
    /// No result: empty content.
    Nothing,
    /// A value: a record is `structuredContent` itself, anything else is wrapped as
    /// `{"result": value}` (`wrapped`).
    Value {
        /// Whether the value is wrapped in `{"result": ...}`.
        wrapped: bool,
    },
    /// `result<T, E>`: `ok` is a normal result (shaped by `ok`), `err` is `isError`.
    Fallible {
        /// The shape of the `ok` value, if it has one.
        ok: Option<bool>,
    },
    /// `content` or `list<content>` (see [`crate::content`]), or a `result` with one of
    /// them as its `ok` type (`fallible`): MCP content blocks, no `structuredContent`.
    Content {
        /// Whether it is a `result` whose `err` is `isError`.
        fallible: bool,
    },
}

impl Tool {
    /// The values of a call's parameters from its `arguments`, once the input schema
    /// accepts them (see [`values::admit`]).
    ///
    /// # Errors
    /// The schema refuses `arguments`, or they do not convert.
    pub fn admit(&self, arguments: &Value) -> Result<Vec<Val>, values::Refused> {
        values::admit(&self.input_validator, &self.function.params, arguments)
    }

    /// Every way `structured` breaks the output schema.
    pub fn output_errors(&self, structured: &Value) -> Vec<String> {
        self.output_validator
            .as_ref()
            .map(|validator| {
                validator
                    .iter_errors(structured)
                    .map(|error| format!("{}: {error}", error.instance_path()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The tool as MCP lists it.
    pub fn to_mcp(&self) -> rmcp::model::Tool {
        let mut tool = rmcp::model::Tool::new_with_raw(
            self.name.to_string(),
            self.description.clone().map(Into::into),
            Arc::clone(&self.input_schema),
        );
        tool.output_schema = self.output_schema.clone();
        tool.annotations = Some(
            ToolAnnotations::new()
                .read_only(self.hints.read_only)
                .destructive(self.hints.destructive)
                .idempotent(self.hints.idempotent)
                .open_world(self.hints.open_world),
        );
        tool
    }
}

impl Catalog {
    /// Names every exported function of `components` and derives its schemas.
    ///
    /// # Errors
    /// Every tool name that is too long or taken twice, every per-tool setting that names
    /// no function, and every function whose types have no JSON form.
    pub fn build(
        policy: &Policy,
        components: Vec<(&ComponentPolicy, LoadedComponent)>,
    ) -> Result<Catalog, Diagnostics> {
        let mut errors = Vec::new();
        let mut warnings = Vec::new();
        let mut tools: BTreeMap<String, Arc<Tool>> = BTreeMap::new();
        let mut origins: BTreeMap<String, String> = BTreeMap::new();

        for (settings, loaded) in components {
            let id = &settings.id;
            let mut used = vec![false; settings.tools.len()];
            for (key, tool_settings) in &settings.tools {
                let owners: Vec<String> = loaded
                    .functions
                    .iter()
                    .filter(|function| &function.name == key)
                    .map(settings_key)
                    .collect();
                if owners.len() > 1 {
                    errors.push(policy.diagnostic(
                        &tool_settings.at,
                        format!(
                            "`{key}` names {} functions of component `{id}`",
                            owners.len()
                        ),
                        format!("key the settings by interface: {}", owners.join(" or ")),
                    ));
                }
            }
            for function in &loaded.functions {
                let origin = format!("`{}` of component `{id}`", qualified(function));
                let (tool_settings, at) = find_settings(settings, function, &mut used);
                let at = at.unwrap_or(&settings.at);
                let function_part = match &tool_settings.name {
                    Some(name) => name.value.clone(),
                    None => function.name.replace('-', "_"),
                };
                let name = format!("{id}_{function_part}");
                if name.len() > MAX_TOOL_NAME {
                    errors.push(policy.diagnostic(
                        at,
                        format!(
                            "tool name `{name}` ({origin}) has {} characters; clients accept at most {MAX_TOOL_NAME}",
                            name.len()
                        ),
                        format!(
                            "shorten the component id, or rename the tool: [components.{id}.tools.{}] name = \"...\"",
                            settings_key(function)
                        ),
                    ));
                    continue;
                }
                if let Some(first) = origins.get(&name) {
                    errors.push(policy.diagnostic(
                        at,
                        format!("tool name `{name}` is taken twice: by {first} and by {origin}"),
                        format!(
                            "rename one of them: [components.{id}.tools.{}] name = \"...\"",
                            settings_key(function)
                        ),
                    ));
                    continue;
                }
                let docs = loaded.docs.as_ref();
                match tool(
                    &name,
                    settings,
                    &loaded,
                    function,
                    tool_settings,
                    docs,
                ) {
                    Ok(tool) => {
                        if tool.description.is_none() {
                            warnings.push(format!(
                                "tool `{name}` has no description: document `{}` in its WIT, or set [components.{id}.tools.{}] description = \"...\"",
                                function.name,
                                settings_key(function)
                            ));
                        }
                        origins.insert(name.clone(), origin);
                        tools.insert(name, Arc::new(tool));
                    }
                    Err(reason) => errors.push(policy.diagnostic(
                        &settings.at,
                        format!("component `{id}` exports {origin}, whose signature cannot be a tool: {reason}"),
                        "change the function's WIT signature to use only value types (records, lists, strings, numbers, ...)",
                    )),
                }
            }
            for ((key, tool_settings), used) in settings.tools.iter().zip(used) {
                if !used {
                    let known: Vec<String> = loaded.functions.iter().map(settings_key).collect();
                    errors.push(policy.diagnostic(
                        &tool_settings.at,
                        format!("component `{id}` exports no function `{key}`"),
                        format!(
                            "key per-tool settings by one of its functions: {}",
                            known.join(", ")
                        ),
                    ));
                }
            }
        }
        if errors.is_empty() {
            Ok(Catalog { tools, warnings })
        } else {
            Err(Diagnostics(errors).sorted())
        }
    }

    /// The tool called `name`.
    pub fn get(&self, name: &str) -> Option<&Arc<Tool>> {
        self.tools.get(name)
    }

    /// Every tool, in name order.
    pub fn tools(&self) -> impl Iterator<Item = &Arc<Tool>> {
        self.tools.values()
    }
}

/// The per-tool settings that apply to `function`, and where they are written.
fn find_settings<'a>(
    component: &'a ComponentPolicy,
    function: &ExportedFunction,
    used: &mut [bool],
) -> (&'a ToolSettings, Option<&'a Location>) {
    static NONE: ToolSettings = ToolSettings {
        description: None,
        name: None,
        hints: HintOverrides {
            read_only: None,
            destructive: None,
            idempotent: None,
            open_world: None,
        },
        shadows_ok: Vec::new(),
        limits: crate::clients::ToolLimits {
            rate: None,
            max_concurrency: None,
        },
        confirm: None,
        log_params: Vec::new(),
        requires: Vec::new(),
    };
    let qualified_key = function
        .interface_short()
        .map(|short| format!("{short}.{}", function.name));
    let mut found = None;
    for (i, (key, settings)) in component.tools.iter().enumerate() {
        let matches_qualified = qualified_key.as_deref() == Some(key.as_str());
        if key == &function.name || matches_qualified {
            used[i] = true;
            if found.is_none() || matches_qualified {
                found = Some(settings);
            }
        }
    }
    match found {
        Some(settings) => (&settings.value, Some(&settings.at)),
        None => (&NONE, None),
    }
}

/// How per-tool settings name `function`: `name`, or `interface.name` inside an interface.
fn settings_key(function: &ExportedFunction) -> String {
    match function.interface_short() {
        Some(short) => format!("\"{short}.{}\"", function.name),
        None => function.name.clone(),
    }
}

fn qualified(function: &ExportedFunction) -> String {
    match function.interface_short() {
        Some(short) => format!("{short}.{}", function.name),
        None => function.name.clone(),
    }
}

/// Derives one tool's schemas and description.
fn tool(
    name: &str,
    component: &ComponentPolicy,
    loaded: &LoadedComponent,
    function: &ExportedFunction,
    settings: &ToolSettings,
    docs: Option<&ComponentDocs>,
) -> Result<Tool, String> {
    let function_docs =
        docs.and_then(|d| d.function(function.interface.as_deref(), &function.name));
    let mut input = schema::object(function.params.iter().cloned())?;
    if let Some(function_docs) = function_docs {
        describe_params(&mut input, &function_docs.params);
    }
    let input_validator = schema::validator(&input)?;

    let (output, output_schema) = match &function.result {
        None => (Output::Nothing, None),
        Some(ty) if crate::content::is_content_result(ty) => {
            (Output::Content { fallible: false }, None)
        }
        Some(Type::Result(result))
            if result
                .ok()
                .is_some_and(|ok| crate::content::is_content_result(&ok)) =>
        {
            if let Some(err) = result.err() {
                schema::of(&err)?;
            }
            (Output::Content { fallible: true }, None)
        }
        Some(Type::Result(result)) => match result.ok() {
            None => {
                // The error type must still have a JSON form.
                if let Some(err) = result.err() {
                    schema::of(&err)?;
                }
                (Output::Fallible { ok: None }, None)
            }
            Some(ok) => {
                if let Some(err) = result.err() {
                    schema::of(&err)?;
                }
                let (wrapped, schema) = output_schema(&ok)?;
                (Output::Fallible { ok: Some(wrapped) }, Some(schema))
            }
        },
        Some(ty) => {
            let (wrapped, schema) = output_schema(ty)?;
            (Output::Value { wrapped }, Some(schema))
        }
    };
    let output_schema = output_schema.map(|mut schema| {
        if let Some(result_docs) = function_docs.and_then(|d| d.result.as_ref()) {
            describe_output(
                &mut schema,
                result_docs,
                matches!(
                    output,
                    Output::Value { wrapped: true } | Output::Fallible { ok: Some(true) }
                ),
            );
        }
        schema
    });
    let output_validator = output_schema.as_ref().map(schema::validator).transpose()?;

    let description = settings
        .description
        .clone()
        .or_else(|| function_docs.and_then(|d| d.docs.clone()))
        .filter(|text| !text.trim().is_empty());
    let hints = Hints::derive(&component.grants, settings.hints);
    let params: Vec<&str> = function
        .params
        .iter()
        .map(|(name, _)| name.as_str())
        .collect();
    if let Some(unknown) = settings
        .log_params
        .iter()
        .find(|p| !params.contains(&p.as_str()))
    {
        return Err(format!(
            "log_params names `{unknown}`, which is not a parameter of `{}`; its parameters are: {}",
            function.name,
            params.join(", ")
        ));
    }
    Ok(Tool {
        name: name.into(),
        component: component.id.clone(),
        digest: loaded.digest,
        function: function.clone(),
        pre: loaded.pre.clone(),
        limits: component.limits,
        grants: Arc::clone(&component.grants),
        hints,
        description,
        shadows_ok: settings.shadows_ok.clone(),
        client_limits: settings.limits,
        requires: settings.requires.clone(),
        confirm: settings.confirm.unwrap_or(hints.destructive),
        log_params: settings.log_params.clone(),
        output_policy: component.output_policy,
        namespaces: component
            .resources
            .iter()
            .map(|namespace| namespace.value.clone())
            .collect(),
        input_schema: Arc::new(into_object(input)),
        output_schema: output_schema.map(|schema| Arc::new(into_object(schema))),
        output,
        input_validator,
        output_validator,
    })
}

/// The output schema of a value of `ty`: a record as itself, else `{"result": ...}`.
fn output_schema(ty: &Type) -> Result<(bool, Value), String> {
    let schema = schema::of(ty)?;
    Ok(match ty {
        Type::Record(_) => (false, schema),
        _ => (
            true,
            json!({
                "type": "object",
                "properties": {"result": schema},
                "required": ["result"],
                "additionalProperties": false,
            }),
        ),
    })
}

fn into_object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => unreachable!("schemas of parameters and outputs are objects"),
    }
}

/// Puts parameter docs, and the docs of their fields, into the input schema.
fn describe_params(input: &mut Value, params: &[ParamDocs]) {
    for param in params {
        if let Some(property) = input.pointer_mut(&format!("/properties/{}", param.name)) {
            describe(property, param.docs.as_deref(), &param.fields);
        }
    }
}

fn describe_output(output: &mut Value, docs: &TypeDocs, wrapped: bool) {
    let target = if wrapped {
        output.pointer_mut("/properties/result")
    } else {
        Some(output)
    };
    if let Some(target) = target {
        describe(target, docs.docs.as_deref(), &docs.fields);
    }
}

fn describe(schema: &mut Value, docs: Option<&str>, fields: &BTreeMap<String, String>) {
    if let Some(docs) = docs {
        schema["description"] = Value::String(docs.to_string());
    }
    for (field, text) in fields {
        if let Some(property) = schema.pointer_mut(&format!("/properties/{field}")) {
            property["description"] = Value::String(text.clone());
        }
    }
}
