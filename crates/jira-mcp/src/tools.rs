//! The eight tools: their arguments (schemas generated from these types), their bounds, and
//! the checks that need no upstream (key shapes, sizes, key fields that may not be cleared).
//!
//! There is deliberately no delete tool, and no write can delete: key fields cannot be cleared,
//! and an issue cannot be moved to another project or type through an update.
//!
//! Not here: anything that needs Jira (which field a name means, which project an issue is in
//! now: `authorize`), nor policy by role.

use std::collections::BTreeMap;

use governance::server::{Access, ToolError, ToolSpec, parse_args};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

/// Jira's limit for a text field (description, comment), in characters.
pub const MAX_TEXT_CHARS: usize = 32_767;
/// Most issues one search may ask for.
pub const MAX_SEARCH_RESULTS: u32 = 100;
/// Most recent comments `jira_get_issue` returns.
pub const MAX_COMMENTS: u32 = 20;
/// Most issues of the active sprint `jira_get_board` returns.
pub const MAX_BOARD_ISSUES: u32 = 100;
/// Longest JQL accepted, in characters.
pub const MAX_JQL_CHARS: usize = 10_000;

// Every result stays inside `governance::server::RESULT_BUDGET_BYTES` (60,000 bytes of
// serialized JSON) by the bounds below, in serialized bytes (`governance::server::budget`),
// each with a `truncated` marker and the argument that reads on.

/// A search page: each of its issues gets an equal share (longer ones are
/// shortened and marked `truncated`; `jira_get_issue` shows them whole).
pub const SEARCH_BYTES: usize = 50_000;
/// An issue's description per call; `description_offset` reads on.
pub const DESCRIPTION_BYTES: usize = 20_000;
/// One comment's body.
pub const COMMENT_BYTES: usize = 8_000;
/// All comments one `jira_get_issue` shows (with what marking each may add);
/// `comments_skip` reads older ones.
pub const COMMENTS_BYTES: usize = 18_000;
/// The extra `fields` of one `jira_get_issue` (`*all` included).
pub const EXTRA_FIELDS_BYTES: usize = 10_000;
/// The issues of a board's active sprint: each gets an equal share;
/// `start_at` reads on.
pub const BOARD_ISSUES_BYTES: usize = 40_000;
/// A board's active, and its future, sprints (each).
pub const SPRINTS_BYTES: usize = 6_000;
/// A project's description, and each of its lists (issue types, components).
pub const PROJECT_PART_BYTES: usize = 12_000;

/// Fields an update may not clear (set to null or empty).
pub const KEY_FIELDS: &[&str] = &["summary", "project", "issuetype", "reporter", "parent"];
/// Fields an update may not change at all: changing them moves the issue, or bypasses the
/// workflow (`jira_transition_issue` changes status).
pub const IMMOVABLE_FIELDS: &[&str] = &["project", "issuetype", "status"];

/// Search issues with JQL.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchIssues {
    /// JQL, e.g. `project = PROJ AND status = "In Progress" ORDER BY updated DESC`.
    pub jql: String,
    /// Most issues to return (1-100; default from the config, 50).
    #[serde(default)]
    pub max_results: Option<u32>,
    /// The `next_page_token` of the previous page (Cloud).
    #[serde(default)]
    pub next_page_token: Option<String>,
    /// Index of the first issue (Data Center paging).
    #[serde(default)]
    pub start_at: Option<u32>,
    /// Extra fields to include, by id or name (`customfield_10016`, `Story Points`).
    #[serde(default)]
    pub fields: Vec<String>,
}

/// Read one issue.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetIssue {
    /// Issue key, e.g. `PROJ-123`.
    pub issue_key: String,
    /// Extra fields to include, by id or name; `*all` for every field.
    #[serde(default)]
    pub fields: Vec<String>,
    /// How many of the most recent comments to include (0-20, default 5; fewer when they
    /// would not fit).
    #[serde(default = "default_comments")]
    pub comments: u32,
    /// Leave out this many of the most recent comments, to read older ones (a result that
    /// left some out answers `next_comments_skip`).
    #[serde(default)]
    pub comments_skip: u32,
    /// Byte offset in the description to start at (a description cut short answers
    /// `description_next_offset`).
    #[serde(default)]
    pub description_offset: usize,
}

fn default_comments() -> u32 {
    5
}

