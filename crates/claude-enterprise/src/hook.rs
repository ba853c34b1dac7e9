//! `claude-enterprise hook EVENT`: Claude Code's hooks, with the hook's JSON on stdin.
//!
//! - `UserPromptSubmit`: the prompt's SHA-256 into the session's state file, which the
//!   servers read into every event's `ai_context.prompt_hash`.
//! - `SessionStart`: the model, when Claude Code gives it, into the same file.
//! - `PreToolUse`: Claude Code's Bash commands checked against `[hooks]` ("PRs only", see
//!   [`guard`]); a deny is Claude Code's documented deny JSON on stdout, with the reason, and a
//!   `denied` event in the journal (the command never runs, so no PostToolUse records it).
//! - `PostToolUse` / `PostToolUseFailure`: Claude Code's own tools (Bash, Edit, Write,
//!   WebFetch, Task, ...) journaled as tool `claude-code` in the same audit journal, parameters
//!   redacted like every event; our own MCP servers' tools are not, they journal themselves.
//!
//! Installed twice (the plugin's hooks and the system module's managed hooks), the hook runs
//! twice per event with the same payload: one copy does the event's side effects (the journal
//! record, the state file, the drain), the other waits for it and ends ([`dedupe`]).
//! PreToolUse is checked by both, as each copy's answer counts; only its denial's record is
//! claimed.
//!
//! A hook never holds a session up and never blocks by accident: Claude Code reads exit code
//! 2 as "block" (on UserPromptSubmit the prompt is dropped), and that is also what a clap usage
//! error exits with. So every path here exits 0, failures included (an unknown event, a
//! malformed payload, a missing state directory, a panic): they are reported on stderr and
//! in `<state dir>/hook.log`. A deny is exit 0 with the deny JSON; nothing here exits 2. The
//! whole run is bounded: the payload is waited for briefly and a watchdog ends the process
//! (exit 0) well under a second.

mod dedupe;
mod guard;
mod shell;

use std::{
    fs::OpenOptions,
    io::{Read, Write},
    os::unix::fs::{DirBuilderExt, OpenOptionsExt},
    path::{Path, PathBuf},
    process::ExitCode,
    sync::mpsc,
    time::{Duration, Instant},
};

use governance::{
    audit::{Access, AuditEvent, Journal, Phase, ServerInfo, redact_parameters},
    config::{Config, Section},
    identity::Caller,
    policy::Decision,
};
use serde_json::{Map, Value, json};
use sha2::Digest;

pub use guard::{HooksConfig, validate};

impl Section for HooksConfig {
    const NAME: &'static str = "hooks";
}

/// The whole run, watchdog included: Claude Code's own hook timeout is far longer, but a
/// session must never wait on us.
const BUDGET: Duration = Duration::from_millis(900);
/// How long the payload may take to arrive: Claude Code writes it at once and closes stdin.
const PAYLOAD_WAIT: Duration = Duration::from_millis(300);
/// Lookups the Bash check may start (git aliases, the remote's default branch) end by then.
const LOOKUP_BUDGET: Duration = Duration::from_millis(400);
/// How long the keychain may take to say who the user is.
const IDENTITY_WAIT: Duration = Duration::from_millis(200);
/// How long a second copy of the hook waits for the first to do an event's work; the rest of
/// [`BUDGET`] is for doing it itself when the first failed.
const CLAIM_WAIT: Duration = Duration::from_millis(600);
/// Larger payloads (a huge tool response) are not read.
const MAX_PAYLOAD: u64 = 32 << 20;
/// `hook.log` is started again past this size.
const MAX_LOG: u64 = 1 << 20;

/// The events this command handles, as Claude Code names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Event {
    UserPromptSubmit,
    SessionStart,
    PreToolUse,
    PostToolUse,
    PostToolUseFailure,
    /// Known, nothing to do (yet): installing them is not an error.
    Other(&'static str),
}

const EVENTS: &[&str] = &[
    "UserPromptSubmit",
    "SessionStart",
    "PreToolUse",
    "PostToolUse",
    "PostToolUseFailure",
    "SessionEnd",
    "Stop",
    "SubagentStop",
    "Notification",
    "PreCompact",
];

