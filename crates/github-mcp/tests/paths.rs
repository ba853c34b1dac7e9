//! Hostile names, paths, refs and search queries against the real binary: each is refused with
//! a message that says what to send instead, before anything reaches GitHub (Prism, behind a
//! proxy that records every request); and legitimate names with dots, percent signs and
//! Unicode still reach GitHub as exactly the resource that was checked.

// A test that cannot set up fails loudly: unwrap and expect are the point here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use serde_json::{Value, json};
use support::{GithubSandbox, RecordingProxy, Sandbox, github_prism, result_text};

const TOKEN: &str = "ghp_TESTTOKEN0123456789abcdefghijklmnopqrst";
const CONFIG: &str = "[github]\nread_scope = [\"acme/*\", \"octo/*\"]\nwrite_scope = [\"acme/*\"]\nwrite_scope_from_teams = false\n";

fn file(owner: &str, repo: &str, path: &str) -> Value {
    json!({"owner": owner, "repo": repo, "path": path})
}

#[test]
fn hostile_arguments_are_refused_before_anything_is_sent() {
    let proxy = RecordingProxy::start(github_prism());
    let sandbox = Sandbox::new(CONFIG);
    let mut server = sandbox.github(proxy.url(), Some(TOKEN));
    server.initialize();
    let contents = "github_get_file_contents";
    let pr = |head: &str, base: &str| json!({"owner": "acme", "repo": "api", "title": "t", "head": head, "base": base});
    let commits = |key: &str, value: &str| {
        let mut args = json!({"owner": "acme", "repo": "api"});
        args[key] = value.into();
        args
    };
    // (tool, arguments, words the refusal holds)
    let cases: Vec<(&str, Value, &str)> = vec![
        // Owner and repository: GitHub's name rules; dot segments in any spelling.
        (contents, file("acme", "..", "x"), "relative path"),
        (contents, file("acme", ".", "x"), "relative path"),
        (
            contents,
            file("..", "api", "x"),
            "not a GitHub user or organization name",
        ),
        (
            contents,
            file("acme", "%2e%2e", "x"),
            "not a GitHub repository name",
        ),
        (
            contents,
            file("acme", "%2E.", "x"),
            "not a GitHub repository name",
        ),
        (
            contents,
            file("acme", "api/../../other", "x"),
            "not a GitHub repository name",
        ),
        (
            contents,
            file("acme", "api\\..", "x"),
            "not a GitHub repository name",
        ),
        (contents, file("acme/..", "api", "x"), "not a GitHub user"),
        (contents, file("acme", "api.git", "x"), "without the suffix"),
        (
            contents,
            file("acme", "api\u{0}", "x"),
            "not a GitHub repository name",
        ),
        (
            contents,
            file("acme", "", "x"),
            "not a GitHub repository name",
        ),
        // Paths: every spelling of a step out of the repository.
        (
            contents,
            file("acme", "api", "../../../../repos/other/private/contents/x"),
            "`..` segment",
        ),
        (
            contents,
            file("acme", "api", "docs/../../../x"),
            "`..` segment",
        ),
        (
            contents,
            file("acme", "api", "%2e%2e/%2e%2e/x"),
            "`..` segment",
        ),
        (contents, file("acme", "api", "%2E./x"), "`..` segment"),
        (
            contents,
            file("acme", "api", "%252e%252e/x"),
            "`..` segment",
        ),
        (contents, file("acme", "api", "..;/x"), "`..` segment"),
        (contents, file("acme", "api", "．．/x"), "`..` segment"),
        (contents, file("acme", "api", "./README.md"), "`..` segment"),
        (contents, file("acme", "api", "..\\..\\x"), "backslash"),
        (contents, file("acme", "api", "a%5c..%5cx"), "backslash"),
        (
            contents,
            file("acme", "api", "a%2f..%2f..%2fx"),
            "encoded or full-width `/`",
        ),
        (contents, file("acme", "api", "a\u{0}b"), "U+0000"),
        (contents, file("acme", "api", "a%00.md"), "U+0000"),
        (
            contents,
            file("acme", "api", "a%0d%0aX-Injected: 1"),
            "U+000D",
        ),
        (
            contents,
            file("acme", "api", "/etc/passwd"),
            "starts with `/`",
        ),
        (contents, file("acme", "api", "a//b"), "empty segment"),
        (contents, file("acme", "api", "src/"), "empty segment"),
        // Refs, in the query string, by git's rules in every spelling.
        (
            contents,
            json!({"owner": "acme", "repo": "api", "path": "x", "ref": "../../main"}),
            "holds `..`",
        ),
        (
            contents,
            json!({"owner": "acme", "repo": "api", "path": "x", "ref": "main%00"}),
            "NUL",
        ),
        (
            contents,
            json!({"owner": "acme", "repo": "api", "path": "x", "ref": "main\r\nX: y"}),
            "control character",
        ),
        (
            "github_list_commits",
            commits("sha", "%2e%2e"),
            "holds `..`",
        ),
        (
            "github_list_commits",
            commits("path", "../x"),
            "`..` segment",
        ),
        (
            "github_list_commits",
            commits("path", ""),
            "must name a file",
        ),
        (
            "github_list_commits",
            commits("author", "x&since=1"),
            "not a GitHub login",
        ),
        (
            "github_list_commits",
            commits("since", "yesterday"),
            "RFC 3339",
        ),
        (
            "github_list_pull_requests",
            json!({"owner": "acme", "repo": "api", "head": "../x:main"}),
            "not a GitHub login",
        ),
        (
            "github_list_pull_requests",
            json!({"owner": "acme", "repo": "api", "base": "a b"}),
            "whitespace",
        ),
        // Writes: the same names, the same rules, refused before the intent is journaled.
        (
            "github_create_pull_request",
            pr("feature", "main/.."),
            "holds `..`",
        ),
        (
            "github_create_pull_request",
            pr("evil:..", "main"),
            "holds `..`",
        ),
        (
            "github_add_comment",
            json!({"owner": "acme", "repo": "..", "issue_number": 1, "body": "x"}),
            "relative path",
        ),
        // Search: the query may not reach past the read scope, in any spelling of a qualifier.
        (
            "github_search_repositories",
            json!({"query": "password repo:other/private"}),
            "`repo:other/private` reaches outside github.read_scope",
        ),
        (
            "github_search_repositories",
            json!({"query": "org:other secret"}),
            "reaches outside github.read_scope",
        ),
        (
            "github_search_repositories",
            json!({"query": "USER:other"}),
            "reaches outside github.read_scope",
        ),
        (
            "github_search_repositories",
            json!({"query": "x (repo:\"other/private\")"}),
            "reaches outside github.read_scope",
        ),
        (
            "github_search_repositories",
            json!({"query": "x\u{a0}org:other"}),
            "reaches outside github.read_scope",
        ),
        (
            "github_search_repositories",
            json!({"query": "x --repo:other/private"}),
            "reaches outside github.read_scope",
        ),
        (
            "github_search_repositories",
            json!({"query": "org:acme repo:acme/.."}),
            "reaches outside github.read_scope",
        ),
        (
            "github_search_repositories",
            json!({"query": "x\nrepo:other/y"}),
            "control character",
        ),
        (
            "github_search_repositories",
            json!({"query": "a".repeat(257)}),
            "longer than GitHub's 256",
        ),
    ];
    for (tool, args, words) in &cases {
        let result = server.call(tool, args.clone());
        let text = result_text(&result);
        assert_eq!(result["isError"], json!(true), "{tool} {args}: {text}");
        assert!(text.contains(words), "{tool} {args}: {text}");
    }
    // The server's own start-up read of the account (`GET /user`, the audit user) aside.
    let sent: Vec<String> = proxy
        .requests()
        .into_iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .filter(|r| r != "GET /user")
        .collect();
    assert!(sent.is_empty(), "nothing reaches GitHub: {sent:?}");
    let intents = sandbox
        .journal()
        .into_iter()
        .filter(|e| e["phase"] == "intent")
        .count();
    assert_eq!(intents, 0, "no refused write got as far as its intent");
}

