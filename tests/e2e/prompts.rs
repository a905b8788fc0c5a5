//! Prompts come only from pinned files; arguments are validated and substituted as data.

use rmcp::model::GetPromptRequestParams;
use rmcp::service::ServiceError;
use serde_json::{Value, json};

use crate::support::{client, manifest_text, root, run, sha256};

fn prompt_manifest() -> crate::support::Manifest {
    let file = root().join("examples/prompts/review.toml");
    manifest_text(&format!(
        "[prompts.review]\nfile = {:?}\nsha256 = \"{}\"\n",
        file.display().to_string(),
        sha256(&file)
    ))
}

fn arguments(value: Value) -> serde_json::Map<String, Value> {
    let Value::Object(map) = value else {
        unreachable!()
    };
    map
}

#[tokio::test]
async fn pinned_prompts_are_listed_and_rendered_with_arguments_as_data() {
    let manifest = prompt_manifest();
    let client = client(&manifest).await;
    let prompts = client.list_all_prompts().await.unwrap();
    assert_eq!(prompts.len(), 1);
    let listed = serde_json::to_value(&prompts[0]).unwrap();
    assert_eq!(listed["name"], "review");
    assert_eq!(
        listed["arguments"][0],
        json!({"name": "change", "description": "The change to review: a diff or a description.", "required": true})
    );

    let mut request = GetPromptRequestParams::new("review");
    request.arguments = Some(arguments(
        json!({"change": "added {{focus}} handling", "focus": "secrets"}),
    ));
    let result = client.get_prompt(request).await.unwrap();
    let rendered = serde_json::to_value(&result).unwrap();
    let text = rendered["messages"][0]["content"]["text"].as_str().unwrap();
    assert!(text.contains("Look first at: secrets."), "{text}");
    assert!(
        text.contains("added {{focus}} handling"),
        "a value is data, never re-read as a template: {text}"
    );
    assert_eq!(
        rendered["messages"][1]["content"]["resource"]["uri"],
        "file:///notes/sandbox.md"
    );
    assert_eq!(rendered["messages"][2]["content"]["mimeType"], "image/png");
    let png = std::fs::read(root().join("examples/prompts/badge.png")).unwrap();
    use base64::Engine as _;
    assert_eq!(
        rendered["messages"][2]["content"]["data"],
        base64::engine::general_purpose::STANDARD.encode(png)
    );

    for (args, expected) in [
        (json!({}), "needs the argument `change`"),
        (
            json!({"change": "x", "extra": "y"}),
            "has no argument `extra`",
        ),
        (json!({"change": "bell\u{7}"}), "holds control characters"),
        (json!({"change": "x".repeat(20_000)}), "is over 16384 bytes"),
        (json!({"change": 5}), "must be a string"),
    ] {
        let mut request = GetPromptRequestParams::new("review");
        request.arguments = Some(arguments(args));
        match client.get_prompt(request).await.unwrap_err() {
            ServiceError::McpError(error) => {
                assert_eq!(error.code.0, -32602);
                assert!(
                    error.message.contains(expected),
                    "{expected}: {}",
                    error.message
                );
            }
            other => panic!("{other:?}"),
        }
    }
    let error = client
        .get_prompt(GetPromptRequestParams::new("nope"))
        .await
        .unwrap_err();
    assert!(
        matches!(error, ServiceError::McpError(ref e) if e.code.0 == -32602),
        "{error:?}"
    );
    client.cancel().await.unwrap();
}

#[test]
fn a_changed_or_invalid_prompt_file_refuses_the_start() {
    let file = root().join("examples/prompts/review.toml");
    let changed = manifest_text(&format!(
        "[prompts.review]\nfile = {:?}\nsha256 = \"{}\"\n",
        file.display().to_string(),
        "0".repeat(64)
    ));
    let (code, stdout, _) = run(&["check", "--manifest", changed.path.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(
        stdout.contains("`prompts.review.sha256`: sha256 mismatch"),
        "{stdout}"
    );

    let bad = manifest_text("");
    let prompt = bad.dir.path().join("p.toml");
    std::fs::write(
        &prompt,
        "description = \"x\"\n[[messages]]\nrole = \"user\"\ntext = \"{{undeclared}}\"\n",
    )
    .unwrap();
    std::fs::write(
        &bad.path,
        format!(
            "[prompts.p]\nfile = \"p.toml\"\nsha256 = \"{}\"\n",
            sha256(&prompt)
        ),
    )
    .unwrap();
    let (code, stdout, _) = run(&["check", "--manifest", bad.path.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(
        stdout.contains("`{{undeclared}}` names no declared argument"),
        "{stdout}"
    );
}

#[tokio::test]
async fn completion_requests_get_an_empty_list() {
    let client = client(&prompt_manifest()).await;
    let capabilities = client.peer_info().unwrap().capabilities.clone();
    assert!(capabilities.completions.is_some(), "{capabilities:?}");
    let completion = client
        .complete_prompt_argument("review", "focus", "sec", None)
        .await
        .unwrap();
    assert!(completion.values.is_empty(), "{completion:?}");
    client.cancel().await.unwrap();
}
