//! Cosign image signatures in a registry, in either form cosign writes:
//!
//! - cosign v3: an OCI 1.1 referrer of the image (a manifest whose
//!   `subject` is the image) whose layer is a Sigstore bundle holding a DSSE
//!   envelope over an in-toto statement (`dsse`): predicate type
//!   `https://sigstore.dev/cosign/sign/v1`, subject the image's digest.
//!   Found through the registry's referrers API, or its `sha256-<hex>` tag
//!   on a registry without one.
//! - legacy (cosign v2): the `sha256-<digest>.sig` tag holds a manifest whose
//!   layers are simple-signing payloads, each with its base64 signature in
//!   the `dev.cosignproject.cosign/signature` annotation.
//!
//! An image is accepted when one signature verifies with the trusted key and
//! names exactly the image's digest. Referrers are tried first.
//!
//! Written here on top of `sigstore`'s key types rather than with its
//! `cosign` client: key-based checks need only this, and the client would
//! pull Fulcio, Rekor and OAuth machinery into an offline tool.

use super::dsse;
use super::PublicKey;
use crate::cache::Cache;
use crate::oci::digest::Digest;
use crate::oci::manifest::AnyManifest;
use crate::oci::registry::{Referrer, Registry, RegistryError};
use crate::oci::resolve::BlobDescriptor;
use oci_client::Reference;

pub const SIGNATURE_ANNOTATION: &str = "dev.cosignproject.cosign/signature";
/// The artifact type (and layer media type) of a cosign v3 referrer.
pub const SIGSTORE_BUNDLE_PREFIX: &str = "application/vnd.dev.sigstore.bundle";
/// The largest Sigstore bundle read: cosign's are a few kilobytes (an
/// attestation carries its predicate, an SBOM perhaps megabytes).
const MAX_BUNDLE_SIZE: u64 = 16 << 20;

#[derive(Debug, thiserror::Error)]
pub enum ImageSignatureError {
    #[error("image {image} has no cosign signature (no Sigstore bundle signature among its referrers, and no tag {tag}); sign it with `cosign sign --key`, or drop `verify` from the spec")]
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
    pub form: SignatureForm,
    pub manifest: BlobDescriptor,
    pub blobs: Vec<BlobDescriptor>,
    pub key_id: String,
}

#[derive(Debug, Clone)]
pub enum SignatureForm {
    /// The legacy tag it lives under (`sha256-<hex>.sig`).
    Tag(String),
    /// A referrer of the image, as the registry listed it.
    Referrer(Referrer),
}

pub fn signature_tag(digest: &Digest) -> String {
    format!("sha256-{}.sig", digest.hex())
}

/// Whether a referrer may be a cosign v3 signature (a Sigstore bundle).
pub fn is_sigstore_referrer(referrer: &Referrer) -> bool {
    referrer.artifact_type.as_deref().is_some_and(|t| t.starts_with(SIGSTORE_BUNDLE_PREFIX))
}

/// What the signatures tried so far came to, for the error when none is
/// accepted.
#[derive(Default)]
struct Tried {
    /// Some signature was there (whether or not it verified).
    found: bool,
    /// A verified signature for another digest: what it names.
    wrong_digest: Option<String>,
}

/// Checks the image's signature with `key`: among `referrers` (the image's
/// referrers, as the registry lists them) first, then under the legacy tag.
pub async fn verify(
    registry: &Registry,
    image: &Reference,
    digest: &Digest,
    key: &PublicKey,
    cache: &Cache,
    referrers: &[Referrer],
) -> Result<VerifiedSignature, ImageSignatureError> {
    let name = image.whole();
    let mut tried = Tried::default();
    for referrer in referrers.iter().filter(|r| is_sigstore_referrer(r)) {
        if let Some(verified) = verify_referrer(registry, image, digest, key, cache, referrer, &mut tried).await? {
            return Ok(verified);
        }
    }
    let tag = signature_tag(digest);
    match verify_tag(registry, image, digest, key, cache, &tag, &mut tried).await {
        Err(ImageSignatureError::Registry(RegistryError::NotFound { .. })) if !tried.found => {
            Err(ImageSignatureError::Missing { image: name, tag })
        }
        Err(ImageSignatureError::Registry(RegistryError::NotFound { .. })) => Err(refusal(&name, digest, key, tried)),
        Ok(Some(verified)) => Ok(verified),
        Ok(None) => Err(refusal(&name, digest, key, tried)),
        Err(e) => Err(e),
    }
}

