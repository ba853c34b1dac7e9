//! ADF both ways: the input as a JSON document (what Jira Cloud sends), and as Markdown (what a
//! model writes), whose ADF is read back. Panics and non-documents are the findings.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(doc) = serde_json::from_str::<serde_json::Value>(text) {
        let markdown = atlassian::adf::to_markdown(&doc);
        assert_eq!(atlassian::adf::from_markdown(&markdown)["type"], "doc");
    }
    let doc = atlassian::adf::from_markdown(text);
    assert_eq!(doc["type"], "doc");
    atlassian::adf::to_markdown(&doc);
});
