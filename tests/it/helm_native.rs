//! Issue 21: every chart `airlock install|upgrade|rollback|uninstall` puts
//! into a cluster is a Helm v4 release, stored as Helm stores it (a Secret
//! `sh.helm.release.v1.NAME.vREV` in the chart's namespace, labelled
//! `name`, `owner=helm`, `status`, `version`; `data.release` the base64 of
//! the gzipped JSON: docs/helm-releases.md), so the real Helm v4 CLI
//! (target/tools/bin/helm, built by `scripts/build-tools.sh helm`) lists
//! it, shows its history, manifest, values and status, through its whole
//! life. Against the control plane of control_plane.rs.

use crate::corner::Corner;
use crate::support::{
    built_helm, decode_release, helm_command, helm_reads_every_release, unaudited_kubeconfig, Airlock,
};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::Output;

/// A test's corner of the cluster with a directory, airlock and helm of
/// its own (helm's cache, config and data in that directory).
struct Site {
    corner: Corner,
    dir: tempfile::TempDir,
    airlock: Airlock,
    helm: PathBuf,
}

impl std::ops::Deref for Site {
    type Target = Corner;
    fn deref(&self) -> &Corner {
        &self.corner
    }
}

/// The Helm release of the bundle's one chart: the chart entry's name.
const RELEASE: &str = "app";

/// The chart's ConfigMap template, as written.
const CM: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-cm\ndata:\n  greeting: {{ .Values.greeting | quote }}\n  replicas: {{ .Values.replicas | quote }}\n";

impl Site {
    fn new(prefix: &str, helm: PathBuf) -> Site {
        let dir = tempfile::tempdir().unwrap();
        Site { corner: Corner::new(dir.path(), prefix), dir, airlock: Airlock::new(), helm }
    }

    /// A bundle named after the corner's release, at `version`, of one
    /// chart `app` (appVersion = version) into the site's namespace: a
    /// ConfigMap template, a values.yaml (`greeting`, `replicas: 1`) and a
    /// NOTES.txt.
    fn bundle(&self, version: &str, greeting: &str) -> PathBuf {
        let d = self.dir.path().join(version);
        std::fs::create_dir_all(d.join("chart/templates")).unwrap();
        std::fs::write(
            d.join("chart/Chart.yaml"),
            format!("apiVersion: v2\nname: app\nversion: {version}\nappVersion: \"{version}\"\n"),
        )
        .unwrap();
        std::fs::write(d.join("chart/values.yaml"), format!("greeting: {greeting}\nreplicas: 1\n")).unwrap();
        std::fs::write(d.join("chart/templates/cm.yaml"), CM).unwrap();
        std::fs::write(
            d.join("chart/templates/NOTES.txt"),
            "Hello from {{ .Release.Name }} ({{ .Values.greeting }}).\n",
        )
        .unwrap();
        let spec = d.join("airlock.yaml");
        std::fs::write(
            &spec,
            format!(
                "apiVersion: airlock.dev/v1\nkind: Bundle\nmetadata: {{name: {}, version: {version}}}\ncomponents:\n  - name: app\n    charts: [{{name: {RELEASE}, path: ./chart, namespace: {}, images: explicit}}]\n",
                self.release, self.ns
            ),
        )
        .unwrap();
        let bundle = d.join("app.airlock");
        self.airlock.ok(&["create", spec.to_str().unwrap(), "-o", bundle.to_str().unwrap()]);
        bundle
    }

    /// airlock against the corner's cluster; it must succeed. After an
    /// install, upgrade or rollback, the real helm reads every revision of
    /// every release in the namespace (`helm_reads_every_release`).
    fn airlock_ok(&self, args: &[&str]) {
        let mut all = args.to_vec();
        all.extend(["--kubeconfig", self.kubeconfig.to_str().unwrap()]);
        if matches!(args[0], "install" | "upgrade") {
            all.push("--allow-unsigned");
        }
        let out = self.airlock.run(&all);
        assert!(out.status.success(), "airlock {args:?} failed:\n{}", String::from_utf8_lossy(&out.stderr));
        if matches!(args[0], "install" | "upgrade" | "rollback") {
            helm_reads_every_release(&self.helm, &unaudited_kubeconfig(), &self.ns);
        }
    }

