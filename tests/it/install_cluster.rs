//! `install|upgrade|rollback|history|test|uninstall --kubeconfig`: a bundle
//! into a real Kubernetes cluster through its API: the control plane of
//! control_plane.rs (etcd, kube-apiserver, controller manager, scheduler,
//! kwok's simulated nodes). What airlock sent is read from the API server's
//! audit log, under a user name of each test's own; each test works in
//! namespaces and release names of its own (its `Corner`, corner.rs).

use crate::control_plane::{control_plane, unique, Request};
use crate::corner::Corner;
use crate::support::*;
use std::path::{Path, PathBuf};

const CRD: &str = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.example.com";

/// A Job spec a kwok node completes (or fails, with `airlock.test/exit-code`).
fn job_spec(annotations: &str) -> String {
    format!("spec: {{backoffLimit: 0, template: {{metadata: {{annotations: {{{annotations}}}}}, spec: {{restartPolicy: Never, containers: [{{name: t, image: \"busybox:1\"}}]}}}}}}")
}

struct Versions {
    dir: tempfile::TempDir,
    airlock: Airlock,
    corner: Corner,
    v1: PathBuf,
    v2: PathBuf,
    diff: PathBuf,
    /// The real helm, when built (`built_helm`): after each install,
    /// upgrade and rollback `ok` runs, it reads every Helm release airlock
    /// keeps in `helm_namespaces` (the namespaces the bundles' charts go
    /// to: the corner's, and those a test adds).
    helm: Option<PathBuf>,
    helm_namespaces: std::cell::RefCell<Vec<String>>,
}

const CRD_YAML: &str = "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: widgets.example.com}\nspec:\n  group: example.com\n  names: {kind: Widget, plural: widgets}\n  scope: Namespaced\n  versions: [{name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object, properties: {spec: {type: object, x-kubernetes-preserve-unknown-fields: true, properties: {imagePullSecrets: {type: array, items: {type: object, properties: {name: {type: string}}}}}}}}}}]\n";

/// Chart hooks: a pre-install Job (its image bundled) kept afterwards, a
/// post-install Job deleted once it succeeds, a pre-upgrade Job, a
/// pre-rollback Job, a test Pod that is never run, a pre-delete Job and a
/// post-delete ConfigMap.
fn hooks() -> String {
    let job = job_spec("");
    format!("apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: migrate\n  annotations: {{\"helm.sh/hook\": pre-install, \"helm.sh/hook-weight\": \"5\"}}\nspec: {{template: {{spec: {{restartPolicy: Never, containers: [{{name: m, image: \"localhost/hello:1.0.0\"}}]}}}}}}\n---\napiVersion: batch/v1\nkind: Job\nmetadata:\n  name: smoke\n  annotations: {{\"helm.sh/hook\": post-install, \"helm.sh/hook-delete-policy\": hook-succeeded}}\n{job}\n---\napiVersion: batch/v1\nkind: Job\nmetadata:\n  name: upgrade-db\n  annotations: {{\"helm.sh/hook\": pre-upgrade}}\n{job}\n---\napiVersion: batch/v1\nkind: Job\nmetadata:\n  name: before-rollback\n  annotations: {{\"helm.sh/hook\": pre-rollback}}\n{job}\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: web-test\n  annotations: {{\"helm.sh/hook\": test}}\nspec: {{restartPolicy: Never, containers: [{{name: t, image: \"busybox:1\"}}]}}\n---\napiVersion: batch/v1\nkind: Job\nmetadata:\n  name: drain\n  annotations: {{\"helm.sh/hook\": pre-delete, \"helm.sh/hook-delete-policy\": hook-succeeded}}\n{job}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: farewell\n  annotations: {{\"helm.sh/hook\": post-delete}}\n")
}

