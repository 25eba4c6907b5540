//! The verbs of a bundle's release in a cluster, over the `converge`
//! engine: plan and install or upgrade a rendered bundle (going back to the
//! last good revision when it fails, unless told not to), finish going back
//! for a run that was cut short, roll back to a recorded revision,
//! uninstall, run the chart tests. Each takes a client and what to do, and
//! returns what was done; opening and checking the bundle, rendering it,
//! and holding the release's lease happen before and elsewhere.

use super::apply::Applier;
use super::converge::{converge, delete_dropped, same_object, Record};
use super::objects::{Desired, DesiredObject};
use super::release::{self, Release, Unfinished};
use super::waits::wait_gone;
use super::{dry_run, helm, hooks, ownership, ClusterError};
use crate::destination::kube::{Action, ResourceRef};
use std::time::Duration;

pub use super::converge::{Progress, Waits};

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
    /// The Secret that pods pull moved images with.
    pub pull_secret: String,
    /// With a wait: the workloads not ready in time (the revision is recorded).
    pub not_ready: Option<ClusterError>,
    /// Nothing was changed: `applied`, `deleted` and `hooks_run` say what would be.
    pub dry_run: bool,
    /// In a dry run: what applying each object would do to it, against
    /// the live cluster.
    pub changes: Vec<(ResourceRef, super::diff::Change)>,
    /// In a dry run: objects of kinds that only the bundle's own CRDs
    /// define, which the API server cannot check before they exist.
    pub unchecked: Vec<String>,
    /// Images the bundle carries for none of the platforms of some of the
    /// cluster's nodes: their pods cannot start there.
    pub platform_gaps: Vec<String>,
}

/// How an install or upgrade runs, beyond what it applies.
pub struct InstallRun<'a> {
    pub action: Action,
    pub name: &'a str,
    pub version: &'a str,
    /// The bundle's manifest digest: the same bundle again re-applies
    /// (mending drift) under the same revision.
    pub digest: &'a str,
    /// Revisions whose records are kept for rollback.
    pub keep: usize,
    /// Revisions kept of each chart's Helm release (0: all), as Helm's
    /// `--history-max`.
    pub history_max: usize,
    pub waits: Waits,
    /// Have the API server check every object, changing nothing.
    pub dry_run: bool,
    /// Take over objects that exist but that airlock did not make.
    pub adopt: bool,
    /// Take over fields that other field managers set (adopting does too).
    pub force_conflicts: bool,
    /// On a failure part-way, return to the last revision that did not fail
    /// (a first install: remove what it applied), as Helm's
    /// `--rollback-on-failure` does; else leave the cluster as it stopped.
    pub rollback_on_failure: bool,
}

/// Which revision an install or upgrade will be, found before the bundle
/// is rendered, since charts see their own (`.Release.Revision`,
/// `.IsUpgrade`).
pub struct Plan {
    history: Vec<Release>,
    revision: u32,
    action: String,
    pub render: Renders,
    /// The values the site gave the installed revision, keyed by chart.
    pub site_values: Option<serde_json::Value>,
    /// The bundle's environment the installed revision was installed with.
    pub environment: Option<String>,
    /// The Secrets the installed revision's site values were read from.
    pub values_secrets: Vec<String>,
}

/// What a chart learns of its release when it is rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RenderedAs {
    /// The chart's Helm release revision this run writes.
    pub revision: u32,
    /// `.Release.IsUpgrade`: the chart's release is installed (else
    /// `.Release.IsInstall`).
    pub is_upgrade: bool,
}

/// What each chart learns of its Helm release, by namespace and name, as
/// Helm renders `helm upgrade --install`: an upgrade of a release that is
/// installed (deployed or superseded revisions), with its next revision;
/// else an install, revision 1 or after the failed ones.
#[derive(Debug, Default)]
pub struct Renders {
    charts: std::collections::BTreeMap<(String, String), RenderedAs>,
    /// The run is an upgrade: it calls its hooks `pre-upgrade` and
    /// `post-upgrade` (else `-install`).
    pub run_is_upgrade: bool,
    /// The cluster charts `lookup` objects in.
    pub cluster: Option<crate::chart::template::ClusterLookup>,
}

impl Renders {
    pub fn of(&self, namespace: &str, name: &str) -> RenderedAs {
        let key = (namespace.to_string(), name.to_string());
        self.charts.get(&key).copied().unwrap_or(RenderedAs { revision: 1, is_upgrade: false })
    }
}

