//! Writing a whole file so that a crash leaves the old file or the new one,
//! never a mix: a temp file in the same directory, synced, then renamed.
//! The directory must exist; creating it is the caller's choice.
//!
//! A rename is durable only once the directory holding the new name is
//! synced too: until then a power loss may undo it, or leave the name with
//! no content. Every rename that puts a result in place goes through
//! [`rename_durably`] (or [`persist_durably`] for a temp file), and every
//! directory made for such results through [`create_dir_all_durably`].
//! A directory that cannot be synced fails the operation with an error
//! naming that directory ([`DirSyncError`]).

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

pub fn write(path: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    let dir = parent_dir(path);
    let mut tmp = tempfile::Builder::new().prefix(".airlock-partial-").tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().set_permissions(std::fs::Permissions::from_mode(mode))?;
    tmp.as_file().sync_all()?;
    persist_durably(tmp, path)?;
    Ok(())
}

/// A temp file in `dir` for a result that is renamed into place when done:
/// made with mode 0666 less the umask, as any file a command writes, not
/// the 0600 of a private temp file. A bundle only its creator can read
/// surprises whoever copies it on, and an exported layout must be readable
/// by the registry or runtime that loads it.
pub fn result_temp_in(dir: &Path, prefix: &str) -> std::io::Result<tempfile::NamedTempFile> {
    tempfile::Builder::new().prefix(prefix).permissions(std::fs::Permissions::from_mode(0o666)).tempfile_in(dir)
}

/// A directory whose fsync failed; carried inside the `io::Error` the
/// functions here return, so each caller reports it as it reports any IO
/// error, and the message names the directory.
#[derive(Debug, thiserror::Error)]
#[error("cannot sync directory {}", dir.display())]
pub struct DirSyncError {
    pub dir: PathBuf,
    #[source]
    pub source: std::io::Error,
}

/// The directory holding `path` (`.` for a bare name).
fn parent_dir(path: &Path) -> &Path {
    path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."))
}

/// Flushes `dir`'s entries (names made, renamed or removed in it) to disk.
pub fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|source| std::io::Error::new(source.kind(), DirSyncError { dir: dir.to_path_buf(), source }))
}

/// After a rename from `from` to `to`: syncs the directory of `to`, and
/// that of `from` when it is another.
fn sync_rename(from: &Path, to: &Path) -> std::io::Result<()> {
    let (from_dir, to_dir) = (parent_dir(from), parent_dir(to));
    sync_dir(to_dir)?;
    if from_dir != to_dir {
        sync_dir(from_dir)?;
    }
    Ok(())
}

/// Renames `from` to `to` so that the rename survives a power loss: the
/// destination's directory (and the source's, if another) is synced after.
/// The caller has synced the file's content before.
pub fn rename_durably(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::rename(from, to)?;
    sync_rename(from, to)
}

/// [`rename_durably`] for a temp file: `tmp` takes the name `to` (and is
/// deleted when that fails, as `persist` does).
pub fn persist_durably(tmp: tempfile::NamedTempFile, to: &Path) -> std::io::Result<std::fs::File> {
    let from = tmp.path().to_path_buf();
    let file = tmp.persist(to).map_err(|e| e.error)?;
    sync_rename(&from, to)?;
    Ok(file)
}

/// `create_dir_all`, then the parent of every directory it made is synced
/// (top down), so that the new directories survive a power loss.
pub fn create_dir_all_durably(dir: &Path) -> std::io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let missing: Vec<&Path> = dir.ancestors().take_while(|d| !d.as_os_str().is_empty() && !d.exists()).collect();
    std::fs::create_dir_all(dir)?;
    for made in missing.iter().rev() {
        sync_dir(parent_dir(made))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_directory_that_cannot_be_synced_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let gone = dir.path().join("gone");
        let err = sync_dir(&gone).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
        assert_eq!(err.to_string(), format!("cannot sync directory {}", gone.display()));
        let inner = err.get_ref().and_then(|e| e.downcast_ref::<DirSyncError>()).expect("a DirSyncError");
        assert_eq!(inner.dir, gone);
    }

    #[test]
    fn renames_and_makes_directories() {
        let dir = tempfile::tempdir().unwrap();
        let nested = dir.path().join("a/b/c");
        create_dir_all_durably(&nested).unwrap();
        assert!(nested.is_dir());
        create_dir_all_durably(&nested).unwrap();
        let from = dir.path().join("a/x");
        std::fs::write(&from, b"x").unwrap();
        rename_durably(&from, &nested.join("y")).unwrap();
        assert_eq!(std::fs::read(nested.join("y")).unwrap(), b"x");
        assert!(!from.exists());
        write(&nested.join("z"), b"z", 0o640).unwrap();
        assert_eq!(std::fs::metadata(nested.join("z")).unwrap().permissions().mode() & 0o777, 0o640);
        let err = rename_durably(&from, &nested.join("w")).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    }
}
