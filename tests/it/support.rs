//! Test fixtures: real registries started on free loopback ports (plain HTTP
//! and TLS + htpasswd), hand-made OCI images, and a runner for the airlock
//! binary. Every server is started by the test and killed by its own PID.

use flate2::{Compression, GzBuilder};
use sha2::{Digest as _, Sha256};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// An HTTP server the test starts (`python3 -m http.server`, or a script
/// of tests/fixtures that prints `port N` first), on a port the kernel
/// picks for it: no other test can take that port between its choice and
/// the bind. Killed by its PID on drop.
pub struct HttpServer {
    child: std::process::Child,
    pub url: String,
}

impl HttpServer {
    /// `python3 -m http.server` over `dir`.
    pub fn serve_dir(dir: &Path) -> HttpServer {
        let mut command = Command::new("python3");
        command.args(["-u", "-m", "http.server", "--bind", "127.0.0.1", "0"]).current_dir(dir);
        HttpServer::start(command)
    }

    /// Starts `command`, told to listen on port 0, and reads the port it
    /// got from the first line it prints (`... port N ...`).
    pub fn start(mut command: Command) -> HttpServer {
        use std::io::BufRead;
        let mut child = command.stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let port = line
            .split_whitespace()
            .skip_while(|w| *w != "port")
            .nth(1)
            .and_then(|p| p.parse::<u16>().ok())
            .unwrap_or_else(|| panic!("{command:?} said no port: {line:?}"));
        HttpServer { child, url: format!("http://127.0.0.1:{port}") }
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The Helm v4 CLI built by scripts/build-tools.sh, or None (the caller
/// skips, saying so) when it is not; under CI it must be.
pub fn built_helm() -> Option<PathBuf> {
    let helm = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/tools/bin/helm");
    if helm.exists() {
        Some(helm)
    } else if std::env::var_os("CI").is_some() {
        panic!("helm is not built: run scripts/build-tools.sh helm")
    } else {
        eprintln!("skipping what needs helm: it is not built (scripts/build-tools.sh helm)");
        None
    }
}

/// Skips (by returning true) when a required system tool is absent; CI
/// installs them all with scripts/install-deps.sh, where this never happens.
pub fn missing_tool(tool: &str) -> bool {
    let found = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        if std::env::var_os("CI").is_some() {
            panic!("{tool} is not installed; run scripts/install-deps.sh");
        }
        eprintln!("skipping: {tool} not installed (run scripts/install-deps.sh)");
    }
    !found
}

pub struct Registry {
    pub host: String,
    child: Child,
    pub dir: tempfile::TempDir,
    pub tls: Option<Tls>,
    /// The bearer-token server of a `Registry::token()` registry.
    token_server: Option<Child>,
}

pub struct Tls {
    pub ca: PathBuf,
    pub user: String,
    pub password: String,
}

impl Drop for Registry {
    fn drop(&mut self) {
        for child in std::iter::once(&mut self.child).chain(self.token_server.as_mut()) {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

pub fn run_ok(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

impl Registry {
    pub fn plain() -> Registry {
        Self::start(false)
    }

    pub fn tls() -> Registry {
        Self::start(true)
    }

    /// Plain HTTP with bearer-token auth (docker-registry's `auth: token`):
    /// tokens come from tests/fixtures/token_server.py, run with the venv's
    /// Python (it needs `cryptography`) on its own free port. Credentials:
    /// tester / s3cret. None when the venv is not installed.
    pub fn token() -> Option<Registry> {
        let python = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/venv/bin/python");
        if !python.exists() {
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let token_port = free_port();
        let cert = dir.path().join("token-issuer.crt");
        let mut server = Command::new(python)
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/token_server.py"))
            .args([&token_port.to_string(), cert.to_str().unwrap(), "tester", "s3cret"])
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the token server");
        let mut ready = String::new();
        std::io::BufRead::read_line(&mut std::io::BufReader::new(server.stdout.take().unwrap()), &mut ready).unwrap();
        assert_eq!(ready.trim(), "ready", "token server did not start");
        let auth = format!(
            "auth:\n  token:\n    realm: http://127.0.0.1:{token_port}/token\n    service: airlock-test\n    issuer: airlock-test-issuer\n    rootcertbundle: {}\n",
            cert.display()
        );
        Some(Self::launch(dir, &auth, None, Some(server)))
    }

    fn start(tls: bool) -> Registry {
        let dir = tempfile::tempdir().unwrap();
        let mut extra = String::new();
        let tls_info = tls.then(|| {
            let d = dir.path();
            make_ca_and_cert(d);
            let out = run_ok(Command::new("htpasswd").args(["-Bbn", "tester", "s3cret"]));
            std::fs::write(d.join("htpasswd"), out.stdout).unwrap();
            extra =
                format!("auth:\n  htpasswd:\n    realm: airlock-test\n    path: {}\n", d.join("htpasswd").display());
            Tls { ca: d.join("ca.crt"), user: "tester".into(), password: "s3cret".into() }
        });
        Self::launch(dir, &extra, tls_info, None)
    }

    /// Starts docker-registry on a free port with `config_tail` appended to
    /// its config (auth), serving TLS with `dir`'s server.crt when `tls`.
    fn launch(dir: tempfile::TempDir, config_tail: &str, tls: Option<Tls>, token_server: Option<Child>) -> Registry {
        let host = format!("127.0.0.1:{}", free_port());
        let mut config = format!(
            "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: {host}\n",
            dir.path().join("data").display()
        );
        if tls.is_some() {
            config.push_str(&format!(
                "  tls:\n    certificate: {}\n    key: {}\n",
                dir.path().join("server.crt").display(),
                dir.path().join("server.key").display()
            ));
        }
        config.push_str(config_tail);
        let config_path = dir.path().join("config.yml");
        std::fs::write(&config_path, config).unwrap();
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&config_path)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.path().join("registry.log")).unwrap())
            .spawn()
            .expect("start docker-registry");
        let registry = Registry { host, child, dir, tls, token_server };
        registry.wait_ready();
        registry
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if std::net::TcpStream::connect(&self.host).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("registry on {} did not start", self.host);
    }

    /// The registry's own log (for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("registry.log")).unwrap_or_default()
    }

    /// skopeo flags to reach this registry as a destination.
    pub fn skopeo_dest_flags(&self) -> Vec<String> {
        match &self.tls {
            None => vec!["--dest-tls-verify=false".into()],
            Some(t) => vec![
                format!("--dest-cert-dir={}", self.certs_dir().display()),
                format!("--dest-creds={}:{}", t.user, t.password),
            ],
        }
    }

    pub fn skopeo_src_flags(&self) -> Vec<String> {
        match &self.tls {
            None => vec!["--src-tls-verify=false".into()],
            Some(t) => vec![
                format!("--src-cert-dir={}", self.certs_dir().display()),
                format!("--src-creds={}:{}", t.user, t.password),
            ],
        }
    }

    fn certs_dir(&self) -> PathBuf {
        let d = self.dir.path().join("certs.d");
        if !d.exists() {
            std::fs::create_dir_all(&d).unwrap();
            std::fs::copy(self.dir.path().join("ca.crt"), d.join("ca.crt")).unwrap();
        }
        d
    }

    /// Pushes an OCI layout image into this registry with skopeo.
    pub fn push_layout(&self, layout: &Path, tag: &str, repo_tag: &str) {
        let mut cmd = Command::new("skopeo");
        cmd.args(["copy", "--all", "--quiet", "--preserve-digests"]).args(self.skopeo_dest_flags());
        cmd.arg(format!("oci:{}:{tag}", layout.display())).arg(format!("docker://{}/{repo_tag}", self.host));
        run_ok(&mut cmd);
    }

    /// `skopeo inspect --raw` digest of a manifest in this registry.
    pub fn manifest_digest(&self, repo_tag: &str) -> String {
        let mut cmd = Command::new("skopeo");
        cmd.args(["inspect", "--raw"]).args(self.skopeo_src_flags().iter().map(|f| f.replace("--src-", "--")));
        cmd.arg(format!("docker://{}/{repo_tag}", self.host));
        let out = run_ok(&mut cmd);
        format!("sha256:{}", sha256_hex(&out.stdout))
    }
}

pub fn make_ca_and_cert(d: &Path) {
    let openssl = |args: &[&str]| run_ok(Command::new("openssl").args(args).current_dir(d));
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
        "-days",
        "2",
        "-subj",
        "/CN=airlock test CA",
    ]);
    openssl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=127.0.0.1",
    ]);
    std::fs::write(d.join("ext.cnf"), "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n").unwrap();
    openssl(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.crt",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
    ]);
}

