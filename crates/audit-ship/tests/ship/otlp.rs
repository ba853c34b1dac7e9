//! The OTLP/HTTP logs sink against the local receiver, which decodes every request with the
//! official OpenTelemetry protobuf definitions (the `opentelemetry-proto` Python package:
//! `ExportLogsServiceRequest.ParseFromString` for protobuf, `json_format.Parse` for OTLP JSON)
//! and answers as the OTLP specification says (`ExportLogsServiceResponse`, 429/503 with
//! `Retry-After`).

use governance::config::SinkConfig;
use serde_json::{Value, json};

use super::receivers::{
    ERROR_LINES, ERRORS_FILE, Written, built, error_id, journal, receivers, ship_config,
    ship_configured, ship_with_errors, sink_config, without_ship,
};

fn config(url: &str, protocol: &str) -> SinkConfig {
    sink_config(json!({
        "kind": "otlp",
        "name": "otel",
        "url": format!("{url}/v1/logs"),
        "protocol": protocol,
    }))
}

/// An attribute list (`[{key, value: {string_value | int_value}}]`) as a map of strings.
fn attributes(list: &Value) -> std::collections::BTreeMap<String, String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|kv| {
            let value = &kv["value"];
            let text = value["string_value"]
                .as_str()
                .map(str::to_owned)
                // int64 is a string in proto3's JSON mapping.
                .or_else(|| value["int_value"].as_str().map(str::to_owned))
                .unwrap_or_else(|| panic!("unexpected attribute value {kv}"));
            (kv["key"].as_str().unwrap().to_owned(), text)
        })
        .collect()
}

/// Checks every request the receiver decoded against the journal: one resource per request
/// (github-mcp), the records in journal order, each field mapped.
fn assert_matches_journal(received: &Value, written: &Written, content_type: &str) {
    let last = written.events.last().unwrap();
    let mut records = Vec::new();
    for request in received["otlp"].as_array().unwrap() {
        assert_eq!(request["content_type"], content_type);
        let resource_logs = request["request"]["resource_logs"].as_array().unwrap();
        assert_eq!(resource_logs.len(), 1);
        let resource = attributes(&resource_logs[0]["resource"]["attributes"]);
        assert_eq!(resource["service.name"], "github-mcp");
        assert_eq!(resource["service.version"], "0.1.0");
        assert_eq!(resource["host.name"], "laptop-17");
        assert!(resource["audit.segment"].starts_with("github-mcp-"));
        assert_eq!(resource["audit.chain_head.seq"], last.seq.to_string());
        assert_eq!(resource["audit.chain_head.hash"], last.hash);
        let scope_logs = resource_logs[0]["scope_logs"].as_array().unwrap();
        assert_eq!(scope_logs[0]["scope"]["name"], "claude-enterprise.audit");
        records.extend(
            scope_logs[0]["log_records"]
                .as_array()
                .unwrap()
                .iter()
                .cloned(),
        );
    }
    assert_eq!(records.len(), written.events.len());
    for (record, event) in records.iter().zip(&written.events) {
        let attrs = attributes(&record["attributes"]);
        assert_eq!(attrs["event_id"], event.event_id);
        assert_eq!(attrs["log.record.uid"], event.event_id);
        assert_eq!(attrs["user"], event.user);
        assert_eq!(attrs["tool"], "github");
        assert_eq!(attrs["action"], event.action);
        assert_eq!(attrs["call_id"], event.call_id);
        assert_eq!(attrs["seq"], event.seq.to_string());
        assert_eq!(attrs.get("result"), event.result.as_ref());
        let millis = chrono::DateTime::parse_from_rfc3339(&event.timestamp)
            .unwrap()
            .timestamp_millis();
        assert_eq!(
            record["time_unix_nano"],
            (millis as u64 * 1_000_000).to_string()
        );
        let warn = event.result.as_deref() == Some("error");
        assert_eq!(
            record["severity_number"],
            if warn {
                "SEVERITY_NUMBER_WARN"
            } else {
                "SEVERITY_NUMBER_INFO"
            }
        );
        assert_eq!(record["severity_text"], if warn { "WARN" } else { "INFO" });
        assert_eq!(record["event_name"], "claude_enterprise.audit");
        // The body is the journal's event, as a string.
        let body: Value =
            serde_json::from_str(record["body"]["string_value"].as_str().unwrap()).unwrap();
        assert_eq!(
            without_ship(written, &body),
            serde_json::to_value(event).unwrap()
        );
    }
}

#[tokio::test]
async fn protobuf_requests_decode_with_the_official_definitions_and_carry_the_journal() {
    let otlp = receivers();
    let written = journal(14);
    let report = ship_configured(
        &written.dir,
        ship_config(5),
        &[config(&otlp.url, "protobuf")],
    )
    .await;
    assert!(report.ok(), "{report:?}");
    assert_eq!(report.sinks[0].shipped, 14);
    let received = otlp.received();
    assert_eq!(received["otlp"].as_array().unwrap().len(), 3);
    assert_matches_journal(&received, &written, "application/x-protobuf");
    otlp.assert_no_violations();
}

#[tokio::test]
async fn otlp_json_parses_into_the_same_message() {
    let otlp = receivers();
    let written = journal(6);
    let report = ship_configured(&written.dir, ship_config(10), &[config(&otlp.url, "json")]).await;
    assert!(report.ok(), "{report:?}");
    assert_matches_journal(&otlp.received(), &written, "application/json");
    otlp.assert_no_violations();
}

