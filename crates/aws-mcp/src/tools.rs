//! The five tools: arguments (schemas generated from these types), bounds, and the time range
//! every metrics and logs call is held to.
//!
//! Read-only by construction: every tool is a describe, list or get, and no tool returns
//! credentials. `tests/readonly.rs` checks this file and the SDK operations the crate calls.

use chrono::{DateTime, Duration, Utc};
use governance::server::{Access, ToolError, ToolSpec};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

/// GetMetricData returns at most this many datapoints per call.
pub const MAX_DATAPOINTS: u32 = 100_800;
/// FilterLogEvents and StartQuery return at most this many rows per call.
pub const MAX_LOG_ROWS: u32 = 10_000;

// Every result stays inside `governance::server::RESULT_BUDGET_BYTES` (60,000 bytes of
// serialized JSON) by the bounds below, in serialized bytes (`governance::server::budget`),
// each with a `truncated` marker and the argument that reads on.

/// Most datapoints one result shows (about 70 bytes each), whatever `aws.max_datapoints`
/// says: the period grows to fit the window; a narrower window gives finer ones.
pub const MAX_RESULT_DATAPOINTS: u32 = 700;
/// One log row (a longer message is cut and the row marked `truncated`).
pub const MAX_LOG_ROW_BYTES: usize = 4_000;
/// All log rows of one result; rows past it are left for `start_time` = `next_start_time`
/// (filter patterns) or a narrower window or query (Logs Insights).
pub const MAX_LOG_BYTES: usize = 50_000;
/// One described instance, DB instance or cluster.
pub const MAX_RESOURCE_BYTES: usize = 480;
/// The period of a metrics call that names none, in seconds.
pub const DEFAULT_PERIOD: u32 = 300;
/// The longest period a call may ask for: 31 days, so that a month is one datapoint.
pub const MAX_PERIOD: u32 = 31 * 86_400;
/// Periods under a minute CloudWatch accepts (high-resolution metrics); above, multiples of 60.
pub const SUB_MINUTE_PERIODS: [u32; 5] = [1, 5, 10, 20, 30];
/// Most dimensions a metric has.
pub const MAX_DIMENSIONS: usize = 30;
/// Most instance ids one call names.
pub const MAX_INSTANCE_IDS: usize = 100;

/// Whether CloudWatch accepts `period` seconds: 1, 5, 10, 20, 30, or a multiple of 60.
pub fn is_cloudwatch_period(period: u32) -> bool {
    SUB_MINUTE_PERIODS.contains(&period) || (period > 0 && period.is_multiple_of(60))
}

/// The period a metrics call uses: the one asked for when it is long enough for the window to
/// fit the datapoint bound (`needed` seconds per datapoint), else the shortest accepted period
/// that is. May exceed [`MAX_PERIOD`] for very long windows (the caller converts it checked).
pub fn fitting_period(asked: u32, needed: u64) -> u64 {
    let asked = u64::from(asked);
    if asked >= needed {
        return asked;
    }
    SUB_MINUTE_PERIODS
        .iter()
        .map(|p| u64::from(*p))
        .find(|p| *p >= needed)
        .unwrap_or_else(|| needed.div_ceil(60) * 60)
}

/// Where and as whom a call runs.
#[derive(Debug, Clone, Default)]
pub struct Target {
    /// Region, if the call names one.
    pub region: Option<String>,
    /// Account id, if the call names one.
    pub account: Option<String>,
}

/// A time window: `minutes` back from now, or explicit ISO 8601 bounds.
#[derive(Debug, Clone, Default)]
pub struct Window {
    /// Minutes back from now.
    pub minutes: Option<u32>,
    /// Start, ISO 8601.
    pub start_time: Option<String>,
    /// End, ISO 8601.
    pub end_time: Option<String>,
}