impl Event {
    fn parse(name: &str) -> Option<Self> {
        let known = EVENTS.iter().find(|e| e.eq_ignore_ascii_case(name))?;
        Some(match *known {
            "UserPromptSubmit" => Event::UserPromptSubmit,
            "SessionStart" => Event::SessionStart,
            "PreToolUse" => Event::PreToolUse,
            "PostToolUse" => Event::PostToolUse,
            "PostToolUseFailure" => Event::PostToolUseFailure,
            other => Event::Other(other),
        })
    }

    fn name(self) -> &'static str {
        match self {
            Event::UserPromptSubmit => "UserPromptSubmit",
            Event::SessionStart => "SessionStart",
            Event::PreToolUse => "PreToolUse",
            Event::PostToolUse => "PostToolUse",
            Event::PostToolUseFailure => "PostToolUseFailure",
            Event::Other(name) => name,
        }
    }
}

/// Runs the hook with the arguments after `hook`. Always exits 0: see the module's docs.
pub fn main(args: Vec<String>) -> ExitCode {
    std::panic::set_hook(Box::new(|info| {
        report(&format!("internal error: {info}"));
        std::process::exit(0);
    }));
    let started = Instant::now();
    std::thread::spawn(move || {
        std::thread::sleep(BUDGET.saturating_sub(started.elapsed()));
        report(&format!(
            "gave up after {BUDGET:?} so as not to hold the session up; nothing was decided"
        ));
        std::process::exit(0);
    });
    match run(&args, started, read_stdin) {
        Ok(Some(output)) => {
            let mut stdout = std::io::stdout().lock();
            let _ = writeln!(stdout, "{output}");
            let _ = stdout.flush();
        }
        Ok(None) => {}
        Err(message) => report(&message),
    }
    ExitCode::SUCCESS
}

const USAGE: &str = "usage: claude-enterprise hook EVENT, with Claude Code's hook JSON on stdin; \
                     EVENT is UserPromptSubmit, SessionStart, PreToolUse, PostToolUse or \
                     PostToolUseFailure";

/// What Claude Code should read on stdout, if anything; `Err` is a failure to report.
fn run(
    args: &[String],
    started: Instant,
    stdin: impl FnOnce() -> Result<Vec<u8>, String>,
) -> Result<Option<String>, String> {
    let (event, extra) = match args {
        [] => return Err(format!("no event given; {USAGE}")),
        [flag] if flag == "--help" || flag == "-h" => {
            // Not stdout: on SessionStart and UserPromptSubmit it would reach the model.
            eprintln!("{USAGE}");
            return Ok(None);
        }
        [event, extra @ ..] => (event, extra),
    };
    if !extra.is_empty() {
        report(&format!("ignoring unexpected arguments {extra:?}; {USAGE}"));
    }
    let event = Event::parse(event).ok_or_else(|| format!("unknown event `{event}`; {USAGE}"))?;
    let bytes = stdin()?;
    let value: Value = serde_json::from_slice(&bytes)
        .map_err(|e| format!("{}: the payload on stdin is not JSON ({e})", event.name()))?;
    let Value::Object(payload) = &value else {
        return Err(format!(
            "{}: the payload is not a JSON object",
            event.name()
        ));
    };
    if let Some(named) = payload.get("hook_event_name").and_then(Value::as_str)
        && !named.eq_ignore_ascii_case(event.name())
    {
        return Err(format!(
            "the payload is for {named}, not {}: check the hook's command in hooks.json",
            event.name()
        ));
    }
    let config = match Config::load() {
        Ok(loaded) => loaded.config,
        Err(e) => {
            report(&format!("{e}; using the built-in defaults"));
            Config::default()
        }
    };
    let hooks = config.section::<HooksConfig>().unwrap_or_else(|e| {
        report(&format!("{e}; using the built-in [hooks] defaults"));
        HooksConfig::default()
    });
    let session = payload
        .get("session_id")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .or_else(|| std::env::var("CLAUDE_CODE_SESSION_ID").ok())
        .filter(|s| !s.is_empty());
    // Side effects only: a hook installed twice runs them once (see `dedupe`).
    let claim = || {
        dedupe::claim(
            event.name(),
            session.as_deref(),
            &value,
            started + CLAIM_WAIT,
        )
    };
    match event {
        Event::UserPromptSubmit => {
            let prompt = payload
                .get("prompt")
                .and_then(Value::as_str)
                .ok_or("UserPromptSubmit: the payload has no `prompt` string")?;
            let hash = format!("sha256:{}", hex::encode(sha2::Sha256::digest(prompt)));
            let session = session
                .as_deref()
                .ok_or("UserPromptSubmit: the payload has no session_id")?;
            let Some(claim) = claim() else {
                return Ok(None);
            };
            update_state(session, |state| {
                state.insert("prompt_hash".into(), Value::String(hash));
            })?;
            claim.done();
            Ok(None)
        }
        Event::SessionStart => {
            let Some(claim) = claim() else {
                return Ok(None);
            };
            // A bounded drain of the journal in the background, never waited for.
            crate::ship::spawn_drain(&config);
            let model = match payload.get("model") {
                Some(Value::String(model)) => Some(model.clone()),
                Some(Value::Object(model)) => {
                    model.get("id").and_then(Value::as_str).map(str::to_owned)
                }
                _ => None,
            };
            if let Some(model) = model.filter(|m| !m.is_empty()) {
                let session = session
                    .as_deref()
                    .ok_or("SessionStart: the payload has no session_id")?;
                update_state(session, |state| {
                    state.insert("model".into(), Value::String(model));
                })?;
            }
            claim.done();
            Ok(None)
        }
        Event::PreToolUse => {
            let answer = pre_tool_use(payload, &hooks, started)?;
            if let Some(denial) = &answer {
                // The denial is answered whatever happens to its record: a journal that
                // cannot be written must not let the command through.
                if let Err(e) =
                    journal_denial(payload, &config, &hooks, session.as_deref(), denial, claim)
                {
                    report(&e);
                }
            }
            Ok(answer.map(|denial| denial.answer))
        }
        Event::PostToolUse | Event::PostToolUseFailure => {
            post_tool_use(event, payload, &config, &hooks, session.as_deref(), claim)?;
            Ok(None)
        }
        Event::Other("SessionEnd") => {
            let Some(claim) = claim() else {
                return Ok(None);
            };
            crate::ship::spawn_drain(&config);
            claim.done();
            Ok(None)
        }
        Event::Other(_) => Ok(None),
    }
}

