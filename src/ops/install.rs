//! `airlock install|upgrade --k3s`: check the signature and every digest of
//! the bundle first, then lay it down on the node (see
//! `destination::k3s::install`). Nothing is written when any check fails.
//! `airlock rollback --k3s` restores a recorded revision from the node's store.

use crate::bundle::base::{BaseBundle, FirstOf};
use crate::bundle::format::Component;
use crate::bundle::reader::{BaseBlobs, BundleReader};
use crate::oci::manifest::Platform;
use crate::ops::verify::{check_signature, verify_digests, TrustOptions};
use crate::sign::trust::Verdict;
use crate::destination::cluster::apply::Applier;
use crate::destination::cluster::kubeconfig::Located;
use crate::destination::cluster::Deletion;
use crate::destination::k3s::base_blobs::{self, NodeBlobs};
use crate::destination::k3s::install::{deletions_done, install, rollback, InstallReport};
use crate::destination::k3s::layout::ImagesVia;
use crate::destination::k3s::registries::NodeRegistry;
use crate::destination::kube::{Action, ResourceRef};
use anyhow::{bail, Context, Result};
use std::path::PathBuf;

pub struct InstallOptions {
    pub bundle: PathBuf,
    pub root: PathBuf,
    pub platform: Platform,
    /// Images come from this registry instead of a tarball.
    pub registry: Option<NodeRegistry>,
    /// Optional components to leave out (required ones cannot be).
    pub skip: Vec<String>,
    pub trust: TrustOptions,
    pub action: Action,
    /// Revisions whose content is kept for rollback.
    pub keep: usize,
    /// Run the bundled K3s install script afterwards, offline.
    pub run_installer: bool,
    /// For a differential bundle: the full bundle it was made against, for
    /// what the node does not hold.
    pub base: Option<PathBuf>,
}

/// What `--run-installer` ran, and how it ended.
pub struct InstallerRun {
    pub script: PathBuf,
    pub status: std::process::ExitStatus,
}

/// The K3s install script among the files: one whose target is named
/// `install.sh` or `k3s-install.sh` (K3s's own script, get.k3s.io, by the
/// names its docs use).
fn installer_target(components: &[&crate::bundle::format::Component]) -> Option<String> {
    components.iter().flat_map(|c| &c.files).map(|f| f.target.clone()).find(|t| {
        let name = std::path::Path::new(t).file_name().and_then(|n| n.to_str()).unwrap_or_default();
        name == "install.sh" || name == "k3s-install.sh"
    })
}

/// Runs K3s's install script the air-gap way (`INSTALL_K3S_SKIP_DOWNLOAD`):
/// it finds the k3s binary already in place and sets up the service. Under a
/// `--root` other than `/` it installs into that root and neither enables
/// nor starts the service, which belongs to the machine running airlock.
fn run_installer(root: &std::path::Path, target: &str) -> Result<InstallerRun> {
    let script = root.join(target.trim_start_matches('/'));
    let mut command = std::process::Command::new("sh");
    command.arg(&script).env("INSTALL_K3S_SKIP_DOWNLOAD", "true");
    if root != std::path::Path::new("/") {
        command
            .env("INSTALL_K3S_BIN_DIR", root.join("usr/local/bin"))
            .env("INSTALL_K3S_SYSTEMD_DIR", root.join("etc/systemd/system"))
            .env("INSTALL_K3S_SKIP_ENABLE", "true")
            .env("INSTALL_K3S_SKIP_START", "true");
    }
    // Its output is for the operator, so it goes to stderr with ours.
    let status = command
        .stdout(std::process::Stdio::from(std::io::stderr()))
        .stderr(std::process::Stdio::inherit())
        .status()
        .with_context(|| format!("cannot run the K3s installer {}", script.display()))?;
    Ok(InstallerRun { script, status })
}

/// The components to install: all but those `skip` names, which must
/// exist and be optional.
pub fn chosen_components<'r>(reader: &'r BundleReader, skip: &[String]) -> Result<Vec<&'r Component>> {
    for name in skip {
        match reader.head.manifest.components.iter().find(|c| &c.name == name) {
            None => bail!("--skip {name}: the bundle has no component `{name}`"),
            Some(c) if c.required => bail!("--skip {name}: component `{name}` is required"),
            Some(_) => {}
        }
    }
    Ok(reader.head.manifest.components.iter().filter(|c| !skip.contains(&c.name)).collect())
}

