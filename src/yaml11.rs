//! YAML read as Helm and kubectl read it: sigs.k8s.io/yaml v1.6 over
//! go-yaml v2 (go.yaml.in/yaml/v2 v2.4, which Helm v4 links), that is YAML
//! 1.1 typing of plain scalars. So `0755` is the octal 493, `on`, `yes` and
//! `y` are true, `1_000` is 1000, and mapping keys that are numbers or
//! booleans become strings (`1`, `true`).
//!
//! Two readings, as sigs.k8s.io/yaml has them:
//! - [`documents`]: `YAMLToJSON`, the JSON text a YAML stream becomes (read
//!   back here as serde_json reads it): the objects airlock sends to a
//!   Kubernetes API server, and what K3s read from a manifest file.
//! - [`unmarshal`]: `Unmarshal` into `interface{}` (or a map of them), which
//!   goes through that JSON and encoding/json, so every number is a
//!   float64: Helm's values files, `Chart.yaml`, `Chart.lock`, and the
//!   `fromYaml`/`fromYamlArray` template functions. Only the first
//!   document is read, as go-yaml's `Unmarshal` reads it.
//!
//! Not for airlock's own files (the spec), which are YAML 1.2 through
//! serde-saphyr.
//!
//! The typing is written by hand because no Rust crate types scalars as
//! go-yaml v2 does (the Rust YAML crates follow YAML 1.2's core schema,
//! where `0755` is 755 and `yes` a string). The parsing is not: it is the
//! parser serde-saphyr is built on (granit-parser, which serde-saphyr
//! re-exports), whose events give each scalar's text, style and tag. The
//! rules below follow go-yaml v2's `resolve.go` and `decode.go` and
//! sigs.k8s.io/yaml's `yaml.go`, named where each applies.

use serde_json::{Map, Value};
use serde_saphyr::granit_parser::{Event, Parser, ScalarStyle};
use std::collections::HashMap;
use std::rc::Rc;

/// Every document of a YAML stream as `YAMLToJSON` makes it, an empty
/// document as null. An integral float is the integer encoding/json writes
/// for it (`1.0` is 1, as the API server reads it). Errors name the line.
pub fn documents(text: &str) -> Result<Vec<Value>, String> {
    read(text, Numbers::JsonText, usize::MAX)
}

/// The first document of a YAML stream as sigs.k8s.io/yaml's `Unmarshal`
/// decodes it into `interface{}`: `YAMLToJSON`, then encoding/json, so
/// every number is a float64 (9007199254740993 is 9007199254740992, `-0.0`
/// stays negative zero). Null when the stream holds no document; later
/// documents are not read. Errors name the line.
pub fn unmarshal(text: &str) -> Result<Value, String> {
    Ok(read(text, Numbers::Float64, 1)?.pop().unwrap_or(Value::Null))
}

/// How numbers come out of a document.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
enum Numbers {
    /// As in the JSON text encoding/json writes, read back by serde_json:
    /// integers as integers, integral floats below 1e21 as integers.
    #[default]
    JsonText,
    /// As encoding/json decodes that text into `interface{}`: float64.
    Float64,
}

/// Up to `limit` documents of the stream.
fn read(text: &str, numbers: Numbers, limit: usize) -> Result<Vec<Value>, String> {
    let mut docs = Vec::new();
    let mut tree = Tree::default();
    for event in Parser::new_from_str(text) {
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
            // The stream's start and end, comments: nothing to convert.
            _ => {}
        }
    }
    Ok(docs)
}

