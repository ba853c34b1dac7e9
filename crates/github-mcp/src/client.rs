//! The GitHub REST client: octocrab for transport, auth and base URL (github.com or GitHub
//! Enterprise Server), with this server's policies on top: URLs built only from checked segments
//! ([`GithubClient::url`]), the workspace's one retry and rate-limit policy (`rest`), no
//! redirect followed, a timeout on every request, and upstream errors turned into messages that
//! say what to do next.

use std::time::Duration;

use governance::server::ToolError;

use crate::config::GithubConfig;
use http::{HeaderMap, Method, StatusCode};
use octocrab::Octocrab;
use percent_encoding::percent_decode_str;
use rest::{Attempt, Failed, Failure, RateLimit, RetryPolicy, Stop};
use serde_json::Value;
use url::Url;

/// The command that fixes missing or rejected credentials.
const LOGIN_HINT: &str = "set GITHUB_TOKEN or run `claude-enterprise login github`";

/// How long GitHub asks a client to wait after a secondary rate limit that states no time
/// ("wait at least one minute", GitHub's REST documentation).
const SECONDARY_RATE_LIMIT_WAIT: Duration = Duration::from_secs(60);

/// Parses `api_url` as the base every request URL is built on.
pub fn check_api_url(api_url: &str) -> Result<Url, String> {
    let url =
        Url::parse(api_url).map_err(|e| format!("github.api_url `{api_url}` is not a URL: {e}"))?;
    let usable = matches!(url.scheme(), "https" | "http")
        && url.host().is_some()
        && url.query().is_none()
        && url.fragment().is_none()
        && url.username().is_empty()
        && url.password().is_none();
    if !usable {
        return Err(format!(
            "github.api_url `{api_url}` must be an http(s) URL without credentials, query or \
             fragment, such as https://api.github.com or https://HOST/api/v3"
        ));
    }
    Ok(url)
}

/// A configured GitHub client.
pub struct GithubClient {
    octocrab: Octocrab,
    base: Url,
    has_token: bool,
    timeout: Duration,
    policy: RetryPolicy,
    max_rate_limit_wait_secs: u64,
}

/// Why one attempt failed, kept until the retry policy says whether it stands.
enum Problem {
    /// An answer no retry mends (a 4xx other than a rate limit, a body that is not JSON).
    Final(ToolError),
    /// No answer within the timeout, or none at all.
    NoAnswer(String),
    /// A 5xx.
    Server(StatusCode),
    /// A rate limit.
    RateLimited(RateLimit),
}

