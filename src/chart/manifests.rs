//! Rendered templates as Helm installs them (releaseutil.SortManifests):
//! split into documents, hooks (`helm.sh/hook` annotation) kept apart and
//! marked with their events, the rest in Helm's install order by kind
//! (unknown kinds last, alphabetically; ties keep file and document order).

use super::render::{split_manifests, Rendered};
use super::template::convert::from_yaml;

/// Helm's InstallOrder.
const INSTALL_ORDER: &[&str] = &[
    "PriorityClass",
    "Namespace",
    "NetworkPolicy",
    "ResourceQuota",
    "LimitRange",
    "PodSecurityPolicy",
    "PodDisruptionBudget",
    "ServiceAccount",
    "Secret",
    "SecretList",
    "ConfigMap",
    "StorageClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleList",
    "ClusterRoleBinding",
    "ClusterRoleBindingList",
    "Role",
    "RoleList",
    "RoleBinding",
    "RoleBindingList",
    "Service",
    "DaemonSet",
    "Pod",
    "ReplicationController",
    "ReplicaSet",
    "Deployment",
    "HorizontalPodAutoscaler",
    "StatefulSet",
    "Job",
    "CronJob",
    "IngressClass",
    "Ingress",
    "APIService",
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
];

#[derive(Debug, Clone)]
pub struct Manifest {
    /// The template it came from.
    pub source: String,
    pub kind: String,
    pub text: String,
    /// Hook events (`pre-install`, ...) when this is a hook.
    pub hook_events: Vec<String>,
}

/// Regular manifests in install order, and hooks, in Helm's order, their
/// texts as `helm template` prints them.
pub fn sort(rendered: &Rendered) -> (Vec<Manifest>, Vec<Manifest>) {
    let mut regular = Vec::new();
    let mut hooks = Vec::new();
    // BTreeMap iteration is Helm's sorted file order.
    for (source, text) in &rendered.manifests {
        for doc in split_manifests(text) {
            let parsed = from_yaml(&doc).unwrap_or_default();
            let text_at = |path: &[&str]| parsed.at(path.iter().copied()).and_then(|v| v.as_str().map(str::to_string));
            let kind = text_at(&["kind"]).unwrap_or_default();
            let hook = text_at(&["metadata", "annotations", "helm.sh/hook"]);
            let manifest = Manifest {
                source: source.clone(),
                kind,
                text: doc,
                hook_events: hook
                    .map(|h| h.split(',').map(|e| e.trim().to_string()).filter(|e| !e.is_empty()).collect())
                    .unwrap_or_default(),
            };
            if manifest.hook_events.is_empty() {
                regular.push(manifest);
            } else {
                hooks.push(manifest);
            }
        }
    }
    regular.sort_by(|a, b| rank(&a.kind).cmp(&rank(&b.kind)));
    hooks.sort_by(|a, b| rank(&a.kind).cmp(&rank(&b.kind)));
    // Each text keeps the whitespace it ended in (`split_manifests`), which
    // `helm template` prints, but for the last manifest's: it prints the
    // release's manifests trimmed, then the hooks.
    if let Some(last) = regular.last_mut() {
        last.text.truncate(last.text.trim_end().len());
    }
    (regular, hooks)
}

/// Known kinds by their place; unknown ones after all of them, by name.
pub fn rank(kind: &str) -> (usize, &str) {
    match INSTALL_ORDER.iter().position(|k| *k == kind) {
        Some(i) => (i, ""),
        None => (INSTALL_ORDER.len(), kind),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn install_order_and_hooks_apart() {
        let mut r = Rendered::default();
        r.manifests.insert("c/templates/a.yaml".into(), "kind: Deployment\n---\nkind: Zeta\n---\nkind: Alpha\n".into());
        r.manifests.insert(
            "c/templates/b.yaml".into(),
            "kind: ConfigMap\n---\nkind: Job\nmetadata:\n  annotations:\n    helm.sh/hook: pre-install,pre-upgrade\n"
                .into(),
        );
        r.manifests.insert("c/templates/c.yaml".into(), "kind: Namespace\n".into());
        let (regular, hooks) = sort(&r);
        let kinds: Vec<&str> = regular.iter().map(|m| m.kind.as_str()).collect();
        assert_eq!(kinds, ["Namespace", "ConfigMap", "Deployment", "Alpha", "Zeta"]);
        assert_eq!(hooks.len(), 1);
        assert_eq!(hooks[0].hook_events, ["pre-install", "pre-upgrade"]);
    }
}