/// Whether `desired` is what the site chose for `recorded`: the same
/// values, environment and values Secrets.
fn same_site_choice(recorded: &Release, desired: &Desired) -> bool {
    recorded.site_values == desired.site_values
        && recorded.environment == desired.environment
        && recorded.values_secrets == desired.values_secrets
}

/// Reads the release's records and those of its charts' Helm releases
/// (`charts`: namespace and name of each), refuses what `run.action`
/// cannot do (an install over another version, an upgrade of nothing),
/// and says which revision this run will write.
pub async fn plan(
    client: &kube::Client,
    run: &InstallRun<'_>,
    charts: &[(String, String)],
) -> Result<Plan, ClusterError> {
    let (name, digest) = (run.name, run.digest);
    let history = release::list(client, name).await?;
    match (run.action, history.last()) {
        (Action::Install, Some(p)) if p.manifest_digest != digest => {
            return Err(ClusterError::AlreadyInstalled {
                name: name.into(),
                version: p.version.clone(),
                revision: p.revision,
            })
        }
        (Action::Upgrade, None) => return Err(ClusterError::NotInstalled { name: name.into(), upgrading: true }),
        _ => {}
    }
    let (revision, action) = match history.last() {
        Some(latest) if latest.manifest_digest == digest => (latest.revision, latest.action.clone()),
        latest => (latest.map_or(1, |r| r.revision + 1), run.action.as_str().to_string()),
    };
    let installed = history.iter().rev().find(|r| r.is_good());
    let site_values = installed.and_then(|r| r.site_values.clone());
    let environment = installed.and_then(|r| r.environment.clone());
    let values_secrets = installed.map(|r| r.values_secrets.clone()).unwrap_or_default();
    let mut render = Renders {
        run_is_upgrade: run.action == Action::Upgrade,
        cluster: Some(super::lookup::cluster_lookup(client.clone())),
        ..Renders::default()
    };
    for (namespace, name) in charts {
        let statuses = helm::statuses(client, namespace, name).await?;
        let is_upgrade = helm::is_installed(&statuses);
        let revision = statuses.last().map_or(1, |(last, _)| last + 1);
        render.charts.insert((namespace.clone(), name.clone()), RenderedAs { revision, is_upgrade });
    }
    Ok(Plan { history, revision, action, render, site_values, environment, values_secrets })
}

