//! Moving the images that pod templates run (and that other objects name
//! whole, for an operator) to where `airlock push` put them, for the
//! images the bundle carries; naming the others. With
//! registry credentials, those pods also get a pull secret (made per
//! namespace here, as an object to apply). Changes the objects given.

use crate::bundle::format::ImageRecord;
use crate::destination::registry::{target_repository, Destination};
use crate::oci::source::{is_pinned_reference, parse_reference};
use serde_json::Value;

/// Where the bundle's images were pushed, as `airlock push --registry` names them.
pub struct Relocation<'a> {
    pub destination: Destination,
    pub keep_registry_host: bool,
    pub images: Vec<&'a ImageRecord>,
    /// (username, password) the pods pull with, through a Secret named
    /// `pull_secret` in each namespace that runs a moved image.
    pub credentials: Option<(String, String)>,
    pub pull_secret: String,
}

/// The pull secret of bundle `release`: one per bundle, so that two
/// bundles in a namespace never own, or delete, each other's.
pub fn pull_secret_name(release: &str) -> String {
    format!("airlock-registry-{release}")
}

/// Whether `images` (those a bundle carries) hold `image`: a tag matched
/// by name, a digest by the image's own digest or one of its platform
/// manifests.
pub fn carries(images: &[&ImageRecord], image: &str) -> bool {
    carried(images, image).is_some()
}

/// The record of `image` among `images`, matched as `carries` matches.
fn carried<'a>(images: &[&'a ImageRecord], image: &str) -> Option<&'a ImageRecord> {
    let wanted = parse_reference(image).ok()?;
    images.iter().copied().find(|record| {
        let Ok(source) = parse_reference(&record.reference) else { return false };
        if source.registry() != wanted.registry() || source.repository() != wanted.repository() {
            return false;
        }
        match wanted.digest() {
            Some(d) => record.digest.to_string() == d || record.platforms.iter().any(|p| p.digest.to_string() == d),
            None => source.tag() == wanted.tag(),
        }
    })
}

impl Relocation<'_> {
    /// The pushed reference of `image` when the bundle carries it. A tag
    /// is matched by name, and pinned to the digest the bundle carries
    /// (`HOST/PATH:TAG@DIGEST`): the site runs what was verified, whatever
    /// the tag in its registry is made to point at later. A digest is
    /// matched by the image's own digest or one of its platform manifests,
    /// and kept as written.
    fn relocate(&self, image: &str) -> Option<String> {
        let wanted = parse_reference(image).ok()?;
        let record = carried(&self.images, image)?;
        let mut out = format!(
            "{}/{}",
            self.destination.host,
            target_repository(&self.destination, &wanted, self.keep_registry_host)
        );
        if let Some(tag) = wanted.tag() {
            out.push(':');
            out.push_str(tag);
        }
        out.push('@');
        match wanted.digest() {
            Some(digest) => out.push_str(digest),
            None => out.push_str(&record.digest.to_string()),
        }
        Some(out)
    }
}

/// The pod spec inside a workload object, for the kinds that run pods.
fn pod_spec_mut<'v>(kind: &str, object: &'v mut Value) -> Option<&'v mut Value> {
    let spec = object.get_mut("spec")?;
    match kind {
        "Pod" => Some(spec),
        "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" | "ReplicationController" | "Job" => {
            spec.get_mut("template")?.get_mut("spec")
        }
        "CronJob" => spec.get_mut("jobTemplate")?.get_mut("spec")?.get_mut("template")?.get_mut("spec"),
        _ => None,
    }
}

/// What moving one object's images did.
#[derive(Debug, Default, PartialEq)]
pub struct Moved {
    /// Whether any image now comes from the registry.
    pub any: bool,
    /// Images the bundle does not carry, left as written.
    pub foreign: Vec<String>,
    /// Carried images named in containers' arguments or environment.
    pub in_arguments: usize,
    /// Fields outside pod specs (`spec.image` of an operator's custom
    /// resource, say) whose carried image was moved.
    pub in_fields: Vec<String>,
}

