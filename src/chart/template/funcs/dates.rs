//! Sprig's date functions (now, date, dateInZone, htmlDate, toDate,
//! unixEpoch, dateModify, ago, duration) with Go's reference-time layouts
//! (`2006-01-02T15:04:05Z07:00`). Times are UTC: "Local" is taken as UTC, so
//! a render does not depend on the machine's time zone; other zone names
//! are refused.

use super::super::value::{Object, Value};
use super::{arg, text, to_i64, FuncError, FuncResult};
use chrono::{DateTime, Datelike, TimeZone, Utc};
use std::rc::Rc;

pub fn call(name: &str, args: &[Value]) -> Option<FuncResult> {
    Some(match name {
        "now" => Ok(time(Utc::now())),
        "date" => to_time(&arg(args, 1)).map(|t| Value::from(format(&text(&arg(args, 0)), &t))),
        "dateInZone" => {
            zone(&arg(args, 2)).and(to_time(&arg(args, 1))).map(|t| Value::from(format(&text(&arg(args, 0)), &t)))
        }
        "htmlDate" => to_time(&arg(args, 0)).map(|t| Value::from(format("2006-01-02", &t))),
        "htmlDateInZone" => {
            zone(&arg(args, 1)).and(to_time(&arg(args, 0))).map(|t| Value::from(format("2006-01-02", &t)))
        }
        "toDate" | "mustToDate" => match parse(&text(&arg(args, 0)), &text(&arg(args, 1))) {
            Some(t) => Ok(time(t)),
            None if name == "toDate" => {
                Ok(time(DateTime::<Utc>::from_timestamp(-62135596800, 0).expect("Go's zero time")))
            }
            None => Err(FuncError::Call(format!(
                "parsing time {:?} as {:?}: cannot parse",
                text(&arg(args, 1)),
                text(&arg(args, 0))
            ))),
        },
        "unixEpoch" => to_time(&arg(args, 0)).map(|t| Value::from(t.timestamp().to_string())),
        "dateModify" | "mustDateModify" => {
            let Some(nanos) = parse_duration(&text(&arg(args, 0))) else {
                return Some(if name == "dateModify" {
                    to_time(&arg(args, 1)).map(time)
                } else {
                    Err(FuncError::Call(format!("time: invalid duration {:?}", text(&arg(args, 0)))))
                });
            };
            to_time(&arg(args, 1)).map(|t| time(t + chrono::Duration::nanoseconds(nanos)))
        }
        "ago" => to_time(&arg(args, 0)).map(|t| {
            let seconds = (Utc::now() - t).num_seconds();
            Value::from(go_duration(seconds as i128 * 1_000_000_000))
        }),
        // Sprig reads only strings and int64 here; a float64 from values
        // gives 0s, as in Helm. (Go's int and int64 are one kind here.)
        "duration" => Ok(Value::from(go_duration(match arg(args, 0) {
            Value::Str(s) => s.trim().parse::<i64>().unwrap_or(0) as i128 * 1_000_000_000,
            Value::Int(i) => i as i128 * 1_000_000_000,
            _ => 0,
        }))),
        _ => return None,
    })
}

fn time(t: DateTime<Utc>) -> Value {
    Value::Object(Rc::new(Time(t)))
}

/// A Go time.Time.
#[derive(Debug)]
struct Time(DateTime<Utc>);

impl Object for Time {
    fn type_name(&self) -> &'static str {
        "time.Time"
    }
    fn field(&self, name: &str) -> Option<Value> {
        Some(match name {
            "Unix" => Value::Int(self.0.timestamp()),
            "UnixNano" => Value::Int(self.0.timestamp_nanos_opt().unwrap_or_default()),
            "Year" => Value::Int(self.0.year() as i64),
            "YearDay" => Value::Int(self.0.ordinal() as i64),
            "UTC" | "Local" => time(self.0),
            _ => return None,
        })
    }
    fn call(&self, name: &str, args: &[Value]) -> Option<Result<Value, String>> {
        (name == "Format").then(|| Ok(Value::from(format(&args.first().map(text).unwrap_or_default(), &self.0))))
    }
    fn display(&self) -> String {
        format("2006-01-02 15:04:05.999999999 -0700 MST", &self.0)
    }
}

