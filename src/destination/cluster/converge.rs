//! The engine under install, upgrade, rollback and uninstall into a
//! cluster: apply a set of objects in order (Namespaces and CRDs; then each
//! chart's Helm revision written pending, and for a run that goes back on
//! failure its record written unfinished; pre hooks, the rest, post hooks),
//! delete what the previous revision had and this one drops (and what the
//! charts' deployed Helm revisions had), record the revision and the Helm
//! revisions deployed, wait if asked (before recording, for a run that goes
//! back). It never opens a bundle: it is given the objects, rendered.

use super::apply::Applier;
use super::helm::{self, HelmRef};
use super::hooks::{self, HookRun};
use super::lifecycle::ClusterReport;
use super::objects::{Desired, DesiredObject};
use super::release::{self, AppliedObject, Release, Unfinished};
use super::waits::wait_terminated;
use super::{ownership, ready, webhooks, ClusterError, Deletion};
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
    /// Where a run that fails goes back to (a run that goes back on
    /// failure): the revision is recorded, `unfinished`, before anything
    /// is applied, so a run that stops without a word (killed, or the API
    /// server gone) is finished by the next; a failure, and workloads not
    /// ready in time, fail the run. Without it, a run that stops part-way
    /// records nothing over an installed revision (a first install
    /// records itself failed).
    pub(crate) go_back: Option<Unfinished>,
    /// Revisions kept of each chart's Helm release (0: all).
    pub(crate) history_max: usize,
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
/// CRDs are left, and said. A failed or unfinished revision lists what it
/// meant to apply, some of which it never did: those objects are deleted
/// only while they are still the bundle's (another may have made one
/// since).
pub(crate) async fn delete_dropped(
    applier: &mut Applier,
    previous: &Release,
    applied: &[ResourceRef],
    report: &mut ClusterReport,
    progress: Progress<'_>,
) {
    let guard = match previous.is_good() {
        true => Guard::None,
        false => Guard::Bundle(&previous.name),
    };
    delete_each(applier, dropped(previous, applied), guard, report, progress).await
}

/// Whose an object must still be for it to be deleted.
#[derive(Clone, Copy)]
enum Guard<'a> {
    None,
    /// Marked as this bundle's.
    Bundle(&'a str),
    /// Marked as this Helm release's (name, namespace), not another
    /// bundle's, and not kept by `helm.sh/resource-policy: keep`.
    HelmRelease(&'a str, &'a str, &'a str),
}

impl Guard<'_> {
    /// Whether `live` (None: not there) may be deleted.
    fn allows(self, live: Option<&serde_json::Value>) -> bool {
        let Some(live) = live else { return true };
        let annotation = |key: &str| live["metadata"]["annotations"][key].as_str();
        match self {
            Guard::None => true,
            Guard::Bundle(bundle) => annotation(ownership::ANNOTATION) == Some(bundle),
            Guard::HelmRelease(name, namespace, bundle) => {
                annotation("meta.helm.sh/release-name") == Some(name)
                    && annotation("meta.helm.sh/release-namespace") == Some(namespace)
                    && annotation(ownership::ANNOTATION).is_none_or(|owner| owner == bundle)
                    && annotation("helm.sh/resource-policy") != Some("keep")
            }
        }
    }
}

