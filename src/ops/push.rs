//! `airlock push`: check the bundle's signature, then push every image and
//! chart into a registry, straight from the bundle file, and optionally
//! write the relocation map (original reference -> pushed reference@digest).

use crate::destination::registry::{execute, plan, Destination, PushStats};
use crate::oci::registry::{Registry, RegistryOptions};
use crate::output::Progress;
use crate::sign::trust::{TrustOptions, Verdict};
use crate::sign::trusted;
use anyhow::{Context, Result};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

pub struct PushOptions {
    pub bundle: PathBuf,
    pub destination: String,
    pub keep_registry_host: bool,
    pub relocation_out: Option<PathBuf>,
    /// For a differential bundle: the full bundle it was made against, for
    /// the blobs the registry lacks.
    pub base: Option<PathBuf>,
    /// Blobs uploaded at once; None: the destination's default.
    pub concurrency: Option<usize>,
    pub registry: RegistryOptions,
    pub trust: TrustOptions,
}

#[derive(Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PushReport {
    pub images: usize,
    pub charts: usize,
    #[serde(flatten)]
    pub stats: PushStats,
    /// Original reference -> pushed reference@digest.
    pub relocations: BTreeMap<String, String>,
}

pub async fn push(options: PushOptions, progress: &Progress) -> Result<(PushReport, Verdict)> {
    let destination = Destination::parse(&options.destination)?;
    // Signature first: nothing is sent for a bundle we do not trust.
    let trusted = trusted::open(&options.bundle, options.base.as_deref(), &options.trust)?;
    let (reader, verdict) = (Arc::new(trusted.reader), trusted.verdict);
    let targets = plan(&reader, &destination, options.keep_registry_host)?;
    let registry = Registry::new(options.registry.clone())?;

    let total: u64 = reader.head.manifest.blobs.iter().map(|b| b.size).sum();
    let bar = progress.bar(&format!("push to {}", destination.host), total);
    let on_bytes = {
        let bar = bar.clone();
        Arc::new(move |n: u64| bar.inc(n)) as Arc<dyn Fn(u64) + Send + Sync>
    };
    let concurrency = options.concurrency.unwrap_or_else(|| destination.default_concurrency());
    let stats = execute(&targets, reader.clone(), &registry, concurrency, on_bytes)
        .await
        .with_context(|| format!("cannot push {} to {}", options.bundle.display(), options.destination))?;
    bar.finish(
        "Pushed",
        &format!("{} ({} blobs uploaded, {} already there)", options.bundle.display(), stats.uploaded, stats.skipped),
    );

    let relocations: BTreeMap<String, String> =
        targets.iter().map(|t| (t.source.clone(), t.pushed_reference())).collect();
    if let Some(path) = &options.relocation_out {
        // 0600: owner-only, the mode the map has always had.
        crate::atomic_file::write(path, &serde_json::to_vec_pretty(&relocations)?, 0o600)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    let charts = reader.head.manifest.charts().count();
    Ok((PushReport { images: targets.len() - charts, charts, stats, relocations }, verdict))
}
