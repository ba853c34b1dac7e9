//! Retention never deletes what a sink has not acknowledged, nor a segment a writer holds.

use std::time::{Duration, SystemTime};

use audit_ship::{Mode, retention};
use governance::audit::{Journal, segments};

use crate::common::*;

fn age(path: &std::path::Path, days: u64) {
    let file = std::fs::OpenOptions::new().write(true).open(path).unwrap();
    file.set_modified(SystemTime::now() - Duration::from_secs(days * 86_400))
        .unwrap();
}

#[tokio::test]
async fn retention_deletes_only_old_segments_every_sink_has() {
    let dir = tempfile::tempdir().unwrap();
    let journal_dir = dir.path().join("audit");
    let segs = journal(&journal_dir, &[5, 5, 5]);
    // Segments 0 and 1 are old; 2 is recent.
    age(&segs[0], 30);
    age(&segs[1], 30);
    // A live writer's segment, old but open.
    let (live, _) = Journal::open(&journal_dir, "zlive").unwrap();
    live.append(event(1), false).unwrap();
    let live_seg = segments(&journal_dir).unwrap().pop().unwrap();
    age(&live_seg, 30);
    let sinks = ["a", "b"];

    // No sink configured: nothing is shipped, so nothing goes.
    let r = retention::apply(&journal_dir, &[], 7, SystemTime::now()).unwrap();
    assert!(r.deleted.is_empty());

    // Only sink `a` has shipped: `b` still needs everything.
    let out_a = dir.path().join("a.jsonl");
    let report = shipper(&journal_dir, vec![file_sink("a", &out_a)])
        .run(Mode::Once)
        .await
        .unwrap();
    assert!(report.ok());
    for seg in &segs {
        age_keep(seg, seg == &segs[2]);
    }
    age(&live_seg, 30);
    let r = retention::apply(&journal_dir, &sinks, 7, SystemTime::now()).unwrap();
    assert!(r.deleted.is_empty(), "{r:?}");
    assert_eq!(r.kept_unshipped, vec![segs[0].clone(), segs[1].clone()]);
    assert_eq!(r.kept_open, vec![live_seg.clone()]);

    // `b` ships segment 0's first events only (a partial checkpoint): segment 0 stays.
    let out_b = dir.path().join("b.jsonl");
    let report = shipper(&journal_dir, vec![file_sink("b", &out_b)])
        .run(Mode::Once)
        .await
        .unwrap();
    assert!(report.ok());
    let state_b = audit_ship::checkpoint::SinkDir::new(&journal_dir, "b");
    let seg0 = segs[0].file_name().unwrap().to_str().unwrap();
    let full = state_b.checkpoint(seg0).unwrap();
    state_b
        .set_checkpoint(
            seg0,
            &audit_ship::checkpoint::Checkpoint {
                offset: full.offset - 1,
                ..full.clone()
            },
        )
        .unwrap();
    for seg in &segs {
        age_keep(seg, seg == &segs[2]);
    }
    let r = retention::apply(&journal_dir, &sinks, 7, SystemTime::now()).unwrap();
    assert_eq!(r.deleted, vec![segs[1].clone()]);
    assert_eq!(r.kept_unshipped, vec![segs[0].clone()]);
    assert!(segs[0].exists() && !segs[1].exists() && segs[2].exists());
    // The deleted segment's checkpoints went with it.
    let seg1 = segs[1].file_name().unwrap().to_str().unwrap();
    assert!(!state_b.path().join(format!("{seg1}.ckpt")).exists());

    // Fully acknowledged: segment 0 goes too; the recent one and the live one stay.
    state_b.set_checkpoint(seg0, &full).unwrap();
    let r = retention::apply(&journal_dir, &sinks, 7, SystemTime::now()).unwrap();
    assert_eq!(r.deleted, vec![segs[0].clone()]);
    assert!(segs[2].exists() && live_seg.exists());
    drop(live);
}

/// Shipping reads the segments but does not change their times; set them again anyway.
fn age_keep(path: &std::path::Path, recent: bool) {
    if !recent {
        age(path, 30);
    }
}
