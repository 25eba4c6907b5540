use super::install_cluster::{print_cluster_report, run_cluster};
use super::trust::TrustArgs;
use crate::oci::manifest::Platform;
use crate::ops::export::host_platform;
use crate::ops::install::{clean_up_cluster, install_k3s, node_kubeconfig, rollback_k3s, InstallOptions};
use crate::ops::install_cluster::{cluster_history, rollback_cluster, RollbackOptions};
use crate::output::Printer;
use crate::destination::cluster::kubeconfig::{locate, Environment, Located, Selection};
use crate::destination::cluster::release::Release;
use crate::destination::cluster::ClusterError;
use crate::destination::k3s::install::{InstallReport, DEFAULT_KEEP};
use crate::destination::k3s::registries::NodeRegistry;
use crate::destination::k3s::state::{history, Revision};
use crate::destination::kube::Action;
use crate::destination::registry::Destination;
use anyhow::{bail, Result};
use std::path::PathBuf;

/// Which node, and where its files live.
#[derive(clap::Args)]
pub struct NodeArgs {
    /// Install onto this K3s node (its files, images and manifests directory).
    #[arg(long)]
    k3s: bool,
    /// Make every path relative to this directory (image building, tests).
    #[arg(long, default_value = "/")]
    pub(super) root: PathBuf,
    /// Revisions kept for rollback (their files on a node, their records in a cluster).
    #[arg(long, default_value_t = DEFAULT_KEEP, value_name = "N")]
    pub(super) keep_revisions: usize,
    /// Without --k3s: the cluster's kubeconfig (default, as kubectl: the
    /// files in KUBECONFIG, else ~/.kube/config, else the cluster airlock
    /// runs in). With --k3s: the node's cluster, to delete what removed
    /// manifests left behind (default: ROOT/etc/rancher/k3s/k3s.yaml when
    /// it exists).
    #[arg(long, value_name = "FILE")]
    pub(super) kubeconfig: Option<PathBuf>,
    /// The kubeconfig's context to use (default: its current-context).
    #[arg(long, value_name = "NAME")]
    pub(super) context: Option<String>,
    /// In a cluster (without --k3s): wait until the Deployments,
    /// StatefulSets, DaemonSets and Pods applied are ready (`kubectl rollout
    /// status`'s rules).
    #[arg(long)]
    pub(super) wait: bool,
    /// In a cluster: how long chart hooks, and --wait, may take (`90s`, `5m`).
    #[arg(long, value_parser = humantime::parse_duration, default_value = "5m")]
    pub(super) timeout: std::time::Duration,
    /// In a cluster: take over fields of the bundle's objects that another
    /// field manager (an autoscaler, an operator, kubectl edit) set since,
    /// instead of stopping to name them.
    #[arg(long)]
    pub(super) force_conflicts: bool,
}

/// Where a bundle goes.
pub(super) enum Target {
    K3s,
    Cluster(Located),
}

impl NodeArgs {
    /// `--k3s` is said; without it, the cluster is found as kubectl finds it.
    pub(super) fn target(&self) -> Result<Target> {
        if self.k3s {
            if self.wait || self.force_conflicts {
                let flag = if self.wait { "--wait" } else { "--force-conflicts" };
                bail!("{flag} applies to a cluster (without --k3s): K3s applies manifests by itself, later");
            }
            return Ok(Target::K3s);
        }
        if self.root != std::path::Path::new("/") {
            bail!("--root applies to --k3s; a cluster is reached through its kubeconfig alone");
        }
        Ok(Target::Cluster(find_cluster(&self.kubeconfig, &self.context, true)?))
    }

    fn rollback_options(&self, to: Option<u32>) -> RollbackOptions {
        RollbackOptions {
            to,
            keep: self.keep_revisions,
            wait: self.wait,
            timeout: self.timeout,
            force_conflicts: self.force_conflicts,
        }
    }

