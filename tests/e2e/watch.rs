//! `serve --watch`: a change the lock approves is reloaded and announced to listening
//! clients (legacy sessions and 2026-07-28 subscriptions); a change it does not approve is
//! refused and audited while the old catalog keeps serving.

use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rmcp::model::{CallToolRequestParams, ServerNotification, SubscriptionFilter};
use rmcp::service::{
    ClientLifecycleMode, ClientServiceExt, NotificationContext, RunningService, Subscription,
};
use rmcp::transport::{ConfigureCommandExt, TokioChildProcess};
use rmcp::{ClientHandler, RoleClient, ServiceExt};
use serde_json::json;
use tokio::process::Command;
use tokio::sync::Notify;

use crate::support::{Manifest, WARDEN, manifest_text, plugin, run, sha256, text};

/// A client that counts `notifications/tools/list_changed`.
#[derive(Clone, Default)]
struct Listener {
    changed: Arc<Notify>,
}

impl ClientHandler for Listener {
    async fn on_tool_list_changed(&self, _context: NotificationContext<RoleClient>) {
        self.changed.notify_one();
    }
}

/// How long a reload may take to show up (a compile of the components on a busy machine).
const PATIENCE: Duration = Duration::from_secs(60);

fn component(id: &str, name: &str) -> String {
    let path = plugin(name);
    format!(
        "[components.{id}]\nsource = {:?}\nsha256 = \"{}\"\n\n",
        path.display().to_string(),
        sha256(&path)
    )
}

/// The `echo` and `text` components: the catalog each test grows into.
fn echo_and_text() -> String {
    format!("{}{}", component("echo", "echo"), component("text", "text"))
}

const AUDIT: &str = "[audit]\npath = \"audit.jsonl\"\n\n";

/// A manifest serving `echo`, with an audit file, and its lock.
fn locked_echo() -> Manifest {
    let manifest = manifest_text(&format!("{AUDIT}{}", component("echo", "echo")));
    lock(&manifest);
    manifest
}

fn lock(manifest: &Manifest) {
    let (code, stdout, stderr) = run(&["lock", "--manifest", manifest.path.to_str().unwrap()]);
    assert_eq!(code, 0, "{stdout}{stderr}");
}

fn watching(manifest: &Manifest) -> Command {
    Command::new(WARDEN).configure(|cmd| {
        cmd.arg("serve")
            .arg("--watch")
            .arg("--manifest")
            .arg(&manifest.path)
            .env("WARDEN_LOG", "warn")
            .stderr(Stdio::null());
    })
}

/// The audit records of `manifest`'s audit file whose outcome is `outcome`.
fn records(manifest: &Manifest, outcome: &str) -> Vec<serde_json::Value> {
    let file = manifest.dir.path().join("audit.jsonl");
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap())
        .filter(|record| record["outcome"] == outcome)
        .collect()
}

