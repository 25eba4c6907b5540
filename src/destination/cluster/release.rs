//! airlock's record of what it installed into a cluster, kept in the
//! cluster as Helm keeps its releases: one Secret per revision in namespace
//! `airlock-system`, named `airlock.NAME.vREV` and labelled so `history`
//! lists them. The data is the record as JSON, zstd-compressed, holding
//! every applied object as applied: what `rollback` applies again and what
//! a later revision deletes when it drops it. Decides nothing.

use super::hooks::Hook;
use super::{api_failure, ClusterError};
use crate::destination::kube::ResourceRef;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::ByteString;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const NAMESPACE: &str = "airlock-system";
const LABEL_NAME: &str = "airlock.dev/release";
const LABEL_REVISION: &str = "airlock.dev/revision";
const DATA_KEY: &str = "release";
/// A Secret holds at most 1 MiB; some room is left for its metadata.
const MAX_RECORD: usize = 1000 * 1024;

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AppliedObject {
    pub resource: ResourceRef,
    pub body: serde_json::Value,
}

#[derive(Serialize, Deserialize, Clone, Debug)]
#[serde(rename_all = "camelCase")]
pub struct Release {
    pub name: String,
    pub version: String,
    pub revision: u32,
    /// `install`, `upgrade`, `rollback to 2`.
    pub action: String,
    /// Digest of the bundle manifest installed (empty for a rollback's
    /// objects, which came from an earlier record).
    pub manifest_digest: String,
    /// RFC 3339, UTC.
    pub time: String,
    pub objects: Vec<AppliedObject>,
    /// Dropped objects whose deletion failed: the next revision tries again.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pending: Vec<ResourceRef>,
    /// The charts' hooks, for a rollback to this revision to run its
    /// `pre-rollback` and `post-rollback` ones.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hooks: Vec<Hook>,
    /// Why a run stopped half way (a first install, or one that goes back
    /// on failure): it is recorded all the same,
    /// with every object it meant to apply, so `uninstall` removes what it
    /// made and the same bundle again completes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed: Option<String>,
    /// The Helm release revision each chart of this revision was recorded
    /// as (in the chart's namespace, as Helm keeps it).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub helm: Vec<super::helm::HelmRef>,
    /// Written before a run that returns on failure changes anything, and
    /// cleared when it ends: a record still carrying it is a run that did
    /// not finish, nor finish going back (airlock was killed, or lost the
    /// API server), which the next run finishes first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unfinished: Option<Unfinished>,
    /// The values the site gave at install (`-f`, `--set`), keyed by
    /// chart: an upgrade that gives none keeps them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site_values: Option<serde_json::Value>,
    /// The bundle's environment installed (`--env`): an upgrade that names
    /// none keeps it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    /// The site values that are secrets (`CHART.path`): never printed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secret_values: Vec<String>,
    /// The Secrets the site's values were read from (`NAMESPACE/NAME:KEY`),
    /// named only: an upgrade that gives none reads them again.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values_secrets: Vec<String>,
}

/// Where an unfinished run goes back to.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum Unfinished {
    /// The last good revision, applied again.
    ReturnTo(u32),
    /// Nothing: a first install, whose objects are removed.
    Remove,
}

impl Release {
    /// A revision that can be returned to: it neither failed nor was left
    /// unfinished.
    pub fn is_good(&self) -> bool {
        self.failed.is_none() && self.unfinished.is_none()
    }

    /// The record as a Secret's data; fails when too large for one.
    fn encoded(&self) -> Result<Vec<u8>, ClusterError> {
        let json = serde_json::to_vec(self).expect("a release serializes");
        let packed = zstd::encode_all(json.as_slice(), 9).map_err(|source| ClusterError::RecordData {
            what: format!("of {} revision {} cannot be compressed", self.name, self.revision),
            source,
        })?;
        if packed.len() > MAX_RECORD {
            return Err(ClusterError::Record {
                what: format!("of {} revision {}", self.name, self.revision),
                detail: format!(
                    "{} bytes compressed, more than a Secret holds (1 MiB); split the bundle's components into smaller bundles",
                    packed.len()
                ),
            });
        }
        Ok(packed)
    }

