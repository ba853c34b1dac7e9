//! The sinks, one module each, all of the one shape of [`crate::Sink`], and [`build`], which
//! turns `[[audit.sinks]]` into them.

pub mod cloudwatch;
pub mod elasticsearch;
pub mod file;
pub mod otlp;
pub mod splunk_hec;
mod web;

pub use web::keychain_user;

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