/// CloudWatch metric statistics.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetMetrics {
    /// Namespace, e.g. `AWS/EC2`.
    pub namespace: String,
    /// Metric name, e.g. `CPUUtilization`.
    pub metric_name: String,
    /// Dimensions, e.g. `[{"name": "InstanceId", "value": "i-0abc"}]`.
    #[serde(default)]
    pub dimensions: Vec<DimensionArg>,
    /// `Average` (default), `Sum`, `Minimum`, `Maximum`, `SampleCount` or a percentile `p99`.
    #[serde(default)]
    pub statistic: Option<String>,
    /// Seconds per datapoint: 1, 5, 10, 20 or 30 (high-resolution metrics), or a multiple of 60
    /// up to 2678400 (31 days); default 300. Grows to keep within the datapoint bound.
    #[serde(default)]
    pub period: Option<u32>,
    /// Minutes back from now (default 60). Ignored when `start_time` is given.
    #[serde(default)]
    pub minutes: Option<u32>,
    /// Start, ISO 8601 (e.g. `2026-11-20T08:00:00Z`).
    #[serde(default)]
    pub start_time: Option<String>,
    /// End, ISO 8601; default now.
    #[serde(default)]
    pub end_time: Option<String>,
    /// AWS region (e.g. `eu-west-1`); default: the configured or SDK region.
    #[serde(default)]
    pub region: Option<String>,
    /// 12-digit account id; default: the account of the default credentials. Other accounts
    /// need a profile in `aws.account_profiles`.
    #[serde(default)]
    pub account: Option<String>,
}

/// One metric dimension.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DimensionArg {
    /// Dimension name.
    pub name: String,
    /// Dimension value.
    pub value: String,
}

/// CloudWatch Logs: an Insights query or a filter pattern.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetLogs {
    /// Log group name.
    pub log_group: String,
    /// A Logs Insights query (`fields @timestamp, @message | filter @message like /ERROR/`).
    #[serde(default)]
    pub query: Option<String>,
    /// A filter pattern for FilterLogEvents (`ERROR`, `{ $.level = "error" }`), when no query.
    #[serde(default)]
    pub filter_pattern: Option<String>,
    /// Most rows (default and maximum: `aws.max_log_rows`).
    #[serde(default)]
    pub limit: Option<u32>,
    /// Minutes back from now (default 60). Ignored when `start_time` is given.
    #[serde(default)]
    pub minutes: Option<u32>,
    /// Start, ISO 8601 (e.g. `2026-11-20T08:00:00Z`).
    #[serde(default)]
    pub start_time: Option<String>,
    /// End, ISO 8601; default now.
    #[serde(default)]
    pub end_time: Option<String>,
    /// AWS region (e.g. `eu-west-1`); default: the configured or SDK region.
    #[serde(default)]
    pub region: Option<String>,
    /// 12-digit account id; default: the account of the default credentials. Other accounts
    /// need a profile in `aws.account_profiles`.
    #[serde(default)]
    pub account: Option<String>,
}

/// EC2 instances.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DescribeInstances {
    /// Instance ids; all instances when empty.
    #[serde(default)]
    pub instance_ids: Vec<String>,
    /// Only instances in this state (`running`, `stopped`, ...).
    #[serde(default)]
    pub state: Option<String>,
    /// Only instances whose `Name` tag matches (wildcards `*` allowed).
    #[serde(default)]
    pub name: Option<String>,
    /// Most instances (1-100, default 50).
    #[serde(default)]
    pub max_results: Option<u32>,
    /// The `next_token` of the previous page.
    #[serde(default)]
    pub next_token: Option<String>,
    /// AWS region (e.g. `eu-west-1`); default: the configured or SDK region.
    #[serde(default)]
    pub region: Option<String>,
    /// 12-digit account id; default: the account of the default credentials. Other accounts
    /// need a profile in `aws.account_profiles`.
    #[serde(default)]
    pub account: Option<String>,
}

/// RDS database instances.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DescribeRds {
    /// One DB instance identifier; all when omitted.
    #[serde(default)]
    pub db_instance_identifier: Option<String>,
    /// Most instances (20-100, default 50).
    #[serde(default)]
    pub max_results: Option<u32>,
    /// The `next_token` of the previous page.
    #[serde(default)]
    pub next_token: Option<String>,
    /// AWS region (e.g. `eu-west-1`); default: the configured or SDK region.
    #[serde(default)]
    pub region: Option<String>,
    /// 12-digit account id; default: the account of the default credentials. Other accounts
    /// need a profile in `aws.account_profiles`.
    #[serde(default)]
    pub account: Option<String>,
}

