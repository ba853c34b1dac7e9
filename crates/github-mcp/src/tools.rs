//! The eight tools: their arguments (schemas generated from these types), their bounds, and
//! how each trims GitHub's answer to what a model needs.
//!
//! There is deliberately no push, merge or delete tool: changes reach a repository only as a
//! pull request a human merges.

use governance::server::{Access, ToolError, ToolSpec};

use crate::names::{Author, FullName, GitRef, Head, Owner, RepoName, RepoPath, Timestamp};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

/// Largest page a list tool asks for.
pub const MAX_PER_PAGE: u32 = 100;
/// Highest page a list tool may ask for: beyond it, narrow the query.
pub const MAX_PAGE: u32 = 50;
/// Longest text (file contents, bodies) returned, in bytes.
pub const MAX_TEXT_BYTES: usize = 100_000;
/// Longest body accepted for a pull request or comment (GitHub's own limit is 65,536 chars).
pub const MAX_BODY_CHARS: usize = 65_536;
/// Longest search query (GitHub's own limit).
pub const MAX_QUERY_CHARS: usize = 256;

fn default_per_page() -> u32 {
    30
}
fn default_page() -> u32 {
    1
}

/// Search repositories.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchRepositories {
    /// GitHub search query, e.g. `org:acme topic:payments language:go` (at most 256
    /// characters). `repo:`, `org:` and `user:` qualifiers must name what your read scope
    /// allows; hits outside it are left out.
    pub query: String,
    /// Results per page (1-100, default 30).
    #[serde(default = "default_per_page")]
    pub per_page: u32,
    /// Page number (1-50, default 1).
    #[serde(default = "default_page")]
    pub page: u32,
}

/// Read a file or list a directory.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetFileContents {
    /// Repository owner (user or organization).
    pub owner: Owner,
    /// Repository name.
    pub repo: RepoName,
    /// Path in the repository from its root, without a leading `/`, e.g. `src/lib.rs`;
    /// empty for the root directory.
    #[serde(default)]
    pub path: RepoPath,
    /// Branch, tag or commit SHA; default branch when omitted.
    #[serde(default, rename = "ref")]
    pub git_ref: Option<GitRef>,
}

/// List pull requests.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListPullRequests {
    /// Repository owner.
    pub owner: Owner,
    /// Repository name.
    pub repo: RepoName,
    /// `open` (default), `closed` or `all`.
    #[serde(default)]
    pub state: Option<PrState>,
    /// Filter by base branch.
    #[serde(default)]
    pub base: Option<GitRef>,
    /// Filter by head, `user:branch`.
    #[serde(default)]
    pub head: Option<Head>,
    /// Results per page (1-100, default 30).
    #[serde(default = "default_per_page")]
    pub per_page: u32,
    /// Page number (1-50, default 1).
    #[serde(default = "default_page")]
    pub page: u32,
}

/// Pull request state filter.
#[derive(Debug, Clone, Copy, Deserialize, serde::Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum PrState {
    /// Open pull requests.
    Open,
    /// Closed or merged.
    Closed,
    /// Both.
    All,
}

impl PrState {
    /// GitHub's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            PrState::Open => "open",
            PrState::Closed => "closed",
            PrState::All => "all",
        }
    }
}

/// Get one pull request.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetPullRequest {
    /// Repository owner.
    pub owner: Owner,
    /// Repository name.
    pub repo: RepoName,
    /// Pull request number.
    pub pull_number: u64,
}

/// Read one issue (or a pull request's conversation) with its comments.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetIssue {
    /// Repository owner.
    pub owner: Owner,
    /// Repository name.
    pub repo: RepoName,
    /// Issue (or pull request) number.
    pub issue_number: u64,
    /// How many comments to include, oldest first (0-100, default 30).
    #[serde(default = "default_per_page")]
    pub comments: u32,
}

/// Open a pull request.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePullRequest {
    /// Repository owner.
    pub owner: Owner,
    /// Repository name.
    pub repo: RepoName,
    /// Title.
    pub title: String,
    /// The branch with the changes (`branch`, or `user:branch` for a fork).
    pub head: Head,
    /// The branch to merge into.
    pub base: GitRef,
    /// Description, Markdown.
    #[serde(default)]
    pub body: Option<String>,
    /// Open as a draft.
    #[serde(default)]
    pub draft: bool,
}

/// Comment on an issue or pull request.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AddComment {
    /// Repository owner.
    pub owner: Owner,
    /// Repository name.
    pub repo: RepoName,
    /// Issue or pull request number.
    pub issue_number: u64,
    /// Comment, Markdown.
    pub body: String,
}

