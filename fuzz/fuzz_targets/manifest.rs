//! The manifest: TOML text → raw manifest (with every unknown key and its position) → the
//! checked policy (grants, limits, clients, secrets, audit settings).
//!
//! Relative paths resolve inside an empty folder; the policy only reads (secrets from
//! files and the environment, the JWKS file), so nothing the fuzzer writes is touched.

#![no_main]

use std::path::PathBuf;
use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use warden::manifest;
use warden::policy::Policy;

static MANIFEST: LazyLock<(tempfile::TempDir, PathBuf)> = LazyLock::new(|| {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let path = dir.path().join("warden.toml");
    (dir, path)
});

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (raw, map) = match manifest::parse(&MANIFEST.1, text.to_string()) {
        Ok(parsed) => parsed,
        Err(diagnostics) => {
            assert!(!diagnostics.0.is_empty(), "a refusal names a problem");
            // Positions are computed for the message: they must hold for any text.
            let _ = diagnostics.to_string();
            return;
        }
    };
    match Policy::from_raw(raw, &map) {
        Ok(policy) => assert_eq!(policy.file, MANIFEST.1),
        Err(diagnostics) => {
            assert!(!diagnostics.0.is_empty(), "a refusal names a problem");
            let _ = diagnostics.to_string();
        }
    }
});
