//! The whole chain through the real Claude Code CLI (npm `@anthropic-ai/claude-code`, pinned
//! in xtask/peers), with no account: `claude -p` talks to a scripted fake Anthropic Messages
//! API on loopback, which answers turn by turn with tool_use blocks. Claude Code then loads
//! our plugin's skill, calls our GitHub server (in front of Prism), and runs our hooks on its
//! own Bash tool; the journal and what came back to the "model" are checked.

// A test that cannot set up fails loudly: unwrap and expect are the point here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    io::{BufRead, BufReader, Write},
    net::{TcpListener, TcpStream},
    path::{Path, PathBuf},
    process::{Command, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use serde_json::{Value, json};
use sha2::Digest;

const GITHUB: &str = "mcp__plugin_enterprise-governance_github__";
/// The plugin skill by its full name: the bare `/security-review` is Claude Code's own
/// built-in command (which wants a git repository), and it wins over a plugin skill.
const PROMPT: &str = "/enterprise-governance:security-review octo/hello#7";
/// Claude Code's whole run; the script is five short turns.
const RUN_LIMIT: Duration = Duration::from_secs(240);

/// One request the fake Messages API received.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: String,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

/// What the scripted model says at each turn of the main loop: the tool uses in order, then a
/// text. The turn is the number of tool_result blocks the request carries.
fn script() -> Vec<(&'static str, String, Value)> {
    vec![
        (
            "toolu_e2e_1",
            format!("{GITHUB}github_get_pull_request"),
            json!({"owner": "octo", "repo": "hello", "pull_number": 7}),
        ),
        (
            "toolu_e2e_2",
            "Bash".into(),
            json!({"command": "echo hello", "description": "Say hello"}),
        ),
        (
            "toolu_e2e_3",
            "Bash".into(),
            json!({"command": "git push origin main", "description": "Push"}),
        ),
        (
            "toolu_e2e_4",
            format!("{GITHUB}github_create_pull_request"),
            json!({
                "owner": "octo",
                "repo": "hello",
                "title": "Fix the findings",
                "head": "fix-findings",
                "base": "main",
                "body": "Security fixes."
            }),
        ),
    ]
}

const FINAL_TEXT: &str = "Security review done: no findings.";

/// A scripted Anthropic Messages API on loopback (plain HTTP/1.1, one request per connection).
struct FakeApi {
    url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl FakeApi {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let shared = seen.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let shared = shared.clone();
                std::thread::spawn(move || serve(stream, &shared));
            }
        });
        Self { url, seen }
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

fn serve(stream: TcpStream, seen: &Mutex<Vec<Seen>>) {
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    // Keep-alive: requests one after another on the same connection.
    while let Some(request) = read_request(&mut reader) {
        eprintln!(
            "fake API: {} {} ({} bytes)",
            request.method,
            request.path,
            request.body.len()
        );
        seen.lock().unwrap().push(request.clone());
        let (content_type, body) = answer(&request);
        let head = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\n\
             request-id: req_e2e\r\nconnection: keep-alive\r\n\r\n",
            body.len()
        );
        if writer.write_all(head.as_bytes()).is_err() || writer.write_all(body.as_bytes()).is_err()
        {
            return;
        }
        let _ = writer.flush();
    }
}

