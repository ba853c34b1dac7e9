//! What the HEC, Elasticsearch and OTLP tests share: a journal of known events, a shipper run,
//! and the local receivers (`tests/peers/receivers.py` through `testkit::audit_receivers`).
//!
//! No real Splunk or Elasticsearch can run where these tests run (no Docker, no internet
//! beyond package registries): the receivers answer as the vendors document (Splunk's HEC
//! status codes and acknowledgement protocol, Elasticsearch's `_bulk` per-item results, the
//! OTLP/HTTP specification with the official `opentelemetry-proto` package decoding what
//! arrives), and refuse what the vendors would refuse. A missing receiver fails the test.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    sync::Arc,
};

use audit_ship::{Mode, ShipReport, Shipper, Sink, SinkEntry, checkpoint::SinkDir, sinks};
use governance::{
    audit::{Access, AiContext, AuditEvent, Journal, Phase, ServerInfo},
    config::{ShipConfig, ShipFormat, SinkConfig},
    policy::Decision,
};
use serde_json::{Value, json};

/// A journal directory holding `events` written by github-mcp.
pub struct Written {
    /// Keeps the directory alive.
    _dir: tempfile::TempDir,
    /// The journal directory.
    pub dir: PathBuf,
    /// The events as the journal wrote them (seq and hashes set), in order.
    pub events: Vec<AuditEvent>,
}

impl Written {
    /// The `event_id`s in journal order.
    pub fn ids(&self) -> Vec<String> {
        self.events.iter().map(|e| e.event_id.clone()).collect()
    }

    /// Each event as the JSON object of its journal line.
    pub fn lines(&self) -> Vec<Value> {
        self.events
            .iter()
            .map(|e| serde_json::to_value(e).unwrap())
            .collect()
    }

    /// The dead-letter records of sink `name`.
    pub fn dead_letters(&self, name: &str) -> Vec<Value> {
        let path = SinkDir::new(&self.dir, name)
            .path()
            .join("deadletter.jsonl");
        match std::fs::read_to_string(&path) {
            Ok(text) => text
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => panic!("{}: {e}", path.display()),
        }
    }

    /// Forgets every checkpoint of sink `name`, as if the shipper had died after the sink took
    /// everything and before a checkpoint was written.
    pub fn forget_checkpoints(&self, name: &str) {
        let path = SinkDir::new(&self.dir, name).path().to_owned();
        std::fs::remove_dir_all(&path).unwrap();
    }
}

/// One event of a github-mcp call; odd ones are outcomes, every fifth of them an error.
fn event(n: usize) -> AuditEvent {
    let outcome = n % 2 == 1;
    AuditEvent {
        event_id: format!("0190a0b2-0000-7000-8000-{n:012}"),
        seq: 0,
        timestamp: format!("2026-01-13T10:{:02}:{:02}.{:03}Z", n / 60 % 60, n % 60, n),
        user: format!("user{}@corp.example", n % 3),
        roles: vec!["delivery".into()],
        tool: "github".into(),
        action: if n % 4 < 2 {
            "create_pull_request"
        } else {
            "get_issue"
        }
        .into(),
        access: if n % 4 < 2 {
            Access::Write
        } else {
            Access::Read
        },
        phase: if outcome {
            Phase::Outcome
        } else {
            Phase::Intent
        },
        call_id: format!("call-{}", n / 2),
        parameters: json!({"owner": "corp", "repo": "app", "title": format!("change {n}")}),
        result: outcome.then(|| if n % 10 == 9 { "error" } else { "success" }.to_owned()),
        error: None,
        duration_ms: outcome.then_some(40 + n as u64),
        decision: Decision::allow("policy.default_allow"),
        stripped_chars: None,
        redacted_secrets: None,
        resources: BTreeMap::from([("repo".to_owned(), json!("corp/app"))]),
        ai_context: AiContext::default(),
        server: ServerInfo {
            name: "github-mcp".into(),
            version: "0.1.0".into(),
        },
        host: "laptop-17".into(),
        policy_digest: "sha256:x".into(),
        tools_digest: None,
        prev_hash: String::new(),
        hash: String::new(),
    }
}

/// A journal of `n` events, written durably by [`Journal`] as a server would.
pub fn journal(n: usize) -> Written {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit");
    let (journal, _) = Journal::open(&path, "github-mcp").unwrap();
    let events = (0..n)
        .map(|i| journal.append(event(i), true).unwrap())
        .collect();
    drop(journal);
    Written {
        _dir: dir,
        dir: path,
        events,
    }
}

/// `[audit.ship]` for tests: small batches, short retry waits, five retries.
pub fn ship_config(batch_max_events: usize) -> ShipConfig {
    ShipConfig {
        batch_max_events,
        retry_initial_ms: 10,
        retry_max_ms: 100,
        retry_max_attempts: 5,
        ..ShipConfig::default()
    }
}