/// List commits.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListCommits {
    /// Repository owner.
    pub owner: Owner,
    /// Repository name.
    pub repo: RepoName,
    /// Branch, tag or SHA to start from; default branch when omitted.
    #[serde(default)]
    pub sha: Option<GitRef>,
    /// Only commits touching this path (from the repository root, e.g. `src/lib.rs`).
    #[serde(default)]
    pub path: Option<RepoPath>,
    /// Only commits by this GitHub login or e-mail.
    #[serde(default)]
    pub author: Option<Author>,
    /// Only commits after this RFC 3339 time, e.g. `2026-01-13T10:30:00Z`.
    #[serde(default)]
    pub since: Option<Timestamp>,
    /// Results per page (1-100, default 30).
    #[serde(default = "default_per_page")]
    pub per_page: u32,
    /// Page number (1-50, default 1).
    #[serde(default = "default_page")]
    pub page: u32,
}

/// A parsed call.
#[derive(Debug)]
pub enum Call {
    /// github_search_repositories
    SearchRepositories(SearchRepositories),
    /// github_get_file_contents
    GetFileContents(GetFileContents),
    /// github_list_pull_requests
    ListPullRequests(ListPullRequests),
    /// github_get_pull_request
    GetPullRequest(GetPullRequest),
    /// github_get_issue
    GetIssue(GetIssue),
    /// github_create_pull_request
    CreatePullRequest(CreatePullRequest),
    /// github_add_comment
    AddComment(AddComment),
    /// github_list_commits
    ListCommits(ListCommits),
}

/// The tool table.
pub fn specs() -> Vec<ToolSpec> {
    vec![
        ToolSpec::new::<SearchRepositories>(
            "github_search_repositories",
            "Search repositories",
            "Search GitHub repositories with GitHub's search syntax. Results outside the \
             configured read scope are left out.",
            Access::Read,
        ),
        ToolSpec::new::<GetFileContents>(
            "github_get_file_contents",
            "Get file contents",
            "Read a file (UTF-8 text, up to 100 kB) or list a directory of a repository, at a \
             branch, tag or commit.",
            Access::Read,
        ),
        ToolSpec::new::<ListPullRequests>(
            "github_list_pull_requests",
            "List pull requests",
            "List a repository's pull requests, newest first, filtered by state, base or head.",
            Access::Read,
        ),
        ToolSpec::new::<GetPullRequest>(
            "github_get_pull_request",
            "Get pull request",
            "Get one pull request: state, branches, author, description, size and review status.",
            Access::Read,
        ),
        ToolSpec::new::<GetIssue>(
            "github_get_issue",
            "Get issue",
            "Get one issue (or a pull request's conversation): title, state, author, body, \
             labels and its comments. Text by authors outside the organisation is marked as \
             untrusted.",
            Access::Read,
        ),
        ToolSpec::new::<CreatePullRequest>(
            "github_create_pull_request",
            "Create pull request",
            "Open a pull request from an existing branch. The only way this server changes a \
             repository; allowed only on repositories in your write scope (your GitHub teams' \
             repositories or the configured allowlist).",
            Access::Write,
        ),
        ToolSpec::new::<AddComment>(
            "github_add_comment",
            "Add comment",
            "Comment on an issue or pull request in a repository of your write scope.",
            Access::Write,
        ),
        ToolSpec::new::<ListCommits>(
            "github_list_commits",
            "List commits",
            "List a branch's commits, newest first, optionally by path, author or date.",
            Access::Read,
        ),
    ]
}

