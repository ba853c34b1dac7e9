//! `[audit.ship]` and `[[audit.sinks]]`: how the journal is shipped to central logging.
//!
//! Plain data: the `audit-ship` crate validates it and builds the shipper and its sinks. No
//! secret lives here: a sink names the environment variable (or keychain entry) that holds its
//! token, never the token itself.

use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The shape events are shipped in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ShipFormat {
    /// The journal's own event, as written (chain fields included).
    #[default]
    Native,
    /// OCSF API Activity (class 6003), the native event kept under `unmapped`.
    Ocsf,
}

/// `[audit.ship]`: batching, retries and tailing, shared by every sink.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ShipConfig {
    /// Most events in one batch (a sink may lower it: CloudWatch takes 10,000).
    pub batch_max_events: usize,
    /// Most encoded bytes in one batch (a sink may lower it).
    pub batch_max_bytes: usize,
    /// With `--follow`: longest wait, in milliseconds, for a batch to fill before it is sent.
    pub batch_max_age_ms: u64,
    /// First retry delay in milliseconds; it doubles per retry, with jitter.
    pub retry_initial_ms: u64,
    /// Longest retry delay in milliseconds.
    pub retry_max_ms: u64,
    /// Retries of one batch before the shipper gives up on the sink for this run (`--once`)
    /// or until its next poll (`--follow`). Nothing is lost: the checkpoint stays, the batch is
    /// sent again.
    pub retry_max_attempts: u32,
    /// With `--follow`: how often, in milliseconds, the journal is checked for new events.
    pub poll_interval_ms: u64,
    /// The shape sinks ship in unless they say otherwise.
    pub format: ShipFormat,
    /// Longest time, in seconds, the drain that the SessionStart and SessionEnd hooks start in
    /// the background may run.
    pub hook_drain_secs: u64,
}

impl Default for ShipConfig {
    fn default() -> Self {
        Self {
            batch_max_events: 1000,
            batch_max_bytes: 1024 * 1024,
            batch_max_age_ms: 2000,
            retry_initial_ms: 200,
            retry_max_ms: 30_000,
            retry_max_attempts: 5,
            poll_interval_ms: 1000,
            format: ShipFormat::Native,
            hook_drain_secs: 20,
        }
    }
}

/// One `[[audit.sinks]]` entry: where the journal is shipped, chosen by `kind`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SinkConfig {
    /// JSON Lines appended to a local file (a mounted share, a collector's input).
    File(FileSinkConfig),
    /// AWS CloudWatch Logs.
    Cloudwatch(CloudWatchSinkConfig),
    /// Splunk HTTP Event Collector.
    SplunkHec(SplunkHecSinkConfig),
    /// Elasticsearch or OpenSearch `_bulk`.
    Elasticsearch(ElasticsearchSinkConfig),
    /// OpenTelemetry logs over OTLP/HTTP.
    Otlp(OtlpSinkConfig),
}

impl SinkConfig {
    /// The sink's name: its checkpoints, its lock and `--sink NAME`.
    pub fn name(&self) -> &str {
        match self {
            SinkConfig::File(c) => &c.name,
            SinkConfig::Cloudwatch(c) => &c.name,
            SinkConfig::SplunkHec(c) => &c.name,
            SinkConfig::Elasticsearch(c) => &c.name,
            SinkConfig::Otlp(c) => &c.name,
        }
    }

    /// The sink's own format, if it sets one (else `[audit.ship] format`).
    pub fn format(&self) -> Option<ShipFormat> {
        match self {
            SinkConfig::File(c) => c.format,
            SinkConfig::Cloudwatch(c) => c.format,
            SinkConfig::SplunkHec(c) => c.format,
            SinkConfig::Elasticsearch(c) => c.format,
            SinkConfig::Otlp(c) => c.format,
        }
    }

    /// The `kind` as written in the file.
    pub fn kind(&self) -> &'static str {
        match self {
            SinkConfig::File(_) => "file",
            SinkConfig::Cloudwatch(_) => "cloudwatch",
            SinkConfig::SplunkHec(_) => "splunk_hec",
            SinkConfig::Elasticsearch(_) => "elasticsearch",
            SinkConfig::Otlp(_) => "otlp",
        }
    }
}

/// `kind = "file"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FileSinkConfig {
    /// The sink's name (file names of its checkpoints, `--sink NAME`).
    pub name: String,
    /// `native` or `ocsf`; unset: `[audit.ship] format`.
    #[serde(default)]
    pub format: Option<ShipFormat>,
    /// The file events are appended to (created 0600).
    pub path: PathBuf,
}

