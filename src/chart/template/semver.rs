//! Semantic versions and constraints as Masterminds/semver v3 reads them
//! (what Helm's `semverCompare` and Chart.yaml `kubeVersion` use): loose
//! versions (`v1.2`), `||` alternatives, `,` or space for "and", `~ ^`,
//! `x`/`*` wildcards, hyphen ranges, and its pre-release rule: a version
//! with a pre-release only matches a constraint that has one.
//!
//! Written here because the `semver` crate follows Cargo's rules, which
//! differ on exactly these points.

use super::value::{Map, Value};
use std::cmp::Ordering;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    pub major: u64,
    pub minor: u64,
    pub patch: u64,
    pub pre: String,
    pub meta: String,
    original: String,
}

impl Version {
    pub fn parse(text: &str) -> Result<Version, String> {
        let invalid = || format!("Invalid Semantic Version: {text:?}");
        let t = text.trim();
        let t = t.strip_prefix('v').unwrap_or(t);
        let (t, meta) = t.split_once('+').unwrap_or((t, ""));
        let (core, pre) = t.split_once('-').unwrap_or((t, ""));
        let mut nums = core.split('.');
        let mut next = |required: bool| -> Result<u64, String> {
            match nums.next() {
                Some(n) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => n.parse().map_err(|_| invalid()),
                None if !required => Ok(0),
                _ => Err(invalid()),
            }
        };
        let (major, minor, patch) = (next(true)?, next(false)?, next(false)?);
        if nums.next().is_some() {
            return Err(invalid());
        }
        Ok(Version { major, minor, patch, pre: pre.into(), meta: meta.into(), original: text.into() })
    }

    /// The object `semver` returns to templates.
    pub fn into_value(self) -> Value {
        let mut m = Map::new();
        m.insert("Major".into(), Value::Int(self.major as i64));
        m.insert("Minor".into(), Value::Int(self.minor as i64));
        m.insert("Patch".into(), Value::Int(self.patch as i64));
        m.insert("Prerelease".into(), Value::from(self.pre.as_str()));
        m.insert("Metadata".into(), Value::from(self.meta.as_str()));
        m.insert("Original".into(), Value::from(self.original.as_str()));
        Value::map(m)
    }

    pub fn cmp_precedence(&self, other: &Version) -> Ordering {
        (self.major, self.minor, self.patch)
            .cmp(&(other.major, other.minor, other.patch))
            .then_with(|| compare_pre(&self.pre, &other.pre))
    }
}

fn compare_pre(a: &str, b: &str) -> Ordering {
    match (a.is_empty(), b.is_empty()) {
        (true, true) => return Ordering::Equal,
        (true, false) => return Ordering::Greater,
        (false, true) => return Ordering::Less,
        _ => {}
    }
    let mut ai = a.split('.');
    let mut bi = b.split('.');
    loop {
        match (ai.next(), bi.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) => {
                let ord = match (x.parse::<u64>(), y.parse::<u64>()) {
                    (Ok(p), Ok(q)) => p.cmp(&q),
                    (Ok(_), Err(_)) => Ordering::Less,
                    (Err(_), Ok(_)) => Ordering::Greater,
                    _ => x.cmp(y),
                };
                if ord != Ordering::Equal {
                    return ord;
                }
            }
        }
    }
}

