//! Faults: a corrupted segment, a checkpoint that cannot be written, a second shipper.

use std::sync::Arc;

use async_trait::async_trait;
use audit_ship::{
    Batch, Delivery, Mode, Sink, SinkEntry, SinkError, checkpoint::SinkDir, sinks::file::FileSink,
};
use governance::config::{FileSinkConfig, ShipFormat};

use crate::common::*;

#[tokio::test]
async fn corrupted_segment_is_quarantined_and_reported_while_the_others_ship() {
    let dir = tempfile::tempdir().unwrap();
    let journal_dir = dir.path().join("audit");
    let segs = journal(&journal_dir, &[10, 10, 10]);
    // Line 5 of the middle segment edited: its hash no longer matches.
    let text = std::fs::read_to_string(&segs[1]).unwrap();
    let mut edited: Vec<String> = text.lines().map(str::to_owned).collect();
    edited[4] = edited[4].replace("acme", "evil");
    std::fs::write(&segs[1], edited.join("\n") + "\n").unwrap();

    let out = dir.path().join("out.jsonl");
    let report = shipper(&journal_dir, vec![file_sink("central", &out)])
        .run(Mode::Once)
        .await
        .unwrap();
    let sink = &report.sinks[0];
    assert_eq!(sink.error, None);
    let name1 = segs[1].file_name().unwrap().to_str().unwrap();
    assert_eq!(sink.quarantined.len(), 1, "{sink:?}");
    assert_eq!(sink.quarantined[0].0, name1);
    assert!(sink.quarantined[0].1.contains("seq 5"), "{sink:?}");
    // Segments 1 and 3 whole, segment 2 up to the break.
    let shipped: Vec<_> = lines(&out).into_iter().map(unshipped).collect();
    let mut expected = lines(&segs[0]);
    expected.extend(lines(&segs[1]).into_iter().take(4));
    expected.extend(lines(&segs[2]));
    assert_eq!(shipped, expected);
    assert_eq!(sink.shipped, 24);
    // Recorded: the next run reports it again and ships nothing more.
    let state = SinkDir::new(&journal_dir, "central");
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let name0 = segs[0].file_name().unwrap().to_str().unwrap();
        assert_eq!(mode(&state.path().join(format!("{name0}.ckpt"))), 0o600);
        assert_eq!(mode(state.path()), 0o700);
        assert_eq!(mode(&out), 0o600);
    }
    assert!(state.quarantine(name1).unwrap().is_some());
    let again = shipper(&journal_dir, vec![file_sink("central", &out)])
        .run(Mode::Once)
        .await
        .unwrap();
    assert_eq!(again.sinks[0].shipped, 0);
    assert_eq!(again.sinks[0].quarantined.len(), 1);
    assert_eq!(lines(&out).len(), 24);
    assert_eq!(
        audit_ship::pending(&journal_dir, "central")
            .unwrap()
            .quarantined,
        1
    );
}

/// A file sink that, once it has appended a batch, makes the checkpoint impossible to write
/// (a non-empty directory where the checkpoint's rename lands: refused even to root, who
/// ignores read-only modes).
struct BlockCheckpoints {
    inner: FileSink,
    block: std::path::PathBuf,
}

#[async_trait]
impl Sink for BlockCheckpoints {
    fn name(&self) -> &str {
        self.inner.name()
    }

    async fn prepare(&self) -> Result<(), SinkError> {
        self.inner.prepare().await
    }

    async fn send(&self, batch: &Batch) -> Result<Delivery, SinkError> {
        let delivery = self.inner.send(batch).await?;
        std::fs::create_dir_all(self.block.join(format!("{}.ckpt", batch.segment)).join("x"))
            .unwrap();
        Ok(delivery)
    }
}

#[tokio::test]
async fn checkpoint_that_cannot_be_written_does_not_advance_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let journal_dir = dir.path().join("audit");
    let segs = journal(&journal_dir, &[20]);
    let segment = segs[0].file_name().unwrap().to_str().unwrap().to_owned();
    let out = dir.path().join("out.jsonl");
    let state = SinkDir::new(&journal_dir, "central");
    let blocking = SinkEntry {
        sink: Arc::new(BlockCheckpoints {
            inner: FileSink::new(&FileSinkConfig {
                name: "central".into(),
                format: None,
                path: out.clone(),
            }),
            block: state.path().to_owned(),
        }),
        format: ShipFormat::Native,
    };
    let report = shipper(&journal_dir, vec![blocking])
        .run(Mode::Once)
        .await
        .unwrap();
    let error = report.sinks[0].error.clone().unwrap();
    assert!(error.contains("cannot write"), "{error}");
    assert!(error.contains(".ckpt"), "{error}");
    assert!(error.contains("did not advance"), "{error}");
    assert!(!report.ok());
    // The sink took the first batch, the checkpoint stayed at the start, the error is kept.
    assert_eq!(lines(&out).len(), 7);
    assert_eq!(state.state().unwrap().last_error.as_deref(), Some(&*error));
    std::fs::remove_dir_all(state.path().join(format!("{segment}.ckpt"))).unwrap();
    assert_eq!(state.checkpoint(&segment).unwrap().offset, 0);

    // Writable again: everything ships; the first batch twice, with the same event_ids.
    let report = shipper(&journal_dir, vec![file_sink("central", &out)])
        .run(Mode::Once)
        .await
        .unwrap();
    assert!(report.ok(), "{report:?}");
    let shipped: Vec<_> = lines(&out).into_iter().map(unshipped).collect();
    let journal = lines(&segs[0]);
    assert_eq!(shipped.len(), 27);
    assert_eq!(&shipped[..7], &journal[..7]);
    assert_eq!(&shipped[7..], &journal[..]);
    assert_eq!(state.state().unwrap().last_error, None);
}

