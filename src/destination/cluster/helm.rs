//! The charts a bundle installs into a cluster, kept as Helm v4 releases
//! exactly as Helm stores them (docs/helm-releases.md), so that `helm list`,
//! `history`, `status`, `get` and `rollback` know what airlock installed: a
//! Secret `sh.helm.release.v1.NAME.vREV` in the chart's namespace, labelled
//! `name`, `owner=helm`, `status`, `version`, holding base64(gzip(JSON)) of
//! the release. This module writes and reads those records only; applying
//! the objects is the engine's.

use super::hooks::HookRun;
use super::objects::DesiredObject;
use super::ClusterError;
use base64::Engine;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::ByteString;
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::{Read, Write};

/// Helm's default `--history-max`: older revisions are deleted, never the
/// deployed one.
pub const HISTORY_MAX: usize = 10;

/// One chart's release as rendered for this run: what its Helm record holds.
#[derive(Debug, Clone)]
pub struct HelmChart {
    /// The release name (the chart's name in the bundle).
    pub name: String,
    pub namespace: String,
    /// Helm's `chart` object: metadata, templates, values, schema, files.
    pub chart: Value,
    /// The values the site gave (the bundle's values files), Helm's `config`.
    pub config: Value,
    /// The rendered non-hook objects, `---\n# Source: PATH\nYAML\n` each.
    pub manifest: String,
    /// Helm's hook records.
    pub hooks: Vec<Value>,
    pub notes: String,
}

/// A Helm release revision, as airlock's own record points at it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct HelmRef {
    pub name: String,
    pub namespace: String,
    pub revision: u32,
}

fn secret_name(name: &str, revision: u32) -> String {
    format!("sh.helm.release.v1.{name}.v{revision}")
}

/// The time now as Go writes a `time.Time` in JSON (RFC 3339 with up to
/// nine fraction digits, trailing zeros dropped), so a record reads back
/// from Helm byte for byte as written.
pub(crate) fn now() -> String {
    as_go_writes(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true))
}

/// An RFC 3339 UTC time with nine fraction digits, as Go's RFC3339Nano.
fn as_go_writes(text: String) -> String {
    match text.strip_suffix('Z').and_then(|t| t.split_once('.')) {
        Some((seconds, fraction)) => match fraction.trim_end_matches('0') {
            "" => format!("{seconds}Z"),
            fraction => format!("{seconds}.{fraction}Z"),
        },
        None => text,
    }
}

fn record_error(what: String, detail: impl std::fmt::Display) -> ClusterError {
    ClusterError::Record { what, detail: detail.to_string() }
}

/// JSON, gzip at the best level, standard base64: the bytes Helm stores.
fn encode(release: &Value) -> Result<Vec<u8>, ClusterError> {
    encode_at(release, flate2::Compression::best())
}

/// As `encode`, at gzip `level`. Helm compresses at level 9, and reads any
/// level; the fastest is about twenty times faster on a large chart's
/// record (a profile of an install of cert-manager and traefik, whose
/// records are 2.7 and 1.9 MB of JSON, spent a third of airlock's CPU in
/// deflate), for records about a third larger.
fn encode_at(release: &Value, level: flate2::Compression) -> Result<Vec<u8>, ClusterError> {
    let json = serde_json::to_vec(release).expect("a release serializes");
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), level);
    gzip.write_all(&json)
        .and_then(|_| gzip.finish())
        .map(|zipped| base64::prelude::BASE64_STANDARD.encode(zipped).into_bytes())
        .map_err(|e| record_error(format!("of Helm release {}", release["name"]), e))
}

/// The most a release record may expand to. A Secret holds at most 1 MiB
/// of gzip; a real release (its chart, values and manifest) compresses 5-20x,
/// so 128 MiB leaves room and still stops a gzip bomb in a cluster Secret.
const MAX_RELEASE_JSON: u64 = 128 << 20;

