//! The lock file: `warden lock` approves a catalog; `serve` and `check` refuse any drift from
//! it with a readable diff, and warn (or with `--locked`, refuse) when there is none.

use serde_json::json;

use crate::support::{Manifest, call, client, manifest_text, plugin, root, run, sha256, text};

fn path(manifest: &Manifest) -> &str {
    manifest.path.to_str().unwrap()
}

fn lock(manifest: &Manifest) -> String {
    let (code, stdout, stderr) = run(&["lock", "--manifest", path(manifest)]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    stdout
}

/// Copies the plugin `name` into the manifest's folder as `file`; returns its sha256.
fn place(manifest: &Manifest, name: &str, file: &str) -> String {
    let target = manifest.dir.path().join(file);
    std::fs::copy(plugin(name), &target).unwrap();
    sha256(&target)
}

fn component(id: &str, file: &str, sha: &str) -> String {
    format!("[components.{id}]\nsource = \"{file}\"\nsha256 = \"{sha}\"\n")
}

/// Locks `manifest`, applies `change`, and returns what `check` says: it must refuse, and
/// `serve` must refuse with the same diff. Then `warden lock` accepts the change.
fn drift(manifest: &Manifest, change: impl FnOnce()) -> String {
    lock(manifest);
    change();
    let (code, refusal, _) = run(&["check", "--manifest", path(manifest)]);
    assert_eq!(code, 1, "{refusal}");
    assert!(
        refusal.contains(&format!(
            "  help: review the changes; if you accept them, update the lock: warden lock --manifest {}\n",
            path(manifest)
        )),
        "{refusal}"
    );
    let (code, _, stderr) = run(&["serve", "--manifest", path(manifest)]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains(&refusal),
        "serve shows the same diff: {stderr}"
    );

    let accepted = lock(manifest);
    assert!(accepted.contains("accepting"), "{accepted}");
    let (code, stdout, _) = run(&["check", "--locked", "--manifest", path(manifest)]);
    assert_eq!(
        code, 0,
        "after `warden lock` the change is accepted: {stdout}"
    );
    refusal
}

/// `drift` by rewriting the manifest as `after`.
fn refused(manifest: &Manifest, after: &str) -> String {
    drift(manifest, || std::fs::write(&manifest.path, after).unwrap())
}

#[tokio::test]
async fn a_locked_catalog_serves_and_relocking_changes_nothing() {
    let manifest = crate::support::manifest(&[("echo", "echo")], "");
    let wrote = lock(&manifest);
    assert!(
        wrote.contains("warden.lock: 1 component(s), 10 tool(s), 0 prompt(s)"),
        "{wrote}"
    );
    let lock_file = manifest.dir.path().join("warden.lock");
    let first = std::fs::read_to_string(&lock_file).unwrap();
    assert!(
        first.starts_with("# The catalog approved for warden.toml"),
        "{first}"
    );
    assert!(
        first.contains("[tools.echo_echo]\ncomponent = \"echo\"\n"),
        "{first}"
    );
    assert!(
        first.contains("description = \"Return the message unchanged.\""),
        "{first}"
    );

    let (code, stdout, _) = run(&["check", "--locked", "--manifest", path(&manifest)]);
    assert_eq!(code, 0, "{stdout}");
    assert!(!stdout.contains("warning"), "{stdout}");
    let client = client(&manifest).await;
    let result = call(&client, "echo_echo", json!({"message": "hi"})).await;
    assert_eq!(text(&result), "hi");
    client.cancel().await.unwrap();

    assert!(lock(&manifest).contains("warden.lock is up to date"));
    assert_eq!(
        std::fs::read_to_string(&lock_file).unwrap(),
        first,
        "deterministic"
    );
}

#[test]
fn a_missing_lock_warns_and_locked_refuses() {
    let manifest = crate::support::manifest(&[("echo", "echo")], "");
    let (code, stdout, _) = run(&["check", "--manifest", path(&manifest)]);
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("warning: no lock file"), "{stdout}");
    // stdin is closed: serve starts, warns, and ends as the session cannot start.
    let (_, _, stderr) = run(&["serve", "--manifest", path(&manifest)]);
    assert!(
        stderr.contains("WARN warden::cli: no lock file"),
        "{stderr}"
    );
    assert!(
        stderr.contains("the MCP session failed to start"),
        "it served: {stderr}"
    );
    assert!(stderr.contains("warden lock --manifest"), "{stderr}");

    for command in ["check", "serve"] {
        let (code, stdout, stderr) = run(&[command, "--locked", "--manifest", path(&manifest)]);
        assert_eq!(code, 1, "{command}: {stdout}{stderr}");
        let said = format!("{stdout}{stderr}");
        assert!(said.contains("(--locked requires one)"), "{said}");
        assert!(
            said.contains("then approve it: warden lock --manifest"),
            "{said}"
        );
    }

    std::fs::write(
        manifest.dir.path().join("warden.lock"),
        "version = 1\nextra = 1\n",
    )
    .unwrap();
    let (code, stdout, _) = run(&["check", "--manifest", path(&manifest)]);
    assert_eq!(code, 1);
    assert!(stdout.contains("is not a valid lock file"), "{stdout}");
    assert!(stdout.contains("extra"), "{stdout}");
}

