//! A read-only OCI distribution API served straight from a bundle file:
//! `/v2/`, manifests and blobs by digest or tag (GET and HEAD, with the
//! right Content-Type and Docker-Content-Digest), byte ranges on blobs,
//! `tags/list`, `_catalog`, and the referrers API (`referrers/<digest>`,
//! with its `artifactType` filter) for the referrers the bundle carries.
//! Anything that writes gets 405. With
//! `--htpasswd`, every request first needs a user's Basic credentials
//! (`htpasswd`); over TLS (`tls`), a client gets a bounded time for its
//! handshake.
//!
//! Blobs are read from their offsets in the bundle; nothing is extracted.
//! Names follow `push`: `docker.io/library/redis:7` is served as
//! `library/redis:7`, a chart as `NAME:VERSION` (`+` as `_`).

pub mod htpasswd;
pub mod tls;

use crate::bundle::format::{Encoding, ReferrerRecord};
use crate::bundle::reader::BundleReader;
use crate::oci::digest::Digest;
use crate::oci::media;
use crate::oci::source::parse_reference;
use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use std::collections::BTreeMap;
use std::io::Read;
use std::sync::Arc;

/// What the server knows: the bundle and its repositories' tags.
pub struct Catalog {
    reader: BundleReader,
    /// repository -> tag -> manifest digest
    repos: BTreeMap<String, BTreeMap<String, Digest>>,
    /// (repository, subject) -> the referrers of that manifest carried
    referrers: BTreeMap<(String, Digest), Vec<ReferrerRecord>>,
}

impl Catalog {
    pub fn new(reader: BundleReader) -> Self {
        let mut repos: BTreeMap<String, BTreeMap<String, Digest>> = BTreeMap::new();
        let mut referrers: BTreeMap<(String, Digest), Vec<ReferrerRecord>> = BTreeMap::new();
        for image in reader.head.manifest.images() {
            let Ok(r) = parse_reference(&image.reference) else { continue };
            for referrer in &image.referrers {
                let listed = referrers.entry((r.repository().to_string(), referrer.subject.clone())).or_default();
                if !listed.iter().any(|l| l.digest == referrer.digest) {
                    listed.push(referrer.clone());
                }
            }
            let top = image.filtered_index.clone().unwrap_or_else(|| image.digest.clone());
            let tags = repos.entry(r.repository().to_string()).or_default();
            if let Some(tag) = r.tag() {
                tags.insert(tag.to_string(), top);
            }
            for sig in &image.signatures {
                tags.insert(sig.tag.clone(), sig.digest.clone());
            }
        }
        for chart in reader.head.manifest.charts() {
            let repo = match chart.source.strip_prefix("oci://").and_then(|r| parse_reference(r).ok()) {
                Some(r) => r.repository().to_string(),
                None => chart.chart_name.clone(),
            };
            repos.entry(repo).or_default().insert(chart.version.replace('+', "_"), chart.digest.clone());
        }
        Catalog { reader, repos, referrers }
    }

    pub fn repositories(&self) -> impl Iterator<Item = (&String, &BTreeMap<String, Digest>)> {
        self.repos.iter()
    }
}

/// The API; with `users`, behind Basic auth (every path, unknown ones too).
pub fn router(catalog: Arc<Catalog>, users: Option<Arc<htpasswd::Htpasswd>>) -> axum::Router {
    let router = axum::Router::new()
        .route("/v2/", axum::routing::any(version))
        .route("/v2", axum::routing::any(version))
        .route("/v2/{*rest}", axum::routing::any(dispatch))
        // Set before the auth layer, so that it covers unknown paths too.
        .fallback(|| async { error(StatusCode::NOT_FOUND, "NOT_FOUND", "unknown endpoint") })
        .with_state(catalog);
    match users {
        Some(users) => router.layer(axum::middleware::from_fn_with_state(users, htpasswd::require)),
        None => router,
    }
}

fn api_headers(mut response: Response) -> Response {
    response.headers_mut().insert("Docker-Distribution-API-Version", HeaderValue::from_static("registry/2.0"));
    response
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = serde_json::json!({"errors": [{"code": code, "message": message}]}).to_string();
    api_headers((status, [(header::CONTENT_TYPE, "application/json")], body).into_response())
}

async fn version(method: Method) -> Response {
    if method != Method::GET && method != Method::HEAD {
        return error(StatusCode::METHOD_NOT_ALLOWED, "UNSUPPORTED", "this registry is read-only");
    }
    api_headers((StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], "{}").into_response())
}

