//! The governed pipeline around an MCP server: the **API boundary** every server crate uses.
//!
//! A server crate implements [`Upstream`]: its tool table, argument parsing into a typed call,
//! the scope checks that need upstream facts, and the execution. [`GovernedServer`] wraps it in
//! an rmcp `ServerHandler` that filters `tools/list` by policy, checks every `tools/call`,
//! writes the intent (fsync'd, before any write runs) and the outcome to the journal, strips
//! hidden characters from upstream text, and maps errors to what a user can act on. A server
//! crate never writes audit events or decides role policy itself.

pub mod budget;
mod pipeline;
mod transport;

use std::{collections::BTreeMap, future::Future, sync::Arc};

use rmcp::model::JsonObject;
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde_json::Value;

pub use crate::audit::Access;
use crate::{
    content::{Cleaned, Scrub, clean_text},
    flow::{Resource, UntrustedText},
    identity::Caller,
    policy::Decision,
};
pub use pipeline::{GovernedServer, Kernel, KernelError};
pub use transport::{
    ServeError, init_logging, install_crypto_provider, runtime_for, serve, serve_http, serve_lines,
    serve_stdio, serve_upstream,
};

/// The most a successful tool result may take, in bytes of its serialized JSON.
///
/// Claude Code refuses or cuts an MCP result over `MAX_MCP_OUTPUT_TOKENS` (25,000 tokens by
/// default), and counts the text block the model gets (the same JSON as `structuredContent`).
/// Tokens are about four bytes of English prose but nearer three of JSON and code, so the
/// budget assumes a conservative ~2.5 bytes per token for dense JSON (62,500 bytes) less a
/// margin: 60,000 bytes. Every server bounds its own results below it, with a `truncated`
/// marker and the argument that fetches the rest; the pipeline withholds any result over it
/// as a last line of defence (`over_budget` in the journal).
pub const RESULT_BUDGET_BYTES: usize = 60_000;

/// One tool as the server declares it.
#[derive(Debug, Clone)]
pub struct ToolSpec {
    /// MCP tool name (`github_create_pull_request`).
    pub name: &'static str,
    /// Human title.
    pub title: &'static str,
    /// What the model reads to choose the tool.
    pub description: &'static str,
    /// Read or write: decides fsync'd intents, confirmations and annotations.
    pub access: Access,
    /// Calling twice with the same arguments changes nothing more.
    pub idempotent: bool,
    /// JSON Schema of the arguments.
    pub input_schema: Arc<JsonObject>,
}

impl ToolSpec {
    /// A tool whose arguments are `P`.
    pub fn new<P: JsonSchema + 'static>(
        name: &'static str,
        title: &'static str,
        description: &'static str,
        access: Access,
    ) -> Self {
        Self {
            name,
            title,
            description,
            access,
            idempotent: access == Access::Read,
            input_schema: rmcp::handler::server::common::schema_for_type::<P>(),
        }
    }

    /// The audit `action`: the tool name without its upstream prefix.
    pub fn action(&self) -> &'static str {
        self.name
            .split_once('_')
            .map_or(self.name, |(_, rest)| rest)
    }
}

/// The tool table as JSON (`name`, `title`, `access`), what a server prints with `--tools` so
/// that the CLI can explain policy without linking every upstream's SDK.
pub fn tool_catalog(specs: &[ToolSpec]) -> Value {
    specs
        .iter()
        .map(|s| serde_json::json!({"name": s.name, "title": s.title, "access": s.access}))
        .collect()
}

/// What every server binary takes on its command line (each binary's doc comment is its
/// `--help`): `#[command(flatten)]` it into the binary's own arguments.
#[derive(Debug, clap::Args)]
pub struct ServerArgs {
    /// Serve streamable HTTP at http://ADDR/mcp instead of stdio.
    #[arg(long, value_name = "ADDR")]
    pub http: Option<std::net::SocketAddr>,
    /// Print the tool table as JSON and exit.
    #[arg(long)]
    pub tools: bool,
}

impl ServerArgs {
    /// With `--tools`, prints the table of `specs` ([`tool_catalog`]) and answers true: the
    /// binary then exits without reading its config or credentials.
    pub fn printed_tools(&self, specs: impl FnOnce() -> Vec<ToolSpec>) -> bool {
        if self.tools {
            println!("{}", tool_catalog(&specs()));
        }
        self.tools
    }
}

