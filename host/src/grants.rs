//! Grants as types: outbound hosts, directories and their access. Matching lives here, on
//! parsed values; nothing is ever decided by comparing strings by prefix.

use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;

/// A URL scheme a tool may use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// `http`, default port 80.
    Http,
    /// `https`, default port 443.
    Https,
}

impl Scheme {
    /// Parses `http` or `https` (any case).
    pub fn parse(text: &str) -> Option<Self> {
        match text.to_ascii_lowercase().as_str() {
            "http" => Some(Scheme::Http),
            "https" => Some(Scheme::Https),
            _ => None,
        }
    }

    /// The port used when a URL names none.
    pub fn default_port(self) -> u16 {
        match self {
            Scheme::Http => 80,
            Scheme::Https => 443,
        }
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        })
    }
}

/// The host part of a grant.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum HostPattern {
    /// One DNS name, lowercased, without a trailing dot.
    Name(String),
    /// Every strict subdomain of a DNS name (`*.example.org`: `a.example.org`, not `example.org`).
    Subdomains(String),
    /// One literal IP address.
    Ip(IpAddr),
}

impl fmt::Display for HostPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HostPattern::Name(name) => f.write_str(name),
            HostPattern::Subdomains(name) => write!(f, "*.{name}"),
            HostPattern::Ip(IpAddr::V6(ip)) => write!(f, "[{ip}]"),
            HostPattern::Ip(ip) => write!(f, "{ip}"),
        }
    }
}

/// A destination of outgoing HTTP requests: scheme, host (or subdomain pattern) and port.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct HostGrant {
    /// The scheme.
    pub scheme: Scheme,
    /// The host or hosts.
    pub host: HostPattern,
    /// The port (the scheme's default when the grant names none).
    pub port: u16,
}

/// A concrete destination: what a request goes to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Destination {
    /// The scheme.
    pub scheme: Scheme,
    /// The host: a lowercased DNS name or an IP literal.
    pub host: Host,
    /// The port.
    pub port: u16,
}

/// The host of a destination.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Host {
    /// A DNS name, lowercased, without a trailing dot.
    Name(String),
    /// An IP literal.
    Ip(IpAddr),
}

impl fmt::Display for Destination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.host {
            Host::Name(name) => write!(f, "{}://{name}:{}", self.scheme, self.port),
            Host::Ip(IpAddr::V6(ip)) => write!(f, "{}://[{ip}]:{}", self.scheme, self.port),
            Host::Ip(ip) => write!(f, "{}://{ip}:{}", self.scheme, self.port),
        }
    }
}

impl fmt::Display for HostGrant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}", self.scheme, self.host)?;
        if self.port != self.scheme.default_port() {
            write!(f, ":{}", self.port)?;
        }
        Ok(())
    }
}

/// Splits `scheme://host[:port][/]` into its parts.
///
/// Hand-written rather than the `url` crate: grants are not URLs (`*.example.org` is not a
/// valid URL host) and must carry no path, query, user info or fragment.
fn split_origin(text: &str) -> Result<(Scheme, &str, Option<u16>), String> {
    let (scheme, rest) = text.split_once("://").ok_or_else(|| {
        format!("`{text}` has no scheme: write it as `https://host` or `http://host:port`")
    })?;
    let scheme = Scheme::parse(scheme)
        .ok_or_else(|| format!("`{text}`: only http and https can be granted"))?;
    let authority = rest.strip_suffix('/').unwrap_or(rest);
    if authority.is_empty() || authority.contains(['/', '?', '#', '@']) {
        return Err(format!(
            "`{text}` must be only a scheme, a host and an optional port (no path, query or user)"
        ));
    }
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (ip, after) = v6
            .split_once(']')
            .ok_or_else(|| format!("`{text}`: unclosed `[` in an IPv6 address"))?;
        let port = match after {
            "" => None,
            _ => Some(
                after
                    .strip_prefix(':')
                    .ok_or_else(|| format!("`{text}`: bad port"))?,
            ),
        };
        (ip, port)
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    let port = match port {
        None => None,
        Some(port) => Some(
            port.parse::<u16>()
                .ok()
                .filter(|p| *p != 0)
                .ok_or_else(|| format!("`{text}`: `{port}` is not a port (1-65535)"))?,
        ),
    };
    Ok((scheme, host, port))
}

