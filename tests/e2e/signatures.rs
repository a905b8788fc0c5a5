//! Component signatures: a component signed by a trusted key starts; an untrusted key, a
//! signature of other bytes, a missing required signature or a bad key in `[trust]` refuses
//! the start, naming the file and why; `inspect --manifest` shows who signed a component.

use serde_json::{Value, json};

use crate::support::{Manifest, call, client, manifest_text, plugin, run, sha256, text};

/// A fresh minisign key pair: the public key as minisign prints it, and the secret key.
fn keypair() -> (String, minisign::SecretKey) {
    let pair = minisign::KeyPair::generate_unencrypted_keypair().unwrap();
    (pair.pk.to_base64(), pair.sk)
}

/// The `.minisig` text of `bytes` signed with `secret`, as `minisign -Sm` writes it.
fn sign(secret: &minisign::SecretKey, bytes: &[u8]) -> String {
    minisign::sign(None, secret, bytes, Some("file:echo.wasm"), None)
        .unwrap()
        .into_string()
}

/// A manifest loading the echo plugin with `signature` (written as `echo.wasm.minisig` beside
/// the manifest, when given), trusting `keys`.
fn signed_echo(signature: Option<&str>, keys: &[&str], require: bool) -> Manifest {
    let echo = plugin("echo");
    let mut text = format!(
        "[trust]\nkeys = {keys:?}\nrequire_signatures = {require}\n\n[components.echo]\nsource = {:?}\nsha256 = \"{}\"\n",
        echo.display().to_string(),
        sha256(&echo)
    );
    if signature.is_some() {
        text.push_str("signature = \"echo.wasm.minisig\"\n");
    }
    let manifest = manifest_text(&text);
    if let Some(signature) = signature {
        std::fs::write(manifest.dir.path().join("echo.wasm.minisig"), signature).unwrap();
    }
    manifest
}

/// `warden check` and `warden serve` on `manifest` both refuse it; returns what check printed.
fn refused(manifest: &Manifest) -> String {
    let path = manifest.path.to_str().unwrap();
    let (code, stdout, _) = run(&["check", "--manifest", path]);
    assert_eq!(code, 1, "check must refuse:\n{stdout}");
    let (code, _, stderr) = run(&["serve", "--manifest", path]);
    assert_eq!(code, 1, "serve must refuse:\n{stderr}");
    assert_eq!(stderr, stdout, "serve reports what check reports");
    stdout
}

#[tokio::test]
async fn a_component_signed_by_a_trusted_key_starts() {
    let (public, secret) = keypair();
    let signature = sign(&secret, &std::fs::read(plugin("echo")).unwrap());
    let manifest = signed_echo(Some(&signature), &[&public], true);
    let (code, stdout, _) = run(&["check", "--manifest", manifest.path.to_str().unwrap()]);
    assert_eq!(code, 0, "{stdout}");
    let client = client(&manifest).await;
    let result = call(&client, "echo_echo", json!({"message": "signed"})).await;
    assert_eq!(text(&result), "signed");
    client.cancel().await.unwrap();
}

#[test]
fn a_signature_by_an_untrusted_key_is_refused() {
    let (trusted, _) = keypair();
    let (_, stranger) = keypair();
    let signature = sign(&stranger, &std::fs::read(plugin("echo")).unwrap());
    let manifest = signed_echo(Some(&signature), &[&trusted], false);
    let output = refused(&manifest);
    assert!(
        output.contains(":8:1: `components.echo.signature`: signature "),
        "{output}"
    );
    assert!(output.contains("echo.wasm.minisig of "), "{output}");
    assert!(output.contains("which is not in [trust] keys"), "{output}");
    assert!(
        output.contains("help: if you trust key ") && output.contains("add its public key"),
        "{output}"
    );
}

#[test]
fn a_signature_of_other_bytes_is_refused() {
    let (public, secret) = keypair();
    let signature = sign(&secret, b"not the echo component");
    let manifest = signed_echo(Some(&signature), &[&public], false);
    let output = refused(&manifest);
    assert!(
        output.contains("`components.echo.signature`: signature "),
        "{output}"
    );
    assert!(
        output.contains("does not match the file's bytes"),
        "{output}"
    );
    assert!(
        output.contains("help: `echo` is not the file that was signed"),
        "{output}"
    );
}

