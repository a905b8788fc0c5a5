//! Manifest errors: every problem at once, each naming file, line and key, with a fix
//! (golden files), and the load-time refusals: digest mismatch, unknown imports, resource
//! types, name collisions and overlong names.

use std::path::Path;

use crate::support::{WARDEN, manifest, manifest_text, plugin, run, sha256};

/// Runs `warden check` on each `manifests/*.toml` from that folder and compares its output
/// with the `.err` file beside it (`UPDATE_GOLDEN=1` rewrites them).
#[test]
fn invalid_manifests_match_their_golden_errors() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/e2e/manifests");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "toml") {
            continue;
        }
        let name = path.file_name().unwrap().to_str().unwrap();
        let output = std::process::Command::new(WARDEN)
            .args(["check", "--manifest", name])
            .current_dir(&dir)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(1), "{name} must fail the check");
        let actual = String::from_utf8(output.stdout).unwrap();
        let golden = path.with_extension("err");
        if std::env::var_os("UPDATE_GOLDEN").is_some() {
            std::fs::write(&golden, &actual).unwrap();
        }
        let expected = std::fs::read_to_string(&golden).unwrap_or_else(|_| {
            panic!("{} is missing; run with UPDATE_GOLDEN=1", golden.display())
        });
        assert_eq!(actual, expected, "{name}");
        checked += 1;
    }
    assert_eq!(checked, 7);
}

#[test]
fn a_changed_component_is_refused_before_compiling() {
    let echo = plugin("echo");
    let wrong = "0".repeat(64);
    let manifest = manifest_text(&format!(
        "[components.echo]\nsource = {:?}\nsha256 = \"{wrong}\"\n",
        echo.display().to_string()
    ));
    let path = manifest.path.to_str().unwrap();
    for command in ["check", "serve"] {
        let (code, stdout, stderr) = run(&[command, "--manifest", path]);
        assert_eq!(code, 1, "{command}");
        let output = stdout + &stderr;
        assert!(
            output.contains(":3:1: `components.echo.sha256`: sha256 mismatch"),
            "{output}"
        );
        assert!(
            output.contains(&format!(
                "the manifest pins {wrong}, the file is {}",
                sha256(&echo)
            )),
            "{output}"
        );
        assert!(
            output.contains("help: the file changed since it was pinned"),
            "{output}"
        );
    }
}

#[test]
fn components_the_host_cannot_serve_are_refused_naming_why() {
    let cases = [
        (
            "unlinkable",
            "imports `warden-example:missing/nothing@0.1.0`, which Warden does not provide",
        ),
        (
            "resourceful",
            "a resource type cannot cross the MCP boundary",
        ),
        (
            "twin",
            "tool name `twin_hello` is taken twice: by `left.hello` of component `twin` and by `right.hello` of component `twin`",
        ),
    ];
    for (name, expected) in cases {
        let manifest = manifest(&[(name, name)], "");
        let (code, stdout, _) = run(&["check", "--manifest", manifest.path.to_str().unwrap()]);
        assert_eq!(code, 1, "{name}");
        assert!(stdout.contains(expected), "{name}: {stdout}");
        assert!(stdout.contains("help: "), "{name}: {stdout}");
    }
}

#[test]
fn collisions_are_fixed_by_renaming_and_settings_must_name_a_function() {
    let fixed = manifest(
        &[("twin", "twin")],
        "[components.twin.tools.\"right.hello\"]\nname = \"hello-right\"\n",
    );
    let (code, stdout, _) = run(&["check", "--manifest", fixed.path.to_str().unwrap()]);
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("ok: 1 component(s), 2 tool(s)"), "{stdout}");

    let ambiguous = manifest(
        &[("twin", "twin")],
        "[components.twin.tools.hello]\nname = \"x\"\n",
    );
    let (code, stdout, _) = run(&["check", "--manifest", ambiguous.path.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(stdout.contains("`hello` names 2 functions"), "{stdout}");
    assert!(
        stdout.contains("\"left.hello\" or \"right.hello\""),
        "{stdout}"
    );

    let unknown = manifest(
        &[("echo", "echo")],
        "[components.echo.tools.shout]\ndescription = \"x\"\n",
    );
    let (code, stdout, _) = run(&["check", "--manifest", unknown.path.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(
        stdout.contains(
            "`components.echo.tools.shout`: component `echo` exports no function `shout`"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("maybe-double"),
        "lists the functions: {stdout}"
    );

    let long_id = "e".repeat(60);
    let long = manifest(&[(&long_id, "echo")], "");
    let (code, stdout, _) = run(&["check", "--manifest", long.path.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(stdout.contains("clients accept at most 64"), "{stdout}");
}
