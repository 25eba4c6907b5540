//! The images tarball for one node: an uncompressed OCI image layout archive
//! (what `ctr images import`, and so K3s, reads) holding, for each image,
//! the manifest for the node's platform and its config and layers. Each
//! entry in `index.json` carries `io.containerd.image.name` with the image's
//! full original reference, so containerd names it exactly that.
//!
//! Blobs are decoded from the bundle and checked against their digests on
//! the way; the tar is written to a temp file and renamed into place.

use crate::bundle::format::ImageRecord;
use crate::bundle::reader::BundleReader;
use crate::oci::digest::{Digest, HashingWriter};
use crate::oci::manifest::{AnyManifest, Platform};
use crate::oci::media;
use crate::oci::source::parse_reference;
use serde_json::json;
use std::collections::BTreeSet;
use std::io::{BufWriter, Write};
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum ImagesTarError {
    #[error("image {image} has no manifest for platform {platform} (it has: {available})")]
    NoPlatform { image: String, platform: String, available: String },
    #[error("{detail}; copy the bundle again (or, for a differential bundle, upgrade with the full bundle instead)")]
    Corrupt { detail: String },
    #[error("cannot read the bundle")]
    Bundle(#[from] crate::bundle::BundleError),
    #[error("cannot write {path}")]
    Io {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("manifest {digest} is malformed: {detail}")]
    Malformed { digest: Digest, detail: String },
}

/// The manifest of `image` to run on `platform`: the image's own manifest,
/// or the matching entry of its index.
pub(super) fn platform_manifest(
    reader: &BundleReader,
    image: &ImageRecord,
    platform: &Platform,
) -> Result<(Digest, String, u64), ImagesTarError> {
    let record = reader.head.manifest.find_blob(&image.digest).ok_or_else(|| {
        crate::bundle::BundleError::MissingBlob { path: reader.path().into(), digest: image.digest.clone() }
    })?;
    if !media::is_index(&image.media_type) {
        // A single-platform image: its config says which platform it is for.
        let bytes = reader.read_blob(&image.digest)?;
        let manifest = AnyManifest::parse(&bytes)
            .map_err(|detail| ImagesTarError::Malformed { digest: image.digest.clone(), detail })?;
        if let Some(config) = &manifest.config {
            let config: serde_json::Value =
                serde_json::from_slice(&reader.read_blob(&config.digest)?).unwrap_or_default();
            if let (Some(os), Some(arch)) = (config["os"].as_str(), config["architecture"].as_str()) {
                let variant = config["variant"].as_str().map(str::to_string);
                let own = Platform { os: os.into(), architecture: arch.into(), variant };
                if !own.satisfies(platform) {
                    return Err(ImagesTarError::NoPlatform {
                        image: image.reference.clone(),
                        platform: platform.to_string(),
                        available: own.to_string(),
                    });
                }
            }
        }
        return Ok((image.digest.clone(), image.media_type.clone(), record.size));
    }
    let bytes = reader.read_blob(&image.digest)?;
    let index = AnyManifest::parse(&bytes)
        .map_err(|detail| ImagesTarError::Malformed { digest: image.digest.clone(), detail })?;
    let carried: BTreeSet<&Digest> = image.platforms.iter().map(|p| &p.digest).collect();
    index
        .manifests
        .iter()
        .find(|m| carried.contains(&m.digest) && m.platform.as_ref().is_some_and(|p| p.satisfies(platform)))
        .map(|m| (m.digest.clone(), m.media_type.clone(), m.size))
        .ok_or_else(|| ImagesTarError::NoPlatform {
            image: image.reference.clone(),
            platform: platform.to_string(),
            available: image.platforms.iter().map(|p| p.platform.as_str()).collect::<Vec<_>>().join(", "),
        })
}

fn header(name: &str, size: u64) -> tar::Header {
    let mut h = tar::Header::new_ustar();
    h.set_path(name).expect("short ASCII name");
    h.set_size(size);
    h.set_mode(0o644);
    h.set_mtime(0);
    h.set_entry_type(tar::EntryType::Regular);
    h.set_cksum();
    h
}

/// Fails unless every image has a manifest for `platform`.
pub fn check_platform(
    reader: &BundleReader,
    images: &[&ImageRecord],
    platform: &Platform,
) -> Result<(), ImagesTarError> {
    for image in images {
        platform_manifest(reader, image, platform)?;
    }
    Ok(())
}

pub struct ImagesTarReport {
    pub images: Vec<String>,
    pub bytes: u64,
    /// Of the whole tarball, computed as it was written.
    pub digest: Digest,
}

/// Writes the images tarball for `platform` to `out`; `on_bytes` hears of
/// each blob's bytes as they are copied (for a progress bar).
pub fn write_images_tar(
    reader: &BundleReader,
    images: &[&ImageRecord],
    platform: &Platform,
    out: &Path,
    on_bytes: &dyn Fn(u64),
) -> Result<ImagesTarReport, ImagesTarError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ImagesTarError::Io { path, source }
    };
    let dir = out.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let tmp = crate::atomic_file::result_temp_in(dir, ".airlock-partial-").map_err(io(dir))?;
    let tmp_path = tmp.path().to_path_buf();
    let sink = BufWriter::with_capacity(1 << 20, tmp.as_file());
    let (digest, mut writer) = images_tar_into(reader, images, platform, sink, &tmp_path, on_bytes)?;
    writer.flush().map_err(io(&tmp_path))?;
    drop(writer);
    tmp.as_file().sync_all().map_err(io(&tmp_path))?;
    let bytes = tmp.as_file().metadata().map_err(io(&tmp_path))?.len();
    crate::atomic_file::persist_durably(tmp, out).map_err(io(out))?;
    Ok(ImagesTarReport { images: images.iter().map(|i| i.reference.clone()).collect(), bytes, digest })
}

