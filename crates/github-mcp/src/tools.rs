//! The eight tools: their arguments (schemas generated from these types), their bounds, and
//! how each trims GitHub's answer to what a model needs.
//!
//! There is deliberately no push, merge or delete tool: changes reach a repository only as a
//! pull request a human merges.

use governance::server::{Access, ToolError, ToolSpec, budget};

use crate::names::{Author, FullName, GitRef, Head, Owner, RepoName, RepoPath, Timestamp};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

// Every result stays inside `governance::server::RESULT_BUDGET_BYTES` (60,000 bytes of
// serialized JSON) by the bounds below, counted in serialized bytes
// (`governance::server::budget`), each with a `truncated` marker and the argument that fetches
// the rest.

/// Largest page a list tool asks for: with items of at most [`MAX_ITEM_BYTES`], a page fits.
pub const MAX_PER_PAGE: u32 = 50;
/// Highest page a list tool may ask for: beyond it, narrow the query.
pub const MAX_PAGE: u32 = 50;
/// Most comments one `github_get_issue` asks GitHub for.
pub const MAX_COMMENTS: u32 = 100;
/// One list item (a repository, pull request or commit) in serialized bytes: longer texts are
/// shortened and the item marked `truncated` (the get tools show them whole).
pub const MAX_ITEM_BYTES: usize = 1_000;
/// A file's content per call; `offset` reads on from `next_offset`.
pub const MAX_CONTENT_BYTES: usize = 40_000;
/// A directory listing per call; `offset` (an entry index) reads on from `next_offset`.
pub const MAX_LISTING_BYTES: usize = 50_000;
/// One directory entry.
pub const MAX_ENTRY_BYTES: usize = 600;
/// A pull request's description per call; `body_offset` reads on from `body_next_offset`.
pub const MAX_PR_BODY_BYTES: usize = 40_000;
/// An issue's body per call; `body_offset` reads on from `body_next_offset`.
pub const MAX_ISSUE_BODY_BYTES: usize = 20_000;
/// All comments shown by one `github_get_issue`, with what marking each as untrusted may add;
/// `comments_from` reads on from `next_comments_from`.
pub const MAX_COMMENTS_BYTES: usize = 28_000;
/// An issue's or pull request's label names.
pub const MAX_LABELS_BYTES: usize = 4_000;
/// One comment's body (a longer one is cut: `body_truncated`).
pub const MAX_COMMENT_BYTES: usize = 10_000;
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
    /// Results per page (1-50, default 30).
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
    /// Where to start: for a file, a byte offset (a file cut short answers `next_offset`);
    /// for a directory, the first entry to list, counted from 0.
    #[serde(default)]
    pub offset: usize,
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
    /// Results per page (1-50, default 30).
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
    /// Byte offset in the description to start at (a description cut short answers
    /// `body_next_offset`).
    #[serde(default)]
    pub body_offset: usize,
}