#[test]
fn legitimate_names_reach_github_as_checked() {
    let proxy = RecordingProxy::start(github_prism());
    let sandbox = Sandbox::new(CONFIG);
    let mut server = sandbox.github(proxy.url(), Some(TOKEN));
    server.initialize();
    // (tool, arguments, the request GitHub receives: path and query, exactly). Prism routes
    // `{path}` of the contents endpoint as one non-empty segment only, so a nested path or the
    // root is answered by the proxy, as GitHub describes the answer; the request is recorded
    // all the same.
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "github_get_file_contents",
            file("acme", "my.repo", "a/.github/workflows/ci.yml"),
            "/repos/acme/my.repo/contents/a/.github/workflows/ci.yml",
        ),
        (
            "github_get_file_contents",
            file("octo", ".github", "profile/README.md"),
            "/repos/octo/.github/contents/profile/README.md",
        ),
        (
            "github_get_file_contents",
            json!({"owner": "acme", "repo": "docs", "path": "ドキュメント/説明.md", "ref": "feature/x-1.2"}),
            "/repos/acme/docs/contents/%E3%83%89%E3%82%AD%E3%83%A5%E3%83%A1%E3%83%B3%E3%83%88/%E8%AA%AC%E6%98%8E.md?ref=feature%2Fx-1.2",
        ),
        (
            "github_get_file_contents",
            file("acme", "docs", "café/naïve résumé.txt"),
            "/repos/acme/docs/contents/caf%C3%A9/na%C3%AFve%20r%C3%A9sum%C3%A9.txt",
        ),
        (
            "github_get_file_contents",
            file("acme", "docs", "100%.txt"),
            "/repos/acme/docs/contents/100%25.txt",
        ),
        (
            "github_get_file_contents",
            file("acme", "docs", "notes..v2.md"),
            "/repos/acme/docs/contents/notes..v2.md",
        ),
        (
            "github_get_file_contents",
            json!({"owner": "acme", "repo": "api", "path": "", "ref": "main&path=x"}),
            "/repos/acme/api/contents/?ref=main%26path%3Dx",
        ),
        (
            "github_list_commits",
            json!({"owner": "acme", "repo": "api", "path": "src/a b+c.rs", "author": "jdoe@corp.example"}),
            "/repos/acme/api/commits?per_page=30&page=1&path=src%2Fa+b%2Bc.rs&author=jdoe%40corp.example",
        ),
        (
            "github_list_pull_requests",
            json!({"owner": "acme", "repo": "api", "head": "octocat:feature/x"}),
            "/repos/acme/api/pulls?per_page=30&page=1&head=octocat%3Afeature%2Fx",
        ),
        (
            "github_search_repositories",
            json!({"query": "tetris org:acme -repo:other/x"}),
            "/search/repositories?q=tetris+org%3Aacme+-repo%3Aother%2Fx&per_page=30&page=1",
        ),
        (
            "github_create_pull_request",
            json!({"owner": "acme", "repo": "my.repo", "title": "t", "head": "octocat:fix/dots.v2", "base": "release/1.x"}),
            "/repos/acme/my.repo/pulls",
        ),
    ];
    let a_file = json!({
        "type": "file", "encoding": "base64", "size": 5, "name": "x", "path": "x",
        "content": "aGVsbG8=", "sha": "3d21ec53a331a6f037a91c368710b99387d012c1",
    })
    .to_string();
    for (tool, args, expected) in &cases {
        let nested = expected.starts_with("/repos/")
            && expected.split_once("/contents/").is_some_and(|(_, path)| {
                let path = path.split('?').next().unwrap();
                path.is_empty() || path.contains('/')
            });
        if nested {
            let path = expected.split('?').next().unwrap();
            proxy.inject(
                path,
                200,
                &[("content-type", "application/json")],
                &a_file,
                1,
            );
        }
        let before = proxy.requests().len();
        let result = server.call(tool, args.clone());
        assert_ne!(
            result["isError"],
            json!(true),
            "{tool} {args}: {}",
            result_text(&result)
        );
        // A read is followed, once per repository, by the repository's own GET: its
        // visibility, for the session's flow record. Built from the same checked names.
        let is_visibility_lookup = |p: &str| {
            p.strip_prefix("/repos/")
                .is_some_and(|rest| rest.split('/').count() == 2 && !rest.contains('?'))
        };
        let sent: Vec<String> = proxy.requests()[before..]
            .iter()
            .map(|r| r.path.clone())
            .filter(|p| p != "/user" && !is_visibility_lookup(p))
            .collect();
        assert_eq!(sent, [*expected], "{tool} {args}");
    }
    let body: Value =
        serde_json::from_str(&proxy.requests_to("POST", "/repos/acme/my.repo/pulls")[0].body)
            .unwrap();
    assert_eq!(
        (&body["head"], &body["base"]),
        (&json!("octocat:fix/dots.v2"), &json!("release/1.x"))
    );
    proxy.assert_no_violations();

    // The scope saw the name the request went to: the journal keys the same repository.
    let repos: Vec<Value> = sandbox
        .journal()
        .iter()
        .filter(|e| e["phase"] == "outcome" && e["repo"].is_string())
        .map(|e| e["repo"].clone())
        .collect();
    assert_eq!(repos[0], "acme/my.repo");
    assert_eq!(repos[1], "octo/.github");
}