/// A PreToolUse hook's refusal: Claude Code's deny JSON, and the rule for the journal.
struct Denial {
    answer: String,
    rule: String,
    reason: String,
}

/// PreToolUse: a Bash command checked; a denial answered with Claude Code's deny JSON.
fn pre_tool_use(
    payload: &Map<String, Value>,
    hooks: &HooksConfig,
    started: Instant,
) -> Result<Option<Denial>, String> {
    let tool = payload
        .get("tool_name")
        .and_then(Value::as_str)
        .ok_or("PreToolUse: the payload has no tool_name")?;
    if tool != "Bash" || !hooks.guard_bash {
        return Ok(None);
    }
    let command = payload
        .get("tool_input")
        .and_then(|i| i.get("command"))
        .and_then(Value::as_str)
        .ok_or("PreToolUse: the Bash payload has no tool_input.command")?;
    let cwd = payload
        .get("cwd")
        .and_then(Value::as_str)
        .map(PathBuf::from)
        .or_else(|| std::env::current_dir().ok())
        .unwrap_or_else(|| PathBuf::from("/"));
    let deadline = started + LOOKUP_BUDGET;
    // A broken [hooks] must not turn the check off: the built-in rules stand in.
    let guard = guard::Guard::new(hooks, &cwd, deadline).or_else(|e| {
        report(&format!(
            "{e}; checking with the built-in [hooks] rules until it is fixed \
             (`claude-enterprise config check`)"
        ));
        guard::Guard::new(&HooksConfig::default(), &cwd, deadline)
    });
    let guard = guard.map_err(|e| format!("the built-in [hooks] rules do not compile: {e}"))?;
    match guard.check(command) {
        Ok(()) => Ok(None),
        Err(denial) => {
            let reason = format!(
                "Denied by company policy ({}): {}",
                denial.rule, denial.reason
            );
            Ok(Some(Denial {
                answer: json!({
                    "hookSpecificOutput": {
                        "hookEventName": "PreToolUse",
                        "permissionDecision": "deny",
                        "permissionDecisionReason": reason,
                    }
                })
                .to_string(),
                rule: denial.rule.to_string(),
                reason: denial.reason.to_string(),
            }))
        }
    }
}

