//! Sprig's lists and dicts (dicts change in place, as Go maps do), and the
//! type tests (typeOf, kindIs, deepEqual).

use super::super::value::{Map, Value};
use super::{arg, is_empty, list_of, text, to_i64, to_string, too_many, want, FuncError, FuncResult, MAX_ELEMENTS};
use std::cell::RefCell;
use std::rc::Rc;

pub fn call(name: &str, args: &[Value]) -> Option<FuncResult> {
    let list = |i: usize, f: &str| list_of(&arg(args, i), f);
    Some(match name {
        "list" | "tuple" => Ok(Value::list(args.to_vec())),
        "first" | "mustFirst" => list(0, "first").map(|l| l.first().cloned().unwrap_or_default()),
        "last" | "mustLast" => list(0, "last").map(|l| l.last().cloned().unwrap_or_default()),
        "rest" | "mustRest" => list(0, "rest").map(|l| Value::list(l.iter().skip(1).cloned().collect())),
        "initial" | "mustInitial" => list(0, "initial").map(|l| Value::list(l[..l.len().saturating_sub(1)].to_vec())),
        "append" | "push" | "mustAppend" | "mustPush" => list(0, "append").map(|mut l| {
            l.push(arg(args, 1));
            Value::list(l)
        }),
        "prepend" | "mustPrepend" => list(0, "prepend").map(|mut l| {
            l.insert(0, arg(args, 1));
            Value::list(l)
        }),
        "concat" => {
            let mut out = Vec::new();
            for a in args {
                match list_of(a, "concat") {
                    Ok(l) => out.extend(l),
                    Err(e) => return Some(Err(e)),
                }
            }
            Ok(Value::list(out))
        }
        "reverse" | "mustReverse" => list(0, "reverse").map(|mut l| {
            l.reverse();
            Value::list(l)
        }),
        "uniq" | "mustUniq" => list(0, "uniq").map(|l| {
            let mut out: Vec<Value> = Vec::new();
            for v in l {
                if !out.contains(&v) {
                    out.push(v);
                }
            }
            Value::list(out)
        }),
        "without" | "mustWithout" => {
            list(0, "without").map(|l| Value::list(l.into_iter().filter(|v| !args[1..].contains(v)).collect()))
        }
        "has" | "mustHas" => list(1, "has").map(|l| Value::Bool(l.contains(&arg(args, 0)))),
        "compact" | "mustCompact" => {
            list(0, "compact").map(|l| Value::list(l.into_iter().filter(|v| !is_empty(v)).collect()))
        }
        "sortAlpha" => Ok(sort_alpha(&arg(args, 0))),
        "toStrings" => list(0, "toStrings").map(|l| Value::list(l.iter().map(|v| Value::from(to_string(v))).collect())),
        "chunk" | "mustChunk" => list(1, "chunk").map(|l| {
            let size = to_i64(&arg(args, 0)).max(1) as usize;
            Value::list(l.chunks(size).map(|c| Value::list(c.to_vec())).collect())
        }),
        "until" => step_range(0, to_i64(&arg(args, 0)), 1).map(Value::list),
        "untilStep" => step_range(to_i64(&arg(args, 0)), to_i64(&arg(args, 1)), to_i64(&arg(args, 2))).map(Value::list),
        "seq" => seq(args),
        "dict" => Ok(dict(args)),
        "get" => map_arg(args, 0, "get")
            .map(|m| m.borrow().get(&text(&arg(args, 1))).cloned().unwrap_or_else(|| Value::from(""))),
        // The key is printed before the map is borrowed mutably: the key may
        // be the map itself (`set $d $d`), and printing it borrows it.
        "set" => map_arg(args, 0, "set").and_then(|m| {
            let key = text(&arg(args, 1));
            let value = arg(args, 2);
            refuse_cycle(&value, &m, "set")?;
            m.borrow_mut().insert(key, value);
            Ok(Value::Map(m))
        }),
        "unset" => map_arg(args, 0, "unset").map(|m| {
            let key = text(&arg(args, 1));
            m.borrow_mut().remove(&key);
            Value::Map(m)
        }),
        "hasKey" => map_arg(args, 0, "hasKey").map(|m| Value::Bool(m.borrow().contains_key(&text(&arg(args, 1))))),
        "pluck" => Ok(Value::list(
            args[1..]
                .iter()
                .filter_map(|d| match d {
                    Value::Map(m) => m.borrow().get(&text(&args[0])).cloned(),
                    _ => None,
                })
                .collect(),
        )),
        "dig" => dig(args),
        "keys" => {
            let mut keys: Vec<String> = Vec::new();
            for a in args {
                if let Value::Map(m) = a {
                    keys.extend(m.borrow().keys().cloned());
                }
            }
            Ok(Value::list(keys.into_iter().map(Value::from).collect()))
        }
        "values" => map_arg(args, 0, "values").map(|m| Value::list(m.borrow().values().cloned().collect())),
        "pick" => map_arg(args, 0, "pick").map(|m| {
            let wanted: Vec<String> = args[1..].iter().map(text).collect();
            Value::map(
                m.borrow().iter().filter(|(k, _)| wanted.contains(k)).map(|(k, v)| (k.clone(), v.clone())).collect(),
            )
        }),
        "omit" => map_arg(args, 0, "omit").map(|m| {
            let unwanted: Vec<String> = args[1..].iter().map(text).collect();
            Value::map(
                m.borrow().iter().filter(|(k, _)| !unwanted.contains(k)).map(|(k, v)| (k.clone(), v.clone())).collect(),
            )
        }),
        "merge" | "mustMerge" => merge_all(args, false),
        "mergeOverwrite" | "mustMergeOverwrite" => merge_all(args, true),
        "deepCopy" | "mustDeepCopy" => want(args, 1).map(|_| args[0].deep_copy()),
        "typeOf" => Ok(Value::from(arg(args, 0).type_name())),
        "kindOf" => Ok(Value::from(arg(args, 0).kind_name())),
        "typeIs" => Ok(Value::Bool(text(&arg(args, 0)) == arg(args, 1).type_name())),
        "typeIsLike" => {
            let t = text(&arg(args, 0));
            let actual = arg(args, 1).type_name();
            Ok(Value::Bool(t == actual || t == format!("*{actual}")))
        }
        "kindIs" => Ok(Value::Bool(text(&arg(args, 0)) == arg(args, 1).kind_name())),
        "deepEqual" => Ok(Value::Bool(arg(args, 0) == arg(args, 1))),
        _ => return None,
    })
}

