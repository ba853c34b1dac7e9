//! The binary calls no mutating AWS operation and no credential-returning one.
//!
//! Every `.rs` file under `src/` (walked recursively, so a new module cannot escape) is read as
//! Rust tokens, comments dropped. Each identifier, and each word of each string literal, that
//! names an operation of an AWS SDK crate this crate depends on must be in the read allowlist:
//! its method (`put_metric_data`), its module (`operation::put_metric_data`) or one of its types
//! (`PutMetricData`, `PutMetricDataInput`, `PutMetricDataFluentBuilder`). Tokens, not call
//! shapes: a call split over lines, made through `.clone()`, an alias, a helper, a function
//! pointer or `Client::op(&client)` names its operation all the same. Macros that build
//! identifiers (`paste!`, `concat_idents!`) would hide one, so they are refused too.
//!
//! The operations come from the SDK crates themselves (one module per operation under
//! `src/operation/`), found through `cargo metadata`: a new SDK version's new operations are
//! covered without editing this file.

// A test that cannot set up fails loudly: unwrap and expect are the point here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    collections::{BTreeMap, BTreeSet},
    path::{Path, PathBuf},
};

use serde_json::Value;

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

/// Macros that make identifiers out of pieces.
const IDENTIFIER_MACROS: &[&str] = &["paste", "concat_idents"];

/// The platform rustc builds for by default (`rustc -vV`'s host).
fn host_triple() -> String {
    let out = std::process::Command::new("rustc")
        .arg("-vV")
        .output()
        .expect("rustc runs");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .expect("rustc -vV names its host")
        .to_owned()
}

/// The operations of the AWS SDK crates aws-mcp depends on: operation -> crate.
fn sdk_operations() -> BTreeMap<String, String> {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
    // Offline, only this platform's packages: a build downloads no others (such as
    // android_system_properties), so a fresh machine has nothing more.
    let output = std::process::Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--offline",
            "--filter-platform",
            &host_triple(),
            "--manifest-path",
        ])
        .arg(&manifest)
        .output()
        .expect("cargo metadata runs");
    assert!(
        output.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: Value = serde_json::from_slice(&output.stdout).unwrap();
    let packages = metadata["packages"].as_array().unwrap();
    let id_of = |name: &str| {
        packages
            .iter()
            .find(|p| {
                p["name"] == name && p["manifest_path"].as_str() == Some(manifest.to_str().unwrap())
            })
            .map(|p| p["id"].clone())
            .unwrap_or_else(|| panic!("{name} not in cargo metadata"))
    };
    let ours = id_of("aws-mcp");
    let node = metadata["resolve"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["id"] == ours)
        .expect("aws-mcp in the resolve graph");
    let mut operations = BTreeMap::new();
    let mut crates = Vec::new();
    for dep in node["deps"].as_array().unwrap() {
        let package = packages.iter().find(|p| p["id"] == dep["pkg"]).unwrap();
        let name = package["name"].as_str().unwrap();
        if !name.starts_with("aws-sdk-") {
            continue;
        }
        let dir = Path::new(package["manifest_path"].as_str().unwrap())
            .parent()
            .unwrap()
            .join("src/operation");
        let entries = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{name}: no operation modules at {}: {e}", dir.display()));
        for entry in entries {
            let file = entry.unwrap().file_name().into_string().unwrap();
            let op = file.trim_end_matches(".rs").to_owned();
            operations.insert(op, name.to_owned());
        }
        crates.push(name.to_owned());
    }
    // The crates this server is built on; a missing one means the lookup above broke.
    for expected in [
        "aws-sdk-sts",
        "aws-sdk-cloudwatch",
        "aws-sdk-cloudwatchlogs",
        "aws-sdk-ec2",
        "aws-sdk-rds",
        "aws-sdk-eks",
    ] {
        assert!(
            crates.iter().any(|c| c == expected),
            "{expected} not found in {crates:?}"
        );
    }
    operations
}

/// A word of the source: an identifier (raw identifiers unprefixed) or a word inside a string
/// literal, and whether a `!` follows it (a macro call).
#[derive(Debug)]
struct Word {
    text: String,
    line: usize,
    macro_call: bool,
}

