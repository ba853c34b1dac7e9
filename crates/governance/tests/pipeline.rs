//! The governed pipeline with a scripted upstream: what the kernel itself guarantees, whatever
//! the server. (The real upstreams are tested against their real peers in the server crates.)

use std::{
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
};

use governance::{
    audit::{AuditEvent, read_events, verify_dir},
    config::{Config, ConfigSource, LoadedConfig, RolePolicy},
    identity::Caller,
    server::{
        Access, Authorization, GovernedServer, Kernel, ToolError, ToolOutput, ToolSpec, Upstream,
        parse_args,
    },
};
use serde_json::{Value, json};

#[derive(serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct Args {
    target: String,
    // Only sent, to exercise redaction and the size limit; the upstream never reads them.
    #[serde(default)]
    #[expect(dead_code)]
    token: Option<String>,
    #[serde(default)]
    #[expect(dead_code)]
    body: Option<String>,
}

/// A scripted upstream: `read_thing` and `write_thing`; `target = "forbidden"` is out of scope.
/// Its execute snapshots the journal, so tests can see what was on disk before the upstream ran.
struct Scripted {
    specs: Vec<ToolSpec>,
    journal_dir: PathBuf,
    journal_at_execute: Arc<Mutex<Vec<Vec<AuditEvent>>>>,
}

impl Upstream for Scripted {
    type Call = (String, Args);
    type Plan = (String, Args);
    fn server_name(&self) -> &'static str {
        "scripted-mcp"
    }
    fn upstream_name(&self) -> &'static str {
        "scripted"
    }
    fn tools(&self) -> &[ToolSpec] {
        &self.specs
    }
    fn instructions(&self) -> String {
        "test".into()
    }
    fn parse(&self, tool: &str, args: Value) -> Result<Self::Call, ToolError> {
        Ok((tool.to_owned(), parse_args(tool, args)?))
    }
    async fn authorize(
        &self,
        call: Self::Call,
        _caller: &Caller,
    ) -> Result<Authorization<Self::Plan>, ToolError> {
        let resources = [("target".to_owned(), Value::from(call.1.target.clone()))].into();
        if call.1.target == "forbidden" {
            return Ok(Authorization::deny(
                "scripted.scope",
                "forbidden is out of scope",
                resources,
            ));
        }
        Ok(Authorization::allow("scripted.scope", resources, call))
    }
    async fn execute(&self, call: Self::Plan, _caller: &Caller) -> Result<ToolOutput, ToolError> {
        let seen = read_events(&self.journal_dir).unwrap_or_default();
        self.journal_at_execute.lock().unwrap().push(seen);
        match call.1.target.as_str() {
            "missing" => Err(ToolError::NotFound("missing was not found".into())),
            _ => Ok(ToolOutput::new(json!({
                "title": "hello\u{200B} wor\u{202E}ld\u{E0041}",
                "target": call.1.target,
            }))
            .with_resource("created_key", "T-1")),
        }
    }
    async fn whoami(&self) -> Option<String> {
        Some("upstream-user".into())
    }
}

struct Fixture {
    _dir: tempfile::TempDir,
    journal_dir: PathBuf,
    server: GovernedServer<Scripted>,
    seen: Arc<Mutex<Vec<Vec<AuditEvent>>>>,
}

fn fixture(configure: impl FnOnce(&mut Config, &Path)) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::default();
    config.audit.dir = Some(dir.path().join("audit"));
    config.identity.user = Some("jane@corp.example".into());
    configure(&mut config, dir.path());
    let journal_dir = config.audit.dir.clone().unwrap();
    let kernel = Kernel::new(
        LoadedConfig {
            config,
            source: ConfigSource::Defaults,
        },
        "scripted-mcp",
    )
    .unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let upstream = Scripted {
        specs: vec![
            ToolSpec::new::<Args>("scripted_read_thing", "Read", "reads", Access::Read),
            ToolSpec::new::<Args>("scripted_write_thing", "Write", "writes", Access::Write),
        ],
        journal_dir: journal_dir.clone(),
        journal_at_execute: seen.clone(),
    };
    Fixture {
        _dir: dir,
        journal_dir,
        server: GovernedServer::new(Arc::new(kernel), upstream),
        seen,
    }
}

