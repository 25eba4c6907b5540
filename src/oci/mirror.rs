//! Registry mirrors for pulls on the connected side (`create`), as
//! `registries.conf` and containerd have them for build hosts behind a
//! pull-through cache: which mirrors stand in for a source registry, the
//! name an image has on each (`MIRROR[/PREFIX]/REPOSITORY`), and trying
//! them in order. Callers keep the image's original name; this module only
//! says where its content comes from.
//!
//! A source that has mirrors is never contacted itself unless it is listed
//! among them (`docker.io=docker.io` last): a build host that is meant to
//! pull only through its cache must fail loudly, not quietly reach the
//! internet when the cache lacks an image.

use super::registry::{Registry, RegistryError};
use super::source::{plain_host, plain_path_component};
use oci_client::Reference;
use std::collections::BTreeMap;

/// One mirror: a registry host and a path prefix under which it holds the
/// source's repositories.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mirror {
    pub host: String,
    pub prefix: Option<String>,
}

/// Mirrors by source registry (Docker Hub under `docker.io`, however it was
/// spelled), each list in the order they are tried.
#[derive(Clone, Debug, Default)]
pub struct Mirrors {
    by_source: BTreeMap<String, Vec<Mirror>>,
}

#[derive(Debug, thiserror::Error)]
pub enum MirrorError {
    #[error("`{text}` is not a registry mirror ({why}); write SOURCE=HOST[:PORT][/PREFIX], e.g. docker.io=127.0.0.1:5000/docker.io")]
    Invalid { text: String, why: String },
    #[error("{}", none_has(.image, .source_registry, .tried))]
    NoneHas { image: String, source_registry: String, tried: Vec<(String, RegistryError)> },
}

/// The one spelling of a registry host that mirrors are keyed by: Docker
/// Hub's aliases become `docker.io`.
pub fn canonical_host(host: &str) -> &str {
    match host {
        "index.docker.io" | "registry-1.docker.io" | "registry.hub.docker.com" => "docker.io",
        other => other,
    }
}

impl Mirror {
    /// `HOST[:PORT][/PREFIX]`.
    pub fn parse(text: &str) -> Result<Mirror, String> {
        if text.contains("://") {
            return Err(
                "no scheme: plain HTTP and TLS are set as for any registry (--plain-http, --registry-config)".into()
            );
        }
        let text = text.trim_end_matches('/');
        let (host, prefix) = match text.split_once('/') {
            Some((host, prefix)) => (host, Some(prefix)),
            None => (text, None),
        };
        if !plain_host(host) {
            return Err(format!("`{host}` is not a registry host[:port]"));
        }
        if let Some(prefix) = prefix {
            if !prefix.split('/').all(plain_path_component) {
                return Err(format!("`{prefix}` is not a repository path (lowercase letters, digits, `.`, `_`, `-`)"));
            }
        }
        Ok(Mirror { host: host.to_string(), prefix: prefix.map(str::to_string) })
    }

    /// The name `image` has on this mirror: same repository under the
    /// prefix, same tag and digest.
    pub fn reference_for(&self, image: &Reference) -> Reference {
        let repository = match &self.prefix {
            Some(prefix) => format!("{prefix}/{}", image.repository()),
            None => image.repository().to_string(),
        };
        let host = self.host.clone();
        match (image.tag(), image.digest()) {
            (Some(tag), Some(digest)) => Reference::with_tag_and_digest(host, repository, tag.into(), digest.into()),
            (None, Some(digest)) => Reference::with_digest(host, repository, digest.into()),
            (tag, None) => Reference::with_tag(host, repository, tag.unwrap_or("latest").into()),
        }
    }
}

impl std::fmt::Display for Mirror {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.prefix {
            Some(prefix) => write!(f, "{}/{prefix}", self.host),
            None => f.write_str(&self.host),
        }
    }
}

/// Parses one `SOURCE=MIRROR[/PREFIX]` (the `--registry-mirror` flag).
pub fn parse_pair(text: &str) -> Result<(String, Mirror), MirrorError> {
    let invalid = |why: String| MirrorError::Invalid { text: text.to_string(), why };
    let (source, mirror) = text.split_once('=').ok_or_else(|| invalid("no `=`".into()))?;
    if !plain_host(source) {
        return Err(invalid(format!("`{source}` is not a registry host[:port]")));
    }
    Ok((canonical_host(source).to_string(), Mirror::parse(mirror).map_err(invalid)?))
}

