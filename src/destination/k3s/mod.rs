//! Edge K3s nodes: what a bundle becomes on a node (`layout`), the images
//! tarball (`images`), `registries.yaml` (`registries`), crash-safe file
//! replacement (`apply`), revisions and stored content (`state`), the
//! install / upgrade / rollback / uninstall flows that tie them together
//! (`install`), and K3s's own install script (`installer`).
//! Nothing here talks to the network; deleting what K3s leaves behind in the
//! cluster is the ops layer's job.

pub mod apply;
pub mod base_blobs;
pub mod images;
pub mod install;
pub mod installer;
pub mod layout;
pub mod registries;
pub mod state;

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    #[error("cannot write {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("chart {chart} is {size} bytes base64-encoded; K3s keeps chart content in a ConfigMap (1 MiB at most); push it to a registry and install from there instead")]
    ChartTooLarge { chart: String, size: usize },
    #[error("chart name `{chart}` is too long for K3s: helm-controller installs it with a Job named helm-install-{chart}, which the API server refuses beyond 63 characters; name the chart {max} characters at most in the bundle's spec")]
    ChartNameTooLong { chart: String, max: usize },
    #[error("values of chart {chart}: {detail}")]
    Values { chart: String, detail: String },
    #[error("not enough disk space under {root}: {needed} bytes needed, {available} available")]
    NoSpace { root: PathBuf, needed: u64, available: u64 },
    #[error("cannot write under {path}")]
    NotWritable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot merge into {path}: {detail}; fix or move the file, then rerun")]
    Registries { path: PathBuf, detail: String },
    #[error("{name} {version} is already installed (revision {revision})")]
    AlreadyInstalled { name: String, version: String, revision: u32 },
    #[error("nothing named `{name}` is installed under {root}")]
    NotInstalled { name: String, root: PathBuf },
    #[error("`{name}` has no revision {revision} (see `airlock history {name}`)")]
    NoRevision { name: String, revision: u32 },
    #[error("`{name}` has no earlier revision to roll back to")]
    NothingToRollBack { name: String },
    #[error("revision {revision} of `{name}` cannot be restored: the stored copy of /{path} is {problem}; install that version again from its bundle")]
    StoredContent { name: String, revision: u32, path: String, problem: &'static str },
    #[error("cannot run the K3s installer {script}")]
    Installer {
        script: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    State(#[from] state::StateError),
    #[error(transparent)]
    Images(#[from] images::ImagesTarError),
    #[error(transparent)]
    Bundle(#[from] crate::bundle::BundleError),
}
