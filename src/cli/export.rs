//! `airlock export BUNDLE`: calls `ops::export::export` (one image, as an
//! OCI layout) or `ops::export::export_images_tar` (every image, as a
//! tarball for containerd and K3s), and prints what was written (or JSON).

use super::shared::trust::{self, TrustArgs};
use crate::oci::manifest::Platform;
use crate::ops::export::{export, export_images_tar};
use crate::output::{human_bytes, Printer};
use crate::sign::trust::Verdict;
use anyhow::Result;
use serde_json::json;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    bundle: PathBuf,
    /// Image reference (`docker.io/library/redis:7`, `redis:7`) or digest,
    /// for --oci-layout.
    image: Option<String>,
    /// Directory to write one image into as an OCI image layout (created if missing).
    #[arg(long, conflicts_with = "images_tar")]
    oci_layout: Option<PathBuf>,
    /// Write every image, for one platform, as a tarball for `ctr images
    /// import` or K3s's /var/lib/rancher/k3s/agent/images/.
    #[arg(long)]
    images_tar: Option<PathBuf>,
    /// Platform for --images-tar (default: this machine's).
    #[arg(long, value_parser = super::parse_platform)]
    platform: Option<Platform>,
    #[command(flatten)]
    trust: TrustArgs,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args, printer: &Printer) -> Result<()> {
    let trust_options = args.trust.options();
    match (args.oci_layout, args.images_tar, args.image) {
        (Some(layout), None, Some(image)) => {
            let (report, verdict) = export(&args.bundle, &image, &layout, &trust_options)?;
            trust::report(printer, &args.bundle, &verdict);
            if args.json {
                return print_json(
                    printer,
                    json!({
                        "format": "oci-layout",
                        "path": report.layout,
                        "reference": report.reference,
                        "digest": report.digest,
                        "refName": report.ref_name,
                        "blobs": report.blobs,
                    }),
                    &verdict,
                );
            }
            printer.data(&format!(
                "exported {}@{} ({} blobs) to oci:{}:{}",
                report.reference,
                report.digest,
                report.blobs,
                report.layout.display(),
                report.ref_name
            ));
        }
        (None, Some(out), None) => {
            let platform = args.platform.unwrap_or_else(Platform::host);
            let progress = printer.progress();
            let (report, verdict) = export_images_tar(&args.bundle, &platform, &out, &trust_options, &progress)?;
            trust::report(printer, &args.bundle, &verdict);
            if args.json {
                return print_json(
                    printer,
                    json!({
                        "format": "images-tar",
                        "path": out,
                        "platform": platform.to_string(),
                        "images": report.images,
                        "bytes": report.bytes,
                        "digest": report.digest,
                    }),
                    &verdict,
                );
            }
            printer.data(&format!(
                "wrote {} images for {platform} to {} ({})",
                report.images.len(),
                out.display(),
                human_bytes(report.bytes)
            ));
        }
        _ => usage!("give either IMAGE with --oci-layout DIR, or --images-tar FILE (without IMAGE)"),
    }
    Ok(())
}

/// The report with the signature's verdict, as `verify --json` gives it.
fn print_json(printer: &Printer, mut report: serde_json::Value, verdict: &Verdict) -> Result<()> {
    let signed_by = match verdict {
        Verdict::Trusted { key_id, .. } => Some(key_id.clone()),
        Verdict::NotChecked => None,
    };
    report["signatureChecked"] = signed_by.is_some().into();
    report["signedBy"] = signed_by.into();
    printer.data(&serde_json::to_string_pretty(&report)?);
    Ok(())
}