/// Rewrites carried images that a container names in its `command`, `args`
/// or `env` values, whole or after a flag's `=` (an operator's
/// `--config-reloader-image=...`): the pods the operator starts pull them.
/// Only exact references the bundle carries are touched, so ordinary
/// arguments are left alone. Returns how many were rewritten.
fn relocate_arguments(container: &mut Value, relocation: &Relocation) -> usize {
    let rewrite = |text: &mut Value| -> usize {
        let Some(written) = text.as_str() else { return 0 };
        let new = match relocation.relocate(written) {
            Some(new) => new,
            None => match written.split_once('=') {
                Some((flag, value)) if !value.is_empty() => match relocation.relocate(value) {
                    Some(new) => format!("{flag}={new}"),
                    None => return 0,
                },
                _ => return 0,
            },
        };
        *text = Value::String(new);
        1
    };
    let mut count = 0;
    for list in ["command", "args"] {
        if let Some(Value::Array(items)) = container.get_mut(list) {
            count += items.iter_mut().map(rewrite).sum::<usize>();
        }
    }
    if let Some(Value::Array(env)) = container.get_mut("env") {
        count += env.iter_mut().filter_map(|var| var.get_mut("value")).map(rewrite).sum::<usize>();
    }
    count
}

/// Rewrites the string values under `value` that are whole references, with
/// a tag or a digest, to an image the bundle carries: what an operator's
/// custom resource (`spec.image` of a Prometheus) or a ConfigMap hands to the
/// pods made from it. A bare name (`nginx`, an `ingressClassName`, say) is
/// left alone even when the bundle carries `nginx:latest`. `path` names the
/// field; the paths of those moved are added to `moved`.
fn relocate_field(value: &mut Value, path: String, relocation: &Relocation, moved: &mut Vec<String>) {
    match value {
        Value::String(text) => {
            if let Some(new) = relocation.relocate(text).filter(|_| is_pinned_reference(text)) {
                *text = new;
                moved.push(path);
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                relocate_field(item, format!("{path}[{i}]"), relocation, moved);
            }
        }
        Value::Object(fields) => {
            for (key, item) in fields {
                relocate_field(item, format!("{path}.{key}"), relocation, moved);
            }
        }
        _ => {}
    }
}

/// Rewrites every container image of `object` that the bundle carries, and
/// with credentials names the pull secret in its pod spec. In objects that
/// are not workloads, whole references in any field are moved
/// (`relocate_field`).
pub fn relocate_images(object: &mut Value, relocation: &Relocation) -> Moved {
    let kind = object.get("kind").and_then(Value::as_str).unwrap_or_default().to_string();
    match pod_spec_mut(&kind, object) {
        Some(pod) => relocate_pod(pod, relocation),
        None if matches!(kind.as_str(), "Secret" | "CustomResourceDefinition") => Moved::default(),
        None => {
            let mut moved = Moved::default();
            let fields = object.as_object_mut().into_iter().flatten();
            for (key, value) in fields.filter(|(key, _)| !matches!(key.as_str(), "apiVersion" | "kind" | "metadata")) {
                relocate_field(value, key.clone(), relocation, &mut moved.in_fields);
            }
            moved.any = !moved.in_fields.is_empty();
            moved
        }
    }
}

