//! The REST client of one Atlassian site (Jira or Confluence, Cloud or Data Center).
//!
//! Transport is reqwest over rustls, built at the first request (a server that only lists its
//! tools never loads root certificates). Retries and rate limits follow the workspace's one
//! policy (`rest::RetryPolicy`): reads are retried with jittered backoff on 5xx and transport
//! failures, writes never (a retry could create a second issue); a rate limit's `Retry-After` /
//! `X-RateLimit-Reset` is waited out when it is within `max_retry_after`, else reported. Every
//! request has a timeout; Atlassian's `errorMessages` / `errors` / `message` bodies reach the
//! user verbatim, next to what to do about them.

use std::{fmt, time::Duration};

use crate::Deployment;
use auth::{
    atlassian::AtlassianGrant,
    config::{AtlassianOAuthConfig, KeychainConfig},
};
use reqwest::Method;
use rest::{Attempt, Failure, RetryPolicy};
use serde_json::Value;
use tokio::sync::OnceCell;

/// Which product a client talks to: it names the config keys and commands in messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Product {
    /// Jira (platform REST API and the Jira Software agile API).
    Jira,
    /// Confluence.
    Confluence,
}

impl Product {
    /// `Jira` or `Confluence`.
    pub fn name(self) -> &'static str {
        match self {
            Product::Jira => "Jira",
            Product::Confluence => "Confluence",
        }
    }

    /// The config key and environment variable of the site URL.
    fn url_setting(self) -> (&'static str, &'static str) {
        match self {
            Product::Jira => ("jira.url", "JIRA_URL"),
            Product::Confluence => ("confluence.url", "CONFLUENCE_URL"),
        }
    }
}

/// The command and variables that provide Atlassian credentials.
pub const LOGIN_HINT: &str = "run `claude-enterprise login atlassian`, or set ATLASSIAN_EMAIL and \
     ATLASSIAN_API_TOKEN (Cloud), ATLASSIAN_PAT (Data Center) or ATLASSIAN_OAUTH_TOKEN";

/// How a request authenticates: auth's credential type, so what `claude-enterprise login
/// atlassian` stores is what the servers send.
pub use auth::credentials::AtlassianCredential as Credential;

/// The credential in force: the environment first (containers, CI), then the keychain entry of
/// `claude-enterprise login atlassian`. A keychain that cannot be read is a warning: the server
/// starts without credentials and calls say how to log in.
pub fn find_credential(keychain: &KeychainConfig) -> Option<Credential> {
    match auth::credentials::atlassian_credential(keychain) {
        Ok(Some(found)) => {
            tracing::debug!(source = %found.source, "Atlassian credential found");
            Some(found.value)
        }
        Ok(None) => None,
        Err(e) => {
            tracing::warn!("{e}");
            None
        }
    }
}

/// The e-mail of a Basic credential: who the calls run as, when nothing else says.
pub fn credential_email(credential: &Credential) -> Option<&str> {
    match credential {
        Credential::Basic { email, .. } => Some(email),
        Credential::Bearer { .. } | Credential::OAuth(_) => None,
    }
}

/// Where an OAuth (3LO) grant is refreshed and kept: the `[oauth.atlassian]` section and the
/// keychain it came from.
#[derive(Debug, Clone)]
pub struct OAuthRefresh {
    /// The app's endpoints and the refresh margin.
    pub oauth: AtlassianOAuthConfig,
    /// The keychain the refreshed grant is written back to.
    pub keychain: KeychainConfig,
}

impl OAuthRefresh {
    /// From the config's `[oauth.atlassian]` and `[keychain]` sections.
    pub fn new(oauth: &AtlassianOAuthConfig, keychain: &KeychainConfig) -> Self {
        Self {
            oauth: oauth.clone(),
            keychain: keychain.clone(),
        }
    }
}

/// How one request authenticates, resolved from the credential.
enum Authorization {
    Basic { email: String, api_token: String },
    Bearer(String),
}

