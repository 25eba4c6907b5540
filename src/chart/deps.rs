//! Chart dependencies at create time: which `Chart.yaml` dependencies a
//! chart directory still lacks under `charts/`, where each comes from
//! (`https://` repository, `oci://` registry, `file://` path) and at which
//! exact version (Chart.lock's when present, which must agree with
//! Chart.yaml). Fetching is the caller's (`ops::create`): this module does
//! no I/O beyond reading the chart directory.

use super::load::Chart;
use super::template::semver;
use super::template::Value;
use super::ChartError;
use std::path::{Path, PathBuf};

/// A dependency to fetch and vendor as `charts/NAME-VERSION.tgz`.
#[derive(Debug, Clone, PartialEq)]
pub struct Needed {
    pub name: String,
    /// An exact version when known (Chart.lock, or an exact constraint).
    pub version: Option<String>,
    /// The constraint from Chart.yaml (`2.x.x`).
    pub constraint: String,
    pub source: Source,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    Repo(String),
    /// `registry/path` without `oci://`; the chart is at `.../NAME:VERSION`.
    Oci(String),
    Dir(PathBuf),
}

fn invalid(dir: &Path, detail: String) -> ChartError {
    ChartError::Invalid { path: dir.to_path_buf(), detail }
}

fn text(m: &Value, key: &str) -> String {
    match m {
        Value::Map(m) => m.borrow().get(key).map(Value::go_string_inner).filter(|s| s != "<nil>").unwrap_or_default(),
        _ => String::new(),
    }
}

fn list(chart_value: Option<&Value>) -> Vec<Value> {
    match chart_value {
        Some(Value::List(l)) => l.as_ref().clone(),
        _ => Vec::new(),
    }
}

/// The dependencies of the chart in `dir` (already loaded as `chart`) that
/// its `charts/` folder does not hold.
pub fn missing(dir: &Path, chart: &Chart) -> Result<Vec<Needed>, ChartError> {
    let deps = list(chart.metadata.get("dependencies"));
    let lock_file = chart.files.get("Chart.lock").or_else(|| chart.files.get("requirements.lock"));
    let lock = match lock_file {
        Some(bytes) => {
            let parsed = super::template::convert::from_yaml(&String::from_utf8_lossy(bytes))
                .map_err(|e| invalid(dir, format!("Chart.lock: {e}")))?;
            match &parsed {
                Value::Map(m) => list(m.borrow().get("dependencies")),
                _ => Vec::new(),
            }
        }
        None => Vec::new(),
    };
    let has_lock = lock_file.is_some();
    let mut needed = Vec::new();
    for dep in &deps {
        let name = text(dep, "name");
        let constraint = text(dep, "version");
        let repository = text(dep, "repository");
        let present = chart.subcharts.iter().any(|s| {
            s.meta_str("name") == name && semver::satisfies(&constraint, &s.meta_str("version")).unwrap_or(false)
        });
        if present {
            continue;
        }
        let version = if has_lock {
            let locked = lock.iter().find(|l| text(l, "name") == name && text(l, "repository") == repository);
            let Some(locked) = locked else {
                return Err(invalid(dir, format!("Chart.lock is out of sync with Chart.yaml: it does not list {name} from {repository}; run `helm dependency update`")));
            };
            let version = text(locked, "version");
            if !semver::satisfies(&constraint, &version).unwrap_or(false) {
                return Err(invalid(dir, format!("Chart.lock is out of sync with Chart.yaml: {name} {version} does not satisfy {constraint}; run `helm dependency update`")));
            }
            Some(version)
        } else if semver::Version::parse(&constraint).is_ok() && !constraint.contains(['x', 'X', '*']) {
            Some(constraint.trim_start_matches('=').to_string())
        } else {
            None
        };
        let source = if let Some(rest) = repository.strip_prefix("oci://") {
            Source::Oci(rest.trim_end_matches('/').to_string())
        } else if repository.starts_with("https://") || repository.starts_with("http://") {
            Source::Repo(repository.trim_end_matches('/').to_string())
        } else if let Some(rel) = repository.strip_prefix("file://") {
            Source::Dir(dir.join(rel))
        } else if repository.is_empty() {
            return Err(invalid(
                dir,
                format!("dependency {name} is not in charts/ and names no repository to fetch it from"),
            ));
        } else {
            return Err(invalid(dir, format!("dependency {name}: repository `{repository}` is a local `helm repo add` name; write its URL (https:// or oci://) in Chart.yaml")));
        };
        needed.push(Needed { name, version, constraint, source });
    }
    Ok(needed)
}

/// The highest version in `available` that satisfies `constraint`.
pub fn best_version<'a>(constraint: &str, available: impl Iterator<Item = &'a str>) -> Option<String> {
    let mut best: Option<(semver::Version, String)> = None;
    for v in available {
        if !semver::satisfies(constraint, v).unwrap_or(false) {
            continue;
        }
        let Ok(parsed) = semver::Version::parse(v) else { continue };
        if best.as_ref().is_none_or(|(b, _)| parsed.cmp_precedence(b).is_gt()) {
            best = Some((parsed, v.to_string()));
        }
    }
    best.map(|(_, v)| v)
}
