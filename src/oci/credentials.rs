//! Registry credentials: where airlock finds them, in which order, and what
//! they become on the wire. `oci::registry` asks this module for a
//! registry's credential and hands the result to oci-client.
//!
//! Lookup order, as podman, skopeo, Docker and Helm users expect; the first
//! source with an entry for the registry's host wins, and a registry none
//! of them names is pulled from anonymously:
//!
//! 1. Explicit settings: the registry's `registries:` entry in
//!    `--registry-config` (username with `password` or `passwordEnv`), then
//!    `--username` with `--password` / `--password-stdin` (or
//!    `AIRLOCK_REGISTRY_USERNAME` / `AIRLOCK_REGISTRY_PASSWORD`).
//! 2. `REGISTRY_AUTH_FILE` (podman, skopeo and buildah's auth file).
//! 3. `$XDG_RUNTIME_DIR/containers/auth.json` (where `podman login` writes).
//! 4. `$XDG_CONFIG_HOME/containers/auth.json` (or
//!    `~/.config/containers/auth.json`), the containers tools' fallback.
//! 5. Docker's config: `$DOCKER_CONFIG/config.json` or
//!    `~/.docker/config.json`, with its `credHelpers` and `credsStore`.
//! 6. Helm's registry config: `HELM_REGISTRY_CONFIG`, or
//!    `registry/config.json` under Helm's config home (`HELM_CONFIG_HOME`,
//!    `$XDG_CONFIG_HOME/helm`, `~/.config/helm`).
//!
//! Files 2 to 6 share Docker's JSON shape (`auths` with `auth`,
//! `username`/`password` or `identitytoken`; `credHelpers`; `credsStore`)
//! and are read with the `docker_credential` crate. A credential helper
//! that answers "credentials not found" means that file has none; a helper
//! that fails otherwise (cannot be run, exits non-zero, prints what is not
//! JSON credentials) stops the run with one error naming the helper, the
//! registry and the file, rather than going on anonymously.
//!
//! Docker's `identitytoken` (and a helper's `<token>` username) is an
//! OAuth2 refresh token, not an access token: [`TokenExchange`] trades it
//! at the registry's token endpoint for access tokens, one per repository
//! and operation.

use oci_client::RegistryOperation;
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::ffi::OsString;
use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    #[error("credential helper {helper} failed for registry {registry} (named in {origin}): {detail}")]
    Helper { helper: String, registry: String, origin: Origin, detail: String },
    #[error("cannot run credential helper {helper} for registry {registry} (named in {origin}): is it installed and on PATH?")]
    HelperNotRun { helper: String, registry: String, origin: Origin },
    #[error("cannot read registry credentials from {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a registry credentials file airlock can read (JSON as `docker login` writes it)")]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("the credentials for registry {registry} in {origin} cannot be read: {detail}")]
    Entry { registry: String, origin: Origin, detail: String },
    #[error("registry {registry} does not offer token authentication, so the identity token from {origin} cannot be used; log in with a username and password instead")]
    NoTokenService { registry: String, origin: Origin },
    #[error("cannot reach the token service of registry {registry} at {url}: {detail}")]
    TokenServiceUnreachable { registry: String, url: String, detail: String },
    #[error("the token service of registry {registry} ({realm}) refused the identity token from {origin}: {detail}; log in again")]
    TokenRefused { registry: String, realm: String, origin: Origin, detail: String },
}

/// Where a credential came from, as messages name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// The registry's entry in the `--registry-config` file.
    Settings(PathBuf),
    /// `--username` with `--password` or `--password-stdin`.
    Flags,
    /// A file a login wrote.
    File(LoginFile),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Settings(path) => write!(f, "registries: in {}", path.display()),
            Origin::Flags => f.write_str("--username/--password"),
            Origin::File(file) => write!(f, "{} {}", file.kind.describe(), file.path.display()),
        }
    }
}

/// Which tool's login file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    RegistryAuthFile,
    ContainersRuntime,
    ContainersConfig,
    Docker,
    Helm,
}

