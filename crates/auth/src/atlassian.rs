//! Atlassian Cloud's OAuth 2.0 (3LO): the authorization code flow (with PKCE) on a loopback
//! redirect, the sites the grant covers (`accessible-resources`), and refresh, with the
//! rotating refresh tokens Atlassian issues written back to the keychain.

use std::{collections::HashMap, time::Duration};

use chrono::{DateTime, Utc};
use oauth2::basic::BasicClient;
use openidconnect::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, OAuth2TokenResponse,
    PkceCodeChallenge, RedirectUrl, RefreshToken, Scope, TokenUrl,
};
use serde::{Deserialize, Serialize};

use crate::{
    Error, Result,
    config::{AtlassianOAuthConfig, KeychainConfig},
    credentials::AtlassianCredential,
    http::{HttpClient, chain, request_error},
    keychain::{Keychain, Tool},
};

/// The environment variable `login atlassian` reads the app's client secret from.
pub const CLIENT_SECRET_ENV: &str = "ATLASSIAN_OAUTH_CLIENT_SECRET";

/// One site the grant reaches, from `accessible-resources`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CloudSite {
    /// The cloud id: API calls go to `<api_url>/ex/<product>/<id>`.
    pub id: String,
    /// The site URL (`https://acme.atlassian.net`).
    pub url: String,
    /// The site name.
    pub name: String,
}

/// An OAuth 2.0 (3LO) grant, as kept in the keychain. `Debug` shows no secret.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AtlassianGrant {
    /// The app the grant belongs to.
    pub client_id: String,
    client_secret: String,
    access_token: String,
    refresh_token: Option<String>,
    /// When the access token expires, when the token endpoint said.
    pub expires_at: Option<DateTime<Utc>>,
    /// The sites the grant covers.
    pub sites: Vec<CloudSite>,
}

impl std::fmt::Debug for AtlassianGrant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AtlassianGrant")
            .field("client_id", &self.client_id)
            .field("expires_at", &self.expires_at)
            .field("sites", &self.sites)
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "<redacted>"),
            )
            .finish_non_exhaustive()
    }
}

impl AtlassianGrant {
    /// The access token (Bearer).
    pub fn access_token(&self) -> &str {
        &self.access_token
    }

    /// Whether a refresh token is held.
    pub fn can_refresh(&self) -> bool {
        self.refresh_token.is_some()
    }

    /// Whether the access token expires within `margin` of `now` (never, when no expiry
    /// was given).
    pub fn needs_refresh(&self, margin: Duration, now: DateTime<Utc>) -> bool {
        let margin = chrono::Duration::from_std(margin).unwrap_or(chrono::Duration::MAX);
        self.expires_at.is_some_and(|at| at - margin <= now)
    }

    /// The site whose URL is `site_url`'s scheme and host (`https://acme.atlassian.net/wiki`
    /// is on `https://acme.atlassian.net`).
    pub fn site_for(&self, site_url: &str) -> Option<&CloudSite> {
        let origin = |u: &str| {
            url::Url::parse(u)
                .ok()
                .map(|u| u.origin().ascii_serialization().to_ascii_lowercase())
        };
        let wanted = origin(site_url)?;
        self.sites
            .iter()
            .find(|s| origin(&s.url).as_deref() == Some(wanted.as_str()))
    }
}

fn endpoint_error(what: &'static str) -> impl Fn(url::ParseError) -> Error {
    move |e| Error::Token {
        what,
        message: format!("a configured `oauth.atlassian` URL is not a URL: {e}"),
    }
}

fn client(
    config: &AtlassianOAuthConfig,
    client_id: &str,
    client_secret: &str,
) -> Result<
    BasicClient<
        openidconnect::EndpointSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointSet,
    >,
> {
    let bad = endpoint_error("the Atlassian login");
    Ok(BasicClient::new(ClientId::new(client_id.to_owned()))
        .set_client_secret(ClientSecret::new(client_secret.to_owned()))
        .set_auth_uri(AuthUrl::new(config.authorize_url.clone()).map_err(&bad)?)
        .set_token_uri(TokenUrl::new(config.token_url.clone()).map_err(&bad)?)
        // Atlassian's token endpoint takes the client credentials in the body.
        .set_auth_type(openidconnect::AuthType::RequestBody))
}

