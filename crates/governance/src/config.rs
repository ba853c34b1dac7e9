//! The one configuration file every server and the CLI read.
//!
//! Where it comes from, first match wins: `CLAUDE_ENTERPRISE_CONFIG`, then
//! `/etc/claude-enterprise/config.toml`, then `$XDG_CONFIG_HOME/claude-enterprise/config.toml`
//! (`~/.config/...` when unset), then built-in defaults, so a server with no file at all starts
//! and works. Unknown keys and wrong types are errors that name the key, the file and the line.
//!
//! The kernel owns the sections every server shares (`[identity]`, `[policy]`, `[audit]`, ...).
//! A server's own section (`[github]`, `[jira]`, ...) belongs to its crate, as a [`Section`]:
//! the kernel keeps it as written and hands it to its owner, which alone knows its keys
//! ([`Config::section`]). So a new server adds a section without editing the kernel, and
//! `claude-enterprise config check`, which links every section, is what knows them all.
//!
//! This module holds no secret: tokens never live in the file, only in the keychain or the
//! environment. Sections may take overrides from the environment (`GITHUB_API_URL`).

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    sync::Arc,
};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize, de::DeserializeOwned};

mod ship;

pub use ship::{
    CloudWatchSinkConfig, ElasticsearchSinkConfig, FileSinkConfig, OtlpProtocol, OtlpSinkConfig,
    ShipConfig, ShipFormat, SinkConfig, SplunkHecSinkConfig,
};

/// Environment variable naming the config file to use.
pub const CONFIG_ENV: &str = "CLAUDE_ENTERPRISE_CONFIG";
/// The machine-wide config file, written by a NixOS module or an administrator.
pub const SYSTEM_CONFIG: &str = "/etc/claude-enterprise/config.toml";

/// A section of the config file owned by a crate outside the kernel (`[github]` by
/// github-mcp): its keys, defaults, environment overrides and schema.
pub trait Section: DeserializeOwned + Serialize + JsonSchema + Default {
    /// The table's name in the file.
    const NAME: &'static str;

    /// Applies environment overrides (`GITHUB_API_URL`) after the file.
    fn apply_env(&mut self) -> Result<(), ConfigError> {
        Ok(())
    }
}

/// The whole configuration file: the kernel's sections, and every other section as written.
#[derive(Debug, Clone, Default, PartialEq, Serialize, JsonSchema)]
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
    /// Content written outside the organisation.
    pub trust: crate::flow::TrustConfig,
    /// Writes judged by what the session read before them.
    pub flow: crate::flow::FlowConfig,
    /// Every other section (`[github]`, `[jira]`, ...) as written, for its owner to read with
    /// [`Config::section`].
    #[serde(flatten)]
    #[schemars(skip)]
    pub sections: toml::Table,
    /// The file's text and path, so that a section's errors name their line.
    #[serde(skip)]
    #[schemars(skip)]
    file: Option<(Arc<str>, Arc<Path>)>,
}

impl<'de> Deserialize<'de> for Config {
    /// The kernel's sections strictly (unknown keys and wrong types are errors with their
    /// line), every other table as written. Hand-written because `#[serde(flatten)]` would
    /// buffer the kernel's sections and lose the positions errors are reported at.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(ConfigVisitor)
    }
}

struct ConfigVisitor;

impl<'de> serde::de::Visitor<'de> for ConfigVisitor {
    type Value = Config;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a config table")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Config, A::Error> {
        use serde::de::Error;
        let mut config = Config::default();
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "identity" => config.identity = map.next_value()?,
                "sso" => config.sso = map.next_value()?,
                "keychain" => config.keychain = map.next_value()?,
                "oauth" => config.oauth = map.next_value()?,
                "policy" => config.policy = map.next_value()?,
                "audit" => config.audit = map.next_value()?,
                "safety" => config.safety = map.next_value()?,
                "trust" => config.trust = map.next_value()?,
                "flow" => config.flow = map.next_value()?,
                _ => match map.next_value::<toml::Value>()? {
                    table @ toml::Value::Table(_) => {
                        config.sections.insert(key, table);
                    }
                    _ => {
                        return Err(A::Error::custom(format!(
                            "unknown key `{key}`: top-level keys are sections ([{key}])"
                        )));
                    }
                },
            }
        }
        Ok(config)
    }
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
    /// Shipping to central logging (`claude-enterprise audit ship`).
    pub ship: ShipConfig,
    /// Where the journal is shipped: one table per sink, each with a `kind`.
    pub sinks: Vec<SinkConfig>,
}