impl FileKind {
    fn describe(self) -> &'static str {
        match self {
            FileKind::RegistryAuthFile => "REGISTRY_AUTH_FILE",
            FileKind::ContainersRuntime | FileKind::ContainersConfig => "containers auth file",
            FileKind::Docker => "Docker config",
            FileKind::Helm => "Helm registry config",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginFile {
    pub kind: FileKind,
    pub path: PathBuf,
}

/// What a source holds for a registry.
#[derive(Clone, PartialEq, Eq)]
pub enum Secret {
    Anonymous,
    Basic(String, String),
    /// An OAuth2 refresh token (Docker's `identitytoken`).
    IdentityToken(String),
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Secret::Anonymous => f.write_str("Anonymous"),
            Secret::Basic(user, _) => write!(f, "Basic({user}, <redacted>)"),
            Secret::IdentityToken(_) => f.write_str("IdentityToken(<redacted>)"),
        }
    }
}

/// A registry's credential and where it was found (None: anonymous).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub secret: Secret,
    pub origin: Option<Origin>,
}

/// The login files, in lookup order, as the environment (`var`) names
/// them. Files that do not exist are skipped when read.
pub fn login_files(var: impl Fn(&str) -> Option<OsString>) -> Vec<LoginFile> {
    let set = |name: &str| var(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    let home = set("HOME");
    let config_home = set("XDG_CONFIG_HOME").or_else(|| home.as_ref().map(|h| h.join(".config")));
    let mut files = Vec::new();
    let mut add = |kind, path: Option<PathBuf>| {
        if let Some(path) = path {
            files.push(LoginFile { kind, path });
        }
    };
    add(FileKind::RegistryAuthFile, set("REGISTRY_AUTH_FILE"));
    add(FileKind::ContainersRuntime, set("XDG_RUNTIME_DIR").map(|d| d.join("containers/auth.json")));
    add(FileKind::ContainersConfig, config_home.as_ref().map(|d| d.join("containers/auth.json")));
    let docker = set("DOCKER_CONFIG").or_else(|| home.as_ref().map(|h| h.join(".docker")));
    add(FileKind::Docker, docker.map(|d| d.join("config.json")));
    let helm_home = set("HELM_CONFIG_HOME").or_else(|| config_home.as_ref().map(|d| d.join("helm")));
    add(FileKind::Helm, set("HELM_REGISTRY_CONFIG").or_else(|| helm_home.map(|d| d.join("registry/config.json"))));
    files
}

/// A run's credential lookup: explicit settings, then the login files.
/// What is found for a registry is kept for the run, so a credential
/// helper runs once per registry, not once per request.
pub struct Credentials {
    /// Per registry host: username, password, and the settings file.
    settings: BTreeMap<String, (String, String, PathBuf)>,
    flags: Option<(String, String)>,
    files: Vec<LoginFile>,
    found: Mutex<HashMap<String, Arc<Found>>>,
}

impl Credentials {
    pub fn new(
        settings: BTreeMap<String, (String, String, PathBuf)>,
        flags: Option<(String, String)>,
        files: Vec<LoginFile>,
    ) -> Self {
        Credentials { settings, flags, files, found: Mutex::new(HashMap::new()) }
    }

    /// The credential for `registry` (a host[:port] as references name it).
    pub fn find(&self, registry: &str) -> Result<Arc<Found>, CredentialError> {
        let mut found = self.found.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(f) = found.get(registry) {
            return Ok(f.clone());
        }
        let f = Arc::new(self.look_up(registry)?);
        found.insert(registry.to_string(), f.clone());
        Ok(f)
    }

    fn look_up(&self, registry: &str) -> Result<Found, CredentialError> {
        if let Some((user, password, path)) = self.settings.get(registry) {
            return Ok(Found {
                secret: Secret::Basic(user.clone(), password.clone()),
                origin: Some(Origin::Settings(path.clone())),
            });
        }
        if let Some((user, password)) = &self.flags {
            return Ok(Found { secret: Secret::Basic(user.clone(), password.clone()), origin: Some(Origin::Flags) });
        }
        for file in &self.files {
            if let Some(secret) = from_file(file, registry)? {
                return Ok(Found { secret, origin: Some(Origin::File(file.clone())) });
            }
        }
        Ok(Found { secret: Secret::Anonymous, origin: None })
    }
}

/// The helper names a Docker-shaped file gives (for messages: the
/// `docker_credential` crate does not always say which helper failed).
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Helpers {
    #[serde(default)]
    creds_store: Option<String>,
    #[serde(default)]
    cred_helpers: HashMap<String, String>,
}

/// The keys a registry's entry may be stored under: Docker keeps Docker
/// Hub under its legacy v1 URL, podman under `docker.io`; `docker_credential`
/// matches `https://HOST/...` keys to their host itself.
fn keys(registry: &str) -> Vec<&str> {
    match registry {
        "docker.io" | "index.docker.io" | "registry-1.docker.io" => vec!["https://index.docker.io/v1/", "docker.io"],
        other => vec![other],
    }
}

/// A credential helper's "I have nothing for this registry", as
/// docker-credential-helpers words it (`credentials not found in native
/// keychain`).
fn says_not_found(text: &str) -> bool {
    text.to_ascii_lowercase().contains("credentials not found")
}

fn from_file(file: &LoginFile, registry: &str) -> Result<Option<Secret>, CredentialError> {
    use docker_credential::{CredentialRetrievalError as E, DockerCredential};
    let bytes = match std::fs::read(&file.path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(CredentialError::Read { path: file.path.clone(), source }),
    };
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let helpers: Helpers =
        serde_json::from_slice(&bytes).map_err(|source| CredentialError::Json { path: file.path.clone(), source })?;
    let origin = || Origin::File(file.clone());
    for key in keys(registry) {
        let helper = helpers
            .cred_helpers
            .get(key)
            .filter(|h| !h.is_empty())
            .or(helpers.creds_store.as_ref().filter(|h| !h.is_empty()))
            .map(|h| format!("docker-credential-{h}"));
        let helper_name = || helper.clone().unwrap_or_else(|| "docker-credential-?".into());
        match docker_credential::get_credential_from_reader(bytes.as_slice(), key) {
            Ok(DockerCredential::UsernamePassword(user, password)) => return Ok(Some(Secret::Basic(user, password))),
            Ok(DockerCredential::IdentityToken(token)) => return Ok(Some(Secret::IdentityToken(token))),
            Err(E::NoCredentialConfigured) => {}
            Err(E::HelperFailure { helper, stdout, stderr }) => {
                if says_not_found(&stdout) || says_not_found(&stderr) {
                    continue;
                }
                let said = [stderr.trim(), stdout.trim()].into_iter().find(|s| !s.is_empty()).unwrap_or("");
                let detail = if said.is_empty() {
                    "it exited with an error and said nothing".to_string()
                } else {
                    format!("it exited with an error: {}", first_lines(said))
                };
                return Err(CredentialError::Helper { helper, registry: registry.into(), origin: origin(), detail });
            }
            Err(E::MalformedHelperResponse) => {
                return Err(CredentialError::Helper {
                    helper: helper_name(),
                    registry: registry.into(),
                    origin: origin(),
                    detail:
                        "its answer is not the JSON credentials it should print ({\"Username\": ..., \"Secret\": ...})"
                            .into(),
                })
            }
            Err(E::HelperCommunicationError) => {
                return Err(CredentialError::HelperNotRun {
                    helper: helper_name(),
                    registry: registry.into(),
                    origin: origin(),
                })
            }
            Err(E::ConfigReadError) => {
                // Parsed above as JSON; the crate's own shape is stricter
                // (an `auths` entry that is not an object, say).
                return Err(CredentialError::Entry {
                    registry: registry.into(),
                    origin: origin(),
                    detail: "the file does not have Docker's config.json shape".into(),
                });
            }
            Err(e @ (E::CredentialDecodingError | E::CredentialMismatchError)) => {
                return Err(CredentialError::Entry {
                    registry: registry.into(),
                    origin: origin(),
                    detail: e.to_string(),
                })
            }
            Err(E::ConfigNotFound) => {}
        }
    }
    Ok(None)
}

/// At most three lines of what a helper said.
fn first_lines(text: &str) -> String {
    text.lines().take(3).collect::<Vec<_>>().join(" / ")
}

/// A `Bearer` challenge from a registry's `WWW-Authenticate` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    pub realm: String,
    pub service: Option<String>,
}

