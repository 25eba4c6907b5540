//! decode.go's decoder over a document's nodes: aliases (and the guard
//! against alias bombs and deep nesting), `<<` merge keys, mapping keys
//! made JSON strings, values made serde_json values. How a scalar's text is
//! typed is `resolve`'s, and how it is written as JSON `scalar`'s; nothing
//! here parses text.

use super::resolve::resolve;
use super::scalar::{float_key, Scalar};
use super::tree::Node;
use super::Numbers;
use serde_json::{Map, Value};
use std::rc::Rc;

/// Deeper than this (aliases can nest values deeper than the text does),
/// the conversion stops rather than exhaust the stack.
pub(super) const MAX_DEPTH: usize = 512;

pub(super) const WANT_MAP: &str = "map merge requires map or sequence of maps as the value";

/// decode.go's decoder, decoding into `interface{}` as YAMLToJSON does,
/// with its counts against alias bombs.
#[derive(Default)]
pub(super) struct Decoder {
    numbers: Numbers,
    decodes: usize,
    alias_decodes: usize,
    alias_depth: usize,
}

impl Decoder {
    pub(super) fn new(numbers: Numbers) -> Decoder {
        Decoder { numbers, ..Decoder::default() }
    }

    /// decode.go `unmarshal`'s guard (`allowedAliasRatio`): up to 99% of
    /// the values may come from aliases in a small document, down to 10%
    /// from 4 million values on.
    fn count(&mut self) -> Result<(), String> {
        self.decodes += 1;
        if self.alias_depth > 0 {
            self.alias_decodes += 1;
        }
        let allowed = match self.decodes {
            ..=400_000 => 0.99,
            4_000_000.. => 0.10,
            n => 0.99 - 0.89 * ((n - 400_000) as f64 / 3_600_000.0),
        };
        if self.alias_decodes > 100 && self.decodes > 1000 && self.alias_decodes as f64 / self.decodes as f64 > allowed
        {
            return Err("the document contains excessive aliasing".into());
        }
        Ok(())
    }

    pub(super) fn value(&mut self, node: &Node, depth: usize) -> Result<Value, String> {
        self.count()?;
        if depth > MAX_DEPTH {
            return Err(format!("values are nested more than {MAX_DEPTH} deep"));
        }
        match node {
            Node::Alias(target) => {
                self.alias_depth += 1;
                let value = self.value(target, depth);
                self.alias_depth -= 1;
                value
            }
            Node::Scalar { text, plain, tag, line } => resolve(text, *plain, tag.as_deref())
                .and_then(|s| s.into_json(text, self.numbers))
                .map_err(|e| format!("line {line}: {e}")),
            Node::Sequence { items, .. } => {
                items.iter().map(|item| self.value(item, depth + 1)).collect::<Result<_, _>>().map(Value::Array)
            }
            Node::Mapping { entries, .. } => {
                let mut map = Map::new();
                self.fill(entries, &mut map, depth)?;
                Ok(Value::Object(map))
            }
        }
    }

    /// decode.go `mapping`: entries in order, a later key replacing an
    /// earlier one (YAMLToJSON is not strict), merge keys merged where they
    /// stand.
    fn fill(
        &mut self,
        entries: &[(Rc<Node>, Rc<Node>)],
        map: &mut Map<String, Value>,
        depth: usize,
    ) -> Result<(), String> {
        for (key, value) in entries {
            if is_merge(key) {
                self.merge(value, map, depth)?;
                continue;
            }
            let key = self.key(key)?;
            let value = self.value(value, depth + 1)?;
            map.insert(key, value);
        }
        Ok(())
    }

    /// decode.go `merge`: a mapping (or an alias of one), or a sequence of
    /// them, the earlier ones taking precedence. As in v2 (unlike v3), the
    /// merged entries replace the keys written before the `<<`, and the
    /// keys written after it replace them.
    fn merge(&mut self, node: &Node, map: &mut Map<String, Value>, depth: usize) -> Result<(), String> {
        match node {
            Node::Sequence { items, .. } => {
                for item in items.iter().rev() {
                    if !is_mapping(item) {
                        return Err(WANT_MAP.into());
                    }
                    self.merge_mapping(item, map, depth)?;
                }
                Ok(())
            }
            _ if is_mapping(node) => self.merge_mapping(node, map, depth),
            _ => Err(WANT_MAP.into()),
        }
    }

    fn merge_mapping(&mut self, node: &Node, map: &mut Map<String, Value>, depth: usize) -> Result<(), String> {
        self.count()?;
        match node {
            Node::Alias(target) => {
                self.alias_depth += 1;
                let merged = self.merge_mapping(target, map, depth);
                self.alias_depth -= 1;
                merged
            }
            Node::Mapping { entries, .. } => self.fill(entries, map, depth),
            _ => Err(WANT_MAP.into()),
        }
    }

    /// A mapping key as yaml.go's `convertToJSONableObject` turns it into a
    /// JSON key: strings as they are, integers in decimal, booleans as
    /// `true`/`false`, floats as Go's `FormatFloat(f, 'g', -1, 32)`;
    /// null and integers beyond int64 are refused.
    fn key(&mut self, node: &Node) -> Result<String, String> {
        self.count()?;
        match node {
            Node::Alias(target) => {
                self.alias_depth += 1;
                let key = self.key(target);
                self.alias_depth -= 1;
                key
            }
            Node::Scalar { text, plain, tag, line } => {
                let at = |detail: String| format!("line {line}: {detail}");
                match resolve(text, *plain, tag.as_deref()).map_err(at)? {
                    Scalar::Str(s) => Ok(s),
                    Scalar::Int(i) => Ok(i.to_string()),
                    Scalar::Bool(b) => Ok(b.to_string()),
                    Scalar::Float(f) => Ok(float_key(f)),
                    Scalar::Uint(_) => Err(at(format!(
                        "the mapping key `{text}` is an integer beyond int64, which sigs.k8s.io/yaml refuses as a key; quote it"
                    ))),
                    Scalar::Null => Err(at(format!(
                        "a mapping key is null (`{text}`), which sigs.k8s.io/yaml refuses; quote it or give it a name"
                    ))),
                }
            }
            Node::Sequence { line, .. } | Node::Mapping { line, .. } => {
                Err(format!("line {line}: a mapping key is itself a sequence or mapping, which JSON cannot carry"))
            }
        }
    }
}

/// decode.go `isMerge`: a `<<` key, plain and untagged (or tagged `!` or `!!merge`).
fn is_merge(node: &Node) -> bool {
    match node {
        Node::Scalar { text, plain, tag, .. } => {
            text == "<<"
                && match tag.as_deref() {
                    None => *plain,
                    Some(tag) => tag == "!" || tag == "tag:yaml.org,2002:merge",
                }
        }
        _ => false,
    }
}

fn is_mapping(node: &Node) -> bool {
    match node {
        Node::Mapping { .. } => true,
        Node::Alias(target) => matches!(**target, Node::Mapping { .. }),
        _ => false,
    }
}
