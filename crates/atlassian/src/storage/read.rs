//! Storage format -> Markdown: renders a page body for a model to read.
//!
//! What Markdown carries is written in the crate's conventions; everything else readably
//! (a macro's body or its name, a layout's cells in order). Not here: deciding whether that
//! is faithful (see [`super::lossy`](mod@super::lossy)), or Markdown -> storage (see
//! [`super::write`]).

use super::StorageError;
use super::xml::{Element, Node, parse, text_of};

/// Renders a storage body as Markdown. What Markdown cannot carry is rendered readably
/// (a macro as `[macro: name]` or its body, a layout as its cells in order).
pub fn to_markdown(storage: &str) -> Result<String, StorageError> {
    let nodes = parse(storage)?;
    let mut out = blocks(&nodes).join("\n\n");
    out.push('\n');
    if out.trim().is_empty() {
        out.clear();
    }
    Ok(out)
}

const BLOCK_ELEMENTS: &[&str] = &[
    "p",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "ul",
    "ol",
    "table",
    "blockquote",
    "pre",
    "hr",
    "div",
    "ac:task-list",
    "ac:layout",
    "ac:layout-section",
    "ac:layout-cell",
    "ac:rich-text-body",
    "section",
];

/// Macros that sit inside a line of text.
const INLINE_MACROS: &[&str] = &["status", "anchor", "jira", "mention", "emoji"];

fn is_block(element: &Element) -> bool {
    if let Some(name) = element.macro_name() {
        return !INLINE_MACROS.contains(&name);
    }
    BLOCK_ELEMENTS.contains(&element.name.as_str())
}

/// Block-level rendering: each returned string is one Markdown block.
fn blocks(nodes: &[Node]) -> Vec<String> {
    let mut out = Vec::new();
    let mut pending: Vec<Node> = Vec::new();
    let flush = |pending: &mut Vec<Node>, out: &mut Vec<String>| {
        let text = paragraph(&inline(pending));
        if !text.is_empty() {
            out.push(text);
        }
        pending.clear();
    };
    for node in nodes {
        match node {
            Node::Element(e) if is_block(e) => {
                flush(&mut pending, &mut out);
                out.extend(block(e));
            }
            other => pending.push(other.clone()),
        }
    }
    flush(&mut pending, &mut out);
    out
}

fn block(e: &Element) -> Vec<String> {
    if let Some(name) = e.macro_name() {
        return macro_block(e, name);
    }
    match e.name.as_str() {
        "p" => {
            let text = paragraph(&inline(&e.children));
            if text.is_empty() { vec![] } else { vec![text] }
        }
        h @ ("h1" | "h2" | "h3" | "h4" | "h5" | "h6") => {
            let level = h[1..].parse::<usize>().unwrap_or(1);
            let text = inline(&e.children).trim().to_owned();
            vec![format!("{} {text}", "#".repeat(level))]
        }
        "ul" | "ol" => vec![list(e)],
        "ac:task-list" => vec![task_list(e)],
        "table" => vec![table(e)],
        "blockquote" => vec![quote(&blocks(&e.children).join("\n\n"))],
        "pre" => vec![fence(&text_of(&e.children), "")],
        "hr" => vec!["---".to_owned()],
        _ => blocks(&e.children),
    }
}

fn macro_block(e: &Element, name: &str) -> Vec<String> {
    let body = || {
        e.child("ac:rich-text-body")
            .map(|b| blocks(&b.children))
            .unwrap_or_default()
    };
    match name {
        "code" => {
            let code = e
                .child("ac:plain-text-body")
                .map(|b| text_of(&b.children))
                .unwrap_or_default();
            let language = e.parameters().remove("language").unwrap_or_default();
            vec![fence(&code, language.trim())]
        }
        "info" | "tip" | "note" | "warning" => {
            let kind = match name {
                "info" => "NOTE",
                "tip" => "TIP",
                "note" => "IMPORTANT",
                _ => "WARNING",
            };
            let mut inner = Vec::new();
            if let Some(title) = e.parameters().get("title").filter(|t| !t.trim().is_empty()) {
                inner.push(format!("**{}**", escape_inline(title.trim())));
            }
            inner.extend(body());
            let text = inner.join("\n\n");
            vec![if text.is_empty() {
                format!("> [!{kind}]")
            } else {
                format!("> [!{kind}]\n{}", quote(&text))
            }]
        }
        _ => {
            let mut out = body();
            if out.is_empty() {
                if let Some(plain) = e.child("ac:plain-text-body") {
                    out.push(fence(&text_of(&plain.children), ""));
                } else {
                    out.push(format!("\\[macro: {}\\]", escape_inline(name)));
                }
            }
            out
        }
    }
}

