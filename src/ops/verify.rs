//! `airlock verify`: check the signature over the manifest against the
//! trusted keys (first, it is cheap), then one streaming pass over the
//! bundle that checks every byte against its digest and every manifest's
//! references.

use crate::bundle::base::BaseBundle;
use crate::bundle::reader::{read_head, BaseBlobs, BundleHead};
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

/// Checks the signature over a bundle's manifest (its head, already read).
pub fn check_signature(path: &Path, head: &BundleHead, options: &TrustOptions) -> Result<Verdict> {
    let keys = if options.allow_unsigned { Vec::new() } else { trust::trusted_keys(&options.keys)? };
    Ok(trust::check(path, &head.manifest_bytes, &head.signatures, &keys, options.allow_unsigned)?)
}

/// Checks every byte of the bundle, and that the manifest streamed is the
/// one in `head` (whose signature the caller checked).
pub fn verify_digests(path: &Path, head: &BundleHead, on_progress: &mut dyn FnMut(u64)) -> Result<VerifyReport> {
    let report = verify_file(path, on_progress)?;
    if report.manifest_digest.as_ref() != Some(&Digest::of(&head.manifest_bytes)) {
        bail!("{} changed while it was being verified", path.display());
    }
    Ok(report)
}

/// Verifies the bundle at `path`; with `base` (a differential bundle's
/// full base), also every blob it leaves to that base, read from there.
/// Returns the report and how many bytes of the base were checked.
pub fn verify(
    path: &Path,
    base: Option<&Path>,
    options: &TrustOptions,
    progress: &Progress,
) -> Result<(VerifyReport, Verdict, Option<u64>)> {
    let head = read_head(path)?;
    let verdict = check_signature(path, &head, options)?;
    // The base is refused at once if it is not the one the manifest pins.
    let base = base.map(|b| BaseBundle::open(path, &head.manifest, b)).transpose()?;
    let bar = progress.bar(&path.display().to_string(), head.manifest.stored_size());
    let report = verify_digests(path, &head, &mut |n| bar.inc(n))?;
    bar.finish("Verified", &format!("{} ({} blobs)", path.display(), report.blobs));
    let Some(base) = base else { return Ok((report, verdict, None)) };
    let mut checked = 0;
    for blob in head.manifest.blobs.iter().filter(|b| b.in_base) {
        let opened = base.open(&blob.digest).unwrap_or_else(|| {
            Err(std::io::Error::other(format!(
                "the base bundle lacks blob {} that {} leaves to it",
                blob.digest,
                path.display()
            )))
        });
        checked += std::io::copy(&mut opened?, &mut std::io::sink())?;
    }
    Ok((report, verdict, Some(checked)))
}
