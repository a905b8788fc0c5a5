//! The MCP face of Warden: an rmcp `ServerHandler` over the fixed catalog (dual-era: rmcp
//! serves MCP 2026-07-28 statelessly and 2025-11-25 with the initialize handshake).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use tokio::sync::Notify;
use tracing::Instrument;

use rmcp::model::ResourceContents;
use rmcp::model::SubscriptionFilter;
use rmcp::model::{
    CacheScope, CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock,
    GetPromptRequestParams, GetPromptResponse, Implementation, ListPromptsResult, ListToolsResult,
    MetaObject, PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool as McpTool,
};
use rmcp::model::{ElicitRequest, ElicitResult, InputRequest, InputRequests, InputRequiredResult};
use rmcp::model::{
    ListResourceTemplatesResult, ListResourcesResult, ReadResourceRequestParams,
    ReadResourceResponse, ResourcesCapability,
};
use rmcp::service::{
    NotificationContext, Peer, RequestContext, SubscriptionContext, SubscriptionSink,
};
use rmcp::{ErrorData as McpError, RoleServer, ServerHandler};
use serde_json::{Map, Value, json};

use crate::audit::{self, AuditLog, Outcome, Record};
use crate::authorize::{Authorizer, Caller, Refusal, Transport};
use crate::call;
use crate::catalog::{Catalog, Tool};
use crate::clients::{Allowed, ClientLimits};
use crate::confirm::{Retry, Verdict};
use crate::elicit::{Channel, Questions};
use crate::policy::ServerSettings;
use crate::prompts::Prompts;
use crate::request_state::{Binding, Continuation, RequestStates};
use crate::resources::Resources;
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
    served: RwLock<Arc<Served>>,
    settings: ServerSettings,
    stdio: Caller,
    authorizer: Arc<Authorizer>,
    states: RequestStates,
    in_flight: InFlight,
    audit: Arc<AuditLog>,
    listeners: Listeners,
}

/// What the server offers now: the catalog, the prompts, and the sandbox their calls run in.
/// A reload (`serve --watch`) replaces it whole; each request keeps the one it started with.
pub struct Served {
    /// The tools.
    pub catalog: Catalog,
    /// The prompts.
    pub prompts: Prompts,
    /// Where calls run.
    pub sandbox: Sandbox,
    /// The resources components serve.
    pub resources: Resources,
}

/// What a reload changed, so that clients are told only about lists that changed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Changed {
    /// Some tool was added, removed, or changed what a client sees of it.
    pub tools: bool,
    /// Some prompt was added, removed or changed.
    pub prompts: bool,
    /// Some component that serves resources was added, removed, or changed its binary,
    /// namespaces or templates.
    pub resources: bool,
}

/// The clients to tell when the lists change: legacy sessions (told on their session) and
/// 2026-07-28 `subscriptions/listen` streams. Only filled while list changes are announced.
#[derive(Default)]
struct Listeners {
    /// Whether the lists can change at all (`serve --watch`), which the capabilities say.
    announced: std::sync::atomic::AtomicBool,
    sessions: Mutex<Vec<Peer<RoleServer>>>,
    streams: Mutex<Vec<SubscriptionSink>>,
}

impl Listeners {
    /// Tells every live session and stream what `changed`, forgetting the ones that are gone.
    async fn tell(&self, changed: Changed) {
        let sessions: Vec<_> = {
            let mut sessions = lock(&self.sessions);
            sessions.retain(|peer| !peer.is_transport_closed());
            sessions.clone()
        };
        for peer in sessions {
            // A session that closed since is forgotten at the next change.
            if changed.tools {
                let _ = peer.notify_tool_list_changed().await;
            }
            if changed.prompts {
                let _ = peer.notify_prompt_list_changed().await;
            }
            if changed.resources {
                let _ = peer.notify_resource_list_changed().await;
            }
        }
        let streams: Vec<_> = lock(&self.streams).clone();
        for sink in streams {
            if changed.tools {
                let _ = sink.notify_tool_list_changed().await;
            }
            if changed.prompts {
                let _ = sink.notify_prompt_list_changed().await;
            }
            if changed.resources {
                let _ = sink.notify_resource_list_changed().await;
            }
        }
    }
}

