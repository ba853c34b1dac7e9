//! Markdown -> storage format: the page body confluence-mcp writes from a model's Markdown.
//!
//! Raw HTML in the Markdown is written as escaped text, never as markup, so a model cannot
//! smuggle macros or scripts into a page. Not here: storage -> Markdown (see [`super::read`]).

use pulldown_cmark::{
    BlockQuoteKind, CodeBlockKind, Event as MdEvent, Options, Parser, Tag, TagEnd,
};

/// Escapes text for XHTML content or a double-quoted attribute.
fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in xml_chars(text).chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

fn cdata(text: &str) -> String {
    format!(
        "<![CDATA[{}]]>",
        xml_chars(text).replace("]]>", "]]]]><![CDATA[>")
    )
}

/// Text with the characters XML cannot hold at all (control characters, U+FFFE, U+FFFF)
/// replaced by U+FFFD, as CommonMark does with NUL: written as they are, the body would be
/// refused by Confluence and by our own parser.
fn xml_chars(text: &str) -> std::borrow::Cow<'_, str> {
    let allowed = |c: char| matches!(c, '\t' | '\n' | '\r' | ' '..='\u{fffd}' | '\u{10000}'..);
    if text.chars().all(allowed) {
        return text.into();
    }
    text.chars()
        .map(|c| if allowed(c) { c } else { '\u{fffd}' })
        .collect::<String>()
        .into()
}

/// What a Markdown construct still open is collecting.
enum Frame {
    /// A list: ordered start, items (task marker, rendered content).
    List {
        start: Option<u64>,
        items: Vec<(Option<bool>, String)>,
    },
    /// A list item's content.
    Item { task: Option<bool> },
    /// A code block's text and language.
    Code { language: String },
    /// A link's text, and its destination.
    Link { dest: String },
    /// An image's alt text, and its source.
    Image { src: String },
}

