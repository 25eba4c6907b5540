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

/// Whether `text` names an image by an explicit tag or digest
/// (`quay.io/x/y:v1`, `redis:7`, `y@sha256:...`): what a field of an
/// operator's custom resource holds when it is an image. A bare name
/// (`nginx`) may be anything else (an `ingressClassName`), so it is not one.
pub fn is_pinned_reference(text: &str) -> bool {
    let name = text.rsplit('/').next().unwrap_or_default();
    !text.contains(char::is_whitespace) && (name.contains(':') || name.contains('@')) && parse_reference(text).is_ok()
}

/// Parses a registry reference, filling Docker Hub defaults and `latest`.
pub fn parse_reference(s: &str) -> Result<Reference, String> {
    if let Some(r) = split_plain_reference(s) {
        return Ok(r);
    }
    let r: Reference = s.parse().map_err(|e| format!("`{s}` is not a valid image reference: {e}"))?;
    if r.tag().is_none() && r.digest().is_none() {
        return Ok(Reference::with_tag(r.registry().to_string(), r.repository().to_string(), "latest".into()));
    }
    Ok(r)
}

/// Splits a reference that is already in full form (`host/path:tag`,
/// `host/path@sha256:HEX`, or both), as the bundle manifest records them.
/// Written by hand because oci-spec's parser compiles a Unicode regex on
/// first use, ~40 ms of CPU in every command (measured with `perf` on
/// `push`); anything short of plainly valid (Docker Hub names, which get
/// normalised, an IPv6 host, an odd digest) returns None and goes to that
/// parser, so results never differ from it (tested below).
fn split_plain_reference(s: &str) -> Option<Reference> {
    let (name_tag, digest) = match s.split_once('@') {
        Some((n, d)) => {
            let hex = d.strip_prefix("sha256:")?;
            let lower_hex = hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
            (n, Some(lower_hex.then(|| d.to_string())?))
        }
        None => (s, None),
    };
    let (host, rest) = name_tag.split_once('/')?;
    let (path, tag) = match rest.rsplit_once(':') {
        Some((path, tag)) => (path, Some(tag)),
        None => (rest, None),
    };
    let host_ok = (host.contains('.') || host.contains(':') || host == "localhost") && plain_host(host);
    if !host_ok || host == "docker.io" || host == "index.docker.io" || path.len() > 255 {
        return None;
    }
    if !path.split('/').all(plain_path_component) || !tag.is_none_or(plain_tag) {
        return None;
    }
    let (host, path) = (host.to_string(), path.to_string());
    Some(match (tag, digest) {
        (Some(tag), Some(digest)) => Reference::with_tag_and_digest(host, path, tag.to_string(), digest),
        (Some(tag), None) => Reference::with_tag(host, path, tag.to_string()),
        (None, Some(digest)) => Reference::with_digest(host, path, digest),
        (None, None) => return None,
    })
}

/// `label(.label)*(:port)?`, labels of letters, digits and inner dashes.
pub(super) fn plain_host(host: &str) -> bool {
    let (name, port) = host.split_once(':').unwrap_or((host, "1"));
    let label_ok = |l: &str| {
        !l.is_empty()
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    name.split('.').all(label_ok) && !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit())
}

/// Runs of `[a-z0-9]` joined by `.`, `_`, `__` or any number of `-`.
pub(super) fn plain_path_component(component: &str) -> bool {
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let bytes = component.as_bytes();
    if bytes.is_empty() || !alnum(bytes[0]) || !alnum(bytes[bytes.len() - 1]) {
        return false;
    }
    bytes
        .split(|&b| alnum(b))
        .filter(|sep| !sep.is_empty())
        .all(|sep| matches!(sep, b"." | b"_" | b"__") || sep.iter().all(|&b| b == b'-'))
}

fn plain_tag(tag: &str) -> bool {
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let bytes = tag.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 128
        && word(bytes[0])
        && bytes.iter().all(|&b| word(b) || b == b'.' || b == b'-')
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

    #[test]
    fn the_hand_split_agrees_with_the_full_parser() {
        let hex = "0123456789abcdef".repeat(4);
        let refs = [
            "localhost/src-layout:app1".to_string(),
            "127.0.0.1:5000/a/b-c__d.e/f---g:v1.2_3-rc".to_string(),
            format!("quay.io/x/y@sha256:{hex}"),
            format!("registry.k8s.io/pause:3.9@sha256:{hex}"),
            format!("ghcr.io/o/r@sha256:{}", hex.to_uppercase()),
            format!("ghcr.io/o/r@sha512:{hex}{hex}"),
            "docker.io/redis:7".into(),
            "docker.io/library/redis:7".into(),
            "index.docker.io/x/y:1".into(),
            "example.com/x".into(),
            "example.com/a..b:1".into(),
            "example.com/a._b:1".into(),
            "example.com/a___b:1".into(),
            "example.com/-a:1".into(),
            "example.com/a/:1".into(),
            "example.com/A:1".into(),
            "example.com/a:.bad".into(),
            "example.com/a:".into(),
            "-bad.com/a:1".into(),
            "ex-.com/a:1".into(),
            "host:/a:1".into(),
            "[::1]:5000/a:1".into(),
            "noregistry/path:1".into(),
            format!("example.com/a:{}", "t".repeat(129)),
        ];
        for r in &refs {
            // None: the full parser decides.
            if let Some(fast) = split_plain_reference(r) {
                let parts = |x: &Reference| {
                    let owned = |o: Option<&str>| o.map(str::to_string);
                    (x.registry().to_string(), x.repository().to_string(), owned(x.tag()), owned(x.digest()))
                };
                let full: Reference = r.parse().unwrap_or_else(|e| panic!("{r}: hand split accepts, parser says {e}"));
                assert_eq!(parts(&fast), parts(&full), "{r}");
            }
        }
        assert!(split_plain_reference("localhost/src-layout:app1").is_some());
        assert!(split_plain_reference(&refs[1]).is_some());
        assert!(split_plain_reference(&refs[3]).is_some());
    }
}
