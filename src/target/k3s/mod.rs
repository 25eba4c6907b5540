//! Edge K3s nodes. So far: the images tarball K3s imports at start from
//! `/var/lib/rancher/k3s/agent/images/` (`images`). Installing files, charts
//! and manifests, and revisions, are still to come.

pub mod images;
pub mod install;
