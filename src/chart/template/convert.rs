//! Values to and from YAML and JSON the way Helm's Go libraries do it:
//! numbers read from YAML or JSON become float64 (sigs.k8s.io/yaml goes
//! through encoding/json), keys come out sorted, JSON escapes `<>&`, and
//! YAML output follows go-yaml's layout (lists at their key's indent).
//!
//! The YAML emitter is written here because the output must match Go's
//! form closely enough that a document reads back as the same data after
//! `nindent`; no Rust YAML writer emits go-yaml's layout.

use super::value::{format_float_json, Map, Value};
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use std::fmt;

/// Parses YAML into a value: the first document only, as go-yaml's
/// Unmarshal does (an empty document is nil).
pub fn from_yaml(text: &str) -> Result<Value, String> {
    if text.trim().is_empty() {
        return Ok(Value::Nil);
    }
    let docs = serde_saphyr::from_multiple::<Value>(text).map_err(|e| e.to_string())?;
    Ok(docs.into_iter().next().unwrap_or_default())
}

/// Parses JSON into a value.
pub fn from_json(text: &str) -> Result<Value, String> {
    serde_json::from_str::<Value>(text).map_err(|e| e.to_string())
}

impl<'de> de::Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Value, D::Error> {
        d.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Float(v as f64))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Float(v as f64))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Nil)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Nil)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(ValueVisitor)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(v) = seq.next_element::<Value>()? {
            items.push(v);
        }
        Ok(Value::list(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut map = Map::new();
        while let Some((k, v)) = access.next_entry::<Value, Value>()? {
            // go-yaml turns non-string keys into their text when they pass through JSON.
            let key = match k {
                Value::Str(s) => s.to_string(),
                other => other.go_string_inner(),
            };
            map.insert(key, v);
        }
        Ok(Value::map(map))
    }
}

/// Go's json.Marshal (Sprig's toJson): sorted keys, HTML-safe escapes.
pub fn to_json(v: &Value) -> String {
    let mut out = String::new();
    write_json(v, &mut out, None, 0);
    out
}

/// json.MarshalIndent(v, "", "  ") (toPrettyJson).
pub fn to_pretty_json(v: &Value) -> String {
    let mut out = String::new();
    write_json(v, &mut out, Some("  "), 0);
    out
}

fn write_json(v: &Value, out: &mut String, indent: Option<&str>, depth: usize) {
    let newline = |out: &mut String, depth: usize| {
        if let Some(unit) = indent {
            out.push('\n');
            out.push_str(&unit.repeat(depth));
        }
    };
    match v {
        Value::Nil => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) => out.push_str(&i.to_string()),
        Value::Float(f) => out.push_str(&format_float_json(*f)),
        Value::Str(s) => json_string(s, out),
        Value::Object(o) => json_string(&o.display(), out),
        Value::List(l) => {
            if l.is_empty() {
                out.push_str("[]");
                return;
            }
            out.push('[');
            for (i, item) in l.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, depth + 1);
                write_json(item, out, indent, depth + 1);
            }
            newline(out, depth);
            out.push(']');
        }
        Value::Map(m) => {
            let m = m.borrow();
            if m.is_empty() {
                out.push_str("{}");
                return;
            }
            out.push('{');
            for (i, (k, item)) in m.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, depth + 1);
                json_string(k, out);
                out.push(':');
                if indent.is_some() {
                    out.push(' ');
                }
                write_json(item, out, indent, depth + 1);
            }
            newline(out, depth);
            out.push('}');
        }
    }
}

fn json_string(s: &str, out: &mut String) {
    quoted(s, out, true);
}

