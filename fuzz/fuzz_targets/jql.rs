//! jira-mcp's JQL reader on any query a model sends: tokenizer, field reading, ORDER BY split
//! and the project allowlist wrapping must not panic.
#![no_main]

use jira_mcp::jql;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(query) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(tokens) = jql::tokenize(query) else {
        return;
    };
    let _ = jql::read(&tokens);
    jql::referenced_fields(&tokens);
    jql::split_order_by(query, &tokens);
    jql::restrict_to_projects(query, &tokens, &["PROJ".to_owned(), "OPS".to_owned()]);
});
