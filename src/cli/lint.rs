//! `airlock lint [SPEC]`: calls `ops::lint::lint` and prints each finding
//! with its spec line (or JSON). Exit code 1 when there is an error; a
//! spec that does not load fails as `create` would, naming its line.

use crate::ops::lint::{lint, Severity};
use crate::output::Printer;
use anyhow::Result;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// The bundle spec [default: airlock.yaml]
    #[arg(default_value = "airlock.yaml")]
    spec: PathBuf,
    /// Print the findings as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args, printer: &Printer) -> Result<()> {
    let report = lint(&args.spec)?;
    if args.json {
        printer.data(&serde_json::to_string_pretty(&report)?);
    } else {
        for f in &report.findings {
            let label = match f.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
            };
            printer.data(&format!("{}: {label}: {}", f.location, f.message));
        }
        printer.data(&format!(
            "{}: {} error(s), {} warning(s); {} paths, {} image references and {} charts (in every environment) checked, nothing pulled",
            report.spec.display(),
            report.errors(),
            report.findings.len() - report.errors(),
            report.paths_checked,
            report.images_checked,
            report.charts_rendered
        ));
    }
    if report.errors() > 0 {
        anyhow::bail!("{} has {} error(s)", args.spec.display(), report.errors());
    }
    Ok(())
}
