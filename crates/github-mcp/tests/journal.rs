//! The audit journal under a real server: intents on disk before GitHub sees a write, nothing
//! lost to `kill -9`, tampering caught by `claude-enterprise audit verify`.

// A test that cannot set up fails loudly: unwrap and expect are the point here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::{collections::BTreeSet, path::Path, process::Command, time::Duration};

use serde_json::json;
use support::{GithubSandbox, RecordingProxy, Sandbox, github_prism, result_text, workspace_bin};

const TOKEN: &str = "ghp_JOURNALTEST000000000000000000000000000";

fn verify(journal: &Path, extra: &[&str]) -> (i32, String) {
    let out = Command::new(workspace_bin("claude-enterprise"))
        .args(["audit", "verify", "--dir"])
        .arg(journal)
        .args(extra)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn a_writes_intent_is_on_disk_before_github_gets_the_request() {
    let sandbox = Sandbox::new("[github]\nwrite_scope = [\"octo/*\"]\n");
    let proxy = RecordingProxy::start(github_prism());
    let mut server = sandbox.github(proxy.url(), Some(TOKEN));
    server.initialize();
    // A read first: who the user is, and Prism's first (slow) answer, are behind us.
    server.call(
        "github_get_pull_request",
        json!({"owner": "octo", "repo": "hello", "pull_number": 1}),
    );
    let held = Duration::from_secs(6);
    proxy.delay("/repos/octo/hello/pulls", held, 1);
    let id = server.send_request(
        "tools/call",
        json!({"name": "github_create_pull_request", "arguments": {"owner": "octo", "repo": "hello", "title": "t", "head": "h", "base": "main"}}),
    );
    // The request is now held by the proxy, on its way to GitHub: the intent must already be
    // on disk, and nothing else of the call.
    let started = std::time::Instant::now();
    let phases = loop {
        let phases: Vec<String> = sandbox
            .journal()
            .iter()
            .filter(|e| e["action"] == "create_pull_request")
            .map(|e| e["phase"].as_str().unwrap().to_owned())
            .collect();
        if !phases.is_empty() || started.elapsed() > held - Duration::from_secs(2) {
            break phases;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(phases, ["intent"], "intent durable, outcome not yet");
    assert!(
        proxy
            .requests_to("POST", "/repos/octo/hello/pulls")
            .is_empty(),
        "still in flight"
    );
    let answer = server.response(id);
    assert_ne!(answer["result"]["isError"], json!(true), "{answer}");
    let after: Vec<String> = sandbox
        .journal()
        .iter()
        .filter(|e| e["action"] == "create_pull_request")
        .map(|e| e["phase"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(after, ["intent", "outcome"]);
}

#[test]
fn kill_9_mid_burst_loses_no_completed_call() {
    let sandbox = Sandbox::new("[github]\nwrite_scope = [\"octo/*\"]\n");
    let proxy = RecordingProxy::start(github_prism());
    let mut server = sandbox.github(proxy.url(), Some(TOKEN));
    server.initialize();
    let burst = 60;
    let mut ids = Vec::new();
    for n in 0..burst {
        let (name, arguments) = if n % 3 == 0 {
            (
                "github_add_comment",
                json!({"owner": "octo", "repo": "hello", "issue_number": n + 1, "body": format!("c{n}")}),
            )
        } else {
            (
                "github_get_pull_request",
                json!({"owner": "octo", "repo": "hello", "pull_number": n + 1}),
            )
        };
        ids.push(server.send_request(
            "tools/call",
            json!({"name": name, "arguments": arguments, "_meta": {"claudecode/toolUseId": format!("toolu_{n}")}}),
        ));
    }
    // Collect answers until a third of the burst is in, then kill the server mid-flight.
    let mut answered = BTreeSet::new();
    while answered.len() < burst / 3 {
        let message = server.read();
        if let Some(id) = message["id"].as_u64() {
            let n = ids.iter().position(|i| *i == id).unwrap();
            answered.insert(format!("toolu_{n}"));
        }
    }
    server.kill9();

    let journal = sandbox.journal_dir();
    let (code, out) = verify(&journal, &["--repair"]);
    assert_eq!(code, 0, "verify after repair: {out}");
    let (code, out) = verify(&journal, &[]);
    assert_eq!(code, 0, "verify again without repair: {out}");
    let recorded: BTreeSet<String> = sandbox
        .journal()
        .iter()
        .filter(|e| e["phase"] == "outcome")
        .filter_map(|e| e["ai_context"]["tool_use_id"].as_str().map(str::to_owned))
        .collect();
    let missing: Vec<&String> = answered.difference(&recorded).collect();
    assert!(
        missing.is_empty(),
        "answered calls without an outcome record: {missing:?}"
    );
    // Every comment GitHub received had its intent recorded first.
    let intents = sandbox
        .journal()
        .iter()
        .filter(|e| e["phase"] == "intent")
        .count();
    let posted = proxy.requests_to("POST", "/repos/octo/hello/issues/").len();
    assert!(
        intents >= posted,
        "{intents} intents for {posted} comments sent"
    );
}

#[test]
fn audit_verify_names_the_segment_and_seq_of_each_kind_of_break() {
    let sandbox = Sandbox::new("");
    let proxy = RecordingProxy::start(github_prism());
    let mut server = sandbox.github(proxy.url(), Some(TOKEN));
    server.initialize();
    for n in 1..=5 {
        let r = server.call(
            "github_get_pull_request",
            json!({"owner": "octo", "repo": "hello", "pull_number": n}),
        );
        assert_ne!(r["isError"], json!(true), "{}", result_text(&r));
    }
    drop(server);
    let journal = sandbox.journal_dir();
    let segment = std::fs::read_dir(&journal)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let original = std::fs::read_to_string(&segment).unwrap();
    let (code, out) = verify(&journal, &[]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("5 events"), "{out}");

    type Tamper = fn(&mut Vec<String>) -> String;
    let cases: &[(&str, Tamper, &str)] = &[
        (
            "edited",
            |l| {
                l[1] = l[1].replace("\"pull_number\":2", "\"pull_number\":9");
                String::new()
            },
            "seq 2 (line 2): line was edited",
        ),
        (
            "deleted",
            |l| {
                l.remove(2);
                String::new()
            },
            "seq 3 (line 3): lines are missing",
        ),
        (
            "reordered",
            |l| {
                l.swap(3, 4);
                String::new()
            },
            "seq 4 (line 4): lines are out of order",
        ),
        (
            "truncated",
            |l| {
                let last = l.pop().unwrap();
                last[..last.len() / 2].to_owned()
            },
            "seq 5 (line 5): last line is truncated",
        ),
    ];
    for (name, tamper, expected) in cases {
        let mut lines: Vec<String> = original.lines().map(str::to_owned).collect();
        let tail = tamper(&mut lines);
        std::fs::write(&segment, lines.join("\n") + "\n" + &tail).unwrap();
        let (code, out) = verify(&journal, &[]);
        assert_eq!(code, 1, "{name}: {out}");
        assert!(
            out.contains(&segment.display().to_string()) && out.contains(expected),
            "{name}: {out}"
        );
    }
}