/// Checks and lowercases a DNS name.
fn dns_name(name: &str, whole: &str) -> Result<String, String> {
    let name = name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase();
    let valid = !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        });
    if !valid {
        return Err(format!("`{whole}`: `{name}` is not a valid host name"));
    }
    // A numeric last label makes an IP address in another spelling (`127.0.0.1.`, `127.1`,
    // `2130706433`, `0x7f000001`), which name resolution would read as one: not a name.
    let numeric = |label: &str| {
        let digits = label.strip_prefix("0x").unwrap_or(label);
        digits.bytes().all(|b| b.is_ascii_hexdigit())
            && (digits.len() < label.len() || digits.bytes().all(|b| b.is_ascii_digit()))
    };
    if name.rsplit('.').next().is_some_and(numeric) {
        return Err(format!(
            "`{whole}`: `{name}` is an IP address in another spelling; write the address itself, e.g. 127.0.0.1"
        ));
    }
    Ok(name)
}

impl HostGrant {
    /// Parses `https://api.github.com`, `https://*.example.org`, `http://127.0.0.1:9000`.
    ///
    /// # Errors
    /// A message saying what is wrong and what a grant looks like; `*` alone is refused.
    pub fn parse(text: &str) -> Result<Self, String> {
        if text.trim() == "*"
            || text.contains("://*:")
            || text.ends_with("://*")
            || text.ends_with("://*/")
        {
            return Err(format!(
                "`{text}` would grant every host; name each destination, e.g. \"https://api.example.org\""
            ));
        }
        let (scheme, host, port) = split_origin(text)?;
        let host = if let Ok(ip) = host.parse::<IpAddr>() {
            HostPattern::Ip(ip)
        } else if let Some(domain) = host.strip_prefix("*.") {
            let domain = dns_name(domain, text)?;
            if !domain.contains('.') {
                return Err(format!(
                    "`{text}` would grant every name under a top-level domain; grant a registered domain's subdomains instead"
                ));
            }
            HostPattern::Subdomains(domain)
        } else if host.contains('*') {
            return Err(format!(
                "`{text}`: `*` may only stand as the first label, as in `*.example.org`"
            ));
        } else {
            HostPattern::Name(dns_name(host, text)?)
        };
        Ok(HostGrant {
            scheme,
            host,
            port: port.unwrap_or(scheme.default_port()),
        })
    }

    /// Whether a request to `destination` is allowed by this grant.
    pub fn allows(&self, destination: &Destination) -> bool {
        self.scheme == destination.scheme
            && self.port == destination.port
            && match (&self.host, &destination.host) {
                (HostPattern::Name(grant), Host::Name(name)) => grant == name,
                (HostPattern::Subdomains(grant), Host::Name(name)) => name
                    .strip_suffix(grant.as_str())
                    .is_some_and(|prefix| prefix.len() > 1 && prefix.ends_with('.')),
                (HostPattern::Ip(grant), Host::Ip(ip)) => grant == ip,
                _ => false,
            }
    }

    /// Whether every destination `other` allows is also allowed by this grant.
    pub fn covers(&self, other: &HostGrant) -> bool {
        self.scheme == other.scheme
            && self.port == other.port
            && match (&self.host, &other.host) {
                (a, b) if a == b => true,
                (
                    HostPattern::Subdomains(grant),
                    HostPattern::Name(name) | HostPattern::Subdomains(name),
                ) => name
                    .strip_suffix(grant.as_str())
                    .is_some_and(|prefix| prefix.len() > 1 && prefix.ends_with('.')),
                _ => false,
            }
    }
}

impl Destination {
    /// The destination of a request URL's scheme and authority.
    ///
    /// # Errors
    /// The scheme is not http(s) or the host is not a valid name or IP address.
    pub fn new(scheme: &str, host: &str, port: Option<u16>) -> Result<Self, String> {
        let scheme =
            Scheme::parse(scheme).ok_or_else(|| format!("scheme `{scheme}` is not allowed"))?;
        let bare = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        let host = match bare.parse::<IpAddr>() {
            Ok(ip) => Host::Ip(ip),
            Err(_) => Host::Name(dns_name(bare, host)?),
        };
        Ok(Destination {
            scheme,
            host,
            port: port.unwrap_or(scheme.default_port()),
        })
    }

    /// The destination of a request to `uri`: its scheme, host and port.
    ///
    /// # Errors
    /// As [`Destination::new`]; a URI without a scheme or host has no destination.
    pub fn of_uri(uri: &http::Uri) -> Result<Self, String> {
        Destination::new(
            uri.scheme_str().unwrap_or_default(),
            uri.host().unwrap_or_default(),
            uri.port_u16(),
        )
    }
}

/// What a tool may do in a granted directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// List and read; no create, write, rename or delete.
    ReadOnly,
    /// Everything inside the directory.
    ReadWrite,
}

