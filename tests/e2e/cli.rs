//! The CLI: `check` on the shipped example manifest, `inspect` on components.

use serde_json::Value;

use crate::support::{plugin, root, run};

#[test]
fn the_example_manifest_checks_clean() {
    let manifest = root().join("warden.toml");
    let (code, stdout, stderr) = run(&["check", "--manifest", manifest.to_str().unwrap()]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stdout.contains("ok: 6 component(s), 33 tool(s)"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("warning"),
        "every example tool is documented: {stdout}"
    );
}

#[test]
fn inspect_shows_tools_schemas_and_imports() {
    let (code, stdout, stderr) = run(&["inspect", plugin("echo").to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    let imports: Vec<&str> = report["imports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(imports.contains(&"warden:tool/log@0.1.0"), "{imports:?}");
    assert!(
        imports.iter().any(|i| i.starts_with("wasi:cli/")),
        "{imports:?}"
    );
    let echo = report["tools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "echo_echo")
        .unwrap();
    assert_eq!(echo["description"], "Return the message unchanged.");
    assert_eq!(echo["inputSchema"]["required"][0], "message");
    assert_eq!(report["sha256"].as_str().unwrap().len(), 64);

    // A component not built with the SDK has no docs: a warning, not a failure.
    let (code, stdout, _) = run(&["inspect", plugin("raw").to_str().unwrap()]);
    assert_eq!(code, 0);
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert!(
        report["warnings"][0]
            .as_str()
            .unwrap()
            .contains("has no description"),
        "{report}"
    );

    let (code, _, stderr) = run(&["inspect", plugin("resourceful").to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(stderr.contains("resource type"), "{stderr}");
}

/// `--cache-dir`: the first start compiles and stores each component (in a 0700 folder), the
/// next loads it; an artifact that no longer matches its recorded sha256 is not used.
#[test]
fn compiled_components_are_cached_and_verified() {
    use std::os::unix::fs::PermissionsExt;

    let manifest = crate::support::manifest(&[("echo", "echo")], "");
    let cache = manifest.dir.path().join("cache");
    let check = || {
        let output = std::process::Command::new(crate::support::WARDEN)
            .args(["check", "--manifest"])
            .arg(&manifest.path)
            .arg("--cache-dir")
            .arg(&cache)
            .env("WARDEN_LOG", "warden=debug")
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
        String::from_utf8_lossy(&output.stderr).into_owned()
    };
    let first = check();
    assert!(first.contains("source=Compiled"), "{first}");
    let mode = std::fs::metadata(&cache).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o700);
    let second = check();
    assert!(second.contains("source=Cached"), "{second}");

    let artifact = std::fs::read_dir(&cache)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .find(|path| path.extension().is_some_and(|ext| ext == "cwasm"))
        .expect("an artifact");
    let mut bytes = std::fs::read(&artifact).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(&artifact, bytes).unwrap();
    let third = check();
    assert!(
        third.contains("does not match its recorded sha256: compiling it again"),
        "{third}"
    );
    assert!(third.contains("source=Compiled"), "{third}");
    assert!(check().contains("source=Cached"));
}
