//! The bundle file: its format (`format`), how it is written in one pass
//! (`writer`), split into parts for size-limited media (`parts`), read in
//! place (`reader`), with a differential bundle's base (`base`), and
//! checked byte for byte (`verify`).
//! This module knows nothing about registries, specs or targets; it moves
//! blobs between files and a tar stream and checks them against digests.

pub mod base;
pub mod copy;
pub mod format;
pub mod parts;
pub mod reader;
pub mod slot;
pub mod stream;
pub mod verify;
pub mod writer;

use crate::oci::digest::Digest;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("there is no bundle at {path}")]
    NotFound { path: PathBuf },
    #[error("cannot read or write {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not an airlock bundle: {reason}")]
    NotABundle { path: PathBuf, reason: String },
    /// A directory named where a bundle was wanted that holds none, or the
    /// parts of several (a wrong path, not a damaged bundle).
    #[error("{path} is not an airlock bundle: {reason}")]
    NoBundleIn { path: PathBuf, reason: String },
    #[error("{path} uses bundle format {found}, but this airlock reads format {supported} only")]
    UnsupportedFormat { path: PathBuf, found: u32, supported: u32 },
    #[error("not enough space in {dir}: {needed} more bytes are needed, {available} are free (nothing was written)")]
    NoSpace { dir: PathBuf, needed: u64, available: u64 },
    #[error("{path} is truncated: {detail}")]
    Truncated { path: PathBuf, detail: String },
    #[error("{path}: entry `{entry}` is corrupt: content has digest {actual}, expected {expected}")]
    DigestMismatch { path: PathBuf, entry: String, expected: Digest, actual: Digest },
    #[error("{path}: entry `{entry}` is not allowed in a bundle ({reason})")]
    BadEntry { path: PathBuf, entry: String, reason: String },
    #[error("{path}: {referrer} refers to blob {digest}, which the bundle does not contain")]
    MissingReference { path: PathBuf, referrer: String, digest: Digest },
    #[error("{path}: blob {digest} is listed in the bundle manifest but absent from the bundle")]
    MissingBlob { path: PathBuf, digest: Digest },
    #[error("{0}")]
    CorruptPart(parts::CorruptPart),
    #[error("{source} (the blob lies in {parts}; copy those parts again)")]
    InParts { parts: String, source: Box<BundleError> },
    #[error("{path} changed while it was being verified")]
    ChangedWhileVerified { path: PathBuf },
    #[error("{path} is a differential bundle: blob {digest} was left to its base bundle {base}, which the target must already hold")]
    InBase { path: PathBuf, digest: Digest, base: String },
}

pub type Result<T> = std::result::Result<T, BundleError>;

/// A tar entry's data rounded up to whole 512-byte blocks.
/// Fails with `NoSpace`, before anything is written, unless the filesystem
/// that holds (or will hold) `dir` has `needed` bytes free.
pub fn ensure_room(dir: &std::path::Path, needed: u64) -> Result<()> {
    match crate::disk::available_space(dir) {
        Some(available) if available < needed => {
            Err(BundleError::NoSpace { dir: dir.to_path_buf(), needed, available })
        }
        _ => Ok(()),
    }
}

pub(crate) fn padded(size: u64) -> u64 {
    size.div_ceil(512) * 512
}

/// Maps an I/O error on `path` into a bundle error; a part found corrupt
/// while reading keeps its own message, which names the part.
pub(crate) fn io_err(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> BundleError {
    let path = path.into();
    move |source| match source.get_ref().and_then(|e| e.downcast_ref::<parts::CorruptPart>()) {
        Some(corrupt) => BundleError::CorruptPart(corrupt.clone()),
        None => BundleError::Io { path, source },
    }
}