/// The identifiers and string-literal words of Rust `source`, comments skipped.
fn words(source: &str) -> Vec<Word> {
    let b = source.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let newlines: Vec<usize> = source
        .bytes()
        .enumerate()
        .filter(|(_, c)| *c == b'\n')
        .map(|(i, _)| i)
        .collect();
    let line_at = |i: usize| newlines.partition_point(|n| *n < i) + 1;
    let is_ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let string_words = |text: &str, at: usize, out: &mut Vec<Word>| {
        for word in text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
            if !word.is_empty() {
                out.push(Word {
                    text: word.to_owned(),
                    line: line_at(at),
                    macro_call: false,
                });
            }
        }
    };
    while i < b.len() {
        match b[i] {
            b'/' if b.get(i + 1) == Some(&b'/') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let mut depth = 0;
                while i < b.len() {
                    if b[i..].starts_with(b"/*") {
                        depth += 1;
                        i += 2;
                    } else if b[i..].starts_with(b"*/") {
                        depth -= 1;
                        i += 2;
                        if depth == 0 {
                            break;
                        }
                    } else {
                        i += 1;
                    }
                }
            }
            // Raw strings: r"..", r#".."#, br#".."#.
            b'r' | b'b'
                if {
                    let mut j = i + usize::from(b[i] == b'b');
                    if b.get(j) == Some(&b'r') {
                        j += 1;
                        while b.get(j) == Some(&b'#') {
                            j += 1;
                        }
                        b.get(j) == Some(&b'"') && (i == 0 || !is_ident(b[i - 1]))
                    } else {
                        false
                    }
                } =>
            {
                let mut j = i + usize::from(b[i] == b'b') + 1;
                let hashes = b[j..].iter().take_while(|c| **c == b'#').count();
                j += hashes + 1;
                let close: Vec<u8> = std::iter::once(b'"')
                    .chain(std::iter::repeat_n(b'#', hashes))
                    .collect();
                let end = b[j..]
                    .windows(close.len())
                    .position(|w| w == close.as_slice())
                    .map_or(b.len(), |p| j + p);
                string_words(&source[j..end], j, &mut out);
                i = (end + close.len()).min(b.len());
            }
            b'"' => {
                let start = i + 1;
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                string_words(&source[start..i.min(b.len())], start, &mut out);
                i += 1;
            }
            b'\'' => {
                // A char literal ('a', '\n', '\'') or a lifetime ('a).
                if b.get(i + 1) == Some(&b'\\') {
                    i += 2;
                    while i < b.len() && b[i] != b'\'' {
                        i += 1;
                    }
                    i += 1;
                } else if b.get(i + 2) == Some(&b'\'') {
                    i += 3;
                } else {
                    i += 1;
                    while i < b.len() && is_ident(b[i]) {
                        i += 1;
                    }
                }
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let mut start = i;
                if b[i..].starts_with(b"r#") && b.get(i + 2).is_some_and(|c| is_ident(*c)) {
                    start = i + 2;
                }
                i = start;
                while i < b.len() && is_ident(b[i]) {
                    i += 1;
                }
                let mut next = i;
                while next < b.len() && b[next].is_ascii_whitespace() {
                    next += 1;
                }
                out.push(Word {
                    text: source[start..i].to_owned(),
                    line: line_at(start),
                    macro_call: b.get(next) == Some(&b'!'),
                });
            }
            c if c.is_ascii_digit() => {
                while i < b.len() && is_ident(b[i]) {
                    i += 1;
                }
            }
            _ => i += 1,
        }
    }
    out
}

/// `PutMetricDataInput` -> `put_metric_data_input`; `DescribeDBInstances` ->
/// `describe_db_instances` (the SDK's own conversion of acronyms).
fn snake_case(word: &str) -> String {
    let chars: Vec<char> = word.chars().collect();
    let mut out = String::new();
    for (i, c) in chars.iter().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            let prev = chars[i - 1];
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase());
            if prev.is_ascii_lowercase()
                || prev.is_ascii_digit()
                || (prev.is_ascii_uppercase() && next_lower)
            {
                out.push('_');
            }
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

/// The SDK operation `word` names, if any: the operation itself, or one of its types.
fn operation_named<'a>(word: &str, operations: &'a BTreeMap<String, String>) -> Option<&'a str> {
    let snake = if word.bytes().any(|c| c.is_ascii_uppercase()) {
        snake_case(word)
    } else {
        word.to_owned()
    };
    let candidates = [
        snake.as_str(),
        snake.strip_suffix("_input").unwrap_or(""),
        snake.strip_suffix("_output").unwrap_or(""),
        snake.strip_suffix("_fluent_builder").unwrap_or(""),
        snake.strip_suffix("_error").unwrap_or(""),
    ];
    candidates
        .into_iter()
        .find_map(|c| operations.get_key_value(c).map(|(k, _)| k.as_str()))
}