/// One Atlassian site as the client reaches it.
#[derive(Debug, Clone)]
pub struct Site {
    /// Jira or Confluence.
    pub product: Product,
    /// Base URL (`https://SITE.atlassian.net`, `https://SITE.atlassian.net/wiki`), or none when
    /// unconfigured: calls then say how to configure it.
    pub base_url: Option<String>,
    /// Cloud or Data Center.
    pub deployment: Deployment,
    /// Timeout of one request.
    pub timeout: Duration,
    /// Retries of a read after a 5xx or transport failure.
    pub max_retries: u32,
    /// Longest `Retry-After` waited out.
    pub max_retry_after: Duration,
}

/// Why an Atlassian request failed.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum AtlassianError {
    /// No site URL is configured.
    #[error("no {product} site is configured: set `{key}` in the config or {env}")]
    NotConfigured {
        /// Jira or Confluence.
        product: &'static str,
        /// The config key.
        key: &'static str,
        /// The environment variable.
        env: &'static str,
    },
    /// The site URL does not parse.
    #[error("{key} `{url}` is not an http(s) URL")]
    BadUrl {
        /// The config key.
        key: &'static str,
        /// The value.
        url: String,
    },
    /// No credentials in the environment or the keychain.
    #[error("no Atlassian credentials: {LOGIN_HINT}")]
    NoCredentials,
    /// The OAuth grant could not be refreshed, or does not cover the configured site.
    #[error("Atlassian OAuth: {message}; run `claude-enterprise login atlassian` again")]
    OAuth {
        /// What is wrong.
        message: String,
    },
    /// The site answered with an error status.
    #[error("{}", status_message(*.status, .product, .what, .message))]
    Status {
        /// Jira or Confluence.
        product: &'static str,
        /// The HTTP status.
        status: u16,
        /// What was asked for (`issue PROJ-1`).
        what: String,
        /// Atlassian's own messages, verbatim.
        message: String,
    },
    /// Rate limited for longer than the configured bound, or still after every retry.
    #[error(
        "{product} is rate limiting {what}{}; this server waits out only short limits, try again later",
        .retry_after_secs.map(|s| format!(" (Retry-After: {s} s)")).unwrap_or_default()
    )]
    RateLimited {
        /// Jira or Confluence.
        product: &'static str,
        /// What was asked for.
        what: String,
        /// The `Retry-After` the site sent.
        retry_after_secs: Option<u64>,
    },
    /// No answer within the timeout.
    #[error("{product} did not answer {what} within {secs} s")]
    Timeout {
        /// Jira or Confluence.
        product: &'static str,
        /// What was asked for.
        what: String,
        /// The timeout.
        secs: u64,
    },
    /// The site could not be reached, or its answer was not JSON.
    #[error("{product}: {what}: {message}")]
    Transport {
        /// Jira or Confluence.
        product: &'static str,
        /// What was asked for.
        what: String,
        /// What failed (the first line only: no URL with credentials, no body).
        message: String,
    },
}

impl AtlassianError {
    /// The HTTP status that names this failure: the site's own answer, or for a failure with
    /// none the status that says the same (401 no credentials, 503 no site configured, 504 a
    /// timeout, 502 a transport failure). Callers map it to their own error type.
    pub fn http_status(&self) -> u16 {
        match self {
            AtlassianError::NoCredentials | AtlassianError::OAuth { .. } => 401,
            AtlassianError::NotConfigured { .. } | AtlassianError::BadUrl { .. } => 503,
            AtlassianError::Timeout { .. } => 504,
            other => other.status().unwrap_or(502),
        }
    }
    /// The HTTP status, for an error the site answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            AtlassianError::Status { status, .. } => Some(*status),
            AtlassianError::RateLimited { .. } => Some(429),
            _ => None,
        }
    }

    /// Atlassian's own message, for an error the site answered.
    pub fn upstream_message(&self) -> Option<&str> {
        match self {
            AtlassianError::Status { message, .. } => Some(message),
            _ => None,
        }
    }
}

