//! `claude-enterprise hook EVENT` as Claude Code runs it: the payloads of
//! `shared/claude-code.md` on stdin, the exit code and stdout Claude Code reads, the session
//! state file, the journal, and the servers' events that then carry the prompt hash and model.

// A test that cannot set up fails loudly: unwrap and expect are the point here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    io::Write,
    os::unix::fs::PermissionsExt,
    path::Path,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use serde_json::{Value, json};
use sha2::Digest;

const CLI: &str = env!("CARGO_BIN_EXE_claude-enterprise");
const SESSION: &str = "3f2b8c1e-5d4a-4b6f-9e1d-2a7c8b9d0e1f";

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl From<std::process::Output> for Run {
    fn from(out: std::process::Output) -> Self {
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

/// A sandbox: config, HOME and XDG dirs of its own.
struct Sandbox {
    dir: tempfile::TempDir,
}

impl Sandbox {
    fn new(config: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("config.toml"), config).unwrap();
        std::fs::create_dir_all(dir.path().join("home")).unwrap();
        Self { dir }
    }

    fn path(&self, relative: &str) -> String {
        self.dir.path().join(relative).display().to_string()
    }

    fn state_file(&self) -> std::path::PathBuf {
        self.dir
            .path()
            .join(format!("state/claude-enterprise/sessions/{SESSION}.json"))
    }

    fn journal_dir(&self) -> std::path::PathBuf {
        self.dir.path().join("state/claude-enterprise/audit")
    }

    /// Where a hook installed twice claims an event's work.
    fn claims_dir(&self) -> std::path::PathBuf {
        self.dir
            .path()
            .join("state/claude-enterprise/sessions/claims")
    }

    /// Claude Code's own tools in the journal.
    fn tool_records(&self) -> Vec<Value> {
        self.journal()
            .into_iter()
            .filter(|e| e["tool"] == "claude-code")
            .collect()
    }

    fn journal(&self) -> Vec<Value> {
        let mut paths: Vec<_> = std::fs::read_dir(self.journal_dir())
            .into_iter()
            .flatten()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
            .collect();
        paths.sort();
        paths
            .iter()
            .flat_map(|p| {
                std::fs::read_to_string(p)
                    .unwrap()
                    .lines()
                    .map(|l| serde_json::from_str(l).unwrap())
                    .collect::<Vec<Value>>()
            })
            .collect()
    }

    fn command(&self, args: &[&str], envs: &[(&str, &str)], removed: &[&str]) -> Command {
        let mut command = Command::new(CLI);
        command
            .args(args)
            .env("CLAUDE_ENTERPRISE_CONFIG", self.path("config.toml"))
            .env("XDG_STATE_HOME", self.path("state"))
            .env("HOME", self.path("home"))
            .env_remove("XDG_CONFIG_HOME")
            .env_remove("CLAUDE_CODE_SESSION_ID")
            .env_remove("GH_CONFIG_DIR");
        for (k, v) in envs {
            command.env(k, v);
        }
        for k in removed {
            command.env_remove(k);
        }
        command
    }

    /// Runs the CLI with `stdin` as its whole input.
    fn run(&self, args: &[&str], stdin: &str, envs: &[(&str, &str)], removed: &[&str]) -> Run {
        let mut child = self
            .command(args, envs, removed)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // The hook may end before reading (a usage error): a closed pipe is no failure here.
        let _ = child.stdin.take().unwrap().write_all(stdin.as_bytes());
        child.wait_with_output().unwrap().into()
    }

    fn hook(&self, event: &str, payload: &Value) -> Run {
        self.run(&["hook", event], &payload.to_string(), &[], &[])
    }

    /// Runs `hook EVENT` with each stdin, all at once as Claude Code runs the hooks of one
    /// event: every process is started before any is given its payload.
    fn hooks_together(&self, runs: &[(&str, String)]) -> Vec<Run> {
        let children: Vec<_> = runs
            .iter()
            .map(|(event, _)| {
                self.command(&["hook", event], &[], &[])
                    .stdin(Stdio::piped())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        let children: Vec<_> = children
            .into_iter()
            .zip(runs)
            .map(|(mut child, (_, stdin))| {
                child
                    .stdin
                    .take()
                    .unwrap()
                    .write_all(stdin.as_bytes())
                    .unwrap();
                child
            })
            .collect();
        children
            .into_iter()
            .map(|child| child.wait_with_output().unwrap().into())
            .collect()
    }
}

/// The fields every payload has (claude-code.md), with `extra` added.
fn payload(event: &str, cwd: &Path, extra: Value) -> Value {
    let mut payload = json!({
        "session_id": SESSION,
        "transcript_path": format!("/home/jane/.claude/projects/x/{SESSION}.jsonl"),
        "cwd": cwd,
        "hook_event_name": event,
        "permission_mode": "default",
        "prompt_id": "prompt-1",
    });
    for (k, v) in extra.as_object().unwrap() {
        payload[k] = v.clone();
    }
    payload
}

fn bash(cwd: &Path, command: &str) -> Value {
    payload(
        "PreToolUse",
        cwd,
        json!({"tool_name": "Bash", "tool_input": {"command": command, "description": "x"},
               "tool_use_id": "toolu_01"}),
    )
}

#[test]
fn every_failure_exits_zero_with_a_message_and_only_a_deny_blocks() {
    let sandbox = Sandbox::new("");
    let cwd = sandbox.dir.path();
    let deny_json = |run: &Run| -> Option<Value> {
        let value: Value = serde_json::from_str(run.stdout.trim()).ok()?;
        (value["hookSpecificOutput"]["permissionDecision"] == "deny").then_some(value)
    };
    struct Case<'a> {
        name: &'a str,
        args: Vec<&'a str>,
        stdin: String,
        envs: Vec<(&'a str, String)>,
        removed: Vec<&'a str>,
        /// In stderr ("" when nothing must be said).
        message: &'a str,
        deny: bool,
    }
    let case = |name, args: Vec<&'static str>, stdin: String, message, deny| Case {
        name,
        args,
        stdin,
        envs: Vec::new(),
        removed: Vec::new(),
        message,
        deny,
    };
    let prompt = payload("UserPromptSubmit", cwd, json!({"prompt": "hello"})).to_string();
    let not_a_dir = sandbox.path("config.toml");
    let cases = vec![
        case(
            "no event",
            vec!["hook"],
            String::new(),
            "no event given",
            false,
        ),
        case(
            "unknown event",
            vec!["hook", "BeforeLunch"],
            prompt.clone(),
            "unknown event `BeforeLunch`",
            false,
        ),
        case(
            "an option for an event",
            vec!["hook", "--frobnicate"],
            prompt.clone(),
            "unknown event `--frobnicate`",
            false,
        ),
        case(
            "extra arguments",
            vec!["hook", "UserPromptSubmit", "--extra", "x"],
            prompt.clone(),
            "ignoring unexpected arguments",
            false,
        ),
        case(
            "help",
            vec!["hook", "--help"],
            String::new(),
            "usage: claude-enterprise hook EVENT",
            false,
        ),
        case(
            "clap error around hook",
            vec!["--frobnicate", "hook", "PreToolUse"],
            String::new(),
            "claude-enterprise hook:",
            false,
        ),
        case(
            "empty payload",
            vec!["hook", "UserPromptSubmit"],
            String::new(),
            "not JSON",
            false,
        ),
        case(
            "not JSON",
            vec!["hook", "UserPromptSubmit"],
            "{\"prompt\": ".into(),
            "not JSON",
            false,
        ),
        case(
            "not an object",
            vec!["hook", "PreToolUse"],
            "[1, 2]".into(),
            "not a JSON object",
            false,
        ),
        case(
            "another event's payload",
            vec!["hook", "PreToolUse"],
            payload("PostToolUse", cwd, json!({"tool_name": "Bash"})).to_string(),
            "the payload is for PostToolUse",
            false,
        ),
        case(
            "no prompt",
            vec!["hook", "UserPromptSubmit"],
            payload("UserPromptSubmit", cwd, json!({})).to_string(),
            "no `prompt` string",
            false,
        ),
        case(
            "no tool name",
            vec!["hook", "PreToolUse"],
            payload("PreToolUse", cwd, json!({"tool_input": {}})).to_string(),
            "no tool_name",
            false,
        ),
        case(
            "a Bash payload without a command",
            vec!["hook", "PreToolUse"],
            payload(
                "PreToolUse",
                cwd,
                json!({"tool_name": "Bash", "tool_input": {}}),
            )
            .to_string(),
            "no tool_input.command",
            false,
        ),
        case(
            "a deny",
            vec!["hook", "PreToolUse"],
            bash(cwd, "git push origin main").to_string(),
            "",
            true,
        ),
        case(
            "a deny, event name in other case",
            vec!["hook", "pretooluse"],
            bash(cwd, "gh pr merge 3").to_string(),
            "",
            true,
        ),
        case(
            "an allowed push",
            vec!["hook", "PreToolUse"],
            bash(cwd, "git push -u origin claude/x").to_string(),
            "",
            false,
        ),
        case(
            "another tool",
            vec!["hook", "PreToolUse"],
            payload(
                "PreToolUse",
                cwd,
                json!({"tool_name": "Edit", "tool_input": {"file_path": "a"}}),
            )
            .to_string(),
            "",
            false,
        ),
        case(
            "SessionEnd",
            vec!["hook", "SessionEnd"],
            payload("SessionEnd", cwd, json!({"reason": "exit"})).to_string(),
            "",
            false,
        ),
        Case {
            removed: vec!["HOME", "XDG_STATE_HOME"],
            ..case(
                "no state directory",
                vec!["hook", "UserPromptSubmit"],
                prompt.clone(),
                "no state file for session",
                false,
            )
        },
        Case {
            envs: vec![("XDG_STATE_HOME", not_a_dir.clone())],
            ..case(
                "a state directory that cannot be made",
                vec!["hook", "UserPromptSubmit"],
                prompt.clone(),
                "cannot create the session state directory",
                false,
            )
        },
        Case {
            envs: vec![("CLAUDE_ENTERPRISE_CONFIG", sandbox.path("missing.toml"))],
            ..case(
                "a missing config file still denies by the defaults",
                vec!["hook", "PreToolUse"],
                bash(cwd, "git push -f origin claude/x").to_string(),
                "using the built-in defaults",
                true,
            )
        },
    ];
    for case in cases {
        let envs: Vec<(&str, &str)> = case.envs.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let run = sandbox.run(&case.args, &case.stdin, &envs, &case.removed);
        assert_eq!(
            run.code, 0,
            "{}: exit {} ({})",
            case.name, run.code, run.stderr
        );
        assert!(
            run.stderr.contains(case.message),
            "{}: stderr {:?}",
            case.name,
            run.stderr
        );
        match (case.deny, deny_json(&run)) {
            (true, Some(output)) => {
                let reason = output["hookSpecificOutput"]["permissionDecisionReason"]
                    .as_str()
                    .unwrap();
                assert!(reason.contains("hooks."), "{}: {reason}", case.name);
                assert_eq!(output["hookSpecificOutput"]["hookEventName"], "PreToolUse");
                assert_eq!(
                    run.stdout.trim().lines().count(),
                    1,
                    "{}: only the JSON",
                    case.name
                );
            }
            (true, None) => panic!("{}: not denied: {:?}", case.name, run.stdout),
            (false, _) => assert_eq!(run.stdout, "", "{}: stdout reaches Claude", case.name),
        }
    }
    // Failures are kept in hook.log too.
    let log = std::fs::read_to_string(sandbox.dir.path().join("state/claude-enterprise/hook.log"))
        .unwrap();
    assert!(log.contains("unknown event `BeforeLunch`"), "{log}");

    // A session id that is not a file name names its state file by its SHA-256, inside the
    // sessions directory, where the servers of that session look for it too.
    let odd = "../../etc/x";
    let run = sandbox.run(
        &["hook", "UserPromptSubmit"],
        &json!({"session_id": odd, "hook_event_name": "UserPromptSubmit", "prompt": "p"})
            .to_string(),
        &[],
        &[],
    );
    assert_eq!((run.code, run.stdout.as_str()), (0, ""), "{}", run.stderr);
    let sessions = sandbox.dir.path().join("state/claude-enterprise/sessions");
    let expected = format!("sha256-{}.json", hex::encode(sha2::Sha256::digest(odd)));
    let state: Value =
        serde_json::from_slice(&std::fs::read(sessions.join(&expected)).unwrap()).unwrap();
    assert!(
        state["prompt_hash"]
            .as_str()
            .unwrap()
            .starts_with("sha256:"),
        "{state}"
    );
    assert!(!sandbox.dir.path().join("etc/x.json").exists());
    assert!(!sandbox.dir.path().join("state/etc/x.json").exists());
}

#[test]
fn a_hook_whose_stdin_never_closes_still_ends_at_once() {
    let sandbox = Sandbox::new("");
    let mut child = sandbox
        .command(&["hook", "UserPromptSubmit"], &[], &[])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let _open = child.stdin.take();
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "the hook waited for stdin");
        std::thread::sleep(Duration::from_millis(10));
    };
    let out = child.wait_with_output().unwrap();
    assert_eq!(status.code(), Some(0));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no payload on stdin"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn bash_command_lines_through_the_binary() {
    let sandbox = Sandbox::new("[hooks]\npush_branches = [\"ai/*\"]\n");
    let cwd = sandbox.dir.path();
    let denied = [
        "git push origin main",
        "git push origin claude/x",
        "cd src && sh -c 'git push --force origin ai/x'",
        "git push origin \"$BRANCH\"",
        "gh pr merge 12 --squash",
        "gh api -X DELETE repos/acme/app/git/refs/heads/ai/x",
    ];
    for command in denied {
        let run = sandbox.hook("PreToolUse", &bash(cwd, command));
        assert_eq!(run.code, 0, "{command}");
        assert!(
            run.stdout.contains("\"permissionDecision\":\"deny\""),
            "{command}: {}",
            run.stdout
        );
    }
    for command in ["git push -u origin ai/x", "cargo test", "gh pr view 1"] {
        let run = sandbox.hook("PreToolUse", &bash(cwd, command));
        assert_eq!(
            (run.code, run.stdout.as_str()),
            (0, ""),
            "{command}: {}",
            run.stderr
        );
    }
    // A line built to outlast the hook's time (one alias lookup per unknown git command)
    // is denied, not let through by the watchdog.
    let mut slow: String = (0..2000).map(|i| format!("git nosuch{i}; ")).collect();
    slow.push_str("git push origin main");
    let run = sandbox.hook("PreToolUse", &bash(cwd, &slow));
    assert_eq!(run.code, 0);
    assert!(
        run.stdout.contains("\"permissionDecision\":\"deny\""),
        "{}{}",
        run.stdout,
        run.stderr
    );
    // A broken [hooks] section is reported, and the built-in rules stand in.
    let broken = Sandbox::new("[hooks]\npush_branches = [\"ai/[\"]\n");
    let run = broken.hook("PreToolUse", &bash(cwd, "git push origin main"));
    assert_eq!(run.code, 0);
    assert!(
        run.stdout.contains("\"permissionDecision\":\"deny\""),
        "{}",
        run.stdout
    );
    assert!(run.stderr.contains("hooks.push_branches"), "{}", run.stderr);
    let run = broken.hook("PreToolUse", &bash(cwd, "git push origin claude/x"));
    assert_eq!((run.code, run.stdout.as_str()), (0, ""));
}

