//! The gate in front of the MCP endpoint: Host and Origin checks, authentication of every
//! request into a [`Caller`], throttling of failed attempts per source address, binding of
//! legacy sessions to the client that opened them, the request body bound, and the client-wide
//! rate limit answered with 429 before dispatch.
//!
//! A session id is never an identity: every request carries its own credentials, and a session
//! opened by one client is "not found" to every other.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use http_body_util::{BodyExt, Limited};
use serde_json::{Value, json};
use subtle::ConstantTimeEq;

use crate::audit;
use crate::authorize::{Authorizer, Caller, Refusal, Transport};
use crate::clients::{Allowed, Clients, Credential};
use crate::digest::Sha256Digest;
use crate::http::oauth::{self, JwtVerifier};
use crate::http::origin::{HostAllowlist, OriginAllowlist};
use crate::http::tls::DistinguishedName;

/// Failed authentications a source address may make per minute (after a burst) before its
/// requests are refused unread for a while.
const FAILURES_PER_MINUTE: u32 = 30;
const FAILURE_BURST: u32 = 10;
/// Legacy sessions idle this long are forgotten (rmcp closes them after 5 idle minutes).
const SESSION_IDLE: Duration = Duration::from_secs(600);
const SESSION_HEADER: &str = "mcp-session-id";

/// The peer of a connection: its address and, over mTLS, its certificate's subject.
#[derive(Clone, Debug)]
pub struct Peer {
    /// The remote address.
    pub addr: SocketAddr,
    /// The verified client certificate's subject, if one was presented.
    pub subject: Option<DistinguishedName>,
}

/// Everything the gate decides with.
pub struct Gate {
    clients: Clients,
    jwt: Option<JwtVerifier>,
    resource_metadata: Option<String>,
    hosts: HostAllowlist,
    origins: OriginAllowlist,
    body_limit: usize,
    request_timeout: Duration,
    authorizer: Arc<Authorizer>,
    audit: Arc<audit::AuditLog>,
    failures: DefaultKeyedRateLimiter<IpAddr>,
    blocked: Mutex<HashMap<IpAddr, Instant>>,
    sessions: Mutex<HashMap<String, (Arc<str>, Instant)>>,
}

/// What the gate is built from.
pub struct GateConfig {
    /// The clients.
    pub clients: Clients,
    /// The JWT verifier, with `[oauth]`.
    pub jwt: Option<JwtVerifier>,
    /// The URL of this server's protected-resource metadata, with `[oauth]`.
    pub resource_metadata: Option<String>,
    /// Accepted `Host` values.
    pub hosts: HostAllowlist,
    /// Accepted `Origin` values.
    pub origins: OriginAllowlist,
    /// Largest request body.
    pub body_limit: usize,
    /// Time to receive a request body.
    pub request_timeout: Duration,
    /// The server's limit state.
    pub authorizer: Arc<Authorizer>,
    /// Where refusals are recorded.
    pub audit: Arc<audit::AuditLog>,
}

impl Gate {
    /// A gate over `config`.
    pub fn new(config: GateConfig) -> Self {
        let quota =
            Quota::per_minute(NonZeroU32::new(FAILURES_PER_MINUTE).unwrap_or(NonZeroU32::MIN))
                .allow_burst(NonZeroU32::new(FAILURE_BURST).unwrap_or(NonZeroU32::MIN));
        Gate {
            clients: config.clients,
            jwt: config.jwt,
            resource_metadata: config.resource_metadata,
            hosts: config.hosts,
            origins: config.origins,
            body_limit: config.body_limit,
            request_timeout: config.request_timeout,
            authorizer: config.authorizer,
            audit: config.audit,
            failures: RateLimiter::keyed(quota),
            blocked: Mutex::new(HashMap::new()),
            sessions: Mutex::new(HashMap::new()),
        }
    }

    /// Authenticates a request's credentials.
    fn authenticate(&self, headers: &HeaderMap, peer: &Peer) -> Result<Caller, AuthFailure> {
        if let Some(value) = headers.get(header::AUTHORIZATION) {
            let token = value
                .to_str()
                .ok()
                .and_then(|v| {
                    let (scheme, token) = v.split_once(' ')?;
                    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
                })
                .filter(|token| !token.is_empty())
                .ok_or(AuthFailure::Malformed)?;
            return self.bearer(token);
        }
        if let Some(subject) = &peer.subject {
            return self
                .clients
                .named
                .iter()
                .find(|client| {
                    matches!(&client.credential, Some(Credential::Certificate(s)) if s == subject)
                })
                .map(|client| Caller::of(client, Transport::Http))
                .ok_or(AuthFailure::UnknownCertificate);
        }
        match self.clients.anonymous() {
            Some(client) if peer.addr.ip().is_loopback() => Ok(Caller::of(client, Transport::Http)),
            _ => Err(AuthFailure::Missing),
        }
    }

