//! Registry credentials where the tools around airlock keep them: each
//! login file alone (REGISTRY_AUTH_FILE, podman's auth.json, Docker's and
//! Helm's config) lets `create` pull from and `push` push into a real
//! docker-registry with TLS and htpasswd; credential helpers (a failing one
//! is an error, "not found" is not); `--password-stdin`; and Docker's
//! identity token traded for access tokens at a token-auth registry.
//! HOME and every variable naming a login file point into the test's own
//! directories: the user's files are never read.

use crate::support::*;
use base64::Engine as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// A TLS + htpasswd registry (tester / s3cret) holding team/app:1.0.
struct Seeded {
    registry: Registry,
    _dir: tempfile::TempDir,
    digest: String,
}

fn seeded() -> Option<Seeded> {
    if ["docker-registry", "skopeo", "htpasswd", "openssl"].iter().any(|t| missing_tool(t)) {
        return None;
    }
    let registry = Registry::tls();
    let dir = tempfile::tempdir().unwrap();
    let mut layout = LayoutBuilder::new(&dir.path().join("img"));
    let image = layout.image("amd64", &[layer(&[("hello", b"hello from a private registry\n", 0o644)])]);
    layout.tag(&image, "v1");
    registry.push_layout(&layout.dir, "v1", "team/app:1.0");
    Some(Seeded { registry, _dir: dir, digest: image.digest })
}