fn args(v: Value) -> Option<rmcp::model::JsonObject> {
    v.as_object().cloned()
}

fn text(result: &rmcp::model::CallToolResult) -> String {
    serde_json::to_value(&result.content).unwrap().to_string()
}

#[tokio::test]
async fn write_intent_is_on_disk_before_the_upstream_runs() {
    let f = fixture(|_, _| {});
    let result = f
        .server
        .governed_call(
            "scripted_write_thing",
            args(json!({"target": "a"})),
            Some("toolu_1".into()),
        )
        .await
        .unwrap();
    assert_ne!(result.is_error, Some(true), "{}", text(&result));
    let seen = f.seen.lock().unwrap();
    let before = &seen[0];
    assert_eq!(
        before.len(),
        1,
        "exactly the intent was on disk when the upstream ran"
    );
    assert_eq!(serde_json::to_value(before[0].phase).unwrap(), "intent");
    let events = read_events(&f.journal_dir).unwrap();
    assert_eq!(events.len(), 2);
    let outcome = &events[1];
    assert_eq!(outcome.call_id, before[0].call_id);
    assert_eq!(outcome.result.as_deref(), Some("success"));
    assert_eq!(outcome.resources["created_key"], "T-1");
    assert_eq!(outcome.ai_context.tool_use_id.as_deref(), Some("toolu_1"));
    assert_eq!(outcome.decision.rule, "scripted.scope");
    assert_eq!(outcome.user, "jane@corp.example");
    assert!(verify_dir(&f.journal_dir).unwrap().first_break().is_none());
}

#[tokio::test]
async fn reads_write_one_record_after() {
    let f = fixture(|_, _| {});
    f.server
        .governed_call("scripted_read_thing", args(json!({"target": "a"})), None)
        .await
        .unwrap();
    assert!(f.seen.lock().unwrap()[0].is_empty(), "no intent for reads");
    assert_eq!(read_events(&f.journal_dir).unwrap().len(), 1);
}

#[tokio::test]
async fn hidden_tool_answers_like_an_unknown_tool_and_is_audited() {
    let f = fixture(|c, _| {
        c.identity.roles = vec!["contractor".into()];
        c.policy.roles.insert(
            "contractor".into(),
            RolePolicy {
                allow: vec![],
                deny: vec!["scripted_write_*".into()],
            },
        );
    });
    let listed: Vec<String> = f
        .server
        .visible_tools()
        .iter()
        .map(|t| t.name.to_string())
        .collect();
    assert_eq!(listed, ["scripted_read_thing"]);
    let hidden = f
        .server
        .governed_call("scripted_write_thing", args(json!({"target": "a"})), None)
        .await
        .unwrap_err();
    let unknown = f
        .server
        .governed_call("scripted_nope", args(json!({"target": "a"})), None)
        .await
        .unwrap_err();
    assert_eq!(hidden.code, unknown.code);
    assert_eq!(
        hidden.message.replace("scripted_write_thing", "X"),
        unknown.message.replace("scripted_nope", "X")
    );
    assert!(f.seen.lock().unwrap().is_empty(), "the upstream never ran");
    let events = read_events(&f.journal_dir).unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].result.as_deref(), Some("denied"));
    assert_eq!(events[0].decision.rule, "policy.roles.contractor.deny");
}

#[tokio::test]
async fn scope_denial_names_the_rule_and_never_reaches_the_upstream() {
    let f = fixture(|_, _| {});
    let result = f
        .server
        .governed_call(
            "scripted_write_thing",
            args(json!({"target": "forbidden"})),
            None,
        )
        .await
        .unwrap();
    assert_eq!(result.is_error, Some(true));
    assert!(
        text(&result).contains("scripted.scope"),
        "{}",
        text(&result)
    );
    assert!(f.seen.lock().unwrap().is_empty());
    let events = read_events(&f.journal_dir).unwrap();
    assert_eq!(
        events.len(),
        1,
        "a denied write has no intent, only the denied outcome"
    );
    assert_eq!(events[0].result.as_deref(), Some("denied"));
}

