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

use pulldown_cmark::{
    BlockQuoteKind, CodeBlockKind, Event, LinkType, Options, Parser, Tag, TagEnd,
};
use serde_json::{Map, Value, json};

/// An ADF document as Markdown.
pub fn to_markdown(doc: &Value) -> String {
    let mut lines = Vec::new();
    blocks_to_lines(content(doc), &mut lines);
    let mut text = lines.join("\n");
    while text.ends_with('\n') {
        text.pop();
    }
    text
}

fn content(node: &Value) -> &[Value] {
    node["content"].as_array().map_or(&[], Vec::as_slice)
}

fn attr<'a>(node: &'a Value, key: &str) -> &'a Value {
    &node["attrs"][key]
}

/// Renders block nodes as lines, blocks separated by one empty line.
fn blocks_to_lines(nodes: &[Value], out: &mut Vec<String>) {
    let mut first = true;
    for node in nodes {
        let mut block = Vec::new();
        block_to_lines(node, &mut block);
        if block.is_empty() {
            continue;
        }
        if !first {
            out.push(String::new());
        }
        first = false;
        out.extend(block);
    }
}

fn block_to_lines(node: &Value, out: &mut Vec<String>) {
    match node["type"].as_str().unwrap_or("") {
        "paragraph" => {
            let text = inline_to_markdown(content(node));
            if !text.is_empty() {
                out.extend(escape_block_start(&text).lines().map(str::to_owned));
            }
        }
        "heading" => {
            let level = attr(node, "level").as_u64().unwrap_or(1).clamp(1, 6) as usize;
            out.push(format!(
                "{} {}",
                "#".repeat(level),
                inline_to_markdown(content(node)).replace('\n', " ")
            ));
        }
        "bulletList" => list_to_lines(node, None, out),
        "orderedList" => {
            let start = attr(node, "order").as_u64().unwrap_or(1);
            list_to_lines(node, Some(start), out)
        }
        "taskList" | "decisionList" => task_list_to_lines(node, out),
        "codeBlock" => {
            let code: String = content(node)
                .iter()
                .filter_map(|t| t["text"].as_str())
                .collect();
            let fence = fence_for(&code);
            let language = attr(node, "language").as_str().unwrap_or("");
            out.push(format!("{fence}{language}"));
            out.extend(code.lines().map(str::to_owned));
            out.push(fence);
        }
        "blockquote" => quote_to_lines(None, content(node), out),
        "panel" => {
            let kind = match attr(node, "panelType").as_str().unwrap_or("info") {
                "tip" | "success" => "TIP",
                "note" => "IMPORTANT",
                "warning" => "WARNING",
                "error" => "CAUTION",
                _ => "NOTE",
            };
            quote_to_lines(Some(kind), content(node), out)
        }
        "rule" => out.push("---".into()),
        "table" => table_to_lines(node, out),
        "mediaSingle" | "mediaGroup" => {
            let images: Vec<String> = content(node).iter().map(media_to_markdown).collect();
            out.push(images.join(" "));
        }
        "media" => out.push(media_to_markdown(node)),
        "expand" | "nestedExpand" => {
            if let Some(title) = attr(node, "title").as_str().filter(|t| !t.is_empty()) {
                out.push(format!("**{}**", escape_text(title)));
                out.push(String::new());
            }
            blocks_to_lines(content(node), out);
        }
        "blockCard" | "embedCard" => {
            if let Some(url) = attr(node, "url").as_str() {
                out.push(format!("<{url}>"));
            }
        }
        // Unknown or layout nodes: their content is what a reader needs.
        _ => blocks_to_lines(content(node), out),
    }
}

fn list_to_lines(node: &Value, start: Option<u64>, out: &mut Vec<String>) {
    for (i, item) in content(node).iter().enumerate() {
        let marker = match start {
            Some(n) => format!("{}. ", n + i as u64),
            None => "- ".to_owned(),
        };
        let mut body = Vec::new();
        item_to_lines(content(item), &mut body);
        push_item(&marker, body, out);
    }
}

/// A list item's blocks: like [`blocks_to_lines`], but a nested list right after a paragraph
/// stays tight (`- item` then `  - nested`), as people write them.
fn item_to_lines(nodes: &[Value], out: &mut Vec<String>) {
    for (i, node) in nodes.iter().enumerate() {
        let is_list = matches!(
            node["type"].as_str(),
            Some("bulletList" | "orderedList" | "taskList")
        );
        if i > 0 && !is_list {
            out.push(String::new());
        }
        block_to_lines(node, out);
    }
}

