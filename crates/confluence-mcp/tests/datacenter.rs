//! confluence-mcp on Confluence Data Center: REST v1 only (`/rest/api/content`, `body.storage`,
//! `expand`), as Atlassian's Data Center REST documentation describes it. No official Data
//! Center description exists here, so requests go to Prism on the Confluence Cloud v1
//! description, the closest official one: Data Center's v1 resources (content, search, space,
//! user) are the ones Cloud's v1 grew from, with the same paths under the site's context path
//! and the same bodies. Where an answer must play a real page (versions, labels, the
//! `restrictions.update` expansion, Data Center user names), the proxy answers with bodies
//! shaped as those docs show.

mod support;

use serde_json::{Value, json};
use support::*;

const PAGE: &str = "65538";

/// Roles, the page's space, labels, edit restriction, my groups, body format, current storage,
/// and the refusal expected.
type GuardCase = (
    &'static [&'static str],
    &'static str,
    &'static [&'static str],
    Value,
    &'static [&'static str],
    &'static str,
    &'static str,
    Option<&'static str>,
);

fn plain() -> Value {
    restriction(&[], &[])
}

fn serve_dc_page(
    proxy: &RecordingProxy,
    id: &str,
    space: &str,
    version: u64,
    storage: &str,
    labels: &[&str],
    restricted: Value,
) {
    proxy.inject(
        &format!("/wiki/rest/api/content/{id}?"),
        200,
        &[],
        &v1_page(id, space, version, storage, labels, restricted),
        2,
    );
}

fn sent_json(request: &Recorded) -> Value {
    serde_json::from_str(&request.body).unwrap()
}

/// Every tool through REST v1, validated by Prism.
#[test]
fn every_tool_speaks_rest_v1_on_data_center() {
    let sandbox = Sandbox::new(&config(&["delivery"], ""));
    let proxy = confluence_proxy();
    let mut server = sandbox.confluence(&proxy, "datacenter");
    let storage = "<p>Restart with <code>systemctl restart pay</code>.</p>";
    type Setup = Box<dyn Fn(&RecordingProxy)>;
    let cases: Vec<(&str, Value, Setup, &[&str])> = vec![
        (
            "confluence_search",
            json!({"cql": "space = ENG AND type = page", "limit": 3}),
            Box::new(|_| {}),
            &["results"],
        ),
        (
            "confluence_get_page",
            json!({"page_id": PAGE}),
            Box::new(move |p| serve_dc_page(p, PAGE, "ENG", 7, storage, &["sre"], plain())),
            &["body", "version", "labels", "edit_restrictions"],
        ),
        (
            "confluence_get_page",
            json!({"space_key": "ENG", "title": "Payments runbook"}),
            Box::new(|_| {}),
            &["body", "version"],
        ),
        (
            "confluence_create_page",
            json!({"space_key": "ENG", "title": "Deploy notes", "body": "> [!TIP]\n> Tag first", "parent_id": PAGE, "labels": ["deploy"]}),
            Box::new(|_| {}),
            &["id"],
        ),
        (
            "confluence_update_page",
            json!({"page_id": PAGE, "version": 7, "body": "Restart with `systemctl restart pay` twice."}),
            Box::new(move |p| serve_dc_page(p, PAGE, "ENG", 7, storage, &[], plain())),
            &["version", "version_message"],
        ),
        (
            "confluence_get_space",
            json!({"space_key": "ENG"}),
            Box::new(|_| {}),
            &["key", "name"],
        ),
        (
            "confluence_add_comment",
            json!({"page_id": PAGE, "body": "Done."}),
            Box::new(|_| {}),
            &["id"],
        ),
    ];
    for (tool, args, setup, keys) in &cases {
        proxy.clear_injections();
        setup(&proxy);
        let result = server.call(tool, args.clone());
        assert!(!is_error(&result), "{tool}: {}", result_text(&result));
        for key in *keys {
            assert!(
                result["structuredContent"].get(*key).is_some(),
                "{tool}: no `{key}`"
            );
        }
    }
    assert_no_violations_but_data_center_usernames(&proxy);
    assert!(
        proxy.requests_to("GET", "/wiki/api/v2").is_empty(),
        "no v2 request on Data Center"
    );

    let create = sent_json(
        &proxy
            .requests_to("POST", "/wiki/rest/api/content")
            .remove(0),
    );
    assert_eq!(create["type"], "page");
    assert_eq!(create["space"], json!({"key": "ENG"}));
    assert_eq!(create["ancestors"], json!([{"id": PAGE}]));
    assert_eq!(
        create["metadata"]["labels"],
        json!([{"prefix": "global", "name": "deploy"}])
    );
    assert!(
        create["body"]["storage"]["value"]
            .as_str()
            .unwrap()
            .starts_with("<ac:structured-macro ac:name=\"tip\"")
    );
    let update = sent_json(&proxy.requests_to("PUT", &format!("/wiki/rest/api/content/{PAGE}"))[0]);
    assert_eq!(
        update["version"],
        json!({"number": 8, "message": format!("Updated via Claude Code by {EMAIL} (session {SESSION})")})
    );
    assert_eq!(update["type"], "page");
    let comment = sent_json(
        &proxy
            .requests_to("POST", "/wiki/rest/api/content")
            .remove(1),
    );
    assert_eq!(comment["container"], json!({"id": PAGE, "type": "page"}));
    let get = &proxy.requests_to("GET", &format!("/wiki/rest/api/content/{PAGE}?"))[0];
    assert!(
        get.path.contains("restrictions.update.restrictions.user"),
        "{}",
        get.path
    );
}

