//! The bundle format, version 1: every path inside a bundle and the serde
//! types of the bundle manifest. Only data lives here, no I/O and no logic
//! beyond small derived figures. See docs/bundle-format.md.
//!
//! Readers ignore unknown fields within the same major version (forward
//! compatible); a different major version is rejected.

use crate::oci::digest::Digest;
use serde::{Deserialize, Serialize};

/// A platform manifest an image index lists, as `images[].platforms` and
/// `omitted` record it: the OCI notion, in the bundle as `oci` defines it.
pub use crate::oci::manifest::PlatformManifest;

pub const FORMAT_MAJOR: u32 = 1;
pub const FORMAT_MINOR: u32 = 4;

/// First tar entry: the bundle manifest, which pins every blob by digest.
pub const MANIFEST_ENTRY: &str = "airlock/bundle.json";
/// Second tar entry: a fixed-size slot for signatures over the manifest, so a
/// bundle can be signed in place without rewriting gigabytes.
pub const SIGNATURES_ENTRY: &str = "airlock/signatures.json";
pub const SIGNATURES_SLOT_SIZE: u64 = 16 * 1024;
/// Third tar entry (format 1.4 on): the signature added last, as a Sigstore
/// bundle that `cosign verify-blob --bundle` reads; a fixed-size slot too,
/// space-padded JSON (`{}` when unsigned).
pub const SIGSTORE_ENTRY: &str = "airlock/signature.sigstore.json";
pub const SIGSTORE_SLOT_SIZE: u64 = 16 * 1024;
/// The first format minor whose bundles have the Sigstore entry.
pub const SIGSTORE_SINCE_MINOR: u32 = 4;
pub const OCI_LAYOUT_ENTRY: &str = "oci-layout";
pub const OCI_INDEX_ENTRY: &str = "index.json";
pub const BLOBS_PREFIX: &str = "blobs/sha256/";
/// Suffix of a blob stored zstd-compressed; its digest is still that of the
/// uncompressed content.
pub const ZSTD_SUFFIX: &str = ".zst";

/// The largest manifest a reader accepts: a bundle with 100k blobs is ~20 MiB.
pub const MAX_MANIFEST_SIZE: u64 = 64 << 20;

pub fn blob_entry_name(digest: &Digest, encoding: Encoding) -> String {
    match encoding {
        Encoding::Identity => format!("{BLOBS_PREFIX}{}", digest.hex()),
        Encoding::Zstd => format!("{BLOBS_PREFIX}{}{ZSTD_SUFFIX}", digest.hex()),
    }
}

#[derive(Serialize, Deserialize, Clone, Debug)]
#[serde(rename_all = "camelCase")]
pub struct BundleManifest {
    /// Major format version; readers reject any other.
    pub format: u32,
    #[serde(default)]
    pub format_minor: u32,
    pub metadata: Metadata,
    pub created_by: String,
    /// Platforms selected at create time; empty means every platform.
    #[serde(default)]
    pub platforms: Vec<String>,
    pub components: Vec<Component>,
    /// Every blob in the bundle, sorted by digest, each stored once.
    pub blobs: Vec<BlobRecord>,
    #[serde(default)]
    pub inputs: Inputs,
    /// For a differential bundle: the bundle whose blobs it leaves out
    /// (those marked `inBase`), which the target must already hold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base: Option<BaseRecord>,
    /// Named sets of chart values the site picks one of at install
    /// (`--env`), by name (format 1.3).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub environments: std::collections::BTreeMap<String, EnvironmentRecord>,
    /// What the site's cluster must meet, checked before install and
    /// upgrade (format 1.3).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub preflight: Vec<PreflightCheck>,
}

/// One check of the site's cluster the bundle's author asks for: `strict`
/// ones refuse an install that fails them, others warn.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PreflightCheck {
    #[serde(flatten)]
    pub requirement: Requirement,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub strict: bool,
    /// What to tell the site when it fails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The check applies only when this value (`CHART.path`) is on (true,
    /// or any value but false, null, 0 or empty) in the chart's values as
    /// installed: the chart's own, the bundle's, the environment's and the
    /// site's (an Istio CRD needed only when `web.istio.enabled`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<String>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum Requirement {
    /// A semver constraint on the API server's version (`>=1.28`).
    KubeVersion(String),
    /// Every node's architecture is one of these (`[amd64, arm64]`).
    Architectures(Vec<String>),
    /// A StorageClass of this name exists.
    StorageClass(String),
    /// A CustomResourceDefinition of this name exists
    /// (`certificates.cert-manager.io`).
    Crd(String),
    /// The nodes' allocatable CPU and memory together, at least
    /// (`{cpu: "4", memory: 8Gi}`).
    Capacity {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cpu: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        memory: Option<String>,
    },
}

