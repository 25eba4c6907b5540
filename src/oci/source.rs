//! Image sources as written in a spec: a registry reference, a local OCI
//! layout (`oci-layout:DIR[:TAG]`) or a `docker save` archive
//! (`docker-archive:FILE[:NAME]`), and the reference each is known by.

use oci_client::Reference;
use std::path::{Path, PathBuf};

#[derive(Clone, Debug)]
pub enum ImageSource {
    Registry(Reference),
    OciLayout { dir: PathBuf, tag: Option<String> },
    DockerArchive { file: PathBuf, name: Option<Reference> },
}

/// Parses a registry reference, filling Docker Hub defaults and `latest`.
pub fn parse_reference(s: &str) -> Result<Reference, String> {
    let r: Reference = s.parse().map_err(|e| format!("`{s}` is not a valid image reference: {e}"))?;
    if r.tag().is_none() && r.digest().is_none() {
        return Ok(Reference::with_tag(r.registry().to_string(), r.repository().to_string(), "latest".into()));
    }
    Ok(r)
}

impl ImageSource {
    /// Parses one spec entry; relative paths are taken from `base`.
    pub fn parse(entry: &str, base: &Path) -> Result<Self, String> {
        if let Some(rest) = entry.strip_prefix("oci-layout:") {
            let (dir, tag) = split_path_suffix(rest, base);
            return Ok(ImageSource::OciLayout { dir, tag });
        }
        if let Some(rest) = entry.strip_prefix("docker-archive:") {
            let (file, name) = split_path_suffix(rest, base);
            let name = name.map(|n| parse_reference(&n)).transpose()?;
            return Ok(ImageSource::DockerArchive { file, name });
        }
        if entry.contains("://") {
            return Err(format!("`{entry}` is not an image reference (no scheme is allowed; use `registry/repo:tag`, `oci-layout:DIR` or `docker-archive:FILE`)"));
        }
        parse_reference(entry).map(ImageSource::Registry)
    }
}

/// Splits `path[:suffix]` at the first `:`, as skopeo does for its `oci:`
/// and `docker-archive:` transports (paths containing `:` are not supported).
fn split_path_suffix(rest: &str, base: &Path) -> (PathBuf, Option<String>) {
    match rest.split_once(':') {
        Some((path, suffix)) if !suffix.is_empty() => (base.join(path), Some(suffix.to_string())),
        Some((path, _)) => (base.join(path), None),
        None => (base.join(rest), None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sources() {
        let base = Path::new("/nonexistent-base");
        match ImageSource::parse("redis:7", base).unwrap() {
            ImageSource::Registry(r) => assert_eq!(r.whole(), "docker.io/library/redis:7"),
            other => panic!("{other:?}"),
        }
        match ImageSource::parse("quay.io/x/y", base).unwrap() {
            ImageSource::Registry(r) => assert_eq!(r.whole(), "quay.io/x/y:latest"),
            other => panic!("{other:?}"),
        }
        match ImageSource::parse("oci-layout:./images/app:1.0.0", base).unwrap() {
            ImageSource::OciLayout { dir, tag } => {
                assert_eq!(dir, base.join("./images/app"));
                assert_eq!(tag.as_deref(), Some("1.0.0"));
            }
            other => panic!("{other:?}"),
        }
        match ImageSource::parse("docker-archive:./t.tar:example.com/tool:2", base).unwrap() {
            ImageSource::DockerArchive { file, name } => {
                assert_eq!(file, base.join("./t.tar"));
                assert_eq!(name.unwrap().whole(), "example.com/tool:2");
            }
            other => panic!("{other:?}"),
        }
        assert!(ImageSource::parse("https://x/y", base).is_err());
        assert!(ImageSource::parse("example.com/UPPER:1", base).is_err());
    }
}
