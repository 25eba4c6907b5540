//! Go's fmt verbs as templates use them (`printf`, `print`, `println`):
//! %v %s %d %q %t %f %e %g %x %X %o %b %c %%, with flags, width and
//! precision, and Go's `%!verb(type=value)` for mismatches.
//!
//! Written by hand: no crate formats with Go's rules, and charts print
//! with them.

use super::super::value::{format_float_g, Value};

/// fmt.Sprintf.
pub fn sprintf(format: &str, args: &[Value]) -> String {
    let mut out = String::new();
    let mut next_arg = 0;
    let mut chars = format.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut spec = Spec::default();
        while let Some(&f) = chars.peek() {
            match f {
                '-' => spec.minus = true,
                '+' => spec.plus = true,
                '#' => spec.sharp = true,
                ' ' => spec.space = true,
                '0' => spec.zero = true,
                _ => break,
            }
            chars.next();
        }
        spec.width = digits(&mut chars);
        if chars.peek() == Some(&'.') {
            chars.next();
            spec.precision = Some(digits(&mut chars).unwrap_or(0));
        }
        let Some(verb) = chars.next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        let Some(arg) = args.get(next_arg) else {
            out.push_str(&format!("%!{verb}(MISSING)"));
            continue;
        };
        next_arg += 1;
        out.push_str(&format_one(verb, &spec, arg));
    }
    if next_arg < args.len() {
        out.push_str("%!(EXTRA ");
        let extra: Vec<String> =
            args[next_arg..].iter().map(|a| format!("{}={}", go_type(a), a.go_string_inner())).collect();
        out.push_str(&extra.join(", "));
        out.push(')');
    }
    out
}

/// fmt.Sprint: a space between operands when neither side is a string.
pub fn sprint(args: &[Value]) -> String {
    let mut out = String::new();
    for (i, a) in args.iter().enumerate() {
        if i > 0 && !matches!(a, Value::Str(_)) && !matches!(args[i - 1], Value::Str(_)) {
            out.push(' ');
        }
        out.push_str(&a.go_string_inner());
    }
    out
}

/// fmt.Sprintln: spaces between all operands, and a newline.
pub fn sprintln(args: &[Value]) -> String {
    let parts: Vec<String> = args.iter().map(Value::go_string_inner).collect();
    parts.join(" ") + "\n"
}

#[derive(Default)]
struct Spec {
    minus: bool,
    plus: bool,
    sharp: bool,
    space: bool,
    zero: bool,
    width: Option<usize>,
    precision: Option<usize>,
}

/// A width or precision, as Go's `parsenum` reads it: a number past a
/// million is "crazy long", and Go then gives up on the rest of the format
/// (which prints `%!(NOVERB)`), so no padding is ever made of it.
fn digits(chars: &mut std::iter::Peekable<std::str::Chars>) -> Option<usize> {
    let mut n: Option<usize> = None;
    while let Some(d) = chars.peek().and_then(|c| c.to_digit(10)) {
        if n.unwrap_or(0) > 1_000_000 {
            chars.by_ref().for_each(drop);
            return None;
        }
        n = Some(n.unwrap_or(0) * 10 + d as usize);
        chars.next();
    }
    n
}

fn go_type(v: &Value) -> &'static str {
    v.type_name()
}

fn bad(verb: char, v: &Value) -> String {
    match v {
        Value::Nil => format!("%!{verb}(<nil>)"),
        _ => format!("%!{verb}({}={})", go_type(v), v.go_string_inner()),
    }
}

fn format_one(verb: char, spec: &Spec, arg: &Value) -> String {
    let body = match (verb, arg) {
        ('v', Value::Float(f)) => float_verb('g', spec, *f),
        ('v', Value::Int(i)) => int_verb('d', spec, *i),
        ('v', v) => v.go_string_inner(),
        ('s', Value::Str(s)) => truncate(s, spec.precision),
        ('s', Value::List(l)) => {
            let items: Vec<String> = l.iter().map(|v| format_one('s', &Spec::default(), v)).collect();
            format!("[{}]", items.join(" "))
        }
        ('s', v @ (Value::Map(_) | Value::Object(_))) => v.go_string_inner(),
        ('q', Value::Str(s)) => go_quote(s),
        ('q', Value::Int(i)) => char::from_u32(*i as u32).map(|c| format!("'{c}'")).unwrap_or_else(|| bad(verb, arg)),
        ('q', Value::List(l)) => {
            let items: Vec<String> = l.iter().map(|v| format_one('q', &Spec::default(), v)).collect();
            format!("[{}]", items.join(" "))
        }
        ('t', Value::Bool(b)) => b.to_string(),
        ('T', v) => go_type(v).to_string(),
        ('d' | 'x' | 'X' | 'o' | 'b' | 'c', Value::Int(i)) => int_verb(verb, spec, *i),
        ('x' | 'X', Value::Str(s)) => {
            let hex = hex::encode(s.as_bytes());
            if verb == 'X' {
                hex.to_uppercase()
            } else {
                hex
            }
        }
        ('e' | 'E' | 'f' | 'F' | 'g' | 'G', Value::Float(f)) => float_verb(verb, spec, *f),
        _ => bad(verb, arg),
    };
    pad(body, spec, matches!(arg, Value::Int(_) | Value::Float(_)))
}

