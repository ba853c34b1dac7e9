//! Markdown -> wiki markup: what jira-mcp writes to a Data Center issue from a model's
//! Markdown.
//!
//! Parsed as GitHub-flavoured Markdown; text is escaped so that it shows as written in Jira.
//! Not here: wiki markup -> Markdown (see [`super::read`] and [`super::inline`]).

use pulldown_cmark::{
    BlockQuoteKind, CodeBlockKind, Event, LinkType, Options, Parser, Tag, TagEnd,
};

use super::inline::MONOSPACE_ESCAPABLE;
use super::{EMOTICONS, normalize_newlines, starts_with_at, starts_with_url, url_len};

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

/// An element being written; its children are written into it first.
struct Frame {
    kind: FrameKind,
    /// Inline wiki markup written so far.
    text: String,
    /// Finished child blocks (items of a list, rows of a table, cells of a row).
    blocks: Vec<WikiBlock>,
    /// The length of `text` right after the last line break written into it: a break written
    /// there is a second one in a row.
    break_end: Option<usize>,
    /// The length of `text` right after the last URL written bare into it: text written there
    /// follows a span, not the URL's last letter.
    bare_url_end: Option<usize>,
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
    /// The markers of the styles open where the text goes (`*`, `_`, `-`): a marker in the
    /// text could close one of them.
    open_styles: String,
}

impl Default for WikiWriter {
    fn default() -> Self {
        WikiWriter {
            stack: vec![Frame::new(FrameKind::Document)],
            pending_text: String::new(),
            open_styles: String::new(),
        }
    }
}

impl Frame {
    fn new(kind: FrameKind) -> Self {
        Frame {
            kind,
            text: String::new(),
            blocks: Vec::new(),
            break_end: None,
            bare_url_end: None,
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
            Event::HardBreak => self.hard_break(),
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
                // A plain quote in a quote is a `{panel}`, which reads back as a quote: the
                // quote macro cannot hold itself.
                None if self.open_quote("quote") && !self.open_quote("panel") => "panel",
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
            Tag::Emphasis => return self.open_style('_'),
            Tag::Strong => return self.open_style('*'),
            Tag::Strikethrough => return self.open_style('-'),
            // Footnotes, metadata, definition lists, super- and subscript are not enabled.
            _ => return,
        };
        self.stack.push(Frame::new(kind));
    }

