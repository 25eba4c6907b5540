//! `airlock verify`: one streaming pass over the bundle that checks every
//! byte against its digest and every manifest's references.

use crate::bundle::reader::read_head;
use crate::bundle::verify::{verify_file, VerifyReport};
use crate::output::Progress;
use anyhow::Result;
use std::path::Path;

pub fn verify(path: &Path, progress: &Progress) -> Result<VerifyReport> {
    // Reading the head first gives format errors before a long pass.
    let head = read_head(path)?;
    let total = head.manifest.stored_size();
    let bar = progress.bar(&path.display().to_string(), total);
    let report = verify_file(path, &mut |n| bar.inc(n))?;
    bar.finish("Verified", &format!("{} ({} blobs)", path.display(), report.blobs));
    Ok(report)
}
