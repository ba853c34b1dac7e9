//! Elasticsearch / OpenSearch: `POST /_bulk` (NDJSON, `application/x-ndjson`), one `create`
//! action per event with `_id = event_id`, so that an event sent twice is stored once.
//!
//! Per item, as the bulk API answers: 201 delivered; 409 (`version_conflict_engine_exception`:
//! the `_id` is already there, an earlier attempt got through) counts as delivered; 429 and 5xx
//! fail the batch as retryable (it is sent again whole: what got in then answers 409); any
//! other per-item error (a mapping conflict, 400 `document_parsing_exception`) is
//! dead-lettered with the reason Elasticsearch gave and reported. A whole-request 429 or 5xx is
//! retried; 401/403 are permanent.
//!
//! Every document is the encoded event (with the segment's chain head under `ship`, as the
//! encoder adds it) plus `@timestamp`, so that the index may be a data stream.
//!
//! Retention is an ILM policy: [`ilm_policy`] and [`index_template`] give the bodies (hot, then
//! delete after 365 days for audit and 90 days for errors), printed by
//! `claude-enterprise audit ship --print-ilm`.

use async_trait::async_trait;
use governance::config::ElasticsearchSinkConfig;
use serde_json::{Value, json};

use super::web;
use crate::sink::{Batch, Delivery, ItemOutcome, Limits, Sink, SinkError};

/// Elastic recommends bulk requests of a few MB (the default `http.max_content_length` is
/// 100 MB).
const MAX_BYTES: usize = 5_000_000;
/// The action line and the added fields per event.
const OVERHEAD_BYTES: usize = 300;

/// How the sink authenticates.
enum Credentials {
    None,
    ApiKey(String),
    Basic { user: String, password: String },
}

/// An Elasticsearch / OpenSearch `_bulk` sink.
pub struct ElasticsearchSink {
    name: String,
    client: reqwest::Client,
    bulk_url: String,
    index: String,
    errors_index: Option<String>,
    credentials: Credentials,
}

impl std::fmt::Debug for ElasticsearchSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ElasticsearchSink")
            .field("name", &self.name)
            .field("bulk_url", &self.bulk_url)
            .field("index", &self.index)
            .finish_non_exhaustive()
    }
}

impl ElasticsearchSink {
    /// The sink of `config`, credentials read from `api_key_env`, or `username` with
    /// `password_env`, each falling back to the keychain entry `audit-sink/<name>` (when
    /// `keychain` is given); with neither configured, the keychain entry is an API key if there
    /// is one, else no authentication (a cluster open on a private network).
    pub fn from_config(
        config: &ElasticsearchSinkConfig,
        keychain: Option<&auth::config::KeychainConfig>,
    ) -> Result<Self, SinkError> {
        let credentials = if let Some(var) = &config.api_key_env {
            Credentials::ApiKey(
                web::secret(&config.name, Some(var), keychain)
                    .ok_or_else(|| web::missing_secret(&config.name, var))?,
            )
        } else if let Some(user) = &config.username {
            let var = config
                .password_env
                .as_deref()
                .unwrap_or("ELASTICSEARCH_PASSWORD");
            let password = web::secret(&config.name, Some(var), keychain)
                .ok_or_else(|| web::missing_secret(&config.name, var))?;
            auth::held::hold_basic(user, &password);
            Credentials::Basic {
                user: user.clone(),
                password,
            }
        } else {
            match web::secret(&config.name, None, keychain) {
                Some(key) => Credentials::ApiKey(key),
                None => Credentials::None,
            }
        };
        Ok(Self {
            name: config.name.clone(),
            client: web::client(&config.name)?,
            bulk_url: format!("{}/_bulk", config.url.trim_end_matches('/')),
            index: config.index.clone(),
            errors_index: config.errors_index.clone(),
            credentials,
        })
    }

    /// The NDJSON body: an action line and the document per event, each line ending in `\n`
    /// (the last one too, as `_bulk` requires).
    fn body(&self, batch: &Batch, index: &str) -> Vec<u8> {
        let mut body = Vec::with_capacity(batch.bytes() + batch.events.len() * OVERHEAD_BYTES);
        for event in &batch.events {
            let action = json!({ "create": { "_index": index, "_id": event.event_id } });
            body.extend_from_slice(action.to_string().as_bytes());
            body.push(b'\n');
            body.extend_from_slice(&document(&event.bytes, event.timestamp_ms));
            body.push(b'\n');
        }
        body
    }
}