fn status_message(status: u16, product: &str, what: &str, message: &str) -> String {
    let said = if message.is_empty() {
        String::new()
    } else {
        format!(": {message}")
    };
    match status {
        400 => format!("{product} refused {what} (HTTP 400){said}"),
        401 => format!("{product} rejected the credentials (HTTP 401){said}; {LOGIN_HINT}"),
        403 => format!("{product} refused {what}: your account lacks permission (HTTP 403){said}"),
        404 => format!("{what} was not found (HTTP 404){said}"),
        409 => format!("{product} reported a conflict on {what} (HTTP 409){said}"),
        s if s >= 500 => format!("{product} failed on {what} (HTTP {s}){said}"),
        s => format!("{product} answered {what} with HTTP {s}{said}"),
    }
}

/// Atlassian's error messages from an error body, joined: Jira's `errorMessages` and `errors`
/// (field -> message), Confluence v2's `errors[].title/detail`, v1's `message`.
pub fn error_messages(body: &str) -> String {
    let Ok(value) = serde_json::from_str::<Value>(body) else {
        let line = body.lines().next().unwrap_or("").trim();
        return line.chars().take(300).collect();
    };
    let mut messages: Vec<String> = Vec::new();
    for m in value["errorMessages"].as_array().into_iter().flatten() {
        if let Some(m) = m.as_str() {
            messages.push(m.to_owned());
        }
    }
    match &value["errors"] {
        Value::Object(fields) => {
            for (field, m) in fields {
                messages.push(format!("{field}: {}", m.as_str().unwrap_or(&m.to_string())));
            }
        }
        Value::Array(errors) => {
            for e in errors {
                let parts: Vec<&str> = [&e["title"], &e["detail"]]
                    .into_iter()
                    .filter_map(Value::as_str)
                    .filter(|s| !s.is_empty())
                    .collect();
                if !parts.is_empty() {
                    messages.push(parts.join(": "));
                }
            }
        }
        _ => {}
    }
    if messages.is_empty()
        && let Some(m) = value["message"].as_str()
    {
        messages.push(m.to_owned());
    }
    messages.join("; ")
}

/// A client of one site.
pub struct AtlassianClient {
    site: Site,
    credential: Option<Credential>,
    http: OnceCell<reqwest::Client>,
    refresh: Option<OAuthRefresh>,
    /// The freshest OAuth grant, once one was refreshed (the credential is the stored one).
    grant: tokio::sync::Mutex<Option<AtlassianGrant>>,
}

impl fmt::Debug for AtlassianClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AtlassianClient")
            .field("site", &self.site)
            .field("credential", &self.credential)
            .finish()
    }
}

/// The user agent sent with every request.
const USER_AGENT: &str = concat!("claude-enterprise-mcp/", env!("CARGO_PKG_VERSION"));

impl AtlassianClient {
    /// A client of `site` with `credential`. Nothing is connected until the first request.
    pub fn new(site: Site, credential: Option<Credential>) -> Result<Self, AtlassianError> {
        if let Some(url) = &site.base_url
            && !(url.starts_with("https://") || url.starts_with("http://"))
        {
            return Err(AtlassianError::BadUrl {
                key: site.product.url_setting().0,
                url: url.clone(),
            });
        }
        Ok(Self {
            site,
            credential,
            http: OnceCell::new(),
            refresh: None,
            grant: tokio::sync::Mutex::new(None),
        })
    }

    /// Refreshes an OAuth grant before it expires, through `refresh`, and writes the new
    /// grant back to its keychain. Without it an OAuth grant is used until it expires.
    pub fn with_oauth_refresh(mut self, refresh: OAuthRefresh) -> Self {
        self.refresh = Some(refresh);
        self
    }