    /// The real helm, as the corner's user, in the site's namespace.
    fn helm(&self, args: &[&str]) -> Output {
        helm_command(&self.helm, &self.dir.path().join("helm"))
            .args(args)
            .arg("--namespace")
            .arg(&self.ns)
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {:?}: {e}", self.helm))
    }

    /// helm that must succeed; its stdout.
    fn helm_ok(&self, args: &[&str]) -> String {
        let out = self.helm(args);
        assert!(
            out.status.success(),
            "helm {args:?} failed (helm does not see the release as Helm stores it):\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// helm's `-o json` output, parsed.
    fn helm_json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.extend(["-o", "json"]);
        let text = self.helm_ok(&all);
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("helm {all:?} printed no JSON ({e}): {text}"))
    }

    /// `helm history RELEASE`: (revision, status, chart, description) of each.
    fn history(&self) -> Vec<(u64, String, String, String)> {
        let history = self.helm_json(&["history", RELEASE]);
        let entries = history.as_array().unwrap_or_else(|| panic!("helm history: {history}"));
        entries
            .iter()
            .map(|e| {
                let text = |key: &str| e[key].as_str().unwrap_or_else(|| panic!("{key} in {e}")).to_string();
                (
                    e["revision"].as_u64().unwrap_or_else(|| panic!("revision in {e}")),
                    text("status"),
                    text("chart"),
                    text("description"),
                )
            })
            .collect()
    }

    /// The computed values of the last revision (`helm get values --all`).
    fn values(&self) -> Value {
        self.helm_json(&["get", "values", RELEASE, "--all"])
    }

    /// Every Secret in the site's namespace labelled `owner=helm`, by name.
    fn helm_secrets(&self) -> Vec<Value> {
        let text = self.plane.kubectl_ok(&["-n", &self.ns, "get", "secrets", "-l", "owner=helm", "-o", "json"]);
        let list: Value = serde_json::from_str(&text).unwrap();
        let mut items = list["items"].as_array().cloned().unwrap_or_default();
        items.sort_by_key(|s| s["metadata"]["name"].as_str().unwrap_or_default().to_string());
        items
    }

    /// The live ConfigMap the chart renders.
    fn configmap(&self) -> Option<Value> {
        self.plane.object(&format!("/api/v1/namespaces/{}/configmaps/{RELEASE}-cm", self.ns))
    }
}

/// The release Secrets in the namespace are exactly revisions 1..=N of
/// `app` with these statuses (oldest first): named, labelled and encoded
/// as Helm's Secret driver writes them.
fn assert_secrets(site: &Site, statuses: &[&str]) {
    let secrets = site.helm_secrets();
    let names: Vec<&str> = secrets.iter().map(|s| s["metadata"]["name"].as_str().unwrap()).collect();
    let expected: Vec<String> =
        (1..=statuses.len()).map(|revision| format!("sh.helm.release.v1.{RELEASE}.v{revision}")).collect();
    assert_eq!(names, expected, "the release Secrets in {}", site.ns);
    for ((secret, status), revision) in secrets.iter().zip(statuses).zip(1u64..) {
        let name = &secret["metadata"]["name"];
        let labels = &secret["metadata"]["labels"];
        assert_eq!(labels["name"], RELEASE, "{name}: {labels}");
        assert_eq!(labels["owner"], "helm", "{name}: {labels}");
        assert_eq!(labels["status"], *status, "{name}: {labels}");
        assert_eq!(labels["version"], revision.to_string(), "{name}: {labels}");
        let keys: Vec<&String> = secret["data"].as_object().map(|d| d.keys().collect()).unwrap_or_default();
        assert_eq!(keys, ["release"], "{name}: the data keys");
        let release = decode_release(secret);
        assert_eq!(release["name"], RELEASE, "{name}");
        assert_eq!(release["namespace"], site.ns.as_str(), "{name}");
        assert_eq!(release["version"], revision, "{name}");
        assert_eq!(release["info"]["status"], *status, "{name}: {}", release["info"]);
        assert_eq!(release["chart"]["metadata"]["name"], "app", "{name}: {}", release["chart"]["metadata"]);
    }
}

