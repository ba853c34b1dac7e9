//! The one configuration file every server and the CLI read.
//!
//! Where it comes from, first match wins: `CLAUDE_ENTERPRISE_CONFIG`, then
//! `/etc/claude-enterprise/config.toml`, then `$XDG_CONFIG_HOME/claude-enterprise/config.toml`
//! (`~/.config/...` when unset), then built-in defaults, so a server with no file at all starts
//! and works. Unknown keys and wrong types are errors that name the key, the file and the line.
//!
//! This module holds no secret: tokens never live in the file, only in the keychain or the
//! environment. Environment overrides exist for upstream URLs (`GITHUB_API_URL`).

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Environment variable naming the config file to use.
pub const CONFIG_ENV: &str = "CLAUDE_ENTERPRISE_CONFIG";
/// The machine-wide config file, written by a NixOS module or an administrator.
pub const SYSTEM_CONFIG: &str = "/etc/claude-enterprise/config.toml";

/// The whole configuration file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Who the user is, until SSO provides it.
    pub identity: IdentityConfig,
    /// Single sign-on with the enterprise's OpenID provider: when configured and logged in
    /// (`claude-enterprise login sso`), the audit `user` and the roles come from the ID token.
    pub sso: auth::config::SsoConfig,
    /// The OS keychain that holds the SSO session and the per-tool tokens.
    pub keychain: auth::config::KeychainConfig,
    /// The OAuth apps `claude-enterprise login github` and `login atlassian` use.
    pub oauth: auth::config::OAuthConfig,
    /// Which tools each role may see and call.
    pub policy: PolicyConfig,
    /// The local audit journal.
    pub audit: AuditConfig,
    /// Handling of upstream content and of write tools in Claude Code.
    pub safety: SafetyConfig,
    /// The GitHub server.
    pub github: GithubConfig,
    /// The AWS server (read-only).
    pub aws: AwsConfig,
    /// The Jira server.
    pub jira: JiraConfig,
    /// The Confluence server.
    pub confluence: ConfluenceConfig,
}

/// Identity settings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct IdentityConfig {
    /// The user's e-mail or login, as written to the audit trail. Unset: the upstream's own
    /// "who am I" (GitHub `/user`).
    pub user: Option<String>,
    /// The user's roles (e.g. `delivery`, `platform`, `security`, `portfolio`).
    pub roles: Vec<String>,
}

/// Role-based tool policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct PolicyConfig {
    /// Tool-name globs every user may use, whatever their roles. Built-in: `["*"]`.
    pub default_allow: Vec<String>,
    /// Per role: tool-name globs the role adds, and globs it removes.
    pub roles: BTreeMap<String, RolePolicy>,
}

impl Default for PolicyConfig {
    fn default() -> Self {
        Self {
            default_allow: vec!["*".to_owned()],
            roles: BTreeMap::new(),
        }
    }
}

/// What one role may use.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct RolePolicy {
    /// Tool-name globs this role may use.
    pub allow: Vec<String>,
    /// Tool-name globs this role may not use, even when another grant allows them.
    pub deny: Vec<String>,
}

/// How much of each call's arguments the journal keeps.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Capture {
    /// Long strings are stored as their SHA-256 digest and size.
    #[default]
    Digest,
    /// Every argument verbatim (secrets are still redacted).
    Full,
}

/// The local audit journal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct AuditConfig {
    /// Journal directory. Unset: `$XDG_STATE_HOME/claude-enterprise/audit`.
    pub dir: Option<PathBuf>,
    /// `digest` (default) or `full`.
    pub capture: Capture,
    /// With `capture = "digest"`, strings longer than this many bytes are stored as digests.
    pub max_inline_bytes: usize,
    /// Days shipped segments are kept locally. Unshipped events are never deleted.
    pub retention_days: u32,
}

impl Default for AuditConfig {
    fn default() -> Self {
        Self {
            dir: None,
            capture: Capture::Digest,
            max_inline_bytes: 1024,
            retention_days: 7,
        }
    }
}

