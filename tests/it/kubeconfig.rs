//! How the cluster commands find their cluster, as kubectl does:
//! `--kubeconfig`, else the files in `KUBECONFIG` merged, else
//! `~/.kube/config`; `--context` picks a context. Each test reaches a live
//! API server only through the context it means, every other one pointing
//! at a port where nothing listens, so a wrong choice fails with "cannot
//! reach the cluster". `airlock history NAME` is the cheap command that
//! reaches the cluster: "no revision of `NAME` is recorded" is the answer
//! of a server that was reached.
//!
//! The server is the real control plane of control_plane.rs; the
//! kubeconfigs here are made from the cluster and user entries of its own
//! kubeconfig.

use crate::control_plane::{control_plane, unique};
use crate::support::*;
use serde_json::{json, Value};
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Output;

/// The API server, and the kubeconfig entries that reach it.
struct Server {
    /// Its `clusters` entry's `cluster`, and its `users` entry's `user`.
    cluster: Value,
    user: Value,
}

impl Server {
    /// The control plane's (started on first use).
    fn new() -> Server {
        let (cluster, user) = entries_of(&control_plane().kubeconfig);
        Server { cluster, user }
    }

    /// The same cluster at a port where nothing listens.
    fn dead_cluster(&self) -> Value {
        let mut dead = self.cluster.clone();
        let server = dead["server"].as_str().unwrap();
        let (address, _port) = server.rsplit_once(':').unwrap();
        dead["server"] = json!(format!("{address}:{}", free_port()));
        dead
    }
}

/// The cluster and user that a kubeconfig's current context names.
fn entries_of(kubeconfig: &Path) -> (Value, Value) {
    let config: Value = serde_saphyr::from_str(&std::fs::read_to_string(kubeconfig).unwrap()).unwrap();
    let current = config["current-context"].as_str().unwrap();
    let named = |list: &str, name: &str| -> Value {
        let entry = config[list].as_array().unwrap().iter().find(|e| e["name"] == name).unwrap();
        entry.as_object().unwrap().iter().find(|(k, _)| *k != "name").unwrap().1.clone()
    };
    let context = named("contexts", current);
    (named("clusters", context["cluster"].as_str().unwrap()), named("users", context["user"].as_str().unwrap()))
}

/// A kubeconfig file (JSON, which is YAML): `contexts` as (name, cluster, user).
fn write_kubeconfig(
    path: &Path,
    current: Option<&str>,
    contexts: &[(&str, &str, &str)],
    clusters: &[(&str, &Value)],
    users: &[(&str, &Value)],
) -> PathBuf {
    let mut config = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "contexts": contexts.iter().map(|(name, cluster, user)| json!({"name": name, "context": {"cluster": cluster, "user": user}})).collect::<Vec<_>>(),
        "clusters": clusters.iter().map(|(name, cluster)| json!({"name": name, "cluster": cluster})).collect::<Vec<_>>(),
        "users": users.iter().map(|(name, user)| json!({"name": name, "user": user})).collect::<Vec<_>>(),
    });
    if let Some(current) = current {
        config["current-context"] = json!(current);
    }
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, config.to_string()).unwrap();
    path.to_path_buf()
}

/// airlock with `HOME` (an empty directory unless given) and the
/// environment given, nothing else of kubectl's from this process.
fn run(airlock: &Airlock, home: &Path, env: &[(&str, &OsStr)], args: &[&str]) -> Output {
    let mut cmd = airlock.cmd();
    cmd.env("HOME", home)
        .env_remove("KUBECONFIG")
        .env_remove("KUBERNETES_SERVICE_HOST")
        .env_remove("KUBERNETES_SERVICE_PORT");
    for (name, value) in env {
        cmd.env(name, value);
    }
    cmd.args(args).output().unwrap()
}

/// The stderr of a command that failed with exit code `code`.
#[track_caller]
fn stderr_of_failure(code: i32, out: &Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(code), "stdout: {}\nstderr: {stderr}", String::from_utf8_lossy(&out.stdout));
    stderr
}

/// `history NAME` failed because the server it reached records no revision
/// of NAME; returns its stderr.
fn reached(out: &Output, name: &str) -> String {
    let err = stderr_of_failure(FAILURE, out);
    assert!(err.contains(&format!("no revision of `{name}` is recorded in the cluster")), "not reached: {err}");
    err
}

/// The command failed because it went to the dead cluster.
fn unreachable(out: &Output) {
    let err = stderr_of_failure(FAILURE, out);
    assert!(err.contains("cannot reach the cluster"), "{err}");
}

