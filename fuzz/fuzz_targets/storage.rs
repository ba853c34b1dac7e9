//! Storage format both ways: a body Confluence sends (parsed, rendered, checked for loss), and
//! Markdown a model writes, whose body must always parse.
#![no_main]

use atlassian::storage;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    assert_eq!(
        storage::to_markdown(text).err(),
        storage::lossy(text).err(),
        "both read the body with one parser"
    );
    let body = storage::from_markdown(text);
    if let Err(error) = storage::to_markdown(&body) {
        panic!("{text:?} wrote {body:?}, which does not parse: {error}");
    }
});