/// Version 1: a chart (ConfigMap, Deployment running the bundled image and
/// one that is not bundled, hooks), a CRD, and manifests using both.
/// Version 2 drops the chart's ConfigMap and the extra manifest, adds a Service.
fn versions() -> Versions {
    let dir = tempfile::tempdir().unwrap();
    let corner = Corner::new(dir.path(), "site");
    let (release, ns) = (&corner.release, &corner.ns);
    let airlock = Airlock::new();
    let mut bundles = Vec::new();
    for (version, replicas, v2) in [("1.0.0", 1, false), ("2.0.0", 2, true)] {
        let d = dir.path().join(version);
        std::fs::create_dir_all(d.join("chart/templates")).unwrap();
        demo_image(&d.join("hello"));
        std::fs::write(d.join("chart/Chart.yaml"), format!("apiVersion: v2\nname: web\nversion: {version}\n")).unwrap();
        std::fs::write(d.join("chart/values.yaml"), "replicas: 1\nimage: localhost/hello:1.0.0\n").unwrap();
        std::fs::write(
            d.join("chart/templates/deployment.yaml"),
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  replicas: {{ .Values.replicas }}\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec:\n      initContainers: [{name: wait, image: \"busybox:1\"}]\n      containers: [{name: web, image: {{ .Values.image | quote }}, args: [\"--helper-image={{ .Values.image }}\", \"--port=8080\"]}]\n",
        )
        .unwrap();
        std::fs::write(d.join("chart/templates/hooks.yaml"), hooks()).unwrap();
        if !v2 {
            std::fs::write(
                d.join("chart/templates/cm.yaml"),
                "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: {{ .Release.Name }}-settings}\ndata: {ns: {{ .Release.Namespace }}, kube: {{ .Capabilities.KubeVersion.Version }}, helper: {{ .Values.image }}}\n{{- if .Capabilities.APIVersions.Has \"example.com/v1\" }}\n---\napiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w2}\n{{- end }}\n",
            )
            .unwrap();
        }
        std::fs::write(d.join("crd.yaml"), CRD_YAML).unwrap();
        let mut manifests = format!(
            "apiVersion: example.com/v1\nkind: Widget\nmetadata: {{name: w1, namespace: {ns}}}\nspec: {{image: \"localhost/hello:1.0.0\", class: hello}}\n"
        );
        manifests += &if v2 {
            format!("---\napiVersion: v1\nkind: Service\nmetadata: {{name: svc, namespace: {ns}}}\nspec: {{ports: [{{port: 80}}]}}\n")
        } else {
            // Version 1 also declares the chart's namespace itself, labelled.
            format!("---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {release}-extra}}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {{name: {ns}, labels: {{team: shop}}}}\n")
        };
        std::fs::write(d.join("app.yaml"), manifests).unwrap();
        let spec = write_spec(
            &d,
            &format!("components:\n  - name: app\n    images: [\"oci-layout:./hello:1.0.0\"]\n    charts: [{{name: web, path: ./chart, namespace: {ns}, images: explicit, values: {{replicas: {replicas}}}}}]\n    crds: [crd.yaml]\n    manifests: [app.yaml]\n"),
        );
        let text = std::fs::read_to_string(&spec)
            .unwrap()
            .replace("{name: test, version: 1.0.0}", &format!("{{name: {release}, version: {version}}}"));
        std::fs::write(&spec, text).unwrap();
        let bundle = d.join("site.airlock");
        airlock.ok(&["create", spec.to_str().unwrap(), "-o", bundle.to_str().unwrap()]);
        bundles.push(bundle);
    }
    let v2 = bundles.pop().unwrap();
    let v1 = bundles.pop().unwrap();
    // Version 2 as a differential bundle: the image is left to version 1.
    let diff = dir.path().join("site-2.0.0-since-1.0.0.airlock");
    let spec = dir.path().join("2.0.0/airlock.yaml");
    airlock.ok(&["create", spec.to_str().unwrap(), "-o", diff.to_str().unwrap(), "--since", v1.to_str().unwrap()]);
    let helm_namespaces = std::cell::RefCell::new(vec![corner.ns.clone()]);
    Versions { dir, airlock, corner, v1, v2, diff, helm: built_helm(), helm_namespaces }
}

impl Versions {
    fn run(&self, args: &[&str], kubeconfig: &Path) -> std::process::Output {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--kubeconfig", kubeconfig.to_str().unwrap()]);
        self.airlock.run(&all)
    }
    fn ok(&self, args: &[&str], kubeconfig: &Path) -> (String, String) {
        let out = self.run(args, kubeconfig);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "airlock {args:?} failed:\n{stderr}");
        if let Some(helm) = self.helm.as_ref().filter(|_| changes_releases(args)) {
            for namespace in self.helm_namespaces.borrow().iter() {
                helm_reads_every_release(helm, &unaudited_kubeconfig(), namespace);
            }
        }
        (String::from_utf8_lossy(&out.stdout).into_owned(), stderr)
    }
    #[track_caller]
    fn fails(&self, args: &[&str], kubeconfig: &Path) -> String {
        self.fails_with(FAILURE, args, kubeconfig)
    }
    /// Fails with exit code `code`; returns stderr.
    #[track_caller]
    fn fails_with(&self, code: i32, args: &[&str], kubeconfig: &Path) -> String {
        let out = self.run(args, kubeconfig);
        assert_eq!(out.status.code(), Some(code), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stderr).into_owned()
    }
}

/// Whether airlock run with `args` writes Helm releases when it succeeds:
/// an install, upgrade or rollback that is not a dry run.
fn changes_releases(args: &[&str]) -> bool {
    matches!(args[0], "install" | "upgrade" | "rollback") && !args.contains(&"--dry-run")
}

#[test]
fn install_upgrade_rollback_into_a_cluster() {
    let v = versions();
    let c = &v.corner;
    let (release, ns) = (c.release.as_str(), c.ns.as_str());
    let kubeconfig = c.kubeconfig.clone();
    let (v1, v2) = (v.v1.to_str().unwrap(), v.v2.to_str().unwrap());
    // The bundled image, as relocated: pinned to the digest the bundle carries.
    let inspected: serde_json::Value =
        serde_json::from_str(&v.airlock.ok(&["inspect", v1, "--json"])).expect("inspect --json");
    let digest = inspected["components"][0]["images"][0]["digest"].as_str().expect("the image's digest").to_string();
    let moved = format!("reg.example:5000/mirror/hello:1.0.0@{digest}");
    let deployment = format!("/apis/apps/v1/namespaces/{ns}/deployments/web");
    let chart_configmap = format!("/api/v1/namespaces/{ns}/configmaps/web-settings");
    let extra_configmap = format!("/api/v1/namespaces/default/configmaps/{release}-extra");
    let widget = format!("/apis/example.com/v1/namespaces/{ns}/widgets/w1");
    // Made by the chart only when the cluster serves example.com/v1.
    let widget_2 = format!("/apis/example.com/v1/namespaces/{ns}/widgets/w2");
    let namespace = format!("/api/v1/namespaces/{ns}");
    let jobs = format!("/apis/batch/v1/namespaces/{ns}/jobs");
    let image_of = |list: &str| {
        let deployment = c.object(&deployment).expect("the deployment was applied");
        deployment["spec"]["template"]["spec"][list][0]["image"].as_str().unwrap().to_string()
    };

    // A dry run first: the cluster checks what it can, nothing is stored.
    let (out, err) =
        v.ok(&["install", v1, "--registry", "reg.example:5000/mirror", "--allow-unsigned", "--dry-run"], &kubeconfig);
    assert!(
        out.contains(&format!("dry run: {release} 1.0.0 would be revision 1")) && out.contains("nothing was changed"),
        "{out}"
    );
    assert!(err.contains("Would apply CustomResourceDefinition widgets.example.com"), "{err}");
    assert!(err.contains(&format!("Would apply ConfigMap default/{release}-extra (v1)")), "{err}");
    assert!(err.contains("Would run hook pre-install Job migrate (from chart web, web/templates/hooks.yaml)"), "{err}");
    assert!(err.contains("cannot be checked before the install: Widget w1 (from manifests app.yaml (component app)): its CRD is in this bundle"), "{err}");
    assert!(
        err.contains(&format!(
            "Deployment web (from chart web, web/templates/deployment.yaml): its namespace {ns} is made by this bundle"
        )),
        "{err}"
    );
    assert!(c.applies().is_empty() && c.records().is_empty(), "{:?}", c.applies());
    assert!(c.object(&namespace).is_none());

    let (out, err) = v.ok(
        &[
            "install",
            v1,
            "--registry",
            "reg.example:5000/mirror",
            "--username",
            "puller",
            "--password",
            "pull-pass",
            "--allow-unsigned",
            "--wait",
            "--timeout",
            "60s",
        ],
        &kubeconfig,
    );
    assert!(out.contains(&format!("{release} 1.0.0: revision 1")), "{out}");
    // Everything is there, namespaced where the chart or the body says.
    for path in [&deployment, &chart_configmap, &extra_configmap, &widget, CRD, &namespace] {
        assert!(c.object(path).is_some(), "{path} missing");
    }
    // --wait followed the real rollout: the Deployment's pods are ready.
    let status = &c.object(&deployment).unwrap()["status"];
    assert_eq!(
        (status["readyReplicas"].as_u64(), status["observedGeneration"].as_u64()),
        (Some(1), Some(1)),
        "{status}"
    );
    // Charts render for this cluster: its version, and the CRD the bundle brings.
    assert_eq!(c.object(&chart_configmap).unwrap()["data"]["ns"], ns);
    // The namespace as the bundle declares it, not the chart's bare one.
    assert_eq!(c.object(&namespace).unwrap()["metadata"]["labels"]["team"], "shop");
    assert_eq!(c.object(&chart_configmap).unwrap()["data"]["kube"], "v1.37.2");
    assert!(c.object(&widget_2).is_some());
    // Namespaces and CRDs go first; the Widget only once its CRD is served.
    let applies = c.applies();
    let at = |p: &str| applies.iter().position(|a| a == p).unwrap_or_else(|| panic!("{p} not applied: {applies:?}"));
    assert!(at(&namespace) < at(&chart_configmap) && at(CRD) < at(&widget), "{applies:?}");
    // The bundled image runs from the registry; the other is left and named.
    assert_eq!(image_of("containers"), moved);
    assert_eq!(image_of("initContainers"), "busybox:1");
    // So is the bundled image an operator is told about in its arguments.
    let args = &c.object(&deployment).unwrap()["spec"]["template"]["spec"]["containers"][0]["args"];
    assert_eq!(args, &serde_json::json!([format!("--helper-image={moved}"), "--port=8080"]));
    assert!(err.contains("left as they are") && err.contains("busybox:1"), "{err}");
    // And the one a custom resource names for its operator, which is told
    // that the pods it makes need the pull secret.
    let widget_object = c.object(&widget).unwrap();
    assert_eq!(
        (&widget_object["spec"]["image"], &widget_object["spec"]["class"]),
        (&moved.clone().into(), &"hello".into())
    );
    assert!(err.contains("image(s) named in these fields to the registry: "), "{err}");
    assert!(err.contains("ConfigMap web-settings: data.helper") && err.contains("Widget w1: spec.image"), "{err}");
    assert_eq!(c.object(&chart_configmap).unwrap()["data"]["helper"], moved.as_str());
    // The Widget's CRD declares a pull-secret list, so the secret is named
    // there; the ConfigMap has none, which is said.
    assert_eq!(
        widget_object["spec"]["imagePullSecrets"],
        serde_json::json!([{"name": format!("airlock-registry-{release}")}])
    );
    assert!(err.contains("ConfigMap web-settings: images moved, but with no spec.imagePullSecrets"), "{err}");
    assert!(!err.contains("Widget w1: images moved"), "{err}");
    // Hooks: pre-install before the chart's objects, post-install after
    // them and deleted once done, the test hook left out; none recorded.
    let (migrate, smoke) = (format!("{jobs}/migrate"), format!("{jobs}/smoke"));
    assert!(at(&migrate) < at(&chart_configmap) && at(&deployment) < at(&smoke), "{applies:?}");
    assert!(err.contains(&format!("Ran hook pre-install Job {ns}/migrate (batch/v1)")), "{err}");
    assert!(err.contains(&format!("Ran hook post-install Job {ns}/smoke (batch/v1)")), "{err}");
    assert!(c.object(&migrate).is_some());
    assert!(c.plane.eventually(30, || c.object(&smoke).is_none()), "the succeeded post-install hook is deleted");
    let migrate_image = &c.object(&migrate).unwrap()["spec"]["template"]["spec"]["containers"][0]["image"];
    assert_eq!(migrate_image, moved.as_str());
    assert!(!err.contains("were left out"), "{err}");
    // With credentials, the pods that pull from the registry get a pull
    // secret, made in their namespace, as kubectl makes one.
    let secret =
        c.object(&format!("/api/v1/namespaces/{ns}/secrets/airlock-registry-{release}")).expect("the pull secret");
    assert_eq!(secret["type"], "kubernetes.io/dockerconfigjson");
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    let config: serde_json::Value =
        serde_json::from_slice(&b64.decode(secret["data"][".dockerconfigjson"].as_str().unwrap()).unwrap()).unwrap();
    assert_eq!(config["auths"]["reg.example:5000"]["auth"], b64.encode("puller:pull-pass"));
    let pull_secrets = |path: &str| c.object(path).unwrap()["spec"]["template"]["spec"]["imagePullSecrets"].clone();
    assert_eq!(pull_secrets(&deployment), serde_json::json!([{"name": format!("airlock-registry-{release}")}]));
    assert_eq!(pull_secrets(&migrate), serde_json::json!([{"name": format!("airlock-registry-{release}")}]));
    assert!(c.object(&format!("/api/v1/namespaces/default/secrets/airlock-registry-{release}")).is_none());
    assert!(
        !applies.iter().any(|a| a.contains("upgrade-db") || a.contains("rollback") || a.contains("web-test")),
        "{applies:?}"
    );
    assert!(!err.contains("before-rollback"), "{err}");
    assert!(c.records() == [format!("airlock.{release}.v1")], "{:?}", c.records());

    // `test` runs the chart's test hook, as `helm test` does, and leaves
    // the Pod; run again, the old Pod is deleted before the new one.
    let test_pod = format!("/api/v1/namespaces/{ns}/pods/web-test");
    let deletes_of_pod = || c.deletes().iter().filter(|d| **d == test_pod).count();
    let (out, err) = v.ok(&["test", release], &kubeconfig);
    assert!(out.contains(&format!("{release} 1.0.0 (revision 1): 1 test hook(s) passed")), "{out}");
    assert!(err.contains(&format!("Passed test Pod {ns}/web-test (v1)")), "{err}");
    let first_pod = c.object(&test_pod).expect("the test Pod is left")["metadata"]["uid"].clone();
    if let Some(helm) = &v.helm {
        // Recorded as `helm test` records it: `helm status` shows the suite.
        let home = v.dir.path().join("helm-status");
        let out = run_ok(helm_command(helm, &home).args(["status", "web", "-n", ns, "--kubeconfig"]).arg(&kubeconfig));
        let status = String::from_utf8_lossy(&out.stdout);
        let suite = status.split_once("TEST SUITE:").map(|(_, rest)| rest).unwrap_or_else(|| panic!("{status}"));
        assert!(suite.contains("web-test") && suite.contains("Phase:          Succeeded"), "{status}");
    }
    let before = deletes_of_pod();
    let (out, _) = v.ok(&["test", release, "--json"], &kubeconfig);
    assert_eq!(deletes_of_pod(), before + 1);
    let tested: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (&tested["name"], &tested["version"], &tested["revision"]),
        (&release.into(), &"1.0.0".into(), &1.into())
    );
    let passed = tested["passed"].as_array().unwrap();
    assert!(passed.len() == 1 && passed[0].as_str().unwrap().contains(&format!("Pod {ns}/web-test")), "{out}");
    let second_pod = c.object(&test_pod).expect("the test Pod is left")["metadata"]["uid"].clone();
    assert_ne!(first_pod, second_pod);

    // Installing it again converges under the same revision; a different
    // version must be an upgrade.
    // Without credentials this time, so the pull secret goes, and with it
    // the field of the Deployment that named it (server-side apply drops
    // what airlock no longer applies).
    let (out, err) = v.ok(&["install", v1, "--registry", "reg.example:5000/mirror", "--allow-unsigned"], &kubeconfig);
    assert!(out.contains("revision 1"), "{out}");
    assert!(err.contains(&format!("Deleted Secret {ns}/airlock-registry-{release}")), "{err}");
    assert!(c.object(&deployment).unwrap()["spec"]["template"]["spec"].get("imagePullSecrets").is_none());
    let err = v.fails(&["install", v2, "--allow-unsigned"], &kubeconfig);
    assert!(err.contains("no --registry: the bundle's 1 images keep their source names"), "{err}");
    assert!(err.contains(&format!("{release} 1.0.0 is already installed in this cluster (revision 1)")), "{err}");

    // Upgrade: what version 2 drops is deleted; the CRD and namespace stay;
    // hooks are not among what it drops.
    let before = c.deletes().len();
    let applied_before = c.applies().len();
    let (out, err) =
        v.ok(&["upgrade", v2, "--registry", "reg.example:5000/mirror", "--allow-unsigned", "--dry-run"], &kubeconfig);
    assert!(
        out.contains(&format!("dry run: {release} 2.0.0 would be revision 2 (")) && out.contains("3 to delete)"),
        "{out}"
    );
    assert!(
        err.contains(&format!("Would delete ConfigMap {ns}/web-settings"))
            && err.contains(&format!("Would apply Service {ns}/svc")),
        "{err}"
    );
    assert!(err.contains("Would run hook pre-upgrade Job upgrade-db"), "{err}");
    assert_eq!(c.deletes().len(), before);
    assert_eq!(c.applies().len(), applied_before);
    // The real upgrade from the differential bundle: it carries the chart
    // and YAML, and the images are in the registry.
    let blobs = v.airlock.inspect(&v.diff)["blobs"].as_array().unwrap().clone();
    assert!(blobs.iter().any(|b| b["inBase"] == true), "{blobs:?}");
    let diff = v.diff.to_str().unwrap();
    let crd_applies = || c.applies().iter().filter(|a| *a == CRD).count();
    let crd_applied = crd_applies();
    let (out, err) = v.ok(&["upgrade", diff, "--registry", "reg.example:5000/mirror", "--allow-unsigned"], &kubeconfig);
    // The CRD is as version 1 left it: not sent again.
    assert_eq!(crd_applies(), crd_applied);
    assert!(err.contains(&format!("Ran hook pre-upgrade Job {ns}/upgrade-db")), "{err}");
    assert!(out.contains(&format!("{release} 2.0.0: revision 2")), "{out}");
    assert!(
        err.contains(&format!("Deleted ConfigMap {ns}/web-settings"))
            && err.contains(&format!("Deleted ConfigMap default/{release}-extra")),
        "{err}"
    );
    // The hook's old copy first (before-hook-creation), then in reverse of the
    // install order: the custom resource before the ConfigMaps.
    let upgrade_db = format!("{jobs}/upgrade-db");
    let deletes = c.deletes()[before..].to_vec();
    assert_eq!(deletes, [upgrade_db.as_str(), &widget_2, &chart_configmap, &extra_configmap]);
    assert!(c.object(&migrate).is_some());
    assert!(c.object(&format!("/api/v1/namespaces/{ns}/services/svc")).is_some());
    assert_eq!(c.object(&deployment).unwrap()["spec"]["replicas"], 2);

    // History, then rollback to 1: its objects return, the Service goes.
    let (out, _) = v.ok(&["history", release], &kubeconfig);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(lines[0].contains("install") && lines[0].contains("1.0.0") && lines[1].contains("upgrade"), "{out}");
    // Someone else changes the CRD: the rollback applies it again.
    c.plane.kubectl_ok(&["annotate", "customresourcedefinition", "widgets.example.com", "site=edited"]);
    let (out, err) = v.ok(&["rollback", release], &kubeconfig);
    assert!(out.contains(&format!("{release} 1.0.0: revision 3")), "{out}");
    assert_eq!(crd_applies(), crd_applied + 1);
    assert!(err.contains(&format!("Deleted Service {ns}/svc")), "{err}");
    // Revision 1's own pre-rollback hook, before its objects return.
    assert!(err.contains(&format!("Ran hook pre-rollback Job {ns}/before-rollback")), "{err}");
    let applies = c.applies();
    let hook_at = applies.iter().position(|a| a.ends_with("/before-rollback")).unwrap();
    assert!(hook_at < applies.iter().rposition(|a| *a == chart_configmap).unwrap(), "{applies:?}");
    assert!(c.object(&chart_configmap).is_some() && c.object(&extra_configmap).is_some());
    assert_eq!(image_of("containers"), moved);
    assert_eq!(c.object(&deployment).unwrap()["spec"]["replicas"], 1);
    let (out, _) = v.ok(&["history", release], &kubeconfig);
    assert!(out.lines().nth(2).is_some_and(|l| l.contains("rollback to 1")), "{out}");
    let (out, _) = v.ok(&["history", release, "--json"], &kubeconfig);
    let revisions: serde_json::Value = serde_json::from_str(&out).unwrap();
    let actions: Vec<(u64, &str, &str)> = revisions
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["revision"].as_u64().unwrap(), r["action"].as_str().unwrap(), r["version"].as_str().unwrap()))
        .collect();
    assert_eq!(actions, [(1, "install", "1.0.0"), (2, "upgrade", "2.0.0"), (3, "rollback to 1", "1.0.0")]);
    assert!(revisions[2]["objects"].as_u64() > Some(0) && revisions[2]["time"].is_string(), "{out}");
    assert_eq!(c.records().len(), 3);

    // Uninstall: every object goes but the namespace and the CRD (said),
    // and so do the records; hooks were never the release's. The charts'
    // pre-delete hook runs before any deletion (and goes, once it
    // succeeded), the post-delete hook after them all.
    let deletes_before = c.deletes().len();
    let applies_before = c.applies().len();
    let (out, err) = v.ok(&["uninstall", release], &kubeconfig);
    assert!(out.contains(&format!("{release} 1.0.0: uninstalled (5 objects deleted)")), "{out}");
    let (drain, farewell) = (format!("{jobs}/drain"), format!("/api/v1/namespaces/{ns}/configmaps/farewell"));
    assert_eq!(c.applies()[applies_before..], [drain.clone(), farewell.clone()]);
    let deletes = c.deletes()[deletes_before..].to_vec();
    let first_object_deleted = deletes.iter().position(|d| *d == deployment).unwrap();
    assert!(deletes[..first_object_deleted].contains(&drain), "{deletes:?}");
    assert!(
        err.contains(&format!("Ran hook pre-delete Job {ns}/drain"))
            && err.contains(&format!("Ran hook post-delete ConfigMap {ns}/farewell")),
        "{err}"
    );
    assert!(c.plane.eventually(30, || c.object(&drain).is_none()) && c.object(&farewell).is_some());
    assert!(
        err.contains(&format!("kubectl delete namespace {ns}"))
            && err.contains("kubectl delete customresourcedefinition.apiextensions.k8s.io widgets.example.com"),
        "{err}"
    );
    for path in [&deployment, &chart_configmap, &extra_configmap, &widget, &widget_2] {
        assert!(c.plane.eventually(30, || c.object(path).is_none()), "{path} is still there");
    }
    assert!(c.object(CRD).is_some() && c.object(&migrate).is_some());
    assert!(c.records().is_empty());
    let err = v.fails(&["history", release], &kubeconfig);
    assert!(err.contains(&format!("no revision of `{release}` is recorded")), "{err}");
    let err = v.fails(&["uninstall", release], &kubeconfig);
    assert!(err.contains(&format!("{release} is not installed in this cluster")), "{err}");
    c.plane.kubectl_ok(&["delete", "namespace", ns, "--wait=false"]);
    c.plane.kubectl_ok(&["delete", "customresourcedefinition", "widgets.example.com", "--wait=false"]);
}

