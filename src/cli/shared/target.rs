//! The flags that choose where the install verbs act (`--k3s` and its
//! `--root`, or a cluster by `--kubeconfig` and `--context`) and how
//! (`--wait`, `--timeout`, `--force-conflicts`), the flags of
//! `install`/`upgrade`, and the refusal of a flag that has no meaning for
//! the target chosen, before anything is opened.

use super::trust::TrustArgs;
use super::values::ValuesArgs;
use crate::destination::cluster::helm::HISTORY_MAX;
use crate::destination::cluster::kubeconfig::Selection;
use crate::destination::cluster::values_secrets::SecretRef;
use crate::destination::k3s::install::DEFAULT_KEEP;
use crate::destination::k3s::registries::NodeRegistry;
use crate::destination::registry::Destination;
use crate::oci::manifest::Platform;
use crate::ops::destination::{Node, Target};
use crate::ops::install::{ClusterSetup, InstallOptions, InstallTarget, NodeSetup, SiteValues};
use anyhow::Result;
use std::path::{Path, PathBuf};

/// The cluster a command reaches through its API, chosen as kubectl
/// chooses it.
#[derive(clap::Args)]
pub struct SelectionArgs {
    /// The cluster's kubeconfig (default, as kubectl: the files in
    /// KUBECONFIG, else ~/.kube/config, else the cluster airlock runs in).
    #[arg(long, value_name = "FILE")]
    kubeconfig: Option<PathBuf>,
    /// The kubeconfig's context to use (default: its current-context).
    #[arg(long, value_name = "NAME")]
    context: Option<String>,
}

impl SelectionArgs {
    pub fn selection(self) -> Selection {
        Selection { kubeconfig: self.kubeconfig, context: self.context }
    }
}

/// Which node or cluster, and how a run there goes.
#[derive(clap::Args)]
pub struct TargetArgs {
    /// Install onto this K3s node (its files, images and manifests directory).
    #[arg(long)]
    k3s: bool,
    /// Make every path relative to this directory (image building, tests).
    #[arg(long, default_value = "/")]
    root: PathBuf,
    /// Revisions kept for rollback (their files on a node, their records in a cluster).
    #[arg(long, default_value_t = DEFAULT_KEEP, value_name = "N")]
    pub keep_revisions: usize,
    /// Without --k3s: the cluster's kubeconfig (default, as kubectl: the
    /// files in KUBECONFIG, else ~/.kube/config, else the cluster airlock
    /// runs in). With --k3s: the node's cluster, to delete what removed
    /// manifests left behind (default: ROOT/etc/rancher/k3s/k3s.yaml when
    /// it exists).
    #[arg(long, value_name = "FILE")]
    kubeconfig: Option<PathBuf>,
    /// The kubeconfig's context to use (default: its current-context).
    #[arg(long, value_name = "NAME")]
    context: Option<String>,
    /// In a cluster (without --k3s): wait until the Deployments,
    /// StatefulSets, DaemonSets and Pods applied are ready (`kubectl rollout
    /// status`'s rules).
    #[arg(long)]
    pub wait: bool,
    /// In a cluster: how long chart hooks, and --wait, may take (`90s`, `5m`).
    #[arg(long, value_parser = humantime::parse_duration, default_value = "5m")]
    pub timeout: std::time::Duration,
    /// In a cluster: take over fields of the bundle's objects that another
    /// field manager (an autoscaler, an operator, kubectl edit) set since,
    /// instead of stopping to name them.
    #[arg(long)]
    pub force_conflicts: bool,
    /// In a cluster: revisions kept of each chart's Helm release (0: no
    /// limit), as Helm's --history-max [default: 10].
    #[arg(long, value_name = "N")]
    history_max: Option<usize>,
}

impl TargetArgs {
    /// `--k3s` is said; without it, a cluster (found by the op as kubectl
    /// finds it).
    pub fn target(&self) -> Result<Target> {
        if self.k3s {
            if let Some(flag) = self.cluster_flag() {
                usage!("{flag} applies to a cluster (without --k3s): K3s applies manifests by itself, later");
            }
            return Ok(Target::Node(Node { root: self.root.clone(), api: self.selection() }));
        }
        if self.root != Path::new("/") {
            usage!("--root applies to --k3s; a cluster is reached through its kubeconfig alone");
        }
        Ok(Target::Cluster(self.selection()))
    }

