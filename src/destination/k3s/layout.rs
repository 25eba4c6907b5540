//! What a bundle becomes on a K3s node, following K3s's air-gap contract:
//! images as a tarball in `agent/images/` (or, with a private registry,
//! mirrors in `registries.yaml`), charts as `HelmChart` resources (chart
//! inline as `chartContent`) and CRDs/manifests as files in
//! `server/manifests/` (CRDs first by name), plain files at their targets.
//! This module plans files; it writes nothing but the staged images tarball.

use super::apply::{Content, PlannedFile};
use super::registries::{NodeRegistry, REGISTRIES_FILE};
use super::InstallError;
use crate::bundle::format::{ChartRecord, Component};
use crate::bundle::reader::BundleReader;
use crate::chart::template::convert::to_json;
use crate::chart::template::Value;
use crate::destination::kube::ResourceRef;
use crate::destination::site::SiteChoice;
use crate::oci::manifest::Platform;
use crate::oci::source::parse_reference;
use base64::Engine;
use std::path::Path;

pub const IMAGES_DIR: &str = "var/lib/rancher/k3s/agent/images";
pub const MANIFESTS_DIR: &str = "var/lib/rancher/k3s/server/manifests";
/// ConfigMaps (where helm-controller keeps chart content) stop at 1 MiB.
pub const MAX_CHART_CONTENT: usize = 1024 * 1024 - 64 * 1024;
/// helm-controller runs a chart in a Job named `helm-install-NAME` (and
/// `helm-delete-NAME`), and the API server refuses a Job name over 63
/// characters (it becomes a label value); helm-controller then retries
/// forever and the chart is never installed.
pub const MAX_CHART_NAME: usize = 63 - "helm-install-".len();

/// What a bundled chart becomes on a node: its `HelmChart` resource, and
/// the Secret holding the values the bundle marks secret, if any.
pub struct ChartFiles {
    pub helm_chart: String,
    pub values_secret: Option<String>,
}

/// The `HelmChart` resource for a bundled chart, chart inline, with the
/// bundle's values for it, then the environment's and the site's. Values
/// the bundle marks secret (`secretValues`) are kept out of it: they go in
/// a Secret beside it in kube-system, which the HelmChart names in
/// `valuesSecrets` (helm-controller gives Helm its keys as values files
/// after `valuesContent`), so anyone who may read HelmCharts does not read
/// them.
pub fn helm_chart_resource(
    reader: &BundleReader,
    chart: &ChartRecord,
    site: SiteChoice,
) -> Result<ChartFiles, InstallError> {
    if chart.name.len() > MAX_CHART_NAME {
        return Err(InstallError::ChartNameTooLong { chart: chart.name.clone(), max: MAX_CHART_NAME });
    }
    let archive = reader.read_blob(&chart.archive_digest)?;
    let content = base64::engine::general_purpose::STANDARD.encode(&archive);
    if content.len() > MAX_CHART_CONTENT {
        return Err(InstallError::ChartTooLarge { chart: chart.name.clone(), size: content.len() });
    }
    let values_error = |detail: String| InstallError::Values { chart: chart.name.clone(), detail };
    // Read as Helm reads values files (their documents merged, YAML 1.1:
    // `0755` is 493, `on` is true), since what is written below is read by
    // Helm again with the typing settled (`mode: 493`).
    let merged = site.merged(reader, chart).map_err(values_error)?;
    let mut values: serde_json::Value =
        serde_json::from_str(&to_json(&Value::map(merged))).expect("the chart engine writes JSON");
    let secret = take_paths(&mut values, &chart.secret_values);
    let mut spec = serde_json::json!({
        "chartContent": content,
        "targetNamespace": chart.namespace.clone().unwrap_or_else(|| "default".into()),
        "createNamespace": true,
    });
    if values.as_object().is_some_and(|m| !m.is_empty()) {
        spec["valuesContent"] = serde_saphyr::to_string(&values).map_err(|e| values_error(e.to_string()))?.into();
    }
    let values_secret = match secret.as_object().is_some_and(|m| !m.is_empty()) {
        false => None,
        true => {
            let name = values_secret_name(&chart.name);
            spec["valuesSecrets"] = serde_json::json!([{"name": name, "keys": [VALUES_KEY]}]);
            let text = serde_saphyr::to_string(&secret).map_err(|e| values_error(e.to_string()))?;
            let resource = serde_json::json!({
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": name, "namespace": "kube-system"},
                "type": "Opaque",
                "data": {VALUES_KEY: base64::engine::general_purpose::STANDARD.encode(text)},
            });
            Some(serde_saphyr::to_string(&resource).map_err(|e| values_error(e.to_string()))?)
        }
    };
    let resource = serde_json::json!({
        "apiVersion": "helm.cattle.io/v1",
        "kind": "HelmChart",
        "metadata": {"name": chart.name, "namespace": "kube-system"},
        "spec": spec,
    });
    let helm_chart = serde_saphyr::to_string(&resource).map_err(|e| values_error(e.to_string()))?;
    Ok(ChartFiles { helm_chart, values_secret })
}

