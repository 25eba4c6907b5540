//! `airlock verify BUNDLE`: calls `ops::verify::verify` and prints what was
//! checked.

use super::shared::trust::TrustArgs;
use crate::ops::verify::verify;
use crate::output::{human_bytes, Printer};
use crate::sign::trust::Verdict;
use anyhow::Result;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    bundle: PathBuf,
    /// For a differential bundle: the full bundle it was made against;
    /// every blob left to it is checked there too.
    #[arg(long, value_name = "BUNDLE")]
    base: Option<PathBuf>,
    #[command(flatten)]
    trust: TrustArgs,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args, printer: &Printer) -> Result<()> {
    let start = std::time::Instant::now();
    let (report, verdict, base_bytes) =
        verify(&args.bundle, args.base.as_deref(), &args.trust.options(), &printer.progress())?;
    let secs = start.elapsed().as_secs_f64();
    super::shared::trust::report(printer, &args.bundle, &verdict);
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
            "inBase": report.in_base,
            "baseBytesChecked": base_bytes,
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
            match (report.in_base, base_bytes) {
                (0, _) => String::new(),
                (n, Some(bytes)) =>
                    format!("; the {n} blobs left to the base ({}) checked there too", human_bytes(bytes)),
                (n, None) => format!("; {n} more blobs are left to the base bundle (differential; --base checks them)"),
            }
        ));
    }
    Ok(())
}
