//! Pulling from registries on the connected side, through `oci-client`:
//! credentials (found by `oci::credentials`, handed to oci-client per
//! request), custom CAs, plain HTTP when asked, bounded retries with
//! backoff, and registry errors turned into sentences that name the image
//! and registry.
//!
//! It speaks the protocol (pull and push requests); what to push where is
//! decided by `destination::registry`.

use super::credentials::{CredentialError, Credentials, Secret, TokenExchange};
use super::digest::Digest;
use super::media;
use crate::cache::Cache;
use futures_util::TryStreamExt;
use oci_client::client::{Certificate, CertificateEncoding, ClientConfig, ClientProtocol};
use oci_client::errors::OciDistributionError;
use oci_client::manifest::OciDescriptor;
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference, RegistryOperation};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("image {image} was not found in registry {registry}")]
    NotFound { image: String, registry: String },
    #[error("registry {registry} refused access to {image} (unauthorized)")]
    Unauthorized { image: String, registry: String },
    #[error("cannot reach registry {registry} for {image}: {detail}")]
    Unreachable { image: String, registry: String, detail: String },
    #[error("the TLS certificate of registry {registry} is not trusted ({detail})")]
    UntrustedCertificate { registry: String, detail: String },
    #[error("registry {registry} did not answer in TLS")]
    NotTls { registry: String },
    #[error("registry {registry} serves HTTPS, not plain HTTP")]
    WantsTls { registry: String },
    #[error("registry {registry} answered with an error for {image}: {detail}")]
    Failed { image: String, registry: String, detail: String },
    #[error("registry {registry} is out of disk space (it could not store {image})")]
    NoSpace { image: String, registry: String },
    #[error("registry {registry} refused content pushed for {image}: it does not match its digest")]
    DigestRejected { image: String, registry: String },
    #[error("content of {image} from {registry} does not match its digest")]
    Corrupt {
        image: String,
        registry: String,
        #[source]
        source: Box<oci_client::errors::DigestError>,
    },
    #[error("registry {registry} answered for {image} with a digest airlock cannot read")]
    BadDigest {
        image: String,
        registry: String,
        #[source]
        source: super::digest::DigestParseError,
    },
    #[error("cannot read registry settings from {path}")]
    ConfigIo {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a registry settings file airlock can read")]
    Config {
        path: PathBuf,
        #[source]
        source: Box<serde_saphyr::Error>,
    },
    #[error("cannot use {path} as a CA certificate")]
    CaFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot use {path} as a CA certificate: it is not a PEM certificate")]
    NotPem { path: PathBuf },
    #[error(transparent)]
    Credentials(#[from] CredentialError),
    #[error("cannot store a blob of {image} in the local cache")]
    Cache {
        image: String,
        #[source]
        source: crate::cache::CacheError,
    },
}

/// Per-registry settings from `--registry-config FILE` (YAML).
#[derive(Deserialize, Debug, Default, Clone)]
#[serde(deny_unknown_fields)]
pub struct RegistriesFile {
    #[serde(default)]
    pub registries: BTreeMap<String, RegistrySettings>,
    /// Mirrors to pull a source registry's images through, in order
    /// (`docker.io: [127.0.0.1:5000/docker.io]`); read by `create` only,
    /// see `oci::mirror`.
    #[serde(default)]
    pub mirrors: BTreeMap<String, Vec<String>>,
}

#[derive(Deserialize, Debug, Default, Clone)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RegistrySettings {
    #[serde(default)]
    pub insecure: bool,
    pub ca_file: Option<PathBuf>,
    pub username: Option<String>,
    pub password: Option<String>,
    /// Name of an environment variable holding the password.
    pub password_env: Option<String>,
}

#[derive(Debug, Default, Clone)]
pub struct RegistryOptions {
    /// Use plain HTTP for every registry.
    pub plain_http: bool,
    pub ca_files: Vec<PathBuf>,
    /// Credentials for every registry that has none in `config_file`
    /// (before the login files, see `oci::credentials`).
    pub username: Option<String>,
    pub password: Option<String>,
    pub config_file: Option<PathBuf>,
    /// Attempts per request for transient errors (connection, 5xx, 429).
    pub attempts: u32,
}

