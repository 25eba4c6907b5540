//! `airlock diff OLD NEW`: what a new bundle changes against an earlier one,
//! for change review before it is carried in or installed: images added,
//! removed or changed (tag, digest), charts and their versions, the objects
//! each chart renders (in the site's environment, with its values), CRDs
//! (schema changes flagged), files, and who signed. Reads both heads, and
//! the chart, CRD and values blobs it compares; never images' layers.
//!
//! A bundle may be a file, its parts, or a differential bundle: blobs one
//! leaves to its base are read from the other bundle when that is the base.
//! Signatures are reported, not checked (`verify` checks them).

mod objects;

use crate::bundle::base;
use crate::bundle::format::{BundleManifest, ChartRecord, FileRecord, ImageRecord};
use crate::bundle::reader::BundleReader;
use crate::chart::given::GivenValues;
use crate::diagnosis::Usage;
use crate::oci::digest::Digest;
use anyhow::{Context, Result};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use objects::{ChartObjects, CrdChange};

pub struct DiffOptions {
    pub old: PathBuf,
    pub new: PathBuf,
    /// The environment both are rendered in (`--env`), if any.
    pub environment: Option<String>,
    /// The site's values, keyed by chart name, as `install -f` takes them.
    pub values: GivenValues,
}

/// One side's identity.
#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct Side {
    pub path: PathBuf,
    pub name: String,
    pub version: String,
    pub manifest_digest: Digest,
    pub format: String,
    /// Key IDs of the signatures it carries (not checked here).
    pub signed_by: Vec<String>,
    /// For a differential bundle: the bundle it leaves blobs to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base: Option<String>,
}

/// How one named thing differs.
#[derive(Serialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum Kind {
    Added,
    Removed,
    Changed,
}

#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct ImageChange {
    pub kind: Kind,
    /// The repository (`registry/path`), which names the image across tags.
    pub repository: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old: Option<ImageSide>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new: Option<ImageSide>,
}

#[derive(Serialize, Debug, Clone, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ImageSide {
    pub reference: String,
    pub digest: Digest,
    pub size: u64,
    pub platforms: Vec<String>,
}

#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct ChartChange {
    pub kind: Kind,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_version: Option<String>,
    /// The packaged chart differs (it may, with the same version).
    pub content_changed: bool,
    /// Its values as the bundle gives them (files, inline) differ.
    pub values_changed: bool,
}

#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct FileChange {
    pub kind: Kind,
    pub target: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old: Option<FileSide>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new: Option<FileSide>,
}

#[derive(Serialize, Debug, Clone, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct FileSide {
    pub digest: Digest,
    pub size: u64,
    pub mode: String,
}

#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct BundleDiff {
    pub old: Side,
    pub new: Side,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    pub images: Vec<ImageChange>,
    pub charts: Vec<ChartChange>,
    /// Per chart present in both or either: the objects it renders.
    pub objects: Vec<ChartObjects>,
    pub crds: Vec<CrdChange>,
    pub files: Vec<FileChange>,
    /// Key IDs that sign the new bundle and not the old, and the reverse.
    pub signers_added: Vec<String>,
    pub signers_removed: Vec<String>,
}

impl BundleDiff {
    /// Whether anything differs beyond the manifest bytes themselves.
    pub fn is_empty(&self) -> bool {
        self.images.is_empty()
            && self.charts.is_empty()
            && self.objects.iter().all(|c| c.changes.is_empty() && c.note.is_none())
            && self.crds.is_empty()
            && self.files.is_empty()
            && self.signers_added.is_empty()
            && self.signers_removed.is_empty()
    }
}

