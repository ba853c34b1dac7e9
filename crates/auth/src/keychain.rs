//! The OS keychain through `keyring-core` and its platform stores: one entry per tool under
//! one service name. Where no keychain answers, [`Keychain::open`] refuses with
//! [`Error::NoKeychain`], which says how to pass tokens through the environment; there is no
//! file fallback.

use std::sync::Arc;

use keyring_core::{CredentialStore, Entry};
use serde::{Serialize, de::DeserializeOwned};

use crate::{
    Error, Result,
    config::{KeychainBackend, KeychainConfig},
};

/// One keychain entry per tool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Tool {
    /// The SSO session (ID, access and refresh tokens of the enterprise IdP).
    Sso,
    /// The GitHub token.
    Github,
    /// The Atlassian (Jira, Confluence) credential.
    Atlassian,
    /// AWS temporary credentials, one set per account, from `AssumeRoleWithWebIdentity`.
    /// One entry for all accounts, so that `logout aws` leaves none behind when
    /// `aws.web_identity_roles` changed since the login.
    Aws,
}

impl Tool {
    /// Every tool, in the order `status` reports them.
    pub const ALL: [Tool; 4] = [Tool::Sso, Tool::Github, Tool::Atlassian, Tool::Aws];

    /// The entry's user name in the keychain, and the CLI's name for the tool.
    pub fn name(self) -> &'static str {
        match self {
            Tool::Sso => "sso",
            Tool::Github => "github",
            Tool::Atlassian => "atlassian",
            Tool::Aws => "aws",
        }
    }

    /// The tool named `name` (`sso`, `github`, `atlassian`, `aws`; `jira` and `confluence`
    /// share the Atlassian entry).
    pub fn from_name(name: &str) -> Option<Tool> {
        Some(match name {
            "sso" => Tool::Sso,
            "github" => Tool::Github,
            "atlassian" | "jira" | "confluence" => Tool::Atlassian,
            "aws" => Tool::Aws,
            _ => return None,
        })
    }

    /// The command that stores this tool's credential.
    pub fn login_command(self) -> String {
        format!("claude-enterprise login {}", self.name())
    }
}

/// An opened OS keychain.
pub struct Keychain {
    store: Arc<CredentialStore>,
    backend: &'static str,
    service: String,
}

impl std::fmt::Debug for Keychain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keychain")
            .field("backend", &self.backend)
            .field("service", &self.service)
            .finish()
    }
}

impl Keychain {
    /// Opens the configured backend and checks that it answers (a lookup of an entry that
    /// need not exist). Fails with [`Error::NoKeychain`] when none does.
    pub fn open(config: &KeychainConfig) -> Result<Self> {
        let mut reasons = Vec::new();
        for (backend, opened) in candidates(config.backend) {
            let keychain = match opened {
                Ok(store) => Keychain {
                    store,
                    backend,
                    service: config.service.clone(),
                },
                Err(e) => {
                    reasons.push(format!("{backend}: {}", describe(&e)));
                    continue;
                }
            };
            match keychain
                .entry("probe")
                .and_then(|e| match e.get_password() {
                    Ok(_) | Err(keyring_core::Error::NoEntry) => Ok(()),
                    Err(e) => Err(e),
                }) {
                Ok(()) => return Ok(keychain),
                Err(e) => reasons.push(format!("{backend}: {}", describe(&e))),
            }
        }
        Err(Error::NoKeychain {
            reason: reasons.join("; "),
        })
    }