    /// Checks, before anything is applied, that the record will fit.
    pub fn check_size(&self) -> Result<(), ClusterError> {
        self.encoded().map(|_| ())
    }
}

fn secret_name(name: &str, revision: u32) -> String {
    format!("airlock.{name}.v{revision}")
}

fn api(client: &kube::Client) -> Api<Secret> {
    Api::namespaced(client.clone(), NAMESPACE)
}

/// Every recorded revision of `name`, oldest first.
pub async fn list(client: &kube::Client, name: &str) -> Result<Vec<Release>, ClusterError> {
    let params = ListParams::default().labels(&format!("{LABEL_NAME}={name}"));
    let secrets = match api(client).list(&params).await {
        Ok(list) => list.items,
        // No namespace yet: nothing was ever installed.
        Err(kube::Error::Api(status)) if status.code == 404 => Vec::new(),
        Err(e) => return Err(api_failure(e, || format!("Secrets in namespace {NAMESPACE}"))),
    };
    let mut releases = Vec::new();
    for secret in secrets {
        let secret_name = secret.metadata.name.clone().unwrap_or_default();
        let bad = |detail: String| ClusterError::Record { what: format!("{NAMESPACE}/{secret_name}"), detail };
        let data =
            secret.data.and_then(|mut d| d.remove(DATA_KEY)).ok_or_else(|| bad(format!("has no `{DATA_KEY}` key")))?;
        let json = zstd::decode_all(data.0.as_slice()).map_err(|source| ClusterError::RecordData {
            what: format!("{NAMESPACE}/{secret_name} cannot be decompressed"),
            source,
        })?;
        releases.push(
            serde_json::from_slice::<Release>(&json)
                .map_err(|source| ClusterError::RecordJson { what: format!("{NAMESPACE}/{secret_name}"), source })?,
        );
    }
    releases.sort_by_key(|r| r.revision);
    Ok(releases)
}

/// Writes the record (server-side apply: a rerun after a crash rewrites it).
pub async fn write(client: &kube::Client, release: &Release) -> Result<(), ClusterError> {
    let name = secret_name(&release.name, release.revision);
    let secret = Secret {
        metadata: kube::api::ObjectMeta {
            name: Some(name.clone()),
            namespace: Some(NAMESPACE.into()),
            labels: Some(BTreeMap::from([
                ("app.kubernetes.io/managed-by".to_string(), "airlock".to_string()),
                (LABEL_NAME.to_string(), release.name.clone()),
                (LABEL_REVISION.to_string(), release.revision.to_string()),
            ])),
            ..Default::default()
        },
        type_: Some("airlock.dev/release.v1".into()),
        data: Some(BTreeMap::from([(DATA_KEY.to_string(), ByteString(release.encoded()?))])),
        ..Default::default()
    };
    let params = PatchParams::apply(super::apply::FIELD_MANAGER).force();
    api(client)
        .patch(&name, &params, &Patch::Apply(&secret))
        .await
        .map_err(|e| api_failure(e, || format!("Secret {NAMESPACE}/{name}")))?;
    Ok(())
}

/// Deletes the records of all but the newest `keep` revisions (at least
/// one is always kept). A failure only leaves an old record behind.
pub async fn trim(client: &kube::Client, releases: &[Release], keep: usize) {
    let drop = releases.len().saturating_sub(keep.max(1));
    for old in &releases[..drop] {
        let _ = api(client).delete(&secret_name(&old.name, old.revision), &DeleteParams::default()).await;
    }
}

/// Deletes the record of one revision (the last one, at uninstall).
pub async fn remove(client: &kube::Client, release: &Release) -> Result<(), ClusterError> {
    let name = secret_name(&release.name, release.revision);
    match api(client).delete(&name, &DeleteParams::default()).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
        Err(e) => Err(api_failure(e, || format!("Secret {NAMESPACE}/{name}"))),
    }
}
