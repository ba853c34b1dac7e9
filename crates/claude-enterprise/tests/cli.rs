//! The CLI as a user runs it: doctor against the real server binaries, config errors, policy.

// A test that cannot set up fails loudly: unwrap and expect are the point here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn cli(args: &[&str], config: &str) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let config_path = dir.path().join("config.toml");
    std::fs::write(&config_path, config).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_claude-enterprise"))
        .args(args)
        .env("CLAUDE_ENTERPRISE_CONFIG", &config_path)
        .env("XDG_STATE_HOME", dir.path().join("state"))
        .env_remove("GITHUB_TOKEN")
        // No instance metadata lookups from tests: nothing leaves loopback.
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .output()
        .unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[test]
fn doctor_handshakes_every_server_and_reports_missing_credentials() {
    let run = cli(&["doctor"], "");
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("ok    config"), "{}", run.stdout);
    assert!(
        run.stdout.contains("github-mcp") && run.stdout.contains("9 tools listed"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("jira-mcp") && run.stdout.contains("8 tools listed"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("confluence-mcp") && run.stdout.contains("6 tools listed"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("warn  github-mcp  credentials: none (GITHUB_TOKEN unset"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("claude-enterprise login github"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("all checks passed"), "{}", run.stdout);
}

#[test]
fn doctor_fails_on_a_broken_config() {
    let run = cli(&["doctor"], "[github]\nwrite_scop = []\n");
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.stdout.contains("FAIL  config") && run.stdout.contains(":2: `github.write_scop`"),
        "{}",
        run.stdout
    );
}

#[test]
fn config_check_names_file_line_and_key() {
    let run = cli(&["config", "check"], "[audit]\ncapture = \"everything\"\n");
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("config.toml:2: `audit.capture`"),
        "{}",
        run.stderr
    );
    let ok = cli(
        &["config", "check"],
        "[safety]\nconfirm_writes = true\nblock_outgoing_secrets = false\n",
    );
    assert_eq!(ok.code, 0, "{}", ok.stderr);
    let wrong = cli(
        &["config", "check"],
        "[safety]\n\nblock_outgoing_secrets = \"no\"\n",
    );
    assert_eq!(wrong.code, 2);
    assert!(
        wrong
            .stderr
            .contains("config.toml:3: `safety.block_outgoing_secrets`"),
        "{}",
        wrong.stderr
    );
}

#[test]
fn config_check_compiles_every_added_secret_rule() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.toml");
    let config = format!(
        "[safety]\nsecret_rules = [{:?}]\n",
        rules.display().to_string()
    );
    let missing = cli(&["config", "check"], &config);
    assert_eq!(missing.code, 2, "{}", missing.stderr);
    assert!(
        missing.stderr.contains("safety.secret_rules") && missing.stderr.contains("rules.toml"),
        "{}",
        missing.stderr
    );
    let rule = |pattern: &str| {
        format!("[[rules]]\nid = \"acme-key\"\nregex = '''{pattern}'''\nkeywords = [\"acme_\"]\n")
    };
    std::fs::write(&rules, rule("acme_[a-z]{4")).unwrap();
    let broken = cli(&["config", "check"], &config);
    assert_eq!(broken.code, 2, "{}", broken.stderr);
    assert!(broken.stderr.contains("rule acme-key"), "{}", broken.stderr);
    std::fs::write(&rules, rule("acme_[a-z]{4}")).unwrap();
    let ok = cli(&["config", "check"], &config);
    assert_eq!(ok.code, 0, "{}", ok.stderr);
}

#[test]
fn policy_explain_shows_each_decision_and_its_rule() {
    let config = r#"
        [policy]
        default_allow = ["github_get_*"]
        [policy.roles.delivery]
        allow = ["github_*"]
        deny = ["github_add_comment"]
    "#;
    let run = cli(&["policy", "explain", "--role", "delivery"], config);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let line = |tool: &str| {
        run.stdout
            .lines()
            .find(|l| l.contains(tool))
            .unwrap_or_default()
            .to_owned()
    };
    assert!(
        line("github_get_pull_request").contains("shown")
            && line("github_get_pull_request").contains("policy.default_allow")
    );
    assert!(
        line("github_create_pull_request").contains("shown")
            && line("github_create_pull_request").contains("policy.roles.delivery.allow")
    );
    assert!(
        line("github_add_comment").contains("hidden")
            && line("github_add_comment").contains("policy.roles.delivery.deny")
    );
    let nobody = cli(&["policy", "explain"], config);
    assert!(
        nobody
            .stdout
            .lines()
            .find(|l| l.contains("github_list_commits"))
            .unwrap()
            .contains("hidden")
    );
}

#[test]
fn config_schema_is_json_schema_and_the_committed_copy_is_current() {
    let run = cli(&["config", "schema"], "");
    let schema: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(schema["type"], "object");
    assert_eq!(schema["additionalProperties"], false);
    for section in ["identity", "audit", "github", "aws", "jira", "confluence"] {
        assert!(schema["properties"][section].is_object(), "{section}");
    }
    // Every `$ref` resolves at the root, where the sections' definitions were hoisted.
    let text = run.stdout.clone();
    for reference in text.split("\"$ref\": \"#/$defs/").skip(1) {
        let name = &reference[..reference.find('"').unwrap()];
        assert!(schema["$defs"][name].is_object(), "dangling $ref {name}");
    }
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/config.schema.json");
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == run.stdout,
        "docs/config.schema.json is stale: run `cargo run -p claude-enterprise -- config schema > docs/config.schema.json`"
    );
}

