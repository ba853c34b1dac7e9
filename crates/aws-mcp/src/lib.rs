//! The governed, read-only AWS MCP server: [`AwsServer`] is the [`Upstream`] the kernel wraps.
//!
//! This crate holds only AWS's tools and clients. What is AWS-specific here: the account of the
//! default credentials is found with STS GetCallerIdentity at start; production accounts show
//! only the two CloudWatch tools; account and region allowlists are checked before any request;
//! log lines are scrubbed of secrets. Only describe, list and get operations of the SDK are
//! called (see `tests/readonly.rs`); no credential-returning operation is exposed.
//!
//! Credentials: the environment's when it has any (aws-config's default chain), else the
//! temporary credentials `claude-enterprise login aws` keeps in the keychain per account
//! (`aws.web_identity_roles`), else aws-config's profiles. The role is assumed by the CLI,
//! never here: this server only reads what the keychain holds.

pub mod config;
pub mod errors;
pub mod scrub;
pub mod tools;

use std::{collections::BTreeMap, collections::HashMap, sync::Mutex as SyncMutex, time::Duration};

use auth::{
    config::KeychainConfig,
    credentials::{AwsEntry, AwsTemporaryCredentials},
};
use aws_config::{BehaviorVersion, Region, SdkConfig, timeout::TimeoutConfig};
use chrono::{DateTime, Utc};
use config::AwsConfig;
use governance::{
    identity::Caller,
    policy::Decision,
    server::{Authorization, ToolError, ToolOutput, ToolSpec, Upstream, budget},
};
use serde_json::{Value, json};
use tokio::sync::Mutex;

use crate::{
    errors::{classify, not_found_or},
    scrub::{Sequence, scrub_sequences},
    tools::{Call, PRODUCTION_TOOLS},
};

/// What the default credentials are, found at start.
#[derive(Debug, Clone)]
pub enum DefaultAccount {
    /// STS said so.
    Known(String),
    /// STS could not be asked (no or expired credentials); the reason.
    Unknown(String),
}

/// Where the credentials of a call come from.
#[derive(Debug, Clone)]
enum Source {
    /// aws-config's default chain (environment, default profile, ...).
    Default,
    /// An aws-config profile (`aws.account_profiles`).
    Profile(String),
    /// The keychain's temporary credentials of one account.
    Keychain(AwsTemporaryCredentials),
}

/// What an SDK config is cached by: its credentials and its region (None: the default).
/// Keychain credentials are keyed by their access key id, so that new ones (a login since
/// the last call) get a new config.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum SdkKey {
    Default(Option<String>),
    Profile(String, Option<String>),
    Keychain(String, Option<String>),
}

impl Source {
    fn key(&self, region: Option<String>) -> SdkKey {
        match self {
            Source::Default => SdkKey::Default(region),
            Source::Profile(profile) => SdkKey::Profile(profile.clone(), region),
            Source::Keychain(credentials) => {
                SdkKey::Keychain(credentials.access_key_id.clone(), region)
            }
        }
    }
}

/// What `authorize` resolved and `execute` runs: the call, where it runs, and the SDK config
/// that reaches it (credentials resolved, a profile checked against its account). Execute
/// resolves nothing again.
pub struct Plan {
    call: Call,
    /// The region the call runs in: the one it names, else the default.
    region: String,
    /// The account it runs in, when known: the one it names, else the default credentials'.
    account: Option<String>,
    /// Where the credentials come from.
    source: Source,
    /// The SDK config for `source` and `region`.
    sdk: SdkConfig,
}

impl std::fmt::Debug for Plan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plan")
            .field("call", &self.call)
            .field("region", &self.region)
            .field("account", &self.account)
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

/// The keychain's AWS credentials, as `aws-mcp` found them at start.
#[derive(Debug)]
pub struct KeychainCredentials {
    /// Where to read them again once they expired (a `login aws` since the start).
    pub keychain: KeychainConfig,
    /// What `login aws` stored.
    pub entry: AwsEntry,
}

/// The AWS upstream.
pub struct AwsServer {
    config: AwsConfig,
    default_account: DefaultAccount,
    /// The region of calls that name none: `aws.default_region`, else the SDK's.
    default_region: Option<String>,
    specs: Vec<ToolSpec>,
    /// SDK configs by credentials and region, loaded once each.
    sdk: Mutex<HashMap<SdkKey, SdkConfig>>,
    /// The keychain's credentials, when the environment has none and `login aws` ran.
    keychain: Option<(KeychainConfig, SyncMutex<AwsEntry>)>,
}

