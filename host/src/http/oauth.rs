//! Warden as an OAuth 2.1 resource server, and nothing else: [`JwtVerifier`] checks a JWT access
//! token against the public keys of a JWKS file (signature, issuer, audience per RFC 8707, expiry),
//! and [`protected_resource_metadata`] and [`www_authenticate`] build what a client needs to
//! find the authorization server (RFC 9728) and to learn why it was refused (RFC 6750 §3).
//!
//! Warden issues no tokens and fetches no keys: the operator provides the JWKS file. A client's
//! token is never passed to a tool: once verified it becomes [`AccessClaims`] and goes no
//! further, so no tool sees it and no upstream API receives it (MCP forbids token passthrough;
//! a tool that calls an upstream API uses its own credentials).

use std::collections::HashSet;
use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde::de::IgnoredAny;

/// Clock skew tolerated on `exp` and `nbf`, in seconds.
const LEEWAY_SECS: u64 = 30;

/// The longest token looked at. Real access tokens are a few hundred bytes to a few KiB.
const MAX_TOKEN_LEN: usize = 16 * 1024;

/// RSA modulus sizes accepted: RFC 7518 §3.3 requires at least 2048 bits, and the RSA backend
/// verifies at most 4096.
const RSA_BITS: std::ops::RangeInclusive<usize> = 2048..=4096;

/// The claims every token must carry.
const REQUIRED_CLAIMS: [&str; 4] = ["exp", "iss", "aud", "sub"];

/// The RSA algorithms; an RSA key without `alg` may be used with any of them.
const RSA_ALGORITHMS: [Algorithm; 6] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
];

/// Why the verifier cannot be set up (named file, how to fix).
#[derive(Debug, thiserror::Error)]
pub enum OAuthError {
    /// The JWKS file cannot be read.
    #[error("cannot read the JWKS file {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The JWKS file is not a JWK Set, or one of its signing keys is broken.
    #[error("the JWKS file {path} is not usable: {reason}")]
    Jwks {
        /// The file.
        path: String,
        /// What is wrong and where, with the fix.
        reason: String,
    },
    /// No key in the file can verify a token.
    #[error(
        "the JWKS file {path} has no key Warden can verify tokens with: it needs a public signing key (`use` \"sig\" or absent) of kty \"EC\" (crv P-256 or P-384), \"RSA\" (2048 to 4096 bits) or \"OKP\" (crv Ed25519); symmetric keys (kty \"oct\", alg HS*) are never used"
    )]
    NoUsableKey {
        /// The file.
        path: String,
    },
}

/// Why a presented token is refused. Display is safe to return to the client (never echoes the token).
///
/// Every message is plain ASCII without `"` or `\`, so it fits an RFC 6750 `error_description`.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum TokenError {
    /// Not a compact JWS with a JSON header and JSON claims of the expected types.
    #[error("the access token is not a well-formed signed JWT")]
    Malformed,
    /// The header's `kid` names no trusted key (or is missing while several keys are trusted).
    #[error("the access token is signed with a key this resource does not trust")]
    UnknownKey,
    /// The signature does not verify with the named key.
    #[error("the access token signature is invalid")]
    BadSignature,
    /// `exp` is past, beyond the allowed clock skew.
    #[error("the access token has expired")]
    Expired,
    /// `nbf` is in the future, beyond the allowed clock skew.
    #[error("the access token is not valid yet")]
    NotYetValid,
    /// `iss` is not the configured authorization server.
    #[error("the access token was issued by another authorization server")]
    WrongIssuer,
    /// `aud` does not name this resource (RFC 8707).
    #[error("the access token was not issued for this resource")]
    WrongAudience,
    /// The header's `alg` is not allowed at all (`none`, HS*, unknown) or not for the named key.
    #[error("the access token signing algorithm is not allowed")]
    AlgorithmNotAllowed,
    /// A required claim (`exp`, `iss`, `aud`, `sub`) is absent.
    #[error("the access token lacks the {0} claim")]
    MissingClaim(&'static str),
}

/// The verified claims Warden uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessClaims {
    /// `sub`: who the token was issued for.
    pub subject: String,
    /// `client_id` (RFC 9068), else `azp`: the client the token was issued to.
    pub client_id: Option<String>,
    /// The granted scopes: the space-separated `scope` claim, else `scp` (an array, or a
    /// space-separated string); empty when neither is present.
    pub scopes: Vec<String>,
    /// `exp`, in seconds since the Unix epoch.
    pub expires_at: u64,
}

/// Verifies JWT access tokens against the keys of one JWKS file, for one issuer and one audience.
///
/// The keys are read once, by [`JwtVerifier::load`]; to follow a key rotation, load again.
/// Only the header's `alg` and `kid` choose how a token is checked: `jku`, `jwk`, `x5u` and
/// `x5c` are ignored, so a token cannot bring its own key.
#[derive(Debug)]
pub struct JwtVerifier {
    issuer: String,
    audience: String,
    keys: Vec<TrustedKey>,
}

/// One public key from the JWKS file, and the algorithms it may verify.
#[derive(Debug)]
struct TrustedKey {
    kid: Option<String>,
    /// Non-empty; a single algorithm when the JWK names its `alg`.
    algorithms: Vec<Algorithm>,
    key: DecodingKey,
}

impl JwtVerifier {
    /// Loads the JWKS file (a JSON `{"keys":[...]}`): EC (P-256/P-384), RSA, OKP(Ed25519) keys with `kid`; keys whose `use` is not "sig" or whose alg is symmetric are skipped; HS* (oct) keys are refused (never accept symmetric algs). Zero usable keys is an error.
    ///
    /// Also skipped: keys whose `key_ops` lack "verify", other key types and curves (P-521,
    /// Ed448), and keys whose `alg` is not one Warden verifies. A key with an `alg` may verify
    /// only that algorithm. When the file holds several usable keys, each needs a distinct `kid`;
    /// a single key may omit it. Every usable key is checked here, so a broken key is reported
    /// now rather than when a client presents a token.
    ///
    /// `issuer` and `audience` are compared byte for byte with `iss` and `aud`: `audience` is
    /// this server's canonical URI as clients send it in the RFC 8707 `resource` parameter.
    ///
    /// # Errors
    /// [`OAuthError::Read`] if the file cannot be read, [`OAuthError::Jwks`] if it is not a JWK
    /// Set or a signing key in it is broken (missing or bad coordinates, RSA modulus out of
    /// range, private key material, `alg` that does not fit the key, missing or duplicate
    /// `kid`), [`OAuthError::NoUsableKey`] if no key is left.
    pub fn load(jwks_file: &Path, issuer: String, audience: String) -> Result<Self, OAuthError> {
        let path = jwks_file.display().to_string();
        let text = std::fs::read_to_string(jwks_file).map_err(|source| OAuthError::Read {
            path: path.clone(),
            source,
        })?;
        let keys = parse_jwks(&text).map_err(|reason| OAuthError::Jwks {
            path: path.clone(),
            reason,
        })?;
        if keys.is_empty() {
            return Err(OAuthError::NoUsableKey { path });
        }
        Ok(Self {
            issuer,
            audience,
            keys,
        })
    }