fn task_list_to_lines(node: &Value, out: &mut Vec<String>) {
    for item in content(node) {
        match item["type"].as_str() {
            Some("taskList" | "decisionList") => {
                let mut nested = Vec::new();
                task_list_to_lines(item, &mut nested);
                out.extend(nested.into_iter().map(|l| format!("  {l}")));
            }
            _ => {
                let done = attr(item, "state").as_str() == Some("DONE")
                    || attr(item, "state").as_str() == Some("DECIDED");
                let marker = if done { "- [x] " } else { "- [ ] " };
                let text = inline_to_markdown(content(item));
                push_item(marker, text.lines().map(str::to_owned).collect(), out);
            }
        }
    }
}

/// One list item: the marker before the first line, the rest indented to the marker's width.
fn push_item(marker: &str, body: Vec<String>, out: &mut Vec<String>) {
    let indent = " ".repeat(marker.len().min(4));
    if body.is_empty() {
        out.push(marker.trim_end().to_owned());
        return;
    }
    for (i, line) in body.into_iter().enumerate() {
        if i == 0 {
            out.push(format!("{marker}{line}"));
        } else if line.is_empty() {
            out.push(line);
        } else {
            out.push(format!("{indent}{line}"));
        }
    }
}

fn quote_to_lines(kind: Option<&str>, children: &[Value], out: &mut Vec<String>) {
    if let Some(kind) = kind {
        out.push(format!("> [!{kind}]"));
    }
    let mut body = Vec::new();
    blocks_to_lines(children, &mut body);
    out.extend(body.into_iter().map(|l| {
        if l.is_empty() {
            ">".to_owned()
        } else {
            format!("> {l}")
        }
    }));
}

fn table_to_lines(node: &Value, out: &mut Vec<String>) {
    let rows: Vec<Vec<String>> = content(node)
        .iter()
        .map(|row| {
            content(row)
                .iter()
                .map(|cell| {
                    let mut lines = Vec::new();
                    blocks_to_lines(content(cell), &mut lines);
                    lines
                        .into_iter()
                        .filter(|l| !l.is_empty())
                        .collect::<Vec<_>>()
                        .join(" ")
                        .replace('|', "\\|")
                })
                .collect()
        })
        .collect();
    let width = rows.iter().map(Vec::len).max().unwrap_or(0);
    if width == 0 {
        return;
    }
    let line = |cells: &[String]| {
        let mut padded: Vec<&str> = cells.iter().map(String::as_str).collect();
        padded.resize(width, "");
        format!("| {} |", padded.join(" | "))
    };
    out.push(line(&rows[0]));
    out.push(format!("|{}", " --- |".repeat(width)));
    for row in &rows[1..] {
        out.push(line(row));
    }
}

fn media_to_markdown(node: &Value) -> String {
    let alt = attr(node, "alt").as_str().unwrap_or("");
    match attr(node, "type").as_str() {
        Some("external") => format!("![{alt}]({})", attr(node, "url").as_str().unwrap_or("")),
        _ => format!(
            "![{alt}](attachment:{})",
            attr(node, "id").as_str().unwrap_or("")
        ),
    }
}

/// A code fence longer than any run of backticks in the code.
fn fence_for(code: &str) -> String {
    let longest = code.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    "`".repeat(longest.max(2) + 1)
}

/// Inline nodes as Markdown.
fn inline_to_markdown(nodes: &[Value]) -> String {
    let mut out = String::new();
    for node in nodes {
        match node["type"].as_str().unwrap_or("") {
            "text" => out.push_str(&marked_text(node)),
            "hardBreak" => out.push_str("\\\n"),
            "mention" => {
                let name = attr(node, "text").as_str().unwrap_or("");
                let name = name.strip_prefix('@').unwrap_or(name);
                out.push_str(&format!(
                    "[@{}](mention:{})",
                    escape_text(name),
                    attr(node, "id").as_str().unwrap_or("")
                ));
            }
            "emoji" => {
                let short = attr(node, "shortName").as_str().unwrap_or("");
                match attr(node, "text").as_str() {
                    Some(text) if short.is_empty() => out.push_str(text),
                    _ => out.push_str(short),
                }
            }
            "status" => out.push_str(&format!(
                "[{}](status:{})",
                escape_text(attr(node, "text").as_str().unwrap_or("")),
                attr(node, "color").as_str().unwrap_or("neutral")
            )),
            "inlineCard" => {
                if let Some(url) = attr(node, "url").as_str() {
                    out.push_str(&format!("<{url}>"));
                }
            }
            "date" => {
                let millis = attr(node, "timestamp")
                    .as_str()
                    .and_then(|t| t.parse::<i64>().ok())
                    .or_else(|| attr(node, "timestamp").as_i64());
                if let Some(date) = millis.and_then(chrono_date) {
                    out.push_str(&date);
                }
            }
            "mediaInline" | "media" => out.push_str(&media_to_markdown(node)),
            _ => out.push_str(&inline_to_markdown(content(node))),
        }
    }
    out
}

