//! The governed GitHub MCP server: [`GithubServer`] is the [`Upstream`] the kernel wraps.
//!
//! This crate holds only GitHub's tools and client. Role policy, auditing, content safety and
//! the MCP protocol come from `governance`; what is GitHub-specific here is the scope: reads
//! limited to `github.read_scope` (search hits filtered), writes to the repositories of the
//! user's GitHub teams and/or `github.write_scope`, checked before anything is sent upstream.

pub mod client;
pub mod tools;

use std::{
    collections::BTreeMap,
    time::{Duration, Instant},
};

use base64::Engine;
use governance::{
    config::GithubConfig,
    identity::Caller,
    policy::{Decision, PatternError, Patterns, in_scope},
    server::{Authorization, ToolError, ToolOutput, ToolSpec, Upstream},
};
use serde_json::{Value, json};
use tokio::sync::Mutex;

use crate::{
    client::GithubClient,
    tools::{
        Call, encode, encode_path, trim_commit, trim_pr, trim_pr_summary, trim_repo, truncate,
    },
};

/// How long the user's team repositories are trusted before they are read again.
const TEAM_CACHE_TTL: Duration = Duration::from_secs(300);
/// Most teams, and pages of repositories per team, read for the write scope.
const MAX_TEAMS: usize = 50;
const MAX_TEAM_REPO_PAGES: u32 = 5;

/// The GitHub upstream.
pub struct GithubServer {
    /// Built at the first call: loading the system's root certificates costs milliseconds and
    /// memory that a server which only lists its tools never needs.
    client: tokio::sync::OnceCell<GithubClient>,
    token: Option<String>,
    config: GithubConfig,
    read_scope: Patterns,
    write_scope: Patterns,
    specs: Vec<ToolSpec>,
    team_repos: Mutex<Option<(Instant, Vec<String>)>>,
}

impl GithubServer {
    /// Builds the server from its config section and a token (from `GITHUB_TOKEN`).
    pub fn new(config: GithubConfig, token: Option<String>) -> Result<Self, String> {
        let patterns = |globs: &[String], rule: &str| {
            Patterns::new(globs, rule).map_err(|e: PatternError| e.to_string())
        };
        client::check_api_url(&config.api_url)?;
        Ok(Self {
            client: tokio::sync::OnceCell::new(),
            token,
            read_scope: patterns(&config.read_scope, "github.read_scope")?,
            write_scope: patterns(&config.write_scope, "github.write_scope")?,
            config,
            specs: tools::specs(),
            team_repos: Mutex::new(None),
        })
    }

    async fn client(&self) -> Result<&GithubClient, ToolError> {
        self.client
            .get_or_try_init(|| async { GithubClient::new(&self.config, self.token.clone()) })
            .await
            .map_err(ToolError::Unavailable)
    }

    /// `owner/repo` of every repository of the user's GitHub teams (cached for five minutes).
    async fn team_repos(&self) -> Result<Vec<String>, ToolError> {
        let client = self.client().await?;
        let mut cache = self.team_repos.lock().await;
        if let Some((at, repos)) = cache.as_ref()
            && at.elapsed() < TEAM_CACHE_TTL
        {
            return Ok(repos.clone());
        }
        let teams = client
            .get("/user/teams?per_page=100", "your team list")
            .await?;
        let mut repos = Vec::new();
        for team in teams.as_array().into_iter().flatten().take(MAX_TEAMS) {
            let (Some(org), Some(slug)) = (
                team["organization"]["login"].as_str(),
                team["slug"].as_str(),
            ) else {
                continue;
            };
            for page in 1..=MAX_TEAM_REPO_PAGES {
                let path = format!(
                    "/orgs/{}/teams/{}/repos?per_page=100&page={page}",
                    encode(org),
                    encode(slug)
                );
                let list = client.get(&path, "your team's repositories").await?;
                let items = list.as_array().cloned().unwrap_or_default();
                repos.extend(
                    items
                        .iter()
                        .filter_map(|r| r["full_name"].as_str().map(str::to_owned)),
                );
                if items.len() < 100 {
                    break;
                }
            }
        }
        repos.sort();
        repos.dedup();
        *cache = Some((Instant::now(), repos.clone()));
        Ok(repos)
    }

    fn read_decision(&self, full_name: &str) -> Decision {
        in_scope(full_name, &self.read_scope, &[], "github.read_scope", true)
    }
}

impl Upstream for GithubServer {
    type Call = Call;
    // The scope checks establish nothing the request needs beyond the call itself.
    type Plan = Call;