/// Installs or upgrades `desired` (the bundle rendered for this cluster, as
/// `plan.render` says) as the revision `plan` found.
pub async fn install(
    client: &kube::Client,
    mut desired: Desired,
    run: InstallRun<'_>,
    plan: Plan,
    progress: Progress<'_>,
) -> Result<ClusterReport, ClusterError> {
    let (name, version, digest) = (run.name, run.version, run.digest);
    let Plan { history, revision, action, .. } = plan;
    // The same bundle again re-applies under its revision only when the
    // site gives what it gave: other values make a new revision (one that
    // a rollback can leave).
    let (revision, action) = match history.last() {
        Some(latest) if latest.revision == revision && !same_site_choice(latest, &desired) => {
            (revision + 1, run.action.as_str().to_string())
        }
        _ => (revision, action),
    };
    let hook_events = match run.action {
        Action::Install => ("pre-install", "post-install"),
        Action::Upgrade => ("pre-upgrade", "post-upgrade"),
    };
    // Nothing is applied over what another bundle, or someone else, owns.
    ownership::mark(&mut desired, name);
    let was_ours =
        |r: &ResourceRef| history.last().is_some_and(|p| p.objects.iter().any(|o| same_object(&o.resource, r)));
    // One applier throughout, so each kind is looked up once.
    let force = run.force_conflicts || run.adopt;
    let mut applier = Applier::new(client.clone(), true).force_conflicts(force);
    let (taken, taken_over) = ownership::conflicts(&mut applier, &desired.then, name, was_ours, run.adopt).await?;
    if !taken.is_empty() {
        return Err(ClusterError::Taken { name: name.into(), version: version.into(), taken });
    }
    served_or_bundled(&mut applier, &desired).await?;
    // Going back deletes what the failed run applied beyond the last good
    // revision: never what was there before it (objects taken over from a
    // Helm release or by --adopt), nor a good record of the same bundle.
    let reapplied = history.last().is_some_and(|p| p.revision == revision);
    let atomic = run.rollback_on_failure && taken_over.is_empty() && !reapplied;
    let last_good = history.iter().rev().find(|r| r.is_good()).map(|r| r.revision);
    let go_back = atomic.then_some(last_good.map_or(Unfinished::Remove, Unfinished::ReturnTo));
    let record = Record {
        name,
        version,
        digest,
        revision,
        action,
        hook_events: Some(hook_events),
        go_back,
        history_max: run.history_max,
    };
    if run.dry_run {
        return dry_run::dry_run(applier, record, desired, &history, progress).await;
    }
    let hooks = run.waits.hooks;
    let failure = match converge(applier, record, desired, &history, run.keep, run.waits, progress).await {
        Err(failure) if atomic => failure,
        done => return done,
    };
    let undo = Undo {
        name,
        version,
        keep: run.keep,
        hooks,
        force_conflicts: run.force_conflicts,
        history_max: run.history_max,
    };
    let go_back = go_back.expect("an atomic run goes back");
    // Nothing applied, nothing recorded: the cluster is as it was.
    let recorded = match release::list(client, name).await {
        Ok(recorded) => recorded,
        Err(also) => {
            let good = match go_back {
                Unfinished::ReturnTo(good) => Some(good),
                Unfinished::Remove => None,
            };
            return Err(failure.stopped(undo.not_finished(good, &also)));
        }
    };
    let state = |r: &Release| (r.revision, r.failed.is_some() || r.unfinished.is_some());
    if recorded.last().map(state) == history.last().map(state) {
        return Err(failure);
    }
    Err(match go_back {
        Unfinished::ReturnTo(good) => {
            progress("Rolling back", &format!("{name} to revision {good}, as {version} failed"));
            match undo.return_to(client, good, progress).await {
                Ok(new) => ClusterError::RolledBack {
                    name: name.into(),
                    version: version.into(),
                    to: Some((good, new)),
                    cause: Box::new(failure),
                },
                Err(also) => failure.stopped(undo.not_finished(Some(good), &also)),
            }
        }
        Unfinished::Remove => {
            progress("Removing", &format!("what the failed install of {name} {version} applied"));
            match undo.remove(client, progress).await {
                Ok(()) => ClusterError::RolledBack {
                    name: name.into(),
                    version: version.into(),
                    to: None,
                    cause: Box::new(failure),
                },
                Err(also) => failure.stopped(undo.not_finished(None, &also)),
            }
        }
    })
}

/// Refuses, before the first change, an object or hook of a kind the
/// cluster does not serve and the bundle's own CRDs do not define (those
/// are served once applied, first).
async fn served_or_bundled(applier: &mut Applier, desired: &Desired) -> Result<(), ClusterError> {
    let bundled = desired.bundled_kinds();
    for object in desired.then.iter().chain(desired.hooks.iter().map(|h| &h.object)) {
        if object.is_of(&bundled) {
            continue;
        }
        if let Err(e @ ClusterError::UnknownKind { .. }) = applier.resolve(object).await {
            return Err(e);
        }
    }
    Ok(())
}

/// How a run that failed goes back.
struct Undo<'a> {
    name: &'a str,
    version: &'a str,
    keep: usize,
    hooks: Duration,
    force_conflicts: bool,
    history_max: usize,
}

impl Undo<'_> {
    /// Applies revision `good` again; returns the revision that records it.
    async fn return_to(&self, client: &kube::Client, good: u32, progress: Progress<'_>) -> Result<u32, ClusterError> {
        let run = RollbackRun {
            to: Some(good),
            keep: self.keep,
            waits: Waits { hooks: self.hooks, ready: None },
            force_conflicts: self.force_conflicts,
            history_max: self.history_max,
        };
        rollback(client, self.name, run, progress).await.map(|r| r.revision)
    }

    /// Removes what a failed first install applied, and its records.
    async fn remove(&self, client: &kube::Client, progress: Progress<'_>) -> Result<(), ClusterError> {
        let gone = uninstall(client, self.name, false, self.hooks, progress).await?;
        if gone.failed.is_empty() {
            return Ok(());
        }
        Err(ClusterError::Refused {
            object: gone.failed.iter().map(|(r, _)| r.to_string()).collect::<Vec<_>>().join(", "),
            detail: "could not be deleted".into(),
        })
    }

    /// What to say when going back failed too.
    fn not_finished(&self, good: Option<u32>, also: &ClusterError) -> String {
        let (name, version) = (self.name, self.version);
        let next = match good {
            Some(good) => format!(
                "the next `airlock install`, `upgrade` or `rollback` of {name} returns to revision {good} first"
            ),
            None => format!("the next `airlock install` of {name} removes what it applied first"),
        };
        format!(
            "{name} {version} failed, and going back failed too ({}); the release's record says so: {next}, and `airlock uninstall {name}` removes it all",
            crate::oci::registry::error_chain(also)
        )
    }
}

