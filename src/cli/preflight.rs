//! `airlock preflight BUNDLE`: calls `ops::preflight::preflight` and prints
//! what each of the bundle's checks found in the cluster (or JSON); fails
//! when a strict one is not met.

use super::shared::target::SelectionArgs;
use crate::ops::preflight::{preflight, PreflightOptions};
use crate::output::Printer;
use anyhow::{bail, Result};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    bundle: PathBuf,
    #[command(flatten)]
    cluster: SelectionArgs,
    /// Print the outcomes as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args, printer: &Printer) -> Result<()> {
    let outcomes = preflight(&PreflightOptions { bundle: args.bundle.clone(), cluster: args.cluster.selection() })?;
    if args.json {
        printer.data(&serde_json::to_string_pretty(&outcomes)?);
    } else if outcomes.is_empty() {
        printer.data(&format!("{} has no preflight checks", args.bundle.display()));
    }
    for outcome in outcomes.iter().filter(|_| !args.json) {
        let mark = match (outcome.passed, outcome.strict) {
            (true, _) => "met    ",
            (false, true) => "FAILED ",
            (false, false) => "not met",
        };
        let strict = if outcome.strict { " (strict)" } else { "" };
        printer.data(&format!("{mark}  {}{strict}: {}", outcome.check, outcome.found));
    }
    let failed = outcomes.iter().filter(|o| o.strict && !o.passed).count();
    if failed > 0 {
        bail!("{failed} strict preflight check(s) not met: installing {} here would be refused", args.bundle.display());
    }
    Ok(())
}