    /// The backend in use (`secret-service`, `keyutils`, `macos-keychain`, `windows`).
    pub fn backend(&self) -> &'static str {
        self.backend
    }

    fn entry(&self, user: &str) -> keyring_core::Result<Entry> {
        Entry::new_in_store(&self.store, &self.service, user)
    }

    fn fail(&self, e: keyring_core::Error) -> Error {
        Error::Keychain {
            backend: self.backend,
            message: describe(&e),
        }
    }

    /// The stored value of `tool`, if any.
    pub fn load<T: DeserializeOwned>(&self, tool: Tool) -> Result<Option<T>> {
        let entry = self.entry(tool.name()).map_err(|e| self.fail(e))?;
        let text = match entry.get_password() {
            Ok(text) => text,
            Err(keyring_core::Error::NoEntry) => return Ok(None),
            Err(e) => return Err(self.fail(e)),
        };
        let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| Error::Corrupt {
            tool: tool.name(),
            message: format!("not JSON at column {}", e.column()),
            command: tool.login_command(),
        })?;
        crate::held::hold_json(&value);
        serde_json::from_value(value)
            .map(Some)
            .map_err(|_| Error::Corrupt {
                tool: tool.name(),
                // Not serde's message: for a wrong type it quotes the value, a secret here.
                message: "not the expected JSON shape".to_owned(),
                command: tool.login_command(),
            })
    }

    /// Stores `value` as the entry of `tool`, replacing any earlier one.
    pub fn save<T: Serialize>(&self, tool: Tool, value: &T) -> Result<()> {
        let value = serde_json::to_value(value).map_err(|_| Error::Corrupt {
            tool: tool.name(),
            message: "could not be serialized".to_owned(),
            command: tool.login_command(),
        })?;
        crate::held::hold_json(&value);
        let text = value.to_string();
        self.entry(tool.name())
            .and_then(|e| e.set_password(&text))
            .map_err(|e| self.fail(e))
    }

    /// The plain secret stored under `user` (an entry that is not a tool's, such as an audit
    /// sink's token: `audit-sink/<name>`), held from now on; `None` when there is none.
    pub fn load_secret(&self, user: &str) -> Result<Option<String>> {
        let entry = self.entry(user).map_err(|e| self.fail(e))?;
        match entry.get_password() {
            Ok(secret) => {
                crate::held::hold(&secret);
                Ok(Some(secret))
            }
            Err(keyring_core::Error::NoEntry) => Ok(None),
            Err(e) => Err(self.fail(e)),
        }
    }

    /// Whether the plain entry `user` exists (its value is not kept).
    pub fn has_secret(&self, user: &str) -> Result<bool> {
        let entry = self.entry(user).map_err(|e| self.fail(e))?;
        match entry.get_password() {
            Ok(_) => Ok(true),
            Err(keyring_core::Error::NoEntry) => Ok(false),
            Err(e) => Err(self.fail(e)),
        }
    }

    /// Stores `secret` as the plain entry `user`, replacing any earlier one.
    pub fn save_secret(&self, user: &str, secret: &str) -> Result<()> {
        crate::held::hold(secret);
        self.entry(user)
            .and_then(|e| e.set_password(secret))
            .map_err(|e| self.fail(e))
    }

    /// Deletes the plain entry `user`; `false` when there was none.
    pub fn delete_secret(&self, user: &str) -> Result<bool> {
        match self.entry(user).and_then(|e| e.delete_credential()) {
            Ok(()) => Ok(true),
            Err(keyring_core::Error::NoEntry) => Ok(false),
            Err(e) => Err(self.fail(e)),
        }
    }

    /// Deletes the entry of `tool`; `false` when there was none.
    pub fn delete(&self, tool: Tool) -> Result<bool> {
        match self.entry(tool.name()).and_then(|e| e.delete_credential()) {
            Ok(()) => Ok(true),
            Err(keyring_core::Error::NoEntry) => Ok(false),
            Err(e) => Err(self.fail(e)),
        }
    }
}

/// A keyring error in words, without the payload some variants carry (stored bytes).
fn describe(e: &keyring_core::Error) -> String {
    use keyring_core::Error as E;
    match e {
        E::PlatformFailure(inner) => format!("platform failure: {inner}"),
        E::NoStorageAccess(inner) => format!("no storage access (locked?): {inner}"),
        E::NoEntry => "no entry".to_owned(),
        E::BadEncoding(_) => "the stored value is not UTF-8".to_owned(),
        E::BadDataFormat(_, inner) => format!("the stored value is malformed: {inner}"),
        E::BadStoreFormat(m) => format!("the store is malformed: {m}"),
        E::TooLong(name, limit) => format!("{name} is longer than {limit}"),
        E::Invalid(name, why) => format!("invalid {name}: {why}"),
        E::Ambiguous(entries) => format!("{} entries match", entries.len()),
        E::NoDefaultStore => "no store".to_owned(),
        other => format!("{:?}", std::mem::discriminant(other)),
    }
}

type Opened = keyring_core::Result<Arc<CredentialStore>>;

#[cfg(target_os = "linux")]
fn candidates(backend: KeychainBackend) -> Vec<(&'static str, Opened)> {
    let secret_service = || {
        (
            "secret-service",
            zbus_secret_service_keyring_store::Store::new().map(|s| s as Arc<CredentialStore>),
        )
    };
    let keyutils = || {
        (
            "keyutils",
            linux_keyutils_keyring_store::Store::new().map(|s| s as Arc<CredentialStore>),
        )
    };
    match backend {
        KeychainBackend::Auto => {
            // No session bus: do not even try to connect (zbus would autolaunch).
            if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some() {
                vec![secret_service(), keyutils()]
            } else {
                vec![keyutils()]
            }
        }
        KeychainBackend::SecretService => vec![secret_service()],
        KeychainBackend::Keyutils => vec![keyutils()],
    }
}

#[cfg(target_os = "macos")]
fn candidates(backend: KeychainBackend) -> Vec<(&'static str, Opened)> {
    match backend {
        KeychainBackend::Auto => vec![(
            "macos-keychain",
            apple_native_keyring_store::keychain::Store::new().map(|s| s as Arc<CredentialStore>),
        )],
        other => vec![(
            "macos-keychain",
            Err(keyring_core::Error::NotSupportedByStore(format!(
                "{other:?} exists on Linux only"
            ))),
        )],
    }
}

#[cfg(target_os = "windows")]
fn candidates(backend: KeychainBackend) -> Vec<(&'static str, Opened)> {
    match backend {
        KeychainBackend::Auto => vec![(
            "windows",
            windows_native_keyring_store::Store::new().map(|s| s as Arc<CredentialStore>),
        )],
        other => vec![(
            "windows",
            Err(keyring_core::Error::NotSupportedByStore(format!(
                "{other:?} exists on Linux only"
            ))),
        )],
    }
}