impl Mirrors {
    /// Mirrors from a registries config (`mirrors: {SOURCE: [MIRROR...]}`),
    /// then those of the command line: a source named on the command line
    /// gets only the command line's mirrors, as a flag overrides a file.
    pub fn new(
        from_config: &BTreeMap<String, Vec<String>>,
        from_flags: &[(String, Mirror)],
    ) -> Result<Mirrors, MirrorError> {
        let mut by_source: BTreeMap<String, Vec<Mirror>> = BTreeMap::new();
        for (source, list) in from_config {
            for mirror in list {
                let (source, mirror) = parse_pair(&format!("{source}={mirror}"))?;
                by_source.entry(source).or_default().push(mirror);
            }
        }
        let mut flagged: BTreeMap<String, Vec<Mirror>> = BTreeMap::new();
        for (source, mirror) in from_flags {
            flagged.entry(canonical_host(source).to_string()).or_default().push(mirror.clone());
        }
        by_source.extend(flagged);
        Ok(Mirrors { by_source })
    }

    /// Where to try `image`, in order; None when its registry has no
    /// mirrors (it is pulled from the registry it names).
    pub fn candidates(&self, image: &Reference) -> Option<Vec<Reference>> {
        let list = self.by_source.get(canonical_host(image.registry()))?;
        Some(list.iter().map(|m| m.reference_for(image)).collect())
    }

    /// The top manifest of `image` from the first of its mirrors that has
    /// it, with the reference it was found under (for the rest of the
    /// pull). Each mirror that fails is said in the error, with why.
    pub async fn manifest(
        &self,
        registry: &Registry,
        image: &Reference,
        candidates: &[Reference],
    ) -> Result<(Reference, (Vec<u8>, super::digest::Digest, String)), MirrorError> {
        let mut tried = Vec::new();
        for candidate in candidates {
            match registry.manifest(candidate).await {
                Ok(top) => return Ok((candidate.clone(), top)),
                Err(e) => tried.push((candidate.whole(), e)),
            }
        }
        Err(MirrorError::NoneHas {
            image: image.whole(),
            source_registry: canonical_host(image.registry()).to_string(),
            tried,
        })
    }
}

/// The error of an image none of its mirrors gave: one line per mirror
/// with why it failed and what would fix that, then what to do.
fn none_has(image: &str, source: &str, tried: &[(String, RegistryError)]) -> String {
    let mut text = format!("no mirror of {source} has {image} ({source} itself is not contacted when it has mirrors):");
    for (name, err) in tried {
        text.push_str(&format!("\n    - {name}: {}", why(err)));
    }
    text.push_str(&format!(
        "\n    to fix: put the image into a mirror (a pull-through cache fetches it when asked; else `skopeo copy` \
         it there, or run scripts/standin-images.sh for stand-ins), fix a mirror that failed, or list {source} itself \
         as its last mirror (--registry-mirror {source}={source}) to let create fall back to it"
    ));
    text
}

