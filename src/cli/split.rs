//! `airlock split BUNDLE`: calls `ops::split::split` and prints the parts
//! written (or JSON).

use crate::ops::split::split;
use crate::output::{human_bytes, Printer};
use anyhow::Result;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// A bundle, one of its parts, or the directory holding its parts.
    bundle: PathBuf,
    /// Largest part, e.g. 4GiB, 700MB, 512MiB (each part adds a 1 KiB header).
    #[arg(long, value_parser = super::shared::size::parse_size)]
    max_part_size: u64,
    /// Directory for the parts.
    #[arg(long, short)]
    output: PathBuf,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args, printer: &Printer) -> Result<()> {
    let report = split(&args.bundle, args.max_part_size, &args.output, &printer.progress())?;
    if args.json {
        printer.data(&serde_json::to_string_pretty(&serde_json::json!({
            "bundle": args.bundle,
            "bundleBytes": report.bundle_bytes,
            "maxPartSize": args.max_part_size,
            "directory": args.output,
            "parts": report.parts,
        }))?);
        return Ok(());
    }
    printer.data(&format!(
        "{} ({}) split into {} parts in {}",
        args.bundle.display(),
        human_bytes(report.bundle_bytes),
        report.parts.len(),
        args.output.display()
    ));
    Ok(())
}
