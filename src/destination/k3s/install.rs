//! Install, upgrade, rollback and uninstall on a K3s node, every path under `root`.
//! Each flow checks everything it can before the first write (disk space,
//! platform, chart sizes, stored content), then applies the planned files
//! (`apply`), then records the revision. A revision that changes nothing is
//! not recorded, so a second install of the same bundle leaves no trace.
//!
//! K3s does not delete resources when a manifest file goes away; the
//! resources that removed files declared are recorded as
//! `pendingDeletions` for the ops layer to delete through the API.

use super::apply::{apply, Applied, Content, PlannedFile, Preview};
use super::layout::{self, ImagesVia, MANIFESTS_DIR};
use super::state::{self, Revision};
use super::InstallError;
use crate::bundle::format::Component;
use crate::bundle::reader::BundleReader;
use crate::destination::kube::{cascades, Action, ResourceRef};
use crate::destination::site::SiteChoice;
use crate::oci::digest::Digest;
use std::path::Path;

/// Content of this many newest revisions is kept for rollback.
pub const DEFAULT_KEEP: usize = 3;

/// The action of the revision an uninstall records.
pub const UNINSTALL: &str = "uninstall";

pub struct InstallReport {
    pub revision: Revision,
    /// Whether a new revision was recorded (false: nothing changed).
    pub recorded: bool,
    pub changed: Vec<String>,
    pub removed: Vec<String>,
    /// Dropped files left in place (shared, or changed since installed).
    pub kept: Vec<String>,
    /// Declared by removed manifests but never deleted by airlock, because
    /// deleting them deletes much more (CRDs, Namespaces).
    pub left_in_cluster: Vec<ResourceRef>,
}

fn check_space(root: &Path, needed: u64) -> Result<(), InstallError> {
    match crate::disk::available_space(root) {
        // A margin for the revision record and the filesystem's own needs.
        Some(available) if available < needed + (16 << 20) => {
            Err(InstallError::NoSpace { root: root.into(), needed, available })
        }
        _ => Ok(()),
    }
}

/// Fails unless every directory airlock will write in can be written (the
/// nearest existing ancestor of each, for those not made yet).
fn check_writable(root: &Path, dirs: &[String]) -> Result<(), InstallError> {
    for rel in dirs {
        let probe = crate::disk::nearest_existing(&root.join(rel));
        if let Err(e) = rustix::fs::access(&probe, rustix::fs::Access::WRITE_OK) {
            return Err(InstallError::NotWritable { path: probe, source: e.into() });
        }
    }
    Ok(())
}

/// Installs (or upgrades to) the chosen components of a verified bundle;
/// `on_bytes` hears of the images tarball's bytes as they are written.
#[allow(clippy::too_many_arguments)] // each is one of the install's inputs; a struct would only rename them
pub fn install(
    reader: &BundleReader,
    components: &[&Component],
    images_via: &ImagesVia,
    root: &Path,
    action: Action,
    keep: usize,
    site: SiteChoice,
    on_bytes: &dyn Fn(u64),
) -> Result<InstallReport, InstallError> {
    let manifest = &reader.head.manifest;
    let name = &manifest.metadata.name;
    let (history, planned) = checked_plan(reader, components, images_via, root, action, site, false, on_bytes)?;
    let previous = history.last();
    let to_keep = blobs_to_keep(reader, components).inspect_err(|_| discard_staged(&planned))?;
    let applied = apply(root, name, &planned, previous).inspect_err(|_| discard_staged(&planned))?;
    for (digest, bytes) in &to_keep {
        state::store_blob(root, name, digest, bytes)?;
    }
    let kept: Vec<Digest> = to_keep.into_iter().map(|(d, _)| d).collect();
    let label = action.as_str();
    let manifest_digest = Digest::of(&reader.head.manifest_bytes);
    let identity = (name.as_str(), manifest.metadata.version.as_str(), manifest_digest, label);
    let given = SiteGiven {
        values: (!site.values.is_empty()).then(|| crate::destination::cluster::helm::values_json(site.values)),
        environment: site.environment.map(|(name, _)| name.to_string()),
        secret_values: crate::destination::site::secret_value_paths(components),
    };
    finish(root, previous, identity, &planned, (applied, kept), keep, given)
}