/// A deterministic gzip'd tar layer holding the given files.
pub fn layer(files: &[(&str, &[u8], u32)]) -> Vec<u8> {
    let gz = GzBuilder::new().mtime(0).write(Vec::new(), Compression::fast());
    let mut tar = tar::Builder::new(gz);
    for (path, data, mode) in files {
        let mut h = tar::Header::new_ustar();
        h.set_size(data.len() as u64);
        h.set_mode(*mode);
        h.set_mtime(0);
        h.set_entry_type(tar::EntryType::Regular);
        tar.append_data(&mut h, path, *data).unwrap();
    }
    tar.into_inner().unwrap().finish().unwrap()
}

/// Builds OCI image layouts by hand.
pub struct LayoutBuilder {
    pub dir: PathBuf,
    entries: Vec<serde_json::Value>,
}

pub struct Built {
    pub digest: String,
    pub bytes: Vec<u8>,
}

impl LayoutBuilder {
    pub fn new(dir: &Path) -> Self {
        std::fs::create_dir_all(dir.join("blobs/sha256")).unwrap();
        LayoutBuilder { dir: dir.to_path_buf(), entries: vec![] }
    }

    pub fn blob(&self, bytes: &[u8]) -> serde_json::Value {
        let hex = sha256_hex(bytes);
        std::fs::write(self.dir.join("blobs/sha256").join(&hex), bytes).unwrap();
        serde_json::json!({"digest": format!("sha256:{hex}"), "size": bytes.len()})
    }

