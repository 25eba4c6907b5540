//! Applying objects with server-side apply (field manager `airlock`), so a
//! rerun converges and fields others own are left alone; reading and
//! deleting them. A field another manager took over since (an autoscaler's
//! `spec.replicas`) is a conflict the user settles, unless told to force it
//! (as `kubectl apply --server-side --force-conflicts`). Each kind is found
//! by discovery once per run; CRDs are waited for (bounded) before anything
//! that may use them.

use super::objects::DesiredObject;
use super::webhooks::{self, BundleWebhook};
use super::{api_failure, ClusterError, Deletion};
use crate::destination::kube::ResourceRef;
use futures_util::StreamExt;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams};
use kube::core::GroupVersionKind;
use kube::discovery::{ApiCapabilities, ApiResource, Scope};
use std::collections::HashMap;
use std::time::{Duration, Instant};

pub const FIELD_MANAGER: &str = "airlock";
/// The field manager Helm's CLI applies with (its binary's name).
pub const HELM_FIELD_MANAGER: &str = "helm";

/// Whether every conflict an apply was refused for is with airlock's own
/// field manager (`conflicts with "airlock"`), not with someone else.
fn only_our_own(message: &str) -> bool {
    // `Apply failed with 1 conflict: conflict with "m": .f` or, for
    // several, `... conflicts with "m" using v1: ...`.
    let mut managers = Vec::new();
    let mut rest = message;
    while let Some(at) = rest.find(" with \"") {
        let before = &rest[..at];
        rest = &rest[at + " with \"".len()..];
        if before.ends_with("conflict") || before.ends_with("conflicts") {
            managers.push(rest.split('"').next().unwrap_or_default());
        }
    }
    !managers.is_empty() && managers.iter().all(|m| *m == FIELD_MANAGER)
}

/// How often an object the cluster cannot admit yet is applied again.
const RETRY: Duration = Duration::from_secs(1);

/// Requests of one kind in flight at once: each is a round trip to the API
/// server, and Helm too applies objects of one kind concurrently.
const AT_ONCE: usize = 8;

/// How long discovery may lag behind a CRD that says it is established.
const FRESH_KIND_WAIT: Duration = Duration::from_secs(10);

pub struct Applier {
    client: kube::Client,
    /// Kinds found so far, by (apiVersion, kind). Only finds are kept: a
    /// kind missing now may be served once its CRD is established.
    kinds: HashMap<(String, String), (ApiResource, ApiCapabilities)>,
    /// The API server checks each object as for real but stores nothing.
    dry_run: bool,
    /// Take over fields other managers set (`--force-conflicts`, `--adopt`).
    force_conflicts: bool,
    /// The bundle's own admission webhooks, and until when an object the
    /// cluster cannot admit yet (one of them does not answer, or its new
    /// namespace has no default ServiceAccount yet) is applied again, with
    /// the time that was given, for messages.
    webhooks: Vec<BundleWebhook>,
    patience: Option<(Instant, Duration)>,
    /// CRDs as the cluster holds them already: applying them again would
    /// change nothing and cost a large request each.
    unchanged: Vec<ResourceRef>,
    /// (group, kind) of the CRDs seen established in this run: under load,
    /// discovery serves such a kind a moment after the CRD says so.
    established: Vec<(String, String)>,
}

impl Applier {
    pub fn new(client: kube::Client, dry_run: bool) -> Self {
        Applier {
            client,
            kinds: HashMap::new(),
            dry_run,
            force_conflicts: false,
            webhooks: Vec::new(),
            patience: None,
            unchanged: Vec::new(),
            established: Vec::new(),
        }
    }