/// Reads what `encode` (or Helm) wrote; plain JSON is read too, as Helm does.
fn decode(secret: &str, data: &[u8]) -> Result<Value, ClusterError> {
    let bad = |detail: String| record_error(format!("Helm release Secret {secret}"), detail);
    let bytes = base64::prelude::BASE64_STANDARD.decode(data).map_err(|e| bad(e.to_string()))?;
    let json = if bytes.starts_with(&[0x1f, 0x8b, 0x08]) {
        let mut text = Vec::new();
        flate2::read::GzDecoder::new(bytes.as_slice())
            .take(MAX_RELEASE_JSON + 1)
            .read_to_end(&mut text)
            .map_err(|e| bad(e.to_string()))?;
        if text.len() as u64 > MAX_RELEASE_JSON {
            return Err(bad(format!(
                "it expands to more than {} MiB (a Secret holds 1 MiB; a gzip bomb?)",
                MAX_RELEASE_JSON >> 20
            )));
        }
        text
    } else {
        bytes
    };
    serde_json::from_slice(&json).map_err(|e| bad(e.to_string()))
}

fn secrets(client: &kube::Client, namespace: &str) -> Api<Secret> {
    Api::namespaced(client.clone(), namespace)
}

/// One stored revision: its number and status as its Secret's labels say
/// them (as Helm's driver lists releases), its record decoded only when
/// needed: a chart's record holds its whole chart, and a history of ten
/// decoded at every step cost more than the API requests.
struct Stored {
    revision: u32,
    status: String,
    secret_name: String,
    data: Vec<u8>,
}

impl Stored {
    fn record(&self) -> Result<Value, ClusterError> {
        decode(&self.secret_name, &self.data)
    }
}

/// Every revision of release `name` in `namespace`, oldest first.
async fn revisions(client: &kube::Client, namespace: &str, name: &str) -> Result<Vec<Stored>, ClusterError> {
    let selector = ListParams::default().labels(&format!("name={name},owner=helm"));
    let listed = secrets(client, namespace)
        .list(&selector)
        .await
        .map_err(|e| super::api_failure(e, || format!("the Helm releases {name} in namespace {namespace}")))?;
    let mut found = Vec::new();
    for secret in listed.items {
        let secret_name = secret.metadata.name.clone().unwrap_or_default();
        let Some(data) = secret.data.and_then(|mut d| d.remove("release")) else { continue };
        let labels = secret.metadata.labels.unwrap_or_default();
        let label = |key: &str| labels.get(key).cloned();
        let mut stored = Stored {
            revision: label("version").and_then(|v| v.parse().ok()).unwrap_or_default(),
            status: label("status").unwrap_or_default(),
            secret_name,
            data: data.0,
        };
        // Written by something that labels less than Helm does: read it.
        if stored.revision == 0 || stored.status.is_empty() {
            let record = stored.record()?;
            stored.revision = revision_of(&record);
            stored.status = status_of(&record);
        }
        found.push(stored);
    }
    found.sort_by_key(|stored| stored.revision);
    Ok(found)
}

/// Writes revision `release.version` of the release, replacing a Secret of
/// that name (as Helm's updates replace it whole).
async fn put(client: &kube::Client, release: &Value) -> Result<(), ClusterError> {
    let (name, namespace) =
        (release["name"].as_str().unwrap_or_default(), release["namespace"].as_str().unwrap_or_default());
    let revision = release["version"].as_u64().unwrap_or_default() as u32;
    let status = release["info"]["status"].as_str().unwrap_or_default();
    let secret_name = secret_name(name, revision);
    let secret = Secret {
        metadata: kube::api::ObjectMeta {
            name: Some(secret_name.clone()),
            namespace: Some(namespace.into()),
            labels: Some(BTreeMap::from([
                ("name".to_string(), name.to_string()),
                ("owner".to_string(), "helm".to_string()),
                ("status".to_string(), status.to_string()),
                ("version".to_string(), revision.to_string()),
                ("modifiedAt".to_string(), chrono::Utc::now().timestamp().to_string()),
            ])),
            ..Default::default()
        },
        type_: Some("helm.sh/release.v1".into()),
        data: Some(BTreeMap::from([("release".to_string(), ByteString(stored_bytes(release)?))])),
        ..Default::default()
    };
    let api = secrets(client, namespace);
    let failed = |e| super::api_failure(e, || format!("Secret {namespace}/{secret_name}"));
    match api.get_opt(&secret_name).await.map_err(failed)? {
        Some(existing) => {
            let mut replacement = secret;
            replacement.metadata.resource_version = existing.metadata.resource_version;
            api.replace(&secret_name, &PostParams::default(), &replacement).await.map_err(failed)?;
        }
        None => {
            api.create(&PostParams::default(), &secret).await.map_err(failed)?;
        }
    }
    Ok(())
}

