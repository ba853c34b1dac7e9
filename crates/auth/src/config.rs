//! The `[sso]` and `[keychain]` sections of the config file, as plain serde types. The config
//! crate (`governance::config`) embeds them; this crate reads nothing from disk itself.

use std::{collections::BTreeMap, path::PathBuf};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Single sign-on with the enterprise's OpenID Connect identity provider.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct SsoConfig {
    /// The IdP's issuer URL (`https://login.corp.example/realms/eng`); discovery reads
    /// `<issuer>/.well-known/openid-configuration`. Unset: SSO is off and the audit `user`
    /// comes from `identity.user`, the upstream or the OS account.
    pub issuer: Option<String>,
    /// The OAuth client id registered at the IdP for this CLI: a public (native) client
    /// allowed the authorization code flow with PKCE on a loopback redirect, refresh tokens
    /// and, for `login sso --device`, the device authorization grant.
    pub client_id: String,
    /// Scopes asked for. `openid` is always sent; `offline_access` brings a refresh token.
    pub scopes: Vec<String>,
    /// Loopback port of the login redirect (`http://127.0.0.1:PORT/callback`). 0: a free port
    /// chosen at each login (the IdP must allow any loopback port, as RFC 8252 says).
    pub redirect_port: u16,
    /// The ID token claim that names the user in the audit trail. Falls back to `sub`.
    pub user_claim: String,
    /// The ID token claim holding the user's groups (an array of strings, or one string).
    pub roles_claim: String,
    /// Per group in `roles_claim`: the roles it grants. Groups not listed grant nothing.
    pub role_map: BTreeMap<String, Vec<String>>,
    /// Tokens are refreshed when they expire within this many seconds.
    pub refresh_margin_secs: u64,
    /// Longest wait for the browser (or the device code) to complete the login, in seconds.
    pub login_timeout_secs: u64,
    /// A PEM file of CA certificates trusted for the IdP in addition to the system's (an
    /// enterprise's internal CA).
    pub ca_file: Option<PathBuf>,
}

impl Default for SsoConfig {
    fn default() -> Self {
        Self {
            issuer: None,
            client_id: "claude-enterprise".to_owned(),
            scopes: ["openid", "email", "offline_access"]
                .map(str::to_owned)
                .to_vec(),
            redirect_port: 0,
            user_claim: "email".to_owned(),
            roles_claim: "groups".to_owned(),
            role_map: BTreeMap::new(),
            refresh_margin_secs: 300,
            login_timeout_secs: 300,
            ca_file: None,
        }
    }
}

impl SsoConfig {
    /// The roles `groups` grant through [`SsoConfig::role_map`], sorted, without duplicates.
    pub fn roles_for(&self, groups: &[String]) -> Vec<String> {
        let mut roles: Vec<String> = groups
            .iter()
            .filter_map(|g| self.role_map.get(g))
            .flatten()
            .cloned()
            .collect();
        roles.sort();
        roles.dedup();
        roles
    }
}

/// Which OS keychain holds the tokens.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum KeychainBackend {
    /// The platform's own: macOS Keychain, Windows Credential Manager; on Linux the Secret
    /// Service when one answers on the session bus, else the kernel keyutils store.
    #[default]
    Auto,
    /// The freedesktop Secret Service (GNOME Keyring, KWallet) on the D-Bus session bus.
    SecretService,
    /// The Linux kernel's keyutils store (session keyring, linked to the persistent keyring).
    Keyutils,
}

/// Where tokens are kept. Never in a file: without a keychain, logins are refused and the
/// servers read credentials from the environment only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct KeychainConfig {
    /// `auto` (default), `secret-service` or `keyutils` (Linux only).
    pub backend: KeychainBackend,
    /// The service name of the keychain entries (one entry per tool under it). Distinct
    /// names keep two environments (staging and production IdPs) apart on one machine.
    pub service: String,
}

impl Default for KeychainConfig {
    fn default() -> Self {
        Self {
            backend: KeychainBackend::Auto,
            service: "claude-enterprise".to_owned(),
        }
    }
}

/// The OAuth apps `claude-enterprise login` uses per tool (`[oauth.github]`,
/// `[oauth.atlassian]`). Their client secrets never go in this file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct OAuthConfig {
    /// GitHub's OAuth device flow (`login github` without `--with-token`).
    pub github: GithubOAuthConfig,
    /// Atlassian Cloud's OAuth 2.0 (3LO) (`login atlassian` without `--with-token`).
    pub atlassian: AtlassianOAuthConfig,
}

