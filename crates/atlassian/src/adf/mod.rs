//! Atlassian Document Format (Jira Cloud descriptions and comments) <-> Markdown.
//!
//! Markdown is what the model reads and writes; ADF is what Jira Cloud stores. The conventions,
//! shared with [`crate::wiki`] and [`crate::storage`]:
//!
//! | ADF | Markdown |
//! |---|---|
//! | heading, paragraph, bullet / ordered list, blockquote, rule, hard break | the same in CommonMark |
//! | strong, em, strike, code, link marks | `**`, `*`, `~~`, `` ` ``, `[text](url)` |
//! | table | a GFM pipe table (first row as header) |
//! | codeBlock with language | a fenced block with the language |
//! | taskList / taskItem | `- [ ]` / `- [x]` |
//! | panel info, tip, success, note, warning, error | `> [!NOTE]`, `> [!TIP]`, `> [!TIP]`, `> [!IMPORTANT]`, `> [!WARNING]`, `> [!CAUTION]` |
//! | mention | `[@Jane Doe](mention:ACCOUNT_ID)` |
//! | status lozenge | `[IN PROGRESS](status:blue)` |
//! | emoji | `:shortname:` |
//! | inline / block card | `<https://...>` |
//! | media | `![alt](attachment:ID)` (read only: written back as a link) |
//!
//! Marks Markdown has no syntax for (underline, colour, sub/superscript) keep their text.
//!
//! What [`to_markdown`] writes for the nodes in this table survives Markdown -> ADF ->
//! Markdown unchanged, and a model's Markdown is normalised by one trip (both checked by
//! `tests/properties.rs`). Markdown cannot write emphasis that touches a letter or digit
//! outside it with punctuation inside it, from the text (`**:**0`) or from a second mark
//! (`0**~~a~~**`): it reads back as literal markers. A hard break in a table cell is a space (a GFM cell is
//! one line).
//!
//! Layout: `read` turns ADF into Markdown ([`to_markdown`]); `write` turns Markdown into
//! ADF ([`from_markdown`]). This file holds what both halves look up in a node. Not here: the
//! HTTP calls that fetch or store a document (see [`crate::client`]).

mod read;
#[cfg(test)]
mod tests;
mod write;

use serde_json::Value;

pub use read::to_markdown;
pub use write::{from_markdown, markdown_options};

/// A node's children (`content`), empty when it has none or they are not an array.
fn content(node: &Value) -> &[Value] {
    node["content"].as_array().map_or(&[], Vec::as_slice)
}

/// One of a node's `attrs`, `Null` when absent.
fn attr<'a>(node: &'a Value, key: &str) -> &'a Value {
    &node["attrs"][key]
}

/// The length of the shortname after a `:` that opens an emoji (`smile` in `:smile:`), if
/// the text after it is one: what Markdown -> ADF reads as an emoji, and ADF -> Markdown
/// escapes in text.
fn emoji_name_len(after_colon: &str) -> Option<usize> {
    let name_len = after_colon
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '+' | '-'))
        .count();
    let is_emoji = name_len > 0
        && after_colon.starts_with(|c: char| c.is_ascii_lowercase())
        && after_colon[name_len..].starts_with(':');
    is_emoji.then_some(name_len)
}