#[test]
fn a_changed_binary_and_input_schema_are_refused() {
    // Same component id and tool name `c_t`, same description; the binary and the tool's
    // input schema differ (echo's `echo(message)` vs raw's `hello()`), and so does the tool set.
    let manifest = manifest_text("");
    let echo = place(&manifest, "echo", "c.wasm");
    std::fs::write(
        &manifest.path,
        format!(
            "{}[components.c.tools.echo]\nname = \"t\"\ndescription = \"T.\"\n",
            component("c", "c.wasm", &echo)
        ),
    )
    .unwrap();
    let mut raw = String::new();
    let stdout = drift(&manifest, || {
        raw = place(&manifest, "raw", "c.wasm");
        let after = format!(
            "{}[components.c.tools.hello]\nname = \"t\"\ndescription = \"T.\"\n",
            component("c", "c.wasm", &raw)
        );
        std::fs::write(&manifest.path, after).unwrap();
    });
    assert!(
        stdout.contains(&format!(
            "  component `c`: binary changed: sha256 {echo} → {raw}\n"
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains("  tool `c_t`: input schema changed: sha256 "),
        "{stdout}"
    );
    assert!(!stdout.contains("tool `c_t`: description"), "{stdout}");
    assert!(!stdout.contains("tool `c_t`: output schema"), "{stdout}");
    assert!(
        stdout.contains("  tool `c_boom`: added (component `c`)\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("  tool `c_greet`: removed (component `c`)\n"),
        "{stdout}"
    );
}

#[test]
fn a_changed_description_is_refused_showing_old_and_new() {
    let base = crate::support::manifest(&[("echo", "echo")], "");
    let pinned = std::fs::read_to_string(&base.path).unwrap();
    std::fs::write(
        &base.path,
        format!("{pinned}[components.echo.tools.echo]\ndescription = \"Repeat the message.\"\n"),
    )
    .unwrap();
    let after = format!(
        "{pinned}[components.echo.tools.echo]\ndescription = \"Repeat the message, then stop.\"\n"
    );
    let stdout = refused(&base, &after);
    assert!(
        stdout.contains(
            "differs from {lock} (1 change(s)); refusing to start:\n  tool `echo_echo`: description changed\n      old: Repeat the message.\n      new: Repeat the message, then stop.\n"
                .replace("{lock}", &base.dir.path().join("warden.lock").display().to_string())
                .as_str()
        ),
        "{stdout}"
    );
}

#[test]
fn a_renamed_tool_is_a_removed_and_an_added_tool() {
    let base = crate::support::manifest(&[("echo", "echo")], "");
    let pinned = std::fs::read_to_string(&base.path).unwrap();
    let after = format!("{pinned}[components.echo.tools.echo]\nname = \"say\"\n");
    let stdout = refused(&base, &after);
    assert!(stdout.contains("(2 change(s))"), "{stdout}");
    assert!(
        stdout.contains("  tool `echo_echo`: removed (component `echo`)\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "  tool `echo_say`: added (component `echo`)\n      description: Return the message unchanged.\n"
        ),
        "{stdout}"
    );
}

#[test]
fn added_grants_are_refused_item_by_item() {
    let base = crate::support::manifest(&[("probe", "probe")], "");
    std::fs::create_dir(base.dir.path().join("data")).unwrap();
    let pinned = std::fs::read_to_string(&base.path).unwrap();
    let after = pinned.replace(
        "\n\n",
        "\nhosts = [\"https://example.org\"]\ndirs = [{ host = \"data\", guest = \"/data\", access = \"read-write\" }]\nenv = { MODE = \"fast\" }\n\n",
    );
    let stdout = refused(&base, &after);
    for line in [
        "  component `probe`: dirs: added /data read-write from data\n",
        "  component `probe`: hosts: added https://example.org\n",
        "  component `probe`: env: added MODE=fast\n",
        "  tool `probe_env_var`: annotations: [readOnlyHint] → [destructiveHint, openWorldHint]\n",
        "  tool `probe_env_var`: confirm: false → true\n",
    ] {
        assert!(stdout.contains(line), "{line:?} in {stdout}");
    }
}

#[test]
fn an_added_output_schema_is_refused() {
    // Tool `c_t` is echo's `ping()` (no result), then raw's `hello() -> string`: same
    // description, same (empty) input schema, a new output schema.
    let manifest = manifest_text("");
    let echo = place(&manifest, "echo", "c.wasm");
    let pinned = |sha: &str, function: &str| {
        format!(
            "{}[components.c.tools.{function}]\nname = \"t\"\ndescription = \"T.\"\n",
            component("c", "c.wasm", sha)
        )
    };
    std::fs::write(&manifest.path, pinned(&echo, "ping")).unwrap();
    let stdout = drift(&manifest, || {
        let raw = place(&manifest, "raw", "c.wasm");
        std::fs::write(&manifest.path, pinned(&raw, "hello")).unwrap();
    });
    assert!(
        stdout.contains("  tool `c_t`: output schema added\n"),
        "{stdout}"
    );
    assert!(!stdout.contains("tool `c_t`: input schema"), "{stdout}");
}

#[test]
fn a_secret_sent_to_more_destinations_is_refused() {
    let grants = |secret_hosts: &str| {
        format!(
            "hosts = [\"https://a.example.org\", \"https://b.example.org\"]\nsecrets = [\"gh\"]\n\n\
             [secrets.gh]\nfrom_file = \"gh.txt\"\nhosts = [{secret_hosts}]\n"
        )
    };
    let base =
        crate::support::manifest(&[("probe", "probe")], &grants("\"https://a.example.org\""));
    std::fs::write(base.dir.path().join("gh.txt"), "ghs-value\n").unwrap();
    let pinned = std::fs::read_to_string(&base.path).unwrap();
    let after = pinned.replace(
        &grants("\"https://a.example.org\""),
        &grants("\"https://a.example.org\", \"https://b.example.org\""),
    );
    let stdout = refused(&base, &after);
    assert!(
        stdout.contains(
            "  component `probe`: secrets: added gh for https://a.example.org, https://b.example.org; removed gh for https://a.example.org\n"
        ),
        "{stdout}"
    );
    assert!(!stdout.contains("ghs-value"), "{stdout}");
}

#[test]
fn a_changed_or_added_prompt_file_is_refused() {
    let base = manifest_text("");
    let prompt = |name: &str, text: &str| -> String {
        let file = base.dir.path().join(format!("{name}.toml"));
        std::fs::write(
            &file,
            format!("description = \"x\"\n[[messages]]\nrole = \"user\"\ntext = \"{text}\"\n"),
        )
        .unwrap();
        sha256(&file)
    };
    let pin = |name: &str, sha: &str| {
        format!("[prompts.{name}]\nfile = \"{name}.toml\"\nsha256 = \"{sha}\"\n")
    };
    let old = prompt("p", "Review this.");
    std::fs::write(&base.path, pin("p", &old)).unwrap();
    let (mut new, mut other) = (String::new(), String::new());
    let stdout = drift(&base, || {
        new = prompt("p", "Review this carefully.");
        other = prompt("q", "Other.");
        let after = format!("{}{}", pin("p", &new), pin("q", &other));
        std::fs::write(&base.path, after).unwrap();
    });
    assert!(
        stdout.contains(&format!(
            "  prompt `p`: file changed: sha256 {old} → {new}\n"
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("  prompt `q`: added (sha256 {other})\n")),
        "{stdout}"
    );
}

#[test]
fn the_example_lock_is_up_to_date() {
    assert_lock_is_up_to_date("warden.toml");
}

#[test]
fn the_conformance_lock_is_up_to_date() {
    assert_lock_is_up_to_date("tests/conformance/warden.toml");
}

/// `warden check --locked` accepts the committed manifest at `manifest` (relative to the
/// repository root) and the lock file beside it.
fn assert_lock_is_up_to_date(manifest: &str) {
    let output = std::process::Command::new(crate::support::WARDEN)
        .args(["check", "--locked", "--manifest", manifest])
        .current_dir(root())
        .env("WARDEN_LOG", "warn")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the lock of {manifest} is stale: review the change, then run `warden lock --manifest {manifest}`\n{stdout}"
    );
    assert!(root().join(manifest).with_extension("lock").is_file());
}
