//! The engine under install, upgrade, rollback and uninstall into a
//! cluster: apply a set of objects in order (Namespaces and CRDs, pre hooks,
//! the rest, post hooks), delete what the previous revision had and this one
//! drops, record the revision, wait if asked; or say all that as a dry run.

use super::waits::wait_terminated;
use super::ClusterReport;
use crate::destination::cluster::apply::Applier;
use crate::destination::cluster::objects::{Desired, DesiredObject};
use crate::destination::cluster::release::{self, AppliedObject, Release};
use crate::destination::cluster::{self, hooks, ready, webhooks, Deletion};
use crate::destination::kube::{cascades, ResourceRef};
use anyhow::Result;
use std::time::Duration;

/// Hears each step as it is done: what (`Applied`, `Ran`, `Deleted`,
/// `Waiting`, or `Would ...` in a dry run), and on what.
pub type Progress<'a> = &'a dyn Fn(&str, &str);

/// How long a CRD may take to be served before its users are applied.
const CRD_WAIT: Duration = Duration::from_secs(60);

/// What the new revision's record says about itself.
pub(super) struct Record<'a> {
    pub(super) name: &'a str,
    pub(super) version: &'a str,
    pub(super) digest: &'a str,
    pub(super) revision: u32,
    pub(super) action: String,
    /// The chart hook events run before and after the objects are applied.
    pub(super) hook_events: Option<(&'static str, &'static str)>,
}

/// How long chart hooks may take, and whether and how long to wait for
/// the workloads afterwards.
pub(super) struct Waits {
    pub(super) hooks: Duration,
    pub(super) ready: Option<Duration>,
}

/// The same object whatever its API version (`policy/v1beta1` and
/// `policy/v1` name one PodDisruptionBudget).
pub(super) fn same_object(a: &ResourceRef, b: &ResourceRef) -> bool {
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
/// define, or in namespaces that only the bundle makes, cannot be checked
/// before those exist, and are listed.
pub(super) async fn dry_run(
    applier: Applier,
    record: Record<'_>,
    desired: Desired,
    history: &[Release],
    progress: Progress<'_>,
) -> Result<ClusterReport> {
    let mut applier = applier.dry_run(true);
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
        images_in_arguments: desired.images_in_arguments,
        images_in_fields: desired.images_in_fields,
        without_pull_secret: desired.without_pull_secret,
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
            _ => {
                let resource = applier.apply(object).await?;
                progress("Would apply", &resource.to_string());
                report.applied.push(resource);
            }
        }
    }
    if let Some((pre, post)) = record.hook_events {
        for event in [pre, post] {
            for hook in desired.hooks.iter().filter(|h| h.events.iter().any(|e| e == event)) {
                let line = format!("{event} {}", hook.object.describe());
                progress("Would run", &format!("hook {line}"));
                report.hooks_run.push(line);
            }
        }
    }
    if let Some(previous) = history.last() {
        for resource in dropped(previous, &report.applied).cloned().collect::<Vec<_>>() {
            if cascades(&resource) {
                report.left.push(resource);
            } else {
                progress("Would delete", &resource.to_string());
                report.deleted.push(resource);
            }
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
pub(super) async fn delete_dropped(
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
pub(super) async fn converge(
    applier: Applier,
    record: Record<'_>,
    desired: Desired,
    history: &[Release],
    keep: usize,
    waits: Waits,
    progress: Progress<'_>,
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
        failed: None,
    };
    // A record too large for a Secret fails here, before anything is applied.
    release.check_size()?;
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
            Err(e) => return Err(stopped(&mut applier, release, &desired, history, &applied, e).await),
        };
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
        images_in_arguments: desired.images_in_arguments,
        images_in_fields: desired.images_in_fields,
        without_pull_secret: desired.without_pull_secret,
        ..ClusterReport::default()
    };
    if let Some(previous) = history.last() {
        delete_dropped(&mut applier, previous, &applied, &mut report, progress).await;
    }
    release.pending = report.failed.iter().map(|(r, _)| r.clone()).collect();
    let client = applier.client().clone();
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
) -> Result<Vec<String>, cluster::ClusterError> {
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
    cause: cluster::ClusterError,
) -> anyhow::Error {
    let (name, version) = (release.name.clone(), release.version.clone());
    let (done, total) = (applied.len(), desired.first.len() + desired.then.len());
    let cause = anyhow::Error::from(cause);
    let installed_before = history.iter().any(|r| r.failed.is_none());
    if installed_before || applied.is_empty() {
        return cause.context(format!(
            "{name} {version} stopped after {done} of {total} objects; no revision was recorded, so rerunning after the fix completes it"
        ));
    }
    release.failed = Some(format!("{cause:#}"));
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
        Ok(()) => cause.context(format!(
            "{name} {version} stopped after {done} of {total} objects; revision {} is recorded as failed, so rerunning the install after the fix completes it, and `airlock uninstall {name}` removes what was applied",
            release.revision
        )),
        Err(e) => cause.context(format!(
            "{name} {version} stopped after {done} of {total} objects, and its record could not be written either ({e}); these objects are in the cluster, marked as {name}'s: {}",
            applied.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
        )),
    }
}