/// The bytes a revision is stored as: at the fastest level while that fits
/// in a Secret, else at the best (Helm's).
fn stored_bytes(release: &Value) -> Result<Vec<u8>, ClusterError> {
    let fast = encode_at(release, flate2::Compression::fast())?;
    match fast.len() > MAX_RECORD {
        true => encode(release),
        false => Ok(fast),
    }
}

/// What a Secret holds at most (Kubernetes' limit, less room for its
/// metadata).
const MAX_RECORD: usize = 1024 * 1024 - 16 * 1024;

/// Refuses, before anything is applied, a chart whose Helm record would
/// not fit in a Secret (Helm refuses it too).
pub fn check_size(chart: &HelmChart) -> Result<(), ClusterError> {
    let record = next_revision(chart, None, None, "deployed", String::new());
    // Compressed and in base64 it is at most about 4/3 of its JSON: most
    // charts fit without compressing them once more than the write does.
    let json = serde_json::to_vec(&record).expect("a release serializes").len();
    if json / 3 * 4 + 1024 <= MAX_RECORD {
        return Ok(());
    }
    // What fits at the fastest level fits at the best.
    if encode_at(&record, flate2::Compression::fast())?.len() <= MAX_RECORD {
        return Ok(());
    }
    let size = encode(&record)?.len();
    if size > MAX_RECORD {
        return Err(record_error(
            format!("of Helm release {} in namespace {}", chart.name, chart.namespace),
            format!(
                "would be {size} bytes, more than a Secret holds; leave large files out of the chart (.helmignore)"
            ),
        ));
    }
    Ok(())
}

/// Whether `name` can be a Helm release name (Helm's own rule).
pub fn valid_release_name(name: &str) -> bool {
    let label = |part: &str| {
        !part.is_empty()
            && part.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !part.starts_with('-')
            && !part.ends_with('-')
    };
    name.len() <= 53 && name.split('.').all(label)
}

/// Writes `chart` as the next revision of its release, `pending-install`
/// (the first) or `pending-upgrade`, before anything of it is applied, as
/// Helm does: a run that stops without a word leaves it pending, which
/// Helm shows, and the next airlock run marks failed. A revision still
/// pending from such a run is marked failed first.
pub async fn begin(client: &kube::Client, chart: &HelmChart) -> Result<HelmRef, ClusterError> {
    let history = close_interrupted(client, &chart.namespace, &chart.name).await?;
    let statuses: Vec<(u32, String)> = history.iter().map(|s| (s.revision, s.status.clone())).collect();
    let (status, description) = match is_installed(&statuses) {
        false => ("pending-install", "Initial install underway"),
        true => ("pending-upgrade", "Preparing upgrade"),
    };
    let first_deployed = match history.first() {
        Some(first) => Some(first.record()?["info"]["first_deployed"].clone()),
        None => None,
    };
    let last = history.last().map(|s| s.revision);
    let release = next_revision(chart, last, first_deployed, status, description.into());
    put(client, &release).await?;
    Ok(HelmRef { name: chart.name.clone(), namespace: chart.namespace.clone(), revision: revision_of(&release) })
}

/// Writes the revision `helm rollback` would to return the release to
/// `target`'s revision, `pending-rollback`: the target's chart, values,
/// manifest and hooks, described `Rollback to N`.
///
/// None when that revision is gone from Helm's history (trimmed, or
/// deleted by hand): the objects are restored all the same, from
/// airlock's own record, and Helm's history is left as it is.
pub async fn begin_rollback(client: &kube::Client, target: &HelmRef) -> Result<Option<HelmRef>, ClusterError> {
    let history = close_interrupted(client, &target.namespace, &target.name).await?;
    let Some(old) = history.iter().find(|s| s.revision == target.revision) else {
        return Ok(None);
    };
    let old = old.record()?;
    let mut release = old.clone();
    release["version"] = json!(history.last().map_or(1, |s| s.revision + 1));
    release["info"] = json!({
        "first_deployed": history[0].record()?["info"]["first_deployed"],
        "last_deployed": now(),
        "description": format!("Rollback to {}", target.revision),
        "status": "pending-rollback",
        "notes": old["info"]["notes"],
        "rollback_revision": target.revision,
    });
    put(client, &release).await?;
    Ok(Some(HelmRef { revision: revision_of(&release), ..target.clone() }))
}