/// `YYYY-MM-DD` of a millisecond Unix timestamp (ADF `date` nodes), by civil-from-days.
fn chrono_date(millis: i64) -> Option<String> {
    let days = millis.div_euclid(86_400_000);
    // Howard Hinnant's days-to-civil algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    Some(format!("{year:04}-{month:02}-{day:02}"))
}

fn marked_text(node: &Value) -> String {
    let raw = node["text"].as_str().unwrap_or("");
    let marks: Vec<&str> = node["marks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["type"].as_str())
        .collect();
    let mut text = if marks.contains(&"code") {
        let ticks = if raw.contains('`') { "``" } else { "`" };
        let pad = if raw.starts_with('`') || raw.ends_with('`') {
            " "
        } else {
            ""
        };
        format!("{ticks}{pad}{raw}{pad}{ticks}")
    } else {
        escape_text(raw)
    };
    // Emphasis markers must hug non-space characters: move surrounding spaces outside.
    let (lead, core, trail) = split_spaces(&text);
    let mut core = core.to_owned();
    if !core.is_empty() {
        for (mark, wrap) in [("strike", "~~"), ("em", "*"), ("strong", "**")] {
            if marks.contains(&mark) {
                core = format!("{wrap}{core}{wrap}");
            }
        }
    }
    text = format!("{lead}{core}{trail}");
    if let Some(link) = node["marks"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|m| m["type"] == "link")
    {
        let href = link["attrs"]["href"].as_str().unwrap_or("");
        text = format!("[{text}]({})", href.replace(' ', "%20").replace(')', "%29"));
    }
    text
}

fn split_spaces(text: &str) -> (&str, &str, &str) {
    let trimmed_start = text.trim_start();
    let lead = &text[..text.len() - trimmed_start.len()];
    let core = trimmed_start.trim_end();
    let trail = &trimmed_start[core.len()..];
    (lead, core, trail)
}

/// Backslash-escapes what Markdown would read as inline markup.
fn escape_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '\\' | '*' | '_' | '`' | '[' | ']' | '<' | '~') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Escapes what would start a block (heading, quote, list, rule) at the start of a paragraph.
fn escape_block_start(text: &str) -> String {
    let starts_block = text.starts_with('#')
        || text.starts_with('>')
        || text.starts_with("- ")
        || text.starts_with("+ ")
        || text.starts_with('|')
        || text.starts_with("---")
        || text.starts_with("===")
        || {
            let digits = text.chars().take_while(char::is_ascii_digit).count();
            digits > 0 && matches!(text[digits..].chars().next(), Some('.' | ')'))
        };
    if !starts_block {
        return text.to_owned();
    }
    let digits = text.chars().take_while(char::is_ascii_digit).count();
    if digits > 0 {
        format!("{}\\{}", &text[..digits], &text[digits..])
    } else {
        format!("\\{text}")
    }
}

/// The Markdown options every converter of this crate parses with.
pub fn markdown_options() -> Options {
    Options::ENABLE_TABLES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_GFM
}

/// Markdown as an ADF document.
pub fn from_markdown(markdown: &str) -> Value {
    let mut builder = AdfBuilder::default();
    for event in Parser::new_ext(markdown, markdown_options()) {
        builder.event(event);
    }
    builder.finish()
}

/// An ADF node under construction.
struct Open {
    node: Map<String, Value>,
    children: Vec<Value>,
    /// Inline text collected for a mention or status link.
    label: Option<String>,
    /// List items that carried a task marker.
    tasks: Vec<bool>,
}

impl Open {
    fn new(node: Value) -> Self {
        Self {
            node: node.as_object().cloned().unwrap_or_default(),
            children: Vec::new(),
            label: None,
            tasks: Vec::new(),
        }
    }

    fn kind(&self) -> &str {
        self.node.get("type").and_then(Value::as_str).unwrap_or("")
    }
}

#[derive(Default)]
struct AdfBuilder {
    stack: Vec<Open>,
    marks: Vec<Value>,
    done: Vec<Value>,
    in_code_block: bool,
}

/// Nodes whose children must be blocks: inline content arriving in them gets a paragraph.
fn holds_blocks(kind: &str) -> bool {
    matches!(
        kind,
        "listItem" | "blockquote" | "panel" | "tableCell" | "tableHeader" | "doc"
    )
}

impl AdfBuilder {
    fn push(&mut self, node: Value) {
        self.stack.push(Open::new(node));
    }