/// Content safety.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct SafetyConfig {
    /// Mark every write tool as needing the user's confirmation in Claude Code.
    pub confirm_writes: bool,
    /// Largest `tools/call` arguments accepted, in bytes.
    pub max_argument_bytes: usize,
}

impl Default for SafetyConfig {
    fn default() -> Self {
        Self {
            confirm_writes: false,
            max_argument_bytes: 1024 * 1024,
        }
    }
}

impl AuditConfig {
    /// The journal directory: `audit.dir`, else `$XDG_STATE_HOME/claude-enterprise/audit`.
    pub fn journal_dir(&self) -> Option<PathBuf> {
        self.dir
            .clone()
            .or_else(|| state_dir().map(|d| d.join("audit")))
    }
}

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

/// Where the config in force came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigSource {
    /// A file on disk.
    File(PathBuf),
    /// No file was found: built-in defaults.
    Defaults,
}

impl std::fmt::Display for ConfigSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConfigSource::File(path) => write!(f, "{}", path.display()),
            ConfigSource::Defaults => f.write_str("built-in defaults (no config file)"),
        }
    }
}

/// A config file that could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file named by `CLAUDE_ENTERPRISE_CONFIG` (or found on disk) could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid TOML, has an unknown key or a value of the wrong type.
    #[error("{path}:{line}: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// 1-based line of the offending key or value (0 when unknown).
        line: usize,
        /// What is wrong, naming the key.
        message: String,
    },
    /// An environment override holds an unusable value.
    #[error("environment variable {name}: {message}")]
    Env {
        /// The variable.
        name: &'static str,
        /// What is wrong.
        message: String,
    },
}

/// The configuration in force and where it came from.
#[derive(Debug, Clone)]
pub struct LoadedConfig {
    /// The settings, environment overrides applied.
    pub config: Config,
    /// The file they came from.
    pub source: ConfigSource,
}

impl Config {
    /// Finds, reads and validates the config file, then applies environment overrides.
    pub fn load() -> Result<LoadedConfig, ConfigError> {
        let env = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
        let path = match env(CONFIG_ENV) {
            Some(path) => Some(PathBuf::from(path)),
            None => [Some(PathBuf::from(SYSTEM_CONFIG)), user_config_path()]
                .into_iter()
                .flatten()
                .find(|p| p.is_file()),
        };
        let (mut config, source) = match path {
            Some(path) => (Self::from_file(&path)?, ConfigSource::File(path)),
            None => (Config::default(), ConfigSource::Defaults),
        };
        config.apply_env()?;
        Ok(LoadedConfig { config, source })
    }

    /// Reads and validates one file.
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// Parses TOML text; `path` only names the file in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        toml::from_str(text).map_err(|err| {
            let line = err
                .span()
                .map(|span| text[..span.start.min(text.len())].matches('\n').count() + 1)
                .unwrap_or(0);
            let message = err.message().trim();
            ConfigError::Invalid {
                path: path.to_owned(),
                line,
                message: match key_at_line(text, line) {
                    Some(key) => format!("`{key}`: {message}"),
                    None => message.to_owned(),
                },
            }
        })
    }

    fn apply_env(&mut self) -> Result<(), ConfigError> {
        if let Ok(url) = std::env::var("GITHUB_API_URL")
            && !url.is_empty()
        {
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                return Err(ConfigError::Env {
                    name: "GITHUB_API_URL",
                    message: format!("`{url}` is not an http(s) URL"),
                });
            }
            self.github.api_url = url;
        }
        for (name, target) in [
            ("JIRA_URL", &mut self.jira.url),
            ("CONFLUENCE_URL", &mut self.confluence.url),
        ] {
            if let Some(url) = env_value(name)? {
                *target = Some(url);
            }
        }
        for (name, target) in [
            ("JIRA_DEPLOYMENT", &mut self.jira.deployment),
            ("CONFLUENCE_DEPLOYMENT", &mut self.confluence.deployment),
        ] {
            match std::env::var(name).as_deref() {
                Err(_) | Ok("") => {}
                Ok("cloud") => *target = Deployment::Cloud,
                Ok("datacenter") => *target = Deployment::Datacenter,
                Ok(other) => {
                    return Err(ConfigError::Env {
                        name,
                        message: format!("`{other}` is neither `cloud` nor `datacenter`"),
                    });
                }
            }
        }
        Ok(())
    }

    /// The JSON Schema of the config file, generated from these types.
    pub fn json_schema() -> serde_json::Value {
        serde_json::to_value(schemars::schema_for!(Config)).expect("a schema serializes")
    }
}

