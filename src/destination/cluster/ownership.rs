//! Which bundle owns an object in the cluster. airlock marks every object
//! it applies with the annotation `airlock.dev/release: NAME`, and refuses
//! to take over one that another bundle owns, or that something other than
//! airlock made, unless told to adopt it: an uninstall or upgrade of this
//! bundle would otherwise delete what is not its own. Namespaces and CRDs
//! are shared and never deleted, so they are neither marked nor checked.
//! It only reads the cluster.

use super::apply::Applier;
use super::objects::{Desired, DesiredObject};
use crate::destination::kube::ResourceRef;
use serde_json::Value;

pub const ANNOTATION: &str = "airlock.dev/release";

/// Marks the objects `release` applies (not its Namespaces and CRDs).
pub fn mark(desired: &mut Desired, release: &str) {
    for object in &mut desired.then {
        let metadata = &mut object.body["metadata"];
        if !metadata["annotations"].is_object() {
            metadata["annotations"] = Value::Object(Default::default());
        }
        metadata["annotations"][ANNOTATION] = Value::String(release.to_string());
    }
}

/// The objects of `objects` that already exist and are not `release`'s,
/// each with what to do about it. An object without the mark that
/// `was_ours` says an earlier revision applied is `release`'s (marks came
/// later); with `adopt`, unmarked objects are taken over. An object whose
/// kind the cluster does not serve yet cannot exist, and is skipped.
/// Unmarked objects that a Helm release of the same name and namespace as
/// the chart made (`helm install`) are the chart's own. Also returns the
/// objects taken over (there, but not this bundle's before).
pub async fn conflicts(
    applier: &mut Applier,
    objects: &[DesiredObject],
    release: &str,
    was_ours: impl Fn(&ResourceRef) -> bool,
    adopt: bool,
) -> Result<(Vec<String>, Vec<ResourceRef>), super::ClusterError> {
    let mut found = Vec::new();
    let mut taken_over = Vec::new();
    for (target, existing) in applier.get_existing(objects).await? {
        let owner = existing.pointer(&format!("/metadata/annotations/{}", ANNOTATION.replace('/', "~1")));
        match owner.and_then(Value::as_str) {
            Some(owner) if owner == release => {}
            None if was_ours(&target) => {}
            None if adopt || same_helm_release(objects, &target, &existing) => taken_over.push(target),
            Some(owner) => found.push(format!(
                "{target} belongs to bundle `{owner}` (leave it out of one of the two, or `airlock uninstall {owner}` first)"
            )),
            None => found.push(format!(
                "{target} was not made by airlock (delete it first, or pass --adopt to take it over: `airlock uninstall {release}` would then delete it)"
            )),
        }
    }
    Ok((found, taken_over))
}

/// Whether `existing` belongs to the Helm release that the desired object
/// for `target` is part of: the same release name and namespace, as Helm
/// checks before it adopts an object.
fn same_helm_release(objects: &[DesiredObject], target: &ResourceRef, existing: &Value) -> bool {
    let helm = |body: &Value| {
        let annotation =
            |key: &str| body.pointer(&format!("/metadata/annotations/{}", key.replace('/', "~1"))).cloned();
        let managed =
            body.pointer("/metadata/labels/app.kubernetes.io~1managed-by").and_then(Value::as_str) == Some("Helm");
        managed.then(|| (annotation("meta.helm.sh/release-name"), annotation("meta.helm.sh/release-namespace")))
    };
    let desired = objects.iter().find(|o| {
        o.kind() == target.kind
            && o.name() == target.name
            && target.namespace.as_deref().is_none_or(|ns| o.namespace().is_none_or(|n| n == ns))
    });
    match (desired.and_then(|o| helm(&o.body)), helm(existing)) {
        (Some((Some(name), namespace)), Some((Some(found), found_namespace))) => {
            name == found && namespace == found_namespace
        }
        _ => false,
    }
}
