//! Talking to a Kubernetes API server (kube): so far only deleting the
//! resources that K3s leaves behind when a manifest file is removed. Kinds
//! are looked up by discovery (never guessed plurals), each request has a
//! timeout, and nothing is retried here: what fails stays pending for the
//! next run. CustomResourceDefinitions never reach this module.

use crate::target::k3s::state::ResourceRef;
use kube::api::{Api, DeleteParams, DynamicObject};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::core::GroupVersionKind;
use kube::discovery::Scope;
use std::path::Path;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("cannot use kubeconfig {path}: {detail}")]
    Kubeconfig { path: std::path::PathBuf, detail: String },
}

/// What happened to one resource.
#[derive(Debug)]
pub enum Deletion {
    Deleted,
    /// Not there (already deleted, or its kind is gone from the cluster).
    Absent,
    Failed(String),
}

pub async fn client(kubeconfig: &Path) -> Result<kube::Client, ClusterError> {
    let err = |detail: String| ClusterError::Kubeconfig { path: kubeconfig.to_path_buf(), detail };
    let parsed = Kubeconfig::read_from(kubeconfig).map_err(|e| err(e.to_string()))?;
    let mut config = kube::Config::from_custom_kubeconfig(parsed, &KubeConfigOptions::default())
        .await
        .map_err(|e| err(e.to_string()))?;
    config.connect_timeout = Some(Duration::from_secs(5));
    config.read_timeout = Some(Duration::from_secs(20));
    config.write_timeout = Some(Duration::from_secs(20));
    kube::Client::try_from(config).map_err(|e| err(e.to_string()))
}

fn is_not_found(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(status) if status.code == 404)
        || matches!(e, kube::Error::Discovery(kube::error::DiscoveryError::MissingKind(_)))
}

/// Deletes `resource` (background propagation, as `kubectl delete` does).
pub async fn delete(client: &kube::Client, resource: &ResourceRef) -> Deletion {
    let (group, version) = match resource.api_version.split_once('/') {
        Some((g, v)) => (g, v),
        None => ("", resource.api_version.as_str()),
    };
    let gvk = GroupVersionKind::gvk(group, version, &resource.kind);
    let (api_resource, caps) = match kube::discovery::pinned_kind(client, &gvk).await {
        Ok(found) => found,
        Err(e) if is_not_found(&e) => return Deletion::Absent,
        Err(e) => return Deletion::Failed(e.to_string()),
    };
    let api: Api<DynamicObject> = match (caps.scope, &resource.namespace) {
        (Scope::Namespaced, Some(ns)) => Api::namespaced_with(client.clone(), ns, &api_resource),
        (Scope::Namespaced, None) => Api::default_namespaced_with(client.clone(), &api_resource),
        (Scope::Cluster, _) => Api::all_with(client.clone(), &api_resource),
    };
    match api.delete(&resource.name, &DeleteParams::background()).await {
        Ok(_) => Deletion::Deleted,
        Err(e) if is_not_found(&e) => Deletion::Absent,
        Err(e) => Deletion::Failed(e.to_string()),
    }
}