/// Parses `args` for the tool `name`, checking bounds the schema cannot express.
pub fn parse(name: &str, args: Value) -> Result<Call, ToolError> {
    use governance::server::parse_args;
    let call = match name {
        "github_search_repositories" => Call::SearchRepositories(parse_args(name, args)?),
        "github_get_file_contents" => Call::GetFileContents(parse_args(name, args)?),
        "github_list_pull_requests" => Call::ListPullRequests(parse_args(name, args)?),
        "github_get_pull_request" => Call::GetPullRequest(parse_args(name, args)?),
        "github_get_issue" => Call::GetIssue(parse_args(name, args)?),
        "github_create_pull_request" => Call::CreatePullRequest(parse_args(name, args)?),
        "github_add_comment" => Call::AddComment(parse_args(name, args)?),
        "github_list_commits" => Call::ListCommits(parse_args(name, args)?),
        other => return Err(ToolError::InvalidArguments(format!("unknown tool {other}"))),
    };
    let invalid = |m: String| Err(ToolError::InvalidArguments(format!("{name}: {m}")));
    let paging = match &call {
        Call::SearchRepositories(a) => Some((a.per_page, a.page)),
        Call::ListPullRequests(a) => Some((a.per_page, a.page)),
        Call::ListCommits(a) => Some((a.per_page, a.page)),
        _ => None,
    };
    if let Some((per_page, page)) = paging {
        if !(1..=MAX_PER_PAGE).contains(&per_page) {
            return invalid(format!("per_page must be 1-{MAX_PER_PAGE}, not {per_page}"));
        }
        if !(1..=MAX_PAGE).contains(&page) {
            return invalid(format!(
                "page must be 1-{MAX_PAGE}, not {page}; narrow the query instead"
            ));
        }
    }
    match &call {
        Call::SearchRepositories(a) if a.query.trim().is_empty() => {
            invalid("query must not be empty".into())
        }
        Call::SearchRepositories(a) if a.query.chars().count() > MAX_QUERY_CHARS => invalid(
            format!("query is longer than GitHub's {MAX_QUERY_CHARS} characters; shorten it"),
        ),
        Call::SearchRepositories(a) if a.query.chars().any(char::is_control) => {
            invalid("query holds a control character (a line break?); write it on one line".into())
        }
        Call::ListCommits(ListCommits {
            path: Some(path), ..
        }) if path.is_root() => {
            invalid("path must name a file or directory; leave it out for every commit".into())
        }
        Call::CreatePullRequest(a) if a.title.trim().is_empty() => {
            invalid("title must not be empty".into())
        }
        Call::CreatePullRequest(a)
            if a.body.as_deref().unwrap_or("").chars().count() > MAX_BODY_CHARS =>
        {
            invalid(format!("body is longer than {MAX_BODY_CHARS} characters"))
        }
        Call::GetIssue(a) if a.comments > MAX_PER_PAGE => invalid(format!(
            "comments must be 0-{MAX_PER_PAGE}, not {}",
            a.comments
        )),
        Call::AddComment(a) if a.body.trim().is_empty() => invalid("body must not be empty".into()),
        Call::AddComment(a) if a.body.chars().count() > MAX_BODY_CHARS => {
            invalid(format!("body is longer than {MAX_BODY_CHARS} characters"))
        }
        _ => Ok(call),
    }
}

impl Call {
    /// The repository a repository-addressed call names: the same checked value the scope
    /// check reads and the URL is built from.
    pub fn repo(&self) -> Option<FullName> {
        let (owner, repo) = match self {
            Call::SearchRepositories(_) => return None,
            Call::GetFileContents(a) => (&a.owner, &a.repo),
            Call::ListPullRequests(a) => (&a.owner, &a.repo),
            Call::GetPullRequest(a) => (&a.owner, &a.repo),
            Call::GetIssue(a) => (&a.owner, &a.repo),
            Call::CreatePullRequest(a) => (&a.owner, &a.repo),
            Call::AddComment(a) => (&a.owner, &a.repo),
            Call::ListCommits(a) => (&a.owner, &a.repo),
        };
        Some(FullName::new(owner, repo))
    }

    /// Whether the call writes.
    pub fn is_write(&self) -> bool {
        matches!(self, Call::CreatePullRequest(_) | Call::AddComment(_))
    }
}

/// Cuts `text` to [`MAX_TEXT_BYTES`] on a character boundary; says whether it cut.
pub fn truncate(text: &str) -> (String, bool) {
    if text.len() <= MAX_TEXT_BYTES {
        return (text.to_owned(), false);
    }
    let mut end = MAX_TEXT_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    (text[..end].to_owned(), true)
}

fn login(v: &Value) -> Value {
    v["login"].clone()
}

/// A repository search hit or repository, trimmed.
pub fn trim_repo(r: &Value) -> Value {
    json!({
        "full_name": r["full_name"], "description": r["description"], "private": r["private"],
        "archived": r["archived"], "language": r["language"], "stars": r["stargazers_count"],
        "default_branch": r["default_branch"], "updated_at": r["updated_at"], "url": r["html_url"],
    })
}

/// A pull request in a list, trimmed.
pub fn trim_pr_summary(p: &Value) -> Value {
    json!({
        "number": p["number"], "title": p["title"], "state": p["state"], "draft": p["draft"],
        "author": login(&p["user"]), "head": p["head"]["ref"], "base": p["base"]["ref"],
        "created_at": p["created_at"], "updated_at": p["updated_at"], "url": p["html_url"],
    })
}

