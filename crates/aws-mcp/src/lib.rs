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

pub mod tools;

use std::{collections::BTreeMap, collections::HashMap, sync::Mutex as SyncMutex, time::Duration};

use auth::{
    config::KeychainConfig,
    credentials::{AwsEntry, AwsTemporaryCredentials},
};
use aws_config::{BehaviorVersion, Region, SdkConfig, timeout::TimeoutConfig};
use chrono::{DateTime, Utc};
use governance::{
    config::AwsConfig,
    content::scrub_secrets,
    identity::Caller,
    policy::Decision,
    server::{Authorization, ToolError, ToolOutput, ToolSpec, Upstream},
};
use serde_json::{Value, json};
use tokio::sync::Mutex;

use crate::tools::{Call, PRODUCTION_TOOLS, Target};

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
async fn caller_account(sdk: &SdkConfig) -> Result<String, String> {
    let identity = aws_sdk_sts::Client::new(sdk)
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| describe_error(&e))?;
    identity
        .account()
        .map(str::to_owned)
        .ok_or_else(|| "STS answered without an account".to_owned())
}

impl AwsServer {
    /// Builds the server. With `keychain` credentials, calls that name no account go to the
    /// lowest account id among them; otherwise STS says which account the default
    /// credentials belong to.
    pub async fn new(config: AwsConfig, keychain: Option<KeychainCredentials>) -> Self {
        let keychain = keychain.filter(|k| !k.entry.accounts.is_empty());
        let (source, default_account) = match &keychain {
            Some(k) => {
                let (account, credentials) = k.entry.accounts.first_key_value().expect("not empty");
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
                    DefaultAccount::Unknown(reason)
                }
            },
        };
        let default_region = config
            .default_region
            .clone()
            .or_else(|| sdk.region().map(|r| r.to_string()));
        let mut cache = HashMap::new();
        cache.insert(source.key(None), sdk);
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
        let mut entry = entry.lock().expect("not poisoned");
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

    async fn sdk_for(&self, target: &Target) -> Result<SdkConfig, ToolError> {
        let source = self.source_for(target.account.as_deref())?;
        let key = source.key(target.region.clone());
        let mut cache = self.sdk.lock().await;
        if let Some(sdk) = cache.get(&key) {
            return Ok(sdk.clone());
        }
        let sdk = load_sdk(&self.config, &source, target.region.as_deref()).await;
        if let (Source::Profile(profile), Some(expected)) = (&source, &target.account) {
            // The profile must reach the account it is configured for.
            let actual = caller_account(&sdk)
                .await
                .map_err(ToolError::Unauthorized)?;
            if &actual != expected {
                return Err(ToolError::Denied(Decision::deny(
                    "aws.account_profiles",
                    format!("profile `{profile}` reaches account {actual}, not {expected}"),
                )));
            }
        }
        cache.insert(key, sdk.clone());
        Ok(sdk)
    }
}

/// A readable message for an SDK error, with the fix for credential problems.
fn describe_error<E, R>(error: &aws_sdk_sts::error::SdkError<E, R>) -> String
where
    E: aws_sdk_sts::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    use aws_sdk_sts::error::SdkError;
    const LOGIN: &str =
        "run `aws sso login` (or `claude-enterprise login aws`), or set AWS_PROFILE";
    match error {
        SdkError::ServiceError(service) => {
            let e = service.err();
            let code = e.code().unwrap_or("Error");
            let message = e.message().unwrap_or("");
            if matches!(
                code,
                "ExpiredToken"
                    | "ExpiredTokenException"
                    | "InvalidClientTokenId"
                    | "UnrecognizedClientException"
                    | "RequestExpired"
                    | "InvalidSignatureException"
                    | "SignatureDoesNotMatch"
            ) {
                format!("AWS rejected the credentials ({code}: {message}): {LOGIN}")
            } else {
                format!("AWS answered {code}: {message}")
            }
        }
        SdkError::TimeoutError(_) => "AWS did not answer in time".to_owned(),
        SdkError::DispatchFailure(failure) => {
            let text = format!("{failure:?}");
            if text.contains("credential") || text.contains("Credential") {
                format!("no usable AWS credentials: {LOGIN}")
            } else {
                "AWS could not be reached (connection failed)".to_owned()
            }
        }
        other => {
            let text = other.to_string();
            if text.contains("credential") {
                format!("no usable AWS credentials: {LOGIN}")
            } else {
                format!("the AWS request failed: {text}")
            }
        }
    }
}

