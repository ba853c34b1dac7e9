//! `login`, `status` and `logout` as a user runs them: SSO against a real OpenID provider
//! (`oidc-provider` on loopback; the test plays the browser), tokens in real keychains (the
//! kernel keyutils store in a fresh session keyring; the Secret Service of gnome-keyring under
//! `dbus-run-session`), and the refusal when no keychain exists.

// A test that cannot set up fails loudly: unwrap and expect are the point here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    io::{BufRead, BufReader, Write},
    path::Path,
    process::{Command, Stdio},
};

use auth::{
    config::{KeychainBackend, KeychainConfig},
    credentials::AwsEntry,
    keychain::{Keychain, Tool},
    sso::Session,
};
use testkit::{BrowserEnd, OidcBrowser, oidc_provider};

const CLI: &str = env!("CARGO_BIN_EXE_claude-enterprise");

struct Sandbox {
    dir: tempfile::TempDir,
    service: String,
}

impl Sandbox {
    /// A config with SSO at the test IdP and a keychain service of its own.
    fn new(backend: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let service = format!("ce-cli-test-{}", testkit::uuid());
        let peer = oidc_provider();
        let config = format!(
            r#"
[sso]
issuer = "{}"
ca_file = "{}"
scopes = ["openid", "email", "groups", "offline_access"]
login_timeout_secs = 60
[sso.role_map]
engineering = ["delivery"]
mcp-admins = ["platform"]
[keychain]
backend = "{backend}"
service = "{service}"
"#,
            peer.issuer,
            peer.ca_file.display()
        );
        std::fs::write(dir.path().join("config.toml"), config).unwrap();
        std::fs::create_dir_all(dir.path().join("home")).unwrap();
        Self { dir, service }
    }

    /// Appends `text` (TOML sections) to the config file.
    fn append_config(&self, text: &str) {
        let path = self.dir.path().join("config.toml");
        let mut config = std::fs::read_to_string(&path).unwrap();
        config.push_str(text);
        std::fs::write(&path, config).unwrap();
    }

    fn keychain(&self) -> Keychain {
        Keychain::open(&KeychainConfig {
            backend: KeychainBackend::Keyutils,
            service: self.service.clone(),
        })
        .unwrap()
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(CLI);
        command
            .args(args)
            .env(
                "CLAUDE_ENTERPRISE_CONFIG",
                self.dir.path().join("config.toml"),
            )
            .env("HOME", self.dir.path().join("home"))
            .env("XDG_STATE_HOME", self.dir.path().join("home/state"))
            .env_remove("GITHUB_TOKEN")
            .env_remove("ATLASSIAN_PAT")
            .env_remove("ATLASSIAN_OAUTH_TOKEN")
            .env_remove("ATLASSIAN_API_TOKEN")
            .env_remove("DBUS_SESSION_BUS_ADDRESS")
            .env("AWS_EC2_METADATA_DISABLED", "true");
        for name in auth::credentials::AWS_ENVIRONMENT {
            command.env_remove(name);
        }
        command
    }

