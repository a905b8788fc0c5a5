//! The HTTP transport with the real binary: TLS and client certificates (generated here with
//! rcgen), sessions bound to their client, unsafe setups refused, `warden token new`, and a
//! SIGTERM that lets the call in flight finish. (The official Python SDK drives the rest of
//! the HTTP behaviour in `tests/interop/test_http.py`.)

use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};

use crate::support::{Manifest, WARDEN, manifest, run};

/// A certificate and its key, in PEM.
struct Issued {
    cert: String,
    key: String,
}

fn ca(name: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params.distinguished_name.push(DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap()
}

fn issue(
    issuer: &CertifiedIssuer<'static, KeyPair>,
    names: &[&str],
    subject: &[(DnType, &str)],
    usage: ExtendedKeyUsagePurpose,
) -> Issued {
    let mut params =
        CertificateParams::new(names.iter().map(ToString::to_string).collect::<Vec<_>>()).unwrap();
    params.distinguished_name = rcgen::DistinguishedName::new();
    for (kind, value) in subject {
        params.distinguished_name.push(kind.clone(), *value);
    }
    params.extended_key_usages = vec![usage];
    let key = KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, issuer).unwrap();
    Issued {
        cert: cert.pem(),
        key: key.serialize_pem(),
    }
}

/// A free loopback port.
pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `warden serve --http` on `manifest` with `args`, once its port accepts connections.
pub(crate) async fn start(manifest: &Manifest, addr: SocketAddr, args: &[&str]) -> Child {
    let mut child = Command::new(WARDEN)
        .arg("serve")
        .arg("--manifest")
        .arg(&manifest.path)
        .arg("--http")
        .arg(addr.to_string())
        .args(args)
        .env("WARDEN_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    for _ in 0..200 {
        if TcpStream::connect(addr).await.is_ok() {
            return child;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("warden exited early: {status}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("warden did not listen on {addr}");
}

/// A one-request HTTP/1.1 client, over TLS when configured.
pub(crate) struct Http {
    pub(crate) addr: SocketAddr,
    pub(crate) tls: Option<Arc<rustls::ClientConfig>>,
}

/// An HTTP answer: status, headers, and the JSON-RPC message (from JSON or an SSE stream).
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) headers: http::HeaderMap,
    pub(crate) message: Option<Value>,
}

impl Http {
    pub(crate) async fn post(
        &self,
        headers: &[(&str, &str)],
        body: &Value,
    ) -> std::io::Result<Reply> {
        let tcp = TcpStream::connect(self.addr).await?;
        let mut request = http::Request::post("/mcp")
            .header("host", format!("127.0.0.1:{}", self.addr.port()))
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request
            .body(Full::new(Bytes::from(body.to_string())))
            .unwrap();
        let response = match &self.tls {
            None => send(TokioIo::new(tcp), request).await?,
            Some(config) => {
                let connector = tokio_rustls::TlsConnector::from(Arc::clone(config));
                let stream = connector
                    .connect(ServerName::try_from("localhost").unwrap(), tcp)
                    .await?;
                send(TokioIo::new(stream), request).await?
            }
        };
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response
            .into_body()
            .collect()
            .await
            .map_err(std::io::Error::other)?
            .to_bytes();
        let text = String::from_utf8_lossy(&bytes);
        let message = serde_json::from_str(&text).ok().or_else(|| {
            text.lines()
                .filter_map(|line| line.strip_prefix("data:"))
                .filter_map(|data| serde_json::from_str::<Value>(data.trim()).ok())
                .find(|message| message.get("id").is_some())
        });
        Ok(Reply {
            status,
            headers,
            message,
        })
    }

    /// A legacy session: `initialize` then `notifications/initialized`; the session id.
    pub(crate) async fn open_session(&self, auth: &[(&str, &str)]) -> std::io::Result<Reply> {
        let reply = self
            .post(
                auth,
                &json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
                    "protocolVersion": "2025-11-25", "capabilities": {},
                    "clientInfo": {"name": "e2e", "version": "0"}}}),
            )
            .await?;
        if let Some(session) = reply.headers.get("mcp-session-id") {
            let mut headers = auth.to_vec();
            let session = session.to_str().unwrap().to_string();
            headers.push(("mcp-session-id", &session));
            headers.push(("mcp-protocol-version", "2025-11-25"));
            self.post(
                &headers,
                &json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
            )
            .await?;
        }
        Ok(reply)
    }

    /// The tool names `tools/list` shows in `session`.
    async fn tool_names(&self, auth: &[(&str, &str)], session: &str) -> Vec<String> {
        let mut headers = auth.to_vec();
        headers.push(("mcp-session-id", session));
        headers.push(("mcp-protocol-version", "2025-11-25"));
        let reply = self
            .post(
                &headers,
                &json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}),
            )
            .await
            .unwrap();
        let message = reply.message.unwrap_or_default();
        message["result"]["tools"]
            .as_array()
            .unwrap_or_else(|| panic!("no tools in {message}"))
            .iter()
            .map(|tool| tool["name"].as_str().unwrap().to_string())
            .collect()
    }
}