/// The guardrails on Data Center: edit restrictions (by user name and group), locked labels,
/// sensitive spaces by the page's own space key, lossy Markdown.
#[test]
fn guardrails_hold_on_data_center() {
    let extra = "[confluence]\nsensitive_spaces = { HR = [\"hr\"] }\n";
    let dc_user = |p: &RecordingProxy, groups: &[&str]| {
        p.inject("/wiki/rest/api/user/current", 200, &[], &json!({"type": "known", "username": "jane", "userKey": "8a7f808a8c1e2b3c", "displayName": "Jane Doe"}).to_string(), 1);
        p.inject("/wiki/rest/api/user/memberof", 200, &[], &json!({"results": groups.iter().map(|g| json!({"type": "group", "name": g})).collect::<Vec<_>>()}).to_string(), 1);
    };
    let dc_restriction = |users: &[(&str, &str)], groups: &[&str]| {
        json!({"operation": "update", "restrictions": {
            "user": {"results": users.iter().map(|(name, display)| json!({"type": "known", "username": name, "userKey": format!("key-{name}"), "displayName": display})).collect::<Vec<_>>()},
            "group": {"results": groups.iter().map(|g| json!({"type": "group", "name": g})).collect::<Vec<_>>()}}})
    };
    // (roles, space, labels, restriction, my groups, body format, storage, refusal)
    let cases: Vec<GuardCase> = vec![
        (
            &["delivery"],
            "ENG",
            &[],
            plain(),
            &[],
            "markdown",
            "<p>x</p>",
            None,
        ),
        (
            &["delivery"],
            "ENG",
            &[],
            dc_restriction(&[("pat", "Pat Boss")], &[]),
            &["confluence-users"],
            "markdown",
            "<p>x</p>",
            Some("edit-restricted to Pat Boss"),
        ),
        (
            &["delivery"],
            "ENG",
            &[],
            dc_restriction(&[("jane", "Jane Doe")], &[]),
            &[],
            "markdown",
            "<p>x</p>",
            None,
        ),
        (
            &["delivery"],
            "ENG",
            &[],
            dc_restriction(&[], &["sre"]),
            &["sre"],
            "markdown",
            "<p>x</p>",
            None,
        ),
        (
            &["delivery"],
            "ENG",
            &["approved"],
            plain(),
            &[],
            "markdown",
            "<p>x</p>",
            Some("the label `approved`"),
        ),
        (
            &["delivery"],
            "HR",
            &[],
            plain(),
            &[],
            "markdown",
            "<p>x</p>",
            Some("sensitive space HR"),
        ),
        (
            &["hr"],
            "HR",
            &[],
            plain(),
            &[],
            "markdown",
            "<p>x</p>",
            None,
        ),
        (
            &["delivery"],
            "ENG",
            &[],
            plain(),
            &[],
            "markdown",
            "<p><ac:structured-macro ac:name=\"jira\" /></p>",
            Some("macro `jira`"),
        ),
        (
            &["delivery"],
            "ENG",
            &[],
            plain(),
            &[],
            "storage",
            "<p><ac:structured-macro ac:name=\"jira\" /></p>",
            None,
        ),
    ];
    let proxy = confluence_proxy();
    for (i, (roles, space, labels, restricted, groups, format, storage, refusal)) in
        cases.into_iter().enumerate()
    {
        let sandbox = Sandbox::new(&config(roles, extra));
        let mut server = sandbox.confluence(&proxy, "datacenter");
        proxy.clear_injections();
        serve_dc_page(&proxy, PAGE, space, 3, storage, labels, restricted);
        dc_user(&proxy, groups);
        let body = if format == "storage" {
            "<p>new</p>"
        } else {
            "new"
        };
        let before = proxy.requests_to("PUT", "/").len();
        let result = server.call(
            "confluence_update_page",
            json!({"page_id": PAGE, "version": 3, "body": body, "format": format}),
        );
        let puts = proxy.requests_to("PUT", "/").len() - before;
        let text = result_text(&result);
        match refusal {
            None => {
                assert!(!is_error(&result), "case {i}: {text}");
                assert_eq!(puts, 1, "case {i}");
            }
            Some(needle) => {
                assert!(
                    is_error(&result) && text.contains(needle),
                    "case {i}: {text}"
                );
                assert_eq!(puts, 0, "case {i}: nothing sent");
            }
        }
    }
    assert_no_violations_but_data_center_usernames(&proxy);
}
