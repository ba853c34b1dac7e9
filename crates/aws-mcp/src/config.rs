//! The `[aws]` section of the config file, which this crate owns (the kernel only hands it
//! over): accounts, regions, production gating, credentials per account, and bounds.

use std::collections::BTreeMap;

use governance::config::Section;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The AWS server: read-only, scoped to accounts and regions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct AwsConfig {
    /// Region of calls that name none. Unset: the SDK's (`AWS_REGION`, profile).
    pub default_region: Option<String>,
    /// Regions calls may use. Empty: any well-formed region.
    pub allowed_regions: Vec<String>,
    /// Account ids calls may use. Empty: any.
    pub allowed_accounts: Vec<String>,
    /// Production account ids: only the two CloudWatch tools are available there.
    pub production_accounts: Vec<String>,
    /// Per account id, the aws-config profile whose credentials reach it.
    pub account_profiles: BTreeMap<String, String>,
    /// Per account id, the IAM role (ARN) `claude-enterprise login aws` assumes there with the
    /// SSO ID token (`AssumeRoleWithWebIdentity`; the role trusts the IdP as an OIDC
    /// provider). The temporary credentials are kept in the keychain and used by `aws-mcp`
    /// when the environment gives no AWS credentials; calls that name no account use the
    /// lowest account id here. An account listed here and in `account_profiles` uses the
    /// keychain while its credentials are there.
    pub web_identity_roles: BTreeMap<String, String>,
    /// Lifetime asked for the web identity credentials, in seconds (STS allows 900 up to the
    /// role's maximum session duration).
    pub web_identity_session_secs: u32,
    /// Most datapoints one metrics call returns; the period grows to fit.
    pub max_datapoints: u32,
    /// Most log rows one logs call returns.
    pub max_log_rows: u32,
    /// Longest time range of a metrics or logs call, in days; longer ranges are cut.
    pub max_range_days: u32,
    /// How long a Logs Insights query is polled before the call gives up, in seconds.
    pub logs_query_timeout_secs: u64,
    /// Timeout of one AWS request, in seconds.
    pub timeout_secs: u64,
    /// Let the SDK ask the EC2 instance metadata service for credentials (servers running on
    /// EC2). Off by default: elsewhere it only adds a timeout at start.
    pub instance_metadata: bool,
}

impl Default for AwsConfig {
    fn default() -> Self {
        Self {
            default_region: None,
            allowed_regions: Vec::new(),
            allowed_accounts: Vec::new(),
            production_accounts: Vec::new(),
            account_profiles: BTreeMap::new(),
            web_identity_roles: BTreeMap::new(),
            web_identity_session_secs: 3600,
            max_datapoints: 1440,
            max_log_rows: 200,
            max_range_days: 90,
            logs_query_timeout_secs: 30,
            timeout_secs: 20,
            instance_metadata: false,
        }
    }
}

impl Section for AwsConfig {
    const NAME: &'static str = "aws";
}
