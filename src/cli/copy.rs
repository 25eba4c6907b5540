//! `airlock copy SRC DEST`: calls `ops::copy::copy` (verifying, resumable)
//! and prints what was copied.

use crate::ops::copy::copy;
use crate::output::{human_bytes, Printer};
use anyhow::Result;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// A bundle, one of its parts, or the directory holding its parts.
    source: PathBuf,
    /// Directory to copy into (a mounted USB stick, say).
    dest_dir: PathBuf,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args, printer: &Printer) -> Result<()> {
    let report = copy(&args.source, &args.dest_dir, &printer.progress())?;
    if args.json {
        printer.data(&serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    printer.data(&format!(
        "copied {} file{} ({}) into {}: {} written, {} already there; {}",
        report.files.len(),
        if report.files.len() == 1 { "" } else { "s" },
        human_bytes(report.total_bytes),
        args.dest_dir.display(),
        human_bytes(report.written_bytes),
        human_bytes(report.reused_bytes),
        if report.verify.blobs > 0 { "every blob verified" } else { "every part's checksum verified" }
    ));
    Ok(())
}
