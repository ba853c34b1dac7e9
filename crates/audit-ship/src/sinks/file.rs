//! The file sink: encoded events appended as JSON Lines to one file (0600), fsync'd before
//! the batch is acknowledged.
//!
//! A shipper killed mid-write leaves a partial last line; [`Sink::prepare`] cuts it off (the
//! batch was not acknowledged, so it is sent again whole). The sink's lock in the shipper
//! makes this process the file's only writer.

use std::{
    fs::OpenOptions,
    io::Write,
    os::unix::fs::{FileExt, OpenOptionsExt},
    path::PathBuf,
};

use async_trait::async_trait;
use governance::config::FileSinkConfig;

use crate::sink::{Batch, Delivery, Sink, SinkError};

/// Appends to a local file.
pub struct FileSink {
    name: String,
    path: PathBuf,
}

impl FileSink {
    /// A file sink from its config.
    pub fn new(config: &FileSinkConfig) -> Self {
        Self {
            name: config.name.clone(),
            path: config.path.clone(),
        }
    }

    fn io_error(&self, what: &str, e: std::io::Error) -> SinkError {
        let message = format!("{what} {}: {e}", self.path.display());
        match e.kind() {
            std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::NotFound => {
                SinkError::permanent(message)
            }
            _ => SinkError::retryable(message),
        }
    }

    fn open(&self) -> Result<std::fs::File, SinkError> {
        OpenOptions::new()
            .create(true)
            .append(true)
            .read(true)
            .mode(0o600)
            .open(&self.path)
            .map_err(|e| self.io_error("cannot open", e))
    }
}

#[async_trait]
impl Sink for FileSink {
    fn name(&self) -> &str {
        &self.name
    }

    async fn prepare(&self) -> Result<(), SinkError> {
        let file = self.open()?;
        let len = file
            .metadata()
            .map_err(|e| self.io_error("cannot read", e))?
            .len();
        if len == 0 {
            return Ok(());
        }
        let mut last = [0u8];
        file.read_exact_at(&mut last, len - 1)
            .map_err(|e| self.io_error("cannot read", e))?;
        if last[0] == b'\n' {
            return Ok(());
        }
        // A partial line from a killed run: never acknowledged, so it is sent again.
        let mut keep = len;
        let mut window = vec![0u8; 64 * 1024];
        while keep > 0 {
            let start = keep.saturating_sub(window.len() as u64);
            let part = &mut window[..(keep - start) as usize];
            file.read_exact_at(part, start)
                .map_err(|e| self.io_error("cannot read", e))?;
            if let Some(i) = part.iter().rposition(|b| *b == b'\n') {
                keep = start + i as u64 + 1;
                break;
            }
            keep = start;
        }
        file.set_len(keep)
            .and_then(|()| file.sync_all())
            .map_err(|e| self.io_error("cannot repair", e))
    }

    async fn send(&self, batch: &Batch) -> Result<Delivery, SinkError> {
        let mut text = Vec::with_capacity(batch.bytes() + batch.events.len());
        for event in &batch.events {
            text.extend_from_slice(&event.bytes);
            text.push(b'\n');
        }
        let path = self.path.clone();
        let written = tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            let mut file = OpenOptions::new()
                .create(true)
                .append(true)
                .mode(0o600)
                .open(&path)?;
            let before = file.metadata()?.len();
            let written = file.write_all(&text).and_then(|()| file.sync_data());
            if written.is_err() {
                // No partial line for the retry to be glued onto.
                let _ = file.set_len(before);
            }
            written
        })
        .await
        .map_err(|e| SinkError::retryable(format!("file sink task failed: {e}")))?;
        written.map_err(|e| self.io_error("cannot append to", e))?;
        Ok(Delivery::all_delivered())
    }
}
