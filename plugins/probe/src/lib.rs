//! `probe`: a test tool whose functions each try one way out of the sandbox (files, the
//! environment, arguments, TCP, HTTP, secrets) and report what happened as a string: the
//! result, or the underlying error's text ("Operation not permitted", "No such file or
//! directory", "HTTP-request-denied" ...). It never panics.
//!
//! Test-only: not in the example manifest. Tests grant it whatever the case under test needs
//! (`dirs`, `hosts`, `secrets`, `env`), or nothing to check that everything is refused.

use std::fs;
use std::net::TcpStream;

use warden_sdk::http::Request;
use warden_sdk::secrets;

warden_sdk::tool!({ world: "probe", export: Probe });

/// The `probe` world's implementation.
struct Probe;

/// The largest response body an HTTP probe reads.
const MAX_BODY_BYTES: usize = 1024 * 1024;

impl Guest for Probe {
    fn read_file(path: String) -> Result<String, String> {
        let bytes = fs::read(&path).map_err(|e| format!("{path}: {e}"))?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    fn write_file(path: String, content: String) -> Result<String, String> {
        fs::write(&path, &content).map_err(|e| format!("{path}: {e}"))?;
        Ok(format!("wrote {} bytes", content.len()))
    }

    fn delete_file(path: String) -> Result<String, String> {
        fs::remove_file(&path).map_err(|e| format!("{path}: {e}"))?;
        Ok(format!("deleted {path}"))
    }

    fn rename_file(from: String, to: String) -> Result<String, String> {
        fs::rename(&from, &to).map_err(|e| format!("{from} -> {to}: {e}"))?;
        Ok(format!("renamed {from} to {to}"))
    }

    fn make_dir(path: String) -> Result<String, String> {
        fs::create_dir(&path).map_err(|e| format!("{path}: {e}"))?;
        Ok(format!("created {path}"))
    }

    fn list_dir(path: String) -> Result<Vec<String>, String> {
        let mut names = Vec::new();
        for entry in fs::read_dir(&path).map_err(|e| format!("{path}: {e}"))? {
            let entry = entry.map_err(|e| format!("{path}: {e}"))?;
            names.push(entry.file_name().to_string_lossy().into_owned());
        }
        names.sort();
        Ok(names)
    }

    fn env_var(name: String) -> Option<String> {
        std::env::var(name).ok()
    }

    fn env_all() -> Vec<(String, String)> {
        std::env::vars_os()
            .map(|(name, value)| {
                (
                    name.to_string_lossy().into_owned(),
                    value.to_string_lossy().into_owned(),
                )
            })
            .collect()
    }

    fn args() -> Vec<String> {
        std::env::args_os()
            .map(|arg| arg.to_string_lossy().into_owned())
            .collect()
    }

    fn tcp_connect(address: String) -> Result<String, String> {
        let stream = TcpStream::connect(&address).map_err(|e| format!("{address}: {e}"))?;
        let peer = stream
            .peer_addr()
            .map_or_else(|_| address.clone(), |peer| peer.to_string());
        Ok(format!("connected to {peer}"))
    }

    fn http_get(url: String) -> Result<String, String> {
        status_and_body(Request::get(url))
    }

    fn http_get_with_header(url: String, name: String, value: String) -> Result<String, String> {
        status_and_body(Request::get(url).header(name, value))
    }

    fn http_post(url: String, body: String) -> Result<String, String> {
        status_and_body(Request::post(url).body(body))
    }

    fn secret_token(name: String) -> Result<String, String> {
        Ok(secrets::token(&name)?)
    }

    fn secret_in_header(url: String, secret: String, header: String) -> Result<String, String> {
        let value = if header.eq_ignore_ascii_case("authorization") {
            secrets::bearer(&secret)?
        } else {
            secrets::token(&secret)?
        };
        status_and_body(Request::get(url).header(header, value))
    }

    fn secret_in_url(url: String, secret: String) -> Result<String, String> {
        let token = secrets::token(&secret)?;
        let separator = if url.contains('?') { '&' } else { '?' };
        status_and_body(Request::get(format!("{url}{separator}t={token}")))
    }

    fn secret_in_body(url: String, secret: String) -> Result<String, String> {
        let token = secrets::token(&secret)?;
        status_and_body(Request::post(url).body(token))
    }

    fn echo_headers(url: String) -> Result<String, String> {
        let response = Request::get(url)
            .send(MAX_BODY_BYTES)
            .map_err(String::from)?;
        Ok(String::from_utf8_lossy(&response.body).into_owned())
    }
}

/// Sends `request`; "<status> <body>", or the error's text.
fn status_and_body(request: Request) -> Result<String, String> {
    let response = request.send(MAX_BODY_BYTES).map_err(String::from)?;
    Ok(format!(
        "{} {}",
        response.status,
        String::from_utf8_lossy(&response.body)
    ))
}