    /// For the verbs that only change what is installed: `--wait`,
    /// `--force-conflicts` and `--history-max` are refused.
    pub fn removal_target(&self) -> Result<Target> {
        if let Some(flag) = self.cluster_flag() {
            usage!("{flag} applies to install, upgrade and rollback");
        }
        self.target()
    }

    /// The first flag given that only applying to a cluster means.
    fn cluster_flag(&self) -> Option<&'static str> {
        [
            (self.wait, "--wait"),
            (self.force_conflicts, "--force-conflicts"),
            (self.history_max.is_some(), "--history-max"),
        ]
        .into_iter()
        .find_map(|(given, flag)| given.then_some(flag))
    }

    /// Revisions kept of each chart's Helm release (0: all).
    pub fn history_max(&self) -> usize {
        self.history_max.unwrap_or(HISTORY_MAX)
    }

    fn selection(&self) -> Selection {
        Selection { kubeconfig: self.kubeconfig.clone(), context: self.context.clone() }
    }
}

/// The private registry the node pulls from, instead of an images tarball.
#[derive(clap::Args)]
pub struct NodeRegistryArgs {
    /// Write /etc/rancher/k3s/registries.yaml mirroring every source registry
    /// of the bundle to HOST[:PORT][/PREFIX] (where `airlock push` put them).
    #[arg(long, value_name = "HOST[/PREFIX]")]
    registry: Option<String>,
    /// The images were pushed with --keep-registry-host.
    #[arg(long, requires = "registry")]
    keep_registry_host: bool,
    /// The registry speaks plain HTTP.
    #[arg(long, requires = "registry")]
    plain_http: bool,
    /// CA certificate of the registry, as a path on the node.
    #[arg(long, requires = "registry", value_name = "PATH")]
    registry_ca_file: Option<String>,
    /// Registry user: in registries.yaml (--k3s), or in the pods' pull secret (in a cluster).
    #[arg(long, requires = "registry", env = "AIRLOCK_REGISTRY_USERNAME")]
    username: Option<String>,
    /// Its password.
    #[arg(long, requires = "username", env = "AIRLOCK_REGISTRY_PASSWORD", hide_env_values = true)]
    password: Option<String>,
    /// Read the password from stdin (one trailing newline is dropped), as
    /// `docker login --password-stdin`.
    #[arg(long, requires = "registry")]
    password_stdin: bool,
}

/// The arguments of `install` and `upgrade`.
#[derive(clap::Args)]
pub struct InstallArgs {
    pub bundle: PathBuf,
    #[command(flatten)]
    target: TargetArgs,
    /// Node platform (default: this machine's).
    #[arg(long, value_parser = crate::cli::parse_platform)]
    platform: Option<Platform>,
    /// Leave out an optional component (repeatable).
    #[arg(long)]
    skip: Vec<String>,
    #[command(flatten)]
    registry: NodeRegistryArgs,
    /// Then run the bundled K3s install script with INSTALL_K3S_SKIP_DOWNLOAD=true.
    #[arg(long)]
    run_installer: bool,
    /// Change nothing; say what would change: in a cluster, every object
    /// checked by the API server and diffed field by field against the live
    /// one; on a K3s node, the files that would be written, replaced and
    /// removed.
    #[arg(long)]
    dry_run: bool,
    /// Print the report as JSON (with --dry-run: every change, as data).
    #[arg(long)]
    pub json: bool,
    /// For a differential bundle: the full bundle it was made against, for
    /// what the node (or, in a cluster, the bundle) lacks.
    #[arg(long, value_name = "BUNDLE")]
    base: Option<PathBuf>,
    /// In a cluster: take over objects the bundle declares that exist
    /// but that airlock did not make (uninstalling the bundle deletes them).
    #[arg(long)]
    adopt: bool,
    /// In a cluster: when the run fails part-way, leave the cluster as it
    /// stopped (to look at it) instead of returning it to the last good
    /// revision (a first install: removing what it applied).
    #[arg(long)]
    no_rollback_on_failure: bool,
    /// Install the bundle's environment NAME (its charts' values for it,
    /// over their own); an upgrade without it keeps the installed one.
    #[arg(long, value_name = "NAME")]
    env: Option<String>,
    #[command(flatten)]
    values: ValuesArgs,
    /// In a cluster: read site values (keyed by chart name, as with -f) from
    /// the KEY (default values.yaml) of this Secret, under those given with
    /// -f and --set (repeatable). Only the Secret's name is recorded; an
    /// upgrade that gives no values reads it again.
    #[arg(long, value_name = "NAMESPACE/NAME[:KEY]", value_parser = parse_secret_ref)]
    values_secret: Vec<SecretRef>,
    /// On upgrade: layer the values given over those the installed revision
    /// was given (by default, values given replace them; none given keeps
    /// them).
    #[arg(long, conflicts_with = "reset_values")]
    reuse_values: bool,
    /// On upgrade: drop the values the installed revision was given.
    #[arg(long)]
    reset_values: bool,
    #[command(flatten)]
    trust: TrustArgs,
}