/// Loads the SDK config for a credential source and region.
async fn load_sdk(config: &AwsConfig, source: &Source, region: Option<&str>) -> SdkConfig {
    // HTTPS on ring, the crypto provider of the rest of the process (ARCHITECTURE.md, TLS).
    let https = aws_smithy_http_client::Builder::new()
        .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
            aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https();
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .http_client(https)
        .timeout_config(
            TimeoutConfig::builder()
                .operation_timeout(Duration::from_secs(config.timeout_secs))
                .build(),
        );
    match source {
        Source::Default => {}
        Source::Profile(profile) => loader = loader.profile_name(profile),
        Source::Keychain(c) => {
            loader = loader.credentials_provider(aws_sdk_sts::config::Credentials::new(
                &c.access_key_id,
                &c.secret_access_key,
                Some(c.session_token.clone()),
                Some(c.expiration.into()),
                "claude-enterprise-keychain",
            ));
        }
    }
    if let Some(region) = region.or(config.default_region.as_deref()) {
        loader = loader.region(Region::new(region.to_owned()));
    }
    loader.load().await
}

/// The account of the credentials in `sdk`.
async fn caller_account(sdk: &SdkConfig) -> Result<String, ToolError> {
    let identity = aws_sdk_sts::Client::new(sdk)
        .get_caller_identity()
        .send()
        .await
        .map_err(classify)?;
    identity
        .account()
        .map(str::to_owned)
        .ok_or_else(|| ToolError::Upstream("STS answered without an account".to_owned()))
}

impl AwsServer {
    /// Builds the server. With `keychain` credentials, calls that name no account go to the
    /// lowest account id among them; otherwise STS says which account the default
    /// credentials belong to.
    pub async fn new(config: AwsConfig, keychain: Option<KeychainCredentials>) -> Self {
        let keychain = keychain.filter(|k| !k.entry.accounts.is_empty());
        let first = keychain
            .as_ref()
            .and_then(|k| k.entry.accounts.first_key_value());
        let (source, default_account) = match first {
            Some((account, credentials)) => {
                (Source::Keychain(credentials.clone()), Some(account.clone()))
            }
            None => (Source::Default, None),
        };
        let sdk = load_sdk(&config, &source, None).await;
        let default_account = match default_account {
            // The role was assumed in this account: no need to ask STS.
            Some(account) => DefaultAccount::Known(account),
            None => match caller_account(&sdk).await {
                Ok(account) => DefaultAccount::Known(account),
                Err(reason) => {
                    tracing::warn!("the AWS account could not be determined: {reason}");
                    DefaultAccount::Unknown(reason.to_string())
                }
            },
        };
        let default_region = config
            .default_region
            .clone()
            .or_else(|| sdk.region().map(|r| r.to_string()));
        let mut cache = HashMap::new();
        // Keyed by the resolved region, as `authorize` asks for it.
        cache.insert(source.key(default_region.clone()), sdk);
        Self {
            config,
            default_account,
            default_region,
            specs: tools::specs(),
            sdk: Mutex::new(cache),
            keychain: keychain.map(|k| (k.keychain, SyncMutex::new(k.entry))),
        }
    }

    /// The account the default credentials reach, if known.
    pub fn default_account(&self) -> &DefaultAccount {
        &self.default_account
    }

    fn is_production(&self, account: &str) -> bool {
        self.config.production_accounts.iter().any(|a| a == account)
    }

