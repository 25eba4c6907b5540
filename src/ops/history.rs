//! `airlock history`: the recorded revisions of a bundle, from a K3s node's
//! store or from a cluster's records, in one shape.

use super::destination::{locate_cluster, runtime, Target};
use crate::destination::cluster::helm::HelmRef;
use crate::destination::cluster::release::{self, Release, Unfinished};
use crate::destination::k3s::state::{self, Revision};
use anyhow::{bail, Result};

pub struct HistoryOptions {
    /// The bundle's name (metadata.name).
    pub name: String,
    pub target: Target,
}

/// One revision as `history` shows it, from a node's or a cluster's records.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RevisionLine {
    pub revision: u32,
    pub action: String,
    pub name: String,
    pub version: String,
    pub manifest_digest: String,
    /// When it was recorded (cluster records only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
    /// Files laid down (on a node) or objects applied (in a cluster).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub files: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub objects: Option<usize>,
    /// Why a run into a cluster stopped half way, or that it did not
    /// finish.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed: Option<String>,
    /// In a cluster: the Helm release revision each chart was recorded as.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub helm: Vec<HelmRef>,
    /// In a cluster: the bundle's environment installed (`--env`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    /// In a cluster: the values the site gave (`-f`, `--set`), by chart.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub site_values: Option<serde_json::Value>,
    /// In a cluster: the Secrets more site values were read from (named
    /// only: their values are never printed).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub values_secrets: Vec<String>,
}

impl From<Release> for RevisionLine {
    fn from(r: Release) -> Self {
        RevisionLine {
            revision: r.revision,
            action: r.action,
            name: r.name,
            version: r.version,
            manifest_digest: r.manifest_digest,
            time: Some(r.time),
            files: None,
            objects: Some(r.objects.len()),
            failed: r.failed.or_else(|| {
                r.unfinished.map(|_| "did not finish, nor go back (airlock was stopped, or lost the API server)".into())
            }),
            helm: r.helm,
            environment: r.environment,
            site_values: r.site_values.map(|values| redacted(values, &r.secret_values)),
            values_secrets: r.values_secrets,
        }
    }
}

impl From<Revision> for RevisionLine {
    fn from(r: Revision) -> Self {
        RevisionLine {
            revision: r.revision,
            action: r.action,
            name: r.name,
            version: r.version,
            manifest_digest: r.manifest_digest.to_string(),
            time: None,
            files: Some(r.files.len()),
            objects: None,
            failed: None,
            helm: Vec::new(),
            environment: r.environment,
            site_values: r.site_values.map(|values| redacted(values, &r.secret_values)),
            values_secrets: Vec::new(),
        }
    }
}

/// `values` with those at `secret` paths (`CHART.a.b`) replaced by
/// `(secret)`: a secret is never printed.
fn redacted(mut values: serde_json::Value, secret: &[String]) -> serde_json::Value {
    for path in secret {
        let pointer = format!("/{}", path.replace('~', "~0").replace('/', "~1").replace('.', "/"));
        if let Some(value) = values.pointer_mut(&pointer) {
            *value = serde_json::Value::String("(secret)".into());
        }
    }
    values
}

/// Every recorded revision, oldest first; an error when there is none.
pub fn history(options: &HistoryOptions) -> Result<Vec<RevisionLine>> {
    let name = &options.name;
    let (lines, place): (Vec<RevisionLine>, String) = match &options.target {
        Target::Node(node) => (
            state::history(&node.root, name)?.into_iter().map(RevisionLine::from).collect(),
            format!("installed under {}", node.root.display()),
        ),
        Target::Cluster(selection) => {
            let cluster = locate_cluster(selection, true)?;
            let records = runtime()?.block_on(async {
                let client = cluster.client().await?;
                release::list(&client, name).await
            })?;
            let newest_unfinished = records.last().and_then(|r| r.unfinished);
            let mut lines: Vec<RevisionLine> = records.into_iter().map(RevisionLine::from).collect();
            // What the next run does about it, said once, on the newest.
            if let (Some(unfinished), Some(newest)) = (newest_unfinished, lines.last_mut()) {
                let next = match unfinished {
                    Unfinished::ReturnTo(good) => format!(
                        "the next install or upgrade returns to revision {good} first, as `airlock rollback {name}` does"
                    ),
                    Unfinished::Remove => {
                        format!("the next install removes what it applied first; `airlock uninstall {name}` removes it")
                    }
                };
                newest.failed = newest.failed.take().map(|why| format!("{why}; {next}"));
            }
            (lines, format!("recorded in the cluster ({})", cluster.describe()))
        }
    };
    if lines.is_empty() {
        bail!("no revision of `{name}` is {place}");
    }
    Ok(lines)
}
