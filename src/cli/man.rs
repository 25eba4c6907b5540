//! `airlock man`: the manual page (roff), generated from these clap
//! definitions (clap_mangen); `--dir DIR` writes one page per command.

use crate::output::Printer;
use anyhow::{Context, Result};
use clap::CommandFactory;
use std::path::{Path, PathBuf};

#[derive(clap::Args)]
#[command(after_help = "Read it with `airlock man | man -l -`.")]
pub struct Args {
    /// Write airlock.1 and a page per command (airlock-create.1,
    /// airlock-key-generate.1, ...) into this directory instead.
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
}

pub fn run(args: Args, printer: &Printer) -> Result<()> {
    let mut command = super::Cli::command().disable_help_subcommand(true);
    command.build();
    let Some(dir) = args.dir else {
        printer.data(String::from_utf8(render(command)?)?.trim_end());
        return Ok(());
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    for path in write_pages(command, &dir)? {
        printer.data(&path.display().to_string());
    }
    Ok(())
}

fn render(command: clap::Command) -> Result<Vec<u8>> {
    let mut page = Vec::new();
    page_of(command).render(&mut page)?;
    Ok(page)
}

fn page_of(command: clap::Command) -> clap_mangen::Man {
    clap_mangen::Man::new(command).manual("airlock manual")
}

/// The page of `command` and of each of its commands, depth first; their
/// paths.
fn write_pages(command: clap::Command, dir: &Path) -> Result<Vec<PathBuf>> {
    let mut written = vec![dir.join(page_of(command.clone()).get_filename())];
    std::fs::write(&written[0], render(command.clone())?)
        .with_context(|| format!("cannot write {}", written[0].display()))?;
    for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
        written.extend(write_pages(sub.clone(), dir)?);
    }
    Ok(written)
}
