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
