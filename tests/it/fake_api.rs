//! A small in-process FAKE Kubernetes API server: discovery for the core
//! group and helm.cattle.io, and DELETE of objects it was told exist. It is
//! not Kubernetes; it answers just enough, as the API does, for airlock's
//! deletions to be checked. It runs on a free 127.0.0.1 port on its own
//! thread and stops when dropped.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

pub struct FakeApiServer {
    pub port: u16,
    /// Paths of the objects that exist, such as `/api/v1/namespaces/apps`.
    pub objects: Arc<Mutex<BTreeSet<String>>>,
    /// Every DELETE received, in order.
    pub deletes: Arc<Mutex<Vec<String>>>,
    _server: crate::support::InProcessServer,
}

fn resource(name: &str, kind: &str, namespaced: bool) -> serde_json::Value {
    serde_json::json!({"name": name, "singularName": kind.to_lowercase(), "namespaced": namespaced, "kind": kind, "verbs": ["delete", "get", "list"]})
}

fn json(code: u16, body: serde_json::Value) -> axum::response::Response {
    axum::response::IntoResponse::into_response((
        axum::http::StatusCode::from_u16(code).unwrap(),
        [("content-type", "application/json")],
        body.to_string(),
    ))
}

fn status(code: u16, reason: &str) -> axum::response::Response {
    let status = if code < 300 { "Success" } else { "Failure" };
    json(
        code,
        serde_json::json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": status, "reason": reason, "code": code}),
    )
}

impl FakeApiServer {
    pub fn start(objects: &[&str]) -> FakeApiServer {
        let objects = Arc::new(Mutex::new(objects.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>()));
        let deletes = Arc::new(Mutex::new(Vec::new()));
        let (o, d) = (objects.clone(), deletes.clone());
        let handler = move |method: axum::http::Method, uri: axum::http::Uri| {
            let (objects, deletes) = (o.clone(), d.clone());
            async move {
                let path = uri.path().to_string();
                match (method.as_str(), path.as_str()) {
                    ("GET", "/api/v1") => json(
                        200,
                        serde_json::json!({
                            "kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "v1",
                            "resources": [resource("namespaces", "Namespace", false), resource("configmaps", "ConfigMap", true)],
                        }),
                    ),
                    ("GET", "/apis/helm.cattle.io/v1") => json(
                        200,
                        serde_json::json!({
                            "kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "helm.cattle.io/v1",
                            "resources": [resource("helmcharts", "HelmChart", true)],
                        }),
                    ),
                    ("DELETE", _) => {
                        deletes.lock().unwrap().push(path.clone());
                        if objects.lock().unwrap().remove(&path) {
                            status(200, "")
                        } else {
                            status(404, "NotFound")
                        }
                    }
                    _ => status(404, "NotFound"),
                }
            }
        };
        let server = crate::support::InProcessServer::start(axum::Router::new().fallback(handler));
        FakeApiServer { port: server.port, objects, deletes, _server: server }
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
}
