//! Markdown -> ADF: builds the document Jira Cloud stores from a model's Markdown.
//!
//! Parsed with pulldown-cmark ([`markdown_options`]); one node per Markdown construct, as the
//! table in [`super`] lists. Not here: ADF -> Markdown (see [`super::read`]).

use pulldown_cmark::{
    BlockQuoteKind, CodeBlockKind, Event, LinkType, Options, Parser, Tag, TagEnd,
};
use serde_json::{Map, Value, json};

use super::content;

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
                if let Some(mut open) = self.stack.pop_if(|o| o.label.is_some()) {
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
        if let Some(name_len) = super::emoji_name_len(&rest[start + 1..]) {
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