impl GithubClient {
    /// Builds the client for `config.api_url` with `token` (from `GITHUB_TOKEN`).
    pub fn new(config: &GithubConfig, token: Option<String>) -> Result<Self, String> {
        let base = check_api_url(&config.api_url)?;
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
            base,
            has_token,
            timeout: Duration::from_secs(config.timeout_secs),
            policy: RetryPolicy::new(
                config.max_retries,
                Duration::from_secs(config.max_rate_limit_wait_secs),
            ),
            max_rate_limit_wait_secs: config.max_rate_limit_wait_secs,
        })
    }

    /// The URL of `segments` under the API base, with `query` pairs: each segment
    /// percent-encoded as one segment (a `/` or `%` in it is data), each query pair
    /// form-encoded. Refused when the URL would not hold exactly these segments (the `url`
    /// crate drops `.` and `..` segments; callers pass only checked names, so this is a guard
    /// that what was checked is what is sent).
    pub fn url(&self, segments: &[&str], query: &[(&str, &str)]) -> Result<Url, ToolError> {
        url_under(&self.base, segments, query)
    }

    /// `GET url`, the JSON body on 2xx.
    pub async fn get(&self, url: Url, what: &str) -> Result<Value, ToolError> {
        self.send(Method::GET, url, None, what).await
    }

    /// `POST url` with a JSON body, never resent once it may have arrived: a retry could
    /// duplicate it.
    pub async fn post(&self, url: Url, body: &Value, what: &str) -> Result<Value, ToolError> {
        self.send(Method::POST, url, Some(body), what).await
    }

    async fn send(
        &self,
        method: Method,
        url: Url,
        body: Option<&Value>,
        what: &str,
    ) -> Result<Value, ToolError> {
        if !self.has_token {
            return Err(ToolError::Unauthorized(format!(
                "no GitHub token: {LOGIN_HINT}"
            )));
        }
        let uri: http::Uri = url.as_str().parse().map_err(|e| {
            ToolError::InvalidArguments(format!("the request URL for {what} is not valid: {e}"))
        })?;
        let sent = self
            .policy
            .run(&method, || self.attempt(&method, uri.clone(), body, what))
            .await;
        sent.map_err(|failed| self.give_up(failed, what))
    }

    /// One request: the JSON on 2xx, else what went wrong, sorted for the retry policy.
    async fn attempt(
        &self,
        method: &Method,
        uri: http::Uri,
        body: Option<&Value>,
        what: &str,
    ) -> Result<Value, Attempt<Problem>> {
        let sent = tokio::time::timeout(self.timeout, async {
            let response = match *method {
                Method::POST => self.octocrab._post(uri, body).await,
                _ => self.octocrab._get(uri).await,
            }?;
            let status = response.status();
            let headers = response.headers().clone();
            let text = self.octocrab.body_to_string(response).await?;
            Ok::<_, octocrab::Error>((status, headers, text))
        })
        .await;
        let (status, headers, text) = match sent {
            Err(_elapsed) => {
                let note = format!("timed out after {} s", self.timeout.as_secs());
                return Err(Attempt::Failed(Failure::Transport, Problem::NoAnswer(note)));
            }
            Ok(Err(e)) => {
                let note = format!("could not be reached: {}", transport_error(&e));
                return Err(Attempt::Failed(Failure::Transport, Problem::NoAnswer(note)));
            }
            Ok(Ok(answer)) => answer,
        };
        if status.is_success() {
            if text.trim().is_empty() {
                return Ok(Value::Null);
            }
            return serde_json::from_str(&text).map_err(|e| {
                Attempt::Final(Problem::Final(ToolError::Upstream(format!(
                    "GitHub answered {what} with a body that is not JSON: {e}"
                ))))
            });
        }
        if let Some(limit) = github_rate_limit(status, &headers, &text) {
            return Err(Attempt::Failed(
                Failure::RateLimited(limit.clone()),
                Problem::RateLimited(limit),
            ));
        }
        if status.is_server_error() {
            return Err(Attempt::Failed(
                Failure::Server(status.as_u16()),
                Problem::Server(status),
            ));
        }
        Err(Attempt::Final(Problem::Final(map_status(
            status, &text, what,
        ))))
    }

    /// The error that stands when the policy sends nothing more.
    fn give_up(&self, failed: Failed<Problem>, what: &str) -> ToolError {
        let note = match failed.error {
            Problem::Final(error) => return error,
            Problem::NoAnswer(note) => note,
            Problem::Server(status) => format!("answered {}", status.as_u16()),
            Problem::RateLimited(limit) => {
                let resets = match (limit.resets_at, limit.wait) {
                    (Some(at), Some(wait)) => format!(
                        "it resets at {} (in {} s)",
                        at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                        wait.as_secs()
                    ),
                    _ => "it states no reset time".to_owned(),
                };
                let why = match failed.stop {
                    Some(Stop::RateLimitTooLong(_)) => format!(
                        "longer than this server waits (github.max_rate_limit_wait_secs = {})",
                        self.max_rate_limit_wait_secs
                    ),
                    Some(Stop::Exhausted { attempts }) => {
                        format!("still in force after {attempts} attempts")
                    }
                    _ => "not waited out".to_owned(),
                };
                return ToolError::Upstream(format!(
                    "GitHub rate limit exhausted for {what}; {resets}, {why}. Try again then."
                ));
            }
        };
        match failed.stop {
            Some(Stop::Exhausted { attempts }) => ToolError::Upstream(format!(
                "GitHub {note} for {what} ({attempts} attempts); try again later."
            )),
            _ => ToolError::Upstream(format!(
                "GitHub {note} while handling {what}. It may or may not have been applied: \
                 check before trying again."
            )),
        }
    }
}

/// `segments` appended to `base`'s path, `query` form-encoded; refused unless the result holds
/// exactly `base`'s segments followed by `segments`.
fn url_under(base: &Url, segments: &[&str], query: &[(&str, &str)]) -> Result<Url, ToolError> {
    let mut url = base.clone();
    url.path_segments_mut()
        .map_err(|()| ToolError::Unavailable("github.api_url cannot be a base URL".into()))?
        .pop_if_empty()
        .extend(segments);
    if !query.is_empty() {
        url.query_pairs_mut().extend_pairs(query);
    }
    let expected = base
        .path_segments()
        .into_iter()
        .flatten()
        .filter(|s| !s.is_empty())
        .map(|s| percent_decode_str(s).decode_utf8_lossy().into_owned())
        .chain(segments.iter().map(|s| (*s).to_owned()));
    let built = url
        .path_segments()
        .into_iter()
        .flatten()
        .map(|s| percent_decode_str(s).decode_utf8_lossy().into_owned());
    if !expected.eq(built) {
        return Err(ToolError::InvalidArguments(format!(
            "a name in the request would change which resource it addresses ({}): send plain \
             names without `.` or `..` segments",
            segments.join(" | ")
        )));
    }
    Ok(url)
}

/// Transport failures without the token-bearing request in them.
fn transport_error(e: &octocrab::Error) -> String {
    let text = e.to_string();
    text.lines().next().unwrap_or("transport error").to_owned()
}