    /// An image manifest for one platform over the given layers.
    pub fn image(&self, arch: &str, layers: &[Vec<u8>]) -> Built {
        let diff_ids: Vec<String> = layers
            .iter()
            .map(|l| {
                let mut raw = Vec::new();
                std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(l.as_slice()), &mut raw).unwrap();
                format!("sha256:{}", sha256_hex(&raw))
            })
            .collect();
        let config = serde_json::json!({
            "architecture": arch, "os": "linux",
            "config": {"Cmd": ["/bin/hello"]},
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
        });
        let mut config_desc = self.blob(&serde_json::to_vec(&config).unwrap());
        config_desc["mediaType"] = "application/vnd.oci.image.config.v1+json".into();
        let layer_descs: Vec<_> = layers
            .iter()
            .map(|l| {
                let mut d = self.blob(l);
                d["mediaType"] = "application/vnd.oci.image.layer.v1.tar+gzip".into();
                d
            })
            .collect();
        let manifest = serde_json::json!({
            "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": config_desc, "layers": layer_descs,
        });
        let bytes = serde_json::to_vec(&manifest).unwrap();
        let d = self.blob(&bytes);
        Built { digest: d["digest"].as_str().unwrap().to_string(), bytes }
    }

    pub fn index(&self, children: &[(&Built, &str)]) -> Built {
        let manifests: Vec<_> = children
            .iter()
            .map(|(b, arch)| {
                serde_json::json!({
                    "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "digest": b.digest, "size": b.bytes.len(),
                    "platform": {"os": "linux", "architecture": arch},
                })
            })
            .collect();
        let index = serde_json::json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": manifests});
        let bytes = serde_json::to_vec(&index).unwrap();
        let d = self.blob(&bytes);
        Built { digest: d["digest"].as_str().unwrap().to_string(), bytes }
    }

    /// Two single-layer images (amd64, arm64) under one index tagged `tag`;
    /// returns (amd64, arm64, index).
    pub fn two_platforms(&mut self, tag: &str) -> (Built, Built, Built) {
        let amd = self.image("amd64", &[layer(&[("a", b"amd64", 0o644)])]);
        let arm = self.image("arm64", &[layer(&[("a", b"arm64", 0o644)])]);
        let index = self.index(&[(&amd, "amd64"), (&arm, "arm64")]);
        self.tag(&index, tag);
        (amd, arm, index)
    }

    /// Names a manifest or index in the layout's index.json.
    pub fn tag(&mut self, built: &Built, tag: &str) {
        let media = if String::from_utf8_lossy(&built.bytes).contains("\"manifests\"") {
            "application/vnd.oci.image.index.v1+json"
        } else {
            "application/vnd.oci.image.manifest.v1+json"
        };
        self.entries.push(serde_json::json!({
            "mediaType": media, "digest": built.digest, "size": built.bytes.len(),
            "annotations": {"org.opencontainers.image.ref.name": tag},
        }));
        let index = serde_json::json!({"schemaVersion": 2, "manifests": self.entries});
        std::fs::write(self.dir.join("index.json"), serde_json::to_vec(&index).unwrap()).unwrap();
        std::fs::write(self.dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    }
}

