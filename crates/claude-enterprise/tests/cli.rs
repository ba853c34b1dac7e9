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
        run.stdout.contains("github-mcp") && run.stdout.contains("7 tools listed"),
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
    let ok = cli(&["config", "check"], "[safety]\nconfirm_writes = true\n");
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
