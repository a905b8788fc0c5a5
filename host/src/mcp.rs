//! The MCP face of Warden: an rmcp `ServerHandler` over the fixed catalog (dual-era: rmcp
//! serves MCP 2026-07-28 statelessly and 2025-11-25 with the initialize handshake).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::Notify;
use tracing::Instrument;

use rmcp::model::ResourceContents;
use rmcp::model::{
    CacheScope, CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock,
    GetPromptRequestParams, GetPromptResponse, Implementation, ListPromptsResult, ListToolsResult,
    MetaObject, PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool as McpTool,
};
use rmcp::model::{
    ListResourceTemplatesResult, ListResourcesResult, ReadResourceRequestParams,
    ReadResourceResponse, ResourcesCapability,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData as McpError, RoleServer, ServerHandler};
use serde_json::{Map, Value, json};

use crate::audit::{self, AuditLog, Outcome, Record};
use crate::authorize::{Authorizer, Caller, Refusal, Transport};
use crate::call;
use crate::catalog::{Catalog, Tool};
use crate::clients::{Allowed, ClientLimits};
use crate::confirm::{Confirmations, StateEcho, Verdict};
use crate::policy::ServerSettings;
use crate::prompts::Prompts;
use crate::resources::Resources;
use crate::sandbox::Sandbox;

/// The server: the catalog, the sandbox, the settings and the authorization state, shared by
/// every connection; each connection's handler knows its transport.
#[derive(Clone)]
pub struct Warden {
    shared: Arc<Shared>,
    transport: Transport,
}

struct Shared {
    catalog: Catalog,
    prompts: Prompts,
    sandbox: Sandbox,
    settings: ServerSettings,
    stdio: Caller,
    authorizer: Arc<Authorizer>,
    confirmations: Confirmations,
    in_flight: InFlight,
    audit: Arc<AuditLog>,
    resources: Resources,
}

/// Calls running now, so that a shutdown can wait for them.
#[derive(Default)]
struct InFlight {
    count: AtomicUsize,
    idle: Notify,
}

/// One call counted in [`InFlight`] while it lives.
struct Running<'a>(&'a InFlight);

impl<'a> Running<'a> {
    fn start(in_flight: &'a InFlight) -> Self {
        in_flight.count.fetch_add(1, Ordering::SeqCst);
        Running(in_flight)
    }
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        if self.0.count.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

impl Warden {
    /// A server over `catalog`, running calls in `sandbox`; `stdio` is the `[stdio]` client;
    /// every call and refusal is written to `audit`.
    ///
    /// # Errors
    /// The system has no randomness for the confirmation key.
    pub fn new(
        catalog: Catalog,
        prompts: Prompts,
        sandbox: Sandbox,
        settings: ServerSettings,
        stdio: &crate::clients::ClientPolicy,
        audit: Arc<AuditLog>,
    ) -> Result<Self, getrandom::Error> {
        Ok(Warden {
            shared: Arc::new(Shared {
                catalog,
                prompts,
                sandbox,
                settings,
                stdio: Caller::of(stdio, Transport::Stdio),
                authorizer: Arc::default(),
                confirmations: Confirmations::new()?,
                in_flight: InFlight::default(),
                audit,
                resources: Resources::default(),
            }),
            transport: Transport::Stdio,
        })
    }

    /// The same server, serving `resources` too. Call it before serving (before the server is
    /// cloned for a transport).
    ///
    /// # Panics
    /// The server was already cloned.
    #[must_use]
    pub fn with_resources(mut self, resources: Resources) -> Self {
        Arc::get_mut(&mut self.shared)
            .expect("resources are set before the server is shared")
            .resources = resources;
        self
    }

    /// The same server, for connections over `transport`.
    pub fn over(&self, transport: Transport) -> Self {
        Warden {
            shared: Arc::clone(&self.shared),
            transport,
        }
    }

