//! Splunk HTTP Event Collector: `POST /services/collector/event` with
//! `Authorization: Splunk <token>`, the batch as JSON event objects one per line
//! (`{"time", "host", "source", "sourcetype", "index", "fields", "event"}`).
//!
//! With `ack = true` (the token has indexer acknowledgement on), every request carries the
//! channel (`X-Splunk-Request-Channel`), Splunk answers `{"ackId": N}`, and the batch counts as
//! delivered only once `POST /services/collector/ack` answers `{"acks": {"N": true}}`: before
//! that, the events may still be lost between HEC and the indexer. An acknowledgement that does
//! not come within [`SplunkHecSink::ack_timeout`] fails the batch as retryable (it is sent
//! again; duplicates carry the same `event_id`).
//!
//! Statuses as Splunk documents them: 503 `{"text":"Server is busy","code":9}` and every 5xx
//! or 429 are retried; 401/403 (token missing or invalid) and 400 (invalid data) are permanent.
//!
//! Retention is Splunk's, per index (`frozenTimePeriodInSecs` in indexes.conf): see README.

use std::time::Duration;

use async_trait::async_trait;
use governance::config::SplunkHecSinkConfig;
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::web;
use crate::sink::{Batch, Delivery, ItemOutcome, Limits, Sink, SinkError};

/// Splunk's default `max_content_length` of an HEC request is 1 MB on older releases; stay
/// under it.
const MAX_BYTES: usize = 1_000_000;
/// The envelope around each event: time, host, source, sourcetype, index, fields.
const ENVELOPE_BYTES: usize = 400;

/// A Splunk HEC sink.
pub struct SplunkHecSink {
    name: String,
    client: reqwest::Client,
    event_url: String,
    ack_url: String,
    token: String,
    index: Option<String>,
    sourcetype: String,
    errors_index: Option<String>,
    errors_sourcetype: String,
    ack: bool,
    channel: String,
    ack_timeout: Duration,
    ack_poll: Duration,
}

impl std::fmt::Debug for SplunkHecSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SplunkHecSink")
            .field("name", &self.name)
            .field("event_url", &self.event_url)
            .field("ack", &self.ack)
            .finish_non_exhaustive()
    }
}

impl SplunkHecSink {
    /// The sink of `config`, its token read from the variable `token_env`, else from the
    /// keychain entry `audit-sink/<name>` (when `keychain` is given).
    pub fn from_config(
        config: &SplunkHecSinkConfig,
        keychain: Option<&auth::config::KeychainConfig>,
    ) -> Result<Self, SinkError> {
        let token = web::secret(&config.name, Some(&config.token_env), keychain)
            .ok_or_else(|| web::missing_secret(&config.name, &config.token_env))?;
        Self::new(config, token)
    }

    /// The sink of `config` with `token` (from the environment or the keychain; held here).
    pub fn new(config: &SplunkHecSinkConfig, token: String) -> Result<Self, SinkError> {
        auth::held::hold(&token);
        let base = config.url.trim_end_matches('/');
        let channel = config
            .channel
            .clone()
            .unwrap_or_else(|| default_channel(&config.name));
        Ok(Self {
            name: config.name.clone(),
            client: web::client(&config.name)?,
            event_url: format!("{base}/services/collector/event"),
            ack_url: format!("{base}/services/collector/ack"),
            token,
            index: config.index.clone(),
            sourcetype: config.sourcetype.clone(),
            errors_index: config.errors_index.clone(),
            errors_sourcetype: config.errors_sourcetype.clone(),
            ack: config.ack,
            channel,
            ack_timeout: Duration::from_secs(120),
            ack_poll: Duration::from_millis(250),
        })
    }

    /// How long a batch waits for its indexer acknowledgement (default 120 s).
    pub fn ack_timeout(mut self, timeout: Duration) -> Self {
        self.ack_timeout = timeout;
        self
    }

    /// The channel sent with acknowledged requests.
    pub fn channel(&self) -> &str {
        &self.channel
    }

