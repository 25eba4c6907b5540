//! The acceptance test of the five systems of `bundles/` (issue 23): Penguin,
//! agent-hub, PAP, AIaaS and KubeChat, each carried across an air gap as a
//! release engineer and a site operator would carry it, and the bundles'
//! specs and own charts checked without a cluster.
//!
//! Real: the airlock binary; the bundles' specs, values and charts as
//! committed (the vendored third-party charts unmodified); Debian's
//! docker-registry twice per system (the build host's pull-through mirror,
//! and the site's registry with TLS and htpasswd); skopeo (through
//! scripts/standin-images.sh); the Kubernetes control plane of
//! control_plane.rs (etcd, kube-apiserver, controller manager, scheduler);
//! the Helm v4 CLI (`helm template`, `helm list`). Penguin is also
//! installed onto a K3s node root (a directory: the files K3s would read
//! are checked, no K3s runs).
//!
//! Simulated: the images are stand-ins (scripts/standin-images.sh: busybox
//! under each image's name and tag, amd64 and arm64); the pods are kwok's
//! (no container runs; kwok marks them ready); the internet is absent: the
//! build host is a network namespace of its own (`unshare -n`) holding only
//! its loopback and the mirror, so `create` cannot reach anything else.
//!
//! Known limits of the test cluster (the bundles' READMEs say the same):
//! kwok runs no container, so operators' admission webhooks never answer.
//! PAP is installed with `--skip cert-manager` (cert-manager's webhook has
//! `failurePolicy: Fail` hard-coded; its CRDs still come, from
//! `cert-manager-crds`), and agent-hub with
//! `--set cnpg.webhook.mutating.failurePolicy=Ignore --set
//! cnpg.webhook.validating.failurePolicy=Ignore` (CloudNativePG's webhook
//! would stop the `Cluster`). On a real cluster neither is needed.
//!
//! The five share the one control plane of the test run and install into
//! the bundles' own namespaces; their cluster phases (install to uninstall)
//! take turns (`CLUSTER`), since they apply the same cluster-wide CRDs
//! (servicemonitors, the traefik.io kinds) and the issue asks that they
//! install one after the other. Each test uninstalls its system and deletes
//! its namespaces (also when it fails), so the shared plane is left clean.
//! The namespaces are the bundles' own, fixed names (`traefik`,
//! `cert-manager`, ...): a test elsewhere that uses one of them at the
//! same time would clash with these (install_cluster.rs's
//! `real_charts_install_into_a_cluster` uses `traefik` and `cert-manager`;
//! a turn here waits only until such a namespace has finished
//! terminating).

use crate::control_plane::{control_plane, repo};
use crate::support::{built_helm, helm_command, missing_tool, run_ok, unaudited_kubeconfig, Airlock, Registry};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::MutexGuard;
use std::time::{Duration, Instant};

const SYSTEMS: [&str; 5] = ["penguin", "agent-hub", "pap", "aiaas", "kubechat"];

/// The Kubernetes version of the control plane (scripts/cluster.sh), for
/// offline renders.
const KUBE_VERSION: &str = "v1.37.2";

/// How long an install, upgrade or rollback may wait for readiness.
const TIMEOUT: &str = "150s";

fn bundle_dir(system: &str) -> PathBuf {
    repo().join("bundles").join(system)
}

fn read_yaml(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{} is not YAML: {e}", path.display()))
}

fn text(out: &[u8]) -> String {
    String::from_utf8_lossy(out).into_owned()
}

/// The references of a bundle's images.txt (the first word of each line
/// that is not a comment).
fn images_txt(system: &str) -> Vec<String> {
    let list = std::fs::read_to_string(bundle_dir(system).join("images.txt")).unwrap();
    list.lines().filter_map(|l| l.split('#').next().unwrap().split_whitespace().next()).map(String::from).collect()
}

/// The registry host of a fully qualified reference (images.txt's are).
fn source_host(reference: &str) -> &str {
    let host = reference.split('/').next().unwrap();
    assert!(
        reference.contains('/') && (host.contains('.') || host.contains(':')),
        "{reference}: not fully qualified (images.txt names each image as the bundle carries it)"
    );
    host
}

/// A chart entry of a spec: (component, entry).
fn chart_entries(spec: &Value) -> Vec<(String, Value)> {
    let mut entries = Vec::new();
    for component in spec["components"].as_array().expect("components") {
        for chart in component["charts"].as_array().into_iter().flatten() {
            entries.push((component["name"].as_str().unwrap().to_string(), chart.clone()));
        }
    }
    entries
}

fn strings(value: &Value) -> Vec<String> {
    value.as_array().into_iter().flatten().map(|v| v.as_str().expect("a string").to_string()).collect()
}

/// `b` merged into `a` as Helm merges values files (maps deeply, the rest replaced).
fn merge(a: &mut Value, b: &Value) {
    match (a, b) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                merge(a.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
        (a, b) => *a = b.clone(),
    }
}

/// The value at a dotted path (`ingress.host`), if set and not null.
fn lookup<'a>(values: &'a Value, dotted: &str) -> Option<&'a Value> {
    dotted.split('.').try_fold(values, |v, k| v.get(k)).filter(|v| !v.is_null())
}

/// The site values file of an environment: `site.ENV.example.yaml` when
/// the bundle has one (Penguin's edge), else `site.example.yaml`.
fn site_file(dir: &Path, env: Option<&str>) -> PathBuf {
    env.map(|e| dir.join(format!("site.{e}.example.yaml")))
        .filter(|p| p.exists())
        .unwrap_or(dir.join("site.example.yaml"))
}

/// The values files, in order, a chart of a bundle gets at install with
/// `--env ENV -f SITE`: the chart entry's (`valuesFiles`, then `values`),
/// the environment's for it (the same two), then the site's section for
/// it. Inline values are written as files into `scratch`.
fn layered_values(dir: &Path, spec: &Value, chart: &Value, env: Option<&str>, scratch: &Path) -> Vec<PathBuf> {
    let name = chart["name"].as_str().unwrap();
    let tag = env.unwrap_or("none");
    let mut layers = vec![chart.clone()];
    if let Some(env) = env {
        layers.push(spec["environments"][env]["charts"][name].clone());
    }
    let site = read_yaml(&site_file(dir, env));
    layers.push(json!({"values": site[name]}));
    let mut files = Vec::new();
    for (i, layer) in layers.iter().enumerate() {
        for file in strings(&layer["valuesFiles"]) {
            let path = dir.join(&file);
            assert!(path.is_file(), "{}: values file {file} is missing", dir.display());
            files.push(path);
        }
        if !layer["values"].is_null() {
            let path = scratch.join(format!("{name}-{tag}-{i}.yaml"));
            // JSON is YAML.
            std::fs::write(&path, serde_json::to_string(&layer["values"]).unwrap()).unwrap();
            files.push(path);
        }
    }
    files
}