fn read_request(reader: &mut impl BufRead) -> Option<Seen> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut words = line.split_whitespace();
    let method = words.next()?.to_owned();
    let path = words.next()?.to_owned();
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).ok()?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':')?;
        headers.push((name.trim().to_lowercase(), value.trim().to_owned()));
    }
    let get = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let mut body = Vec::new();
    if get("transfer-encoding").is_some_and(|t| t.contains("chunked")) {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size).ok()?;
            let size = usize::from_str_radix(size.trim().split(';').next()?, 16).ok()?;
            let mut chunk = vec![0; size + 2];
            reader.read_exact(&mut chunk).ok()?;
            if size == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..size]);
        }
    } else if let Some(length) = get("content-length") {
        let mut chunk = vec![0; length.parse().ok()?];
        reader.read_exact(&mut chunk).ok()?;
        body = chunk;
    }
    Some(Seen {
        method,
        path,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

/// The answer to one request: (content type, body).
fn answer(request: &Seen) -> (&'static str, String) {
    let path = request.path.split('?').next().unwrap_or_default();
    let body = request.json();
    if path.ends_with("/count_tokens") {
        return ("application/json", json!({"input_tokens": 42}).to_string());
    }
    if path != "/v1/messages" {
        return ("application/json", "{}".into());
    }
    let model = body["model"]
        .as_str()
        .unwrap_or("claude-sonnet-4-5")
        .to_owned();
    let main_loop = body["tools"]
        .as_array()
        .is_some_and(|tools| tools.iter().any(|t| t["name"] == "Bash"));
    let block = if main_loop {
        let turn = tool_results(&body).len();
        match script().get(turn) {
            Some((id, name, input)) => Block::ToolUse(id, name.clone(), input.clone()),
            None => Block::Text(FINAL_TEXT.into()),
        }
    } else {
        // A side request (a title, a summary, a quota check): a short text.
        Block::Text("Security review".into())
    };
    if body["stream"] == true {
        ("text/event-stream", stream(&model, &block))
    } else {
        ("application/json", message(&model, &block).to_string())
    }
}

enum Block {
    ToolUse(&'static str, String, Value),
    Text(String),
}

fn message(model: &str, block: &Block) -> Value {
    let (content, stop) = match block {
        Block::ToolUse(id, name, input) => (
            json!({"type": "tool_use", "id": id, "name": name, "input": input}),
            "tool_use",
        ),
        Block::Text(text) => (json!({"type": "text", "text": text}), "end_turn"),
    };
    json!({
        "id": "msg_e2e",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [content],
        "stop_reason": stop,
        "stop_sequence": null,
        "usage": {"input_tokens": 100, "output_tokens": 20},
    })
}

/// Anthropic's streaming format: message_start, one content block, message_delta, message_stop.
fn stream(model: &str, block: &Block) -> String {
    let (start, delta, stop) = match block {
        Block::ToolUse(id, name, input) => (
            json!({"type": "tool_use", "id": id, "name": name, "input": {}}),
            json!({"type": "input_json_delta", "partial_json": input.to_string()}),
            "tool_use",
        ),
        Block::Text(text) => (
            json!({"type": "text", "text": ""}),
            json!({"type": "text_delta", "text": text}),
            "end_turn",
        ),
    };
    let events = [
        json!({"type": "message_start", "message": {
            "id": "msg_e2e", "type": "message", "role": "assistant", "model": model,
            "content": [], "stop_reason": null, "stop_sequence": null,
            "usage": {"input_tokens": 100, "output_tokens": 1},
        }}),
        json!({"type": "content_block_start", "index": 0, "content_block": start}),
        json!({"type": "content_block_delta", "index": 0, "delta": delta}),
        json!({"type": "content_block_stop", "index": 0}),
        json!({"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": null},
               "usage": {"output_tokens": 20}}),
        json!({"type": "message_stop"}),
    ];
    events
        .iter()
        .map(|e| format!("event: {}\ndata: {e}\n\n", e["type"].as_str().unwrap()))
        .collect()
}

/// Every tool_result block of a request's messages.
fn tool_results(body: &Value) -> Vec<Value> {
    body["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["content"].as_array())
        .flatten()
        .filter(|c| c["type"] == "tool_result")
        .cloned()
        .collect()
}

/// The text of a tool_result's content (a string or text blocks).
fn result_text(result: &Value) -> String {
    match &result["content"] {
        Value::String(s) => s.clone(),
        Value::Array(blocks) => blocks
            .iter()
            .filter_map(|b| b["text"].as_str())
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

/// Every journal line under the state dir, parsed.
fn journal(state_home: &Path) -> Vec<Value> {
    let events = testkit::read_journal(&state_home.join("claude-enterprise/audit"));
    assert!(
        !events.is_empty(),
        "no journal under {}",
        state_home.display()
    );
    events
}

fn cli() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_claude-enterprise"))
}

#[test]
fn claude_code_runs_the_skill_through_our_servers_and_hooks_against_a_scripted_model() {
    let claude = testkit::peer_file("node_modules/@anthropic-ai/claude-code/bin/claude.exe");
    let prism = testkit::RecordingProxy::start(testkit::github_prism());
    let api = FakeApi::start();

    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let state_home = dir.path().join("state");
    let work = dir.path().join("work");
    let tmp = dir.path().join("tmp");
    for d in [&home, &work, &tmp] {
        std::fs::create_dir_all(d).unwrap();
    }
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        "[github]\nwrite_scope = [\"octo/allowed-*\"]\nwrite_scope_from_teams = false\n",
    )
    .unwrap();
    let env = |command: &mut Command| {
        for (name, _) in std::env::vars_os().filter(|(k, _)| {
            let k = k.to_string_lossy();
            k.starts_with("CLAUDE")
                || k.starts_with("ANTHROPIC_")
                || k.starts_with("GITHUB_")
                || k.starts_with("OTEL_")
        }) {
            command.env_remove(name);
        }
        command
            .env("HOME", &home)
            .env("XDG_STATE_HOME", &state_home)
            .env("CLAUDE_ENTERPRISE_CONFIG", &config)
            .env("TMPDIR", &tmp)
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9");
    };

    let mut write = Command::new(cli());
    write.args(["plugin", "write"]);
    env(&mut write);
    let out = write.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let mut run = Command::new(&claude);
    run.args([
        "-p",
        PROMPT,
        "--output-format",
        "json",
        "--allowedTools",
        &format!("Bash,{GITHUB}github_get_pull_request,{GITHUB}github_create_pull_request"),
    ])
    .current_dir(&work)
    .stdin(Stdio::null())
    .stdout(std::fs::File::create(dir.path().join("stdout")).unwrap())
    .stderr(std::fs::File::create(dir.path().join("stderr")).unwrap());
    env(&mut run);
    run.env("ANTHROPIC_BASE_URL", &api.url)
        .env("ANTHROPIC_API_KEY", "sk-ant-dummy-e2e")
        .env("ENABLE_TOOL_SEARCH", "false")
        .env("DISABLE_AUTOUPDATER", "1")
        .env("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1")
        .env("GITHUB_API_URL", prism.url())
        .env("GITHUB_TOKEN", "ghp_E2eDummyToken0123456789abcdefABCDEF");
    if let Some(log) = std::env::var_os("E2E_CLAUDE_DEBUG_LOG") {
        run.env("DEBUG", "1").env("CLAUDE_CODE_DEBUG_LOGS_DIR", log);
    }
    let started = Instant::now();
    let mut child = run.spawn().unwrap();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > RUN_LIMIT {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!(
                "claude -p did not end within {RUN_LIMIT:?}; the fake API saw {:#?}\nstderr: {}",
                api.seen()
                    .iter()
                    .map(|s| format!("{} {}", s.method, s.path))
                    .collect::<Vec<_>>(),
                std::fs::read_to_string(dir.path().join("stderr")).unwrap()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    eprintln!("claude -p ran {:?}", started.elapsed());
    let stdout = std::fs::read_to_string(dir.path().join("stdout")).unwrap();
    let stderr = std::fs::read_to_string(dir.path().join("stderr")).unwrap();
    let seen = api.seen();
    let context = format!(
        "stdout: {stdout}\nstderr: {stderr}\nrequests: {:#?}",
        seen.iter()
            .map(|s| format!("{} {} {}", s.method, s.path, s.body))
            .collect::<Vec<_>>()
    );
    assert!(status.success(), "{context}");
    let output: Value = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("no JSON from --output-format json ({e}): {context}"));
    let session = output["session_id"]
        .as_str()
        .expect("session_id")
        .to_owned();
    assert_eq!(output["result"], FINAL_TEXT, "{context}");

    // The main loop's requests, and the last one: every tool_result of the run.
    let main: Vec<&Seen> = seen
        .iter()
        .filter(|s| {
            s.path.split('?').next() == Some("/v1/messages")
                && s.json()["tools"]
                    .as_array()
                    .is_some_and(|t| t.iter().any(|t| t["name"] == "Bash"))
        })
        .collect();
    // One request per turn: four tool uses, then the final text; nothing retried.
    assert_eq!(main.len(), script().len() + 1, "{context}");
    for request in &main {
        assert_eq!(
            request.header("x-claude-code-session-id"),
            Some(session.as_str()),
            "{context}"
        );
    }
    let offered: Vec<String> = main[0].json()["tools"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["name"].as_str().map(str::to_owned))
        .collect();
    for tool in ["github_get_pull_request", "github_create_pull_request"] {
        assert!(
            offered.contains(&format!("{GITHUB}{tool}")),
            "{tool} not offered: {offered:?}"
        );
    }
    let last = main.last().unwrap().json();
    let results = tool_results(&last);
    let result = |id: &str| {
        results
            .iter()
            .find(|r| r["tool_use_id"] == id)
            .unwrap_or_else(|| panic!("no tool_result for {id}: {results:#?}"))
            .clone()
    };

    // The skill was loaded: its body reached the model.
    assert!(
        seen.iter()
            .any(|s| s.body.contains("Security review of a pull request")),
        "the skill's body never reached the API: {context}"
    );

    // get_pull_request went through our server to Prism, with Claude Code's context.
    let pr = result("toolu_e2e_1");
    assert_ne!(pr["is_error"], true, "{pr}");
    assert!(
        !prism
            .requests_to("GET", "/repos/octo/hello/pulls/7")
            .is_empty()
    );
    let events = journal(&state_home);
    let get = events
        .iter()
        .find(|e| {
            e["tool"] == "github" && e["action"] == "get_pull_request" && e["result"].is_string()
        })
        .unwrap_or_else(|| panic!("no get_pull_request outcome: {events:#?}"));
    assert_eq!(get["result"], "success", "{get}");
    assert_eq!(get["ai_context"]["session_id"], session.as_str(), "{get}");
    assert_eq!(get["ai_context"]["tool_use_id"], "toolu_e2e_1", "{get}");
    let prompt_hash = format!("sha256:{}", hex::encode(sha2::Sha256::digest(PROMPT)));
    assert_eq!(
        get["ai_context"]["prompt_hash"],
        prompt_hash.as_str(),
        "{get}"
    );

    // `echo hello` ran and the PostToolUse hook journaled it as a claude-code event.
    let echo = result("toolu_e2e_2");
    assert_ne!(echo["is_error"], true, "{echo}");
    assert!(result_text(&echo).contains("hello"), "{echo}");
    let bash = events
        .iter()
        .find(|e| e["tool"] == "claude-code" && e["call_id"] == "toolu_e2e_2")
        .unwrap_or_else(|| panic!("echo hello not journaled: {events:#?}"));
    assert_eq!(bash["action"], "Bash", "{bash}");
    assert_eq!(bash["result"], "success", "{bash}");
    assert_eq!(bash["ai_context"]["session_id"], session.as_str(), "{bash}");
    assert_eq!(
        bash["ai_context"]["prompt_hash"],
        prompt_hash.as_str(),
        "{bash}"
    );

    // `git push origin main` was denied by the PreToolUse hook, before it ran.
    let push = result("toolu_e2e_3");
    let push_text = result_text(&push);
    assert_eq!(push["is_error"], true, "{push}");
    assert!(
        push_text.contains("Denied by company policy (hooks.push_branches)")
            && push_text.contains("`main` is protected"),
        "{push}"
    );
    assert_eq!(
        output["permission_denials"][0]["tool_use_id"], "toolu_e2e_3",
        "{output}"
    );
    // It never ran, so no PostToolUse journaled it as done; the PreToolUse hook journaled the
    // denial, once, with the guard's rule.
    assert!(
        !events
            .iter()
            .any(|e| e["call_id"] == "toolu_e2e_3" && e["result"] == "success"),
        "{events:#?}"
    );
    let denied: Vec<&Value> = events
        .iter()
        .filter(|e| e["call_id"] == "toolu_e2e_3")
        .collect();
    assert_eq!(denied.len(), 1, "{denied:#?}");
    assert_eq!(denied[0]["result"], "denied");
    assert_eq!(denied[0]["decision"]["rule"], "hooks.push_branches");
    assert_eq!(denied[0]["action"], "Bash");
    assert_eq!(denied[0]["ai_context"]["session_id"], output["session_id"]);

    // create_pull_request outside the write scope: refused by our server, nothing sent.
    let create = result("toolu_e2e_4");
    assert_eq!(create["is_error"], true, "{create}");
    assert!(
        result_text(&create).contains("github.write_scope"),
        "{create}"
    );
    assert!(
        prism.requests_to("POST", "/").is_empty(),
        "{:?}",
        prism.requests()
    );
    let refused = events
        .iter()
        .find(|e| e["tool"] == "github" && e["action"] == "create_pull_request")
        .unwrap_or_else(|| panic!("create_pull_request not journaled: {events:#?}"));
    assert_eq!(refused["result"], "denied", "{refused}");
    assert_eq!(
        refused["decision"]["rule"], "github.write_scope",
        "{refused}"
    );
    assert_eq!(
        refused["ai_context"]["tool_use_id"], "toolu_e2e_4",
        "{refused}"
    );
    assert_eq!(
        refused["ai_context"]["session_id"],
        session.as_str(),
        "{refused}"
    );
}