/// Deletes each of `resources` that `guard` allows, once; Namespaces and
/// CRDs are left, and said.
async fn delete_each(
    applier: &mut Applier,
    resources: impl Iterator<Item = &ResourceRef>,
    guard: Guard<'_>,
    report: &mut ClusterReport,
    progress: Progress<'_>,
) {
    for resource in resources {
        let done = |r: &ResourceRef| same_object(r, resource);
        if report.left.iter().chain(&report.deleted).any(done) || report.failed.iter().any(|(r, _)| done(r)) {
            continue;
        }
        if cascades(resource) {
            report.left.push(resource.clone());
            continue;
        }
        if !matches!(guard, Guard::None) {
            match applier.get(resource).await {
                Ok(live) if guard.allows(live.as_ref()) => {}
                // Another's now (or unreadable): not this run's to delete.
                _ => continue,
            }
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
        unfinished: None,
        site_values: desired.site_values.clone(),
        environment: desired.environment.clone(),
        secret_values: desired.secret_values.clone(),
        values_secrets: desired.values_secrets.clone(),
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
    let client = applier.client().clone();
    // What the charts' deployed Helm revisions have, which another tool
    // (`helm upgrade`) may have written: dropped, it goes as Helm drops it.
    // Not when going back: what was there before the failed run stays.
    let mut made_by_helm = Vec::new();
    let recorded = history.last().map(|r| r.helm.as_slice()).unwrap_or_default();
    for chart in &desired.helm {
        let known = recorded.iter().find(|h| h.name == chart.name && h.namespace == chart.namespace);
        let objects = helm::deployed_objects(&client, &chart.namespace, &chart.name, known.map(|h| h.revision)).await;
        for object in objects {
            // Where it is (a kind no longer served has nothing left).
            if let Ok((_, resource)) = applier.resolve(&object).await {
                made_by_helm.push((resource, chart));
            }
        }
    }
    let goes_back = record.go_back.is_some();
    let mut applied = Vec::new();
    if let Err(e) = apply_first(&mut applier, &desired, waits.hooks, &mut applied, progress).await {
        return Err(
            stopped(&mut applier, release, &desired, history, &applied, Stop::before_changes(goes_back), e).await
        );
    }
    // Helm's pending revisions (in namespaces that now exist), and the
    // unfinished record of a run that goes back on failure, before the
    // first object that Namespaces and CRDs do not take along is applied.
    if let Err(e) = begin_helm_releases(&client, &desired, &mut release.helm).await {
        return Err(
            stopped(&mut applier, release, &desired, history, &applied, Stop::before_changes(goes_back), e).await
        );
    }
    let begun = release.helm.clone();
    if let Some(go_back) = record.go_back {
        release.unfinished = Some(go_back);
        account_for(&mut applier, &mut release, &desired, history, &applied).await;
        if let Err(e) = release::write(&client, &release).await {
            return Err(stopped(
                &mut applier,
                release,
                &desired,
                history,
                &applied,
                Stop::before_changes(goes_back),
                e,
            )
            .await);
        }
    }
    let hooks_run =
        match apply_rest(&mut applier, &desired, record.hook_events, waits.hooks, &mut applied, progress).await {
            Ok(hooks_run) => hooks_run,
            Err(e) => {
                // A pre hook that ran may have changed what it serves.
                let pre_hooks = record
                    .hook_events
                    .is_some_and(|(pre, _)| desired.hooks.iter().any(|h| h.events.iter().any(|event| event == pre)));
                let changed = pre_hooks || applied.len() > desired.first.len();
                let stop = Stop { goes_back, changed };
                return Err(stopped(&mut applier, release, &desired, history, &applied, stop, e).await);
            }
        };
    for (object, resource) in release.objects.iter_mut().zip(&applied) {
        if let Some(ns) = &resource.namespace {
            object.body["metadata"]["namespace"] = serde_json::Value::String(ns.clone());
        }
        object.resource = resource.clone();
    }
    // A run that goes back on failure counts workloads not ready in time
    // as a failure, so it waits before it ends its revision; others wait
    // after.
    if let Some(timeout) = waits.ready.filter(|_| goes_back) {
        progress("Waiting", &format!("up to {} s for the workloads to be ready", timeout.as_secs()));
        if let Err(e) = ready::wait_ready(&mut applier, &applied, timeout).await {
            return Err(stopped(&mut applier, release, &desired, history, &applied, Stop::changed(goes_back), e).await);
        }
    }
    if let Err(e) = finish_helm_releases(&client, &begun, &hooks_run, record.history_max).await {
        return Err(stopped(&mut applier, release, &desired, history, &applied, Stop::changed(goes_back), e).await);
    }

    let mut report = ClusterReport {
        name: release.name.clone(),
        version: release.version.clone(),
        revision,
        hooks_run: hooks::lines(hooks_run),
        hooks_left_out: desired.hooks_left_out.clone(),
        foreign_images: desired.foreign_images.clone(),
        images_in_arguments: desired.images_in_arguments,
        images_in_fields: desired.images_in_fields.clone(),
        without_pull_secret: desired.without_pull_secret.clone(),
        ..ClusterReport::default()
    };
    if let Some(previous) = history.last() {
        delete_dropped(&mut applier, previous, &applied, &mut report, progress).await;
    }
    for (resource, chart) in made_by_helm.iter().filter(|(old, _)| !applied.iter().any(|new| same_object(old, new))) {
        let guard = Guard::HelmRelease(&chart.name, &chart.namespace, &release.name);
        delete_each(&mut applier, std::iter::once(resource), guard, &mut report, progress).await;
    }
    release.pending = report.failed.iter().map(|(r, _)| r.clone()).collect();
    release.unfinished = None;
    release::write(&client, &release).await?;
    // Only once the record no longer points at them.
    remove_dropped_helm_releases(&client, &desired, history).await?;
    let mut all: Vec<Release> = history.iter().filter(|r| r.revision != revision).cloned().collect();
    all.push(release);
    release::trim(&client, &all, keep).await;
    if let Some(timeout) = waits.ready.filter(|_| !goes_back) {
        progress("Waiting", &format!("up to {} s for the workloads to be ready", timeout.as_secs()));
        report.not_ready = ready::wait_ready(&mut applier, &applied, timeout).await.err();
    }
    report.applied = applied;
    Ok(report)
}

/// Writes each chart's next Helm revision, pending (a rollback: the
/// revision it returns to, again, where Helm still has it), each into
/// `begun` as it is written.
async fn begin_helm_releases(
    client: &kube::Client,
    desired: &Desired,
    begun: &mut Vec<HelmRef>,
) -> Result<(), ClusterError> {
    for chart in &desired.helm {
        begun.push(helm::begin(client, chart).await?);
    }
    for target in &desired.helm_rollback {
        begun.extend(helm::begin_rollback(client, target).await?);
    }
    Ok(())
}

/// Marks the run's pending Helm revisions deployed.
async fn finish_helm_releases(
    client: &kube::Client,
    begun: &[HelmRef],
    hooks_run: &[HookRun],
    history_max: usize,
) -> Result<(), ClusterError> {
    for pending in begun {
        helm::finish(client, pending, hooks_run, history_max).await?;
    }
    Ok(())
}

/// Deletes the Helm releases of charts that the newest record, or the
/// last good one, had and this run drops (a chart that only a failed
/// revision added goes when the release returns from it).
async fn remove_dropped_helm_releases(
    client: &kube::Client,
    desired: &Desired,
    history: &[Release],
) -> Result<(), ClusterError> {
    let kept = |old: &HelmRef| {
        let same = |name: &str, namespace: &str| old.name == name && old.namespace == namespace;
        desired.helm.iter().any(|c| same(&c.name, &c.namespace))
            || desired.helm_rollback.iter().any(|t| same(&t.name, &t.namespace))
    };
    let last_good = history.iter().rev().find(|r| r.is_good());
    let mut dropped: Vec<&HelmRef> = Vec::new();
    for old in history.last().into_iter().chain(last_good).flat_map(|r| &r.helm).filter(|old| !kept(old)) {
        if !dropped.iter().any(|d| d.name == old.name && d.namespace == old.namespace) {
            dropped.push(old);
        }
    }
    for release in dropped {
        helm::remove(client, release).await?;
    }
    Ok(())
}

/// Namespaces and CRDs, then waits for the CRDs; `applied` hears of each
/// object as it lands, so a failure knows what is already in the cluster.
async fn apply_first(
    applier: &mut Applier,
    desired: &Desired,
    hooks_timeout: Duration,
    applied: &mut Vec<ResourceRef>,
    progress: Progress<'_>,
) -> Result<(), ClusterError> {
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
    applier.wait_established(&crds, CRD_WAIT).await
}

/// The pre hooks, the rest, the post hooks: returns the hooks run;
/// `applied` hears of each object as it lands.
async fn apply_rest(
    applier: &mut Applier,
    desired: &Desired,
    hook_events: Option<(&str, &str)>,
    hooks_timeout: Duration,
    applied: &mut Vec<ResourceRef>,
    progress: Progress<'_>,
) -> Result<Vec<HookRun>, ClusterError> {
    let mut on_applied = |resource: &ResourceRef| {
        progress("Applied", &resource.to_string());
        applied.push(resource.clone());
    };
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

/// How a run stopped: whether it goes back on failure, and whether it
/// changed anything going back would undo (beyond Namespaces and CRDs).
#[derive(Clone, Copy)]
struct Stop {
    goes_back: bool,
    changed: bool,
}

impl Stop {
    fn before_changes(goes_back: bool) -> Stop {
        Stop { goes_back, changed: false }
    }

    fn changed(goes_back: bool) -> Stop {
        Stop { goes_back, changed: true }
    }
}

/// The error of a run that stopped after applying `applied` of `total`
/// objects. The Helm revisions it began, still pending, are marked failed,
/// as Helm marks them. A run that goes back on failure, or a first install
/// that applied some, records itself failed, with every object it meant
/// to apply, so that nothing it made is left unowned: going back, or
/// `uninstall`, removes it, and the same bundle again completes it. Over
/// an installed revision, a run that does not go back records nothing: the
/// previous one still describes the release, and a rerun converges. A run
/// that goes back but changed nothing going back would undo leaves
/// airlock's records as they were.
async fn stopped(
    applier: &mut Applier,
    mut release: Release,
    desired: &Desired,
    history: &[Release],
    applied: &[ResourceRef],
    stop: Stop,
    cause: ClusterError,
) -> ClusterError {
    let client = applier.client().clone();
    let why = root_cause(&cause);
    // Best effort: with the API server gone they stay pending, and the
    // next run marks them failed.
    for pending in &release.helm {
        let _ = helm::fail(&client, pending, &why).await;
    }
    let (name, version) = (release.name.clone(), release.version.clone());
    let (done, total) = (applied.len(), desired.first.len() + desired.then.len());
    let how_far = match done == total {
        true => format!("{name} {version} applied all {total} objects, then failed"),
        false => format!("{name} {version} stopped after {done} of {total} objects"),
    };
    let installed_before = history.iter().any(|r| r.failed.is_none());
    let unrecorded = match stop.goes_back {
        true => !stop.changed,
        false => applied.is_empty() || installed_before,
    };
    if unrecorded {
        if stop.goes_back {
            let _ = release::remove(&client, &release).await;
            // A release this run would have begun shows no failure of it.
            for first in release.helm.iter().filter(|h| h.revision == 1) {
                let _ = helm::remove(&client, first).await;
            }
        }
        return cause.stopped(format!("{how_far}; no revision was recorded, so rerunning after the fix completes it"));
    }
    release.failed = Some(why);
    account_for(applier, &mut release, desired, history, applied).await;
    let revision = release.revision;
    match release::write(&client, &release).await {
        // What follows (going back) says what to do.
        Ok(()) if stop.goes_back => cause.stopped(format!("{how_far}; revision {revision} is recorded as failed")),
        Ok(()) => cause.stopped(format!(
            "{how_far}; revision {revision} is recorded as failed, so rerunning the install after the fix completes it, and `airlock uninstall {name}` removes what was applied"
        )),
        Err(e) if stop.goes_back => cause.stopped(format!(
            "{how_far}, and its failure could not be recorded ({}); its record still says it is unfinished",
            crate::oci::registry::error_chain(&e),
        )),
        Err(e) => cause.stopped(format!(
            "{how_far}, and its record could not be written either ({}); these objects are in the cluster, marked as {name}'s: {}",
            crate::oci::registry::error_chain(&e),
            applied.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
        )),
    }
}

/// Says in `release` where each object it meant to apply is, or would
/// land (`applied` is the start of `desired.all()`, in order; a kind not
/// served keeps its body's), and keeps what an earlier failed attempt made
/// and this one does not declare as the release's to delete.
async fn account_for(
    applier: &mut Applier,
    release: &mut Release,
    desired: &Desired,
    history: &[Release],
    applied: &[ResourceRef],
) {
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
    if let Some(previous) = history.last() {
        release.pending = previous
            .pending
            .iter()
            .chain(previous.objects.iter().map(|o| &o.resource))
            .filter(|old| !release.objects.iter().any(|o| same_object(&o.resource, old)))
            .cloned()
            .collect();
    }
}

/// The innermost cause of a stopped run, for a record that says why.
pub(crate) fn root_cause(error: &ClusterError) -> String {
    match error {
        ClusterError::Stopped { cause, .. } => root_cause(cause),
        other => other.to_string(),
    }
}