async fn dispatch(State(catalog): State<Arc<Catalog>>, Path(rest): Path<String>, request: Request) -> Response {
    let method = request.method().clone();
    if method != Method::GET && method != Method::HEAD {
        return error(StatusCode::METHOD_NOT_ALLOWED, "UNSUPPORTED", "this registry is read-only");
    }
    let head = method == Method::HEAD;
    if rest == "_catalog" {
        let names: Vec<&String> = catalog.repos.keys().collect();
        return json(serde_json::json!({ "repositories": names }));
    }
    if let Some(name) = rest.strip_suffix("/tags/list") {
        return match catalog.repos.get(name) {
            Some(tags) => json(serde_json::json!({"name": name, "tags": tags.keys().collect::<Vec<_>>()})),
            None => error(StatusCode::NOT_FOUND, "NAME_UNKNOWN", "repository name not known to registry"),
        };
    }
    if let Some((name, digest)) = rest.rsplit_once("/referrers/") {
        return referrers(&catalog, name, digest, request.uri().query());
    }
    if let Some((name, reference)) = rest.rsplit_once("/manifests/") {
        return manifest(&catalog, name, reference, head).await;
    }
    if let Some((_, digest)) = rest.rsplit_once("/blobs/") {
        return blob(catalog.clone(), digest, request.headers(), head).await;
    }
    error(StatusCode::NOT_FOUND, "NOT_FOUND", "unknown endpoint")
}

fn json(value: serde_json::Value) -> Response {
    api_headers((StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], value.to_string()).into_response())
}

async fn manifest(catalog: &Arc<Catalog>, name: &str, reference: &str, head: bool) -> Response {
    let digest = match reference.parse::<Digest>() {
        Ok(d) => d,
        Err(_) => match catalog.repos.get(name).and_then(|tags| tags.get(reference)) {
            Some(d) => d.clone(),
            None => return error(StatusCode::NOT_FOUND, "MANIFEST_UNKNOWN", "manifest unknown"),
        },
    };
    let record = match catalog.reader.head.manifest.find_blob(&digest) {
        Some(r) if media::is_manifest(&r.media_type) || media::is_index(&r.media_type) => r.clone(),
        _ => return error(StatusCode::NOT_FOUND, "MANIFEST_UNKNOWN", "manifest unknown"),
    };
    let catalog = catalog.clone();
    let bytes = match tokio::task::spawn_blocking(move || catalog.reader.read_blob(&digest)).await {
        Ok(Ok(b)) => b,
        _ => return error(StatusCode::INTERNAL_SERVER_ERROR, "UNKNOWN", "cannot read the bundle"),
    };
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&record.media_type).unwrap_or(HeaderValue::from_static(media::OCI_MANIFEST)),
    );
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(bytes.len()));
    headers.insert("Docker-Content-Digest", HeaderValue::from_str(&record.digest.to_string()).expect("ascii"));
    let body = if head { Body::empty() } else { Body::from(bytes) };
    api_headers((StatusCode::OK, headers, body).into_response())
}

/// The referrers API: an OCI image index of the manifests whose subject is
/// `digest`, as the bundle recorded them (empty when there are none, as
/// the distribution spec asks), filtered by `artifactType` when the query
/// gives one (`OCI-Filters-Applied` says so).
fn referrers(catalog: &Catalog, name: &str, digest: &str, query: Option<&str>) -> Response {
    let Ok(digest) = digest.parse::<Digest>() else {
        return error(StatusCode::BAD_REQUEST, "DIGEST_INVALID", "invalid digest");
    };
    let filter = query.into_iter().flat_map(|q| q.split('&')).find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        (key == "artifactType").then(|| percent_decode(value))
    });
    let listed = catalog.referrers.get(&(name.to_string(), digest)).map(Vec::as_slice).unwrap_or_default();
    let manifests: Vec<serde_json::Value> = listed
        .iter()
        .filter(|r| filter.as_ref().is_none_or(|f| r.artifact_type.as_deref() == Some(f.as_str())))
        .map(|r| {
            let mut entry = serde_json::json!({"mediaType": r.media_type, "digest": r.digest, "size": r.size});
            if let Some(artifact_type) = &r.artifact_type {
                entry["artifactType"] = artifact_type.as_str().into();
            }
            if !r.annotations.is_empty() {
                entry["annotations"] = serde_json::json!(r.annotations);
            }
            entry
        })
        .collect();
    let body = serde_json::json!({"schemaVersion": 2, "mediaType": media::OCI_INDEX, "manifests": manifests});
    let mut response = (StatusCode::OK, [(header::CONTENT_TYPE, media::OCI_INDEX)], body.to_string()).into_response();
    if filter.is_some() {
        response.headers_mut().insert("OCI-Filters-Applied", HeaderValue::from_static("artifactType"));
    }
    api_headers(response)
}

