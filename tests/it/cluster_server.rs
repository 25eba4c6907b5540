//! What only a real API server shows about `install|upgrade --kubeconfig`:
//! field ownership under server-side apply (fields dropped between versions
//! leave the live object; another manager's fields are not taken silently),
//! `--wait` following a real rollout, an upgrade that fails half way and
//! its rerun. Against the control plane of control_plane.rs.

use crate::corner::Corner;
use crate::support::*;
use std::path::PathBuf;

/// A test's corner of the cluster (its release, namespace, user and
/// kubeconfig: `Site` derefs to it), with a directory and airlock of its own.
struct Site {
    corner: Corner,
    dir: tempfile::TempDir,
    airlock: Airlock,
}

impl std::ops::Deref for Site {
    type Target = Corner;
    fn deref(&self) -> &Corner {
        &self.corner
    }
}

impl Site {
    fn new(prefix: &str) -> Site {
        let dir = tempfile::tempdir().unwrap();
        Site { corner: Corner::new(dir.path(), prefix), dir, airlock: Airlock::new() }
    }

    /// A bundle `release` at `version` of one chart `app` (its templates
    /// given) installed into the site's namespace.
    fn bundle(&self, version: &str, templates: &[(&str, &str)]) -> PathBuf {
        self.corner.one_chart_bundle(&self.airlock, self.dir.path(), version, templates)
    }

    fn run(&self, args: &[&str]) -> std::process::Output {
        let mut all = args.to_vec();
        all.extend(["--kubeconfig", self.kubeconfig.to_str().unwrap()]);
        if matches!(args[0], "install" | "upgrade") {
            all.push("--allow-unsigned");
        }
        self.airlock.run(&all)
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "airlock {args:?} failed:\n{err}");
        err
    }

    /// What a command that must succeed printed to stdout.
    fn stdout(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(out.status.success(), "airlock {args:?} failed:\n{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    }

    fn fails(&self, args: &[&str]) -> String {
        self.fails_with(FAILURE, args)
    }

    fn fails_with(&self, code: i32, args: &[&str]) -> String {
        let out = self.run(args);
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(code), "airlock {args:?} should have failed:\n{err}");
        err
    }

    /// The object at `path` (`/NS/` there is the site's namespace), which
    /// must be there (unlike the corner's `object`, an Option).
    fn object(&self, path: &str) -> serde_json::Value {
        self.plane.object(&path.replace("/NS/", &format!("/{}/", self.ns))).unwrap_or_else(|| panic!("{path} missing"))
    }

    /// The ConfigMaps, Services and Deployments of the namespace, object
    /// for object (`Corner::snapshot`).
    fn snapshot(&self) -> Vec<serde_json::Value> {
        self.corner.snapshot("configmaps,services,deployments")
    }

    fn done(&self) {
        self.ok(&["uninstall", &self.release]);
        self.plane.kubectl_ok(&["delete", "namespace", &self.ns, "--wait=false"]);
    }
}

fn deployment(replicas: u32, env: &str, extra_spec: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: web}}\nspec:\n  replicas: {replicas}\n  selector: {{matchLabels: {{app: web}}}}\n  template:\n    metadata: {{labels: {{app: web}}}}\n    spec:\n      {extra_spec}containers: [{{name: web, image: busybox:1, env: [{env}]}}]\n"
    )
}

/// A chart sees its release as Helm shows it: `.Release.IsInstall` and
/// revision 1 on install, `.Release.IsUpgrade` and the new revision on
/// upgrade (charts branch on these: a migration Job on upgrade only).
#[test]
fn charts_see_whether_they_are_installed_or_upgraded() {
    let site = Site::new("isupgrade");
    let cm = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: release}\ndata:\n  install: {{ .Release.IsInstall | quote }}\n  upgrade: {{ .Release.IsUpgrade | quote }}\n  revision: {{ .Release.Revision | quote }}\n";
    let seen = || site.object("/api/v1/namespaces/NS/configmaps/release")["data"].clone();
    site.ok(&["install", site.bundle("1.0.0", &[("cm.yaml", cm)]).to_str().unwrap()]);
    assert_eq!(seen(), serde_json::json!({"install": "true", "upgrade": "false", "revision": "1"}));
    site.ok(&["upgrade", site.bundle("2.0.0", &[("cm.yaml", cm)]).to_str().unwrap()]);
    assert_eq!(seen(), serde_json::json!({"install": "false", "upgrade": "true", "revision": "2"}));
    site.ok(&["upgrade", site.bundle("3.0.0", &[("cm.yaml", cm)]).to_str().unwrap()]);
    assert_eq!(seen(), serde_json::json!({"install": "false", "upgrade": "true", "revision": "3"}));
}

