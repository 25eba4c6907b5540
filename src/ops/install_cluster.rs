//! `airlock install|upgrade|rollback|history --kubeconfig`: a bundle into
//! any Kubernetes cluster. The bundle is checked first (signature, every
//! digest) and rendered whole before the first request that changes
//! anything. Then its Namespaces and CRDs, the pre hooks, everything else
//! and the post hooks are applied server-side; what the previous revision
//! had and this one drops is deleted; the revision is recorded in the
//! cluster; then, if asked, the workloads are waited for. A failure
//! part-way leaves the previous record in place, and a rerun converges.

use crate::bundle::reader::BundleReader;
use crate::oci::digest::Digest;
use crate::ops::install::chosen_components;
use crate::ops::verify::{check_signature, verify_digests, TrustOptions};
use crate::sign::trust::Verdict;
use crate::target::cluster::apply::Applier;
use crate::target::cluster::objects::{self, Desired, DesiredObject};
use crate::target::cluster::release::{self, AppliedObject, Release};
use crate::target::cluster::relocate::Relocation;
use crate::target::cluster::{self, Deletion};
use crate::target::cluster::{hooks, ready};
use crate::target::k3s::install::Action;
use crate::target::k3s::layout::cascades;
use crate::target::k3s::state::ResourceRef;
use crate::target::registry::Destination;
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long a CRD may take to be served before its users are applied.
const CRD_WAIT: Duration = Duration::from_secs(60);

pub struct ClusterInstallOptions {
    pub bundle: PathBuf,
    pub kubeconfig: PathBuf,
    /// Where `airlock push` put the images: pod templates are rewritten to it.
    pub registry: Option<Destination>,
    pub keep_registry_host: bool,
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
    /// With a wait: the workloads not ready in time (the revision is recorded).
    pub not_ready: Option<cluster::ClusterError>,
    /// Nothing was changed: `applied`, `deleted` and `hooks_run` say what would be.
    pub dry_run: bool,
    /// In a dry run: objects of kinds that only the bundle's own CRDs
    /// define, which the API server cannot check before they exist.
    pub unchecked: Vec<String>,
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread().enable_all().build()?)
}

/// `unmoved` hears, before anything is applied, how many images keep their
/// source names for want of `--registry`.
pub fn install_cluster(options: &ClusterInstallOptions, unmoved: &dyn Fn(usize)) -> Result<(ClusterReport, Verdict)> {
    let reader = BundleReader::open(&options.bundle)?;
    let verdict = check_signature(&options.bundle, &reader.head, &options.trust)?;
    let components = chosen_components(&reader, &options.skip)?;
    // A differential bundle serves as long as it carries what is rendered
    // and applied: images come from the registry, not from the bundle.
    let manifest = &reader.head.manifest;
    let left_to_base: Vec<String> = components
        .iter()
        .flat_map(|c| {
            let charts = c.charts.iter().flat_map(|ch| {
                std::iter::once((&ch.archive_digest, format!("chart {}", ch.name)))
                    .chain(ch.values_files.iter().map(|v| (&v.digest, format!("values file {}", v.name))))
            });
            let documents = c.crds.iter().chain(&c.manifests).map(|d| (&d.digest, d.name.clone()));
            charts.chain(documents).collect::<Vec<_>>()
        })
        .filter(|(digest, _)| manifest.find_blob(digest).is_some_and(|b| b.in_base))
        .map(|(_, what)| what)
        .collect();
    if let Some(base) = manifest.base.as_ref().filter(|_| !left_to_base.is_empty()) {
        bail!(
            "{} is a differential bundle that leaves {} to its base {}; install from the full bundle of this version",
            options.bundle.display(),
            left_to_base.join(", "),
            base.describe()
        );
    }
    // The cluster is asked before every byte is hashed: a wrong kubeconfig
    // or a cluster out of reach is said at once, not minutes later.
    let runtime = runtime()?;
    let (client, cluster) = runtime.block_on(async {
        let client = cluster::client(&options.kubeconfig).await?;
        let capabilities = cluster::capabilities(&client).await?;
        Ok::<_, cluster::ClusterError>((client, capabilities))
    })?;
    verify_digests(&options.bundle, &reader.head, &mut |_| {})
        .with_context(|| format!("{} failed verification; nothing was installed", options.bundle.display()))?;
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
        });
        let desired = objects::desired(&reader, &components, &cluster, relocation.as_ref())?;
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
                let action = match options.action {
                    Action::Install => "install",
                    Action::Upgrade => "upgrade",
                };
                (latest.map_or(1, |r| r.revision + 1), action.to_string())
            }
        };
        let hook_events = match options.action {
            Action::Install => ("pre-install", "post-install"),
            Action::Upgrade => ("pre-upgrade", "post-upgrade"),
        };
        let record = Record { name, version, digest: &digest, revision, action, hook_events: Some(hook_events) };
        let waits = Waits { hooks: options.timeout, ready: options.wait.then_some(options.timeout) };
        if options.dry_run {
            return dry_run(&client, record, desired, &history).await;
        }
        converge(&client, record, desired, &history, options.keep, waits).await
    })?;
    Ok((report, verdict))
}

