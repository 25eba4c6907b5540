//! Talking to a Kubernetes API server (kube): which cluster, found as
//! kubectl finds it (`kubeconfig`), what a bundle asks of a cluster
//! (`objects`, images moved by `relocate`, images the site's choice asks
//! for checked by `site_images`, the author's `preflight` checks, site
//! values kept in Secrets `values_secrets`),
//! applying, reading and deleting objects (`apply`), chart hooks
//! (`hooks`), readiness (`ready`), what a dry run would change (`diff`),
//! airlock's release records (`release`) and each chart's Helm release
//! (`helm`) kept in the cluster, one run at a time (`lock`), and the verbs
//! over them (`lifecycle`, on the `converge` engine); the charts' `lookup`
//! of live objects as they render (`lookup`). Kinds are looked up
//! by discovery (never guessed plurals), each request has a timeout, and
//! nothing is retried here: a rerun converges. CustomResourceDefinitions
//! and Namespaces are never deleted (they take everything in them along).

pub mod apply;
mod converge;
pub mod diff;
mod dry_run;
pub mod helm;
pub mod hooks;
pub mod kubeconfig;
pub mod lifecycle;
pub mod lock;
pub mod lookup;
pub mod objects;
pub mod ownership;
pub mod preflight;
pub mod ready;
pub mod release;
pub mod relocate;
pub mod site_images;
pub mod values_secrets;
mod waits;
pub mod webhooks;

#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("cannot use {origin}")]
    Kubeconfig {
        origin: String,
        #[source]
        source: Box<kubeconfig::KubeconfigFault>,
    },
    #[error("no cluster found: tried {tried}")]
    NoCluster { tried: String },
    #[error("context `{context}` is not in {origin}; {has}")]
    UnknownContext { context: String, origin: String, has: String },
    #[error("the current-context `{context}` of {origin} is not one of its contexts ({has})")]
    BadCurrentContext { context: String, origin: String, has: String },
    #[error("{origin} sets no current-context ({has})")]
    NoCurrentContext { origin: String, has: String },
    #[error("context `{context}` is not in any kubeconfig: none was found (tried {tried})")]
    ContextWithoutKubeconfig { context: String, tried: String },
    #[error("cannot reach the cluster: {0}")]
    Unreachable(String),
    #[error("{origin}: {detail}")]
    BadDocument { origin: String, detail: String },
    #[error("{object} is declared twice, differently: in {first} and in {second}")]
    Duplicate { object: String, first: String, second: String },
    /// A blob the bundle lists cannot be read from it: `what` names it
    /// (`the archive of chart web`).
    #[error("cannot read {what} from the bundle")]
    BundleBlob {
        what: String,
        #[source]
        source: Box<crate::bundle::BundleError>,
    },
    #[error("cannot load chart {chart} from the bundle")]
    ChartLoad {
        chart: String,
        #[source]
        source: Box<crate::chart::ChartError>,
    },
    #[error("cannot render chart {chart}")]
    Render {
        chart: String,
        #[source]
        source: Box<crate::chart::render::RenderError>,
    },
    /// The chart's bundled values do not merge (their own text says why).
    #[error("cannot render chart {chart}: {detail}")]
    Values { chart: String, detail: String },
    #[error("the cluster does not serve kind {kind} ({api_version}), which {object} is")]
    UnknownKind { kind: String, api_version: String, object: String },
    #[error("the cluster refused {object}: {detail}")]
    Refused { object: String, detail: String },
    #[error("{object} has fields that another field manager set since: {detail}")]
    Conflict { object: String, detail: String },
    #[error("CustomResourceDefinition {names} not established after {seconds} s, so nothing that uses it was applied")]
    NotEstablished { names: String, seconds: u64 },
    #[error("not ready after {seconds} s: {list}")]
    NotReady { seconds: u64, list: String, describe: String },
    #[error("chart {hook} failed: {detail}")]
    HookFailed { hook: String, detail: String, logs: String },
    #[error("airlock's release record {what}: {detail}")]
    Record { what: String, detail: String },
    /// `what` says which record and what was done to it (`of web revision
    /// 3 cannot be compressed`).
    #[error("airlock's release record {what}")]
    RecordData {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("airlock's release record {what} cannot be read")]
    RecordJson {
        what: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("{name} {version} is already installed in this cluster (revision {revision})")]
    AlreadyInstalled { name: String, version: String, revision: u32 },
    #[error("{name} is not installed in this cluster (no record in namespace {})", release::NAMESPACE)]
    NotInstalled { name: String, upgrading: bool },
    #[error("{name} {version} declares {} object(s) that already exist and are not its own: {}; nothing was applied", .taken.len(), .taken.join("; "))]
    Taken { name: String, version: String, taken: Vec<String> },
    #[error("{name} has only revision {revision} recorded; there is nothing to roll back to")]
    NothingToRollBack { name: String, revision: u32 },
    #[error("revision {wanted} of {name} is not recorded; recorded: {recorded}")]
    RevisionNotRecorded { name: String, wanted: u32, recorded: String },
    #[error(
        "revision {wanted} of {name} failed half way ({why}), so it is no state to return to; choose another with --to"
    )]
    RevisionFailed { name: String, wanted: u32, why: String },
    #[error("{name} {version} (revision {revision}) has no test hooks (`helm.sh/hook: test`) to run")]
    NoTests { name: String, version: String, revision: u32 },
    #[error("{name} is being uninstalled, but after {seconds} s these objects are still being deleted: {held}; a finalizer waits for the controller that owns it (if that controller was part of {name} and is gone, remove the finalizer by hand), so the records are kept and rerunning `airlock uninstall {name}` waits again")]
    StillDeleting { name: String, seconds: u64, held: String },
    /// A run that failed part-way, after which the release was returned
    /// to revision `to.0`, as the new revision `to.1` (None: a first
    /// install, removed).
    #[error("{name} {version} failed, so the release was returned to {}", .to.map(|(good, new)| format!("revision {good} (as revision {new}, `rollback to {good}`)")).unwrap_or_else(|| "nothing: what it applied was removed".into()))]
    RolledBack {
        name: String,
        version: String,
        to: Option<(u32, u32)>,
        #[source]
        cause: Box<ClusterError>,
    },
    #[error("chart {chart} would run image {image}, which the bundle does not carry, so the site cannot pull it: asked for by {by}")]
    ImageNotCarried { chart: String, image: String, by: String },
    #[error(
        "this cluster does not meet what {bundle} requires (strict preflight checks): {refused}; nothing was installed"
    )]
    PreflightRefused { bundle: String, refused: String },
    #[error("the site values in Secret {secret}: {detail}")]
    ValuesSecret { secret: String, detail: String },
    #[error("{name} was installed with environment `{environment}`, which this version of the bundle does not carry (it has: {has})")]
    EnvironmentGone { name: String, environment: String, has: String },
    #[error("{name} is being changed by {holder}, since {since}; nothing was done")]
    Busy { name: String, holder: String, since: String },
    #[error("this run lost its lease on {name} ({why}), so it stopped before its next change; its record says where it was, and the next run finishes it")]
    LeaseLost { name: String, why: String },
    /// A run that stopped part-way: `what` says where it stopped and what
    /// to do; the cause follows in the error's chain.
    #[error("{what}")]
    Stopped {
        what: String,
        #[source]
        cause: Box<ClusterError>,
    },
}

