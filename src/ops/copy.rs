//! `airlock copy`: a bundle or its parts onto removable media (or back),
//! verified as it is written, resumable.

use crate::bundle::copy::{copy as copy_bundle, CopyReport};
use crate::bundle::parts::Source;
use crate::output::Progress;
use anyhow::{Context, Result};
use std::path::Path;

pub fn copy(source: &Path, dest_dir: &Path, progress: &Progress) -> Result<CopyReport> {
    let opened = Source::open(source)?;
    let total = opened.len()?;
    let source_dir = opened.path().parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    if dest_dir.exists() && source_dir.canonicalize().ok() == dest_dir.canonicalize().ok() {
        anyhow::bail!("{} already holds {}; copy it to another directory", dest_dir.display(), source.display());
    }
    let label = source.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let bar = progress.bar(&label, total);
    let report = copy_bundle(&opened, dest_dir, &|n| bar.inc(n))
        .with_context(|| format!("cannot copy {} to {}", source.display(), dest_dir.display()))?;
    bar.finish(&label, &format!("copied and verified into {}", dest_dir.display()));
    Ok(report)
}
