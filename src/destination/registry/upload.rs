//! The push itself, in four steps: which targets the registry already
//! holds whole (one GET per tag and referrer), the blobs the others need
//! (each uploaded once, largest first, then mounted into further
//! repositories), their manifests, tags last, then referrers by digest; and
//! last, that the registry lists each image's referrers (a registry without
//! the referrers API gets the `sha256-<hex>` tag fallback). Where things
//! land is decided by `plan`, not here.

use super::{read_manifest, PushError, PushTarget};
use crate::bundle::format::ReferrerRecord;
use crate::bundle::reader::BundleReader;
use crate::oci::digest::Digest;
use crate::oci::registry::{Registry, RegistryError};
use futures_util::{StreamExt, TryStreamExt};
use oci_client::Reference;
use sha2::{Digest as _, Sha256};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

#[derive(Debug, Default, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PushStats {
    pub uploaded: usize,
    pub uploaded_bytes: u64,
    pub mounted: usize,
    pub skipped: usize,
    pub manifests: usize,
    /// Referrers tag-schema indexes written (`sha256-<hex>` tags), for a
    /// registry without the referrers API.
    pub referrer_tags: usize,
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

/// What each tag named when the push began (None: nothing), by reference.
type Tagged = BTreeMap<String, Option<Digest>>;

/// Pushes every target: blobs (concurrently, bounded), then manifests.
pub async fn execute(
    targets: &[PushTarget],
    reader: Arc<BundleReader>,
    registry: &Registry,
    concurrency: usize,
    on_bytes: Arc<dyn Fn(u64) + Send + Sync>,
) -> Result<PushStats, PushError> {
    let concurrency = concurrency.max(1);
    let mut repos: Vec<Reference> = Vec::new();
    for t in targets {
        if !repos.iter().any(|r| r.repository() == t.target.repository()) {
            repos.push(t.target.clone());
        }
    }
    registry.login(&repos).await?;
    let all = targets;
    let (targets, tagged) = incomplete(targets, registry, concurrency).await?;
    let stats = BlobStep::new(&reader, registry, on_bytes).run(&targets, concurrency).await?;
    let manifests = push_manifests(&targets, &tagged, &reader, registry, concurrency).await?;
    let referrer_tags = link_referrers(all, registry).await?;
    Ok(PushStats { manifests, referrer_tags, ..stats })
}

/// Makes the registry list each image's referrers. One that has the
/// referrers API lists a pushed manifest with a `subject` by itself; for one
/// without, the `sha256-<hex>` tag of the subject holds an OCI index of its
/// referrers (the distribution spec's tag schema), merged here with what
/// the tag already lists. Returns how many such tags were written.
async fn link_referrers(targets: &[PushTarget], registry: &Registry) -> Result<usize, PushError> {
    let mut written = 0;
    for target in targets.iter().filter(|t| !t.referrers.is_empty()) {
        let mut subjects: Vec<&Digest> = target.referrers.iter().map(|r| &r.subject).collect();
        subjects.dedup();
        for subject in subjects {
            // A registry that answers the referrers API with an error (not
            // the 404 that means "no API") gets the tag schema too.
            let listed = match registry.referrers(&target.target, subject).await {
                Ok(listed) => listed,
                Err(RegistryError::Failed { .. }) => Vec::new(),
                Err(e) => return Err(e.into()),
            };
            let missing: Vec<&ReferrerRecord> = target
                .referrers
                .iter()
                .filter(|r| r.subject == *subject && !listed.iter().any(|l| l.digest == r.digest))
                .collect();
            if missing.is_empty() {
                continue;
            }
            let tag = Reference::with_tag(
                target.target.registry().into(),
                target.target.repository().into(),
                format!("sha256-{}", subject.hex()),
            );
            let held = match registry.manifest(&tag).await {
                Ok((bytes, _, _)) => Some(bytes),
                Err(RegistryError::NotFound { .. }) => None,
                Err(e) => return Err(e.into()),
            };
            let index = merged_referrers_index(held.as_deref(), &missing);
            registry.push_manifest(&tag, &index, crate::oci::media::OCI_INDEX).await?;
            written += 1;
        }
    }
    Ok(written)
}