/// An environment: values for some of the bundle's charts, by chart name,
/// layered over the chart's own values (files, then inline values).
#[derive(Serialize, Deserialize, Clone, Debug, Default)]
#[serde(rename_all = "camelCase")]
pub struct EnvironmentRecord {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub charts: std::collections::BTreeMap<String, ChartValuesRecord>,
    /// By component name: the manifests the environment adds to it (its
    /// kustomize overlays, rendered at create time), installed with it.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub components: std::collections::BTreeMap<String, Vec<DocumentRecord>>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default)]
#[serde(rename_all = "camelCase")]
pub struct ChartValuesRecord {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values_files: Vec<DocumentRecord>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<serde_json::Value>,
}

/// What a differential bundle was made against: an earlier bundle, or what
/// a registry held (`registry`, with no manifest digest).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct BaseRecord {
    pub name: String,
    pub version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifest_digest: Option<Digest>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry: Option<String>,
}

impl BaseRecord {
    /// How messages name the base.
    pub fn describe(&self) -> String {
        match &self.registry {
            Some(r) => format!("(what registry {r} held)"),
            None => format!("{} {}", self.name, self.version),
        }
    }
}

#[derive(Serialize, Deserialize, Clone, Debug, Default)]
#[serde(rename_all = "camelCase")]
pub struct Metadata {
    pub name: String,
    pub version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// What the bundle was made from, for provenance.
#[derive(Serialize, Deserialize, Clone, Debug, Default)]
#[serde(rename_all = "camelCase")]
pub struct Inputs {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec_file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec_digest: Option<Digest>,
}

#[derive(Serialize, Deserialize, Clone, Debug)]
#[serde(rename_all = "camelCase")]
pub struct Component {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub required: bool,
    #[serde(default)]
    pub images: Vec<ImageRecord>,
    #[serde(default)]
    pub charts: Vec<ChartRecord>,
    #[serde(default)]
    pub crds: Vec<DocumentRecord>,
    #[serde(default)]
    pub manifests: Vec<DocumentRecord>,
    #[serde(default)]
    pub files: Vec<FileRecord>,
}

#[derive(Serialize, Deserialize, Clone, Debug)]
#[serde(rename_all = "camelCase")]
pub struct ImageRecord {
    /// Full reference the image is known by, e.g. `docker.io/library/redis:7`.
    pub reference: String,
    /// The spec entry it came from, e.g. `oci-layout:./images/app:1.0.0`.
    pub source: String,
    /// Digest of the top manifest or index, exactly as the source served it.
    pub digest: Digest,
    pub media_type: String,
    /// Bytes of every blob this image uses in the bundle (shared ones included).
    pub size: u64,
    /// For an index: the platform manifests carried.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub platforms: Vec<PlatformManifest>,
    /// For an index: manifests left out by the platform filter. The index is
    /// kept byte-exact, so these are referenced but deliberately absent.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub omitted: Vec<PlatformManifest>,
    /// When `omitted` is not empty: an index listing only the platforms
    /// carried (format 1.1). Registries refuse an index whose manifests they
    /// lack, so this is what `push` tags; the original stays in the bundle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filtered_index: Option<Digest>,
    /// Cosign signatures verified at create time and carried along (format 1.1).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub signatures: Vec<ImageSignature>,
    /// Charts (release names) whose rendered pod templates run this image.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub charts: Vec<String>,
    /// Artifacts that refer to the image (OCI 1.1 `subject`) carried along:
    /// cosign v3 signatures and attestations, SBOMs (format 1.4). Their
    /// manifests and blobs are bundle blobs. Sorted by subject, then digest.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub referrers: Vec<ReferrerRecord>,
}

/// A referrer of an image: the descriptor a registry's referrers list
/// gives for it (`mediaType`, `artifactType`, `annotations` are the
/// referrer manifest's own), and the manifest it refers to.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ReferrerRecord {
    pub digest: Digest,
    pub media_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    pub size: u64,
    /// The manifest it refers to: the image's digest, or (for a
    /// multi-platform image) one of its platform manifests.
    pub subject: Digest,
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub annotations: std::collections::BTreeMap<String, String>,
    /// For a cosign signature that `verify:` checked at create: the trusted
    /// key that verified it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
}

