//! `login`, `logout` and `status`: the SSO session and the per-tool credentials in the OS
//! keychain. Secrets are read from stdin or the IdP and go only to the keychain; nothing here
//! prints one.

use std::{io::Read, process::ExitCode};

use anyhow::Context;
use auth::{
    credentials::{self, AtlassianCredential, AwsEntry, AwsTemporaryCredentials, GithubEntry},
    keychain::{Keychain, Tool},
    sso::{Session, Sso},
};
use aws_mcp::config::AwsConfig;
use confluence_mcp::config::ConfluenceConfig;
use github_mcp::config::GithubConfig;
use governance::config::{Config, LoadedConfig};
use jira_mcp::config::JiraConfig;

/// What `login` logs in to.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum LoginTool {
    /// The enterprise IdP (OIDC): who you are and your roles, in every audit event.
    Sso,
    /// GitHub or GitHub Enterprise Server: the OAuth device flow of `oauth.github`, or a token
    /// read from stdin (`--with-token`).
    Github,
    /// Jira and Confluence: OAuth 2.0 (3LO) in the browser with the app of `oauth.atlassian`,
    /// or an API token (with `--email`) or a Data Center PAT from stdin (`--with-token`).
    Atlassian,
    /// AWS: the SSO ID token exchanged for temporary credentials of each role in
    /// `aws.web_identity_roles` (needs `login sso` first).
    Aws,
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

/// Opens `url` in the browser unless `--no-browser`; the URL is printed either way, so a
/// browser that cannot be opened is a note, not an error.
fn open_browser(url: &str, no_browser: bool) {
    if !no_browser && let Err(e) = open::that_detached(url) {
        eprintln!("(could not open a browser: {e})");
    }
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
            let oauth = &config.oauth.github;
            let web_url = match &oauth.web_url {
                Some(url) => url.clone(),
                None => auth::github::web_url_for(&config.section::<GithubConfig>()?.api_url),
            };
            let entry = if args.with_token {
                GithubEntry {
                    token: read_token()?,
                    host: auth::github::host_of(&web_url),
                    expires_at: None,
                }
            } else {
                anyhow::ensure!(
                    oauth.client_id.is_some(),
                    "no GitHub OAuth app is configured for the device flow \
                     (`oauth.github.client_id`): pipe a token in instead: `gh auth token | \
                     claude-enterprise login github --with-token` (or set GITHUB_TOKEN in the \
                     environment)"
                );
                let no_browser = args.no_browser;
                runtime()?.block_on(auth::github::device_login(oauth, &web_url, |code| {
                    eprintln!(
                        "To log in to GitHub, open {} and enter the code {} (valid {} min)",
                        code.verification_uri,
                        code.user_code,
                        code.expires_in.as_secs() / 60
                    );
                    open_browser(&code.verification_uri, no_browser);
                }))?
            };
            keychain.save(Tool::Github, &entry)?;
            println!(
                "GitHub token for {} kept in the {} keychain{}",
                entry.host,
                keychain.backend(),
                entry.expires_at.map_or(String::new(), |t| format!(
                    ", expires {}",
                    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                ))
            );
        }
        LoginTool::Atlassian if !args.with_token => {
            let grant = runtime()?.block_on(atlassian_oauth_login(config, args.no_browser))?;
            keychain.save(Tool::Atlassian, &AtlassianCredential::OAuth(grant.clone()))?;
            let sites: Vec<&str> = grant.sites.iter().map(|s| s.url.as_str()).collect();
            println!(
                "Atlassian OAuth grant for [{}] kept in the {} keychain{}",
                sites.join(", "),
                keychain.backend(),
                if grant.can_refresh() {
                    "; refreshed automatically"
                } else {
                    "; no refresh token (add the offline_access scope)"
                }
            );
            for (key, url) in [
                ("jira.url", &config.section::<JiraConfig>()?.url),
                ("confluence.url", &config.section::<ConfluenceConfig>()?.url),
            ] {
                if let Some(url) = url
                    && grant.site_for(url).is_none()
                {
                    eprintln!(
                        "note: the grant does not cover {key} = {url}: calls there will be refused"
                    );
                }
            }
        }
        LoginTool::Atlassian => {
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
                _ => "personal access token (Bearer)",
            };
            println!(
                "Atlassian {kind} kept in the {} keychain",
                keychain.backend()
            );
        }
        LoginTool::Aws => return runtime()?.block_on(aws_login(config, &keychain)),
    }
    Ok(ExitCode::SUCCESS)
}