/// Parses a tool's arguments into its typed parameters, or says what is wrong with them.
pub fn parse_args<P: DeserializeOwned>(tool: &str, args: Value) -> Result<P, ToolError> {
    serde_json::from_value(args).map_err(|e| ToolError::InvalidArguments(format!("{tool}: {e}")))
}

/// What a tool returns.
#[derive(Debug, Clone, Default)]
pub struct ToolOutput {
    /// The structured result (an object), trimmed to what a model needs.
    pub value: Value,
    /// Resource keys for the audit event (`repo`, `pull_number`, `issue_key`, ...).
    pub resources: BTreeMap<String, Value>,
    /// What the call read, for the session's flow record.
    pub reads: Vec<Resource>,
    /// Strings of `value` written outside the organisation: the kernel marks or withholds
    /// them (`trust.untrusted_content`) and records them in the session's flow record.
    pub untrusted: Vec<UntrustedText>,
}

impl ToolOutput {
    /// A result with no extra audit keys.
    pub fn new(value: Value) -> Self {
        Self {
            value,
            ..Self::default()
        }
    }

    /// Adds an audit key.
    pub fn with_resource(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.resources.insert(key.to_owned(), value.into());
        self
    }

    /// Records that the call read `resource`.
    pub fn reading(mut self, resource: Resource) -> Self {
        self.reads.push(resource);
        self
    }

    /// Declares strings of the result written outside the organisation.
    pub fn with_untrusted(mut self, texts: Vec<UntrustedText>) -> Self {
        self.untrusted.extend(texts);
        self
    }
}

/// What a server's own scope checks concluded about one call, before anything is sent upstream.
///
/// An allowed call carries the server's `plan`: the call together with every fact the checks
/// established (the page read and found unlocked, the resolved field ids, the credential
/// source). [`Upstream::execute`] takes only a plan, so nothing reaches the upstream without
/// the checks, and nothing the checks learned has to be learned again.
#[derive(Debug)]
pub struct Authorization<P> {
    verdict: Verdict<P>,
    resources: BTreeMap<String, Value>,
    target: Option<Resource>,
}

#[derive(Debug)]
enum Verdict<P> {
    Allow { rule: String, plan: P },
    Deny(Decision),
}

impl<P> Authorization<P> {
    /// An allow by no scope rule (the tool policy's decision stands), touching `resources`.
    pub fn unscoped(resources: BTreeMap<String, Value>, plan: P) -> Self {
        Self::allow("", resources, plan)
    }

    /// An allow by `rule`, touching `resources`.
    pub fn allow(rule: &str, resources: BTreeMap<String, Value>, plan: P) -> Self {
        Self {
            verdict: Verdict::Allow {
                rule: rule.to_owned(),
                plan,
            },
            resources,
            target: None,
        }
    }

    /// Names the resource a write changes, for the session's flow check. A write that names
    /// none is judged as a write to a resource the session has not read.
    pub fn writing_to(mut self, target: Resource) -> Self {
        self.target = Some(target);
        self
    }

    /// A refusal by `rule`, for the audit trail touching `resources`.
    pub fn deny(rule: &str, reason: impl Into<String>, resources: BTreeMap<String, Value>) -> Self {
        Self::denied(Decision::deny(rule, reason.into()), resources)
    }

    /// A refusal by a decision already made (it must not allow).
    pub fn denied(decision: Decision, resources: BTreeMap<String, Value>) -> Self {
        debug_assert!(!decision.allowed, "a denial that allows");
        Self {
            verdict: Verdict::Deny(Decision {
                allowed: false,
                ..decision
            }),
            resources,
            target: None,
        }
    }

    /// The resource keys the checks touched.
    pub fn resources(&self) -> &BTreeMap<String, Value> {
        &self.resources
    }

    /// Whether the call may run.
    pub fn is_allowed(&self) -> bool {
        matches!(self.verdict, Verdict::Allow { .. })
    }

    /// The rule, the plan (when allowed) or the refusal, the resources, and the write's target.
    #[expect(clippy::type_complexity, reason = "taken apart once, by the pipeline")]
    pub(crate) fn into_parts(
        self,
    ) -> (
        Result<(String, P), Decision>,
        BTreeMap<String, Value>,
        Option<Resource>,
    ) {
        let verdict = match self.verdict {
            Verdict::Allow { rule, plan } => Ok((rule, plan)),
            Verdict::Deny(decision) => Err(decision),
        };
        (verdict, self.resources, self.target)
    }
}

