//! YAML 1.1 typing of scalars as go-yaml v2's resolve.go has it: plain
//! scalars' ints (Go's strconv rules), floats, bools, nulls and
//! timestamps, and what explicit tags allow, `!!binary` included. Text in,
//! a `Scalar` out: it knows nothing of nodes, aliases or JSON.

use super::scalar::Scalar;

const YAML_TAG_PREFIX: &str = "tag:yaml.org,2002:";

/// decode.go `scalar` then resolve.go `resolve`: an untagged scalar that is
/// not plain (quoted, literal, folded) is a string; an untagged plain one is
/// typed by its text; a tagged one must be what its tag says (`!!float`
/// takes an integer), except `!!str` and tags v2 does not resolve (`!`,
/// local and other tags), which keep the text.
pub(super) fn resolve(text: &str, plain: bool, tag: Option<&str>) -> Result<Scalar, String> {
    let Some(tag) = tag else {
        return Ok(if plain { implicit(text) } else { Scalar::Str(text.into()) });
    };
    let Some(kind) = tag.strip_prefix(YAML_TAG_PREFIX) else { return Ok(Scalar::Str(text.into())) };
    let resolved = implicit(text);
    let found = resolved.tag();
    let ok = match (kind, resolved) {
        ("str", _) => Scalar::Str(text.into()),
        ("binary", _) => Scalar::Str(binary(text)?),
        ("int", int @ (Scalar::Int(_) | Scalar::Uint(_))) => int,
        ("float", float @ Scalar::Float(_)) => float,
        ("float", Scalar::Int(i)) => Scalar::Float(i as f64),
        ("bool", b @ Scalar::Bool(_)) => b,
        ("null", Scalar::Null) => Scalar::Null,
        ("timestamp", _) if is_timestamp(text) => Scalar::Str(text.into()),
        ("int" | "float" | "bool" | "null", _) => {
            return Err(format!("cannot decode !!{found} `{text}` as a !!{kind}"));
        }
        ("timestamp", _) => return Err(format!("cannot decode !!{found} `{text}` as a !!timestamp")),
        // `!!merge`, `!!map`, `!!set`...: not resolvable, the text.
        _ => Scalar::Str(text.into()),
    };
    Ok(ok)
}
/// resolve.go `resolve` for a plain untagged scalar (YAML 1.1 as v2 has it).
pub(super) fn implicit(text: &str) -> Scalar {
    match text {
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => return Scalar::Bool(true),
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            return Scalar::Bool(false)
        }
        "" | "~" | "null" | "Null" | "NULL" => return Scalar::Null,
        ".nan" | ".NaN" | ".NAN" => return Scalar::Float(f64::NAN),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => return Scalar::Float(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => return Scalar::Float(f64::NEG_INFINITY),
        _ => {}
    }
    let number = match text.as_bytes()[0] {
        b'.' => dot_float(text).map(Scalar::Float),
        b'0'..=b'9' | b'+' | b'-' => number(text),
        _ => None,
    };
    number.unwrap_or_else(|| Scalar::Str(text.into()))
}

/// resolve.go's digit-or-sign case. With `_` removed: Go's
/// `strconv.ParseInt(s, 0, 64)` (sign, then `0x`, `0o`, `0b` or a leading
/// `0` for octal, so `0755` is 493 but `08` is no integer), then
/// `ParseUint` (beyond int64), then a float if the text has YAML's float
/// shape (`08` is 8, `1e3` 1000, a decimal beyond uint64 a float), then
/// resolve.go's own `0b`/`-0b` (which take a sign after the prefix).
/// Anything else (hexadecimal beyond 64 bits, `1e400`) is a string.
fn number(text: &str) -> Option<Scalar> {
    let plain = text.replace('_', "");
    if let Ok(i) = parse_int(&plain, 0) {
        return Some(Scalar::Int(i));
    }
    if let Ok(u) = parse_uint(&plain, 0) {
        return Some(Scalar::Uint(u));
    }
    if yaml_style_float(&plain) {
        if let Some(f) = plain.parse::<f64>().ok().filter(|f| f.is_finite()) {
            return Some(Scalar::Float(f));
        }
    }
    if let Some(binary) = plain.strip_prefix("0b") {
        if let Ok(i) = parse_int(binary, 2) {
            return Some(Scalar::Int(i));
        }
        if let Ok(u) = parse_uint(binary, 2) {
            return Some(Scalar::Uint(u));
        }
    } else if let Some(binary) = plain.strip_prefix("-0b") {
        if let Ok(i) = parse_int(&format!("-{binary}"), 2) {
            return Some(Scalar::Int(i));
        }
    }
    None
}

