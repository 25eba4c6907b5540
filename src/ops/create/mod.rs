//! `airlock create`: read the spec, gather every image, chart and file into
//! the cache, then write the bundle in one pass. Nothing is written to the
//! output path unless everything succeeded.

mod content;
mod images;

use crate::bundle::format::{
    self, BlobRecord, BundleManifest, Component, Encoding, Inputs, Metadata,
};
use crate::bundle::writer::{write_bundle, BlobSource};
use crate::cache::Cache;
use crate::oci::digest::Digest;
use crate::oci::manifest::Platform;
use crate::oci::media;
use crate::oci::registry::{Registry, RegistryOptions};
use crate::oci::resolve::BlobDescriptor;
use crate::output::{human_bytes, Progress};
use anyhow::{Context, Result};
use std::path::PathBuf;

pub struct CreateOptions {
    pub spec: PathBuf,
    /// Default: `NAME-VERSION.airlock` in the current directory.
    pub output: Option<PathBuf>,
    /// Overrides the spec's platforms when not empty.
    pub platforms: Vec<Platform>,
    pub concurrency: usize,
    pub registry: RegistryOptions,
    pub cache_dir: PathBuf,
}

#[derive(Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateReport {
    pub output: PathBuf,
    pub manifest_digest: Digest,
    pub images: usize,
    pub charts: usize,
    pub blobs: usize,
    pub content_bytes: u64,
    pub bundle_bytes: u64,
    pub downloaded_bytes: u64,
}

pub async fn create(options: CreateOptions, progress: &Progress) -> Result<CreateReport> {
    let spec = crate::spec::load(&options.spec)?;
    let cache = Cache::open(&options.cache_dir).context("cannot open the blob cache")?;
    let registry = Registry::new(options.registry.clone())?;
    let platforms = if options.platforms.is_empty() {
        spec.platforms.clone()
    } else {
        options.platforms.clone()
    };

    let images =
        images::resolve_all(&spec, &platforms, &registry, &cache, options.concurrency).await?;
    let all_images: Vec<_> = images.iter().flatten().collect();
    let downloaded = images::download_missing(
        &all_images,
        &registry,
        &cache,
        options.concurrency,
        progress,
    )
    .await?;

    let mut blobs = content::BlobList::default();
    for image in &all_images {
        blobs.0.extend(image.tree.all_blobs().cloned());
    }
    let mut components = Vec::new();
    for (component, gathered) in spec.components.iter().zip(images) {
        components.push(Component {
            name: component.name.clone(),
            description: component.description.clone(),
            required: component.required,
            images: gathered.into_iter().map(|g| g.record).collect(),
            charts: content::gather_charts(&spec, component, &registry, &cache, &mut blobs).await?,
            crds: content::gather_crds(&spec, component, &cache, &mut blobs)?,
            manifests: {
                let mut docs = content::gather_manifests(&spec, component, &cache, &mut blobs)?;
                docs.extend(content::gather_kustomizations(
                    &spec, component, &cache, &mut blobs,
                )?);
                docs
            },
            files: content::gather_files(&spec, component, &cache, &mut blobs)?,
        });
    }

    let blob_records = {
        let cache = cache.clone();
        tokio::task::spawn_blocking(move || blob_records(blobs.0, &cache)).await??
    };
    let manifest = BundleManifest {
        format: format::FORMAT_MAJOR,
        format_minor: format::FORMAT_MINOR,
        metadata: Metadata {
            name: spec.name.clone(),
            version: spec.version.clone(),
            description: spec.description.clone(),
        },
        created_by: concat!("airlock ", env!("CARGO_PKG_VERSION")).to_string(),
        platforms: platforms.iter().map(|p| p.to_string()).collect(),
        components,
        blobs: blob_records,
        inputs: Inputs {
            spec_file: spec
                .path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned()),
            spec_digest: Some(spec.digest.clone()),
        },
    };
    check_image_names_unique(&manifest)?;

    let output = options
        .output
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("{}-{}.airlock", spec.name, spec.version)));
    let total = manifest.stored_size();
    let bar = progress.bar(&format!("{}", output.display()), total);
    let report_bar = bar.clone();
    let manifest_digest = Digest::of(&crate::bundle::writer::manifest_bytes(&manifest));
    let (manifest, written) = {
        let output = output.clone();
        let cache = cache.clone();
        tokio::task::spawn_blocking(move || {
            let written = write_bundle(
                &output,
                &manifest,
                &CachedBlobs(cache),
                Box::new(move |n| bar.inc(n)),
            );
            (manifest, written)
        })
        .await?
    };
    let written = written.with_context(|| format!("cannot write bundle {}", output.display()))?;
    report_bar.finish(
        "Wrote",
        &format!(
            "{} ({})",
            output.display(),
            human_bytes(written.bytes_written)
        ),
    );
    Ok(CreateReport {
        output,
        manifest_digest,
        images: manifest.images().count(),
        charts: manifest.charts().count(),
        blobs: manifest.blobs.len(),
        content_bytes: manifest.unique_size(),
        bundle_bytes: written.bytes_written,
        downloaded_bytes: downloaded,
    })
}

/// Two spec entries that resolve to the same reference would be ambiguous
/// everywhere downstream (push, install), unless they are the same image.
fn check_image_names_unique(manifest: &BundleManifest) -> Result<()> {
    let mut seen = std::collections::HashMap::new();
    for image in manifest.images() {
        if let Some(previous) = seen.insert(image.reference.clone(), image) {
            if previous.digest != image.digest {
                anyhow::bail!(
                    "two images are both named {} (from `{}` and `{}`) but differ; give one of them another name or tag",
                    image.reference, previous.source, image.source
                );
            }
        }
    }
    Ok(())
}

/// Deduplicates blobs, sorts them by digest and decides their stored form.
fn blob_records(mut blobs: Vec<BlobDescriptor>, cache: &Cache) -> Result<Vec<BlobRecord>> {
    blobs.sort();
    blobs.dedup_by(|a, b| a.digest == b.digest);
    let mut records = Vec::with_capacity(blobs.len());
    for blob in blobs {
        let path = cache.blob_path(&blob.digest);
        let size = std::fs::metadata(&path)
            .with_context(|| format!("blob {} is missing from the cache", blob.digest))?
            .len();
        if size != blob.size {
            anyhow::bail!(
                "blob {} has {size} bytes but its manifest says {}",
                blob.digest,
                blob.size
            );
        }
        let compressed = if media::is_compressible(&blob.media_type) {
            cache.zstd_form(&blob.digest)?
        } else {
            None
        };
        let (encoding, stored_size) = match compressed {
            Some((_, stored)) => (Encoding::Zstd, stored),
            None => (Encoding::Identity, size),
        };
        records.push(BlobRecord {
            digest: blob.digest,
            size,
            media_type: blob.media_type,
            encoding,
            stored_size,
        });
    }
    Ok(records)
}

struct CachedBlobs(Cache);

impl BlobSource for CachedBlobs {
    fn open_stored(&self, blob: &BlobRecord) -> std::io::Result<(PathBuf, std::fs::File)> {
        let path = match blob.encoding {
            Encoding::Identity => self.0.blob_path(&blob.digest),
            Encoding::Zstd => self
                .0
                .zstd_form(&blob.digest)
                .map_err(std::io::Error::other)?
                .map(|(p, _)| p)
                .ok_or_else(|| std::io::Error::other("compressed form vanished from the cache"))?,
        };
        let file = std::fs::File::open(&path)?;
        Ok((path, file))
    }
}