/// Claude Code's tools that only read.
const READ_TOOLS: &[&str] = &[
    "Read",
    "Glob",
    "Grep",
    "LS",
    "WebFetch",
    "WebSearch",
    "NotebookRead",
    "TodoRead",
    "TodoWrite",
    "BashOutput",
    "ListMcpResourcesTool",
    "ReadMcpResourceTool",
];

/// PostToolUse / PostToolUseFailure: one outcome event in the journal, unless `claim` says
/// another copy of the hook journals it.
fn post_tool_use(
    event: Event,
    payload: &Map<String, Value>,
    config: &Config,
    hooks: &HooksConfig,
    session: Option<&str>,
    claim: impl FnOnce() -> Option<dedupe::Claim>,
) -> Result<(), String> {
    if !hooks.audit_tools {
        return Ok(());
    }
    let name = event.name();
    let tool = payload
        .get("tool_name")
        .and_then(Value::as_str)
        .ok_or_else(|| format!("{name}: the payload has no tool_name"))?;
    if journaled_by_server(tool, payload.get("mcp_server"), &hooks.audited_servers) {
        return Ok(());
    }
    let dir = config
        .audit
        .journal_dir()
        .ok_or_else(|| format!("{name}: {}", governance::audit::AuditError::NoDirectory))?;
    // Claimed before the identity lookup, so the other copy does not repeat that either.
    let Some(claim) = claim() else {
        return Ok(());
    };
    let access = if READ_TOOLS.contains(&tool) {
        Access::Read
    } else {
        Access::Write
    };
    let failed = event == Event::PostToolUseFailure;
    let permission_mode = payload
        .get("permission_mode")
        .and_then(Value::as_str)
        .unwrap_or("default");
    let outcome = ToolOutcome {
        access,
        result: if failed { "error" } else { "success" },
        error: failed.then(|| failure_text(payload)),
        decision: Decision::allow(format!("claude-code.permission_mode.{permission_mode}")),
    };
    append_tool_event(&dir, payload, config, session, tool, outcome)
        .map_err(|e| format!("{name}: {e}"))?;
    claim.done();
    Ok(())
}

/// How one of Claude Code's tool uses ended, for its journal event.
struct ToolOutcome {
    access: Access,
    result: &'static str,
    error: Option<String>,
    decision: Decision,
}

/// Journals one of Claude Code's tool uses in the session's `claude-code` segment.
fn append_tool_event(
    dir: &Path,
    payload: &Map<String, Value>,
    config: &Config,
    session: Option<&str>,
    tool: &str,
    outcome: ToolOutcome,
) -> Result<(), String> {
    let audit = &config.audit;
    let (user, roles) = caller(config);
    let tool_use_id = payload
        .get("tool_use_id")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let mut resources = std::collections::BTreeMap::new();
    if let Some(cwd) = payload.get("cwd").filter(|c| c.is_string()) {
        resources.insert("cwd".to_owned(), cwd.clone());
    }
    let record = AuditEvent {
        event_id: uuid::Uuid::now_v7().to_string(),
        seq: 0,
        timestamp: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        user,
        roles,
        tool: "claude-code".into(),
        action: tool.into(),
        access: outcome.access,
        phase: Phase::Outcome,
        call_id: tool_use_id
            .clone()
            .unwrap_or_else(|| uuid::Uuid::now_v7().to_string()),
        parameters: redact_parameters(
            payload.get("tool_input").unwrap_or(&Value::Null),
            audit.capture,
            audit.max_inline_bytes,
        ),
        result: Some(outcome.result.into()),
        error: outcome.error,
        duration_ms: payload.get("duration_ms").and_then(Value::as_u64),
        decision: outcome.decision,
        stripped_chars: None,
        redacted_secrets: None,
        resources,
        // The same context the servers record: the session, and the prompt and model the
        // other hooks put in its state file.
        ai_context: governance::identity::ai_context(session, tool_use_id),
        server: ServerInfo {
            name: "claude-enterprise".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        },
        host: gethostname::gethostname().to_string_lossy().into_owned(),
        policy_digest: policy_digest(config),
        // The tools are Claude Code's own: no table of ours defines them.
        tools_digest: None,
        prev_hash: String::new(),
        hash: String::new(),
    };
    // One segment per Claude Code session, continued by each hook in turn.
    let segment = format!("claude-code-{}", segment_key(session));
    let journal = Journal::open_named(dir, "claude-code", &segment).map_err(|e| e.to_string())?;
    journal
        .append(record, outcome.access == Access::Write)
        .map_err(|e| format!("{tool} was not journaled: {e}"))?;
    Ok(())
}

