//! The governed Jira MCP server: [`JiraServer`] is the [`Upstream`] the kernel wraps.
//!
//! This file is the server and its `Upstream` impl; the two halves of a call live beside it:
//! `authorize` runs every check that needs Jira and makes a [`Plan`] of what it established,
//! `execute` runs that plan. Jira-specific in them:
//! - the project allowlist (`jira.projects`), AND-ed into every JQL query and checked on every
//!   call that names an issue or project, and again on what Jira answers: before every write
//!   the issue is read and the key Jira resolves is checked (an old key of a moved issue
//!   resolves to its new project), and the write goes to the issue so resolved;
//! - financial fields (`jira.financial_fields`): resolved once per call through Jira's field
//!   list, refused in JQL and writes and masked in every result for roles outside
//!   `jira.financial_roles`, failing closed when the field list cannot be read;
//! - transitions audited with their from- and to-status, created keys as `issue_key`;
//! - the session's flow record: every read declares the projects it showed (`jira:PROJ`),
//!   every write the project it changes, and the comments of service-desk customers (and a
//!   customer reporter's summary and description) are declared as untrusted text (Cloud only:
//!   Data Center's users carry no `accountType`).
//!
//! Not here: argument shapes and bounds (`tools`), reading JQL (`jql`), what a field reference
//! means and the financial policy's checks and masking (`fields`), the plan's shape (`plan`),
//! how answers are trimmed (`view`), the config section (`config`); the HTTP client and
//! document formats (`atlassian`), role policy and auditing (`governance`).

mod authorize;
pub mod config;
mod execute;
pub mod fields;
pub mod jql;
mod plan;
pub mod tools;
mod view;

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use atlassian::{
    AtlassianClient, AtlassianError, Credential, Deployment, OAuthRefresh, Product, Site, adf, wiki,
};
use config::JiraConfig;
use governance::{
    identity::Caller,
    server::{Authorization, ToolError, ToolOutput, ToolSpec, Upstream},
};
use serde_json::{Value, json};
use tokio::sync::Mutex;

use crate::{fields::FieldMeta, plan::Step, tools::Call};
pub use crate::{fields::MASK, plan::Plan};

/// How long Jira's field list is trusted before it is read again.
const FIELD_CACHE_TTL: Duration = Duration::from_secs(600);

/// The Jira upstream.
pub struct JiraServer {
    client: AtlassianClient,
    config: JiraConfig,
    specs: Vec<ToolSpec>,
    fields: Mutex<Option<(Instant, Arc<FieldMeta>)>>,
}

impl JiraServer {
    /// Builds the server from its config section, a credential (environment or keychain) and
    /// where an OAuth grant is refreshed.
    pub fn new(
        config: JiraConfig,
        credential: Option<Credential>,
        refresh: OAuthRefresh,
    ) -> Result<Self, AtlassianError> {
        let site = Site {
            product: Product::Jira,
            base_url: config.url.clone(),
            deployment: config.deployment,
            timeout: Duration::from_secs(config.timeout_secs),
            max_retries: config.max_retries,
            max_retry_after: Duration::from_secs(config.max_retry_after_secs),
        };
        Ok(Self {
            client: AtlassianClient::new(site, credential)?.with_oauth_refresh(refresh),
            config,
            specs: tools::specs(),
            fields: Mutex::new(None),
        })
    }

    fn cloud(&self) -> bool {
        self.config.deployment == Deployment::Cloud
    }

    /// The platform REST API base path: v3 on Cloud, v2 on Data Center.
    fn api(&self) -> &'static str {
        if self.cloud() {
            "/rest/api/3"
        } else {
            "/rest/api/2"
        }
    }

    async fn field_meta(&self) -> Result<Arc<FieldMeta>, ToolError> {
        let mut cache = self.fields.lock().await;
        if let Some((at, meta)) = cache.as_ref()
            && at.elapsed() < FIELD_CACHE_TTL
        {
            return Ok(meta.clone());
        }
        let list = self
            .client
            .get(&format!("{}/field", self.api()), &[], "the field list")
            .await
            .map_err(upstream)?;
        let meta = Arc::new(FieldMeta::from_list(&list));
        *cache = Some((Instant::now(), meta.clone()));
        Ok(meta)
    }

    fn sees_financial(&self, caller: &Caller) -> bool {
        self.config.financial_fields.is_empty()
            || caller
                .roles
                .iter()
                .any(|r| self.config.financial_roles.contains(r))
    }
    /// Markdown as the document format this deployment stores.
    fn write_document(&self, markdown: &str) -> Value {
        if self.cloud() {
            adf::from_markdown(markdown)
        } else {
            wiki::from_markdown(markdown).into()
        }
    }

    fn user_ref(&self, user: &str) -> Value {
        if self.cloud() {
            json!({"accountId": user})
        } else {
            json!({"name": user})
        }
    }
}

impl Upstream for JiraServer {
    type Call = Call;
    type Plan = Plan;

    fn server_name(&self) -> &'static str {
        "jira-mcp"
    }

    fn upstream_name(&self) -> &'static str {
        "jira"
    }

    fn tools(&self) -> &[ToolSpec] {
        &self.specs
    }

    fn instructions(&self) -> String {
        let site = self.config.url.as_deref().unwrap_or("(no site configured)");
        let mut text = format!(
            "Jira at {site} under the company's policy. Descriptions and comments are Markdown. \
             There is no delete tool. Every call is audited."
        );
        if !self.config.projects.is_empty() {
            text.push_str(&format!(
                " Only the projects {} are reachable; searches are limited to them.",
                self.config.projects.join(", ")
            ));
        }
        text
    }

    fn parse(&self, tool: &str, args: Value) -> Result<Call, ToolError> {
        tools::parse(tool, args)
    }

    async fn authorize(
        &self,
        call: Call,
        caller: &Caller,
    ) -> Result<Authorization<Plan>, ToolError> {
        self.authorize_call(call, caller).await
    }
    async fn execute(&self, plan: Plan, _caller: &Caller) -> Result<ToolOutput, ToolError> {
        let Plan { step, context } = plan;
        let ctx = &context;
        match step {
            Step::Search { args, jql, extras } => self.search(args, jql, extras, ctx).await,
            Step::GetIssue { args, extras } => self.get_issue(args, extras, ctx).await,
            Step::Create { fields, what, .. } => self.create_issue(fields, &what).await,
            Step::Update { issue, fields } => self.update_issue(issue, fields).await,
            Step::Comment { issue, args } => self.add_comment(issue, args).await,
            Step::Transition { issue, from, args } => self.transition(issue, from, args).await,
            Step::GetProject { key } => self.get_project(&key).await,
            Step::GetBoard {
                board_id,
                max_issues,
                start_at,
            } => self.get_board(board_id, max_issues, start_at, ctx).await,
        }
    }

    async fn whoami(&self) -> Option<String> {
        if let Some(email) = atlassian::credential_email(self.client.credential()?) {
            return Some(email.to_owned());
        }
        let me = self
            .client
            .get(&format!("{}/myself", self.api()), &[], "your Jira account")
            .await
            .ok()?;
        me["emailAddress"]
            .as_str()
            .or_else(|| me["name"].as_str())
            .or_else(|| me["accountId"].as_str())
            .map(str::to_owned)
    }
}

/// An Atlassian failure as the kernel reports it, by the HTTP status that names it.
pub(crate) fn upstream(error: AtlassianError) -> ToolError {
    ToolError::from_http_status(error.http_status(), error.to_string())
}
