//! `airlock create`: read the spec, gather every image, chart and file into
//! the cache, then write the bundle in one pass. Nothing is written to the
//! output path unless everything succeeded.

mod content;
mod differential;
pub mod discover;
mod images;
mod vendor;

use crate::bundle::format::{self, BlobRecord, BundleManifest, Component, Encoding, Inputs, Metadata, Signatures};
use crate::bundle::writer::{manifest_bytes, BundleWriter, SlotCursor};
use crate::cache::Cache;
use crate::oci::digest::Digest;
use crate::oci::manifest::Platform;
use crate::oci::media;
use crate::oci::mirror::{Mirror, Mirrors};
use crate::oci::registry::{BlobSink, Registry, RegistryOptions};
use crate::oci::resolve::BlobDescriptor;
use crate::output::{human_bytes, Bar, Progress};
use anyhow::{Context, Result};
use futures_util::{StreamExt, TryStreamExt};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

pub struct CreateOptions {
    pub spec: PathBuf,
    /// Default: `NAME-VERSION.airlock` in the current directory.
    pub output: Option<PathBuf>,
    /// Overrides the spec's platforms when not empty.
    pub platforms: Vec<Platform>,
    pub concurrency: usize,
    pub registry: RegistryOptions,
    /// The blob cache; None: keep none (`--no-cache`). Image blobs then go
    /// only into the bundle, written once; charts, documents and the few
    /// blobs compressed into the bundle pass through a temporary cache
    /// beside the output, removed when create ends.
    pub cache_dir: Option<PathBuf>,
    /// Sign the manifest with this encrypted key (path, password). The key
    /// is decrypted (scrypt, ~0.1 s) while manifests are fetched.
    pub sign_key: Option<(PathBuf, String)>,
    /// Write parts of at most this many bytes instead of one file.
    pub max_part_size: Option<u64>,
    /// Make a differential bundle: leave out every blob this bundle (or
    /// `inspect --json` output of it) has; true: it is that output,
    /// whatever its name.
    pub since: Option<(PathBuf, bool)>,
    /// Make a differential bundle: leave out every image blob this registry
    /// (`HOST[/PREFIX]`, names as `push` gives them) already holds.
    pub since_registry: Option<String>,
    /// `--registry-mirror SOURCE=MIRROR[/PREFIX]`, in order; for a source
    /// named here they replace the registries config's `mirrors:`.
    pub mirrors: Vec<(String, Mirror)>,
}

#[derive(Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateReport {
    /// The bundle file, or its first part.
    pub output: PathBuf,
    /// How many parts were written (0: one file).
    pub parts: usize,
    pub manifest_digest: Digest,
    pub images: usize,
    pub charts: usize,
    pub blobs: usize,
    pub content_bytes: u64,
    pub bundle_bytes: u64,
    pub downloaded_bytes: u64,
    /// Things the bundle will lack where it is going.
    pub warnings: Vec<String>,
}

