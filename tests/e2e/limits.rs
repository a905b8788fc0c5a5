//! Sandbox limits: fuel, wall clock, memory, stack, panics and traps; and guest output
//! never reaching the MCP stdout. After each failure the server keeps serving.

use serde_json::json;

use crate::support::{RawServer, assert_error, call, client, manifest, text};

#[tokio::test]
async fn every_limit_is_reported_and_the_server_goes_on() {
    let manifest = manifest(
        &[("hog", "hog"), ("slow", "hog"), ("raw", "raw")],
        r#"
[components.hog.limits]
fuel = 50_000_000
memory = "16 MiB"
timeout = "5s"

[components.slow.limits]
fuel = 1_000_000_000_000
timeout = "300ms"
"#,
    );
    let client = client(&manifest).await;

    let result = call(&client, "hog_spin", json!({})).await;
    assert_error(
        &result,
        "out of fuel: the call used all of its 50000000 fuel (limits.fuel)",
    );

    let result = call(&client, "slow_spin", json!({})).await;
    assert_error(
        &result,
        "timed out: the call ran longer than 300ms (limits.timeout)",
    );

    // Time blocked in a host call counts too.
    let result = call(&client, "slow_nap", json!({"milliseconds": 60_000})).await;
    assert_error(&result, "timed out");

    let result = call(&client, "hog_grow", json!({"mebibytes": 64})).await;
    assert_error(
        &result,
        "out of memory: the tool tried to grow past its 16 MiB limit (limits.memory)",
    );

    // A fallible allocation sees the refusal as an ordinary failure.
    let result = call(&client, "hog_try_grow", json!({"mebibytes": 64})).await;
    assert_eq!(result.structured_content, Some(json!({"result": false})));
    let result = call(&client, "hog_grow", json!({"mebibytes": 4})).await;
    assert_eq!(result.structured_content, Some(json!({"result": 4})));

    let result = call(&client, "hog_recurse", json!({"depth": 100_000_000})).await;
    assert_error(&result, "stack overflow");

    let result = call(&client, "hog_panic", json!({"message": "boom at noon"})).await;
    assert_error(&result, "panicked: boom at noon");

    let result = call(&client, "raw_boom", json!({})).await;
    assert_error(&result, "trap: unreachable (possibly a panic)");

    let result = call(&client, "hog_halt", json!({})).await;
    assert_error(&result, "trap: unreachable (possibly a panic)");

    // Every call got a fresh sandbox: the same component works after all of that.
    let result = call(&client, "raw_hello", json!({})).await;
    assert_eq!(text(&result), "hello");
    let result = call(&client, "hog_nap", json!({"milliseconds": 1})).await;
    assert_eq!(result.is_error, Some(false));
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn calls_beyond_the_concurrency_cap_wait_then_get_busy() {
    // One sandbox slot; `quick` calls give up waiting for it after their own timeout.
    let manifest = manifest(
        &[("hog", "hog"), ("quick", "hog")],
        "[server]\nmax_concurrent_calls = 1\n[components.quick.limits]\ntimeout = \"300ms\"\n",
    );
    let client = client(&manifest).await;
    let (first, second) = tokio::join!(
        call(&client, "hog_nap", json!({"milliseconds": 2_000})),
        async {
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            call(&client, "quick_nap", json!({"milliseconds": 1})).await
        }
    );
    assert_eq!(
        first.is_error,
        Some(false),
        "the first call holds the slot and finishes: {first:?}"
    );
    assert_error(&second, "server busy: all 1 sandboxes stayed in use");
    let result = call(&client, "quick_nap", json!({"milliseconds": 1})).await;
    assert_eq!(result.is_error, Some(false), "a slot is free again");
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn guest_output_goes_to_the_log_never_to_stdout() {
    let manifest = manifest(&[("hog", "hog")], "");
    let log = manifest.dir.path().join("stderr.log");
    let mut server = RawServer::start(&manifest, Some(&log));
    server.initialize().await;
    let reply = server
        .request(json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                        "params": {"name": "hog_print", "arguments": {"message": "MARKER-7731"}}}))
        .await;
    assert_eq!(reply["result"]["content"][0]["text"], "printed", "{reply}");
    let reply = server
        .request(json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                        "params": {"name": "hog_chatter", "arguments": {"message": "LOGLINE-4410"}}}))
        .await;
    assert_eq!(reply["result"]["content"][0]["text"], "LOGLINE-4410");
    let rest = server.finish().await;
    assert!(!rest.contains("MARKER-7731"), "guest stdout leaked: {rest}");
    let log = std::fs::read_to_string(&log).unwrap();
    assert!(
        log.contains("MARKER-7731"),
        "guest output is in the server log: {log}"
    );
    assert!(
        log.contains("stream=\"stdout\"") || log.contains("stream=stdout"),
        "{log}"
    );
    assert!(
        log.contains("LOGLINE-4410"),
        "log import reaches the server log: {log}"
    );
    assert!(log.contains("warden::audit"), "each call is audited: {log}");
    assert!(log.contains("\"outcome\":\"ok\""), "{log}");
}
