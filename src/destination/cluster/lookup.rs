//! Helm's `lookup` when installing into a cluster: charts read live objects
//! as they render (Bitnami's charts read the Secret they made at install,
//! so that an upgrade keeps its passwords). Reads only: a get or a list,
//! never a write.
//!
//! The template engine is synchronous and runs inside the install's async
//! run, so each lookup blocks in place on the run's (multi-threaded)
//! runtime, whose other threads keep the lease renewed meanwhile.

use crate::chart::template::ClusterLookup;
use kube::api::{Api, DynamicObject, GroupVersionKind, ListParams};
use kube::discovery::Scope;
use serde_json::{json, Value};
use std::rc::Rc;

/// A `lookup` that reads from `client`'s cluster. Must be made, and
/// called, within a multi-threaded tokio runtime.
pub fn cluster_lookup(client: kube::Client) -> ClusterLookup {
    let handle = tokio::runtime::Handle::current();
    ClusterLookup(Rc::new(move |api_version: &str, kind: &str, namespace: &str, name: &str| {
        tokio::task::block_in_place(|| handle.block_on(lookup(&client, api_version, kind, namespace, name)))
    }))
}

/// As Helm's: the object (an empty map when it is not there), or with no
/// name, the list of them (`items`), in `namespace` or, when that is
/// empty or the kind is cluster-scoped, across the cluster. A kind the
/// cluster does not serve finds nothing (a chart may look up what a CRD
/// it does not require would add).
async fn lookup(
    client: &kube::Client,
    api_version: &str,
    kind: &str,
    namespace: &str,
    name: &str,
) -> Result<Value, String> {
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    let gvk = GroupVersionKind::gvk(group, version, kind);
    let (resource, capabilities) = match kube::discovery::pinned_kind(client, &gvk).await {
        Ok(found) => found,
        Err(e) if super::is_not_found(&e) => return Ok(json!({})),
        Err(e) => return Err(format!("cannot find kind {kind} ({api_version}): {e}")),
    };
    let api: Api<DynamicObject> = match capabilities.scope {
        Scope::Namespaced if !namespace.is_empty() => Api::namespaced_with(client.clone(), namespace, &resource),
        _ => Api::all_with(client.clone(), &resource),
    };
    let failed = |e: kube::Error| format!("{kind} {namespace}/{name} ({api_version}): {e}");
    if name.is_empty() {
        let list = api.list(&ListParams::default()).await.map_err(failed)?;
        let items: Vec<Value> = list.items.iter().map(|o| serde_json::to_value(o).unwrap_or_default()).collect();
        return Ok(json!({"apiVersion": api_version, "kind": format!("{kind}List"), "items": items}));
    }
    match api.get_opt(name).await.map_err(failed)? {
        Some(object) => Ok(serde_json::to_value(&object).unwrap_or_else(|_| json!({}))),
        None => Ok(json!({})),
    }
}