/// Waits (at most `seconds`) until `done` holds; panics naming `what`.
fn wait_for(seconds: u64, what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    while !done() {
        assert!(Instant::now() < deadline, "{what}: not there within {seconds} s");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

// ---------------------------------------------------------------------------
// The specs and the charts, without a cluster.

/// What a spec must be for its bundle to build and install: the checks
/// that need no images (`create` itself, which needs them, runs in each
/// system's end-to-end test).
fn check_spec(system: &str, dir: &Path, spec: &Value) {
    let at = |what: &str| format!("bundles/{system}/airlock.yaml: {what}");
    assert_eq!(spec["apiVersion"], "airlock.dev/v1", "{}", at("apiVersion"));
    assert_eq!(spec["kind"], "Bundle", "{}", at("kind"));
    assert_eq!(spec["metadata"]["name"], system, "{}", at("metadata.name is not the bundle's directory"));
    assert!(spec["metadata"]["version"].as_str().is_some_and(|v| !v.is_empty()), "{}", at("no metadata.version"));
    let exists =
        |path: &str, what: &str| assert!(dir.join(path).exists(), "{}", at(&format!("{what} {path} is missing")));

    let mut components = BTreeSet::new();
    let mut charts = BTreeMap::new();
    let listed: BTreeSet<String> = images_txt(system).into_iter().collect();
    for component in spec["components"].as_array().expect("components") {
        let name = component["name"].as_str().expect("a component's name");
        assert!(components.insert(name.to_string()), "{}", at(&format!("component {name} twice")));
        for path in strings(&component["crds"]).iter().chain(&strings(&component["manifests"])) {
            exists(path, "file");
        }
        for file in component["files"].as_array().into_iter().flatten() {
            exists(file["source"].as_str().unwrap(), "file source");
        }
        for image in strings(&component["images"]) {
            assert!(listed.contains(&image), "{}", at(&format!("image {image} is not in images.txt")));
        }
    }
    for (component, chart) in chart_entries(spec) {
        let name = chart["name"].as_str().expect("a chart's name").to_string();
        let path = chart["path"].as_str().expect("a chart's path");
        exists(&format!("{path}/Chart.yaml"), "chart");
        assert!(chart["namespace"].as_str().is_some(), "{}", at(&format!("chart {name} has no namespace")));
        for file in strings(&chart["valuesFiles"]) {
            exists(&file, "values file");
        }
        assert!(charts.insert(name.clone(), component).is_none(), "{}", at(&format!("chart {name} twice")));
    }

    let environments = spec["environments"].as_object().expect("environments");
    let wanted: &[&str] = if system == "penguin" { &["prod", "edge"] } else { &["prod"] };
    for env in wanted {
        assert!(environments.contains_key(*env), "{}", at(&format!("no environment {env}")));
    }
    for (env, settings) in environments {
        for (chart, layer) in settings["charts"].as_object().into_iter().flatten() {
            assert!(
                charts.contains_key(chart),
                "{}",
                at(&format!("environment {env} sets values of chart {chart}, which is not in the bundle"))
            );
            for file in strings(&layer["valuesFiles"]) {
                exists(&file, "values file");
            }
        }
        for (component, layer) in settings["components"].as_object().into_iter().flatten() {
            assert!(
                components.contains(component),
                "{}",
                at(&format!("environment {env} names component {component}, which is not in the bundle"))
            );
            for kustomization in strings(&layer["kustomizations"]) {
                exists(&format!("{kustomization}/kustomization.yaml"), "kustomization");
            }
        }
    }

    // The site's values name the bundle's charts and give every required
    // value (over what the bundle itself gives).
    for env in std::iter::once(None).chain(environments.keys().map(|e| Some(e.as_str()))) {
        let site = read_yaml(&site_file(dir, env));
        for key in site.as_object().expect("site values are a map keyed by chart").keys() {
            assert!(
                charts.contains_key(key),
                "bundles/{system}/site*.example.yaml: {key} is not a chart of the bundle"
            );
        }
        for (_, chart) in chart_entries(spec) {
            let name = chart["name"].as_str().unwrap();
            let scratch = tempfile::tempdir().unwrap();
            let mut values = Value::Object(Default::default());
            for file in layered_values(dir, spec, &chart, env, scratch.path()) {
                merge(&mut values, &read_yaml(&file));
            }
            for required in strings(&chart["requiredValues"]) {
                assert!(
                    lookup(&values, &required).is_some(),
                    "bundles/{system}: required value {name}.{required} is not given by the bundle nor the site example (environment {env:?})"
                );
            }
        }
    }
}

/// The documents of a render (Helm's layout: `---` lines between them),
/// by `Kind namespace/name` (a document without a namespace is in the
/// release's, `namespace`).
fn documents(rendered: &str, namespace: &str) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    let mut chunk = String::new();
    for line in rendered.lines().chain(std::iter::once("---")) {
        if line.trim_end() != "---" {
            chunk.push_str(line);
            chunk.push('\n');
            continue;
        }
        let document: Value = serde_saphyr::from_str(&chunk).unwrap_or_else(|e| panic!("{e}:\n{chunk}"));
        chunk.clear();
        if document.is_null() {
            continue;
        }
        let kind = document["kind"].as_str().unwrap_or_else(|| panic!("a document without kind: {document}"));
        let name =
            document["metadata"]["name"].as_str().unwrap_or_else(|| panic!("a document without name: {document}"));
        let ns = document["metadata"]["namespace"].as_str().unwrap_or(namespace);
        let id = format!("{kind} {ns}/{name}");
        assert!(out.insert(id.clone(), document).is_none(), "{id} twice in a render");
    }
    out
}

/// Renders a chart with airlock and with the Helm CLI (offline, a home of
/// its own), the same values files, release name and namespace; panics
/// unless both give the same objects. Returns how many.
fn render_both(helm: &Path, chart: &Path, name: &str, namespace: &str, values: &[PathBuf], what: &str) -> usize {
    let airlock = Airlock::new();
    let mut ours = airlock.cmd();
    ours.arg("template").arg(chart).args(["--name", name, "-n", namespace, "--kube-version", KUBE_VERSION]);
    ours.arg("--include-crds");
    let home = tempfile::tempdir().unwrap();
    let mut theirs = helm_command(helm, home.path());
    theirs.args(["template", name]).arg(chart).args(["--namespace", namespace, "--kube-version", KUBE_VERSION]);
    theirs.arg("--include-crds").env("HOME", home.path());
    for file in values {
        ours.arg("-f").arg(file);
        theirs.arg("-f").arg(file);
    }
    let (ours, theirs) = (ours.output().unwrap(), theirs.output().unwrap());
    assert!(ours.status.success(), "airlock template {what}:\n{}", text(&ours.stderr));
    assert!(theirs.status.success(), "helm template {what}:\n{}", text(&theirs.stderr));
    let (ours, theirs) = (documents(&text(&ours.stdout), namespace), documents(&text(&theirs.stdout), namespace));
    let (our_ids, their_ids): (BTreeSet<_>, BTreeSet<_>) = (ours.keys().collect(), theirs.keys().collect());
    assert_eq!(our_ids, their_ids, "{what}: airlock template (left) and helm template (right) render other objects");
    let differ: Vec<&String> = ours.iter().filter(|(id, doc)| theirs[*id] != **doc).map(|(id, _)| id).collect();
    assert!(differ.is_empty(), "{what}: airlock and helm render these differently: {differ:?}");
    assert!(!ours.is_empty(), "{what} renders nothing");
    ours.len()
}

#[test]
fn every_bundle_spec_and_chart_is_well_formed() {
    let Some(helm) = built_helm() else { return };
    let charts_dir = repo().join("charts");
    let scratch = tempfile::tempdir().unwrap();
    // Own chart directory -> the renders made of it.
    let mut rendered: BTreeMap<PathBuf, Vec<String>> = BTreeMap::new();
    for system in SYSTEMS {
        let dir = bundle_dir(system);
        let spec = read_yaml(&dir.join("airlock.yaml"));
        check_spec(system, &dir, &spec);
        let environments: Vec<String> = spec["environments"].as_object().unwrap().keys().cloned().collect();
        for (_, chart) in chart_entries(&spec) {
            let path = dir.join(chart["path"].as_str().unwrap()).canonicalize().unwrap();
            if path.starts_with(charts_dir.join("vendor")) {
                continue;
            }
            let (name, namespace) = (chart["name"].as_str().unwrap(), chart["namespace"].as_str().unwrap());
            for env in std::iter::once(None).chain(environments.iter().map(|e| Some(e.as_str()))) {
                let what = format!("chart {name} of bundle {system}, environment {}", env.unwrap_or("(none)"));
                let values = layered_values(&dir, &spec, &chart, env, scratch.path());
                let count = render_both(&helm, &path, name, namespace, &values, &what);
                rendered.entry(path.clone()).or_default().push(format!("{what}: {count} objects"));
            }
        }
    }
    // Every own chart of charts/ was rendered; one no bundle of the five
    // uses (the demo's) with its defaults.
    for entry in std::fs::read_dir(&charts_dir).unwrap() {
        let path = entry.unwrap().path().canonicalize().unwrap();
        if path.file_name() == Some(OsStr::new("vendor")) || !path.join("Chart.yaml").exists() {
            continue;
        }
        if !rendered.contains_key(&path) {
            let name = path.file_name().unwrap().to_str().unwrap().to_string();
            let what = format!("chart {name} (defaults)");
            let count = render_both(&helm, &path, &name, "default", &[], &what);
            rendered.entry(path).or_default().push(format!("{what}: {count} objects"));
        }
    }
    for (chart, renders) in &rendered {
        eprintln!("{}:\n  {}", chart.display(), renders.join("\n  "));
    }
    for own in ["penguin", "agent-hub", "pap", "aiaas-api-router", "aiaas-user-org", "aiaas-analytics", "kubechat"] {
        assert!(rendered.contains_key(&charts_dir.join(own).canonicalize().unwrap()), "charts/{own} was not rendered");
    }
}

// ---------------------------------------------------------------------------
// The build host: a network namespace with its loopback only.

/// Where the build host's pull-through mirror listens, inside its own
/// network namespace (so no other test can hold that port).
const MIRROR: &str = "127.0.0.1:5000";

/// A connected build host without the internet: a network namespace of its
/// own (`unshare --net`, held by a `sleep` process), whose only interface
/// is its loopback, with a docker-registry on it as the pull-through
/// mirror. Commands enter it with `nsenter`. Both processes are killed by
/// their PIDs on drop.
struct BuildHost {
    holder: Child,
    mirror: Option<Child>,
    dir: tempfile::TempDir,
}

impl BuildHost {
    /// None (the test skips, saying so) when network namespaces cannot be
    /// made here; under CI they must be.
    fn start() -> Option<BuildHost> {
        if missing_tool("unshare") || missing_tool("nsenter") || missing_tool("ip") {
            return None;
        }
        if !Command::new("unshare").args(["--net", "true"]).status().is_ok_and(|s| s.success()) {
            assert!(std::env::var_os("CI").is_none(), "unshare --net is not permitted");
            eprintln!("skipping: unshare --net is not permitted here");
            return None;
        }
        let holder = Command::new("unshare")
            .args(["--net", "--", "sleep", "3600"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("unshare runs");
        let mut host = BuildHost { holder, mirror: None, dir: tempfile::tempdir().unwrap() };
        // unshare makes the namespace, then execs sleep: until then, nsenter
        // would enter this machine's own network.
        let own = std::fs::read_link("/proc/self/ns/net").unwrap();
        let theirs = format!("/proc/{}/ns/net", host.holder.id());
        wait_for(10, "the build host's network namespace", || std::fs::read_link(&theirs).is_ok_and(|l| l != own));
        run_ok(host.command("ip").args(["link", "set", "lo", "up"]));
        let d = host.dir.path();
        let config = d.join("config.yml");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: {MIRROR}\n",
                d.join("data").display()
            ),
        )
        .unwrap();
        let mirror = host
            .command("docker-registry")
            .arg("serve")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(d.join("mirror.log")).unwrap())
            .spawn()
            .expect("start docker-registry");
        host.mirror = Some(mirror);
        let (host_port, port) = MIRROR.split_once(':').unwrap();
        let probe = format!("exec 3<>/dev/tcp/{host_port}/{port}");
        wait_for(20, "the build host's mirror", || {
            host.command("bash").args(["-c", &probe]).stderr(Stdio::null()).status().is_ok_and(|s| s.success())
        });
        Some(host)
    }

    /// `program` run inside the build host's network namespace.
    fn command(&self, program: impl AsRef<OsStr>) -> Command {
        let mut command = Command::new("nsenter");
        command.args(["--target", &self.holder.id().to_string(), "--net", "--"]).arg(program);
        command
    }

    /// `inner` (its program, arguments and environment) run inside the
    /// build host's network namespace.
    fn enter(&self, inner: &Command) -> Command {
        let mut command = self.command(inner.get_program());
        command.args(inner.get_args());
        for (key, value) in inner.get_envs() {
            match value {
                Some(value) => command.env(key, value),
                None => command.env_remove(key),
            };
        }
        command
    }

    /// The end of the mirror's log (its 404s for what a client asks first
    /// are normal).
    fn mirror_log(&self) -> String {
        let log = std::fs::read_to_string(self.dir.path().join("mirror.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(10)..].join("\n")
    }

    /// Pushes stand-ins of the images listed in `list` into the mirror, as
    /// a pull-through cache would hold them (`MIRROR/<host>/<path>:<tag>`).
    fn standins(&self, list: &Path) {
        let script = repo().join("scripts/standin-images.sh");
        let mut command = self.command("bash");
        // No download (there is no internet here anyway): the arm64 image
        // carries a cached arm64 busybox if there is one, else the amd64
        // one under an arm64 label (the script says so).
        command.arg(script).args(["--plain-http", MIRROR]).arg(list).env("STANDIN_NO_DOWNLOAD", "1");
        let out = command.output().unwrap();
        assert!(
            out.status.success(),
            "standin-images.sh {}:\n{}{}",
            list.display(),
            text(&out.stdout),
            text(&out.stderr)
        );
    }

    /// `airlock create SPEC -o OUT`, signed with `key`, every source host
    /// of `hosts` pulled through the mirror, inside the build host.
    fn create(&self, airlock: &Airlock, spec: &Path, out: &Path, key: &Path, hosts: &BTreeSet<String>) {
        let mut create = airlock.cmd();
        create.arg("create").arg(spec).arg("-o").arg(out).arg("--plain-http").arg("--sign-key").arg(key);
        for host in hosts {
            create.arg("--registry-mirror").arg(format!("{host}={MIRROR}/{host}"));
        }
        let run = self.enter(&create).output().unwrap();
        assert!(
            run.status.success(),
            "airlock create {} failed:\n{}\nthe mirror's log:\n{}",
            spec.display(),
            text(&run.stderr),
            self.mirror_log()
        );
    }
}

impl Drop for BuildHost {
    fn drop(&mut self) {
        for child in self.mirror.iter_mut().chain(std::iter::once(&mut self.holder)) {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

// ---------------------------------------------------------------------------
// One system, end to end.

/// What a system's 1.1 changes: one image (a new stand-in tag) and one
/// value, both in the prod environment's values of one chart.
struct Change {
    version: &'static str,
    chart: &'static str,
    /// Values (JSON) merged into `environments.prod.charts.CHART.values`.
    values: &'static str,
    /// The image's source reference in 1.0, and in 1.1.
    image: (&'static str, &'static str),
    namespace: &'static str,
    /// The Deployment that runs the image.
    deployment: &'static str,
    /// Where the value shows: a resource (`deployment/x`) and a kubectl
    /// JSONPath into it.
    value_at: (&'static str, &'static str),
    /// The value in 1.0, and in 1.1.
    value: (&'static str, &'static str),
}

struct System {
    name: &'static str,
    /// Components the test cluster cannot run (see the file's doc), left
    /// out at install and upgrade with `--skip`.
    skipped: &'static [&'static str],
    /// Site values the test cluster needs at install (see the file's doc);
    /// the upgrade gives none, so keeps them.
    install_values: &'static [&'static str],
    change: Change,
}

/// Turns of the five systems on the shared control plane, shared with the
/// other tests that install Traefik or cert-manager by their own names.
fn cluster_turn() -> MutexGuard<'static, ()> {
    crate::support::fixed_names_turn()
}

/// A system's site: the work directory, the signing key, the build host
/// with its mirror, the site's TLS+auth registry, and a kubeconfig whose
/// user is the system's own (`test-systems-NAME`, for the audit log).
struct Site {
    system: &'static System,
    spec: Value,
    work: tempfile::TempDir,
    airlock: Airlock,
    build: BuildHost,
    registry: Registry,
    key: PathBuf,
    public: PathBuf,
    kubeconfig: PathBuf,
    helm: PathBuf,
}

/// The destination `push` and `install` are given: the site registry and a prefix.
fn site_prefix(registry: &Registry) -> String {
    format!("{}/site", registry.host)
}

impl Site {
    /// None (the test skips, saying so) when a tool is missing outside CI.
    fn new(system: &'static System) -> Option<Site> {
        if missing_tool("docker-registry") || missing_tool("skopeo") || missing_tool("htpasswd") {
            return None;
        }
        let helm = built_helm()?;
        let build = BuildHost::start()?;
        let work = tempfile::tempdir().unwrap();
        let airlock = Airlock::new();
        let (key, public) = airlock.keypair(work.path(), "release");
        let kubeconfig = control_plane().kubeconfig_as(work.path(), &format!("test-systems-{}", system.name));
        let spec = read_yaml(&bundle_dir(system.name).join("airlock.yaml"));
        Some(Site { system, spec, work, airlock, build, registry: Registry::tls(), key, public, kubeconfig, helm })
    }

    fn path(&self, name: &str) -> PathBuf {
        self.work.path().join(name)
    }

    fn ok(&self, args: &[&str]) -> String {
        self.airlock.ok(args)
    }

    /// Every source host of the bundle's images.
    fn hosts(&self) -> BTreeSet<String> {
        images_txt(self.system.name).iter().map(|i| source_host(i).to_string()).collect()
    }

    /// On the build host: `create` (signed, through the mirror); then as the
    /// operator: `verify`, `split` into parts, `copy` them to "removable
    /// media" (verified as they go), `verify` the copy, and `push` it into
    /// the site registry. Returns the copy (the parts' directory, which
    /// every command reads in place) and the push's relocations.
    fn carry(&self, spec: &Path, name: &str) -> (PathBuf, Value) {
        let bundle = self.path(&format!("{name}.airlock"));
        self.build.create(&self.airlock, spec, &bundle, &self.key, &self.hosts());
        let public = self.public.to_str().unwrap();
        let b = bundle.to_str().unwrap();
        self.ok(&["verify", b, "--key", public]);

        let size = std::fs::metadata(&bundle).unwrap().len();
        let parts = self.path(&format!("{name}-parts"));
        let part_size = format!("{}KiB", size / 1024 / 3 + 2);
        self.ok(&["split", b, "--max-part-size", &part_size, "-o", parts.to_str().unwrap()]);
        let count = std::fs::read_dir(&parts).unwrap().count();
        assert!(count >= 3, "{size} bytes in parts of {part_size}: {count} parts");
        let media = self.path(&format!("{name}-media"));
        self.ok(&["copy", parts.to_str().unwrap(), media.to_str().unwrap()]);
        let m = media.to_str().unwrap();
        self.ok(&["verify", m, "--key", public]);

        let relocations = self.path(&format!("{name}-relocations.json"));
        let tls = self.registry.tls.as_ref().unwrap();
        self.ok(&[
            "push",
            m,
            "--registry",
            &site_prefix(&self.registry),
            "--ca-file",
            tls.ca.to_str().unwrap(),
            "--username",
            &tls.user,
            "--password",
            &tls.password,
            "--key",
            public,
            "--relocation-out",
            relocations.to_str().unwrap(),
        ]);
        (media, serde_json::from_slice(&std::fs::read(&relocations).unwrap()).unwrap())
    }

    /// airlock with the site's kubeconfig, trusted key and registry; must succeed.
    fn cluster(&self, args: &[&str]) -> String {
        let tls = self.registry.tls.as_ref().unwrap();
        let prefix = site_prefix(&self.registry);
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--kubeconfig", self.kubeconfig.to_str().unwrap()]);
        if matches!(args[0], "install" | "upgrade") {
            all.extend(["--registry", &prefix, "--username", &tls.user, "--password", &tls.password]);
            all.extend(["--key", self.public.to_str().unwrap()]);
            for skip in self.system.skipped {
                all.extend(["--skip", skip]);
            }
        }
        let out = self.airlock.run(&all);
        assert!(out.status.success(), "airlock {all:?} failed:\n{}{}", text(&out.stdout), text(&out.stderr));
        text(&out.stdout)
    }

    /// The charts installed into the cluster: (release, namespace) of every
    /// chart of a component not skipped.
    fn releases(&self) -> Vec<(String, String)> {
        chart_entries(&self.spec)
            .into_iter()
            .filter(|(component, _)| !self.system.skipped.contains(&component.as_str()))
            .map(|(_, c)| (c["name"].as_str().unwrap().to_string(), c["namespace"].as_str().unwrap().to_string()))
            .collect()
    }

    /// The namespaces of the bundle's charts (skipped ones too: they are
    /// the bundle's).
    fn namespaces(&self) -> BTreeSet<String> {
        chart_entries(&self.spec).iter().map(|(_, c)| c["namespace"].as_str().unwrap().to_string()).collect()
    }

    /// Waits (bounded) until no namespace of the system is being deleted:
    /// one that another test (or a failed turn) deleted without waiting
    /// would refuse what is installed into it.
    fn wait_out_terminating_namespaces(&self) {
        let plane = control_plane();
        let namespaces = self.namespaces();
        let mut args = vec!["get", "namespaces", "--ignore-not-found", "-o", "jsonpath={.items[*].status.phase}"];
        args.extend(namespaces.iter().map(String::as_str));
        let gone = plane.eventually(120, || !plane.kubectl_ok(&args).contains("Terminating"));
        assert!(gone, "{}: a namespace of {namespaces:?} is still terminating after 120 s", self.system.name);
    }

    /// The Deployments and StatefulSets in the namespaces of the system's
    /// installed charts.
    fn workloads(&self) -> Vec<Value> {
        let mut workloads = Vec::new();
        for ns in self.releases().into_iter().map(|(_, ns)| ns).collect::<BTreeSet<_>>() {
            let list = control_plane().kubectl_ok(&["-n", &ns, "get", "deployments,statefulsets", "-o", "json"]);
            let list: Value = serde_json::from_str(&list).unwrap();
            workloads.extend(list["items"].as_array().unwrap().iter().cloned());
        }
        workloads
    }

    /// Every workload ready (`kubectl rollout status`'s rules: the newest
    /// generation observed, as many replicas updated and ready as wanted),
    /// and every container image it runs from the site registry.
    fn assert_ready(&self, when: &str) {
        let id = |w: &Value| format!("{} {}/{}", w["kind"], w["metadata"]["namespace"], w["metadata"]["name"]);
        let unready = |workloads: &[Value]| -> Vec<String> {
            let mut unready = Vec::new();
            for w in workloads {
                let wanted = w["spec"]["replicas"].as_u64().unwrap_or(1);
                let number = |key: &str| w["status"][key].as_u64().unwrap_or(0);
                let observed = number("observedGeneration") >= w["metadata"]["generation"].as_u64().unwrap_or(0);
                if !observed || number("readyReplicas") < wanted || number("updatedReplicas") < wanted {
                    let (ready, updated) = (number("readyReplicas"), number("updatedReplicas"));
                    unready.push(format!("{}: {ready}/{wanted} ready, {updated} updated, observed: {observed}", id(w)));
                }
            }
            unready
        };
        let mut last = (Vec::new(), Vec::new());
        // --wait returned, so they are ready now; the slack is for the
        // HPAs, which set replicas after the first rollout.
        let ready = control_plane().eventually(60, || {
            let workloads = self.workloads();
            assert!(!workloads.is_empty(), "{}: no Deployment or StatefulSet {when}", self.system.name);
            last = (unready(&workloads), workloads);
            last.0.is_empty()
        });
        assert!(ready, "{} {when}: not ready: {:#?}", self.system.name, last.0);
        let prefix = format!("{}/", site_prefix(&self.registry));
        // The pods pull with the credentials given (--username/--password).
        let pull_secret = json!({"name": format!("airlock-registry-{}", self.system.name)});
        for w in &last.1 {
            let pod = &w["spec"]["template"]["spec"];
            let secrets = pod["imagePullSecrets"].as_array().cloned().unwrap_or_default();
            assert!(secrets.contains(&pull_secret), "{} {when}: imagePullSecrets {secrets:?}", id(w));
            for container in
                ["initContainers", "containers"].iter().flat_map(|l| pod[l].as_array().into_iter().flatten())
            {
                let image = container["image"].as_str().unwrap();
                assert!(image.starts_with(&prefix), "{} {when}: {image} is not from the site registry", id(w));
            }
        }
    }

    /// The releases `helm list -A` (the real Helm CLI) shows.
    fn helm_list(&self) -> Vec<Value> {
        let out = run_ok(
            helm_command(&self.helm, &self.path("helm"))
                .args(["list", "--all-namespaces", "--output", "json", "--kubeconfig"])
                .arg(unaudited_kubeconfig()),
        );
        serde_json::from_slice::<Value>(&out.stdout).unwrap().as_array().unwrap().clone()
    }

    /// `helm list -A` (the real Helm CLI) shows every chart of the system
    /// as a deployed release at `revision`.
    fn assert_helm_lists(&self, revision: u64) {
        let listed = self.helm_list();
        for (name, ns) in self.releases() {
            let release = listed
                .iter()
                .find(|r| r["name"] == name.as_str() && r["namespace"] == ns.as_str())
                .unwrap_or_else(|| panic!("helm list -A does not show release {ns}/{name}:\n{listed:#?}"));
            assert_eq!(release["status"], "deployed", "{release}");
            assert_eq!(release["revision"], revision.to_string(), "{release}");
        }
    }

    /// The image the change's Deployment runs (the container whose image
    /// is the changed one's repository, relocated), and the changed value.
    fn live(&self) -> (String, String) {
        let plane = control_plane();
        let change = &self.system.change;
        let deployment = format!("deployment/{}", change.deployment);
        let images = plane.kubectl_ok(&[
            "-n",
            change.namespace,
            "get",
            &deployment,
            "-o",
            "jsonpath={.spec.template.spec.containers[*].image}",
        ]);
        let repository = change.image.0.rsplit_once(':').unwrap().0.split_once('/').unwrap().1;
        let image = images
            .split_whitespace()
            .find(|i| i.contains(&format!("/{repository}:")))
            .unwrap_or_else(|| panic!("{deployment} runs no image of {repository}: {images}"))
            .to_string();
        let (resource, jsonpath) = change.value_at;
        let value = plane.kubectl_ok(&["-n", change.namespace, "get", resource, "-o", &format!("jsonpath={jsonpath}")]);
        (image, value)
    }

    /// The 1.1 spec: a copy of the bundle's directory (beside a link to
    /// charts/, so its relative paths hold) whose version, prod values of
    /// the change's chart, and (for a chart whose images are listed
    /// explicitly) image list carry the change. Written as JSON (YAML).
    fn spec_1_1(&self) -> PathBuf {
        let change = &self.system.change;
        let root = self.path("1.1");
        let dir = root.join("bundles").join(self.system.name);
        copy_dir(&bundle_dir(self.system.name), &dir);
        std::os::unix::fs::symlink(repo().join("charts"), root.join("charts")).unwrap();
        let mut spec = self.spec.clone();
        spec["metadata"]["version"] = json!(change.version);
        let values: Value = serde_json::from_str(change.values).unwrap();
        let prod = &mut spec["environments"]["prod"]["charts"][change.chart];
        assert!(prod.is_object(), "{}: prod sets no values of {}", self.system.name, change.chart);
        merge(&mut prod["values"], &values);
        let (old, new) = change.image;
        let mut replaced = false;
        for component in spec["components"].as_array_mut().unwrap() {
            let explicit = component["charts"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|c| c["name"] == change.chart && c["images"] == "explicit");
            // (get_mut: indexing would add a null `images` to every component.)
            if let Some(images) = component.get_mut("images").and_then(Value::as_array_mut).filter(|_| explicit) {
                for image in images.iter_mut().filter(|i| *i == old) {
                    *image = json!(new);
                    replaced = true;
                }
                assert!(replaced, "{}: chart {} lists its images, but not {old}", self.system.name, change.chart);
            }
        }
        let path = dir.join("airlock.yaml");
        std::fs::write(&path, serde_json::to_string_pretty(&spec).unwrap()).unwrap();
        // The new image's stand-in, in the build host's mirror.
        let list = self.path("images-1.1.txt");
        std::fs::write(&list, format!("{new}\n")).unwrap();
        self.build.standins(&list);
        path
    }
}

/// Uninstalls the system (unless `finish` did) and deletes its namespaces
/// (without waiting) when dropped: the shared plane is left clean whether
/// the test passed or not.
struct Installed<'a> {
    site: &'a Site,
    uninstalled: bool,
}

impl Installed<'_> {
    /// `uninstall`: then neither Helm nor airlock knows the system.
    fn finish(mut self) {
        let site = self.site;
        site.cluster(&["uninstall", site.system.name, "--timeout", TIMEOUT]);
        self.uninstalled = true;
        for (name, ns) in site.releases() {
            let left =
                site.helm_list().into_iter().find(|r| r["name"] == name.as_str() && r["namespace"] == ns.as_str());
            assert!(left.is_none(), "helm list -A still shows {ns}/{name} after the uninstall: {left:?}");
        }
        let records = format!("airlock.{}.v", site.system.name);
        let left: Vec<String> = control_plane()
            .names("/api/v1/namespaces/airlock-system/secrets")
            .into_iter()
            .filter(|n| n.starts_with(&records))
            .collect();
        assert!(left.is_empty(), "airlock's records of {} are left after the uninstall: {left:?}", site.system.name);
    }
}