/// List the files a pull request changes, with their patches.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListPullRequestFiles {
    /// Repository owner.
    pub owner: Owner,
    /// Repository name.
    pub repo: RepoName,
    /// Pull request number.
    pub pull_number: u64,
    /// Files per GitHub page (1-50, default 30).
    #[serde(default = "default_per_page")]
    pub per_page: u32,
    /// Page number (1-50, default 1).
    #[serde(default = "default_page")]
    pub page: u32,
    /// Files of the page to skip: a page whose patches did not all fit answers `next` with
    /// the `page` and `skip` that read on.
    #[serde(default)]
    pub skip: u32,
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
    /// How many comments to include, oldest first (0-100, default 30; fewer when they would
    /// not fit, see `next_comments_from`).
    #[serde(default = "default_per_page")]
    pub comments: u32,
    /// The first comment to include, counted from 1 (default 1).
    #[serde(default = "default_page")]
    pub comments_from: u32,
    /// Byte offset in the body to start at (a body cut short answers `body_next_offset`).
    #[serde(default)]
    pub body_offset: usize,
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
    /// Results per page (1-50, default 30).
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
    /// github_list_pull_request_files
    ListPullRequestFiles(ListPullRequestFiles),
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
            "Read a file (UTF-8 text, 40 kB per call: a longer one answers `truncated` and \
             `next_offset`, to pass as `offset`) or list a directory of a repository, at a \
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
            "Get one pull request: state, branches, author, description, size and review status. \
             A long description is cut (`body_truncated`); `body_offset` reads on.",
            Access::Read,
        ),
        ToolSpec::new::<ListPullRequestFiles>(
            "github_list_pull_request_files",
            "List pull request files",
            "List the files a pull request changes: name, status, additions, deletions and the \
             patch (each cut at 20 kB: `patch_truncated`; read the whole file at the head commit \
             with github_get_file_contents). A page whose patches do not all fit answers `next` \
             with the `page` and `skip` that read on. The patches of an author outside the \
             organisation are marked as untrusted.",
            Access::Read,
        ),
        ToolSpec::new::<GetIssue>(
            "github_get_issue",
            "Get issue",
            "Get one issue (or a pull request's conversation): title, state, author, body, \
             labels and its comments. Text by authors outside the organisation is marked as \
             untrusted. A long body is cut (`body_truncated`; `body_offset` reads on); comments \
             that do not fit are left for `comments_from` (`next_comments_from`).",
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
        "github_list_pull_request_files" => Call::ListPullRequestFiles(parse_args(name, args)?),
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
        Call::ListPullRequestFiles(a) => Some((a.per_page, a.page)),
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
        Call::GetIssue(a) if a.comments > MAX_COMMENTS => invalid(format!(
            "comments must be 0-{MAX_COMMENTS}, not {}",
            a.comments
        )),
        Call::GetIssue(a) if a.comments_from == 0 => invalid("comments_from counts from 1".into()),
        Call::ListPullRequestFiles(a) if a.skip >= a.per_page => invalid(format!(
            "skip must be less than per_page ({}), not {}",
            a.per_page, a.skip
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
            Call::ListPullRequestFiles(a) => (&a.owner, &a.repo),
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

/// Longest patch of one file shown, in serialized bytes.
pub const MAX_PATCH_BYTES: usize = 20_000;
/// The files of one `github_list_pull_request_files` answer, in serialized bytes.
pub const MAX_FILES_BYTES: usize = 50_000;

/// A changed file of a pull request, its patch cut at [`MAX_PATCH_BYTES`].
pub fn trim_pr_file(f: &Value) -> Value {
    let mut file = json!({
        "filename": f["filename"], "status": f["status"], "additions": f["additions"],
        "deletions": f["deletions"], "changes": f["changes"],
    });
    if let Some(previous) = f["previous_filename"].as_str() {
        file["previous_filename"] = previous.into();
    }
    match f["patch"].as_str() {
        Some(patch) => {
            let (kept, rest) = cut_text(patch, 0, MAX_PATCH_BYTES);
            file["patch"] = kept.into();
            file["patch_truncated"] = rest.is_some().into();
        }
        // GitHub leaves the patch out of binary files and very large diffs.
        None => file["patch_note"] = "no patch (binary, or too large for GitHub to show)".into(),
    }
    file
}

/// `text` from byte `offset`, within `max` serialized bytes: what is kept and where the rest
/// starts, if anything is left.
pub fn cut_text(text: &str, offset: usize, max: usize) -> (String, Option<usize>) {
    let (kept, next) = budget::cut(text, offset, max);
    (kept.to_owned(), next)
}

/// Label names, at most [`MAX_LABELS_BYTES`] of them (100 labels of 50 emoji would be 20 kB);
/// a list cut short ends with a note of how many more there are.
fn labels(list: &Value) -> Vec<Value> {
    let mut names: Vec<Value> = list
        .as_array()
        .into_iter()
        .flatten()
        .map(|l| l["name"].clone())
        .collect();
    let more = budget::fit_list(&mut names, MAX_LABELS_BYTES, 0);
    if more > 0 {
        names.pop();
        names.push(format!("(and {} more labels)", more + 1).into());
    }
    names
}

/// A list item bounded to `max` serialized bytes.
pub fn item(mut value: Value, max: usize) -> Value {
    budget::fit_item(&mut value, max);
    value
}

fn login(v: &Value) -> Value {
    v["login"].clone()
}

/// A repository search hit or repository, trimmed.
pub fn trim_repo(r: &Value) -> Value {
    item(
        json!({
            "full_name": r["full_name"], "description": r["description"], "private": r["private"],
            "archived": r["archived"], "language": r["language"], "stars": r["stargazers_count"],
            "default_branch": r["default_branch"], "updated_at": r["updated_at"], "url": r["html_url"],
        }),
        MAX_ITEM_BYTES,
    )
}

/// A pull request in a list, trimmed.
pub fn trim_pr_summary(p: &Value) -> Value {
    item(
        json!({
            "number": p["number"], "title": p["title"], "state": p["state"], "draft": p["draft"],
            "author": login(&p["user"]), "head": p["head"]["ref"], "base": p["base"]["ref"],
            "created_at": p["created_at"], "updated_at": p["updated_at"], "url": p["html_url"],
        }),
        MAX_ITEM_BYTES,
    )
}

/// A full pull request, trimmed.
/// A pull request, its description from byte `body_offset`.
pub fn trim_pr(p: &Value, body_offset: usize) -> Value {
    let (body, body_next) = cut_text(
        p["body"].as_str().unwrap_or(""),
        body_offset,
        MAX_PR_BODY_BYTES,
    );
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
        "base": p["base"]["ref"], "body": body, "body_truncated": body_next.is_some(),
        "body_next_offset": body_next,
        "labels": labels(&p["labels"]),
        "requested_reviewers": names(&p["requested_reviewers"], "login"),
        "commits": p["commits"], "additions": p["additions"], "deletions": p["deletions"],
        "changed_files": p["changed_files"], "comments": p["comments"],
        "review_comments": p["review_comments"], "created_at": p["created_at"],
        "updated_at": p["updated_at"], "merged_at": p["merged_at"], "url": p["html_url"],
    })
}

/// An issue and (some of) its comments, trimmed.
/// An issue, its body from byte `body_offset`, and those of `comments` (the first being
/// number `comments_from`) that fit in [`MAX_COMMENTS_BYTES`].
pub fn trim_issue(
    issue: &Value,
    body_offset: usize,
    comments: &Value,
    comments_from: u32,
) -> Value {
    let (body, body_next) = cut_text(
        issue["body"].as_str().unwrap_or(""),
        body_offset,
        MAX_ISSUE_BODY_BYTES,
    );
    let mut comments: Vec<Value> = comments
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            let (body, next) = cut_text(c["body"].as_str().unwrap_or(""), 0, MAX_COMMENT_BYTES);
            json!({
                "id": c["id"], "author": login(&c["user"]),
                "author_association": c["author_association"], "body": body,
                "body_truncated": next.is_some(), "created_at": c["created_at"],
            })
        })
        .collect();
    let left_out = budget::fit_list(
        &mut comments,
        MAX_COMMENTS_BYTES,
        budget::MARK_OVERHEAD_BYTES,
    );
    let from = u64::from(comments_from.max(1));
    let next = from + comments.len() as u64;
    let total = issue["comments"].as_u64().unwrap_or(0);
    let more = left_out > 0 || (!comments.is_empty() && next <= total);
    json!({
        "number": issue["number"], "title": issue["title"], "state": issue["state"],
        "author": login(&issue["user"]), "author_association": issue["author_association"],
        "body": body, "body_truncated": body_next.is_some(), "body_next_offset": body_next,
        "labels": labels(&issue["labels"]),
        "is_pull_request": issue.get("pull_request").is_some_and(|p| !p.is_null()),
        "comments_total": issue["comments"], "comments_from": from,
        "comments_shown": comments.len(), "comments_truncated": more,
        "next_comments_from": more.then_some(next),
        "comments": comments, "created_at": issue["created_at"], "url": issue["html_url"],
    })
}

