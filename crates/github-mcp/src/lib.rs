//! The governed GitHub MCP server: [`GithubServer`] is the [`Upstream`] the kernel wraps.
//!
//! This crate holds only GitHub's tools and client. Role policy, auditing, content safety and
//! the MCP protocol come from `governance`; what is GitHub-specific here is the scope: reads
//! limited to `github.read_scope` (search hits filtered), writes to the repositories of the
//! user's GitHub teams and/or `github.write_scope`, checked before anything is sent upstream.

pub mod client;
pub mod config;
pub mod names;
pub mod tools;

use std::{
    collections::BTreeMap,
    time::{Duration, Instant},
};

use base64::Engine;
use config::GithubConfig;
use governance::{
    flow::{Resource, Visibility},
    identity::Caller,
    policy::{Decision, PatternError, Patterns, in_scope},
    server::budget,
    server::{Authorization, ToolError, ToolOutput, ToolSpec, Upstream},
};
use serde_json::{Value, json};
use tokio::sync::Mutex;

use crate::{
    client::GithubClient,
    names::{FullName, Owner},
    tools::{
        Call, MAX_CONTENT_BYTES, MAX_ENTRY_BYTES, MAX_LISTING_BYTES, cut_text, item, trim_commit,
        trim_issue, trim_pr, trim_pr_summary, trim_repo, untrusted_texts,
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
    /// The owner part of each read-scope glob: which `org:` / `user:` search qualifiers may
    /// name.
    read_owners: Patterns,
    write_scope: Patterns,
    specs: Vec<ToolSpec>,
    team_repos: Mutex<Option<(Instant, Vec<String>)>>,
    /// Each repository's visibility as GitHub last answered it, for the session's flow record.
    visibility: Mutex<BTreeMap<String, Visibility>>,
}

impl GithubServer {
    /// Builds the server from its config section and a token (from `GITHUB_TOKEN`).
    pub fn new(config: GithubConfig, token: Option<String>) -> Result<Self, String> {
        let patterns = |globs: &[String], rule: &str| {
            Patterns::new(globs, rule).map_err(|e: PatternError| e.to_string())
        };
        client::check_api_url(&config.api_url)?;
        let owner_globs: Vec<String> = config
            .read_scope
            .iter()
            .map(|glob| glob.split('/').next().unwrap_or_default().to_owned())
            .collect();
        Ok(Self {
            client: tokio::sync::OnceCell::new(),
            token,
            read_scope: patterns(&config.read_scope, "github.read_scope")?,
            read_owners: patterns(&owner_globs, "github.read_scope")?,
            write_scope: patterns(&config.write_scope, "github.write_scope")?,
            config,
            specs: tools::specs(),
            team_repos: Mutex::new(None),
            visibility: Mutex::new(BTreeMap::new()),
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
            .get(
                client.url(&["user", "teams"], &[("per_page", "100")])?,
                "your team list",
            )
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
                let page = page.to_string();
                let url = client.url(
                    &["orgs", org, "teams", slug, "repos"],
                    &[("per_page", "100"), ("page", &page)],
                )?;
                let list = client.get(url, "your team's repositories").await?;
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

    /// Whether anyone can read `repo` (`None`: GitHub did not say), asked once per process.
    /// `internal` repositories count as private: only the enterprise reads them.
    async fn visibility(&self, repo: &FullName) -> Option<Visibility> {
        let key = flow_id(repo);
        if let Some(known) = self.visibility.lock().await.get(&key) {
            return Some(*known);
        }
        let client = self.client().await.ok()?;
        let url = client
            .url(&["repos", repo.owner.as_str(), repo.repo.as_str()], &[])
            .ok()?;
        let found = client.get(url, &format!("repository {key}")).await.ok()?;
        let public = match (found["visibility"].as_str(), found["private"].as_bool()) {
            (Some(visibility), _) => visibility == "public",
            (None, Some(private)) => !private,
            (None, None) => return None,
        };
        let visibility = if public {
            Visibility::Public
        } else {
            Visibility::Private
        };
        self.visibility.lock().await.insert(key, visibility);
        Some(visibility)
    }

    /// `repo` as the flow record names it; a visibility GitHub did not tell is `unknown`'s
    /// stricter reading for the use (a read: private; a write's target: public).
    async fn flow_resource(&self, repo: &FullName, unknown: Visibility) -> Resource {
        Resource {
            id: flow_id(repo),
            visibility: self.visibility(repo).await.unwrap_or(unknown),
        }
    }

    /// One pull request as GitHub answers it, and how errors name it.
    async fn pull_request(
        &self,
        c: &GithubClient,
        owner: &Owner,
        repo: &names::RepoName,
        number: u64,
    ) -> Result<(Value, String), ToolError> {
        let number_text = number.to_string();
        let url = c.url(
            &[
                "repos",
                owner.as_str(),
                repo.as_str(),
                "pulls",
                &number_text,
            ],
            &[],
        )?;
        let what = format!("pull request {owner}/{repo}#{number}");
        Ok((c.get(url, &what).await?, what))
    }

    fn read_decision(&self, repo: &FullName) -> Decision {
        in_scope(
            &repo.to_string(),
            &self.read_scope,
            &[],
            "github.read_scope",
            true,
        )
    }

    /// Whether a search hit may be shown: its `full_name` must be a well-formed name in the
    /// read scope (a malformed one is hidden: fail closed).
    fn hit_visible(&self, hit: &Value) -> bool {
        hit["full_name"]
            .as_str()
            .and_then(|name| FullName::parse(name).ok())
            .is_some_and(|repo| self.read_decision(&repo).allowed)
    }

    /// A search query's `repo:`, `org:` and `user:` qualifiers checked against the read scope:
    /// a query must not reach past it (hits outside it are filtered too, but their count and
    /// ranking would still tell about repositories it hides).
    fn search_decision(&self, query: &str) -> Decision {
        if self.read_scope.is_empty() {
            return Decision::allow("github.read_scope (unset: open)");
        }
        for (qualifier, value) in scope_qualifiers(query) {
            let inside = match qualifier.as_str() {
                "repo" => {
                    FullName::parse(&value).is_ok_and(|repo| self.read_decision(&repo).allowed)
                }
                _ => value
                    .parse::<Owner>()
                    .is_ok_and(|owner| self.read_owners.matches(owner.as_str())),
            };
            if !inside {
                return Decision::deny(
                    "github.read_scope",
                    format!(
                        "the query's `{qualifier}:{value}` reaches outside github.read_scope; \
                         search within it (e.g. with `org:` an owner of the read scope) or ask \
                         a platform admin to widen it"
                    ),
                );
            }
        }
        Decision::allow("github.read_scope")
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
        let Some(repo) = call.repo() else {
            if let Call::SearchRepositories(a) = &call {
                let decision = self.search_decision(&a.query);
                let resources = BTreeMap::new();
                if !decision.allowed {
                    return Ok(Authorization::denied(decision, resources));
                }
                return Ok(Authorization::allow(&decision.rule, resources, call));
            }
            return Ok(Authorization::unscoped(BTreeMap::new(), call));
        };
        // One spelling for the scope check, the audit key and (in execute) the URL.
        let full_name = repo.to_string();
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
        let read = self.read_decision(&repo);
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
        let target = self.flow_resource(&repo, Visibility::Public).await;
        Ok(Authorization::allow(&decision.rule, resources, call).writing_to(target))
    }

    async fn execute(&self, call: Call, _caller: &Caller) -> Result<ToolOutput, ToolError> {
        let read_repo = call.repo().filter(|_| !call.is_write());
        let output = self.run(call).await?;
        Ok(match read_repo {
            Some(repo) => output.reading(self.flow_resource(&repo, Visibility::Private).await),
            None => output,
        })
    }

    async fn whoami(&self) -> Option<String> {
        self.token.as_ref()?;
        let client = self.client().await.ok()?;
        let me = client
            .get(client.url(&["user"], &[]).ok()?, "your GitHub account")
            .await
            .ok()?;
        me["email"]
            .as_str()
            .or_else(|| me["login"].as_str())
            .map(str::to_owned)
    }
}

impl GithubServer {
    /// Sends an authorized call to GitHub and trims the answer.
    async fn run(&self, call: Call) -> Result<ToolOutput, ToolError> {
        let c = self.client().await?;
        match call {
            Call::SearchRepositories(a) => {
                let (per_page, page) = (a.per_page.to_string(), a.page.to_string());
                let url = c.url(
                    &["search", "repositories"],
                    &[("q", &a.query), ("per_page", &per_page), ("page", &page)],
                )?;
                let found = c.get(url, "the repository search").await?;
                let items = found["items"].as_array().cloned().unwrap_or_default();
                let visible: Vec<Value> = items
                    .iter()
                    .filter(|hit| self.hit_visible(hit))
                    .map(trim_repo)
                    .collect();
                let mut out = json!({
                    "count": visible.len(),
                    "page": a.page,
                    "repositories": visible,
                });
                // GitHub's total, and how many hits were hidden, count repositories outside
                // the read scope: with `in:readme` or `in:description` that would tell what
                // they hold. Shown only when there is no read scope.
                if self.read_scope.is_empty() {
                    out["total_count"] = found["total_count"].clone();
                } else {
                    out["scope"] = "hits outside github.read_scope are left out".into();
                }
                Ok(ToolOutput::new(out))
            }
            Call::GetFileContents(a) => {
                let mut segments = vec!["repos", a.owner.as_str(), a.repo.as_str(), "contents"];
                segments.extend(a.path.segments());
                if a.path.is_root() {
                    // `contents/` with an empty `{path}`: the root, as GitHub's description routes it.
                    segments.push("");
                }
                let query: Vec<(&str, &str)> =
                    a.git_ref.iter().map(|r| ("ref", r.as_str())).collect();
                let url = c.url(&segments, &query)?;
                let what = format!("{}/{}:{}", a.owner, a.repo, a.path);
                let found = c.get(url, &what).await?;
                Ok(ToolOutput::new(file_or_directory(&found, a.offset))
                    .with_resource("path", a.path.as_str()))
            }
            Call::ListPullRequests(a) => {
                let (per_page, page) = (a.per_page.to_string(), a.page.to_string());
                let mut query = vec![("per_page", per_page.as_str()), ("page", page.as_str())];
                if let Some(state) = a.state {
                    query.push(("state", state.as_str()));
                }
                if let Some(base) = &a.base {
                    query.push(("base", base.as_str()));
                }
                if let Some(head) = &a.head {
                    query.push(("head", head.as_str()));
                }
                let url = c.url(
                    &["repos", a.owner.as_str(), a.repo.as_str(), "pulls"],
                    &query,
                )?;
                let found = c.get(url, "the pull request list").await?;
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
                let (found, _) = self
                    .pull_request(c, &a.owner, &a.repo, a.pull_number)
                    .await?;
                let pr = trim_pr(&found, a.body_offset);
                let untrusted = untrusted_texts(&pr);
                Ok(ToolOutput::new(pr).with_untrusted(untrusted))
            }
            Call::ListPullRequestFiles(a) => {
                let (number, per_page, page) = (
                    a.pull_number.to_string(),
                    a.per_page.to_string(),
                    a.page.to_string(),
                );
                let url = c.url(
                    &[
                        "repos",
                        a.owner.as_str(),
                        a.repo.as_str(),
                        "pulls",
                        &number,
                        "files",
                    ],
                    &[("per_page", &per_page), ("page", &page)],
                )?;
                // Who wrote the patches: an outsider's code (and its comments) is their text.
                let (pr, pr_name) = self
                    .pull_request(c, &a.owner, &a.repo, a.pull_number)
                    .await?;
                let author = tools::pr_author(&pr);
                let what = format!("the files of {pr_name}");
                let found = c.get(url, &what).await?;
                let on_page = found.as_array().map_or(0, Vec::len);
                let mut files: Vec<Value> = found
                    .as_array()
                    .into_iter()
                    .flatten()
                    .skip(a.skip as usize)
                    .map(tools::trim_pr_file)
                    .collect();
                let mark_room = if author.trusted {
                    0
                } else {
                    governance::server::budget::MARK_OVERHEAD_BYTES
                };
                let dropped = governance::server::budget::fit_list(
                    &mut files,
                    tools::MAX_FILES_BYTES,
                    mark_room,
                );
                let shown_to = a.skip as usize + files.len();
                let next = if dropped > 0 {
                    Some(json!({"page": a.page, "skip": shown_to}))
                } else if on_page == a.per_page as usize {
                    Some(json!({"page": a.page + 1, "skip": 0}))
                } else {
                    None
                };
                let mut out = json!({
                    "author": author.login, "author_association": author.association,
                    "count": files.len(), "page": a.page, "skip": a.skip, "files": files,
                    "truncated": dropped > 0,
                });
                if let Some(next) = next {
                    out["next"] = next;
                }
                let untrusted = tools::untrusted_patches(&out, &author);
                Ok(ToolOutput::new(out)
                    .with_resource("pull_number", a.pull_number)
                    .with_untrusted(untrusted))
            }
            Call::GetIssue(a) => {
                let number = a.issue_number.to_string();
                let issue_path = [
                    "repos",
                    a.owner.as_str(),
                    a.repo.as_str(),
                    "issues",
                    &number,
                ];
                let what = format!("issue {}/{}#{}", a.owner, a.repo, a.issue_number);
                let issue = c.get(c.url(&issue_path, &[])?, &what).await?;
                let comments = if a.comments == 0 || issue["comments"].as_u64() == Some(0) {
                    Value::Array(Vec::new())
                } else {
                    // From comment `comments_from` (1-based): one page of `comments` when it
                    // starts a page of that size, else the page of 100 that holds it.
                    let skip = (a.comments_from - 1) as usize;
                    let (per_page, page, skip) = if skip.is_multiple_of(a.comments as usize) {
                        (a.comments, skip / a.comments as usize + 1, 0)
                    } else {
                        (100, skip / 100 + 1, skip % 100)
                    };
                    let (per_page, page) = (per_page.to_string(), page.to_string());
                    let mut comments_path = issue_path.to_vec();
                    comments_path.push("comments");
                    let mut query = vec![("per_page", per_page.as_str())];
                    if page != "1" {
                        query.push(("page", page.as_str()));
                    }
                    let url = c.url(&comments_path, &query)?;
                    let page = c.get(url, &format!("the comments of {what}")).await?;
                    page.as_array()
                        .into_iter()
                        .flatten()
                        .skip(skip)
                        .take(a.comments as usize)
                        .cloned()
                        .collect()
                };
                let trimmed = trim_issue(&issue, a.body_offset, &comments, a.comments_from);
                let untrusted = untrusted_texts(&trimmed);
                Ok(ToolOutput::new(trimmed)
                    .with_resource("issue_number", a.issue_number)
                    .with_untrusted(untrusted))
            }
            Call::CreatePullRequest(a) => {
                let url = c.url(&["repos", a.owner.as_str(), a.repo.as_str(), "pulls"], &[])?;
                let mut body = json!({
                    "title": a.title, "head": a.head.as_str(), "base": a.base.as_str(),
                    "draft": a.draft,
                });
                if let Some(text) = &a.body {
                    body["body"] = text.clone().into();
                }
                let created = c.post(url, &body, "the new pull request").await?;
                let number = created["number"].clone();
                Ok(ToolOutput::new(json!({
                    "number": number, "url": created["html_url"], "state": created["state"],
                    "title": created["title"], "draft": created["draft"],
                }))
                .with_resource("pull_number", number))
            }
            Call::AddComment(a) => {
                let number = a.issue_number.to_string();
                let url = c.url(
                    &[
                        "repos",
                        a.owner.as_str(),
                        a.repo.as_str(),
                        "issues",
                        &number,
                        "comments",
                    ],
                    &[],
                )?;
                let what = format!("a comment on {}/{}#{}", a.owner, a.repo, a.issue_number);
                let created = c.post(url, &json!({"body": a.body}), &what).await?;
                Ok(ToolOutput::new(json!({
                    "id": created["id"], "url": created["html_url"], "created_at": created["created_at"],
                }))
                .with_resource("comment_id", created["id"].clone()))
            }
            Call::ListCommits(a) => {
                let (per_page, page) = (a.per_page.to_string(), a.page.to_string());
                let mut query = vec![("per_page", per_page.as_str()), ("page", page.as_str())];
                for (key, value) in [
                    ("sha", a.sha.as_ref().map(|v| v.as_str())),
                    ("path", a.path.as_ref().map(|v| v.as_str())),
                    ("author", a.author.as_ref().map(|v| v.as_str())),
                    ("since", a.since.as_ref().map(|v| v.as_str())),
                ] {
                    if let Some(value) = value {
                        query.push((key, value));
                    }
                }
                let url = c.url(
                    &["repos", a.owner.as_str(), a.repo.as_str(), "commits"],
                    &query,
                )?;
                let found = c.get(url, "the commit list").await?;
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
}

/// `repo` as the session's flow record names it: GitHub's names are case-insensitive, so one
/// repository has one name however a call spells it.
fn flow_id(repo: &FullName) -> String {
    format!("github:{}", repo.to_string().to_ascii_lowercase())
}

/// The `repo:`, `org:`, `user:` (and `owner:`) qualifiers of a search query that could widen
/// it, as `(qualifier, value)`, qualifier lowercased. Read generously, since GitHub's own
/// tokenizer is not ours: a qualifier counts wherever the character before it does not make it
/// part of a word (a letter, digit or `_`), in any case, with a quoted value; only a negation
/// (`-repo:x` at the start of a token) narrows and is left out. A qualifier without a value
/// yields an empty value, which no scope allows.
pub fn scope_qualifiers(query: &str) -> Vec<(String, String)> {
    let lower = query.to_ascii_lowercase();
    let chars: Vec<(usize, char)> = lower.char_indices().collect();
    let before = |at: usize, back: usize| -> Option<char> {
        let i = chars.iter().position(|(i, _)| *i == at)?;
        i.checked_sub(back).map(|j| chars[j].1)
    };
    let token_edge = |c: Option<char>| c.is_none_or(|c| c.is_whitespace() || "(\"'".contains(c));
    let mut found = Vec::new();
    for qualifier in ["repo", "org", "user", "owner"] {
        let pattern = format!("{qualifier}:");
        let mut from = 0;
        while let Some(at) = lower[from..].find(&pattern).map(|i| i + from) {
            from = at + pattern.len();
            match before(at, 1) {
                Some(c) if c.is_alphanumeric() || c == '_' => continue,
                Some('-') if token_edge(before(at, 2)) => continue,
                _ => {}
            }
            let rest = &query[from..];
            let rest = rest.strip_prefix('"').unwrap_or(rest);
            let value: String = rest
                .chars()
                .take_while(|c| !c.is_whitespace() && !"\")(".contains(*c))
                .collect();
            found.push((qualifier.to_owned(), value));
        }
    }
    found
}

/// A contents answer, as text from byte `offset` (or a note for binary and over-large files)
/// or a listing from entry `offset`; either cut to fit, with `next_offset` for the rest.
fn file_or_directory(found: &Value, offset: usize) -> Value {
    if let Some(entries) = found.as_array() {
        let mut listing: Vec<Value> = entries
            .iter()
            .skip(offset)
            .map(|e| item(json!({"name": e["name"], "path": e["path"], "type": e["type"], "size": e["size"]}), MAX_ENTRY_BYTES))
            .collect();
        let left_out = budget::fit_list(&mut listing, MAX_LISTING_BYTES, 0);
        let next = (left_out > 0).then_some(offset + listing.len());
        return json!({
            "type": "dir", "total_entries": entries.len(), "offset": offset,
            "entries": listing, "truncated": next.is_some(), "next_offset": next,
        });
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
            let (content, next) = cut_text(&text, offset, MAX_CONTENT_BYTES);
            out["offset"] = offset.min(text.len()).into();
            out["content"] = content.into();
            out["truncated"] = next.is_some().into();
            out["next_offset"] = next.into();
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

    #[test]
    fn search_qualifiers_that_could_widen_a_query_are_found_in_any_spelling() {
        let q = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let cases: &[(&str, &[(&str, &str)])] = &[
            ("tetris language:rust", &[]),
            ("repo:acme/api", &[("repo", "acme/api")]),
            ("x REPO:Other/Y", &[("repo", "Other/Y")]),
            ("(repo:\"other/x\")", &[("repo", "other/x")]),
            ("x\u{a0}org:other", &[("org", "other")]),
            ("x,user:other", &[("user", "other")]),
            ("owner:other", &[("owner", "other")]),
            ("x-repo:other/y", &[("repo", "other/y")]),
            ("--repo:other/y", &[("repo", "other/y")]),
            ("repo:", &[("repo", "")]),
            // Narrowing or not a qualifier at all.
            ("-repo:other/y tetris", &[]),
            ("x (-org:other)", &[]),
            ("myrepo:other/y", &[]),
            ("in:readme superuser:x", &[]),
        ];
        for (query, expected) in cases {
            assert_eq!(scope_qualifiers(query), q(expected), "{query}");
        }
    }

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
            0,
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
            let out = file_or_directory(&found, 0);
            assert!(out.get(key).is_some(), "{found} -> {out}");
        }
        // A big file, read to its end by following `next_offset`.
        let source = "line \"quoted\"\n".repeat(10_000);
        let found = json!({"type": "file", "encoding": "base64", "content": base64_of(&source)});
        let (mut offset, mut whole, mut calls) = (0, String::new(), 0);
        loop {
            let out = file_or_directory(&found, offset);
            calls += 1;
            assert!(budget::json_len(&out) < governance::server::RESULT_BUDGET_BYTES);
            whole.push_str(out["content"].as_str().unwrap());
            match out["next_offset"].as_u64() {
                Some(next) => {
                    assert_eq!(out["truncated"], true);
                    offset = next as usize;
                }
                None => {
                    assert_eq!(out["truncated"], false);
                    break;
                }
            }
        }
        assert_eq!(whole, source);
        assert!(calls > 3, "{calls}");
        // A big directory, the same way.
        let entries: Vec<Value> = (0..1000)
            .map(|i| json!({"name": format!("file-{i}.rs"), "path": format!("src/some/deep/dir/file-{i}.rs"), "type": "file", "size": i}))
            .collect();
        let (mut offset, mut seen) = (0, 0);
        loop {
            let out = file_or_directory(&Value::Array(entries.clone()), offset);
            assert!(budget::json_len(&out) < governance::server::RESULT_BUDGET_BYTES);
            let listed = out["entries"].as_array().unwrap();
            assert_eq!(listed[0]["name"], format!("file-{seen}.rs"));
            seen += listed.len();
            match out["next_offset"].as_u64() {
                Some(next) => offset = next as usize,
                None => break,
            }
        }
        assert_eq!(seen, 1000);
    }
}