impl Drop for Installed<'_> {
    fn drop(&mut self) {
        let site = self.site;
        if !self.uninstalled {
            let out = site.airlock.run(&[
                "uninstall",
                site.system.name,
                "--kubeconfig",
                site.kubeconfig.to_str().unwrap(),
                "--timeout",
                "60s",
            ]);
            eprintln!("cleaning up after a failure: airlock uninstall {}: {}", site.system.name, text(&out.stderr));
        }
        let mut args = vec!["delete", "namespace", "--wait=false", "--ignore-not-found"];
        let namespaces = site.namespaces();
        args.extend(namespaces.iter().map(String::as_str));
        let out = control_plane().kubectl(&args);
        assert!(out.status.success() || std::thread::panicking(), "kubectl {args:?}: {}", text(&out.stderr));
    }
}

/// The whole journey of one system; returns the site and the 1.0 bundle
/// (its copied parts) for what a test checks beyond it.
fn end_to_end(system: &'static System) -> Option<(Site, PathBuf)> {
    let site = Site::new(system)?;
    let name = system.name;
    let dir = bundle_dir(name);
    let change = &system.change;

    // The build host: stand-ins of every image the bundle names, in its mirror.
    site.build.standins(&dir.join("images.txt"));
    let (v1, relocations) = site.carry(&dir.join("airlock.yaml"), &format!("{name}-1.0"));
    // Where push put the changed image: `REGISTRY/site/PATH:TAG@DIGEST`,
    // which install names whole (pinned to the digest the bundle carries;
    // the registry's tag resolves to it too: checked here with skopeo).
    let relocated = |relocations: &Value, source: &str| -> String {
        let pushed =
            relocations[source].as_str().unwrap_or_else(|| panic!("push relocated no {source}: {relocations:#}"));
        let (reference, digest) = pushed.split_once('@').unwrap_or_else(|| panic!("{pushed}: no digest"));
        let repo_tag = reference.strip_prefix(&format!("{}/", site.registry.host)).unwrap();
        assert_eq!(site.registry.manifest_digest(repo_tag), digest, "{pushed}: the site registry's tag");
        pushed.to_string()
    };
    let old_image = relocated(&relocations, change.image.0);
    // The 1.1 bundle is made (and pushed) before the cluster's turn.
    let spec_1_1 = site.spec_1_1();
    let (v2, relocations_1_1) = site.carry(&spec_1_1, &format!("{name}-1.1"));
    let new_image = relocated(&relocations_1_1, change.image.1);

    let turn = cluster_turn();
    site.wait_out_terminating_namespaces();
    let installed = Installed { site: &site, uninstalled: false };
    let site_values = dir.join("site.example.yaml");
    let mut install = vec!["install", v1.to_str().unwrap(), "--env", "prod", "-f", site_values.to_str().unwrap()];
    install.extend(["--wait", "--timeout", TIMEOUT]);
    for value in system.install_values {
        install.extend(["--set", value]);
    }
    site.cluster(&install);
    site.assert_ready("after install");
    site.assert_helm_lists(1);
    let (image, value) = site.live();
    // The image runs from the site registry.
    assert_eq!(image, old_image, "the image {} after install", change.image.0);
    assert_eq!(value, change.value.0, "{:?} after install", change.value_at);

    site.cluster(&["upgrade", v2.to_str().unwrap(), "--wait", "--timeout", TIMEOUT]);
    site.assert_ready("after the upgrade to 1.1");
    site.assert_helm_lists(2);
    assert_eq!(site.live(), (new_image, change.value.1.to_string()), "after the upgrade to {}", change.version);

    site.cluster(&["rollback", name, "--wait", "--timeout", TIMEOUT]);
    site.assert_ready("after the rollback");
    site.assert_helm_lists(3);
    assert_eq!(site.live(), (old_image, change.value.0.to_string()), "after the rollback");

    installed.finish();
    drop(turn);
    Some((site, v1))
}

