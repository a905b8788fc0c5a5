//! `github`: search, read and comment on GitHub issues through the REST API.
//!
//! Exports the interface `issues` with three tools: `search` (GitHub's issue search syntax),
//! `get` (one issue or pull request) and `comment` (post a comment). A non-2xx answer becomes an
//! error with the status and the API's `message`.
//!
//! Grants it needs, in the component's manifest entry:
//! - `hosts = ["https://api.github.com"]` (or the host of `GITHUB_API`);
//! - `secrets = ["github"]`: a GitHub token, sent as `authorization: Bearer <token>` (the tool
//!   only ever holds a placeholder; the host swaps in the token);
//! - optionally `env = { GITHUB_API = "https://github.example.com/api/v3", USER_AGENT = "..." }`:
//!   the API base (default `https://api.github.com`) and the `user-agent` (default
//!   `warden-github/0.1`).

use serde::Deserialize;
use serde::de::DeserializeOwned;
use warden_sdk::http::{Method, Request, percent_encode};

use crate::exports::warden_example::github::issues::{Guest, Issue, IssueSummary, PostedComment};

warden_sdk::tool!({ world: "github", export: Github });

/// The `github` world's implementation.
struct Github;

/// The API base when `GITHUB_API` is not set.
const DEFAULT_API: &str = "https://api.github.com";

/// The `user-agent` when `USER_AGENT` is not set (GitHub refuses requests without one).
const DEFAULT_USER_AGENT: &str = "warden-github/0.1";

/// The secret holding the GitHub token.
const SECRET: &str = "github";

/// The REST API version asked for.
const API_VERSION: &str = "2022-11-28";

/// The largest API response read.
const MAX_RESPONSE_BYTES: usize = 4 * 1024 * 1024;

/// How many results `search` asks for.
const SEARCH_RESULTS: u32 = 30;

impl Guest for Github {
    fn search(query: String, repo: Option<String>) -> Result<Vec<IssueSummary>, String> {
        if let Some(repo) = &repo {
            check_repo(repo)?;
        }
        let query = search_query(&query, repo.as_deref());
        let path = format!(
            "/search/issues?q={}&per_page={SEARCH_RESULTS}",
            percent_encode(&query)
        );
        let results: SearchResults = call(Method::Get, &path, None)?;
        Ok(results.items.into_iter().map(ApiIssue::summary).collect())
    }

    fn get(repo: String, number: u32) -> Result<Issue, String> {
        check_repo(&repo)?;
        let issue: ApiIssue = call(Method::Get, &format!("/repos/{repo}/issues/{number}"), None)?;
        Ok(issue.full())
    }

    fn comment(repo: String, number: u32, body: String) -> Result<PostedComment, String> {
        check_repo(&repo)?;
        let path = format!("/repos/{repo}/issues/{number}/comments");
        let payload = serde_json::json!({ "body": body }).to_string();
        let comment: ApiComment = call(Method::Post, &path, Some(payload))?;
        Ok(PostedComment {
            id: comment.id,
            author: login(comment.user),
            created_at: comment.created_at,
            url: comment.html_url,
        })
    }
}

/// Calls the API at `path` (below the base) and parses the JSON answer.
fn call<T: DeserializeOwned>(
    method: Method,
    path: &str,
    body: Option<String>,
) -> Result<T, String> {
    let base = std::env::var("GITHUB_API").unwrap_or_else(|_| DEFAULT_API.to_owned());
    let agent = std::env::var("USER_AGENT").unwrap_or_else(|_| DEFAULT_USER_AGENT.to_owned());
    let url = format!("{}{path}", base.trim_end_matches('/'));
    let mut request = Request::new(method, url.as_str())
        .header("accept", "application/vnd.github+json")
        .header("x-github-api-version", API_VERSION)
        .header("user-agent", agent)
        .header("authorization", warden_sdk::secrets::bearer(SECRET)?);
    if let Some(body) = body {
        request = request
            .header("content-type", "application/json")
            .body(body);
    }
    let response = request
        .send(MAX_RESPONSE_BYTES)
        .map_err(|error| format!("{method} {url}: {error}"))?;
    if !response.is_success() {
        return Err(format!(
            "{method} {url}: {}",
            api_error(response.status, &response.body)
        ));
    }
    serde_json::from_slice(&response.body)
        .map_err(|error| format!("{method} {url}: unexpected answer from the GitHub API: {error}"))
}