/// One document's nodes, as go-yaml v2's parser builds them before decoding.
enum Node {
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

/// Deeper than this (aliases can nest values deeper than the text does),
/// the conversion stops rather than exhaust the stack.
const MAX_DEPTH: usize = 512;

const WANT_MAP: &str = "map merge requires map or sequence of maps as the value";

/// decode.go's decoder, decoding into `interface{}` as YAMLToJSON does,
/// with its counts against alias bombs.
#[derive(Default)]
struct Decoder {
    numbers: Numbers,
    decodes: usize,
    alias_decodes: usize,
    alias_depth: usize,
}

impl Decoder {
    fn new(numbers: Numbers) -> Decoder {
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

    fn value(&mut self, node: &Node, depth: usize) -> Result<Value, String> {
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

/// A scalar as go-yaml v2 decodes it into `interface{}`. Timestamps stay
/// strings there (decode.go keeps the text "for backward compatibility"),
/// so they are not a kind of their own.
#[derive(Debug, Clone, PartialEq)]
enum Scalar {
    Null,
    Bool(bool),
    Int(i64),
    Uint(u64),
    Float(f64),
    Str(String),
}

impl Scalar {
    fn tag(&self) -> &'static str {
        match self {
            Scalar::Null => "null",
            Scalar::Bool(_) => "bool",
            Scalar::Int(_) | Scalar::Uint(_) => "int",
            Scalar::Float(_) => "float",
            Scalar::Str(_) => "str",
        }
    }

    /// As encoding/json writes it (`Numbers::JsonText`) or reads that back
    /// into `interface{}` (`Numbers::Float64`). NaN and infinities make
    /// `json.Marshal` (so `YAMLToJSON`) fail; here too, with a way out.
    fn into_json(self, text: &str, numbers: Numbers) -> Result<Value, String> {
        let float = |f: f64| serde_json::Number::from_f64(f).map(Value::Number).unwrap_or(Value::Null);
        Ok(match self {
            Scalar::Null => Value::Null,
            Scalar::Bool(b) => b.into(),
            Scalar::Str(s) => s.into(),
            Scalar::Float(f) if f.is_nan() || f.is_infinite() => {
                let what = if f.is_nan() { "NaN" } else { "infinite" };
                return Err(format!(
                    "`{text}` is a YAML float that is {what}, which JSON cannot carry (sigs.k8s.io/yaml fails on it too); quote it to make it a string"
                ));
            }
            // encoding/json decodes every number into `interface{}` as a
            // float64: an integer's decimal text rounded to the nearest (as
            // Rust's `as` rounds), a float's shortest digits back to itself.
            Scalar::Int(i) if numbers == Numbers::Float64 => float(i as f64),
            Scalar::Uint(u) if numbers == Numbers::Float64 => float(u as f64),
            Scalar::Float(f) if numbers == Numbers::Float64 => float(f),
            Scalar::Int(i) => i.into(),
            Scalar::Uint(u) => u.into(),
            // encoding/json writes a float with no fraction below 1e21 as
            // its shortest digits padded with zeros, without point or
            // exponent (`1`, not `1.0`; 1.0975482392613602e17 as
            // `109754823926136020`): the API server reads that text as an
            // integer, so that integer it is here, when it fits 64 bits.
            Scalar::Float(f) if f.fract() == 0.0 && f.abs() < 1e21 => {
                let digits = integral_digits(f);
                digits
                    .parse::<i64>()
                    .map(Value::from)
                    .or_else(|_| digits.parse::<u64>().map(Value::from))
                    .unwrap_or_else(|_| float(f))
            }
            Scalar::Float(f) => float(f),
        })
    }
}

/// The integer encoding/json writes for an integral float below 1e21: its
/// shortest digits, padded with zeros to the units.
fn integral_digits(f: f64) -> String {
    if f == 0.0 {
        return "0".into();
    }
    let (mut digits, exponent) = shortest_digits(f.abs(), false);
    let width = usize::try_from(exponent).unwrap_or(0) + 1;
    while digits.len() < width {
        digits.push('0');
    }
    if f < 0.0 {
        digits.insert(0, '-');
    }
    digits
}

/// The shortest digits that read back as `x` (positive and finite; as an
/// f32 if `single`), with the decimal exponent of the first, as Go's
/// strconv finds them: the closest to `x`, a tie going to the even digit.
/// Rust's `{:e}` finds the same digits but rounds a tie up, so a tie is
/// looked for in `x`'s exact expansion (which `{:.800e}` writes in full).
fn shortest_digits(x: f64, single: bool) -> (String, i32) {
    let split = |scientific: String| -> (String, i32) {
        let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
        (mantissa.replace('.', ""), exponent.parse().unwrap_or(0))
    };
    let (digits, exponent) = split(if single { format!("{:e}", x as f32) } else { format!("{x:e}") });
    let (exact, exact_exponent) = split(format!("{x:.800e}"));
    let n = digits.len();
    let tie = exact_exponent == exponent
        && exact.as_bytes().get(n) == Some(&b'5')
        && exact.bytes().skip(n + 1).all(|b| b == b'0');
    if !tie {
        return (digits, exponent);
    }
    let low = &exact[..n];
    let mut even = low.as_bytes().to_vec();
    let mut even_exponent = exponent;
    if even.last().is_some_and(|d| (d - b'0') % 2 == 1) {
        // The tie's upper neighbour: add one to the last digit.
        let mut i = n;
        loop {
            if i == 0 {
                even.insert(0, b'1');
                even.pop();
                even_exponent += 1;
                break;
            }
            i -= 1;
            if even[i] == b'9' {
                even[i] = b'0';
            } else {
                even[i] += 1;
                break;
            }
        }
    }
    let even = String::from_utf8(even).unwrap_or_default();
    let reads_back = |digits: &str| -> bool {
        let text = format!("0.{digits}e{}", even_exponent + 1);
        if single {
            text.parse::<f32>().is_ok_and(|y| f64::from(y) == x)
        } else {
            text.parse::<f64>().is_ok_and(|y| y == x)
        }
    };
    if reads_back(&even) {
        (even, even_exponent)
    } else {
        (digits, exponent)
    }
}

const YAML_TAG_PREFIX: &str = "tag:yaml.org,2002:";

/// decode.go `scalar` then resolve.go `resolve`: an untagged scalar that is
/// not plain (quoted, literal, folded) is a string; an untagged plain one is
/// typed by its text; a tagged one must be what its tag says (`!!float`
/// takes an integer), except `!!str` and tags v2 does not resolve (`!`,
/// local and other tags), which keep the text.
fn resolve(text: &str, plain: bool, tag: Option<&str>) -> Result<Scalar, String> {
    let Some(tag) = tag else {
        return Ok(if plain { implicit(text) } else { Scalar::Str(text.into()) });
    };
    let Some(kind) = tag.strip_prefix(YAML_TAG_PREFIX) else { return Ok(Scalar::Str(text.into())) };
    let resolved = implicit(text);
    let found = resolved.tag();
    let ok = match (kind, resolved) {
        ("str", _) => Scalar::Str(text.into()),
        ("binary", _) => Scalar::Str(binary(text)?),
        ("int", int @ (Scalar::Int(_) | Scalar::Uint(_))) => int,
        ("float", float @ Scalar::Float(_)) => float,
        ("float", Scalar::Int(i)) => Scalar::Float(i as f64),
        ("bool", b @ Scalar::Bool(_)) => b,
        ("null", Scalar::Null) => Scalar::Null,
        ("timestamp", _) if is_timestamp(text) => Scalar::Str(text.into()),
        ("int" | "float" | "bool" | "null", _) => {
            return Err(format!("cannot decode !!{found} `{text}` as a !!{kind}"));
        }
        ("timestamp", _) => return Err(format!("cannot decode !!{found} `{text}` as a !!timestamp")),
        // `!!merge`, `!!map`, `!!set`...: not resolvable, the text.
        _ => Scalar::Str(text.into()),
    };
    Ok(ok)
}

/// Whether go-yaml v2 resolves a plain (unquoted, untagged) scalar with
/// this text to a string: not a boolean, null, number or timestamp
/// (`0755`, `yes`, `1_000`, `2015-01-01` are not). Its encoder writes a
/// string plain only then (sigs.k8s.io/yaml's `Marshal`, Helm's `toYaml`).
pub fn resolves_to_string(text: &str) -> bool {
    matches!(implicit(text), Scalar::Str(_)) && !is_timestamp(text)
}

/// resolve.go `resolve` for a plain untagged scalar (YAML 1.1 as v2 has it).
fn implicit(text: &str) -> Scalar {
    match text {
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => return Scalar::Bool(true),
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            return Scalar::Bool(false)
        }
        "" | "~" | "null" | "Null" | "NULL" => return Scalar::Null,
        ".nan" | ".NaN" | ".NAN" => return Scalar::Float(f64::NAN),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => return Scalar::Float(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => return Scalar::Float(f64::NEG_INFINITY),
        _ => {}
    }
    let number = match text.as_bytes()[0] {
        b'.' => dot_float(text).map(Scalar::Float),
        b'0'..=b'9' | b'+' | b'-' => number(text),
        _ => None,
    };
    number.unwrap_or_else(|| Scalar::Str(text.into()))
}

/// resolve.go's digit-or-sign case. With `_` removed: Go's
/// `strconv.ParseInt(s, 0, 64)` (sign, then `0x`, `0o`, `0b` or a leading
/// `0` for octal, so `0755` is 493 but `08` is no integer), then
/// `ParseUint` (beyond int64), then a float if the text has YAML's float
/// shape (`08` is 8, `1e3` 1000, a decimal beyond uint64 a float), then
/// resolve.go's own `0b`/`-0b` (which take a sign after the prefix).
/// Anything else (hexadecimal beyond 64 bits, `1e400`) is a string.
fn number(text: &str) -> Option<Scalar> {
    let plain = text.replace('_', "");
    if let Ok(i) = parse_int(&plain, 0) {
        return Some(Scalar::Int(i));
    }
    if let Ok(u) = parse_uint(&plain, 0) {
        return Some(Scalar::Uint(u));
    }
    if yaml_style_float(&plain) {
        if let Some(f) = plain.parse::<f64>().ok().filter(|f| f.is_finite()) {
            return Some(Scalar::Float(f));
        }
    }
    if let Some(binary) = plain.strip_prefix("0b") {
        if let Ok(i) = parse_int(binary, 2) {
            return Some(Scalar::Int(i));
        }
        if let Ok(u) = parse_uint(binary, 2) {
            return Some(Scalar::Uint(u));
        }
    } else if let Some(binary) = plain.strip_prefix("-0b") {
        if let Ok(i) = parse_int(&format!("-{binary}"), 2) {
            return Some(Scalar::Int(i));
        }
    }
    None
}

#[derive(Debug, PartialEq)]
enum NumError {
    Syntax,
    Range,
}

/// Go's `strconv.ParseUint(s, base, 64)` with no `_` in `s`; base 0 reads
/// the prefix (`0b`, `0o`, `0x` with a digit after, else a leading `0` is
/// octal). Digits are checked, then overflow, one at a time, as Go does.
fn parse_uint(s: &str, base: u32) -> Result<u64, NumError> {
    let b = s.as_bytes();
    if b.is_empty() {
        return Err(NumError::Syntax);
    }
    let (base, digits) = match (base, b) {
        (0, [b'0', prefix, _, ..]) if prefix | 0x20 == b'b' => (2, &b[2..]),
        (0, [b'0', prefix, _, ..]) if prefix | 0x20 == b'o' => (8, &b[2..]),
        (0, [b'0', prefix, _, ..]) if prefix | 0x20 == b'x' => (16, &b[2..]),
        (0, [b'0', ..]) => (8, &b[1..]),
        (0, _) => (10, b),
        (base, _) => (base, b),
    };
    let mut n: u64 = 0;
    for &c in digits {
        let digit = match c {
            b'0'..=b'9' => c - b'0',
            _ if (c | 0x20).is_ascii_lowercase() => (c | 0x20) - b'a' + 10,
            _ => return Err(NumError::Syntax),
        };
        if u32::from(digit) >= base {
            return Err(NumError::Syntax);
        }
        n = n.checked_mul(u64::from(base)).and_then(|n| n.checked_add(u64::from(digit))).ok_or(NumError::Range)?;
    }
    Ok(n)
}

/// Go's `strconv.ParseInt(s, base, 64)`: a sign, then `ParseUint`.
fn parse_int(s: &str, base: u32) -> Result<i64, NumError> {
    let (negative, rest) = match s.as_bytes().first() {
        Some(b'+') => (false, &s[1..]),
        Some(b'-') => (true, &s[1..]),
        _ => (false, s),
    };
    let magnitude = parse_uint(rest, base)?;
    match (negative, magnitude) {
        (false, m) if m < 1 << 63 => Ok(m as i64),
        (true, m) if m <= 1 << 63 => Ok(0i64.wrapping_sub(m as i64)),
        _ => Err(NumError::Range),
    }
}

/// resolve.go's `yamlStyleFloat`:
/// `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`.
fn yaml_style_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i > start
    };
    if matches!(b.first(), Some(b'+' | b'-')) {
        i += 1;
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        if !digits(&mut i) {
            return false;
        }
    } else {
        if !digits(&mut i) {
            return false;
        }
        if b.get(i) == Some(&b'.') {
            i += 1;
            digits(&mut i);
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if !digits(&mut i) {
            return false;
        }
    }
    i == b.len()
}

/// resolve.go's `.` case: Go's `strconv.ParseFloat` of the text as it is
/// (`_` allowed between digits, per Go's `underscoreOK`), e.g. `.5`,
/// `.5e3`; out of range is no float.
fn dot_float(s: &str) -> Option<f64> {
    let b = s.as_bytes();
    let mut i = 1;
    let mut mantissa = false;
    while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
        mantissa |= b[i] != b'_';
        i += 1;
    }
    if !mantissa {
        return None;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if !b.get(i).is_some_and(u8::is_ascii_digit) {
            return None;
        }
        while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
            i += 1;
        }
    }
    if i != b.len() || !underscores_ok(b) {
        return None;
    }
    s.replace('_', "").parse::<f64>().ok().filter(|f| f.is_finite())
}