/// Locks `mutex`; a panic elsewhere while holding it leaves a list that is still whole.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
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
                served: RwLock::new(Arc::new(Served {
                    catalog,
                    prompts,
                    sandbox,
                    resources: Resources::default(),
                })),
                settings,
                stdio: Caller::of(stdio, Transport::Stdio),
                authorizer: Arc::default(),
                states: RequestStates::new()?,
                in_flight: InFlight::default(),
                audit,
                listeners: Listeners::default(),
            }),
            transport: Transport::Stdio,
            session_log: crate::notify::SessionLevel::default(),
        })
    }

    /// What is served now.
    pub fn served(&self) -> Arc<Served> {
        Arc::clone(
            &self
                .shared
                .served
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }

    /// Announces `listChanged` for tools, prompts and resources: the catalog may be reloaded.
    pub fn announce_list_changes(&self) {
        self.shared
            .listeners
            .announced
            .store(true, Ordering::SeqCst);
    }

    /// Serves `next` from now on: requests already running finish with what they started
    /// with. The audit log redacts with the new secrets too, and every client listening is
    /// told which lists changed.
    pub async fn reload(&self, next: Served) -> Changed {
        let next = Arc::new(next);
        let previous = {
            let mut served = self
                .shared
                .served
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            std::mem::replace(&mut *served, Arc::clone(&next))
        };
        self.shared
            .audit
            .set_redactor(Arc::clone(next.sandbox.redactor()));
        let changed = Changed {
            tools: tool_list(&previous.catalog) != tool_list(&next.catalog),
            prompts: previous.prompts.list() != next.prompts.list(),
            resources: previous.resources.fingerprint() != next.resources.fingerprint(),
        };
        self.shared.listeners.tell(changed).await;
        changed
    }

    /// The same server, serving `resources` too. Call it before serving (before the server is
    /// cloned for a transport).
    ///
    /// # Panics
    /// The server was already cloned.
    #[must_use]
    pub fn with_resources(mut self, resources: Resources) -> Self {
        let shared =
            Arc::get_mut(&mut self.shared).expect("resources are set before the server is shared");
        let served = shared
            .served
            .get_mut()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Arc::get_mut(served)
            .expect("resources are set before the server is shared")
            .resources = resources;
        self
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
        let served = self.served();
        let mut record = Record::new(
            correlation_id,
            &caller.identity,
            caller.transport.as_str(),
            name,
            outcome,
        );
        record.component = tool.map(|tool| (tool.component.as_str().to_string(), tool.digest));
        let log_params = tool.map_or(&[][..], |tool| &tool.log_params[..]);
        record.args = audit::summarize(arguments, log_params, served.sandbox.redactor());
        // The call is refused either way; a failed write is logged by `record`.
        audit.record(record);
    }

    async fn call_granted(
        &self,
        caller: &Caller,
        tool: &Arc<Tool>,
        mut request: CallToolRequestParams,
        context: &RequestContext<RoleServer>,
        correlation_id: &str,
        served: &Served,
    ) -> Result<CallToolResponse, McpError> {
        let shared = &*self.shared;
        let arguments = request.arguments.take().unwrap_or_default();
        let refuse = |outcome| {
            self.refused(
                caller,
                correlation_id,
                &tool.name,
                Some(tool),
                outcome,
                &arguments,
            );
        };
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
                refuse(Outcome::RateLimited);
                return Ok(refusal_result(&refusal).into());
            }
        }
        // A 2026-07-28 retry continues from its sealed state, and brings the answers to the
        // questions asked (confirmation, or the tool's own).
        let binding = Binding::new(&caller.identity, &tool.name, &arguments);
        let continuation = match request.request_state.as_deref().filter(|_| modern) {
            Some(state) => match shared.states.open(state, &binding) {
                Ok(continuation) => Some(continuation),
                Err(error) => {
                    let outcome = if tool.confirm {
                        Outcome::Unconfirmed
                    } else {
                        Outcome::InvalidArguments
                    };
                    refuse(outcome);
                    return Err(error);
                }
            },
            None => None,
        };
        let answers = match answers(continuation.as_ref(), request.input_responses.as_ref()) {
            Ok(answers) => answers,
            Err(error) => {
                refuse(Outcome::InvalidArguments);
                return Err(error);
            }
        };
        if tool.confirm && call::arguments_acceptable(tool, &arguments, &shared.settings) {
            let retry = Retry {
                continuation: continuation.as_ref(),
                responses: request.input_responses.as_ref(),
            };
            let verdict = crate::confirm::decide(
                tool,
                &arguments,
                retry,
                (&shared.states, &binding),
                served.sandbox.redactor(),
                context,
            )
            .await;
            match verdict {
                Ok(Verdict::Accepted) => {}
                Ok(Verdict::Ask(ask)) => return Ok(CallToolResponse::InputRequired(ask)),
                Ok(Verdict::Declined(how)) => {
                    refuse(Outcome::Declined);
                    return Ok(CallToolResult::error(vec![ContentBlock::text(format!(
                        "the human {how} the call of `{}`: it did not run",
                        tool.name
                    ))])
                    .into());
                }
                Ok(Verdict::Unavailable(message)) => {
                    refuse(Outcome::Unconfirmed);
                    return Ok(CallToolResult::error(vec![ContentBlock::text(message)]).into());
                }
                Err(error) => {
                    refuse(Outcome::Unconfirmed);
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
                refuse(Outcome::Busy);
                return Ok(refusal_result(&refusal).into());
            }
        };
        let (extras, forwarder) = self.call_extras(tool, context, answers.clone());
        let call = call::call_with(
            caller,
            tool,
            &served.sandbox,
            arguments,
            &shared.settings,
            &shared.audit,
            correlation_id,
            extras,
        );
        // The forwarder runs beside the call in this task (it sends whenever the call yields,
        // at least every million fuel) and ends when the call's store is dropped, so every
        // notification of the call goes out before its result.
        let result = match forwarder {
            None => call.await,
            Some(forwarder) => tokio::join!(call, forwarder).0,
        };
        drop(admission);
        match result {
            call::Called::Done(result) => Ok(result.into()),
            call::Called::Asked(question) => {
                // Whoever got this far was confirmed (or needed no confirmation).
                let next = Continuation {
                    confirmed: tool.confirm,
                    answers,
                };
                let state = shared.states.seal(&next, &binding)?;
                let mut requests = InputRequests::new();
                requests.insert(
                    question.key,
                    InputRequest::Elicitation(ElicitRequest::new(question.params)),
                );
                Ok(CallToolResponse::InputRequired(InputRequiredResult::new(
                    Some(requests),
                    Some(state),
                )))
            }
        }
    }
}

