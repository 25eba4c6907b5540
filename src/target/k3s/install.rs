//! Laying a bundle down on a K3s node, following K3s's air-gap contract:
//! images as a tarball in `agent/images/`, charts as `HelmChart` resources
//! (chart inline as `chartContent`) and CRDs/manifests as files in
//! `server/manifests/` (CRDs first by name), plain files at their targets.
//! Every path is under `root`. Each file is written to a temp name and
//! renamed; a file whose content is already right is left alone, so a second
//! install of the same bundle changes nothing. Each install is recorded as a
//! revision under `var/lib/airlock/NAME/`.
//!
//! Upgrade (removing what a new version drops) and rollback are not here yet.

use crate::bundle::format::{ChartRecord, Component};
use crate::bundle::reader::BundleReader;
use crate::oci::digest::Digest;
use crate::oci::manifest::Platform;
use base64::Engine;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

pub const IMAGES_DIR: &str = "var/lib/rancher/k3s/agent/images";
pub const MANIFESTS_DIR: &str = "var/lib/rancher/k3s/server/manifests";
pub const STATE_DIR: &str = "var/lib/airlock";
/// ConfigMaps (where helm-controller keeps chart content) stop at 1 MiB.
pub const MAX_CHART_CONTENT: usize = 1024 * 1024 - 64 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    #[error("cannot write {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("chart {chart} is {size} bytes base64-encoded; K3s keeps chart content in a ConfigMap (1 MiB at most); push it to a registry and install from there instead")]
    ChartTooLarge { chart: String, size: usize },
    #[error("values of chart {chart}: {detail}")]
    Values { chart: String, detail: String },
    #[error("not enough disk space under {root}: {needed} bytes needed, {available} available; free some space or install elsewhere with --root")]
    NoSpace { root: PathBuf, needed: u64, available: u64 },
    #[error(transparent)]
    Images(#[from] super::images::ImagesTarError),
    #[error(transparent)]
    Bundle(#[from] crate::bundle::BundleError),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> InstallError + '_ {
    move |source| InstallError::Io { path: path.to_path_buf(), source }
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct InstalledFile {
    /// Path under the root, without a leading `/`.
    pub path: String,
    pub sha256: Digest,
    pub mode: String,
}

#[derive(Serialize, Deserialize, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub struct Revision {
    pub revision: u32,
    pub name: String,
    pub version: String,
    pub manifest_digest: Digest,
    pub files: Vec<InstalledFile>,
}

pub struct InstallReport {
    pub revision: Revision,
    /// Files whose content changed (or were new).
    pub changed: Vec<String>,
}

/// Writes `bytes` at `root/rel` unless it already holds them.
fn put(
    root: &Path,
    rel: &str,
    bytes: &[u8],
    mode: u32,
    changed: &mut Vec<String>,
) -> Result<InstalledFile, InstallError> {
    let path = root.join(rel);
    let digest = Digest::of(bytes);
    let same = std::fs::read(&path).map(|old| Digest::of(&old) == digest).unwrap_or(false);
    let mode_ok = std::fs::metadata(&path).map(|m| m.permissions().mode() & 0o7777 == mode).unwrap_or(false);
    if !(same && mode_ok) {
        let dir = path.parent().expect("under root");
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let mut tmp = tempfile::Builder::new().prefix(".airlock-partial-").tempfile_in(dir).map_err(io(dir))?;
        tmp.write_all(bytes).map_err(io(&path))?;
        tmp.as_file().set_permissions(std::fs::Permissions::from_mode(mode)).map_err(io(&path))?;
        tmp.as_file().sync_all().map_err(io(&path))?;
        tmp.persist(&path).map_err(|e| InstallError::Io { path: path.clone(), source: e.error })?;
        changed.push(rel.to_string());
    }
    Ok(InstalledFile { path: rel.to_string(), sha256: digest, mode: format!("{mode:04o}") })
}

fn file_digest(path: &Path) -> Option<Digest> {
    let file = std::fs::File::open(path).ok()?;
    let mut hashing = crate::oci::digest::HashingReader::new(std::io::BufReader::with_capacity(1 << 20, file));
    std::io::copy(&mut hashing, &mut std::io::sink()).ok()?;
    Some(hashing.finish().0)
}

/// Moves a staged file (same directory, content `digest`) to `root/rel`
/// unless the content there is already the same; streams, so large image
/// tarballs stay on disk.
fn put_staged(
    root: &Path,
    rel: &str,
    staged: &Path,
    digest: Digest,
    changed: &mut Vec<String>,
) -> Result<InstalledFile, InstallError> {
    let path = root.join(rel);
    if file_digest(&path).as_ref() == Some(&digest) {
        std::fs::remove_file(staged).map_err(io(staged))?;
    } else {
        std::fs::set_permissions(staged, std::fs::Permissions::from_mode(0o644)).map_err(io(staged))?;
        std::fs::rename(staged, &path).map_err(io(&path))?;
        changed.push(rel.to_string());
    }
    Ok(InstalledFile { path: rel.to_string(), sha256: digest, mode: "0644".into() })
}

/// Deep-merges `overlay` into `base` (maps merge, everything else replaces),
/// as Helm merges values files and `--set`.
fn merge(base: &mut serde_json::Value, overlay: serde_json::Value) {
    match (base, overlay) {
        (serde_json::Value::Object(b), serde_json::Value::Object(o)) => {
            for (k, v) in o {
                match b.get_mut(&k) {
                    Some(existing) if existing.is_object() && v.is_object() => merge(existing, v),
                    _ => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (b, o) => *b = o,
    }
}

/// The `HelmChart` resource for a bundled chart, chart inline.
pub fn helm_chart_resource(reader: &BundleReader, chart: &ChartRecord) -> Result<String, InstallError> {
    let archive = reader.read_blob(&chart.archive_digest)?;
    let content = base64::engine::general_purpose::STANDARD.encode(&archive);
    if content.len() > MAX_CHART_CONTENT {
        return Err(InstallError::ChartTooLarge { chart: chart.name.clone(), size: content.len() });
    }
    let values_error = |detail: String| InstallError::Values { chart: chart.name.clone(), detail };
    let mut values = serde_json::json!({});
    for file in &chart.values_files {
        let text = String::from_utf8(reader.read_blob(&file.digest)?)
            .map_err(|_| values_error(format!("{} is not UTF-8", file.name)))?;
        let parsed: serde_json::Value = serde_saphyr::from_str(&text)
            .map_err(|e| values_error(format!("{}: {}", file.name, e.without_snippet())))?;
        if !parsed.is_null() {
            merge(&mut values, parsed);
        }
    }
    if let Some(inline) = &chart.values {
        merge(&mut values, inline.clone());
    }
    let mut spec = serde_json::json!({
        "chartContent": content,
        "targetNamespace": chart.namespace.clone().unwrap_or_else(|| "default".into()),
        "createNamespace": true,
    });
    if values.as_object().is_some_and(|m| !m.is_empty()) {
        spec["valuesContent"] = serde_saphyr::to_string(&values).map_err(|e| values_error(e.to_string()))?.into();
    }
    let resource = serde_json::json!({
        "apiVersion": "helm.cattle.io/v1",
        "kind": "HelmChart",
        "metadata": {"name": chart.name, "namespace": "kube-system"},
        "spec": spec,
    });
    serde_saphyr::to_string(&resource).map_err(|e| values_error(e.to_string()))
}

fn available_space(root: &Path) -> Option<u64> {
    let mut probe = root.to_path_buf();
    while !probe.exists() {
        probe = probe.parent()?.to_path_buf();
    }
    let stat = rustix::fs::statvfs(&probe).ok()?;
    Some(stat.f_bavail.saturating_mul(stat.f_frsize))
}

/// Installs the chosen components of a verified bundle under `root`.
pub fn install(
    reader: &BundleReader,
    components: &[&Component],
    platform: &Platform,
    root: &Path,
) -> Result<InstallReport, InstallError> {
    let manifest = &reader.head.manifest;
    let name = &manifest.metadata.name;
    // Preflight, before anything is written: room for every blob we lay down
    // (images, charts base64, files) with a margin.
    let needed: u64 = components
        .iter()
        .map(|c| {
            c.images.iter().map(|i| i.size).sum::<u64>()
                + c.charts.iter().map(|ch| ch.size * 2).sum::<u64>()
                + c.files.iter().map(|f| f.size).sum::<u64>()
                + c.crds.iter().chain(&c.manifests).map(|d| d.size).sum::<u64>()
        })
        .sum();
    if let Some(available) = available_space(root) {
        if available < needed + (16 << 20) {
            return Err(InstallError::NoSpace { root: root.into(), needed, available });
        }
    }
    // Every image must exist for this node's platform.
    for c in components {
        super::images::check_platform(reader, &c.images.iter().collect::<Vec<_>>(), platform)?;
    }
    // Build every chart resource first: a chart too large fails before any write.
    let mut chart_resources = Vec::new();
    for c in components {
        for chart in &c.charts {
            chart_resources.push((chart.name.clone(), helm_chart_resource(reader, chart)?));
        }
    }

    let mut changed = Vec::new();
    let mut files = Vec::new();
    let images: Vec<_> = components.iter().flat_map(|c| c.images.iter()).collect();
    if !images.is_empty() {
        let rel = format!("{IMAGES_DIR}/airlock-{name}.tar");
        let dir = root.join(IMAGES_DIR);
        std::fs::create_dir_all(&dir).map_err(io(&dir))?;
        let staged = dir.join(format!(".airlock-partial-{name}.tar"));
        let written = super::images::write_images_tar(reader, &images, platform, &staged)?;
        files.push(put_staged(root, &rel, &staged, written.digest, &mut changed)?);
    }
    for c in components {
        for (i, doc) in c.crds.iter().enumerate() {
            let rel = format!("{MANIFESTS_DIR}/airlock-{name}-00-crds-{}-{i}.yaml", c.name);
            files.push(put(root, &rel, &reader.read_blob(&doc.digest)?, 0o644, &mut changed)?);
        }
        for (i, doc) in c.manifests.iter().enumerate() {
            let rel = format!("{MANIFESTS_DIR}/airlock-{name}-10-{}-{i}.yaml", c.name);
            files.push(put(root, &rel, &reader.read_blob(&doc.digest)?, 0o644, &mut changed)?);
        }
        for f in &c.files {
            let mode = u32::from_str_radix(&f.mode, 8).unwrap_or(0o644);
            let rel = f.target.trim_start_matches('/').to_string();
            files.push(put(root, &rel, &reader.read_blob(&f.digest)?, mode, &mut changed)?);
        }
    }
    for (release, resource) in &chart_resources {
        let rel = format!("{MANIFESTS_DIR}/airlock-{name}-20-chart-{release}.yaml");
        files.push(put(root, &rel, resource.as_bytes(), 0o644, &mut changed)?);
    }

    let manifest_digest = Digest::of(&reader.head.manifest_bytes);
    let previous = history(root, name)?.pop();
    let unchanged = previous.as_ref().is_some_and(|p| p.manifest_digest == manifest_digest && p.files == files);
    let revision = match previous {
        Some(p) if unchanged => p,
        p => {
            let revision = Revision {
                revision: p.map_or(1, |p| p.revision + 1),
                name: name.clone(),
                version: manifest.metadata.version.clone(),
                manifest_digest,
                files,
            };
            let json = serde_json::to_vec_pretty(&revision).expect("json");
            let rel = format!("{STATE_DIR}/{name}/revision-{:06}.json", revision.revision);
            put(root, &rel, &json, 0o644, &mut Vec::new())?;
            revision
        }
    };
    Ok(InstallReport { revision, changed })
}

/// Every recorded revision of a bundle installed under `root`, oldest first.
pub fn history(root: &Path, name: &str) -> Result<Vec<Revision>, InstallError> {
    let dir = root.join(STATE_DIR).join(name);
    let mut revisions = Vec::new();
    let Ok(entries) = std::fs::read_dir(&dir) else { return Ok(revisions) };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for p in paths.iter().filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("revision-"))) {
        let bytes = std::fs::read(p).map_err(io(p))?;
        let revision: Revision = serde_json::from_slice(&bytes)
            .map_err(|e| InstallError::Io { path: p.clone(), source: std::io::Error::other(e) })?;
        revisions.push(revision);
    }
    Ok(revisions)
}

#[cfg(test)]
mod tests {
    use super::merge;

    #[test]
    fn values_merge_like_helm() {
        let mut base = serde_json::json!({"a": {"b": 1, "c": 2}, "list": [1, 2], "s": "x"});
        merge(&mut base, serde_json::json!({"a": {"c": 3, "d": 4}, "list": [9], "s": null}));
        assert_eq!(base, serde_json::json!({"a": {"b": 1, "c": 3, "d": 4}, "list": [9], "s": null}));
    }
}