/// Parses `Bearer realm="...",service="...",scope="..."`; None for other
/// schemes (Basic).
pub fn parse_bearer(header: &str) -> Option<Challenge> {
    let header = header.trim_start();
    let (scheme, rest) = header.split_once(char::is_whitespace)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let params = parse_params(rest);
    let find = |name: &str| params.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.clone());
    Some(Challenge { realm: find("realm")?, service: find("service") })
}

/// `key=value` and `key="quoted \"value\""` pairs, comma separated.
fn parse_params(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace() || *c == ',') {
            chars.next();
        }
        let key: String = std::iter::from_fn(|| chars.next_if(|c| *c != '=' && *c != ',')).collect();
        if chars.next() != Some('=') {
            return out;
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => value.extend(chars.next()),
                    '"' => break,
                    c => value.push(c),
                }
            }
        } else {
            value.extend(std::iter::from_fn(|| chars.next_if(|c| *c != ',')));
        }
        out.push((key.trim().to_string(), value.trim().to_string()));
    }
}

/// `application/x-www-form-urlencoded` for a few ASCII fields.
fn form(fields: &[(&str, &str)]) -> String {
    fn encode(text: &str) -> String {
        text.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
                b => format!("%{b:02X}"),
            })
            .collect()
    }
    fields.iter().map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect::<Vec<_>>().join("&")
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: Option<String>,
    token: Option<String>,
    expires_in: Option<u64>,
}

