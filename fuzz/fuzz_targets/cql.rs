//! confluence-mcp's CQL confinement (tokenizer included) on any query a model sends.
#![no_main]

use confluence_mcp::cql;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(query) = std::str::from_utf8(data) else {
        return;
    };
    let _ = cql::confine(query, &["HR".to_owned(), "LEGAL".to_owned()]);
});
