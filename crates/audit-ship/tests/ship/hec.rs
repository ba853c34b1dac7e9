//! The Splunk HEC sink against the local HEC receiver (no real Splunk can run here; the
//! receiver answers as Splunk documents HEC: `{"text","code"}`, 503 code 9 "Server is busy",
//! 403 code 4 "Invalid token", indexer acknowledgement with a channel).

use std::sync::Arc;

use audit_ship::sinks::splunk_hec::SplunkHecSink;
use governance::config::{SinkConfig, SplunkHecSinkConfig};
use serde_json::{Value, json};

use super::receivers::{
    ERROR_LINES, error_id, journal, receivers, ship, ship_config, ship_with_errors, sink_config,
    strings, without_ship,
};

const TOKEN: &str = "0f3c7a52-hec-test-token-7d1e";

fn config(url: &str, ack: bool) -> SplunkHecSinkConfig {
    match sink_config(json!({
        "kind": "splunk_hec",
        "name": "splunk",
        "url": url,
        "index": "claude_audit",
        "ack": ack,
        "channel": "5f1c9e2a-8a7b-4c1d-9e2f-0a1b2c3d4e5f",
    })) {
        SinkConfig::SplunkHec(c) => c,
        other => panic!("not HEC: {other:?}"),
    }
}

fn sink(url: &str, ack: bool, token: &str) -> Arc<dyn audit_ship::Sink> {
    Arc::new(SplunkHecSink::new(&config(url, ack), token.to_owned()).unwrap())
}