impl Default for AuditConfig {
    fn default() -> Self {
        Self {
            dir: None,
            capture: Capture::Digest,
            max_inline_bytes: 1024,
            retention_days: 7,
            ship: ShipConfig::default(),
            sinks: Vec::new(),
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
    /// Refuse a write tool call whose arguments carry a credential in any string (a pull request
    /// or comment body, a page, an issue description), found by the same rules that clean the
    /// journal (the built-in ones and `secret_rules`), before anything is sent upstream.
    pub block_outgoing_secrets: bool,
    /// Secret rule files in gitleaks' format, run beside the built-in rules on errors, logs
    /// and the journal: gitleaks' own `config/gitleaks.toml` (the copy its package installs, say),
    /// or an organisation's own rules.
    pub secret_rules: Vec<PathBuf>,
}

impl Default for SafetyConfig {
    fn default() -> Self {
        Self {
            confirm_writes: false,
            max_argument_bytes: 1024 * 1024,
            block_outgoing_secrets: true,
            secret_rules: Vec::new(),
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
        let (config, source) = match path {
            Some(path) => (Self::from_file(&path)?, ConfigSource::File(path)),
            None => (Config::default(), ConfigSource::Defaults),
        };
        // Every process loads its config first: from here on, every text it scrubs runs the
        // added rules too. A file that cannot be read stops the start-up (fail closed).
        crate::content::secrets::add_rule_files(&config.safety.secret_rules).map_err(|e| {
            ConfigError::Invalid {
                path: match &source {
                    ConfigSource::File(path) => path.clone(),
                    ConfigSource::Defaults => PathBuf::new(),
                },
                line: 0,
                message: format!("safety.secret_rules: {e}"),
            }
        })?;
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
        let mut config: Config = toml::from_str(text).map_err(|e| invalid(&e, text, path))?;
        config.file = Some((text.into(), path.into()));
        Ok(config)
    }

    /// The section `S` owns: as written in the file (unknown keys and wrong types are errors
    /// naming the line), its defaults when absent, then its environment overrides.
    pub fn section<S: Section>(&self) -> Result<S, ConfigError> {
        use serde::de::DeserializeSeed;
        let mut section = match &self.file {
            Some((text, path)) => toml::de::Deserializer::parse(text)
                .and_then(|document| {
                    PickSection::<S>(std::marker::PhantomData).deserialize(document)
                })
                .map_err(|e| invalid(&e, text, path))?,
            // Built in memory (defaults, tests): the table as set.
            None => match self.sections.get(S::NAME) {
                Some(value) => S::deserialize(value.clone()).map_err(|e| ConfigError::Invalid {
                    path: PathBuf::from("(config in memory)"),
                    line: 0,
                    message: format!("[{}]: {}", S::NAME, e.message().trim()),
                })?,
                None => S::default(),
            },
        };
        section.apply_env()?;
        Ok(section)
    }

    /// Sets the section `S` owns, as if written in the file (a config built in memory).
    pub fn set_section<S: Section>(&mut self, section: &S) {
        #[expect(
            clippy::expect_used,
            reason = "config types are plain data: serializing them cannot fail"
        )]
        let value = toml::Value::try_from(section).expect("a config section serializes to TOML");
        self.sections.insert(S::NAME.to_owned(), value);
        self.file = None;
    }

    /// The top-level sections none of `known` claims: what `config check`, which links every
    /// section, reports as unknown.
    pub fn unclaimed_sections<'a>(
        &'a self,
        known: &'a [&str],
    ) -> impl Iterator<Item = &'a str> + 'a {
        self.sections
            .keys()
            .map(String::as_str)
            .filter(move |name| !known.contains(name))
    }

    /// The JSON Schema of the whole file: the kernel's sections and each of `sections` (its
    /// name and the schema of its type, `schemars::schema_for!(GithubConfig)`), no other key.
    pub fn json_schema(sections: &[(&str, schemars::Schema)]) -> serde_json::Value {
        #[expect(
            clippy::expect_used,
            reason = "config types are plain data: serializing them cannot fail"
        )]
        let mut schema =
            serde_json::to_value(schemars::schema_for!(Config)).expect("a schema serializes");
        let mut definitions = serde_json::Map::new();
        for (name, section) in sections {
            let mut section = section.clone().to_value();
            if let Some(object) = section.as_object_mut() {
                // Each section's definitions move to the root, where its `$ref`s point.
                if let Some(serde_json::Value::Object(defs)) = object.remove("$defs") {
                    definitions.extend(defs);
                }
                object.remove("$schema");
            }
            schema["properties"][*name] = section;
        }
        if !definitions.is_empty() {
            match &mut schema["$defs"] {
                serde_json::Value::Object(defs) => defs.extend(definitions),
                slot => *slot = serde_json::Value::Object(definitions),
            }
        }
        schema
    }
}

/// Picks one section out of the whole document, leaving the others unread, so that its
/// errors keep their positions in the file.
struct PickSection<S>(std::marker::PhantomData<S>);

