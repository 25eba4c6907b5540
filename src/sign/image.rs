//! Cosign image signatures in a registry: the `sha256-<digest>.sig` tag
//! holds a manifest whose layers are simple-signing payloads, each with its
//! base64 signature in the `dev.cosignproject.cosign/signature` annotation.
//! An image is accepted when one payload verifies with the trusted key and
//! names exactly the image's digest.
//!
//! Written here on top of `sigstore`'s key types rather than with its
//! `cosign` client: key-based checks need only this, and the client would
//! pull Fulcio, Rekor and OAuth machinery into an offline tool.

use super::PublicKey;
use crate::cache::Cache;
use crate::oci::digest::Digest;
use crate::oci::manifest::AnyManifest;
use crate::oci::registry::{Registry, RegistryError};
use crate::oci::resolve::BlobDescriptor;
use oci_client::Reference;

pub const SIGNATURE_ANNOTATION: &str = "dev.cosignproject.cosign/signature";

#[derive(Debug, thiserror::Error)]
pub enum ImageSignatureError {
    #[error("image {image} has no cosign signature (tag {tag} not found); sign it with `cosign sign --key`, or drop `verify` from the spec")]
    Missing { image: String, tag: String },
    #[error("no cosign signature of image {image} verifies with key {key} (key id {key_id}); refusing the image")]
    NotVerified { image: String, key: String, key_id: String },
    #[error("the cosign signature of image {image} verifies but is for {signed}, not {digest}; refusing the image")]
    WrongDigest { image: String, signed: String, digest: Digest },
    #[error("signature manifest of {image} is malformed: {detail}")]
    Malformed { image: String, detail: String },
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error(transparent)]
    Cache(#[from] crate::cache::CacheError),
}

/// A verified signature artifact, ready to be carried in the bundle.
#[derive(Debug, Clone)]
pub struct VerifiedSignature {
    pub tag: String,
    pub manifest: BlobDescriptor,
    pub blobs: Vec<BlobDescriptor>,
    pub key_id: String,
}

pub fn signature_tag(digest: &Digest) -> String {
    format!("sha256-{}.sig", digest.hex())
}

pub async fn verify(
    registry: &Registry,
    image: &Reference,
    digest: &Digest,
    key: &PublicKey,
    cache: &Cache,
) -> Result<VerifiedSignature, ImageSignatureError> {
    let name = image.whole();
    let tag = signature_tag(digest);
    let sig_ref = Reference::with_tag(image.registry().to_string(), image.repository().to_string(), tag.clone());
    let (bytes, sig_digest, media_type) = match registry.manifest(&sig_ref).await {
        Err(RegistryError::NotFound { .. }) => return Err(ImageSignatureError::Missing { image: name, tag }),
        other => other?,
    };
    let malformed = |detail: String| ImageSignatureError::Malformed { image: name.clone(), detail };
    let manifest = AnyManifest::parse(&bytes).map_err(malformed)?;
    let config = manifest.config.as_ref().ok_or_else(|| malformed("no config".into()))?;
    let mut wrong_digest = None;
    let mut verified = false;
    for layer in &manifest.layers {
        let Some(signature) = layer.annotations.get(SIGNATURE_ANNOTATION) else { continue };
        registry.blob_to_cache(&sig_ref, &layer.digest, layer.size, cache).await?;
        let payload = cache.read(&layer.digest)?;
        if !key.verify(signature, &payload) {
            continue;
        }
        let signed: serde_json::Value = serde_json::from_slice(&payload).map_err(|e| malformed(e.to_string()))?;
        let signed = signed["critical"]["image"]["docker-manifest-digest"].as_str().unwrap_or_default().to_string();
        if signed == digest.to_string() {
            verified = true;
            break;
        }
        wrong_digest = Some(signed);
    }
    if !verified {
        return Err(match wrong_digest {
            Some(signed) => ImageSignatureError::WrongDigest { image: name, signed, digest: digest.clone() },
            None => ImageSignatureError::NotVerified {
                image: name,
                key: key.path.display().to_string(),
                key_id: key.key_id.clone(),
            },
        });
    }
    cache.insert_bytes(&bytes)?;
    let blobs = std::iter::once(config)
        .chain(&manifest.layers)
        .map(|d| BlobDescriptor { digest: d.digest.clone(), size: d.size, media_type: d.media_type.clone() })
        .collect();
    Ok(VerifiedSignature {
        tag,
        manifest: BlobDescriptor { digest: sig_digest, size: bytes.len() as u64, media_type },
        blobs,
        key_id: key.key_id.clone(),
    })
}
