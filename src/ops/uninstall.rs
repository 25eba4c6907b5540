//! `airlock uninstall`: remove an installed bundle, from a K3s node (its
//! files, then through the node's API what K3s leaves of its manifests) or
//! from a cluster (its objects, with the charts' delete hooks, then its
//! records).

use super::destination::{clean_up_node, locate_cluster, runtime, NodeOutcome, Progress, Target};
use crate::destination::cluster::{lifecycle, lock};
use crate::destination::k3s;
use anyhow::{Context, Result};
use std::time::Duration;

pub struct UninstallOptions {
    /// The bundle's name (metadata.name).
    pub name: String,
    /// On a node: revisions kept, so that `rollback` brings it back.
    pub keep: usize,
    pub target: Target,
    /// In a cluster: run the charts' pre-delete and post-delete hooks.
    pub hooks: bool,
    /// In a cluster: how long the hooks, and the deletions, may take.
    pub timeout: Duration,
}

pub enum Uninstalled {
    Node(Box<NodeOutcome>),
    Cluster(lifecycle::Uninstalled),
}

pub fn uninstall(options: &UninstallOptions, progress: Progress<'_>) -> Result<Uninstalled> {
    let name = &options.name;
    match &options.target {
        Target::Node(node) => {
            let report = k3s::install::uninstall(&node.root, name, options.keep)
                .with_context(|| format!("cannot uninstall `{name}` under {}", node.root.display()))?;
            let clean_up = clean_up_node(node, &report);
            Ok(Uninstalled::Node(Box::new(NodeOutcome { report, clean_up, installer: None })))
        }
        Target::Cluster(selection) => {
            let cluster = locate_cluster(selection, true)?;
            let done = runtime()?.block_on(async {
                let client = cluster.client().await?;
                let work = lifecycle::uninstall(&client, name, options.hooks, options.timeout, progress);
                lock::holding(&client, name, false, work).await
            })?;
            Ok(Uninstalled::Cluster(done))
        }
    }
}