fn truncate(s: &str, precision: Option<usize>) -> String {
    match precision {
        Some(p) => s.chars().take(p).collect(),
        None => s.to_string(),
    }
}

fn int_verb(verb: char, spec: &Spec, i: i64) -> String {
    let sign = if i < 0 {
        "-"
    } else if spec.plus {
        "+"
    } else if spec.space {
        " "
    } else {
        ""
    };
    let magnitude = i.unsigned_abs();
    let digits = match verb {
        'x' => format!("{}{magnitude:x}", if spec.sharp { "0x" } else { "" }),
        'X' => format!("{}{magnitude:X}", if spec.sharp { "0X" } else { "" }),
        'o' => format!("{}{magnitude:o}", if spec.sharp { "0" } else { "" }),
        'b' => format!("{magnitude:b}"),
        'c' => return char::from_u32(i as u32).map(String::from).unwrap_or_default(),
        _ => magnitude.to_string(),
    };
    let digits = match spec.precision {
        Some(p) if digits.len() < p => "0".repeat(p - digits.len()) + &digits,
        _ => digits,
    };
    format!("{sign}{digits}")
}

fn float_verb(verb: char, spec: &Spec, f: f64) -> String {
    let sign = if f.is_sign_negative() && f != 0.0 {
        ""
    } else if spec.plus {
        "+"
    } else if spec.space {
        " "
    } else {
        ""
    };
    let body = match verb {
        'f' | 'F' => format!("{:.*}", spec.precision.unwrap_or(6), f),
        'e' | 'E' => {
            let s = go_exponent(&format!("{:.*e}", spec.precision.unwrap_or(6), f));
            if verb == 'E' {
                s.to_uppercase()
            } else {
                s
            }
        }
        _ => match spec.precision {
            None => format_float_g(f),
            Some(p) => {
                // %.Ng: N significant digits, exponent form when needed.
                let p = p.max(1);
                let sci = format!("{:.*e}", p - 1, f);
                let exp: i32 = sci.split_once('e').map_or(0, |(_, e)| e.parse().unwrap_or(0));
                if exp < -4 || exp >= p as i32 {
                    go_exponent(&trim_zeros_sci(&sci))
                } else {
                    let fixed = format!("{:.*}", (p as i32 - 1 - exp).max(0) as usize, f);
                    if fixed.contains('.') {
                        fixed.trim_end_matches('0').trim_end_matches('.').to_string()
                    } else {
                        fixed
                    }
                }
            }
        },
    };
    format!("{sign}{body}")
}

fn trim_zeros_sci(sci: &str) -> String {
    match sci.split_once('e') {
        Some((m, e)) if m.contains('.') => format!("{}e{e}", m.trim_end_matches('0').trim_end_matches('.')),
        _ => sci.to_string(),
    }
}

/// Rust's `1.5e6` as Go's `1.5e+06`.
fn go_exponent(sci: &str) -> String {
    match sci.split_once('e') {
        Some((m, e)) => {
            let n: i32 = e.parse().unwrap_or(0);
            format!("{m}e{}{:02}", if n < 0 { '-' } else { '+' }, n.abs())
        }
        None => sci.to_string(),
    }
}

fn pad(body: String, spec: &Spec, numeric: bool) -> String {
    let Some(width) = spec.width else { return body };
    let len = body.chars().count();
    if len >= width {
        return body;
    }
    let fill = width - len;
    if spec.minus {
        body + &" ".repeat(fill)
    } else if spec.zero && numeric {
        let (sign, rest) = match body.chars().next() {
            Some(c @ ('-' | '+' | ' ')) => (c.to_string(), body[1..].to_string()),
            _ => (String::new(), body),
        };
        sign + &"0".repeat(fill) + &rest
    } else {
        " ".repeat(fill) + &body
    }
}

/// strconv.Quote: double quotes, Go escapes for what is not printable.
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\x07' => out.push_str("\\a"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            '\x0b' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_verbs() {
        let v = |s: &str| Value::str(s);
        assert_eq!(sprintf("%s-%d", &[v("a"), Value::Int(3)]), "a-3");
        assert_eq!(sprintf("%05d|%-4s|%4s", &[Value::Int(42), v("ab"), v("ab")]), "00042|ab  |  ab");
        assert_eq!(sprintf("%q", &[v("a\"b")]), "\"a\\\"b\"");
        assert_eq!(sprintf("%d", &[Value::Float(3.0)]), "%!d(float64=3)");
        assert_eq!(sprintf("%s", &[Value::Int(3)]), "%!s(int=3)");
        assert_eq!(sprintf("%v %v", &[Value::Float(1e6), Value::Float(2.5)]), "1e+06 2.5");
        assert_eq!(sprintf("%.2f", &[Value::Float(2.0 / 3.0)]), "0.67");
        assert_eq!(sprintf("%s %s", &[v("a")]), "a %!s(MISSING)");
        assert_eq!(sprintf("%s", &[v("a"), Value::Int(1)]), "a%!(EXTRA int=1)");
        assert_eq!(sprint(&[Value::Int(1), Value::Int(2), v("x"), Value::Int(3)]), "1 2x3");
    }
}