async fn send<T>(
    io: TokioIo<T>,
    request: http::Request<Full<Bytes>>,
) -> std::io::Result<http::Response<hyper::body::Incoming>>
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(std::io::Error::other)?;
    tokio::spawn(connection);
    sender
        .send_request(request)
        .await
        .map_err(std::io::Error::other)
}

fn client_config(ca_pem: &str, identity: Option<&Issued>) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(ca_pem.as_bytes()).unwrap())
        .unwrap();
    let builder = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots);
    let config = match identity {
        None => builder.with_no_client_auth(),
        Some(issued) => builder
            .with_client_auth_cert(
                vec![CertificateDer::from_pem_slice(issued.cert.as_bytes()).unwrap()],
                PrivateKeyDer::from_pem_slice(issued.key.as_bytes()).unwrap(),
            )
            .unwrap(),
    };
    Arc::new(config)
}

fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

#[tokio::test]
async fn tls_and_client_certificates_identify_clients() {
    let authority = ca("Warden Test CA");
    let stranger = ca("Someone Else");
    let server = issue(
        &authority,
        &["localhost", "127.0.0.1"],
        &[(DnType::CommonName, "localhost")],
        ExtendedKeyUsagePurpose::ServerAuth,
    );
    let cibot = issue(
        &authority,
        &[],
        &[
            (DnType::CommonName, "cibot"),
            (DnType::OrganizationName, "Warden Test"),
        ],
        ExtendedKeyUsagePurpose::ClientAuth,
    );
    let impostor = issue(
        &stranger,
        &[],
        &[
            (DnType::CommonName, "cibot"),
            (DnType::OrganizationName, "Warden Test"),
        ],
        ExtendedKeyUsagePurpose::ClientAuth,
    );
    let token = "token-of-the-text-client";
    let manifest = manifest(
        &[("echo", "echo"), ("text", "text")],
        &format!(
            "[clients.cibot]\ncert_subject = \"CN=cibot,O=Warden Test\"\ntools = [\"echo_*\"]\n\n[clients.reader]\ntoken_sha256 = \"{}\"\ntools = [\"text_count\"]\n",
            sha256_hex(token)
        ),
    );
    let dir = manifest.dir.path();
    let ca_pem = authority.pem();
    for (name, text) in [
        ("server.pem", &server.cert),
        ("server.key", &server.key),
        ("ca.pem", &ca_pem),
    ] {
        std::fs::write(dir.join(name), text).unwrap();
    }
    let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let path = |name: &str| dir.join(name).display().to_string();
    let _server = start(
        &manifest,
        addr,
        &[
            "--tls-cert",
            &path("server.pem"),
            "--tls-key",
            &path("server.key"),
            "--client-ca",
            &path("ca.pem"),
        ],
    )
    .await;

    // The certificate is the identity: cibot sees the echo tools only.
    let as_cibot = Http {
        addr,
        tls: Some(client_config(&ca_pem, Some(&cibot))),
    };
    let reply = as_cibot.open_session(&[]).await.unwrap();
    assert_eq!(reply.status, 200);
    let cibot_session = reply.headers["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_string();
    let names = as_cibot.tool_names(&[], &cibot_session).await;
    assert!(
        !names.is_empty() && names.iter().all(|n| n.starts_with("echo_")),
        "{names:?}"
    );

    // Without a certificate, a token: the reader sees text_count alone.
    let bearer = format!("Bearer {token}");
    let auth = [("authorization", bearer.as_str())];
    let plain_tls = Http {
        addr,
        tls: Some(client_config(&ca_pem, None)),
    };
    let reply = plain_tls.open_session(&auth).await.unwrap();
    assert_eq!(reply.status, 200);
    let reader_session = reply.headers["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_string();
    assert_eq!(
        plain_tls.tool_names(&auth, &reader_session).await,
        ["text_count"]
    );

    // A session is not an identity: cibot's session is not found for the reader.
    let mut headers = auth.to_vec();
    headers.push(("mcp-session-id", &cibot_session));
    let reply = plain_tls
        .post(
            &headers,
            &json!({"jsonrpc": "2.0", "id": 3, "method": "tools/list"}),
        )
        .await
        .unwrap();
    assert_eq!(reply.status, 404);

    // Neither certificate nor token: 401 with a challenge.
    let reply = plain_tls.open_session(&[]).await.unwrap();
    assert_eq!(reply.status, 401);
    assert!(
        reply.headers["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer realm=\"warden\""),
        "{:?}",
        reply.headers
    );

    // The same subject from another CA fails the handshake.
    let as_impostor = Http {
        addr,
        tls: Some(client_config(&ca_pem, Some(&impostor))),
    };
    assert!(as_impostor.open_session(&[]).await.is_err());

    // Plain HTTP to the TLS port gets no MCP answer.
    let plain = Http { addr, tls: None };
    assert!(
        plain
            .open_session(&auth)
            .await
            .map_or(true, |reply| reply.status != 200)
    );
}

#[test]
fn unsafe_http_setups_are_refused() {
    let plain = manifest(&[("echo", "echo")], "");
    let path = plain.path.to_str().unwrap();
    let port = free_port().to_string();
    let everywhere = format!("0.0.0.0:{port}");
    let (code, _, stderr) = run(&["serve", "--manifest", path, "--http", &everywhere]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("is not a loopback address"), "{stderr}");
    assert!(stderr.contains("--insecure-plaintext"), "{stderr}");

    let anonymous = manifest(
        &[("echo", "echo")],
        "[clients.local]\nanonymous = true\ntools = [\"echo_*\"]\n",
    );
    let path = anonymous.path.to_str().unwrap();
    let (code, _, stderr) = run(&[
        "serve",
        "--manifest",
        path,
        "--http",
        &everywhere,
        "--insecure-plaintext",
    ]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr
            .contains("an anonymous client is only allowed when every --http address is loopback"),
        "{stderr}"
    );

    let (code, _, stderr) = run(&["serve", "--manifest", path, "--client-ca", "ca.pem"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("--tls-cert"), "{stderr}");
}

#[test]
fn grants_that_match_nothing_are_refused_by_check() {
    let manifest = manifest(
        &[("echo", "echo")],
        "[clients.cibot]\ntoken_sha256 = \"00000000000000000000000000000000000000000000000000000000000000aa\"\ntools = [\"echo_*\", \"fetch_*\", \"echo_nope\", \"echoecho\"]\nprompts = [\"review\"]\n\n[stdio]\ntools = [\"echo_echo\"]\n",
    );
    let (code, stdout, _) = run(&["check", "--manifest", manifest.path.to_str().unwrap()]);
    assert_eq!(code, 1, "{stdout}");
    for needle in [
        "`clients.cibot.tools.1`: the grant `fetch_*` matches no tool",
        "`clients.cibot.tools.2`: the grant `echo_nope` matches no tool",
        "`clients.cibot.tools.3`: the grant `echoecho` matches no tool",
        "`clients.cibot.prompts.0`: the grant `review` matches no prompt",
    ] {
        assert!(stdout.contains(needle), "{needle} in {stdout}");
    }
    assert!(stdout.starts_with("4 problems"), "{stdout}");
}

#[test]
fn token_new_prints_a_token_once_and_the_digest_to_pin() {
    let (code, stdout, _) = run(&["token", "new", "cibot"]);
    assert_eq!(code, 0);
    let token = stdout.lines().next().unwrap();
    assert!(token.starts_with("wdn_") && token.len() > 40, "{token}");
    assert!(stdout.contains("[clients.cibot]"), "{stdout}");
    assert!(
        stdout.contains(&format!("token_sha256 = \"{}\"", sha256_hex(token))),
        "{stdout}"
    );
    let (_, again, _) = run(&["token", "new", "cibot"]);
    assert_ne!(again.lines().next(), Some(token), "tokens are random");
    let (code, _, stderr) = run(&["token", "new", "Not A Name"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("is not a client name"), "{stderr}");
}

#[tokio::test]
async fn sigterm_lets_the_call_in_flight_finish() {
    let token = "drain-token";
    let manifest = manifest(
        &[("hog", "hog")],
        &format!(
            "[clients.ops]\ntoken_sha256 = \"{}\"\ntools = [\"hog_nap\"]\n",
            sha256_hex(token)
        ),
    );
    let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let mut server = start(&manifest, addr, &[]).await;
    let bearer = format!("Bearer {token}");
    let call = tokio::spawn(async move {
        let http = Http { addr, tls: None };
        let auth = [("authorization", bearer.as_str())];
        let reply = http.open_session(&auth).await.unwrap();
        let session = reply.headers["mcp-session-id"]
            .to_str()
            .unwrap()
            .to_string();
        let mut headers = auth.to_vec();
        headers.push(("mcp-session-id", &session));
        headers.push(("mcp-protocol-version", "2025-11-25"));
        http.post(
            &headers,
            &json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call",
                    "params": {"name": "hog_nap", "arguments": {"milliseconds": 3000}}}),
        )
        .await
        .unwrap()
    });
    // Let the call reach the sandbox, then ask the server to stop.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let pid = server.id().unwrap().to_string();
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(status.success());
    let reply = call.await.unwrap();
    assert_eq!(reply.status, 200);
    let message = reply.message.unwrap();
    assert_eq!(message["id"], 7, "{message}");
    assert_eq!(message["result"]["isError"], false, "{message}");
    let exit = tokio::time::timeout(Duration::from_secs(30), server.wait())
        .await
        .expect("warden exits after draining")
        .unwrap();
    assert!(exit.success(), "{exit}");
    // And it no longer listens.
    assert!(TcpStream::connect(addr).await.is_err());
}
