//! The tree a storage body parses into: elements, text and CDATA, with XML's predefined
//! entities and character references resolved.
//!
//! A body is a fragment (several top-level elements and text), so it is parsed inside a root
//! of our own. Well-formedness is quick-xml's, plus the checks it leaves to its caller: an end
//! tag of our root inside the body (what followed it was silently dropped), characters XML
//! forbids, `]]>` in text, `--` in comments, declarations and DOCTYPEs. Each is refused with
//! a [`StorageError`] of its kind and its byte position in the body. Not here: what the elements mean (see
//! [`super::read`] and [`super::lossy`](mod@super::lossy)).

use std::collections::BTreeMap;

use quick_xml::{Reader, XmlVersion, escape::resolve_predefined_entity, events::Event};

use super::{StorageError, StorageErrorKind};

#[derive(Debug, Clone)]
pub(super) enum Node {
    Element(Element),
    Text(String),
    CData(String),
}

#[derive(Debug, Clone, Default)]
pub(super) struct Element {
    pub(super) name: String,
    pub(super) attrs: Vec<(String, String)>,
    pub(super) children: Vec<Node>,
}

impl Element {
    pub(super) fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub(super) fn child(&self, name: &str) -> Option<&Element> {
        self.elements().find(|e| e.name == name)
    }

    pub(super) fn elements(&self) -> impl Iterator<Item = &Element> {
        self.children.iter().filter_map(|n| match n {
            Node::Element(e) => Some(e),
            _ => None,
        })
    }

    /// `ac:parameter ac:name="..."` children of a macro.
    pub(super) fn parameters(&self) -> BTreeMap<String, String> {
        self.elements()
            .filter(|e| e.name == "ac:parameter")
            .map(|e| {
                (
                    e.attr("ac:name").unwrap_or("").to_owned(),
                    text_of(&e.children),
                )
            })
            .collect()
    }

    pub(super) fn macro_name(&self) -> Option<&str> {
        matches!(self.name.as_str(), "ac:structured-macro" | "ac:macro")
            .then(|| self.attr("ac:name").unwrap_or(""))
    }
}

/// All text below `nodes`, CDATA included.
pub(super) fn text_of(nodes: &[Node]) -> String {
    let mut out = String::new();
    for node in nodes {
        match node {
            Node::Text(t) | Node::CData(t) => out.push_str(t),
            Node::Element(e) => out.push_str(&text_of(&e.children)),
        }
    }
    out
}

/// The element our parse wraps a body in: a body is a fragment, XML wants one root.
const ROOT: &str = "storage-root";

