//! Values to and from YAML and JSON the way Helm's Go libraries do it:
//! numbers read from YAML or JSON become float64 (sigs.k8s.io/yaml goes
//! through encoding/json), keys come out sorted, JSON escapes `<>&`, and
//! YAML output follows go-yaml's layout (lists at their key's indent).
//!
//! The YAML emitter is written here because the output must match Go's
//! form closely enough that a document reads back as the same data after
//! `nindent`; no Rust YAML writer emits go-yaml's layout.

use super::value::{format_float_g, format_float_json, Map, Value};
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use std::fmt;

/// Parses YAML into a value as sigs.k8s.io/yaml's `Unmarshal` does for Helm
/// (values files, `Chart.yaml`, `fromYaml`): YAML 1.1 typing (`0755` is
/// 493, `yes` and `on` are true, `1_000` is 1000), keys made strings
/// (`1`, `true`), every number a float64 as encoding/json decodes it, the
/// first document only (an empty one is nil).
pub fn from_yaml(text: &str) -> Result<Value, String> {
    let doc = crate::yaml11::unmarshal(text)?;
    de::Deserialize::deserialize(doc).map_err(|e: serde_json::Error| e.to_string())
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
    for (k, v) in go_yaml_order(m) {
        out.push_str(&" ".repeat(indent));
        out.push_str(&yaml_string(k, indent));
        out.push(':');
        write_value_after_key(v, out, indent);
    }
}

/// A map's entries in the order go-yaml v2 writes them (sorter.go): keys
/// compared character by character, letters after anything else and by
/// code point, runs of digits by their number (`a2` before `a10`). That
/// order is not always transitive (`3.1`, `1000`, `1e+10`), where Helm's
/// own output changes from run to run; merge sorted here, so no comparison
/// can upset the sort.
fn go_yaml_order(m: &Map) -> Vec<(&String, &Value)> {
    let mut entries: Vec<(&String, &Value)> = m.iter().collect();
    let mut buffer = entries.clone();
    merge_sort(&mut entries, &mut buffer, &|a: &(&String, &Value), b: &(&String, &Value)| go_yaml_key_less(a.0, b.0));
    entries
}

fn merge_sort<T: Copy>(items: &mut [T], buffer: &mut [T], less: &impl Fn(&T, &T) -> bool) {
    let n = items.len();
    if n < 2 {
        return;
    }
    let middle = n / 2;
    merge_sort(&mut items[..middle], &mut buffer[..middle], less);
    merge_sort(&mut items[middle..], &mut buffer[middle..], less);
    let (mut i, mut j) = (0, middle);
    for slot in buffer[..n].iter_mut() {
        if j == n || (i < middle && !less(&items[j], &items[i])) {
            *slot = items[i];
            i += 1;
        } else {
            *slot = items[j];
            j += 1;
        }
    }
    items.copy_from_slice(&buffer[..n]);
}

/// sorter.go `keyList.Less` for two string keys.
fn go_yaml_key_less(a: &str, b: &str) -> bool {
    // Go's unicode.IsDigit (decimal digits, of any script).
    let digit = |c: char| c.is_ascii_digit() || (!c.is_ascii() && c.is_numeric());
    let value = |c: char| i64::from(u32::from(c)) - i64::from(u32::from('0'));
    let (ar, br): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    for i in 0..ar.len().min(br.len()) {
        if ar[i] == br[i] {
            continue;
        }
        let (al, bl) = (ar[i].is_alphabetic(), br[i].is_alphabetic());
        if al && bl {
            return ar[i] < br[i];
        }
        if al || bl {
            return bl;
        }
        let (mut an, mut bn) = (0i64, 0i64);
        if ar[i] == '0' || br[i] == '0' {
            // After a nonzero digit, both numbers count from 1: that zero
            // is no leading zero.
            for j in (0..i).rev() {
                if !digit(ar[j]) {
                    break;
                }
                if ar[j] != '0' {
                    (an, bn) = (1, 1);
                    break;
                }
            }
        }
        let mut ai = i;
        while ai < ar.len() && digit(ar[ai]) {
            an = an.wrapping_mul(10).wrapping_add(value(ar[ai]));
            ai += 1;
        }
        let mut bi = i;
        while bi < br.len() && digit(br[bi]) {
            bn = bn.wrapping_mul(10).wrapping_add(value(br[bi]));
            bi += 1;
        }
        if an != bn {
            return an < bn;
        }
        if ai != bi {
            return ai < bi;
        }
        return ar[i] < br[i];
    }
    ar.len() < br.len()
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
                for (k, v) in go_yaml_order(&m.borrow()) {
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
        Value::Float(f) => yaml_float(*f),
        Value::Str(s) => yaml_string(s, indent),
        Value::Object(o) => yaml_string(&o.display(), indent),
        Value::List(_) => "[]".into(),
        Value::Map(_) => "{}".into(),
    }
}

