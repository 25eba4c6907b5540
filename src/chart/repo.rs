//! Charts from classic Helm repositories (`https://.../index.yaml`): find
//! the pinned version in the index, download the archive, check it against
//! the digest the index gives. Used on the connected side only. What
//! credentials go where is `repo_auth`'s to say.

use super::repo_auth::{helm_repositories_file, host_key, RepoAuth};
use crate::oci::digest::Digest;
use crate::oci::registry::RegistryOptions;
use crate::yaml11::saphyr;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum RepoError {
    #[error("cannot fetch {url}: {detail}")]
    Fetch { url: String, detail: String },
    #[error("{url} is not a Helm repository index: {detail}")]
    BadIndex { url: String, detail: String },
    #[error("chart `{chart}` version {version} is not in {url} (versions there: {available})")]
    NoVersion { url: String, chart: String, version: String, available: String },
    #[error(
        "chart archive {url} does not match the digest in the repository index (expected {expected}, got {actual})"
    )]
    DigestMismatch { url: String, expected: String, actual: Digest },
    #[error("cannot read CA file {path}: {detail}")]
    Ca { path: PathBuf, detail: String },
    #[error("chart repository {repo} refused {url} (HTTP {status}); {hint}")]
    Unauthorized { repo: String, url: String, status: u16, hint: String },
    #[error("cannot read chart repository settings from {path}: {detail}")]
    Settings { path: PathBuf, detail: String },
    #[error("{path} gives a client certificate for chart repository {repo}; airlock does not support client certificates for chart repositories: use username and password")]
    ClientCertificate { repo: String, path: PathBuf },
}

#[derive(Deserialize)]
struct Index {
    #[serde(default)]
    entries: BTreeMap<String, Vec<Entry>>,
}

#[derive(Deserialize)]
struct Entry {
    version: String,
    #[serde(default)]
    urls: Vec<String>,
    #[serde(default)]
    digest: Option<String>,
}

/// A repository's `index.yaml`, fetched from `url`.
fn parse_index(text: &str, url: &str) -> Result<Index, RepoError> {
    saphyr::from_str(text)
        .map_err(|e| RepoError::BadIndex { url: url.to_string(), detail: e.without_snippet().to_string() })
}

pub struct RepoClient {
    http: reqwest::Client,
    auth: RepoAuth,
}

