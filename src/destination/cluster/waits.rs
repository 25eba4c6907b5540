//! Waiting on the cluster around a run: for what an uninstall deleted to be
//! gone, and for a namespace the bundle applies to finish terminating.
//! Each wait is bounded and says what holds it; none changes anything.

use super::apply::Applier;
use super::converge::Progress;
use super::objects::DesiredObject;
use crate::destination::cluster;
use crate::destination::kube::ResourceRef;
use std::time::Duration;

/// Waits (polling, up to `timeout`) until every one of `deleted` is gone
/// from the cluster; returns those still there, each with the finalizers
/// that hold it (a controller must remove them).
pub(super) async fn wait_gone(
    applier: &mut Applier,
    deleted: &[ResourceRef],
    timeout: Duration,
) -> Result<Vec<(ResourceRef, Vec<String>)>, cluster::ClusterError> {
    let deadline = std::time::Instant::now() + timeout;
    let mut waiting: Vec<(ResourceRef, Vec<String>)> = deleted.iter().map(|r| (r.clone(), Vec::new())).collect();
    let mut poll = cluster::Poll::new();
    loop {
        let mut still = Vec::new();
        for (resource, _) in waiting {
            match applier.get(&resource).await {
                Ok(Some(object)) => {
                    let finalizers = object.pointer("/metadata/finalizers").and_then(|f| f.as_array()).into_iter();
                    let finalizers = finalizers.flatten().filter_map(|f| f.as_str().map(str::to_string)).collect();
                    still.push((resource, finalizers));
                }
                // Gone, or its kind is (its CRD went first): nothing left.
                Ok(None) | Err(cluster::ClusterError::UnknownKind { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        waiting = still;
        if waiting.is_empty() || std::time::Instant::now() >= deadline {
            return Ok(waiting);
        }
        poll.sleep(deadline).await;
    }
}

/// A namespace the bundle applies that is still terminating (deleted just
/// before, its content going) cannot take objects: waits, up to `timeout`,
/// until it is gone, so it is made afresh; else says what holds it (the
/// namespace's own conditions name the content and finalizers left).
pub(super) async fn wait_terminated(
    applier: &mut Applier,
    first: &[DesiredObject],
    timeout: Duration,
    progress: Progress<'_>,
) -> Result<(), cluster::ClusterError> {
    let deadline = std::time::Instant::now() + timeout;
    for namespace in first.iter().filter(|o| o.kind() == "Namespace") {
        let target = ResourceRef {
            api_version: "v1".into(),
            kind: "Namespace".into(),
            namespace: None,
            name: namespace.name().into(),
        };
        let mut said = false;
        let mut poll = cluster::Poll::new();
        while let Some(live) = applier.get(&target).await? {
            if live.pointer("/status/phase").and_then(serde_json::Value::as_str) != Some("Terminating") {
                break;
            }
            if !said {
                progress("Waiting", &format!("for namespace {} to finish terminating", target.name));
                said = true;
            }
            if std::time::Instant::now() >= deadline {
                let held: Vec<&str> = live
                    .pointer("/status/conditions")
                    .and_then(serde_json::Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter(|c| c.get("status").and_then(serde_json::Value::as_str) == Some("True"))
                    .filter_map(|c| c.get("message").and_then(serde_json::Value::as_str))
                    .collect();
                return Err(cluster::ClusterError::Refused {
                    object: format!("Namespace {}", target.name),
                    detail: format!(
                        "it is still terminating after {} s ({}); wait until `kubectl get namespace {}` finds nothing, then rerun",
                        timeout.as_secs(),
                        if held.is_empty() { "its content is still being deleted".to_string() } else { held.join("; ") },
                        target.name
                    ),
                });
            }
            poll.sleep(deadline).await;
        }
    }
    Ok(())
}
