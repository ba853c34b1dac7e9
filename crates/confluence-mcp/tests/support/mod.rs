//! The shared test kit, plus how these tests start confluence-mcp and what they answer for
//! Confluence where Prism's generated examples cannot stand in for a real page.

#![allow(dead_code, unused_imports)] // each test binary uses a different part

use std::path::Path;

use serde_json::{Value, json};
pub use testkit::*;

pub const EMAIL: &str = "jane@corp.example";
pub const API_TOKEN: &str = "ATATT3xFfGF0-confluence-test-token";
pub const SESSION: &str = "0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b";

/// A recording proxy in front of Prism on both Confluence Cloud specs: `/wiki/api/v2` to the
/// v2 description, everything else (`/wiki/rest/api`) to the v1 description. Requests it
/// answers with an injected body are validated by Prism too.
pub fn confluence_proxy() -> RecordingProxy {
    let v2 = atlassian_prism(AtlassianSpec::ConfluenceV2);
    let v1 = atlassian_prism(AtlassianSpec::ConfluenceV1);
    let proxy = RecordingProxy::start_routed(&[("/wiki/api/v2", &v2), ("", &v1)]);
    proxy.validate_injected();
    proxy
}

/// The spaces the Cloud tests know: id -> key.
pub const SPACES: &[(&str, &str)] = &[
    ("98306", "ENG"),
    ("98307", "OPS"),
    ("1001", "HR"),
    ("1002", "LEGAL"),
    ("1003", "~jdoe"),
];

/// Starts confluence-mcp in a sandbox.
pub trait ConfluenceSandbox {
    /// confluence-mcp against the proxy's `/wiki` site, as `deployment` (`cloud`,
    /// `datacenter`), with Basic credentials and a Claude Code session id.
    fn confluence(&self, proxy: &RecordingProxy, deployment: &str) -> McpStdio;
}

impl ConfluenceSandbox for Sandbox {
    fn confluence(&self, proxy: &RecordingProxy, deployment: &str) -> McpStdio {
        let url = format!("{}/wiki", proxy.url());
        let mut server = self.spawn(
            Path::new(env!("CARGO_BIN_EXE_confluence-mcp")),
            &[
                ("CONFLUENCE_URL", &url),
                ("CONFLUENCE_DEPLOYMENT", deployment),
                ("ATLASSIAN_EMAIL", EMAIL),
                ("ATLASSIAN_API_TOKEN", API_TOKEN),
                ("CLAUDE_CODE_SESSION_ID", SESSION),
            ],
        );
        server.initialize();
        server
    }
}

/// A config naming the user and their roles, plus `extra` TOML.
pub fn config(roles: &[&str], extra: &str) -> String {
    let roles: Vec<String> = roles.iter().map(|r| format!("\"{r}\"")).collect();
    format!(
        "[identity]\nuser = \"{EMAIL}\"\nroles = [{}]\n{extra}",
        roles.join(", ")
    )
}

/// A Cloud v2 page (`GET /pages/{id}?body-format=storage&include-labels=true`), shaped as the
/// v2 description's `PageSingle`.
pub fn v2_page(id: &str, space_id: &str, version: u64, storage: &str, labels: &[&str]) -> String {
    json!({
        "id": id, "status": "current", "title": "Payments runbook", "spaceId": space_id,
        "parentId": "65537", "parentType": "page", "authorId": "5b10ac8d82e05b22cc7d4ef5",
        "createdAt": "2026-01-13T10:30:00.000Z",
        "version": {"createdAt": "2026-01-13T10:30:00.000Z", "message": "", "number": version,
                    "minorEdit": false, "authorId": "5b10ac8d82e05b22cc7d4ef5"},
        "body": {"storage": {"representation": "storage", "value": storage}},
        "labels": {"results": labels.iter().map(|l| json!({"id": "1", "name": l, "prefix": "global"})).collect::<Vec<_>>(),
                   "meta": {"hasMore": false, "cursor": ""}, "_links": {}},
        "_links": {"webui": format!("/spaces/ENG/pages/{id}/Payments+runbook"), "editui": "", "tinyui": ""},
    })
    .to_string()
}