#[tokio::test]
async fn a_second_shipper_of_the_same_sink_is_refused_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let journal_dir = dir.path().join("audit");
    journal(&journal_dir, &[3]);
    let out = dir.path().join("out.jsonl");
    let held = SinkDir::new(&journal_dir, "central")
        .try_lock()
        .unwrap()
        .unwrap();
    let report = shipper(&journal_dir, vec![file_sink("central", &out)])
        .run(Mode::Once)
        .await
        .unwrap();
    let error = report.sinks[0].error.clone().unwrap();
    assert!(error.contains("another shipper"), "{error}");
    assert!(lines(&out).is_empty());
    drop(held);
    let report = shipper(&journal_dir, vec![file_sink("central", &out)])
        .run(Mode::Once)
        .await
        .unwrap();
    assert!(report.ok());
    assert_eq!(lines(&out).len(), 3);
}

#[tokio::test]
async fn ocsf_format_ships_api_activity() {
    let dir = tempfile::tempdir().unwrap();
    let journal_dir = dir.path().join("audit");
    let segs = journal(&journal_dir, &[3]);
    let out = dir.path().join("out.jsonl");
    let mut entry = file_sink("siem", &out);
    entry.format = ShipFormat::Ocsf;
    let report = shipper(&journal_dir, vec![entry])
        .run(Mode::Once)
        .await
        .unwrap();
    assert!(report.ok());
    let shipped = lines(&out);
    let journal = lines(&segs[0]);
    for (s, j) in shipped.iter().zip(&journal) {
        assert_eq!(s["class_uid"], 6003);
        assert_eq!(s["metadata"]["uid"], j["event_id"]);
        assert_eq!(s["unmapped"]["event"], *j);
        assert_eq!(s["unmapped"]["ship"]["head_seq"], 3);
    }
}

/// A file sink that takes one batch, then is down for good.
struct OneBatchThenDown {
    inner: FileSink,
    sent: std::sync::atomic::AtomicBool,
}

#[async_trait]
impl Sink for OneBatchThenDown {
    fn name(&self) -> &str {
        self.inner.name()
    }

    async fn send(&self, batch: &Batch) -> Result<Delivery, SinkError> {
        if self.sent.swap(true, std::sync::atomic::Ordering::SeqCst) {
            return Err(SinkError::permanent("down"));
        }
        self.inner.send(batch).await
    }
}

#[tokio::test]
async fn lines_deleted_from_a_segments_tail_before_shipping_are_found_by_the_central_check() {
    let dir = tempfile::tempdir().unwrap();
    let journal_dir = dir.path().join("audit");
    let segs = journal(&journal_dir, &[10, 5]);
    let out = dir.path().join("out.jsonl");
    let config = FileSinkConfig {
        name: "central".into(),
        format: None,
        path: out.clone(),
    };
    let first = SinkEntry {
        sink: Arc::new(OneBatchThenDown {
            inner: FileSink::new(&config),
            sent: false.into(),
        }),
        format: ShipFormat::Native,
    };
    let report = shipper(&journal_dir, vec![first])
        .run(Mode::Once)
        .await
        .unwrap();
    assert!(report.sinks[0].error.is_some());
    // Seven events shipped, carrying the head seq 10. Then the last three lines go: the
    // segment still verifies locally.
    let text = std::fs::read_to_string(&segs[0]).unwrap();
    let kept: Vec<&str> = text.lines().take(7).collect();
    std::fs::write(&segs[0], kept.join("\n") + "\n").unwrap();
    assert_eq!(
        governance::audit::verify_dir(&journal_dir)
            .unwrap()
            .first_break(),
        None
    );
    let report = shipper(&journal_dir, vec![file_sink("central", &out)])
        .run(Mode::Once)
        .await
        .unwrap();
    assert!(report.ok(), "{report:?}");
    let shipped = lines(&out);
    let (segments, findings) = audit_ship::central::check(&shipped);
    assert_eq!(segments, 2);
    let name0 = segs[0].file_name().unwrap().to_str().unwrap();
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert_eq!(findings[0].segment, name0);
    assert!(
        findings[0].problem.contains("events 8..10 are missing"),
        "{findings:?}"
    );
    // An intact shipment, duplicates included, has no finding.
    let mut intact: Vec<_> = shipped
        .iter()
        .filter(|v| v["ship"]["segment"] != name0)
        .cloned()
        .collect();
    intact.push(intact[0].clone());
    assert_eq!(audit_ship::central::check(&intact), (1, vec![]));
}