    /// The keychain's credentials for `account`, unexpired: expired ones are read again
    /// from the keychain (a `login aws` since the start), and still expired answer with the
    /// command that renews them. `Ok(None)`: the keychain holds none for `account`.
    fn keychain_for(&self, account: &str) -> Result<Option<AwsTemporaryCredentials>, ToolError> {
        let Some((keychain, entry)) = &self.keychain else {
            return Ok(None);
        };
        let mut entry = entry.lock().unwrap_or_else(|e| e.into_inner());
        let Some(credentials) = entry.accounts.get(account) else {
            return Ok(None);
        };
        if !credentials.is_expired(Utc::now()) {
            return Ok(Some(credentials.clone()));
        }
        match auth::credentials::aws_keychain_credentials(keychain) {
            Ok(Some(stored)) => *entry = stored,
            Ok(None) => {}
            Err(e) => tracing::warn!("the keychain could not be read again: {e}"),
        }
        match entry.accounts.get(account) {
            Some(c) if !c.is_expired(Utc::now()) => Ok(Some(c.clone())),
            Some(c) => Err(ToolError::Unauthorized(format!(
                "the AWS credentials for account {account} (role {}) expired at {}: run \
                 `claude-enterprise login aws`",
                c.role_arn,
                c.expiration
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            ))),
            None => Err(ToolError::Unauthorized(format!(
                "no AWS credentials for account {account} in the keychain any more: run \
                 `claude-enterprise login aws`"
            ))),
        }
    }

    /// Where the credentials that reach `account` come from (None: the default account).
    fn source_for(&self, account: Option<&str>) -> Result<Source, ToolError> {
        let account = match (account, &self.default_account) {
            (Some(account), _) => account,
            (None, DefaultAccount::Known(default)) if self.keychain.is_some() => default,
            (None, _) => return Ok(Source::Default),
        };
        if let Some(credentials) = self.keychain_for(account)? {
            return Ok(Source::Keychain(credentials));
        }
        if let DefaultAccount::Known(default) = &self.default_account
            && default == account
            && self.keychain.is_none()
        {
            return Ok(Source::Default);
        }
        match self.config.account_profiles.get(account) {
            Some(profile) => Ok(Source::Profile(profile.clone())),
            None => Err(ToolError::InvalidArguments(format!(
                "no credentials for account {account}: add its role under \
                 aws.web_identity_roles and run `claude-enterprise login aws`, or add a profile \
                 for it under aws.account_profiles, or omit `account` to use the default \
                 credentials"
            ))),
        }
    }

    /// The SDK config for `source` in `region` (loaded once, then cached). A profile must
    /// reach the account it is configured for: checked with STS when first loaded, a deny
    /// otherwise.
    async fn sdk_for(
        &self,
        source: &Source,
        region: Option<&str>,
        account: Option<&str>,
    ) -> Result<SdkConfig, SdkRefusal> {
        let key = source.key(region.map(str::to_owned));
        let mut cache = self.sdk.lock().await;
        if let Some(sdk) = cache.get(&key) {
            return Ok(sdk.clone());
        }
        let sdk = load_sdk(&self.config, source, region).await;
        if let (Source::Profile(profile), Some(expected)) = (source, account) {
            let actual = caller_account(&sdk).await.map_err(SdkRefusal::Error)?;
            if actual != expected {
                return Err(SdkRefusal::Denied(Decision::deny(
                    "aws.account_profiles",
                    format!("profile `{profile}` reaches account {actual}, not {expected}"),
                )));
            }
        }
        cache.insert(key, sdk.clone());
        Ok(sdk)
    }
}

/// Why no SDK config could be had for a call.
enum SdkRefusal {
    /// A policy refusal (a profile that reaches another account).
    Denied(Decision),
    /// AWS could not be asked, or refused.
    Error(ToolError),
}

fn time(t: Option<&aws_sdk_cloudwatch::primitives::DateTime>) -> Value {
    t.and_then(|t| DateTime::<Utc>::from_timestamp(t.secs(), t.subsec_nanos()))
        .map(|t| Value::from(t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)))
        .unwrap_or(Value::Null)
}

fn smithy_time(t: DateTime<Utc>) -> aws_sdk_cloudwatch::primitives::DateTime {
    aws_sdk_cloudwatch::primitives::DateTime::from_secs(t.timestamp())
}

impl Upstream for AwsServer {
    type Call = Call;
    type Plan = Plan;

