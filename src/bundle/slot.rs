//! The signature slot, rewritten in place: `airlock sign` changes 16 KiB at
//! a fixed place near the start of the bundle instead of copying gigabytes.
//! The write is a single positioned write followed by fsync (for a split
//! bundle, in the part holding the slot, whose checksum is rewritten).

use super::format::{self, Signatures};
use super::parts::Source;
use super::reader::read_head;
use super::writer::signature_slot;
use super::{padded, BundleError, Result};
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
    super::parts::write_in_place(&Source::open(path)?, offset, &slot)
}
