//! The six tools: their arguments (schemas generated from these types) and the bounds the
//! schema cannot express.
//!
//! There is deliberately no delete, move or restriction-changing tool. Not here: anything read
//! from Confluence; what the checks of a call establish travels in `plan::Plan`.

use governance::server::{Access, ToolError, ToolSpec, parse_args};
use schemars::JsonSchema;
use serde::Deserialize;

/// Largest storage body written, in bytes (after Markdown is converted).
pub const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;
// Every result stays inside `governance::server::RESULT_BUDGET_BYTES` (60,000 bytes of
// serialized JSON) by the bounds below, in serialized bytes (`governance::server::budget`),
// each with a `truncated` marker and the argument that reads on.

/// A page's body per call, in serialized bytes; `body_offset` reads on from
/// `body_next_offset`.
pub const MAX_BODY_OUT_BYTES: usize = 40_000;
/// One search hit (title, excerpt, URL, ...).
pub const MAX_HIT_BYTES: usize = 2_000;
/// All hits of one search, with what marking their titles and excerpts untrusted may add;
/// hits past it are left for `start` (`next_start`).
pub const MAX_HITS_BYTES: usize = 45_000;
/// Longest CQL query accepted, in characters.
pub const MAX_CQL_CHARS: usize = 4_000;
/// Longest page title Confluence accepts, in characters.
pub const MAX_TITLE_CHARS: usize = 255;
/// Most labels one new page may get.
pub const MAX_LABELS: usize = 20;

/// How a body is written or read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Markdown (GFM), converted to and from Confluence's storage format.
    #[default]
    Markdown,
    /// Confluence's XHTML storage format, verbatim.
    Storage,
}

/// Search with CQL.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Search {
    /// A CQL query, e.g. `type = page AND space = ENG AND text ~ "deploy"`.
    pub cql: String,
    /// Most results (1 to the configured `confluence.max_results`, default that maximum).
    #[serde(default)]
    pub limit: Option<u32>,
    /// Index of the first result (a result with more answers `next_start`).
    #[serde(default)]
    pub start: u32,
}

/// Read a page.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetPage {
    /// The page id. Give this, or `space_key` and `title`.
    #[serde(default)]
    pub page_id: Option<String>,
    /// The space key, with `title`.
    #[serde(default)]
    pub space_key: Option<String>,
    /// The exact page title, with `space_key`.
    #[serde(default)]
    pub title: Option<String>,
    /// `markdown` (default) or `storage` (the raw XHTML body: read this before updating a page
    /// that holds macros, layouts, images or mentions).
    #[serde(default)]
    pub format: Format,
    /// Byte offset in the body (in `format`) to start at: a body cut short answers
    /// `body_next_offset`.
    #[serde(default)]
    pub body_offset: usize,
}

/// Create a page.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePage {
    /// The key of the space to create the page in.
    pub space_key: String,
    /// The page title (unique in the space).
    pub title: String,
    /// The body, in `format`.
    #[serde(default)]
    pub body: String,
    /// `markdown` (default) or `storage`.
    #[serde(default)]
    pub format: Format,
    /// The id of the parent page; the space's home page when omitted.
    #[serde(default)]
    pub parent_id: Option<String>,
    /// Labels to add (lower-case words without spaces).
    #[serde(default)]
    pub labels: Vec<String>,
}

/// Update a page's body (and optionally its title).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdatePage {
    /// The page id.
    pub page_id: String,
    /// The version number `confluence_get_page` returned: the update is refused when the page
    /// has changed since.
    pub version: u64,
    /// The new body, in `format`; it replaces the whole body.
    pub body: String,
    /// `markdown` (default) or `storage`. A page holding what Markdown cannot carry (macros,
    /// layouts, images, mentions, status lozenges) can only be updated with `storage`.
    #[serde(default)]
    pub format: Format,
    /// A new title; the current one when omitted.
    #[serde(default)]
    pub title: Option<String>,
}

/// Read a space.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetSpace {
    /// The space key, e.g. `ENG`.
    pub space_key: String,
}

/// Comment on a page.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AddComment {
    /// The page id.
    pub page_id: String,
    /// The comment, in `format`.
    pub body: String,
    /// `markdown` (default) or `storage`.
    #[serde(default)]
    pub format: Format,
}

/// A parsed call.
#[derive(Debug)]
pub enum Call {
    /// confluence_search
    Search(Search),
    /// confluence_get_page
    GetPage(GetPage),
    /// confluence_create_page
    CreatePage(CreatePage),
    /// confluence_update_page
    UpdatePage(UpdatePage),
    /// confluence_get_space
    GetSpace(GetSpace),
    /// confluence_add_comment
    AddComment(AddComment),
}