/// What the site gave a revision, recorded with it.
#[derive(Default)]
struct SiteGiven {
    values: Option<serde_json::Value>,
    environment: Option<String>,
    secret_values: Vec<String>,
}

/// What an install or upgrade would do on the node, changing nothing.
#[derive(Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InstallPreview {
    pub name: String,
    pub version: String,
    /// The revision it would record (the installed one when nothing changes).
    pub revision: u32,
    #[serde(flatten)]
    pub files: Preview,
    /// Resources that removed manifests declared: deleted through the
    /// node's API afterwards (K3s leaves them).
    pub to_delete: Vec<ResourceRef>,
    /// Declared by removed manifests but left in the cluster: deleting them
    /// deletes much more (CRDs, Namespaces).
    pub left_in_cluster: Vec<ResourceRef>,
}

/// `install` as a dry run: every check it makes before writing, then the
/// files it would write, replace and remove; nothing is written.
pub fn preview(
    reader: &BundleReader,
    components: &[&Component],
    images_via: &ImagesVia,
    root: &Path,
    action: Action,
    site: SiteChoice,
) -> Result<InstallPreview, InstallError> {
    let manifest = &reader.head.manifest;
    let name = &manifest.metadata.name;
    let (history, planned) = checked_plan(reader, components, images_via, root, action, site, true, &|_| {})?;
    let previous = history.last();
    let files = super::apply::preview(root, &planned, previous);
    let (to_delete, left_in_cluster) = pending_deletions(root, name, previous, &files.removed, &planned);
    let same_bundle = previous.is_some_and(|p| p.manifest_digest == Digest::of(&reader.head.manifest_bytes));
    let changes_nothing = files.written.is_empty() && files.replaced.is_empty() && files.removed.is_empty();
    let revision = match previous {
        Some(p) if same_bundle && changes_nothing => p.revision,
        p => p.map_or(1, |p| p.revision + 1),
    };
    Ok(InstallPreview {
        name: name.clone(),
        version: manifest.metadata.version.clone(),
        revision,
        files,
        to_delete,
        left_in_cluster,
    })
}

/// Every check made before the first write (the bundle against what is
/// installed, disk space, writable directories, platform), then the plan:
/// the node's history and the files to lay down.
#[allow(clippy::too_many_arguments)]
fn checked_plan(
    reader: &BundleReader,
    components: &[&Component],
    images_via: &ImagesVia,
    root: &Path,
    action: Action,
    site: SiteChoice,
    dry_run: bool,
    on_bytes: &dyn Fn(u64),
) -> Result<(Vec<Revision>, Vec<PlannedFile>), InstallError> {
    let manifest = &reader.head.manifest;
    let name = &manifest.metadata.name;
    let manifest_digest = Digest::of(&reader.head.manifest_bytes);
    let history = state::history(root, name)?;
    // After an uninstall the node holds nothing of it: install anew.
    match (action, history.last().filter(|p| p.action != UNINSTALL)) {
        (Action::Install, Some(p)) if p.manifest_digest != manifest_digest => {
            return Err(InstallError::AlreadyInstalled {
                name: name.clone(),
                version: p.version.clone(),
                revision: p.revision,
            })
        }
        (Action::Upgrade, None) => return Err(InstallError::NotInstalled { name: name.clone(), root: root.into() }),
        _ => {}
    }
    // Room for every blob laid down (images, charts base64, files), and a
    // second copy of it all while the old files are still stored.
    let needed: u64 = components
        .iter()
        .map(|c| {
            c.images.iter().map(|i| i.size).sum::<u64>()
                + c.charts.iter().map(|ch| ch.size * 2).sum::<u64>()
                + c.files.iter().map(|f| f.size).sum::<u64>()
                + c.crds.iter().chain(&c.manifests).map(|d| d.size).sum::<u64>()
        })
        .sum();
    check_space(root, needed)?;
    let mut dirs: Vec<String> = vec![state::STATE_DIR.into(), MANIFESTS_DIR.into(), layout::IMAGES_DIR.into()];
    for f in components.iter().flat_map(|c| &c.files) {
        let target = Path::new(f.target.trim_start_matches('/'));
        dirs.push(target.parent().unwrap_or(Path::new("")).to_string_lossy().into_owned());
    }
    check_writable(root, &dirs)?;
    if let ImagesVia::Tarball { platform } = images_via {
        for c in components {
            super::images::check_platform(reader, &c.images.iter().collect::<Vec<_>>(), platform)?;
        }
    }
    let planned = layout::plan(reader, components, images_via, root, site, dry_run, on_bytes)?;
    Ok((history, planned))
}