    /// The base URL and authorization of the next request. An OAuth grant goes through the
    /// API gateway (`<api_url>/ex/<product>/<cloud id>` and the site's context path), with its
    /// access token refreshed first when due.
    async fn route(
        &self,
        site_url: &str,
        credential: &Credential,
    ) -> Result<(String, Authorization), AtlassianError> {
        let grant = match credential {
            Credential::Basic { email, api_token } => {
                return Ok((
                    site_url.trim_end_matches('/').to_owned(),
                    Authorization::Basic {
                        email: email.clone(),
                        api_token: api_token.clone(),
                    },
                ));
            }
            Credential::Bearer { token } => {
                return Ok((
                    site_url.trim_end_matches('/').to_owned(),
                    Authorization::Bearer(token.clone()),
                ));
            }
            Credential::OAuth(grant) => grant,
        };
        let mut freshest = self.grant.lock().await;
        let current = freshest.clone().unwrap_or_else(|| grant.clone());
        let current = match &self.refresh {
            Some(refresh) => {
                auth::atlassian::fresh_grant(&refresh.oauth, &refresh.keychain, current)
                    .await
                    .map_err(|e| AtlassianError::OAuth {
                        message: e.to_string(),
                    })?
            }
            None => current,
        };
        *freshest = Some(current.clone());
        drop(freshest);
        let site = current
            .site_for(site_url)
            .ok_or_else(|| AtlassianError::OAuth {
                message: format!(
                    "the grant does not cover {site_url} (it covers: {}); set `{}` to one of \
                     them, or grant this site at login",
                    current
                        .sites
                        .iter()
                        .map(|s| s.url.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                    self.site.product.url_setting().0
                ),
            })?;
        let api_url = self.refresh.as_ref().map_or_else(
            || AtlassianOAuthConfig::default().api_url,
            |r| r.oauth.api_url.clone(),
        );
        let context_path = reqwest::Url::parse(site_url)
            .map(|u| u.path().trim_end_matches('/').to_owned())
            .unwrap_or_default();
        let product = match self.site.product {
            Product::Jira => "jira",
            Product::Confluence => "confluence",
        };
        Ok((
            format!(
                "{}/ex/{product}/{}{context_path}",
                api_url.trim_end_matches('/'),
                site.id
            ),
            Authorization::Bearer(current.access_token().to_owned()),
        ))
    }

    /// The site.
    pub fn site(&self) -> &Site {
        &self.site
    }

    /// Cloud or Data Center.
    pub fn deployment(&self) -> Deployment {
        self.site.deployment
    }

    /// The credential in use.
    pub fn credential(&self) -> Option<&Credential> {
        self.credential.as_ref()
    }

    fn product(&self) -> &'static str {
        self.site.product.name()
    }

    async fn http(&self) -> Result<&reqwest::Client, AtlassianError> {
        self.http
            .get_or_try_init(|| async {
                // reqwest is built without a crypto provider of its own: the process's, which
                // every binary installs first thing (`governance::server::install_crypto_provider`).
                if rustls::crypto::CryptoProvider::get_default().is_none() {
                    return Err(AtlassianError::Transport {
                        product: self.product(),
                        what: "the HTTP client".into(),
                        message: "no TLS crypto provider is installed in this process (a bug: \
                                  the binary's main must install one first)"
                            .into(),
                    });
                }
                reqwest::Client::builder()
                    .user_agent(USER_AGENT)
                    .timeout(self.site.timeout)
                    .connect_timeout(self.site.timeout)
                    .build()
                    .map_err(|e| AtlassianError::Transport {
                        product: self.product(),
                        what: "the HTTP client".into(),
                        message: first_line(&e.to_string()),
                    })
            })
            .await
    }

    /// `GET path?query`, the JSON body on 2xx.
    pub async fn get(
        &self,
        path: &str,
        query: &[(&str, String)],
        what: &str,
    ) -> Result<Value, AtlassianError> {
        self.send(Method::GET, path, query, None, what).await
    }

    /// `POST path` with a JSON body; never retried after a 5xx or transport failure.
    pub async fn post(
        &self,
        path: &str,
        body: &Value,
        what: &str,
    ) -> Result<Value, AtlassianError> {
        self.send(Method::POST, path, &[], Some(body), what).await
    }

