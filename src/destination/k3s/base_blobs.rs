//! What a K3s node still holds of earlier installs, as blobs, for a
//! differential bundle (one that leaves to its base every blob the base
//! has): the store's objects (`objects/HEX`: files, CRDs and manifests as
//! installed, plus the chart archives, values files and image indexes each
//! install keeps) and the blobs inside the stored images tarballs. It only
//! reads, and every blob is checked against its digest as it is read.

use super::layout::{ImagesVia, IMAGES_DIR};
use super::{state, InstallError};
use crate::bundle::format::Component;
use crate::bundle::reader::{BaseBlobs, BundleReader};
use crate::oci::digest::{CheckedReader, Digest};
use crate::oci::manifest::AnyManifest;
use crate::oci::media;
use std::collections::HashMap;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// A blob inside a stored images tarball.
struct TarEntry {
    tarball: PathBuf,
    offset: u64,
    size: u64,
}

pub struct NodeBlobs {
    /// `objects` directories, one per bundle name looked under.
    stores: Vec<PathBuf>,
    in_tarballs: HashMap<Digest, TarEntry>,
}

impl NodeBlobs {
    /// What the node under `root` holds for the bundles named `names` (the
    /// new bundle's name and its base's, when they differ).
    pub fn load(root: &Path, names: &[&str]) -> Result<Self, InstallError> {
        let mut node = NodeBlobs { stores: Vec::new(), in_tarballs: HashMap::new() };
        for name in names.iter().collect::<std::collections::BTreeSet<_>>() {
            node.stores.push(state::objects_dir(root, name));
            let history = state::history(root, name)?;
            let tarballs: std::collections::BTreeSet<&Digest> = history
                .iter()
                .flat_map(|r| &r.files)
                .filter(|f| f.path.starts_with(IMAGES_DIR) && f.path.ends_with(".tar"))
                .map(|f| &f.sha256)
                .collect();
            for tarball in tarballs {
                // Pruned, or not plain tar (K3s's own images, compressed):
                // nothing to take from it.
                let _ = node.index_tarball(&state::object_path(root, name, tarball));
            }
        }
        Ok(node)
    }

    /// Notes where each `blobs/sha256/HEX` entry of a tarball lies, reading
    /// headers only.
    fn index_tarball(&mut self, tarball: &Path) -> std::io::Result<()> {
        let mut archive = tar::Archive::new(std::fs::File::open(tarball)?);
        for entry in archive.entries_with_seek()? {
            let entry = entry?;
            let path = entry.path()?;
            let Some(hex) = path.to_str().and_then(|p| p.strip_prefix("blobs/sha256/")) else { continue };
            let Ok(digest) = Digest::from_hex(hex) else { continue };
            let at = TarEntry { tarball: tarball.to_path_buf(), offset: entry.raw_file_position(), size: entry.size() };
            self.in_tarballs.entry(digest).or_insert(at);
        }
        Ok(())
    }

    fn object(&self, digest: &Digest) -> Option<PathBuf> {
        self.stores.iter().map(|s| s.join(digest.hex())).find(|p| p.is_file())
    }
}

impl BaseBlobs for NodeBlobs {
    fn holds(&self, digest: &Digest) -> bool {
        self.in_tarballs.contains_key(digest) || self.object(digest).is_some()
    }

    fn open(&self, digest: &Digest) -> Option<std::io::Result<Box<dyn Read + Send>>> {
        let open = |path: &Path, offset: u64, size: Option<u64>| -> std::io::Result<Box<dyn Read + Send>> {
            let named = |e: std::io::Error| std::io::Error::new(e.kind(), format!("{}: {e}", path.display()));
            let mut file = std::fs::File::open(path).map_err(named)?;
            file.seek(SeekFrom::Start(offset)).map_err(named)?;
            let origin = match size {
                Some(_) => format!("the entry for {digest} in {}", path.display()),
                None => path.display().to_string(),
            };
            let content = std::io::BufReader::with_capacity(256 * 1024, file.take(size.unwrap_or(u64::MAX)));
            Ok(Box::new(CheckedReader::new(content, digest.clone(), origin)))
        };
        if let Some(path) = self.object(digest) {
            return Some(open(&path, 0, None));
        }
        let entry = self.in_tarballs.get(digest)?;
        Some(open(&entry.tarball, entry.offset, Some(entry.size)))
    }
}

/// The blobs that installing `components` needs, that the bundle leaves to
/// its base and that `node` does not hold, each with what needs it.
pub fn missing(
    reader: &BundleReader,
    components: &[&Component],
    images_via: &ImagesVia,
) -> Result<Vec<String>, InstallError> {
    let left_to_base = |d: &Digest| reader.head.manifest.find_blob(d).is_some_and(|b| b.in_base);
    let mut missing = Vec::new();
    let mut need = |digest: &Digest, what: &str| {
        let absent = left_to_base(digest) && !reader.base_holds(digest);
        if absent {
            missing.push(format!("{digest} ({what})"));
        }
        !absent
    };
    for c in components {
        for chart in &c.charts {
            need(&chart.archive_digest, &format!("chart {}", chart.name));
            for file in &chart.values_files {
                need(&file.digest, &format!("values file {} of chart {}", file.name, chart.name));
            }
        }
        for doc in c.crds.iter().chain(&c.manifests) {
            need(&doc.digest, &format!("manifest {}", doc.name));
        }
        for file in &c.files {
            need(&file.digest, &format!("file {}", file.target));
        }
        let ImagesVia::Tarball { platform } = images_via else { continue };
        for image in &c.images {
            if !need(&image.digest, &format!("image {}", image.reference)) {
                continue;
            }
            let manifest = if media::is_index(&image.media_type) {
                let (digest, _, _) = super::images::platform_manifest(reader, image, platform)?;
                if !need(&digest, &format!("{platform} manifest of image {}", image.reference)) {
                    continue;
                }
                digest
            } else {
                image.digest.clone()
            };
            let bytes = reader.read_blob(&manifest)?;
            let parsed = AnyManifest::parse(&bytes)
                .map_err(|detail| super::images::ImagesTarError::Malformed { digest: manifest.clone(), detail })?;
            for blob in parsed.config.iter().chain(&parsed.layers) {
                need(&blob.digest, &format!("layer or config of image {}", image.reference));
            }
        }
    }
    Ok(missing)
}
