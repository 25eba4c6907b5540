//! A small in-process FAKE Kubernetes API server. It is not Kubernetes: it
//! answers just enough, the way the API does, for airlock's cluster code to
//! be checked: `/version`, discovery of a fixed set of built-in kinds plus
//! the kinds of the CRDs applied to it (once established), server-side
//! apply (PATCH, stored as sent; only checked with `dryRun=All`), GET,
//! list with a label selector, and DELETE. Like the real API it refuses an object whose namespace does not
//! exist, reports a CRD established only from its second read on, and
//! refuses a negative `spec.replicas`. A Deployment's status shows all its
//! replicas available from its second read on, never when annotated
//! `fake.airlock.dev/never-ready: "true"`; a Job has succeeded from its
//! second read on, or failed when annotated `fake.airlock.dev/fails: "true"`,
//! and so has a Pod. It runs on a free 127.0.0.1 port on
//! its own thread and stops when dropped.
//!
//! It is kept only for what a real API server cannot be made to do (a
//! fault: an answer no real server gives); everything else runs against the
//! real control plane of control_plane.rs. No test uses it now: the cluster
//! install tests (install_cluster.rs), kubeconfig resolution (kubeconfig.rs)
//! and the K3s deletions (upgrade.rs, with the real helm-controller of
//! k3s_cluster.rs) all moved to the real API server, and none of them needed
//! a fault. It stays (compiled, hence `dead_code` allowed) for the first
//! test of such a fault; if none comes, it can go.

#![allow(dead_code)]

use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

pub struct FakeApiServer {
    pub port: u16,
    /// Stored objects by path, such as `/api/v1/namespaces/apps`.
    pub objects: Arc<Mutex<BTreeMap<String, Value>>>,
    /// Every DELETE received, in order (its path).
    pub deletes: Arc<Mutex<Vec<String>>>,
    /// Every PATCH stored (not a dry run's), in order (its path).
    pub applies: Arc<Mutex<Vec<String>>>,
    /// The most PATCHes in flight at once. Each takes a few milliseconds,
    /// as a round trip to a real API server does, so overlaps show.
    pub most_applies_at_once: Arc<AtomicUsize>,
    /// The same for GETs of one object (as the ownership check reads them).
    pub most_reads_at_once: Arc<AtomicUsize>,
    /// Discovery requests of one group/version's kinds (`/api/v1`,
    /// `/apis/GROUP/VERSION`).
    pub discoveries: Arc<AtomicUsize>,
    _server: crate::support::InProcessServer,
}

/// (group/version, plural, kind, namespaced) of the built-in kinds served.
const BUILT_IN: &[(&str, &str, &str, bool)] = &[
    ("v1", "namespaces", "Namespace", false),
    ("v1", "configmaps", "ConfigMap", true),
    ("v1", "secrets", "Secret", true),
    ("v1", "services", "Service", true),
    ("v1", "serviceaccounts", "ServiceAccount", true),
    ("v1", "pods", "Pod", true),
    ("apps/v1", "deployments", "Deployment", true),
    ("apps/v1", "statefulsets", "StatefulSet", true),
    ("apps/v1", "daemonsets", "DaemonSet", true),
    ("batch/v1", "jobs", "Job", true),
    ("rbac.authorization.k8s.io/v1", "clusterroles", "ClusterRole", false),
    ("rbac.authorization.k8s.io/v1", "clusterrolebindings", "ClusterRoleBinding", false),
    ("rbac.authorization.k8s.io/v1", "roles", "Role", true),
    ("rbac.authorization.k8s.io/v1", "rolebindings", "RoleBinding", true),
    ("apiextensions.k8s.io/v1", "customresourcedefinitions", "CustomResourceDefinition", false),
    ("admissionregistration.k8s.io/v1", "mutatingwebhookconfigurations", "MutatingWebhookConfiguration", false),
    ("admissionregistration.k8s.io/v1", "validatingwebhookconfigurations", "ValidatingWebhookConfiguration", false),
    ("networking.k8s.io/v1", "ingressclasses", "IngressClass", false),
    ("networking.k8s.io/v1", "ingresses", "Ingress", true),
    ("policy/v1", "poddisruptionbudgets", "PodDisruptionBudget", true),
    ("helm.cattle.io/v1", "helmcharts", "HelmChart", true),
];

const CRDS: &str = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/";

fn json_response(code: u16, body: Value) -> axum::response::Response {
    axum::response::IntoResponse::into_response((
        axum::http::StatusCode::from_u16(code).unwrap(),
        [("content-type", "application/json")],
        body.to_string(),
    ))
}

fn status(code: u16, reason: &str, message: &str) -> axum::response::Response {
    let status = if code < 300 { "Success" } else { "Failure" };
    json_response(
        code,
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": status, "reason": reason, "message": message, "code": code}),
    )
}