/// The digest the images tarball for `platform` would have, writing
/// nothing (a dry run compares it with the node's).
pub fn images_tar_digest(
    reader: &BundleReader,
    images: &[&ImageRecord],
    platform: &Platform,
) -> Result<Digest, ImagesTarError> {
    Ok(images_tar_into(reader, images, platform, std::io::sink(), Path::new("(nowhere: a dry run)"), &|_| {})?.0)
}

/// The images tarball written into `out` (`path` names it in errors).
fn images_tar_into<W: Write>(
    reader: &BundleReader,
    images: &[&ImageRecord],
    platform: &Platform,
    out: W,
    path: &Path,
    on_bytes: &dyn Fn(u64),
) -> Result<(Digest, W), ImagesTarError> {
    let io = |source| ImagesTarError::Io { path: path.to_path_buf(), source };
    let mut entries = Vec::new();
    let mut blobs: BTreeSet<Digest> = BTreeSet::new();
    for image in images {
        let (digest, media_type, size) = platform_manifest(reader, image, platform)?;
        let bytes = reader.read_blob(&digest)?;
        let manifest = AnyManifest::parse(&bytes)
            .map_err(|detail| ImagesTarError::Malformed { digest: digest.clone(), detail })?;
        blobs.insert(digest.clone());
        for d in manifest.config.iter().chain(&manifest.layers) {
            blobs.insert(d.digest.clone());
        }
        let tag = parse_reference(&image.reference).ok().and_then(|r| r.tag().map(str::to_string));
        let mut annotations = serde_json::Map::new();
        annotations.insert("io.containerd.image.name".into(), image.reference.clone().into());
        if let Some(tag) = tag {
            annotations.insert("org.opencontainers.image.ref.name".into(), tag.into());
        }
        entries.push(json!({"mediaType": media_type, "digest": digest, "size": size, "annotations": annotations}));
    }
    let mut tar = tar::Builder::new(HashingWriter::new(out));
    let layout = br#"{"imageLayoutVersion":"1.0.0"}"#;
    tar.append(&header("oci-layout", layout.len() as u64), &layout[..]).map_err(io)?;
    let index = serde_json::to_vec(&json!({"schemaVersion": 2, "mediaType": media::OCI_INDEX, "manifests": entries}))
        .expect("json");
    tar.append(&header("index.json", index.len() as u64), index.as_slice()).map_err(io)?;
    for digest in &blobs {
        let record = reader.head.manifest.find_blob(digest).ok_or_else(|| crate::bundle::BundleError::MissingBlob {
            path: reader.path().into(),
            digest: digest.clone(),
        })?;
        let entry = header(&format!("blobs/sha256/{}", digest.hex()), record.size);
        let counted = Counted { inner: reader.open_blob_checked(digest)?, on_bytes };
        tar.append(&entry, counted).map_err(|e| match e.kind() {
            std::io::ErrorKind::InvalidData => ImagesTarError::Corrupt { detail: e.to_string() },
            _ => io(e),
        })?;
    }
    Ok(tar.into_inner().map_err(io)?.finish())
}

/// A reader that tells `on_bytes` how much went through it.
struct Counted<'a, R> {
    inner: R,
    on_bytes: &'a dyn Fn(u64),
}

impl<R: std::io::Read> std::io::Read for Counted<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        (self.on_bytes)(n as u64);
        Ok(n)
    }
}
