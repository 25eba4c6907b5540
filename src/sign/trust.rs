//! Deciding whether a bundle is trusted: which public keys are trusted
//! (`--key`, `AIRLOCK_TRUSTED_KEYS`, `~/.config/airlock/trusted-keys/`), and
//! whether one of them verifies a signature over the manifest bytes.
//! Signature checking is mandatory unless the caller allows unsigned
//! bundles explicitly.

use super::sigstore_bundle::SigstoreBundle;
use super::{PublicKey, SignError};
use crate::bundle::format::Signatures;
use crate::bundle::reader::BundleHead;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    #[error("no trusted key to check the signature of {bundle}")]
    NoTrustedKeys { bundle: PathBuf },
    #[error("{bundle} is not signed")]
    Unsigned { bundle: PathBuf },
    #[error("{bundle}: no signature verifies with the trusted keys ({keys})")]
    BadSignature { bundle: PathBuf, keys: String },
    #[error(transparent)]
    Key(#[from] SignError),
    #[error("cannot read trusted keys from {path}")]
    Dir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// How a command that reads a bundle decides to trust it.
#[derive(Clone, Debug, Default)]
pub struct TrustOptions {
    pub keys: Vec<PathBuf>,
    pub allow_unsigned: bool,
}

/// Checks the signature over a bundle's manifest (its head, already read)
/// against the keys `options` trusts.
pub fn check_head(path: &Path, head: &BundleHead, options: &TrustOptions) -> Result<Verdict, TrustError> {
    let keys = if options.allow_unsigned { Vec::new() } else { trusted_keys(&options.keys)? };
    check(path, &head.manifest_bytes, &head.signatures, head.sigstore.as_deref(), &keys, options.allow_unsigned)
}

#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Signed by this trusted key.
    Trusted { key_id: String, key_path: PathBuf },
    /// The caller allowed unsigned bundles; nothing was checked.
    NotChecked,
}

/// Default directory of trusted public keys (`*.pub`).
pub fn config_dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(base.join("airlock").join("trusted-keys"))
}

fn add_path(path: &Path, out: &mut Vec<PublicKey>) -> Result<(), TrustError> {
    if path.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(|source| TrustError::Dir { path: path.into(), source })?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "pub" || x == "pem"))
            .collect();
        entries.sort();
        for p in entries {
            out.push(PublicKey::load(&p)?);
        }
        Ok(())
    } else {
        out.push(PublicKey::load(path)?);
        Ok(())
    }
}

/// Every trusted key: those named on the command line, in
/// `AIRLOCK_TRUSTED_KEYS` (`:`-separated files or directories), and in the
/// config directory.
pub fn trusted_keys(explicit: &[PathBuf]) -> Result<Vec<PublicKey>, TrustError> {
    let mut keys = Vec::new();
    for p in explicit {
        add_path(p, &mut keys)?;
    }
    if let Some(list) = std::env::var_os("AIRLOCK_TRUSTED_KEYS") {
        for p in std::env::split_paths(&list).filter(|p| !p.as_os_str().is_empty()) {
            add_path(&p, &mut keys)?;
        }
    }
    if let Some(dir) = config_dir().filter(|d| d.is_dir()) {
        add_path(&dir, &mut keys)?;
    }
    Ok(keys)
}

/// Checks the signatures of a bundle whose manifest bytes are `manifest`:
/// those of its signatures slot, and the Sigstore bundle of its
/// `airlock/signature.sigstore.json` entry (`sigstore`) when it has one.
pub fn check(
    bundle: &Path,
    manifest: &[u8],
    signatures: &Signatures,
    sigstore: Option<&[u8]>,
    keys: &[PublicKey],
    allow_unsigned: bool,
) -> Result<Verdict, TrustError> {
    if allow_unsigned {
        return Ok(Verdict::NotChecked);
    }
    if keys.is_empty() {
        return Err(TrustError::NoTrustedKeys { bundle: bundle.into() });
    }
    // An unsigned bundle's entry holds `{}`; one whose digest is another
    // manifest's cannot vouch for this one.
    let sigstore = sigstore
        .and_then(|bytes| SigstoreBundle::parse(bytes).ok())
        .filter(|b| b.digest_matches(manifest))
        .map(|b| b.message_signature.signature);
    if signatures.signatures.is_empty() && sigstore.is_none() {
        return Err(TrustError::Unsigned { bundle: bundle.into() });
    }
    let legacy = signatures.signatures.iter().filter(|s| s.algorithm == super::ALGORITHM).map(|s| &s.signature);
    let candidates: Vec<&String> = legacy.chain(sigstore.as_ref()).collect();
    for key in keys {
        if candidates.iter().any(|sig| key.verify(sig, manifest)) {
            return Ok(Verdict::Trusted { key_id: key.key_id.clone(), key_path: key.path.clone() });
        }
    }
    Err(TrustError::BadSignature {
        bundle: bundle.into(),
        keys: keys
            .iter()
            .map(|k| format!("{} {}", k.path.display(), short_id(&k.key_id)))
            .collect::<Vec<_>>()
            .join(", "),
    })
}

/// The first 12 hex digits of a key ID, for messages.
pub fn short_id(key_id: &str) -> &str {
    let hex = key_id.strip_prefix("sha256:").unwrap_or(key_id);
    &hex[..hex.len().min(12)]
}
