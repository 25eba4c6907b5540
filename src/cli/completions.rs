//! `airlock completions SHELL`: the shell's completion script, generated
//! from these clap definitions (clap_complete).

use crate::output::Printer;
use anyhow::Result;
use clap::CommandFactory;
use clap_complete::Shell;

#[derive(clap::Args)]
#[command(after_help = "Load it for this shell with `source <(airlock completions bash)`, or install it where the \
                        shell looks: /usr/share/bash-completion/completions/airlock, a directory of $fpath as \
                        _airlock (zsh), ~/.config/fish/completions/airlock.fish.")]
pub struct Args {
    /// The shell to complete in.
    shell: Shell,
}

pub fn run(args: Args, printer: &Printer) -> Result<()> {
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut super::Cli::command(), "airlock", &mut script);
    printer.data(String::from_utf8(script)?.trim_end());
    Ok(())
}
