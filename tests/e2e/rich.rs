//! Rich results and what a running call tells the client: content blocks (images, audio,
//! embedded resources; MIME and URI refusals, the size cap, redaction), progress, log
//! notifications at the level asked for, cancellation, and `requires` in both eras.

use std::path::Path;
use std::time::{Duration, Instant};

use base64::Engine as _;
use rmcp::model::{ContentBlock, ElicitationAction, ResourceContents};
use serde_json::{Value, json};

use crate::support::{
    Human, Manifest, RawServer, assert_error, call, call_request, client, client_as, manifest,
    modern_meta, run, text, until_response,
};

const PLAINTEXT: &str = "hunter2-correct-horse-battery";

/// The media plugin (its results may embed `media://` resources), a secret to redact, and
/// `extra`.
fn media(extra: &str) -> Manifest {
    let manifest = manifest(
        &[("media", "media")],
        &format!(
            "resources = [\"media://*\"]\n\n[secrets.db]\nfrom_file = \"db.txt\"\nhosts = [\"https://db.example.org\"]\n\n{extra}"
        ),
    );
    std::fs::write(manifest.dir.path().join("db.txt"), format!("{PLAINTEXT}\n")).unwrap();
    manifest
}

fn of_method<'a>(notifications: &'a [Value], method: &str) -> Vec<&'a Value> {
    notifications
        .iter()
        .filter(|n| n["method"] == method)
        .collect()
}

#[tokio::test]
async fn content_blocks_of_each_kind() {
    let manifest = media("");
    let client = client(&manifest).await;

    let tools = client.list_all_tools().await.unwrap();
    let pixel = tools.iter().find(|t| t.name == "media_pixel").unwrap();
    assert!(pixel.output_schema.is_none(), "{pixel:?}");
    let count = tools.iter().find(|t| t.name == "media_count").unwrap();
    assert!(
        count.output_schema.is_some(),
        "a value result keeps its schema"
    );

    let result = call(&client, "media_pixel", json!({})).await;
    assert_eq!(result.is_error, Some(false), "{result:?}");
    assert!(result.structured_content.is_none());
    let [ContentBlock::Image(image)] = &result.content[..] else {
        panic!("{result:?}")
    };
    assert_eq!(image.mime_type, "image/png");
    let png = base64::engine::general_purpose::STANDARD
        .decode(&image.data)
        .unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "{png:?}");

    let result = call(&client, "media_beep", json!({})).await;
    let [ContentBlock::Audio(audio)] = &result.content[..] else {
        panic!("{result:?}")
    };
    assert_eq!(audio.mime_type, "audio/wav");
    let wav = base64::engine::general_purpose::STANDARD
        .decode(&audio.data)
        .unwrap();
    assert!(
        wav.starts_with(b"RIFF") && wav.len() == 844,
        "{}",
        wav.len()
    );

    let result = call(
        &client,
        "media_note",
        json!({"uri": "media://todo.md", "mime-type": "text/markdown; charset=utf-8", "text": "# Todo"}),
    )
    .await;
    let [ContentBlock::Resource(embedded)] = &result.content[..] else {
        panic!("{result:?}")
    };
    assert_eq!(
        embedded.resource,
        ResourceContents::TextResourceContents {
            uri: "media://todo.md".into(),
            mime_type: Some("text/markdown".into()),
            text: "# Todo".into(),
            meta: None,
        }
    );

    let result = call(
        &client,
        "media_attachment",
        json!({"uri": "media://report.pdf", "mime-type": "application/pdf", "size": 3}),
    )
    .await;
    let [ContentBlock::Resource(embedded)] = &result.content[..] else {
        panic!("{result:?}")
    };
    let ResourceContents::BlobResourceContents {
        uri,
        mime_type,
        blob,
        ..
    } = &embedded.resource
    else {
        panic!("{embedded:?}")
    };
    assert_eq!(
        (uri.as_str(), mime_type.as_deref(), blob.as_str()),
        ("media://report.pdf", Some("application/pdf"), "AAAA")
    );

    let result = call(&client, "media_mixed", json!({"caption": "a pixel"})).await;
    assert!(
        matches!(
            &result.content[..],
            [ContentBlock::Text(t), ContentBlock::Image(_), ContentBlock::Resource(_)] if t.text == "a pixel"
        ),
        "{result:?}"
    );
    assert!(result.structured_content.is_none());

    let result = call(&client, "media_maybe", json!({"why": ""})).await;
    assert!(matches!(&result.content[..], [ContentBlock::Image(_)]));
    let result = call(&client, "media_maybe", json!({"why": "no camera"})).await;
    assert_error(&result, "no camera");
}

