//! Chart values as Helm computes them: `-f` files merged in order, then
//! `--set`/`--set-string` (Helm's strvals syntax), then coalesced with the
//! chart's and subcharts' defaults as Helm v4 coalesces them (a user `null`
//! deletes a default, a `null` among the defaults is dropped, `global`
//! flows down to every subchart; see `coalesce`).

use super::load::Chart;
use super::template::convert::{from_json, from_yaml};
use super::template::value::format_float_g;
use super::template::{Map, Value};
use std::cell::RefCell;
use std::rc::Rc;

/// The most text airlock reads as values: one values file, a chart's
/// `values.yaml`, a `--set` argument, a `--set-file` file. Real values are
/// tens to hundreds of KiB; the limit bounds what parsing them takes.
pub const MAX_VALUES_SIZE: usize = 16 << 20;
/// Helm's limits on a `--set` key (strvals): the highest list index
/// (`MaxIndex`) and how many `.`s (`maxNestedNameLevel`).
pub const MAX_SET_INDEX: usize = 65536;
pub const MAX_SET_NESTING: usize = 30;
/// Ours: names and `[i]` indexes in one `--set` key, all told.
pub const MAX_SET_STEPS: usize = 64;

/// The error for values text of `size` bytes, past `MAX_VALUES_SIZE`.
pub fn too_large(size: u64) -> String {
    format!(
        "it is {size} bytes, more than the {} MiB airlock reads as values; keep large data out of values \
         (or split it over several files)",
        MAX_VALUES_SIZE >> 20
    )
}

/// A chart's user values from a spec: its values files (name, YAML text)
/// merged in order as `-f` files are, then its inline values (JSON).
pub fn user_values(
    files: impl IntoIterator<Item = (String, String)>,
    inline: Option<&serde_json::Value>,
) -> Result<Map, String> {
    let mut user = Map::new();
    for (name, text) in files {
        let values = read_values(&text).map_err(|e| format!("values file {name}: {e}"))?;
        merge_maps(&mut user, &values);
    }
    if let Some(inline) = inline {
        if let Value::Map(m) = from_json(&inline.to_string())? {
            merge_maps(&mut user, &m.borrow());
        }
    }
    Ok(user)
}

/// A values file (or a chart's `values.yaml`) as Helm v4 reads it
/// (loader.LoadValues): split into documents at lines that begin with
/// `---` (k8s.io/apimachinery's YAMLReader, which allows only a comment
/// after the dashes), each read as sigs.k8s.io/yaml reads YAML (YAML 1.1,
/// numbers float64, `from_yaml`), the maps deep-merged in order, later
/// documents winning. Empty documents count for nothing; any other
/// document that is not a map is an error.
pub fn read_values(text: &str) -> Result<Map, String> {
    if text.len() > MAX_VALUES_SIZE {
        return Err(too_large(text.len() as u64));
    }
    let mut documents = Vec::new();
    let mut current = String::new();
    for line in text.split_inclusive('\n') {
        // bufio's ReadLine drops the line end, `\r\n` or `\n`.
        let line = line.strip_suffix('\n').map(|l| l.strip_suffix('\r').unwrap_or(l)).unwrap_or(line);
        if let Some(rest) = line.strip_prefix("---") {
            let rest = rest.trim();
            if !rest.is_empty() && !rest.starts_with('#') {
                return Err(format!("invalid Yaml document separator: {rest}"));
            }
            if !current.is_empty() {
                documents.push(std::mem::take(&mut current));
            }
            continue;
        }
        current.push_str(line);
        current.push('\n');
    }
    if !current.is_empty() {
        documents.push(current);
    }
    let mut values = Map::new();
    for (i, document) in documents.iter().enumerate() {
        match from_yaml(document)? {
            Value::Map(m) => merge_maps(&mut values, &m.borrow()),
            Value::Nil => {}
            other => {
                let what = match other {
                    Value::List(_) => "a list",
                    Value::Str(_) => "a string",
                    Value::Bool(_) => "a boolean",
                    _ => "a number",
                };
                let which = if documents.len() > 1 { format!("its YAML document {} ", i + 1) } else { String::new() };
                return Err(format!("{which}must hold a map of values, not {what}"));
            }
        }
    }
    Ok(values)
}

