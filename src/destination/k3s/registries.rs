//! `/etc/rancher/k3s/registries.yaml` for a node that pulls from a private
//! registry instead of importing a tarball: a mirror for every source
//! registry of the bundle's images, pointing at the private registry with the
//! same naming `airlock push` uses (rewrites add the prefix, and the source
//! registry with `--keep-registry-host`), and a `configs` entry for its auth
//! and CA. Entries already in the file for other registries are kept;
//! comments are not (the file is parsed and written back).

use crate::destination::registry::Destination;
use serde_json::{json, Map, Value};
use std::collections::BTreeSet;

pub const REGISTRIES_FILE: &str = "etc/rancher/k3s/registries.yaml";

pub struct NodeRegistry {
    pub destination: Destination,
    pub keep_registry_host: bool,
    pub plain_http: bool,
    /// As the node sees it (K3s reads it at start).
    pub ca_file: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
}

/// `existing` (the file as it is now, if any) with airlock's entries for
/// `source_registries` set.
pub fn merged(
    existing: Option<&str>,
    registry: &NodeRegistry,
    source_registries: &BTreeSet<String>,
) -> Result<String, String> {
    let mut doc = match existing.map(crate::yaml11::saphyr::from_str::<Value>) {
        None => json!({}),
        Some(Ok(Value::Null)) => json!({}),
        Some(Ok(v @ Value::Object(_))) => v,
        Some(Ok(_)) => return Err("it is not a YAML mapping".into()),
        Some(Err(e)) => return Err(e.without_snippet().to_string()),
    };
    let host = &registry.destination.host;
    let scheme = if registry.plain_http { "http" } else { "https" };
    let mut section = |key: &str| -> Result<Map<String, Value>, String> {
        match doc.get_mut(key).map(Value::take) {
            None | Some(Value::Null) => Ok(Map::new()),
            Some(Value::Object(m)) => Ok(m),
            Some(_) => Err(format!("its `{key}` is not a mapping")),
        }
    };
    let mut mirrors = section("mirrors")?;
    let mut configs = section("configs")?;
    for source in source_registries {
        let mut path = String::new();
        if !registry.destination.prefix.is_empty() {
            path.push_str(&registry.destination.prefix);
            path.push('/');
        }
        if registry.keep_registry_host {
            path.push_str(source);
            path.push('/');
        }
        let mut mirror = json!({"endpoint": [format!("{scheme}://{host}")]});
        if !path.is_empty() {
            mirror["rewrite"] = json!({"^(.*)$": format!("{path}$1")});
        }
        mirrors.insert(source.clone(), mirror);
    }
    let mut config = match configs.remove(host) {
        Some(Value::Object(m)) => m,
        _ => Map::new(),
    };
    if let Some(username) = &registry.username {
        config.insert(
            "auth".into(),
            json!({"username": username, "password": registry.password.clone().unwrap_or_default()}),
        );
    }
    if let Some(ca) = &registry.ca_file {
        let mut tls = match config.remove("tls") {
            Some(Value::Object(m)) => m,
            _ => Map::new(),
        };
        tls.insert("ca_file".into(), ca.clone().into());
        config.insert("tls".into(), tls.into());
    }
    if !config.is_empty() {
        configs.insert(host.clone(), config.into());
    }
    doc["mirrors"] = mirrors.into();
    if !configs.is_empty() {
        doc["configs"] = configs.into();
    }
    serde_saphyr::to_string(&doc).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(dest: &str, keep: bool) -> NodeRegistry {
        NodeRegistry {
            destination: Destination::parse(dest).unwrap(),
            keep_registry_host: keep,
            plain_http: false,
            ca_file: Some("/etc/ssl/site-ca.pem".into()),
            username: Some("site".into()),
            password: Some("pw".into()),
        }
    }

    #[test]
    fn keeps_other_entries_and_rewrites_into_the_prefix() {
        let existing = "mirrors:\n  quay.io:\n    endpoint: [\"https://other:5000\"]\n  docker.io:\n    endpoint: [\"https://old\"]\nconfigs:\n  \"reg.site:5000\":\n    tls: {insecure_skip_verify: false}\n  other:5000:\n    auth: {username: a, password: b}\n";
        let sources: BTreeSet<String> = ["docker.io".to_string(), "ghcr.io".to_string()].into();
        let text = merged(Some(existing), &node("reg.site:5000/mirror", false), &sources).unwrap();
        let v: Value = crate::yaml11::saphyr::from_str(&text).unwrap();
        assert_eq!(v["mirrors"]["quay.io"]["endpoint"][0], "https://other:5000");
        assert_eq!(v["mirrors"]["docker.io"]["endpoint"], json!(["https://reg.site:5000"]));
        assert_eq!(v["mirrors"]["ghcr.io"]["rewrite"]["^(.*)$"], "mirror/$1");
        assert_eq!(v["configs"]["other:5000"]["auth"]["username"], "a");
        let ours = &v["configs"]["reg.site:5000"];
        assert_eq!(ours["tls"], json!({"insecure_skip_verify": false, "ca_file": "/etc/ssl/site-ca.pem"}));
        assert_eq!(ours["auth"], json!({"username": "site", "password": "pw"}));
        // Merging again gives the same file.
        assert_eq!(merged(Some(&text), &node("reg.site:5000/mirror", false), &sources).unwrap(), text);
    }

    #[test]
    fn keep_registry_host_and_bad_files() {
        let sources: BTreeSet<String> = ["quay.io".to_string()].into();
        let text = merged(None, &node("reg:5000", true), &sources).unwrap();
        let v: Value = crate::yaml11::saphyr::from_str(&text).unwrap();
        assert_eq!(v["mirrors"]["quay.io"]["rewrite"]["^(.*)$"], "quay.io/$1");
        assert!(merged(Some("- a\n"), &node("reg:5000", true), &sources).is_err());
        assert!(merged(Some("mirrors: [1]\n"), &node("reg:5000", true), &sources).is_err());
    }
}
