//! `airlock install --k3s`: check the signature and every digest of the
//! bundle first, then lay it down on the node (see `target::k3s::install`).
//! Nothing is written when any check fails.

use crate::bundle::reader::BundleReader;
use crate::oci::manifest::Platform;
use crate::ops::verify::{check_signature, verify_digests, TrustOptions};
use crate::sign::trust::Verdict;
use crate::target::k3s::install::{install, InstallReport};
use anyhow::{bail, Context, Result};
use std::path::PathBuf;

pub struct InstallOptions {
    pub bundle: PathBuf,
    pub root: PathBuf,
    pub platform: Platform,
    /// Optional components to leave out (required ones cannot be).
    pub skip: Vec<String>,
    pub trust: TrustOptions,
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
    let report = install(&reader, &components, &options.platform, &options.root)
        .with_context(|| format!("cannot install {} under {}", options.bundle.display(), options.root.display()))?;
    Ok((report, verdict))
}
