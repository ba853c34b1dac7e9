//! The GitHub REST client: octocrab for transport, auth and base URL (github.com or GitHub
//! Enterprise Server), with this server's error policy on top: bounded retries with backoff for
//! 5xx and transport failures on reads, rate limits waited out within a bound or reported with
//! the reset time, a timeout on every request, and upstream errors turned into messages that
//! say what to do next.

use std::time::Duration;

use governance::{config::GithubConfig, server::ToolError};
use http::{HeaderMap, Method, StatusCode};
use octocrab::Octocrab;
use serde_json::Value;

/// The command that fixes missing or rejected credentials.
const LOGIN_HINT: &str = "set GITHUB_TOKEN or run `claude-enterprise login github`";

/// Checks that `api_url` is an http(s) URL the client can be built with.
pub fn check_api_url(api_url: &str) -> Result<(), String> {
    let uri: http::Uri = api_url
        .parse()
        .map_err(|e| format!("github.api_url `{api_url}` is not a URL: {e}"))?;
    match (uri.scheme_str(), uri.host()) {
        (Some("https" | "http"), Some(_)) => Ok(()),
        _ => Err(format!(
            "github.api_url `{api_url}` must be an http(s) URL such as https://api.github.com"
        )),
    }
}

/// A configured GitHub client.
pub struct GithubClient {
    octocrab: Octocrab,
    has_token: bool,
    timeout: Duration,
    max_retries: u32,
    max_rate_limit_wait: Duration,
}

impl GithubClient {
    /// Builds the client for `config.api_url` with `token` (from `GITHUB_TOKEN`).
    pub fn new(config: &GithubConfig, token: Option<String>) -> Result<Self, String> {
        let mut builder = Octocrab::builder()
            .base_uri(config.api_url.as_str())
            .map_err(|e| format!("github.api_url `{}`: {e}", config.api_url))?
            .set_connect_timeout(Some(Duration::from_secs(config.timeout_secs)))
            // Without an Accept header some endpoints (contents) have no default media type.
            .add_header(http::header::ACCEPT, "application/json".to_owned())
            .add_header(
                http::HeaderName::from_static("x-github-api-version"),
                "2022-11-28".to_owned(),
            );
        let has_token = token.is_some();
        if let Some(token) = token {
            builder = builder.personal_token(token);
        }
        let octocrab = builder
            .build()
            .map_err(|e| format!("cannot build the GitHub client: {e}"))?;
        Ok(Self {
            octocrab,
            has_token,
            timeout: Duration::from_secs(config.timeout_secs),
            max_retries: config.max_retries,
            max_rate_limit_wait: Duration::from_secs(config.max_rate_limit_wait_secs),
        })
    }

    /// `GET path` (path and query, relative to the API base), the JSON body on 2xx.
    pub async fn get(&self, path: &str, what: &str) -> Result<Value, ToolError> {
        self.send(Method::GET, path, None, what).await
    }

    /// `POST path` with a JSON body, never retried once sent: a retry could duplicate it.
    pub async fn post(&self, path: &str, body: &Value, what: &str) -> Result<Value, ToolError> {
        self.send(Method::POST, path, Some(body), what).await
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        what: &str,
    ) -> Result<Value, ToolError> {
        if !self.has_token {
            return Err(ToolError::Unauthorized(format!(
                "no GitHub token: {LOGIN_HINT}"
            )));
        }
        let idempotent = method == Method::GET;
        let mut attempt = 0u32;
        let mut waited_for_rate_limit = false;
        loop {
            attempt += 1;
            let sent = tokio::time::timeout(self.timeout, async {
                let response = match &method {
                    &Method::POST => self.octocrab._post(path, body).await,
                    _ => self.octocrab._get(path).await,
                }?;
                let status = response.status();
                let headers = response.headers().clone();
                let text = self.octocrab.body_to_string(response).await?;
                Ok::<_, octocrab::Error>((status, headers, text))
            })
            .await;
            let retry_note = match sent {
                Err(_elapsed) => format!("timed out after {} s", self.timeout.as_secs()),
                Ok(Err(e)) => format!("could not be reached: {}", transport_error(&e)),
                Ok(Ok((status, headers, text))) => {
                    if status.is_success() {
                        return Ok(if text.trim().is_empty() {
                            Value::Null
                        } else {
                            serde_json::from_str(&text).map_err(|e| {
                                ToolError::Upstream(format!(
                                    "GitHub answered {what} with a body that is not JSON: {e}"
                                ))
                            })?
                        });
                    }
                    if let Some(reset) = rate_limit_reset(status, &headers) {
                        let wait = reset.wait;
                        if !waited_for_rate_limit && wait <= self.max_rate_limit_wait {
                            waited_for_rate_limit = true;
                            tracing::info!(
                                wait_secs = wait.as_secs(),
                                "GitHub rate limit: waiting"
                            );
                            tokio::time::sleep(wait).await;
                            attempt -= 1;
                            continue;
                        }
                        return Err(ToolError::Upstream(format!(
                            "GitHub rate limit exhausted for {what}; it resets at {} (in {} s). \
                             Try again then.",
                            reset.at,
                            wait.as_secs()
                        )));
                    }
                    if !status.is_server_error() {
                        return Err(map_status(status, &text, what));
                    }
                    format!("answered {}", status.as_u16())
                }
            };
            if !idempotent {
                return Err(ToolError::Upstream(format!(
                    "GitHub {retry_note} while handling {what}. It may or may not have been \
                     applied: check before trying again."
                )));
            }
            if attempt > self.max_retries {
                return Err(ToolError::Upstream(format!(
                    "GitHub {retry_note} for {what} ({attempt} attempts); try again later."
                )));
            }
            let backoff = Duration::from_millis(200 * 2u64.pow(attempt - 1));
            tracing::warn!(%retry_note, attempt, "retrying GitHub request after {backoff:?}");
            tokio::time::sleep(backoff).await;
        }
    }
}