#[test]
fn config_check_reads_every_section_as_its_server_would() {
    let cases = [
        ("[github]\napi_url = \"https://ghe.corp/api/v3\"\n", None),
        (
            "[jira]\nurl = \"https://x.atlassian.net\"\n\nprojectz = [\"A\"]\n",
            Some(":4:"),
        ),
        (
            "[aws]\nmax_log_rows = \"many\"\n",
            Some("`aws.max_log_rows`"),
        ),
        (
            "[githbu]\napi_url = \"x\"\n",
            Some("unknown section [githbu]"),
        ),
        (
            "[confluence]\ndeployment = \"server\"\n",
            Some("`confluence.deployment`"),
        ),
        ("[hooks]\npush_branches = [\"claude/*\"]\n", None),
        ("[hooks]\npush_branche = []\n", Some("`hooks.push_branche`")),
        (
            "[hooks]\npush_branches = [\"claude/[\"]\n",
            Some("hooks.push_branches"),
        ),
    ];
    for (config, error) in cases {
        let run = cli(&["config", "check"], config);
        match error {
            None => assert_eq!(run.code, 0, "{config}: {}", run.stderr),
            Some(expected) => {
                assert_ne!(run.code, 0, "{config} passed");
                assert!(run.stderr.contains(expected), "{config}: {}", run.stderr);
            }
        }
    }
}

/// `audit ship`: a journal of `counts[i]` events in segment i, under `dir/audit`.
fn ship_journal(dir: &std::path::Path, counts: &[u64]) -> std::path::PathBuf {
    use governance::audit::{Access, AiContext, AuditEvent, Journal, Phase, ServerInfo};
    let journal_dir = dir.join("audit");
    for (i, count) in counts.iter().enumerate() {
        let (journal, _) = Journal::open(&journal_dir, &format!("server{i}")).unwrap();
        for n in 0..*count {
            let event = AuditEvent {
                event_id: format!("{}-{i}-{n}", testkit::uuid()),
                seq: 0,
                timestamp: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                user: "jane@corp.example".into(),
                roles: vec![],
                tool: "github".into(),
                action: "get_pull_request".into(),
                access: Access::Read,
                phase: Phase::Outcome,
                call_id: format!("c{n}"),
                parameters: serde_json::json!({"n": n}),
                result: Some("success".into()),
                error: None,
                duration_ms: Some(1),
                decision: governance::policy::Decision::allow("policy.default_allow"),
                stripped_chars: None,
                redacted_secrets: None,
                resources: Default::default(),
                ai_context: AiContext::default(),
                server: ServerInfo {
                    name: "github-mcp".into(),
                    version: "0.1.0".into(),
                },
                host: "laptop".into(),
                policy_digest: "sha256:x".into(),
                tools_digest: None,
                prev_hash: String::new(),
                hash: String::new(),
            };
            journal.append(event, false).unwrap();
        }
    }
    journal_dir
}