/// One `--once` run of `sinks` (already built) over `dir`.
pub async fn ship(dir: &Path, config: ShipConfig, sinks: Vec<Arc<dyn Sink>>) -> ShipReport {
    let entries = sinks
        .into_iter()
        .map(|sink| SinkEntry {
            sink,
            format: ShipFormat::Native,
        })
        .collect();
    Shipper::new(dir, config, entries)
        .unwrap()
        .run(Mode::Once)
        .await
        .unwrap()
}

/// One `--once` run of the sinks built from `[[audit.sinks]]` as `audit ship` builds them.
pub async fn ship_configured(dir: &Path, config: ShipConfig, sinks: &[SinkConfig]) -> ShipReport {
    let entries = sinks::build(sinks, &config, None, None).await.unwrap();
    Shipper::new(dir, config, entries)
        .unwrap()
        .run(Mode::Once)
        .await
        .unwrap()
}

/// A `[[audit.sinks]]` entry from TOML-shaped JSON.
pub fn sink_config(value: Value) -> SinkConfig {
    serde_json::from_value(value).unwrap()
}

/// `shipped` without the `ship` object the encoder adds, after checking that it names the
/// segment of `written` and its chain head (the journal's last event).
pub fn without_ship(written: &Written, shipped: &Value) -> Value {
    let mut shipped = shipped.clone();
    let ship = shipped
        .as_object_mut()
        .and_then(|o| o.remove("ship"))
        .unwrap_or_else(|| panic!("no chain head under `ship` in {shipped}"));
    let last = written.events.last().unwrap();
    assert_eq!(ship["head_seq"], last.seq, "{ship}");
    assert_eq!(ship["head_hash"], last.hash.as_str(), "{ship}");
    assert!(
        ship["segment"].as_str().unwrap().starts_with("github-mcp-"),
        "{ship}"
    );
    shipped
}

/// The receiver's record as a list of strings at `pointer` within each item of `list`.
pub fn strings(list: &Value, pointer: &str) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|item| {
            item.pointer(pointer)
                .and_then(Value::as_str)
                .unwrap_or_else(|| panic!("no string at {pointer} in {item}"))
                .to_owned()
        })
        .collect()
}

/// Starts the receivers (failing loudly if the peers are not installed) and the process's
/// crypto provider the HTTP clients need.
pub fn receivers() -> testkit::AuditReceivers {
    testkit::install_crypto_provider();
    testkit::audit_receivers()
}

/// Three WARN/ERROR lines of github-mcp's errors journal, as its log layer writes them.
pub const ERROR_LINES: [&str; 3] = [
    "2026-01-13T10:30:00.000Z  WARN github_mcp::client: rate limit low (12 left)",
    "2026-01-13T10:30:01.500Z ERROR github_mcp::client: upstream answered 502",
    "2026-01-13T10:30:02.250Z  WARN governance::server: slow call (2100 ms)",
];

/// The errors file of [`errors_journal`].
pub const ERRORS_FILE: &str = "github-mcp-20260113T103000.000Z-4242.jsonl";

/// The errors journal beside `written`'s journal, holding [`ERROR_LINES`].
pub fn errors_journal(written: &Written) -> PathBuf {
    let dir = governance::audit::errors_dir(&written.dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(ERRORS_FILE), ERROR_LINES.join("\n") + "\n").unwrap();
    dir
}

/// The `event_id` the shipper gives error line `i` (`<file>:<offset>`).
pub fn error_id(i: usize) -> String {
    let offset: usize = ERROR_LINES[..i].iter().map(|l| l.len() + 1).sum();
    format!("{ERRORS_FILE}:{offset}")
}

/// One `--once` run of `sinks` over `written`'s journal and its errors journal.
pub async fn ship_with_errors(
    written: &Written,
    config: ShipConfig,
    sinks: Vec<Arc<dyn Sink>>,
) -> ShipReport {
    let errors = errors_journal(written);
    let entries = sinks
        .into_iter()
        .map(|sink| SinkEntry {
            sink,
            format: ShipFormat::Native,
        })
        .collect();
    Shipper::new(&written.dir, config, entries)
        .unwrap()
        .with_errors_dir(Some(errors))
        .run(Mode::Once)
        .await
        .unwrap()
}

/// The sinks `audit ship` builds from `sinks` (no keychain).
pub async fn built(sinks: &[SinkConfig]) -> Vec<Arc<dyn Sink>> {
    sinks::build(sinks, &ShipConfig::default(), None, None)
        .await
        .unwrap()
        .into_iter()
        .map(|entry| entry.sink)
        .collect()
}