pub fn diff(options: &DiffOptions) -> Result<BundleDiff> {
    let old = open(&options.old, &options.new)?;
    let new = open(&options.new, &options.old)?;
    let (om, nm) = (&old.head.manifest, &new.head.manifest);
    if let Some(env) = &options.environment {
        if !om.environments.contains_key(env) && !nm.environments.contains_key(env) {
            let known: Vec<&String> = nm.environments.keys().chain(om.environments.keys()).collect();
            return Err(
                Usage(format!("--env {env}: neither bundle has that environment (they have: {known:?})")).into()
            );
        }
    }
    let site_values = options.values.read().map_err(Usage)?;
    let (old_keys, new_keys) = (signers(&old), signers(&new));
    let renders = objects::Renders { environment: options.environment.as_deref(), site_values: &site_values };
    let (objects, crds) = renders.compare(&old, &new)?;
    Ok(BundleDiff {
        old: side(&options.old, &old),
        new: side(&options.new, &new),
        environment: options.environment.clone(),
        images: images(om, nm),
        charts: chart_changes(om, nm),
        objects,
        crds,
        files: files(om, nm),
        signers_added: new_keys.iter().filter(|k| !old_keys.contains(k)).cloned().collect(),
        signers_removed: old_keys.iter().filter(|k| !new_keys.contains(k)).cloned().collect(),
    })
}

/// Opens `path`; when it is differential and `other` is its base, the base's
/// blobs are read from `other`.
fn open(path: &Path, other: &Path) -> Result<BundleReader> {
    let reader = BundleReader::open(path)?;
    let is_base_of = |reader: &BundleReader| {
        let Some(base) = &reader.head.manifest.base else { return false };
        let Ok(other) = crate::bundle::reader::read_head(other) else { return false };
        base.manifest_digest.as_ref().is_none_or(|d| *d == Digest::of(&other.manifest_bytes))
            && base.name == other.manifest.metadata.name
            && base.version == other.manifest.metadata.version
    };
    if is_base_of(&reader) {
        return base::attach(reader, path, Some(other)).with_context(|| format!("cannot read {}", path.display()));
    }
    Ok(reader)
}

fn side(path: &Path, reader: &BundleReader) -> Side {
    let m = &reader.head.manifest;
    Side {
        path: path.to_path_buf(),
        name: m.metadata.name.clone(),
        version: m.metadata.version.clone(),
        manifest_digest: Digest::of(&reader.head.manifest_bytes),
        format: format!("{}.{}", m.format, m.format_minor),
        signed_by: signers(reader),
        base: m.base.as_ref().map(|b| b.describe()),
    }
}

fn signers(reader: &BundleReader) -> Vec<String> {
    let mut keys: Vec<String> = reader.head.signatures.signatures.iter().map(|s| s.key_id.clone()).collect();
    keys.sort();
    keys.dedup();
    keys
}

/// `registry/path` of a reference: what stays when only its tag or digest
/// moves.
fn repository(reference: &str) -> String {
    let name = reference.split('@').next().unwrap_or(reference);
    match name.rfind(':') {
        Some(colon) if !name[colon..].contains('/') => name[..colon].to_string(),
        _ => name.to_string(),
    }
}

fn image_side(image: &ImageRecord) -> ImageSide {
    ImageSide {
        reference: image.reference.clone(),
        digest: image.digest.clone(),
        size: image.size,
        platforms: image.platforms.iter().map(|p| p.platform.to_string()).collect(),
    }
}