    fn pop(&mut self) {
        let Some(open) = self.stack.pop() else {
            return;
        };
        let mut node = open.node;
        let kind = node
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        let mut children = open.children;
        if kind == "bulletList" && !open.tasks.is_empty() && open.tasks.len() == children.len() {
            // A list whose every item is `[ ]` or `[x]` is a task list.
            let items: Vec<Value> = children
                .into_iter()
                .zip(open.tasks)
                .enumerate()
                .map(|(i, (item, done))| task_item(item, done, i))
                .collect();
            self.append(json!({"type": "taskList", "attrs": {"localId": ""}, "content": items}));
            return;
        }
        if kind == "paragraph" && children.is_empty() {
            return;
        }
        if matches!(kind.as_str(), "tableCell" | "tableHeader") && children.is_empty() {
            children.push(json!({"type": "paragraph", "content": []}));
        }
        node.insert("content".into(), Value::Array(children));
        self.append(Value::Object(node));
    }

    fn append(&mut self, node: Value) {
        let siblings = match self.stack.last_mut() {
            Some(parent) => &mut parent.children,
            None => &mut self.done,
        };
        // The parser splits text at escapes and entities: one text node per run of marks.
        if node["type"] == "text"
            && let Some(last) = siblings.last_mut()
            && last["type"] == "text"
            && last["marks"] == node["marks"]
        {
            let joined = format!(
                "{}{}",
                last["text"].as_str().unwrap_or(""),
                node["text"].as_str().unwrap_or("")
            );
            last["text"] = joined.into();
            return;
        }
        siblings.push(node);
    }

    /// Inline content goes into a paragraph when its container holds blocks.
    fn inline(&mut self, node: Value) {
        if let Some(open) = self.stack.last_mut()
            && let Some(label) = open.label.as_mut()
        {
            label.push_str(node["text"].as_str().unwrap_or(""));
            return;
        }
        if self.stack.last().is_none_or(|o| holds_blocks(o.kind())) {
            self.push(json!({"type": "paragraph"}));
        }
        self.append(node);
    }

    /// Closes an implicit paragraph before a block starts or its container ends.
    fn close_implicit_paragraph(&mut self) {
        if self.stack.last().is_some_and(|o| o.kind() == "paragraph")
            && self.stack.len() >= 2
            && holds_blocks(self.stack[self.stack.len() - 2].kind())
        {
            self.pop();
        }
    }

    fn text(&mut self, text: &str) {
        if self.in_code_block {
            self.append(json!({"type": "text", "text": text}));
            return;
        }
        for piece in split_emoji(text) {
            match piece {
                Piece::Text(t) => {
                    let mut node = json!({"type": "text", "text": t});
                    if !self.marks.is_empty() {
                        node["marks"] = Value::Array(self.marks.clone());
                    }
                    self.inline(node);
                }
                Piece::Emoji(short) => {
                    self.inline(json!({"type": "emoji", "attrs": {"shortName": short}}))
                }
            }
        }
    }

    fn event(&mut self, event: Event<'_>) {
        match event {
            Event::Start(tag) => self.start(tag),
            Event::End(tag) => self.end(tag),
            Event::Text(text) => self.text(&text),
            Event::Code(code) => {
                let mut marks: Vec<Value> = self
                    .marks
                    .iter()
                    .filter(|m| m["type"] == "link")
                    .cloned()
                    .collect();
                marks.push(json!({"type": "code"}));
                self.inline(json!({"type": "text", "text": code.as_ref(), "marks": marks}));
            }
            Event::SoftBreak => self.text(" "),
            Event::HardBreak => self.inline(json!({"type": "hardBreak"})),
            Event::Rule => {
                self.close_implicit_paragraph();
                self.append(json!({"type": "rule"}));
            }
            Event::TaskListMarker(done) => {
                // The marker belongs to the innermost list item; its list records it.
                if let Some(list) = self
                    .stack
                    .iter_mut()
                    .rev()
                    .find(|o| o.kind() == "bulletList")
                {
                    list.tasks.push(done);
                }
            }
            Event::Html(html) | Event::InlineHtml(html) => self.text(&html),
            Event::InlineMath(t) | Event::DisplayMath(t) | Event::FootnoteReference(t) => {
                self.text(&t)
            }
        }
    }