impl ReferrerRecord {
    /// What it is, in a few words: `cosign signature`, `attestation
    /// <predicate type>`, or its artifact type.
    pub fn kind(&self) -> String {
        let predicate = self.annotations.get("dev.sigstore.bundle.predicateType");
        match (predicate.map(String::as_str), &self.artifact_type) {
            (Some("https://sigstore.dev/cosign/sign/v1"), _) => "cosign signature".into(),
            (Some(predicate), _) => format!("attestation {predicate}"),
            (None, Some(artifact_type)) => artifact_type.clone(),
            (None, None) => self.media_type.clone(),
        }
    }
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ImageSignature {
    /// The registry tag it lives under (`sha256-<hex>.sig`).
    pub tag: String,
    pub digest: Digest,
    /// The trusted key that verified it.
    pub key_id: String,
}

#[derive(Serialize, Deserialize, Clone, Debug)]
#[serde(rename_all = "camelCase")]
pub struct ChartRecord {
    /// Release name from the spec.
    pub name: String,
    pub chart_name: String,
    pub version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub source: String,
    /// The chart as a Helm OCI artifact: manifest digest ...
    pub digest: Digest,
    /// ... and the chart archive (`.tgz`) inside it.
    pub archive_digest: Digest,
    pub size: u64,
    /// Values files from the spec, in order, as blobs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values_files: Vec<DocumentRecord>,
    /// Inline values from the spec (applied after the values files).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<serde_json::Value>,
    /// Values the site must give at install (dotted paths; format 1.3).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub required_values: Vec<String>,
    /// Values that are secrets, never printed (dotted paths; format 1.3).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secret_values: Vec<String>,
}

/// A YAML document set (CRDs, manifests, kustomize output, values).
#[derive(Serialize, Deserialize, Clone, Debug)]
#[serde(rename_all = "camelCase")]
pub struct DocumentRecord {
    pub name: String,
    pub source: String,
    pub digest: Digest,
    pub size: u64,
}

#[derive(Serialize, Deserialize, Clone, Debug)]
#[serde(rename_all = "camelCase")]
pub struct FileRecord {
    pub target: String,
    /// Octal permission bits, e.g. `0755`.
    pub mode: String,
    pub source: String,
    pub digest: Digest,
    pub size: u64,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum Encoding {
    #[default]
    Identity,
    Zstd,
}

impl Encoding {
    fn is_identity(&self) -> bool {
        *self == Encoding::Identity
    }
}

#[derive(Serialize, Deserialize, Clone, Debug)]
#[serde(rename_all = "camelCase")]
pub struct BlobRecord {
    pub digest: Digest,
    pub size: u64,
    pub media_type: String,
    #[serde(default, skip_serializing_if = "Encoding::is_identity")]
    pub encoding: Encoding,
    /// Bytes as stored in the bundle (differs from `size` when compressed).
    pub stored_size: u64,
    /// Left out of a differential bundle: the base bundle carried it, so
    /// the target has it already. No entry in the tar stream.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub in_base: bool,
}

impl BundleManifest {
    pub fn images(&self) -> impl Iterator<Item = &ImageRecord> {
        self.components.iter().flat_map(|c| c.images.iter())
    }

    pub fn charts(&self) -> impl Iterator<Item = &ChartRecord> {
        self.components.iter().flat_map(|c| c.charts.iter())
    }

    pub fn find_blob(&self, digest: &Digest) -> Option<&BlobRecord> {
        self.blobs.binary_search_by(|b| b.digest.cmp(digest)).ok().map(|i| &self.blobs[i])
    }