#[test]
fn kubeconfig_lists_files_merged_as_kubectl_merges_them() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let server = Server::new();
    let dead = server.dead_cluster();
    let airlock = Airlock::new();
    let name = unique("merged");
    // a: the context, naming a cluster and user that only b defines. b:
    // a current-context and a context `app` of its own, both to the dead
    // cluster, which lose to a's, as kubectl has them lose.
    let a = write_kubeconfig(&d.join("a"), Some("app"), &[("app", "live", "admin")], &[], &[]);
    let b = write_kubeconfig(
        &d.join("b"),
        Some("elsewhere"),
        &[("app", "dead", "admin"), ("elsewhere", "dead", "admin")],
        &[("live", &server.cluster), ("dead", &dead)],
        &[("admin", &server.user)],
    );
    // ~/.kube/config, to the dead cluster, is not read when KUBECONFIG is set.
    let home = d.join("home");
    write_kubeconfig(&home.join(".kube/config"), Some("home"), &[("home", "dead", "u")], &[("dead", &dead)], &[]);
    // A file in the list that is not there is skipped, as kubectl skips it.
    let list = std::env::join_paths([d.join("missing"), a.clone(), b.clone()]).unwrap();
    let out = run(&airlock, &home, &[("KUBECONFIG", &list)], &["history", &name]);
    let err = reached(&out, &name);
    assert!(err.contains(&format!("context `app` of KUBECONFIG {}", list.to_string_lossy())), "{err}");

    // The other way round b's current-context, and its `app`, win.
    let reversed = std::env::join_paths([b.clone(), a.clone()]).unwrap();
    unreachable(&run(&airlock, &home, &[("KUBECONFIG", &reversed)], &["history", &name]));
    unreachable(&run(&airlock, &home, &[("KUBECONFIG", &reversed)], &["history", &name, "--context", "app"]));
    // And --kubeconfig reads its file alone: a without b has no cluster `live`.
    let err = stderr_of_failure(
        USAGE,
        &run(&airlock, &home, &[("KUBECONFIG", &list)], &["history", &name, "--kubeconfig", a.to_str().unwrap()]),
    );
    assert!(err.contains(&format!("cannot use kubeconfig {}", a.display())) && err.contains("live"), "{err}");
}

#[test]
fn home_kube_config_when_kubeconfig_is_not_set() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let server = Server::new();
    let dead = server.dead_cluster();
    let airlock = Airlock::new();
    let name = unique("home");
    let home = d.join("home");
    let config = write_kubeconfig(
        &home.join(".kube/config"),
        Some("home"),
        &[("home", "live", "admin")],
        &[("live", &server.cluster)],
        &[("admin", &server.user)],
    );
    let err = reached(&run(&airlock, &home, &[], &["history", &name]), &name);
    assert!(err.contains(&format!("context `home` of kubeconfig {}", config.display())), "{err}");
    // An empty KUBECONFIG is none, for kubectl too.
    reached(&run(&airlock, &home, &[("KUBECONFIG", OsStr::new(""))], &["history", &name]), &name);

    // --kubeconfig, and KUBECONFIG, come before it.
    let elsewhere = write_kubeconfig(
        &d.join("elsewhere"),
        Some("x"),
        &[("x", "dead", "admin")],
        &[("dead", &dead)],
        &[("admin", &server.user)],
    );
    unreachable(&run(&airlock, &home, &[], &["history", &name, "--kubeconfig", elsewhere.to_str().unwrap()]));
    unreachable(&run(&airlock, &home, &[("KUBECONFIG", elsewhere.as_os_str())], &["history", &name]));
}