/// EKS clusters.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DescribeEks {
    /// A cluster to describe; all clusters (listed, then described) when omitted.
    #[serde(default)]
    pub cluster_name: Option<String>,
    /// Most clusters (1-20, default 20).
    #[serde(default)]
    pub max_results: Option<u32>,
    /// AWS region (e.g. `eu-west-1`); default: the configured or SDK region.
    #[serde(default)]
    pub region: Option<String>,
    /// 12-digit account id; default: the account of the default credentials. Other accounts
    /// need a profile in `aws.account_profiles`.
    #[serde(default)]
    pub account: Option<String>,
}

/// A parsed call.
#[derive(Debug)]
pub enum Call {
    /// aws_cloudwatch_get_metrics
    Metrics(GetMetrics),
    /// aws_cloudwatch_get_logs
    Logs(GetLogs),
    /// aws_describe_instances
    Instances(DescribeInstances),
    /// aws_describe_rds
    Rds(DescribeRds),
    /// aws_describe_eks
    Eks(DescribeEks),
}

/// Every argument type carries `region` and `account`; the windowed ones carry a window.
macro_rules! target_of {
    ($($ty:ty),*) => {$(
        impl $ty {
            /// Where the call runs.
            pub fn target(&self) -> Target {
                Target { region: self.region.clone(), account: self.account.clone() }
            }
        }
    )*};
}
target_of!(
    GetMetrics,
    GetLogs,
    DescribeInstances,
    DescribeRds,
    DescribeEks
);

macro_rules! window_of {
    ($($ty:ty),*) => {$(
        impl $ty {
            /// The call's time window.
            pub fn window(&self) -> Window {
                Window {
                    minutes: self.minutes,
                    start_time: self.start_time.clone(),
                    end_time: self.end_time.clone(),
                }
            }
        }
    )*};
}
window_of!(GetMetrics, GetLogs);

impl Call {
    /// Where the call runs.
    pub fn target(&self) -> Target {
        match self {
            Call::Metrics(a) => a.target(),
            Call::Logs(a) => a.target(),
            Call::Instances(a) => a.target(),
            Call::Rds(a) => a.target(),
            Call::Eks(a) => a.target(),
        }
    }
}

/// The tools allowed in production accounts.
pub const PRODUCTION_TOOLS: &[&str] = &["aws_cloudwatch_get_metrics", "aws_cloudwatch_get_logs"];

/// The tool table.
pub fn specs() -> Vec<ToolSpec> {
    vec![
        ToolSpec::new::<GetMetrics>(
            "aws_cloudwatch_get_metrics",
            "Get CloudWatch metrics",
            "CloudWatch metric statistics (GetMetricData) for one metric over a time window, with a \
             bounded number of datapoints.",
            Access::Read,
        ),
        ToolSpec::new::<GetLogs>(
            "aws_cloudwatch_get_logs",
            "Get CloudWatch logs",
            "Query a log group with Logs Insights, or filter it with a pattern; bounded rows, \
             secrets scrubbed from every line.",
            Access::Read,
        ),
        ToolSpec::new::<DescribeInstances>(
            "aws_describe_instances",
            "Describe EC2 instances",
            "EC2 instances: id, name, type, state, zone, addresses, launch time.",
            Access::Read,
        ),
        ToolSpec::new::<DescribeRds>(
            "aws_describe_rds",
            "Describe RDS instances",
            "RDS database instances: engine, version, class, status, storage, endpoint.",
            Access::Read,
        ),
        ToolSpec::new::<DescribeEks>(
            "aws_describe_eks",
            "Describe EKS clusters",
            "EKS clusters: list them, or describe one (version, status, endpoint, platform).",
            Access::Read,
        ),
    ]
}

