//! The `Host` and `Origin` allowlists of the HTTP transport (DNS-rebinding and cross-site
//! defences), matched on parsed host names, schemes and ports, never on string prefixes.

use http::HeaderValue;

/// The loopback names a local server answers to by default.
const LOOPBACK: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// Accepted `Host` header values: host names or addresses, any port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostAllowlist(Vec<String>);

impl HostAllowlist {
    /// `localhost`, `127.0.0.1` and `::1`.
    pub fn loopback() -> Self {
        HostAllowlist(LOOPBACK.iter().map(|h| h.to_string()).collect())
    }

    /// Parses `[http] allowed_hosts`: names or addresses, without scheme or port.
    ///
    /// # Errors
    /// The entry that is not a host name, and why.
    pub fn parse(entries: &[String]) -> Result<Self, String> {
        let mut hosts = Vec::new();
        for entry in entries {
            let host = entry.trim().trim_start_matches('[').trim_end_matches(']');
            let valid = !host.is_empty()
                && host
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':'));
            if !valid {
                return Err(format!(
                    "`{entry}` is not a host name: write the name or address alone, e.g. \"mcp.example.com\""
                ));
            }
            hosts.push(host.to_ascii_lowercase());
        }
        Ok(HostAllowlist(hosts))
    }

    /// The entries, for rmcp's own check.
    pub fn entries(&self) -> &[String] {
        &self.0
    }

    /// Whether a request with this `Host` header is accepted (a missing one is not).
    pub fn allows(&self, host: Option<&HeaderValue>) -> bool {
        let Some(host) = host.and_then(|h| h.to_str().ok()) else {
            return false;
        };
        let Some(name) = host_of(host) else {
            return false;
        };
        self.0.contains(&name)
    }
}

/// The host part of a `Host` header value (`name`, `name:port`, `[v6]` or `[v6]:port`).
fn host_of(value: &str) -> Option<String> {
    let value = value.trim();
    let host = if let Some(rest) = value.strip_prefix('[') {
        let (inside, after) = rest.split_once(']')?;
        if !(after.is_empty() || after.strip_prefix(':').is_some_and(is_port)) {
            return None;
        }
        inside
    } else {
        match value.rsplit_once(':') {
            Some((name, port)) if is_port(port) && !name.contains(':') => name,
            Some(_) => return None,
            None => value,
        }
    };
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

fn is_port(text: &str) -> bool {
    !text.is_empty() && text.len() <= 5 && text.parse::<u16>().is_ok()
}

/// One allowed origin: a scheme, a host and a port or any port.
#[derive(Clone, Debug, PartialEq, Eq)]
struct OriginPattern {
    scheme: String,
    host: String,
    port: Option<u16>,
}

/// Accepted `Origin` header values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OriginAllowlist {
    patterns: Vec<OriginPattern>,
    entries: Vec<String>,
}

impl OriginAllowlist {
    /// `http://` and `https://` on the loopback names, any port.
    pub fn loopback() -> Self {
        let entries: Vec<String> = ["http", "https"]
            .iter()
            .flat_map(|scheme| {
                ["localhost", "127.0.0.1", "[::1]"]
                    .iter()
                    .map(move |host| format!("{scheme}://{host}:*"))
            })
            .collect();
        Self::parse(&entries).unwrap_or_else(|_| unreachable!("the loopback origins parse"))
    }

    /// Parses `[http] allowed_origins`: `scheme://host`, `scheme://host:port` or
    /// `scheme://host:*` (any port).
    ///
    /// # Errors
    /// The entry that is not an origin, and why.
    pub fn parse(entries: &[String]) -> Result<Self, String> {
        let mut patterns = Vec::new();
        for entry in entries {
            let bad = || {
                format!(
                    "`{entry}` is not an origin: use scheme://host, scheme://host:port or scheme://host:*, e.g. \"https://app.example.com\""
                )
            };
            let (scheme, rest) = entry.split_once("://").ok_or_else(bad)?;
            let scheme = scheme.to_ascii_lowercase();
            if scheme != "http" && scheme != "https" {
                return Err(bad());
            }
            let (host, port) = if let Some(host) = rest.strip_suffix(":*") {
                (host, None)
            } else {
                match split_port(rest) {
                    Some((host, Some(port))) => (host, Some(port)),
                    Some((host, None)) => (host, Some(default_port(&scheme))),
                    None => return Err(bad()),
                }
            };
            let host = host.trim_start_matches('[').trim_end_matches(']');
            if host.is_empty() || host.contains('/') {
                return Err(bad());
            }
            patterns.push(OriginPattern {
                scheme,
                host: host.to_ascii_lowercase(),
                port,
            });
        }
        Ok(OriginAllowlist {
            patterns,
            entries: entries.to_vec(),
        })
    }