/// The answers a 2026-07-28 retry brings: those its state carried, and its `inputResponses`
/// (except the confirmation's), each of which must be an elicitation result.
///
/// # Errors
/// `-32602` naming a response that is not an elicitation result.
fn answers(
    continuation: Option<&Continuation>,
    responses: Option<&rmcp::model::InputResponses>,
) -> Result<std::collections::BTreeMap<String, ElicitResult>, McpError> {
    let mut answers = continuation
        .map(|continuation| continuation.answers.clone())
        .unwrap_or_default();
    for (key, value) in responses.into_iter().flatten() {
        if key == crate::confirm::INPUT_KEY {
            continue;
        }
        let answer = serde_json::from_value::<ElicitResult>(value.clone()).map_err(|error| {
            McpError::invalid_params(
                format!("inputResponses.{key} is not an elicitation result ({error})"),
                None,
            )
        })?;
        answers.insert(key.clone(), answer);
    }
    Ok(answers)
}

/// How a call of `tool` asks the human: a request on the session (2025-11-25), or
/// `input_required` with `answers` known so far (2026-07-28) when the client can answer.
fn questions(
    tool: &Tool,
    context: &RequestContext<RoleServer>,
    answers: std::collections::BTreeMap<String, ElicitResult>,
) -> Questions {
    let modern = context
        .protocol_version()
        .is_some_and(|version| version >= rmcp::model::ProtocolVersion::V_2026_07_28);
    let channel = if !modern {
        Channel::Request(context.peer.clone())
    } else if context
        .client_capabilities()
        .is_some_and(|caps| crate::confirm::can_elicit_form(&caps))
    {
        Channel::Retry
    } else {
        Channel::Closed(
            "the client cannot answer questions (it did not declare the elicitation capability)"
                .into(),
        )
    };
    let asker = format!(
        "The tool `{}` (component `{}`, sha256 {})",
        tool.name,
        tool.component,
        &tool.digest.to_string()[..16]
    );
    Questions::new(channel, answers, asker, tool.limits.timeout)
}

