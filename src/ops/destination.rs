//! Where the install verbs act: a K3s node (its files under a root, and its
//! own cluster for what K3s leaves behind) or a cluster through its API;
//! finding that cluster as kubectl does; and the step every node verb ends
//! with, deleting through the node's API what removed manifests left.
//! Shared by the verb ops; no verb of its own.

use crate::destination::cluster::apply::Applier;
use crate::destination::cluster::kubeconfig::{locate, Environment, Located, Selection};
use crate::destination::cluster::lifecycle::ClusterReport;
use crate::destination::cluster::{ClusterError, Deletion};
use crate::destination::k3s::install::{deletions_done, InstallReport};
use crate::destination::k3s::installer::InstallerRun;
use crate::destination::kube::ResourceRef;
use anyhow::Result;
use std::path::{Path, PathBuf};

/// Hears each step as it is done: what (`Applied`, `Ran`, `Deleted`,
/// `Waiting`, `Would ...`), and on what.
pub use crate::destination::cluster::lifecycle::Progress;

/// Where a verb acts.
pub enum Target {
    Node(Node),
    /// A cluster, found as kubectl finds it from this selection.
    Cluster(Selection),
}

/// What an install, upgrade or rollback did, on the target it acted on.
pub enum Installed {
    Node(NodeOutcome),
    /// A dry run on a node: what would be written, replaced and removed.
    NodePreview(crate::destination::k3s::install::InstallPreview),
    Cluster(ClusterReport),
}

/// A K3s node.
pub struct Node {
    /// Every path on the node is relative to this (`/` on the node itself).
    pub root: PathBuf,
    /// The node's cluster, to delete what removed manifests left behind
    /// (default kubeconfig: the one K3s writes under `root`).
    pub api: Selection,
}

/// What a verb did on a node: the files, what it deleted through the
/// node's API, and the K3s installer it ran.
pub struct NodeOutcome {
    pub report: InstallReport,
    pub clean_up: NodeCleanUp,
    pub installer: Option<InstallerRun>,
}

/// What was done about the resources that removed manifests left in the
/// node's cluster (K3s does not delete them).
pub enum NodeCleanUp {
    /// None were left.
    Nothing,
    /// No kubeconfig to reach the node's API: all of them stay pending.
    NoKubeconfig { pending: Vec<ResourceRef> },
    /// The node's API could not be used (`why`): all stay pending.
    Unreachable { why: String, pending: Vec<ResourceRef> },
    /// Deleted, and those whose deletion failed (still pending), with why.
    Done { deleted: Vec<ResourceRef>, failed: Vec<(ResourceRef, String)> },
}

/// The runtime of a run against a cluster: multi-threaded, because a
/// chart's `lookup` blocks in place as it renders (the engine is
/// synchronous) while the run's lease must still be renewed.
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?)
}

/// The cluster `selection` chooses, found as kubectl finds it. `or_k3s`:
/// the command also acts on a K3s node, which the error offers when no
/// cluster is found.
pub(crate) fn locate_cluster(selection: &Selection, or_k3s: bool) -> Result<Located> {
    match locate(selection, &Environment::of_process()) {
        Err(ClusterError::NoCluster { tried }) if or_k3s => Err(crate::diagnosis::Usage(format!(
            "choose a target: --k3s (this K3s node), or a cluster through its API, whose kubeconfig is given with --kubeconfig FILE, KUBECONFIG or ~/.kube/config (none was found: tried {tried})"
        ))
        .into()),
        found => Ok(found?),
    }
}

/// K3s does not delete what a removed manifest file created: deletes it
/// through the node's API and records what is gone; the rest stays
/// pending for the next upgrade or rollback.
pub(crate) fn clean_up_node(node: &Node, report: &InstallReport) -> NodeCleanUp {
    let pending = &report.revision.pending_deletions;
    if pending.is_empty() {
        return NodeCleanUp::Nothing;
    }
    let Some(kubeconfig) = node_kubeconfig(&node.root, node.api.kubeconfig.clone()) else {
        return NodeCleanUp::NoKubeconfig { pending: pending.clone() };
    };
    let selection = Selection { kubeconfig: Some(kubeconfig), context: node.api.context.clone() };
    let deleted = locate(&selection, &Environment::of_process())
        .map_err(anyhow::Error::from)
        .and_then(|cluster| delete_pending(&node.root, report, &cluster));
    match deleted {
        Ok(done) => done,
        Err(e) => {
            // Said as a warning, so what to do goes with it.
            let hints = crate::diagnosis::diagnose(&e).hints;
            let why = if hints.is_empty() { format!("{e:#}") } else { format!("{e:#} ({})", hints.join("; ")) };
            NodeCleanUp::Unreachable { why, pending: pending.clone() }
        }
    }
}

/// Where the node's cluster is: `--kubeconfig`, else the one K3s writes.
pub(crate) fn node_kubeconfig(root: &Path, flag: Option<PathBuf>) -> Option<PathBuf> {
    flag.or_else(|| Some(root.join("etc/rancher/k3s/k3s.yaml")).filter(|p| p.is_file()))
}

fn delete_pending(root: &Path, report: &InstallReport, cluster: &Located) -> Result<NodeCleanUp> {
    let runtime = runtime()?;
    let mut applier = Applier::new(runtime.block_on(cluster.client())?, false);
    let (mut deleted, mut failed) = (Vec::new(), Vec::new());
    for resource in &report.revision.pending_deletions {
        match runtime.block_on(applier.delete(resource)) {
            Deletion::Deleted | Deletion::Absent => deleted.push(resource.clone()),
            Deletion::Failed(why) => failed.push((resource.clone(), why)),
        }
    }
    deletions_done(root, &report.revision.name, &deleted)?;
    Ok(NodeCleanUp::Done { deleted, failed })
}