impl RepoClient {
    /// A client trusting `--ca-file` and the CAs of the settings, with the
    /// credentials of `--registry-config` and Helm's repositories file.
    pub fn new(options: &RegistryOptions) -> Result<Self, RepoError> {
        let auth = RepoAuth::load(options.config_file.as_deref(), helm_repositories_file())?;
        let mut certs = Vec::new();
        for path in options.ca_files.iter().chain(auth.ca_files()) {
            let pem = std::fs::read(path).map_err(|e| RepoError::Ca { path: path.clone(), detail: e.to_string() })?;
            certs.push(
                reqwest::Certificate::from_pem(&pem)
                    .map_err(|e| RepoError::Ca { path: path.clone(), detail: e.to_string() })?,
            );
        }
        let http = reqwest::Client::builder()
            .tls_certs_merge(certs)
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(300))
            .user_agent(concat!("airlock/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| RepoError::Fetch { url: String::new(), detail: e.to_string() })?;
        Ok(RepoClient { http, auth })
    }

    /// GET of `url`, a file of the repository at `repo`.
    async fn get(&self, repo: &str, url: &str) -> Result<Vec<u8>, RepoError> {
        let fetch = |e: reqwest::Error| RepoError::Fetch {
            url: url.to_string(),
            detail: crate::oci::registry::error_chain(&e),
        };
        let credentials = self.auth.for_url(repo, url)?;
        let mut request = self.http.get(url);
        if let Some(c) = &credentials {
            request = request.basic_auth(&c.username, Some(&c.password));
        }
        let response = request.send().await.map_err(fetch)?;
        let status = response.status();
        if status == reqwest::StatusCode::UNAUTHORIZED || status == reqwest::StatusCode::FORBIDDEN {
            let hint = match &credentials {
                Some(c) => format!("check the credentials for it in {}", c.from.display()),
                None => self.login_hint(repo, url),
            };
            return Err(RepoError::Unauthorized { repo: repo.into(), url: url.into(), status: status.as_u16(), hint });
        }
        if !status.is_success() {
            return Err(RepoError::Fetch { url: url.to_string(), detail: format!("HTTP {status}") });
        }
        Ok(response.bytes().await.map_err(fetch)?.to_vec())
    }

    async fn index(&self, repo: &str) -> Result<(Index, String), RepoError> {
        let index_url = format!("{repo}/index.yaml");
        let text = self.get(repo, &index_url).await?;
        let text = String::from_utf8(text)
            .map_err(|_| RepoError::BadIndex { url: index_url.clone(), detail: "not UTF-8".into() })?;
        let index = parse_index(&text, &index_url)?;
        Ok((index, index_url))
    }

    /// The versions of `chart` the repository at `repo` offers.
    pub async fn versions(&self, repo: &str, chart: &str) -> Result<Vec<String>, RepoError> {
        let (index, _) = self.index(repo).await?;
        Ok(index.entries.get(chart).map(|e| e.iter().map(|e| e.version.clone()).collect()).unwrap_or_default())
    }

    /// Downloads `chart` at exactly `version` from the repository at `repo`.
    pub async fn fetch(&self, repo: &str, chart: &str, version: &str) -> Result<Vec<u8>, RepoError> {
        let (index, index_url) = self.index(repo).await?;
        let versions = index.entries.get(chart).map(Vec::as_slice).unwrap_or_default();
        let entry = versions.iter().find(|e| e.version == version).ok_or_else(|| RepoError::NoVersion {
            url: repo.to_string(),
            chart: chart.to_string(),
            version: version.to_string(),
            available: if versions.is_empty() {
                "none".into()
            } else {
                versions.iter().map(|e| e.version.as_str()).collect::<Vec<_>>().join(", ")
            },
        })?;
        let url = entry.urls.first().ok_or_else(|| RepoError::BadIndex {
            url: index_url.clone(),
            detail: format!("{chart} {version} has no urls"),
        })?;
        let url = if url.contains("://") { url.clone() } else { format!("{repo}/{}", url.trim_start_matches("./")) };
        let archive = self.get(repo, &url).await?;
        if let Some(expected) = &entry.digest {
            let actual = Digest::of(&archive);
            if actual.hex() != expected.trim_start_matches("sha256:") {
                return Err(RepoError::DigestMismatch { url, expected: expected.clone(), actual });
            }
        }
        Ok(archive)
    }

    /// How to give credentials for a repository that asked for them.
    fn login_hint(&self, repo: &str, url: &str) -> String {
        let host = reqwest::Url::parse(url).ok().as_ref().and_then(host_key).unwrap_or_else(|| repo.to_string());
        let helm = helm_repositories_file().map(|p| format!(" at {}", p.display())).unwrap_or_default();
        format!(
            "it needs a login: run `helm repo add NAME {repo} --username USER` (airlock reads Helm's repositories file{helm}), or give `username` and `passwordEnv` for {host} under `registries:` in --registry-config"
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An index.yaml with long commented-out blocks (withdrawn charts and
    /// versions, between a key and its value too) is read, as Helm reads it;
    /// a mistake after them is reported on its own line.
    #[test]
    fn index_with_long_commented_out_blocks_is_read() {
        let commented = |indent: &str, n: usize| -> String {
            (0..n)
                .map(|i| format!("{indent}# - version: 0.{i}.0\n{indent}#   urls: [charts/old-0.{i}.0.tgz]\n"))
                .collect()
        };
        let text = format!(
            "apiVersion: v1\nentries:\n{}  redis:\n{}    - version: 23.1.1\n      urls:\n{}        - charts/redis-23.1.1.tgz\n      digest: abc\n{}    - version: 22.0.0\n      urls: [charts/redis-22.0.0.tgz]\n{}generated: \"2026-01-01T00:00:00Z\"\n",
            commented("  ", 50),
            commented("    ", 50),
            commented("        ", 50),
            commented("    ", 50),
            commented("", 50),
        );
        let index = parse_index(&text, "https://charts.example/index.yaml").unwrap();
        let redis = &index.entries["redis"];
        let versions: Vec<_> = redis.iter().map(|e| e.version.as_str()).collect();
        assert_eq!(versions, ["23.1.1", "22.0.0"]);
        assert_eq!(
            (redis[0].urls.as_slice(), redis[0].digest.as_deref()),
            (&["charts/redis-23.1.1.tgz".to_string()][..], Some("abc"))
        );

        let broken = text.replace("      digest: abc", "      digest: [abc");
        let line = broken.lines().position(|l| l.contains("[abc")).unwrap() + 1;
        let err = parse_index(&broken, "https://charts.example/index.yaml").err().unwrap().to_string();
        assert!(
            err.starts_with("https://charts.example/index.yaml is not a Helm repository index: ")
                && err.contains(&format!("at line {line}, ")),
            "{err}"
        );
    }
}