/// Where a path points: the group/version, namespace, plural and name.
struct Target {
    group_version: String,
    namespace: Option<String>,
    plural: String,
    name: Option<String>,
}

fn parse_path(path: &str) -> Option<Target> {
    let (group_version, rest) = if let Some(rest) = path.strip_prefix("/api/v1/") {
        ("v1".to_string(), rest)
    } else {
        let rest = path.strip_prefix("/apis/")?;
        let mut parts = rest.splitn(3, '/');
        let (group, version, rest) = (parts.next()?, parts.next()?, parts.next()?);
        (format!("{group}/{version}"), rest)
    };
    let segments: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    let (namespace, plural, name) = match segments.as_slice() {
        ["namespaces", ns, plural, rest @ ..] => (Some(ns.to_string()), *plural, rest.first()),
        [plural, rest @ ..] => (None, *plural, rest.first()),
        [] => return None,
    };
    Some(Target { group_version, namespace, plural: plural.to_string(), name: name.map(|n| n.to_string()) })
}

struct State {
    objects: Arc<Mutex<BTreeMap<String, Value>>>,
    deletes: Arc<Mutex<Vec<String>>>,
    applies: Arc<Mutex<Vec<String>>>,
    /// Reads of each object so far (CRDs are established, Deployments
    /// ready, from the second on).
    reads: Mutex<BTreeMap<String, usize>>,
}

impl State {
    /// Every kind served now: built-in, and those of established CRDs.
    fn kinds(&self) -> Vec<(String, String, String, bool)> {
        let mut kinds: Vec<_> =
            BUILT_IN.iter().map(|(gv, p, k, n)| (gv.to_string(), p.to_string(), k.to_string(), *n)).collect();
        let objects = self.objects.lock().unwrap();
        let reads = self.reads.lock().unwrap();
        for (path, crd) in objects.range(CRDS.to_string()..).take_while(|(p, _)| p.starts_with(CRDS)) {
            if reads.get(path).copied().unwrap_or(0) < 2 {
                continue;
            }
            let spec = &crd["spec"];
            for version in spec["versions"].as_array().into_iter().flatten() {
                kinds.push((
                    format!(
                        "{}/{}",
                        spec["group"].as_str().unwrap_or_default(),
                        version["name"].as_str().unwrap_or_default()
                    ),
                    spec["names"]["plural"].as_str().unwrap_or_default().to_string(),
                    spec["names"]["kind"].as_str().unwrap_or_default().to_string(),
                    spec["scope"] == "Namespaced",
                ));
            }
        }
        kinds
    }

    /// The APIGroupList of `/apis`.
    fn groups(&self) -> Value {
        let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (gv, ..) in self.kinds() {
            if let Some((group, version)) = gv.split_once('/') {
                let versions = groups.entry(group.to_string()).or_default();
                if !versions.contains(&version.to_string()) {
                    versions.push(version.to_string());
                }
            }
        }
        let groups: Vec<Value> = groups
            .into_iter()
            .map(|(group, versions)| {
                let versions: Vec<Value> =
                    versions.iter().map(|v| json!({"groupVersion": format!("{group}/{v}"), "version": v})).collect();
                json!({"name": group, "versions": versions, "preferredVersion": versions[0]})
            })
            .collect();
        json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
    }

    fn discovery(&self, group_version: &str) -> Option<Value> {
        let resources: Vec<Value> = self
            .kinds()
            .into_iter()
            .filter(|(gv, ..)| gv == group_version)
            .map(|(_, plural, kind, namespaced)| {
                json!({"name": plural, "singularName": kind.to_lowercase(), "namespaced": namespaced, "kind": kind,
                       "verbs": ["create", "delete", "get", "list", "patch", "update"]})
            })
            .collect();
        (!resources.is_empty()).then(|| {
            json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": resources})
        })
    }

