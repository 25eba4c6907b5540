//! Loading a chart for rendering: a directory (through `package_dir`, so
//! `.helmignore` applies exactly as when bundling) or a `.tgz`, into a tree
//! of charts with their files, the subcharts under `charts/` (directories
//! or archives) included.
//!
//! Reads only; rendering is `render`'s business.

use super::template::convert::from_yaml;
use super::template::{Map, Value};
use super::{chart_files, ChartError};
use std::cell::Cell;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

/// The most a chart archive may expand to, its subchart archives
/// included: Helm's own limit (`MaxDecompressedChartSize`, 100 MiB), so a
/// gzip bomb is refused after 100 MiB rather than filling memory.
pub const MAX_EXPANDED: u64 = 100 << 20;
/// The most tar entries a chart archive may hold, its subchart archives
/// included (real charts hold tens to hundreds).
pub const MAX_ENTRIES: u64 = 10_000;
/// How deep subchart archives may nest (`charts/a.tgz` holding
/// `charts/b.tgz`...); a gzip quine would otherwise recurse for ever.
pub const MAX_NESTING: usize = 16;

/// What one chart archive, its nested archives included, has used of the
/// limits above.
#[derive(Default)]
pub(crate) struct Expansion {
    bytes: Cell<u64>,
    entries: Cell<u64>,
    nesting: Cell<usize>,
}

impl Expansion {
    /// The archive's gzip stream, counted against `MAX_EXPANDED`.
    pub(crate) fn reader<'a>(&'a self, archive: &'a [u8]) -> impl Read + 'a {
        Metered { inner: flate2::read::GzDecoder::new(archive), expansion: self }
    }

    /// One more tar entry, or the error for one too many.
    pub(crate) fn entry(&self, path: &Path) -> Result<(), ChartError> {
        self.entries.set(self.entries.get() + 1);
        if self.entries.get() > MAX_ENTRIES {
            return Err(ChartError::Invalid {
                path: path.to_path_buf(),
                detail: format!(
                    "the archive holds more than {MAX_ENTRIES} entries (its subchart archives included), \
                     more than airlock reads from a chart; it is not a chart, or unpack it and check what it holds"
                ),
            });
        }
        Ok(())
    }

    /// `error`, unless the archive went past `MAX_EXPANDED`: then the
    /// error saying so.
    pub(crate) fn or_limit(&self, path: &Path, error: ChartError) -> ChartError {
        if self.bytes.get() > MAX_EXPANDED {
            return ChartError::Invalid {
                path: path.to_path_buf(),
                detail: format!(
                    "the archive expands to more than {} MiB (its subchart archives included), the most \
                     Helm and airlock read from a chart; it is not a chart (a gzip bomb?), or unpack it and \
                     check what it holds",
                    MAX_EXPANDED >> 20
                ),
            };
        }
        error
    }
}

/// A reader that counts what it reads against `MAX_EXPANDED` and fails
/// past it.
struct Metered<'a, R> {
    inner: R,
    expansion: &'a Expansion,
}

impl<R: Read> Read for Metered<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let total = self.expansion.bytes.get().saturating_add(n as u64);
        self.expansion.bytes.set(total);
        if total > MAX_EXPANDED {
            return Err(std::io::Error::other(format!("expands to more than {} MiB", MAX_EXPANDED >> 20)));
        }
        Ok(n)
    }
}

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
        return from_files(path, files, &Expansion::default());
    }
    let archive = read_archive_file(path)?;
    from_archive(path, &archive)
}

/// A chart archive's bytes, if the file is no larger than `MAX_EXPANDED`
/// (checked before reading).
pub(crate) fn read_archive_file(path: &Path) -> Result<Vec<u8>, ChartError> {
    let io = |source| ChartError::Io { path: path.to_path_buf(), source };
    let size = std::fs::metadata(path).map_err(io)?.len();
    if size > MAX_EXPANDED {
        return Err(ChartError::Invalid {
            path: path.to_path_buf(),
            detail: format!(
                "the archive is {size} bytes, more than the {} MiB airlock reads from a chart; \
                 it is not a chart, or unpack it and give the directory",
                MAX_EXPANDED >> 20
            ),
        });
    }
    std::fs::read(path).map_err(io)
}

