//! The journal on a filesystem that really fills up: a 64 KiB tmpfs mounted for the test.
//! Mounting needs root, which CI and the development machines run as; without it the test
//! fails and says so, it never skips.

// A test that cannot set up fails loudly: unwrap and expect are the point here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    collections::{BTreeMap, BTreeSet},
    path::{Path, PathBuf},
    process::Command,
};

use governance::{
    audit::{Access, AiContext, AuditEvent, Journal, Phase, ServerInfo, read_events, verify_dir},
    policy::Decision,
};

/// The mount, undone when the test ends however it ends.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(at: &Path, size: &str) -> Self {
        std::fs::create_dir_all(at).unwrap();
        let out = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(at)
            .output()
            .expect("the mount command runs");
        assert!(
            out.status.success(),
            "this test mounts a small tmpfs to fill it, which needs root: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Self(at.to_owned())
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

fn event(n: u64) -> AuditEvent {
    AuditEvent {
        event_id: format!("e{n}"),
        seq: 0,
        timestamp: "2026-01-13T10:30:00.000Z".into(),
        user: "jane@corp.example".into(),
        roles: vec!["delivery".into()],
        tool: "github".into(),
        action: "create_pull_request".into(),
        access: Access::Write,
        phase: Phase::Intent,
        call_id: format!("c{n}"),
        // About 1.6 KB a line: the 64 KiB fill up within a few dozen events.
        parameters: serde_json::json!({"body": "the quick brown fox jumps over the lazy dog ".repeat(35)}),
        result: None,
        error: None,
        duration_ms: None,
        decision: Decision::allow("policy.default_allow"),
        stripped_chars: None,
        redacted_secrets: None,
        resources: BTreeMap::new(),
        ai_context: AiContext::default(),
        server: ServerInfo {
            name: "github-mcp".into(),
            version: "0.1.0".into(),
        },
        host: "laptop".into(),
        policy_digest: "sha256:x".into(),
        tools_digest: None,
        prev_hash: String::new(),
        hash: String::new(),
    }
}

fn assert_verifies(dir: &Path, after: &str) {
    let report = verify_dir(dir).unwrap();
    assert_eq!(
        report.first_break(),
        None,
        "audit verify fails after {after}"
    );
}

#[test]
fn a_full_disk_refuses_events_without_breaking_the_chain_or_losing_one() {
    let base = tempfile::tempdir().unwrap();
    let fs = Tmpfs::mount(&base.path().join("fs"), "64k");
    // Most of the space is taken by a file the test gives back later.
    let ballast = fs.0.join("ballast");
    std::fs::write(&ballast, vec![0u8; 40 * 1024]).unwrap();
    let dir = fs.0.join("audit");
    let (journal, _) = Journal::open(&dir, "github").unwrap();

    let mut acknowledged = BTreeSet::new();
    let mut refused = 0;
    for n in 0..200 {
        match journal.append(event(n), n % 2 == 0) {
            Ok(written) => {
                assert_eq!(refused, 0, "event {n} written on a disk found full before");
                acknowledged.insert(written.event_id);
            }
            Err(e) => {
                assert!(e.to_string().contains("No space left"), "{e}");
                refused += 1;
            }
        }
        assert_verifies(&dir, &format!("event {n}"));
        if refused == 5 {
            break;
        }
    }
    assert_eq!(refused, 5, "the 64 KiB never filled up");
    assert!(acknowledged.len() > 3, "{acknowledged:?}");

    // Space comes back: events are written again, to a new segment.
    std::fs::remove_file(&ballast).unwrap();
    for n in 1000..1010 {
        let written = journal.append(event(n), true).unwrap();
        acknowledged.insert(written.event_id);
        assert_verifies(&dir, &format!("event {n}"));
    }
    drop(journal);

    let events = read_events(&dir).unwrap();
    assert_eq!(events.len(), acknowledged.len(), "an event is doubled");
    let found: BTreeSet<String> = events.into_iter().map(|e| e.event_id).collect();
    assert_eq!(
        found, acknowledged,
        "every acknowledged event, and only those"
    );
    // Failed attempts on the full disk leave no empty segments behind.
    let segments = governance::audit::segments(&dir).unwrap();
    assert_eq!(segments.len(), 2, "{segments:?}");
}