#[tokio::test]
async fn content_refusals_size_cap_and_redaction() {
    let manifest = media("[server]\nmax_output_bytes = \"64 KiB\"\n");
    let client = client(&manifest).await;

    let result = call(
        &client,
        "media_blob",
        json!({"mime-type": "image/svg+xml", "size": 10}),
    )
    .await;
    assert_error(
        &result,
        "MIME type `image/svg+xml` is not allowed for an image",
    );

    let result = call(
        &client,
        "media_note",
        json!({"uri": "media://x", "mime-type": "application/x-sh", "text": "rm -rf /"}),
    )
    .await;
    assert_error(&result, "`application/x-sh` is not allowed");

    let result = call(
        &client,
        "media_note",
        json!({"uri": "not a uri", "mime-type": "text/plain", "text": "x"}),
    )
    .await;
    assert_error(&result, "is not an absolute URI");

    // A result may embed only URIs in the component's own namespaces.
    let result = call(
        &client,
        "media_note",
        json!({"uri": "notes://todo.md", "mime-type": "text/markdown", "text": "# Not mine"}),
    )
    .await;
    assert_error(
        &result,
        "the tool embedded the resource `notes://todo.md`, outside component `media`'s resource namespaces (media://*)",
    );
    assert!(!text(&result).contains("Not mine"), "{result:?}");

    // 100 000 bytes are about 133 KiB of base64: over the cap, so nothing is sent.
    let result = call(
        &client,
        "media_blob",
        json!({"mime-type": "image/png", "size": 100_000}),
    )
    .await;
    assert_error(&result, "server.max_output_bytes");
    let result = call(
        &client,
        "media_blob",
        json!({"mime-type": "image/png", "size": 1_000}),
    )
    .await;
    assert_eq!(result.is_error, Some(false), "under the cap: {result:?}");

    // Text parts, embedded text and embedded URIs are redacted.
    let result = call(
        &client,
        "media_mixed",
        json!({"caption": format!("the password is {PLAINTEXT}")}),
    )
    .await;
    let everything = serde_json::to_string(&result).unwrap();
    assert!(!everything.contains(PLAINTEXT), "{everything}");
    assert!(
        text(&result).contains("[REDACTED:secret:db]"),
        "{everything}"
    );
    let ContentBlock::Resource(embedded) = &result.content[2] else {
        panic!("{result:?}")
    };
    let ResourceContents::TextResourceContents { text: body, .. } = &embedded.resource else {
        panic!("{embedded:?}")
    };
    assert!(body.contains("[REDACTED:secret:db]"), "{body}");
    let result = call(
        &client,
        "media_note",
        json!({"uri": format!("media://{PLAINTEXT}"), "mime-type": "text/plain", "text": "x"}),
    )
    .await;
    assert!(
        !serde_json::to_string(&result).unwrap().contains(PLAINTEXT),
        "{result:?}"
    );
}

#[tokio::test]
async fn progress_follows_the_token_in_order_and_only_with_one() {
    let manifest = media("");
    let mut server = RawServer::start(&manifest, None);
    server.initialize().await;

    server
        .send_line(
            call_request(
                1,
                "media_count",
                json!({"steps": 5}),
                Some(json!({"progressToken": "count-1"})),
            )
            .to_string()
            .as_bytes(),
        )
        .await;
    let (notifications, response) = until_response(&mut server, 1).await;
    assert_eq!(
        response["result"]["structuredContent"]["result"],
        "counted 5"
    );
    let progress = of_method(&notifications, "notifications/progress");
    assert!(!progress.is_empty(), "{notifications:?}");
    let values: Vec<f64> = progress
        .iter()
        .map(|n| n["params"]["progress"].as_f64().unwrap())
        .collect();
    assert!(
        values.windows(2).all(|pair| pair[0] < pair[1]),
        "progress must increase: {values:?}"
    );
    assert_eq!(values.first(), Some(&1.0), "{values:?}");
    assert_eq!(values.last(), Some(&5.0), "the last report is always sent");
    for notification in &progress {
        assert_eq!(notification["params"]["progressToken"], "count-1");
        assert_eq!(notification["params"]["total"], 5.0);
    }
    assert_eq!(progress.last().unwrap()["params"]["message"], "step 5 of 5");

    // Without a token, no progress.
    server
        .send_line(
            call_request(2, "media_count", json!({"steps": 3}), None)
                .to_string()
                .as_bytes(),
        )
        .await;
    let (notifications, response) = until_response(&mut server, 2).await;
    assert_eq!(
        response["result"]["structuredContent"]["result"],
        "counted 3"
    );
    assert!(
        of_method(&notifications, "notifications/progress").is_empty(),
        "{notifications:?}"
    );
    server.finish().await;
}