/// Marks the revision `begin` wrote deployed (`Install complete`,
/// `Upgrade complete`, or still `Rollback to N`); the revisions deployed
/// before become `superseded`, and the oldest beyond `history_max` (0: no
/// limit) are deleted, as Helm's `--history-max`, never the one deployed
/// before.
pub async fn finish(
    client: &kube::Client,
    pending: &HelmRef,
    hooks_run: &[HookRun],
    history_max: usize,
) -> Result<(), ClusterError> {
    let history = revisions(client, &pending.namespace, &pending.name).await?;
    let mut release = written_by_this_run(&history, pending)?;
    mark_hook_runs(&mut release, &pending.namespace, hooks_run);
    let description = match release["info"]["status"].as_str() {
        Some("pending-install") => "Install complete".into(),
        Some("pending-upgrade") => "Upgrade complete".into(),
        _ => release["info"]["description"].clone(),
    };
    release["info"]["status"] = json!("deployed");
    release["info"]["description"] = description;
    release["info"]["last_deployed"] = json!(now());
    put(client, &release).await?;
    let older: Vec<&Stored> = history.iter().filter(|s| s.revision != pending.revision).collect();
    for deployed in older.iter().filter(|s| s.status == "deployed") {
        let mut old = deployed.record()?;
        old["info"]["status"] = json!("superseded");
        put(client, &old).await?;
    }
    // Helm keeps `history_max` revisions, the new one included, and never
    // deletes the one deployed before (now superseded).
    let excess = match history_max {
        0 => 0,
        max => history.len().saturating_sub(max),
    };
    let deletable = older.iter().filter(|s| s.status != "deployed");
    for old in deletable.take(excess) {
        let _ = secrets(client, &pending.namespace).delete(&old.secret_name, &DeleteParams::default()).await;
    }
    Ok(())
}

/// Marks the revision `begin` wrote failed, as Helm marks a run that
/// failed (`Upgrade "NAME" failed: WHY`): the revision deployed before
/// stays deployed.
pub async fn fail(client: &kube::Client, pending: &HelmRef, why: &str) -> Result<(), ClusterError> {
    let history = revisions(client, &pending.namespace, &pending.name).await?;
    let mut release = written_by_this_run(&history, pending)?;
    // One this run finished already stays as it ended.
    if !release["info"]["status"].as_str().is_some_and(|s| s.starts_with("pending-")) {
        return Ok(());
    }
    let verb = verb_of(&release);
    release["info"]["status"] = json!("failed");
    release["info"]["description"] = json!(format!("{verb} \"{}\" failed: {why}", pending.name));
    put(client, &release).await
}

/// Records the runs of `hooks_run` that are hooks of `chart`'s revision
/// (test hooks, after `airlock test`), as `helm test` records them.
pub async fn record_hook_runs(
    client: &kube::Client,
    chart: &HelmRef,
    hooks_run: &[HookRun],
) -> Result<(), ClusterError> {
    let history = revisions(client, &chart.namespace, &chart.name).await?;
    let Some(stored) = history.iter().find(|s| s.revision == chart.revision) else { return Ok(()) };
    let mut release = stored.record()?;
    if mark_hook_runs(&mut release, &chart.namespace, hooks_run) {
        put(client, &release).await?;
    }
    Ok(())
}

