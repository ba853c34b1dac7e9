//! The MCP protocol as real clients speak it: the official TypeScript SDK and the Python `mcp`
//! client (2026-07-28, `server/discover` first), and raw JSON-RPC abuse that must be answered
//! while the server keeps serving.

// A test that cannot set up fails loudly: unwrap and expect are the point here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::{
    io::Write,
    process::{Command, Stdio},
};

use serde_json::{Value, json};
use support::{
    GithubSandbox, RecordingProxy, Sandbox, github_prism, peer_file, peers_dir, result_text,
};

const TOKEN: &str = "ghp_PROTOCOLTEST";
const CONFIG: &str = r#"
[policy]
default_allow = ["github_*"]
[policy.roles.auditor]
deny = ["github_add_comment"]
[identity]
roles = ["auditor"]
[github]
write_scope = ["octo/*"]
"#;

/// Runs one of the SDK client scripts against github-mcp; returns its output lines.
fn run_client(
    interpreter: &str,
    script: &str,
    sandbox: &Sandbox,
    api: &str,
    steps: Value,
) -> Vec<Value> {
    let script = format!("{}/tests/clients/{script}", env!("CARGO_MANIFEST_DIR"));
    let mut child = Command::new(interpreter)
        .arg(script)
        .arg(env!("CARGO_BIN_EXE_github-mcp"))
        .env("CE_PEERS_DIR", peers_dir())
        .env("GITHUB_TOKEN", TOKEN)
        .env("GITHUB_API_URL", api)
        .env("CLAUDE_ENTERPRISE_CONFIG", sandbox.config_path())
        .env("XDG_STATE_HOME", sandbox.state_home())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{interpreter} cannot run: {e}"));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(json!({"steps": steps}).to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{interpreter} client failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn steps() -> Value {
    json!([
        {"op": "list"},
        {"op": "call", "name": "github_search_repositories", "arguments": {"query": "rust"}},
        {"op": "call", "name": "github_get_file_contents", "arguments": {"owner": "octo", "repo": "hello", "path": "README.md"}},
        {"op": "call", "name": "github_list_pull_requests", "arguments": {"owner": "octo", "repo": "hello"}},
        {"op": "call", "name": "github_get_pull_request", "arguments": {"owner": "octo", "repo": "hello", "pull_number": 1}},
        {"op": "call", "name": "github_create_pull_request", "arguments": {"owner": "octo", "repo": "hello", "title": "t", "head": "h", "base": "main"}},
        {"op": "call", "name": "github_list_commits", "arguments": {"owner": "octo", "repo": "hello"}},
        {"op": "call", "name": "github_get_pull_request", "arguments": {"owner": "octo", "repo": "hello", "pull_number": "one"}},
        {"op": "call", "name": "github_list_commits", "arguments": {"owner": "octo"}},
        {"op": "call", "name": "github_list_commits", "arguments": {"owner": "octo", "repo": "hello", "per_page": 1000}},
        {"op": "call", "name": "github_add_comment", "arguments": {"owner": "octo", "repo": "hello", "issue_number": 1, "body": "x"}},
        {"op": "call", "name": "github_delete_repository", "arguments": {"owner": "octo", "repo": "hello"}},
    ])
}

fn check_client_run(lines: &[Value], expect_version: Option<&str>) {
    assert_eq!(lines.len(), 13, "{lines:#?}");
    assert_eq!(lines[0]["serverInfo"]["name"], "github-mcp");
    if let Some(version) = expect_version {
        assert_eq!(lines[0]["protocolVersion"], version);
    }
    let tools: Vec<&str> = lines[1]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        tools.len(),
        6,
        "add_comment hidden from auditors: {tools:?}"
    );
    assert!(!tools.contains(&"github_add_comment"));
    for (i, line) in lines[2..8].iter().enumerate() {
        assert_ne!(
            line["result"]["isError"],
            json!(true),
            "tool call {i}: {line}"
        );
        assert!(line["result"]["structuredContent"].is_object(), "{line}");
    }
    let schema_errors = [
        (&lines[8], "invalid type: string \"one\", expected u64"),
        (&lines[9], "missing field `repo`"),
        (&lines[10], "per_page must be 1-100"),
    ];
    for (line, expected) in schema_errors {
        assert_eq!(line["result"]["isError"], json!(true), "{line}");
        assert!(
            result_text(&line["result"]).contains(expected),
            "{expected}: {line}"
        );
    }
    // Hidden and unknown: the same protocol error.
    let (hidden, unknown) = (&lines[11]["error"], &lines[12]["error"]);
    assert_eq!(hidden["code"], -32602, "{hidden}");
    assert_eq!(unknown["code"], -32602, "{unknown}");
}