/// The tool table.
pub fn specs() -> Vec<ToolSpec> {
    vec![
        ToolSpec::new::<Search>(
            "confluence_search",
            "Search Confluence",
            "Search pages, blog posts and comments with CQL; returns titles, spaces and excerpts. \
             Spaces your roles may not see are excluded. More results: `start` = `next_start`.",
            Access::Read,
        ),
        ToolSpec::new::<GetPage>(
            "confluence_get_page",
            "Get page",
            "Read a page by id, or by space key and title: body as Markdown (default) or the raw \
             storage format, version, labels, edit restrictions and content state. A long body \
             is cut (`body_truncated`): `body_offset` = `body_next_offset` reads on.",
            Access::Read,
        ),
        ToolSpec::new::<CreatePage>(
            "confluence_create_page",
            "Create page",
            "Create a page in a space, under a parent page, from Markdown or storage format, \
             with labels.",
            Access::Write,
        ),
        ToolSpec::new::<UpdatePage>(
            "confluence_update_page",
            "Update page",
            "Replace a page's body (and title), as a new version naming you and this session. \
             Pass the version you read. Locked or approved pages refuse updates; pages holding \
             macros or layouts must be read and written with format `storage`.",
            Access::Write,
        ),
        ToolSpec::new::<GetSpace>(
            "confluence_get_space",
            "Get space",
            "Read a space by key: name, type, status, description and home page.",
            Access::Read,
        ),
        ToolSpec::new::<AddComment>(
            "confluence_add_comment",
            "Add comment",
            "Add a footer comment to a page, from Markdown or storage format.",
            Access::Write,
        ),
    ]
}

/// Parses `args` for the tool `name`, checking bounds the schema cannot express;
/// `max_results` is the configured search maximum.
pub fn parse(name: &str, args: serde_json::Value, max_results: u32) -> Result<Call, ToolError> {
    let call = match name {
        "confluence_search" => Call::Search(parse_args(name, args)?),
        "confluence_get_page" => Call::GetPage(parse_args(name, args)?),
        "confluence_create_page" => Call::CreatePage(parse_args(name, args)?),
        "confluence_update_page" => Call::UpdatePage(parse_args(name, args)?),
        "confluence_get_space" => Call::GetSpace(parse_args(name, args)?),
        "confluence_add_comment" => Call::AddComment(parse_args(name, args)?),
        other => return Err(ToolError::InvalidArguments(format!("unknown tool {other}"))),
    };
    let invalid = |m: String| ToolError::InvalidArguments(format!("{name}: {m}"));
    match &call {
        Call::Search(a) => {
            if a.cql.trim().is_empty() {
                return Err(invalid("cql must not be empty".into()));
            }
            if a.cql.chars().count() > MAX_CQL_CHARS {
                return Err(invalid(format!(
                    "cql is longer than {MAX_CQL_CHARS} characters"
                )));
            }
            if let Some(limit) = a.limit
                && !(1..=max_results).contains(&limit)
            {
                return Err(invalid(format!(
                    "limit must be 1-{max_results} (confluence.max_results), not {limit}"
                )));
            }
        }
        Call::GetPage(a) => match (&a.page_id, &a.space_key, &a.title) {
            (Some(id), None, None) => check_id("page_id", id).map_err(invalid)?,
            (None, Some(key), Some(title)) => {
                check_key(key).map_err(invalid)?;
                check_title(title).map_err(invalid)?;
            }
            _ => {
                return Err(invalid(
                    "give either page_id, or space_key and title".into(),
                ));
            }
        },
        Call::CreatePage(a) => {
            check_key(&a.space_key).map_err(invalid)?;
            check_title(&a.title).map_err(invalid)?;
            check_body(&a.body, false).map_err(invalid)?;
            if let Some(parent) = &a.parent_id {
                check_id("parent_id", parent).map_err(invalid)?;
            }
            if a.labels.len() > MAX_LABELS {
                return Err(invalid(format!("at most {MAX_LABELS} labels")));
            }
            for label in &a.labels {
                check_label(label).map_err(invalid)?;
            }
        }
        Call::UpdatePage(a) => {
            check_id("page_id", &a.page_id).map_err(invalid)?;
            if let Some(title) = &a.title {
                check_title(title).map_err(invalid)?;
            }
            check_body(&a.body, true).map_err(invalid)?;
            if a.version == 0 {
                return Err(invalid(
                    "version starts at 1: pass the version you read".into(),
                ));
            }
        }
        Call::GetSpace(a) => check_key(&a.space_key).map_err(invalid)?,
        Call::AddComment(a) => {
            check_id("page_id", &a.page_id).map_err(invalid)?;
            check_body(&a.body, true).map_err(invalid)?;
        }
    }
    Ok(call)
}

fn check_id(field: &str, id: &str) -> Result<(), String> {
    if id.is_empty() || id.len() > 19 || !id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "{field} `{id}` is not a Confluence content id (digits)"
        ));
    }
    Ok(())
}

fn check_key(key: &str) -> Result<(), String> {
    let valid = !key.is_empty()
        && key.len() <= 255
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '~' || c == '_' || c == '-');
    if !valid {
        return Err(format!("space_key `{key}` is not a Confluence space key"));
    }
    Ok(())
}

