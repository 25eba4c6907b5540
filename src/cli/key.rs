//! `airlock key generate`: calls `ops::key::generate` and prints the key
//! files written (or JSON).

use crate::ops::key::generate;
use crate::output::Printer;
use anyhow::Result;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: KeyCommand,
}

#[derive(clap::Subcommand)]
enum KeyCommand {
    /// Create a cosign-compatible ECDSA P-256 key pair (PREFIX.key, encrypted, and PREFIX.pub).
    Generate {
        /// Path prefix of the two files.
        #[arg(long, default_value = "airlock")]
        output_key_prefix: PathBuf,
        /// Print the key files and the key id as JSON.
        #[arg(long)]
        json: bool,
    },
}

pub fn run(args: Args, printer: &Printer) -> Result<()> {
    match args.command {
        KeyCommand::Generate { output_key_prefix, json } => {
            let password = crate::sign::password::read_new()?;
            let report = generate(&output_key_prefix, &password)?;
            if json {
                printer.data(&serde_json::to_string_pretty(&serde_json::json!({
                    "privateKey": report.private_key,
                    "publicKey": report.public_key,
                    "keyId": report.key_id,
                }))?);
                return Ok(());
            }
            printer.data(&format!(
                "private key: {}\npublic key:  {}\nkey id:      {}",
                report.private_key.display(),
                report.public_key.display(),
                report.key_id
            ));
        }
    }
    Ok(())
}