    /// Verifies a compact JWS: header `kid` must name a loaded key (if the JWKS has exactly one key, a missing kid is allowed); alg must match the key type and be one of ES256, ES384, RS256, RS384, RS512, PS256, PS384, PS512, EdDSA (`none` and HS* refused); `iss` == issuer; `aud` (string or array) contains audience; `exp` required, `nbf` honoured; leeway 30 s; `sub` required.
    ///
    /// `token` is the credential alone, without the `Bearer ` prefix. A header with `crit` is
    /// refused (Warden understands no JWS extension); `iss` and `sub` must be strings and `sub`
    /// non-empty.
    ///
    /// # Errors
    /// Why the token is refused; see [`TokenError`].
    pub fn verify(&self, token: &str) -> Result<AccessClaims, TokenError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(TokenError::Malformed);
        }
        let mut parts = token.split('.');
        let (Some(header), Some(_), Some(_), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Malformed);
        };
        let base64url = |c: u8| c.is_ascii_alphanumeric() || c == b'-' || c == b'_';
        if !token.bytes().all(|c| c == b'.' || base64url(c)) {
            return Err(TokenError::Malformed);
        }
        let header: JoseHeader = URL_SAFE_NO_PAD
            .decode(header)
            .ok()
            .and_then(|json| serde_json::from_slice(&json).ok())
            .ok_or(TokenError::Malformed)?;
        if header.crit.is_some() {
            return Err(TokenError::Malformed);
        }
        let alg = signature_algorithm(&header.alg).ok_or(TokenError::AlgorithmNotAllowed)?;
        let key = self.key_for(header.kid.as_deref())?;
        if !key.algorithms.contains(&alg) {
            return Err(TokenError::AlgorithmNotAllowed);
        }

        let mut validation = Validation::new(alg);
        validation.leeway = LEEWAY_SECS;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.validate_aud = true;
        validation.set_required_spec_claims(&REQUIRED_CLAIMS);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        let claims = jsonwebtoken::decode::<RawClaims>(token, &key.key, &validation)
            .map_err(|error| token_error(error.kind()))?
            .claims;

        let subject = claims
            .sub
            .filter(|sub| !sub.is_empty())
            .ok_or(TokenError::MissingClaim("sub"))?;
        let expires_at = claims
            .exp
            .as_ref()
            .and_then(|exp| exp.as_u64().or_else(|| exp.as_f64().map(|exp| exp as u64)))
            .ok_or(TokenError::MissingClaim("exp"))?;
        let scopes = match (claims.scope, claims.scp) {
            (Some(scope), _) | (None, Some(Scopes::Text(scope))) => {
                scope.split_whitespace().map(str::to_string).collect()
            }
            (None, Some(Scopes::List(list))) => list,
            (None, None) => Vec::new(),
        };
        Ok(AccessClaims {
            subject,
            client_id: claims.client_id.or(claims.azp),
            scopes,
            expires_at,
        })
    }

    /// The configured issuer.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The configured audience.
    pub fn audience(&self) -> &str {
        &self.audience
    }

    /// The key a token's `kid` names; without a `kid`, the only key if there is exactly one.
    fn key_for(&self, kid: Option<&str>) -> Result<&TrustedKey, TokenError> {
        match kid {
            Some(kid) => self.keys.iter().find(|key| key.kid.as_deref() == Some(kid)),
            None if self.keys.len() == 1 => self.keys.first(),
            None => None,
        }
        .ok_or(TokenError::UnknownKey)
    }
}

/// RFC 9728 metadata document for this resource: {"resource": resource, "authorization_servers": [issuer], "scopes_supported": scopes (sorted), "bearer_methods_supported": ["header"], "resource_name": "Warden"}.
///
/// Duplicate scopes are listed once.
pub fn protected_resource_metadata(
    resource: &str,
    issuer: &str,
    scopes: &[String],
) -> serde_json::Value {
    let mut scopes: Vec<&str> = scopes.iter().map(String::as_str).collect();
    scopes.sort_unstable();
    scopes.dedup();
    serde_json::json!({
        "resource": resource,
        "authorization_servers": [issuer],
        "scopes_supported": scopes,
        "bearer_methods_supported": ["header"],
        "resource_name": "Warden",
    })
}

/// The `WWW-Authenticate` value for a 401: `Bearer realm="warden"`, plus `resource_metadata="<url>"` when given, plus `error="invalid_token", error_description="<TokenError display>"` when a token was presented and refused (quote-escape values; RFC 6750 §3).
///
/// In values, `"` and `\` are escaped and control characters dropped, so the result is always
/// one header line.
pub fn www_authenticate(
    resource_metadata_url: Option<&str>,
    refused: Option<&TokenError>,
) -> String {
    let mut value = String::from("Bearer realm=\"warden\"");
    if let Some(url) = resource_metadata_url {
        value.push_str(", resource_metadata=\"");
        push_quoted(&mut value, url);
        value.push('"');
    }
    if let Some(refused) = refused {
        value.push_str(", error=\"invalid_token\", error_description=\"");
        push_quoted(&mut value, &refused.to_string());
        value.push('"');
    }
    value
}

/// Appends `text` as the inside of an HTTP quoted-string.
fn push_quoted(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
}

/// The algorithms Warden verifies, by their JOSE name; `None` for `none`, HS* and anything else.
fn signature_algorithm(name: &str) -> Option<Algorithm> {
    Some(match name {
        "ES256" => Algorithm::ES256,
        "ES384" => Algorithm::ES384,
        "RS256" => Algorithm::RS256,
        "RS384" => Algorithm::RS384,
        "RS512" => Algorithm::RS512,
        "PS256" => Algorithm::PS256,
        "PS384" => Algorithm::PS384,
        "PS512" => Algorithm::PS512,
        "EdDSA" => Algorithm::EdDSA,
        _ => return None,
    })
}

