//! The vocabulary of Kubernetes objects that both install targets (`k3s`
//! and `cluster`) share: an object's reference (`ResourceRef`, as records
//! on nodes and in clusters store it), whether deleting an object takes
//! others along (`cascades`), and whether a run installs or upgrades
//! (`Action`).
//!
//! Plain values only: nothing here talks to a cluster, or knows about nodes,
//! files or bundles. `ResourceRef`'s serde form is stored in revision and
//! release records; its field names must not change.

use serde::{Deserialize, Serialize};

/// Whether a run installs a bundle or upgrades an installed one.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Install,
    Upgrade,
}

impl Action {
    /// The word a revision record stores for it: `install` or `upgrade`.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Install => "install",
            Action::Upgrade => "upgrade",
        }
    }
}

/// An object in a cluster, named as the API names it: group/version, kind,
/// namespace (none for a cluster-scoped kind) and name.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "camelCase")]
pub struct ResourceRef {
    pub api_version: String,
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub name: String,
}

impl std::fmt::Display for ResourceRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{} {}/{} ({})", self.kind, ns, self.name, self.api_version),
            None => write!(f, "{} {} ({})", self.kind, self.name, self.api_version),
        }
    }
}

impl ResourceRef {
    /// The `kubectl delete` command for it.
    pub fn kubectl_delete(&self) -> String {
        let kind = self.kind.to_lowercase();
        let kind = match self.api_version.split_once('/') {
            Some((group, _)) => format!("{kind}.{group}"),
            None => kind,
        };
        match &self.namespace {
            Some(ns) => format!("kubectl delete {kind} {} -n {ns}", self.name),
            None => format!("kubectl delete {kind} {}", self.name),
        }
    }
}

/// Whether deleting a resource of this kind deletes much more than itself:
/// a CRD takes every object of its kind, a Namespace everything in it
/// (charts installed there included). airlock never does that behind the
/// operator's back (Helm does not delete CRDs either).
pub fn cascades(resource: &ResourceRef) -> bool {
    matches!(resource.kind.as_str(), "CustomResourceDefinition" | "Namespace")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference(api_version: &str, kind: &str, namespace: Option<&str>, name: &str) -> ResourceRef {
        ResourceRef {
            api_version: api_version.into(),
            kind: kind.into(),
            namespace: namespace.map(str::to_string),
            name: name.into(),
        }
    }

    #[test]
    fn a_reference_is_stored_with_its_field_names() {
        let namespaced = reference("apps/v1", "Deployment", Some("web"), "api");
        let json = serde_json::to_string(&namespaced).unwrap();
        assert_eq!(json, r#"{"apiVersion":"apps/v1","kind":"Deployment","namespace":"web","name":"api"}"#);
        assert_eq!(serde_json::from_str::<ResourceRef>(&json).unwrap(), namespaced);
        let cluster_scoped = reference("v1", "Namespace", None, "web");
        let json = serde_json::to_string(&cluster_scoped).unwrap();
        assert_eq!(json, r#"{"apiVersion":"v1","kind":"Namespace","name":"web"}"#);
        assert_eq!(serde_json::from_str::<ResourceRef>(&json).unwrap(), cluster_scoped);
    }

    #[test]
    fn a_reference_as_shown_and_as_kubectl_deletes_it() {
        let deployment = reference("apps/v1", "Deployment", Some("web"), "api");
        assert_eq!(deployment.to_string(), "Deployment web/api (apps/v1)");
        assert_eq!(deployment.kubectl_delete(), "kubectl delete deployment.apps api -n web");
        let map = reference("v1", "ConfigMap", None, "c");
        assert_eq!(map.to_string(), "ConfigMap c (v1)");
        assert_eq!(map.kubectl_delete(), "kubectl delete configmap c");
    }

    #[test]
    fn crds_and_namespaces_cascade() {
        assert!(cascades(&reference("apiextensions.k8s.io/v1", "CustomResourceDefinition", None, "x.example.com")));
        assert!(cascades(&reference("v1", "Namespace", None, "web")));
        assert!(!cascades(&reference("v1", "ConfigMap", Some("web"), "c")));
        assert_eq!(Action::Install.as_str(), "install");
        assert_eq!(Action::Upgrade.as_str(), "upgrade");
    }
}
