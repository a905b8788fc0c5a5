//! The MCP face of Warden: an rmcp `ServerHandler` over the fixed catalog (dual-era: rmcp
//! serves MCP 2026-07-28 statelessly and 2025-11-25 with the initialize handshake).

use std::sync::Arc;
use std::time::Instant;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, Implementation, ListToolsResult,
    PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool as McpTool,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData as McpError, RoleServer, ServerHandler};

use crate::audit::{self, CallRecord, Outcome};
use crate::call;
use crate::catalog::Catalog;
use crate::sandbox::Sandbox;
use crate::units::ByteSize;

/// The server: the catalog, the sandbox and the server-wide settings.
#[derive(Clone)]
pub struct Warden {
    catalog: Arc<Catalog>,
    listed: Arc<Vec<McpTool>>,
    sandbox: Arc<Sandbox>,
    max_argument_bytes: ByteSize,
}

impl Warden {
    /// A server over `catalog`, running calls in `sandbox`.
    pub fn new(catalog: Catalog, sandbox: Sandbox, max_argument_bytes: ByteSize) -> Self {
        let listed = catalog.tools().map(|tool| tool.to_mcp()).collect();
        Warden {
            catalog: Arc::new(catalog),
            listed: Arc::new(listed),
            sandbox: Arc::new(sandbox),
            max_argument_bytes,
        }
    }
}

impl ServerHandler for Warden {
    fn get_info(&self) -> ServerConfig {
        let mut info = ServerConfig::new(ServerCapabilities::builder().enable_tools().build());
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
            });
            return Err(McpError::invalid_params(
                format!("Unknown tool: {}", request.name),
                None,
            ));
        };
        Ok(
            call::call(tool, &self.sandbox, arguments, self.max_argument_bytes)
                .await
                .into(),
        )
    }
}