/// Server-side apply as a real API server does it: what a new version no
/// longer declares goes from the live object (an env var, a ConfigMap
/// key), while what another manager set stays (a key, an annotation).
#[test]
fn an_upgrade_removes_dropped_fields_and_keeps_others() {
    let site = Site::new("fields");
    let v1 = site.bundle(
        "1.0.0",
        &[
            ("deploy.yaml", &deployment(1, "{name: FOO, value: '1'}, {name: BAR, value: '2'}", "")),
            ("cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {a: '1', b: '2'}\n"),
        ],
    );
    site.ok(&["install", v1.to_str().unwrap(), "--wait", "--timeout", "60s"]);
    // Someone else adds a key and an annotation (their own fields).
    let kubectl = |args: &[&str]| site.plane.kubectl_ok(args);
    kubectl(&["-n", &site.ns, "patch", "configmap", "settings", "--type", "merge", "-p", r#"{"data":{"c":"3"}}"#]);
    kubectl(&["-n", &site.ns, "annotate", "deployment", "web", "team=shop"]);

    let v2 = site.bundle(
        "2.0.0",
        &[
            ("deploy.yaml", &deployment(1, "{name: FOO, value: '1'}", "")),
            ("cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {a: '1'}\n"),
        ],
    );
    site.ok(&["upgrade", v2.to_str().unwrap(), "--wait", "--timeout", "60s"]);
    let cm = site.object("/api/v1/namespaces/NS/configmaps/settings");
    assert_eq!(cm["data"], serde_json::json!({"a": "1", "c": "3"}), "{cm}");
    let web = site.object("/apis/apps/v1/namespaces/NS/deployments/web");
    assert_eq!(
        web["spec"]["template"]["spec"]["containers"][0]["env"],
        serde_json::json!([{"name": "FOO", "value": "1"}])
    );
    assert_eq!(web["metadata"]["annotations"]["team"], "shop");
    // The rollback brings the dropped fields back.
    site.ok(&["rollback", &site.release, "--wait", "--timeout", "60s"]);
    let cm = site.object("/api/v1/namespaces/NS/configmaps/settings");
    assert_eq!(cm["data"], serde_json::json!({"a": "1", "b": "2", "c": "3"}), "{cm}");
    site.done();
}

/// An autoscaler owns `spec.replicas` once it has scaled the Deployment;
/// an upgrade whose chart still sets replicas must not take the field back
/// silently (the two would fight): it stops, naming the field and its
/// manager, and `--force-conflicts` takes it over knowingly.
#[test]
fn another_managers_fields_are_not_taken_silently() {
    let site = Site::new("hpa");
    let hpa = "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {name: web}\nspec: {scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}, minReplicas: 3, maxReplicas: 5, metrics: [{type: Resource, resource: {name: cpu, target: {type: Utilization, averageUtilization: 80}}}]}\n";
    let v1 = site.bundle("1.0.0", &[("deploy.yaml", &deployment(1, "", "")), ("hpa.yaml", hpa)]);
    site.ok(&["install", v1.to_str().unwrap()]);
    // The real HPA controller raises replicas to its minimum.
    let replicas = || site.object("/apis/apps/v1/namespaces/NS/deployments/web")["spec"]["replicas"].as_u64();
    assert!(site.plane.eventually(60, || replicas() == Some(3)), "the autoscaler never scaled: {:?}", replicas());

    let v2 = site.bundle("2.0.0", &[("deploy.yaml", &deployment(1, "{name: V, value: '2'}", "")), ("hpa.yaml", hpa)]);
    let err = site.fails(&["upgrade", v2.to_str().unwrap()]);
    assert!(
        err.contains("Deployment web") && err.contains(".spec.replicas") && err.contains("kube-controller-manager"),
        "{err}"
    );
    assert!(err.contains("--force-conflicts"), "{err}");
    assert_eq!(replicas(), Some(3));
    site.ok(&["upgrade", v2.to_str().unwrap(), "--force-conflicts"]);
    let web = site.object("/apis/apps/v1/namespaces/NS/deployments/web");
    assert_eq!(web["spec"]["template"]["spec"]["containers"][0]["env"][0]["name"], "V");
    site.done();
}

/// Each chart sees its own Helm release: a chart that an upgrade of the
/// bundle adds is installed (`.Release.IsInstall`, revision 1, its
/// post-install hook runs, not its post-upgrade one), as Helm would
/// install it, while the chart that was there is upgraded.
#[test]
fn a_chart_new_in_an_upgrade_is_installed() {
    let site = Site::new("newchart");
    let cm = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: '{{ .Release.Name }}-release'}\ndata:\n  install: {{ .Release.IsInstall | quote }}\n  revision: {{ .Release.Revision | quote }}\n";
    let hook = |event: &str| {
        format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: '{{{{ .Release.Name }}}}-{event}'\n  annotations: {{\"helm.sh/hook\": {event}}}\n")
    };
    let seen =
        |release: &str| site.object(&format!("/api/v1/namespaces/NS/configmaps/{release}-release"))["data"].clone();
    let v1 = site.bundle("1.0.0", &[("cm.yaml", cm)]);
    site.ok(&["install", v1.to_str().unwrap()]);
    // Version 2: the same chart, and a second one, `extra`, with hooks.
    let d = site.dir.path().join("2.0.0");
    for chart in ["chart", "extra"] {
        std::fs::create_dir_all(d.join(chart).join("templates")).unwrap();
        std::fs::write(d.join(chart).join("Chart.yaml"), format!("apiVersion: v2\nname: {chart}\nversion: 2.0.0\n"))
            .unwrap();
        std::fs::write(d.join(chart).join("templates/cm.yaml"), cm).unwrap();
    }
    std::fs::write(
        d.join("extra/templates/hooks.yaml"),
        format!("{}---\n{}", hook("post-install"), hook("post-upgrade")),
    )
    .unwrap();
    let spec = d.join("airlock.yaml");
    std::fs::write(
        &spec,
        format!(
            "apiVersion: airlock.dev/v1\nkind: Bundle\nmetadata: {{name: {}, version: 2.0.0}}\ncomponents:\n  - name: app\n    charts:\n      - {{name: app, path: ./chart, namespace: {ns}, images: explicit}}\n      - {{name: extra, path: ./extra, namespace: {ns}, images: explicit}}\n",
            site.release,
            ns = site.ns
        ),
    )
    .unwrap();
    let v2 = d.join("app.airlock");
    site.airlock.ok(&["create", spec.to_str().unwrap(), "-o", v2.to_str().unwrap()]);
    let err = site.ok(&["upgrade", v2.to_str().unwrap()]);
    assert_eq!(seen("app"), serde_json::json!({"install": "false", "revision": "2"}));
    assert_eq!(seen("extra"), serde_json::json!({"install": "true", "revision": "1"}));
    let hooked = |event: &str| site.plane.object(&format!("/api/v1/namespaces/{}/configmaps/extra-{event}", site.ns));
    assert!(hooked("post-install").is_some(), "the new chart's post-install hook ran:\n{err}");
    assert!(hooked("post-upgrade").is_none(), "its post-upgrade hook did not:\n{err}");
    site.done();
}

/// `--wait` follows the rollout the controllers make: an upgrade whose new
/// pods can run nowhere is not ready, though the old ReplicaSet's pods
/// still are; not ready in time, it fails and is rolled back (its pod
/// template with it), and Helm's history says so.
#[test]
fn wait_follows_the_real_rollout() {
    let site = Site::new("rollout");
    let v1 = site.bundle("1.0.0", &[("deploy.yaml", &deployment(2, "", ""))]);
    site.ok(&["install", v1.to_str().unwrap(), "--wait", "--timeout", "60s"]);
    let web = site.object("/apis/apps/v1/namespaces/NS/deployments/web");
    assert_eq!(web["status"]["availableReplicas"], 2, "{web}");
    let template_v1 = web["spec"]["template"].clone();
    let before = site.snapshot();

    let nowhere = "nodeSelector: {kubernetes.io/arch: s390x}\n      ";
    let v2 = site.bundle("2.0.0", &[("deploy.yaml", &deployment(2, "", nowhere))]);
    let err = site.fails(&["upgrade", v2.to_str().unwrap(), "--wait", "--timeout", "5s"]);
    assert!(err.contains("not ready after 5 s: Deployment") && err.contains("web"), "{err}");
    assert!(err.contains("2.0.0 failed, so the release was returned to revision 1"), "{err}");
    // The old pods stayed available meanwhile, as a rolling update keeps
    // them, and the template is revision 1's again.
    let web = site.object("/apis/apps/v1/namespaces/NS/deployments/web");
    assert_eq!(web["status"]["availableReplicas"], 2, "{web}");
    assert_eq!(web["spec"]["template"], template_v1, "{web}");
    assert_eq!(site.snapshot(), before, "the cluster is revision 1's, object for object");
    let history = site.stdout(&["history", &site.release]);
    let actions: Vec<&str> = history.lines().filter_map(|l| l.split_whitespace().nth(1)).collect();
    assert_eq!(actions, ["install", "upgrade", "rollback"], "{history}");
    assert!(history.lines().nth(1).is_some_and(|l| l.contains("failed: not ready after 5 s")), "{history}");
    // Pods that can run: a rollback is ready once the old ReplicaSet is back.
    site.ok(&["rollback", &site.release, "--wait", "--timeout", "60s"]);
    let web = site.object("/apis/apps/v1/namespaces/NS/deployments/web");
    assert_eq!(web["status"]["updatedReplicas"], 2, "{web}");
    site.done();
}

/// An upgrade the server refuses half way stops there and says so; the
/// rerun after the fix converges (one more revision, nothing left over).
#[test]
fn a_failed_upgrade_is_said_and_its_rerun_converges() {
    let site = Site::new("halfway");
    let cm = |value: &str| {
        format!("apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: settings}}\ndata: {{v: '{value}'}}\n")
    };
    let service = |port: &str| {
        format!("apiVersion: v1\nkind: Service\nmetadata: {{name: web}}\nspec: {{selector: {{app: web}}, ports: [{{port: {port}}}]}}\n")
    };
    let v1 = site.bundle(
        "1.0.0",
        &[("cm.yaml", &cm("1")), ("svc.yaml", &service("80")), ("deploy.yaml", &deployment(1, "", ""))],
    );
    site.ok(&["install", v1.to_str().unwrap()]);
    // Version 2 changes the ConfigMap (applied first, by Helm's order) and
    // brings a Service port the server refuses.
    let bad = site.bundle(
        "2.0.0",
        &[("cm.yaml", &cm("2")), ("svc.yaml", &service("70000")), ("deploy.yaml", &deployment(1, "", ""))],
    );
    // Kept as it stopped (by default it would be rolled back).
    let err = site.fails(&["upgrade", bad.to_str().unwrap(), "--no-rollback-on-failure"]);
    assert!(err.contains("the cluster refused Service web") && err.contains("70000"), "{err}");
    assert!(
        err.contains("stopped after 2 of 4 objects") && err.contains("rerunning after the fix completes it"),
        "{err}"
    );
    // As the error says: the ConfigMap changed, the Service did not.
    assert_eq!(site.object("/api/v1/namespaces/NS/configmaps/settings")["data"]["v"], "2");
    assert_eq!(site.object("/api/v1/namespaces/NS/services/web")["spec"]["ports"][0]["port"], 80);
    let history = site.airlock.ok(&["history", &site.release, "--kubeconfig", site.kubeconfig.to_str().unwrap()]);
    assert_eq!(history.lines().count(), 1, "{history}");

    let fixed = site.bundle(
        "2.0.1",
        &[("cm.yaml", &cm("2")), ("svc.yaml", &service("8080")), ("deploy.yaml", &deployment(1, "", ""))],
    );
    site.ok(&["upgrade", fixed.to_str().unwrap()]);
    assert_eq!(site.object("/api/v1/namespaces/NS/services/web")["spec"]["ports"][0]["port"], 8080);
    let history = site.airlock.ok(&["history", &site.release, "--kubeconfig", site.kubeconfig.to_str().unwrap()]);
    assert!(history.lines().count() == 2 && history.contains("2.0.1"), "{history}");
    site.done();
}

/// By default a run that fails part-way returns the cluster to where it
/// was: an upgrade to the last good revision (what the failed version
/// added is deleted, what it changed restored), a first install to
/// nothing. History shows the failure and the way back.
#[test]
fn a_failed_run_is_rolled_back_by_default() {
    let site = Site::new("atomic");
    let cm = |name: &str, value: &str| {
        format!("apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {name}}}\ndata: {{v: '{value}'}}\n")
    };
    let service = |port: &str| {
        format!("apiVersion: v1\nkind: Service\nmetadata: {{name: web}}\nspec: {{selector: {{app: web}}, ports: [{{port: {port}}}]}}\n")
    };
    let v1 = site.bundle(
        "1.0.0",
        &[("cm.yaml", &cm("settings", "1")), ("svc.yaml", &service("80")), ("deploy.yaml", &deployment(1, "", ""))],
    );
    site.ok(&["install", v1.to_str().unwrap()]);
    let before = site.snapshot();
    // 2.0.0 changes a ConfigMap and the Deployment, adds a ConfigMap, then
    // brings a port the server refuses.
    let bad = site.bundle(
        "2.0.0",
        &[
            ("cm.yaml", &cm("settings", "2")),
            ("extra.yaml", &cm("extra", "2")),
            ("deploy.yaml", &deployment(2, "{name: V, value: '2'}", "")),
            ("svc.yaml", &service("70000")),
        ],
    );
    let err = site.fails(&["upgrade", bad.to_str().unwrap()]);
    assert!(err.contains("the cluster refused Service web") && err.contains("70000"), "{err}");
    assert!(err.contains("2.0.0 failed, so the release was returned to revision 1"), "{err}");
    assert_eq!(site.object("/api/v1/namespaces/NS/configmaps/settings")["data"]["v"], "1");
    assert!(site.plane.object(&format!("/api/v1/namespaces/{}/configmaps/extra", site.ns)).is_none(), "extra left");
    assert_eq!(site.object("/api/v1/namespaces/NS/services/web")["spec"]["ports"][0]["port"], 80);
    assert_eq!(site.snapshot(), before, "the cluster is revision 1's, object for object");
    let history = site.airlock.ok(&["history", &site.release, "--kubeconfig", site.kubeconfig.to_str().unwrap()]);
    let lines: Vec<&str> = history.lines().collect();
    assert_eq!(lines.len(), 3, "{history}");
    assert!(lines[1].contains("upgrade") && lines[1].contains("failed"), "{history}");
    assert!(lines[2].contains("rollback to 1") && lines[2].contains("1.0.0"), "{history}");
    // The chart's Helm history: installed, the upgrade failed, rolled back.
    let statuses = site.plane.kubectl_ok(&[
        "-n",
        &site.ns,
        "get",
        "secrets",
        "-l",
        "owner=helm",
        "-o",
        "jsonpath={range .items[*]}{.metadata.labels.version}={.metadata.labels.status} {end}",
    ]);
    let mut statuses: Vec<&str> = statuses.split_whitespace().collect();
    statuses.sort();
    assert_eq!(statuses, ["1=superseded", "2=failed", "3=deployed"]);
    site.done();

    // A first install that fails leaves nothing behind, records included.
    let site = Site::new("atomicfirst");
    let bad = site.bundle("1.0.0", &[("cm.yaml", &cm("settings", "1")), ("svc.yaml", &service("70000"))]);
    let err = site.fails(&["install", bad.to_str().unwrap()]);
    assert!(err.contains("returned to nothing: what it applied was removed"), "{err}");
    assert!(site.plane.object(&format!("/api/v1/namespaces/{}/configmaps/settings", site.ns)).is_none());
    let out = site.run(&["history", &site.release]);
    assert!(!out.status.success(), "no record is left: {}", String::from_utf8_lossy(&out.stdout));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no revision of"), "{err}");
    let helm = site.plane.kubectl_ok(&["-n", &site.ns, "get", "secrets", "-l", "owner=helm", "-o", "name"]);
    assert_eq!(helm.trim(), "", "no Helm record is left");
}

/// A pre-upgrade hook that fails (its pod exits 1) fails the upgrade, which
/// is rolled back: nothing of 2.0.0 stays, and Helm's history says so.
#[test]
fn a_failing_pre_upgrade_hook_is_rolled_back() {
    let site = Site::new("hookfail");
    let cm = |value: &str| {
        format!("apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: settings}}\ndata: {{v: '{value}'}}\n")
    };
    site.ok(&["install", site.bundle("1.0.0", &[("cm.yaml", &cm("1"))]).to_str().unwrap()]);
    let before = site.snapshot();
    let hook = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: migrate\n  annotations: {\"helm.sh/hook\": pre-upgrade, \"airlock.test/exit-code\": \"1\"}\nspec: {restartPolicy: Never, containers: [{name: m, image: \"busybox:1\"}]}\n";
    let v2 = site.bundle("2.0.0", &[("cm.yaml", &cm("2")), ("hook.yaml", hook)]);
    let err = site.fails(&["upgrade", v2.to_str().unwrap(), "--timeout", "60s"]);
    assert!(err.contains("pre-upgrade hook Pod migrate") && err.contains("failed"), "{err}");
    assert!(err.contains("2.0.0 failed, so the release was returned to revision 1"), "{err}");
    assert_eq!(site.object("/api/v1/namespaces/NS/configmaps/settings")["data"]["v"], "1");
    assert_eq!(site.snapshot(), before, "the cluster is revision 1's, object for object");
    let history = site.airlock.ok(&["history", &site.release, "--kubeconfig", site.kubeconfig.to_str().unwrap()]);
    let lines: Vec<&str> = history.lines().collect();
    assert_eq!(lines.len(), 3, "{history}");
    assert!(lines[1].contains("failed") && lines[2].contains("rollback to 1"), "{history}");
    site.done();
}

/// A custom resource the CRD's schema refuses: the error names the object
/// and the chart template it came from.
#[test]
fn schema_errors_name_the_object_and_its_template() {
    let site = Site::new("schema");
    let group = format!("{}.example.com", site.release);
    let crd = format!("apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {{name: gadgets.{group}}}\nspec:\n  group: {group}\n  names: {{kind: Gadget, plural: gadgets}}\n  scope: Namespaced\n  versions: [{{name: v1, served: true, storage: true, schema: {{openAPIV3Schema: {{type: object, properties: {{spec: {{type: object, properties: {{size: {{type: integer}}}}}}}}}}}}}}]\n");
    let cr = format!("apiVersion: {group}/v1\nkind: Gadget\nmetadata: {{name: g1}}\nspec: {{size: big}}\n");
    let d = site.dir.path().join("1.0.0");
    std::fs::create_dir_all(d.join("chart/crds")).unwrap();
    std::fs::write(d.join("chart/crds/gadget.yaml"), &crd).unwrap();
    let bundle = site.bundle("1.0.0", &[("gadget.yaml", &cr)]);
    let err = site.fails(&["install", bundle.to_str().unwrap(), "--no-rollback-on-failure"]);
    assert!(err.contains("the cluster refused Gadget g1 (from chart app, app/templates/gadget.yaml)"), "{err}");
    assert!(err.contains(".spec.size: expected numeric"), "{err}");
    site.done();
    site.plane.kubectl_ok(&["delete", "customresourcedefinition", &format!("gadgets.{group}"), "--wait=false"]);
}

/// An operator's custom resource in the same bundle as the operator's
/// admission webhook: the API server cannot admit it until the webhook
/// answers (its pods start after the webhook configuration is applied).
/// airlock applies it again until then (bounded by --timeout) instead of
/// failing as Helm does; when the time is up, the error names the webhook
/// and what serves it. kwok's pods serve nothing, so the webhook here is a
/// `clientConfig.url` one, a small server of the test's own on loopback.
#[test]
fn objects_wait_for_the_bundles_own_webhook() {
    use base64::Engine;
    let site = Site::new("webhook");
    let certs = site.dir.path().join("certs");
    std::fs::create_dir_all(&certs).unwrap();
    make_ca_and_cert(&certs);
    let ca = base64::engine::general_purpose::STANDARD.encode(std::fs::read(certs.join("ca.crt")).unwrap());
    let port = free_port();
    let url = format!("https://127.0.0.1:{port}/validate");
    let group = format!("{}.example.com", site.release);
    let crd = format!("apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {{name: gadgets.{group}}}\nspec:\n  group: {group}\n  names: {{kind: Gadget, plural: gadgets}}\n  scope: Namespaced\n  versions: [{{name: v1, served: true, storage: true, schema: {{openAPIV3Schema: {{type: object, x-kubernetes-preserve-unknown-fields: true}}}}}}]\n");
    let webhook = format!("apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingWebhookConfiguration\nmetadata: {{name: {release}}}\nwebhooks:\n- name: check.{group}\n  clientConfig: {{url: \"{url}\", caBundle: {ca}}}\n  rules: [{{apiGroups: [\"{group}\"], apiVersions: [\"*\"], operations: [CREATE, UPDATE], resources: [gadgets]}}]\n  sideEffects: None\n  admissionReviewVersions: [v1]\n  failurePolicy: Fail\n  timeoutSeconds: 5\n", release = site.release);
    let gadget = format!("apiVersion: {group}/v1\nkind: Gadget\nmetadata: {{name: g1}}\nspec: {{size: 1}}\n");
    let d = site.dir.path().join("1.0.0");
    std::fs::create_dir_all(d.join("chart/crds")).unwrap();
    std::fs::write(d.join("chart/crds/gadget.yaml"), &crd).unwrap();
    let bundle = site.bundle("1.0.0", &[("webhook.yaml", &webhook), ("gadget.yaml", &gadget)]);

    // Nothing answers: the Gadget waits its time, then the webhook is named.
    let err = site.fails(&["install", bundle.to_str().unwrap(), "--timeout", "3s"]);
    assert!(
        err.contains("the cluster refused Gadget g1")
            && err.contains(&format!(
                "the bundle's webhook check.{group} (ValidatingWebhookConfiguration {}) did not answer within 3 s",
                site.release
            ))
            && err.contains(&format!("it is served by {url}")),
        "{err}"
    );

    // The webhook's server comes up a few seconds into the install (tied
    // to this test run, so it goes with it whatever happens to the test).
    let starter = {
        let certs = certs.clone();
        let script = crate::control_plane::repo().join("tests/fixtures/webhook_server.py");
        std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_secs(4));
            let python = std::path::Path::new("python3");
            let tied = crate::control_plane::start_for_the_run(python, move |command| {
                command.arg(script).arg(port.to_string()).arg(certs.join("server.crt")).arg(certs.join("server.key"));
            });
            tied.expect("python3 runs the webhook server").pid
        })
    };
    let gadget_patches = || -> Vec<u16> {
        let requests = site.requests("/gadgets/g1");
        requests.iter().filter(|r| r.verb == "patch").map(|r| r.code).collect()
    };
    let before = gadget_patches().len();
    let out = site.run(&["install", bundle.to_str().unwrap(), "--timeout", "60s"]);
    let server = starter.join().unwrap();
    let _ = std::process::Command::new("kill").arg(server.to_string()).status();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(site.plane.object(&format!("/apis/{group}/v1/namespaces/{}/gadgets/g1", site.ns)).is_some());
    // It was refused while nothing answered, then applied again.
    let sent = gadget_patches()[before..].to_vec();
    let refused_then_taken = sent.first().is_some_and(|c| *c >= 500) && matches!(sent.last(), Some(200 | 201));
    assert!(refused_then_taken, "{sent:?}");
    // The webhook goes with the bundle; so can the Gadget, then.
    site.done();
    site.plane.kubectl_ok(&["delete", "customresourcedefinition", &format!("gadgets.{group}"), "--wait=false"]);
}