fn ship_config(journal_dir: &std::path::Path, out: &std::path::Path) -> String {
    format!(
        "[audit]\ndir = {:?}\n[audit.ship]\nbatch_max_events = 20\nretry_initial_ms = 10\n\
         [[audit.sinks]]\nkind = \"file\"\nname = \"central\"\npath = {:?}\n",
        journal_dir.display().to_string(),
        out.display().to_string()
    )
}

/// Every journal line by event_id, and the order of the ids.
fn journal_by_id(
    journal_dir: &std::path::Path,
) -> (
    std::collections::HashMap<String, serde_json::Value>,
    Vec<String>,
) {
    let mut by_id = std::collections::HashMap::new();
    let mut order = Vec::new();
    for segment in governance::audit::segments(journal_dir).unwrap() {
        for line in std::fs::read_to_string(segment).unwrap().lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            let id = v["event_id"].as_str().unwrap().to_owned();
            order.push(id.clone());
            by_id.insert(id, v);
        }
    }
    (by_id, order)
}

#[test]
fn audit_ship_killed_9_mid_batch_many_times_loses_nothing_and_duplicates_only_same_event_ids() {
    let dir = tempfile::tempdir().unwrap();
    let journal_dir = ship_journal(dir.path(), &[400, 400, 400]);
    let out = dir.path().join("central.jsonl");
    let config = dir.path().join("config.toml");
    std::fs::write(&config, ship_config(&journal_dir, &out)).unwrap();
    let ship = || {
        let mut command = Command::new(env!("CARGO_BIN_EXE_claude-enterprise"));
        command
            .args(["audit", "ship", "--once"])
            .env("CLAUDE_ENTERPRISE_CONFIG", &config)
            .env("XDG_STATE_HOME", dir.path().join("state"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped());
        command
    };
    for round in 0..15u64 {
        let mut child = ship().spawn().unwrap();
        // Kill points spread over start-up and shipping.
        std::thread::sleep(std::time::Duration::from_millis(5 + round * 11 % 90));
        child.kill().unwrap();
        child.wait().unwrap();
    }
    let last = ship().output().unwrap();
    assert!(
        last.status.success(),
        "{}",
        String::from_utf8_lossy(&last.stderr)
    );
    let (journal, order) = journal_by_id(&journal_dir);
    let text = std::fs::read_to_string(&out).unwrap();
    let mut seen = std::collections::HashSet::new();
    let mut firsts = Vec::new();
    for line in text.lines() {
        let mut v: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("a torn line in the sink ({e}): {line}"));
        v.as_object_mut().unwrap().remove("ship");
        let id = v["event_id"].as_str().unwrap().to_owned();
        // A duplicate is the same event, byte for byte.
        assert_eq!(journal.get(&id), Some(&v), "{id}");
        if seen.insert(id.clone()) {
            firsts.push(id);
        }
    }
    // Nothing lost, and first arrivals in journal order.
    assert_eq!(firsts, order);
    // The central check over what arrived: every chain whole, up to every head shipped.
    let shipped: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(audit_ship::central::check(&shipped), (3, vec![]));
    let verify = |file: &std::path::Path| {
        Command::new(env!("CARGO_BIN_EXE_claude-enterprise"))
            .args(["audit", "verify-shipped"])
            .arg(file)
            .output()
            .unwrap()
    };
    let intact = verify(&out);
    let stdout = String::from_utf8_lossy(&intact.stdout);
    assert_eq!(intact.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("central copy intact: 3 segments"),
        "{stdout}"
    );
    // One event lost centrally: named.
    let cut = dir.path().join("cut.jsonl");
    let kept: Vec<&str> = text
        .lines()
        .filter(|l| !l.contains(&format!("\"event_id\":\"{}\"", order[500])))
        .collect();
    std::fs::write(&cut, kept.join("\n") + "\n").unwrap();
    let broken = verify(&cut);
    let stdout = String::from_utf8_lossy(&broken.stdout);
    assert_eq!(broken.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("BROKEN") && stdout.contains("missing"),
        "{stdout}"
    );
    let status = cli_status(&config, dir.path());
    assert!(status.contains("central (file): 0 pending"), "{status}");
}

