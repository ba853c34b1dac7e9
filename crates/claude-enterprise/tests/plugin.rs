//! The two installs that need no Nix. `claude-enterprise plugin write` checked by the real
//! Claude Code CLI (npm `@anthropic-ai/claude-code`, pinned in xtask/peers): `claude plugin
//! validate --strict` and, with HOME in a temp dir, `claude mcp list` showing the four servers
//! Connected, native and as `docker run -i` entries. Both exit 0 on failure, so their output is
//! what is checked. And the servers' OCI images (`cargo xtask images`, containers/), run with
//! podman as `docker run -i --rm` runs them: here `docker` is podman (no Docker engine on the
//! test machines, ../shared/containers.md).

// A test that cannot set up fails loudly: unwrap and expect are the point here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    os::unix::fs::{MetadataExt, PermissionsExt},
    path::{Path, PathBuf},
    process::{Command, Output},
};

use serde_json::Value;

const PLUGIN: &str = "enterprise-governance";
const SERVERS: &[(&str, &str)] = &[
    ("github", "github-mcp"),
    ("jira", "jira-mcp"),
    ("confluence", "confluence-mcp"),
    ("aws", "aws-mcp"),
];
/// Credentials in the environment of `plugin write`: none may reach a file.
const SECRETS: &[(&str, &str)] = &[
    ("GITHUB_TOKEN", "ghp_PluginSentinel0123456789abcdefABCDEF"),
    ("ATLASSIAN_API_TOKEN", "ATATT3xPluginSentinelAtlassian0123"),
    ("ATLASSIAN_PAT", "pat-plugin-sentinel-4567"),
    (
        "AWS_SECRET_ACCESS_KEY",
        "wJalrXUtnPluginSentinelSecretKey0123456",
    ),
];

struct Sandbox {
    dir: tempfile::TempDir,
}

impl Sandbox {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("home")).unwrap();
        std::fs::write(dir.path().join("config.toml"), "").unwrap();
        Sandbox { dir }
    }

    fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    fn state_home(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    fn config(&self) -> PathBuf {
        self.dir.path().join("config.toml")
    }

    fn plugin_dir(&self) -> PathBuf {
        self.home().join(".claude/skills").join(PLUGIN)
    }

    /// The environment the servers and the CLI run in: nothing of the real user's.
    fn env(&self, command: &mut Command) {
        command
            .env("HOME", self.home())
            .env("XDG_STATE_HOME", self.state_home())
            .env("CLAUDE_ENTERPRISE_CONFIG", self.config())
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9");
    }

    fn plugin_write(&self, program: &Path, args: &[&str]) -> Output {
        let mut command = Command::new(program);
        command.args(["plugin", "write"]).args(args);
        self.env(&mut command);
        command.envs(SECRETS.iter().copied());
        command.output().unwrap()
    }

    fn claude(&self, args: &[&str]) -> String {
        self.claude_with(args, &[])
    }

    /// `claude` with `docker` on PATH being podman with the images `cargo xtask images` built.
    fn claude_with_podman_as_docker(&self, args: &[&str]) -> String {
        let bin = self.dir.path().join("docker-bin");
        std::fs::create_dir_all(&bin).unwrap();
        let docker = bin.join("docker");
        std::fs::write(&docker, "#!/bin/sh\nexec podman \"$@\"\n").unwrap();
        std::fs::set_permissions(&docker, std::fs::Permissions::from_mode(0o755)).unwrap();
        let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
        let mut envs: Vec<(&str, String)> = testkit::podman_env().into();
        envs.push(("PATH", path));
        self.claude_with(args, &envs)
    }

    fn claude_with(&self, args: &[&str], envs: &[(&str, String)]) -> String {
        let claude = testkit::peer_file("node_modules/@anthropic-ai/claude-code/bin/claude.exe");
        let mut command = Command::new(claude);
        command.args(args);
        self.env(&mut command);
        command.envs(envs.iter().map(|(k, v)| (k, v)));
        for (name, _) in SECRETS {
            command.env_remove(name);
        }
        let out = command.output().unwrap();
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    }
}

