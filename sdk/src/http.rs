//! Outgoing HTTP requests through `wasi:http/outgoing-handler`: a small synchronous client.
//!
//! Build a [`Request`], [`send`](Request::send) it, get a [`Response`] with the status, the
//! headers and the whole body (up to a size you choose). The host sends the request only if the
//! operator granted this component the destination (the manifest's `hosts`); otherwise the
//! request fails with [`Error::Denied`], whose text contains `HTTP-request-denied`.
//!
//! - Redirects are never followed, here or by the host: a `3xx` response comes back as it is,
//!   with its `location` header.
//! - Put secrets in header values only, as [`secrets`](crate::secrets) tokens.
//! - A request with a body gets a `content-length` header unless it has one.
//! - The host's transport errors keep their `wasi:http` `error-code` name (for example
//!   `connection-refused`, `DNS-error`, `HTTP-request-URI-invalid`), in [`Error::Http`].
//!
//! # Examples
//!
//! ```no_run
//! use warden_sdk::http::Request;
//!
//! fn issue_title() -> Result<String, String> {
//!     let response = Request::get("https://api.github.com/repos/rust-lang/rust/issues/1")
//!         .header("accept", "application/vnd.github+json")
//!         .header("user-agent", "my-tool/0.1")
//!         .send(256 * 1024)?;
//!     if !response.is_success() {
//!         return Err(format!("GitHub answered {}", response.status));
//!     }
//!     Ok(String::from_utf8_lossy(&response.body).into_owned())
//! }
//! ```

use std::fmt;

use wasip2::http::outgoing_handler::handle;
use wasip2::http::types::{
    ErrorCode, Fields, FutureIncomingResponse, HeaderError, IncomingResponse, Method as WasiMethod,
    OutgoingBody, OutgoingRequest, Scheme,
};
use wasip2::io::streams::StreamError;

/// The largest chunk `blocking-write-and-flush` accepts.
const WRITE_CHUNK: usize = 4096;

/// The most bytes asked of the response body stream at once.
const READ_CHUNK: u64 = 64 * 1024;

/// An HTTP method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// `GET`
    Get,
    /// `HEAD`
    Head,
    /// `POST`
    Post,
    /// `PUT`
    Put,
    /// `PATCH`
    Patch,
    /// `DELETE`
    Delete,
    /// `OPTIONS`
    Options,
}

