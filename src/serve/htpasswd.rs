//! Basic auth for `serve --htpasswd FILE`: the users of an htpasswd file
//! with bcrypt hashes (as `htpasswd -B` writes them, and docker-registry
//! reads them), checked on every request. A header that passed once is
//! remembered for the run (by its sha256), so only the first request of a
//! client pays for bcrypt.

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use sha2::{Digest as _, Sha256};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

#[derive(Debug, thiserror::Error)]
pub enum HtpasswdError {
    #[error("cannot read the htpasswd file {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}, line {line}: {problem}")]
    Entry { path: PathBuf, line: usize, problem: String },
    #[error("{path} holds no users (lines USER:HASH, as `htpasswd -B` writes them)")]
    Empty { path: PathBuf },
}

/// The users allowed in, and the Authorization headers already checked.
pub struct Htpasswd {
    /// user -> bcrypt hash
    users: HashMap<String, String>,
    /// sha256 of each Authorization header value that passed.
    passed: Mutex<HashSet<[u8; 32]>>,
}

impl Htpasswd {
    pub fn load(path: &Path) -> Result<Htpasswd, HtpasswdError> {
        let text = std::fs::read_to_string(path).map_err(|source| HtpasswdError::Read { path: path.into(), source })?;
        Self::parse(&text, path)
    }

    fn parse(text: &str, path: &Path) -> Result<Htpasswd, HtpasswdError> {
        let mut users = HashMap::new();
        for (n, line) in text.lines().enumerate() {
            let entry = |problem: String| HtpasswdError::Entry { path: path.into(), line: n + 1, problem };
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((user, hash)) = line.split_once(':') else {
                return Err(entry("not USER:HASH".into()));
            };
            if user.is_empty() {
                return Err(entry("no user name before the colon".into()));
            }
            if !["$2y$", "$2b$", "$2a$"].iter().any(|p| hash.starts_with(p)) {
                let kind = if hash.starts_with("$apr1$") {
                    "an MD5 (apr1) hash"
                } else if hash.starts_with("{SHA}") {
                    "a SHA-1 hash"
                } else if hash.starts_with("$5$") || hash.starts_with("$6$") {
                    "a SHA-crypt hash"
                } else {
                    "not a bcrypt hash (crypt or plain text)"
                };
                return Err(entry(format!(
                    "the password of user {user} is {kind}; only bcrypt is accepted: write it with `htpasswd -B`"
                )));
            }
            if hash.parse::<bcrypt::HashParts>().is_err() {
                return Err(entry(format!("the bcrypt hash of user {user} is damaged")));
            }
            if users.insert(user.to_string(), hash.to_string()).is_some() {
                return Err(entry(format!("user {user} is listed twice")));
            }
        }
        if users.is_empty() {
            return Err(HtpasswdError::Empty { path: path.into() });
        }
        Ok(Htpasswd { users, passed: Mutex::new(HashSet::new()) })
    }

    /// Whether an Authorization header value lets its sender in.
    pub async fn allows(self: &Arc<Self>, value: Option<&HeaderValue>) -> bool {
        let Some(value) = value else { return false };
        let key: [u8; 32] = Sha256::digest(value.as_bytes()).into();
        if self.passed.lock().unwrap_or_else(|e| e.into_inner()).contains(&key) {
            return true;
        }
        let Some((user, password)) = basic_credentials(value) else { return false };
        let Some(hash) = self.users.get(&user).cloned() else { return false };
        // bcrypt takes tens of milliseconds: off the async workers.
        let ok = tokio::task::spawn_blocking(move || bcrypt::verify(password, &hash).unwrap_or(false))
            .await
            .unwrap_or(false);
        if ok {
            self.passed.lock().unwrap_or_else(|e| e.into_inner()).insert(key);
        }
        ok
    }
}

/// User and password of a `Basic` Authorization header.
fn basic_credentials(value: &HeaderValue) -> Option<(String, String)> {
    let text = value.to_str().ok()?.trim();
    let (scheme, encoded) = text.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).ok()?;
    let (user, password) = std::str::from_utf8(&decoded).ok()?.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

/// Middleware: 401 with a Basic challenge unless the request's
/// credentials are those of a user in the file.
pub async fn require(State(users): State<Arc<Htpasswd>>, request: Request, next: Next) -> Response {
    if users.allows(request.headers().get(header::AUTHORIZATION)).await {
        return next.run(request).await;
    }
    let body = serde_json::json!({"errors": [{"code": "UNAUTHORIZED", "message": "authentication required"}]});
    (
        StatusCode::UNAUTHORIZED,
        [
            (header::WWW_AUTHENTICATE, "Basic realm=\"airlock\""),
            (header::CONTENT_TYPE, "application/json"),
            (header::HeaderName::from_static("docker-distribution-api-version"), "registry/2.0"),
        ],
        body.to_string(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(user: &str, password: &str) -> HeaderValue {
        let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        HeaderValue::from_str(&format!("Basic {encoded}")).unwrap()
    }

    #[tokio::test]
    async fn bcrypt_users_only() {
        let path = Path::new("/etc/airlock.htpasswd");
        let hash = bcrypt::hash("s3cret", 4).unwrap();
        let users = Arc::new(Htpasswd::parse(&format!("# users\n\nalice:{hash}\n"), path).unwrap());
        assert!(users.allows(Some(&header("alice", "s3cret"))).await);
        // Remembered: the same header passes without bcrypt.
        assert_eq!(users.passed.lock().unwrap().len(), 1);
        assert!(users.allows(Some(&header("alice", "s3cret"))).await);
        assert!(!users.allows(Some(&header("alice", "wrong"))).await);
        assert!(!users.allows(Some(&header("bob", "s3cret"))).await);
        assert!(!users.allows(Some(&HeaderValue::from_static("Bearer abc"))).await);
        assert!(!users.allows(None).await);
        assert_eq!(users.passed.lock().unwrap().len(), 1);

        let err = |text: &str| Htpasswd::parse(text, path).err().unwrap().to_string();
        assert_eq!(
            err(&format!("alice:{hash}\nbob:$apr1$abc$def\n")),
            "/etc/airlock.htpasswd, line 2: the password of user bob is an MD5 (apr1) hash; only bcrypt is accepted: write it with `htpasswd -B`"
        );
        assert_eq!(
            err("carol:{SHA}abc=\n").split(": ").nth(1).unwrap(),
            "the password of user carol is a SHA-1 hash; only bcrypt is accepted"
        );
        assert_eq!(err("\nnocolon\n"), "/etc/airlock.htpasswd, line 2: not USER:HASH");
        assert_eq!(err(&format!("a:{hash}\na:{hash}\n")), "/etc/airlock.htpasswd, line 2: user a is listed twice");
        assert_eq!(err("a:$2y$05$short\n"), "/etc/airlock.htpasswd, line 1: the bcrypt hash of user a is damaged");
        assert!(err("# nobody\n").contains("holds no users"));
    }
}
