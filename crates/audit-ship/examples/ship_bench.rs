//! `cargo xtask bench --only ship`: events/s the shipper sends from a journal to one sink.
//!
//! `ship_bench DIR EVENTS file OUT` or `ship_bench DIR EVENTS cloudwatch ENDPOINT`: writes
//! EVENTS events to a fresh journal in DIR (not timed), ships them once (timed, default
//! `[audit.ship]` batching, native format) and prints `{"events", "seconds", "events_per_s"}`.
//! CloudWatch credentials come from the environment (moto takes any).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{collections::BTreeMap, path::Path, sync::Arc, time::Instant};

use audit_ship::{
    Mode, Shipper, SinkEntry,
    sinks::{cloudwatch::CloudWatchSink, file::FileSink},
};
use governance::{
    audit::{Access, AiContext, AuditEvent, Journal, Phase, ServerInfo},
    config::{CloudWatchSinkConfig, FileSinkConfig, ShipConfig, ShipFormat},
    policy::Decision,
};

fn event(n: u64) -> AuditEvent {
    AuditEvent {
        event_id: uuid_like(n),
        seq: 0,
        timestamp: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        user: "jane@corp.example".into(),
        roles: vec!["delivery".into()],
        tool: "github".into(),
        action: "get_pull_request".into(),
        access: Access::Read,
        phase: Phase::Outcome,
        call_id: format!("c{n}"),
        parameters: serde_json::json!({"owner": "acme", "repo": "widgets", "pull_number": n}),
        result: Some("success".into()),
        error: None,
        duration_ms: Some(42),
        decision: Decision::allow("policy.default_allow"),
        stripped_chars: None,
        redacted_secrets: None,
        resources: BTreeMap::new(),
        ai_context: AiContext::default(),
        server: ServerInfo {
            name: "github-mcp".into(),
            version: "0.1.0".into(),
        },
        host: "bench".into(),
        policy_digest: "sha256:x".into(),
        tools_digest: None,
        prev_hash: String::new(),
        hash: String::new(),
    }
}

fn uuid_like(n: u64) -> String {
    format!("{:08x}-bench-{n:012}", std::process::id())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, dir, events, kind, target] = &args[..] else {
        eprintln!(
            "usage: ship_bench DIR EVENTS file OUT | ship_bench DIR EVENTS cloudwatch ENDPOINT"
        );
        std::process::exit(2);
    };
    let dir = Path::new(dir);
    let events: u64 = events.parse().unwrap();
    {
        let (journal, _) = Journal::open(dir, "bench").unwrap();
        for n in 0..events {
            journal.append(event(n), false).unwrap();
        }
    }
    let sink: SinkEntry = SinkEntry {
        sink: match kind.as_str() {
            "file" => Arc::new(FileSink::new(&FileSinkConfig {
                name: "bench".into(),
                format: None,
                path: target.into(),
            })),
            "cloudwatch" => Arc::new(
                CloudWatchSink::new(
                    &CloudWatchSinkConfig {
                        name: "bench".into(),
                        format: None,
                        log_group: format!("/bench/audit-{}", std::process::id()),
                        log_stream: Some("bench".into()),
                        region: Some("us-east-1".into()),
                        endpoint_url: Some(target.clone()),
                        retention_days: 365,
                        errors_log_group: None,
                        errors_retention_days: 90,
                    },
                    None,
                )
                .await,
            ),
            other => panic!("unknown sink kind {other}"),
        },
        format: ShipFormat::Native,
    };
    let shipper = Shipper::new(dir, ShipConfig::default(), vec![sink]).unwrap();
    let started = Instant::now();
    let report = shipper.run(Mode::Once).await.unwrap();
    let seconds = started.elapsed().as_secs_f64();
    assert!(report.ok(), "{report:?}");
    assert_eq!(report.sinks[0].shipped, events);
    println!(
        "{}",
        serde_json::json!({
            "events": events,
            "seconds": seconds,
            "events_per_s": (events as f64 / seconds).round() as u64,
        })
    );
}