static PENGUIN: System = System {
    name: "penguin",
    skipped: &[],
    install_values: &[],
    change: Change {
        version: "1.1.0",
        chart: "penguin",
        values: r#"{"web": {"image": {"tag": "1.1.0"}, "env": {"PENGUIN_DEBUG": "1"}}}"#,
        image: ("ghcr.io/penguin/penguin-web:1.0.0", "ghcr.io/penguin/penguin-web:1.1.0"),
        namespace: "penguin",
        deployment: "penguin-web",
        value_at: (
            "deployment/penguin-web",
            r#"{.spec.template.spec.containers[*].env[?(@.name=="PENGUIN_DEBUG")].value}"#,
        ),
        value: ("0", "1"),
    },
};

static AGENT_HUB: System = System {
    name: "agent-hub",
    skipped: &[],
    install_values: &["cnpg.webhook.mutating.failurePolicy=Ignore", "cnpg.webhook.validating.failurePolicy=Ignore"],
    change: Change {
        version: "1.1.0",
        chart: "agent-hub",
        values: r#"{"api": {"image": {"tag": "1.1.0"}, "allowedOrigins": "https://hub.example.localhost"}}"#,
        image: ("docker.io/ronaldraygun/agent-hub-api:latest", "docker.io/ronaldraygun/agent-hub-api:1.1.0"),
        namespace: "agent-hub",
        deployment: "agent-hub-api",
        value_at: (
            "deployment/agent-hub-api",
            r#"{.spec.template.spec.containers[*].env[?(@.name=="ALLOWED_ORIGINS")].value}"#,
        ),
        value: ("https://agent-hub.localhost", "https://hub.example.localhost"),
    },
};

