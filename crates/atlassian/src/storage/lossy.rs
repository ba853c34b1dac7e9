//! What a storage body holds that Markdown cannot carry, so that a server can refuse to
//! overwrite it with a Markdown round trip.
//!
//! Not here: the rendering itself (see [`super::read`]).

use std::collections::BTreeMap;

use super::xml::{Node, parse};
use super::{Lossy, StorageError};

/// The macros Markdown carries (the code block and the four alert panels).
const CARRIED_MACROS: &[&str] = &["code", "info", "tip", "note", "warning"];

/// Attributes that carry nothing a reader sees (Cloud's editor ids and layout hints).
const COSMETIC_ATTRIBUTES: &[&str] = &[
    "class",
    "data-layout",
    "data-table-width",
    "data-highlighted",
    "local-id",
    "ac:local-id",
    "ac:macro-id",
    "ac:schema-version",
    "ac:breakout-mode",
    "ac:breakout-width",
    "data-local-id",
    "title",
];

/// What the body holds that Markdown cannot carry, by name and count; empty when a Markdown
/// round trip would be faithful.
pub fn lossy(storage: &str) -> Result<Vec<Lossy>, StorageError> {
    let nodes = parse(storage)?;
    let mut found: BTreeMap<String, usize> = BTreeMap::new();
    detect(&nodes, &mut found, false);
    Ok(found
        .into_iter()
        .map(|(what, count)| Lossy { what, count })
        .collect())
}

fn detect(nodes: &[Node], found: &mut BTreeMap<String, usize>, in_cell: bool) {
    for node in nodes {
        let Node::Element(e) = node else { continue };
        let name = e.name.as_str();
        if let Some(macro_name) = e.macro_name() {
            if in_cell {
                note(found, "block content in a table cell");
            }
            let params = e.parameters();
            match macro_name {
                "status" => note(found, "status lozenge"),
                "code" => {
                    for key in params.keys().filter(|k| *k != "language") {
                        note(found, &format!("code block option `{key}`"));
                    }
                }
                m if CARRIED_MACROS.contains(&m) => {
                    if params.contains_key("title") {
                        note(found, "panel title");
                    }
                    for key in params.keys().filter(|k| *k != "title") {
                        note(found, &format!("panel option `{key}`"));
                    }
                }
                other => note(found, &format!("macro `{other}`")),
            }
            if let Some(body) = e.child("ac:rich-text-body") {
                detect(&body.children, found, false);
            }
            continue;
        }
        let mut walk = true;
        match name {
            "ac:layout" => note(found, "page layout"),
            "ac:layout-section" | "ac:layout-cell" | "ac:rich-text-body" => {}
            "ac:image" | "img" => {
                note(found, "image");
                walk = false;
            }
            "ac:link" => {
                if e.child("ri:user").is_some() {
                    note(found, "user mention");
                } else {
                    note(found, "link to Confluence content");
                }
                walk = false;
            }
            "ac:emoticon" => note(found, "emoticon"),
            "ac:inline-comment-marker" => note(found, "inline comment"),
            "ac:placeholder" => note(found, "placeholder text"),
            "ac:task-list" => {
                if in_cell {
                    note(found, "block content in a table cell");
                }
            }
            "ac:task" | "ac:task-id" | "ac:task-status" | "ac:task-body" | "ac:task-uuid" => {}
            "time" => note(found, "date"),
            "u" => note(found, "underline"),
            "sub" | "sup" => note(found, "subscript or superscript"),
            "p" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6" | "strong" | "b" | "em" | "i" | "s"
            | "del" | "strike" | "code" | "a" | "br" | "li" | "thead" | "tbody" | "tfoot"
            | "tr" | "hr" | "span" | "div" => {}
            "ul" | "ol" | "table" | "pre" | "blockquote" => {
                if in_cell {
                    note(found, "block content in a table cell");
                }
            }
            "colgroup" | "col" => walk = false,
            "th" | "td" => {
                for span in ["colspan", "rowspan"] {
                    if e.attr(span).is_some_and(|v| v.trim() != "1") {
                        note(found, "merged table cells");
                    }
                }
                let paragraphs = e.elements().filter(|c| c.name == "p").count();
                if paragraphs > 1 || e.elements().any(|c| c.name == "br") {
                    note(found, "line breaks in a table cell");
                }
                detect(&e.children, found, true);
                walk = false;
            }
            other if other.starts_with("ac:") || other.starts_with("ri:") => {
                note(found, &format!("Confluence element `{other}`"));
                walk = false;
            }
            other => note(found, &format!("HTML element `{other}`")),
        }
        for (key, value) in &e.attrs {
            let carried = match (name, key.as_str()) {
                ("a", "href")
                | ("ol", "start")
                | ("time", "datetime")
                | ("th" | "td", "colspan" | "rowspan") => true,
                (_, k) if COSMETIC_ATTRIBUTES.contains(&k) || k.starts_with("data-") => true,
                (n, _) if n.starts_with("ac:") || n.starts_with("ri:") => true,
                _ => false,
            };
            if !carried && !value.trim().is_empty() {
                note(
                    found,
                    if key == "style" {
                        "styled text (colour, alignment, ...)"
                    } else {
                        "HTML attributes"
                    },
                );
            }
        }
        if walk {
            detect(&e.children, found, in_cell);
        }
    }
}

fn note(found: &mut BTreeMap<String, usize>, what: &str) {
    *found.entry(what.to_owned()).or_default() += 1;
}