impl ClusterError {
    /// This error as the cause of a run that stopped, said by `what`.
    pub fn stopped(self, what: String) -> ClusterError {
        ClusterError::Stopped { what, cause: Box::new(self) }
    }
}

/// The pauses between reads of the API server while waiting for something
/// (a CRD served, a hook finished, a rollout done, an object gone): short
/// at first, as most such waits end within a second, then growing to one
/// a second, so a wait of minutes costs the API server few requests.
pub(crate) struct Poll {
    pause: std::time::Duration,
}

impl Poll {
    pub(crate) fn new() -> Poll {
        Poll { pause: std::time::Duration::from_millis(50) }
    }

    /// Sleeps the next pause, never past `deadline`.
    pub(crate) async fn sleep(&mut self, deadline: std::time::Instant) {
        tokio::time::sleep(self.pause.min(deadline.saturating_duration_since(std::time::Instant::now()))).await;
        self.pause = (self.pause * 3 / 2).min(std::time::Duration::from_secs(1));
    }
}

/// Sorts a failed API call: no answer at all, or the API's own refusal.
fn api_failure(e: kube::Error, object: impl FnOnce() -> String) -> ClusterError {
    match e {
        kube::Error::Api(status) => ClusterError::Refused { object: object(), detail: status.message },
        other => unreachable(other),
    }
}

/// No answer from the API server, with every cause kube wraps (the refused
/// connection, the unknown certificate), which its own text leaves out.
fn unreachable(e: kube::Error) -> ClusterError {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text = format!("{text}: {cause_text}");
        }
        source = cause.source();
    }
    ClusterError::Unreachable(text)
}