    /// Runs the CLI with `stdin`; (exit code, stdout + stderr).
    fn run(&self, args: &[&str], stdin: &str, envs: &[(&str, &str)]) -> (i32, String) {
        let mut child = self
            .command(args)
            .envs(envs.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    }

    /// Everything written under the sandbox's home (there must be no token in it).
    fn files(&self) -> Vec<std::path::PathBuf> {
        fn walk(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
            for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    walk(&path, out);
                } else {
                    out.push(path);
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.dir.path().join("home"), &mut out);
        out
    }
}

async fn introspect(token: &str) -> serde_json::Value {
    introspect_as(token, &[("client_id", "claude-enterprise")]).await
}

/// Introspection at the test IdP, authenticated as the client the token was issued to.
async fn introspect_as(token: &str, client: &[(&str, &str)]) -> serde_json::Value {
    let peer = oidc_provider();
    let ca = std::fs::read(&peer.ca_file).unwrap();
    reqwest::Client::builder()
        .tls_certs_merge(reqwest::Certificate::from_pem_bundle(&ca).unwrap())
        .build()
        .unwrap()
        .post(format!("{}/token/introspection", peer.issuer))
        .form(&[[("token", token)].as_slice(), client].concat())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// `login sso --no-browser` with the test as the browser, logging in as `user`; returns
/// what the CLI printed on stdout and on stderr.
async fn sso_login(sandbox: &Sandbox, user: &str) -> (String, String) {
    browser_login(sandbox, &["login", "sso", "--no-browser"], user, &[]).await
}

/// A browser login (`args` ends with `--no-browser`): the test follows the URL the CLI
/// prints through the provider's pages as `user`, and delivers the redirect to the CLI's
/// loopback listener. Returns what the CLI printed on stdout and on stderr.
async fn browser_login(
    sandbox: &Sandbox,
    args: &[&str],
    user: &str,
    envs: &[(&str, &str)],
) -> (String, String) {
    let mut login = sandbox
        .command(args)
        .envs(envs.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The URL is printed; the test is the browser.
    let mut stderr = BufReader::new(login.stderr.take().unwrap());
    let mut printed = String::new();
    let url = loop {
        let mut line = String::new();
        assert!(
            stderr.read_line(&mut line).unwrap() > 0,
            "no URL: {printed}"
        );
        printed.push_str(&line);
        if let Some(url) = line.trim().strip_prefix("https://") {
            break format!("https://{url}");
        }
    };
    let redirect_uri = reqwest::Url::parse(&url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "redirect_uri")
        .unwrap()
        .1
        .into_owned();
    let callback = match OidcBrowser::new(user).run(&url, &redirect_uri).await {
        BrowserEnd::Redirect(to) => to,
        BrowserEnd::Page(page) => panic!("no redirect: {page}"),
    };
    let landed = reqwest::get(&callback).await.unwrap().text().await.unwrap();
    assert!(landed.contains("Login received"), "{landed}");
    let out = login.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{stdout}{printed}");
    (stdout, printed)
}

#[tokio::test]
async fn sso_login_status_logout_with_the_keyutils_store() {
    testkit::join_fresh_session_keyring();
    let sandbox = Sandbox::new("keyutils");
    let (stdout, printed) = sso_login(&sandbox, "alice").await;
    assert!(
        stdout.contains("logged in as alice@example.test (roles: [delivery, platform])"),
        "{stdout}"
    );

    let session: Session = sandbox.keychain().load(Tool::Sso).unwrap().expect("stored");
    let tokens = [
        session.access_token().to_owned(),
        session.refresh_token().unwrap().to_owned(),
        session.id_token().to_owned(),
    ];
    assert_eq!(introspect(&tokens[1]).await["active"], true);

    let (code, status) = sandbox.run(&["status"], "", &[]);
    assert_eq!(code, 0, "{status}");
    for expected in [
        "keychain: keyutils",
        "sso: alice@example.test at https://127.0.0.1:",
        "roles: [delivery, platform]",
        "groups: [engineering, mcp-admins]",
        "(refreshed automatically)",
    ] {
        assert!(status.contains(expected), "{expected}: {status}");
    }

    let (code, logout) = sandbox.run(&["logout", "sso"], "", &[]);
    assert_eq!(code, 0, "{logout}");
    assert!(
        logout.contains("tokens revoked at the identity provider"),
        "{logout}"
    );
    assert!(
        logout.contains("sso: logged out (keychain entry deleted)"),
        "{logout}"
    );
    assert_eq!(introspect(&tokens[1]).await["active"], false);
    assert_eq!(introspect(&tokens[0]).await["active"], false);
    assert!(
        sandbox
            .keychain()
            .load::<Session>(Tool::Sso)
            .unwrap()
            .is_none()
    );
    let (_, after) = sandbox.run(&["status"], "", &[]);
    assert!(after.contains("sso: not logged in"), "{after}");

    for text in [&stdout, &printed, &status, &logout, &after] {
        for token in &tokens {
            assert!(
                !text.contains(token.as_str()),
                "a token was printed: {text}"
            );
        }
    }
    assert!(
        sandbox.files().is_empty(),
        "files written: {:?}",
        sandbox.files()
    );
}

#[test]
fn tool_tokens_round_trip_through_keyutils_and_the_environment_wins() {
    testkit::join_fresh_session_keyring();
    let sandbox = Sandbox::new("keyutils");
    // (login args, stdin, env, what status says)
    type Case<'a> = (&'a [&'a str], &'a str, &'a [(&'a str, &'a str)], &'a str);
    let cases: &[Case] = &[
        (
            &[],
            "",
            &[],
            "github: none (GITHUB_TOKEN unset, no keychain entry): run `claude-enterprise login github`",
        ),
        (
            &["login", "github", "--with-token"],
            "ghp_keychain_token\n",
            &[],
            "github: present, from the keychain",
        ),
        (
            &[],
            "",
            &[("GITHUB_TOKEN", "ghp_env_token")],
            "github: present, from the environment (GITHUB_TOKEN)",
        ),
        (
            &[
                "login",
                "atlassian",
                "--with-token",
                "--email",
                "a@corp.example",
            ],
            "atl_api_token",
            &[],
            "atlassian: present, from the keychain",
        ),
        (
            &[],
            "",
            &[("ATLASSIAN_PAT", "dc_pat")],
            "atlassian: present, from the environment (ATLASSIAN_PAT)",
        ),
        (&["logout", "--all"], "", &[], "github: none"),
    ];
    for (args, stdin, envs, expected) in cases {
        if !args.is_empty() {
            let (code, out) = sandbox.run(args, stdin, &[]);
            assert_eq!(code, 0, "{args:?}: {out}");
        }
        let (code, status) = sandbox.run(&["status"], "", envs);
        assert_eq!(code, 0, "{status}");
        assert!(
            status.contains(expected),
            "{args:?} {envs:?}: {expected}: {status}"
        );
        for secret in [
            "ghp_keychain_token",
            "ghp_env_token",
            "atl_api_token",
            "dc_pat",
        ] {
            assert!(
                !status.contains(secret),
                "status printed a secret: {status}"
            );
        }
    }
    let entry: Option<serde_json::Value> = sandbox.keychain().load(Tool::Atlassian).unwrap();
    assert!(entry.is_none(), "logout --all deleted the Atlassian entry");
}

#[test]
fn tool_tokens_round_trip_through_the_secret_service() {
    let dbus = testkit::system_tool("dbus-run-session", "dbus");
    testkit::system_tool("gnome-keyring-daemon", "gnome-keyring");
    let sandbox = Sandbox::new("secret-service");
    let home = sandbox.dir.path().join("home");
    let script = format!(
        "printf test-password | gnome-keyring-daemon --unlock --components=secrets >/dev/null \
         && printf ghp_ss_token | {CLI} login github --with-token && {CLI} status \
         && {CLI} logout github && {CLI} status"
    );
    let out = Command::new(dbus)
        .args(["--", "sh", "-c", &script])
        .env(
            "CLAUDE_ENTERPRISE_CONFIG",
            sandbox.dir.path().join("config.toml"),
        )
        .env("HOME", &home)
        .env("XDG_DATA_HOME", home.join(".local/share"))
        .env("XDG_RUNTIME_DIR", &home)
        .env_remove("GITHUB_TOKEN")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let expected = [
        "GitHub token for github.com kept in the secret-service keychain",
        "keychain: secret-service",
        "github: present, from the keychain",
        "github: logged out (keychain entry deleted)",
        "github: none (GITHUB_TOKEN unset, no keychain entry): run `claude-enterprise login github`",
    ];
    let mut rest: &str = &stdout;
    for line in expected {
        let at = rest
            .find(line)
            .unwrap_or_else(|| panic!("{line:?} missing (in order) from:\n{stdout}"));
        rest = &rest[at + line.len()..];
    }
    assert!(!stdout.contains("ghp_ss_token"));
}

#[test]
fn without_a_keychain_login_is_refused_and_nothing_is_written() {
    let sandbox = Sandbox::new("secret-service");
    let cases: &[(&[&str], &str)] = &[
        (&["login", "github", "--with-token"], "ghp_nowhere"),
        (&["login", "sso", "--no-browser"], ""),
    ];
    for (args, stdin) in cases {
        let (code, out) = sandbox.run(args, stdin, &[]);
        assert_eq!(code, 2, "{args:?}: {out}");
        for expected in [
            "no OS keychain is available",
            "never written to a file",
            "GITHUB_TOKEN",
            "ATLASSIAN_PAT",
        ] {
            assert!(out.contains(expected), "{args:?}: {expected}: {out}");
        }
        assert!(!out.contains("ghp_nowhere"), "{out}");
        assert!(
            !out.contains("https://127.0.0.1"),
            "no login started: {out}"
        );
    }
    assert!(
        sandbox.files().is_empty(),
        "files written: {:?}",
        sandbox.files()
    );
}

#[tokio::test]
async fn github_mcp_uses_the_keychain_token_and_audits_the_sso_user() {
    testkit::join_fresh_session_keyring();
    let sandbox = Sandbox::new("keyutils");
    sso_login(&sandbox, "grace").await;
    let (code, out) = sandbox.run(
        &["login", "github", "--with-token"],
        "ghp_from_keychain",
        &[],
    );
    assert_eq!(code, 0, "{out}");
    let proxy = testkit::RecordingProxy::start(testkit::github_prism());
    sandbox.append_config(&format!("[github]\napi_url = \"{}\"\n", proxy.url()));
    let config = sandbox.dir.path().join("config.toml");
    let state = sandbox.dir.path().join("home/state");
    let home = sandbox.dir.path().join("home");
    let mut server = testkit::McpStdio::spawn(
        &testkit::workspace_bin("github-mcp"),
        &[],
        &[
            ("CLAUDE_ENTERPRISE_CONFIG", config.to_str().unwrap()),
            ("XDG_STATE_HOME", state.to_str().unwrap()),
            ("HOME", home.to_str().unwrap()),
            ("CLAUDE_ENTERPRISE_LOG", "debug"),
        ],
    );
    server.initialize();
    let result = server.call(
        "github_search_repositories",
        serde_json::json!({"query": "tetris"}),
    );
    assert_ne!(result["isError"], true, "{result}");
    let searches = proxy.requests_to("GET", "/search/repositories");
    assert!(
        !searches.is_empty() && searches.iter().all(|r| r.had_authorization),
        "the keychain token was sent"
    );
    let stderr = server.stderr();
    drop(server);
    let journal = std::fs::read_dir(state.join("claude-enterprise/audit"))
        .unwrap()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "jsonl"))
        .flat_map(|e| {
            std::fs::read_to_string(e.path())
                .unwrap()
                .lines()
                .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
                .collect::<Vec<_>>()
        })
        .collect::<Vec<_>>();
    assert!(!journal.is_empty(), "the call was audited");
    for event in &journal {
        assert_eq!(event["user"], "grace@example.test", "{event}");
        assert_eq!(
            event["roles"],
            serde_json::json!(["delivery", "platform"]),
            "{event}"
        );
    }
    let session: Session = sandbox.keychain().load(Tool::Sso).unwrap().unwrap();
    for text in [stderr, serde_json::to_string(&journal).unwrap()] {
        for secret in [
            "ghp_from_keychain",
            session.access_token(),
            session.refresh_token().unwrap(),
        ] {
            assert!(!text.contains(secret), "a token in the log or journal");
        }
    }
}

const AWS_ROLES: [(&str, &str); 2] = [
    (
        "123456789012",
        "arn:aws:iam::123456789012:role/claude-readonly",
    ),
    (
        "210987654321",
        "arn:aws:iam::210987654321:role/claude-readonly",
    ),
];

/// `login aws` against moto's STS with the ID token of a real SSO login, `status`, aws-mcp on
/// the keychain's credentials (no AWS variable in its environment), an expired entry, and
/// `logout aws`; no secret in any output, log or journal.
#[tokio::test]
async fn aws_login_assumes_each_role_and_aws_mcp_uses_the_keychain() {
    // aws-mcp is spawned with this process's environment: the keychain path needs none.
    assert_eq!(
        auth::credentials::aws_environment(),
        None,
        "unset the AWS credential variables to run this test"
    );
    testkit::join_fresh_session_keyring();
    let sandbox = Sandbox::new("keyutils");
    let moto = testkit::moto();
    let proxy = testkit::RecordingProxy::start(&moto.url);
    let mut text = "[aws]\ndefault_region = \"us-east-1\"\nweb_identity_session_secs = 900\n\
                    [aws.web_identity_roles]\n"
        .to_owned();
    for (account, role) in AWS_ROLES {
        text.push_str(&format!("\"{account}\" = \"{role}\"\n"));
    }
    sandbox.append_config(&text);
    let config = sandbox.dir.path().join("config.toml");
    let aws_env = [("AWS_ENDPOINT_URL", proxy.url())];

    let (code, before) = sandbox.run(&["login", "aws"], "", &aws_env);
    assert_eq!(code, 2, "{before}");
    assert!(
        before.contains("run `claude-enterprise login sso` first"),
        "{before}"
    );

    sso_login(&sandbox, "alice").await;
    let (code, login) = sandbox.run(&["login", "aws"], "", &aws_env);
    assert_eq!(code, 0, "{login}");
    for (account, role) in AWS_ROLES {
        let line =
            format!("aws: account {account} as {role} (session alice@example.test), expires");
        assert!(login.contains(&line), "{line}: {login}");
    }
    assert!(
        login.contains("temporary credentials of 2 account(s) kept in the keyutils keychain"),
        "{login}"
    );
    let entry: AwsEntry = sandbox.keychain().load(Tool::Aws).unwrap().expect("stored");
    assert_eq!(
        entry
            .accounts
            .keys()
            .map(String::as_str)
            .collect::<Vec<_>>(),
        AWS_ROLES.map(|(account, _)| account)
    );
    let session: Session = sandbox.keychain().load(Tool::Sso).unwrap().unwrap();
    let mut secrets = vec![
        session.id_token().to_owned(),
        session.access_token().to_owned(),
    ];
    for c in entry.accounts.values() {
        assert!(c.access_key_id.starts_with("ASIA"), "temporary credentials");
        // The access key id is an identifier (CloudTrail shows it, the SDK's debug log too),
        // not a secret: the secret key and the session token are.
        secrets.extend([c.secret_access_key.clone(), c.session_token.clone()]);
    }

    // (environment, what status says)
    type Case<'a> = (&'a [(&'a str, &'a str)], &'a [&'a str]);
    let cases: &[Case] = &[
        (
            &[],
            &[
                "  123456789012: arn:aws:iam::123456789012:role/claude-readonly, present, expires",
                "  210987654321: arn:aws:iam::210987654321:role/claude-readonly, present, expires",
            ],
        ),
        (
            &[("AWS_PROFILE", "ops")],
            &["aws: present, from the environment (AWS_PROFILE)"],
        ),
    ];
    let mut outputs = vec![before, login];
    for (envs, expected) in cases {
        let (code, status) = sandbox.run(&["status"], "", envs);
        assert_eq!(code, 0, "{status}");
        for line in *expected {
            assert!(status.contains(line), "{envs:?}: {line}: {status}");
        }
        outputs.push(status);
    }

    let state = sandbox.dir.path().join("home/state");
    let home = sandbox.dir.path().join("home");
    let spawn = || {
        let mut server = testkit::McpStdio::spawn(
            &testkit::workspace_bin("aws-mcp"),
            &[],
            &[
                ("CLAUDE_ENTERPRISE_CONFIG", config.to_str().unwrap()),
                ("XDG_STATE_HOME", state.to_str().unwrap()),
                ("HOME", home.to_str().unwrap()),
                ("AWS_ENDPOINT_URL", proxy.url()),
                ("AWS_EC2_METADATA_DISABLED", "true"),
                ("CLAUDE_ENTERPRISE_LOG", "debug"),
            ],
        );
        server.initialize();
        server
    };
    let mut server = spawn();
    // (arguments, instance ids expected: moto's seeded ones live in 123456789012)
    let seeded: Vec<&str> = moto.seeded["instance_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let cases: &[(serde_json::Value, &[&str])] = &[
        (serde_json::json!({}), &seeded),
        (serde_json::json!({"account": "123456789012"}), &seeded),
        (serde_json::json!({"account": "210987654321"}), &[]),
    ];
    for (args, expected) in cases {
        let result = server.call("aws_describe_instances", args.clone());
        assert_ne!(result["isError"], true, "{args}: {result}");
        let ids: Vec<&str> = result["structuredContent"]["instances"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["instance_id"].as_str().unwrap())
            .collect();
        for id in *expected {
            assert!(ids.contains(id), "{args}: {id} in {ids:?}");
        }
        if expected.is_empty() {
            assert!(ids.is_empty(), "{args}: another account: {ids:?}");
        }
    }
    let requests = proxy.requests();
    let action = |name: &str| {
        let action = format!("Action={name}");
        requests
            .iter()
            .filter(|r| r.body.contains(&action))
            .collect::<Vec<_>>()
    };
    let (assumed, described) = (
        action("AssumeRoleWithWebIdentity"),
        action("DescribeInstances"),
    );
    assert_eq!(assumed.len(), 2, "one AssumeRoleWithWebIdentity per role");
    assert!(
        assumed.iter().all(|r| !r.had_authorization),
        "the ID token is the credential: not signed"
    );
    assert!(
        described.len() == 3 && described.iter().all(|r| r.had_authorization),
        "the calls were signed with the keychain's credentials"
    );
    let mut logs = vec![server.stderr()];
    drop(server);

    let mut expired = entry.clone();
    expired.accounts.get_mut("210987654321").unwrap().expiration =
        chrono::Utc::now() - chrono::Duration::minutes(1);
    sandbox.keychain().save(Tool::Aws, &expired).unwrap();
    let (_, status) = sandbox.run(&["status"], "", &[]);
    assert!(
        status.contains("  210987654321: arn:aws:iam::210987654321:role/claude-readonly, EXPIRED")
            && status.contains("run `claude-enterprise login aws`"),
        "{status}"
    );
    outputs.push(status);
    let mut server = spawn();
    let result = server.call(
        "aws_describe_instances",
        serde_json::json!({"account": "210987654321"}),
    );
    assert_eq!(result["isError"], true, "{result}");
    let message = testkit::result_text(&result);
    assert!(
        message.contains("the AWS credentials for account 210987654321")
            && message.contains("expired at")
            && message.contains("run `claude-enterprise login aws`"),
        "{message}"
    );
    let fresh = server.call(
        "aws_describe_instances",
        serde_json::json!({"account": "123456789012"}),
    );
    assert_ne!(
        fresh["isError"], true,
        "the other account still works: {fresh}"
    );
    outputs.push(result.to_string());
    logs.push(server.stderr());
    drop(server);

    let (code, logout) = sandbox.run(&["logout", "aws"], "", &[]);
    assert_eq!(code, 0, "{logout}");
    assert!(
        logout.contains("aws: logged out (keychain entry deleted)"),
        "{logout}"
    );
    assert!(
        sandbox
            .keychain()
            .load::<AwsEntry>(Tool::Aws)
            .unwrap()
            .is_none()
    );
    let (_, after) = sandbox.run(&["status"], "", &[]);
    assert!(
        after.contains("  123456789012: none: run `claude-enterprise login aws`"),
        "{after}"
    );
    outputs.extend([logout, after]);

    let journal: String = sandbox
        .files()
        .iter()
        .map(|f| std::fs::read_to_string(f).unwrap())
        .collect();
    assert!(
        journal.contains("\"account\":\"210987654321\""),
        "the calls were audited: {:?}",
        sandbox.files()
    );
    for text in outputs.iter().chain(&logs).chain([&journal]) {
        for (n, secret) in secrets.iter().enumerate() {
            let line = text.lines().find(|l| l.contains(secret.as_str()));
            assert!(
                line.is_none(),
                "secret #{n} was shown: {}",
                line.unwrap_or_default()
                    .replace(secret.as_str(), "<SECRET>")
            );
        }
    }
}

