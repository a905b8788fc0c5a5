//! Outgoing HTTP: the `wasi:http` send hook, the one place every request a tool makes passes.
//!
//! Each request is checked on its own (the host never follows redirects): its destination
//! must be in the component's `hosts`; secret tokens may appear only in header values and
//! only to their secret's `hosts`, where they are replaced by the plaintext; no defined
//! secret's value (raw, percent-encoded or base64) may leave for a destination outside that
//! secret's `hosts`, whoever supplied it; and the response is scrubbed of every secret value
//! before the guest sees it. Every refusal is logged and answered `HTTP-request-denied`.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use secrecy::ExposeSecret;
use wasmtime_wasi_http::{Error, RequestOptions, WasiBody, WasiHttpHooks};

use super::outbound;
use crate::audit::Denial;
use crate::grants::Destination;
use crate::policy::{Grants, Secret};

/// Largest request body a tool may send; the body is read whole to be checked.
const MAX_REQUEST_BODY: usize = 16 << 20;

/// The send hook of one call.
pub struct EgressHooks {
    tool: Arc<str>,
    grants: Arc<Grants>,
    secrets: Arc<BTreeMap<String, Secret>>,
    /// The secret tokens handed out in this call: (token, secret name).
    pub tokens: Vec<(String, String)>,
    /// The capabilities refused in this call, for its audit record.
    pub denials: Denials,
}

/// The capabilities refused in one call, shared with its send tasks.
pub type Denials = Arc<Mutex<Vec<Denial>>>;

impl EgressHooks {
    /// Notes a refused `capability` for the audit record.
    pub fn deny(&self, capability: &'static str, target: String) {
        note(&self.denials, capability, target);
    }
}

fn note(denials: &Denials, capability: &'static str, target: String) {
    let mut denials = denials
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    // A hostile guest may loop on refusals: keep a bounded list.
    if denials.len() < 64 {
        denials.push(Denial { capability, target });
    }
}

impl EgressHooks {
    /// The hook for one call of `tool` holding `grants`; `secrets` are all defined secrets.
    pub fn new(
        tool: Arc<str>,
        grants: Arc<Grants>,
        secrets: Arc<BTreeMap<String, Secret>>,
    ) -> Self {
        EgressHooks {
            tool,
            grants,
            secrets,
            tokens: Vec::new(),
            denials: Denials::default(),
        }
    }
}

/// Everything the send task needs, owned.
struct Outgoing {
    tool: Arc<str>,
    grants: Arc<Grants>,
    secrets: Arc<BTreeMap<String, Secret>>,
    tokens: Vec<(String, String)>,
    denials: Denials,
}

type Sent = Box<
    dyn Future<
            Output = Result<
                (
                    http::Response<WasiBody>,
                    Box<dyn Future<Output = Result<(), Error>> + Send>,
                ),
                Error,
            >,
        > + Send,
>;

impl WasiHttpHooks for EgressHooks {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        _options: Option<RequestOptions>,
        _fut: Box<dyn Future<Output = Result<(), Error>> + Send>,
    ) -> Sent {
        // Guest-supplied timeouts are ignored: the component's `http` limits apply.
        let outgoing = Outgoing {
            tool: Arc::clone(&self.tool),
            grants: Arc::clone(&self.grants),
            secrets: Arc::clone(&self.secrets),
            tokens: self.tokens.clone(),
            denials: Arc::clone(&self.denials),
        };
        Box::new(async move {
            let method = request.method().clone();
            let shown = redacted_uri(request.uri());
            match outgoing.send(request).await {
                Ok(response) => {
                    tracing::info!(target: "warden::egress", tool = &*outgoing.tool, %method, uri = %shown, status = response.status().as_u16(), "outgoing HTTP");
                    let done: Box<dyn Future<Output = Result<(), Error>> + Send> =
                        Box::new(async { Ok(()) });
                    Ok((response, done))
                }
                Err((error, reason)) => {
                    tracing::warn!(target: "warden::denial", tool = &*outgoing.tool, %method, uri = %shown, "outgoing HTTP refused: {reason}");
                    note(&outgoing.denials, "http", format!("{method} {shown}"));
                    Err(error)
                }
            }
        })
    }
}

