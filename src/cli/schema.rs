//! `airlock schema`: prints the JSON Schema of `airlock.yaml` (the one
//! published as `airlock.schema.json`), for editors and CI checks.

use crate::output::Printer;
use anyhow::Result;

#[derive(clap::Args)]
pub struct Args {}

pub fn run(_args: Args, printer: &Printer) -> Result<()> {
    printer.data(&serde_json::to_string_pretty(&crate::bundle_spec::json_schema())?);
    Ok(())
}
