//! Local retention: deletes journal segments that every sink has acknowledged and that are
//! older than `audit.retention_days`.
//!
//! **Invariant: an unshipped event is never deleted, whatever its age.** A segment is deleted
//! only when all of these hold:
//! - at least one sink is configured (with none, nothing is ever shipped, so nothing goes);
//! - its last write is older than the retention (so are all its events);
//! - no writer holds it: retention takes the segment's own lock (the one a live server, or a
//!   hook continuing the segment, holds) and deletes under it;
//! - every configured sink's checkpoint covers the whole file, and no sink quarantined it.
//!
//! The segment's checkpoints go with it. Not here: shipping ([`crate::shipper`]).

use std::{
    fs::OpenOptions,
    path::{Path, PathBuf},
    time::{Duration, SystemTime},
};

use governance::audit::{AuditError, segments};

use crate::checkpoint::SinkDir;

/// What one retention pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RetentionReport {
    /// Segments deleted.
    pub deleted: Vec<PathBuf>,
    /// Segments past the retention kept because a sink has not acknowledged all of them
    /// (or quarantined them).
    pub kept_unshipped: Vec<PathBuf>,
    /// Segments past the retention kept because a writer holds them.
    pub kept_open: Vec<PathBuf>,
}

/// Applies retention to the journal at `dir` for the sinks named `sinks`, as of `now`.
pub fn apply(
    dir: &Path,
    sinks: &[&str],
    retention_days: u32,
    now: SystemTime,
) -> Result<RetentionReport, AuditError> {
    apply_inner(dir, sinks, retention_days, now, true)
}

/// Retention of the errors journal ([`governance::audit::errors_dir`]) for the sinks that
/// ship it: like [`apply`], except that with no such sink its old files (diagnostics, not the
/// audit record) are deleted after the retention all the same.
pub fn apply_errors(
    dir: &Path,
    sinks: &[&str],
    retention_days: u32,
    now: SystemTime,
) -> Result<RetentionReport, AuditError> {
    apply_inner(dir, sinks, retention_days, now, false)
}

fn apply_inner(
    dir: &Path,
    sinks: &[&str],
    retention_days: u32,
    now: SystemTime,
    need_a_sink: bool,
) -> Result<RetentionReport, AuditError> {
    let mut report = RetentionReport::default();
    let retention = Duration::from_secs(u64::from(retention_days) * 24 * 3600);
    let sink_dirs: Vec<SinkDir> = sinks.iter().map(|s| SinkDir::new(dir, s)).collect();
    for path in segments(dir)? {
        let Some(segment) = path.file_name().and_then(|n| n.to_str()).map(str::to_owned) else {
            continue;
        };
        let Ok(meta) = std::fs::metadata(&path) else {
            continue;
        };
        let modified = meta.modified().unwrap_or(now);
        if now.duration_since(modified).unwrap_or_default() < retention {
            continue;
        }
        if sink_dirs.is_empty() && need_a_sink {
            report.kept_unshipped.push(path);
            continue;
        }
        let Ok(file) = OpenOptions::new().read(true).write(true).open(&path) else {
            continue;
        };
        if file.try_lock().is_err() {
            report.kept_open.push(path);
            continue;
        }
        // Under the segment's lock its length cannot change.
        let len = file.metadata().map(|m| m.len()).unwrap_or(u64::MAX);
        let covered = sink_dirs.iter().all(|s| {
            s.quarantine(&segment).ok().flatten().is_none()
                && s.checkpoint(&segment).is_ok_and(|c| c.offset >= len)
        });
        if !covered {
            report.kept_unshipped.push(path);
            continue;
        }
        if std::fs::remove_file(&path).is_ok() {
            for s in &sink_dirs {
                s.forget(&segment);
            }
            if let Ok(d) = std::fs::File::open(dir) {
                let _ = d.sync_all();
            }
            tracing::info!(segment, "deleted after its retention: every sink has it");
            report.deleted.push(path);
        }
        drop(file);
    }
    Ok(report)
}