    /// The node's cluster (with --k3s): --kubeconfig, else the one K3s writes.
    fn node_cluster(&self) -> Option<Result<Located>> {
        let kubeconfig = node_kubeconfig(&self.root, self.kubeconfig.clone())?;
        let selection = Selection { kubeconfig: Some(kubeconfig), context: self.context.clone() };
        Some(locate(&selection, &Environment::of_process()).map_err(Into::into))
    }
}

/// The cluster `--kubeconfig` and `--context` choose, found as kubectl finds
/// it. `or_k3s`: the command also takes `--k3s`, which the error offers
/// when no cluster is found.
pub(super) fn find_cluster(kubeconfig: &Option<PathBuf>, context: &Option<String>, or_k3s: bool) -> Result<Located> {
    let selection = Selection { kubeconfig: kubeconfig.clone(), context: context.clone() };
    match locate(&selection, &Environment::of_process()) {
        Err(ClusterError::NoCluster { tried }) if or_k3s => bail!(
            "choose a target: --k3s (this K3s node), or a cluster through its API, whose kubeconfig is given with --kubeconfig FILE, KUBECONFIG or ~/.kube/config (none was found: tried {tried})"
        ),
        found => Ok(found?),
    }
}

/// The private registry the node pulls from, instead of an images tarball.
#[derive(clap::Args)]
pub struct NodeRegistryArgs {
    /// Write /etc/rancher/k3s/registries.yaml mirroring every source registry
    /// of the bundle to HOST[:PORT][/PREFIX] (where `airlock push` put them).
    #[arg(long, value_name = "HOST[/PREFIX]")]
    pub(super) registry: Option<String>,
    /// The images were pushed with --keep-registry-host.
    #[arg(long, requires = "registry")]
    pub(super) keep_registry_host: bool,
    /// The registry speaks plain HTTP.
    #[arg(long, requires = "registry")]
    pub(super) plain_http: bool,
    /// CA certificate of the registry, as a path on the node.
    #[arg(long, requires = "registry", value_name = "PATH")]
    pub(super) registry_ca_file: Option<String>,
    /// Registry user: in registries.yaml (--k3s), or in the pods' pull secret (in a cluster).
    #[arg(long, requires = "registry", env = "AIRLOCK_REGISTRY_USERNAME")]
    pub(super) username: Option<String>,
    /// Its password.
    #[arg(long, requires = "username", env = "AIRLOCK_REGISTRY_PASSWORD", hide_env_values = true)]
    pub(super) password: Option<String>,
}

impl NodeRegistryArgs {
    fn node_registry(self) -> Result<Option<NodeRegistry>> {
        let Some(registry) = self.registry else { return Ok(None) };
        Ok(Some(NodeRegistry {
            destination: Destination::parse(&registry)?,
            keep_registry_host: self.keep_registry_host,
            plain_http: self.plain_http,
            ca_file: self.registry_ca_file,
            username: self.username,
            password: self.password,
        }))
    }
}

#[derive(clap::Args)]
pub struct Args {
    pub(super) bundle: PathBuf,
    #[command(flatten)]
    pub(super) node: NodeArgs,
    /// Node platform (default: this machine's).
    #[arg(long, value_parser = super::parse_platform)]
    pub(super) platform: Option<Platform>,
    /// Leave out an optional component (repeatable).
    #[arg(long)]
    pub(super) skip: Vec<String>,
    #[command(flatten)]
    pub(super) registry: NodeRegistryArgs,
    /// Then run the bundled K3s install script with INSTALL_K3S_SKIP_DOWNLOAD=true.
    #[arg(long)]
    pub(super) run_installer: bool,
    /// In a cluster (without --k3s): have the API server check every object
    /// and say what would be applied and deleted, changing nothing.
    #[arg(long)]
    pub(super) dry_run: bool,
    /// For a differential bundle: the full bundle it was made against, for
    /// what the node (or, in a cluster, the bundle) lacks.
    #[arg(long, value_name = "BUNDLE")]
    pub(super) base: Option<PathBuf>,
    /// In a cluster: take over objects the bundle declares that exist
    /// but that airlock did not make (uninstalling the bundle deletes them).
    #[arg(long)]
    pub(super) adopt: bool,
    #[command(flatten)]
    pub(super) trust: TrustArgs,
}

