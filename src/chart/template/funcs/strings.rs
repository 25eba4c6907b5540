//! Sprig's string functions, defaults and flow helpers (default, empty,
//! coalesce, ternary, required, fail), and regular expressions.

use super::super::value::Value;
use super::printf::go_quote;
use super::{arg, is_empty, text, to_i64, to_string, want, within_max_string, FuncError, FuncResult};

pub fn call(name: &str, args: &[Value]) -> Option<FuncResult> {
    let s = |i: usize| text(&arg(args, i));
    let string = |v: String| Ok(Value::from(v));
    Some(match name {
        "trim" => string(s(0).trim().to_string()),
        "trimAll" => string(s(1).trim_matches(|c| s(0).contains(c)).to_string()),
        "trimPrefix" => string(s(1).strip_prefix(s(0).as_str()).map(str::to_string).unwrap_or_else(|| s(1))),
        "trimSuffix" => string(s(1).strip_suffix(s(0).as_str()).map(str::to_string).unwrap_or_else(|| s(1))),
        "upper" => string(s(0).to_uppercase()),
        "lower" => string(s(0).to_lowercase()),
        "title" => string(title(&s(0))),
        "untitle" => string(untitle(&s(0))),
        "repeat" => {
            let (count, s) = (to_i64(&arg(args, 0)).max(0) as usize, s(1));
            within_max_string(s.len().checked_mul(count)).and_then(|()| string(s.repeat(count)))
        }
        "substr" => string(substr(to_i64(&arg(args, 0)), to_i64(&arg(args, 1)), &s(2))),
        "nospace" => string(s(0).chars().filter(|c| !c.is_whitespace()).collect()),
        "trunc" => string(trunc(to_i64(&arg(args, 0)), &s(1))),
        "abbrev" => string(abbrev(to_i64(&arg(args, 0)), &s(1))),
        "initials" => string(s(0).split_whitespace().filter_map(|w| w.chars().next()).collect()),
        "contains" => Ok(Value::Bool(s(1).contains(s(0).as_str()))),
        "hasPrefix" => Ok(Value::Bool(s(1).starts_with(s(0).as_str()))),
        "hasSuffix" => Ok(Value::Bool(s(1).ends_with(s(0).as_str()))),
        "quote" => string(
            args.iter()
                .filter(|a| !matches!(a, Value::Nil))
                .map(|a| go_quote(&to_string(a)))
                .collect::<Vec<_>>()
                .join(" "),
        ),
        "squote" => string(
            args.iter()
                .filter(|a| !matches!(a, Value::Nil))
                .map(|a| format!("'{}'", to_string(a)))
                .collect::<Vec<_>>()
                .join(" "),
        ),
        "cat" => string(args.iter().filter(|a| !matches!(a, Value::Nil)).map(to_string).collect::<Vec<_>>().join(" ")),
        "indent" => indent(to_i64(&arg(args, 0)), &s(1)).and_then(string),
        "nindent" => indent(to_i64(&arg(args, 0)), &s(1)).and_then(|s| string(format!("\n{s}"))),
        "replace" => string(s(2).replace(s(0).as_str(), &s(1))),
        "plural" => string(if to_i64(&arg(args, 2)) == 1 { s(0) } else { s(1) }),
        "snakecase" => string(words(&s(0)).join("_").to_lowercase()),
        "kebabcase" => string(words(&s(0)).join("-").to_lowercase()),
        "camelcase" => string(s(0).split('_').map(title_word).collect()),
        "swapcase" => string(
            s(0).chars()
                .map(|c| {
                    if c.is_uppercase() {
                        c.to_lowercase().next().unwrap_or(c)
                    } else {
                        c.to_uppercase().next().unwrap_or(c)
                    }
                })
                .collect(),
        ),
        "toString" => string(to_string(&arg(args, 0))),
        "join" => join(args),
        "splitList" => Ok(Value::list(s(1).split(s(0).as_str()).map(Value::from).collect())),
        "split" => Ok(split_dict(s(1).split(s(0).as_str()))),
        "splitn" => Ok(split_dict(s(2).splitn(to_i64(&arg(args, 1)).max(0) as usize, s(0).as_str()))),
        "default" => Ok(match args {
            [d] => d.clone(),
            [d, given, ..] if is_empty(given) => d.clone(),
            [_, given, ..] => given.clone(),
            [] => return Some(Err(FuncError::Call("wrong number of args for default: want at least 1 got 0".into()))),
        }),
        "empty" => Ok(Value::Bool(is_empty(&arg(args, 0)))),
        "coalesce" => Ok(args.iter().find(|a| !is_empty(a)).cloned().unwrap_or_default()),
        "all" => Ok(Value::Bool(args.iter().all(|a| !is_empty(a)))),
        "any" => Ok(Value::Bool(args.iter().any(|a| !is_empty(a)))),
        "ternary" => want(args, 3).map(|_| if args[2].truthy() { args[0].clone() } else { args[1].clone() }),
        "required" => match args {
            [msg, Value::Nil] => Err(FuncError::Fail(text(msg))),
            [msg, Value::Str(v)] if v.is_empty() => Err(FuncError::Fail(text(msg))),
            [_, v] => Ok(v.clone()),
            _ => Err(FuncError::Call(format!("wrong number of args for required: want 2 got {}", args.len()))),
        },
        "fail" => Err(FuncError::Fail(s(0))),
        "regexMatch" | "mustRegexMatch" => regex(&s(0)).map(|r| Value::Bool(r.is_match(&s(1)))),
        "regexFind" | "mustRegexFind" => {
            regex(&s(0)).map(|r| Value::from(r.find(&s(1)).map_or("", |m| m.as_str()).to_string()))
        }
        "regexFindAll" | "mustRegexFindAll" => regex(&s(0)).map(|r| {
            let n = to_i64(&arg(args, 2));
            let limit = if n < 0 { usize::MAX } else { n as usize };
            Value::list(r.find_iter(&s(1)).take(limit).map(|m| Value::from(m.as_str())).collect())
        }),
        "regexReplaceAll" | "mustRegexReplaceAll" => {
            regex(&s(0)).map(|r| Value::from(r.replace_all(&s(1), s(2).as_str()).into_owned()))
        }
        "regexReplaceAllLiteral" | "mustRegexReplaceAllLiteral" => {
            regex(&s(0)).map(|r| Value::from(r.replace_all(&s(1), regex::NoExpand(&s(2))).into_owned()))
        }
        "regexSplit" | "mustRegexSplit" => regex(&s(0)).map(|r| {
            let n = to_i64(&arg(args, 2));
            let input = s(1);
            let parts: Vec<Value> = if n < 0 {
                r.split(&input).map(Value::from).collect()
            } else {
                r.splitn(&input, n as usize).map(Value::from).collect()
            };
            Value::list(parts)
        }),
        "regexQuoteMeta" => string(regex::escape(&s(0))),
        "base" => string(path_base(&s(0))),
        "dir" => string(path_dir(&s(0))),
        "ext" => string({
            let base = path_base(&s(0));
            base.rfind('.').map(|i| base[i..].to_string()).unwrap_or_default()
        }),
        "clean" => string(path_clean(&s(0))),
        "isAbs" => Ok(Value::Bool(s(0).starts_with('/'))),
        "wrap" => string(wrap(to_i64(&arg(args, 0)), &s(1), "\n")),
        "wrapWith" => string(wrap(to_i64(&arg(args, 0)), &s(2), &s(1))),
        _ => return None,
    })
}

