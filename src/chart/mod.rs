//! Helm charts: loading a chart (directory or `.tgz`), reading its
//! `Chart.yaml`, packaging a directory into a deterministic archive, and
//! wrapping an archive as a Helm OCI artifact (config + content layer), the
//! form charts take inside a bundle and in registries.
//!
//! Submodules: `template` (the Go template engine and its functions),
//! `load`, `values`, `render`, `schema`, `manifests` (Helm's rules for
//! rendering a chart), `images` (what a rendered chart runs), `deps`
//! (dependencies to vendor at create time), `repo` (Helm repositories) and `repo_auth` (their credentials).

pub mod deps;
pub mod given;
pub mod images;
pub mod load;
pub mod manifests;
pub mod render;
pub mod repo;
pub mod repo_auth;
pub mod schema;
pub mod template;
pub mod values;

use crate::cache::Cache;
use crate::oci::digest::Digest;
use crate::oci::media;
use crate::yaml11::saphyr;
use flate2::{Compression, GzBuilder};
use serde::Deserialize;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    #[error("cannot read chart {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("chart {path}: {detail}")]
    Invalid { path: PathBuf, detail: String },
    #[error("cannot store chart {path} in the cache")]
    Cache {
        path: PathBuf,
        #[source]
        source: crate::cache::CacheError,
    },
}

/// The `Chart.yaml` fields airlock relies on; the whole file is kept as JSON
/// for the Helm OCI config.
#[derive(Deserialize, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub struct ChartMeta {
    pub name: String,
    pub version: String,
    #[serde(default)]
    pub app_version: Option<String>,
}

/// A chart turned into a Helm OCI artifact whose blobs are in the cache.
#[derive(Debug, Clone)]
pub struct ChartArtifact {
    pub meta: ChartMeta,
    pub manifest: Digest,
    pub manifest_size: u64,
    pub config: Digest,
    pub config_size: u64,
    pub archive: Digest,
    pub archive_size: u64,
}

fn parse_chart_yaml(path: &Path, text: &str) -> Result<(ChartMeta, serde_json::Value), ChartError> {
    let invalid = |detail: String| ChartError::Invalid { path: path.to_path_buf(), detail };
    let meta: ChartMeta =
        saphyr::from_str(text).map_err(|e| invalid(format!("bad Chart.yaml: {}", e.without_snippet())))?;
    let json: serde_json::Value =
        saphyr::from_str(text).map_err(|e| invalid(format!("bad Chart.yaml: {}", e.without_snippet())))?;
    if meta.name.is_empty() || meta.version.is_empty() {
        return Err(invalid("Chart.yaml needs `name` and `version`".into()));
    }
    Ok((meta, json))
}

/// The files of a chart directory that `.helmignore` keeps, relative to
/// it and sorted: what a packaged chart holds.
pub fn chart_files(dir: &Path) -> Result<Vec<PathBuf>, ChartError> {
    let mut ignore = ignore::gitignore::GitignoreBuilder::new(dir);
    let helmignore = dir.join(".helmignore");
    if helmignore.is_file() {
        if let Some(e) = ignore.add(&helmignore) {
            return Err(ChartError::Invalid { path: helmignore, detail: e.to_string() });
        }
    }
    let ignore = ignore.build().map_err(|e| ChartError::Invalid { path: helmignore.clone(), detail: e.to_string() })?;
    let mut files = Vec::new();
    collect_files(dir, dir, &ignore, &mut files)?;
    files.sort();
    Ok(files)
}

/// Packages a chart directory like `helm package`, but byte-reproducibly:
/// sorted entries, zero mtimes and ids, no gzip timestamp or file name.
pub fn package_dir(dir: &Path) -> Result<(ChartMeta, serde_json::Value, Vec<u8>), ChartError> {
    package_dir_with(dir, &[])
}