/// Why one mirror failed, short (the image is named once, above), with
/// what to change when it is a setting.
fn why(err: &RegistryError) -> String {
    match err {
        RegistryError::NotFound { .. } => "not found there".into(),
        RegistryError::Unauthorized { registry, .. } => format!(
            "refused access (unauthorized): check --username/--password, --registry-config or `docker login {registry}`"
        ),
        RegistryError::Unreachable { detail, .. } => {
            format!("does not answer ({detail}): check its address and that it is running")
        }
        RegistryError::UntrustedCertificate { detail, .. } => {
            format!("its TLS certificate is not trusted ({detail}): pass its CA with --ca-file")
        }
        RegistryError::NotTls { .. } => {
            "did not answer in TLS: pass --plain-http, or give it `insecure: true` in --registry-config".into()
        }
        RegistryError::WantsTls { .. } => {
            "serves HTTPS, not plain HTTP: drop --plain-http (or its `insecure: true`)".into()
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oci::source::parse_reference;

    fn mirrors(flags: &[&str]) -> Mirrors {
        let flags: Vec<_> = flags.iter().map(|f| parse_pair(f).unwrap()).collect();
        Mirrors::new(&BTreeMap::new(), &flags).unwrap()
    }

    fn names(m: &Mirrors, image: &str) -> Option<Vec<String>> {
        m.candidates(&parse_reference(image).unwrap()).map(|c| c.iter().map(|r| r.whole()).collect())
    }

    #[test]
    fn docker_hub_is_one_source_however_spelled() {
        let m = mirrors(&["index.docker.io=127.0.0.1:5000/docker.io", "docker.io=mirror.local/hub/"]);
        let want =
            vec!["127.0.0.1:5000/docker.io/library/redis:7".to_string(), "mirror.local/hub/library/redis:7".into()];
        for image in ["redis:7", "docker.io/library/redis:7", "index.docker.io/library/redis:7"] {
            assert_eq!(names(&m, image).as_ref(), Some(&want), "{image}");
        }
        assert_eq!(names(&m, "registry-1.docker.io/library/redis:7").as_ref(), Some(&want));
        assert_eq!(names(&m, "quay.io/x/y:1"), None);
    }

    #[test]
    fn tags_and_digests_are_kept() {
        let hex = "ab".repeat(32);
        let m = mirrors(&["quay.io=127.0.0.1:5000"]);
        assert_eq!(
            names(&m, &format!("quay.io/x/y@sha256:{hex}")),
            Some(vec![format!("127.0.0.1:5000/x/y@sha256:{hex}")])
        );
        assert_eq!(
            names(&m, &format!("quay.io/x/y:1@sha256:{hex}")),
            Some(vec![format!("127.0.0.1:5000/x/y:1@sha256:{hex}")])
        );
    }

    #[test]
    fn the_command_line_overrides_the_config_per_source() {
        let config: BTreeMap<String, Vec<String>> = [
            ("docker.io".to_string(), vec!["a.local/hub".to_string()]),
            ("quay.io".to_string(), vec!["a.local/quay".to_string(), "b.local".to_string()]),
        ]
        .into();
        let m = Mirrors::new(&config, &[parse_pair("docker.io=c.local:5000").unwrap()]).unwrap();
        assert_eq!(names(&m, "redis:7"), Some(vec!["c.local:5000/library/redis:7".to_string()]));
        assert_eq!(names(&m, "quay.io/x:1"), Some(vec!["a.local/quay/x:1".to_string(), "b.local/x:1".into()]));
    }

    #[test]
    fn bad_mirrors_are_refused() {
        for bad in ["docker.io", "docker.io=http://127.0.0.1:5000", "docker.io=127.0.0.1:5000/Hub", "=a.local", "a b=c"]
        {
            let err = parse_pair(bad).unwrap_err().to_string();
            assert!(err.contains("is not a registry mirror"), "{bad}: {err}");
        }
        let config: BTreeMap<String, Vec<String>> = [("docker.io".to_string(), vec!["x:y:z".to_string()])].into();
        assert!(Mirrors::new(&config, &[]).is_err());
    }

    #[test]
    fn every_mirror_tried_is_said() {
        let err = MirrorError::NoneHas {
            image: "docker.io/library/x:1".into(),
            source_registry: "docker.io".into(),
            tried: vec![
                (
                    "m1:5000/library/x:1".into(),
                    RegistryError::NotFound { image: "m1:5000/library/x:1".into(), registry: "m1:5000".into() },
                ),
                ("m2/library/x:1".into(), RegistryError::NotTls { registry: "m2".into() }),
            ],
        };
        let text = err.to_string();
        assert!(text.starts_with("no mirror of docker.io has docker.io/library/x:1"), "{text}");
        assert!(text.contains("\n    - m1:5000/library/x:1: not found there"), "{text}");
        assert!(text.contains("\n    - m2/library/x:1: did not answer in TLS: pass --plain-http"), "{text}");
        assert!(text.contains("--registry-mirror docker.io=docker.io"), "{text}");
    }
}
