//! The signature slot, rewritten in place: `airlock sign` changes 16 KiB at
//! a fixed place near the start of the bundle instead of copying gigabytes.
//! The write is a single positioned write followed by fsync (for a split
//! bundle, in the part holding the slot, whose checksum is rewritten).

use super::format::{self, Signatures};
use super::parts::Source;
use super::reader::read_head;
use super::writer::{signature_slot, sigstore_slot};
use super::{padded, BundleError, Result};
use std::path::Path;

/// Rewrites the signatures slot and, in a bundle that has one, the
/// Sigstore slot after it (`sigstore`: its new content, unpadded).
pub fn write_signatures(path: &Path, signatures: &Signatures, sigstore: &[u8]) -> Result<()> {
    let head = read_head(path)?;
    let slot = signature_slot(signatures).ok_or_else(|| BundleError::NotABundle {
        path: path.to_path_buf(),
        reason: "too many signatures for the signature slot".into(),
    })?;
    // Entry 1 header + manifest data, then entry 2's header, then the slot.
    let offset = 512 + padded(head.manifest_bytes.len() as u64) + 512;
    debug_assert_eq!(slot.len() as u64, format::SIGNATURES_SLOT_SIZE);
    let source = Source::open(path)?;
    if head.sigstore.is_some() {
        let sigstore_slot = sigstore_slot(sigstore).ok_or_else(|| BundleError::NotABundle {
            path: path.to_path_buf(),
            reason: "the Sigstore signature does not fit its slot".into(),
        })?;
        // After the signatures slot (a multiple of 512) comes entry 3's header.
        let sigstore_offset = offset + format::SIGNATURES_SLOT_SIZE + 512;
        super::parts::write_in_place(&source, sigstore_offset, &sigstore_slot)?;
    }
    super::parts::write_in_place(&source, offset, &slot)
}
