//! OpenTelemetry logs over OTLP/HTTP: `POST <url>` (`.../v1/logs`) with an
//! `ExportLogsServiceRequest`, as protobuf (`application/x-protobuf`, the default) or as OTLP
//! JSON (`application/json`), the messages of the official `opentelemetry-proto` definitions.
//!
//! One `ResourceLogs` per server in the batch (`service.name`, `service.version`,
//! `host.name`, and the segment with its chain head as `audit.segment`,
//! `audit.chain_head.seq`, `audit.chain_head.hash`); one `LogRecord` per event:
//! `time_unix_nano` from the event's timestamp, severity INFO (WARN for an outcome that is an
//! error or a denial), `event_name` `claude_enterprise.audit`, the body the encoded event as a
//! string (byte for byte), and the attributes `event_id` (also `log.record.uid`), `user`,
//! `tool`, `action`, `phase`, `call_id`, `result` where present.
//!
//! The servers' WARN/ERROR logs (the errors journal) go to the same endpoint under the scope
//! `claude-enterprise.errors` (`event_name` `claude_enterprise.error`, severity from the
//! level): a collector routes them to their own pipeline and retention by scope.
//!
//! Statuses as the OTLP specification gives them: 429, 502, 503 and 504 are retried (honouring
//! `Retry-After`), every other failure is permanent. A `partial_success` naming rejected records
//! cannot say which: the rejection is logged, and when every record was rejected each is
//! dead-lettered with the collector's message; otherwise the batch counts as delivered (the
//! receiver has said it will not take the others, and sending them again cannot help).

use std::collections::BTreeMap;

use async_trait::async_trait;
use governance::config::{OtlpProtocol, OtlpSinkConfig};
use opentelemetry_proto::tonic::{
    collector::logs::v1::{ExportLogsServiceRequest, ExportLogsServiceResponse},
    common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value},
    logs::v1::{LogRecord, ResourceLogs, ScopeLogs, SeverityNumber},
    resource::v1::Resource,
};
use prost::Message;
use reqwest::StatusCode;
use serde_json::Value;

use super::web;
use crate::sink::{Batch, Delivery, ItemOutcome, Limits, Sink, SinkError};

/// Collectors take 4 MiB per request by default (the gRPC limit most share); stay under it.
const MAX_BYTES: usize = 4_000_000;
/// The record's fields and attributes around the body.
const OVERHEAD_BYTES: usize = 300;
/// The instrumentation scope of the audit records.
const SCOPE: &str = "claude-enterprise.audit";
/// The instrumentation scope of the servers' WARN/ERROR lines.
const ERRORS_SCOPE: &str = "claude-enterprise.errors";

/// `google.rpc.Status`, the body of an OTLP/HTTP failure (only what is read of it).
#[derive(Clone, PartialEq, prost::Message)]
struct RpcStatus {
    #[prost(int32, tag = "1")]
    code: i32,
    #[prost(string, tag = "2")]
    message: String,
}

/// An OTLP/HTTP logs sink.
pub struct OtlpSink {
    name: String,
    client: reqwest::Client,
    url: String,
    protocol: OtlpProtocol,
    headers: Vec<(String, String)>,
}

impl std::fmt::Debug for OtlpSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OtlpSink")
            .field("name", &self.name)
            .field("url", &self.url)
            .field("protocol", &self.protocol)
            .finish_non_exhaustive()
    }
}

