//! `login`, `logout` and `status`: the SSO session and the per-tool credentials in the OS
//! keychain. Secrets are read from stdin or the IdP and go only to the keychain; nothing here
//! prints one.

use std::{io::Read, process::ExitCode};

use anyhow::Context;
use auth::{
    credentials::{self, AtlassianCredential, GithubEntry},
    keychain::{Keychain, Tool},
    sso::{Session, Sso},
};
use governance::config::{Config, LoadedConfig};

/// What `login` logs in to.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum LoginTool {
    /// The enterprise IdP (OIDC): who you are and your roles, in every audit event.
    Sso,
    /// GitHub or GitHub Enterprise Server: a token read from stdin (`--with-token`).
    Github,
    /// Jira and Confluence: an API token (with `--email`) or a Data Center PAT, from stdin.
    Atlassian,
}

/// `login` options.
pub struct LoginArgs {
    pub tool: LoginTool,
    pub device: bool,
    pub no_browser: bool,
    pub with_token: bool,
    pub email: Option<String>,
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

fn read_token() -> anyhow::Result<String> {
    let mut token = String::new();
    std::io::stdin()
        .read_to_string(&mut token)
        .context("reading the token from stdin")?;
    let token = token.trim().to_owned();
    anyhow::ensure!(!token.is_empty(), "no token on stdin");
    Ok(token)
}

/// The GitHub host of an API base URL (`https://api.github.com` -> `github.com`,
/// `https://ghe.corp/api/v3` -> `ghe.corp`).
fn github_host(api_url: &str) -> String {
    let host = api_url
        .split("://")
        .nth(1)
        .unwrap_or(api_url)
        .split('/')
        .next()
        .unwrap_or_default();
    host.strip_prefix("api.").unwrap_or(host).to_owned()
}

pub fn login(args: LoginArgs) -> anyhow::Result<ExitCode> {
    let loaded = Config::load()?;
    let config = &loaded.config;
    // Refuse before any browser opens when there is nowhere to keep the result.
    let keychain = Keychain::open(&config.keychain)?;
    match args.tool {
        LoginTool::Sso => {
            let session = runtime()?.block_on(sso_login(&loaded, &args))?;
            keychain.save(Tool::Sso, &session)?;
            let identity = session.identity(&config.sso);
            println!(
                "logged in as {} (roles: [{}]); session kept in the {} keychain",
                identity.user,
                identity.roles.join(", "),
                keychain.backend()
            );
        }
        LoginTool::Github => {
            anyhow::ensure!(
                args.with_token,
                "pipe a token in: `gh auth token | claude-enterprise login github --with-token` \
                 (or set GITHUB_TOKEN in the environment)"
            );
            let entry = GithubEntry {
                token: read_token()?,
                host: github_host(&config.github.api_url),
            };
            keychain.save(Tool::Github, &entry)?;
            println!(
                "GitHub token for {} kept in the {} keychain",
                entry.host,
                keychain.backend()
            );
        }
        LoginTool::Atlassian => {
            anyhow::ensure!(
                args.with_token,
                "pipe a token in: `claude-enterprise login atlassian --with-token [--email \
                 you@corp.example] < token` (or set ATLASSIAN_* in the environment)"
            );
            let token = read_token()?;
            let credential = match args.email.clone() {
                Some(email) => AtlassianCredential::Basic {
                    email,
                    api_token: token,
                },
                None => AtlassianCredential::Bearer { token },
            };
            keychain.save(Tool::Atlassian, &credential)?;
            let kind = match credential {
                AtlassianCredential::Basic { .. } => "API token (basic auth)",
                AtlassianCredential::Bearer { .. } => "personal access token (Bearer)",
            };
            println!(
                "Atlassian {kind} kept in the {} keychain",
                keychain.backend()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn sso_login(loaded: &LoadedConfig, args: &LoginArgs) -> anyhow::Result<Session> {
    let sso = Sso::discover(&loaded.config.sso).await?;
    let session = if args.device {
        sso.login_with_device(|prompt| {
            eprintln!(
                "To log in, open {} and enter the code {}",
                prompt.verification_uri, prompt.user_code
            );
            if let Some(complete) = &prompt.verification_uri_complete {
                eprintln!("(or open {complete})");
            }
        })
        .await?
    } else {
        let no_browser = args.no_browser;
        sso.login_with_browser(|url| {
            eprintln!("Open this URL to log in (waiting for the browser):\n  {url}");
            if !no_browser && let Err(e) = open::that_detached(url.as_str()) {
                eprintln!("(could not open a browser: {e})");
            }
        })
        .await?
    };
    Ok(session)
}

pub fn logout(tool: Option<String>, all: bool) -> anyhow::Result<ExitCode> {
    let loaded = Config::load()?;
    let keychain = Keychain::open(&loaded.config.keychain)?;
    let tools: Vec<Tool> = match (tool, all) {
        (_, true) => Tool::ALL.to_vec(),
        (None, false) => vec![Tool::Sso],
        (Some(name), false) => vec![Tool::from_name(&name).with_context(|| {
            format!("unknown tool `{name}`: sso, github or atlassian (jira, confluence)")
        })?],
    };
    let mut failed = false;
    for tool in tools {
        if tool == Tool::Sso
            && let Some(session) = keychain.load::<Session>(Tool::Sso)?
        {
            let revoked = runtime()?.block_on(async {
                Sso::discover(&loaded.config.sso)
                    .await?
                    .revoke(&session)
                    .await
            });
            match revoked {
                Ok(()) => println!("sso: tokens revoked at the identity provider"),
                Err(e) => {
                    failed = true;
                    eprintln!("sso: revocation failed ({e}); the local session is deleted anyway");
                }
            }
        }
        if keychain.delete(tool)? {
            println!("{}: logged out (keychain entry deleted)", tool.name());
        } else {
            println!("{}: was not logged in", tool.name());
        }
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

pub fn status() -> anyhow::Result<ExitCode> {
    let loaded = Config::load()?;
    let config = &loaded.config;
    println!("config: {}", loaded.source);
    let keychain = Keychain::open(&config.keychain);
    match &keychain {
        Ok(k) => println!(
            "keychain: {} (service `{}`)",
            k.backend(),
            config.keychain.service
        ),
        Err(e) => println!("keychain: unavailable: {e}"),
    }
    let keychain = keychain.ok();

    match (&config.sso.issuer, &keychain) {
        (None, _) => println!(
            "sso: not configured (set sso.issuer); the audit user comes from identity.user, \
             the upstream or the OS account"
        ),
        (Some(_), None) => println!("sso: unknown (no keychain)"),
        (Some(issuer), Some(k)) => match k.load::<Session>(Tool::Sso)? {
            None => println!("sso: not logged in to {issuer}: run `claude-enterprise login sso`"),
            Some(session) => {
                let identity = session.identity(&config.sso);
                let state = if identity.expires_at > chrono::Utc::now() {
                    "expires"
                } else {
                    "EXPIRED"
                };
                println!(
                    "sso: {} at {issuer}\n  roles: [{}]\n  groups: [{}]\n  {state} {}{}",
                    identity.user,
                    identity.roles.join(", "),
                    identity.groups.join(", "),
                    identity
                        .expires_at
                        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    if session.can_refresh() {
                        " (refreshed automatically)"
                    } else {
                        " (no refresh token: log in again then)"
                    }
                );
            }
        },
    }

    let report = |name: &str, found: auth::Result<Option<credentials::Source>>| match found {
        Ok(Some(source)) => println!("{name}: present, from the {source}; no expiry recorded"),
        Ok(None) => println!("{name}: none: run `claude-enterprise login {name}`"),
        Err(e) => println!("{name}: unavailable: {e}"),
    };
    report(
        "github",
        credentials::github_token(&config.keychain).map(|f| f.map(|f| f.source)),
    );
    report(
        "atlassian",
        credentials::atlassian_credential(&config.keychain).map(|f| f.map(|f| f.source)),
    );
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    #[test]
    fn github_host_from_api_url() {
        for (api, host) in [
            ("https://api.github.com", "github.com"),
            ("https://ghe.corp.example/api/v3", "ghe.corp.example"),
            ("http://127.0.0.1:4010", "127.0.0.1:4010"),
        ] {
            assert_eq!(super::github_host(api), host, "{api}");
        }
    }
}