    /// Resolves when no call is running.
    pub async fn idle(&self) {
        let in_flight = &self.shared.in_flight;
        loop {
            let notified = in_flight.idle.notified();
            if in_flight.count.load(Ordering::SeqCst) == 0 {
                return;
            }
            notified.await;
        }
    }

    /// The audit log, which the HTTP transport also writes its refusals to.
    pub fn audit(&self) -> Arc<AuditLog> {
        Arc::clone(&self.shared.audit)
    }

    /// The limit state, which the HTTP transport also consults before dispatch.
    pub fn authorizer(&self) -> Arc<Authorizer> {
        Arc::clone(&self.shared.authorizer)
    }

    /// Who sent the request: the stdio client, or the caller the HTTP transport authenticated.
    /// An HTTP request without one (which the transport never lets through) may use nothing.
    fn caller(&self, context: &RequestContext<RoleServer>) -> Caller {
        match self.transport {
            Transport::Stdio => self.shared.stdio.clone(),
            Transport::Http => context
                .extensions
                .get::<http::request::Parts>()
                .and_then(|parts| parts.extensions.get::<Caller>())
                .cloned()
                .unwrap_or_else(|| Caller {
                    identity: "unauthenticated".into(),
                    allowed: Arc::new(Allowed::default()),
                    limits: ClientLimits {
                        rate: None,
                        max_concurrency: 1,
                    },
                    transport: Transport::Http,
                }),
        }
    }

    /// Audits a call that did not reach the sandbox.
    fn refused(
        &self,
        caller: &Caller,
        correlation_id: &str,
        name: &str,
        tool: Option<&Tool>,
        outcome: Outcome,
        arguments: &Map<String, Value>,
    ) {
        let audit = &self.shared.audit;
        let mut record = Record::new(
            correlation_id,
            &caller.identity,
            caller.transport.as_str(),
            name,
            outcome,
        );
        record.component = tool.map(|tool| (tool.component.as_str().to_string(), tool.digest));
        let log_params = tool.map_or(&[][..], |tool| &tool.log_params[..]);
        record.args = audit::summarize(arguments, log_params, audit.redactor());
        // The call is refused either way; a failed write is logged by `record`.
        audit.record(record);
    }