/// Moves the images of a pod spec's containers (and those their arguments
/// name); with credentials, the pod spec names the pull secret.
fn relocate_pod(pod: &mut Value, relocation: &Relocation) -> Moved {
    let mut moved = Moved::default();
    for list in ["initContainers", "containers", "ephemeralContainers"] {
        let Some(containers) = pod.get_mut(list).and_then(Value::as_array_mut) else { continue };
        for container in containers {
            moved.in_arguments += relocate_arguments(container, relocation);
            let Some(image) = container.get_mut("image") else { continue };
            let Some(written) = image.as_str().map(str::trim).filter(|s| !s.is_empty()) else { continue };
            match relocation.relocate(written) {
                Some(new) => {
                    *image = Value::String(new);
                    moved.any = true;
                }
                None => moved.foreign.push(written.to_string()),
            }
        }
    }
    if moved.any && relocation.credentials.is_some() {
        if let Some(pod) = pod.as_object_mut() {
            add_pull_secret(pod, &relocation.pull_secret);
        }
    }
    moved
}

/// Names the pull secret `name` in the `imagePullSecrets` list of `holder`
/// (a pod spec, or a custom resource's spec), made if missing. Returns
/// whether it is named there (false: that field is not a list).
fn add_pull_secret(holder: &mut serde_json::Map<String, Value>, name: &str) -> bool {
    let Some(secrets) = holder.entry("imagePullSecrets").or_insert_with(|| Value::Array(vec![])).as_array_mut() else {
        return false;
    };
    if !secrets.iter().any(|s| s.get("name").and_then(Value::as_str) == Some(name)) {
        secrets.push(serde_json::json!({ "name": name }));
    }
    true
}

/// Names the pull secret in an object that is not a workload but whose
/// images moved (an operator's custom resource), where it has the field
/// for that: `spec.imagePullSecrets`, already there or `declared` by its
/// CRD. Its operator then gives the secret to the pods it makes. Returns
/// whether the object names the secret.
pub fn name_pull_secret_in_spec(object: &mut Value, declared: bool, relocation: &Relocation) -> bool {
    let Some(spec) = object.get_mut("spec").and_then(Value::as_object_mut) else { return false };
    if !declared && !spec.get("imagePullSecrets").is_some_and(Value::is_array) {
        return false;
    }
    add_pull_secret(spec, &relocation.pull_secret)
}

/// The `(apiVersion, kind)` of each version of a CRD whose objects have a
/// `spec.imagePullSecrets` list (Prometheus, Alertmanager, ...).
pub fn kinds_with_pull_secrets(crd: &Value) -> Vec<(String, String)> {
    let text = |v: &Value, pointer: &str| v.pointer(pointer).and_then(Value::as_str).unwrap_or_default().to_string();
    let (group, kind) = (text(crd, "/spec/group"), text(crd, "/spec/names/kind"));
    let versions = crd.pointer("/spec/versions").and_then(Value::as_array).into_iter().flatten();
    versions
        .filter(|v| text(v, "/schema/openAPIV3Schema/properties/spec/properties/imagePullSecrets/type") == "array")
        .map(|v| (format!("{group}/{}", text(v, "/name")), kind.clone()))
        .collect()
}