/// Create an issue.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateIssue {
    /// Project key, e.g. `PROJ`.
    pub project: String,
    /// Issue type name: `Story`, `Bug`, `Task`, `Epic`, ...
    pub issue_type: String,
    /// One-line summary.
    pub summary: String,
    /// Description, Markdown.
    #[serde(default)]
    pub description: Option<String>,
    /// Priority name, e.g. `High`.
    #[serde(default)]
    pub priority: Option<String>,
    /// Labels.
    #[serde(default)]
    pub labels: Vec<String>,
    /// Assignee: account id (Cloud) or user name (Data Center).
    #[serde(default)]
    pub assignee: Option<String>,
    /// Parent issue key (epic or parent of a sub-task).
    #[serde(default)]
    pub parent: Option<String>,
    /// Other fields by id or name, with Jira's JSON values (`{"customfield_10016": 3}`).
    #[serde(default)]
    pub fields: BTreeMap<String, Value>,
}

/// Update fields of an issue.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateIssue {
    /// Issue key, e.g. `PROJ-123`.
    pub issue_key: String,
    /// New summary.
    #[serde(default)]
    pub summary: Option<String>,
    /// New description, Markdown.
    #[serde(default)]
    pub description: Option<String>,
    /// New priority name.
    #[serde(default)]
    pub priority: Option<String>,
    /// The new labels (replacing the old ones).
    #[serde(default)]
    pub labels: Option<Vec<String>>,
    /// New assignee: account id (Cloud) or user name (Data Center).
    #[serde(default)]
    pub assignee: Option<String>,
    /// Other fields by id or name, with Jira's JSON values.
    #[serde(default)]
    pub fields: BTreeMap<String, Value>,
}

/// Comment on an issue.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AddComment {
    /// Issue key, e.g. `PROJ-123`.
    pub issue_key: String,
    /// The comment, Markdown.
    pub body: String,
}

/// Move an issue through its workflow.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TransitionIssue {
    /// Issue key, e.g. `PROJ-123`.
    pub issue_key: String,
    /// Transition name (`Start Progress`), id (`21`), or the target status name (`Done`).
    pub transition: String,
    /// A comment to add with the transition, Markdown.
    #[serde(default)]
    pub comment: Option<String>,
}

/// Read a project.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetProject {
    /// Project key, e.g. `PROJ`.
    pub project_key: String,
}

/// Read a board, its sprints and the active sprint's issues.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetBoard {
    /// Board id (a number, from the board's URL).
    pub board_id: u64,
    /// Most issues of the active sprint to include (0-100, default 50).
    #[serde(default = "default_board_issues")]
    pub max_issues: u32,
    /// Index of the first issue of the active sprint to include (a result with more answers
    /// `next_start_at`).
    #[serde(default)]
    pub start_at: u32,
}

fn default_board_issues() -> u32 {
    50
}

/// A parsed call.
#[derive(Debug)]
pub enum Call {
    /// `jira_search_issues`.
    SearchIssues(SearchIssues),
    /// `jira_get_issue`.
    GetIssue(GetIssue),
    /// `jira_create_issue`.
    CreateIssue(CreateIssue),
    /// `jira_update_issue`.
    UpdateIssue(UpdateIssue),
    /// `jira_add_comment`.
    AddComment(AddComment),
    /// `jira_transition_issue`.
    TransitionIssue(TransitionIssue),
    /// `jira_get_project`.
    GetProject(GetProject),
    /// `jira_get_board`.
    GetBoard(GetBoard),
}

impl Call {
    /// The issue key the call names, if any.
    pub fn issue_key(&self) -> Option<&str> {
        match self {
            Call::GetIssue(a) => Some(&a.issue_key),
            Call::UpdateIssue(a) => Some(&a.issue_key),
            Call::AddComment(a) => Some(&a.issue_key),
            Call::TransitionIssue(a) => Some(&a.issue_key),
            _ => None,
        }
    }

    /// The project keys the call names: an issue key's project, a project, a parent's project.
    pub fn projects(&self) -> Vec<String> {
        let mut projects: Vec<String> = self
            .issue_key()
            .and_then(project_of)
            .into_iter()
            .map(str::to_owned)
            .collect();
        match self {
            Call::CreateIssue(a) => {
                projects.push(a.project.clone());
                if let Some(parent) = a.parent.as_deref().and_then(project_of) {
                    projects.push(parent.to_owned());
                }
            }
            Call::GetProject(a) => projects.push(a.project_key.clone()),
            _ => {}
        }
        projects
    }
}

