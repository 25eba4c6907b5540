//! `airlock preflight`, and the check install and upgrade make first: the
//! bundle's preflight checks (`preflight:` in its spec) against a cluster.
//! Reads the bundle's manifest only; what the checks read of the cluster
//! is `destination::cluster::preflight`'s.

use super::destination::{locate_cluster, runtime};
use crate::bundle::format::PreflightCheck;
use crate::bundle::reader::read_head;
use crate::destination::cluster::kubeconfig::Selection;
use crate::destination::cluster::preflight::{self, Outcome};
use crate::destination::cluster::{self, Capabilities};
use anyhow::{bail, Result};
use std::path::PathBuf;

pub struct PreflightOptions {
    pub bundle: PathBuf,
    pub cluster: Selection,
}

/// Every check of the bundle, as the cluster meets it (none: an empty list).
pub fn preflight(options: &PreflightOptions) -> Result<Vec<Outcome>> {
    let head = read_head(&options.bundle)?;
    let located = locate_cluster(&options.cluster, false)?;
    let outcomes = runtime()?.block_on(async {
        let client = located.client().await?;
        let capabilities = cluster::capabilities(&client).await?;
        preflight::run(&client, &capabilities, &head.manifest.preflight).await
    })?;
    Ok(outcomes)
}

/// Runs the checks before an install or upgrade: a strict one that fails
/// refuses it, naming every such check; the others are warned of.
pub(crate) async fn before_install(
    client: &kube::Client,
    capabilities: &Capabilities,
    checks: &[PreflightCheck],
    bundle: &std::path::Path,
    warn: &dyn Fn(&str),
) -> Result<()> {
    let outcomes = preflight::run(client, capabilities, checks).await?;
    for failed in outcomes.iter().filter(|o| !o.passed && !o.strict) {
        warn(&format!("preflight check not met: {} (found {})", failed.check, failed.found));
    }
    let refused: Vec<String> =
        outcomes.iter().filter(|o| !o.passed && o.strict).map(|o| format!("{} (found {})", o.check, o.found)).collect();
    if !refused.is_empty() {
        bail!(
            "this cluster does not meet what {} requires (strict preflight checks): {}; nothing was installed",
            bundle.display(),
            refused.join("; ")
        );
    }
    Ok(())
}
