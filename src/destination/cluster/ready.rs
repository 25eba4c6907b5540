//! Whether applied workloads are ready, by the rules `kubectl rollout
//! status` uses: the controller has seen the newest spec, and every replica
//! is updated and available. Deployments, StatefulSets, DaemonSets and
//! bare Pods are checked; other kinds are ready once applied. Polls a few
//! times a second at most, up to a deadline; changes nothing.

use super::apply::Applier;
use super::ClusterError;
use crate::destination::kube::ResourceRef;
use serde_json::Value;
use std::time::{Duration, Instant};

/// Why a workload is not ready yet, or None when it is.
pub fn not_ready(kind: &str, object: &Value) -> Option<String> {
    let int = |path: &str| object.pointer(path).and_then(Value::as_i64).unwrap_or(0);
    let seen = int("/status/observedGeneration") >= int("/metadata/generation");
    let wanted = object.pointer("/spec/replicas").and_then(Value::as_i64).unwrap_or(1);
    match kind {
        "Deployment" => {
            let (updated, available) = (int("/status/updatedReplicas"), int("/status/availableReplicas"));
            if !seen {
                Some("its controller has not seen the new spec yet".into())
            } else if updated < wanted || available < wanted || int("/status/replicas") > updated {
                Some(format!("{available} of {wanted} replicas available, {updated} updated"))
            } else {
                None
            }
        }
        "StatefulSet" => {
            let (updated, ready) = (int("/status/updatedReplicas"), int("/status/readyReplicas"));
            let rolling = object.pointer("/spec/updateStrategy/type").and_then(Value::as_str) != Some("OnDelete");
            if !seen {
                Some("its controller has not seen the new spec yet".into())
            } else if ready < wanted || (rolling && updated < wanted) {
                Some(format!("{ready} of {wanted} replicas ready, {updated} updated"))
            } else {
                None
            }
        }
        "DaemonSet" => {
            let desired = int("/status/desiredNumberScheduled");
            let (updated, available) = (int("/status/updatedNumberScheduled"), int("/status/numberAvailable"));
            if !seen {
                Some("its controller has not seen the new spec yet".into())
            } else if updated < desired || available < desired {
                Some(format!("{available} of {desired} pods available, {updated} updated"))
            } else {
                None
            }
        }
        "Pod" => {
            let conditions = object.pointer("/status/conditions").and_then(Value::as_array);
            let ready = conditions.into_iter().flatten().any(|c| {
                c.get("type").and_then(Value::as_str) == Some("Ready")
                    && c.get("status").and_then(Value::as_str) == Some("True")
            });
            (!ready).then(|| {
                let phase = object.pointer("/status/phase").and_then(Value::as_str).unwrap_or("Pending");
                format!("not ready ({phase})")
            })
        }
        _ => None,
    }
}

/// Waits until every workload among `applied` is ready, or fails at the
/// deadline naming those that are not, with why.
pub async fn wait_ready(applier: &mut Applier, applied: &[ResourceRef], timeout: Duration) -> Result<(), ClusterError> {
    let deadline = Instant::now() + timeout;
    let mut poll = super::Poll::new();
    let mut waiting: Vec<&ResourceRef> = applied
        .iter()
        .filter(|r| matches!(r.kind.as_str(), "Deployment" | "StatefulSet" | "DaemonSet" | "Pod"))
        .collect();
    loop {
        let mut still = Vec::new();
        for resource in waiting {
            let why = match applier.get(resource).await? {
                Some(object) => not_ready(&resource.kind, &object),
                None => Some("gone from the cluster".into()),
            };
            if let Some(why) = why {
                still.push((resource, why));
            }
        }
        if still.is_empty() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            let list: Vec<String> = still.iter().map(|(r, why)| format!("{r}: {why}")).collect();
            let (first, _) = still[0];
            let describe = match &first.namespace {
                Some(ns) => format!("kubectl -n {ns} describe {} {}", first.kind.to_lowercase(), first.name),
                None => format!("kubectl describe {} {}", first.kind.to_lowercase(), first.name),
            };
            return Err(ClusterError::NotReady { seconds: timeout.as_secs(), list: list.join("; "), describe });
        }
        waiting = still.into_iter().map(|(r, _)| r).collect();
        poll.sleep(deadline).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rollout_rules() {
        let deployment = |generation: i64, observed: i64, replicas: i64, updated: i64, available: i64| {
            json!({"metadata": {"generation": generation}, "spec": {"replicas": 2},
                   "status": {"observedGeneration": observed, "replicas": replicas, "updatedReplicas": updated, "availableReplicas": available}})
        };
        assert_eq!(not_ready("Deployment", &deployment(2, 2, 2, 2, 2)), None);
        assert!(not_ready("Deployment", &deployment(3, 2, 2, 2, 2)).unwrap().contains("not seen"));
        assert_eq!(
            not_ready("Deployment", &deployment(2, 2, 2, 2, 1)).unwrap(),
            "1 of 2 replicas available, 2 updated"
        );
        // An old pod still running beside the new ones.
        assert!(not_ready("Deployment", &deployment(2, 2, 3, 2, 2)).is_some());
        let sts = json!({"metadata": {"generation": 1}, "spec": {"replicas": 3}, "status": {"observedGeneration": 1, "readyReplicas": 3, "updatedReplicas": 1}});
        assert!(not_ready("StatefulSet", &sts).is_some());
        let on_delete = json!({"metadata": {"generation": 1}, "spec": {"replicas": 3, "updateStrategy": {"type": "OnDelete"}}, "status": {"observedGeneration": 1, "readyReplicas": 3, "updatedReplicas": 1}});
        assert_eq!(not_ready("StatefulSet", &on_delete), None);
        let ds = json!({"metadata": {"generation": 1}, "status": {"observedGeneration": 1, "desiredNumberScheduled": 2, "updatedNumberScheduled": 2, "numberAvailable": 2}});
        assert_eq!(not_ready("DaemonSet", &ds), None);
        let pod = json!({"status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "False"}]}});
        assert_eq!(not_ready("Pod", &pod).unwrap(), "not ready (Running)");
        assert_eq!(not_ready("ConfigMap", &json!({})), None);
    }
}