/// `kind = "cloudwatch"`: credentials and region come from the AWS SDK's usual chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CloudWatchSinkConfig {
    /// The sink's name.
    pub name: String,
    /// `native` or `ocsf`; unset: `[audit.ship] format`.
    #[serde(default)]
    pub format: Option<ShipFormat>,
    /// The log group (created if missing).
    pub log_group: String,
    /// The log stream (created if missing). Unset: the host name.
    #[serde(default)]
    pub log_stream: Option<String>,
    /// The region. Unset: the SDK's (`AWS_REGION`, the profile).
    #[serde(default)]
    pub region: Option<String>,
    /// Endpoint override. Unset: `AWS_ENDPOINT_URL`, else AWS's own.
    #[serde(default)]
    pub endpoint_url: Option<String>,
    /// Retention set on the log group (PutRetentionPolicy), in days.
    #[serde(default = "days_365")]
    pub retention_days: u32,
    /// The log group the servers' WARN/ERROR logs go to. Unset: not shipped here.
    #[serde(default)]
    pub errors_log_group: Option<String>,
    /// Retention set on `errors_log_group`, in days.
    #[serde(default = "days_90")]
    pub errors_retention_days: u32,
}

/// `kind = "splunk_hec"`: the token comes from the environment or the keychain, never the file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SplunkHecSinkConfig {
    /// The sink's name; also the keychain entry `audit-sink/<name>` read when the variable
    /// `token_env` is unset.
    pub name: String,
    /// `native` or `ocsf`; unset: `[audit.ship] format`.
    #[serde(default)]
    pub format: Option<ShipFormat>,
    /// The collector's base URL (`https://splunk.example:8088`); events go to
    /// `/services/collector/event`.
    pub url: String,
    /// The environment variable holding the HEC token.
    #[serde(default = "splunk_token_env")]
    pub token_env: String,
    /// The index. Unset: the token's default index.
    #[serde(default)]
    pub index: Option<String>,
    /// The sourcetype.
    #[serde(default = "splunk_sourcetype")]
    pub sourcetype: String,
    /// Wait for indexer acknowledgement (`/services/collector/ack`) before the checkpoint
    /// advances.
    #[serde(default)]
    pub ack: bool,
    /// The channel GUID sent with acknowledged requests. Unset: one derived from the host.
    #[serde(default)]
    pub channel: Option<String>,
    /// The index of the servers' WARN/ERROR logs. Unset: not shipped here.
    #[serde(default)]
    pub errors_index: Option<String>,
    /// The sourcetype of the servers' WARN/ERROR logs.
    #[serde(default = "splunk_errors_sourcetype")]
    pub errors_sourcetype: String,
}

/// `kind = "elasticsearch"` (also OpenSearch): `_bulk` with `create` and `_id = event_id`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ElasticsearchSinkConfig {
    /// The sink's name; also the keychain entry `audit-sink/<name>` read when no variable is
    /// set.
    pub name: String,
    /// `native` or `ocsf`; unset: `[audit.ship] format`.
    #[serde(default)]
    pub format: Option<ShipFormat>,
    /// The cluster's base URL.
    pub url: String,
    /// The index (or data stream) events are created in.
    #[serde(default = "es_index")]
    pub index: String,
    /// The environment variable holding an API key (`Authorization: ApiKey ...`).
    #[serde(default)]
    pub api_key_env: Option<String>,
    /// Basic authentication user; the password comes from `password_env`.
    #[serde(default)]
    pub username: Option<String>,
    /// The environment variable holding the basic-authentication password.
    #[serde(default)]
    pub password_env: Option<String>,
    /// The index of the servers' WARN/ERROR logs. Unset: not shipped here.
    #[serde(default)]
    pub errors_index: Option<String>,
}

/// OTLP/HTTP encodings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum OtlpProtocol {
    /// `application/x-protobuf`.
    #[default]
    Protobuf,
    /// `application/json`.
    Json,
}

/// `kind = "otlp"`: logs over OTLP/HTTP.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OtlpSinkConfig {
    /// The sink's name.
    pub name: String,
    /// `native` or `ocsf`; unset: `[audit.ship] format`.
    #[serde(default)]
    pub format: Option<ShipFormat>,
    /// The logs endpoint (`http://collector:4318/v1/logs`).
    pub url: String,
    /// `protobuf` (default) or `json`.
    #[serde(default)]
    pub protocol: OtlpProtocol,
    /// The environment variable holding extra headers as `k=v,k2=v2` (the form of
    /// `OTEL_EXPORTER_OTLP_HEADERS`), for authentication.
    #[serde(default)]
    pub headers_env: Option<String>,
}

fn days_365() -> u32 {
    365
}

fn days_90() -> u32 {
    90
}

fn splunk_token_env() -> String {
    "SPLUNK_HEC_TOKEN".to_owned()
}

fn splunk_sourcetype() -> String {
    "claude-enterprise:audit".to_owned()
}

fn splunk_errors_sourcetype() -> String {
    "claude-enterprise:errors".to_owned()
}

fn es_index() -> String {
    "claude-enterprise-audit".to_owned()
}
