//! The Elasticsearch `_bulk` sink against the local receiver (no real Elasticsearch can run
//! here; the receiver answers per item as the bulk API documents: 201, 409
//! `version_conflict_engine_exception`, 429 `es_rejected_execution_exception`, 400
//! `document_parsing_exception`, and checks the request shapes of Elastic's API description).

use std::collections::BTreeSet;

use audit_ship::sinks::elasticsearch;
use governance::config::SinkConfig;
use serde_json::{Value, json};

use super::receivers::{
    ERROR_LINES, built, error_id, journal, receivers, ship_config, ship_configured,
    ship_with_errors, sink_config, strings, without_ship,
};

fn config(url: &str) -> SinkConfig {
    sink_config(json!({
        "kind": "elasticsearch",
        "name": "elastic",
        "url": url,
        "index": "claude-audit",
        "errors_index": "claude-errors",
    }))
}

/// The `_id`s of each bulk request with their per-item statuses.
fn requests(received: &Value) -> Vec<(u64, Vec<(String, u64)>)> {
    received["es_requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let items = r["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| (i[0].as_str().unwrap().to_owned(), i[1].as_u64().unwrap()))
                .collect();
            (r["status"].as_u64().unwrap(), items)
        })
        .collect()
}

#[tokio::test]
async fn what_is_created_is_the_journal_in_order_with_event_ids_as_ids() {
    let es = receivers();
    let written = journal(23);
    let report = ship_configured(&written.dir, ship_config(10), &[config(&es.url)]).await;
    assert!(report.ok(), "{report:?}");
    assert_eq!(report.sinks[0].shipped, 23);
    let received = es.received();
    assert_eq!(strings(&received["es_order"], "/_id"), written.ids());
    for line in written.lines() {
        let id = line["event_id"].as_str().unwrap();
        let mut doc = received["es"]["claude-audit"][id].clone();
        let stamp = doc.as_object_mut().unwrap().remove("@timestamp").unwrap();
        // The document is the journal's event plus @timestamp and the chain head.
        assert_eq!(without_ship(&written, &doc), line);
        assert_eq!(stamp, line["timestamp"]);
    }
    es.assert_no_violations();
}

#[tokio::test]
async fn an_id_already_there_answers_409_and_counts_as_delivered() {
    let es = receivers();
    let written = journal(8);
    let sinks = [config(&es.url)];
    let first = ship_configured(&written.dir, ship_config(10), &sinks).await;
    assert_eq!(first.sinks[0].shipped, 8);
    // The shipper died after Elasticsearch took the batch, before its checkpoint was written.
    written.forget_checkpoints("elastic");
    let again = ship_configured(&written.dir, ship_config(10), &sinks).await;
    assert!(again.ok(), "{again:?}");
    assert_eq!(
        (
            again.sinks[0].shipped,
            again.sinks[0].duplicates,
            again.sinks[0].dead_lettered
        ),
        (0, 8, 0)
    );
    let received = es.received();
    let (status, items) = requests(&received).pop().unwrap();
    assert_eq!(status, 200);
    assert!(items.iter().all(|(_, s)| *s == 409), "{items:?}");
    // Stored once each.
    assert_eq!(strings(&received["es_order"], "/_id"), written.ids());
    assert!(written.dead_letters("elastic").is_empty());
    es.assert_no_violations();
}