#[test]
fn refusals_name_the_object_and_say_what_was_recorded() {
    let v = versions();
    let dir = v.dir.path();
    let plane = control_plane();
    // Two corners: `test` bundles land in the namespace of the first's
    // kubeconfig; `other` in the same one.
    let c = Corner::new(dir, "test");
    let ns = c.ns.as_str();
    v.helm_namespaces.borrow_mut().push(c.ns.clone());
    plane.kubectl_ok(&["create", "namespace", ns]);
    let kubeconfig = plane.kubeconfig_in(&c.kubeconfig, ns);
    let named =
        |text: &str| text.replace("{name: test, version: 1.0.0}", &format!("{{name: {}, version: 1.0.0}}", c.release));
    let test_spec = |body: &str| {
        let spec = write_spec(&dir.join("bad"), body);
        std::fs::write(&spec, named(&std::fs::read_to_string(&spec).unwrap())).unwrap();
        spec
    };
    let release = c.release.as_str();

    // The API refuses an object: its name, origin and the API's reason.
    std::fs::create_dir_all(dir.join("bad")).unwrap();
    std::fs::write(
        dir.join("bad/app.yaml"),
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: api}\nspec: {replicas: -1, selector: {matchLabels: {app: api}}, template: {metadata: {labels: {app: api}}, spec: {containers: [{name: api, image: busybox:1}]}}}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\n",
    )
    .unwrap();
    let spec = test_spec("components:\n  - name: app\n    manifests: [app.yaml]\n");
    let bad = dir.join("bad/bad.airlock");
    v.airlock.ok(&["create", spec.to_str().unwrap(), "-o", bad.to_str().unwrap()]);
    let err = v.fails(&["install", bad.to_str().unwrap(), "--allow-unsigned", "--no-rollback-on-failure"], &kubeconfig);
    assert!(
        err.contains(&format!(
            "the cluster refused Deployment api (from manifests app.yaml (component app)) in namespace {ns}"
        )) && err.contains("spec.replicas: Invalid value: -1")
            && err.contains("stopped after 1 of 2 objects; revision 1 is recorded as failed")
            && err.contains(&format!("`airlock uninstall {release}` removes what was applied")),
        "{err}"
    );
    assert!(!err.contains("no --registry"), "a bundle without images needs no registry: {err}");
    // The ConfigMap it made is not left unowned: the failed revision is
    // recorded, history says so, and uninstall removes it.
    let settings = format!("/api/v1/namespaces/{ns}/configmaps/settings");
    assert!(c.object(&settings).is_some() && c.records().len() == 1);
    let (history, _) = v.ok(&["history", release], &kubeconfig);
    assert!(history.contains("install") && history.contains("failed"), "{history}");
    let (out, _) = v.ok(&["uninstall", release, "--json"], &kubeconfig);
    assert!(c.object(&settings).is_none() && c.records().is_empty());
    // `uninstall --json`: what was deleted, and what is left (a
    // Namespace or a CRD only).
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!((&report["target"], &report["name"]), (&"cluster".into(), &release.into()), "{out}");
    let settings_ref =
        serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "namespace": ns, "name": "settings"});
    assert!(report["deleted"].as_array().unwrap().contains(&settings_ref), "{out}");
    assert!(report["left"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["kind"] == "Namespace" || r["kind"] == "CustomResourceDefinition"));
    assert_eq!(report["failed"], serde_json::json!([]));

    // A kind the cluster does not serve.
    std::fs::write(dir.join("bad/app.yaml"), "apiVersion: example.org/v1\nkind: Gadget\nmetadata: {name: g}\n")
        .unwrap();
    v.airlock.ok(&["create", spec.to_str().unwrap(), "-o", bad.to_str().unwrap()]);
    let err = v.fails(&["install", bad.to_str().unwrap(), "--allow-unsigned"], &kubeconfig);
    assert!(err.contains("the cluster does not serve kind Gadget (example.org/v1), which Gadget g"), "{err}");
    assert!(c.records().is_empty());

    // --wait: a workload that never becomes ready (its pods fit no node)
    // fails the command once the time is up, naming it and why; without
    // going back on failure, the revision stays recorded.
    std::fs::write(
        dir.join("bad/app.yaml"),
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: slow}\nspec: {replicas: 2, selector: {matchLabels: {app: slow}}, template: {metadata: {labels: {app: slow}}, spec: {nodeSelector: {kubernetes.io/arch: s390x}, containers: [{name: slow, image: busybox:1}]}}}\n",
    )
    .unwrap();
    v.airlock.ok(&["create", spec.to_str().unwrap(), "-o", bad.to_str().unwrap()]);
    let err = v.fails(
        &[
            "install",
            bad.to_str().unwrap(),
            "--allow-unsigned",
            "--wait",
            "--timeout",
            "4s",
            "--no-rollback-on-failure",
        ],
        &kubeconfig,
    );
    assert!(
        err.contains(&format!("Applied Deployment {ns}/slow"))
            && err.contains(&format!(
                "not ready after 4 s: Deployment {ns}/slow (apps/v1): 0 of 2 replicas available, 2 updated"
            ))
            && err.contains(&format!("kubectl -n {ns} describe deployment slow")),
        "{err}"
    );
    assert_eq!(c.records().len(), 1);
    let err = v.fails_with(USAGE, &["install", bad.to_str().unwrap(), "--k3s", "--wait"], &kubeconfig);
    assert!(err.contains("--wait applies to a cluster (without --k3s)"), "{err}");
    v.ok(&["uninstall", release], &kubeconfig);

    // A hook that fails stops the install there: named, with where to look.
    let chart = dir.join("bad/chart");
    std::fs::create_dir_all(chart.join("templates")).unwrap();
    std::fs::write(chart.join("Chart.yaml"), "apiVersion: v2\nname: bad\nversion: 0.1.0\n").unwrap();
    let spec = test_spec(&format!(
        "components:\n  - name: app\n    charts: [{{name: bad, path: ./chart, namespace: {ns}, images: explicit}}]\n"
    ));
    // The bundle `bad` as a chart with a failing hook and a ConfigMap.
    let with_failing_hook = |kind: &str, name: &str, event: &str| {
        let (api_version, body) = if kind == "Job" {
            ("batch/v1", job_spec("\"airlock.test/exit-code\": \"1\""))
        } else {
            ("v1", "spec: {restartPolicy: Never, containers: [{name: t, image: \"busybox:1\"}]}".to_string())
        };
        let pod_annotation = if kind == "Pod" { ", \"airlock.test/exit-code\": \"1\"" } else { "" };
        std::fs::write(
            chart.join("templates/job.yaml"),
            format!("apiVersion: {api_version}\nkind: {kind}\nmetadata:\n  name: {name}\n  annotations: {{\"helm.sh/hook\": {event}{pod_annotation}}}\n{body}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: after}}\n"),
        )
        .unwrap();
        v.airlock.ok(&["create", spec.to_str().unwrap(), "-o", bad.to_str().unwrap()]);
    };
    let after = format!("/api/v1/namespaces/{ns}/configmaps/after");
    with_failing_hook("Job", "fail", "pre-install");
    let err = v.fails(
        &["install", bad.to_str().unwrap(), "--allow-unsigned", "--timeout", "60s", "--no-rollback-on-failure"],
        &kubeconfig,
    );
    assert!(
        err.contains(
            "chart pre-install hook Job fail (from chart bad, bad/templates/job.yaml) failed: Job has reached the specified backoff limit"
        ) && err.contains(&format!("see why with `kubectl -n {ns} logs job/fail`"))
            && err.contains("stopped after 1 of 2 objects; revision 1 is recorded as failed"),
        "{err}"
    );
    assert!(c.object(&after).is_none() && c.records().len() == 1);
    v.ok(&["uninstall", release], &kubeconfig);

    // A failing pre-delete hook stops an uninstall before any deletion;
    // --no-hooks gets past it.
    with_failing_hook("Job", "fail", "pre-delete");
    v.ok(&["install", bad.to_str().unwrap(), "--allow-unsigned"], &kubeconfig);
    let err = v.fails(&["uninstall", release, "--timeout", "60s"], &kubeconfig);
    assert!(
        err.contains(&format!("{release} was not uninstalled, nothing was deleted: a pre-delete hook failed"))
            && err.contains("chart pre-delete hook Job fail (from chart bad, bad/templates/job.yaml) failed")
            && err.contains("--no-hooks"),
        "{err}"
    );
    assert!(c.object(&after).is_some() && c.records().len() == 1);
    v.ok(&["uninstall", release, "--no-hooks"], &kubeconfig);
    assert!(c.object(&after).is_none() && c.records().is_empty());
    let err = v.fails_with(USAGE, &["uninstall", release, "--no-hooks", "--k3s"], &kubeconfig);
    assert!(err.contains("--no-hooks applies to a cluster (without --k3s)"), "{err}");

    // A chart test that fails: named, with how to read its logs.
    let err = v.fails(&["test", release], &kubeconfig);
    assert!(err.contains(&format!("{release} is not installed in this cluster")), "{err}");
    with_failing_hook("Pod", "check", "test");
    v.ok(&["install", bad.to_str().unwrap(), "--allow-unsigned"], &kubeconfig);
    let err = v.fails(&["test", release, "--timeout", "60s"], &kubeconfig);
    assert!(
        err.contains(&format!("{release} 1.0.0 (revision 1) failed its tests"))
            && err.contains(
                "chart test hook Pod check (from chart bad, bad/templates/job.yaml) failed: the Pod failed: container t exited with code 1"
            )
            && err.contains(&format!("kubectl -n {ns} logs pod/check")),
        "{err}"
    );

    // What a bundle applies is marked as its own; another bundle that
    // declares it, or an object someone else made, is not taken over
    // (unless adopted), and nothing of that bundle is applied.
    assert_eq!(c.object(&after).unwrap()["metadata"]["annotations"]["airlock.dev/release"], release);
    let other_release = unique("other");
    std::fs::create_dir_all(dir.join("other")).unwrap();
    std::fs::write(
        dir.join("other/app.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: first}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: after}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: handmade}\n",
    )
    .unwrap();
    let other_spec = dir.join("other/airlock.yaml");
    std::fs::write(&other_spec, format!("apiVersion: airlock.dev/v1\nkind: Bundle\nmetadata: {{name: {other_release}, version: 1.0.0}}\ncomponents:\n  - name: app\n    manifests: [app.yaml]\n")).unwrap();
    let other = dir.join("other/other.airlock");
    v.airlock.ok(&["create", other_spec.to_str().unwrap(), "-o", other.to_str().unwrap()]);
    let handmade = format!("/api/v1/namespaces/{ns}/configmaps/handmade");
    plane.kubectl_ok(&["create", "configmap", "handmade", "-n", ns, "--from-literal=made=by-hand"]);
    let err = v.fails(&["install", other.to_str().unwrap(), "--allow-unsigned"], &kubeconfig);
    assert!(
        err.contains(&format!("{other_release} 1.0.0 declares 2 object(s) that already exist and are not its own"))
            && err.contains(&format!("ConfigMap {ns}/after (v1) belongs to bundle `{release}`"))
            && err.contains(&format!("`airlock uninstall {release}` first"))
            && err.contains(&format!("ConfigMap {ns}/handmade (v1) was not made by airlock"))
            && err.contains("--adopt")
            && err.contains("nothing was applied"),
        "{err}"
    );
    assert!(c.object(&format!("/api/v1/namespaces/{ns}/configmaps/first")).is_none());
    // Once `test` has gone, `other` may adopt the handmade one, whose own
    // data stays (server-side apply keeps fields another manager owns).
    v.ok(&["uninstall", release, "--no-hooks"], &kubeconfig);
    v.ok(&["install", other.to_str().unwrap(), "--allow-unsigned", "--adopt"], &kubeconfig);
    let adopted = c.object(&handmade).unwrap();
    assert_eq!(adopted["metadata"]["annotations"]["airlock.dev/release"], other_release.as_str());
    assert_eq!(adopted["data"]["made"], "by-hand", "{adopted}");
    v.ok(&["uninstall", &other_release], &kubeconfig);

    // Nothing to roll back to, nothing installed to upgrade.
    let site = &v.corner.release;
    let err = v.fails(&["rollback", site], &kubeconfig);
    assert!(err.contains(&format!("{site} is not installed in this cluster")), "{err}");
    let err = v.fails(&["upgrade", v.v1.to_str().unwrap(), "--allow-unsigned"], &kubeconfig);
    assert!(err.contains("use `airlock install`"), "{err}");

    // No API server at all: one sentence that says what to check.
    let unreachable = plane.kubeconfig_at(dir, 1);
    let err = v.fails(&["install", v.v1.to_str().unwrap(), "--allow-unsigned"], &unreachable);
    assert!(err.contains("cannot reach the cluster") && err.contains("check the kubeconfig's server address"), "{err}");
    // The cause kube wraps is said, not only "client error (Connect)".
    assert!(err.contains("Connection refused"), "{err}");

    // K3s-only flags are refused, not ignored; and a target must be chosen.
    let err = v.fails_with(USAGE, &["install", v.v1.to_str().unwrap(), "--run-installer"], &kubeconfig);
    assert!(err.contains("--run-installer applies to --k3s"), "{err}");
    let err = v.airlock.fails_with(USAGE, &["install", v.v1.to_str().unwrap()]);
    assert!(err.contains("choose a target: --k3s"), "{err}");
    plane.kubectl_ok(&["delete", "namespace", ns, "--wait=false"]);
}

