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

/// Reads the base from a bundle (or its parts) or from `inspect --json` output.
pub fn load_base(path: &Path) -> Result<Base> {
    let is_json = path.extension().is_some_and(|e| e == "json");
    if !is_json {
        let head = crate::bundle::reader::read_head(path)
            .with_context(|| format!("cannot read base bundle {}", path.display()))?;
        return Ok(Base {
            record: BaseRecord {
                name: head.manifest.metadata.name.clone(),
                version: head.manifest.metadata.version.clone(),
                manifest_digest: Digest::of(&head.manifest_bytes),
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
            manifest_digest: inspected.manifest_digest,
        },
        digests: inspected.blobs.into_iter().map(|b| b.digest).collect(),
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