/// Uninstall waits for what it deleted to be gone; an object a finalizer
/// holds past --timeout is named with its finalizer, the records stay, and
/// the rerun (once its controller, here the test, let it go) completes.
#[test]
fn uninstall_waits_for_finalizers_and_names_what_holds() {
    let site = Site::new("finalizer");
    let held =
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: held, finalizers: [example.com/hold]}\ndata: {a: '1'}\n";
    let bundle = site.bundle(
        "1.0.0",
        &[("held.yaml", held), ("free.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: free}\n")],
    );
    site.ok(&["install", bundle.to_str().unwrap()]);
    let uninstall = |timeout: &str| site.run(&["uninstall", &site.release, "--timeout", timeout]);
    let out = uninstall("3s");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!(
            "after 3 s these objects are still being deleted: ConfigMap {}/held (v1) (finalizers example.com/hold)",
            site.ns
        )) && err.contains("the records are kept"),
        "{err}"
    );
    let held_path = format!("/api/v1/namespaces/{}/configmaps/held", site.ns);
    let object = site.plane.object(&held_path).expect("held by its finalizer");
    assert!(object["metadata"]["deletionTimestamp"].is_string(), "{object}");
    assert!(site.plane.object(&format!("/api/v1/namespaces/{}/configmaps/free", site.ns)).is_none());
    // Its controller lets it go; the rerun finds it gone and completes.
    site.plane.kubectl_ok(&[
        "-n",
        &site.ns,
        "patch",
        "configmap",
        "held",
        "--type",
        "merge",
        "-p",
        r#"{"metadata":{"finalizers":null}}"#,
    ]);
    let out = uninstall("30s");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(site.plane.object(&held_path).is_none());
    let history = site.run(&["history", &site.release]);
    assert!(!history.status.success(), "the records went with the rerun");
    site.plane.kubectl_ok(&["delete", "namespace", &site.ns, "--wait=false"]);
}

