//! Bad input gets the precise error, and the server keeps serving.

use rmcp::model::CallToolRequestParams;
use rmcp::service::ServiceError;
use serde_json::{Value, json};

use crate::support::{RawServer, assert_error, call, client, manifest, text};

#[tokio::test]
async fn unknown_tool_is_invalid_params() {
    let manifest = manifest(&[("echo", "echo")], "");
    let client = client(&manifest).await;
    let error = client
        .call_tool(CallToolRequestParams::new("nope_nothing"))
        .await
        .unwrap_err();
    match error {
        ServiceError::McpError(error) => {
            assert_eq!(error.code.0, -32602);
            assert_eq!(error.message, "Unknown tool: nope_nothing");
        }
        other => panic!("expected a JSON-RPC error, got {other:?}"),
    }
    // Still serving.
    let result = call(&client, "echo_echo", json!({"message": "still here"})).await;
    assert_eq!(text(&result), "still here");
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn invalid_arguments_name_the_field_and_why() {
    let manifest = manifest(
        &[("echo", "echo")],
        "[server]\nmax_argument_bytes = \"1 KiB\"\n",
    );
    let client = client(&manifest).await;

    let result = call(&client, "echo_echo", json!({})).await;
    assert_error(&result, "invalid arguments");
    assert_error(&result, "\"message\" is a required property");

    let result = call(&client, "echo_echo", json!({"message": 5})).await;
    assert_error(&result, "/message: 5 is not of type \"string\"");

    let result = call(&client, "echo_echo", json!({"message": "a", "extra": 1})).await;
    assert_error(&result, "extra");

    let result = call(
        &client,
        "echo_integers",
        json!({"a": 256, "b": 0, "c": 0, "d": 0, "e": 0, "f": 0, "g": 0, "h": 0}),
    )
    .await;
    assert_error(&result, "/a: 256 is greater than the maximum of 255");

    let person = json!({"name": "A", "age": 1, "favourite": "purple", "perms": ["read", "read"], "tags": []});
    let result = call(&client, "echo_greet", json!({"person": person})).await;
    assert_error(&result, "/person/favourite");
    assert_error(&result, "/person/perms");

    let result = call(
        &client,
        "echo_scalars",
        json!({"x": 1, "y": 1, "flag": true, "letter": "ab"}),
    )
    .await;
    assert_error(&result, "/letter");

    let result = call(
        &client,
        "echo_area",
        json!({"shape": {"circle": 1, "square": 2}}),
    )
    .await;
    assert_error(&result, "/shape");

    // Over the size cap.
    let result = call(&client, "echo_echo", json!({"message": "x".repeat(2000)})).await;
    assert_error(&result, "the limit is 1 KiB (server.max_argument_bytes)");

    // Too deep.
    let mut deep = json!(1);
    for _ in 0..70 {
        deep = json!([deep]);
    }
    let result = call(&client, "echo_echo", json!({"message": deep})).await;
    assert_error(&result, "nest deeper than 64 levels");

    let result = call(&client, "echo_echo", json!({"message": "ok"})).await;
    assert_eq!(result.is_error, Some(false));
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn framing_errors_are_answered_and_the_server_goes_on() {
    let manifest = manifest(
        &[("echo", "echo")],
        "[server]\nmax_argument_bytes = \"1 KiB\"\n",
    );
    let mut server = RawServer::start(&manifest, None);

    // Malformed JSON before and after the handshake: -32700 with a null id.
    server.send_line(b"{not json").await;
    let reply = server.recv().await;
    assert_eq!(reply["error"]["code"], -32700, "{reply}");
    assert_eq!(reply["id"], Value::Null);

    server.initialize().await;

    server.send_line(b"[1, 2").await;
    assert_eq!(server.recv().await["error"]["code"], -32700);

    // Valid JSON that is not a JSON-RPC message: -32600.
    let reply = server.request(json!({"hello": "world"})).await;
    assert_eq!(reply["error"]["code"], -32600, "{reply}");
    let reply = server
        .request(json!([{"jsonrpc": "2.0", "id": 1, "method": "ping"}]))
        .await;
    assert_eq!(
        reply["error"]["code"], -32600,
        "batches are not MCP: {reply}"
    );

    // A request whose params do not parse: -32602 with its id.
    let reply = server
        .request(
            json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"arguments": 3}}),
        )
        .await;
    assert_eq!(reply["error"]["code"], -32602, "{reply}");
    assert_eq!(reply["id"], 7);

    // An oversized line (limit: 1 KiB + 1 MiB) is discarded and answered naming the limit.
    let huge = format!(
        r#"{{"jsonrpc":"2.0","id":8,"method":"tools/call","params":{{"name":"echo_echo","arguments":{{"message":"{}"}}}}}}"#,
        "x".repeat(2 << 20)
    );
    server.send_line(huge.as_bytes()).await;
    let reply = server.recv().await;
    assert_eq!(reply["error"]["code"], -32600, "{reply}");
    let message = reply["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("exceeds the limit of 1049600 bytes"),
        "{message}"
    );

    // Unknown method.
    let reply = server
        .request(json!({"jsonrpc": "2.0", "id": 9, "method": "no/such"}))
        .await;
    assert_eq!(reply["error"]["code"], -32601, "{reply}");

    // And the server still answers a real call.
    let reply = server
        .request(json!({"jsonrpc": "2.0", "id": 10, "method": "tools/call",
                        "params": {"name": "echo_echo", "arguments": {"message": "alive"}}}))
        .await;
    assert_eq!(reply["id"], 10);
    assert_eq!(reply["result"]["content"][0]["text"], "alive", "{reply}");
    let rest = server.finish().await;
    assert_eq!(rest, "", "nothing else on stdout");
}
