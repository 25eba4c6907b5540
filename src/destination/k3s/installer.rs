//! K3s's own install script (get.k3s.io) when a bundle carries it, run the
//! air-gap way (`INSTALL_K3S_SKIP_DOWNLOAD`): it finds the k3s binary the
//! bundle put in place and sets up the service. It only runs the script;
//! what the script does is K3s's.

use super::InstallError;
use crate::bundle::format::Component;
use std::path::{Path, PathBuf};

/// What `--run-installer` ran, and how it ended.
pub struct InstallerRun {
    pub script: PathBuf,
    pub status: std::process::ExitStatus,
}

/// The K3s install script among the files: one whose target is named
/// `install.sh` or `k3s-install.sh` (the names K3s's docs use).
pub fn find(components: &[&Component]) -> Option<String> {
    components.iter().flat_map(|c| &c.files).map(|f| f.target.clone()).find(|t| {
        let name = Path::new(t).file_name().and_then(|n| n.to_str()).unwrap_or_default();
        name == "install.sh" || name == "k3s-install.sh"
    })
}

/// Runs the script at `target` under `root`. Under a root other than `/`
/// it installs into that root and neither enables nor starts the service,
/// which belongs to the machine running airlock.
pub fn run(root: &Path, target: &str) -> Result<InstallerRun, InstallError> {
    let script = root.join(target.trim_start_matches('/'));
    let mut command = std::process::Command::new("sh");
    command.arg(&script).env("INSTALL_K3S_SKIP_DOWNLOAD", "true");
    if root != Path::new("/") {
        command
            .env("INSTALL_K3S_BIN_DIR", root.join("usr/local/bin"))
            .env("INSTALL_K3S_SYSTEMD_DIR", root.join("etc/systemd/system"))
            .env("INSTALL_K3S_SKIP_ENABLE", "true")
            .env("INSTALL_K3S_SKIP_START", "true");
    }
    // Its output is for the operator, so it goes to stderr with ours.
    let status = command
        .stdout(std::process::Stdio::from(std::io::stderr()))
        .stderr(std::process::Stdio::inherit())
        .status()
        .map_err(|source| InstallError::Installer { script: script.clone(), source })?;
    Ok(InstallerRun { script, status })
}