impl RegistrySettings {
    /// Username and password, when both are given (the password inline or
    /// through `passwordEnv`).
    pub fn credentials(&self) -> Option<(String, String)> {
        let password = self.password.clone().or_else(|| self.password_env.as_ref().and_then(|v| std::env::var(v).ok()));
        Some((self.username.clone()?, password?))
    }
}

impl RegistriesFile {
    pub fn load(path: &Path) -> Result<Self, RegistryError> {
        let text =
            std::fs::read_to_string(path).map_err(|source| RegistryError::ConfigIo { path: path.into(), source })?;
        let mut file: RegistriesFile = crate::yaml11::saphyr::from_str(&text)
            .map_err(|e| RegistryError::Config { path: path.into(), source: Box::new(e) })?;
        let base = path.parent().unwrap_or(Path::new("."));
        for settings in file.registries.values_mut() {
            if let Some(ca) = settings.ca_file.as_mut() {
                *ca = base.join(&*ca);
            }
        }
        Ok(file)
    }
}

pub struct Registry {
    client: Client,
    settings: RegistriesFile,
    options: RegistryOptions,
    credentials: Credentials,
    /// Trades identity tokens for access tokens; the same trust roots as
    /// `client`.
    tokens: TokenExchange,
    /// Hosts the settings mark `insecure` (plain HTTP).
    insecure: Vec<String>,
}

fn read_ca(path: &Path) -> Result<Certificate, RegistryError> {
    let data = std::fs::read(path).map_err(|source| RegistryError::CaFile { path: path.into(), source })?;
    if !data.starts_with(b"-----BEGIN") && !String::from_utf8_lossy(&data).contains("-----BEGIN CERTIFICATE") {
        return Err(RegistryError::NotPem { path: path.into() });
    }
    Ok(Certificate { encoding: CertificateEncoding::Pem, data })
}

impl Registry {
    pub fn new(options: RegistryOptions) -> Result<Self, RegistryError> {
        let settings = match &options.config_file {
            Some(p) => RegistriesFile::load(p)?,
            None => RegistriesFile::default(),
        };
        let mut certs = Vec::new();
        let mut roots = Vec::new();
        for ca in options.ca_files.iter().chain(settings.registries.values().filter_map(|s| s.ca_file.as_ref())) {
            let cert = read_ca(ca)?;
            roots.extend(
                reqwest::Certificate::from_pem_bundle(&cert.data)
                    .map_err(|_| RegistryError::NotPem { path: ca.clone() })?,
            );
            certs.push(cert);
        }
        let insecure: Vec<String> =
            settings.registries.iter().filter(|(_, s)| s.insecure).map(|(h, _)| h.clone()).collect();
        let protocol = if options.plain_http {
            ClientProtocol::Http
        } else if insecure.is_empty() {
            ClientProtocol::Https
        } else {
            ClientProtocol::HttpsExcept(insecure.clone())
        };
        let config = ClientConfig {
            protocol,
            extra_root_certificates: certs,
            connect_timeout: Some(Duration::from_secs(10)),
            read_timeout: Some(Duration::from_secs(60)),
            // Without a resolver oci-client refuses indexes in high-level
            // calls; airlock walks indexes itself, so none is needed.
            platform_resolver: None,
            user_agent: concat!("airlock/", env!("CARGO_PKG_VERSION")),
            // One streaming PUT per blob: the fewest round trips, and the
            // registry checks the digest of what it received.
            use_monolithic_push: true,
            ..Default::default()
        };
        let explicit = match &options.config_file {
            Some(path) => settings
                .registries
                .iter()
                .filter_map(|(host, s)| s.credentials().map(|(u, p)| (host.clone(), (u, p, path.clone()))))
                .collect(),
            None => BTreeMap::new(),
        };
        let flags = options.username.clone().zip(options.password.clone());
        let credentials =
            Credentials::new(explicit, flags, super::credentials::login_files(|name| std::env::var_os(name)));
        Ok(Registry {
            client: Client::new(config),
            settings,
            options,
            credentials,
            tokens: TokenExchange::new(roots),
            insecure,
        })
    }

    /// The `mirrors:` of the registries config, as written.
    pub fn configured_mirrors(&self) -> &BTreeMap<String, Vec<String>> {
        &self.settings.mirrors
    }