    fn start(&mut self, tag: Tag<'_>) {
        match tag {
            Tag::Paragraph => {
                self.close_implicit_paragraph();
                self.push(json!({"type": "paragraph"}));
            }
            Tag::Heading { level, .. } => {
                self.close_implicit_paragraph();
                self.push(json!({"type": "heading", "attrs": {"level": level as u8}}));
            }
            Tag::BlockQuote(kind) => {
                self.close_implicit_paragraph();
                let panel = kind.map(|k| match k {
                    BlockQuoteKind::Note => "info",
                    BlockQuoteKind::Tip => "tip",
                    BlockQuoteKind::Important => "note",
                    BlockQuoteKind::Warning => "warning",
                    BlockQuoteKind::Caution => "error",
                });
                match panel {
                    Some(p) => self.push(json!({"type": "panel", "attrs": {"panelType": p}})),
                    None => self.push(json!({"type": "blockquote"})),
                }
            }
            Tag::CodeBlock(kind) => {
                self.close_implicit_paragraph();
                let language = match kind {
                    CodeBlockKind::Fenced(lang) => {
                        lang.split_whitespace().next().map(str::to_owned)
                    }
                    CodeBlockKind::Indented => None,
                };
                let mut node = json!({"type": "codeBlock"});
                if let Some(lang) = language.filter(|l| !l.is_empty()) {
                    node["attrs"] = json!({"language": lang});
                }
                self.push(node);
                self.in_code_block = true;
            }
            Tag::List(start) => {
                self.close_implicit_paragraph();
                match start {
                    Some(1) => self.push(json!({"type": "orderedList"})),
                    Some(n) => self.push(json!({"type": "orderedList", "attrs": {"order": n}})),
                    None => self.push(json!({"type": "bulletList"})),
                }
            }
            Tag::Item => self.push(json!({"type": "listItem"})),
            Tag::Table(_) => {
                self.close_implicit_paragraph();
                self.push(json!({"type": "table"}));
            }
            Tag::TableHead | Tag::TableRow => self.push(json!({"type": "tableRow"})),
            Tag::TableCell => {
                let in_head = self.stack.len() >= 2
                    && self.stack[self.stack.len() - 2].kind() == "table"
                    && self.stack[self.stack.len() - 2].children.is_empty();
                self.push(json!({"type": if in_head { "tableHeader" } else { "tableCell" }}));
            }
            Tag::Emphasis => self.marks.push(json!({"type": "em"})),
            Tag::Strong => self.marks.push(json!({"type": "strong"})),
            Tag::Strikethrough => self.marks.push(json!({"type": "strike"})),
            Tag::Link {
                link_type: LinkType::Autolink,
                dest_url,
                ..
            } => {
                let mut open =
                    Open::new(json!({"type": "inlineCard", "attrs": {"url": dest_url.as_ref()}}));
                open.label = Some(String::new());
                self.stack.push(open);
            }
            Tag::Link { dest_url, .. } => {
                if let Some(id) = dest_url.strip_prefix("mention:") {
                    let mut open = Open::new(json!({"type": "mention", "attrs": {"id": id}}));
                    open.label = Some(String::new());
                    self.stack.push(open);
                } else if let Some(color) = dest_url.strip_prefix("status:") {
                    let mut open = Open::new(
                        json!({"type": "status", "attrs": {"color": color, "localId": ""}}),
                    );
                    open.label = Some(String::new());
                    self.stack.push(open);
                } else {
                    self.marks
                        .push(json!({"type": "link", "attrs": {"href": dest_url.as_ref()}}));
                }
            }
            Tag::Image { dest_url, .. } => {
                // ADF media need an uploaded attachment: an image becomes a link to it.
                self.marks
                    .push(json!({"type": "link", "attrs": {"href": dest_url.as_ref()}}));
            }
            _ => {}
        }
    }

    fn end(&mut self, tag: TagEnd) {
        match tag {
            TagEnd::Emphasis | TagEnd::Strong | TagEnd::Strikethrough => {
                self.marks.pop();
            }
            TagEnd::Image => {
                self.marks.pop();
            }
            TagEnd::Link => {
                if self.stack.last().is_some_and(|o| o.label.is_some()) {
                    let mut open = self.stack.pop().expect("checked above");
                    let label = open.label.take().unwrap_or_default();
                    let text = match open.kind() {
                        "mention" => Some(format!("@{}", label.trim_start_matches('@'))),
                        "status" => Some(label),
                        _ => None,
                    };
                    if let (Some(text), Some(Value::Object(attrs))) =
                        (text, open.node.get_mut("attrs"))
                    {
                        attrs.insert("text".into(), text.into());
                    }
                    self.inline(Value::Object(open.node));
                } else {
                    self.marks.pop();
                }
            }
            TagEnd::CodeBlock => {
                self.in_code_block = false;
                // pulldown-cmark ends code text with a newline ADF does not keep.
                if let Some(open) = self.stack.last_mut() {
                    let code: String = open
                        .children
                        .iter()
                        .filter_map(|t| t["text"].as_str())
                        .collect();
                    let code = code.strip_suffix('\n').unwrap_or(&code).to_owned();
                    open.children = if code.is_empty() {
                        Vec::new()
                    } else {
                        vec![json!({"type": "text", "text": code})]
                    };
                }
                self.pop();
            }
            TagEnd::Item
            | TagEnd::BlockQuote(_)
            | TagEnd::TableCell
            | TagEnd::TableHead
            | TagEnd::TableRow
            | TagEnd::Table
            | TagEnd::List(_) => {
                self.close_implicit_paragraph();
                self.pop();
            }
            TagEnd::Paragraph | TagEnd::Heading(_) => self.pop(),
            _ => {}
        }
    }