/// Reads a chart archive (`NAME/...` entries, gzip'ed tar), within the
/// limits on what an archive may expand to (`MAX_EXPANDED`, `MAX_ENTRIES`,
/// `MAX_NESTING`).
pub fn from_archive(path: &Path, archive: &[u8]) -> Result<Chart, ChartError> {
    from_archive_within(path, archive, &Expansion::default())
}

fn from_archive_within(path: &Path, archive: &[u8], expansion: &Expansion) -> Result<Chart, ChartError> {
    let invalid = |detail: String| expansion.or_limit(path, ChartError::Invalid { path: path.to_path_buf(), detail });
    if expansion.nesting.get() >= MAX_NESTING {
        return Err(ChartError::Invalid {
            path: path.to_path_buf(),
            detail: format!(
                "subchart archives nest more than {MAX_NESTING} deep (charts/*.tgz inside charts/*.tgz); \
                 it is not a chart, or unpack it and check what it holds"
            ),
        });
    }
    let mut files = BTreeMap::new();
    let mut tar = tar::Archive::new(expansion.reader(archive));
    let entries = tar.entries().map_err(|e| invalid(format!("not a chart archive: {e}")))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| invalid(format!("corrupt chart archive: {e}")))?;
        expansion.entry(path)?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let name = entry.path().map_err(|e| invalid(e.to_string()))?.to_string_lossy().replace('\\', "/");
        let Some((_, rel)) = name.split_once('/') else { continue };
        let mut data = Vec::new();
        entry.read_to_end(&mut data).map_err(|e| invalid(format!("corrupt chart archive: {e}")))?;
        files.insert(rel.to_string(), data);
    }
    drop(tar);
    expansion.nesting.set(expansion.nesting.get() + 1);
    let chart = from_files(path, files, expansion);
    expansion.nesting.set(expansion.nesting.get() - 1);
    chart
}

