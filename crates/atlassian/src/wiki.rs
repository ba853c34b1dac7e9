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
//! Markdown -> wiki -> Markdown unchanged.
//!
//! Not in scope, or lossy by design:
//! - other macros (`{anchor}`, `{toc}`, ...) and `[page]` links without a URL stay literal
//!   text; link tooltips, image options, panel styles and a code block's title are dropped;
//! - blocks (code, quotes, tables) inside a Markdown list item are written after the item's
//!   line, which ends the list in wiki markup; a header cell outside the first row becomes bold;
//! - wiki quotes and panels don't nest in themselves: a Markdown quote inside a quote becomes
//!   `bq.` when it is one paragraph and is flattened otherwise;
//! - wiki markup cannot escape a backslash (`\\` is a line break), so a literal backslash in
//!   Markdown text right before a markup character escapes that character in Jira;
//! - Markdown emphasis inside a word (`foo**bar**`) is written as wiki markup Jira only renders
//!   at word boundaries; code block languages are passed through even where Jira's code macro
//!   does not know them.

use pulldown_cmark::{
    BlockQuoteKind, CodeBlockKind, Event, LinkType, Options, Parser, Tag, TagEnd,
};

/// Jira wiki markup as Markdown.
///
/// Windows line endings are accepted; the Markdown uses `\n` and has no trailing newline.
pub fn to_markdown(wiki: &str) -> String {
    wiki_blocks(&normalize_newlines(wiki)).join("\n\n")
}

/// Markdown as Jira wiki markup.
///
/// Parsed as GitHub-flavoured Markdown (tables, strikethrough, task lists, alerts); the wiki
/// markup uses `\n` and has no trailing newline.
pub fn from_markdown(markdown: &str) -> String {
    let markdown = normalize_newlines(markdown);
    let options = Options::ENABLE_TABLES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_GFM;
    let mut writer = WikiWriter::default();
    for event in Parser::new_ext(&markdown, options) {
        writer.event(event);
    }
    writer.finish()
}

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

/// Wiki macros that hold blocks and therefore start a block wherever they appear.
const BLOCK_MACROS: [&str; 8] = [
    "code", "noformat", "quote", "panel", "info", "note", "warning", "tip",
];

/// Characters a backslash escapes inside `{{monospace}}`: exactly those [`from_markdown`]
/// escapes there, so a regular expression's `\d` or `\.` survives.
const MONOSPACE_ESCAPABLE: &str = "*_-+^~{}[]|!";

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

// ---------------------------------------------------------------------------------------
// Wiki markup -> Markdown: blocks
// ---------------------------------------------------------------------------------------

/// A `{name:params}` block macro found in a line, with byte offsets into that line.
struct BlockMacro<'a> {
    name: &'static str,
    params: &'a str,
    start: usize,
    end: usize,
}

fn find_block_macro(line: &str) -> Option<BlockMacro<'_>> {
    let mut search_from = 0;
    while let Some(offset) = line[search_from..].find(['{', '\\']) {
        let start = search_from + offset;
        let rest = &line[start..];
        // `\{` is a literal brace, and `{{monospace}}` may name a macro in its text.
        if rest.starts_with('\\') {
            search_from = start + rest.chars().nth(1).map_or(1, |c| 1 + c.len_utf8());
            continue;
        }
        if let Some(monospace) = rest.strip_prefix("{{") {
            search_from = monospace
                .find("}}")
                .map_or(start + 2, |close| start + close + 4);
            continue;
        }
        search_from = start + 1;
        let Some(close) = rest.find('}') else {
            break;
        };
        let inside = &rest[1..close];
        let (name, params) = inside.split_once(':').unwrap_or((inside, ""));
        if let Some(name) = BLOCK_MACROS.iter().find(|known| **known == name) {
            return Some(BlockMacro {
                name,
                params,
                start,
                end: start + close + 1,
            });
        }
    }
    None
}

/// The Markdown blocks of a wiki document (or of a quote's or panel's body).
fn wiki_blocks(wiki: &str) -> Vec<String> {
    let mut reader = BlockReader::default();
    let mut rest = wiki;
    while !rest.is_empty() {
        let (line, next_line) = rest.split_once('\n').unwrap_or((rest, ""));
        let Some(found) = find_block_macro(line) else {
            reader.line(line);
            rest = next_line;
            continue;
        };
        reader.line(&line[..found.start]);
        reader.flush();
        let body_and_after = &rest[found.end..];
        let closing = format!("{{{}}}", found.name);
        // An unclosed macro runs to the end of the document, as Jira renders it.
        let (body, after) = match find_closing_tag(body_and_after, &closing, found.name) {
            Some(at) => (&body_and_after[..at], &body_and_after[at + closing.len()..]),
            None => (body_and_after, ""),
        };
        reader
            .blocks
            .extend(macro_markdown(found.name, found.params, body));
        rest = match after.split_once('\n') {
            Some((tail, next)) if tail.trim().is_empty() => next,
            None if after.trim().is_empty() => "",
            _ => after,
        };
    }
    reader.flush();
    reader.blocks.retain(|block| !block.is_empty());
    reader.blocks
}

/// Where a macro's closing tag starts. Code is verbatim, so there `\{code}` closes too.
fn find_closing_tag(text: &str, closing: &str, name: &str) -> Option<usize> {
    let verbatim = matches!(name, "code" | "noformat");
    let mut search_from = 0;
    while let Some(offset) = text[search_from..].find(closing) {
        let at = search_from + offset;
        if verbatim || !text[..at].ends_with('\\') {
            return Some(at);
        }
        search_from = at + closing.len();
    }
    None
}

fn macro_markdown(name: &str, params: &str, body: &str) -> Option<String> {
    let title = params
        .split('|')
        .find_map(|param| param.strip_prefix("title="))
        .map(str::trim)
        .filter(|title| !title.is_empty());
    let alert = match name {
        "code" => return Some(fenced_code(code_language(params), macro_body(body))),
        "noformat" => return Some(fenced_code(None, macro_body(body))),
        "info" => Some("[!NOTE]"),
        "tip" => Some("[!TIP]"),
        "note" => Some("[!IMPORTANT]"),
        "warning" => Some("[!WARNING]"),
        _ => None,
    };
    let mut lines: Vec<String> = alert.map(String::from).into_iter().collect();
    if let Some(title) = title {
        lines.push(format!("**{}**", inline_markdown(title, false)));
    }
    let inner = wiki_blocks(body).join("\n\n");
    if !inner.is_empty() {
        if title.is_some() {
            lines.push(String::new());
        }
        lines.extend(inner.lines().map(String::from));
    }
    if lines.is_empty() {
        return None;
    }
    Some(quote_lines(&lines.join("\n")))
}

/// The language of `{code:java}` or `{code:title=A.java|language=java}`; `none` is none.
fn code_language(params: &str) -> Option<&str> {
    params
        .split('|')
        .find_map(|param| match param.split_once('=') {
            None => Some(param.trim()),
            Some((key, value)) if key.trim() == "language" => Some(value.trim()),
            Some(_) => None,
        })
        .filter(|language| {
            !language.is_empty() && *language != "none" && !language.contains(['`', ' '])
        })
}

/// A code macro's text without the line breaks that only separate it from its tags.
fn macro_body(body: &str) -> &str {
    let body = match body.split_once('\n') {
        Some((first, rest)) if first.trim().is_empty() => rest,
        _ => body,
    };
    match body.rsplit_once('\n') {
        Some((head, last)) if last.trim().is_empty() => head,
        _ if body.trim().is_empty() => "",
        _ => body,
    }
}

fn fenced_code(language: Option<&str>, code: &str) -> String {
    let fence = "`".repeat((longest_run(code, '`') + 1).max(3));
    let language = language.unwrap_or("");
    if code.is_empty() {
        format!("{fence}{language}\n{fence}")
    } else {
        format!("{fence}{language}\n{code}\n{fence}")
    }
}