/// What `finish_going_back` did.
#[derive(Debug)]
pub struct Finished {
    pub name: String,
    /// The version that failed, or whose run was interrupted.
    pub version: String,
    pub revision: u32,
    /// Returned to this revision, recorded as the second; None: removed.
    pub to: Option<(u32, u32)>,
}

impl Finished {
    /// What was finished, for the operator who ran the next command.
    pub fn describe(&self) -> String {
        let (name, version, revision) = (&self.name, &self.version, self.revision);
        let done = match self.to {
            Some((good, new)) => format!("returned it to revision {good} (as revision {new}) first"),
            None => "removed what it applied first".into(),
        };
        format!("{name} {version} (revision {revision}) had failed or been interrupted without going back (airlock was stopped, or lost the API server); {done}")
    }
}

/// When the newest revision of `name` is a run that goes back on failure
/// but did not finish, nor finish going back (airlock was killed, or lost
/// the API server), finishes it: returns to the revision it was to return
/// to, or removes what a first install applied. None when there is
/// nothing to finish. Install and upgrade call this first; rollback goes
/// where the cut run was going, and uninstall removes what it listed.
pub async fn finish_going_back(
    client: &kube::Client,
    run: &InstallRun<'_>,
    progress: Progress<'_>,
) -> Result<Option<Finished>, ClusterError> {
    let name = run.name;
    let history = release::list(client, name).await?;
    let Some(latest) = history.last().filter(|r| r.unfinished.is_some()) else { return Ok(None) };
    let (version, revision) = (latest.version.clone(), latest.revision);
    let undo = Undo {
        name,
        version: &version,
        keep: run.keep,
        hooks: run.waits.hooks,
        force_conflicts: run.force_conflicts,
        history_max: run.history_max,
    };
    let to = match latest.unfinished.expect("filtered") {
        Unfinished::ReturnTo(good) => {
            progress(
                "Rolling back",
                &format!("{name} to revision {good}: revision {revision} ({version}) did not finish, nor go back"),
            );
            let returned = undo.return_to(client, good, progress).await.map_err(|e| {
                e.stopped(format!("revision {revision} of {name} ({version}) did not finish, and returning to revision {good} before this run failed"))
            })?;
            Some((good, returned))
        }
        Unfinished::Remove => {
            progress("Removing", &format!("{name} {version}: its first install did not finish, nor go back"));
            undo.remove(client, progress).await.map_err(|e| {
                e.stopped(format!("the first install of {name} ({version}) did not finish, and removing what it applied before this run failed"))
            })?;
            None
        }
    };
    Ok(Some(Finished { name: name.into(), version, revision, to }))
}

/// How a rollback runs.
pub struct RollbackRun {
    /// The revision to return to (default: the newest good one before the
    /// newest, or where an unfinished run was going back to).
    pub to: Option<u32>,
    /// Revisions whose records are kept for rollback.
    pub keep: usize,
    pub waits: Waits,
    /// Take over fields that other field managers set.
    pub force_conflicts: bool,
    /// Revisions kept of each chart's Helm release (0: all).
    pub history_max: usize,
}