fn zone(v: &Value) -> Result<(), FuncError> {
    match text(v).as_str() {
        "" | "UTC" | "Local" | "Etc/UTC" => Ok(()),
        other => Err(FuncError::Call(format!("unknown time zone {other} (airlock renders in UTC)"))),
    }
}

/// Sprig's toDate-like coercion: a time, or Unix seconds.
fn to_time(v: &Value) -> Result<DateTime<Utc>, FuncError> {
    match v {
        Value::Object(o) if o.type_name() == "time.Time" => {
            let nanos = o.field("UnixNano").map(|n| to_i64(&n)).unwrap_or_default();
            Ok(Utc.timestamp_nanos(nanos))
        }
        Value::Int(_) | Value::Float(_) => {
            DateTime::<Utc>::from_timestamp(to_i64(v), 0).ok_or_else(|| FuncError::Call("time out of range".into()))
        }
        _ => Ok(Utc::now()),
    }
}

/// Go layout tokens and the chrono formats they stand for, longest first.
const TOKENS: &[(&str, &str)] = &[
    ("January", "%B"),
    ("Monday", "%A"),
    ("2006", "%Y"),
    ("-07:00:00", "%:z:00"),
    ("-070000", "%z00"),
    ("Z07:00", "Z07:00"),
    ("Z0700", "Z0700"),
    ("-07:00", "%:z"),
    ("-0700", "%z"),
    (".000000000", "%.9f"),
    (".999999999", ".999999999"),
    (".000000", "%.6f"),
    (".999999", ".999999"),
    (".000", "%.3f"),
    (".999", ".999"),
    ("Jan", "%b"),
    ("Mon", "%a"),
    ("MST", "%Z"),
    ("002", "%j"),
    ("_2", "%e"),
    ("01", "%m"),
    ("02", "%d"),
    ("03", "%I"),
    ("04", "%M"),
    ("05", "%S"),
    ("06", "%y"),
    ("15", "%H"),
    ("-07", "%z"),
    ("PM", "%p"),
    ("pm", "%P"),
    ("1", "%-m"),
    ("2", "%-d"),
    ("3", "%-I"),
    ("4", "%-M"),
    ("5", "%-S"),
];

/// time.Format with a Go layout.
fn format(layout: &str, t: &DateTime<Utc>) -> String {
    let mut out = String::new();
    let mut rest = layout;
    'outer: while !rest.is_empty() {
        for (token, chrono_format) in TOKENS {
            if let Some(after) = rest.strip_prefix(token) {
                out.push_str(&match *chrono_format {
                    "Z07:00" | "Z0700" => "Z".to_string(),
                    trimmed if trimmed.starts_with(".9") => {
                        let digits = trimmed.len() - 1;
                        let frac =
                            format!("{:09}", t.timestamp_subsec_nanos())[..digits].trim_end_matches('0').to_string();
                        if frac.is_empty() {
                            String::new()
                        } else {
                            format!(".{frac}")
                        }
                    }
                    "%Z" => "UTC".to_string(),
                    "%z" | "%:z" | "%z00" | "%:z:00" => t.format(chrono_format).to_string(),
                    f => t.format(f).to_string(),
                });
                rest = after;
                continue 'outer;
            }
        }
        let c = rest.chars().next().expect("not empty");
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// time.Parse for the common layouts: the layout is turned into a chrono
/// format and parsed as UTC.
fn parse(layout: &str, value: &str) -> Option<DateTime<Utc>> {
    let mut fmt = String::new();
    let mut rest = layout;
    let mut has_zone = false;
    'outer: while !rest.is_empty() {
        for (token, chrono_format) in TOKENS {
            if let Some(after) = rest.strip_prefix(token) {
                let f = match *chrono_format {
                    "Z07:00" | "Z0700" => {
                        has_zone = true;
                        "%#z"
                    }
                    f if f.starts_with(".9") => "%.f",
                    f @ ("%z" | "%:z") => {
                        has_zone = true;
                        f
                    }
                    f => f,
                };
                fmt.push_str(f);
                rest = after;
                continue 'outer;
            }
        }
        let c = rest.chars().next().expect("not empty");
        if c == '%' {
            fmt.push_str("%%");
        } else {
            fmt.push(c);
        }
        rest = &rest[c.len_utf8()..];
    }
    let value = value.replace('Z', "+00:00");
    if has_zone {
        DateTime::parse_from_str(&value, &fmt).ok().map(|t| t.with_timezone(&Utc))
    } else if fmt.contains("%H") || fmt.contains("%I") {
        chrono::NaiveDateTime::parse_from_str(&value, &fmt).ok().map(|t| t.and_utc())
    } else {
        chrono::NaiveDate::parse_from_str(&value, &fmt).ok().and_then(|d| d.and_hms_opt(0, 0, 0)).map(|t| t.and_utc())
    }
}

