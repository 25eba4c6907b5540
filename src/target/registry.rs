//! Pushing a bundle's images and charts into a registry: where each lands
//! (naming and collisions), and in what order (blobs, each uploaded once and
//! mounted into other repositories; then child manifests; then the tagged
//! manifests last, so a tag never points at something incomplete).
//! Everything is read from the bundle in place; each uploaded blob's digest
//! is checked on the way, by the registry when it was seen to refuse a wrong
//! digest, else by hashing what is sent.

use crate::bundle::format::ImageRecord;
use crate::bundle::reader::BundleReader;
use crate::oci::digest::Digest;
use crate::oci::manifest::AnyManifest;
use crate::oci::media;
use crate::oci::registry::{Registry, RegistryError};
use crate::oci::source::parse_reference;
use futures_util::{StreamExt, TryStreamExt};
use oci_client::Reference;
use sha2::{Digest as _, Sha256};
use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

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
    #[error("the registry lacks {count} blob(s) that this differential bundle leaves to its base bundle {base}: {list}; push {base} first (or push the full bundle); nothing was tagged")]
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
    /// costs a registry about one core (it hashes every byte). One on this
    /// machine shares our cores, so more uploads than cores only take turns
    /// on them. On 2 cores, one upload per core pushed 5 images 4-11%
    /// faster (medians of alternating runs against 8 at once), 2 large ones
    /// the same within the noise. A remote registry gets 8, which also
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
    // A manifest left to a differential bundle's base cannot be read here:
    // the registry must hold it (checked when pushing).
    if reader.head.manifest.find_blob(digest).is_some_and(|b| b.in_base) {
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
    };
    let omitted: Vec<Digest> = image.omitted.iter().map(|p| p.digest.clone()).collect();
    let top = push.digest.clone();
    collect(reader, &top, &omitted, &mut push)?;
    for sig in &image.signatures {
        collect(reader, &sig.digest, &[], &mut push)?;
        push.extra_tags.push((sig.tag.clone(), sig.digest.clone(), media_type_of(reader, &sig.digest)));
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

#[derive(Debug, Default, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PushStats {
    pub uploaded: usize,
    pub uploaded_bytes: u64,
    pub mounted: usize,
    pub skipped: usize,
    pub manifests: usize,
    /// Who checked the uploaded blobs' digests.
    pub digest_check: DigestCheck,
}

/// Who checked that each uploaded blob's content matches its digest.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DigestCheck {
    /// Nothing was uploaded.
    #[default]
    None,
    /// The registry, which was seen to refuse a wrong digest in this push.
    Registry,
    /// airlock, hashing every byte it sent.
    Airlock,
}

/// A stream of a blob's bytes read from the bundle. With `hash`, they are
/// hashed as they go, and a digest mismatch ends the stream with an error
/// before its end, so the registry cannot commit the blob; without it (the
/// registry checks digests itself) only the length is checked. What is
/// wrong is also left in `corruption`, since a registry may answer before
/// it has read the whole body and the stream's error then goes unseen.
fn blob_stream(
    reader: Arc<BundleReader>,
    digest: Digest,
    size: u64,
    hash: bool,
    corruption: Arc<OnceLock<String>>,
    on_bytes: Arc<dyn Fn(u64) + Send + Sync>,
) -> impl futures_util::Stream<Item = oci_client::errors::Result<bytes::Bytes>> + Send + 'static {
    let mut hasher = hash.then(Sha256::new);
    let mut sent = 0u64;
    let expected = digest.clone();
    let check = move |chunk: Option<&[u8]>| {
        let reason = match chunk {
            Some(bytes) => {
                if let Some(hasher) = hasher.as_mut() {
                    hasher.update(bytes);
                }
                sent += bytes.len() as u64;
                on_bytes(bytes.len() as u64);
                return Ok(());
            }
            None if sent != size => format!("{sent} bytes where the manifest says {size}"),
            None => match hasher.take().map(Digest::from_hasher) {
                Some(actual) if actual != expected => format!("its content hashes to {actual}"),
                _ => return Ok(()),
            },
        };
        let error = format!("bundle blob {expected} is corrupt ({reason})");
        let _ = corruption.set(reason);
        Err(std::io::Error::new(std::io::ErrorKind::InvalidData, error))
    };
    let open_reader = reader.clone();
    let open_digest = digest.clone();
    let open = move || open_reader.open_blob(&open_digest).map_err(std::io::Error::other);
    crate::bundle::stream::read_in_background(open, check).map(move |item| {
        item.map_err(|e| {
            let detail = match e.kind() {
                std::io::ErrorKind::InvalidData => e.to_string(),
                _ => format!("cannot read blob {digest} from the bundle: {e}"),
            };
            oci_client::errors::OciDistributionError::GenericError(Some(detail))
        })
    })
}