#[derive(Debug, PartialEq)]
enum NumError {
    Syntax,
    Range,
}

/// Go's `strconv.ParseUint(s, base, 64)` with no `_` in `s`; base 0 reads
/// the prefix (`0b`, `0o`, `0x` with a digit after, else a leading `0` is
/// octal). Digits are checked, then overflow, one at a time, as Go does.
fn parse_uint(s: &str, base: u32) -> Result<u64, NumError> {
    let b = s.as_bytes();
    if b.is_empty() {
        return Err(NumError::Syntax);
    }
    let (base, digits) = match (base, b) {
        (0, [b'0', prefix, _, ..]) if prefix | 0x20 == b'b' => (2, &b[2..]),
        (0, [b'0', prefix, _, ..]) if prefix | 0x20 == b'o' => (8, &b[2..]),
        (0, [b'0', prefix, _, ..]) if prefix | 0x20 == b'x' => (16, &b[2..]),
        (0, [b'0', ..]) => (8, &b[1..]),
        (0, _) => (10, b),
        (base, _) => (base, b),
    };
    let mut n: u64 = 0;
    for &c in digits {
        let digit = match c {
            b'0'..=b'9' => c - b'0',
            _ if (c | 0x20).is_ascii_lowercase() => (c | 0x20) - b'a' + 10,
            _ => return Err(NumError::Syntax),
        };
        if u32::from(digit) >= base {
            return Err(NumError::Syntax);
        }
        n = n.checked_mul(u64::from(base)).and_then(|n| n.checked_add(u64::from(digit))).ok_or(NumError::Range)?;
    }
    Ok(n)
}

/// Go's `strconv.ParseInt(s, base, 64)`: a sign, then `ParseUint`.
fn parse_int(s: &str, base: u32) -> Result<i64, NumError> {
    let (negative, rest) = match s.as_bytes().first() {
        Some(b'+') => (false, &s[1..]),
        Some(b'-') => (true, &s[1..]),
        _ => (false, s),
    };
    let magnitude = parse_uint(rest, base)?;
    match (negative, magnitude) {
        (false, m) if m < 1 << 63 => Ok(m as i64),
        (true, m) if m <= 1 << 63 => Ok(0i64.wrapping_sub(m as i64)),
        _ => Err(NumError::Range),
    }
}

/// resolve.go's `yamlStyleFloat`:
/// `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`.
fn yaml_style_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i > start
    };
    if matches!(b.first(), Some(b'+' | b'-')) {
        i += 1;
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        if !digits(&mut i) {
            return false;
        }
    } else {
        if !digits(&mut i) {
            return false;
        }
        if b.get(i) == Some(&b'.') {
            i += 1;
            digits(&mut i);
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if !digits(&mut i) {
            return false;
        }
    }
    i == b.len()
}

/// resolve.go's `.` case: Go's `strconv.ParseFloat` of the text as it is
/// (`_` allowed between digits, per Go's `underscoreOK`), e.g. `.5`,
/// `.5e3`; out of range is no float.
fn dot_float(s: &str) -> Option<f64> {
    let b = s.as_bytes();
    let mut i = 1;
    let mut mantissa = false;
    while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
        mantissa |= b[i] != b'_';
        i += 1;
    }
    if !mantissa {
        return None;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if !b.get(i).is_some_and(u8::is_ascii_digit) {
            return None;
        }
        while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
            i += 1;
        }
    }
    if i != b.len() || !underscores_ok(b) {
        return None;
    }
    s.replace('_', "").parse::<f64>().ok().filter(|f| f.is_finite())
}