/// The project key of an issue key (`PROJ` of `PROJ-123`).
pub fn project_of(issue_key: &str) -> Option<&str> {
    issue_key.rsplit_once('-').map(|(project, _)| project)
}

/// Every tool, in the order `tools/list` shows them.
pub fn specs() -> Vec<ToolSpec> {
    vec![
        ToolSpec::new::<SearchIssues>(
            "jira_search_issues",
            "Search Jira issues",
            "Search issues with JQL. Returns key, summary, status, type, priority, assignee and \
             updated for each, and a token for the next page. Financial fields cannot be \
             searched or sorted on unless your role allows it.",
            Access::Read,
        ),
        ToolSpec::new::<GetIssue>(
            "jira_get_issue",
            "Get a Jira issue",
            "Read one issue: summary, status, type, priority, people, labels, parent/epic, \
             sprint, the description as Markdown and the most recent comments; `fields` adds \
             more by id or name. A long description is cut (`description_truncated`; \
             `description_offset` reads on); older comments come with `comments_skip`.",
            Access::Read,
        ),
        ToolSpec::new::<CreateIssue>(
            "jira_create_issue",
            "Create a Jira issue",
            "Create an issue in a project. The description is Markdown. Returns the new key.",
            Access::Write,
        ),
        ToolSpec::new::<UpdateIssue>(
            "jira_update_issue",
            "Update a Jira issue",
            "Change fields of an issue (summary, description as Markdown, priority, labels, \
             assignee, other fields). Cannot clear key fields, move the issue to another \
             project or type, or change its status (use jira_transition_issue).",
            Access::Write,
        ),
        ToolSpec::new::<AddComment>(
            "jira_add_comment",
            "Comment on a Jira issue",
            "Add a comment (Markdown) to an issue.",
            Access::Write,
        ),
        ToolSpec::new::<TransitionIssue>(
            "jira_transition_issue",
            "Transition a Jira issue",
            "Move an issue through its workflow by transition name, id or target status. When \
             nothing matches, the answer lists the valid transitions.",
            Access::Write,
        ),
        ToolSpec::new::<GetProject>(
            "jira_get_project",
            "Get a Jira project",
            "Read a project: name, lead, type, issue types and components.",
            Access::Read,
        ),
        ToolSpec::new::<GetBoard>(
            "jira_get_board",
            "Get a Jira board",
            "Read a Jira Software board: its active and future sprints and the active sprint's \
             issues (`start_at` pages through them).",
            Access::Read,
        ),
    ]
}

/// Parses and checks a call of `tool`.
pub fn parse(tool: &str, args: Value) -> Result<Call, ToolError> {
    let call = match tool {
        "jira_search_issues" => Call::SearchIssues(parse_args(tool, args)?),
        "jira_get_issue" => Call::GetIssue(parse_args(tool, args)?),
        "jira_create_issue" => Call::CreateIssue(parse_args(tool, args)?),
        "jira_update_issue" => Call::UpdateIssue(parse_args(tool, args)?),
        "jira_add_comment" => Call::AddComment(parse_args(tool, args)?),
        "jira_transition_issue" => Call::TransitionIssue(parse_args(tool, args)?),
        "jira_get_project" => Call::GetProject(parse_args(tool, args)?),
        "jira_get_board" => Call::GetBoard(parse_args(tool, args)?),
        other => {
            return Err(ToolError::InvalidArguments(format!("unknown tool {other}")));
        }
    };
    check(tool, call)
}

fn invalid(tool: &str, message: String) -> ToolError {
    ToolError::InvalidArguments(format!("{tool}: {message}"))
}

