//! The serde model of `airlock.yaml`, exactly as written by users. Unknown
//! fields are errors: a typo found inside an air-gapped site is expensive.

use serde::Deserialize;
use serde_saphyr::Spanned;

#[derive(Deserialize, Debug, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SpecFile {
    #[schemars(with = "String")]
    pub api_version: Spanned<String>,
    #[schemars(with = "String")]
    pub kind: Spanned<String>,
    pub metadata: MetadataSpec,
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub platforms: Vec<Spanned<String>>,
    #[schemars(with = "Vec<ComponentSpec>")]
    pub components: Spanned<Vec<ComponentSpec>>,
    /// Named sets of chart values the site picks one of at install
    /// (`install --env prod`): `{prod: {charts: {web: {valuesFiles, values}}}}`.
    #[serde(default)]
    #[schemars(with = "std::collections::BTreeMap<String, EnvironmentSpec>")]
    pub environments: std::collections::BTreeMap<String, Spanned<EnvironmentSpec>>,
    /// What the site's cluster must meet, checked before install and
    /// upgrade (and by `airlock preflight`): `strict` ones refuse.
    #[serde(default)]
    #[schemars(with = "Vec<crate::bundle::format::PreflightCheck>")]
    pub preflight: Vec<Spanned<crate::bundle::format::PreflightCheck>>,
}

#[derive(Deserialize, Debug, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct EnvironmentSpec {
    #[serde(default)]
    pub description: Option<String>,
    /// By chart name: values layered over the chart's own in the spec.
    #[serde(default)]
    #[schemars(with = "std::collections::BTreeMap<String, ChartValuesSpec>")]
    pub charts: std::collections::BTreeMap<String, Spanned<ChartValuesSpec>>,
    /// By component name: what the environment adds to it (its kustomize
    /// overlays, rendered at create time).
    #[serde(default)]
    #[schemars(with = "std::collections::BTreeMap<String, ComponentAdditionsSpec>")]
    pub components: std::collections::BTreeMap<String, Spanned<ComponentAdditionsSpec>>,
}

#[derive(Deserialize, Debug, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ComponentAdditionsSpec {
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub kustomizations: Vec<Spanned<String>>,
}

#[derive(Deserialize, Debug, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ChartValuesSpec {
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub values_files: Vec<Spanned<String>>,
    #[serde(default)]
    pub values: Option<serde_json::Value>,
}

#[derive(Deserialize, Debug, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct MetadataSpec {
    #[schemars(with = "String")]
    pub name: Spanned<String>,
    #[schemars(with = "String")]
    pub version: Spanned<String>,
    #[serde(default)]
    pub description: Option<String>,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize, Debug, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ComponentSpec {
    #[schemars(with = "String")]
    pub name: Spanned<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default = "yes")]
    pub required: bool,
    #[serde(default)]
    #[schemars(with = "Vec<ImageEntry>")]
    pub images: Vec<Spanned<ImageEntry>>,
    #[serde(default)]
    #[schemars(with = "Vec<ChartSpec>")]
    pub charts: Vec<Spanned<ChartSpec>>,
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub crds: Vec<Spanned<String>>,
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub manifests: Vec<Spanned<String>>,
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub kustomizations: Vec<Spanned<String>>,
    #[serde(default)]
    #[schemars(with = "Vec<FileSpec>")]
    pub files: Vec<Spanned<FileSpec>>,
}

#[derive(Deserialize, Debug, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ChartSpec {
    #[schemars(with = "String")]
    pub name: Spanned<String>,
    /// A chart directory or `.tgz`, relative to the spec.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub path: Option<Spanned<String>>,
    /// A Helm repository URL (`https://...`, with index.yaml).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub repo: Option<Spanned<String>>,
    /// An OCI chart reference (`oci://registry/repo/chart`).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub oci: Option<Spanned<String>>,
    /// The chart name in the repository, when it differs from `name`.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub chart: Option<Spanned<String>>,
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub version: Option<Spanned<String>>,
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub namespace: Option<Spanned<String>>,
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub values_files: Vec<Spanned<String>>,
    #[serde(default)]
    pub values: Option<serde_json::Value>,
    /// Values the site must give at install (dotted paths, `ingress.host`):
    /// an install whose values lack one is refused before any change.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub required_values: Vec<Spanned<String>>,
    /// Values that are secrets (dotted paths, `db.password`): never printed
    /// (`history --values`, a dry run's changes).
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub secret_values: Vec<Spanned<String>>,
    /// `discover` (the default): the images the rendered chart runs are
    /// bundled too; `explicit`: only the images the spec lists.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub images: Option<Spanned<String>>,
}

#[derive(Deserialize, Debug, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct FileSpec {
    #[schemars(with = "String")]
    pub source: Spanned<String>,
    #[schemars(with = "String")]
    pub target: Spanned<String>,
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub mode: Option<Spanned<String>>,
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub sha256: Option<Spanned<String>>,
}

/// An image: a plain string (`redis:7`, `oci-layout:DIR:TAG`, ...) or a
/// mapping with options. Deserialised by hand rather than as an untagged
/// enum so that a mistake inside the mapping keeps its own precise error.
#[derive(Debug, schemars::JsonSchema)]
#[schemars(untagged)]
#[allow(dead_code)] // the schema's view of ImageEntry, which is read by hand
enum ImageEntrySchema {
    /// `redis:7`, `registry:HOST/PATH:TAG`, `oci-layout:DIR:TAG`, `docker-archive:FILE[:NAME:TAG]`.
    Reference(String),
    Mapping(ImageMapping),
}

#[derive(Debug)]
pub struct ImageEntry {
    pub reference: String,
    pub verify: Option<VerifySpec>,
    pub referrers: bool,
}

#[derive(Deserialize, Debug, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct ImageMapping {
    #[serde(rename = "ref")]
    reference: String,
    #[serde(default)]
    verify: Option<VerifySpec>,
    /// Carry the image's referrers (OCI 1.1: signatures, attestations,
    /// SBOMs) along with it.
    #[serde(default)]
    referrers: bool,
}

/// Check the image's cosign signature at create time: a cosign v3
/// signature stored as an OCI 1.1 referrer (Sigstore bundle), or the
/// legacy `sha256-<digest>.sig` tag.
#[derive(Deserialize, Debug, Clone, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifySpec {
    /// Public key (PEM), relative to the spec.
    pub key: String,
}

impl schemars::JsonSchema for ImageEntry {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ImageEntry".into()
    }
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        ImageEntrySchema::json_schema(generator)
    }
}

impl<'de> Deserialize<'de> for ImageEntry {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = ImageEntry;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an image reference or a mapping with `ref` (and `verify`, `referrers`)")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<ImageEntry, E> {
                Ok(ImageEntry { reference: v.to_string(), verify: None, referrers: false })
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<ImageEntry, A::Error> {
                let m = ImageMapping::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
                Ok(ImageEntry { reference: m.reference, verify: m.verify, referrers: m.referrers })
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}