/// Applies an earlier revision again, with that revision's `pre-rollback`
/// and `post-rollback` hooks; each chart gets Helm's `Rollback to N`
/// revision.
pub async fn rollback(
    client: &kube::Client,
    name: &str,
    run: RollbackRun,
    progress: Progress<'_>,
) -> Result<ClusterReport, ClusterError> {
    let RollbackRun { to, keep, waits, force_conflicts, history_max } = run;
    let history = installed(client, name).await?;
    let current = history.last().expect("installed() gives at least one revision");
    let wanted = match (to, current.unfinished) {
        (Some(n), _) => n,
        // A run that did not finish going back: where it was going.
        (None, Some(Unfinished::ReturnTo(good))) => good,
        // Else the newest revision before it that can be returned to.
        (None, _) => match history.iter().rev().skip(1).find(|r| r.is_good()) {
            Some(previous) => previous.revision,
            None => return Err(ClusterError::NothingToRollBack { name: name.into(), revision: current.revision }),
        },
    };
    let Some(target) = history.iter().find(|r| r.revision == wanted) else {
        let recorded: Vec<String> = history.iter().map(|r| r.revision.to_string()).collect();
        return Err(ClusterError::RevisionNotRecorded { name: name.into(), wanted, recorded: recorded.join(", ") });
    };
    if let Some(why) = &target.failed {
        return Err(ClusterError::RevisionFailed { name: name.into(), wanted, why: why.clone() });
    }
    if target.unfinished.is_some() {
        let why = "its run did not finish".to_string();
        return Err(ClusterError::RevisionFailed { name: name.into(), wanted, why });
    }
    let mut desired = Desired::default();
    desired.hooks = target.hooks.clone();
    desired.helm_rollback = target.helm.clone();
    desired.site_values = target.site_values.clone();
    desired.environment = target.environment.clone();
    desired.secret_values = target.secret_values.clone();
    desired.values_secrets = target.values_secrets.clone();
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
        go_back: None,
        history_max,
    };
    let applier = Applier::new(client.clone(), false).force_conflicts(force_conflicts);
    converge(applier, record, desired, &history, keep, waits, progress).await
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
/// run first and `post-delete` hooks after, within `timeout` (unless
/// `hooks` is false: `--no-hooks`). When a hook or a deletion fails, the
/// records stay and a rerun tries again. Deleted objects are waited for
/// (up to `timeout`) until they are gone: an object a finalizer holds
/// longer is named with its finalizers, and the records stay.
pub async fn uninstall(
    client: &kube::Client,
    name: &str,
    hooks: bool,
    timeout: Duration,
    progress: Progress<'_>,
) -> Result<Uninstalled, ClusterError> {
    let hooks = hooks.then_some(timeout);
    let history = installed(client, name).await?;
    let latest = history.last().expect("installed() gives at least one revision");
    let mut applier = Applier::new(client.clone(), false);
    let ran = |line: &str| progress("Ran", &format!("hook {line}"));
    if let Some(timeout) = hooks {
        hooks::run(&mut applier, &latest.hooks, "pre-delete", timeout, &ran).await.map_err(|e| {
            e.stopped(format!("{name} was not uninstalled, nothing was deleted: a pre-delete hook failed; fix it and rerun, or rerun with --no-hooks"))
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
            return Err(ClusterError::StillDeleting {
                name: name.into(),
                seconds: timeout.as_secs(),
                held: held.join("; "),
            });
        }
        if let Some(timeout) = hooks {
            hooks::run(&mut applier, &latest.hooks, "post-delete", timeout, &ran).await.map_err(|e| {
                e.stopped(format!("{name}'s objects were deleted, but a post-delete hook failed; its records are kept, so rerunning `airlock uninstall {name}` runs its hooks again"))
            })?;
        }
        for chart in &latest.helm {
            helm::remove(client, chart).await?;
        }
        release::trim(client, &history, 0).await;
        release::remove(client, latest).await?;
    }
    Ok(Uninstalled {
        name: name.into(),
        version: latest.version.clone(),
        deleted: report.deleted,
        left: report.left,
        failed: report.failed,
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
pub async fn test(
    client: &kube::Client,
    name: &str,
    timeout: Duration,
    progress: Progress<'_>,
) -> Result<Tested, ClusterError> {
    let history = installed(client, name).await?;
    let latest = history.last().expect("installed() gives at least one revision");
    let (version, revision) = (latest.version.clone(), latest.revision);
    if !latest.hooks.iter().any(|h| h.events.iter().any(|e| e == "test")) {
        return Err(ClusterError::NoTests { name: name.into(), version, revision });
    }
    let ran = |line: &str| progress("Passed", line);
    let passed = hooks::run(&mut Applier::new(client.clone(), false), &latest.hooks, "test", timeout, &ran)
        .await
        .map_err(|e| e.stopped(format!("{name} {version} (revision {revision}) failed its tests")))?;
    // As `helm test` does, so `helm status` shows the test suite.
    for chart in &latest.helm {
        helm::record_hook_runs(client, chart, &passed).await.map_err(|e| {
            e.stopped(format!("{name} {version} (revision {revision}) passed its tests, but they could not be recorded in Helm release {}", chart.name))
        })?;
    }
    Ok(Tested { name: name.into(), version, revision, passed: hooks::lines(passed) })
}

/// Every recorded revision of `name`, oldest first; an error that says so
/// when there is none.
async fn installed(client: &kube::Client, name: &str) -> Result<Vec<Release>, ClusterError> {
    let history = release::list(client, name).await?;
    if history.is_empty() {
        return Err(ClusterError::NotInstalled { name: name.into(), upgrading: false });
    }
    Ok(history)
}