/// What happened to one resource.
#[derive(Debug)]
pub enum Deletion {
    Deleted,
    /// Not there (already deleted, or its kind is gone from the cluster).
    Absent,
    Failed(String),
}

/// What charts may ask of the cluster they render for (`.Capabilities`).
#[derive(Debug, Clone, Default)]
pub struct Capabilities {
    /// `v1.33.0`.
    pub kube_version: String,
    /// Every group/version served (`v1`, `apps/v1`, ...) and every kind
    /// in each (`policy/v1/PodDisruptionBudget`), as Helm's
    /// `.Capabilities.APIVersions` lists them at install: charts ask for
    /// either (Traefik's picks its PodDisruptionBudget's version by kind).
    pub api_versions: Vec<String>,
}

/// The cluster's version, API versions and the kinds in each, as Helm's
/// discovery finds them: from aggregated discovery (two requests, served
/// since Kubernetes 1.30), else one request per group version.
pub async fn capabilities(client: &kube::Client) -> Result<Capabilities, ClusterError> {
    let kube_version = client.apiserver_version().await.map_err(unreachable)?.git_version;
    let api_versions = match kube::Discovery::new(client.clone()).run_aggregated().await {
        Ok(discovery) => discovery
            .groups()
            .flat_map(|group| {
                group.versions().flat_map(move |version| {
                    let gv = match group.name() {
                        "" => version.to_string(),
                        name => format!("{name}/{version}"),
                    };
                    let kinds: std::collections::BTreeSet<String> =
                        group.versioned_resources(version).into_iter().map(|(resource, _)| resource.kind).collect();
                    std::iter::once(gv.clone()).chain(kinds.into_iter().map(move |kind| format!("{gv}/{kind}")))
                })
            })
            .collect(),
        Err(_) => api_versions_one_by_one(client).await?,
    };
    Ok(Capabilities { kube_version, api_versions })
}

/// The group versions and their kinds, a request for each group version
/// (the resource lists asked for all at once).
async fn api_versions_one_by_one(client: &kube::Client) -> Result<Vec<String>, ClusterError> {
    let mut group_versions = client.list_core_api_versions().await.map_err(unreachable)?.versions;
    for group in client.list_api_groups().await.map_err(unreachable)?.groups {
        group_versions.extend(group.versions.into_iter().map(|v| v.group_version));
    }
    let lists = group_versions.iter().map(|gv| async move {
        match gv.contains('/') {
            true => client.list_api_group_resources(gv).await,
            false => client.list_core_api_resources(gv).await,
        }
    });
    let mut api_versions = Vec::new();
    for (gv, list) in group_versions.iter().zip(futures_util::future::join_all(lists).await) {
        api_versions.push(gv.clone());
        // A group version whose resources cannot be listed (an aggregated
        // API that is down) still counts as served, as Helm counts it.
        let resources = list.map(|l| l.resources).unwrap_or_default();
        let kinds: std::collections::BTreeSet<String> =
            resources.into_iter().filter(|r| !r.name.contains('/')).map(|r| r.kind).collect();
        api_versions.extend(kinds.into_iter().map(|kind| format!("{gv}/{kind}")));
    }
    Ok(api_versions)
}

/// The platforms of the cluster's nodes (as their kubelets report them),
/// each with the names of its nodes. Empty when the nodes cannot be
/// listed (a user without that right): nothing is checked then.
pub async fn node_platforms(
    client: &kube::Client,
) -> std::collections::BTreeMap<crate::oci::manifest::Platform, Vec<String>> {
    let api: kube::Api<k8s_openapi::api::core::v1::Node> = kube::Api::all(client.clone());
    let mut platforms: std::collections::BTreeMap<crate::oci::manifest::Platform, Vec<String>> = Default::default();
    let Ok(nodes) = api.list(&kube::api::ListParams::default()).await else { return platforms };
    for node in nodes.items {
        let Some(info) = node.status.and_then(|s| s.node_info) else { continue };
        let platform = crate::oci::manifest::Platform {
            os: info.operating_system,
            architecture: info.architecture,
            variant: None,
        };
        platforms.entry(platform).or_default().push(node.metadata.name.unwrap_or_default());
    }
    platforms
}

fn is_not_found(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(status) if status.code == 404)
        || matches!(e, kube::Error::Discovery(kube::error::DiscoveryError::MissingKind(_)))
}
