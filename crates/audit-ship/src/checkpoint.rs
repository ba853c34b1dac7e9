//! Per-sink state under `<journal dir>/ship/<sink>/`: a checkpoint per segment, the lock that
//! keeps two shippers off one sink, quarantined segments, and the sink's last error.
//!
//! Files, all 0600 in a 0700 directory, written atomically (a temporary file, fsync, rename,
//! fsync of the directory), so a crash leaves the old or the new content, never a mix:
//! - `<segment>.ckpt`: `{"offset", "seq", "hash"}`: bytes of the segment acknowledged by the
//!   sink, and the last acknowledged link of its chain (where verification resumes).
//! - `<segment>.quarantine`: why the segment is not shipped to this sink (its first break).
//! - `state.json`: the last error and the time of the last success.
//! - `lock`: held (`flock`) by the shipper of this sink for the whole run.
//!
//! Not here: deciding when to advance (the shipper does, after the sink acknowledged).

use std::{
    fs::{File, OpenOptions},
    io::Write,
    os::unix::fs::{DirBuilderExt, OpenOptionsExt},
    path::{Path, PathBuf},
};

use serde::{Deserialize, Serialize};

/// A checkpoint, a lock or a state file could not be read or written.
#[derive(Debug, thiserror::Error)]
#[error("{what} {path}: {source}")]
pub struct StateError {
    /// What was being done.
    pub what: &'static str,
    /// The file.
    pub path: PathBuf,
    /// Why.
    pub source: std::io::Error,
}

fn err<'a>(what: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> StateError + 'a {
    move |source| StateError {
        what,
        path: path.to_owned(),
        source,
    }
}

/// How far one sink has acknowledged one segment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Bytes of the segment acknowledged: the next read starts here (always a line start).
    pub offset: u64,
    /// `seq` of the last acknowledged line (0: none).
    pub seq: u64,
    /// `hash` of the last acknowledged line (the genesis hash: none).
    pub hash: String,
}

impl Default for Checkpoint {
    fn default() -> Self {
        Self {
            offset: 0,
            seq: 0,
            hash: governance::audit::GENESIS_HASH.to_owned(),
        }
    }
}

/// Why a segment is quarantined for a sink.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quarantine {
    /// The seq at which the chain breaks.
    pub seq: u64,
    /// Byte offset of the broken line.
    pub offset: u64,
    /// What is wrong.
    pub reason: String,
    /// When it was found (RFC 3339).
    pub at: String,
}

/// The sink's last outcome, for `status` and `doctor`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SinkState {
    /// The last error, if the last run ended with one.
    pub last_error: Option<String>,
    /// When it happened (RFC 3339).
    pub last_error_at: Option<String>,
    /// The last time a batch was acknowledged (RFC 3339).
    pub last_success_at: Option<String>,
}

/// The state directory of one sink.
#[derive(Debug, Clone)]
pub struct SinkDir {
    dir: PathBuf,
}

/// Whether `name` can name a sink's state directory.
pub fn valid_sink_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && !name.starts_with('.')
}

impl SinkDir {
    /// `<journal dir>/ship/<sink>` (not created).
    pub fn new(journal_dir: &Path, sink: &str) -> Self {
        Self {
            dir: journal_dir.join("ship").join(sink),
        }
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Creates the directory (0700) if missing.
    pub fn create(&self) -> Result<(), StateError> {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.dir)
            .map_err(err("cannot create the sink state directory", &self.dir))
    }

    fn file(&self, segment: &str, ext: &str) -> PathBuf {
        self.dir.join(format!("{segment}.{ext}"))
    }

    /// The checkpoint of `segment` (the start when there is none).
    pub fn checkpoint(&self, segment: &str) -> Result<Checkpoint, StateError> {
        Ok(read_json(&self.file(segment, "ckpt"))?.unwrap_or_default())
    }