fn quote_lines(markdown: &str) -> String {
    markdown
        .lines()
        .map(|line| {
            if line.is_empty() {
                ">".to_string()
            } else {
                format!("> {line}")
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Reads a wiki document line by line; paragraphs, lists and tables span lines.
#[derive(Default)]
struct BlockReader<'a> {
    blocks: Vec<String>,
    paragraph: Vec<String>,
    list: Option<MarkdownList>,
    table: Vec<Vec<WikiCell<'a>>>,
}

impl<'a> BlockReader<'a> {
    fn line(&mut self, line: &'a str) {
        let line = line.trim();
        if line.is_empty() {
            self.flush_paragraph();
            // Jira keeps a list going across blank lines; only other text ends it.
            self.flush_table();
        } else if let Some((level, text)) = heading(line) {
            self.flush();
            // A Markdown heading is one line: its line breaks become spaces.
            let mut text = inline_markdown(text, false).replace("\\\n", " ");
            // A heading's trailing `#`s would be its closing sequence.
            if text.ends_with('#') {
                text.insert(text.len() - 1, '\\');
            }
            self.blocks.push(
                format!("{} {text}", "#".repeat(level))
                    .trim_end()
                    .to_string(),
            );
        } else if let Some(text) = line
            .strip_prefix("bq.")
            .filter(|text| text.is_empty() || text.starts_with(char::is_whitespace))
        {
            self.flush();
            self.blocks
                .push(quote_lines(&inline_markdown(text.trim(), false)));
        } else if line.len() >= 4 && line.chars().all(|c| c == '-') {
            self.flush();
            self.blocks.push("---".to_string());
        } else if line.starts_with('|') {
            self.flush_paragraph();
            self.flush_list();
            let row = table_row_cells(line);
            if !row.is_empty() {
                self.table.push(row);
            }
        } else if let Some((markers, text)) = list_item(line) {
            self.flush_paragraph();
            self.flush_table();
            self.list.get_or_insert_default().item(markers, text);
        } else {
            self.flush_list();
            self.flush_table();
            self.paragraph.push(inline_markdown(line, false));
        }
    }

    fn flush(&mut self) {
        self.flush_paragraph();
        self.flush_list();
        self.flush_table();
    }

    fn flush_paragraph(&mut self) {
        if self.paragraph.is_empty() {
            return;
        }
        // Jira renders every line break inside a paragraph.
        let paragraph = self.paragraph.join("\\\n");
        self.paragraph.clear();
        let paragraph = trim_breaks(&paragraph);
        if !paragraph.is_empty() {
            self.blocks.push(paragraph.to_string());
        }
    }

    fn flush_list(&mut self) {
        if let Some(list) = self.list.take() {
            self.blocks.push(list.lines.join("\n"));
        }
    }

    fn flush_table(&mut self) {
        if !self.table.is_empty() {
            self.blocks.push(table_markdown(&self.table));
            self.table.clear();
        }
    }
}

fn heading(line: &str) -> Option<(usize, &str)> {
    let rest = line.strip_prefix('h')?;
    let level = rest.chars().next()?.to_digit(10)? as usize;
    let text = rest[1..].strip_prefix('.')?;
    let is_heading =
        (1..=6).contains(&level) && (text.is_empty() || text.starts_with(char::is_whitespace));
    is_heading.then(|| (level, text.trim()))
}

/// `* item`, `#* item`, `- item`: the markers and the text; `*bold*` is no item.
fn list_item(line: &str) -> Option<(&str, &str)> {
    let markers_len = if line.starts_with('-') {
        1
    } else {
        line.find(|c| c != '*' && c != '#').unwrap_or(line.len())
    };
    let rest = &line[markers_len..];
    let is_item = markers_len > 0 && (rest.is_empty() || rest.starts_with(char::is_whitespace));
    is_item.then(|| (&line[..markers_len], rest.trim()))
}

/// A Markdown list being built from wiki list lines.
#[derive(Default)]
struct MarkdownList {
    lines: Vec<String>,
    levels: Vec<ListLevel>,
}

struct ListLevel {
    ordered: bool,
    next_number: u64,
    /// Column of the current item's text: where its children and its line breaks start.
    content_column: usize,
}

impl MarkdownList {
    fn item(&mut self, markers: &str, text: &str) {
        let (task, text) = task_marker(text);
        let mut content = String::from(task);
        inline_into(text, false, &mut content);
        let content = trim_breaks(&content);
        // An empty item (`*` alone, or only a colour) has no Markdown form that stays an item.
        if content.is_empty() {
            return;
        }
        // Markdown cannot skip a level, so `*` followed by `***` nests one level only.
        let depth = markers.len().min(self.levels.len() + 1);
        let ordered = markers.ends_with('#');
        self.levels.truncate(depth);
        if self.levels.len() == depth && self.levels[depth - 1].ordered != ordered {
            self.levels.pop();
        }
        let indent = match depth {
            1 => 0,
            _ => self.levels[depth - 2].content_column,
        };
        if self.levels.len() < depth {
            self.levels.push(ListLevel {
                ordered,
                next_number: 1,
                content_column: 0,
            });
        }
        let level = &mut self.levels[depth - 1];
        let marker = if ordered {
            level.next_number += 1;
            format!("{}.", level.next_number - 1)
        } else {
            "-".to_string()
        };
        level.content_column = indent + marker.len() + 1;
        let content = indent_continuation(content, level.content_column);
        let line = format!("{}{marker} {content}", " ".repeat(indent));
        self.lines.push(line.trim_end().to_string());
    }
}

/// The `[x]` / `[ ]` a checklist item opens with (escaped, as [`from_markdown`] writes it,
/// or not) as a Markdown task marker, and the rest of the item.
fn task_marker(text: &str) -> (&'static str, &str) {
    for (wiki, markdown) in [
        ("\\[x\\]", "[x] "),
        ("\\[X\\]", "[x] "),
        ("\\[ \\]", "[ ] "),
        ("[x]", "[x] "),
        ("[X]", "[x] "),
        ("[ ]", "[ ] "),
    ] {
        if let Some(rest) = text.strip_prefix(wiki)
            && (rest.is_empty() || rest.starts_with(char::is_whitespace))
        {
            return (markdown, rest.trim_start());
        }
    }
    ("", text)
}

fn indent_continuation(markdown: &str, column: usize) -> String {
    markdown.replace('\n', &format!("\n{}", " ".repeat(column)))
}

/// A paragraph's or cell's Markdown without line breaks at its ends, which Markdown would
/// show as a literal backslash.
fn trim_breaks(markdown: &str) -> &str {
    let blank = |c: char| c == ' ' || c == '\t';
    let mut trimmed = markdown.trim_matches(blank);
    loop {
        let before = trimmed;
        for lone_break in ["\\\n", "<br>"] {
            trimmed = trimmed.strip_prefix(lone_break).unwrap_or(trimmed);
            trimmed = trimmed.strip_suffix(lone_break).unwrap_or(trimmed);
            trimmed = trimmed.trim_matches(blank);
        }
        if trimmed == before {
            return trimmed;
        }
    }
}

struct WikiCell<'a> {
    header: bool,
    text: &'a str,
}

/// The cells of `||a||b||` or `|a|b|`; pipes inside `[links|x]`, `{{mono}}` and `\|` don't
/// separate cells.
fn table_row_cells(line: &str) -> Vec<WikiCell<'_>> {
    let bytes = line.as_bytes();
    let mut cells = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let header = line[at..].starts_with("||");
        at += if header { 2 } else { 1 };
        let start = at;
        while at < bytes.len() && bytes[at] != b'|' {
            at = match bytes[at] {
                b'\\' => at + 2,
                b'[' => line[at..].find(']').map_or(at + 1, |close| at + close + 1),
                b'{' if line[at..].starts_with("{{") => line[at + 2..]
                    .find("}}")
                    .map_or(at + 2, |close| at + close + 4),
                _ => at + 1,
            };
        }
        at = at.min(bytes.len());
        let text = line[start..at].trim();
        if at >= bytes.len() && text.is_empty() {
            break;
        }
        cells.push(WikiCell { header, text });
    }
    cells
}

fn table_markdown(rows: &[Vec<WikiCell>]) -> String {
    let has_header_row = rows[0].iter().all(|cell| cell.header);
    let mut rows: Vec<Vec<String>> = rows
        .iter()
        .enumerate()
        .map(|(index, row)| {
            row.iter()
                .map(|cell| {
                    let markdown = inline_markdown(cell.text, true);
                    // A header cell outside the header row (a header column) is bold.
                    let header_column = cell.header && !(index == 0 && has_header_row);
                    if header_column && !markdown.is_empty() {
                        format!("**{markdown}**")
                    } else {
                        markdown
                    }
                })
                .collect()
        })
        .collect();
    let header = if has_header_row {
        rows.remove(0)
    } else {
        Vec::new()
    };
    // A row that shows nothing (`|{color:red}|`) Markdown would drop, and so the table.
    rows.retain(|row| row.iter().any(|cell| !cell.is_empty()));
    if rows.is_empty() && header.iter().all(String::is_empty) {
        return String::new();
    }
    let columns = rows
        .iter()
        .chain([&header])
        .map(Vec::len)
        .max()
        .unwrap_or(1);
    let mut lines = vec![
        markdown_table_row(header, columns),
        markdown_table_row(vec!["---".to_string(); columns], columns),
    ];
    lines.extend(rows.into_iter().map(|row| markdown_table_row(row, columns)));
    lines.join("\n")
}