/// A request's W3C `traceparent`: from its own `_meta`, else from the transport's context.
fn traceparent<'a>(
    own: Option<&'a rmcp::model::RequestMetaObject>,
    context: &'a RequestContext<RoleServer>,
) -> Option<&'a str> {
    own.and_then(|meta| meta.get_traceparent())
        .or_else(|| context.meta.get_traceparent())
}

/// What a client sees of every tool, to tell whether a reload changed the tool list.
fn tool_list(catalog: &Catalog) -> Vec<McpTool> {
    catalog.tools().map(|tool| tool.to_mcp()).collect()
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
        let changes = self.shared.listeners.announced.load(Ordering::SeqCst);
        let served = self.served();
        let mut capabilities = if served.prompts.is_empty() && !changes {
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
        if changes {
            // Both lists can change when the catalog is reloaded (`serve --watch`).
            for list_changed in [
                capabilities
                    .tools
                    .as_mut()
                    .map(|tools| &mut tools.list_changed),
                capabilities
                    .prompts
                    .as_mut()
                    .map(|prompts| &mut prompts.list_changed),
            ]
            .into_iter()
            .flatten()
            {
                *list_changed = Some(true);
            }
        }
        // `completion/complete` is answered, with no suggestions: Warden has no source of
        // completions that would not be guesswork (rmcp's default handler answers it).
        capabilities.completions = Some(Default::default());
        if !served.resources.is_empty() || changes {
            // No `subscribe`: Warden offers no notice of a resource's contents changing, only
            // of the list changing when the catalog is reloaded (`serve --watch`).
            let mut resources = ResourcesCapability::default();
            resources.list_changed = changes.then_some(true);
            capabilities.resources = Some(resources);
        }
        let mut info = ServerConfig::new(capabilities);
        info.server_info = Implementation::new("warden", env!("CARGO_PKG_VERSION"));
        info
    }

    async fn on_initialized(&self, context: NotificationContext<RoleServer>) {
        // A legacy session: told on its own channel when the lists change.
        if self.shared.listeners.announced.load(Ordering::SeqCst) {
            lock(&self.shared.listeners.sessions).push(context.peer);
        }
    }

    fn accepted_subscription_filter(
        &self,
        _requested: &SubscriptionFilter,
    ) -> Option<SubscriptionFilter> {
        // Only list changes are offered, and only when the lists can change.
        self.shared
            .listeners
            .announced
            .load(Ordering::SeqCst)
            .then(|| {
                SubscriptionFilter::builder()
                    .tools_list_changed()
                    .prompts_list_changed()
                    .resources_list_changed()
                    .build()
            })
    }

    async fn listen(&self, context: SubscriptionContext) -> Result<(), McpError> {
        let streams = &self.shared.listeners.streams;
        let id = context.sink().id().clone();
        lock(streams).push(context.sink().clone());
        context.cancelled().await;
        lock(streams).retain(|sink| *sink.id() != id);
        Ok(())
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        let caller = self.caller(&context);
        let tools: Vec<McpTool> = self
            .served()
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
            .served()
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
        let arguments = request.arguments.clone().unwrap_or_default();
        let served = self.served();
        let prompts = &served.prompts;
        // A prompt the caller may not use is, to it, a prompt that does not exist.
        let refused = if !prompts.contains(&request.name) {
            Some(Outcome::UnknownPrompt)
        } else if !caller.allowed.prompt(&request.name) {
            Some(Outcome::NotGranted)
        } else {
            None
        };
        let rendered = match refused {
            Some(_) => Err(format!("Unknown prompt: {}", request.name)),
            None => prompts.get(&request.name, &arguments),
        };
        let mut result = match rendered {
            Ok(result) => result,
            Err(message) => {
                audit::prompt_refusal(
                    &self.shared.audit,
                    &audit::correlation_id(traceparent(request.meta.as_ref(), &context)),
                    (&caller.identity, caller.transport.as_str()),
                    &request.name,
                    refused.unwrap_or(Outcome::InvalidArguments),
                    &arguments,
                );
                return Err(McpError::invalid_params(message, None));
            }
        };
        // Prompt text leaves the server too: redact it like tool output (images are left whole).
        let redactor = served.sandbox.redactor();
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
        let served = self.served();
        served
            .resources
            .list(
                &served.sandbox,
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
        Ok(self.served().resources.list_templates(&caller))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, McpError> {
        let _running = Running::start(&self.shared.in_flight);
        let caller = self.caller(&context);
        let traceparent = traceparent(request.meta.as_ref(), &context);
        let correlation_id = audit::correlation_id(traceparent);
        let span = tracing::info_span!(
            "warden.resource.read",
            correlation_id = %correlation_id,
            client = &*caller.identity,
        );
        let shared = &*self.shared;
        let served = self.served();
        served
            .resources
            .read(
                &served.sandbox,
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
        self.served().catalog.get(name).map(|tool| tool.to_mcp())
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let _running = Running::start(&self.shared.in_flight);
        let caller = self.caller(&context);
        let traceparent = traceparent(request.meta.as_ref(), &context);
        let correlation_id = audit::correlation_id(traceparent);
        let span = tracing::info_span!(
            "warden.tool.call",
            correlation_id = %correlation_id,
            client = &*caller.identity,
        );
        #[cfg(feature = "otlp")]
        crate::telemetry::join_trace(&span, traceparent, &correlation_id);
        async move {
            let served = self.served();
            let tool = served.catalog.get(&request.name);
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
                    request.arguments.as_ref().unwrap_or(&Map::new()),
                );
                return Err(McpError::invalid_params(
                    format!("Unknown tool: {}", request.name),
                    None,
                ));
            };
            let tool = Arc::clone(tool);
            self.call_granted(&caller, &tool, request, &context, &correlation_id, &served)
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

    /// The notifier (log level, progress token), cancellation and questions (with the
    /// `answers` known so far) of one call, and the future that forwards its notifications
    /// to the client: none when the client asked for neither log messages nor progress.
    fn call_extras(
        &self,
        tool: &Tool,
        context: &RequestContext<RoleServer>,
        answers: std::collections::BTreeMap<String, ElicitResult>,
    ) -> (
        crate::sandbox::CallExtras,
        Option<impl Future<Output = ()> + use<>>,
    ) {
        let token = context.meta.get_progress_token();
        let level = context.meta.log_level().or_else(|| {
            // The per-session level exists only in the handshake era.
            let modern = context
                .protocol_version()
                .is_some_and(|version| version >= rmcp::model::ProtocolVersion::V_2026_07_28);
            if modern { None } else { self.session_log.get() }
        });
        let cancel = Some(context.ct.clone());
        let questions = questions(tool, context, answers);
        if level.is_none() && token.is_none() {
            let notifier = crate::notify::Notifier::none();
            let extras = crate::sandbox::CallExtras {
                notifier,
                cancel,
                questions,
            };
            return (extras, None);
        }
        let (notifier, receiver) = crate::notify::Notifier::new(level, token.is_some());
        let forwarder =
            crate::notify::forward(context.peer.clone(), token, tool.name.to_string(), receiver);
        let extras = crate::sandbox::CallExtras {
            notifier,
            cancel,
            questions,
        };
        (extras, Some(forwarder))
    }
}
