//! Keys and signatures, cosign-compatible, through the `sigstore` crate:
//! ECDSA P-256 key pairs (private key as an `ENCRYPTED SIGSTORE PRIVATE KEY`
//! PEM, public key as PEM), and signatures in the form of `cosign sign-blob`
//! (base64 of an ASN.1 DER ECDSA signature over the SHA-256 of the message).
//!
//! This module signs and checks bytes; which bytes (the bundle manifest, an
//! image's simple-signing payload) is for its callers to decide.

use base64::Engine;
use sigstore::crypto::signing_key::{SigStoreKeyPair, SigStoreSigner};
use sigstore::crypto::{CosignVerificationKey, Signature, SigningScheme};
use sigstore::errors::SigstoreError;
use std::path::{Path, PathBuf};

pub mod dsse;
pub mod image;
pub mod password;
pub mod sigstore_bundle;
pub mod trust;
pub mod trusted;

#[derive(Debug, thiserror::Error)]
pub enum SignError {
    #[error("cannot read key {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot open private key {path}: wrong password, or not a cosign/airlock private key")]
    PrivateKey {
        path: PathBuf,
        #[source]
        source: Box<SigstoreError>,
    },
    #[error("{path} is not a PEM public key")]
    PublicKey {
        path: PathBuf,
        #[source]
        source: Box<SigstoreError>,
    },
    /// A key sigstore reads whose PEM has no `PUBLIC KEY` block (or, with
    /// the cause, does not parse as PEM after all).
    #[error("{path} is not a PEM public key (no PUBLIC KEY block)")]
    NoPublicKeyBlock {
        path: PathBuf,
        #[source]
        source: Option<pem::PemError>,
    },
    #[error("cannot create a key pair")]
    Generate(#[source] Box<SigstoreError>),
    #[error("signing failed")]
    Sign(#[source] Box<SigstoreError>),
}

pub const ALGORITHM: &str = "ecdsa-p256-sha256";

/// A new key pair: (encrypted private key PEM, public key PEM).
pub fn generate_key_pair(password: &[u8]) -> Result<(String, String), SignError> {
    let failed = |e| SignError::Generate(Box::new(e));
    let signer = SigningScheme::ECDSA_P256_SHA256_ASN1.create_signer().map_err(failed)?;
    let pair = signer.to_sigstore_keypair().map_err(failed)?;
    let private = pair.private_key_to_encrypted_pem(password).map_err(failed)?;
    let public = pair.public_key_to_pem().map_err(failed)?;
    Ok((private.to_string(), public))
}

pub struct PrivateKey {
    signer: SigStoreSigner,
    pub key_id: String,
}

impl PrivateKey {
    /// Loads an encrypted private key made by `airlock key generate` or
    /// `cosign generate-key-pair`.
    pub fn load(path: &Path, password: &[u8]) -> Result<Self, SignError> {
        let pem = std::fs::read(path).map_err(|source| SignError::Io { path: path.into(), source })?;
        let bad = |e| SignError::PrivateKey { path: path.into(), source: Box::new(e) };
        let pair = SigStoreKeyPair::from_encrypted_pem(&pem, password).map_err(bad)?;
        let public_der = pair.public_key_to_der().map_err(bad)?;
        let signer = pair.to_sigstore_signer(&SigningScheme::ECDSA_P256_SHA256_ASN1).map_err(bad)?;
        Ok(PrivateKey { signer, key_id: key_id(&public_der) })
    }

    /// A cosign `sign-blob` signature: base64 DER ECDSA over SHA-256(msg).
    pub fn sign(&self, msg: &[u8]) -> Result<String, SignError> {
        let der = self.signer.sign(msg).map_err(|e| SignError::Sign(Box::new(e)))?;
        Ok(base64::engine::general_purpose::STANDARD.encode(der))
    }

    /// This key's signature over a bundle manifest, as the bundle records it.
    pub fn signature_record(&self, manifest: &[u8]) -> Result<crate::bundle::format::SignatureRecord, SignError> {
        Ok(crate::bundle::format::SignatureRecord {
            key_id: self.key_id.clone(),
            algorithm: ALGORITHM.to_string(),
            signature: self.sign(manifest)?,
        })
    }
}

/// A trusted public key.
pub struct PublicKey {
    key: CosignVerificationKey,
    pub key_id: String,
    pub path: PathBuf,
}

impl PublicKey {
    pub fn load(path: &Path) -> Result<Self, SignError> {
        let pem = std::fs::read(path).map_err(|source| SignError::Io { path: path.into(), source })?;
        Self::from_pem(path, &pem)
    }

    pub fn from_pem(path: &Path, pem: &[u8]) -> Result<Self, SignError> {
        let no_block = |source| SignError::NoPublicKeyBlock { path: path.into(), source };
        let key = CosignVerificationKey::try_from_pem(pem)
            .map_err(|e| SignError::PublicKey { path: path.into(), source: Box::new(e) })?;
        let blocks = pem::parse_many(pem).map_err(|e| no_block(Some(e)))?;
        let der = blocks.iter().find(|b| b.tag() == "PUBLIC KEY").ok_or_else(|| no_block(None))?;
        Ok(PublicKey { key, key_id: key_id(der.contents()), path: path.into() })
    }

    /// Checks a base64 signature over `msg`.
    pub fn verify(&self, signature_b64: &str, msg: &[u8]) -> bool {
        self.key.verify_signature(Signature::Base64Encoded(signature_b64.trim().as_bytes()), msg).is_ok()
    }
}

/// Key IDs are the sha256 of the public key's DER (SubjectPublicKeyInfo),
/// so the same key has the same ID whoever computes it (`openssl pkey
/// -pubin -outform DER | sha256sum`).
pub fn key_id(public_der: &[u8]) -> String {
    crate::oci::digest::Digest::of(public_der).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_sign_and_verify() {
        let dir = tempfile::tempdir().unwrap();
        let (private, public) = generate_key_pair(b"pw").unwrap();
        assert!(private.contains("ENCRYPTED SIGSTORE PRIVATE KEY"), "{private}");
        std::fs::write(dir.path().join("k.key"), &private).unwrap();
        std::fs::write(dir.path().join("k.pub"), &public).unwrap();
        let key = PrivateKey::load(&dir.path().join("k.key"), b"pw").unwrap();
        let public = PublicKey::load(&dir.path().join("k.pub")).unwrap();
        assert_eq!(key.key_id, public.key_id);
        let sig = key.sign(b"message").unwrap();
        assert!(public.verify(&sig, b"message"));
        assert!(!public.verify(&sig, b"messagf"));
        // The message says what failed; sigstore's error follows as its cause.
        let Err(err) = PrivateKey::load(&dir.path().join("k.key"), b"wrong") else { panic!("a wrong password opens") };
        let path = dir.path().join("k.key");
        assert_eq!(
            err.to_string(),
            format!("cannot open private key {}: wrong password, or not a cosign/airlock private key", path.display())
        );
        let cause = std::error::Error::source(&err).expect("a cause");
        assert!(cause.downcast_ref::<Box<SigstoreError>>().is_some(), "{cause:?}");
        let Err(err) = PublicKey::from_pem(Path::new("junk.pub"), b"junk") else { panic!("junk reads as a key") };
        assert_eq!(err.to_string(), "junk.pub is not a PEM public key");
        assert!(std::error::Error::source(&err).is_some());
        let (_, other) = generate_key_pair(b"x").unwrap();
        let other = PublicKey::from_pem(Path::new("o.pub"), other.as_bytes()).unwrap();
        assert!(!other.verify(&sig, b"message"));
        assert_ne!(other.key_id, public.key_id);
    }
}
