//! Wiki markup both ways, and the module's claim: what `to_markdown` writes survives
//! Markdown -> wiki -> Markdown unchanged.
#![no_main]

use atlassian::wiki;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let markdown = wiki::to_markdown(text);
    assert_eq!(
        wiki::to_markdown(&wiki::from_markdown(&markdown)),
        markdown,
        "wiki input {text:?}"
    );
    wiki::from_markdown(text);
});
