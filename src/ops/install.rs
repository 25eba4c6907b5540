//! `airlock install|upgrade --k3s`: check the signature and every digest of
//! the bundle first, then lay it down on the node (see
//! `target::k3s::install`). Nothing is written when any check fails.
//! `airlock rollback --k3s` restores a recorded revision from the node's store.

use crate::bundle::reader::BundleReader;
use crate::oci::manifest::Platform;
use crate::ops::verify::{check_signature, verify_digests, TrustOptions};
use crate::sign::trust::Verdict;
use crate::target::k3s::install::{install, rollback, Action, InstallReport};
use crate::target::k3s::layout::ImagesVia;
use crate::target::k3s::registries::NodeRegistry;
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
}

pub fn install_k3s(options: &InstallOptions) -> Result<(InstallReport, Verdict)> {
    let reader = BundleReader::open(&options.bundle)?;
    let verdict = check_signature(&options.bundle, &reader.head, &options.trust)?;
    verify_digests(&options.bundle, &reader.head, &mut |_| {})
        .with_context(|| format!("{} failed verification; nothing was installed", options.bundle.display()))?;
    for name in &options.skip {
        match reader.head.manifest.components.iter().find(|c| &c.name == name) {
            None => bail!("--skip {name}: the bundle has no component `{name}`"),
            Some(c) if c.required => bail!("--skip {name}: component `{name}` is required"),
            Some(_) => {}
        }
    }
    let components: Vec<_> =
        reader.head.manifest.components.iter().filter(|c| !options.skip.contains(&c.name)).collect();
    let images_via = match &options.registry {
        Some(registry) => ImagesVia::Registry(registry),
        None => ImagesVia::Tarball { platform: &options.platform },
    };
    let report = install(&reader, &components, &images_via, &options.root, options.action, options.keep)
        .with_context(|| format!("cannot install {} under {}", options.bundle.display(), options.root.display()))?;
    Ok((report, verdict))
}

pub fn rollback_k3s(root: &std::path::Path, name: &str, to: Option<u32>, keep: usize) -> Result<InstallReport> {
    rollback(root, name, to, keep).with_context(|| format!("cannot roll back `{name}` under {}", root.display()))
}