#[tokio::test]
async fn log_messages_reach_the_client_at_the_level_it_asked_for() {
    let manifest = media("");
    let mut server = RawServer::start(&manifest, None);
    server.initialize().await;
    let chatter = |id: u64, meta: Option<Value>| {
        call_request(
            id,
            "media_chatter",
            json!({"message": format!("key {PLAINTEXT}")}),
            meta,
        )
        .to_string()
    };
    let levels = |notifications: &[Value]| -> Vec<String> {
        of_method(notifications, "notifications/message")
            .iter()
            .map(|n| n["params"]["level"].as_str().unwrap().to_string())
            .collect()
    };

    // Nothing until the client asks.
    server.send_line(chatter(1, None).as_bytes()).await;
    let (notifications, _) = until_response(&mut server, 1).await;
    assert!(levels(&notifications).is_empty(), "{notifications:?}");

    let reply = server
        .request(json!({"jsonrpc": "2.0", "id": 2, "method": "logging/setLevel", "params": {"level": "warning"}}))
        .await;
    assert!(reply.get("error").is_none(), "{reply}");
    server.send_line(chatter(3, None).as_bytes()).await;
    let (notifications, _) = until_response(&mut server, 3).await;
    assert_eq!(levels(&notifications), ["warning", "error"]);
    let messages = of_method(&notifications, "notifications/message");
    assert_eq!(messages[0]["params"]["logger"], "media_chatter");
    let data = messages[0]["params"]["data"].as_str().unwrap();
    assert!(
        data.starts_with("warn: key ") && data.contains("[REDACTED:secret:db]"),
        "{data}"
    );
    assert!(
        !notifications
            .iter()
            .any(|n| n.to_string().contains(PLAINTEXT))
    );

    server
        .request(json!({"jsonrpc": "2.0", "id": 4, "method": "logging/setLevel", "params": {"level": "debug"}}))
        .await;
    server.send_line(chatter(5, None).as_bytes()).await;
    let (notifications, _) = until_response(&mut server, 5).await;
    assert_eq!(
        levels(&notifications),
        ["debug", "debug", "info", "warning", "error"]
    );

    // A bounded number per call.
    server
        .send_line(
            call_request(6, "media_flood", json!({"count": 150}), None)
                .to_string()
                .as_bytes(),
        )
        .await;
    let (notifications, response) = until_response(&mut server, 6).await;
    assert_eq!(
        response["result"]["structuredContent"]["result"],
        "logged 150"
    );
    let messages = of_method(&notifications, "notifications/message");
    assert_eq!(messages.len(), 101, "100 lines and one notice");
    assert!(
        messages[100]["params"]["data"]
            .as_str()
            .unwrap()
            .contains("server log only")
    );
    server.finish().await;

    // 2026-07-28: the request's own `_meta` level; none without it.
    let mut server = RawServer::start(&manifest, None);
    let mut meta = modern_meta(json!({}));
    server
        .send_line(chatter(1, Some(meta.clone())).as_bytes())
        .await;
    let (notifications, response) = until_response(&mut server, 1).await;
    assert!(response.get("result").is_some(), "{response}");
    assert!(levels(&notifications).is_empty(), "{notifications:?}");
    meta["io.modelcontextprotocol/logLevel"] = json!("error");
    server.send_line(chatter(2, Some(meta)).as_bytes()).await;
    let (notifications, _) = until_response(&mut server, 2).await;
    assert_eq!(levels(&notifications), ["error"]);
    server.finish().await;
}

