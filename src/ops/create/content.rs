//! Gathering everything that is not an image for `create`: charts (as Helm
//! OCI artifacts), values files, CRDs, manifests, kustomize output and plain
//! files. Each lands in the cache as a blob and is described by a record.

use crate::bundle::format::{ChartRecord, ChartValuesRecord, DocumentRecord, EnvironmentRecord, FileRecord};
use crate::bundle_spec::{Chart, ChartOrigin, Component, FileItem, Located, Spec};
use crate::cache::Cache;
use crate::chart;
use crate::oci::digest::Digest;
use crate::oci::media;
use crate::oci::registry::Registry;
use crate::oci::resolve::BlobDescriptor;
use anyhow::{bail, Context, Result};
use std::path::Path;

/// Blobs gathered so far, with their media types, for the bundle's blob list.
#[derive(Default)]
pub struct BlobList(pub Vec<BlobDescriptor>);

impl BlobList {
    fn add(&mut self, digest: &Digest, size: u64, media_type: &str) {
        self.0.push(BlobDescriptor { digest: digest.clone(), size, media_type: media_type.to_string() });
    }
}

fn located_context<T>(spec: &Spec, at: &Located<T>, what: &str) -> String {
    format!("{}:{}:{}: cannot bundle {what} `{}`", spec.path.display(), at.line, at.column, at.text)
}

fn store_document(
    cache: &Cache,
    blobs: &mut BlobList,
    path: &Path,
    spec: &Spec,
    source: String,
) -> Result<DocumentRecord> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let digest = cache.insert_bytes(&bytes)?;
    blobs.add(&digest, bytes.len() as u64, media::AIRLOCK_YAML);
    let name = path.strip_prefix(&spec.dir).unwrap_or(path).to_string_lossy().into_owned();
    Ok(DocumentRecord { name, source, digest, size: bytes.len() as u64 })
}

pub async fn gather_charts(
    spec: &Spec,
    component: &Component,
    registry: &Registry,
    repo_options: &crate::oci::registry::RegistryOptions,
    cache: &Cache,
    blobs: &mut BlobList,
) -> Result<Vec<ChartRecord>> {
    let mut records = Vec::new();
    for at in &component.charts {
        let record = gather_chart(spec, &at.value, registry, repo_options, cache, blobs)
            .await
            .with_context(|| located_context(spec, at, "chart"))?;
        records.push(record);
    }
    Ok(records)
}

async fn gather_chart(
    spec: &Spec,
    chart_spec: &Chart,
    registry: &Registry,
    repo_options: &crate::oci::registry::RegistryOptions,
    cache: &Cache,
    blobs: &mut BlobList,
) -> Result<ChartRecord> {
    let (artifact, source) = match &chart_spec.origin {
        ChartOrigin::Path(path) => {
            let vendored = if path.is_dir() {
                super::vendor::missing_dependencies(path, registry, repo_options, cache).await?
            } else {
                Vec::new()
            };
            let artifact = chart::load_local(path, &vendored, cache)?;
            let rel = path.strip_prefix(&spec.dir).unwrap_or(path).display().to_string();
            (artifact, format!("path:{rel}"))
        }
        ChartOrigin::Oci { reference, version } => {
            let tagged = format!("{reference}:{}", version.replace('+', "_"));
            (pull_oci_chart(&tagged, registry, cache).await?, format!("oci://{tagged}"))
        }
        ChartOrigin::Repo { url, chart, version } => {
            let client = chart::repo::RepoClient::new(repo_options)?;
            let archive = client.fetch(url, chart, version).await?;
            let name = format!("{url}/{chart}-{version}.tgz");
            let (meta, json) = chart::read_archive_meta(Path::new(&name), &archive)?;
            if meta.name != *chart || meta.version != *version {
                bail!("{url} served chart {} {} for {chart} {version}", meta.name, meta.version);
            }
            let source = format!("repo:{url} {chart} {version}");
            (chart::store_artifact(Path::new(&name), meta, &json, &archive, cache)?, source)
        }
    };
    blobs.add(&artifact.manifest, artifact.manifest_size, media::OCI_MANIFEST);
    blobs.add(&artifact.config, artifact.config_size, media::HELM_CONFIG);
    blobs.add(&artifact.archive, artifact.archive_size, media::HELM_CHART);
    let mut values_files = Vec::new();
    for vf in &chart_spec.values_files {
        let doc = store_document(cache, blobs, &vf.value, spec, vf.text.clone()).with_context(|| {
            format!("{}:{}:{}: cannot read values file `{}`", spec.path.display(), vf.line, vf.column, vf.text)
        })?;
        values_files.push(doc);
    }
    Ok(ChartRecord {
        name: chart_spec.name.clone(),
        chart_name: artifact.meta.name.clone(),
        version: artifact.meta.version.clone(),
        app_version: artifact.meta.app_version.clone(),
        namespace: chart_spec.namespace.clone(),
        source,
        digest: artifact.manifest.clone(),
        archive_digest: artifact.archive.clone(),
        size: artifact.manifest_size + artifact.config_size + artifact.archive_size,
        values_files,
        values: chart_spec.values.clone(),
        required_values: chart_spec.required_values.clone(),
        secret_values: chart_spec.secret_values.clone(),
    })
}