/// Go's time.ParseDuration: `1h30m`, `-1.5h`, `300ms`.
fn parse_duration(s: &str) -> Option<i64> {
    let (negative, mut rest) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    if rest == "0" {
        return Some(0);
    }
    let mut total = 0f64;
    while !rest.is_empty() {
        let number_len = rest.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
        let number: f64 = rest[..number_len].parse().ok()?;
        rest = &rest[number_len..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ns" => 1.0,
            "us" | "µs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        total += number * scale;
        rest = &rest[unit_len..];
    }
    Some(if negative { -total } else { total } as i64)
}

/// Go's Duration.String: `1h2m3s`, `1m0s`, `1.5s`, `0s`.
fn go_duration(nanos: i128) -> String {
    if nanos == 0 {
        return "0s".into();
    }
    let sign = if nanos < 0 { "-" } else { "" };
    let n = nanos.unsigned_abs();
    if n < 1_000_000_000 {
        let (value, unit) = if n < 1_000 {
            (n as f64, "ns")
        } else if n < 1_000_000 {
            (n as f64 / 1e3, "µs")
        } else {
            (n as f64 / 1e6, "ms")
        };
        return format!("{sign}{value}{unit}");
    }
    let hours = n / 3_600_000_000_000;
    let minutes = n / 60_000_000_000 % 60;
    let seconds = (n % 60_000_000_000) as f64 / 1e9;
    let mut out = sign.to_string();
    if hours > 0 {
        out.push_str(&format!("{hours}h"));
    }
    if hours > 0 || minutes > 0 {
        out.push_str(&format!("{minutes}m"));
    }
    out.push_str(&format!("{seconds}s"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_layouts_and_durations() {
        let t = Utc.with_ymd_and_hms(2026, 3, 7, 14, 5, 9).unwrap();
        assert_eq!(format("2006-01-02T15:04:05Z07:00", &t), "2026-03-07T14:05:09Z");
        assert_eq!(format("Jan _2 3:04PM Monday", &t), "Mar  7 2:05PM Saturday");
        assert_eq!(format("02/01/06 .000", &t), "07/03/26 .000");
        assert_eq!(
            parse("2006-01-02", "2026-03-07").map(|d| d.timestamp()),
            Some(t.date_naive().and_hms_opt(0, 0, 0).unwrap().and_utc().timestamp())
        );
        assert_eq!(go_duration(3_723_000_000_000), "1h2m3s");
        assert_eq!(go_duration(60_000_000_000), "1m0s");
        assert_eq!(go_duration(1_500_000_000), "1.5s");
        assert_eq!(parse_duration("-1.5h"), Some(-5_400_000_000_000));
        assert_eq!(parse_duration("1h30m"), Some(5_400_000_000_000));
    }
}