static PAP: System = System {
    name: "pap",
    skipped: &["cert-manager"],
    install_values: &[],
    change: Change {
        version: "1.1.0",
        chart: "pap",
        values: r#"{"agents": {"research": {"image": "plugged.in/agents/research:v1.3.0"}}, "agentDefaults": {"heartbeat": {"interval": 15}}}"#,
        image: ("plugged.in/agents/research:v1.2.0", "plugged.in/agents/research:v1.3.0"),
        namespace: "pap-agents",
        deployment: "research-agent",
        value_at: (
            "deployment/research-agent",
            r#"{.spec.template.spec.containers[*].env[?(@.name=="HEARTBEAT_INTERVAL")].value}"#,
        ),
        value: ("30", "15"),
    },
};

static AIAAS: System = System {
    name: "aiaas",
    skipped: &[],
    install_values: &[],
    change: Change {
        version: "1.1.0",
        chart: "aiaas-user-org",
        values: r#"{"image": {"tag": "1.1.0"}, "config": {"LOG_LEVEL": "debug"}}"#,
        image: ("ghcr.io/aiaas-platform/user-org:1.0.0", "ghcr.io/aiaas-platform/user-org:1.1.0"),
        namespace: "aiaas",
        deployment: "user-org",
        value_at: ("configmap/user-org", "{.data.LOG_LEVEL}"),
        value: ("info", "debug"),
    },
};