pub async fn create(options: CreateOptions, progress: &Progress) -> Result<CreateReport> {
    let spec = crate::bundle_spec::load(&options.spec)?;
    let key = options.sign_key.clone().map(|(path, password)| {
        tokio::task::spawn_blocking(move || crate::sign::PrivateKey::load(&path, password.as_bytes()))
    });
    let output =
        options.output.clone().unwrap_or_else(|| PathBuf::from(format!("{}-{}.airlock", spec.name, spec.version)));
    let (cache, temporary_cache) = open_cache(options.cache_dir.as_deref(), &output)?;
    let registry = Registry::new(options.registry.clone())?;
    let mirrors = Mirrors::new(registry.configured_mirrors(), &options.mirrors).map_err(|e| {
        let file = options.registry.config_file.as_deref().unwrap_or(std::path::Path::new("--registry-config"));
        crate::diagnosis::Usage(format!("{}: mirrors: {e}", file.display()))
    })?;
    let pull = images::Pull { registry: &registry, mirrors: &mirrors };
    let platforms = if options.platforms.is_empty() { spec.platforms.clone() } else { options.platforms.clone() };
    let concurrency = options.concurrency.max(1);

    let mut images = images::resolve_all(&spec, &platforms, pull, &cache, concurrency).await?;
    // The charts' pod templates may run images the spec does not list:
    // those are bundled too (unless a chart says `images: explicit`).
    let mut blobs = content::BlobList::default();
    let mut charts = Vec::new();
    for component in &spec.components {
        charts.push(content::gather_charts(&spec, component, &registry, &options.registry, &cache, &mut blobs).await?);
    }
    let known: Vec<Vec<String>> =
        images.iter().map(|list| list.iter().map(|i| i.record.reference.clone()).collect()).collect();
    let discovered = discover::discover_images(&spec, &charts, &known, &cache)?;
    for (gathered, found) in images.iter_mut().zip(&discovered) {
        gathered.extend(images::resolve_list(&spec, &found.extra, &platforms, pull, &cache, concurrency).await?);
        for image in gathered.iter_mut() {
            image.record.charts = found.charts_by_image.get(&image.record.reference).cloned().unwrap_or_default();
        }
    }
    let all_images: Vec<_> = images.iter().flatten().collect();

    for image in &all_images {
        blobs.0.extend(image.tree.all_blobs().cloned());
    }
    let mut components = Vec::new();
    for ((component, gathered), charts) in spec.components.iter().zip(images.iter()).zip(charts) {
        components.push(Component {
            name: component.name.clone(),
            description: component.description.clone(),
            required: component.required,
            images: gathered.iter().map(|g| g.record.clone()).collect(),
            charts,
            crds: content::gather_crds(&spec, component, &cache, &mut blobs)?,
            manifests: {
                let mut docs = content::gather_manifests(&spec, component, &cache, &mut blobs)?;
                docs.extend(content::gather_kustomizations(&spec, component, &cache, &mut blobs)?);
                docs
            },
            files: content::gather_files(&spec, component, &cache, &mut blobs)?,
        });
    }

    let environments = content::gather_environments(&spec, &cache, &mut blobs)?;
    let mut warnings: Vec<String> = discovered.iter().flat_map(|d| d.removed_apis.iter().cloned()).collect();
    warnings.extend(removed_apis_in_documents(&components, &environments, &cache)?);

    // A compressible blob's stored size is known only once it is compressed,
    // so those few (uncompressed layers) are fetched before the layout is
    // fixed; everything else streams into its slot as it arrives.
    let base = match (&options.since, &options.since_registry) {
        (Some(_), Some(_)) => {
            anyhow::bail!("--since (or --since-inspect) and --since-registry cannot be used together")
        }
        (Some((path, inspected)), None) => Some(differential::load_base(path, *inspected)?),
        (None, Some(dest)) => {
            let all: Vec<_> = images.iter().flatten().collect();
            Some(differential::registry_base(dest, &all, &registry, concurrency).await?)
        }
        (None, None) => None,
    };
    // Charts and YAML are carried even when the base has them: they are
    // small, and installing into a cluster renders from them (a cluster,
    // unlike a K3s node, keeps no copy of the base's).
    let in_base = |b: &BlobDescriptor| {
        !media::always_carried(&b.media_type) && base.as_ref().is_some_and(|base| base.digests.contains(&b.digest))
    };
    let compressible = |b: &BlobDescriptor| media::is_compressible(&b.media_type) && !in_base(b);
    let mut downloaded =
        images::download_missing(&all_images, &compressible, &registry, &cache, concurrency, progress, None).await?;
    let mut blob_records = {
        let cache = cache.clone();
        let (carried, left): (Vec<_>, Vec<_>) = blobs.0.into_iter().partition(|b| !in_base(b));
        let mut records = tokio::task::spawn_blocking(move || blob_records(carried, &cache)).await??;
        records.extend(differential::base_records(left));
        records
    };
    blob_records.sort_by(|a, b| a.digest.cmp(&b.digest));
    blob_records.dedup_by(|a, b| a.digest == b.digest);
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
            spec_file: spec.path.file_name().map(|n| n.to_string_lossy().into_owned()),
            spec_digest: Some(spec.digest.clone()),
        },
        base: base.as_ref().map(|b| b.record.clone()),
        environments,
        preflight: spec.preflight.clone(),
    };
    check_image_names_unique(&manifest)?;

    // The key was being decrypted (scrypt) while manifests were fetched; it is
    // joined here, before downloads start, so a wrong password stops create
    // early and scrypt's 32 MiB are freed before blob buffers are needed.
    let signatures = match key {
        Some(task) => {
            let key = task.await??;
            Signatures { signatures: vec![key.signature_record(&manifest_bytes(&manifest))?] }
        }
        None => Signatures::default(),
    };
    if let Some(max) = options.max_part_size {
        anyhow::ensure!(
            max >= crate::bundle::parts::MIN_PART_SIZE,
            "--max-part-size must be at least {} bytes",
            crate::bundle::parts::MIN_PART_SIZE
        );
    }
    let sigstore = crate::sign::sigstore_bundle::entry_for(&signatures, &manifest_bytes(&manifest));
    let writer = BundleWriter::create_with_parts(&output, &manifest, &signatures, &sigstore, options.max_part_size)
        .with_context(|| format!("cannot write bundle {}", output.display()))?;
    let bar = progress.bar(&output.display().to_string(), manifest.stored_size());
    let filler = SlotFiller {
        writer: Arc::new(writer),
        records: Arc::new(manifest.blobs.iter().map(|b| (b.digest.clone(), b.clone())).collect()),
        cache: cache.clone(),
        keep_in_cache: temporary_cache.is_none(),
        bar: bar.clone(),
    };
    let cached: Vec<Digest> =
        manifest.blobs.iter().filter(|b| !b.in_base && cache.contains(&b.digest)).map(|b| b.digest.clone()).collect();
    let fill_cached = async {
        futures_util::stream::iter(cached.iter())
            .map(|d| filler.fill(d))
            .buffer_unordered(2)
            .try_collect::<Vec<()>>()
            .await
    };
    let everything = |b: &BlobDescriptor| !in_base(b);
    let from_layouts = images::fill_from_layouts(&all_images, &everything, &cache, &filler);
    let download =
        images::download_missing(&all_images, &everything, &registry, &cache, concurrency, progress, Some(&filler));
    let ((), (), fetched) = tokio::try_join!(async { fill_cached.await.map(|_| ()) }, from_layouts, download)?;
    downloaded += fetched;
    let writer = Arc::try_unwrap(filler.writer).map_err(|_| anyhow::anyhow!("bundle writer still in use"))?;
    let (bundle_bytes, files) = tokio::task::spawn_blocking(move || writer.finish())
        .await?
        .with_context(|| format!("cannot write bundle {}", output.display()))?;
    // With parts, the bundle is named by its first part.
    let output = files.first().cloned().unwrap_or(output);
    bar.finish("Wrote", &format!("{} ({})", output.display(), human_bytes(bundle_bytes)));
    Ok(CreateReport {
        parts: if options.max_part_size.is_some() { files.len() } else { 0 },
        output,
        manifest_digest: Digest::of(&manifest_bytes(&manifest)),
        images: manifest.images().count(),
        charts: manifest.charts().count(),
        blobs: manifest.blobs.len(),
        content_bytes: manifest.unique_size(),
        bundle_bytes,
        downloaded_bytes: downloaded,
        warnings: {
            warnings.extend(crate::destination::k3s::layout::helm_job_image_missing(&manifest));
            warnings
        },
    })
}