/// A GitHub OAuth app (or GitHub App) with the device flow enabled, on github.com or a
/// GitHub Enterprise Server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct GithubOAuthConfig {
    /// The app's client id (public: the device flow needs no secret). Unset: `login github`
    /// takes a token on stdin only (`--with-token`).
    pub client_id: Option<String>,
    /// Scopes asked for (an OAuth app's; a GitHub App's permissions come from the app).
    pub scopes: Vec<String>,
    /// Where the device flow runs: `https://github.com`, or `https://HOST` for GitHub
    /// Enterprise Server. Unset: derived from `github.api_url` (`https://api.github.com` ->
    /// `https://github.com`, `https://HOST/api/v3` -> `https://HOST`).
    pub web_url: Option<String>,
    /// A PEM file of CA certificates trusted for that host beside the system's.
    pub ca_file: Option<PathBuf>,
    /// Longest wait for the user to enter the code, in seconds.
    pub login_timeout_secs: u64,
}

impl Default for GithubOAuthConfig {
    fn default() -> Self {
        Self {
            client_id: None,
            scopes: ["repo", "read:org"].map(str::to_owned).to_vec(),
            web_url: None,
            ca_file: None,
            login_timeout_secs: 900,
        }
    }
}

/// An Atlassian OAuth 2.0 (3LO) app from developer.atlassian.com. Its client secret is read
/// from `ATLASSIAN_OAUTH_CLIENT_SECRET` at login and kept in the keychain entry, beside the
/// tokens, for refreshes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct AtlassianOAuthConfig {
    /// The app's client id. Unset: `login atlassian` takes a token on stdin only.
    pub client_id: Option<String>,
    /// Scopes asked for; `offline_access` brings the refresh token.
    pub scopes: Vec<String>,
    /// The authorization endpoint.
    pub authorize_url: String,
    /// The token endpoint (code exchange and refresh).
    pub token_url: String,
    /// The API gateway: `<api_url>/oauth/token/accessible-resources` lists the sites the grant
    /// covers, and calls go to `<api_url>/ex/jira/<cloud id>` and
    /// `<api_url>/ex/confluence/<cloud id>/wiki`.
    pub api_url: String,
    /// Loopback port of the redirect, `http://127.0.0.1:PORT/callback`: Atlassian matches the
    /// app's callback URL exactly, so register this one. 0: any free port (for providers that
    /// allow any loopback port).
    pub redirect_port: u16,
    /// Tokens are refreshed when they expire within this many seconds.
    pub refresh_margin_secs: u64,
    /// Longest wait for the browser to complete the login, in seconds.
    pub login_timeout_secs: u64,
    /// A PEM file of CA certificates trusted for these endpoints beside the system's.
    pub ca_file: Option<PathBuf>,
}

impl Default for AtlassianOAuthConfig {
    fn default() -> Self {
        Self {
            client_id: None,
            scopes: [
                "read:jira-work",
                "write:jira-work",
                "read:jira-user",
                "read:confluence-content.all",
                "write:confluence-content",
                "read:confluence-space.summary",
                "search:confluence",
                "read:page:confluence",
                "write:page:confluence",
                "read:space:confluence",
                "offline_access",
            ]
            .map(str::to_owned)
            .to_vec(),
            authorize_url: "https://auth.atlassian.com/authorize".to_owned(),
            token_url: "https://auth.atlassian.com/oauth/token".to_owned(),
            api_url: "https://api.atlassian.com".to_owned(),
            redirect_port: 8765,
            refresh_margin_secs: 300,
            login_timeout_secs: 300,
            ca_file: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_come_from_mapped_groups_only() {
        let config = SsoConfig {
            role_map: BTreeMap::from([
                ("engineering".to_owned(), vec!["delivery".to_owned()]),
                (
                    "mcp-admins".to_owned(),
                    vec!["platform".to_owned(), "delivery".to_owned()],
                ),
            ]),
            ..SsoConfig::default()
        };
        let cases: &[(&[&str], &[&str])] = &[
            (&[], &[]),
            (&["sales"], &[]),
            (&["engineering"], &["delivery"]),
            (
                &["engineering", "mcp-admins", "sales"],
                &["delivery", "platform"],
            ),
        ];
        for (groups, expected) in cases {
            let groups: Vec<String> = groups.iter().map(|g| g.to_string()).collect();
            assert_eq!(config.roles_for(&groups), *expected, "groups {groups:?}");
        }
    }
}
