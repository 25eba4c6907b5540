//! One run at a time on a release: a `coordination.k8s.io/v1` Lease
//! `airlock.NAME` in namespace `airlock-system`, held (and renewed) while
//! a run changes the release, as Kubernetes' own controllers elect a
//! leader. A second run is refused while the first holds it; a lease its
//! holder stopped renewing (killed, or cut off from the API server) has
//! expired, and the next run takes it over and finishes what was left.
//! It decides nothing about what a run applies.

use super::{api_failure, release, ClusterError};
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use std::time::Duration;

/// How long a lease lasts unrenewed: long enough for an API server that
/// restarts, short enough that a killed run is taken over soon after.
const LEASE: Duration = Duration::from_secs(15);

/// A held lease; renewed in the background until `release`d or dropped.
pub struct Held {
    api: Api<Lease>,
    name: String,
    renewing: tokio::task::JoinHandle<()>,
}

fn lease_name(release: &str) -> String {
    format!("airlock.{release}")
}

/// Who holds a lease: this host and process.
fn holder() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let host = host.trim();
    format!("airlock on {} (pid {})", if host.is_empty() { "an unknown host" } else { host }, std::process::id())
}

fn now() -> MicroTime {
    MicroTime(Timestamp::now())
}

/// Takes the lease of release `name`, or says who holds it.
pub async fn acquire(client: &kube::Client, name: &str) -> Result<Held, ClusterError> {
    let api: Api<Lease> = Api::namespaced(client.clone(), release::NAMESPACE);
    let lease_name = lease_name(name);
    let failed = |e| api_failure(e, || format!("Lease {}/{lease_name}", release::NAMESPACE));
    let mine = Lease {
        metadata: kube::api::ObjectMeta {
            name: Some(lease_name.clone()),
            labels: Some([("app.kubernetes.io/managed-by".to_string(), "airlock".to_string())].into()),
            ..Default::default()
        },
        spec: Some(LeaseSpec {
            holder_identity: Some(holder()),
            lease_duration_seconds: Some(LEASE.as_secs() as i32),
            acquire_time: Some(now()),
            renew_time: Some(now()),
            ..Default::default()
        }),
    };
    let created = match api.create(&PostParams::default(), &mine).await {
        Err(kube::Error::Api(status)) if status.code == 404 => {
            // No airlock-system yet: nothing was ever installed here.
            let namespaces: Api<Namespace> = Api::all(client.clone());
            let namespace = Namespace {
                metadata: kube::api::ObjectMeta { name: Some(release::NAMESPACE.into()), ..Default::default() },
                ..Default::default()
            };
            match namespaces.create(&PostParams::default(), &namespace).await {
                Ok(_) => {}
                Err(kube::Error::Api(status)) if status.code == 409 => {}
                Err(e) => return Err(api_failure(e, || format!("Namespace {}", release::NAMESPACE))),
            }
            api.create(&PostParams::default(), &mine).await
        }
        other => other,
    };
    match created {
        Ok(_) => {}
        Err(kube::Error::Api(status)) if status.code == 409 => {
            let theirs = api.get(&lease_name).await.map_err(failed)?;
            let spec = theirs.spec.clone().unwrap_or_default();
            let seconds = spec.lease_duration_seconds.unwrap_or(LEASE.as_secs() as i32);
            let renewed = spec.renew_time.clone().or(spec.acquire_time.clone()).map(|t| t.0);
            let expired = renewed.is_none_or(|at| at + SignedDuration::from_secs(seconds.into()) < Timestamp::now());
            if !expired {
                return Err(ClusterError::Busy {
                    name: name.into(),
                    holder: spec.holder_identity.unwrap_or_else(|| "another run".into()),
                    since: spec.acquire_time.map(|t| t.0.to_string()).unwrap_or_default(),
                });
            }
            // Its holder stopped renewing it: taken over, unless another
            // run took it first (the resourceVersion no longer matches).
            let mut taken = mine.clone();
            taken.metadata.resource_version = theirs.metadata.resource_version;
            if let Err(e) = api.replace(&lease_name, &PostParams::default(), &taken).await {
                return Err(match e {
                    kube::Error::Api(status) if status.code == 409 => ClusterError::Busy {
                        name: name.into(),
                        holder: "another run that took it at the same moment".into(),
                        since: Timestamp::now().to_string(),
                    },
                    other => failed(other),
                });
            }
        }
        Err(e) => return Err(failed(e)),
    }
    let renewing = tokio::spawn(renew(api.clone(), lease_name.clone()));
    Ok(Held { api, name: lease_name, renewing })
}

/// Renews the lease a third of its term at a time; a renewal that fails
/// (the API server away a moment) is tried again at the next.
async fn renew(api: Api<Lease>, name: String) {
    loop {
        tokio::time::sleep(LEASE / 3).await;
        let patch = serde_json::json!({"spec": {"renewTime": now()}});
        let _ = api.patch(&name, &PatchParams::default(), &Patch::Merge(&patch)).await;
    }
}

/// Runs `work` holding the lease of release `name`, given up after.
pub async fn holding<T>(
    client: &kube::Client,
    name: &str,
    work: impl std::future::Future<Output = Result<T, ClusterError>>,
) -> Result<T, ClusterError> {
    let held = acquire(client, name).await?;
    let done = work.await;
    held.release().await;
    done
}

impl Held {
    /// Gives the lease up, so the next run need not wait for it to expire.
    pub async fn release(self) {
        self.renewing.abort();
        let _ = self.api.delete(&self.name, &DeleteParams::default()).await;
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        self.renewing.abort();
    }
}