    async fn call_granted(
        &self,
        caller: &Caller,
        tool: &Arc<Tool>,
        request: &CallToolRequestParams,
        arguments: Map<String, Value>,
        context: &RequestContext<RoleServer>,
        correlation_id: &str,
    ) -> Result<CallToolResponse, McpError> {
        let shared = &*self.shared;
        // A confirmation round trip's second request was paid for by its first. Only a
        // confirmed tool's 2026-07-28 retry counts as one: its `requestState` is verified
        // before anything runs, so an echoed state is no way around the limits.
        let modern = context
            .protocol_version()
            .is_some_and(|version| version >= rmcp::model::ProtocolVersion::V_2026_07_28);
        let retry = tool.confirm && modern && request.request_state.is_some();
        if !retry {
            let rates = match caller.transport {
                // Over HTTP the client-wide rate was taken before dispatch (429).
                Transport::Http => Ok(()),
                Transport::Stdio => shared.authorizer.client_rate(caller),
            }
            .and_then(|()| shared.authorizer.tool_rate(caller, tool));
            if let Err(refusal) = rates {
                self.refused(
                    caller,
                    correlation_id,
                    &tool.name,
                    Some(tool),
                    Outcome::RateLimited,
                    &arguments,
                );
                return Ok(refusal_result(&refusal).into());
            }
        }
        if tool.confirm && call::arguments_acceptable(tool, &arguments, &shared.settings) {
            let echo = StateEcho {
                state: request.request_state.as_deref(),
                responses: request.input_responses.as_ref(),
            };
            let verdict = shared
                .confirmations
                .decide(
                    tool,
                    &caller.identity,
                    &arguments,
                    echo,
                    shared.sandbox.redactor(),
                    context,
                )
                .await;
            match verdict {
                Ok(Verdict::Accepted) => {}
                Ok(Verdict::Ask(ask)) => return Ok(CallToolResponse::InputRequired(ask)),
                Ok(Verdict::Declined(how)) => {
                    self.refused(
                        caller,
                        correlation_id,
                        &tool.name,
                        Some(tool),
                        Outcome::Declined,
                        &arguments,
                    );
                    return Ok(CallToolResult::error(vec![ContentBlock::text(format!(
                        "the human {how} the call of `{}`: it did not run",
                        tool.name
                    ))])
                    .into());
                }
                Ok(Verdict::Unavailable(message)) => {
                    self.refused(
                        caller,
                        correlation_id,
                        &tool.name,
                        Some(tool),
                        Outcome::Unconfirmed,
                        &arguments,
                    );
                    return Ok(CallToolResult::error(vec![ContentBlock::text(message)]).into());
                }
                Err(error) => {
                    self.refused(
                        caller,
                        correlation_id,
                        &tool.name,
                        Some(tool),
                        Outcome::Unconfirmed,
                        &arguments,
                    );
                    return Err(error);
                }
            }
        }
        let admission = match shared
            .authorizer
            .admit(caller, tool, tool.limits.timeout)
            .await
        {
            Ok(admission) => admission,
            Err(refusal) => {
                self.refused(
                    caller,
                    correlation_id,
                    &tool.name,
                    Some(tool),
                    Outcome::Busy,
                    &arguments,
                );
                return Ok(refusal_result(&refusal).into());
            }
        };
        let result = call::call(
            caller,
            tool,
            &shared.sandbox,
            arguments,
            &shared.settings,
            &shared.audit,
            correlation_id,
        )
        .await;
        drop(admission);
        Ok(result.into())
    }
}

/// The `isError` result of a limit, with when to retry (also as `_meta`, in milliseconds).
fn refusal_result(refusal: &Refusal) -> CallToolResult {
    let mut result = CallToolResult::error(vec![ContentBlock::text(refusal.to_string())]);
    if let Refusal::RateLimited { retry_after, .. } = refusal {
        let mut meta = Map::new();
        meta.insert(
            "dev.warden/retryAfterMs".into(),
            json!(
                u64::try_from(retry_after.as_millis())
                    .unwrap_or(u64::MAX)
                    .max(1)
            ),
        );
        result.meta = Some(MetaObject(meta));
    }
    result
}

impl ServerHandler for Warden {
    fn get_info(&self) -> ServerConfig {
        let capabilities = if self.shared.prompts.is_empty() {
            ServerCapabilities::builder().enable_tools().build()
        } else {
            ServerCapabilities::builder()
                .enable_tools()
                .enable_prompts()
                .build()
        };
        let mut capabilities = capabilities;
        if !self.shared.resources.is_empty() {
            // No `subscribe`, no `listChanged`: Warden offers no change notifications.
            capabilities.resources = Some(ResourcesCapability::default());
        }
        let mut info = ServerConfig::new(capabilities);
        info.server_info = Implementation::new("warden", env!("CARGO_PKG_VERSION"));
        info
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        let caller = self.caller(&context);
        let tools: Vec<McpTool> = self
            .shared
            .catalog
            .tools()
            .filter(|tool| caller.may_use(tool))
            .map(|tool| tool.to_mcp())
            .collect();
        // Each client sees its own grants: a cache must not share the list between users.
        Ok(ListToolsResult::with_all_items(tools).with_cache_scope(CacheScope::Private))
    }

