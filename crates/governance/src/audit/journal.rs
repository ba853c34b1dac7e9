//! The append-only, hash-chained journal writer, and repair of torn tails after a crash.
//!
//! Each server process writes its own segment (`<server>-<UTC time>-<pid>.jsonl`), holding an
//! exclusive lock on it for its lifetime: one writer per segment, no cross-process
//! coordination. A line is written with one `write` call before the call's answer goes out, so
//! it survives the process being killed; write intents are also fsync'd, so they survive power
//! loss. A process that dies mid-line leaves a torn tail, which the next writer (or
//! `claude-enterprise audit verify --repair`) moves aside to `<segment>.torn` and cuts off, never
//! dropping it silently.

use std::{
    fs::{File, OpenOptions},
    io::{Read, Seek, SeekFrom, Write},
    os::unix::fs::{DirBuilderExt, OpenOptionsExt},
    path::{Path, PathBuf},
    sync::Mutex,
};

use serde_json::Value;

use super::event::{AuditEvent, GENESIS_HASH, chain_hash};
use crate::content::{Scrub, clean_json};

/// The journal could not be written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuditError {
    /// The journal directory or a segment could not be created, opened or written.
    #[error("audit journal {path} cannot be written: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// No journal directory is configured and `$HOME` is unset.
    #[error("no audit journal directory: set audit.dir in the config, or XDG_STATE_HOME or HOME")]
    NoDirectory,
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> AuditError + '_ {
    move |source| AuditError::Io {
        path: path.to_owned(),
        source,
    }
}

struct Segment {
    file: File,
    path: PathBuf,
    seq: u64,
    prev_hash: String,
}

/// One process's writer to the journal directory.
pub struct Journal {
    dir: PathBuf,
    server: String,
    segment: Mutex<Option<Segment>>,
}

/// What repair found and did in one segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepairReport {
    /// The segment.
    pub segment: PathBuf,
    /// Bytes cut from its end and appended to `<segment>.torn`.
    pub torn_bytes: usize,
}

impl Journal {
    /// Opens the journal directory (created 0700 if missing) for `server`, repairing the torn
    /// tails that crashed writers left. The segment file itself is created at the first event.
    pub fn open(dir: &Path, server: &str) -> Result<(Self, Vec<RepairReport>), AuditError> {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(io_error(dir))?;
        let repairs = repair_dir(dir)?;
        Ok((
            Self {
                dir: dir.to_owned(),
                server: server.to_owned(),
                segment: Mutex::new(None),
            },
            repairs,
        ))
    }

    /// The journal directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Checks that the directory can take a new file now: a cheap probe run before a write's
    /// intent, so that a full disk or a read-only directory refuses the write up front.
    pub fn writable(&self) -> Result<(), AuditError> {
        let guard = self.segment.lock().unwrap_or_else(|e| e.into_inner());
        if guard.is_some() {
            return Ok(());
        }
        let meta = std::fs::metadata(&self.dir).map_err(io_error(&self.dir))?;
        if meta.permissions().readonly() {
            return Err(AuditError::Io {
                path: self.dir.clone(),
                source: std::io::Error::new(std::io::ErrorKind::PermissionDenied, "read-only"),
            });
        }
        Ok(())
    }

    /// Appends `event`, filling in `seq`, `prev_hash` and `hash`; with `durable`, the line is
    /// fsync'd before this returns. Returns the event as written.
    pub fn append(&self, mut event: AuditEvent, durable: bool) -> Result<AuditEvent, AuditError> {
        let mut guard = self.segment.lock().unwrap_or_else(|e| e.into_inner());
        if guard.is_none() {
            *guard = Some(self.create_segment()?);
        }
        let segment = guard.as_mut().expect("segment just created");
        event.seq = segment.seq + 1;
        event.prev_hash = segment.prev_hash.clone();
        event.hash = String::new();
        let mut value = serde_json::to_value(&event).expect("an audit event serializes");
        // The one place every event passes: no secret (held by this process, or shaped like
        // one in an argument or an upstream error) and no hidden character is ever written.
        clean_json(&mut value, Scrub::All);
        let hash = chain_hash(&event.prev_hash, &value);
        value["hash"] = Value::String(hash.clone());
        let mut line = serde_json::to_string(&value).expect("an audit event serializes");
        line.push('\n');
        segment
            .file
            .write_all(line.as_bytes())
            .map_err(io_error(&segment.path))?;
        if durable {
            segment.file.sync_data().map_err(io_error(&segment.path))?;
        }
        segment.seq = event.seq;
        segment.prev_hash = hash.clone();
        event.hash = hash;
        Ok(event)
    }