/// The key of the values Secret that holds the values.
const VALUES_KEY: &str = "values.yaml";

/// The Secret that holds a chart's secret values on a node (helm-controller
/// keeps `chart-values-NAME` for itself).
pub fn values_secret_name(chart: &str) -> String {
    format!("airlock-values-{chart}")
}

/// Moves the values at `paths` (`db.password`) out of `values` into a tree
/// of their own, at the same paths.
fn take_paths(values: &mut serde_json::Value, paths: &[String]) -> serde_json::Value {
    let mut taken = serde_json::json!({});
    for path in paths {
        let keys: Vec<&str> = path.split('.').collect();
        let (last, parents) = keys.split_last().expect("split yields one at least");
        let pointer: String = parents.iter().map(|k| format!("/{}", k.replace('~', "~0").replace('/', "~1"))).collect();
        let parent = values.pointer_mut(&pointer).and_then(serde_json::Value::as_object_mut);
        let Some(value) = parent.and_then(|m| m.remove(*last)) else { continue };
        let mut into = &mut taken;
        for key in parents {
            into =
                into.as_object_mut().expect("built of objects").entry(key.to_string()).or_insert(serde_json::json!({}));
        }
        into[*last] = value;
    }
    taken
}

/// The resources a manifest file declares (what K3s applied from it).
pub fn declared_resources(yaml: &[u8]) -> Vec<ResourceRef> {
    let Ok(text) = std::str::from_utf8(yaml) else { return Vec::new() };
    let docs = crate::yaml11::documents(text).unwrap_or_default();
    let mut out = Vec::new();
    let mut stack: Vec<serde_json::Value> = docs;
    while let Some(doc) = stack.pop() {
        let kind = doc["kind"].as_str().unwrap_or_default();
        if kind == "List" {
            stack.extend(doc["items"].as_array().cloned().unwrap_or_default());
            continue;
        }
        let (Some(api_version), Some(name)) = (doc["apiVersion"].as_str(), doc["metadata"]["name"].as_str()) else {
            continue;
        };
        if kind.is_empty() {
            continue;
        }
        out.push(ResourceRef {
            api_version: api_version.into(),
            kind: kind.into(),
            namespace: doc["metadata"]["namespace"].as_str().map(str::to_string),
            name: name.into(),
        });
    }
    out.sort();
    out
}

/// Why a bundle meant for a K3s node (one that carries the k3s binary) could
/// not install its charts offline, if it could not: helm-controller runs each
/// chart in a job with the `rancher/klipper-helm` image, which must come from
/// the bundle (as an image, or inside K3s's own air-gap images tarball).
pub fn helm_job_image_missing(manifest: &crate::bundle::format::BundleManifest) -> Option<String> {
    let files: Vec<&str> = manifest.components.iter().flat_map(|c| &c.files).map(|f| f.target.as_str()).collect();
    let for_k3s = files.iter().any(|t| t.trim_start_matches('/') == "usr/local/bin/k3s");
    let has_charts = manifest.charts().next().is_some();
    let images_tarball = files.iter().any(|t| t.trim_start_matches('/').starts_with(IMAGES_DIR));
    let klipper = manifest
        .images()
        .any(|i| parse_reference(&i.reference).is_ok_and(|r| r.repository().ends_with("rancher/klipper-helm")));
    (for_k3s && has_charts && !images_tarball && !klipper).then(|| {
        "the bundle carries k3s and charts but not the rancher/klipper-helm image that K3s installs charts with; \
         add it to `images` (the tag your K3s release uses), or add K3s's air-gap images tarball as a file \
         with target /var/lib/rancher/k3s/agent/images/"
            .to_string()
    })
}

fn plain(rel: String, bytes: Vec<u8>) -> PlannedFile {
    PlannedFile { rel, content: Content::Bytes(bytes), mode: 0o644, merged: false }
}