/// Go's `underscoreOK` for a decimal number: each `_` between two digits.
fn underscores_ok(b: &[u8]) -> bool {
    let mut previous = b'^';
    for &c in b {
        let class = match c {
            b'0'..=b'9' => b'0',
            b'_' if previous != b'0' => return false,
            b'_' => b'_',
            _ if previous == b'_' => return false,
            _ => b'!',
        };
        previous = class;
    }
    previous != b'_'
}

/// decode.go's `!!binary`: base64 (line breaks ignored, as Go's decoder
/// ignores them), bytes that are not UTF-8 replaced one by one with U+FFFD,
/// as encoding/json writes them.
fn binary(text: &str) -> Result<String, String> {
    use base64::engine::{general_purpose::GeneralPurpose, DecodePaddingMode, GeneralPurposeConfig};
    use base64::Engine;
    const GO_STD_ENCODING: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new()
            .with_decode_allow_trailing_bits(true)
            .with_decode_padding_mode(DecodePaddingMode::RequireCanonical),
    );
    let compact: String = text.chars().filter(|c| !matches!(c, '\r' | '\n')).collect();
    let bytes =
        GO_STD_ENCODING.decode(compact).map_err(|_| "!!binary value contains invalid base64 data".to_string())?;
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        out.push_str(chunk.valid());
        out.extend(chunk.invalid().iter().map(|_| char::REPLACEMENT_CHARACTER));
    }
    Ok(out)
}

