//! ADF -> Markdown: renders a document Jira Cloud stores as the Markdown a model reads.
//!
//! Total over any JSON: an unknown node keeps its children's text, a missing attribute its
//! default, so a document from a newer editor still reads. Not here: Markdown -> ADF (see
//! [`super::write`]).

use serde_json::Value;

use super::{attr, content};

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

/// Renders block nodes as lines, blocks separated by one empty line.
fn blocks_to_lines(nodes: &[Value], out: &mut Vec<String>) {
    let mut first = true;
    let mut previous_first_line: Option<String> = None;
    for node in nodes {
        let mut block = Vec::new();
        block_to_lines(node, &mut block);
        if block.is_empty() {
            continue;
        }
        crate::markdown::separate_from_previous_list(previous_first_line.as_deref(), &mut block);
        previous_first_line = block.first().cloned();
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
            out.extend(paragraph_lines(&text));
        }
        "heading" => {
            let level = attr(node, "level").as_u64().unwrap_or(1).clamp(1, 6) as usize;
            // A Markdown heading is one line without spaces at its ends, and a `#` ending it
            // would be its closing sequence.
            let text = inline_to_markdown(content(node))
                .replace("\\\n", " ")
                .replace('\n', " ");
            let mut text = text.trim_matches([' ', '\t']).to_owned();
            if text.ends_with('#') {
                text.insert(text.len() - 1, '\\');
            }
            out.push(
                format!("{} {text}", "#".repeat(level))
                    .trim_end()
                    .to_owned(),
            );
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
            // Trailing newlines show nothing, and Markdown -> ADF drops the last one.
            let code = code.trim_end_matches('\n');
            let fence = fence_for(code);
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
            // `order` is whatever the document says: past u64::MAX the numbers saturate.
            Some(n) => format!("{}. ", n.saturating_add(i as u64)),
            None => "- ".to_owned(),
        };
        let mut body = Vec::new();
        item_to_lines(content(item), &mut body);
        push_item(&marker, body, out);
    }
}

/// A paragraph's inline Markdown as lines, as Markdown reads them back.
fn paragraph_lines(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    // Hard breaks at either end of a paragraph break nothing; Markdown would show a
    // lone one as a backslash.
    let mut text = text;
    loop {
        let trimmed = text.trim_matches([' ', '\t']);
        let trimmed = trimmed.strip_prefix("\\\n").unwrap_or(trimmed);
        let trimmed = trimmed.strip_suffix("\\\n").unwrap_or(trimmed);
        if trimmed == text {
            break;
        }
        text = trimmed;
    }
    let lines: Vec<&str> = text.split('\n').collect();
    for (i, line) in lines.iter().enumerate() {
        // Markdown drops spaces at the ends of a paragraph's lines, so they are
        // dropped here, before what then starts a line is escaped: after a hard break
        // a heading or a list item would start too.
        let line = line.trim_start_matches([' ', '\t']);
        let line = match line.strip_suffix('\\') {
            Some(body) if i + 1 < lines.len() => {
                format!("{}\\", body.trim_end_matches([' ', '\t']))
            }
            _ => line.trim_end_matches([' ', '\t']).to_owned(),
        };
        if !line.is_empty() {
            out.push(escape_block_start(&line));
        }
    }
    out
}

/// A list item's blocks: like [`blocks_to_lines`], but a nested list right after a paragraph
/// stays tight (`- item` then `  - nested`), as people write them.
fn item_to_lines(nodes: &[Value], out: &mut Vec<String>) {
    for node in nodes {
        let is_list = matches!(
            node["type"].as_str(),
            Some("bulletList" | "orderedList" | "taskList")
        );
        let mut block = Vec::new();
        block_to_lines(node, &mut block);
        // A block that writes nothing (a paragraph of a lone hard break) is no block: a gap
        // after it would leave the item's first line empty (`- ` then `  2. a`).
        if block.is_empty() {
            continue;
        }
        // A list numbered from other than 1 cannot interrupt a paragraph: it needs a blank
        // line before it, or it reads as the paragraph's text.
        let gap = block
            .first()
            .is_some_and(|l| crate::markdown::alert_needs_gap(l));
        if !out.is_empty() && (!is_list || gap) {
            out.push(String::new());
        }
        out.extend(block);
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
                push_item(marker, paragraph_lines(&text), out);
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
    if kind.is_some()
        && body
            .first()
            .is_some_and(|l| crate::markdown::alert_needs_gap(l))
    {
        out.push(">".to_owned());
    }
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
                    // A cell is one line: a hard break is a space there, or Markdown would
                    // show its backslash.
                    let mut lines = Vec::new();
                    blocks_to_lines(content(&without_hard_breaks(cell)), &mut lines);
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

/// `node` with every hard break below it a space.
fn without_hard_breaks(node: &Value) -> Value {
    match node {
        Value::Object(map) if map.get("type").and_then(Value::as_str) == Some("hardBreak") => {
            serde_json::json!({"type": "text", "text": " "})
        }
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), without_hard_breaks(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(without_hard_breaks).collect()),
        other => other.clone(),
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
    // Adjacent text nodes with the same marks are one run: written apart, their markers
    // would meet (`**a****b**`) and read back as other markup.
    let mut merged: Vec<Value> = Vec::with_capacity(nodes.len());
    for node in nodes {
        if let Some(previous) = merged.last_mut()
            && node["type"] == "text"
            && previous["type"] == "text"
            && previous["marks"] == node["marks"]
        {
            let text = format!(
                "{}{}",
                previous["text"].as_str().unwrap_or(""),
                node["text"].as_str().unwrap_or("")
            );
            previous["text"] = text.into();
            continue;
        }
        merged.push(node.clone());
    }
    let mut out = String::new();
    for node in &merged {
        let markdown = inline_node(node);
        if markdown.starts_with('[') {
            crate::markdown::escape_bang_before_link(&mut out);
        }
        out.push_str(&markdown);
    }
    out
}

fn inline_node(node: &Value) -> String {
    let mut out = String::new();
    {
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
    let text = if marks.contains(&"code") {
        crate::markdown::code_span(raw)
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
    if let Some(link) = node["marks"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|m| m["type"] == "link")
    {
        let href = link["attrs"]["href"].as_str().unwrap_or("");
        let href = href.replace(' ', "%20").replace(')', "%29");
        // Spaces stay outside the link too: Markdown would make them links of their own.
        if core.is_empty() {
            return format!("[{lead}{trail}]({href})");
        }
        return format!("{lead}[{core}]({href}){trail}");
    }
    format!("{lead}{core}{trail}")
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
    // The colon closing an emoji's shape (`a:b:c`) is escaped (`a:b\:c`): the escape splits
    // the text there, and what follows is read afresh from that colon, so the next shape
    // is looked for from it too.
    let mut emoji_closes_at = None;
    for (at, c) in text.char_indices() {
        let entity = c == '&' && crate::markdown::entity_follows(&text[at + 1..]);
        let closes_emoji = c == ':' && emoji_closes_at == Some(at);
        if c == ':' {
            emoji_closes_at = super::emoji_name_len(&text[at + 1..]).map(|len| at + 1 + len);
        }
        if matches!(c, '\\' | '*' | '_' | '`' | '[' | ']' | '<' | '~') || entity || closes_emoji {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Escapes what would start a block (heading, quote, list, rule) at the start of a paragraph.
fn escape_block_start(text: &str) -> String {
    // `-`, `+` and `=` alone would be an empty item or a heading's underline.
    let starts_block = text.starts_with(['#', '>', '-', '+', '|', '=']) || {
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