/// Pushes every target: blobs (concurrently, bounded), then manifests.
pub async fn execute(
    targets: &[PushTarget],
    reader: Arc<BundleReader>,
    registry: &Registry,
    concurrency: usize,
    on_bytes: Arc<dyn Fn(u64) + Send + Sync>,
) -> Result<PushStats, PushError> {
    let mut repos: Vec<Reference> = Vec::new();
    for t in targets {
        if !repos.iter().any(|r| r.repository() == t.target.repository()) {
            repos.push(t.target.clone());
        }
    }
    registry.login(&repos).await?;

    // A target whose tags already name exactly its manifests is complete: the
    // registry accepted those manifests only with all their blobs, so there
    // is nothing to check blob by blob. This makes a re-push a few requests.
    // What the tags held is kept: the manifest step does not ask again.
    let tagged: std::sync::Mutex<BTreeMap<String, Option<Digest>>> = Default::default();
    let complete: Vec<bool> = futures_util::stream::iter(targets)
        .map(|t| {
            let tagged = &tagged;
            async move {
                let tags =
                    std::iter::once((t.target.clone(), &t.digest)).chain(t.extra_tags.iter().map(|(tag, d, _)| {
                        (Reference::with_tag(t.target.registry().into(), t.target.repository().into(), tag.clone()), d)
                    }));
                for (reference, digest) in tags {
                    let held = registry.manifest_digest(&reference).await?;
                    let matches = held.as_ref() == Some(digest);
                    tagged.lock().expect("tags").insert(reference.whole(), held);
                    if !matches {
                        return Ok::<bool, PushError>(false);
                    }
                }
                Ok(true)
            }
        })
        .buffered(concurrency.max(1))
        .try_collect()
        .await?;
    let tagged = tagged.into_inner().expect("tags");
    let targets: Vec<&PushTarget> = targets.iter().zip(&complete).filter(|(_, done)| !**done).map(|(t, _)| t).collect();

    // Each blob with every repository that needs it, in a stable order.
    let mut needs: BTreeMap<Digest, (u64, Vec<Reference>)> = BTreeMap::new();
    for t in &targets {
        for (digest, size) in &t.blobs {
            let entry = needs.entry(digest.clone()).or_insert((*size, Vec::new()));
            if !entry.1.iter().any(|r| r.repository() == t.target.repository()) {
                entry.1.push(t.target.clone());
            }
        }
    }
    // Largest first: the biggest blob is the longest single upload, so it
    // starts at once and the small ones fill in around it.
    let mut needs: Vec<(&Digest, &(u64, Vec<Reference>))> = needs.iter().collect();
    needs.sort_by_key(|(digest, (size, _))| (std::cmp::Reverse(*size), *digest));
    // Hashing every byte costs about as much CPU as sending it; a registry
    // that refuses a wrong digest does that check already, so it is asked
    // once, before the first upload.
    let registry_checks: tokio::sync::OnceCell<bool> = tokio::sync::OnceCell::new();
    let uploaded = AtomicUsize::new(0);
    let uploaded_bytes = AtomicU64::new(0);
    let mounted = AtomicUsize::new(0);
    let skipped = AtomicUsize::new(0);
    // Blobs a differential bundle leaves to its base: the registry must have
    // them, and an image left whole to the base must already be tagged.
    let in_base = |d: &Digest| reader.head.manifest.find_blob(d).is_some_and(|b| b.in_base);
    let missing_base: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(
        targets
            .iter()
            .filter(|t| in_base(&t.digest))
            .map(|t| format!("{} (for {})", t.digest, t.target.whole()))
            .collect(),
    );
    let uploads = futures_util::stream::iter(needs)
        .map(|(digest, (size, repos))| {
            let (reader, on_bytes) = (reader.clone(), on_bytes.clone());
            let (uploaded, uploaded_bytes, mounted, skipped) = (&uploaded, &uploaded_bytes, &mounted, &skipped);
            let (missing_base, registry_checks) = (&missing_base, &registry_checks);
            async move {
                let mut holder: Option<&Reference> = None;
                for repo in repos {
                    // HEAD is only a shortcut: a registry left half-written by an
                    // interrupted push may fail it (HTTP 500); uploading again
                    // repairs the blob.
                    let exists = match registry.blob_exists(repo, digest).await {
                        Ok(exists) => exists,
                        Err(RegistryError::Failed { .. }) => false,
                        Err(e) => return Err(e.into()),
                    };
                    if exists {
                        skipped.fetch_add(1, Ordering::Relaxed);
                        holder = Some(repo);
                        continue;
                    }
                    if let Some(from) = holder {
                        if registry.mount_blob(repo, from, digest).await? {
                            mounted.fetch_add(1, Ordering::Relaxed);
                            continue;
                        }
                    }
                    if in_base(digest) {
                        missing_base.lock().expect("list").push(format!("{digest} (for {})", repo.repository()));
                        continue;
                    }
                    let checked = *registry_checks.get_or_init(|| registry.refuses_wrong_digests(repo)).await;
                    let corruption = Arc::new(OnceLock::new());
                    let new_stream = || {
                        blob_stream(
                            reader.clone(),
                            digest.clone(),
                            *size,
                            !checked,
                            corruption.clone(),
                            on_bytes.clone(),
                        )
                    };
                    let pushed = registry.push_blob(repo, digest, *size, new_stream).await;
                    if let Some(reason) = corruption.get() {
                        return Err(PushError::Corrupt { digest: digest.clone(), detail: reason.clone() });
                    }
                    pushed.map_err(|e| rejected_or(e, digest))?;
                    uploaded.fetch_add(1, Ordering::Relaxed);
                    uploaded_bytes.fetch_add(*size, Ordering::Relaxed);
                    holder = Some(repo);
                }
                Ok::<(), PushError>(())
            }
        })
        .buffer_unordered(concurrency.max(1))
        .try_collect::<Vec<()>>();
    // The registry is asked while the blob checks run, not after them: the
    // first upload would otherwise wait for it.
    let ask_registry = async {
        if let Some(first) = targets.first() {
            registry_checks.get_or_init(|| registry.refuses_wrong_digests(&first.target)).await;
        }
    };
    let ((), uploads) = tokio::join!(ask_registry, uploads);
    uploads?;
    let mut missing = missing_base.into_inner().expect("list");
    if !missing.is_empty() {
        missing.sort();
        let base = reader.head.manifest.base.as_ref();
        return Err(PushError::MissingBaseBlobs {
            base: base.map_or_else(|| "(unknown)".into(), |b| b.describe()),
            count: missing.len(),
            list: missing.join(", "),
        });
    }

    // Manifests: per target, children by digest, then tagged ones; targets
    // concurrently. A manifest the registry already holds under that name is
    // not sent again (a PUT makes the registry re-check every blob).
    let pushed = AtomicUsize::new(0);
    let push_manifest = |target: Reference, digest: Digest, media_type: String| {
        let (reader, pushed) = (reader.clone(), &pushed);
        let known = tagged.get(&target.whole()).cloned();
        async move {
            let held = match known {
                Some(held) => held,
                None => registry.manifest_digest(&target).await?,
            };
            if held.as_ref() == Some(&digest) {
                return Ok(());
            }
            let (bytes, _) = read_manifest(&reader, &digest)?;
            registry.push_manifest(&target, &bytes, &media_type).await?;
            pushed.fetch_add(1, Ordering::Relaxed);
            Ok::<(), PushError>(())
        }
    };
    futures_util::stream::iter(targets)
        .map(|t| async move {
            let repo = |tag: Option<&str>, digest: &Digest| {
                let (host, path) = (t.target.registry().to_string(), t.target.repository().to_string());
                match tag {
                    Some(tag) => Reference::with_tag(host, path, tag.into()),
                    None => Reference::with_digest(host, path, digest.to_string()),
                }
            };
            for (digest, media_type) in &t.children {
                push_manifest(repo(None, digest), digest.clone(), media_type.clone()).await?;
            }
            for (tag, digest, media_type) in &t.extra_tags {
                push_manifest(repo(Some(tag), digest), digest.clone(), media_type.clone()).await?;
            }
            push_manifest(t.target.clone(), t.digest.clone(), t.media_type.clone()).await
        })
        .buffer_unordered(concurrency.max(1))
        .try_collect::<Vec<()>>()
        .await?;
    let manifests = pushed.into_inner();
    let uploaded = uploaded.into_inner();
    // The registry may have been asked with nothing left to upload.
    let digest_check = match (uploaded, registry_checks.get()) {
        (0, _) | (_, None) => DigestCheck::None,
        (_, Some(true)) => DigestCheck::Registry,
        (_, Some(false)) => DigestCheck::Airlock,
    };
    Ok(PushStats {
        digest_check,
        uploaded,
        uploaded_bytes: uploaded_bytes.into_inner(),
        mounted: mounted.into_inner(),
        skipped: skipped.into_inner(),
        manifests,
    })
}

/// The registry's refusal of a blob whose content does not match its
/// digest, as one error naming the blob; other errors as they are.
fn rejected_or(e: RegistryError, digest: &Digest) -> PushError {
    match e {
        RegistryError::DigestRejected { registry, .. } => PushError::Corrupt {
            digest: digest.clone(),
            detail: format!("registry {registry} found that its content does not match that digest"),
        },
        e => PushError::Registry(e),
    }
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