/// resolve.go `parseTimestamp` (Go's `time.Parse` with v2's four layouts),
/// for an explicit `!!timestamp` and for `resolves_to_string` (an
/// untagged timestamp decodes to a string either way): `YYYY-M-D` (a real
/// day of that month), optionally followed by `T`/`t` and
/// `H:M:S[.frac]` with `Z` or `±hh:mm`, or by a space and `H:M:S[.frac]`.
fn is_timestamp(s: &str) -> bool {
    /// A run of `min` to `max` digits and what follows it.
    fn number(s: &str, min: usize, max: usize) -> Option<(u32, &str)> {
        let n = s.bytes().take_while(u8::is_ascii_digit).count();
        (min..=max).contains(&n).then_some(())?;
        Some((s[..n].parse().ok()?, &s[n..]))
    }
    /// Go's `getnum`: one or two digits (exactly two if `fixed`), below `limit`.
    fn below(s: &str, fixed: bool, limit: u32) -> Option<&str> {
        number(s, if fixed { 2 } else { 1 }, 2).filter(|(n, _)| *n < limit).map(|(_, rest)| rest)
    }
    fn time(s: &str) -> Option<&str> {
        let s = below(s, false, 24)?.strip_prefix(':')?;
        let s = below(s, false, 60)?.strip_prefix(':')?;
        let s = below(s, false, 60)?;
        match s.strip_prefix(['.', ',']) {
            Some(frac) if frac.starts_with(|c: char| c.is_ascii_digit()) => {
                Some(frac.trim_start_matches(|c: char| c.is_ascii_digit()))
            }
            _ => Some(s),
        }
    }
    let date = (|| {
        let (year, s) = number(s, 4, 4)?;
        let (month, s) = number(s.strip_prefix('-')?, 1, 2)?;
        let (day, s) = number(s.strip_prefix('-')?, 1, 2)?;
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
        let days = match month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if leap => 29,
            2 => 28,
            _ => return None,
        };
        (1..=days).contains(&day).then_some(s)
    })();
    let Some(rest) = date else { return false };
    if rest.is_empty() {
        return true;
    }
    if let Some(t) = rest.strip_prefix(' ') {
        return time(t) == Some("");
    }
    let Some(zone) = rest.strip_prefix(['T', 't']).and_then(time) else { return false };
    // time.Parse allows offsets up to 24 hours and 60 minutes.
    zone == "Z"
        || zone
            .strip_prefix(['+', '-'])
            .and_then(|z| below(z, true, 25))
            .and_then(|z| z.strip_prefix(':'))
            .and_then(|z| below(z, true, 61))
            == Some("")
}

