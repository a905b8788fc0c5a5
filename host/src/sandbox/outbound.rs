//! Sends one checked HTTP request: resolves the name, refuses internal addresses unless the
//! grant names that literal address, connects to the very address it checked (so a granted
//! name cannot be rebound to an internal one between check and connect), speaks HTTP/1.1
//! over TCP or TLS, and reads a bounded response under the component's timeouts.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, LazyLock};

use bytes::Bytes;
use http_body_util::BodyExt;
use wasmtime_wasi_http::Error;

use crate::grants::{Destination, Host, Scheme};
use crate::policy::HttpLimits;

/// Whether `ip` is loopback, private, link-local, CGNAT, a cloud metadata address or
/// otherwise not a public unicast address.
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_internal_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_internal_v4(v4);
            }
            let segments = v6.segments();
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (segments[0] & 0xfe00) == 0xfc00 // unique local, incl. fd00:ec2::254
                || (segments[0] & 0xffc0) == 0xfe80 // link-local
                || (segments[0] == 0x64 && segments[1] == 0xff9b) // NAT64 may embed any IPv4
                || segments[0] == 0x2001 && segments[1] == 0xdb8 // documentation
        }
    }
}

fn is_internal_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local() // 169.254/16, incl. the metadata address 169.254.169.254
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // CGNAT 100.64/10
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (18..20).contains(&b)) // benchmarking
        || a >= 240 // reserved
}

/// The address to connect to for `destination`.
///
/// A literal IP is used as it is: only a grant naming that literal address allows it. A name
/// is resolved, and every address it resolves to must be public.
///
/// # Errors
/// The name does not resolve, or resolves to an internal address (`DestinationIpProhibited`).
pub async fn resolve(
    destination: &Destination,
    limits: &HttpLimits,
) -> Result<SocketAddr, (Error, String)> {
    match &destination.host {
        Host::Ip(ip) => Ok(SocketAddr::new(*ip, destination.port)),
        Host::Name(name) => {
            let lookup = tokio::net::lookup_host((name.as_str(), destination.port));
            let addresses: Vec<SocketAddr> =
                match tokio::time::timeout(limits.connect_timeout, lookup).await {
                    Err(_) => {
                        return Err((Error::DnsTimeout, format!("resolving {name} timed out")));
                    }
                    Ok(Err(error)) => {
                        return Err((
                            Error::DnsError {
                                rcode: Some(error.to_string()),
                                info_code: None,
                            },
                            format!("{name} does not resolve: {error}"),
                        ));
                    }
                    Ok(Ok(found)) => found.collect(),
                };
            if let Some(internal) = addresses.iter().find(|a| is_internal(a.ip())) {
                return Err((
                    Error::DestinationIpProhibited,
                    format!(
                        "{name} resolves to the internal address {}; only a grant naming that literal address may reach it",
                        internal.ip()
                    ),
                ));
            }
            addresses
                .first()
                .copied()
                .ok_or_else(|| (Error::DestinationNotFound, format!("{name} has no address")))
        }
    }
}

static TLS: LazyLock<Arc<rustls::ClientConfig>> = LazyLock::new(|| {
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.into(),
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Arc::new(
        rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("ring supports the default protocol versions")
            .with_root_certificates(roots)
            .with_no_client_auth(),
    )
});

/// A response read whole: head and (bounded) body.
pub struct Received {
    /// Status and headers.
    pub head: http::response::Parts,
    /// The body.
    pub body: Bytes,
}

