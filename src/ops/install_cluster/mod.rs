//! `airlock install|upgrade|rollback|history|uninstall` without `--k3s`: a
//! bundle into any Kubernetes cluster. The bundle is checked first
//! (signature, every digest) and rendered whole before the first request
//! that changes anything; `converge` then applies it, deletes what the
//! previous revision had and this one drops, and records the revision. A
//! failure part-way leaves the previous record in place, and a rerun
//! converges.

use crate::bundle::format::{BundleManifest, Component};
use crate::bundle::reader::BundleReader;
use crate::oci::digest::Digest;
use crate::ops::install::chosen_components;
use crate::ops::verify::{check_signature, verify_digests, TrustOptions};
use crate::sign::trust::Verdict;
use crate::destination::cluster;
use crate::destination::cluster::apply::Applier;
use crate::destination::cluster::hooks;
use crate::destination::cluster::kubeconfig::Located;
use crate::destination::cluster::objects::{self, Desired, DesiredObject};
use crate::destination::cluster::ownership;
use crate::destination::cluster::release::{self, Release};
use crate::destination::cluster::relocate::{self, Relocation};
use crate::destination::kube::{Action, ResourceRef};
use crate::destination::registry::Destination;
use anyhow::{bail, Context, Result};
use std::path::PathBuf;
use std::time::Duration;

mod converge;
mod waits;
pub use converge::Progress;
use converge::{converge, delete_dropped, dry_run, same_object, Record, Waits};
use waits::wait_gone;

pub struct ClusterInstallOptions {
    pub bundle: PathBuf,
    /// The cluster, as `kubeconfig::locate` found it.
    pub cluster: Located,
    /// Where `airlock push` put the images: pod templates are rewritten to it.
    pub registry: Option<Destination>,
    pub keep_registry_host: bool,
    /// (username, password) the pods pull from that registry with.
    pub credentials: Option<(String, String)>,
    pub skip: Vec<String>,
    pub trust: TrustOptions,
    pub action: Action,
    /// Revisions whose records are kept for rollback.
    pub keep: usize,
    /// Then wait for the workloads to be ready.
    pub wait: bool,
    /// How long hooks, and the wait, may take.
    pub timeout: Duration,
    /// Have the API server check every object, and say what would be
    /// applied and deleted, changing nothing.
    pub dry_run: bool,
    /// Take over objects that exist but that airlock did not make.
    pub adopt: bool,
    /// Take over fields that other field managers set (adopting does too).
    pub force_conflicts: bool,
    /// For a differential bundle: the full bundle it was made against.
    pub base: Option<PathBuf>,
}

#[derive(Debug, Default)]
pub struct ClusterReport {
    pub name: String,
    pub version: String,
    pub revision: u32,
    pub applied: Vec<ResourceRef>,
    /// Dropped by this revision and deleted.
    pub deleted: Vec<ResourceRef>,
    /// Dropped by this revision but kept: Namespaces and CRDs take everything in them along.
    pub left: Vec<ResourceRef>,
    /// Dropped, but the deletion failed; the next run tries again.
    pub failed: Vec<(ResourceRef, String)>,
    /// Chart hooks run, in order (`pre-install Job web/migrate (batch/v1)`).
    pub hooks_run: Vec<String>,
    pub hooks_left_out: Vec<String>,
    pub foreign_images: Vec<String>,
    /// Carried images named in containers' arguments or environment, moved.
    pub images_in_arguments: usize,
    /// Fields outside pod specs whose carried image was moved
    /// (`Prometheus k8s: spec.image`).
    pub images_in_fields: Vec<String>,
    /// Of those objects, the ones with no `spec.imagePullSecrets` to name
    /// the pull secret in: the pods their operator makes get none.
    pub without_pull_secret: Vec<String>,
    /// With a wait: the workloads not ready in time (the revision is recorded).
    pub not_ready: Option<cluster::ClusterError>,
    /// Nothing was changed: `applied`, `deleted` and `hooks_run` say what would be.
    pub dry_run: bool,
    /// In a dry run: objects of kinds that only the bundle's own CRDs
    /// define, which the API server cannot check before they exist.
    pub unchecked: Vec<String>,
    /// Images the bundle carries for none of the platforms of some of the
    /// cluster's nodes: their pods cannot start there.
    pub platform_gaps: Vec<String>,
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread().enable_all().build()?)
}