/// A bundle's chart through its whole life as the Helm CLI sees it:
/// install (revision 1), upgrade (2), airlock's rollback (3, "Rollback to
/// 1"), uninstall (no release, no release Secret left).
#[test]
fn a_bundles_chart_is_a_helm_release_through_its_life() {
    let Some(helm) = built_helm() else { return };
    let site = Site::new("helmnative", helm);
    let ns = site.ns.clone();

    // Install: revision 1, deployed.
    site.airlock_ok(&["install", site.bundle("1.0.0", "hello").to_str().unwrap()]);
    let list = site.helm_json(&["list"]);
    let entries = list.as_array().unwrap_or_else(|| panic!("helm list: {list}"));
    assert_eq!(entries.len(), 1, "helm list: {list}");
    let entry = &entries[0];
    assert_eq!(entry["name"], RELEASE, "{entry}");
    assert_eq!(entry["namespace"], ns.as_str(), "{entry}");
    assert_eq!(entry["revision"], "1", "{entry}");
    assert_eq!(entry["status"], "deployed", "{entry}");
    assert_eq!(entry["chart"], "app-1.0.0", "{entry}");
    assert_eq!(entry["app_version"], "1.0.0", "{entry}");

    let history = site.history();
    assert_eq!(history.len(), 1, "{history:?}");
    assert_eq!((history[0].0, history[0].1.as_str(), history[0].2.as_str()), (1, "deployed", "app-1.0.0"));

    let manifest = site.helm_ok(&["get", "manifest", RELEASE]);
    let documents: Vec<&str> = manifest.split("---\n").filter(|d| !d.trim().is_empty()).collect();
    assert_eq!(documents.len(), 1, "one object in the manifest:\n{manifest}");
    let cm = documents[0]
        .strip_prefix("# Source: app/templates/cm.yaml\n")
        .unwrap_or_else(|| panic!("the manifest names its template as Helm does:\n{manifest}"));
    let cm: Value = serde_saphyr::from_str(cm).unwrap_or_else(|e| panic!("{e}:\n{manifest}"));
    assert_eq!(
        cm,
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "app-cm"},
               "data": {"greeting": "hello", "replicas": "1"}}),
        "the rendered ConfigMap, as rendered (no ownership marks):\n{manifest}"
    );

    assert_eq!(site.values(), json!({"greeting": "hello", "replicas": 1}));
    // No values given at install: none user-supplied.
    assert_eq!(site.helm_json(&["get", "values", RELEASE]), Value::Null);

    let status = site.helm_ok(&["status", RELEASE]);
    for line in [
        format!("NAME: {RELEASE}"),
        format!("NAMESPACE: {ns}"),
        "STATUS: deployed".to_string(),
        "REVISION: 1".to_string(),
        "Hello from app (hello).".to_string(),
    ] {
        assert!(status.lines().any(|l| l.trim() == line), "helm status lacks {line:?}:\n{status}");
    }
    assert_eq!(site.helm_ok(&["get", "notes", RELEASE]).trim(), "NOTES:\nHello from app (hello).");

    let live = site.configmap().expect("the chart's ConfigMap is applied");
    let meta = &live["metadata"];
    assert_eq!(meta["labels"]["app.kubernetes.io/managed-by"], "Helm", "{meta}");
    assert_eq!(meta["annotations"]["meta.helm.sh/release-name"], RELEASE, "{meta}");
    assert_eq!(meta["annotations"]["meta.helm.sh/release-namespace"], ns.as_str(), "{meta}");
    assert_secrets(&site, &["deployed"]);

    // Upgrade: revision 2 deployed, 1 superseded.
    site.airlock_ok(&["upgrade", site.bundle("2.0.0", "bonjour").to_str().unwrap()]);
    let history = site.history();
    let brief: Vec<(u64, &str, &str)> = history.iter().map(|(r, s, c, _)| (*r, s.as_str(), c.as_str())).collect();
    assert_eq!(brief, [(1, "superseded", "app-1.0.0"), (2, "deployed", "app-2.0.0")], "{history:?}");
    assert_eq!(site.values(), json!({"greeting": "bonjour", "replicas": 1}));
    let list = site.helm_json(&["list"]);
    assert_eq!(list[0]["revision"], "2", "{list}");
    assert_eq!(list[0]["chart"], "app-2.0.0", "{list}");
    assert_eq!(site.configmap().expect("still there")["data"]["greeting"], "bonjour");
    assert!(site.helm_ok(&["status", RELEASE]).contains("REVISION: 2"));
    assert_secrets(&site, &["superseded", "deployed"]);

    // airlock's rollback of the bundle: revision 3, "Rollback to 1".
    site.airlock_ok(&["rollback", &site.release]);
    let history = site.history();
    let brief: Vec<(u64, &str, &str)> = history.iter().map(|(r, s, c, _)| (*r, s.as_str(), c.as_str())).collect();
    assert_eq!(
        brief,
        [(1, "superseded", "app-1.0.0"), (2, "superseded", "app-2.0.0"), (3, "deployed", "app-1.0.0")],
        "{history:?}"
    );
    assert_eq!(history[2].3, "Rollback to 1", "{history:?}");
    let raw = site.helm_json(&["history", RELEASE]);
    assert_eq!(raw[2]["rollback_revision"], 1, "{raw}");
    assert_eq!(site.values(), json!({"greeting": "hello", "replicas": 1}));
    assert_eq!(site.configmap().expect("still there")["data"]["greeting"], "hello");
    assert_secrets(&site, &["superseded", "superseded", "deployed"]);

    // Uninstall: no release left, nor any of its Secrets.
    site.airlock_ok(&["uninstall", &site.release]);
    assert_eq!(site.helm_json(&["list"]), json!([]));
    let left: Vec<Value> = site.helm_secrets().iter().map(|s| s["metadata"]["name"].clone()).collect();
    assert!(left.is_empty(), "release Secrets left in {ns}: {left:?}");
    assert!(site.configmap().is_none(), "the ConfigMap went with the release");
    site.plane.kubectl_ok(&["delete", "namespace", &ns, "--wait=false"]);
}

