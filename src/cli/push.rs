//! `airlock push BUNDLE --registry HOST`: calls `ops::push::push` and prints
//! what was uploaded (and the relocation map's path).

use super::shared::registry::RegistryArgs;
use super::shared::trust::TrustArgs;
use crate::destination::registry::DigestCheck;
use crate::ops::push::{push, PushOptions};
use crate::output::{human_bytes, Printer};
use anyhow::Result;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    bundle: PathBuf,
    /// Destination: HOST[:PORT][/PREFIX].
    #[arg(long)]
    registry: String,
    /// Keep each image's source registry in its pushed name (HOST/PREFIX/quay.io/x/y).
    #[arg(long)]
    keep_registry_host: bool,
    /// Write original reference -> pushed reference@digest as JSON.
    #[arg(long)]
    relocation_out: Option<PathBuf>,
    /// For a differential bundle: the full bundle it was made against, for
    /// the blobs the registry does not hold yet.
    #[arg(long, value_name = "BUNDLE")]
    base: Option<PathBuf>,
    /// Blobs uploaded at once [default: 8; for a registry on this machine, one per core]
    #[arg(long)]
    concurrency: Option<usize>,
    #[command(flatten)]
    registry_args: RegistryArgs,
    #[command(flatten)]
    trust: TrustArgs,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args, printer: &Printer) -> Result<()> {
    let options = PushOptions {
        bundle: args.bundle.clone(),
        destination: args.registry,
        keep_registry_host: args.keep_registry_host,
        relocation_out: args.relocation_out,
        base: args.base,
        concurrency: args.concurrency,
        registry: args.registry_args.options()?,
        trust: args.trust.options(),
    };
    let runtime = tokio::runtime::Runtime::new()?;
    let (report, verdict) = runtime.block_on(push(options, &printer.progress()))?;
    super::shared::trust::report(printer, &args.bundle, &verdict);
    if args.json {
        printer.data(&serde_json::to_string_pretty(&report)?);
    } else {
        for (from, to) in &report.relocations {
            printer.data(&format!("{from} -> {to}"));
        }
        let s = &report.stats;
        printer.data(&format!(
            "{} images, {} charts: {} blobs uploaded ({}), {} mounted, {} already present, {} manifests",
            report.images,
            report.charts,
            s.uploaded,
            human_bytes(s.uploaded_bytes),
            s.mounted,
            s.skipped,
            s.manifests
        ));
        if s.referrer_tags > 0 {
            printer.data(&format!(
                "{} referrers index(es) written under sha256-<digest> tags (the registry has no referrers API)",
                s.referrer_tags
            ));
        }
        match s.digest_check {
            DigestCheck::Registry => printer.data("digests of uploaded blobs checked by the registry"),
            DigestCheck::Airlock => {
                printer.data("digests of uploaded blobs checked by airlock (the registry does not check them)")
            }
            DigestCheck::None => {}
        }
    }
    Ok(())
}
