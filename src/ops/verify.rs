//! `airlock verify`: check the signature over the manifest against the
//! trusted keys (first, it is cheap), then one streaming pass over the
//! bundle that checks every byte against its digest and every manifest's
//! references.

use crate::bundle::reader::read_head;
use crate::bundle::verify::{verify_file, VerifyReport};
use crate::oci::digest::Digest;
use crate::output::Progress;
use crate::sign::trust::{self, Verdict};
use anyhow::{bail, Result};
use std::path::{Path, PathBuf};

/// How a command that reads a bundle decides to trust it.
#[derive(Clone, Debug, Default)]
pub struct TrustOptions {
    pub keys: Vec<PathBuf>,
    pub allow_unsigned: bool,
}

/// Checks the bundle's signature only (reads the head).
pub fn check_signature(path: &Path, options: &TrustOptions) -> Result<Verdict> {
    let head = read_head(path)?;
    let keys = if options.allow_unsigned { Vec::new() } else { trust::trusted_keys(&options.keys)? };
    Ok(trust::check(path, &head.manifest_bytes, &head.signatures, &keys, options.allow_unsigned)?)
}

pub fn verify(path: &Path, options: &TrustOptions, progress: &Progress) -> Result<(VerifyReport, Verdict)> {
    let head = read_head(path)?;
    let verdict = check_signature(path, options)?;
    let bar = progress.bar(&path.display().to_string(), head.manifest.stored_size());
    let report = verify_file(path, &mut |n| bar.inc(n))?;
    // The streamed manifest must be the one whose signature was checked.
    if report.manifest_digest.as_ref() != Some(&Digest::of(&head.manifest_bytes)) {
        bail!("{} changed while it was being verified", path.display());
    }
    bar.finish("Verified", &format!("{} ({} blobs)", path.display(), report.blobs));
    Ok((report, verdict))
}
