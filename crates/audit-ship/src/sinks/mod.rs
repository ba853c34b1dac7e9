//! The sinks, one module each, all of the one shape of [`crate::Sink`], and [`build`], which
//! turns `[[audit.sinks]]` into them.

pub mod cloudwatch;
pub mod file;

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

/// Builds the configured sinks (`only`: just the one of that name).
pub async fn build(
    sinks: &[SinkConfig],
    ship: &ShipConfig,
    only: Option<&str>,
) -> Result<Vec<SinkEntry>, BuildError> {
    let mut out = Vec::new();
    for config in sinks {
        if only.is_some_and(|n| n != config.name()) {
            continue;
        }
        let sink: Arc<dyn Sink> = match config {
            SinkConfig::File(c) => Arc::new(file::FileSink::new(c)),
            SinkConfig::Cloudwatch(c) => Arc::new(cloudwatch::CloudWatchSink::new(c, None).await),
            other => {
                return Err(BuildError {
                    name: other.name().to_owned(),
                    message: format!("kind `{}` is not implemented yet", other.kind()),
                });
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

