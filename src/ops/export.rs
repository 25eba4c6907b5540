//! `airlock export`: copy one image out of a bundle into an OCI image layout
//! directory (for skopeo, containerd or any OCI tool), or every image for
//! one platform into a tarball for containerd and K3s. The bundle's
//! signature is checked first, and each blob's digest on the way.

use crate::bundle::reader::BundleReader;
use crate::bundle::BundleError;
use crate::oci::digest::{Digest, HashingReader};
use crate::oci::manifest::{AnyManifest, Descriptor};
use crate::oci::media;
use crate::sign::trust::{TrustOptions, Verdict};
use crate::sign::trusted;
use anyhow::{bail, Context, Result};
use serde_json::json;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub struct ExportReport {
    pub reference: String,
    pub digest: Digest,
    pub blobs: usize,
    pub layout: PathBuf,
    pub ref_name: String,
}

/// Finds an image by full reference, short reference (`redis:7`) or digest.
fn find_image<'a>(reader: &'a BundleReader, wanted: &str) -> Result<&'a crate::bundle::format::ImageRecord> {
    let normalized = crate::oci::source::parse_reference(wanted).ok().map(|r| r.whole());
    let images: Vec<_> = reader.head.manifest.images().collect();
    images
        .iter()
        .find(|i| i.reference == wanted || Some(&i.reference) == normalized.as_ref() || i.digest.to_string() == wanted)
        .copied()
        .ok_or_else(|| {
            let names: Vec<&str> = images.iter().map(|i| i.reference.as_str()).collect();
            anyhow::anyhow!("image `{wanted}` is not in {} (it has: {})", reader.path().display(), names.join(", "))
        })
}

pub fn export(bundle: &Path, image: &str, layout: &Path, trust: &TrustOptions) -> Result<(ExportReport, Verdict)> {
    let trusted = trusted::open(bundle, None, trust)?;
    let reader = &trusted.reader;
    let record = find_image(reader, image)?.clone();
    crate::atomic_file::create_dir_all_durably(&layout.join("blobs/sha256"))
        .with_context(|| format!("cannot create {}", layout.display()))?;

    let omitted: Vec<&Digest> = record.omitted.iter().map(|p| &p.digest).collect();
    let mut pending = vec![record.digest.clone()];
    let mut copied = 0;
    while let Some(digest) = pending.pop() {
        let bytes = copy_blob(reader, &digest, layout)?;
        copied += 1;
        if let Some(bytes) = bytes {
            let parsed = AnyManifest::parse(&bytes).map_err(anyhow::Error::msg)?;
            for d in parsed.config.iter().chain(&parsed.layers).chain(&parsed.manifests) {
                if !omitted.contains(&&d.digest) {
                    pending.push(d.digest.clone());
                }
            }
        }
    }

    let ref_name = crate::oci::source::parse_reference(&record.reference)
        .ok()
        .and_then(|r| r.tag().map(str::to_string))
        .unwrap_or_else(|| "latest".into());
    let size = reader.head.manifest.find_blob(&record.digest).map_or(0, |b| b.size);
    let descriptor = Descriptor {
        media_type: record.media_type.clone(),
        digest: record.digest.clone(),
        size,
        platform: None,
        annotations: BTreeMap::from([("org.opencontainers.image.ref.name".to_string(), ref_name.clone())]),
    };
    write_layout_index(layout, descriptor)?;
    let report = ExportReport {
        reference: record.reference,
        digest: record.digest,
        blobs: copied,
        layout: layout.to_path_buf(),
        ref_name,
    };
    Ok((report, trusted.verdict))
}

/// Copies one blob, verifying it. Returns its bytes when it is a manifest or
/// index, so the caller can follow its references.
fn copy_blob(reader: &BundleReader, digest: &Digest, layout: &Path) -> Result<Option<Vec<u8>>> {
    let record =
        reader.head.manifest.find_blob(digest).ok_or_else(|| anyhow::anyhow!("blob {digest} is not in the bundle"))?;
    let is_manifest = media::is_manifest(&record.media_type) || media::is_index(&record.media_type);
    let dest = layout.join("blobs/sha256").join(digest.hex());
    let mut tmp = crate::atomic_file::result_temp_in(&layout.join("blobs/sha256"), ".tmp")?;
    let mut hashing = HashingReader::new(reader.open_blob(digest)?);
    std::io::copy(&mut hashing, tmp.as_file_mut()).with_context(|| format!("cannot copy blob {digest}"))?;
    let (actual, _) = hashing.finish();
    if actual != *digest {
        let path = reader.path().to_path_buf();
        let entry = format!("blobs/sha256/{}", digest.hex());
        return Err(BundleError::DigestMismatch { path, entry, expected: digest.clone(), actual }.into());
    }
    crate::atomic_file::persist_durably(tmp, &dest).with_context(|| format!("cannot write {}", dest.display()))?;
    Ok(if is_manifest { Some(std::fs::read(&dest)?) } else { None })
}

fn write_layout_index(layout: &Path, descriptor: Descriptor) -> Result<()> {
    let index_path = layout.join("index.json");
    let mut manifests: Vec<Descriptor> = match std::fs::read(&index_path) {
        Ok(bytes) => serde_json::from_slice::<serde_json::Value>(&bytes)
            .ok()
            .and_then(|v| serde_json::from_value(v["manifests"].clone()).ok())
            .with_context(|| format!("{} exists but is not an OCI index", index_path.display()))?,
        Err(_) => Vec::new(),
    };
    let name = descriptor.annotations.get("org.opencontainers.image.ref.name").cloned();
    manifests.retain(|d| d.annotations.get("org.opencontainers.image.ref.name") != name.as_ref());
    manifests.push(descriptor);
    let index = json!({"schemaVersion": 2, "mediaType": media::OCI_INDEX, "manifests": manifests});
    std::fs::write(layout.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#)?;
    std::fs::write(&index_path, serde_json::to_vec_pretty(&index)?)?;
    Ok(())
}

/// Writes every image of the bundle, for one platform, as a tarball that
/// `ctr images import` (and K3s's air-gap image directory) reads.
pub fn export_images_tar(
    bundle: &Path,
    platform: &crate::oci::manifest::Platform,
    out: &Path,
    trust: &TrustOptions,
    progress: &crate::output::Progress,
) -> Result<(crate::destination::k3s::images::ImagesTarReport, Verdict)> {
    let trusted = trusted::open(bundle, None, trust)?;
    let reader = &trusted.reader;
    let mut seen = std::collections::HashSet::new();
    let images: Vec<_> = reader.head.manifest.images().filter(|i| seen.insert(i.reference.clone())).collect();
    if images.is_empty() {
        bail!("{} holds no images", bundle.display());
    }
    let bar = progress.bar(&out.display().to_string(), images.iter().map(|i| i.size).sum());
    let report = crate::destination::k3s::images::write_images_tar(reader, &images, platform, out, &|n| bar.inc(n))
        .with_context(|| format!("cannot write {}", out.display()))?;
    bar.finish("Wrote", &format!("{} ({})", out.display(), crate::output::human_bytes(report.bytes)));
    Ok((report, trusted.verdict))
}