/// The event as a document: `{"@timestamp":..,` then the event's own fields, byte for byte.
fn document(event: &[u8], timestamp_ms: i64) -> Vec<u8> {
    let timestamp = chrono::DateTime::from_timestamp_millis(timestamp_ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default();
    let mut doc = format!("{{\"@timestamp\":\"{timestamp}\"").into_bytes();
    let inner = event.strip_prefix(b"{").unwrap_or(event);
    if inner.iter().any(|b| !b.is_ascii_whitespace() && *b != b'}') {
        doc.push(b',');
    }
    doc.extend_from_slice(inner);
    doc
}

#[async_trait]
impl Sink for ElasticsearchSink {
    fn name(&self) -> &str {
        &self.name
    }

    fn limits(&self) -> Limits {
        Limits {
            max_events: 5_000,
            max_bytes: MAX_BYTES,
            overhead_per_event: OVERHEAD_BYTES,
            max_span: None,
            max_event_bytes: MAX_BYTES - OVERHEAD_BYTES,
        }
    }

    fn takes_errors(&self) -> bool {
        self.errors_index.is_some()
    }

    async fn send(&self, batch: &Batch) -> Result<Delivery, SinkError> {
        self.bulk(batch, &self.index).await
    }

    async fn send_errors(&self, batch: &Batch) -> Result<Delivery, SinkError> {
        match &self.errors_index {
            Some(index) => self.bulk(batch, index).await,
            None => Err(SinkError::permanent(format!(
                "sink {}: no errors_index",
                self.name
            ))),
        }
    }
}

impl ElasticsearchSink {
    /// `_bulk` of `batch` into `index`, with the per-item outcomes.
    async fn bulk(&self, batch: &Batch, index: &str) -> Result<Delivery, SinkError> {
        if batch.events.is_empty() {
            return Ok(Delivery::all_delivered());
        }
        let request = self
            .client
            .post(&self.bulk_url)
            .header(reqwest::header::CONTENT_TYPE, "application/x-ndjson")
            .body(self.body(batch, index));
        let request = match &self.credentials {
            Credentials::None => request,
            Credentials::ApiKey(key) => {
                request.header(reqwest::header::AUTHORIZATION, format!("ApiKey {key}"))
            }
            Credentials::Basic { user, password } => request.basic_auth(user, Some(password)),
        };
        let response = request
            .send()
            .await
            .map_err(|e| web::transport(&self.name, &e))?;
        if !response.status().is_success() {
            return Err(web::status_error(&self.name, response).await);
        }
        let answer: Value = response.json().await.map_err(|e| {
            SinkError::retryable(format!("sink {}: unreadable _bulk answer: {e}", self.name))
        })?;
        outcomes(&self.name, batch, &answer)
    }
}

/// The per-event outcomes of a `_bulk` answer, or the failure of the whole batch when an item
/// asks for a retry.
fn outcomes(sink: &str, batch: &Batch, answer: &Value) -> Result<Delivery, SinkError> {
    let items = answer["items"]
        .as_array()
        .ok_or_else(|| SinkError::retryable(format!("sink {sink}: _bulk answer without items")))?;
    if items.len() != batch.events.len() {
        return Err(SinkError::retryable(format!(
            "sink {sink}: _bulk answered {} items for {} events",
            items.len(),
            batch.events.len()
        )));
    }
    let mut delivery = Vec::with_capacity(items.len());
    let mut retry = Vec::new();
    for (item, event) in items.iter().zip(&batch.events) {
        let result = item
            .get("create")
            .or_else(|| item.get("index"))
            .unwrap_or(item);
        if result["_id"]
            .as_str()
            .is_some_and(|id| id != event.event_id)
        {
            return Err(SinkError::retryable(format!(
                "sink {sink}: _bulk items out of order (expected _id {})",
                event.event_id
            )));
        }
        let status = result["status"].as_u64().unwrap_or(0);
        let outcome = match status {
            200..=299 => ItemOutcome::Delivered,
            409 => ItemOutcome::Duplicate,
            429 | 500..=599 => {
                retry.push(format!("{} ({status})", event.event_id));
                continue;
            }
            _ => ItemOutcome::DeadLettered {
                reason: format!(
                    "HTTP {status} {}: {}",
                    result["error"]["type"].as_str().unwrap_or("error"),
                    web::clean(result["error"]["reason"].as_str().unwrap_or(""))
                ),
            },
        };
        delivery.push(outcome);
    }
    if !retry.is_empty() {
        return Err(SinkError::retryable(format!(
            "sink {sink}: {} of {} events refused for now: {}; the batch will be sent again \
             (what got in answers 409 then)",
            retry.len(),
            batch.events.len(),
            retry.join(", ")
        )));
    }
    Ok(Delivery { items: delivery })
}

/// The ILM policy of the audit index (`days` = 365) or of the errors index (`days` = 90): hot
/// with a daily or 50 GB rollover, deleted `days` after rollover. `PUT _ilm/policy/<name>`.
pub fn ilm_policy(days: u32) -> Value {
    json!({
        "policy": {
            "_meta": { "managed_by": "claude-enterprise audit ship" },
            "phases": {
                "hot": {
                    "min_age": "0ms",
                    "actions": {
                        "rollover": { "max_age": "1d", "max_primary_shard_size": "50gb" }
                    }
                },
                "delete": {
                    "min_age": format!("{days}d"),
                    "actions": { "delete": {} }
                }
            }
        }
    })
}

/// The index template that makes `<index>` a data stream under the ILM policy `policy`, with
/// the event's identifying fields mapped as keywords and `parameters` kept unindexed (its
/// shape differs per tool). `PUT _index_template/<index>`.
///
/// `priority`: Elasticsearch refuses two templates of equal priority whose patterns overlap
/// (`claude-audit*` and `claude-audit-errors*`), so the errors template is one higher.
pub fn index_template(index: &str, policy: &str, priority: u32) -> Value {
    json!({
        "index_patterns": [format!("{index}*")],
        "data_stream": {},
        "priority": priority,
        "_meta": { "managed_by": "claude-enterprise audit ship" },
        "template": {
            "settings": { "index.lifecycle.name": policy },
            "mappings": {
                "dynamic": true,
                "properties": {
                    "@timestamp": { "type": "date" },
                    "event_id": { "type": "keyword" },
                    "seq": { "type": "long" },
                    "timestamp": { "type": "date" },
                    "user": { "type": "keyword" },
                    "roles": { "type": "keyword" },
                    "tool": { "type": "keyword" },
                    "action": { "type": "keyword" },
                    "access": { "type": "keyword" },
                    "phase": { "type": "keyword" },
                    "call_id": { "type": "keyword" },
                    "result": { "type": "keyword" },
                    "host": { "type": "keyword" },
                    "hash": { "type": "keyword" },
                    "prev_hash": { "type": "keyword" },
                    "parameters": { "type": "object", "enabled": false },
                    "ship": {
                        "properties": {
                            "segment": { "type": "keyword" },
                            "head_seq": { "type": "long" },
                            "head_hash": { "type": "keyword" }
                        }
                    }
                }
            }
        }
    })
}

/// What `--print-ilm` prints for `config`: the requests that set up retention, in order.
pub fn retention_requests(config: &ElasticsearchSinkConfig) -> Vec<(String, Value)> {
    let audit_policy = format!("{}-policy", config.index);
    let mut requests = vec![
        (format!("PUT _ilm/policy/{audit_policy}"), ilm_policy(365)),
        (
            format!("PUT _index_template/{}", config.index),
            index_template(&config.index, &audit_policy, 200),
        ),
    ];
    if let Some(errors) = &config.errors_index {
        let errors_policy = format!("{errors}-policy");
        requests.push((format!("PUT _ilm/policy/{errors_policy}"), ilm_policy(90)));
        requests.push((
            format!("PUT _index_template/{errors}"),
            index_template(errors, &errors_policy, 201),
        ));
    }
    requests
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn document_keeps_the_event_and_adds_its_timestamp() {
        let doc = document(br#"{"event_id":"e1","seq":1}"#, 0);
        let doc: Value = serde_json::from_slice(&doc).unwrap_or_default();
        assert_eq!(doc["@timestamp"], "1970-01-01T00:00:00.000Z");
        assert_eq!(doc["event_id"], "e1");
        let empty = document(b"{}", 0);
        assert!(serde_json::from_slice::<Value>(&empty).is_ok());
    }
}