pub(super) fn parse(storage: &str) -> Result<Vec<Node>, StorageError> {
    if let Some((at, c)) = storage.char_indices().find(|&(_, c)| !is_xml_char(c)) {
        return Err(forbidden_character(at as u64, c));
    }
    let open = format!("<{ROOT}>");
    let wrapped = format!("{open}{storage}</{ROOT}>");
    let offset = open.len() as u64;
    let mut reader = Reader::from_str(&wrapped);
    // `<!-- a -- b -->` is not XML either; quick-xml only checks it when asked.
    reader.config_mut().check_comments = true;
    let mut stack: Vec<Element> = Vec::new();
    // Where the event being handled starts in the body, for the errors found here.
    let mut at = 0;
    let syntax = |position: u64, message: String| StorageError {
        // Our own end tag is past the body: an error there is at the body's end.
        position: position.saturating_sub(offset).min(storage.len() as u64),
        kind: StorageErrorKind::Syntax,
        message: message.replace(&format!("`</{ROOT}>`"), "the end of the body"),
    };
    fn push(stack: &mut [Element], node: Node) {
        if let Some(top) = stack.last_mut() {
            match (&node, top.children.last_mut()) {
                (Node::Text(t), Some(Node::Text(prev))) => prev.push_str(t),
                _ => top.children.push(node),
            }
        }
    }
    loop {
        let event = reader
            .read_event()
            .map_err(|e| syntax(reader.error_position(), e.to_string()))?;
        let here = at;
        at = reader.buffer_position();
        match event {
            Event::Start(start) => {
                let element = element(&start).map_err(|m| syntax(here, m))?;
                check_attributes(&element, here.saturating_sub(offset))?;
                stack.push(element);
            }
            Event::Empty(start) => {
                let element = element(&start).map_err(|m| syntax(here, m))?;
                check_attributes(&element, here.saturating_sub(offset))?;
                push(&mut stack, Node::Element(element));
            }
            Event::End(_) => {
                // The root is the first event, and quick-xml matches every end tag to a start
                // tag, so the stack holds at least the root here.
                let Some(done) = stack.pop() else {
                    return Err(syntax(here, "an end tag without a start tag".into()));
                };
                if !stack.is_empty() {
                    push(&mut stack, Node::Element(done));
                } else if at == wrapped.len() as u64 {
                    return Ok(done.children);
                } else {
                    // The body wrote our root's end tag itself: what follows it would be
                    // silently dropped.
                    return Err(StorageError {
                        position: here.saturating_sub(offset),
                        kind: StorageErrorKind::TrailingContent,
                        message: format!(
                            "`{}` closes nothing the body opened; nothing may follow the body's end",
                            &wrapped[here as usize..at as usize]
                        ),
                    });
                }
            }
            Event::Text(text) => {
                if let Some(end) = text.find("]]>") {
                    return Err(syntax(
                        here + end as u64,
                        "`]]>` outside a CDATA section (write `]]&gt;`)".into(),
                    ));
                }
                push(&mut stack, Node::Text(text.xml10_content().into_owned()))
            }
            Event::CData(data) => push(&mut stack, Node::CData(data.into_inner().into_owned())),
            Event::GeneralRef(reference) => {
                let text = if reference.is_char_ref() {
                    let c = reference
                        .resolve_char_ref()
                        .map_err(|e| syntax(here, e.to_string()))?;
                    match c {
                        Some(c) if !is_xml_char(c) => {
                            return Err(forbidden_character(here.saturating_sub(offset), c));
                        }
                        c => c.map(String::from).unwrap_or_default(),
                    }
                } else {
                    let name = reference.into_inner();
                    match resolve_predefined_entity(&name) {
                        Some(text) => text.to_owned(),
                        None => return Err(syntax(here, format!("unknown entity &{name};"))),
                    }
                };
                push(&mut stack, Node::Text(text));
            }
            Event::Eof => {
                return Err(syntax(
                    reader.buffer_position(),
                    "unexpected end of the body".into(),
                ));
            }
            Event::Decl(_) | Event::DocType(_) => {
                return Err(StorageError {
                    position: here.saturating_sub(offset),
                    kind: StorageErrorKind::Declaration,
                    message: "an XML declaration or DOCTYPE: a storage body is a fragment of a \
                              page and holds neither"
                        .into(),
                });
            }
            Event::Comment(_) | Event::PI(_) => {}
        }
    }
}

/// XML 1.0's `Char` production (Rust's `char` has no surrogates to exclude).
fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | ' '..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

fn forbidden_character(position: u64, c: char) -> StorageError {
    StorageError {
        position,
        kind: StorageErrorKind::ForbiddenCharacter,
        message: format!("U+{:04X} is not allowed in XML", u32::from(c)),
    }
}

/// Attribute values may bring a forbidden character in through a character reference.
fn check_attributes(element: &Element, position: u64) -> Result<(), StorageError> {
    match element
        .attrs
        .iter()
        .find_map(|(_, value)| value.chars().find(|&c| !is_xml_char(c)))
    {
        Some(c) => Err(forbidden_character(position, c)),
        None => Ok(()),
    }
}

fn element(start: &quick_xml::events::BytesStart<'_>) -> Result<Element, String> {
    let mut attrs = Vec::new();
    for attr in start.attributes() {
        let attr = attr.map_err(|e| e.to_string())?;
        let value = attr
            .normalized_value_with(XmlVersion::Implicit1_0, 1, resolve_predefined_entity)
            .map_err(|e| e.to_string())?;
        attrs.push((attr.key.0.to_owned(), value.into_owned()));
    }
    Ok(Element {
        name: start.name().0.to_owned(),
        attrs,
        children: Vec::new(),
    })
}
