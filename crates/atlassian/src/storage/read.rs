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
                for block in block(e).into_iter().filter(|b| !b.is_empty()) {
                    let mut lines: Vec<String> = block.split('\n').map(str::to_owned).collect();
                    let previous = out.last().and_then(|b: &String| b.lines().next());
                    crate::markdown::separate_from_previous_list(previous, &mut lines);
                    out.push(lines.join("\n"));
                }
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
            let mut text = inline(&e.children).trim().to_owned();
            // A heading's trailing `#`s would be its closing sequence.
            if text.ends_with('#') {
                text.insert(text.len() - 1, '\\');
            }
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
            let gap = if crate::markdown::alert_needs_gap(&text) {
                ">\n"
            } else {
                ""
            };
            vec![if text.is_empty() {
                format!("> [!{kind}]")
            } else {
                format!("> [!{kind}]\n{gap}{}", quote(&text))
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
    // Trailing blank lines show nothing, and Markdown -> storage drops the last newline of a
    // block: kept, they would shrink by one at every round trip.
    let code = code.trim_end_matches('\n');
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
            let digits = line.len() - line.trim_start_matches(|c: char| c.is_ascii_digit()).len();
            if digits > 0 && line[digits..].starts_with(['.', ')']) {
                // `2. x` would be a list item; a backslash before a digit escapes nothing
                // and shows, so the escape goes before the dot: `2\. x`.
                format!("{}\\{}", &line[..digits], &line[digits..])
            } else if line.starts_with(['#', '>', '-', '+', '=', '|']) {
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
    for (at, c) in text.char_indices() {
        let entity = c == '&' && crate::markdown::entity_follows(&text[at + 1..]);
        if matches!(c, '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '~') || entity {
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
    let nodes = &merge_adjacent_styles(nodes);
    let mut out = String::new();
    let mut code = String::new();
    // The emphasis element written last, and where its Markdown starts in `out`.
    let mut last_emphasis: Option<(usize, &Element)> = None;
    for (i, node) in nodes.iter().enumerate() {
        let emphasis_before = last_emphasis.take();
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
            // Adjacent code elements show as one run of code; as two spans they would
            // read back as one span holding a backtick fence (`a``b`).
            Node::Element(e) if e.name == "code" => code.push_str(&text_of(&e.children)),
            Node::Element(e) => {
                let markdown = inline_element(e);
                if markdown.starts_with('[') {
                    crate::markdown::escape_bang_before_link(&mut out);
                }
                if let Some((start, previous)) = emphasis_before
                    && markdown.starts_with('*')
                    && out.ends_with('*')
                    && !out[..start]
                        .chars()
                        .next_back()
                        .is_some_and(char::is_alphanumeric)
                {
                    out.replace_range(start.., &underscored(previous));
                }
                if is_emphasis(e) {
                    last_emphasis = Some((out.len(), e));
                }
                out.push_str(&markdown);
            }
        }
        let next_is_code = nodes
            .get(i + 1)
            .is_some_and(|n| matches!(n, Node::Element(e) if e.name == "code"));
        if !code.is_empty() && !next_is_code {
            out.push_str(&crate::markdown::code_span(&std::mem::take(&mut code)));
        }
    }
    out
}

fn is_emphasis(e: &Element) -> bool {
    matches!(e.name.as_str(), "strong" | "b" | "em" | "i")
}

/// An emphasis element written with underscores (`_a_`, `__a__`).
///
/// `*a*` then `**b**` would meet as one run of asterisks (`*a***b**`), which Markdown reads
/// as other emphasis; with underscores on the first (`_a_**b**`) the runs stay apart. An
/// underscore cannot open right after a letter or digit: there the asterisks stay, which
/// CommonMark's rule of three mostly splits as meant (`x*a***b**`).
fn underscored(e: &Element) -> String {
    let mark = if matches!(e.name.as_str(), "strong" | "b") {
        "__"
    } else {
        "_"
    };
    wrap(&inline(&e.children), mark)
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
        "code" => crate::markdown::code_span(&text_of(&e.children)),
        "br" => "\\\n".to_owned(),
        "a" => {
            // Markdown links do not nest: a link inside a link is its text.
            let text = inline(&unwrap_links(&e.children));
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

/// `nodes` with adjacent elements of the same style (`<em>a</em><em>b</em>`) as one: they
/// show the same, and written apart their markers would meet (`*a**b*`) and read back as
/// other markup.
fn merge_adjacent_styles(nodes: &[Node]) -> Vec<Node> {
    const STYLES: &[&str] = &["strong", "b", "em", "i", "s", "del", "strike", "code"];
    let mut out: Vec<Node> = Vec::with_capacity(nodes.len());
    for node in nodes {
        if let (Some(Node::Element(previous)), Node::Element(e)) = (out.last_mut(), node)
            && STYLES.contains(&e.name.as_str())
            && previous.name == e.name
            && previous.attrs == e.attrs
        {
            previous.children.extend(e.children.iter().cloned());
            continue;
        }
        out.push(node.clone());
    }
    out
}

/// `nodes` with every `a` element replaced by its children.
fn unwrap_links(nodes: &[Node]) -> Vec<Node> {
    let mut out = Vec::new();
    for node in nodes {
        match node {
            Node::Element(e) if e.name == "a" => out.extend(unwrap_links(&e.children)),
            Node::Element(e) => {
                let mut e = e.clone();
                e.children = unwrap_links(&e.children);
                out.push(Node::Element(e));
            }
            other => out.push(other.clone()),
        }
    }
    out
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