/// Deep merge of `src` into `dst`, `src` winning (Helm's mergeMaps for `-f`).
pub fn merge_maps(dst: &mut Map, src: &Map) {
    for (k, v) in src {
        match (dst.get(k), v) {
            (Some(Value::Map(d)), Value::Map(s)) => {
                let mut merged = d.borrow().clone();
                merge_maps(&mut merged, &s.borrow());
                dst.insert(k.clone(), Value::map(merged));
            }
            _ => {
                dst.insert(k.clone(), v.clone());
            }
        }
    }
}

fn as_map(v: &Value) -> Option<Map> {
    match v {
        Value::Map(m) => Some(m.borrow().clone()),
        _ => None,
    }
}

/// A Go map: values' maps are shared, as Helm's are, so coalescing
/// changes them in place and what one chart's values share with another's
/// (a parent's `global` tables) stays shared, as in Helm.
type Table = Rc<RefCell<Map>>;

fn table(map: Map) -> Table {
    Rc::new(RefCell::new(map))
}

/// Helm's CoalesceValues: a copy of the user's values over the chart's
/// defaults, recursively through subcharts. `null` goes as in Helm v4: a
/// user `null` deletes the default it meets; a `null` among the chart's
/// defaults is no value at all (dropped, nested ones too), unless the user
/// gave that subchart's values, when the parent's defaults for it are
/// merged into them nulls and all, and then delete the subchart's
/// defaults they meet; a `null` the user gives for a key without a default
/// stays. Values of a subchart that are not a map are an error
/// (`type mismatch on NAME: ...`, Go's `%t` of the value).
pub fn coalesce(chart: &Chart, user: &Map) -> Result<Map, String> {
    let dest = table(user.iter().map(|(k, v)| (k.clone(), v.deep_copy())).collect());
    coalesce_chart(chart, &dest, false)?;
    let values = dest.borrow().clone();
    Ok(values)
}

/// Helm's MergeValues: as `coalesce`, but every `null` is kept (what
/// import-values works on).
pub fn merge_values(chart: &Chart, user: &Map) -> Result<Map, String> {
    let dest = table(user.iter().map(|(k, v)| (k.clone(), v.deep_copy())).collect());
    coalesce_chart(chart, &dest, true)?;
    let values = dest.borrow().clone();
    Ok(values)
}

fn coalesce_chart(chart: &Chart, dest: &Table, merge: bool) -> Result<(), String> {
    coalesce_values(chart, dest, merge);
    for sub in &chart.subcharts {
        let current = dest.borrow().get(&sub.name).cloned();
        let sub_values = match current {
            None => {
                let fresh = table(Map::new());
                dest.borrow_mut().insert(sub.name.clone(), Value::Map(fresh.clone()));
                fresh
            }
            Some(Value::Map(m)) => m,
            Some(other) => return Err(format!("type mismatch on {}: {}", sub.name, go_bad_bool_verb(&other))),
        };
        coalesce_globals(&sub_values, dest);
        coalesce_chart(sub, &sub_values, merge)?;
    }
    Ok(())
}

/// The chart's own defaults (a fresh copy) under `values`: a key the
/// values lack takes the default (when coalescing: not a `null`, and
/// without the `null`s inside); a `null` there deletes the key when
/// coalescing; maps on both sides are merged, the values winning, the
/// defaults' `null`s dropped first unless merging (or the key is a
/// subchart's, whose defaults are merged with their `null`s).
fn coalesce_values(chart: &Chart, values: &Table, merge: bool) {
    let defaults: Map = chart.values.iter().map(|(k, v)| (k.clone(), v.deep_copy())).collect();
    for (key, default) in defaults {
        let current = values.borrow().get(&key).cloned();
        match current {
            Some(Value::Nil) if !merge => {
                values.borrow_mut().remove(&key);
            }
            Some(Value::Map(dest)) => {
                if let Value::Map(src) = &default {
                    let merge = merge || chart.subcharts.iter().any(|s| s.name == key);
                    if !merge {
                        drop_nulls(src);
                    }
                    coalesce_tables(&dest, src, merge);
                }
            }
            Some(_) => {}
            None => {
                if !merge {
                    match &default {
                        Value::Nil => continue,
                        Value::Map(m) => drop_nulls(m),
                        _ => {}
                    }
                }
                values.borrow_mut().insert(key, default);
            }
        }
    }
}

