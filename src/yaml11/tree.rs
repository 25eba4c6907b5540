//! The parse: granit-parser's events (the parser serde-saphyr is built on)
//! into each document's tree of nodes, anchors and aliases linked as go-yaml
//! v2's parser links them. It types nothing and converts nothing: decoding
//! the tree is `decode`'s.

use super::decode::Decoder;
use super::Numbers;
use serde_json::Value;
use serde_saphyr::granit_parser::{Event, Options, Parser, ScalarStyle};
use std::collections::HashMap;
use std::rc::Rc;

/// Up to `limit` documents of the stream.
pub(super) fn read(text: &str, numbers: Numbers, limit: usize) -> Result<Vec<Value>, String> {
    let mut docs = Vec::new();
    let mut tree = Tree::default();
    for event in Parser::new_from_str_with_options(text, options()) {
        let (event, span) = event.map_err(|e| e.to_string())?;
        let line = span.start.line();
        match event {
            Event::DocumentStart(..) => tree = Tree::default(),
            Event::DocumentEnd => {
                let doc = match tree.root.take() {
                    Some(root) => Decoder::new(numbers).value(&root, 0)?,
                    None => Value::Null,
                };
                docs.push(doc);
                if docs.len() == limit {
                    // go-yaml's Unmarshal parses no further.
                    break;
                }
            }
            Event::Scalar(text, style, anchor, tag) => {
                let tag = tag.map(|tag| format!("{}{}", tag.handle(), tag.suffix()));
                let plain = style == ScalarStyle::Plain;
                tree.add(Node::Scalar { text: text.into_owned(), plain, tag, line }, anchor);
            }
            Event::SequenceStart(_, anchor, _) => tree.open.push(Open::Sequence { items: Vec::new(), anchor, line }),
            Event::MappingStart(_, anchor, _) => {
                tree.open.push(Open::Mapping { entries: Vec::new(), key: None, anchor, line })
            }
            Event::SequenceEnd | Event::MappingEnd => match tree.open.pop() {
                Some(Open::Sequence { items, anchor, line }) => tree.add(Node::Sequence { items, line }, anchor),
                Some(Open::Mapping { entries, anchor, line, .. }) => tree.add(Node::Mapping { entries, line }, anchor),
                None => return Err(format!("line {line}: a collection ends that never began")),
            },
            Event::Alias(id) => {
                // The anchor of a collection is known only once it ends:
                // an alias inside it would make the value contain itself,
                // which go-yaml v2 refuses too.
                let target = tree
                    .anchors
                    .get(&id)
                    .cloned()
                    .ok_or_else(|| format!("line {line}: an alias refers to the value it is part of"))?;
                tree.add(Node::Alias(target), 0);
            }
            // The stream's start and end: nothing to convert.
            _ => {}
        }
    }
    Ok(docs)
}

/// The parser's options: granit-parser's defaults, but no comment events.
/// Comments mean nothing here, and with them on the parser buffers the
/// comments that follow a key with no value on its line (`key:`, then the
/// comments, then the nested mapping or list) while it looks ahead for the
/// value, and fails past 96 of them ("too many buffered comments while
/// looking ahead"): a values.yaml with a long commented-out block there,
/// which go-yaml and Helm read, would be refused. Comments are still
/// skipped and checked as YAML syntax.
fn options() -> Options {
    let mut options = Options::default();
    options.set_emit_comments(false);
    options
}

/// One document's nodes, as go-yaml v2's parser builds them before decoding.
pub(super) enum Node {
    Scalar { text: String, plain: bool, tag: Option<String>, line: usize },
    Sequence { items: Vec<Rc<Node>>, line: usize },
    Mapping { entries: Vec<(Rc<Node>, Rc<Node>)>, line: usize },
    Alias(Rc<Node>),
}

enum Open {
    Sequence { items: Vec<Rc<Node>>, anchor: usize, line: usize },
    Mapping { entries: Vec<(Rc<Node>, Rc<Node>)>, key: Option<Rc<Node>>, anchor: usize, line: usize },
}

#[derive(Default)]
struct Tree {
    open: Vec<Open>,
    anchors: HashMap<usize, Rc<Node>>,
    root: Option<Rc<Node>>,
}

impl Tree {
    fn add(&mut self, node: Node, anchor: usize) {
        let node = Rc::new(node);
        if anchor != 0 {
            self.anchors.insert(anchor, node.clone());
        }
        match self.open.last_mut() {
            None => self.root = Some(node),
            Some(Open::Sequence { items, .. }) => items.push(node),
            Some(Open::Mapping { entries, key, .. }) => match key.take() {
                Some(k) => entries.push((k, node)),
                None => *key = Some(node),
            },
        }
    }
}
