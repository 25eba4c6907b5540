//! Making the files under a root match a planned set, crash-safely. Each
//! file is written to a temp name in its own directory and renamed, so a
//! crash leaves the old file or the new one; a file whose content and mode
//! are already right is left alone, so a rerun converges and a repeat changes
//! nothing. Written content goes to the store (for rollback). Files of the
//! previous revision that the plan drops are removed last, except shared
//! (merged) files and files changed since airlock wrote them, which are left
//! in place and reported.
//!
//! Recording the revision is the caller's last step: a crash before it
//! leaves the previous revision as the record, and rerunning applies again.

use super::state::{self, file_digest, io, link_or_copy, InstalledFile, Revision, StateError};
use crate::oci::digest::Digest;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

pub enum Content {
    Bytes(Vec<u8>),
    /// Already written beside its target (same directory); moved into place.
    Staged {
        path: PathBuf,
        digest: Digest,
    },
    /// In the store (a rollback); checked before anything is written.
    Stored {
        digest: Digest,
    },
    /// Known by its digest only: a dry run's images tarball, hashed and
    /// never written. A dry run's plan is previewed, never applied.
    Unwritten {
        digest: Digest,
    },
}

impl Content {
    pub fn digest(&self) -> Digest {
        match self {
            Content::Bytes(bytes) => Digest::of(bytes),
            Content::Staged { digest, .. } | Content::Stored { digest } | Content::Unwritten { digest } => {
                digest.clone()
            }
        }
    }
}

pub struct PlannedFile {
    /// Path under the root, without a leading `/`.
    pub rel: String,
    pub content: Content,
    pub mode: u32,
    pub merged: bool,
}

#[derive(Default)]
pub struct Applied {
    pub files: Vec<InstalledFile>,
    /// Written because new or different.
    pub changed: Vec<String>,
    pub removed: Vec<String>,
    /// Dropped by the plan but left in place: shared, or changed by someone else.
    pub kept: Vec<String>,
}

/// A test hook: `AIRLOCK_FAULT_ABORT_AFTER=N` aborts the process right after
/// the Nth change on disk, to show that any crash point converges on rerun.
struct FaultPoint {
    remaining: Option<usize>,
}

impl FaultPoint {
    fn from_env() -> Self {
        FaultPoint { remaining: std::env::var("AIRLOCK_FAULT_ABORT_AFTER").ok().and_then(|v| v.parse().ok()) }
    }

    fn passed(&mut self) {
        if let Some(n) = self.remaining.as_mut() {
            *n = n.saturating_sub(1);
            if *n == 0 {
                std::process::abort();
            }
        }
    }
}

fn mode_of(path: &Path) -> Option<u32> {
    std::fs::metadata(path).ok().map(|m| m.permissions().mode() & 0o7777)
}

/// Whether `path` holds `digest` with `mode` already.
fn in_place(path: &Path, digest: &Digest, mode: u32) -> bool {
    mode_of(path) == Some(mode) && file_digest(path).as_ref() == Some(digest)
}

/// Puts `content` at `path` unless it holds it already; true when written.
fn place(root: &Path, name: &str, path: &Path, content: &Content, mode: u32) -> Result<(Digest, bool), StateError> {
    let digest = content.digest();
    if in_place(path, &digest, mode) {
        if let Content::Staged { path: staged, .. } = content {
            std::fs::remove_file(staged).map_err(io(staged))?;
        }
        return Ok((digest, false));
    }
    match content {
        Content::Bytes(bytes) => state::write_atomically(path, bytes, mode)?,
        Content::Staged { path: staged, .. } => {
            std::fs::set_permissions(staged, std::fs::Permissions::from_mode(mode)).map_err(io(staged))?;
            crate::atomic_file::rename_durably(staged, path).map_err(io(path))?;
        }
        Content::Stored { digest } => {
            let object = state::object_path(root, name, digest);
            let dir = path.parent().expect("under root");
            crate::atomic_file::create_dir_all_durably(dir).map_err(io(dir))?;
            let base = path.file_name().expect("a file").to_string_lossy();
            let tmp = dir.join(format!(".airlock-partial-{base}"));
            let _ = std::fs::remove_file(&tmp);
            // A link shares the mode too: link only when the mode agrees.
            if mode_of(&object) == Some(mode) {
                link_or_copy(&object, &tmp).map_err(io(&tmp))?;
            } else {
                std::fs::copy(&object, &tmp).map_err(io(&tmp))?;
                std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(mode)).map_err(io(&tmp))?;
            }
            std::fs::File::open(&tmp).and_then(|f| f.sync_all()).map_err(io(&tmp))?;
            crate::atomic_file::rename_durably(&tmp, path).map_err(io(path))?;
        }
        Content::Unwritten { .. } => unreachable!("a dry run's plan is previewed, never applied"),
    }
    Ok((digest, true))
}

