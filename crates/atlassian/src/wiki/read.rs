//! Wiki markup -> Markdown, block by block: headings, lists, tables, quotes, panels, code.
//!
//! Line-oriented, as Jira reads it; the text inside a block is [`super::inline`]'s. Total over
//! any input: what is not markup stays text. Not here: Markdown -> wiki markup (see
//! [`super::write`]).

use super::inline::{inline_into, inline_markdown, trim_breaks};
use super::{longest_run, normalize_newlines};

/// Jira wiki markup as Markdown.
///
/// Windows line endings are accepted; the Markdown uses `\n` and has no trailing newline.
pub fn to_markdown(wiki: &str) -> String {
    // Markdown holds no NUL (CommonMark reads it as U+FFFD), and other control characters end
    // autolinks and link destinations: all are U+FFFD, as CommonMark has it for NUL.
    let wiki: String = normalize_newlines(wiki)
        .chars()
        .map(|c| match c {
            '\t' | '\n' => c,
            c if c.is_ascii_control() => '\u{fffd}',
            c => c,
        })
        .collect();
    wiki_blocks(&wiki, &[]).join("\n\n")
}

/// Wiki macros that hold blocks and therefore start a block wherever they appear.
const BLOCK_MACROS: [&str; 8] = [
    "code", "noformat", "quote", "panel", "info", "note", "warning", "tip",
];

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
/// `quotes` are the quote-like macros around `wiki`, by the name [`super::from_markdown`]
/// would write each with.
fn wiki_blocks(wiki: &str, quotes: &[&'static str]) -> Vec<String> {
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
            .extend(macro_markdown(found.name, found.params, body, quotes));
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

/// Where a macro's closing tag starts. Code is verbatim, so there `\{code}` closes too; in
/// a quote or panel, a code block's text is skipped, so `{quote}` in code closes nothing.
fn find_closing_tag(text: &str, closing: &str, name: &str) -> Option<usize> {
    let verbatim = matches!(name, "code" | "noformat");
    let mut search_from = 0;
    while let Some(offset) = text[search_from..].find(closing) {
        let at = search_from + offset;
        if !verbatim && let Some((from, code)) = first_code_macro(text, search_from, at) {
            let body = from + code.end;
            let code_closing = format!("{{{}}}", code.name);
            // An unclosed code block runs to the end, and so does the macro around it.
            let code_end = find_closing_tag(&text[body..], &code_closing, code.name)?;
            search_from = body + code_end + code_closing.len();
            continue;
        }
        if verbatim || !text[..at].ends_with('\\') {
            return Some(at);
        }
        search_from = at + closing.len();
    }
    None
}

/// The first `{code}` or `{noformat}` opening in `text[from..to]`, and the offset its
/// positions count from.
fn first_code_macro(text: &str, mut from: usize, to: usize) -> Option<(usize, BlockMacro<'_>)> {
    while let Some(found) = find_block_macro(&text[from..to]) {
        if matches!(found.name, "code" | "noformat") {
            return Some((from, found));
        }
        from += found.end;
    }
    None
}

fn macro_markdown(
    name: &'static str,
    params: &str,
    body: &str,
    quotes: &[&'static str],
) -> Vec<String> {
    let title = params
        .split('|')
        .find_map(|param| param.strip_prefix("title="))
        .map(str::trim)
        .filter(|title| !title.is_empty());
    let alert = match name {
        "code" => return vec![fenced_code(code_language(params), macro_body(body))],
        "noformat" => return vec![fenced_code(None, macro_body(body))],
        "info" => Some("[!NOTE]"),
        "tip" => Some("[!TIP]"),
        "note" => Some("[!IMPORTANT]"),
        "warning" => Some("[!WARNING]"),
        _ => None,
    };
    // Only the nesting from_markdown can write back is read as nesting: a plain quote in a
    // quote is a `{panel}`, a third plain level or an alert in the same alert is flattened.
    let written = match name {
        "quote" | "panel" if !quotes.contains(&"quote") => Some("quote"),
        "quote" | "panel" if !quotes.contains(&"panel") => Some("panel"),
        "quote" | "panel" => None,
        alert if quotes.contains(&alert) => None,
        alert => Some(alert),
    };
    let title = title.map(|title| format!("**{}**", inline_markdown(title, false)));
    let Some(written) = written else {
        let mut blocks: Vec<String> = title.into_iter().collect();
        blocks.extend(wiki_blocks(body, quotes));
        return blocks;
    };
    let mut lines: Vec<String> = alert.map(String::from).into_iter().collect();
    let has_title = title.is_some();
    lines.extend(title);
    let quotes: Vec<&'static str> = quotes.iter().copied().chain([written]).collect();
    let inner = wiki_blocks(body, &quotes).join("\n\n");
    if !inner.is_empty() {
        if has_title {
            lines.push(String::new());
        }
        lines.extend(inner.lines().map(String::from));
    }
    if lines.is_empty() {
        return Vec::new();
    }
    vec![quote_lines(&lines.join("\n"))]
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
            let mut text = heading_markdown(text);
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

/// A heading's text as Markdown: one line, its line breaks spaces. Text after a break
/// escapes what would open a block at a line start (`\\-`, `1\\.`): in a heading that is no
/// line start, and the escape is dropped as the writer would not write it.
fn heading_markdown(wiki: &str) -> String {
    let markdown = inline_markdown(wiki, false);
    let mut heading = String::with_capacity(markdown.len());
    for (i, line) in markdown.split("\\\n").enumerate() {
        if i == 0 {
            heading.push_str(line);
            continue;
        }
        heading.push(' ');
        let digits = line.len() - line.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        let escape_at = if line[digits..].starts_with("\\.") || line[digits..].starts_with("\\)") {
            Some(digits)
        } else if digits == 0
            && line.starts_with("\\")
            && line[1..].starts_with(['#', '>', '-', '+', '='])
        {
            Some(0)
        } else {
            None
        };
        match escape_at {
            Some(at) => {
                heading.push_str(&line[..at]);
                heading.push_str(&line[at + 1..]);
            }
            None => heading.push_str(line),
        }
    }
    heading
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
        let mut inline = String::from(task);
        inline_into(text, false, &mut inline);
        // Breaks at the ends of the text are dropped after a task marker as without one
        // (`* \[x\] \\A` is `- [x] A`): a break there shows nothing.
        let content = format!("{task}{}", trim_breaks(&inline[task.len()..]));
        let mut content = trim_breaks(&content);
        // A task marker with no text after it is no task in Markdown (`- [x]`): it is text.
        let marker_alone = task.trim_end().replace('[', "\\[").replace(']', "\\]");
        if !task.is_empty() && content == task.trim_end() {
            content = &marker_alone;
        }
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

/// The `[x]` / `[ ]` a checklist item opens with (escaped, as [`super::from_markdown`] writes it,
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
                // The link's `]`, not an escaped one in its text (`[\\]|url]`).
                b'[' => unescaped_close(&bytes[at + 1..]).map_or(at + 1, |close| at + close + 2),
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

/// Where the first `]` that no backslash escapes is.
fn unescaped_close(bytes: &[u8]) -> Option<usize> {
    let mut at = 0;
    while at < bytes.len() {
        match bytes[at] {
            b'\\' => at += 2,
            b']' => return Some(at),
            _ => at += 1,
        }
    }
    None
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
                    // `**` next to punctuation (`**\\***`) may not read back as bold.
                    let boldable = markdown.starts_with(|c: char| !c.is_ascii_punctuation())
                        && markdown.ends_with(|c: char| !c.is_ascii_punctuation());
                    if header_column && boldable {
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