impl<'de, S: Section> serde::de::DeserializeSeed<'de> for PickSection<S> {
    type Value = S;

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<S, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de, S: Section> serde::de::Visitor<'de> for PickSection<S> {
    type Value = S;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a config table")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<S, A::Error> {
        let mut found = None;
        while let Some(key) = map.next_key::<String>()? {
            if key == S::NAME {
                found = Some(map.next_value::<S>()?);
            } else {
                map.next_value::<serde::de::IgnoredAny>()?;
            }
        }
        Ok(found.unwrap_or_default())
    }
}

/// A TOML error as a [`ConfigError`] naming the file, the line and the dotted key.
fn invalid(err: &toml::de::Error, text: &str, path: &Path) -> ConfigError {
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
}

/// An http(s) URL from the environment variable `name`, if set: for sections' overrides.
pub fn env_url(name: &'static str) -> Result<Option<String>, ConfigError> {
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

/// A value parsed from the environment variable `name`, if set: for sections' overrides.
pub fn env_parse<T: std::str::FromStr<Err = String>>(
    name: &'static str,
) -> Result<Option<T>, ConfigError> {
    match std::env::var(name) {
        Ok(value) if !value.is_empty() => value
            .parse()
            .map(Some)
            .map_err(|message| ConfigError::Env { name, message }),
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

    /// A section owned outside the kernel, as a server crate would declare it.
    #[derive(Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
    #[serde(deny_unknown_fields, default)]
    struct Upstream {
        url: Option<String>,
        scope: Vec<String>,
    }

    impl Section for Upstream {
        const NAME: &'static str = "upstream";
    }

    #[test]
    fn empty_file_is_the_defaults() {
        let config = parse("").unwrap();
        assert_eq!(config.identity, IdentityConfig::default());
        assert_eq!(config.policy, PolicyConfig::default());
        assert!(config.sections.is_empty());
        assert_eq!(config.section::<Upstream>().unwrap(), Upstream::default());
    }

    #[test]
    fn unknown_key_names_key_file_and_line() {
        let err = parse("[audit]\ncapture = \"full\"\nretention_dayz = 3\n")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("/etc/ce.toml:3:"), "{err}");
        assert!(err.contains("`audit.retention_dayz`"), "{err}");
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
    fn a_sections_errors_name_its_line_and_its_owner_reads_it() {
        let text = "[audit]\ncapture = \"full\"\n[upstream]\nurl = \"https://x\"\n\nscop = []\n";
        let config = parse(text).unwrap();
        let err = config.section::<Upstream>().unwrap_err().to_string();
        assert!(err.starts_with("/etc/ce.toml:6:"), "{err}");
        assert!(err.contains("`upstream.scop`"), "{err}");
        let config = parse("[upstream]\nscope = [\"a/*\"]\n[other]\nx = 1\n").unwrap();
        assert_eq!(config.section::<Upstream>().unwrap().scope, ["a/*"]);
        assert_eq!(
            config.unclaimed_sections(&["upstream"]).collect::<Vec<_>>(),
            ["other"]
        );
        let mut built = Config::default();
        built.set_section(&Upstream {
            url: Some("https://y".into()),
            scope: vec![],
        });
        assert_eq!(
            built.section::<Upstream>().unwrap().url.as_deref(),
            Some("https://y")
        );
    }

    #[test]
    fn a_top_level_key_that_is_not_a_table_is_refused() {
        let err = parse("retention_days = 3\n").unwrap_err().to_string();
        assert!(err.contains("unknown key `retention_days`"), "{err}");
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
            block_outgoing_secrets = false
            [trust]
            untrusted_content = "withhold"
            [flow]
            cross_resource_writes = "allow"
            [upstream]
            scope = ["acme/*"]
            "#,
        )
        .unwrap();
        assert_eq!(config.policy.roles["delivery"].deny, ["github_add_comment"]);
        assert_eq!(config.audit.capture, Capture::Full);
        assert!(config.safety.confirm_writes);
        assert!(!config.safety.block_outgoing_secrets);
        assert_eq!(
            config.trust.untrusted_content,
            crate::flow::UntrustedContent::Withhold
        );
        assert_eq!(
            config.flow.cross_resource_writes,
            crate::flow::CrossResourceWrites::Allow
        );
        assert_eq!(
            Config::default().flow.cross_resource_writes,
            crate::flow::CrossResourceWrites::Deny,
            "deny unless allowed"
        );
        assert!(
            Config::default().safety.block_outgoing_secrets,
            "on unless turned off"
        );
        assert_eq!(config.section::<Upstream>().unwrap().scope, ["acme/*"]);
    }

    #[test]
    fn schema_names_the_kernel_sections_and_those_it_is_given() {
        let schema = Config::json_schema(&[("upstream", schemars::schema_for!(Upstream))]);
        for key in [
            "identity", "policy", "audit", "safety", "trust", "flow", "upstream",
        ] {
            assert!(
                schema["properties"][key].is_object(),
                "{key} missing from schema"
            );
        }
        assert_eq!(schema["additionalProperties"], false);
    }
}
