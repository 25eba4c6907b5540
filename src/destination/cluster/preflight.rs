//! The checks a bundle's author asks of the site's cluster (`preflight:`
//! in the spec): its Kubernetes version, its nodes' architectures, a
//! StorageClass or CRD that must exist, the nodes' capacity. It reads the
//! cluster and says what each check found; refusing or warning is the
//! caller's.

use super::{api_failure, Capabilities, ClusterError};
use crate::bundle::format::{PreflightCheck, Requirement};
use k8s_openapi::api::core::v1::Node;
use k8s_openapi::api::storage::v1::StorageClass;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, ListParams};

/// What one check found.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Outcome {
    /// The check, as a person reads it (`Kubernetes >=1.28`).
    pub check: String,
    pub passed: bool,
    /// What the cluster has (`v1.37.2`), and the author's message on failure.
    pub found: String,
    pub strict: bool,
}

/// Refuses a check that cannot be run: a version constraint or a quantity
/// that does not parse (said at create, with the spec's line).
pub fn check_spec(check: &PreflightCheck) -> Result<(), String> {
    match &check.requirement {
        Requirement::KubeVersion(constraint) => {
            crate::chart::template::semver::satisfies(constraint, "1.0.0").map(|_| ())
        }
        Requirement::Capacity { cpu, memory } => {
            if cpu.is_none() && memory.is_none() {
                return Err("capacity needs cpu or memory".into());
            }
            cpu.as_deref().map(cpu_millis).transpose()?;
            memory.as_deref().map(bytes).transpose()?;
            Ok(())
        }
        Requirement::Architectures(list) if list.is_empty() => Err("architectures is empty".into()),
        _ => Ok(()),
    }
}

/// Runs every check against the cluster.
pub async fn run(
    client: &kube::Client,
    capabilities: &Capabilities,
    checks: &[PreflightCheck],
) -> Result<Vec<Outcome>, ClusterError> {
    let mut outcomes = Vec::new();
    let mut nodes: Option<Vec<Node>> = None;
    for check in checks {
        let (what, passed, found) = match &check.requirement {
            Requirement::KubeVersion(constraint) => {
                let version = capabilities.kube_version.trim_start_matches('v');
                let version = version.split(['-', '+']).next().unwrap_or(version);
                let passed = crate::chart::template::semver::satisfies(constraint, version).unwrap_or(false);
                (format!("Kubernetes {constraint}"), passed, capabilities.kube_version.clone())
            }
            Requirement::Architectures(wanted) => {
                let nodes = nodes_of(client, &mut nodes).await?;
                let others: Vec<String> = nodes
                    .iter()
                    .filter_map(|n| {
                        let arch = n.status.as_ref()?.node_info.as_ref()?.architecture.clone();
                        (!wanted.contains(&arch))
                            .then(|| format!("{} ({arch})", n.metadata.name.clone().unwrap_or_default()))
                    })
                    .collect();
                let found = match others.is_empty() {
                    true => format!("{} node(s), all of them", nodes.len()),
                    false => format!("node(s) {}", others.join(", ")),
                };
                (format!("nodes of architecture {}", wanted.join(" or ")), others.is_empty(), found)
            }
            Requirement::StorageClass(name) => {
                let api: Api<StorageClass> = Api::all(client.clone());
                let found = api.get_opt(name).await.map_err(|e| api_failure(e, || format!("StorageClass {name}")))?;
                let all = api.list(&ListParams::default()).await.map(|l| l.items).unwrap_or_default();
                let names: Vec<String> = all.into_iter().filter_map(|s| s.metadata.name).collect();
                let has = if names.is_empty() { "none".to_string() } else { names.join(", ") };
                (format!("StorageClass {name}"), found.is_some(), format!("storage classes: {has}"))
            }
            Requirement::Crd(name) => {
                let api: Api<CustomResourceDefinition> = Api::all(client.clone());
                let found = api.get_opt(name).await.map_err(|e| api_failure(e, || format!("CRD {name}")))?;
                let said = if found.is_some() { "present" } else { "absent" };
                (format!("CustomResourceDefinition {name}"), found.is_some(), said.to_string())
            }
            Requirement::Capacity { cpu, memory } => {
                let nodes = nodes_of(client, &mut nodes).await?;
                let (mut have_cpu, mut have_memory) = (0u64, 0u64);
                for node in nodes {
                    let allocatable = node.status.as_ref().and_then(|s| s.allocatable.as_ref());
                    let quantity = |key: &str| allocatable.and_then(|a| a.get(key)).map(|q| q.0.clone());
                    have_cpu += quantity("cpu").and_then(|q| cpu_millis(&q).ok()).unwrap_or(0);
                    have_memory += quantity("memory").and_then(|q| bytes(&q).ok()).unwrap_or(0);
                }
                let want_cpu = cpu.as_deref().map(cpu_millis).transpose().map_err(bad_check)?;
                let want_memory = memory.as_deref().map(bytes).transpose().map_err(bad_check)?;
                let passed = want_cpu.is_none_or(|w| have_cpu >= w) && want_memory.is_none_or(|w| have_memory >= w);
                let wanted: Vec<String> =
                    [cpu.as_ref().map(|c| format!("{c} CPU")), memory.as_ref().map(|m| format!("{m} memory"))]
                        .into_iter()
                        .flatten()
                        .collect();
                let found =
                    format!("{} CPU, {} GiB memory allocatable", have_cpu as f64 / 1000.0, have_memory / (1 << 30));
                (format!("capacity of {}", wanted.join(" and ")), passed, found)
            }
        };
        let found = match (&check.message, passed) {
            (Some(message), false) => format!("{found}; {message}"),
            _ => found,
        };
        let what = match &check.when {
            Some(when) => format!("{what} (as {when} is on)"),
            None => what,
        };
        outcomes.push(Outcome { check: what, passed, found, strict: check.strict });
    }
    Ok(outcomes)
}

