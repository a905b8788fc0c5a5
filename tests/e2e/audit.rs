//! The audit log: a chained JSON-lines record of every call and refusal, checked by
//! `warden audit verify`, continued across restarts, failing closed when it cannot be written,
//! and never holding a secret.

use std::path::Path;

use rmcp::model::{CallToolRequestParams, ElicitationAction, RequestMetaObject};
use serde_json::{Value, json};

use crate::support::{
    Client, Human, Manifest, assert_error, call, client, client_as, manifest, run, text,
};

const PLAINTEXT: &str = "hunter2-correct-horse-battery";
const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

/// echo (messages logged), hog (small fuel), slow (short timeout), probe (no hosts), loud
/// (asks first), text (not granted to stdio), a secret, and the audit file.
fn audited(audit: &str) -> Manifest {
    let manifest = manifest(
        &[
            ("echo", "echo"),
            ("hog", "hog"),
            ("slow", "hog"),
            ("probe", "probe"),
            ("loud", "echo"),
            ("text", "text"),
        ],
        &format!(
            r#"[server]
max_output_bytes = "1 KiB"

[stdio]
tools = ["echo_*", "hog_*", "slow_*", "probe_*", "loud_*"]

[secrets.db]
from_file = "db.txt"
hosts = ["https://db.example.org"]

[components.echo.tools.echo]
log_params = ["message"]

[components.hog.limits]
fuel = 50_000_000
[components.hog.tools.print]
rate = "1/h"
burst = 1

[components.slow.limits]
timeout = "300ms"
fuel = 1_000_000_000_000

[components.loud.tools.echo]
confirm = true

[audit]
{audit}
"#
        ),
    );
    std::fs::write(manifest.dir.path().join("db.txt"), format!("{PLAINTEXT}\n")).unwrap();
    manifest
}