/// The bundle blobs that a later differential bundle may leave to this one
/// and that no installed file holds as it is: chart archives (inlined as
/// base64), values files (merged), image indexes (the tarball has only the
/// node's platform). Files, CRDs, manifests and the images tarball's blobs
/// are in the store already.
fn blobs_to_keep(reader: &BundleReader, components: &[&Component]) -> Result<Vec<(Digest, Vec<u8>)>, InstallError> {
    let charts = components.iter().flat_map(|c| &c.charts);
    let chart_blobs =
        charts.flat_map(|ch| std::iter::once(&ch.archive_digest).chain(ch.values_files.iter().map(|f| &f.digest)));
    let images = components.iter().flat_map(|c| &c.images);
    let indexes = images.filter(|i| crate::oci::media::is_index(&i.media_type)).map(|i| &i.digest);
    let mut digests: Vec<&Digest> = chart_blobs.chain(indexes).collect();
    digests.sort();
    digests.dedup();
    digests.into_iter().map(|d| Ok((d.clone(), reader.read_blob(d)?))).collect()
}

fn discard_staged(planned: &[PlannedFile]) {
    for file in planned {
        if let Content::Staged { path, .. } = &file.content {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Rolls `name` back to revision `to` (default: the one before the newest),
/// restoring its files from the store; recorded as a new revision.
pub fn rollback(root: &Path, name: &str, to: Option<u32>, keep: usize) -> Result<InstallReport, InstallError> {
    let history = state::history(root, name)?;
    let current = history.last().ok_or_else(|| InstallError::NotInstalled { name: name.into(), root: root.into() })?;
    let target = match to {
        Some(n) => history
            .iter()
            .find(|r| r.revision == n)
            .ok_or(InstallError::NoRevision { name: name.into(), revision: n })?,
        None => history.iter().rev().nth(1).ok_or(InstallError::NothingToRollBack { name: name.into() })?,
    };
    // Every stored copy must be there and intact before anything changes.
    let mut needed = 0;
    for file in &target.files {
        let object = state::object_path(root, name, &file.sha256);
        let problem = match state::file_digest(&object) {
            None => Some("gone (only the newest revisions keep their content)"),
            Some(d) if d != file.sha256 => Some("changed since it was installed"),
            Some(_) => None,
        };
        if let Some(problem) = problem {
            return Err(InstallError::StoredContent {
                name: name.into(),
                revision: target.revision,
                path: file.path.clone(),
                problem,
            });
        }
        needed += std::fs::metadata(&object).map(|m| m.len()).unwrap_or(0);
    }
    check_space(root, needed)?;
    let planned: Vec<PlannedFile> = target
        .files
        .iter()
        .map(|f| PlannedFile {
            rel: f.path.clone(),
            content: Content::Stored { digest: f.sha256.clone() },
            mode: f.mode_bits(),
            merged: f.merged,
        })
        .collect();
    let applied = apply(root, name, &planned, Some(current))?;
    let label = format!("rollback to {}", target.revision);
    let identity = (name, target.version.as_str(), target.manifest_digest.clone(), label.as_str());
    let given = SiteGiven {
        values: target.site_values.clone(),
        environment: target.environment.clone(),
        secret_values: target.secret_values.clone(),
    };
    finish(root, Some(current), identity, &planned, (applied, target.kept_blobs.clone()), keep, given)
}

/// Removes what the newest revision of `name` laid down (files shared or
/// changed since are left, and reported), recorded as a revision
/// `uninstall` with no files, so the resources of its removed manifests are
/// pending deletions and `rollback` can still bring the last one back.
pub fn uninstall(root: &Path, name: &str, keep: usize) -> Result<InstallReport, InstallError> {
    let history = state::history(root, name)?;
    let current = history
        .last()
        .filter(|r| r.action != UNINSTALL)
        .ok_or_else(|| InstallError::NotInstalled { name: name.into(), root: root.into() })?;
    let applied = apply(root, name, &[], Some(current))?;
    let identity = (name, current.version.as_str(), current.manifest_digest.clone(), UNINSTALL);
    // Kept blobs stay with the revisions before this one, for a rollback.
    finish(root, Some(current), identity, &[], (applied, Vec::new()), keep, SiteGiven::default())
}

/// The resources of the removed manifest files (read from the store, where
/// the previous revision's content still is), plus those still pending,
/// less any that a planned file declares again; split into those to delete
/// and those that cascade (left alone).
fn pending_deletions(
    root: &Path,
    name: &str,
    previous: Option<&Revision>,
    removed: &[String],
    planned: &[PlannedFile],
) -> (Vec<ResourceRef>, Vec<ResourceRef>) {
    let Some(previous) = previous else { return (Vec::new(), Vec::new()) };
    let mut pending: std::collections::BTreeSet<ResourceRef> = previous.pending_deletions.iter().cloned().collect();
    for removed in removed.iter().filter(|p| p.starts_with(MANIFESTS_DIR)) {
        if let Some(file) = previous.files.iter().find(|f| &f.path == removed) {
            if let Ok(bytes) = std::fs::read(state::object_path(root, name, &file.sha256)) {
                pending.extend(layout::declared_resources(&bytes));
            }
        }
    }
    // What the plan declares again stays. A dry run has written nothing:
    // the planned bytes, not the files, say what is declared.
    for file in planned.iter().filter(|f| f.rel.starts_with(MANIFESTS_DIR)) {
        let bytes = match &file.content {
            Content::Bytes(bytes) => Ok(bytes.clone()),
            _ => std::fs::read(root.join(&file.rel)),
        };
        if let Ok(bytes) = bytes {
            for declared in layout::declared_resources(&bytes) {
                pending.remove(&declared);
            }
        }
    }
    pending.into_iter().partition(|r| !cascades(r))
}

fn finish(
    root: &Path,
    previous: Option<&Revision>,
    (name, version, manifest_digest, action): (&str, &str, Digest, &str),
    planned: &[PlannedFile],
    (applied, kept_blobs): (Applied, Vec<Digest>),
    keep: usize,
    given: SiteGiven,
) -> Result<InstallReport, InstallError> {
    let (pending, left_in_cluster) = pending_deletions(root, name, previous, &applied.removed, planned);
    let unchanged = previous.is_some_and(|p| {
        p.manifest_digest == manifest_digest
            && p.files == applied.files
            && p.pending_deletions == pending
            && p.kept_blobs == kept_blobs
            && p.site_values == given.values
            && p.environment == given.environment
    });
    let (revision, recorded) = match previous {
        Some(p) if unchanged => (p.clone(), false),
        p => {
            let revision = Revision {
                revision: p.map_or(1, |p| p.revision + 1),
                name: name.into(),
                version: version.into(),
                manifest_digest,
                action: action.into(),
                files: applied.files,
                pending_deletions: pending,
                kept_blobs,
                site_values: given.values,
                environment: given.environment,
                secret_values: given.secret_values,
            };
            state::record(root, &revision)?;
            state::prune(root, name, keep)?;
            (revision, true)
        }
    };
    Ok(InstallReport {
        revision,
        recorded,
        changed: applied.changed,
        removed: applied.removed,
        kept: applied.kept,
        left_in_cluster,
    })
}

/// Records that the pending deletions of the newest revision are done.
pub fn deletions_done(root: &Path, name: &str, done: &[ResourceRef]) -> Result<(), InstallError> {
    let Some(mut newest) = state::history(root, name)?.pop() else { return Ok(()) };
    newest.pending_deletions.retain(|r| !done.contains(r));
    state::record(root, &newest)?;
    Ok(())
}