/// The error for a non-2xx answer: the status and the API's `message`, or the start of the
/// body when it has none.
fn api_error(status: u16, body: &[u8]) -> String {
    #[derive(Deserialize)]
    struct ApiError {
        message: String,
    }
    let message = match serde_json::from_slice::<ApiError>(body) {
        Ok(error) => error.message,
        Err(_) => {
            let text = String::from_utf8_lossy(body);
            let text = text.trim();
            match text.char_indices().nth(200) {
                Some((end, _)) => format!("{}…", &text[..end]),
                None => text.to_owned(),
            }
        }
    };
    format!("the GitHub API answered {status}: {message}")
}

/// Refuses a `repo` that is not `owner/name` made of letters, digits, `-`, `_` and `.`, so it
/// cannot reach another API path.
fn check_repo(repo: &str) -> Result<(), String> {
    let valid_part = |part: &str| {
        !part.is_empty()
            && part != "."
            && part != ".."
            && part
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    };
    match repo.split_once('/') {
        Some((owner, name)) if valid_part(owner) && valid_part(name) => Ok(()),
        _ => Err(format!(
            "repo `{repo}` is not `owner/name` (for example `rust-lang/rust`)"
        )),
    }
}

/// The search query sent: the caller's, limited to `repo`, and to issues unless it says which
/// kind it wants (GitHub requires one).
fn search_query(query: &str, repo: Option<&str>) -> String {
    let mut query = query.trim().to_owned();
    if let Some(repo) = repo {
        query.push_str(&format!(" repo:{repo}"));
    }
    let names_kind = query.split_whitespace().any(|term| {
        let term = term.to_ascii_lowercase();
        [
            "is:issue",
            "is:pr",
            "is:pull-request",
            "type:issue",
            "type:pr",
        ]
        .contains(&term.as_str())
    });
    if !names_kind {
        query.push_str(" is:issue");
    }
    query.trim_start().to_owned()
}

/// A user as the API gives it.
#[derive(Deserialize)]
struct User {
    login: String,
}

/// A label as the API gives it.
#[derive(Deserialize)]
struct Label {
    name: String,
}

/// An issue as the API gives it (the fields used).
#[derive(Deserialize)]
struct ApiIssue {
    number: u32,
    title: String,
    state: String,
    user: Option<User>,
    body: Option<String>,
    #[serde(default)]
    labels: Vec<Label>,
    comments: u32,
    /// Present (with links) only on pull requests.
    pull_request: Option<serde::de::IgnoredAny>,
    created_at: String,
    updated_at: String,
    closed_at: Option<String>,
    html_url: String,
    /// `https://api.github.com/repos/<owner>/<name>`.
    repository_url: String,
}

impl ApiIssue {
    fn summary(self) -> IssueSummary {
        IssueSummary {
            repo: repo_of(&self.repository_url),
            number: self.number,
            title: self.title,
            state: self.state,
            author: login(self.user),
            comments: self.comments,
            is_pull_request: self.pull_request.is_some(),
            updated_at: self.updated_at,
            url: self.html_url,
        }
    }

    fn full(self) -> Issue {
        Issue {
            repo: repo_of(&self.repository_url),
            number: self.number,
            title: self.title,
            state: self.state,
            author: login(self.user),
            body: self.body.unwrap_or_default(),
            labels: self.labels.into_iter().map(|label| label.name).collect(),
            comments: self.comments,
            is_pull_request: self.pull_request.is_some(),
            created_at: self.created_at,
            updated_at: self.updated_at,
            closed_at: self.closed_at,
            url: self.html_url,
        }
    }
}

