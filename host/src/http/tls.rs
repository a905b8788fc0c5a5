//! TLS for Warden's HTTP transport: the rustls server configuration from PEM files, optional
//! client-certificate verification (mTLS), and the parsed subject of a client certificate that
//! maps to a client identity.
//!
//! Subjects are parsed into lists of (attribute, value) pairs and compared as lists, never as
//! strings: see [`DistinguishedName`] for the text form and the matching rule.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use x509_parser::der_parser::asn1_rs::Tag;
use x509_parser::x509::AttributeTypeAndValue;

/// Why TLS cannot be set up. Each message names the file and says how to fix it.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file cannot be read.
    #[error("cannot read {}: {source}; check the path and that Warden may read the file", .path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The certificate file holds no certificate.
    #[error(
        "{} holds no certificate: it must contain PEM `-----BEGIN CERTIFICATE-----` blocks, the server's certificate first, then its intermediates",
        .path.display()
    )]
    NoCertificate {
        /// The file.
        path: PathBuf,
    },
    /// The certificate file holds a certificate that cannot be used.
    #[error(
        "{} holds a certificate that cannot be used ({reason}); it must contain PEM X.509 certificates, the server's certificate first",
        .path.display()
    )]
    BadCertificate {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The key file holds no private key.
    #[error(
        "{} holds no private key: it must contain an unencrypted PEM `PRIVATE KEY`, `RSA PRIVATE KEY` or `EC PRIVATE KEY` block (decrypt an encrypted key with `openssl pkey -in KEY -out PLAIN`)",
        .path.display()
    )]
    NoKey {
        /// The file.
        path: PathBuf,
    },
    /// The key file holds a private key that cannot be used.
    #[error(
        "{} holds a private key that cannot be used ({reason}); supply an unencrypted RSA, ECDSA (P-256, P-384) or Ed25519 key in PEM (PKCS#8, PKCS#1 or SEC1)",
        .path.display()
    )]
    BadKey {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The private key is not the certificate's.
    #[error(
        "the private key in {} does not belong to the certificate in {}; supply the key the certificate was issued for",
        .key.display(), .cert.display()
    )]
    KeyMismatch {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
    },
    /// The client CA file cannot be used to verify client certificates.
    #[error(
        "client CA file {}: {reason}; it must contain the PEM certificate(s) of the CA(s) that issue client certificates",
        .path.display()
    )]
    ClientCa {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// rustls refused the configuration.
    #[error("cannot set up TLS: {0}")]
    Config(String),
}

/// Builds the server configuration: certificate chain and private key (PEM; PKCS#8, PKCS#1 or
/// SEC1 keys), and when `client_ca` is given, client certificates are verified against the CA(s)
/// in that PEM file.
///
/// A client without a certificate is still accepted (it may authenticate with a bearer token
/// instead); a client presenting a certificate that does not verify fails the handshake. Without
/// `client_ca`, no client certificate is requested.
///
/// ALPN: `http/1.1` only. TLS 1.2 and 1.3 with rustls's defaults (the ring provider).
///
/// # Errors
/// A [`TlsError`] naming the file at fault and how to fix it.
pub fn server_config(
    cert: &Path,
    key: &Path,
    client_ca: Option<&Path>,
) -> Result<Arc<ServerConfig>, TlsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let chain = read_certificates(cert)?.map_err(|reason| TlsError::BadCertificate {
        path: cert.to_path_buf(),
        reason,
    })?;
    if chain.is_empty() {
        return Err(TlsError::NoCertificate {
            path: cert.to_path_buf(),
        });
    }
    let private_key = read_key(key, &provider)?;
    let verifier = match client_ca {
        None => WebPkiClientVerifier::no_client_auth(),
        Some(path) => {
            let client_ca_error = |reason: String| TlsError::ClientCa {
                path: path.to_path_buf(),
                reason,
            };
            let cas = read_certificates(path)?.map_err(client_ca_error)?;
            if cas.is_empty() {
                return Err(client_ca_error(
                    "it holds no PEM CERTIFICATE block".to_string(),
                ));
            }
            let mut roots = RootCertStore::empty();
            for ca in cas {
                roots.add(ca).map_err(|e| {
                    client_ca_error(format!("a certificate cannot be used as a CA: {e}"))
                })?;
            }
            WebPkiClientVerifier::builder_with_provider(Arc::new(roots), Arc::clone(&provider))
                .allow_unauthenticated()
                .build()
                .map_err(|e| client_ca_error(e.to_string()))?
        }
    };
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Config(e.to_string()))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, private_key)
        .map_err(|e| match e {
            rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch) => {
                TlsError::KeyMismatch {
                    cert: cert.to_path_buf(),
                    key: key.to_path_buf(),
                }
            }
            // The key was loaded above: what remains is the certificate.
            other => TlsError::BadCertificate {
                path: cert.to_path_buf(),
                reason: other.to_string(),
            },
        })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Reads a file.
fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        path: path.to_path_buf(),
        source,
    })
}

/// The PEM certificates in a file, in order; other PEM blocks are skipped.
///
/// The outer error is the read error; the inner one says why the PEM is malformed.
fn read_certificates(
    path: &Path,
) -> Result<Result<Vec<CertificateDer<'static>>, String>, TlsError> {
    let bytes = read(path)?;
    Ok(CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("malformed PEM: {e}")))
}

/// The private key in a file, checked to be usable by `provider`.
fn read_key(path: &Path, provider: &CryptoProvider) -> Result<PrivateKeyDer<'static>, TlsError> {
    let bytes = read(path)?;
    let key = PrivateKeyDer::from_pem_slice(&bytes).map_err(|e| match e {
        pem::Error::NoItemsFound => TlsError::NoKey {
            path: path.to_path_buf(),
        },
        other => TlsError::BadKey {
            path: path.to_path_buf(),
            reason: other.to_string(),
        },
    })?;
    provider
        .key_provider
        .load_private_key(key.clone_key())
        .map_err(|e| TlsError::BadKey {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
    Ok(key)
}

/// The attributes known by short name, with their OIDs. Any other attribute is written as its
/// dotted OID.
const ATTRIBUTES: &[(&str, &str)] = &[
    ("CN", "2.5.4.3"),
    ("O", "2.5.4.10"),
    ("OU", "2.5.4.11"),
    ("C", "2.5.4.6"),
    ("ST", "2.5.4.8"),
    ("L", "2.5.4.7"),
    ("DC", "0.9.2342.19200300.100.1.25"),
    ("emailAddress", "1.2.840.113549.1.9.1"),
    ("UID", "0.9.2342.19200300.100.1.1"),
];

/// The characters a value may escape with `\`.
const ESCAPABLE: &[char] = &[',', '=', '+', '\\', ' ', '"', ';', '<', '>', '#'];

/// An attribute type, kept as its dotted OID so that `CN` and `2.5.4.3` are the same attribute.
#[derive(Clone, PartialEq, Eq, Hash)]
struct Attribute {
    oid: String,
}

impl Attribute {
    /// The attribute written `name`: a short name (any case) or a dotted OID.
    fn from_name(name: &str) -> Option<Self> {
        if let Some((_, oid)) = ATTRIBUTES
            .iter()
            .find(|(short, _)| short.eq_ignore_ascii_case(name))
        {
            return Some(Self {
                oid: (*oid).to_string(),
            });
        }
        is_dotted_oid(name).then(|| Self {
            oid: name.to_string(),
        })
    }

    /// The short name when there is one, else the dotted OID.
    fn name(&self) -> &str {
        ATTRIBUTES
            .iter()
            .find(|(_, oid)| *oid == self.oid)
            .map_or(&self.oid, |(short, _)| short)
    }
}

impl fmt::Debug for Attribute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Whether `text` is a dotted-decimal OID in canonical form: at least two arcs, the first 0, 1
/// or 2, no empty arcs and no leading zeros.
fn is_dotted_oid(text: &str) -> bool {
    let arcs: Vec<&str> = text.split('.').collect();
    arcs.len() >= 2
        && matches!(arcs[0], "0" | "1" | "2")
        && arcs.iter().all(|arc| {
            !arc.is_empty()
                && arc.bytes().all(|b| b.is_ascii_digit())
                && (*arc == "0" || !arc.starts_with('0'))
        })
}

/// An X.509 distinguished name as an ordered list of (attribute, value) pairs, parsed — never
/// compared as a string prefix.
///
/// Attributes known by short name: `CN`, `O`, `OU`, `C`, `ST`, `L`, `DC`, `emailAddress`, `UID`;
/// any other is written as its dotted OID (`2.5.4.5=1234`). A known attribute written as its OID
/// is the same attribute, and displays by its short name.
///
/// **Order.** The pairs are in the order the certificate's subject encodes them (the DER
/// `RDNSequence` order), which is the order `openssl x509 -noout -subject` prints: a certificate
/// made with `openssl req -subj "/CN=cibot/O=Example"` (or rcgen, pushing `CommonName` then
/// `OrganizationName`) has the subject `CN=cibot,O=Example`, and OpenSSL's own output
/// `CN = cibot, O = Example` parses to the same name. This is *not* RFC 4514's reversed order.
///
/// **Matching.** A manifest subject matches a certificate when the two parsed lists are equal: the
/// same attributes with the same values in the same order. Attribute names are normalized (case,
/// short name or OID); values are compared exactly (case and inner spaces count).
///
/// Every name has at least one pair, no empty values, no control characters, and one attribute
/// per RDN: multi-valued RDNs (`CN=a+O=b`) are refused, in the manifest and in certificates.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct DistinguishedName {
    /// The (attribute, value) pairs, in certificate order.
    rdns: Vec<(Attribute, String)>,
}