impl OtlpSink {
    /// The sink of `config`; extra headers (authentication) from the variable `headers_env`
    /// in the form of `OTEL_EXPORTER_OTLP_HEADERS` (`k=v,k2=v2`), else from the keychain entry
    /// `audit-sink/<name>` in the same form (when `keychain` is given), their values held.
    pub fn from_config(
        config: &OtlpSinkConfig,
        keychain: Option<&auth::config::KeychainConfig>,
    ) -> Result<Self, SinkError> {
        let text = web::secret(&config.name, config.headers_env.as_deref(), keychain);
        let headers = match (&config.headers_env, text) {
            (_, Some(text)) => parse_headers(&text),
            (Some(var), None) => return Err(web::missing_secret(&config.name, var)),
            (None, None) => Vec::new(),
        };
        for (_, value) in &headers {
            auth::held::hold(value);
        }
        Ok(Self {
            name: config.name.clone(),
            client: web::client(&config.name)?,
            url: config.url.clone(),
            protocol: config.protocol,
            headers,
        })
    }
}

/// `k=v,k2=v2` as header pairs (blank and malformed members skipped).
fn parse_headers(text: &str) -> Vec<(String, String)> {
    text.split(',')
        .filter_map(|pair| {
            let (key, value) = pair.split_once('=')?;
            let (key, value) = (key.trim(), value.trim());
            (!key.is_empty()).then(|| (key.to_owned(), value.to_owned()))
        })
        .collect()
}

fn string(key: &str, value: impl Into<String>) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.into())),
        }),
        ..Default::default()
    }
}

fn int(key: &str, value: i64) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue {
            value: Some(any_value::Value::IntValue(value)),
        }),
        ..Default::default()
    }
}

