//! The engine under install, upgrade, rollback and uninstall into a
//! cluster: apply a set of objects in order (Namespaces and CRDs, pre hooks,
//! the rest, post hooks), delete what the previous revision had and this one
//! drops, record the revision, wait if asked. It never opens a bundle: it
//! is given the objects, rendered.

use super::apply::Applier;
use super::helm::{self, HelmRef};
use super::lifecycle::ClusterReport;
use super::objects::{Desired, DesiredObject};
use super::release::{self, AppliedObject, Release};
use super::waits::wait_terminated;
use super::{hooks, ready, webhooks, ClusterError, Deletion};
use crate::destination::kube::{cascades, ResourceRef};
use std::time::Duration;

/// Hears each step as it is done: what (`Applied`, `Ran`, `Deleted`,
/// `Waiting`, or `Would ...` in a dry run), and on what.
pub type Progress<'a> = &'a dyn Fn(&str, &str);

/// How long a CRD may take to be served before its users are applied.
const CRD_WAIT: Duration = Duration::from_secs(60);

/// What the new revision's record says about itself.
pub(crate) struct Record<'a> {
    pub(crate) name: &'a str,
    pub(crate) version: &'a str,
    pub(crate) digest: &'a str,
    pub(crate) revision: u32,
    pub(crate) action: String,
    /// The chart hook events run before and after the objects are applied.
    pub(crate) hook_events: Option<(&'static str, &'static str)>,
    /// A run that stops part-way is recorded as a failed revision even
    /// over an installed one (for the rollback that follows to know what
    /// it applied); else only a first install is.
    pub(crate) record_failure: bool,
}

/// How long chart hooks may take, and whether and how long to wait for
/// the workloads afterwards.
pub struct Waits {
    pub hooks: Duration,
    pub ready: Option<Duration>,
}

/// The same object whatever its API version (`policy/v1beta1` and
/// `policy/v1` name one PodDisruptionBudget).
pub(crate) fn same_object(a: &ResourceRef, b: &ResourceRef) -> bool {
    let group = |r: &ResourceRef| r.api_version.rsplit_once('/').map(|(g, _)| g.to_string()).unwrap_or_default();
    a.kind == b.kind && a.name == b.name && a.namespace == b.namespace && group(a) == group(b)
}

pub(crate) fn records_namespace() -> DesiredObject {
    DesiredObject {
        body: serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": release::NAMESPACE}}),
        default_namespace: None,
        origin: "airlock's release records".into(),
    }
}

/// What `previous` had (or failed to delete) that is not among `applied`,
/// in reverse of the order it was applied, as Helm uninstalls: users
/// before what they use.
pub(crate) fn dropped<'a>(previous: &'a Release, applied: &'a [ResourceRef]) -> impl Iterator<Item = &'a ResourceRef> {
    previous
        .pending
        .iter()
        .chain(previous.objects.iter().rev().map(|o| &o.resource))
        .filter(|old| !applied.iter().any(|new| same_object(old, new)))
}

/// Deletes what `previous` had that is not among `applied`; Namespaces and
/// CRDs are left, and said.
pub(crate) async fn delete_dropped(
    applier: &mut Applier,
    previous: &Release,
    applied: &[ResourceRef],
    report: &mut ClusterReport,
    progress: Progress<'_>,
) {
    for resource in dropped(previous, applied) {
        if cascades(resource) {
            report.left.push(resource.clone());
            continue;
        }
        match applier.delete(resource).await {
            Deletion::Deleted | Deletion::Absent => {
                progress("Deleted", &resource.to_string());
                report.deleted.push(resource.clone())
            }
            Deletion::Failed(why) => report.failed.push((resource.clone(), why)),
        }
    }
}