/// Shapes, sizes and the no-delete rules.
fn check(tool: &str, mut call: Call) -> Result<Call, ToolError> {
    if let Some(key) = call.issue_key() {
        check_issue_key(tool, key)?;
    }
    match &mut call {
        Call::SearchIssues(a) => {
            if a.jql.chars().count() > MAX_JQL_CHARS {
                return Err(invalid(
                    tool,
                    format!("the JQL is longer than {MAX_JQL_CHARS} characters"),
                ));
            }
            if let Some(n) = a.max_results
                && !(1..=MAX_SEARCH_RESULTS).contains(&n)
            {
                return Err(invalid(
                    tool,
                    format!("max_results must be 1-{MAX_SEARCH_RESULTS}"),
                ));
            }
        }
        Call::GetIssue(a) => {
            if a.comments > MAX_COMMENTS {
                return Err(invalid(tool, format!("comments must be 0-{MAX_COMMENTS}")));
            }
        }
        Call::CreateIssue(a) => {
            a.project = a.project.trim().to_uppercase();
            check_project_key(tool, &a.project)?;
            if let Some(parent) = &a.parent {
                check_issue_key(tool, parent)?;
            }
            check_text(tool, "summary", Some(&a.summary), 255)?;
            if a.summary.trim().is_empty() {
                return Err(invalid(tool, "the summary is empty".into()));
            }
            check_text(
                tool,
                "description",
                a.description.as_deref(),
                MAX_TEXT_CHARS,
            )?;
            for (field, value) in &a.fields {
                check_written_field(tool, field, value, true)?;
            }
        }
        Call::UpdateIssue(a) => {
            check_text(tool, "summary", a.summary.as_deref(), 255)?;
            check_text(
                tool,
                "description",
                a.description.as_deref(),
                MAX_TEXT_CHARS,
            )?;
            if a.summary.as_deref().is_some_and(|s| s.trim().is_empty()) {
                return Err(invalid(
                    tool,
                    "the summary cannot be cleared (no write may delete a key field)".into(),
                ));
            }
            for (field, value) in &a.fields {
                check_written_field(tool, field, value, false)?;
            }
            let nothing = a.summary.is_none()
                && a.description.is_none()
                && a.priority.is_none()
                && a.labels.is_none()
                && a.assignee.is_none()
                && a.fields.is_empty();
            if nothing {
                return Err(invalid(tool, "nothing to update".into()));
            }
        }
        Call::AddComment(a) => {
            check_text(tool, "body", Some(&a.body), MAX_TEXT_CHARS)?;
            if a.body.trim().is_empty() {
                return Err(invalid(tool, "the comment is empty".into()));
            }
        }
        Call::TransitionIssue(a) => {
            check_text(tool, "comment", a.comment.as_deref(), MAX_TEXT_CHARS)?;
            if a.transition.trim().is_empty() {
                return Err(invalid(tool, "the transition is empty".into()));
            }
        }
        Call::GetProject(a) => {
            a.project_key = a.project_key.trim().to_uppercase();
            check_project_key(tool, &a.project_key)?;
        }
        Call::GetBoard(a) => {
            if a.max_issues > MAX_BOARD_ISSUES {
                return Err(invalid(
                    tool,
                    format!("max_issues must be 0-{MAX_BOARD_ISSUES}"),
                ));
            }
        }
    }
    Ok(call)
}

/// Fields a create sets through their own arguments.
const OWN_ARGUMENT_FIELDS: &[&str] = &["project", "issuetype", "summary", "description", "parent"];

/// The no-delete and no-move rules for one field a write sets, by the key the caller gave and
/// again by the id it resolves to (`"Issue Type"` is `issuetype`).
pub fn check_written_field(
    tool: &str,
    field: &str,
    value: &Value,
    creating: bool,
) -> Result<(), ToolError> {
    let field = field.to_lowercase();
    if creating {
        if OWN_ARGUMENT_FIELDS.contains(&field.as_str()) {
            return Err(invalid(
                tool,
                format!("set `{field}` with its own argument, not in `fields`"),
            ));
        }
        return Ok(());
    }
    if IMMOVABLE_FIELDS.contains(&field.as_str()) {
        return Err(invalid(
            tool,
            format!(
                "`{field}` cannot be changed here: moving an issue to another project or type is \
                 not offered, and status changes go through jira_transition_issue"
            ),
        ));
    }
    let empty = value.is_null()
        || value.as_str().is_some_and(|s| s.trim().is_empty())
        || value.as_array().is_some_and(Vec::is_empty)
        || value.as_object().is_some_and(|o| o.is_empty());
    if KEY_FIELDS.contains(&field.as_str()) && empty {
        return Err(invalid(
            tool,
            format!("`{field}` cannot be cleared (no write may delete a key field)"),
        ));
    }
    Ok(())
}

fn check_text(tool: &str, name: &str, text: Option<&str>, limit: usize) -> Result<(), ToolError> {
    let Some(text) = text else { return Ok(()) };
    let chars = text.chars().count();
    if chars > limit {
        return Err(invalid(
            tool,
            format!(
                "the {name} is {chars} characters; Jira's limit is {limit}: shorten it or \
                 attach the rest as a file"
            ),
        ));
    }
    Ok(())
}

