//! The HelmChart objects `airlock install --k3s` writes, taken the rest of
//! the way K3s takes them, against real components: the real API server of
//! control_plane.rs, and the real helm-controller (github.com/k3s-io/
//! helm-controller v0.17.9, the controller K3s embeds, built from its Go
//! module by `scripts/build-tools.sh helm-controller`).
//!
//! What is real: the API server (helm-controller registers its own
//! HelmChart and HelmChartConfig CRDs at start, and the server validates
//! every HelmChart against that schema, strictly: a field the schema lacks
//! is an error); K3s's deploy step, done with kubectl as a server-side apply
//! of the very files airlock wrote (K3s's deploy controller uses wrangler's
//! apply rather than server-side apply; the API server validates both the
//! same way); helm-controller claiming the chart, adding its finalizer,
//! storing the chart content in a ConfigMap and the values in a Secret,
//! creating its install Job (suspended, resumed once the real Job controller
//! has seen it), updating the HelmChart's status, replacing the Job when the
//! values change, and, when the HelmChart is deleted, running its uninstall
//! Job, removing what it made and dropping its finalizer; the Job
//! controller, scheduler and garbage collector of the control plane.
//!
//! What kwok only simulates: the Jobs' pods. kwok marks them Running, then
//! Succeeded, and the Job controller completes the Job, but no container
//! runs: the `rancher/klipper-helm` image is never pulled, `helm install`
//! and `helm delete` never run, so no Helm release is recorded, the chart's
//! own objects are never made and the target namespace (which
//! `--create-namespace` would make) never appears. helm-controller therefore
//! never sees a deployed release with its config hash; the HelmChart's
//! status stops at `JobCreated` (it has no condition beyond that and
//! `Failed`). What the pod would have done with the content and values is
//! shown instead by the real Helm v4 rendering the chart from the
//! ConfigMap and Secret helm-controller made.
//!
//! helm-controller (started once per test run by k3s_node.rs) watches
//! HelmCharts in every namespace, as in K3s; each test's chart is named
//! after its corner's unique release (corner.rs), as is the user airlock
//! reaches the API as.

use crate::control_plane::{repo, unique};
use crate::corner::Corner;
use crate::k3s_node::{condition, deploy, helm_controller, helmchart_gone, log_tail, MANIFESTS};
use crate::support::*;
use base64::Engine;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;

const FINALIZER: &str = "wrangler.cattle.io/on-helm-chart-remove";

/// The TCP ports a process listens on, from the socket inodes among its
/// open files and the kernel's socket tables.
fn listening_ports(pid: u32) -> Vec<u16> {
    let inodes: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .filter_map(|fd| std::fs::read_link(fd.ok()?.path()).ok())
        .filter_map(|target| {
            let target = target.to_string_lossy().into_owned();
            Some(target.strip_prefix("socket:[")?.strip_suffix(']')?.to_string())
        })
        .collect();
    let mut ports = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        for line in std::fs::read_to_string(table).unwrap_or_default().lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            // local_address is fields[1] (ADDRESS:PORT in hex), st fields[3] (0A: LISTEN), inode fields[9].
            if fields.len() > 9 && fields[3] == "0A" && inodes.iter().any(|i| i == fields[9]) {
                let port = fields[1].rsplit(':').next().unwrap();
                ports.push(u16::from_str_radix(port, 16).unwrap());
            }
        }
    }
    ports
}

/// A K3s node (a root directory) whose cluster is the control plane, with
/// one chart of its own, in a corner of its own (`Node` derefs to it):
/// the chart is named after the corner's release and installs into its
/// namespace; airlock reaches the API as the corner's user.
struct Node {
    corner: Corner,
    dir: tempfile::TempDir,
    airlock: Airlock,
    /// The chart (the corner's release), and so the HelmChart in kube-system.
    chart: String,
    root: PathBuf,
}

impl std::ops::Deref for Node {
    type Target = Corner;
    fn deref(&self) -> &Corner {
        &self.corner
    }
}