    /// `PUT path` with a JSON body; never retried after a 5xx or transport failure.
    pub async fn put(&self, path: &str, body: &Value, what: &str) -> Result<Value, AtlassianError> {
        self.send(Method::PUT, path, &[], Some(body), what).await
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
        what: &str,
    ) -> Result<Value, AtlassianError> {
        let product = self.product();
        let Some(base) = &self.site.base_url else {
            let (key, env) = self.site.product.url_setting();
            return Err(AtlassianError::NotConfigured { product, key, env });
        };
        let Some(credential) = &self.credential else {
            return Err(AtlassianError::NoCredentials);
        };
        let http = self.http().await?;
        let (base, authorization) = self.route(base, credential).await?;
        let url = format!("{base}{path}");
        let policy = RetryPolicy::new(self.site.max_retries, self.site.max_retry_after);
        policy
            .run(&method, || {
                self.attempt(http, &method, &url, query, body, &authorization, what)
            })
            .await
            // Each error already says what happened; a write's 5xx is reported as it came.
            .map_err(|failed| failed.error)
    }

    /// One request: the JSON on 2xx, else the error, sorted for the retry policy.
    #[allow(clippy::too_many_arguments)]
    async fn attempt(
        &self,
        http: &reqwest::Client,
        method: &Method,
        url: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
        authorization: &Authorization,
        what: &str,
    ) -> Result<Value, Attempt<AtlassianError>> {
        let product = self.product();
        let mut request = http
            .request(method.clone(), url)
            .header("accept", "application/json");
        if !query.is_empty() {
            request = request.query(query);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        request = match authorization {
            Authorization::Basic { email, api_token } => request.basic_auth(email, Some(api_token)),
            Authorization::Bearer(token) => request.bearer_auth(token),
        };
        let no_answer = |e: reqwest::Error| {
            let error = if e.is_timeout() {
                AtlassianError::Timeout {
                    product,
                    what: what.to_owned(),
                    secs: self.site.timeout.as_secs(),
                }
            } else {
                AtlassianError::Transport {
                    product,
                    what: what.to_owned(),
                    message: transport_message(&e),
                }
            };
            Attempt::Failed(Failure::Transport, error)
        };
        let response = request.send().await.map_err(no_answer)?;
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.map_err(no_answer)?;
        if status.is_success() {
            return parse_body(&text).map_err(|message| {
                Attempt::Final(AtlassianError::Transport {
                    product,
                    what: what.to_owned(),
                    message,
                })
            });
        }
        if let Some(limit) = rest::rate_limit(status, &headers, chrono::Utc::now()) {
            let error = AtlassianError::RateLimited {
                product,
                what: what.to_owned(),
                retry_after_secs: limit.wait.map(|w| w.as_secs()),
            };
            return Err(Attempt::Failed(Failure::RateLimited(limit), error));
        }
        let error = AtlassianError::Status {
            product,
            status: status.as_u16(),
            what: what.to_owned(),
            message: error_messages(&text),
        };
        if status.is_server_error() {
            return Err(Attempt::Failed(Failure::Server(status.as_u16()), error));
        }
        Err(Attempt::Final(error))
    }
}

/// An empty body is `null`; anything else must be JSON.
fn parse_body(text: &str) -> Result<Value, String> {
    if text.trim().is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_str(text).map_err(|e| format!("the answer is not JSON: {e}"))
}

/// A transport error without the URL (which could carry a query) and without its source chain.
fn transport_message(error: &reqwest::Error) -> String {
    let kind = if error.is_connect() {
        "could not connect"
    } else if error.is_body() || error.is_decode() {
        "the answer could not be read"
    } else {
        "the request failed"
    };
    let source = std::error::Error::source(error)
        .map(|s| first_line(&s.to_string()))
        .unwrap_or_default();
    if source.is_empty() {
        kind.to_owned()
    } else {
        format!("{kind}: {source}")
    }
}

fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or("").to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies_of_every_shape_are_read_verbatim() {
        let cases = [
            (
                r#"{"errorMessages":["Issue does not exist or you do not have permission to see it."],"errors":{}}"#,
                "Issue does not exist or you do not have permission to see it.",
            ),
            (
                r#"{"errorMessages":[],"errors":{"summary":"You must specify a summary of the issue."}}"#,
                "summary: You must specify a summary of the issue.",
            ),
            (
                r#"{"errors":[{"status":404,"code":"NOT_FOUND","title":"Not Found","detail":"No page 7"}]}"#,
                "Not Found: No page 7",
            ),
            (
                r#"{"statusCode":409,"message":"Version must be incremented on update."}"#,
                "Version must be incremented on update.",
            ),
            ("<html>\nBad gateway</html>", "<html>"),
        ];
        for (body, expected) in cases {
            assert_eq!(error_messages(body), expected, "{body}");
        }
    }

