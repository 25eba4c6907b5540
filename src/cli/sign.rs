//! `airlock sign BUNDLE --key KEY`: calls `ops::sign::sign` and prints the
//! signatures the bundle now holds.

use crate::ops::sign::sign;
use crate::output::Printer;
use crate::sign::PrivateKey;
use anyhow::Result;
use std::path::{Path, PathBuf};

#[derive(clap::Args)]
pub struct Args {
    bundle: PathBuf,
    /// Encrypted private key (from `airlock key generate` or `cosign generate-key-pair`).
    #[arg(long)]
    key: PathBuf,
}

/// Opens a private key, asking for its password when needed.
pub fn open_key(path: &Path) -> Result<PrivateKey> {
    let password = crate::sign::password::read(&format!("Password for {}: ", path.display()))?;
    Ok(PrivateKey::load(path, password.as_bytes())?)
}

pub fn run(args: Args, printer: &Printer) -> Result<()> {
    let key = open_key(&args.key)?;
    let report = sign(&args.bundle, &key)?;
    printer.data(&format!(
        "signed {} with key {} ({} signature{})",
        args.bundle.display(),
        report.key_id,
        report.signatures,
        if report.signatures == 1 { "" } else { "s" }
    ));
    Ok(())
}