impl Node {
    fn new(prefix: &str) -> Node {
        Node::named(unique(prefix))
    }

    fn named(chart: String) -> Node {
        helm_controller();
        let dir = tempfile::tempdir().unwrap();
        let corner = Corner::named(dir.path(), chart.clone());
        let d = dir.path();
        std::fs::create_dir_all(d.join("chart/templates")).unwrap();
        std::fs::write(d.join("chart/Chart.yaml"), format!("apiVersion: v2\nname: {chart}\nversion: 0.1.0\n")).unwrap();
        std::fs::write(d.join("chart/values.yaml"), "greeting: hi\nmode: 0644\nflags: {switch: off}\n").unwrap();
        std::fs::write(
            d.join("chart/templates/cm.yaml"),
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: {{ .Release.Name }}-greeting}\ndata:\n  greeting: {{ .Values.greeting | quote }}\n  switch: {{ .Values.flags.switch | quote }}\n  mode: {{ .Values.mode | quote }}\n",
        )
        .unwrap();
        // A values file as Helm reads it, YAML 1.1: `on` is true, `0755` the octal 493.
        std::fs::write(d.join("site-values.yaml"), "flags: {switch: on}\nmode: 0755\ngreeting: from-the-file\n")
            .unwrap();
        std::fs::write(d.join("motd"), "an edge node\n").unwrap();
        let root = d.join("node");
        Node { corner, chart, airlock: Airlock::new(), dir, root }
    }

    /// A bundle `hello` of this version, with the chart (values: the file,
    /// and `greeting` inline) or without it.
    fn bundle(&self, version: &str, greeting: Option<&str>) -> PathBuf {
        let d = self.dir.path();
        let charts = match greeting {
            Some(greeting) => format!(
                "[{{name: {}, path: ./chart, namespace: {}, images: explicit, valuesFiles: [site-values.yaml], values: {{greeting: {greeting}}}}}]",
                self.chart, self.ns
            ),
            None => "[]".to_string(),
        };
        let spec = d.join(format!("airlock-{version}.yaml"));
        std::fs::write(
            &spec,
            format!("apiVersion: airlock.dev/v1\nkind: Bundle\nmetadata: {{name: hello, version: {version}}}\ncomponents:\n  - name: app\n    charts: {charts}\n    files: [{{source: motd, target: /etc/motd}}]\n"),
        )
        .unwrap();
        let bundle = d.join(format!("hello-{version}.airlock"));
        self.airlock.ok(&["create", spec.to_str().unwrap(), "-o", bundle.to_str().unwrap()]);
        bundle
    }

    /// `airlock VERB BUNDLE --k3s --root ROOT EXTRA...`: its stdout and stderr.
    fn k3s(&self, verb: &str, bundle: &Path, extra: &[&str]) -> String {
        let mut args = vec![verb, bundle.to_str().unwrap(), "--k3s", "--root", self.root.to_str().unwrap()];
        args.extend(["--platform", "linux/amd64", "--allow-unsigned"]);
        args.extend(extra);
        let out = self.airlock.run(&args);
        let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "airlock {args:?}: {text}");
        text
    }

    /// The HelmChart file airlock wrote for the chart.
    fn chart_file(&self) -> PathBuf {
        self.root.join(MANIFESTS).join(format!("airlock-hello-20-chart-{}.yaml", self.chart))
    }

    fn written(&self) -> Value {
        serde_saphyr::from_str(&std::fs::read_to_string(self.chart_file()).unwrap()).unwrap()
    }

    fn helmchart_path(&self) -> String {
        format!("/apis/helm.cattle.io/v1/namespaces/kube-system/helmcharts/{}", self.chart)
    }

    /// helm-controller's Job for `action` (`install` or `delete`).
    fn job_path(&self, action: &str) -> String {
        format!("/apis/batch/v1/namespaces/kube-system/jobs/helm-{action}-{}", self.chart)
    }

    /// Waits (bounded) for `what` to hold of the object at `path`; the object.
    fn wait_for(&self, path: &str, what: &str, done: impl Fn(&Value) -> bool) -> Value {
        let mut last = None;
        let held = self.plane.eventually(120, || {
            last = self.plane.object(path);
            last.as_ref().is_some_and(&done)
        });
        assert!(held, "{what}: not within 120 s; {path} is {last:?}; helm-controller's log ends: {}", log_tail());
        last.unwrap()
    }

    /// Waits until helm-controller has claimed the HelmChart, reported its
    /// install Job in the status, and that Job has completed; the Job.
    fn installed(&self) -> Value {
        let job_name = format!("helm-install-{}", self.chart);
        let chart = self.wait_for(&self.helmchart_path(), "helm-controller reports its install Job", |c| {
            c["status"]["jobName"] == job_name.as_str()
                && condition(c, "JobCreated") == Some("True")
                && condition(c, "Failed") == Some("False")
                // helm-controller adds its finalizer in a write of its own.
                && c["metadata"]["finalizers"].as_array().is_some_and(|f| f.contains(&json!(FINALIZER)))
        });
        assert_eq!(chart["metadata"]["annotations"]["helmcharts.cattle.io/managed-by"], "helm-controller", "{chart}");
        assert!(chart["metadata"]["finalizers"].as_array().is_some_and(|f| f.contains(&json!(FINALIZER))), "{chart}");
        self.wait_for(&self.job_path("install"), "the install Job completes (kwok's pod)", |job| {
            condition(job, "Complete") == Some("True")
        })
    }

    /// The values Secret's content, as the Job's pod would read it.
    fn values_in_secret(&self) -> Option<String> {
        let secret =
            self.plane.object(&format!("/api/v1/namespaces/kube-system/secrets/chart-values-{}", self.chart))?;
        let data = secret["data"]["HelmChartValuesContent"].as_str()?;
        Some(String::from_utf8(base64::engine::general_purpose::STANDARD.decode(data).unwrap()).unwrap())
    }
}