#[test]
fn a_missing_or_unreadable_signature_is_refused() {
    let (public, _) = keypair();
    let output = refused(&signed_echo(None, &[&public], true));
    assert!(
        output.contains(":5:13: `components.echo`: component `echo` has no `signature`, and [trust] require_signatures = true"),
        "{output}"
    );
    assert!(output.contains("help: sign it (`minisign -Sm"), "{output}");

    // Named in the manifest, but the file is not there.
    let manifest = signed_echo(Some("x"), &[&public], false);
    std::fs::remove_file(manifest.dir.path().join("echo.wasm.minisig")).unwrap();
    let output = refused(&manifest);
    assert!(
        output.contains("`components.echo.signature`: cannot read signature "),
        "{output}"
    );
    // Not a signature at all.
    let output = refused(&signed_echo(Some("hello\n"), &[&public], false));
    assert!(
        output.contains("it is not a minisign signature"),
        "{output}"
    );
}

#[test]
fn bad_trusted_keys_are_reported_each_at_its_line() {
    let (public, _) = keypair();
    let echo = plugin("echo");
    let manifest = manifest_text(&format!(
        "[trust]\nkeys = [\n  \"{public}\",\n  \"RWQnotakey\",\n  \"untrusted comment: minisign public key\",\n]\nrequire_signatures = false\n\n[components.echo]\nsource = {:?}\nsha256 = \"{}\"\nsignature = \"nowhere.minisig\"\n",
        echo.display().to_string(),
        sha256(&echo)
    ));
    let (code, stdout, _) = run(&["check", "--manifest", manifest.path.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(
        stdout.starts_with("2 problems in the manifest:"),
        "{stdout}"
    );
    assert!(
        stdout.contains(":4:4: `trust.keys.1`: `RWQnotakey` is not a minisign public key"),
        "{stdout}"
    );
    assert!(stdout.contains(":5:4: `trust.keys.2`: `untrusted comment: minisign public key` is not a minisign public key"), "{stdout}");
    assert!(
        stdout.contains("help: write each key as minisign prints it"),
        "{stdout}"
    );

    // Signed, but nothing to verify with; required, but no keys.
    let output = refused(&signed_echo(Some("x"), &[], true));
    assert!(
        output.contains(
            "`trust.require_signatures`: signatures are required, but [trust] has no keys"
        ),
        "{output}"
    );
    assert!(
        output.contains(
            "`components.echo.signature`: this component is signed, but [trust] has no keys"
        ),
        "{output}"
    );
}

#[test]
fn inspect_shows_the_digest_and_the_trusted_key_that_signed() {
    let (public, secret) = keypair();
    let echo = plugin("echo");
    let bytes = std::fs::read(&echo).unwrap();
    // A copy of the component with its signature beside it.
    let manifest = signed_echo(None, &[&public], false);
    let copy = manifest.dir.path().join("echo.wasm");
    std::fs::write(&copy, &bytes).unwrap();
    std::fs::write(
        manifest.dir.path().join("echo.wasm.minisig"),
        sign(&secret, &bytes),
    )
    .unwrap();
    let copy = copy.to_str().unwrap();
    let key_id = |text: &str| {
        let key: Value = serde_json::from_str(text).unwrap();
        key["signature"].clone()
    };

    let (code, stdout, stderr) = run(&[
        "inspect",
        "--manifest",
        manifest.path.to_str().unwrap(),
        copy,
    ]);
    assert_eq!(code, 0, "{stderr}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["sha256"], sha256(&echo));
    let signature = key_id(&stdout);
    assert_eq!(signature["verified"], true, "{stdout}");
    assert_eq!(signature["key"], public.as_str());
    assert_eq!(signature["key_id"].as_str().unwrap().len(), 16);
    assert_eq!(signature["trusted_comment"], "file:echo.wasm");

    // Without a manifest there is nothing to trust: the signer is shown, not verified.
    let (code, stdout, _) = run(&["inspect", copy]);
    assert_eq!(code, 0);
    let unverified = key_id(&stdout);
    assert_eq!(unverified["verified"], false, "{stdout}");
    assert_eq!(unverified["key_id"], signature["key_id"]);

    // A key that is not trusted fails the inspection.
    let (other, _) = keypair();
    let distrusting = signed_echo(None, &[&other], false);
    let (code, _, stderr) = run(&[
        "inspect",
        "--manifest",
        distrusting.path.to_str().unwrap(),
        copy,
    ]);
    assert_eq!(code, 1);
    assert!(stderr.contains("which is not in [trust] keys"), "{stderr}");
}
