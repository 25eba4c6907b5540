//! A resolved scalar and how Go writes it: encoding/json's numbers
//! (`Numbers`) and strconv's shortest float digits, for values and for
//! float mapping keys. It does not decide a scalar's type: that is
//! `resolve`'s.

use super::Numbers;
use serde_json::Value;

/// A scalar as go-yaml v2 decodes it into `interface{}`. Timestamps stay
/// strings there (decode.go keeps the text "for backward compatibility"),
/// so they are not a kind of their own.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Scalar {
    Null,
    Bool(bool),
    Int(i64),
    Uint(u64),
    Float(f64),
    Str(String),
}

impl Scalar {
    pub(super) fn tag(&self) -> &'static str {
        match self {
            Scalar::Null => "null",
            Scalar::Bool(_) => "bool",
            Scalar::Int(_) | Scalar::Uint(_) => "int",
            Scalar::Float(_) => "float",
            Scalar::Str(_) => "str",
        }
    }

    /// As encoding/json writes it (`Numbers::JsonText`) or reads that back
    /// into `interface{}` (`Numbers::Float64`). NaN and infinities make
    /// `json.Marshal` (so `YAMLToJSON`) fail; here too, with a way out.
    pub(super) fn into_json(self, text: &str, numbers: Numbers) -> Result<Value, String> {
        let float = |f: f64| serde_json::Number::from_f64(f).map(Value::Number).unwrap_or(Value::Null);
        Ok(match self {
            Scalar::Null => Value::Null,
            Scalar::Bool(b) => b.into(),
            Scalar::Str(s) => s.into(),
            Scalar::Float(f) if f.is_nan() || f.is_infinite() => {
                let what = if f.is_nan() { "NaN" } else { "infinite" };
                return Err(format!(
                    "`{text}` is a YAML float that is {what}, which JSON cannot carry (sigs.k8s.io/yaml fails on it too); quote it to make it a string"
                ));
            }
            // encoding/json decodes every number into `interface{}` as a
            // float64: an integer's decimal text rounded to the nearest (as
            // Rust's `as` rounds), a float's shortest digits back to itself.
            Scalar::Int(i) if numbers == Numbers::Float64 => float(i as f64),
            Scalar::Uint(u) if numbers == Numbers::Float64 => float(u as f64),
            Scalar::Float(f) if numbers == Numbers::Float64 => float(f),
            Scalar::Int(i) => i.into(),
            Scalar::Uint(u) => u.into(),
            // encoding/json writes a float with no fraction below 1e21 as
            // its shortest digits padded with zeros, without point or
            // exponent (`1`, not `1.0`; 1.0975482392613602e17 as
            // `109754823926136020`): the API server reads that text as an
            // integer, so that integer it is here, when it fits 64 bits.
            Scalar::Float(f) if f.fract() == 0.0 && f.abs() < 1e21 => {
                let digits = integral_digits(f);
                digits
                    .parse::<i64>()
                    .map(Value::from)
                    .or_else(|_| digits.parse::<u64>().map(Value::from))
                    .unwrap_or_else(|_| float(f))
            }
            Scalar::Float(f) => float(f),
        })
    }
}

/// The integer encoding/json writes for an integral float below 1e21: its
/// shortest digits, padded with zeros to the units.
fn integral_digits(f: f64) -> String {
    if f == 0.0 {
        return "0".into();
    }
    let (mut digits, exponent) = shortest_digits(f.abs(), false);
    let width = usize::try_from(exponent).unwrap_or(0) + 1;
    while digits.len() < width {
        digits.push('0');
    }
    if f < 0.0 {
        digits.insert(0, '-');
    }
    digits
}

/// The shortest digits that read back as `x` (positive and finite; as an
/// f32 if `single`), with the decimal exponent of the first, as Go's
/// strconv finds them: the closest to `x`, a tie going to the even digit.
/// Rust's `{:e}` finds the same digits but rounds a tie up, so a tie is
/// looked for in `x`'s exact expansion (which `{:.800e}` writes in full).
fn shortest_digits(x: f64, single: bool) -> (String, i32) {
    let split = |scientific: String| -> (String, i32) {
        let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
        (mantissa.replace('.', ""), exponent.parse().unwrap_or(0))
    };
    let (digits, exponent) = split(if single { format!("{:e}", x as f32) } else { format!("{x:e}") });
    let (exact, exact_exponent) = split(format!("{x:.800e}"));
    let n = digits.len();
    let tie = exact_exponent == exponent
        && exact.as_bytes().get(n) == Some(&b'5')
        && exact.bytes().skip(n + 1).all(|b| b == b'0');
    if !tie {
        return (digits, exponent);
    }
    let low = &exact[..n];
    let mut even = low.as_bytes().to_vec();
    let mut even_exponent = exponent;
    if even.last().is_some_and(|d| (d - b'0') % 2 == 1) {
        // The tie's upper neighbour: add one to the last digit.
        let mut i = n;
        loop {
            if i == 0 {
                even.insert(0, b'1');
                even.pop();
                even_exponent += 1;
                break;
            }
            i -= 1;
            if even[i] == b'9' {
                even[i] = b'0';
            } else {
                even[i] += 1;
                break;
            }
        }
    }
    let even = String::from_utf8(even).unwrap_or_default();
    let reads_back = |digits: &str| -> bool {
        let text = format!("0.{digits}e{}", even_exponent + 1);
        if single {
            text.parse::<f32>().is_ok_and(|y| f64::from(y) == x)
        } else {
            text.parse::<f64>().is_ok_and(|y| y == x)
        }
    };
    if reads_back(&even) {
        (even, even_exponent)
    } else {
        (digits, exponent)
    }
}

/// Go's `strconv.FormatFloat(f, 'g', -1, 32)` (the float rounded to 32
/// bits, its shortest digits, an exponent below -4 or from 6 on written
/// `1e+06`), with `.inf`, `-.inf` and `.nan` for the special values: how
/// yaml.go writes a float mapping key.
pub(super) fn float_key(f: f64) -> String {
    let x = f as f32;
    if x.is_nan() {
        return ".nan".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { ".inf" } else { "-.inf" }.into();
    }
    let mut out = String::from(if x.is_sign_negative() { "-" } else { "" });
    if x == 0.0 {
        out.push('0');
        return out;
    }
    let (digits, exponent) = shortest_digits(f64::from(x.abs()), true);
    let digits = digits.trim_end_matches('0');
    if !(-4..6).contains(&exponent) {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push_str(&format!("e{}{:02}", if exponent < 0 { '-' } else { '+' }, exponent.abs()));
    } else if exponent < 0 {
        out.push_str("0.");
        out.push_str(&"0".repeat((-exponent - 1) as usize));
        out.push_str(digits);
    } else {
        let whole = exponent as usize + 1;
        if digits.len() <= whole {
            out.push_str(digits);
            out.push_str(&"0".repeat(whole - digits.len()));
        } else {
            out.push_str(&digits[..whole]);
            out.push('.');
            out.push_str(&digits[whole..]);
        }
    }
    out
}
