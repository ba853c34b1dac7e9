//! The `[jira]` section of the config file, which this crate owns (the kernel only hands it
//! over): the site, the project allowlist, the financial fields and who may see them.

use atlassian::Deployment;
use governance::config::{ConfigError, Section, env_parse, env_url};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The Jira server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct JiraConfig {
    /// Site base URL: `https://SITE.atlassian.net` (Cloud) or `https://jira.corp.example`
    /// (Data Center). `JIRA_URL` in the environment overrides it. Unset: calls answer with
    /// how to set it.
    pub url: Option<String>,
    /// `cloud` (default) or `datacenter`. `JIRA_DEPLOYMENT` overrides it.
    pub deployment: Deployment,
    /// Project keys the user may reach. Empty: every project the credentials see. AND-ed into
    /// every JQL query and checked on every call that names an issue or project.
    pub projects: Vec<String>,
    /// Financial fields, by id (`customfield_10050`) or name (`Budget`): masked in results,
    /// refused in writes and in JQL for roles outside `financial_roles`.
    pub financial_fields: Vec<String>,
    /// Roles that may see and set the financial fields.
    pub financial_roles: Vec<String>,
    /// Most issues one search returns.
    pub max_results: u32,
    /// Timeout of one upstream request, in seconds.
    pub timeout_secs: u64,
    /// Retries of a 5xx or transport failure on reads, with exponential backoff.
    pub max_retries: u32,
    /// Longest `Retry-After` of a 429 that is waited out; longer ones are reported.
    pub max_retry_after_secs: u64,
}

impl Default for JiraConfig {
    fn default() -> Self {
        Self {
            url: None,
            deployment: Deployment::Cloud,
            projects: Vec::new(),
            financial_fields: Vec::new(),
            financial_roles: vec!["portfolio".to_owned()],
            max_results: 50,
            timeout_secs: 30,
            max_retries: 3,
            max_retry_after_secs: 10,
        }
    }
}

impl Section for JiraConfig {
    const NAME: &'static str = "jira";

    fn apply_env(&mut self) -> Result<(), ConfigError> {
        if let Some(url) = env_url("JIRA_URL")? {
            self.url = Some(url);
        }
        if let Some(deployment) = env_parse("JIRA_DEPLOYMENT")? {
            self.deployment = deployment;
        }
        Ok(())
    }
}
