//! The base bundle of a differential bundle, given by path (`--base`):
//! checked to be the very bundle the differential one was made against,
//! then read for the blobs that one left to it. Every blob read from it is
//! checked against its digest as it is read. It only reads.

use super::format::BundleManifest;
use super::reader::{BaseBlobs, BundleReader};
use super::BundleError;
use crate::oci::digest::{CheckedReader, Digest};
use std::io::Read;
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum BaseError {
    #[error("{path} is not a differential bundle, so it needs no --base")]
    NotDifferential { path: std::path::PathBuf },
    #[error(
        "{path} was made against what registry {registry} held, not against a bundle; push it to that registry instead"
    )]
    MadeAgainstRegistry { path: std::path::PathBuf, registry: String },
    /// `wanted` and `found` name each bundle and its manifest digest.
    #[error("{base} is not the base of {path}: that was {wanted}, and {base} is {found}; give the bundle it was made against")]
    WrongBase { path: std::path::PathBuf, base: std::path::PathBuf, wanted: String, found: String },
    #[error("{base} is itself a differential bundle (made against {its_base}); give the full bundle of {wanted}")]
    BaseIsDifferential { base: std::path::PathBuf, its_base: String, wanted: String },
    #[error(transparent)]
    Bundle(#[from] BundleError),
}

/// A full bundle serving as the base of a differential one.
pub struct BaseBundle {
    reader: BundleReader,
}

impl BaseBundle {
    /// Opens `base` as the base of the bundle at `path` (whose manifest is
    /// `manifest`), refusing any other bundle.
    pub fn open(path: &Path, manifest: &BundleManifest, base: &Path) -> Result<Self, BaseError> {
        let Some(wanted) = &manifest.base else {
            return Err(BaseError::NotDifferential { path: path.into() });
        };
        let Some(digest) = &wanted.manifest_digest else {
            let registry = wanted.registry.clone().unwrap_or_default();
            return Err(BaseError::MadeAgainstRegistry { path: path.into(), registry });
        };
        let reader = BundleReader::open(base)?;
        let actual = Digest::of(&reader.head.manifest_bytes);
        let found = &reader.head.manifest.metadata;
        if actual != *digest {
            return Err(BaseError::WrongBase {
                path: path.into(),
                base: base.into(),
                wanted: format!("{} (manifest {digest})", wanted.describe()),
                found: format!("{} {} (manifest {actual})", found.name, found.version),
            });
        }
        // A differential base holds only part of what it names; a chain of
        // bases is not followed.
        if let Some(its_base) = &reader.head.manifest.base {
            return Err(BaseError::BaseIsDifferential {
                base: base.into(),
                its_base: its_base.describe(),
                wanted: wanted.describe(),
            });
        }
        Ok(BaseBundle { reader })
    }
}

/// `reader`, reading the blobs it leaves to its base from the bundle at
/// `base` when one is given.
pub fn attach(reader: BundleReader, path: &Path, base: Option<&Path>) -> Result<BundleReader, BaseError> {
    match base {
        Some(base) => {
            let base = BaseBundle::open(path, &reader.head.manifest, base)?;
            Ok(reader.with_base_blobs(Box::new(base)))
        }
        None => Ok(reader),
    }
}

/// Several sources of base blobs (what a node kept, a base bundle), asked
/// in turn.
pub struct FirstOf(pub Vec<Box<dyn BaseBlobs>>);

impl BaseBlobs for FirstOf {
    fn open(&self, digest: &Digest) -> Option<std::io::Result<Box<dyn Read + Send>>> {
        self.0.iter().find_map(|source| source.open(digest))
    }

    fn holds(&self, digest: &Digest) -> bool {
        self.0.iter().any(|source| source.holds(digest))
    }
}

impl BaseBlobs for BaseBundle {
    fn open(&self, digest: &Digest) -> Option<std::io::Result<Box<dyn Read + Send>>> {
        if !self.holds(digest) {
            return None;
        }
        let origin = format!("blob {digest} in the base bundle {}", self.reader.path().display());
        Some(
            self.reader
                .open_blob(digest)
                .map(|blob| Box::new(CheckedReader::new(blob, digest.clone(), origin)) as Box<dyn Read + Send>)
                .map_err(std::io::Error::other),
        )
    }

    fn holds(&self, digest: &Digest) -> bool {
        self.reader.head.manifest.find_blob(digest).is_some_and(|b| !b.in_base)
    }
}
