//! `tools/call` on the example tools: every WIT type mapping, both ways.

use serde_json::json;

use crate::support::{assert_error, call, client, manifest, text};

#[tokio::test]
async fn echo_maps_every_type_both_ways() {
    let manifest = manifest(&[("echo", "echo")], "");
    let client = client(&manifest).await;

    let result = call(&client, "echo_echo", json!({"message": "héllo ✓"})).await;
    assert_eq!(result.is_error, Some(false));
    assert_eq!(text(&result), "héllo ✓");
    assert_eq!(
        result.structured_content,
        Some(json!({"result": "héllo ✓"}))
    );

    let extremes = json!({"a": 255, "b": -128, "c": 65535, "d": -32768, "e": 4294967295u64,
                          "f": -2147483648i64, "g": u64::MAX, "h": i64::MIN});
    let result = call(&client, "echo_integers", extremes.clone()).await;
    assert_eq!(result.structured_content, Some(extremes.clone()));
    assert_eq!(text(&result), extremes.to_string());

    let result = call(
        &client,
        "echo_scalars",
        json!({"x": 1.5, "y": -2.25, "flag": true, "letter": "λ"}),
    )
    .await;
    assert_eq!(
        result.structured_content,
        Some(json!({"result": [1.5, -2.25, true, "λ"]}))
    );

    let person = json!({"name": "Ada", "age": 36, "favourite": "green",
                        "perms": ["read", "execute"], "tags": ["math"]});
    let result = call(&client, "echo_greet", json!({"person": person})).await;
    let greeting = result.structured_content.clone().unwrap();
    assert_eq!(greeting["favourite"], "green");
    assert_eq!(greeting["perms"], json!(["read", "execute"]));
    assert!(
        greeting.get("email").is_none(),
        "an absent option field is left out"
    );
    assert!(greeting["message"].as_str().unwrap().contains("Ada"));
    let mut with_email = person.clone();
    with_email["email"] = json!("ada@example.org");
    let result = call(&client, "echo_greet", json!({"person": with_email})).await;
    assert_eq!(
        result.structured_content.unwrap()["email"],
        "ada@example.org"
    );

    let result = call(&client, "echo_maybe_double", json!({"value": 21})).await;
    assert_eq!(result.structured_content, Some(json!({"result": 42})));
    let result = call(&client, "echo_maybe_double", json!({})).await;
    assert_eq!(result.structured_content, Some(json!({"result": null})));

    let result = call(&client, "echo_area", json!({"shape": {"square": 3.0}})).await;
    assert_eq!(result.structured_content, Some(json!({"result": 9.0})));
    let result = call(&client, "echo_area", json!({"shape": "point"})).await;
    assert_eq!(result.structured_content, Some(json!({"result": 0.0})));

    let result = call(
        &client,
        "echo_divide",
        json!({"numerator": 7, "denominator": 2}),
    )
    .await;
    assert_eq!(result.is_error, Some(false));
    assert_eq!(result.structured_content, Some(json!({"result": 3})));
    let result = call(
        &client,
        "echo_divide",
        json!({"numerator": 7, "denominator": 0}),
    )
    .await;
    assert_eq!(result.is_error, Some(true), "err is isError");
    assert!(result.structured_content.is_none());
    assert!(!text(&result).is_empty());

    let result = call(
        &client,
        "echo_pairs",
        json!({"items": [["a", 1], ["b", 2]]}),
    )
    .await;
    assert_eq!(
        result.structured_content,
        Some(json!({"result": ["a=1", "b=2"]}))
    );

    let result = call(&client, "echo_classify", json!({"value": -5})).await;
    assert_eq!(
        result.structured_content,
        Some(json!({"result": {"negative": 5}}))
    );
    let result = call(&client, "echo_classify", json!({"value": 0})).await;
    assert_eq!(result.structured_content, Some(json!({"result": "zero"})));

    let result = call(&client, "echo_ping", json!({})).await;
    assert_eq!(result.is_error, Some(false));
    assert!(result.content.is_empty() && result.structured_content.is_none());
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn text_tools_count_search_and_replace() {
    let manifest = manifest(&[("text", "text")], "");
    let client = client(&manifest).await;

    let result = call(&client, "text_count", json!({"text": "one two\nthree ✓\n"})).await;
    assert_eq!(
        result.structured_content,
        Some(json!({"bytes": 18, "chars": 16, "words": 4, "lines": 2}))
    );

    let result = call(
        &client,
        "text_search",
        json!({"text": "ab\ncab", "pattern": "a(b)"}),
    )
    .await;
    assert_eq!(
        result.structured_content,
        Some(json!({"result": [
            {"line": 1, "start": 0, "end": 2, "text": "ab"},
            {"line": 2, "start": 4, "end": 6, "text": "ab"}
        ]}))
    );
    let result = call(&client, "text_search", json!({"text": "x", "pattern": "("})).await;
    assert_error(&result, "regex");

    let result = call(
        &client,
        "text_replace",
        json!({"text": "2024-01-05", "pattern": r"(\d+)-(\d+)-(\d+)", "replacement": "$3/$2/$1"}),
    )
    .await;
    assert_eq!(text(&result), "05/01/2024");
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn results_carry_provenance_and_oversized_ones_are_not_sent() {
    let manifest = manifest(
        &[("echo", "echo")],
        "[server]\nmax_output_bytes = \"1 KiB\"\n",
    );
    let client = client(&manifest).await;
    let result = call(&client, "echo_echo", json!({"message": "small"})).await;
    let meta = serde_json::to_value(result.meta.as_ref().unwrap()).unwrap();
    assert_eq!(
        meta["dev.warden/provenance"],
        json!({"component": "echo", "digest": crate::support::sha256(&crate::support::plugin("echo")), "tool": "echo_echo"})
    );

    let result = call(&client, "echo_echo", json!({"message": "x".repeat(2000)})).await;
    assert_error(
        &result,
        "the limit is 1 KiB (server.max_output_bytes), so none of it is sent",
    );
    assert!(!text(&result).contains("xxxx"), "no partial output");
    assert!(result.structured_content.is_none());
    let meta = serde_json::to_value(result.meta.as_ref().unwrap()).unwrap();
    assert_eq!(meta["dev.warden/provenance"]["tool"], "echo_echo");
    client.cancel().await.unwrap();
}