/// A release that `helm install` made, then airlock, Helm and airlock again
/// taking turns on it: each sees the other's revisions, adopts its
/// objects, and applies over them without field conflicts (airlock applies
/// a chart's objects as Helm does).
#[test]
fn helm_and_airlock_take_turns_on_one_release() {
    let Some(helm) = built_helm() else { return };
    let site = Site::new("helmturns", helm);
    let bundle = |version: &str, greeting: &str| site.bundle(version, greeting);
    let chart = |bundle: &std::path::Path| bundle.parent().unwrap().join("chart").to_str().unwrap().to_string();
    let greeting = || site.configmap().map(|cm| cm["data"]["greeting"].clone());
    let last = || site.history().last().cloned().unwrap();

    let v1 = bundle("1.0.0", "one");
    site.helm_ok(&["install", RELEASE, &chart(&v1), "--create-namespace"]);
    assert_eq!(greeting(), Some(json!("one")));
    // airlock takes the release over: Helm's objects are the chart's own.
    site.airlock_ok(&["install", bundle("2.0.0", "two").to_str().unwrap()]);
    let history = site.history();
    assert_eq!(history.len(), 2, "{history:?}");
    assert_eq!((history[0].0, history[0].1.as_str()), (1, "superseded"), "{history:?}");
    assert_eq!(history[1], (2, "deployed".into(), "app-2.0.0".into(), "Upgrade complete".into()));
    assert_eq!(greeting(), Some(json!("two")));
    // Helm upgrades what airlock applied: no conflict over its fields. Its
    // chart has one more object, which airlock never recorded.
    let v3 = bundle("3.0.0", "three");
    let extra_template = std::path::Path::new(&chart(&v3)).join("templates/extra.yaml");
    std::fs::write(extra_template, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: helm-only}\n").unwrap();
    site.helm_ok(&["upgrade", RELEASE, &chart(&v3)]);
    assert_eq!((last().0, last().1.as_str(), last().2.as_str()), (3, "deployed", "app-3.0.0"));
    assert_eq!(greeting(), Some(json!("three")));
    let helm_only = format!("/api/v1/namespaces/{}/configmaps/helm-only", site.ns);
    assert!(site.plane.object(&helm_only).is_some(), "helm upgrade made its extra object");
    // And airlock upgrades what Helm applied, deleting what the release
    // had and this revision drops, as Helm would.
    site.airlock_ok(&["upgrade", bundle("4.0.0", "four").to_str().unwrap()]);
    assert_eq!((last().0, last().1.as_str(), last().2.as_str()), (4, "deployed", "app-4.0.0"));
    assert_eq!(greeting(), Some(json!("four")));
    assert!(site.plane.object(&helm_only).is_none(), "the object only Helm's revision had is deleted");
    // Helm rolls back to airlock's revision 2; airlock upgrades from there.
    site.helm_ok(&["rollback", RELEASE, "2"]);
    assert_eq!(last(), (5, "deployed".into(), "app-2.0.0".into(), "Rollback to 2".into()));
    assert_eq!(greeting(), Some(json!("two")));
    site.airlock_ok(&["upgrade", bundle("5.0.0", "five").to_str().unwrap()]);
    assert_eq!((last().0, last().1.as_str(), last().2.as_str()), (6, "deployed", "app-5.0.0"));
    assert_eq!(greeting(), Some(json!("five")));
    let statuses: Vec<String> = site.history().into_iter().map(|(_, status, _, _)| status).collect();
    assert_eq!(statuses.iter().filter(|s| *s == "deployed").count(), 1, "{statuses:?}");
    site.airlock_ok(&["uninstall", &site.release]);
    assert_eq!(site.helm_json(&["list"]), json!([]));
    assert_eq!(greeting(), None);
}