    async fn list_prompts(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, McpError> {
        let caller = self.caller(&context);
        let prompts = self
            .shared
            .prompts
            .list()
            .into_iter()
            .filter(|prompt| caller.allowed.prompt(&prompt.name))
            .collect();
        Ok(ListPromptsResult::with_all_items(prompts).with_cache_scope(CacheScope::Private))
    }

    async fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, McpError> {
        let caller = self.caller(&context);
        if !caller.allowed.prompt(&request.name) {
            tracing::warn!(
                target: "warden::audit",
                client = &*caller.identity,
                transport = caller.transport.as_str(),
                prompt = request.name.as_str(),
                outcome = "not_granted",
                "prompt"
            );
            return Err(McpError::invalid_params(
                format!("unknown prompt `{}`", request.name),
                None,
            ));
        }
        let arguments = request.arguments.unwrap_or_default();
        let mut result = self
            .shared
            .prompts
            .get(&request.name, &arguments)
            .map_err(|message| McpError::invalid_params(message, None))?;
        // Prompt text leaves the server too: redact it like tool output (images are left whole).
        let redactor = self.shared.sandbox.redactor();
        let mut report = crate::redact::Report::default();
        for message in &mut result.messages {
            let text = match &mut message.content {
                ContentBlock::Text(text) => &mut text.text,
                ContentBlock::Resource(embedded) => match &mut embedded.resource {
                    ResourceContents::TextResourceContents { uri, text, .. } => {
                        *uri = redactor.redact_str(uri, &mut report).into_owned();
                        text
                    }
                    _ => continue,
                },
                _ => continue,
            };
            *text = redactor.redact_str(text, &mut report).into_owned();
        }
        Ok(result.into())
    }

    async fn list_resources(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, McpError> {
        let caller = self.caller(&context);
        let correlation_id = audit::correlation_id(context.meta.get_traceparent());
        let cursor = request.as_ref().and_then(|r| r.cursor.as_deref());
        let _running = Running::start(&self.shared.in_flight);
        let shared = &*self.shared;
        shared
            .resources
            .list(
                &shared.sandbox,
                &caller,
                cursor,
                &shared.audit,
                &correlation_id,
            )
            .await
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, McpError> {
        let caller = self.caller(&context);
        Ok(self.shared.resources.list_templates(&caller))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, McpError> {
        let _running = Running::start(&self.shared.in_flight);
        let caller = self.caller(&context);
        let traceparent = request
            .meta
            .as_ref()
            .and_then(|meta| meta.get_traceparent())
            .or_else(|| context.meta.get_traceparent());
        let correlation_id = audit::correlation_id(traceparent);
        let span = tracing::info_span!(
            "warden.resource.read",
            correlation_id = %correlation_id,
            client = &*caller.identity,
        );
        let shared = &*self.shared;
        shared
            .resources
            .read(
                &shared.sandbox,
                &caller,
                &request.uri,
                &shared.settings,
                &shared.audit,
                &correlation_id,
            )
            .instrument(span)
            .await
            .map(Into::into)
    }

    fn get_tool(&self, name: &str) -> Option<McpTool> {
        self.shared.catalog.get(name).map(|tool| tool.to_mcp())
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let _running = Running::start(&self.shared.in_flight);
        let caller = self.caller(&context);
        let traceparent = request
            .meta
            .as_ref()
            .and_then(|meta| meta.get_traceparent())
            .or_else(|| context.meta.get_traceparent());
        let correlation_id = audit::correlation_id(traceparent);
        let span = tracing::info_span!(
            "warden.tool.call",
            correlation_id = %correlation_id,
            client = &*caller.identity,
        );
        async {
            let arguments = request.arguments.clone().unwrap_or_default();
            let tool = self.shared.catalog.get(&request.name);
            let granted = tool.filter(|tool| caller.may_use(tool));
            let Some(tool) = granted else {
                // A tool the caller may not use is, to it, a tool that does not exist.
                let outcome = if tool.is_some() {
                    Outcome::NotGranted
                } else {
                    Outcome::UnknownTool
                };
                self.refused(
                    &caller,
                    &correlation_id,
                    &request.name,
                    tool.map(|t| &**t),
                    outcome,
                    &arguments,
                );
                return Err(McpError::invalid_params(
                    format!("Unknown tool: {}", request.name),
                    None,
                ));
            };
            let tool = Arc::clone(tool);
            self.call_granted(
                &caller,
                &tool,
                &request,
                arguments,
                &context,
                &correlation_id,
            )
            .await
        }
        .instrument(span)
        .await
    }
}