#[test]
fn prompt_hash_and_model_reach_the_servers_events_and_claude_codes_tools_are_journaled() {
    let sandbox = Sandbox::new("[identity]\nuser = \"jane@corp.example\"\n");
    let cwd = sandbox.dir.path();
    let start = payload(
        "SessionStart",
        cwd,
        json!({"source": "startup", "model": "claude-opus-4-5"}),
    );
    let prompt = "Refactor the login flow";
    let submit = payload("UserPromptSubmit", cwd, json!({"prompt": prompt}));
    for (event, payload) in [("SessionStart", &start), ("UserPromptSubmit", &submit)] {
        let run = sandbox.hook(event, payload);
        assert_eq!(
            (run.code, run.stdout.as_str(), run.stderr.as_str()),
            (0, "", ""),
            "{event}"
        );
    }
    let expected_hash = {
        use sha2::Digest;
        format!("sha256:{}", hex::encode(sha2::Sha256::digest(prompt)))
    };
    let state_file = sandbox.state_file();
    let state: Value = serde_json::from_slice(&std::fs::read(&state_file).unwrap()).unwrap();
    assert_eq!(state["prompt_hash"], expected_hash.as_str());
    assert_eq!(state["model"], "claude-opus-4-5");
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&state_file), 0o600);
    assert_eq!(mode(state_file.parent().unwrap()), 0o700);
    // Nothing but the state file and the hooks' claims is left in its directory (the temporary
    // file was renamed).
    let mut left: Vec<String> = std::fs::read_dir(state_file.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    left.sort();
    assert_eq!(left, [format!("{SESSION}.json"), "claims".to_owned()]);

    // A server of ours, with nothing behind it: its failing call is journaled with the context.
    let mut server = testkit::McpStdio::spawn(
        &testkit::workspace_bin("github-mcp"),
        &[],
        &[
            ("CLAUDE_ENTERPRISE_CONFIG", &sandbox.path("config.toml")),
            ("XDG_STATE_HOME", &sandbox.path("state")),
            ("HOME", &sandbox.path("home")),
            ("CLAUDE_CODE_SESSION_ID", SESSION),
            ("GITHUB_TOKEN", "ghp_not_a_real_token_000000000000000000"),
            ("GITHUB_API_URL", "http://127.0.0.1:9"),
        ],
    );
    server.initialize();
    let answer = server.request(
        "tools/call",
        json!({"name": "github_list_commits", "arguments": {"owner": "acme", "repo": "app"},
               "_meta": {"claudecode/toolUseId": "toolu_server"}}),
    );
    assert_eq!(answer["result"]["isError"], true, "{answer}");
    drop(server);

    // Claude Code's own tools: Bash succeeded, Edit failed; our server's tool is not repeated.
    let post = |event: &str, extra: Value| sandbox.hook(event, &payload(event, cwd, extra));
    let runs = [
        post(
            "PostToolUse",
            json!({"tool_name": "Bash", "tool_use_id": "toolu_bash",
                   "tool_input": {"command": "curl -H 'Authorization: Bearer ghp_abcdefghijklmnopqrstuvwxyz0123456789' x", "description": "fetch"},
                   "tool_response": {"stdout": "ok", "stderr": "", "interrupted": false}, "duration_ms": 41}),
        ),
        post(
            "PostToolUseFailure",
            json!({"tool_name": "Edit", "tool_use_id": "toolu_edit",
                   "tool_input": {"file_path": "/src/a.rs", "old_string": "a", "new_string": "b"},
                   "error": "String to replace not found in file."}),
        ),
        post(
            "PostToolUse",
            json!({"tool_name": "mcp__plugin_enterprise-governance_github__github_list_commits",
                   "tool_use_id": "toolu_server", "tool_input": {"owner": "acme", "repo": "app"},
                   "tool_response": {}, "mcp_server": {"name": "plugin:enterprise-governance:github", "source": "plugin"}}),
        ),
    ];
    for run in &runs {
        assert_eq!((run.code, run.stdout.as_str()), (0, ""), "{}", run.stderr);
    }

    let events = sandbox.journal();
    let server_event = events
        .iter()
        .find(|e| e["server"]["name"] == "github-mcp")
        .expect("the server journaled its call");
    for event in &events {
        assert_eq!(event["ai_context"]["session_id"], SESSION, "{event}");
        assert_eq!(
            event["ai_context"]["prompt_hash"],
            expected_hash.as_str(),
            "{event}"
        );
        assert_eq!(event["ai_context"]["model"], "claude-opus-4-5", "{event}");
    }
    assert_eq!(server_event["ai_context"]["tool_use_id"], "toolu_server");
    let ours: Vec<&Value> = events
        .iter()
        .filter(|e| e["tool"] == "claude-code")
        .collect();
    assert_eq!(ours.len(), 2, "the MCP tool was journaled again: {ours:?}");
    let bash = ours.iter().find(|e| e["action"] == "Bash").unwrap();
    assert_eq!(bash["result"], "success");
    assert_eq!(bash["access"], "write");
    assert_eq!(bash["user"], "jane@corp.example");
    assert_eq!(bash["duration_ms"], 41);
    assert_eq!(bash["ai_context"]["tool_use_id"], "toolu_bash");
    let edit = ours.iter().find(|e| e["action"] == "Edit").unwrap();
    assert_eq!(edit["result"], "error");
    assert_eq!(edit["error"], "String to replace not found in file.");
    assert!(
        !serde_json::to_string(&events)
            .unwrap()
            .contains("ghp_abcdefghij"),
        "a token in a Bash command reached the journal"
    );
    // Both hooks continued one segment for the session, and the journal verifies.
    assert!(
        sandbox
            .journal_dir()
            .join(format!("claude-code-{SESSION}.jsonl"))
            .exists()
    );
    let verify = Command::new(CLI)
        .args(["audit", "verify", "--dir"])
        .arg(sandbox.journal_dir())
        .output()
        .unwrap();
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stdout)
    );
}

