//! The governed call, in order: identity, policy, intent, tool, safety, outcome, result.

use std::{collections::BTreeMap, sync::Arc, time::Instant};

use rmcp::{
    ErrorData as McpError, RoleServer, ServerHandler,
    model::{
        CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock as Content,
        Implementation, ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerConfig,
        Tool, ToolAnnotations,
    },
    service::RequestContext,
};
use serde_json::Value;
use tokio::sync::OnceCell;

use super::{Access, RESULT_BUDGET_BYTES, ToolError, ToolSpec, Upstream};
use crate::{
    audit::{AuditEvent, Journal, Phase, ServerInfo, digest, redact_parameters},
    config::{Config, LoadedConfig},
    content::{Cleaned, Scrub, clean_json},
    flow::{CrossResourceWrites, FlowStore, Resource, apply_provenance},
    identity::{Caller, IdentitySource, ai_context},
    policy::{Decision, PatternError, ToolPolicy, outgoing_secrets},
};

/// The kernel could not be built from the config.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KernelError {
    /// A policy glob does not compile.
    #[error(transparent)]
    Pattern(#[from] PatternError),
}

/// What every governed server shares: the config in force, the compiled tool policy and the
/// journal. Built once per process.
pub struct Kernel {
    config: Config,
    config_source: String,
    tool_policy: ToolPolicy,
    journal: Result<Journal, String>,
    policy_digest: String,
    host: String,
    server: ServerInfo,
    session_id: Option<String>,
    /// What this Claude Code session has read, shared with its other servers.
    flow: FlowStore,
}

impl Kernel {
    /// Builds the kernel for the binary `server_name`. A journal that cannot be opened is not
    /// fatal: reads go on with a warning and writes are refused, naming the path.
    pub fn new(loaded: LoadedConfig, server_name: &str) -> Result<Self, KernelError> {
        let config = loaded.config;
        // Credentials in the environment are held from the start, so that no answer, log line
        // or journal entry can carry one out even before the upstream client reads it.
        auth::held::hold_environment();
        let tool_policy = ToolPolicy::new(&config.policy)?;
        let journal = match config.audit.journal_dir() {
            Some(dir) => Journal::open(&dir, server_name.trim_end_matches("-mcp"))
                .map(|(journal, _repairs)| journal)
                .map_err(|e| e.to_string()),
            None => Err(crate::audit::AuditError::NoDirectory.to_string()),
        };
        if let Err(e) = &journal {
            tracing::warn!("{e}; write tools are refused until the journal can be written");
        }
        let policy_digest = {
            #[expect(
                clippy::expect_used,
                reason = "config types are plain data: serializing them cannot fail"
            )]
            let value = serde_json::to_value(&config).expect("the config serializes");
            digest(&value)
        };
        let session_id = std::env::var("CLAUDE_CODE_SESSION_ID")
            .ok()
            .filter(|s| !s.is_empty());
        let flow = FlowStore::for_session(session_id.as_deref());
        Ok(Self {
            config_source: loaded.source.to_string(),
            config,
            tool_policy,
            journal,
            policy_digest,
            host: gethostname::gethostname().to_string_lossy().into_owned(),
            server: ServerInfo {
                name: server_name.to_owned(),
                version: env!("CARGO_PKG_VERSION").to_owned(),
            },
            session_id,
            flow,
        })
    }

    /// The config in force.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Where the config came from.
    pub fn config_source(&self) -> &str {
        &self.config_source
    }

    /// The compiled tool policy.
    pub fn tool_policy(&self) -> &ToolPolicy {
        &self.tool_policy
    }
}

/// An [`Upstream`] wrapped in the governed pipeline: an rmcp `ServerHandler`.
pub struct GovernedServer<U: Upstream> {
    kernel: Arc<Kernel>,
    upstream: Arc<U>,
    /// The events' `tools_digest`, computed once: the table cannot change while the process
    /// runs.
    tools_digest: Arc<str>,
    caller: Arc<OnceCell<Caller>>,
    sso: Arc<std::sync::Mutex<Option<SsoState>>>,
}

/// The SSO lookup, cached per process: the caller (`None`: not logged in) and when the
/// session must be looked up (and refreshed) again.
#[derive(Clone)]
struct SsoState {
    caller: Option<Caller>,
    until: Option<chrono::DateTime<chrono::Utc>>,
}

