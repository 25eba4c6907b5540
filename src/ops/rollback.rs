//! `airlock rollback`: restore an earlier recorded revision of a bundle, on
//! a K3s node from the node's store (then delete through the node's API
//! what that leaves), or in a cluster from its records, with the charts'
//! rollback hooks.

use super::destination::{clean_up_node, locate_cluster, runtime, Installed, NodeOutcome, Progress, Target};
use crate::destination::cluster::lifecycle::{self, RollbackRun, Waits};
use crate::destination::cluster::lock;
use crate::destination::k3s;
use anyhow::{Context, Result};
use std::time::Duration;

pub struct RollbackOptions {
    /// The bundle's name (metadata.name).
    pub name: String,
    /// The revision to restore (default: on a node, the one before the
    /// newest; in a cluster, the newest good one before it, or where a run
    /// cut short was going back to).
    pub to: Option<u32>,
    /// Revisions kept for rollback.
    pub keep: usize,
    pub target: Target,
    /// In a cluster: wait for the workloads to be ready.
    pub wait: bool,
    /// In a cluster: how long hooks, and the wait, may take.
    pub timeout: Duration,
    /// In a cluster: take over fields that other field managers set.
    pub force_conflicts: bool,
    /// In a cluster: revisions kept of each chart's Helm release (0: all).
    pub history_max: usize,
}

pub fn rollback(options: &RollbackOptions, progress: Progress<'_>) -> Result<Installed> {
    let name = &options.name;
    match &options.target {
        Target::Node(node) => {
            let report = k3s::install::rollback(&node.root, name, options.to, options.keep)
                .with_context(|| format!("cannot roll back `{name}` under {}", node.root.display()))?;
            let clean_up = clean_up_node(node, &report);
            Ok(Installed::Node(NodeOutcome { report, clean_up, installer: None }))
        }
        Target::Cluster(selection) => {
            let cluster = locate_cluster(selection, true)?;
            let waits = Waits { hooks: options.timeout, ready: options.wait.then_some(options.timeout) };
            let report = runtime()?.block_on(async {
                let client = cluster.client().await?;
                let run = RollbackRun {
                    to: options.to,
                    keep: options.keep,
                    waits,
                    force_conflicts: options.force_conflicts,
                    history_max: options.history_max,
                };
                lock::holding(&client, name, false, lifecycle::rollback(&client, name, run, progress)).await
            })?;
            Ok(Installed::Cluster(report))
        }
    }
}
