//! Component signatures in the minisign format: the operator's trusted keys (`[trust] keys`)
//! and the check of a `.minisig` file over the bytes of a component.
//!
//! Only pre-hashed signatures (`ED`, what `minisign -S` writes by default) are accepted; the
//! legacy mode signs the raw bytes and is refused.

use std::fmt;

use base64::Engine as _;

/// A trusted minisign public key.
#[derive(Clone)]
pub struct TrustedKey {
    /// The key as written in the manifest (base64, as minisign prints it).
    pub text: String,
    /// The key id, as minisign prints it (16 uppercase hex digits).
    pub id: String,
    key: minisign_verify::PublicKey,
}

impl fmt::Debug for TrustedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TrustedKey({})", self.id)
    }
}

impl TrustedKey {
    /// Parses a public key written as minisign prints it (`RWQ...`, the second line of
    /// `minisign.pub`).
    ///
    /// # Errors
    /// A message saying why it is not a minisign public key.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let key = minisign_verify::PublicKey::from_base64(text)
            .map_err(|error| format!("`{text}` is not a minisign public key ({error})"))?;
        // Bytes 2..10 are the key id; minisign prints them as a little-endian number.
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text)
            .map_err(|_| format!("`{text}` is not a minisign public key (not base64)"))?;
        Ok(TrustedKey {
            text: text.to_string(),
            id: key_id(&bytes[2..10]),
            key,
        })
    }
}

/// The operator's trust settings: `[trust]`.
#[derive(Clone, Debug, Default)]
pub struct Trust {
    /// The keys a component's signature may be made with.
    pub keys: Vec<TrustedKey>,
    /// Whether every component must carry a signature.
    pub require_signatures: bool,
}

/// Who signed a component, once its signature verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signed {
    /// The signing key's id.
    pub key_id: String,
    /// The signing key, as written in `[trust] keys`.
    pub key: String,
    /// The signature's trusted comment (signed together with the signature).
    pub trusted_comment: String,
}

/// Why a signature does not verify.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The signature file is not in the minisign format.
    #[error("it is not a minisign signature ({0})")]
    Malformed(String),
    /// It was made by a key that is not in `[trust] keys`.
    #[error("it was made by key {key_id}, which is not in [trust] keys")]
    UntrustedKey {
        /// The id of the key that made it.
        key_id: String,
    },
    /// It was made by a trusted key, but over other bytes (or it was altered).
    #[error(
        "it does not match the file's bytes (key {key_id}): the file or the signature was changed"
    )]
    Mismatch {
        /// The id of the key named by the signature.
        key_id: String,
    },
}

/// The id of the key named by a signature file's text, if it can be read.
///
/// # Errors
/// The text is not a minisign signature.
pub fn signature_key_id(signature: &str) -> Result<String, SignatureError> {
    let line = signature
        .lines()
        .nth(1)
        .ok_or_else(|| SignatureError::Malformed("it has fewer than 4 lines".into()))?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(line.trim())
        .map_err(|_| SignatureError::Malformed("its second line is not base64".into()))?;
    if bytes.len() != 74 {
        return Err(SignatureError::Malformed(
            "its second line has the wrong length".into(),
        ));
    }
    Ok(key_id(&bytes[2..10]))
}

/// Verifies the minisign signature `signature` (the text of a `.minisig` file) over `bytes`
/// with one of `keys`.
///
/// # Errors
/// See [`SignatureError`].
pub fn verify(
    keys: &[TrustedKey],
    bytes: &[u8],
    signature: &str,
) -> Result<Signed, SignatureError> {
    let key_id = signature_key_id(signature)?;
    let parsed = minisign_verify::Signature::decode(signature)
        .map_err(|error| SignatureError::Malformed(error.to_string()))?;
    let Some(trusted) = keys.iter().find(|key| key.id == key_id) else {
        return Err(SignatureError::UntrustedKey { key_id });
    };
    match trusted.key.verify(bytes, &parsed, false) {
        Ok(()) => Ok(Signed {
            key_id,
            key: trusted.text.clone(),
            trusted_comment: parsed.trusted_comment().to_string(),
        }),
        Err(minisign_verify::Error::UnexpectedAlgorithm) => Err(SignatureError::Malformed(
            "a legacy signature over the raw bytes; sign with a current minisign (pre-hashed, the default)".into(),
        )),
        Err(_) => Err(SignatureError::Mismatch { key_id }),
    }
}

/// The key id as minisign prints it: the 8 bytes as a little-endian number in hex.
fn key_id(bytes: &[u8]) -> String {
    bytes.iter().rev().map(|b| format!("{b:02X}")).collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A fresh key pair: the public key as minisign prints it, and the secret key.
    pub(crate) fn keypair() -> (String, minisign::SecretKey) {
        let pair = minisign::KeyPair::generate_unencrypted_keypair().unwrap();
        (pair.pk.to_base64(), pair.sk)
    }

    /// The `.minisig` text of `bytes` signed with `secret`.
    pub(crate) fn sign(secret: &minisign::SecretKey, bytes: &[u8]) -> String {
        minisign::sign(None, secret, bytes, Some("file:test.wasm"), None)
            .unwrap()
            .into_string()
    }

    #[test]
    fn a_signature_verifies_with_its_key_only() {
        let (public, secret) = keypair();
        let (other, other_secret) = keypair();
        let key = TrustedKey::parse(&public).unwrap();
        let signature = sign(&secret, b"component bytes");

        let signed = verify(std::slice::from_ref(&key), b"component bytes", &signature).unwrap();
        assert_eq!(signed.key, public);
        assert_eq!(signed.key_id, key.id);
        assert_eq!(signed.trusted_comment, "file:test.wasm");

        assert_eq!(
            verify(std::slice::from_ref(&key), b"other bytes", &signature),
            Err(SignatureError::Mismatch {
                key_id: key.id.clone()
            })
        );
        let untrusted = sign(&other_secret, b"component bytes");
        let other_id = TrustedKey::parse(&other).unwrap().id;
        assert_eq!(
            verify(std::slice::from_ref(&key), b"component bytes", &untrusted),
            Err(SignatureError::UntrustedKey { key_id: other_id })
        );
        assert!(matches!(
            verify(&[key], b"component bytes", "not a signature"),
            Err(SignatureError::Malformed(_))
        ));
    }

    #[test]
    fn key_ids_read_as_minisign_prints_them() {
        // The key and id of minisign-verify's own test vector.
        let key =
            TrustedKey::parse("RWQf6LRCGA9i53mlYecO4IzT51TGPpvWucNSCh1CBM0QTaLn73Y7GFO3").unwrap();
        assert_eq!(key.id, "E7620F1842B4E81F");
        for bad in [
            "",
            "RWQ",
            "not base64!",
            "untrusted comment: minisign public key",
        ] {
            let error = TrustedKey::parse(bad).unwrap_err();
            assert!(error.contains("is not a minisign public key"), "{error}");
        }
    }
}