    /// The credentials for a reference's registry, handed to oci-client so
    /// it can log in as each request needs. An identity token becomes an
    /// access token for this repository and operation, put in oci-client's
    /// token cache before each request (without a request of its own).
    async fn credentials(&self, image: &Reference, op: RegistryOperation) -> Result<RegistryAuth, RegistryError> {
        let found = self.credentials.find(image.registry())?;
        let auth = match &found.secret {
            Secret::Anonymous => RegistryAuth::Anonymous,
            Secret::Basic(user, password) => RegistryAuth::Basic(user.clone(), password.clone()),
            Secret::IdentityToken(refresh) => {
                let origin = found.origin.as_ref().expect("a found secret has an origin");
                let host = image.resolve_registry();
                let scheme = if self.options.plain_http || self.insecure.iter().any(|h| h == image.registry()) {
                    "http"
                } else {
                    "https"
                };
                let base = format!("{scheme}://{host}");
                match self.tokens.access_token(&base, host, image.repository(), op, refresh, origin).await? {
                    Some(token) => {
                        let auth = RegistryAuth::Bearer(token);
                        // With a Bearer auth oci-client only files the token.
                        let _ = self.client.auth(image, &auth, op).await;
                        auth
                    }
                    None => RegistryAuth::Anonymous,
                }
            }
        };
        self.client.store_auth_if_needed(image.registry(), &auth).await;
        Ok(auth)
    }

    fn classify(&self, image: &Reference, err: OciDistributionError) -> (RegistryError, bool) {
        let registry = image.registry().to_string();
        let image_name = image.whole();
        let failed =
            |detail: String| RegistryError::Failed { image: image_name.clone(), registry: registry.clone(), detail };
        match err {
            OciDistributionError::ImageManifestNotFoundError(_) => {
                (RegistryError::NotFound { image: image_name, registry }, false)
            }
            OciDistributionError::UnauthorizedError { .. } | OciDistributionError::AuthenticationFailure(_) => {
                (RegistryError::Unauthorized { image: image_name, registry }, false)
            }
            e if is_digest_invalid(&e) => (RegistryError::DigestRejected { image: image_name, registry }, false),
            e if is_out_of_space(&e) => (RegistryError::NoSpace { image: image_name, registry }, false),
            OciDistributionError::RegistryError { envelope, .. } => {
                let codes: Vec<String> = envelope.errors.iter().map(|e| format!("{:?}", e.code)).collect();
                let text = envelope.errors.iter().map(|e| e.message.clone()).collect::<Vec<_>>().join("; ");
                if codes
                    .iter()
                    .any(|c| c == "ManifestUnknown" || c == "NameUnknown" || c == "NotFound" || c == "BlobUnknown")
                {
                    (RegistryError::NotFound { image: image_name, registry }, false)
                } else if codes.iter().any(|c| c == "Unauthorized" || c == "Denied") {
                    (RegistryError::Unauthorized { image: image_name, registry }, false)
                } else {
                    let transient = codes.iter().any(|c| c == "Toomanyrequests");
                    (failed(format!("{} ({text})", codes.join(", "))), transient)
                }
            }
            // Go's servers (docker-registry among them) answer plain HTTP on
            // a TLS port with this 400.
            OciDistributionError::ServerError { code: 400, message, .. }
                if message.contains("HTTP request to an HTTPS server") =>
            {
                (RegistryError::WantsTls { registry }, false)
            }
            OciDistributionError::ServerError { code, message, .. } => match code {
                404 => (RegistryError::NotFound { image: image_name, registry }, false),
                401 | 403 => (RegistryError::Unauthorized { image: image_name, registry }, false),
                c => (failed(format!("HTTP {c}: {}", message.trim())), c >= 500 || c == 429),
            },
            OciDistributionError::DigestError(e) => {
                (RegistryError::Corrupt { image: image_name, registry, source: Box::new(e) }, true)
            }
            OciDistributionError::RequestError(e) if matches!(e.status().map(|s| s.as_u16()), Some(401 | 403)) => {
                (RegistryError::Unauthorized { image: image_name, registry }, false)
            }
            OciDistributionError::RequestError(e) => {
                let detail = error_chain(&e);
                if detail.contains("is corrupt") {
                    // Our own upload stream found bad content: retrying cannot help.
                    (failed(detail), false)
                } else if detail.contains("certificate") || detail.contains("UnknownIssuer") {
                    (RegistryError::UntrustedCertificate { registry, detail }, false)
                } else if detail.contains("InvalidContentType") {
                    // rustls met a reply that is not a TLS record: plain HTTP.
                    (RegistryError::NotTls { registry }, false)
                } else if e.is_connect() || e.is_timeout() || e.is_request() || e.is_body() {
                    (RegistryError::Unreachable { image: image_name, registry, detail }, true)
                } else {
                    (failed(detail), false)
                }
            }
            // Mid-stream failures (connection reset, digest mismatch at the
            // end of a stream) are worth another attempt.
            OciDistributionError::IoError(e) => (failed(error_chain(&e)), true),
            other => (failed(other.to_string()), false),
        }
    }