/// `%XX` escapes of a query value decoded. A `+` stays a `+`: artifact
/// types hold `+json`, never a space, and some clients leave it unescaped.
fn percent_decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%').then(|| value.get(i + 1..i + 3)).flatten();
        match escaped.and_then(|h| u8::from_str_radix(h, 16).ok()) {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parses `bytes=START-END` / `bytes=START-` / `bytes=-SUFFIX`.
fn parse_range(value: &str, size: u64) -> Option<(u64, u64)> {
    let spec = value.strip_prefix("bytes=")?;
    if spec.contains(',') {
        return None;
    }
    let (start, end) = spec.split_once('-')?;
    let (start, end) = match (start.trim(), end.trim()) {
        ("", suffix) => {
            let n: u64 = suffix.parse().ok()?;
            (size.saturating_sub(n), size.checked_sub(1)?)
        }
        (s, "") => (s.parse().ok()?, size.checked_sub(1)?),
        (s, e) => (s.parse().ok()?, e.parse::<u64>().ok()?.min(size.checked_sub(1)?)),
    };
    (start <= end && end < size).then_some((start, end))
}

async fn blob(catalog: Arc<Catalog>, digest: &str, headers: &HeaderMap, head: bool) -> Response {
    let Ok(digest) = digest.parse::<Digest>() else {
        return error(StatusCode::BAD_REQUEST, "DIGEST_INVALID", "invalid digest");
    };
    let Some(record) = catalog.reader.head.manifest.find_blob(&digest) else {
        return error(StatusCode::NOT_FOUND, "BLOB_UNKNOWN", "blob unknown to registry");
    };
    // Stored uncompressed in this bundle: read in place from its offset.
    // Otherwise (compressed, or in the base bundle) decoded from its start.
    let in_place = match (record.in_base, record.encoding) {
        (false, Encoding::Identity) => match catalog.reader.locate(&digest) {
            Ok((location, _)) => Some(location),
            Err(_) => return error(StatusCode::NOT_FOUND, "BLOB_UNKNOWN", "blob unknown to registry"),
        },
        _ => None,
    };
    let size = record.size;
    let range = headers.get(header::RANGE).and_then(|v| v.to_str().ok()).map(|v| parse_range(v, size));
    let (start, end, status) = match range {
        None => (0, size.saturating_sub(1), StatusCode::OK),
        Some(Some((s, e))) => (s, e, StatusCode::PARTIAL_CONTENT),
        Some(None) => {
            let mut r = error(StatusCode::RANGE_NOT_SATISFIABLE, "RANGE_INVALID", "invalid range");
            r.headers_mut()
                .insert(header::CONTENT_RANGE, HeaderValue::from_str(&format!("bytes */{size}")).expect("ascii"));
            return r;
        }
    };
    let length = if size == 0 { 0 } else { end - start + 1 };
    let mut out = HeaderMap::new();
    out.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
    out.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    out.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    out.insert("Docker-Content-Digest", HeaderValue::from_str(&digest.to_string()).expect("ascii"));
    if status == StatusCode::PARTIAL_CONTENT {
        out.insert(
            header::CONTENT_RANGE,
            HeaderValue::from_str(&format!("bytes {start}-{end}/{size}")).expect("ascii"),
        );
    }
    if head || length == 0 {
        return api_headers((status, out, Body::empty()).into_response());
    }
    let open = move || -> std::io::Result<Box<dyn Read + Send>> {
        let reader = &catalog.reader;
        Ok(match in_place {
            Some(location) => {
                Box::new(reader.open_range(location.offset + start, length).map_err(std::io::Error::other)?)
            }
            None => {
                let mut r = reader.open_blob(&digest).map_err(std::io::Error::other)?;
                std::io::copy(&mut (&mut r).take(start), &mut std::io::sink())?;
                Box::new(r.take(length))
            }
        })
    };
    let mut sent = 0;
    let whole = move |chunk: Option<&[u8]>| match chunk {
        Some(bytes) => {
            sent += bytes.len() as u64;
            Ok(())
        }
        None if sent == length => Ok(()),
        None => Err(std::io::ErrorKind::UnexpectedEof.into()),
    };
    let body = Body::from_stream(crate::bundle::stream::read_in_background(open, whole));
    api_headers((status, out, body).into_response())
}

#[cfg(test)]
mod tests {
    use super::{parse_range, percent_decode};

    #[test]
    fn query_values() {
        assert_eq!(
            percent_decode("application%2Fvnd.dev.sigstore.bundle.v0.3%2Bjson"),
            "application/vnd.dev.sigstore.bundle.v0.3+json"
        );
        assert_eq!(percent_decode("application/spdx+json"), "application/spdx+json");
        assert_eq!(percent_decode("a%2"), "a%2");
        assert_eq!(percent_decode("%zz%41"), "%zzA");
    }

    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=0-9", 100), Some((0, 9)));
        assert_eq!(parse_range("bytes=90-", 100), Some((90, 99)));
        assert_eq!(parse_range("bytes=-10", 100), Some((90, 99)));
        assert_eq!(parse_range("bytes=50-500", 100), Some((50, 99)));
        assert_eq!(parse_range("bytes=100-", 100), None);
        assert_eq!(parse_range("bytes=5-1", 100), None);
        assert_eq!(parse_range("items=0-1", 100), None);
        assert_eq!(parse_range("bytes=0-1,3-4", 100), None);
    }
}