pub fn run(args: Args, printer: &Printer, action: Action) -> Result<()> {
    if let Target::Cluster(cluster) = args.node.target()? {
        return run_cluster(args, cluster, printer, action);
    }
    if args.dry_run || args.adopt {
        let flag = if args.dry_run { "--dry-run" } else { "--adopt" };
        bail!("{flag} applies to a cluster (without --k3s)");
    }
    let node = args.node;
    let options = InstallOptions {
        bundle: args.bundle.clone(),
        root: node.root.clone(),
        platform: args.platform.unwrap_or_else(host_platform),
        registry: args.registry.node_registry()?,
        skip: args.skip,
        trust: args.trust.options(),
        action,
        keep: node.keep_revisions,
        run_installer: args.run_installer,
        base: args.base,
    };
    let (report, verdict, installer) = install_k3s(&options)?;
    super::trust::report(printer, &args.bundle, &verdict);
    print_report(printer, &report);
    clean_up(printer, &node, &report);
    match installer {
        Some(run) if !run.status.success() => bail!(
            "the K3s installer {} failed ({}); the bundle's files are in place (revision {}): fix the cause and rerun `INSTALL_K3S_SKIP_DOWNLOAD=true sh {}`",
            run.script.display(),
            run.status,
            report.revision.revision,
            run.script.display()
        ),
        Some(run) => printer.status("Ran", &format!("the K3s installer {}", run.script.display())),
        None => {}
    }
    Ok(())
}

pub(super) fn print_report(printer: &Printer, report: &InstallReport) {
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
}

/// The files written and removed on the node, and what was left.
pub(super) fn print_changes(printer: &Printer, report: &InstallReport) {
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

/// K3s does not delete what a removed manifest file created: delete it
/// through the node's API, or say exactly what is left to delete.
pub(super) fn clean_up(printer: &Printer, node: &NodeArgs, report: &InstallReport) {
    let pending = &report.revision.pending_deletions;
    if pending.is_empty() {
        return;
    }
    let left = match node.node_cluster() {
        None => {
            printer.warn("removed manifests created resources that K3s does not delete, and no kubeconfig was found; rerun with --kubeconfig, or delete them:");
            pending.clone()
        }
        Some(cluster) => match cluster.and_then(|cluster| clean_up_cluster(&node.root, report, &cluster)) {
            Ok(outcome) => {
                for resource in &outcome.deleted {
                    printer.status("Deleted", &resource.to_string());
                }
                for (resource, why) in &outcome.failed {
                    printer.warn(&format!("cannot delete {resource}: {why}"));
                }
                if !outcome.failed.is_empty() {
                    printer.warn("they stay pending: the next upgrade or rollback tries again; or delete them:");
                }
                outcome.failed.into_iter().map(|(r, _)| r).collect()
            }
            Err(e) => {
                printer.warn(&format!("{e:#}; the next upgrade or rollback tries again; or delete them:"));
                pending.clone()
            }
        },
    };
    for resource in left {
        printer.warn(&format!("  {}", resource.kubectl_delete()));
    }
}

#[derive(clap::Args)]
pub struct RollbackArgs {
    /// Bundle name (metadata.name).
    name: String,
    /// Revision to restore (default: the one before the newest).
    #[arg(long, value_name = "REV")]
    to: Option<u32>,
    #[command(flatten)]
    node: NodeArgs,
}

pub fn run_rollback(args: RollbackArgs, printer: &Printer) -> Result<()> {
    if let Target::Cluster(cluster) = args.node.target()? {
        let node = &args.node;
        let progress = |status: &str, what: &str| printer.status(status, what);
        let report = rollback_cluster(&cluster, &args.name, &node.rollback_options(args.to), &progress)?;
        return print_cluster_report(printer, report);
    }
    let report = rollback_k3s(&args.node.root, &args.name, args.to, args.node.keep_revisions)?;
    print_report(printer, &report);
    clean_up(printer, &args.node, &report);
    Ok(())
}

#[derive(clap::Args)]
pub struct HistoryArgs {
    /// Bundle name (metadata.name).
    name: String,
    /// List the revisions installed on this K3s node (instead of in a cluster).
    #[arg(long)]
    k3s: bool,
    /// With --k3s: make every path relative to this directory.
    #[arg(long, default_value = "/")]
    root: PathBuf,
    /// The cluster's kubeconfig (default, as kubectl: the files in
    /// KUBECONFIG, else ~/.kube/config, else the cluster airlock runs in).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["k3s", "root"])]
    kubeconfig: Option<PathBuf>,
    /// The kubeconfig's context to use (default: its current-context).
    #[arg(long, value_name = "NAME", conflicts_with_all = ["k3s", "root"])]
    context: Option<String>,
    /// Print the revisions as JSON.
    #[arg(long)]
    json: bool,
}

/// One revision as `history` shows it, from a node's or a cluster's records.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct RevisionLine {
    revision: u32,
    action: String,
    name: String,
    version: String,
    manifest_digest: String,
    /// When it was recorded (cluster records only).
    #[serde(skip_serializing_if = "Option::is_none")]
    time: Option<String>,
    /// Files laid down (on a node) or objects applied (in a cluster).
    #[serde(skip_serializing_if = "Option::is_none")]
    files: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    objects: Option<usize>,
    /// Why a first install into a cluster stopped half way.
    #[serde(skip_serializing_if = "Option::is_none")]
    failed: Option<String>,
}