    /// The request body: one JSON event object per line, the encoded event kept byte for byte
    /// under `event`. `errors`: a batch of the errors journal, to the errors index and
    /// sourcetype (no chain head: those lines are not chained).
    fn body(&self, batch: &Batch, which: &[usize], errors: bool) -> Vec<u8> {
        let mut body = Vec::with_capacity(batch.bytes() + which.len() * ENVELOPE_BYTES);
        for event in which.iter().filter_map(|i| batch.events.get(*i)) {
            let fields = web::native_fields(&event.bytes);
            let (sourcetype, index, source) = if errors {
                (
                    &self.errors_sourcetype,
                    self.errors_index.as_ref(),
                    fields["source"].as_str().unwrap_or("claude-enterprise"),
                )
            } else {
                (
                    &self.sourcetype,
                    self.index.as_ref(),
                    fields["server"]["name"]
                        .as_str()
                        .unwrap_or("claude-enterprise"),
                )
            };
            let mut envelope = json!({
                // Epoch seconds with milliseconds, as HEC reads `time`.
                "time": event.timestamp_ms as f64 / 1000.0,
                "sourcetype": sourcetype,
                "source": source,
                // Indexed fields: flat, strings.
                "fields": { "event_id": event.event_id },
            });
            if !errors {
                // The chain head lets the central copy see lines deleted from a segment's tail.
                envelope["fields"]["segment"] = Value::from(batch.segment.as_str());
                envelope["fields"]["chain_head_seq"] = Value::from(batch.head.seq.to_string());
                envelope["fields"]["chain_head_hash"] = Value::from(batch.head.hash.as_str());
            }
            if let Some(host) = fields["host"].as_str() {
                envelope["host"] = Value::from(host);
            }
            if let Some(index) = index {
                envelope["index"] = Value::from(index.as_str());
            }
            let envelope = envelope.to_string();
            // `{...}` without its closing brace, then `,"event":<the event>}`.
            body.extend_from_slice(&envelope.as_bytes()[..envelope.len() - 1]);
            body.extend_from_slice(b",\"event\":");
            body.extend_from_slice(&event.bytes);
            body.extend_from_slice(b"}\n");
        }
        body
    }

    fn request(&self, url: &str) -> reqwest::RequestBuilder {
        let request = self
            .client
            .post(url)
            .header(
                reqwest::header::AUTHORIZATION,
                format!("Splunk {}", self.token),
            )
            .header(reqwest::header::CONTENT_TYPE, "application/json");
        if self.ack {
            request.header("X-Splunk-Request-Channel", &self.channel)
        } else {
            request
        }
    }

    /// Waits until Splunk says `ack_id` is indexed.
    async fn wait_for_ack(&self, ack_id: u64) -> Result<(), SinkError> {
        let started = tokio::time::Instant::now();
        let mut wait = self.ack_poll;
        loop {
            let response = self
                .request(&self.ack_url)
                .body(json!({ "acks": [ack_id] }).to_string())
                .send()
                .await
                .map_err(|e| web::transport(&self.name, &e))?;
            if !response.status().is_success() {
                return Err(web::status_error(&self.name, response).await);
            }
            let answer: Value = response.json().await.map_err(|e| {
                SinkError::retryable(format!("sink {}: unreadable ack answer: {e}", self.name))
            })?;
            if answer["acks"][ack_id.to_string()] == Value::Bool(true) {
                return Ok(());
            }
            if started.elapsed() >= self.ack_timeout {
                return Err(SinkError::retryable(format!(
                    "sink {}: Splunk did not acknowledge ackId {ack_id} on channel {} within \
                     {:?}; the batch will be sent again",
                    self.name, self.channel, self.ack_timeout
                )));
            }
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(Duration::from_secs(5));
        }
    }
}

#[async_trait]
impl Sink for SplunkHecSink {
    fn name(&self) -> &str {
        &self.name
    }

    fn limits(&self) -> Limits {
        Limits {
            max_events: 10_000,
            max_bytes: MAX_BYTES,
            overhead_per_event: ENVELOPE_BYTES,
            max_span: None,
            max_event_bytes: MAX_BYTES - ENVELOPE_BYTES,
        }
    }

    fn takes_errors(&self) -> bool {
        self.errors_index.is_some()
    }

    async fn send(&self, batch: &Batch) -> Result<Delivery, SinkError> {
        self.post(batch, false).await
    }

    async fn send_errors(&self, batch: &Batch) -> Result<Delivery, SinkError> {
        self.post(batch, true).await
    }
}

impl SplunkHecSink {
    /// Sends `batch` (to the errors index when `errors`), waiting for the indexer
    /// acknowledgement when `ack` is on.
    ///
    /// An event HEC refuses as such (400 with `invalid-event-number`) is dead-lettered with
    /// Splunk's reason and the rest is sent again: without acknowledgement the events before it
    /// were taken, so only those after it; with acknowledgement none of the request is known
    /// indexed, so all the others (a duplicate has the same `event_id`).
    async fn post(&self, batch: &Batch, errors: bool) -> Result<Delivery, SinkError> {
        let mut items = vec![ItemOutcome::Delivered; batch.events.len()];
        let mut pending: Vec<usize> = (0..batch.events.len()).collect();
        while !pending.is_empty() {
            match self.post_some(batch, &pending, errors).await? {
                None => break,
                Some((invalid, reason)) => {
                    let Some(&bad) = pending.get(invalid) else {
                        return Err(SinkError::permanent(format!(
                            "sink {}: HEC refused event {invalid} of a request of {}: {reason}",
                            self.name,
                            pending.len()
                        )));
                    };
                    items[bad] = ItemOutcome::DeadLettered { reason };
                    let from = if self.ack { 0 } else { invalid };
                    pending = pending[from..]
                        .iter()
                        .copied()
                        .filter(|i| *i != bad)
                        .collect();
                }
            }
        }
        if items.iter().all(|i| *i == ItemOutcome::Delivered) {
            return Ok(Delivery::all_delivered());
        }
        Ok(Delivery { items })
    }

