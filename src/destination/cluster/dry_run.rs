//! A dry run of `converge`: every object checked by the API server
//! (server-side dry run) and compared with the live one, field by field;
//! nothing changed: no hook runs, nothing is deleted or recorded.

use super::apply::Applier;
use super::converge::{dropped, records_namespace, Progress, Record};
use super::lifecycle::ClusterReport;
use super::objects::Desired;
use super::release::Release;
use super::{diff, ClusterError};
use crate::destination::kube::cascades;

/// What `converge` would do, checked by the API server object by object
/// (server-side dry run), changing nothing: no hook runs, nothing is
/// deleted or recorded. Objects of kinds that only the bundle's own CRDs
/// define, or in namespaces that only the bundle makes, cannot be checked
/// before those exist, and are listed.
pub(crate) async fn dry_run(
    applier: Applier,
    record: Record<'_>,
    desired: Desired,
    history: &[Release],
    progress: Progress<'_>,
) -> Result<ClusterReport, ClusterError> {
    let mut applier = applier.dry_run(true);
    applier.apply(&records_namespace()).await?;
    let bundled_kinds = desired.bundled_kinds();
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
        let bundled_kind = object.is_of(&bundled_kinds);
        let resource = match applier.resolve(object).await {
            Ok((_, resource)) => resource,
            Err(ClusterError::UnknownKind { .. }) if bundled_kind => {
                report.unchecked.push(format!("{}: its CRD is in this bundle", object.describe()));
                continue;
            }
            Err(e) => return Err(e),
        };
        match &resource.namespace {
            Some(ns) if new_namespaces.contains(ns) => {
                report.unchecked.push(format!("{}: its namespace {ns} is made by this bundle", object.describe()))
            }
            _ => {
                let (_, target) = applier.resolve(object).await?;
                let live = applier.get(&target).await?;
                let (resource, answered) = applier.apply_answered(object).await?;
                progress("Would apply", &resource.to_string());
                let change = match answered {
                    Some(would_be) => diff::compare(live.as_ref(), &would_be),
                    None => diff::Change::Unchanged,
                };
                report.changes.push((resource.clone(), change));
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