    /// The entries as written, for rmcp's own check.
    pub fn entries(&self) -> &[String] {
        &self.entries
    }

    /// Whether a request with this `Origin` header is accepted.
    pub fn allows(&self, origin: &HeaderValue) -> bool {
        let Some(origin) = origin.to_str().ok() else {
            return false;
        };
        let Some((scheme, rest)) = origin.split_once("://") else {
            return false;
        };
        let scheme = scheme.to_ascii_lowercase();
        let Some((host, port)) = split_port(rest) else {
            return false;
        };
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_ascii_lowercase();
        let port = port.unwrap_or_else(|| default_port(&scheme));
        self.patterns.iter().any(|pattern| {
            pattern.scheme == scheme
                && pattern.host == host
                && pattern.port.is_none_or(|p| p == port)
        })
    }
}

/// Splits `host[:port]` (with `[v6]` hosts); `None` when malformed or a path follows.
fn split_port(text: &str) -> Option<(&str, Option<u16>)> {
    if text.contains('/') {
        return None;
    }
    if text.starts_with('[') {
        let end = text.find(']')?;
        let (host, after) = text.split_at(end + 1);
        return match after.strip_prefix(':') {
            Some(port) => Some((host, Some(port.parse().ok()?))),
            None if after.is_empty() => Some((host, None)),
            None => None,
        };
    }
    match text.rsplit_once(':') {
        Some((host, port)) => Some((host, Some(port.parse().ok()?))),
        None => Some((text, None)),
    }
}

fn default_port(scheme: &str) -> u16 {
    if scheme == "https" { 443 } else { 80 }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(text: &str) -> HeaderValue {
        HeaderValue::from_str(text).unwrap()
    }

    #[test]
    fn hosts_are_matched_by_name_any_port() {
        let hosts = HostAllowlist::loopback();
        for ok in [
            "localhost",
            "localhost:8931",
            "127.0.0.1:1",
            "[::1]:80",
            "LOCALHOST",
        ] {
            assert!(hosts.allows(Some(&header(ok))), "{ok}");
        }
        for bad in [
            "evil.com",
            "localhost.evil.com",
            "127.0.0.1.nip.io:80",
            "localhost:99999",
            "[::1]x",
            "",
        ] {
            assert!(!hosts.allows(Some(&header(bad))), "{bad}");
        }
        assert!(!hosts.allows(None));
    }

    #[test]
    fn origins_are_matched_by_scheme_host_and_port() {
        let origins = OriginAllowlist::loopback();
        for ok in [
            "http://localhost:3000",
            "https://127.0.0.1",
            "http://[::1]:8080",
        ] {
            assert!(origins.allows(&header(ok)), "{ok}");
        }
        for bad in [
            "http://evil.com",
            "http://localhost.evil.com",
            "null",
            "file://localhost",
            "http://localhost:3000/x",
        ] {
            assert!(!origins.allows(&header(bad)), "{bad}");
        }
        let exact = OriginAllowlist::parse(&["https://app.example.com".into()]).unwrap();
        assert!(exact.allows(&header("https://app.example.com")));
        assert!(exact.allows(&header("https://app.example.com:443")));
        assert!(!exact.allows(&header("https://app.example.com:8443")));
        assert!(!exact.allows(&header("http://app.example.com")));
        assert!(OriginAllowlist::parse(&["app.example.com".into()]).is_err());
        assert!(OriginAllowlist::parse(&["ftp://x".into()]).is_err());
        assert!(HostAllowlist::parse(&["http://x".into()]).is_err());
    }
}