/// A double-quoted string with JSON escapes (YAML reads them the same
/// way); `html_safe` also escapes `<>&` and U+2028/9 as Go's json does.
fn quoted(s: &str, out: &mut String, html_safe: bool) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' if html_safe => out.push_str("\\u003c"),
            '>' if html_safe => out.push_str("\\u003e"),
            '&' if html_safe => out.push_str("\\u0026"),
            '\u{2028}' if html_safe => out.push_str("\\u2028"),
            '\u{2029}' if html_safe => out.push_str("\\u2029"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Helm's toYaml: go-yaml's layout, without the final newline.
pub fn to_yaml(v: &Value) -> String {
    let mut out = String::new();
    write_yaml_top(v, &mut out);
    while out.ends_with('\n') {
        out.pop();
    }
    out
}

fn write_yaml_top(v: &Value, out: &mut String) {
    match v {
        Value::Map(m) if !m.borrow().is_empty() => write_map(&m.borrow(), out, 0),
        Value::List(l) if !l.is_empty() => write_list(l, out, 0),
        scalar => {
            out.push_str(&scalar_yaml(scalar, 0));
            out.push('\n');
        }
    }
}

fn write_map(m: &Map, out: &mut String, indent: usize) {
    for (k, v) in m {
        out.push_str(&" ".repeat(indent));
        out.push_str(&yaml_string(k, indent));
        out.push(':');
        write_value_after_key(v, out, indent);
    }
}

fn write_value_after_key(v: &Value, out: &mut String, indent: usize) {
    match v {
        Value::Map(m) if !m.borrow().is_empty() => {
            out.push('\n');
            write_map(&m.borrow(), out, indent + 2);
        }
        // go-yaml puts a list's dashes at its key's indent.
        Value::List(l) if !l.is_empty() => {
            out.push('\n');
            write_list(l, out, indent);
        }
        scalar => {
            out.push(' ');
            out.push_str(&scalar_yaml(scalar, indent + 2));
            out.push('\n');
        }
    }
}

fn write_list(l: &[Value], out: &mut String, indent: usize) {
    for item in l {
        out.push_str(&" ".repeat(indent));
        out.push('-');
        match item {
            Value::Map(m) if !m.borrow().is_empty() => {
                // The first key shares the dash's line.
                let mut first = true;
                for (k, v) in m.borrow().iter() {
                    if first {
                        out.push(' ');
                        first = false;
                    } else {
                        out.push_str(&" ".repeat(indent + 2));
                    }
                    out.push_str(&yaml_string(k, indent + 2));
                    out.push(':');
                    write_value_after_key(v, out, indent + 2);
                }
            }
            Value::List(inner) if !inner.is_empty() => {
                out.push('\n');
                write_list(inner, out, indent + 2);
            }
            scalar => {
                out.push(' ');
                out.push_str(&scalar_yaml(scalar, indent + 2));
                out.push('\n');
            }
        }
    }
}

fn scalar_yaml(v: &Value, indent: usize) -> String {
    match v {
        Value::Nil => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => format_float_json(*f),
        Value::Str(s) => yaml_string(s, indent),
        Value::Object(o) => yaml_string(&o.display(), indent),
        Value::List(_) => "[]".into(),
        Value::Map(_) => "{}".into(),
    }
}

/// A string as go-yaml v2 writes it: a literal block for multi-line
/// text; double quotes when the plain text would read back as another type
/// (`"true"`, `"1"`); plain when YAML allows; single quotes otherwise
/// (`'{{ x }}'`, which `tpl` can then parse); double quotes for control
/// characters.
fn yaml_string(s: &str, indent: usize) -> String {
    if s.contains('\n') && literal_block_ok(s) {
        let chomp = if s.ends_with("\n\n") {
            "+"
        } else if s.ends_with('\n') {
            ""
        } else {
            "-"
        };
        let pad = " ".repeat(indent.max(2));
        let body = s.strip_suffix('\n').unwrap_or(s);
        let mut out = format!("|{chomp}");
        for line in body.split('\n') {
            out.push('\n');
            if !line.is_empty() {
                out.push_str(&pad);
                out.push_str(line);
            }
        }
        return out;
    }
    let special = s.chars().any(|c| ((c as u32) < 0x20 && c != '\t') || c == '\u{feff}' || c == '\u{7f}');
    if s.contains('\n') || special || resolves_to_non_string(s) {
        let mut out = String::new();
        quoted(s, &mut out, false);
        return out;
    }
    if plain_ok(s) {
        return s.to_string();
    }
    format!("'{}'", s.replace('\'', "''"))
}

fn literal_block_ok(s: &str) -> bool {
    !s.starts_with(' ')
        && !s.starts_with('\n')
        && !s.lines().any(|l| l.ends_with(' ') || l.ends_with('\t'))
        && !s.chars().any(|c| (c as u32) < 0x20 && c != '\n' && c != '\t')
}

/// Whether go-yaml's resolver would read the plain text as something
/// other than a string (YAML 1.1 booleans, null, numbers, base 60).
fn resolves_to_non_string(s: &str) -> bool {
    const RESERVED: &[&str] =
        &["true", "false", "yes", "no", "on", "off", "y", "n", "null", "~", "", ".nan", ".inf", "-.inf", "+.inf", "<<"];
    RESERVED.contains(&s.to_ascii_lowercase().as_str()) || looks_numeric(s)
}

/// Whether the emitter may write the string plain in block context.
fn plain_ok(s: &str) -> bool {
    if s.trim() != s || s.starts_with("---") || s.starts_with("...") {
        return false;
    }
    let mut chars = s.chars();
    let first = chars.next().expect("not empty: empty strings resolve to null");
    let second = chars.next();
    if "#,[]{}&*!|>'\"%@`".contains(first) {
        return false;
    }
    if "-?:".contains(first) && second.is_none_or(|c| c == ' ' || c == '\t') {
        return false;
    }
    !(s.contains(": ") || s.contains(":\t") || s.contains(" #") || s.contains("\t#") || s.ends_with(':'))
}

fn looks_numeric(s: &str) -> bool {
    let t = s.trim_start_matches(['+', '-']);
    if t.is_empty() {
        return false;
    }
    let t = t.replace('_', "");
    let starts_numeric = t.starts_with(|c: char| c.is_ascii_digit()) || t.starts_with('.') && t.len() > 1;
    starts_numeric && t.parse::<f64>().is_ok()
        || t.starts_with("0x") && t.len() > 2 && t[2..].bytes().all(|b| b.is_ascii_hexdigit())
        || t.starts_with("0o") && t.len() > 2
        || t.starts_with("0b") && t.len() > 2 && t[2..].bytes().all(|b| b == b'0' || b == b'1')
        // sexagesimal numbers of YAML 1.1 (`1:20`)
        || t.contains(':') && t.split(':').all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_round_trips_through_go_layout() {
        let v =
            from_yaml("b: [1, {x: v, z: [a]}]\na: {}\nc: 'true'\nd: \"l1\\nl2\\n\"\ne: 1000000\nf: null\n").unwrap();
        let out = to_yaml(&v);
        assert_eq!(out, "a: {}\nb:\n- 1\n- x: v\n  z:\n  - a\nc: \"true\"\nd: |\n  l1\n  l2\ne: 1000000\nf: null");
        assert_eq!(from_yaml(&out).unwrap(), v);
    }

    #[test]
    fn json_escapes_like_go() {
        let v = from_json(r#"{"b":"<a&b>","a":[1.5,2]}"#).unwrap();
        assert_eq!(to_json(&v), r#"{"a":[1.5,2],"b":"\u003ca\u0026b\u003e"}"#);
    }
}

/// Helm's toToml (BurntSushi/toml's encoder): plain keys before tables,
/// each group sorted, sub-tables indented two spaces per level, float64
/// written with a decimal point, arrays of maps as `[[arrays of tables]]`.
pub fn to_toml(v: &Value) -> String {
    let mut out = TomlWriter::default();
    if let Value::Map(m) = v {
        out.map_body(&[], &m.borrow());
    }
    out.text
}

#[derive(Default)]
struct TomlWriter {
    text: String,
}

fn is_toml_table(v: &Value) -> bool {
    match v {
        Value::Map(_) => true,
        Value::List(l) => !l.is_empty() && l.iter().all(|i| matches!(i, Value::Map(_))),
        _ => false,
    }
}

fn toml_key(k: &str) -> String {
    if !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
        k.to_string()
    } else {
        toml_string(k)
    }
}

fn toml_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || c == '\x7f' => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

impl TomlWriter {
    fn newline(&mut self) {
        if !self.text.is_empty() {
            self.text.push('\n');
        }
    }

    fn map_body(&mut self, key: &[String], m: &Map) {
        let (tables, direct): (Vec<_>, Vec<_>) =
            m.iter().filter(|(_, v)| !matches!(v, Value::Nil)).partition(|(_, v)| is_toml_table(v));
        for (k, v) in direct {
            let indent = "  ".repeat(key.len());
            self.text.push_str(&format!("{indent}{} = {}", toml_key(k), toml_value(v)));
            self.newline();
        }
        for (k, v) in tables {
            let mut sub = key.to_vec();
            sub.push(k.clone());
            let header = sub.iter().map(|p| toml_key(p)).collect::<Vec<_>>().join(".");
            let indent = "  ".repeat(sub.len() - 1);
            match v {
                Value::Map(inner) => {
                    if sub.len() == 1 {
                        self.newline();
                    }
                    self.text.push_str(&format!("{indent}[{header}]"));
                    self.newline();
                    self.map_body(&sub, &inner.borrow());
                }
                Value::List(items) => {
                    for item in items.iter() {
                        if let Value::Map(inner) = item {
                            self.newline();
                            self.text.push_str(&format!("{indent}[[{header}]]"));
                            self.newline();
                            self.map_body(&sub, &inner.borrow());
                        }
                    }
                }
                _ => {}
            }
        }
    }
}

fn toml_value(v: &Value) -> String {
    match v {
        Value::Str(s) => toml_string(s),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => {
            let text = format!("{f}");
            if text.contains('.') || text.contains('e') || text.contains("inf") || text.contains("NaN") {
                text
            } else {
                format!("{text}.0")
            }
        }
        Value::List(l) => format!("[{}]", l.iter().map(toml_value).collect::<Vec<_>>().join(", ")),
        Value::Map(m) => {
            let m = m.borrow();
            let parts: Vec<String> = m.iter().map(|(k, v)| format!("{} = {}", toml_key(k), toml_value(v))).collect();
            format!("{{{}}}", parts.join(", "))
        }
        Value::Nil => String::new(),
        Value::Object(o) => toml_string(&o.display()),
    }
}