#[test]
fn typescript_sdk_client_lists_calls_and_gets_schema_errors() {
    peer_file("node_modules/@modelcontextprotocol/sdk/package.json");
    let sandbox = Sandbox::new(CONFIG);
    let proxy = RecordingProxy::start(github_prism());
    let lines = run_client("node", "ts-client.mjs", &sandbox, proxy.url(), steps());
    check_client_run(&lines, None);
    proxy.assert_no_violations();
}

#[test]
fn python_sdk_client_connects_with_server_discover() {
    let python = peer_file("venv/bin/python");
    let sandbox = Sandbox::new(CONFIG);
    let proxy = RecordingProxy::start(github_prism());
    let lines = run_client(
        python.to_str().unwrap(),
        "py-client.py",
        &sandbox,
        proxy.url(),
        steps(),
    );
    check_client_run(&lines, Some("2026-07-28"));
    proxy.assert_no_violations();
}

#[test]
fn abuse_is_answered_and_the_server_keeps_serving() {
    let sandbox = Sandbox::new(CONFIG);
    let proxy = RecordingProxy::start(github_prism());
    let mut server = sandbox.github(proxy.url(), Some(TOKEN));
    // Before initialization too: an unknown method is answered with an error, never left
    // hanging (new clients probe before they initialize).
    let early = server.request("server/nonsense", json!({}));
    assert!(early["error"]["code"].is_i64(), "{early}");
    server.initialize();

    let cases: &[(&str, i64)] = &[
        ("this is not json", -32700),
        (
            r#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"x""#,
            -32700,
        ),
        ("[1, 2, 3]", -32600),
        (r#"{"id":8,"method":"tools/list"}"#, -32600),
        (
            r#"{"jsonrpc":"2.0","id":9,"method":"tools/call","params":"github_list_commits"}"#,
            -32602,
        ),
    ];
    for (line, code) in cases {
        server.send_raw(line);
        let answer = server.read();
        assert_eq!(answer["error"]["code"], *code, "{line} -> {answer}");
        let ok = server.request("tools/list", json!({}));
        assert!(
            ok["result"]["tools"].is_array(),
            "still serving after {line}"
        );
    }

    let two_mb = "x".repeat(2 * 1024 * 1024);
    let hidden = server.request("tools/call", json!({"name": "github_add_comment", "arguments": {"owner": "octo", "repo": "hello", "issue_number": 1, "body": two_mb}}));
    // add_comment is hidden for auditors: even a 2 MB call learns only "unknown tool".
    assert_eq!(
        hidden["error"]["code"],
        -32602,
        "{}",
        &hidden.to_string()[..200]
    );
    let big = server.request(
        "tools/call",
        json!({"name": "github_create_pull_request", "arguments": {"owner": "octo", "repo": "hello", "title": "t", "head": "h", "base": "main", "body": "x".repeat(2 * 1024 * 1024)}}),
    );
    assert!(
        result_text(&big["result"]).contains("the limit is 1048576 bytes"),
        "{}",
        &big.to_string()[..300.min(big.to_string().len())]
    );
    let wrong = server.call(
        "github_get_pull_request",
        json!({"owner": ["octo"], "repo": "hello", "pull_number": 1}),
    );
    assert!(
        result_text(&wrong).contains("invalid type: sequence"),
        "{wrong}"
    );
    let ok = server.call(
        "github_get_pull_request",
        json!({"owner": "octo", "repo": "hello", "pull_number": 1}),
    );
    assert_ne!(ok["isError"], json!(true));
    assert!(
        proxy.requests_to("POST", "/").is_empty(),
        "nothing bad reached GitHub"
    );
    let everything = server.stderr() + &sandbox.all_text();
    assert!(!everything.contains(TOKEN));
}