fn cli() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_claude-enterprise"))
}

/// The server binaries `cargo build --workspace` put beside this crate's binary.
fn server_binary(name: &str) -> PathBuf {
    let path = cli().parent().unwrap().join(name);
    assert!(
        path.is_file(),
        "{} missing: build the servers first (`cargo build -p github-mcp -p jira-mcp -p \
         confluence-mcp -p aws-mcp`; `cargo xtask test` does)",
        path.display()
    );
    path
}

fn succeeded(out: &Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Every file under `dir`: (path relative to it, mode, content).
fn files(dir: &Path) -> Vec<(String, u32, String)> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, u32, String)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            if meta.is_dir() {
                assert_eq!(meta.mode() & 0o777, 0o755, "{}", path.display());
                walk(root, &path, out);
            } else {
                let relative = path.strip_prefix(root).unwrap().display().to_string();
                let text = std::fs::read_to_string(&path).unwrap();
                out.push((relative, meta.permissions().mode() & 0o777, text));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

fn assert_no_secret(dir: &Path) {
    for (path, _, text) in files(dir) {
        for (name, value) in SECRETS {
            assert!(!text.contains(value), "{path} holds the value of {name}");
        }
    }
}

/// `claude plugin validate --strict --json`: passed, no error or warning, and nothing the
/// plugin directory would refuse (README and license present).
fn assert_validates(sandbox: &Sandbox, dir: &Path) {
    let output = sandbox.claude(&[
        "plugin",
        "validate",
        "--strict",
        "--json",
        dir.to_str().unwrap(),
    ]);
    let report: Value = serde_json::from_str(output.trim()).unwrap_or_else(|e| {
        panic!("claude plugin validate --json printed no JSON ({e}): {output}")
    });
    assert_eq!(report["success"], true, "{output}");
    assert_eq!(
        report["manifest"]["errors"],
        Value::Array(vec![]),
        "{output}"
    );
    assert_eq!(
        report["manifest"]["warnings"],
        Value::Array(vec![]),
        "{output}"
    );
    let blocking: Vec<&Value> = report["directory"]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["blocking"] == true)
        .collect();
    assert!(blocking.is_empty(), "{output}");
    let servers: Vec<&str> = report["provides"]["mcpServers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(servers.len(), SERVERS.len(), "{output}");
    for (name, _) in SERVERS {
        assert!(servers.contains(name), "{output}");
    }
    let events: Vec<&str> = report["provides"]["hooks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["event"].as_str().unwrap())
        .collect();
    for event in [
        "SessionStart",
        "UserPromptSubmit",
        "PreToolUse",
        "PostToolUse",
        "PostToolUseFailure",
        "SessionEnd",
    ] {
        assert!(events.contains(&event), "{event} missing: {output}");
    }
}

/// Each hook command, run as written (path and arguments, no shell construct) with its
/// event's payload, is an event the CLI knows, and exits 0.
fn assert_runs_every_hook(sandbox: &Sandbox, hooks: &Value) {
    use std::io::Write;
    for (event, entries) in hooks["hooks"].as_object().unwrap() {
        let command = entries[0]["hooks"][0]["command"].as_str().unwrap();
        let words: Vec<&str> = command.split(' ').collect();
        assert_eq!(words, [cli().to_str().unwrap(), "hook", event.as_str()]);
        let payload = serde_json::json!({
            "session_id": "plugin-test",
            "hook_event_name": event,
            "cwd": sandbox.dir.path(),
            "prompt": "hello",
            "source": "startup",
            "reason": "exit",
            "tool_name": "Read",
            "tool_input": {"file_path": "/etc/hostname"},
            "tool_response": "x",
        });
        let mut run = Command::new(words[0]);
        run.args(&words[1..])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        sandbox.env(&mut run);
        let mut child = run.spawn().unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(payload.to_string().as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{event}: {stderr}");
        assert!(!stderr.contains("unknown event"), "{event}: {stderr}");
        assert!(out.stdout.is_empty(), "{event}: {stderr}");
    }
}

#[test]
fn the_written_plugin_validates_and_claude_connects_to_its_four_servers() {
    let sandbox = Sandbox::new();
    let stdout = succeeded(&sandbox.plugin_write(&cli(), &[]));
    let dir = sandbox.plugin_dir();
    assert!(stdout.contains(&dir.display().to_string()), "{stdout}");

    let written = files(&dir);
    let paths: Vec<&str> = written
        .iter()
        .map(|(p, _, _)| p.as_str())
        .filter(|p| !p.starts_with("skills/"))
        .collect();
    assert_eq!(
        paths,
        [
            ".claude-plugin/plugin.json",
            ".mcp.json",
            "LICENSE",
            "README.md",
            "hooks/hooks.json"
        ]
    );
    let skills: Vec<&str> = written
        .iter()
        .filter_map(|(p, _, _)| p.strip_prefix("skills/")?.strip_suffix("/SKILL.md"))
        .collect();
    assert_eq!(
        skills,
        [
            "delivery-status",
            "portfolio-rollup",
            "security-review",
            "service-health"
        ]
    );
    for (path, mode, _) in &written {
        assert_eq!(*mode, 0o644, "{path}");
    }
    assert_no_secret(&dir);
    // Claude Code's own files are left alone: the plugin is all that was written.
    let claude_dir: Vec<String> = std::fs::read_dir(sandbox.home().join(".claude"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(claude_dir, ["skills"]);
    assert!(!sandbox.home().join(".claude.json").exists());

    let mcp = read_json(&dir.join(".mcp.json"));
    for (name, binary) in SERVERS {
        assert_eq!(
            mcp["mcpServers"][name]["command"],
            server_binary(binary).to_str().unwrap(),
            "{mcp}"
        );
    }
    let hooks = read_json(&dir.join("hooks/hooks.json"));
    let pre = &hooks["hooks"]["PreToolUse"][0];
    assert_eq!(pre["matcher"], "Bash", "{hooks}");
    assert_eq!(
        pre["hooks"][0]["command"],
        format!("{} hook PreToolUse", cli().display()),
        "{hooks}"
    );

    assert_runs_every_hook(&sandbox, &hooks);

    assert_validates(&sandbox, &dir);

    assert_connected(&sandbox.claude(&["mcp", "list"]));
}

/// The YAML frontmatter of a SKILL.md, as `key: value` lines (the skills keep each value on
/// one line).
fn frontmatter(skill: &str) -> Vec<(String, String)> {
    let body = skill
        .strip_prefix("---\n")
        .expect("SKILL.md opens with frontmatter");
    let (head, _) = body.split_once("\n---\n").expect("frontmatter closes");
    head.lines()
        .map(|line| {
            let (key, value) = line.split_once(": ").expect("`key: value`");
            (key.to_owned(), value.trim_matches('"').to_owned())
        })
        .collect()
}

/// Every tool a skill names exists: the names are derived from the servers' own tool tables
/// (`--tools`), as Claude Code names a skills-dir plugin's tools. A skill pre-approves
/// (`allowed-tools`) only reads of ours and Claude Code's file tools; our writes, named in the
/// body, stay behind Claude Code's confirmation.
#[test]
fn every_tool_a_skill_names_is_served_and_only_reads_are_pre_approved() {
    let mut served = std::collections::BTreeMap::new();
    for (name, binary) in SERVERS {
        let out = Command::new(server_binary(binary))
            .arg("--tools")
            .output()
            .unwrap();
        let table: Value = serde_json::from_slice(&out.stdout).unwrap();
        for tool in table.as_array().unwrap() {
            let tool_name = tool["name"].as_str().unwrap();
            served.insert(
                format!("mcp__plugin_{PLUGIN}_{name}__{tool_name}"),
                tool["access"].as_str().unwrap().to_owned(),
            );
            served.insert(
                tool_name.to_owned(),
                tool["access"].as_str().unwrap().to_owned(),
            );
        }
    }
    let sandbox = Sandbox::new();
    succeeded(&sandbox.plugin_write(&cli(), &[]));
    let skills_dir = sandbox.plugin_dir().join("skills");
    let mut checked = 0;
    for entry in std::fs::read_dir(&skills_dir).unwrap() {
        let dir = entry.unwrap().path();
        let skill = std::fs::read_to_string(dir.join("SKILL.md")).unwrap();
        let fields = frontmatter(&skill);
        let field = |key: &str| {
            fields
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.clone())
                .unwrap_or_else(|| panic!("{}: no `{key}`", dir.display()))
        };
        assert_eq!(field("name"), dir.file_name().unwrap().to_str().unwrap());
        assert!(
            field("description").len() > 200,
            "{}: describe when to use it",
            dir.display()
        );
        field("argument-hint");
        for tool in field("allowed-tools").split(", ") {
            match served.get(tool) {
                Some(access) => assert_eq!(access, "read", "{tool} is pre-approved but writes"),
                None => assert!(
                    ["Read", "Write", "Grep", "Glob"].contains(&tool),
                    "{}: allowed tool {tool} is not served",
                    dir.display()
                ),
            }
        }
        // Every tool named in the text, in backticks: `github_get_pull_request` or the full
        // `mcp__plugin_..` name.
        for named in skill.split('`').skip(1).step_by(2) {
            let looks_like_ours = named.starts_with("mcp__")
                || ["github_", "jira_", "confluence_", "aws_"]
                    .iter()
                    .any(|p| named.starts_with(p) && !named.contains(' '));
            if looks_like_ours {
                assert!(
                    served.contains_key(named),
                    "{}: `{named}` is not served",
                    dir.display()
                );
                checked += 1;
            }
        }
        // Supporting files the skill links to are shipped beside it.
        for link in skill.split("](").skip(1) {
            let target = link.split(')').next().unwrap();
            assert!(
                dir.join(target).is_file(),
                "{}: {target} missing",
                dir.display()
            );
        }
    }
    assert!(checked > 10, "the skills name our tools: {checked}");
}

/// `claude mcp list` printed every server of the plugin as Connected.
fn assert_connected(list: &str) {
    for (name, _) in SERVERS {
        let line = list
            .lines()
            .find(|l| l.starts_with(&format!("plugin:{PLUGIN}:{name}:")))
            .unwrap_or_else(|| panic!("plugin:{PLUGIN}:{name} not listed:\n{list}"));
        assert!(line.contains("✔ Connected"), "{list}");
    }
}

#[test]
fn docker_entries_pass_credentials_by_name_mount_the_state_dir_and_connect() {
    let version = env!("CARGO_PKG_VERSION");
    for (_, binary) in SERVERS {
        testkit::server_image(binary, version);
    }
    let sandbox = Sandbox::new();
    succeeded(&sandbox.plugin_write(&cli(), &["--docker", "localhost/"]));
    let dir = sandbox.plugin_dir();
    assert_no_secret(&dir);
    let state = sandbox.state_home().join("claude-enterprise");
    let meta = std::fs::metadata(&state).unwrap();
    assert_eq!(meta.mode() & 0o777, 0o700);
    let mcp = read_json(&dir.join(".mcp.json"));
    let common = [
        "run".to_owned(),
        "-i".into(),
        "--rm".into(),
        "--user".into(),
        format!("{}:{}", meta.uid(), meta.gid()),
        "-v".into(),
        format!("{0}:{0}", state.display()),
        "-e".into(),
        format!("XDG_STATE_HOME={}", sandbox.state_home().display()),
        "-v".into(),
        format!(
            "{}:/etc/claude-enterprise/config.toml:ro",
            sandbox.config().display()
        ),
        "-e".into(),
        "CLAUDE_CODE_SESSION_ID".into(),
        "-e".into(),
        "CLAUDE_ENTERPRISE_LOG".into(),
    ];
    let expected = |own: &[&str], binary: &str| {
        let mut args = common.to_vec();
        for name in own {
            args.extend(["-e".to_owned(), (*name).to_owned()]);
        }
        args.push(format!("localhost/{binary}:{version}"));
        serde_json::json!({ "command": "docker", "args": args })
    };
    assert_eq!(
        mcp["mcpServers"]["github"],
        expected(&["GITHUB_TOKEN", "GITHUB_API_URL"], "github-mcp")
    );
    assert_eq!(
        mcp["mcpServers"]["aws"],
        expected(
            &[
                "AWS_ACCESS_KEY_ID",
                "AWS_SECRET_ACCESS_KEY",
                "AWS_SESSION_TOKEN",
                "AWS_REGION",
                "AWS_DEFAULT_REGION"
            ],
            "aws-mcp"
        )
    );
    let atlassian = [
        "ATLASSIAN_EMAIL",
        "ATLASSIAN_API_TOKEN",
        "ATLASSIAN_PAT",
        "ATLASSIAN_OAUTH_TOKEN",
    ];
    for (name, binary, url, deployment) in [
        ("jira", "jira-mcp", "JIRA_URL", "JIRA_DEPLOYMENT"),
        (
            "confluence",
            "confluence-mcp",
            "CONFLUENCE_URL",
            "CONFLUENCE_DEPLOYMENT",
        ),
    ] {
        let own: Vec<&str> = [url, deployment].into_iter().chain(atlassian).collect();
        assert_eq!(mcp["mcpServers"][name], expected(&own, binary));
    }
    // The hooks still run on the host.
    let hooks = read_json(&dir.join("hooks/hooks.json"));
    assert_eq!(
        hooks["hooks"]["SessionStart"][0]["hooks"][0]["command"],
        format!("{} hook SessionStart", cli().display())
    );
    assert_validates(&sandbox, &dir);

    // Claude Code starts each entry as written: the images answer through `docker run -i`.
    assert_connected(&sandbox.claude_with_podman_as_docker(&["mcp", "list"]));
}

#[test]
fn a_rewrite_replaces_the_plugin_whole_and_nothing_else_is_replaced() {
    let sandbox = Sandbox::new();
    let parent = sandbox.dir.path().join("skills");
    let dir = parent.join(PLUGIN);
    let dir_arg = dir.to_str().unwrap();
    succeeded(&sandbox.plugin_write(&cli(), &["--dir", dir_arg, "--docker", "example.com/x"]));
    succeeded(&sandbox.plugin_write(&cli(), &["--dir", dir_arg]));
    let mcp = read_json(&dir.join(".mcp.json"));
    assert_eq!(
        mcp["mcpServers"]["github"]["command"],
        server_binary("github-mcp").to_str().unwrap()
    );
    // No staging or old copy left beside it.
    let beside: Vec<String> = std::fs::read_dir(&parent)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(beside, [PLUGIN]);

    let foreign = sandbox.dir.path().join("notes");
    std::fs::create_dir(&foreign).unwrap();
    std::fs::write(foreign.join("todo.txt"), "mine").unwrap();
    let out = sandbox.plugin_write(&cli(), &["--dir", foreign.to_str().unwrap()]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("holds something other than the enterprise-governance plugin"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(foreign.join("todo.txt")).unwrap(),
        "mine"
    );
    assert_eq!(std::fs::read_dir(&foreign).unwrap().count(), 1);

    let link = sandbox.dir.path().join("linked");
    std::os::unix::fs::symlink(&dir, &link).unwrap();
    let out = sandbox.plugin_write(&cli(), &["--dir", link.to_str().unwrap()]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("is a symlink"), "{stderr}");
}

#[test]
fn a_missing_server_binary_is_named_and_nothing_is_written() {
    let sandbox = Sandbox::new();
    // A lone copy of the CLI, with no server beside it or on PATH.
    let bin = sandbox.dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let lone = bin.join("claude-enterprise");
    if std::fs::hard_link(cli(), &lone).is_err() {
        std::fs::copy(cli(), &lone).unwrap();
    }
    let mut command = Command::new(&lone);
    command.args(["plugin", "write"]);
    sandbox.env(&mut command);
    command.env("PATH", &bin);
    let out = command.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("server binary not found")
            && stderr.contains("github-mcp, jira-mcp, confluence-mcp, aws-mcp"),
        "{stderr}"
    );
    assert!(!sandbox.home().join(".claude").exists());
}

/// A server in its image, through `podman run -i --rm` with stdin attached, as Claude Code
/// runs `docker run -i --rm`.
fn run_image(run_args: &[&str], image: &str) -> testkit::McpStdio {
    let mut args = vec!["run", "-i", "--rm"];
    args.extend_from_slice(run_args);
    args.push(image);
    let env = testkit::podman_env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    testkit::McpStdio::spawn(Path::new("podman"), &args, &env)
}

#[test]
fn every_image_answers_tools_list_as_its_non_root_user() {
    for (_, binary) in SERVERS {
        let image = testkit::server_image(binary, env!("CARGO_PKG_VERSION"));
        let mut server = run_image(&[], &image);
        let init = server.initialize();
        assert_eq!(
            init["result"]["serverInfo"]["name"],
            *binary,
            "{init} {}",
            server.stderr()
        );
        let list = server.request("tools/list", serde_json::json!({}));
        let tools = list["result"]["tools"].as_array();
        assert!(
            tools.is_some_and(|t| !t.is_empty()),
            "{binary}: {list} {}",
            server.stderr()
        );
        let stderr = server.stderr();
        assert!(server.close().success(), "{binary}: {stderr}");

        let user = Command::new("podman")
            .envs(testkit::podman_env())
            .args(["image", "inspect", "--format", "{{.Config.User}}", &image])
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&user.stdout).trim(), "65532:65532");
    }
}

/// The binary is static and the image has no NSS modules: the name of the loopback peer
/// resolves from the container's /etc/hosts alone, and the call goes through the whole
/// governed pipeline (the journal, mounted from the host, records it).
#[test]
fn an_image_reaches_a_loopback_peer_by_a_name_from_its_etc_hosts() {
    let prism = testkit::github_prism();
    let port = prism.rsplit(':').next().unwrap();
    let sandbox = testkit::Sandbox::new("");
    let state_home = sandbox.state_home();
    std::fs::create_dir_all(&state_home).unwrap();
    let owner = std::fs::metadata(&state_home).unwrap();
    let user = format!("{}:{}", owner.uid(), owner.gid());
    let state_mount = format!("{state_home}:{state_home}");
    let config_mount = format!(
        "{}:/etc/claude-enterprise/config.toml:ro",
        sandbox.config_path()
    );
    let state_env = format!("XDG_STATE_HOME={state_home}");
    let api = format!("GITHUB_API_URL=http://github.loopback.test:{port}");
    let mut server = run_image(
        &[
            "--network",
            "host",
            "--add-host",
            "github.loopback.test:127.0.0.1",
            "--user",
            &user,
            "-v",
            &state_mount,
            "-v",
            &config_mount,
            "-e",
            &state_env,
            "-e",
            &api,
            "-e",
            "GITHUB_TOKEN=ghp_ImageTest0123456789abcdefABCDEFabcd",
        ],
        &testkit::server_image("github-mcp", env!("CARGO_PKG_VERSION")),
    );
    server.initialize();
    let result = server.call(
        "github_get_pull_request",
        serde_json::json!({"owner": "octo", "repo": "hello", "pull_number": 1}),
    );
    assert_ne!(
        result["isError"],
        true,
        "{} {}",
        testkit::result_text(&result),
        server.stderr()
    );
    drop(server);
    let calls: Vec<Value> = sandbox
        .journal()
        .into_iter()
        .filter(|e| e["tool"] == "github" && e["action"] == "get_pull_request")
        .collect();
    assert!(calls.iter().any(|e| e["result"] == "success"), "{calls:?}");
    assert!(!sandbox.all_text().contains("ghp_ImageTest"));
}
