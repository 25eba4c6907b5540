//! Kubernetes APIs that were served once and removed since (the
//! deprecated-API migration guide's list): which release removed each and
//! what replaces it, so that an object still written against one is named
//! with its way out instead of a bare "kind not served". Knowledge only:
//! nothing here talks to a cluster.

/// A removed API, as a bundle's object may still use it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RemovedApi {
    /// The Kubernetes release that stopped serving it (`1.25`).
    pub removed_in: &'static str,
    /// What to use instead.
    pub replacement: &'static str,
}

/// (apiVersion, kind or `*` for every kind of that version, removed in, replacement).
const REMOVED: &[(&str, &str, &str, &str)] = &[
    (
        "policy/v1beta1",
        "PodSecurityPolicy",
        "1.25",
        "Pod Security admission: label the namespace `pod-security.kubernetes.io/enforce: restricted` (or `baseline`) and give the pods security contexts that meet it",
    ),
    ("policy/v1beta1", "PodDisruptionBudget", "1.25", "policy/v1 (the same fields)"),
    ("batch/v1beta1", "CronJob", "1.25", "batch/v1 (the same fields)"),
    ("autoscaling/v2beta1", "HorizontalPodAutoscaler", "1.25", "autoscaling/v2"),
    ("autoscaling/v2beta2", "HorizontalPodAutoscaler", "1.26", "autoscaling/v2"),
    ("discovery.k8s.io/v1beta1", "EndpointSlice", "1.25", "discovery.k8s.io/v1"),
    ("events.k8s.io/v1beta1", "Event", "1.25", "events.k8s.io/v1"),
    ("node.k8s.io/v1beta1", "RuntimeClass", "1.25", "node.k8s.io/v1"),
    ("storage.k8s.io/v1beta1", "CSIStorageCapacity", "1.27", "storage.k8s.io/v1"),
    ("flowcontrol.apiserver.k8s.io/v1beta1", "*", "1.26", "flowcontrol.apiserver.k8s.io/v1"),
    ("flowcontrol.apiserver.k8s.io/v1beta2", "*", "1.29", "flowcontrol.apiserver.k8s.io/v1"),
    ("flowcontrol.apiserver.k8s.io/v1beta3", "*", "1.32", "flowcontrol.apiserver.k8s.io/v1"),
    ("extensions/v1beta1", "Ingress", "1.22", "networking.k8s.io/v1 (with pathType and service.name/port)"),
    ("networking.k8s.io/v1beta1", "*", "1.22", "networking.k8s.io/v1"),
    ("extensions/v1beta1", "*", "1.16", "apps/v1 for workloads, networking.k8s.io/v1 for NetworkPolicy and Ingress"),
    ("apps/v1beta1", "*", "1.16", "apps/v1"),
    ("apps/v1beta2", "*", "1.16", "apps/v1"),
    ("apiextensions.k8s.io/v1beta1", "*", "1.22", "apiextensions.k8s.io/v1 (every version needs a structural schema)"),
    ("admissionregistration.k8s.io/v1beta1", "*", "1.22", "admissionregistration.k8s.io/v1"),
    ("rbac.authorization.k8s.io/v1beta1", "*", "1.22", "rbac.authorization.k8s.io/v1"),
    ("scheduling.k8s.io/v1beta1", "*", "1.22", "scheduling.k8s.io/v1"),
    ("storage.k8s.io/v1beta1", "*", "1.22", "storage.k8s.io/v1"),
    ("certificates.k8s.io/v1beta1", "*", "1.22", "certificates.k8s.io/v1"),
    ("coordination.k8s.io/v1beta1", "*", "1.22", "coordination.k8s.io/v1"),
];

/// The removal of `kind` in `api_version`, if Kubernetes removed it.
pub fn removed(api_version: &str, kind: &str) -> Option<RemovedApi> {
    REMOVED
        .iter()
        .find(|(version, k, _, _)| *version == api_version && (*k == kind || *k == "*"))
        .map(|(_, _, removed_in, replacement)| RemovedApi { removed_in, replacement })
}

/// Each object in a YAML text (documents, Lists unfolded) whose API was
/// removed, said as `KIND NAME: KIND (API) was removed in ...`.
pub fn in_yaml(text: &str) -> Vec<String> {
    let mut stack = crate::yaml11::documents(text).unwrap_or_default();
    let mut found = Vec::new();
    while let Some(doc) = stack.pop() {
        let (api_version, kind) =
            (doc["apiVersion"].as_str().unwrap_or_default(), doc["kind"].as_str().unwrap_or_default());
        if kind == "List" {
            stack.extend(doc["items"].as_array().cloned().unwrap_or_default());
        } else if let Some(gone) = removed(api_version, kind) {
            let name = doc["metadata"]["name"].as_str().unwrap_or("(unnamed)");
            found.push(format!("{kind} {name}: {}", gone.describe(api_version, kind)));
        }
    }
    found.reverse();
    found
}

impl RemovedApi {
    /// `KIND (API) was removed in Kubernetes N: use R`.
    pub fn describe(&self, api_version: &str, kind: &str) -> String {
        format!(
            "{kind} ({api_version}) was removed in Kubernetes {}, so clusters from then on refuse it: use {} instead",
            self.removed_in, self.replacement
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removed_kinds_are_named_with_their_replacement() {
        let psp = removed("policy/v1beta1", "PodSecurityPolicy").unwrap();
        assert_eq!(psp.removed_in, "1.25");
        assert!(psp.describe("policy/v1beta1", "PodSecurityPolicy").contains("pod-security.kubernetes.io/enforce"));
        // A specific kind wins over its version's catch-all.
        assert_eq!(removed("extensions/v1beta1", "Ingress").unwrap().removed_in, "1.22");
        assert_eq!(removed("extensions/v1beta1", "Deployment").unwrap().removed_in, "1.16");
        assert_eq!(removed("policy/v1", "PodDisruptionBudget"), None);
        assert_eq!(removed("traefik.io/v1alpha1", "IngressRoute"), None);
        let text = "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: policy/v1beta1, kind: PodSecurityPolicy, metadata: {name: psp}}\n---\napiVersion: batch/v1\nkind: CronJob\nmetadata: {name: ok}\n";
        let found = in_yaml(text);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0]
            .starts_with("PodSecurityPolicy psp: PodSecurityPolicy (policy/v1beta1) was removed in Kubernetes 1.25"));
    }
}