    /// Runs `op` up to `attempts` times while it fails with transient errors.
    async fn with_retries<T, F, Fut>(&self, image: &Reference, mut op: F) -> Result<T, RegistryError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, OciDistributionError>>,
    {
        let attempts = self.options.attempts.max(1);
        let mut delay = Duration::from_millis(200);
        let mut attempt = 1;
        loop {
            match op().await {
                Ok(v) => return Ok(v),
                Err(e) => {
                    let (err, transient) = self.classify(image, e);
                    if !transient || attempt >= attempts {
                        return Err(err);
                    }
                    tokio::time::sleep(delay).await;
                    delay *= 4;
                    attempt += 1;
                }
            }
        }
    }

    /// Fetches a manifest or index as raw bytes, with its digest and media type.
    pub async fn manifest(&self, image: &Reference) -> Result<(Vec<u8>, Digest, String), RegistryError> {
        let auth = self.credentials(image, RegistryOperation::Pull).await?;
        let (bytes, digest) =
            self.with_retries(image, || self.client.pull_manifest_raw(image, &auth, media::ACCEPTED_MANIFESTS)).await?;
        let digest: Digest = digest.parse().map_err(|source| RegistryError::BadDigest {
            image: image.whole(),
            registry: image.registry().into(),
            source,
        })?;
        let media_type = super::manifest::media_type_of(&bytes, None);
        Ok((bytes.to_vec(), digest, media_type))
    }

    /// The referrers of `digest` in `image`'s repository (OCI 1.1: the
    /// manifests whose `subject` is that digest): through the referrers API,
    /// or, when the registry has none (it answers 404, as Debian's
    /// docker-registry 2.8 does), the `sha256-<hex>` tag holding an index of
    /// them. None is an empty list. Sorted by digest.
    pub async fn referrers(&self, image: &Reference, digest: &Digest) -> Result<Vec<Referrer>, RegistryError> {
        let subject =
            Reference::with_digest(image.registry().to_string(), image.repository().to_string(), digest.to_string());
        self.credentials(&subject, RegistryOperation::Pull).await?;
        let index = self.with_retries(&subject, || self.client.pull_referrers(&subject, None)).await?;
        let mut found = Vec::new();
        for entry in index.manifests {
            let digest: Digest = entry.digest.parse().map_err(|source| RegistryError::BadDigest {
                image: subject.whole(),
                registry: subject.registry().into(),
                source,
            })?;
            found.push(Referrer {
                digest,
                media_type: entry.media_type,
                size: u64::try_from(entry.size).unwrap_or(0),
                artifact_type: entry.artifact_type,
                annotations: entry.annotations.unwrap_or_default(),
            });
        }
        found.sort_by(|a, b| a.digest.cmp(&b.digest));
        found.dedup_by(|a, b| a.digest == b.digest);
        Ok(found)
    }

    /// Streams a blob into a fresh sink per attempt. The stream is checked
    /// against the digest as it arrives; a sink's `finish` runs only for a
    /// complete, verified blob. Returns the bytes received.
    pub async fn fetch_blob(
        &self,
        image: &Reference,
        digest: &Digest,
        size: u64,
        new_sink: &(dyn Fn() -> std::io::Result<Box<dyn BlobSink>> + Sync),
        on_bytes: &(dyn Fn(u64) + Send + Sync),
    ) -> Result<u64, RegistryError> {
        self.credentials(image, RegistryOperation::Pull).await?;
        let descriptor = OciDescriptor { digest: digest.to_string(), size: size as i64, ..Default::default() };
        self.with_retries(image, || async {
            let mut stream = self.client.pull_blob_stream(image, &descriptor).await?;
            let mut sink = new_sink()?;
            let mut received = 0u64;
            while let Some(chunk) = stream.try_next().await? {
                // Sinks write to the page cache (cache file, bundle slot):
                // microseconds per chunk, not worth a thread hop.
                sink.write(&chunk)?;
                received += chunk.len() as u64;
                on_bytes(chunk.len() as u64);
            }
            sink.finish()?;
            Ok(received)
        })
        .await
    }