/// Waits until the audit file has a record with `outcome`, and returns it.
async fn awaited(manifest: &Manifest, outcome: &str) -> serde_json::Value {
    let start = Instant::now();
    loop {
        if let Some(record) = records(manifest, outcome).pop() {
            return record;
        }
        assert!(
            start.elapsed() < PATIENCE,
            "no `{outcome}` audit record appeared"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn tool_names<S: rmcp::Service<RoleClient>>(
    client: &RunningService<RoleClient, S>,
) -> Vec<String> {
    let mut names: Vec<String> = client
        .list_all_tools()
        .await
        .unwrap()
        .into_iter()
        .map(|tool| tool.name.to_string())
        .collect();
    names.sort();
    names
}

#[test]
fn watching_needs_a_lock() {
    let manifest = manifest_text(&component("echo", "echo"));
    let (code, _, stderr) = run(&[
        "serve",
        "--watch",
        "--manifest",
        manifest.path.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("warden.lock"), "{stderr}");
    assert!(stderr.contains("warden lock --manifest"), "{stderr}");
}

#[tokio::test]
async fn an_unlocked_change_is_refused_and_a_locked_one_is_reloaded_and_announced() {
    let manifest = locked_echo();
    let listener = Listener::default();
    let client = listener
        .clone()
        .serve(TokioChildProcess::new(watching(&manifest)).unwrap())
        .await
        .unwrap();
    let capabilities = client.peer_info().unwrap().capabilities.clone();
    assert_eq!(
        capabilities.tools.and_then(|tools| tools.list_changed),
        Some(true),
        "a watched catalog announces list changes"
    );
    let before = tool_names(&client).await;
    assert!(
        before.iter().all(|name| name.starts_with("echo_")),
        "{before:?}"
    );

    // A new component the lock does not know: refused, and the old catalog keeps serving.
    std::fs::write(&manifest.path, format!("{AUDIT}{}", echo_and_text())).unwrap();
    let refused = awaited(&manifest, "reload_rejected").await;
    let reason = refused["reason"].as_str().unwrap();
    assert!(
        reason.contains("text_"),
        "the refusal shows the new tools: {reason}"
    );
    assert!(reason.contains("warden lock --manifest"), "{reason}");
    assert_eq!(refused["client"], "operator");
    assert_eq!(tool_names(&client).await, before);
    let echoed = client
        .call_tool(
            CallToolRequestParams::new("echo_echo").with_arguments(
                json!({"message": "still here"})
                    .as_object()
                    .unwrap()
                    .clone(),
            ),
        )
        .await
        .unwrap();
    assert_eq!(text(&echoed), "still here");

    // The operator approves it: the lock changes, the catalog is reloaded, the client told.
    lock(&manifest);
    tokio::time::timeout(PATIENCE, listener.changed.notified())
        .await
        .expect("notifications/tools/list_changed after the reload");
    let after = tool_names(&client).await;
    assert!(
        after.iter().any(|name| name.starts_with("text_")),
        "{after:?}"
    );
    assert!(after.contains(&"echo_echo".to_string()), "{after:?}");
    let reloaded = awaited(&manifest, "catalog_reloaded").await;
    assert!(
        reloaded["reason"]
            .as_str()
            .unwrap()
            .contains("tool list changed: true"),
        "{reloaded}"
    );

    // A change only a restart can apply is refused too.
    let before = tool_names(&client).await;
    let rejected_so_far = records(&manifest, "reload_rejected").len();
    std::fs::write(
        &manifest.path,
        format!(
            "{AUDIT}[server]\nmax_concurrent_calls = 3\n\n{}",
            echo_and_text()
        ),
    )
    .unwrap();
    let start = Instant::now();
    while records(&manifest, "reload_rejected").len() == rejected_so_far {
        assert!(
            start.elapsed() < PATIENCE,
            "the [server] change was not refused"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let refused = records(&manifest, "reload_rejected").pop().unwrap();
    assert!(
        refused["reason"]
            .as_str()
            .unwrap()
            .contains("[server] changed: it applies only at start"),
        "{refused}"
    );
    assert_eq!(tool_names(&client).await, before);
    client.cancel().await.unwrap();

    let audit = manifest.dir.path().join("audit.jsonl");
    let (code, stdout, _) = run(&["audit", "verify", audit.to_str().unwrap()]);
    assert_eq!(code, 0, "{stdout}");
}

#[tokio::test]
async fn a_2026_subscription_hears_of_a_reload() {
    let manifest = locked_echo();
    let client = modern_client(&manifest).await;
    let mut subscription = client
        .listen(SubscriptionFilter::builder().tools_list_changed().build())
        .await
        .unwrap();
    assert_eq!(subscription.acknowledged().tools_list_changed, Some(true));

    let heard = approve_and_hear(
        &manifest,
        &format!("{AUDIT}{}", echo_and_text()),
        &mut subscription,
    )
    .await;
    assert!(
        matches!(heard, ServerNotification::ToolListChangedNotification(_)),
        "{heard:?}"
    );
    let names = tool_names(&client).await;
    assert!(
        names.iter().any(|name| name.starts_with("text_")),
        "{names:?}"
    );
    awaited(&manifest, "catalog_reloaded").await;
}

/// Writes `served` as the manifest, approves it with `warden lock`, and returns the next
/// notice on `subscription`.
async fn approve_and_hear(
    manifest: &Manifest,
    served: &str,
    subscription: &mut Subscription,
) -> ServerNotification {
    std::fs::write(&manifest.path, served).unwrap();
    lock(manifest);
    tokio::time::timeout(PATIENCE, subscription.next())
        .await
        .expect("a notification on the subscription")
        .unwrap()
        .expect("the subscription is open")
}

/// A 2026-07-28 client of `serve --watch` on `manifest`.
async fn modern_client(manifest: &Manifest) -> RunningService<RoleClient, ()> {
    ().serve_with_lifecycle(
        TokioChildProcess::new(watching(manifest)).unwrap(),
        ClientLifecycleMode::Discover {
            preferred_versions: vec![rmcp::model::ProtocolVersion::V_2026_07_28],
        },
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn a_reload_that_adds_resources_is_announced() {
    let manifest = locked_echo();
    let client = modern_client(&manifest).await;
    let mut subscription = client
        .listen(
            SubscriptionFilter::builder()
                .resources_list_changed()
                .build(),
        )
        .await
        .unwrap();
    assert_eq!(
        subscription.acknowledged().resources_list_changed,
        Some(true)
    );

    let served = format!(
        "{AUDIT}{}{}resources = [\"rogue://*\"]\n",
        component("echo", "echo"),
        component("rogue", "rogue")
    );
    let heard = approve_and_hear(&manifest, &served, &mut subscription).await;
    assert!(
        matches!(
            heard,
            ServerNotification::ResourceListChangedNotification(_)
        ),
        "{heard:?}"
    );
    let listed = client.list_all_resources().await.unwrap();
    assert!(
        listed
            .iter()
            .any(|resource| resource.uri == "rogue://a.txt"),
        "{listed:?}"
    );
    awaited(&manifest, "catalog_reloaded").await;
}