/// The batch as an `ExportLogsServiceRequest`.
pub fn export_request(batch: &Batch) -> ExportLogsServiceRequest {
    let observed = chrono::Utc::now()
        .timestamp_nanos_opt()
        .and_then(|n| u64::try_from(n).ok())
        .unwrap_or(0);
    // Server (name, version, host) -> its records, in batch order.
    let mut servers: BTreeMap<(String, String, String), Vec<LogRecord>> = BTreeMap::new();
    let mut order: Vec<(String, String, String)> = Vec::new();
    for event in &batch.events {
        let fields = web::native_fields(&event.bytes);
        let text = |key: &str| fields[key].as_str().map(str::to_owned);
        let server = (
            fields["server"]["name"]
                .as_str()
                .unwrap_or("claude-enterprise")
                .to_owned(),
            fields["server"]["version"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            text("host").unwrap_or_default(),
        );
        let warn = matches!(text("result").as_deref(), Some("error" | "denied"));
        let mut attributes = vec![
            string("event_id", &event.event_id),
            string("log.record.uid", &event.event_id),
        ];
        for key in ["user", "tool", "action", "phase", "call_id", "result"] {
            if let Some(value) = text(key) {
                attributes.push(string(key, value));
            }
        }
        attributes.push(int("seq", i64::try_from(event.seq).unwrap_or(i64::MAX)));
        let record = LogRecord {
            time_unix_nano: u64::try_from(event.timestamp_ms)
                .unwrap_or(0)
                .saturating_mul(1_000_000),
            observed_time_unix_nano: observed,
            severity_number: if warn {
                SeverityNumber::Warn as i32
            } else {
                SeverityNumber::Info as i32
            },
            severity_text: if warn { "WARN" } else { "INFO" }.to_owned(),
            body: Some(AnyValue {
                value: Some(any_value::Value::StringValue(
                    String::from_utf8_lossy(&event.bytes).into_owned(),
                )),
            }),
            attributes,
            event_name: "claude_enterprise.audit".to_owned(),
            ..Default::default()
        };
        if !servers.contains_key(&server) {
            order.push(server.clone());
        }
        servers.entry(server).or_default().push(record);
    }
    let resource_logs = order
        .into_iter()
        .map(|server| {
            let records = servers.remove(&server).unwrap_or_default();
            let (name, version, host) = server;
            let mut attributes = vec![string("service.name", name)];
            if !version.is_empty() {
                attributes.push(string("service.version", version));
            }
            if !host.is_empty() {
                attributes.push(string("host.name", host));
            }
            attributes.push(string("audit.segment", &batch.segment));
            attributes.push(int(
                "audit.chain_head.seq",
                i64::try_from(batch.head.seq).unwrap_or(i64::MAX),
            ));
            attributes.push(string("audit.chain_head.hash", &batch.head.hash));
            ResourceLogs {
                resource: Some(Resource {
                    attributes,
                    ..Default::default()
                }),
                scope_logs: vec![ScopeLogs {
                    scope: Some(InstrumentationScope {
                        name: SCOPE.to_owned(),
                        version: env!("CARGO_PKG_VERSION").to_owned(),
                        ..Default::default()
                    }),
                    log_records: records,
                    ..Default::default()
                }],
                ..Default::default()
            }
        })
        .collect();
    ExportLogsServiceRequest { resource_logs }
}

/// A batch of the errors journal (records `{timestamp, level, message, host, source}`) as an
/// `ExportLogsServiceRequest`: scope `claude-enterprise.errors`, severity from the level, the
/// message as the body, `log.file.name` the errors file.
pub fn export_errors_request(batch: &Batch) -> ExportLogsServiceRequest {
    let observed = chrono::Utc::now()
        .timestamp_nanos_opt()
        .and_then(|n| u64::try_from(n).ok())
        .unwrap_or(0);
    let mut host = String::new();
    let log_records = batch
        .events
        .iter()
        .map(|event| {
            let record = web::native_fields(&event.bytes);
            if host.is_empty() {
                host = record["host"].as_str().unwrap_or_default().to_owned();
            }
            let level = record["level"]
                .as_str()
                .unwrap_or("ERROR")
                .to_ascii_uppercase();
            let severity = match level.as_str() {
                "WARN" | "WARNING" => SeverityNumber::Warn,
                "INFO" => SeverityNumber::Info,
                "DEBUG" => SeverityNumber::Debug,
                "TRACE" => SeverityNumber::Trace,
                _ => SeverityNumber::Error,
            };
            LogRecord {
                time_unix_nano: u64::try_from(event.timestamp_ms)
                    .unwrap_or(0)
                    .saturating_mul(1_000_000),
                observed_time_unix_nano: observed,
                severity_number: severity as i32,
                severity_text: level,
                body: Some(AnyValue {
                    value: Some(any_value::Value::StringValue(
                        record["message"].as_str().unwrap_or_default().to_owned(),
                    )),
                }),
                attributes: vec![
                    string("event_id", &event.event_id),
                    string("log.record.uid", &event.event_id),
                    string(
                        "log.file.name",
                        record["source"].as_str().unwrap_or_default(),
                    ),
                ],
                event_name: "claude_enterprise.error".to_owned(),
                ..Default::default()
            }
        })
        .collect();
    let mut attributes = vec![string("service.name", "claude-enterprise")];
    if !host.is_empty() {
        attributes.push(string("host.name", host));
    }
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: Some(Resource {
                attributes,
                ..Default::default()
            }),
            scope_logs: vec![ScopeLogs {
                scope: Some(InstrumentationScope {
                    name: ERRORS_SCOPE.to_owned(),
                    version: env!("CARGO_PKG_VERSION").to_owned(),
                    ..Default::default()
                }),
                log_records,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

#[async_trait]
impl Sink for OtlpSink {
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

    /// The servers' WARN/ERROR logs go to the same collector, under their own scope.
    fn takes_errors(&self) -> bool {
        true
    }

    async fn send(&self, batch: &Batch) -> Result<Delivery, SinkError> {
        if batch.events.is_empty() {
            return Ok(Delivery::all_delivered());
        }
        self.export(batch, export_request(batch)).await
    }

    async fn send_errors(&self, batch: &Batch) -> Result<Delivery, SinkError> {
        if batch.events.is_empty() {
            return Ok(Delivery::all_delivered());
        }
        self.export(batch, export_errors_request(batch)).await
    }
}

impl OtlpSink {
    /// POSTs `request` (made of `batch`) and reads the collector's answer.
    async fn export(
        &self,
        batch: &Batch,
        request: ExportLogsServiceRequest,
    ) -> Result<Delivery, SinkError> {
        let (content_type, body) = match self.protocol {
            OtlpProtocol::Protobuf => ("application/x-protobuf", request.encode_to_vec()),
            OtlpProtocol::Json => (
                "application/json",
                serde_json::to_vec(&request).map_err(|e| {
                    SinkError::permanent(format!(
                        "sink {}: cannot encode OTLP JSON: {e}",
                        self.name
                    ))
                })?,
            ),
        };
        let mut http = self
            .client
            .post(&self.url)
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .body(body);
        for (key, value) in &self.headers {
            http = http.header(key.as_str(), value.as_str());
        }
        let response = http
            .send()
            .await
            .map_err(|e| web::transport(&self.name, &e))?;
        let status = response.status();
        if !status.is_success() {
            let retryable = matches!(
                status,
                StatusCode::TOO_MANY_REQUESTS
                    | StatusCode::BAD_GATEWAY
                    | StatusCode::SERVICE_UNAVAILABLE
                    | StatusCode::GATEWAY_TIMEOUT
            );
            let wait = web::retry_after(response.headers());
            let protobuf = response
                .headers()
                .get(reqwest::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.starts_with("application/x-protobuf"));
            let body = response.bytes().await.unwrap_or_default();
            // The collector's google.rpc.Status, in the request's encoding.
            let detail = if protobuf {
                RpcStatus::decode(body.as_ref())
                    .map(|s| s.message)
                    .unwrap_or_default()
            } else {
                let text = String::from_utf8_lossy(&body);
                serde_json::from_str::<Value>(&text)
                    .ok()
                    .and_then(|v| v["message"].as_str().map(str::to_owned))
                    .unwrap_or_else(|| text.chars().take(300).collect())
            };
            let message = format!(
                "sink {}: the collector answered HTTP {status}: {}",
                self.name,
                web::clean(detail.trim())
            );
            let mut error = if retryable {
                SinkError::retryable(message)
            } else {
                SinkError::permanent(message)
            };
            error.retry_after = wait;
            return Err(error);
        }
        let is_json = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        let bytes = response.bytes().await.unwrap_or_default();
        let answer = if bytes.is_empty() {
            ExportLogsServiceResponse::default()
        } else if is_json {
            serde_json::from_slice::<Value>(&bytes)
                .ok()
                .and_then(|v| serde_json::from_value(v).ok())
                .unwrap_or_default()
        } else {
            ExportLogsServiceResponse::decode(bytes.as_ref()).unwrap_or_default()
        };
        let Some(partial) = answer.partial_success else {
            return Ok(Delivery::all_delivered());
        };
        let rejected = usize::try_from(partial.rejected_log_records).unwrap_or(0);
        if rejected == 0 {
            if !partial.error_message.is_empty() {
                tracing::warn!(sink = %self.name, message = %web::clean(&partial.error_message), "OTLP collector warning");
            }
            return Ok(Delivery::all_delivered());
        }
        let reason = format!(
            "the collector rejected {rejected} of {} records: {}",
            batch.events.len(),
            web::clean(&partial.error_message)
        );
        tracing::warn!(sink = %self.name, "{reason}");
        if rejected >= batch.events.len() {
            let items = batch
                .events
                .iter()
                .map(|_| ItemOutcome::DeadLettered {
                    reason: reason.clone(),
                })
                .collect();
            return Ok(Delivery { items });
        }
        Ok(Delivery::all_delivered())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_in_the_otel_form() {
        assert_eq!(
            parse_headers("Authorization=Bearer x=y, dd-api-key = k ,bad,=v"),
            vec![
                ("Authorization".to_owned(), "Bearer x=y".to_owned()),
                ("dd-api-key".to_owned(), "k".to_owned()),
            ]
        );
    }
}
