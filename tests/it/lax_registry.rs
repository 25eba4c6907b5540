//! A small in-process FAKE registry that does NOT check digests: it stores
//! whatever it is sent under whatever digest the client names, as a careless
//! registry would. It answers just enough of the distribution API for
//! `airlock push` (monolithic blob uploads, manifests by tag and digest), so
//! tests can see that airlock then checks digests itself. It runs on a free
//! 127.0.0.1 port on its own thread (`support::InProcessServer`) and stops when dropped.

use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

#[derive(Default)]
pub struct Stored {
    /// Blob content by the digest it was pushed under.
    pub blobs: HashMap<String, Vec<u8>>,
    /// Manifests by `repository@digest` and `repository:tag`: content type and bytes.
    pub manifests: HashMap<String, (String, Vec<u8>)>,
    /// Every request answered, as "METHOD PATH", in order.
    pub requests: Vec<String>,
}

pub struct LaxRegistry {
    pub host: String,
    pub stored: Arc<Mutex<Stored>>,
    _server: crate::support::InProcessServer,
}

fn reply(code: StatusCode, headers: &[(&str, String)], body: Vec<u8>) -> Response {
    let mut response = Response::builder().status(code);
    for (name, value) in headers {
        response = response.header(*name, value);
    }
    response.body(axum::body::Body::from(body)).unwrap()
}

fn unknown(code: &str) -> Response {
    let body = format!("{{\"errors\":[{{\"code\":\"{code}\",\"message\":\"unknown\"}}]}}");
    reply(StatusCode::NOT_FOUND, &[("content-type", "application/json".into())], body.into_bytes())
}

fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(bytes)))
}

fn handle(stored: &Mutex<Stored>, method: &Method, uri: &Uri, headers: &HeaderMap, body: Vec<u8>) -> Response {
    let path = uri.path();
    if path == "/v2/" || path == "/v2" {
        return reply(StatusCode::OK, &[], b"{}".to_vec());
    }
    let Some(rest) = path.strip_prefix("/v2/") else { return unknown("NOT_FOUND") };
    let mut stored = stored.lock().unwrap();
    stored.requests.push(format!("{method} {path}"));
    if let Some(repo) = rest.strip_suffix("/blobs/uploads/") {
        let location = format!("/v2/{repo}/blobs/uploads/upload-{}", stored.blobs.len());
        return reply(StatusCode::ACCEPTED, &[("location", location), ("range", "0-0".into())], Vec::new());
    }
    if let Some((repo, _upload)) = rest.split_once("/blobs/uploads/") {
        let digest = uri.query().unwrap_or("").split('&').find_map(|kv| kv.strip_prefix("digest=")).unwrap_or("");
        let digest = digest.replace("%3A", ":").replace("%3a", ":");
        stored.blobs.insert(digest.clone(), body);
        let location = format!("/v2/{repo}/blobs/{digest}");
        return reply(StatusCode::CREATED, &[("location", location), ("docker-content-digest", digest)], Vec::new());
    }
    if let Some((_repo, digest)) = rest.split_once("/blobs/") {
        return match stored.blobs.get(digest) {
            Some(blob) => {
                let headers = [("content-length", blob.len().to_string()), ("docker-content-digest", digest.into())];
                let body = if method == Method::HEAD { Vec::new() } else { blob.clone() };
                reply(StatusCode::OK, &headers, body)
            }
            None => unknown("BLOB_UNKNOWN"),
        };
    }
    if let Some((repo, reference)) = rest.split_once("/manifests/") {
        let key = |r: &str| if r.starts_with("sha256:") { format!("{repo}@{r}") } else { format!("{repo}:{r}") };
        if method == Method::PUT {
            let content_type = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
            let digest = sha256(&body);
            stored.manifests.insert(key(&digest), (content_type.clone(), body.clone()));
            stored.manifests.insert(key(reference), (content_type, body));
            let location = format!("/v2/{repo}/manifests/{digest}");
            return reply(
                StatusCode::CREATED,
                &[("location", location), ("docker-content-digest", digest)],
                Vec::new(),
            );
        }
        return match stored.manifests.get(&key(reference)) {
            Some((content_type, bytes)) => {
                let headers = [
                    ("content-type", content_type.clone()),
                    ("content-length", bytes.len().to_string()),
                    ("docker-content-digest", sha256(bytes)),
                ];
                let body = if method == Method::HEAD { Vec::new() } else { bytes.clone() };
                reply(StatusCode::OK, &headers, body)
            }
            None => unknown("MANIFEST_UNKNOWN"),
        };
    }
    unknown("NOT_FOUND")
}

impl LaxRegistry {
    pub fn start() -> LaxRegistry {
        let stored = Arc::new(Mutex::new(Stored::default()));
        let state = stored.clone();
        let handler = move |method: Method, uri: Uri, headers: HeaderMap, body: axum::body::Body| {
            let state = state.clone();
            async move {
                // Like any server, it fails a request whose body broke off.
                match axum::body::to_bytes(body, usize::MAX).await {
                    Ok(body) => handle(&state, &method, &uri, &headers, body.to_vec()),
                    Err(_) => reply(StatusCode::BAD_REQUEST, &[], b"incomplete body".to_vec()),
                }
            }
        };
        let server = crate::support::InProcessServer::start(axum::Router::new().fallback(handler));
        LaxRegistry { host: format!("127.0.0.1:{}", server.port), stored, _server: server }
    }
}