/// Sets `last_run` of each hook of `release` (in `namespace`) that ran
/// (Helm's record names no namespace: a hook is its kind and name, in its
/// release's namespace unless cluster-scoped); whether any did.
fn mark_hook_runs(release: &mut Value, namespace: &str, hooks_run: &[HookRun]) -> bool {
    let mut marked = false;
    for hook in release.get_mut("hooks").and_then(Value::as_array_mut).into_iter().flatten() {
        let ran = hooks_run.iter().rev().find(|run| {
            hook["kind"] == run.kind.as_str()
                && hook["name"] == run.name.as_str()
                && run.namespace.as_deref().is_none_or(|ns| ns == namespace)
        });
        if let Some(run) = ran {
            hook["last_run"] =
                json!({"started_at": run.started_at, "completed_at": run.completed_at, "phase": "Succeeded"});
            marked = true;
        }
    }
    marked
}

/// The revision `pending` points at, still as this run wrote it.
fn written_by_this_run(history: &[Stored], pending: &HelmRef) -> Result<Value, ClusterError> {
    let stored = history.iter().find(|s| s.revision == pending.revision).ok_or_else(|| {
        record_error(
            format!("of Helm release {} in namespace {}", pending.name, pending.namespace),
            format!("revision {} was deleted while airlock was writing it", pending.revision),
        )
    })?;
    stored.record()
}

/// The release's history, its newest revision marked failed first if a
/// run left it pending (Helm's own `helm upgrade` refuses such a release
/// until it is rolled back).
async fn close_interrupted(client: &kube::Client, namespace: &str, name: &str) -> Result<Vec<Stored>, ClusterError> {
    let mut history = revisions(client, namespace, name).await?;
    if let Some(newest) = history.last_mut().filter(|s| s.status.starts_with("pending-")) {
        let mut record = newest.record()?;
        let verb = verb_of(&record);
        record["info"]["status"] = json!("failed");
        record["info"]["description"] =
            json!(format!("{verb} \"{name}\" failed: interrupted, the run that wrote it stopped before it ended"));
        put(client, &record).await?;
        newest.status = "failed".into();
    }
    Ok(history)
}

/// What a pending revision was doing, as Helm's failure descriptions say it.
fn verb_of(release: &Value) -> &'static str {
    match release["info"]["status"].as_str() {
        Some("pending-install") => "Release",
        Some("pending-rollback") => "Rollback",
        _ => "Upgrade",
    }
}

fn revision_of(release: &Value) -> u32 {
    release["version"].as_u64().unwrap_or_default() as u32
}

/// The release record of `chart` as the revision after `last` (None: the
/// first), first deployed at `first_deployed` (None: now).
fn next_revision(
    chart: &HelmChart,
    last: Option<u32>,
    first_deployed: Option<Value>,
    status: &str,
    description: String,
) -> Value {
    let revision = last.map_or(1, |last| last + 1);
    let time = now();
    let first_deployed = first_deployed.unwrap_or_else(|| Value::String(time.clone()));
    // No values given: none, as Helm writes it (`helm get values`: null).
    let config =
        if chart.config.as_object().is_some_and(|c| c.is_empty()) { Value::Null } else { chart.config.clone() };
    let mut release = json!({
        "name": chart.name,
        "info": {
            "first_deployed": first_deployed,
            "last_deployed": time,
            "description": description,
            "status": status,
            "notes": chart.notes,
        },
        "chart": chart.chart,
        "config": config,
        "manifest": chart.manifest,
        "hooks": chart.hooks,
        "version": revision,
        "namespace": chart.namespace,
        "apply_method": "ssa",
    });
    // Helm leaves an empty list out (`omitempty`).
    if chart.hooks.is_empty() {
        release.as_object_mut().expect("an object").remove("hooks");
    }
    release
}