/// Parses `args` for the tool `name`, checking bounds the schema cannot express.
pub fn parse(name: &str, args: Value) -> Result<Call, ToolError> {
    use governance::server::parse_args;
    let call = match name {
        "aws_cloudwatch_get_metrics" => Call::Metrics(parse_args(name, args)?),
        "aws_cloudwatch_get_logs" => Call::Logs(parse_args(name, args)?),
        "aws_describe_instances" => Call::Instances(parse_args(name, args)?),
        "aws_describe_rds" => Call::Rds(parse_args(name, args)?),
        "aws_describe_eks" => Call::Eks(parse_args(name, args)?),
        other => return Err(ToolError::InvalidArguments(format!("unknown tool {other}"))),
    };
    let invalid = |m: String| Err(ToolError::InvalidArguments(format!("{name}: {m}")));
    let target = call.target();
    if let Some(account) = &target.account
        && !(account.len() == 12 && account.chars().all(|c| c.is_ascii_digit()))
    {
        return invalid(format!(
            "account `{account}` is not a 12-digit AWS account id"
        ));
    }
    if let Some(region) = &target.region
        && !is_region_name(region)
    {
        return invalid(format!(
            "`{region}` is not an AWS region name (like eu-west-1)"
        ));
    }
    match &call {
        Call::Metrics(a) if a.namespace.trim().is_empty() || a.metric_name.trim().is_empty() => {
            invalid("namespace and metric_name must not be empty".into())
        }
        Call::Metrics(a)
            if a.period
                .is_some_and(|p| !is_cloudwatch_period(p) || p > MAX_PERIOD) =>
        {
            invalid(format!(
                "period {} is not one CloudWatch accepts: use 1, 5, 10, 20 or 30 (high-resolution \
                 metrics) or a multiple of 60 up to {MAX_PERIOD} (31 days), e.g. 60, 300, 3600",
                a.period.unwrap_or_default()
            ))
        }
        Call::Metrics(a) if a.dimensions.len() > MAX_DIMENSIONS => invalid(format!(
            "a metric has at most {MAX_DIMENSIONS} dimensions; {} were given",
            a.dimensions.len()
        )),
        Call::Metrics(a)
            if a.dimensions.iter().any(|d| {
                !(1..=255).contains(&d.name.len()) || !(1..=1024).contains(&d.value.len())
            }) =>
        {
            invalid("dimension names must be 1-255 characters and values 1-1024".into())
        }
        Call::Metrics(GetMetrics {
            minutes: Some(0), ..
        })
        | Call::Logs(GetLogs {
            minutes: Some(0), ..
        }) => invalid("minutes must be at least 1 (or give start_time)".into()),
        Call::Logs(a) if a.query.is_some() && a.filter_pattern.is_some() => {
            invalid("give either query (Logs Insights) or filter_pattern, not both".into())
        }
        Call::Logs(a) if a.log_group.trim().is_empty() => {
            invalid("log_group must not be empty".into())
        }
        Call::Logs(GetLogs {
            query: Some(query), ..
        }) if rewriting_insights_word(query).is_some() => invalid(format!(
            "the query uses `{}`, which rewrites log text; secrets are scrubbed from text as it \
             was logged, so query fields as they are (fields, filter, stats, sort, limit, \
             dedup, display) and read the lines",
            rewriting_insights_word(query).unwrap_or_default()
        )),
        Call::Instances(a) if a.max_results.is_some_and(|n| !(1..=100).contains(&n)) => {
            invalid("max_results must be 1-100".into())
        }
        Call::Instances(a) if a.instance_ids.len() > MAX_INSTANCE_IDS => invalid(format!(
            "at most {MAX_INSTANCE_IDS} instance_ids per call; {} were given",
            a.instance_ids.len()
        )),
        Call::Instances(a) if a.instance_ids.iter().any(|id| !is_instance_id(id)) => invalid(
            "instance_ids must look like i-0123456789abcdef0 (i- and 8 or 17 hex digits)".into(),
        ),
        Call::Rds(a) if a.max_results.is_some_and(|n| !(20..=100).contains(&n)) => {
            invalid("max_results must be 20-100".into())
        }
        Call::Eks(a) if a.max_results.is_some_and(|n| !(1..=20).contains(&n)) => {
            invalid("max_results must be 1-20".into())
        }
        _ => Ok(call),
    }
}