/// Go's `underscoreOK` for a decimal number: each `_` between two digits.
fn underscores_ok(b: &[u8]) -> bool {
    let mut previous = b'^';
    for &c in b {
        let class = match c {
            b'0'..=b'9' => b'0',
            b'_' if previous != b'0' => return false,
            b'_' => b'_',
            _ if previous == b'_' => return false,
            _ => b'!',
        };
        previous = class;
    }
    previous != b'_'
}

/// decode.go's `!!binary`: base64 (line breaks ignored, as Go's decoder
/// ignores them), bytes that are not UTF-8 replaced one by one with U+FFFD,
/// as encoding/json writes them.
fn binary(text: &str) -> Result<String, String> {
    use base64::engine::{general_purpose::GeneralPurpose, DecodePaddingMode, GeneralPurposeConfig};
    use base64::Engine;
    const GO_STD_ENCODING: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new()
            .with_decode_allow_trailing_bits(true)
            .with_decode_padding_mode(DecodePaddingMode::RequireCanonical),
    );
    let compact: String = text.chars().filter(|c| !matches!(c, '\r' | '\n')).collect();
    let bytes =
        GO_STD_ENCODING.decode(compact).map_err(|_| "!!binary value contains invalid base64 data".to_string())?;
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        out.push_str(chunk.valid());
        out.extend(chunk.invalid().iter().map(|_| char::REPLACEMENT_CHARACTER));
    }
    Ok(out)
}

/// resolve.go `parseTimestamp` (Go's `time.Parse` with v2's four layouts),
/// for an explicit `!!timestamp` and for `resolves_to_string` (an
/// untagged timestamp decodes to a string either way): `YYYY-M-D` (a real
/// day of that month), optionally followed by `T`/`t` and
/// `H:M:S[.frac]` with `Z` or `±hh:mm`, or by a space and `H:M:S[.frac]`.
pub(super) fn is_timestamp(s: &str) -> bool {
    /// A run of `min` to `max` digits and what follows it.
    fn number(s: &str, min: usize, max: usize) -> Option<(u32, &str)> {
        let n = s.bytes().take_while(u8::is_ascii_digit).count();
        (min..=max).contains(&n).then_some(())?;
        Some((s[..n].parse().ok()?, &s[n..]))
    }
    /// Go's `getnum`: one or two digits (exactly two if `fixed`), below `limit`.
    fn below(s: &str, fixed: bool, limit: u32) -> Option<&str> {
        number(s, if fixed { 2 } else { 1 }, 2).filter(|(n, _)| *n < limit).map(|(_, rest)| rest)
    }
    fn time(s: &str) -> Option<&str> {
        let s = below(s, false, 24)?.strip_prefix(':')?;
        let s = below(s, false, 60)?.strip_prefix(':')?;
        let s = below(s, false, 60)?;
        match s.strip_prefix(['.', ',']) {
            Some(frac) if frac.starts_with(|c: char| c.is_ascii_digit()) => {
                Some(frac.trim_start_matches(|c: char| c.is_ascii_digit()))
            }
            _ => Some(s),
        }
    }
    let date = (|| {
        let (year, s) = number(s, 4, 4)?;
        let (month, s) = number(s.strip_prefix('-')?, 1, 2)?;
        let (day, s) = number(s.strip_prefix('-')?, 1, 2)?;
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
        let days = match month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if leap => 29,
            2 => 28,
            _ => return None,
        };
        (1..=days).contains(&day).then_some(s)
    })();
    let Some(rest) = date else { return false };
    if rest.is_empty() {
        return true;
    }
    if let Some(t) = rest.strip_prefix(' ') {
        return time(t) == Some("");
    }
    let Some(zone) = rest.strip_prefix(['T', 't']).and_then(time) else { return false };
    // time.Parse allows offsets up to 24 hours and 60 minutes.
    zone == "Z"
        || zone
            .strip_prefix(['+', '-'])
            .and_then(|z| below(z, true, 25))
            .and_then(|z| z.strip_prefix(':'))
            .and_then(|z| below(z, true, 61))
            == Some("")
}