/// Go's `strconv.FormatFloat(f, 'g', -1, 32)` (the float rounded to 32
/// bits, its shortest digits, an exponent below -4 or from 6 on written
/// `1e+06`), with `.inf`, `-.inf` and `.nan` for the special values: how
/// yaml.go writes a float mapping key.
fn float_key(f: f64) -> String {
    let x = f as f32;
    if x.is_nan() {
        return ".nan".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { ".inf" } else { "-.inf" }.into();
    }
    let mut out = String::from(if x.is_sign_negative() { "-" } else { "" });
    if x == 0.0 {
        out.push('0');
        return out;
    }
    let (digits, exponent) = shortest_digits(f64::from(x.abs()), true);
    let digits = digits.trim_end_matches('0');
    if !(-4..6).contains(&exponent) {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push_str(&format!("e{}{:02}", if exponent < 0 { '-' } else { '+' }, exponent.abs()));
    } else if exponent < 0 {
        out.push_str("0.");
        out.push_str(&"0".repeat((-exponent - 1) as usize));
        out.push_str(digits);
    } else {
        let whole = exponent as usize + 1;
        if digits.len() <= whole {
            out.push_str(digits);
            out.push_str(&"0".repeat(whole - digits.len()));
        } else {
            out.push_str(&digits[..whole]);
            out.push('.');
            out.push_str(&digits[whole..]);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn one(text: &str) -> Value {
        let mut docs = documents(text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
        assert_eq!(docs.len(), 1, "{text:?}");
        docs.remove(0)
    }

    /// The value of `v: SCALAR`, as sigs.k8s.io/yaml v1.6.0's YAMLToJSON
    /// (over go.yaml.in/yaml/v2 v2.4.4) makes it.
    #[test]
    fn plain_scalars_are_typed_as_yaml_1_1() {
        let table: &[(&str, Value)] = &[
            // The redis chart's case: a leading 0 is octal.
            ("0755", json!(493)),
            ("0644", json!(420)),
            ("0", json!(0)),
            ("00", json!(0)),
            ("-0755", json!(-493)),
            ("+0755", json!(493)),
            // Not octal digits: no integer, but YAML's float shape, in decimal.
            ("08", json!(8)),
            ("09", json!(9)),
            ("0778", json!(778)),
            ("0o755", json!(493)),
            ("0O17", json!(15)),
            ("0o8", json!("0o8")),
            ("0x1F", json!(31)),
            ("0X1f", json!(31)),
            ("-0x10", json!(-16)),
            ("0x", json!("0x")),
            ("0xG", json!("0xG")),
            ("0b101", json!(5)),
            ("-0b101", json!(-5)),
            ("0b-101", json!(-5)),
            ("0b2", json!("0b2")),
            ("1_000", json!(1000)),
            ("0x_0A_74_AE", json!(685230)),
            ("1__0", json!(10)),
            ("1_", json!(1)),
            ("_1", json!("_1")),
            ("+685_230", json!(685230)),
            ("12", json!(12)),
            ("-12", json!(-12)),
            ("9223372036854775807", json!(9223372036854775807i64)),
            ("-9223372036854775808", json!(-9223372036854775808i64)),
            ("9223372036854775808", json!(9223372036854775808u64)),
            ("18446744073709551615", json!(18446744073709551615u64)),
            ("0xFFFFFFFFFFFFFFFF", json!(18446744073709551615u64)),
            // Beyond uint64: a decimal is a float, a signed one too, hexadecimal a string.
            ("18446744073709551616", json!(18446744073709551616.0)),
            ("+9223372036854775808", json!(9223372036854776000u64)),
            // encoding/json's digits for an integral float: the shortest, then zeros.
            ("1.0975482392613602e+17", json!(109754823926136020i64)),
            ("-1.2323797981906885e18", json!(-1232379798190688500i64)),
            ("0x10000000000000000", json!("0x10000000000000000")),
            ("1.5", json!(1.5)),
            ("1.0", json!(1)),
            ("-1.", json!(-1)),
            (".5", json!(0.5)),
            ("-.5", json!(-0.5)),
            ("+.5", json!(0.5)),
            (".1_5", json!(0.15)),
            ("._5", json!("._5")),
            ("1e3", json!(1000)),
            ("6.8523e+5", json!(685230)),
            ("685.230_15e+03", json!(685230.15)),
            ("1.5e-7", json!(1.5e-7)),
            ("1e400", json!("1e400")),
            ("1e", json!("1e")),
            ("1.2.3", json!("1.2.3")),
            ("1:1", json!("1:1")),
            ("2015-01-01", json!("2015-01-01")),
            ("2001-12-14t21:59:43.10-05:00", json!("2001-12-14t21:59:43.10-05:00")),
            ("50cent", json!("50cent")),
            ("+", json!("+")),
            ("-b_c", json!("-b_c")),
            ("inf", json!("inf")),
            ("+inf", json!("+inf")),
            ("nan", json!("nan")),
            ("infinity", json!("infinity")),
            (".iNf", json!(".iNf")),
            // Booleans: YAML 1.1's, only these spellings.
            ("y", json!(true)),
            ("Y", json!(true)),
            ("yes", json!(true)),
            ("Yes", json!(true)),
            ("YES", json!(true)),
            ("on", json!(true)),
            ("On", json!(true)),
            ("ON", json!(true)),
            ("true", json!(true)),
            ("True", json!(true)),
            ("TRUE", json!(true)),
            ("n", json!(false)),
            ("N", json!(false)),
            ("no", json!(false)),
            ("No", json!(false)),
            ("NO", json!(false)),
            ("off", json!(false)),
            ("Off", json!(false)),
            ("OFF", json!(false)),
            ("false", json!(false)),
            ("False", json!(false)),
            ("FALSE", json!(false)),
            ("yES", json!("yES")),
            ("oN", json!("oN")),
            ("tRUE", json!("tRUE")),
            ("yes please", json!("yes please")),
            // Nulls.
            ("~", Value::Null),
            ("null", Value::Null),
            ("Null", Value::Null),
            ("NULL", Value::Null),
            ("", Value::Null),
            ("nULL", json!("nULL")),
            ("<<", json!("<<")),
            ("hello world", json!("hello world")),
        ];
        for (scalar, expected) in table {
            assert_eq!(one(&format!("v: {scalar}\n"))["v"], *expected, "v: {scalar}");
        }
    }

    #[test]
    fn quoted_and_block_scalars_stay_strings() {
        let doc = one("a: '0755'\nb: \"yes\"\nc: 'null'\nd: \"1.5\"\ne: |\n  0755\nf: >-\n  on\ng: ''\n");
        assert_eq!(doc, json!({"a": "0755", "b": "yes", "c": "null", "d": "1.5", "e": "0755\n", "f": "on", "g": ""}));
    }

    #[test]
    fn tags_decide_as_go_yaml_v2_does() {
        let doc = one("a: !!str 0755\nb: !!int \"0755\"\nc: !!float 1\nd: !!bool \"yes\"\ne: !!null ''\nf: ! 12\ng: !custom 12\nh: !!binary aGVsbG8=\ni: !!timestamp 2015-01-01\n");
        assert_eq!(
            doc,
            json!({"a": "0755", "b": 493, "c": 1, "d": true, "e": null, "f": "12", "g": "12", "h": "hello", "i": "2015-01-01"})
        );
        assert_eq!(documents("v: !!int 1.5\n").unwrap_err(), "line 1: cannot decode !!float `1.5` as a !!int");
        assert_eq!(
            documents("v: !!float 18446744073709551615\n").unwrap_err(),
            "line 1: cannot decode !!int `18446744073709551615` as a !!float"
        );
        assert!(documents("v: !!timestamp soon\n").is_err());
        assert!(documents("v: !!binary '*'\n").is_err());
    }

    #[test]
    fn nan_and_infinity_are_refused_by_line() {
        for (scalar, what) in
            [(".nan", "NaN"), (".NaN", "NaN"), (".inf", "infinite"), ("-.Inf", "infinite"), ("+.INF", "infinite")]
        {
            let err = documents(&format!("a: 1\nv: {scalar}\n")).unwrap_err();
            assert!(err.starts_with("line 2: "), "{err}");
            assert!(err.contains(&format!("`{scalar}` is a YAML float that is {what}")), "{err}");
        }
        // Quoted, they are strings.
        assert_eq!(one("v: '.nan'\n"), json!({"v": ".nan"}));
    }

    #[test]
    fn keys_become_strings_as_sigs_k8s_io_yaml_writes_them() {
        let doc = one(
            "1: int\n0755: octal\n0x1F: hex\ntrue: bool\non: yes\nno: n\n1.5: float\n1e3: e3\n0.1: tenth\n1e10: big\n3.14159265358979: pi\n123456789.0: long\n.inf: inf\n-.Inf: neginf\n.nan: nan\n-0.0: negzero\n0.00001: small\n08: eight\n\"1\": string\n",
        );
        let keys: Vec<&str> = doc.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "1",
                "493",
                "31",
                "true",
                "false",
                "1.5",
                "1000",
                "0.1",
                "1e+10",
                "3.1415927",
                "1.2345679e+08",
                ".inf",
                "-.inf",
                ".nan",
                "-0",
                "1e-05",
                "8",
            ]
        );
        // `true` and `on` are the same key, and `1` and "1": the later value stays.
        assert_eq!(doc["true"], json!(true));
        assert_eq!(doc["1"], json!("string"));
        assert_eq!(doc["false"], json!(false));
    }

    #[test]
    fn keys_json_cannot_carry_are_refused() {
        let err = documents("a: 1\n~: nothing\n").unwrap_err();
        assert_eq!(
            err,
            "line 2: a mapping key is null (`~`), which sigs.k8s.io/yaml refuses; quote it or give it a name"
        );
        assert!(documents("? \n: empty\n").unwrap_err().contains("a mapping key is null"));
        assert!(documents("18446744073709551615: big\n").unwrap_err().contains("beyond int64"));
        assert!(documents("? [a, b]\n: list\n").unwrap_err().contains("itself a sequence or mapping"));
        assert_eq!(one("'~': quoted\n"), json!({"~": "quoted"}));
    }

    #[test]
    fn streams_of_documents() {
        let docs = documents("a: 1\n---\n---\n# only a comment\n---\nb: 0755\n...\n--- 12\n").unwrap();
        assert_eq!(docs, [json!({"a": 1}), Value::Null, Value::Null, json!({"b": 493}), json!(12)]);
        assert_eq!(documents("").unwrap(), Vec::<Value>::new());
        assert!(documents("a: [1, 2\n").unwrap_err().contains("line"));
    }

    #[test]
    fn anchors_aliases_and_merge_keys() {
        let doc = one(
            "base: &base {mode: 0755, name: x}\nlist: &l [a, *base]\ncopy: *l\nmerged:\n  name: before\n  <<: *base\n  extra: 1\nafter:\n  <<: [{a: 1, b: 1}, {a: 2, c: 2}]\n  c: 3\nscalar: &s 0x10\nuse: *s\n*s : aliased key\n",
        );
        assert_eq!(doc["base"], json!({"mode": 493, "name": "x"}));
        assert_eq!(doc["copy"], json!(["a", {"mode": 493, "name": "x"}]));
        // go-yaml v2: the merged map replaces keys written before `<<`.
        assert_eq!(doc["merged"], json!({"name": "x", "mode": 493, "extra": 1}));
        // Earlier maps of a merged sequence win; later explicit keys win over them.
        assert_eq!(doc["after"], json!({"a": 1, "b": 1, "c": 3}));
        assert_eq!(doc["use"], json!(16));
        assert_eq!(doc["16"], json!("aliased key"));
        // A quoted `<<` is an ordinary key.
        assert_eq!(one("'<<': {a: 1}\n"), json!({"<<": {"a": 1}}));
        assert_eq!(documents("<<: 1\n").unwrap_err(), WANT_MAP);
        assert_eq!(documents("<<: [{a: 1}, 2]\n").unwrap_err(), WANT_MAP);
        assert!(documents("a: &a [*a]\n").unwrap_err().contains("refers to the value it is part of"));
        // Anchors do not cross documents.
        assert!(documents("a: &x 1\n---\nb: *x\n").is_err());
    }

    #[test]
    fn alias_bombs_stop() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..9 {
            let p = i - 1;
            text.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        assert_eq!(documents(&text).unwrap_err(), "the document contains excessive aliasing");
        // A few aliases are fine.
        text.truncate(text.find("a3:").unwrap());
        assert!(documents(&text).is_ok());
    }

    #[test]
    fn nesting_deeper_than_the_limit_stops() {
        // Aliases can nest values deeper than the parser's own limits let
        // text nest; the decoder stops at MAX_DEPTH either way.
        let nested = |depth: usize| {
            let mut node = Node::Scalar { text: "x".into(), plain: true, tag: None, line: 1 };
            for _ in 0..depth {
                node = Node::Sequence { items: vec![Rc::new(node)], line: 1 };
            }
            Decoder::default().value(&node, 0)
        };
        assert_eq!(nested(MAX_DEPTH + 1).unwrap_err(), format!("values are nested more than {MAX_DEPTH} deep"));
        assert!(nested(MAX_DEPTH).is_ok());
    }

    #[test]
    fn the_redis_chart_volume() {
        let text = "apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: redis-master\nspec:\n  template:\n    spec:\n      volumes:\n        - name: start-scripts\n          configMap:\n            name: redis-scripts\n            defaultMode: 0755\n        - name: health\n          configMap:\n            name: redis-health\n            defaultMode: 0755\n";
        let doc = one(text);
        let volumes = &doc["spec"]["template"]["spec"]["volumes"];
        assert_eq!(volumes[0]["configMap"]["defaultMode"], json!(493));
        assert_eq!(volumes[1]["configMap"]["defaultMode"], json!(493));
        assert_eq!(
            serde_json::to_string(&volumes[1]["configMap"]).unwrap(),
            r#"{"name":"redis-health","defaultMode":493}"#
        );
    }

    #[test]
    fn go_float_formatting_of_keys() {
        for (f, expected) in [
            (0.0, "0"),
            (100000.0, "100000"),
            (1_000_000.0, "1e+06"),
            (1234567.0, "1.234567e+06"),
            (0.0001, "0.0001"),
            (0.00012, "0.00012"),
            (1.0e-5, "1e-05"),
            (-2.5, "-2.5"),
            (16777217.0, "1.6777216e+07"),
            (3.4e38, "3.4e+38"),
            (1e39, ".inf"),
            (-1e39, "-.inf"),
            (1.0e-45, "1e-45"),
            // Ties between two shortest spellings go to the even digit, as in Go.
            (211329.62196920672, "211329.62"),
            (-2271516.270073587, "-2.2715162e+06"),
            (379106.1226603631, "379106.12"),
        ] {
            assert_eq!(float_key(f), expected, "{f}");
        }
    }

    /// sigs.k8s.io/yaml's Unmarshal into `interface{}` (Helm's values,
    /// `fromYaml`): the same typing, every number a float64.
    #[test]
    fn unmarshal_makes_every_number_a_float64() {
        let doc = unmarshal(
            "mode: 0755\nflag: yes\nsep: 1_000\nhex: 0x1F\nnone: ~\none: 1.0\nnegzero: -0.0\nbig: 9007199254740993\nmax: 18446744073709551615\nhalf: .5\n1: int key\non: bool key\n",
        )
        .unwrap();
        let number = |key: &str| match &doc[key] {
            Value::Number(n) => {
                assert!(n.is_f64(), "{key} is not a float64: {n}");
                n.as_f64().unwrap()
            }
            other => panic!("{key}: {other}"),
        };
        assert_eq!(number("mode"), 493.0);
        assert_eq!(number("sep"), 1000.0);
        assert_eq!(number("hex"), 31.0);
        assert_eq!(number("one"), 1.0);
        assert!(number("negzero") == 0.0 && number("negzero").is_sign_negative());
        // encoding/json reads the integer's text to the nearest float64.
        assert_eq!(number("big"), 9007199254740992.0);
        assert_eq!(number("max"), 18446744073709551615u64 as f64);
        assert_eq!(number("half"), 0.5);
        assert_eq!(doc["flag"], json!(true));
        assert_eq!(doc["none"], Value::Null);
        assert_eq!(doc["1"], json!("int key"));
        assert_eq!(doc["true"], json!("bool key"));
        // `documents` keeps integers (the API server's reading).
        assert!(documents("mode: 0755\n").unwrap()[0]["mode"].is_i64());
    }

    #[test]
    fn unmarshal_reads_the_first_document_only() {
        assert_eq!(unmarshal("a: 0755\n---\nb: [\n").unwrap(), json!({"a": 493.0}));
        assert_eq!(unmarshal("--- 0x10\n--- 2\n").unwrap(), json!(16.0));
        assert_eq!(unmarshal("---\n---\na: 1\n").unwrap(), Value::Null);
        assert_eq!(unmarshal("").unwrap(), Value::Null);
        assert_eq!(unmarshal("# only a comment\n").unwrap(), Value::Null);
        assert_eq!(unmarshal("- on\n- off\n").unwrap(), json!([true, false]));
        assert!(unmarshal("a: [1\n").unwrap_err().contains("line"));
        assert!(unmarshal("a: .inf\n").unwrap_err().contains("infinite"));
        assert!(unmarshal("~: x\n").unwrap_err().contains("a mapping key is null"));
    }

    /// What go-yaml v2's encoder writes plain (a string that reads back as
    /// a string) and what it quotes, as Helm v4.3.2's toYaml showed it.
    #[test]
    fn which_plain_scalars_resolve_to_strings() {
        for plain in [
            "hello",
            "0o8",
            "yES",
            ".iNf",
            "_1",
            "1e400",
            "<<",
            "-",
            "0x",
            "1.2.3",
            "2015-02-30",
            "2015-02-29",
            "2015-13-01",
            "2015-0-01",
            "2015-12-01T25:00:00Z",
            "10000-01-01",
            "2001-12-14 21:59:43.10 -5",
            ".5e400",
            "NaN",
            "Infinity",
            "inf",
            "0x1p-2",
            "1:20",
            "2015-01-01T00:00:00+25:00",
        ] {
            assert!(resolves_to_string(plain), "{plain} should stay a plain string");
        }
        for typed in [
            "2015-01-01",
            "2015-1-2",
            "2016-02-29",
            "2001-12-14t21:59:43.10-05:00",
            "2001-12-14 21:59:43.10",
            "2001-12-14T21:59:43,5Z",
            "2015-01-01T00:00:00+24:00",
            "0b-101",
            "+.5",
            "1_",
            "12e3",
            "0755",
            "08",
            "+0b1",
            "0b1_0",
            "yes",
            "Off",
            "~",
            "",
            "null",
            ".inf",
            "-.Inf",
            ".NaN",
            "0x1F",
            "-12",
        ] {
            assert!(!resolves_to_string(typed), "{typed} should resolve to another type");
        }
    }
}