/// Applies `desired`, deletes what the newest recorded revision had (or
/// failed to delete) that `desired` drops, records the revision, then
/// waits for the workloads when asked to.
pub(crate) async fn converge(
    applier: Applier,
    record: Record<'_>,
    desired: Desired,
    history: &[Release],
    keep: usize,
    waits: Waits,
    progress: Progress<'_>,
) -> Result<ClusterReport, ClusterError> {
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
        failed: None,
        helm: Vec::new(),
    };
    // A record too large for a Secret fails here, before anything is applied.
    release.check_size()?;
    for chart in &desired.helm {
        helm::check_size(chart)?;
    }
    let webhooks = webhooks::of_bundle(desired.all());
    let mut applier = applier.dry_run(false).patient(webhooks, waits.hooks);
    if let Some(previous) = history.last().filter(|p| p.failed.is_none()) {
        let same: Vec<&DesiredObject> = desired
            .first
            .iter()
            .filter(|o| {
                o.is_crd()
                    && previous
                        .objects
                        .iter()
                        .any(|p| p.resource.kind == o.kind() && p.resource.name == o.name() && p.body == o.body)
            })
            .collect();
        applier.skip_unchanged_crds(&same).await?;
    }
    applier.apply(&records_namespace()).await?;
    let mut applied = Vec::new();
    let hooks_run =
        match apply_in_order(&mut applier, &desired, record.hook_events, waits.hooks, &mut applied, progress).await {
            Ok(hooks_run) => hooks_run,
            Err(e) => {
                return Err(stopped(&mut applier, release, &desired, history, &applied, e, record.record_failure).await)
            }
        };
    for (object, resource) in release.objects.iter_mut().zip(&applied) {
        if let Some(ns) = &resource.namespace {
            object.body["metadata"]["namespace"] = serde_json::Value::String(ns.clone());
        }
        object.resource = resource.clone();
    }

    let client = applier.client().clone();
    let last_good = history.iter().rev().find(|r| r.failed.is_none());
    release.helm = record_helm_releases(&client, &desired, &release.action, last_good).await?;
    let mut report = ClusterReport {
        name: release.name.clone(),
        version: release.version.clone(),
        revision,
        hooks_run,
        hooks_left_out: desired.hooks_left_out,
        foreign_images: desired.foreign_images,
        images_in_arguments: desired.images_in_arguments,
        images_in_fields: desired.images_in_fields,
        without_pull_secret: desired.without_pull_secret,
        ..ClusterReport::default()
    };
    if let Some(previous) = history.last() {
        delete_dropped(&mut applier, previous, &applied, &mut report, progress).await;
    }
    release.pending = report.failed.iter().map(|(r, _)| r.clone()).collect();
    release::write(&client, &release).await?;
    let mut all: Vec<Release> = history.iter().filter(|r| r.revision != revision).cloned().collect();
    all.push(release);
    release::trim(&client, &all, keep).await;
    if let Some(timeout) = waits.ready {
        progress("Waiting", &format!("up to {} s for the workloads to be ready", timeout.as_secs()));
        report.not_ready = ready::wait_ready(&mut applier, &applied, timeout).await.err();
    }
    report.applied = applied;
    Ok(report)
}

/// Records each chart applied as the new deployed revision of its Helm
/// release (a rollback: the revision it returns to, again), and deletes
/// the Helm releases of charts the previous revision had and this one
/// drops. Returns what the new record points at.
async fn record_helm_releases(
    client: &kube::Client,
    desired: &Desired,
    action: &str,
    previous: Option<&Release>,
) -> Result<Vec<HelmRef>, ClusterError> {
    let written = if action == "install" { helm::Written::Install } else { helm::Written::Upgrade };
    let mut recorded = Vec::new();
    for chart in &desired.helm {
        recorded.push(helm::record(client, chart, written).await?);
    }
    for target in &desired.helm_rollback {
        recorded.extend(helm::roll_back(client, target).await?);
    }
    let kept = |old: &HelmRef| recorded.iter().any(|new| new.name == old.name && new.namespace == old.namespace);
    for dropped in previous.iter().flat_map(|p| &p.helm).filter(|old| !kept(old)) {
        helm::remove(client, dropped).await?;
    }
    Ok(recorded)
}