/// A namespace deleted just before an install is still terminating: the
/// install waits (up to --timeout) until it is gone and makes it afresh;
/// when it stays, the error says what holds it.
#[test]
fn install_waits_for_its_namespace_to_finish_terminating() {
    let site = Site::new("terminating");
    let kubectl = |args: &[&str]| site.plane.kubectl_ok(args);
    kubectl(&["create", "namespace", &site.ns]);
    let held = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: old, namespace: {}, finalizers: [example.com/hold]}}\n",
        site.ns
    );
    let file = site.dir.path().join("old.yaml");
    std::fs::write(&file, held).unwrap();
    kubectl(&["apply", "-f", file.to_str().unwrap()]);
    kubectl(&["delete", "namespace", &site.ns, "--wait=false"]);
    let bundle = site.bundle("1.0.0", &[("cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: new}\n")]);
    // Once the namespace controller has found what is left in it.
    let stuck = || {
        let namespace = site.plane.object(&format!("/api/v1/namespaces/{}", site.ns)).unwrap_or_default();
        namespace.to_string().contains("NamespaceFinalizersRemaining")
    };
    assert!(site.plane.eventually(60, stuck), "the namespace controller never reported the finalizer");

    let err = site.fails(&["install", bundle.to_str().unwrap(), "--timeout", "3s"]);
    assert!(
        err.contains(&format!("Namespace {}: it is still terminating after 3 s", site.ns))
            && err.contains("example.com/hold"),
        "{err}"
    );
    // What held it lets go once the install is seen waiting (reading the
    // namespace again and again); the install then goes on.
    let user = site.user.clone();
    let path = format!("/api/v1/namespaces/{}", site.ns);
    let reads_before = site.requests(&path).iter().filter(|r| r.path == path).count();
    let release = std::thread::spawn({
        let ns = site.ns.clone();
        let plane = site.plane;
        move || {
            let waiting = || plane.requests(&user, &path).iter().filter(|r| r.path == path).count() >= reads_before + 3;
            assert!(plane.eventually(60, waiting), "the install never waited for the namespace");
            plane.kubectl_ok(&[
                "-n",
                &ns,
                "patch",
                "configmap",
                "old",
                "--type",
                "merge",
                "-p",
                r#"{"metadata":{"finalizers":null}}"#,
            ]);
        }
    });
    let err = site.ok(&["install", bundle.to_str().unwrap(), "--timeout", "60s"]);
    release.join().unwrap();
    assert!(err.contains(&format!("Waiting for namespace {} to finish terminating", site.ns)), "{err}");
    assert!(site.plane.object(&format!("/api/v1/namespaces/{}/configmaps/new", site.ns)).is_some());
    site.done();
}

