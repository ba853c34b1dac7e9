//! The tree a storage body parses into: elements, text and CDATA, with XML's predefined
//! entities and character references resolved.
//!
//! A body is a fragment (several top-level elements and text), so it is parsed inside a root
//! of our own. Well-formedness is quick-xml's; anything else is refused with a
//! [`StorageError`] and its byte position. Not here: what the elements mean (see
//! [`super::read`] and [`super::lossy`](mod@super::lossy)).

use std::collections::BTreeMap;

use quick_xml::{Reader, XmlVersion, escape::resolve_predefined_entity, events::Event};

use super::StorageError;

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

pub(super) fn parse(storage: &str) -> Result<Vec<Node>, StorageError> {
    const ROOT: &str = "<storage-root>";
    let wrapped = format!("{ROOT}{storage}</storage-root>");
    let mut reader = Reader::from_str(&wrapped);
    let mut stack: Vec<Element> = Vec::new();
    let fail = |reader: &Reader<&[u8]>, message: String| StorageError {
        position: reader.error_position().saturating_sub(ROOT.len() as u64),
        message: message.replace("`</storage-root>`", "the end of the body"),
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
            .map_err(|e| fail(&reader, e.to_string()))?;
        match event {
            Event::Start(start) => stack.push(element(&start).map_err(|m| fail(&reader, m))?),
            Event::Empty(start) => {
                let element = element(&start).map_err(|m| fail(&reader, m))?;
                push(&mut stack, Node::Element(element));
            }
            Event::End(_) => {
                let done = stack.pop().expect("quick-xml checks end tags");
                if stack.is_empty() {
                    return Ok(done.children);
                }
                push(&mut stack, Node::Element(done));
            }
            Event::Text(text) => push(&mut stack, Node::Text(text.xml10_content().into_owned())),
            Event::CData(data) => push(&mut stack, Node::CData(data.into_inner().into_owned())),
            Event::GeneralRef(reference) => {
                let text = if reference.is_char_ref() {
                    reference
                        .resolve_char_ref()
                        .map_err(|e| fail(&reader, e.to_string()))?
                        .map(String::from)
                        .unwrap_or_default()
                } else {
                    let name = reference.into_inner();
                    match resolve_predefined_entity(&name) {
                        Some(text) => text.to_owned(),
                        None => return Err(fail(&reader, format!("unknown entity &{name};"))),
                    }
                };
                push(&mut stack, Node::Text(text));
            }
            Event::Eof => return Err(fail(&reader, "unexpected end of the body".into())),
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {}
        }
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