/// A full pull request, trimmed.
pub fn trim_pr(p: &Value) -> Value {
    let (body, body_truncated) = truncate(p["body"].as_str().unwrap_or(""));
    let names = |list: &Value, key: &str| -> Value {
        list.as_array()
            .map(|items| items.iter().map(|i| i[key].clone()).collect())
            .unwrap_or_default()
    };
    json!({
        "number": p["number"], "title": p["title"], "state": p["state"], "draft": p["draft"],
        "merged": p["merged"], "mergeable": p["mergeable"], "mergeable_state": p["mergeable_state"],
        "author": login(&p["user"]), "author_association": p["author_association"],
        "head": p["head"]["ref"], "head_sha": p["head"]["sha"],
        "base": p["base"]["ref"], "body": body, "body_truncated": body_truncated,
        "labels": names(&p["labels"], "name"),
        "requested_reviewers": names(&p["requested_reviewers"], "login"),
        "commits": p["commits"], "additions": p["additions"], "deletions": p["deletions"],
        "changed_files": p["changed_files"], "comments": p["comments"],
        "review_comments": p["review_comments"], "created_at": p["created_at"],
        "updated_at": p["updated_at"], "merged_at": p["merged_at"], "url": p["html_url"],
    })
}

/// An issue and (some of) its comments, trimmed.
pub fn trim_issue(issue: &Value, comments: &Value) -> Value {
    let (body, body_truncated) = truncate(issue["body"].as_str().unwrap_or(""));
    let comments: Vec<Value> = comments
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            let (body, truncated) = truncate(c["body"].as_str().unwrap_or(""));
            json!({
                "id": c["id"], "author": login(&c["user"]),
                "author_association": c["author_association"], "body": body,
                "body_truncated": truncated, "created_at": c["created_at"],
            })
        })
        .collect();
    json!({
        "number": issue["number"], "title": issue["title"], "state": issue["state"],
        "author": login(&issue["user"]), "author_association": issue["author_association"],
        "body": body, "body_truncated": body_truncated,
        "labels": issue["labels"].as_array().map(|l| l.iter().map(|i| i["name"].clone()).collect::<Vec<_>>()),
        "is_pull_request": issue.get("pull_request").is_some_and(|p| !p.is_null()),
        "comments_total": issue["comments"], "comments_shown": comments.len(),
        "comments": comments, "created_at": issue["created_at"], "url": issue["html_url"],
    })
}

/// Who counts as inside the organisation: GitHub's `author_association` of the repository's
/// owner, a member of its organisation, or an invited collaborator. Everyone else (contributors
/// of merged pull requests, first-timers, `NONE`, and an answer without the field) wrote from
/// outside.
const TRUSTED_ASSOCIATIONS: [&str; 3] = ["OWNER", "MEMBER", "COLLABORATOR"];

/// The bodies of a trimmed issue or pull request (and its comments) written from outside the
/// organisation, as JSON pointers for the kernel to mark or withhold.
pub fn untrusted_texts(trimmed: &Value) -> Vec<governance::flow::UntrustedText> {
    let judged = |item: &Value, pointer: String| {
        let association = item["author_association"]
            .as_str()
            .unwrap_or("(none given)");
        (!TRUSTED_ASSOCIATIONS.contains(&association) && item["body"].is_string()).then(|| {
            governance::flow::UntrustedText {
                pointer,
                author: format!("@{}", item["author"].as_str().unwrap_or("(unknown)")),
                why: format!("author_association {association}"),
                source: None,
            }
        })
    };
    let comments = trimmed["comments"].as_array().into_iter().flatten();
    judged(trimmed, "/body".into())
        .into_iter()
        .chain(
            comments
                .enumerate()
                .filter_map(|(i, c)| judged(c, format!("/comments/{i}/body"))),
        )
        .collect()
}

/// A commit in a list, trimmed.
pub fn trim_commit(c: &Value) -> Value {
    let message = c["commit"]["message"].as_str().unwrap_or("");
    let (message, _) = truncate(message);
    json!({
        "sha": c["sha"], "message": message,
        "author": c["author"]["login"].as_str().map(Value::from).unwrap_or_else(|| c["commit"]["author"]["name"].clone()),
        "date": c["commit"]["author"]["date"], "url": c["html_url"],
    })
}
