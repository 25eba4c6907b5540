//! `airlock install` and `airlock upgrade`: a bundle onto a K3s node
//! (`node`) or into a cluster through its API (`cluster`). Both check the
//! bundle first (signature, then every digest) and change nothing when a
//! check fails; each target's engine then does the work.

mod cluster;
mod node;

use super::destination::{Installed, Node, Progress};
use crate::bundle::format::{BundleManifest, Component, EnvironmentRecord};
use crate::chart::given::GivenValues;
use crate::chart::template::{Map, Value};
use crate::chart::values;
use crate::destination::cluster::kubeconfig::Selection;
use crate::destination::cluster::values_secrets::SecretRef;
use crate::destination::cluster::ClusterError;
use crate::destination::k3s::registries::NodeRegistry;
use crate::destination::kube::Action;
use crate::destination::registry::Destination;
use crate::destination::site::from_recorded;
use crate::diagnosis::Usage;
use crate::oci::manifest::Platform;
use crate::sign::trust::{TrustOptions, Verdict};
use anyhow::Result;
use std::path::PathBuf;
use std::time::Duration;

pub struct InstallOptions {
    pub bundle: PathBuf,
    /// For a differential bundle: the full bundle it was made against, for
    /// what the node (or, in a cluster, the bundle) lacks.
    pub base: Option<PathBuf>,
    /// Optional components to leave out (required ones cannot be).
    pub skip: Vec<String>,
    pub trust: TrustOptions,
    /// Revisions kept for rollback (their files on a node, their records in a cluster).
    pub keep: usize,
    /// The site's values for the bundle's charts.
    pub values: SiteValues,
    pub target: InstallTarget,
}

/// Values the site gives at install, keyed by chart name (`web:
/// {replicas: 3}`, `--set web.replicas=3`), layered over the bundle's own,
/// and what becomes of those the installed revision was given, as Helm's
/// `upgrade` treats them: kept when none are given, else replaced, unless
/// `reuse` (merged over them) or `reset` (dropped).
#[derive(Debug, Default)]
pub struct SiteValues {
    pub given: GivenValues,
    pub reuse: bool,
    pub reset: bool,
    /// The bundle's environment to install (`--env`); an upgrade without
    /// one keeps that of the installed revision.
    pub environment: Option<String>,
    /// Secrets in the cluster that hold more values (`--values-secret`),
    /// layered under those given here, and recorded by name only.
    pub secrets: Vec<SecretRef>,
}

impl SiteValues {
    /// The values given, checked against the charts `components` install.
    fn read(&self, bundle: &std::path::Path, components: &[&Component]) -> Result<Map> {
        let site = self.given.read().map_err(Usage)?;
        keyed_by_chart(&site, "the values given", bundle, components).map_err(Usage)?;
        Ok(site)
    }

    /// Whether this run gives any values at all: when it gives none, an
    /// upgrade keeps those the installed revision was given.
    fn gives_none(&self) -> bool {
        self.given.is_empty() && self.secrets.is_empty()
    }

    /// The Secrets this run reads values from, as `layered` treats values:
    /// `installed` are those the installed revision read.
    fn secrets_read(&self, installed: &[String]) -> Vec<String> {
        let given = self.secrets.iter().map(SecretRef::to_string);
        let mut secrets: Vec<String> = match (self.reset, self.gives_none(), self.reuse) {
            (false, true, _) => installed.to_vec(),
            (false, false, true) => installed.iter().cloned().chain(given).collect(),
            _ => given.collect(),
        };
        let mut seen = std::collections::BTreeSet::new();
        secrets.retain(|s| seen.insert(s.clone()));
        secrets
    }

    /// The environment of `manifest` asked for (`--env`), which it must carry.
    fn environment<'a>(
        &self,
        bundle: &std::path::Path,
        manifest: &'a BundleManifest,
    ) -> Result<Option<(&'a str, &'a EnvironmentRecord)>> {
        let Some(wanted) = self.environment.as_deref() else { return Ok(None) };
        if let Some((name, record)) = manifest.environments.get_key_value(wanted) {
            return Ok(Some((name.as_str(), record)));
        }
        let has = match manifest.environments.keys().map(String::as_str).collect::<Vec<_>>() {
            names if names.is_empty() => "none".to_string(),
            names => names.join(", "),
        };
        usage!("{} has no environment `{wanted}` (it has: {has})", bundle.display())
    }

    /// What this run gives: `given` layered as `reuse` and `reset` say over
    /// `installed`, the values the installed revision was given (JSON, as
    /// recorded).
    fn layered(&self, given: Map, installed: Option<&serde_json::Value>) -> Map {
        let installed = installed.filter(|_| !self.reset).map(from_recorded).unwrap_or_default();
        if self.gives_none() && !self.reset {
            return installed;
        }
        if !self.reuse {
            return given;
        }
        let mut layered = installed;
        values::merge_maps(&mut layered, &given);
        layered
    }
}