/// A search answers only what the read scope holds: hits outside it are dropped, and GitHub's
/// total (which counts them) is not shown.
#[test]
fn search_hits_and_counts_stay_inside_the_read_scope() {
    let proxy = RecordingProxy::start(github_prism());
    let sandbox = Sandbox::new(CONFIG);
    let mut server = sandbox.github(proxy.url(), Some(TOKEN));
    server.initialize();
    // Prism's example hit is dtrupenn/Tetris: outside acme/* and octo/*.
    let found = server.call(
        "github_search_repositories",
        json!({"query": "org:acme tetris"}),
    );
    let s = &found["structuredContent"];
    assert_eq!(s["repositories"], json!([]), "{s}");
    assert_eq!(s["count"], 0);
    assert!(s.get("total_count").is_none(), "{s}");
    assert!(s.get("filtered_out_of_scope").is_none(), "{s}");
    proxy.assert_no_violations();
}

/// GitHub redirects a renamed or transferred repository's old name; the new place was never
/// checked against the scope, so the redirect is reported, not followed.
#[test]
fn redirects_are_not_followed() {
    let proxy = RecordingProxy::start(github_prism());
    let sandbox = Sandbox::new(CONFIG);
    let mut server = sandbox.github(proxy.url(), Some(TOKEN));
    server.initialize();
    let moved = format!("{}/repositories/42/pulls/1", proxy.url());
    proxy.inject(
        "/repos/acme/old-name/pulls/1",
        301,
        &[("location", moved.as_str())],
        r#"{"message":"Moved Permanently"}"#,
        1,
    );
    let result = server.call(
        "github_get_pull_request",
        json!({"owner": "acme", "repo": "old-name", "pull_number": 1}),
    );
    let text = result_text(&result);
    assert_eq!(result["isError"], json!(true), "{text}");
    assert!(text.contains("renamed or transferred"), "{text}");
    let sent = proxy.requests_to("GET", "/repos");
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert!(proxy.requests_to("GET", "/repositories").is_empty());
}

/// GitHub Enterprise Server: the API lives under `/api/v3`, and every request goes there, with
/// the checked names below it (octocrab joins a base path only to relative URLs; these are
/// absolute, built on the configured base).
#[test]
fn enterprise_server_base_paths_hold() {
    let proxy = RecordingProxy::start_mounted(&[("/api/v3", github_prism())]);
    let sandbox = Sandbox::new(CONFIG);
    let base = format!("{}/api/v3", proxy.url());
    let mut server = sandbox.github(&base, Some(TOKEN));
    server.initialize();
    let result = server.call(
        "github_list_commits",
        json!({"owner": "acme", "repo": "my.repo", "path": "docs/a b.md"}),
    );
    assert_ne!(result["isError"], json!(true), "{}", result_text(&result));
    let sent: Vec<String> = proxy
        .requests()
        .into_iter()
        .map(|r| r.path)
        .filter(|p| p != "/api/v3/user")
        .collect();
    assert_eq!(
        sent,
        [
            "/api/v3/repos/acme/my.repo/commits?per_page=30&page=1&path=docs%2Fa+b.md",
            // The repository's visibility, for the session's flow record.
            "/api/v3/repos/acme/my.repo",
        ]
    );
    proxy.assert_no_violations();
}