#[tokio::test]
async fn journal_that_cannot_be_written_refuses_writes_but_not_reads() {
    let f = fixture(|c, dir| {
        let blocker = dir.join("not-a-dir");
        std::fs::write(&blocker, "x").unwrap();
        c.audit.dir = Some(blocker.join("audit"));
    });
    let write = f
        .server
        .governed_call("scripted_write_thing", args(json!({"target": "a"})), None)
        .await
        .unwrap();
    assert_eq!(write.is_error, Some(true));
    let message = text(&write);
    assert!(
        message.contains("was not run") && message.contains("not-a-dir/audit"),
        "{message}"
    );
    assert!(
        f.seen.lock().unwrap().is_empty(),
        "the write never reached the upstream"
    );
    let read = f
        .server
        .governed_call("scripted_read_thing", args(json!({"target": "a"})), None)
        .await
        .unwrap();
    assert_ne!(read.is_error, Some(true));
    assert!(
        text(&read).contains("warning: this call was not recorded"),
        "{}",
        text(&read)
    );
}

#[tokio::test]
async fn hidden_characters_are_stripped_and_counted() {
    let f = fixture(|_, _| {});
    let result = f
        .server
        .governed_call("scripted_read_thing", args(json!({"target": "a"})), None)
        .await
        .unwrap();
    assert_eq!(
        result.structured_content.as_ref().unwrap()["title"],
        "hello world"
    );
    assert_eq!(
        read_events(&f.journal_dir).unwrap()[0].stripped_chars,
        Some(3)
    );
}

#[tokio::test]
async fn bad_arguments_are_tool_errors_and_the_server_goes_on() {
    let f = fixture(|c, _| c.safety.max_argument_bytes = 1000);
    let cases = [
        (json!({"target": 3}), "invalid type"),
        (json!({}), "missing field `target`"),
        (json!({"target": "a", "extra": 1}), "unknown field `extra`"),
        (
            json!({"target": "a", "body": "x".repeat(2000)}),
            "the limit is 1000 bytes",
        ),
    ];
    for (bad, expected) in cases {
        let r = f
            .server
            .governed_call("scripted_read_thing", args(bad), None)
            .await
            .unwrap();
        assert_eq!(r.is_error, Some(true));
        assert!(text(&r).contains(expected), "{expected}: {}", text(&r));
    }
    let ok = f
        .server
        .governed_call("scripted_read_thing", args(json!({"target": "a"})), None)
        .await
        .unwrap();
    assert_ne!(ok.is_error, Some(true));
    let missing = f
        .server
        .governed_call(
            "scripted_read_thing",
            args(json!({"target": "missing"})),
            None,
        )
        .await
        .unwrap();
    assert!(text(&missing).contains("missing was not found"));
    let results: Vec<Option<String>> = read_events(&f.journal_dir)
        .unwrap()
        .into_iter()
        .map(|e| e.result)
        .collect();
    assert_eq!(
        results
            .iter()
            .filter(|r| r.as_deref() == Some("error"))
            .count(),
        5
    );
}

#[tokio::test]
async fn secrets_never_reach_the_journal() {
    let f = fixture(|_, _| {});
    f.server
        .governed_call(
            "scripted_write_thing",
            args(json!({"target": "a", "token": "s3cr3t-value", "body": "Bearer abcdef"})),
            None,
        )
        .await
        .unwrap();
    let raw: String = std::fs::read_dir(&f.journal_dir)
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    assert!(
        !raw.contains("s3cr3t-value") && !raw.contains("abcdef"),
        "{raw}"
    );
    assert!(raw.contains("[REDACTED]"));
}

#[tokio::test]
async fn confirm_writes_marks_write_tools_only() {
    let f = fixture(|c, _| c.safety.confirm_writes = true);
    for tool in f.server.visible_tools() {
        let marked = tool
            .meta
            .as_ref()
            .and_then(|m| m.0.get("anthropic/requiresUserInteraction"))
            .is_some_and(|v| v == &Value::Bool(true));
        assert_eq!(marked, tool.name.contains("write"), "{}", tool.name);
        let annotations = tool.annotations.unwrap();
        assert_eq!(
            annotations.read_only_hint,
            Some(!tool.name.contains("write"))
        );
    }
}
