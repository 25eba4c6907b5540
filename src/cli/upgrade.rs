//! `airlock upgrade BUNDLE`: calls `ops::install::upgrade` on a K3s node
//! (`--k3s`) or a cluster, and prints its report.

use super::shared::reports::print_installed;
use super::shared::target::InstallArgs;
use super::shared::trust;
use crate::ops::install::{upgrade, Events};
use crate::output::Printer;
use anyhow::Result;

pub type Args = InstallArgs;

pub fn run(args: Args, printer: &Printer) -> Result<()> {
    let json = args.json;
    let options = args.options()?;
    let bars = printer.progress();
    let events = Events {
        progress: &|status, what| printer.status(status, what),
        warn: &|text| printer.warn(text),
        bars: Some(&bars),
    };
    let (installed, verdict) = upgrade(&options, &events)?;
    trust::report(printer, &options.bundle, &verdict);
    print_installed(printer, installed, json)
}
