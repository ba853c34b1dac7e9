//! The same governed server over streamable HTTP (`--http ADDR`).

// A test that cannot set up fails loudly: unwrap and expect are the point here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::{process::Command, time::Duration};

use serde_json::{Value, json};
use support::{RecordingProxy, Sandbox, die_with_parent, github_prism};

/// The JSON-RPC message in a response that may be plain JSON or a server-sent event stream.
fn message(body: &str) -> Value {
    if let Ok(v) = serde_json::from_str(body) {
        return v;
    }
    body.lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .filter_map(|d| serde_json::from_str(d.trim()).ok())
        .next()
        .unwrap_or_else(|| panic!("no JSON-RPC message in {body}"))
}

#[tokio::test]
async fn streamable_http_lists_and_calls_through_the_pipeline() {
    let sandbox = Sandbox::new("[identity]\nuser = \"http@corp.example\"\n");
    let proxy = RecordingProxy::start(github_prism());
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut command = Command::new(env!("CARGO_BIN_EXE_github-mcp"));
    command
        .args(["--http", &format!("127.0.0.1:{port}")])
        .env("GITHUB_TOKEN", "ghp_HTTPTEST")
        .env("GITHUB_API_URL", proxy.url())
        .env("CLAUDE_ENTERPRISE_CONFIG", sandbox.config_path())
        .env("XDG_STATE_HOME", sandbox.state_home());
    die_with_parent(&mut command);
    let mut child = command.spawn().unwrap();
    let url = format!("http://127.0.0.1:{port}/mcp");
    testkit::install_crypto_provider();
    #[expect(
        clippy::disallowed_methods,
        reason = "the test's own client, playing the MCP client"
    )]
    let client = reqwest::Client::new();
    let post = |body: Value, session: Option<String>| {
        let mut request = client
            .post(&url)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .body(body.to_string());
        if let Some(session) = session {
            request = request
                .header("mcp-session-id", session)
                .header("mcp-protocol-version", "2025-06-18");
        }
        request.send()
    };
    let mut init = None;
    for _ in 0..100 {
        let answer = post(
            json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}),
            None,
        )
        .await;
        if let Ok(answer) = answer {
            init = Some(answer);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let init = init.expect("the HTTP server listens");
    let session = init
        .headers()
        .get("mcp-session-id")
        .map(|v| v.to_str().unwrap().to_owned());
    let body = message(&init.text().await.unwrap());
    assert_eq!(body["result"]["serverInfo"]["name"], "github-mcp");
    post(
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        session.clone(),
    )
    .await
    .unwrap();
    let listed = message(
        &post(
            json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}),
            session.clone(),
        )
        .await
        .unwrap()
        .text()
        .await
        .unwrap(),
    );
    assert_eq!(listed["result"]["tools"].as_array().unwrap().len(), 9);
    let called = message(
        &post(
            json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "github_get_pull_request", "arguments": {"owner": "octo", "repo": "hello", "pull_number": 1}}}),
            session.clone(),
        )
        .await
        .unwrap()
        .text()
        .await
        .unwrap(),
    );
    assert_eq!(
        called["result"]["structuredContent"]["author"], "octocat",
        "{called}"
    );
    // `arguments` that is not an object: invalid params from the pipeline, journaled, as on
    // stdio (rmcp alone answers "method not found" and journals nothing).
    for arguments in [json!("octo/hello#1"), json!([1, 2]), json!(7)] {
        let refused = message(
            &post(
                json!({"jsonrpc": "2.0", "id": 4, "method": "tools/call", "params": {"name": "github_get_pull_request", "arguments": arguments}}),
                session.clone(),
            )
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        );
        assert_eq!(refused["id"], 4, "{refused}");
        assert_eq!(refused["error"]["code"], -32602, "{refused}");
    }
    // Without a live session the guard answers nothing itself: rmcp refuses the request.
    let stranger = post(
        json!({"jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": {"name": "github_get_pull_request", "arguments": "x"}}),
        Some("no-such-session".into()),
    )
    .await
    .unwrap();
    assert!(stranger.status().is_client_error(), "{}", stranger.status());
    let still = message(
        &post(
            json!({"jsonrpc": "2.0", "id": 6, "method": "tools/list"}),
            session.clone(),
        )
        .await
        .unwrap()
        .text()
        .await
        .unwrap(),
    );
    assert!(
        still["result"]["tools"].is_array(),
        "still serving: {still}"
    );
    let journal = sandbox.journal();
    assert_eq!(journal.len(), 4, "{journal:?}");
    assert_eq!(journal[0]["user"], "http@corp.example");
    for refused in &journal[1..] {
        assert_eq!(refused["action"], "get_pull_request", "{refused}");
        assert_eq!(refused["result"], "error", "{refused}");
        assert!(
            refused["error"]
                .as_str()
                .unwrap()
                .contains("must be a JSON object"),
            "{refused}"
        );
    }
    proxy.assert_no_violations();
    child.kill().unwrap();
    let _ = child.wait();
}
