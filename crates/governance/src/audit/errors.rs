//! The servers' own WARN and ERROR logs, kept in a local errors journal beside the audit one
//! ([`errors_dir`]: `audit-errors` next to the default `audit`) for `claude-enterprise audit ship` to send to each sink's errors
//! stream (a separate log group, index or sourcetype, kept 90 days centrally).
//!
//! One file per process, `<server>-<UTC time>-<pid>.jsonl`, created 0600 at the first line (a
//! process that logs nothing leaves no file) and locked while the process lives, so local
//! retention never deletes it under a live writer. Lines are the log layer's text, cleaned of
//! secrets ([`crate::content::ScrubbingWriter`]); they are not hash-chained: they are
//! diagnostics, not the audit record.

use std::{
    fs::{File, OpenOptions},
    io::Write,
    os::unix::fs::{DirBuilderExt, OpenOptionsExt},
    path::{Path, PathBuf},
    sync::{Arc, OnceLock},
};

/// The errors journal of the audit journal at `journal_dir`: its sibling
/// `<journal dir name>-errors` (`~/.local/state/claude-enterprise/audit-errors`), outside the
/// audit journal so that nothing reading it meets these files.
pub fn errors_dir(journal_dir: &Path) -> PathBuf {
    let name = journal_dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "audit".into());
    journal_dir.with_file_name(format!("{name}-errors"))
}

/// Where one process's WARN/ERROR lines go: opened at the first line.
#[derive(Clone)]
pub struct ErrorsLog {
    dir: PathBuf,
    server: String,
    file: Arc<OnceLock<Option<File>>>,
}

impl ErrorsLog {
    /// The errors log of `server` under `dir` ([`errors_dir`]). Nothing is created yet.
    pub fn new(dir: &Path, server: &str) -> Self {
        Self {
            dir: dir.to_owned(),
            server: server.to_owned(),
            file: Arc::new(OnceLock::new()),
        }
    }

    fn open(&self) -> Option<File> {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.dir)
            .ok()?;
        let path = self.dir.join(format!(
            "{}-{}-{}.jsonl",
            self.server,
            chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ"),
            std::process::id()
        ));
        let file = OpenOptions::new()
            .create_new(true)
            .append(true)
            .mode(0o600)
            .open(path)
            .ok()?;
        // Held for the life of the process: retention skips locked files.
        file.try_lock().ok()?;
        Some(file)
    }
}

impl Write for ErrorsLog {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        // A log line that cannot be kept is not worth failing anything for.
        if let Some(file) = self.file.get_or_init(|| self.open()) {
            (&*file).write_all(buf)?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn nothing_is_created_until_a_line_then_one_locked_0600_file() {
        let dir = tempfile::tempdir().unwrap();
        let errors = dir.path().join("errors");
        let mut log = ErrorsLog::new(&errors, "github-mcp");
        assert!(!errors.exists());
        log.write_all(b"2026-12-02T13:00:00.000000Z  WARN x: one\n")
            .unwrap();
        let mut again = log.clone();
        again
            .write_all(b"2026-12-02T13:00:01.000000Z ERROR x: two\n")
            .unwrap();
        let files: Vec<_> = std::fs::read_dir(&errors).unwrap().collect();
        assert_eq!(files.len(), 1);
        let path = files[0].as_ref().unwrap().path();
        assert!(
            path.file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("github-mcp-")
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap().lines().count(), 2);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        // Held while the process lives.
        assert!(File::open(&path).unwrap().try_lock().is_err());
        assert_eq!(
            errors_dir(Path::new("/s/claude-enterprise/audit")),
            Path::new("/s/claude-enterprise/audit-errors")
        );
    }
}