/// `package_dir`, with `extra` files (path inside the chart, content) added,
/// as vendored dependencies are (`charts/NAME-VERSION.tgz`).
pub fn package_dir_with(
    dir: &Path,
    extra: &[(String, Vec<u8>)],
) -> Result<(ChartMeta, serde_json::Value, Vec<u8>), ChartError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ChartError::Io { path, source }
    };
    let chart_yaml = dir.join("Chart.yaml");
    let text = std::fs::read_to_string(&chart_yaml).map_err(io(&chart_yaml))?;
    let (meta, json) = parse_chart_yaml(&chart_yaml, &text)?;

    let mut entries: Vec<(String, Option<&[u8]>)> =
        chart_files(dir)?.into_iter().map(|rel| (rel.to_string_lossy().replace('\\', "/"), None)).collect();
    entries.extend(extra.iter().map(|(rel, data)| (rel.clone(), Some(data.as_slice()))));
    entries.sort_by(|a, b| a.0.cmp(&b.0));

    let gz = GzBuilder::new().mtime(0).write(Vec::new(), Compression::default());
    let mut tar = tar::Builder::new(gz);
    for (rel, extra_data) in &entries {
        let full = dir.join(rel);
        let data = match extra_data {
            Some(d) => d.to_vec(),
            None => std::fs::read(&full).map_err(io(&full))?,
        };
        let mut header = tar::Header::new_ustar();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(0);
        header.set_uid(0);
        header.set_gid(0);
        header.set_entry_type(tar::EntryType::Regular);
        let name = format!("{}/{rel}", meta.name);
        tar.append_data(&mut header, &name, data.as_slice()).map_err(io(&full))?;
    }
    let gz = tar.into_inner().map_err(io(dir))?;
    let archive = gz.finish().map_err(io(dir))?;
    Ok((meta, json, archive))
}

fn collect_files(
    root: &Path,
    dir: &Path,
    ignore: &ignore::gitignore::Gitignore,
    out: &mut Vec<PathBuf>,
) -> Result<(), ChartError> {
    let entries = std::fs::read_dir(dir).map_err(|source| ChartError::Io { path: dir.into(), source })?;
    for entry in entries {
        let entry = entry.map_err(|source| ChartError::Io { path: dir.into(), source })?;
        let path = entry.path();
        let kind = entry.file_type().map_err(|source| ChartError::Io { path: path.clone(), source })?;
        let is_dir = kind.is_dir();
        if ignore.matched_path_or_any_parents(&path, is_dir).is_ignore() {
            continue;
        }
        if is_dir {
            collect_files(root, &path, ignore, out)?;
        } else if kind.is_file() {
            out.push(path.strip_prefix(root).expect("inside root").to_path_buf());
        } else {
            return Err(ChartError::Invalid {
                path,
                detail: "charts may hold only regular files and directories".into(),
            });
        }
    }
    Ok(())
}

/// Reads `Chart.yaml` out of a packaged chart, within the limits on what
/// a chart archive may expand to (`load::MAX_EXPANDED`, `load::MAX_ENTRIES`).
pub fn read_archive_meta(path: &Path, archive: &[u8]) -> Result<(ChartMeta, serde_json::Value), ChartError> {
    let expansion = load::Expansion::default();
    let io = |source| expansion.or_limit(path, ChartError::Io { path: path.into(), source });
    let mut tar = tar::Archive::new(expansion.reader(archive));
    let entries = tar.entries().map_err(io)?;
    for entry in entries {
        let mut entry = entry.map_err(io)?;
        expansion.entry(path)?;
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let mut parts = name.split('/');
        if let (Some(_), Some("Chart.yaml"), None) = (parts.next(), parts.next(), parts.next()) {
            let mut text = String::new();
            entry.read_to_string(&mut text).map_err(io)?;
            return parse_chart_yaml(path, &text);
        }
    }
    Err(ChartError::Invalid { path: path.into(), detail: "the archive has no CHART/Chart.yaml".into() })
}

/// Loads a chart from a directory or a `.tgz` and stores it in the cache as
/// a Helm OCI artifact.
pub fn load_local(path: &Path, extra: &[(String, Vec<u8>)], cache: &Cache) -> Result<ChartArtifact, ChartError> {
    let (meta, json, archive) = if path.is_dir() {
        package_dir_with(path, extra)?
    } else {
        let archive = load::read_archive_file(path)?;
        let (meta, json) = read_archive_meta(path, &archive)?;
        (meta, json, archive)
    };
    store_artifact(path, meta, &json, &archive, cache)
}

