//! `install|upgrade|rollback|history --kubeconfig`: a bundle into a cluster
//! through its API. There is no Kubernetes API server to be had here, so
//! these run against the in-process FAKE API server of fake_api.rs, which
//! stores what is applied; what they check is what airlock sends it.

use crate::fake_api::FakeApiServer;
use crate::support::*;
use std::path::{Path, PathBuf};

const RECORDS: &str = "/api/v1/namespaces/airlock-system/secrets";
const DEPLOYMENT: &str = "/apis/apps/v1/namespaces/web/deployments/web";
const CHART_CONFIGMAP: &str = "/api/v1/namespaces/web/configmaps/web-settings";
const EXTRA_CONFIGMAP: &str = "/api/v1/namespaces/default/configmaps/extra";
const WIDGET: &str = "/apis/example.com/v1/namespaces/web/widgets/w1";
/// Made by the chart only when the cluster serves example.com/v1.
const WIDGET_2: &str = "/apis/example.com/v1/namespaces/web/widgets/w2";
const CRD: &str = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.example.com";

struct Versions {
    dir: tempfile::TempDir,
    airlock: Airlock,
    v1: PathBuf,
    v2: PathBuf,
    diff: PathBuf,
}

const CRD_YAML: &str = "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: widgets.example.com}\nspec:\n  group: example.com\n  names: {kind: Widget, plural: widgets}\n  scope: Namespaced\n  versions: [{name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object, properties: {spec: {type: object, properties: {imagePullSecrets: {type: array}}}}}}}]\n";

/// Chart hooks: a pre-install Job (its image bundled) kept afterwards, a
/// post-install Job deleted once it succeeds, a pre-upgrade Job, a
/// pre-rollback Job, and a test Pod that is never run.
const HOOKS: &str = "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: migrate\n  annotations: {\"helm.sh/hook\": pre-install, \"helm.sh/hook-weight\": \"5\"}\nspec: {template: {spec: {containers: [{name: m, image: \"localhost/hello:1.0.0\"}]}}}\n---\napiVersion: batch/v1\nkind: Job\nmetadata:\n  name: smoke\n  annotations: {\"helm.sh/hook\": post-install, \"helm.sh/hook-delete-policy\": hook-succeeded}\n---\napiVersion: batch/v1\nkind: Job\nmetadata:\n  name: upgrade-db\n  annotations: {\"helm.sh/hook\": pre-upgrade}\n---\napiVersion: batch/v1\nkind: Job\nmetadata:\n  name: before-rollback\n  annotations: {\"helm.sh/hook\": pre-rollback}\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: web-test\n  annotations: {\"helm.sh/hook\": test}\n---\napiVersion: batch/v1\nkind: Job\nmetadata:\n  name: drain\n  annotations: {\"helm.sh/hook\": pre-delete, \"helm.sh/hook-delete-policy\": hook-succeeded}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: farewell\n  annotations: {\"helm.sh/hook\": post-delete}\n";
const JOBS: &str = "/apis/batch/v1/namespaces/web/jobs";

/// Version 1: a chart (ConfigMap, Deployment running the bundled image and
/// one that is not bundled, hooks), a CRD, and manifests using both.
/// Version 2 drops the chart's ConfigMap and the extra manifest, adds a Service.
fn versions() -> Versions {
    let dir = tempfile::tempdir().unwrap();
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
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  replicas: {{ .Values.replicas }}\n  template:\n    spec:\n      initContainers: [{name: wait, image: \"busybox:1\"}]\n      containers: [{name: web, image: {{ .Values.image | quote }}, args: [\"--helper-image={{ .Values.image }}\", \"--port=8080\"]}]\n",
        )
        .unwrap();
        std::fs::write(d.join("chart/templates/hooks.yaml"), HOOKS).unwrap();
        if !v2 {
            std::fs::write(
                d.join("chart/templates/cm.yaml"),
                "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: {{ .Release.Name }}-settings}\ndata: {ns: {{ .Release.Namespace }}, kube: {{ .Capabilities.KubeVersion.Version }}, helper: {{ .Values.image }}}\n{{- if .Capabilities.APIVersions.Has \"example.com/v1\" }}\n---\napiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w2}\n{{- end }}\n",
            )
            .unwrap();
        }
        std::fs::write(d.join("crd.yaml"), CRD_YAML).unwrap();
        let mut manifests =
            "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w1, namespace: web}\nspec: {image: \"localhost/hello:1.0.0\", class: hello}\n".to_string();
        manifests += if v2 {
            "---\napiVersion: v1\nkind: Service\nmetadata: {name: svc, namespace: web}\n"
        } else {
            // Version 1 also declares the chart's namespace itself, labelled.
            "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: extra}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: web, labels: {team: shop}}\n"
        };
        std::fs::write(d.join("app.yaml"), manifests).unwrap();
        let spec = write_spec(
            &d,
            &format!("components:\n  - name: app\n    images: [\"oci-layout:./hello:1.0.0\"]\n    charts: [{{name: web, path: ./chart, namespace: web, images: explicit, values: {{replicas: {replicas}}}}}]\n    crds: [crd.yaml]\n    manifests: [app.yaml]\n"),
        );
        let text = std::fs::read_to_string(&spec)
            .unwrap()
            .replace("{name: test, version: 1.0.0}", &format!("{{name: site, version: {version}}}"));
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
    Versions { dir, airlock, v1, v2, diff }
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
        (String::from_utf8_lossy(&out.stdout).into_owned(), stderr)
    }
    fn fails(&self, args: &[&str], kubeconfig: &Path) -> String {
        let out = self.run(args, kubeconfig);
        assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stdout));
        String::from_utf8_lossy(&out.stderr).into_owned()
    }
}

