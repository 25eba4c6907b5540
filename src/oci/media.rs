//! Media types airlock reads and writes, and what they imply (is it a
//! manifest, an index, an already-compressed layer?).

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const OCI_LAYER_TAR: &str = "application/vnd.oci.image.layer.v1.tar";
pub const OCI_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
pub const OCI_LAYER_ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const DOCKER_LAYER_TAR: &str = "application/vnd.docker.image.rootfs.diff.tar";

pub const HELM_CONFIG: &str = "application/vnd.cncf.helm.config.v1+json";
pub const HELM_CHART: &str = "application/vnd.cncf.helm.chart.content.v1.tar+gzip";

/// Kubernetes YAML carried in a bundle (CRDs, manifests, kustomize output, values).
pub const AIRLOCK_YAML: &str = "application/vnd.airlock.yaml";
/// An arbitrary file carried in a bundle.
pub const AIRLOCK_FILE: &str = "application/octet-stream";

/// Every manifest media type a registry may answer with, for the Accept header.
pub const ACCEPTED_MANIFESTS: &[&str] = &[OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST];

pub fn is_index(media_type: &str) -> bool {
    media_type == OCI_INDEX || media_type == DOCKER_MANIFEST_LIST
}

pub fn is_manifest(media_type: &str) -> bool {
    media_type == OCI_MANIFEST || media_type == DOCKER_MANIFEST
}

/// Whether a blob of this type is worth compressing when stored in a bundle.
/// Gzip/zstd layers are left alone: recompressing them costs CPU for nothing.
pub fn is_compressible(media_type: &str) -> bool {
    matches!(media_type, OCI_LAYER_TAR | DOCKER_LAYER_TAR | AIRLOCK_YAML | AIRLOCK_FILE)
}

/// Whether a differential bundle carries blobs of this type even when its
/// base has them: charts and YAML, which installing into a cluster reads.
pub fn always_carried(media_type: &str) -> bool {
    matches!(media_type, HELM_CHART | HELM_CONFIG | AIRLOCK_YAML)
}
