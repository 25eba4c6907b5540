use super::trust::TrustArgs;
use crate::ops::verify::verify;
use crate::output::{human_bytes, Printer};
use crate::sign::trust::Verdict;
use anyhow::Result;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    bundle: PathBuf,
    #[command(flatten)]
    trust: TrustArgs,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args, printer: &Printer) -> Result<()> {
    let start = std::time::Instant::now();
    let (report, verdict) = verify(&args.bundle, &args.trust.options(), &printer.progress())?;
    let secs = start.elapsed().as_secs_f64();
    super::trust::report(printer, &args.bundle, &verdict);
    let signed_by = match &verdict {
        Verdict::Trusted { key_id, .. } => Some(key_id.clone()),
        Verdict::NotChecked => None,
    };
    if args.json {
        printer.data(&serde_json::to_string_pretty(&serde_json::json!({
            "ok": true,
            "signatureChecked": signed_by.is_some(),
            "signedBy": signed_by,
            "blobs": report.blobs,
            "bytes": report.bytes,
            "storedBytes": report.stored_bytes,
            "manifestDigest": report.manifest_digest,
            "seconds": secs,
        }))?);
    } else {
        printer.data(&format!(
            "OK: {} blobs, {} checked ({} read) in {:.2}s{}{}",
            report.blobs,
            human_bytes(report.bytes),
            human_bytes(report.stored_bytes),
            secs,
            if signed_by.is_some() { ", signature verified" } else { ", signature NOT checked" },
            if report.in_base > 0 {
                format!("; {} more blobs are left to the base bundle (differential)", report.in_base)
            } else {
                String::new()
            }
        ));
    }
    Ok(())
}