/// Pulls a Helm chart published as an OCI artifact, keeping its manifest
/// byte-exact so its digest stays valid.
pub(super) async fn pull_oci_chart(
    reference: &str,
    registry: &Registry,
    cache: &Cache,
) -> Result<chart::ChartArtifact> {
    let reference = crate::oci::source::parse_reference(reference).map_err(anyhow::Error::msg)?;
    let (bytes, digest, _) = registry.manifest(&reference).await?;
    let manifest = crate::oci::manifest::AnyManifest::parse(&bytes).map_err(anyhow::Error::msg)?;
    let config = manifest.config.as_ref().filter(|c| c.media_type == media::HELM_CONFIG);
    let layer = manifest.layers.iter().find(|l| l.media_type == media::HELM_CHART);
    let (Some(config), Some(layer)) = (config, layer) else {
        bail!("{} is not a Helm chart (no {} layer)", reference.whole(), media::HELM_CHART);
    };
    for d in [config, layer] {
        registry.blob_to_cache(&reference, &d.digest, d.size, cache).await?;
    }
    cache.insert_bytes(&bytes)?;
    let archive = cache.read(&layer.digest)?;
    let (meta, _) = chart::read_archive_meta(Path::new(&reference.whole()), &archive)?;
    Ok(chart::ChartArtifact {
        meta,
        manifest: digest,
        manifest_size: bytes.len() as u64,
        config: config.digest.clone(),
        config_size: config.size,
        archive: layer.digest.clone(),
        archive_size: layer.size,
    })
}

pub fn gather_crds(
    spec: &Spec,
    component: &Component,
    cache: &Cache,
    blobs: &mut BlobList,
) -> Result<Vec<DocumentRecord>> {
    component
        .crds
        .iter()
        .map(|at| {
            store_document(cache, blobs, &at.value, spec, at.text.clone())
                .with_context(|| located_context(spec, at, "CRD file"))
        })
        .collect()
}

pub fn gather_manifests(
    spec: &Spec,
    component: &Component,
    cache: &Cache,
    blobs: &mut BlobList,
) -> Result<Vec<DocumentRecord>> {
    let mut records = Vec::new();
    for at in &component.manifests {
        let ctx = || located_context(spec, at, "manifests");
        let mut paths: Vec<_> = glob::glob(&at.value)
            .map_err(|e| anyhow::anyhow!("bad pattern: {e}"))
            .with_context(ctx)?
            .collect::<Result<_, _>>()
            .with_context(ctx)?;
        paths.sort();
        if paths.is_empty() {
            return Err(anyhow::anyhow!("no file matches this pattern")).with_context(ctx);
        }
        for path in paths {
            records.push(store_document(cache, blobs, &path, spec, at.text.clone()).with_context(ctx)?);
        }
    }
    Ok(records)
}

