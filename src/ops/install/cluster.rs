//! Install or upgrade into a cluster through its API: the trusted bundle,
//! rendered whole for this cluster before the first request that changes
//! anything, handed to the cluster engine (`destination::cluster::lifecycle`)
//! while the release's lease is held; a run an earlier one left unfinished
//! is finished first. The site's values are layered over the bundle's.

use super::{ClusterSetup, Events, InstallOptions};
use crate::bundle::format::{BundleManifest, Component};
use crate::bundle::reader::BundleReader;
use crate::destination::cluster::kubeconfig::Selection;
use crate::destination::cluster::lifecycle::{self, ClusterReport, InstallRun, Waits};
use crate::destination::cluster::lock;
use crate::destination::cluster::relocate::{self, Relocation};
use crate::destination::cluster::values_secrets::{self, SecretRef};
use crate::destination::cluster::{self, objects};
use crate::destination::kube::Action;
use crate::destination::site::SiteChoice;
use crate::oci::digest::Digest;
use crate::ops::destination::{locate_cluster, runtime};
use crate::sign::trust::Verdict;
use crate::sign::trusted;
use anyhow::{Context, Result};

pub(super) fn put(
    options: &InstallOptions,
    selection: &Selection,
    setup: &ClusterSetup,
    action: Action,
    events: &Events,
) -> Result<(ClusterReport, Verdict)> {
    let located = locate_cluster(selection, true)?;
    let bundle = &options.bundle;
    let trusted = trusted::open(bundle, options.base.as_deref(), &options.trust)?;
    let reader = &trusted.reader;
    let components = trusted.components(&options.skip)?;
    let given = options.values.read(bundle, &components)?;
    let asked = options.values.environment(bundle, &reader.head.manifest)?;
    let manifest = &reader.head.manifest;
    let left_to_base = left_to_base(manifest, &components, |d| reader.base_holds(d));
    if let Some(base) = manifest.base.as_ref().filter(|_| !left_to_base.is_empty()) {
        usage!(
            "{} is a differential bundle that leaves {} to its base {}; give that bundle with --base, or install from the full bundle of this version",
            bundle.display(),
            left_to_base.join(", "),
            base.describe()
        );
    }
    // The cluster is asked before every byte is hashed: a wrong kubeconfig
    // or a cluster out of reach is said at once, not minutes later.
    let runtime = runtime()?;
    let (client, capabilities) = runtime.block_on(async {
        let client = located.client().await?;
        let capabilities = cluster::capabilities(&client).await?;
        Ok::<_, cluster::ClusterError>((client, capabilities))
    })?;
    // Checks that depend on the site's values run once those are known.
    runtime.block_on(crate::ops::preflight::before_install(
        &client,
        &capabilities,
        &crate::ops::preflight::unconditional(&manifest.preflight),
        bundle,
        events.warn,
    ))?;
    let bar = events.bar("Verifying", trusted.reader.source().len().unwrap_or(0));
    trusted
        .verify_every_byte(&mut |n| bar.iter().for_each(|b| b.inc(n)))
        .with_context(|| format!("{} failed verification; nothing was installed", bundle.display()))?;
    if let Some(bar) = bar {
        bar.finish("Verified", &bundle.display().to_string());
    }
    let platform_gaps = platform_gaps(reader, &components, &runtime.block_on(cluster::node_platforms(&client)));
    let images = components.iter().map(|c| c.images.len()).sum::<usize>();
    if setup.registry.is_none() && images > 0 {
        (events.warn)(&format!(
            "no --registry: the bundle's {images} images keep their source names, so the cluster's nodes must be able to pull them from there"
        ));
    }
    let (name, version) = (&manifest.metadata.name, &manifest.metadata.version);
    let pull_secret = relocate::pull_secret_name(name);
    let relocation = setup.registry.clone().map(|destination| Relocation {
        destination,
        keep_registry_host: setup.keep_registry_host,
        images: components.iter().flat_map(|c| &c.images).collect(),
        credentials: setup.credentials.clone(),
        pull_secret: pull_secret.clone(),
    });
    let digest = Digest::of(&reader.head.manifest_bytes).to_string();
    let run = InstallRun {
        action,
        name,
        version,
        digest: &digest,
        keep: options.keep,
        history_max: setup.history_max,
        waits: Waits { hooks: setup.timeout, ready: setup.wait.then_some(setup.timeout) },
        dry_run: setup.dry_run,
        adopt: setup.adopt,
        force_conflicts: setup.force_conflicts,
        rollback_on_failure: setup.rollback_on_failure,
    };
    let dry_run = run.dry_run;
    let work = async {
        // A run before this one that did not finish going back does first.
        if !dry_run {
            if let Some(finished) = lifecycle::finish_going_back(&client, &run, events.progress).await? {
                (events.warn)(&finished.describe());
            }
        }
        let charts: Vec<(String, String)> = components
            .iter()
            .flat_map(|c| &c.charts)
            .map(|chart| (objects::chart_namespace(chart), chart.name.clone()))
            .collect();
        let plan = lifecycle::plan(&client, &run, &charts).await?;
        let values = options.values.layered(given, plan.site_values.as_ref());
        let secrets_read = options.values.secrets_read(&plan.values_secrets);
        let from_secrets = read_values_secrets(&client, &secrets_read, bundle, &components).await?;
        let environment = super::environment_to_install(asked, plan.environment.as_deref(), manifest)?;
        let from_secrets = from_secrets.as_ref().map(|values| (secrets_read.as_slice(), values));
        let site = SiteChoice { environment, values: &values, from_secrets };
        let switched_on = crate::ops::preflight::switched_on(&manifest.preflight, reader, &components, site)?;
        crate::ops::preflight::before_install(&client, &capabilities, &switched_on, bundle, events.warn).await?;
        let desired = objects::desired(reader, &components, &capabilities, relocation.as_ref(), &plan.render, site)?;
        lifecycle::install(&client, desired, run, plan, events.progress).await
    };
    let report = runtime.block_on(async {
        match dry_run {
            true => work.await,
            false => lock::holding(&client, name, true, work).await,
        }
    })?;
    Ok((ClusterReport { platform_gaps, pull_secret, ..report }, trusted.verdict))
}

