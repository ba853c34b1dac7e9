//! The `[github]` section of the config file, which this crate owns (the kernel only hands it
//! over): the API URL, read and write scopes, timeouts and retries.

use governance::config::{ConfigError, Section, env_url};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The GitHub server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct GithubConfig {
    /// REST API base URL: `https://api.github.com`, or `https://HOST/api/v3` for GitHub
    /// Enterprise Server. `GITHUB_API_URL` in the environment overrides it.
    pub api_url: String,
    /// `owner/repo` globs the user may read (`acme/*`). Empty: every repository the token sees.
    /// Search hits outside it are filtered out.
    pub read_scope: Vec<String>,
    /// `owner/repo` globs the user may open pull requests and comment on, in addition to the
    /// repositories of their GitHub teams.
    pub write_scope: Vec<String>,
    /// Add the repositories of the user's GitHub teams to the write scope.
    pub write_scope_from_teams: bool,
    /// Timeout of one upstream request, in seconds.
    pub timeout_secs: u64,
    /// Retries of a 5xx or transport failure, with exponential backoff.
    pub max_retries: u32,
    /// Longest wait for a rate-limit reset before the call gives up and reports the reset time.
    pub max_rate_limit_wait_secs: u64,
}

impl Default for GithubConfig {
    fn default() -> Self {
        Self {
            api_url: "https://api.github.com".to_owned(),
            read_scope: Vec::new(),
            write_scope: Vec::new(),
            write_scope_from_teams: true,
            timeout_secs: 30,
            max_retries: 3,
            max_rate_limit_wait_secs: 10,
        }
    }
}

impl Section for GithubConfig {
    const NAME: &'static str = "github";

    fn apply_env(&mut self) -> Result<(), ConfigError> {
        if let Some(url) = env_url("GITHUB_API_URL")? {
            self.api_url = url;
        }
        Ok(())
    }
}