    /// Downloads a blob into the cache unless it is already there.
    pub async fn blob_to_cache(
        &self,
        image: &Reference,
        digest: &Digest,
        size: u64,
        cache: &Cache,
    ) -> Result<u64, RegistryError> {
        if cache.contains(digest) {
            return Ok(0);
        }
        let new_sink = || -> std::io::Result<Box<dyn BlobSink>> {
            Ok(Box::new(cache.writer(digest).map_err(std::io::Error::other)?))
        };
        self.fetch_blob(image, digest, size, &new_sink, &|_| {}).await
    }
}

impl Registry {
    /// Authenticates for pull and push on each repository, one at a time,
    /// before concurrent requests start: oci-client otherwise races several
    /// logins at once and sends a request without credentials when one fails.
    pub async fn login(&self, repos: &[Reference]) -> Result<(), RegistryError> {
        for repo in repos {
            for op in [RegistryOperation::Pull, RegistryOperation::Push] {
                let auth = self.credentials(repo, op).await?;
                self.with_retries(repo, || self.client.auth(repo, &auth, op)).await?;
            }
        }
        Ok(())
    }

    /// Does `repo` (a reference naming the target repository) hold the blob?
    pub async fn blob_exists(&self, repo: &Reference, digest: &Digest) -> Result<bool, RegistryError> {
        self.credentials(repo, RegistryOperation::Pull).await?;
        let digest = digest.to_string();
        self.with_retries(repo, || self.client.blob_exists(repo, &digest)).await
    }

    /// Asks the registry to link a blob it holds in `from` into `repo`.
    /// Returns false when the registry declined (it then has to be uploaded).
    pub async fn mount_blob(&self, repo: &Reference, from: &Reference, digest: &Digest) -> Result<bool, RegistryError> {
        self.credentials(repo, RegistryOperation::Push).await?;
        match self.client.mount_blob(repo, from, &digest.to_string()).await {
            Ok(()) => Ok(true),
            Err(OciDistributionError::SpecViolationError(_)) | Err(OciDistributionError::RegistryNoLocationError) => {
                Ok(false)
            }
            Err(e) => {
                let (err, _) = self.classify(repo, e);
                match err {
                    // A mount is only a shortcut: when the registry will not
                    // do it (a token scoped to the target repository alone
                    // is refused for the source), the blob is uploaded.
                    RegistryError::Failed { .. }
                    | RegistryError::NotFound { .. }
                    | RegistryError::Unauthorized { .. } => Ok(false),
                    other => Err(other),
                }
            }
        }
    }

    /// Uploads a blob from a stream made fresh for each attempt.
    pub async fn push_blob<S, F>(
        &self,
        repo: &Reference,
        digest: &Digest,
        size: u64,
        new_stream: F,
    ) -> Result<(), RegistryError>
    where
        F: Fn() -> S,
        S: futures_util::Stream<Item = oci_client::errors::Result<bytes::Bytes>> + Send + 'static,
    {
        self.credentials(repo, RegistryOperation::Push).await?;
        let digest = digest.to_string();
        self.with_retries(repo, || self.client.push_blob_stream(repo, new_stream(), &digest, Some(size))).await?;
        Ok(())
    }

    /// Whether the registry refuses a blob whose content does not match the
    /// digest it is pushed under, tried on `repo` with a few bytes pushed
    /// under a made-up digest, the same way blobs are pushed. Only a
    /// DIGEST_INVALID answer counts as yes. A registry that takes the bytes
    /// keeps them under a random digest nothing refers to (its garbage
    /// collection removes them).
    pub async fn refuses_wrong_digests(&self, repo: &Reference) -> bool {
        const CONTENT: &[u8] = b"airlock: a probe whose content does not match its digest\n";
        let mut nonce = [0u8; 16];
        if getrandom::fill(&mut nonce).is_err() {
            return false;
        }
        let claimed = Digest::of(&[CONTENT, &nonce[..]].concat()).to_string();
        if self.credentials(repo, RegistryOperation::Push).await.is_err() {
            return false;
        }
        match self.client.push_blob(repo, CONTENT, &claimed).await {
            Ok(_) => false,
            Err(e) => is_digest_invalid(&e),
        }
    }

