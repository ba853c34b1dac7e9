//! Jira Data Center's wiki markup (also Confluence's wiki markup) to and from Markdown.
//!
//! jira-mcp reads descriptions and comments of a Data Center site as Markdown
//! ([`to_markdown`]) and writes them from Markdown ([`from_markdown`]). The Markdown follows
//! the conventions the ADF and storage-format converters share:
//!
//! | wiki markup                                     | Markdown                                  |
//! |-------------------------------------------------|-------------------------------------------|
//! | `h1.` .. `h6.`                                  | `#` .. `######`                           |
//! | `*bold*`, `_italic_`, `-strike-`, `{{mono}}`    | `**bold**`, `*italic*`, `~~strike~~`, `` `mono` `` |
//! | `+underline+`, `^sup^`, `~sub~`, `{color:red}x{color}` | the text alone (Markdown has none)  |
//! | `[text\|https://x]`, `[https://x]`, bare URLs   | `[text](https://x)`, `<https://x>`        |
//! | `[~jdoe]`                                       | `[@jdoe](mention:jdoe)`                   |
//! | `*`, `**`, `#`, `##`, `#*` lists                | nested `- ` and `1. ` lists               |
//! | `\[x\]`, `\[ \]` opening a list item            | task list items `- [x]`, `- [ ]`          |
//! | `\|\|h\|\|` header row, `\|a\|b\|` rows         | GFM pipe table (an empty header row when the wiki table has none) |
//! | `{code:java}`, `{code}`, `{noformat}`           | fenced code with the language (none for `noformat`) |
//! | `{quote}`, `bq.`                                | `> ` blockquote                           |
//! | `{info}`, `{tip}`, `{note}`, `{warning}`        | `> [!NOTE]`, `> [!TIP]`, `> [!IMPORTANT]`, `> [!WARNING]` (`> [!CAUTION]` -> `{warning}`) |
//! | `{panel:title=X}`                               | blockquote opening with `**X**`           |
//! | `----`                                          | `---`                                     |
//! | `\\`, and a newline inside a paragraph (Jira shows both as line breaks) | hard break (a soft break becomes a space) |
//! | `:)` `:(` `:D` `(y)` `(n)` `(i)` `(/)` `(x)` `(!)` | `:smile:` `:disappointed:` `:grinning:` `:thumbsup:` `:thumbsdown:` `:information_source:` `:white_check_mark:` `:x:` `:warning:` |
//! | `!image.png!`, `!image.png\|thumbnail!`         | `![](image.png)`                          |
//!
//! Characters that would be markup on the other side are escaped (a literal `*` in Markdown
//! text becomes `\*` in wiki markup, a literal `[` in wiki text becomes `\[` in Markdown). Code
//! blocks are copied verbatim in both directions. What [`to_markdown`] writes survives
//! Markdown -> wiki -> Markdown unchanged, but for the cases listed next.
//!
//! Not in scope, or lossy by design:
//! - other macros (`{anchor}`, `{toc}`, ...) and `[page]` links without a URL stay literal
//!   text; link tooltips, image options, panel styles and a code block's title are dropped;
//! - blocks (code, quotes, tables) inside a Markdown list item are written after the item's
//!   line, which ends the list in wiki markup; a header cell outside the first row becomes bold
//!   (unless its text starts or ends with punctuation, which bold may not survive next to);
//! - the quote macro does not nest in itself: a Markdown quote inside a quote is a `{panel}`
//!   (`bq.` when it is one paragraph), and one level further down it is flattened; an alert
//!   inside the same kind of alert is flattened too;
//! - control characters (NUL included) read as U+FFFD: Markdown cannot hold NUL, and the
//!   others would end a URL in the middle;
//! - wiki markup cannot escape a backslash (`\\` is a line break), so a literal backslash in
//!   Markdown text right before a markup character escapes that character in Jira;
//! - a URL right after a literal backslash is written bare (a `[` there would read as escaped),
//!   and nothing in wiki markup ends a bare URL: text that follows it without a space and could
//!   continue it joins the URL on the way back (`\https://x.y/a.{color}b` reads as
//!   `\\<https://x.y/a>.b`, which is written `\https://x.y/a.b`, one URL);
//! - Markdown emphasis inside a word (`foo**bar**`) is written as wiki markup Jira only renders
//!   at word boundaries; code block languages are passed through even where Jira's code macro
//!   does not know them.
//!
//! Layout: `read` (blocks) and `inline` (text within a block) turn wiki markup into
//! Markdown; `write` turns Markdown into wiki markup. This file holds what both directions
//! must agree on: the emoticons, and where a URL written as text starts and ends. Not here:
//! ADF (see [`crate::adf`]) or the storage format (see [`crate::storage`]).

mod inline;
mod read;
#[cfg(test)]
mod tests;
mod write;

pub use read::to_markdown;
pub use write::from_markdown;

/// Jira's emoticons and the Markdown shortcodes they become.
const EMOTICONS: [(&str, &str); 9] = [
    (":)", "smile"),
    (":(", "disappointed"),
    (":D", "grinning"),
    ("(y)", "thumbsup"),
    ("(n)", "thumbsdown"),
    ("(i)", "information_source"),
    ("(/)", "white_check_mark"),
    ("(x)", "x"),
    ("(!)", "warning"),
];

fn normalize_newlines(text: &str) -> String {
    text.replace("\r\n", "\n").replace('\r', "\n")
}

fn longest_run(text: &str, wanted: char) -> usize {
    let mut longest = 0;
    let mut current = 0;
    for c in text.chars() {
        current = if c == wanted { current + 1 } else { 0 };
        longest = longest.max(current);
    }
    longest
}

fn starts_with_at(chars: &[char], at: usize, prefix: &str) -> bool {
    let prefix: Vec<char> = prefix.chars().collect();
    chars.get(at..at + prefix.len()) == Some(&prefix[..])
}

/// Where a URL written as text ends: both directions agree, so it stays one URL.
fn ends_url(c: char) -> bool {
    c.is_whitespace() || "|[]{}<>\"`\\".contains(c)
}

fn starts_with_url(chars: &[char]) -> bool {
    starts_with_at(chars, 0, "http://") || starts_with_at(chars, 0, "https://")
}

/// The length of the URL `chars` starts with; trailing punctuation ends the sentence, not
/// the URL.
fn url_len(chars: &[char]) -> usize {
    let mut len = chars
        .iter()
        .position(|&c| ends_url(c))
        .unwrap_or(chars.len());
    let opens = chars[..len].iter().filter(|&&c| c == '(').count();
    while len > 0 && (".,;:!?'".contains(chars[len - 1]) || (chars[len - 1] == ')' && opens == 0)) {
        len -= 1;
    }
    len
}