/// One character of the text form, and whether it was escaped with `\`.
#[derive(Clone, Copy)]
struct Token {
    /// The character.
    ch: char,
    /// Whether it was written `\ch`.
    escaped: bool,
}

impl Token {
    /// Whether this is `ch`, unescaped.
    fn is(self, ch: char) -> bool {
        !self.escaped && self.ch == ch
    }
}

impl DistinguishedName {
    /// Parses the manifest form, RFC 4514-like: `CN=cibot`, `CN=cibot,O=Example Corp`.
    ///
    /// Pairs are separated by `,` and written `ATTRIBUTE=value`; spaces around `,` and `=` are
    /// ignored; attribute names are case-insensitive. In a value, `\,` `\=` `\+` `\\` stand for
    /// the character, `\ ` for a space that is kept at either end (and `\"` `\;` `\<` `\>` `\#`
    /// are accepted). The order is the certificate's (see [`DistinguishedName`]).
    ///
    /// # Errors
    /// A message saying what is wrong and how to write it: empty text, an empty part, a missing
    /// `=`, an unknown attribute name that is not a dotted OID, an empty value, an unescaped `=`
    /// in a value, an unknown escape, a control character, or a multi-valued RDN (`+`).
    pub fn parse(text: &str) -> Result<Self, String> {
        if text.trim().is_empty() {
            return Err(
                "the subject is empty: write it as `CN=name` or `CN=name,O=organization`"
                    .to_string(),
            );
        }
        let tokens = tokenize(text)?;
        let rdns = tokens
            .split(|t| t.is(','))
            .map(parse_rdn)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self { rdns })
    }

    /// The subject of a DER certificate (the leaf a client presented).
    ///
    /// # Errors
    /// The certificate cannot be parsed, or its subject cannot be written in the text form:
    /// empty, a multi-valued RDN, an attribute value that is not text, an empty value or a
    /// control character.
    pub fn from_certificate(der: &[u8]) -> Result<Self, String> {
        let (_, certificate) = x509_parser::parse_x509_certificate(der)
            .map_err(|e| format!("the certificate cannot be parsed: {e}"))?;
        let mut rdns = Vec::new();
        for rdn in certificate.subject().iter() {
            let mut attributes = rdn.iter();
            let attribute = match (attributes.next(), attributes.next()) {
                (Some(attribute), None) => attribute,
                (None, _) => return Err("the certificate's subject has an empty RDN".to_string()),
                (Some(_), Some(_)) => {
                    return Err("the certificate's subject has a multi-valued RDN (`A=x+B=y`), which Warden does not support".to_string());
                }
            };
            let oid = attribute.attr_type().to_id_string();
            if !is_dotted_oid(&oid) {
                return Err(format!(
                    "the certificate's subject has an attribute type that is not a dotted OID: {oid}"
                ));
            }
            let kind = Attribute { oid };
            let value = attribute_text(attribute).ok_or_else(|| {
                format!(
                    "the certificate's subject {} is not a text string",
                    kind.name()
                )
            })?;
            check_value(&kind, &value)?;
            rdns.push((kind, value));
        }
        if rdns.is_empty() {
            return Err("the certificate's subject is empty".to_string());
        }
        Ok(Self { rdns })
    }
}

/// Splits the text form into characters, resolving escapes.
fn tokenize(text: &str) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(ch) = chars.next() {
        if ch != '\\' {
            tokens.push(Token { ch, escaped: false });
            continue;
        }
        match chars.next() {
            Some(next) if ESCAPABLE.contains(&next) => tokens.push(Token {
                ch: next,
                escaped: true,
            }),
            Some(next) => {
                return Err(format!(
                    "`\\{next}` is not an escape: write `\\,` `\\=` `\\+` `\\\\` or `\\ ` (a kept space)"
                ));
            }
            None => {
                return Err(
                    "the subject ends with a lone `\\`: write `\\\\` for a backslash".to_string(),
                );
            }
        }
    }
    Ok(tokens)
}