/// Transport failures without the token-bearing request in them.
fn transport_error(e: &octocrab::Error) -> String {
    let text = e.to_string();
    text.lines().next().unwrap_or("transport error").to_owned()
}

struct RateLimitReset {
    at: String,
    wait: Duration,
}

/// A 403 or 429 that is a rate limit: exhausted `x-ratelimit-remaining`, or `retry-after`.
fn rate_limit_reset(status: StatusCode, headers: &HeaderMap) -> Option<RateLimitReset> {
    if status != StatusCode::FORBIDDEN && status != StatusCode::TOO_MANY_REQUESTS {
        return None;
    }
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<i64>().ok())
    };
    let now = chrono::Utc::now().timestamp();
    let reset_epoch = if let Some(after) = header("retry-after") {
        now + after.max(0)
    } else if header("x-ratelimit-remaining") == Some(0) {
        header("x-ratelimit-reset")?
    } else if status == StatusCode::TOO_MANY_REQUESTS {
        now + 60
    } else {
        return None;
    };
    let at = chrono::DateTime::from_timestamp(reset_epoch, 0)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_else(|| reset_epoch.to_string());
    Some(RateLimitReset {
        at,
        wait: Duration::from_secs((reset_epoch - now).max(0) as u64 + 1),
    })
}

/// GitHub's error body (`message`, `errors`) made readable, per status.
fn map_status(status: StatusCode, body: &str, what: &str) -> ToolError {
    let parsed: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let mut message = parsed["message"].as_str().unwrap_or("").to_owned();
    if let Some(errors) = parsed["errors"].as_array() {
        let details: Vec<String> = errors
            .iter()
            .map(|e| {
                e["message"]
                    .as_str()
                    .map(str::to_owned)
                    .unwrap_or_else(|| e.to_string())
            })
            .collect();
        if !details.is_empty() {
            message = format!("{message} ({})", details.join("; "));
        }
    }
    match status {
        StatusCode::UNAUTHORIZED => {
            ToolError::Unauthorized(format!("GitHub rejected the token: {LOGIN_HINT}"))
        }
        StatusCode::NOT_FOUND => ToolError::NotFound(format!(
            "{what} was not found on GitHub (or the token cannot see it)"
        )),
        StatusCode::FORBIDDEN => ToolError::Upstream(format!(
            "GitHub refused {what} (403): {message}. The token may lack the scope or SSO \
             authorization for this organization."
        )),
        _ => ToolError::Upstream(format!(
            "GitHub rejected {what} ({}): {message}",
            status.as_u16()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limits_are_recognised() {
        let mut h = HeaderMap::new();
        assert!(rate_limit_reset(StatusCode::FORBIDDEN, &h).is_none());
        h.insert("x-ratelimit-remaining", "0".parse().unwrap());
        let reset = chrono::Utc::now().timestamp() + 30;
        h.insert("x-ratelimit-reset", reset.to_string().parse().unwrap());
        let r = rate_limit_reset(StatusCode::FORBIDDEN, &h).unwrap();
        assert!(r.wait.as_secs() >= 29 && r.wait.as_secs() <= 32);
        let mut h = HeaderMap::new();
        h.insert("retry-after", "2".parse().unwrap());
        assert_eq!(
            rate_limit_reset(StatusCode::TOO_MANY_REQUESTS, &h)
                .unwrap()
                .wait
                .as_secs(),
            3
        );
    }

    #[test]
    fn errors_say_what_to_do() {
        let e = map_status(StatusCode::UNAUTHORIZED, "{}", "x").to_string();
        assert!(e.contains("claude-enterprise login github"), "{e}");
        let e = map_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            r#"{"message":"Validation Failed","errors":[{"message":"No commits between main and x"}]}"#,
            "the pull request",
        )
        .to_string();
        assert!(
            e.contains("Validation Failed (No commits between main and x)"),
            "{e}"
        );
        assert!(matches!(
            map_status(StatusCode::NOT_FOUND, "", "x"),
            ToolError::NotFound(_)
        ));
    }
}