fn records(api: &FakeApiServer) -> Vec<String> {
    api.objects.lock().unwrap().keys().filter(|p| p.starts_with(RECORDS)).cloned().collect()
}

fn image_of(api: &FakeApiServer, list: &str) -> String {
    let deployment = api.object(DEPLOYMENT).expect("the deployment was applied");
    deployment["spec"]["template"]["spec"][list][0]["image"].as_str().unwrap().to_string()
}

#[test]
fn install_upgrade_rollback_into_a_cluster() {
    let v = versions();
    let api = FakeApiServer::start(&[]);
    let kubeconfig = api.kubeconfig(v.dir.path());
    let (v1, v2) = (v.v1.to_str().unwrap(), v.v2.to_str().unwrap());

    // A dry run first: the cluster checks what it can, nothing is stored.
    let (out, err) =
        v.ok(&["install", v1, "--registry", "reg.example:5000/mirror", "--allow-unsigned", "--dry-run"], &kubeconfig);
    assert!(out.contains("dry run: site 1.0.0 would be revision 1") && out.contains("nothing was changed"), "{out}");
    assert!(err.contains("Would apply CustomResourceDefinition widgets.example.com"), "{err}");
    assert!(err.contains("Would apply ConfigMap default/extra (v1)"), "{err}");
    assert!(err.contains("Would run hook pre-install Job migrate (from chart web)"), "{err}");
    assert!(err.contains("cannot be checked before the install: Widget w1 (from manifests app.yaml (component app)): its CRD is in this bundle"), "{err}");
    assert!(err.contains("Deployment web (from chart web): its namespace web is made by this bundle"), "{err}");
    assert!(api.applies.lock().unwrap().is_empty() && records(&api).is_empty());

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
            "20s",
        ],
        &kubeconfig,
    );
    assert!(out.contains("site 1.0.0: revision 1"), "{out}");
    // Everything is there, namespaced where the chart or the body says.
    for path in [DEPLOYMENT, CHART_CONFIGMAP, EXTRA_CONFIGMAP, WIDGET, CRD, "/api/v1/namespaces/web"] {
        assert!(api.object(path).is_some(), "{path} missing; stored: {:?}", api.objects.lock().unwrap().keys());
    }
    // Charts render for this cluster: its version, and the CRD the bundle brings.
    assert_eq!(api.object(CHART_CONFIGMAP).unwrap()["data"]["ns"], "web");
    // The namespace as the bundle declares it, not the chart's bare one.
    assert_eq!(api.object("/api/v1/namespaces/web").unwrap()["metadata"]["labels"]["team"], "shop");
    assert_eq!(api.object(CHART_CONFIGMAP).unwrap()["data"]["kube"], "v1.31.4");
    assert!(api.object(WIDGET_2).is_some());
    // Namespaces and CRDs go first; the Widget only once its CRD is served.
    let applies = api.applies.lock().unwrap().clone();
    let at = |p: &str| applies.iter().position(|a| a == p).unwrap_or_else(|| panic!("{p} not applied: {applies:?}"));
    assert!(at("/api/v1/namespaces/web") < at(CHART_CONFIGMAP) && at(CRD) < at(WIDGET), "{applies:?}");
    // The bundled image runs from the registry; the other is left and named.
    assert_eq!(image_of(&api, "containers"), "reg.example:5000/mirror/hello:1.0.0");
    assert_eq!(image_of(&api, "initContainers"), "busybox:1");
    // So is the bundled image an operator is told about in its arguments.
    let args = &api.object(DEPLOYMENT).unwrap()["spec"]["template"]["spec"]["containers"][0]["args"];
    assert_eq!(args, &serde_json::json!(["--helper-image=reg.example:5000/mirror/hello:1.0.0", "--port=8080"]));
    assert!(err.contains("left as they are") && err.contains("busybox:1"), "{err}");
    // And the one a custom resource names for its operator, which is told
    // that the pods it makes need the pull secret.
    let widget = api.object(WIDGET).unwrap();
    assert_eq!(
        (&widget["spec"]["image"], &widget["spec"]["class"]),
        (&"reg.example:5000/mirror/hello:1.0.0".into(), &"hello".into())
    );
    assert!(err.contains("image(s) named in these fields to the registry: "), "{err}");
    assert!(err.contains("ConfigMap web-settings: data.helper") && err.contains("Widget w1: spec.image"), "{err}");
    assert_eq!(api.object(CHART_CONFIGMAP).unwrap()["data"]["helper"], "reg.example:5000/mirror/hello:1.0.0");
    // The Widget's CRD declares a pull-secret list, so the secret is named
    // there; the ConfigMap has none, which is said.
    assert_eq!(widget["spec"]["imagePullSecrets"], serde_json::json!([{"name": "airlock-registry-site"}]));
    assert!(err.contains("ConfigMap web-settings: images moved, but with no spec.imagePullSecrets"), "{err}");
    assert!(!err.contains("Widget w1: images moved"), "{err}");
    // Hooks: pre-install before the chart's objects, post-install after
    // them and deleted once done, the test hook left out; none recorded.
    let (migrate, smoke) = (format!("{JOBS}/migrate"), format!("{JOBS}/smoke"));
    assert!(at(&migrate) < at(CHART_CONFIGMAP) && at(DEPLOYMENT) < at(&smoke), "{applies:?}");
    assert!(err.contains("Ran hook pre-install Job web/migrate (batch/v1)"), "{err}");
    assert!(err.contains("Ran hook post-install Job web/smoke (batch/v1)"), "{err}");
    assert!(api.object(&migrate).is_some() && api.object(&smoke).is_none());
    let migrate_image = &api.object(&migrate).unwrap()["spec"]["template"]["spec"]["containers"][0]["image"];
    assert_eq!(migrate_image, "reg.example:5000/mirror/hello:1.0.0");
    assert!(!err.contains("were left out"), "{err}");
    // With credentials, the pods that pull from the registry get a pull
    // secret, made in their namespace, as kubectl makes one.
    let secret = api.object("/api/v1/namespaces/web/secrets/airlock-registry-site").expect("the pull secret");
    assert_eq!(secret["type"], "kubernetes.io/dockerconfigjson");
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    let config: serde_json::Value =
        serde_json::from_slice(&b64.decode(secret["data"][".dockerconfigjson"].as_str().unwrap()).unwrap()).unwrap();
    assert_eq!(config["auths"]["reg.example:5000"]["auth"], b64.encode("puller:pull-pass"));
    let pull_secrets = |path: &str| api.object(path).unwrap()["spec"]["template"]["spec"]["imagePullSecrets"].clone();
    assert_eq!(pull_secrets(DEPLOYMENT), serde_json::json!([{"name": "airlock-registry-site"}]));
    assert_eq!(pull_secrets(&migrate), serde_json::json!([{"name": "airlock-registry-site"}]));
    assert!(api.object("/api/v1/namespaces/default/secrets/airlock-registry-site").is_none());
    assert!(
        !applies.iter().any(|a| a.contains("upgrade-db") || a.contains("rollback") || a.contains("web-test")),
        "{applies:?}"
    );
    assert!(!err.contains("before-rollback"), "{err}");
    assert!(api.object(&format!("{RECORDS}/airlock.site.v1")).is_some());

    // `test` runs the chart's test hook, as `helm test` does, and leaves
    // the Pod; run again, the old Pod is deleted before the new one.
    let test_pod = "/api/v1/namespaces/web/pods/web-test";
    let deletes_of_pod = || api.deletes.lock().unwrap().iter().filter(|d| *d == test_pod).count();
    let (out, err) = v.ok(&["test", "site"], &kubeconfig);
    assert!(out.contains("site 1.0.0 (revision 1): 1 test hook(s) passed"), "{out}");
    assert!(err.contains("Passed test Pod web/web-test (v1)"), "{err}");
    assert!(api.object(test_pod).is_some());
    let before = deletes_of_pod();
    v.ok(&["test", "site"], &kubeconfig);
    assert_eq!(deletes_of_pod(), before + 1);
    assert!(api.object(test_pod).is_some());

    // Installing it again converges under the same revision; a different
    // version must be an upgrade.
    // Without credentials this time, so the pull secret goes.
    let (out, err) = v.ok(&["install", v1, "--registry", "reg.example:5000/mirror", "--allow-unsigned"], &kubeconfig);
    assert!(out.contains("revision 1"), "{out}");
    assert!(err.contains("Deleted Secret web/airlock-registry-site"), "{err}");
    assert!(api.object(DEPLOYMENT).unwrap()["spec"]["template"]["spec"].get("imagePullSecrets").is_none());
    let err = v.fails(&["install", v2, "--allow-unsigned"], &kubeconfig);
    assert!(err.contains("no --registry: the bundle's 1 images keep their source names"), "{err}");
    assert!(err.contains("site 1.0.0 is already installed in this cluster (revision 1)"), "{err}");

    // Upgrade: what version 2 drops is deleted; the CRD and namespace stay;
    // hooks are not among what it drops.
    let before = api.deletes.lock().unwrap().len();
    let applied_before = api.applies.lock().unwrap().len();
    let (out, err) =
        v.ok(&["upgrade", v2, "--registry", "reg.example:5000/mirror", "--allow-unsigned", "--dry-run"], &kubeconfig);
    assert!(out.contains("dry run: site 2.0.0 would be revision 2 (") && out.contains("3 to delete)"), "{out}");
    assert!(
        err.contains("Would delete ConfigMap web/web-settings") && err.contains("Would apply Service web/svc"),
        "{err}"
    );
    assert!(err.contains("Would run hook pre-upgrade Job upgrade-db"), "{err}");
    assert_eq!(api.deletes.lock().unwrap().len(), before);
    assert_eq!(api.applies.lock().unwrap().len(), applied_before);
    // The real upgrade from the differential bundle: it carries the chart
    // and YAML, and the images are in the registry.
    let blobs = v.airlock.inspect(&v.diff)["blobs"].as_array().unwrap().clone();
    assert!(blobs.iter().any(|b| b["inBase"] == true), "{blobs:?}");
    let diff = v.diff.to_str().unwrap();
    let (out, err) = v.ok(&["upgrade", diff, "--registry", "reg.example:5000/mirror", "--allow-unsigned"], &kubeconfig);
    assert!(err.contains("Ran hook pre-upgrade Job web/upgrade-db"), "{err}");
    assert!(out.contains("site 2.0.0: revision 2"), "{out}");
    assert!(
        err.contains("Deleted ConfigMap web/web-settings") && err.contains("Deleted ConfigMap default/extra"),
        "{err}"
    );
    // The hook's old copy first (before-hook-creation), then in reverse of the
    // install order: the custom resource before the ConfigMaps.
    let upgrade_db = format!("{JOBS}/upgrade-db");
    let deletes = api.deletes.lock().unwrap()[before..].to_vec();
    assert_eq!(deletes, [upgrade_db.as_str(), WIDGET_2, CHART_CONFIGMAP, EXTRA_CONFIGMAP]);
    assert!(api.object(&migrate).is_some());
    assert!(api.object("/api/v1/namespaces/web/services/svc").is_some());
    assert_eq!(api.object(DEPLOYMENT).unwrap()["spec"]["replicas"], 2);

    // History, then rollback to 1: its objects return, the Service goes.
    let (out, _) = v.ok(&["history", "site"], &kubeconfig);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(lines[0].contains("install") && lines[0].contains("1.0.0") && lines[1].contains("upgrade"), "{out}");
    let (out, err) = v.ok(&["rollback", "site"], &kubeconfig);
    assert!(out.contains("site 1.0.0: revision 3"), "{out}");
    assert!(err.contains("Deleted Service web/svc"), "{err}");
    // Revision 1's own pre-rollback hook, before its objects return.
    assert!(err.contains("Ran hook pre-rollback Job web/before-rollback"), "{err}");
    let applies = api.applies.lock().unwrap().clone();
    let hook_at = applies.iter().position(|a| a.ends_with("/before-rollback")).unwrap();
    assert!(hook_at < applies.iter().rposition(|a| a == CHART_CONFIGMAP).unwrap(), "{applies:?}");
    assert!(api.object(CHART_CONFIGMAP).is_some() && api.object(EXTRA_CONFIGMAP).is_some());
    assert_eq!(image_of(&api, "containers"), "reg.example:5000/mirror/hello:1.0.0");
    assert_eq!(api.object(DEPLOYMENT).unwrap()["spec"]["replicas"], 1);
    let (out, _) = v.ok(&["history", "site"], &kubeconfig);
    assert!(out.lines().nth(2).is_some_and(|l| l.contains("rollback to 1")), "{out}");
    let (out, _) = v.ok(&["history", "site", "--json"], &kubeconfig);
    let revisions: serde_json::Value = serde_json::from_str(&out).unwrap();
    let actions: Vec<(u64, &str, &str)> = revisions
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["revision"].as_u64().unwrap(), r["action"].as_str().unwrap(), r["version"].as_str().unwrap()))
        .collect();
    assert_eq!(actions, [(1, "install", "1.0.0"), (2, "upgrade", "2.0.0"), (3, "rollback to 1", "1.0.0")]);
    assert!(revisions[2]["objects"].as_u64() > Some(0) && revisions[2]["time"].is_string(), "{out}");
    assert_eq!(records(&api).len(), 3);

    // Uninstall: every object goes but the namespace and the CRD (said),
    // and so do the records; hooks were never the release's. The charts'
    // pre-delete hook runs before any deletion (and goes, once it
    // succeeded), the post-delete hook after them all.
    let deletes_before = api.deletes.lock().unwrap().len();
    let applies_before = api.applies.lock().unwrap().len();
    let (out, err) = v.ok(&["uninstall", "site"], &kubeconfig);
    assert!(out.contains("site 1.0.0: uninstalled (5 objects deleted)"), "{out}");
    let (drain, farewell) = (format!("{JOBS}/drain"), "/api/v1/namespaces/web/configmaps/farewell".to_string());
    assert_eq!(api.applies.lock().unwrap()[applies_before..], [drain.clone(), farewell.clone()]);
    let deletes = api.deletes.lock().unwrap()[deletes_before..].to_vec();
    let first_object_deleted = deletes.iter().position(|d| d == DEPLOYMENT).unwrap();
    assert!(deletes[..first_object_deleted].contains(&drain), "{deletes:?}");
    assert!(
        err.contains("Ran hook pre-delete Job web/drain")
            && err.contains("Ran hook post-delete ConfigMap web/farewell"),
        "{err}"
    );
    assert!(api.object(&drain).is_none() && api.object(&farewell).is_some());
    assert!(
        err.contains("kubectl delete namespace web")
            && err.contains("kubectl delete customresourcedefinition.apiextensions.k8s.io widgets.example.com"),
        "{err}"
    );
    for path in [DEPLOYMENT, CHART_CONFIGMAP, EXTRA_CONFIGMAP, WIDGET, WIDGET_2] {
        assert!(api.object(path).is_none(), "{path} is still there");
    }
    assert!(api.object(CRD).is_some() && api.object(&migrate).is_some());
    assert!(records(&api).is_empty());
    let err = v.fails(&["history", "site"], &kubeconfig);
    assert!(err.contains("no revision of `site` is recorded"), "{err}");
    let err = v.fails(&["uninstall", "site"], &kubeconfig);
    assert!(err.contains("site is not installed in this cluster"), "{err}");
}