/// The cluster's nodes are of two platforms (linux/amd64, linux/arm64);
/// a bundle that carries its image for one of them only is installed, and
/// the warning names the image, the platform it lacks and those nodes.
#[test]
fn images_missing_a_node_platform_are_named() {
    let site = Site::new("platforms");
    let d = site.dir.path().join("app");
    std::fs::create_dir_all(&d).unwrap();
    demo_image(&d.join("hello"));
    std::fs::write(
        d.join("app.yaml"),
        format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: app, namespace: default}}\ndata: {{release: {}}}\n",
            site.release
        ),
    )
    .unwrap();
    let spec = d.join("airlock.yaml");
    std::fs::write(&spec, format!("apiVersion: airlock.dev/v1\nkind: Bundle\nmetadata: {{name: {}, version: 1.0.0}}\ncomponents:\n  - name: app\n    images: [\"oci-layout:./hello:1.0.0\"]\n    manifests: [app.yaml]\n", site.release)).unwrap();
    let bundle = d.join("app.airlock");
    site.airlock.ok(&["create", spec.to_str().unwrap(), "-o", bundle.to_str().unwrap()]);
    let err = site.ok(&["install", bundle.to_str().unwrap(), "--registry", "reg.example/mirror"]);
    let warning =
        err.lines().find(|l| l.contains("has no manifest for platform linux/arm64")).unwrap_or_else(|| panic!("{err}"));
    assert!(
        warning.contains("hello:1.0.0") && warning.contains("kwok-arm64") && !warning.contains("kwok-amd64"),
        "{warning}"
    );
    assert!(!err.contains("platform linux/amd64"), "{err}");
    site.ok(&["uninstall", &site.release]);
}

