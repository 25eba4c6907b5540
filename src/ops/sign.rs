//! `airlock sign`: add a signature over the manifest of an existing bundle,
//! in place (the signature slots have a fixed size), replacing an earlier
//! signature by the same key. The signature is made here with a private
//! key, or made elsewhere (`cosign sign-blob --bundle` with a KMS or
//! hardware key) and attached as the Sigstore bundle cosign wrote.

use crate::bundle::format::SignatureRecord;
use crate::bundle::reader::read_head;
use crate::bundle::slot::write_signatures;
use crate::sign::sigstore_bundle::{entry_for, SigstoreBundle};
use crate::sign::PrivateKey;
use anyhow::{bail, Context, Result};
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
    let sigstore = entry_for(&signatures, &head.manifest_bytes);
    write_signatures(bundle, &signatures, &sigstore).with_context(|| format!("cannot sign {}", bundle.display()))?;
    Ok(SignReport { key_id: key.key_id.clone(), signatures: signatures.signatures.len() })
}

/// Attaches a signature made elsewhere: `sigstore_file` is the Sigstore
/// bundle `cosign sign-blob --bundle` wrote for the bundle's
/// `airlock/bundle.json`. Kept as cosign wrote it in the Sigstore slot, and
/// recorded in the signatures slot too. Which key made it is only a hint
/// until `verify` checks it against a trusted key.
pub fn attach(bundle: &Path, sigstore_file: &Path) -> Result<SignReport> {
    let bytes = std::fs::read(sigstore_file).with_context(|| format!("cannot read {}", sigstore_file.display()))?;
    let given = SigstoreBundle::parse(&bytes).map_err(|e| anyhow::anyhow!("{}: {e}", sigstore_file.display()))?;
    let head = read_head(bundle)?;
    if !given.digest_matches(&head.manifest_bytes) {
        bail!(
            "{} signs other bytes than the manifest of {}: sign its `airlock/bundle.json` (`tar -xOf {} airlock/bundle.json > bundle.json`)",
            sigstore_file.display(),
            bundle.display(),
            bundle.display()
        );
    }
    if head.sigstore.is_none() {
        bail!(
            "{} predates Sigstore signatures (bundle format 1.4); create it again with this airlock",
            bundle.display()
        );
    }
    let key_id = given.key_id().unwrap_or_else(|| "unknown".into());
    let record = SignatureRecord {
        key_id: key_id.clone(),
        algorithm: crate::sign::ALGORITHM.into(),
        signature: given.message_signature.signature.clone(),
    };
    let mut signatures = head.signatures;
    signatures.signatures.retain(|s| s.key_id != record.key_id || key_id == "unknown");
    signatures.signatures.push(record);
    write_signatures(bundle, &signatures, bytes.trim_ascii())
        .with_context(|| format!("cannot sign {}", bundle.display()))?;
    Ok(SignReport { key_id, signatures: signatures.signatures.len() })
}
