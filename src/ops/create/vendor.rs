//! Vendoring chart dependencies at create time: what a chart directory's
//! `Chart.yaml` depends on but `charts/` lacks is fetched here, on the
//! connected side, and packed into the bundled chart as
//! `charts/NAME-VERSION.tgz`, so nothing is fetched inside the air gap.

use crate::cache::Cache;
use crate::chart::deps::{self, Needed, Source};
use crate::chart::template::semver;
use crate::chart::{self, load};
use crate::oci::registry::Registry;
use anyhow::{bail, Context, Result};
use std::path::Path;

/// The archives to add to the chart in `dir`, by path inside the chart.
pub async fn missing_dependencies(
    dir: &Path,
    registry: &Registry,
    repo_options: &crate::oci::registry::RegistryOptions,
    cache: &Cache,
) -> Result<Vec<(String, Vec<u8>)>> {
    let loaded = load::load(dir)?;
    let mut out = Vec::new();
    for needed in deps::missing(dir, &loaded)? {
        let archive = fetch(&needed, registry, repo_options, cache).await.with_context(|| {
            format!("cannot vendor dependency {} ({}) of chart {}", needed.name, needed.constraint, dir.display())
        })?;
        let (meta, _) = chart::read_archive_meta(Path::new(&needed.name), &archive)?;
        let pinned_elsewhere = needed.version.as_ref().is_some_and(|v| *v != meta.version);
        if meta.name != needed.name
            || pinned_elsewhere
            || !semver::satisfies(&needed.constraint, &meta.version).unwrap_or(false)
        {
            bail!(
                "dependency {} ({}{}) of chart {}: the source gave {} {}",
                needed.name,
                needed.constraint,
                needed.version.as_ref().map(|v| format!(", locked at {v}")).unwrap_or_default(),
                dir.display(),
                meta.name,
                meta.version
            );
        }
        out.push((format!("charts/{}-{}.tgz", meta.name, meta.version), archive));
    }
    Ok(out)
}

async fn fetch(
    needed: &Needed,
    registry: &Registry,
    repo_options: &crate::oci::registry::RegistryOptions,
    cache: &Cache,
) -> Result<Vec<u8>> {
    match &needed.source {
        Source::Dir(path) => Ok(chart::package_dir(path)?.2),
        Source::Repo(url) => {
            let client = chart::repo::RepoClient::new(repo_options)?;
            let version = match &needed.version {
                Some(v) => v.clone(),
                None => {
                    let available = client.versions(url, &needed.name).await?;
                    deps::best_version(&needed.constraint, available.iter().map(String::as_str)).with_context(|| {
                        format!(
                            "{url} has no {} matching {} (it has {})",
                            needed.name,
                            needed.constraint,
                            available.join(", ")
                        )
                    })?
                }
            };
            Ok(client.fetch(url, &needed.name, &version).await?)
        }
        Source::Oci(base) => {
            let Some(version) = &needed.version else {
                bail!(
                    "oci://{base}: a version range ({}) needs Chart.lock to pin it; run `helm dependency update` or write an exact version",
                    needed.constraint
                );
            };
            let reference = format!("{base}/{}:{}", needed.name, version.replace('+', "_"));
            let artifact = super::content::pull_oci_chart(&reference, registry, cache).await?;
            Ok(cache.read(&artifact.archive)?)
        }
    }
}