/// Applies an earlier revision again (default: the one before the newest),
/// with that revision's `pre-rollback` and `post-rollback` hooks.
pub fn rollback_cluster(
    kubeconfig: &Path,
    name: &str,
    to: Option<u32>,
    keep: usize,
    wait: bool,
    timeout: Duration,
) -> Result<ClusterReport> {
    runtime()?.block_on(async {
        let client = cluster::client(kubeconfig).await?;
        let history = release::list(&client, name).await?;
        let Some(current) = history.last() else {
            bail!("{name} is not installed in this cluster (no record in namespace {})", release::NAMESPACE)
        };
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
        converge(&client, record, desired, &history, keep, waits).await
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
/// Namespaces and CRDs are left and said. When a deletion fails, the
/// records stay and a rerun tries again.
pub fn uninstall_cluster(kubeconfig: &Path, name: &str) -> Result<Uninstalled> {
    runtime()?.block_on(async {
        let client = cluster::client(kubeconfig).await?;
        let history = release::list(&client, name).await?;
        let Some(latest) = history.last() else {
            bail!("{name} is not installed in this cluster (no record in namespace {})", release::NAMESPACE)
        };
        let mut report = ClusterReport::default();
        delete_dropped(&client, latest, &[], &mut report).await;
        if report.failed.is_empty() {
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

/// Every recorded revision of `name` in the cluster, oldest first.
pub fn cluster_history(kubeconfig: &Path, name: &str) -> Result<Vec<Release>> {
    runtime()?.block_on(async {
        let client = cluster::client(kubeconfig).await?;
        Ok(release::list(&client, name).await?)
    })
}

/// What the new revision's record says about itself.
struct Record<'a> {
    name: &'a str,
    version: &'a str,
    digest: &'a str,
    revision: u32,
    action: String,
    /// The chart hook events run before and after the objects are applied.
    hook_events: Option<(&'static str, &'static str)>,
}

/// How long chart hooks may take, and whether and how long to wait for
/// the workloads afterwards.
struct Waits {
    hooks: Duration,
    ready: Option<Duration>,
}

/// The same object whatever its API version (`policy/v1beta1` and
/// `policy/v1` name one PodDisruptionBudget).
fn same_object(a: &ResourceRef, b: &ResourceRef) -> bool {
    let group = |r: &ResourceRef| r.api_version.rsplit_once('/').map(|(g, _)| g.to_string()).unwrap_or_default();
    a.kind == b.kind && a.name == b.name && a.namespace == b.namespace && group(a) == group(b)
}

fn records_namespace() -> DesiredObject {
    DesiredObject {
        body: serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": release::NAMESPACE}}),
        default_namespace: None,
        origin: "airlock's release records".into(),
    }
}

/// What `converge` would do, checked by the API server object by object
/// (server-side dry run), changing nothing: no hook runs, nothing is
/// deleted or recorded. Objects of kinds that only the bundle's own CRDs
/// define cannot be checked before those CRDs exist, and are listed.
async fn dry_run(
    client: &kube::Client,
    record: Record<'_>,
    desired: Desired,
    history: &[Release],
) -> Result<ClusterReport> {
    let mut applier = Applier::new(client.clone(), true);
    applier.apply(&records_namespace()).await?;
    let bundled_kinds: Vec<(String, String)> = desired
        .first
        .iter()
        .filter(|o| o.is_crd())
        .map(|crd| {
            let text =
                |path: &str| crd.body.pointer(path).and_then(serde_json::Value::as_str).unwrap_or_default().to_string();
            (text("/spec/group"), text("/spec/names/kind"))
        })
        .collect();
    let mut report = ClusterReport {
        name: record.name.into(),
        version: record.version.into(),
        revision: record.revision,
        hooks_left_out: desired.hooks_left_out,
        foreign_images: desired.foreign_images,
        dry_run: true,
        ..ClusterReport::default()
    };
    // Namespaces this bundle makes that are not there yet: what goes in
    // them cannot be checked before they exist.
    let mut new_namespaces = Vec::new();
    for namespace in desired.first.iter().filter(|o| o.kind() == "Namespace") {
        let (_, resource) = applier.resolve(namespace).await?;
        if applier.get(&resource).await?.is_none() {
            new_namespaces.push(namespace.name().to_string());
        }
    }
    for object in desired.first.iter().chain(&desired.then) {
        let bundled_kind = bundled_kinds.iter().any(|(group, kind)| {
            object.kind() == kind && object.api_version().rsplit_once('/').is_some_and(|(g, _)| g == group)
        });
        let resource = match applier.resolve(object).await {
            Ok((_, resource)) => resource,
            Err(cluster::ClusterError::UnknownKind { .. }) if bundled_kind => {
                report.unchecked.push(format!("{}: its CRD is in this bundle", object.describe()));
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        match &resource.namespace {
            Some(ns) if new_namespaces.contains(ns) => {
                report.unchecked.push(format!("{}: its namespace {ns} is made by this bundle", object.describe()))
            }
            _ => report.applied.push(applier.apply(object).await?),
        }
    }
    if let Some((pre, post)) = record.hook_events {
        for event in [pre, post] {
            let hooks = desired.hooks.iter().filter(|h| h.events.iter().any(|e| e == event));
            report.hooks_run.extend(hooks.map(|h| format!("{event} {}", h.object.describe())));
        }
    }
    if let Some(previous) = history.last() {
        for resource in dropped(previous, &report.applied).cloned().collect::<Vec<_>>() {
            let list = if cascades(&resource) { &mut report.left } else { &mut report.deleted };
            list.push(resource);
        }
    }
    Ok(report)
}

/// What `previous` had (or failed to delete) that is not among `applied`,
/// in reverse of the order it was applied, as Helm uninstalls: users
/// before what they use.
fn dropped<'a>(previous: &'a Release, applied: &'a [ResourceRef]) -> impl Iterator<Item = &'a ResourceRef> {
    previous
        .pending
        .iter()
        .chain(previous.objects.iter().rev().map(|o| &o.resource))
        .filter(|old| !applied.iter().any(|new| same_object(old, new)))
}

/// Deletes what `previous` had that is not among `applied`; Namespaces and
/// CRDs are left, and said.
async fn delete_dropped(
    client: &kube::Client,
    previous: &Release,
    applied: &[ResourceRef],
    report: &mut ClusterReport,
) {
    for resource in dropped(previous, applied) {
        if cascades(resource) {
            report.left.push(resource.clone());
            continue;
        }
        match cluster::delete(client, resource).await {
            Deletion::Deleted | Deletion::Absent => report.deleted.push(resource.clone()),
            Deletion::Failed(why) => report.failed.push((resource.clone(), why)),
        }
    }
}

/// Applies `desired`, deletes what the newest recorded revision had (or
/// failed to delete) that `desired` drops, records the revision, then
/// waits for the workloads when asked to.
async fn converge(
    client: &kube::Client,
    record: Record<'_>,
    desired: Desired,
    history: &[Release],
    keep: usize,
    waits: Waits,
) -> Result<ClusterReport> {
    let revision = record.revision;
    let mut release = Release {
        name: record.name.into(),
        version: record.version.into(),
        revision,
        action: record.action,
        manifest_digest: record.digest.into(),
        time: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        objects: desired
            .all()
            .map(|o| AppliedObject {
                resource: ResourceRef {
                    api_version: o.api_version().into(),
                    kind: o.kind().into(),
                    namespace: o.namespace().map(str::to_string),
                    name: o.name().into(),
                },
                body: o.body.clone(),
            })
            .collect(),
        pending: Vec::new(),
        hooks: desired.hooks.clone(),
    };
    // A record too large for a Secret fails here, before anything is applied.
    release.check_size()?;
    let mut applier = Applier::new(client.clone(), false);
    applier.apply(&records_namespace()).await?;
    let total = desired.first.len() + desired.then.len();
    let stopped = |done: usize| {
        let (name, version) = (&release.name, &release.version);
        move || {
            format!("{name} {version} stopped after {done} of {total} objects; no revision was recorded, so rerunning after the fix completes it")
        }
    };
    let mut applied = Vec::new();
    for object in &desired.first {
        applied.push(applier.apply(object).await.with_context(stopped(applied.len()))?);
    }
    let crds: Vec<String> = desired.first.iter().filter(|o| o.is_crd()).map(|o| o.name().to_string()).collect();
    applier.wait_established(&crds, CRD_WAIT).await.with_context(stopped(applied.len()))?;
    let mut hooks_run = Vec::new();
    if let Some((pre, _)) = record.hook_events {
        hooks_run =
            hooks::run(&mut applier, &desired.hooks, pre, waits.hooks).await.with_context(stopped(applied.len()))?;
    }
    for object in &desired.then {
        applied.push(applier.apply(object).await.with_context(stopped(applied.len()))?);
    }
    if let Some((_, post)) = record.hook_events {
        let ran =
            hooks::run(&mut applier, &desired.hooks, post, waits.hooks).await.with_context(stopped(applied.len()))?;
        hooks_run.extend(ran);
    }
    for (object, resource) in release.objects.iter_mut().zip(&applied) {
        if let Some(ns) = &resource.namespace {
            object.body["metadata"]["namespace"] = serde_json::Value::String(ns.clone());
        }
        object.resource = resource.clone();
    }

    let mut report = ClusterReport {
        name: release.name.clone(),
        version: release.version.clone(),
        revision,
        hooks_run,
        hooks_left_out: desired.hooks_left_out,
        foreign_images: desired.foreign_images,
        ..ClusterReport::default()
    };
    if let Some(previous) = history.last() {
        delete_dropped(client, previous, &applied, &mut report).await;
    }
    release.pending = report.failed.iter().map(|(r, _)| r.clone()).collect();
    release::write(client, &release).await?;
    let mut all: Vec<Release> = history.iter().filter(|r| r.revision != revision).cloned().collect();
    all.push(release);
    release::trim(client, &all, keep).await;
    if let Some(timeout) = waits.ready {
        report.not_ready = ready::wait_ready(&mut applier, &applied, timeout).await.err();
    }
    report.applied = applied;
    Ok(report)
}