/// Namespaces and CRDs (then waits for the CRDs), the pre hooks, the rest,
/// the post hooks: returns the hooks run; `applied` hears of each object as
/// it lands, so a failure knows what is already in the cluster.
async fn apply_in_order(
    applier: &mut Applier,
    desired: &Desired,
    hook_events: Option<(&str, &str)>,
    hooks_timeout: Duration,
    applied: &mut Vec<ResourceRef>,
    progress: Progress<'_>,
) -> Result<Vec<String>, ClusterError> {
    wait_terminated(applier, &desired.first, hooks_timeout, progress).await?;
    let mut on_applied = |resource: &ResourceRef| {
        progress("Applied", &resource.to_string());
        applied.push(resource.clone());
    };
    applier.apply_all(&desired.first, &mut on_applied).await.map_err(|(_, e)| e)?;
    let crds: Vec<String> = desired.first.iter().filter(|o| o.is_crd()).map(|o| o.name().to_string()).collect();
    if !crds.is_empty() {
        progress("Waiting", &format!("for {} CRDs to be established", crds.len()));
    }
    applier.wait_established(&crds, CRD_WAIT).await?;
    let ran = |line: &str| progress("Ran", &format!("hook {line}"));
    let mut hooks_run = Vec::new();
    if let Some((pre, _)) = hook_events {
        hooks_run = hooks::run(applier, &desired.hooks, pre, hooks_timeout, &ran).await?;
    }
    applier.apply_all(&desired.then, &mut on_applied).await.map_err(|(_, e)| e)?;
    if let Some((_, post)) = hook_events {
        hooks_run.extend(hooks::run(applier, &desired.hooks, post, hooks_timeout, &ran).await?);
    }
    Ok(hooks_run)
}

/// The error of a run that stopped after applying `applied` of `total`
/// objects. A first install that applied some records itself as failed,
/// so that nothing it made is left unowned: `uninstall` can remove it, and
/// the same bundle again completes it. Later revisions record nothing: the
/// previous one still describes the release, and a rerun converges.
async fn stopped(
    applier: &mut Applier,
    mut release: Release,
    desired: &Desired,
    history: &[Release],
    applied: &[ResourceRef],
    cause: ClusterError,
    record_failure: bool,
) -> ClusterError {
    let (name, version) = (release.name.clone(), release.version.clone());
    let (done, total) = (applied.len(), desired.first.len() + desired.then.len());
    let installed_before = history.iter().any(|r| r.failed.is_none());
    if (installed_before && !record_failure) || applied.is_empty() {
        return cause.stopped(format!(
            "{name} {version} stopped after {done} of {total} objects; no revision was recorded, so rerunning after the fix completes it"
        ));
    }
    release.failed = Some(cause.to_string());
    // `applied` is the start of `desired.all()`, in order; the rest is
    // recorded where it would land (a kind not served keeps its body's).
    for (index, (object, wanted)) in release.objects.iter_mut().zip(desired.all()).enumerate() {
        match applied.get(index) {
            Some(landed) => object.resource = landed.clone(),
            None => {
                if let Ok((_, target)) = applier.resolve(wanted).await {
                    object.resource = target;
                }
            }
        }
    }
    // What an earlier failed attempt made and this one does not declare
    // stays the release's to delete.
    if let Some(previous) = history.last() {
        release.pending = previous
            .pending
            .iter()
            .chain(previous.objects.iter().map(|o| &o.resource))
            .filter(|old| !release.objects.iter().any(|o| same_object(&o.resource, old)))
            .cloned()
            .collect();
    }
    match release::write(applier.client(), &release).await {
        // What follows (going back) says what to do.
        Ok(()) if record_failure => cause.stopped(format!(
            "{name} {version} stopped after {done} of {total} objects; revision {} is recorded as failed",
            release.revision
        )),
        Ok(()) => cause.stopped(format!(
            "{name} {version} stopped after {done} of {total} objects; revision {} is recorded as failed, so rerunning the install after the fix completes it, and `airlock uninstall {name}` removes what was applied",
            release.revision
        )),
        Err(e) => cause.stopped(format!(
            "{name} {version} stopped after {done} of {total} objects, and its record could not be written either ({}); these objects are in the cluster, marked as {name}'s: {}",
            crate::oci::registry::error_chain(&e),
            applied.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
        )),
    }
}