    fn bearer(&self, token: &str) -> Result<Caller, AuthFailure> {
        if let Some(jwt) = &self.jwt
            && token.split('.').count() == 3
        {
            let claims = jwt.verify(token).map_err(AuthFailure::Jwt)?;
            let Some(policy) = &self.clients.oauth else {
                return Err(AuthFailure::Missing);
            };
            let mut allowed = Allowed::default();
            for scope in &claims.scopes {
                if let Some(patterns) = policy.scopes.get(scope) {
                    allowed.tools.extend(patterns.iter().cloned());
                }
            }
            return Ok(Caller {
                identity: format!("oauth:{}", claims.subject).into(),
                allowed: Arc::new(allowed),
                limits: policy.limits,
                transport: Transport::Http,
            });
        }
        // Compare the digest with every client's, in constant time, without stopping early.
        let presented = Sha256Digest::of(token.as_bytes());
        let mut found = None;
        for client in &self.clients.named {
            if let Some(Credential::Token(expected)) = &client.credential {
                let equal: bool = expected.as_bytes().ct_eq(presented.as_bytes()).into();
                if equal {
                    found = Some(client);
                }
            }
        }
        found
            .map(|client| Caller::of(client, Transport::Http))
            .ok_or(AuthFailure::BadToken)
    }

    /// When the address may try again, if it is throttled.
    fn throttled(&self, ip: IpAddr) -> Option<Duration> {
        let mut blocked = self
            .blocked
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = Instant::now();
        match blocked.get(&ip) {
            Some(until) if *until > now => Some(*until - now),
            Some(_) => {
                blocked.remove(&ip);
                None
            }
            None => None,
        }
    }

    /// Counts a failure of `ip`; past its budget, the address is refused for a while.
    fn failed(&self, ip: IpAddr) {
        if let Err(not_until) = self.failures.check_key(&ip) {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            let mut blocked = self
                .blocked
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if blocked.len() > 100_000 {
                let now = Instant::now();
                blocked.retain(|_, until| *until > now);
            }
            blocked.insert(ip, Instant::now() + wait.max(Duration::from_secs(1)));
        }
    }

    fn challenge(&self, failure: &AuthFailure) -> Response {
        let refused = match failure {
            AuthFailure::Jwt(error) => Some(error),
            _ => None,
        };
        let mut value = oauth::www_authenticate(self.resource_metadata.as_deref(), refused);
        if refused.is_none() && matches!(failure, AuthFailure::BadToken | AuthFailure::Malformed) {
            value.push_str(", error=\"invalid_token\"");
        }
        let mut response = error_response(
            StatusCode::UNAUTHORIZED,
            None,
            -32001,
            &format!("unauthorized: {failure}"),
        );
        if let Ok(value) = HeaderValue::from_str(&value) {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, value);
        }
        response
    }

    /// The session's owner check; false when the session belongs to someone else or is unknown.
    fn session_allows(&self, id: &str, identity: &str) -> bool {
        let mut sessions = self
            .sessions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match sessions.get_mut(id) {
            Some((owner, seen)) if &**owner == identity => {
                *seen = Instant::now();
                true
            }
            _ => false,
        }
    }

    fn bind_session(&self, id: &str, identity: Arc<str>) {
        let mut sessions = self
            .sessions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = Instant::now();
        sessions.retain(|_, (_, seen)| now.duration_since(*seen) < SESSION_IDLE);
        sessions.insert(id.to_string(), (identity, now));
    }

    fn end_session(&self, id: &str) {
        let mut sessions = self
            .sessions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        sessions.remove(id);
    }
}

/// Why a request has no identity.
#[derive(Debug)]
enum AuthFailure {
    Missing,
    Malformed,
    BadToken,
    UnknownCertificate,
    Jwt(oauth::TokenError),
}

impl std::fmt::Display for AuthFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AuthFailure::Missing => {
                f.write_str("no credentials: send Authorization: Bearer <token>")
            }
            AuthFailure::Malformed => {
                f.write_str("the Authorization header is not `Bearer <token>`")
            }
            AuthFailure::BadToken => f.write_str("the bearer token is not valid"),
            AuthFailure::UnknownCertificate => {
                f.write_str("the client certificate's subject is not a client of this server")
            }
            AuthFailure::Jwt(error) => write!(f, "the access token is not valid: {error}"),
        }
    }
}