fn http(config: &AtlassianOAuthConfig) -> Result<HttpClient> {
    HttpClient::new(config.ca_file.as_deref()).map_err(|message| Error::Token {
        what: "the Atlassian login",
        message,
    })
}

/// Logs in through the browser: listens on `127.0.0.1:redirect_port`, calls `announce` with
/// the URL to open, exchanges the code of the first redirect (state and PKCE checked) with
/// `client_secret`, and reads the sites the grant covers.
pub async fn login(
    config: &AtlassianOAuthConfig,
    client_secret: &str,
    announce: impl FnOnce(&url::Url),
) -> Result<AtlassianGrant> {
    let client_id = config.client_id.clone().ok_or_else(|| Error::Token {
        what: "the Atlassian login",
        message: "no OAuth app is configured: set `oauth.atlassian.client_id`, or pipe an API \
                  token or PAT to `login atlassian --with-token`"
            .into(),
    })?;
    let redirect = crate::loopback::Redirect::bind(config.redirect_port).await?;
    let redirect_url = RedirectUrl::new(redirect.uri().to_owned())
        .map_err(endpoint_error("the Atlassian login"))?;
    let client = client(config, &client_id, client_secret)?.set_redirect_uri(redirect_url);
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state) = client
        .authorize_url(CsrfToken::new_random)
        .add_scopes(config.scopes.iter().cloned().map(Scope::new))
        // Atlassian's authorization server issues tokens for its API gateway only when asked
        // for this audience, and a refresh token only after an explicit consent.
        .add_extra_param("audience", "api.atlassian.com")
        .add_extra_param("prompt", "consent")
        .set_pkce_challenge(challenge)
        .url();
    announce(&url);
    let query: HashMap<String, String> = redirect
        .wait(Duration::from_secs(config.login_timeout_secs))
        .await?;
    let code = crate::loopback::code(&query, state.secret())?;
    let http = http(config)?;
    let token = client
        .exchange_code(AuthorizationCode::new(code.to_owned()))
        .set_pkce_verifier(verifier)
        .request_async(&http.caller())
        .await
        .map_err(|e| request_error("the Atlassian code exchange", e))?;
    let access_token = token.access_token().secret().clone();
    let sites = accessible_resources(&http, config, &access_token).await?;
    Ok(AtlassianGrant {
        client_id,
        client_secret: client_secret.to_owned(),
        access_token,
        refresh_token: token.refresh_token().map(|t| t.secret().clone()),
        expires_at: expires_at(token.expires_in()),
        sites,
    })
}

fn expires_at(expires_in: Option<Duration>) -> Option<DateTime<Utc>> {
    expires_in
        .and_then(|d| chrono::Duration::from_std(d).ok())
        .map(|d| Utc::now() + d)
}

/// `GET <api_url>/oauth/token/accessible-resources`: the sites the token reaches.
async fn accessible_resources(
    http: &HttpClient,
    config: &AtlassianOAuthConfig,
    access_token: &str,
) -> Result<Vec<CloudSite>> {
    let what = "the accessible-resources lookup";
    let url = format!(
        "{}/oauth/token/accessible-resources",
        config.api_url.trim_end_matches('/')
    );
    let (status, body) = http
        .get_with_bearer(&url, access_token)
        .await
        .map_err(|message| Error::Token { what, message })?;
    if status != 200 {
        return Err(Error::Token {
            what,
            message: format!("{url} answered HTTP {status}"),
        });
    }
    serde_json::from_slice(&body).map_err(|e| Error::Token {
        what,
        message: format!("unexpected answer from {url}: {}", chain(&e)),
    })
}

/// Exchanges the refresh token for new tokens. Atlassian rotates refresh tokens: the one
/// returned replaces the old, which is kept only when none is returned.
pub async fn refresh(
    config: &AtlassianOAuthConfig,
    grant: &AtlassianGrant,
) -> Result<AtlassianGrant> {
    let refresh_token = grant.refresh_token.clone().ok_or_else(|| Error::Token {
        what: "the Atlassian refresh",
        message: "no refresh token is held (ask for the offline_access scope): run \
                  `claude-enterprise login atlassian` again"
            .into(),
    })?;
    let http = http(config)?;
    let token = client(config, &grant.client_id, &grant.client_secret)?
        .exchange_refresh_token(&RefreshToken::new(refresh_token))
        .request_async(&http.caller())
        .await
        .map_err(|e| request_error("the Atlassian refresh", e))?;
    Ok(AtlassianGrant {
        access_token: token.access_token().secret().clone(),
        refresh_token: token
            .refresh_token()
            .map(|t| t.secret().clone())
            .or_else(|| grant.refresh_token.clone()),
        expires_at: expires_at(token.expires_in()),
        ..grant.clone()
    })
}

