//! Reading the journal back, and verifying its hash chains.
//!
//! Verification works on the raw JSON of each line, not on [`AuditEvent`], so that events
//! written by a newer version with extra fields still verify.

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;

use super::{
    AuditError, AuditEvent,
    event::{GENESIS_HASH, chain_hash},
    journal::segments,
};

/// What kind of break verification found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakKind {
    /// A line that is not a JSON event.
    Unparsable,
    /// A line whose content no longer matches its hash.
    Edited,
    /// A seq is missing: lines were deleted.
    Gap,
    /// A seq came earlier than expected: lines were reordered or duplicated.
    OutOfOrder,
    /// A line's `prev_hash` does not match the line before it.
    ChainBroken,
    /// The last line is cut short (a crash mid-write, or a truncated file).
    TruncatedTail,
}

/// The first break in a segment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Break {
    /// The segment file.
    pub segment: PathBuf,
    /// The seq at which the chain breaks (the seq the line should have had).
    pub seq: u64,
    /// 1-based line number in the segment.
    pub line: usize,
    /// What is wrong.
    pub kind: BreakKind,
}

impl std::fmt::Display for Break {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let what = match self.kind {
            BreakKind::Unparsable => "line is not a JSON audit event",
            BreakKind::Edited => "line was edited (hash mismatch)",
            BreakKind::Gap => "lines are missing (seq gap)",
            BreakKind::OutOfOrder => "lines are out of order or duplicated",
            BreakKind::ChainBroken => "prev_hash does not match the previous line",
            BreakKind::TruncatedTail => "last line is truncated",
        };
        write!(
            f,
            "{}: seq {} (line {}): {what}",
            self.segment.display(),
            self.seq,
            self.line
        )
    }
}

/// One segment's verification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SegmentSummary {
    /// The segment file.
    pub segment: PathBuf,
    /// Intact events before the first break (all of them when intact).
    pub events: u64,
    /// The first break, if any.
    pub first_break: Option<Break>,
}

/// The whole journal's verification.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    /// One entry per segment, oldest first.
    pub segments: Vec<SegmentSummary>,
}

impl VerifyReport {
    /// The first break in any segment.
    pub fn first_break(&self) -> Option<&Break> {
        self.segments.iter().find_map(|s| s.first_break.as_ref())
    }

    /// Events across all segments.
    pub fn events(&self) -> u64 {
        self.segments.iter().map(|s| s.events).sum()
    }
}

/// Verifies every segment under `dir`.
pub fn verify_dir(dir: &Path) -> Result<VerifyReport, AuditError> {
    let mut report = VerifyReport::default();
    for segment in segments(dir)? {
        let bytes = std::fs::read(&segment).map_err(|source| AuditError::Io {
            path: segment.clone(),
            source,
        })?;
        report.segments.push(verify_segment(&segment, &bytes));
    }
    Ok(report)
}

fn verify_segment(segment: &Path, bytes: &[u8]) -> SegmentSummary {
    let text = String::from_utf8_lossy(bytes);
    let mut prev_hash = GENESIS_HASH.to_owned();
    let mut expected_seq = 1u64;
    let broken = |seq: u64, line: usize, kind: BreakKind| Break {
        segment: segment.to_owned(),
        seq,
        line,
        kind,
    };
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    for (index, raw) in lines.iter().enumerate() {
        let line_no = index + 1;
        if !raw.ends_with('\n') {
            return summary(
                segment,
                expected_seq - 1,
                broken(expected_seq, line_no, BreakKind::TruncatedTail),
            );
        }
        let found = match serde_json::from_str::<Value>(raw) {
            Ok(v @ Value::Object(_)) => v,
            _ => {
                return summary(
                    segment,
                    expected_seq - 1,
                    broken(expected_seq, line_no, BreakKind::Unparsable),
                );
            }
        };
        let seq = found.get("seq").and_then(Value::as_u64).unwrap_or(0);
        let kind = if seq > expected_seq {
            // The missing seq further down means the lines were moved, not deleted.
            let later = lines[index + 1..].iter().any(|l| {
                serde_json::from_str::<Value>(l)
                    .ok()
                    .and_then(|v| v.get("seq").and_then(Value::as_u64))
                    == Some(expected_seq)
            });
            Some(if later {
                BreakKind::OutOfOrder
            } else {
                BreakKind::Gap
            })
        } else if seq < expected_seq {
            Some(BreakKind::OutOfOrder)
        } else if found.get("hash").and_then(Value::as_str)
            != Some(&chain_hash(&prev_hash_of(&found), &found))
        {
            Some(BreakKind::Edited)
        } else if prev_hash_of(&found) != prev_hash {
            Some(BreakKind::ChainBroken)
        } else {
            None
        };
        if let Some(kind) = kind {
            return summary(
                segment,
                expected_seq - 1,
                broken(expected_seq, line_no, kind),
            );
        }
        prev_hash = found["hash"].as_str().unwrap_or_default().to_owned();
        expected_seq += 1;
    }
    SegmentSummary {
        segment: segment.to_owned(),
        events: expected_seq - 1,
        first_break: None,
    }
}

