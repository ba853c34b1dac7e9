//! aws-mcp end to end against moto's server (seeded with instances, a DB instance, an EKS
//! cluster, metrics and log events), with the CloudWatch CBOR shim in front of it, through a
//! recording proxy that shows what AWS would have received.
//!
//! Not covered by moto, and so not here: metric-math expressions (moto returns nothing), JSON
//! log filter patterns (moto matches everything), Logs Insights beyond fields/sort/limit.

// A test that cannot set up fails loudly: unwrap and expect are the point here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use serde_json::{Value, json};
use testkit::{McpStdio, RecordingProxy, Sandbox, moto, result_text};

const MOTO_ACCOUNT: &str = "123456789012";

fn aws(sandbox: &Sandbox, endpoint: &str, extra: &[(&str, &str)]) -> McpStdio {
    let home = sandbox.dir.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let mut envs = vec![
        ("AWS_ENDPOINT_URL", endpoint),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing-secret-never-logged"),
        ("AWS_REGION", "us-east-1"),
        // Nothing may leave loopback: no instance metadata lookups, no ~/.aws of the machine.
        ("AWS_EC2_METADATA_DISABLED", "true"),
        ("HOME", home.to_str().unwrap()),
    ];
    envs.extend_from_slice(extra);
    let mut server = sandbox.spawn(Path::new(env!("CARGO_BIN_EXE_aws-mcp")), &envs);
    server.initialize();
    server
}