    fn server_name(&self) -> &'static str {
        "aws-mcp"
    }

    fn upstream_name(&self) -> &'static str {
        "aws"
    }

    fn tools(&self) -> &[ToolSpec] {
        &self.specs
    }

    fn instructions(&self) -> String {
        let account = match &self.default_account {
            DefaultAccount::Known(a) if self.is_production(a) => {
                format!("account {a} (production: only CloudWatch metrics and logs)")
            }
            DefaultAccount::Known(a) => format!("account {a}"),
            DefaultAccount::Unknown(reason) => format!("an undetermined account ({reason})"),
        };
        format!(
            "Read-only AWS for {account}. Nothing here changes AWS; log lines are scrubbed of \
             secrets. Every call is audited."
        )
    }

    fn tool_gate(&self, tool: &str) -> Option<Decision> {
        if PRODUCTION_TOOLS.contains(&tool) || self.config.production_accounts.is_empty() {
            return None;
        }
        match &self.default_account {
            DefaultAccount::Known(a) if self.is_production(a) => Some(Decision::deny(
                "aws.production_accounts",
                format!("account {a} is production: only CloudWatch metrics and logs"),
            )),
            // Fail closed: an account that cannot be identified may be production.
            DefaultAccount::Unknown(_) => Some(Decision::deny(
                "aws.production_accounts",
                "the account could not be identified, so it is treated as production".to_owned(),
            )),
            DefaultAccount::Known(_) => None,
        }
    }

    fn parse(&self, tool: &str, args: Value) -> Result<Call, ToolError> {
        tools::parse(tool, args)
    }

    async fn authorize(
        &self,
        call: Call,
        _caller: &Caller,
    ) -> Result<Authorization<Plan>, ToolError> {
        let target = call.target();
        let region = target
            .region
            .clone()
            .or_else(|| self.default_region.clone());
        let account = target
            .account
            .clone()
            .or_else(|| match &self.default_account {
                DefaultAccount::Known(a) => Some(a.clone()),
                DefaultAccount::Unknown(_) => None,
            });
        let mut resources = BTreeMap::new();
        if let Some(region) = &region {
            resources.insert("region".to_owned(), Value::from(region.clone()));
        }
        if let Some(account) = &account {
            resources.insert("account".to_owned(), Value::from(account.clone()));
        }
        let deny =
            |rule: &str, reason: String| Ok(Authorization::deny(rule, reason, resources.clone()));
        if !self.config.allowed_regions.is_empty() {
            match &region {
                Some(r) if self.config.allowed_regions.contains(r) => {}
                Some(r) => {
                    return deny(
                        "aws.allowed_regions",
                        format!(
                            "region {r} is not in aws.allowed_regions ({})",
                            self.config.allowed_regions.join(", ")
                        ),
                    );
                }
                None => {
                    return deny(
                        "aws.allowed_regions",
                        "no region given, and neither aws.default_region nor AWS_REGION is set"
                            .into(),
                    );
                }
            }
        }
        if !self.config.allowed_accounts.is_empty() {
            match &account {
                Some(a) if self.config.allowed_accounts.contains(a) => {}
                Some(a) => {
                    return deny(
                        "aws.allowed_accounts",
                        format!("account {a} is not in aws.allowed_accounts"),
                    );
                }
                None => {
                    return deny(
                        "aws.allowed_accounts",
                        "the account of the default credentials could not be determined".into(),
                    );
                }
            }
        }
        let Some(region) = region else {
            return Err(ToolError::InvalidArguments(
                "no region: pass `region` (e.g. eu-west-1), or set aws.default_region or \
                 AWS_REGION"
                    .into(),
            ));
        };
        // Credentials for a named account must exist before anything is sent.
        let source = self.source_for(target.account.as_deref())?;
        let tool = match &call {
            Call::Metrics(_) => "aws_cloudwatch_get_metrics",
            Call::Logs(_) => "aws_cloudwatch_get_logs",
            Call::Instances(_) => "aws_describe_instances",
            Call::Rds(_) => "aws_describe_rds",
            Call::Eks(_) => "aws_describe_eks",
        };
        if let Some(a) = &account
            && self.is_production(a)
            && !PRODUCTION_TOOLS.contains(&tool)
        {
            return deny(
                "aws.production_accounts",
                format!("account {a} is production: only CloudWatch metrics and logs"),
            );
        }
        let sdk = match self
            .sdk_for(&source, Some(&region), target.account.as_deref())
            .await
        {
            Ok(sdk) => sdk,
            Err(SdkRefusal::Denied(decision)) => {
                return Ok(Authorization::denied(decision, resources));
            }
            Err(SdkRefusal::Error(e)) => return Err(e),
        };
        let rule =
            if self.config.allowed_regions.is_empty() && self.config.allowed_accounts.is_empty() {
                ""
            } else {
                "aws.allowed_regions"
            };
        let plan = Plan {
            call,
            region,
            account,
            source,
            sdk,
        };
        Ok(Authorization::allow(rule, resources, plan))
    }

    async fn execute(&self, plan: Plan, _caller: &Caller) -> Result<ToolOutput, ToolError> {
        let now = Utc::now();
        let sdk = &plan.sdk;
        let read = account_resource(plan.account.as_deref());
        let output = match plan.call {
            Call::Metrics(a) => self.metrics(sdk, &a, now).await,
            Call::Logs(a) => self.logs(sdk, &a, now).await,
            Call::Instances(a) => instances(sdk, &a).await,
            Call::Rds(a) => rds(sdk, &a).await,
            Call::Eks(a) => eks(sdk, &a).await,
        };
        output.map(|o| o.reading(read))
    }

    async fn whoami(&self) -> Option<String> {
        None
    }
}