    /// Writes the checkpoint of `segment` atomically and durably.
    pub fn set_checkpoint(&self, segment: &str, checkpoint: &Checkpoint) -> Result<(), StateError> {
        write_json(&self.file(segment, "ckpt"), checkpoint)
    }

    /// Why `segment` is quarantined, if it is.
    pub fn quarantine(&self, segment: &str) -> Result<Option<Quarantine>, StateError> {
        read_json(&self.file(segment, "quarantine"))
    }

    /// Records that `segment` is quarantined.
    pub fn set_quarantine(&self, segment: &str, q: &Quarantine) -> Result<(), StateError> {
        write_json(&self.file(segment, "quarantine"), q)
    }

    /// Removes the checkpoint and quarantine record of a deleted segment.
    pub fn forget(&self, segment: &str) {
        for ext in ["ckpt", "quarantine"] {
            let _ = std::fs::remove_file(self.file(segment, ext));
        }
    }

    /// Appends the dead-lettered events of an acknowledged batch to `deadletter.jsonl`
    /// (event_id, segment, seq, reason), durably, before the checkpoint moves past them.
    pub fn dead_letter(
        &self,
        batch: &crate::sink::Batch,
        delivery: &crate::sink::Delivery,
    ) -> Result<(), StateError> {
        let mut text = String::new();
        for (event, item) in batch.events.iter().zip(&delivery.items) {
            if let crate::sink::ItemOutcome::DeadLettered { reason } = item {
                let record = serde_json::json!({
                    "event_id": event.event_id,
                    "segment": batch.segment,
                    "seq": event.seq,
                    "reason": reason,
                    "at": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                });
                text.push_str(&record.to_string());
                text.push('\n');
            }
        }
        if text.is_empty() {
            return Ok(());
        }
        let path = self.dir.join("deadletter.jsonl");
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(&path)
            .map_err(err("cannot open", &path))?;
        file.write_all(text.as_bytes())
            .and_then(|()| file.sync_data())
            .map_err(err("cannot write", &path))
    }

    /// The sink's last outcome.
    pub fn state(&self) -> Result<SinkState, StateError> {
        Ok(read_json(&self.dir.join("state.json"))?.unwrap_or_default())
    }

    /// Records the sink's last outcome.
    pub fn set_state(&self, state: &SinkState) -> Result<(), StateError> {
        write_json(&self.dir.join("state.json"), state)
    }

    /// Takes the sink's lock without waiting: `Ok(None)` when another shipper holds it.
    pub fn try_lock(&self) -> Result<Option<File>, StateError> {
        self.create()?;
        let path = self.dir.join("lock");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .mode(0o600)
            .open(&path)
            .map_err(err("cannot open the sink lock", &path))?;
        match file.try_lock() {
            Ok(()) => Ok(Some(file)),
            Err(std::fs::TryLockError::WouldBlock) => Ok(None),
            Err(std::fs::TryLockError::Error(e)) => Err(err("cannot lock", &path)(e)),
        }
    }
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Option<T>, StateError> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| StateError {
                what: "unreadable state file",
                path: path.to_owned(),
                source: std::io::Error::new(std::io::ErrorKind::InvalidData, e),
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(err("cannot read", path)(e)),
    }
}

/// Writes `value` to `path` atomically: temporary file in the same directory, fsync, rename,
/// fsync of the directory.
fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), StateError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let bytes = serde_json::to_vec(value).map_err(|e| StateError {
        what: "cannot serialize",
        path: path.to_owned(),
        source: std::io::Error::other(e),
    })?;
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("state"),
        std::process::id()
    ));
    let write = || -> std::io::Result<()> {
        let mut file = OpenOptions::new()
            .create(true)
            .truncate(true)
            .write(true)
            .mode(0o600)
            .open(&tmp)?;
        file.write_all(&bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)?;
        File::open(dir)?.sync_all()
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        err("cannot write", path)(e)
    })
}