#[test]
fn refusals_name_the_object_and_record_nothing() {
    let v = versions();
    let api = FakeApiServer::start(&[]);
    let kubeconfig = api.kubeconfig(v.dir.path());
    let dir = v.dir.path();

    // The API refuses an object: its name, origin and the API's reason.
    std::fs::create_dir_all(dir.join("bad")).unwrap();
    std::fs::write(
        dir.join("bad/app.yaml"),
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: api, namespace: default}\nspec: {replicas: -1}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\n",
    )
    .unwrap();
    let spec = write_spec(&dir.join("bad"), "components:\n  - name: app\n    manifests: [app.yaml]\n");
    let bad = dir.join("bad/bad.airlock");
    v.airlock.ok(&["create", spec.to_str().unwrap(), "-o", bad.to_str().unwrap()]);
    let err = v.fails(&["install", bad.to_str().unwrap(), "--allow-unsigned"], &kubeconfig);
    assert!(
        err.contains(
            "the cluster refused Deployment api (from manifests app.yaml (component app)) in namespace default"
        ) && err.contains("spec.replicas: Invalid value: -1")
            && err.contains("stopped after 1 of 2 objects; no revision was recorded"),
        "{err}"
    );
    assert!(!err.contains("no --registry"), "a bundle without images needs no registry: {err}");
    assert!(records(&api).is_empty());

    // A kind the cluster does not serve.
    std::fs::write(dir.join("bad/app.yaml"), "apiVersion: example.org/v1\nkind: Gadget\nmetadata: {name: g}\n")
        .unwrap();
    v.airlock.ok(&["create", spec.to_str().unwrap(), "-o", bad.to_str().unwrap()]);
    let err = v.fails(&["install", bad.to_str().unwrap(), "--allow-unsigned"], &kubeconfig);
    assert!(err.contains("the cluster does not serve kind Gadget (example.org/v1), which Gadget g"), "{err}");
    assert!(records(&api).is_empty());

    // --wait: a workload that never becomes ready fails the command once the
    // time is up, naming it and why; the revision stays recorded.
    std::fs::write(
        dir.join("bad/app.yaml"),
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: slow, annotations: {fake.airlock.dev/never-ready: \"true\"}}\nspec: {replicas: 2}\n",
    )
    .unwrap();
    v.airlock.ok(&["create", spec.to_str().unwrap(), "-o", bad.to_str().unwrap()]);
    let err =
        v.fails(&["install", bad.to_str().unwrap(), "--allow-unsigned", "--wait", "--timeout", "2s"], &kubeconfig);
    assert!(
        err.contains("Applied Deployment default/slow")
            && err.contains(
                "not ready after 2 s: Deployment default/slow (apps/v1): 0 of 2 replicas available, 2 updated"
            )
            && err.contains("kubectl -n default describe deployment slow"),
        "{err}"
    );
    assert_eq!(records(&api).len(), 1);
    let err = v.fails(&["install", bad.to_str().unwrap(), "--k3s", "--wait"], &kubeconfig);
    assert!(err.contains("--wait applies to --kubeconfig"), "{err}");

    // A hook that fails stops the install there: named, with where to look.
    let fresh = FakeApiServer::start(&[]);
    let chart = dir.join("bad/chart");
    std::fs::create_dir_all(chart.join("templates")).unwrap();
    std::fs::write(chart.join("Chart.yaml"), "apiVersion: v2\nname: bad\nversion: 0.1.0\n").unwrap();
    let spec = write_spec(
        &dir.join("bad"),
        "components:\n  - name: app\n    charts: [{name: bad, path: ./chart, images: explicit}]\n",
    );
    // The bundle `bad` as a chart with a failing hook and a ConfigMap.
    let with_failing_hook = |kind: &str, name: &str, event: &str| {
        let api_version = if kind == "Job" { "batch/v1" } else { "v1" };
        std::fs::write(
            chart.join("templates/job.yaml"),
            format!("apiVersion: {api_version}\nkind: {kind}\nmetadata:\n  name: {name}\n  annotations: {{\"helm.sh/hook\": {event}, \"fake.airlock.dev/fails\": \"true\"}}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: after}}\n"),
        )
        .unwrap();
        v.airlock.ok(&["create", spec.to_str().unwrap(), "-o", bad.to_str().unwrap()]);
    };
    with_failing_hook("Job", "fail", "pre-install");
    let err = v.fails(&["install", bad.to_str().unwrap(), "--allow-unsigned"], &fresh.kubeconfig(dir));
    assert!(
        err.contains(
            "chart pre-install hook Job fail (from chart bad) failed: Job has reached the specified backoff limit"
        ) && err.contains("see why with `kubectl -n default logs job/fail`")
            && err.contains("stopped after 0 of 1 objects"),
        "{err}"
    );
    assert!(fresh.object("/api/v1/namespaces/default/configmaps/after").is_none() && records(&fresh).is_empty());

    // A failing pre-delete hook stops an uninstall before any deletion;
    // --no-hooks gets past it.
    with_failing_hook("Job", "fail", "pre-delete");
    v.ok(&["install", bad.to_str().unwrap(), "--allow-unsigned"], &fresh.kubeconfig(dir));
    let err = v.fails(&["uninstall", "test"], &fresh.kubeconfig(dir));
    assert!(
        err.contains("test was not uninstalled, nothing was deleted: a pre-delete hook failed")
            && err.contains("chart pre-delete hook Job fail (from chart bad) failed")
            && err.contains("--no-hooks"),
        "{err}"
    );
    assert!(fresh.object("/api/v1/namespaces/default/configmaps/after").is_some() && records(&fresh).len() == 1);
    v.ok(&["uninstall", "test", "--no-hooks"], &fresh.kubeconfig(dir));
    assert!(fresh.object("/api/v1/namespaces/default/configmaps/after").is_none() && records(&fresh).is_empty());
    let err = v.fails(&["uninstall", "test", "--no-hooks", "--k3s"], &fresh.kubeconfig(dir));
    assert!(err.contains("--no-hooks applies to --kubeconfig"), "{err}");

    // A chart test that fails: named, with how to read its logs.
    let err = v.fails(&["test", "test"], &fresh.kubeconfig(dir));
    assert!(err.contains("test is not installed in this cluster"), "{err}");
    with_failing_hook("Pod", "check", "test");
    v.ok(&["install", bad.to_str().unwrap(), "--allow-unsigned"], &fresh.kubeconfig(dir));
    let err = v.fails(&["test", "test"], &fresh.kubeconfig(dir));
    assert!(
        err.contains("test 1.0.0 (revision 1) failed its tests")
            && err.contains(
                "chart test hook Pod check (from chart bad) failed: the Pod failed: container t exited with code 1"
            )
            && err.contains("kubectl -n default logs pod/check"),
        "{err}"
    );

    // What a bundle applies is marked as its own; another bundle that
    // declares it, or an object someone else made, is not taken over
    // (unless adopted), and nothing of that bundle is applied.
    let after = "/api/v1/namespaces/default/configmaps/after";
    assert_eq!(fresh.object(after).unwrap()["metadata"]["annotations"]["airlock.dev/release"], "test");
    std::fs::create_dir_all(dir.join("other")).unwrap();
    std::fs::write(
        dir.join("other/app.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: first}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: after}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: handmade}\n",
    )
    .unwrap();
    let other_spec = dir.join("other/airlock.yaml");
    std::fs::write(&other_spec, "apiVersion: airlock.dev/v1\nkind: Bundle\nmetadata: {name: other, version: 1.0.0}\ncomponents:\n  - name: app\n    manifests: [app.yaml]\n").unwrap();
    let other = dir.join("other/other.airlock");
    v.airlock.ok(&["create", other_spec.to_str().unwrap(), "-o", other.to_str().unwrap()]);
    let handmade = "/api/v1/namespaces/default/configmaps/handmade";
    fresh.objects.lock().unwrap().insert(
        handmade.into(),
        serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "handmade", "namespace": "default"}}),
    );
    let err = v.fails(&["install", other.to_str().unwrap(), "--allow-unsigned"], &fresh.kubeconfig(dir));
    assert!(
        err.contains("other 1.0.0 declares 2 object(s) that already exist and are not its own")
            && err.contains("ConfigMap default/after (v1) belongs to bundle `test`")
            && err.contains("`airlock uninstall test` first")
            && err.contains("ConfigMap default/handmade (v1) was not made by airlock")
            && err.contains("--adopt")
            && err.contains("nothing was applied"),
        "{err}"
    );
    assert!(fresh.object("/api/v1/namespaces/default/configmaps/first").is_none());
    // Once `test` has gone, `other` may adopt the handmade one.
    v.ok(&["uninstall", "test", "--no-hooks"], &fresh.kubeconfig(dir));
    v.ok(&["install", other.to_str().unwrap(), "--allow-unsigned", "--adopt"], &fresh.kubeconfig(dir));
    assert_eq!(fresh.object(handmade).unwrap()["metadata"]["annotations"]["airlock.dev/release"], "other");

    // Nothing to roll back to, nothing installed to upgrade.
    let err = v.fails(&["rollback", "site"], &kubeconfig);
    assert!(err.contains("site is not installed in this cluster"), "{err}");
    let err = v.fails(&["upgrade", v.v1.to_str().unwrap(), "--allow-unsigned"], &kubeconfig);
    assert!(err.contains("use `airlock install`"), "{err}");

    // No API server at all: one sentence that says what to check.
    let gone = FakeApiServer::start(&[]);
    let unreachable = gone.kubeconfig(dir);
    drop(gone);
    let err = v.fails(&["install", v.v1.to_str().unwrap(), "--allow-unsigned"], &unreachable);
    assert!(err.contains("cannot reach the cluster") && err.contains("check the kubeconfig's server address"), "{err}");
    // The cause kube wraps is said, not only "client error (Connect)".
    assert!(err.contains("Connection refused"), "{err}");

    // K3s-only flags are refused, not ignored; and a target must be chosen.
    let err = v.fails(&["install", v.v1.to_str().unwrap(), "--run-installer"], &kubeconfig);
    assert!(err.contains("--run-installer applies to --k3s"), "{err}");
    let err = v.airlock.fails(&["install", v.v1.to_str().unwrap()]);
    assert!(err.contains("choose a target: --k3s"), "{err}");
}