    /// Of `crds`, each the same as airlock last applied it, finds those the
    /// cluster holds unchanged since: airlock's apply is their newest
    /// change (no other manager touched their spec since; status does not
    /// count). Those are not applied again. Read up to `AT_ONCE` at a time,
    /// metadata only.
    pub async fn skip_unchanged_crds(&mut self, crds: &[&DesiredObject]) -> Result<(), ClusterError> {
        let api: Api<CustomResourceDefinition> = Api::all(self.client.clone());
        let api = &api;
        let reads = futures_util::stream::iter(crds)
            .map(|crd| async move {
                let name = crd.name();
                let found = api
                    .get_metadata_opt(name)
                    .await
                    .map_err(|e| api_failure(e, || format!("CustomResourceDefinition {name}")))?;
                let entries = found.and_then(|m| m.metadata.managed_fields).unwrap_or_default();
                let changes = entries.iter().filter(|e| e.subresource.as_deref().unwrap_or_default().is_empty());
                let newest = changes.max_by(|a, b| a.time.cmp(&b.time));
                let ours = newest.is_some_and(|e| {
                    e.manager.as_deref() == Some(FIELD_MANAGER) && e.operation.as_deref() == Some("Apply")
                });
                Ok::<_, ClusterError>(ours.then(|| ResourceRef {
                    api_version: crd.api_version().into(),
                    kind: crd.kind().into(),
                    namespace: None,
                    name: name.into(),
                }))
            })
            .buffered(AT_ONCE);
        let read: Vec<Result<Option<ResourceRef>, ClusterError>> = reads.collect().await;
        self.unchanged = read.into_iter().collect::<Result<Vec<_>, _>>()?.into_iter().flatten().collect();
        Ok(())
    }

    /// This applier, applying again for up to `wait` from now (the whole
    /// run's share, not each object's) an object the cluster cannot admit
    /// yet: one of `webhooks` (the bundle's own) does not answer, or its
    /// namespace, just made, has no default ServiceAccount yet.
    pub fn patient(self, webhooks: Vec<BundleWebhook>, wait: Duration) -> Self {
        Applier { webhooks, patience: Some((Instant::now() + wait, wait)), ..self }
    }

    /// This applier, taking over fields others set when `force` holds.
    pub fn force_conflicts(self, force: bool) -> Self {
        Applier { force_conflicts: force, ..self }
    }

    pub fn client(&self) -> &kube::Client {
        &self.client
    }

    /// This applier, keeping the kinds it found (each costs a request),
    /// as a dry run's or a real one's.
    pub fn dry_run(self, dry_run: bool) -> Self {
        Applier { dry_run, ..self }
    }

    /// The kind of `api_version` and `kind`; `object` names what needs it.
    async fn kind(
        &mut self,
        api_version: &str,
        kind: &str,
        object: impl Fn() -> String,
    ) -> Result<(ApiResource, ApiCapabilities), ClusterError> {
        let key = (api_version.to_string(), kind.to_string());
        if let Some(found) = self.kinds.get(&key) {
            return Ok(found.clone());
        }
        let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
        let gvk = GroupVersionKind::gvk(group, version, kind);
        let fresh = self.established.iter().any(|(g, k)| g == group && k == kind);
        let deadline = Instant::now() + FRESH_KIND_WAIT;
        let mut poll = super::Poll::new();
        loop {
            match kube::discovery::pinned_kind(&self.client, &gvk).await {
                Ok(found) => {
                    self.kinds.insert(key, found.clone());
                    return Ok(found);
                }
                Err(e) if super::is_not_found(&e) => {
                    if !fresh || Instant::now() >= deadline {
                        return Err(ClusterError::UnknownKind {
                            kind: kind.into(),
                            api_version: api_version.into(),
                            object: object(),
                        });
                    }
                }
                Err(e) => return Err(api_failure(e, object)),
            }
            poll.sleep(deadline).await;
        }
    }

    fn api(&self, resource: &ApiResource, namespace: Option<&str>) -> Api<DynamicObject> {
        match namespace {
            Some(ns) => Api::namespaced_with(self.client.clone(), ns, resource),
            None => Api::all_with(self.client.clone(), resource),
        }
    }