    fn server_name(&self) -> &'static str {
        "github-mcp"
    }

    fn upstream_name(&self) -> &'static str {
        "github"
    }

    fn tools(&self) -> &[ToolSpec] {
        &self.specs
    }

    fn instructions(&self) -> String {
        format!(
            "GitHub at {} under the company's policy. Changes reach a repository only through \
             github_create_pull_request on repositories in your write scope; there is no push, \
             merge or delete. Every call is audited.",
            self.config.api_url
        )
    }

    fn parse(&self, tool: &str, args: Value) -> Result<Call, ToolError> {
        tools::parse(tool, args)
    }

    async fn authorize(
        &self,
        call: Call,
        _caller: &Caller,
    ) -> Result<Authorization<Call>, ToolError> {
        let Some((owner, repo)) = call.repo() else {
            return Ok(Authorization::unscoped(BTreeMap::new(), call));
        };
        let full_name = format!("{owner}/{repo}");
        let mut resources = BTreeMap::from([("repo".to_owned(), Value::from(full_name.clone()))]);
        match &call {
            Call::GetPullRequest(a) => {
                resources.insert("pull_number".into(), a.pull_number.into());
            }
            Call::AddComment(a) => {
                resources.insert("issue_number".into(), a.issue_number.into());
            }
            _ => {}
        }
        let read = self.read_decision(&full_name);
        if !read.allowed {
            return Ok(Authorization::denied(read, resources));
        }
        if !call.is_write() {
            return Ok(Authorization::allow(&read.rule, resources, call));
        }
        let teams = if self.config.write_scope_from_teams && !self.write_scope.matches(&full_name) {
            self.team_repos().await.map_err(|e| {
                ToolError::Unavailable(format!(
                    "the write scope could not be checked, so nothing was sent: reading your \
                     GitHub teams failed: {e}"
                ))
            })?
        } else {
            Vec::new()
        };
        let mut decision = in_scope(
            &full_name,
            &self.write_scope,
            &teams,
            "github.write_scope",
            false,
        );
        if !decision.allowed {
            decision.reason = format!(
                "{full_name} is not one of your GitHub teams' repositories nor in the configured \
                 github.write_scope; ask a platform admin to add it"
            );
            return Ok(Authorization::denied(decision, resources));
        }
        Ok(Authorization::allow(&decision.rule, resources, call))
    }

    async fn execute(&self, call: Call, _caller: &Caller) -> Result<ToolOutput, ToolError> {
        let c = self.client().await?;
        match call {
            Call::SearchRepositories(a) => {
                let path = format!(
                    "/search/repositories?q={}&per_page={}&page={}",
                    encode(&a.query),
                    a.per_page,
                    a.page
                );
                let found = c.get(&path, "the repository search").await?;
                let items = found["items"].as_array().cloned().unwrap_or_default();
                let returned = items.len();
                let visible: Vec<Value> = items
                    .iter()
                    .filter(|r| {
                        self.read_decision(r["full_name"].as_str().unwrap_or(""))
                            .allowed
                    })
                    .map(trim_repo)
                    .collect();
                Ok(ToolOutput::new(json!({
                    "total_count": found["total_count"],
                    "filtered_out_of_scope": returned - visible.len(),
                    "repositories": visible,
                })))
            }
            Call::GetFileContents(a) => {
                let mut path = format!(
                    "/repos/{}/{}/contents/{}",
                    encode(&a.owner),
                    encode(&a.repo),
                    encode_path(&a.path)
                );
                if let Some(r) = &a.git_ref {
                    path.push_str(&format!("?ref={}", encode(r)));
                }
                let what = format!("{}/{}:{}", a.owner, a.repo, a.path);
                let found = c.get(&path, &what).await?;
                Ok(ToolOutput::new(file_or_directory(&found)).with_resource("path", a.path))
            }
            Call::ListPullRequests(a) => {
                let mut path = format!(
                    "/repos/{}/{}/pulls?per_page={}&page={}",
                    encode(&a.owner),
                    encode(&a.repo),
                    a.per_page,
                    a.page
                );
                if let Some(state) = a.state {
                    let state = serde_json::to_value(state).unwrap_or_default();
                    path.push_str(&format!("&state={}", state.as_str().unwrap_or("open")));
                }
                for (key, value) in [("base", &a.base), ("head", &a.head)] {
                    if let Some(v) = value {
                        path.push_str(&format!("&{key}={}", encode(v)));
                    }
                }
                let found = c.get(&path, "the pull request list").await?;
                let prs: Vec<Value> = found
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(trim_pr_summary)
                    .collect();
                Ok(ToolOutput::new(
                    json!({"count": prs.len(), "page": a.page, "pull_requests": prs}),
                ))
            }
            Call::GetPullRequest(a) => {
                let path = format!(
                    "/repos/{}/{}/pulls/{}",
                    encode(&a.owner),
                    encode(&a.repo),
                    a.pull_number
                );
                let what = format!("pull request {}/{}#{}", a.owner, a.repo, a.pull_number);
                Ok(ToolOutput::new(trim_pr(&c.get(&path, &what).await?)))
            }
            Call::CreatePullRequest(a) => {
                let path = format!("/repos/{}/{}/pulls", encode(&a.owner), encode(&a.repo));
                let mut body =
                    json!({"title": a.title, "head": a.head, "base": a.base, "draft": a.draft});
                if let Some(text) = &a.body {
                    body["body"] = text.clone().into();
                }
                let created = c.post(&path, &body, "the new pull request").await?;
                let number = created["number"].clone();
                Ok(ToolOutput::new(json!({
                    "number": number, "url": created["html_url"], "state": created["state"],
                    "title": created["title"], "draft": created["draft"],
                }))
                .with_resource("pull_number", number))
            }
            Call::AddComment(a) => {
                let path = format!(
                    "/repos/{}/{}/issues/{}/comments",
                    encode(&a.owner),
                    encode(&a.repo),
                    a.issue_number
                );
                let what = format!("a comment on {}/{}#{}", a.owner, a.repo, a.issue_number);
                let created = c.post(&path, &json!({"body": a.body}), &what).await?;
                Ok(ToolOutput::new(json!({
                    "id": created["id"], "url": created["html_url"], "created_at": created["created_at"],
                }))
                .with_resource("comment_id", created["id"].clone()))
            }
            Call::ListCommits(a) => {
                let mut path = format!(
                    "/repos/{}/{}/commits?per_page={}&page={}",
                    encode(&a.owner),
                    encode(&a.repo),
                    a.per_page,
                    a.page
                );
                for (key, value) in [
                    ("sha", &a.sha),
                    ("path", &a.path),
                    ("author", &a.author),
                    ("since", &a.since),
                ] {
                    if let Some(v) = value {
                        path.push_str(&format!("&{key}={}", encode(v)));
                    }
                }
                let found = c.get(&path, "the commit list").await?;
                let commits: Vec<Value> = found
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(trim_commit)
                    .collect();
                Ok(ToolOutput::new(
                    json!({"count": commits.len(), "page": a.page, "commits": commits}),
                ))
            }
        }
    }

    async fn whoami(&self) -> Option<String> {
        self.token.as_ref()?;
        let me = self
            .client()
            .await
            .ok()?
            .get("/user", "your GitHub account")
            .await
            .ok()?;
        me["email"]
            .as_str()
            .or_else(|| me["login"].as_str())
            .map(str::to_owned)
    }
}

