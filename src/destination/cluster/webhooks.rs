//! Admission webhooks a bundle brings with it (an operator's validating or
//! mutating webhook): an object the API server cannot admit because that
//! webhook does not answer yet (its pods are starting) is applied again,
//! bounded in time, instead of failing the install as Helm does. Knows the
//! bundle's webhooks and reads the API server's refusal; applies nothing.

use super::objects::DesiredObject;
use serde_json::Value;
use std::time::Duration;

/// One webhook of a webhook configuration the bundle applies.
#[derive(Debug, Clone, PartialEq)]
pub struct BundleWebhook {
    /// The webhook's name, as the API server's refusal quotes it.
    pub name: String,
    /// `ValidatingWebhookConfiguration cnpg-validating-webhook-configuration`.
    pub configuration: String,
    /// What answers it: `Service cnpg-system/cnpg-webhook-service` or the URL.
    pub served_by: String,
}

/// The webhooks of `objects`' webhook configurations.
pub fn of_bundle<'a>(objects: impl Iterator<Item = &'a DesiredObject>) -> Vec<BundleWebhook> {
    let mut found = Vec::new();
    for object in objects {
        if !matches!(object.kind(), "ValidatingWebhookConfiguration" | "MutatingWebhookConfiguration") {
            continue;
        }
        let configuration = format!("{} {}", object.kind(), object.name());
        for webhook in object.body.get("webhooks").and_then(Value::as_array).into_iter().flatten() {
            let Some(name) = webhook.get("name").and_then(Value::as_str) else { continue };
            let config = webhook.get("clientConfig").cloned().unwrap_or_default();
            let served_by = match (config.get("service"), config.get("url").and_then(Value::as_str)) {
                (Some(service), _) => {
                    let text = |key: &str| service.get(key).and_then(Value::as_str).unwrap_or_default().to_string();
                    let namespace = Some(text("namespace"))
                        .filter(|ns| !ns.is_empty())
                        .or_else(|| object.default_namespace.clone())
                        .unwrap_or_default();
                    format!("Service {namespace}/{}", text("name"))
                }
                (None, Some(url)) => url.to_string(),
                (None, None) => "nothing (its clientConfig names no Service and no URL)".to_string(),
            };
            found.push(BundleWebhook { name: name.to_string(), configuration: configuration.clone(), served_by });
        }
    }
    found
}

/// The webhook an API server's refusal says it could not call, if any
/// (`Internal error occurred: failed calling webhook "NAME": ...`).
pub fn not_answering(refusal: &str) -> Option<&str> {
    let rest = &refusal[refusal.find("failed calling webhook \"")? + "failed calling webhook \"".len()..];
    rest.split('"').next()
}

/// Why an object still waits, once the wait is over.
pub fn still_waiting(webhook: &BundleWebhook, waited: Duration) -> String {
    format!(
        "the bundle's webhook {} ({}) did not answer within {} s; it is served by {}, which must have ready pods first (see `kubectl get pods` there and its endpoints), then rerun",
        webhook.name,
        webhook.configuration,
        waited.as_secs(),
        webhook.served_by
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn finds_the_bundle_webhooks_and_what_serves_them() {
        let object =
            |body: Value| DesiredObject { body, default_namespace: Some("cnpg".into()), origin: "test".into() };
        let objects = [
            object(json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
                "metadata": {"name": "cnpg"}, "webhooks": [
                    {"name": "vcluster.cnpg.io", "clientConfig": {"service": {"name": "cnpg-webhook", "namespace": "cnpg-system"}}},
                    {"name": "local.example.com", "clientConfig": {"url": "https://127.0.0.1:9443/validate"}}]})),
            object(
                json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "webhooks": [{"name": "no"}]}),
            ),
        ];
        let found = of_bundle(objects.iter());
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].served_by, "Service cnpg-system/cnpg-webhook");
        assert_eq!(found[0].configuration, "ValidatingWebhookConfiguration cnpg");
        assert_eq!(found[1].served_by, "https://127.0.0.1:9443/validate");
    }

    #[test]
    fn reads_which_webhook_did_not_answer() {
        let refusal = "Internal error occurred: failed calling webhook \"vcluster.cnpg.io\": failed to call webhook: Post \"https://cnpg-webhook.cnpg-system.svc:443/validate?timeout=10s\": dial tcp 10.0.0.5:443: connect: connection refused";
        assert_eq!(not_answering(refusal), Some("vcluster.cnpg.io"));
        assert_eq!(not_answering("spec.replicas: Invalid value: -1"), None);
    }
}
