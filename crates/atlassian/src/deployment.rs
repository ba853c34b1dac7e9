//! Which Atlassian product line a site runs: what the Jira and Confluence sections share.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Which Atlassian product line a site runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Deployment {
    /// Atlassian Cloud (`https://SITE.atlassian.net`): REST v3 / v2, ADF, API token + e-mail.
    #[default]
    Cloud,
    /// Jira / Confluence Data Center or Server: REST v2 / v1, wiki markup, personal access token.
    Datacenter,
}

impl std::str::FromStr for Deployment {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, String> {
        match value {
            "cloud" => Ok(Deployment::Cloud),
            "datacenter" => Ok(Deployment::Datacenter),
            other => Err(format!("`{other}` is neither `cloud` nor `datacenter`")),
        }
    }
}
