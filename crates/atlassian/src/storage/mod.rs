//! Confluence's storage format (XHTML with `ac:` and `ri:` elements) <-> Markdown.
//!
//! [`to_markdown`] renders a page body for a model to read; [`from_markdown`] turns a model's
//! Markdown into a body to write; [`lossy()`] names what a body holds that Markdown cannot carry,
//! so that a server can refuse to overwrite it with a Markdown round trip.
//!
//! The Markdown conventions are the ones the ADF and wiki markup converters share: GFM tables;
//! fenced code with a language (the `code` macro); the `info` / `tip` / `note` / `warning`
//! macros as GitHub alerts (`> [!NOTE]`, `> [!TIP]`, `> [!IMPORTANT]`, `> [!WARNING]`); task
//! lists (`ac:task-list`); links; images `![alt](file-or-url)`; mentions
//! `[@Name](mention:ACCOUNT_ID)`; status lozenges `[TEXT](status:COLOUR)`; emoticons
//! `:shortname:`.
//!
//! What Markdown carries, converts both ways and is stable over a round trip (checked by
//! `tests/properties.rs`), but for emphasis that touches a letter or digit outside it with
//! punctuation inside it (`A<strong>&amp;</strong>`), which Markdown cannot write: it reads
//! back as literal markers. Everything else
//! (other macros, layouts, images, mentions, status lozenges, links to Confluence content,
//! emoticons, styles, merged cells, block content in table cells, ...) is still rendered
//! readably, and named by [`lossy()`]. Cosmetic table attributes (`colgroup` widths, Cloud's
//! `data-layout` and `local-id`) are neither carried nor reported.
//!
//! Not here: HTTP, policy, ADF (see [`crate::adf`]) or wiki markup (see [`crate::wiki`]).
//! Raw HTML in Markdown is written as text, never as markup: a model cannot smuggle macros
//!
//! Layout: `xml` parses a body into a tree; `read` renders that tree as Markdown
//! ([`to_markdown`]); `lossy` names what it holds that Markdown cannot carry
//! ([`lossy()`]); `write` turns Markdown into a body ([`from_markdown`]). This file holds
//! the public types.

mod lossy;
mod read;
#[cfg(test)]
mod tests;
mod write;
mod xml;

pub use lossy::lossy;
pub use read::to_markdown;
pub use write::from_markdown;

/// A storage body that is not well-formed XHTML.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the storage body is not well-formed XHTML at byte {position}: {message}")]
pub struct StorageError {
    /// Byte offset in the body where parsing failed.
    pub position: u64,
    /// Which rule the body breaks, for a caller that answers differently by kind.
    pub kind: StorageErrorKind,
    /// What is wrong, for a person (the parser's message, where it has one).
    pub message: String,
}

/// The ways a storage body can fail to parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StorageErrorKind {
    /// Not XML: an unclosed or mismatched tag, a bad attribute, an unknown entity, ...
    Syntax,
    /// The body goes on after it has ended: an end tag that closes nothing the body opened
    /// (`<p>x</p></storage-root><junk`). Whatever follows it would otherwise be ignored,
    /// and a check of the body would not see what a writer of it meant.
    TrailingContent,
    /// A character XML 1.0 does not allow (a control character other than tab, line feed and
    /// carriage return, or U+FFFE / U+FFFF), written or as a character reference.
    ForbiddenCharacter,
    /// An XML declaration or a document type, which a body (a fragment of a page) cannot hold.
    Declaration,
}

/// One kind of content that Markdown cannot carry, and how often the body holds it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Lossy {
    /// What it is, for a person: "macro `toc`", "page layout", "image", ...
    pub what: String,
    /// How many times it occurs.
    pub count: usize,
}