    /// Size of all blobs, each counted once.
    pub fn unique_size(&self) -> u64 {
        self.blobs.iter().map(|b| b.size).sum()
    }

    pub fn stored_size(&self) -> u64 {
        self.blobs.iter().map(|b| b.stored_size).sum()
    }
}

/// The signatures slot: signatures over the exact bytes of the manifest
/// entry, filled by `create --sign-key` or in place by `airlock sign`.
#[derive(Serialize, Deserialize, Clone, Debug, Default)]
#[serde(rename_all = "camelCase")]
pub struct Signatures {
    #[serde(default)]
    pub signatures: Vec<SignatureRecord>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SignatureRecord {
    /// `sha256:` of the signer's public key (DER SubjectPublicKeyInfo).
    pub key_id: String,
    /// `ecdsa-p256-sha256`: ECDSA P-256 over SHA-256 of the manifest bytes.
    pub algorithm: String,
    /// Base64 of the ASN.1 DER signature, exactly as `cosign sign-blob` prints it.
    pub signature: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An image record's `platforms` and `omitted` (PlatformManifest, now
    /// `oci`'s) keep the form format 1 gave them, byte for byte.
    #[test]
    fn image_platforms_keep_their_form() {
        let (amd64, arm64, index) = (Digest::of(b"amd64"), Digest::of(b"arm64"), Digest::of(b"index"));
        let text = format!(
            concat!(
                r#"{{"reference":"r.example/app:1","source":"registry:r.example/app:1","digest":"{index}","#,
                r#""mediaType":"application/vnd.oci.image.index.v1+json","size":3,"#,
                r#""platforms":[{{"platform":"linux/amd64","digest":"{amd64}"}}],"#,
                r#""omitted":[{{"platform":"linux/arm64/v8","digest":"{arm64}"}}]}}"#
            ),
            index = index,
            amd64 = amd64,
            arm64 = arm64
        );
        let record: ImageRecord = serde_json::from_str(&text).unwrap();
        assert_eq!(record.platforms, [PlatformManifest { platform: "linux/amd64".into(), digest: amd64 }]);
        assert_eq!(record.omitted, [PlatformManifest { platform: "linux/arm64/v8".into(), digest: arm64 }]);
        assert_eq!(serde_json::to_string(&record).unwrap(), text);
    }

    /// `referrers` is left out when empty, so a bundle without any reads
    /// and writes as before; when present it keeps its form.
    #[test]
    fn image_referrers_are_optional() {
        let (image, referrer) = (Digest::of(b"image"), Digest::of(b"referrer"));
        let plain = format!(
            r#"{{"reference":"r.example/app:1","source":"r.example/app:1","digest":"{image}","mediaType":"application/vnd.oci.image.manifest.v1+json","size":3}}"#
        );
        let record: ImageRecord = serde_json::from_str(&plain).unwrap();
        assert!(record.referrers.is_empty());
        assert_eq!(serde_json::to_string(&record).unwrap(), plain);
        let with = format!(
            concat!(
                r#"{{"reference":"r.example/app:1","source":"r.example/app:1","digest":"{image}","#,
                r#""mediaType":"application/vnd.oci.image.manifest.v1+json","size":3,"referrers":[{{"digest":"{referrer}","#,
                r#""mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType":"application/vnd.dev.sigstore.bundle.v0.3+json","#,
                r#""size":877,"subject":"{image}","annotations":{{"dev.sigstore.bundle.predicateType":"https://sigstore.dev/cosign/sign/v1"}},"#,
                r#""keyId":"sha256:00"}}]}}"#
            ),
            image = image,
            referrer = referrer
        );
        let record: ImageRecord = serde_json::from_str(&with).unwrap();
        assert_eq!(record.referrers[0].kind(), "cosign signature");
        assert_eq!(serde_json::to_string(&record).unwrap(), with);
        let mut sbom = record.referrers[0].clone();
        sbom.annotations.clear();
        sbom.artifact_type = Some("application/spdx+json".into());
        assert_eq!(sbom.kind(), "application/spdx+json");
        sbom.annotations.insert("dev.sigstore.bundle.predicateType".into(), "https://spdx.dev/Document".into());
        assert_eq!(sbom.kind(), "attestation https://spdx.dev/Document");
    }
}
