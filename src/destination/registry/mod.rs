//! Pushing a bundle's images and charts into a registry. This module decides
//! where each lands (naming, collisions) and what each needs (`plan`);
//! `upload` pushes them in order (blobs, each uploaded once and mounted into
//! other repositories; then child manifests; then the tagged manifests last,
//! so a tag never points at something incomplete; then the images'
//! referrers, listed through the referrers API or, for a registry without
//! it, the `sha256-<hex>` tag). Everything is read from
//! the bundle in place; each uploaded blob's digest is checked on the way,
//! by the registry when it was seen to refuse a wrong digest, else by
//! hashing what is sent. It never writes to the bundle.

use crate::bundle::format::{ImageRecord, ReferrerRecord};
use crate::bundle::reader::BundleReader;
use crate::oci::digest::Digest;
use crate::oci::manifest::AnyManifest;
use crate::oci::media;
use crate::oci::registry::RegistryError;
use crate::oci::source::parse_reference;
use oci_client::Reference;
use std::collections::{BTreeMap, HashSet};

mod upload;
pub use upload::{execute, DigestCheck, PushStats};

#[derive(Debug, thiserror::Error)]
pub enum PushError {
    #[error("`{0}` is not a registry destination; use HOST[:PORT][/PREFIX]")]
    BadDestination(String),
    #[error("{first} and {second} would both be pushed to {target}; pass --keep-registry-host to keep their registries apart")]
    Collision { first: String, second: String, target: String },
    #[error("bundle blob {digest} is corrupt ({detail}); nothing was tagged; copy the bundle again")]
    Corrupt { digest: Digest, detail: String },
    #[error("cannot read {0} from the bundle")]
    Bundle(String, #[source] crate::bundle::BundleError),
    #[error("image {image}: {detail}")]
    BadImage { image: String, detail: String },
    #[error("the registry lacks {count} blob(s) that this differential bundle leaves to its base bundle {base}: {list}; give that bundle with --base (or push it first, or push the full bundle); nothing was tagged")]
    MissingBaseBlobs { base: String, count: usize, list: String },
    #[error(transparent)]
    Registry(#[from] RegistryError),
}

/// `HOST[:PORT][/PREFIX]`.
#[derive(Debug, Clone)]
pub struct Destination {
    pub host: String,
    pub prefix: String,
}

impl Destination {
    pub fn parse(s: &str) -> Result<Self, PushError> {
        let s = s.trim_end_matches('/');
        if s.contains("://") {
            return Err(PushError::BadDestination(s.to_string()));
        }
        let (host, prefix) = s.split_once('/').unwrap_or((s, ""));
        let valid_host = !host.is_empty()
            && !host.contains("://")
            && host.chars().all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c));
        let valid_prefix = prefix.split('/').all(|p| p.is_empty() || parse_reference(&format!("x.io/{p}:t")).is_ok());
        if !valid_host || !valid_prefix || prefix.contains("//") {
            return Err(PushError::BadDestination(s.to_string()));
        }
        Ok(Destination { host: host.to_string(), prefix: prefix.to_string() })
    }

    /// Whether the registry runs on this machine (a loopback address).
    pub fn is_on_this_machine(&self) -> bool {
        let host = self.host.as_str();
        let name = match host.strip_prefix('[') {
            Some(bracketed) => bracketed.split(']').next().unwrap_or(""),
            None if host.parse::<std::net::IpAddr>().is_ok() => host,
            None => host.rsplit_once(':').map_or(host, |(name, _port)| name),
        };
        name.eq_ignore_ascii_case("localhost") || name.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
    }

    /// Blobs uploaded at once unless the user says otherwise. Each upload
    /// costs a registry about one core, as it hashes every byte on one
    /// goroutine. A registry on this machine shares our cores, so more
    /// uploads than cores only take turns on them: the largest blob then
    /// finishes last and alone, and the registry's fsync of it comes after.
    /// With one upload per core, largest first, it runs whole on one core
    /// from the start. On 2 cores, 12 alternating pairs each: 5 images
    /// 2.28 s against 2.41 s (10 of 12 pairs faster), 2 large images 1.68 s
    /// against 1.75 s (7 of 12). A remote registry gets 8, which also
    /// keeps a high-latency link busy.
    pub fn default_concurrency(&self) -> usize {
        const REMOTE: usize = 8;
        if self.is_on_this_machine() {
            std::thread::available_parallelism().map_or(REMOTE, |n| n.get().clamp(2, REMOTE))
        } else {
            REMOTE
        }
    }