/// The session's name for the account a call read (`aws:123456789012`), for the flow record.
/// Always private: an AWS account's resources are the organisation's. An account that could
/// not be identified is still a private read, under a name no write can target.
fn account_resource(account: Option<&str>) -> governance::flow::Resource {
    governance::flow::Resource::private(format!(
        "aws:{}",
        account.unwrap_or("(unidentified account)")
    ))
}

impl AwsServer {
    async fn metrics(
        &self,
        sdk: &SdkConfig,
        a: &tools::GetMetrics,
        now: DateTime<Utc>,
    ) -> Result<ToolOutput, ToolError> {
        use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat};
        let range = a.window().resolve(now, self.config.max_range_days)?;
        let seconds = u64::try_from((range.end - range.start).num_seconds())
            .unwrap_or(0)
            .max(60);
        let max_points = self
            .config
            .max_datapoints
            .clamp(1, tools::MAX_DATAPOINTS)
            .min(tools::MAX_RESULT_DATAPOINTS);
        let asked = a.period.unwrap_or(tools::DEFAULT_PERIOD);
        // Grow the period until the window fits the datapoint bound.
        let period = tools::fitting_period(asked, seconds.div_ceil(u64::from(max_points)));
        let period_secs = i32::try_from(period).map_err(|_| {
            ToolError::InvalidArguments(format!(
                "a {seconds} s window needs periods of {period} s to stay within {max_points} \
                 datapoints (aws.max_datapoints), more than CloudWatch accepts: shorten the window"
            ))
        })?;
        let statistic = a.statistic.clone().unwrap_or_else(|| "Average".into());
        let dimensions = a
            .dimensions
            .iter()
            .map(|d| Dimension::builder().name(&d.name).value(&d.value).build())
            .collect();
        let query = MetricDataQuery::builder()
            .id("m0")
            .metric_stat(
                MetricStat::builder()
                    .metric(
                        Metric::builder()
                            .namespace(&a.namespace)
                            .metric_name(&a.metric_name)
                            .set_dimensions(Some(dimensions))
                            .build(),
                    )
                    .period(period_secs)
                    .stat(&statistic)
                    .build(),
            )
            .return_data(true)
            .build();
        let found = aws_sdk_cloudwatch::Client::new(sdk)
            .get_metric_data()
            .metric_data_queries(query)
            .start_time(smithy_time(range.start))
            .end_time(smithy_time(range.end))
            .max_datapoints(saturating_i32(max_points))
            .send()
            .await
            .map_err(classify)?;
        let mut points: Vec<(i64, f64)> = Vec::new();
        for result in found.metric_data_results() {
            for (t, v) in result.timestamps().iter().zip(result.values()) {
                points.push((t.secs(), *v));
            }
        }
        points.sort_by_key(|(t, _)| *t);
        points.truncate(max_points as usize);
        let mut out = json!({
            "namespace": a.namespace, "metric_name": a.metric_name, "statistic": statistic,
            "period_seconds": period,
            "start_time": range.start.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "end_time": range.end.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "datapoints": points.iter().map(|(t, v)| json!({
                "timestamp": DateTime::<Utc>::from_timestamp(*t, 0).map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
                "value": v,
            })).collect::<Vec<_>>(),
        });
        let mut notes = Vec::new();
        if let Some(note) = range.note {
            notes.push(note);
        }
        if period > u64::from(asked) {
            notes.push(format!("period raised to {period} s to stay within {max_points} datapoints (aws.max_datapoints, and at most {} per result): narrow start_time/end_time for finer ones", tools::MAX_RESULT_DATAPOINTS));
        }
        if points.is_empty() {
            notes.push(format!(
                "no datapoints: {} / {} has no data for these dimensions in this window (check the names, dimensions and region)",
                a.namespace, a.metric_name
            ));
        }
        if !notes.is_empty() {
            out["notes"] = notes.into();
        }
        Ok(ToolOutput::new(out)
            .with_resource("metric", format!("{}/{}", a.namespace, a.metric_name)))
    }

    async fn logs(
        &self,
        sdk: &SdkConfig,
        a: &tools::GetLogs,
        now: DateTime<Utc>,
    ) -> Result<ToolOutput, ToolError> {
        use aws_sdk_cloudwatchlogs::types::QueryStatus;
        let range = a.window().resolve(now, self.config.max_range_days)?;
        let most = self.config.max_log_rows.clamp(1, tools::MAX_LOG_ROWS);
        let limit = a.limit.unwrap_or(most).clamp(1, most);
        let client = aws_sdk_cloudwatchlogs::Client::new(sdk);
        let group_missing = || {
            format!(
                "log group `{}` was not found in this account and region",
                a.log_group
            )
        };
        let (mode, rows, scrubbed) = if let Some(query) = &a.query {
            let started = client
                .start_query()
                .log_group_name(&a.log_group)
                .query_string(query)
                .start_time(range.start.timestamp())
                .end_time(range.end.timestamp())
                .limit(saturating_i32(limit))
                .send()
                .await
                .map_err(|e| {
                    not_found_or(e, |e| e.is_resource_not_found_exception(), group_missing)
                })?;
            let id = started.query_id().unwrap_or_default().to_owned();
            let deadline = tokio::time::Instant::now()
                + Duration::from_secs(self.config.logs_query_timeout_secs);
            let mut rows: Vec<Vec<(String, String)>> = loop {
                let results = client
                    .get_query_results()
                    .query_id(&id)
                    .send()
                    .await
                    .map_err(classify)?;
                match results.status() {
                    Some(QueryStatus::Complete) => {
                        break results
                            .results()
                            .iter()
                            .map(|row| {
                                row.iter()
                                    .filter_map(|f| {
                                        Some((f.field()?.to_owned(), f.value()?.to_owned()))
                                    })
                                    .collect()
                            })
                            .collect();
                    }
                    Some(QueryStatus::Failed | QueryStatus::Cancelled | QueryStatus::Timeout) => {
                        return Err(ToolError::Upstream(format!(
                            "the Logs Insights query ended as {:?}; check its syntax",
                            results.status()
                        )));
                    }
                    _ if tokio::time::Instant::now() >= deadline => {
                        return Err(ToolError::Upstream(format!(
                            "the Logs Insights query did not finish within {} s (aws.logs_query_timeout_secs); narrow the window",
                            self.config.logs_query_timeout_secs
                        )));
                    }
                    _ => tokio::time::sleep(Duration::from_millis(500)).await,
                }
            };
            rows.truncate(limit as usize);
            let scrubbed = scrub::scrub_rows(&mut rows);
            let rows = rows
                .into_iter()
                .map(|row| {
                    Value::Object(row.into_iter().map(|(k, v)| (k, Value::from(v))).collect())
                })
                .collect::<Vec<_>>();
            ("insights", rows, scrubbed)
        } else {
            // (timestamp, stream, message), in the order FilterLogEvents returns them: by time.
            let mut events: Vec<(Option<i64>, Option<String>, String)> = Vec::new();
            let mut token = None;
            loop {
                let remaining =
                    limit.saturating_sub(u32::try_from(events.len()).unwrap_or(u32::MAX));
                let page = client
                    .filter_log_events()
                    .log_group_name(&a.log_group)
                    .set_filter_pattern(a.filter_pattern.clone())
                    .start_time(range.start.timestamp_millis())
                    .end_time(range.end.timestamp_millis())
                    .limit(saturating_i32(remaining))
                    .set_next_token(token)
                    .send()
                    .await
                    .map_err(|e| {
                        not_found_or(e, |e| e.is_resource_not_found_exception(), group_missing)
                    })?;
                for event in page.events() {
                    events.push((
                        event.timestamp(),
                        event.log_stream_name().map(str::to_owned),
                        event.message().unwrap_or("").to_owned(),
                    ));
                }
                token = page.next_token().map(str::to_owned);
                if token.is_none() || events.len() >= limit as usize || page.events().is_empty() {
                    break;
                }
            }
            events.truncate(limit as usize);
            let mut messages: Vec<String> = events
                .iter_mut()
                .map(|e| std::mem::take(&mut e.2))
                .collect();
            // One sequence per stream, in the order the stream wrote its events.
            let mut streams: Vec<(Option<&str>, Sequence)> = Vec::new();
            for (i, (_, stream, _)) in events.iter().enumerate() {
                match streams.iter_mut().find(|(s, _)| *s == stream.as_deref()) {
                    Some((_, sequence)) => sequence.order.push(i),
                    None => streams.push((
                        stream.as_deref(),
                        Sequence {
                            order: vec![i],
                            unknown_order: false,
                        },
                    )),
                }
            }
            let sequences: Vec<Sequence> = streams.into_iter().map(|(_, s)| s).collect();
            let scrubbed = scrub_sequences(&mut messages, &sequences);
            let rows = events
                .into_iter()
                .zip(messages)
                .map(|((timestamp, stream, _), message)| {
                    json!({
                        "timestamp": timestamp.and_then(DateTime::<Utc>::from_timestamp_millis).map(|t| t.to_rfc3339()),
                        "stream": stream,
                        "message": message,
                    })
                })
                .collect();
            ("filter", rows, scrubbed)
        };
        // Each row bounded, then the rows that fit; the rest are left for the next call.
        let all: Vec<Value> = rows;
        let mut rows: Vec<Value> = all
            .iter()
            .cloned()
            .map(|mut row| {
                budget::fit_item(&mut row, tools::MAX_LOG_ROW_BYTES);
                row
            })
            .collect();
        let left_out = budget::fit_list(&mut rows, tools::MAX_LOG_BYTES, 0);
        let first_left_out = all
            .get(rows.len())
            .map_or(Value::Null, |row| row["timestamp"].clone());
        let mut notes: Vec<String> = range.note.into_iter().collect();
        let mut next_start_time = Value::Null;
        if left_out > 0 {
            if mode == "filter" {
                // FilterLogEvents answers by time: the rest starts at the first row left out.
                next_start_time = first_left_out.clone();
                notes.push(format!(
                    "{left_out} more rows did not fit: call again with start_time = \
                     next_start_time"
                ));
            } else {
                notes.push(format!(
                    "{left_out} more rows did not fit: narrow the window (start_time, end_time) \
                     or the query (fewer fields, a filter or a smaller limit)"
                ));
            }
        }
        let mut out = json!({"log_group": a.log_group, "mode": mode, "rows": rows, "row_limit": limit,
            "truncated": left_out > 0, "next_start_time": next_start_time,
            "secrets_scrubbed": scrubbed});
        if !notes.is_empty() {
            out["notes"] = notes.into();
        }
        Ok(ToolOutput::new(out)
            .with_resource("log_group", a.log_group.clone())
            .with_resource("secrets_scrubbed", scrubbed))
    }
}

