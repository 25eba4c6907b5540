//! How the install verbs' reports are printed: what changed on a node and
//! what its clean-up did, and what a cluster run applied, deleted and left.
//! Printing only; what the text says comes from the ops' reports.

use crate::destination::cluster::diff::{describe, Change};
use crate::destination::cluster::lifecycle::ClusterReport;
use crate::destination::k3s::install::{InstallPreview, InstallReport};
use crate::ops::destination::{Installed, NodeCleanUp, NodeOutcome};
use crate::output::Printer;
use anyhow::{bail, Result};

/// Prints what an install, upgrade or rollback did (as JSON with `json`);
/// fails afterwards when the K3s installer failed or the workloads were not
/// ready in time.
pub fn print_installed(printer: &Printer, installed: Installed, json: bool) -> Result<()> {
    if json {
        printer.data(&serde_json::to_string_pretty(&super::install_json::installed_json(&installed))?);
    } else {
        match &installed {
            Installed::Cluster(report) => print_cluster_report(printer, report),
            Installed::Node(outcome) => print_node_outcome(printer, outcome),
            Installed::NodePreview(preview) => print_node_preview(printer, preview),
        }
    }
    failure(installed)
}

/// The run's failure that comes after its changes were made and reported.
fn failure(installed: Installed) -> Result<()> {
    match installed {
        Installed::Cluster(ClusterReport { not_ready: Some(e), name, version, revision, .. }) => Err(e
            .stopped(format!(
                "{name} {version} is recorded as revision {revision}, but its workloads are not ready; `airlock rollback {name}` returns to the revision before"
            ))
            .into()),
        Installed::Node(NodeOutcome { installer: Some(run), report, .. }) if !run.status.success() => bail!(
            "the K3s installer {} failed ({}); the bundle's files are in place (revision {}): fix the cause and rerun `INSTALL_K3S_SKIP_DOWNLOAD=true sh {}`",
            run.script.display(),
            run.status,
            report.revision.revision,
            run.script.display()
        ),
        _ => Ok(()),
    }
}

/// What a dry run on a node would change, file by file.
fn print_node_preview(printer: &Printer, preview: &InstallPreview) {
    let files = &preview.files;
    for path in &files.written {
        printer.data(&format!("+ /{path}: written"));
    }
    for path in &files.replaced {
        printer.data(&format!("~ /{path}: replaced"));
    }
    for path in &files.removed {
        printer.data(&format!("- /{path}: removed"));
    }
    for path in &files.kept {
        printer.warn(&format!("/{path} would no longer be part of the bundle but would be left in place (shared, or changed since airlock wrote it)"));
    }
    for resource in &preview.to_delete {
        printer.data(&format!("- {resource}: deleted through the node's API (its manifest is removed)"));
    }
    for resource in &preview.left_in_cluster {
        printer.warn(&format!("{resource} would no longer be in the bundle but would be left in the cluster (deleting it deletes everything in it)"));
    }
    printer.data(&format!(
        "dry run: {} {} would be revision {} ({} files written, {} replaced, {} unchanged, {} removed); nothing was changed",
        preview.name,
        preview.version,
        preview.revision,
        files.written.len(),
        files.replaced.len(),
        files.unchanged,
        files.removed.len()
    ));
}

fn print_node_outcome(printer: &Printer, outcome: &NodeOutcome) {
    let report = &outcome.report;
    print_changes(printer, report);
    let r = &report.revision;
    let what = if report.recorded { "revision" } else { "unchanged, revision" };
    printer.data(&format!(
        "{} {}: {what} {} ({} files, {} changed, {} removed)",
        r.name,
        r.version,
        r.revision,
        r.files.len(),
        report.changed.len(),
        report.removed.len()
    ));
    print_clean_up(printer, &outcome.clean_up);
    if let Some(run) = outcome.installer.as_ref().filter(|run| run.status.success()) {
        printer.status("Ran", &format!("the K3s installer {}", run.script.display()));
    }
}

/// The files written and removed on the node, and what was left.
pub fn print_changes(printer: &Printer, report: &InstallReport) {
    for path in &report.changed {
        printer.status("Wrote", &format!("/{path}"));
    }
    for path in &report.removed {
        printer.status("Removed", &format!("/{path}"));
    }
    for path in &report.kept {
        printer.warn(&format!(
            "/{path} is no longer part of the bundle but was left in place (shared, or changed since airlock wrote it)"
        ));
    }
    for resource in &report.left_in_cluster {
        printer.warn(&format!(
            "{resource} is no longer in the bundle but is left in the cluster: deleting it deletes everything in it; if nothing there is needed: {}",
            resource.kubectl_delete()
        ));
    }
}

