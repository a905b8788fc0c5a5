//! The native baseline of Warden's benchmarks: the `echo` tool of `plugins/echo` compiled
//! into a plain rmcp server, with the same tool definition (name, schemas) and the same
//! result (the message as text and as `structuredContent.result`) as `warden serve` gives
//! for `echo_echo`, and none of Warden's work: no sandbox, no validation, no audit.
//!
//! `native-echo` serves MCP over stdio; `native-echo --http ADDR` serves Streamable HTTP at
//! `/mcp`, with rmcp's default session manager and configuration.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use clap::Parser;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, JsonObject,
    ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
    ToolAnnotations,
};
use rmcp::service::RequestContext;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ErrorData as McpError, RoleServer, ServerHandler, ServiceExt};
use serde_json::{Value, json};

/// Command line of `native-echo`.
#[derive(Parser)]
#[command(about = "The echo tool in a plain rmcp server (Warden's native baseline).")]
struct Args {
    /// Serve Streamable HTTP at `/mcp` on this address instead of stdio.
    #[arg(long)]
    http: Option<SocketAddr>,
}

/// The server: one tool, `echo_echo`.
#[derive(Clone)]
struct NativeEcho {
    tool: Tool,
}

impl NativeEcho {
    fn new() -> Self {
        let object = |value: Value| -> Arc<JsonObject> {
            match value {
                Value::Object(map) => Arc::new(map),
                _ => unreachable!("a JSON object literal"),
            }
        };
        let schema = |field: &str| {
            object(json!({
                "type": "object",
                "properties": { field: { "type": "string" } },
                "required": [field],
                "additionalProperties": false,
            }))
        };
        let mut tool = Tool::new(
            "echo_echo",
            "Return the message unchanged.",
            schema("message"),
        );
        tool.output_schema = Some(schema("result"));
        tool.annotations = Some(ToolAnnotations::from_raw(
            None,
            Some(true),
            Some(false),
            Some(false),
            Some(false),
        ));
        NativeEcho { tool }
    }
}

impl ServerHandler for NativeEcho {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        Ok(ListToolsResult::with_all_items(vec![self.tool.clone()]))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        if request.name != self.tool.name {
            return Err(McpError::invalid_params(
                format!("Unknown tool: {}", request.name),
                None,
            ));
        }
        let message = match request.arguments.as_ref().and_then(|a| a.get("message")) {
            Some(Value::String(message)) => message.clone(),
            _ => {
                return Ok(CallToolResult::error(vec![ContentBlock::text(
                    "invalid arguments: `message` must be a string",
                )])
                .into());
            }
        };
        let mut result = CallToolResult::success(vec![ContentBlock::text(message.clone())]);
        result.structured_content = Some(json!({ "result": message }));
        Ok(result.into())
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    match args.http {
        None => {
            let running = NativeEcho::new()
                .serve(rmcp::transport::stdio())
                .await
                .context("cannot start the stdio server")?;
            running.waiting().await?;
        }
        Some(addr) => {
            let service = StreamableHttpService::new(
                || Ok(NativeEcho::new()),
                Arc::new(LocalSessionManager::default()),
                StreamableHttpServerConfig::default(),
            );
            let app = axum::Router::new().route_service("/mcp", service);
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("cannot listen on {addr}"))?;
            axum::serve(listener, app).await?;
        }
    }
    Ok(())
}