pub fn install_k3s(options: &InstallOptions) -> Result<(InstallReport, Verdict, Option<InstallerRun>)> {
    let mut reader = BundleReader::open(&options.bundle)?;
    // A differential bundle takes what it leaves to its base from what the
    // node kept of earlier installs, then from the base bundle if given.
    let mut sources: Vec<Box<dyn BaseBlobs>> = Vec::new();
    if let Some(base) = &reader.head.manifest.base {
        let name = reader.head.manifest.metadata.name.as_str();
        // A base found by asking a registry has no name.
        let names: Vec<&str> = [name, base.name.as_str()].into_iter().filter(|n| !n.is_empty()).collect();
        sources.push(Box::new(NodeBlobs::load(&options.root, &names)?));
    }
    if let Some(base) = &options.base {
        sources.push(Box::new(BaseBundle::open(&options.bundle, &reader.head.manifest, base)?));
    }
    if !sources.is_empty() {
        reader = reader.with_base_blobs(Box::new(FirstOf(sources)));
    }
    let verdict = check_signature(&options.bundle, &reader.head, &options.trust)?;
    verify_digests(&options.bundle, &reader.head, &mut |_| {})
        .with_context(|| format!("{} failed verification; nothing was installed", options.bundle.display()))?;
    let components = chosen_components(&reader, &options.skip)?;
    let installer = match (options.run_installer, installer_target(&components)) {
        (false, _) => None,
        (true, Some(target)) => Some(target),
        (true, None) => bail!(
            "--run-installer: {} has no K3s install script (a file whose target is named install.sh or k3s-install.sh); nothing was installed",
            options.bundle.display()
        ),
    };
    let images_via = match &options.registry {
        Some(registry) => ImagesVia::Registry(registry),
        None => ImagesVia::Tarball { platform: &options.platform },
    };
    if reader.head.manifest.base.is_some() {
        let missing = base_blobs::missing(&reader, &components, &images_via)?;
        if !missing.is_empty() {
            let base = reader.head.manifest.base.as_ref().map(|b| b.describe()).unwrap_or_default();
            bail!(
                "{} is a differential bundle, and {} of the blobs it leaves to its base {base} are not on this node (under {}): {}; install {base} here first, give its full bundle with --base, or install the full bundle of this version; nothing was installed",
                options.bundle.display(),
                missing.len(),
                options.root.display(),
                missing.join(", ")
            );
        }
    }
    let report = install(&reader, &components, &images_via, &options.root, options.action, options.keep)
        .with_context(|| format!("cannot install {} under {}", options.bundle.display(), options.root.display()))?;
    let ran = installer.map(|target| run_installer(&options.root, &target)).transpose()?;
    Ok((report, verdict, ran))
}

/// Where the node's cluster is: `--kubeconfig`, else the one K3s writes.
pub fn node_kubeconfig(root: &std::path::Path, flag: Option<PathBuf>) -> Option<PathBuf> {
    flag.or_else(|| Some(root.join("etc/rancher/k3s/k3s.yaml")).filter(|p| p.is_file()))
}

/// The outcome of deleting what removed manifests left in the cluster.
#[derive(Default)]
pub struct CleanUp {
    pub deleted: Vec<ResourceRef>,
    /// Still pending, with why.
    pub failed: Vec<(ResourceRef, String)>,
}

/// Deletes the newest revision's pending resources through the API and
/// records those that are gone; the rest stay pending for the next run.
pub fn clean_up_cluster(root: &std::path::Path, report: &InstallReport, cluster: &Located) -> Result<CleanUp> {
    let pending = &report.revision.pending_deletions;
    let mut outcome = CleanUp::default();
    if pending.is_empty() {
        return Ok(outcome);
    }
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let mut applier = Applier::new(runtime.block_on(cluster.client())?, false);
    for resource in pending {
        match runtime.block_on(applier.delete(resource)) {
            Deletion::Deleted | Deletion::Absent => outcome.deleted.push(resource.clone()),
            Deletion::Failed(why) => outcome.failed.push((resource.clone(), why)),
        }
    }
    deletions_done(root, &report.revision.name, &outcome.deleted)?;
    Ok(outcome)
}

pub fn uninstall_k3s(root: &std::path::Path, name: &str, keep: usize) -> Result<InstallReport> {
    crate::destination::k3s::install::uninstall(root, name, keep)
        .with_context(|| format!("cannot uninstall `{name}` under {}", root.display()))
}

pub fn rollback_k3s(root: &std::path::Path, name: &str, to: Option<u32>, keep: usize) -> Result<InstallReport> {
    rollback(root, name, to, keep).with_context(|| format!("cannot roll back `{name}` under {}", root.display()))
}
