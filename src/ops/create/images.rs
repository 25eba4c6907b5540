//! Gathering images for `create`: resolve each spec entry to a manifest tree
//! (registry, through its mirrors when it has some; OCI layout or docker
//! archive), then download the missing blobs into the cache, concurrently
//! and bounded.

use super::SlotFiller;
use crate::bundle::format::{ImageRecord, ImageSignature, ReferrerRecord};
use crate::bundle_spec::{Image, Located, Spec};
use crate::cache::Cache;
use crate::oci::digest::Digest;
use crate::oci::layout::{load_docker_archive, OciLayout};
use crate::oci::manifest::Platform;
use crate::oci::mirror::Mirrors;
use crate::oci::registry::{BlobSink, Referrer, Registry};
use crate::oci::resolve::{walk, BlobDescriptor, ImageTree};
use crate::oci::source::{parse_reference, ImageSource};
use crate::output::{human_bytes, Progress};
use crate::sign::image::SignatureForm;
use anyhow::{Context, Result};
use futures_util::{StreamExt, TryStreamExt};
use oci_client::Reference;
use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;

pub struct GatheredImage {
    pub record: ImageRecord,
    pub tree: ImageTree,
    /// Set for registry images, whose blobs still have to be downloaded:
    /// the image's own name, or its name on the mirror that had it.
    pub pull_from: Option<Reference>,
    /// Set for images from an OCI layout: the layout their blobs are copied
    /// from straight into their bundle slots (see `fill_from_layouts`).
    pub layout: Option<OciLayout>,
}

fn context<T>(spec: &Spec, at: &Located<T>) -> String {
    format!("{}:{}:{}: cannot bundle image `{}`", spec.path.display(), at.line, at.column, at.text)
}

/// Where registry images are pulled from: the registry client, and the
/// mirrors that stand in for some source registries.
#[derive(Clone, Copy)]
pub struct Pull<'a> {
    pub registry: &'a Registry,
    pub mirrors: &'a Mirrors,
}

pub async fn resolve_all(
    spec: &Spec,
    platforms: &[Platform],
    pull: Pull<'_>,
    cache: &Cache,
    concurrency: usize,
) -> Result<Vec<Vec<GatheredImage>>> {
    let mut per_component = Vec::new();
    for component in &spec.components {
        per_component.push(resolve_list(spec, &component.images, platforms, pull, cache, concurrency).await?);
    }
    Ok(per_component)
}

/// Resolves a list of images, keeping their order.
pub async fn resolve_list(
    spec: &Spec,
    images: &[Located<Image>],
    platforms: &[Platform],
    pull: Pull<'_>,
    cache: &Cache,
    concurrency: usize,
) -> Result<Vec<GatheredImage>> {
    futures_util::stream::iter(images.iter())
        .map(|at| async move { resolve_one(at, platforms, pull, cache).await.with_context(|| context(spec, at)) })
        .buffered(concurrency.max(1))
        .try_collect()
        .await
}

