//! Capabilities: a tool reaches only the directories, environment and secrets it was
//! granted. The test-only `probe` component tries every escape; each is denied, and the
//! server keeps serving. `files` shows the grants working for a real tool.

use std::path::Path;

use serde_json::{Value, json};

use crate::support::{
    Manifest, assert_error, call, client, manifest_text, plugin, run, sha256, text,
};

/// A manifest folder with `data/` (read-only), `scratch/` (read-write), a file outside both,
/// symlinks pointing out, and a secret file.
fn sandbox_manifest(component: &str, extra: &str) -> Manifest {
    let path = plugin(component);
    let manifest = manifest_text(&format!(
        r#"[components.{component}]
source = {source:?}
sha256 = "{digest}"
dirs = [
  {{ host = "data", guest = "/data", access = "read-only" }},
  {{ host = "scratch", guest = "/scratch", access = "read-write" }},
]
env = {{ GREETING = "hi" }}
{extra}"#,
        source = path.display().to_string(),
        digest = sha256(&path),
    ));
    let root = manifest.dir.path();
    std::fs::create_dir_all(root.join("data/sub")).unwrap();
    std::fs::create_dir_all(root.join("scratch")).unwrap();
    std::fs::write(root.join("data/hello.txt"), "hello world\nsecond line\n").unwrap();
    std::fs::write(root.join("data/sub/notes.md"), "nothing\nfind me here\n").unwrap();
    std::fs::write(root.join("outside.txt"), "OUTSIDE-SECRET").unwrap();
    std::os::unix::fs::symlink("../outside.txt", root.join("data/escape")).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", root.join("data/absolute")).unwrap();
    write_private(&root.join("token.txt"), "s3cr3t-plaintext-value\n");
    manifest
}

