//! Go text/template's own functions: not, len, index, slice, print,
//! printf, println, the comparisons, html, js, urlquery.

use super::super::value::Value;
use super::printf::{sprint, sprintf, sprintln};
use super::{arg, want, FuncError, FuncResult};
use std::cmp::Ordering;

pub fn call(name: &str, args: &[Value]) -> Option<FuncResult> {
    Some(match name {
        "not" => want(args, 1).map(|_| Value::Bool(!args[0].truthy())),
        "len" => want(args, 1).and_then(|_| len(&args[0])),
        "index" => index(args),
        "slice" => slice(args),
        "print" => Ok(Value::from(sprint(args))),
        "println" => Ok(Value::from(sprintln(args))),
        "printf" => match args.split_first() {
            Some((Value::Str(f), rest)) => Ok(Value::from(sprintf(f, rest))),
            Some((other, rest)) => Ok(Value::from(sprintf(&other.go_string_inner(), rest))),
            None => Err(FuncError::Call("wrong number of args for printf: want at least 1 got 0".into())),
        },
        "eq" => eq(args),
        "ne" => {
            want(args, 2).and_then(|_| compare(&args[0], &args[1]).map(|o| Value::Bool(o != Some(Ordering::Equal))))
        }
        "lt" => ordered(args, |o| o == Ordering::Less),
        "le" => ordered(args, |o| o != Ordering::Greater),
        "gt" => ordered(args, |o| o == Ordering::Greater),
        "ge" => ordered(args, |o| o != Ordering::Less),
        "html" => Ok(Value::from(html_escape(&sprint(args)))),
        "js" => Ok(Value::from(js_escape(&sprint(args)))),
        "urlquery" => Ok(Value::from(query_escape(&sprint(args)))),
        _ => return None,
    })
}

fn len(v: &Value) -> FuncResult {
    Ok(Value::Int(match v {
        Value::Str(s) => s.len() as i64,
        Value::List(l) => l.len() as i64,
        Value::Map(m) => m.borrow().len() as i64,
        Value::Nil => return Err(FuncError::Call("len of nil pointer".into())),
        other => return Err(FuncError::Call(format!("len of type {}", other.type_name()))),
    }))
}

fn index(args: &[Value]) -> FuncResult {
    let mut v = arg(args, 0);
    for key in args.iter().skip(1) {
        v = match (&v, key) {
            (Value::Map(m), Value::Str(k)) => m.borrow().get(k.as_ref()).cloned().unwrap_or_default(),
            (Value::Map(_), Value::Nil) => Value::Nil,
            (Value::List(l), k) => {
                let i = position(k)?;
                l.get(i).cloned().ok_or_else(|| FuncError::Call(format!("index out of range: {i}")))?
            }
            (Value::Str(s), k) => {
                let i = position(k)?;
                Value::Int(
                    *s.as_bytes().get(i).ok_or_else(|| FuncError::Call(format!("index out of range: {i}")))? as i64
                )
            }
            (Value::Nil, _) => return Err(FuncError::Call("index of untyped nil".into())),
            (other, k) => {
                return Err(FuncError::Call(format!(
                    "can't index item of type {} with {}",
                    other.type_name(),
                    k.type_name()
                )))
            }
        };
    }
    Ok(v)
}

fn position(k: &Value) -> Result<usize, FuncError> {
    match k {
        Value::Int(i) if *i >= 0 => Ok(*i as usize),
        Value::Float(f) if *f >= 0.0 => Ok(*f as usize),
        other => Err(FuncError::Call(format!("cannot index slice/array with {}", other.go_string_inner()))),
    }
}

fn slice(args: &[Value]) -> FuncResult {
    let bounds: Vec<usize> = args.iter().skip(1).map(position).collect::<Result<_, _>>()?;
    match arg(args, 0) {
        Value::List(l) => {
            let start = bounds.first().copied().unwrap_or(0);
            let end = bounds.get(1).copied().unwrap_or(l.len());
            if start > end || end > l.len() {
                return Err(FuncError::Call(format!("index out of range: {end}")));
            }
            Ok(Value::list(l[start..end].to_vec()))
        }
        Value::Str(s) => {
            let start = bounds.first().copied().unwrap_or(0);
            let end = bounds.get(1).copied().unwrap_or(s.len());
            s.get(start..end).map(Value::from).ok_or_else(|| FuncError::Call(format!("index out of range: {end}")))
        }
        other => Err(FuncError::Call(format!("can't slice item of type {}", other.type_name()))),
    }
}

fn eq(args: &[Value]) -> FuncResult {
    if args.len() < 2 {
        return Err(FuncError::Call("missing argument for comparison".into()));
    }
    for other in &args[1..] {
        if compare(&args[0], other)? == Some(Ordering::Equal) {
            return Ok(Value::Bool(true));
        }
    }
    Ok(Value::Bool(false))
}

/// Go's basic comparison: numbers with numbers, strings with strings,
/// bools with bools; nil equals nil. Some(order) or None when unordered
/// but comparable (bools, nil, lists, maps).
fn compare(a: &Value, b: &Value) -> Result<Option<Ordering>, FuncError> {
    let num = |v: &Value| match v {
        Value::Int(i) => Some(*i as f64),
        Value::Float(f) => Some(*f),
        _ => None,
    };
    Ok(match (a, b) {
        (Value::Int(x), Value::Int(y)) => Some(x.cmp(y)),
        (Value::Str(x), Value::Str(y)) => Some(x.cmp(y)),
        _ if num(a).is_some() && num(b).is_some() => num(a).unwrap().partial_cmp(&num(b).unwrap()),
        (Value::Bool(x), Value::Bool(y)) => (x == y).then_some(Ordering::Equal),
        (Value::Nil, Value::Nil) => Some(Ordering::Equal),
        (Value::Nil, _) | (_, Value::Nil) => None,
        (Value::List(_), Value::List(_)) | (Value::Map(_), Value::Map(_)) => (a == b).then_some(Ordering::Equal),
        _ => return Err(FuncError::Call("incompatible types for comparison".into())),
    })
}

fn ordered(args: &[Value], test: fn(Ordering) -> bool) -> FuncResult {
    want(args, 2)?;
    let ordering = match (&args[0], &args[1]) {
        (Value::Bool(_), _) | (Value::Nil, _) | (Value::List(_), _) | (Value::Map(_), _) => {
            return Err(FuncError::Call("invalid type for comparison".into()))
        }
        (a, b) => compare(a, b)?,
    };
    Ok(Value::Bool(ordering.is_some_and(test)))
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&#34;").replace('\'', "&#39;")
}

fn js_escape(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '<' => out.push_str("\\u003C"),
            '>' => out.push_str("\\u003E"),
            '&' => out.push_str("\\u0026"),
            '=' => out.push_str("\\u003D"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out
}

/// url.QueryEscape.
pub fn query_escape(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            b' ' => out.push('+'),
            b => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}