/// The objects of the bundle's CRD and manifest documents (environments'
/// overlays too) whose APIs Kubernetes removed, each said with its file:
/// a bundle may still carry them for old clusters, but should know.
fn removed_apis_in_documents(
    components: &[Component],
    environments: &std::collections::BTreeMap<String, crate::bundle::format::EnvironmentRecord>,
    cache: &Cache,
) -> Result<Vec<String>> {
    let documents = components.iter().flat_map(|c| c.crds.iter().chain(&c.manifests));
    let overlays = environments.values().flat_map(|e| e.components.values().flatten());
    let mut warnings = Vec::new();
    for doc in documents.chain(overlays) {
        let text = String::from_utf8_lossy(&cache.read(&doc.digest)?).into_owned();
        warnings.extend(
            crate::destination::removed_apis::in_yaml(&text).into_iter().map(|gone| format!("{}: {gone}", doc.source)),
        );
    }
    Ok(warnings)
}

/// The user's cache, or (`--no-cache`) a temporary one in the output's
/// directory (the disk the user sized for the bundle, not /tmp), removed
/// when the returned guard drops, on success or error.
fn open_cache(dir: Option<&std::path::Path>, output: &std::path::Path) -> Result<(Cache, Option<tempfile::TempDir>)> {
    if let Some(dir) = dir {
        return Ok((Cache::open(dir).with_context(|| format!("cannot open the blob cache {}", dir.display()))?, None));
    }
    let parent = output.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
    let temporary = tempfile::Builder::new()
        .prefix(".airlock-create-")
        .tempdir_in(parent)
        .with_context(|| format!("cannot make a temporary cache in {}", parent.display()))?;
    Ok((Cache::open(temporary.path()).context("cannot open the temporary cache")?, Some(temporary)))
}