/// Writes tokens back as text, escapes resolved (for messages).
fn plain(tokens: &[Token]) -> String {
    tokens.iter().map(|t| t.ch).collect()
}

/// Parses one `ATTRIBUTE=value` part.
fn parse_rdn(part: &[Token]) -> Result<(Attribute, String), String> {
    if part.iter().all(|t| t.is(' ')) {
        return Err("the subject has an empty part (a `,` at the start or end, or two in a row): write `\\,` for a comma inside a value".to_string());
    }
    if part.iter().any(|t| t.is('+')) {
        return Err(format!(
            "`{}` is a multi-valued RDN, which Warden does not support: write one attribute per `,`-separated part, and `\\+` for a plus sign inside a value",
            plain(part).trim()
        ));
    }
    let Some(equals) = part.iter().position(|t| t.is('=')) else {
        return Err(format!(
            "`{}` has no `=`: each part of a subject is `ATTRIBUTE=value`, e.g. `CN=cibot`",
            plain(part).trim()
        ));
    };
    let (name, value) = (&part[..equals], &part[equals + 1..]);
    let name_text = plain(name);
    let name_text = name_text.trim();
    if name_text.is_empty() {
        return Err(format!(
            "`{}` has no attribute name before `=`",
            plain(part).trim()
        ));
    }
    let attribute = name
        .iter()
        .all(|t| !t.escaped)
        .then(|| Attribute::from_name(name_text))
        .flatten()
        .ok_or_else(|| {
            format!(
                "unknown attribute `{name_text}`: use CN, O, OU, C, ST, L, DC, emailAddress, UID or a dotted OID such as 2.5.4.5"
            )
        })?;
    let start = value.iter().position(|t| !t.is(' ')).unwrap_or(value.len());
    let end = value
        .iter()
        .rposition(|t| !t.is(' '))
        .map_or(start, |i| i + 1);
    let value = &value[start..end];
    if value.iter().any(|t| t.is('=')) {
        return Err(format!(
            "the value of {} contains `=`: separate attributes with `,`, and write `\\=` for an equals sign inside a value",
            attribute.name()
        ));
    }
    let value = plain(value);
    check_value(&attribute, &value)?;
    Ok((attribute, value))
}

/// Refuses empty values and control characters.
fn check_value(attribute: &Attribute, value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Err(format!("the value of {} is empty", attribute.name()));
    }
    if value.chars().any(char::is_control) {
        return Err(format!(
            "the value of {} contains a control character",
            attribute.name()
        ));
    }
    Ok(())
}

/// The text of an attribute value: the string types X.509 names use (UTF8String,
/// PrintableString, IA5String, NumericString, BMPString).
fn attribute_text(attribute: &AttributeTypeAndValue<'_>) -> Option<String> {
    if let Ok(text) = attribute.as_str() {
        return Some(text.to_string());
    }
    if attribute.attr_value().tag() != Tag::BmpString {
        return None;
    }
    let bytes = attribute.as_slice();
    if !bytes.len().is_multiple_of(2) {
        return None;
    }
    let units = bytes
        .chunks_exact(2)
        .map(|pair| u16::from_be_bytes([pair[0], pair[1]]));
    char::decode_utf16(units)
        .collect::<Result<String, _>>()
        .ok()
}

impl fmt::Display for DistinguishedName {
    /// The text form [`DistinguishedName::parse`] accepts: `CN=cibot,O=Example Corp`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, (attribute, value)) in self.rdns.iter().enumerate() {
            if index > 0 {
                f.write_str(",")?;
            }
            write!(f, "{}=", attribute.name())?;
            let last = value.chars().count().saturating_sub(1);
            for (i, ch) in value.chars().enumerate() {
                let edge_space = ch == ' ' && (i == 0 || i == last);
                if edge_space || matches!(ch, ',' | '=' | '+' | '\\') {
                    f.write_str("\\")?;
                }
                write!(f, "{ch}")?;
            }
        }
        Ok(())
    }
}