/// The referrers index for the tag schema: what the tag held (when it is an
/// index; its entries and other fields kept), with `missing` added.
fn merged_referrers_index(held: Option<&[u8]>, missing: &[&ReferrerRecord]) -> Vec<u8> {
    let mut index = held
        .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(bytes).ok())
        .filter(|v| v.get("manifests").is_some_and(|m| m.is_array()) && v.get("config").is_none())
        .unwrap_or_else(
            || serde_json::json!({"schemaVersion": 2, "mediaType": crate::oci::media::OCI_INDEX, "manifests": []}),
        );
    index["mediaType"] = crate::oci::media::OCI_INDEX.into();
    let manifests = index["manifests"].as_array_mut().expect("checked above");
    for referrer in missing {
        if manifests.iter().any(|m| m["digest"].as_str() == Some(&referrer.digest.to_string())) {
            continue;
        }
        let mut entry = serde_json::json!({
            "mediaType": referrer.media_type, "digest": referrer.digest, "size": referrer.size,
        });
        if let Some(artifact_type) = &referrer.artifact_type {
            entry["artifactType"] = artifact_type.as_str().into();
        }
        if !referrer.annotations.is_empty() {
            entry["annotations"] = serde_json::json!(referrer.annotations);
        }
        manifests.push(entry);
    }
    serde_json::to_vec(&index).expect("an index serializes")
}

/// The targets the registry does not hold whole yet. A target whose tags
/// already name exactly its manifests is complete: the registry accepted
/// those manifests only with all their blobs, so there is nothing to check
/// blob by blob. This makes a re-push a few requests. What the tags held is
/// returned too, so the manifest step does not ask again.
async fn incomplete<'t>(
    targets: &'t [PushTarget],
    registry: &Registry,
    concurrency: usize,
) -> Result<(Vec<&'t PushTarget>, Tagged), PushError> {
    // Per target: whether it is complete, and what its tags held (up to
    // the first that does not name its manifest).
    let looked_up: Vec<(bool, Tagged)> = futures_util::stream::iter(targets)
        .map(|t| async move {
            let (host, repo) = (t.target.registry().to_string(), t.target.repository().to_string());
            let tags =
                std::iter::once((t.target.clone(), &t.digest))
                    .chain(
                        t.extra_tags
                            .iter()
                            .map(|(tag, d, _)| (Reference::with_tag(host.clone(), repo.clone(), tag.clone()), d)),
                    )
                    .chain(t.referrers.iter().map(|r| {
                        (Reference::with_digest(host.clone(), repo.clone(), r.digest.to_string()), &r.digest)
                    }));
            let mut held_by_tag = Tagged::new();
            for (reference, digest) in tags {
                let held = registry.manifest_digest(&reference).await?;
                let matches = held.as_ref() == Some(digest);
                held_by_tag.insert(reference.whole(), held);
                if !matches {
                    return Ok::<_, PushError>((false, held_by_tag));
                }
            }
            Ok((true, held_by_tag))
        })
        .buffered(concurrency)
        .try_collect()
        .await?;
    let incomplete = targets.iter().zip(&looked_up).filter(|(_, (complete, _))| !complete).map(|(t, _)| t).collect();
    Ok((incomplete, looked_up.into_iter().flat_map(|(_, held_by_tag)| held_by_tag).collect()))
}

/// The blob step: what it shares between concurrent blobs, and its counts.
struct BlobStep<'a> {
    reader: &'a Arc<BundleReader>,
    registry: &'a Registry,
    on_bytes: Arc<dyn Fn(u64) + Send + Sync>,
    /// Whether the registry refuses a wrong digest. Hashing every byte
    /// costs about as much CPU as sending it, and such a registry does that
    /// check already; it is asked once per push.
    registry_checks: tokio::sync::OnceCell<bool>,
    /// Blobs a differential bundle leaves to its base that the registry
    /// lacks, with the repository that needed each.
    missing_base: Mutex<Vec<String>>,
    uploaded: AtomicUsize,
    uploaded_bytes: AtomicU64,
    mounted: AtomicUsize,
    skipped: AtomicUsize,
}

impl<'a> BlobStep<'a> {
    fn new(reader: &'a Arc<BundleReader>, registry: &'a Registry, on_bytes: Arc<dyn Fn(u64) + Send + Sync>) -> Self {
        BlobStep {
            reader,
            registry,
            on_bytes,
            registry_checks: tokio::sync::OnceCell::new(),
            missing_base: Mutex::new(Vec::new()),
            uploaded: AtomicUsize::new(0),
            uploaded_bytes: AtomicU64::new(0),
            mounted: AtomicUsize::new(0),
            skipped: AtomicUsize::new(0),
        }
    }

