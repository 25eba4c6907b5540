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

    /// A bundle of this corner's release at `version`, of one chart `app`
    /// (its templates given) into the corner's namespace, made in `dir`.
    pub fn one_chart_bundle(
        &self,
        airlock: &crate::support::Airlock,
        dir: &Path,
        version: &str,
        templates: &[(&str, &str)],
    ) -> PathBuf {
        let d = dir.join(version);
        std::fs::create_dir_all(d.join("chart/templates")).unwrap();
        std::fs::write(d.join("chart/Chart.yaml"), format!("apiVersion: v2\nname: app\nversion: {version}\n")).unwrap();
        for (name, text) in templates {
            std::fs::write(d.join("chart/templates").join(name), text).unwrap();
        }
        let spec = d.join("airlock.yaml");
        std::fs::write(
            &spec,
            format!(
                "apiVersion: airlock.dev/v1\nkind: Bundle\nmetadata: {{name: {}, version: {version}}}\ncomponents:\n  - name: app\n    charts: [{{name: app, path: ./chart, namespace: {}, images: explicit}}]\n",
                self.release, self.ns
            ),
        )
        .unwrap();
        let bundle = d.join("app.airlock");
        airlock.ok(&["create", spec.to_str().unwrap(), "-o", bundle.to_str().unwrap()]);
        bundle
    }

    /// The objects of `kinds` (`configmaps,services`) in the corner's
    /// namespace as the cluster holds them, less what any write or rollout
    /// changes (resourceVersion, managedFields, generation, status, a
    /// rollout's revision annotation) and the namespace's root CA
    /// ConfigMap: equal snapshots are the same objects, object for object.
    pub fn snapshot(&self, kinds: &str) -> Vec<Value> {
        let text = self.plane.kubectl_ok(&["-n", &self.ns, "get", kinds, "-o", "json"]);
        let list: Value = serde_json::from_str(&text).unwrap();
        let mut objects: Vec<Value> = list["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|o| o["metadata"]["name"] != "kube-root-ca.crt")
            .cloned()
            .map(|mut o| {
                o.as_object_mut().unwrap().remove("status");
                let meta = o["metadata"].as_object_mut().unwrap();
                for key in ["resourceVersion", "managedFields", "generation"] {
                    meta.remove(key);
                }
                if let Some(annotations) = meta.get_mut("annotations").and_then(|a| a.as_object_mut()) {
                    annotations.remove("deployment.kubernetes.io/revision");
                }
                o
            })
            .collect();
        objects.sort_by_key(|o| format!("{}/{}", o["kind"], o["metadata"]["name"]));
        objects
    }
}
