//! Minimal OCI/Docker manifest and index models: just the fields airlock
//! follows (descriptors, platforms). Raw bytes are always kept alongside, so
//! digests never depend on re-serialisation.

use super::digest::Digest;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Serialize, Deserialize, Clone, Debug)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    #[serde(default)]
    pub media_type: String,
    pub digest: Digest,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Platform {
    pub os: String,
    pub architecture: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

impl std::fmt::Display for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.variant {
            Some(v) => write!(f, "{}/{}/{}", self.os, self.architecture, v),
            None => write!(f, "{}/{}", self.os, self.architecture),
        }
    }
}

impl Platform {
    /// This machine's platform in OCI terms.
    pub fn host() -> Platform {
        let architecture = match std::env::consts::ARCH {
            "x86_64" => "amd64",
            "aarch64" => "arm64",
            "arm" => "arm",
            "powerpc64" => "ppc64le",
            "s390x" => "s390x",
            "riscv64" => "riscv64",
            other => other,
        };
        Platform { os: "linux".into(), architecture: architecture.into(), variant: None }
    }

    /// Parses `os/arch[/variant]`.
    pub fn parse(s: &str) -> Option<Platform> {
        let mut parts = s.split('/');
        let os = parts.next().filter(|p| !p.is_empty())?;
        let architecture = parts.next().filter(|p| !p.is_empty())?;
        let variant = parts.next().map(str::to_string);
        if parts.next().is_some() || variant.as_deref() == Some("") {
            return None;
        }
        Some(Platform { os: os.into(), architecture: architecture.into(), variant })
    }

    /// Does this image platform satisfy a requested one? A request without a
    /// variant accepts any variant (`linux/arm64` matches `linux/arm64/v8`).
    pub fn satisfies(&self, wanted: &Platform) -> bool {
        self.os == wanted.os
            && self.architecture == wanted.architecture
            && (wanted.variant.is_none() || wanted.variant == self.variant)
    }
}

/// One platform manifest an index lists: its platform (`os/arch[/variant]`,
/// `unknown/unknown` when the index gives none) and digest, as
/// `resolve::walk` reports those of an index it keeps and leaves out.
/// Serialised as `{"platform": ..., "digest": ...}`, a form callers store.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PlatformManifest {
    pub platform: String,
    pub digest: Digest,
}

/// Either an image manifest or an index, with only the fields we follow.
#[derive(Deserialize, Debug, Default)]
#[serde(rename_all = "camelCase")]
pub struct AnyManifest {
    #[serde(default)]
    pub media_type: Option<String>,
    #[serde(default)]
    pub config: Option<Descriptor>,
    #[serde(default)]
    pub layers: Vec<Descriptor>,
    #[serde(default)]
    pub manifests: Vec<Descriptor>,
}

impl AnyManifest {
    pub fn parse(bytes: &[u8]) -> Result<Self, String> {
        serde_json::from_slice(bytes).map_err(|e| format!("not a valid OCI manifest or index: {e}"))
    }

    pub fn is_index(&self) -> bool {
        self.config.is_none() && (!self.manifests.is_empty() || self.layers.is_empty())
    }
}

/// Every blob digest a manifest or index points to.
pub fn referenced_digests(bytes: &[u8]) -> Result<Vec<Digest>, String> {
    let m = AnyManifest::parse(bytes)?;
    let mut out: Vec<Digest> = m.config.iter().chain(&m.layers).chain(&m.manifests).map(|d| d.digest.clone()).collect();
    out.sort();
    out.dedup();
    Ok(out)
}

/// Infers a manifest's media type when the document does not state it (Docker
/// schema 2 always does; some OCI writers omit it).
pub fn media_type_of(bytes: &[u8], declared: Option<&str>) -> String {
    if let Some(d) = declared.filter(|d| !d.is_empty()) {
        return d.to_string();
    }
    match AnyManifest::parse(bytes) {
        Ok(m) if m.media_type.is_some() => m.media_type.unwrap_or_default(),
        Ok(m) if m.is_index() => super::media::OCI_INDEX.to_string(),
        _ => super::media::OCI_MANIFEST.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platform_matching() {
        let arm = Platform::parse("linux/arm64/v8").unwrap();
        assert!(arm.satisfies(&Platform::parse("linux/arm64").unwrap()));
        assert!(!arm.satisfies(&Platform::parse("linux/arm64/v7").unwrap()));
        assert!(!arm.satisfies(&Platform::parse("linux/amd64").unwrap()));
        assert!(Platform::parse("linux").is_none());
        assert!(Platform::parse("linux/arm/v7/x").is_none());
        assert_eq!(arm.to_string(), "linux/arm64/v8");
    }

    /// Callers store the serialised form, so it is pinned field for field.
    #[test]
    fn platform_manifest_serde_form() {
        let digest = Digest::of(b"a");
        let entry = PlatformManifest { platform: "linux/arm64/v8".into(), digest: digest.clone() };
        let json = serde_json::to_string(&entry).unwrap();
        assert_eq!(json, format!(r#"{{"platform":"linux/arm64/v8","digest":"{digest}"}}"#));
        assert_eq!(serde_json::from_str::<PlatformManifest>(&json).unwrap(), entry);
    }

    #[test]
    fn finds_references() {
        let a = Digest::of(b"a");
        let b = Digest::of(b"b");
        let json = format!(
            r#"{{"schemaVersion":2,"config":{{"mediaType":"x","digest":"{a}","size":1}},"layers":[{{"mediaType":"y","digest":"{b}","size":1}}]}}"#
        );
        let mut want = vec![a, b];
        want.sort();
        assert_eq!(referenced_digests(json.as_bytes()).unwrap(), want);
        assert!(referenced_digests(br#"{"layers":[{"digest":"sha256:zz","size":1}]}"#).is_err());
    }
}