/// A Data Center v1 page (`GET /rest/api/content/{id}?expand=body.storage,version,space,
/// metadata.labels,restrictions.update...`), shaped by Atlassian's Data Center REST docs.
pub fn v1_page(
    id: &str,
    space_key: &str,
    version: u64,
    storage: &str,
    labels: &[&str],
    restriction: Value,
) -> String {
    json!({
        "id": id, "type": "page", "status": "current", "title": "Payments runbook",
        "space": {"id": 98306, "key": space_key, "name": "Engineering", "type": "global"},
        "version": {"number": version, "message": "", "minorEdit": false},
        "body": {"storage": {"value": storage, "representation": "storage"}},
        "metadata": {"labels": {"results": labels.iter().map(|l| json!({"prefix": "global", "name": l, "id": "1"})).collect::<Vec<_>>(), "size": labels.len()}},
        "restrictions": {"update": restriction},
        "_links": {"webui": format!("/display/{space_key}/Payments+runbook")},
    })
    .to_string()
}

/// A v1 `ContentRestriction` for `update`, naming users (account id, name) and groups.
pub fn restriction(users: &[(&str, &str)], groups: &[&str]) -> Value {
    json!({
        "operation": "update",
        "restrictions": {
            "user": {"results": users.iter().map(|(id, name)| json!({"type": "known", "accountId": id, "displayName": name})).collect::<Vec<_>>(), "size": users.len()},
            "group": {"results": groups.iter().map(|g| json!({"type": "group", "name": g})).collect::<Vec<_>>(), "size": groups.len()},
        },
    })
}

/// `GET /rest/api/content/{id}/state` (Cloud, not in the vendored 2022 v1 description).
pub fn content_state(name: Option<&str>) -> String {
    match name {
        Some(name) => json!({"contentState": {"id": 3, "name": name, "color": "#57d9a3"}, "lastUpdated": "2026-01-13T10:30:00Z"}),
        None => json!({"contentState": null, "lastUpdated": null}),
    }
    .to_string()
}

/// A v2 space, as `GET /api/v2/spaces/{id}` answers it (`SpaceSingle`).
pub fn v2_space(id: &str, key: &str) -> Value {
    let kind = if key.starts_with('~') {
        "personal"
    } else {
        "global"
    };
    json!({"id": id, "key": key, "name": key, "type": kind, "status": "current",
           "homepageId": "65537", "_links": {"webui": format!("/spaces/{key}")}})
}

/// `GET /api/v2/spaces?keys=...`.
pub fn v2_spaces(spaces: &[(&str, &str)]) -> String {
    json!({
        "results": spaces.iter().map(|(id, key)| v2_space(id, key)).collect::<Vec<_>>(),
        "_links": {},
    })
    .to_string()
}

/// Answers `GET /api/v2/spaces/{id}` for the space a v2 page answer names (a page's space key
/// is read there), when it is one of [`SPACES`].
pub fn serve_space_of(proxy: &RecordingProxy, page: &str) {
    let page: Value = serde_json::from_str(page).unwrap();
    let id = page["spaceId"].as_str().unwrap_or("");
    if let Some((id, key)) = SPACES.iter().find(|(known, _)| *known == id) {
        proxy.inject(
            &format!("/wiki/api/v2/spaces/{id}"),
            200,
            &[],
            &v2_space(id, key).to_string(),
            1,
        );
    }
}

/// Answers `GET /api/v2/pages/{id}` (no query: where a comment or a child page goes) with
/// `page`, and its space.
pub fn serve_cloud_located(proxy: &RecordingProxy, id: &str, page: &str) {
    proxy.inject(&format!("/wiki/api/v2/pages/{id}"), 200, &[], page, 1);
    serve_space_of(proxy, page);
}

/// Answers, once, what Cloud reads for page `id` before showing or updating it: the page,
/// its edit restriction, its content state and its space (when one of [`SPACES`]).
pub fn serve_cloud_page(
    proxy: &RecordingProxy,
    id: &str,
    page: &str,
    restriction: &Value,
    state: Option<&str>,
) {
    proxy.inject(&format!("/wiki/api/v2/pages/{id}?"), 200, &[], page, 1);
    serve_space_of(proxy, page);
    proxy.inject(
        &format!("/wiki/rest/api/content/{id}/restriction/byOperation/update"),
        200,
        &[],
        &restriction.to_string(),
        1,
    );
    proxy.inject(
        &format!("/wiki/rest/api/content/{id}/state"),
        200,
        &[],
        &content_state(state),
        1,
    );
}