/// Values the site gives at install, keyed by chart name, layered over the
/// bundle's as Helm layers `-f` and `--set`: kept by an upgrade that gives
/// none, replaced by one that gives some, merged under `--reuse-values`,
/// dropped by `--reset-values`; values for a chart the bundle lacks are
/// refused before anything changes.
#[test]
fn site_values_are_layered_and_kept_as_helm_keeps_them() {
    let site = Site::new("sitevalues");
    let cm = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata:\n  greeting: {{ .Values.greeting | default \"hello\" | quote }}\n  replicas: {{ .Values.replicas | default 1 | quote }}\n  {{- with .Values.cert }}\n  cert: {{ . | quote }}\n  {{- end }}\n  {{- with .Values.tls }}\n  tls: {{ toJson . | quote }}\n  {{- end }}\n";
    let data = || site.object("/api/v1/namespaces/NS/configmaps/settings")["data"].clone();
    let bundle = |version: &str| site.bundle(version, &[("cm.yaml", cm)]);
    let values = site.dir.path().join("site.yaml");
    std::fs::write(&values, "app: {greeting: from-site-file}\n").unwrap();
    let cert = site.dir.path().join("ca.pem");
    std::fs::write(&cert, "PEM,with,commas").unwrap();

    // Values for a chart the bundle lacks: refused, naming it and the charts it has.
    let v1 = bundle("1.0.0");
    let err = site.fails_with(USAGE, &["install", v1.to_str().unwrap(), "--set", "web.replicas=2"]);
    assert!(err.contains("name chart `web`") && err.contains("its charts: app"), "{err}");
    assert!(site.plane.object(&format!("/api/v1/namespaces/{}/configmaps/settings", site.ns)).is_none());

    // An image the bundle does not carry, switched on by a site value:
    // refused, naming the image and the value.
    let with_image = site.bundle(
        "0.1.0",
        &[
            ("cm.yaml", cm),
            ("deploy.yaml", &deployment(1, "", "").replace("busybox:1", "{{ .Values.image | default \"busybox:1\" }}")),
        ],
    );
    let err = site.fails_with(USAGE, &["install", with_image.to_str().unwrap(), "--set", "app.image=redis:7.2"]);
    assert!(
        err.contains("chart app would run image redis:7.2, which the bundle does not carry")
            && err.contains("asked for by image in the site's values"),
        "{err}"
    );
    assert!(site.plane.object(&format!("/api/v1/namespaces/{}/configmaps/settings", site.ns)).is_none());

    let file = values.to_str().unwrap();
    let set_file = format!("app.cert={}", cert.display());
    site.ok(&[
        "install",
        v1.to_str().unwrap(),
        "-f",
        file,
        "--set",
        "app.replicas=3",
        "--set-file",
        &set_file,
        "--set-json",
        r#"app.tls={"on":true}"#,
    ]);
    let expected = serde_json::json!({"greeting": "from-site-file", "replicas": "3", "cert": "PEM,with,commas", "tls": "{\"on\":true}"});
    assert_eq!(data(), expected);
    // None given: kept.
    site.ok(&["upgrade", bundle("2.0.0").to_str().unwrap()]);
    assert_eq!(data(), expected);
    // Some given: they replace those of the installed revision.
    site.ok(&["upgrade", bundle("3.0.0").to_str().unwrap(), "--set-literal", "app.greeting=a,b\\c"]);
    assert_eq!(data(), serde_json::json!({"greeting": "a,b\\c", "replicas": "1"}));
    // --reuse-values: layered over them.
    site.ok(&["upgrade", bundle("4.0.0").to_str().unwrap(), "--reuse-values", "--set", "app.replicas=5"]);
    assert_eq!(data(), serde_json::json!({"greeting": "a,b\\c", "replicas": "5"}));
    // --reset-values: the bundle's own again.
    site.ok(&["upgrade", bundle("5.0.0").to_str().unwrap(), "--reset-values"]);
    assert_eq!(data(), serde_json::json!({"greeting": "hello", "replicas": "1"}));
    // A rollback returns to the values its revision was given.
    site.ok(&["rollback", &site.release, "--to", "4"]);
    assert_eq!(data(), serde_json::json!({"greeting": "a,b\\c", "replicas": "5"}));

    // A chart's schema refuses a site value: the error names the chart, the
    // pointer and who set it; nothing changes.
    let schema = r#"{"properties": {"replicas": {"type": "integer", "minimum": 1}}}"#;
    std::fs::create_dir_all(site.dir.path().join("6.0.0/chart")).unwrap();
    std::fs::write(site.dir.path().join("6.0.0/chart/values.schema.json"), schema).unwrap();
    let v6 = bundle("6.0.0");
    let err = site.fails(&["upgrade", v6.to_str().unwrap(), "--set", "app.replicas=0"]);
    assert!(err.contains("cannot render chart app"), "{err}");
    assert!(err.contains("at '/replicas'") && err.contains("(set by the site's values (-f, --set))"), "{err}");
    assert_eq!(data(), serde_json::json!({"greeting": "a,b\\c", "replicas": "5"}));
    site.done();
}

/// A bundle's environments: `--env` picks one, its values go between the
/// bundle's and the site's, an upgrade without `--env` keeps it, and one
/// the bundle lacks is refused, naming those it has; `inspect` lists them.
#[test]
fn an_environment_of_the_bundle_is_picked_at_install() {
    let Some(kubectl) = venv_kubectl() else { return };
    let site = Site::new("environments");
    let cm = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata:\n  greeting: {{ .Values.greeting | default \"hello\" | quote }}\n  replicas: {{ .Values.replicas | default 1 | quote }}\n";
    let data = || site.object("/api/v1/namespaces/NS/configmaps/settings")["data"].clone();
    let bundle = |version: &str| {
        let bundle = site.bundle(version, &[("cm.yaml", cm)]);
        let d = bundle.parent().unwrap();
        std::fs::write(d.join("prod.yaml"), "replicas: 3\ngreeting: from-prod-file\n").unwrap();
        // Its kustomize overlay: one more ConfigMap, in prod only.
        std::fs::create_dir_all(d.join("overlay-prod")).unwrap();
        std::fs::write(
            d.join("overlay-prod/kustomization.yaml"),
            format!("namespace: {}\nresources: [cm.yaml]\n", site.ns),
        )
        .unwrap();
        std::fs::write(
            d.join("overlay-prod/cm.yaml"),
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: prod-only}\n",
        )
        .unwrap();
        let spec = d.join("airlock.yaml");
        // The site must say which tier it is.
        let mut text = std::fs::read_to_string(&spec)
            .unwrap()
            .replace("images: explicit}", "images: explicit, requiredValues: [tier], secretValues: [password]}");
        text.push_str("environments:\n  dev: {charts: {app: {values: {greeting: from-dev}}}}\n  prod:\n    description: the production site\n    charts: {app: {valuesFiles: [prod.yaml], values: {greeting: from-prod}}}\n    components: {app: {kustomizations: [overlay-prod]}}\n");
        std::fs::write(&spec, text).unwrap();
        let out = site
            .airlock
            .cmd()
            .env("AIRLOCK_KUBECTL", &kubectl)
            .args(["create", spec.to_str().unwrap(), "-o", bundle.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        bundle
    };
    let prod_only = || site.plane.object(&format!("/api/v1/namespaces/{}/configmaps/prod-only", site.ns));
    let v1 = bundle("1.0.0");
    let inspected = site.airlock.ok(&["inspect", v1.to_str().unwrap()]);
    assert!(inspected.contains("environment prod (install --env prod)  the production site"), "{inspected}");
    assert!(inspected.contains("chart    app: values from prod.yaml and inline values"), "{inspected}");

    let err = site.fails_with(USAGE, &["install", v1.to_str().unwrap(), "--env", "staging"]);
    assert!(err.contains("has no environment `staging` (it has: dev, prod)"), "{err}");
    // A value the bundle requires of the site: refused without it.
    let err = site.fails(&["install", v1.to_str().unwrap(), "--env", "prod", "--set", "app.replicas=4"]);
    assert!(err.contains("the bundle requires the site to give tier (give --set app.tier=..."), "{err}");
    assert!(site.plane.object(&format!("/api/v1/namespaces/{}/configmaps/settings", site.ns)).is_none());
    // The environment's values over the bundle's, the site's over them.
    site.ok(&[
        "install",
        v1.to_str().unwrap(),
        "--env",
        "prod",
        "--set",
        "app.replicas=4",
        "--set",
        "app.tier=gold",
        "--set",
        "app.password=hunter2",
    ]);
    assert_eq!(data(), serde_json::json!({"greeting": "from-prod", "replicas": "4"}));
    assert!(prod_only().is_some(), "the prod overlay's object is installed with prod");
    // Kept by an upgrade that names none (with the site's values).
    site.ok(&["upgrade", bundle("2.0.0").to_str().unwrap()]);
    assert_eq!(data(), serde_json::json!({"greeting": "from-prod", "replicas": "4"}));
    site.ok(&["upgrade", bundle("3.0.0").to_str().unwrap(), "--env", "dev"]);
    assert_eq!(data(), serde_json::json!({"greeting": "from-dev", "replicas": "4"}));
    assert!(prod_only().is_none(), "dev has no such overlay: the object goes");
    // What each revision was given.
    let given: serde_json::Value =
        serde_saphyr::from_str(&site.stdout(&["history", &site.release, "--values", "2"])).unwrap();
    // A value the bundle marks secret is never printed.
    assert_eq!(
        given,
        serde_json::json!({"environment": "prod", "values": {"app": {"replicas": 4, "tier": "gold", "password": "(secret)"}}})
    );
    assert!(!site.stdout(&["history", &site.release, "--json"]).contains("hunter2"));
    let history = site.stdout(&["history", &site.release]);
    assert!(history.lines().nth(2).is_some_and(|l| l.contains("env: dev")), "{history}");
    let err = site.fails_with(USAGE, &["history", &site.release, "--values", "9"]);
    assert!(err.contains("revision 9 is not recorded; recorded: 1, 2, 3"), "{err}");
    site.done();
}

/// The bundle's preflight checks against the real cluster: `airlock
/// preflight` says what each found; a strict one not met refuses the
/// install before anything changes, naming it with the author's message;
/// the others are warned of.
#[test]
fn preflight_checks_refuse_or_warn() {
    let site = Site::new("preflight");
    let crd = format!("gadgets.{}.example.com", site.release);
    let v1 = site.bundle("1.0.0", &[("cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\n")]);
    let spec = v1.parent().unwrap().join("airlock.yaml");
    let mut text = std::fs::read_to_string(&spec).unwrap();
    text.push_str(&format!(
        "preflight:\n  - {{kubeVersion: \">=1.20\", strict: true}}\n  - {{crd: {crd}, strict: true, message: install the gadget operator first}}\n  - {{architectures: [s390x]}}\n  - {{capacity: {{cpu: \"100000\", memory: 1Gi}}}}\n"
    ));
    std::fs::write(&spec, text).unwrap();
    site.airlock.ok(&["create", spec.to_str().unwrap(), "-o", v1.to_str().unwrap()]);

    let out = site.run(&["preflight", v1.to_str().unwrap()]);
    let (said, err) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{said}{err}");
    let lines: Vec<&str> = said.lines().collect();
    assert!(lines[0].starts_with("met      Kubernetes >=1.20 (strict): v1."), "{said}");
    assert!(
        lines[1].starts_with(&format!(
            "FAILED   CustomResourceDefinition {crd} (strict): absent; install the gadget operator first"
        )),
        "{said}"
    );
    assert!(
        lines[2].starts_with("not met  nodes of architecture s390x: node(s) kwok-amd64 (amd64), kwok-arm64 (arm64)"),
        "{said}"
    );
    assert!(lines[3].starts_with("not met  capacity of 100000 CPU and 1Gi memory: 64 CPU"), "{said}");
    assert!(err.contains("1 strict preflight check(s) not met"), "{err}");

    let err = site.fails(&["install", v1.to_str().unwrap()]);
    assert!(
        err.contains(&format!("CustomResourceDefinition {crd} (found absent; install the gadget operator first)")),
        "{err}"
    );
    assert!(
        site.plane.object(&format!("/api/v1/namespaces/{}/configmaps/settings", site.ns)).is_none(),
        "nothing installed"
    );

    // With the CRD there, the install goes ahead, warning of the others.
    let group = format!("{}.example.com", site.release);
    let definition = format!("apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {{name: {crd}}}\nspec:\n  group: {group}\n  names: {{kind: Gadget, plural: gadgets}}\n  scope: Namespaced\n  versions: [{{name: v1, served: true, storage: true, schema: {{openAPIV3Schema: {{type: object}}}}}}]\n");
    let file = site.dir.path().join("crd.yaml");
    std::fs::write(&file, definition).unwrap();
    site.plane.kubectl_ok(&["apply", "-f", file.to_str().unwrap()]);
    let err = site.ok(&["install", v1.to_str().unwrap()]);
    assert!(err.contains("preflight check not met: nodes of architecture s390x"), "{err}");
    assert!(site.plane.object(&format!("/api/v1/namespaces/{}/configmaps/settings", site.ns)).is_some());
    site.done();
    site.plane.kubectl_ok(&["delete", "customresourcedefinition", &crd, "--wait=false"]);
}

/// A check with `when: CHART.path` applies only when the site's choice
/// switches that value on (an Istio CRD needed only with Istio routing):
/// installed without it, refused before any change when the site sets it,
/// and named as such.
#[test]
fn a_preflight_check_can_depend_on_a_value() {
    let site = Site::new("preflightwhen");
    let crd = format!("virtualservices.{}.example.com", site.release);
    let cm = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {istio: {{ .Values.istio.enabled | quote }}}\n";
    let v1 = site.bundle("1.0.0", &[("cm.yaml", cm)]);
    let chart = v1.parent().unwrap().join("chart");
    std::fs::write(chart.join("values.yaml"), "istio: {enabled: false}\n").unwrap();
    let spec = v1.parent().unwrap().join("airlock.yaml");
    let mut text = std::fs::read_to_string(&spec).unwrap();
    text.push_str(&format!(
        "preflight:\n  - {{crd: {crd}, strict: true, when: app.istio.enabled, message: install Istio first}}\n"
    ));
    std::fs::write(&spec, &text).unwrap();
    site.airlock.ok(&["create", spec.to_str().unwrap(), "-o", v1.to_str().unwrap()]);
    // A `when` naming no chart of the bundle is refused at create, with its line.
    std::fs::write(&spec, text.replace("when: app.", "when: nochart.")).unwrap();
    let out = site.airlock.run(&[
        "create",
        spec.to_str().unwrap(),
        "-o",
        site.dir.path().join("x.airlock").to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("airlock.yaml:") && err.contains("`when: nochart.istio.enabled`"),
        "{err}"
    );

    site.ok(&["install", v1.to_str().unwrap()]);
    let data = || site.object("/api/v1/namespaces/NS/configmaps/settings")["data"]["istio"].clone();
    assert_eq!(data(), "false");
    let err = site.fails(&["upgrade", v1.to_str().unwrap(), "--set", "app.istio.enabled=true"]);
    assert!(
        err.contains(&format!(
            "CustomResourceDefinition {crd} (as app.istio.enabled is on) (found absent; install Istio first)"
        )),
        "{err}"
    );
    assert_eq!(data(), "false", "nothing changed");
    assert_eq!(site.records().len(), 1);
    site.done();
}

/// A dry run of an upgrade says, per object, what would change against the
/// live cluster (from the API server's own dry-run answer): here exactly a
/// replica count changed, a field dropped and an object added; the
/// cluster is unchanged afterwards.
#[test]
fn a_dry_run_shows_what_an_upgrade_would_change() {
    let site = Site::new("dryrundiff");
    let settings = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {a: b}\n";
    let v1 =
        site.bundle("1.0.0", &[("cm.yaml", settings), ("deploy.yaml", &deployment(1, "{name: V, value: '1'}", ""))]);
    site.ok(&["install", v1.to_str().unwrap()]);
    let before = site.snapshot();
    let extra = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: extra}\ndata: {c: d}\n";
    let v2 =
        site.bundle("2.0.0", &[("cm.yaml", settings), ("extra.yaml", extra), ("deploy.yaml", &deployment(2, "", ""))]);
    let said = site.stdout(&["upgrade", v2.to_str().unwrap(), "--dry-run"]);
    let ns = &site.ns;
    let changes: Vec<&str> = said.lines().filter(|l| !l.starts_with("dry run:")).collect();
    assert_eq!(
        changes,
        [
            format!("+ ConfigMap {ns}/extra (v1): created").as_str(),
            format!("~ Deployment {ns}/web (apps/v1):").as_str(),
            "    spec.replicas: 1 -> 2",
            "    spec.template.spec.containers[0].env: removed (was [{\"name\":\"V\",\"value\":\"1\"}])",
        ],
        "{said}"
    );
    // `--json`: the same, as data.
    let said: serde_json::Value =
        serde_json::from_str(&site.stdout(&["upgrade", v2.to_str().unwrap(), "--dry-run", "--json"])).unwrap();
    assert_eq!((said["dryRun"].clone(), said["revision"].clone()), (true.into(), 2.into()), "{said}");
    let changes: Vec<(&str, &str)> = said["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["change"] != "unchanged")
        .map(|c| (c["resource"]["name"].as_str().unwrap(), c["change"].as_str().unwrap()))
        .collect();
    assert_eq!(changes, [("extra", "created"), ("web", "changed")], "{said}");
    let web = said["changes"].as_array().unwrap().iter().find(|c| c["resource"]["name"] == "web").unwrap();
    assert_eq!(
        web["fields"],
        serde_json::json!([
            {"path": "spec.replicas", "before": 1, "after": 2},
            {"path": "spec.template.spec.containers[0].env", "before": [{"name": "V", "value": "1"}]},
        ])
    );
    assert_eq!(site.snapshot(), before, "a dry run changes nothing");
    site.done();
}

/// Site values kept in a Secret of the cluster (`--values-secret`): read
/// at install under those given, named in the record but never copied
/// into it, read again by an upgrade that gives no values (so a changed
/// Secret takes effect), dropped by `--reset-values`; a Secret or key
/// that is not there is refused before anything changes.
#[test]
fn values_kept_in_a_secret_are_read_at_each_run_and_never_recorded() {
    let site = Site::new("valuessecret");
    let template = "apiVersion: v1\nkind: Secret\nmetadata: {name: settings}\nstringData:\n  password: {{ .Values.password | default \"none\" | quote }}\n  greeting: {{ .Values.greeting | default \"hello\" | quote }}\n";
    let data = || {
        let data = site.object("/api/v1/namespaces/NS/secrets/settings")["data"].clone();
        let decode = |key: &str| {
            use base64::Engine;
            let bytes = base64::engine::general_purpose::STANDARD.decode(data[key].as_str().unwrap()).unwrap();
            String::from_utf8(bytes).unwrap()
        };
        (decode("password"), decode("greeting"))
    };
    let bundle = |version: &str| site.bundle(version, &[("secret.yaml", template)]);
    let secret_ref = format!("{}/site-values", site.ns);
    let v1 = bundle("1.0.0");

    let err = site.fails(&["install", v1.to_str().unwrap(), "--values-secret", &secret_ref]);
    assert!(err.contains(&format!("the site values in Secret {secret_ref}:values.yaml: no such Secret")), "{err}");
    assert!(site.records().is_empty(), "nothing recorded");
    site.plane.kubectl_ok(&["create", "namespace", &site.ns]);
    let put_secret = |values: &str| {
        site.plane.kubectl_ok(&["delete", "secret", "site-values", "-n", &site.ns, "--ignore-not-found"]);
        let literal = format!("values.yaml={values}");
        site.plane.kubectl_ok(&[
            "create",
            "secret",
            "generic",
            "site-values",
            "-n",
            &site.ns,
            "--from-literal",
            &literal,
        ]);
    };
    put_secret("app: {password: s3cret-one, greeting: from-secret}");
    let err = site.fails(&["install", v1.to_str().unwrap(), "--values-secret", &format!("{secret_ref}:nope")]);
    assert!(err.contains("it has no key `nope` (its keys: values.yaml)"), "{err}");
    assert!(site.records().is_empty(), "nothing recorded");

    // Under the values given: --set wins over the Secret.
    site.ok(&["install", v1.to_str().unwrap(), "--values-secret", &secret_ref, "--set", "app.greeting=from-set"]);
    assert_eq!(data(), ("s3cret-one".into(), "from-set".into()));
    let shown = site.stdout(&["history", &site.release, "--values", "1"]);
    assert!(shown.contains(&format!("{secret_ref}:values.yaml")) && !shown.contains("s3cret"), "{shown}");
    let history = site.stdout(&["history", &site.release, "--json"]);
    assert!(!history.contains("s3cret"), "{history}");
    // The same bundle with other values is a new revision, which a
    // rollback leaves (the same values again re-apply under revision 2).
    let v1 = v1.to_str().unwrap();
    site.ok(&["upgrade", v1, "--reuse-values", "--set", "app.greeting=again"]);
    site.ok(&["upgrade", v1, "--reuse-values", "--set", "app.greeting=again"]);
    assert_eq!(site.records().len(), 2, "{:?}", site.records());
    assert_eq!(data(), ("s3cret-one".into(), "again".into()));
    site.ok(&["rollback", &site.release]);
    assert_eq!(data(), ("s3cret-one".into(), "from-set".into()));

    // No values given: the Secret is read again, as it is now.
    put_secret("app: {password: s3cret-two}");
    site.ok(&["upgrade", bundle("2.0.0").to_str().unwrap()]);
    assert_eq!(data(), ("s3cret-two".into(), "from-set".into()));
    // --reset-values: neither the Secret nor the values given any more.
    site.ok(&["upgrade", bundle("3.0.0").to_str().unwrap(), "--reset-values"]);
    assert_eq!(data(), ("none".into(), "hello".into()));
    // On a K3s node there is no API to read it through: refused.
    let root = site.dir.path().join("node");
    let out =
        site.airlock.run(&["install", v1, "--k3s", "--root", root.to_str().unwrap(), "--values-secret", &secret_ref]);
    assert_eq!(out.status.code(), Some(USAGE), "{}", String::from_utf8_lossy(&out.stderr));
    site.done();
}

/// At install a chart sees the cluster's kinds as Helm's discovery shows
/// them (`.Capabilities.APIVersions.Has "policy/v1/PodDisruptionBudget"`:
/// Traefik's chart picks its PodDisruptionBudget's version so), not only
/// its group versions.
#[test]
fn charts_see_the_kinds_the_cluster_serves() {
    let site = Site::new("capkinds");
    let cm = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: caps}\ndata:\n  pdb: {{ .Capabilities.APIVersions.Has \"policy/v1/PodDisruptionBudget\" | quote }}\n  gv: {{ .Capabilities.APIVersions.Has \"policy/v1\" | quote }}\n  nokind: {{ .Capabilities.APIVersions.Has \"policy/v1/Nothing\" | quote }}\n";
    site.ok(&["install", site.bundle("1.0.0", &[("cm.yaml", cm)]).to_str().unwrap()]);
    let data = site.object("/api/v1/namespaces/NS/configmaps/caps")["data"].clone();
    assert_eq!(data, serde_json::json!({"pdb": "true", "gv": "true", "nokind": "false"}));
    site.done();
}

/// At install a chart's `lookup` reads the live cluster, as `helm install`
/// does (Bitnami's charts keep their generated passwords so): an object
/// there, one that is not (an empty map), a list, and a kind the cluster
/// does not serve (nothing).
#[test]
fn charts_look_up_live_objects_as_helm_install_does() {
    let site = Site::new("lookup");
    site.plane.kubectl_ok(&["create", "namespace", &site.ns]);
    site.plane.kubectl_ok(&[
        "create",
        "secret",
        "generic",
        "existing",
        "-n",
        &site.ns,
        "--from-literal",
        "password=kept",
    ]);
    site.plane.kubectl_ok(&["create", "configmap", "other", "-n", &site.ns, "--from-literal", "a=b"]);
    let cm = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: looked}\ndata:\n  found: \"{{ with lookup \"v1\" \"Secret\" .Release.Namespace \"existing\" }}{{ .data.password | b64dec }}{{ end }}\"\n  missing: {{ lookup \"v1\" \"Secret\" .Release.Namespace \"absent\" | toJson | quote }}\n  listed: \"{{ range (lookup \"v1\" \"ConfigMap\" .Release.Namespace \"\").items }}{{ .metadata.name }},{{ end }}\"\n  unknown: {{ lookup \"nowhere.example.com/v1\" \"Widget\" \"\" \"w\" | toJson | quote }}\n";
    site.ok(&["install", site.bundle("1.0.0", &[("cm.yaml", cm)]).to_str().unwrap()]);
    let data = site.object("/api/v1/namespaces/NS/configmaps/looked")["data"].clone();
    assert_eq!(data["found"], "kept", "{data}");
    assert_eq!(data["missing"], "{}", "{data}");
    assert!(data["listed"].as_str().unwrap().contains("other,"), "{data}");
    assert_eq!(data["unknown"], "{}", "{data}");
    // Offline, as `helm template`, it finds nothing.
    let out = site.airlock.run(&["template", site.dir.path().join("1.0.0/chart").to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && text.contains("found: \"\""), "{text}{}", String::from_utf8_lossy(&out.stderr));
    site.done();
}

/// A field the API server will not change once made (a StatefulSet's
/// claim templates, as an environment with other volume sizes changes
/// them) is refused, and the hint says the way out.
#[test]
fn an_immutable_field_is_said_with_the_way_out() {
    let site = Site::new("immutable");
    let sts = |size: &str| {
        format!("apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {{name: db}}\nspec:\n  serviceName: db\n  selector: {{matchLabels: {{app: db}}}}\n  template:\n    metadata: {{labels: {{app: db}}}}\n    spec: {{containers: [{{name: db, image: busybox:1}}]}}\n  volumeClaimTemplates: [{{metadata: {{name: data}}, spec: {{accessModes: [ReadWriteOnce], resources: {{requests: {{storage: {size}}}}}}}}}]\n")
    };
    site.ok(&["install", site.bundle("1.0.0", &[("sts.yaml", &sts("1Gi"))]).to_str().unwrap()]);
    let err = site.fails(&["upgrade", site.bundle("2.0.0", &[("sts.yaml", &sts("2Gi"))]).to_str().unwrap()]);
    assert!(
        err.contains("field is immutable") && err.contains("hint: StatefulSet db") && err.contains("--cascade=orphan"),
        "{err}"
    );
    // Refused at the first object beyond the namespace: nothing changed, so
    // nothing to go back from, and said so.
    assert!(err.contains("no revision was recorded"), "{err}");
    let claims = &site.object("/apis/apps/v1/namespaces/NS/statefulsets/db")["spec"]["volumeClaimTemplates"];
    assert_eq!(claims[0]["spec"]["resources"]["requests"]["storage"], "1Gi");
    site.done();
}

/// An object of a kind the cluster does not serve, and that no CRD of the
/// bundle defines, is refused before the first change (no Namespace, no
/// hook, no object is applied), naming the kind and the object.
#[test]
fn a_kind_the_cluster_lacks_is_refused_before_any_change() {
    let site = Site::new("unknownkind");
    let hook =
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: early\n  annotations: {\"helm.sh/hook\": pre-install}\n";
    let widget = "apiVersion: nowhere.example.com/v1\nkind: Widget\nmetadata: {name: w1}\n";
    let cm = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\n";
    let v1 = site.bundle("1.0.0", &[("hook.yaml", hook), ("widget.yaml", widget), ("cm.yaml", cm)]);
    let err = site.fails(&["install", v1.to_str().unwrap()]);
    assert!(err.contains("the cluster does not serve kind Widget (nowhere.example.com/v1), which Widget w1"), "{err}");
    assert!(site.plane.object(&format!("/api/v1/namespaces/{}", site.ns)).is_none(), "not even its namespace");
    // (A create at /api/v1/namespaces is the lease's airlock-system, made
    // when no run made it before; objects are applied by name.)
    let applied: Vec<String> = site.applies().into_iter().filter(|p| p != "/api/v1/namespaces").collect();
    assert!(applied.is_empty(), "nothing applied: {applied:?}");

    // A kind Kubernetes removed is named with the release that removed it
    // and what replaces it.
    let psp = "apiVersion: policy/v1beta1\nkind: PodSecurityPolicy\nmetadata: {name: restricted}\nspec: {}\n";
    let v2 = site.bundle("2.0.0", &[("psp.yaml", psp), ("cm.yaml", cm)]);
    let err = site.fails(&["install", v2.to_str().unwrap()]);
    assert!(err.contains("PodSecurityPolicy restricted (from chart app, app/templates/psp.yaml)"), "{err}");
    assert!(
        err.contains("PodSecurityPolicy (policy/v1beta1) was removed in Kubernetes 1.25")
            && err.contains("pod-security.kubernetes.io/enforce"),
        "{err}"
    );
}
