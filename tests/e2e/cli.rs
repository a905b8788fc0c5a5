//! The CLI: `check` on the shipped example manifest, `inspect` on components.

use serde_json::Value;

use crate::support::{plugin, root, run};

#[test]
fn the_example_manifest_checks_clean() {
    let manifest = root().join("warden.toml");
    let (code, stdout, stderr) = run(&["check", "--manifest", manifest.to_str().unwrap()]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stdout.contains("ok: 5 component(s), 20 tool(s)"),
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