#[tokio::test]
async fn per_item_429_is_retried_until_every_event_is_in() {
    let es = receivers();
    let written = journal(10);
    let ids = written.ids();
    es.faults(json!({ "es_item_faults": { ids[3].clone(): [429], ids[7].clone(): [429, 429] } }));
    let report = ship_configured(&written.dir, ship_config(10), &[config(&es.url)]).await;
    assert!(report.ok(), "{report:?}");
    let sink = &report.sinks[0];
    assert_eq!(sink.dead_lettered, 0);
    assert_eq!(sink.shipped + sink.duplicates, 10);
    let received = es.received();
    let requests = requests(&received);
    assert_eq!(requests.len(), 3, "{requests:?}");
    assert_eq!(requests[0].1[3], (ids[3].clone(), 429));
    assert_eq!(requests[0].1[7], (ids[7].clone(), 429));
    assert_eq!(requests[1].1[3], (ids[3].clone(), 201));
    assert_eq!(requests[1].1[0], (ids[0].clone(), 409));
    assert_eq!(requests[2].1[7], (ids[7].clone(), 201));
    // Every event stored exactly once.
    let stored = strings(&received["es_order"], "/_id");
    assert_eq!(stored.len(), 10);
    assert_eq!(
        stored.iter().collect::<BTreeSet<_>>(),
        ids.iter().collect::<BTreeSet<_>>()
    );
    es.assert_no_violations();
}

#[tokio::test]
async fn whole_request_429_and_503_are_retried_and_nothing_is_lost() {
    let es = receivers();
    es.faults(json!({ "es_request_faults": [429, 503] }));
    let written = journal(7);
    let report = ship_configured(&written.dir, ship_config(10), &[config(&es.url)]).await;
    assert!(report.ok(), "{report:?}");
    assert_eq!(report.sinks[0].shipped, 7);
    let received = es.received();
    let statuses: Vec<u64> = requests(&received).iter().map(|r| r.0).collect();
    assert_eq!(statuses, [429, 503, 200]);
    assert_eq!(strings(&received["es_order"], "/_id"), written.ids());
    es.assert_no_violations();
}

#[tokio::test]
async fn a_document_refused_for_good_is_dead_lettered_reported_and_passed() {
    let es = receivers();
    let written = journal(6);
    let ids = written.ids();
    // A mapping conflict: refused on every attempt.
    es.faults(json!({ "es_item_faults": { ids[2].clone(): ["400!"] } }));
    let sinks = [config(&es.url)];
    let report = ship_configured(&written.dir, ship_config(10), &sinks).await;
    assert!(report.ok(), "{report:?}");
    assert_eq!(
        (
            report.sinks[0].shipped,
            report.sinks[0].duplicates,
            report.sinks[0].dead_lettered
        ),
        (5, 0, 1)
    );
    let dead = written.dead_letters("elastic");
    assert_eq!(dead.len(), 1, "{dead:?}");
    assert_eq!(dead[0]["event_id"], ids[2].as_str());
    assert_eq!(dead[0]["seq"], written.events[2].seq);
    let reason = dead[0]["reason"].as_str().unwrap();
    assert!(
        reason.contains("400") && reason.contains("document_parsing_exception"),
        "{reason}"
    );
    let stored = strings(&es.received()["es_order"], "/_id");
    let expected: Vec<String> = ids.iter().filter(|i| **i != ids[2]).cloned().collect();
    assert_eq!(stored, expected);
    // The checkpoint moved past it (the design: dead-lettered counts as handled, recorded in
    // deadletter.jsonl): the next run sends nothing.
    let before = requests(&es.received()).len();
    let again = ship_configured(&written.dir, ship_config(10), &sinks).await;
    assert!(again.ok(), "{again:?}");
    assert_eq!(again.sinks[0].shipped + again.sinks[0].dead_lettered, 0);
    assert_eq!(requests(&es.received()).len(), before);
    es.assert_no_violations();
}

#[tokio::test]
async fn the_retention_bodies_are_taken_by_the_ilm_and_index_template_apis() {
    let es = receivers();
    let SinkConfig::Elasticsearch(config) = config(&es.url) else {
        unreachable!()
    };
    let requests = elasticsearch::retention_requests(&config);
    let client = reqwest::Client::builder().build().unwrap();
    for (line, body) in &requests {
        let path = line.strip_prefix("PUT ").unwrap();
        let response = client
            .put(format!("{}/{path}", es.url))
            .json(body)
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            200,
            "{line}: {}",
            response.text().await.unwrap()
        );
    }
    es.assert_no_violations();
    let received = es.received();
    let days =
        |policy: &str| received["es_ilm"][policy]["policy"]["phases"]["delete"]["min_age"].clone();
    assert_eq!(days("claude-audit-policy"), "365d");
    assert_eq!(days("claude-errors-policy"), "90d");
    assert_eq!(
        received["es_templates"]["claude-audit"]["template"]["settings"]["index.lifecycle.name"],
        "claude-audit-policy"
    );
    assert_eq!(
        received["es_templates"]["claude-errors"]["index_patterns"],
        json!(["claude-errors*"])
    );
}