fn check_title(title: &str) -> Result<(), String> {
    if title.trim().is_empty() {
        return Err("title must not be empty".into());
    }
    if title.chars().count() > MAX_TITLE_CHARS {
        return Err(format!("title is longer than {MAX_TITLE_CHARS} characters"));
    }
    Ok(())
}

fn check_body(body: &str, required: bool) -> Result<(), String> {
    if required && body.trim().is_empty() {
        return Err("body must not be empty".into());
    }
    if body.len() > MAX_BODY_BYTES {
        return Err(format!(
            "body is {} bytes; the limit is {MAX_BODY_BYTES} bytes",
            body.len()
        ));
    }
    Ok(())
}

fn check_label(label: &str) -> Result<(), String> {
    let valid = !label.is_empty()
        && label.chars().count() <= 255
        && !label
            .chars()
            .any(|c| c.is_whitespace() || "!#&()*,.:;<>?@[]^".contains(c));
    if !valid {
        return Err(format!(
            "label `{label}` is not a Confluence label (no spaces or !#&()*,.:;<>?@[]^)"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn bad_input_is_refused_with_what_to_fix() {
        let big = "x".repeat(MAX_BODY_BYTES + 1);
        let cases = [
            (
                "confluence_search",
                json!({"cql": " "}),
                "cql must not be empty",
            ),
            (
                "confluence_search",
                json!({"cql": "type=page", "limit": 26}),
                "limit must be 1-25",
            ),
            (
                "confluence_search",
                json!({"cql": "type=page", "sort": "x"}),
                "unknown field",
            ),
            ("confluence_get_page", json!({}), "give either page_id"),
            (
                "confluence_get_page",
                json!({"page_id": "12", "title": "x"}),
                "give either",
            ),
            (
                "confluence_get_page",
                json!({"page_id": "12; drop"}),
                "not a Confluence content id",
            ),
            (
                "confluence_get_page",
                json!({"space_key": "ENG", "title": " "}),
                "title must not be empty",
            ),
            (
                "confluence_get_page",
                json!({"page_id": "1", "format": "html"}),
                "unknown variant",
            ),
            (
                "confluence_create_page",
                json!({"space_key": "ENG", "title": ""}),
                "title must not be empty",
            ),
            (
                "confluence_create_page",
                json!({"space_key": "EN G", "title": "t"}),
                "not a Confluence space key",
            ),
            (
                "confluence_create_page",
                json!({"space_key": "ENG", "title": "t", "labels": ["two words"]}),
                "not a Confluence label",
            ),
            (
                "confluence_create_page",
                json!({"space_key": "ENG", "title": "t", "parent_id": "abc"}),
                "parent_id `abc`",
            ),
            (
                "confluence_create_page",
                json!({"space_key": "ENG", "title": "t", "body": big}),
                "the limit is 2097152 bytes",
            ),
            (
                "confluence_update_page",
                json!({"page_id": "1", "version": 3, "body": ""}),
                "body must not be empty",
            ),
            (
                "confluence_update_page",
                json!({"page_id": "1", "body": "x"}),
                "missing field `version`",
            ),
            (
                "confluence_update_page",
                json!({"page_id": "1", "version": 0, "body": "x"}),
                "version starts at 1",
            ),
            (
                "confluence_update_page",
                json!({"page_id": "1", "version": 2, "body": "x", "title": "  "}),
                "title must not be empty",
            ),
            (
                "confluence_get_space",
                json!({"space_key": "\"HR\""}),
                "not a Confluence space key",
            ),
            (
                "confluence_add_comment",
                json!({"page_id": "1", "body": "\n"}),
                "body must not be empty",
            ),
        ];
        for (tool, args, needle) in cases {
            let error = parse(tool, args.clone(), 25).unwrap_err();
            assert!(error.to_string().contains(needle), "{tool} {args}: {error}");
        }
    }

    #[test]
    fn good_input_parses() {
        let cases = [
            (
                "confluence_search",
                json!({"cql": "type=page", "limit": 25}),
            ),
            (
                "confluence_get_page",
                json!({"page_id": "65538", "format": "storage"}),
            ),
            (
                "confluence_get_page",
                json!({"space_key": "~5b10ac8d", "title": "Notes"}),
            ),
            (
                "confluence_create_page",
                json!({"space_key": "ENG", "title": "t", "labels": ["runbook", "sre-team"]}),
            ),
            (
                "confluence_update_page",
                json!({"page_id": "1", "version": 7, "body": "# Hi"}),
            ),
            ("confluence_get_space", json!({"space_key": "ENG"})),
            (
                "confluence_add_comment",
                json!({"page_id": "1", "body": "LGTM"}),
            ),
        ];
        for (tool, args) in cases {
            parse(tool, args.clone(), 25).unwrap_or_else(|e| panic!("{tool} {args}: {e}"));
        }
    }
}
