//! Signatures in the Sigstore bundle form (`application/vnd.dev.sigstore.
//! bundle.v0.3+json`), the form cosign v3 writes and reads by default: a
//! key-based `messageSignature` (the SHA-256 of the signed bytes and an
//! ECDSA signature over them), no certificate, no transparency-log entry,
//! as `cosign sign-blob --key K --bundle F --tlog-upload=false` writes it
//! offline. `cosign verify-blob --key K.pub --bundle F
//! --insecure-ignore-tlog FILE` checks what this module writes.
//!
//! Written by hand, not with `sigstore_protobuf_specs`: that crate's types
//! come with prost, prost-reflect and a protobuf build script, for the five
//! JSON fields a key-based message signature uses. The tests read bundles
//! the real cosign wrote, and the real cosign checks ours
//! (tests/it/cosign.rs).
//!
//! This module turns a signature into that JSON and back; which bytes are
//! signed, and where the JSON is stored, is for its callers.

use crate::bundle::format::Signatures;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use serde::{Deserialize, Serialize};

pub const MEDIA_TYPE_V03: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
/// Media types of the bundle versions whose message signatures read alike.
const READABLE: [&str; 3] = [
    "application/vnd.dev.sigstore.bundle+json;version=0.1",
    "application/vnd.dev.sigstore.bundle+json;version=0.2",
    MEDIA_TYPE_V03,
];

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SigstoreBundle {
    pub media_type: String,
    pub verification_material: VerificationMaterial,
    pub message_signature: MessageSignature,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct VerificationMaterial {
    /// Absent when the bundle carries a certificate instead (keyless).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<PublicKeyIdentifier>,
    /// Always written, empty: cosign's bundles carry the field.
    #[serde(default)]
    pub tlog_entries: Vec<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp_verification_data: Option<serde_json::Value>,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct PublicKeyIdentifier {
    /// Which key signed: cosign writes the base64 of the SHA-256 of the
    /// key's DER SubjectPublicKeyInfo. A hint only; never trusted.
    #[serde(default)]
    pub hint: String,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct MessageSignature {
    pub message_digest: HashOutput,
    /// Base64 of the ASN.1 DER ECDSA signature.
    pub signature: String,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct HashOutput {
    /// `SHA2_256`.
    pub algorithm: String,
    /// Base64 of the digest bytes.
    pub digest: String,
}

impl SigstoreBundle {
    /// The bundle for `signature_b64` (base64 DER ECDSA over SHA-256 of
    /// the message whose digest is `sha256`), by the key whose ID is
    /// `key_id` (`sha256:HEX` of its DER public key).
    pub fn for_signature(sha256: &[u8; 32], signature_b64: &str, key_id: &str) -> Self {
        let hint = key_id.strip_prefix("sha256:").and_then(|hex| hex::decode(hex).ok()).map(|b| BASE64.encode(b));
        SigstoreBundle {
            media_type: MEDIA_TYPE_V03.to_string(),
            verification_material: VerificationMaterial {
                public_key: Some(PublicKeyIdentifier { hint: hint.unwrap_or_default() }),
                ..Default::default()
            },
            message_signature: MessageSignature {
                message_digest: HashOutput { algorithm: "SHA2_256".into(), digest: BASE64.encode(sha256) },
                signature: signature_b64.to_string(),
            },
        }
    }

    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a Sigstore bundle serializes")
    }

    /// Reads a bundle, refusing other versions and other content (a DSSE
    /// envelope, say) with a reason.
    pub fn parse(bytes: &[u8]) -> Result<Self, String> {
        let bundle: SigstoreBundle = serde_json::from_slice(bytes.trim_ascii())
            .map_err(|e| format!("not a Sigstore message-signature bundle: {e}"))?;
        if !READABLE.contains(&bundle.media_type.as_str()) {
            return Err(format!("Sigstore bundle media type `{}` is not one airlock reads", bundle.media_type));
        }
        if bundle.message_signature.message_digest.algorithm != "SHA2_256" {
            return Err(format!(
                "its message digest is {}, and airlock checks SHA2_256 only",
                bundle.message_signature.message_digest.algorithm
            ));
        }
        Ok(bundle)
    }

    /// The signer's key ID (`sha256:HEX`), from the hint when it is one.
    pub fn key_id(&self) -> Option<String> {
        let hint = &self.verification_material.public_key.as_ref()?.hint;
        let bytes = BASE64.decode(hint).ok().filter(|b| b.len() == 32)?;
        Some(format!("sha256:{}", hex::encode(bytes)))
    }

    /// Whether the bundle's recorded digest is that of `message`. The
    /// signature itself is checked over the message by the caller's key.
    pub fn digest_matches(&self, message: &[u8]) -> bool {
        use sha2::Digest as _;
        let actual = sha2::Sha256::digest(message);
        BASE64.decode(&self.message_signature.message_digest.digest).is_ok_and(|d| d == actual.as_slice())
    }
}

/// What a bundle's `airlock/signature.sigstore.json` entry holds: the
/// Sigstore bundle of the signature added last (the slot lists them all),
/// or `{}` for an unsigned bundle.
pub fn entry_for(signatures: &Signatures, manifest: &[u8]) -> Vec<u8> {
    use sha2::Digest as _;
    match signatures.signatures.iter().rev().find(|s| s.algorithm == super::ALGORITHM) {
        Some(record) => {
            let digest: [u8; 32] = sha2::Sha256::digest(manifest).into();
            SigstoreBundle::for_signature(&digest, &record.signature, &record.key_id).to_json()
        }
        None => b"{}".to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bundle_round_trips_and_names_its_key() {
        let key_id = format!("sha256:{}", "ab".repeat(32));
        let digest = [7u8; 32];
        let bundle = SigstoreBundle::for_signature(&digest, "c2ln", &key_id);
        let json = bundle.to_json();
        let text = String::from_utf8(json.clone()).unwrap();
        assert!(text.starts_with(r#"{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json""#), "{text}");
        assert!(text.contains(r#""tlogEntries":[]"#), "{text}");
        let back = SigstoreBundle::parse(&json).unwrap();
        assert_eq!(back, bundle);
        assert_eq!(back.key_id().as_deref(), Some(key_id.as_str()));
        assert_eq!(back.verification_material.public_key.unwrap().hint, BASE64.encode([0xab; 32]));
    }

    #[test]
    fn other_media_types_and_digests_are_refused_with_a_reason() {
        let mut bundle = SigstoreBundle::for_signature(&[0; 32], "c2ln", "sha256:00");
        bundle.media_type = "application/vnd.dev.sigstore.bundle.v9+json".into();
        let err = SigstoreBundle::parse(&bundle.to_json()).unwrap_err();
        assert!(err.contains("v9+json"), "{err}");
        let err = SigstoreBundle::parse(br#"{"mediaType":"x","dsseEnvelope":{}}"#).unwrap_err();
        assert!(err.contains("not a Sigstore message-signature bundle"), "{err}");
    }

    #[test]
    fn the_digest_must_be_the_messages() {
        use sha2::Digest as _;
        let digest: [u8; 32] = sha2::Sha256::digest(b"manifest").into();
        let bundle = SigstoreBundle::for_signature(&digest, "c2ln", "sha256:00");
        assert!(bundle.digest_matches(b"manifest"));
        assert!(!bundle.digest_matches(b"manifesT"));
    }
}