    #[test]
    fn failures_name_their_http_status_and_say_what_to_do() {
        let status = |status| AtlassianError::Status {
            product: "Jira",
            status,
            what: "issue PROJ-9".into(),
            message: "gone".into(),
        };
        let cases: [(AtlassianError, &str, &str); 5] = [
            (
                status(404),
                "not found",
                "issue PROJ-9 was not found (HTTP 404): gone",
            ),
            (
                status(401),
                "unauthorized",
                "claude-enterprise login atlassian",
            ),
            (
                status(400),
                "invalid",
                "Jira refused issue PROJ-9 (HTTP 400): gone",
            ),
            (status(503), "upstream", "HTTP 503"),
            (
                AtlassianError::NoCredentials,
                "unauthorized",
                "ATLASSIAN_API_TOKEN",
            ),
        ];
        for (error, kind, text) in cases {
            let got = match error.http_status() {
                404 => "not found",
                401 => "unauthorized",
                400 => "invalid",
                _ => "upstream",
            };
            assert_eq!(got, kind, "{error}");
            assert!(error.to_string().contains(text), "{error}");
        }
    }

    /// An OAuth grant goes through the API gateway at the configured site's cloud id, keeping
    /// the site's context path; other credentials go to the site itself.
    #[tokio::test]
    async fn oauth_grants_route_through_the_gateway_of_the_configured_site() {
        let grant: AtlassianGrant = serde_json::from_value(serde_json::json!({
            "client_id": "app", "client_secret": "s", "access_token": "at",
            "refresh_token": null, "expires_at": null,
            "sites": [{"id": "cloud-1", "url": "https://acme.atlassian.net", "name": "acme"}]
        }))
        .unwrap();
        let oauth = Credential::OAuth(grant);
        let pat = Credential::Bearer {
            token: "pat".into(),
        };
        let cases = [
            (
                Product::Jira,
                "https://acme.atlassian.net",
                &oauth,
                Ok("https://api.atlassian.com/ex/jira/cloud-1"),
            ),
            (
                Product::Confluence,
                "https://acme.atlassian.net/wiki/",
                &oauth,
                Ok("https://api.atlassian.com/ex/confluence/cloud-1/wiki"),
            ),
            (
                Product::Jira,
                "https://jira.corp.example/",
                &pat,
                Ok("https://jira.corp.example"),
            ),
            (
                Product::Confluence,
                "https://other.atlassian.net/wiki",
                &oauth,
                Err(
                    "does not cover https://other.atlassian.net/wiki (it covers: https://acme.atlassian.net); set `confluence.url`",
                ),
            ),
        ];
        for (product, url, credential, expected) in cases {
            let site = Site {
                product,
                base_url: Some(url.to_owned()),
                deployment: Deployment::Cloud,
                timeout: Duration::from_secs(1),
                max_retries: 0,
                max_retry_after: Duration::ZERO,
            };
            let client = AtlassianClient::new(site, Some(credential.clone())).unwrap();
            match (client.route(url, credential).await, expected) {
                (Ok((base, authorization)), Ok(expected)) => {
                    assert_eq!(base, expected);
                    assert!(matches!(authorization, Authorization::Bearer(_)));
                }
                (Err(e), Err(expected)) => {
                    let text = e.to_string();
                    assert!(text.contains(expected), "{text}");
                    assert!(text.contains("claude-enterprise login atlassian"), "{text}");
                }
                (got, expected) => panic!(
                    "{url}: got {:?}, expected {expected:?}",
                    got.map(|(base, _)| base)
                ),
            }
        }
    }
}