    /// The object as the cluster has it now, if it is there.
    pub async fn get(&mut self, resource: &ResourceRef) -> Result<Option<serde_json::Value>, ClusterError> {
        let (api_resource, _) = self.kind(&resource.api_version, &resource.kind, || resource.to_string()).await?;
        self.get_resolved(&api_resource, resource).await
    }

    async fn get_resolved(
        &self,
        api_resource: &ApiResource,
        resource: &ResourceRef,
    ) -> Result<Option<serde_json::Value>, ClusterError> {
        let api = self.api(api_resource, resource.namespace.as_deref());
        let found = api.get_opt(&resource.name).await.map_err(|e| api_failure(e, || resource.to_string()))?;
        Ok(found.map(|o| serde_json::to_value(o).expect("an object serializes")))
    }

    /// Each object of `objects` that the cluster holds, where it is and as
    /// it is there, read up to `AT_ONCE` at a time. An object of a kind the
    /// cluster does not serve (yet) cannot be there, and is left out.
    pub async fn get_existing(
        &mut self,
        objects: &[DesiredObject],
    ) -> Result<Vec<(ResourceRef, serde_json::Value)>, ClusterError> {
        let mut resolved = Vec::with_capacity(objects.len());
        for object in objects {
            match self.resolve(object).await {
                Ok(found) => resolved.push(found),
                Err(ClusterError::UnknownKind { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        let this = &*self;
        let reads = futures_util::stream::iter(&resolved)
            .map(|(api_resource, target)| async move {
                Ok(this.get_resolved(api_resource, target).await?.map(|found| (target.clone(), found)))
            })
            .buffered(AT_ONCE);
        let found: Vec<Option<_>> =
            reads.collect::<Vec<Result<_, ClusterError>>>().await.into_iter().collect::<Result<_, _>>()?;
        Ok(found.into_iter().flatten().collect())
    }

    /// Deletes `resource` (background propagation, as `kubectl delete`
    /// does); a namespaced one without a namespace is in the kubeconfig's.
    pub async fn delete(&mut self, resource: &ResourceRef) -> Deletion {
        let (api_resource, caps) = match self.kind(&resource.api_version, &resource.kind, || resource.to_string()).await
        {
            Ok(found) => found,
            // Its kind is gone from the cluster, and with it the object.
            Err(ClusterError::UnknownKind { .. }) => return Deletion::Absent,
            Err(e) => return Deletion::Failed(e.to_string()),
        };
        let namespace = match caps.scope {
            Scope::Cluster => None,
            Scope::Namespaced => {
                Some(resource.namespace.clone().unwrap_or_else(|| self.client.default_namespace().to_string()))
            }
        };
        match self.api(&api_resource, namespace.as_deref()).delete(&resource.name, &DeleteParams::background()).await {
            Ok(_) => Deletion::Deleted,
            Err(e) if super::is_not_found(&e) => Deletion::Absent,
            Err(e) => Deletion::Failed(e.to_string()),
        }
    }

    /// Applies one object; returns where it landed (its namespace filled
    /// in when the kind is namespaced and the body named none).
    pub async fn apply(&mut self, object: &DesiredObject) -> Result<ResourceRef, ClusterError> {
        let (resource, target) = self.resolve(object).await?;
        self.apply_resolved(object, &resource, target).await.map(|(target, _)| target)
    }

    /// Applies one object; in a dry run, also returns the object as the API
    /// server answered it would be (None otherwise, or when it was skipped
    /// as unchanged).
    pub async fn apply_answered(
        &mut self,
        object: &DesiredObject,
    ) -> Result<(ResourceRef, Option<serde_json::Value>), ClusterError> {
        let (resource, target) = self.resolve(object).await?;
        self.apply_resolved(object, &resource, target).await
    }

    /// Applies `objects` in their order, except that objects of the same
    /// kind that follow each other go up to `AT_ONCE` at a time, as
    /// Helm does: an object's kind decides what it may need first, and each
    /// apply is a round trip to the API server. `applied` hears of each in
    /// order. Every kind is found before anything is applied. On failure,
    /// returns how many were applied before the first that failed.
    pub async fn apply_all(
        &mut self,
        objects: &[DesiredObject],
        applied: &mut dyn FnMut(&ResourceRef),
    ) -> Result<Vec<ResourceRef>, (usize, ClusterError)> {
        let mut resolved = Vec::with_capacity(objects.len());
        for object in objects {
            resolved.push(self.resolve(object).await.map_err(|e| (0, e))?);
        }
        let this = &*self;
        let mut done: Vec<ResourceRef> = Vec::with_capacity(objects.len());
        let mut start = 0;
        while start < objects.len() {
            let kind = objects[start].kind();
            let end = start + objects[start..].iter().take_while(|o| o.kind() == kind).count();
            let group = objects[start..end].iter().zip(&resolved[start..end]);
            let mut results = futures_util::stream::iter(group)
                .map(|(object, (resource, target))| this.apply_resolved(object, resource, target.clone()))
                .buffered(AT_ONCE);
            while let Some(result) = results.next().await {
                let (target, _) = result.map_err(|e| (done.len(), e))?;
                applied(&target);
                done.push(target);
            }
            start = end;
        }
        Ok(done)
    }

    async fn apply_resolved(
        &self,
        object: &DesiredObject,
        resource: &ApiResource,
        target: ResourceRef,
    ) -> Result<(ResourceRef, Option<serde_json::Value>), ClusterError> {
        if self.unchanged.contains(&target) {
            return Ok((target, None));
        }
        let namespace = target.namespace.clone();
        let mut body = object.body.clone();
        if let Some(ns) = &namespace {
            // The body and the URL must agree, and the record names it.
            body["metadata"]["namespace"] = serde_json::Value::String(ns.clone());
        }
        let dynamic: DynamicObject = serde_json::from_value(body).map_err(|e| ClusterError::Refused {
            object: object.describe(),
            detail: format!("not a Kubernetes object: {e}"),
        })?;
        let api = self.api(resource, namespace.as_deref());
        // A chart's objects are a Helm release's: applied as Helm applies
        // them, so that `helm upgrade` and airlock share their fields.
        let helm_owned = object.body.pointer("/metadata/annotations/meta.helm.sh~1release-name").is_some();
        let mut params = PatchParams::apply(if helm_owned { HELM_FIELD_MANAGER } else { FIELD_MANAGER });
        params.force = self.force_conflicts;
        params.dry_run = self.dry_run;
        let place = namespace.as_deref().map(|ns| format!(" in namespace {ns}")).unwrap_or_default();
        let described = || format!("{}{place}", object.describe());
        loop {
            let status = match api.patch(object.name(), &params, &Patch::Apply(&dynamic)).await {
                // Only a dry run's answer is read (to say what would change).
                Ok(answered) => {
                    return Ok((target, self.dry_run.then(|| serde_json::to_value(answered).ok()).flatten()))
                }
                Err(kube::Error::Api(status)) => status,
                Err(e) => return Err(api_failure(e, described)),
            };
            if status.code == 409 && status.reason == "Conflict" {
                // Fields airlock itself applied before it applied charts as
                // Helm does are its own to take over.
                if helm_owned && !params.force && only_our_own(&status.message) {
                    params.force = true;
                    continue;
                }
                return Err(ClusterError::Conflict { object: described(), detail: status.message });
            }
            let webhook =
                webhooks::not_answering(&status.message).and_then(|name| self.webhooks.iter().find(|w| w.name == name));
            // The controller manager makes each new namespace's account.
            let no_account_yet = status.message.contains("error looking up service account")
                && status.message.contains("serviceaccount \"default\" not found");
            let Some((until, wait)) = self.patience.filter(|_| webhook.is_some() || no_account_yet) else {
                return Err(ClusterError::Refused { object: described(), detail: status.message });
            };
            if Instant::now() < until {
                // Its operator's pods, or the controller, are still starting.
                tokio::time::sleep(RETRY).await;
                continue;
            }
            let detail = match webhook {
                Some(webhook) => format!("{}; {}", status.message, webhooks::still_waiting(webhook, wait)),
                None => format!(
                    "{} (after {} s; the controller manager makes it, check that it runs)",
                    status.message,
                    wait.as_secs()
                ),
            };
            return Err(ClusterError::Refused { object: described(), detail });
        }
    }

    /// Where `object` lands: its kind, and its namespace when the kind is
    /// namespaced (the body's, else its default, else the kubeconfig's).
    pub async fn resolve(&mut self, object: &DesiredObject) -> Result<(ApiResource, ResourceRef), ClusterError> {
        let (resource, caps) = self.kind(object.api_version(), object.kind(), || object.describe()).await?;
        let namespace = match caps.scope {
            Scope::Cluster => None,
            Scope::Namespaced => Some(
                object
                    .namespace()
                    .map(str::to_string)
                    .or_else(|| object.default_namespace.clone())
                    .unwrap_or_else(|| self.client.default_namespace().to_string()),
            ),
        };
        let target = ResourceRef {
            api_version: object.api_version().into(),
            kind: object.kind().into(),
            namespace,
            name: object.name().into(),
        };
        Ok((resource, target))
    }

    /// Waits until every CRD named is established (the API serves its
    /// kind), reading them up to `AT_ONCE` at a time, up to `timeout`.
    pub async fn wait_established(&mut self, names: &[String], timeout: Duration) -> Result<(), ClusterError> {
        let api: Api<CustomResourceDefinition> = Api::all(self.client.clone());
        let deadline = Instant::now() + timeout;
        let mut poll = super::Poll::new();
        // Those left as they were are served already.
        let mut waiting: Vec<&String> =
            names.iter().filter(|name| !self.unchanged.iter().any(|u| &u.name == *name)).collect();
        while !waiting.is_empty() {
            let api = &api;
            let reads = futures_util::stream::iter(waiting)
                .map(|name| async move {
                    let crd = api
                        .get(name)
                        .await
                        .map_err(|e| api_failure(e, || format!("CustomResourceDefinition {name}")))?;
                    let established = crd.status.and_then(|s| s.conditions).is_some_and(|conditions| {
                        conditions.iter().any(|c| c.type_ == "Established" && c.status == "True")
                    });
                    let kind = (crd.spec.group, crd.spec.names.kind);
                    Ok::<_, ClusterError>(if established { Ok(kind) } else { Err(name) })
                })
                .buffered(AT_ONCE);
            let read: Vec<_> = reads.collect().await;
            waiting = Vec::new();
            for outcome in read {
                match outcome? {
                    Ok(kind) => self.established.push(kind),
                    Err(name) => waiting.push(name),
                }
            }
            if waiting.is_empty() {
                break;
            }
            if Instant::now() >= deadline {
                return Err(ClusterError::NotEstablished {
                    names: waiting.iter().map(|n| n.as_str()).collect::<Vec<_>>().join(", "),
                    seconds: timeout.as_secs(),
                });
            }
            poll.sleep(deadline).await;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conflicts_only_with_airlock_itself_are_told_apart() {
        assert!(only_our_own(r#"Apply failed with 1 conflict: conflict with "airlock": .data.greeting"#));
        assert!(only_our_own(r#"Apply failed with 2 conflicts: conflicts with "airlock": - .data.a - .data.b"#));
        assert!(!only_our_own(r#"Apply failed with 1 conflict: conflict with "helm": .data.greeting"#));
        assert!(!only_our_own(
            r#"Apply failed with 2 conflicts: conflicts with "airlock": .a conflicts with "kube-controller-manager" with subresource "scale": .spec.replicas"#
        ));
        assert!(!only_our_own("the server could not find the requested resource"));
    }
}