    async fn run(self, targets: &[&PushTarget], concurrency: usize) -> Result<PushStats, PushError> {
        // Each blob with every repository that needs it, in a stable order.
        let mut needs: BTreeMap<&Digest, (u64, Vec<&Reference>)> = BTreeMap::new();
        for t in targets {
            for (digest, size) in &t.blobs {
                let (_, repos) = needs.entry(digest).or_insert((*size, Vec::new()));
                if !repos.iter().any(|r| r.repository() == t.target.repository()) {
                    repos.push(&t.target);
                }
            }
        }
        // Largest first: the biggest blob is the longest single upload, so it
        // starts at once and the small ones fill in around it.
        let mut needs: Vec<_> = needs.into_iter().collect();
        needs.sort_by_key(|(digest, (size, _))| (std::cmp::Reverse(*size), *digest));
        // An image a differential bundle leaves whole to its base must
        // already be tagged.
        self.missing_base.lock().expect("list").extend(
            targets
                .iter()
                .filter(|t| self.in_base(&t.digest))
                .map(|t| format!("{} (for {})", t.digest, t.target.whole())),
        );
        let uploads = futures_util::stream::iter(needs)
            .map(|(digest, (size, repos))| self.place(digest, size, repos))
            .buffer_unordered(concurrency)
            .try_collect::<Vec<()>>();
        // The registry is asked while the blob checks run, not after them:
        // the first upload would otherwise wait for it.
        let ask_registry = async {
            if let Some(first) = targets.first() {
                self.registry_checks.get_or_init(|| self.registry.refuses_wrong_digests(&first.target)).await;
            }
        };
        let ((), uploads) = tokio::join!(ask_registry, uploads);
        uploads?;

        let mut missing = self.missing_base.into_inner().expect("list");
        if !missing.is_empty() {
            missing.sort();
            let base = self.reader.head.manifest.base.as_ref();
            return Err(PushError::MissingBaseBlobs {
                base: base.map_or_else(|| "(unknown)".into(), |b| b.describe()),
                count: missing.len(),
                list: missing.join(", "),
            });
        }
        let uploaded = self.uploaded.into_inner();
        // The registry may have been asked with nothing left to upload.
        let digest_check = match (uploaded, self.registry_checks.get()) {
            (0, _) | (_, None) => DigestCheck::None,
            (_, Some(true)) => DigestCheck::Registry,
            (_, Some(false)) => DigestCheck::Airlock,
        };
        Ok(PushStats {
            digest_check,
            uploaded,
            uploaded_bytes: self.uploaded_bytes.into_inner(),
            mounted: self.mounted.into_inner(),
            skipped: self.skipped.into_inner(),
            manifests: 0,
            referrer_tags: 0,
        })
    }

    /// Whether the bundle leaves the blob to a base that is not at hand
    /// (so only the registry may hold it).
    fn in_base(&self, digest: &Digest) -> bool {
        self.reader.head.manifest.find_blob(digest).is_some_and(|b| b.in_base) && !self.reader.base_holds(digest)
    }

    /// Puts one blob into every repository that needs it: skipped where it
    /// is already, mounted from a repository that has it, else uploaded.
    async fn place(&self, digest: &Digest, size: u64, repos: Vec<&Reference>) -> Result<(), PushError> {
        let registry = self.registry;
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
                self.skipped.fetch_add(1, Ordering::Relaxed);
                holder = Some(repo);
                continue;
            }
            if let Some(from) = holder {
                if registry.mount_blob(repo, from, digest).await? {
                    self.mounted.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
            }
            if self.in_base(digest) {
                self.missing_base.lock().expect("list").push(format!("{digest} (for {})", repo.repository()));
                continue;
            }
            let checked = *self.registry_checks.get_or_init(|| registry.refuses_wrong_digests(repo)).await;
            let corruption = Arc::new(OnceLock::new());
            let new_stream = || {
                blob_stream(
                    self.reader.clone(),
                    digest.clone(),
                    size,
                    !checked,
                    corruption.clone(),
                    self.on_bytes.clone(),
                )
            };
            let pushed = registry.push_blob(repo, digest, size, new_stream).await;
            if let Some(reason) = corruption.get() {
                return Err(PushError::Corrupt { digest: digest.clone(), detail: reason.clone() });
            }
            pushed.map_err(|e| rejected_or(e, digest))?;
            self.uploaded.fetch_add(1, Ordering::Relaxed);
            self.uploaded_bytes.fetch_add(size, Ordering::Relaxed);
            holder = Some(repo);
        }
        Ok(())
    }
}

