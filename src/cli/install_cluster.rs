//! `install|upgrade|rollback` into a cluster: the cluster side of the install
//! commands (their arguments live in `install`), and `uninstall` from a
//! cluster or a K3s node.

use super::install::{clean_up, find_cluster, print_changes, Args, NodeArgs, Target};
use crate::ops::install::uninstall_k3s;
use crate::ops::install_cluster::{
    install_cluster, test_cluster, uninstall_cluster, ClusterInstallOptions, ClusterReport,
};
use crate::output::Printer;
use crate::destination::cluster::kubeconfig::Located;
use crate::destination::kube::Action;
use crate::destination::registry::Destination;
use anyhow::{bail, Result};
use std::path::PathBuf;

/// `install|upgrade` into a cluster: the flags that set up a K3s node have
/// no meaning for a cluster, so they are refused rather than ignored.
pub fn run_cluster(args: Args, cluster: Located, printer: &Printer, action: Action) -> Result<()> {
    let node_only = [
        (args.run_installer, "--run-installer"),
        (args.platform.is_some(), "--platform"),
        (args.registry.plain_http, "--plain-http"),
        (args.registry.registry_ca_file.is_some(), "--registry-ca-file"),
    ];
    if let Some((_, flag)) = node_only.iter().find(|(given, _)| *given) {
        bail!("{flag} applies to --k3s (it sets up the node), not to a cluster reached through its API");
    }
    let registry = args.registry.registry.as_deref().map(Destination::parse).transpose()?;
    if args.registry.username.is_some() && args.registry.password.is_none() {
        bail!("--username needs --password (or AIRLOCK_REGISTRY_PASSWORD) for the pods' pull secret");
    }
    let options = ClusterInstallOptions {
        bundle: args.bundle.clone(),
        cluster,
        registry,
        keep_registry_host: args.registry.keep_registry_host,
        credentials: args.registry.username.clone().zip(args.registry.password.clone()),
        skip: args.skip,
        trust: args.trust.options(),
        action,
        keep: args.node.keep_revisions,
        wait: args.node.wait,
        timeout: args.node.timeout,
        dry_run: args.dry_run,
        adopt: args.adopt,
        force_conflicts: args.node.force_conflicts,
        base: args.base.clone(),
    };
    let unmoved = |images| {
        printer.warn(&format!(
            "no --registry: the bundle's {images} images keep their source names, so the cluster's nodes must be able to pull them from there"
        ))
    };
    let (report, verdict) = install_cluster(&options, &unmoved, &|status, what| printer.status(status, what))?;
    super::trust::report(printer, &args.bundle, &verdict);
    print_cluster_report(printer, report)
}

/// Prints what was done; fails afterwards when the workloads were not ready in time.
pub fn print_cluster_report(printer: &Printer, report: ClusterReport) -> Result<()> {
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
            crate::destination::cluster::relocate::pull_secret_name(&report.name)
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
    let name = if report.dry_run { format!("dry run: {}", report.name) } else { report.name.clone() };
    printer.data(&format!(
        "{name} {}{verb} {} ({} {applied}, {} {deleted}){tail}",
        report.version,
        report.revision,
        report.applied.len(),
        report.deleted.len()
    ));
    match report.not_ready {
        Some(e) => Err(e.into()),
        None => Ok(()),
    }
}

#[derive(clap::Args)]
pub struct UninstallArgs {
    /// Bundle name (metadata.name).
    name: String,
    /// In a cluster: do not run the charts' pre-delete and post-delete
    /// hooks (for one that fails and cannot be mended).
    #[arg(long)]
    no_hooks: bool,
    #[command(flatten)]
    node: NodeArgs,
}

/// `uninstall NAME` removes a bundle from a cluster;
/// `--k3s` removes its files from a node (and, through the node's API, what
/// K3s leaves behind of its manifests).
pub fn run_uninstall(args: UninstallArgs, printer: &Printer) -> Result<()> {
    if args.node.wait || args.node.force_conflicts {
        let flag = if args.node.wait { "--wait" } else { "--force-conflicts" };
        bail!("{flag} applies to install, upgrade and rollback");
    }
    match args.node.target()? {
        Target::Cluster(cluster) => {
            uninstall_from_cluster(&cluster, &args.name, !args.no_hooks, args.node.timeout, printer)
        }
        Target::K3s if args.no_hooks => {
            bail!("--no-hooks applies to a cluster (without --k3s): on a K3s node, helm-controller runs the charts")
        }
        Target::K3s => uninstall_from_node(&args, printer),
    }
}

fn uninstall_from_node(args: &UninstallArgs, printer: &Printer) -> Result<()> {
    let report = uninstall_k3s(&args.node.root, &args.name, args.node.keep_revisions)?;
    print_changes(printer, &report);
    clean_up(printer, &args.node, &report);
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

fn uninstall_from_cluster(
    cluster: &Located,
    name: &str,
    hooks: bool,
    timeout: std::time::Duration,
    printer: &Printer,
) -> Result<()> {
    let done = uninstall_cluster(cluster, name, hooks, timeout, &|status, what| printer.status(status, what))?;
    for resource in &done.left {
        printer.warn(&format!(
            "{resource} is left in the cluster: deleting it deletes everything in it; if nothing there is needed: {}",
            resource.kubectl_delete()
        ));
    }
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
    printer.data(&format!("{} {}: uninstalled ({} objects deleted)", done.name, done.version, done.deleted.len()));
    Ok(())
}

#[derive(clap::Args)]
pub struct TestArgs {
    /// Bundle name (metadata.name).
    name: String,
    /// The cluster's kubeconfig (default, as kubectl: the files in
    /// KUBECONFIG, else ~/.kube/config, else the cluster airlock runs in).
    #[arg(long, value_name = "FILE")]
    kubeconfig: Option<PathBuf>,
    /// The kubeconfig's context to use (default: its current-context).
    #[arg(long, value_name = "NAME")]
    context: Option<String>,
    /// How long the tests may take (`90s`, `5m`).
    #[arg(long, value_parser = humantime::parse_duration, default_value = "5m")]
    timeout: std::time::Duration,
}

/// `test NAME`: runs the newest revision's chart tests.
pub fn run_test(args: TestArgs, printer: &Printer) -> Result<()> {
    let cluster = find_cluster(&args.kubeconfig, &args.context, false)?;
    let tested = test_cluster(&cluster, &args.name, args.timeout, &|status, what| printer.status(status, what))?;
    printer.data(&format!(
        "{} {} (revision {}): {} test hook(s) passed",
        tested.name,
        tested.version,
        tested.revision,
        tested.passed.len()
    ));
    Ok(())
}
