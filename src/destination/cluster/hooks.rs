//! Chart hooks (`helm.sh/hook`), and running them as Helm does: the hooks
//! of one event in weight order; each one's old copy deleted first
//! (`before-hook-creation`, the default), then applied; a Job or Pod waited
//! for until it succeeds or fails (up to a deadline); deleted afterwards
//! when its delete policy asks. A failed hook stops the run. Hooks are
//! recorded with their revision but are not among its objects.

use super::apply::Applier;
use super::objects::DesiredObject;
use super::{ClusterError, Deletion};
use crate::chart::manifests;
use crate::destination::kube::ResourceRef;
use serde_json::Value;
use std::time::{Duration, Instant};

/// A chart hook (`helm.sh/hook`): applied at its events, lowest weight
/// first. Recorded with its revision for `rollback`'s hooks, but never
/// deleted as part of it (as in Helm).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Hook {
    pub object: DesiredObject,
    pub events: Vec<String>,
    /// `helm.sh/hook-weight`.
    pub weight: i64,
    /// `helm.sh/hook-delete-policy`; Helm's default when absent is
    /// `before-hook-creation`.
    pub delete_policies: Vec<String>,
}

impl Hook {
    /// A hook from its object and events, with its weight and delete
    /// policies read from its annotations.
    pub fn new(object: DesiredObject, events: Vec<String>) -> Hook {
        let annotation = |key: &str| {
            object
                .body
                .pointer(&format!("/metadata/annotations/{}", key.replace('/', "~1")))
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        let weight = annotation("helm.sh/hook-weight").and_then(|w| w.trim().parse().ok()).unwrap_or(0);
        let delete_policies = annotation("helm.sh/hook-delete-policy")
            .map(|p| p.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect())
            .unwrap_or_default();
        // Helm still runs Helm 2's `test-success` hooks as tests.
        let events = events.into_iter().map(|e| if e == "test-success" { "test".into() } else { e }).collect();
        Hook { object, events, weight, delete_policies }
    }

    /// Whether install, upgrade, rollback, uninstall or test ever runs it.
    pub fn is_run(&self) -> bool {
        self.events.iter().any(|e| RUN_EVENTS.contains(&e.as_str()))
    }

    pub fn deletes_on(&self, policy: &str) -> bool {
        self.delete_policies.iter().any(|p| p == policy)
            || (self.delete_policies.is_empty() && policy == "before-hook-creation")
    }

    /// `pre-install Job migrate (from chart web, web/templates/hooks.yaml)`,
    /// for messages.
    pub fn describe(&self) -> String {
        format!("{} hook {}", self.events.join(","), self.object.describe())
    }
}

/// How long deleting hooks after they ran may take at least, past the
/// deadline of the run: a Pod's grace period, or a Job's.
const CLEANUP_GRACE: Duration = Duration::from_secs(30);

/// The hook events `install`, `upgrade`, `rollback`, `uninstall` and
/// `test` run.
const RUN_EVENTS: &[&str] = &[
    "test",
    "pre-install",
    "post-install",
    "pre-upgrade",
    "post-upgrade",
    "pre-rollback",
    "post-rollback",
    "pre-delete",
    "post-delete",
];

/// How a finished Job or Pod ended: Ok, or why it failed. None: not yet.
fn outcome(kind: &str, object: &Value) -> Option<Result<(), String>> {
    let condition = |kind: &str| {
        object.pointer("/status/conditions").and_then(Value::as_array).into_iter().flatten().find(|c| {
            c.get("type").and_then(Value::as_str) == Some(kind)
                && c.get("status").and_then(Value::as_str) == Some("True")
        })
    };
    match kind {
        "Job" => {
            if let Some(failed) = condition("Failed") {
                let why = failed.get("message").or_else(|| failed.get("reason")).and_then(Value::as_str);
                return Some(Err(why.unwrap_or("the Job failed").to_string()));
            }
            let succeeded = object.pointer("/status/succeeded").and_then(Value::as_i64).unwrap_or(0) > 0;
            (succeeded || condition("Complete").is_some()).then_some(Ok(()))
        }
        "Pod" => match object.pointer("/status/phase").and_then(Value::as_str) {
            Some("Succeeded") => Some(Ok(())),
            Some("Failed") => {
                let why = object.pointer("/status/message").or_else(|| object.pointer("/status/reason"));
                let why = why.and_then(Value::as_str).map(str::to_string).or_else(|| failed_container(object));
                Some(Err(why.map_or("the Pod failed".into(), |m| format!("the Pod failed: {m}"))))
            }
            _ => None,
        },
        _ => Some(Ok(())),
    }
}

/// `container NAME exited with code N`: the first container of a failed
/// Pod that ended badly (what a kubelet reports when the Pod itself says
/// nothing more).
fn failed_container(pod: &Value) -> Option<String> {
    let statuses = pod.pointer("/status/containerStatuses").and_then(Value::as_array)?;
    statuses.iter().find_map(|status| {
        let code = status.pointer("/state/terminated/exitCode").and_then(Value::as_i64)?;
        let name = status.get("name").and_then(Value::as_str)?;
        (code != 0).then(|| format!("container {name} exited with code {code}"))
    })
}

async fn delete_and_wait(applier: &mut Applier, target: &ResourceRef, deadline: Instant) -> Result<(), ClusterError> {
    if let Deletion::Failed(why) = applier.delete(target).await {
        return Err(ClusterError::Refused { object: target.to_string(), detail: why });
    }
    let mut poll = super::Poll::new();
    while applier.get(target).await?.is_some() {
        if Instant::now() >= deadline {
            return Err(ClusterError::Refused {
                object: target.to_string(),
                detail: "its old copy is still being deleted; rerun once it is gone".into(),
            });
        }
        poll.sleep(deadline).await;
    }
    Ok(())
}

/// Runs the hooks of `event`; returns one line per hook run, each also
/// told to `ran` as the hook finishes.
pub async fn run(
    applier: &mut Applier,
    hooks: &[Hook],
    event: &str,
    timeout: Duration,
    ran_one: &dyn Fn(&str),
) -> Result<Vec<HookRun>, ClusterError> {
    let mut these: Vec<&Hook> = hooks.iter().filter(|h| h.events.iter().any(|e| e == event)).collect();
    these.sort_by(|a, b| {
        (a.weight, manifests::rank(a.object.kind()), a.object.name()).cmp(&(
            b.weight,
            manifests::rank(b.object.kind()),
            b.object.name(),
        ))
    });
    let deadline = Instant::now() + timeout;
    let mut ran = Vec::new();
    // As Helm does, a succeeded hook is deleted (`hook-succeeded`) only once
    // every hook of the event has run, last first: a Job's own
    // ServiceAccount and RBAC, hooks of a lower weight, must outlive it.
    let mut succeeded: Vec<ResourceRef> = Vec::new();
    for hook in these {
        let (_, target) = applier.resolve(&hook.object).await?;
        if hook.deletes_on("before-hook-creation") {
            delete_and_wait(applier, &target, deadline).await?;
        }
        let started_at = super::helm::now();
        applier.apply(&hook.object).await?;
        let mut poll = super::Poll::new();
        let result = loop {
            let state = applier.get(&target).await?;
            match state.as_ref().map(|object| outcome(&target.kind, object)) {
                Some(Some(result)) => break result,
                None => break Err("it was deleted while it ran".into()),
                Some(None) if Instant::now() >= deadline => {
                    break Err(format!("not finished after {} s (raise --timeout)", timeout.as_secs()))
                }
                Some(None) => poll.sleep(deadline).await,
            }
        };
        if let Err(mut detail) = result {
            // Clean-up after a failure is best effort: the hook's failure is
            // what the user must read, not a slow deletion after it.
            let cleanup = deadline.max(Instant::now() + CLEANUP_GRACE);
            let mut left = Vec::new();
            if hook.deletes_on("hook-failed") {
                left.extend(delete_and_wait(applier, &target, cleanup).await.err());
            }
            left.extend(delete_succeeded(applier, &succeeded, cleanup).await.err());
            if !left.is_empty() {
                let left: Vec<String> = left.iter().map(ToString::to_string).collect();
                detail = format!("{detail} (and its clean-up did not finish: {})", left.join("; "));
            }
            let logs = match &target.namespace {
                Some(ns) => format!("kubectl -n {ns} logs {}/{}", target.kind.to_lowercase(), target.name),
                None => format!("kubectl logs {}/{}", target.kind.to_lowercase(), target.name),
            };
            return Err(ClusterError::HookFailed { hook: hook.describe(), detail, logs });
        }
        if hook.deletes_on("hook-succeeded") {
            succeeded.push(target.clone());
        }
        let line = format!("{event} {target}");
        ran_one(&line);
        let (kind, name, namespace) = (target.kind.clone(), target.name.clone(), target.namespace.clone());
        ran.push(HookRun { line, kind, name, namespace, started_at, completed_at: super::helm::now() });
    }
    delete_succeeded(applier, &succeeded, deadline.max(Instant::now() + CLEANUP_GRACE)).await?;
    Ok(ran)
}

/// A hook that ran and succeeded: what Helm records of it (`last_run`).
#[derive(Debug, Clone)]
pub struct HookRun {
    /// `pre-install Job web/migrate (batch/v1)`, for reports.
    pub line: String,
    pub kind: String,
    pub name: String,
    /// None: a cluster-scoped hook.
    pub namespace: Option<String>,
    /// RFC 3339, as Helm writes them.
    pub started_at: String,
    pub completed_at: String,
}

/// The report lines of hooks that ran.
pub fn lines(runs: Vec<HookRun>) -> Vec<String> {
    runs.into_iter().map(|run| run.line).collect()
}

/// Deletes the succeeded hooks whose policy asks for it, last run first.
async fn delete_succeeded(applier: &mut Applier, hooks: &[ResourceRef], deadline: Instant) -> Result<(), ClusterError> {
    for target in hooks.iter().rev() {
        delete_and_wait(applier, target, deadline).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn how_a_hook_ended() {
        assert_eq!(outcome("Job", &json!({"status": {"active": 1}})), None);
        assert_eq!(outcome("Job", &json!({"status": {"succeeded": 1}})), Some(Ok(())));
        let failed = json!({"status": {"conditions": [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit"}]}});
        assert_eq!(outcome("Job", &failed), Some(Err("Job has reached the specified backoff limit".into())));
        assert_eq!(outcome("Pod", &json!({"status": {"phase": "Running"}})), None);
        assert_eq!(outcome("Pod", &json!({"status": {"phase": "Failed"}})), Some(Err("the Pod failed".into())));
        let exited = json!({"status": {"phase": "Failed", "containerStatuses": [
            {"name": "ok", "state": {"terminated": {"exitCode": 0}}},
            {"name": "t", "state": {"terminated": {"exitCode": 3, "reason": "Error"}}}]}});
        assert_eq!(outcome("Pod", &exited), Some(Err("the Pod failed: container t exited with code 3".into())));
        assert_eq!(outcome("ConfigMap", &json!({})), Some(Ok(())));
    }
}