/// Two bundles cannot share one Helm release: another bundle whose chart
/// has the same name and namespace is refused before anything is applied,
/// though the objects carry that Helm release's marks.
#[test]
fn another_bundle_cannot_take_a_release_over() {
    let Some(helm) = built_helm() else { return };
    let site = Site::new("helmtwo", helm);
    site.airlock_ok(&["install", site.bundle("1.0.0", "one").to_str().unwrap()]);
    let dir = site.dir.path().join("1.0.0");
    let spec = std::fs::read_to_string(dir.join("airlock.yaml")).unwrap();
    let other = spec.replace(&format!("name: {},", site.release), &format!("name: {}-other,", site.release));
    assert_ne!(other, spec);
    std::fs::write(dir.join("other.yaml"), other).unwrap();
    let bundle = dir.join("other.airlock");
    site.airlock.ok(&["create", dir.join("other.yaml").to_str().unwrap(), "-o", bundle.to_str().unwrap()]);
    let out = site.airlock.run(&[
        "install",
        bundle.to_str().unwrap(),
        "--allow-unsigned",
        "--kubeconfig",
        site.kubeconfig.to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains(&format!("belongs to bundle `{}`", site.release)), "{err}");
    assert_eq!(site.history().len(), 1, "the release is untouched");
    assert_eq!(site.configmap().unwrap()["data"]["greeting"], json!("one"));
}