    /// One request of the events `which` of `batch`: `Some((n, reason))` when HEC refused the
    /// `n`th of them as invalid.
    async fn post_some(
        &self,
        batch: &Batch,
        which: &[usize],
        errors: bool,
    ) -> Result<Option<(usize, String)>, SinkError> {
        let response = self
            .request(&self.event_url)
            .body(self.body(batch, which, errors))
            .send()
            .await
            .map_err(|e| web::transport(&self.name, &e))?;
        if response.status() == StatusCode::BAD_REQUEST {
            let status = response.status();
            let body = response.text().await.unwrap_or_default();
            let answer: Value = serde_json::from_str(&body).unwrap_or_default();
            if let Some(n) = answer["invalid-event-number"].as_u64() {
                let reason = format!(
                    "HEC refused the event: {} (code {})",
                    web::clean(answer["text"].as_str().unwrap_or("invalid event")),
                    answer["code"]
                );
                return Ok(Some((usize::try_from(n).unwrap_or(usize::MAX), reason)));
            }
            let detail: String = body.chars().take(300).collect();
            let hint = if answer["code"] == json!(10) {
                " (the token has indexer acknowledgement on: set ack = true)"
            } else {
                ""
            };
            return Err(SinkError::permanent(format!(
                "sink {}: HEC answered HTTP {status}: {}{hint}",
                self.name,
                web::clean(&detail)
            )));
        }
        if response.status() != StatusCode::OK {
            return Err(hec_error(&self.name, response).await);
        }
        let answer: Value = response.json().await.map_err(|e| {
            SinkError::retryable(format!("sink {}: unreadable HEC answer: {e}", self.name))
        })?;
        if answer["code"] != json!(0) {
            return Err(SinkError::retryable(format!(
                "sink {}: HEC answered {}",
                self.name,
                web::clean(&answer.to_string())
            )));
        }
        if self.ack {
            let ack_id = answer["ackId"].as_u64().ok_or_else(|| {
                SinkError::permanent(format!(
                    "sink {}: ack = true but HEC gave no ackId: turn indexer acknowledgement on \
                     for the token, or set ack = false",
                    self.name
                ))
            })?;
            self.wait_for_ack(ack_id).await?;
        }
        Ok(None)
    }
}

/// A non-200 HEC answer: `{"text", "code"}` in the message; busy and 5xx retried.
async fn hec_error(sink: &str, response: reqwest::Response) -> SinkError {
    let status = response.status();
    let wait = web::retry_after(response.headers());
    let body = response.text().await.unwrap_or_default();
    let detail = match serde_json::from_str::<Value>(&body) {
        Ok(v) if v.get("text").is_some() => {
            format!("{} (code {})", v["text"].as_str().unwrap_or(""), v["code"])
        }
        _ => body.chars().take(300).collect(),
    };
    let message = format!(
        "sink {sink}: HEC answered HTTP {status}: {}",
        web::clean(&detail)
    );
    let mut error = if web::status_is_retryable(status) {
        SinkError::retryable(message)
    } else {
        SinkError::permanent(message)
    };
    error.retry_after = wait;
    error
}

/// A GUID that stays the same for this sink on this machine, so that a restarted shipper keeps
/// its channel.
fn default_channel(name: &str) -> String {
    let host = gethostname::gethostname().to_string_lossy().into_owned();
    let seed = format!("claude-enterprise/{}/{name}", host.trim());
    let a = fnv1a(seed.as_bytes(), 0xcbf2_9ce4_8422_2325);
    let b = fnv1a(seed.as_bytes(), 0x8422_2325_cbf2_9ce4);
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        b >> 52,
        b & 0xffff_ffff_ffff
    )
}

fn fnv1a(bytes: &[u8], basis: u64) -> u64 {
    bytes.iter().fold(basis, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_channel_is_a_stable_guid() {
        let channel = default_channel("splunk");
        assert_eq!(channel, default_channel("splunk"));
        assert_ne!(channel, default_channel("other"));
        let parts: Vec<usize> = channel.split('-').map(str::len).collect();
        assert_eq!(parts, [8, 4, 4, 4, 12]);
        assert!(channel.chars().all(|c| c == '-' || c.is_ascii_hexdigit()));
    }
}
