//! The flags of a connection to source or destination registries (plain
//! HTTP, CA files, credentials, a per-registry settings file).

use crate::oci::registry::RegistryOptions;
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
    /// YAML file with per-registry settings (insecure, caFile, username,
    /// password); a chart repository's host may be listed too.
    #[arg(long)]
    registry_config: Option<PathBuf>,
}

impl RegistryArgs {
    pub fn options(self) -> RegistryOptions {
        RegistryOptions {
            plain_http: self.plain_http,
            ca_files: self.ca_files,
            username: self.username,
            password: self.password,
            config_file: self.registry_config,
            attempts: 3,
        }
    }
}
