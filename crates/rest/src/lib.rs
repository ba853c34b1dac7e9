//! The one retry and rate-limit policy of the servers' REST clients (GitHub through octocrab,
//! Jira and Confluence through reqwest).
//!
//! The two clients speak through different HTTP stacks, so what is shared is the decision and
//! the wait, not a middleware: a client sends one attempt, sorts what went wrong into a
//! [`Failure`], and asks its [`Attempts`] what to do next. The rules:
//!
//! - A success, or an error answer that is not a 5xx or a rate limit, is final.
//! - 5xx answers and transport failures (no answer, timeout) are retried only for safe methods
//!   (GET, HEAD): a POST or PUT that got no clean answer may have been applied, and sending it
//!   again could create a second comment or pull request. Such a write is reported, never resent.
//! - A rate limit (429, or a 403 carrying GitHub's rate-limit headers) means the request was not
//!   processed, so it is retried for every method, after the wait the upstream states
//!   (`Retry-After`, else `x-ratelimit-reset`) when that wait is within the configured maximum;
//!   a longer one is reported at once with the time it ends. A rate limit that states no time
//!   waits on the backoff schedule.
//! - Between retries of unstated length: exponential backoff with jitter (`backon`), so that
//!   servers started together do not retry in step.
//! - Every retry, whatever its cause, counts against `max_retries`.

use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBackoff, ExponentialBuilder};
use chrono::{DateTime, Utc};
use http::{HeaderMap, Method, StatusCode};

/// The first backoff delay; it doubles per retry (with up to as much again of jitter).
pub const BASE_DELAY: Duration = Duration::from_millis(200);
/// The longest backoff delay.
pub const MAX_DELAY: Duration = Duration::from_secs(5);

/// How many times, and how long, a client tries one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// Longest rate-limit wait sat out; a longer one is reported with its end.
    pub max_rate_limit_wait: Duration,
    /// First backoff delay.
    pub base_delay: Duration,
    /// Longest backoff delay.
    pub max_delay: Duration,
}

impl RetryPolicy {
    /// The policy with the standard backoff ([`BASE_DELAY`] doubling up to [`MAX_DELAY`]).
    pub fn new(max_retries: u32, max_rate_limit_wait: Duration) -> Self {
        Self {
            max_retries,
            max_rate_limit_wait,
            base_delay: BASE_DELAY,
            max_delay: MAX_DELAY,
        }
    }

    /// The state of one request sent with `method`.
    pub fn start(&self, method: &Method) -> Attempts {
        Attempts {
            policy: *self,
            // Safe methods (RFC 9110 §9.2.1) change nothing upstream: sending one twice is harmless.
            safe: method == Method::GET || method == Method::HEAD,
            sent: 1,
            backoff: ExponentialBuilder::new()
                .with_min_delay(self.base_delay)
                .with_max_delay(self.max_delay)
                .without_max_times()
                .with_jitter()
                .build(),
        }
    }

    /// Sends with `attempt` until it succeeds, fails for good, or this policy stops it; sleeps
    /// between attempts. On failure the last attempt's error is returned with why it stood.
    pub async fn run<T, E, F, Fut>(&self, method: &Method, mut attempt: F) -> Result<T, Failed<E>>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, Attempt<E>>>,
    {
        let mut attempts = self.start(method);
        loop {
            let (failure, error) = match attempt().await {
                Ok(value) => return Ok(value),
                Err(Attempt::Final(error)) => return Err(Failed { error, stop: None }),
                Err(Attempt::Failed(failure, error)) => (failure, error),
            };
            match attempts.next(&failure) {
                Verdict::RetryAfter(wait) => {
                    tracing::info!(
                        attempt = attempts.sent(),
                        wait_ms = wait.as_millis() as u64,
                        "{failure}; retrying"
                    );
                    tokio::time::sleep(wait).await;
                    attempts.sending();
                }
                Verdict::Stop(stop) => {
                    return Err(Failed {
                        error,
                        stop: Some(stop),
                    });
                }
            }
        }
    }
}