fn map_arg(args: &[Value], i: usize, func: &str) -> Result<Rc<RefCell<Map>>, FuncError> {
    match arg(args, i) {
        Value::Map(m) => Ok(m),
        other => Err(FuncError::Call(format!(
            "wrong type for value; expected map[string]interface {{}}; got {} (in {func})",
            other.type_name()
        ))),
    }
}

fn sort_alpha(v: &Value) -> Value {
    let mut items: Vec<String> = match v {
        Value::List(l) => l.iter().map(to_string).collect(),
        other => vec![to_string(other)],
    };
    items.sort();
    Value::list(items.into_iter().map(Value::from).collect())
}

/// `start`, `start + step`... up to `stop` (not included): at most
/// `MAX_ELEMENTS` of them, and no step past the ends of int64.
fn step_range(start: i64, stop: i64, step: i64) -> Result<Vec<Value>, FuncError> {
    let mut out = Vec::new();
    if step == 0 {
        return Ok(out);
    }
    let count =
        (i128::from(stop) - i128::from(start) + i128::from(step) - i128::from(step.signum())) / i128::from(step);
    if count > i128::from(MAX_ELEMENTS) {
        return Err(too_many("numbers", count));
    }
    let mut i = start;
    while (step > 0 && i < stop) || (step < 0 && i > stop) {
        out.push(Value::Int(i));
        match i.checked_add(step) {
            Some(next) => i = next,
            None => break,
        }
    }
    Ok(out)
}

