//! Install or upgrade onto a K3s node: the trusted bundle, with what the
//! node kept of earlier installs for a differential one, laid down by the
//! K3s engine (`destination::k3s::install`); then what removed manifests
//! left in the node's cluster is deleted, and K3s's installer run if asked.

use super::{Events, InstallOptions, NodeSetup};
use crate::destination::cluster::kubeconfig::Selection;
use crate::destination::k3s::base_blobs::{self, NodeBlobs};
use crate::destination::k3s::install::{install, preview, UNINSTALL};
use crate::destination::k3s::installer;
use crate::destination::k3s::layout::ImagesVia;
use crate::destination::k3s::state;
use crate::destination::kube::Action;
use crate::destination::site::SiteChoice;
use crate::ops::destination::{clean_up_node, locate_cluster, node_kubeconfig, runtime, Installed, Node, NodeOutcome};
use crate::sign::trust::Verdict;
use crate::sign::trusted;
use anyhow::{bail, Context, Result};

pub(super) fn put(
    options: &InstallOptions,
    node: &Node,
    setup: &NodeSetup,
    action: Action,
    events: &Events,
) -> Result<(Installed, Verdict)> {
    let bundle = &options.bundle;
    let mut trusted = trusted::open(bundle, options.base.as_deref(), &options.trust)?;
    // A differential bundle takes what it leaves to its base from what the
    // node kept of earlier installs, then from the base bundle if given.
    if let Some(base) = &trusted.reader.head.manifest.base {
        let name = trusted.reader.head.manifest.metadata.name.as_str();
        // A base found by asking a registry has no name.
        let names: Vec<&str> = [name, base.name.as_str()].into_iter().filter(|n| !n.is_empty()).collect();
        let kept = NodeBlobs::load(&node.root, &names)?;
        trusted = trusted.prefer_kept_blobs(Box::new(kept));
    }
    let bar = events.bar("Verifying", trusted.reader.source().len().unwrap_or(0));
    trusted
        .verify_every_byte(&mut |n| bar.iter().for_each(|b| b.inc(n)))
        .with_context(|| format!("{} failed verification; nothing was installed", bundle.display()))?;
    if let Some(bar) = bar {
        bar.finish("Verified", &bundle.display().to_string());
    }
    let components = trusted.components(&options.skip)?;
    let installer = match (setup.run_installer && !setup.dry_run, installer::find(&components)) {
        (false, _) => None,
        (true, Some(target)) => Some(target),
        (true, None) => bail!(
            "--run-installer: {} has no K3s install script (a file whose target is named install.sh or k3s-install.sh); nothing was installed",
            bundle.display()
        ),
    };
    let images_via = match &setup.registry {
        Some(registry) => ImagesVia::Registry(registry),
        None => ImagesVia::Tarball { platform: &setup.platform },
    };
    let reader = &trusted.reader;
    if let Some(base) = &reader.head.manifest.base {
        let missing = base_blobs::missing(reader, &components, &images_via)?;
        if !missing.is_empty() {
            let base = base.describe();
            usage!(
                "{} is a differential bundle, and {} of the blobs it leaves to its base {base} are not on this node (under {}): {}; install {base} here first, give its full bundle with --base, or install the full bundle of this version; nothing was installed",
                bundle.display(),
                missing.len(),
                node.root.display(),
                missing.join(", ")
            );
        }
    }
    // What the installed revision was given is kept, as in a cluster.
    let manifest = &reader.head.manifest;
    let history = state::history(&node.root, &manifest.metadata.name)?;
    let installed = history.last().filter(|r| r.action != UNINSTALL);
    let given = options.values.read(bundle, &components)?;
    let values = options.values.layered(given, installed.and_then(|r| r.site_values.as_ref()));
    let asked = options.values.environment(bundle, manifest)?;
    let environment = super::environment_to_install(asked, installed.and_then(|r| r.environment.as_deref()), manifest)?;
    let site = SiteChoice { environment, values: &values, from_secrets: None };
    crate::destination::cluster::site_images::check_site_images(reader, &components, site)?;
    let mut checks = crate::ops::preflight::unconditional(&manifest.preflight);
    checks.extend(crate::ops::preflight::switched_on(&manifest.preflight, reader, &components, site)?);
    preflight_on_node(node, &checks, bundle, events)?;
    if setup.dry_run {
        let preview = preview(reader, &components, &images_via, &node.root, action, site)
            .with_context(|| format!("cannot install {} under {}", bundle.display(), node.root.display()))?;
        return Ok((Installed::NodePreview(preview), trusted.verdict));
    }
    // The images tarball's bytes: every layer of the node's platform.
    let tarball_bytes = match &images_via {
        ImagesVia::Tarball { .. } => components.iter().flat_map(|c| &c.images).map(|i| i.size).sum::<u64>(),
        _ => 0,
    };
    let bar = (tarball_bytes > 0).then(|| events.bar("Images tarball", tarball_bytes)).flatten();
    let on_bytes = |n: u64| bar.iter().for_each(|b| b.inc(n));
    let report = install(reader, &components, &images_via, &node.root, action, options.keep, site, &on_bytes)
        .with_context(|| format!("cannot install {} under {}", bundle.display(), node.root.display()))?;
    if let Some(bar) = bar {
        bar.finish("Wrote", "the images tarball");
    }
    let installer = installer.map(|target| installer::run(&node.root, &target)).transpose()?;
    let clean_up = clean_up_node(node, &report);
    Ok((Installed::Node(NodeOutcome { report, clean_up, installer }), trusted.verdict))
}

/// The bundle's preflight checks against the node's cluster, when it runs
/// already (its kubeconfig there, and answering); a node whose K3s is not
/// up yet (a first install, the installer run after) cannot be checked,
/// and is said so.
fn preflight_on_node(
    node: &Node,
    checks: &[crate::bundle::format::PreflightCheck],
    bundle: &std::path::Path,
    events: &Events,
) -> Result<()> {
    if checks.is_empty() {
        return Ok(());
    }
    let Some(kubeconfig) = node_kubeconfig(&node.root, node.api.kubeconfig.clone()) else {
        (events.warn)("the bundle's preflight checks were not run: the node has no cluster yet (no kubeconfig)");
        return Ok(());
    };
    let selection = Selection { kubeconfig: Some(kubeconfig), context: node.api.context.clone() };
    let runtime = runtime()?;
    let reached = runtime.block_on(async {
        let client = locate_cluster(&selection, true)?.client().await?;
        let capabilities = crate::destination::cluster::capabilities(&client).await?;
        Ok::<_, anyhow::Error>((client, capabilities))
    });
    match reached {
        Ok((client, capabilities)) => Ok(runtime.block_on(crate::ops::preflight::before_install(
            &client,
            &capabilities,
            checks,
            bundle,
            events.warn,
        ))?),
        Err(e) => {
            (events.warn)(&format!(
                "the bundle's preflight checks were not run: the node's cluster does not answer ({e:#})"
            ));
            Ok(())
        }
    }
}