const TRUSTED_ASSOCIATIONS: [&str; 3] = ["OWNER", "MEMBER", "COLLABORATOR"];

/// GitHub's `author_association` of `item` (`(none given)` without one), and whether it puts
/// the author inside the organisation.
fn association(item: &Value) -> (&str, bool) {
    let association = item["author_association"]
        .as_str()
        .unwrap_or("(none given)");
    (association, TRUSTED_ASSOCIATIONS.contains(&association))
}

/// The texts of a trimmed issue or pull request (its title and body, and its comments' bodies)
/// written from outside the organisation, as JSON pointers for the kernel to mark or withhold.
pub fn untrusted_texts(trimmed: &Value) -> Vec<governance::flow::UntrustedText> {
    let judged = |item: &Value, pointers: Vec<String>| {
        let (association, trusted) = association(item);
        let author = format!("@{}", item["author"].as_str().unwrap_or("(unknown)"));
        pointers
            .into_iter()
            .filter(|pointer| !trusted && item.pointer(pointer).is_some_and(Value::is_string))
            .map(|pointer| governance::flow::UntrustedText {
                pointer,
                author: author.clone(),
                why: format!("author_association {association}"),
                source: None,
            })
            .collect::<Vec<_>>()
    };
    let comments = trimmed["comments"].as_array().into_iter().flatten();
    let mut texts = judged(trimmed, vec!["/title".into(), "/body".into()]);
    for (i, comment) in comments.enumerate() {
        texts.extend(
            judged(comment, vec!["/body".into()])
                .into_iter()
                .map(|mut text| {
                    text.pointer = format!("/comments/{i}{}", text.pointer);
                    text
                }),
        );
    }
    texts
}

