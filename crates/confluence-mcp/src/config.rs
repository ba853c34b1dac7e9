//! The `[confluence]` section of the config file, which this crate owns (the kernel only hands
//! it over): the site, sensitive spaces and who may see them, and what locks a page.

use std::collections::BTreeMap;

use atlassian::Deployment;
use governance::config::{ConfigError, Section, env_parse, env_url};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The Confluence server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ConfluenceConfig {
    /// Site base URL including the context path: `https://SITE.atlassian.net/wiki` (Cloud) or
    /// `https://confluence.corp.example` (Data Center). `CONFLUENCE_URL` overrides it.
    pub url: Option<String>,
    /// `cloud` (default) or `datacenter`. `CONFLUENCE_DEPLOYMENT` overrides it.
    pub deployment: Deployment,
    /// Sensitive spaces: space key -> the roles that may see it. Other roles never see these
    /// spaces (excluded from CQL, filtered from results, refused by id).
    pub sensitive_spaces: BTreeMap<String, Vec<String>>,
    /// Pages carrying one of these labels refuse updates.
    pub locked_labels: Vec<String>,
    /// Pages in one of these content states refuse updates.
    pub locked_states: Vec<String>,
    /// Most results one search returns.
    pub max_results: u32,
    /// Timeout of one upstream request, in seconds.
    pub timeout_secs: u64,
    /// Retries of a 5xx or transport failure on reads, with exponential backoff.
    pub max_retries: u32,
    /// Longest `Retry-After` of a 429 that is waited out; longer ones are reported.
    pub max_retry_after_secs: u64,
}

impl Default for ConfluenceConfig {
    fn default() -> Self {
        Self {
            url: None,
            deployment: Deployment::Cloud,
            sensitive_spaces: BTreeMap::new(),
            locked_labels: vec!["approved".to_owned(), "locked".to_owned()],
            locked_states: vec!["Approved".to_owned(), "Verified".to_owned()],
            max_results: 25,
            timeout_secs: 30,
            max_retries: 3,
            max_retry_after_secs: 10,
        }
    }
}

impl Section for ConfluenceConfig {
    const NAME: &'static str = "confluence";

    fn apply_env(&mut self) -> Result<(), ConfigError> {
        if let Some(url) = env_url("CONFLUENCE_URL")? {
            self.url = Some(url);
        }
        if let Some(deployment) = env_parse("CONFLUENCE_DEPLOYMENT")? {
            self.deployment = deployment;
        }
        Ok(())
    }
}
