//! The sinks, one module each, all of the one shape of [`crate::Sink`], and [`build`], which
//! turns `[[audit.sinks]]` into them.

pub mod cloudwatch;
pub mod elasticsearch;
pub mod file;
pub mod otlp;
pub mod splunk_hec;
mod web;

pub use web::keychain_user;

/// Where a sink's secret would come from now (for `status` and `doctor`; never the secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    /// The sink needs none (file, CloudWatch: the AWS chain), or authenticates without one
    /// (Elasticsearch with no credentials configured and none in the keychain).
    NotNeeded,
    /// The environment variable of that name.
    Environment(String),
    /// The keychain entry `audit-sink/<name>`.
    Keychain,
    /// None found: the variable to set (or `audit sink-secret NAME`).
    Missing(String),
}

/// Where `config`'s secret comes from, looking in the environment and then in `keychain`,
/// as [`build`] would (nothing is held or kept).
pub fn secret_source(
    config: &SinkConfig,
    keychain: Option<&auth::config::KeychainConfig>,
) -> SecretSource {
    let (var, required) = match config {
        SinkConfig::File(_) | SinkConfig::Cloudwatch(_) => return SecretSource::NotNeeded,
        SinkConfig::SplunkHec(c) => (Some(c.token_env.clone()), true),
        SinkConfig::Elasticsearch(c) => match (&c.api_key_env, &c.username) {
            (Some(var), _) => (Some(var.clone()), true),
            (None, Some(_)) => (
                Some(
                    c.password_env
                        .clone()
                        .unwrap_or_else(|| "ELASTICSEARCH_PASSWORD".into()),
                ),
                true,
            ),
            (None, None) => (None, false),
        },
        SinkConfig::Otlp(c) => (c.headers_env.clone(), c.headers_env.is_some()),
    };
    if let Some(var) = &var
        && std::env::var(var).is_ok_and(|v| !v.trim().is_empty())
    {
        return SecretSource::Environment(var.clone());
    }
    if web::keychain_has(config.name(), keychain) {
        return SecretSource::Keychain;
    }
    match var {
        Some(var) if required => SecretSource::Missing(var),
        _ => SecretSource::NotNeeded,
    }
}

use std::sync::Arc;

use governance::config::{ShipConfig, SinkConfig};

use crate::{shipper::SinkEntry, sink::Sink};

/// A sink that cannot be built from its config.
#[derive(Debug, thiserror::Error)]
#[error("sink `{name}`: {message}")]
pub struct BuildError {
    /// The sink.
    pub name: String,
    /// What is wrong.
    pub message: String,
}

/// Builds the configured sinks (`only`: just the one of that name). The HTTP sinks read their
/// secrets from the environment, else from `keychain` (`audit-sink/<name>`) when given.
pub async fn build(
    sinks: &[SinkConfig],
    ship: &ShipConfig,
    only: Option<&str>,
    keychain: Option<&auth::config::KeychainConfig>,
) -> Result<Vec<SinkEntry>, BuildError> {
    let mut out = Vec::new();
    for config in sinks {
        if only.is_some_and(|n| n != config.name()) {
            continue;
        }
        let failed = |e: crate::sink::SinkError| BuildError {
            name: config.name().to_owned(),
            message: e.message,
        };
        let sink: Arc<dyn Sink> = match config {
            SinkConfig::File(c) => Arc::new(file::FileSink::new(c)),
            SinkConfig::Cloudwatch(c) => Arc::new(cloudwatch::CloudWatchSink::new(c, None).await),
            SinkConfig::SplunkHec(c) => {
                Arc::new(splunk_hec::SplunkHecSink::from_config(c, keychain).map_err(failed)?)
            }
            SinkConfig::Elasticsearch(c) => Arc::new(
                elasticsearch::ElasticsearchSink::from_config(c, keychain).map_err(failed)?,
            ),
            SinkConfig::Otlp(c) => {
                Arc::new(otlp::OtlpSink::from_config(c, keychain).map_err(failed)?)
            }
        };
        out.push(SinkEntry {
            sink,
            format: config.format().unwrap_or(ship.format),
        });
    }
    if let Some(name) = only
        && out.is_empty()
    {
        return Err(BuildError {
            name: name.to_owned(),
            message: "no [[audit.sinks]] entry has this name".into(),
        });
    }
    Ok(out)
}