    fn repository(&self, path: &str) -> String {
        if self.prefix.is_empty() {
            path.to_string()
        } else {
            format!("{}/{path}", self.prefix)
        }
    }
}

/// One tagged thing to push: an image or a chart.
#[derive(Debug, Clone)]
pub struct PushTarget {
    /// What the bundle calls it (key of the relocation map).
    pub source: String,
    pub target: Reference,
    pub digest: Digest,
    pub media_type: String,
    /// Child manifests (platform manifests), pushed by digest before the top.
    pub children: Vec<(Digest, String)>,
    /// Config and layer blobs.
    pub blobs: Vec<(Digest, u64)>,
    /// Extra tagged manifests in the same repository (cosign signatures).
    pub extra_tags: Vec<(String, Digest, String)>,
    /// Referrers of the image (OCI 1.1), pushed by digest after it.
    pub referrers: Vec<ReferrerRecord>,
}

impl PushTarget {
    pub fn pushed_reference(&self) -> String {
        format!("{}@{}", self.target.whole(), self.digest)
    }
}

fn read_manifest(reader: &BundleReader, digest: &Digest) -> Result<(Vec<u8>, AnyManifest), PushError> {
    let bytes = reader.read_blob(digest).map_err(|e| PushError::Bundle(digest.to_string(), e))?;
    let actual = Digest::of(&bytes);
    if actual != *digest {
        return Err(PushError::Corrupt { digest: digest.clone(), detail: format!("its content hashes to {actual}") });
    }
    let parsed =
        AnyManifest::parse(&bytes).map_err(|detail| PushError::BadImage { image: digest.to_string(), detail })?;
    Ok((bytes, parsed))
}

fn media_type_of(reader: &BundleReader, digest: &Digest) -> String {
    reader.head.manifest.find_blob(digest).map_or_else(|| media::OCI_MANIFEST.to_string(), |b| b.media_type.clone())
}

/// Config and layer blobs of a manifest, and (for an index) its children.
fn collect(
    reader: &BundleReader,
    digest: &Digest,
    omitted: &[Digest],
    target: &mut PushTarget,
) -> Result<(), PushError> {
    // A manifest left to a differential bundle's base, with no base at
    // hand, cannot be read here: the registry must hold it (checked when
    // pushing).
    if reader.head.manifest.find_blob(digest).is_some_and(|b| b.in_base) && !reader.base_holds(digest) {
        return Ok(());
    }
    let (_, parsed) = read_manifest(reader, digest)?;
    for child in &parsed.manifests {
        if omitted.contains(&child.digest) {
            continue;
        }
        collect(reader, &child.digest, omitted, target)?;
        target.children.push((child.digest.clone(), media_type_of(reader, &child.digest)));
    }
    for d in parsed.config.iter().chain(&parsed.layers) {
        target.blobs.push((d.digest.clone(), d.size));
    }
    Ok(())
}

/// The repository `push` gives an image (`docker.io/library/redis` ->
/// `PREFIX/library/redis`, or `PREFIX/docker.io/library/redis` when keeping hosts).
pub fn target_repository(dest: &Destination, source: &Reference, keep_host: bool) -> String {
    let path = if keep_host {
        format!("{}/{}", source.registry(), source.repository())
    } else {
        source.repository().to_string()
    };
    dest.repository(&path)
}