/// The middleware: runs every check, then the MCP service.
pub async fn gate(State(gate): State<Arc<Gate>>, request: Request, next: Next) -> Response {
    let Some(peer) = request.extensions().get::<Peer>().cloned() else {
        return error_response(StatusCode::INTERNAL_SERVER_ERROR, None, -32603, "no peer");
    };
    let headers = request.headers();
    if !gate.hosts.allows(headers.get(header::HOST)) {
        return error_response(
            StatusCode::FORBIDDEN,
            None,
            -32600,
            "forbidden: the Host header is not one this server answers to ([http] allowed_hosts)",
        );
    }
    if let Some(origin) = headers.get(header::ORIGIN)
        && !gate.origins.allows(origin)
    {
        return error_response(
            StatusCode::FORBIDDEN,
            None,
            -32600,
            "forbidden: the Origin is not allowed ([http] allowed_origins)",
        );
    }
    let ip = peer.addr.ip();
    if let Some(wait) = gate.throttled(ip) {
        return too_many(
            None,
            wait,
            "too many failed authentications from this address",
        );
    }
    let caller = match gate.authenticate(headers, &peer) {
        Ok(caller) => caller,
        Err(failure) => {
            audit::auth_failure(&gate.audit, ip, &failure.to_string());
            gate.failed(ip);
            return gate.challenge(&failure);
        }
    };
    let session = headers
        .get(SESSION_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    if let Some(id) = &session
        && !gate.session_allows(id, &caller.identity)
    {
        // Someone else's session, or one this server never opened: not found, to anyone.
        return error_response(StatusCode::NOT_FOUND, None, -32600, "session not found");
    }
    let method = request.method().clone();
    let (mut parts, body) = request.into_parts();
    let body = if method == Method::POST {
        let read = Limited::new(body, gate.body_limit).collect();
        let Ok(read) = tokio::time::timeout(gate.request_timeout, read).await else {
            return error_response(
                StatusCode::REQUEST_TIMEOUT,
                None,
                -32600,
                "the request body did not arrive in time ([http] request_timeout)",
            );
        };
        let bytes = match read {
            Ok(collected) => collected.to_bytes(),
            Err(error) => {
                if error
                    .downcast_ref::<http_body_util::LengthLimitError>()
                    .is_some()
                {
                    return error_response(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        None,
                        -32600,
                        &format!("the request body is larger than {} bytes", gate.body_limit),
                    );
                }
                return error_response(
                    StatusCode::BAD_REQUEST,
                    None,
                    -32600,
                    "the request body could not be read",
                );
            }
        };
        if let Some(id) = tool_call_id(&bytes)
            && let Err(refusal) = gate.authorizer.client_rate(&caller)
        {
            let wait = match &refusal {
                Refusal::RateLimited { retry_after, .. } => *retry_after,
                Refusal::ToolBusy { .. } | Refusal::ClientBusy { .. } => Duration::from_secs(1),
            };
            let mut record = audit::Record::new(
                &audit::correlation_id(None),
                &caller.identity,
                caller.transport.as_str(),
                &tool_name(&bytes).unwrap_or_default(),
                audit::Outcome::RateLimited,
            );
            if let Some(arguments) = tool_arguments(&bytes) {
                record.args = audit::summarize(&arguments, &[], &gate.audit.redactor());
            }
            gate.audit.record(record);
            return too_many(Some(id), wait, &refusal.to_string());
        }
        Body::from(bytes)
    } else {
        body
    };
    let identity = caller.identity.clone();
    parts.extensions.insert(caller);
    let response = next.run(Request::from_parts(parts, body)).await;
    if session.is_none()
        && let Some(id) = response
            .headers()
            .get(SESSION_HEADER)
            .and_then(|v| v.to_str().ok())
    {
        gate.bind_session(id, identity);
    } else if let Some(id) = &session
        && method == Method::DELETE
        && response.status().is_success()
    {
        gate.end_session(id);
    }
    response
}

/// The id of a `tools/call` request in `body`, if that is what it is.
fn tool_call_id(body: &[u8]) -> Option<Value> {
    /// The two members looked at; the rest of the body (its arguments) is skipped, not
    /// built into a `Value` (this runs on every request).
    #[derive(serde::Deserialize)]
    struct Head<'a> {
        #[serde(borrow)]
        method: Option<std::borrow::Cow<'a, str>>,
        id: Option<Value>,
    }
    let head: Head = serde_json::from_slice(body).ok()?;
    (head.method? == "tools/call").then(|| head.id.unwrap_or(Value::Null))
}

fn tool_name(body: &[u8]) -> Option<String> {
    let value: Value = serde_json::from_slice(body).ok()?;
    Some(value.get("params")?.get("name")?.as_str()?.to_string())
}

fn tool_arguments(body: &[u8]) -> Option<serde_json::Map<String, Value>> {
    let value: Value = serde_json::from_slice(body).ok()?;
    value.get("params")?.get("arguments")?.as_object().cloned()
}

fn too_many(id: Option<Value>, wait: Duration, message: &str) -> Response {
    let mut response = error_response(StatusCode::TOO_MANY_REQUESTS, id, -32000, message);
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    if let Ok(value) = HeaderValue::from_str(&seconds.max(1).to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

/// A JSON-RPC error body with an HTTP status.
pub fn error_response(status: StatusCode, id: Option<Value>, code: i64, message: &str) -> Response {
    let body = json!({
        "jsonrpc": "2.0",
        "id": id.unwrap_or(Value::Null),
        "error": {"code": code, "message": message},
    });
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_tool_calls_have_a_tool_call_id() {
        let call = br#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"a","arguments":{"x":[1,{"y":"z"}]}}}"#;
        assert_eq!(tool_call_id(call), Some(json!(7)));
        assert_eq!(
            tool_call_id(br#"{"method":"tools\/call"}"#),
            Some(Value::Null),
            "escaped, and without an id"
        );
        assert_eq!(tool_call_id(br#"{"id":1,"method":"tools/list"}"#), None);
        assert_eq!(tool_call_id(br#"[{"id":1,"method":"tools/call"}]"#), None);
        assert_eq!(tool_call_id(b"not json"), None);
    }
}