/// Puts blobs into their bundle slots: from the cache (off the async
/// threads), or straight from a download, teed into the cache unless
/// `--no-cache` said to keep none.
pub struct SlotFiller {
    writer: Arc<BundleWriter>,
    records: Arc<HashMap<Digest, BlobRecord>>,
    cache: Cache,
    keep_in_cache: bool,
    bar: Bar,
}

impl SlotFiller {
    /// A sink that writes a downloading blob to its slot (and the cache) at
    /// once. The download checks the digest before `finish`.
    pub fn download_sink(&self, digest: &Digest) -> std::io::Result<Box<dyn BlobSink>> {
        let cache = match self.keep_in_cache {
            true => Some(self.cache.writer(digest).map_err(std::io::Error::other)?),
            false => None,
        };
        let slot = self.writer.cursor(digest).map_err(std::io::Error::other)?;
        Ok(Box::new(TeeSink { cache, slot, bar: self.bar.clone() }))
    }

    pub async fn fill(&self, digest: &Digest) -> Result<()> {
        let record = self
            .records
            .get(digest)
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("blob {digest} is not in the bundle manifest"))?;
        let (writer, cache, bar) = (self.writer.clone(), self.cache.clone(), self.bar.clone());
        tokio::task::spawn_blocking(move || {
            let source = match record.encoding {
                Encoding::Identity => cache.blob_path(&record.digest),
                Encoding::Zstd => cache
                    .zstd_form(&record.digest)?
                    .map(|(p, _)| p)
                    .ok_or_else(|| anyhow::anyhow!("compressed form of {} vanished from the cache", record.digest))?,
            };
            writer.fill(&record, &source, &|n| bar.inc(n))?;
            Ok(())
        })
        .await?
    }

    /// Copies a blob from a file that is not the cache's (an OCI layout's)
    /// into its slot, checking its digest on the way.
    pub async fn fill_checked(&self, digest: Digest, source: PathBuf) -> Result<()> {
        let record = self
            .records
            .get(&digest)
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("blob {digest} is not in the bundle manifest"))?;
        anyhow::ensure!(record.encoding == Encoding::Identity, "blob {digest} was to be stored compressed");
        let (writer, bar) = (self.writer.clone(), self.bar.clone());
        tokio::task::spawn_blocking(move || {
            let file = std::fs::File::open(&source).with_context(|| format!("cannot read {}", source.display()))?;
            let origin = source.display().to_string();
            let mut checked = crate::oci::digest::CheckedReader::new(file, digest, origin);
            writer.fill_from(&record, &mut checked, &source, &|n| bar.inc(n)).with_context(|| {
                format!("cannot copy {} into the bundle: the layout is damaged or changed while read", source.display())
            })
        })
        .await?
    }
}

struct TeeSink {
    cache: Option<crate::cache::CacheWriter>,
    slot: SlotCursor,
    bar: Bar,
}

impl BlobSink for TeeSink {
    fn write(&mut self, chunk: &[u8]) -> std::io::Result<()> {
        if let Some(cache) = &mut self.cache {
            cache.write(chunk)?;
        }
        self.slot.write(chunk).map_err(std::io::Error::other)?;
        self.bar.inc(chunk.len() as u64);
        Ok(())
    }
    fn finish(self: Box<Self>) -> std::io::Result<()> {
        self.slot.complete().map_err(std::io::Error::other)?;
        match self.cache {
            Some(cache) => cache.commit().map_err(std::io::Error::other),
            None => Ok(()),
        }
    }
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
        let Ok(meta) = std::fs::metadata(&path) else {
            // Still to be downloaded: stored as it comes, size from its descriptor.
            records.push(BlobRecord {
                stored_size: blob.size,
                digest: blob.digest,
                size: blob.size,
                media_type: blob.media_type,
                encoding: Encoding::Identity,
                in_base: false,
            });
            continue;
        };
        let size = meta.len();
        if size != blob.size {
            anyhow::bail!("blob {} has {size} bytes but its manifest says {}", blob.digest, blob.size);
        }
        let compressed = if media::is_compressible(&blob.media_type) { cache.zstd_form(&blob.digest)? } else { None };
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
            in_base: false,
        });
    }
    Ok(records)
}