/// A float64 as Helm's toYaml writes it: sigs.k8s.io/yaml's `Marshal`
/// writes JSON (encoding/json's digits), which go-yaml v2 reads back and
/// writes again. Digits that fit 64 bits come back an integer (`-0` as
/// `0`); anything else is a float, written as strconv's `'g'` writes it
/// (`1.5e-07`, `1e+20`, `1.8446744073709552e+19`).
fn yaml_float(f: f64) -> String {
    let json = format_float_json(f);
    json.parse::<i64>()
        .map(|i| i.to_string())
        .or_else(|_| json.parse::<u64>().map(|u| u.to_string()))
        .unwrap_or_else(|_| format_float_g(f))
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

/// Whether go-yaml v2's encoder quotes a string lest it read back as
/// another type (encode.go `stringv`): its resolver types the plain text as
/// a boolean, null, number or timestamp (YAML 1.1: `yes`, `0755`,
/// `1_000`, `2015-01-01`), or it is a base 60 float (`1:20`), quoted for
/// YAML 1.1 readers though v2 itself reads it as a string.
fn resolves_to_non_string(s: &str) -> bool {
    !crate::yaml11::resolves_to_string(s) || is_base60_float(s)
}

/// encode.go `isBase60Float`: `^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$`.
fn is_base60_float(s: &str) -> bool {
    let s = s.strip_prefix(['+', '-']).unwrap_or(s);
    let (s, fraction) = match s.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (s, None),
    };
    let mut parts = s.split(':');
    let first = parts.next().unwrap_or_default();
    let mut sixties = 0;
    for part in parts {
        let sexagesimal = match part.as_bytes() {
            [d] => d.is_ascii_digit(),
            [t, d] => (b'0'..=b'5').contains(t) && d.is_ascii_digit(),
            _ => false,
        };
        if !sexagesimal {
            return false;
        }
        sixties += 1;
    }
    first.starts_with(|c: char| c.is_ascii_digit())
        && first.bytes().all(|b| b.is_ascii_digit() || b == b'_')
        && sixties > 0
        && fraction.is_none_or(|f| f.bytes().all(|b| b.is_ascii_digit() || b == b'_'))
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

    /// Values files and `fromYaml` as Helm v4.3.2 reads them.
    #[test]
    fn yaml_is_read_as_helm_reads_it() {
        let v = from_yaml(
            "mode: 0755\nyes: on\nn: off\nhex: 0x1F\nsep: 1_000\nnone: ~\nbig: 1000000\nneg: -0.0\n1: one\n1.5: x\nq: '0755'\nd: 2015-01-01\n",
        )
        .unwrap();
        assert_eq!(
            to_json(&v),
            r#"{"1":"one","1.5":"x","big":1000000,"d":"2015-01-01","false":false,"hex":31,"mode":493,"neg":-0,"none":null,"q":"0755","sep":1000,"true":true}"#
        );
        let mode = v.at(["mode"]).unwrap();
        assert!(matches!(mode, Value::Float(f) if f == 493.0), "{mode:?}");
        // Go prints a float64: {{ .Values.big }} is 1e+06 in Helm.
        assert_eq!(v.at(["big"]).unwrap().go_string(), "1e+06");
        assert_eq!(v.at(["neg"]).unwrap().go_string(), "-0");
        // The first document only; none at all is nil.
        assert_eq!(to_json(&from_yaml("a: 1\n---\nb: [\n").unwrap()), r#"{"a":1}"#);
        assert!(matches!(from_yaml("# nothing\n").unwrap(), Value::Nil));
        assert!(from_yaml("a: .inf\n").is_err());
    }

    /// toYaml's text as Helm v4.3.2 wrote it for the same values.
    #[test]
    fn yaml_is_written_as_helm_writes_it() {
        let strings = [
            "2015-01-01",
            "2016-02-29",
            "2015-02-30",
            "2015-1-2",
            "2001-12-14 21:59:43.10",
            "1:20",
            "1:60",
            "1:20.5_",
            "0o8",
            "yES",
            ".iNf",
            "_1",
            "1e400",
            "0b-101",
            "<<",
            "+.5",
            "1_",
            "0755",
            "--1",
            "y",
            "0x1p-2",
        ];
        let list = Value::list(strings.iter().map(|s| Value::from(*s)).collect());
        assert_eq!(
            to_yaml(&list),
            [
                r#"- "2015-01-01""#,
                r#"- "2016-02-29""#,
                "- 2015-02-30",
                r#"- "2015-1-2""#,
                r#"- "2001-12-14 21:59:43.10""#,
                r#"- "1:20""#,
                "- 1:60",
                r#"- "1:20.5_""#,
                "- 0o8",
                "- yES",
                "- .iNf",
                "- _1",
                "- 1e400",
                r#"- "0b-101""#,
                "- <<",
                r#"- "+.5""#,
                r#"- "1_""#,
                r#"- "0755""#,
                "- --1",
                r#"- "y""#,
                "- 0x1p-2",
            ]
            .join("\n")
        );
        let floats =
            [-0.0, 1.5e-7, 18446744073709551616.0, 1e21, 1e20, 123456789.5, 1e-6, 1e6, 2.5, 9007199254740992.0];
        let list = Value::list(floats.iter().map(|f| Value::Float(*f)).collect());
        assert_eq!(
            to_yaml(&list),
            "- 0\n- 1.5e-07\n- 1.8446744073709552e+19\n- 1e+21\n- 1e+20\n- 1.234567895e+08\n- 1e-06\n- 1000000\n- 2.5\n- 9007199254740992"
        );
        let keys = [
            "x10", "x9", "x09", "x009", "x0", "x00", "y", "Y", "_a", "-a", "a-b", "a_b", "a.b", "a/b", "ab", "k8s-app",
            "k8s2", "a10", "a2", "b", "1", "10", "9", "-1", "1.5",
        ];
        let map = Value::map(keys.iter().map(|k| (k.to_string(), Value::Int(1))).collect());
        let order: Vec<String> =
            to_yaml(&map).lines().map(|l| l.split(": ").next().unwrap().trim_matches('"').to_string()).collect();
        assert_eq!(
            order,
            [
                "-1", "-a", "_a", "1", "1.5", "9", "10", "Y", "a-b", "a.b", "a/b", "a_b", "a2", "a10", "ab", "b",
                "k8s-app", "k8s2", "x0", "x00", "x9", "x09", "x009", "x10", "y",
            ]
        );
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