/// Logs Insights commands and functions that rewrite log text. A secret cut (`parse @message
/// "AKIA*" as rest`, `substr`), re-cased, spliced or unmasked no longer has a shape the
/// scrubber knows, so queries that use them are refused; `fields`, `filter`, `stats`, `sort`,
/// `limit`, `dedup` and `display` return text as it was logged.
pub const TEXT_REWRITING_INSIGHTS: &[&str] = &[
    "parse", "replace", "substr", "concat", "toupper", "tolower", "trim", "ltrim", "rtrim",
    "unmask",
];

/// The first text-rewriting command or function a Logs Insights query uses, outside its
/// string literals: a function call (`name(`) or the `parse` command.
pub fn rewriting_insights_word(query: &str) -> Option<&'static str> {
    let mut code = String::with_capacity(query.len());
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for c in query.chars() {
        match quote {
            Some(q) => {
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == q {
                    quote = None;
                }
                code.push(' ');
            }
            None if c == '"' || c == '\'' || c == '`' => {
                quote = Some(c);
                code.push(' ');
            }
            None => code.push(c.to_ascii_lowercase()),
        }
    }
    let bytes = code.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_alphabetic()
            && (i == 0
                || !(bytes[i - 1].is_ascii_alphanumeric()
                    || bytes[i - 1] == b'_'
                    || bytes[i - 1] == b'@'))
        {
            let start = i;
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                i += 1;
            }
            let word = &code[start..i];
            let rest = code[i..].trim_start();
            let command =
                code[..start].trim_end().is_empty() || code[..start].trim_end().ends_with('|');
            if let Some(found) = TEXT_REWRITING_INSIGHTS.iter().find(|w| **w == word)
                && (rest.starts_with('(') || (word == "parse" && command))
            {
                return Some(found);
            }
        } else {
            i += 1;
        }
    }
    None
}