/// `unmoved` hears, before anything is applied, how many images keep their
/// source names for want of `--registry`; `progress`, each step as it is done.
pub fn install_cluster(
    options: &ClusterInstallOptions,
    unmoved: &dyn Fn(usize),
    progress: Progress<'_>,
) -> Result<(ClusterReport, Verdict)> {
    let reader = BundleReader::open(&options.bundle)?;
    let reader = crate::bundle::base::attach(reader, &options.bundle, options.base.as_deref())?;
    let verdict = check_signature(&options.bundle, &reader.head, &options.trust)?;
    let components = chosen_components(&reader, &options.skip)?;
    let manifest = &reader.head.manifest;
    let left_to_base = left_to_base(manifest, &components, |d| reader.base_holds(d));
    if let Some(base) = manifest.base.as_ref().filter(|_| !left_to_base.is_empty()) {
        bail!(
            "{} is a differential bundle that leaves {} to its base {}; give that bundle with --base, or install from the full bundle of this version",
            options.bundle.display(),
            left_to_base.join(", "),
            base.describe()
        );
    }
    // The cluster is asked before every byte is hashed: a wrong kubeconfig
    // or a cluster out of reach is said at once, not minutes later.
    let runtime = runtime()?;
    let (client, cluster) = runtime.block_on(async {
        let client = options.cluster.client().await?;
        let capabilities = cluster::capabilities(&client).await?;
        Ok::<_, cluster::ClusterError>((client, capabilities))
    })?;
    verify_digests(&options.bundle, &reader.head, &mut |_| {})
        .with_context(|| format!("{} failed verification; nothing was installed", options.bundle.display()))?;
    let platform_gaps = platform_gaps(&reader, &components, &runtime.block_on(cluster::node_platforms(&client)));
    let images = components.iter().map(|c| c.images.len()).sum();
    if options.registry.is_none() && images > 0 {
        unmoved(images);
    }
    let (name, version) = (&manifest.metadata.name, &manifest.metadata.version);
    let digest = Digest::of(&reader.head.manifest_bytes).to_string();
    let report = runtime.block_on(async {
        let relocation = options.registry.clone().map(|destination| Relocation {
            destination,
            keep_registry_host: options.keep_registry_host,
            images: components.iter().flat_map(|c| &c.images).collect(),
            credentials: options.credentials.clone(),
            pull_secret: relocate::pull_secret_name(name),
        });
        let mut desired = objects::desired(&reader, &components, &cluster, relocation.as_ref())?;
        let history = release::list(&client, name).await?;
        match (options.action, history.last()) {
            (Action::Install, Some(p)) if p.manifest_digest != digest => bail!(
                "{name} {} is already installed in this cluster (revision {}); use `airlock upgrade` to replace it",
                p.version,
                p.revision
            ),
            (Action::Upgrade, None) => bail!(
                "{name} is not installed in this cluster (no record in namespace {}); use `airlock install`",
                release::NAMESPACE
            ),
            _ => {}
        }
        // The same bundle again re-applies (mending drift) under the same revision.
        let (revision, action) = match history.last() {
            Some(latest) if latest.manifest_digest == digest => (latest.revision, latest.action.clone()),
            latest => {
                (latest.map_or(1, |r| r.revision + 1), options.action.as_str().to_string())
            }
        };
        let hook_events = match options.action {
            Action::Install => ("pre-install", "post-install"),
            Action::Upgrade => ("pre-upgrade", "post-upgrade"),
        };
        // Nothing is applied over what another bundle, or someone else, owns.
        ownership::mark(&mut desired, name);
        let was_ours =
            |r: &ResourceRef| history.last().is_some_and(|p| p.objects.iter().any(|o| same_object(&o.resource, r)));
        // One applier throughout, so each kind is looked up once.
        let force = options.force_conflicts || options.adopt;
        let mut applier = Applier::new(client.clone(), true).force_conflicts(force);
        let taken = ownership::conflicts(&mut applier, &desired.then, name, was_ours, options.adopt).await?;
        if !taken.is_empty() {
            bail!(
                "{name} {version} declares {} object(s) that already exist and are not its own: {}; nothing was applied",
                taken.len(),
                taken.join("; ")
            );
        }
        let record = Record { name, version, digest: &digest, revision, action, hook_events: Some(hook_events) };
        let waits = Waits { hooks: options.timeout, ready: options.wait.then_some(options.timeout) };
        if options.dry_run {
            return dry_run(applier, record, desired, &history, progress).await;
        }
        converge(applier, record, desired, &history, options.keep, waits, progress).await
    })?;
    Ok((ClusterReport { platform_gaps, ..report }, verdict))
}