/// What one attempt gave, when it was not a success.
#[derive(Debug)]
pub enum Attempt<E> {
    /// An error no retry can mend (4xx other than a rate limit, an unreadable answer).
    Final(E),
    /// A failure the policy may retry, with the error that stands if it does not.
    Failed(Failure, E),
}

/// The last attempt's error, and the policy's reason to stop (none for a final error).
#[derive(Debug)]
pub struct Failed<E> {
    /// The last attempt's error.
    pub error: E,
    /// Why no further attempt was made; `None` when the error was final by itself.
    pub stop: Option<Stop>,
}

/// Why one attempt failed, as far as retrying is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// No answer: refused or reset connection, timeout. The request may have been applied.
    Transport,
    /// A 5xx answer. The request may have been applied.
    Server(u16),
    /// A rate limit: the request was not processed.
    RateLimited(RateLimit),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Transport => f.write_str("no answer"),
            Failure::Server(status) => write!(f, "answered {status}"),
            Failure::RateLimited(limit) => match limit.wait {
                Some(wait) => write!(f, "rate limited for {} s", wait.as_secs()),
                None => f.write_str("rate limited"),
            },
        }
    }
}

/// What to do after a failed attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Send again after this long.
    RetryAfter(Duration),
    /// Send nothing more.
    Stop(Stop),
}

/// Why the policy sends nothing more.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stop {
    /// A write got no clean answer: it may have been applied, so it is not resent.
    Unsafe,
    /// `attempts` were sent, the most allowed.
    Exhausted {
        /// How many requests were sent.
        attempts: u32,
    },
    /// The upstream asks for a longer wait than the configured maximum.
    RateLimitTooLong(RateLimit),
}

/// The per-request state: how many were sent, where the backoff is.
#[derive(Debug)]
pub struct Attempts {
    policy: RetryPolicy,
    safe: bool,
    sent: u32,
    backoff: ExponentialBackoff,
}

impl Attempts {
    /// How many requests were sent so far.
    pub fn sent(&self) -> u32 {
        self.sent
    }

    /// What to do after `failure`. The caller sleeps the returned wait, then calls
    /// [`Attempts::sending`] as it sends again.
    pub fn next(&mut self, failure: &Failure) -> Verdict {
        let wait = match failure {
            Failure::Transport | Failure::Server(_) if !self.safe => {
                return Verdict::Stop(Stop::Unsafe);
            }
            Failure::RateLimited(limit) => match limit.wait {
                Some(wait) if wait > self.policy.max_rate_limit_wait => {
                    return Verdict::Stop(Stop::RateLimitTooLong(limit.clone()));
                }
                Some(wait) => Some(wait),
                None => None,
            },
            Failure::Transport | Failure::Server(_) => None,
        };
        if self.sent > self.policy.max_retries {
            return Verdict::Stop(Stop::Exhausted {
                attempts: self.sent,
            });
        }
        // An unbounded iterator: it always yields.
        let backoff = self.backoff.next().unwrap_or(self.policy.max_delay);
        Verdict::RetryAfter(wait.unwrap_or(backoff))
    }

    /// Counts the attempt about to be sent.
    pub fn sending(&mut self) {
        self.sent += 1;
    }
}

/// A rate limit as the upstream stated it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimit {
    /// How long to wait, when the upstream said.
    pub wait: Option<Duration>,
    /// When the limit ends, when the upstream said.
    pub resets_at: Option<DateTime<Utc>>,
}

impl RateLimit {
    /// A rate limit whose end is `wait` from `now`.
    pub fn after(wait: Duration, now: DateTime<Utc>) -> Self {
        Self {
            wait: Some(wait),
            resets_at: chrono::Duration::from_std(wait).ok().map(|d| now + d),
        }
    }

    /// The end as `2026-01-13T10:30:00Z` and as seconds from now, for messages.
    pub fn describe(&self) -> String {
        match (&self.resets_at, self.wait) {
            (Some(at), Some(wait)) => format!(
                "until {} (in {} s)",
                at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                wait.as_secs()
            ),
            (None, Some(wait)) => format!("for {} s", wait.as_secs()),
            _ => "for an unstated time".to_owned(),
        }
    }
}