#[tokio::test]
async fn what_arrives_is_the_journal_in_order_with_splunk_envelopes() {
    let hec = receivers();
    hec.faults(json!({ "hec_token": TOKEN }));
    let written = journal(25);
    let report = ship(
        &written.dir,
        ship_config(10),
        vec![sink(&hec.url, false, TOKEN)],
    )
    .await;
    assert!(report.ok(), "{report:?}");
    assert_eq!(report.sinks[0].shipped, 25);
    let received = hec.received();
    assert_eq!(
        strings(&received["hec"], "/envelope/event/event_id"),
        written.ids()
    );
    // Three requests of at most ten events.
    let sizes: Vec<u64> = received["hec_requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["events"].as_u64().unwrap())
        .collect();
    assert_eq!(sizes, [10, 10, 5]);
    let last = written.events.last().unwrap();
    for (item, line) in received["hec"]
        .as_array()
        .unwrap()
        .iter()
        .zip(written.lines())
    {
        let envelope = &item["envelope"];
        // The journal's line, field for field, under `event`.
        assert_eq!(without_ship(&written, &envelope["event"]), line);
        assert_eq!(envelope["sourcetype"], "claude-enterprise:audit");
        assert_eq!(envelope["source"], "github-mcp");
        assert_eq!(envelope["host"], "laptop-17");
        assert_eq!(envelope["index"], "claude_audit");
        let millis = chrono::DateTime::parse_from_rfc3339(line["timestamp"].as_str().unwrap())
            .unwrap()
            .timestamp_millis();
        assert_eq!(envelope["time"].as_f64().unwrap(), millis as f64 / 1000.0);
        assert_eq!(envelope["fields"]["event_id"], line["event_id"]);
        assert_eq!(envelope["fields"]["chain_head_seq"], last.seq.to_string());
        assert_eq!(envelope["fields"]["chain_head_hash"], last.hash);
    }
    hec.assert_no_violations();
}

#[tokio::test]
async fn server_busy_then_success_loses_nothing_and_sends_nothing_twice() {
    let hec = receivers();
    hec.faults(json!({ "hec_token": TOKEN, "hec_request_faults": [503, 503, 503] }));
    let written = journal(12);
    let report = ship(
        &written.dir,
        ship_config(5),
        vec![sink(&hec.url, false, TOKEN)],
    )
    .await;
    assert!(report.ok(), "{report:?}");
    assert_eq!(report.sinks[0].shipped, 12);
    let received = hec.received();
    let statuses: Vec<u64> = received["hec_requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, [503, 503, 503, 200, 200, 200]);
    // A busy answer means HEC took nothing: each event arrives once, in order.
    assert_eq!(
        strings(&received["hec"], "/envelope/event/event_id"),
        written.ids()
    );
    hec.assert_no_violations();
}

#[tokio::test]
async fn indexer_acknowledgement_is_awaited_on_the_channel_before_the_checkpoint_moves() {
    let hec = receivers();
    // Each ackId answers false twice before true.
    hec.faults(json!({ "hec_token": TOKEN, "hec_ack": true, "hec_ack_pending": 2 }));
    let written = journal(9);
    let report = ship(
        &written.dir,
        ship_config(4),
        vec![sink(&hec.url, true, TOKEN)],
    )
    .await;
    assert!(report.ok(), "{report:?}");
    assert_eq!(report.sinks[0].shipped, 9);
    let received = hec.received();
    assert_eq!(
        strings(&received["hec"], "/envelope/event/event_id"),
        written.ids()
    );
    // Every event request on the configured channel.
    for request in received["hec_requests"].as_array().unwrap() {
        assert_eq!(request["channel"], "5f1c9e2a-8a7b-4c1d-9e2f-0a1b2c3d4e5f");
    }
    // Three batches, ackIds 0, 1, 2, each asked about until true (three times each).
    assert_eq!(
        received["hec_ack_queries"],
        json!([[0], [0], [0], [1], [1], [1], [2], [2], [2]])
    );
    hec.assert_no_violations();
}

#[tokio::test]
async fn a_rejected_token_is_permanent_and_the_next_run_ships_everything_once() {
    let hec = receivers();
    hec.faults(json!({ "hec_token": TOKEN }));
    let written = journal(6);
    let report = ship(
        &written.dir,
        ship_config(10),
        vec![sink(&hec.url, false, "wrong-token-000000")],
    )
    .await;
    let error = report.sinks[0]
        .error
        .clone()
        .expect("a bad token fails the run");
    assert!(
        error.contains("403") && error.contains("Invalid token"),
        "{error}"
    );
    assert!(!error.contains("wrong-token-000000"), "{error}");
    assert_eq!(report.sinks[0].shipped, 0);
    // Permanent: asked once, not retried.
    assert_eq!(hec.received()["hec"], json!([]));
    let report = ship(
        &written.dir,
        ship_config(10),
        vec![sink(&hec.url, false, TOKEN)],
    )
    .await;
    assert!(report.ok(), "{report:?}");
    assert_eq!(
        strings(&hec.received()["hec"], "/envelope/event/event_id"),
        written.ids()
    );
}

#[tokio::test]
async fn without_its_token_variable_the_sink_is_not_built() {
    let config: SinkConfig = sink_config(json!({
        "kind": "splunk_hec",
        "name": "splunk",
        "url": "http://127.0.0.1:9",
        "token_env": "CE_TEST_HEC_TOKEN_THAT_IS_NEVER_SET",
    }));
    testkit::install_crypto_provider();
    let error = match audit_ship::sinks::build(&[config], &ship_config(10), None, None).await {
        Err(e) => e.to_string(),
        Ok(_) => panic!("built without a token"),
    };
    assert!(
        error.contains("CE_TEST_HEC_TOKEN_THAT_IS_NEVER_SET"),
        "{error}"
    );
}

#[tokio::test]
async fn with_its_variable_unset_the_token_comes_from_the_keychain() {
    let hec = receivers();
    hec.faults(json!({ "hec_token": TOKEN }));
    // The kernel keyutils store, in a fresh session keyring of this test's thread.
    testkit::join_fresh_session_keyring();
    let keychain = auth::config::KeychainConfig {
        backend: auth::config::KeychainBackend::Keyutils,
        service: format!("ce-audit-ship-test-{}", testkit::uuid()),
    };
    auth::keychain::Keychain::open(&keychain)
        .unwrap()
        .save_secret(&audit_ship::sinks::keychain_user("splunk"), TOKEN)
        .unwrap();
    let config: SinkConfig = sink_config(json!({
        "kind": "splunk_hec",
        "name": "splunk",
        "url": hec.url,
        "token_env": "CE_TEST_HEC_TOKEN_THAT_IS_NEVER_SET",
    }));
    let written = journal(3);
    let entries = audit_ship::sinks::build(&[config], &ship_config(10), None, Some(&keychain))
        .await
        .unwrap();
    let report = audit_ship::Shipper::new(&written.dir, ship_config(10), entries)
        .unwrap()
        .run(audit_ship::Mode::Once)
        .await
        .unwrap();
    assert!(report.ok(), "{report:?}");
    assert_eq!(
        strings(&hec.received()["hec"], "/envelope/event/event_id"),
        written.ids()
    );
    hec.assert_no_violations();
}

#[tokio::test]
async fn the_servers_error_logs_go_to_the_errors_index_and_sourcetype() {
    let hec = receivers();
    hec.faults(json!({ "hec_token": TOKEN }));
    let mut config = config(&hec.url, false);
    config.errors_index = Some("claude_errors".into());
    let sink: Arc<dyn audit_ship::Sink> =
        Arc::new(SplunkHecSink::new(&config, TOKEN.to_owned()).unwrap());
    let written = journal(4);
    let report = ship_with_errors(&written, ship_config(10), vec![sink]).await;
    assert!(report.ok(), "{report:?}");
    assert_eq!(
        (report.sinks[0].shipped, report.sinks[0].errors_shipped),
        (4, 3)
    );
    let received = hec.received();
    let all = received["hec"].as_array().unwrap();
    let (audit, errors): (Vec<&Value>, Vec<&Value>) = all
        .iter()
        .partition(|e| e["envelope"]["index"] == "claude_audit");
    assert_eq!(audit.len(), 4);
    assert_eq!(errors.len(), 3);
    for (i, item) in errors.iter().enumerate() {
        let envelope = &item["envelope"];
        assert_eq!(envelope["index"], "claude_errors");
        assert_eq!(envelope["sourcetype"], "claude-enterprise:errors");
        assert_eq!(envelope["fields"]["event_id"], error_id(i));
        // No chain head: error lines are not chained.
        assert!(envelope["fields"].get("chain_head_hash").is_none());
        assert_eq!(envelope["event"]["message"], ERROR_LINES[i]);
        assert_eq!(
            envelope["event"]["level"],
            if i == 1 { "ERROR" } else { "WARN" }
        );
    }
    hec.assert_no_violations();
}

#[tokio::test]
async fn an_event_hec_refuses_is_dead_lettered_and_the_events_after_it_still_arrive() {
    let hec = receivers();
    let written = journal(6);
    let ids = written.ids();
    hec.faults(json!({ "hec_token": TOKEN, "hec_invalid_events": [ids[2].clone()] }));
    let report = ship(
        &written.dir,
        ship_config(10),
        vec![sink(&hec.url, false, TOKEN)],
    )
    .await;
    assert!(report.ok(), "{report:?}");
    assert_eq!(
        (report.sinks[0].shipped, report.sinks[0].dead_lettered),
        (5, 1)
    );
    // Splunk took the two before it; only the three after it were sent again.
    let received = hec.received();
    let expected: Vec<String> = ids.iter().filter(|i| **i != ids[2]).cloned().collect();
    assert_eq!(
        strings(&received["hec"], "/envelope/event/event_id"),
        expected
    );
    let dead = written.dead_letters("splunk");
    assert_eq!(dead.len(), 1, "{dead:?}");
    assert_eq!(dead[0]["event_id"], ids[2].as_str());
    let reason = dead[0]["reason"].as_str().unwrap();
    assert!(reason.contains("Invalid data format"), "{reason}");
    hec.assert_no_violations();
}

#[tokio::test]
async fn ocsf_events_carry_the_native_host_and_server_in_the_envelope() {
    let hec = receivers();
    hec.faults(json!({ "hec_token": TOKEN }));
    let written = journal(2);
    let sink: Arc<dyn audit_ship::Sink> =
        Arc::new(SplunkHecSink::new(&config(&hec.url, false), TOKEN.to_owned()).unwrap());
    let entries = vec![audit_ship::SinkEntry {
        sink,
        format: governance::config::ShipFormat::Ocsf,
    }];
    let report = audit_ship::Shipper::new(&written.dir, ship_config(10), entries)
        .unwrap()
        .run(audit_ship::Mode::Once)
        .await
        .unwrap();
    assert!(report.ok(), "{report:?}");
    let received = hec.received();
    for (item, event) in received["hec"]
        .as_array()
        .unwrap()
        .iter()
        .zip(&written.events)
    {
        let envelope = &item["envelope"];
        assert_eq!(envelope["event"]["class_uid"], 6003);
        assert_eq!(envelope["host"], "laptop-17");
        assert_eq!(envelope["source"], "github-mcp");
        assert_eq!(envelope["fields"]["event_id"], event.event_id);
    }
    hec.assert_no_violations();
}

#[tokio::test]
async fn a_token_with_acknowledgement_on_and_ack_off_says_to_set_ack() {
    let hec = receivers();
    hec.faults(json!({ "hec_token": TOKEN, "hec_ack": true }));
    let written = journal(2);
    let report = ship(
        &written.dir,
        ship_config(10),
        vec![sink(&hec.url, false, TOKEN)],
    )
    .await;
    let error = report.sinks[0]
        .error
        .clone()
        .expect("HEC refuses a request without channel");
    assert!(error.contains("Data channel is missing"), "{error}");
    assert!(error.contains("set ack = true"), "{error}");
    assert_eq!(hec.received()["hec"], json!([]));
}

#[tokio::test]
async fn a_token_echoed_back_by_the_far_side_never_reaches_the_report() {
    let hec = receivers();
    hec.faults(json!({
        "hec_token": TOKEN,
        "hec_echo_auth": true,
        "hec_request_faults": [503, 503, 503, 503, 503, 503, 503, 503],
    }));
    let written = journal(2);
    let report = ship(
        &written.dir,
        ship_config(10),
        vec![sink(&hec.url, false, TOKEN)],
    )
    .await;
    let error = report.sinks[0]
        .error
        .clone()
        .expect("busy for the whole run");
    assert!(error.contains("Server is busy"), "{error}");
    assert!(error.contains("[REDACTED]"), "{error}");
    assert!(!error.contains(TOKEN), "{error}");
    // Nothing lost: the next run, with HEC back, ships both.
    hec.faults(json!({ "hec_request_faults": [] }));
    let report = ship(
        &written.dir,
        ship_config(10),
        vec![sink(&hec.url, false, TOKEN)],
    )
    .await;
    assert!(report.ok(), "{report:?}");
    assert_eq!(
        strings(&hec.received()["hec"], "/envelope/event/event_id"),
        written.ids()
    );
}
