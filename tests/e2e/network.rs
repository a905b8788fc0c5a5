//! Outgoing HTTP through the send hook, against real HTTP servers on 127.0.0.1: grants by
//! scheme, host and port; no way to loopback through a granted name; secret tokens swapped
//! only in headers to the secret's hosts; no secret value leaves for anywhere else; responses
//! scrubbed and bounded; redirects not followed.

use base64::Engine as _;
use serde_json::json;

use crate::httpd::{Recorded, TestServer};
use crate::support::{call, client, manifest_text, plugin, sha256, text};

const PLAINTEXT: &str = "s3cr3t-plaintext-value";

/// Answers `/big` with 2000 bytes, `/redirect` with a 302 to `location`, and anything else
/// with the request's headers, one per line (a server that reflects what it was sent).
fn reflecting(location: String) -> impl Fn(&Recorded) -> crate::httpd::Answer + Send + 'static {
    move |request: &Recorded| match request.target.as_str() {
        "/big" => (200, vec![], "x".repeat(2000)),
        "/redirect" => (
            302,
            vec![("location".into(), location.clone())],
            String::new(),
        ),
        _ => {
            let lines: Vec<String> = request
                .headers
                .iter()
                .map(|(n, v)| format!("{n}: {v}"))
                .collect();
            (
                200,
                vec![(
                    "x-seen".into(),
                    request.header("authorization").unwrap_or("-").into(),
                )],
                lines.join("\n"),
            )
        }
    }
}

#[tokio::test]
async fn requests_reach_only_granted_hosts_and_secrets_only_their_own() {
    let other = TestServer::start(reflecting(String::new()));
    let home = TestServer::start(reflecting(format!("{}/followed", other.origin())));
    let probe = plugin("probe");
    let manifest = manifest_text(&format!(
        r#"[components.probe]
source = {source:?}
sha256 = "{digest}"
hosts = ["{home}", "{other}", "http://localhost:{home_port}"]
secrets = ["token"]
http = {{ max_response_bytes = "1 KiB", first_byte_timeout = "5s" }}

[secrets.token]
from_file = "token.txt"
hosts = ["{home}"]
"#,
        source = probe.display().to_string(),
        digest = sha256(&probe),
        home = home.origin(),
        other = other.origin(),
        home_port = home.port,
    ));
    std::fs::write(
        manifest.dir.path().join("token.txt"),
        format!("{PLAINTEXT}\n"),
    )
    .unwrap();
    let client = client(&manifest).await;
    let home_url = |path: &str| format!("{}{path}", home.origin());
    let other_url = |path: &str| format!("{}{path}", other.origin());
    let refused = |result: &rmcp::model::CallToolResult| {
        assert_eq!(result.is_error, Some(true), "must be refused: {result:?}");
    };

    // A granted destination works.
    let result = call(
        &client,
        "probe_http_get",
        json!({"url": home_url("/hello")}),
    )
    .await;
    assert!(text(&result).starts_with("200 "), "{result:?}");

    // Not granted: another port, the metadata address, a granted name that resolves to loopback.
    refused(
        &call(
            &client,
            "probe_http_get",
            json!({"url": "http://127.0.0.1:9/"}),
        )
        .await,
    );
    refused(
        &call(
            &client,
            "probe_http_get",
            json!({"url": "http://169.254.169.254/latest/meta-data/"}),
        )
        .await,
    );
    let before = home.requests().len();
    let result = call(
        &client,
        "probe_http_get",
        json!({"url": format!("http://localhost:{}/via-name", home.port)}),
    )
    .await;
    refused(&result);
    assert_eq!(
        home.requests().len(),
        before,
        "a granted name must not reach loopback"
    );

    // The secret's token becomes the plaintext in a header to its host; the reflected
    // plaintext is scrubbed from the response before the tool sees it.
    let result = call(
        &client,
        "probe_secret_in_header",
        json!({"url": home_url("/echo"), "secret": "token", "header": "authorization"}),
    )
    .await;
    assert!(text(&result).starts_with("200 "), "{result:?}");
    let arrived = home.requests().last().unwrap().clone();
    assert_eq!(
        arrived.header("authorization"),
        Some(format!("Bearer {PLAINTEXT}").as_str())
    );
    assert!(
        !text(&result).contains(PLAINTEXT),
        "scrubbed: {}",
        text(&result)
    );
    assert!(
        text(&result).contains("[redacted secret token]"),
        "{}",
        text(&result)
    );

    // The token anywhere else, or to another destination: refused, and nothing arrives.
    refused(
        &call(
            &client,
            "probe_secret_in_header",
            json!({"url": other_url("/echo"), "secret": "token", "header": "authorization"}),
        )
        .await,
    );
    refused(
        &call(
            &client,
            "probe_secret_in_url",
            json!({"url": home_url("/echo"), "secret": "token"}),
        )
        .await,
    );
    refused(
        &call(
            &client,
            "probe_secret_in_body",
            json!({"url": home_url("/echo"), "secret": "token"}),
        )
        .await,
    );

    // The plaintext itself, supplied by the caller, may not go anywhere but the secret's hosts.
    refused(
        &call(
            &client,
            "probe_http_get_with_header",
            json!({"url": other_url("/"), "name": "x-leak", "value": PLAINTEXT}),
        )
        .await,
    );
    let encoded = percent_encode(PLAINTEXT);
    refused(
        &call(
            &client,
            "probe_http_get",
            json!({"url": other_url(&format!("/?q={encoded}"))}),
        )
        .await,
    );
    let b64 = base64::engine::general_purpose::STANDARD.encode(PLAINTEXT);
    refused(
        &call(
            &client,
            "probe_http_post",
            json!({"url": other_url("/"), "body": b64}),
        )
        .await,
    );

    // Redirects are returned, not followed.
    let result = call(
        &client,
        "probe_http_get",
        json!({"url": home_url("/redirect")}),
    )
    .await;
    assert!(text(&result).starts_with("302"), "{result:?}");

    // The response size cap.
    refused(&call(&client, "probe_http_get", json!({"url": home_url("/big")})).await);

    assert!(
        other.requests().is_empty(),
        "nothing refused may arrive: {:?}",
        other.requests()
    );

    // Still serving.
    let result = call(
        &client,
        "probe_http_get",
        json!({"url": home_url("/again")}),
    )
    .await;
    assert!(text(&result).starts_with("200 "));
    client.cancel().await.unwrap();
}

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// A GitHub API stand-in: checks the bearer token, serves one issue, search and comments.
fn github_api(request: &Recorded) -> crate::httpd::Answer {
    if request.header("authorization") != Some(&format!("Bearer {PLAINTEXT}")) {
        return (
            401,
            vec![],
            json!({"message": "Bad credentials"}).to_string(),
        );
    }
    let issue = json!({
        "number": 7, "title": "Sandbox all the things", "state": "open",
        "user": {"login": "ada"}, "body": "Please.", "labels": [{"name": "security"}],
        "comments": 1, "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-02T00:00:00Z",
        "closed_at": null, "html_url": "https://github.example/acme/warden/issues/7",
        "repository_url": "https://api.github.example/repos/acme/warden"
    });
    match (
        request.method.as_str(),
        request.target.split('?').next().unwrap(),
    ) {
        ("GET", "/repos/acme/warden/issues/7") => (200, vec![], issue.to_string()),
        ("GET", "/search/issues") => (
            200,
            vec![],
            json!({"total_count": 1, "items": [issue]}).to_string(),
        ),
        ("POST", "/repos/acme/warden/issues/7/comments") => (
            201,
            vec![],
            json!({"id": 99, "user": {"login": "warden-bot"}, "created_at": "2026-01-03T00:00:00Z",
                   "html_url": "https://github.example/acme/warden/issues/7#issuecomment-99"})
            .to_string(),
        ),
        _ => (404, vec![], json!({"message": "Not Found"}).to_string()),
    }
}