fn cli_status(config: &std::path::Path, dir: &std::path::Path) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_claude-enterprise"))
        .arg("status")
        .env("CLAUDE_ENTERPRISE_CONFIG", config)
        .env("XDG_STATE_HOME", dir.join("state"))
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn audit_ship_with_a_failing_sink_exits_1_with_the_reason_and_status_shows_it() {
    let dir = tempfile::tempdir().unwrap();
    let journal_dir = ship_journal(dir.path(), &[5]);
    // The sink's file lies in a directory that does not exist.
    let out = dir.path().join("missing/central.jsonl");
    let config = dir.path().join("config.toml");
    std::fs::write(&config, ship_config(&journal_dir, &out)).unwrap();
    let run = Command::new(env!("CARGO_BIN_EXE_claude-enterprise"))
        .args(["audit", "ship", "--once"])
        .env("CLAUDE_ENTERPRISE_CONFIG", &config)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("sink `central` FAILED"), "{stderr}");
    assert!(stderr.contains("nothing is lost"), "{stderr}");
    let status = cli_status(&config, dir.path());
    assert!(status.contains("central (file): 5 pending"), "{status}");
    assert!(status.contains("oldest unshipped"), "{status}");
    assert!(status.contains("last error:"), "{status}");
}

#[test]
fn audit_sinks_config_errors_name_the_problem() {
    let run = cli(
        &["config", "check"],
        "[[audit.sinks]]\nkind = \"file\"\nname = \"a\"\npath = \"/tmp/x\"\ntoken = \"s3cret\"\n",
    );
    assert_ne!(run.code, 0);
    assert!(run.stderr.contains("token"), "{}", run.stderr);
    let run = cli(
        &["config", "check"],
        "[[audit.sinks]]\nkind = \"kafka\"\nname = \"a\"\n",
    );
    assert_ne!(run.code, 0);
    assert!(run.stderr.contains("kafka"), "{}", run.stderr);
    let run = cli(
        &["config", "check"],
        "[audit.ship]\nbatch_max_events = 10\n[[audit.sinks]]\nkind = \"cloudwatch\"\nname = \"cw\"\nlog_group = \"/ce/audit\"\n",
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run = cli(&["audit", "ship", "--once"], "");
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("no sink configured"), "{}", run.stderr);
}

