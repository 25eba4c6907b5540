//! Opening a bundle to act on it, the one way every command that takes
//! content out of a bundle does it (push, serve, export, the install
//! verbs): open it, attach the full base a differential bundle leaves blobs
//! to, and check its signature against the trusted keys, before any blob
//! is read. Verifying every byte and choosing components follow, on the
//! bundle so opened. It reads only.

use super::trust::{self, TrustError, TrustOptions, Verdict};
use crate::bundle::base::{self, BaseError, FirstOf};
use crate::bundle::format::Component;
use crate::bundle::reader::{BaseBlobs, BundleReader};
use crate::bundle::verify::{verify_against_head, VerifyReport};
use crate::bundle::BundleError;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error(transparent)]
    Bundle(#[from] BundleError),
    #[error(transparent)]
    Base(#[from] BaseError),
    #[error(transparent)]
    Trust(#[from] TrustError),
    #[error("--skip {name}: the bundle has no component `{name}`")]
    NoSuchComponent { name: String },
    #[error("--skip {name}: component `{name}` is required")]
    RequiredComponent { name: String },
}

/// A bundle whose signature was checked (or, with `--allow-unsigned`,
/// knowingly not).
pub struct TrustedBundle {
    /// As the user named it (a file, or a directory of parts).
    path: PathBuf,
    pub reader: BundleReader,
    pub verdict: Verdict,
}

/// Opens the bundle at `path`, with `base` (the full bundle a differential
/// one was made against) for the blobs it leaves out, and checks its
/// signature as `trust` says.
pub fn open(path: &Path, base: Option<&Path>, trust: &TrustOptions) -> Result<TrustedBundle, OpenError> {
    let reader = base::attach(BundleReader::open(path)?, path, base)?;
    let verdict = trust::check_head(path, &reader.head, trust)?;
    Ok(TrustedBundle { path: path.to_path_buf(), reader, verdict })
}

impl TrustedBundle {
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads the blobs the bundle leaves to its base from `kept` (what a
    /// node kept of earlier installs) first, then from the base bundle.
    pub fn prefer_kept_blobs(mut self, kept: Box<dyn BaseBlobs>) -> Self {
        let sources = match self.reader.take_base_blobs() {
            Some(base_bundle) => vec![kept, base_bundle],
            None => vec![kept],
        };
        self.reader = self.reader.with_base_blobs(Box::new(FirstOf(sources)));
        self
    }

    /// Checks every byte of the bundle against its digest, and that its
    /// manifest is still the one whose signature was checked.
    pub fn verify_every_byte(&self, on_progress: &mut dyn FnMut(u64)) -> Result<VerifyReport, BundleError> {
        verify_against_head(self.path(), &self.reader.head, on_progress)
    }

    /// The components to act on: all but those `skip` names, which must
    /// exist and be optional.
    pub fn components(&self, skip: &[String]) -> Result<Vec<&Component>, OpenError> {
        let all = &self.reader.head.manifest.components;
        for name in skip {
            match all.iter().find(|c| &c.name == name) {
                None => return Err(OpenError::NoSuchComponent { name: name.clone() }),
                Some(c) if c.required => return Err(OpenError::RequiredComponent { name: name.clone() }),
                Some(_) => {}
            }
        }
        Ok(all.iter().filter(|c| !skip.contains(&c.name)).collect())
    }
}
