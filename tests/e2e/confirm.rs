//! Confirmation over stdio: a high-impact tool asks the human (an elicitation) before it runs;
//! declined, cancelled or unaskable means the tool does not run.

use rmcp::model::ElicitationAction;
use serde_json::json;

use crate::support::{Human, assert_error, call, client_as, manifest_text, plugin, sha256, text};

/// `files` with a writable folder: `files_write` is destructive, so it confirms by default.
fn writable(extra: &str) -> crate::support::Manifest {
    let (files, echo) = (plugin("files"), plugin("echo"));
    let manifest = manifest_text(&format!(
        "[components.files]\nsource = {:?}\nsha256 = \"{}\"\ndirs = [{{ host = \"out\", guest = \"/out\", access = \"read-write\" }}]\n\n[components.echo]\nsource = {:?}\nsha256 = \"{}\"\n\n{extra}",
        files.display().to_string(),
        sha256(&files),
        echo.display().to_string(),
        sha256(&echo),
    ));
    std::fs::create_dir(manifest.dir.path().join("out")).unwrap();
    manifest
}

#[tokio::test]
async fn an_accepted_confirmation_runs_the_tool_after_asking_once() {
    let manifest = writable("");
    let human = Human::answering(ElicitationAction::Accept);
    let client = client_as(&manifest, human.clone()).await;
    let result = call(
        &client,
        "files_write",
        json!({"path": "/out/a.txt", "content": "yes \u{202E}txt.exe"}),
    )
    .await;
    assert_eq!(result.is_error, Some(false), "{result:?}");
    assert_eq!(
        std::fs::read_to_string(manifest.dir.path().join("out/a.txt")).unwrap(),
        "yes \u{202E}txt.exe"
    );
    let questions = human.questions();
    assert_eq!(questions.len(), 1, "{questions:?}");
    let question = &questions[0];
    assert!(question.contains("`files_write`"), "{question}");
    assert!(question.contains("component `files`"), "{question}");
    assert!(question.contains("/out/a.txt"), "{question}");
    // The bidirectional override is shown, not obeyed.
    assert!(question.contains("\\u{202E}"), "{question}");
    assert!(!question.contains('\u{202E}'), "{question}");
    // A tool without write access does not ask.
    let result = call(&client, "echo_echo", json!({"message": "hi"})).await;
    assert_eq!(text(&result), "hi");
    assert_eq!(human.questions().len(), 1);
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn declined_cancelled_or_unaskable_means_not_run() {
    for (human, needle) in [
        (Human::answering(ElicitationAction::Decline), "declined"),
        (Human::answering(ElicitationAction::Cancel), "cancelled"),
        (Human::unreachable(), "cannot ask"),
    ] {
        let manifest = writable("");
        let client = client_as(&manifest, human.clone()).await;
        let result = call(
            &client,
            "files_write",
            json!({"path": "/out/b.txt", "content": "no"}),
        )
        .await;
        assert_error(&result, needle);
        assert!(!manifest.dir.path().join("out/b.txt").exists(), "{needle}");
        client.cancel().await.unwrap();
    }
}

#[tokio::test]
async fn confirm_is_set_per_tool_and_secrets_never_reach_the_prompt() {
    let manifest = writable(
        "[components.files.tools.write]\nconfirm = false\n[components.echo.tools.echo]\nconfirm = true\n[secrets.db]\nfrom_file = \"db.txt\"\nhosts = [\"https://db.example.org\"]\n",
    );
    std::fs::write(
        manifest.dir.path().join("db.txt"),
        "hunter2-correct-horse\n",
    )
    .unwrap();
    let human = Human::answering(ElicitationAction::Accept);
    let client = client_as(&manifest, human.clone()).await;
    let result = call(
        &client,
        "files_write",
        json!({"path": "/out/c.txt", "content": "quiet"}),
    )
    .await;
    assert_eq!(result.is_error, Some(false), "{result:?}");
    assert!(human.questions().is_empty());
    let result = call(
        &client,
        "echo_echo",
        json!({"message": "password hunter2-correct-horse"}),
    )
    .await;
    assert_eq!(result.is_error, Some(false), "{result:?}");
    let questions = human.questions();
    assert_eq!(questions.len(), 1);
    assert!(!questions[0].contains("hunter2"), "{questions:?}");
    assert!(questions[0].contains("[REDACTED"), "{questions:?}");
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn invalid_arguments_are_refused_without_asking() {
    let manifest = writable("");
    let human = Human::answering(ElicitationAction::Accept);
    let client = client_as(&manifest, human.clone()).await;
    let result = call(&client, "files_write", json!({"path": 5})).await;
    assert_error(&result, "invalid arguments");
    assert!(human.questions().is_empty());
    client.cancel().await.unwrap();
}