/// Maps a jsonwebtoken failure to what the client is told.
fn token_error(kind: &ErrorKind) -> TokenError {
    match kind {
        ErrorKind::InvalidSignature => TokenError::BadSignature,
        ErrorKind::ExpiredSignature => TokenError::Expired,
        ErrorKind::ImmatureSignature => TokenError::NotYetValid,
        ErrorKind::InvalidIssuer => TokenError::WrongIssuer,
        ErrorKind::InvalidAudience => TokenError::WrongAudience,
        ErrorKind::InvalidAlgorithm
        | ErrorKind::MissingAlgorithm
        | ErrorKind::UnsupportedAlgorithm => TokenError::AlgorithmNotAllowed,
        ErrorKind::MissingRequiredClaim(claim) => REQUIRED_CLAIMS
            .iter()
            .find(|required| **required == claim.as_str())
            .map_or(TokenError::Malformed, |required| {
                TokenError::MissingClaim(required)
            }),
        // Keys are checked when loaded; one the backend still refuses verifies nothing.
        ErrorKind::InvalidEcdsaKey
        | ErrorKind::InvalidEddsaKey
        | ErrorKind::InvalidRsaKey(_)
        | ErrorKind::InvalidKeyFormat => TokenError::BadSignature,
        _ => TokenError::Malformed,
    }
}

/// The JOSE header fields Warden reads.
#[derive(Deserialize)]
struct JoseHeader {
    alg: String,
    kid: Option<String>,
    crit: Option<IgnoredAny>,
}

/// The claims Warden reads. Lenient on presence so that a missing claim is reported as
/// [`TokenError::MissingClaim`], strict on types (`iss` and `sub` are strings).
#[derive(Deserialize)]
struct RawClaims {
    sub: Option<String>,
    // Read only to insist on a string; jsonwebtoken alone would accept an array.
    #[allow(dead_code, reason = "the value is compared by jsonwebtoken")]
    iss: Option<String>,
    exp: Option<serde_json::Number>,
    client_id: Option<String>,
    azp: Option<String>,
    scope: Option<String>,
    scp: Option<Scopes>,
}

/// `scp` as an array (Okta, RFC 9068 style tooling) or a space-separated string (Entra ID).
#[derive(Deserialize)]
#[serde(untagged)]
enum Scopes {
    List(Vec<String>),
    Text(String),
}

/// The JWK fields Warden reads.
#[derive(Deserialize)]
struct RawJwk {
    kty: String,
    kid: Option<String>,
    #[serde(rename = "use")]
    usage: Option<String>,
    alg: Option<String>,
    key_ops: Option<Vec<String>>,
    crv: Option<String>,
    x: Option<String>,
    y: Option<String>,
    n: Option<String>,
    e: Option<String>,
    d: Option<IgnoredAny>,
}

/// The top level of a JWKS file.
#[derive(Deserialize)]
struct JwkSet {
    keys: Vec<serde_json::Value>,
}

/// The usable keys of a JWKS document, or what is wrong with it.
fn parse_jwks(text: &str) -> Result<Vec<TrustedKey>, String> {
    let set: JwkSet = serde_json::from_str(text)
        .map_err(|e| format!("expected a JWK Set, a JSON object {{\"keys\": [...]}}: {e}"))?;
    let mut keys = Vec::new();
    for (index, value) in set.keys.into_iter().enumerate() {
        let jwk: RawJwk = serde_json::from_value(value)
            .map_err(|e| format!("keys[{index}] is not a JWK: {e}"))?;
        let usable = trusted_key(&jwk).map_err(|reason| match &jwk.kid {
            Some(kid) => format!("keys[{index}] (kid {kid:?}) {reason}"),
            None => format!("keys[{index}] {reason}"),
        })?;
        keys.extend(usable);
    }
    if keys.len() > 1 {
        if keys.iter().any(|key| key.kid.is_none()) {
            return Err(format!(
                "{} signing keys, and not all have a `kid`: give each key a distinct `kid` (tokens name their key with it)",
                keys.len()
            ));
        }
        let mut seen = HashSet::new();
        for kid in keys.iter().filter_map(|key| key.kid.as_deref()) {
            if !seen.insert(kid) {
                return Err(format!(
                    "two signing keys have kid {kid:?}: give each key a distinct `kid`"
                ));
            }
        }
    }
    Ok(keys)
}

/// The key a JWK provides: `Ok(None)` if it is not a signing key Warden uses, `Err` if it is
/// one but broken (the message continues "keys[i] ...").
fn trusted_key(jwk: &RawJwk) -> Result<Option<TrustedKey>, String> {
    if jwk.kty == "oct" {
        return Ok(None);
    }
    if jwk.usage.as_deref().is_some_and(|usage| usage != "sig") {
        return Ok(None);
    }
    if jwk
        .key_ops
        .as_ref()
        .is_some_and(|ops| !ops.iter().any(|op| op == "verify"))
    {
        return Ok(None);
    }
    let wanted = match jwk.alg.as_deref() {
        None => None,
        // HS*, `none`, encryption algorithms, ES512 ...
        Some(name) => match signature_algorithm(name) {
            Some(alg) => Some(alg),
            None => return Ok(None),
        },
    };
    let (what, algorithms): (&str, &[Algorithm]) = match (jwk.kty.as_str(), jwk.crv.as_deref()) {
        ("EC", Some("P-256")) => ("an EC P-256", &[Algorithm::ES256]),
        ("EC", Some("P-384")) => ("an EC P-384", &[Algorithm::ES384]),
        ("OKP", Some("Ed25519")) => ("an OKP Ed25519", &[Algorithm::EdDSA]),
        ("RSA", _) => ("an RSA", &RSA_ALGORITHMS),
        _ => return Ok(None),
    };
    if jwk.d.is_some() {
        return Err(
            "holds private key material (`d`): the JWKS file needs only the public key; remove the private members".to_string(),
        );
    }
    let algorithms = match wanted {
        None => algorithms.to_vec(),
        Some(alg) if algorithms.contains(&alg) => vec![alg],
        Some(alg) => return Err(format!("has alg {alg:?}, which does not fit {what} key")),
    };
    let key = match jwk.kty.as_str() {
        "EC" => {
            let size = if jwk.crv.as_deref() == Some("P-256") {
                32
            } else {
                48
            };
            let x = member(jwk.x.as_deref(), "x", Some(size))?;
            let y = member(jwk.y.as_deref(), "y", Some(size))?;
            DecodingKey::from_ec_components(x, y).map_err(|e| e.to_string())?
        }
        "OKP" => DecodingKey::from_ed_components(member(jwk.x.as_deref(), "x", Some(32))?)
            .map_err(|e| e.to_string())?,
        _ => {
            let n = member(jwk.n.as_deref(), "n", None)?;
            let e = member(jwk.e.as_deref(), "e", None)?;
            check_rsa(n, e)?;
            DecodingKey::from_rsa_components(n, e).map_err(|e| e.to_string())?
        }
    };
    // EC and Ed25519 keys are parsed (and the point checked on the curve) when a verifier is
    // built; an empty signature makes that happen now and fails only on a bad key.
    jsonwebtoken::crypto::verify("", b"", &key, algorithms[0])
        .map_err(|_| format!("is not {what} public key (the point is not on the curve)"))?;
    Ok(Some(TrustedKey {
        kid: jwk.kid.clone(),
        algorithms,
        key,
    }))
}