fn regex(pattern: &str) -> Result<regex::Regex, FuncError> {
    regex::Regex::new(pattern).map_err(|e| FuncError::Call(format!("error parsing regexp: {e}")))
}

fn title_word(w: &str) -> String {
    let mut c = w.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

/// strings.Title: the first letter of each word upper-cased.
fn title(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut prev_letter = false;
    for c in s.chars() {
        if !prev_letter && c.is_alphabetic() {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        prev_letter = c.is_alphanumeric() || c == '_' || c == '\'';
    }
    out
}

fn untitle(s: &str) -> String {
    s.split(' ')
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(f) => f.to_lowercase().collect::<String>() + c.as_str(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Words of a mixed-case or separated identifier, for snake/kebab case.
fn words(s: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut prev_lower = false;
    for c in s.chars() {
        if c == '_' || c == '-' || c == ' ' {
            if !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
            prev_lower = false;
            continue;
        }
        if c.is_uppercase() && prev_lower && !current.is_empty() {
            words.push(std::mem::take(&mut current));
        }
        prev_lower = c.is_lowercase() || c.is_ascii_digit();
        current.push(c);
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

/// Byte offsets as Go slices strings; a cut inside a character keeps the
/// whole character rather than panicking.
fn byte_slice(s: &str, start: usize, end: usize) -> String {
    String::from_utf8_lossy(&s.as_bytes()[start.min(s.len())..end.min(s.len())]).into_owned()
}

fn substr(start: i64, end: i64, s: &str) -> String {
    let len = s.len() as i64;
    if start < 0 {
        return byte_slice(s, 0, end.max(0) as usize);
    }
    if end < 0 || end > len {
        return byte_slice(s, start as usize, s.len());
    }
    if start > end {
        return String::new();
    }
    byte_slice(s, start as usize, end as usize)
}

fn trunc(c: i64, s: &str) -> String {
    let len = s.len() as i64;
    if c < 0 && len + c > 0 {
        return byte_slice(s, (len + c) as usize, s.len());
    }
    if c >= 0 && len > c {
        return byte_slice(s, 0, c as usize);
    }
    s.to_string()
}

fn abbrev(width: i64, s: &str) -> String {
    if width < 4 || s.len() as i64 <= width {
        return s.to_string();
    }
    byte_slice(s, 0, (width - 3) as usize) + "..."
}

fn indent(n: i64, s: &str) -> Result<String, FuncError> {
    let n = n.max(0) as usize;
    let lines = s.bytes().filter(|&b| b == b'\n').count() + 1;
    within_max_string(lines.checked_mul(n).and_then(|pad| pad.checked_add(s.len())))?;
    let pad = " ".repeat(n);
    Ok(format!("{pad}{}", s.replace('\n', &format!("\n{pad}"))))
}

fn join(args: &[Value]) -> FuncResult {
    let sep = text(&arg(args, 0));
    let items: Vec<String> = match arg(args, 1) {
        Value::List(l) => l.iter().filter(|v| !matches!(v, Value::Nil)).map(to_string).collect(),
        Value::Nil => Vec::new(),
        other => vec![to_string(&other)],
    };
    Ok(Value::from(items.join(&sep)))
}

fn split_dict<'a>(parts: impl Iterator<Item = &'a str>) -> Value {
    Value::map(parts.enumerate().map(|(i, p)| (format!("_{i}"), Value::from(p))).collect())
}

/// Go's path.Base.
fn path_base(p: &str) -> String {
    if p.is_empty() {
        return ".".into();
    }
    let trimmed = p.trim_end_matches('/');
    if trimmed.is_empty() {
        return "/".into();
    }
    trimmed.rsplit('/').next().unwrap_or(trimmed).to_string()
}

/// Go's path.Clean: no `.`, no `x/..`, no doubled or trailing slashes.
fn path_clean(p: &str) -> String {
    let rooted = p.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in p.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|l| *l != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            other => parts.push(other),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".into(),
        (false, false) => joined,
    }
}

/// Go's path.Dir.
fn path_dir(p: &str) -> String {
    match p.rfind('/') {
        Some(i) => path_clean(&p[..=i]),
        None => ".".into(),
    }
}

/// Sprig's wrap (goutils.WrapCustom without long-word breaking): lines
/// broken at spaces so none is longer than `width` where possible.
fn wrap(width: i64, s: &str, newline: &str) -> String {
    let width = width.max(1) as usize;
    let mut out = Vec::new();
    for line in s.split('\n') {
        let mut current = String::new();
        for word in line.split(' ').filter(|w| !w.is_empty()) {
            if !current.is_empty() && current.len() + 1 + word.len() > width {
                out.push(std::mem::take(&mut current));
            }
            if !current.is_empty() {
                current.push(' ');
            }
            current.push_str(word);
        }
        out.push(current);
    }
    out.join(newline)
}
