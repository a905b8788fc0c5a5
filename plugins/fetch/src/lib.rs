//! `fetch`: HTTP GET and POST to the hosts the operator granted, through `wasi:http`.
//!
//! Exports the interface `web` with two tools, `get` and `post`. Each returns the status, a
//! safe subset of the response headers (content-type, content-length, location, etag,
//! last-modified, date) and the body as text, cut at a size cap (`truncated` says so).
//! Redirects are not followed.
//!
//! Grants it needs, in the component's manifest entry: `hosts`, the origins it may reach, for
//! example `hosts = ["https://api.github.com", "https://*.example.org"]`. A URL elsewhere
//! fails with "HTTP-request-denied". Optionally `env = { USER_AGENT = "..." }`: the
//! `user-agent` it sends unless the caller gives one (default "warden-fetch/0.1").

use warden_sdk::http::{Method, Request};

use crate::exports::warden_example::fetch::web::{Guest, Response};

warden_sdk::tool!({ world: "fetch", export: Fetch });

/// The `fetch` world's implementation.
struct Fetch;

/// How much of a body is returned when the caller gives no `max-bytes`.
const DEFAULT_MAX_BYTES: u32 = 64 * 1024;

/// The largest `max-bytes` accepted.
const MAX_MAX_BYTES: u32 = 1024 * 1024;

/// The `user-agent` sent when neither the caller nor `USER_AGENT` gives one.
const DEFAULT_USER_AGENT: &str = "warden-fetch/0.1";

/// The response headers passed on to the caller.
const SAFE_HEADERS: [&str; 6] = [
    "content-type",
    "content-length",
    "location",
    "etag",
    "last-modified",
    "date",
];

/// The content type of a POST body when the caller gives none.
const DEFAULT_CONTENT_TYPE: &str = "text/plain; charset=utf-8";

impl Guest for Fetch {
    fn get(
        url: String,
        headers: Option<Vec<(String, String)>>,
        max_bytes: Option<u32>,
    ) -> Result<Response, String> {
        send(
            Method::Get,
            url,
            headers.unwrap_or_default(),
            None,
            max_bytes,
        )
    }

    fn post(
        url: String,
        body: String,
        content_type: Option<String>,
        headers: Option<Vec<(String, String)>>,
        max_bytes: Option<u32>,
    ) -> Result<Response, String> {
        let mut headers = headers.unwrap_or_default();
        if content_type.is_some() || !has_header(&headers, "content-type") {
            headers.retain(|(name, _)| !name.eq_ignore_ascii_case("content-type"));
            let content_type = content_type.unwrap_or_else(|| DEFAULT_CONTENT_TYPE.to_owned());
            headers.push(("content-type".to_owned(), content_type));
        }
        send(Method::Post, url, headers, Some(body), max_bytes)
    }
}

/// Sends the request and shapes the response for the caller.
fn send(
    method: Method,
    url: String,
    mut headers: Vec<(String, String)>,
    body: Option<String>,
    max_bytes: Option<u32>,
) -> Result<Response, String> {
    let limit = max_bytes.unwrap_or(DEFAULT_MAX_BYTES);
    if limit > MAX_MAX_BYTES {
        return Err(format!(
            "max-bytes is {limit}, over the largest allowed value of {MAX_MAX_BYTES}"
        ));
    }
    if !has_header(&headers, "user-agent") {
        let agent = std::env::var("USER_AGENT").unwrap_or_else(|_| DEFAULT_USER_AGENT.to_owned());
        headers.push(("user-agent".to_owned(), agent));
    }
    let mut request = Request::new(method, url.as_str());
    for (name, value) in headers {
        request = request.header(name, value);
    }
    if let Some(body) = body {
        request = request.body(body);
    }
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let response = request
        .send_truncating(limit)
        .map_err(|error| format!("{method} {url}: {error}"))?;
    Ok(Response {
        status: response.status,
        headers: safe_headers(response.headers),
        body: String::from_utf8_lossy(&response.body).into_owned(),
        truncated: response.truncated,
    })
}

/// Whether `headers` has one called `name` (any ASCII case).
fn has_header(headers: &[(String, String)], name: &str) -> bool {
    headers
        .iter()
        .any(|(candidate, _)| candidate.eq_ignore_ascii_case(name))
}

/// The headers in [`SAFE_HEADERS`], in the order received.
fn safe_headers(headers: Vec<(String, String)>) -> Vec<(String, String)> {
    headers
        .into_iter()
        .filter(|(name, _)| {
            SAFE_HEADERS
                .iter()
                .any(|safe| name.eq_ignore_ascii_case(safe))
        })
        .map(|(name, value)| (name.to_ascii_lowercase(), value))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_safe_headers_pass() {
        let headers = vec![
            ("Content-Type".to_owned(), "text/html".to_owned()),
            ("set-cookie".to_owned(), "session=secret".to_owned()),
            ("etag".to_owned(), "\"x\"".to_owned()),
            ("x-internal".to_owned(), "1".to_owned()),
            ("location".to_owned(), "/next".to_owned()),
        ];
        assert_eq!(
            safe_headers(headers),
            [
                ("content-type".to_owned(), "text/html".to_owned()),
                ("etag".to_owned(), "\"x\"".to_owned()),
                ("location".to_owned(), "/next".to_owned()),
            ]
        );
    }

    #[test]
    fn oversized_limits_are_refused_before_sending() {
        let error = Fetch::get(
            "https://example.org/".to_owned(),
            None,
            Some(MAX_MAX_BYTES + 1),
        )
        .unwrap_err();
        assert!(error.contains("over the largest allowed value"), "{error}");
    }
}