fn write_private(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

const PROBE_GRANTS: &str = r#"secrets = ["token"]
hosts = ["http://127.0.0.1:9"]

[secrets.token]
from_file = "token.txt"
hosts = ["http://127.0.0.1:9"]
"#;

#[tokio::test]
async fn the_probe_cannot_escape_its_grants() {
    let manifest = sandbox_manifest("probe", PROBE_GRANTS);
    let root = manifest.dir.path().to_path_buf();
    let client = client(&manifest).await;
    let denied = |result: &rmcp::model::CallToolResult| {
        assert_eq!(result.is_error, Some(true), "must be denied: {result:?}");
        assert!(!text(result).contains("OUTSIDE-SECRET") && !text(result).contains("root:"));
    };

    // Files outside every grant.
    for path in [
        "/etc/passwd",
        "/data/../outside.txt",
        "/data/escape",
        "/data/absolute",
        "../outside.txt",
        "/outside.txt",
    ] {
        let result = call(&client, "probe_read_file", json!({"path": path})).await;
        denied(&result);
    }
    let result = call(&client, "probe_list_dir", json!({"path": "/"})).await;
    if result.is_error != Some(true) {
        let names = result.structured_content.unwrap().to_string();
        assert!(
            !names.contains("etc") && !names.contains("outside"),
            "{names}"
        );
    }

    // Inside the read-only grant: reading works, changing does not.
    let result = call(
        &client,
        "probe_read_file",
        json!({"path": "/data/hello.txt"}),
    )
    .await;
    assert!(text(&result).contains("hello world"), "{result:?}");
    denied(
        &call(
            &client,
            "probe_write_file",
            json!({"path": "/data/new.txt", "content": "x"}),
        )
        .await,
    );
    denied(
        &call(
            &client,
            "probe_write_file",
            json!({"path": "/data/hello.txt", "content": "x"}),
        )
        .await,
    );
    denied(
        &call(
            &client,
            "probe_delete_file",
            json!({"path": "/data/hello.txt"}),
        )
        .await,
    );
    denied(
        &call(
            &client,
            "probe_rename_file",
            json!({"from": "/data/hello.txt", "to": "/data/moved.txt"}),
        )
        .await,
    );
    denied(&call(&client, "probe_make_dir", json!({"path": "/data/newdir"})).await);
    assert_eq!(
        std::fs::read_to_string(root.join("data/hello.txt")).unwrap(),
        "hello world\nsecond line\n"
    );
    assert!(!root.join("data/new.txt").exists() && !root.join("data/newdir").exists());

    // The read-write grant: writes land on the host, and still cannot leave it.
    let result = call(
        &client,
        "probe_write_file",
        json!({"path": "/scratch/out.txt", "content": "written"}),
    )
    .await;
    assert_eq!(result.is_error, Some(false), "{result:?}");
    assert_eq!(
        std::fs::read_to_string(root.join("scratch/out.txt")).unwrap(),
        "written"
    );
    denied(
        &call(
            &client,
            "probe_write_file",
            json!({"path": "/scratch/../escaped.txt", "content": "x"}),
        )
        .await,
    );
    assert!(!root.join("escaped.txt").exists());

    // Environment and arguments: only the declared `env`.
    let result = call(&client, "probe_env_all", json!({})).await;
    assert_eq!(
        result.structured_content,
        Some(json!({"result": [["GREETING", "hi"]]}))
    );
    let result = call(&client, "probe_env_var", json!({"name": "PATH"})).await;
    assert_eq!(result.structured_content, Some(json!({"result": null})));
    let result = call(&client, "probe_args", json!({})).await;
    assert_eq!(result.structured_content, Some(json!({"result": []})));

    // Raw sockets: linked, every address denied; nothing reaches a real listener.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let address = listener.local_addr().unwrap().to_string();
    denied(&call(&client, "probe_tcp_connect", json!({"address": address})).await);
    assert!(listener.accept().is_err(), "no connection may arrive");

    // Outgoing HTTP outside `hosts`: denied with the guest-visible wasi:http error.
    for url in [
        "http://127.0.0.1:10/",
        "http://169.254.169.254/latest/meta-data/",
        "https://example.org/",
    ] {
        let result = call(&client, "probe_http_get", json!({"url": url})).await;
        assert_error(&result, "denied");
    }

    // Secrets: a granted name gives a per-call placeholder, never the plaintext.
    let first = call(&client, "probe_secret_token", json!({"name": "token"})).await;
    let token = text(&first);
    assert!(token.starts_with("warden-secret-"), "{first:?}");
    assert!(
        !token.contains("s3cr3t"),
        "the plaintext never reaches the guest"
    );
    let second = call(&client, "probe_secret_token", json!({"name": "token"})).await;
    assert_ne!(text(&second), token, "tokens are per call");
    let result = call(&client, "probe_secret_token", json!({"name": "other"})).await;
    assert_error(&result, "secret `other` is not granted to this tool");

    // After all of that, the server still serves.
    let result = call(
        &client,
        "probe_read_file",
        json!({"path": "/data/hello.txt"}),
    )
    .await;
    assert!(text(&result).contains("hello world"));
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn denials_are_logged_with_their_reason() {
    // The raw client cannot answer confirmations: these tools run without asking.
    let grants = format!(
        "{PROBE_GRANTS}\n[components.probe.tools.http-get]\nconfirm = false\n[components.probe.tools.secret-token]\nconfirm = false\n"
    );
    let manifest = sandbox_manifest("probe", &grants);
    let log = manifest.dir.path().join("stderr.log");
    let mut server = crate::support::RawServer::start(&manifest, Some(&log));
    server.initialize().await;
    for (id, url) in [
        (1, "http://127.0.0.1:9/x?token=abc"),
        (2, "http://10.0.0.1/"),
    ] {
        let reply = server
            .request(json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
                            "params": {"name": "probe_http_get", "arguments": {"url": url}}}))
            .await;
        assert_eq!(reply["result"]["isError"], true, "{reply}");
    }
    let reply = server
        .request(json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call",
                        "params": {"name": "probe_secret_token", "arguments": {"name": "other"}}}))
        .await;
    assert_eq!(reply["result"]["isError"], true, "{reply}");
    server.finish().await;
    let log = std::fs::read_to_string(&log).unwrap();
    assert!(log.contains("warden::denial"), "{log}");
    assert!(
        log.contains("outgoing HTTP refused: cannot connect to 127.0.0.1:9"),
        "{log}"
    );
    assert!(
        log.contains("http://10.0.0.1:80 is not in the tool's `hosts`"),
        "{log}"
    );
    assert!(!log.contains("token=abc"), "queries are not logged: {log}");
    assert!(log.contains("secret not granted"), "{log}");
    assert!(!log.contains("s3cr3t"), "a secret's value is never logged");
}

