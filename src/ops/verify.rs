//! `airlock verify`: check the signature over the manifest against the
//! trusted keys (first, it is cheap), then one streaming pass over the
//! bundle that checks every byte against its digest and every manifest's
//! references.

use crate::bundle::base::BaseBundle;
use crate::bundle::reader::{read_head, BaseBlobs};
use crate::bundle::verify::{verify_against_head, VerifyReport};
use crate::output::Progress;
use crate::sign::trust::{check_head, TrustOptions, Verdict};
use anyhow::Result;
use std::path::Path;

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
    let verdict = check_head(path, &head, options)?;
    // The base is refused at once if it is not the one the manifest pins.
    let base = base.map(|b| BaseBundle::open(path, &head.manifest, b)).transpose()?;
    let bar = progress.bar(&path.display().to_string(), head.manifest.stored_size());
    let report = verify_against_head(path, &head, &mut |n| bar.inc(n))?;
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