/// Two real charts written by others (traefik with its crds/ directory,
/// cert-manager with its CRDs enabled and its post-install hooks) into the
/// fake: every object lands where Helm would put it, the CRDs first, the
/// hooks run in weight order and are deleted once they succeed.
#[test]
fn real_charts_install_into_a_cluster() {
    let real = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/testdata/real/charts");
    if !real.join("cert-manager").is_dir() {
        eprintln!("skipping: shared/testdata/real/charts is not there");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let airlock = Airlock::new();
    let spec = write_spec(
        dir.path(),
        &format!(
            "components:\n  - name: edge\n    charts:\n      - {{name: traefik, path: {}, namespace: traefik, images: explicit}}\n      - {{name: cert-manager, path: {}, namespace: cert-manager, images: explicit, values: {{crds: {{enabled: true}}}}}}\n",
            real.join("traefik").display(),
            real.join("cert-manager").display()
        ),
    );
    let bundle = dir.path().join("edge.airlock");
    airlock.ok(&["create", spec.to_str().unwrap(), "-o", bundle.to_str().unwrap()]);
    let api = FakeApiServer::start(&[]);
    let kubeconfig = api.kubeconfig(dir.path());
    let out = airlock.run(&[
        "install",
        bundle.to_str().unwrap(),
        "--kubeconfig",
        kubeconfig.to_str().unwrap(),
        "--registry",
        "reg.example/mirror",
        "--allow-unsigned",
        "--wait",
        "--timeout",
        "30s",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");

    let stored: Vec<String> = api.objects.lock().unwrap().keys().cloned().collect();
    let count = |part: &str| stored.iter().filter(|p| p.contains(part)).count();
    assert!(count("/customresourcedefinitions/") >= 6 + 10, "{stored:?}");
    assert_eq!(count("/namespaces/cert-manager/deployments/"), 3, "{stored:?}");
    assert_eq!(count("/namespaces/traefik/deployments/"), 1, "{stored:?}");
    assert!(api
        .object("/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/cert-manager-webhook")
        .is_some());
    assert!(api.object("/apis/networking.k8s.io/v1/ingressclasses/traefik").is_some(), "{stored:?}");
    // Every CRD before any other object but namespaces.
    let applies = api.applies.lock().unwrap().clone();
    let last_crd = applies.iter().rposition(|a| a.contains("/customresourcedefinitions/")).unwrap();
    let is_namespace = |a: &str| a.starts_with("/api/v1/namespaces/") && a.matches('/').count() == 4;
    let first_other =
        applies.iter().position(|a| !a.contains("/customresourcedefinitions/") && !is_namespace(a)).unwrap();
    assert!(last_crd < first_other, "{applies:?}");
    // cert-manager's post-install hooks: RBAC (weight -5) before the Job
    // (weight 1), after every regular object; all deleted once they succeed.
    let hooks: Vec<&str> = err.lines().filter(|l| l.contains("Ran hook")).collect();
    assert_eq!(hooks.len(), 4, "{err}");
    assert!(hooks[3].contains("post-install Job cert-manager/cert-manager-startupapicheck"), "{err}");
    assert!(!stored.iter().any(|p| p.contains("startupapicheck")), "{stored:?}");
    // Objects of one kind went several at a time (cert-manager has 20-odd
    // ClusterRoles), never more than 8.
    let most = api.most_applies_at_once.load(std::sync::atomic::Ordering::SeqCst);
    assert!((2..=8).contains(&most), "{most} applies at once");
    // So went the reads of the ownership check before them.
    let most = api.most_reads_at_once.load(std::sync::atomic::Ordering::SeqCst);
    assert!((2..=8).contains(&most), "{most} reads at once");
    // Each kind was looked up once for the check and the apply together
    // (a dozen kinds besides the CRDs' own), not once for each.
    let discoveries = api.discoveries.load(std::sync::atomic::Ordering::SeqCst);
    let kind_of = |path: &String| {
        let plural = path.rsplit('/').nth(1).unwrap();
        let group_version = match path.split_once("/namespaces/") {
            Some((group_version, _)) => group_version,
            None => path.rsplitn(3, '/').nth(2).unwrap(),
        };
        format!("{group_version} {plural}")
    };
    let kinds: std::collections::BTreeSet<String> = applies.iter().map(kind_of).collect();
    assert!(discoveries <= kinds.len() + 4, "{discoveries} discovery requests for {} kinds: {kinds:?}", kinds.len());
    // Nothing bundled, so every image is named as left at its source.
    assert!(err.contains("quay.io/jetstack/cert-manager-controller:"), "{err}");
}

/// Against a real cluster, when one is given: install makes a ConfigMap,
/// the upgrade that drops it deletes it, the rollback brings it back, and
/// uninstall removes it; the test then removes anything left, records included.
#[test]
fn install_upgrade_rollback_on_a_real_cluster() {
    let Some(kubeconfig) = std::env::var_os("AIRLOCK_E2E_KUBECONFIG") else { return };
    let Some(kubectl) = venv_kubectl() else { panic!("AIRLOCK_E2E_KUBECONFIG is set but kubectl is not installed") };
    let kubeconfig = PathBuf::from(kubeconfig);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let name = format!("airlock-e2e-cluster-{}", std::process::id());
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
    // Whatever happened above, leave the cluster as it was.
    kube(&["delete", "configmap", &name, &format!("{name}-b"), "--ignore-not-found"]);
    kube(&["delete", "secret", "-n", "airlock-system", "-l", &format!("airlock.dev/release={name}")]);
    assert!(restored, "the rollback did not restore revision 1");
    assert_eq!(history.lines().count(), 3, "{history}");
    assert!(uninstalled.status.success() && gone, "{}", String::from_utf8_lossy(&uninstalled.stderr));
}