fn prev_hash_of(event: &Value) -> String {
    event
        .get("prev_hash")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

fn summary(segment: &Path, events: u64, first_break: Break) -> SegmentSummary {
    SegmentSummary {
        segment: segment.to_owned(),
        events,
        first_break: Some(first_break),
    }
}

/// Every parsable event in the journal, ordered by timestamp then seq.
pub fn read_events(dir: &Path) -> Result<Vec<AuditEvent>, AuditError> {
    let mut events = Vec::new();
    for segment in segments(dir)? {
        let text = std::fs::read_to_string(&segment).map_err(|source| AuditError::Io {
            path: segment.clone(),
            source,
        })?;
        events.extend(
            text.lines()
                .filter_map(|l| serde_json::from_str::<AuditEvent>(l).ok()),
        );
    }
    events.sort_by(|a, b| a.timestamp.cmp(&b.timestamp).then(a.seq.cmp(&b.seq)));
    Ok(events)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::{
        audit::{Access, AiContext, Journal, Phase, ServerInfo},
        policy::Decision,
    };

    fn event(n: u64) -> AuditEvent {
        AuditEvent {
            event_id: format!("e{n}"),
            seq: 0,
            timestamp: format!("2026-01-13T10:30:{n:02}.000Z"),
            user: "jane@corp.example".into(),
            roles: vec!["delivery".into()],
            tool: "github".into(),
            action: "get_pull_request".into(),
            access: Access::Read,
            phase: Phase::Outcome,
            call_id: format!("c{n}"),
            parameters: serde_json::json!({"owner": "acme", "n": n}),
            result: Some("success".into()),
            error: None,
            duration_ms: Some(3),
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

    /// A journal of five events, returned with its only segment.
    fn journal() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let (journal, _) = Journal::open(dir.path(), "github").unwrap();
        for n in 1..=5 {
            journal.append(event(n), n % 2 == 0).unwrap();
        }
        drop(journal);
        let segment = segments(dir.path()).unwrap().remove(0);
        (dir, segment)
    }

    fn tamper(segment: &Path, f: impl FnOnce(&mut Vec<String>)) {
        let text = std::fs::read_to_string(segment).unwrap();
        let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
        f(&mut lines);
        std::fs::write(segment, lines.join("\n") + "\n").unwrap();
    }

    #[test]
    fn intact_journal_verifies_and_reads_back() {
        let (dir, segment) = journal();
        let report = verify_dir(dir.path()).unwrap();
        assert_eq!(report.first_break(), None);
        assert_eq!(report.events(), 5);
        assert_eq!(read_events(dir.path()).unwrap().len(), 5);
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&segment).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn each_kind_of_tampering_is_caught_with_its_seq() {
        type Tamper = fn(&mut Vec<String>);
        let cases: &[(&str, Tamper, u64, BreakKind)] = &[
            (
                "edited",
                |l| l[2] = l[2].replace("acme", "evil"),
                3,
                BreakKind::Edited,
            ),
            (
                "deleted",
                |l| {
                    l.remove(1);
                },
                2,
                BreakKind::Gap,
            ),
            ("reordered", |l| l.swap(2, 3), 3, BreakKind::OutOfOrder),
            (
                "duplicated",
                |l| {
                    let d = l[1].clone();
                    l.insert(2, d);
                },
                3,
                BreakKind::OutOfOrder,
            ),
            (
                "garbage",
                |l| l[0] = "not json".into(),
                1,
                BreakKind::Unparsable,
            ),
            (
                "rechained",
                |l| {
                    // Edit line 4 and recompute its own hash: the next line's prev_hash no longer fits.
                    let mut v: Value = serde_json::from_str(&l[3]).unwrap();
                    v["user"] = "mallory".into();
                    let prev = v["prev_hash"].as_str().unwrap().to_owned();
                    v["hash"] = chain_hash(&prev, &v).into();
                    l[3] = v.to_string();
                },
                5,
                BreakKind::ChainBroken,
            ),
        ];
        for (name, f, seq, kind) in cases {
            let (dir, segment) = journal();
            tamper(&segment, f);
            let report = verify_dir(dir.path()).unwrap();
            let b = report
                .first_break()
                .unwrap_or_else(|| panic!("{name}: not caught"));
            assert_eq!((b.seq, b.kind), (*seq, *kind), "{name}");
        }
    }

    #[test]
    fn torn_tail_is_reported_then_repaired_without_loss() {
        let (dir, segment) = journal();
        let mut bytes = std::fs::read(&segment).unwrap();
        bytes.extend_from_slice(b"{\"event_id\":\"e6\",\"se");
        std::fs::write(&segment, &bytes).unwrap();
        let b = verify_dir(dir.path())
            .unwrap()
            .first_break()
            .cloned()
            .unwrap();
        assert_eq!((b.seq, b.kind), (6, BreakKind::TruncatedTail));
        let repairs = crate::audit::repair_dir(dir.path()).unwrap();
        assert_eq!(repairs.len(), 1);
        assert_eq!(verify_dir(dir.path()).unwrap().first_break(), None);
        let torn = std::fs::read_to_string(segment.with_extension("jsonl.torn")).unwrap();
        assert!(torn.contains("\"e6\""));
    }
}
