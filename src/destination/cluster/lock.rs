//! One run at a time on a release: a `coordination.k8s.io/v1` Lease
//! `airlock.NAME` in namespace `airlock-system`, held (and renewed) while
//! a run changes the release, as Kubernetes' own controllers elect a
//! leader. A second run is refused while the first holds it; a lease its
//! holder stopped renewing (killed, or cut off from the API server) has
//! expired, and the next run takes it over and finishes what was left. A
//! run that cannot renew its lease for most of its term, or finds it held
//! by another, stops before its next change, as a controller that loses
//! its leader election does. It decides nothing about what a run applies.

use super::{api_failure, release, ClusterError};
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::api::{Api, DeleteParams, PostParams};
use std::time::Duration;

/// How long a lease lasts unrenewed: long enough for an API server that
/// restarts, short enough that a killed run is taken over soon after.
const LEASE: Duration = Duration::from_secs(30);
/// How often it is renewed, and how long one renewal may take.
const RENEW: Duration = Duration::from_secs(5);

/// A held lease; renewed in the background until `release`d or dropped.
pub struct Held {
    api: Api<Lease>,
    name: String,
    holder: String,
    renewing: tokio::task::JoinHandle<()>,
    /// Says why the lease was lost, when it is.
    lost: tokio::sync::watch::Receiver<Option<String>>,
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

/// Takes the lease of release `name`, or says who holds it. With no
/// `airlock-system` yet (nothing was ever installed), it is made only when
/// `create` (an install); else there is nothing to hold: None.
pub async fn acquire(client: &kube::Client, name: &str, create: bool) -> Result<Option<Held>, ClusterError> {
    let api: Api<Lease> = Api::namespaced(client.clone(), release::NAMESPACE);
    let lease_name = lease_name(name);
    let failed = |e| api_failure(e, || format!("Lease {}/{lease_name}", release::NAMESPACE));
    let holder = holder();
    let mine = Lease {
        metadata: kube::api::ObjectMeta {
            name: Some(lease_name.clone()),
            labels: Some([("app.kubernetes.io/managed-by".to_string(), "airlock".to_string())].into()),
            ..Default::default()
        },
        spec: Some(LeaseSpec {
            holder_identity: Some(holder.clone()),
            lease_duration_seconds: Some(LEASE.as_secs() as i32),
            acquire_time: Some(now()),
            renew_time: Some(now()),
            ..Default::default()
        }),
    };
    let created = match api.create(&PostParams::default(), &mine).await {
        Err(kube::Error::Api(status)) if status.code == 404 && !create => return Ok(None),
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
    let (lose, lost) = tokio::sync::watch::channel(None);
    let renewing = tokio::spawn(renew(api.clone(), lease_name.clone(), holder.clone(), lose));
    Ok(Some(Held { api, name: lease_name, holder, renewing, lost }))
}

/// Renews the lease every `RENEW`, only while it is still this run's (the
/// replace carries the resourceVersion read, so a lease taken over in
/// between is not renewed); says through `lose` when it is another's or
/// gone, or when no renewal succeeded for the term less one renewal.
async fn renew(api: Api<Lease>, name: String, holder: String, lose: tokio::sync::watch::Sender<Option<String>>) {
    let mut renewed = std::time::Instant::now();
    loop {
        tokio::time::sleep(RENEW).await;
        let attempt = async {
            let mut lease = api.get_opt(&name).await.map_err(|e| Some(e.to_string()))?;
            let Some(lease) = lease.as_mut() else { return Err(None) };
            let spec = lease.spec.get_or_insert_with(Default::default);
            if spec.holder_identity.as_deref() != Some(holder.as_str()) {
                return Err(None);
            }
            spec.renew_time = Some(now());
            api.replace(&name, &PostParams::default(), lease).await.map(|_| ()).map_err(|e| Some(e.to_string()))
        };
        match tokio::time::timeout(RENEW, attempt).await {
            Ok(Ok(())) => renewed = std::time::Instant::now(),
            // Gone, or another's: lost at once.
            Ok(Err(None)) => {
                let _ = lose.send(Some("another run took it over, or it was deleted".into()));
                return;
            }
            // Unanswered: lost only when the term is nearly out.
            Ok(Err(Some(_))) | Err(_) if renewed.elapsed() + RENEW >= LEASE => {
                let _ = lose.send(Some(format!("it could not be renewed for {} s", renewed.elapsed().as_secs())));
                return;
            }
            _ => {}
        }
    }
}

/// Runs `work` holding the lease of release `name` (see `acquire` for
/// `create`), given up after.
pub async fn holding<T>(
    client: &kube::Client,
    name: &str,
    create: bool,
    work: impl std::future::Future<Output = Result<T, ClusterError>>,
) -> Result<T, ClusterError> {
    let Some(held) = acquire(client, name, create).await? else { return work.await };
    let mut lost = held.lost.clone();
    let done = tokio::select! {
        done = work => done,
        // The work is dropped where it waits, before its next change.
        _ = lost.wait_for(Option::is_some) => {
            let why = held.lost.borrow().clone().unwrap_or_default();
            Err(ClusterError::LeaseLost { name: name.into(), why })
        }
    };
    held.renewing.abort();
    held.release().await;
    done
}

impl Held {
    /// Gives the lease up, so the next run need not wait for it to
    /// expire: deleted only while it is still this run's.
    pub async fn release(self) {
        self.renewing.abort();
        let Ok(Some(lease)) = self.api.get_opt(&self.name).await else { return };
        if lease.spec.and_then(|s| s.holder_identity).as_deref() != Some(self.holder.as_str()) {
            return;
        }
        let preconditions = kube::api::Preconditions { resource_version: lease.metadata.resource_version, uid: None };
        let params = DeleteParams { preconditions: Some(preconditions), ..DeleteParams::default() };
        let _ = self.api.delete(&self.name, &params).await;
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        self.renewing.abort();
    }
}