/// Runs the airlock binary with an isolated cache and docker config.
/// A proxy address nothing listens on (the discard port, never handed out
/// as a free port).
const DEAD_PROXY: &str = "http://127.0.0.1:9";

/// Exit codes: the work failed, a usage error, a bad bundle or signature.
pub const FAILURE: i32 = 1;
pub const USAGE: i32 = 2;
pub const BAD_BUNDLE: i32 = 3;

pub struct Airlock {
    pub home: tempfile::TempDir,
}

impl Airlock {
    pub fn new() -> Self {
        Airlock { home: tempfile::tempdir().unwrap() }
    }

    pub fn cache_dir(&self) -> PathBuf {
        self.home.path().join("cache")
    }

    pub fn cmd(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_airlock"));
        cmd.env("AIRLOCK_CACHE_DIR", self.cache_dir())
            .env("HOME", self.home.path())
            .env("DOCKER_CONFIG", self.home.path().join("docker"))
            .env("NO_COLOR", "1")
            .env("AIRLOCK_PASSWORD", "test-password")
            .env_remove("AIRLOCK_TRUSTED_KEYS")
            .env_remove("XDG_CONFIG_HOME")
            .env_remove("HELM_REPOSITORY_CONFIG")
            .env_remove("HELM_CONFIG_HOME")
            .env_remove("AIRLOCK_REGISTRY_USERNAME")
            .env_remove("AIRLOCK_REGISTRY_PASSWORD")
            // Registry logins other tools keep: never the developer's own.
            .env_remove("REGISTRY_AUTH_FILE")
            .env_remove("XDG_RUNTIME_DIR")
            .env_remove("HELM_REGISTRY_CONFIG")
            // Without --kubeconfig a cluster command finds its cluster as
            // kubectl does (KUBECONFIG, ~/.kube/config under the HOME above,
            // the cluster it runs in): none from this process.
            .env_remove("KUBECONFIG")
            .env_remove("KUBERNETES_SERVICE_HOST")
            .env_remove("KUBERNETES_SERVICE_PORT")
            // A test that strays to a registry or chart repository off this
            // machine (a wrongly found image, say) fails at a dead loopback
            // proxy, with no DNS lookup or packet leaving the machine. kube
            // reads only HTTPS_PROXY (and ignores NO_PROXY), so that one is
            // left unset for the clusters on 127.0.0.1.
            .env("ALL_PROXY", DEAD_PROXY)
            .env("HTTP_PROXY", DEAD_PROXY)
            .env("NO_PROXY", "127.0.0.1,localhost,::1")
            .env_remove("HTTPS_PROXY")
            .env_remove("https_proxy");
        cmd
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd().args(args).output().unwrap()
    }

    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(out.status.success(), "airlock {args:?} failed:\n{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    }

    /// Runs a command that must fail because it could not do its work
    /// (exit code 1); returns its stderr.
    #[track_caller]
    pub fn fails(&self, args: &[&str]) -> String {
        self.fails_with(FAILURE, args)
    }

    /// Runs a command that must fail with `code` (1 the work failed, 2 a
    /// usage error, 3 a bad bundle or signature); returns its stderr.
    #[track_caller]
    pub fn fails_with(&self, code: i32, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            !out.status.success(),
            "airlock {args:?} should have failed:\n{}",
            String::from_utf8_lossy(&out.stdout)
        );
        assert_eq!(out.status.code(), Some(code), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stderr).unwrap()
    }
}