/// The rate limit an answer reports, if it is one: any 429, and a 403 that carries
/// `Retry-After` or an exhausted `x-ratelimit-remaining` (GitHub's primary and secondary
/// limits). The wait is `Retry-After` (seconds or an HTTP date), else `x-ratelimit-reset`
/// (epoch seconds, as GitHub sends it, or an RFC 3339 time, as Atlassian does).
pub fn rate_limit(
    status: StatusCode,
    headers: &HeaderMap,
    now: DateTime<Utc>,
) -> Option<RateLimit> {
    let text = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    let retry_after = text("retry-after").and_then(|v| {
        if let Ok(secs) = v.parse::<u64>() {
            return Some(Duration::from_secs(secs));
        }
        let at = DateTime::parse_from_rfc2822(v).ok()?.with_timezone(&Utc);
        Some((at - now).to_std().unwrap_or(Duration::ZERO))
    });
    let exhausted = text("x-ratelimit-remaining") == Some("0");
    if status != StatusCode::TOO_MANY_REQUESTS
        && !(status == StatusCode::FORBIDDEN && (retry_after.is_some() || exhausted))
    {
        return None;
    }
    if let Some(wait) = retry_after {
        return Some(RateLimit::after(wait, now));
    }
    let reset = text("x-ratelimit-reset").and_then(|v| match v.parse::<i64>() {
        Ok(epoch) => DateTime::from_timestamp(epoch, 0),
        Err(_) => DateTime::parse_from_rfc3339(v)
            .ok()
            .map(|t| t.with_timezone(&Utc)),
    });
    Some(match reset {
        Some(at) => {
            // Epoch seconds are truncated: the limit may end up to a second after `at`.
            let wait = (at - now).to_std().unwrap_or(Duration::ZERO) + Duration::from_secs(1);
            RateLimit {
                wait: Some(wait),
                resets_at: Some(at),
            }
        }
        None => RateLimit {
            wait: None,
            resets_at: None,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn rate_limits_are_read_from_every_header_shape() {
        let now = DateTime::parse_from_rfc3339("2026-01-13T10:30:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let secs = |s| Some(Duration::from_secs(s));
        let epoch = (now.timestamp() + 30).to_string();
        // (status, headers, None when no rate limit, else the wait it states)
        type Case<'a> = (u16, &'a [(&'static str, &'a str)], Option<Option<Duration>>);
        let cases: &[Case] = &[
            // Not a rate limit.
            (403, &[], None),
            (403, &[("x-ratelimit-remaining", "12")], None),
            (500, &[("retry-after", "5")], None),
            (200, &[("x-ratelimit-remaining", "0")], None),
            // Retry-After in seconds or as an HTTP date; it wins over the reset.
            (429, &[("retry-after", "7")], Some(secs(7))),
            (
                429,
                &[("retry-after", "Tue, 13 Jan 2026 10:30:20 GMT")],
                Some(secs(20)),
            ),
            (
                429,
                &[("retry-after", "Tue, 13 Jan 2026 10:00:00 GMT")],
                Some(secs(0)),
            ),
            (
                403,
                &[("retry-after", "60"), ("x-ratelimit-remaining", "0")],
                Some(secs(60)),
            ),
            // GitHub's primary limit: remaining 0, reset as epoch seconds (+1 s of truncation).
            (
                403,
                &[
                    ("x-ratelimit-remaining", "0"),
                    ("x-ratelimit-reset", &epoch),
                ],
                Some(secs(31)),
            ),
            // Atlassian's reset as an RFC 3339 time.
            (
                429,
                &[("x-ratelimit-reset", "2026-01-13T10:31:00Z")],
                Some(secs(61)),
            ),
            // A 429 that states nothing: rate limited, for an unstated time.
            (429, &[], Some(None)),
            (429, &[("retry-after", "soon")], Some(None)),
        ];
        for (status, pairs, expected) in cases {
            let got = rate_limit(StatusCode::from_u16(*status).unwrap(), &headers(pairs), now);
            assert_eq!(
                got.as_ref().map(|l| l.wait),
                *expected,
                "{status} {pairs:?}"
            );
        }
        let limit = rate_limit(
            StatusCode::TOO_MANY_REQUESTS,
            &headers(&[("retry-after", "90")]),
            now,
        )
        .unwrap();
        assert_eq!(limit.describe(), "until 2026-01-13T10:31:30Z (in 90 s)");
    }

    #[test]
    fn reads_retry_writes_never_resend_and_rate_limits_wait_within_the_bound() {
        let policy = RetryPolicy::new(2, Duration::from_secs(10));
        let limited = |wait: Option<u64>| {
            Failure::RateLimited(RateLimit {
                wait: wait.map(Duration::from_secs),
                resets_at: None,
            })
        };
        enum Want {
            Backoff,
            Wait(u64),
            Unsafe,
            Exhausted(u32),
            TooLong,
        }
        use Want::*;
        // (method, failures in order, what the policy says after each)
        let cases: Vec<(Method, Vec<(Failure, Want)>)> = vec![
            (
                Method::GET,
                vec![
                    (Failure::Server(502), Backoff),
                    (Failure::Transport, Backoff),
                    (Failure::Server(503), Exhausted(3)),
                ],
            ),
            (Method::POST, vec![(Failure::Server(500), Unsafe)]),
            (Method::PUT, vec![(Failure::Transport, Unsafe)]),
            // A rate limit was not processed: writes wait it out too.
            (
                Method::POST,
                vec![(limited(Some(3)), Wait(3)), (Failure::Server(502), Unsafe)],
            ),
            (Method::GET, vec![(limited(Some(11)), TooLong)]),
            (Method::POST, vec![(limited(Some(3600)), TooLong)]),
            (
                Method::GET,
                vec![
                    (limited(None), Backoff),
                    (limited(Some(1)), Wait(1)),
                    (limited(Some(1)), Exhausted(3)),
                ],
            ),
        ];
        for (method, steps) in cases {
            let mut attempts = policy.start(&method);
            for (i, (failure, want)) in steps.into_iter().enumerate() {
                let got = attempts.next(&failure);
                let ok = match (&want, &got) {
                    (Backoff, Verdict::RetryAfter(d)) => {
                        // 200 ms doubling, plus up to as much again of jitter.
                        let floor = BASE_DELAY * 2u32.pow(i as u32);
                        *d >= floor && *d < floor * 2
                    }
                    (Wait(s), Verdict::RetryAfter(d)) => *d == Duration::from_secs(*s),
                    (Unsafe, Verdict::Stop(Stop::Unsafe)) => true,
                    (Exhausted(n), Verdict::Stop(Stop::Exhausted { attempts })) => n == attempts,
                    (TooLong, Verdict::Stop(Stop::RateLimitTooLong(_))) => true,
                    _ => false,
                };
                assert!(ok, "{method} step {i} ({failure}): got {got:?}");
                attempts.sending();
            }
        }
    }

    #[tokio::test(start_paused = true)]
    async fn run_sends_until_the_policy_stops() {
        let policy = RetryPolicy::new(3, Duration::from_secs(5));
        let mut sent = 0;
        let result: Result<u32, Failed<&str>> = policy
            .run(&Method::GET, || {
                sent += 1;
                let n = sent;
                async move {
                    match n {
                        1 => Err(Attempt::Failed(Failure::Server(503), "503")),
                        2 => Err(Attempt::Failed(
                            Failure::RateLimited(RateLimit::after(
                                Duration::from_secs(2),
                                Utc::now(),
                            )),
                            "429",
                        )),
                        _ => Ok(n),
                    }
                }
            })
            .await;
        assert_eq!(result.unwrap(), 3);

        let mut sent = 0;
        let failed = policy
            .run(&Method::POST, || {
                sent += 1;
                async { Err::<(), _>(Attempt::Failed(Failure::Transport, "reset")) }
            })
            .await
            .unwrap_err();
        assert_eq!(
            (sent, failed.error, failed.stop),
            (1, "reset", Some(Stop::Unsafe))
        );

        let failed = policy
            .run(&Method::GET, || async {
                Err::<(), _>(Attempt::Final("404"))
            })
            .await
            .unwrap_err();
        assert_eq!((failed.error, failed.stop), ("404", None));
    }
}
