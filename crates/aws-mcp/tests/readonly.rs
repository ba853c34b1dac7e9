//! The binary contains no mutating AWS operation and no credential-returning one: every SDK
//! operation the crate's code calls is in the read allowlist, and no tool name mutates.

use regex::Regex;

/// Every SDK operation aws-mcp may call, each a read.
const READ_OPERATIONS: &[&str] = &[
    "get_caller_identity",
    "get_metric_data",
    "start_query",
    "get_query_results",
    "filter_log_events",
    "describe_instances",
    "describe_db_instances",
    "list_clusters",
    "describe_cluster",
];

/// Reads that return credentials: never called, never exposed.
const CREDENTIAL_OPERATIONS: &[&str] = &[
    "assume_role",
    "assume_role_with_saml",
    "assume_role_with_web_identity",
    "get_session_token",
    "get_federation_token",
    "get_role_credentials",
    "get_password_data",
    "get_secret_value",
    "get_parameter",
    "generate_db_auth_token",
    "get_authorization_token",
];

#[test]
fn only_read_operations_are_called() {
    let source: String = ["src/lib.rs", "src/tools.rs", "src/main.rs"]
        .iter()
        .map(|f| std::fs::read_to_string(format!("{}/{f}", env!("CARGO_MANIFEST_DIR"))).unwrap())
        .collect();
    // An operation is the first method called on an SDK client.
    let calls =
        Regex::new(r"(?:Client::new\([^)]*\)|(?-u:\b)client)(?-u:\s)*\.(?-u:\s)*([a-z_]+)\(")
            .unwrap();
    let called: Vec<&str> = calls
        .captures_iter(&source)
        .map(|c| c.get(1).unwrap().as_str())
        .collect();
    assert!(
        called.len() >= READ_OPERATIONS.len(),
        "found only {called:?}"
    );
    for operation in &called {
        assert!(
            READ_OPERATIONS.contains(operation),
            "{operation} is not a read operation"
        );
    }
    for operation in CREDENTIAL_OPERATIONS {
        assert!(
            !source.contains(&format!(".{operation}(")),
            "{operation} must never be called"
        );
    }
}

#[test]
fn the_tool_table_holds_reads_only() {
    let tools = aws_mcp::tools::specs();
    assert_eq!(tools.len(), 5);
    for tool in &tools {
        assert_eq!(
            tool.access,
            governance::server::Access::Read,
            "{}",
            tool.name
        );
        for verb in [
            "create",
            "delete",
            "put",
            "update",
            "modify",
            "terminate",
            "stop",
            "start",
            "reboot",
            "assume",
            "token",
            "credential",
            "secret",
        ] {
            assert!(
                !tool.name.contains(verb),
                "{} looks mutating or credential-bearing",
                tool.name
            );
        }
    }
}
