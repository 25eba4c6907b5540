//! Moving the images that pod templates run to where `airlock push` put
//! them, for the images the bundle carries; naming the others. Changes the
//! objects given, nothing else.

use crate::bundle::format::ImageRecord;
use crate::oci::source::parse_reference;
use crate::target::registry::{target_repository, Destination};
use serde_json::Value;

/// Where the bundle's images were pushed, as `airlock push --registry` names them.
pub struct Relocation<'a> {
    pub destination: Destination,
    pub keep_registry_host: bool,
    pub images: Vec<&'a ImageRecord>,
}

impl Relocation<'_> {
    /// The pushed reference of `image` when the bundle carries it. A tag
    /// is matched by name; a digest by the image's own digest or one of
    /// its platform manifests, and kept as written.
    fn relocate(&self, image: &str) -> Option<String> {
        let wanted = parse_reference(image).ok()?;
        let carried = self.images.iter().any(|record| {
            let Ok(source) = parse_reference(&record.reference) else { return false };
            if source.registry() != wanted.registry() || source.repository() != wanted.repository() {
                return false;
            }
            match wanted.digest() {
                Some(d) => record.digest.to_string() == d || record.platforms.iter().any(|p| p.digest.to_string() == d),
                None => source.tag() == wanted.tag(),
            }
        });
        if !carried {
            return None;
        }
        let mut out = format!(
            "{}/{}",
            self.destination.host,
            target_repository(&self.destination, &wanted, self.keep_registry_host)
        );
        if let Some(tag) = wanted.tag() {
            out.push(':');
            out.push_str(tag);
        }
        if let Some(digest) = wanted.digest() {
            out.push('@');
            out.push_str(digest);
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

/// Rewrites every container image of `object` that the bundle carries;
/// returns those it does not carry.
pub fn relocate_images(object: &mut Value, relocation: &Relocation) -> Vec<String> {
    let kind = object.get("kind").and_then(Value::as_str).unwrap_or_default().to_string();
    let mut foreign = Vec::new();
    let Some(pod) = pod_spec_mut(&kind, object) else { return foreign };
    for list in ["initContainers", "containers", "ephemeralContainers"] {
        let Some(containers) = pod.get_mut(list).and_then(Value::as_array_mut) else { continue };
        for container in containers {
            let Some(image) = container.get_mut("image") else { continue };
            let Some(written) = image.as_str().map(str::trim).filter(|s| !s.is_empty()) else { continue };
            match relocation.relocate(written) {
                Some(moved) => *image = Value::String(moved),
                None => foreign.push(written.to_string()),
            }
        }
    }
    foreign
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
        };
        let mut deployment = serde_json::json!({"kind": "Deployment", "spec": {"template": {"spec": {
        "initContainers": [{"image": "redis:7"}],
        "containers": [
            {"image": format!("redis@{amd64}")},
            {"image": "quay.io/jetstack/controller:v1"},
            {"image": "busybox:1"},
            {"image": "redis:6"},
        ]}}}});
        let foreign = relocate_images(&mut deployment, &relocation);
        let images: Vec<&str> = ["initContainers", "containers"]
            .iter()
            .flat_map(|l| deployment["spec"]["template"]["spec"][l].as_array().unwrap())
            .map(|c| c["image"].as_str().unwrap())
            .collect();
        assert_eq!(
            images,
            [
                "reg.local:5000/mirror/library/redis:7".to_string(),
                format!("reg.local:5000/mirror/library/redis@{amd64}"),
                "reg.local:5000/mirror/jetstack/controller:v1".to_string(),
                "busybox:1".to_string(),
                "redis:6".to_string(),
            ]
        );
        assert_eq!(foreign, ["busybox:1", "redis:6"]);
        let keep = Relocation { keep_registry_host: true, ..relocation };
        assert_eq!(keep.relocate("redis:7").unwrap(), "reg.local:5000/mirror/docker.io/library/redis:7");
    }
}
