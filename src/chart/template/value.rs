//! The dynamic values templates work on, with Go's semantics: what is
//! "empty" (truthiness), how a value prints with `%v`, and how maps share
//! state. Maps are shared by reference as Go maps are, so Sprig's `set` on a
//! dict is seen through every name for it, as charts expect.
//!
//! Knows nothing of templates or Helm; `Object` is the door for Helm's
//! structs with methods (`.Files`, `.Capabilities`).

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::rc::Rc;

pub type Map = BTreeMap<String, Value>;

#[derive(Clone, Debug, Default)]
pub enum Value {
    /// Go's nil (an untyped nil interface, or a missing map key).
    #[default]
    Nil,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Rc<str>),
    List(Rc<Vec<Value>>),
    Map(Rc<RefCell<Map>>),
    Object(Rc<dyn Object>),
}

/// A Go struct with fields and methods (Helm's `.Files`, `.Capabilities`).
pub trait Object: std::fmt::Debug {
    /// Go's type name, for error messages and `typeOf`.
    fn type_name(&self) -> &'static str;
    /// A field or a method without arguments.
    fn field(&self, name: &str) -> Option<Value>;
    /// A method called with arguments; None when there is no such method.
    fn call(&self, name: &str, args: &[Value]) -> Option<Result<Value, String>>;
    /// What `%v` prints (a `String()` method, or Go's struct form).
    fn display(&self) -> String;
    /// Key/value pairs when the object is a Go map (`range` over it).
    fn entries(&self) -> Option<Vec<(String, Value)>> {
        None
    }
}

impl Value {
    /// How many dicts and lists deep the value nests (0 for a scalar),
    /// found without recursion (the value may be deeper than the stack
    /// allows) and visiting each shared dict or list once.
    pub fn nesting(&self) -> usize {
        fn container(v: &Value) -> Option<(*const (), Vec<Value>)> {
            match v {
                Value::Map(m) => Some((Rc::as_ptr(m) as *const (), m.borrow().values().cloned().collect())),
                Value::List(l) => Some((Rc::as_ptr(l) as *const (), l.to_vec())),
                _ => None,
            }
        }
        let mut known: std::collections::HashMap<*const (), usize> = std::collections::HashMap::new();
        let height = |v: &Value, known: &std::collections::HashMap<*const (), usize>| match v {
            Value::Map(m) => known.get(&(Rc::as_ptr(m) as *const ())).copied().unwrap_or(0),
            Value::List(l) => known.get(&(Rc::as_ptr(l) as *const ())).copied().unwrap_or(0),
            _ => 0,
        };
        // Post-order: a container is pushed again (true) above its
        // children, and measured once they are.
        let mut pending = vec![(self.clone(), false)];
        while let Some((value, children_done)) = pending.pop() {
            let Some((at, children)) = container(&value) else { continue };
            if known.contains_key(&at) {
                continue;
            }
            if children_done {
                let deepest = children.iter().map(|c| height(c, &known)).max().unwrap_or(0);
                known.insert(at, deepest + 1);
            } else {
                pending.push((value.clone(), true));
                pending.extend(children.into_iter().map(|c| (c, false)));
            }
        }
        height(self, &known)
    }

    pub fn str(s: impl Into<Rc<str>>) -> Value {
        Value::Str(s.into())
    }

    pub fn list(items: Vec<Value>) -> Value {
        Value::List(Rc::new(items))
    }

    pub fn map(map: Map) -> Value {
        Value::Map(Rc::new(RefCell::new(map)))
    }

    /// Go's notion of a true value in `if`, `with`, `and`, `or`, `not`.
    pub fn truthy(&self) -> bool {
        match self {
            Value::Nil => false,
            Value::Bool(b) => *b,
            Value::Int(i) => *i != 0,
            Value::Float(f) => *f != 0.0,
            Value::Str(s) => !s.is_empty(),
            Value::List(l) => !l.is_empty(),
            Value::Map(m) => !m.borrow().is_empty(),
            Value::Object(_) => true,
        }
    }