impl Airlock {
    /// Creates a bundle from `spec` signed with a new key `release`;
    /// returns the bundle and the public key.
    pub fn create_signed(&self, spec: &Path, bundle: &Path) -> PathBuf {
        let dir = spec.parent().unwrap();
        let (key, public) = self.keypair(dir, "release");
        self.ok(&[
            "create",
            spec.to_str().unwrap(),
            "-o",
            bundle.to_str().unwrap(),
            "--sign-key",
            key.to_str().unwrap(),
        ]);
        public
    }

    /// `inspect --json` of a bundle.
    pub fn inspect(&self, bundle: &Path) -> serde_json::Value {
        serde_json::from_str(&self.ok(&["inspect", bundle.to_str().unwrap(), "--json"])).unwrap()
    }

    /// Generates a key pair; returns (private key, public key) paths.
    pub fn keypair(&self, dir: &Path, name: &str) -> (PathBuf, PathBuf) {
        let prefix = dir.join(name);
        self.ok(&["key", "generate", "--output-key-prefix", prefix.to_str().unwrap()]);
        (prefix.with_extension("key"), prefix.with_extension("pub"))
    }
}

pub fn write_spec(dir: &Path, body: &str) -> PathBuf {
    let path = dir.join("airlock.yaml");
    std::fs::write(
        &path,
        format!("apiVersion: airlock.dev/v1\nkind: Bundle\nmetadata: {{name: test, version: 1.0.0}}\n{body}"),
    )
    .unwrap();
    path
}

/// The real charts written by others (`../shared/testdata/real/charts`,
/// see its SOURCES.md), or None (the test skips) when that folder is not
/// beside the repository; under CI it must be.
pub fn real_charts() -> Option<PathBuf> {
    let real = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/testdata/real/charts");
    if real.is_dir() {
        return Some(real);
    }
    assert!(std::env::var_os("CI").is_none(), "{} is missing", real.display());
    eprintln!("skipping: shared/testdata/real/charts is not there");
    None
}

/// kubectl from the project venv (scripts/install-deps.sh), if installed.
pub fn venv_kubectl() -> Option<PathBuf> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/venv/bin/kubectl");
    if path.exists() {
        Some(path)
    } else if std::env::var_os("CI").is_some() {
        panic!("target/venv/bin/kubectl is missing; run scripts/install-deps.sh")
    } else {
        eprintln!("skipping: target/venv/bin/kubectl missing (run scripts/install-deps.sh)");
        None
    }
}

impl Registry {
    /// Stops the registry (by PID) and returns a function that restarts it
    /// on the same port with the same data.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn restart(&mut self) {
        self.child = Command::new("docker-registry")
            .arg("serve")
            .arg(self.dir.path().join("config.yml"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("restart docker-registry");
        self.wait_ready();
    }
}

impl Registry {
    /// The CNCF distribution v3 registry (`target/tools/bin/distribution-registry`,
    /// built by scripts/build-tools.sh), plain HTTP on a free port, its
    /// config in `dir/config.yml` and its storage in `dir/data`, stopped by
    /// its PID on drop. None (the caller skips, saying so) when it is not
    /// built; under CI it must be. `restart` is docker-registry's only.
    pub fn distribution() -> Option<Registry> {
        let binary = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/tools/bin/distribution-registry");
        if !binary.exists() {
            assert!(
                std::env::var_os("CI").is_none(),
                "distribution-registry is not built: run scripts/build-tools.sh distribution"
            );
            eprintln!("skipping: distribution-registry is not built (scripts/build-tools.sh distribution)");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let host = format!("127.0.0.1:{}", free_port());
        let config = format!(
            "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: {host}\n",
            dir.path().join("data").display()
        );
        let config_path = dir.path().join("config.yml");
        std::fs::write(&config_path, config).unwrap();
        let child = Command::new(&binary)
            .arg("serve")
            .arg(&config_path)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.path().join("registry.log")).unwrap())
            .spawn()
            .expect("start distribution-registry");
        let registry = Registry { host, child, dir, tls: None, token_server: None };
        registry.wait_ready();
        Some(registry)
    }
}