/// For each platform of the cluster's nodes, the carried images that have
/// no manifest for it (a bundle made for amd64 in a cluster with arm64
/// nodes), said with the nodes, for a warning: the pods may be kept off
/// those nodes by their charts, so this refuses nothing.
fn platform_gaps(
    reader: &BundleReader,
    components: &[&Component],
    nodes: &std::collections::BTreeMap<crate::oci::manifest::Platform, Vec<String>>,
) -> Vec<String> {
    let images: Vec<_> = components.iter().flat_map(|c| &c.images).collect();
    let mut gaps = Vec::new();
    for (platform, names) in nodes {
        for image in &images {
            if let Err(e) = crate::destination::k3s::images::check_platform(reader, &[*image], platform) {
                gaps.push(format!(
                    "{e}, the platform of node(s) {}: its pods cannot start there; keep them off those nodes, or create the bundle with --platform {platform} too",
                    names.join(", ")
                ));
            }
        }
    }
    gaps
}

/// What a differential bundle leaves to its base, and `at_hand` cannot
/// give, that installing into a cluster reads (charts, values, CRDs,
/// manifests). Images come from the registry, so a bundle that carries all
/// of these serves as it is.
fn left_to_base(
    manifest: &BundleManifest,
    components: &[&Component],
    at_hand: impl Fn(&Digest) -> bool,
) -> Vec<String> {
    components
        .iter()
        .flat_map(|c| {
            let charts = c.charts.iter().flat_map(|ch| {
                std::iter::once((&ch.archive_digest, format!("chart {}", ch.name)))
                    .chain(ch.values_files.iter().map(|v| (&v.digest, format!("values file {}", v.name))))
            });
            let documents = c.crds.iter().chain(&c.manifests).map(|d| (&d.digest, d.name.clone()));
            charts.chain(documents).collect::<Vec<_>>()
        })
        .filter(|(digest, _)| manifest.find_blob(digest).is_some_and(|b| b.in_base) && !at_hand(digest))
        .map(|(_, what)| what)
        .collect()
}

/// How to roll back: to which revision, and as install and upgrade run.
pub struct RollbackOptions {
    /// The revision to restore (default: the one before the newest).
    pub to: Option<u32>,
    pub keep: usize,
    pub wait: bool,
    pub timeout: Duration,
    pub force_conflicts: bool,
}

/// Applies an earlier revision again (default: the one before the newest),
/// with that revision's `pre-rollback` and `post-rollback` hooks.
pub fn rollback_cluster(
    cluster: &Located,
    name: &str,
    options: &RollbackOptions,
    progress: Progress<'_>,
) -> Result<ClusterReport> {
    let RollbackOptions { to, keep, wait, timeout, force_conflicts } = *options;
    runtime()?.block_on(async {
        let (client, history) = installed(cluster, name).await?;
        let current = history.last().expect("installed() gives at least one revision");
        let wanted = match to {
            Some(n) => n,
            None => match history.iter().rev().nth(1) {
                Some(previous) => previous.revision,
                None => {
                    bail!("{name} has only revision {} recorded; there is nothing to roll back to", current.revision)
                }
            },
        };
        let Some(target) = history.iter().find(|r| r.revision == wanted) else {
            let kept: Vec<String> = history.iter().map(|r| r.revision.to_string()).collect();
            bail!("revision {wanted} of {name} is not recorded; recorded: {}", kept.join(", "))
        };
        if let Some(why) = &target.failed {
            bail!("revision {wanted} of {name} failed half way ({why}), so it is no state to return to; choose another with --to")
        }
        let mut desired = Desired::default();
        desired.hooks = target.hooks.clone();
        for object in &target.objects {
            let object = DesiredObject {
                body: object.body.clone(),
                default_namespace: object.resource.namespace.clone(),
                origin: format!("revision {wanted}"),
            };
            if object.kind() == "Namespace" || object.is_crd() {
                desired.first.push(object);
            } else {
                desired.then.push(object);
            }
        }
        let record = Record {
            name,
            version: &target.version,
            digest: &target.manifest_digest,
            revision: current.revision + 1,
            action: format!("rollback to {wanted}"),
            hook_events: Some(("pre-rollback", "post-rollback")),
        };
        let waits = Waits { hooks: timeout, ready: wait.then_some(timeout) };
        let applier = Applier::new(client, false).force_conflicts(force_conflicts);
        converge(applier, record, desired, &history, keep, waits, progress).await
    })
}