#[tokio::test]
async fn the_servers_error_logs_are_created_in_the_errors_index() {
    let es = receivers();
    let written = journal(3);
    let report = ship_with_errors(&written, ship_config(10), built(&[config(&es.url)]).await).await;
    assert!(report.ok(), "{report:?}");
    assert_eq!(
        (report.sinks[0].shipped, report.sinks[0].errors_shipped),
        (3, 3)
    );
    let received = es.received();
    assert_eq!(received["es"]["claude-audit"].as_object().unwrap().len(), 3);
    let errors = received["es"]["claude-errors"].as_object().unwrap();
    assert_eq!(errors.len(), 3);
    for (i, line) in ERROR_LINES.iter().enumerate() {
        let doc = &errors[&error_id(i)];
        assert_eq!(doc["message"], *line);
        assert_eq!(doc["@timestamp"], line[..24]);
    }
    es.assert_no_violations();
}

#[tokio::test]
async fn an_api_key_from_the_keychain_authenticates_and_a_missing_one_is_refused_for_good() {
    let es = receivers();
    let key = "VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw==";
    es.faults(json!({ "es_api_key": key }));
    let written = journal(3);
    let sinks = [config(&es.url)];
    // No credentials configured: the cluster answers 401, which no retry fixes.
    let refused = ship_configured(&written.dir, ship_config(10), &sinks).await;
    let error = refused.sinks[0].error.clone().expect("401 stops the sink");
    assert!(error.contains("401"), "{error}");
    assert_eq!(requests(&es.received()).len(), 0);
    // The key stored in the keychain (kernel keyutils, a fresh session keyring).
    testkit::join_fresh_session_keyring();
    let keychain = auth::config::KeychainConfig {
        backend: auth::config::KeychainBackend::Keyutils,
        service: format!("ce-audit-ship-test-{}", testkit::uuid()),
    };
    auth::keychain::Keychain::open(&keychain)
        .unwrap()
        .save_secret(&audit_ship::sinks::keychain_user("elastic"), key)
        .unwrap();
    let mut with_key = config(&es.url);
    let SinkConfig::Elasticsearch(c) = &mut with_key else {
        unreachable!()
    };
    c.api_key_env = Some("CE_TEST_ES_API_KEY_THAT_IS_NEVER_SET".into());
    let entries = audit_ship::sinks::build(&[with_key], &ship_config(10), None, Some(&keychain))
        .await
        .unwrap();
    let report = audit_ship::Shipper::new(&written.dir, ship_config(10), entries)
        .unwrap()
        .run(audit_ship::Mode::Once)
        .await
        .unwrap();
    assert!(report.ok(), "{report:?}");
    assert_eq!(strings(&es.received()["es_order"], "/_id"), written.ids());
    es.assert_no_violations();
}

#[test]
fn the_errors_template_outranks_the_audit_template_whose_pattern_may_cover_it() {
    let SinkConfig::Elasticsearch(mut config) = config("http://127.0.0.1:9") else {
        unreachable!()
    };
    config.index = "claude-audit".into();
    config.errors_index = Some("claude-audit-errors".into());
    let requests = elasticsearch::retention_requests(&config);
    assert_eq!(requests[1].1["priority"], 200);
    assert_eq!(requests[3].0, "PUT _index_template/claude-audit-errors");
    assert_eq!(requests[3].1["priority"], 201);
}