    /// The digest the registry holds under `target` (tag or digest), if any.
    /// One GET of the (small) manifest: oci-client's digest lookup sends a
    /// HEAD and then a GET whenever no digest header comes back, as for
    /// every 404, and a registry with htpasswd auth spends a bcrypt check
    /// on each request. (Docker Hub would count a GET of an existing tag as
    /// a pull; push targets are private registries.)
    pub async fn manifest_digest(&self, target: &Reference) -> Result<Option<Digest>, RegistryError> {
        match self.manifest(target).await {
            Ok((_, digest, _)) => Ok(Some(digest)),
            Err(RegistryError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Uploads a manifest byte for byte, so its digest is unchanged.
    pub async fn push_manifest(&self, target: &Reference, bytes: &[u8], media_type: &str) -> Result<(), RegistryError> {
        self.credentials(target, RegistryOperation::Push).await?;
        let content_type = reqwest::header::HeaderValue::from_str(media_type).map_err(|_| RegistryError::Failed {
            image: target.whole(),
            registry: target.registry().into(),
            detail: format!("bad media type {media_type}"),
        })?;
        let body = bytes::Bytes::copy_from_slice(bytes);
        self.with_retries(target, || self.client.push_manifest_raw(target, body.clone(), content_type.clone())).await?;
        Ok(())
    }
}

/// One entry of a referrers list: a manifest that refers to another
/// (its `subject`), as the registry describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct Referrer {
    pub digest: Digest,
    pub media_type: String,
    pub size: u64,
    pub artifact_type: Option<String>,
    pub annotations: BTreeMap<String, String>,
}

/// Where a downloaded blob goes.
pub trait BlobSink: Send {
    fn write(&mut self, chunk: &[u8]) -> std::io::Result<()>;
    fn finish(self: Box<Self>) -> std::io::Result<()>;
}

impl BlobSink for crate::cache::CacheWriter {
    fn write(&mut self, chunk: &[u8]) -> std::io::Result<()> {
        crate::cache::CacheWriter::write(self, chunk)
    }
    fn finish(self: Box<Self>) -> std::io::Result<()> {
        self.commit().map_err(std::io::Error::other)
    }
}

/// What a registry said in an error answer, whether oci-client parsed its
/// errors or passed on the raw body of an HTTP error.
fn answer_text(err: &OciDistributionError) -> Option<String> {
    match err {
        OciDistributionError::ServerError { message, .. } => Some(message.clone()),
        OciDistributionError::RegistryError { envelope, .. } => serde_json::to_string(envelope).ok(),
        _ => None,
    }
}

/// The registry's DIGEST_INVALID answer: what it sends when content does
/// not match the digest it was pushed under.
fn is_digest_invalid(err: &OciDistributionError) -> bool {
    answer_text(err).is_some_and(|text| text.contains("\"DIGEST_INVALID\""))
}

/// A registry failing for want of disk space. The distribution spec has no
/// code for it: docker-registry answers 500 UNKNOWN with the driver's error
/// (errno 28, ENOSPC) in the detail, others say so in words.
fn is_out_of_space(err: &OciDistributionError) -> bool {
    answer_text(err).map(|text| text.to_ascii_lowercase()).is_some_and(|text| {
        text.contains("\"err\":28}") || text.contains("no space left on device") || text.contains("enospc")
    })
}

pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut parts = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unusable_files_keep_their_cause() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.pem");
        let err = read_ca(&missing).err().unwrap();
        assert_eq!(err.to_string(), format!("cannot use {} as a CA certificate", missing.display()));
        assert!(std::error::Error::source(&err).unwrap().downcast_ref::<std::io::Error>().is_some());
        let settings = dir.path().join("registries.yaml");
        std::fs::write(&settings, "registries: {r.example: {nope: 1}}\n").unwrap();
        let err = RegistriesFile::load(&settings).unwrap_err();
        assert_eq!(err.to_string(), format!("{} is not a registry settings file airlock can read", settings.display()));
        let cause = std::error::Error::source(&err).unwrap().to_string();
        assert!(cause.contains("nope"), "{cause}");
        // Both are the user's to fix (exit 2).
        assert_eq!(crate::diagnosis::diagnose(&anyhow::Error::from(err)).exit_code, crate::diagnosis::USAGE);
    }
}