/// Renders each kustomization with `kubectl kustomize` at create time, so the
/// air-gapped side needs no kustomize.
pub fn gather_kustomizations(
    spec: &Spec,
    component: &Component,
    cache: &Cache,
    blobs: &mut BlobList,
) -> Result<Vec<DocumentRecord>> {
    component.kustomizations.iter().map(|at| kustomize(spec, at, cache, blobs)).collect()
}

/// One kustomization rendered with `kubectl kustomize`, stored as a blob.
fn kustomize(
    spec: &Spec,
    at: &Located<std::path::PathBuf>,
    cache: &Cache,
    blobs: &mut BlobList,
) -> Result<DocumentRecord> {
    let ctx = || located_context(spec, at, "kustomization");
    let kubectl = std::env::var_os("AIRLOCK_KUBECTL").unwrap_or_else(|| "kubectl".into());
    let output = std::process::Command::new(&kubectl)
        .arg("kustomize")
        .arg(&at.value)
        .output()
        .map_err(|e| {
            anyhow::anyhow!(
                "cannot run `{} kustomize` ({e}); install kubectl or set AIRLOCK_KUBECTL",
                kubectl.to_string_lossy()
            )
        })
        .with_context(ctx)?;
    if !output.status.success() {
        return Err(anyhow::anyhow!("kubectl kustomize failed: {}", String::from_utf8_lossy(&output.stderr).trim()))
            .with_context(ctx);
    }
    let digest = cache.insert_bytes(&output.stdout)?;
    blobs.add(&digest, output.stdout.len() as u64, media::AIRLOCK_YAML);
    let name = at.value.strip_prefix(&spec.dir).unwrap_or(&at.value).to_string_lossy().into_owned();
    Ok(DocumentRecord {
        name: format!("{name}/kustomize.yaml"),
        source: format!("kustomize:{}", at.text),
        digest,
        size: output.stdout.len() as u64,
    })
}

pub fn gather_files(
    spec: &Spec,
    component: &Component,
    cache: &Cache,
    blobs: &mut BlobList,
) -> Result<Vec<FileRecord>> {
    let mut records = Vec::new();
    for at in &component.files {
        let FileItem { source, target, mode, sha256 } = &at.value;
        let ctx = || located_context(spec, at, "file");
        let file = std::fs::File::open(source).with_context(ctx)?;
        let (digest, size) = cache.insert_reader(std::io::BufReader::new(file), sha256.as_ref()).with_context(ctx)?;
        blobs.add(&digest, size, media::AIRLOCK_FILE);
        records.push(FileRecord {
            target: target.clone(),
            mode: format!("{mode:04o}"),
            source: at.text.clone(),
            digest,
            size,
        });
    }
    Ok(records)
}

/// Each environment's values files, stored as blobs, with its inline values.
pub(super) fn gather_environments(
    spec: &Spec,
    cache: &Cache,
    blobs: &mut BlobList,
) -> Result<std::collections::BTreeMap<String, EnvironmentRecord>> {
    let mut environments = std::collections::BTreeMap::new();
    for environment in &spec.environments {
        let mut charts = std::collections::BTreeMap::new();
        for (chart, files, values) in &environment.charts {
            let mut values_files = Vec::new();
            for file in files {
                let doc = store_document(cache, blobs, &file.value, spec, file.text.clone()).with_context(|| {
                    format!(
                        "{}:{}:{}: cannot read values file `{}` of environment {}",
                        spec.path.display(),
                        file.line,
                        file.column,
                        file.text,
                        environment.name
                    )
                })?;
                values_files.push(doc);
            }
            charts.insert(chart.clone(), ChartValuesRecord { values_files, values: values.clone() });
        }
        let mut components = std::collections::BTreeMap::new();
        for (component, kustomizations) in &environment.components {
            let documents =
                kustomizations.iter().map(|at| kustomize(spec, at, cache, blobs)).collect::<Result<Vec<_>>>()?;
            components.insert(component.clone(), documents);
        }
        let record = EnvironmentRecord { description: environment.description.clone(), charts, components };
        environments.insert(environment.name.clone(), record);
    }
    Ok(environments)
}
