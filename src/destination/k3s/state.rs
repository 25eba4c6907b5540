//! What airlock remembers about a node, under `var/lib/airlock/NAME/`: one
//! JSON record per revision (`revision-NNNNNN.json`: bundle, version,
//! manifest digest, every file written with its hash and mode) and a content
//! store (`objects/<sha256 hex>`) holding what those revisions wrote, so a
//! rollback needs neither the old bundle nor the network.
//!
//! Stored content is hard-linked to the installed file when both are on one
//! filesystem (no extra space for what is installed now; a later install
//! replaces files by rename, so the stored inode keeps the old bytes) and
//! copied otherwise. Only the newest revisions keep their content
//! ([`prune`]); older records stay for `history`.
//!
//! This module never writes outside `root/var/lib/airlock/`.

use crate::destination::kube::ResourceRef;
use crate::oci::digest::{Digest, HashingReader};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

pub const STATE_DIR: &str = "var/lib/airlock";

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("cannot write {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a revision record airlock can read")]
    Record {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
}

pub(super) fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StateError + '_ {
    move |source| StateError::Io { path: path.to_path_buf(), source }
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct InstalledFile {
    /// Path under the root, without a leading `/`.
    pub path: String,
    pub sha256: Digest,
    pub mode: String,
    /// A file airlock shares with others (`registries.yaml`): its entries
    /// are merged in, and the file is never removed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub merged: bool,
}

impl InstalledFile {
    pub fn mode_bits(&self) -> u32 {
        u32::from_str_radix(&self.mode, 8).unwrap_or(0o644)
    }
}

#[derive(Serialize, Deserialize, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub struct Revision {
    pub revision: u32,
    pub name: String,
    pub version: String,
    pub manifest_digest: Digest,
    /// `install`, `upgrade`, or `rollback to N`.
    #[serde(default)]
    pub action: String,
    pub files: Vec<InstalledFile>,
    /// Resources of removed manifests still to be deleted from the cluster.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pending_deletions: Vec<ResourceRef>,
    /// Bundle blobs kept in the store although no installed file is them
    /// (chart archives, values files, image indexes): a differential bundle
    /// built against this version takes them from here.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kept_blobs: Vec<Digest>,
    /// The values the site gave (`-f`, `--set`), keyed by chart: an upgrade
    /// that gives none keeps them. On the node, as its files are.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site_values: Option<serde_json::Value>,
    /// The bundle's environment installed (`--env`): an upgrade that names
    /// none keeps it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    /// The site values that are secrets (`CHART.path`): never printed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secret_values: Vec<String>,
}

fn bundle_dir(root: &Path, name: &str) -> PathBuf {
    root.join(STATE_DIR).join(name)
}

pub fn objects_dir(root: &Path, name: &str) -> PathBuf {
    bundle_dir(root, name).join("objects")
}

pub fn object_path(root: &Path, name: &str, digest: &Digest) -> PathBuf {
    objects_dir(root, name).join(digest.hex())
}

/// Every recorded revision of a bundle installed under `root`, oldest first.
pub fn history(root: &Path, name: &str) -> Result<Vec<Revision>, StateError> {
    let dir = bundle_dir(root, name);
    let Ok(entries) = std::fs::read_dir(&dir) else { return Ok(Vec::new()) };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("revision-") && n.ends_with(".json"))
        })
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|p| {
            let bytes = std::fs::read(p).map_err(io(p))?;
            serde_json::from_slice(&bytes).map_err(|source| StateError::Record { path: p.clone(), source })
        })
        .collect()
}

/// Writes `bytes` to `path` crash-safely (`atomic_file`), making its directory.
pub fn write_atomically(path: &Path, bytes: &[u8], mode: u32) -> Result<(), StateError> {
    let dir = path.parent().expect("a file path");
    crate::atomic_file::create_dir_all_durably(dir).map_err(io(dir))?;
    crate::atomic_file::write(path, bytes, mode).map_err(io(path))
}

pub fn record(root: &Path, revision: &Revision) -> Result<(), StateError> {
    let path = bundle_dir(root, &revision.name).join(format!("revision-{:06}.json", revision.revision));
    write_atomically(&path, &serde_json::to_vec_pretty(revision).expect("json"), 0o644)
}

/// The sha256 of a file's content, streamed; `None` when it cannot be read.
pub fn file_digest(path: &Path) -> Option<Digest> {
    let file = std::fs::File::open(path).ok()?;
    let mut hashing = HashingReader::new(std::io::BufReader::with_capacity(1 << 20, file));
    std::io::copy(&mut hashing, &mut std::io::sink()).ok()?;
    Some(hashing.finish().0)
}

/// Makes `to` hold the bytes of `from`: a hard link when possible, a copy
/// otherwise (another filesystem, or a filesystem without links).
pub fn link_or_copy(from: &Path, to: &Path) -> std::io::Result<()> {
    match std::fs::hard_link(from, to) {
        Ok(()) => Ok(()),
        Err(_) => std::fs::copy(from, to).map(|_| ()),
    }
}

/// Keeps the content of the installed file `installed` (hash `digest`) in
/// the store, unless it is there already.
pub fn store(root: &Path, name: &str, installed: &Path, digest: &Digest) -> Result<(), StateError> {
    let object = object_path(root, name, digest);
    if object.exists() {
        return Ok(());
    }
    let dir = object.parent().expect("objects dir");
    crate::atomic_file::create_dir_all_durably(dir).map_err(io(dir))?;
    let tmp = dir.join(format!(".airlock-partial-{}", digest.hex()));
    let _ = std::fs::remove_file(&tmp);
    link_or_copy(installed, &tmp).map_err(io(&tmp))?;
    // A link shares the installed file's synced inode; a copy is synced here.
    std::fs::File::open(&tmp).and_then(|f| f.sync_all()).map_err(io(&tmp))?;
    crate::atomic_file::rename_durably(&tmp, &object).map_err(io(&object))
}

/// Keeps `bytes` (a bundle blob with digest `digest`) in the store.
pub fn store_blob(root: &Path, name: &str, digest: &Digest, bytes: &[u8]) -> Result<(), StateError> {
    let object = object_path(root, name, digest);
    if object.exists() {
        return Ok(());
    }
    write_atomically(&object, bytes, 0o644)
}

/// Drops stored content that none of the newest `keep` revisions uses.
pub fn prune(root: &Path, name: &str, keep: usize) -> Result<usize, StateError> {
    let revisions = history(root, name)?;
    let used: std::collections::BTreeSet<String> = revisions
        .iter()
        .rev()
        .take(keep.max(1))
        .flat_map(|r| r.files.iter().map(|f| &f.sha256).chain(&r.kept_blobs).map(|d| d.hex().to_string()))
        .collect();
    let dir = objects_dir(root, name);
    let Ok(entries) = std::fs::read_dir(&dir) else { return Ok(0) };
    let mut removed = 0;
    for entry in entries.flatten() {
        let file_name = entry.file_name().to_string_lossy().into_owned();
        if !used.contains(&file_name) {
            std::fs::remove_file(entry.path()).map_err(io(&entry.path()))?;
            removed += 1;
        }
    }
    Ok(removed)
}