/// The objects of the release's deployed revision, as its manifest lists
/// them (namespaced ones that name no namespace are in the release's):
/// what Helm deletes when the next revision drops them, whichever tool
/// wrote that revision (`helm upgrade` may have added objects airlock
/// never recorded). None deployed, or a manifest that does not parse: none;
/// nor when the deployed revision is `known` (airlock's own record lists
/// its objects already, and a large manifest is slow to read).
pub async fn deployed_objects(
    client: &kube::Client,
    namespace: &str,
    name: &str,
    known: Option<u32>,
) -> Vec<DesiredObject> {
    let Ok(history) = revisions(client, namespace, name).await else { return Vec::new() };
    let Some(deployed) = history.iter().rev().find(|s| s.status == "deployed") else { return Vec::new() };
    if Some(deployed.revision) == known {
        return Vec::new();
    }
    let Ok(deployed) = deployed.record() else { return Vec::new() };
    let manifest = deployed["manifest"].as_str().unwrap_or_default();
    let origin = format!("Helm release {name} in namespace {namespace}");
    let documents = super::objects::parse_documents(manifest, &origin).unwrap_or_default();
    documents
        .into_iter()
        .map(|body| DesiredObject { body, default_namespace: Some(namespace.to_string()), origin: origin.clone() })
        .collect()
}

/// Each revision of the release and its status, oldest first.
pub async fn statuses(client: &kube::Client, namespace: &str, name: &str) -> Result<Vec<(u32, String)>, ClusterError> {
    let history = revisions(client, namespace, name).await?;
    Ok(history.into_iter().map(|s| (s.revision, s.status)).collect())
}

fn status_of(release: &Value) -> String {
    release["info"]["status"].as_str().unwrap_or_default().to_string()
}

/// Whether a release with these revisions (oldest first) is installed, so
/// its next revision is an upgrade, as Helm's `upgrade --install` decides:
/// a revision deployed or superseded since the last `uninstalled` one.
pub fn is_installed(statuses: &[(u32, String)]) -> bool {
    statuses
        .iter()
        .rev()
        .take_while(|(_, status)| status != "uninstalled")
        .any(|(_, status)| status == "deployed" || status == "superseded")
}

/// Deletes every revision of the release, as `helm uninstall` does.
pub async fn remove(client: &kube::Client, release: &HelmRef) -> Result<(), ClusterError> {
    let selector = ListParams::default().labels(&format!("name={},owner=helm", release.name));
    secrets(client, &release.namespace).delete_collection(&DeleteParams::default(), &selector).await.map_err(|e| {
        super::api_failure(e, || format!("the Helm release {} in namespace {}", release.name, release.namespace))
    })?;
    Ok(())
}

/// Template data as JSON (`to_json` writes it as Go's json.Marshal does).
pub fn values_json(values: &crate::chart::template::Map) -> Value {
    let map = crate::chart::template::Value::Map(std::rc::Rc::new(std::cell::RefCell::new(values.clone())));
    serde_json::from_str(&crate::chart::template::convert::to_json(&map)).unwrap_or(Value::Null)
}

/// Helm's `chart` object for a loaded chart: metadata (Chart.yaml), the
/// templates, values.yaml, the schema and the other files, each file's
/// bytes in base64 as Go writes `[]byte`. Subcharts are not stored (as in
/// Helm's own records).
pub fn chart_record(chart: &crate::chart::load::Chart) -> Value {
    let base64 = |data: &[u8]| base64::prelude::BASE64_STANDARD.encode(data);
    let file = |(name, data): (&String, &Vec<u8>)| json!({"name": name, "data": base64(data)});
    let special = ["values.yaml", "values.schema.json", "Chart.lock", "requirements.yaml", "requirements.lock"];
    // Helm's Metadata has string fields: `appVersion: 1.10` is a string there.
    let mut metadata = values_json(&chart.metadata);
    for key in [
        "name",
        "home",
        "version",
        "description",
        "icon",
        "apiVersion",
        "condition",
        "tags",
        "appVersion",
        "kubeVersion",
        "type",
    ] {
        if metadata.get(key).is_some_and(|v| !v.is_string() && !v.is_null()) {
            metadata[key] = Value::String(chart.meta_str(key));
        }
    }
    json!({
        "metadata": metadata,
        "lock": null,
        "templates": chart.files.iter().filter(|(name, _)| name.starts_with("templates/")).map(file).collect::<Vec<_>>(),
        "values": if chart.values.is_empty() { Value::Null } else { values_json(&chart.values) },
        "schema": chart.files.get("values.schema.json").map(|data| Value::String(base64(data))),
        "schemamodtime": "0001-01-01T00:00:00Z",
        "files": chart
            .files
            .iter()
            .filter(|(name, _)| !name.starts_with("templates/") && !special.contains(&name.as_str()))
            .map(file)
            .collect::<Vec<_>>(),
    })
}

