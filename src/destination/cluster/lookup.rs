//! Helm's `lookup` when installing into a cluster: charts read live objects
//! as they render (Bitnami's charts read the Secret they made at install,
//! so that an upgrade keeps its passwords). Reads only: a get or a list,
//! never a write.
//!
//! The template engine is synchronous and runs inside the install's async
//! run, so each lookup blocks in place on the run's (multi-threaded)
//! runtime, whose other threads keep the lease renewed meanwhile.

use crate::chart::template::ClusterLookup;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, ListParams};
use kube::discovery::{ApiCapabilities, Scope};
use serde_json::{json, Value};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

/// A `lookup` that reads from `client`'s cluster. Must be made, and
/// called, within a multi-threaded tokio runtime.
pub fn cluster_lookup(client: kube::Client) -> ClusterLookup {
    let handle = tokio::runtime::Handle::current();
    // Each kind is looked up once a run: a chart looks up in loops, and the
    // run renders every chart (a dry run and the site-image check again).
    let kinds: RefCell<HashMap<(String, String), Option<Kind>>> = RefCell::default();
    ClusterLookup(Rc::new(move |api_version: &str, kind: &str, namespace: &str, name: &str| {
        tokio::task::block_in_place(|| {
            handle.block_on(async {
                let key = (api_version.to_string(), kind.to_string());
                let cached = kinds.borrow().get(&key).cloned();
                let found = match cached {
                    Some(found) => found,
                    None => {
                        let found = find_kind(&client, api_version, kind).await?;
                        kinds.borrow_mut().insert(key, found.clone());
                        found
                    }
                };
                match found {
                    Some(found) => lookup(&client, &found, api_version, kind, namespace, name).await,
                    None => Ok(json!({})),
                }
            })
        })
    }))
}

type Kind = (ApiResource, ApiCapabilities);

/// The kind, if the cluster serves it.
async fn find_kind(client: &kube::Client, api_version: &str, kind: &str) -> Result<Option<Kind>, String> {
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    match kube::discovery::pinned_kind(client, &GroupVersionKind::gvk(group, version, kind)).await {
        Ok(found) => Ok(Some(found)),
        Err(e) if super::is_not_found(&e) => Ok(None),
        Err(e) => Err(format!("cannot find kind {kind} ({api_version}): {e}")),
    }
}

/// As Helm's: the object (an empty map when it is not there), or with no
/// name, the list of them (`items`), in `namespace` or, when that is
/// empty or the kind is cluster-scoped, across the cluster. (A kind the
/// cluster does not serve finds nothing: a chart may look up what a CRD it
/// does not require would add.)
async fn lookup(
    client: &kube::Client,
    (resource, capabilities): &Kind,
    api_version: &str,
    kind: &str,
    namespace: &str,
    name: &str,
) -> Result<Value, String> {
    let api: Api<DynamicObject> = match capabilities.scope {
        Scope::Namespaced if !namespace.is_empty() => Api::namespaced_with(client.clone(), namespace, resource),
        _ => Api::all_with(client.clone(), resource),
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