static KUBECHAT: System = System {
    name: "kubechat",
    skipped: &[],
    install_values: &[],
    change: Change {
        version: "1.2.4",
        chart: "kubechat",
        values: r#"{"apiGateway": {"image": {"tag": "v1.2.4"}}, "config": {"logLevel": "debug"}}"#,
        image: ("ghcr.io/company/kubechat:v1.2.3", "ghcr.io/company/kubechat:v1.2.4"),
        namespace: "kubechat-system",
        deployment: "kubechat-api-gateway",
        value_at: (
            "deployment/kubechat-operator",
            r#"{.spec.template.spec.containers[*].env[?(@.name=="KUBECHAT_LOG_LEVEL")].value}"#,
        ),
        value: ("info", "debug"),
    },
};

#[test]
fn penguin_is_carried_installed_upgraded_rolled_back_and_put_on_a_k3s_root() {
    let Some((site, v1)) = end_to_end(&PENGUIN) else { return };
    penguin_on_a_k3s_root(&site, &v1);
}

#[test]
fn agent_hub_is_carried_installed_upgraded_and_rolled_back() {
    end_to_end(&AGENT_HUB);
}

#[test]
fn pap_is_carried_installed_upgraded_and_rolled_back() {
    end_to_end(&PAP);
}

#[test]
fn aiaas_is_carried_installed_upgraded_and_rolled_back() {
    end_to_end(&AIAAS);
}