/// The answer of `/search/issues` (the field used).
#[derive(Deserialize)]
struct SearchResults {
    items: Vec<ApiIssue>,
}

/// A created comment as the API gives it (the fields used).
#[derive(Deserialize)]
struct ApiComment {
    id: u64,
    user: Option<User>,
    created_at: String,
    html_url: String,
}

/// A user's login; GitHub shows deleted users as "ghost".
fn login(user: Option<User>) -> String {
    user.map_or_else(|| "ghost".to_owned(), |user| user.login)
}

/// `owner/name` from an API repository URL (`…/repos/<owner>/<name>`).
fn repo_of(repository_url: &str) -> String {
    repository_url
        .split_once("/repos/")
        .map_or(repository_url, |(_, repo)| repo)
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repos_must_be_owner_slash_name() {
        assert!(check_repo("rust-lang/rust").is_ok());
        assert!(check_repo("a_b/c.d-e").is_ok());
        for bad in [
            "rust", "a/b/c", "../x", "a/..", "/b", "a/", "a/b?x=1", "a b/c", "a/%2e%2e",
        ] {
            let error = check_repo(bad).unwrap_err();
            assert!(error.contains("is not `owner/name`"), "{bad}: {error}");
        }
    }

    #[test]
    fn search_queries_name_a_kind_and_a_repo() {
        assert_eq!(search_query("crash", None), "crash is:issue");
        assert_eq!(
            search_query(" crash is:open ", Some("a/b")),
            "crash is:open repo:a/b is:issue"
        );
        assert_eq!(search_query("crash IS:PR", None), "crash IS:PR");
        assert_eq!(search_query("type:issue x", None), "type:issue x");
        assert_eq!(search_query("", Some("a/b")), "repo:a/b is:issue");
    }

    #[test]
    fn api_errors_carry_status_and_message() {
        assert_eq!(
            api_error(
                404,
                br#"{"message":"Not Found","documentation_url":"https://docs"}"#
            ),
            "the GitHub API answered 404: Not Found"
        );
        assert_eq!(
            api_error(502, b"  <html>bad gateway</html>\n"),
            "the GitHub API answered 502: <html>bad gateway</html>"
        );
        let long = api_error(500, "x".repeat(300).as_bytes());
        assert!(long.ends_with(&format!("{}…", "x".repeat(200))), "{long}");
    }

    #[test]
    fn issues_parse_from_api_json() {
        let json = r#"{
            "number": 7, "title": "Crash", "state": "open",
            "user": {"login": "octocat", "id": 1}, "body": null,
            "labels": [{"name": "bug", "color": "f00"}], "comments": 2,
            "pull_request": {"url": "https://api.github.com/repos/a/b/pulls/7"},
            "created_at": "2024-01-01T00:00:00Z", "updated_at": "2024-01-02T00:00:00Z",
            "closed_at": null, "html_url": "https://github.com/a/b/pull/7",
            "repository_url": "https://api.github.com/repos/a/b", "extra": [1, 2]
        }"#;
        let issue: ApiIssue = serde_json::from_str(json).unwrap();
        let issue = issue.full();
        assert_eq!(issue.repo, "a/b");
        assert_eq!(issue.author, "octocat");
        assert_eq!(issue.body, "");
        assert_eq!(issue.labels, ["bug"]);
        assert!(issue.is_pull_request);
        assert_eq!(issue.closed_at, None);

        let json = json
            .replace(
                r#""user": {"login": "octocat", "id": 1}"#,
                r#""user": null"#,
            )
            .replace(
                r#""pull_request": {"url": "https://api.github.com/repos/a/b/pulls/7"},"#,
                "",
            );
        let summary = serde_json::from_str::<ApiIssue>(&json).unwrap().summary();
        assert_eq!(summary.author, "ghost");
        assert!(!summary.is_pull_request);
    }
}