/// Who opened a pull request, and whether they are inside the organisation.
pub struct PrAuthor {
    /// GitHub login.
    pub login: String,
    /// GitHub's `author_association` (`(none given)` without one).
    pub association: String,
    /// OWNER, MEMBER or COLLABORATOR.
    pub trusted: bool,
}

/// The author of a pull request as GitHub answers it.
pub fn pr_author(pr: &Value) -> PrAuthor {
    let (association, trusted) = association(pr);
    PrAuthor {
        login: pr["user"]["login"]
            .as_str()
            .unwrap_or("(unknown)")
            .to_owned(),
        association: association.to_owned(),
        trusted,
    }
}

/// The patches of a `github_list_pull_request_files` answer, as untrusted text when the pull
/// request's author is outside the organisation: a patch is their text, code comments included.
pub fn untrusted_patches(out: &Value, author: &PrAuthor) -> Vec<governance::flow::UntrustedText> {
    if author.trusted {
        return Vec::new();
    }
    out["files"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
        .filter(|(_, file)| file["patch"].is_string())
        .map(|(i, _)| governance::flow::UntrustedText {
            pointer: format!("/files/{i}/patch"),
            author: format!("@{}", author.login),
            why: format!(
                "the pull request's author, author_association {}",
                author.association
            ),
            source: None,
        })
        .collect()
}

/// A commit in a list, trimmed.
pub fn trim_commit(c: &Value) -> Value {
    let message = c["commit"]["message"].as_str().unwrap_or("");
    item(
        json!({
            "sha": c["sha"], "message": message,
            "author": c["author"]["login"].as_str().map(Value::from).unwrap_or_else(|| c["commit"]["author"]["name"].clone()),
            "date": c["commit"]["author"]["date"], "url": c["html_url"],
        }),
        MAX_ITEM_BYTES,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The largest issue GitHub can hold (a 65,536-character body of four-byte characters, 100
    /// labels of 50, 100 comments of 65,536) fits the budget, with every marker and its
    /// continuation, even with each text marked untrusted.
    #[test]
    fn the_largest_issue_fits_the_budget() {
        let long = "😀".repeat(65_536);
        let issue = json!({
            "number": 1, "title": "😀".repeat(256), "state": "open", "body": long,
            "user": {"login": "x".repeat(39)}, "author_association": "NONE",
            "labels": (0..100).map(|i| json!({"name": format!("{i}{}", "😀".repeat(48))})).collect::<Vec<_>>(),
            "comments": 100, "html_url": "https://github.com/o/r/issues/1",
        });
        let comments: Vec<Value> = (0..100)
            .map(|i| {
                json!({"id": i, "user": {"login": "mallory"}, "author_association": "NONE",
                "body": long, "created_at": "2026-01-01T00:00:00Z"})
            })
            .collect();
        let trimmed = trim_issue(&issue, 0, &Value::Array(comments), 1);
        let marks = untrusted_texts(&trimmed).len();
        let size = budget::json_len(&trimmed) + marks * budget::MARK_OVERHEAD_BYTES;
        assert!(
            size < governance::server::RESULT_BUDGET_BYTES,
            "{size} bytes with {marks} marks"
        );
        assert_eq!(trimmed["body_truncated"], true);
        assert!(trimmed["body_next_offset"].is_u64());
        assert_eq!(trimmed["comments_truncated"], true);
        assert!(trimmed["next_comments_from"].is_u64());
        let labels = trimmed["labels"].as_array().unwrap();
        assert!(
            labels
                .last()
                .unwrap()
                .as_str()
                .unwrap()
                .ends_with("more labels)")
        );
    }
}