/// The values in the Secrets named (none: None), keyed by chart as the
/// values given are.
async fn read_values_secrets(
    client: &kube::Client,
    secrets: &[String],
    bundle: &std::path::Path,
    components: &[&Component],
) -> Result<Option<crate::chart::template::Map>, cluster::ClusterError> {
    if secrets.is_empty() {
        return Ok(None);
    }
    let bad = |detail: String| cluster::ClusterError::ValuesSecret { secret: secrets.join(", "), detail };
    let refs = secrets.iter().map(|s| SecretRef::parse(s)).collect::<Result<Vec<_>, _>>().map_err(bad)?;
    let values = values_secrets::read(client, &refs).await?;
    super::keyed_by_chart(&values, "its values", bundle, components).map_err(bad)?;
    Ok(Some(values))
}

/// For each platform of the cluster's nodes, the carried images that have
/// no manifest for it (a bundle made for amd64 in a cluster with arm64
/// nodes), said with the nodes, for a warning: the pods may be kept off
/// those nodes by their charts, so this refuses nothing.
fn platform_gaps(
    reader: &BundleReader,
    components: &[&Component],
    nodes: &std::collections::BTreeMap<crate::oci::manifest::Platform, Vec<String>>,
) -> Vec<String> {
    let images: Vec<_> = components.iter().flat_map(|c| &c.images).collect();
    let mut gaps = Vec::new();
    for (platform, names) in nodes {
        for image in &images {
            if let Err(e) = crate::destination::k3s::images::check_platform(reader, &[*image], platform) {
                gaps.push(format!(
                    "{e}, the platform of node(s) {}: its pods cannot start there; keep them off those nodes, or create the bundle with --platform {platform} too",
                    names.join(", ")
                ));
            }
        }
    }
    gaps
}

/// What a differential bundle leaves to its base, and `at_hand` cannot
/// give, that installing into a cluster reads (charts, values, CRDs,
/// manifests). Images come from the registry, so a bundle that carries all
/// of these serves as it is.
fn left_to_base(
    manifest: &BundleManifest,
    components: &[&Component],
    at_hand: impl Fn(&Digest) -> bool,
) -> Vec<String> {
    components
        .iter()
        .flat_map(|c| {
            let charts = c.charts.iter().flat_map(|ch| {
                std::iter::once((&ch.archive_digest, format!("chart {}", ch.name)))
                    .chain(ch.values_files.iter().map(|v| (&v.digest, format!("values file {}", v.name))))
            });
            let documents = c.crds.iter().chain(&c.manifests).map(|d| (&d.digest, d.name.clone()));
            charts.chain(documents).collect::<Vec<_>>()
        })
        .filter(|(digest, _)| manifest.find_blob(digest).is_some_and(|b| b.in_base) && !at_hand(digest))
        .map(|(_, what)| what)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_a_differential_bundle_leaves_that_a_cluster_install_reads() {
        let digest = |s: &str| Digest::of(s.as_bytes()).to_string();
        let blob = |s: &str, in_base: bool| serde_json::json!({"digest": digest(s), "size": 1, "mediaType": "x", "storedSize": 1, "inBase": in_base});
        // A manifest lists its blobs sorted by digest.
        let mut blobs =
            vec![blob("tgz", true), blob("values", false), blob("yaml", true), blob("image", true), blob("oci", true)];
        blobs.sort_by_key(|b| b["digest"].as_str().unwrap().to_string());
        let manifest: BundleManifest = serde_json::from_value(serde_json::json!({
            "format": 1, "metadata": {"name": "n", "version": "1"}, "createdBy": "test",
            "components": [{"name": "app", "required": true,
                "charts": [{"name": "web", "chartName": "web", "version": "1", "source": "s", "digest": digest("oci"),
                            "archiveDigest": digest("tgz"), "size": 1,
                            "valuesFiles": [{"name": "site.yaml", "source": "s", "digest": digest("values"), "size": 1}]}],
                "manifests": [{"name": "app.yaml", "source": "s", "digest": digest("yaml"), "size": 1}],
                "images": [{"reference": "r", "source": "s", "digest": digest("image"), "mediaType": "m", "size": 1}]}],
            "blobs": blobs,
        }))
        .unwrap();
        let components: Vec<&Component> = manifest.components.iter().collect();
        // The image and the chart's OCI manifest are not read; the rest is.
        assert_eq!(left_to_base(&manifest, &components, |_| false), ["chart web", "app.yaml"]);
        // A base at hand that holds the chart leaves only the manifest.
        let archive = Digest::of(b"tgz");
        assert_eq!(left_to_base(&manifest, &components, |d| *d == archive), ["app.yaml"]);
    }
}
