//! `airlock sign`: add a signature over the manifest of an existing bundle,
//! in place (the signature slot has a fixed size), replacing an earlier
//! signature by the same key.

use crate::bundle::reader::read_head;
use crate::bundle::slot::write_signatures;
use crate::sign::PrivateKey;
use anyhow::{Context, Result};
use std::path::Path;

pub struct SignReport {
    pub key_id: String,
    pub signatures: usize,
}

pub fn sign(bundle: &Path, key: &PrivateKey) -> Result<SignReport> {
    let head = read_head(bundle)?;
    let record = key.signature_record(&head.manifest_bytes)?;
    let mut signatures = head.signatures;
    signatures.signatures.retain(|s| s.key_id != record.key_id);
    signatures.signatures.push(record);
    write_signatures(bundle, &signatures).with_context(|| format!("cannot sign {}", bundle.display()))?;
    Ok(SignReport { key_id: key.key_id.clone(), signatures: signatures.signatures.len() })
}
