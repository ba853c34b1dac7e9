//! The CloudWatch Logs sink (aws-sdk-cloudwatchlogs).
//!
//! `prepare` creates the log group and stream when missing and sets the group's retention
//! (PutRetentionPolicy: `retention_days`, 365 by default). `send` is one PutLogEvents call,
//! within its documented limits, given to the shipper as [`Limits`]: at most 10,000 events and
//! 1,048,576 bytes counting 26 bytes per event, one event at most 256 KiB, a batch spanning at
//! most 24 hours. Events keep journal order; CloudWatch wants timestamps in chronological order
//! within a call, so a timestamp earlier than the one before (two writers' events interleaved
//! by the journal's single writer thread) is raised to it, the event's own `timestamp` staying
//! in the message. Events CloudWatch rejects as too old, expired or too new are reported per
//! item and dead-lettered.
//!
//! Credentials and region come from the SDK's chain; the endpoint from `endpoint_url`, else
//! `AWS_ENDPOINT_URL` (moto in tests). The SDK's own retries are off: the shipper retries.

use std::time::Duration;

use async_trait::async_trait;
use aws_config::{BehaviorVersion, Region, retry::RetryConfig, timeout::TimeoutConfig};
use aws_sdk_cloudwatchlogs::{
    Client,
    config::Credentials,
    error::{ProvideErrorMetadata, SdkError},
    types::InputLogEvent,
};
use governance::config::CloudWatchSinkConfig;
use tokio::sync::Mutex;

use crate::sink::{Batch, Delivery, ItemOutcome, Limits, Sink, SinkError};

/// PutLogEvents' most events per call.
pub const MAX_EVENTS: usize = 10_000;
/// PutLogEvents' most bytes per call (event bytes plus [`EVENT_OVERHEAD`] each).
pub const MAX_BYTES: usize = 1_048_576;
/// Bytes CloudWatch counts per event beyond its message.
pub const EVENT_OVERHEAD: usize = 26;
/// The largest event.
pub const MAX_EVENT_BYTES: usize = 256 * 1024 - EVENT_OVERHEAD;

/// Ships to one CloudWatch Logs group and stream.
pub struct CloudWatchSink {
    name: String,
    client: Client,
    group: String,
    stream: String,
    retention_days: u32,
    errors_group: Option<(String, u32)>,
    /// Whether `prepare` ran since the group or stream was last found missing.
    prepared: Mutex<bool>,
}

impl CloudWatchSink {
    /// A sink from its config; `credentials` replaces the SDK's chain (tests).
    pub async fn new(config: &CloudWatchSinkConfig, credentials: Option<Credentials>) -> Self {
        // HTTPS on ring, the crypto provider of the rest of the process (ARCHITECTURE.md, TLS).
        let https = aws_smithy_http_client::Builder::new()
            .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
                aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
            ))
            .build_https();
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .http_client(https)
            .retry_config(RetryConfig::disabled())
            .timeout_config(
                TimeoutConfig::builder()
                    .operation_timeout(Duration::from_secs(30))
                    .connect_timeout(Duration::from_secs(5))
                    .build(),
            );
        if let Some(region) = &config.region {
            loader = loader.region(Region::new(region.clone()));
        }
        if let Some(url) = &config.endpoint_url {
            loader = loader.endpoint_url(url);
        }
        if let Some(credentials) = credentials {
            loader = loader.credentials_provider(credentials);
        }
        let sdk = loader.load().await;
        let stream = config
            .log_stream
            .clone()
            .unwrap_or_else(|| gethostname::gethostname().to_string_lossy().into_owned());
        Self {
            name: config.name.clone(),
            client: Client::new(&sdk),
            group: config.log_group.clone(),
            stream,
            retention_days: config.retention_days,
            errors_group: config
                .errors_log_group
                .clone()
                .map(|g| (g, config.errors_retention_days)),
            prepared: Mutex::new(false),
        }
    }

    /// The log stream events go to.
    pub fn stream(&self) -> &str {
        &self.stream
    }

    async fn create_group(&self, group: &str, days: u32) -> Result<(), SinkError> {
        match self
            .client
            .create_log_group()
            .log_group_name(group)
            .send()
            .await
        {
            Ok(_) => {}
            Err(e) if e.code() == Some("ResourceAlreadyExistsException") => {}
            Err(e) => return Err(classify("CreateLogGroup", e)),
        }
        self.client
            .put_retention_policy()
            .log_group_name(group)
            .retention_in_days(days as i32)
            .send()
            .await
            .map_err(|e| classify("PutRetentionPolicy", e))?;
        Ok(())
    }

    async fn create_stream(&self, group: &str) -> Result<(), SinkError> {
        match self
            .client
            .create_log_stream()
            .log_group_name(group)
            .log_stream_name(&self.stream)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if e.code() == Some("ResourceAlreadyExistsException") => Ok(()),
            Err(e) => Err(classify("CreateLogStream", e)),
        }
    }
}