/// Manifests: per target, children by digest, then tagged ones; targets
/// concurrently. A manifest the registry already holds under that name is
/// not sent again (a PUT makes the registry re-check every blob). Returns
/// how many were sent.
async fn push_manifests(
    targets: &[&PushTarget],
    tagged: &Tagged,
    reader: &BundleReader,
    registry: &Registry,
    concurrency: usize,
) -> Result<usize, PushError> {
    let pushed = AtomicUsize::new(0);
    let push_manifest = |target: Reference, digest: Digest, media_type: String| {
        let pushed = &pushed;
        let known = tagged.get(&target.whole()).cloned();
        async move {
            let held = match known {
                Some(held) => held,
                None => registry.manifest_digest(&target).await?,
            };
            if held.as_ref() == Some(&digest) {
                return Ok(());
            }
            let (bytes, _) = read_manifest(reader, &digest)?;
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
            push_manifest(t.target.clone(), t.digest.clone(), t.media_type.clone()).await?;
            // After their subject, which a registry may want to see first.
            for referrer in &t.referrers {
                let media_type = referrer.media_type.clone();
                push_manifest(repo(None, &referrer.digest), referrer.digest.clone(), media_type).await?;
            }
            Ok::<(), PushError>(())
        })
        .buffer_unordered(concurrency)
        .try_collect::<Vec<()>>()
        .await?;
    Ok(pushed.into_inner())
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

    fn referrer(content: &[u8]) -> ReferrerRecord {
        ReferrerRecord {
            digest: Digest::of(content),
            media_type: crate::oci::media::OCI_MANIFEST.into(),
            artifact_type: Some("application/vnd.dev.sigstore.bundle.v0.3+json".into()),
            size: content.len() as u64,
            subject: Digest::of(b"image"),
            annotations: [("dev.sigstore.bundle.predicateType".to_string(), "p".to_string())].into(),
            key_id: Some("sha256:00".into()),
        }
    }

    /// The tag schema's index: what the tag held is kept (entries and
    /// fields), what is missing is added once, as a referrers list gives it.
    #[test]
    fn referrers_index_merges_with_what_the_tag_holds() {
        let (a, b) = (referrer(b"a"), referrer(b"b"));
        let fresh: serde_json::Value = serde_json::from_slice(&merged_referrers_index(None, &[&a])).unwrap();
        assert_eq!(fresh["mediaType"], crate::oci::media::OCI_INDEX);
        assert_eq!(fresh["schemaVersion"], 2);
        assert_eq!(
            fresh["manifests"],
            serde_json::json!([{"mediaType": crate::oci::media::OCI_MANIFEST, "digest": a.digest, "size": 1,
                "artifactType": "application/vnd.dev.sigstore.bundle.v0.3+json",
                "annotations": {"dev.sigstore.bundle.predicateType": "p"}}])
        );
        let held = serde_json::json!({"schemaVersion": 2, "mediaType": crate::oci::media::OCI_INDEX,
            "manifests": [{"mediaType": "x", "digest": Digest::of(b"theirs"), "size": 9}], "annotations": {"k": "v"}});
        let held = serde_json::to_vec(&held).unwrap();
        let merged: serde_json::Value =
            serde_json::from_slice(&merged_referrers_index(Some(&held), &[&a, &b, &a])).unwrap();
        let digests: Vec<&str> =
            merged["manifests"].as_array().unwrap().iter().map(|m| m["digest"].as_str().unwrap()).collect();
        let (theirs, a, b) = (Digest::of(b"theirs").to_string(), a.digest.to_string(), b.digest.to_string());
        assert_eq!(digests, [theirs.as_str(), a.as_str(), b.as_str()]);
        assert_eq!(merged["annotations"]["k"], "v");
        // Something else under the tag (not an index) is replaced.
        let manifest = br#"{"schemaVersion":2,"config":{},"layers":[],"manifests":[]}"#;
        let replaced: serde_json::Value = serde_json::from_slice(&merged_referrers_index(Some(manifest), &[])).unwrap();
        assert_eq!(replaced["manifests"], serde_json::json!([]));
    }
}