fn markdown_table_row(mut cells: Vec<String>, columns: usize) -> String {
    cells.resize(columns, String::new());
    let mut line = String::from("|");
    for cell in cells {
        if cell.is_empty() {
            line.push_str(" |");
        } else {
            line.push_str(&format!(" {cell} |"));
        }
    }
    line
}

// ---------------------------------------------------------------------------------------
// Wiki markup -> Markdown: text
// ---------------------------------------------------------------------------------------

fn inline_markdown(wiki: &str, in_table: bool) -> String {
    let mut markdown = String::new();
    inline_into(wiki, in_table, &mut markdown);
    trim_breaks(&markdown).to_string()
}

fn inline_into(wiki: &str, in_table: bool, out: &mut String) {
    let chars: Vec<char> = wiki.chars().collect();
    let writer = InlineWriter {
        in_table,
        in_link_text: false,
    };
    writer.write(&chars, out);
}

/// A piece of wiki text that is more than its characters.
enum Span<'a> {
    LineBreak,
    Monospace(String),
    Styled {
        marker: char,
        inner: &'a [char],
    },
    Link {
        text: &'a [char],
        destination: String,
    },
    AutoLink(String),
    Mention(String),
    Image(String),
    Emoticon(&'static str),
    /// `{color:red}` and `{color}`: Markdown has no colour, the text stays.
    Dropped,
}

#[derive(Clone, Copy)]
struct InlineWriter {
    /// Table cells escape `|` and cannot hold a line break.
    in_table: bool,
    /// Markdown links don't nest: a URL in a link's text stays text.
    in_link_text: bool,
}

impl InlineWriter {
    fn write(&self, chars: &[char], out: &mut String) {
        let mut plain = String::new();
        let mut at = 0;
        // After a bare URL, the text goes on as after a link: `https://x:)` ends in `:)`.
        let mut url_end = None;
        while at < chars.len() {
            // `\*` is a literal `*`; it stays in the text so line starts are escaped as a whole.
            let escaped = chars
                .get(at + 1)
                .filter(|next| chars[at] == '\\' && next.is_ascii_punctuation() && **next != '\\');
            if let Some(&escaped) = escaped {
                plain.push(escaped);
                at += 2;
                continue;
            }
            let after_word = at > 0 && chars[at - 1].is_alphanumeric() && url_end != Some(at);
            match span_at(chars, at, after_word, self.in_link_text) {
                Some((span, next)) => {
                    url_end = matches!(span, Span::AutoLink(_)).then_some(next);
                    push_markdown_text(out, &plain, self.in_table);
                    plain.clear();
                    self.write_span(span, out);
                    at = next;
                }
                None => {
                    plain.push(chars[at]);
                    at += 1;
                }
            }
        }
        push_markdown_text(out, &plain, self.in_table);
    }

    fn write_span(&self, span: Span, out: &mut String) {
        match span {
            Span::LineBreak if self.in_table => out.push_str("<br>"),
            Span::LineBreak => out.push_str("\\\n"),
            Span::Monospace(code) => out.push_str(&self.code_span(&code)),
            Span::Styled { marker, inner } => {
                let delimiter = match marker {
                    '*' => "**",
                    '_' => "*",
                    '-' => "~~",
                    _ => "",
                };
                let start = out.len();
                out.push_str(delimiter);
                let inner_start = out.len();
                // A style's text ends at the first closing marker, so a style never nests in
                // itself: this recursion is at most one level per marker character deep.
                self.write(inner, out);
                // Markdown emphasis needs text that neither starts nor ends with a space; a
                // dropped colour can leave that, or nothing, inside the wiki markers.
                let text = &out[inner_start..];
                if text.is_empty()
                    || text.starts_with(char::is_whitespace)
                    || text.ends_with(char::is_whitespace)
                {
                    out.replace_range(start..inner_start, "");
                } else {
                    out.push_str(delimiter);
                }
            }
            Span::Link { text, destination } => {
                escape_trailing_bang(out);
                out.push('[');
                let text_writer = InlineWriter {
                    in_link_text: true,
                    ..*self
                };
                text_writer.write(text, out);
                out.push_str("](");
                out.push_str(&link_destination(&destination));
                out.push(')');
            }
            Span::AutoLink(url) => {
                if is_autolink(&url) {
                    out.push_str(&format!("<{url}>"));
                } else {
                    escape_trailing_bang(out);
                    out.push('[');
                    push_markdown_text(out, &url, self.in_table);
                    out.push_str(&format!("]({})", link_destination(&url)));
                }
            }
            Span::Mention(user) => {
                escape_trailing_bang(out);
                out.push_str("[@");
                push_markdown_text(out, &user, self.in_table);
                out.push_str(&format!(
                    "]({})",
                    link_destination(&format!("mention:{user}"))
                ));
            }
            Span::Image(name) => {
                out.push_str(&format!("![]({})", link_destination(&name)));
            }
            Span::Emoticon(name) => out.push_str(&format!(":{name}:")),
            Span::Dropped => {}
        }
    }

    fn code_span(&self, code: &str) -> String {
        let code = if self.in_table {
            code.replace('|', "\\|")
        } else {
            code.to_string()
        };
        let ticks = "`".repeat(longest_run(&code, '`') + 1);
        // Markdown strips one space from both ends, and needs one next to a backtick.
        let pad = code.starts_with('`')
            || code.ends_with('`')
            || (code.starts_with(' ') && code.ends_with(' ') && !code.trim().is_empty());
        let pad = if pad { " " } else { "" };
        format!("{ticks}{pad}{code}{pad}{ticks}")
    }
}

/// The span starting at `chars[at]`, if any, and the index after it.
fn span_at(
    chars: &[char],
    at: usize,
    after_word: bool,
    in_link_text: bool,
) -> Option<(Span<'_>, usize)> {
    match chars[at] {
        '\\' if chars.get(at + 1) == Some(&'\\') => Some((Span::LineBreak, at + 2)),
        '{' => monospace_at(chars, at).or_else(|| color_at(chars, at)),
        '[' => link_at(chars, at),
        '!' if !after_word => image_at(chars, at),
        '*' | '_' | '-' | '+' if !after_word => styled_at(chars, at),
        // Superscript and subscript sit inside words: `x^2^`, `H~2~O`.
        '^' | '~' => styled_at(chars, at),
        ':' | '(' if !after_word => emoticon_at(chars, at),
        'h' if !after_word && !in_link_text && starts_with_url(&chars[at..]) => {
            Some(bare_url_at(chars, at))
        }
        _ => None,
    }
}

fn monospace_at(chars: &[char], at: usize) -> Option<(Span<'_>, usize)> {
    if chars.get(at + 1) != Some(&'{') {
        return None;
    }
    let start = at + 2;
    let close = (start + 1..chars.len())
        .find(|&i| chars[i] == '}' && chars.get(i + 1) == Some(&'}') && chars[i - 1] != '\\')?;
    let mut code = String::new();
    let mut i = start;
    while i < close {
        match chars.get(i + 1) {
            Some(&next) if chars[i] == '\\' && MONOSPACE_ESCAPABLE.contains(next) => {
                code.push(next);
                i += 2;
            }
            _ => {
                code.push(chars[i]);
                i += 1;
            }
        }
    }
    Some((Span::Monospace(code), close + 2))
}

fn color_at(chars: &[char], at: usize) -> Option<(Span<'_>, usize)> {
    let is_color = starts_with_at(chars, at, "{color}") || starts_with_at(chars, at, "{color:");
    if !is_color {
        return None;
    }
    let close = (at..chars.len()).find(|&i| chars[i] == '}')?;
    Some((Span::Dropped, close + 1))
}

fn link_at(chars: &[char], at: usize) -> Option<(Span<'_>, usize)> {
    let close = (at + 1..chars.len()).find(|&i| chars[i] == ']' && chars[i - 1] != '\\')?;
    let inside = &chars[at + 1..close];
    let next = close + 1;
    // `[a [b|c]`: the first bracket is text, the link starts at the second.
    if inside.contains(&'[') {
        return None;
    }
    if let Some(user) = inside.strip_prefix(&['~']) {
        let user: String = user.iter().collect();
        let is_user = !user.is_empty() && !user.contains(char::is_whitespace);
        return is_user.then_some((Span::Mention(user), next));
    }
    let pipe = (0..inside.len()).find(|&i| inside[i] == '|' && (i == 0 || inside[i - 1] != '\\'));
    let Some(pipe) = pipe else {
        // `[PROJ-1]` or `[Page title]` is no URL: keep the brackets as text.
        let destination: String = inside.iter().collect::<String>().trim().to_string();
        let is_url = destination.contains("://") || destination.starts_with("mailto:");
        return is_url.then_some((Span::AutoLink(destination), next));
    };
    let text = &inside[..pipe];
    // `[text|url|tooltip]`: the tooltip has no Markdown form.
    let destination = unescape_wiki(
        &inside[pipe + 1..]
            .iter()
            .take_while(|&&c| c != '|')
            .collect::<String>(),
    );
    if destination.is_empty() {
        return None;
    }
    if text.iter().all(|c| c.is_whitespace()) {
        return Some((Span::AutoLink(destination), next));
    }
    Some((Span::Link { text, destination }, next))
}

