//! The reports of install, upgrade, rollback and uninstall as JSON
//! (`--json`, docs/json.md): the same facts the text output gives, as data
//! for scripts and change review. Shapes only; what they say comes from the
//! ops' reports.

use crate::destination::cluster::diff::Change;
use crate::destination::cluster::lifecycle::{ClusterReport, Uninstalled};
use crate::destination::kube::ResourceRef;
use crate::ops::destination::{Installed, NodeCleanUp, NodeOutcome};
use serde_json::{json, Value};

pub fn installed_json(installed: &Installed) -> Value {
    match installed {
        Installed::Cluster(report) => cluster_json(report),
        Installed::Node(outcome) => node_json(outcome),
        Installed::NodePreview(preview) => {
            let mut value = serde_json::to_value(preview).expect("a preview is plain data");
            value["target"] = "node".into();
            value["dryRun"] = true.into();
            value
        }
    }
}

fn cluster_json(report: &ClusterReport) -> Value {
    let changes: Vec<Value> = report
        .changes
        .iter()
        .map(|(resource, change)| match change {
            Change::Created => json!({"resource": resource, "change": "created"}),
            Change::Unchanged => json!({"resource": resource, "change": "unchanged"}),
            Change::Changed(fields) => json!({"resource": resource, "change": "changed", "fields": fields}),
        })
        .collect();
    json!({
        "target": "cluster",
        "name": report.name,
        "version": report.version,
        "revision": report.revision,
        "dryRun": report.dry_run,
        "applied": report.applied,
        "deleted": report.deleted,
        "left": report.left,
        "failed": failures(&report.failed),
        "hooksRun": report.hooks_run,
        "hooksLeftOut": report.hooks_left_out,
        "changes": changes,
        "unchecked": report.unchecked,
        "foreignImages": report.foreign_images,
        "platformGaps": report.platform_gaps,
        "notReady": report.not_ready.as_ref().map(|e| e.to_string()),
    })
}

/// What a run on a K3s node did (an uninstall too: the revision that
/// records it, the files removed).
pub fn node_json(outcome: &NodeOutcome) -> Value {
    let report = &outcome.report;
    let clean_up = match &outcome.clean_up {
        NodeCleanUp::Nothing => json!({"deleted": [], "pending": []}),
        NodeCleanUp::NoKubeconfig { pending } => {
            json!({"deleted": [], "pending": pending, "why": "no kubeconfig for the node's cluster"})
        }
        NodeCleanUp::Unreachable { why, pending } => json!({"deleted": [], "pending": pending, "why": why}),
        NodeCleanUp::Done { deleted, failed } => json!({"deleted": deleted, "failed": failures(failed)}),
    };
    json!({
        "target": "node",
        "name": report.revision.name,
        "version": report.revision.version,
        "revision": report.revision.revision,
        "dryRun": false,
        "recorded": report.recorded,
        "files": report.revision.files.len(),
        "changed": report.changed,
        "removed": report.removed,
        "kept": report.kept,
        "leftInCluster": report.left_in_cluster,
        "cleanUp": clean_up,
        "installer": outcome.installer.as_ref().map(|run| json!({
            "script": run.script,
            "success": run.status.success(),
            "status": run.status.to_string(),
        })),
    })
}

/// What an uninstall from a cluster deleted, left and could not delete.
pub fn uninstalled_json(done: &Uninstalled) -> Value {
    json!({
        "target": "cluster",
        "name": done.name,
        "version": done.version,
        "deleted": done.deleted,
        "left": done.left,
        "failed": failures(&done.failed),
    })
}

fn failures(failed: &[(ResourceRef, String)]) -> Vec<Value> {
    failed.iter().map(|(resource, why)| json!({"resource": resource, "error": why})).collect()
}