fn quote(text: &str) -> String {
    text.lines()
        .map(|l| {
            if l.is_empty() {
                ">".to_owned()
            } else {
                format!("> {l}")
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn fence(code: &str, language: &str) -> String {
    let longest = code.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let ticks = "`".repeat(longest.max(2) + 1);
    let code = code.strip_suffix('\n').unwrap_or(code);
    format!("{ticks}{language}\n{code}\n{ticks}")
}

/// Indents every line after the first by `width` spaces.
fn hang(text: &str, width: usize) -> String {
    let pad = " ".repeat(width);
    let mut lines = text.lines();
    let mut out = lines.next().unwrap_or("").to_owned();
    for line in lines {
        out.push('\n');
        if !line.is_empty() {
            out.push_str(&pad);
            out.push_str(line);
        }
    }
    out
}

fn list(e: &Element) -> String {
    let ordered = e.name == "ol";
    let mut number = e
        .attr("start")
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or(1);
    let mut items = Vec::new();
    for li in e.elements().filter(|c| c.name == "li") {
        let marker = if ordered {
            let m = format!("{number}. ");
            number += 1;
            m
        } else {
            "- ".to_owned()
        };
        let content = blocks(&li.children).join("\n");
        items.push(format!("{marker}{}", hang(&content, marker.len())));
    }
    items.join("\n")
}

fn task_list(e: &Element) -> String {
    let mut items = Vec::new();
    for task in e.elements().filter(|c| c.name == "ac:task") {
        let done = task
            .child("ac:task-status")
            .is_some_and(|s| text_of(&s.children).trim() == "complete");
        let body = task
            .child("ac:task-body")
            .map(|b| blocks(&b.children).join("\n"))
            .unwrap_or_default();
        let marker = if done { "- [x] " } else { "- [ ] " };
        items.push(format!("{marker}{}", hang(&body, 2)));
    }
    items.join("\n")
}

fn table(e: &Element) -> String {
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut collect = |tr: &Element| {
        let cells = tr
            .elements()
            .filter(|c| c.name == "th" || c.name == "td")
            .map(|cell| {
                blocks(&cell.children)
                    .join(" ")
                    .replace('\n', " ")
                    .replace('|', "\\|")
            })
            .collect();
        rows.push(cells);
    };
    for child in e.elements() {
        match child.name.as_str() {
            "tr" => collect(child),
            "thead" | "tbody" | "tfoot" => child
                .elements()
                .filter(|r| r.name == "tr")
                .for_each(&mut collect),
            _ => {}
        }
    }
    let width = rows.iter().map(Vec::len).max().unwrap_or(0).max(1);
    let line = |cells: &[String]| {
        let mut padded: Vec<String> = cells.to_vec();
        padded.resize(width, String::new());
        format!("| {} |", padded.join(" | "))
    };
    let mut out = Vec::new();
    let mut rows = rows.into_iter();
    out.push(line(&rows.next().unwrap_or_default()));
    out.push(format!("|{}", " --- |".repeat(width)));
    out.extend(rows.map(|r| line(&r)));
    out.join("\n")
}

/// A paragraph's text: trimmed, with characters that would start a block at a line's start
/// escaped.
fn paragraph(text: &str) -> String {
    // Hard breaks at either end of a paragraph break nothing: drop them.
    let mut text = text.trim();
    loop {
        let trailing = text.len() - text.trim_end_matches('\\').len();
        if let Some(rest) = text.strip_prefix("\\\n") {
            text = rest.trim_start();
        } else if trailing % 2 == 1 {
            text = text[..text.len() - 1].trim_end();
        } else {
            break;
        }
    }
    text.lines()
        .map(|line| {
            let line = line.trim_start();
            let starts_block = line.starts_with(['#', '>', '-', '+', '=', '|'])
                || line
                    .split_once(['.', ')'])
                    .is_some_and(|(n, _)| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()));
            if starts_block {
                format!("\\{line}")
            } else {
                line.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn escape_inline(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if "\\`*_[]<>~".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Wraps non-empty inner text in `mark`, keeping its surrounding whitespace outside.
fn wrap(inner: &str, mark: &str) -> String {
    let core = inner.trim();
    if core.is_empty() {
        return inner.to_owned();
    }
    let lead = &inner[..inner.len() - inner.trim_start().len()];
    let trail = &inner[inner.trim_end().len()..];
    format!("{lead}{mark}{core}{mark}{trail}")
}

fn link_target(url: &str) -> String {
    if url.contains([' ', '(', ')', '<', '>']) {
        format!("<{}>", url.replace('<', "%3C").replace('>', "%3E"))
    } else {
        url.to_owned()
    }
}

/// Inline rendering: whitespace collapsed as HTML does.
fn inline(nodes: &[Node]) -> String {
    let mut out = String::new();
    for node in nodes {
        match node {
            Node::Text(t) | Node::CData(t) => {
                let mut last_space = out.ends_with(' ') || out.ends_with('\n');
                for c in escape_inline(t).chars() {
                    if c.is_whitespace() && c != '\u{a0}' {
                        if !last_space {
                            out.push(' ');
                        }
                        last_space = true;
                    } else {
                        out.push(c);
                        last_space = false;
                    }
                }
            }
            Node::Element(e) => out.push_str(&inline_element(e)),
        }
    }
    out
}

fn inline_element(e: &Element) -> String {
    if let Some(name) = e.macro_name() {
        let params = e.parameters();
        return match name {
            "status" => format!(
                "[{}](status:{})",
                escape_inline(params.get("title").map_or("", |t| t.trim())),
                params
                    .get("colour")
                    .or(params.get("color"))
                    .map_or("Grey", |c| c.trim())
            ),
            other => macro_block(e, other).join(" "),
        };
    }
    match e.name.as_str() {
        "strong" | "b" => wrap(&inline(&e.children), "**"),
        "em" | "i" => wrap(&inline(&e.children), "*"),
        "s" | "del" | "strike" => wrap(&inline(&e.children), "~~"),
        "code" => {
            let code = text_of(&e.children);
            let ticks = if code.contains('`') { "``" } else { "`" };
            let pad = if code.starts_with('`') || code.ends_with('`') {
                " "
            } else {
                ""
            };
            format!("{ticks}{pad}{code}{pad}{ticks}")
        }
        "br" => "\\\n".to_owned(),
        "a" => {
            let text = inline(&e.children);
            match e.attr("href") {
                Some(href) => format!("[{}]({})", text.trim(), link_target(href)),
                None => text,
            }
        }
        "ac:link" => ac_link(e),
        "ac:image" => {
            let alt = e.attr("ac:alt").unwrap_or("");
            let target = e
                .child("ri:attachment")
                .and_then(|a| a.attr("ri:filename"))
                .or_else(|| e.child("ri:url").and_then(|u| u.attr("ri:value")))
                .unwrap_or("");
            format!("![{}]({})", escape_inline(alt), link_target(target))
        }
        "ac:emoticon" => {
            let name = e
                .attr("ac:emoji-shortname")
                .map(|s| s.trim_matches(':').to_owned())
                .or_else(|| e.attr("ac:name").map(str::to_owned))
                .unwrap_or_default();
            format!(":{name}:")
        }
        "time" => e.attr("datetime").unwrap_or("").to_owned(),
        "ac:placeholder" | "ac:task-id" => String::new(),
        _ => inline(&e.children),
    }
}

fn ac_link(e: &Element) -> String {
    let body = e
        .child("ac:link-body")
        .map(|b| inline(&b.children))
        .or_else(|| {
            e.child("ac:plain-text-link-body")
                .map(|b| escape_inline(&text_of(&b.children)))
        })
        .filter(|t| !t.trim().is_empty());
    if let Some(user) = e.child("ri:user") {
        let id = user
            .attr("ri:account-id")
            .or(user.attr("ri:userkey"))
            .or(user.attr("ri:username"))
            .unwrap_or("");
        let name = body.unwrap_or_else(|| escape_inline(id));
        let name = name.trim().trim_start_matches('@');
        return format!("[@{name}](mention:{id})");
    }
    let target = e
        .elements()
        .find(|c| c.name.starts_with("ri:"))
        .map(|r| {
            r.attr("ri:content-title")
                .or(r.attr("ri:filename"))
                .or(r.attr("ri:space-key"))
                .or(r.attr("ri:value"))
                .unwrap_or("")
                .to_owned()
        })
        .unwrap_or_default();
    let target = match e.attr("ac:anchor") {
        Some(anchor) => format!("{target}#{anchor}"),
        None => target,
    };
    let text = body.unwrap_or_else(|| escape_inline(&target));
    format!("[{}]({})", text.trim(), link_target(&target))
}