fn unescape_wiki(text: &str) -> String {
    let mut unescaped = String::new();
    let mut chars = text.trim().chars().peekable();
    while let Some(c) = chars.next() {
        match chars.peek() {
            Some(&next) if c == '\\' && next.is_ascii_punctuation() => {
                unescaped.push(next);
                chars.next();
            }
            _ => unescaped.push(c),
        }
    }
    unescaped
}

fn image_at(chars: &[char], at: usize) -> Option<(Span<'_>, usize)> {
    let first = *chars.get(at + 1)?;
    if first.is_whitespace() || first == '!' {
        return None;
    }
    let close = (at + 2..chars.len()).find(|&i| chars[i] == '!')?;
    let inside: String = chars[at + 1..close].iter().collect();
    // `!name.png|thumbnail!`: the display options have no Markdown form.
    let name = inside.split('|').next().unwrap_or_default();
    let extension = name.rsplit_once('.').map(|(_, extension)| extension);
    let has_extension = extension.is_some_and(|extension| {
        (1..=5).contains(&extension.len()) && extension.chars().all(char::is_alphanumeric)
    });
    // Exclamations in prose ("Works! Ship it!") are no image: spaces need a file extension.
    let is_image = !name.is_empty()
        && !name.ends_with(char::is_whitespace)
        && !name.contains(['\\', '[', ']', '{', '}'])
        && (has_extension || !name.contains(char::is_whitespace));
    is_image.then(|| (Span::Image(name.to_string()), close + 1))
}

/// `*bold*` and friends: the marker follows no letter (checked by the caller), the text
/// neither starts nor ends with a space, and the closing marker precedes no letter (except
/// for super- and subscript).
fn styled_at(chars: &[char], at: usize) -> Option<(Span<'_>, usize)> {
    let marker = chars[at];
    let first = *chars.get(at + 1)?;
    if first.is_whitespace() || first == marker {
        return None;
    }
    let close = (at + 2..chars.len()).find(|&i| {
        let before = chars[i - 1];
        chars[i] == marker
            && !before.is_whitespace()
            && before != marker
            && before != '\\'
            && (matches!(marker, '^' | '~')
                || chars
                    .get(i + 1)
                    .is_none_or(|after| !after.is_alphanumeric()))
    })?;
    let inner = &chars[at + 1..close];
    Some((Span::Styled { marker, inner }, close + 1))
}

fn emoticon_at(chars: &[char], at: usize) -> Option<(Span<'_>, usize)> {
    EMOTICONS.iter().find_map(|&(wiki, name)| {
        let end = at + wiki.len();
        // `:D` must not start a word such as `:Done`.
        let matches = starts_with_at(chars, at, wiki)
            && !(wiki == ":D" && chars.get(end).is_some_and(|c| c.is_alphanumeric()));
        matches.then_some((Span::Emoticon(name), end))
    })
}