#[test]
fn context_picks_the_context_of_every_cluster_command() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let server = Server::new();
    let dead = server.dead_cluster();
    let airlock = Airlock::new();
    let name = unique("ctx");
    // Its current-context is the dead cluster; `live` reaches the server.
    let kubeconfig = write_kubeconfig(
        &d.join("config"),
        Some("dead"),
        &[("dead", "dead", "admin"), ("live", "live", "admin")],
        &[("dead", &dead), ("live", &server.cluster)],
        &[("admin", &server.user)],
    );
    let mut bundles = Vec::new();
    for version in ["1.0.0", "1.1.0"] {
        let b = d.join(version);
        std::fs::create_dir_all(&b).unwrap();
        std::fs::write(
            b.join("cm.yaml"),
            format!("apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {name}, namespace: default}}\ndata: {{version: \"{version}\"}}\n"),
        )
        .unwrap();
        let spec = write_spec(&b, "components:\n  - name: app\n    manifests: [cm.yaml]\n");
        let text = std::fs::read_to_string(&spec)
            .unwrap()
            .replace("{name: test, version: 1.0.0}", &format!("{{name: {name}, version: {version}}}"));
        std::fs::write(&spec, text).unwrap();
        let bundle = b.join("app.airlock");
        airlock.ok(&["create", spec.to_str().unwrap(), "-o", bundle.to_str().unwrap()]);
        bundles.push(bundle);
    }
    let home = d.join("home");
    let k = ["--kubeconfig", kubeconfig.to_str().unwrap()];
    let ok = |args: &[&str]| {
        let out = run(&airlock, &home, &[], &[args, &k[..], &["--context", "live"]].concat());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "airlock {args:?} --context live failed:\n{stderr}");
        String::from_utf8(out.stdout).unwrap()
    };
    // Without --context, the current one: the dead cluster.
    unreachable(&run(
        &airlock,
        &home,
        &[],
        &[&["install", bundles[0].to_str().unwrap(), "--allow-unsigned"], &k[..]].concat(),
    ));
    unreachable(&run(&airlock, &home, &[], &[&["history", &name], &k[..]].concat()));

    ok(&["install", bundles[0].to_str().unwrap(), "--allow-unsigned"]);
    ok(&["upgrade", bundles[1].to_str().unwrap(), "--allow-unsigned"]);
    ok(&["rollback", &name]);
    let history = ok(&["history", &name]);
    assert_eq!(history.lines().count(), 3, "{history}");
    assert!(history.contains("rollback"), "{history}");
    // `test` reached the release: it has no test hooks to run.
    let err = stderr_of_failure(
        FAILURE,
        &run(&airlock, &home, &[], &[&["test", &name], &k[..], &["--context", "live"]].concat()),
    );
    assert!(err.contains("has no test hooks"), "{err}");
    // --context applies to the files of KUBECONFIG as well.
    let history =
        run(&airlock, &home, &[("KUBECONFIG", kubeconfig.as_os_str())], &["history", &name, "--context", "live"]);
    assert!(history.status.success(), "{}", String::from_utf8_lossy(&history.stderr));
    ok(&["uninstall", &name]);
    let err = stderr_of_failure(
        FAILURE,
        &run(&airlock, &home, &[], &[&["uninstall", &name], &k[..], &["--context", "live"]].concat()),
    );
    assert!(err.contains(&format!("{name} is not installed in this cluster")), "{err}");
}

#[test]
fn an_unknown_context_is_named_with_the_contexts_there_are() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let server = Server::new();
    let airlock = Airlock::new();
    let home = d.join("home");
    let a = write_kubeconfig(
        &d.join("a"),
        Some("dev"),
        &[("dev", "live", "admin")],
        &[("live", &server.cluster)],
        &[("admin", &server.user)],
    );
    let b = write_kubeconfig(&d.join("b"), None, &[("staging", "live", "admin")], &[], &[]);
    let err = stderr_of_failure(
        USAGE,
        &run(&airlock, &home, &[], &["history", "app", "--kubeconfig", a.to_str().unwrap(), "--context", "prod"]),
    );
    assert!(err.contains(&format!("context `prod` is not in kubeconfig {}; it has: dev", a.display())), "{err}");
    // Of KUBECONFIG's files, every context is listed.
    let list = std::env::join_paths([&a, &b]).unwrap();
    let err = stderr_of_failure(
        USAGE,
        &run(&airlock, &home, &[("KUBECONFIG", &list)], &["uninstall", "app", "--context", "prod"]),
    );
    assert!(
        err.contains(&format!("context `prod` is not in KUBECONFIG {}; it has: dev, staging", list.to_string_lossy())),
        "{err}"
    );
    // Without a kubeconfig at all, that is said.
    let err = stderr_of_failure(USAGE, &run(&airlock, &home, &[], &["test", "app", "--context", "prod"]));
    assert!(err.contains("context `prod` is not in any kubeconfig: none was found"), "{err}");
}

