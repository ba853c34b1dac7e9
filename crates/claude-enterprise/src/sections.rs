//! Every config section outside the kernel, from the crates that own them: the one place that
//! links them all, so that `config check` can tell a section no server reads (a typo) and
//! `config schema` can describe the whole file.

use governance::config::{Config, ConfigError, Section};

use aws_mcp::config::AwsConfig;
use confluence_mcp::config::ConfluenceConfig;
use github_mcp::config::GithubConfig;
use jira_mcp::config::JiraConfig;

use crate::hook::HooksConfig;

/// The names of every section a server (or this CLI's `hook`) owns.
pub const NAMES: [&str; 5] = [
    GithubConfig::NAME,
    AwsConfig::NAME,
    JiraConfig::NAME,
    ConfluenceConfig::NAME,
    HooksConfig::NAME,
];

/// Each section's name and JSON Schema.
pub fn schemas() -> Vec<(&'static str, schemars::Schema)> {
    fn schema<S: Section>() -> (&'static str, schemars::Schema) {
        (S::NAME, schemars::schema_for!(S))
    }
    vec![
        schema::<GithubConfig>(),
        schema::<AwsConfig>(),
        schema::<JiraConfig>(),
        schema::<ConfluenceConfig>(),
        schema::<HooksConfig>(),
    ]
}

/// The JSON Schema of the whole config file.
pub fn json_schema() -> serde_json::Value {
    Config::json_schema(&schemas())
}

/// Reads every section as its server would, and refuses a section no server owns.
pub fn check(config: &Config) -> Result<(), ConfigError> {
    config.section::<GithubConfig>()?;
    config.section::<AwsConfig>()?;
    config.section::<JiraConfig>()?;
    config.section::<ConfluenceConfig>()?;
    let hooks = config.section::<HooksConfig>()?;
    crate::hook::validate(&hooks).map_err(|e| ConfigError::Invalid {
        path: "config".into(),
        line: 0,
        message: e.to_string(),
    })?;
    // Loading added the files without compiling them (start-up stays cheap): every pattern
    // is compiled here, so that a rule that cannot run is found before it misses a secret.
    for path in &config.safety.secret_rules {
        governance::content::secrets::check_rule_file(path).map_err(|e| ConfigError::Invalid {
            path: "config".into(),
            line: 0,
            message: format!("safety.secret_rules: {e}"),
        })?;
    }
    if let Some(unknown) = config.unclaimed_sections(&NAMES).next() {
        return Err(ConfigError::Invalid {
            path: "config".into(),
            line: 0,
            message: format!(
                "unknown section [{unknown}]: the sections are [identity], [sso], [keychain], \
                 [oauth], [policy], [audit], [safety], [{}]",
                NAMES.join("], [")
            ),
        });
    }
    Ok(())
}
