//! Walks an image from its top manifest or index down to every blob it
//! needs, applying the platform filter, for any source that can hand out
//! manifests by digest (registry, OCI layout, docker archive). Manifests are
//! stored in the cache as they are read; config and layer blobs are only
//! listed, for the caller to fetch.

use super::digest::Digest;
use super::manifest::{AnyManifest, Platform, PlatformManifest};
use super::media;
use crate::cache::Cache;
use std::future::Future;

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct BlobDescriptor {
    pub digest: Digest,
    pub size: u64,
    pub media_type: String,
}

#[derive(Clone, Debug)]
pub struct ImageTree {
    pub digest: Digest,
    pub media_type: String,
    pub platforms: Vec<PlatformManifest>,
    pub omitted: Vec<PlatformManifest>,
    /// When platforms were left out: the index listing only those carried,
    /// for registries, which refuse an index whose manifests they lack.
    pub filtered_index: Option<Digest>,
    /// Manifests (already in the cache) and the blobs they reference.
    pub manifests: Vec<BlobDescriptor>,
    pub blobs: Vec<BlobDescriptor>,
}

impl ImageTree {
    pub fn all_blobs(&self) -> impl Iterator<Item = &BlobDescriptor> {
        self.manifests.iter().chain(self.blobs.iter())
    }
    pub fn total_size(&self) -> u64 {
        self.all_blobs().map(|b| b.size).sum()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ResolveError<E> {
    #[error(transparent)]
    Source(E),
    #[error("{0}")]
    Invalid(String),
    #[error("image has no manifest for platform {wanted} (it has: {available})")]
    NoPlatform { wanted: String, available: String },
    #[error("cannot store a manifest in the local cache")]
    Cache(#[source] crate::cache::CacheError),
}

/// Walks an image. `fetch(digest)` returns the raw bytes of a child manifest.
pub async fn walk<E, F, Fut>(
    top: (Vec<u8>, Digest, String),
    platforms: &[Platform],
    cache: &Cache,
    fetch: F,
) -> Result<ImageTree, ResolveError<E>>
where
    F: Fn(Digest) -> Fut,
    Fut: Future<Output = Result<Vec<u8>, E>>,
{
    let (top_bytes, top_digest, top_media) = top;
    if Digest::of(&top_bytes) != top_digest {
        return Err(ResolveError::Invalid(format!("manifest content does not match digest {top_digest}")));
    }
    cache.insert_bytes(&top_bytes).map_err(ResolveError::Cache)?;
    let mut tree = ImageTree {
        digest: top_digest.clone(),
        media_type: top_media.clone(),
        platforms: vec![],
        omitted: vec![],
        filtered_index: None,
        manifests: vec![BlobDescriptor {
            digest: top_digest,
            size: top_bytes.len() as u64,
            media_type: top_media.clone(),
        }],
        blobs: vec![],
    };
    let top = AnyManifest::parse(&top_bytes).map_err(ResolveError::Invalid)?;
    if !media::is_index(&top_media) {
        add_image_blobs(&top, &mut tree)?;
        finish(&mut tree);
        return Ok(tree);
    }
    let mut selected = Vec::new();
    for child in &top.manifests {
        let platform = child.platform.as_ref().map_or_else(|| "unknown/unknown".to_string(), |p| p.to_string());
        let keep = platforms.is_empty()
            || child.platform.as_ref().is_some_and(|p| platforms.iter().any(|w| p.satisfies(w)))
            // Attestations (BuildKit) belong to a kept platform manifest.
            || child
                .annotations
                .get("vnd.docker.reference.digest")
                .is_some_and(|d| selected.iter().any(|(_, s): &(String, &super::manifest::Descriptor)| s.digest.to_string() == *d));
        let entry = PlatformManifest { platform: platform.clone(), digest: child.digest.clone() };
        if keep {
            tree.platforms.push(entry);
            selected.push((platform, child));
        } else {
            tree.omitted.push(entry);
        }
    }
    for wanted in platforms {
        let found = top.manifests.iter().any(|c| c.platform.as_ref().is_some_and(|p| p.satisfies(wanted)));
        if !found {
            let available: Vec<String> =
                top.manifests.iter().filter_map(|c| c.platform.as_ref().map(|p| p.to_string())).collect();
            return Err(ResolveError::NoPlatform { wanted: wanted.to_string(), available: available.join(", ") });
        }
    }
    if !tree.omitted.is_empty() {
        let bytes = filtered_index(&top_bytes, &tree.platforms).map_err(ResolveError::Invalid)?;
        let digest = cache.insert_bytes(&bytes).map_err(ResolveError::Cache)?;
        tree.manifests.push(BlobDescriptor {
            digest: digest.clone(),
            size: bytes.len() as u64,
            media_type: top_media.clone(),
        });
        tree.filtered_index = Some(digest);
    }
    for (_, child) in selected {
        let bytes = fetch(child.digest.clone()).await.map_err(ResolveError::Source)?;
        if Digest::of(&bytes) != child.digest {
            return Err(ResolveError::Invalid(format!("manifest {} does not match its digest", child.digest)));
        }
        cache.insert_bytes(&bytes).map_err(ResolveError::Cache)?;
        let media_type = super::manifest::media_type_of(&bytes, Some(&child.media_type));
        let parsed = AnyManifest::parse(&bytes).map_err(ResolveError::Invalid)?;
        if media::is_index(&media_type) {
            return Err(ResolveError::Invalid(format!("nested index {} is not supported", child.digest)));
        }
        tree.manifests.push(BlobDescriptor { digest: child.digest.clone(), size: bytes.len() as u64, media_type });
        add_image_blobs(&parsed, &mut tree)?;
    }
    finish(&mut tree);
    Ok(tree)
}

/// The original index with only the kept manifests, every other field and
/// the key order preserved, serialised compactly (deterministic).
fn filtered_index(original: &[u8], kept: &[PlatformManifest]) -> Result<Vec<u8>, String> {
    let mut index: serde_json::Value = serde_json::from_slice(original).map_err(|e| e.to_string())?;
    let manifests = index.get_mut("manifests").and_then(|m| m.as_array_mut()).ok_or("index without manifests")?;
    manifests.retain(|m| {
        m.get("digest").and_then(|d| d.as_str()).is_some_and(|d| kept.iter().any(|k| k.digest.to_string() == d))
    });
    serde_json::to_vec(&index).map_err(|e| e.to_string())
}

fn add_image_blobs<E>(m: &AnyManifest, tree: &mut ImageTree) -> Result<(), ResolveError<E>> {
    let config = m.config.as_ref().ok_or_else(|| ResolveError::Invalid("image manifest has no config".into()))?;
    for d in std::iter::once(config).chain(&m.layers) {
        tree.blobs.push(BlobDescriptor { digest: d.digest.clone(), size: d.size, media_type: d.media_type.clone() });
    }
    Ok(())
}

fn finish(tree: &mut ImageTree) {
    tree.blobs.sort();
    tree.blobs.dedup_by(|a, b| a.digest == b.digest);
    tree.blobs.retain(|b| !tree.manifests.iter().any(|m| m.digest == b.digest));
}