/// Why a tool call failed, as the user and the audit trail see it.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ToolError {
    /// The arguments do not fit the tool's schema, or break one of its limits.
    #[error("invalid arguments: {0}")]
    InvalidArguments(String),
    /// A policy rule refused the call. The caller reads the decision's `shown` text when it
    /// has one, else the rule and the reason.
    #[error("{}", denial_text(.0))]
    Denied(Decision),
    /// The thing asked for does not exist (or the token cannot see it).
    #[error("{0}")]
    NotFound(String),
    /// No credentials, or the upstream rejected them; says which command fixes it.
    #[error("{0}")]
    Unauthorized(String),
    /// The upstream refused or failed; the message is the upstream's, made readable.
    #[error("{0}")]
    Upstream(String),
    /// Something on this machine failed (the journal, a timeout budget).
    #[error("{0}")]
    Unavailable(String),
}

fn denial_text(decision: &Decision) -> String {
    match &decision.shown {
        Some(shown) => shown.clone(),
        None => format!(
            "denied by policy rule `{}`: {}",
            decision.rule, decision.reason
        ),
    }
}

impl ToolError {
    /// The same error with its message cleaned like every string that leaves the process:
    /// upstream error bodies can echo credentials and carry hidden characters.
    pub(crate) fn cleaned(mut self) -> (Self, Cleaned) {
        let text = match &mut self {
            ToolError::InvalidArguments(text)
            | ToolError::NotFound(text)
            | ToolError::Unauthorized(text)
            | ToolError::Upstream(text)
            | ToolError::Unavailable(text) => text,
            ToolError::Denied(decision) => {
                let mut cleaned = clean_text(&mut decision.reason, Scrub::All);
                if let Some(shown) = &mut decision.shown {
                    cleaned += clean_text(shown, Scrub::All);
                }
                return (self, cleaned);
            }
        };
        let cleaned = clean_text(text, Scrub::All);
        (self, cleaned)
    }

    /// An upstream's failure by the HTTP status that names it (the upstream's answer, or the
    /// status a client gives a failure without one), so that a client crate needs no kernel
    /// type: 401 credentials, 404 not found, 400 and 422 the request, anything else the
    /// upstream's failure.
    pub fn from_http_status(status: u16, message: String) -> Self {
        match status {
            401 => ToolError::Unauthorized(message),
            404 => ToolError::NotFound(message),
            400 | 422 => ToolError::InvalidArguments(message),
            _ => ToolError::Upstream(message),
        }
    }

    /// `denied` for policy refusals, `error` otherwise: the audit `result`.
    pub fn audit_result(&self) -> &'static str {
        match self {
            ToolError::Denied(_) => "denied",
            _ => "error",
        }
    }
}

/// One upstream (GitHub, Jira, ...) as a governed server sees it.
pub trait Upstream: Send + Sync + 'static {
    /// The typed call, parsed from a tool name and its arguments.
    type Call: Send + 'static;

    /// What [`Upstream::authorize`] hands to [`Upstream::execute`]: the call with what its checks
    /// established. Only `authorize` makes one.
    type Plan: Send + 'static;

    /// Binary name, for `serverInfo` and the audit event (`github-mcp`).
    fn server_name(&self) -> &'static str;

    /// The upstream's short name, the audit `tool` (`github`).
    fn upstream_name(&self) -> &'static str;

    /// Every tool the binary has. No tool that deletes, pushes or merges may appear here.
    fn tools(&self) -> &[ToolSpec];

    /// Instructions for the model, sent at initialization.
    fn instructions(&self) -> String;

    /// A deny when the upstream's own state hides a tool from everyone in this process (an AWS
    /// production account exposes only metrics and logs). Hidden tools answer like unknown ones.
    fn tool_gate(&self, _tool: &str) -> Option<Decision> {
        None
    }

    /// Parses a call of the named tool (one of [`Upstream::tools`]).
    fn parse(&self, tool: &str, args: Value) -> Result<Self::Call, ToolError>;

    /// The server's own scope checks; may read the upstream (team membership, the page about
    /// to be updated) but never write. An allowed call comes back as the plan `execute` runs.
    fn authorize(
        &self,
        call: Self::Call,
        caller: &Caller,
    ) -> impl Future<Output = Result<Authorization<Self::Plan>, ToolError>> + Send;

    /// Runs an authorized plan against the upstream.
    fn execute(
        &self,
        plan: Self::Plan,
        caller: &Caller,
    ) -> impl Future<Output = Result<ToolOutput, ToolError>> + Send;

    /// The upstream's name for the token's owner, when `identity.user` is unset.
    fn whoami(&self) -> impl Future<Output = Option<String>> + Send;
}