#[tokio::test]
async fn files_lists_reads_searches_and_writes_only_where_granted() {
    let manifest = sandbox_manifest(
        "files",
        "[components.files.tools.\"fs.list\"]\nread_only = true\n",
    );
    let root = manifest.dir.path().to_path_buf();
    let client = client(&manifest).await;

    let result = call(&client, "files_list", json!({"path": "/data"})).await;
    let listed = result.structured_content.clone().unwrap().to_string();
    assert!(
        listed.contains("hello.txt") && listed.contains("sub"),
        "{listed}"
    );

    let result = call(&client, "files_read", json!({"path": "/data/hello.txt"})).await;
    assert_eq!(text(&result), "hello world\nsecond line\n");
    let result = call(
        &client,
        "files_read",
        json!({"path": "/data/hello.txt", "max-bytes": 4}),
    )
    .await;
    assert_eq!(result.is_error, Some(true), "over the size cap: {result:?}");

    let result = call(
        &client,
        "files_search",
        json!({"root": "/data", "glob": "**/*.md", "text": "find"}),
    )
    .await;
    let hits = result.structured_content.clone().unwrap();
    assert_eq!(hits["result"][0]["line"], 2, "{hits}");
    assert!(
        hits["result"][0]["path"]
            .as_str()
            .unwrap()
            .ends_with("notes.md"),
        "{hits}"
    );

    let result = call(
        &client,
        "files_write",
        json!({"path": "/scratch/report.txt", "content": "done"}),
    )
    .await;
    assert_eq!(result.is_error, Some(false), "{result:?}");
    assert_eq!(
        std::fs::read_to_string(root.join("scratch/report.txt")).unwrap(),
        "done"
    );
    let result = call(
        &client,
        "files_write",
        json!({"path": "/data/report.txt", "content": "no"}),
    )
    .await;
    assert_eq!(result.is_error, Some(true));
    let result = call(&client, "files_read", json!({"path": "/data/escape"})).await;
    assert_eq!(result.is_error, Some(true));

    // Annotations come from the grants (a writable dir: not read-only, destructive), and the
    // operator's override for `fs.list`.
    let tools = client.list_all_tools().await.unwrap();
    let hints = |name: &str| -> Value {
        let tool = tools.iter().find(|t| t.name == name).unwrap();
        serde_json::to_value(tool.annotations.as_ref().unwrap()).unwrap()
    };
    assert_eq!(
        hints("files_write"),
        json!({"readOnlyHint": false, "destructiveHint": true, "idempotentHint": false, "openWorldHint": false})
    );
    assert_eq!(hints("files_list")["readOnlyHint"], true);
    client.cancel().await.unwrap();
}

#[test]
fn check_rejects_bad_grants_and_explains_sockets() {
    let probe = plugin("probe");
    let header = format!(
        "[components.probe]\nsource = {:?}\nsha256 = \"{}\"\n",
        probe.display().to_string(),
        sha256(&probe)
    );
    let cases = [
        (
            "dirs = [{ host = \"missing\", guest = \"/m\", access = \"read-only\" }]\n",
            "missing is not an existing directory",
        ),
        (
            "dirs = [{ host = \".\", guest = \"rel\", access = \"read-only\" }]\n",
            "`rel` is not a usable guest path",
        ),
        (
            "dirs = [{ host = \".\", guest = \"/d\", access = \"rw\" }]\n",
            "`rw` is not an access",
        ),
        ("hosts = [\"*\"]\n", "would grant every host"),
        ("hosts = [\"https://*\"]\n", "would grant every host"),
        ("hosts = [\"api.github.com\"]\n", "has no scheme"),
        ("secrets = [\"nope\"]\n", "secret `nope` is not defined"),
        (
            "hosts = [\"https://a.example.org\"]\nsecrets = [\"gh\"]\n[secrets.gh]\nfrom_env = \"PATH\"\nhosts = [\"https://api.github.com\"]\n",
            "secret `gh` is bound to https://api.github.com, which component `probe` is not granted",
        ),
        (
            "[secrets.gh]\nfrom_env = \"WARDEN_TEST_SURELY_UNSET\"\nhosts = [\"https://api.github.com\"]\n",
            "environment variable `WARDEN_TEST_SURELY_UNSET` is not set",
        ),
        (
            "[secrets.gh]\nhosts = [\"https://api.github.com\"]\n",
            "secret `gh` has no source",
        ),
        (
            "env = { \"1BAD\" = \"x\" }\n",
            "`1BAD` is not an environment variable name",
        ),
    ];
    for (extra, expected) in cases {
        let manifest = manifest_text(&format!("{header}{extra}"));
        let (code, stdout, _) = run(&["check", "--manifest", manifest.path.to_str().unwrap()]);
        assert_eq!(code, 1, "{extra}: {stdout}");
        assert!(
            stdout.contains(expected),
            "{extra}: expected {expected:?} in {stdout}"
        );
        assert!(stdout.contains("help: "), "{stdout}");
    }

    // A valid grant set: sockets are explained, a shared secret file and granted hosts warned about.
    let manifest = manifest_text(&format!(
        "{header}hosts = [\"https://api.github.com\"]\nsecrets = [\"gh\"]\n[secrets.gh]\nfrom_file = \"gh.txt\"\nhosts = [\"https://api.github.com\"]\n"
    ));
    std::fs::write(manifest.dir.path().join("gh.txt"), "value\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(
        manifest.dir.path().join("gh.txt"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let (code, stdout, _) = run(&["check", "--manifest", manifest.path.to_str().unwrap()]);
    assert_eq!(code, 0, "{stdout}");
    assert!(
        stdout.contains("is readable by its group or by others; `chmod 600` it"),
        "{stdout}"
    );
    assert!(stdout.contains("note: component `probe` imports wasi:sockets: it is linked with every address and name lookup denied"), "{stdout}");
}
