//! Who may read a classic Helm chart repository: basic-auth credentials and
//! CAs, from `--registry-config` (by host, like registries) and from Helm's
//! own `repositories.yaml` (by repository URL, as `helm repo add --username`
//! wrote them). It decides what is sent where; it makes no requests.

use super::repo::RepoError;
use crate::oci::registry::RegistriesFile;
use crate::yaml11::saphyr;
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// Basic-auth credentials, and the file they came from (for errors).
#[derive(Debug, Clone)]
pub struct Credentials {
    pub username: String,
    pub password: String,
    pub from: PathBuf,
}

/// Helm's `repositories.yaml`; fields airlock does not use are ignored, as
/// Helm writes several.
#[derive(Deserialize, Default)]
struct HelmRepositories {
    #[serde(default)]
    repositories: Vec<HelmRepository>,
}

#[derive(Deserialize)]
struct HelmRepository {
    url: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default, rename = "caFile")]
    ca_file: String,
    #[serde(default, rename = "certFile")]
    cert_file: String,
    /// Send the credentials to archive URLs on other hosts too.
    #[serde(default)]
    pass_credentials_all: bool,
}

#[derive(Default)]
pub struct RepoAuth {
    /// From `--registry-config`: host[:port] -> credentials for any URL there.
    by_host: Vec<(String, Credentials)>,
    helm: HelmRepositories,
    helm_file: Option<PathBuf>,
    ca_files: Vec<PathBuf>,
}

/// Where Helm keeps its repositories: `HELM_REPOSITORY_CONFIG`, else
/// `repositories.yaml` in Helm's configuration directory.
pub fn helm_repositories_file() -> Option<PathBuf> {
    if let Some(file) = std::env::var_os("HELM_REPOSITORY_CONFIG") {
        return Some(file.into());
    }
    let dir = std::env::var_os("HELM_CONFIG_HOME").map(PathBuf::from).or_else(|| {
        std::env::var_os("XDG_CONFIG_HOME")
            .map(|d| PathBuf::from(d).join("helm"))
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config/helm")))
    })?;
    Some(dir.join("repositories.yaml"))
}

/// `host` or `host:port` of a URL, as `--registry-config` keys registries.
pub(super) fn host_key(url: &reqwest::Url) -> Option<String> {
    let host = url.host_str()?;
    Some(match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_string(),
    })
}

fn same_origin(a: &reqwest::Url, b: &reqwest::Url) -> bool {
    a.scheme() == b.scheme() && a.host_str() == b.host_str() && a.port_or_known_default() == b.port_or_known_default()
}