    fn handle(&self, method: &str, path: &str, query: &str, body: &[u8]) -> axum::response::Response {
        match (method, path) {
            ("GET", "/version") => {
                return json_response(
                    200,
                    json!({"major": "1", "minor": "31", "gitVersion": "v1.31.4", "platform": "linux/amd64"}),
                )
            }
            ("GET", "/api") => {
                return json_response(
                    200,
                    json!({"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []}),
                )
            }
            ("GET", "/apis") => return json_response(200, self.groups()),
            ("GET", "/api/v1") => return json_response(200, self.discovery("v1").unwrap()),
            ("GET", p) if p.starts_with("/apis/") && p.matches('/').count() == 3 => {
                return match self.discovery(&p["/apis/".len()..]) {
                    Some(list) => json_response(200, list),
                    None => status(404, "NotFound", "the server could not find the requested resource"),
                }
            }
            _ => {}
        }
        let Some(target) = parse_path(path) else { return status(404, "NotFound", "no such path") };
        let Some((_, _, kind, namespaced)) =
            self.kinds().into_iter().find(|(gv, plural, ..)| *gv == target.group_version && *plural == target.plural)
        else {
            return status(404, "NotFound", "the server could not find the requested resource");
        };
        let Some(name) = target.name.clone() else {
            return self.list(method, path, query, &kind);
        };
        match method {
            "GET" => self.get(path),
            "DELETE" => {
                self.deletes.lock().unwrap().push(path.to_string());
                match self.objects.lock().unwrap().remove(path) {
                    Some(_) => status(200, "", ""),
                    None => status(404, "NotFound", &format!("{} \"{name}\" not found", target.plural)),
                }
            }
            "PATCH" => self.apply(path, query, body, &target, &kind, namespaced, &name),
            _ => status(405, "MethodNotAllowed", "not in this fake"),
        }
    }

    fn get(&self, path: &str) -> axum::response::Response {
        let Some(mut object) = self.objects.lock().unwrap().get(path).cloned() else {
            return status(404, "NotFound", "not found");
        };
        let mut reads = self.reads.lock().unwrap();
        let count = reads.entry(path.to_string()).or_insert(0);
        *count += 1;
        if path.starts_with(CRDS) && *count >= 2 {
            object["status"] = json!({"conditions": [{"type": "Established", "status": "True"}]});
        }
        if path.contains("/deployments/") && *count >= 2 {
            let replicas = object["spec"]["replicas"].as_i64().unwrap_or(1);
            let never = object["metadata"]["annotations"]["fake.airlock.dev/never-ready"] == "true";
            object["status"] = json!({"observedGeneration": object["metadata"]["generation"], "replicas": replicas,
                "updatedReplicas": replicas, "availableReplicas": if never { 0 } else { replicas }});
        }
        if path.contains("/jobs/") && *count >= 2 {
            object["status"] = if object["metadata"]["annotations"]["fake.airlock.dev/fails"] == "true" {
                json!({"failed": 1, "conditions": [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit"}]})
            } else {
                json!({"succeeded": 1, "conditions": [{"type": "Complete", "status": "True"}]})
            };
        }
        if path.contains("/pods/") && *count >= 2 {
            object["status"] = if object["metadata"]["annotations"]["fake.airlock.dev/fails"] == "true" {
                json!({"phase": "Failed", "reason": "Error", "message": "container t exited with code 1"})
            } else {
                json!({"phase": "Succeeded"})
            };
        }
        json_response(200, object)
    }

    fn list(&self, method: &str, path: &str, query: &str, kind: &str) -> axum::response::Response {
        if method != "GET" {
            return status(405, "MethodNotAllowed", "not in this fake");
        }
        let selector: Vec<(String, String)> = query
            .split('&')
            .filter_map(|kv| kv.strip_prefix("labelSelector="))
            .flat_map(|s| s.split("%2C").flat_map(|s| s.split(',')).map(str::to_string).collect::<Vec<_>>())
            .filter_map(|pair| {
                pair.replace("%3D", "=").split_once('=').map(|(k, v)| (k.replace("%2F", "/"), v.to_string()))
            })
            .collect();
        let prefix = format!("{path}/");
        let items: Vec<Value> = self
            .objects
            .lock()
            .unwrap()
            .iter()
            .filter(|(p, _)| p.starts_with(&prefix) && !p[prefix.len()..].contains('/'))
            .filter(|(_, o)| selector.iter().all(|(k, v)| o["metadata"]["labels"][k.as_str()] == v.as_str()))
            .map(|(_, o)| o.clone())
            .collect();
        json_response(
            200,
            json!({"kind": format!("{kind}List"), "apiVersion": "v1", "metadata": {"resourceVersion": "1"}, "items": items}),
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn apply(
        &self,
        path: &str,
        query: &str,
        body: &[u8],
        target: &Target,
        kind: &str,
        namespaced: bool,
        name: &str,
    ) -> axum::response::Response {
        if !query.split('&').any(|kv| kv.starts_with("fieldManager=")) {
            return status(400, "BadRequest", "PATCH of type apply needs a fieldManager");
        }
        let Ok(mut object) = serde_json::from_slice::<Value>(body) else {
            return status(400, "BadRequest", "the body is not JSON");
        };
        if object["kind"] != kind || object["metadata"]["name"] != name {
            return status(400, "BadRequest", "the body's kind and name do not match the path");
        }
        if namespaced {
            let ns = target.namespace.clone().unwrap_or_default();
            if object["metadata"]["namespace"] != ns.as_str() {
                return status(
                    400,
                    "BadRequest",
                    "the namespace of the object does not match the namespace of the request",
                );
            }
            if !self.objects.lock().unwrap().contains_key(&format!("/api/v1/namespaces/{ns}")) {
                return status(404, "NotFound", &format!("namespaces \"{ns}\" not found"));
            }
        }
        if object["spec"]["replicas"].as_i64().is_some_and(|r| r < 0) {
            let message = format!(
                "{kind}.apps \"{name}\" is invalid: spec.replicas: Invalid value: {}: must be greater than or equal to 0",
                object["spec"]["replicas"]
            );
            return status(422, "Invalid", &message);
        }
        if query.split('&').any(|kv| kv == "dryRun=All") {
            return json_response(200, object);
        }
        self.applies.lock().unwrap().push(path.to_string());
        object["metadata"]["uid"] = json!(format!("uid-{path}"));
        // A Deployment's new spec is rolled out anew, a Job runs anew.
        object["metadata"]["generation"] = json!(1);
        if path.contains("/deployments/") || path.contains("/jobs/") {
            self.reads.lock().unwrap().remove(path);
        }
        self.objects.lock().unwrap().insert(path.to_string(), object.clone());
        json_response(200, object)
    }
}

impl FakeApiServer {
    /// Starts with the namespaces `default` and `kube-system`, and the
    /// objects at `paths` (empty bodies).
    pub fn start(paths: &[&str]) -> FakeApiServer {
        let mut objects = BTreeMap::new();
        for ns in ["default", "kube-system"] {
            objects.insert(
                format!("/api/v1/namespaces/{ns}"),
                json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}),
            );
        }
        for path in paths {
            objects.insert(path.to_string(), json!({}));
        }
        let state = Arc::new(State {
            objects: Arc::new(Mutex::new(objects)),
            deletes: Arc::new(Mutex::new(Vec::new())),
            applies: Arc::new(Mutex::new(Vec::new())),
            reads: Mutex::new(BTreeMap::new()),
        });
        let (objects, deletes, applies) = (state.objects.clone(), state.deletes.clone(), state.applies.clone());
        // (in flight, most at once) of PATCHes, and of GETs of one object.
        let applies_at_once = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let reads_at_once = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let discoveries = Arc::new(AtomicUsize::new(0));
        let (most_applies_at_once, most_reads_at_once) = (applies_at_once.1.clone(), reads_at_once.1.clone());
        let counters = (applies_at_once, reads_at_once, discoveries.clone());
        let handler = move |method: axum::http::Method, uri: axum::http::Uri, body: axum::body::Bytes| {
            let (state, (applies_at_once, reads_at_once, discoveries)) = (state.clone(), counters.clone());
            async move {
                let path = uri.path();
                let discovery = path == "/api/v1" || (path.starts_with("/apis/") && path.matches('/').count() == 3);
                if discovery {
                    discoveries.fetch_add(1, Ordering::SeqCst);
                }
                let one_object = !discovery && parse_path(path).is_some_and(|t| t.name.is_some());
                let counted = match method {
                    axum::http::Method::PATCH => Some(applies_at_once),
                    axum::http::Method::GET if one_object => Some(reads_at_once),
                    _ => None,
                };
                if let Some((in_flight, most)) = &counted {
                    most.fetch_max(in_flight.fetch_add(1, Ordering::SeqCst) + 1, Ordering::SeqCst);
                    tokio::time::sleep(std::time::Duration::from_millis(3)).await;
                }
                let response = state.handle(method.as_str(), path, uri.query().unwrap_or_default(), &body);
                if let Some((in_flight, _)) = &counted {
                    in_flight.fetch_sub(1, Ordering::SeqCst);
                }
                response
            }
        };
        let server = crate::support::InProcessServer::start(axum::Router::new().fallback(handler));
        FakeApiServer {
            port: server.port,
            objects,
            deletes,
            applies,
            most_applies_at_once,
            most_reads_at_once,
            discoveries,
            _server: server,
        }
    }

    /// A kubeconfig that points at this server.
    pub fn kubeconfig(&self, dir: &std::path::Path) -> std::path::PathBuf {
        let path = dir.join(format!("kubeconfig-{}", self.port));
        std::fs::write(
            &path,
            format!(
                "apiVersion: v1\nkind: Config\nclusters: [{{name: fake, cluster: {{server: \"http://127.0.0.1:{}\"}}}}]\nusers: [{{name: fake, user: {{}}}}]\ncontexts: [{{name: fake, context: {{cluster: fake, user: fake}}}}]\ncurrent-context: fake\n",
                self.port
            ),
        )
        .unwrap();
        path
    }

    /// The stored object at `path`.
    pub fn object(&self, path: &str) -> Option<Value> {
        self.objects.lock().unwrap().get(path).cloned()
    }
}
