//! Local image sources: an OCI image layout directory and a `docker save`
//! archive. Both are read into the cache, checked against their digests.

use super::digest::Digest;
use super::manifest::Descriptor;
use super::media;
use crate::cache::Cache;
use serde::Deserialize;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum LocalImageError {
    #[error("cannot read {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {detail}")]
    Invalid { path: PathBuf, detail: String },
    #[error("blob {digest} from {path} cannot be stored in the cache")]
    Cache {
        path: PathBuf,
        digest: Digest,
        #[source]
        source: crate::cache::CacheError,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> LocalImageError + '_ {
    move |source| LocalImageError::Io { path: path.to_path_buf(), source }
}

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

#[derive(Deserialize)]
struct LayoutIndex {
    manifests: Vec<Descriptor>,
}

const REF_NAME: &str = "org.opencontainers.image.ref.name";

pub struct OciLayout {
    pub dir: PathBuf,
}

impl OciLayout {
    pub fn blob_path(&self, digest: &Digest) -> PathBuf {
        self.dir.join("blobs/sha256").join(digest.hex())
    }

    pub fn read_blob(&self, digest: &Digest) -> Result<Vec<u8>, LocalImageError> {
        let path = self.blob_path(digest);
        let bytes = std::fs::read(&path).map_err(io(&path))?;
        if Digest::of(&bytes) != *digest {
            return Err(LocalImageError::Invalid { path, detail: format!("content does not match digest {digest}") });
        }
        Ok(bytes)
    }

    /// Finds the top manifest for `tag` (or the only one when no tag is
    /// given) and returns it with the reference name the layout records.
    pub fn select(&self, tag: Option<&str>) -> Result<(Descriptor, Option<String>), LocalImageError> {
        let index = self.index()?;
        let names: Vec<String> = index.manifests.iter().filter_map(|m| m.annotations.get(REF_NAME).cloned()).collect();
        let found = match tag {
            Some(tag) => index.manifests.iter().find(|m| {
                m.annotations
                    .get(REF_NAME)
                    .is_some_and(|n| n == tag || n.rsplit_once(':').is_some_and(|(_, t)| t == tag))
            }),
            None if index.manifests.len() == 1 => index.manifests.first(),
            None => None,
        };
        let found = found.ok_or_else(|| LocalImageError::Invalid {
            path: self.dir.clone(),
            detail: match tag {
                Some(tag) => format!("no image tagged `{tag}` (tags here: {})", names.join(", ")),
                None => {
                    format!("holds {} images; add `:TAG` to choose one ({})", index.manifests.len(), names.join(", "))
                }
            },
        })?;
        Ok((found.clone(), found.annotations.get(REF_NAME).cloned()))
    }

    /// The layout's `index.json`, parsed once per run: a spec naming a
    /// thousand images of one layout parsed its index a thousand times
    /// (create's time grew with the square of the image count). The layout
    /// is an input that does not change while airlock runs.
    fn index(&self) -> Result<Arc<LayoutIndex>, LocalImageError> {
        static PARSED: OnceLock<Mutex<HashMap<PathBuf, Arc<LayoutIndex>>>> = OnceLock::new();
        let parsed = PARSED.get_or_init(Default::default);
        if let Some(index) = parsed.lock().expect("not poisoned").get(&self.dir) {
            return Ok(index.clone());
        }
        let index_path = self.dir.join("index.json");
        let text = std::fs::read(&index_path).map_err(io(&index_path))?;
        let index: LayoutIndex = serde_json::from_slice(&text).map_err(|e| LocalImageError::Invalid {
            path: index_path.clone(),
            detail: format!("not an OCI image layout index: {e}"),
        })?;
        let index = Arc::new(index);
        parsed.lock().expect("not poisoned").insert(self.dir.clone(), index.clone());
        Ok(index)
    }

    pub fn copy_to_cache(&self, digest: &Digest, cache: &Cache) -> Result<(), LocalImageError> {
        if cache.contains(digest) {
            return Ok(());
        }
        let path = self.blob_path(digest);
        let file = File::open(&path).map_err(io(&path))?;
        cache
            .insert_reader(BufReader::with_capacity(1 << 20, file), Some(digest))
            .map_err(|source| LocalImageError::Cache { path, digest: digest.clone(), source })?;
        Ok(())
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ArchiveEntry {
    config: String,
    #[serde(default)]
    repo_tags: Option<Vec<String>>,
    layers: Vec<String>,
}

/// An image converted from a `docker save` archive: an OCI manifest built
/// over the archive's config and layers (layers keep their exact bytes, so
/// uncompressed layers keep digests equal to their diff IDs).
pub struct ArchiveImage {
    pub manifest: Vec<u8>,
    pub repo_tags: Vec<String>,
}

/// Reads a docker archive into the cache. Two passes over the tar: one to
/// find `manifest.json`, one to copy the files it names.
pub fn load_docker_archive(path: &Path, cache: &Cache) -> Result<ArchiveImage, LocalImageError> {
    let invalid = |detail: String| LocalImageError::Invalid { path: path.to_path_buf(), detail };
    let mut entries: Option<Vec<ArchiveEntry>> = None;
    let open = || -> Result<tar::Archive<BufReader<File>>, LocalImageError> {
        Ok(tar::Archive::new(BufReader::with_capacity(1 << 20, File::open(path).map_err(io(path))?)))
    };
    let mut archive = open()?;
    for entry in archive.entries().map_err(io(path))? {
        let mut entry = entry.map_err(io(path))?;
        if entry.path_bytes().as_ref() == b"manifest.json" {
            let mut text = Vec::new();
            entry.read_to_end(&mut text).map_err(io(path))?;
            entries = Some(serde_json::from_slice(&text).map_err(|e| invalid(format!("bad manifest.json: {e}")))?);
            break;
        }
    }
    let entries = entries.ok_or_else(|| invalid("no manifest.json; is this `docker save` output?".into()))?;
    let [image] = entries.as_slice() else {
        return Err(invalid(format!("holds {} images; airlock reads archives of one image", entries.len())));
    };
    let wanted: Vec<&str> =
        std::iter::once(image.config.as_str()).chain(image.layers.iter().map(String::as_str)).collect();
    let mut found: std::collections::HashMap<String, (Digest, u64, [u8; 4])> = Default::default();
    let mut archive = open()?;
    for entry in archive.entries().map_err(io(path))? {
        let mut entry = entry.map_err(io(path))?;
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        if !wanted.contains(&name.as_str()) || found.contains_key(&name) {
            continue;
        }
        let mut magic = [0u8; 4];
        let mut head = Vec::with_capacity(4);
        (&mut entry).take(4).read_to_end(&mut head).map_err(io(path))?;
        magic[..head.len()].copy_from_slice(&head);
        let (digest, size) = cache
            .insert_reader(head.as_slice().chain(&mut entry), None)
            .map_err(|source| LocalImageError::Cache { path: path.into(), digest: Digest::of(b""), source })?;
        found.insert(name, (digest, size, magic));
    }
    let lookup = |name: &str| {
        found.get(name).cloned().ok_or_else(|| invalid(format!("entry `{name}` named in manifest.json is missing")))
    };
    let (config_digest, config_size, _) = lookup(&image.config)?;
    let mut layers = Vec::new();
    for layer in &image.layers {
        let (digest, size, magic) = lookup(layer)?;
        let media_type = if magic[..2] == [0x1f, 0x8b] {
            media::OCI_LAYER_GZIP
        } else if magic == [0x28, 0xb5, 0x2f, 0xfd] {
            media::OCI_LAYER_ZSTD
        } else {
            media::OCI_LAYER_TAR
        };
        layers.push(serde_json::json!({"mediaType": media_type, "digest": digest, "size": size}));
    }
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": media::OCI_MANIFEST,
        "config": {"mediaType": media::OCI_CONFIG, "digest": config_digest, "size": config_size},
        "layers": layers,
    });
    let manifest = serde_json::to_vec(&manifest).expect("manifest serializes");
    Ok(ArchiveImage { manifest, repo_tags: image.repo_tags.clone().unwrap_or_default() })
}