/// A base64url member of a JWK, checked to decode (to `size` bytes, when given).
fn member<'a>(value: Option<&'a str>, name: &str, size: Option<usize>) -> Result<&'a str, String> {
    let text = value.ok_or_else(|| format!("lacks the `{name}` member"))?;
    let bytes = URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|_| format!("has a `{name}` that is not unpadded base64url"))?;
    match size {
        Some(size) if bytes.len() != size => Err(format!(
            "has a `{name}` of {} bytes; this curve needs {size}",
            bytes.len()
        )),
        _ => Ok(text),
    }
}

/// Checks an RSA public key's size and exponent. The RSA backend builds the key only when it
/// verifies, and then reports a broken key as a bad signature; this reports it at load.
fn check_rsa(n: &str, e: &str) -> Result<(), String> {
    let decode = |text: &str| URL_SAFE_NO_PAD.decode(text).unwrap_or_default();
    let n = decode(n);
    let n: &[u8] = match n.iter().position(|byte| *byte != 0) {
        Some(first) => &n[first..],
        None => &[],
    };
    let bits = n.first().map_or(0, |top| {
        (n.len() - 1) * 8 + (8 - top.leading_zeros() as usize)
    });
    if !RSA_BITS.contains(&bits) {
        return Err(format!(
            "has a {bits}-bit modulus; Warden accepts RSA keys of {} to {} bits",
            RSA_BITS.start(),
            RSA_BITS.end()
        ));
    }
    let e = decode(e);
    let exponent = e.iter().try_fold(0u64, |acc, byte| {
        acc.checked_mul(256).map(|acc| acc + u64::from(*byte))
    });
    match exponent {
        // The RSA backend's bounds: an odd exponent from 3 to 2^33 - 1.
        Some(exponent) if (3..1 << 33).contains(&exponent) && exponent % 2 == 1 => Ok(()),
        _ => {
            Err("has an RSA exponent `e` that is not an odd number from 3 to 2^33 - 1".to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use jsonwebtoken::{EncodingKey, Header, encode, get_current_timestamp};
    use rcgen::{KeyPair, PKCS_ECDSA_P256_SHA256, PKCS_ED25519};
    use serde_json::{Value, json};
    use tempfile::TempDir;

    const ISSUER: &str = "https://auth.example.com";
    const AUDIENCE: &str = "https://warden.example.com/mcp";

    /// A 2048-bit RSA private key (PKCS#1 DER, base64), made for these tests only with
    /// `openssl genrsa -traditional 2048`: rcgen cannot generate RSA keys.
    const TEST_RSA_KEY: &str = concat!(
        "MIIEowIBAAKCAQEAz1KOaquLh/xnKNIqorozQbz8zYURIRihNJIixS9zNSz4piyua5MNwfTnyEVmTrAxutaY3LJkgkbs6VlBvWz2",
        "hxpN4R1KO7TicaxOL9hqoFH/kziyyCAaPMU78AMfw3JZRUxaduSDP3GIx4VZcKBYypCaMxgHCAwkR/AFQJK+vQoFdfr1IoTTnvY1",
        "yTOnHcGC6wFOBolgxFseUZkY3nY/T0o92AJU9WHtVgDqqEqT/9vpuvlWWi7gLCO3k6I87U8ivNm9DWh0rGmSV7TjmdtffjKHL5ld",
        "plTvGUzP71+QUv9OLHtSyejLw27+zQpwMZS5aHxI8VYoek3UQr6cP23jhwIDAQABAoIBACDMbrtxaCGbTLaoiRY1XuaHf3cEFjGm",
        "M9qdQ+LuHsvK0Yt4hh9+pC6LECAe2pCYT0W/rW88yanSjqhb9oqBMn8tKiTy/Ut00l4pZDUth7DVSBmCXsZKTdxPV6wg0mWZMYZF",
        "DgrBHAJtc7Yc4olu1J03Qy3SH0qmoRbAYhRVItfE9NDhjKDurbRfCpW5A51lrz0E9ymN+6naaTItwbzE9M4ToV3BosILZ9mqZOqw",
        "Nem3XWN42CufwKDtHU3UPmuEj7ho0f9TiD3d7FDlREMz9TZy97NarFSfsURPtDW6Kus3nfrfiN+CmKU7S/JwAuA/owkLKqc3VFPJ",
        "2BK4YdJgWAECgYEA/1AETIEfzfQwUxAHtP6sIhZwm05UvcQMv0k8cDfc/fNGxLO75ULdEGDIbjttrVK13usHm7zIojY9AXu07f+J",
        "gvo9EqOPB+XG0PNc74OZp58RvrIRhtEiDWikMajokgeq6pqhLD9MH/J/0mfu5jlLRL9s6RTTFIJ9vb7j52PlTukCgYEAz+F17hmb",
        "+Cjgxo5qh7EG2BJ8clxsm00xdNhjRzSn1W7ErBIHNrezPHAHiIvyODWDGfO9sDufnla/P7Ml5Q7iL6Mw87GdMEwDsG74ncEdj1F+",
        "dV8NYLoJplT6+cukA7ExZXvKQW3iZU1ICIASUkJ/Gl86WEve16TlIN8aMwL8eO8CgYAymO0BLGXdLxOUooykdgQvDTtry+5HXV8Z",
        "Wa48nxWQznGr8eK+4K1m3YdbMTPfMZERiIqNdrBcVVtpu9ZzhD0AVA9ebkOeUQ9BwbkdTntZGNEvdaK7kR6qgZ5oqQzOQ+6/Z72h",
        "QzoW6rwiOq7BuYENMtKmrpXWbrX0sKwB425CYQKBgGi89CovBQKXtgjUoKAVdZlQVxtXrfDhh9WTYRHzWcyTrsvzmWbcT5ZX67PE",
        "rxna/F8LC7vLjrS8iEeT/7fVM+lEk9l01/oJkqJGh0UUk8wuB0Ujyx29HjeMAZfyHoUttfGn2VP2BWd89JozzQddMaUb7c2nDHQi",
        "RL+3KQAitQpJAoGBAPTgo1KitS7QUehaAWBkIsHdswn+aykeyx9fYjZ0YcfDhHeDSm5xvkkmXJJJRQbI/FWM4o5NZyEJD1slnHXl",
        "+sIXV5Wm8yN4efWVKvJ2SaWpqiyzJ25WSdX3DpWJouxvp30JhNgu3yTotgPd3+218Pz6WtgWjOyR80gH2a5Q3J4y",
    );

    fn b64(bytes: &[u8]) -> String {
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// A private key that signs tokens, and its public JWK.
    struct Signer {
        kid: String,
        alg: Algorithm,
        key: EncodingKey,
        jwk: Value,
        public: Vec<u8>,
    }

    impl Signer {
        fn es256(kid: &str) -> Self {
            let pair = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
            let public = pair.public_key_raw().to_vec();
            assert_eq!(public.len(), 65, "an uncompressed P-256 point");
            let jwk = json!({
                "kty": "EC", "crv": "P-256", "kid": kid, "use": "sig", "alg": "ES256",
                "x": b64(&public[1..33]), "y": b64(&public[33..]),
            });
            Self {
                kid: kid.to_string(),
                alg: Algorithm::ES256,
                key: EncodingKey::from_ec_der(&pair.serialize_der()),
                jwk,
                public,
            }
        }

        fn ed25519(kid: &str) -> Self {
            let pair = KeyPair::generate_for(&PKCS_ED25519).unwrap();
            let public = pair.public_key_raw().to_vec();
            let jwk = json!({"kty": "OKP", "crv": "Ed25519", "kid": kid, "x": b64(&public)});
            Self {
                kid: kid.to_string(),
                alg: Algorithm::EdDSA,
                key: EncodingKey::from_ed_der(&pair.serialize_der()),
                jwk,
                public,
            }
        }

        /// The RSA test key, without `alg` in its JWK (so RS* and PS* both verify).
        fn rsa(kid: &str) -> Self {
            let der = base64::engine::general_purpose::STANDARD
                .decode(TEST_RSA_KEY)
                .unwrap();
            let key = EncodingKey::from_rsa_der(&der);
            let mut jwk = serde_json::to_value(
                jsonwebtoken::jwk::Jwk::from_encoding_key(&key, Algorithm::RS256).unwrap(),
            )
            .unwrap();
            let object = jwk.as_object_mut().unwrap();
            object.remove("alg");
            object.insert("kid".into(), kid.into());
            let public = URL_SAFE_NO_PAD
                .decode(object["n"].as_str().unwrap())
                .unwrap();
            Self {
                kid: kid.to_string(),
                alg: Algorithm::RS256,
                key,
                jwk,
                public,
            }
        }

        fn sign(&self, claims: &Value) -> String {
            self.sign_as(self.alg, Some(&self.kid), claims)
        }

        fn sign_as(&self, alg: Algorithm, kid: Option<&str>, claims: &Value) -> String {
            let mut header = Header::new(alg);
            header.kid = kid.map(str::to_string);
            encode(&header, claims, &self.key).unwrap()
        }
    }

    /// Claims that pass, for the test issuer and audience.
    fn good_claims() -> Value {
        json!({
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": "alice",
            "client_id": "inspector",
            "scope": "tools:list  tools:call",
            "iat": get_current_timestamp(),
            "exp": get_current_timestamp() + 600,
        })
    }

    fn with(mut claims: Value, name: &str, value: Value) -> Value {
        claims[name] = value;
        claims
    }

    fn without(mut claims: Value, name: &str) -> Value {
        claims.as_object_mut().unwrap().remove(name);
        claims
    }

    fn write_jwks(dir: &TempDir, keys: &[&Value]) -> std::path::PathBuf {
        let path = dir.path().join("jwks.json");
        std::fs::write(&path, json!({ "keys": keys }).to_string()).unwrap();
        path
    }

    fn load(path: &Path) -> Result<JwtVerifier, OAuthError> {
        JwtVerifier::load(path, ISSUER.to_string(), AUDIENCE.to_string())
    }

    /// A verifier trusting an ES256, an Ed25519 and an RSA key.
    struct Fixture {
        _dir: TempDir,
        verifier: JwtVerifier,
        es: Signer,
        ed: Signer,
        rsa: Signer,
    }

    fn fixture() -> Fixture {
        let dir = TempDir::new().unwrap();
        let (es, ed, rsa) = (
            Signer::es256("es-1"),
            Signer::ed25519("ed-1"),
            Signer::rsa("rsa-1"),
        );
        let path = write_jwks(&dir, &[&es.jwk, &ed.jwk, &rsa.jwk]);
        let verifier = load(&path).unwrap();
        Fixture {
            _dir: dir,
            verifier,
            es,
            ed,
            rsa,
        }
    }

    /// Builds `header.claims.signature` by hand, signing with `signer` unless `signature` is given.
    fn hand_built(
        header: &Value,
        claims: &Value,
        signer: &Signer,
        signature: Option<&str>,
    ) -> String {
        let message = format!(
            "{}.{}",
            b64(header.to_string().as_bytes()),
            b64(claims.to_string().as_bytes())
        );
        let signature = match signature {
            Some(signature) => signature.to_string(),
            None => {
                jsonwebtoken::crypto::sign(message.as_bytes(), &signer.key, signer.alg).unwrap()
            }
        };
        format!("{message}.{signature}")
    }

    #[test]
    fn a_valid_token_gives_its_claims() {
        let f = fixture();
        let token = f.es.sign(&good_claims());
        let claims = f.verifier.verify(&token).unwrap();
        assert_eq!(
            claims,
            AccessClaims {
                subject: "alice".into(),
                client_id: Some("inspector".into()),
                scopes: vec!["tools:list".into(), "tools:call".into()],
                expires_at: good_claims()["exp"].as_u64().unwrap(),
            }
        );
        assert_eq!(f.verifier.issuer(), ISSUER);
        assert_eq!(f.verifier.audience(), AUDIENCE);
    }

    #[test]
    fn scopes_come_from_scope_else_scp() {
        let f = fixture();
        let scp_array = with(without(good_claims(), "scope"), "scp", json!(["a", "b"]));
        let claims = f.verifier.verify(&f.ed.sign(&scp_array)).unwrap();
        assert_eq!(claims.scopes, ["a", "b"]);

        let scp_text = with(without(good_claims(), "scope"), "scp", json!("c d"));
        assert_eq!(
            f.verifier.verify(&f.ed.sign(&scp_text)).unwrap().scopes,
            ["c", "d"]
        );

        let both = with(good_claims(), "scp", json!(["ignored"]));
        assert_eq!(
            f.verifier.verify(&f.ed.sign(&both)).unwrap().scopes,
            ["tools:list", "tools:call"]
        );

        let neither = without(without(good_claims(), "scope"), "client_id");
        let neither = with(neither, "azp", json!("desktop"));
        let claims = f.verifier.verify(&f.ed.sign(&neither)).unwrap();
        assert!(claims.scopes.is_empty());
        assert_eq!(
            claims.client_id.as_deref(),
            Some("desktop"),
            "azp stands in for client_id"
        );
    }

    #[test]
    fn every_supported_algorithm_family_verifies() {
        let f = fixture();
        for token in [
            f.es.sign(&good_claims()),
            f.ed.sign(&good_claims()),
            f.rsa.sign(&good_claims()),
            f.rsa
                .sign_as(Algorithm::PS256, Some("rsa-1"), &good_claims()),
            f.rsa
                .sign_as(Algorithm::RS512, Some("rsa-1"), &good_claims()),
        ] {
            assert_eq!(f.verifier.verify(&token).unwrap().subject, "alice");
        }
    }

    #[test]
    fn the_algorithm_must_fit_the_key() {
        let f = fixture();
        // An ES256 signature presented under the RSA key's kid.
        let token =
            f.es.sign_as(Algorithm::ES256, Some("rsa-1"), &good_claims());
        assert_eq!(
            f.verifier.verify(&token),
            Err(TokenError::AlgorithmNotAllowed)
        );
        // The JWK's `alg` (ES256) pins the key: ES384 under its kid is refused before any crypto.
        let header = json!({"alg": "ES384", "kid": "es-1"});
        let token = hand_built(&header, &good_claims(), &f.es, Some("AAAA"));
        assert_eq!(
            f.verifier.verify(&token),
            Err(TokenError::AlgorithmNotAllowed)
        );
    }

    #[test]
    fn a_key_with_the_same_kid_is_not_enough() {
        let f = fixture();
        let impostor = Signer::es256("es-1");
        let token = impostor.sign(&good_claims());
        assert_eq!(f.verifier.verify(&token), Err(TokenError::BadSignature));

        let impostor = Signer::ed25519("ed-1");
        assert_eq!(
            f.verifier.verify(&impostor.sign(&good_claims())),
            Err(TokenError::BadSignature)
        );
    }

    #[test]
    fn a_tampered_token_is_refused() {
        let f = fixture();
        let token = f.rsa.sign(&good_claims());
        let (message, _) = token.rsplit_once('.').unwrap();
        let forged_claims = b64(with(good_claims(), "sub", json!("mallory"))
            .to_string()
            .as_bytes());
        let header = message.split('.').next().unwrap();
        let signature = token.rsplit('.').next().unwrap();
        let forged = format!("{header}.{forged_claims}.{signature}");
        assert_eq!(f.verifier.verify(&forged), Err(TokenError::BadSignature));
    }

    #[test]
    fn the_kid_must_name_a_trusted_key() {
        let f = fixture();
        let stranger = Signer::es256("stranger");
        assert_eq!(
            f.verifier.verify(&stranger.sign(&good_claims())),
            Err(TokenError::UnknownKey)
        );
        // Without a kid, several trusted keys leave the choice open: refused.
        let token = f.es.sign_as(Algorithm::ES256, None, &good_claims());
        assert_eq!(f.verifier.verify(&token), Err(TokenError::UnknownKey));
    }

    #[test]
    fn a_single_key_needs_no_kid() {
        let dir = TempDir::new().unwrap();
        let signer = Signer::es256("only");
        let jwk = without(signer.jwk.clone(), "kid");
        let verifier = load(&write_jwks(&dir, &[&jwk])).unwrap();
        let token = signer.sign_as(Algorithm::ES256, None, &good_claims());
        assert_eq!(verifier.verify(&token).unwrap().subject, "alice");
        // A kid the file does not have is still unknown.
        assert_eq!(
            verifier.verify(&signer.sign(&good_claims())),
            Err(TokenError::UnknownKey)
        );
    }

    #[test]
    fn expiry_is_checked_with_thirty_seconds_of_leeway() {
        let f = fixture();
        let now = get_current_timestamp();
        let expired = with(good_claims(), "exp", json!(now - 120));
        assert_eq!(
            f.verifier.verify(&f.es.sign(&expired)),
            Err(TokenError::Expired)
        );
        let just_expired = with(good_claims(), "exp", json!(now - 10));
        assert!(f.verifier.verify(&f.es.sign(&just_expired)).is_ok());
        let no_exp = without(good_claims(), "exp");
        assert_eq!(
            f.verifier.verify(&f.es.sign(&no_exp)),
            Err(TokenError::MissingClaim("exp"))
        );
        let text_exp = with(good_claims(), "exp", json!("tomorrow"));
        assert_eq!(
            f.verifier.verify(&f.es.sign(&text_exp)),
            Err(TokenError::Malformed)
        );
    }

    #[test]
    fn not_before_is_honoured() {
        let f = fixture();
        let now = get_current_timestamp();
        let early = with(good_claims(), "nbf", json!(now + 120));
        assert_eq!(
            f.verifier.verify(&f.es.sign(&early)),
            Err(TokenError::NotYetValid)
        );
        let skewed = with(good_claims(), "nbf", json!(now + 10));
        assert!(f.verifier.verify(&f.es.sign(&skewed)).is_ok());
    }

    #[test]
    fn the_issuer_must_match() {
        let f = fixture();
        let other = with(good_claims(), "iss", json!("https://evil.example.com"));
        assert_eq!(
            f.verifier.verify(&f.es.sign(&other)),
            Err(TokenError::WrongIssuer)
        );
        let missing = without(good_claims(), "iss");
        assert_eq!(
            f.verifier.verify(&f.es.sign(&missing)),
            Err(TokenError::MissingClaim("iss"))
        );
        // `iss` is one string; an array naming the issuer among others is not accepted.
        let array = with(
            good_claims(),
            "iss",
            json!(["https://evil.example.com", ISSUER]),
        );
        assert_eq!(
            f.verifier.verify(&f.es.sign(&array)),
            Err(TokenError::Malformed)
        );
    }

    #[test]
    fn the_audience_must_name_this_resource() {
        let f = fixture();
        let other = with(good_claims(), "aud", json!("https://other.example.com/mcp"));
        assert_eq!(
            f.verifier.verify(&f.es.sign(&other)),
            Err(TokenError::WrongAudience)
        );
        let others = with(good_claims(), "aud", json!(["https://a.example.com", "b"]));
        assert_eq!(
            f.verifier.verify(&f.es.sign(&others)),
            Err(TokenError::WrongAudience)
        );
        let trailing_slash = with(good_claims(), "aud", json!(format!("{AUDIENCE}/")));
        assert_eq!(
            f.verifier.verify(&f.es.sign(&trailing_slash)),
            Err(TokenError::WrongAudience)
        );
        let among = with(
            good_claims(),
            "aud",
            json!(["https://a.example.com", AUDIENCE]),
        );
        assert!(f.verifier.verify(&f.es.sign(&among)).is_ok());
        let missing = without(good_claims(), "aud");
        assert_eq!(
            f.verifier.verify(&f.es.sign(&missing)),
            Err(TokenError::MissingClaim("aud"))
        );
    }

    #[test]
    fn the_subject_is_required() {
        let f = fixture();
        let missing = without(good_claims(), "sub");
        assert_eq!(
            f.verifier.verify(&f.es.sign(&missing)),
            Err(TokenError::MissingClaim("sub"))
        );
        let empty = with(good_claims(), "sub", json!(""));
        assert_eq!(
            f.verifier.verify(&f.es.sign(&empty)),
            Err(TokenError::MissingClaim("sub"))
        );
    }

    #[test]
    fn alg_none_is_refused() {
        let f = fixture();
        for header in [
            json!({"alg": "none", "kid": "es-1"}),
            json!({"alg": "none"}),
            json!({"alg": "None", "kid": "es-1"}),
        ] {
            let token = hand_built(&header, &good_claims(), &f.es, Some(""));
            assert_eq!(
                f.verifier.verify(&token),
                Err(TokenError::AlgorithmNotAllowed)
            );
        }
    }

    #[test]
    fn hmac_with_a_public_key_as_secret_is_refused() {
        let f = fixture();
        // The classic algorithm confusion: HS256 keyed with the bytes of a trusted public key.
        for (signer, secret) in [
            (&f.es, f.es.public.clone()),
            (&f.es, f.es.jwk.to_string().into_bytes()),
            (&f.rsa, f.rsa.public.clone()),
            (&f.ed, f.ed.public.clone()),
        ] {
            let confused = Signer {
                kid: signer.kid.clone(),
                alg: Algorithm::HS256,
                key: EncodingKey::from_secret(&secret),
                jwk: Value::Null,
                public: Vec::new(),
            };
            for alg in [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512] {
                let token = confused.sign_as(alg, Some(&signer.kid), &good_claims());
                assert_eq!(
                    f.verifier.verify(&token),
                    Err(TokenError::AlgorithmNotAllowed)
                );
            }
        }
    }

    #[test]
    fn a_symmetric_key_in_the_file_is_never_used() {
        let dir = TempDir::new().unwrap();
        let es = Signer::es256("es-1");
        let oct =
            json!({"kty": "oct", "kid": "shared", "k": b64(b"a shared secret"), "alg": "HS256"});
        let verifier = load(&write_jwks(&dir, &[&oct, &es.jwk])).unwrap();
        let hmac = Signer {
            kid: "shared".into(),
            alg: Algorithm::HS256,
            key: EncodingKey::from_secret(b"a shared secret"),
            jwk: Value::Null,
            public: Vec::new(),
        };
        assert_eq!(
            verifier.verify(&hmac.sign(&good_claims())),
            Err(TokenError::AlgorithmNotAllowed)
        );
        // An ES256 token under the oct key's kid finds no key.
        let token = es.sign_as(Algorithm::ES256, Some("shared"), &good_claims());
        assert_eq!(verifier.verify(&token), Err(TokenError::UnknownKey));
    }

    #[test]
    fn garbage_is_malformed() {
        let f = fixture();
        let good = f.es.sign(&good_claims());
        let mut parts = good.split('.');
        let (header, claims) = (parts.next().unwrap(), parts.next().unwrap());
        let too_long = format!("{good}{}", "A".repeat(MAX_TOKEN_LEN));
        for token in [
            "",
            "garbage",
            "a.b",
            "a.b.c",
            "...",
            "a.b.c.d.e",
            &format!("{header}.{claims}"),
            &format!("{header}.{claims}.sig.extra"),
            &format!("{header}.!!!.{}", good.rsplit('.').next().unwrap()),
            &format!("{}.{claims}.AAAA", b64(b"not json")),
            &format!("{}.{claims}.AAAA", b64(b"{\"kid\":\"es-1\"}")),
            &format!("Bearer {good}"),
            &too_long,
        ] {
            assert_eq!(
                f.verifier.verify(token),
                Err(TokenError::Malformed),
                "{token:?}"
            );
        }
    }

    #[test]
    fn a_critical_header_extension_is_refused() {
        let f = fixture();
        let header = json!({"alg": "ES256", "kid": "es-1", "crit": ["exp"], "exp": 1});
        let token = hand_built(&header, &good_claims(), &f.es, None);
        assert_eq!(f.verifier.verify(&token), Err(TokenError::Malformed));
        // The same hand-built token without `crit` passes: the refusal is for `crit` alone.
        let header = json!({"alg": "ES256", "kid": "es-1"});
        assert!(
            f.verifier
                .verify(&hand_built(&header, &good_claims(), &f.es, None))
                .is_ok()
        );
    }

    #[test]
    fn error_messages_never_echo_the_token() {
        let f = fixture();
        let now = get_current_timestamp();
        let cases = [
            "not.a-token.really".to_string(),
            Signer::es256("stranger").sign(&good_claims()),
            Signer::es256("es-1").sign(&good_claims()),
            f.es.sign(&with(good_claims(), "exp", json!(now - 100))),
            f.es.sign(&with(good_claims(), "nbf", json!(now + 100))),
            f.es.sign(&with(good_claims(), "iss", json!("x"))),
            f.es.sign(&with(good_claims(), "aud", json!("x"))),
            f.es.sign(&without(good_claims(), "sub")),
            hand_built(&json!({"alg": "none"}), &good_claims(), &f.es, Some("")),
        ];
        let mut seen = HashSet::new();
        for token in &cases {
            let error = f.verifier.verify(token).unwrap_err();
            seen.insert(error.to_string());
            let shown = error.to_string();
            for part in token.split('.').filter(|part| part.len() > 3) {
                assert!(!shown.contains(part), "{shown}");
            }
            assert!(!www_authenticate(None, Some(&error)).contains(token.as_str()));
        }
        assert_eq!(
            seen.len(),
            cases.len(),
            "each case refused for its own reason"
        );
    }

    #[test]
    fn error_descriptions_fit_rfc_6750() {
        for error in [
            TokenError::Malformed,
            TokenError::UnknownKey,
            TokenError::BadSignature,
            TokenError::Expired,
            TokenError::NotYetValid,
            TokenError::WrongIssuer,
            TokenError::WrongAudience,
            TokenError::AlgorithmNotAllowed,
            TokenError::MissingClaim("sub"),
        ] {
            let text = error.to_string();
            // error-description = 1*( %x20-21 / %x23-5B / %x5D-7E )
            assert!(
                text.bytes()
                    .all(|b| matches!(b, 0x20..=0x21 | 0x23..=0x5B | 0x5D..=0x7E)),
                "{text}"
            );
        }
    }

    #[test]
    fn a_jwks_with_only_a_symmetric_key_is_refused() {
        let dir = TempDir::new().unwrap();
        let oct = json!({"kty": "oct", "kid": "k", "k": b64(b"secret"), "alg": "HS256"});
        let path = write_jwks(&dir, &[&oct]);
        let error = load(&path).unwrap_err();
        assert!(matches!(error, OAuthError::NoUsableKey { .. }), "{error:?}");
        let shown = error.to_string();
        assert!(shown.contains(&path.display().to_string()), "{shown}");
        assert!(shown.contains("symmetric"), "{shown}");
    }

    #[test]
    fn keys_not_for_signatures_are_skipped() {
        let dir = TempDir::new().unwrap();
        let es = Signer::es256("es-1");
        let encryption = with(es.jwk.clone(), "use", json!("enc"));
        let hs_alg = with(Signer::es256("x").jwk, "alg", json!("HS256"));
        let no_verify = with(Signer::es256("y").jwk, "key_ops", json!(["encrypt"]));
        let p521 = json!({"kty": "EC", "crv": "P-521", "kid": "p521", "x": "AA", "y": "AA"});
        let ed448 = json!({"kty": "OKP", "crv": "Ed448", "kid": "ed448", "x": "AA"});
        let path = write_jwks(&dir, &[&encryption, &hs_alg, &no_verify, &p521, &ed448]);
        assert!(matches!(load(&path), Err(OAuthError::NoUsableKey { .. })));
    }

    #[test]
    fn broken_keys_and_files_are_reported_with_the_file() {
        let dir = TempDir::new().unwrap();
        let es = Signer::es256("es-1");
        let rsa = Signer::rsa("rsa-1");
        let short_n = b64(&URL_SAFE_NO_PAD
            .decode(rsa.jwk["n"].as_str().unwrap())
            .unwrap()[..128]);
        let mut off_curve = es.public.clone();
        off_curve[64] ^= 1;
        let cases: Vec<(Value, &str)> = vec![
            (json!([1, 2]), "expected a JWK Set"),
            (json!({"keys": [{"kid": "no-kty"}]}), "keys[0] is not a JWK"),
            (
                json!({"keys": [without(es.jwk.clone(), "y")]}),
                "(kid \"es-1\") lacks the `y` member",
            ),
            (
                json!({"keys": [with(es.jwk.clone(), "x", json!("AAAA"))]}),
                "this curve needs 32",
            ),
            (
                json!({"keys": [with(es.jwk.clone(), "y", json!(b64(&off_curve[33..])))]}),
                "not on the curve",
            ),
            (
                json!({"keys": [with(es.jwk.clone(), "d", json!("AAAA"))]}),
                "private key material",
            ),
            (
                json!({"keys": [with(es.jwk.clone(), "alg", json!("ES384"))]}),
                "does not fit an EC P-256 key",
            ),
            (
                json!({"keys": [with(rsa.jwk.clone(), "n", json!(short_n))]}),
                "1024-bit modulus",
            ),
            (
                json!({"keys": [with(rsa.jwk.clone(), "e", json!("AQ"))]}),
                "exponent",
            ),
            (
                json!({"keys": [es.jwk, Signer::es256("es-1").jwk]}),
                "two signing keys have kid \"es-1\"",
            ),
            (
                json!({"keys": [rsa.jwk, without(Signer::es256("e").jwk, "kid")]}),
                "not all have a `kid`",
            ),
        ];
        let path = dir.path().join("jwks.json");
        for (document, expected) in cases {
            std::fs::write(&path, document.to_string()).unwrap();
            let error = load(&path).unwrap_err();
            let shown = error.to_string();
            assert!(matches!(error, OAuthError::Jwks { .. }), "{shown}");
            assert!(shown.contains(&path.display().to_string()), "{shown}");
            assert!(shown.contains(expected), "{shown}\nexpected: {expected}");
        }

        let missing = dir.path().join("missing.json");
        let error = load(&missing).unwrap_err();
        assert!(matches!(error, OAuthError::Read { .. }), "{error}");
        assert!(error.to_string().contains(&missing.display().to_string()));
    }

    #[test]
    fn metadata_document_is_exact() {
        let scopes = ["tools:call", "admin", "tools:call", "tools:list"].map(String::from);
        let document = protected_resource_metadata(AUDIENCE, ISSUER, &scopes);
        assert_eq!(
            document.to_string(),
            r#"{"resource":"https://warden.example.com/mcp","authorization_servers":["https://auth.example.com"],"scopes_supported":["admin","tools:call","tools:list"],"bearer_methods_supported":["header"],"resource_name":"Warden"}"#
        );
        assert_eq!(
            protected_resource_metadata(AUDIENCE, ISSUER, &[])["scopes_supported"],
            json!([])
        );
    }

    #[test]
    fn www_authenticate_is_exact() {
        assert_eq!(www_authenticate(None, None), r#"Bearer realm="warden""#);
        let url = "https://warden.example.com/.well-known/oauth-protected-resource/mcp";
        assert_eq!(
            www_authenticate(Some(url), None),
            r#"Bearer realm="warden", resource_metadata="https://warden.example.com/.well-known/oauth-protected-resource/mcp""#
        );
        assert_eq!(
            www_authenticate(Some(url), Some(&TokenError::Expired)),
            r#"Bearer realm="warden", resource_metadata="https://warden.example.com/.well-known/oauth-protected-resource/mcp", error="invalid_token", error_description="the access token has expired""#
        );
        assert_eq!(
            www_authenticate(None, Some(&TokenError::MissingClaim("sub"))),
            r#"Bearer realm="warden", error="invalid_token", error_description="the access token lacks the sub claim""#
        );
        assert_eq!(
            www_authenticate(Some("https://x/\"a\\b\"\r\nSet-Cookie: c=1"), None),
            r#"Bearer realm="warden", resource_metadata="https://x/\"a\\b\"Set-Cookie: c=1""#
        );
    }
}