/// Sorts an SDK error into retryable or permanent.
fn classify<E, R>(what: &str, e: SdkError<E, R>) -> SinkError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug,
{
    let message = match &e {
        SdkError::ServiceError(s) => format!(
            "CloudWatch {what}: {}: {}",
            s.err().code().unwrap_or("error"),
            s.err().message().unwrap_or("")
        ),
        other => {
            // The whole chain: "dispatch failure: io error: ... Connection refused".
            let mut text = other.to_string();
            let mut source = std::error::Error::source(other);
            while let Some(s) = source {
                let part = s.to_string();
                if !text.contains(&part) {
                    text.push_str(": ");
                    text.push_str(&part);
                }
                source = s.source();
            }
            format!("CloudWatch {what}: {text}")
        }
    };
    match &e {
        SdkError::ServiceError(s) => match s.err().code() {
            Some(
                "ThrottlingException"
                | "ServiceUnavailableException"
                | "ResourceNotFoundException"
                | "InvalidSequenceTokenException"
                | "OperationAbortedException"
                | "LimitExceededException",
            ) => SinkError::retryable(message),
            _ => SinkError::permanent(message),
        },
        // No answer, a timeout, an unreadable answer: the far side may come back.
        _ => SinkError::retryable(message),
    }
}

#[async_trait]
impl Sink for CloudWatchSink {
    fn name(&self) -> &str {
        &self.name
    }

    fn limits(&self) -> Limits {
        Limits {
            max_events: MAX_EVENTS,
            max_bytes: MAX_BYTES,
            overhead_per_event: EVENT_OVERHEAD,
            max_span: Some(Duration::from_secs(24 * 3600)),
            max_event_bytes: MAX_EVENT_BYTES,
        }
    }

    async fn prepare(&self) -> Result<(), SinkError> {
        let mut prepared = self.prepared.lock().await;
        self.create_group(&self.group, self.retention_days).await?;
        self.create_stream(&self.group).await?;
        if let Some((group, days)) = &self.errors_group {
            self.create_group(group, *days).await?;
            self.create_stream(group).await?;
        }
        *prepared = true;
        Ok(())
    }

    fn takes_errors(&self) -> bool {
        self.errors_group.is_some()
    }

    async fn send_errors(&self, batch: &Batch) -> Result<Delivery, SinkError> {
        match &self.errors_group {
            Some((group, _)) => self.put(group, batch).await,
            None => Err(SinkError::permanent(format!(
                "sink `{}` has no errors_log_group",
                self.name
            ))),
        }
    }

    async fn send(&self, batch: &Batch) -> Result<Delivery, SinkError> {
        self.put(&self.group, batch).await
    }
}

impl CloudWatchSink {
    /// One PutLogEvents of `batch` to `group` (this sink's stream).
    async fn put(&self, group: &str, batch: &Batch) -> Result<Delivery, SinkError> {
        if !*self.prepared.lock().await {
            self.prepare().await?;
        }
        let mut last = i64::MIN;
        let mut events = Vec::with_capacity(batch.events.len());
        for event in &batch.events {
            last = last.max(event.timestamp_ms);
            let message = String::from_utf8_lossy(&event.bytes).into_owned();
            let input = InputLogEvent::builder()
                .timestamp(last)
                .message(message)
                .build()
                .map_err(|e| SinkError::permanent(format!("CloudWatch event: {e}")))?;
            events.push(input);
        }
        let answer = self
            .client
            .put_log_events()
            .log_group_name(group)
            .log_stream_name(&self.stream)
            .set_log_events(Some(events))
            .send()
            .await;
        let output = match answer {
            Ok(output) => output,
            Err(e) => {
                if e.code() == Some("ResourceNotFoundException") {
                    // The group or stream was deleted: created again before the retry.
                    *self.prepared.lock().await = false;
                }
                if e.code() == Some("DataAlreadyAcceptedException") {
                    return Ok(Delivery {
                        items: vec![ItemOutcome::Duplicate; batch.events.len()],
                    });
                }
                return Err(classify("PutLogEvents", e));
            }
        };
        let Some(rejected) = output.rejected_log_events_info() else {
            return Ok(Delivery::all_delivered());
        };
        let n = batch.events.len();
        let mut items = vec![ItemOutcome::Delivered; n];
        let mut mark = |range: std::ops::Range<usize>, reason: &str| {
            for item in &mut items[range] {
                *item = ItemOutcome::DeadLettered {
                    reason: reason.to_owned(),
                };
            }
        };
        // End indexes are taken as inclusive, the start index too: an event in doubt is
        // recorded as dead-lettered rather than claimed delivered.
        if let Some(i) = rejected.too_old_log_event_end_index() {
            mark(0..(i.max(0) as usize + 1).min(n), "CloudWatch: too old");
        }
        if let Some(i) = rejected.expired_log_event_end_index() {
            mark(
                0..(i.max(0) as usize + 1).min(n),
                "CloudWatch: older than the log group's retention",
            );
        }
        if let Some(i) = rejected.too_new_log_event_start_index() {
            mark(
                (i.max(0) as usize).min(n)..n,
                "CloudWatch: too far in the future",
            );
        }
        Ok(Delivery { items })
    }
}