async fn resolve_one(
    at: &Located<Image>,
    platforms: &[Platform],
    pull: Pull<'_>,
    cache: &Cache,
) -> Result<GatheredImage> {
    let registry = pull.registry;
    match &at.value.source {
        ImageSource::Registry(original) => {
            // The bundle records the original name; everything is read from
            // the mirror that answered (child manifests, signatures, blobs).
            let (reference, top) = match pull.mirrors.candidates(original) {
                Some(candidates) => pull.mirrors.manifest(registry, original, &candidates).await?,
                None => (original.clone(), registry.manifest(original).await?),
            };
            let reference = &reference;
            let mut tree = walk(top, platforms, cache, |digest: Digest| {
                let child = reference.clone_with_digest(digest.to_string());
                async move { registry.manifest(&child).await.map(|(bytes, _, _)| bytes) }
            })
            .await?;
            let mut signatures = Vec::new();
            let mut referrers = Vec::new();
            let listed = if at.value.referrers {
                registry.referrers(reference, &tree.digest).await?
            } else if at.value.verify_key.is_some() {
                // A registry that answers the referrers API with an error
                // (not a 404, which means "use the tag schema") may still
                // hold a legacy signature tag.
                match registry.referrers(reference, &tree.digest).await {
                    Ok(listed) => listed,
                    Err(crate::oci::registry::RegistryError::Failed { .. }) => Vec::new(),
                    Err(e) => return Err(e.into()),
                }
            } else {
                Vec::new()
            };
            if let Some(key_path) = &at.value.verify_key {
                let key = crate::sign::PublicKey::load(key_path)?;
                let verified =
                    crate::sign::image::verify(registry, reference, &tree.digest, &key, cache, &listed).await?;
                tree.manifests.push(verified.manifest.clone());
                tree.blobs.extend(verified.blobs.iter().cloned());
                match verified.form {
                    SignatureForm::Tag(tag) => signatures.push(ImageSignature {
                        tag,
                        digest: verified.manifest.digest,
                        key_id: verified.key_id,
                    }),
                    SignatureForm::Referrer(found) => {
                        let mut record = referrer_record(&found, &tree.digest, cache)?;
                        record.key_id = Some(verified.key_id);
                        referrers.push(record);
                    }
                }
            }
            if at.value.referrers {
                let subjects = tree.platforms.iter().map(|p| p.digest.clone()).filter(|d| *d != tree.digest);
                let mut all = vec![(tree.digest.clone(), listed)];
                for subject in subjects.collect::<Vec<_>>() {
                    let listed = registry.referrers(reference, &subject).await?;
                    all.push((subject, listed));
                }
                for (subject, listed) in all {
                    for found in listed {
                        if referrers.iter().any(|r: &ReferrerRecord| r.digest == found.digest && r.subject == subject) {
                            continue;
                        }
                        carry_referrer(registry, reference, &found, cache, &mut tree).await?;
                        referrers.push(referrer_record(&found, &subject, cache)?);
                    }
                }
            }
            referrers.sort_by(|a, b| (&a.subject, &a.digest).cmp(&(&b.subject, &b.digest)));
            finish_tree(&mut tree);
            let mut record = record(original.whole(), at, &tree);
            record.signatures = signatures;
            record.referrers = referrers;
            Ok(GatheredImage { record, tree, pull_from: Some(reference.clone()), layout: None })
        }
        ImageSource::OciLayout { dir, tag } => {
            let layout = OciLayout { dir: dir.clone() };
            let (top, ref_name) = layout.select(tag.as_deref())?;
            let bytes = layout.read_blob(&top.digest)?;
            let media_type = crate::oci::manifest::media_type_of(&bytes, Some(&top.media_type));
            let tree = walk((bytes, top.digest.clone(), media_type), platforms, cache, |digest: Digest| {
                let layout = &layout;
                async move { layout.read_blob(&digest) }
            })
            .await?;
            // Only blobs the bundle stores compressed need the cache (their
            // zstd form); the rest go from the layout into the bundle.
            for blob in tree.blobs.iter().filter(|b| crate::oci::media::is_compressible(&b.media_type)) {
                layout.copy_to_cache(&blob.digest, cache)?;
            }
            let name = layout_reference(dir, tag.as_deref(), ref_name.as_deref());
            Ok(GatheredImage { record: record(name, at, &tree), tree, pull_from: None, layout: Some(layout) })
        }
        ImageSource::DockerArchive { file, name } => {
            let image = load_docker_archive(file, cache)?;
            let digest = cache.insert_bytes(&image.manifest)?;
            let tree = walk(
                (image.manifest, digest, crate::oci::media::OCI_MANIFEST.to_string()),
                &[],
                cache,
                |_d: Digest| async { Err::<Vec<u8>, anyhow::Error>(anyhow::anyhow!("archives hold one manifest")) },
            )
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
            let name = match (name, image.repo_tags.first()) {
                (Some(n), _) => n.whole(),
                (None, Some(tag)) => parse_reference(tag).map_err(anyhow::Error::msg)?.whole(),
                (None, None) => {
                    anyhow::bail!("the archive has no RepoTags; name the image: `docker-archive:FILE:NAME:TAG`")
                }
            };
            Ok(GatheredImage { record: record(name, at, &tree), tree, pull_from: None, layout: None })
        }
    }
}

