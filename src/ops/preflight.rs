//! `airlock preflight`, and the check install and upgrade make first: the
//! bundle's preflight checks (`preflight:` in its spec) against a cluster.
//! Reads the bundle's manifest only; what the checks read of the cluster
//! is `destination::cluster::preflight`'s.

use super::destination::{locate_cluster, runtime};
use crate::bundle::format::Component;
use crate::bundle::format::PreflightCheck;
use crate::bundle::reader::read_head;
use crate::bundle::reader::BundleReader;
use crate::chart::template::Value;
use crate::chart::values;
use crate::destination::cluster::kubeconfig::Selection;
use crate::destination::cluster::objects::load_chart;
use crate::destination::cluster::preflight::{self, Outcome};
use crate::destination::cluster::ClusterError;
use crate::destination::cluster::{self, Capabilities};
use crate::destination::site::SiteChoice;
use anyhow::Result;
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
) -> Result<(), ClusterError> {
    let outcomes = preflight::run(client, capabilities, checks).await?;
    for failed in outcomes.iter().filter(|o| !o.passed && !o.strict) {
        warn(&format!("preflight check not met: {} (found {})", failed.check, failed.found));
    }
    let refused: Vec<String> =
        outcomes.iter().filter(|o| !o.passed && o.strict).map(|o| format!("{} (found {})", o.check, o.found)).collect();
    if !refused.is_empty() {
        return Err(ClusterError::PreflightRefused {
            bundle: bundle.display().to_string(),
            refused: refused.join("; "),
        });
    }
    Ok(())
}

/// The checks that hold whatever the site chooses (no `when`).
pub(crate) fn unconditional(checks: &[PreflightCheck]) -> Vec<PreflightCheck> {
    checks.iter().filter(|c| c.when.is_none()).cloned().collect()
}

/// The checks whose `when` value (`CHART.path`) is on in that chart's
/// values as this run installs it: the chart's own under the bundle's,
/// the environment's and the site's.
pub(crate) fn switched_on(
    checks: &[PreflightCheck],
    reader: &BundleReader,
    components: &[&Component],
    site: SiteChoice,
) -> Result<Vec<PreflightCheck>, ClusterError> {
    let mut on = Vec::new();
    for check in checks {
        let Some(when) = &check.when else { continue };
        let (chart_name, path) = when.split_once('.').unwrap_or((when, ""));
        // A chart left out (--skip) switches nothing on.
        let Some(chart) = components.iter().flat_map(|c| &c.charts).find(|c| c.name == chart_name) else { continue };
        let values_error = |detail: String| ClusterError::Values { chart: chart.name.clone(), detail };
        let given = site.merged(reader, chart).map_err(values_error)?;
        let loaded = load_chart(reader, chart)?;
        let mut value = Value::map(values::coalesce(&loaded, &given).map_err(values_error)?);
        for key in path.split('.').filter(|k| !k.is_empty()) {
            value = match &value {
                Value::Map(map) => map.borrow().get(key).cloned().unwrap_or(Value::Nil),
                _ => Value::Nil,
            };
        }
        if value.truthy() {
            on.push(check.clone());
        }
    }
    Ok(on)
}