/// What was deleted through the node's API, and exactly what is left to delete.
pub fn print_clean_up(printer: &Printer, clean_up: &NodeCleanUp) {
    let left = match clean_up {
        NodeCleanUp::Nothing => return,
        NodeCleanUp::NoKubeconfig { pending } => {
            printer.warn("removed manifests created resources that K3s does not delete, and no kubeconfig was found; rerun with --kubeconfig, or delete them:");
            pending.clone()
        }
        NodeCleanUp::Unreachable { why, pending } => {
            printer.warn(&format!("{why}; the next upgrade or rollback tries again; or delete them:"));
            pending.clone()
        }
        NodeCleanUp::Done { deleted, failed } => {
            for resource in deleted {
                printer.status("Deleted", &resource.to_string());
            }
            for (resource, why) in failed {
                printer.warn(&format!("cannot delete {resource}: {why}"));
            }
            if !failed.is_empty() {
                printer.warn("they stay pending: the next upgrade or rollback tries again; or delete them:");
            }
            failed.iter().map(|(r, _)| r.clone()).collect()
        }
    };
    for resource in left {
        printer.warn(&format!("  {}", resource.kubectl_delete()));
    }
}

/// Prints what was done in a cluster.
fn print_cluster_report(printer: &Printer, report: &ClusterReport) {
    for gap in &report.platform_gaps {
        printer.warn(gap);
    }
    // What was applied, run and deleted was said as it was done.
    for object in &report.unchecked {
        printer.warn(&format!("cannot be checked before the install: {object}"));
    }
    for resource in &report.left {
        printer.warn(&format!(
            "{resource} is no longer in the bundle but is left in the cluster: deleting it deletes everything in it; if nothing there is needed: {}",
            resource.kubectl_delete()
        ));
    }
    for (resource, why) in &report.failed {
        printer.warn(&format!(
            "cannot delete {resource}: {why}; the next upgrade or rollback tries again, or: {}",
            resource.kubectl_delete()
        ));
    }
    if !report.hooks_left_out.is_empty() {
        printer.warn("chart hooks of events airlock does not run were left out:");
        for hook in &report.hooks_left_out {
            printer.warn(&format!("  {hook}"));
        }
    }
    if report.images_in_arguments > 0 {
        printer.status(
            "Moved",
            &format!(
                "{} image(s) named in containers' arguments or environment to the registry",
                report.images_in_arguments
            ),
        );
    }
    if !report.images_in_fields.is_empty() {
        printer.status(
            "Moved",
            &format!("image(s) named in these fields to the registry: {}", report.images_in_fields.join(", ")),
        );
    }
    if !report.without_pull_secret.is_empty() {
        printer.warn(&format!(
            "{}: images moved, but with no spec.imagePullSecrets to name the pull secret in, so pods made from them get none from airlock: name Secret {} where their operator takes one, or let the nodes log in to the registry",
            report.without_pull_secret.join(", "),
            report.pull_secret
        ));
    }
    if !report.foreign_images.is_empty() {
        printer.warn(&format!(
            "not in the bundle, so left as they are (the cluster must be able to pull them): {}",
            report.foreign_images.join(", ")
        ));
    }
    let (verb, applied, deleted, tail) = if report.dry_run {
        (" would be revision", "objects checked by the cluster", "to delete", "; nothing was changed")
    } else {
        (": revision", "objects applied", "deleted", "")
    };
    // What the dry run found each object would become, then what would go.
    for (resource, change) in &report.changes {
        match change {
            Change::Created => printer.data(&format!("+ {resource}: created")),
            Change::Changed(fields) => {
                printer.data(&format!("~ {resource}:"));
                for field in fields {
                    printer.data(&format!("    {}", describe(field)));
                }
            }
            Change::Unchanged => {}
        }
    }
    if report.dry_run {
        for resource in &report.deleted {
            printer.data(&format!("- {resource}: deleted"));
        }
    }
    let name = if report.dry_run { format!("dry run: {}", report.name) } else { report.name.clone() };
    printer.data(&format!(
        "{name} {}{verb} {} ({} {applied}, {} {deleted}){tail}",
        report.version,
        report.revision,
        report.applied.len(),
        report.deleted.len()
    ));
}