/// A PostToolUse (or PostToolUseFailure) payload of a Bash call.
fn tool_use(event: &str, cwd: &Path, id: &str) -> Value {
    payload(
        event,
        cwd,
        json!({"tool_name": "Bash", "tool_use_id": id,
               "tool_input": {"command": "cargo test", "description": "test"},
               "tool_response": {"stdout": "ok", "stderr": "", "interrupted": false}}),
    )
}

/// `value`'s JSON with its keys in reverse order and spaced out: the same payload as
/// `value.to_string()`, spelled otherwise.
fn respelled(value: &Value) -> String {
    let fields: Vec<String> = value
        .as_object()
        .unwrap()
        .iter()
        .rev()
        .map(|(k, v)| format!("{}: {}", json!(k), serde_json::to_string_pretty(v).unwrap()))
        .collect();
    format!("{{\n  {}\n}}\n", fields.join(",\n  "))
}

#[test]
fn a_hook_installed_twice_journals_each_tool_use_once() {
    let sandbox = Sandbox::new("");
    let cwd = sandbox.dir.path();
    let post = |id: &str| tool_use("PostToolUse", cwd, id);
    let mut elsewhere = post("toolu_8");
    elsewhere["session_id"] = json!("0b7c2d4e-1f3a-4c5d-8e9f-a0b1c2d3e4f5");
    struct Case<'a> {
        name: &'a str,
        /// `hook EVENT` and its stdin, one per copy.
        runs: Vec<(&'a str, String)>,
        /// All at once, as Claude Code runs the hooks of one event, or one after the other.
        together: bool,
        /// The records the runs add to the journal.
        records: usize,
    }
    let case = |name, runs, together, records| Case {
        name,
        runs,
        together,
        records,
    };
    let cases = vec![
        case(
            "the same payload, one copy after the other",
            vec![("PostToolUse", post("toolu_1").to_string()); 2],
            false,
            1,
        ),
        case(
            "the same payload, both copies at once",
            vec![("PostToolUse", post("toolu_2").to_string()); 2],
            true,
            1,
        ),
        case(
            "the same payload spelled otherwise",
            vec![
                ("PostToolUse", post("toolu_3").to_string()),
                ("PostToolUse", respelled(&post("toolu_3"))),
            ],
            true,
            1,
        ),
        case(
            "four copies at once",
            vec![
                (
                    "PostToolUseFailure",
                    tool_use("PostToolUseFailure", cwd, "toolu_4").to_string()
                );
                4
            ],
            true,
            1,
        ),
        case(
            "two tool uses, two copies each",
            vec![
                ("PostToolUse", post("toolu_5").to_string()),
                ("PostToolUse", post("toolu_6").to_string()),
                ("PostToolUse", post("toolu_5").to_string()),
                ("PostToolUse", post("toolu_6").to_string()),
            ],
            true,
            2,
        ),
        case(
            "one tool use, as two events",
            vec![
                ("PostToolUse", post("toolu_7").to_string()),
                (
                    "PostToolUseFailure",
                    tool_use("PostToolUseFailure", cwd, "toolu_7").to_string(),
                ),
            ],
            true,
            2,
        ),
        case(
            "the same tool use in another session",
            vec![
                ("PostToolUse", post("toolu_8").to_string()),
                ("PostToolUse", elsewhere.to_string()),
            ],
            true,
            2,
        ),
    ];
    let mut before = 0;
    for Case {
        name,
        runs,
        together,
        records,
    } in cases
    {
        let results = if together {
            sandbox.hooks_together(&runs)
        } else {
            runs.iter()
                .map(|(event, stdin)| sandbox.run(&["hook", event], stdin, &[], &[]))
                .collect()
        };
        for run in &results {
            assert_eq!(
                (run.code, run.stdout.as_str(), run.stderr.as_str()),
                (0, "", ""),
                "{name}"
            );
        }
        let now = sandbox.tool_records().len();
        assert_eq!(
            now - before,
            records,
            "{name}: {:#?}",
            sandbox.tool_records()
        );
        before = now;
    }
    // Every copy of a PreToolUse check answers: Claude Code takes any deny.
    let push = bash(cwd, "git push origin main").to_string();
    for run in sandbox.hooks_together(&[("PreToolUse", push.clone()), ("PreToolUse", push)]) {
        assert!(
            run.stdout.contains("\"permissionDecision\":\"deny\""),
            "{}{}",
            run.stdout,
            run.stderr
        );
    }
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let claims = sandbox.claims_dir();
    assert_eq!(mode(&claims), 0o700);
    for entry in std::fs::read_dir(&claims).unwrap() {
        assert_eq!(mode(&entry.unwrap().path()), 0o600);
    }
}

