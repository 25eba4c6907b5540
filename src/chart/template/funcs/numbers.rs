//! Sprig's arithmetic (integer: add, sub, mul, div, mod, max, min; float:
//! addf... floor, ceil, round) and number conversions (int, float64,
//! atoi, toDecimal), with cast's lenient parsing.

use super::super::value::Value;
use super::{arg, text, to_f64, to_i64, FuncError, FuncResult};

pub fn call(name: &str, args: &[Value]) -> Option<FuncResult> {
    let i = |n: usize| to_i64(&arg(args, n));
    let f = |n: usize| to_f64(&arg(args, n));
    let int = |v: i64| Ok(Value::Int(v));
    let float = |v: f64| Ok(Value::Float(v));
    Some(match name {
        "add" => int(args.iter().map(to_i64).fold(0i64, i64::wrapping_add)),
        "add1" => int(i(0).wrapping_add(1)),
        "sub" => int(i(0).wrapping_sub(i(1))),
        "mul" => int(args.iter().map(to_i64).fold(1i64, i64::wrapping_mul)),
        "div" => match i(1) {
            0 => Err(FuncError::Call("runtime error: integer divide by zero".into())),
            d => int(i(0).wrapping_div(d)),
        },
        "mod" => match i(1) {
            0 => Err(FuncError::Call("runtime error: integer divide by zero".into())),
            d => int(i(0).wrapping_rem(d)),
        },
        "max" | "biggest" => int(args.iter().map(to_i64).max().unwrap_or(0)),
        "min" => int(args.iter().map(to_i64).min().unwrap_or(0)),
        "addf" => float(args.iter().map(to_f64).sum()),
        "add1f" => float(f(0) + 1.0),
        "subf" => float(args.iter().skip(1).map(to_f64).fold(f(0), |a, b| a - b)),
        "mulf" => float(args.iter().map(to_f64).product()),
        "divf" => float(args.iter().skip(1).map(to_f64).fold(f(0), |a, b| a / b)),
        "maxf" => float(args.iter().map(to_f64).fold(f64::NEG_INFINITY, f64::max)),
        "minf" => float(args.iter().map(to_f64).fold(f64::INFINITY, f64::min)),
        "floor" => float(f(0).floor()),
        "ceil" => float(f(0).ceil()),
        "round" => {
            let places = i(1);
            let round_on = if args.len() > 2 { f(2) } else { 0.5 };
            let pow = 10f64.powi(places as i32);
            let digit = pow * f(0);
            let (whole, frac) = (digit.trunc(), digit.fract());
            let rounded = if frac.abs() >= round_on { whole + frac.signum() } else { whole };
            float(rounded / pow)
        }
        "int" | "int64" => int(i(0)),
        "float64" => float(f(0)),
        "atoi" => int(text(&arg(args, 0)).trim().parse().unwrap_or(0)),
        "toDecimal" => int(i64::from_str_radix(&text(&arg(args, 0)), 8).unwrap_or(0)),
        _ => return None,
    })
}