/// A containerd daemon of the test's own (socket, root and state in a temp
/// dir, CRI disabled), stopped by its PID.
pub struct Containerd {
    child: Child,
    pub dir: tempfile::TempDir,
}

impl Drop for Containerd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Containerd {
    pub fn start() -> Containerd {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let config = format!(
            "version = 2\nroot = \"{root}\"\nstate = \"{state}\"\ndisabled_plugins = [\"io.containerd.grpc.v1.cri\", \"io.containerd.internal.v1.tracing\", \"io.containerd.snapshotter.v1.aufs\", \"io.containerd.snapshotter.v1.btrfs\", \"io.containerd.snapshotter.v1.zfs\", \"io.containerd.snapshotter.v1.devmapper\"]\n[grpc]\n  address = \"{sock}\"\n",
            root = d.join("root").display(),
            state = d.join("state").display(),
            sock = d.join("containerd.sock").display()
        );
        std::fs::write(d.join("config.toml"), config).unwrap();
        let child = Command::new("containerd")
            .arg("--config")
            .arg(d.join("config.toml"))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(d.join("containerd.log")).unwrap())
            .spawn()
            .expect("start containerd");
        let c = Containerd { child, dir };
        let deadline = Instant::now() + Duration::from_secs(30);
        while Command::new("ctr")
            .args(["--address", c.socket().to_str().unwrap(), "version"])
            .output()
            .map(|o| !o.status.success())
            .unwrap_or(true)
        {
            assert!(
                Instant::now() < deadline,
                "containerd did not start: {}",
                std::fs::read_to_string(c.dir.path().join("containerd.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        c
    }

    pub fn socket(&self) -> PathBuf {
        self.dir.path().join("containerd.sock")
    }

    pub fn ctr(&self, args: &[&str]) -> Output {
        Command::new("ctr").args(["--address", self.socket().to_str().unwrap()]).args(args).output().unwrap()
    }
}

/// The demo image (busybox-static and a /hello script) as an OCI layout.
pub fn demo_image(dir: &Path) -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/make-demo-image.sh");
    let out = run_ok(Command::new("bash").arg(script).arg(dir));
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// Writes `docker save`-style output of `layout:tag` named `name`, with
/// skopeo (its layers come out uncompressed).
pub fn docker_archive(layout: &Path, tag: &str, archive: &Path, name: &str) {
    run_ok(Command::new("skopeo").args([
        "copy",
        "--quiet",
        &format!("oci:{}:{tag}", layout.display()),
        &format!("docker-archive:{}:{name}", archive.display()),
    ]));
}

/// A `airlock serve` process of the test's own, stopped by its PID.
pub struct Served {
    child: Child,
    pub address: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Airlock {
    pub fn serve(&self, bundle: &Path, extra: &[&str]) -> Served {
        let port = free_port();
        let address = format!("127.0.0.1:{port}");
        let child = self
            .cmd()
            .args(["serve", bundle.to_str().unwrap(), "--listen", &address])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(&address).is_err() {
            assert!(Instant::now() < deadline, "airlock serve did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        Served { child, address }
    }
}

/// Incompressible bytes without a random source: a counter (and a seed)
/// run through sha256.
pub fn noise(len: usize, seed: u8) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 32);
    let mut i = 0u64;
    while out.len() < len {
        let hex = sha256_hex(&[&i.to_le_bytes()[..], &[seed]].concat());
        out.extend((0..hex.len()).step_by(2).map(|j| u8::from_str_radix(&hex[j..j + 2], 16).unwrap()));
        i += 1;
    }
    out.truncate(len);
    out
}

/// Every file under `root` but airlock's own state: path -> (sha256, mode).
pub fn snapshot(root: &Path) -> std::collections::BTreeMap<String, (String, u32)> {
    use std::os::unix::fs::PermissionsExt;
    let mut out = std::collections::BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            let rel = path.strip_prefix(root).unwrap().to_string_lossy().into_owned();
            assert!(!rel.contains(".airlock-partial"), "left behind: {rel}");
            if path.is_dir() {
                stack.push(path);
            } else if !rel.starts_with("var/lib/airlock/") {
                let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o7777;
                out.insert(rel, (sha256_hex(&std::fs::read(&path).unwrap()), mode));
            }
        }
    }
    out
}

/// An axum app served on a free 127.0.0.1 port from its own thread (for
/// the tests' in-process fakes); it stops when dropped.
pub struct InProcessServer {
    pub port: u16,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl InProcessServer {
    pub fn start(app: axum::Router) -> InProcessServer {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let (shutdown, stop) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        stop.await.ok();
                    })
                    .await
                    .unwrap();
            });
        });
        InProcessServer { port, shutdown: Some(shutdown), thread: Some(thread) }
    }
}