/// What `uninstall` did.
#[derive(Debug, Default)]
pub struct Uninstalled {
    pub name: String,
    pub version: String,
    pub deleted: Vec<ResourceRef>,
    /// Namespaces and CRDs, left in place.
    pub left: Vec<ResourceRef>,
    /// Deletions that failed; the records stay so a rerun tries again.
    pub failed: Vec<(ResourceRef, String)>,
}

/// Deletes every object of the newest revision of `name` (and those still
/// pending) in reverse of the order they were applied, then its records;
/// Namespaces and CRDs are left and said. Its charts' `pre-delete` hooks
/// run first and `post-delete` hooks after, within `hooks` (None: no
/// hooks, `--no-hooks`). When a hook or a deletion fails, the records stay
/// and a rerun tries again. Deleted objects are waited for (up to
/// `timeout`) until they are gone: an object a finalizer holds longer is
/// named with its finalizers, and the records stay.
pub fn uninstall_cluster(
    cluster: &Located,
    name: &str,
    hooks: bool,
    timeout: Duration,
    progress: Progress<'_>,
) -> Result<Uninstalled> {
    let hooks = hooks.then_some(timeout);
    runtime()?.block_on(async {
        let (client, history) = installed(cluster, name).await?;
        let latest = history.last().expect("installed() gives at least one revision");
        let mut applier = Applier::new(client.clone(), false);
        let ran = |line: &str| progress("Ran", &format!("hook {line}"));
        if let Some(timeout) = hooks {
            hooks::run(&mut applier, &latest.hooks, "pre-delete", timeout, &ran).await.with_context(|| {
                format!("{name} was not uninstalled, nothing was deleted: a pre-delete hook failed; fix it and rerun, or rerun with --no-hooks")
            })?;
        }
        let mut report = ClusterReport::default();
        delete_dropped(&mut applier, latest, &[], &mut report, progress).await;
        if report.failed.is_empty() {
            if !report.deleted.is_empty() {
                progress("Waiting", &format!("up to {} s for the deleted objects to go", timeout.as_secs()));
            }
            let stuck = wait_gone(&mut applier, &report.deleted, timeout).await?;
            if !stuck.is_empty() {
                let held: Vec<String> = stuck
                    .iter()
                    .map(|(resource, finalizers)| match finalizers.as_slice() {
                        [] => format!("{resource} (no finalizer: still in its grace period)"),
                        held => format!("{resource} (finalizers {})", held.join(", ")),
                    })
                    .collect();
                bail!(
                    "{name} is being uninstalled, but after {} s these objects are still being deleted: {}; a finalizer waits for the controller that owns it (if that controller was part of {name} and is gone, remove the finalizer by hand), so the records are kept and rerunning `airlock uninstall {name}` waits again",
                    timeout.as_secs(),
                    held.join("; ")
                );
            }
            if let Some(timeout) = hooks {
                hooks::run(&mut applier, &latest.hooks, "post-delete", timeout, &ran).await.with_context(|| {
                    format!("{name}'s objects were deleted, but a post-delete hook failed; its records are kept, so rerunning `airlock uninstall {name}` runs its hooks again")
                })?;
            }
            release::trim(&client, &history, 0).await;
            release::remove(&client, latest).await?;
        }
        Ok(Uninstalled {
            name: name.into(),
            version: latest.version.clone(),
            deleted: report.deleted,
            left: report.left,
            failed: report.failed,
        })
    })
}

