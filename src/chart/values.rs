//! Chart values as Helm computes them: `-f` files merged in order, then
//! `--set`/`--set-string` (Helm's strvals syntax), then coalesced with the
//! chart's and subcharts' defaults (a user `null` deletes a default,
//! `global` flows down to every subchart).

use super::load::Chart;
use super::template::convert::{from_json, from_yaml};
use super::template::{Map, Value};

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

/// Helm's CoalesceValues: the user's values over the chart's defaults,
/// recursively through subcharts. `user` is consumed and returned.
pub fn coalesce(chart: &Chart, user: Map) -> Map {
    let mut dest = user;
    coalesce_chart(chart, &mut dest);
    dest
}

fn coalesce_chart(chart: &Chart, dest: &mut Map) {
    coalesce_defaults(&chart.values.clone(), dest);
    for sub in &chart.subcharts {
        let mut sub_values = match dest.get(&sub.name) {
            None | Some(Value::Nil) => Map::new(),
            Some(v) => match as_map(v) {
                Some(m) => m,
                None => continue,
            },
        };
        coalesce_globals(&mut sub_values, dest);
        coalesce_chart(sub, &mut sub_values);
        dest.insert(sub.name.clone(), Value::map(sub_values));
    }
}

/// Copies chart defaults into `dest` where the user gave nothing; a user
/// `null` removes the key.
fn coalesce_defaults(defaults: &Map, dest: &mut Map) {
    for (key, default) in defaults {
        match dest.get(key) {
            Some(Value::Nil) => {
                dest.remove(key);
            }
            Some(Value::Map(user)) => {
                if let Value::Map(d) = default {
                    let mut merged = user.borrow().clone();
                    coalesce_tables(&mut merged, &d.borrow().clone(), false);
                    dest.insert(key.clone(), Value::map(merged));
                }
            }
            Some(_) => {}
            None => {
                dest.insert(key.clone(), default.deep_copy());
            }
        }
    }
}

/// Helm's coalesceTablesFullKey: `dst` has precedence over `src`.
pub fn coalesce_tables(dst: &mut Map, src: &Map, merge: bool) {
    for (key, val) in src {
        match dst.get(key) {
            Some(Value::Nil) if !merge => {
                dst.remove(key);
            }
            None => {
                dst.insert(key.clone(), val.deep_copy());
            }
            Some(Value::Map(d)) => {
                if let Value::Map(s) = val {
                    let mut merged = d.borrow().clone();
                    coalesce_tables(&mut merged, &s.borrow().clone(), merge);
                    dst.insert(key.clone(), Value::map(merged));
                }
            }
            Some(_) => {}
        }
    }
}

/// Helm's coalesceGlobals: the parent's `global` merged into the child's,
/// the parent winning.
fn coalesce_globals(dest: &mut Map, parent: &Map) {
    let mut dg = match dest.get("global") {
        None => Map::new(),
        Some(v) => match as_map(v) {
            Some(m) => m,
            None => return,
        },
    };
    let sg = match parent.get("global") {
        None => Map::new(),
        Some(v) => match as_map(v) {
            Some(m) => m,
            None => return,
        },
    };
    for (key, val) in sg {
        match (&val, dg.get(&key)) {
            (Value::Map(v), None) => {
                dg.insert(key, Value::map(v.borrow().clone()));
            }
            (Value::Map(v), Some(Value::Map(existing))) => {
                let mut vv = v.borrow().clone();
                coalesce_tables(&mut vv, &existing.borrow().clone(), true);
                dg.insert(key, Value::map(vv));
            }
            (Value::Map(_), Some(_)) => {}
            (_, Some(Value::Map(_))) => {}
            _ => {
                dg.insert(key, val);
            }
        }
    }
    dest.insert("global".into(), Value::map(dg));
}

/// Applies one `--set` (or `--set-string` when `strings`) argument:
/// `a.b=1,c[0]=x,d={e,f}` with `\` escapes, as Helm's strvals parses it.
pub fn apply_set(values: &mut Map, arg: &str, strings: bool) -> Result<(), String> {
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

fn split_key_value(pair: &str) -> Option<(String, String)> {
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

enum Step {
    Key(String),
    Index(usize),
}

fn parse_path(key: &str) -> Result<Vec<Step>, String> {
    let mut steps = Vec::new();
    for part in split_unescaped(key, '.', false) {
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
            steps.push(Step::Index(index));
            rest = &stripped[end + 1..];
        }
    }
    if steps.is_empty() {
        return Err(format!("key {key:?} is empty"));
    }
    Ok(steps)
}

fn set_path(values: &mut Map, steps: &[Step], value: Value) -> Result<(), String> {
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
}
