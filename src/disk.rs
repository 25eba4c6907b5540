//! Free space where files are about to be written, so that a command that
//! would run out of room says so before writing anything.

use std::path::{Path, PathBuf};

/// The nearest ancestor of `path` (itself included) that exists: what a
/// path not made yet will be created in.
pub fn nearest_existing(path: &Path) -> PathBuf {
    let mut probe = path;
    while !probe.exists() {
        match probe.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => probe = parent,
            _ => return PathBuf::from(if path.is_absolute() { "/" } else { "." }),
        }
    }
    probe.to_path_buf()
}

/// Bytes an unprivileged writer may still use on the filesystem that holds
/// (or will hold) `path`; None when that cannot be told.
pub fn available_space(path: &Path) -> Option<u64> {
    let stat = rustix::fs::statvfs(nearest_existing(path)).ok()?;
    Some(stat.f_bavail.saturating_mul(stat.f_frsize))
}