/// The value of a container's environment variable ("" when it has none).
fn env<'a>(container: &'a Value, name: &str) -> Option<&'a str> {
    let var = container["env"].as_array()?.iter().find(|e| e["name"] == name)?;
    Some(var["value"].as_str().unwrap_or(""))
}

/// What `helm template` (real Helm v4, offline) renders from a chart (a
/// directory or archive) with these values arguments.
fn helm_template(dir: &Path, release: &str, namespace: &str, chart: &Path, values: &[&str]) -> String {
    let helm = repo().join("target/tools/bin/helm");
    assert!(helm.exists(), "helm is not built: run scripts/build-tools.sh helm");
    let home = dir.join("helm-home");
    let out = Command::new(helm)
        .args(["template", release])
        .arg(chart)
        .args(values)
        .args(["--namespace", namespace])
        .env("HOME", &home)
        .env("HELM_CACHE_HOME", home.join("cache"))
        .env("HELM_CONFIG_HOME", home.join("config"))
        .env("HELM_DATA_HOME", home.join("data"))
        .env_remove("KUBECONFIG")
        .output()
        .unwrap();
    assert!(out.status.success(), "helm template: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// The HelmChart airlock writes is accepted by the real API server under
/// helm-controller's own schema, stored as written, and reconciled by the
/// real helm-controller into its install Job carrying the chart content
/// and values airlock wrote; an upgrade that changes the values makes
/// helm-controller replace the Job.
#[test]
fn helm_controller_reconciles_the_helmchart_airlock_writes() {
    let n = Node::new("k3s-chart");
    let plane = n.plane;
    // helm-controller talks to the API server only: it listens on no port.
    assert_eq!(listening_ports(helm_controller().pid), Vec::<u16>::new());
    let v1 = n.bundle("1.0.0", Some("hello"));
    n.k3s("install", &v1, &[]);
    let written = n.written();
    let spec = &written["spec"];
    // The values file read as Helm reads it, the inline values over it.
    let values =
        |chart: &Value| -> Value { serde_saphyr::from_str(chart["spec"]["valuesContent"].as_str().unwrap()).unwrap() };
    assert_eq!(values(&written), json!({"flags": {"switch": true}, "mode": 493, "greeting": "hello"}), "{written}");

    // The schema is enforced: the same object with a wrong type or an
    // unknown field is refused (a server-side dry run).
    for (field, value) in [("createNamespace", json!("yes")), ("chartContents", json!("x"))] {
        let mut wrong = written.clone();
        wrong["spec"][field] = value;
        let path = n.dir.path().join(format!("wrong-{field}.json"));
        std::fs::write(&path, wrong.to_string()).unwrap();
        let out = plane.kubectl(&[
            "apply",
            "--server-side",
            "--validate=strict",
            "--dry-run=server",
            "-f",
            path.to_str().unwrap(),
        ]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && err.contains(field), "spec.{field}: {err}");
    }

    // K3s's deploy step: accepted, and stored as written (nothing pruned).
    deploy(plane, &[n.chart_file()]);
    let stored = plane.object(&n.helmchart_path()).expect("the HelmChart is stored");
    for (key, value) in spec.as_object().unwrap() {
        assert_eq!(&stored["spec"][key], value, "spec.{key} as stored");
    }

    // helm-controller claims it and reports its install Job; the Job
    // (created suspended, resumed once the Job controller saw it) completes
    // on a kwok node.
    let job = n.installed();
    let pod = &job["spec"]["template"]["spec"];
    let helm = &pod["containers"][0];
    assert_eq!(helm["name"], "helm");
    assert_eq!(helm["args"], json!(["install", "--namespace", n.ns, "--create-namespace"]), "{job}");
    assert_eq!(env(helm, "NAME"), Some(n.chart.as_str()));
    assert_eq!(env(helm, "CHART_NAMESPACE"), Some("kube-system"));
    assert_eq!(env(helm, "TARGET_NAMESPACE"), Some(n.ns.as_str()));
    assert_eq!(env(helm, "HELM_DRIVER"), Some("secret"));
    assert_eq!(env(helm, "CHART"), Some(""), "the chart comes from chartContent, not a repository");
    assert_eq!(pod["serviceAccountName"], format!("helm-{}", n.chart));
    // The chart content is mounted at /chart from a ConfigMap holding
    // chartContent as written; the values at /config from a Secret holding
    // valuesContent as written.
    let mount = |path: &str| {
        let mounts = helm["volumeMounts"].as_array().unwrap();
        let name =
            mounts.iter().find(|m| m["mountPath"] == path).unwrap_or_else(|| panic!("{path}: {job}"))["name"].clone();
        pod["volumes"].as_array().unwrap().iter().find(|v| v["name"] == name).unwrap().clone()
    };
    let content_map = format!("chart-content-{}", n.chart);
    assert_eq!(mount("/chart")["configMap"]["name"], content_map.as_str());
    let projected = mount("/config")["projected"]["sources"][0]["secret"].clone();
    assert_eq!(projected["name"], format!("chart-values-{}", n.chart));
    assert_eq!(
        projected["items"],
        json!([{"key": "HelmChartValuesContent", "path": "values-0-000-HelmChart-ValuesContent.yaml"}])
    );
    let content = plane.object(&format!("/api/v1/namespaces/kube-system/configmaps/{content_map}")).unwrap();
    assert_eq!(content["data"][format!("{}.tgz.base64", n.chart)], spec["chartContent"]);
    assert_eq!(n.values_in_secret().as_deref(), spec["valuesContent"].as_str());
    let crb = plane
        .object(&format!("/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/helm-kube-system-{}", n.chart))
        .expect("the Job's ClusterRoleBinding");
    assert_eq!(crb["roleRef"]["name"], "cluster-admin");
    // The Job is reported complete a moment before its pod is listed by
    // every API reader (seen once under load): the pod is waited for.
    let pods_path = format!(
        "/api/v1/namespaces/kube-system/pods?labelSelector=batch.kubernetes.io%2Fjob-name%3Dhelm-install-{}",
        n.chart
    );
    let listed = || plane.object(&pods_path).filter(|p| p["items"].as_array().is_some_and(|items| !items.is_empty()));
    plane.eventually(30, || listed().is_some());
    let pods = plane.object(&pods_path).unwrap();
    let pod = &pods["items"][0];
    assert!(pod["spec"]["nodeName"].as_str().is_some_and(|node| node.starts_with("kwok-")), "{pods}");
    assert_eq!(pod["status"]["phase"], "Succeeded");

    // What the pod would install: real Helm renders the chart from that
    // ConfigMap and Secret (as klipper-helm passes them: the archive, and
    // the values file under /config) exactly as it renders the chart with
    // the spec's values file and inline values given to Helm directly.
    let d = n.dir.path();
    let archive = d.join("chart-content.tgz");
    let b64 = content["data"][format!("{}.tgz.base64", n.chart)].as_str().unwrap();
    std::fs::write(&archive, base64::engine::general_purpose::STANDARD.decode(b64).unwrap()).unwrap();
    let values_file = d.join("values-0-000-HelmChart-ValuesContent.yaml");
    std::fs::write(&values_file, n.values_in_secret().unwrap()).unwrap();
    let rendered = helm_template(d, &n.chart, &n.ns, &archive, &["-f", values_file.to_str().unwrap()]);
    let site = d.join("site-values.yaml");
    let direct =
        helm_template(d, &n.chart, &n.ns, &d.join("chart"), &["-f", site.to_str().unwrap(), "--set", "greeting=hello"]);
    assert_eq!(rendered, direct);
    for line in ["greeting: \"hello\"", "switch: \"true\"", "mode: \"493\""] {
        assert!(rendered.contains(line), "{line}: {rendered}");
    }
    // ... but nothing ran it: no release, and the namespace Helm would
    // have created is not there.
    assert!(plane.object(&format!("/api/v1/namespaces/{}", n.ns)).is_none(), "kwok ran helm?");

    // An upgrade that changes the values: K3s applies the changed file,
    // helm-controller updates the Secret and replaces the Job.
    let old_uid = job["metadata"]["uid"].clone();
    let v2 = n.bundle("1.1.0", Some("hello-again"));
    n.k3s("upgrade", &v2, &[]);
    let written = n.written();
    assert_eq!(values(&written)["greeting"], "hello-again");
    deploy(plane, &[n.chart_file()]);
    assert!(
        plane.eventually(120, || n.values_in_secret().as_deref() == written["spec"]["valuesContent"].as_str()),
        "the values Secret is not updated: {:?}",
        n.values_in_secret()
    );
    let job = n.wait_for(&n.job_path("install"), "the install Job is replaced and completes", |job| {
        job["metadata"]["uid"] != old_uid && condition(job, "Complete") == Some("True")
    });
    assert_ne!(job["spec"]["template"]["metadata"]["annotations"]["helmcharts.helm.cattle.io/configHash"], Value::Null);

    // Leave nothing behind (helm-controller's finalizer is honoured by the
    // uninstall Job; the namespace was never made).
    plane.kubectl_ok(&["delete", "helmchart", &n.chart, "-n", "kube-system", "--wait=false"]);
}

/// Values the bundle marks secret (`secretValues`) are kept out of the
/// HelmChart: they go in a Secret beside it (a manifest file readable by
/// root alone, applied before the HelmChart), which the HelmChart names in
/// `valuesSecrets`; the real helm-controller mounts it into its install
/// Job after `valuesContent`, and real Helm renders from the two what it
/// renders from all the values given at once.
#[test]
fn secret_values_reach_helm_through_a_secret_not_the_helmchart() {
    let n = Node::new("k3s-secret");
    let plane = n.plane;
    let d = n.dir.path();
    let spec = d.join("airlock-secret.yaml");
    std::fs::write(
        &spec,
        format!(
            "apiVersion: airlock.dev/v1\nkind: Bundle\nmetadata: {{name: hello, version: 1.0.0}}\ncomponents:\n  - name: app\n    charts: [{{name: {}, path: ./chart, namespace: {}, images: explicit, secretValues: [greeting]}}]\n",
            n.chart, n.ns
        ),
    )
    .unwrap();
    let bundle = d.join("hello-secret.airlock");
    n.airlock.ok(&["create", spec.to_str().unwrap(), "-o", bundle.to_str().unwrap()]);
    let set = format!("{}.greeting=s3cret-greeting", n.chart);
    n.k3s("install", &bundle, &["--set", &set, "--set", &format!("{}.mode=7", n.chart)]);

    let written = n.written();
    let content = written["spec"]["valuesContent"].as_str().unwrap();
    assert!(!content.contains("s3cret") && content.contains("mode: 7"), "{written}");
    let secret_name = format!("airlock-values-{}", n.chart);
    assert_eq!(written["spec"]["valuesSecrets"], json!([{"name": secret_name, "keys": ["values.yaml"]}]));
    let secret_file = n.root.join(MANIFESTS).join(format!("airlock-hello-15-values-{}.yaml", n.chart));
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&secret_file).unwrap().permissions().mode() & 0o777, 0o600);

    deploy(plane, &[secret_file.clone(), n.chart_file()]);
    let job = n.installed();
    let sources = job["spec"]["template"]["spec"]["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "values")
        .unwrap_or_else(|| panic!("no values volume: {job}"))["projected"]["sources"]
        .clone();
    assert_eq!(sources[1]["secret"]["name"], secret_name.as_str(), "{sources}");
    let item = sources[1]["secret"]["items"][0].clone();
    assert_eq!(item["key"], "values.yaml", "{sources}");

    // Helm reads valuesContent, then the Secret's key, as klipper-helm
    // passes the files under /config in their names' order.
    let stored = plane.object(&format!("/api/v1/namespaces/kube-system/secrets/{secret_name}")).unwrap();
    let secret_values =
        base64::engine::general_purpose::STANDARD.decode(stored["data"]["values.yaml"].as_str().unwrap()).unwrap();
    let first = d.join("values-0-000-HelmChart-ValuesContent.yaml");
    let second = d.join(item["path"].as_str().unwrap());
    assert!(first.file_name() < second.file_name(), "{item}");
    std::fs::write(&first, n.values_in_secret().unwrap()).unwrap();
    std::fs::write(&second, secret_values).unwrap();
    let via_node = helm_template(
        d,
        &n.chart,
        &n.ns,
        &d.join("chart"),
        &["-f", first.to_str().unwrap(), "-f", second.to_str().unwrap()],
    );
    let direct =
        helm_template(d, &n.chart, &n.ns, &d.join("chart"), &["--set", "greeting=s3cret-greeting", "--set", "mode=7"]);
    assert_eq!(via_node, direct);
    assert!(via_node.contains("greeting: \"s3cret-greeting\""), "{via_node}");

    plane.kubectl_ok(&["delete", "helmchart", &n.chart, "-n", "kube-system", "--wait=false"]);
    plane.kubectl_ok(&["delete", "secret", &secret_name, "-n", "kube-system", "--wait=false"]);
}

/// Deleting the HelmChart, as `airlock upgrade` does through the node's API
/// when a chart leaves the bundle, makes helm-controller run its uninstall
/// Job and then remove the HelmChart's finalizer, the Jobs, the content
/// ConfigMap, the values Secret and the Job's ServiceAccount and
/// ClusterRoleBinding: the HelmChart is gone within a bounded time.
#[test]
fn a_helmchart_airlock_deletes_is_uninstalled_by_helm_controller() {
    let n = Node::new("k3s-gone");
    let plane = n.plane;
    n.k3s("install", &n.bundle("1.0.0", Some("hello")), &[]);
    deploy(plane, &[n.chart_file()]);
    n.installed();

    // 1.1 drops the chart: airlock removes the file and deletes the HelmChart.
    let out = n.k3s("upgrade", &n.bundle("1.1.0", None), &["--kubeconfig", n.kubeconfig.to_str().unwrap()]);
    assert!(out.contains(&format!("Deleted HelmChart kube-system/{}", n.chart)), "{out}");
    assert!(!n.chart_file().exists());
    assert_eq!(n.deletes_answered(), [(n.helmchart_path(), 200)]);

    // helm-controller's finalizer holds it until its uninstall Job is done.
    assert!(
        helmchart_gone(plane, &n.helmchart_path()),
        "the HelmChart is still there: {:?}",
        plane.object(&n.helmchart_path())
    );
    let events = plane
        .object(&format!("/api/v1/namespaces/kube-system/events?fieldSelector=involvedObject.name%3D{}", n.chart))
        .unwrap();
    let said: Vec<&str> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["reason"] == "RemoveJob")
        .filter_map(|e| e["message"].as_str())
        .collect();
    let uninstalled =
        format!("Uninstalled HelmChart using Job kube-system/helm-delete-{}, removing resources", n.chart);
    assert!(said.contains(&uninstalled.as_str()), "{said:?}");
    // What helm-controller made for the chart goes with it.
    let made = [
        n.job_path("install"),
        n.job_path("delete"),
        format!("/api/v1/namespaces/kube-system/configmaps/chart-content-{}", n.chart),
        format!("/api/v1/namespaces/kube-system/secrets/chart-values-{}", n.chart),
        format!("/api/v1/namespaces/kube-system/serviceaccounts/helm-{}", n.chart),
        format!("/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/helm-kube-system-{}", n.chart),
    ];
    for path in &made {
        assert!(plane.eventually(120, || plane.object(path).is_none()), "{path} is left: {:?}", plane.object(path));
    }
    // The next run has nothing left to delete.
    n.k3s("upgrade", &n.bundle("1.1.0", None), &["--kubeconfig", n.kubeconfig.to_str().unwrap()]);
    assert_eq!(n.deletes_answered().len(), 1);
}

