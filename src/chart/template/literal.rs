//! Go's literal syntax inside actions, decoded for `parse`: quoted strings
//! and character constants as `strconv.Unquote` reads them, numbers as
//! `parse.NumberNode` reads them and `exec` types them (an integer is an
//! int, anything with `.`, `e` or `p` a float64).
//!
//! And the way back, for messages: Go's `%q` of a string and `%#U` of a
//! character.
//!
//! Pure functions of one literal's text: no positions, no tokens, no values
//! other than the one the literal denotes.

use super::value::Value;

const INVALID: &str = "invalid syntax";

/// A `"..."` or `` `...` `` literal, quotes included.
///
/// Go's strings are bytes: `"\xff"` is the one byte 0xff, and `"\xc3\xa9"`
/// is `é`. Our strings are UTF-8, so the escapes' bytes are gathered and
/// read as UTF-8; a byte that does not form a valid sequence becomes
/// U+FFFD, what Go itself reads such a byte as (`range` over a string, or
/// a YAML parser reading the rendered manifest). Only `len` and `printf
/// "%x"` of such a string differ from Go.
pub fn unquote_string(raw: &str) -> Result<String, String> {
    if let Some(body) = raw.strip_prefix('`').and_then(|r| r.strip_suffix('`')) {
        // strconv.Unquote drops carriage returns from raw strings.
        return Ok(body.replace('\r', ""));
    }
    let body = raw.strip_prefix('"').and_then(|r| r.strip_suffix('"')).ok_or_else(|| INVALID.to_string())?;
    let mut bytes = Vec::with_capacity(body.len());
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match escape(&mut chars, '"')? {
                Unquoted::Byte(b) => bytes.push(b),
                Unquoted::Char(c) => bytes.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes()),
            },
            '"' | '\n' => return Err(INVALID.into()),
            c => bytes.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes()),
        }
    }
    Ok(String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
}

/// A `'x'` character constant, quotes included: its code point, an int in
/// Go (`'\xff'` is 255, the byte's value).
pub fn unquote_char(raw: &str) -> Result<i64, String> {
    let inner = &raw[1..];
    let mut chars = inner.chars();
    let value = match chars.next() {
        Some('\\') => match escape(&mut chars, '\'')? {
            Unquoted::Byte(b) => i64::from(b),
            Unquoted::Char(c) => i64::from(u32::from(c)),
        },
        Some('\'') | Some('\n') | None => return Err(INVALID.into()),
        Some(c) => i64::from(u32::from(c)),
    };
    if chars.as_str() != "'" {
        return Err(format!("malformed character constant: {raw}"));
    }
    Ok(value)
}

enum Unquoted {
    /// `\x..` and octal escapes: one byte.
    Byte(u8),
    Char(char),
}

/// One escape after its backslash, as strconv.UnquoteChar reads it inside
/// `quote`: `\'` only in character constants, `\"` only in strings.
fn escape(chars: &mut std::str::Chars, quote: char) -> Result<Unquoted, String> {
    let unknown = |e: char| format!("{INVALID}: unknown escape sequence \\{e}");
    let e = chars.next().ok_or_else(|| INVALID.to_string())?;
    let c = match e {
        'a' => '\x07',
        'b' => '\x08',
        'f' => '\x0c',
        'n' => '\n',
        'r' => '\r',
        't' => '\t',
        'v' => '\x0b',
        '\\' => '\\',
        '\'' | '"' if e == quote => e,
        'x' | 'u' | 'U' => {
            let len = match e {
                'x' => 2,
                'u' => 4,
                _ => 8,
            };
            let digits: String = chars.by_ref().take(len).collect();
            let bad = || format!("{INVALID}: bad escape \\{e}{digits}");
            if digits.chars().count() != len || !digits.chars().all(|c| c.is_ascii_hexdigit()) {
                return Err(bad());
            }
            let v = u32::from_str_radix(&digits, 16).map_err(|_| bad())?;
            if e == 'x' {
                return Ok(Unquoted::Byte(v as u8));
            }
            char::from_u32(v).ok_or_else(bad)?
        }
        '0'..='7' => {
            let digits: String = std::iter::once(e).chain(chars.by_ref().take(2)).collect();
            let bad = || format!("{INVALID}: bad octal escape \\{digits}");
            if digits.len() != 3 || !digits.chars().all(|c| ('0'..='7').contains(&c)) {
                return Err(bad());
            }
            let v = u32::from_str_radix(&digits, 8).map_err(|_| bad())?;
            return u8::try_from(v).map(Unquoted::Byte).map_err(|_| bad());
        }
        other => return Err(unknown(other)),
    };
    Ok(Unquoted::Char(c))
}