/// A referrer as the bundle records it. `artifactType` and `annotations`
/// come from its manifest (in the cache by now), as the distribution spec
/// has a referrers list give them: a tag-schema index often lacks them.
fn referrer_record(found: &Referrer, subject: &Digest, cache: &Cache) -> Result<ReferrerRecord> {
    let bytes = cache.read(&found.digest)?;
    let manifest: serde_json::Value =
        serde_json::from_slice(&bytes).with_context(|| format!("referrer {} is not JSON", found.digest))?;
    let mut annotations: std::collections::BTreeMap<String, String> = manifest["annotations"]
        .as_object()
        .map(|m| m.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string()))).collect())
        .unwrap_or_default();
    if annotations.is_empty() {
        annotations = found.annotations.clone();
    }
    let artifact_type = manifest["artifactType"]
        .as_str()
        .or(manifest["config"]["mediaType"].as_str())
        .map(str::to_string)
        .or_else(|| found.artifact_type.clone());
    Ok(ReferrerRecord {
        digest: found.digest.clone(),
        media_type: crate::oci::manifest::media_type_of(&bytes, Some(&found.media_type)),
        artifact_type,
        size: bytes.len() as u64,
        subject: subject.clone(),
        annotations,
        key_id: None,
    })
}

/// Adds a referrer's manifest (in the cache, checked against its digest)
/// and the blobs it references to the image's tree. A referrer that is
/// an index brings its manifests too.
async fn carry_referrer(
    registry: &Registry,
    reference: &Reference,
    found: &Referrer,
    cache: &Cache,
    tree: &mut ImageTree,
) -> Result<()> {
    let at = reference.clone_with_digest(found.digest.to_string());
    let (bytes, digest, media_type) = registry.manifest(&at).await?;
    anyhow::ensure!(
        digest == found.digest && Digest::of(&bytes) == found.digest,
        "the registry answered for referrer {} with other content ({digest})",
        found.digest
    );
    let media_type = if found.media_type.is_empty() { media_type } else { found.media_type.clone() };
    let referrer = walk((bytes, digest, media_type), &[], cache, |child: Digest| {
        let child = reference.clone_with_digest(child.to_string());
        async move { registry.manifest(&child).await.map(|(bytes, _, _)| bytes) }
    })
    .await
    .with_context(|| format!("cannot carry referrer {} of the image", found.digest))?;
    tree.manifests.extend(referrer.manifests);
    tree.blobs.extend(referrer.blobs);
    Ok(())
}

/// Each blob of the tree once, none also listed as a manifest.
fn finish_tree(tree: &mut ImageTree) {
    let mut seen = HashSet::new();
    tree.manifests.retain(|m| seen.insert(m.digest.clone()));
    tree.blobs.sort();
    tree.blobs.dedup_by(|a, b| a.digest == b.digest);
    tree.blobs.retain(|b| !seen.contains(&b.digest));
}

/// The reference an image from a local layout is known by: the layout's own
/// full reference annotation if it has one, else `localhost/DIRNAME:TAG`.
fn layout_reference(dir: &Path, tag: Option<&str>, ref_name: Option<&str>) -> String {
    if let Some(full) = ref_name.filter(|n| n.contains('/')).and_then(|n| parse_reference(n).ok()) {
        return full.whole();
    }
    let repo = dir.file_name().map(|n| n.to_string_lossy().to_ascii_lowercase()).unwrap_or_else(|| "image".into());
    let tag = tag.or(ref_name).unwrap_or("latest");
    format!("localhost/{repo}:{tag}")
}

fn record<T>(reference: String, at: &Located<T>, tree: &ImageTree) -> ImageRecord {
    ImageRecord {
        reference,
        source: at.text.clone(),
        digest: tree.digest.clone(),
        media_type: tree.media_type.clone(),
        size: tree.total_size(),
        platforms: tree.platforms.clone(),
        omitted: tree.omitted.clone(),
        filtered_index: tree.filtered_index.clone(),
        signatures: Vec::new(),
        charts: Vec::new(),
        referrers: Vec::new(),
    }
}