impl From<Release> for RevisionLine {
    fn from(r: Release) -> Self {
        RevisionLine {
            revision: r.revision,
            action: r.action,
            name: r.name,
            version: r.version,
            manifest_digest: r.manifest_digest,
            time: Some(r.time),
            files: None,
            objects: Some(r.objects.len()),
            failed: r.failed,
        }
    }
}

impl From<Revision> for RevisionLine {
    fn from(r: Revision) -> Self {
        RevisionLine {
            revision: r.revision,
            action: r.action,
            name: r.name,
            version: r.version,
            manifest_digest: r.manifest_digest.to_string(),
            time: None,
            files: Some(r.files.len()),
            objects: None,
            failed: None,
        }
    }
}

pub fn run_history(args: HistoryArgs, printer: &Printer) -> Result<()> {
    let (lines, place): (Vec<RevisionLine>, String) = if args.k3s {
        (
            history(&args.root, &args.name)?.into_iter().map(RevisionLine::from).collect(),
            format!("installed under {}", args.root.display()),
        )
    } else {
        if args.root != std::path::Path::new("/") {
            bail!("--root applies to --k3s; a cluster is reached through its kubeconfig alone");
        }
        let cluster = find_cluster(&args.kubeconfig, &args.context, true)?;
        (
            cluster_history(&cluster, &args.name)?.into_iter().map(RevisionLine::from).collect(),
            format!("recorded in the cluster ({})", cluster.describe()),
        )
    };
    if lines.is_empty() {
        bail!("no revision of `{}` is {place}", args.name);
    }
    if args.json {
        printer.data(&serde_json::to_string_pretty(&lines)?);
        return Ok(());
    }
    for r in lines {
        let time = r.time.map(|t| format!("{t}  ")).unwrap_or_default();
        let count = match (r.files, r.objects) {
            (Some(files), _) => format!("{files} files"),
            (_, Some(objects)) => format!("{objects} objects"),
            _ => String::new(),
        };
        let failed = r.failed.map(|why| format!("  failed: {why}")).unwrap_or_default();
        printer.data(&format!(
            "{:>4}  {:<14} {} {}  {time}{}  {count}{failed}",
            r.revision, r.action, r.name, r.version, r.manifest_digest
        ));
    }
    Ok(())
}