impl<U: Upstream> Clone for GovernedServer<U> {
    fn clone(&self) -> Self {
        Self {
            kernel: self.kernel.clone(),
            upstream: self.upstream.clone(),
            tools_digest: self.tools_digest.clone(),
            caller: self.caller.clone(),
            sso: self.sso.clone(),
        }
    }
}

/// Everything the journal needs to know about one call.
struct CallRecord<'a> {
    spec: &'a ToolSpec,
    call_id: String,
    caller: Caller,
    parameters: Value,
    tool_use_id: Option<String>,
    decision: Decision,
    resources: BTreeMap<String, Value>,
}

impl<U: Upstream> GovernedServer<U> {
    /// Wraps `upstream` with `kernel`.
    pub fn new(kernel: Arc<Kernel>, upstream: U) -> Self {
        // Every tool the binary defines, as offered to a model but before role filtering and
        // without what the config adds (`confirm_writes`' marker): the digest changes exactly
        // when a definition does, from one release to the next.
        let definitions: Vec<Tool> = upstream.tools().iter().map(definition).collect();
        #[expect(
            clippy::expect_used,
            reason = "tools are plain data (strings, JSON schemas, flags): serializing them cannot fail"
        )]
        let tools = serde_json::to_value(&definitions).expect("tools serialize");
        Self {
            kernel,
            tools_digest: digest(&tools).into(),
            upstream: Arc::new(upstream),
            caller: Arc::new(OnceCell::new()),
            sso: Arc::new(std::sync::Mutex::new(None)),
        }
    }

    /// The kernel.
    pub fn kernel(&self) -> &Kernel {
        &self.kernel
    }

    /// The SSO roles once the SSO caller is known, else the configured ones.
    fn roles(&self) -> Vec<String> {
        let sso = self.sso.lock().unwrap_or_else(|e| e.into_inner());
        match sso.as_ref().and_then(|s| s.caller.as_ref()) {
            Some(caller) => caller.roles.clone(),
            None => self.kernel.config.identity.roles.clone(),
        }
    }

    /// The tools this user may see, as MCP tools.
    pub fn visible_tools(&self) -> Vec<Tool> {
        self.upstream
            .tools()
            .iter()
            .filter(|spec| self.decide(spec).allowed)
            .map(|spec| self.mcp_tool(spec))
            .collect()
    }

    /// Role policy first, then the upstream's own gate.
    fn decide(&self, spec: &ToolSpec) -> Decision {
        let decision = self.kernel.tool_policy.tool(&self.roles(), spec.name);
        match self.upstream.tool_gate(spec.name) {
            Some(gate) if decision.allowed => gate,
            _ => decision,
        }
    }

    fn mcp_tool(&self, spec: &ToolSpec) -> Tool {
        let mut tool = definition(spec);
        if spec.access == Access::Write && self.kernel.config.safety.confirm_writes {
            let mut meta = rmcp::model::MetaObject::default();
            meta.0.insert(
                "anthropic/requiresUserInteraction".into(),
                Value::Bool(true),
            );
            tool.meta = Some(meta);
        }
        tool
    }

    /// The SSO caller, looked up again (and the session refreshed) when it nears expiry.
    async fn sso_caller(&self) -> Option<Caller> {
        let config = &self.kernel.config;
        config.sso.issuer.as_ref()?;
        let margin = chrono::Duration::seconds(config.sso.refresh_margin_secs as i64);
        let cached = self.sso.lock().unwrap_or_else(|e| e.into_inner()).clone();
        if let Some(state) = cached
            && state.until.is_none_or(|t| t - margin > chrono::Utc::now())
        {
            return state.caller;
        }
        let found = crate::identity::sso_caller(&config.sso, &config.keychain).await;
        let state = SsoState {
            until: found.as_ref().map(|(_, until)| *until),
            caller: found.map(|(caller, _)| caller),
        };
        *self.sso.lock().unwrap_or_else(|e| e.into_inner()) = Some(state.clone());
        state.caller
    }

    async fn caller(&self) -> Caller {
        if let Some(caller) = self.sso_caller().await {
            return caller;
        }
        self.caller
            .get_or_init(|| async {
                let roles = self.roles();
                if let Some(user) = &self.kernel.config.identity.user {
                    return Caller {
                        user: user.clone(),
                        roles,
                        source: IdentitySource::Config,
                    };
                }
                match self.upstream.whoami().await {
                    Some(user) => Caller {
                        user,
                        roles,
                        source: IdentitySource::Upstream,
                    },
                    None => Caller::from_os(roles),
                }
            })
            .await
            .clone()
    }

    fn event(&self, record: &CallRecord<'_>, phase: Phase) -> AuditEvent {
        let audit = &self.kernel.config.audit;
        AuditEvent {
            event_id: uuid::Uuid::now_v7().to_string(),
            seq: 0,
            timestamp: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            user: record.caller.user.clone(),
            roles: record.caller.roles.clone(),
            tool: self.upstream.upstream_name().to_owned(),
            action: record.spec.action().to_owned(),
            access: record.spec.access,
            phase,
            call_id: record.call_id.clone(),
            parameters: redact_parameters(
                &record.parameters,
                audit.capture,
                audit.max_inline_bytes,
            ),
            result: None,
            error: None,
            duration_ms: None,
            decision: record.decision.clone(),
            stripped_chars: None,
            redacted_secrets: None,
            resources: record.resources.clone(),
            ai_context: ai_context(
                self.kernel.session_id.as_deref(),
                record.tool_use_id.clone(),
            ),
            server: self.kernel.server.clone(),
            host: self.kernel.host.clone(),
            policy_digest: self.kernel.policy_digest.clone(),
            tools_digest: Some(self.tools_digest.to_string()),
            prev_hash: String::new(),
            hash: String::new(),
        }
    }

    /// Writes an outcome; for reads a failing journal only warns (returned as a note).
    /// `cleaned` is what cleaning removed from the answer (result or error) the model sees.
    async fn record_outcome(
        &self,
        record: &CallRecord<'_>,
        started: Instant,
        outcome: Result<(), &ToolError>,
        cleaned: Cleaned,
    ) -> Option<String> {
        let mut event = self.event(record, Phase::Outcome);
        event.duration_ms = Some(started.elapsed().as_millis() as u64);
        event.stripped_chars = Some(cleaned.hidden).filter(|n| *n > 0);
        event.redacted_secrets = Some(cleaned.secrets).filter(|n| *n > 0);
        match outcome {
            Ok(()) => event.result = Some("success".into()),
            Err(e) => {
                event.result = Some(e.audit_result().into());
                event.error = Some(e.to_string());
            }
        }
        let durable = record.spec.access == Access::Write;
        let written = match &self.kernel.journal {
            Ok(journal) => journal
                .append_async(event, durable)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string()),
            Err(e) => Err(e.clone()),
        };
        written.err().map(|e| {
            tracing::warn!("audit outcome not recorded: {e}");
            format!("warning: this call was not recorded in the audit journal: {e}")
        })
    }

    /// A refusal of a write to `target` by what the session read before it
    /// (`flow.cross_resource_writes`), or `None` when it may run. A write whose server named
    /// no target counts as one to a resource the session has not read; a record that cannot
    /// be read refuses (fail closed).
    async fn flow_decision(&self, target: Option<Resource>) -> Option<Decision> {
        const RULE: &str = "flow.cross_resource_writes";
        if self.kernel.config.flow.cross_resource_writes == CrossResourceWrites::Allow {
            return None;
        }
        let target = target.unwrap_or_else(|| {
            Resource::private(format!("{}:(undeclared)", self.upstream.upstream_name()))
        });
        let store = self.kernel.flow.clone();
        match off_the_runtime(move || store.load()).await {
            Ok(record) => record.concern(&target).map(|reason| {
                Decision::deny(
                    RULE,
                    format!(
                        "{reason}. Nothing was sent. Start a new session for this write, or ask a \
                         platform admin about {RULE}"
                    ),
                )
            }),
            Err(e) => Some(Decision::deny(
                RULE,
                format!(
                    "{e}: the write cannot be judged by what this session read, so it was not run"
                ),
            )),
        }
    }

    /// Adds a result's reads, and the sources of the untrusted texts it showed, to the
    /// session's flow record. Fails closed: a result whose reads cannot be recorded is
    /// withheld, since a later write would be judged without them.
    async fn record_reads(
        &self,
        reads: Vec<Resource>,
        untrusted_sources: Vec<Option<String>>,
    ) -> Result<(), ToolError> {
        if self.kernel.config.flow.cross_resource_writes == CrossResourceWrites::Allow
            || (reads.is_empty() && untrusted_sources.is_empty())
        {
            return Ok(());
        }
        let first_read = reads.first().map_or_else(
            || format!("{}:(unnamed)", self.upstream.upstream_name()),
            |r| r.id.clone(),
        );
        let mut untrusted: BTreeMap<String, u64> = BTreeMap::new();
        for source in untrusted_sources {
            *untrusted
                .entry(source.unwrap_or_else(|| first_read.clone()))
                .or_default() += 1;
        }
        let untrusted: Vec<(String, u64)> = untrusted.into_iter().collect();
        let store = self.kernel.flow.clone();
        off_the_runtime(move || store.add(&reads, &untrusted))
            .await
            .map_err(|e| {
                ToolError::Unavailable(format!(
                    "the result was withheld: {e}. Writes are judged by what the session read \
                 (flow.cross_resource_writes), so every read must be recorded; fix the state \
                 directory's permissions or free disk space"
                ))
            })
    }

    /// Runs one governed call. `arguments` is the request's `arguments` as sent (`null` when
    /// absent). Protocol errors only for unknown (or hidden) tools, and for arguments that are
    /// not an object (-32602, journaled like any refused call).
    pub async fn governed_call(
        &self,
        name: &str,
        arguments: Value,
        tool_use_id: Option<String>,
    ) -> Result<CallToolResult, McpError> {
        let started = Instant::now();
        let unknown = || McpError::invalid_params(format!("unknown tool: {name}"), None);
        let spec = self
            .upstream
            .tools()
            .iter()
            .find(|s| s.name == name)
            .ok_or_else(unknown)?;
        let args = match arguments {
            Value::Null => Value::Object(Default::default()),
            other => other,
        };
        let caller = self.caller().await;
        let mut record = CallRecord {
            spec,
            call_id: uuid::Uuid::now_v7().to_string(),
            caller,
            parameters: args.clone(),
            tool_use_id,
            decision: self.decide(spec),
            resources: BTreeMap::new(),
        };
        if !record.decision.allowed {
            // Hidden: the caller gets the unknown-tool answer, the journal gets the attempt.
            let denied = ToolError::Denied(record.decision.clone());
            self.record_outcome(&record, started, Err(&denied), Cleaned::default())
                .await;
            return Err(unknown());
        }
        if !args.is_object() {
            let error = ToolError::InvalidArguments(format!(
                "{name}: arguments must be a JSON object of the tool's parameters"
            ));
            record.parameters = Value::Null;
            self.record_outcome(&record, started, Err(&error), Cleaned::default())
                .await;
            return Err(McpError::invalid_params(error.to_string(), None));
        }
        let fail = async |record: &CallRecord<'_>, error: ToolError| {
            let (error, cleaned) = error.cleaned();
            let note = self
                .record_outcome(record, started, Err(&error), cleaned)
                .await;
            Ok(error_result(&error, note))
        };
        let size = serde_json::to_vec(&args).map_or(0, |v| v.len());
        let limit = self.kernel.config.safety.max_argument_bytes;
        if size > limit {
            record.parameters = Value::Null;
            return fail(
                &record,
                ToolError::InvalidArguments(format!(
                    "{name}: the arguments are {size} bytes; the limit is {limit} bytes (safety.max_argument_bytes)"
                )),
            )
            .await;
        }
        // Before the server sees the call, so that no scope check's read goes out either.
        if spec.access == Access::Write
            && self.kernel.config.safety.block_outgoing_secrets
            && let Some(decision) = outgoing_secrets(name, &args)
        {
            record.decision = decision.clone();
            return fail(&record, ToolError::Denied(decision)).await;
        }
        let call = match self.upstream.parse(spec.name, args) {
            Ok(call) => call,
            Err(e) => return fail(&record, e).await,
        };
        let (plan, target) = match self.upstream.authorize(call, &record.caller).await {
            Ok(authorization) => {
                let (verdict, resources, target) = authorization.into_parts();
                record.resources = resources;
                match verdict {
                    Ok((rule, plan)) => {
                        if !rule.is_empty() {
                            record.decision = Decision::allow(rule);
                        }
                        (plan, target)
                    }
                    Err(decision) => {
                        record.decision = decision.clone();
                        return fail(&record, ToolError::Denied(decision)).await;
                    }
                }
            }
            Err(e) => return fail(&record, e).await,
        };
        if spec.access == Access::Write
            && let Some(decision) = self.flow_decision(target).await
        {
            record.decision = decision.clone();
            return fail(&record, ToolError::Denied(decision)).await;
        }
        if spec.access == Access::Write {
            // Fail closed: no write runs unless its intent is durably on disk.
            let intent = self.event(&record, Phase::Intent);
            let written = match &self.kernel.journal {
                Ok(journal) => match journal.writable() {
                    Ok(()) => journal.append_async(intent, true).await.map(|_| ()),
                    Err(e) => Err(e),
                }
                .map_err(|e| e.to_string()),
                Err(e) => Err(e.clone()),
            };
            if let Err(e) = written {
                return Ok(error_result(
                    &ToolError::Unavailable(format!(
                        "{name} was not run: its intent could not be recorded ({e}). Writes need a \
                         working audit journal; fix the path's permissions or free disk space, or \
                         set audit.dir in the config."
                    )),
                    None,
                ));
            }
        }
        match self.upstream.execute(plan, &record.caller).await {
            Ok(mut output) => {
                let provenance = apply_provenance(
                    &mut output.value,
                    &output.untrusted,
                    self.kernel.config.trust.untrusted_content,
                );
                for (key, count) in [
                    ("untrusted_marked", provenance.marked),
                    ("untrusted_withheld", provenance.withheld),
                ] {
                    if count > 0 {
                        record.resources.insert(key.into(), count.into());
                    }
                }
                record.resources.extend(output.resources);
                let cleaned = clean_json(&mut output.value, Scrub::Held);
                let mut text = serde_json::to_string(&output.value).unwrap_or_default();
                let mut shown = (output.reads, provenance.marked_sources);
                if text.len() > RESULT_BUDGET_BYTES {
                    // A safety net: each server bounds its own results below the budget. The
                    // model sees none of this result, so the session has read none of it.
                    record
                        .resources
                        .insert("result_bytes".into(), text.len().into());
                    record.resources.insert("over_budget".into(), true.into());
                    output.value = over_budget(text.len());
                    text = serde_json::to_string(&output.value).unwrap_or_default();
                    shown = Default::default();
                }
                if let Err(e) = self.record_reads(shown.0, shown.1).await {
                    return fail(&record, e).await;
                }
                let note = self.record_outcome(&record, started, Ok(()), cleaned).await;
                let mut result = CallToolResult::structured(output.value);
                result.content = vec![Content::text(text)];
                if let Some(note) = note {
                    result.content.push(Content::text(note));
                }
                Ok(result)
            }
            Err(e) => fail(&record, e).await,
        }
    }
}

