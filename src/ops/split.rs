//! `airlock split`: write a bundle (or the parts of one) as parts of at most
//! a given size, for media with a file size limit (FAT32: 4 GiB).

use crate::bundle::parts::{self, Source, MIN_PART_SIZE};
use crate::bundle::reader::BundleReader;
use crate::oci::digest::Digest;
use crate::output::Progress;
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};

pub struct SplitReport {
    pub parts: Vec<PathBuf>,
    pub bundle_bytes: u64,
}

pub fn split(bundle: &Path, max_part_size: u64, out_dir: &Path, progress: &Progress) -> Result<SplitReport> {
    if max_part_size < MIN_PART_SIZE {
        bail!("--max-part-size must be at least {} bytes", MIN_PART_SIZE);
    }
    let reader = BundleReader::open(bundle)?;
    let source = reader.source();
    let total = source.len()?;
    let cuts = parts::plan_cuts(&reader.entry_spans(), total, max_part_size);
    let stem = bundle_stem(source);
    // Every part is written whole (a temp file, then its name): room for
    // all of them, headers included, must be there before the first.
    crate::bundle::ensure_room(out_dir, total + cuts.len() as u64 * parts::PART_HEADER_SIZE)?;
    crate::atomic_file::create_dir_all_durably(out_dir)
        .with_context(|| format!("cannot create {}", out_dir.display()))?;
    if let Source::Parts(existing) = &source {
        let same_dir = existing
            .iter()
            .any(|p| p.path.parent().map(|d| d.canonicalize().ok()) == Some(out_dir.canonicalize().ok()));
        if same_dir {
            bail!("{} already holds the parts being read; write the new parts to another directory", out_dir.display());
        }
    }
    let bar = progress.bar(&stem, total);
    let bundle_digest = Digest::of(&reader.head.manifest_bytes);
    let written = parts::split(source, &cuts, &bundle_digest, &stem, out_dir, &|n| bar.inc(n))?;
    bar.finish(&stem, &format!("{} parts written to {}", written.len(), out_dir.display()));
    Ok(SplitReport { parts: written, bundle_bytes: total })
}

/// `NAME.airlock` for a bundle file or for its parts.
fn bundle_stem(source: &Source) -> String {
    let name =
        source.path().file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "bundle.airlock".into());
    match source {
        Source::Whole(_) => name,
        Source::Parts(_) => name.rsplit_once(".part-").map_or(name.clone(), |(stem, _)| stem.to_string()),
    }
}