/// A refusal: the error code the guest gets and the reason the log gets.
type Refusal = (Error, String);

fn denied(reason: String) -> Refusal {
    (Error::HttpRequestDenied, reason)
}

impl Outgoing {
    /// Checks, completes and sends one request, and returns its scrubbed response.
    async fn send(
        &self,
        request: http::Request<WasiBody>,
    ) -> Result<http::Response<WasiBody>, Refusal> {
        let uri = request.uri().clone();
        let destination = Destination::of_uri(&uri)
            .map_err(|reason| denied(format!("the destination is not valid: {reason}")))?;
        if !self
            .grants
            .hosts
            .iter()
            .any(|grant| grant.allows(&destination))
        {
            return Err(denied(format!(
                "{destination} is not in the tool's `hosts`"
            )));
        }

        let (mut parts, body) = request.into_parts();
        let body = Limited::new(body, MAX_REQUEST_BODY)
            .collect()
            .await
            .map_err(|_| {
                (
                    Error::HttpRequestBodySize(None),
                    format!("the request body is over {MAX_REQUEST_BODY} bytes or broke off"),
                )
            })?
            .to_bytes();
        self.check_secrets(&destination, &uri.to_string(), &parts.headers, &body)?;
        self.substitute_tokens(&destination, &mut parts.headers)?;
        if !parts.headers.contains_key(http::header::HOST) {
            let authority = uri.authority().map_or("", |a| a.as_str());
            if let Ok(host) = http::HeaderValue::from_str(authority) {
                parts.headers.insert(http::header::HOST, host);
            }
        }

        let limits = self.grants.http;
        let address = outbound::resolve(&destination, &limits).await?;
        let request = http::Request::from_parts(parts, Full::new(body));
        let received = outbound::send(&destination, address, request, &limits).await?;
        Ok(self.scrub(received))
    }

    /// Tokens may appear only in header values; no secret's value (in any of its forms) may
    /// leave for a destination outside that secret's hosts, whoever put it in the request.
    fn check_secrets(
        &self,
        destination: &Destination,
        url: &str,
        headers: &http::HeaderMap,
        body: &[u8],
    ) -> Result<(), Refusal> {
        for (token, name) in &self.tokens {
            let place = if url.contains(token.as_str()) {
                "the URL"
            } else if contains(body, token.as_bytes()) {
                "the body"
            } else {
                continue;
            };
            return Err(denied(format!(
                "the token of secret `{name}` is in {place}; tokens go only in header values"
            )));
        }
        for (name, secret) in self.secrets.iter() {
            if secret.hosts.iter().any(|grant| grant.allows(destination)) {
                continue;
            }
            let carried = encodings(secret.value.expose_secret()).iter().any(|form| {
                url.contains(form.as_str())
                    || contains(body, form.as_bytes())
                    || headers
                        .values()
                        .any(|v| contains(v.as_bytes(), form.as_bytes()))
            });
            if carried {
                return Err(denied(format!(
                    "the request carries the value of secret `{name}`, which may not be sent to {destination}"
                )));
            }
        }
        Ok(())
    }

    /// Replaces each token in a header value by its secret's plaintext, if the destination
    /// is one of the secret's hosts; refuses the request otherwise.
    fn substitute_tokens(
        &self,
        destination: &Destination,
        headers: &mut http::HeaderMap,
    ) -> Result<(), Refusal> {
        for value in headers.values_mut() {
            let Ok(original) = value.to_str() else {
                continue;
            };
            let mut text = original.to_string();
            for (token, name) in &self.tokens {
                if !text.contains(token.as_str()) {
                    continue;
                }
                let secret = self
                    .secrets
                    .get(name)
                    .ok_or_else(|| denied(format!("secret `{name}` is not defined")))?;
                if !secret.hosts.iter().any(|grant| grant.allows(destination)) {
                    return Err(denied(format!(
                        "secret `{name}` may not be sent to {destination}"
                    )));
                }
                text = text.replace(token.as_str(), secret.value.expose_secret());
            }
            if text != original {
                let mut replaced = http::HeaderValue::from_str(&text).map_err(|_| {
                    denied("a secret's value is not a valid header value".to_string())
                })?;
                replaced.set_sensitive(true);
                *value = replaced;
            }
        }
        Ok(())
    }