fn tool_names(server: &mut McpStdio) -> Vec<String> {
    let listed = server.request("tools/list", json!({}));
    listed["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect()
}

/// A successful result, whose text (what the model reads) fits the kernel's budget by the
/// server's own bounds (not the kernel's safety net, which would leave only a note).
fn ok(result: &Value) -> &Value {
    assert_ne!(result["isError"], json!(true), "{}", result_text(result));
    let bytes = result_text(result).len();
    assert!(
        bytes <= governance::server::RESULT_BUDGET_BYTES,
        "{bytes} bytes, over the budget"
    );
    let structured = &result["structuredContent"];
    let withheld = structured.get("truncated").is_some()
        && structured.get("note").is_some()
        && structured.as_object().is_some_and(|o| o.len() == 2);
    assert!(!withheld, "withheld by the kernel: {}", result_text(result));
    structured
}

#[test]
fn every_tool_reads_moto() {
    let peer = moto();
    let sandbox = Sandbox::new("");
    let proxy = RecordingProxy::start(&peer.url);
    let mut server = aws(&sandbox, proxy.url(), &[]);
    assert_eq!(
        tool_names(&mut server),
        [
            "aws_cloudwatch_get_metrics",
            "aws_cloudwatch_get_logs",
            "aws_describe_instances",
            "aws_describe_rds",
            "aws_describe_eks"
        ]
    );
    let listed = server.request("tools/list", json!({}));
    for tool in listed["result"]["tools"].as_array().unwrap() {
        assert_eq!(
            tool["annotations"]["readOnlyHint"], true,
            "{}",
            tool["name"]
        );
    }

    let instances = server.call("aws_describe_instances", json!({}));
    let ids: Vec<&str> = ok(&instances)["instances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["instance_id"].as_str().unwrap())
        .collect();
    for seeded in peer.seeded["instance_ids"].as_array().unwrap() {
        assert!(
            ids.contains(&seeded.as_str().unwrap()),
            "{seeded} in {ids:?}"
        );
    }
    let running = server.call(
        "aws_describe_instances",
        json!({"state": "running", "name": "web"}),
    );
    let states: Vec<&Value> = ok(&running)["instances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| &i["state"])
        .collect();
    assert!(
        !states.is_empty() && states.iter().all(|s| *s == "running"),
        "{states:?}"
    );

    let rds = server.call("aws_describe_rds", json!({}));
    let db = &ok(&rds)["db_instances"][0];
    assert_eq!(db["identifier"], "orders-db");
    assert_eq!(db["engine"], "postgres");
    assert!(
        !rds.to_string().contains("not-shown-anywhere"),
        "no master password in a describe"
    );

    let clusters = server.call("aws_describe_eks", json!({}));
    assert_eq!(ok(&clusters)["clusters"][0]["name"], "platform");
    let one = server.call("aws_describe_eks", json!({"cluster_name": "platform"}));
    assert_eq!(ok(&one)["clusters"][0]["version"], "1.31");
    let missing = server.call("aws_describe_eks", json!({"cluster_name": "nope"}));
    assert!(
        result_text(&missing).contains("`nope` was not found"),
        "{}",
        result_text(&missing)
    );

    let instance = peer.seeded["instance_ids"][0].as_str().unwrap();
    let metrics = server.call(
        "aws_cloudwatch_get_metrics",
        json!({"namespace": "AWS/EC2", "metric_name": "CPUUtilization", "dimensions": [{"name": "InstanceId", "value": instance}], "statistic": "Maximum", "period": 60, "minutes": 30}),
    );
    let points = ok(&metrics)["datapoints"].as_array().unwrap();
    assert!(!points.is_empty(), "{metrics}");
    assert!(points.iter().all(|p| p["value"].as_f64().unwrap() >= 10.0));

    let filtered = server.call(
        "aws_cloudwatch_get_logs",
        json!({"log_group": "/app/orders", "filter_pattern": "ERROR", "minutes": 60}),
    );
    let rows = ok(&filtered)["rows"].as_array().unwrap();
    assert!(
        rows.iter()
            .any(|r| r["message"].as_str().unwrap().contains("payment failed")),
        "{rows:?}"
    );
    let insights = server.call(
        "aws_cloudwatch_get_logs",
        json!({"log_group": "/app/orders", "query": "fields @timestamp, @message | sort @timestamp desc | limit 10", "minutes": 60}),
    );
    let found = ok(&insights);
    assert_eq!(found["mode"], "insights");
    assert!(!found["rows"].as_array().unwrap().is_empty(), "{found}");

    // Secrets in log lines are scrubbed, counted, and never stored.
    let all = server.call(
        "aws_cloudwatch_get_logs",
        json!({"log_group": "/app/orders", "minutes": 60}),
    );
    let text = all.to_string();
    for secret in ["AKIAIOSFODNN7EXAMPLE", "hunter2", "c2lnbmF0dXJl"] {
        assert!(!text.contains(secret), "{secret} leaked: {text}");
    }
    assert!(
        ok(&all)["secrets_scrubbed"].as_u64().unwrap() >= 3,
        "{text}"
    );
    let journal = sandbox.journal();
    let logs_event = journal
        .iter()
        .rev()
        .find(|e| e["action"] == "cloudwatch_get_logs")
        .unwrap();
    assert!(logs_event["secrets_scrubbed"].as_u64().unwrap() >= 3);
    assert!(
        journal.iter().all(|e| e["account"] == MOTO_ACCOUNT),
        "account found with STS at start"
    );
    let everything = sandbox.all_text() + &server.stderr();
    for secret in [
        "AKIAIOSFODNN7EXAMPLE",
        "hunter2",
        "testing-secret-never-logged",
    ] {
        assert!(!everything.contains(secret), "{secret} in journal or logs");
    }
}

#[test]
fn production_accounts_expose_only_metrics_and_logs() {
    let peer = moto();
    let sandbox = Sandbox::new(&format!(
        "[aws]\nproduction_accounts = [\"{MOTO_ACCOUNT}\"]\n"
    ));
    let proxy = RecordingProxy::start(&peer.url);
    let mut server = aws(&sandbox, proxy.url(), &[]);
    assert_eq!(
        tool_names(&mut server),
        ["aws_cloudwatch_get_metrics", "aws_cloudwatch_get_logs"]
    );
    let hidden = server.request(
        "tools/call",
        json!({"name": "aws_describe_instances", "arguments": {}}),
    );
    let unknown = server.request(
        "tools/call",
        json!({"name": "aws_terminate_instances", "arguments": {}}),
    );
    assert_eq!(hidden["error"]["code"], unknown["error"]["code"]);
    let denied = sandbox.journal().into_iter().last().unwrap();
    assert_eq!(denied["result"], "denied");
    assert_eq!(denied["decision"]["rule"], "aws.production_accounts");
    assert!(
        proxy
            .requests_to("POST", "/")
            .iter()
            .all(|r| !r.body.contains("DescribeInstances"))
    );
    let metrics = server.call(
        "aws_cloudwatch_get_metrics",
        json!({"namespace": "AWS/EC2", "metric_name": "CPUUtilization"}),
    );
    ok(&metrics);
}

#[test]
fn regions_and_accounts_outside_the_allowlists_are_refused_before_any_request() {
    let peer = moto();
    let sandbox = Sandbox::new(
        "[aws]\nallowed_regions = [\"us-east-1\"]\nallowed_accounts = [\"123456789012\"]\n",
    );
    let proxy = RecordingProxy::start(&peer.url);
    let mut server = aws(&sandbox, proxy.url(), &[]);
    let before = proxy.requests().len();
    let cases: &[(Value, &str)] = &[
        (
            json!({"region": "eu-west-1"}),
            "region eu-west-1 is not in aws.allowed_regions",
        ),
        (
            json!({"region": "xx-nowhere-9"}),
            "region xx-nowhere-9 is not in aws.allowed_regions",
        ),
        (json!({"region": "Mars"}), "not an AWS region name"),
        (
            json!({"account": "999999999999"}),
            "account 999999999999 is not in aws.allowed_accounts",
        ),
    ];
    for (args, expected) in cases {
        let r = server.call("aws_describe_rds", args.clone());
        assert_eq!(r["isError"], json!(true), "{args}");
        assert!(
            result_text(&r).contains(expected),
            "{args}: {}",
            result_text(&r)
        );
    }
    assert_eq!(proxy.requests().len(), before, "nothing was sent");
    let rules: Vec<Value> = sandbox
        .journal()
        .iter()
        .map(|e| e["decision"]["rule"].clone())
        .collect();
    assert!(rules.contains(&json!("aws.allowed_regions")), "{rules:?}");
    assert!(rules.contains(&json!("aws.allowed_accounts")), "{rules:?}");
    ok(&server.call("aws_describe_rds", json!({"region": "us-east-1"})));
    ok(&server.call("aws_describe_rds", json!({})));

    // Without an account allowlist, an account without a configured profile is refused too.
    let open = Sandbox::new("");
    let mut server = aws(&open, proxy.url(), &[]);
    let before = proxy.requests().len();
    let r = server.call("aws_describe_rds", json!({"account": "999999999999"}));
    assert!(
        result_text(&r).contains("no credentials for account 999999999999"),
        "{}",
        result_text(&r)
    );
    assert_eq!(proxy.requests().len(), before);
}

#[test]
fn bad_input_and_expired_credentials_are_said_plainly() {
    let peer = moto();
    let sandbox = Sandbox::new("[aws]\nmax_range_days = 30\nmax_datapoints = 100\n");
    let proxy = RecordingProxy::start(&peer.url);
    let mut server = aws(&sandbox, proxy.url(), &[]);

    let unknown = server.call(
        "aws_cloudwatch_get_metrics",
        json!({"namespace": "Acme/Nothing", "metric_name": "NoSuchMetric"}),
    );
    let s = ok(&unknown);
    assert_eq!(s["datapoints"], json!([]));
    assert!(s["notes"].to_string().contains("no datapoints"), "{s}");

    let decade = server.call(
        "aws_cloudwatch_get_metrics",
        json!({"namespace": "AWS/EC2", "metric_name": "CPUUtilization", "start_time": "2016-01-01T00:00:00Z"}),
    );
    let s = ok(&decade);
    let notes = s["notes"].to_string();
    assert!(
        notes.contains("cut to the last 30 days") && notes.contains("period raised"),
        "{notes}"
    );
    assert!(s["period_seconds"].as_u64().unwrap() >= 30 * 86400 / 100);

    proxy.inject(
        "/clusters",
        403,
        &[("x-amzn-errortype", "ExpiredTokenException")],
        r#"{"message":"The security token included in the request is expired"}"#,
        1,
    );
    let expired = server.call("aws_describe_eks", json!({}));
    let text = result_text(&expired);
    assert!(
        text.contains("ExpiredTokenException") && text.contains("aws sso login"),
        "{text}"
    );

    // Still serving.
    ok(&server.call("aws_describe_eks", json!({})));
}

#[test]
fn without_credentials_tools_list_and_calls_say_how_to_log_in() {
    let peer = moto();
    let sandbox = Sandbox::new("");
    let mut server = aws(
        &sandbox,
        &peer.url,
        &[("AWS_ACCESS_KEY_ID", ""), ("AWS_SECRET_ACCESS_KEY", "")],
    );
    assert_eq!(tool_names(&mut server).len(), 5);
    let r = server.call("aws_describe_instances", json!({}));
    assert_eq!(r["isError"], json!(true));
    assert!(
        result_text(&r).contains("aws sso login"),
        "{}",
        result_text(&r)
    );
}

#[test]
fn private_keys_split_across_log_events_leave_no_line_behind() {
    let peer = moto();
    let sandbox = Sandbox::new("");
    let mut server = aws(&sandbox, &peer.url, &[]);
    let key_lines: Vec<&str> = peer.seeded["key_lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    let body_start =
        chrono::DateTime::from_timestamp_millis(peer.seeded["key_body_start_ms"].as_i64().unwrap())
            .unwrap()
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    // (what, arguments, secrets found at least)
    let cases: Vec<(&str, Value, u64)> = vec![
        (
            "every event, streams interleaved",
            json!({"log_group": "/app/keys", "minutes": 60}),
            3,
        ),
        (
            "a window that starts inside the RSA key (no BEGIN line)",
            json!({"log_group": "/app/keys", "start_time": body_start}),
            3,
        ),
        (
            "a row limit that cuts the RSA key (no END line)",
            json!({"log_group": "/app/keys", "minutes": 60, "limit": 4}),
            1,
        ),
        (
            "Logs Insights, newest first",
            json!({"log_group": "/app/keys", "minutes": 60,
                   "query": "fields @timestamp, @message | sort @timestamp desc | limit 100"}),
            3,
        ),
    ];
    for (what, args, at_least) in cases {
        let result = server.call("aws_cloudwatch_get_logs", args);
        let found = ok(&result);
        let text = found.to_string();
        for line in &key_lines {
            // Any 16 characters of a key line would be a leak, not only the whole line.
            let piece = &line[..16.min(line.len())];
            assert!(!text.contains(piece), "{what}: `{piece}` leaked: {text}");
        }
        assert!(
            found["secrets_scrubbed"].as_u64().unwrap() >= at_least,
            "{what}: {found}"
        );
        assert!(text.contains("[REDACTED PRIVATE KEY]"), "{what}: {text}");
    }
    // What is not key material stays: the lines around the keys and the other stream.
    let all = server.call(
        "aws_cloudwatch_get_logs",
        json!({"log_group": "/app/keys", "minutes": 60}),
    );
    let messages: Vec<&str> = ok(&all)["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["message"].as_str().unwrap())
        .collect();
    for kept in peer.seeded["kept_lines"].as_array().unwrap() {
        assert!(
            messages.contains(&kept.as_str().unwrap()),
            "{kept} in {messages:?}"
        );
    }
    let everything = sandbox.all_text() + &server.stderr();
    for line in &key_lines {
        assert!(
            !everything.contains(&line[..16.min(line.len())]),
            "journal or logs"
        );
    }
}

#[test]
fn aws_error_codes_decide_what_the_caller_is_told() {
    let peer = moto();
    let sandbox = Sandbox::new("");
    let proxy = RecordingProxy::start(&peer.url);
    let mut server = aws(&sandbox, proxy.url(), &[]);
    // (error type AWS sends, its message (written to mislead), what the caller must read,
    // times sent: the SDK retries throttling three times)
    let cases: &[(&str, &str, &str, usize)] = &[
        (
            "AccessDeniedException",
            "User is not authorized",
            "may not make this read",
            1,
        ),
        (
            "ThrottlingException",
            "expired credentials ResourceNotFoundException",
            "throttling",
            3,
        ),
        (
            "InvalidParameterException",
            "The security token included in the request is expired",
            "fix the arguments",
            1,
        ),
    ];
    for (code, message, expected, times) in cases {
        proxy.inject(
            "/clusters",
            400,
            &[("x-amzn-errortype", code)],
            &format!(r#"{{"message":"{message}"}}"#),
            *times,
        );
        let r = server.call("aws_describe_eks", json!({}));
        let text = result_text(&r);
        assert_eq!(r["isError"], json!(true), "{code}");
        assert!(text.contains(expected), "{code}: {text}");
        assert!(!text.contains("aws sso login"), "{code}: {text}");
    }
    let missing = server.call("aws_describe_eks", json!({"cluster_name": "nope"}));
    assert!(
        result_text(&missing).contains("`nope` was not found"),
        "{}",
        result_text(&missing)
    );
    let missing = server.call(
        "aws_cloudwatch_get_logs",
        json!({"log_group": "/no/such/group", "minutes": 5}),
    );
    assert!(
        result_text(&missing).contains("log group `/no/such/group` was not found"),
        "{}",
        result_text(&missing)
    );
}

#[test]
fn a_period_outside_what_cloudwatch_accepts_is_refused_before_any_request() {
    let peer = moto();
    let sandbox = Sandbox::new("");
    let proxy = RecordingProxy::start(&peer.url);
    let mut server = aws(&sandbox, proxy.url(), &[]);
    let before = proxy.requests().len();
    for period in [7u64, 90, 4_294_967_040, 2_678_460] {
        let r = server.call(
            "aws_cloudwatch_get_metrics",
            json!({"namespace": "AWS/EC2", "metric_name": "CPUUtilization", "period": period}),
        );
        assert!(
            result_text(&r).contains("is not one CloudWatch accepts"),
            "{period}: {}",
            result_text(&r)
        );
    }
    assert_eq!(proxy.requests().len(), before, "nothing was sent");
    let high_resolution = server.call(
        "aws_cloudwatch_get_metrics",
        json!({"namespace": "AWS/EC2", "metric_name": "CPUUtilization", "period": 10, "minutes": 5}),
    );
    assert_eq!(ok(&high_resolution)["period_seconds"], 10);
}

/// Every read names the account it used in the session's flow record (shared by the servers
/// of one Claude Code session, under the state directory), as a private resource; a refused
/// call (a region outside the allowlist) reads nothing and records nothing.
#[test]
fn reads_record_the_account_in_the_sessions_flow_record() {
    let peer = moto();
    let sandbox = Sandbox::new("[aws]\nallowed_regions = [\"us-east-1\"]\n");
    let proxy = RecordingProxy::start(&peer.url);
    let session = testkit::uuid();
    let state = sandbox.state_home();
    let record_path = Path::new(&state)
        .join("claude-enterprise/sessions")
        .join(format!("{session}.flow.json"));
    let mut server = aws(
        &sandbox,
        proxy.url(),
        &[("CLAUDE_CODE_SESSION_ID", session.as_str())],
    );
    let refused = server.call("aws_describe_rds", json!({"region": "eu-west-1"}));
    assert!(
        result_text(&refused).contains("aws.allowed_regions"),
        "{}",
        result_text(&refused)
    );
    assert!(
        !record_path.exists(),
        "a refused call read nothing: {}",
        std::fs::read_to_string(&record_path).unwrap_or_default()
    );
    ok(&server.call("aws_describe_instances", json!({})));
    let record: Value = serde_json::from_slice(&std::fs::read(&record_path).unwrap()).unwrap();
    assert_eq!(
        record["read"],
        json!({format!("aws:{MOTO_ACCOUNT}"): "private"}),
        "{record}"
    );
    assert_eq!(
        record["untrusted"],
        json!({}),
        "AWS declares no untrusted text"
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&record_path)
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);
}

/// Log rows past the budget are left for the next call: each row bounded (a huge message cut,
/// the row marked), the rows that fit shown, `truncated` and `next_start_time` given, and the
/// next call starts there.
#[test]
fn log_rows_past_the_budget_are_left_for_next_start_time() {
    let peer = moto();
    let sandbox = Sandbox::new("");
    let proxy = RecordingProxy::start(&peer.url);
    let mut server = aws(&sandbox, proxy.url(), &[]);
    let start = chrono::Utc::now().timestamp_millis() - 30 * 60_000;
    let events: Vec<Value> = (0..200)
        .map(|i| {
            let size = if i == 0 { 200_000 } else { 3_000 };
            json!({"logStreamName": "web-1", "timestamp": start + i * 1_000,
                "ingestionTime": start + i * 1_000, "eventId": i.to_string(),
                "message": format!("event {i} {}", "\"x\" ".repeat(size / 4))})
        })
        .collect();
    let answer = json!({"events": events, "searchedLogStreams": []}).to_string();
    let json_type = [("content-type", "application/x-amz-json-1.1")];
    proxy.inject("/", 200, &json_type, &answer, 1);
    let first = server.call(
        "aws_cloudwatch_get_logs",
        json!({"log_group": "/app/orders", "minutes": 60, "limit": 200}),
    );
    let found = ok(&first).clone();
    let rows = found["rows"].as_array().unwrap();
    assert_eq!(found["truncated"], true, "{found}");
    assert!((2..200).contains(&rows.len()), "{}", rows.len());
    assert_eq!(rows[0]["truncated"], true, "the huge message is cut");
    assert!(rows[0]["message"].as_str().unwrap().starts_with("event 0 "));
    let next = found["next_start_time"].as_str().unwrap().to_owned();
    let next_ms = chrono::DateTime::parse_from_rfc3339(&next)
        .unwrap()
        .timestamp_millis();
    assert_eq!(
        next_ms,
        start + rows.len() as i64 * 1_000,
        "the first row left out"
    );

    proxy.inject("/", 200, &json_type, &answer, 1);
    let second = server.call(
        "aws_cloudwatch_get_logs",
        json!({"log_group": "/app/orders", "start_time": next, "limit": 200}),
    );
    ok(&second);
    let asked = proxy.requests();
    let body: Value = serde_json::from_str(&asked.last().unwrap().body).unwrap();
    assert_eq!(body["startTime"], json!(next_ms), "{body}");
    assert!(
        sandbox
            .journal()
            .iter()
            .all(|e| e.get("over_budget").is_none())
    );
}