#[test]
fn when_claiming_fails_the_work_is_done_anyway() {
    fn nothing(_: &Sandbox) {}
    fn unclaimable(sandbox: &Sandbox) {
        let claims = sandbox.claims_dir();
        std::fs::create_dir_all(claims.parent().unwrap()).unwrap();
        std::fs::write(claims, "").unwrap();
    }
    fn unjournalable(sandbox: &Sandbox) {
        std::fs::create_dir_all(sandbox.journal_dir().parent().unwrap()).unwrap();
        std::fs::write(sandbox.journal_dir(), "").unwrap();
    }
    fn journalable(sandbox: &Sandbox) {
        std::fs::remove_file(sandbox.journal_dir()).unwrap();
    }
    // The markers only: the sweep is not due, the claim itself sees the marker's age.
    fn aged(sandbox: &Sandbox) {
        let then = std::time::SystemTime::now() - Duration::from_secs(600);
        for entry in std::fs::read_dir(sandbox.claims_dir()).unwrap() {
            let entry = entry.unwrap();
            if entry.file_name() != ".swept" {
                let file = std::fs::File::options()
                    .write(true)
                    .open(entry.path())
                    .unwrap();
                file.set_modified(then).unwrap();
            }
        }
    }
    // (what, before the first copy, before the second, records, what the first copy says,
    // what the second says): the copies run one after the other.
    type Setup = fn(&Sandbox);
    let cases: &[(&str, Setup, Setup, usize, &str, &str)] = &[
        (
            "no claims directory: both copies journal",
            unclaimable,
            nothing,
            2,
            "doing the work unclaimed",
            "doing the work unclaimed",
        ),
        (
            "the first copy could not journal: the second does",
            unjournalable,
            journalable,
            1,
            "cannot be written",
            "",
        ),
        (
            "a claim past its time does not count",
            nothing,
            aged,
            2,
            "",
            "",
        ),
    ];
    for (name, first, second, records, first_says, second_says) in cases {
        let sandbox = Sandbox::new("");
        let post = tool_use("PostToolUse", sandbox.dir.path(), "toolu_1");
        first(&sandbox);
        let run = sandbox.hook("PostToolUse", &post);
        assert_eq!(run.code, 0, "{name}");
        assert!(run.stderr.contains(first_says), "{name}: {}", run.stderr);
        second(&sandbox);
        let run = sandbox.hook("PostToolUse", &post);
        assert_eq!(run.code, 0, "{name}");
        assert!(run.stderr.contains(second_says), "{name}: {}", run.stderr);
        assert_eq!(sandbox.tool_records().len(), *records, "{name}");
    }
}