/// A URL in the text, which Jira links by itself; trailing punctuation stays text.
fn bare_url_at(chars: &[char], at: usize) -> (Span<'_>, usize) {
    let end = at + url_len(&chars[at..]);
    (Span::AutoLink(chars[at..end].iter().collect()), end)
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

/// Whether Markdown reads `<url>` as a link: a scheme, then no space or angle bracket.
fn is_autolink(url: &str) -> bool {
    let Some((scheme, _)) = url.split_once(':') else {
        return false;
    };
    let valid_scheme = (2..=32).contains(&scheme.len())
        && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+.-".contains(c));
    valid_scheme && !url.contains(|c: char| c.is_whitespace() || c == '<' || c == '>')
}

/// A link destination, in angle brackets when Markdown would otherwise end it early.
fn link_destination(destination: &str) -> String {
    let needs_brackets = destination
        .chars()
        .any(|c| c.is_whitespace() || matches!(c, '(' | ')' | '<' | '>'));
    // Markdown decodes entities in destinations; `\&` keeps `&amp;` as written.
    let destination = match destination.find('&') {
        Some(at) if entity_follows(&destination[at + 1..].chars().collect::<Vec<_>>()) => {
            destination.replace('&', "\\&")
        }
        _ => destination.to_string(),
    };
    if needs_brackets {
        format!("<{}>", destination.replace('<', "\\<").replace('>', "\\>"))
    } else {
        destination
    }
}

/// `!` right before a link's `[` would make it an image.
fn escape_trailing_bang(out: &mut String) {
    if out.ends_with('!') && !out.ends_with("\\!") {
        out.insert(out.len() - 1, '\\');
    }
}

/// Text as Markdown that shows exactly that text.
fn push_markdown_text(out: &mut String, text: &str, in_table: bool) {
    let chars: Vec<char> = text.chars().collect();
    let mut ordered_marker_at = None;
    for (at, &c) in chars.iter().enumerate() {
        // Cells hold no blocks, so only other text escapes what would open one.
        let line_start = !in_table && (out.is_empty() || out.ends_with('\n'));
        if line_start {
            if c.is_whitespace() {
                continue;
            }
            // What would open a block at a line start: `#`, `>`, `-`, `+`, `=`, `1.`.
            if "#>-+=".contains(c) {
                out.push('\\');
            } else if c.is_ascii_digit() {
                let digits = chars[at..]
                    .iter()
                    .take_while(|c| c.is_ascii_digit())
                    .count();
                let closes_number = matches!(chars.get(at + digits), Some('.' | ')'));
                let item_follows = chars
                    .get(at + digits + 1)
                    .is_none_or(|after| after.is_whitespace());
                if closes_number && item_follows {
                    ordered_marker_at = Some(at + digits);
                }
            }
        }
        let before = out.chars().next_back();
        let after = chars.get(at + 1);
        let escape = match c {
            '\\' | '`' | '*' | '[' | ']' | '<' | '~' => true,
            // An underscore inside a word (`snake_case`) is no emphasis.
            '_' => {
                before.is_none_or(|b| !b.is_alphanumeric())
                    || after.is_none_or(|a| !a.is_alphanumeric())
            }
            '|' => in_table,
            '&' => entity_follows(&chars[at + 1..]),
            _ => ordered_marker_at == Some(at),
        };
        if escape {
            out.push('\\');
        }
        out.push(c);
    }
}

fn entity_follows(chars: &[char]) -> bool {
    let name_len = chars
        .iter()
        .take_while(|c| c.is_ascii_alphanumeric() || **c == '#')
        .count();
    name_len > 0 && chars.get(name_len) == Some(&';')
}

// ---------------------------------------------------------------------------------------
// Markdown -> wiki markup
// ---------------------------------------------------------------------------------------

/// An element being written; its children are written into it first.
struct Frame {
    kind: FrameKind,
    /// Inline wiki markup written so far.
    text: String,
    /// Finished child blocks (items of a list, rows of a table, cells of a row).
    blocks: Vec<WikiBlock>,
}

enum FrameKind {
    Document,
    Quote(&'static str),
    List { ordered: bool },
    Item { markers: String },
    Paragraph,
    Heading(usize),
    CodeBlock(Option<String>),
    Html,
    Table,
    TableRow { header: bool },
    TableCell,
    Link { destination: String, autolink: bool },
    Image { destination: String },
}

struct WikiBlock {
    /// Text of a paragraph, which a list item keeps on its own line.
    inline: bool,
    text: String,
}

struct WikiWriter {
    stack: Vec<Frame>,
    /// pulldown-cmark splits text around characters that could have been markup; joined, a
    /// URL or a word is escaped as a whole.
    pending_text: String,
}

impl Default for WikiWriter {
    fn default() -> Self {
        WikiWriter {
            stack: vec![Frame::new(FrameKind::Document)],
            pending_text: String::new(),
        }
    }
}

impl Frame {
    fn new(kind: FrameKind) -> Self {
        Frame {
            kind,
            text: String::new(),
            blocks: Vec::new(),
        }
    }

    /// A tight list item's text has no paragraph around it: it becomes one here, before the
    /// item's next block.
    fn flush_item_text(&mut self) {
        if matches!(self.kind, FrameKind::Item { .. }) && !self.text.trim().is_empty() {
            let text = std::mem::take(&mut self.text);
            self.blocks.push(WikiBlock {
                inline: true,
                text: text.trim().to_string(),
            });
        }
    }
}

impl WikiWriter {
    fn event(&mut self, event: Event) {
        if let Event::Text(text) = &event {
            self.pending_text.push_str(text);
            return;
        }
        self.flush_text();
        match event {
            Event::Start(tag) => self.start(tag),
            Event::End(tag) => self.end(tag),
            Event::Code(code) => {
                let code = self.escaped(&code, true);
                self.push_raw(&format!("{{{{{code}}}}}"));
            }
            Event::InlineHtml(html) if is_line_break_tag(&html) => self.push_raw("\\\\"),
            Event::Html(html) | Event::InlineHtml(html) => {
                let text = self.escaped(&html, false);
                self.push_raw(&text);
            }
            Event::SoftBreak => self.push_raw(" "),
            Event::HardBreak => self.push_raw("\\\\"),
            Event::Rule => self.push_block(false, "----".to_string()),
            Event::TaskListMarker(checked) => {
                self.push_raw(if checked { "\\[x\\] " } else { "\\[ \\] " })
            }
            _ => {}
        }
    }

    fn start(&mut self, tag: Tag) {
        let kind = match tag {
            Tag::Paragraph => FrameKind::Paragraph,
            Tag::Heading { level, .. } => FrameKind::Heading(level as usize),
            Tag::BlockQuote(kind) => FrameKind::Quote(match kind {
                None => "quote",
                Some(BlockQuoteKind::Note) => "info",
                Some(BlockQuoteKind::Tip) => "tip",
                Some(BlockQuoteKind::Important) => "note",
                Some(BlockQuoteKind::Warning | BlockQuoteKind::Caution) => "warning",
            }),
            Tag::CodeBlock(CodeBlockKind::Fenced(info)) => {
                FrameKind::CodeBlock(info.split_whitespace().next().map(String::from))
            }
            Tag::CodeBlock(CodeBlockKind::Indented) => FrameKind::CodeBlock(None),
            Tag::HtmlBlock => FrameKind::Html,
            Tag::List(first_number) => FrameKind::List {
                ordered: first_number.is_some(),
            },
            Tag::Item => FrameKind::Item {
                markers: self
                    .stack
                    .iter()
                    .filter_map(|frame| match frame.kind {
                        FrameKind::List { ordered: true } => Some('#'),
                        FrameKind::List { ordered: false } => Some('*'),
                        _ => None,
                    })
                    .collect(),
            },
            Tag::Table(_) => FrameKind::Table,
            Tag::TableHead => FrameKind::TableRow { header: true },
            Tag::TableRow => FrameKind::TableRow { header: false },
            Tag::TableCell => FrameKind::TableCell,
            Tag::Link {
                link_type,
                dest_url,
                ..
            } => FrameKind::Link {
                destination: match link_type {
                    LinkType::Email if !dest_url.starts_with("mailto:") => {
                        format!("mailto:{dest_url}")
                    }
                    _ => dest_url.to_string(),
                },
                autolink: matches!(link_type, LinkType::Autolink | LinkType::Email),
            },
            Tag::Image { dest_url, .. } => FrameKind::Image {
                destination: dest_url.to_string(),
            },
            Tag::Emphasis => return self.push_raw("_"),
            Tag::Strong => return self.push_raw("*"),
            Tag::Strikethrough => return self.push_raw("-"),
            // Footnotes, metadata, definition lists, super- and subscript are not enabled.
            _ => return,
        };
        self.stack.push(Frame::new(kind));
    }

    fn end(&mut self, tag: TagEnd) {
        match tag {
            TagEnd::Emphasis => return self.push_raw("_"),
            TagEnd::Strong => return self.push_raw("*"),
            TagEnd::Strikethrough => return self.push_raw("-"),
            TagEnd::Paragraph
            | TagEnd::Heading(_)
            | TagEnd::BlockQuote(_)
            | TagEnd::CodeBlock
            | TagEnd::HtmlBlock
            | TagEnd::List(_)
            | TagEnd::Item
            | TagEnd::Table
            | TagEnd::TableHead
            | TagEnd::TableRow
            | TagEnd::TableCell
            | TagEnd::Link
            | TagEnd::Image => {}
            _ => return,
        }
        let Some(mut frame) = self.stack.pop() else {
            return;
        };
        frame.flush_item_text();
        let text = std::mem::take(&mut frame.text);
        match frame.kind {
            FrameKind::Document => {}
            FrameKind::Paragraph | FrameKind::Html | FrameKind::TableCell => {
                self.push_block(true, text.trim().to_string())
            }
            FrameKind::Heading(level) => {
                self.push_block(false, format!("h{level}. {}", text.trim()))
            }
            FrameKind::CodeBlock(language) => {
                self.push_block(false, code_macro(language.as_deref(), &text))
            }
            FrameKind::Quote(name) => {
                let inner = join_blocks(&frame.blocks, "\n\n");
                // Wiki quotes and panels don't nest in themselves: an inner paragraph becomes
                // `bq.`, other inner quotes are dropped.
                let nested = self
                    .stack
                    .iter()
                    .any(|open| matches!(open.kind, FrameKind::Quote(outer) if outer == name));
                let single_paragraph = matches!(&frame.blocks[..], [block] if block.inline);
                let block = if nested && single_paragraph {
                    format!("bq. {inner}")
                } else if nested {
                    inner
                } else {
                    format!("{{{name}}}\n{inner}\n{{{name}}}")
                };
                self.push_block(false, block);
            }
            FrameKind::List { .. } | FrameKind::Table => {
                self.push_block(false, join_blocks(&frame.blocks, "\n"))
            }
            FrameKind::Item { markers } => {
                self.push_block(false, item_wiki(&markers, frame.blocks))
            }
            FrameKind::TableRow { header } => {
                if let Some(row) = row_wiki(header, &frame.blocks) {
                    self.push_block(false, row);
                }
            }
            FrameKind::Link {
                destination,
                autolink,
            } => {
                let link = if let Some(user) = destination.strip_prefix("mention:") {
                    format!("[~{user}]")
                } else if autolink
                    || text.trim().is_empty()
                    || is_bare_wiki_link(&text, &destination)
                {
                    format!("[{destination}]")
                } else {
                    format!("[{text}|{destination}]")
                };
                self.push_raw(&link);
            }
            FrameKind::Image { destination } => self.push_raw(&format!("!{destination}!")),
        }
    }

    fn finish(mut self) -> String {
        self.flush_text();
        // Every element pulldown-cmark opens it closes, so only the document is left.
        self.stack
            .first()
            .map(|document| join_blocks(&document.blocks, "\n\n"))
            .unwrap_or_default()
    }

    fn flush_text(&mut self) {
        if self.pending_text.is_empty() {
            return;
        }
        let text = std::mem::take(&mut self.pending_text);
        let Some(top) = self.stack.last() else {
            return;
        };
        let wiki = match top.kind {
            FrameKind::CodeBlock(_) => text,
            // An image's alt text has no place in wiki markup.
            FrameKind::Image { .. } => return,
            _ => self.escaped(&text, false),
        };
        self.push_raw(&wiki);
    }

    /// Text escaped for where it is written: a cell, a link's text, a line start, code.
    fn escaped(&self, text: &str, code: bool) -> String {
        let in_table = self
            .stack
            .iter()
            .any(|frame| matches!(frame.kind, FrameKind::TableCell));
        let Some(top) = self.stack.last() else {
            return text.to_string();
        };
        let context = WikiContext {
            code,
            in_table,
            in_link: matches!(top.kind, FrameKind::Link { .. }),
            line_start: !code
                && top.text.is_empty()
                && matches!(top.kind, FrameKind::Paragraph | FrameKind::Html),
        };
        escape_wiki(text, top.text.chars().next_back(), context)
    }

    fn push_raw(&mut self, wiki: &str) {
        if let Some(top) = self.stack.last_mut() {
            top.text.push_str(wiki);
        }
    }

    fn push_block(&mut self, inline: bool, text: String) {
        if let Some(top) = self.stack.last_mut() {
            top.flush_item_text();
            top.blocks.push(WikiBlock { inline, text });
        }
    }
}

/// `[https://x]` is a link by itself, but `[page]` is not.
fn is_bare_wiki_link(text: &str, destination: &str) -> bool {
    text == destination && (destination.contains("://") || destination.starts_with("mailto:"))
}

fn join_blocks(blocks: &[WikiBlock], separator: &str) -> String {
    blocks
        .iter()
        .map(|block| block.text.as_str())
        .collect::<Vec<_>>()
        .join(separator)
}

fn is_line_break_tag(html: &str) -> bool {
    let tag: String = html
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_lowercase();
    tag == "<br>" || tag == "<br/>"
}

fn code_macro(language: Option<&str>, code: &str) -> String {
    let code = code.strip_suffix('\n').unwrap_or(code);
    // The first closing tag ends the macro, so code that contains one uses the other macro.
    match language {
        Some(language) if !code.contains("{code}") => {
            format!("{{code:{language}}}\n{code}\n{{code}}")
        }
        _ if !code.contains("{noformat}") => format!("{{noformat}}\n{code}\n{{noformat}}"),
        _ => format!("{{code}}\n{code}\n{{code}}"),
    }
}

/// A list item: its markers and first paragraph on one line, its other blocks after it.
fn item_wiki(markers: &str, blocks: Vec<WikiBlock>) -> String {
    let mut lines = vec![format!("{markers} ")];
    let mut on_item_line = true;
    let mut paragraphs = 0;
    for block in blocks {
        match lines.last_mut() {
            Some(line) if block.inline && on_item_line => {
                if paragraphs > 0 {
                    line.push_str("\\\\");
                }
                line.push_str(&block.text);
                paragraphs += 1;
            }
            _ => {
                on_item_line = false;
                lines.push(block.text);
            }
        }
    }
    lines
        .iter()
        .map(|line| line.trim_end())
        .collect::<Vec<_>>()
        .join("\n")
}

/// `||a||b||` or `|a|b|`; a header row of empty cells (a table without one) is left out.
fn row_wiki(header: bool, cells: &[WikiBlock]) -> Option<String> {
    if header && cells.iter().all(|cell| cell.text.is_empty()) {
        return None;
    }
    let separator = if header { "||" } else { "|" };
    let mut row = separator.to_string();
    for cell in cells {
        // An empty cell would read as `||`, the header cell separator.
        row.push_str(if cell.text.is_empty() {
            " "
        } else {
            &cell.text
        });
        row.push_str(separator);
    }
    Some(row)
}

#[derive(Clone, Copy)]
struct WikiContext {
    code: bool,
    in_table: bool,
    in_link: bool,
    line_start: bool,
}

/// Text as wiki markup that shows exactly that text: markup characters that could open
/// markup are escaped, emoticon shortcodes become emoticons, URLs stay as they are.
fn escape_wiki(text: &str, before: Option<char>, context: WikiContext) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::new();
    let mut before = before;
    // `h1.` and `bq.` open a line's block; `h1\.` is the text.
    let opens_block = |word: &str| {
        let word: Vec<char> = word.chars().collect();
        chars.starts_with(&word)
    };
    let block_word_dot = (context.line_start
        && (opens_block("bq.")
            || ["h1.", "h2.", "h3.", "h4.", "h5.", "h6."]
                .iter()
                .any(|w| opens_block(w))))
    .then_some(2);
    let mut at = 0;
    while at < chars.len() {
        let c = chars[at];
        let after = chars.get(at + 1).copied();
        let after_word = before.is_some_and(char::is_alphanumeric);
        if !context.code && !after_word && starts_with_url(&chars[at..]) {
            let end = at + url_len(&chars[at..]);
            out.extend(&chars[at..end]);
            before = Some(chars[end - 1]);
            at = end;
            continue;
        }
        // to_markdown reads no emoticon right after a word, so none is written there.
        if !context.code && !after_word && c == ':' {
            let emoticon = EMOTICONS
                .iter()
                .find(|(_, name)| starts_with_at(&chars, at, &format!(":{name}:")));
            if let Some((wiki, name)) = emoticon {
                out.push_str(wiki);
                before = wiki.chars().next_back();
                at += name.chars().count() + 2;
                continue;
            }
        }
        let before_text = after.is_none_or(|a| !a.is_whitespace());
        let opens_markup = !after_word && before_text;
        let escape = match c {
            // After the same character (`**`), even a space after it leaves it ambiguous.
            '*' | '_' | '-' | '+' if before == Some(c) => true,
            '*' | '_' | '-' | '+' => opens_markup,
            '^' | '~' => before_text,
            // An image needs a name after the `!`: a `!` ending a sentence is safe.
            '!' => opens_markup && after.is_some(),
            '[' | '{' => true,
            '}' => context.code,
            ']' => context.in_link,
            '|' => context.in_table || context.in_link,
            _ => false,
        } || (context.line_start && at == 0 && "*#-|".contains(c))
            || block_word_dot == Some(at);
        if escape {
            out.push('\\');
        }
        out.push(c);
        before = Some(c);
        at += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{from_markdown, to_markdown};

    const BUG_REPORT: &str = include_str!("../tests/fixtures/wiki/bug_report.wiki");
    const BUG_REPORT_MARKDOWN: &str = include_str!("../tests/fixtures/wiki/bug_report.md");
    const ENVIRONMENTS: &str = include_str!("../tests/fixtures/wiki/environments.wiki");
    const RELEASE_CHECKLIST: &str = include_str!("../tests/fixtures/wiki/release_checklist.wiki");
    const INCIDENT_UPDATE_MARKDOWN: &str =
        include_str!("../tests/fixtures/wiki/incident_update.md");
    const INCIDENT_UPDATE: &str = include_str!("../tests/fixtures/wiki/incident_update.wiki");

    const WIKI_DOCUMENTS: [(&str, &str); 3] = [
        ("bug_report", BUG_REPORT),
        ("environments", ENVIRONMENTS),
        ("release_checklist", RELEASE_CHECKLIST),
    ];

    /// wiki -> Markdown -> wiki -> Markdown gives the same Markdown twice.
    fn check_wiki_round_trip(name: &str, wiki: &str) {
        let markdown = to_markdown(wiki);
        let again = to_markdown(&from_markdown(&markdown));
        assert_eq!(again, markdown, "{name}: wiki -> md -> wiki -> md changed");
    }

    /// Markdown written from the supported constructs survives Markdown -> wiki -> Markdown.
    fn check_markdown_round_trip(name: &str, markdown: &str) {
        let wiki = from_markdown(markdown);
        assert_eq!(
            to_markdown(&wiki),
            markdown,
            "{name}: md -> wiki -> md changed; wiki:\n{wiki}"
        );
    }

    /// (name, wiki markup, Markdown): one construct each.
    const WIKI_TO_MARKDOWN: &[(&str, &str, &str)] = &[
        ("empty", "", ""),
        ("blank lines only", "\n  \n\n", ""),
        (
            "headings",
            "h1. One\nh3. Three\nh6. Six",
            "# One\n\n### Three\n\n###### Six",
        ),
        ("h7 is text", "h7. Seven", "h7. Seven"),
        (
            "bold italic strike",
            "*bold* _italic_ -strike-",
            "**bold** *italic* ~~strike~~",
        ),
        (
            "monospace",
            "run {{mvn -q install}}",
            "run `mvn -q install`",
        ),
        ("monospace with backtick", "{{a`b}}", "``a`b``"),
        (
            "underline sup sub colour",
            "+under+ x^2^ H~2~O {color:red}red{color}",
            "under x2 H2O red",
        ),
        (
            "nested styles",
            "*bold _and italic_*",
            "**bold *and italic***",
        ),
        (
            "intraword markers are text",
            "snake_case_name a*b*c 2-3-4",
            "snake_case_name a\\*b\\*c 2-3-4",
        ),
        (
            "link",
            "[the docs|https://example.com/docs]",
            "[the docs](https://example.com/docs)",
        ),
        (
            "link with tooltip",
            "[docs|https://example.com|Read me]",
            "[docs](https://example.com)",
        ),
        (
            "bare link",
            "[https://example.com/a?b=1]",
            "<https://example.com/a?b=1>",
        ),
        (
            "mail link",
            "[mailto:ops@example.com]",
            "<mailto:ops@example.com>",
        ),
        (
            "bare URL in text",
            "see https://example.com/x.",
            "see <https://example.com/x>.",
        ),
        (
            "mention",
            "ping [~jdoe] and [~j.doe]",
            "ping [@jdoe](mention:jdoe) and [@j.doe](mention:j.doe)",
        ),
        (
            "brackets without URL stay text",
            "[PROJ-12] and [Page]",
            "\\[PROJ-12\\] and \\[Page\\]",
        ),
        ("image", "!diagram.png!", "![](diagram.png)"),
        (
            "image with options",
            "!diagram.png|thumbnail,width=300!",
            "![](diagram.png)",
        ),
        (
            "image with a space",
            "!screen shot.png!",
            "![](<screen shot.png>)",
        ),
        (
            "exclamations are no image",
            "Works! Ship it!",
            "Works! Ship it!",
        ),
        ("rule", "a\n----\nb", "a\n\n---\n\nb"),
        ("line breaks", "one\\\\two\nthree", "one\\\ntwo\\\nthree"),
        ("trailing line break", "one\\\\", "one"),
        (
            "emoticons",
            ":) :( :D (y) (n) (i) (/) (x) (!)",
            ":smile: :disappointed: :grinning: :thumbsup: :thumbsdown: :information_source: :white_check_mark: :x: :warning:",
        ),
        (
            "no emoticon inside words",
            "f(x) and :Done",
            "f(x) and :Done",
        ),
        (
            "bullets",
            "* one\n** two\n*** three\n* four",
            "- one\n  - two\n    - three\n- four",
        ),
        (
            "numbered",
            "# one\n## one.one\n# two",
            "1. one\n   1. one.one\n2. two",
        ),
        (
            "mixed",
            "# step\n#* detail\n#* detail\n# step",
            "1. step\n   - detail\n   - detail\n2. step",
        ),
        ("dash bullets", "- one\n- two", "- one\n- two"),
        (
            "skipped level nests once",
            "* one\n*** three",
            "- one\n  - three",
        ),
        ("list across blank lines", "* one\n\n* two", "- one\n- two"),
        (
            "text after a list ends it",
            "# one\nExpected: ok",
            "1. one\n\nExpected: ok",
        ),
        (
            "checklist",
            "* \\[x\\] done\n* \\[ \\] todo",
            "- [x] done\n- [ ] todo",
        ),
        (
            "bullet vs bold",
            "* item\n*bold* text",
            "- item\n\n**bold** text",
        ),
        ("bold list item", "* *bold* item", "- **bold** item"),
        (
            "table",
            "||a||b||\n|1|2|",
            "| a | b |\n| --- | --- |\n| 1 | 2 |",
        ),
        (
            "table without header",
            "|1|2|\n|3|4|",
            "| | |\n| --- | --- |\n| 1 | 2 |\n| 3 | 4 |",
        ),
        (
            "table escaped pipe",
            "||x||\n|a\\|b|",
            "| x |\n| --- |\n| a\\|b |",
        ),
        (
            "table link and mono keep their pipes",
            "|[a|https://x.y]|{{p|q}}|",
            "| | |\n| --- | --- |\n| [a](https://x.y) | `p\\|q` |",
        ),
        (
            "table ragged rows",
            "||a||b||c||\n|1|",
            "| a | b | c |\n| --- | --- | --- |\n| 1 | | |",
        ),
        (
            "table header column",
            "||Env|prod|",
            "| | |\n| --- | --- |\n| **Env** | prod |",
        ),
        ("table line break", "|a\\\\b|", "| |\n| --- |\n| a<br>b |"),
        (
            "code with language",
            "{code:java}\nint x = 1;\n{code}",
            "```java\nint x = 1;\n```",
        ),
        ("code without language", "{code}\nx\n{code}", "```\nx\n```"),
        (
            "code title only",
            "{code:title=A.java|borderStyle=solid}\nx\n{code}",
            "```\nx\n```",
        ),
        (
            "code language parameter",
            "{code:title=a.py|language=python}\nx\n{code}",
            "```python\nx\n```",
        ),
        (
            "noformat",
            "{noformat}\n*raw* text\n{noformat}",
            "```\n*raw* text\n```",
        ),
        (
            "code stays verbatim",
            "{code}\n*a* _b_ |c| {d} [e|f] {{g}} \\\\ h\n{code}",
            "```\n*a* _b_ |c| {d} [e|f] {{g}} \\\\ h\n```",
        ),
        (
            "code with a fence inside",
            "{code}\n```\n{code}",
            "````\n```\n````",
        ),
        (
            "code on one line",
            "text {code}x = 1{code} more",
            "text\n\n```\nx = 1\n```\n\nmore",
        ),
        (
            "unclosed code keeps the rest",
            "{code:sql}\nSELECT 1;\n\n*not bold*",
            "```sql\nSELECT 1;\n\n*not bold*\n```",
        ),
        ("empty code", "{code}{code}", "```\n```"),
        ("macro name in monospace", "{{ {code} }}", "`  {code}  `"),
        ("escaped macro", "\\{code} stays", "{code} stays"),
        ("quote", "{quote}\nwise words\n{quote}", "> wise words"),
        ("bq", "bq. short quote", "> short quote"),
        (
            "quote with blocks",
            "{quote}\nh3. Title\n* item\n{quote}",
            "> ### Title\n>\n> - item",
        ),
        ("info", "{info}\nFYI\n{info}", "> [!NOTE]\n> FYI"),
        ("tip", "{tip}\nHint\n{tip}", "> [!TIP]\n> Hint"),
        (
            "note",
            "{note}\nCareful\n{note}",
            "> [!IMPORTANT]\n> Careful",
        ),
        (
            "warning",
            "{warning}\nDanger\n{warning}",
            "> [!WARNING]\n> Danger",
        ),
        (
            "panel with title",
            "{panel:title=Setup|borderStyle=dashed}\nDo this\n{panel}",
            "> **Setup**\n>\n> Do this",
        ),
        (
            "info with title",
            "{info:title=Heads up}\nFYI\n{info}",
            "> [!NOTE]\n> **Heads up**\n>\n> FYI",
        ),
        ("panel without title", "{panel}\nboxed\n{panel}", "> boxed"),
        (
            "unclosed quote keeps the rest",
            "{quote}\nquoted\n\nstill quoted",
            "> quoted\n>\n> still quoted",
        ),
        (
            "escaped markup",
            "\\*not bold\\* \\[not link\\] \\{{not mono}}",
            "\\*not bold\\* \\[not link\\] {{not mono}}",
        ),
        (
            "Markdown characters are escaped",
            "a `tick` <tag> ~x &amp; 1_000 *",
            "a \\`tick\\` \\<tag> \\~x \\&amp; 1_000 \\*",
        ),
        (
            "line starts are escaped",
            "# one\n\n1. not a list",
            "1. one\n\n1\\. not a list",
        ),
        (
            "paragraph line starting like Markdown",
            "x\n+ plus\n> gt",
            "x\\\n\\+ plus\\\n\\> gt",
        ),
        (
            "Windows line endings",
            "h1. T\r\n* a\r\n* b\r\n{code}\r\nx\r\n{code}",
            "# T\n\n- a\n- b\n\n```\nx\n```",
        ),
        // Found by feeding random markup through both directions.
        (
            "bare URL then emoticon",
            "see https://x.y/a:)",
            "see <https://x.y/a>:smile:",
        ),
        (
            "escaped closing tag in a quote",
            "{quote}\nuse \\{quote}\n{quote}",
            "> use {quote}",
        ),
        ("heading ending in a hash", "h2. Issue #", "## Issue \\#"),
        ("colour inside bold", "*{color:red}red{color}*", "**red**"),
        (
            "bold of nothing but a colour",
            "*{color:red}{color}* x",
            "x",
        ),
        (
            "URL in link text",
            "[see https://x.y|https://x.y]",
            "[see https://x.y](https://x.y)",
        ),
        ("empty items are dropped", "* a\n*\n* b", "- a\n- b"),
    ];

    /// (name, Markdown, wiki markup): one construct each.
    const MARKDOWN_TO_WIKI: &[(&str, &str, &str)] = &[
        ("empty", "", ""),
        ("headings", "# One\n\n###### Six", "h1. One\n\nh6. Six"),
        (
            "styles",
            "**bold** *italic* _also_ ~~strike~~ `mono`",
            "*bold* _italic_ _also_ -strike- {{mono}}",
        ),
        (
            "links",
            "[docs](https://x.y/d) <https://x.y> <ops@x.y>",
            "[docs|https://x.y/d] [https://x.y] [mailto:ops@x.y]",
        ),
        (
            "link text equal to URL",
            "[https://x.y](https://x.y)",
            "[https://x.y]",
        ),
        ("mention", "[@jdoe](mention:jdoe)", "[~jdoe]"),
        ("image", "![alt](a.png)", "!a.png!"),
        ("bullets", "- a\n  - b\n- c", "* a\n** b\n* c"),
        ("numbered mixed", "1. a\n   - b\n2. c", "# a\n#* b\n# c"),
        (
            "task list",
            "- [x] done\n- [ ] todo",
            "* \\[x\\] done\n* \\[ \\] todo",
        ),
        (
            "loose item paragraphs",
            "- one\n\n  more\n- two",
            "* one\\\\more\n* two",
        ),
        (
            "code in a list item",
            "1. run:\n\n   ```sh\n   make\n   ```\n2. done",
            "# run:\n{code:sh}\nmake\n{code}\n# done",
        ),
        (
            "table",
            "| a | b |\n| --- | --- |\n| 1 | |",
            "||a||b||\n|1| |",
        ),
        (
            "table without header",
            "| | |\n| --- | --- |\n| 1 | 2 |",
            "|1|2|",
        ),
        (
            "table pipes",
            "| x |\n| --- |\n| a\\|b `c\\|d` |",
            "||x||\n|a\\|b {{c\\|d}}|",
        ),
        (
            "code block",
            "```python\nprint('*hi*')\n```",
            "{code:python}\nprint('*hi*')\n{code}",
        ),
        (
            "code block without language",
            "```\n{code}\n```",
            "{noformat}\n{code}\n{noformat}",
        ),
        (
            "noformat inside code",
            "```\n{noformat}\n```",
            "{code}\n{noformat}\n{code}",
        ),
        (
            "indented code",
            "    x = 1",
            "{noformat}\nx = 1\n{noformat}",
        ),
        (
            "quote",
            "> said\n>\n> twice",
            "{quote}\nsaid\n\ntwice\n{quote}",
        ),
        (
            "nested quote paragraph",
            "> a\n> > b",
            "{quote}\na\n\nbq. b\n{quote}",
        ),
        (
            "nested quote blocks flatten",
            "> a\n> > b\n> >\n> > c",
            "{quote}\na\n\nb\n\nc\n{quote}",
        ),
        (
            "alerts",
            "> [!NOTE]\n> n\n\n> [!CAUTION]\n> c",
            "{info}\nn\n{info}\n\n{warning}\nc\n{warning}",
        ),
        (
            "rule and breaks",
            "a  \nb\\\nc\nd\n\n---",
            "a\\\\b\\\\c d\n\n----",
        ),
        ("br tag", "a<br>b", "a\\\\b"),
        (
            "shortcodes",
            ":smile: :thumbsup: :x: :unknown:",
            ":) (y) (x) :unknown:",
        ),
        (
            "literal markup is escaped",
            "\\*a\\* \\_b\\_ \\[c\\] {d} -e- ^f",
            "\\*a* \\_b_ \\[c] \\{d} \\-e- \\^f",
        ),
        (
            "line start markers are escaped",
            "\\- not a list\n\n\\# not a number",
            "\\- not a list\n\n\\# not a number",
        ),
        (
            "URLs are not escaped",
            "see https://x.y/~me/a_b-c",
            "see https://x.y/~me/a_b-c",
        ),
        (
            "Windows line endings",
            "# T\r\n\r\n- a\r\n- b\r\n",
            "h1. T\n\n* a\n* b",
        ),
        // Found by feeding random markup through both directions.
        (
            "block words are escaped",
            "h1. no heading\n\nbq. no quote",
            "h1\\. no heading\n\nbq\\. no quote",
        ),
        ("doubled markers", "a \\*\\* b", "a \\*\\* b"),
        ("shortcode inside a word", "ok:smile:", "ok:smile:"),
        ("link to a page", "[Page](Page)", "[Page|Page]"),
    ];

    /// Runs `convert` on every case and reports all mismatches at once.
    fn check_cases(cases: &[(&str, &str, &str)], convert: fn(&str) -> String) {
        let failures: Vec<String> = cases
            .iter()
            .filter(|(_, input, expected)| convert(input) != *expected)
            .map(|(name, input, expected)| {
                format!(
                    "{name}:\n  input:    {input:?}\n  expected: {expected:?}\n  actual:   {:?}",
                    convert(input)
                )
            })
            .collect();
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn wiki_constructs_read_as_markdown() {
        check_cases(WIKI_TO_MARKDOWN, to_markdown);
    }

    #[test]
    fn wiki_constructs_round_trip() {
        for (name, wiki, _) in WIKI_TO_MARKDOWN {
            check_wiki_round_trip(name, wiki);
        }
    }

    #[test]
    fn markdown_constructs_write_as_wiki_markup() {
        check_cases(MARKDOWN_TO_WIKI, from_markdown);
    }

    #[test]
    fn markdown_read_from_wiki_round_trips() {
        // What to_markdown writes is the canonical Markdown: it must survive md -> wiki -> md.
        for (name, _, markdown) in WIKI_TO_MARKDOWN {
            check_markdown_round_trip(name, markdown);
        }
    }

    #[test]
    fn bug_report_reads_as_the_expected_markdown() {
        assert_eq!(to_markdown(BUG_REPORT), BUG_REPORT_MARKDOWN.trim_end());
    }

    #[test]
    fn realistic_documents_keep_each_construct() {
        let cases: &[(&str, &str, &[&str])] = &[
            (
                "environments",
                ENVIRONMENTS,
                &[
                    "# Test environments\n\n",
                    "Owner: [@a.nguyen](mention:a.nguyen) (platform team).",
                    "[#platform-help](https://chat.example.com/channels/platform-help)",
                    "| Name | URL | Database | Notes |\n| --- | --- | --- | --- |\n",
                    "| dev | <https://dev.example.com> | PostgreSQL 15 | resets nightly |",
                    "[QA portal](https://qa.example.com/portal?x=1&y=2)",
                    "| `feature_flags=all` |",
                    "| perf | | Oracle 19c | cost center A\\|B, ask first |",
                    "**change freeze** until ~~May~~ June",
                    "> **Access**\n>\n> Request access in [IT-2231](https://jira.example.com/browse/IT-2231); approval takes 1-2 days.",
                    "> [!NOTE]\n> Credentials rotate every **90** days :information_source:",
                    "> [!TIP]\n> **Faster logins**\n>\n> Use the SSO bookmark :grinning:",
                    "| Region | Primary | Fallback |\n| --- | --- | --- |\n| eu-west-1 | yes | no |",
                    "| | | |\n| --- | --- | --- |\n| no | header | row |\n| second | row | here |",
                ],
            ),
            (
                "release_checklist",
                RELEASE_CHECKLIST,
                &[
                    "## Release 3.8 checklist\n\nDue **Friday**; blockers go in [the release page](https://wiki.example.com/x/Rel38).",
                    "1. Freeze the branch\n   - [x] create `release/3.8`\n   - [x] announce in the channel :thumbsup:\n   - [ ] lock the CI job\n2. Run the checks\n   1. unit tests\n",
                    "   2. integration tests on <https://ci.example.com/job/integration>\n      - [ ] Oracle\n      - [ ] PostgreSQL\n3. Publish\n   - ship it :white_check_mark:\n",
                    "- Loose bullet one\n- Loose bullet two with a literal \\* star and \\_underscores\\_ and \\[brackets\\]",
                    "> [!IMPORTANT]\n> Do **not** merge into `main` during the freeze. Ask [@release.manager](mention:release.manager) first.",
                    "> We ship when it's ready, not before.\\\n> \\-- the team",
                    "> Two approvals are required.\n\n---\n\n",
                    "```\nRelease notes go in CHANGES.md: *no markup* _here_ [not a link] {not a macro}\n```",
                    "Questions? :disappointed: Ask in the channel. Done :thumbsdown: / not done :x:",
                ],
            ),
        ];
        for (name, wiki, constructs) in cases {
            let markdown = to_markdown(wiki);
            for construct in *constructs {
                assert!(
                    markdown.contains(construct),
                    "{name}: no {construct:?} in\n{markdown}"
                );
            }
        }
    }

    #[test]
    fn realistic_documents_round_trip() {
        for (name, wiki) in WIKI_DOCUMENTS {
            check_wiki_round_trip(name, wiki);
        }
        check_markdown_round_trip("incident_update", INCIDENT_UPDATE_MARKDOWN.trim_end());
    }

    #[test]
    fn incident_update_writes_as_the_expected_wiki_markup() {
        assert_eq!(
            from_markdown(INCIDENT_UPDATE_MARKDOWN),
            INCIDENT_UPDATE.trim_end()
        );
    }

    #[test]
    fn windows_line_endings_read_like_unix_ones() {
        for (name, wiki) in WIKI_DOCUMENTS {
            let windows = wiki.replace('\n', "\r\n");
            assert_eq!(to_markdown(&windows), to_markdown(wiki), "{name}");
        }
        let windows = INCIDENT_UPDATE_MARKDOWN.replace('\n', "\r\n");
        assert_eq!(
            from_markdown(&windows),
            from_markdown(INCIDENT_UPDATE_MARKDOWN)
        );
    }
}