fn bad_check(detail: String) -> ClusterError {
    ClusterError::Values { chart: "preflight".into(), detail }
}

/// The cluster's nodes, listed once for all the checks that need them.
async fn nodes_of<'a>(client: &kube::Client, nodes: &'a mut Option<Vec<Node>>) -> Result<&'a [Node], ClusterError> {
    if nodes.is_none() {
        let api: Api<Node> = Api::all(client.clone());
        let listed = api.list(&ListParams::default()).await.map_err(|e| api_failure(e, || "the nodes".into()))?;
        *nodes = Some(listed.items);
    }
    Ok(nodes.as_deref().unwrap_or_default())
}

/// A CPU quantity in millicores (`2`, `500m`, `1.5`). Written here: the
/// two suffixes CPU takes do not warrant a dependency.
fn cpu_millis(quantity: &str) -> Result<u64, String> {
    let bad = || format!("`{quantity}` is not a CPU quantity (`2`, `500m`)");
    match quantity.strip_suffix('m') {
        Some(millis) => millis.parse::<u64>().map_err(|_| bad()),
        None => quantity.parse::<f64>().map(|cores| (cores * 1000.0).round() as u64).map_err(|_| bad()),
    }
}

/// A memory quantity in bytes (`8Gi`, `512Mi`, `1G`, `1000`).
fn bytes(quantity: &str) -> Result<u64, String> {
    let bad = || format!("`{quantity}` is not a memory quantity (`8Gi`, `512Mi`)");
    let units: [(&str, u64); 8] = [
        ("Ki", 1 << 10),
        ("Mi", 1 << 20),
        ("Gi", 1 << 30),
        ("Ti", 1 << 40),
        ("k", 1_000),
        ("M", 1_000_000),
        ("G", 1_000_000_000),
        ("T", 1_000_000_000_000),
    ];
    for (suffix, factor) in units {
        if let Some(number) = quantity.strip_suffix(suffix) {
            return number.parse::<f64>().map(|n| (n * factor as f64) as u64).map_err(|_| bad());
        }
    }
    quantity.parse::<u64>().map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_read_as_kubernetes_writes_them() {
        assert_eq!(cpu_millis("2"), Ok(2000));
        assert_eq!(cpu_millis("500m"), Ok(500));
        assert_eq!(cpu_millis("1.5"), Ok(1500));
        assert!(cpu_millis("two").is_err());
        assert_eq!(bytes("8Gi"), Ok(8 << 30));
        assert_eq!(bytes("512Mi"), Ok(512 << 20));
        assert_eq!(bytes("1G"), Ok(1_000_000_000));
        assert_eq!(bytes("1000"), Ok(1000));
        assert!(bytes("lots").is_err());
    }

    #[test]
    fn checks_are_written_as_the_spec_gives_them() {
        let check: PreflightCheck =
            serde_json::from_value(serde_json::json!({"kubeVersion": ">=1.28", "strict": true})).unwrap();
        assert_eq!(check.requirement, Requirement::KubeVersion(">=1.28".into()));
        assert!(check.strict && check_spec(&check).is_ok());
        let capacity: PreflightCheck =
            serde_json::from_value(serde_json::json!({"capacity": {"cpu": "4", "memory": "8Gi"}})).unwrap();
        assert!(!capacity.strict && check_spec(&capacity).is_ok());
        let bad: PreflightCheck = serde_json::from_value(serde_json::json!({"capacity": {"memory": "lots"}})).unwrap();
        assert!(check_spec(&bad).unwrap_err().contains("not a memory quantity"));
        assert!(serde_json::from_value::<PreflightCheck>(serde_json::json!({"cpus": 4})).is_err());
    }
}
