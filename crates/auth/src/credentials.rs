//! Per-tool upstream credentials: the environment first (containers and CI: nothing is
//! written anywhere), then the tool's own keychain entry. Nothing here talks to an upstream;
//! the server crates use what they get.

use serde::{Deserialize, Serialize};

use crate::{
    Result,
    config::KeychainConfig,
    keychain::{Keychain, Tool},
};

/// The GitHub token variable.
pub const GITHUB_TOKEN_ENV: &str = "GITHUB_TOKEN";
/// Atlassian Cloud: the account e-mail for basic auth with [`ATLASSIAN_API_TOKEN_ENV`].
pub const ATLASSIAN_EMAIL_ENV: &str = "ATLASSIAN_EMAIL";
/// Atlassian Cloud: the API token for basic auth with [`ATLASSIAN_EMAIL_ENV`].
pub const ATLASSIAN_API_TOKEN_ENV: &str = "ATLASSIAN_API_TOKEN";
/// Jira / Confluence Data Center: a personal access token (Bearer).
pub const ATLASSIAN_PAT_ENV: &str = "ATLASSIAN_PAT";
/// Atlassian Cloud: an OAuth 2.0 (3LO) access token (Bearer).
pub const ATLASSIAN_OAUTH_TOKEN_ENV: &str = "ATLASSIAN_OAUTH_TOKEN";

/// Where a credential was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// This environment variable (the first of a pair).
    Environment(&'static str),
    /// The tool's keychain entry.
    Keychain,
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Environment(name) => write!(f, "environment ({name})"),
            Source::Keychain => f.write_str("keychain"),
        }
    }
}

/// A credential and where it came from.
#[derive(Clone, PartialEq, Eq)]
pub struct Found<T> {
    /// The credential.
    pub value: T,
    /// Where it came from.
    pub source: Source,
}

impl<T> std::fmt::Debug for Found<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Found {{ value: <redacted>, source: {:?} }}",
            self.source
        )
    }
}

/// The GitHub entry in the keychain.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct GithubEntry {
    /// The token (OAuth or personal access token).
    pub token: String,
    /// The GitHub host it is for (`github.com`, or a GitHub Enterprise Server host).
    pub host: String,
    /// When the token expires: GitHub App user tokens do (eight hours); OAuth app tokens and
    /// personal access tokens read from stdin carry none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl GithubEntry {
    /// Whether the token is known to be expired at `now`.
    pub fn is_expired(&self, now: chrono::DateTime<chrono::Utc>) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }
}

impl std::fmt::Debug for GithubEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "GithubEntry {{ token: <redacted>, host: {:?}, expires_at: {:?} }}",
            self.host, self.expires_at
        )
    }
}

/// How the Jira and Confluence servers authenticate.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AtlassianCredential {
    /// Atlassian Cloud: e-mail and API token, HTTP basic auth.
    Basic {
        /// The account e-mail.
        email: String,
        /// The API token.
        api_token: String,
    },
    /// A Data Center personal access token or an OAuth 2.0 access token: `Authorization:
    /// Bearer`.
    Bearer {
        /// The token.
        token: String,
    },
    /// An Atlassian Cloud OAuth 2.0 (3LO) grant from `claude-enterprise login atlassian`:
    /// Bearer tokens for the API gateway, refreshed before expiry.
    #[serde(rename = "oauth")]
    OAuth(crate::atlassian::AtlassianGrant),
}

impl std::fmt::Debug for AtlassianCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AtlassianCredential::Basic { email, .. } => {
                write!(f, "Basic {{ email: {email:?}, api_token: <redacted> }}")
            }
            AtlassianCredential::Bearer { .. } => f.write_str("Bearer { token: <redacted> }"),
            AtlassianCredential::OAuth(grant) => write!(f, "OAuth({grant:?})"),
        }
    }
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// The GitHub token: `GITHUB_TOKEN`, else the keychain entry written by `claude-enterprise
/// login github`. `Ok(None)`: neither, or the stored token has expired (logged, with the
/// command). `Err`: no variable, and the keychain failed.
pub fn github_token(keychain: &KeychainConfig) -> Result<Option<Found<String>>> {
    if let Some(token) = env(GITHUB_TOKEN_ENV) {
        crate::held::hold(&token);
        return Ok(Some(Found {
            value: token,
            source: Source::Environment(GITHUB_TOKEN_ENV),
        }));
    }
    Ok(Keychain::open(keychain)?
        .load::<GithubEntry>(Tool::Github)?
        .filter(|entry| {
            let expired = entry.is_expired(chrono::Utc::now());
            if expired {
                tracing::warn!(
                    "the GitHub token in the keychain has expired: run `claude-enterprise login \
                     github`"
                );
            }
            !expired
        })
        .map(|entry| Found {
            value: entry.token,
            source: Source::Keychain,
        }))
}