impl Method {
    /// The method's name, such as `"GET"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Head => "HEAD",
            Self::Post => "POST",
            Self::Put => "PUT",
            Self::Patch => "PATCH",
            Self::Delete => "DELETE",
            Self::Options => "OPTIONS",
        }
    }

    fn to_wasi(self) -> WasiMethod {
        match self {
            Self::Get => WasiMethod::Get,
            Self::Head => WasiMethod::Head,
            Self::Post => WasiMethod::Post,
            Self::Put => WasiMethod::Put,
            Self::Patch => WasiMethod::Patch,
            Self::Delete => WasiMethod::Delete,
            Self::Options => WasiMethod::Options,
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An HTTP request to build and [`send`](Request::send).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    method: Method,
    url: String,
    headers: Vec<(String, String)>,
    body: Option<Vec<u8>>,
}

impl Request {
    /// A request with `method` to `url` (`http://` or `https://`, absolute), with no headers
    /// and no body.
    pub fn new(method: Method, url: impl Into<String>) -> Self {
        Self {
            method,
            url: url.into(),
            headers: Vec::new(),
            body: None,
        }
    }

    /// A `GET` request to `url`.
    pub fn get(url: impl Into<String>) -> Self {
        Self::new(Method::Get, url)
    }

    /// A `POST` request to `url`; give it a [`body`](Request::body).
    pub fn post(url: impl Into<String>) -> Self {
        Self::new(Method::Post, url)
    }

    /// Adds the header `name: value`. Repeating a name sends the header several times.
    ///
    /// The runtime manages some headers itself (such as `host`, `connection` and
    /// `transfer-encoding`); [`send`](Request::send) then fails with [`Error::InvalidRequest`].
    #[must_use]
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sets the request body. A `content-length` header is added when sending, unless the
    /// request already has one.
    #[must_use]
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = Some(body.into());
        self
    }

    /// Sends the request and reads the whole response; a body over `max_body_bytes` is an
    /// error.
    ///
    /// Blocks until the response has arrived and its body has been read. Redirects are not
    /// followed.
    ///
    /// # Errors
    ///
    /// - [`Error::InvalidRequest`]: the URL, a header name or a header value is malformed, or
    ///   the header is one the runtime manages itself.
    /// - [`Error::Denied`]: the host refused to send the request (a destination the component
    ///   was not granted, or a secret token outside a header or to another destination).
    /// - [`Error::Http`]: any other `wasi:http` error (DNS, connection, TLS, protocol ...).
    /// - [`Error::Stream`]: a body stream failed without a `wasi:http` error code.
    /// - [`Error::BodyTooLarge`]: the response body has more than `max_body_bytes` bytes.
    pub fn send(self, max_body_bytes: usize) -> Result<Response, Error> {
        self.send_with(max_body_bytes, Overflow::Fail)
    }

    /// Like [`send`](Request::send), but a body over `max_body_bytes` is cut to its first
    /// `max_body_bytes` bytes and the response's [`truncated`](Response::truncated) is set.
    ///
    /// # Errors
    ///
    /// As [`send`](Request::send), except [`Error::BodyTooLarge`].
    pub fn send_truncating(self, max_body_bytes: usize) -> Result<Response, Error> {
        self.send_with(max_body_bytes, Overflow::Truncate)
    }

    fn send_with(self, max_body_bytes: usize, overflow: Overflow) -> Result<Response, Error> {
        let target = Target::parse(&self.url).map_err(Error::InvalidRequest)?;
        let headers = Fields::new();
        for (name, value) in &self.headers {
            headers
                .append(name, value.as_bytes())
                .map_err(|error| header_error(name, error))?;
        }
        if let Some(body) = &self.body
            && !self
                .headers
                .iter()
                .any(|(name, _)| name.eq_ignore_ascii_case("content-length"))
        {
            headers
                .append("content-length", body.len().to_string().as_bytes())
                .map_err(|error| header_error("content-length", error))?;
        }

        let request = OutgoingRequest::new(headers);
        request.set_method(&self.method.to_wasi()).map_err(|()| {
            Error::InvalidRequest(format!("the method {} was refused", self.method))
        })?;
        request
            .set_scheme(Some(&target.scheme))
            .map_err(|()| Error::InvalidRequest(format!("the URL `{}`: bad scheme", self.url)))?;
        request
            .set_authority(Some(target.authority))
            .map_err(|()| {
                Error::InvalidRequest(format!("the URL `{}`: bad host or port", self.url))
            })?;
        request
            .set_path_with_query(Some(&target.path_with_query))
            .map_err(|()| {
                Error::InvalidRequest(format!("the URL `{}`: bad path or query", self.url))
            })?;
        // The body must be taken before `handle` consumes the request, and written after it:
        // the host reads the body only once the request is under way.
        let outgoing_body =
            match self.body {
                Some(_) => Some(request.body().map_err(|()| {
                    Error::Stream("the request body could not be opened".to_owned())
                })?),
                None => None,
            };
        let future = handle(request, None).map_err(Error::from_code)?;
        let body_result = match (outgoing_body, &self.body) {
            (Some(outgoing_body), Some(bytes)) => write_body(outgoing_body, bytes),
            _ => Ok(()),
        };
        // A refused request also breaks its body stream: the response future holds the reason
        // (such as HTTP-request-denied), so it wins over the body's error.
        let response = wait(&future)?;
        body_result?;
        read_response(&response, max_body_bytes, overflow)
    }
}

/// What to do with a response body over the limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Overflow {
    Fail,
    Truncate,
}

