use crate::ops::export::export;
use crate::output::Printer;
use anyhow::Result;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    bundle: PathBuf,
    /// Image reference (`docker.io/library/redis:7`, `redis:7`) or digest.
    image: String,
    /// Directory to write the OCI image layout into (created if missing).
    #[arg(long)]
    oci_layout: PathBuf,
}

pub fn run(args: Args, printer: &Printer) -> Result<()> {
    let report = export(&args.bundle, &args.image, &args.oci_layout)?;
    printer.data(&format!(
        "exported {}@{} ({} blobs) to oci:{}:{}",
        report.reference,
        report.digest,
        report.blobs,
        report.layout.display(),
        report.ref_name
    ));
    Ok(())
}
