//! Questions a tool asks the human (`warden:tool/elicitation`): granted per component, framed
//! with who asks, checked against the form; `elicitation/create` in 2025-11-25 and
//! `input_required` rounds with a sealed, single-use `requestState` in 2026-07-28.

use rmcp::model::ElicitationAction;
use serde_json::{Value, json};

use crate::support::{
    Human, Manifest, RawServer, assert_error, call, call_request, client_as, manifest, modern_meta,
    text, until_response,
};

/// The media plugin with `extra` TOML in its table, and an audit file.
fn media(extra: &str) -> Manifest {
    manifest(
        &[("media", "media")],
        &format!("{extra}\n[audit]\npath = \"audit.jsonl\"\n"),
    )
}

fn audit(manifest: &Manifest) -> Vec<Value> {
    std::fs::read_to_string(manifest.dir.path().join("audit.jsonl"))
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

/// A 2026-07-28 call of `tool` from a client that can answer elicitations.
fn modern_call(id: u64, tool: &str, extra: Value) -> Value {
    let mut request = call_request(
        id,
        tool,
        json!({}),
        Some(modern_meta(json!({"elicitation": {}}))),
    );
    if let Value::Object(extra) = extra {
        for (key, value) in extra {
            request["params"][key] = value;
        }
    }
    request
}

async fn send(server: &mut RawServer, request: Value) -> Value {
    let id = request["id"].as_u64().unwrap();
    server.send_line(request.to_string().as_bytes()).await;
    until_response(server, id).await.1
}

fn accept(content: Value) -> Value {
    json!({"action": "accept", "content": content})
}

#[tokio::test]
async fn legacy_questions_are_elicitation_requests_whose_answers_reach_the_tool() {
    let manifest = media("elicitation = true");
    let human = Human::filling(json!({"name": "Ada", "colour": "teal"}));
    let client = client_as(&manifest, human.clone()).await;
    let result = call(&client, "media_two_questions", json!({})).await;
    assert_eq!(text(&result), "Ada likes teal", "{result:?}");
    let asked = human.questions();
    assert_eq!(asked.len(), 2, "{asked:?}");
    assert!(
        asked[0].starts_with("The tool `media_two_questions` (component `media`, sha256 "),
        "{asked:?}"
    );
    assert!(
        asked[0].ends_with("asks:\n\nStep 1: what is your name?"),
        "{asked:?}"
    );
    client.cancel().await.unwrap();

    // An answer that does not fit the form never reaches the tool.
    let client = client_as(&manifest, Human::filling(json!({"name": 5}))).await;
    let result = call(&client, "media_greet_asking", json!({})).await;
    assert_error(&result, "the human's answer does not match the form");
    client.cancel().await.unwrap();

    let client = client_as(&manifest, Human::answering(ElicitationAction::Decline)).await;
    let result = call(&client, "media_greet_asking", json!({})).await;
    assert_eq!(text(&result), "no answer");
    client.cancel().await.unwrap();

    let client = client_as(&manifest, Human::unreachable()).await;
    let result = call(&client, "media_greet_asking", json!({})).await;
    assert_error(&result, "the client cannot answer questions");
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn without_the_grant_nothing_is_asked() {
    let manifest = media("");
    let human = Human::filling(json!({"name": "Ada"}));
    let client = client_as(&manifest, human.clone()).await;
    let result = call(&client, "media_greet_asking", json!({})).await;
    assert_error(&result, "asking the human is not granted to this component");
    assert!(human.questions().is_empty());
    client.cancel().await.unwrap();
    let records = audit(&manifest);
    assert_eq!(records[0]["outcome"], "denied:elicitation", "{records:?}");
    assert_eq!(records[0]["denials"][0]["target"], "name");
}

#[tokio::test]
async fn modern_questions_are_rounds_of_input_required_with_a_sealed_state() {
    let manifest = media("elicitation = true");
    let mut server = RawServer::start(&manifest, None);

    // Round 1: the tool stops at its first question.
    let first = send(
        &mut server,
        modern_call(1, "media_two_questions", json!({})),
    )
    .await;
    let result = &first["result"];
    assert_eq!(result["resultType"], "input_required", "{first}");
    let request = &result["inputRequests"]["name"];
    assert_eq!(request["method"], "elicitation/create", "{first}");
    assert!(
        request["params"]["message"]
            .as_str()
            .unwrap()
            .contains("Step 1: what is your name?"),
        "{first}"
    );
    assert_eq!(
        request["params"]["requestedSchema"]["required"],
        json!(["name"])
    );
    let state1 = result["requestState"].as_str().unwrap().to_string();

    // Round 2: the first answer, and the next question, with a new state.
    let second = send(
        &mut server,
        modern_call(
            2,
            "media_two_questions",
            json!({"inputResponses": {"name": accept(json!({"name": "Ada"}))}, "requestState": state1}),
        ),
    )
    .await;
    let result = &second["result"];
    assert_eq!(result["resultType"], "input_required", "{second}");
    assert!(result["inputRequests"]["colour"].is_object(), "{second}");
    let state2 = result["requestState"].as_str().unwrap().to_string();
    assert_ne!(state1, state2);

    // Round 3: both answers (the first from the state) make the result.
    let third = modern_call(
        3,
        "media_two_questions",
        json!({"inputResponses": {"colour": accept(json!({"colour": "teal"}))}, "requestState": state2}),
    );
    let done = send(&mut server, third.clone()).await;
    assert_eq!(done["result"]["resultType"], "complete", "{done}");
    assert_eq!(done["result"]["content"][0]["text"], "Ada likes teal");

    // A state is good for one retry, and only unaltered.
    let mut replay = third.clone();
    replay["id"] = json!(4);
    let replayed = send(&mut server, replay).await;
    assert_eq!(replayed["error"]["code"], -32602, "{replayed}");
    assert!(
        replayed["error"]["message"]
            .as_str()
            .unwrap()
            .contains("used already")
    );
    let tampered = send(
        &mut server,
        modern_call(
            5,
            "media_two_questions",
            json!({"requestState": format!("{}x", &state2[..state2.len() - 1])}),
        ),
    )
    .await;
    assert_eq!(tampered["error"]["code"], -32602, "{tampered}");

    // Answers need no state (unknown keys are ignored), but must be elicitation results.
    let unasked = send(
        &mut server,
        modern_call(
            6,
            "media_greet_asking",
            json!({"inputResponses": {"name": accept(json!({"name": "Bo"})), "extra": accept(json!({}))}}),
        ),
    )
    .await;
    assert_eq!(
        unasked["result"]["content"][0]["text"], "Hello, Bo!",
        "{unasked}"
    );
    let malformed = send(
        &mut server,
        modern_call(
            7,
            "media_greet_asking",
            json!({"inputResponses": {"name": 12345}}),
        ),
    )
    .await;
    assert_eq!(malformed["error"]["code"], -32602, "{malformed}");

    // A client that cannot answer is not asked.
    let unable = send(
        &mut server,
        call_request(
            8,
            "media_greet_asking",
            json!({}),
            Some(modern_meta(json!({}))),
        ),
    )
    .await;
    assert_eq!(unable["result"]["isError"], true, "{unable}");
    assert!(
        unable["result"]["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("the client cannot answer questions"),
        "{unable}"
    );
    server.finish().await;

    let outcomes: Vec<Value> = audit(&manifest)
        .iter()
        .map(|record| record["outcome"].clone())
        .collect();
    assert_eq!(
        outcomes,
        json!([
            "input_required",
            "input_required",
            "ok",
            "invalid_args",
            "invalid_args",
            "ok",
            "invalid_args",
            "tool_error"
        ])
        .as_array()
        .unwrap()
        .clone()
    );
}

#[tokio::test]
async fn a_confirmed_call_is_not_confirmed_again_when_its_tool_asks() {
    let manifest =
        media("elicitation = true\n\n[components.media.tools.greet-asking]\nconfirm = true\n");
    let mut server = RawServer::start(&manifest, None);
    let confirm = send(&mut server, modern_call(1, "media_greet_asking", json!({}))).await;
    let state = confirm["result"]["requestState"].as_str().unwrap();
    assert!(
        confirm["result"]["inputRequests"]["dev.warden/confirm"].is_object(),
        "{confirm}"
    );
    let question = send(
        &mut server,
        modern_call(
            2,
            "media_greet_asking",
            json!({"inputResponses": {"dev.warden/confirm": {"action": "accept"}}, "requestState": state}),
        ),
    )
    .await;
    let state = question["result"]["requestState"].as_str().unwrap();
    assert!(
        question["result"]["inputRequests"]["name"].is_object(),
        "{question}"
    );
    let done = send(
        &mut server,
        modern_call(
            3,
            "media_greet_asking",
            json!({"inputResponses": {"name": accept(json!({"name": "Ada"}))}, "requestState": state}),
        ),
    )
    .await;
    assert_eq!(
        done["result"]["content"][0]["text"], "Hello, Ada!",
        "{done}"
    );
    server.finish().await;
}
