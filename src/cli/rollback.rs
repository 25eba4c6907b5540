//! `airlock rollback NAME`: calls `ops::rollback::rollback` on a K3s node
//! (`--k3s`) or a cluster, and prints its report.

use super::shared::reports::print_installed;
use super::shared::target::TargetArgs;
use crate::ops::rollback::{rollback, RollbackOptions};
use crate::output::Printer;
use anyhow::Result;

#[derive(clap::Args)]
pub struct Args {
    /// Bundle name (metadata.name).
    name: String,
    /// Revision to restore (default: the one before the newest; in a
    /// cluster, the newest that did not fail, or where a run cut short was
    /// going back to).
    #[arg(long, value_name = "REV")]
    to: Option<u32>,
    #[command(flatten)]
    target: TargetArgs,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args, printer: &Printer) -> Result<()> {
    let options = RollbackOptions {
        target: args.target.target()?,
        name: args.name,
        to: args.to,
        keep: args.target.keep_revisions,
        wait: args.target.wait,
        timeout: args.target.timeout,
        force_conflicts: args.target.force_conflicts,
        history_max: args.target.history_max(),
    };
    let installed = rollback(&options, &|status, what| printer.status(status, what))?;
    print_installed(printer, installed, args.json)
}
