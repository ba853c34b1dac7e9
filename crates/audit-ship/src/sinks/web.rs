//! What the HTTP sinks (Splunk HEC, Elasticsearch, OTLP) share: one client per sink, built
//! with timeouts; credentials read from the environment or the keychain and held (so no error or log can quote
//! them); HTTP statuses mapped to retryable or permanent failures the same way everywhere.

use std::time::Duration;

use reqwest::{Response, StatusCode, header::HeaderMap};

use crate::sink::SinkError;

/// Longest wait for a connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest wait for a whole exchange (a batch is at most a few MB).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// The one HTTP client of a sink (rustls, the provider installed at start).
pub(crate) fn client(sink: &str) -> Result<reqwest::Client, SinkError> {
    reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(REQUEST_TIMEOUT)
        .user_agent(concat!(
            "claude-enterprise-audit-ship/",
            env!("CARGO_PKG_VERSION")
        ))
        .build()
        .map_err(|e| {
            SinkError::permanent(format!("sink {sink}: cannot build its HTTP client: {e}"))
        })
}

/// The keychain entry of sink `name`'s secret.
pub fn keychain_user(name: &str) -> String {
    format!("audit-sink/{name}")
}

/// Sink `sink`'s secret: the environment variable `var` when it is set, else the keychain
/// entry `audit-sink/<sink>` when a keychain is configured and holds one; held either way.
pub(crate) fn secret(
    sink: &str,
    var: Option<&str>,
    keychain: Option<&auth::config::KeychainConfig>,
) -> Option<String> {
    if let Some(value) = var.and_then(env_secret) {
        return Some(value);
    }
    let config = keychain?;
    let opened = match auth::keychain::Keychain::open(config) {
        Ok(keychain) => keychain,
        Err(e) => {
            tracing::debug!(sink, "no keychain for the sink's secret: {e}");
            return None;
        }
    };
    match opened.load_secret(&keychain_user(sink)) {
        Ok(found) => found.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()),
        Err(e) => {
            tracing::warn!(sink, "cannot read the sink's keychain entry: {e}");
            None
        }
    }
}

/// Whether the keychain holds sink `sink`'s entry (its value is neither kept nor held).
pub(crate) fn keychain_has(sink: &str, keychain: Option<&auth::config::KeychainConfig>) -> bool {
    let Some(config) = keychain else {
        return false;
    };
    auth::keychain::Keychain::open(config)
        .and_then(|k| k.has_secret(&keychain_user(sink)))
        .unwrap_or(false)
}

/// What to tell a user whose sink has no secret.
pub(crate) fn missing_secret(sink: &str, var: &str) -> SinkError {
    SinkError::permanent(format!(
        "sink {sink}: no secret: set the environment variable {var}, or store it in the keychain \
         with `claude-enterprise audit sink-secret {sink}` (read from stdin)"
    ))
}

/// A secret from the environment variable `var`, held from now on (see `auth::held`).
/// `None` when the variable is unset or empty.
pub(crate) fn env_secret(var: &str) -> Option<String> {
    let value = std::env::var(var).ok()?;
    let value = value.trim().to_owned();
    if value.is_empty() {
        return None;
    }
    auth::held::hold(&value);
    Some(value)
}

/// `text` with every held secret removed (a far side may echo a request back).
pub(crate) fn clean(text: &str) -> String {
    let mut text = text.to_owned();
    auth::held::redact_held(&mut text);
    text
}

/// A request that got no answer (refused, reset, timed out): always retryable.
pub(crate) fn transport(sink: &str, error: &reqwest::Error) -> SinkError {
    // Not the URL: a user may have put credentials in it.
    let what = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "could not connect"
    } else {
        "failed in transit"
    };
    let mut source = String::new();
    let mut cause: Option<&dyn std::error::Error> = std::error::Error::source(error);
    while let Some(e) = cause {
        source = e.to_string();
        cause = e.source();
    }
    let detail = if source.is_empty() {
        String::new()
    } else {
        format!(": {}", clean(&source))
    };
    SinkError::retryable(format!("sink {sink}: the request {what}{detail}"))
}

/// `Retry-After` in seconds (the HTTP-date form is read as no hint).
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// Whether a status means "try again later": 408, 429 and every 5xx.
pub(crate) fn status_is_retryable(status: StatusCode) -> bool {
    status == StatusCode::REQUEST_TIMEOUT
        || status == StatusCode::TOO_MANY_REQUESTS
        || status.is_server_error()
}

/// The failure a non-success answer stands for, with (part of) its body for the user.
pub(crate) async fn status_error(sink: &str, response: Response) -> SinkError {
    let status = response.status();
    let wait = retry_after(response.headers());
    let body = response.text().await.unwrap_or_default();
    let body: String = body.chars().take(500).collect();
    let message = format!("sink {sink}: HTTP {status}: {}", clean(body.trim()));
    let mut error = if status_is_retryable(status) {
        SinkError::retryable(message)
    } else {
        SinkError::permanent(message)
    };
    error.retry_after = wait;
    error
}

/// The event's JSON, from the encoded bytes (native, or OCSF with the native event under
/// `unmapped.event`): the fields the sinks put in their envelopes are read from it.
pub(crate) fn native_fields(bytes: &[u8]) -> serde_json::Value {
    let mut value: serde_json::Value = serde_json::from_slice(bytes).unwrap_or_default();
    match value.pointer_mut("/unmapped/event") {
        Some(native) if native.get("event_id").is_some() => native.take(),
        _ => value,
    }
}