/// The Atlassian credential: `ATLASSIAN_EMAIL` + `ATLASSIAN_API_TOKEN`, else `ATLASSIAN_PAT`,
/// else `ATLASSIAN_OAUTH_TOKEN`, else the keychain entry written by `claude-enterprise login
/// atlassian`. `Ok(None)`: none. `Err`: no variable, and the keychain failed.
pub fn atlassian_credential(
    keychain: &KeychainConfig,
) -> Result<Option<Found<AtlassianCredential>>> {
    if let (Some(email), Some(api_token)) = (env(ATLASSIAN_EMAIL_ENV), env(ATLASSIAN_API_TOKEN_ENV))
    {
        crate::held::hold_basic(&email, &api_token);
        return Ok(Some(Found {
            value: AtlassianCredential::Basic { email, api_token },
            source: Source::Environment(ATLASSIAN_EMAIL_ENV),
        }));
    }
    for name in [ATLASSIAN_PAT_ENV, ATLASSIAN_OAUTH_TOKEN_ENV] {
        if let Some(token) = env(name) {
            crate::held::hold(&token);
            return Ok(Some(Found {
                value: AtlassianCredential::Bearer { token },
                source: Source::Environment(name),
            }));
        }
    }
    Ok(Keychain::open(keychain)?
        .load::<AtlassianCredential>(Tool::Atlassian)?
        .inspect(|value| {
            if let AtlassianCredential::Basic { email, api_token } = value {
                crate::held::hold_basic(email, api_token);
            }
        })
        .map(|value| Found {
            value,
            source: Source::Keychain,
        }))
}

/// Variables that give the AWS SDK credentials of its own (aws-config's default chain reads
/// them). When one is set, the AWS keychain entry is not used: the environment wins.
pub const AWS_ENVIRONMENT: [&str; 5] = [
    "AWS_ACCESS_KEY_ID",
    "AWS_PROFILE",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
];

/// The first of [`AWS_ENVIRONMENT`] that is set (and not blank).
pub fn aws_environment() -> Option<&'static str> {
    AWS_ENVIRONMENT.into_iter().find(|name| env(name).is_some())
}

/// The AWS entry in the keychain: per account id, the temporary credentials `claude-enterprise
/// login aws` got from `AssumeRoleWithWebIdentity`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AwsEntry {
    /// By account id.
    pub accounts: std::collections::BTreeMap<String, AwsTemporaryCredentials>,
}

/// One account's temporary credentials. `Debug` shows the role and the expiry only.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AwsTemporaryCredentials {
    /// The role assumed.
    pub role_arn: String,
    /// The access key id (`ASIA...`).
    pub access_key_id: String,
    /// The secret access key.
    pub secret_access_key: String,
    /// The session token.
    pub session_token: String,
    /// When STS said they expire.
    pub expiration: chrono::DateTime<chrono::Utc>,
}

impl AwsTemporaryCredentials {
    /// Whether they are expired at `now`.
    pub fn is_expired(&self, now: chrono::DateTime<chrono::Utc>) -> bool {
        self.expiration <= now
    }
}

impl std::fmt::Debug for AwsTemporaryCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsTemporaryCredentials")
            .field("role_arn", &self.role_arn)
            .field("expiration", &self.expiration)
            .finish_non_exhaustive()
    }
}

/// The AWS keychain entry, unless the environment gives credentials ([`aws_environment`]):
/// `Ok(None)` then, and when nobody ran `claude-enterprise login aws`. `Err`: no variable,
/// and the keychain failed.
pub fn aws_keychain_credentials(keychain: &KeychainConfig) -> Result<Option<AwsEntry>> {
    if aws_environment().is_some() {
        return Ok(None);
    }
    Keychain::open(keychain)?.load::<AwsEntry>(Tool::Aws)
}

/// An STS `RoleSessionName` for `user`: the characters STS allows (`[\w+=,.@-]`), others
/// replaced by `-`, cut to 64 and padded to STS's minimum of 2. The session name shows in
/// CloudTrail, so the SSO user stays recognisable there.
pub fn role_session_name(user: &str) -> String {
    let mut name: String = user
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "_+=,.@-".contains(c) {
                c
            } else {
                '-'
            }
        })
        .take(64)
        .collect();
    while name.len() < 2 {
        name.push('-');
    }
    name
}

#[cfg(test)]
mod tests {
    #[test]
    fn role_session_names_are_what_sts_accepts() {
        let long = "a".repeat(80);
        for (user, expected) in [
            ("alice@example.test", "alice@example.test"),
            ("Jean Müller <jm@corp>", "Jean-M-ller--jm@corp-"),
            ("x", "x-"),
            ("", "--"),
            ("a/b:c+d=e,f", "a-b-c+d=e,f"),
            (long.as_str(), &long[..64]),
        ] {
            assert_eq!(super::role_session_name(user), expected, "{user}");
        }
    }
}