/// `login aws`: for each configured account, `AssumeRoleWithWebIdentity` with the SSO ID
/// token (refreshed first when near expiry); what succeeds is kept, what fails is reported.
async fn aws_login(config: &Config, keychain: &Keychain) -> anyhow::Result<ExitCode> {
    let aws = config.section::<AwsConfig>()?;
    let roles = &aws.web_identity_roles;
    anyhow::ensure!(
        !roles.is_empty(),
        "no AWS role to assume: list them per account id under `aws.web_identity_roles` in the \
         config file (or use an aws-config profile: AWS_PROFILE, aws.account_profiles)"
    );
    let session = keychain
        .load::<Session>(Tool::Sso)?
        .context("not logged in to SSO: run `claude-enterprise login sso` first")?;
    let session = auth::sso::fresh_session(&config.sso, keychain, session).await?;
    // AssumeRoleWithWebIdentity is not signed: the ID token is the credential.
    // The SDK's HTTPS client on ring, the crypto provider of the rest of the process.
    let https = aws_smithy_http_client::Builder::new()
        .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
            aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https();
    // The config, the environment, the profile: not the default chain, whose instance-metadata
    // step needs the SDK's default HTTPS client, absent here (it would link aws-lc-rs), and
    // means nothing on the laptop `login` runs on.
    let region = aws_config::meta::region::RegionProviderChain::first_try(
        aws.default_region.clone().map(aws_config::Region::new),
    )
    .or_else(aws_config::environment::region::EnvironmentVariableRegionProvider::new())
    .or_else(aws_config::profile::region::ProfileFileRegionProvider::new())
    .or_else("us-east-1");
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(https)
        .no_credentials()
        .region(region)
        .load()
        .await;
    let sts = aws_sdk_sts::Client::new(&sdk);
    let session_name = credentials::role_session_name(&session.user);
    let mut entry = AwsEntry::default();
    let mut failed = false;
    for (account, role_arn) in roles {
        let assumed = sts
            .assume_role_with_web_identity()
            .role_arn(role_arn)
            .role_session_name(&session_name)
            .web_identity_token(session.id_token())
            .duration_seconds(i32::try_from(aws.web_identity_session_secs).unwrap_or(i32::MAX))
            .send()
            .await;
        match assumed
            .map_err(|e| sts_error(&e))
            .and_then(|out| temporary_credentials(role_arn, out.credentials))
        {
            Ok(credentials) => {
                println!(
                    "aws: account {account} as {role_arn} (session {session_name}), expires {}",
                    credentials
                        .expiration
                        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                );
                entry.accounts.insert(account.clone(), credentials);
            }
            Err(message) => {
                failed = true;
                eprintln!("aws: account {account} as {role_arn}: {message}");
            }
        }
    }
    if !entry.accounts.is_empty() {
        keychain.save(Tool::Aws, &entry)?;
        println!(
            "aws: temporary credentials of {} account(s) kept in the {} keychain",
            entry.accounts.len(),
            keychain.backend()
        );
    }
    if let Some(name) = credentials::aws_environment() {
        eprintln!("note: {name} is set, and the environment wins: aws-mcp will not use these");
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// STS's error code and message (an `AccessDenied` names the trust policy at fault), or the
/// transport failure; never the request, which holds the ID token.
fn sts_error<E, R>(error: &aws_sdk_sts::error::SdkError<E, R>) -> String
where
    E: aws_sdk_sts::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    use aws_sdk_sts::error::SdkError;
    match error {
        SdkError::ServiceError(service) => format!(
            "STS answered {}: {}",
            service.err().code().unwrap_or("Error"),
            service.err().message().unwrap_or("")
        ),
        SdkError::TimeoutError(_) => "STS did not answer in time".to_owned(),
        SdkError::DispatchFailure(_) => "STS could not be reached (connection failed)".to_owned(),
        other => format!("the STS request failed: {other}"),
    }
}

fn temporary_credentials(
    role_arn: &str,
    credentials: Option<aws_sdk_sts::types::Credentials>,
) -> Result<AwsTemporaryCredentials, String> {
    let c = credentials.ok_or("STS answered without credentials")?;
    let expiration =
        chrono::DateTime::from_timestamp(c.expiration.secs(), c.expiration.subsec_nanos())
            .ok_or("STS answered an expiry out of range")?;
    Ok(AwsTemporaryCredentials {
        role_arn: role_arn.to_owned(),
        access_key_id: c.access_key_id,
        secret_access_key: c.secret_access_key,
        session_token: c.session_token,
        expiration,
    })
}

/// `login atlassian` without `--with-token`: the 3LO browser login with the app of
/// `oauth.atlassian`, its client secret from the environment.
async fn atlassian_oauth_login(
    config: &Config,
    no_browser: bool,
) -> anyhow::Result<auth::atlassian::AtlassianGrant> {
    let oauth = &config.oauth.atlassian;
    anyhow::ensure!(
        oauth.client_id.is_some(),
        "no Atlassian OAuth app is configured (`oauth.atlassian.client_id`): pipe a token in \
         instead: `claude-enterprise login atlassian --with-token [--email you@corp.example] < \
         token` (or set ATLASSIAN_* in the environment)"
    );
    let secret = std::env::var(auth::atlassian::CLIENT_SECRET_ENV)
        .ok()
        .filter(|s| !s.trim().is_empty())
        .with_context(|| {
            format!(
                "set {} to the OAuth app's client secret (developer.atlassian.com, your app, \
                 Settings); it is kept in the keychain with the tokens, for refreshes",
                auth::atlassian::CLIENT_SECRET_ENV
            )
        })?;
    let grant = auth::atlassian::login(oauth, secret.trim(), |url| {
        eprintln!("Open this URL to log in to Atlassian (waiting for the browser):\n  {url}");
        open_browser(url.as_str(), no_browser);
    })
    .await?;
    Ok(grant)
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
            open_browser(url.as_str(), no_browser);
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
            format!("unknown tool `{name}`: sso, github, atlassian (jira, confluence) or aws")
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

    for tool in [Tool::Github, Tool::Atlassian, Tool::Aws] {
        let lines = crate::credential_report::report(tool, config);
        let mut lines = lines.iter();
        if let Some(first) = lines.next() {
            println!("{}: {}", tool.name(), first.text);
        }
        for line in lines {
            println!("{}", line.text);
        }
    }
    for (_, line) in crate::ship::sink_lines(config) {
        println!("audit sink: {line}");
    }
    Ok(ExitCode::SUCCESS)
}
