//! `airlock sign BUNDLE --key KEY` (or `--sigstore-bundle FILE`, a
//! signature cosign made): calls `ops::sign` and prints the signatures the
//! bundle now holds (or JSON).

use crate::ops::sign::{attach, sign};
use crate::output::Printer;
use crate::sign::PrivateKey;
use anyhow::Result;
use std::path::{Path, PathBuf};

#[derive(clap::Args)]
pub struct Args {
    bundle: PathBuf,
    /// Encrypted private key (from `airlock key generate` or `cosign generate-key-pair`).
    #[arg(long, required_unless_present = "sigstore_bundle", conflicts_with = "sigstore_bundle")]
    key: Option<PathBuf>,
    /// A signature made elsewhere: the Sigstore bundle `cosign sign-blob --bundle FILE`
    /// wrote for this bundle's `airlock/bundle.json` (a KMS or hardware key, say).
    #[arg(long, value_name = "FILE")]
    sigstore_bundle: Option<PathBuf>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

/// Opens a private key, asking for its password when needed.
pub fn open_key(path: &Path) -> Result<PrivateKey> {
    let password = crate::sign::password::read(&format!("Password for {}: ", path.display()))?;
    Ok(PrivateKey::load(path, password.as_bytes())?)
}

pub fn run(args: Args, printer: &Printer) -> Result<()> {
    let report = match (&args.key, &args.sigstore_bundle) {
        (Some(key), _) => sign(&args.bundle, &open_key(key)?)?,
        (None, Some(file)) => attach(&args.bundle, file)?,
        (None, None) => unreachable!("clap requires --key or --sigstore-bundle"),
    };
    if args.json {
        printer.data(&serde_json::to_string_pretty(&serde_json::json!({
            "bundle": args.bundle,
            "keyId": report.key_id,
            "signatures": report.signatures,
            "sigstoreBundle": args.sigstore_bundle,
        }))?);
        return Ok(());
    }
    printer.data(&format!(
        "signed {} with key {} ({} signature{})",
        args.bundle.display(),
        report.key_id,
        report.signatures,
        if report.signatures == 1 { "" } else { "s" }
    ));
    Ok(())
}
