//! The MCP face of Warden: an rmcp `ServerHandler` over the fixed catalog (dual-era: rmcp
//! serves MCP 2026-07-28 statelessly and 2025-11-25 with the initialize handshake).

use std::sync::Arc;
use std::time::Instant;

use rmcp::model::ResourceContents;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, ContentBlock, GetPromptRequestParams,
    GetPromptResponse, Implementation, ListPromptsResult, ListToolsResult, PaginatedRequestParams,
    ServerCapabilities, ServerConfig, Tool as McpTool,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData as McpError, RoleServer, ServerHandler};

use crate::audit::{self, CallRecord, Outcome};
use crate::call;
use crate::catalog::Catalog;
use crate::policy::ServerSettings;
use crate::prompts::Prompts;
use crate::sandbox::Sandbox;

/// The server: the catalog, the sandbox and the server-wide settings.
#[derive(Clone)]
pub struct Warden {
    catalog: Arc<Catalog>,
    listed: Arc<Vec<McpTool>>,
    prompts: Arc<Prompts>,
    sandbox: Arc<Sandbox>,
    settings: ServerSettings,
}

impl Warden {
    /// A server over `catalog`, running calls in `sandbox`.
    pub fn new(
        catalog: Catalog,
        prompts: Prompts,
        sandbox: Sandbox,
        settings: ServerSettings,
    ) -> Self {
        let listed = catalog.tools().map(|tool| tool.to_mcp()).collect();
        Warden {
            catalog: Arc::new(catalog),
            listed: Arc::new(listed),
            prompts: Arc::new(prompts),
            sandbox: Arc::new(sandbox),
            settings,
        }
    }
}

impl ServerHandler for Warden {
    fn get_info(&self) -> ServerConfig {
        let capabilities = if self.prompts.is_empty() {
            ServerCapabilities::builder().enable_tools().build()
        } else {
            ServerCapabilities::builder()
                .enable_tools()
                .enable_prompts()
                .build()
        };
        let mut info = ServerConfig::new(capabilities);
        info.server_info = Implementation::new("warden", env!("CARGO_PKG_VERSION"));
        info
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        Ok(ListToolsResult::with_all_items(self.listed.to_vec()))
    }

    async fn list_prompts(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, McpError> {
        Ok(ListPromptsResult::with_all_items(self.prompts.list()))
    }

    async fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, McpError> {
        let arguments = request.arguments.unwrap_or_default();
        let mut result = self
            .prompts
            .get(&request.name, &arguments)
            .map_err(|message| McpError::invalid_params(message, None))?;
        // Prompt text leaves the server too: redact it like tool output (images are left whole).
        let redactor = self.sandbox.redactor();
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

    fn get_tool(&self, name: &str) -> Option<McpTool> {
        self.catalog.get(name).map(|tool| tool.to_mcp())
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let arguments = request.arguments.unwrap_or_default();
        let Some(tool) = self.catalog.get(&request.name) else {
            let started = Instant::now();
            audit::record(&CallRecord {
                tool: &request.name,
                component: None,
                outcome: Outcome::UnknownTool,
                argument_bytes: serde_json::to_vec(&arguments).map_or(0, |b| b.len()),
                duration: started.elapsed(),
                fuel_used: 0,
                redactions: 0,
            });
            return Err(McpError::invalid_params(
                format!("Unknown tool: {}", request.name),
                None,
            ));
        };
        Ok(call::call(
            tool,
            &self.sandbox,
            arguments,
            &self.settings,
            self.sandbox.redactor(),
        )
        .await
        .into())
    }
}