/// Journals a PreToolUse denial: the command never runs, so no PostToolUse will record it.
/// Claimed like the other side effects, so a hook installed twice records it once (both
/// copies still deny).
fn journal_denial(
    payload: &Map<String, Value>,
    config: &Config,
    hooks: &HooksConfig,
    session: Option<&str>,
    denial: &Denial,
    claim: impl FnOnce() -> Option<dedupe::Claim>,
) -> Result<(), String> {
    if !hooks.audit_tools {
        return Ok(());
    }
    let dir = config
        .audit
        .journal_dir()
        .ok_or_else(|| format!("PreToolUse: {}", governance::audit::AuditError::NoDirectory))?;
    let Some(claim) = claim() else {
        return Ok(());
    };
    let tool = payload
        .get("tool_name")
        .and_then(Value::as_str)
        .unwrap_or("Bash");
    let outcome = ToolOutcome {
        access: Access::Write,
        result: "denied",
        error: Some(format!(
            "Denied by company policy ({}): {}",
            denial.rule, denial.reason
        )),
        decision: Decision::deny(denial.rule.clone(), denial.reason.clone()),
    };
    append_tool_event(&dir, payload, config, session, tool, outcome)
        .map_err(|e| format!("PreToolUse: the denial was answered but not journaled: {e}"))?;
    claim.done();
    Ok(())
}

/// The error Claude Code reports for a failed tool.
fn failure_text(payload: &Map<String, Value>) -> String {
    match payload.get("error") {
        Some(Value::String(error)) => error.clone(),
        Some(other) => other.to_string(),
        None => "failed".into(),
    }
}

/// Whether `tool` belongs to one of our MCP servers, which journal their own calls:
/// `mcp__<server>__<tool>` or, from a plugin, `mcp__plugin_<plugin>_<server>__<tool>`.
fn journaled_by_server(tool: &str, mcp_server: Option<&Value>, ours: &[String]) -> bool {
    let Some(rest) = tool.strip_prefix("mcp__") else {
        return false;
    };
    let ours = |name: &str| {
        let name = name.strip_suffix("-mcp").unwrap_or(name);
        ours.iter()
            .any(|o| o.strip_suffix("-mcp").unwrap_or(o) == name)
    };
    if let Some(name) = mcp_server
        .and_then(|s| s.get("name"))
        .and_then(Value::as_str)
        .and_then(|n| n.rsplit(':').next())
        && ours(name)
    {
        return true;
    }
    let Some((server, _)) = rest.split_once("__") else {
        return false;
    };
    match server.strip_prefix("plugin_") {
        Some(plugin_server) => plugin_server
            .char_indices()
            .filter(|(_, c)| *c == '_')
            .any(|(i, _)| ours(&plugin_server[i + 1..])),
        None => ours(server),
    }
}

/// A file-name-safe key for a session's segment.
fn segment_key(session: Option<&str>) -> String {
    match session {
        Some(s) if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') => {
            s.to_owned()
        }
        Some(s) => hex::encode(&sha2::Sha256::digest(s)[..16]),
        None => "no-session".into(),
    }
}

/// SHA-256 of the config in force, as the servers compute it.
fn policy_digest(config: &Config) -> String {
    let value = serde_json::to_value(config).unwrap_or(Value::Null);
    format!(
        "sha256:{}",
        hex::encode(sha2::Sha256::digest(governance::audit::canonical_json(
            &value
        )))
    )
}

/// The user and roles, as the servers record them: the SSO session in the keychain (read,
/// never refreshed here: that needs the network), else the config, else the OS account.
fn caller(config: &Config) -> (String, Vec<String>) {
    if config.sso.issuer.is_some() {
        let (sso, keychain) = (config.sso.clone(), config.keychain.clone());
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let found = auth::keychain::Keychain::open(&keychain)
                .and_then(|k| k.load::<auth::sso::Session>(auth::keychain::Tool::Sso))
                .ok()
                .flatten()
                .map(|session| session.identity(&sso));
            let _ = tx.send(found);
        });
        if let Ok(Some(identity)) = rx.recv_timeout(IDENTITY_WAIT) {
            return (identity.user, identity.roles);
        }
    }
    let roles = config.identity.roles.clone();
    match &config.identity.user {
        Some(user) => (user.clone(), roles),
        None => {
            let caller = Caller::from_os(roles);
            (caller.user, caller.roles)
        }
    }
}