/// Sends `request` (whose body is `body`) to `address`, which was checked for `destination`.
///
/// # Errors
/// A `wasi:http` error code for the guest, and a message for the log.
pub async fn send(
    destination: &Destination,
    address: SocketAddr,
    mut request: http::Request<http_body_util::Full<Bytes>>,
    limits: &HttpLimits,
) -> Result<Received, (Error, String)> {
    let tcp = match tokio::time::timeout(
        limits.connect_timeout,
        tokio::net::TcpStream::connect(address),
    )
    .await
    {
        Err(_) => {
            return Err((
                Error::ConnectionTimeout,
                format!("connecting to {address} timed out"),
            ));
        }
        Ok(Err(error)) => {
            return Err((
                Error::ConnectionRefused,
                format!("cannot connect to {address}: {error}"),
            ));
        }
        Ok(Ok(tcp)) => tcp,
    };
    let io: Box<dyn Io> = match destination.scheme {
        Scheme::Http => Box::new(tcp),
        Scheme::Https => {
            let server_name = match &destination.host {
                Host::Name(name) => rustls::pki_types::ServerName::try_from(name.clone())
                    .map_err(|e| (Error::TlsProtocolError, format!("bad TLS server name: {e}")))?,
                Host::Ip(ip) => rustls::pki_types::ServerName::IpAddress((*ip).into()),
            };
            let connector = tokio_rustls::TlsConnector::from(Arc::clone(&TLS));
            let tls =
                tokio::time::timeout(limits.connect_timeout, connector.connect(server_name, tcp))
                    .await
                    .map_err(|_| {
                        (
                            Error::ConnectionTimeout,
                            "the TLS handshake timed out".to_string(),
                        )
                    })?
                    .map_err(|e| (Error::TlsProtocolError, format!("TLS failed: {e}")))?;
            Box::new(tls)
        }
    };
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(wasmtime_wasi_http::io::TokioIo::new(io))
            .await
            .map_err(|e| {
                (
                    Error::HttpProtocolError,
                    format!("HTTP handshake failed: {e}"),
                )
            })?;
    let driver = tokio::spawn(connection);

    // Over a direct connection the request line carries only the path and query.
    let path = request
        .uri()
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .parse()
        .map_err(|_| (Error::HttpRequestUriInvalid, "bad path".to_string()))?;
    *request.uri_mut() = path;

    let response = tokio::time::timeout(limits.first_byte_timeout, sender.send_request(request))
        .await
        .map_err(|_| {
            (
                Error::HttpResponseTimeout,
                "no response before first_byte_timeout".to_string(),
            )
        })?
        .map_err(|e| (Error::HttpProtocolError, format!("the request failed: {e}")))?;
    let (head, mut incoming) = response.into_parts();
    let cap = limits.max_response_bytes.bytes();
    let mut body = Vec::new();
    loop {
        let frame = tokio::time::timeout(limits.between_bytes_timeout, incoming.frame())
            .await
            .map_err(|_| {
                (
                    Error::ConnectionReadTimeout,
                    "the response stalled past between_bytes_timeout".to_string(),
                )
            })?;
        match frame {
            None => break,
            Some(Err(e)) => {
                return Err((
                    Error::HttpResponseIncomplete,
                    format!("the response broke off: {e}"),
                ));
            }
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data() {
                    if (body.len() + data.len()) as u64 > cap {
                        driver.abort();
                        return Err((
                            Error::HttpResponseBodySize(Some(cap)),
                            format!(
                                "the response body exceeds max_response_bytes ({})",
                                limits.max_response_bytes
                            ),
                        ));
                    }
                    body.extend_from_slice(&data);
                }
            }
        }
    }
    driver.abort();
    Ok(Received {
        head,
        body: Bytes::from(body),
    })
}

/// A byte stream hyper can speak HTTP over: TCP or TLS over TCP.
trait Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin> Io for T {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_addresses() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "240.0.0.1",
            "::1",
            "::",
            "fd00:ec2::254",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a00:1",
        ] {
            assert!(is_internal(ip.parse().unwrap()), "{ip} is internal");
        }
        for ip in [
            "93.184.216.34",
            "140.82.112.6",
            "2606:4700::1111",
            "100.128.0.1",
        ] {
            assert!(!is_internal(ip.parse().unwrap()), "{ip} is public");
        }
    }
}