/// Wraps a chart archive as a Helm OCI artifact, as `helm push` lays it out.
pub fn store_artifact(
    path: &Path,
    meta: ChartMeta,
    chart_json: &serde_json::Value,
    archive: &[u8],
    cache: &Cache,
) -> Result<ChartArtifact, ChartError> {
    let cache_err = |source| ChartError::Cache { path: path.into(), source };
    let config_bytes = serde_json::to_vec(chart_json).expect("json serializes");
    let config = cache.insert_bytes(&config_bytes).map_err(cache_err)?;
    let archive_digest = cache.insert_bytes(archive).map_err(cache_err)?;
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": media::OCI_MANIFEST,
        "config": {"mediaType": media::HELM_CONFIG, "digest": config, "size": config_bytes.len()},
        "layers": [{"mediaType": media::HELM_CHART, "digest": archive_digest, "size": archive.len()}],
        "annotations": {
            "org.opencontainers.image.title": meta.name,
            "org.opencontainers.image.version": meta.version,
        }
    });
    let mut manifest_bytes = Vec::new();
    manifest_bytes.write_all(&serde_json::to_vec(&manifest).expect("json serializes")).expect("vec write");
    let manifest_digest = cache.insert_bytes(&manifest_bytes).map_err(cache_err)?;
    Ok(ChartArtifact {
        meta,
        manifest: manifest_digest,
        manifest_size: manifest_bytes.len() as u64,
        config,
        config_size: config_bytes.len() as u64,
        archive: archive_digest,
        archive_size: archive.len() as u64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packaging_is_deterministic_and_honours_helmignore() {
        let dir = tempfile::tempdir().unwrap();
        let chart = dir.path().join("mychart");
        std::fs::create_dir_all(chart.join("templates")).unwrap();
        std::fs::write(chart.join("Chart.yaml"), "apiVersion: v2\nname: mychart\nversion: 0.1.0\n").unwrap();
        std::fs::write(chart.join("values.yaml"), "a: 1\n").unwrap();
        std::fs::write(chart.join("templates/cm.yaml"), "kind: ConfigMap\n").unwrap();
        std::fs::write(chart.join("secret.key"), "x").unwrap();
        std::fs::write(chart.join(".helmignore"), "*.key\n").unwrap();
        let (meta, _, a) = package_dir(&chart).unwrap();
        let (_, _, b) = package_dir(&chart).unwrap();
        assert_eq!(meta.name, "mychart");
        assert_eq!(a, b);
        let mut names = Vec::new();
        let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(a.as_slice()));
        for e in tar.entries().unwrap() {
            names.push(e.unwrap().path().unwrap().to_string_lossy().into_owned());
        }
        assert!(names.contains(&"mychart/templates/cm.yaml".to_string()), "{names:?}");
        assert!(!names.iter().any(|n| n.ends_with(".key")), "{names:?}");
        let (meta2, _) = read_archive_meta(Path::new("x.tgz"), &a).unwrap();
        assert_eq!(meta2.version, "0.1.0");
    }

    /// A Chart.yaml with long commented-out blocks (old dependencies and
    /// maintainers, between a key and its value too) packages, as Helm
    /// packages it; a mistake after them is reported on its own line.
    #[test]
    fn chart_yaml_with_long_commented_out_blocks_packages() {
        let commented = |n: usize| -> String {
            (0..n)
                .map(|i| {
                    format!("# - name: old{i}\n#   version: 1.x.x\n#   repository: https://charts.example/old{i}\n")
                })
                .collect()
        };
        let chart_yaml = format!(
            "apiVersion: v2\nname: web\ndescription: A web app\ntype: application\n{}version: 1.2.0\nappVersion: \"2.0\"\ndependencies:\n{}  - name: common\n    version: 2.x.x\n    repository: oci://registry.example/charts\n{}maintainers:\n{}  - name: me\n{}",
            commented(20),
            commented(60),
            commented(60),
            commented(60),
            commented(60),
        );
        let dir = tempfile::tempdir().unwrap();
        let chart = dir.path().join("web");
        std::fs::create_dir_all(chart.join("templates")).unwrap();
        std::fs::write(chart.join("Chart.yaml"), &chart_yaml).unwrap();
        std::fs::write(chart.join("templates/cm.yaml"), "kind: ConfigMap\n").unwrap();
        let (meta, json, archive) = package_dir(&chart).unwrap();
        assert_eq!(
            (meta.name.as_str(), meta.version.as_str(), meta.app_version.as_deref()),
            ("web", "1.2.0", Some("2.0"))
        );
        assert_eq!(json["dependencies"][0]["name"], "common");
        assert_eq!(json["maintainers"], serde_json::json!([{"name": "me"}]));
        let (meta, again) = read_archive_meta(Path::new("web.tgz"), &archive).unwrap();
        assert_eq!((meta.name, again), ("web".to_string(), json));

        let broken = chart_yaml.replace("version: 1.2.0", "version: [1, 2]");
        let line = broken.lines().position(|l| l.contains("[1, 2]")).unwrap() + 1;
        let err = parse_chart_yaml(Path::new("Chart.yaml"), &broken).unwrap_err().to_string();
        assert!(err.contains("bad Chart.yaml") && err.contains(&format!("at line {line}, ")), "{err}");
    }
}