    /// The response with every secret value, in any of its forms, masked in headers and body.
    fn scrub(&self, received: outbound::Received) -> http::Response<WasiBody> {
        let mut head = received.head;
        let mut body = received.body.to_vec();
        for (name, secret) in self.secrets.iter() {
            let mask = format!("[redacted secret {name}]");
            for form in encodings(secret.value.expose_secret()) {
                body = replace_bytes(&body, form.as_bytes(), mask.as_bytes());
                for value in head.headers.values_mut() {
                    if contains(value.as_bytes(), form.as_bytes()) {
                        let scrubbed =
                            replace_bytes(value.as_bytes(), form.as_bytes(), mask.as_bytes());
                        *value = http::HeaderValue::from_bytes(&scrubbed)
                            .unwrap_or(http::HeaderValue::from_static("[redacted]"));
                    }
                }
            }
        }
        // The body may have changed length; it is sent whole.
        head.headers.remove(http::header::CONTENT_LENGTH);
        let body = Full::new(Bytes::from(body))
            .map_err(|never| match never {})
            .boxed_unsync();
        http::Response::from_parts(head, body)
    }
}

/// The forms a secret value may travel in: raw, percent-encoded, and base64 (standard and
/// URL-safe, with and without padding).
fn encodings(value: &str) -> Vec<String> {
    let engines = [
        &base64::engine::general_purpose::STANDARD,
        &base64::engine::general_purpose::STANDARD_NO_PAD,
        &base64::engine::general_purpose::URL_SAFE,
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
    ];
    let mut forms = vec![
        value.to_string(),
        percent_encoding::utf8_percent_encode(value, percent_encoding::NON_ALPHANUMERIC)
            .to_string(),
    ];
    forms.extend(engines.iter().map(|engine| engine.encode(value)));
    forms.sort();
    forms.dedup();
    forms.retain(|form| !form.is_empty());
    forms
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty()
        && haystack
            .windows(needle.len())
            .any(|window| window == needle)
}

fn replace_bytes(haystack: &[u8], needle: &[u8], with: &[u8]) -> Vec<u8> {
    if !contains(haystack, needle) {
        return haystack.to_vec();
    }
    let mut out = Vec::with_capacity(haystack.len());
    let mut rest = haystack;
    while let Some(at) = rest
        .windows(needle.len())
        .position(|window| window == needle)
    {
        out.extend_from_slice(&rest[..at]);
        out.extend_from_slice(with);
        rest = &rest[at + needle.len()..];
    }
    out.extend_from_slice(rest);
    out
}

/// The URI without its query, which may carry credentials.
fn redacted_uri(uri: &http::Uri) -> String {
    format!(
        "{}://{}{}",
        uri.scheme_str().unwrap_or("?"),
        uri.authority().map_or("", |a| a.as_str()),
        uri.path()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_forms() {
        let forms = encodings("a b/c");
        assert!(forms.contains(&"a b/c".to_string()));
        assert!(forms.contains(&"a%20b%2Fc".to_string()));
        assert!(forms.contains(&"YSBiL2M=".to_string()));
        assert!(forms.contains(&"YSBiL2M".to_string()));
    }

    #[test]
    fn replaces_every_occurrence() {
        assert_eq!(replace_bytes(b"xSECxSEC", b"SEC", b"[r]"), b"x[r]x[r]");
        assert_eq!(replace_bytes(b"none", b"SEC", b"[r]"), b"none");
        assert!(!contains(b"abc", b""));
    }
}
