//! One run of an event's side effects when the hook is installed twice: as the plugin's
//! `hooks/hooks.json` and as the system module's managed hooks. Claude Code then runs both
//! copies, at the same time, with the same payload; without this every tool use would be
//! journaled twice.
//!
//! The copies claim the payload: a marker named by the SHA-256 of the event, the session and
//! the canonical payload, in `<state dir>/sessions/claims/` (0700, markers 0600). The first to
//! link its marker into place holds the marker's `flock` while it does the work, then writes
//! `done` into it. The other copy waits for that lock: `done` means there is nothing left to
//! do; an empty marker means the holder failed or died (the kernel released its lock), so it
//! takes the claim over and does the work itself.
//!
//! Not what decides anything: PreToolUse's check claims nothing, as both copies must give the
//! same answer (Claude Code takes any deny); only the record of a denial is claimed. And never a reason to lose a record: any failure of
//! this machinery, or a holder still busy when the wait ends, leaves the work to be done again.
//! A duplicate is better than a loss.

use std::{
    fs::{File, OpenOptions, TryLockError},
    io::Read,
    os::unix::fs::{DirBuilderExt, FileExt, OpenOptionsExt},
    path::Path,
    time::{Duration, Instant, SystemTime},
};

use serde_json::Value;
use sha2::Digest;

/// How long a done marker counts. The copies run together, so minutes are plenty; and as
/// every payload names its prompt or tool use, no later event has an earlier one's payload.
const KEEP: Duration = Duration::from_secs(5 * 60);
/// How often the claims directory is swept of markers past [`KEEP`].
const SWEEP_EVERY: Duration = Duration::from_secs(60);
/// The file whose age says when the directory was last swept.
const SWEPT: &str = ".swept";
/// What a holder writes into its marker once the work is done.
const DONE: &[u8] = b"done\n";
/// Between two looks at a lock the other copy holds.
const POLL: Duration = Duration::from_millis(5);

/// The right to do an event's work. Dropped without [`Claim::done`] (a failure), it leaves the
/// work to the other copy.
pub(super) struct Claim(Option<File>);

impl Claim {
    /// The work is done: the other copy, waiting for this marker's lock, skips it.
    pub(super) fn done(self) {
        if let Some(marker) = self.0 {
            // Not recorded, the other copy only does the work again.
            let _ = marker.write_all_at(DONE, 0);
        }
    }
}

/// Claims `payload` of `event` in `session`; `None` when another copy of the hook has done the
/// work. Waits for a copy that holds the claim until `wait_until`, then does the work too.
pub(super) fn claim(
    event: &str,
    session: Option<&str>,
    payload: &Value,
    wait_until: Instant,
) -> Option<Claim> {
    // Without a session there is no state directory to claim in, nor a scope to claim for.
    let Some((session, dir)) = session.and_then(|session| {
        let state = governance::identity::session_state_path(session)?;
        Some((session, state.parent()?.join("claims")))
    }) else {
        return Some(Claim(None));
    };
    let key = key(event, session, payload);
    try_claim(&dir, &key, wait_until).unwrap_or_else(|e| {
        super::report(&format!(
            "{event}: {e}; doing the work unclaimed (a second copy of the hook may repeat it)"
        ));
        Some(Claim(None))
    })
}

/// The marker's name: equal payloads are equal however Claude Code spelled their JSON.
fn key(event: &str, session: &str, payload: &Value) -> String {
    let mut hash = sha2::Sha256::new();
    for part in [event, session] {
        hash.update(part);
        hash.update([0]);
    }
    hash.update(governance::audit::canonical_json(payload));
    hex::encode(hash.finalize())
}

fn try_claim(dir: &Path, key: &str, wait_until: Instant) -> Result<Option<Claim>, String> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    sweep(dir);
    let marker = dir.join(key);
    // Made and locked under a name of its own, then linked into place (which fails if the
    // name exists): a marker created in place would be visible, empty and unlocked for a
    // moment, and the other copy would take it for a dead holder's.
    let temporary = dir.join(format!(".{key}.{}.tmp", std::process::id()));
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&temporary)
        .map_err(|e| format!("cannot create {}: {e}", temporary.display()))?;
    if let Err(e) = file.try_lock() {
        let _ = std::fs::remove_file(&temporary);
        return Err(format!("cannot lock {}: {e}", temporary.display()));
    }
    let linked = std::fs::hard_link(&temporary, &marker);
    let _ = std::fs::remove_file(&temporary);
    match linked {
        Ok(()) => return Ok(Some(Claim(Some(file)))),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(format!("cannot claim {}: {e}", marker.display())),
    }
    let unusable = |e: std::io::Error| format!("cannot use {}: {e}", marker.display());
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(&marker)
        .map_err(unusable)?;
    loop {
        match file.try_lock() {
            Ok(()) => break,
            Err(TryLockError::WouldBlock) if Instant::now() < wait_until => {
                std::thread::sleep(POLL);
            }
            Err(TryLockError::WouldBlock) => {
                return Err(format!(
                    "the other copy of the hook still holds {}",
                    marker.display()
                ));
            }
            Err(TryLockError::Error(e)) => return Err(unusable(e)),
        }
    }
    let mut seen = Vec::new();
    (&mut file)
        .take(DONE.len() as u64 + 1)
        .read_to_end(&mut seen)
        .map_err(unusable)?;
    let stale = file
        .metadata()
        .and_then(|m| m.modified())
        .map_err(unusable)?
        .elapsed()
        .is_ok_and(|age| age >= KEEP);
    if seen == DONE && !stale {
        return Ok(None);
    }
    // Its holder failed or died, or it is an old event's that the sweep has not reached: ours.
    file.set_len(0).map_err(unusable)?;
    Ok(Some(Claim(Some(file))))
}

/// Removes markers past [`KEEP`] (and temporary files of hooks killed mid-claim), at most once
/// per [`SWEEP_EVERY`]: a run in between costs one `stat`.
fn sweep(dir: &Path) {
    let swept = dir.join(SWEPT);
    let age = |path: &Path| {
        std::fs::symlink_metadata(path)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
    };
    if age(&swept).is_some_and(|age| age < SWEEP_EVERY) {
        return;
    }
    let stamped = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&swept)
        .and_then(|f| f.set_modified(SystemTime::now()));
    // Unstamped, every run would sweep: better none until the directory is writable again.
    if stamped.is_err() {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if entry.file_name() != SWEPT && age(&path).is_some_and(|age| age >= KEEP) {
            let _ = std::fs::remove_file(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn keys_name_the_event_the_session_and_the_payload_as_canonical_json() {
        let payload = json!({"b": 1, "a": {"d": [1, 2], "c": "x"}});
        let respelled: Value =
            serde_json::from_str("{ \"a\": {\"c\": \"x\", \"d\": [1,2]},\n \"b\": 1 }").unwrap();
        let base = key("PostToolUse", "s", &payload);
        assert_eq!(base.len(), 64);
        assert_eq!(key("PostToolUse", "s", &respelled), base);
        for (event, session, payload) in [
            ("PostToolUseFailure", "s", &payload),
            ("PostToolUse", "t", &payload),
            (
                "PostToolUse",
                "s",
                &json!({"b": 2, "a": {"d": [1, 2], "c": "x"}}),
            ),
            // The separator keeps the parts apart.
            ("PostToolUs", "es", &payload),
        ] {
            assert_ne!(
                key(event, session, payload),
                base,
                "{event} {session} {payload}"
            );
        }
    }
}