    fn create_segment(&self) -> Result<Segment, AuditError> {
        let name = format!(
            "{}-{}-{}.jsonl",
            self.server,
            chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ"),
            std::process::id()
        );
        let path = self.dir.join(name);
        let file = OpenOptions::new()
            .create_new(true)
            .append(true)
            .mode(0o600)
            .open(&path)
            .map_err(io_error(&path))?;
        file.try_lock().map_err(|e| AuditError::Io {
            path: path.clone(),
            source: std::io::Error::other(e.to_string()),
        })?;
        // The directory entry must be durable too, or a crash could lose the whole segment.
        if let Ok(dir) = File::open(&self.dir) {
            let _ = dir.sync_all();
        }
        Ok(Segment {
            file,
            path,
            seq: 0,
            prev_hash: GENESIS_HASH.to_owned(),
        })
    }
}

/// The journal's segments, oldest name first.
pub fn segments(dir: &Path) -> Result<Vec<PathBuf>, AuditError> {
    let mut found: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(io_error(dir)(e)),
    };
    found.sort();
    Ok(found)
}

/// Cuts the torn last line off every segment no live writer holds, saving the cut bytes to
/// `<segment>.torn`.
pub fn repair_dir(dir: &Path) -> Result<Vec<RepairReport>, AuditError> {
    let mut reports = Vec::new();
    for path in segments(dir)? {
        let mut file = match OpenOptions::new().read(true).write(true).open(&path) {
            Ok(f) => f,
            Err(_) => continue,
        };
        // A live writer holds the lock; its tail is not torn, only in flight.
        if file.try_lock().is_err() {
            continue;
        }
        // Only the last byte says whether the tail is torn: servers start often and the
        // journal grows, so intact segments are not read.
        let len = file.metadata().map_err(io_error(&path))?.len();
        if len == 0 {
            continue;
        }
        let mut last = [0u8; 1];
        file.seek(SeekFrom::Start(len - 1))
            .map_err(io_error(&path))?;
        file.read_exact(&mut last).map_err(io_error(&path))?;
        if last[0] == b'\n' {
            continue;
        }
        let mut bytes = Vec::new();
        file.seek(SeekFrom::Start(0)).map_err(io_error(&path))?;
        file.read_to_end(&mut bytes).map_err(io_error(&path))?;
        let keep = bytes.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
        let torn = &bytes[keep..];
        let torn_path = path.with_extension("jsonl.torn");
        let mut saved = OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(&torn_path)
            .map_err(io_error(&torn_path))?;
        saved.write_all(torn).map_err(io_error(&torn_path))?;
        saved.write_all(b"\n").map_err(io_error(&torn_path))?;
        saved.sync_all().map_err(io_error(&torn_path))?;
        file.set_len(keep as u64).map_err(io_error(&path))?;
        file.seek(SeekFrom::End(0)).map_err(io_error(&path))?;
        file.sync_all().map_err(io_error(&path))?;
        tracing::warn!(
            segment = %path.display(),
            torn_bytes = torn.len(),
            "repaired a torn audit line left by a crash; the bytes are kept in {}",
            torn_path.display()
        );
        reports.push(RepairReport {
            segment: path,
            torn_bytes: torn.len(),
        });
    }
    Ok(reports)
}
