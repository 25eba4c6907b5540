//! The flags of a connection to source or destination registries (plain
//! HTTP, CA files, credentials, a per-registry settings file).

use crate::oci::registry::RegistryOptions;
use anyhow::{Context, Result};
use std::path::PathBuf;

/// Options for registries airlock reads from.
#[derive(clap::Args)]
pub struct RegistryArgs {
    /// Talk plain HTTP to every registry (for loopback test registries only).
    #[arg(long)]
    plain_http: bool,
    /// Extra CA certificate (PEM) to trust (repeatable).
    #[arg(long = "ca-file")]
    ca_files: Vec<PathBuf>,
    /// Username for registries without other credentials.
    #[arg(long, env = "AIRLOCK_REGISTRY_USERNAME")]
    username: Option<String>,
    /// Password for `--username`.
    #[arg(long, env = "AIRLOCK_REGISTRY_PASSWORD", hide_env_values = true)]
    password: Option<String>,
    /// Read the password for `--username` from stdin (one trailing newline
    /// is dropped), as `docker login --password-stdin`.
    #[arg(long)]
    password_stdin: bool,
    /// YAML file with per-registry settings (insecure, caFile, username,
    /// password); a chart repository's host may be listed too.
    #[arg(long)]
    registry_config: Option<PathBuf>,
}

/// The password of `--password`/AIRLOCK_REGISTRY_PASSWORD, or with
/// `--password-stdin` the one read from stdin (one trailing newline
/// dropped), for the registry flags of every command that has them.
pub fn password_or_stdin(username: Option<&str>, password: Option<String>, from_stdin: bool) -> Result<Option<String>> {
    if !from_stdin {
        return Ok(password);
    }
    if username.is_none() {
        usage!("--password-stdin needs --username (or AIRLOCK_REGISTRY_USERNAME)");
    }
    // Over AIRLOCK_REGISTRY_PASSWORD stdin wins, as a flag would; a
    // --password flag as well is one password too many. (clap's
    // conflicts_with would count the variable as the flag.)
    if password.is_some() && password != std::env::var("AIRLOCK_REGISTRY_PASSWORD").ok() {
        usage!("--password and --password-stdin both give the password: give one of them");
    }
    let text = std::io::read_to_string(std::io::stdin()).context("cannot read the password from stdin")?;
    let password = text.strip_suffix('\n').map(|p| p.strip_suffix('\r').unwrap_or(p)).unwrap_or(&text);
    if password.is_empty() {
        usage!("--password-stdin read no password from stdin");
    }
    Ok(Some(password.to_string()))
}

impl RegistryArgs {
    /// The options; with `--password-stdin`, the password read from stdin.
    pub fn options(self) -> Result<RegistryOptions> {
        let password = password_or_stdin(self.username.as_deref(), self.password, self.password_stdin)?;
        Ok(RegistryOptions {
            plain_http: self.plain_http,
            ca_files: self.ca_files,
            username: self.username,
            password,
            config_file: self.registry_config,
            attempts: 3,
        })
    }
}
