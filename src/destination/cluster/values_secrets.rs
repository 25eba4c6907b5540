//! Site values kept in the cluster's own Secrets (`--values-secret
//! NAMESPACE/NAME[:KEY]`): read at install and upgrade, keyed by chart as
//! a `-f` file is. Only the Secrets' names are recorded with a revision;
//! the values stay in the Secrets, are re-read by an upgrade that keeps
//! them, and are never printed.

use super::{api_failure, ClusterError};
use crate::chart::template::Map;
use crate::chart::values::{merge_maps, read_values};
use k8s_openapi::api::core::v1::Secret;
use kube::Api;

/// The key read when a reference names none, as Flux's `valuesFrom` does.
pub const DEFAULT_KEY: &str = "values.yaml";

/// A Secret holding site values, and the key of its data that holds them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretRef {
    pub namespace: String,
    pub name: String,
    pub key: String,
}

impl SecretRef {
    /// `NAMESPACE/NAME[:KEY]`.
    pub fn parse(text: &str) -> Result<SecretRef, String> {
        let (place, key) = match text.split_once(':') {
            Some((place, key)) if !key.is_empty() => (place, key),
            Some(_) => return Err(format!("`{text}` names no key after `:`")),
            None => (text, DEFAULT_KEY),
        };
        match place.split_once('/') {
            Some((namespace, name)) if !namespace.is_empty() && !name.is_empty() && !name.contains('/') => {
                Ok(SecretRef { namespace: namespace.into(), name: name.into(), key: key.into() })
            }
            _ => Err(format!("`{text}` is not NAMESPACE/NAME[:KEY] (a Secret holding site values)")),
        }
    }
}

impl std::fmt::Display for SecretRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}:{}", self.namespace, self.name, self.key)
    }
}

/// The values of every Secret named, merged in the order given (later
/// ones winning).
pub async fn read(client: &kube::Client, refs: &[SecretRef]) -> Result<Map, ClusterError> {
    let mut merged = Map::new();
    for secret_ref in refs {
        merge_maps(&mut merged, &read_one(client, secret_ref).await?);
    }
    Ok(merged)
}

async fn read_one(client: &kube::Client, secret_ref: &SecretRef) -> Result<Map, ClusterError> {
    let what = || format!("Secret {}/{}", secret_ref.namespace, secret_ref.name);
    let bad = |detail: String| ClusterError::ValuesSecret { secret: secret_ref.to_string(), detail };
    let api: Api<Secret> = Api::namespaced(client.clone(), &secret_ref.namespace);
    let secret = api.get_opt(&secret_ref.name).await.map_err(|e| api_failure(e, what))?;
    let Some(secret) = secret else {
        return Err(bad("no such Secret; make it first (`kubectl create secret generic NAME --from-file=values.yaml=FILE -n NAMESPACE`)".into()));
    };
    let data = secret.data.unwrap_or_default();
    let Some(bytes) = data.get(&secret_ref.key) else {
        let keys: Vec<&str> = data.keys().map(String::as_str).collect();
        let has = if keys.is_empty() { "none".to_string() } else { keys.join(", ") };
        return Err(bad(format!("it has no key `{}` (its keys: {has})", secret_ref.key)));
    };
    let text = std::str::from_utf8(&bytes.0).map_err(|_| bad("its values are not UTF-8 text".into()))?;
    // The Secret's text is never quoted back: the parser's message may.
    read_values(text).map_err(|_| bad("its values are not a YAML map (values keyed by chart name)".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_name_namespace_secret_and_key() {
        let parsed = SecretRef::parse("shop/site-values").unwrap();
        assert_eq!(
            (parsed.namespace.as_str(), parsed.name.as_str(), parsed.key.as_str()),
            ("shop", "site-values", DEFAULT_KEY)
        );
        assert_eq!(SecretRef::parse("shop/v:prod.yaml").unwrap().to_string(), "shop/v:prod.yaml");
        for bad in ["site-values", "/v", "shop/", "shop/v:", "a/b/c"] {
            assert!(SecretRef::parse(bad).is_err(), "{bad} accepted");
        }
    }
}
