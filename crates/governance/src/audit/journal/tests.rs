//! The writer under failures injected at the file (`SegmentIo`), group commit, and named
//! segments. The full-disk test on a real filesystem is `tests/journal_disk_full.rs`.

use std::{
    collections::{BTreeMap, BTreeSet},
    sync::{Condvar, Mutex},
};

use super::*;
use crate::{
    audit::{Access, AiContext, Phase, ServerInfo, read_events, verify_dir},
    policy::Decision,
};

fn event(n: u64) -> AuditEvent {
    AuditEvent {
        event_id: format!("e{n}"),
        seq: 0,
        timestamp: format!("2026-01-13T10:30:{:02}.{:03}Z", n / 1000 % 60, n % 1000),
        user: "jane@corp.example".into(),
        roles: vec!["delivery".into()],
        tool: "github".into(),
        action: "create_pull_request".into(),
        access: Access::Write,
        phase: Phase::Intent,
        call_id: format!("c{n}"),
        parameters: serde_json::json!({"owner": "acme", "n": n}),
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

/// A sync that waits until the test opens it (at most `limit`, so that a regression fails
/// the test instead of hanging it).
struct Gate {
    state: Mutex<(bool, bool)>,
    changed: Condvar,
    limit: Duration,
}

impl Gate {
    fn new(limit: Duration) -> Self {
        Self {
            state: Mutex::new((false, false)),
            changed: Condvar::new(),
            limit,
        }
    }

    fn pass(&self) {
        let mut state = self.state.lock().unwrap();
        state.0 = true;
        self.changed.notify_all();
        let _ = self
            .changed
            .wait_timeout_while(state, self.limit, |(_, open)| !*open)
            .unwrap();
    }

    fn entered(&self) -> bool {
        self.state.lock().unwrap().0
    }

    fn wait_entered(&self) {
        let state = self.state.lock().unwrap();
        let (state, _) = self
            .changed
            .wait_timeout_while(state, Duration::from_secs(10), |(entered, _)| !*entered)
            .unwrap();
        assert!(state.0, "the writer never reached its sync");
    }

    fn open(&self) {
        self.state.lock().unwrap().1 = true;
        self.changed.notify_all();
    }
}

/// A file that fails when told to, and counts what it was asked.
#[derive(Default)]
struct Faulty {
    writes: AtomicUsize,
    syncs: AtomicUsize,
    /// The n-th write (from 1) lands this many bytes of its line, then fails: a full disk.
    torn_write: Option<(usize, usize)>,
    /// The n-th sync (from 1) fails: an I/O error under the page cache.
    failed_sync: Option<usize>,
    /// The first sync waits at this gate.
    gate: Option<Arc<Gate>>,
}

impl SegmentIo for Faulty {
    fn write(&self, file: &File, line: &[u8]) -> std::io::Result<()> {
        let n = self.writes.fetch_add(1, Ordering::SeqCst) + 1;
        match self.torn_write {
            Some((at, landed)) if at == n => {
                (&*file).write_all(&line[..landed])?;
                Err(std::io::Error::from_raw_os_error(28)) // ENOSPC
            }
            _ => (&*file).write_all(line),
        }
    }

    fn sync(&self, file: &File) -> std::io::Result<()> {
        let n = self.syncs.fetch_add(1, Ordering::SeqCst) + 1;
        if let (1, Some(gate)) = (n, &self.gate) {
            gate.pass();
        }
        if self.failed_sync == Some(n) {
            return Err(std::io::Error::from_raw_os_error(5)); // EIO
        }
        file.sync_data()
    }
}

fn ids(events: &[AuditEvent]) -> BTreeSet<String> {
    events.iter().map(|e| e.event_id.clone()).collect()
}

fn assert_intact(dir: &Path, case: &str) {
    let report = verify_dir(dir).unwrap();
    assert_eq!(report.first_break(), None, "{case}: audit verify fails");
}

#[test]
fn a_failed_write_or_sync_closes_the_segment_and_the_chain_stays_intact() {
    struct Case {
        name: &'static str,
        faults: Faulty,
        /// Whether the refused event's line stays in the journal (a failed sync: it was
        /// written, only its durability is unknown) or is cut off (a failed write).
        refused_line_kept: bool,
        segments: usize,
    }
    let cases = [
        Case {
            name: "write fails after part of its line",
            faults: Faulty {
                torn_write: Some((3, 40)),
                ..Faulty::default()
            },
            refused_line_kept: false,
            segments: 2,
        },
        Case {
            name: "write fails before any byte",
            faults: Faulty {
                torn_write: Some((3, 0)),
                ..Faulty::default()
            },
            refused_line_kept: false,
            segments: 2,
        },
        Case {
            name: "the first write of the segment fails",
            faults: Faulty {
                torn_write: Some((1, 25)),
                ..Faulty::default()
            },
            refused_line_kept: false,
            // The empty segment is removed, not left behind.
            segments: 1,
        },
        Case {
            name: "sync fails",
            faults: Faulty {
                failed_sync: Some(3),
                ..Faulty::default()
            },
            refused_line_kept: true,
            segments: 2,
        },
    ];
    for case in cases {
        let dir = tempfile::tempdir().unwrap();
        let torn_write = case.faults.torn_write;
        let refused = match (torn_write, case.faults.failed_sync) {
            (Some((n, _)), _) | (None, Some(n)) => n as u64,
            (None, None) => unreachable!("every case injects a fault"),
        };
        let journal = Journal::start(dir.path(), "github", None, Arc::new(case.faults)).unwrap();
        let mut acknowledged = BTreeSet::new();
        for n in 1..=6 {
            match journal.append(event(n), true) {
                Ok(written) => {
                    assert_ne!(n, refused, "{}: the failure was not reported", case.name);
                    acknowledged.insert(written.event_id);
                }
                Err(e) => {
                    assert_eq!(n, refused, "{}: event {n} refused: {e}", case.name);
                    assert!(matches!(e, AuditError::Io { .. }), "{}", case.name);
                }
            }
            // `audit verify` after each append, the failing one included.
            assert_intact(dir.path(), case.name);
        }
        drop(journal);
        assert_intact(dir.path(), case.name);
        let mut expected = acknowledged.clone();
        if case.refused_line_kept {
            expected.insert(format!("e{refused}"));
        }
        let events = read_events(dir.path()).unwrap();
        assert_eq!(
            events.len(),
            expected.len(),
            "{}: an event is doubled",
            case.name
        );
        assert_eq!(ids(&events), expected, "{}", case.name);
        assert_eq!(
            segments(dir.path()).unwrap().len(),
            case.segments,
            "{}",
            case.name
        );
        if let Some((_, landed)) = torn_write {
            let torn: Vec<_> = std::fs::read_dir(dir.path())
                .unwrap()
                .filter_map(|e| e.ok())
                .filter(|e| e.path().to_string_lossy().ends_with(".jsonl.torn"))
                .collect();
            assert_eq!(torn.len(), usize::from(landed > 0), "{}", case.name);
        }
    }
}

#[test]
fn a_partial_line_is_kept_aside_in_the_torn_file() {
    let dir = tempfile::tempdir().unwrap();
    let faults = Faulty {
        torn_write: Some((2, 30)),
        ..Faulty::default()
    };
    let journal = Journal::start(dir.path(), "github", None, Arc::new(faults)).unwrap();
    journal.append(event(1), false).unwrap();
    journal.append(event(2), false).unwrap_err();
    let first = segments(dir.path()).unwrap().remove(0);
    let torn = std::fs::read_to_string(first.with_extension("jsonl.torn")).unwrap();
    assert!(torn.starts_with("{\""), "{torn}");
    assert_eq!(torn.len(), 31, "the 30 bytes that landed and a newline");
    journal.append(event(3), false).unwrap();
    assert_intact(dir.path(), "torn");
}

#[test]
fn events_waiting_for_a_sync_when_a_write_fails_get_that_segments_last_sync() {
    // 1 is durable and still unsynced when 2 fails in the same batch: 1 is answered by the
    // segment's closing sync, 2 is refused, 3 goes to the next segment.
    let dir = tempfile::tempdir().unwrap();
    let gate = Arc::new(Gate::new(Duration::from_secs(10)));
    let faults = Arc::new(Faulty {
        torn_write: Some((3, 10)),
        gate: Some(gate.clone()),
        ..Faulty::default()
    });
    let journal = Arc::new(Journal::start(dir.path(), "github", None, faults.clone()).unwrap());
    // Event 0 holds the writer in its first sync while 1, 2 and 3 queue as one batch.
    let held = {
        let journal = journal.clone();
        std::thread::spawn(move || journal.append(event(10), true))
    };
    gate.wait_entered();
    let waiters: Vec<_> = [(1, true), (2, true), (3, true)]
        .into_iter()
        .map(|(n, durable)| {
            let sender = journal.clone();
            let waiter = std::thread::spawn(move || sender.append(event(n), durable));
            // In order: each request queued before the next is sent.
            wait_for(|| journal.queued() == n as usize);
            waiter
        })
        .collect();
    gate.open();
    held.join().unwrap().unwrap();
    let answers: Vec<_> = waiters.into_iter().map(|w| w.join().unwrap()).collect();
    assert!(answers[0].is_ok(), "{:?}", answers[0]);
    assert!(answers[1].is_err());
    assert!(answers[2].is_ok(), "{:?}", answers[2]);
    drop(journal);
    assert_intact(dir.path(), "batch");
    assert_eq!(segments(dir.path()).unwrap().len(), 2);
    assert_eq!(
        ids(&read_events(dir.path()).unwrap()),
        ["e10", "e1", "e3"].map(String::from).into()
    );
}

fn wait_for(condition: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !condition() {
        assert!(Instant::now() < deadline, "condition not reached in 10 s");
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn durable_appends_that_queue_during_a_sync_share_the_next_one() {
    let dir = tempfile::tempdir().unwrap();
    let gate = Arc::new(Gate::new(Duration::from_secs(10)));
    let faults = Arc::new(Faulty {
        gate: Some(gate.clone()),
        ..Faulty::default()
    });
    let journal = Arc::new(Journal::start(dir.path(), "github", None, faults.clone()).unwrap());
    let first = {
        let journal = journal.clone();
        std::thread::spawn(move || journal.append(event(1), true))
    };
    gate.wait_entered();
    let others: Vec<_> = (2..=8)
        .map(|n| {
            let journal = journal.clone();
            std::thread::spawn(move || journal.append(event(n), true))
        })
        .collect();
    wait_for(|| journal.queued() == 7);
    gate.open();
    first.join().unwrap().unwrap();
    for other in others {
        other.join().unwrap().unwrap();
    }
    assert_eq!(faults.writes.load(Ordering::SeqCst), 8);
    assert_eq!(
        faults.syncs.load(Ordering::SeqCst),
        2,
        "the seven appends that queued behind the first sync share one"
    );
    drop(journal);
    assert_intact(dir.path(), "group commit");
    assert_eq!(read_events(dir.path()).unwrap().len(), 8);
}

#[test]
fn an_async_durable_append_leaves_its_worker_thread_free() {
    // One worker thread only: if the append blocked it while its sync is held, the timer
    // below could not fire until the gate's own limit let the sync go.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let gate = Arc::new(Gate::new(Duration::from_secs(5)));
    let faults = Arc::new(Faulty {
        gate: Some(gate.clone()),
        ..Faulty::default()
    });
    let journal = Arc::new(Journal::start(dir.path(), "github", None, faults).unwrap());
    let (appended, worker_ran) = runtime.block_on(async {
        let append = {
            let journal = journal.clone();
            tokio::spawn(async move {
                journal.append_async(event(1), true).await.unwrap();
                Instant::now()
            })
        };
        while !gate.entered() {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
        let worker_ran = Instant::now();
        gate.open();
        (append.await.unwrap(), worker_ran)
    });
    assert!(
        worker_ran < appended,
        "the worker thread was blocked until the sync finished"
    );
    drop(journal);
    assert_intact(dir.path(), "async");
}

#[test]
fn short_lived_writers_continue_a_named_segment_in_turn() {
    let dir = tempfile::tempdir().unwrap();
    for n in [1, 3] {
        let journal = Journal::open_named(dir.path(), "claude-code", "claude-code-s1").unwrap();
        journal.append(event(n), true).unwrap();
        journal.append(event(n + 1), false).unwrap();
    }
    let named = dir.path().join("claude-code-s1.jsonl");
    assert_eq!(segments(dir.path()).unwrap(), std::slice::from_ref(&named));
    let events = read_events(dir.path()).unwrap();
    assert_eq!(
        events.iter().map(|e| e.seq).collect::<Vec<_>>(),
        [1, 2, 3, 4]
    );
    assert_intact(dir.path(), "named");

    // A crash mid-line: the next writer cuts it off (keeping the bytes) and continues.
    let mut bytes = std::fs::read(&named).unwrap();
    bytes.extend_from_slice(b"{\"event_id\":\"e5\",\"se");
    std::fs::write(&named, &bytes).unwrap();
    let journal = Journal::open_named(dir.path(), "claude-code", "claude-code-s1").unwrap();
    assert_eq!(journal.append(event(6), false).unwrap().seq, 5);
    assert!(named.with_extension("jsonl.torn").exists());
    assert_intact(dir.path(), "named after a crash");

    // While that writer holds the segment, another one does not wait for it.
    let started = Instant::now();
    let other = Journal::open_named(dir.path(), "claude-code", "claude-code-s1").unwrap();
    assert_eq!(other.append(event(7), false).unwrap().seq, 1);
    assert!(started.elapsed() < Duration::from_secs(2));
    drop((journal, other));
    assert_eq!(segments(dir.path()).unwrap().len(), 2);
    assert_intact(dir.path(), "named and fresh");

    // A name is a file in the journal directory, never a path out of it.
    for name in ["../escape", "a/b", ".hidden", ""] {
        assert!(
            Journal::open_named(dir.path(), "claude-code", name).is_err(),
            "{name:?}"
        );
    }

    // A last line that is not an event: the chain is not continued from garbage.
    std::fs::write(dir.path().join("claude-code-s2.jsonl"), "not json\n").unwrap();
    let journal = Journal::open_named(dir.path(), "claude-code", "claude-code-s2").unwrap();
    assert_eq!(journal.append(event(8), false).unwrap().seq, 1);
    drop(journal);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("claude-code-s2.jsonl")).unwrap(),
        "not json\n"
    );
}

/// Regression: retention (audit-ship) deletes a shipped named segment under its lock; a hook
/// that was waiting for that lock must not append to the deleted file, where nobody would
/// ever read its event.
#[test]
fn a_named_segment_deleted_while_waiting_for_its_lock_sends_the_event_to_a_fresh_one() {
    let dir = tempfile::tempdir().unwrap();
    let named = dir.path().join("claude-code-s9.jsonl");
    let journal = Journal::open_named(dir.path(), "claude-code", "claude-code-s9").unwrap();
    journal.append(event(1), false).unwrap();
    drop(journal);
    // Retention's side: holds the segment's lock.
    let held = File::open(&named).unwrap();
    held.lock().unwrap();
    let hook = std::thread::spawn({
        let dir = dir.path().to_owned();
        move || {
            let journal = Journal::open_named(&dir, "claude-code", "claude-code-s9").unwrap();
            journal.append(event(2), false).unwrap();
        }
    });
    // Let the hook start waiting (well within its 200 ms), then delete under the lock.
    std::thread::sleep(Duration::from_millis(50));
    std::fs::remove_file(&named).unwrap();
    drop(held);
    hook.join().unwrap();
    let found = ids(&read_events(dir.path()).unwrap());
    assert!(
        found.contains("e2"),
        "the event went to the deleted file: {found:?}"
    );
    assert_intact(dir.path(), "after the delete");
}
