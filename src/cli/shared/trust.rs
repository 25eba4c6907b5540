//! `--key` and `--allow-unsigned`, for every command that reads a bundle it
//! must trust, and how the verdict is said.

use crate::output::Printer;
use crate::sign::trust::TrustOptions;
use crate::sign::trust::{short_id, Verdict};
use std::path::PathBuf;

/// Which keys a bundle must be signed by.
#[derive(clap::Args)]
pub struct TrustArgs {
    /// Trusted public key (PEM); repeatable, any one suffices. Also read from
    /// AIRLOCK_TRUSTED_KEYS and ~/.config/airlock/trusted-keys/.
    #[arg(long = "key", value_name = "PUB")]
    keys: Vec<PathBuf>,
    /// Accept a bundle without checking its signature (prints a warning).
    #[arg(long)]
    allow_unsigned: bool,
}

impl TrustArgs {
    pub fn options(self) -> TrustOptions {
        TrustOptions { keys: self.keys, allow_unsigned: self.allow_unsigned }
    }
}

pub fn report(printer: &Printer, bundle: &std::path::Path, verdict: &Verdict) {
    match verdict {
        Verdict::Trusted { key_id, key_path } => {
            printer.status("Signed", &format!("by key {} ({})", short_id(key_id), key_path.display()))
        }
        Verdict::NotChecked => printer.warn(&format!(
            "the signature of {} was not checked (--allow-unsigned); its origin is unproven",
            bundle.display()
        )),
    }
}