/// `grant`, refreshed when it expires within `oauth.atlassian.refresh_margin_secs`, and the
/// refreshed grant written back to the keychain.
///
/// Atlassian rotates refresh tokens, and replaying a spent one can revoke the whole grant. So
/// refreshes are serialised across processes (jira-mcp beside confluence-mcp) by a lock file,
/// and under the lock the keychain is read again: when another server refreshed already, its
/// grant is used and no spent token is sent.
pub async fn fresh_grant(
    config: &AtlassianOAuthConfig,
    keychain: &KeychainConfig,
    grant: AtlassianGrant,
) -> Result<AtlassianGrant> {
    let margin = Duration::from_secs(config.refresh_margin_secs);
    if !grant.needs_refresh(margin, Utc::now()) {
        return Ok(grant);
    }
    let lock_path = refresh_lock_path(&keychain.service);
    let _lock = tokio::task::spawn_blocking(move || lock_exclusively(&lock_path))
        .await
        .map_err(|e| Error::Io {
            what: "the refresh lock".into(),
            source: std::io::Error::other(e.to_string()),
        })??;
    let keychain = Keychain::open(keychain)?;
    if let Some(AtlassianCredential::OAuth(stored)) = keychain.load(Tool::Atlassian)?
        && stored.client_id == grant.client_id
        && !stored.needs_refresh(margin, Utc::now())
    {
        return Ok(stored);
    }
    let refreshed = refresh(config, &grant).await?;
    keychain.save(
        Tool::Atlassian,
        &AtlassianCredential::OAuth(refreshed.clone()),
    )?;
    tracing::debug!(client_id = %refreshed.client_id, "Atlassian OAuth grant refreshed");
    Ok(refreshed)
}

/// The lock file of one keychain service's refreshes: in the per-user runtime directory
/// (`XDG_RUNTIME_DIR`), else the temporary directory. It holds nothing.
fn refresh_lock_path(service: &str) -> std::path::PathBuf {
    let dir = std::env::var_os("XDG_RUNTIME_DIR")
        .map(std::path::PathBuf::from)
        .filter(|d| d.is_dir())
        .unwrap_or_else(std::env::temp_dir);
    let safe: String = service
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    dir.join(format!("{safe}-atlassian-refresh.lock"))
}

/// Opens (0600) and locks `path` exclusively, waiting for another holder; released when the
/// file is dropped.
fn lock_exclusively(path: &std::path::Path) -> Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.create(true).truncate(false).write(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let io = |source| Error::Io {
        what: format!("the refresh lock {}", path.display()),
        source,
    };
    let file = options.open(path).map_err(io)?;
    file.lock().map_err(io)?;
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_site_is_found_by_origin() {
        let grant = AtlassianGrant {
            client_id: "app".into(),
            client_secret: "s".into(),
            access_token: "t".into(),
            refresh_token: None,
            expires_at: None,
            sites: vec![
                CloudSite {
                    id: "1".into(),
                    url: "https://acme.atlassian.net".into(),
                    name: "acme".into(),
                },
                CloudSite {
                    id: "2".into(),
                    url: "https://other.atlassian.net".into(),
                    name: "other".into(),
                },
            ],
        };
        for (url, id) in [
            ("https://acme.atlassian.net", Some("1")),
            ("https://ACME.atlassian.net/wiki", Some("1")),
            ("https://other.atlassian.net/", Some("2")),
            ("https://evil.example/acme.atlassian.net", None),
            ("http://acme.atlassian.net", None),
            ("not a url", None),
        ] {
            assert_eq!(grant.site_for(url).map(|s| s.id.as_str()), id, "{url}");
        }
        assert!(!format!("{grant:?}").contains("\"t\""));
    }
}