/// A tool as the binary defines it: name, title, description, input schema, annotations.
fn definition(spec: &ToolSpec) -> Tool {
    let mut annotations = ToolAnnotations::new()
        .read_only(spec.access != Access::Write)
        .destructive(false)
        .idempotent(spec.idempotent)
        .open_world(true);
    annotations.title = Some(spec.title.to_owned());
    let mut tool =
        Tool::new(spec.name, spec.description, spec.input_schema.clone()).annotate(annotations);
    tool.title = Some(spec.title.to_owned());
    tool
}

/// Runs a blocking file operation of the flow record on tokio's blocking pool, so that no
/// async worker waits on the disk or a lock.
async fn off_the_runtime<T: Send + 'static>(
    operation: impl FnOnce() -> Result<T, crate::flow::FlowError> + Send + 'static,
) -> Result<T, String> {
    match tokio::task::spawn_blocking(operation).await {
        Ok(done) => done.map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    }
}

/// What the model gets instead of a result of `bytes` bytes, over [`RESULT_BUDGET_BYTES`]:
/// nothing of it (arbitrary JSON is not cut), and how to ask for less.
fn over_budget(bytes: usize) -> Value {
    serde_json::json!({
        "truncated": true,
        "note": format!(
            "The result was {bytes} bytes, over the budget of {RESULT_BUDGET_BYTES} bytes a \
             result may take in the model's context, so none of it was returned. Narrow the \
             call: a smaller page size, a narrower range or offset, or a path."
        ),
    })
}

fn error_result(error: &ToolError, note: Option<String>) -> CallToolResult {
    let mut content = vec![Content::text(error.to_string())];
    if let Some(note) = note {
        content.push(Content::text(note));
    }
    CallToolResult::error(content)
}

impl<U: Upstream> ServerHandler for GovernedServer<U> {
    fn get_info(&self) -> ServerConfig {
        let mut info = ServerConfig::new(ServerCapabilities::builder().enable_tools().build());
        info.server_info =
            Implementation::new(self.upstream.server_name(), env!("CARGO_PKG_VERSION"));
        info.instructions = Some(self.upstream.instructions());
        info
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        self.sso_caller().await;
        Ok(ListToolsResult::with_all_items(self.visible_tools()))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let tool_use_id = context
            .meta
            .get("claudecode/toolUseId")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let arguments = request.arguments.map_or(Value::Null, Value::Object);
        self.governed_call(&request.name, arguments, tool_use_id)
            .await
            .map(CallToolResponse::from)
    }
}