/// A number literal: an int when it reads as one (any base, `_` between
/// digits) and has no float syntax; a float64 when it has `.`, an exponent,
/// or is a hex float. Go's messages for the rest.
pub fn number(text: &str) -> Result<Value, String> {
    if text.ends_with('i') {
        return Err(format!("complex constant {text} is not supported"));
    }
    let looks_float = text.contains(['.', 'e', 'E', 'p', 'P']) && !is_hex_int(text);
    if let Some(i) = parse_int(text) {
        return match i64::try_from(i) {
            Ok(i) => Ok(Value::Int(i)),
            // Go lexes it as a uint64, then cannot make it an int.
            Err(_) if i <= i128::from(u64::MAX) => Err(format!("{text} overflows int")),
            Err(_) => Err(format!("integer overflow: {text:?}")),
        };
    }
    match parse_float(text) {
        Some(f) if looks_float => Ok(Value::Float(f)),
        Some(_) => Err(format!("integer overflow: {text:?}")),
        None => Err(format!("illegal number syntax: {text:?}")),
    }
}

fn is_hex_int(text: &str) -> bool {
    let t = text.trim_start_matches(['+', '-']);
    (t.starts_with("0x") || t.starts_with("0X")) && !t.contains(['p', 'P'])
}

fn split_sign(text: &str) -> (bool, &str) {
    match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    }
}

/// Go's digits with `_` separators: only between digits (or after a base
/// prefix), never doubled or at the end.
fn strip_underscores(digits: &str, after_prefix: bool) -> Option<String> {
    let ok = !digits.ends_with('_')
        && !digits.contains("__")
        && (after_prefix || !digits.starts_with('_'))
        && !digits.contains("_.")
        && !digits.contains("._");
    ok.then(|| digits.replace('_', ""))
}

/// strconv.ParseInt(text, 0, 128 bits): decimal, `0x`, `0o`, `0b`, or a
/// leading `0` for octal.
fn parse_int(text: &str) -> Option<i128> {
    let (neg, body) = split_sign(text);
    let lower = body.to_ascii_lowercase();
    let (radix, digits, prefixed) = match lower.get(..2) {
        Some("0x") => (16, &lower[2..], true),
        Some("0o") => (8, &lower[2..], true),
        Some("0b") => (2, &lower[2..], true),
        _ if lower.len() > 1 && lower.starts_with('0') => (8, &lower[1..], true),
        _ => (10, lower.as_str(), false),
    };
    let digits = strip_underscores(digits, prefixed)?;
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let v = i128::from_str_radix(&digits, radix).ok()?;
    Some(if neg { -v } else { v })
}

/// strconv.ParseFloat(text, 64): decimal floats and hex floats (`0x1.8p3`).
fn parse_float(text: &str) -> Option<f64> {
    let (neg, body) = split_sign(text);
    let lower = body.to_ascii_lowercase();
    let v = if let Some(hex) = lower.strip_prefix("0x") {
        let (mantissa, exp) = hex.split_once('p')?;
        let mantissa = strip_underscores(mantissa, true)?;
        let (whole, frac) = mantissa.split_once('.').unwrap_or((&mantissa, ""));
        if whole.is_empty() && frac.is_empty() {
            return None;
        }
        let mut v = 0f64;
        for c in whole.chars() {
            v = v * 16.0 + f64::from(c.to_digit(16)?);
        }
        for (i, c) in frac.chars().enumerate() {
            v += f64::from(c.to_digit(16)?) / 16f64.powi(i as i32 + 1);
        }
        v * 2f64.powi(strip_underscores(exp, false)?.parse().ok()?)
    } else {
        let clean = strip_underscores(&lower, false)?;
        if !clean.bytes().all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'+' | b'-')) {
            return None;
        }
        clean.parse().ok()?
    };
    Some(if neg { -v } else { v })
}

/// Go's `%q` of a string (strconv.Quote), for error messages.
pub fn go_quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\x07' => out.push_str("\\a"),
            '\x08' => out.push_str("\\b"),
            '\x0b' => out.push_str("\\v"),
            '\x0c' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || c == '\x7f' => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Go's `%#U` of a character: `U+20AC '€'`, or `U+0001` when unprintable.
pub fn go_unicode(c: char) -> String {
    if c.is_control() {
        format!("U+{:04X}", c as u32)
    } else {
        format!("U+{:04X} '{c}'", c as u32)
    }
}
