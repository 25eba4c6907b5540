//! `airlock test NAME`: calls `ops::test::test` on a cluster and prints the
//! chart tests that passed (or JSON).

use super::shared::target::SelectionArgs;
use crate::ops::test::{test, TestOptions};
use crate::output::Printer;
use anyhow::Result;

#[derive(clap::Args)]
pub struct Args {
    /// Bundle name (metadata.name).
    name: String,
    #[command(flatten)]
    cluster: SelectionArgs,
    /// How long the tests may take (`90s`, `5m`).
    #[arg(long, value_parser = humantime::parse_duration, default_value = "5m")]
    timeout: std::time::Duration,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args, printer: &Printer) -> Result<()> {
    let options = TestOptions { name: args.name, cluster: args.cluster.selection(), timeout: args.timeout };
    let tested = test(&options, &|status, what| printer.status(status, what))?;
    if args.json {
        printer.data(&serde_json::to_string_pretty(&serde_json::json!({
            "name": tested.name,
            "version": tested.version,
            "revision": tested.revision,
            "passed": tested.passed,
        }))?);
        return Ok(());
    }
    printer.data(&format!(
        "{} {} (revision {}): {} test hook(s) passed",
        tested.name,
        tested.version,
        tested.revision,
        tested.passed.len()
    ));
    Ok(())
}