/// The environment a run installs: the one asked for (`--env`, already
/// checked against `manifest`), else the one the installed revision was
/// given, which this version of the bundle must carry.
fn environment_to_install<'a>(
    asked: Option<(&'a str, &'a EnvironmentRecord)>,
    installed: Option<&str>,
    manifest: &'a BundleManifest,
) -> Result<Option<(&'a str, &'a EnvironmentRecord)>, ClusterError> {
    let (None, Some(installed)) = (asked, installed) else { return Ok(asked) };
    match manifest.environments.get_key_value(installed) {
        Some((name, record)) => Ok(Some((name.as_str(), record))),
        None => Err(ClusterError::EnvironmentGone {
            name: manifest.metadata.name.clone(),
            environment: installed.into(),
            has: manifest.environments.keys().cloned().collect::<Vec<_>>().join(", "),
        }),
    }
}

/// Refuses site values (`what`: where they came from) that name a chart
/// the run does not install, or give a chart something not a map.
fn keyed_by_chart(
    site: &Map,
    what: &str,
    bundle: &std::path::Path,
    components: &[&Component],
) -> std::result::Result<(), String> {
    let charts: Vec<&str> = components.iter().flat_map(|c| &c.charts).map(|c| c.name.as_str()).collect();
    for (chart, values) in site {
        if !charts.contains(&chart.as_str()) {
            return Err(format!(
                "{what} name chart `{chart}`, which {} does not install (its charts: {}); a bundle's values are keyed by chart name (`--set CHART.key=value`)",
                bundle.display(),
                if charts.is_empty() { "none".to_string() } else { charts.join(", ") }
            ));
        }
        if !matches!(values, Value::Map(_)) {
            return Err(format!(
                "{what} for chart `{chart}` are not a map of its values (`{chart}: {{key: value}}`, `--set {chart}.key=value`)"
            ));
        }
    }
    Ok(())
}

/// Where the bundle goes, with what only that kind of target takes.
pub enum InstallTarget {
    Node(Node, NodeSetup),
    Cluster(Selection, ClusterSetup),
}

/// How a node gets its images, and whether K3s's installer runs after.
pub struct NodeSetup {
    pub platform: Platform,
    /// Images come from this registry instead of a tarball.
    pub registry: Option<NodeRegistry>,
    /// Run the bundled K3s install script afterwards, offline.
    pub run_installer: bool,
    /// Say which files would be written, replaced and removed, writing none.
    pub dry_run: bool,
}

pub struct ClusterSetup {
    /// Where `airlock push` put the images: pod templates are rewritten to it.
    pub registry: Option<Destination>,
    pub keep_registry_host: bool,
    /// (username, password) the pods pull from that registry with.
    pub credentials: Option<(String, String)>,
    /// Then wait for the workloads to be ready.
    pub wait: bool,
    /// How long hooks, and the wait, may take.
    pub timeout: Duration,
    /// Have the API server check every object, and say what would be
    /// applied and deleted, changing nothing.
    pub dry_run: bool,
    /// Take over objects that exist but that airlock did not make.
    pub adopt: bool,
    /// Take over fields that other field managers set (adopting does too).
    pub force_conflicts: bool,
    /// On a failure part-way, return to the last good revision.
    pub rollback_on_failure: bool,
    /// Revisions kept of each chart's Helm release (0: all).
    pub history_max: usize,
}

/// What the op says as it goes: each step done, and warnings before
/// anything changes.
pub struct Events<'a> {
    pub progress: Progress<'a>,
    pub warn: &'a dyn Fn(&str),
    /// Byte progress bars for the long steps (verifying the bundle,
    /// writing the images tarball); None draws none.
    pub bars: Option<&'a crate::output::Progress>,
}

impl Events<'_> {
    /// A bar of `total` bytes labelled `label` (or none), and how to end it.
    pub fn bar(&self, label: &str, total: u64) -> Option<crate::output::Bar> {
        self.bars.map(|p| p.bar(label, total))
    }
}

/// Installs a bundle that is not installed yet (or the same bundle again).
pub fn install(options: &InstallOptions, events: &Events) -> Result<(Installed, Verdict)> {
    put(options, Action::Install, events)
}

/// Replaces an installed bundle with another version of it.
pub fn upgrade(options: &InstallOptions, events: &Events) -> Result<(Installed, Verdict)> {
    put(options, Action::Upgrade, events)
}

fn put(options: &InstallOptions, action: Action, events: &Events) -> Result<(Installed, Verdict)> {
    match &options.target {
        InstallTarget::Node(node, setup) => node::put(options, node, setup, action, events),
        InstallTarget::Cluster(selection, setup) => {
            let (report, verdict) = cluster::put(options, selection, setup, action, events)?;
            Ok((Installed::Cluster(report), verdict))
        }
    }
}