/// The subject of the client certificate a TLS connection presented, if any (first certificate
/// of the peer chain). `None` as well when that subject cannot be written in the text form (it
/// is logged): such a client has no certificate identity.
pub fn client_subject(connection: &rustls::ServerConnection) -> Option<DistinguishedName> {
    let leaf = connection.peer_certificates()?.first()?;
    match DistinguishedName::from_certificate(leaf) {
        Ok(subject) => Some(subject),
        Err(reason) => {
            tracing::warn!(target: "warden::denial", "client certificate ignored as an identity: {reason}");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io;
    use std::time::Duration;

    use rcgen::{
        BasicConstraints, CertificateParams, CertifiedIssuer, DnType, DnValue,
        ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose,
    };
    use rustls::ClientConfig;
    use rustls::pki_types::ServerName;
    use tempfile::TempDir;
    use tokio::net::{TcpListener, TcpStream};
    use tokio_rustls::{TlsAcceptor, TlsConnector};

    use super::*;

    fn dn(text: &str) -> DistinguishedName {
        DistinguishedName::parse(text).unwrap_or_else(|e| panic!("`{text}`: {e}"))
    }

    fn parse_error(text: &str) -> String {
        DistinguishedName::parse(text).expect_err(text)
    }

    #[test]
    fn parse_and_display_round_trip() {
        for text in [
            "CN=cibot",
            "CN=cibot,O=Example Corp",
            "CN=cibot,OU=Build,O=Example Corp,L=Paris,ST=IDF,C=FR",
            "DC=com,DC=example,CN=cibot",
            "emailAddress=ops@example.com,UID=u1",
            "2.5.4.5=1234,CN=cibot",
            r"CN=a\,b\=c\+d\\e",
            r"CN=\ padded\ ",
            "CN=Example  Corp",
            "CN=élève 日本",
        ] {
            let parsed = dn(text);
            assert_eq!(parsed.to_string(), text);
            assert_eq!(dn(&parsed.to_string()), parsed);
        }
    }

    #[test]
    fn spaces_case_and_oids_are_normalized() {
        let canonical = dn("CN=cibot,O=Example Corp");
        assert_eq!(dn(" cn = cibot ,  o=Example Corp "), canonical);
        assert_eq!(dn("Cn=cibot,o=Example Corp"), canonical);
        assert_eq!(dn("2.5.4.3=cibot,2.5.4.10=Example Corp"), canonical);
        assert_eq!(
            dn("2.5.4.3=cibot,2.5.4.10=Example Corp").to_string(),
            "CN=cibot,O=Example Corp"
        );
        assert_eq!(dn("EMAILADDRESS=a@b").to_string(), "emailAddress=a@b");
        assert_eq!(dn("uid=u1").to_string(), "UID=u1");
        // What `openssl x509 -noout -subject` prints after `subject=`.
        assert_eq!(
            dn("C = US, O = Example, CN = cibot"),
            dn("C=US,O=Example,CN=cibot")
        );
    }

    #[test]
    fn values_compare_exactly_and_order_counts() {
        assert_ne!(dn("CN=cibot"), dn("CN=CIBOT"));
        assert_ne!(dn("CN=cibot"), dn("CN=cibot,O=Example"));
        assert_ne!(dn("CN=cibot,O=Example"), dn("O=Example,CN=cibot"));
        assert_ne!(dn("CN=Example Corp"), dn("CN=Example  Corp"));
        assert_ne!(dn(r"CN=\ cibot"), dn("CN=cibot"));
    }

    #[test]
    fn escapes() {
        let parsed = dn(r#"CN=a\,b\=c\+d\\e\ f\;\#\<\>\""#);
        assert_eq!(parsed.rdns[0].1, r#"a,b=c+d\e f;#<>""#);
        assert_eq!(parsed.to_string(), r#"CN=a\,b\=c\+d\\e f;#<>""#);
        assert_eq!(dn(r"CN=\ x\ ").rdns[0].1, " x ");
        assert_eq!(dn(r"CN= \  ").rdns[0].1, " ");
        assert_eq!(dn(r"CN= \  ").to_string(), r"CN=\ ");
    }

    #[test]
    fn parse_errors_say_what_to_write() {
        let cases = [
            ("", "the subject is empty"),
            ("   ", "the subject is empty"),
            ("cibot", "`cibot` has no `=`"),
            ("CN=cibot,Example", "`Example` has no `=`"),
            ("=cibot", "no attribute name before `=`"),
            ("CN=", "the value of CN is empty"),
            ("CN=cibot,O=  ", "the value of O is empty"),
            ("XX=cibot", "unknown attribute `XX`"),
            ("2.5=x,01.2=y", "unknown attribute `01.2`"),
            ("C\\,N=x", "unknown attribute `C,N`"),
            ("CN=a+O=b", "multi-valued RDN"),
            ("CN=cibot,", "empty part"),
            (",CN=cibot", "empty part"),
            ("CN=a,,O=b", "empty part"),
            ("CN=cibot O=Example", "contains `=`"),
            ("CN=a\\b", "`\\b` is not an escape"),
            ("CN=a\\", "lone `\\`"),
            ("CN=a\tb", "control character"),
        ];
        for (text, expected) in cases {
            let message = parse_error(text);
            assert!(
                message.contains(expected),
                "`{text}`: `{message}` lacks `{expected}`"
            );
        }
        assert!(parse_error("XX=cibot").contains("dotted OID"));
        assert!(parse_error("CN=a+O=b").contains(r"`\+`"));
        assert!(parse_error("CN=cibot O=Example").contains(r"`\=`"));
    }

    // ---- certificates ----

    /// A key pair and its certificate, in PEM.
    struct Issued {
        cert_pem: String,
        key_pem: String,
        der: Vec<u8>,
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
        let names: Vec<String> = names.iter().map(ToString::to_string).collect();
        let mut params = CertificateParams::new(names).unwrap();
        params.distinguished_name = rcgen::DistinguishedName::new();
        for (kind, value) in subject {
            params
                .distinguished_name
                .push(kind.clone(), DnValue::Utf8String((*value).to_string()));
        }
        params.extended_key_usages = vec![usage];
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, issuer).unwrap();
        Issued {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            der: cert.der().to_vec(),
        }
    }

    fn client(issuer: &CertifiedIssuer<'static, KeyPair>, subject: &[(DnType, &str)]) -> Issued {
        issue(issuer, &[], subject, ExtendedKeyUsagePurpose::ClientAuth)
    }

    #[test]
    fn subject_of_certificates() {
        let ca = ca("Test CA");
        let cn = client(&ca, &[(DnType::CommonName, "cibot")]);
        let subject = DistinguishedName::from_certificate(&cn.der).unwrap();
        assert_eq!(subject, dn("CN=cibot"));
        assert_eq!(subject.to_string(), "CN=cibot");

        let full = client(
            &ca,
            &[
                (DnType::CommonName, "cibot"),
                (DnType::OrganizationName, "Example, Inc."),
                (DnType::OrganizationalUnitName, "Build"),
            ],
        );
        let subject = DistinguishedName::from_certificate(&full.der).unwrap();
        assert_eq!(subject, dn(r"CN=cibot,O=Example\, Inc.,OU=Build"));
        assert_ne!(subject, dn("CN=cibot"));

        // The other generator order (OpenSSL's usual /C/O/CN): the name is as encoded.
        let reversed = client(
            &ca,
            &[
                (DnType::OrganizationName, "Example"),
                (DnType::CommonName, "cibot"),
            ],
        );
        let subject = DistinguishedName::from_certificate(&reversed.der).unwrap();
        assert_eq!(subject, dn("O=Example,CN=cibot"));
        assert_ne!(subject, dn("CN=cibot,O=Example"));

        let custom = client(
            &ca,
            &[
                (
                    DnType::CustomDnType(vec![0, 9, 2342, 19_200_300, 100, 1, 25]),
                    "com",
                ),
                (
                    DnType::CustomDnType(vec![1, 2, 840, 113_549, 1, 9, 1]),
                    "a@b.example",
                ),
                (DnType::CustomDnType(vec![2, 5, 4, 5]), "1234"),
            ],
        );
        let subject = DistinguishedName::from_certificate(&custom.der).unwrap();
        assert_eq!(
            subject.to_string(),
            "DC=com,emailAddress=a@b.example,2.5.4.5=1234"
        );
    }

    #[test]
    fn reads_every_string_type_names_use() {
        let ca = ca("Test CA");
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name = rcgen::DistinguishedName::new();
        let name = &mut params.distinguished_name;
        name.push(
            DnType::CommonName,
            DnValue::BmpString(rcgen::string::BmpString::try_from("cibot é").unwrap()),
        );
        name.push(
            DnType::OrganizationName,
            DnValue::PrintableString(rcgen::string::PrintableString::try_from("Example").unwrap()),
        );
        name.push(
            DnType::CustomDnType(vec![1, 2, 840, 113_549, 1, 9, 1]),
            DnValue::Ia5String(rcgen::string::Ia5String::try_from("a@b.example").unwrap()),
        );
        let cert = params
            .signed_by(&KeyPair::generate().unwrap(), &ca)
            .unwrap();
        assert_eq!(
            DistinguishedName::from_certificate(cert.der()).unwrap(),
            dn("CN=cibot é,O=Example,emailAddress=a@b.example")
        );
    }

    #[test]
    fn refuses_certificates_whose_subject_cannot_be_written() {
        let ca = ca("Test CA");
        let empty = client(&ca, &[]);
        assert!(
            DistinguishedName::from_certificate(&empty.der)
                .unwrap_err()
                .contains("empty")
        );
        let control = client(&ca, &[(DnType::CommonName, "ci\nbot")]);
        assert!(
            DistinguishedName::from_certificate(&control.der)
                .unwrap_err()
                .contains("control character")
        );
        assert!(
            DistinguishedName::from_certificate(b"not a certificate")
                .unwrap_err()
                .contains("cannot be parsed")
        );
    }

    // ---- server configuration ----

    /// Everything the TLS tests use, written to a temporary directory.
    struct Pki {
        dir: TempDir,
        ca: Issued,
        server: Issued,
        client: Issued,
        untrusted_client: Issued,
    }

    impl Pki {
        fn new() -> Self {
            let ca_issuer = ca("Warden Test CA");
            let ca = Issued {
                cert_pem: ca_issuer.pem(),
                key_pem: String::new(),
                der: ca_issuer.der().to_vec(),
            };
            let server = issue(
                &ca_issuer,
                &["localhost", "127.0.0.1"],
                &[(DnType::CommonName, "localhost")],
                ExtendedKeyUsagePurpose::ServerAuth,
            );
            let client = client(&ca_issuer, &[(DnType::CommonName, "cibot")]);
            let other = self::ca("Untrusted CA");
            let untrusted_client = self::client(&other, &[(DnType::CommonName, "cibot")]);
            let pki = Pki {
                dir: TempDir::new().unwrap(),
                ca,
                server,
                client,
                untrusted_client,
            };
            pki.write("ca.pem", &pki.ca.cert_pem);
            pki.write("server.pem", &pki.server.cert_pem);
            pki.write("server.key", &pki.server.key_pem);
            pki
        }

        fn path(&self, name: &str) -> PathBuf {
            self.dir.path().join(name)
        }

        fn write(&self, name: &str, text: &str) -> PathBuf {
            let path = self.path(name);
            std::fs::write(&path, text).unwrap();
            path
        }

        fn server_config(&self, client_ca: bool) -> Arc<ServerConfig> {
            let ca = self.path("ca.pem");
            server_config(
                &self.path("server.pem"),
                &self.path("server.key"),
                client_ca.then_some(ca.as_path()),
            )
            .unwrap()
        }

        fn client_config(&self, identity: Option<&Issued>) -> Arc<ClientConfig> {
            let mut roots = RootCertStore::empty();
            roots
                .add(CertificateDer::from(self.ca.der.clone()))
                .unwrap();
            let builder = ClientConfig::builder_with_provider(Arc::new(
                rustls::crypto::ring::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots);
            let mut config = match identity {
                None => builder.with_no_client_auth(),
                Some(issued) => builder
                    .with_client_auth_cert(
                        vec![CertificateDer::from(issued.der.clone())],
                        PrivateKeyDer::from_pem_slice(issued.key_pem.as_bytes()).unwrap(),
                    )
                    .unwrap(),
            };
            config.alpn_protocols = vec![b"http/1.1".to_vec()];
            Arc::new(config)
        }
    }

    fn config_error(cert: &Path, key: &Path, client_ca: Option<&Path>) -> String {
        server_config(cert, key, client_ca)
            .map(|_| ())
            .expect_err("server_config should fail")
            .to_string()
    }

    #[test]
    fn server_config_errors_name_the_file() {
        let pki = Pki::new();
        let cert = pki.path("server.pem");
        let key = pki.path("server.key");
        assert!(server_config(&cert, &key, None).is_ok());
        assert!(server_config(&cert, &key, Some(&pki.path("ca.pem"))).is_ok());

        let missing = pki.path("missing.pem");
        let message = config_error(&missing, &key, None);
        assert!(message.starts_with(&format!("cannot read {}", missing.display())));
        let message = config_error(&cert, &missing, None);
        assert!(message.starts_with(&format!("cannot read {}", missing.display())));
        let message = config_error(&cert, &key, Some(&missing));
        assert!(message.starts_with(&format!("cannot read {}", missing.display())));

        let no_cert = pki.write("no-cert.pem", &pki.server.key_pem);
        let message = config_error(&no_cert, &key, None);
        assert_eq!(
            message,
            format!(
                "{} holds no certificate: it must contain PEM `-----BEGIN CERTIFICATE-----` blocks, the server's certificate first, then its intermediates",
                no_cert.display()
            )
        );

        let bad_cert = pki.write(
            "bad-cert.pem",
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        );
        let message = config_error(&bad_cert, &key, None);
        assert!(
            message.starts_with(&format!(
                "{} holds a certificate that cannot be used",
                bad_cert.display()
            )),
            "{message}"
        );

        let no_key = pki.write("no-key.pem", &pki.server.cert_pem);
        let message = config_error(&cert, &no_key, None);
        assert!(
            message.starts_with(&format!("{} holds no private key", no_key.display())),
            "{message}"
        );

        let garbage = pki.write(
            "garbage.key",
            "-----BEGIN PRIVATE KEY-----\nZ2FyYmFnZQ==\n-----END PRIVATE KEY-----\n",
        );
        let message = config_error(&cert, &garbage, None);
        assert!(
            message.starts_with(&format!(
                "{} holds a private key that cannot be used",
                garbage.display()
            )),
            "{message}"
        );

        let unterminated = pki.write("unterminated.key", "-----BEGIN PRIVATE KEY-----\nAAAA\n");
        let message = config_error(&cert, &unterminated, None);
        assert!(
            message.starts_with(&format!(
                "{} holds a private key that cannot be used",
                unterminated.display()
            )),
            "{message}"
        );

        let other_key = pki.write("other.key", &pki.client.key_pem);
        let message = config_error(&cert, &other_key, None);
        assert_eq!(
            message,
            format!(
                "the private key in {} does not belong to the certificate in {}; supply the key the certificate was issued for",
                other_key.display(),
                cert.display()
            )
        );

        let message = config_error(&cert, &key, Some(&no_cert));
        assert!(
            message.starts_with(&format!(
                "client CA file {}: it holds no PEM CERTIFICATE block",
                no_cert.display()
            )),
            "{message}"
        );
    }

    // ---- handshakes ----

    /// What the server saw of a connection: the client's subject and the ALPN protocol.
    type Accepted = (Option<DistinguishedName>, Option<Vec<u8>>);

    /// One TLS connection over loopback: the server's and the client's outcome.
    async fn handshake(
        server: Arc<ServerConfig>,
        client: Arc<ClientConfig>,
    ) -> (io::Result<Accepted>, io::Result<()>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let acceptor = TlsAcceptor::from(server);
        let server_side = tokio::spawn(async move {
            let (tcp, _) = listener.accept().await?;
            let tls = acceptor.accept(tcp).await?;
            let connection = tls.get_ref().1;
            Ok::<_, io::Error>((
                client_subject(connection),
                connection.alpn_protocol().map(<[u8]>::to_vec),
            ))
        });
        let tcp = TcpStream::connect(address).await.unwrap();
        let name = ServerName::try_from("localhost").unwrap();
        let client_side = TlsConnector::from(client).connect(name, tcp).await;
        let server_side = tokio::time::timeout(Duration::from_secs(10), server_side)
            .await
            .expect("the server handshake did not finish")
            .expect("the server task panicked");
        (server_side, client_side.map(drop))
    }

    #[tokio::test]
    async fn client_certificate_signed_by_the_ca_gives_its_subject() {
        let pki = Pki::new();
        let (server, client) = handshake(
            pki.server_config(true),
            pki.client_config(Some(&pki.client)),
        )
        .await;
        client.unwrap();
        let (subject, alpn) = server.unwrap();
        assert_eq!(subject, Some(dn("CN=cibot")));
        assert_eq!(alpn.as_deref(), Some(&b"http/1.1"[..]));
    }

    #[tokio::test]
    async fn client_without_certificate_is_accepted_without_subject() {
        let pki = Pki::new();
        let (server, client) = handshake(pki.server_config(true), pki.client_config(None)).await;
        client.unwrap();
        assert_eq!(server.unwrap().0, None);
    }

    #[tokio::test]
    async fn client_certificate_from_another_ca_fails_the_handshake() {
        let pki = Pki::new();
        let (server, _client) = handshake(
            pki.server_config(true),
            pki.client_config(Some(&pki.untrusted_client)),
        )
        .await;
        let error = server.expect_err("the server accepted an untrusted client certificate");
        assert!(
            error.to_string().contains("UnknownIssuer"),
            "unexpected error: {error}"
        );
    }

    #[tokio::test]
    async fn without_client_ca_no_certificate_is_requested() {
        let pki = Pki::new();
        let (server, client) = handshake(
            pki.server_config(false),
            pki.client_config(Some(&pki.client)),
        )
        .await;
        client.unwrap();
        assert_eq!(server.unwrap().0, None);
        // Not even one from an unknown CA is looked at.
        let (server, client) = handshake(
            pki.server_config(false),
            pki.client_config(Some(&pki.untrusted_client)),
        )
        .await;
        client.unwrap();
        assert_eq!(server.unwrap().0, None);
    }
}
