//! Command-line definitions (clap) and dispatch. Each subcommand file parses
//! its arguments into an ops options struct, calls the op, prints the report.
//! No logic beyond that lives here.

/// Refuses a use of the command line found wrong after parsing: exit
/// code 2, as clap's own usage errors.
macro_rules! usage {
    ($($arg:tt)*) => {
        return Err(crate::diagnosis::Usage(format!($($arg)*)).into())
    };
}

mod completions;
mod copy;
mod create;
mod diff;
mod export;
mod history;
mod inspect;
mod inspect_html;
mod install;
mod key;
mod lint;
mod man;
mod preflight;
mod push;
mod rollback;
mod schema;
mod serve;
mod shared;
mod sign;
mod split;
mod template;
mod test;
mod uninstall;
mod upgrade;
mod verify;

use crate::output::Printer;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "airlock",
    version,
    about = "Carry Kubernetes applications across an air gap in one verifiable bundle"
)]
pub struct Cli {
    /// Print only results and errors.
    #[arg(long, short, global = true)]
    pub quiet: bool,
    /// Log what the libraries underneath do (kube, oci-client, the HTTP
    /// and TLS stacks) to stderr, credentials masked. AIRLOCK_LOG sets the
    /// filter instead (RUST_LOG syntax: `oci_client=trace,kube=debug`).
    #[arg(long, short = 'v', global = true)]
    pub debug: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Build a bundle from an airlock.yaml spec.
    Create(create::Args),
    /// Show what a bundle holds (reads only its head).
    Inspect(inspect::Args),
    /// Check the signature and every byte of a bundle.
    Verify(verify::Args),
    /// Print the JSON Schema of airlock.yaml (published as airlock.schema.json).
    Schema(schema::Args),
    /// Check a spec, its paths and charts (rendered in every environment) without pulling anything.
    Lint(lint::Args),
    /// What a new bundle changes against an earlier one: images, charts, rendered objects, CRDs, files, signers.
    Diff(diff::Args),
    /// Take images out: one as an OCI layout, or all as a containerd/K3s tarball.
    Export(export::Args),
    /// Manage signing keys.
    Key(key::Args),
    /// Sign a bundle in place.
    Sign(sign::Args),
    /// Push every image and chart of a bundle into a registry.
    Push(push::Args),
    /// Serve a bundle as a read-only OCI registry.
    Serve(serve::Args),
    /// Copy a bundle or its parts (to removable media), verifying; resumes.
    Copy(copy::Args),
    /// Write a bundle as parts of at most a given size (for FAT32 media).
    Split(split::Args),
    /// Render a chart as `helm template` does, offline.
    Template(template::Args),
    /// Install a bundle onto a K3s node, or into a cluster through its API.
    Install(install::Args),
    /// Replace an installed bundle with a new version of it.
    Upgrade(upgrade::Args),
    /// Check a cluster against what a bundle requires (its `preflight:`).
    Preflight(preflight::Args),
    /// Restore an earlier installed revision of a bundle.
    Rollback(rollback::Args),
    /// List the installed revisions of a bundle.
    History(history::Args),
    /// Remove an installed bundle from a cluster or a K3s node.
    Uninstall(uninstall::Args),
    /// Run the chart tests of a bundle installed in a cluster (`helm test`).
    Test(test::Args),
    /// Print the completion script for a shell (bash, zsh, fish, elvish, powershell).
    Completions(completions::Args),
    /// Print the manual page (roff), or write one per command with --dir.
    Man(man::Args),
}

/// clap value parser for `--platform os/arch[/variant]`.
pub(crate) fn parse_platform(s: &str) -> Result<crate::oci::manifest::Platform, String> {
    crate::oci::manifest::Platform::parse(s).ok_or_else(|| format!("`{s}` is not os/arch[/variant]"))
}

/// The exit code of a failed run: 1 the work failed, 2 a usage error, 3
/// the bundle or its signature is bad (see `diagnosis`).
pub fn exit_code(err: &anyhow::Error) -> i32 {
    crate::diagnosis::diagnose(err).exit_code
}

pub fn run(cli: Cli) -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args_os().map(|a| a.to_string_lossy().into_owned()).collect();
    crate::logging::init(cli.debug, &args);
    let printer = Printer::new(cli.quiet);
    match cli.command {
        Command::Create(args) => create::run(args, &printer),
        Command::Inspect(args) => inspect::run(args, &printer),
        Command::Verify(args) => verify::run(args, &printer),
        Command::Diff(args) => diff::run(args, &printer),
        Command::Lint(args) => lint::run(args, &printer),
        Command::Schema(args) => schema::run(args, &printer),
        Command::Export(args) => export::run(args, &printer),
        Command::Key(args) => key::run(args, &printer),
        Command::Sign(args) => sign::run(args, &printer),
        Command::Push(args) => push::run(args, &printer),
        Command::Serve(args) => serve::run(args, &printer),
        Command::Copy(args) => copy::run(args, &printer),
        Command::Split(args) => split::run(args, &printer),
        Command::Template(args) => template::run(args, &printer),
        Command::Install(args) => install::run(args, &printer),
        Command::Upgrade(args) => upgrade::run(args, &printer),
        Command::Preflight(args) => preflight::run(args, &printer),
        Command::Rollback(args) => rollback::run(args, &printer),
        Command::History(args) => history::run(args, &printer),
        Command::Uninstall(args) => uninstall::run(args, &printer),
        Command::Test(args) => test::run(args, &printer),
        Command::Completions(args) => completions::run(args, &printer),
        Command::Man(args) => man::run(args, &printer),
    }
}