#[tokio::test]
async fn unavailable_and_throttled_with_retry_after_are_retried_and_nothing_is_lost() {
    let otlp = receivers();
    otlp.faults(json!({ "otlp_request_faults": [503, 429], "otlp_retry_after": "1" }));
    let written = journal(4);
    let report = ship_configured(
        &written.dir,
        ship_config(10),
        &[config(&otlp.url, "protobuf")],
    )
    .await;
    assert!(report.ok(), "{report:?}");
    assert_eq!(report.sinks[0].shipped, 4);
    let received = otlp.received();
    let statuses: Vec<u64> = received["otlp_requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, [503, 429, 200]);
    assert_matches_journal(&received, &written, "application/x-protobuf");
    otlp.assert_no_violations();
}

#[tokio::test]
async fn a_batch_the_collector_rejects_whole_is_dead_lettered_with_its_message() {
    let otlp = receivers();
    otlp.faults(json!({ "otlp_partial_reject": 3 }));
    let written = journal(3);
    let report = ship_configured(
        &written.dir,
        ship_config(10),
        &[config(&otlp.url, "protobuf")],
    )
    .await;
    assert!(report.ok(), "{report:?}");
    assert_eq!(report.sinks[0].dead_lettered, 3);
    let dead = written.dead_letters("otel");
    assert_eq!(dead.len(), 3);
    assert!(
        dead[0]["reason"]
            .as_str()
            .unwrap()
            .contains("rejected 3 of 3"),
        "{dead:?}"
    );
}

#[tokio::test]
async fn the_servers_error_logs_go_out_under_their_own_scope_with_their_severity() {
    let otlp = receivers();
    let written = journal(2);
    let report = ship_with_errors(
        &written,
        ship_config(10),
        built(&[config(&otlp.url, "protobuf")]).await,
    )
    .await;
    assert!(report.ok(), "{report:?}");
    assert_eq!(
        (report.sinks[0].shipped, report.sinks[0].errors_shipped),
        (2, 3)
    );
    let received = otlp.received();
    let requests = received["otlp"].as_array().unwrap();
    assert_eq!(requests.len(), 2);
    let scope_logs = &requests[1]["request"]["resource_logs"][0]["scope_logs"][0];
    assert_eq!(scope_logs["scope"]["name"], "claude-enterprise.errors");
    let records = scope_logs["log_records"].as_array().unwrap();
    assert_eq!(records.len(), 3);
    for (i, record) in records.iter().enumerate() {
        let attrs = attributes(&record["attributes"]);
        assert_eq!(attrs["event_id"], error_id(i));
        assert_eq!(attrs["log.file.name"], ERRORS_FILE);
        assert_eq!(record["body"]["string_value"], ERROR_LINES[i]);
        let (number, text) = if i == 1 {
            ("SEVERITY_NUMBER_ERROR", "ERROR")
        } else {
            ("SEVERITY_NUMBER_WARN", "WARN")
        };
        assert_eq!(record["severity_number"], number);
        assert_eq!(record["severity_text"], text);
    }
    otlp.assert_no_violations();
}

#[tokio::test]
async fn ocsf_events_keep_their_attributes_from_the_native_event_they_carry() {
    let otlp = receivers();
    let written = journal(3);
    let mut config = config(&otlp.url, "protobuf");
    let SinkConfig::Otlp(c) = &mut config else {
        unreachable!()
    };
    c.format = Some(governance::config::ShipFormat::Ocsf);
    let report = ship_configured(&written.dir, ship_config(10), &[config]).await;
    assert!(report.ok(), "{report:?}");
    let received = otlp.received();
    let resource_logs = &received["otlp"][0]["request"]["resource_logs"][0];
    let resource = attributes(&resource_logs["resource"]["attributes"]);
    assert_eq!(resource["service.name"], "github-mcp");
    let records = resource_logs["scope_logs"][0]["log_records"]
        .as_array()
        .unwrap();
    for (record, event) in records.iter().zip(&written.events) {
        let attrs = attributes(&record["attributes"]);
        assert_eq!(attrs["event_id"], event.event_id);
        assert_eq!(attrs["user"], event.user);
        assert_eq!(attrs["action"], event.action);
        let body: Value =
            serde_json::from_str(record["body"]["string_value"].as_str().unwrap()).unwrap();
        assert_eq!(body["class_uid"], 6003);
        assert_eq!(
            body["unmapped"]["event"],
            serde_json::to_value(event).unwrap()
        );
    }
    otlp.assert_no_violations();
}

#[tokio::test]
async fn a_refused_request_is_permanent_and_reports_the_collectors_status_message() {
    let otlp = receivers();
    // A collector that refuses everything with 400 INVALID_ARGUMENT.
    otlp.faults(json!({ "otlp_request_faults": [400, 400, 400] }));
    let written = journal(2);
    let report = ship_configured(
        &written.dir,
        ship_config(10),
        &[config(&otlp.url, "protobuf")],
    )
    .await;
    let error = report.sinks[0].error.clone().expect("a 400 stops the sink");
    assert!(
        error.contains("400") && error.contains("unavailable"),
        "{error}"
    );
    // Permanent: asked once.
    assert_eq!(
        otlp.received()["otlp_requests"].as_array().unwrap().len(),
        1
    );
}