fn records(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

#[tokio::test]
async fn cancelling_a_long_call_stops_it_and_frees_its_slot() {
    let manifest = media(
        r#"[components.media.limits]
fuel = 1_000_000_000_000_000
timeout = "10m"

[stdio]
tools = ["*"]
max_concurrency = 1

[audit]
path = "audit.jsonl"
"#,
    );
    let audit = manifest.dir.path().join("audit.jsonl");
    let mut server = RawServer::start(&manifest, None);
    server.initialize().await;

    server
        .send_line(
            call_request(
                1,
                "media_spin",
                json!({}),
                Some(json!({"progressToken": "spin"})),
            )
            .to_string()
            .as_bytes(),
        )
        .await;
    // The guest is running once it reported its start.
    loop {
        let message = server.recv().await;
        assert!(message.get("id").is_none(), "spin answered: {message}");
        if message["method"] == "notifications/progress" {
            assert_eq!(message["params"]["message"], "started");
            break;
        }
    }
    server
        .send_line(
            json!({"jsonrpc": "2.0", "method": "notifications/cancelled",
                   "params": {"requestId": 1, "reason": "the user gave up"}})
            .to_string()
            .as_bytes(),
        )
        .await;
    // rmcp drops the response of a cancelled request (as the spec allows), so the proof is
    // the audit record (polled: it is written as the call ends)...
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let records = records(&audit);
        if let Some(record) = records.iter().find(|r| r["tool"] == "media_spin") {
            assert_eq!(record["outcome"], "cancelled", "{record}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the call was not stopped: {records:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // ...and its slot: with max_concurrency 1, the next call runs (retried while the
    // cancelled call's admission is being released; the spin itself would run for minutes).
    let mut id = 2;
    loop {
        server
            .send_line(
                call_request(id, "media_pixel", json!({}), None)
                    .to_string()
                    .as_bytes(),
            )
            .await;
        let (_, response) = until_response(&mut server, id).await;
        if response["result"]["isError"] == false {
            assert_eq!(response["result"]["content"][0]["type"], "image");
            break;
        }
        let text = response["result"]["content"][0]["text"].to_string();
        assert!(
            text.contains("busy") || text.contains("concurren"),
            "{response}"
        );
        assert!(
            Instant::now() < deadline,
            "the slot stayed taken: {response}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
        id += 1;
    }
    server.finish().await;
}

#[tokio::test]
async fn requires_refuses_clients_without_the_capability_in_both_eras() {
    let manifest = media(
        "[components.media.tools.pixel]\nrequires = [\"elicitation\"]\n\n[audit]\npath = \"audit.jsonl\"\n",
    );

    // 2025-11-25: a clear isError, and the tool does not run.
    let without = client_as(&manifest, Human::unreachable()).await;
    let result = call(&without, "media_pixel", json!({})).await;
    assert_error(&result, "needs the client capabilities elicitation");
    drop(without);
    let with = client_as(&manifest, Human::answering(ElicitationAction::Accept)).await;
    let result = call(&with, "media_pixel", json!({})).await;
    assert!(matches!(&result.content[..], [ContentBlock::Image(_)]));
    drop(with);

    // 2026-07-28: -32021 with data.requiredCapabilities.
    let mut server = RawServer::start(&manifest, None);
    let response = server
        .request(call_request(
            1,
            "media_pixel",
            json!({}),
            Some(modern_meta(json!({}))),
        ))
        .await;
    assert_eq!(response["error"]["code"], -32021, "{response}");
    assert_eq!(
        response["error"]["data"]["requiredCapabilities"],
        json!({"elicitation": {}})
    );
    let response = server
        .request(call_request(
            2,
            "media_pixel",
            json!({}),
            Some(modern_meta(json!({"elicitation": {}}))),
        ))
        .await;
    assert_eq!(
        response["result"]["content"][0]["type"], "image",
        "{response}"
    );
    server.finish().await;

    let refused: Vec<Value> = records(&manifest.dir.path().join("audit.jsonl"))
        .into_iter()
        .filter(|r| r["outcome"] == "missing_capability")
        .collect();
    assert_eq!(refused.len(), 2, "{refused:?}");
}

#[test]
fn unknown_required_capabilities_are_manifest_errors() {
    let manifest = media("[components.media.tools.pixel]\nrequires = [\"telepathy\"]\n");
    let (code, stdout, stderr) = run(&["check", "--manifest", manifest.path.to_str().unwrap()]);
    let stderr = format!("{stdout}{stderr}");
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains(
            "`components.media.tools.pixel.requires`: unknown client capability `telepathy`"
        ),
        "{stderr}"
    );
    assert!(
        stderr
            .contains("help: use one of the MCP client capabilities: elicitation, sampling, roots"),
        "{stderr}"
    );
    assert!(stderr.contains("warden.toml:"), "{stderr}");
}