/// A described resource bounded to [`tools::MAX_RESOURCE_BYTES`] (longer names and endpoints
/// shortened, the item marked `truncated`): a page of 100 fits the result budget.
fn bounded(mut item: Value) -> Value {
    budget::fit_item(&mut item, tools::MAX_RESOURCE_BYTES);
    item
}

/// An SDK count argument from a bounded `u32` (bounds checked in `tools::parse` and by the
/// clamps above): saturating, never wrapping.
fn saturating_i32(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

async fn instances(sdk: &SdkConfig, a: &tools::DescribeInstances) -> Result<ToolOutput, ToolError> {
    use aws_sdk_ec2::types::Filter;
    let mut filters = Vec::new();
    if let Some(state) = &a.state {
        filters.push(
            Filter::builder()
                .name("instance-state-name")
                .values(state)
                .build(),
        );
    }
    if let Some(name) = &a.name {
        filters.push(Filter::builder().name("tag:Name").values(name).build());
    }
    let limit = a.max_results.unwrap_or(50);
    let mut request = aws_sdk_ec2::Client::new(sdk)
        .describe_instances()
        .set_filters((!filters.is_empty()).then_some(filters));
    // EC2 refuses MaxResults together with instance ids, and below 5.
    request = if a.instance_ids.is_empty() {
        request
            .max_results(saturating_i32(limit.max(5)))
            .set_next_token(a.next_token.clone())
    } else {
        request.set_instance_ids(Some(a.instance_ids.clone()))
    };
    let found = request.send().await.map_err(classify)?;
    let list: Vec<Value> = found
        .reservations()
        .iter()
        .flat_map(|r| r.instances())
        .take(limit as usize)
        .map(|i| {
            let name = i
                .tags()
                .iter()
                .find(|t| t.key() == Some("Name"))
                .and_then(|t| t.value());
            json!({
                "instance_id": i.instance_id(), "name": name,
                "type": i.instance_type().map(|t| t.as_str()),
                "state": i.state().and_then(|s| s.name()).map(|n| n.as_str()),
                "availability_zone": i.placement().and_then(|p| p.availability_zone()),
                "private_ip": i.private_ip_address(), "public_ip": i.public_ip_address(),
                "image_id": i.image_id(), "vpc_id": i.vpc_id(), "subnet_id": i.subnet_id(),
                "launch_time": time(i.launch_time()),
            })
        })
        .map(bounded)
        .collect();
    Ok(ToolOutput::new(
        json!({"count": list.len(), "instances": list, "more": found.next_token().is_some(),
            "next_token": found.next_token()}),
    ))
}

async fn rds(sdk: &SdkConfig, a: &tools::DescribeRds) -> Result<ToolOutput, ToolError> {
    let mut request = aws_sdk_rds::Client::new(sdk).describe_db_instances();
    request = match &a.db_instance_identifier {
        Some(id) => request.db_instance_identifier(id),
        None => request
            .max_records(saturating_i32(a.max_results.unwrap_or(50)))
            .set_marker(a.next_token.clone()),
    };
    let found = request.send().await.map_err(|e| {
        not_found_or(
            e,
            |e| e.is_db_instance_not_found_fault(),
            || {
                format!(
                    "DB instance `{}` was not found in this account and region",
                    a.db_instance_identifier.as_deref().unwrap_or_default()
                )
            },
        )
    })?;
    let list: Vec<Value> = found
        .db_instances()
        .iter()
        .map(|d| {
            json!({
                "identifier": d.db_instance_identifier(), "engine": d.engine(),
                "engine_version": d.engine_version(), "class": d.db_instance_class(),
                "status": d.db_instance_status(), "multi_az": d.multi_az(),
                "allocated_storage_gib": d.allocated_storage(), "storage_encrypted": d.storage_encrypted(),
                "publicly_accessible": d.publicly_accessible(),
                "endpoint": d.endpoint().map(|e| json!({"address": e.address(), "port": e.port()})),
                "availability_zone": d.availability_zone(),
            })
        })
        .map(bounded)
        .collect();
    Ok(ToolOutput::new(
        json!({"count": list.len(), "db_instances": list, "more": found.marker().is_some(),
            "next_token": found.marker()}),
    ))
}

async fn eks(sdk: &SdkConfig, a: &tools::DescribeEks) -> Result<ToolOutput, ToolError> {
    let client = aws_sdk_eks::Client::new(sdk);
    let names: Vec<String> = match &a.cluster_name {
        Some(name) => vec![name.clone()],
        None => client
            .list_clusters()
            .max_results(saturating_i32(a.max_results.unwrap_or(20)))
            .send()
            .await
            .map_err(classify)?
            .clusters()
            .to_vec(),
    };
    let mut clusters = Vec::new();
    for name in names {
        let described = client
            .describe_cluster()
            .name(&name)
            .send()
            .await
            .map_err(|e| {
                not_found_or(
                    e,
                    |e| e.is_resource_not_found_exception(),
                    || format!("EKS cluster `{name}` was not found in this account and region"),
                )
            })?;
        if let Some(c) = described.cluster() {
            clusters.push(bounded(json!({
                "name": c.name(), "status": c.status().map(|s| s.as_str()), "version": c.version(),
                "platform_version": c.platform_version(), "endpoint": c.endpoint(), "arn": c.arn(),
                "created_at": time(c.created_at()),
                "subnets": c.resources_vpc_config().map(|v| v.subnet_ids().len()),
                "public_endpoint": c.resources_vpc_config().map(|v| v.endpoint_public_access()),
            })));
        }
    }
    Ok(ToolOutput::new(
        json!({"count": clusters.len(), "clusters": clusters}),
    ))
}
