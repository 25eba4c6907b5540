//! `airlock inspect`: describe a bundle from its head alone (the manifest and
//! signatures entries), so it costs the same for 10 MB or 10 GB.

use crate::bundle::format::BundleManifest;
use crate::bundle::reader::read_head;
use crate::oci::digest::Digest;
use anyhow::Result;
use serde::Serialize;
use std::path::Path;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InspectReport {
    pub manifest_digest: Digest,
    pub signed: bool,
    /// Who signed (signatures are only checked by `verify`).
    pub signatures: Vec<crate::bundle::format::SignatureRecord>,
    /// Sum of every image, chart and file size (shared blobs counted each time).
    pub total_size: u64,
    /// Size of the distinct blobs.
    pub unique_size: u64,
    /// Bytes the blobs take in the bundle (after compression).
    pub stored_size: u64,
    pub blob_count: usize,
    /// Referrers (signatures, attestations, SBOMs) carried with the images.
    pub referrer_count: usize,
    #[serde(flatten)]
    pub manifest: BundleManifest,
}

pub fn inspect(path: &Path) -> Result<InspectReport> {
    let head = read_head(path)?;
    let m = &head.manifest;
    let total_size = m
        .components
        .iter()
        .map(|c| {
            c.images.iter().map(|i| i.size).sum::<u64>()
                + c.charts.iter().map(|c| c.size + c.values_files.iter().map(|v| v.size).sum::<u64>()).sum::<u64>()
                + c.crds.iter().chain(&c.manifests).map(|d| d.size).sum::<u64>()
                + c.files.iter().map(|f| f.size).sum::<u64>()
        })
        .sum();
    Ok(InspectReport {
        manifest_digest: Digest::of(&head.manifest_bytes),
        signed: !head.signatures.signatures.is_empty(),
        signatures: head.signatures.signatures.clone(),
        total_size,
        unique_size: m.unique_size(),
        stored_size: m.stored_size(),
        blob_count: m.blobs.len(),
        referrer_count: m.images().map(|i| i.referrers.len()).sum(),
        manifest: head.manifest,
    })
}