#[tokio::test]
async fn github_tools_work_with_a_secret_handle_against_a_local_api() {
    let api = TestServer::start(github_api);
    let github = plugin("github");
    let manifest = manifest_text(&format!(
        r#"[components.github]
source = {source:?}
sha256 = "{digest}"
hosts = ["{api}"]
secrets = ["github"]
env = {{ GITHUB_API = "{api}", USER_AGENT = "warden-test" }}

[components.github.tools."issues.get"]
read_only = true

[secrets.github]
from_env = "WARDEN_TEST_GITHUB_TOKEN"
hosts = ["{api}"]
"#,
        source = github.display().to_string(),
        digest = sha256(&github),
        api = api.origin(),
    ));
    let command = tokio::process::Command::new(crate::support::WARDEN);
    let client = crate::support::client_with(
        &manifest,
        command,
        &[("WARDEN_TEST_GITHUB_TOKEN", PLAINTEXT)],
    )
    .await;

    let result = call(
        &client,
        "github_get",
        json!({"repo": "acme/warden", "number": 7}),
    )
    .await;
    assert_eq!(result.is_error, Some(false), "{result:?}");
    let issue = result.structured_content.unwrap();
    assert_eq!(issue["title"], "Sandbox all the things");
    assert_eq!(issue["author"], "ada");

    let result = call(
        &client,
        "github_search",
        json!({"query": "sandbox", "repo": "acme/warden"}),
    )
    .await;
    assert_eq!(result.structured_content.unwrap()["result"][0]["number"], 7);

    let result = call(
        &client,
        "github_comment",
        json!({"repo": "acme/warden", "number": 7, "body": "On it."}),
    )
    .await;
    assert_eq!(result.is_error, Some(false), "{result:?}");

    let requests = api.requests();
    assert_eq!(requests.len(), 3);
    for request in &requests {
        assert_eq!(
            request.header("authorization"),
            Some(format!("Bearer {PLAINTEXT}").as_str())
        );
        assert_eq!(request.header("user-agent"), Some("warden-test"));
    }
    assert!(requests[2].text().contains("On it."));

    let tools = client.list_all_tools().await.unwrap();
    let hints = |name: &str| {
        serde_json::to_value(
            tools
                .iter()
                .find(|t| t.name == name)
                .unwrap()
                .annotations
                .as_ref()
                .unwrap(),
        )
        .unwrap()
    };
    assert_eq!(
        hints("github_comment"),
        json!({"readOnlyHint": false, "destructiveHint": true, "idempotentHint": false, "openWorldHint": true})
    );
    assert_eq!(hints("github_get")["readOnlyHint"], true);
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn slow_servers_hit_the_components_http_timeouts() {
    let slow = TestServer::start(|_| {
        std::thread::sleep(std::time::Duration::from_millis(1500));
        (200, vec![], "late".into())
    });
    let probe = plugin("probe");
    let manifest = manifest_text(&format!(
        "[components.probe]\nsource = {:?}\nsha256 = \"{}\"\nhosts = [\"{}\"]\nhttp = {{ first_byte_timeout = \"300ms\" }}\n",
        probe.display().to_string(),
        sha256(&probe),
        slow.origin()
    ));
    let client = client(&manifest).await;
    let result = call(
        &client,
        "probe_http_get",
        json!({"url": format!("{}/", slow.origin())}),
    )
    .await;
    assert_eq!(result.is_error, Some(true), "{result:?}");
    assert!(
        !text(&result).contains("late"),
        "the host gave up before the server answered"
    );
    client.cancel().await.unwrap();
}
