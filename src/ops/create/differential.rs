//! Differential bundles at create time: the base (an earlier bundle, its
//! parts, or the `inspect --json` output of it, so the bundle itself need
//! not be at hand) gives the blobs the site already has; those are listed
//! in the new manifest as `inBase` and not carried.

use crate::bundle::format::{BaseRecord, BlobRecord, Encoding};
use crate::oci::digest::Digest;
use crate::oci::resolve::BlobDescriptor;
use anyhow::{Context, Result};
use std::collections::HashSet;
use std::path::Path;

pub struct Base {
    pub record: BaseRecord,
    /// Every blob the base lists (carried or itself left to its own base):
    /// a site that installed the base holds them all.
    pub digests: HashSet<Digest>,
}

/// Reads the base from a bundle (or its parts) or from `inspect --json`
/// output (`inspected`, or a `.json` name).
pub fn load_base(path: &Path, inspected: bool) -> Result<Base> {
    let is_json = inspected || path.extension().is_some_and(|e| e == "json");
    if !is_json {
        let head = crate::bundle::reader::read_head(path)
            .with_context(|| format!("cannot read base bundle {}", path.display()))?;
        return Ok(Base {
            record: BaseRecord {
                name: head.manifest.metadata.name.clone(),
                version: head.manifest.metadata.version.clone(),
                manifest_digest: Some(Digest::of(&head.manifest_bytes)),
                registry: None,
            },
            digests: head.manifest.blobs.iter().map(|b| b.digest.clone()).collect(),
        });
    }
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Inspected {
        manifest_digest: Digest,
        metadata: crate::bundle::format::Metadata,
        blobs: Vec<BlobRecord>,
    }
    let text = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let inspected: Inspected = serde_json::from_slice(&text)
        .with_context(|| format!("{} is not the output of `airlock inspect --json`", path.display()))?;
    Ok(Base {
        record: BaseRecord {
            name: inspected.metadata.name,
            version: inspected.metadata.version,
            manifest_digest: Some(inspected.manifest_digest),
            registry: None,
        },
        digests: inspected.blobs.into_iter().map(|b| b.digest).collect(),
    })
}

/// The image blobs a registry already holds under the names `push` would
/// give them (HEAD requests, bounded in number and concurrency).
pub async fn registry_base(
    dest: &str,
    images: &[&super::images::GatheredImage],
    registry: &crate::oci::registry::Registry,
    concurrency: usize,
) -> Result<Base> {
    use crate::destination::registry::{target_repository, Destination};
    use futures_util::{StreamExt, TryStreamExt};
    let destination = Destination::parse(dest)?;
    let mut checks: Vec<(oci_client::Reference, Digest)> = Vec::new();
    for image in images {
        let source = crate::oci::source::parse_reference(&image.record.reference).map_err(anyhow::Error::msg)?;
        let repo = target_repository(&destination, &source, false);
        let at = oci_client::Reference::with_tag(destination.host.clone(), repo, "latest".into());
        for blob in image.tree.all_blobs() {
            checks.push((at.clone(), blob.digest.clone()));
        }
    }
    checks.sort_by(|a, b| (a.0.whole(), &a.1).cmp(&(b.0.whole(), &b.1)));
    checks.dedup();
    let held: Vec<Option<Digest>> = futures_util::stream::iter(checks)
        .map(|(repo, digest)| async move {
            let exists = registry
                .blob_exists(&repo, &digest)
                .await
                .with_context(|| format!("cannot ask {} which blobs it holds", repo.registry()))?;
            Ok::<_, anyhow::Error>(exists.then_some(digest))
        })
        .buffer_unordered(concurrency.max(1))
        .try_collect()
        .await?;
    Ok(Base {
        record: BaseRecord {
            name: String::new(),
            version: String::new(),
            manifest_digest: None,
            registry: Some(dest.to_string()),
        },
        digests: held.into_iter().flatten().collect(),
    })
}

/// Records for blobs left to the base: listed, not stored.
pub fn base_records(blobs: Vec<BlobDescriptor>) -> impl Iterator<Item = BlobRecord> {
    blobs.into_iter().map(|b| BlobRecord {
        digest: b.digest,
        size: b.size,
        media_type: b.media_type,
        encoding: Encoding::Identity,
        stored_size: 0,
        in_base: true,
    })
}
