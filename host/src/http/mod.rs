//! The Streamable HTTP transport: Warden's own accept loop (plain TCP or rustls, with client
//! certificates), axum routing, the [`auth`] gate, rmcp's Streamable HTTP service (MCP
//! 2026-07-28 stateless, 2025-11-25 with sessions) at `/mcp`, the OAuth protected-resource
//! metadata, and a graceful shutdown that lets calls in flight finish.

pub mod auth;
pub mod oauth;
pub mod origin;
pub mod tls;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::routing::get;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

use crate::authorize::Transport;
use crate::clients::Clients;
use crate::http::auth::{Gate, GateConfig, Peer};
use crate::http::oauth::JwtVerifier;
use crate::mcp::Warden;

/// Time a TLS handshake may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// How to serve HTTP.
pub struct HttpOptions {
    /// The address to listen on.
    pub addr: SocketAddr,
    /// TLS, when configured.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// Largest request body.
    pub body_limit: usize,
    /// Longest time calls in flight get to finish at shutdown.
    pub drain: Duration,
}

/// Serves MCP over HTTP until `shutdown` is cancelled, then finishes the calls in flight.
///
/// # Errors
/// The address cannot be bound, or the OAuth keys cannot be read.
pub async fn serve(
    warden: Warden,
    clients: Clients,
    options: HttpOptions,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let jwt = match &clients.oauth {
        Some(policy) => Some(
            JwtVerifier::load(
                &policy.jwks_file.value,
                policy.issuer.clone(),
                policy.audience.clone(),
            )
            .context("cannot set up [oauth]")?,
        ),
        None => None,
    };
    let metadata = clients.oauth.as_ref().map(|policy| {
        let scopes: Vec<String> = policy.scopes.keys().cloned().collect();
        oauth::protected_resource_metadata(&policy.audience, &policy.issuer, &scopes)
    });
    let metadata_url = clients
        .oauth
        .as_ref()
        .and_then(|policy| metadata_url(&policy.audience));

    // rmcp repeats the Host and Origin checks with the same lists (defence in depth).
    let mcp_shutdown = CancellationToken::new();
    let config = StreamableHttpServerConfig::default()
        .with_allowed_hosts(clients.http.hosts.entries().to_vec())
        .with_allowed_origins(clients.http.origins.entries().to_vec())
        .with_max_request_body_bytes(options.body_limit)
        .with_cancellation_token(mcp_shutdown.clone());
    let http_warden = warden.over(Transport::Http);
    let service = StreamableHttpService::new(
        // A handler per session: each has its own `logging/setLevel` level.
        move || Ok(http_warden.over(Transport::Http)),
        Arc::new(LocalSessionManager::default()),
        config,
    );
    let request_timeout = clients.http.request_timeout;
    let gate = Arc::new(Gate::new(GateConfig {
        hosts: clients.http.hosts.clone(),
        origins: clients.http.origins.clone(),
        clients,
        jwt,
        resource_metadata: metadata_url,
        body_limit: options.body_limit,
        request_timeout,
        authorizer: warden.authorizer(),
        audit: warden.audit(),
    }));
    let mut app =
        Router::new()
            .route_service("/mcp", service)
            .layer(axum::middleware::from_fn_with_state(
                Arc::clone(&gate),
                auth::gate,
            ));
    if let Some(metadata) = metadata {
        let document = Arc::new(metadata);
        let handler = move || {
            let document = Arc::clone(&document);
            async move { axum::Json((*document).clone()) }
        };
        app = app
            .route(
                "/.well-known/oauth-protected-resource",
                get(handler.clone()),
            )
            .route("/.well-known/oauth-protected-resource/mcp", get(handler));
    }

    let listener = TcpListener::bind(options.addr)
        .await
        .with_context(|| format!("cannot listen on {}", options.addr))?;
    let local = listener.local_addr()?;
    let scheme = if options.tls.is_some() {
        "https"
    } else {
        "http"
    };
    tracing::info!("serving MCP on {scheme}://{local}/mcp");
    let acceptor = options.tls.map(tokio_rustls::TlsAcceptor::from);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();

    loop {
        let (stream, addr) = tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let app = app.clone();
        let acceptor = acceptor.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(request_timeout);
            match acceptor {
                None => {
                    let peer = Peer {
                        addr,
                        subject: None,
                    };
                    let service = app.map_request(
                        move |mut request: http::Request<hyper::body::Incoming>| {
                            request.extensions_mut().insert(peer.clone());
                            request
                        },
                    );
                    let connection = builder
                        .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
                    if let Err(error) = watcher.watch(connection).await {
                        tracing::debug!(%error, %addr, "connection ended");
                    }
                }
                Some(acceptor) => {
                    let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream))
                        .await
                    {
                        Ok(Ok(tls)) => tls,
                        Ok(Err(error)) => {
                            tracing::info!(%error, %addr, "TLS handshake failed");
                            return;
                        }
                        Err(_) => {
                            tracing::info!(%addr, "TLS handshake timed out");
                            return;
                        }
                    };
                    let peer = Peer {
                        addr,
                        subject: tls::client_subject(tls.get_ref().1),
                    };
                    let service = app.map_request(
                        move |mut request: http::Request<hyper::body::Incoming>| {
                            request.extensions_mut().insert(peer.clone());
                            request
                        },
                    );
                    let connection = builder
                        .serve_connection(TokioIo::new(tls), TowerToHyperService::new(service));
                    if let Err(error) = watcher.watch(connection).await {
                        tracing::debug!(%error, %addr, "connection ended");
                    }
                }
            }
        });
    }

    drop(listener);
    tracing::info!("shutting down: no new connections; finishing calls in flight");
    if tokio::time::timeout(options.drain, warden.idle())
        .await
        .is_err()
    {
        tracing::warn!(
            "calls still running after {:?}; stopping anyway",
            options.drain
        );
    }
    // Let the answers of those calls reach their clients (each connection closes after its
    // current response), then end the sessions and their event streams.
    if tokio::time::timeout(Duration::from_secs(3), graceful.shutdown())
        .await
        .is_err()
    {
        tracing::info!("closing the connections still open (event streams)");
    }
    mcp_shutdown.cancel();
    Ok(())
}

/// The RFC 9728 metadata URL of the resource `audience`: the well-known path inserted
/// between its authority and its path.
fn metadata_url(audience: &str) -> Option<String> {
    let (scheme, rest) = audience.split_once("://")?;
    let (authority, path) = match rest.find('/') {
        Some(index) => rest.split_at(index),
        None => (rest, ""),
    };
    Some(format!(
        "{scheme}://{authority}/.well-known/oauth-protected-resource{}",
        path.trim_end_matches('/')
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_url_inserts_the_well_known_path() {
        assert_eq!(
            metadata_url("https://mcp.example.com/mcp").as_deref(),
            Some("https://mcp.example.com/.well-known/oauth-protected-resource/mcp")
        );
        assert_eq!(
            metadata_url("http://127.0.0.1:8931").as_deref(),
            Some("http://127.0.0.1:8931/.well-known/oauth-protected-resource")
        );
        assert_eq!(metadata_url("nonsense"), None);
    }
}
