//! Finding the images a rendered chart runs: every container,
//! initContainer and ephemeralContainer of the pod templates of Pods,
//! Deployments, StatefulSets, DaemonSets, ReplicaSets, ReplicationControllers,
//! Jobs and CronJobs; and in other objects (an operator's custom resource;
//! not ConfigMaps, Secrets or CRDs), fields named `image` or `...Image` that
//! hold a reference with a tag or digest. Images named elsewhere (a
//! container's arguments, a ConfigMap, `repository:` and `tag:` apart) are
//! not found: the spec lists those by hand.

use super::render::{split_manifests, Rendered};
use super::template::convert::from_yaml;
use super::template::Value;
use crate::oci::source::is_pinned_reference;

/// An image reference and the template that runs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundImage {
    pub reference: String,
    pub template: String,
}

/// Images in the rendered manifests, in order of first appearance.
pub fn find_images(rendered: &Rendered) -> Vec<FoundImage> {
    let mut found: Vec<FoundImage> = Vec::new();
    for (template, text) in &rendered.manifests {
        for doc in split_manifests(text) {
            let Ok(Value::Map(doc)) = from_yaml(&doc) else { continue };
            let doc = doc.borrow();
            let kind = doc.get("kind").and_then(Value::as_str).unwrap_or_default().to_string();
            let images = match doc.get("spec").and_then(|spec| pod_spec(&kind, spec)) {
                Some(pod) => container_images(&pod),
                // A ConfigMap's `image` key may be any setting; a wrong guess
                // here would make create fail pulling it.
                None if matches!(kind.as_str(), "Secret" | "ConfigMap" | "CustomResourceDefinition") => continue,
                None => {
                    let mut images = Vec::new();
                    for (key, value) in doc.iter().filter(|(key, _)| !matches!(key.as_str(), "metadata" | "kind")) {
                        image_fields(key, value, &mut images);
                    }
                    images
                }
            };
            for image in images {
                if !found.iter().any(|f| f.reference == image) {
                    found.push(FoundImage { reference: image, template: template.clone() });
                }
            }
        }
    }
    found
}

/// The pod spec inside a workload's spec.
fn pod_spec(kind: &str, spec: &Value) -> Option<Value> {
    match kind {
        "Pod" => Some(spec.clone()),
        "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" | "ReplicationController" | "Job" => {
            spec.at(["template", "spec"])
        }
        "CronJob" => spec.at(["jobTemplate", "spec", "template", "spec"]),
        _ => None,
    }
}

/// The pinned references in fields named `image` or `...Image` under
/// `value` (the field `key`), in order.
fn image_fields(key: &str, value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Str(text) if key == "image" || key.ends_with("Image") => {
            let text = text.trim();
            if is_pinned_reference(text) {
                out.push(text.to_string());
            }
        }
        Value::List(items) => items.iter().for_each(|item| image_fields(key, item, out)),
        Value::Map(map) => map.borrow().iter().for_each(|(key, item)| image_fields(key, item, out)),
        _ => {}
    }
}

fn container_images(pod: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for list in ["initContainers", "containers", "ephemeralContainers"] {
        if let Some(Value::List(containers)) = pod.at([list]) {
            for c in containers.iter() {
                if let Some(Value::Str(image)) = c.at(["image"]) {
                    let image = image.trim();
                    if !image.is_empty() {
                        out.push(image.to_string());
                    }
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_images_in_every_kind_of_pod_template() {
        let mut rendered = Rendered::default();
        rendered.manifests.insert(
            "c/templates/a.yaml".into(),
            "kind: Deployment\nspec:\n  template:\n    spec:\n      initContainers: [{image: busybox:1}]\n      containers: [{image: app:1}, {image: app:1}]\n---\nkind: ConfigMap\ndata: {image: not-me}\n---\nkind: CronJob\nspec:\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          containers: [{image: 'quay.io/x/job@sha256:00'}]\n".into(),
        );
        rendered.manifests.insert(
            "c/templates/b.yaml".into(),
            "kind: Pod\nspec:\n  ephemeralContainers: [{image: debug:2}]\n".into(),
        );
        let found: Vec<String> = find_images(&rendered).into_iter().map(|f| f.reference).collect();
        assert_eq!(found, ["busybox:1", "app:1", "quay.io/x/job@sha256:00", "debug:2"]);
    }

    #[test]
    fn finds_pinned_images_in_the_image_fields_of_other_objects() {
        let mut rendered = Rendered::default();
        rendered.manifests.insert(
            "c/templates/prometheus.yaml".into(),
            "apiVersion: monitoring.coreos.com/v1\nkind: Prometheus\nmetadata: {name: k8s, annotations: {image: 'meta:1'}}\nspec:\n  image: quay.io/prometheus/prometheus:v2.53.0\n  ingressClassName: nginx\n  note: 'redis:7'\n  sidecars: [{image: 'app:1'}, {image: bare}]\n  thanos: {baseImage: 'quay.io/thanos/thanos:v0.35.1', tag: v1}\n---\nkind: Secret\nstringData: {image: 'secret:1'}\n---\nkind: ConfigMap\ndata: {image: 'cm:1', text: 'image: inline:1'}\n".into(),
        );
        let found: Vec<String> = find_images(&rendered).into_iter().map(|f| f.reference).collect();
        assert_eq!(found, ["quay.io/prometheus/prometheus:v2.53.0", "app:1", "quay.io/thanos/thanos:v0.35.1"]);
    }
}