/// Removes every `null` from `map`, nested maps included.
fn drop_nulls(map: &Table) {
    map.borrow_mut().retain(|_, v| !matches!(v, Value::Nil));
    let nested: Vec<Table> = map
        .borrow()
        .values()
        .filter_map(|v| match v {
            Value::Map(m) => Some(m.clone()),
            _ => None,
        })
        .collect();
    for m in nested {
        if !Rc::ptr_eq(&m, map) {
            drop_nulls(&m);
        }
    }
}

/// Helm's CoalesceTables (`merge` false) and MergeTables (true) on maps
/// that are not a chart's: `dst`'s values win, `src` fills in what `dst`
/// lacks, nested maps merged. When coalescing, a `null` in `dst` deletes
/// the key if `src` had a value for it, and stays otherwise. As in Helm,
/// `src` is changed too: a key `dst` holds `null` for is set to `null`.
pub fn coalesce_tables(dst: &Table, src: &Table, merge: bool) {
    if Rc::ptr_eq(dst, src) {
        // Coalescing a map with itself changes nothing.
        return;
    }
    let src_had: Vec<String> =
        src.borrow().iter().filter(|(_, v)| !matches!(v, Value::Nil)).map(|(k, _)| k.clone()).collect();
    let dst_nulls: Vec<String> =
        dst.borrow().iter().filter(|(_, v)| matches!(v, Value::Nil)).map(|(k, _)| k.clone()).collect();
    for key in dst_nulls {
        src.borrow_mut().insert(key, Value::Nil);
    }
    let entries: Vec<(String, Value)> = src.borrow().iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    for (key, val) in entries {
        let current = dst.borrow().get(&key).cloned();
        match current {
            Some(Value::Nil) if !merge && src_had.binary_search(&key).is_ok() => {
                dst.borrow_mut().remove(&key);
            }
            None => {
                dst.borrow_mut().insert(key, val);
            }
            Some(Value::Map(d)) => {
                if let Value::Map(s) = &val {
                    coalesce_tables(&d, s, merge);
                }
            }
            Some(_) => {}
        }
    }
}

/// Helm's coalesceGlobals: the parent's `global` into the child's, the
/// parent winning. A table there is a shallow copy of the parent's, merged
/// over the child's (nulls kept), so tables nested deeper are the parent's
/// own, and the child's defaults merged into them later show in the
/// parent's `global` too, as in Helm.
fn coalesce_globals(dest: &Table, parent: &Table) {
    let current = dest.borrow().get("global").cloned();
    let dg = match current {
        None => table(Map::new()),
        Some(Value::Map(m)) => m,
        Some(_) => return,
    };
    let current = parent.borrow().get("global").cloned();
    let sg = match current {
        None => table(Map::new()),
        Some(Value::Map(m)) => m,
        Some(_) => return,
    };
    let entries: Vec<(String, Value)> = sg.borrow().iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    for (key, val) in entries {
        let existing = dg.borrow().get(&key).cloned();
        match (&val, existing) {
            (Value::Map(v), None) => {
                let copy = table(v.borrow().clone());
                dg.borrow_mut().insert(key, Value::Map(copy));
            }
            (Value::Map(v), Some(Value::Map(existing))) => {
                let copy = table(v.borrow().clone());
                coalesce_tables(&copy, &existing, true);
                dg.borrow_mut().insert(key, Value::Map(copy));
            }
            (Value::Map(_), Some(_)) | (_, Some(Value::Map(_))) => {}
            _ => {
                dg.borrow_mut().insert(key, val);
            }
        }
    }
    dest.borrow_mut().insert("global".into(), Value::Map(dg));
}

/// Go's `%t` of a value that is not a bool, as Helm's `type mismatch`
/// error prints it: `%!t(int64=1)`, `%!t(<nil>)`, lists and maps element
/// by element.
fn go_bad_bool_verb(value: &Value) -> String {
    match value {
        Value::Bool(b) => b.to_string(),
        Value::Nil => "%!t(<nil>)".into(),
        Value::Int(i) => format!("%!t(int64={i})"),
        Value::Float(f) => format!("%!t(float64={})", format_float_g(*f)),
        Value::Str(s) => format!("%!t(string={s})"),
        Value::List(l) => format!("[{}]", l.iter().map(go_bad_bool_verb).collect::<Vec<_>>().join(" ")),
        Value::Map(m) => format!(
            "map[{}]",
            m.borrow()
                .iter()
                .map(|(k, v)| format!("%!t(string={k}):{}", go_bad_bool_verb(v)))
                .collect::<Vec<_>>()
                .join(" ")
        ),
        Value::Object(o) => format!("%!t({}={})", o.type_name(), o.display()),
    }
}

