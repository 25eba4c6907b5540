//! A test's own corner of the shared control plane (control_plane.rs): a
//! release name no other test uses, a namespace named after it, a user of
//! its own that airlock runs as, with that user's kubeconfig, and what the
//! API server's audit log has of that user's requests. Every cluster test
//! (install_cluster.rs, cluster_server.rs, upgrade.rs, k3s_cluster.rs)
//! builds its fixture on one.

use crate::control_plane::{control_plane, unique, ControlPlane, Request};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Where airlock records a cluster release's revisions (Secrets).
const RECORDS: &str = "/api/v1/namespaces/airlock-system/secrets";
/// Where a run holds its release's lease (lock.rs).
const LEASES: &str = "/apis/coordination.k8s.io/v1/namespaces/airlock-system/leases";

pub struct Corner {
    pub plane: &'static ControlPlane,
    /// `PREFIX-N`, unique in this run.
    pub release: String,
    /// `RELEASE-ns`.
    pub ns: String,
    /// `test-RELEASE`: the user airlock acts as (see `kubeconfig_as`).
    pub user: String,
    /// That user's kubeconfig, in the test's directory.
    pub kubeconfig: PathBuf,
}

impl Corner {
    /// A corner whose release is a unique `PREFIX-N`; its kubeconfig is written in `dir`.
    pub fn new(dir: &Path, prefix: &str) -> Corner {
        Corner::named(dir, unique(prefix))
    }

    /// A corner whose release is `release` (unique already).
    pub fn named(dir: &Path, release: String) -> Corner {
        let plane = control_plane();
        let user = format!("test-{release}");
        let kubeconfig = plane.kubeconfig_as(dir, &user);
        Corner { plane, ns: format!("{release}-ns"), release, user, kubeconfig }
    }

    /// The object at an API path, None when there is none.
    pub fn object(&self, path: &str) -> Option<Value> {
        self.plane.object(path)
    }

    /// Every audited request of this corner's user whose path contains
    /// `part`, in the order the server received them.
    pub fn requests(&self, part: &str) -> Vec<Request> {
        self.plane.requests(&self.user, part)
    }

    /// The revisions recorded in the cluster for this corner's release.
    pub fn records(&self) -> Vec<String> {
        let prefix = format!("airlock.{}.v", self.release);
        self.plane.names(RECORDS).into_iter().filter(|n| n.starts_with(&prefix)).collect()
    }

    /// What this corner's airlock wrote (applied or created), in order:
    /// paths, dry runs and airlock's own records and leases left out.
    pub fn applies(&self) -> Vec<String> {
        self.writes(|r| matches!(r.verb.as_str(), "patch" | "create"))
    }

    /// What this corner's airlock deleted, in order: paths, dry runs and
    /// airlock's own records and leases left out.
    pub fn deletes(&self) -> Vec<String> {
        self.writes(|r| r.verb == "delete")
    }

    /// Every DELETE request of this corner's airlock, in order: its path
    /// and the server's status code (404 for what was already gone).
    pub fn deletes_answered(&self) -> Vec<(String, u16)> {
        self.requests("/").into_iter().filter(|r| r.verb == "delete").map(|r| (r.path, r.code)).collect()
    }

    fn writes(&self, keep: impl Fn(&Request) -> bool) -> Vec<String> {
        self.requests("/")
            .into_iter()
            .filter(|r| r.is_write() && keep(r) && !r.path.starts_with(RECORDS) && !r.path.starts_with(LEASES))
            .map(|r| r.path)
            .collect()
    }
}