/// An access token and when to fetch a new one.
struct Access {
    token: String,
    renew_at: Instant,
}

/// Trades Docker's identity token, an OAuth2 refresh token, for access
/// tokens at the registry's token endpoint, as `docker` does: a POST of
/// `grant_type=refresh_token` with the endpoint's service and the scope
/// wanted (the distribution project's "OAuth2 token" spec), per repository
/// and operation, kept until shortly before they expire.
///
/// Written here because oci-client 0.18 cannot: it sends a
/// `RegistryAuth::Bearer` as the access token itself, for every scope, and
/// asks token endpoints only with a GET carrying basic credentials.
pub struct TokenExchange {
    /// Extra trust roots (`--ca-file`, `caFile`), as oci-client has them.
    roots: Vec<reqwest::Certificate>,
    /// Made at the first exchange: most runs never need it.
    http: std::sync::OnceLock<Result<reqwest::Client, String>>,
    /// Per registry: its challenge (None: it asks for no credentials).
    challenges: tokio::sync::Mutex<HashMap<String, Option<Challenge>>>,
    tokens: tokio::sync::Mutex<BTreeMap<(String, String, RegistryOperation), Access>>,
}

impl TokenExchange {
    pub fn new(roots: Vec<reqwest::Certificate>) -> Self {
        TokenExchange { roots, http: Default::default(), challenges: Default::default(), tokens: Default::default() }
    }

    fn http(&self, registry: &str, url: &str) -> Result<&reqwest::Client, CredentialError> {
        let made = self.http.get_or_init(|| {
            reqwest::Client::builder()
                .tls_certs_merge(self.roots.iter().cloned())
                .connect_timeout(Duration::from_secs(10))
                .read_timeout(Duration::from_secs(60))
                .user_agent(concat!("airlock/", env!("CARGO_PKG_VERSION")))
                .build()
                .map_err(|e| super::registry::error_chain(&e))
        });
        made.as_ref().map_err(|detail| CredentialError::TokenServiceUnreachable {
            registry: registry.into(),
            url: url.into(),
            detail: detail.clone(),
        })
    }