/// Changes the session's state file, atomically (a temporary file renamed over it in the same
/// directory), mode 0600, the directory 0700.
fn update_state(session: &str, change: impl FnOnce(&mut Map<String, Value>)) -> Result<(), String> {
    let path = governance::identity::session_state_path(session).ok_or_else(|| {
        format!(
            "no state file for session `{session}`: \
             XDG_STATE_HOME or HOME must be set"
        )
    })?;
    let dir = path
        .parent()
        .ok_or_else(|| format!("{} has no directory", path.display()))?;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| {
            format!(
                "cannot create the session state directory {}: {e}",
                dir.display()
            )
        })?;
    let mut state = std::fs::read(&path)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<Map<String, Value>>(&bytes).ok())
        .unwrap_or_default();
    change(&mut state);
    governance::identity::replace_session_file(
        &path,
        &serde_json::to_vec(&state).unwrap_or_default(),
    )
    .map_err(|e| {
        format!(
            "cannot write the session state file {}: {e}",
            path.display()
        )
    })
}

/// The payload, waited for at most [`PAYLOAD_WAIT`]: a hook run by hand on a terminal, or a
/// writer that never closes stdin, must not hold anything up.
fn read_stdin() -> Result<Vec<u8>, String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let read = std::io::stdin()
            .lock()
            .take(MAX_PAYLOAD + 1)
            .read_to_end(&mut bytes)
            .map(|_| bytes);
        let _ = tx.send(read);
    });
    match rx.recv_timeout(PAYLOAD_WAIT) {
        Ok(Ok(bytes)) if bytes.len() as u64 > MAX_PAYLOAD => Err(format!(
            "the payload is larger than {} MiB; not read",
            MAX_PAYLOAD >> 20
        )),
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(e)) => Err(format!("cannot read the payload on stdin: {e}")),
        Err(_) => Err(format!(
            "no payload on stdin within {PAYLOAD_WAIT:?}: Claude Code passes the hook's JSON there"
        )),
    }
}

/// A failure: on stderr (Claude Code shows it in its debug output) and in `hook.log`.
fn report(message: &str) {
    eprintln!("claude-enterprise hook: {message}");
    let Some(dir) = governance::config::state_dir() else {
        return;
    };
    let log = dir.join("hook.log");
    let _ = std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&dir);
    if std::fs::metadata(&log).is_ok_and(|m| m.len() > MAX_LOG) {
        let _ = std::fs::rename(&log, dir.join("hook.log.1"));
    }
    if let Ok(mut file) = OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(&log)
    {
        let line = format!(
            "{} {}\n",
            chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            message.replace('\n', " ")
        );
        let _ = file.write_all(line.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_servers_mcp_tools_are_left_to_the_servers() {
        let ours = HooksConfig::default().audited_servers;
        let cases: &[(&str, Option<Value>, bool)] = &[
            ("mcp__github__github_create_pull_request", None, true),
            ("mcp__jira-mcp__jira_create_issue", None, true),
            (
                "mcp__plugin_enterprise-governance_github__github_list_commits",
                None,
                true,
            ),
            (
                "mcp__plugin_my_plugin_confluence__confluence_get_page",
                None,
                true,
            ),
            (
                "mcp__x__github_list_commits",
                Some(json!({"name": "plugin:enterprise-governance:github", "source": "plugin"})),
                true,
            ),
            ("mcp__slack__post_message", None, false),
            ("mcp__plugin_tools_githubby__x", None, false),
            ("mcp__githubx__x", None, false),
            ("Bash", None, false),
            ("mcp__github", None, false),
        ];
        for (tool, server, expected) in cases {
            assert_eq!(
                journaled_by_server(tool, server.as_ref(), &ours),
                *expected,
                "{tool}"
            );
        }
    }

    #[test]
    fn segment_keys_are_file_names() {
        assert_eq!(segment_key(Some("3f2b-9e1d")), "3f2b-9e1d");
        assert_eq!(segment_key(None), "no-session");
        let odd = segment_key(Some("../../etc/passwd"));
        assert!(
            odd.chars().all(|c| c.is_ascii_hexdigit()) && odd.len() == 32,
            "{odd}"
        );
    }
}