fn records(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

fn verify(path: &Path) -> (i32, String) {
    let (code, stdout, stderr) = run(&["audit", "verify", path.to_str().unwrap()]);
    (code, format!("{stdout}{stderr}"))
}

async fn call_with_trace(client: &Client, tool: &str, arguments: Value) {
    let Value::Object(arguments) = arguments else {
        unreachable!()
    };
    let mut meta = RequestMetaObject::default();
    meta.set_traceparent(format!("00-{TRACE_ID}-00f067aa0ba902b7-01"));
    let mut params = CallToolRequestParams::new(tool.to_string()).with_arguments(arguments);
    params.meta = Some(meta);
    client.call_tool(params).await.unwrap();
}

#[tokio::test]
async fn every_outcome_leaves_a_chained_record_without_secrets() {
    let manifest = audited("path = \"audit.jsonl\"\nfsync = \"always\"");
    let path = manifest.dir.path().join("audit.jsonl");
    let client = client_as(&manifest, Human::answering(ElicitationAction::Decline)).await;

    call_with_trace(&client, "echo_echo", json!({"message": "hi"})).await;
    let result = call(&client, "echo_echo", json!({"message": PLAINTEXT})).await;
    assert!(!text(&result).contains(PLAINTEXT));
    assert_error(
        &call(&client, "echo_echo", json!({"message": 5})).await,
        "invalid arguments",
    );
    let secret_key = json!({ PLAINTEXT: 1 });
    for tool in ["nope_nothing", "text_count"] {
        let Value::Object(arguments) = secret_key.clone() else {
            unreachable!()
        };
        let refused = client
            .call_tool(CallToolRequestParams::new(tool.to_string()).with_arguments(arguments))
            .await;
        assert!(refused.is_err(), "{tool}: {refused:?}");
    }
    call(&client, "probe_read_file", json!({"path": "/etc/passwd"})).await;
    call(
        &client,
        "probe_http_get",
        json!({"url": "http://127.0.0.1:10/x?token=1"}),
    )
    .await;
    call(&client, "hog_spin", json!({})).await;
    call(&client, "slow_nap", json!({"milliseconds": 2_000})).await;
    call(&client, "hog_panic", json!({"message": PLAINTEXT})).await;
    call(&client, "echo_echo", json!({"message": "x".repeat(2_000)})).await;
    assert_error(
        &call(&client, "loud_echo", json!({"message": "hi"})).await,
        "declined",
    );
    call(&client, "hog_print", json!({"message": "one"})).await;
    assert_error(
        &call(&client, "hog_print", json!({"message": "two"})).await,
        "rate",
    );
    client.cancel().await.unwrap();

    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        !text.contains(PLAINTEXT),
        "the audit log leaked a secret: {text}"
    );
    let records = records(&path);
    let outcomes: Vec<&str> = records
        .iter()
        .map(|r| r["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(
        outcomes,
        [
            "ok",
            "ok",
            "invalid_args",
            "unknown_tool",
            "not_granted",
            "tool_error",
            "denied:http",
            "out_of_fuel",
            "timeout",
            "panic",
            "output_too_large",
            "declined",
            "ok",
            "rate_limited",
        ]
    );
    for (i, record) in records.iter().enumerate() {
        assert_eq!(record["seq"], i as u64 + 1, "{record}");
        assert_eq!(record["client"], "stdio", "{record}");
        assert_eq!(record["transport"], "stdio", "{record}");
        assert!(record["time"].as_str().unwrap().ends_with('Z'), "{record}");
        assert_eq!(record["hash"].as_str().unwrap().len(), 64, "{record}");
        assert_eq!(record["correlation_id"].as_str().unwrap().len(), 32);
        if i > 0 {
            assert_eq!(record["prev"], records[i - 1]["hash"]);
        }
    }
    let first = &records[0];
    assert_eq!(first["correlation_id"], TRACE_ID, "from the traceparent");
    assert_ne!(records[1]["correlation_id"], TRACE_ID);
    assert_eq!(first["prev"], "0".repeat(64));
    assert_eq!(first["tool"], "echo_echo");
    assert_eq!(first["component"], "echo");
    assert_eq!(
        first["digest"],
        crate::support::sha256(&crate::support::plugin("echo"))
    );
    assert_eq!(
        first["args"],
        json!([{"key": "message", "type": "string", "bytes": 4, "value": "hi"}])
    );
    assert!(first["peak_memory"].as_u64().unwrap() > 0, "{first}");
    assert!(first["fuel_used"].as_u64().unwrap() > 0, "{first}");
    assert_eq!(records[1]["args"][0]["value"], "[REDACTED:secret:db]");
    assert_eq!(records[1]["redactions"], 2, "text and structured content");
    // Keys and tool names are redacted too; values of other parameters never appear.
    assert_eq!(records[3]["args"][0]["key"], "[REDACTED:secret:db]");
    assert!(
        records[4]["digest"].is_string(),
        "a known tool keeps its digest"
    );
    assert!(records[9]["args"][0].get("value").is_none());
    let denials = &records[6]["denials"];
    assert_eq!(denials[0]["capability"], "http", "{denials}");
    assert!(
        denials[0]["target"]
            .as_str()
            .unwrap()
            .contains("http://127.0.0.1:10/x"),
        "{denials}"
    );
    assert!(records[7]["fuel_used"].as_u64().unwrap() >= 50_000_000);

    let (code, output) = verify(&path);
    assert_eq!(code, 0, "{output}");
    assert_eq!(output.trim(), "ok: 14 records");
}

/// Writes three records through a real server and returns the file's lines.
async fn three_records(manifest: &Manifest) -> Vec<String> {
    let client = client(manifest).await;
    for message in ["a", "b", "c"] {
        call(&client, "echo_echo", json!({ "message": message })).await;
    }
    client.cancel().await.unwrap();
    let path = manifest.dir.path().join("audit.jsonl");
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

#[tokio::test]
async fn verify_names_the_first_broken_record() {
    let manifest = audited("path = \"audit.jsonl\"");
    let lines = three_records(&manifest).await;
    let path = manifest.dir.path().join("tampered.jsonl");
    let check = |lines: &[String], tail: &str, record: &str, why: &str| {
        std::fs::write(&path, format!("{}{tail}", lines.join("\n"))).unwrap();
        let (code, output) = verify(&path);
        assert_eq!(code, 1, "{output}");
        assert!(
            output.contains(&format!("broken: record {record} ")) && output.contains(why),
            "{output}"
        );
    };

    let mut edited = lines.clone();
    edited[1] = edited[1].replace("\"bytes\":3", "\"bytes\":4");
    check(&edited, "\n", "2", "edited");
    let mut deleted = lines.clone();
    deleted.remove(1);
    check(&deleted, "\n", "2", "deleted");
    let mut reordered = lines.clone();
    reordered.swap(1, 2);
    check(&reordered, "\n", "2", "reordered");
    let mut truncated = lines.clone();
    let last = truncated.pop().unwrap();
    truncated.push(last[..last.len() / 2].to_string());
    check(&truncated, "", "3", "truncated");
    check(&lines, "", "3", "truncated");

    std::fs::write(&path, format!("{}\n", lines.join("\n"))).unwrap();
    assert_eq!(verify(&path), (0, "ok: 3 records\n".to_string()));
}

#[tokio::test]
async fn the_chain_continues_across_restarts_and_a_corrupt_tail_stops_the_start() {
    let manifest = audited("path = \"audit.jsonl\"\nfsync = \"never\"");
    three_records(&manifest).await;
    let lines = three_records(&manifest).await;
    assert_eq!(lines.len(), 6);
    let path = manifest.dir.path().join("audit.jsonl");
    assert_eq!(verify(&path), (0, "ok: 6 records\n".to_string()));
    let fourth: Value = serde_json::from_str(&lines[3]).unwrap();
    assert_eq!(fourth["seq"], 4);

    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, &text[..text.len() - 20]).unwrap();
    let (code, stdout, stderr) = run(&["serve", "--manifest", manifest.path.to_str().unwrap()]);
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(
        stderr.contains("cannot be continued: its last record (line 6) is truncated")
            && stderr.contains("warden audit verify"),
        "{stderr}"
    );
}

#[tokio::test]
async fn a_failing_sink_fails_closed_unless_told_to_continue() {
    let manifest = audited("path = \"/dev/full\"");
    let refusing = client(&manifest).await;
    let result = call(&refusing, "echo_echo", json!({"message": "hi"})).await;
    assert_error(&result, "audit log unavailable");
    assert!(!text(&result).contains("hi"));
    refusing.cancel().await.unwrap();

    let manifest = audited("path = \"/dev/full\"\non_error = \"continue\"");
    let continuing = client(&manifest).await;
    let result = call(&continuing, "echo_echo", json!({"message": "hi"})).await;
    assert_eq!(text(&result), "hi");
    continuing.cancel().await.unwrap();
}

#[test]
fn audit_settings_are_checked() {
    let manifest = audited("path = \"a.jsonl\"\nrotate = true");
    let (code, stdout, _) = run(&["check", "--manifest", manifest.path.to_str().unwrap()]);
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("`audit.rotate`: unknown key"), "{stdout}");
    assert!(stdout.contains("path, fsync, on_error"), "{stdout}");
    let manifest = audited("path = \"a.jsonl\"\nfsync = \"sometimes\"");
    let (code, stdout, _) = run(&["check", "--manifest", manifest.path.to_str().unwrap()]);
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains("`audit.fsync`: `sometimes` is not an fsync mode"),
        "{stdout}"
    );
    let manifest = crate::support::manifest(
        &[("echo", "echo")],
        "[components.echo.tools.echo]\nlog_params = [\"msg\"]\n",
    );
    let (code, stdout, _) = run(&["check", "--manifest", manifest.path.to_str().unwrap()]);
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains("log_params names `msg`, which is not a parameter of `echo`"),
        "{stdout}"
    );
}