#[test]
fn claims_past_their_time_are_swept() {
    let sandbox = Sandbox::new("");
    let cwd = sandbox.dir.path();
    for id in ["toolu_1", "toolu_2"] {
        let run = sandbox.hook("PostToolUse", &tool_use("PostToolUse", cwd, id));
        assert_eq!((run.code, run.stderr.as_str()), (0, ""));
    }
    let names = || {
        let mut names: Vec<String> = std::fs::read_dir(sandbox.claims_dir())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    };
    let markers = names();
    assert_eq!(
        markers.len(),
        3,
        "two markers and the sweep's stamp: {markers:?}"
    );
    let then = std::time::SystemTime::now() - Duration::from_secs(600);
    for name in &markers {
        let path = sandbox.claims_dir().join(name);
        let file = std::fs::File::options().write(true).open(path).unwrap();
        file.set_modified(then).unwrap();
    }
    let run = sandbox.hook("PostToolUse", &tool_use("PostToolUse", cwd, "toolu_3"));
    assert_eq!((run.code, run.stderr.as_str()), (0, ""));
    let left = names();
    assert_eq!(left.len(), 2, "the old markers stay: {left:?}");
    assert!(
        left.iter().all(|n| !markers.contains(n) || n == ".swept"),
        "{left:?}"
    );
}