fn is_project_key(key: &str) -> bool {
    let mut chars = key.chars();
    chars.next().is_some_and(|c| c.is_ascii_uppercase())
        && chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
        && key.len() <= 255
}

fn check_project_key(tool: &str, key: &str) -> Result<(), ToolError> {
    if is_project_key(key) {
        Ok(())
    } else {
        Err(invalid(
            tool,
            format!(
                "`{key}` is not a project key (letters, digits and _, starting with a letter, e.g. PROJ)"
            ),
        ))
    }
}

/// Whether `key` has an issue key's shape (`PROJ-123`).
pub fn is_issue_key(key: &str) -> bool {
    project_of(key).is_some_and(is_project_key)
        && key
            .rsplit_once('-')
            .is_some_and(|(_, n)| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
}

fn check_issue_key(tool: &str, key: &str) -> Result<(), ToolError> {
    if is_issue_key(key) {
        Ok(())
    } else {
        Err(invalid(
            tool,
            format!("`{key}` is not an issue key such as PROJ-123"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn bad_arguments_are_refused_with_what_to_fix() {
        let cases = [
            (
                "jira_get_issue",
                json!({"issue_key": "proj-1"}),
                "not an issue key",
            ),
            (
                "jira_get_issue",
                json!({"issue_key": "PROJ"}),
                "not an issue key",
            ),
            ("jira_get_issue", json!({"issue_key": 7}), "invalid type"),
            (
                "jira_get_issue",
                json!({"issue_key": "PROJ-1", "extra": 1}),
                "unknown field",
            ),
            (
                "jira_search_issues",
                json!({"jql": "x", "max_results": 0}),
                "max_results",
            ),
            // No expansion reaches Jira: changelog and history carry a financial field's old
            // values as plain strings (`fromString`), which no key-based mask sees.
            (
                "jira_get_issue",
                json!({"issue_key": "PROJ-1", "expand": "changelog"}),
                "unknown field `expand`",
            ),
            (
                "jira_get_issue",
                json!({"issue_key": "PROJ-1", "properties": ["*all"]}),
                "unknown field `properties`",
            ),
            (
                "jira_search_issues",
                json!({"jql": "x", "expand": "names,schema,changelog"}),
                "unknown field `expand`",
            ),
            (
                "jira_create_issue",
                json!({"project": "PROJ", "issue_type": "Bug", "summary": "x", "description": "d".repeat(1_000_000)}),
                "the description is 1000000 characters; Jira's limit is 32767",
            ),
            (
                "jira_create_issue",
                json!({"project": "PROJ", "issue_type": "Bug", "summary": "  "}),
                "summary is empty",
            ),
            (
                "jira_update_issue",
                json!({"issue_key": "PROJ-1"}),
                "nothing to update",
            ),
            (
                "jira_update_issue",
                json!({"issue_key": "PROJ-1", "summary": ""}),
                "cannot be cleared",
            ),
            (
                "jira_update_issue",
                json!({"issue_key": "PROJ-1", "fields": {"project": {"key": "OTHER"}}}),
                "cannot be changed",
            ),
            (
                "jira_update_issue",
                json!({"issue_key": "PROJ-1", "fields": {"status": {"name": "Done"}}}),
                "jira_transition_issue",
            ),
            (
                "jira_update_issue",
                json!({"issue_key": "PROJ-1", "fields": {"reporter": null}}),
                "cannot be cleared",
            ),
            (
                "jira_add_comment",
                json!({"issue_key": "PROJ-1", "body": " "}),
                "empty",
            ),
            (
                "jira_get_board",
                json!({"board_id": 1, "max_issues": 500}),
                "max_issues",
            ),
        ];
        for (tool, args, expected) in cases {
            let error = parse(tool, args.clone()).unwrap_err().to_string();
            assert!(error.contains(expected), "{tool} {args}: {error}");
        }
    }

    #[test]
    fn good_arguments_parse_and_name_their_projects() {
        let call = parse(
            "jira_create_issue",
            json!({"project": "proj", "issue_type": "Story", "summary": "Do it", "parent": "EPIC-4"}),
        )
        .unwrap();
        assert_eq!(call.projects(), ["PROJ", "EPIC"]);
        let call = parse(
            "jira_transition_issue",
            json!({"issue_key": "OPS_2-17", "transition": "Done"}),
        )
        .unwrap();
        assert_eq!(call.projects(), ["OPS_2"]);
    }
}