impl Access {
    /// Parses `read-only` or `read-write`.
    pub fn parse(text: &str) -> Result<Self, String> {
        match text {
            "read-only" => Ok(Access::ReadOnly),
            "read-write" => Ok(Access::ReadWrite),
            other => Err(format!(
                "`{other}` is not an access: use \"read-only\" or \"read-write\""
            )),
        }
    }
}

/// A host directory preopened for a tool.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirGrant {
    /// The directory on the host (absolute, resolved).
    pub host: PathBuf,
    /// The absolute path the tool sees it at.
    pub guest: String,
    /// What the tool may do in it.
    pub access: Access,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dest(url: &str) -> Destination {
        let (scheme, host, port) = split_origin(url).unwrap();
        Destination::new(&scheme.to_string(), host, port).unwrap()
    }

    #[test]
    fn parses_grants() {
        let grant = HostGrant::parse("https://API.GitHub.com/").unwrap();
        assert_eq!(grant.host, HostPattern::Name("api.github.com".into()));
        assert_eq!(grant.port, 443);
        assert_eq!(grant.to_string(), "https://api.github.com");
        let grant = HostGrant::parse("http://127.0.0.1:9000").unwrap();
        assert_eq!(grant.host, HostPattern::Ip("127.0.0.1".parse().unwrap()));
        assert_eq!(grant.to_string(), "http://127.0.0.1:9000");
        let grant = HostGrant::parse("http://[::1]:8080").unwrap();
        assert_eq!(grant.to_string(), "http://[::1]:8080");
        for bad in [
            "*",
            "https://*",
            "https://*:443",
            "api.github.com",
            "ftp://x.org",
            "https://x.org/path",
            "https://user@x.org",
            "https://x.org:0",
            "https://x.org:99999",
            "https://a.*.org",
            "https://*.org",
            "https://bad_name.org",
            // An IP address in another spelling is not a name (found by the `grants` fuzz
            // target: `127.0.0.1.` became the name `127.0.0.1`).
            "http://127.0.0.1.",
            "http://127.1:9000",
            "http://2130706433",
        ] {
            assert!(HostGrant::parse(bad).is_err(), "{bad} must be refused");
        }
    }

    #[test]
    fn matches_scheme_host_and_port_exactly() {
        let github = HostGrant::parse("https://api.github.com").unwrap();
        assert!(github.allows(&dest("https://api.github.com")));
        assert!(github.allows(&dest("https://api.github.com:443")));
        assert!(!github.allows(&dest("http://api.github.com")));
        assert!(!github.allows(&dest("https://api.github.com:8443")));
        assert!(!github.allows(&dest("https://api.github.com.evil.org")));
        assert!(!github.allows(&dest("https://evilapi.github.com")));

        let wild = HostGrant::parse("https://*.example.org").unwrap();
        assert!(wild.allows(&dest("https://a.example.org")));
        assert!(wild.allows(&dest("https://a.b.example.org")));
        assert!(!wild.allows(&dest("https://example.org")));
        assert!(!wild.allows(&dest("https://badexample.org")));
        assert!(!wild.allows(&dest("https://example.org.evil.com")));

        let ip = HostGrant::parse("http://127.0.0.1:9000").unwrap();
        assert!(ip.allows(&dest("http://127.0.0.1:9000")));
        assert!(!ip.allows(&dest("http://localhost:9000")));
        for disguised in ["127.0.0.1.", "127.1", "0x7f.1", "2130706433", "0x7f000001"] {
            let uri: http::Uri = format!("http://{disguised}:9000/").parse().unwrap();
            assert!(Destination::of_uri(&uri).is_err(), "{disguised}");
        }
        for name in ["a.b0", "x.0xg", "0x7f.example", "1.example.org"] {
            assert!(Destination::new("http", name, None).is_ok(), "{name}");
        }
    }

    #[test]
    fn coverage_of_one_grant_by_another() {
        let wild = HostGrant::parse("https://*.example.org").unwrap();
        assert!(wild.covers(&HostGrant::parse("https://api.example.org").unwrap()));
        assert!(wild.covers(&HostGrant::parse("https://*.api.example.org").unwrap()));
        assert!(!wild.covers(&HostGrant::parse("https://example.org").unwrap()));
        assert!(!wild.covers(&HostGrant::parse("http://api.example.org").unwrap()));
        let exact = HostGrant::parse("https://api.github.com").unwrap();
        assert!(exact.covers(&exact));
        assert!(!exact.covers(&wild));
    }

    #[test]
    fn access_values() {
        assert_eq!(Access::parse("read-only"), Ok(Access::ReadOnly));
        assert_eq!(Access::parse("read-write"), Ok(Access::ReadWrite));
        assert!(Access::parse("rw").is_err());
    }
}