#[test]
fn session_start_and_end_hooks_exit_0_and_drain_the_journal_in_the_background() {
    use std::io::Write;
    for (event, payload) in [
        (
            "SessionStart",
            &br#"{"session_id":"s1","hook_event_name":"SessionStart","source":"startup","model":"claude-opus-4-5"}"#[..],
        ),
        (
            "SessionEnd",
            &br#"{"session_id":"s1","hook_event_name":"SessionEnd","reason":"exit"}"#[..],
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let journal_dir = ship_journal(dir.path(), &[30]);
        let out = dir.path().join("central.jsonl");
        let config = dir.path().join("config.toml");
        std::fs::write(&config, ship_config(&journal_dir, &out)).unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_claude-enterprise"))
            .args(["hook", event])
            .env("CLAUDE_ENTERPRISE_CONFIG", &config)
            .env("XDG_STATE_HOME", dir.path().join("state"))
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(payload).unwrap();
        let hook = child.wait_with_output().unwrap();
        assert_eq!(
            hook.status.code(),
            Some(0),
            "{event}: {}",
            String::from_utf8_lossy(&hook.stderr)
        );
        assert!(hook.stdout.is_empty(), "{event}");
        // The drain runs on after the hook: wait for it (a bound on the wait, not on its
        // speed).
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
        while std::fs::read_to_string(&out).map_or(0, |t| t.lines().count()) < 30 {
            assert!(
                std::time::Instant::now() < deadline,
                "{event}: the background drain never shipped"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }
}

#[test]
fn audit_ship_follow_tails_new_events_and_holds_the_sink_against_a_second_shipper() {
    let dir = tempfile::tempdir().unwrap();
    let journal_dir = ship_journal(dir.path(), &[10]);
    let out = dir.path().join("central.jsonl");
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[audit]\ndir = {:?}\n[audit.ship]\npoll_interval_ms = 50\nbatch_max_age_ms = 0\n\
             [[audit.sinks]]\nkind = \"file\"\nname = \"central\"\npath = {:?}\n",
            journal_dir.display().to_string(),
            out.display().to_string()
        ),
    )
    .unwrap();
    let ship = |args: &[&str]| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_claude-enterprise"));
        command
            .arg("audit")
            .arg("ship")
            .args(args)
            .env("CLAUDE_ENTERPRISE_CONFIG", &config)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped());
        command
    };
    let mut follow = ship(&["--follow"]).spawn().unwrap();
    let shipped = || std::fs::read_to_string(&out).map_or(0, |t| t.lines().count());
    let wait_for = |n: usize| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
        while shipped() < n {
            assert!(
                std::time::Instant::now() < deadline,
                "only {} shipped",
                shipped()
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    };
    wait_for(10);
    // New events, from a new writer: tailed.
    ship_journal(dir.path(), &[7]);
    wait_for(17);
    // The follower holds the sink: a second shipper is refused, saying why.
    let second = ship(&["--once"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("another shipper"), "{stderr}");
    follow.kill().unwrap();
    follow.wait().unwrap();
    let (_, order) = journal_by_id(&journal_dir);
    let ids: Vec<String> = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["event_id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(ids, order);
}

#[test]
fn audit_ship_print_ilm_prints_the_retention_requests_of_the_elasticsearch_sinks() {
    let config = "[[audit.sinks]]\nkind = \"elasticsearch\"\nname = \"es\"\n\
                  url = \"https://es.corp.example:9200\"\nerrors_index = \"claude-errors\"\n";
    let run = cli(&["audit", "ship", "--print-ilm"], config);
    assert_eq!(run.code, 0, "{}", run.stderr);
    // The Kibana console's form: a request line, its JSON body, a blank line.
    let mut requests = Vec::new();
    let mut lines = run.stdout.lines().filter(|l| !l.starts_with('#'));
    while let Some(line) = lines.next() {
        if line.is_empty() {
            continue;
        }
        let body: String = lines
            .by_ref()
            .take_while(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join("\n");
        let body: serde_json::Value = serde_json::from_str(&body).unwrap();
        requests.push((line.to_owned(), body));
    }
    let names: Vec<&str> = requests.iter().map(|(l, _)| l.as_str()).collect();
    assert_eq!(
        names,
        [
            "PUT _ilm/policy/claude-enterprise-audit-policy",
            "PUT _index_template/claude-enterprise-audit",
            "PUT _ilm/policy/claude-errors-policy",
            "PUT _index_template/claude-errors",
        ]
    );
    let delete_after = |i: usize| requests[i].1["policy"]["phases"]["delete"]["min_age"].clone();
    assert_eq!(delete_after(0), "365d");
    assert_eq!(delete_after(2), "90d");
    assert_eq!(
        requests[1].1["template"]["settings"]["index.lifecycle.name"],
        "claude-enterprise-audit-policy"
    );
    let run = cli(&["audit", "ship", "--print-ilm", "--sink", "other"], config);
    assert_ne!(run.code, 0);
    assert!(run.stderr.contains("`other`"), "{}", run.stderr);
}

#[test]
fn audit_ship_to_splunk_hec_reads_the_token_from_the_environment_and_never_prints_it() {
    // The local HEC receiver (no real Splunk can run here; it answers as Splunk documents).
    let hec = testkit::audit_receivers();
    let token = "5c2f0e7a-cli-hec-token-93b1";
    hec.faults(serde_json::json!({ "hec_token": token }));
    let dir = tempfile::tempdir().unwrap();
    let journal_dir = ship_journal(dir.path(), &[7]);
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[audit]\ndir = {:?}\n[[audit.sinks]]\nkind = \"splunk_hec\"\nname = \"splunk\"\n\
             url = {:?}\n",
            journal_dir.display().to_string(),
            hec.url
        ),
    )
    .unwrap();
    let ship = |token: &str| {
        Command::new(env!("CARGO_BIN_EXE_claude-enterprise"))
            .args(["audit", "ship", "--once"])
            .env("CLAUDE_ENTERPRISE_CONFIG", &config)
            .env("XDG_STATE_HOME", dir.path().join("state"))
            .env("SPLUNK_HEC_TOKEN", token)
            .output()
            .unwrap()
    };
    // `status` says where the token would come from, never the token.
    let status = |token: Option<&str>| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_claude-enterprise"));
        command
            .arg("status")
            .env("CLAUDE_ENTERPRISE_CONFIG", &config)
            .env("XDG_STATE_HOME", dir.path().join("state"))
            .env_remove("SPLUNK_HEC_TOKEN");
        if let Some(token) = token {
            command.env("SPLUNK_HEC_TOKEN", token);
        }
        String::from_utf8_lossy(&command.output().unwrap().stdout).into_owned()
    };
    let missing = status(None);
    assert!(
        missing.contains(
            "NO SECRET: set $SPLUNK_HEC_TOKEN or run `claude-enterprise audit sink-secret splunk`"
        ),
        "{missing}"
    );
    let present = status(Some(token));
    assert!(
        present.contains("secret from $SPLUNK_HEC_TOKEN"),
        "{present}"
    );
    assert!(!present.contains(token), "{present}");
    let refused = ship("not-the-hec-token-0000");
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("Invalid token"), "{stderr}");
    assert!(!stderr.contains("not-the-hec-token-0000"), "{stderr}");
    let shipped = ship(token);
    let stderr = String::from_utf8_lossy(&shipped.stderr);
    assert!(shipped.status.success(), "{stderr}");
    assert!(!stderr.contains(token), "{stderr}");
    let (_, order) = journal_by_id(&journal_dir);
    let received: Vec<String> = hec.received()["hec"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            e["envelope"]["event"]["event_id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(received, order);
    hec.assert_no_violations();
}

#[test]
fn audit_ship_follow_deletes_old_segments_once_shipped_and_keeps_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let journal_dir = ship_journal(dir.path(), &[10, 4]);
    let segments = governance::audit::segments(&journal_dir).unwrap();
    // The first segment is a month old; the second is recent.
    std::fs::OpenOptions::new()
        .write(true)
        .open(&segments[0])
        .unwrap()
        .set_modified(std::time::SystemTime::now() - std::time::Duration::from_secs(30 * 86_400))
        .unwrap();
    let out = dir.path().join("central.jsonl");
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[audit]\ndir = {:?}\nretention_days = 7\n[audit.ship]\npoll_interval_ms = 50\n\
             batch_max_age_ms = 0\n[[audit.sinks]]\nkind = \"file\"\nname = \"central\"\n\
             path = {:?}\n",
            journal_dir.display().to_string(),
            out.display().to_string()
        ),
    )
    .unwrap();
    let mut follow = Command::new(env!("CARGO_BIN_EXE_claude-enterprise"))
        .args(["audit", "ship", "--follow"])
        .env("CLAUDE_ENTERPRISE_CONFIG", &config)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while segments[0].exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "the old segment was never deleted"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    follow.kill().unwrap();
    follow.wait().unwrap();
    // Deleted only once shipped; the recent one stays.
    assert_eq!(std::fs::read_to_string(&out).unwrap().lines().count(), 14);
    assert!(segments[1].exists());
}