/// Converts Markdown (GFM tables, task lists, strikethrough, alerts) to a storage body.
pub fn from_markdown(markdown: &str) -> String {
    let options = Options::ENABLE_TABLES
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_GFM;
    // Output buffers: each open list item, code block, link or image collects its own.
    let mut buffers: Vec<String> = vec![String::new()];
    let mut frames: Vec<Frame> = Vec::new();
    let mut in_head = false;
    let mut task_id = 0u32;
    macro_rules! out {
        () => {
            buffers.last_mut().expect("the document buffer")
        };
    }
    for event in Parser::new_ext(markdown, options) {
        match event {
            MdEvent::Start(tag) => match tag {
                Tag::Paragraph => out!().push_str("<p>"),
                Tag::Heading { level, .. } => out!().push_str(&format!("<{level}>")),
                Tag::BlockQuote(kind) => out!().push_str(&match kind {
                    None => "<blockquote>".to_owned(),
                    Some(kind) => format!(
                        "<ac:structured-macro ac:name=\"{}\" ac:schema-version=\"1\"><ac:rich-text-body>",
                        alert_macro(kind)
                    ),
                }),
                Tag::CodeBlock(kind) => {
                    let language = match kind {
                        CodeBlockKind::Fenced(info) => {
                            info.split_whitespace().next().unwrap_or("").to_owned()
                        }
                        CodeBlockKind::Indented => String::new(),
                    };
                    frames.push(Frame::Code { language });
                    buffers.push(String::new());
                }
                Tag::List(start) => frames.push(Frame::List {
                    start,
                    items: Vec::new(),
                }),
                Tag::Item => {
                    frames.push(Frame::Item { task: None });
                    buffers.push(String::new());
                }
                Tag::Table(_) => out!().push_str("<table><tbody>"),
                Tag::TableHead => {
                    in_head = true;
                    out!().push_str("<tr>");
                }
                Tag::TableRow => out!().push_str("<tr>"),
                Tag::TableCell => out!().push_str(if in_head { "<th>" } else { "<td>" }),
                Tag::Emphasis => out!().push_str("<em>"),
                Tag::Strong => out!().push_str("<strong>"),
                Tag::Strikethrough => out!().push_str("<s>"),
                Tag::Link { dest_url, .. } => {
                    frames.push(Frame::Link {
                        dest: dest_url.to_string(),
                    });
                    buffers.push(String::new());
                }
                Tag::Image { dest_url, .. } => {
                    frames.push(Frame::Image {
                        src: dest_url.to_string(),
                    });
                    buffers.push(String::new());
                }
                _ => {}
            },
            MdEvent::End(tag) => match tag {
                TagEnd::Paragraph => out!().push_str("</p>"),
                TagEnd::Heading(level) => out!().push_str(&format!("</{level}>")),
                TagEnd::BlockQuote(kind) => out!().push_str(if kind.is_some() {
                    "</ac:rich-text-body></ac:structured-macro>"
                } else {
                    "</blockquote>"
                }),
                TagEnd::CodeBlock => {
                    let code = buffers.pop().unwrap_or_default();
                    let Some(Frame::Code { language }) = frames.pop() else { continue };
                    let code = code.strip_suffix('\n').unwrap_or(&code);
                    let mut xml = String::from(
                        "<ac:structured-macro ac:name=\"code\" ac:schema-version=\"1\">",
                    );
                    if !language.is_empty() {
                        xml.push_str(&format!(
                            "<ac:parameter ac:name=\"language\">{}</ac:parameter>",
                            xml_escape(&language)
                        ));
                    }
                    xml.push_str(&format!(
                        "<ac:plain-text-body>{}</ac:plain-text-body></ac:structured-macro>",
                        cdata(code)
                    ));
                    out!().push_str(&xml);
                }
                TagEnd::Item => {
                    let content = buffers.pop().unwrap_or_default();
                    let Some(Frame::Item { task }) = frames.pop() else { continue };
                    if let Some(Frame::List { items, .. }) = frames.last_mut() {
                        items.push((task, content));
                    }
                }
                TagEnd::List(_) => {
                    let Some(Frame::List { start, items }) = frames.pop() else { continue };
                    let tasks = items.first().is_some_and(|(t, _)| t.is_some());
                    let mut xml = String::new();
                    if tasks {
                        xml.push_str("<ac:task-list>");
                        for (done, content) in items {
                            task_id += 1;
                            let status = if done == Some(true) { "complete" } else { "incomplete" };
                            xml.push_str(&format!(
                                "<ac:task><ac:task-id>{task_id}</ac:task-id><ac:task-status>{status}</ac:task-status><ac:task-body>{content}</ac:task-body></ac:task>"
                            ));
                        }
                        xml.push_str("</ac:task-list>");
                    } else {
                        let (open, close) = match start {
                            Some(1) => ("<ol>".to_owned(), "</ol>"),
                            Some(n) => (format!("<ol start=\"{n}\">"), "</ol>"),
                            None => ("<ul>".to_owned(), "</ul>"),
                        };
                        xml.push_str(&open);
                        for (_, content) in items {
                            xml.push_str(&format!("<li>{content}</li>"));
                        }
                        xml.push_str(close);
                    }
                    out!().push_str(&xml);
                }
                TagEnd::Table => out!().push_str("</tbody></table>"),
                TagEnd::TableHead => {
                    in_head = false;
                    out!().push_str("</tr>");
                }
                TagEnd::TableRow => out!().push_str("</tr>"),
                TagEnd::TableCell => out!().push_str(if in_head { "</th>" } else { "</td>" }),
                TagEnd::Emphasis => out!().push_str("</em>"),
                TagEnd::Strong => out!().push_str("</strong>"),
                TagEnd::Strikethrough => out!().push_str("</s>"),
                TagEnd::Link => {
                    let text = buffers.pop().unwrap_or_default();
                    let Some(Frame::Link { dest }) = frames.pop() else { continue };
                    out!().push_str(&link_xml(&dest, &text));
                }
                TagEnd::Image => {
                    let alt = buffers.pop().unwrap_or_default();
                    let Some(Frame::Image { src }) = frames.pop() else { continue };
                    // The alt buffer is escaped XHTML text; an attribute needs quotes escaped too.
                    let alt = alt.replace('"', "&quot;");
                    let target = if src.contains("://") {
                        format!("<ri:url ri:value=\"{}\" />", xml_escape(&src))
                    } else {
                        format!("<ri:attachment ri:filename=\"{}\" />", xml_escape(&src))
                    };
                    out!().push_str(&format!("<ac:image ac:alt=\"{alt}\">{target}</ac:image>"));
                }
                _ => {}
            },
            MdEvent::Text(text) => {
                // Code block text is written raw into CDATA.
                if matches!(frames.last(), Some(Frame::Code { .. })) {
                    out!().push_str(&text);
                } else {
                    out!().push_str(&xml_escape(&text));
                }
            }
            MdEvent::Code(code) => out!().push_str(&format!("<code>{}</code>", xml_escape(&code))),
            MdEvent::Html(html) | MdEvent::InlineHtml(html) => {
                out!().push_str(&xml_escape(&html));
            }
            MdEvent::SoftBreak => out!().push(' '),
            MdEvent::HardBreak => out!().push_str("<br />"),
            MdEvent::Rule => out!().push_str("<hr />"),
            MdEvent::TaskListMarker(done) => {
                if let Some(Frame::Item { task }) = frames.last_mut() {
                    *task = Some(done);
                }
            }
            _ => {}
        }
    }
    buffers.swap_remove(0)
}

fn alert_macro(kind: BlockQuoteKind) -> &'static str {
    match kind {
        BlockQuoteKind::Note => "info",
        BlockQuoteKind::Tip => "tip",
        BlockQuoteKind::Important => "note",
        BlockQuoteKind::Warning | BlockQuoteKind::Caution => "warning",
    }
}

/// A link: a mention, a status lozenge, or a plain `a`.
fn link_xml(dest: &str, text: &str) -> String {
    if let Some(account) = dest.strip_prefix("mention:") {
        return format!(
            "<ac:link><ri:user ri:account-id=\"{}\" /></ac:link>",
            xml_escape(account)
        );
    }
    if let Some(colour) = dest.strip_prefix("status:") {
        return format!(
            "<ac:structured-macro ac:name=\"status\" ac:schema-version=\"1\"><ac:parameter ac:name=\"colour\">{}</ac:parameter><ac:parameter ac:name=\"title\">{text}</ac:parameter></ac:structured-macro>",
            xml_escape(colour)
        );
    }
    format!("<a href=\"{}\">{text}</a>", xml_escape(dest))
}