/// An http(s) URL from the environment variable `name`, if set.
fn env_value(name: &'static str) -> Result<Option<String>, ConfigError> {
    match std::env::var(name) {
        Ok(url) if !url.is_empty() => {
            if url.starts_with("https://") || url.starts_with("http://") {
                Ok(Some(url))
            } else {
                Err(ConfigError::Env {
                    name,
                    message: format!("`{url}` is not an http(s) URL"),
                })
            }
        }
        _ => Ok(None),
    }
}

/// The dotted key assigned on 1-based `line` (`audit.retention_days`), from the last table
/// header above it.
fn key_at_line(text: &str, line: usize) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let (key, _) = lines.get(line.checked_sub(1)?)?.split_once('=')?;
    let key = key.trim().trim_matches('"');
    let table = lines[..line - 1]
        .iter()
        .rev()
        .map(|l| l.trim())
        .find(|l| l.starts_with('['))
        .map(|l| l.trim_matches(|c| c == '[' || c == ']').trim().to_owned());
    Some(match table {
        Some(table) => format!("{table}.{key}"),
        None => key.to_owned(),
    })
}

/// `$XDG_CONFIG_HOME/claude-enterprise/config.toml`, or `~/.config/...` when unset.
pub fn user_config_path() -> Option<PathBuf> {
    xdg_dir("XDG_CONFIG_HOME", ".config").map(|d| d.join("claude-enterprise/config.toml"))
}

/// `$XDG_STATE_HOME/claude-enterprise`, or `~/.local/state/claude-enterprise` when unset.
pub fn state_dir() -> Option<PathBuf> {
    xdg_dir("XDG_STATE_HOME", ".local/state").map(|d| d.join("claude-enterprise"))
}

fn xdg_dir(var: &str, home_relative: &str) -> Option<PathBuf> {
    std::env::var_os(var)
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(home_relative)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("/etc/ce.toml"))
    }

    #[test]
    fn empty_file_is_the_defaults() {
        assert_eq!(parse("").unwrap(), Config::default());
    }

    #[test]
    fn unknown_key_names_key_file_and_line() {
        let err = parse("[github]\napi_url = \"https://ghe.corp/api/v3\"\nwrite_scop = []\n")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("/etc/ce.toml:3:"), "{err}");
        assert!(err.contains("`github.write_scop`"), "{err}");
    }

    #[test]
    fn wrong_type_names_line() {
        let err = parse("[audit]\n\nretention_days = \"seven\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("/etc/ce.toml:3:"), "{err}");
        assert!(err.contains("`audit.retention_days`"), "{err}");
    }

    #[test]
    fn full_file_parses() {
        let config = parse(
            r#"
            [identity]
            user = "jane@corp.example"
            roles = ["delivery"]
            [policy]
            default_allow = ["github_get_*"]
            [policy.roles.delivery]
            allow = ["github_*"]
            deny = ["github_add_comment"]
            [audit]
            capture = "full"
            [safety]
            confirm_writes = true
            [github]
            read_scope = ["acme/*"]
            write_scope = ["acme/platform-*"]
            "#,
        )
        .unwrap();
        assert_eq!(config.policy.roles["delivery"].deny, ["github_add_comment"]);
        assert_eq!(config.audit.capture, Capture::Full);
        assert!(config.safety.confirm_writes);
    }

    #[test]
    fn schema_names_every_section() {
        let schema = Config::json_schema().to_string();
        for key in [
            "identity",
            "policy",
            "audit",
            "safety",
            "github",
            "write_scope",
        ] {
            assert!(schema.contains(key), "{key} missing from schema");
        }
    }
}