/// Does `version` satisfy `constraint`?
pub fn satisfies(constraint: &str, version: &str) -> Result<bool, String> {
    let v = Version::parse(version)?;
    for alternative in constraint.split("||") {
        let mut all = true;
        for (op, target) in clauses(alternative)? {
            if !check(&op, &target, &v)? {
                all = false;
                break;
            }
        }
        if all {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Splits one alternative into (operator, version) clauses.
fn clauses(alternative: &str) -> Result<Vec<(String, String)>, String> {
    let tokens: Vec<&str> = alternative.split([',', ' ']).filter(|t| !t.is_empty()).collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        // Hyphen range: `1.2 - 1.4`.
        if tokens.get(i + 1) == Some(&"-") && i + 2 < tokens.len() {
            out.push((">=".into(), tokens[i].into()));
            out.push(("<=".into(), tokens[i + 2].into()));
            i += 3;
            continue;
        }
        let t = tokens[i];
        let split = t.find(|c: char| c.is_ascii_alphanumeric() || c == '*').unwrap_or(t.len());
        let (op, ver) = t.split_at(split);
        let (op, ver) = if ver.is_empty() && i + 1 < tokens.len() {
            // An operator written apart from its version: `>= 1.2`.
            i += 1;
            (op.to_string(), tokens[i].to_string())
        } else {
            (op.to_string(), ver.to_string())
        };
        if !["", "=", "!=", ">", "<", ">=", "=>", "<=", "=<", "~", "~>", "^"].contains(&op.as_str()) {
            return Err(format!("improper constraint: {alternative}"));
        }
        out.push((op, ver));
        i += 1;
    }
    Ok(out)
}

/// A constraint version with wildcards: which parts were given.
struct Target {
    v: Version,
    /// How many of major/minor/patch were given as numbers.
    given: usize,
}

fn target(text: &str) -> Result<Target, String> {
    let t = text.strip_prefix('v').unwrap_or(text);
    let core = t.split(['-', '+']).next().unwrap_or("");
    let parts: Vec<&str> = core.split('.').collect();
    let given = parts.iter().take_while(|p| !matches!(**p, "x" | "X" | "*" | "")).count();
    let concrete: Vec<&str> = parts.iter().take(given).copied().collect();
    let rest = &t[core.len()..];
    let normalized = if concrete.is_empty() { "0".to_string() } else { concrete.join(".") } + rest;
    Ok(Target { v: Version::parse(&normalized)?, given })
}

fn check(op: &str, text: &str, v: &Version) -> Result<bool, String> {
    let t = target(text)?;
    if !v.pre.is_empty() && t.v.pre.is_empty() {
        return Ok(false);
    }
    let c = &t.v;
    let cmp = v.cmp_precedence(c);
    // The first version past a wildcard target (`1.2.x` -> 1.3.0).
    let bump = |level: usize| -> Version {
        let mut n = c.clone();
        n.pre.clear();
        match level {
            0 => {
                n.major += 1;
                n.minor = 0;
                n.patch = 0;
            }
            1 => {
                n.minor += 1;
                n.patch = 0;
            }
            _ => n.patch += 1,
        }
        n
    };
    let below = |upper: &Version| v.cmp_precedence(upper) == Ordering::Less;
    Ok(match op {
        "" | "=" => {
            if t.given < 3 {
                cmp != Ordering::Less && (t.given == 0 || below(&bump(t.given - 1)))
            } else {
                cmp == Ordering::Equal
            }
        }
        "!=" => {
            if t.given < 3 {
                !(cmp != Ordering::Less && (t.given == 0 || below(&bump(t.given - 1))))
            } else {
                cmp != Ordering::Equal
            }
        }
        ">" => {
            if t.given < 3 && t.given > 0 {
                !below(&bump(t.given - 1))
            } else {
                t.given != 0 && cmp == Ordering::Greater
            }
        }
        ">=" | "=>" => cmp != Ordering::Less,
        "<" => t.given != 0 && cmp == Ordering::Less,
        "<=" | "=<" => {
            if t.given < 3 && t.given > 0 {
                below(&bump(t.given - 1))
            } else {
                t.given == 0 || cmp != Ordering::Greater
            }
        }
        "~" | "~>" => cmp != Ordering::Less && below(&bump(if t.given <= 1 { 0 } else { 1 })),
        "^" => {
            let level = if c.major > 0 || t.given <= 1 {
                0
            } else if c.minor > 0 || t.given == 2 {
                1
            } else {
                2
            };
            cmp != Ordering::Less && below(&bump(level))
        }
        _ => return Err(format!("improper constraint: {op}{text}")),
    })
}

#[cfg(test)]
mod tests {
    use super::satisfies;

    #[test]
    fn masterminds_rules() {
        let yes = |c: &str, v: &str| assert!(satisfies(c, v).unwrap(), "{v} should satisfy {c}");
        let no = |c: &str, v: &str| assert!(!satisfies(c, v).unwrap(), "{v} should not satisfy {c}");
        yes(">=1.25.0-0", "v1.33.0");
        yes(">=1.25.0-0", "1.26.0-eks-1");
        no(">=1.25.0", "1.26.0-eks-1");
        yes("<1.26.0-0", "1.25.3");
        no("<1.26.0-0", "1.26.0");
        yes("~1.2.3", "1.2.9");
        no("~1.2.3", "1.3.0");
        yes("^1.2", "1.9.0");
        no("^0.2.3", "0.3.0");
        yes("1.2.x", "1.2.7");
        no("1.2.x", "1.3.0");
        yes(">= 1.2, < 3.0.0 || >= 4.2.3", "4.3.0");
        yes("1.2 - 1.4.5", "1.4.5");
        no("1.2 - 1.4.5", "1.4.6");
        yes("*", "3.0.0");
    }
}