#[test]
fn no_cluster_found_says_what_was_tried_and_both_targets() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let airlock = Airlock::new();
    let home = d.join("home");
    std::fs::create_dir_all(&home).unwrap();
    let home_config = home.join(".kube/config");
    let err = stderr_of_failure(USAGE, &run(&airlock, &home, &[], &["rollback", "app"]));
    assert!(err.contains("choose a target: --k3s (this K3s node), or a cluster through its API"), "{err}");
    assert!(err.contains("--kubeconfig FILE, KUBECONFIG or ~/.kube/config"), "{err}");
    assert!(err.contains(&format!("tried KUBECONFIG (not set), {} (not there)", home_config.display())), "{err}");
    assert!(
        err.contains("the cluster airlock runs in (KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set)"),
        "{err}"
    );
    // `test` has no --k3s: it offers the kubeconfig alone.
    let err = stderr_of_failure(USAGE, &run(&airlock, &home, &[], &["test", "app"]));
    assert!(err.starts_with("error: no cluster found: tried KUBECONFIG (not set)"), "{err}");
    assert!(!err.contains("--k3s"), "{err}");
    // KUBECONFIG's files, none there: ~/.kube/config is not read either.
    write_kubeconfig(
        &home_config,
        Some("x"),
        &[("x", "c", "u")],
        &[("c", &json!({"server": "http://127.0.0.1:1"}))],
        &[],
    );
    let list = std::env::join_paths([d.join("a"), d.join("b")]).unwrap();
    let err = stderr_of_failure(USAGE, &run(&airlock, &home, &[("KUBECONFIG", &list)], &["history", "app"]));
    let (a, b) = (d.join("a"), d.join("b"));
    assert!(err.contains(&format!("tried KUBECONFIG ({}, {}: not there)", a.display(), b.display())), "{err}");
}

/// In a pod of the cluster (a Job running airlock), with no kubeconfig
/// anywhere: `KUBERNETES_SERVICE_HOST`/`PORT` and the service account's
/// token, CA and namespace under /var/run/secrets/kubernetes.io/
/// serviceaccount. The token is a real one the API server issued to a
/// ServiceAccount bound to cluster-admin; the files are laid on a tmpfs
/// over /run in a mount namespace of the command's own (`unshare -m`), so
/// this machine's own /run is untouched.
#[test]
fn in_a_pod_the_service_account_reaches_the_cluster() {
    if missing_tool("unshare") {
        return;
    }
    let plane = control_plane();
    let ns = crate::control_plane::unique("in-pod");
    plane.kubectl_ok(&["create", "namespace", &ns]);
    plane.kubectl_ok(&["-n", &ns, "create", "serviceaccount", "runner"]);
    let binding = format!("{ns}-runner");
    let subject = format!("--serviceaccount={ns}:runner");
    plane.kubectl_ok(&["create", "clusterrolebinding", &binding, "--clusterrole=cluster-admin", &subject]);
    let token = plane.kubectl_ok(&["-n", &ns, "create", "token", "runner", "--duration=10m"]);

    let dir = tempfile::tempdir().unwrap();
    let account = dir.path().join("serviceaccount");
    std::fs::create_dir_all(&account).unwrap();
    std::fs::write(account.join("token"), token.trim()).unwrap();
    std::fs::write(account.join("namespace"), &ns).unwrap();
    let (cluster, _) = entries_of(&plane.kubeconfig);
    std::fs::copy(cluster["certificate-authority"].as_str().unwrap(), account.join("ca.crt")).unwrap();
    let server = cluster["server"].as_str().unwrap();
    let port = server.rsplit_once(':').unwrap().1.to_string();

    let airlock = Airlock::new();
    let script = format!(
        "mount -t tmpfs tmpfs /run && mkdir -p /run/secrets/kubernetes.io && cp -r {} /run/secrets/kubernetes.io/ && exec \"$@\"",
        account.display()
    );
    let mut cmd = airlock.cmd();
    let binary = cmd.get_program().to_owned();
    cmd.env("HOME", dir.path())
        .env_remove("KUBECONFIG")
        .env("KUBERNETES_SERVICE_HOST", "127.0.0.1")
        .env("KUBERNETES_SERVICE_PORT", &port);
    // The same environment as airlock's own command (set and removed).
    let mut unshare = std::process::Command::new("unshare");
    unshare.args(["-m", "--propagation", "private", "sh", "-c", &script, "sh"]).arg(binary).args(["history", &binding]);
    for (name, value) in cmd.get_envs() {
        match value {
            Some(value) => unshare.env(name, value),
            None => unshare.env_remove(name),
        };
    }
    let out = unshare.output().unwrap();
    plane.kubectl_ok(&["delete", "clusterrolebinding", &binding]);
    plane.kubectl_ok(&["delete", "namespace", &ns, "--wait=false"]);
    let err = stderr_of_failure(FAILURE, &out);
    assert!(err.contains(&format!("no revision of `{binding}` is recorded")), "{err}");
    assert!(err.contains("the cluster airlock runs in"), "{err}");
}