/// Applies one `--set` (or `--set-string` when `strings`) argument:
/// `a.b=1,c[0]=x,d={e,f}` with `\` escapes, as Helm's strvals parses it.
pub fn apply_set(values: &mut Map, arg: &str, strings: bool) -> Result<(), String> {
    if arg.len() > MAX_VALUES_SIZE {
        return Err(too_large(arg.len() as u64));
    }
    for pair in split_unescaped(arg, ',', true) {
        if pair.is_empty() {
            continue;
        }
        let Some((key, raw)) = split_key_value(&pair) else {
            return Err(format!("key {pair:?} has no value (use key=value)"));
        };
        let value = if raw.starts_with('{') && raw.ends_with('}') && !strings {
            let inner = &raw[1..raw.len() - 1];
            Value::list(split_unescaped(inner, ',', false).iter().map(|s| typed(&unescape(s), false)).collect())
        } else {
            typed(&unescape(&raw), strings)
        };
        set_path(values, &parse_path(&key)?, value)?;
    }
    Ok(())
}

/// Splits on `sep` outside `{...}` lists and not after a backslash.
fn split_unescaped(s: &str, sep: char, respect_braces: bool) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut depth = 0;
    let mut escaped = false;
    for c in s.chars() {
        let current = out.last_mut().expect("never empty");
        if escaped {
            current.push('\\');
            current.push(c);
            escaped = false;
            continue;
        }
        match c {
            '\\' => escaped = true,
            '{' if respect_braces => {
                depth += 1;
                current.push(c);
            }
            '}' if respect_braces => {
                depth -= 1;
                current.push(c);
            }
            c if c == sep && depth == 0 => out.push(String::new()),
            c => current.push(c),
        }
    }
    if escaped {
        out.last_mut().expect("never empty").push('\\');
    }
    out
}

pub(crate) fn split_key_value(pair: &str) -> Option<(String, String)> {
    let mut escaped = false;
    for (i, c) in pair.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' => escaped = true,
            '=' => return Some((pair[..i].to_string(), pair[i + 1..].to_string())),
            _ => {}
        }
    }
    None
}

fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(n) = chars.next() {
                out.push(n);
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// strvals' typing: true/false, null, integers (not with a leading 0),
/// otherwise a string.
fn typed(s: &str, strings: bool) -> Value {
    if strings {
        return Value::from(s);
    }
    match s {
        "true" => return Value::Bool(true),
        "false" => return Value::Bool(false),
        "null" => return Value::Nil,
        "0" => return Value::Int(0),
        _ => {}
    }
    if !s.starts_with('0') {
        if let Ok(i) = s.parse::<i64>() {
            return Value::Int(i);
        }
    }
    Value::from(s)
}

pub(crate) enum Step {
    Key(String),
    Index(usize),
}

pub(crate) fn parse_path(key: &str) -> Result<Vec<Step>, String> {
    let mut steps = Vec::new();
    let parts = split_unescaped(key, '.', false);
    if parts.len() > MAX_SET_NESTING + 1 {
        return Err(format!(
            "key {key:?} is nested more than {MAX_SET_NESTING} levels deep (it has {} `.`s), Helm's limit",
            parts.len() - 1
        ));
    }
    for part in parts {
        let part = part.as_str();
        let (name, mut rest) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if !name.is_empty() {
            steps.push(Step::Key(unescape(name)));
        }
        while let Some(stripped) = rest.strip_prefix('[') {
            let end = stripped.find(']').ok_or_else(|| format!("key {key:?}: unclosed ["))?;
            let index = stripped[..end].parse::<usize>().map_err(|_| format!("key {key:?}: bad list index"))?;
            if index > MAX_SET_INDEX {
                return Err(format!(
                    "key {key:?}: list index {index} is greater than {MAX_SET_INDEX}, the highest Helm allows"
                ));
            }
            steps.push(Step::Index(index));
            if steps.len() > MAX_SET_STEPS {
                return Err(format!("key {key:?} has more than {MAX_SET_STEPS} names and [indexes]"));
            }
            rest = &stripped[end + 1..];
        }
    }
    if steps.is_empty() {
        return Err(format!("key {key:?} is empty"));
    }
    Ok(steps)
}

pub(crate) fn set_path(values: &mut Map, steps: &[Step], value: Value) -> Result<(), String> {
    let Step::Key(first) = &steps[0] else {
        return Err("a --set key must start with a name".into());
    };
    let current = values.remove(first).unwrap_or_default();
    values.insert(first.clone(), set_in(current, &steps[1..], value));
    Ok(())
}

fn set_in(current: Value, steps: &[Step], value: Value) -> Value {
    let Some(step) = steps.first() else { return value };
    match step {
        Step::Key(k) => {
            let mut map = as_map(&current).unwrap_or_default();
            let inner = map.remove(k).unwrap_or_default();
            map.insert(k.clone(), set_in(inner, &steps[1..], value));
            Value::map(map)
        }
        Step::Index(i) => {
            let mut list = match current {
                Value::List(l) => l.as_ref().clone(),
                _ => Vec::new(),
            };
            if list.len() <= *i {
                list.resize(*i + 1, Value::Nil);
            }
            let inner = std::mem::take(&mut list[*i]);
            list[*i] = set_in(inner, &steps[1..], value);
            Value::list(list)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chart::template::convert::to_json;

    /// As Helm v4.3.2 loads a chart's values.yaml or a `-f` file.
    #[test]
    fn values_files_are_read_as_helm_reads_them() {
        let values = |text: &str| read_values(text).map(|m| to_json(&Value::map(m)));
        // `n` is false, `on` true: keys too.
        assert_eq!(
            values("mode: 0755\nflags: {a: yes, b: off, c: y}\nn: 1_000\n1: one\non: bool key\n").unwrap(),
            r#"{"1":"one","false":1000,"flags":{"a":true,"b":false,"c":true},"mode":493,"true":"bool key"}"#
        );
        // Documents are merged in order, maps deeply; a comment may follow `---`.
        assert_eq!(
            values("a: 1\n--- # two\nb: {c: 0755}\n---\n---\nb: {d: y}\n").unwrap(),
            r#"{"a":1,"b":{"c":493,"d":true}}"#
        );
        assert_eq!(values("a: 1\r\n---\r\nb: on\r\n").unwrap(), r#"{"a":1,"b":true}"#);
        // `...` ends a document; what follows it before the next `---` is not read.
        assert_eq!(values("a: 1\n...\nb: 2\n---\nc: 3").unwrap(), r#"{"a":1,"c":3}"#);
        assert_eq!(values("").unwrap(), "{}");
        assert_eq!(values("---\n# nothing\n").unwrap(), "{}");
        assert_eq!(values("a: 1\n---x\nb: 2\n").unwrap_err(), "invalid Yaml document separator: x");
        assert_eq!(
            values("a: 1\n---\n- 1\n").unwrap_err(),
            "its YAML document 2 must hold a map of values, not a list"
        );
        assert_eq!(values("0755\n").unwrap_err(), "must hold a map of values, not a number");
        assert!(values("a: .inf\n").unwrap_err().contains("infinite"));
    }

    /// A `-f` file of several documents, as Helm v4.3.2's `helm template
    /// -f` layers them (observed with the binary): each over the ones
    /// before, maps merged deeply, a later key winning; an empty document,
    /// one of comments only, `{}`, and one that is `null` or `~` add
    /// nothing and take nothing away; a key set to `null` is kept (for
    /// coalescing to delete the default). A document that is a list,
    /// string or boolean, or text after `---`, is refused.
    #[test]
    fn every_document_of_a_values_file_layers_over_the_ones_before() {
        let values = |text: &str| read_values(text).map(|m| to_json(&Value::map(m)));
        assert_eq!(values("a: 1\n---\nb: 2\n").unwrap(), r#"{"a":1,"b":2}"#);
        assert_eq!(values("a: 1\n---\nb: 2\n---\na: 7\n").unwrap(), r#"{"a":7,"b":2}"#);
        assert_eq!(values("m: {x: 1}\n---\nm: {z: 2}\n---\nm: {x: 3}\n").unwrap(), r#"{"m":{"x":3,"z":2}}"#);
        // A map replaces what is not one, and the other way round.
        assert_eq!(values("m: {x: 1}\n---\nm: 5\n---\nm: {z: 2}\n").unwrap(), r#"{"m":{"z":2}}"#);
        for nothing in ["", "\n", "# a comment\n", "null\n", "~\n", "{}\n", "--- # c\n"] {
            let text = format!("a: 1\n---\n{nothing}---\nb: 2\n");
            assert_eq!(values(&text).unwrap(), r#"{"a":1,"b":2}"#, "{text:?}");
            assert_eq!(values(&format!("---\n{nothing}")).unwrap(), "{}", "{nothing:?}");
        }
        assert_eq!(values("a: 1\n---\nnull\n---\na: 2\n").unwrap(), r#"{"a":2}"#);
        assert_eq!(values("a: 1\nb: 1\n---\na: null\n").unwrap(), r#"{"a":null,"b":1}"#);
        assert_eq!(values("a: 1\n---\n").unwrap(), r#"{"a":1}"#);
        assert_eq!(values("a: 1\n...\n---\nb: 2\n").unwrap(), r#"{"a":1,"b":2}"#);
        assert_eq!(values("a: 1\n--- null\nb: 2\n").unwrap_err(), "invalid Yaml document separator: null");
        assert_eq!(values("a: 1\n----\nb: 2\n").unwrap_err(), "invalid Yaml document separator: -");
        for (text, what) in [("[]", "a list"), ("hello", "a string"), ("\"\"", "a string"), ("false", "a boolean")] {
            assert_eq!(
                values(&format!("a: 1\n---\n{text}\n")).unwrap_err(),
                format!("its YAML document 2 must hold a map of values, not {what}")
            );
        }

        // A spec's values files are read the same way, then layered in order.
        let files = [
            ("one.yaml".to_string(), "a: 1\n---\nb: 2\n".to_string()),
            ("two.yaml".into(), "---\n~\n---\nb: 3\n".into()),
        ];
        let user = user_values(files, Some(&serde_json::json!({"c": 4}))).unwrap();
        assert_eq!(to_json(&Value::map(user)), r#"{"a":1,"b":3,"c":4}"#);
    }

    /// A values.yaml with long commented-out blocks (more than the 96
    /// comments granit-parser buffers when asked for them), as Helm loads it.
    #[test]
    fn long_commented_out_blocks_are_read() {
        let comments =
            |indent: &str, n: usize| -> String { (0..n).map(|i| format!("{indent}# foo{i}: bar\n")).collect() };
        let text = format!(
            "image:\n  tag: 0755\n{}{}  pullPolicy: on\n{}extra:\n{}  - a\n{}  - b\n---\n{}more: 1\n{}",
            comments("  ", 250),
            comments("", 250),
            comments("", 300),
            comments("  ", 200),
            comments("  ", 200),
            comments("", 200),
            comments("", 400),
        );
        assert_eq!(
            to_json(&Value::map(read_values(&text).unwrap())),
            r#"{"extra":["a","b"],"image":{"pullPolicy":true,"tag":493},"more":1}"#
        );
    }

    fn chart(name: &str, values: &str, subcharts: Vec<Chart>) -> Chart {
        Chart {
            metadata: Map::new(),
            values: read_values(values).unwrap(),
            files: Default::default(),
            subcharts,
            name: name.into(),
        }
    }

    /// What `toJson .Values` gives in Helm v4.3.2's `helm template` for
    /// these charts and values (tests/helm_yaml11.rs checks many more
    /// against the binary).
    #[test]
    fn nulls_are_coalesced_as_in_helm() {
        let json =
            |chart: &Chart, user: &str| to_json(&Value::map(coalesce(chart, &read_values(user).unwrap()).unwrap()));
        let plain = chart("p", "a: ~\nb: {c: ~, d: 1}\n", vec![]);
        assert_eq!(json(&plain, ""), r#"{"b":{"d":1}}"#);
        assert_eq!(json(&plain, "b: {c: 2}\nx: ~\n"), r#"{"b":{"c":2,"d":1},"x":null}"#);
        assert_eq!(json(&plain, "b: {c: ~, e: ~}\na: ~\n"), r#"{"b":{"c":null,"d":1,"e":null}}"#);
        assert_eq!(json(&plain, "b: ~\n"), "{}");

        // The parent's defaults for a subchart keep their nulls when the
        // user gives values for it; nested global tables are shared.
        let sub = chart("s", "global: {a: {b: {w: 2}}, k: {z: 3}}\nx: 1\nq: {r: 1}\n", vec![]);
        let parent = chart("q", "global: {a: {b: {x: 1}}, k: {m: 1}}\ns: {x: ~, q: {r: ~}}\n", vec![sub]);
        let g = r#"{"a":{"b":{"w":2,"x":1}},"k":{"m":1,"z":3}}"#;
        assert_eq!(
            json(&parent, ""),
            format!(
                r#"{{"global":{{"a":{{"b":{{"w":2,"x":1}}}},"k":{{"m":1}}}},"s":{{"global":{g},"q":{{"r":1}},"x":1}}}}"#
            )
        );
        assert_eq!(
            json(&parent, "s: {u: 1}"),
            format!(
                r#"{{"global":{{"a":{{"b":{{"w":2,"x":1}}}},"k":{{"m":1}}}},"s":{{"global":{g},"q":{{}},"u":1}}}}"#
            )
        );

        // A subchart's values must be a map.
        assert_eq!(
            coalesce(&parent, &read_values("s: [1, a]").unwrap()).unwrap_err(),
            "type mismatch on s: [%!t(float64=1) %!t(string=a)]"
        );
        // A user null for them drops the parent's defaults for them.
        assert_eq!(json(&parent, "s: ~"), json(&parent, ""));
    }

    /// `--set` keeps Helm's strvals typing, not YAML's.
    #[test]
    fn set_values_are_not_yaml() {
        let mut m = Map::new();
        apply_set(&mut m, "mode=0755,flag=yes,on=off,hex=0x1F,sep=1_000,n=null,big=1000000", false).unwrap();
        assert_eq!(
            to_json(&Value::map(m)),
            r#"{"big":1000000,"flag":"yes","hex":"0x1F","mode":"0755","n":null,"on":"off","sep":"1_000"}"#
        );
    }

    #[test]
    fn set_syntax_like_helm() {
        let mut m = Map::new();
        apply_set(&mut m, "a.b=1,c[1]=x,d={e,f},g=true,h=007,i=a\\,b,j.k\\.l=v", false).unwrap();
        apply_set(&mut m, "s=2", true).unwrap();
        assert_eq!(
            to_json(&Value::map(m)),
            r#"{"a":{"b":1},"c":[null,"x"],"d":["e","f"],"g":true,"h":"007","i":"a,b","j":{"k.l":"v"},"s":"2"}"#
        );
    }

    /// Helm's strvals limits on a `--set` key (an index past 65536, more
    /// than 30 `.`s), and ours on `[i]`s, refused with the key named rather
    /// than allocating a list of the index's length or recursing once per
    /// step (found by fuzzing: `a[99999999999]=x` asked for terabytes).
    #[test]
    fn set_keys_past_the_limits_are_refused() {
        let set = |arg: &str| {
            let mut values = Map::new();
            apply_set(&mut values, arg, false).map(|()| to_json(&Value::map(values)).len())
        };
        assert_eq!(
            set("a[99999999999]=x").unwrap_err(),
            r#"key "a[99999999999]": list index 99999999999 is greater than 65536, the highest Helm allows"#
        );
        assert!(set("a[65537]=x").is_err());
        assert!(set("a[65536]=x").is_ok());
        let dots = |n: usize| format!("{}=1", vec!["a"; n + 1].join("."));
        assert!(set(&dots(MAX_SET_NESTING)).is_ok());
        assert_eq!(
            set(&dots(MAX_SET_NESTING + 1)).unwrap_err(),
            format!(
                "key {:?} is nested more than 30 levels deep (it has 31 `.`s), Helm's limit",
                vec!["a"; 32].join(".")
            )
        );
        assert!(set(&dots(400_000)).is_err());
        let indexes = |n: usize| format!("a{}=1", "[0]".repeat(n));
        assert!(set(&indexes(MAX_SET_STEPS - 1)).is_ok());
        assert!(set(&indexes(MAX_SET_STEPS)).unwrap_err().ends_with("has more than 64 names and [indexes]"));
        assert!(set(&indexes(200_000)).is_err());
    }

    /// Values text past `MAX_VALUES_SIZE` is refused before it is parsed.
    #[test]
    fn values_past_the_size_limit_are_refused() {
        let mut text = String::from("a: 1\n");
        text.push_str(&"# padding\n".repeat(MAX_VALUES_SIZE / 10));
        assert!(read_values(&text).is_ok());
        text.push_str("# more\n");
        let err = read_values(&text).unwrap_err();
        assert!(err.starts_with(&format!("it is {} bytes, more than the 16 MiB airlock reads as values", text.len())));
        let arg = format!("a={}", "x".repeat(MAX_VALUES_SIZE));
        assert!(apply_set(&mut Map::new(), &arg, true).unwrap_err().starts_with("it is 16777218 bytes"));
    }
}