/// The pull secret for a namespace (None: the kubeconfig's default namespace),
/// as `kubectl create secret docker-registry` makes it.
pub fn pull_secret(relocation: &Relocation, namespace: Option<&str>) -> Option<Value> {
    use base64::Engine;
    let (username, password) = relocation.credentials.as_ref()?;
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let config = serde_json::json!({"auths": {relocation.destination.host.as_str(): {
        "username": username, "password": password, "auth": b64(&format!("{username}:{password}")),
    }}});
    let mut metadata =
        serde_json::json!({"name": relocation.pull_secret, "labels": {"app.kubernetes.io/managed-by": "airlock"}});
    if let Some(ns) = namespace {
        metadata["namespace"] = Value::String(ns.to_string());
    }
    Some(serde_json::json!({
        "apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/dockerconfigjson",
        "metadata": metadata, "data": {".dockerconfigjson": b64(&config.to_string())},
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::format::PlatformManifest;
    use crate::oci::digest::Digest;

    fn image(reference: &str, digest: &Digest, platforms: Vec<PlatformManifest>) -> ImageRecord {
        serde_json::from_value(serde_json::json!({
            "reference": reference, "source": reference, "digest": digest.to_string(),
            "mediaType": "application/vnd.oci.image.index.v1+json", "size": 1,
            "platforms": platforms,
        }))
        .unwrap()
    }

    #[test]
    #[allow(clippy::print_stderr)] // a skipped test says so, as the integration tests' real-chart ones do
    fn crds_that_declare_a_pull_secret_list() {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/testdata/real/crds/prometheus-operator");
        if !dir.exists() {
            eprintln!("skipping: shared/testdata/real/crds is not there");
            return;
        }
        let kinds = |file: &str| {
            let text = std::fs::read_to_string(dir.join(file)).unwrap();
            kinds_with_pull_secrets(&serde_saphyr::from_str::<Value>(&text).unwrap())
        };
        let prometheus = kinds("monitoring.coreos.com_prometheuses.yaml");
        assert_eq!(prometheus, [("monitoring.coreos.com/v1".to_string(), "Prometheus".to_string())]);
        assert!(kinds("monitoring.coreos.com_servicemonitors.yaml").is_empty());
    }

    #[test]
    fn images_move_to_the_registry_as_push_names_them() {
        let index = Digest::of(b"index");
        let amd64 = Digest::of(b"amd64");
        let records = [
            image(
                "docker.io/library/redis:7",
                &index,
                vec![PlatformManifest { platform: "linux/amd64".into(), digest: amd64.clone() }],
            ),
            image("quay.io/jetstack/controller:v1", &Digest::of(b"other"), vec![]),
        ];
        let relocation = Relocation {
            destination: Destination::parse("reg.local:5000/mirror").unwrap(),
            keep_registry_host: false,
            images: records.iter().collect(),
            credentials: None,
            pull_secret: pull_secret_name("shop"),
        };
        let mut deployment = serde_json::json!({"kind": "Deployment", "spec": {"template": {"spec": {
        "initContainers": [{"image": "redis:7"}],
        "containers": [
            {"image": format!("redis@{amd64}")},
            {"image": "quay.io/jetstack/controller:v1"},
            {"image": "busybox:1"},
            {"image": "redis:6"},
        ]}}}});
        let moved = relocate_images(&mut deployment, &relocation);
        let images: Vec<&str> = ["initContainers", "containers"]
            .iter()
            .flat_map(|l| deployment["spec"]["template"]["spec"][l].as_array().unwrap())
            .map(|c| c["image"].as_str().unwrap())
            .collect();
        assert_eq!(
            images,
            [
                // A tag, pinned to the digest the bundle carries.
                format!("reg.local:5000/mirror/library/redis:7@{index}"),
                format!("reg.local:5000/mirror/library/redis@{amd64}"),
                format!("reg.local:5000/mirror/jetstack/controller:v1@{}", Digest::of(b"other")),
                "busybox:1".to_string(),
                "redis:6".to_string(),
            ]
        );
        assert_eq!(moved.foreign, ["busybox:1", "redis:6"]);
        assert!(moved.any && deployment["spec"]["template"]["spec"].get("imagePullSecrets").is_none());

        // A carried image an operator is told about in its arguments or
        // environment moves too; other arguments stay as written.
        let mut operator = serde_json::json!({"kind": "Deployment", "spec": {"template": {"spec": {"containers": [{
            "image": "busybox:1",
            "command": ["/operator", "redis:7"],
            "args": ["--reloader-image=quay.io/jetstack/controller:v1", "--log=info", "--cache=redis:6", "-v=2"],
            "env": [{"name": "HELPER", "value": "redis:7"}, {"name": "HOST", "value": "redis:6379"}, {"name": "REF", "valueFrom": {}}],
        }]}}}});
        let moved = relocate_images(&mut operator, &relocation);
        let container = &operator["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(
            container["command"],
            serde_json::json!(["/operator", format!("reg.local:5000/mirror/library/redis:7@{index}")])
        );
        assert_eq!(
            container["args"],
            serde_json::json!([
                format!("--reloader-image=reg.local:5000/mirror/jetstack/controller:v1@{}", Digest::of(b"other")),
                "--log=info",
                "--cache=redis:6",
                "-v=2"
            ])
        );
        assert_eq!(container["env"][0]["value"], format!("reg.local:5000/mirror/library/redis:7@{index}"));
        assert_eq!(container["env"][1]["value"], "redis:6379");
        assert_eq!((moved.in_arguments, moved.any), (3, false));

        // Other objects: whole references with a tag or digest in any field
        // move; bare names, metadata, Secrets and CRDs stay as written.
        let mut prometheus = serde_json::json!({"apiVersion": "monitoring.coreos.com/v1", "kind": "Prometheus",
            "metadata": {"name": "k8s", "annotations": {"source": "redis:7"}},
            "spec": {"image": "quay.io/jetstack/controller:v1", "ingressClassName": "redis",
                "sidecars": [{"name": "a", "image": format!("redis@{index}")}, {"image": "busybox:1"}],
                "note": "redis:7 is used"}});
        let moved = relocate_images(&mut prometheus, &relocation);
        assert_eq!(moved.in_fields, ["spec.image", "spec.sidecars[0].image"]);
        assert!(moved.any && moved.foreign.is_empty());
        assert_eq!(
            prometheus["spec"]["image"],
            format!("reg.local:5000/mirror/jetstack/controller:v1@{}", Digest::of(b"other"))
        );
        assert_eq!(prometheus["spec"]["sidecars"][0]["image"], format!("reg.local:5000/mirror/library/redis@{index}"));
        for (pointer, kept) in [
            ("/metadata/annotations/source", "redis:7"),
            ("/spec/ingressClassName", "redis"),
            ("/spec/sidecars/1/image", "busybox:1"),
            ("/spec/note", "redis:7 is used"),
        ] {
            assert_eq!(prometheus.pointer(pointer).unwrap(), kept, "{pointer}");
        }
        let mut config = serde_json::json!({"kind": "ConfigMap", "data": {"helper": "redis:7"}});
        assert_eq!(relocate_images(&mut config, &relocation).in_fields, ["data.helper"]);
        for kind in ["Secret", "CustomResourceDefinition"] {
            let mut object = serde_json::json!({"kind": kind, "data": {"helper": "redis:7"}});
            let moved = relocate_images(&mut object, &relocation);
            assert!(moved.in_fields.is_empty() && !moved.any && object["data"]["helper"] == "redis:7", "{kind}");
        }

        // With credentials, an object with a pull-secret list names the
        // bundle's secret there; one without, only if its CRD declares one.
        let with_login = Relocation { credentials: Some(("u".into(), "p".into())), ..relocation };
        let mut listed = serde_json::json!({"spec": {"imagePullSecrets": [{"name": "own"}]}});
        assert!(name_pull_secret_in_spec(&mut listed, false, &with_login));
        assert_eq!(
            listed["spec"]["imagePullSecrets"],
            serde_json::json!([{"name": "own"}, {"name": "airlock-registry-shop"}])
        );
        let mut bare = serde_json::json!({"spec": {"image": "x"}});
        assert!(
            !name_pull_secret_in_spec(&mut bare, false, &with_login) && bare["spec"].get("imagePullSecrets").is_none()
        );
        assert!(name_pull_secret_in_spec(&mut bare, true, &with_login));
        assert_eq!(bare["spec"]["imagePullSecrets"], serde_json::json!([{"name": "airlock-registry-shop"}]));
        let relocation = with_login;

        let keep = Relocation { keep_registry_host: true, ..relocation };
        assert_eq!(
            keep.relocate("redis:7").unwrap(),
            format!("reg.local:5000/mirror/docker.io/library/redis:7@{index}")
        );
    }
}
