//! `airlock uninstall NAME`: calls `ops::uninstall::uninstall` on a K3s node
//! (`--k3s`) or a cluster, and prints what was removed and what is left
//! (or JSON).

use super::shared::install_json::{node_json, uninstalled_json};
use super::shared::reports::{print_changes, print_clean_up};
use super::shared::target::TargetArgs;
use crate::destination::cluster::lifecycle::Uninstalled as FromCluster;
use crate::ops::destination::{NodeOutcome, Target};
use crate::ops::uninstall::{uninstall, UninstallOptions, Uninstalled};
use crate::output::Printer;
use anyhow::{bail, Result};

#[derive(clap::Args)]
pub struct Args {
    /// Bundle name (metadata.name).
    name: String,
    /// In a cluster: do not run the charts' pre-delete and post-delete
    /// hooks (for one that fails and cannot be mended).
    #[arg(long)]
    no_hooks: bool,
    #[command(flatten)]
    target: TargetArgs,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args, printer: &Printer) -> Result<()> {
    let target = args.target.removal_target()?;
    if matches!(target, Target::Node(_)) && args.no_hooks {
        usage!("--no-hooks applies to a cluster (without --k3s): on a K3s node, helm-controller runs the charts")
    }
    let options = UninstallOptions {
        name: args.name,
        keep: args.target.keep_revisions,
        target,
        hooks: !args.no_hooks,
        timeout: args.target.timeout,
    };
    match uninstall(&options, &|status, what| printer.status(status, what))? {
        Uninstalled::Node(outcome) if args.json => {
            printer.data(&serde_json::to_string_pretty(&node_json(&outcome))?);
            Ok(())
        }
        Uninstalled::Node(outcome) => print_node(printer, *outcome),
        Uninstalled::Cluster(done) if args.json => {
            warn_left(printer, &done);
            printer.data(&serde_json::to_string_pretty(&uninstalled_json(&done))?);
            failed_deletions(&done)
        }
        Uninstalled::Cluster(done) => print_cluster(printer, done),
    }
}

fn print_node(printer: &Printer, outcome: NodeOutcome) -> Result<()> {
    let report = &outcome.report;
    print_changes(printer, report);
    print_clean_up(printer, &outcome.clean_up);
    let r = &report.revision;
    printer.data(&format!(
        "{} {}: uninstalled ({} files removed; revision {} records it, and `airlock rollback` brings it back)",
        r.name,
        r.version,
        report.removed.len(),
        r.revision
    ));
    Ok(())
}

/// Fails after printing when some deletions failed: the records stay.
fn print_cluster(printer: &Printer, done: FromCluster) -> Result<()> {
    warn_left(printer, &done);
    failed_deletions(&done)?;
    printer.data(&format!("{} {}: uninstalled ({} objects deleted)", done.name, done.version, done.deleted.len()));
    Ok(())
}

/// Namespaces and CRDs left, with the command that deletes each.
fn warn_left(printer: &Printer, done: &FromCluster) {
    for resource in &done.left {
        printer.warn(&format!(
            "{resource} is left in the cluster: deleting it deletes everything in it; if nothing there is needed: {}",
            resource.kubectl_delete()
        ));
    }
}

/// The failure of an uninstall that could not delete everything.
fn failed_deletions(done: &FromCluster) -> Result<()> {
    if !done.failed.is_empty() {
        let list: Vec<String> = done.failed.iter().map(|(r, why)| format!("{r}: {why}")).collect();
        bail!(
            "cannot delete {} of the objects of {} {}: {}; its records are kept, so rerunning `airlock uninstall {}` tries again",
            done.failed.len(),
            done.name,
            done.version,
            list.join("; "),
            done.name
        );
    }
    Ok(())
}