impl Drop for InProcessServer {
    fn drop(&mut self) {
        if let Some(s) = self.shutdown.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The real helm (`built_helm`) with a home of its own under `home` (its
/// cache, config and data), none of the caller's HELM_* settings or
/// KUBECONFIG, no colour, and no proxy for the clusters on 127.0.0.1.
pub fn helm_command(helm: &Path, home: &Path) -> Command {
    let mut command = Command::new(helm);
    command
        .env("HELM_CACHE_HOME", home.join("cache"))
        .env("HELM_CONFIG_HOME", home.join("config"))
        .env("HELM_DATA_HOME", home.join("data"))
        .env("NO_PROXY", "127.0.0.1,localhost,::1")
        .env("NO_COLOR", "1");
    for variable in [
        "KUBECONFIG",
        "HELM_DRIVER",
        "HELM_NAMESPACE",
        "HELM_KUBECONTEXT",
        "HELM_KUBEASUSER",
        "HELM_KUBEASGROUPS",
        "HELM_KUBEAPISERVER",
        "HELM_KUBETOKEN",
        "HELM_KUBECAFILE",
        "HELM_MAX_HISTORY",
    ] {
        command.env_remove(variable);
    }
    command
}

/// A Helm release Secret's `data.release` (the Secret as `kubectl get -o
/// json` shows it) decoded as Helm decodes it: the Secret data's base64
/// (as the API shows it), then Helm's own standard base64, then gzip (Helm
/// writes gzip, level 9), then JSON.
pub fn decode_release(secret: &serde_json::Value) -> serde_json::Value {
    use base64::Engine;
    use std::io::Read;
    let name = &secret["metadata"]["name"];
    let data = secret["data"]["release"].as_str().unwrap_or_else(|| panic!("{name}: no data.release"));
    let b64 = base64::engine::general_purpose::STANDARD;
    let stored = b64.decode(data).unwrap_or_else(|e| panic!("{name}: data.release is not base64: {e}"));
    let gzipped = b64.decode(&stored).unwrap_or_else(|e| panic!("{name}: the release is not Helm's base64: {e}"));
    assert!(gzipped.starts_with(&[0x1f, 0x8b, 0x08]), "{name}: the release is not gzipped");
    let mut text = String::new();
    flate2::read::GzDecoder::new(&gzipped[..])
        .read_to_string(&mut text)
        .unwrap_or_else(|e| panic!("{name}: the release does not gunzip: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: the release is not JSON ({e}): {text}"))
}

/// The kubeconfig of the tests' own user on the control plane
/// (control_plane.rs), whose requests the audit log leaves out: checks
/// made with it do not show among what a test's airlock sent.
pub fn unaudited_kubeconfig() -> PathBuf {
    let path = crate::control_plane::control_plane().kubeconfig.with_file_name("tester.kubeconfig");
    assert!(path.exists(), "{} is missing: scripts/cluster.sh changed", path.display());
    path
}

/// Panics unless the real Helm (`helm`, as `kubeconfig`'s user) reads
/// every release whose Secrets (labelled `owner=helm`) are in `namespace`,
/// every revision of it: `helm history NAME -o json` lists exactly the
/// revisions stored, `helm status NAME` works, and `helm get all NAME
/// --revision N` shows each (which fetches the Secret by name). Each
/// Secret is named `sh.helm.release.v1.NAME.vN` after its `name` and
/// `version` labels, as Helm names it. Costs one kubectl, then two helm
/// runs per release and one per revision.
pub fn helm_reads_every_release(helm: &Path, kubeconfig: &Path, namespace: &str) {
    let kubectl = crate::control_plane::repo().join("target/tools/bin/kubectl");
    let listed = run_ok(Command::new(kubectl).arg("--kubeconfig").arg(kubeconfig).args([
        "-n",
        namespace,
        "get",
        "secrets",
        "-l",
        "owner=helm",
        "-o",
        r#"jsonpath={range .items[*]}{.metadata.name} {.metadata.labels.name} {.metadata.labels.version}{"\n"}{end}"#,
    ]));
    let mut releases: std::collections::BTreeMap<String, Vec<u64>> = std::collections::BTreeMap::new();
    for line in String::from_utf8_lossy(&listed.stdout).lines() {
        let fields: Vec<&str> = line.split(' ').collect();
        let [secret, name, version] = fields[..] else {
            panic!("{namespace}: a release Secret without labels: {line:?}")
        };
        let revision: u64 =
            version.parse().unwrap_or_else(|_| panic!("{namespace}/{secret}: label version {version:?} is no number"));
        assert_eq!(
            secret,
            format!("sh.helm.release.v1.{name}.v{revision}"),
            "{namespace}: the Secret is not named after its labels name={name:?}, version={version:?}: \
             `helm get --revision` and `helm rollback` cannot find it"
        );
        releases.entry(name.to_string()).or_default().push(revision);
    }
    let home = tempfile::tempdir().unwrap();
    let helm_ok = |args: &[&str]| -> String {
        let out = helm_command(helm, home.path())
            .args(args)
            .arg("--namespace")
            .arg(namespace)
            .arg("--kubeconfig")
            .arg(kubeconfig)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", helm.display()));
        assert!(
            out.status.success(),
            "helm {args:?} -n {namespace} failed: Helm cannot read the release airlock wrote:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    for (name, mut revisions) in releases {
        revisions.sort_unstable();
        let history = helm_ok(&["history", &name, "-o", "json"]);
        let listed: Vec<u64> = serde_json::from_str::<serde_json::Value>(&history)
            .ok()
            .and_then(|h| h.as_array().map(|a| a.iter().filter_map(|e| e["revision"].as_u64()).collect()))
            .unwrap_or_else(|| panic!("helm history {name} -n {namespace}: {history}"));
        assert_eq!(
            listed, revisions,
            "helm history {name} -n {namespace} (left) against the revisions stored (right): Helm leaves out a \
             revision it cannot decode: {history}"
        );
        helm_ok(&["status", &name]);
        for revision in revisions {
            let all = helm_ok(&["get", "all", &name, "--revision", &revision.to_string()]);
            assert!(
                all.starts_with(&format!("NAME: {name}\n")) && all.contains(&format!("\nREVISION: {revision}\n")),
                "helm get all {name} --revision {revision} -n {namespace}:\n{all}"
            );
        }
    }
}

/// Tests that install objects of fixed cluster-wide names into the shared
/// control plane (the five systems' namespaces, Traefik's IngressClass,
/// cert-manager's CRDs) take turns: run side by side they would take each
/// other's objects.
pub fn fixed_names_turn() -> std::sync::MutexGuard<'static, ()> {
    static TURN: std::sync::Mutex<()> = std::sync::Mutex::new(());
    // A test that failed holding it must not fail the others.
    TURN.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