/// Makes the files under `root` those of `planned`, removing what
/// `previous` had and `planned` drops.
pub fn apply(
    root: &Path,
    name: &str,
    planned: &[PlannedFile],
    previous: Option<&Revision>,
) -> Result<Applied, StateError> {
    let mut faults = FaultPoint::from_env();
    let mut applied = Applied::default();
    for file in planned {
        let path = root.join(&file.rel);
        let (digest, written) = place(root, name, &path, &file.content, file.mode)?;
        state::store(root, name, &path, &digest)?;
        if written {
            applied.changed.push(file.rel.clone());
            faults.passed();
        }
        applied.files.push(InstalledFile {
            path: file.rel.clone(),
            sha256: digest,
            mode: format!("{:04o}", file.mode),
            merged: file.merged,
        });
    }
    for (old, fate) in dropped(root, planned, previous) {
        match fate {
            Dropped::Gone => {}
            Dropped::Kept => applied.kept.push(old.path.clone()),
            Dropped::Removed => {
                let path = root.join(&old.path);
                std::fs::remove_file(&path).map_err(io(&path))?;
                applied.removed.push(old.path.clone());
                faults.passed();
            }
        }
    }
    Ok(applied)
}

/// What becomes of a file of the previous revision that the plan drops.
enum Dropped {
    /// Not there any more.
    Gone,
    /// Left in place: shared (merged), or changed since airlock wrote it.
    Kept,
    Removed,
}

fn dropped<'a>(
    root: &Path,
    planned: &[PlannedFile],
    previous: Option<&'a Revision>,
) -> Vec<(&'a InstalledFile, Dropped)> {
    let planned_paths: std::collections::BTreeSet<&str> = planned.iter().map(|f| f.rel.as_str()).collect();
    let old_files = previous.map(|p| p.files.as_slice()).unwrap_or_default();
    let dropped_files = old_files.iter().filter(|old| !planned_paths.contains(old.path.as_str()));
    dropped_files
        .map(|old| {
            let fate = match file_digest(&root.join(&old.path)) {
                None => Dropped::Gone,
                Some(_) if old.merged => Dropped::Kept,
                Some(actual) if actual == old.sha256 => Dropped::Removed,
                Some(_) => Dropped::Kept,
            };
            (old, fate)
        })
        .collect()
}

/// What `apply` would do, changing nothing.
#[derive(Debug, Default, serde::Serialize)]
pub struct Preview {
    /// Files not there yet.
    pub written: Vec<String>,
    /// Files there with other content or mode.
    pub replaced: Vec<String>,
    pub unchanged: usize,
    pub removed: Vec<String>,
    /// Dropped by the plan but left in place: shared, or changed by someone else.
    pub kept: Vec<String>,
}

pub fn preview(root: &Path, planned: &[PlannedFile], previous: Option<&Revision>) -> Preview {
    let mut preview = Preview::default();
    for file in planned {
        let path = root.join(&file.rel);
        if in_place(&path, &file.content.digest(), file.mode) {
            preview.unchanged += 1;
        } else if path.exists() {
            preview.replaced.push(file.rel.clone());
        } else {
            preview.written.push(file.rel.clone());
        }
    }
    for (old, fate) in dropped(root, planned, previous) {
        match fate {
            Dropped::Gone => {}
            Dropped::Kept => preview.kept.push(old.path.clone()),
            Dropped::Removed => preview.removed.push(old.path.clone()),
        }
    }
    preview
}