/// A received response: status, headers and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The status code, such as 200 or 404.
    pub status: u16,
    /// The headers in the order received; names are lowercase, values decoded as UTF-8 (with
    /// invalid bytes replaced by U+FFFD).
    pub headers: Vec<(String, String)>,
    /// The body, at most the limit given to `send`.
    pub body: Vec<u8>,
    /// Whether the body was cut at the limit (only [`Request::send_truncating`] does that).
    pub truncated: bool,
}

impl Response {
    /// The value of the first header called `name` (compared without regard to ASCII case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(candidate, _)| candidate.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// Why a request failed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The request could not be built: a malformed URL, header name or value, or a header the
    /// runtime manages itself.
    InvalidRequest(String),
    /// The host refused to send the request: `wasi:http`'s `HTTP-request-denied`.
    ///
    /// The destination is not one the operator granted this component, or the request carries a
    /// secret token outside a header or to a destination the secret is not bound to.
    Denied,
    /// Any other `wasi:http` `error-code`.
    Http {
        /// The `error-code` case, as WIT names it (for example `connection-refused`).
        code: &'static str,
        /// The case's payload, rendered, if it has one.
        detail: Option<String>,
    },
    /// A body stream failed without a `wasi:http` error code.
    Stream(String),
    /// The response body is longer than the limit given to [`Request::send`].
    BodyTooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
}

impl Error {
    /// The error for a `wasi:http` error code.
    fn from_code(code: ErrorCode) -> Self {
        let (code, detail) = describe_code(code);
        match code {
            "HTTP-request-denied" => Self::Denied,
            _ => Self::Http { code, detail },
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidRequest(message) => write!(f, "invalid request: {message}"),
            Self::Denied => f.write_str(
                "HTTP-request-denied: the host denied this request (its destination is not \
                 granted to this tool, or it carries a secret token outside a header or to a \
                 host the secret is not bound to)",
            ),
            Self::Http {
                code,
                detail: Some(detail),
            } => write!(f, "{code}: {detail}"),
            Self::Http { code, detail: None } => f.write_str(code),
            Self::Stream(message) => f.write_str(message),
            Self::BodyTooLarge { limit } => {
                write!(
                    f,
                    "the response body is larger than the limit of {limit} bytes"
                )
            }
        }
    }
}

impl std::error::Error for Error {}

/// Lets `?` turn the error into a tool's `Result<_, String>` error.
impl From<Error> for String {
    fn from(error: Error) -> Self {
        error.to_string()
    }
}

/// A URL split into what `wasi:http` asks for separately.
#[derive(Debug)]
struct Target<'a> {
    scheme: Scheme,
    authority: &'a str,
    path_with_query: String,
}

impl<'a> Target<'a> {
    /// Splits an absolute `http`/`https` URL. The fragment is dropped; an empty path becomes
    /// `/`. Percent-encoding is left as it is; the host checks what remains.
    fn parse(url: &'a str) -> Result<Self, String> {
        if let Some(bad) = url.chars().find(|c| c.is_whitespace() || c.is_control()) {
            return Err(format!(
                "the URL `{url}` contains {bad:?}: percent-encode it (see `percent_encode`)"
            ));
        }
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| format!("the URL `{url}` is not absolute: start it with https://"))?;
        let scheme = if scheme.eq_ignore_ascii_case("https") {
            Scheme::Https
        } else if scheme.eq_ignore_ascii_case("http") {
            Scheme::Http
        } else {
            return Err(format!(
                "the URL `{url}` has the scheme `{scheme}`: only http and https are supported"
            ));
        };
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, rest) = rest.split_at(end);
        if authority.is_empty() {
            return Err(format!("the URL `{url}` has no host"));
        }
        if authority.contains('@') {
            return Err(format!(
                "the URL `{url}` carries credentials: send them in a header instead"
            ));
        }
        let rest = rest.split_once('#').map_or(rest, |(before, _)| before);
        let path_with_query = if rest.starts_with('/') {
            rest.to_owned()
        } else {
            format!("/{rest}")
        };
        Ok(Self {
            scheme,
            authority,
            path_with_query,
        })
    }
}

