use crate::ops::verify::verify;
use crate::output::{human_bytes, Printer};
use anyhow::Result;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    bundle: PathBuf,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args, printer: &Printer) -> Result<()> {
    let start = std::time::Instant::now();
    let report = verify(&args.bundle, &printer.progress())?;
    let secs = start.elapsed().as_secs_f64();
    if args.json {
        printer.data(&serde_json::to_string_pretty(&serde_json::json!({
            "ok": true,
            "blobs": report.blobs,
            "bytes": report.bytes,
            "storedBytes": report.stored_bytes,
            "manifestDigest": report.manifest_digest,
            "seconds": secs,
        }))?);
    } else {
        printer.data(&format!(
            "OK: {} blobs, {} checked ({} read) in {:.2}s",
            report.blobs,
            human_bytes(report.bytes),
            human_bytes(report.stored_bytes),
            secs
        ));
    }
    Ok(())
}
