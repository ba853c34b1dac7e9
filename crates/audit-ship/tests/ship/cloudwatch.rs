//! moto's CloudWatch Logs as a real sink.

use std::sync::Arc;

use audit_ship::{Mode, SinkEntry, sinks::cloudwatch::CloudWatchSink};
use aws_sdk_cloudwatchlogs::{Client, config::Credentials};
use governance::config::{CloudWatchSinkConfig, ShipFormat};
use serde_json::Value;

use crate::common::*;

fn credentials() -> Credentials {
    Credentials::new("testing", "testing", None, None, "audit-ship-tests")
}

fn config(group: &str, endpoint: &str) -> CloudWatchSinkConfig {
    CloudWatchSinkConfig {
        name: "cw".into(),
        format: None,
        log_group: group.into(),
        log_stream: Some("laptop-42".into()),
        region: Some("us-east-1".into()),
        endpoint_url: Some(endpoint.into()),
        retention_days: 365,
        errors_log_group: Some(format!("{group}-errors")),
        errors_retention_days: 90,
    }
}

async fn sink(group: &str, endpoint: &str) -> SinkEntry {
    SinkEntry {
        sink: Arc::new(CloudWatchSink::new(&config(group, endpoint), Some(credentials())).await),
        format: ShipFormat::Native,
    }
}

async fn client() -> Client {
    let https = aws_smithy_http_client::Builder::new()
        .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
            aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https();
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(https)
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(&testkit::moto().url)
        .credentials_provider(credentials())
        .load()
        .await;
    Client::new(&sdk)
}

/// Every message in the stream, oldest first.
async fn received(client: &Client, group: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = client
            .get_log_events()
            .log_group_name(group)
            .log_stream_name("laptop-42")
            .start_from_head(true)
            .set_next_token(token.clone())
            .send()
            .await
            .unwrap();
        let events = page.events();
        for e in events {
            out.push(serde_json::from_str(e.message().unwrap()).unwrap());
        }
        let next = page.next_forward_token().map(str::to_owned);
        if events.is_empty() || next == token {
            break;
        }
        token = next;
    }
    out
}

async fn retention_of(client: &Client, group: &str) -> Option<i32> {
    client
        .describe_log_groups()
        .log_group_name_prefix(group)
        .send()
        .await
        .unwrap()
        .log_groups()
        .iter()
        .find(|g| g.log_group_name() == Some(group))
        .and_then(|g| g.retention_in_days())
}

#[tokio::test]
async fn cloudwatch_receives_exactly_the_journal_in_order_with_retention_set() {
    let moto = testkit::moto();
    let dir = tempfile::tempdir().unwrap();
    let segs = journal(dir.path(), &[23, 9]);
    let group = format!("/claude-enterprise/audit-{}", testkit::uuid());
    let report = shipper(dir.path(), vec![sink(&group, &moto.url).await])
        .run(Mode::Once)
        .await
        .unwrap();
    assert!(report.ok(), "{report:?}");
    assert_eq!(report.sinks[0].shipped, 32);
    let client = client().await;
    let got = received(&client, &group).await;
    // Exactly the journal's events, in journal order, each with its segment's chain head.
    let mut expected = lines(&segs[0]);
    expected.extend(lines(&segs[1]));
    let heads: Vec<Value> = got.iter().map(|v| v["ship"].clone()).collect();
    let got: Vec<Value> = got.into_iter().map(unshipped).collect();
    assert_eq!(got, expected);
    assert_eq!(heads[0]["head_seq"], 23);
    assert_eq!(heads[0]["head_hash"], expected[22]["hash"]);
    assert_eq!(heads[31]["head_seq"], 9);
    assert_eq!(retention_of(&client, &group).await, Some(365));
    assert_eq!(
        retention_of(&client, &format!("{group}-errors")).await,
        Some(90)
    );
    // Nothing new: nothing sent again.
    let again = shipper(dir.path(), vec![sink(&group, &moto.url).await])
        .run(Mode::Once)
        .await
        .unwrap();
    assert_eq!(again.sinks[0].shipped, 0);
    assert_eq!(received(&client, &group).await.len(), 32);
}