fn upstream<E, R>(error: aws_sdk_sts::error::SdkError<E, R>) -> ToolError
where
    E: aws_sdk_sts::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let message = describe_error(&error);
    if message.contains("credentials") {
        ToolError::Unauthorized(message)
    } else {
        ToolError::Upstream(message)
    }
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
    type Plan = Call;

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
    ) -> Result<Authorization<Call>, ToolError> {
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
        // Credentials for a named account must exist before anything is sent.
        self.source_for(target.account.as_deref())?;
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
        let rule =
            if self.config.allowed_regions.is_empty() && self.config.allowed_accounts.is_empty() {
                ""
            } else {
                "aws.allowed_regions"
            };
        Ok(Authorization::allow(rule, resources, call))
    }

    async fn execute(&self, call: Call, _caller: &Caller) -> Result<ToolOutput, ToolError> {
        let sdk = self.sdk_for(&call.target()).await?;
        let now = Utc::now();
        match call {
            Call::Metrics(a) => self.metrics(&sdk, &a, now).await,
            Call::Logs(a) => self.logs(&sdk, &a, now).await,
            Call::Instances(a) => instances(&sdk, &a).await,
            Call::Rds(a) => rds(&sdk, &a).await,
            Call::Eks(a) => eks(&sdk, &a).await,
        }
    }

    async fn whoami(&self) -> Option<String> {
        None
    }
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
        let seconds = (range.end - range.start).num_seconds().max(60) as u64;
        let max_points = u64::from(self.config.max_datapoints.max(1));
        let asked = u64::from(a.period.unwrap_or(300));
        // Grow the period (in whole minutes) until the window fits the datapoint bound.
        let needed = seconds.div_ceil(max_points).div_ceil(60) * 60;
        let period = asked.max(needed);
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
                    .period(period as i32)
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
            .max_datapoints(max_points as i32)
            .send()
            .await
            .map_err(upstream)?;
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
        if period > asked {
            notes.push(format!("period raised to {period} s to stay within {max_points} datapoints (aws.max_datapoints)"));
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
        let limit = a
            .limit
            .unwrap_or(self.config.max_log_rows)
            .clamp(1, self.config.max_log_rows.max(1));
        let client = aws_sdk_cloudwatchlogs::Client::new(sdk);
        let mut rows: Vec<Value> = Vec::new();
        let mut scrubbed = 0;
        let mut scrub = |text: &str| {
            let mut line = text.to_owned();
            scrubbed += scrub_secrets(&mut line);
            line
        };
        let mode;
        if let Some(query) = &a.query {
            mode = "insights";
            let started = client
                .start_query()
                .log_group_name(&a.log_group)
                .query_string(query)
                .start_time(range.start.timestamp())
                .end_time(range.end.timestamp())
                .limit(limit as i32)
                .send()
                .await
                .map_err(upstream)?;
            let id = started.query_id().unwrap_or_default().to_owned();
            let deadline = tokio::time::Instant::now()
                + Duration::from_secs(self.config.logs_query_timeout_secs);
            loop {
                let results = client
                    .get_query_results()
                    .query_id(&id)
                    .send()
                    .await
                    .map_err(upstream)?;
                match results.status() {
                    Some(QueryStatus::Complete) => {
                        for row in results.results() {
                            let fields: serde_json::Map<String, Value> = row
                                .iter()
                                .filter_map(|f| {
                                    Some((f.field()?.to_owned(), Value::from(scrub(f.value()?))))
                                })
                                .collect();
                            rows.push(Value::Object(fields));
                        }
                        break;
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
            }
        } else {
            mode = "filter";
            let mut token = None;
            loop {
                let page = client
                    .filter_log_events()
                    .log_group_name(&a.log_group)
                    .set_filter_pattern(a.filter_pattern.clone())
                    .start_time(range.start.timestamp_millis())
                    .end_time(range.end.timestamp_millis())
                    .limit((limit as usize - rows.len()) as i32)
                    .set_next_token(token)
                    .send()
                    .await
                    .map_err(upstream)?;
                for event in page.events() {
                    rows.push(json!({
                        "timestamp": event.timestamp().and_then(DateTime::<Utc>::from_timestamp_millis).map(|t| t.to_rfc3339()),
                        "stream": event.log_stream_name(),
                        "message": scrub(event.message().unwrap_or("")),
                    }));
                }
                token = page.next_token().map(str::to_owned);
                if token.is_none() || rows.len() >= limit as usize || page.events().is_empty() {
                    break;
                }
            }
        }
        rows.truncate(limit as usize);
        let mut out = json!({"log_group": a.log_group, "mode": mode, "rows": rows, "row_limit": limit,
            "secrets_scrubbed": scrubbed});
        if let Some(note) = range.note {
            out["notes"] = json!([note]);
        }
        Ok(ToolOutput::new(out)
            .with_resource("log_group", a.log_group.clone())
            .with_resource("secrets_scrubbed", scrubbed))
    }
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
    let limit = a.max_results.unwrap_or(50) as usize;
    let mut request = aws_sdk_ec2::Client::new(sdk)
        .describe_instances()
        .set_filters((!filters.is_empty()).then_some(filters));
    // EC2 refuses MaxResults together with instance ids.
    request = if a.instance_ids.is_empty() {
        request.max_results(limit.max(5) as i32)
    } else {
        request.set_instance_ids(Some(a.instance_ids.clone()))
    };
    let found = request.send().await.map_err(upstream)?;
    let list: Vec<Value> = found
        .reservations()
        .iter()
        .flat_map(|r| r.instances())
        .take(limit)
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
        .collect();
    Ok(ToolOutput::new(
        json!({"count": list.len(), "instances": list, "more": found.next_token().is_some()}),
    ))
}

async fn rds(sdk: &SdkConfig, a: &tools::DescribeRds) -> Result<ToolOutput, ToolError> {
    let mut request = aws_sdk_rds::Client::new(sdk).describe_db_instances();
    request = match &a.db_instance_identifier {
        Some(id) => request.db_instance_identifier(id),
        None => request.max_records(a.max_results.unwrap_or(50) as i32),
    };
    let found = request.send().await.map_err(upstream)?;
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
        .collect();
    Ok(ToolOutput::new(
        json!({"count": list.len(), "db_instances": list, "more": found.marker().is_some()}),
    ))
}

async fn eks(sdk: &SdkConfig, a: &tools::DescribeEks) -> Result<ToolOutput, ToolError> {
    let client = aws_sdk_eks::Client::new(sdk);
    let names: Vec<String> = match &a.cluster_name {
        Some(name) => vec![name.clone()],
        None => client
            .list_clusters()
            .max_results(a.max_results.unwrap_or(20) as i32)
            .send()
            .await
            .map_err(upstream)?
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
                let message = describe_error(&e);
                if message.contains("ResourceNotFoundException") {
                    ToolError::NotFound(format!(
                        "EKS cluster `{name}` was not found in this account and region"
                    ))
                } else {
                    upstream(e)
                }
            })?;
        if let Some(c) = described.cluster() {
            clusters.push(json!({
                "name": c.name(), "status": c.status().map(|s| s.as_str()), "version": c.version(),
                "platform_version": c.platform_version(), "endpoint": c.endpoint(), "arn": c.arn(),
                "created_at": time(c.created_at()),
                "subnets": c.resources_vpc_config().map(|v| v.subnet_ids().len()),
                "public_endpoint": c.resources_vpc_config().map(|v| v.endpoint_public_access()),
            }));
        }
    }
    Ok(ToolOutput::new(
        json!({"count": clusters.len(), "clusters": clusters}),
    ))
}