fn refusal(image: &str, digest: &Digest, key: &PublicKey, tried: Tried) -> ImageSignatureError {
    match tried.wrong_digest {
        Some(signed) => ImageSignatureError::WrongDigest { image: image.into(), signed, digest: digest.clone() },
        None => ImageSignatureError::NotVerified {
            image: image.into(),
            key: key.path.display().to_string(),
            key_id: key.key_id.clone(),
        },
    }
}

/// One referrer: its manifest, then its Sigstore bundle layers, each
/// checked with the key. An attestation (another predicate type) that
/// verifies is not a signature, and does not count as one.
async fn verify_referrer(
    registry: &Registry,
    image: &Reference,
    digest: &Digest,
    key: &PublicKey,
    cache: &Cache,
    referrer: &Referrer,
    tried: &mut Tried,
) -> Result<Option<VerifiedSignature>, ImageSignatureError> {
    let name = image.whole();
    let malformed = |detail: String| ImageSignatureError::Malformed { image: name.clone(), detail };
    let at = image.clone_with_digest(referrer.digest.to_string());
    let (bytes, manifest_digest, media_type) = registry.manifest(&at).await?;
    if manifest_digest != referrer.digest || Digest::of(&bytes) != referrer.digest {
        return Err(malformed(format!("referrer {} does not match its digest", referrer.digest)));
    }
    let manifest = AnyManifest::parse(&bytes).map_err(malformed)?;
    let Some(config) = manifest.config.as_ref() else { return Ok(None) };
    for layer in manifest.layers.iter().filter(|l| l.media_type.starts_with(SIGSTORE_BUNDLE_PREFIX)) {
        if layer.size > MAX_BUNDLE_SIZE {
            continue;
        }
        registry.blob_to_cache(&at, &layer.digest, layer.size, cache).await?;
        let Ok(envelope) = dsse::envelope(&cache.read(&layer.digest)?) else { continue };
        tried.found = true;
        let statement = match dsse::verify(&envelope, key) {
            Ok(statement) => statement,
            Err(dsse::DsseError::BadStatement(detail)) => return Err(malformed(detail)),
            Err(_) => continue,
        };
        if !statement.is_signature() {
            continue;
        }
        if !statement.names(digest) {
            tried.wrong_digest = Some(statement.subjects_text());
            continue;
        }
        cache.insert_bytes(&bytes)?;
        return Ok(Some(VerifiedSignature {
            form: SignatureForm::Referrer(referrer.clone()),
            manifest: BlobDescriptor { digest: manifest_digest, size: bytes.len() as u64, media_type },
            blobs: descriptors(config, &manifest),
            key_id: key.key_id.clone(),
        }));
    }
    Ok(None)
}

/// The legacy tag. Not found is a `Registry(NotFound)` error, for the
/// caller to tell apart.
async fn verify_tag(
    registry: &Registry,
    image: &Reference,
    digest: &Digest,
    key: &PublicKey,
    cache: &Cache,
    tag: &str,
    tried: &mut Tried,
) -> Result<Option<VerifiedSignature>, ImageSignatureError> {
    let name = image.whole();
    let sig_ref = Reference::with_tag(image.registry().to_string(), image.repository().to_string(), tag.to_string());
    let (bytes, sig_digest, media_type) = registry.manifest(&sig_ref).await?;
    tried.found = true;
    let malformed = |detail: String| ImageSignatureError::Malformed { image: name.clone(), detail };
    let manifest = AnyManifest::parse(&bytes).map_err(malformed)?;
    let config = manifest.config.as_ref().ok_or_else(|| malformed("no config".into()))?;
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
            cache.insert_bytes(&bytes)?;
            return Ok(Some(VerifiedSignature {
                form: SignatureForm::Tag(tag.to_string()),
                manifest: BlobDescriptor { digest: sig_digest, size: bytes.len() as u64, media_type },
                blobs: descriptors(config, &manifest),
                key_id: key.key_id.clone(),
            }));
        }
        tried.wrong_digest = Some(signed);
    }
    Ok(None)
}

fn descriptors(config: &crate::oci::manifest::Descriptor, manifest: &AnyManifest) -> Vec<BlobDescriptor> {
    std::iter::once(config)
        .chain(&manifest.layers)
        .map(|d| BlobDescriptor { digest: d.digest.clone(), size: d.size, media_type: d.media_type.clone() })
        .collect()
}