/// A contents answer, as text (or a note for binary and over-large files) or a listing.
fn file_or_directory(found: &Value) -> Value {
    if let Some(entries) = found.as_array() {
        let listing: Vec<Value> = entries
            .iter()
            .map(|e| json!({"name": e["name"], "path": e["path"], "type": e["type"], "size": e["size"]}))
            .collect();
        return json!({"type": "dir", "entries": listing});
    }
    let size = found["size"].as_u64().unwrap_or(0);
    let base =
        json!({"type": found["type"], "path": found["path"], "sha": found["sha"], "size": size});
    let decoded = match found["encoding"].as_str() {
        Some("base64") => base64::engine::general_purpose::STANDARD
            .decode(
                found["content"]
                    .as_str()
                    .unwrap_or("")
                    .replace(['\n', '\r'], ""),
            )
            .ok(),
        _ => None,
    };
    let mut out = base;
    match decoded.map(String::from_utf8) {
        Some(Ok(text)) => {
            let (content, truncated) = truncate(&text);
            out["content"] = content.into();
            out["truncated"] = truncated.into();
        }
        Some(Err(_)) => out["note"] = "binary file: content not shown".into(),
        None => {
            out["note"] =
                "content not available through this API (file too large or not a file)".into()
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base64_of(text: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(text)
    }

    #[test]
    fn contents_become_text_listing_or_a_note() {
        let source = "fn main() {}\n// ünïcode\n";
        // GitHub wraps base64 at 60 columns with real newlines.
        let encoded = base64_of(source);
        let wrapped = format!("{}\n{}", &encoded[..20], &encoded[20..]);
        let text = file_or_directory(
            &json!({"type": "file", "encoding": "base64", "content": wrapped, "size": 25}),
        );
        assert_eq!(text["content"], source);
        assert_eq!(text["truncated"], false);
        let cases = [
            (
                json!({"type": "file", "encoding": "base64", "content": "//79/A==", "size": 4}),
                "note",
            ),
            (
                json!({"type": "file", "encoding": "none", "content": "", "size": 5_000_000}),
                "note",
            ),
            (
                json!([{"name": "src", "path": "src", "type": "dir", "size": 0}]),
                "entries",
            ),
        ];
        for (found, key) in cases {
            let out = file_or_directory(&found);
            assert!(out.get(key).is_some(), "{found} -> {out}");
        }
        let big = file_or_directory(
            &json!({"type": "file", "encoding": "base64", "content": base64_of(&"x".repeat(150_000))}),
        );
        assert_eq!(big["truncated"], true);
        assert_eq!(
            big["content"].as_str().unwrap().len(),
            tools::MAX_TEXT_BYTES
        );
    }
}