    /// An access token for `repository` of the registry at `base`
    /// (`https://HOST[:PORT]`), for `op`, traded for `refresh`; None when
    /// the registry asks for no credentials at all.
    pub async fn access_token(
        &self,
        base: &str,
        registry: &str,
        repository: &str,
        op: RegistryOperation,
        refresh: &str,
        origin: &Origin,
    ) -> Result<Option<String>, CredentialError> {
        let key = (registry.to_string(), repository.to_string(), op);
        let mut tokens = self.tokens.lock().await;
        if let Some(access) = tokens.get(&key).filter(|a| Instant::now() < a.renew_at) {
            return Ok(Some(access.token.clone()));
        }
        let Some(challenge) = self.challenge(base, registry, origin).await? else { return Ok(None) };
        let scope = match op {
            RegistryOperation::Pull => format!("repository:{repository}:pull"),
            RegistryOperation::Push => format!("repository:{repository}:pull,push"),
        };
        let mut fields = vec![("grant_type", "refresh_token"), ("refresh_token", refresh)];
        if let Some(service) = &challenge.service {
            fields.push(("service", service));
        }
        fields.push(("scope", &scope));
        fields.push(("client_id", "airlock"));
        let unreachable = |e: reqwest::Error| CredentialError::TokenServiceUnreachable {
            registry: registry.into(),
            url: challenge.realm.clone(),
            detail: super::registry::error_chain(&e),
        };
        let answer = self
            .http(registry, &challenge.realm)?
            .post(&challenge.realm)
            .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(form(&fields))
            .send()
            .await
            .map_err(unreachable)?;
        let status = answer.status();
        let body = answer.text().await.map_err(unreachable)?;
        let refused = |detail: String| CredentialError::TokenRefused {
            registry: registry.into(),
            realm: challenge.realm.clone(),
            origin: origin.clone(),
            detail,
        };
        if !status.is_success() {
            return Err(refused(format!("HTTP {}: {}", status.as_u16(), first_lines(body.trim()))));
        }
        let answer: TokenAnswer =
            serde_json::from_str(&body).map_err(|e| refused(format!("its answer is not a token ({e})")))?;
        let token = answer
            .access_token
            .or(answer.token)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| refused("its answer has no access_token".into()))?;
        // The token spec's default lifetime is 60 s; renew with a margin
        // so a request never starts with a token about to lapse.
        let lifetime = Duration::from_secs(answer.expires_in.unwrap_or(60).max(10));
        let renew_at = Instant::now() + lifetime.mul_f32(0.75);
        tokens.insert(key, Access { token: token.clone(), renew_at });
        Ok(Some(token))
    }

    /// The registry's Bearer challenge, from an anonymous `GET /v2/`.
    async fn challenge(
        &self,
        base: &str,
        registry: &str,
        origin: &Origin,
    ) -> Result<Option<Challenge>, CredentialError> {
        let mut challenges = self.challenges.lock().await;
        if let Some(c) = challenges.get(registry) {
            return Ok(c.clone());
        }
        let url = format!("{base}/v2/");
        let answer = self.http(registry, &url)?.get(&url).send().await.map_err(|e| {
            CredentialError::TokenServiceUnreachable {
                registry: registry.into(),
                url: url.clone(),
                detail: super::registry::error_chain(&e),
            }
        })?;
        let challenge = if answer.status() == reqwest::StatusCode::UNAUTHORIZED {
            let found = answer
                .headers()
                .get_all(reqwest::header::WWW_AUTHENTICATE)
                .iter()
                .find_map(|v| v.to_str().ok().and_then(parse_bearer));
            match found {
                Some(c) => Some(c),
                None => {
                    return Err(CredentialError::NoTokenService { registry: registry.into(), origin: origin.clone() })
                }
            }
        } else {
            None
        };
        challenges.insert(registry.to_string(), challenge.clone());
        Ok(challenge)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::extract::State;
    use axum::http::{HeaderMap, StatusCode};
    use axum::response::IntoResponse;
    use std::path::Path;

    fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<OsString> {
        let map: HashMap<String, OsString> = pairs.iter().map(|(k, v)| (k.to_string(), OsString::from(v))).collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn login_files_in_order() {
        let files = login_files(vars(&[("HOME", "/h"), ("XDG_RUNTIME_DIR", "/run/user/7")]));
        let paths: Vec<(FileKind, &Path)> = files.iter().map(|f| (f.kind, f.path.as_path())).collect();
        assert_eq!(
            paths,
            [
                (FileKind::ContainersRuntime, Path::new("/run/user/7/containers/auth.json")),
                (FileKind::ContainersConfig, Path::new("/h/.config/containers/auth.json")),
                (FileKind::Docker, Path::new("/h/.docker/config.json")),
                (FileKind::Helm, Path::new("/h/.config/helm/registry/config.json")),
            ]
        );
        let files = login_files(vars(&[
            ("HOME", "/h"),
            ("REGISTRY_AUTH_FILE", "/a.json"),
            ("XDG_CONFIG_HOME", "/c"),
            ("DOCKER_CONFIG", "/d"),
            ("HELM_CONFIG_HOME", "/helm"),
        ]));
        let paths: Vec<&Path> = files.iter().map(|f| f.path.as_path()).collect();
        assert_eq!(
            paths,
            [
                Path::new("/a.json"),
                Path::new("/c/containers/auth.json"),
                Path::new("/d/config.json"),
                Path::new("/helm/registry/config.json")
            ]
        );
        let files = login_files(vars(&[("HELM_REGISTRY_CONFIG", "/r.json"), ("XDG_CONFIG_HOME", "/c")]));
        assert_eq!(files.last().unwrap().path, Path::new("/r.json"));
    }

    fn file(dir: &Path, name: &str, kind: FileKind, text: &str) -> LoginFile {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        LoginFile { kind, path }
    }

    #[test]
    fn first_source_with_an_entry_wins() {
        let dir = tempfile::tempdir().unwrap();
        // "dXNlcjpwYXNz" is user:pass, "aGVsbTpzM2NyZXQ=" helm:s3cret.
        let podman = file(
            dir.path(),
            "auth.json",
            FileKind::RegistryAuthFile,
            r#"{"auths": {"docker.io": {"auth": "dXNlcjpwYXNz"}}}"#,
        );
        let docker = file(
            dir.path(),
            "config.json",
            FileKind::Docker,
            r#"{"auths": {"https://index.docker.io/v1/": {"auth": "aGVsbTpzM2NyZXQ="}, "r.example:5000": {"identitytoken": "refresh-1"}}}"#,
        );
        let helm =
            file(dir.path(), "helm.json", FileKind::Helm, r#"{"auths": {"h.example": {"auth": "aGVsbTpzM2NyZXQ="}}}"#);
        let missing = LoginFile { kind: FileKind::ContainersRuntime, path: dir.path().join("none.json") };
        let creds =
            Credentials::new(BTreeMap::new(), None, vec![missing, podman.clone(), docker.clone(), helm.clone()]);
        let found = creds.find("docker.io").unwrap();
        assert_eq!(found.secret, Secret::Basic("user".into(), "pass".into()));
        assert_eq!(found.origin, Some(Origin::File(podman)));
        let found = creds.find("r.example:5000").unwrap();
        assert_eq!(found.secret, Secret::IdentityToken("refresh-1".into()));
        assert_eq!(found.origin, Some(Origin::File(docker)));
        assert_eq!(creds.find("h.example").unwrap().origin, Some(Origin::File(helm)));
        assert_eq!(creds.find("elsewhere.example").unwrap().secret, Secret::Anonymous);

        // Explicit settings come first: the registry's own, then the flags.
        let settings = BTreeMap::from([("docker.io".to_string(), ("s".into(), "p".into(), dir.path().join("r.yaml")))]);
        let creds = Credentials::new(settings, Some(("f".into(), "q".into())), login_files(|_| None));
        assert_eq!(creds.find("docker.io").unwrap().secret, Secret::Basic("s".into(), "p".into()));
        assert_eq!(creds.find("other").unwrap().origin, Some(Origin::Flags));
    }

    #[test]
    fn unreadable_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let bad = file(dir.path(), "config.json", FileKind::Docker, "{not json");
        let err = Credentials::new(BTreeMap::new(), None, vec![bad.clone()]).find("r.example").unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "{} is not a registry credentials file airlock can read (JSON as `docker login` writes it)",
                bad.path.display()
            )
        );
        let odd =
            file(dir.path(), "odd.json", FileKind::Docker, r#"{"auths": {"r.example": {"auth": "bm9jb2xvbg=="}}}"#);
        let err = Credentials::new(BTreeMap::new(), None, vec![odd]).find("r.example").unwrap_err().to_string();
        assert!(err.contains("registry r.example") && err.contains("odd.json"), "{err}");
    }

    #[test]
    fn bearer_challenges() {
        assert_eq!(
            parse_bearer(
                r#"Bearer realm="https://auth.example/token",service="reg.example",scope="repository:a/b:pull""#
            ),
            Some(Challenge { realm: "https://auth.example/token".into(), service: Some("reg.example".into()) })
        );
        assert_eq!(
            parse_bearer(r#"bearer service=x, realm="http://127.0.0.1:1/t\"q""#),
            Some(Challenge { realm: "http://127.0.0.1:1/t\"q".into(), service: Some("x".into()) })
        );
        assert_eq!(parse_bearer(r#"Basic realm="airlock""#), None);
        assert_eq!(parse_bearer("Bearer service=x"), None);
        assert_eq!(
            form(&[("grant_type", "refresh_token"), ("scope", "repository:a/b:pull,push")]),
            "grant_type=refresh_token&scope=repository%3Aa%2Fb%3Apull%2Cpush"
        );
    }

    /// A registry's `/v2/` challenge and a token endpoint, on 127.0.0.1:
    /// it records each form it is sent and grants `access-N`.
    async fn token_service(refresh: &'static str) -> (String, Arc<Mutex<Vec<String>>>, tokio::task::JoinHandle<()>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let realm = format!("{base}/token");
        let app = axum::Router::new()
            .route(
                "/v2/",
                axum::routing::get(move || async move {
                    let challenge = format!(r#"Bearer realm="{realm}",service="test-registry""#);
                    (StatusCode::UNAUTHORIZED, [("WWW-Authenticate", challenge)], "")
                }),
            )
            .route(
                "/token",
                axum::routing::post(
                    move |State(seen): State<Arc<Mutex<Vec<String>>>>, headers: HeaderMap, body: String| async move {
                        let content_type = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
                        assert_eq!(content_type, "application/x-www-form-urlencoded");
                        let mut seen = seen.lock().unwrap();
                        seen.push(body.clone());
                        if !body.contains(&format!("refresh_token={refresh}&")) {
                            return (StatusCode::UNAUTHORIZED, r#"{"error":"invalid_grant"}"#.to_string())
                                .into_response();
                        }
                        let answer =
                            serde_json::json!({"access_token": format!("access-{}", seen.len()), "expires_in": 300});
                        ([("content-type", "application/json")], answer.to_string()).into_response()
                    },
                ),
            )
            .with_state(seen.clone());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        (base, seen, task)
    }

    #[tokio::test]
    async fn identity_tokens_are_exchanged_per_repository_and_operation() {
        let (base, seen, task) = token_service("refresh-abc").await;
        let exchange = TokenExchange::new(Vec::new());
        let origin = Origin::Flags;
        let pull = exchange
            .access_token(&base, "reg", "team/app", RegistryOperation::Pull, "refresh-abc", &origin)
            .await
            .unwrap();
        assert_eq!(pull.as_deref(), Some("access-1"));
        // Kept for the run: asked again, no second request.
        let again = exchange
            .access_token(&base, "reg", "team/app", RegistryOperation::Pull, "refresh-abc", &origin)
            .await
            .unwrap();
        assert_eq!(again.as_deref(), Some("access-1"));
        let push = exchange
            .access_token(&base, "reg", "team/app", RegistryOperation::Push, "refresh-abc", &origin)
            .await
            .unwrap();
        assert_eq!(push.as_deref(), Some("access-2"));
        assert_eq!(
            *seen.lock().unwrap(),
            [
                "grant_type=refresh_token&refresh_token=refresh-abc&service=test-registry&scope=repository%3Ateam%2Fapp%3Apull&client_id=airlock",
                "grant_type=refresh_token&refresh_token=refresh-abc&service=test-registry&scope=repository%3Ateam%2Fapp%3Apull%2Cpush&client_id=airlock",
            ]
        );
        // A refresh token the endpoint refuses: one error naming the
        // registry, the endpoint and where the token came from.
        let err = TokenExchange::new(Vec::new())
            .access_token(&base, "reg", "team/app", RegistryOperation::Pull, "stale", &origin)
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with(&format!(
                "the token service of registry reg ({base}/token) refused the identity token from --username/--password: HTTP 401"
            )),
            "{err}"
        );
        task.abort();
    }

    #[tokio::test]
    async fn basic_only_registries_cannot_take_an_identity_token() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let app = axum::Router::new().route(
            "/v2/",
            axum::routing::get(|| async {
                (StatusCode::UNAUTHORIZED, [("WWW-Authenticate", r#"Basic realm="x""#)], "")
            }),
        );
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        let err = TokenExchange::new(Vec::new())
            .access_token(&base, "reg", "a", RegistryOperation::Pull, "r", &Origin::Flags)
            .await
            .unwrap_err();
        assert!(matches!(err, CredentialError::NoTokenService { .. }), "{err}");
        task.abort();
    }
}