fn image_target(
    reader: &BundleReader,
    image: &ImageRecord,
    dest: &Destination,
    keep_host: bool,
) -> Result<PushTarget, PushError> {
    let bad = |detail: String| PushError::BadImage { image: image.reference.clone(), detail };
    let source = parse_reference(&image.reference).map_err(bad)?;
    let repository = target_repository(dest, &source, keep_host);
    let target = match source.tag() {
        Some(tag) => Reference::with_tag(dest.host.clone(), repository, tag.to_string()),
        None => Reference::with_digest(dest.host.clone(), repository, image.digest.to_string()),
    };
    let mut push = PushTarget {
        source: image.reference.clone(),
        target,
        digest: image.filtered_index.clone().unwrap_or_else(|| image.digest.clone()),
        media_type: image.media_type.clone(),
        children: vec![],
        blobs: vec![],
        extra_tags: vec![],
        referrers: vec![],
    };
    let omitted: Vec<Digest> = image.omitted.iter().map(|p| p.digest.clone()).collect();
    let top = push.digest.clone();
    collect(reader, &top, &omitted, &mut push)?;
    for sig in &image.signatures {
        collect(reader, &sig.digest, &[], &mut push)?;
        push.extra_tags.push((sig.tag.clone(), sig.digest.clone(), media_type_of(reader, &sig.digest)));
    }
    for referrer in &image.referrers {
        collect(reader, &referrer.digest, &[], &mut push)?;
        push.referrers.push(referrer.clone());
    }
    Ok(push)
}

/// Every image and chart of the bundle, with where it goes.
pub fn plan(reader: &BundleReader, dest: &Destination, keep_host: bool) -> Result<Vec<PushTarget>, PushError> {
    let mut targets: Vec<PushTarget> = Vec::new();
    let mut seen_refs = HashSet::new();
    for image in reader.head.manifest.images() {
        if seen_refs.insert(image.reference.clone()) {
            targets.push(image_target(reader, image, dest, keep_host)?);
        }
    }
    for chart in reader.head.manifest.charts() {
        // Helm's convention: `helm push` to oci://HOST/PREFIX gives PREFIX/NAME.
        let path = match chart.source.strip_prefix("oci://").and_then(|r| parse_reference(r).ok()) {
            Some(r) if keep_host => format!("{}/{}", r.registry(), r.repository()),
            Some(r) => r.repository().to_string(),
            None => chart.chart_name.clone(),
        };
        let tag = chart.version.replace('+', "_");
        let target = Reference::with_tag(dest.host.clone(), dest.repository(&path), tag);
        let source = format!("charts/{}:{}", chart.chart_name, chart.version);
        if !seen_refs.insert(source.clone()) {
            continue;
        }
        let mut push = PushTarget {
            source,
            target,
            digest: chart.digest.clone(),
            media_type: media::OCI_MANIFEST.to_string(),
            children: vec![],
            blobs: vec![],
            extra_tags: vec![],
            referrers: vec![],
        };
        collect(reader, &chart.digest, &[], &mut push)?;
        targets.push(push);
    }
    // Two different source repositories must not share a target repository.
    let mut owners: BTreeMap<String, String> = BTreeMap::new();
    for t in &targets {
        let repo = t.target.repository().to_string();
        let origin = t.source.rsplit_once([':', '@']).map_or(t.source.as_str(), |(r, _)| r).to_string();
        if let Some(previous) = owners.get(&repo) {
            if *previous != origin {
                return Err(PushError::Collision {
                    first: previous.clone(),
                    second: origin,
                    target: format!("{}/{repo}", dest.host),
                });
            }
        } else {
            owners.insert(repo, origin);
        }
    }
    Ok(targets)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destinations() {
        let d = Destination::parse("registry.local:5000/mirror/team").unwrap();
        assert_eq!((d.host.as_str(), d.prefix.as_str()), ("registry.local:5000", "mirror/team"));
        assert_eq!(d.repository("library/redis"), "mirror/team/library/redis");
        assert_eq!(Destination::parse("127.0.0.1:5000").unwrap().repository("x/y"), "x/y");
        assert!(Destination::parse("https://x").is_err());
        for local in ["127.0.0.1:5000", "localhost", "LOCALHOST:443/x", "[::1]:5000", "[::1]", "::1", "127.1.2.3"] {
            assert!(Destination::parse(local).unwrap().is_on_this_machine(), "{local}");
        }
        for remote in ["registry.local:5000", "10.0.0.1:5000/x", "[fe80::1]:5000", "localhost.example"] {
            assert!(!Destination::parse(remote).unwrap().is_on_this_machine(), "{remote}");
        }
        assert_eq!(Destination::parse("registry.local").unwrap().default_concurrency(), 8);
        assert!(Destination::parse("host/UPPER").is_err());
    }
}
