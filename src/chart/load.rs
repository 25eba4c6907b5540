//! Loading a chart for rendering: a directory (through `package_dir`, so
//! `.helmignore` applies exactly as when bundling) or a `.tgz`, into a tree
//! of charts with their files, the subcharts under `charts/` (directories
//! or archives) included.
//!
//! Reads only; rendering is `render`'s business.

use super::template::convert::from_yaml;
use super::template::{Map, Value};
use super::{chart_files, ChartError};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

/// A chart and everything in it, by path inside the chart.
#[derive(Debug, Clone)]
pub struct Chart {
    /// Chart.yaml as data (keys as written: `name`, `appVersion`...).
    pub metadata: Map,
    pub values: Map,
    pub files: BTreeMap<String, Vec<u8>>,
    pub subcharts: Vec<Chart>,
    /// The name a parent knows this chart by (its alias, if any).
    pub name: String,
}

impl Chart {
    pub fn meta_str(&self, key: &str) -> String {
        match self.metadata.get(key) {
            Some(Value::Str(s)) => s.to_string(),
            Some(Value::Nil) | None => String::new(),
            Some(other) => other.go_string_inner(),
        }
    }

    pub fn is_library(&self) -> bool {
        self.meta_str("type") == "library"
    }

    /// Templates (under `templates/`), sorted by path.
    pub fn templates(&self) -> impl Iterator<Item = (&String, &Vec<u8>)> {
        self.files.iter().filter(|(p, _)| p.starts_with("templates/"))
    }
}

/// Loads a chart directory (the files `.helmignore` keeps, as packaging
/// would) or archive.
pub fn load(path: &Path) -> Result<Chart, ChartError> {
    let io = |p: &Path| {
        let p = p.to_path_buf();
        move |source| ChartError::Io { path: p, source }
    };
    if path.is_dir() {
        let mut files = BTreeMap::new();
        for rel in chart_files(path)? {
            let full = path.join(&rel);
            let data = std::fs::read(&full).map_err(io(&full))?;
            files.insert(rel.to_string_lossy().replace('\\', "/"), data);
        }
        return from_files(path, files);
    }
    let archive = std::fs::read(path).map_err(io(path))?;
    from_archive(path, &archive)
}

/// Reads a chart archive (`NAME/...` entries, gzip'ed tar).
pub fn from_archive(path: &Path, archive: &[u8]) -> Result<Chart, ChartError> {
    let invalid = |detail: String| ChartError::Invalid { path: path.to_path_buf(), detail };
    let mut files = BTreeMap::new();
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(archive));
    let entries = tar.entries().map_err(|e| invalid(format!("not a chart archive: {e}")))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| invalid(format!("corrupt chart archive: {e}")))?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let name = entry.path().map_err(|e| invalid(e.to_string()))?.to_string_lossy().replace('\\', "/");
        let Some((_, rel)) = name.split_once('/') else { continue };
        let mut data = Vec::new();
        entry.read_to_end(&mut data).map_err(|e| invalid(format!("corrupt chart archive: {e}")))?;
        files.insert(rel.to_string(), data);
    }
    from_files(path, files)
}

fn from_files(path: &Path, mut files: BTreeMap<String, Vec<u8>>) -> Result<Chart, ChartError> {
    let invalid = |detail: String| ChartError::Invalid { path: path.to_path_buf(), detail };
    let yaml = |name: &str, data: &[u8]| -> Result<Map, ChartError> {
        let text = String::from_utf8_lossy(data);
        match from_yaml(&text).map_err(|e| invalid(format!("{name}: {e}")))? {
            Value::Map(m) => Ok(m.borrow().clone()),
            Value::Nil => Ok(Map::new()),
            _ => Err(invalid(format!("{name} is not a map"))),
        }
    };
    let chart_yaml = files.remove("Chart.yaml").ok_or_else(|| invalid("Chart.yaml is missing".into()))?;
    let mut metadata = yaml("Chart.yaml", &chart_yaml)?;
    // apiVersion v1 charts declare dependencies in requirements.yaml.
    if !metadata.contains_key("dependencies") {
        if let Some(requirements) = files.get("requirements.yaml") {
            if let Some(deps) = yaml("requirements.yaml", requirements)?.remove("dependencies") {
                metadata.insert("dependencies".into(), deps);
            }
        }
    }
    let values = match files.get("values.yaml") {
        Some(data) => super::values::read_values(&String::from_utf8_lossy(data))
            .map_err(|e| invalid(format!("values.yaml: {e}")))?,
        None => Map::new(),
    };

    // Subcharts: charts/NAME/... directories and charts/*.tgz archives.
    let mut sub_dirs: BTreeMap<String, BTreeMap<String, Vec<u8>>> = BTreeMap::new();
    let mut subcharts = Vec::new();
    let nested: Vec<String> = files.keys().filter(|k| k.starts_with("charts/")).cloned().collect();
    for key in nested {
        let data = files.remove(&key).expect("listed above");
        let rest = &key["charts/".len()..];
        match rest.split_once('/') {
            Some((dir, inner)) => {
                sub_dirs.entry(dir.to_string()).or_default().insert(inner.to_string(), data);
            }
            None if rest.ends_with(".tgz") => subcharts.push(from_archive(&path.join(&key), &data)?),
            None => {}
        }
    }
    for (dir, sub_files) in sub_dirs {
        if sub_files.contains_key("Chart.yaml") {
            subcharts.push(from_files(&path.join("charts").join(dir), sub_files)?);
        }
    }
    let name = match metadata.get("name") {
        Some(Value::Str(s)) if !s.is_empty() => s.to_string(),
        _ => return Err(invalid("Chart.yaml needs a `name`".into())),
    };
    Ok(Chart { metadata, values, files, subcharts, name })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chart::template::convert::to_json;

    /// A chart whose values.yaml (and Chart.yaml) hold long blocks of
    /// commented-out YAML loads, as Helm loads it.
    #[test]
    fn values_yaml_with_long_comment_blocks_loads() {
        let comments =
            |indent: &str, n: usize| -> String { (0..n).map(|i| format!("{indent}# option{i}: value\n")).collect() };
        // Comments between keys, and after a key before its value, where
        // the parser looks ahead past all of them.
        let values = format!(
            "replicas: 1\n{}service:\n{}  port: 80\n{}  type: ClusterIP\nports:\n{}- 80\n{}",
            comments("", 300),
            comments("  ", 300),
            comments("  ", 300),
            comments("", 300),
            comments("", 300)
        );
        let chart_yaml = format!("apiVersion: v2\n{}name: c\nversion: 0.1.0\n", comments("", 200));
        let files = BTreeMap::from([
            ("Chart.yaml".to_string(), chart_yaml.into_bytes()),
            ("values.yaml".to_string(), values.into_bytes()),
        ]);
        let chart = from_files(Path::new("c"), files).unwrap();
        assert_eq!(chart.name, "c");
        assert_eq!(
            to_json(&Value::map(chart.values)),
            r#"{"ports":[80],"replicas":1,"service":{"port":80,"type":"ClusterIP"}}"#
        );
    }
}
