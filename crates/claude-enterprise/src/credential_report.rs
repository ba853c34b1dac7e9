//! What `status` and `doctor` say of each tool's credential: where it comes from (an
//! environment variable or the keychain entry), what it is for and when it expires. Never the
//! secret.

use auth::{
    credentials::{self, AtlassianCredential, GithubEntry},
    keychain::{Keychain, Tool},
    sso::Session,
};
use aws_mcp::config::AwsConfig;
use chrono::{DateTime, SecondsFormat, Utc};
use governance::config::Config;

/// One line of a report: `ok` false when calls would fail for it.
pub struct Line {
    pub ok: bool,
    pub text: String,
}

fn ok(text: String) -> Line {
    Line { ok: true, text }
}

fn warn(text: String) -> Line {
    Line { ok: false, text }
}

fn at(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn env_set(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| !v.trim().is_empty())
}

/// The report on `tool`'s credential (GitHub, Atlassian or AWS), one line or more.
pub fn report(tool: Tool, config: &Config) -> Vec<Line> {
    let login = tool.login_command();
    let env: &[&str] = match tool {
        Tool::Github => &[credentials::GITHUB_TOKEN_ENV],
        Tool::Atlassian => &[
            credentials::ATLASSIAN_API_TOKEN_ENV,
            credentials::ATLASSIAN_PAT_ENV,
            credentials::ATLASSIAN_OAUTH_TOKEN_ENV,
        ],
        Tool::Aws => &credentials::AWS_ENVIRONMENT,
        Tool::Sso if config.sso.issuer.is_none() => {
            return vec![ok(
                "not configured (set sso.issuer): the audit user comes from identity.user, the \
                 upstream or the OS account"
                    .to_owned(),
            )];
        }
        Tool::Sso => &[],
    };
    if let Some(name) = env.iter().find(|name| env_set(name)) {
        return vec![ok(format!("present, from the environment ({name})"))];
    }
    // SSO has no variable of its own: only the keychain holds a session.
    let unset = if env.is_empty() {
        "not logged in".to_owned()
    } else {
        format!("{} unset", env.join(", "))
    };
    let keychain = match Keychain::open(&config.keychain) {
        Ok(keychain) => keychain,
        Err(e) => return vec![warn(format!("none ({unset}; {e})"))],
    };
    let backend = keychain.backend();
    let now = Utc::now();
    let loaded = match tool {
        Tool::Github => keychain
            .load::<GithubEntry>(tool)
            .map(|entry| entry.map(|e| vec![github(&e, backend, now, &login)])),
        Tool::Atlassian => keychain
            .load::<AtlassianCredential>(tool)
            .map(|entry| entry.map(|c| vec![atlassian(&c, backend, now, &login)])),
        Tool::Aws => return aws(config, now, &login),
        Tool::Sso => keychain
            .load::<Session>(tool)
            .map(|session| session.map(|s| vec![sso(&s, config, backend, now, &login)])),
    };
    match loaded {
        Ok(Some(lines)) => lines,
        Ok(None) => vec![warn(format!(
            "none ({unset}, no keychain entry): run `{login}`"
        ))],
        Err(e) => vec![warn(format!("unreadable: {e}"))],
    }
}

fn sso(session: &Session, config: &Config, backend: &str, now: DateTime<Utc>, login: &str) -> Line {
    let identity = session.identity(&config.sso);
    let what = format!(
        "{} at {}, roles [{}], from the keychain ({backend})",
        identity.user,
        session.issuer,
        identity.roles.join(", ")
    );
    match (identity.expires_at <= now, session.can_refresh()) {
        (false, _) => ok(format!("{what}, expires {}", at(identity.expires_at))),
        (true, true) => ok(format!(
            "{what}, expired {} (refreshed at the next call)",
            at(identity.expires_at)
        )),
        (true, false) => warn(format!(
            "{what}, EXPIRED {}: run `{login}`",
            at(identity.expires_at)
        )),
    }
}

fn github(entry: &GithubEntry, backend: &str, now: DateTime<Utc>, login: &str) -> Line {
    let what = format!(
        "present, from the keychain ({backend}): token for {}",
        entry.host
    );
    match entry.expires_at {
        Some(t) if t <= now => warn(format!("{what}, EXPIRED {}: run `{login}`", at(t))),
        Some(t) => ok(format!("{what}, expires {}", at(t))),
        None => ok(format!("{what}, no expiry recorded")),
    }
}

fn atlassian(
    credential: &AtlassianCredential,
    backend: &str,
    now: DateTime<Utc>,
    login: &str,
) -> Line {
    let from = format!("present, from the keychain ({backend})");
    match credential {
        AtlassianCredential::Basic { email, .. } => {
            ok(format!("{from}: API token of {email}, no expiry recorded"))
        }
        AtlassianCredential::Bearer { .. } => {
            ok(format!("{from}: personal access token, no expiry recorded"))
        }
        AtlassianCredential::OAuth(grant) => {
            let sites: Vec<String> = grant
                .sites
                .iter()
                .map(|s| format!("{} ({})", s.url, s.name))
                .collect();
            let what = format!("{from}: OAuth grant for [{}]", sites.join(", "));
            match (grant.expires_at, grant.can_refresh()) {
                (Some(t), true) => ok(format!(
                    "{what}, access token expires {} (refreshed automatically)",
                    at(t)
                )),
                (Some(t), false) if t <= now => warn(format!(
                    "{what}, EXPIRED {} and no refresh token: run `{login}`",
                    at(t)
                )),
                (Some(t), false) => ok(format!(
                    "{what}, expires {} (no refresh token: log in again then)",
                    at(t)
                )),
                (None, _) => ok(format!("{what}, no expiry recorded")),
            }
        }
    }
}

/// Per configured account (and any other the keychain holds): present or not, and when the
/// credentials expire.
fn aws(config: &Config, now: DateTime<Utc>, login: &str) -> Vec<Line> {
    let entry = match credentials::aws_keychain_credentials(&config.keychain) {
        Ok(entry) => entry.unwrap_or_default(),
        Err(e) => return vec![warn(format!("keychain unavailable: {e}"))],
    };
    let roles = match config.section::<AwsConfig>() {
        Ok(aws) => aws.web_identity_roles,
        Err(e) => return vec![warn(e.to_string())],
    };
    let roles = &roles;
    if roles.is_empty() && entry.accounts.is_empty() {
        return vec![ok(
            "aws-config's default chain (profiles, SSO cache); no aws.web_identity_roles for \
             `claude-enterprise login aws`"
                .to_owned(),
        )];
    }
    let accounts: std::collections::BTreeSet<&String> =
        roles.keys().chain(entry.accounts.keys()).collect();
    let mut lines = vec![ok("temporary credentials per account:".to_owned())];
    for account in accounts {
        lines.push(match entry.accounts.get(account) {
            None => warn(format!("  {account}: none: run `{login}`")),
            Some(c) if c.is_expired(now) => warn(format!(
                "  {account}: {}, EXPIRED {}: run `{login}`",
                c.role_arn,
                at(c.expiration)
            )),
            Some(c) => ok(format!(
                "  {account}: {}, present, expires {}",
                c.role_arn,
                at(c.expiration)
            )),
        });
    }
    lines
}