/// What `source` does that the read-only rule forbids, one line each.
fn violations(source: &str, operations: &BTreeMap<String, String>) -> Vec<String> {
    let mut found = Vec::new();
    for word in words(source) {
        if word.macro_call && IDENTIFIER_MACROS.contains(&word.text.as_str()) {
            found.push(format!(
                "line {}: `{}!` builds identifiers the check cannot see",
                word.line, word.text
            ));
            continue;
        }
        if let Some(op) = operation_named(&word.text, operations)
            && !READ_OPERATIONS.contains(&op)
        {
            found.push(format!(
                "line {}: `{}` names {} operation `{op}`, not in the read allowlist",
                word.line, word.text, operations[op]
            ));
        }
    }
    found
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn the_allowlist_is_reads_the_sdk_has() {
    let operations = sdk_operations();
    assert!(operations.len() > 500, "{} operations", operations.len());
    for op in READ_OPERATIONS {
        assert!(operations.contains_key(*op), "{op} is no SDK operation");
        assert!(
            ["get_", "describe_", "list_", "filter_", "start_query"]
                .iter()
                .any(|p| op.starts_with(p)),
            "{op} does not read"
        );
        assert!(
            !CREDENTIAL_OPERATIONS.contains(op),
            "{op} returns credentials"
        );
    }
}

#[test]
fn every_source_file_calls_only_read_operations() {
    let operations = sdk_operations();
    let mut files = Vec::new();
    rust_files(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut files,
    );
    assert!(files.len() >= 5, "{files:?}");
    let mut used = BTreeSet::new();
    let mut problems = Vec::new();
    for file in &files {
        let source = std::fs::read_to_string(file).unwrap();
        for word in words(&source) {
            if let Some(op) = operation_named(&word.text, &operations) {
                used.insert(op.to_owned());
            }
        }
        problems.extend(
            violations(&source, &operations)
                .into_iter()
                .map(|v| format!("{}: {v}", file.display())),
        );
    }
    assert!(problems.is_empty(), "{problems:#?}");
    // The scan sees the calls the crate makes (it would pass vacuously otherwise).
    for op in READ_OPERATIONS {
        assert!(used.contains(*op), "{op} not seen in src/: {used:?}");
    }
}

/// The scanner itself, on snippets: each must be flagged or must pass.
#[test]
fn the_scanner_flags_calls_however_written() {
    let operations = sdk_operations();
    let cases: &[(&str, bool)] = &[
        ("client.put_metric_data().send().await", true),
        (
            "client\n    .clone()\n    .put_metric_data()\n    .send()",
            true,
        ),
        (
            "let c = client.clone();\nc.delete_log_group().log_group_name(g)",
            true,
        ),
        ("aws_sdk_cloudwatch::Client::put_metric_data(&client)", true),
        ("let op = aws_sdk_ec2::Client::terminate_instances;", true),
        (
            "use aws_sdk_ec2::operation::terminate_instances::TerminateInstancesInput;",
            true,
        ),
        ("fn f(b: PutMetricDataFluentBuilder) {}", true),
        ("fn f(e: DeleteDBInstanceError) {}", true),
        ("sts.get_session_token().send()", true),
        ("client.r#put_metric_data()", true),
        ("let f = |c: &Client| c.reboot_instances();", true),
        ("paste::paste! { client.[<put_ metric_data>]() }", true),
        ("let action = \"TerminateInstances\";", true),
        ("let action = r#\"StopInstances\"#;", true),
        ("// client.put_metric_data()", false),
        (
            "/* client.delete_log_group() /* nested */ */ fn x() {}",
            false,
        ),
        ("/// Calls `PutMetricData` never.\nfn x() {}", false),
        ("client.describe_instances().send()", false),
        (
            "aws_sdk_cloudwatch::Client::new(sdk).get_metric_data()",
            false,
        ),
        ("let describe_instances_limit = 5;", false),
        ("fn terminate<'a>(x: &'a str) -> char { 'x' }", false),
        ("let s = \"aws_describe_instances\";", false),
    ];
    for (source, flagged) in cases {
        let found = violations(source, &operations);
        assert_eq!(!found.is_empty(), *flagged, "{source:?}: {found:?}");
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