/// `NAME-xxx...`, `len` characters long.
fn padded(name: String, len: usize) -> String {
    let pad = len - name.len() - 1;
    format!("{name}-{}", "x".repeat(pad))
}

/// helm-controller runs a chart in a Job named `helm-install-CHART`, and the
/// API server refuses a Job name over 63 characters: a chart of 50
/// characters is installed; one of 51 (a valid Helm release name) is
/// refused by airlock before anything is written, where it used to be
/// written and then retried by helm-controller forever, with nothing in the
/// HelmChart's status to say why.
#[test]
fn chart_names_are_no_longer_than_helm_controller_can_run() {
    let n = Node::named(padded(unique("k3s-long"), 50));
    n.k3s("install", &n.bundle("1.0.0", Some("hello")), &[]);
    deploy(n.plane, &[n.chart_file()]);
    let job = n.installed();
    assert_eq!(job["metadata"]["name"].as_str().unwrap().len(), 63);
    n.plane.kubectl_ok(&["delete", "helmchart", &n.chart, "-n", "kube-system", "--wait=false"]);

    let n = Node::named(padded(unique("k3s-long"), 51));
    let bundle = n.bundle("1.0.0", Some("hello"));
    let out = n.airlock.run(&[
        "install",
        bundle.to_str().unwrap(),
        "--k3s",
        "--root",
        n.root.to_str().unwrap(),
        "--allow-unsigned",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains(&format!("helm-install-{}", n.chart)) && err.contains("50 characters at most"), "{err}");
    assert!(snapshot(&n.root).is_empty(), "a refused install wrote files");
}
