//! The function map templates call: Go's builtins, the Sprig functions
//! charts use, and Helm's own pure functions (`toYaml`, `required`,
//! `lookup` that finds nothing offline...). Functions that need the engine
//! (`include`, `tpl`, `and`, `or`) are in `exec`.
//!
//! Arguments are converted the lenient way Sprig's `cast` does (a number
//! where a string is expected becomes its text); only what a rendering
//! chart can reach needs to match Helm exactly.

mod certs;
mod collections;
mod dates;
mod encoding;
mod go;
mod numbers;
pub mod printf;
mod secrets;
mod strings;

use super::value::Value;

/// The most elements `until`, `untilStep` and `seq` make, characters the
/// `rand*` functions make, and times `range` goes round an integer: far
/// beyond what charts ask for, and a bound on what one call allocates.
pub const MAX_ELEMENTS: i64 = 1 << 20;
/// The longest string a function may make (`repeat`, `indent`...), and
/// the most output one template execution may make.
pub const MAX_STRING: usize = 64 << 20;

/// The error for a call that would make more than `MAX_ELEMENTS`.
fn too_many(what: &str, n: impl std::fmt::Display) -> FuncError {
    FuncError::Call(format!("{n} {what}, more than the {MAX_ELEMENTS} a template may make"))
}

/// Checks that a string of `len` bytes is within `MAX_STRING`, before it
/// is made.
fn within_max_string(len: Option<usize>) -> Result<(), FuncError> {
    match len {
        Some(len) if len <= MAX_STRING => Ok(()),
        Some(len) => Err(FuncError::Call(format!(
            "the result would be {len} bytes, more than the {} MiB a string may have",
            MAX_STRING >> 20
        ))),
        None => Err(FuncError::Call(format!(
            "the result would be more than the {} MiB a string may have",
            MAX_STRING >> 20
        ))),
    }
}

#[derive(Debug)]
pub enum FuncError {
    /// No function of that name.
    Unknown,
    /// `fail` or `required`: the chart's own message, shown as Helm does.
    Fail(String),
    /// Any other error, shown as `error calling NAME: ...`.
    Call(String),
}

pub type FuncResult = Result<Value, FuncError>;

impl From<String> for FuncError {
    fn from(s: String) -> FuncError {
        FuncError::Call(s)
    }
}

/// Calls the function `name` with evaluated arguments.
pub fn call(name: &str, args: &[Value]) -> FuncResult {
    type Family = fn(&str, &[Value]) -> Option<FuncResult>;
    const FAMILIES: &[Family] = &[
        go::call,
        strings::call,
        collections::call,
        numbers::call,
        encoding::call,
        dates::call,
        certs::call,
        secrets::call,
    ];
    let result = FAMILIES.iter().find_map(|family| family(name, args)).unwrap_or(Err(FuncError::Unknown))?;
    // Go lets a template nest dicts and lists without end and then
    // overflows its stack printing or freeing them (found by hand while
    // fuzzing: `$d = dict "a" $d` 100,000 times); every function that
    // returns one is checked here, so none grows past the limit.
    if WRAPPING.contains(&name)
        && matches!(result, Value::Map(_) | Value::List(_))
        && result.nesting() > MAX_VALUE_NESTING
    {
        return Err(FuncError::Call(format!(
            "{name} would make a dict or list nested more than {MAX_VALUE_NESTING} deep"
        )));
    }
    Ok(result)
}

/// The functions that can return a dict or list nested deeper than their
/// arguments (they put arguments inside a new or given one, or parse
/// text): only their results are measured. The rest return what they were
/// given, part of it, or a copy, and walking those (`default`, `index`,
/// `pick` of `.Values`...) would cost every render for nothing.
const WRAPPING: &[&str] = &[
    "dict",
    "list",
    "tuple",
    "append",
    "mustAppend",
    "push",
    "mustPush",
    "prepend",
    "mustPrepend",
    "concat",
    "set",
    "merge",
    "mustMerge",
    "mergeOverwrite",
    "mustMergeOverwrite",
    "chunk",
    "mustChunk",
    "pluck",
    "fromYaml",
    "fromYamlArray",
    "fromJson",
    "fromJsonArray",
    "mustFromJson",
    "mustFromJsonArray",
];

/// How deep dicts and lists a template builds may nest: far beyond any
/// chart's values, and shallow enough that printing, converting and
/// dropping them stays well within the stack.
pub const MAX_VALUE_NESTING: usize = 1000;

/// Checks the argument count the way Go reports a mismatch.
fn want(args: &[Value], n: usize) -> Result<(), FuncError> {
    if args.len() == n {
        Ok(())
    } else {
        Err(FuncError::Call(format!("wrong number of args: want {n} got {}", args.len())))
    }
}

fn arg(args: &[Value], i: usize) -> Value {
    args.get(i).cloned().unwrap_or_default()
}

/// Sprig's `strval`/cast.ToString: strings as they are, nil as empty, the
/// rest as `%v` prints them.
fn text(v: &Value) -> String {
    match v {
        Value::Str(s) => s.to_string(),
        Value::Nil => String::new(),
        other => other.go_string_inner(),
    }
}

/// Sprig's `toString`: like `text` but nil prints as `<nil>`, as
/// fmt.Sprintf("%v", nil) does.
fn to_string(v: &Value) -> String {
    match v {
        Value::Str(s) => s.to_string(),
        other => other.go_string_inner(),
    }
}

/// cast.ToInt64: numbers truncate, strings parse (0 when they do not),
/// bools are 0 or 1, nil is 0.
fn to_i64(v: &Value) -> i64 {
    match v {
        Value::Int(i) => *i,
        Value::Float(f) => *f as i64,
        Value::Bool(b) => i64::from(*b),
        Value::Str(s) => {
            let s = s.trim();
            let s = s.strip_suffix(".0").unwrap_or(s);
            parse_go_int(s).unwrap_or(0)
        }
        _ => 0,
    }
}

/// strconv.ParseInt(s, 0, 64): decimal, or 0x/0o/0b/0 prefixes.
fn parse_go_int(s: &str) -> Option<i64> {
    let (neg, body) = match s.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let lower = body.to_ascii_lowercase().replace('_', "");
    let v = if let Some(h) = lower.strip_prefix("0x") {
        i64::from_str_radix(h, 16).ok()
    } else if let Some(o) = lower.strip_prefix("0o") {
        i64::from_str_radix(o, 8).ok()
    } else if let Some(b) = lower.strip_prefix("0b") {
        i64::from_str_radix(b, 2).ok()
    } else if lower.len() > 1 && lower.starts_with('0') {
        i64::from_str_radix(&lower[1..], 8).ok()
    } else {
        lower.parse().ok()
    }?;
    Some(if neg { -v } else { v })
}

/// cast.ToFloat64.
fn to_f64(v: &Value) -> f64 {
    match v {
        Value::Int(i) => *i as f64,
        Value::Float(f) => *f,
        Value::Bool(b) => f64::from(u8::from(*b)),
        Value::Str(s) => s.trim().parse().unwrap_or(0.0),
        _ => 0.0,
    }
}

/// A list argument: lists as they are; anything else is an error naming
/// what it was.
fn list_of(v: &Value, func: &str) -> Result<Vec<Value>, FuncError> {
    match v {
        Value::List(l) => Ok(l.as_ref().clone()),
        Value::Nil => Ok(Vec::new()),
        other => Err(FuncError::Call(format!("Cannot {func} on type {}", other.type_name()))),
    }
}

/// Sprig's `empty`: Go's zero values are empty.
fn is_empty(v: &Value) -> bool {
    !v.truthy()
}