/// Copies the blobs of layout images that `wanted` selects and that are
/// neither cached nor downloaded from a registry by another image straight
/// from the layout into their slots, checking each against its digest, two
/// at a time (a layout is on a local disk: reading and hashing, not
/// latency, set the pace). Writing them to the cache first, as before,
/// read and wrote every byte twice and gained nothing: the layout itself
/// is as close as a cache.
pub async fn fill_from_layouts(
    images: &[&GatheredImage],
    wanted: &dyn Fn(&BlobDescriptor) -> bool,
    cache: &Cache,
    filler: &SlotFiller,
) -> Result<()> {
    let downloaded: HashSet<&Digest> =
        images.iter().filter(|i| i.pull_from.is_some()).flat_map(|i| i.tree.blobs.iter().map(|b| &b.digest)).collect();
    let mut seen = HashSet::new();
    let mut jobs = Vec::new();
    for image in images {
        let Some(layout) = &image.layout else { continue };
        for blob in &image.tree.blobs {
            let digest = &blob.digest;
            if wanted(blob) && !cache.contains(digest) && !downloaded.contains(digest) && seen.insert(digest.clone()) {
                jobs.push((digest.clone(), layout.blob_path(digest)));
            }
        }
    }
    futures_util::stream::iter(jobs)
        .map(|(digest, path)| filler.fill_checked(digest, path))
        .buffer_unordered(2)
        .try_collect::<Vec<()>>()
        .await?;
    Ok(())
}

/// Downloads every registry blob not yet cached that `wanted` selects, and
/// hands each to `filler` (when given) as soon as it is in the cache. Each
/// blob is fetched once even when several images share it. Returns bytes
/// downloaded.
pub async fn download_missing(
    images: &[&GatheredImage],
    wanted: &dyn Fn(&BlobDescriptor) -> bool,
    registry: &Registry,
    cache: &Cache,
    concurrency: usize,
    progress: &Progress,
    filler: Option<&SlotFiller>,
) -> Result<u64> {
    let mut seen = HashSet::new();
    let mut jobs = Vec::new();
    for image in images {
        let Some(reference) = &image.pull_from else {
            continue;
        };
        let missing: Vec<_> = image
            .tree
            .blobs
            .iter()
            .filter(|b| wanted(b) && !cache.contains(&b.digest) && seen.insert(b.digest.clone()))
            .cloned()
            .collect();
        let total: u64 = missing.iter().map(|b| b.size).sum();
        if missing.is_empty() {
            continue;
        }
        let bar = progress.bar(&image.record.reference, total);
        let remaining = Arc::new(std::sync::atomic::AtomicUsize::new(missing.len()));
        for blob in missing {
            jobs.push((reference.clone(), blob, bar.clone(), remaining.clone(), image.record.reference.clone(), total));
        }
    }
    let downloaded: Vec<u64> = futures_util::stream::iter(jobs)
        .map(|(reference, blob, bar, remaining, name, total)| async move {
            let inc = |n: u64| bar.inc(n);
            let new_sink = || match filler {
                Some(filler) => filler.download_sink(&blob.digest),
                None => Ok(Box::new(cache.writer(&blob.digest).map_err(std::io::Error::other)?) as Box<dyn BlobSink>),
            };
            let n = registry
                .fetch_blob(&reference, &blob.digest, blob.size, &new_sink, &inc)
                .await
                .with_context(|| format!("cannot download blob {} of image {name}", blob.digest))?;
            if remaining.fetch_sub(1, std::sync::atomic::Ordering::SeqCst) == 1 {
                bar.finish("Pulled", &format!("{name} ({})", human_bytes(total)));
            }
            Ok::<u64, anyhow::Error>(n)
        })
        .buffer_unordered(concurrency.max(1))
        .try_collect()
        .await?;
    Ok(downloaded.iter().sum())
}