#[tokio::test]
async fn sink_down_for_a_whole_run_then_up_loses_nothing() {
    let moto = testkit::moto();
    let dir = tempfile::tempdir().unwrap();
    let segs = journal(dir.path(), &[15]);
    let group = format!("/claude-enterprise/audit-{}", testkit::uuid());
    // Nothing listens on the port of a listener just closed.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let report = shipper(dir.path(), vec![sink(&group, &closed).await])
        .run(Mode::Once)
        .await
        .unwrap();
    let error = report.sinks[0].error.clone().unwrap();
    assert!(error.contains("nothing is lost"), "{error}");
    assert_eq!(report.sinks[0].shipped, 0);
    let pending = audit_ship::pending(dir.path(), "cw").unwrap();
    assert_eq!(pending.events, 15);
    assert!(pending.last_error.is_some());

    let report = shipper(dir.path(), vec![sink(&group, &moto.url).await])
        .run(Mode::Once)
        .await
        .unwrap();
    assert!(report.ok(), "{report:?}");
    let got: Vec<Value> = received(&client().await, &group)
        .await
        .into_iter()
        .map(unshipped)
        .collect();
    assert_eq!(got, lines(&segs[0]));
    let pending = audit_ship::pending(dir.path(), "cw").unwrap();
    assert_eq!((pending.events, pending.last_error), (0, None));
}

#[tokio::test]
async fn the_servers_error_logs_go_to_the_errors_group_and_not_twice() {
    let moto = testkit::moto();
    let dir = tempfile::tempdir().unwrap();
    let journal_dir = dir.path().join("audit");
    journal(&journal_dir, &[3]);
    // What a server's log layer writes (governance::audit::ErrorsLog), one file per process.
    let errors = governance::audit::errors_dir(&journal_dir);
    std::fs::create_dir_all(&errors).unwrap();
    std::fs::write(
        errors.join("github-mcp-20261202T130000.000Z-42.jsonl"),
        "2026-12-02T13:00:00.123456Z  WARN github_mcp: upstream slow\n\
         2026-12-02T13:00:01.000000Z ERROR github_mcp: upstream refused\n",
    )
    .unwrap();
    let group = format!("/claude-enterprise/audit-{}", testkit::uuid());
    let ship = || async {
        shipper(&journal_dir, vec![sink(&group, &moto.url).await])
            .with_errors_dir(Some(errors.clone()))
            .run(Mode::Once)
            .await
            .unwrap()
    };
    let report = ship().await;
    assert!(report.ok(), "{report:?}");
    assert_eq!(
        (report.sinks[0].shipped, report.sinks[0].errors_shipped),
        (3, 2)
    );
    let client = client().await;
    let got = received(&client, &format!("{group}-errors")).await;
    assert_eq!(got.len(), 2);
    assert_eq!(got[0]["level"], "WARN");
    assert_eq!(got[0]["timestamp"], "2026-12-02T13:00:00.123Z");
    assert_eq!(
        got[1]["message"],
        "2026-12-02T13:00:01.000000Z ERROR github_mcp: upstream refused"
    );
    assert_eq!(got[1]["source"], "github-mcp-20261202T130000.000Z-42.jsonl");
    // The audit group has only audit events.
    assert_eq!(received(&client, &group).await.len(), 3);
    let again = ship().await;
    assert_eq!(again.sinks[0].errors_shipped, 0);
    assert_eq!(received(&client, &format!("{group}-errors")).await.len(), 2);
}

#[tokio::test]
async fn events_out_of_time_order_in_the_journal_arrive_in_journal_order() {
    let moto = testkit::moto();
    let dir = tempfile::tempdir().unwrap();
    // Two callers' events, interleaved by the journal's writer thread: the second is older.
    let (writer, _) = governance::audit::Journal::open(dir.path(), "github").unwrap();
    let now = chrono::Utc::now();
    for (n, offset_ms) in [(1u64, 0i64), (2, -5_000), (3, 1), (4, -2)] {
        let mut e = event(n);
        e.timestamp = (now + chrono::Duration::milliseconds(offset_ms))
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        writer.append(e, false).unwrap();
    }
    drop(writer);
    let segs = governance::audit::segments(dir.path()).unwrap();
    let group = format!("/claude-enterprise/audit-{}", testkit::uuid());
    let report = shipper(dir.path(), vec![sink(&group, &moto.url).await])
        .run(Mode::Once)
        .await
        .unwrap();
    assert!(report.ok(), "{report:?}");
    let got: Vec<Value> = received(&client().await, &group)
        .await
        .into_iter()
        .map(unshipped)
        .collect();
    // Each event keeps its own timestamp in the message.
    assert_eq!(got, lines(&segs[0]));
}
