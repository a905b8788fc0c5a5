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
use crate::sandbox::Sandbox;

/// The server: the catalog, the sandbox, the settings and the authorization state, shared by
/// every connection; each connection's handler knows its transport.
#[derive(Clone)]
pub struct Warden {
    shared: Arc<Shared>,
    transport: Transport,
    /// The log level a 2025-11-25 client set with `logging/setLevel`: one per connection
    /// (stdio) or session (HTTP); see [`Warden::over`].
    session_log: crate::notify::SessionLevel,
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
            }),
            transport: Transport::Stdio,
            session_log: crate::notify::SessionLevel::default(),
        })
    }

    /// The same server, for connections over `transport`, with session state of its own
    /// (the `logging/setLevel` level): make one per connection or session.
    pub fn over(&self, transport: Transport) -> Self {
        Warden {
            shared: Arc::clone(&self.shared),
            transport,
            session_log: crate::notify::SessionLevel::default(),
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
        if let Some(refusal) =
            self.missing_capabilities(caller, tool, context, correlation_id, &arguments)
        {
            return refusal;
        }
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
        let (extras, forwarder) = self.call_extras(tool, context);
        let result = call::call_with(
            caller,
            tool,
            &shared.sandbox,
            arguments,
            &shared.settings,
            &shared.audit,
            correlation_id,
            extras,
        )
        .await;
        drop(admission);
        // Every notification of the call goes out before its result.
        if let Err(error) = forwarder.await {
            tracing::debug!(%error, "the notification forwarder failed");
        }
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
    #[allow(
        deprecated,
        reason = "rmcp marks MCP logging deprecated (SEP-2577); both served eras still declare it"
    )]
    fn get_info(&self) -> ServerConfig {
        let capabilities = if self.shared.prompts.is_empty() {
            ServerCapabilities::builder()
                .enable_tools()
                .enable_logging()
                .build()
        } else {
            ServerCapabilities::builder()
                .enable_tools()
                .enable_prompts()
                .enable_logging()
                .build()
        };
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

    #[allow(
        deprecated,
        reason = "rmcp marks MCP logging deprecated (SEP-2577); 2025-11-25 clients still use it"
    )]
    async fn set_level(
        &self,
        request: rmcp::model::SetLevelRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        self.session_log.set(request.level);
        Ok(())
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

/// Client capabilities (`requires`), and what a call tells the client while it runs.
impl Warden {
    /// The refusal of a call whose tool `requires` capabilities the client did not declare,
    /// audited; `None` when it declared them all.
    fn missing_capabilities(
        &self,
        caller: &Caller,
        tool: &Tool,
        context: &RequestContext<RoleServer>,
        correlation_id: &str,
        arguments: &Map<String, Value>,
    ) -> Option<Result<CallToolResponse, McpError>> {
        if tool.requires.is_empty() {
            return None;
        }
        let declared = context.client_capabilities();
        let missing = crate::requires::missing(&tool.requires, declared.as_ref());
        if missing.is_empty() {
            return None;
        }
        self.refused(
            caller,
            correlation_id,
            &tool.name,
            Some(tool),
            Outcome::MissingCapability,
            arguments,
        );
        let modern = context
            .protocol_version()
            .is_some_and(|version| version >= rmcp::model::ProtocolVersion::V_2026_07_28);
        if modern {
            return Some(Err(McpError::missing_required_client_capability(
                crate::requires::as_client_capabilities(&missing),
            )));
        }
        let names: Vec<&str> = missing.iter().map(|c| c.as_str()).collect();
        Some(Ok(CallToolResult::error(vec![ContentBlock::text(format!(
            "the tool `{}` needs the client capabilities {}, which this client did not declare when it connected: the tool did not run",
            tool.name,
            names.join(", ")
        ))])
        .into()))
    }

    /// The notifier (log level, progress token) and cancellation of one call, and the task
    /// that forwards its notifications to the client.
    fn call_extras(
        &self,
        tool: &Tool,
        context: &RequestContext<RoleServer>,
    ) -> (crate::sandbox::CallExtras, tokio::task::JoinHandle<()>) {
        let token = context.meta.get_progress_token();
        let level = context.meta.log_level().or_else(|| {
            // The per-session level exists only in the handshake era.
            let modern = context
                .protocol_version()
                .is_some_and(|version| version >= rmcp::model::ProtocolVersion::V_2026_07_28);
            if modern { None } else { self.session_log.get() }
        });
        let (notifier, receiver) = crate::notify::Notifier::new(level, token.is_some());
        let forwarder = tokio::spawn(crate::notify::forward(
            context.peer.clone(),
            token,
            tool.name.to_string(),
            receiver,
        ));
        let extras = crate::sandbox::CallExtras {
            notifier,
            cancel: Some(context.ct.clone()),
        };
        (extras, forwarder)
    }
}