/// Percent-encodes `text` for use as one URL path segment or query value: everything but
/// ASCII letters, digits and `-` `.` `_` `~` becomes `%XX` (UTF-8 bytes).
///
/// # Examples
///
/// ```
/// use warden_sdk::http::percent_encode;
///
/// let url = format!("https://example.org/search?q={}", percent_encode("is:open label:bug"));
/// assert_eq!(url, "https://example.org/search?q=is%3Aopen%20label%3Abug");
/// ```
pub fn percent_encode(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

/// The error for a header the host would not take.
fn header_error(name: &str, error: HeaderError) -> Error {
    Error::InvalidRequest(match error {
        HeaderError::InvalidSyntax => format!("the header `{name}` has an invalid name or value"),
        HeaderError::Forbidden => {
            format!("the header `{name}` is forbidden: the runtime manages it")
        }
        HeaderError::Immutable => format!("the header `{name}` cannot be changed"),
    })
}

/// Writes the whole request body, then finishes it. The body is dropped on every path, so the
/// host never waits for more of it.
fn write_body(body: OutgoingBody, bytes: &[u8]) -> Result<(), Error> {
    {
        let stream = body.write().map_err(|()| {
            Error::Stream("the request body stream could not be opened".to_owned())
        })?;
        for chunk in bytes.chunks(WRITE_CHUNK) {
            stream
                .blocking_write_and_flush(chunk)
                .map_err(|error| stream_error("writing the request body", error))?;
        }
    }
    OutgoingBody::finish(body, None).map_err(Error::from_code)
}

/// Blocks until the response (or the reason there is none) arrives.
fn wait(future: &FutureIncomingResponse) -> Result<IncomingResponse, Error> {
    loop {
        match future.get() {
            Some(Ok(Ok(response))) => return Ok(response),
            Some(Ok(Err(code))) => return Err(Error::from_code(code)),
            Some(Err(())) => {
                return Err(Error::Stream("the response was already taken".to_owned()));
            }
            None => future.subscribe().block(),
        }
    }
}

/// Reads status, headers and body (up to `max_body_bytes`) of a response.
fn read_response(
    response: &IncomingResponse,
    max_body_bytes: usize,
    overflow: Overflow,
) -> Result<Response, Error> {
    let status = response.status();
    let headers = response
        .headers()
        .entries()
        .into_iter()
        .map(|(name, value)| (name, String::from_utf8_lossy(&value).into_owned()))
        .collect();
    let body = response
        .consume()
        .map_err(|()| Error::Stream("the response body was already taken".to_owned()))?;
    let (body, over) = {
        let stream = body
            .stream()
            .map_err(|()| Error::Stream("the response body stream was already taken".to_owned()))?;
        read_capped(max_body_bytes, |len| match stream.blocking_read(len) {
            Ok(chunk) => Ok(Some(chunk)),
            Err(StreamError::Closed) => Ok(None),
            Err(error) => Err(stream_error("reading the response body", error)),
        })?
    };
    if over && overflow == Overflow::Fail {
        return Err(Error::BodyTooLarge {
            limit: max_body_bytes,
        });
    }
    Ok(Response {
        status,
        headers,
        body,
        truncated: over,
    })
}

/// Reads chunks from `read` (given how many bytes it may return; `None` at the end) until the
/// end, or until more than `max` bytes arrived. Returns at most `max` bytes, and whether there
/// were more.
fn read_capped(
    max: usize,
    mut read: impl FnMut(u64) -> Result<Option<Vec<u8>>, Error>,
) -> Result<(Vec<u8>, bool), Error> {
    let mut body = Vec::new();
    // One byte past the limit tells "exactly at the limit" from "over it".
    while body.len() <= max {
        let wanted = u64::try_from(max + 1 - body.len()).map_or(READ_CHUNK, |n| n.min(READ_CHUNK));
        match read(wanted)? {
            Some(chunk) => body.extend_from_slice(&chunk),
            None => return Ok((body, false)),
        }
    }
    body.truncate(max);
    Ok((body, true))
}

/// The error for a failed body stream: the `wasi:http` error code behind it when there is one.
fn stream_error(doing: &str, error: StreamError) -> Error {
    match error {
        StreamError::Closed => Error::Stream(format!("{doing}: the stream was closed")),
        StreamError::LastOperationFailed(error) => {
            match wasip2::http::types::http_error_code(&error) {
                Some(code) => Error::from_code(code),
                None => Error::Stream(format!("{doing}: {}", error.to_debug_string())),
            }
        }
    }
}

/// The WIT name of a `wasi:http` error code, and its payload rendered, if any.
fn describe_code(code: ErrorCode) -> (&'static str, Option<String>) {
    match code {
        ErrorCode::DnsTimeout => ("DNS-timeout", None),
        ErrorCode::DnsError(payload) => (
            "DNS-error",
            join([
                payload.rcode.map(|rcode| format!("rcode {rcode}")),
                payload.info_code.map(|info| format!("info code {info}")),
            ]),
        ),
        ErrorCode::DestinationNotFound => ("destination-not-found", None),
        ErrorCode::DestinationUnavailable => ("destination-unavailable", None),
        ErrorCode::DestinationIpProhibited => ("destination-IP-prohibited", None),
        ErrorCode::DestinationIpUnroutable => ("destination-IP-unroutable", None),
        ErrorCode::ConnectionRefused => ("connection-refused", None),
        ErrorCode::ConnectionTerminated => ("connection-terminated", None),
        ErrorCode::ConnectionTimeout => ("connection-timeout", None),
        ErrorCode::ConnectionReadTimeout => ("connection-read-timeout", None),
        ErrorCode::ConnectionWriteTimeout => ("connection-write-timeout", None),
        ErrorCode::ConnectionLimitReached => ("connection-limit-reached", None),
        ErrorCode::TlsProtocolError => ("TLS-protocol-error", None),
        ErrorCode::TlsCertificateError => ("TLS-certificate-error", None),
        ErrorCode::TlsAlertReceived(payload) => (
            "TLS-alert-received",
            join([
                payload.alert_id.map(|id| format!("alert {id}")),
                payload.alert_message,
            ]),
        ),
        ErrorCode::HttpRequestDenied => ("HTTP-request-denied", None),
        ErrorCode::HttpRequestLengthRequired => ("HTTP-request-length-required", None),
        ErrorCode::HttpRequestBodySize(size) => ("HTTP-request-body-size", bytes(size)),
        ErrorCode::HttpRequestMethodInvalid => ("HTTP-request-method-invalid", None),
        ErrorCode::HttpRequestUriInvalid => ("HTTP-request-URI-invalid", None),
        ErrorCode::HttpRequestUriTooLong => ("HTTP-request-URI-too-long", None),
        ErrorCode::HttpRequestHeaderSectionSize(size) => (
            "HTTP-request-header-section-size",
            bytes(size.map(u64::from)),
        ),
        ErrorCode::HttpRequestHeaderSize(field) => {
            ("HTTP-request-header-size", field.and_then(field_size))
        }
        ErrorCode::HttpRequestTrailerSectionSize(size) => (
            "HTTP-request-trailer-section-size",
            bytes(size.map(u64::from)),
        ),
        ErrorCode::HttpRequestTrailerSize(field) => {
            ("HTTP-request-trailer-size", field_size(field))
        }
        ErrorCode::HttpResponseIncomplete => ("HTTP-response-incomplete", None),
        ErrorCode::HttpResponseHeaderSectionSize(size) => (
            "HTTP-response-header-section-size",
            bytes(size.map(u64::from)),
        ),
        ErrorCode::HttpResponseHeaderSize(field) => {
            ("HTTP-response-header-size", field_size(field))
        }
        ErrorCode::HttpResponseBodySize(size) => ("HTTP-response-body-size", bytes(size)),
        ErrorCode::HttpResponseTrailerSectionSize(size) => (
            "HTTP-response-trailer-section-size",
            bytes(size.map(u64::from)),
        ),
        ErrorCode::HttpResponseTrailerSize(field) => {
            ("HTTP-response-trailer-size", field_size(field))
        }
        ErrorCode::HttpResponseTransferCoding(coding) => ("HTTP-response-transfer-coding", coding),
        ErrorCode::HttpResponseContentCoding(coding) => ("HTTP-response-content-coding", coding),
        ErrorCode::HttpResponseTimeout => ("HTTP-response-timeout", None),
        ErrorCode::HttpUpgradeFailed => ("HTTP-upgrade-failed", None),
        ErrorCode::HttpProtocolError => ("HTTP-protocol-error", None),
        ErrorCode::LoopDetected => ("loop-detected", None),
        ErrorCode::ConfigurationError => ("configuration-error", None),
        ErrorCode::InternalError(message) => ("internal-error", message),
    }
}

/// `"<n> bytes"`, if known.
fn bytes(size: Option<u64>) -> Option<String> {
    size.map(|size| format!("{size} bytes"))
}

/// `"<name>, <size> bytes"`, or whichever of the two is known.
fn field_size(field: wasip2::http::types::FieldSizePayload) -> Option<String> {
    join([field.field_name, bytes(field.field_size.map(u64::from))])
}

/// The known parts, joined with ", "; `None` if none is known.
fn join<const N: usize>(parts: [Option<String>; N]) -> Option<String> {
    let parts: Vec<String> = parts.into_iter().flatten().collect();
    (!parts.is_empty()).then(|| parts.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(url: &str) -> (String, &str, String) {
        let target = Target::parse(url).unwrap();
        let scheme = match target.scheme {
            Scheme::Http => "http".to_owned(),
            Scheme::Https => "https".to_owned(),
            Scheme::Other(other) => other,
        };
        (scheme, target.authority, target.path_with_query)
    }

    #[test]
    fn urls_split_into_scheme_authority_and_path() {
        assert_eq!(
            target("https://api.github.com/repos/a/b?x=1"),
            (
                "https".to_owned(),
                "api.github.com",
                "/repos/a/b?x=1".to_owned()
            )
        );
        assert_eq!(
            target("HTTP://127.0.0.1:9000"),
            ("http".to_owned(), "127.0.0.1:9000", "/".to_owned())
        );
        assert_eq!(
            target("http://[::1]:8080?q=1#frag"),
            ("http".to_owned(), "[::1]:8080", "/?q=1".to_owned())
        );
        assert_eq!(
            target("https://example.org/a#b?c"),
            ("https".to_owned(), "example.org", "/a".to_owned())
        );
    }

    #[test]
    fn bad_urls_are_refused_with_a_reason() {
        let error = |url| Target::parse(url).unwrap_err();
        assert!(error("example.org/a").contains("not absolute"));
        assert!(error("ftp://example.org/").contains("only http and https"));
        assert!(error("https:///path").contains("no host"));
        assert!(error("https://user:pw@example.org/").contains("credentials"));
        assert!(error("https://example.org/a b").contains("percent-encode"));
        assert!(error("https://example.org/\n").contains("percent-encode"));
    }

    #[test]
    fn percent_encode_keeps_only_unreserved_characters() {
        assert_eq!(percent_encode("aZ09-._~"), "aZ09-._~");
        assert_eq!(percent_encode("a b/c?d&e=f"), "a%20b%2Fc%3Fd%26e%3Df");
        assert_eq!(percent_encode("é"), "%C3%A9");
    }

    /// A body source that hands out `chunks`, each cut to what is asked for, then ends.
    fn source(chunks: &[&[u8]]) -> impl FnMut(u64) -> Result<Option<Vec<u8>>, Error> {
        let mut data: Vec<u8> = chunks.concat();
        move |wanted| {
            if data.is_empty() {
                return Ok(None);
            }
            let take = usize::try_from(wanted).unwrap().min(data.len()).min(3);
            Ok(Some(data.drain(..take).collect()))
        }
    }

    #[test]
    fn read_capped_reads_to_the_end_under_the_limit() {
        assert_eq!(
            read_capped(10, source(&[b"hello", b" world"])).unwrap(),
            (b"hello worl".to_vec(), true)
        );
        assert_eq!(
            read_capped(11, source(&[b"hello", b" world"])).unwrap(),
            (b"hello world".to_vec(), false)
        );
        assert_eq!(read_capped(0, source(&[])).unwrap(), (Vec::new(), false));
        assert_eq!(read_capped(0, source(&[b"x"])).unwrap(), (Vec::new(), true));
    }

    #[test]
    fn read_capped_never_asks_for_more_than_one_byte_past_the_limit() {
        let mut asked = Vec::new();
        let mut inner = source(&[b"abcdefgh"]);
        let result = read_capped(4, |wanted| {
            asked.push(wanted);
            inner(wanted)
        });
        assert_eq!(result.unwrap(), (b"abcd".to_vec(), true));
        assert_eq!(asked, [5, 2]);
    }

    #[test]
    fn read_capped_passes_errors_on() {
        let result = read_capped(4, |_| Err(Error::Stream("broken".to_owned())));
        assert_eq!(result.unwrap_err(), Error::Stream("broken".to_owned()));
    }

    #[test]
    fn denial_is_its_own_error_and_says_denied() {
        let error = Error::from_code(ErrorCode::HttpRequestDenied);
        assert_eq!(error, Error::Denied);
        assert!(error.to_string().starts_with("HTTP-request-denied: "));
        assert!(error.to_string().contains("denied this request"));
    }

    #[test]
    fn other_codes_keep_their_wit_names_and_payloads() {
        let render = |code| String::from(Error::from_code(code));
        assert_eq!(render(ErrorCode::ConnectionRefused), "connection-refused");
        assert_eq!(
            render(ErrorCode::DnsError(wasip2::http::types::DnsErrorPayload {
                rcode: Some("NXDOMAIN".to_owned()),
                info_code: None,
            })),
            "DNS-error: rcode NXDOMAIN"
        );
        assert_eq!(
            render(ErrorCode::HttpResponseHeaderSize(
                wasip2::http::types::FieldSizePayload {
                    field_name: Some("x-big".to_owned()),
                    field_size: Some(9000),
                }
            )),
            "HTTP-response-header-size: x-big, 9000 bytes"
        );
        assert_eq!(
            render(ErrorCode::InternalError(Some("boom".to_owned()))),
            "internal-error: boom"
        );
        assert_eq!(
            render(ErrorCode::HttpRequestUriInvalid),
            "HTTP-request-URI-invalid"
        );
    }

    #[test]
    fn response_headers_are_found_without_regard_to_case() {
        let response = Response {
            status: 204,
            headers: vec![
                ("content-type".to_owned(), "text/plain".to_owned()),
                ("etag".to_owned(), "\"1\"".to_owned()),
            ],
            body: Vec::new(),
            truncated: false,
        };
        assert_eq!(response.header("Content-Type"), Some("text/plain"));
        assert_eq!(response.header("location"), None);
        assert!(response.is_success());
    }

    #[test]
    fn requests_keep_headers_in_order_and_the_body() {
        let request = Request::post("https://example.org/")
            .header("a", "1")
            .header("a", "2")
            .body("payload");
        assert_eq!(request.method.to_string(), "POST");
        assert_eq!(
            request.headers,
            [
                ("a".to_owned(), "1".to_owned()),
                ("a".to_owned(), "2".to_owned())
            ]
        );
        assert_eq!(request.body.as_deref(), Some(&b"payload"[..]));
    }
}