/// Who the credentials are: `GET /rest/api/user/current` and `/rest/api/user/memberof`.
pub fn serve_me(proxy: &RecordingProxy, account_id: &str, groups: &[&str]) {
    proxy.inject(
        "/wiki/rest/api/user/current",
        200,
        &[],
        &json!({"type": "known", "accountId": account_id, "email": EMAIL, "displayName": "Jane Doe"}).to_string(),
        1,
    );
    proxy.inject(
        "/wiki/rest/api/user/memberof",
        200,
        &[],
        &json!({"results": groups.iter().map(|g| json!({"type": "group", "name": g})).collect::<Vec<_>>(), "size": groups.len()}).to_string(),
        1,
    );
}

/// Whether a tool result is an error.
pub fn is_error(result: &Value) -> bool {
    result["isError"] == json!(true)
}

/// The newest outcome event in the journal.
pub fn last_outcome(sandbox: &Sandbox) -> Value {
    sandbox
        .journal()
        .into_iter()
        .rev()
        .find(|e| e["phase"] == "outcome")
        .expect("an outcome event")
}

/// Checks that a call was refused with `expected`. A refusal for a page in a hidden space
/// ("page 111 is in the sensitive space HR") is the journal's reason only: the caller reads
/// what a missing page would say, and never the space.
pub fn assert_refused(text: &str, sandbox: &Sandbox, expected: &str) {
    let Some((_, page)) = expected
        .split_once("page ")
        .filter(|(_, rest)| rest.contains(" is in the sensitive space "))
    else {
        assert!(text.contains(expected), "expected `{expected}` in: {text}");
        return;
    };
    let id = page.split(' ').next().unwrap_or_default();
    assert!(
        text.contains(&format!(
            "page {id} was not found (or your account cannot see it)"
        )),
        "a hidden page reads as a missing one: {text}"
    );
    assert!(!text.contains("sensitive"), "{text}");
    let outcome = last_outcome(sandbox);
    assert_eq!(outcome["result"], "denied", "{outcome}");
    assert!(
        outcome["decision"]["reason"]
            .as_str()
            .is_some_and(|r| r.contains(expected)),
        "the journal keeps the reason: {outcome}"
    );
}

/// Fails when Prism flagged any request (those answered by an injection included), or
/// answered one with 400 or 422.
pub fn assert_no_request_violations(proxy: &RecordingProxy) {
    assert_no_violations_but(proxy, |_, _| false);
}

/// Data Center names users by `username`, which Cloud's v1 description marks deprecated (a
/// warning, since Cloud moved to account ids); every other flag fails.
pub fn assert_no_violations_but_data_center_usernames(proxy: &RecordingProxy) {
    assert_no_violations_but(proxy, |_, v| {
        v["code"] == "deprecated" && v["location"] == json!(["request", "query", "username"])
    });
}

/// Fails when Prism flagged a request for anything but what `known` accepts.
fn assert_no_violations_but(proxy: &RecordingProxy, known: impl Fn(&Recorded, &Value) -> bool) {
    let mut flagged = Vec::new();
    for r in proxy.requests() {
        let violations: Vec<Value> = r
            .request_violations()
            .map(|v| serde_json::from_str(&v).unwrap())
            .unwrap_or_default();
        let refused = r.status == 422 || (r.status == 400 && !violations.is_empty());
        if refused || !violations.iter().all(|v| known(&r, v)) {
            flagged.push(format!(
                "{} {} -> {} {violations:?}",
                r.method, r.path, r.status
            ));
        }
    }
    assert!(
        flagged.is_empty(),
        "Prism flagged requests as invalid:\n{}",
        flagged.join("\n")
    );
}

/// Answers the next request under `path` with 200 and `body` (Prism still validates it): a
/// write whose answer must play a real page, which Prism's examples (`"id": "string"`) cannot.
pub fn accept(proxy: &RecordingProxy, path: &str, body: &str) {
    proxy.inject(path, 200, &[], body, 1);
}

/// A v2 footer comment, as `POST /footer-comments` answers.
pub fn v2_comment(page_id: &str) -> String {
    json!({"id": "5001", "status": "current", "title": "Re: Payments runbook", "pageId": page_id,
           "version": {"number": 1}, "body": {}, "_links": {"webui": format!("/spaces/ENG/pages/{page_id}?focusedCommentId=5001")}})
    .to_string()
}