#[test]
fn kubechat_is_carried_installed_upgraded_and_rolled_back() {
    end_to_end(&KUBECHAT);
}

/// Penguin's edge flavour: the 1.0 bundle (its copied parts) installed with
/// `--env edge` onto an empty K3s node root: the K3s drop-in, one HelmChart
/// per chart with the edge values (the secret ones kept out of it), and the
/// images tarball K3s imports.
fn penguin_on_a_k3s_root(site: &Site, bundle: &Path) {
    let root = site.path("edge-node");
    std::fs::create_dir_all(&root).unwrap();
    let dir = bundle_dir("penguin");
    let edge_values = dir.join("site.edge.example.yaml");
    site.ok(&[
        "install",
        bundle.to_str().unwrap(),
        "--k3s",
        "--root",
        root.to_str().unwrap(),
        "--env",
        "edge",
        "-f",
        edge_values.to_str().unwrap(),
        "--key",
        site.public.to_str().unwrap(),
        "--platform",
        "linux/amd64",
    ]);
    use std::os::unix::fs::PermissionsExt;

    // The drop-in that turns K3s's own Traefik off, as the bundle has it.
    let dropin = root.join("etc/rancher/k3s/config.yaml.d/50-penguin.yaml");
    assert_eq!(
        std::fs::read(&dropin).unwrap_or_else(|e| panic!("{}: {e}", dropin.display())),
        std::fs::read(dir.join("k3s/50-penguin.yaml")).unwrap()
    );
    assert_eq!(std::fs::metadata(&dropin).unwrap().permissions().mode() & 0o7777, 0o644);

    // A HelmChart per chart, its chart inline, the edge environment's and
    // the site's values in valuesContent, the secret values elsewhere.
    let manifests = root.join(crate::k3s_node::MANIFESTS);
    let mut charts = BTreeMap::new();
    let mut secret_files = Vec::new();
    for entry in std::fs::read_dir(&manifests).unwrap_or_else(|e| panic!("{}: {e}", manifests.display())) {
        let path = entry.unwrap().path();
        let body = std::fs::read_to_string(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        for (id, document) in documents(&body, "kube-system") {
            if id.starts_with("HelmChart ") {
                assert!(
                    !body.contains("example-penguin-db-password"),
                    "{}: a secret value in a HelmChart",
                    path.display()
                );
                charts.insert(document["spec"]["targetNamespace"].as_str().unwrap_or_default().to_string(), document);
            } else if id.starts_with("Secret ") {
                secret_files.push((path.clone(), mode));
            }
        }
    }
    assert_eq!(charts.keys().collect::<Vec<_>>(), ["penguin", "traefik"], "the HelmCharts' target namespaces");
    for chart in charts.values() {
        assert!(chart["spec"]["chartContent"].as_str().is_some_and(|c| c.len() > 1000), "no chart inline: {chart}");
    }
    let values: Value = serde_saphyr::from_str(charts["penguin"]["spec"]["valuesContent"].as_str().unwrap()).unwrap();
    assert_eq!(values["web"]["replicaCount"], 1, "{values:#}");
    assert_eq!(values["autoscaling"]["enabled"], false, "{values:#}");
    assert_eq!(values["workspace"]["accessModes"], json!(["ReadWriteOnce"]), "{values:#}");
    assert_eq!(values["workspace"]["storageClass"], "local-path", "{values:#}");
    let traefik: Value = serde_saphyr::from_str(charts["traefik"]["spec"]["valuesContent"].as_str().unwrap()).unwrap();
    assert_eq!(traefik["service"]["type"], "LoadBalancer", "{traefik:#}");
    assert!(
        !secret_files.is_empty() && secret_files.iter().all(|(_, mode)| *mode == 0o600),
        "the secret values' manifest (mode 0600): {secret_files:?}"
    );

    // The images, one tarball, under their original names.
    let images = root.join("var/lib/rancher/k3s/agent/images");
    let tarballs: Vec<PathBuf> = std::fs::read_dir(&images)
        .unwrap_or_else(|e| panic!("{}: {e}", images.display()))
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(tarballs.len(), 1, "{tarballs:?}");
    let mut index = String::new();
    let mut archive = tar::Archive::new(std::fs::File::open(&tarballs[0]).unwrap());
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let path = entry.path().unwrap().to_string_lossy().into_owned();
        if path == "manifest.json" || path == "index.json" {
            std::io::Read::read_to_string(&mut entry, &mut index).unwrap();
        }
    }
    for image in images_txt("penguin") {
        assert!(index.contains(&image), "{image} is not in the images tarball's index:\n{index}");
    }
}