/// Images matched by repository; several tags of one repository are
/// matched by reference first.
fn images(old: &BundleManifest, new: &BundleManifest) -> Vec<ImageChange> {
    let index = |m: &BundleManifest| -> BTreeMap<String, ImageSide> {
        m.images().map(|i| (i.reference.clone(), image_side(i))).collect()
    };
    let (mut before, mut after) = (index(old), index(new));
    let mut changes = Vec::new();
    // The same reference on both sides: changed when its digest moved.
    let same: Vec<String> = before.keys().filter(|r| after.contains_key(*r)).cloned().collect();
    for reference in same {
        let (o, n) = (before.remove(&reference).expect("listed"), after.remove(&reference).expect("listed"));
        if o.digest != n.digest {
            changes.push(ImageChange {
                kind: Kind::Changed,
                repository: repository(&reference),
                old: Some(o),
                new: Some(n),
            });
        }
    }
    // Then one old and one new of a repository: its tag moved.
    let mut by_repository: BTreeMap<String, (Vec<ImageSide>, Vec<ImageSide>)> = BTreeMap::new();
    for (reference, side) in before {
        by_repository.entry(repository(&reference)).or_default().0.push(side);
    }
    for (reference, side) in after {
        by_repository.entry(repository(&reference)).or_default().1.push(side);
    }
    for (repo, (olds, mut news)) in by_repository {
        for o in olds {
            // The new tag most like the old one (`1.0` -> `1.1` before `1`).
            let closest = (0..news.len()).max_by_key(|&i| common_prefix(&o.reference, &news[i].reference));
            match closest {
                Some(i) => {
                    let n = news.remove(i);
                    changes.push(ImageChange {
                        kind: Kind::Changed,
                        repository: repo.clone(),
                        old: Some(o),
                        new: Some(n),
                    });
                }
                None => {
                    changes.push(ImageChange { kind: Kind::Removed, repository: repo.clone(), old: Some(o), new: None })
                }
            }
        }
        for n in news {
            changes.push(ImageChange { kind: Kind::Added, repository: repo.clone(), old: None, new: Some(n) });
        }
    }
    changes.sort_by(|a, b| a.repository.cmp(&b.repository));
    changes
}

fn common_prefix(a: &str, b: &str) -> usize {
    a.chars().zip(b.chars()).take_while(|(x, y)| x == y).count()
}

fn charts_of(m: &BundleManifest) -> BTreeMap<&str, &ChartRecord> {
    m.charts().map(|c| (c.name.as_str(), c)).collect()
}

fn chart_changes(old: &BundleManifest, new: &BundleManifest) -> Vec<ChartChange> {
    let (before, after) = (charts_of(old), charts_of(new));
    let names: std::collections::BTreeSet<&str> = before.keys().chain(after.keys()).copied().collect();
    let values =
        |c: &ChartRecord| (c.values_files.iter().map(|f| f.digest.clone()).collect::<Vec<_>>(), c.values.clone());
    names
        .into_iter()
        .filter_map(|name| {
            let (o, n) = (before.get(name), after.get(name));
            let kind = match (o, n) {
                (Some(_), None) => Kind::Removed,
                (None, Some(_)) => Kind::Added,
                (Some(o), Some(n)) if o.digest == n.digest && values(o) == values(n) => return None,
                _ => Kind::Changed,
            };
            Some(ChartChange {
                kind,
                name: name.to_string(),
                old_version: o.map(|c| c.version.clone()),
                new_version: n.map(|c| c.version.clone()),
                content_changed: matches!((o, n), (Some(o), Some(n)) if o.digest != n.digest),
                values_changed: matches!((o, n), (Some(o), Some(n)) if values(o) != values(n)),
            })
        })
        .collect()
}

fn files(old: &BundleManifest, new: &BundleManifest) -> Vec<FileChange> {
    let index = |m: &BundleManifest| -> BTreeMap<String, FileSide> {
        let files = m.components.iter().flat_map(|c| &c.files);
        files
            .map(|f: &FileRecord| {
                (f.target.clone(), FileSide { digest: f.digest.clone(), size: f.size, mode: f.mode.clone() })
            })
            .collect()
    };
    let (before, after) = (index(old), index(new));
    let targets: std::collections::BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    targets
        .into_iter()
        .filter_map(|target| {
            let (o, n) = (before.get(target).cloned(), after.get(target).cloned());
            let kind = match (&o, &n) {
                (Some(a), Some(b)) if a == b => return None,
                (Some(_), Some(_)) => Kind::Changed,
                (Some(_), None) => Kind::Removed,
                _ => Kind::Added,
            };
            Some(FileChange { kind, target: target.clone(), old: o, new: n })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::repository;

    #[test]
    fn repositories_drop_tag_and_digest_but_not_the_port() {
        assert_eq!(repository("127.0.0.1:5000/app:1.0"), "127.0.0.1:5000/app");
        assert_eq!(repository("docker.io/library/redis:7@sha256:ab"), "docker.io/library/redis");
        assert_eq!(repository("registry.local:5000/app"), "registry.local:5000/app");
    }
}