/// Where images go on this node.
pub enum ImagesVia<'a> {
    /// A tarball K3s imports at start.
    Tarball { platform: &'a Platform },
    /// A private registry the images were pushed to.
    Registry(&'a NodeRegistry),
}

/// The files to lay down for `components`. A chart too large or with bad
/// values fails here, before anything is written. In a `dry_run` the images
/// tarball is only hashed, so nothing at all is written.
pub fn plan(
    reader: &BundleReader,
    components: &[&Component],
    images_via: &ImagesVia,
    root: &Path,
    site: SiteChoice,
    dry_run: bool,
    on_bytes: &dyn Fn(u64),
) -> Result<Vec<PlannedFile>, InstallError> {
    let name = &reader.head.manifest.metadata.name;
    let mut chart_files = Vec::new();
    let mut manifests = Vec::new();
    for c in components {
        for chart in &c.charts {
            let rel = format!("{MANIFESTS_DIR}/airlock-{name}-20-chart-{}.yaml", chart.name);
            let files = helm_chart_resource(reader, chart, site)?;
            chart_files.push(plain(rel, files.helm_chart.into_bytes()));
            // Before the HelmChart that names it, readable by root alone.
            if let Some(secret) = files.values_secret {
                let rel = format!("{MANIFESTS_DIR}/airlock-{name}-15-values-{}.yaml", chart.name);
                manifests.push(PlannedFile { mode: 0o600, ..plain(rel, secret.into_bytes()) });
            }
        }
    }
    // Order of writing: files (binaries), images, CRDs, manifests, charts,
    // so that what K3s picks up live finds what it depends on already there.
    let mut files = Vec::new();
    for c in components {
        for f in &c.files {
            files.push(PlannedFile {
                rel: f.target.trim_start_matches('/').to_string(),
                content: Content::Bytes(reader.read_blob(&f.digest)?),
                mode: u32::from_str_radix(&f.mode, 8).unwrap_or(0o644),
                merged: false,
            });
        }
        for (i, doc) in c.crds.iter().enumerate() {
            let rel = format!("{MANIFESTS_DIR}/airlock-{name}-00-crds-{}-{i}.yaml", c.name);
            manifests.push(plain(rel, reader.read_blob(&doc.digest)?));
        }
        for (i, doc) in c.manifests.iter().enumerate() {
            let rel = format!("{MANIFESTS_DIR}/airlock-{name}-10-{}-{i}.yaml", c.name);
            manifests.push(plain(rel, reader.read_blob(&doc.digest)?));
        }
        // What the environment picked adds to the component (its overlays).
        if let Some((environment, record)) = site.environment {
            for (i, doc) in record.components.get(&c.name).into_iter().flatten().enumerate() {
                let rel = format!("{MANIFESTS_DIR}/airlock-{name}-10-{}-{environment}-{i}.yaml", c.name);
                manifests.push(plain(rel, reader.read_blob(&doc.digest)?));
            }
        }
    }
    manifests.sort_by(|a, b| a.rel.cmp(&b.rel));
    // The images tarball is staged last: nothing after it can fail and leave it behind.
    let images: Vec<_> = components.iter().flat_map(|c| c.images.iter()).collect();
    match images_via {
        _ if images.is_empty() => {}
        ImagesVia::Tarball { platform } if dry_run => files.push(PlannedFile {
            rel: format!("{IMAGES_DIR}/airlock-{name}.tar"),
            content: Content::Unwritten { digest: super::images::images_tar_digest(reader, &images, platform)? },
            mode: 0o644,
            merged: false,
        }),
        ImagesVia::Tarball { platform } => {
            let dir = root.join(IMAGES_DIR);
            crate::atomic_file::create_dir_all_durably(&dir)
                .map_err(|source| InstallError::Io { path: dir.clone(), source })?;
            let staged = dir.join(format!(".airlock-partial-{name}.tar"));
            let written = super::images::write_images_tar(reader, &images, platform, &staged, on_bytes)?;
            files.push(PlannedFile {
                rel: format!("{IMAGES_DIR}/airlock-{name}.tar"),
                content: Content::Staged { path: staged, digest: written.digest },
                mode: 0o644,
                merged: false,
            });
        }
        ImagesVia::Registry(registry) => {
            let sources = images
                .iter()
                .filter_map(|i| parse_reference(&i.reference).ok())
                .map(|r| r.registry().to_string())
                .collect();
            let path = root.join(REGISTRIES_FILE);
            let existing = std::fs::read_to_string(&path).ok();
            let text = super::registries::merged(existing.as_deref(), registry, &sources)
                .map_err(|detail| InstallError::Registries { path: path.clone(), detail })?;
            files.push(PlannedFile {
                rel: REGISTRIES_FILE.into(),
                content: Content::Bytes(text.into_bytes()),
                mode: 0o600,
                merged: true,
            });
        }
    }
    let mut planned = files;
    planned.extend(manifests);
    planned.extend(chart_files);
    Ok(planned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::destination::kube::cascades;

    #[test]
    fn resources_of_a_manifest_file() {
        let yaml = b"apiVersion: v1\nkind: Namespace\nmetadata: {name: web}\n---\napiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: x.example.com}\n---\napiVersion: v1\nkind: List\nitems:\n  - {apiVersion: v1, kind: ConfigMap, metadata: {name: c, namespace: web}}\n";
        let refs = declared_resources(yaml);
        assert_eq!(refs.len(), 3, "{refs:?}");
        assert_eq!(refs[0].to_string(), "CustomResourceDefinition x.example.com (apiextensions.k8s.io/v1)");
        assert_eq!(refs[1].to_string(), "ConfigMap web/c (v1)");
        assert_eq!(refs[2].to_string(), "Namespace web (v1)");
        assert_eq!(refs.iter().filter(|r| cascades(r)).count(), 2);
    }

    #[test]
    fn secret_values_are_taken_out_at_their_paths() {
        let mut values = serde_json::json!({"db": {"password": "p", "host": "h"}, "token": "t", "replicas": 2});
        let paths = ["db.password", "token", "absent.path", "replicas.not_a_map"].map(String::from);
        let taken = take_paths(&mut values, &paths);
        assert_eq!(taken, serde_json::json!({"db": {"password": "p"}, "token": "t"}));
        assert_eq!(values, serde_json::json!({"db": {"host": "h"}, "replicas": 2}));
    }
}