/// `login github` without `--with-token` runs GitHub's device flow: against the test IdP
/// serving GitHub's own paths (`/login/device/code`, `/login/oauth/access_token`, the code
/// entered at `/login/device`), the test entering the code as the user.
#[tokio::test]
async fn github_device_flow_login_keeps_the_token_and_status_reports_it() {
    testkit::join_fresh_session_keyring();
    let sandbox = Sandbox::new("keyutils");
    let peer = oidc_provider();
    // Without an OAuth app the device flow is not offered, and the message says what works.
    let (code, out) = sandbox.run(&["login", "github"], "", &[]);
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("oauth.github.client_id") && out.contains("--with-token"),
        "{out}"
    );
    sandbox.append_config(&format!(
        "[oauth.github]\nclient_id = \"github-oauth-app\"\nweb_url = \"{}\"\nca_file = \"{}\"\n\
         login_timeout_secs = 60\n",
        peer.issuer,
        peer.ca_file.display()
    ));
    let mut login = sandbox
        .command(&["login", "github", "--no-browser"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(login.stderr.take().unwrap());
    let mut prompt = String::new();
    stderr.read_line(&mut prompt).unwrap();
    let words: Vec<&str> = prompt.split_whitespace().collect();
    let at = |before: &str| {
        words[words.iter().position(|w| *w == before).expect(&prompt) + 1].to_owned()
    };
    let (page, user_code) = (at("open"), at("code"));
    assert_eq!(page, format!("{}/login/device", peer.issuer), "{prompt}");
    match OidcBrowser::new("heidi")
        .run(
            &format!("{page}?user_code={user_code}"),
            "http://127.0.0.1:9/never",
        )
        .await
    {
        BrowserEnd::Page(done) => assert!(done.contains("Sign-in Success"), "{done}"),
        BrowserEnd::Redirect(to) => panic!("unexpected redirect to {to}"),
    }
    let out = login.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{stdout}{prompt}");
    let host = peer.issuer.trim_start_matches("https://");
    assert!(
        stdout.contains(&format!(
            "GitHub token for {host} kept in the keyutils keychain, expires"
        )),
        "{stdout}"
    );
    let entry: auth::credentials::GithubEntry =
        sandbox.keychain().load(Tool::Github).unwrap().unwrap();
    assert_eq!(entry.host, host);
    let introspection = introspect_as(&entry.token, &[("client_id", "github-oauth-app")]).await;
    assert_eq!(introspection["active"], true, "{introspection}");
    assert_eq!(introspection["sub"], "heidi");
    assert_eq!(introspection["scope"], "repo read:org");
    let (code, status) = sandbox.run(&["status"], "", &[]);
    assert_eq!(code, 0, "{status}");
    assert!(
        status.contains(&format!(
            "github: present, from the keychain (keyutils): token for {host}, expires"
        )),
        "{status}"
    );
    for text in [&stdout, &prompt, &status] {
        assert!(!text.contains(&entry.token), "token printed: {text}");
    }
}

/// `login atlassian` without `--with-token` runs the 3LO code flow (PKCE, loopback redirect)
/// with a confidential app at the test IdP, reads the sites the grant covers, and keeps the
/// grant. jira-mcp then calls through the API gateway (`/ex/jira/<cloud id>`, Prism on the
/// official Jira spec behind it), refreshing the access token first when due and writing the
/// rotated grant back to the keychain.
#[tokio::test]
async fn atlassian_oauth_login_then_jira_mcp_refreshes_the_grant() {
    testkit::join_fresh_session_keyring();
    let sandbox = Sandbox::new("keyutils");
    let peer = oidc_provider();
    let jira = testkit::atlassian_prism(testkit::AtlassianSpec::JiraPlatform);
    let gateway = testkit::RecordingProxy::start_mounted(&[("/ex/jira/cloud-acme", &jira)]);
    // No peer serves Atlassian's accessible-resources: the gateway answers in its documented
    // shape (developer.atlassian.com, "OAuth 2.0 (3LO) apps", step 3).
    gateway.inject(
        "/oauth/token/accessible-resources",
        200,
        &[("content-type", "application/json")],
        r#"[{"id":"cloud-acme","url":"https://acme.atlassian.net","name":"acme","scopes":["read:jira-work","write:jira-work"],"avatarUrl":"https://site-admin-avatar-cdn.prod.public.atl-paas.net/avatars/240/flag.png"}]"#,
        1,
    );
    sandbox.append_config(&format!(
        "[oauth.atlassian]\nclient_id = \"atlassian-3lo-app\"\nauthorize_url = \"{issuer}/auth\"\n\
         token_url = \"{issuer}/login/oauth/access_token\"\napi_url = \"{gateway}\"\n\
         redirect_port = 0\nca_file = \"{ca}\"\nscopes = [\"read:jira-work\", \"offline_access\"]\n\
         refresh_margin_secs = 3600\nlogin_timeout_secs = 60\n\
         [jira]\nurl = \"https://acme.atlassian.net\"\n",
        issuer = peer.issuer,
        gateway = gateway.url(),
        ca = peer.ca_file.display()
    ));
    // The client secret comes from the environment only, and its absence says so.
    let (code, out) = sandbox.run(&["login", "atlassian", "--no-browser"], "", &[]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("ATLASSIAN_OAUTH_CLIENT_SECRET"), "{out}");

    let secret = ("ATLASSIAN_OAUTH_CLIENT_SECRET", "atlassian-3lo-secret");
    let (stdout, printed) = browser_login(
        &sandbox,
        &["login", "atlassian", "--no-browser"],
        "ivan",
        &[secret],
    )
    .await;
    assert!(
        stdout.contains(
            "Atlassian OAuth grant for [https://acme.atlassian.net] kept in the keyutils \
             keychain; refreshed automatically"
        ),
        "{stdout}"
    );
    let sites = gateway.requests_to("GET", "/oauth/token/accessible-resources");
    assert!(sites.len() == 1 && sites[0].had_authorization, "{sites:?}");
    let stored = || match sandbox.keychain().load(Tool::Atlassian).unwrap() {
        Some(auth::credentials::AtlassianCredential::OAuth(grant)) => grant,
        other => panic!("no OAuth grant stored: {other:?}"),
    };
    let first = stored();
    assert_eq!(first.sites[0].id, "cloud-acme");
    let confidential = [
        ("client_id", "atlassian-3lo-app"),
        ("client_secret", "atlassian-3lo-secret"),
    ];
    assert_eq!(
        introspect_as(first.access_token(), &confidential).await["active"],
        true
    );

    let config = sandbox.dir.path().join("config.toml");
    let home = sandbox.dir.path().join("home");
    let state = home.join("state");
    let mut server = testkit::McpStdio::spawn(
        &testkit::workspace_bin("jira-mcp"),
        &[],
        &[
            ("CLAUDE_ENTERPRISE_CONFIG", config.to_str().unwrap()),
            ("XDG_STATE_HOME", state.to_str().unwrap()),
            ("HOME", home.to_str().unwrap()),
            ("CLAUDE_ENTERPRISE_LOG", "debug"),
        ],
    );
    server.initialize();
    let result = server.call("jira_get_issue", serde_json::json!({"issue_key": "ED-1"}));
    assert_ne!(result["isError"], true, "{result}");
    let calls = gateway.requests_to("GET", "/ex/jira/cloud-acme/rest/api/3/issue/ED-1");
    assert!(
        !calls.is_empty() && calls.iter().all(|r| r.had_authorization && r.status == 200),
        "{calls:?}"
    );
    gateway.assert_no_violations();
    let refreshed = stored();
    assert_ne!(
        refreshed.access_token(),
        first.access_token(),
        "due (margin beyond the token's life): refreshed before the call, and kept"
    );
    assert_eq!(
        introspect_as(refreshed.access_token(), &confidential).await["active"],
        true
    );
    let stderr = server.stderr();
    drop(server);
    let (code, status) = sandbox.run(&["status"], "", &[]);
    assert_eq!(code, 0, "{status}");
    assert!(
        status.contains(
            "atlassian: present, from the keychain (keyutils): OAuth grant for \
             [https://acme.atlassian.net (acme)], access token expires"
        ),
        "{status}"
    );
    let journal = std::fs::read_dir(state.join("claude-enterprise/audit"))
        .unwrap()
        .flatten()
        .map(|e| std::fs::read_to_string(e.path()).unwrap())
        .collect::<String>();
    assert!(
        journal.contains("get_issue"),
        "the call was audited: {journal}"
    );
    for text in [&stdout, &printed, &status, &stderr, &journal] {
        for secret in [
            first.access_token(),
            refreshed.access_token(),
            "atlassian-3lo-secret",
        ] {
            assert!(!text.contains(secret), "secret in output: {text}");
        }
    }
}