    /// Go's type name of the value, as `typeOf` and `kindOf` report it.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Nil => "<nil>",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float64",
            Value::Str(_) => "string",
            Value::List(_) => "[]interface {}",
            Value::Map(_) => "map[string]interface {}",
            Value::Object(o) => o.type_name(),
        }
    }

    /// Go's reflect.Kind name, as `kindOf` reports it.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Value::Nil => "invalid",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float64",
            Value::Str(_) => "string",
            Value::List(_) => "slice",
            Value::Map(_) => "map",
            Value::Object(_) => "ptr",
        }
    }

    /// The value at `path` through nested maps (None where a step is
    /// missing or not a map).
    pub fn at<'k>(&self, path: impl IntoIterator<Item = &'k str>) -> Option<Value> {
        let mut current = self.clone();
        for key in path {
            current = match &current {
                Value::Map(m) => m.borrow().get(key).cloned()?,
                _ => return None,
            };
        }
        Some(current)
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// A copy that shares nothing with the original (Sprig's deepCopy, and
    /// what Helm does to values before each chart sees them).
    pub fn deep_copy(&self) -> Value {
        match self {
            Value::List(l) => Value::list(l.iter().map(Value::deep_copy).collect()),
            Value::Map(m) => Value::map(m.borrow().iter().map(|(k, v)| (k.clone(), v.deep_copy())).collect()),
            other => other.clone(),
        }
    }

    /// `%v` formatting, as Go's fmt prints the value inside a template.
    pub fn go_string(&self) -> String {
        let mut out = String::new();
        self.write_go(&mut out, true);
        out
    }

    fn write_go(&self, out: &mut String, top: bool) {
        match self {
            Value::Nil if top => out.push_str("<no value>"),
            Value::Nil => out.push_str("<nil>"),
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Int(i) => {
                let _ = write!(out, "{i}");
            }
            Value::Float(f) => out.push_str(&format_float_g(*f)),
            Value::Str(s) => out.push_str(s),
            Value::List(l) => {
                out.push('[');
                for (i, v) in l.iter().enumerate() {
                    if i > 0 {
                        out.push(' ');
                    }
                    v.write_go(out, false);
                }
                out.push(']');
            }
            Value::Map(m) => {
                out.push_str("map[");
                for (i, (k, v)) in m.borrow().iter().enumerate() {
                    if i > 0 {
                        out.push(' ');
                    }
                    out.push_str(k);
                    out.push(':');
                    v.write_go(out, false);
                }
                out.push(']');
            }
            Value::Object(o) => out.push_str(&o.display()),
        }
    }

    /// Go's `%v` of a value nested in `print` arguments (nil is `<nil>`).
    pub fn go_string_inner(&self) -> String {
        let mut out = String::new();
        self.write_go(&mut out, false);
        out
    }
}

/// A string entry of a map; empty when absent or not a string.
pub fn str_field(map: &Map, key: &str) -> String {
    map.get(key).and_then(Value::as_str).unwrap_or_default().to_string()
}

impl PartialEq for Value {
    /// Deep equality as Go's reflect.DeepEqual sees values, with numbers of
    /// different kinds compared by value (templates mix float64 values from
    /// YAML with int literals).
    fn eq(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::Nil, Value::Nil) => true,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Int(a), Value::Int(b)) => a == b,
            (Value::Float(a), Value::Float(b)) => a == b,
            (Value::Int(a), Value::Float(b)) | (Value::Float(b), Value::Int(a)) => (*a as f64) == *b,
            (Value::Str(a), Value::Str(b)) => a == b,
            (Value::List(a), Value::List(b)) => a == b,
            (Value::Map(a), Value::Map(b)) => Rc::ptr_eq(a, b) || *a.borrow() == *b.borrow(),
            (Value::Object(a), Value::Object(b)) => Rc::ptr_eq(a, b),
            _ => false,
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::str(s)
    }
}

impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::str(s)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Value {
        Value::Int(i)
    }
}

/// Go's `%v` of a float64 (`strconv.FormatFloat(f, 'g', -1, 64)`): the
/// shortest digits that read back the same, in exponent form when the
/// exponent is below -4 or at least 6. This is why Helm prints a
/// values.yaml `1000000` as `1e+06`: YAML numbers become float64 there.
pub fn format_float_g(f: f64) -> String {
    format_float(f, 6)
}

/// Go's encoding/json form of a float64 (what toJson and toYaml print):
/// plain decimals from 1e-6 up to 1e21, exponent form outside.
pub fn format_float_json(f: f64) -> String {
    if f.abs() >= 1e21 || (f != 0.0 && f.abs() < 1e-6) {
        // json writes e-07 as e-7.
        let g = format_float(f, 0);
        return g.replace("e-0", "e-").replace("e+0", "e+");
    }
    format_float(f, 21)
}

/// Shortest round-trip digits, exponent form when exp < -4 or exp >= `exp_limit`.
fn format_float(f: f64, exp_limit: i32) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "+Inf".into() } else { "-Inf".into() };
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0".into() } else { "0".into() };
    }
    // Rust's `{:e}` gives the shortest round-tripping digits: "1.2345e6".
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').expect("{:e} always has an exponent");
    let exp: i32 = exp.parse().expect("{:e} exponent is an integer");
    let negative = mantissa.starts_with('-');
    let digits: String = mantissa.chars().filter(|c| c.is_ascii_digit()).collect();
    let mut out = String::new();
    if negative {
        out.push('-');
    }
    if exp < -4 || exp >= exp_limit {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        let _ = write!(out, "e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs());
        return out;
    }
    if exp < 0 {
        out.push_str("0.");
        out.push_str(&"0".repeat((-exp - 1) as usize));
        out.push_str(&digits);
    } else if (exp as usize) < digits.len() - 1 {
        out.push_str(&digits[..=exp as usize]);
        out.push('.');
        out.push_str(&digits[exp as usize + 1..]);
    } else {
        out.push_str(&digits);
        out.push_str(&"0".repeat(exp as usize + 1 - digits.len()));
    }
    out
}
