use super::trust::TrustArgs;
use crate::oci::manifest::Platform;
use crate::ops::export::host_platform;
use crate::ops::install::{install_k3s, InstallOptions};
use crate::output::Printer;
use crate::target::k3s::install::history;
use anyhow::{bail, Result};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    bundle: PathBuf,
    /// Install onto this K3s node (the only target so far).
    #[arg(long)]
    k3s: bool,
    /// Make every path relative to this directory (image building, tests).
    #[arg(long, default_value = "/")]
    root: PathBuf,
    /// Node platform (default: this machine's).
    #[arg(long, value_parser = super::parse_platform)]
    platform: Option<Platform>,
    /// Leave out an optional component (repeatable).
    #[arg(long)]
    skip: Vec<String>,
    #[command(flatten)]
    trust: TrustArgs,
}

pub fn run(args: Args, printer: &Printer) -> Result<()> {
    if !args.k3s {
        bail!("choose a target: --k3s (installing into a cluster with --kubeconfig is not built yet)");
    }
    let platform = args.platform.unwrap_or_else(host_platform);
    let options = InstallOptions {
        bundle: args.bundle.clone(),
        root: args.root,
        platform,
        skip: args.skip,
        trust: args.trust.options(),
    };
    let (report, verdict) = install_k3s(&options)?;
    super::trust::report(printer, &args.bundle, &verdict);
    for path in &report.changed {
        printer.status("Wrote", &format!("/{path}"));
    }
    let r = &report.revision;
    printer.data(&format!(
        "{} {}: revision {} ({} files, {} changed)",
        r.name,
        r.version,
        r.revision,
        r.files.len(),
        report.changed.len()
    ));
    Ok(())
}

#[derive(clap::Args)]
pub struct HistoryArgs {
    /// Bundle name (metadata.name).
    name: String,
    #[arg(long)]
    k3s: bool,
    #[arg(long, default_value = "/")]
    root: PathBuf,
}

pub fn run_history(args: HistoryArgs, printer: &Printer) -> Result<()> {
    let revisions = history(&args.root, &args.name)?;
    if revisions.is_empty() {
        bail!("no revision of `{}` is installed under {}", args.name, args.root.display());
    }
    for r in revisions {
        printer.data(&format!(
            "{:>4}  {} {}  {}  {} files",
            r.revision,
            r.name,
            r.version,
            r.manifest_digest,
            r.files.len()
        ));
    }
    Ok(())
}
