//! The signature slot, rewritten in place: `airlock sign` changes 16 KiB at
//! a fixed place near the start of the bundle instead of copying gigabytes.
//! The write is a single positioned write followed by fsync.

use super::format::{self, Signatures};
use super::reader::read_head;
use super::writer::signature_slot;
use super::{io_err, padded, BundleError, Result};
use std::fs::OpenOptions;
use std::os::unix::fs::FileExt;
use std::path::Path;

pub fn write_signatures(path: &Path, signatures: &Signatures) -> Result<()> {
    let head = read_head(path)?;
    let slot = signature_slot(signatures).ok_or_else(|| BundleError::NotABundle {
        path: path.to_path_buf(),
        reason: "too many signatures for the signature slot".into(),
    })?;
    // Entry 1 header + manifest data, then entry 2's header, then the slot.
    let offset = 512 + padded(head.manifest_bytes.len() as u64) + 512;
    debug_assert_eq!(slot.len() as u64, format::SIGNATURES_SLOT_SIZE);
    let file = OpenOptions::new().write(true).open(path).map_err(io_err(path))?;
    file.write_all_at(&slot, offset).map_err(io_err(path))?;
    file.sync_all().map_err(io_err(path))?;
    Ok(())
}