/// `i-` and 8 or 17 lowercase hex digits: the shape of an EC2 instance id.
pub fn is_instance_id(id: &str) -> bool {
    id.strip_prefix("i-").is_some_and(|hex| {
        matches!(hex.len(), 8 | 17)
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// `xx-name-N` or `xx-gov-name-N`: the shape of every AWS region name.
pub fn is_region_name(region: &str) -> bool {
    let parts: Vec<&str> = region.split('-').collect();
    (3..=4).contains(&parts.len())
        && parts[0].len() == 2
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase()))
        && parts[parts.len() - 1].chars().all(|c| c.is_ascii_digit())
        && !parts[parts.len() - 1].is_empty()
}

/// A resolved window: start and end, and a note when the range was cut to the bound.
pub struct Range {
    /// Start.
    pub start: DateTime<Utc>,
    /// End.
    pub end: DateTime<Utc>,
    /// Said to the model when the window was shortened.
    pub note: Option<String>,
}

impl Window {
    /// The window, held to at most `max_days`.
    pub fn resolve(&self, now: DateTime<Utc>, max_days: u32) -> Result<Range, ToolError> {
        let parse = |field: &str, text: &str| {
            DateTime::parse_from_rfc3339(text)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|e| {
                    ToolError::InvalidArguments(format!("{field} `{text}` is not ISO 8601: {e}"))
                })
        };
        let end = match &self.end_time {
            Some(text) => parse("end_time", text)?,
            None => now,
        };
        let start = match &self.start_time {
            Some(text) => parse("start_time", text)?,
            None => end - Duration::minutes(i64::from(self.minutes.unwrap_or(60))),
        };
        if start >= end {
            return Err(ToolError::InvalidArguments(
                "start_time must be before end_time".into(),
            ));
        }
        let longest = Duration::days(i64::from(max_days));
        if end - start > longest {
            return Ok(Range {
                start: end - longest,
                end,
                note: Some(format!(
                    "the time range was cut to the last {max_days} days before end_time (aws.max_range_days)"
                )),
            });
        }
        Ok(Range {
            start,
            end,
            note: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn bounds_and_names() {
        let cases: &[(&str, Value, Option<&str>)] = &[
            ("aws_describe_instances", json!({}), None),
            (
                "aws_describe_instances",
                json!({"region": "eu-west-1", "account": "123456789012"}),
                None,
            ),
            (
                "aws_describe_instances",
                json!({"region": "us-gov-west-1"}),
                None,
            ),
            (
                "aws_describe_instances",
                json!({"region": "Mars"}),
                Some("not an AWS region name"),
            ),
            (
                "aws_describe_instances",
                json!({"account": "12345"}),
                Some("12-digit"),
            ),
            (
                "aws_describe_instances",
                json!({"max_results": 1000}),
                Some("1-100"),
            ),
            (
                "aws_describe_rds",
                json!({"max_results": 5}),
                Some("20-100"),
            ),
            (
                "aws_cloudwatch_get_logs",
                json!({"log_group": "g", "query": "q", "filter_pattern": "p"}),
                Some("not both"),
            ),
            (
                "aws_cloudwatch_get_metrics",
                json!({"namespace": "AWS/EC2", "metric_name": "CPU", "period": 90}),
                Some("multiple of 60"),
            ),
            // `period as i32` wrapped these to negative periods before.
            (
                "aws_cloudwatch_get_metrics",
                json!({"namespace": "AWS/EC2", "metric_name": "CPU", "period": 4_294_967_040u32}),
                Some("up to 2678400"),
            ),
            (
                "aws_cloudwatch_get_metrics",
                json!({"namespace": "AWS/EC2", "metric_name": "CPU", "period": 2_678_460}),
                Some("up to 2678400"),
            ),
            (
                "aws_cloudwatch_get_metrics",
                json!({"namespace": "AWS/EC2", "metric_name": "CPU", "period": 0}),
                Some("is not one CloudWatch accepts"),
            ),
            (
                "aws_cloudwatch_get_metrics",
                json!({"namespace": "AWS/EC2", "metric_name": "CPU", "period": 7}),
                Some("1, 5, 10, 20 or 30"),
            ),
            (
                "aws_cloudwatch_get_metrics",
                json!({"namespace": "AWS/EC2", "metric_name": "CPU", "period": 10}),
                None,
            ),
            (
                "aws_cloudwatch_get_metrics",
                json!({"namespace": "AWS/EC2", "metric_name": "CPU", "period": 2_678_400}),
                None,
            ),
            (
                "aws_cloudwatch_get_metrics",
                json!({"namespace": "AWS/EC2", "metric_name": "CPU", "period": -60}),
                Some("invalid value"),
            ),
            (
                "aws_cloudwatch_get_metrics",
                json!({"namespace": "AWS/EC2", "metric_name": "CPU", "minutes": 0}),
                Some("minutes must be at least 1"),
            ),
            (
                "aws_cloudwatch_get_metrics",
                json!({"namespace": "AWS/EC2", "metric_name": "CPU",
                       "dimensions": (0..31).map(|i| json!({"name": format!("d{i}"), "value": "v"})).collect::<Vec<_>>()}),
                Some("at most 30 dimensions"),
            ),
            (
                "aws_cloudwatch_get_metrics",
                json!({"namespace": "AWS/EC2", "metric_name": "CPU", "dimensions": [{"name": "", "value": "v"}]}),
                Some("1-255"),
            ),
            (
                "aws_cloudwatch_get_logs",
                json!({"log_group": "g", "minutes": 0}),
                Some("minutes must be at least 1"),
            ),
            (
                "aws_describe_instances",
                json!({"instance_ids": ["i-0123456789abcdef0", "i-1234abcd"]}),
                None,
            ),
            (
                "aws_describe_instances",
                json!({"instance_ids": ["i-0123456789abcdef0; drop"]}),
                Some("must look like i-"),
            ),
            (
                "aws_describe_instances",
                json!({"instance_ids": (0..101).map(|i| format!("i-{i:08x}")).collect::<Vec<_>>()}),
                Some("at most 100 instance_ids"),
            ),
            (
                "aws_cloudwatch_get_metrics",
                json!({"namespace": "AWS/EC2"}),
                Some("missing field `metric_name`"),
            ),
            (
                "aws_describe_eks",
                json!({"cluster": "x"}),
                Some("unknown field"),
            ),
        ];
        for (tool, args, error) in cases {
            let got = parse(tool, args.clone()).err().map(|e| e.to_string());
            match (error, got) {
                (None, None) => {}
                (Some(expected), Some(got)) => {
                    assert!(got.contains(expected), "{tool} {args}: {got}")
                }
                (expected, got) => panic!("{tool} {args}: expected {expected:?}, got {got:?}"),
            }
        }
    }

    #[test]
    fn insights_queries_that_rewrite_text_are_refused() {
        let cases: &[(&str, Option<&str>)] = &[
            (
                "fields @timestamp, @message | sort @timestamp desc | limit 20",
                None,
            ),
            (
                "filter @message like /ERROR/ | stats count(*) by bin(5m)",
                None,
            ),
            (
                "fields @message | filter strcontains(@message, \"timeout\")",
                None,
            ),
            ("fields @message | filter @message like \"substr(\"", None),
            ("fields @message | display @message, @logStream", None),
            ("fields @parsed | sort @timestamp", None),
            (
                "parse @message \"AKIA*\" as rest | display rest",
                Some("parse"),
            ),
            (
                "fields @message | parse @message /(?<k>AKIA.*)/",
                Some("parse"),
            ),
            ("fields substr(@message, 4) as tail", Some("substr")),
            ("fields tolower(@message) as m", Some("tolower")),
            (
                "fields REPLACE (@message, \"AKIA\", \"\") as m",
                Some("replace"),
            ),
            ("fields concat(@message, \"x\")", Some("concat")),
            ("fields unmask(@message)", Some("unmask")),
            ("fields trim(@message)", Some("trim")),
        ];
        for (query, expected) in cases {
            assert_eq!(rewriting_insights_word(query), *expected, "{query}");
        }
        let refused = parse(
            "aws_cloudwatch_get_logs",
            serde_json::json!({"log_group": "g", "query": "parse @message \"AKIA*\" as rest"}),
        );
        assert!(
            refused
                .unwrap_err()
                .to_string()
                .contains("rewrites log text"),
            "refused with a reason"
        );
    }

    #[test]
    fn the_period_grows_to_an_accepted_one() {
        // (asked, seconds needed per datapoint, period used)
        let cases: &[(u32, u64, u64)] = &[
            (300, 60, 300),
            (60, 61, 120),
            (1, 1, 1),
            (1, 2, 5),
            (5, 11, 20),
            (10, 31, 60),
            (60, 86_400 * 90 / 1440, 5400),
            (2_678_400, 2_000_000, 2_678_400),
            (60, 3_000_000, 3_000_000),
        ];
        for (asked, needed, expected) in cases {
            let period = fitting_period(*asked, *needed);
            assert_eq!(period, *expected, "asked {asked}, needed {needed}");
            assert!(
                period >= *needed && (period < 60 || period.is_multiple_of(60)),
                "{period}"
            );
        }
    }

    #[test]
    fn ten_years_is_cut_to_the_bound() {
        let now = DateTime::parse_from_rfc3339("2026-11-24T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let w = Window {
            start_time: Some("2016-11-24T00:00:00Z".into()),
            ..Window::default()
        };
        let r = w.resolve(now, 90).unwrap();
        assert_eq!(r.end - r.start, Duration::days(90));
        assert!(r.note.unwrap().contains("90 days"));
        let w = Window {
            minutes: Some(30),
            ..Window::default()
        };
        let r = w.resolve(now, 90).unwrap();
        assert_eq!(r.end - r.start, Duration::minutes(30));
        assert!(r.note.is_none());
    }
}