impl RepoAuth {
    /// Reads `--registry-config` (if given) and Helm's repositories file (if
    /// there is one at `helm_file`).
    pub fn load(registry_config: Option<&Path>, helm_file: Option<PathBuf>) -> Result<Self, RepoError> {
        let mut auth = RepoAuth::default();
        if let Some(path) = registry_config {
            // The cause, whole: the message names the file already.
            let file = RegistriesFile::load(path).map_err(|e| RepoError::Settings {
                path: path.into(),
                detail: std::error::Error::source(&e).map_or_else(|| e.to_string(), crate::oci::registry::error_chain),
            })?;
            for (host, settings) in file.registries {
                auth.ca_files.extend(settings.ca_file.clone());
                if let Some((username, password)) = settings.credentials() {
                    auth.by_host.push((host, Credentials { username, password, from: path.into() }));
                }
            }
        }
        if let Some(path) = helm_file.filter(|p| p.is_file()) {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| RepoError::Settings { path: path.clone(), detail: e.to_string() })?;
            auth.helm = saphyr::from_str(&text)
                .map_err(|e| RepoError::Settings { path: path.clone(), detail: e.without_snippet().to_string() })?;
            let base = path.parent().unwrap_or(Path::new("."));
            auth.ca_files
                .extend(auth.helm.repositories.iter().filter(|r| !r.ca_file.is_empty()).map(|r| base.join(&r.ca_file)));
            auth.helm_file = Some(path);
        }
        Ok(auth)
    }

    /// CA files the settings name, to trust besides `--ca-file`.
    pub fn ca_files(&self) -> &[PathBuf] {
        &self.ca_files
    }

    /// The credentials to send with a GET of `url`, a file of the repository
    /// at `repo`. A host's entry in `--registry-config` covers every URL on
    /// it. A Helm entry covers its repository's origin, and archives
    /// elsewhere only with `pass_credentials_all`, as Helm does: an index may
    /// point anywhere, and credentials must not follow it there.
    pub fn for_url(&self, repo: &str, url: &str) -> Result<Option<Credentials>, RepoError> {
        let (Ok(repo_url), Ok(target)) = (reqwest::Url::parse(repo), reqwest::Url::parse(url)) else {
            return Ok(None);
        };
        if let Some(key) = host_key(&target) {
            if let Some((_, credentials)) = self.by_host.iter().find(|(host, _)| *host == key) {
                return Ok(Some(credentials.clone()));
            }
        }
        let wanted = repo.trim_end_matches('/');
        let Some(entry) = self.helm.repositories.iter().find(|r| r.url.trim_end_matches('/') == wanted) else {
            return Ok(None);
        };
        let from = self.helm_file.clone().unwrap_or_default();
        if !entry.cert_file.is_empty() {
            return Err(RepoError::ClientCertificate { repo: repo.into(), path: from });
        }
        if entry.username.is_empty() || !(entry.pass_credentials_all || same_origin(&repo_url, &target)) {
            return Ok(None);
        }
        Ok(Some(Credentials { username: entry.username.clone(), password: entry.password.clone(), from }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn helm_file(dir: &Path, text: &str) -> PathBuf {
        let path = dir.join("repositories.yaml");
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn helm_credentials_stay_with_their_repository_origin() {
        let dir = tempfile::tempdir().unwrap();
        let file = helm_file(
            dir.path(),
            "apiVersion: \"\"\ngenerated: \"0001-01-01T00:00:00Z\"\nrepositories:\n- name: a\n  url: https://charts.example/stable/\n  username: u\n  password: p\n  insecure_skip_tls_verify: false\n- name: b\n  url: https://other.example\n  username: v\n  password: q\n  pass_credentials_all: true\n",
        );
        let auth = RepoAuth::load(None, Some(file)).unwrap();
        let repo = "https://charts.example/stable";
        let sent = |repo: &str, url: &str| auth.for_url(repo, url).unwrap().map(|c| c.username);
        assert_eq!(sent(repo, "https://charts.example/stable/index.yaml").as_deref(), Some("u"));
        assert_eq!(sent(repo, "https://charts.example/files/x-1.0.0.tgz").as_deref(), Some("u"));
        // Another host, another port or plain HTTP: not sent.
        assert_eq!(sent(repo, "https://cdn.example/x-1.0.0.tgz"), None);
        assert_eq!(sent(repo, "https://charts.example:8443/x-1.0.0.tgz"), None);
        assert_eq!(sent(repo, "http://charts.example/x-1.0.0.tgz"), None);
        // Unless the entry passes them everywhere.
        assert_eq!(sent("https://other.example/", "https://cdn.example/y.tgz").as_deref(), Some("v"));
        // A repository Helm does not know gets nothing.
        assert_eq!(sent("https://charts.example/beta", "https://charts.example/beta/index.yaml"), None);
    }

    #[test]
    fn registry_config_covers_its_host_and_wins() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("registries.yaml");
        std::fs::write(
            &config,
            "registries:\n  charts.example:\n    username: r\n    password: s\n    caFile: ca.pem\n",
        )
        .unwrap();
        let file =
            helm_file(dir.path(), "repositories:\n- {url: 'https://charts.example', username: u, password: p}\n");
        let auth = RepoAuth::load(Some(&config), Some(file)).unwrap();
        let credentials = auth.for_url("https://charts.example", "https://charts.example/index.yaml").unwrap().unwrap();
        assert_eq!((credentials.username.as_str(), credentials.from.as_path()), ("r", config.as_path()));
        assert_eq!(auth.ca_files(), [dir.path().join("ca.pem")]);
        assert!(auth.for_url("https://charts.example:444", "https://charts.example:444/index.yaml").unwrap().is_none());
    }

    #[test]
    fn unusable_settings_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let broken = helm_file(dir.path(), "repositories: {url: [\n");
        let err = RepoAuth::load(None, Some(broken.clone())).err().unwrap().to_string();
        assert!(err.contains(&broken.display().to_string()), "{err}");
        let with_cert =
            helm_file(dir.path(), "repositories:\n- {url: 'https://c.example', certFile: c.pem, keyFile: k.pem}\n");
        let auth = RepoAuth::load(None, Some(with_cert)).unwrap();
        let err = auth.for_url("https://c.example", "https://c.example/index.yaml").unwrap_err().to_string();
        assert!(err.contains("client certificate") && err.contains("https://c.example"), "{err}");
        // No file at all is no credentials, not an error.
        assert!(RepoAuth::load(None, Some(dir.path().join("absent.yaml"))).is_ok());
    }

    /// Helm's repositories.yaml and `--registry-config` with long
    /// commented-out blocks (old repositories and registries, between a key
    /// and its value too) are read, as Helm reads its file; a mistake after
    /// them names the file and its own line.
    #[test]
    fn settings_with_long_commented_out_blocks_are_read() {
        let commented = |indent: &str, n: usize| -> String {
            (0..n).map(|i| format!("{indent}# old{i}.example:\n{indent}#   username: someone\n")).collect()
        };
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("registries.yaml");
        let registries = format!(
            "registries:\n{}  charts.example:\n{}    username: r\n{}    password: s\n{}",
            commented("  ", 60),
            commented("    ", 60),
            commented("", 60),
            commented("", 60),
        );
        std::fs::write(&config, &registries).unwrap();
        let file = helm_file(
            dir.path(),
            &format!(
                "apiVersion: \"\"\n{}repositories:\n{}- name: a\n{}  url: https://other.example/stable/\n  username: u\n  password: p\n{}",
                commented("", 60),
                commented("", 60),
                commented("  ", 60),
                commented("", 60),
            ),
        );
        let sent = |auth: &RepoAuth, repo: &str| {
            auth.for_url(repo, &format!("{repo}/index.yaml")).unwrap().map(|c| c.username)
        };
        let auth = RepoAuth::load(None, Some(file.clone())).unwrap();
        assert_eq!(sent(&auth, "https://other.example/stable").as_deref(), Some("u"));
        let auth = RepoAuth::load(Some(&config), Some(file)).unwrap();
        assert_eq!(sent(&auth, "https://charts.example").as_deref(), Some("r"));
        assert_eq!(sent(&auth, "https://other.example/stable").as_deref(), Some("u"));

        let broken = registries.replace("    password: s", "    pasword: s");
        std::fs::write(&config, &broken).unwrap();
        let line = broken.lines().position(|l| l.contains("pasword")).unwrap() + 1;
        let err = RepoAuth::load(Some(&config), None).err().unwrap().to_string();
        assert!(err.contains(&config.display().to_string()) && err.contains(&format!("line {line} column ")), "{err}");
    }
}