/// What `test` ran.
#[derive(Debug)]
pub struct Tested {
    pub name: String,
    pub version: String,
    pub revision: u32,
    /// The test hooks run, in order; all passed.
    pub passed: Vec<String>,
}

/// Runs the charts' test hooks (`helm.sh/hook: test`) of the newest
/// revision of `name`, as `helm test` does, within `timeout`; the first
/// that fails stops the run, naming it and how to read its logs.
pub fn test_cluster(cluster: &Located, name: &str, timeout: Duration, progress: Progress<'_>) -> Result<Tested> {
    runtime()?.block_on(async {
        let (client, history) = installed(cluster, name).await?;
        let latest = history.last().expect("installed() gives at least one revision");
        if !latest.hooks.iter().any(|h| h.events.iter().any(|e| e == "test")) {
            bail!(
                "{name} {} (revision {}) has no test hooks (`helm.sh/hook: test`) to run",
                latest.version,
                latest.revision
            );
        }
        let ran = |line: &str| progress("Passed", line);
        let passed = hooks::run(&mut Applier::new(client, false), &latest.hooks, "test", timeout, &ran)
            .await
            .with_context(|| format!("{name} {} (revision {}) failed its tests", latest.version, latest.revision))?;
        Ok(Tested { name: name.into(), version: latest.version.clone(), revision: latest.revision, passed })
    })
}

/// The `cluster`, and every recorded revision of `name`
/// there, oldest first; an error that says so when there is none.
async fn installed(cluster: &Located, name: &str) -> Result<(kube::Client, Vec<Release>)> {
    let client = cluster.client().await?;
    let history = release::list(&client, name).await?;
    if history.is_empty() {
        bail!("{name} is not installed in this cluster (no record in namespace {})", release::NAMESPACE)
    }
    Ok((client, history))
}

/// Every recorded revision of `name` in the cluster, oldest first.
pub fn cluster_history(cluster: &Located, name: &str) -> Result<Vec<Release>> {
    runtime()?.block_on(async {
        let client = cluster.client().await?;
        Ok(release::list(&client, name).await?)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_a_differential_bundle_leaves_that_a_cluster_install_reads() {
        let digest = |s: &str| Digest::of(s.as_bytes()).to_string();
        let blob = |s: &str, in_base: bool| serde_json::json!({"digest": digest(s), "size": 1, "mediaType": "x", "storedSize": 1, "inBase": in_base});
        // A manifest lists its blobs sorted by digest.
        let mut blobs =
            vec![blob("tgz", true), blob("values", false), blob("yaml", true), blob("image", true), blob("oci", true)];
        blobs.sort_by_key(|b| b["digest"].as_str().unwrap().to_string());
        let manifest: BundleManifest = serde_json::from_value(serde_json::json!({
            "format": 1, "metadata": {"name": "n", "version": "1"}, "createdBy": "test",
            "components": [{"name": "app", "required": true,
                "charts": [{"name": "web", "chartName": "web", "version": "1", "source": "s", "digest": digest("oci"),
                            "archiveDigest": digest("tgz"), "size": 1,
                            "valuesFiles": [{"name": "site.yaml", "source": "s", "digest": digest("values"), "size": 1}]}],
                "manifests": [{"name": "app.yaml", "source": "s", "digest": digest("yaml"), "size": 1}],
                "images": [{"reference": "r", "source": "s", "digest": digest("image"), "mediaType": "m", "size": 1}]}],
            "blobs": blobs,
        }))
        .unwrap();
        let components: Vec<&Component> = manifest.components.iter().collect();
        // The image and the chart's OCI manifest are not read; the rest is.
        assert_eq!(left_to_base(&manifest, &components, |_| false), ["chart web", "app.yaml"]);
        // A base at hand that holds the chart leaves only the manifest.
        let archive = Digest::of(b"tgz");
        assert_eq!(left_to_base(&manifest, &components, |d| *d == archive), ["app.yaml"]);
    }
}