    fn end(&mut self, tag: TagEnd) {
        match tag {
            TagEnd::Emphasis | TagEnd::Strong | TagEnd::Strikethrough => {
                if let Some(marker) = self.open_styles.pop() {
                    self.push_raw(&marker.to_string());
                }
                return;
            }
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
                // `bq.` is one line: a paragraph holding a newline (a break after a literal
                // backslash) needs the macro.
                let single_paragraph =
                    matches!(&frame.blocks[..], [block] if block.inline) && !inner.contains('\n');
                let block = if (nested || name == "panel") && single_paragraph {
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
                // After a literal backslash a `[` would be escaped: a URL there goes bare. Line
                // breaks (`\\`) are pairs of backslashes: an odd run ends in a literal one.
                let after_backslash = self.stack.last().is_some_and(|top| {
                    let run = top.text.len() - top.text.trim_end_matches('\\').len();
                    run % 2 == 1
                });
                let bare_url: Vec<char> = destination.chars().collect();
                let bare = after_backslash
                    && autolink
                    && starts_with_url(&bare_url)
                    && url_len(&bare_url) == bare_url.len();
                let link = if let Some(user) = destination.strip_prefix("mention:") {
                    format!("[~{user}]")
                } else if bare {
                    destination
                } else if autolink
                    || text.trim().is_empty()
                    || is_bare_wiki_link(&text, &destination)
                {
                    format!("[{destination}]")
                } else {
                    format!("[{text}|{destination}]")
                };
                self.push_raw(&link);
                if bare && let Some(top) = self.stack.last_mut() {
                    top.bare_url_end = Some(top.text.len());
                }
            }
            FrameKind::Image { destination } => {
                // `(` right before `!)…!` would read as the emoticon `(!)`.
                if destination.starts_with(')')
                    && let Some(top) = self.stack.last_mut()
                    && top.text.ends_with('(')
                    && !top.text.ends_with("\\(")
                {
                    top.text.insert(top.text.len() - 1, '\\');
                }
                self.push_raw(&format!("!{destination}!"));
            }
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
        let line = top.text.rsplit('\n').next().unwrap_or_default();
        let paragraph = !code && matches!(top.kind, FrameKind::Paragraph | FrameKind::Html);
        let context = WikiContext {
            code,
            open_styles: &self.open_styles,
            in_table,
            in_link: matches!(top.kind, FrameKind::Link { .. }),
            line_start: paragraph && line.is_empty(),
            after_line_start_bold: paragraph && !line.is_empty() && line.chars().all(|c| c == '*'),
            after_bare_url: top.bare_url_end == Some(top.text.len()),
        };
        escape_wiki(text, top.text.chars().next_back(), context)
    }

    /// `\\`, or in a paragraph whose text ends in a literal backslash, a newline (Jira shows
    /// both as a line break): wiki markup cannot escape that backslash, and `\\\` would read
    /// as a line break and an escape. A second break in a row in a paragraph is a line holding
    /// only `\\`: a break at either end of a line and the newline beside it read as one.
    ///
    /// A style cannot span lines (`-a\\` and `b-` on two lines are no strike): inside one, the
    /// breaks stay on the line. A second break in a row is `\\` right after the first (two
    /// breaks on one line read as two), and a break after a literal backslash is ` \\` (the
    /// reader drops blanks before a break, and `\ ` is a literal backslash).
    fn hard_break(&mut self) {
        let in_style = !self.open_styles.is_empty();
        let Some(top) = self.stack.last_mut() else {
            return;
        };
        let paragraph = matches!(top.kind, FrameKind::Paragraph);
        let again = paragraph && top.break_end == Some(top.text.len());
        let wiki = if again && in_style {
            "\\\\"
        } else if again && top.text.ends_with('\n') {
            "\\\\\n"
        } else if again {
            "\n\\\\\n"
        } else if paragraph && top.text.ends_with('\\') && in_style {
            " \\\\"
        } else if paragraph && top.text.ends_with('\\') {
            "\n"
        } else {
            "\\\\"
        };
        top.text.push_str(wiki);
        top.break_end = Some(top.text.len());
    }

    fn open_quote(&self, name: &str) -> bool {
        self.stack
            .iter()
            .any(|open| matches!(open.kind, FrameKind::Quote(outer) if outer == name))
    }

    fn open_style(&mut self, marker: char) {
        self.open_styles.push(marker);
        self.push_raw(&marker.to_string());
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
        // A closing backslash would escape the separator.
        if cell.text.ends_with('\\') {
            row.push(' ');
        }
        row.push_str(separator);
    }
    Some(row)
}

#[derive(Clone, Copy)]
struct WikiContext<'a> {
    code: bool,
    open_styles: &'a str,
    in_table: bool,
    in_link: bool,
    line_start: bool,
    /// Only bold markers are before the text on its line.
    after_line_start_bold: bool,
    /// The text follows a URL written bare, which the reader reads as a span: what follows it
    /// is read as after a link, not after a word (`https://x.y/a:)` ends in an emoticon).
    after_bare_url: bool,
}

/// Text as wiki markup that shows exactly that text: markup characters that could open
/// markup are escaped, emoticon shortcodes become emoticons, URLs stay as they are.
fn escape_wiki(text: &str, before: Option<char>, context: WikiContext<'_>) -> String {
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
        let after_word =
            before.is_some_and(char::is_alphanumeric) && !(at == 0 && context.after_bare_url);
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
        // A literal `:)` or `(y)` would read as an emoticon: its first character is escaped.
        let emoticon = !context.code
            && !after_word
            && EMOTICONS
                .iter()
                .any(|(wiki, _)| starts_with_at(&chars, at, wiki));
        let before_text = after.is_none_or(|a| !a.is_whitespace());
        let opens_markup = !after_word && before_text;
        // Inside `*bold*`, `0* ` would close it.
        let closes_markup = context.open_styles.contains(c)
            && before.is_some_and(|b| !b.is_whitespace())
            && after.is_none_or(|a| !a.is_alphanumeric());
        let escape = match c {
            // In monospace `\]` reads as `]`: after a literal backslash, a character the
            // reader unescapes there is escaped itself (`\\]` reads as `\]`).
            c if context.code && before == Some('\\') && MONOSPACE_ESCAPABLE.contains(c) => true,
            // After the same character (`**`), even a space after it leaves it ambiguous.
            '*' | '_' | '-' | '+' if before == Some(c) => true,
            '*' | '_' | '-' | '+' => opens_markup || closes_markup,
            '^' | '~' => before_text,
            // An image needs a name after the `!`: a `!` ending a sentence is safe.
            '!' => opens_markup && after.is_some(),
            '[' | '{' => true,
            '}' => context.code,
            ']' => context.in_link,
            '|' => context.in_table || context.in_link,
            _ => false,
        } || emoticon
            || (context.line_start && at == 0 && "*#-|".contains(c))
            // A `*` or `#` right after bold markers opening a line would make them one run of
            // list markers (`**#**` as `*#*`, an empty item).
            || (context.after_line_start_bold && at == 0 && "*#".contains(c))
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