/// A login file in Docker's shape, as `podman login`, `docker login` and
/// `helm registry login` write it.
fn login_json(host: &str, user: &str, password: &str) -> String {
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    format!(r#"{{"auths": {{"{host}": {{"auth": "{auth}"}}}}}}"#)
}

fn write(path: &Path, text: &str) -> PathBuf {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
    path.to_path_buf()
}

/// airlock with no login file but those a test gives it: the variables
/// naming them are unset, HOME is the test's empty directory.
fn hermetic(airlock: &Airlock) -> Command {
    let mut cmd = airlock.cmd();
    for var in [
        "REGISTRY_AUTH_FILE",
        "XDG_RUNTIME_DIR",
        "XDG_CONFIG_HOME",
        "DOCKER_CONFIG",
        "HELM_REGISTRY_CONFIG",
        "HELM_CONFIG_HOME",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

/// `cmd` run with `stdin` (or none) given, its output caught.
pub(crate) fn run(mut cmd: Command, stdin: Option<&str>) -> Output {
    cmd.stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    if let Some(text) = stdin {
        std::io::Write::write_all(&mut child.stdin.take().unwrap(), text.as_bytes()).unwrap();
    }
    child.wait_with_output().unwrap()
}

/// `create` pulls team/app:1.0, then `push` puts the bundle back under
/// copied/, each given only what `setup` adds (and `stdin`); Err is
/// airlock's stderr.
fn pull_and_push(
    s: &Seeded,
    airlock: &Airlock,
    stdin: Option<&str>,
    setup: &dyn Fn(&mut Command),
) -> Result<(), String> {
    let host = &s.registry.host;
    let ca = s.registry.tls.as_ref().unwrap().ca.display().to_string();
    let dir = tempfile::tempdir().unwrap();
    let spec = write_spec(dir.path(), &format!("components:\n  - name: a\n    images: [\"{host}/team/app:1.0\"]\n"));
    let bundle = dir.path().join("b.airlock");
    let mut create = hermetic(airlock);
    create.args(["create", spec.to_str().unwrap(), "-o", bundle.to_str().unwrap(), "--ca-file", &ca]);
    setup(&mut create);
    let out = run(create, stdin);
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    assert_eq!(airlock.inspect(&bundle)["components"][0]["images"][0]["digest"], s.digest.as_str());
    let mut push = hermetic(airlock);
    push.args(["push", bundle.to_str().unwrap(), "--registry", &format!("{host}/copied"), "--ca-file", &ca]);
    push.arg("--allow-unsigned");
    setup(&mut push);
    let out = run(push, stdin);
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    assert_eq!(s.registry.manifest_digest("copied/team/app:1.0"), s.digest);
    Ok(())
}

#[track_caller]
fn works(result: Result<(), String>) {
    if let Err(stderr) = result {
        panic!("airlock failed:\n{stderr}");
    }
}

#[test]
fn registry_auth_file_alone() {
    let Some(s) = seeded() else { return };
    let airlock = Airlock::new();
    let file =
        write(&airlock.home.path().join("elsewhere/auth.json"), &login_json(&s.registry.host, "tester", "s3cret"));
    works(pull_and_push(&s, &airlock, None, &|cmd| {
        cmd.env("REGISTRY_AUTH_FILE", &file);
    }));
}

#[test]
fn podman_auth_files_alone() {
    let Some(s) = seeded() else { return };
    let login = login_json(&s.registry.host, "tester", "s3cret");
    // Where `podman login` writes: $XDG_RUNTIME_DIR/containers/auth.json.
    let airlock = Airlock::new();
    let runtime = airlock.home.path().join("run-user");
    write(&runtime.join("containers/auth.json"), &login);
    works(pull_and_push(&s, &airlock, None, &|cmd| {
        cmd.env("XDG_RUNTIME_DIR", &runtime);
    }));
    // The containers tools' fallback: ~/.config/containers/auth.json.
    let airlock = Airlock::new();
    write(&airlock.home.path().join(".config/containers/auth.json"), &login);
    works(pull_and_push(&s, &airlock, None, &|_| {}));
}

#[test]
fn docker_config_alone() {
    let Some(s) = seeded() else { return };
    let login = login_json(&s.registry.host, "tester", "s3cret");
    let airlock = Airlock::new();
    let config = airlock.home.path().join("docker-config");
    write(&config.join("config.json"), &login);
    works(pull_and_push(&s, &airlock, None, &|cmd| {
        cmd.env("DOCKER_CONFIG", &config);
    }));
    let airlock = Airlock::new();
    write(&airlock.home.path().join(".docker/config.json"), &login);
    works(pull_and_push(&s, &airlock, None, &|_| {}));
}

#[test]
fn helm_registry_config_alone() {
    let Some(s) = seeded() else { return };
    let login = login_json(&s.registry.host, "tester", "s3cret");
    let airlock = Airlock::new();
    let file = write(&airlock.home.path().join("helm-registry.json"), &login);
    works(pull_and_push(&s, &airlock, None, &|cmd| {
        cmd.env("HELM_REGISTRY_CONFIG", &file);
    }));
    // Where `helm registry login` writes by default.
    let airlock = Airlock::new();
    write(&airlock.home.path().join(".config/helm/registry/config.json"), &login);
    works(pull_and_push(&s, &airlock, None, &|_| {}));
}

/// The first source naming the registry wins, even with a wrong password
/// (as podman and Docker do); explicit flags come before every file; with
/// nothing, the registry refuses.
#[test]
fn sources_are_taken_in_order() {
    let Some(s) = seeded() else { return };
    let host = &s.registry.host;
    let airlock = Airlock::new();
    let err = pull_and_push(&s, &airlock, None, &|_| {}).unwrap_err();
    assert!(err.contains(&format!("registry {host} refused access")), "{err}");

    let wrong = write(&airlock.home.path().join("auth.json"), &login_json(host, "tester", "wrong"));
    write(&airlock.home.path().join(".docker/config.json"), &login_json(host, "tester", "s3cret"));
    let err = pull_and_push(&s, &airlock, None, &|cmd| {
        cmd.env("REGISTRY_AUTH_FILE", &wrong);
    })
    .unwrap_err();
    assert!(err.contains(&format!("registry {host} refused access")), "{err}");

    works(pull_and_push(&s, &airlock, None, &|cmd| {
        cmd.env("REGISTRY_AUTH_FILE", &wrong).args(["--username", "tester", "--password", "s3cret"]);
    }));
}

/// Writes `docker-credential-NAME` scripts into a directory for PATH.
fn helpers(dir: &Path, host: &str) -> std::ffi::OsString {
    use std::os::unix::fs::PermissionsExt;
    let scripts = [
        ("broken", "cat >/dev/null\necho 'error: the keychain is locked' >&2\nexit 3\n".to_string()),
        ("garbage", "cat >/dev/null\necho 'hello'\n".to_string()),
        ("empty", "cat >/dev/null\necho 'credentials not found in native keychain'\nexit 1\n".to_string()),
        (
            "good",
            format!(
                "read server\nif [ \"$server\" = '{host}' ]; then\n  echo '{{\"ServerURL\": \"{host}\", \"Username\": \"tester\", \"Secret\": \"s3cret\"}}'\nelse\n  echo 'credentials not found in native keychain'; exit 1\nfi\n"
            ),
        ),
    ];
    for (name, body) in scripts {
        let path = dir.join(format!("docker-credential-{name}"));
        std::fs::write(&path, format!("#!/bin/sh\n{body}")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let mut path = dir.as_os_str().to_owned();
    path.push(":");
    path.push(std::env::var_os("PATH").unwrap_or_default());
    path
}

/// A helper that fails is one error naming it and the registry, not an
/// anonymous pull; one that has nothing for the registry passes the
/// lookup on to the next file; `credsStore` and `credHelpers` both work.
#[test]
fn credential_helpers() {
    let Some(s) = seeded() else { return };
    let host = &s.registry.host;
    let airlock = Airlock::new();
    let bin = airlock.home.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let path = helpers(&bin, host);
    let docker = airlock.home.path().join(".docker/config.json");
    let with_path = |cmd: &mut Command| {
        cmd.env("PATH", &path);
    };
    for (helper, said) in [
        ("broken", "it exited with an error: error: the keychain is locked".to_string()),
        ("garbage", "its answer is not the JSON credentials it should print".to_string()),
        ("missing", "is it installed and on PATH?".to_string()),
    ] {
        write(&docker, &format!(r#"{{"credHelpers": {{"{host}": "{helper}"}}}}"#));
        let err = pull_and_push(&s, &airlock, None, &with_path).unwrap_err();
        assert!(
            err.contains(&format!("docker-credential-{helper}"))
                && err.contains(&format!("for registry {host} (named in Docker config {}", docker.display()))
                && err.contains(&said),
            "{helper}: {err}"
        );
        assert!(!err.contains("refused access"), "{err}");
    }

    // "Not found" from the store: the next file (Helm's) is read.
    write(&docker, r#"{"credsStore": "empty"}"#);
    write(&airlock.home.path().join(".config/helm/registry/config.json"), &login_json(host, "tester", "s3cret"));
    works(pull_and_push(&s, &airlock, None, &with_path));
    std::fs::remove_file(airlock.home.path().join(".config/helm/registry/config.json")).unwrap();
    let err = pull_and_push(&s, &airlock, None, &with_path).unwrap_err();
    assert!(err.contains(&format!("registry {host} refused access")), "{err}");

    write(&docker, r#"{"credsStore": "good"}"#);
    works(pull_and_push(&s, &airlock, None, &with_path));
    write(&docker, &format!(r#"{{"credsStore": "broken", "credHelpers": {{"{host}": "good"}}}}"#));
    works(pull_and_push(&s, &airlock, None, &with_path));
}

#[test]
fn password_from_stdin() {
    let Some(s) = seeded() else { return };
    let airlock = Airlock::new();
    let user = |cmd: &mut Command| {
        cmd.args(["--username", "tester", "--password-stdin"]);
    };
    works(pull_and_push(&s, &airlock, Some("s3cret\n"), &user));
    // No trailing newline is fine too.
    works(pull_and_push(&s, &airlock, Some("s3cret"), &user));
    // Over AIRLOCK_REGISTRY_PASSWORD, stdin wins.
    works(pull_and_push(&s, &airlock, Some("s3cret\n"), &|cmd| {
        cmd.env("AIRLOCK_REGISTRY_PASSWORD", "wrong");
        user(cmd);
    }));
    let err = pull_and_push(&s, &airlock, Some("wrong\n"), &user).unwrap_err();
    assert!(err.contains("refused access"), "{err}");

    let dir = tempfile::tempdir().unwrap();
    let spec = write_spec(dir.path(), "components:\n  - name: a\n    images: [\"127.0.0.1:9/x:1\"]\n");
    let create = |extra: &[&str], stdin: &str| {
        let mut cmd = hermetic(&airlock);
        cmd.args(["create", spec.to_str().unwrap(), "-o", dir.path().join("x.airlock").to_str().unwrap()]).args(extra);
        run(cmd, Some(stdin))
    };
    for (extra, stdin, says) in [
        (&["--username", "u", "--password", "p", "--password-stdin"][..], "p\n", "give one of them"),
        (&["--password-stdin"][..], "p\n", "--password-stdin needs --username"),
        (&["--username", "u", "--password-stdin"][..], "\n", "--password-stdin read no password"),
    ] {
        let out = create(extra, stdin);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(USAGE), "{extra:?}: {err}");
        assert!(err.contains(says), "{extra:?}: {err}");
    }
}

/// docker-registry in token mode whose token endpoint takes Docker's
/// identity token: a front on 127.0.0.1 that accepts only the OAuth2
/// refresh-token POST (`grant_type=refresh_token`, `client_id`, service,
/// scope) for one refresh token, and gets the signed access token from
/// tests/fixtures/token_server.py (which takes basic auth) for that scope.
struct TokenRegistry {
    host: String,
    children: Vec<std::process::Child>,
    _front: InProcessServer,
    _dir: tempfile::TempDir,
    /// Every form the front was sent, decoded.
    forms: std::sync::Arc<std::sync::Mutex<Vec<std::collections::BTreeMap<String, String>>>>,
}

impl Drop for TokenRegistry {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn form_decode(body: &str) -> std::collections::BTreeMap<String, String> {
    let decode = |text: &str| {
        let bytes = text.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'%' if i + 2 < bytes.len() => {
                    out.push(u8::from_str_radix(&text[i + 1..i + 3], 16).unwrap());
                    i += 3;
                }
                b'+' => {
                    out.push(b' ');
                    i += 1;
                }
                b => {
                    out.push(b);
                    i += 1;
                }
            }
        }
        String::from_utf8(out).unwrap()
    };
    body.split('&').filter_map(|pair| pair.split_once('=')).map(|(k, v)| (decode(k), decode(v))).collect()
}

const REFRESH_TOKEN: &str = "airlock-test-refresh-token";

fn token_registry() -> Option<TokenRegistry> {
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/venv/bin/python");
    if !python.exists() || missing_tool("docker-registry") {
        assert!(std::env::var_os("CI").is_none(), "the test venv is missing");
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let issuer_port = free_port();
    let cert = dir.path().join("token-issuer.crt");
    let mut issuer = Command::new(python)
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/token_server.py"))
        .args([&issuer_port.to_string(), cert.to_str().unwrap(), "tester", "s3cret"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the token server");
    let mut ready = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(issuer.stdout.take().unwrap()), &mut ready).unwrap();
    assert_eq!(ready.trim(), "ready", "token server did not start");

    let forms = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = forms.clone();
    let issuer_url = format!("http://127.0.0.1:{issuer_port}/token");
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let app = axum::Router::new().route(
        "/token",
        axum::routing::post(move |body: String| {
            let (seen, issuer_url, http) = (seen.clone(), issuer_url.clone(), http.clone());
            async move {
                let form = form_decode(&body);
                seen.lock().unwrap().push(form.clone());
                let field = |k: &str| form.get(k).cloned().unwrap_or_default();
                if field("grant_type") != "refresh_token"
                    || field("refresh_token") != REFRESH_TOKEN
                    || field("client_id").is_empty()
                {
                    return (axum::http::StatusCode::BAD_REQUEST, r#"{"error":"invalid_grant"}"#.to_string());
                }
                let scope = body.split('&').find_map(|p| p.strip_prefix("scope=")).unwrap_or("");
                let service = body.split('&').find_map(|p| p.strip_prefix("service=")).unwrap_or("");
                let answer = http
                    .get(format!("{issuer_url}?service={service}&scope={scope}"))
                    .basic_auth("tester", Some("s3cret"))
                    .send()
                    .await
                    .unwrap();
                (answer.status(), answer.text().await.unwrap())
            }
        }),
    );
    let front = InProcessServer::start(app);

    let host = format!("127.0.0.1:{}", free_port());
    let config = format!(
        "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {data}\nhttp:\n  addr: {host}\nauth:\n  token:\n    realm: http://127.0.0.1:{front}/token\n    service: airlock-test\n    issuer: airlock-test-issuer\n    rootcertbundle: {cert}\n",
        data = dir.path().join("data").display(),
        front = front.port,
        cert = cert.display(),
    );
    std::fs::write(dir.path().join("config.yml"), config).unwrap();
    let registry = Command::new("docker-registry")
        .arg("serve")
        .arg(dir.path().join("config.yml"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start docker-registry");
    let started = TokenRegistry { host, children: vec![registry, issuer], _front: front, _dir: dir, forms };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while std::net::TcpStream::connect(&started.host).is_err() {
        assert!(std::time::Instant::now() < deadline, "docker-registry did not start");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    Some(started)
}

/// Docker's `identitytoken` is a refresh token: airlock trades it at the
/// registry's token endpoint (a POST, per repository and operation) for
/// the access tokens it pushes and pulls with; a refused one is one error
/// saying so.
#[test]
fn identity_token_is_traded_for_access_tokens() {
    let Some(registry) = token_registry() else { return };
    let host = &registry.host;
    let dir = tempfile::tempdir().unwrap();
    let mut layout = LayoutBuilder::new(&dir.path().join("img"));
    let image = layout.image("amd64", &[layer(&[("hello", b"hello through a token\n", 0o644)])]);
    layout.tag(&image, "team/app:1.0");
    let spec = write_spec(dir.path(), "components:\n  - name: a\n    images: [\"oci-layout:./img:team/app:1.0\"]\n");
    let airlock = Airlock::new();
    let local = dir.path().join("local.airlock");
    airlock.ok(&["create", spec.to_str().unwrap(), "-o", local.to_str().unwrap()]);

    let docker = airlock.home.path().join(".docker/config.json");
    let login = |token: &str| write(&docker, &format!(r#"{{"auths": {{"{host}": {{"identitytoken": "{token}"}}}}}}"#));
    login(REFRESH_TOKEN);
    let dest = format!("{host}/mirror");
    let push = || {
        let mut cmd = hermetic(&airlock);
        cmd.args(["push", local.to_str().unwrap(), "--registry", &dest, "--plain-http", "--allow-unsigned"]);
        run(cmd, None)
    };
    let out = push();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let forms = registry.forms.lock().unwrap().clone();
    assert!(!forms.is_empty());
    for form in &forms {
        assert_eq!(form["grant_type"], "refresh_token");
        assert_eq!(form["refresh_token"], REFRESH_TOKEN);
        assert_eq!(form["client_id"], "airlock");
        assert_eq!(form["service"], "airlock-test");
    }
    let scopes: Vec<&str> = forms.iter().map(|f| f["scope"].as_str()).collect();
    assert!(scopes.contains(&"repository:mirror/team/app:pull,push"), "{scopes:?}");

    // And back: create pulls with a pull-scoped token.
    let pulled = dir.path().join("pulled");
    std::fs::create_dir_all(&pulled).unwrap();
    let spec = write_spec(&pulled, &format!("components:\n  - name: a\n    images: [\"{dest}/team/app:1.0\"]\n"));
    let bundle = pulled.join("b.airlock");
    let mut create = hermetic(&airlock);
    create.args(["create", spec.to_str().unwrap(), "-o", bundle.to_str().unwrap(), "--plain-http"]);
    let out = run(create, None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(airlock.inspect(&bundle)["components"][0]["images"][0]["digest"], image.digest.as_str());

    // A refresh token the endpoint refuses.
    login("revoked");
    let out = push();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(FAILURE), "{err}");
    assert!(
        err.contains(&format!("the token service of registry {host}"))
            && err.contains(&format!("refused the identity token from Docker config {}", docker.display()))
            && err.contains("HTTP 400"),
        "{err}"
    );
}