/// Two real charts written by others (traefik with its crds/ directory,
/// cert-manager with its CRDs enabled and its post-install hooks: a Job
/// that needs its own ServiceAccount and RBAC, hooks of a lower weight)
/// into the real cluster, with --wait: every object lands where Helm would
/// put it, the CRDs first, the hooks run in weight order as real Jobs and
/// are deleted once they all succeeded.
#[test]
fn real_charts_install_into_a_cluster() {
    let Some(real) = real_charts() else { return };
    // Namespaces traefik and cert-manager, and their cluster-wide objects.
    let _turn = fixed_names_turn();
    let dir = tempfile::tempdir().unwrap();
    let c = Corner::new(dir.path(), "edge");
    let airlock = Airlock::new();
    let spec = write_spec(
        dir.path(),
        &format!(
            "components:\n  - name: edge\n    charts:\n      - {{name: traefik, path: {}, namespace: traefik, images: explicit}}\n      - {{name: cert-manager, path: {}, namespace: cert-manager, images: explicit, values: {{crds: {{enabled: true}}}}}}\n",
            real.join("traefik").display(),
            real.join("cert-manager").display()
        ),
    );
    std::fs::write(
        &spec,
        std::fs::read_to_string(&spec).unwrap().replace("name: test,", &format!("name: {},", c.release)),
    )
    .unwrap();
    let bundle = dir.path().join("edge.airlock");
    airlock.ok(&["create", spec.to_str().unwrap(), "-o", bundle.to_str().unwrap()]);
    let out = airlock.run(&[
        "install",
        bundle.to_str().unwrap(),
        "--kubeconfig",
        c.kubeconfig.to_str().unwrap(),
        "--registry",
        "reg.example/mirror",
        "--allow-unsigned",
        "--wait",
        "--timeout",
        "120s",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    if let Some(helm) = built_helm() {
        for namespace in ["traefik", "cert-manager"] {
            helm_reads_every_release(&helm, &unaudited_kubeconfig(), namespace);
        }
    }

    let crds = c.plane.names("/apis/apiextensions.k8s.io/v1/customresourcedefinitions");
    let of_group = |group: &str| crds.iter().filter(|n| n.ends_with(group)).count();
    assert!(of_group(".cert-manager.io") + of_group(".acme.cert-manager.io") >= 6, "{crds:?}");
    assert!(of_group(".traefik.io") + of_group(".traefik.containo.us") >= 10, "{crds:?}");
    assert_eq!(c.plane.names("/apis/apps/v1/namespaces/cert-manager/deployments").len(), 3);
    assert_eq!(c.plane.names("/apis/apps/v1/namespaces/traefik/deployments").len(), 1);
    // Ready for real: every Deployment's pods ran (on kwok's nodes).
    for ns in ["cert-manager", "traefik"] {
        let list = c.object(&format!("/apis/apps/v1/namespaces/{ns}/deployments")).unwrap();
        for d in list["items"].as_array().unwrap() {
            assert_eq!(d["status"]["readyReplicas"], d["spec"]["replicas"], "{}", d["metadata"]["name"]);
        }
    }
    assert!(c
        .object("/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/cert-manager-webhook")
        .is_some());
    assert!(c.object("/apis/networking.k8s.io/v1/ingressclasses/traefik").is_some());
    // Every CRD before any other object but namespaces.
    let applies = c.applies();
    let last_crd = applies.iter().rposition(|a| a.contains("/customresourcedefinitions/")).unwrap();
    let is_namespace = |a: &str| a.starts_with("/api/v1/namespaces") && a.matches('/').count() <= 4;
    let first_other =
        applies.iter().position(|a| !a.contains("/customresourcedefinitions/") && !is_namespace(a)).unwrap();
    assert!(last_crd < first_other, "{applies:?}");
    // cert-manager's post-install hooks: RBAC (weight -5) before the Job
    // (weight 1), after every regular object; the Job ran for real (its
    // ServiceAccount existed), and all went once they all succeeded.
    let hooks: Vec<&str> = err.lines().filter(|l| l.contains("Ran hook")).collect();
    assert_eq!(hooks.len(), 4, "{err}");
    assert!(hooks[3].contains("post-install Job cert-manager/cert-manager-startupapicheck"), "{err}");
    let deletes = c.deletes();
    let startupapicheck: Vec<&String> = deletes.iter().filter(|p| p.contains("startupapicheck")).collect();
    assert!(startupapicheck.len() >= 4 && startupapicheck.last().unwrap().contains("/serviceaccounts/"), "{deletes:?}");
    for list in [
        "/apis/batch/v1/namespaces/cert-manager/jobs",
        "/api/v1/namespaces/cert-manager/serviceaccounts",
        "/apis/rbac.authorization.k8s.io/v1/namespaces/cert-manager/roles",
        "/apis/rbac.authorization.k8s.io/v1/namespaces/cert-manager/rolebindings",
    ] {
        let names = c.plane.names(list);
        assert!(!names.iter().any(|n| n.contains("startupapicheck")), "{list}: {names:?}");
    }
    // Objects of one kind went several at a time (cert-manager has 20-odd
    // ClusterRoles), never more than 8.
    let requests = c.requests("/clusterroles/");
    let patches: Vec<Request> = requests.iter().filter(|r| r.verb == "patch" && r.is_write()).cloned().collect();
    let most = crate::control_plane::most_at_once(&patches);
    assert!((2..=8).contains(&most), "{most} applies at once");
    // So went the reads of the ownership check before them.
    let reads: Vec<Request> = requests.iter().filter(|r| r.verb == "get").cloned().collect();
    let most = crate::control_plane::most_at_once(&reads);
    assert!((2..=8).contains(&most), "{most} reads at once");
    // Each kind was looked up once for the check and the apply together
    // (a dozen kinds besides the CRDs' own), not once for each.
    let discoveries = c.requests("/").into_iter().filter(|r| r.verb == "get" && is_discovery(&r.path)).count();
    let kinds: std::collections::BTreeSet<String> = applies.iter().map(|p| kind_of(p)).collect();
    assert!(discoveries <= kinds.len() + 4, "{discoveries} discovery requests for {} kinds: {kinds:?}", kinds.len());
    // Nothing bundled, so every image is named as left at its source.
    assert!(err.contains("quay.io/jetstack/cert-manager-controller:"), "{err}");
    // Uninstall takes it all away again, CRDs and namespaces left (said).
    airlock.ok(&["uninstall", &c.release, "--kubeconfig", c.kubeconfig.to_str().unwrap()]);
    assert!(c.plane.names("/apis/apps/v1/namespaces/cert-manager/deployments").is_empty());
    c.plane.kubectl_ok(&["delete", "namespace", "cert-manager", "traefik", "--wait=false"]);
}

/// `/api/v1` or `/apis/GROUP/VERSION` (or `/api`, `/apis`): what a client
/// asks to learn which kinds are served.
fn is_discovery(path: &str) -> bool {
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    matches!(parts.as_slice(), ["api"] | ["apis"] | ["api", _] | ["apis", _] | ["apis", _, _])
}

/// `GROUP/VERSION PLURAL` of an object's path.
fn kind_of(path: &str) -> String {
    let plural = path.rsplit('/').nth(1).unwrap();
    let group_version = match path.split_once("/namespaces/") {
        Some((group_version, rest)) if rest.contains('/') => group_version,
        _ => path.rsplitn(3, '/').nth(2).unwrap(),
    };
    format!("{group_version} {plural}")
}

/// Against another real cluster, when one is given
/// (`AIRLOCK_E2E_KUBECONFIG`), else this run's: install makes a ConfigMap,
/// the upgrade that drops it deletes it, the rollback brings it back, and
/// uninstall removes it; the test then removes anything left, records included.
#[test]
fn install_upgrade_rollback_on_a_real_cluster() {
    let kubeconfig = match std::env::var_os("AIRLOCK_E2E_KUBECONFIG") {
        Some(path) => PathBuf::from(path),
        None => control_plane().kubeconfig.clone(),
    };
    let kubectl = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/tools/bin/kubectl");
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let name = unique("airlock-e2e");
    let airlock = Airlock::new();
    let mut bundles = Vec::new();
    for (version, manifests) in [("1.0.0", "[cm.yaml]"), ("1.1.0", "[other.yaml]")] {
        std::fs::write(d.join("cm.yaml"), format!("apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {name}}}\n"))
            .unwrap();
        std::fs::write(
            d.join("other.yaml"),
            format!("apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {name}-b}}\n"),
        )
        .unwrap();
        let spec = d.join(format!("{version}.yaml"));
        std::fs::write(&spec, format!("apiVersion: airlock.dev/v1\nkind: Bundle\nmetadata: {{name: {name}, version: {version}}}\ncomponents:\n  - name: a\n    manifests: {manifests}\n")).unwrap();
        let bundle = d.join(format!("{version}.airlock"));
        airlock.ok(&["create", spec.to_str().unwrap(), "-o", bundle.to_str().unwrap()]);
        bundles.push(bundle);
    }
    let kube = |args: &[&str]| {
        std::process::Command::new(&kubectl).arg("--kubeconfig").arg(&kubeconfig).args(args).output().unwrap()
    };
    // Whatever happens below, even a failed step, the cluster is left as
    // it was (it may be someone's real cluster).
    let _cleanup = OnDrop(|| {
        kube(&["delete", "configmap", &name, &format!("{name}-b"), "--ignore-not-found"]);
        kube(&["delete", "secret", "-n", "airlock-system", "-l", &format!("airlock.dev/release={name}")]);
    });
    let exists = |cm: &str| kube(&["get", "configmap", cm]).status.success();
    let run = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--kubeconfig", kubeconfig.to_str().unwrap()]);
        airlock.ok(&all)
    };
    run(&["install", bundles[0].to_str().unwrap(), "--allow-unsigned"]);
    assert!(exists(&name));
    run(&["upgrade", bundles[1].to_str().unwrap(), "--allow-unsigned"]);
    assert!(!exists(&name) && exists(&format!("{name}-b")));
    run(&["rollback", &name]);
    let restored = exists(&name) && !exists(&format!("{name}-b"));
    let history = run(&["history", &name]);
    let uninstalled = airlock.run(&["uninstall", &name, "--kubeconfig", kubeconfig.to_str().unwrap()]);
    let gone = !exists(&name);
    assert!(restored, "the rollback did not restore revision 1");
    assert_eq!(history.lines().count(), 3, "{history}");
    assert!(uninstalled.status.success() && gone, "{}", String::from_utf8_lossy(&uninstalled.stderr));
}

/// The Bitnami charts (redis, postgresql, rabbitmq, with their `common`
/// library vendored) and the CloudNativePG operator, as upstream ships
/// them, installed, upgraded, rolled back and uninstalled with --wait on
/// the real cluster: StatefulSets whose claims bind (kwok's volumes),
/// Deployments, CRDs and webhooks. Redis's `defaultMode: 0755` must reach
/// the server as the octal Helm sends (493), not the 755 it refuses.
#[test]
fn bitnami_and_operator_charts_go_through_their_whole_life() {
    let Some(real) = real_charts() else { return };
    let dir = tempfile::tempdir().unwrap();
    let c = Corner::new(dir.path(), "data");
    for chart in ["redis", "postgresql", "rabbitmq"] {
        run_ok(std::process::Command::new("cp").arg("-r").arg(real.join(chart)).arg(dir.path()));
        std::fs::create_dir_all(dir.path().join(chart).join("charts")).unwrap();
        run_ok(
            std::process::Command::new("cp")
                .arg("-r")
                .arg(real.join("common"))
                .arg(dir.path().join(chart).join("charts")),
        );
    }
    // The operator chart's one dependency (Grafana dashboards, off by
    // default) is not vendored upstream and cannot be fetched here: this
    // copy leaves it out of Chart.yaml.
    run_ok(std::process::Command::new("cp").arg("-r").arg(real.join("cloudnative-pg")).arg(dir.path()));
    let chart_yaml = dir.path().join("cloudnative-pg/Chart.yaml");
    let text = std::fs::read_to_string(&chart_yaml).unwrap();
    let without = text.split("\ndependencies:").next().unwrap().to_string() + "\n";
    assert!(without.len() < text.len() && !without.contains("grafana-dashboards"), "{text}");
    std::fs::write(&chart_yaml, without).unwrap();
    let airlock = Airlock::new();
    let ns = |chart: &str| format!("{}-{chart}", c.release);
    let helm = built_helm();
    let bundle = |version: &str, replicas: u32| {
        let spec = dir.path().join(format!("{version}.yaml"));
        std::fs::write(
            &spec,
            format!(
                "apiVersion: airlock.dev/v1\nkind: Bundle\nmetadata: {{name: {release}, version: {version}}}\ncomponents:\n  - name: data\n    charts:\n      - {{name: cache, path: ./redis, namespace: {redis}, images: explicit, values: {{auth: {{password: cache-pass}}, replica: {{replicaCount: {replicas}}}}}}}\n      - {{name: db, path: ./postgresql, namespace: {db}, images: explicit, values: {{auth: {{postgresPassword: db-pass}}}}}}\n      - {{name: queue, path: ./rabbitmq, namespace: {queue}, images: explicit, values: {{auth: {{password: queue-pass, erlangCookie: cookie}}}}}}\n      - {{name: cnpg, path: ./cloudnative-pg, namespace: {operator}, images: explicit}}\n",
                release = c.release,
                redis = ns("cache"),
                db = ns("db"),
                queue = ns("queue"),
                operator = ns("cnpg"),
            ),
        )
        .unwrap();
        let out = dir.path().join(format!("{version}.airlock"));
        airlock.ok(&["create", spec.to_str().unwrap(), "-o", out.to_str().unwrap()]);
        out
    };
    let run = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--kubeconfig", c.kubeconfig.to_str().unwrap(), "--timeout", "180s"]);
        if args[0] != "uninstall" {
            all.push("--wait");
        }
        if matches!(args[0], "install" | "upgrade") {
            all.push("--allow-unsigned");
        }
        let out = airlock.run(&all);
        assert!(out.status.success(), "airlock {args:?}:\n{}", String::from_utf8_lossy(&out.stderr));
        if let Some(helm) = helm.as_ref().filter(|_| changes_releases(args)) {
            for chart in ["cache", "db", "queue", "cnpg"] {
                helm_reads_every_release(helm, &unaudited_kubeconfig(), &ns(chart));
            }
        }
    };
    let (v1, v2) = (bundle("1.0.0", 1), bundle("1.1.0", 2));
    run(&["install", v1.to_str().unwrap()]);
    let cache = format!("{}-cache", c.release);
    let replicas = format!("/apis/apps/v1/namespaces/{cache}/statefulsets/cache-redis-replicas");
    let statefulset = c.object(&replicas).expect("redis's replicas");
    let volumes = statefulset["spec"]["template"]["spec"]["volumes"].as_array().unwrap().clone();
    let scripts = volumes.iter().find(|v| v["configMap"]["defaultMode"].is_number()).expect("a configMap volume");
    assert_eq!(scripts["configMap"]["defaultMode"], 493, "{scripts}");
    assert_eq!(statefulset["status"]["readyReplicas"], 1, "{statefulset}");
    // Ready for real: the claims of every StatefulSet bound.
    let claims = c.object(&format!("/api/v1/namespaces/{cache}/persistentvolumeclaims")).unwrap();
    let phases: Vec<&str> =
        claims["items"].as_array().unwrap().iter().map(|p| p["status"]["phase"].as_str().unwrap()).collect();
    assert!(!phases.is_empty() && phases.iter().all(|p| *p == "Bound"), "{phases:?}");

    run(&["upgrade", v2.to_str().unwrap()]);
    assert_eq!(c.object(&replicas).unwrap()["status"]["readyReplicas"], 2);
    run(&["rollback", &c.release]);
    assert_eq!(c.object(&replicas).unwrap()["spec"]["replicas"], 1);
    run(&["uninstall", &c.release]);
    assert!(c.object(&replicas).is_none());
    for chart in ["cache", "db", "queue", "cnpg"] {
        c.plane.kubectl_ok(&["delete", "namespace", &format!("{}-{chart}", c.release), "--wait=false"]);
    }
}

/// Runs its function when dropped, a failed assertion's unwinding included.
struct OnDrop<F: FnMut()>(F);

impl<F: FnMut()> Drop for OnDrop<F> {
    fn drop(&mut self) {
        (self.0)()
    }
}