/// Sprig's `seq`, which follows the shell's: `seq 3`, `seq 2 5`, `seq 0 2 10`.
fn seq(args: &[Value]) -> FuncResult {
    let n: Vec<i64> = args.iter().map(to_i64).collect();
    let (start, step, end) = match n.as_slice() {
        [end] => (1, 1, *end),
        [start, end] => (*start, if end >= start { 1 } else { -1 }, *end),
        [start, step, end] => (*start, *step, *end),
        _ => return Ok(Value::from("")),
    };
    if step != 0 {
        let count = (i128::from(end) - i128::from(start)) / i128::from(step) + 1;
        if count > i128::from(MAX_ELEMENTS) {
            return Err(too_many("numbers", count));
        }
    }
    let mut out = Vec::new();
    let mut i = start;
    while step != 0 && ((step > 0 && i <= end) || (step < 0 && i >= end)) {
        out.push(i.to_string());
        match i.checked_add(step) {
            Some(next) => i = next,
            None => break,
        }
    }
    Ok(Value::from(out.join(" ")))
}

fn dict(args: &[Value]) -> Value {
    let mut map = Map::new();
    for pair in args.chunks(2) {
        let value = pair.get(1).cloned().unwrap_or_else(|| Value::from(""));
        map.insert(text(&pair[0]), value);
    }
    Value::map(map)
}

fn dig(args: &[Value]) -> FuncResult {
    if args.len() < 3 {
        return Err(FuncError::Call("dig needs at least three arguments".into()));
    }
    let (dict, rest) = args.split_last().expect("checked length");
    let (default, keys) = rest.split_last().expect("checked length");
    let mut current = dict.clone();
    for key in keys {
        let next = match &current {
            Value::Map(m) => m.borrow().get(&text(key)).cloned(),
            _ => None,
        };
        match next {
            Some(v) => current = v,
            None => return Ok(default.clone()),
        }
    }
    Ok(current)
}

/// Sprig's merge (mergo.Merge) and mergeOverwrite: dicts merge deeply into
/// the first, which is changed in place and returned.
fn merge_all(args: &[Value], overwrite: bool) -> FuncResult {
    let Some(Value::Map(dst)) = args.first() else {
        return Err(FuncError::Call("merge needs a dict to merge into".into()));
    };
    for src in &args[1..] {
        if let Value::Map(src) = src {
            if std::rc::Rc::ptr_eq(dst, src) {
                continue;
            }
            refuse_cycle(&Value::Map(src.clone()), dst, "merge")?;
            let src = src.borrow().clone();
            merge_into(&mut dst.borrow_mut(), &src, overwrite);
        }
    }
    Ok(args[0].clone())
}

/// Go lets a dict hold itself and then overflows its stack printing it
/// (Helm dies); here the `set` or `merge` that would close the loop is an
/// error instead, so every value stays a tree that printing, toYaml and
/// comparison can walk. The walk keeps its own stack (values may be deep)
/// and visits each shared dict or list once (they may share a lot).
fn refuse_cycle(value: &Value, target: &Rc<RefCell<Map>>, func: &str) -> Result<(), FuncError> {
    let mut pending = vec![value.clone()];
    let mut seen = std::collections::HashSet::new();
    while let Some(v) = pending.pop() {
        match v {
            Value::Map(m) if Rc::ptr_eq(&m, target) => {
                return Err(FuncError::Call(format!("{func} would put a dict inside itself")));
            }
            Value::Map(m) if seen.insert(Rc::as_ptr(&m) as *const ()) => pending.extend(m.borrow().values().cloned()),
            Value::List(l) if seen.insert(Rc::as_ptr(&l) as *const ()) => pending.extend(l.iter().cloned()),
            _ => {}
        }
    }
    Ok(())
}

fn merge_into(dst: &mut Map, src: &Map, overwrite: bool) {
    for (key, value) in src {
        match (dst.get(key), value) {
            (Some(Value::Map(d)), Value::Map(s)) => {
                if !std::rc::Rc::ptr_eq(d, s) {
                    let s = s.borrow().clone();
                    merge_into(&mut d.borrow_mut(), &s, overwrite);
                }
            }
            (Some(existing), _) if !overwrite && !is_empty(existing) => {}
            (Some(_), Value::Nil) if overwrite => {}
            _ => {
                dst.insert(key.clone(), value.clone());
            }
        }
    }
}