fn from_files(path: &Path, mut files: BTreeMap<String, Vec<u8>>, expansion: &Expansion) -> Result<Chart, ChartError> {
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
            None if rest.ends_with(".tgz") => subcharts.push(from_archive_within(&path.join(&key), &data, expansion)?),
            None => {}
        }
    }
    for (dir, sub_files) in sub_dirs {
        if sub_files.contains_key("Chart.yaml") {
            subcharts.push(from_files(&path.join("charts").join(dir), sub_files, expansion)?);
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
        let chart = from_files(Path::new("c"), files, &Expansion::default()).unwrap();
        assert_eq!(chart.name, "c");
        assert_eq!(
            to_json(&Value::map(chart.values)),
            r#"{"ports":[80],"replicas":1,"service":{"port":80,"type":"ClusterIP"}}"#
        );
    }

    /// A gzip'ed tar of `(path, size, data)` entries; an entry without
    /// data is `size` zero bytes, streamed (never held in memory).
    fn tgz(entries: &[(&str, u64, Option<&[u8]>)]) -> Vec<u8> {
        let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        let mut tar = tar::Builder::new(gz);
        for &(path, size, data) in entries {
            let mut header = tar::Header::new_gnu();
            header.set_mode(0o644);
            header.set_entry_type(tar::EntryType::Regular);
            match data {
                Some(data) => {
                    header.set_size(data.len() as u64);
                    tar.append_data(&mut header, path, data).unwrap();
                }
                None => {
                    header.set_size(size);
                    tar.append_data(&mut header, path, std::io::repeat(0).take(size)).unwrap();
                }
            }
        }
        tar.into_inner().unwrap().finish().unwrap()
    }

    const CHART_YAML: &[u8] = b"apiVersion: v2\nname: c\nversion: 0.1.0\n";

    /// A gzip bomb (a file of zeros that expands past `MAX_EXPANDED`) is
    /// refused once the limit is passed, naming the chart and the limit,
    /// both when loading the chart and when reading its Chart.yaml.
    #[test]
    fn an_archive_expanding_past_the_limit_is_refused() {
        let bomb = tgz(&[("c/Chart.yaml", 0, Some(CHART_YAML)), ("c/zeros", MAX_EXPANDED + 1, None)]);
        assert!(bomb.len() < 1 << 20, "{} bytes compressed", bomb.len());
        let err = from_archive(Path::new("bomb.tgz"), &bomb).unwrap_err().to_string();
        assert!(err.starts_with("chart bomb.tgz: the archive expands to more than 100 MiB"), "{err}");
        let bomb = tgz(&[("c/zeros", MAX_EXPANDED + 1, None), ("c/Chart.yaml", 0, Some(CHART_YAML))]);
        let err = super::super::read_archive_meta(Path::new("bomb.tgz"), &bomb).unwrap_err().to_string();
        assert!(err.starts_with("chart bomb.tgz: the archive expands to more than 100 MiB"), "{err}");
        // Just under the limit loads.
        let big = tgz(&[("c/Chart.yaml", 0, Some(CHART_YAML)), ("c/zeros", MAX_EXPANDED - (64 << 10), None)]);
        assert_eq!(from_archive(Path::new("big.tgz"), &big).unwrap().name, "c");
    }

    #[test]
    fn an_archive_with_too_many_entries_is_refused() {
        let names: Vec<String> = (0..MAX_ENTRIES).map(|i| format!("c/f{i}")).collect();
        let mut entries: Vec<(&str, u64, Option<&[u8]>)> = vec![("c/Chart.yaml", 0, Some(CHART_YAML))];
        entries.extend(names.iter().map(|n| (n.as_str(), 0, Some(&b""[..]))));
        let err = from_archive(Path::new("many.tgz"), &tgz(&entries)).unwrap_err().to_string();
        assert!(err.starts_with("chart many.tgz: the archive holds more than 10000 entries"), "{err}");
        entries.pop();
        assert_eq!(from_archive(Path::new("many.tgz"), &tgz(&entries)).unwrap().files.len(), MAX_ENTRIES as usize - 1);
    }

    /// Subchart archives inside subchart archives (what a gzip quine
    /// would be) stop at `MAX_NESTING`, naming the innermost path.
    #[test]
    fn subchart_archives_nested_too_deep_are_refused() {
        let nested = |levels: usize| {
            let mut archive = tgz(&[("c/Chart.yaml", 0, Some(CHART_YAML))]);
            for _ in 1..levels {
                archive = tgz(&[("c/Chart.yaml", 0, Some(CHART_YAML)), ("c/charts/c.tgz", 0, Some(&archive))]);
            }
            archive
        };
        let mut chart = from_archive(Path::new("top.tgz"), &nested(MAX_NESTING)).unwrap();
        for _ in 1..MAX_NESTING {
            chart = chart.subcharts.pop().unwrap();
        }
        assert!(chart.subcharts.is_empty());
        let err = from_archive(Path::new("top.tgz"), &nested(MAX_NESTING + 1)).unwrap_err().to_string();
        let innermost = format!("top.tgz{}", "/charts/c.tgz".repeat(MAX_NESTING));
        assert!(err.starts_with(&format!("chart {innermost}: subchart archives nest more than 16 deep")), "{err}");
    }

    /// A `.tgz` file larger than `MAX_EXPANDED` is refused by its size,
    /// before it is read, by `load` and by `load_local`'s reader.
    #[test]
    fn an_archive_file_past_the_limit_is_not_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.tgz");
        std::fs::File::create(&path).unwrap().set_len(MAX_EXPANDED + 1).unwrap();
        let err = load(&path).unwrap_err().to_string();
        let want =
            format!("chart {}: the archive is {} bytes, more than the 100 MiB", path.display(), MAX_EXPANDED + 1);
        assert!(err.starts_with(&want), "{err}");
        assert!(read_archive_file(&path).is_err());
    }
}
