//! The journal's durable append, measured: `cargo xtask bench --only journal` builds this in
//! release and runs it on the state disk and on tmpfs.
//!
//! `journal_bench DIR WRITERS EVENTS` appends `EVENTS` durable events to a journal in `DIR`
//! from `WRITERS` concurrent tasks on a multi-threaded runtime (as HTTP mode has several calls
//! in flight), each awaiting its append before the next, and prints one JSON line: events per
//! second and the p50/p99 of one append as its caller waits for it.

use std::{
    collections::BTreeMap,
    path::PathBuf,
    sync::Arc,
    time::{Duration, Instant},
};

use governance::{
    audit::{Access, AiContext, AuditEvent, Journal, Phase, ServerInfo},
    policy::Decision,
};

fn event(n: u64) -> AuditEvent {
    AuditEvent {
        event_id: uuid::Uuid::now_v7().to_string(),
        seq: 0,
        timestamp: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        user: "jane.doe@corp.example".into(),
        roles: vec!["delivery".into()],
        tool: "github".into(),
        action: "create_pull_request".into(),
        access: Access::Write,
        phase: Phase::Intent,
        call_id: uuid::Uuid::now_v7().to_string(),
        parameters: serde_json::json!({
            "owner": "acme", "repo": "payments", "head": format!("claude/feature-{n}"),
            "base": "main", "title": "Implement the refund webhook",
            "body": {"sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", "bytes": 4210},
        }),
        result: None,
        error: None,
        duration_ms: None,
        decision: Decision::allow("policy.roles.delivery.allow"),
        stripped_chars: None,
        redacted_secrets: None,
        resources: BTreeMap::from([("repo".into(), "acme/payments".into())]),
        ai_context: AiContext {
            session_id: Some("3f2b8c1e-5d4a-4b6f-9e1d-2a7c8b9d0e1f".into()),
            prompt_hash: Some(
                "sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae".into(),
            ),
            model: Some("claude-opus-4-5".into()),
            tool_use_id: Some("toolu_01A09q90qw90lq917835lq9".into()),
        },
        server: ServerInfo {
            name: "github-mcp".into(),
            version: "0.1.0".into(),
        },
        host: "laptop-42".into(),
        policy_digest: "sha256:x".into(),
        tools_digest: None,
        prev_hash: String::new(),
        hash: String::new(),
    }
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index].as_secs_f64() * 1e3
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [dir, writers, events] = args.as_slice() else {
        return Err("usage: journal_bench DIR WRITERS EVENTS".into());
    };
    let dir = PathBuf::from(dir);
    let writers: u64 = writers.parse()?;
    let events: u64 = events.parse()?;
    let (journal, _) = Journal::open(&dir, "bench")?;
    let journal = Arc::new(journal);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()?;
    let per_writer = events / writers;
    let started = Instant::now();
    let mut latencies: Vec<Duration> = runtime.block_on(async {
        let tasks: Vec<_> = (0..writers)
            .map(|w| {
                let journal = journal.clone();
                tokio::spawn(async move {
                    let mut latencies = Vec::with_capacity(per_writer as usize);
                    for n in 0..per_writer {
                        let event = event(w * per_writer + n);
                        let one = Instant::now();
                        journal.append_async(event, true).await?;
                        latencies.push(one.elapsed());
                    }
                    Ok::<_, governance::audit::AuditError>(latencies)
                })
            })
            .collect();
        let mut all = Vec::new();
        for task in tasks {
            all.extend(task.await??);
        }
        Ok::<_, Box<dyn std::error::Error>>(all)
    })?;
    let elapsed = started.elapsed();
    latencies.sort();
    if latencies.is_empty() {
        return Err("no event was written".into());
    }
    let written = latencies.len() as f64;
    println!(
        "{}",
        serde_json::json!({
            "writers": writers,
            "events": latencies.len(),
            "events_per_s": (written / elapsed.as_secs_f64()).round(),
            "p50_ms": percentile(&latencies, 0.50),
            "p99_ms": percentile(&latencies, 0.99),
        })
    );
    Ok(())
}