    fn finish(mut self) -> Value {
        while !self.stack.is_empty() {
            self.pop();
        }
        json!({"type": "doc", "version": 1, "content": self.done})
    }
}

/// A list item's content as a task item's inline content.
fn task_item(item: Value, done: bool, index: usize) -> Value {
    let inline: Vec<Value> = content(&item)
        .iter()
        .flat_map(|block| match block["type"].as_str() {
            Some("paragraph") => content(block).to_vec(),
            _ => Vec::new(),
        })
        .collect();
    json!({
        "type": "taskItem",
        "attrs": {"localId": format!("task-{}", index + 1), "state": if done { "DONE" } else { "TODO" }},
        "content": inline,
    })
}

enum Piece<'a> {
    Text(&'a str),
    Emoji(&'a str),
}

/// Splits `:shortname:` emoji out of text.
fn split_emoji(text: &str) -> Vec<Piece<'_>> {
    let mut pieces = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(':') {
        let after = &rest[start + 1..];
        let name_len = after
            .char_indices()
            .take_while(|(_, c)| c.is_ascii_alphanumeric() || matches!(c, '_' | '+' | '-'))
            .count();
        let is_emoji = name_len > 0
            && after[..name_len].starts_with(|c: char| c.is_ascii_lowercase())
            && after[name_len..].starts_with(':');
        if is_emoji {
            if start > 0 {
                pieces.push(Piece::Text(&rest[..start]));
            }
            pieces.push(Piece::Emoji(&rest[start..start + name_len + 2]));
            rest = &rest[start + name_len + 2..];
        } else {
            if start + 1 > 0 {
                pieces.push(Piece::Text(&rest[..start + 1]));
            }
            rest = &rest[start + 1..];
        }
    }
    if !rest.is_empty() {
        pieces.push(Piece::Text(rest));
    }
    // Adjacent text pieces join again, so text nodes are not split at every colon.
    let mut joined: Vec<Piece<'_>> = Vec::new();
    for piece in pieces {
        match (joined.last_mut(), piece) {
            (Some(Piece::Text(prev)), Piece::Text(next)) => {
                let start = prev.as_ptr() as usize - text.as_ptr() as usize;
                *prev = &text[start..start + prev.len() + next.len()];
            }
            (_, piece) => joined.push(piece),
        }
    }
    joined
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A Jira Cloud bug report as the REST API returns it (shape from a real issue).
    fn bug_report() -> Value {
        json!({"type": "doc", "version": 1, "content": [
            {"type": "heading", "attrs": {"level": 2}, "content": [{"type": "text", "text": "Steps to reproduce"}]},
            {"type": "orderedList", "attrs": {"order": 1}, "content": [
                {"type": "listItem", "content": [{"type": "paragraph", "content": [
                    {"type": "text", "text": "Open "},
                    {"type": "text", "text": "Settings", "marks": [{"type": "strong"}]},
                    {"type": "text", "text": " as "},
                    {"type": "mention", "attrs": {"id": "5b10ac8d82e05b22cc7d4ef5", "text": "@Jane Doe", "accessLevel": ""}}
                ]}]},
                {"type": "listItem", "content": [
                    {"type": "paragraph", "content": [{"type": "text", "text": "Click "}, {"type": "text", "text": "Save", "marks": [{"type": "code"}]}]},
                    {"type": "bulletList", "content": [
                        {"type": "listItem", "content": [{"type": "paragraph", "content": [{"type": "text", "text": "on Chrome 120"}]}]},
                        {"type": "listItem", "content": [{"type": "paragraph", "content": [{"type": "text", "text": "on Firefox", "marks": [{"type": "em"}]}]}]}
                    ]}
                ]}
            ]},
            {"type": "panel", "attrs": {"panelType": "warning"}, "content": [
                {"type": "paragraph", "content": [{"type": "text", "text": "Data loss possible "}, {"type": "emoji", "attrs": {"shortName": ":warning:", "id": "atlassian-warning", "text": ":warning:"}}]}
            ]},
            {"type": "paragraph", "content": [
                {"type": "text", "text": "Status: "},
                {"type": "status", "attrs": {"text": "IN PROGRESS", "color": "blue", "localId": "abc"}},
                {"type": "text", "text": " see "},
                {"type": "text", "text": "the runbook", "marks": [{"type": "link", "attrs": {"href": "https://wiki.corp.example/runbook"}}]},
                {"type": "hardBreak"},
                {"type": "text", "text": "Price was 5*3 [approx]"}
            ]},
            {"type": "codeBlock", "attrs": {"language": "java"}, "content": [{"type": "text", "text": "java.lang.NullPointerException\n    at com.corp.Settings.save(Settings.java:42)"}]},
            {"type": "table", "attrs": {"isNumberColumnEnabled": false, "layout": "default"}, "content": [
                {"type": "tableRow", "content": [
                    {"type": "tableHeader", "attrs": {}, "content": [{"type": "paragraph", "content": [{"type": "text", "text": "Environment"}]}]},
                    {"type": "tableHeader", "attrs": {}, "content": [{"type": "paragraph", "content": [{"type": "text", "text": "Result"}]}]}
                ]},
                {"type": "tableRow", "content": [
                    {"type": "tableCell", "attrs": {}, "content": [{"type": "paragraph", "content": [{"type": "text", "text": "staging"}]}]},
                    {"type": "tableCell", "attrs": {}, "content": [{"type": "paragraph", "content": [{"type": "text", "text": "fails | 500"}]}]}
                ]}
            ]},
            {"type": "taskList", "attrs": {"localId": "t"}, "content": [
                {"type": "taskItem", "attrs": {"localId": "1", "state": "DONE"}, "content": [{"type": "text", "text": "Reproduced"}]},
                {"type": "taskItem", "attrs": {"localId": "2", "state": "TODO"}, "content": [{"type": "text", "text": "Fix released"}]}
            ]},
            {"type": "rule"},
            {"type": "paragraph", "content": [{"type": "inlineCard", "attrs": {"url": "https://corp.atlassian.net/browse/PROJ-7"}}]}
        ]})
    }

    const BUG_REPORT_MD: &str = "## Steps to reproduce

1. Open **Settings** as [@Jane Doe](mention:5b10ac8d82e05b22cc7d4ef5)
2. Click `Save`
   - on Chrome 120
   - *on Firefox*

> [!WARNING]
> Data loss possible :warning:

Status: [IN PROGRESS](status:blue) see [the runbook](https://wiki.corp.example/runbook)\\
Price was 5\\*3 \\[approx\\]

```java
java.lang.NullPointerException
    at com.corp.Settings.save(Settings.java:42)
```

| Environment | Result |
| --- | --- |
| staging | fails \\| 500 |

- [x] Reproduced
- [ ] Fix released

---

<https://corp.atlassian.net/browse/PROJ-7>";

    #[test]
    fn a_real_bug_report_reads_as_markdown() {
        assert_eq!(to_markdown(&bug_report()), BUG_REPORT_MD);
    }

    /// What a document keeps through ADF -> Markdown -> ADF: node types and text, in order.
    fn skeleton(node: &Value, out: &mut Vec<String>) {
        if let Some(kind) = node["type"].as_str() {
            let detail = match kind {
                "text" => format!("text:{}", node["text"].as_str().unwrap_or("")),
                "mention" => format!("mention:{}", attr(node, "id")),
                "status" => format!("status:{}:{}", attr(node, "text"), attr(node, "color")),
                "emoji" => format!("emoji:{}", attr(node, "shortName")),
                "panel" => format!("panel:{}", attr(node, "panelType")),
                "codeBlock" => format!("code:{}", attr(node, "language")),
                "heading" => format!("h{}", attr(node, "level")),
                "taskItem" => format!("task:{}", attr(node, "state")),
                // Nodes Markdown writes differently but equivalently.
                "inlineCard" => format!("link:{}", attr(node, "url")),
                other => other.to_owned(),
            };
            out.push(detail);
        }
        for child in content(node) {
            skeleton(child, out);
        }
    }

    #[test]
    fn round_trips_keep_structure_and_text() {
        let original = bug_report();
        let markdown = to_markdown(&original);
        let back = from_markdown(&markdown);
        // Markdown is stable through one more trip.
        assert_eq!(to_markdown(&back), markdown);
        let (mut before, mut after) = (Vec::new(), Vec::new());
        skeleton(&original, &mut before);
        skeleton(&back, &mut after);
        assert_eq!(before, after);
    }

    #[test]
    fn markdown_constructs_become_adf_nodes() {
        let cases: &[(&str, &str)] = &[
            (
                "# Title",
                r#"{"type":"heading","attrs":{"level":1},"content":[{"type":"text","text":"Title"}]}"#,
            ),
            (
                "**bold** and *em*",
                r#"{"type":"paragraph","content":[{"type":"text","text":"bold","marks":[{"type":"strong"}]},{"type":"text","text":" and "},{"type":"text","text":"em","marks":[{"type":"em"}]}]}"#,
            ),
            (
                "> [!NOTE]\n> Read this",
                r#"{"type":"panel","attrs":{"panelType":"info"},"content":[{"type":"paragraph","content":[{"type":"text","text":"Read this"}]}]}"#,
            ),
            (
                "> quoted",
                r#"{"type":"blockquote","content":[{"type":"paragraph","content":[{"type":"text","text":"quoted"}]}]}"#,
            ),
            (
                "- [ ] todo\n- [x] done",
                r#"{"type":"taskList","attrs":{"localId":""},"content":[{"type":"taskItem","attrs":{"localId":"task-1","state":"TODO"},"content":[{"type":"text","text":"todo"}]},{"type":"taskItem","attrs":{"localId":"task-2","state":"DONE"},"content":[{"type":"text","text":"done"}]}]}"#,
            ),
            (
                "3. third",
                r#"{"type":"orderedList","attrs":{"order":3},"content":[{"type":"listItem","content":[{"type":"paragraph","content":[{"type":"text","text":"third"}]}]}]}"#,
            ),
            (
                "```sh\nmake test\n```",
                r#"{"type":"codeBlock","attrs":{"language":"sh"},"content":[{"type":"text","text":"make test"}]}"#,
            ),
            (
                "hi [@Ann](mention:abc-1)",
                r#"{"type":"paragraph","content":[{"type":"text","text":"hi "},{"type":"mention","attrs":{"id":"abc-1","text":"@Ann"}}]}"#,
            ),
            (
                "[DONE](status:green)",
                r#"{"type":"paragraph","content":[{"type":"status","attrs":{"color":"green","localId":"","text":"DONE"}}]}"#,
            ),
            (
                "ship it :rocket: at 10:30",
                r#"{"type":"paragraph","content":[{"type":"text","text":"ship it "},{"type":"emoji","attrs":{"shortName":":rocket:"}},{"type":"text","text":" at 10:30"}]}"#,
            ),
            (
                "[`cfg`](https://x.example)",
                r#"{"type":"paragraph","content":[{"type":"text","text":"cfg","marks":[{"type":"link","attrs":{"href":"https://x.example"}},{"type":"code"}]}]}"#,
            ),
            ("---", r#"{"type":"rule","content":[]}"#),
        ];
        for (markdown, expected) in cases {
            let doc = from_markdown(markdown);
            let first = &doc["content"][0];
            let expected: Value = serde_json::from_str(expected).unwrap();
            let first = if first["type"] == "rule" {
                json!({"type": "rule", "content": []})
            } else {
                first.clone()
            };
            assert_eq!(first, expected, "{markdown}");
        }
    }

    #[test]
    fn nested_lists_and_tables_survive_markdown_round_trips() {
        let cases = [
            "- one\n  - one.a\n    - one.a.i\n- two",
            "1. first\n2. second\n   1. nested",
            "| a | b |\n| --- | --- |\n| 1 | 2 |\n| x \\| y |  |",
            "> [!TIP]\n> Use `make` first\n>\n> - then this",
            "Line one\\\nLine two",
            "Text with \\*stars\\* and \\_underscores\\_",
            "",
        ];
        for markdown in cases {
            let once = to_markdown(&from_markdown(markdown));
            let twice = to_markdown(&from_markdown(&once));
            assert_eq!(once, twice, "unstable: {markdown:?}");
            assert_eq!(
                once.replace(' ', ""),
                markdown.replace(' ', ""),
                "changed: {markdown:?}"
            );
        }
    }

    #[test]
    fn unusual_nodes_keep_their_text() {
        let doc = json!({"type": "doc", "version": 1, "content": [
            {"type": "expand", "attrs": {"title": "Details"}, "content": [{"type": "paragraph", "content": [{"type": "text", "text": "hidden"}]}]},
            {"type": "paragraph", "content": [
                {"type": "text", "text": "red", "marks": [{"type": "textColor", "attrs": {"color": "#ff0000"}}, {"type": "underline"}]},
                {"type": "date", "attrs": {"timestamp": "1767225600000"}}
            ]},
            {"type": "mediaSingle", "content": [{"type": "media", "attrs": {"type": "file", "id": "f-1", "collection": "c", "alt": "screenshot.png"}}]},
            {"type": "layoutSection", "content": [{"type": "layoutColumn", "content": [{"type": "paragraph", "content": [{"type": "text", "text": "column"}]}]}]},
            {"type": "paragraph", "content": [{"type": "text", "text": "# not a heading"}]},
            {"type": "paragraph", "content": [{"type": "text", "text": "1. not a list"}]}
        ]});
        let markdown = to_markdown(&doc);
        for expected in [
            "**Details**",
            "hidden",
            "red2026-01-01",
            "![screenshot.png](attachment:f-1)",
            "column",
            "\\# not a heading",
            "1\\. not a list",
        ] {
            assert!(
                markdown.contains(expected),
                "{expected} missing from:\n{markdown}"
            );
        }
        let back = from_markdown(&markdown);
        let texts: Vec<&str> = content(&back)
            .iter()
            .filter(|b| b["type"] == "paragraph")
            .filter_map(|b| b["content"][0]["text"].as_str())
            .collect();
        assert!(texts.contains(&"# not a heading"), "{texts:?}");
        assert!(texts.contains(&"1. not a list"), "{texts:?}");
    }
}