/// Helm's record of one hook; `path` is its template (`app/templates/x.yaml`).
pub fn hook_record(hook: &super::hooks::Hook, path: &str) -> Value {
    let object = &hook.object;
    let mut record = json!({
        "name": object.name(),
        "kind": object.kind(),
        "path": path,
        "manifest": serde_saphyr::to_string(&object.body).unwrap_or_default(),
        "events": hook.events,
        "last_run": {"phase": ""},
    });
    if hook.weight != 0 {
        record["weight"] = json!(hook.weight);
    }
    if !hook.delete_policies.is_empty() {
        record["delete_policies"] = json!(hook.delete_policies);
    }
    record
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_stored_as_helm_stores_them() {
        let release = json!({"name": "app", "info": {"status": "deployed"}, "version": 3, "manifest": "<&>"});
        let stored = encode(&release).unwrap();
        // Standard base64 of gzip (deflate, no name).
        let zipped = base64::prelude::BASE64_STANDARD.decode(&stored).unwrap();
        assert_eq!(&zipped[..4], &[0x1f, 0x8b, 0x08, 0x00]);
        assert_eq!(decode("s", &stored).unwrap(), release);
        // Plain JSON in base64 is read too, as Helm reads it.
        let plain = base64::prelude::BASE64_STANDARD.encode(serde_json::to_vec(&release).unwrap());
        assert_eq!(decode("s", plain.as_bytes()).unwrap(), release);
        assert!(decode("s", b"not base64!").is_err());
        assert_eq!(secret_name("app", 3), "sh.helm.release.v1.app.v3");
    }

    /// A release Secret that expands past the limit (here 129 MiB of zeros,
    /// 130 KiB of gzip) is refused once the limit is read, naming it.
    #[test]
    fn a_release_that_expands_past_the_limit_is_refused() {
        let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        let zeros = vec![0u8; 1 << 20];
        for _ in 0..(MAX_RELEASE_JSON >> 20) + 1 {
            gzip.write_all(&zeros).unwrap();
        }
        let stored = base64::prelude::BASE64_STANDARD.encode(gzip.finish().unwrap());
        let err = decode("sh.helm.release.v1.bomb.v1", stored.as_bytes()).unwrap_err().to_string();
        assert!(err.contains("sh.helm.release.v1.bomb.v1") && err.contains("more than 128 MiB"), "{err}");
    }

    #[test]
    fn times_are_written_as_go_writes_them() {
        let go = |t: &str| as_go_writes(t.to_string());
        assert_eq!(go("2026-12-06T20:32:52.031250490Z"), "2026-12-06T20:32:52.03125049Z");
        assert_eq!(go("2026-12-06T20:32:52.100000000Z"), "2026-12-06T20:32:52.1Z");
        assert_eq!(go("2026-12-06T20:32:52.000000000Z"), "2026-12-06T20:32:52Z");
        assert_eq!(go("2026-12-06T20:32:52.123456789Z"), "2026-12-06T20:32:52.123456789Z");
        assert!(chrono::DateTime::parse_from_rfc3339(&now()).is_ok());
    }
}

#[cfg(test)]
mod timing {
    /// Run by hand (`cargo test --release --lib gzip_levels -- --ignored
    /// --nocapture`): how long a large record takes to compress.
    #[test]
    #[ignore = "a measurement, not a check"]
    #[allow(clippy::print_stdout)]
    fn gzip_levels() {
        use std::io::Write;
        let text: String =
            (0..60_000).map(|i| format!("  - name: field{i}\n    value: \"{}\"\n", i * 7919 % 1000)).collect();
        let json =
            serde_json::to_vec(&serde_json::json!({"manifest": text, "chart": {"files": [text.clone()]}})).unwrap();
        for level in [1, 6, 9] {
            let start = std::time::Instant::now();
            let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(level));
            gzip.write_all(&json).unwrap();
            let out = gzip.finish().unwrap();
            println!("level {level}: {} -> {} bytes in {:?}", json.len(), out.len(), start.elapsed());
        }
    }
}