impl InstallArgs {
    /// The options of the install op; a flag that has no meaning for the
    /// target chosen is refused rather than ignored.
    pub fn options(mut self) -> Result<InstallOptions> {
        let registry = &mut self.registry;
        registry.password = super::registry::password_or_stdin(
            registry.username.as_deref(),
            registry.password.take(),
            registry.password_stdin,
        )?;
        let target = match self.target.target()? {
            Target::Node(node) => {
                if self.adopt || self.no_rollback_on_failure {
                    let flag = if self.adopt { "--adopt" } else { "--no-rollback-on-failure" };
                    usage!("{flag} applies to a cluster (without --k3s)");
                }
                if !self.values_secret.is_empty() {
                    usage!("--values-secret reads a Secret through a cluster's API; on --k3s give the values with -f (the node's HelmChart files hold them)");
                }
                if self.dry_run && self.run_installer {
                    usage!("--run-installer runs K3s's installer, and a dry run changes nothing: give one of them");
                }
                let setup = NodeSetup {
                    platform: self.platform.unwrap_or_else(Platform::host),
                    registry: self.registry.node_registry()?,
                    run_installer: self.run_installer,
                    dry_run: self.dry_run,
                };
                InstallTarget::Node(node, setup)
            }
            Target::Cluster(selection) => InstallTarget::Cluster(selection, self.cluster_setup()?),
        };
        Ok(InstallOptions {
            bundle: self.bundle,
            base: self.base,
            skip: self.skip,
            trust: self.trust.options(),
            keep: self.target.keep_revisions,
            values: SiteValues {
                given: self.values.given(),
                reuse: self.reuse_values,
                reset: self.reset_values,
                environment: self.env,
                secrets: self.values_secret,
            },
            target,
        })
    }

    /// The flags that set up a K3s node have no meaning for a cluster.
    fn cluster_setup(&self) -> Result<ClusterSetup> {
        let registry = &self.registry;
        let node_only = [
            (self.run_installer, "--run-installer"),
            (self.platform.is_some(), "--platform"),
            (registry.plain_http, "--plain-http"),
            (registry.registry_ca_file.is_some(), "--registry-ca-file"),
        ];
        if let Some((_, flag)) = node_only.iter().find(|(given, _)| *given) {
            usage!("{flag} applies to --k3s (it sets up the node), not to a cluster reached through its API");
        }
        if registry.username.is_some() && registry.password.is_none() {
            usage!("--username needs --password (or AIRLOCK_REGISTRY_PASSWORD) for the pods' pull secret");
        }
        Ok(ClusterSetup {
            registry: registry.registry.as_deref().map(Destination::parse).transpose()?,
            keep_registry_host: registry.keep_registry_host,
            credentials: registry.username.clone().zip(registry.password.clone()),
            wait: self.target.wait,
            timeout: self.target.timeout,
            dry_run: self.dry_run,
            adopt: self.adopt,
            force_conflicts: self.target.force_conflicts,
            rollback_on_failure: !self.no_rollback_on_failure,
            history_max: self.target.history_max(),
        })
    }
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

fn parse_secret_ref(text: &str) -> Result<SecretRef, String> {
    SecretRef::parse(text)
}