/// A GitHub rate limit: what the shared policy reads from the headers, or a 403 whose body
/// says it is a secondary rate limit without stating a time (GitHub: wait at least a minute).
fn github_rate_limit(status: StatusCode, headers: &HeaderMap, body: &str) -> Option<RateLimit> {
    let now = chrono::Utc::now();
    rest::rate_limit(status, headers, now).or_else(|| {
        let message: Value = serde_json::from_str(body).unwrap_or(Value::Null);
        let says = message["message"]
            .as_str()
            .is_some_and(|m| m.to_ascii_lowercase().contains("rate limit"));
        (status == StatusCode::FORBIDDEN && says)
            .then(|| RateLimit::after(SECONDARY_RATE_LIMIT_WAIT, now))
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
        // Followed, a redirect (a renamed or transferred repository) would answer with a
        // repository the scope check never saw.
        s if s.is_redirection() => ToolError::Upstream(format!(
            "GitHub answered {what} with a redirect ({}): the repository was probably renamed \
             or transferred. Redirects are not followed, since the new place was not checked \
             against your scope: find the repository's current name (github_search_repositories) \
             and ask for that.",
            s.as_u16()
        )),
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
    fn github_rate_limits_are_recognised() {
        let headers = |pairs: &[(&'static str, &str)]| {
            let mut h = HeaderMap::new();
            for (k, v) in pairs {
                h.insert(*k, v.parse().unwrap());
            }
            h
        };
        let reset = (chrono::Utc::now().timestamp() + 30).to_string();
        let secondary = r#"{"message":"You have exceeded a secondary rate limit. Please wait a few minutes before you try again."}"#;
        // (status, headers, body, wait in seconds when a rate limit)
        type Case<'a> = (
            u16,
            &'a [(&'static str, &'a str)],
            &'a str,
            Option<(u64, u64)>,
        );
        let cases: &[Case] = &[
            (
                403,
                &[],
                r#"{"message":"Resource not accessible by integration"}"#,
                None,
            ),
            (404, &[], "", None),
            (
                403,
                &[
                    ("x-ratelimit-remaining", "0"),
                    ("x-ratelimit-reset", &reset),
                ],
                "",
                Some((29, 32)),
            ),
            (429, &[("retry-after", "2")], "", Some((2, 2))),
            (403, &[("retry-after", "30")], secondary, Some((30, 30))),
            (403, &[], secondary, Some((60, 60))),
        ];
        for (status, pairs, body, wait) in cases {
            let got = github_rate_limit(
                StatusCode::from_u16(*status).unwrap(),
                &headers(pairs),
                body,
            );
            match (got.and_then(|l| l.wait), wait) {
                (None, None) => {}
                (Some(w), Some((lo, hi))) => {
                    assert!(
                        (*lo..=*hi).contains(&w.as_secs()),
                        "{status} {pairs:?}: {w:?}"
                    )
                }
                (got, want) => panic!("{status} {pairs:?}: got {got:?}, wanted {want:?}"),
            }
        }
    }

    /// Segments are encoded as one segment each, query values form-encoded, and a segment the
    /// `url` crate would drop is refused rather than silently addressing another resource.
    #[test]
    fn urls_hold_exactly_the_checked_segments() {
        // (base, segments, query, the URL or words of the refusal)
        type Case<'a> = (
            &'a str,
            &'a [&'a str],
            &'a [(&'a str, &'a str)],
            Result<&'a str, &'a str>,
        );
        let cases: &[Case] = &[
            (
                "https://api.github.com",
                &["repos", "octo", "my.repo", "contents", ".github", "ci.yml"],
                &[("ref", "feature/x&y=1")],
                Ok(
                    "https://api.github.com/repos/octo/my.repo/contents/.github/ci.yml?ref=feature%2Fx%26y%3D1",
                ),
            ),
            (
                "https://ghes.corp.example/api/v3/",
                &[
                    "repos",
                    "octo",
                    "r",
                    "contents",
                    "ドキュメント",
                    "a b%2e%2e.md",
                ],
                &[],
                Ok(
                    "https://ghes.corp.example/api/v3/repos/octo/r/contents/%E3%83%89%E3%82%AD%E3%83%A5%E3%83%A1%E3%83%B3%E3%83%88/a%20b%252e%252e.md",
                ),
            ),
            (
                "https://api.github.com",
                &["search", "repositories"],
                &[("q", "org:acme language:rust"), ("per_page", "5")],
                Ok(
                    "https://api.github.com/search/repositories?q=org%3Aacme+language%3Arust&per_page=5",
                ),
            ),
            (
                "https://api.github.com",
                &["repos", "acme", "..", "pulls"],
                &[],
                Err("would change which resource"),
            ),
            (
                "https://api.github.com",
                &["repos", "acme", ".", "pulls"],
                &[],
                Err("would change which resource"),
            ),
            (
                "https://api.github.com",
                &["repos", "a/b", "pulls"],
                &[],
                Ok("https://api.github.com/repos/a%2Fb/pulls"),
            ),
        ];
        for (base, segments, query, expected) in cases {
            let got = url_under(&Url::parse(base).unwrap(), segments, query);
            match (got, expected) {
                (Ok(url), Ok(want)) => {
                    assert_eq!(url.as_str(), *want);
                    let _: http::Uri = url.as_str().parse().unwrap();
                }
                (Err(e), Err(words)) => assert!(e.to_string().contains(words), "{e}"),
                (got, want) => panic!("{segments:?}: got {got:?}, wanted {want:?}"),
            }
        }
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
        let e = map_status(StatusCode::MOVED_PERMANENTLY, "", "acme/old").to_string();
        assert!(e.contains("renamed or transferred"), "{e}");
    }
}
