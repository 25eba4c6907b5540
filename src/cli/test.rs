//! `airlock test NAME`: calls `ops::test::test` on a cluster and prints the
//! chart tests that passed.

use crate::destination::cluster::kubeconfig::Selection;
use crate::ops::test::{test, TestOptions};
use crate::output::Printer;
use anyhow::Result;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// Bundle name (metadata.name).
    name: String,
    /// The cluster's kubeconfig (default, as kubectl: the files in
    /// KUBECONFIG, else ~/.kube/config, else the cluster airlock runs in).
    #[arg(long, value_name = "FILE")]
    kubeconfig: Option<PathBuf>,
    /// The kubeconfig's context to use (default: its current-context).
    #[arg(long, value_name = "NAME")]
    context: Option<String>,
    /// How long the tests may take (`90s`, `5m`).
    #[arg(long, value_parser = humantime::parse_duration, default_value = "5m")]
    timeout: std::time::Duration,
}

pub fn run(args: Args, printer: &Printer) -> Result<()> {
    let options = TestOptions {
        name: args.name,
        cluster: Selection { kubeconfig: args.kubeconfig, context: args.context },
        timeout: args.timeout,
    };
    let tested = test(&options, &|status, what| printer.status(status, what))?;
    printer.data(&format!(
        "{} {} (revision {}): {} test hook(s) passed",
        tested.name,
        tested.version,
        tested.revision,
        tested.passed.len()
    ));
    Ok(())
}
