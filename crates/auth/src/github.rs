//! GitHub's OAuth device flow, on github.com or a GitHub Enterprise Server: the user enters a
//! code at `<web_url>/login/device` while the CLI polls `<web_url>/login/oauth/access_token`.
//! The protocol is RFC 8628, run by `oauth2`; GitHub differs from the RFC in one way, mended
//! here: it answers a pending or refused poll with HTTP 200 and an `error` field.

use std::time::Duration;

use chrono::{DateTime, Utc};
use oauth2::basic::BasicClient;
use openidconnect::{
    ClientId, DeviceAuthorizationUrl, HttpResponse, OAuth2TokenResponse, Scope, TokenUrl,
};

use crate::{
    Error, Result,
    config::GithubOAuthConfig,
    credentials::GithubEntry,
    http::{HttpClient, request_error},
};

/// What the user is asked to do.
#[derive(Debug, Clone)]
pub struct DeviceCode {
    /// Where to enter the code (`https://github.com/login/device`).
    pub verification_uri: String,
    /// The code.
    pub user_code: String,
    /// How long the code is valid.
    pub expires_in: Duration,
}

/// The web host of a GitHub REST API URL: `https://api.github.com` -> `https://github.com`,
/// `https://HOST/api/v3` -> `https://HOST`.
pub fn web_url_for(api_url: &str) -> String {
    let (scheme, rest) = api_url.split_once("://").unwrap_or(("https", api_url));
    let host = rest.split('/').next().unwrap_or_default();
    let host = host.strip_prefix("api.").unwrap_or(host);
    format!("{scheme}://{host}")
}

/// The host part of a web URL (`https://ghe.corp` -> `ghe.corp`): what the keychain entry
/// records the token is for.
pub fn host_of(web_url: &str) -> String {
    let rest = web_url.split_once("://").map_or(web_url, |(_, r)| r);
    rest.split('/').next().unwrap_or_default().to_owned()
}

/// GitHub answers device-flow errors (`authorization_pending`, `slow_down`, `access_denied`,
/// `expired_token`) with HTTP 200; RFC 6749 and `oauth2` expect 400. A 200 whose JSON body
/// names an `error` becomes the 400 it stands for.
pub(crate) fn github_errors_as_400(response: HttpResponse) -> HttpResponse {
    let is_error = response.status() == http::StatusCode::OK
        && serde_json::from_slice::<serde_json::Value>(response.body())
            .ok()
            .is_some_and(|body| body.get("error").is_some_and(|e| e.is_string()));
    if !is_error {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    parts.status = http::StatusCode::BAD_REQUEST;
    HttpResponse::from_parts(parts, body)
}

/// Runs the device flow for `web_url` (see [`web_url_for`]): `announce` shows the code; polls
/// until the user enters it, refuses, or `login_timeout_secs` pass.
pub async fn device_login(
    config: &GithubOAuthConfig,
    web_url: &str,
    announce: impl FnOnce(&DeviceCode),
) -> Result<GithubEntry> {
    let client_id = config.client_id.clone().ok_or_else(|| Error::Token {
        what: "the GitHub device flow",
        message: "no OAuth app is configured: set `oauth.github.client_id` (an OAuth app or \
                  GitHub App with the device flow enabled), or pipe a token to `login github \
                  --with-token`"
            .into(),
    })?;
    let web_url = web_url.trim_end_matches('/');
    let endpoint = |path: &str| format!("{web_url}{path}");
    let bad_url = |e: url::ParseError| Error::Token {
        what: "the GitHub device flow",
        message: format!("`{web_url}` is not a URL: {e}"),
    };
    let client = BasicClient::new(ClientId::new(client_id))
        .set_device_authorization_url(
            DeviceAuthorizationUrl::new(endpoint("/login/device/code")).map_err(bad_url)?,
        )
        .set_token_uri(TokenUrl::new(endpoint("/login/oauth/access_token")).map_err(bad_url)?)
        .set_auth_type(openidconnect::AuthType::RequestBody);
    let http = HttpClient::new(config.ca_file.as_deref()).map_err(|message| Error::Token {
        what: "the GitHub device flow",
        message,
    })?;
    let caller = http.caller_adapting(github_errors_as_400);
    let details: oauth2::StandardDeviceAuthorizationResponse = client
        .exchange_device_code()
        .add_scopes(config.scopes.iter().cloned().map(Scope::new))
        .request_async(&caller)
        .await
        .map_err(|e| request_error("the GitHub device code request", e))?;
    announce(&DeviceCode {
        verification_uri: details.verification_uri().to_string(),
        user_code: details.user_code().secret().clone(),
        expires_in: details.expires_in(),
    });
    let token = client
        .exchange_device_access_token(&details)
        .request_async(
            &caller,
            tokio::time::sleep,
            Some(Duration::from_secs(config.login_timeout_secs)),
        )
        .await
        .map_err(|e| request_error("the GitHub device login", e))?;
    let expires_at: Option<DateTime<Utc>> = token
        .expires_in()
        .and_then(|d| chrono::Duration::from_std(d).ok())
        .map(|d| Utc::now() + d);
    Ok(GithubEntry {
        token: token.access_token().secret().clone(),
        host: host_of(web_url),
        expires_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn web_urls_from_api_urls() {
        for (api, web) in [
            ("https://api.github.com", "https://github.com"),
            (
                "https://ghe.corp.example/api/v3",
                "https://ghe.corp.example",
            ),
            ("http://127.0.0.1:4010", "http://127.0.0.1:4010"),
        ] {
            assert_eq!(web_url_for(api), web, "{api}");
            assert!(web.ends_with(&host_of(web)));
        }
    }

    /// GitHub's own answers (docs.github.com, "Authorizing OAuth apps", device flow errors),
    /// and what `oauth2` then sees.
    #[test]
    fn github_device_errors_with_200_become_400() {
        let answer = |status: u16, body: &str| {
            http::Response::builder()
                .status(status)
                .body(body.as_bytes().to_vec())
                .unwrap()
        };
        for (status, body, expected) in [
            (
                200,
                r#"{"error":"authorization_pending","error_description":"The authorization request is still pending.","error_uri":"https://docs.github.com"}"#,
                400,
            ),
            (200, r#"{"error":"slow_down","interval":10}"#, 400),
            (200, r#"{"error":"access_denied"}"#, 400),
            (
                200,
                r#"{"access_token":"gho_x","token_type":"bearer","scope":"repo"}"#,
                200,
            ),
            (400, r#"{"error":"authorization_pending"}"#, 400),
            (200, "not json", 200),
            (500, r#"{"error":"x"}"#, 500),
        ] {
            let adapted = github_errors_as_400(answer(status, body));
            assert_eq!(adapted.status().as_u16(), expected, "{body}");
            assert_eq!(adapted.body(), body.as_bytes());
        }
    }
}
