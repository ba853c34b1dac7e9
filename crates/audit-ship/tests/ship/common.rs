//! A journal to ship, and the shipper over it.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    sync::Arc,
};

use audit_ship::{Shipper, SinkEntry, sinks::file::FileSink};
use governance::{
    audit::{Access, AiContext, AuditEvent, Journal, Phase, ServerInfo, segments},
    config::{FileSinkConfig, ShipConfig, ShipFormat},
    policy::Decision,
};
use serde_json::Value;

pub fn event(n: u64) -> AuditEvent {
    AuditEvent {
        event_id: format!("{}-{n}", testkit::uuid()),
        seq: 0,
        timestamp: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
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

/// Writes `counts[i]` events to segment i (one closed journal each), returns the segments.
pub fn journal(dir: &Path, counts: &[u64]) -> Vec<PathBuf> {
    for (i, count) in counts.iter().enumerate() {
        let (journal, _) = Journal::open(dir, &format!("server{i}")).unwrap();
        for n in 0..*count {
            journal.append(event(n), false).unwrap();
        }
    }
    let found = segments(dir).unwrap();
    assert_eq!(found.len(), counts.len());
    found
}

/// Every line of `path`, parsed.
pub fn lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// A shipped native event as the journal holds it: without `ship`.
pub fn unshipped(mut value: Value) -> Value {
    value.as_object_mut().unwrap().remove("ship");
    value
}

/// Small batches, fast retries.
pub fn ship_config() -> ShipConfig {
    ShipConfig {
        batch_max_events: 7,
        retry_initial_ms: 10,
        retry_max_ms: 50,
        retry_max_attempts: 2,
        ..ShipConfig::default()
    }
}

pub fn file_sink(name: &str, path: &Path) -> SinkEntry {
    SinkEntry {
        sink: Arc::new(FileSink::new(&FileSinkConfig {
            name: name.into(),
            format: None,
            path: path.to_owned(),
        })),
        format: ShipFormat::Native,
    }
}

pub fn shipper(dir: &Path, sinks: Vec<SinkEntry>) -> Shipper {
    Shipper::new(dir, ship_config(), sinks).unwrap()
}
