//! Go text/template's own functions: not, len, index, print, printf,
//! println, the comparisons, html, js, urlquery; and Sprig's slice, which
//! Helm's function map puts in place of Go's.

use super::super::value::Value;
use super::printf::{sprint, sprintf, sprintln};
use super::{arg, to_i64, want, FuncError, FuncResult};

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
        "ne" => want(args, 2).and_then(|_| equal(&args[0], &args[1]).map(|e| Value::Bool(!e))),
        "lt" | "le" | "gt" | "ge" => ordered(name, args),
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

/// Go's `indexArg`: an int, in range.
fn position(k: &Value) -> Result<usize, FuncError> {
    match k {
        Value::Int(i) => usize::try_from(*i).map_err(|_| FuncError::Call(format!("index out of range: {i}"))),
        Value::Nil => Err(FuncError::Call("cannot index slice/array with nil".into())),
        other => Err(FuncError::Call(format!("cannot index slice/array with type {}", other.type_name()))),
    }
}

/// Sprig's `slice`, which replaces Go's builtin in Helm: lists only, the
/// indexes cast to ints, an empty list gives nil.
fn slice(args: &[Value]) -> FuncResult {
    let list = match arg(args, 0) {
        Value::List(l) => l,
        Value::Nil => {
            return Err(FuncError::Call("runtime error: invalid memory address or nil pointer dereference".into()))
        }
        other => {
            return Err(FuncError::Call(format!("list should be type of slice or array but {}", other.kind_name())))
        }
    };
    if list.is_empty() {
        return Ok(Value::Nil);
    }
    let start = args.get(1).map_or(0, to_i64);
    let end = args.get(2).map_or(list.len() as i64, to_i64);
    match (usize::try_from(start), usize::try_from(end)) {
        (Ok(s), Ok(e)) if s <= e && e <= list.len() => Ok(Value::list(list[s..e].to_vec())),
        _ => Err(FuncError::Call("reflect.Value.Slice: slice index out of bounds".into())),
    }
}

fn eq(args: &[Value]) -> FuncResult {
    if args.len() < 2 {
        return Err(FuncError::Call("missing argument for comparison".into()));
    }
    for other in &args[1..] {
        if equal(&args[0], other)? {
            return Ok(Value::Bool(true));
        }
    }
    Ok(Value::Bool(false))
}

fn incompatible(a: &Value, b: &Value) -> FuncError {
    FuncError::Call(format!("incompatible types for comparison: {} and {}", a.type_name(), b.type_name()))
}

/// Go's `eq` of two values: only values of one basic kind compare (an int
/// never equals a float64, which is why `eq .Values.n 1` fails in Helm:
/// numbers from YAML are float64); nil equals only nil; lists and maps do
/// not compare.
fn equal(a: &Value, b: &Value) -> Result<bool, FuncError> {
    Ok(match (a, b) {
        (Value::Nil, _) | (_, Value::Nil) => matches!((a, b), (Value::Nil, Value::Nil)),
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Int(x), Value::Int(y)) => x == y,
        (Value::Float(x), Value::Float(y)) => x == y,
        (Value::Str(x), Value::Str(y)) => x == y,
        (Value::Object(x), Value::Object(y)) => std::rc::Rc::ptr_eq(x, y),
        (Value::List(_), Value::List(_)) | (Value::Map(_), Value::Map(_)) => {
            let shown = sprintf("%s", std::slice::from_ref(b));
            return Err(FuncError::Call(format!("non-comparable type {shown}: {}", b.type_name())));
        }
        _ => return Err(incompatible(a, b)),
    })
}

/// Go's `lt`: ints with ints, floats with floats, strings with strings.
fn less(a: &Value, b: &Value) -> Result<bool, FuncError> {
    let invalid = || FuncError::Call("invalid type for comparison".into());
    let basic = |v: &Value| matches!(v, Value::Bool(_) | Value::Int(_) | Value::Float(_) | Value::Str(_));
    if !basic(a) || !basic(b) {
        return Err(invalid());
    }
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => Ok(x < y),
        (Value::Float(x), Value::Float(y)) => Ok(x < y),
        (Value::Str(x), Value::Str(y)) => Ok(x < y),
        (Value::Bool(_), Value::Bool(_)) => Err(invalid()),
        _ => Err(incompatible(a, b)),
    }
}

/// lt, le, gt, ge as Go builds them from `less` and `equal`.
fn ordered(name: &str, args: &[Value]) -> FuncResult {
    want(args, 2)?;
    let (a, b) = (&args[0], &args[1]);
    let le = || -> Result<bool, FuncError> { Ok(less(a, b)? || equal(a, b)?) };
    Ok(Value::Bool(match name {
        "lt" => less(a, b)?,
        "le" => le()?,
        "gt" => !le()?,
        _ => !less(a, b)?,
    }))
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
