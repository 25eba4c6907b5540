//! Issue 21 with a real chart: a bundle of cert-manager (a chart written by
//! others, ../shared/testdata/real: CRDs from its templates, post-install
//! hooks), a small chart of the test's own given site values, and plain
//! manifests, installed, upgraded and uninstalled by airlock into the
//! control plane of control_plane.rs. The real Helm v4 CLI must see each
//! chart as the release airlock applied: `helm list`, `history`, `get
//! values`, `get manifest` and `get hooks` against what airlock printed and
//! what is live in the cluster, and each release Secret, decoded, against
//! what `helm status -o json` and `helm get all` read from it. The plain
//! manifests are in no Helm release.

use crate::corner::Corner;
use crate::support::{
    built_helm, decode_release, helm_command, helm_reads_every_release, real_charts, unaudited_kubeconfig, Airlock,
};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::Output;

/// An object as Helm's manifest and airlock's output name it: kind,
/// namespace (None when cluster-scoped), name.
type Id = (String, Option<String>, String);

/// A Helm release: name and namespace.
#[derive(Clone)]
struct Release {
    name: String,
    ns: String,
}

/// The test's corner, with a directory, airlock and helm of its own, the
/// two charts' releases and the namespaces they go to.
struct Site {
    corner: Corner,
    dir: tempfile::TempDir,
    airlock: Airlock,
    helm: PathBuf,
    real: PathBuf,
    /// cert-manager, named after the corner so that its cluster-scoped
    /// objects (ClusterRoles, webhook configurations) are its own.
    certs: Release,
    /// The test's own chart.
    greeter: Release,
    /// Kinds the cluster serves cluster-scoped.
    cluster_kinds: BTreeSet<String>,
}

impl std::ops::Deref for Site {
    type Target = Corner;
    fn deref(&self) -> &Corner {
        &self.corner
    }
}

/// The test's chart, version 0.1.0 (appVersion 1.0) or 0.2.0 (2.0, which
/// drops the Service): files and contents.
fn greeter_chart(version: &str) -> Vec<(&'static str, String)> {
    let app_version = if version == "0.1.0" { "1.0" } else { "2.0" };
    let mut files = vec![
        ("Chart.yaml", format!("apiVersion: v2\nname: greeter\nversion: {version}\nappVersion: \"{app_version}\"\n")),
        ("values.yaml", "greeting: hello\nreplicas: 1\nnested:\n  a: 1\n  b: two\nimage: busybox:1.36\n".into()),
        (
            "templates/configmap.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-settings\ndata:\n  greeting: {{ .Values.greeting | quote }}\n  a: {{ .Values.nested.a | quote }}\n  b: {{ .Values.nested.b | quote }}\n".into(),
        ),
        (
            "templates/deployment.yaml",
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\nspec:\n  replicas: {{ .Values.replicas }}\n  selector:\n    matchLabels: {app: greeter}\n  template:\n    metadata:\n      labels: {app: greeter}\n    spec:\n      containers:\n        - name: greeter\n          image: {{ .Values.image | quote }}\n".into(),
        ),
        ("templates/NOTES.txt", "{{ .Release.Name }} says {{ .Values.greeting }}.\n".into()),
    ];
    if version == "0.1.0" {
        files.push((
            "templates/service.yaml",
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: {{ .Release.Name }}\nspec:\n  selector: {app: greeter}\n  ports: [{port: 80}]\n".into(),
        ));
    }
    files
}

impl Site {
    fn new(helm: PathBuf, real: PathBuf) -> Site {
        let dir = tempfile::tempdir().unwrap();
        let corner = Corner::new(dir.path(), "helmreal");
        let certs =
            Release { name: format!("{}-cert-manager", corner.release), ns: format!("{}-certs", corner.release) };
        let greeter = Release { name: "greeter".into(), ns: format!("{}-app", corner.release) };
        // The last column of `kubectl api-resources` is the kind.
        let resources = corner.plane.kubectl_ok(&["api-resources", "--namespaced=false", "--no-headers"]);
        let cluster_kinds = resources.lines().filter_map(|l| l.split_whitespace().last()).map(String::from).collect();
        Site { corner, dir, airlock: Airlock::new(), helm, real, certs, greeter, cluster_kinds }
    }

    /// The plain manifests: a ConfigMap beside the test's chart, a
    /// ServiceAccount beside cert-manager, a ClusterRole.
    fn plain_objects(&self) -> BTreeSet<Id> {
        BTreeSet::from([
            ("ConfigMap".into(), Some(self.greeter.ns.clone()), "plain-settings".into()),
            ("ServiceAccount".into(), Some(self.certs.ns.clone()), "plain-account".into()),
            ("ClusterRole".into(), None, format!("{}-plain-reader", self.release)),
        ])
    }

    /// The bundle at `version`: cert-manager with its CRDs (`crds.enabled`),
    /// the test's chart at `chart_version` given a values file (`replicas:
    /// 2`) and inline values (`greeting`, `nested.a: 5`), and the plain
    /// manifests.
    fn bundle(&self, version: &str, chart_version: &str, greeting: &str) -> PathBuf {
        let d = self.dir.path().join(version);
        for (file, text) in greeter_chart(chart_version) {
            let path = d.join("greeter").join(file);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        std::fs::write(d.join("greeter-site.yaml"), "replicas: 2\n").unwrap();
        std::fs::write(
            d.join("plain.yaml"),
            format!(
                "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: plain-settings, namespace: {app}}}\ndata: {{kept: by-airlock}}\n---\napiVersion: v1\nkind: ServiceAccount\nmetadata: {{name: plain-account, namespace: {certs}}}\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {{name: {release}-plain-reader}}\nrules: [{{apiGroups: [\"\"], resources: [configmaps], verbs: [get]}}]\n",
                app = self.greeter.ns,
                certs = self.certs.ns,
                release = self.release,
            ),
        )
        .unwrap();
        let spec = d.join("airlock.yaml");
        std::fs::write(
            &spec,
            format!(
                "apiVersion: airlock.dev/v1\nkind: Bundle\nmetadata: {{name: {release}, version: {version}}}\ncomponents:\n  - name: certs\n    charts:\n      - {{name: {certs}, path: {path}, namespace: {certs_ns}, images: explicit, values: {{crds: {{enabled: true}}}}}}\n  - name: app\n    charts:\n      - {{name: greeter, path: ./greeter, namespace: {app_ns}, images: explicit, valuesFiles: [greeter-site.yaml], values: {{greeting: {greeting}, nested: {{a: 5}}}}}}\n    manifests: [plain.yaml]\n",
                release = self.release,
                certs = self.certs.name,
                path = self.real.join("cert-manager").display(),
                certs_ns = self.certs.ns,
                app_ns = self.greeter.ns,
            ),
        )
        .unwrap();
        let bundle = d.join("site.airlock");
        self.airlock.ok(&["create", spec.to_str().unwrap(), "-o", bundle.to_str().unwrap()]);
        bundle
    }

    /// airlock against the corner's cluster; it must succeed. Its stderr;
    /// after an install or upgrade, helm has read every revision of both
    /// releases.
    fn airlock_ok(&self, args: &[&str]) -> String {
        let mut all = args.to_vec();
        all.extend(["--kubeconfig", self.kubeconfig.to_str().unwrap(), "--timeout", "180s"]);
        if matches!(args[0], "install" | "upgrade") {
            all.extend(["--allow-unsigned", "--wait"]);
        }
        let out = self.airlock.run(&all);
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "airlock {args:?} failed:\n{err}");
        if matches!(args[0], "install" | "upgrade" | "rollback") {
            for release in [&self.certs, &self.greeter] {
                helm_reads_every_release(&self.helm, &unaudited_kubeconfig(), &release.ns);
            }
        }
        err
    }

    /// The real helm, as the corner's user.
    fn helm(&self, args: &[&str]) -> Output {
        helm_command(&self.helm, &self.dir.path().join("helm"))
            .args(args)
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
            "helm {args:?} failed (it cannot read what airlock stored):\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// helm `args` about `release` (in its namespace), `-o json`, parsed.
    fn helm_json(&self, release: &Release, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.extend([release.name.as_str(), "-n", &release.ns, "-o", "json"]);
        let text = self.helm_ok(&all);
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("helm {all:?} printed no JSON ({e}): {text}"))
    }

    /// `helm list -A -o json`, the entries in this test's namespaces:
    /// (name, namespace, revision, status, chart, app_version), by name.
    fn listed(&self) -> Vec<[String; 6]> {
        let text = self.helm_ok(&["list", "-A", "-o", "json"]);
        let list: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("helm list -A: {e}: {text}"));
        let entries = list.as_array().unwrap_or_else(|| panic!("helm list -A: {list}"));
        let ours = [self.certs.ns.as_str(), self.greeter.ns.as_str()];
        let mut found: Vec<[String; 6]> = entries
            .iter()
            .filter(|e| e["namespace"].as_str().is_some_and(|ns| ours.contains(&ns)))
            .map(|e| {
                ["name", "namespace", "revision", "status", "chart", "app_version"]
                    .map(|key| e[key].as_str().unwrap_or_else(|| panic!("{key} in {e}")).to_string())
            })
            .collect();
        found.sort();
        found
    }

    /// `helm history NAME -o json`: (revision, status, chart, app_version,
    /// description) of each, oldest first.
    fn history(&self, release: &Release) -> Vec<(u64, String, String, String, String)> {
        let history = self.helm_json(release, &["history"]);
        let entries = history.as_array().unwrap_or_else(|| panic!("helm history: {history}"));
        entries
            .iter()
            .map(|e| {
                let text = |key: &str| e[key].as_str().unwrap_or_else(|| panic!("{key} in {e}")).to_string();
                let revision = e["revision"].as_u64().unwrap_or_else(|| panic!("revision in {e}"));
                (revision, text("status"), text("chart"), text("app_version"), text("description"))
            })
            .collect()
    }

    /// The objects of a manifest in Helm's layout (`---\n# Source:
    /// PATH\nYAML`), namespaced ones without a namespace in `release`'s.
    fn objects_of(&self, release: &Release, manifest: &str) -> BTreeSet<Id> {
        self.documents(release, manifest).into_keys().collect()
    }

    /// The objects of a manifest in Helm's layout, by id.
    fn documents(&self, release: &Release, manifest: &str) -> BTreeMap<Id, Value> {
        let mut ids = BTreeMap::new();
        for document in manifest.split("---\n# Source: ").skip(1) {
            let (_, yaml) = document.split_once('\n').unwrap_or_else(|| panic!("a document: {document:?}"));
            let body: Value = serde_saphyr::from_str(yaml).unwrap_or_else(|e| panic!("{e}:\n{yaml}"));
            let text = |v: &Value| v.as_str().map(String::from);
            let kind = text(&body["kind"]).unwrap_or_else(|| panic!("no kind:\n{yaml}"));
            let name = text(&body["metadata"]["name"]).unwrap_or_else(|| panic!("no name:\n{yaml}"));
            let namespace = match self.cluster_kinds.contains(&kind) {
                true => None,
                false => Some(text(&body["metadata"]["namespace"]).unwrap_or_else(|| release.ns.clone())),
            };
            assert!(ids.insert((kind, namespace, name), body).is_none(), "an object twice in the manifest:\n{yaml}");
        }
        ids
    }

    /// The objects of `helm get manifest` of `release` at `revision`.
    fn manifest_objects(&self, release: &Release, revision: u64) -> BTreeSet<Id> {
        self.manifest_documents(release, revision).into_keys().collect()
    }

    /// The objects of `helm get manifest` of `release` at `revision`, by id.
    fn manifest_documents(&self, release: &Release, revision: u64) -> BTreeMap<Id, Value> {
        let revision = revision.to_string();
        let manifest = self.helm_ok(&["get", "manifest", &release.name, "-n", &release.ns, "--revision", &revision]);
        self.documents(release, &manifest)
    }

    /// The live objects `ids` (each must exist), by id.
    fn live(&self, ids: &BTreeSet<Id>) -> BTreeMap<Id, Value> {
        let mut by_namespace: BTreeMap<Option<String>, Vec<String>> = BTreeMap::new();
        for (kind, namespace, name) in ids {
            by_namespace.entry(namespace.clone()).or_default().push(format!("{kind}/{name}"));
        }
        let mut live = BTreeMap::new();
        for (namespace, targets) in by_namespace {
            let mut args = vec!["get", "-o", "json"];
            if let Some(namespace) = &namespace {
                args.extend(["-n", namespace]);
            }
            args.extend(targets.iter().map(String::as_str));
            let text = self.plane.kubectl_ok(&args);
            let list: Value = serde_json::from_str(&text).unwrap();
            let items = match list["kind"].as_str() {
                Some("List") => list["items"].as_array().cloned().unwrap_or_default(),
                _ => vec![list],
            };
            for item in items {
                let meta = &item["metadata"];
                let id = (
                    item["kind"].as_str().unwrap().to_string(),
                    meta["namespace"].as_str().map(String::from),
                    meta["name"].as_str().unwrap().to_string(),
                );
                live.insert(id, item);
            }
        }
        live
    }

    /// Every live object, of every kind the cluster lists, labelled
    /// `app.kubernetes.io/managed-by=Helm`, marked as `release`'s and
    /// owned by no other object.
    fn live_of_release(&self, release: &Release) -> BTreeSet<Id> {
        let kinds = self.plane.kubectl_ok(&["api-resources", "--verbs=list", "-o", "name"]);
        let kinds: Vec<&str> = kinds.lines().filter(|k| !k.starts_with("events")).collect();
        let text = self.plane.kubectl_ok(&[
            "get",
            &kinds.join(","),
            "-A",
            "-l",
            "app.kubernetes.io/managed-by=Helm",
            "-o",
            "json",
        ]);
        let list: Value = serde_json::from_str(&text).unwrap();
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            // What controllers made of them (ReplicaSets copy a
            // Deployment's marks) is not the release's own.
            .filter(|item| item["metadata"]["ownerReferences"].is_null())
            .filter(|item| {
                let annotations = &item["metadata"]["annotations"];
                annotations["meta.helm.sh/release-name"] == release.name.as_str()
                    && annotations["meta.helm.sh/release-namespace"] == release.ns.as_str()
            })
            .map(|item| {
                let meta = &item["metadata"];
                (
                    item["kind"].as_str().unwrap().to_string(),
                    meta["namespace"].as_str().map(String::from),
                    meta["name"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    }

    /// The release Secret of `release` at `revision`, as the API holds it.
    fn secret(&self, release: &Release, revision: u64) -> Value {
        let name = format!("sh.helm.release.v1.{}.v{revision}", release.name);
        let text = self.plane.kubectl_ok(&["-n", &release.ns, "get", "secret", &name, "-o", "json"]);
        serde_json::from_str(&text).unwrap()
    }

    /// The names of the Secrets labelled `owner=helm` in `namespace`.
    fn helm_secrets(&self, namespace: &str) -> Vec<String> {
        let text = self.plane.kubectl_ok(&["-n", namespace, "get", "secrets", "-l", "owner=helm", "-o", "name"]);
        text.lines().map(String::from).collect()
    }
}

/// Objects named on airlock's lines `VERB KIND NS/NAME (API)` or `VERB
/// KIND NAME (API)` (`Applied`, `Ran hook post-install`, ...).
fn said(stderr: &str, verb: &str) -> BTreeSet<Id> {
    stderr
        .lines()
        .filter_map(|line| line.trim().strip_prefix(verb)?.strip_prefix(' '))
        .map(|rest| {
            let (target, _) = rest.rsplit_once(" (").unwrap_or_else(|| panic!("{verb} {rest}"));
            let (kind, target) = target.split_once(' ').unwrap_or_else(|| panic!("{verb} {rest}"));
            match target.split_once('/') {
                Some((namespace, name)) => (kind.into(), Some(namespace.into()), name.into()),
                None => (kind.into(), None, target.into()),
            }
        })
        .collect()
}

/// Where the live object `id` differs from its `document` in a Helm
/// manifest (`differences`). A CRD's labels are left out: CRDs are shared,
/// and another test's cert-manager labels them as its own
/// (`app.kubernetes.io/instance`) when it applies them.
fn live_differences(id: &Id, live: &Value, mut document: Value) -> Vec<String> {
    if id.0 == "CustomResourceDefinition" {
        document["metadata"].as_object_mut().map(|m| m.remove("labels"));
    }
    differences(live, &document, "")
}

/// Where `live` lacks a field `wanted` sets, or holds another value:
/// `wanted`'s paths (`.spec.replicas: 2 live, 1 wanted`).
fn differences(live: &Value, wanted: &Value, path: &str) -> Vec<String> {
    match (live, wanted) {
        (Value::Object(live), Value::Object(wanted)) => wanted
            .iter()
            .flat_map(|(key, value)| {
                differences(live.get(key).unwrap_or(&Value::Null), value, &format!("{path}.{key}"))
            })
            .collect(),
        (Value::Array(live), Value::Array(wanted)) if live.len() == wanted.len() => live
            .iter()
            .zip(wanted)
            .enumerate()
            .flat_map(|(i, (l, w))| differences(l, w, &format!("{path}[{i}]")))
            .collect(),
        _ if live == wanted => Vec::new(),
        // Numbers as the API returns them: 2 and 2.0 are one.
        (Value::Number(l), Value::Number(w)) if l.as_f64() == w.as_f64() => Vec::new(),
        _ => vec![format!("{path}: {live} live, {wanted} wanted")],
    }
}

/// A time as Go writes it (RFC 3339, the fraction's trailing zeros cut),
/// to compare it with how airlock wrote it.
fn instant(value: &Value) -> Option<chrono::DateTime<chrono::FixedOffset>> {
    value.as_str().and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
}

/// `a` over `b` as Helm coalesces user values over a chart's.
fn merged(mut b: Value, a: &Value) -> Value {
    match (b.as_object_mut(), a.as_object()) {
        (Some(base), Some(over)) => {
            for (key, value) in over {
                let old = base.remove(key).unwrap_or(Value::Null);
                base.insert(key.clone(), merged(old, value));
            }
            b
        }
        _ => a.clone(),
    }
}

/// The chart of a release as `helm get all --template` prints it: Chart.yaml's
/// fields, then each template's and file's name and bytes (in hex), then
/// the schema's bytes.
const CHART_TEMPLATE: &str = "{{with .Release.Chart.Metadata}}name={{.Name}}\nhome={{.Home}}\nsources={{range .Sources}}{{.}};{{end}}\nversion={{.Version}}\ndescription={{.Description}}\nkeywords={{range .Keywords}}{{.}};{{end}}\nmaintainers={{range .Maintainers}}{{.Name}}|{{.Email}}|{{.URL}};{{end}}\nicon={{.Icon}}\napiVersion={{.APIVersion}}\ncondition={{.Condition}}\ntags={{.Tags}}\nappVersion={{.AppVersion}}\ndeprecated={{.Deprecated}}\nannotations={{range $k, $v := .Annotations}}{{$k}}:{{$v}};{{end}}\nkubeVersion={{.KubeVersion}}\ndependencies={{len .Dependencies}}\ntype={{.Type}}\n{{end}}{{range .Release.Chart.Templates}}template {{.Name}} {{printf \"%x\" .Data}}\n{{end}}{{range .Release.Chart.Files}}file {{.Name}} {{printf \"%x\" .Data}}\n{{end}}schema {{printf \"%x\" .Release.Chart.Schema}}\n";

/// A stored release's `chart` as `CHART_TEMPLATE` prints it.
fn chart_as_text(chart: &Value) -> String {
    use base64::Engine;
    let metadata = &chart["metadata"];
    let text = |key: &str| metadata[key].as_str().unwrap_or_default().to_string();
    let list = |key: &str, item: &dyn Fn(&Value) -> String| -> String {
        metadata[key].as_array().into_iter().flatten().map(|v| item(v) + ";").collect()
    };
    let string = |v: &Value| v.as_str().unwrap_or_default().to_string();
    let field = |v: &Value, key: &str| v[key].as_str().unwrap_or_default().to_string();
    let annotations: BTreeMap<String, String> = metadata["annotations"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
        .collect();
    let mut out = String::new();
    for (key, value) in [
        ("name", text("name")),
        ("home", text("home")),
        ("sources", list("sources", &string)),
        ("version", text("version")),
        ("description", text("description")),
        ("keywords", list("keywords", &string)),
        (
            "maintainers",
            list("maintainers", &|m| format!("{}|{}|{}", field(m, "name"), field(m, "email"), field(m, "url"))),
        ),
        ("icon", text("icon")),
        ("apiVersion", text("apiVersion")),
        ("condition", text("condition")),
        ("tags", text("tags")),
        ("appVersion", text("appVersion")),
        ("deprecated", metadata["deprecated"].as_bool().unwrap_or_default().to_string()),
        ("annotations", annotations.iter().map(|(k, v)| format!("{k}:{v};")).collect()),
        ("kubeVersion", text("kubeVersion")),
        ("dependencies", metadata["dependencies"].as_array().map_or(0, Vec::len).to_string()),
        ("type", text("type")),
    ] {
        out.push_str(&format!("{key}={value}\n"));
    }
    let hex = |data: &Value| {
        let bytes = base64::engine::general_purpose::STANDARD.decode(data.as_str().unwrap_or_default()).unwrap();
        bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
    };
    for (what, key) in [("template", "templates"), ("file", "files")] {
        for file in chart[key].as_array().into_iter().flatten() {
            out.push_str(&format!("{what} {} {}\n", field(file, "name"), hex(&file["data"])));
        }
    }
    out.push_str(&format!("schema {}\n", hex(&chart["schema"])));
    out
}

/// The release Secret of `release` at `revision`, decoded, against what
/// Helm reads from it: labels, then every field `helm status --revision N
/// -o json` prints (Helm's own decoding, written back as JSON), then what
/// `helm get all --revision N` prints. Returns the decoded record.
fn record_as_helm_reads_it(site: &Site, release: &Release, revision: u64, status: &str) -> Value {
    let secret = site.secret(release, revision);
    let secret_name = secret["metadata"]["name"].clone();
    let labels = &secret["metadata"]["labels"];
    for (key, value) in [("name", release.name.clone()), ("owner", "helm".into()), ("status", status.into())] {
        assert_eq!(labels[key], value.as_str(), "{secret_name}: label {key}: {labels}");
    }
    assert_eq!(labels["version"], revision.to_string(), "{secret_name}: {labels}");
    let record = decode_release(&secret);
    assert_eq!(record["name"], release.name.as_str(), "{secret_name}");
    assert_eq!(record["namespace"], release.ns.as_str(), "{secret_name}");
    assert_eq!(record["version"], revision, "{secret_name}");
    assert_eq!(record["info"]["status"], status, "{secret_name}: {}", record["info"]);
    assert_eq!(record["apply_method"], "ssa", "{secret_name}");

    let revision_arg = revision.to_string();
    let read = site.helm_json(release, &["status", "--revision", &revision_arg]);
    // Helm writes no `config` or `hooks` when there are none (an empty
    // list stored reads the same).
    let or_none = |v: &Value| if v.as_array().is_some_and(Vec::is_empty) { Value::Null } else { v.clone() };
    for key in ["name", "namespace", "version", "config", "manifest", "hooks", "apply_method"] {
        assert_eq!(read[key], or_none(&record[key]), "{secret_name}: {key} as helm status reads it");
    }
    let mut info = read["info"].clone();
    info.as_object_mut().unwrap().remove("resources");
    for key in ["status", "description", "notes", "rollback_revision"] {
        assert_eq!(info[key], record["info"][key], "{secret_name}: info.{key} as helm reads it: {info}");
    }
    for key in ["first_deployed", "last_deployed"] {
        let (helm, ours) = (instant(&info[key]), instant(&record["info"][key]));
        assert!(
            ours.is_some() && helm == ours,
            "{secret_name}: info.{key}: helm {}, stored {}",
            info[key],
            record["info"][key]
        );
    }
    // `helm status` leaves the chart out: `helm get all --template` shows
    // it as Helm read it.
    let chart = site.helm_ok(&[
        "get",
        "all",
        &release.name,
        "-n",
        &release.ns,
        "--revision",
        &revision_arg,
        "--template",
        CHART_TEMPLATE,
    ]);
    let stored = chart_as_text(&record["chart"]);
    if chart != stored {
        let differ: Vec<(&str, &str)> = chart.lines().zip(stored.lines()).filter(|(a, b)| a != b).collect();
        panic!("{secret_name}: the chart as helm reads it (left) and as stored (right) differ: {differ:?}");
    }

    // `helm get all`: the same release, as text.
    let all = site.helm_ok(&["get", "all", &release.name, "-n", &release.ns, "--revision", &revision_arg]);
    let metadata = &record["chart"]["metadata"];
    for line in [
        format!("NAME: {}", release.name),
        format!("NAMESPACE: {}", release.ns),
        format!("STATUS: {status}"),
        format!("REVISION: {revision}"),
        format!("CHART: {}", metadata["name"].as_str().unwrap()),
        format!("VERSION: {}", metadata["version"].as_str().unwrap()),
        format!("APP_VERSION: {}", metadata["appVersion"].as_str().unwrap()),
        format!("DESCRIPTION: {}", record["info"]["description"].as_str().unwrap()),
    ] {
        assert!(all.lines().any(|l| l == line), "helm get all lacks {line:?}:\n{all}");
    }
    let section = |title: &str, next: &str| -> String {
        let start = all.find(&format!("{title}:\n")).unwrap_or_else(|| panic!("no {title} in:\n{all}"));
        let rest = &all[start + title.len() + 2..];
        rest[..rest.find(&format!("\n{next}:\n")).unwrap_or(rest.len())].to_string()
    };
    let supplied: Value = serde_saphyr::from_str(&section("USER-SUPPLIED VALUES", "COMPUTED VALUES")).unwrap();
    assert_eq!(supplied, record["config"], "{secret_name}: helm get all's user-supplied values");
    let manifest = record["manifest"].as_str().unwrap();
    assert!(all.contains(&format!("MANIFEST:\n{manifest}\n")), "{secret_name}: helm get all's manifest:\n{all}");
    for hook in record["hooks"].as_array().into_iter().flatten() {
        let shown =
            format!("---\n# Source: {}\n{}\n", hook["path"].as_str().unwrap(), hook["manifest"].as_str().unwrap());
        assert!(all.contains(&shown), "{secret_name}: helm get all lacks the hook {shown}");
    }
    record
}

/// cert-manager and a chart of the test's own, with the site's values,
/// and plain manifests, through install, upgrade and uninstall, as the
/// real Helm CLI sees them.
#[test]
fn real_charts_are_helm_releases_as_airlock_applied_them() {
    let Some(helm) = built_helm() else { return };
    let Some(real) = real_charts() else { return };
    // cert-manager's CRDs are cluster-wide.
    let _turn = crate::support::fixed_names_turn();
    let site = Site::new(helm, real);
    let _cleanup = DeleteNamespaces(site.plane, vec![site.certs.ns.clone(), site.greeter.ns.clone()]);
    let (certs, greeter) = (site.certs.clone(), site.greeter.clone());

    // Install.
    let err = site.airlock_ok(&["install", site.bundle("1.0.0", "0.1.0", "hello-site").to_str().unwrap()]);
    let row = |r: &Release, revision: &str, status: &str, chart: &str, app: &str| {
        [&r.name, &r.ns, revision, status, chart, app].map(String::from)
    };
    let mut expected = vec![
        row(&certs, "1", "deployed", "cert-manager-v0.0.0", "v0.0.0"),
        row(&greeter, "1", "deployed", "greeter-0.1.0", "1.0"),
    ];
    expected.sort();
    assert_eq!(site.listed(), expected, "helm list -A, in this test's namespaces");
    let metadata = site.helm_json(&greeter, &["get", "metadata"]);
    for (key, value) in [
        ("name", json!("greeter")),
        ("chart", json!("greeter")),
        ("version", json!("0.1.0")),
        ("appVersion", json!("1.0")),
        ("namespace", json!(greeter.ns)),
        ("revision", json!(1)),
        ("status", json!("deployed")),
        ("applyMethod", json!("ssa")),
    ] {
        assert_eq!(metadata[key], value, "helm get metadata: {metadata}");
    }
    for release in [&certs, &greeter] {
        let history = site.history(release);
        let brief: Vec<(u64, &str, &str)> = history.iter().map(|h| (h.0, h.1.as_str(), h.4.as_str())).collect();
        assert_eq!(brief, [(1, "deployed", "Install complete")], "helm history {}: {history:?}", release.name);
    }
    assert_eq!(site.history(&certs)[0].2, "cert-manager-v0.0.0");

    // Values: user-supplied as the spec gave them (its values file, then
    // its inline values); computed, over the chart's values.yaml.
    assert_eq!(site.helm_json(&certs, &["get", "values"]), json!({"crds": {"enabled": true}}));
    assert_eq!(
        site.helm_json(&greeter, &["get", "values"]),
        json!({"replicas": 2, "greeting": "hello-site", "nested": {"a": 5}})
    );
    assert_eq!(
        site.helm_json(&greeter, &["get", "values", "--all"]),
        json!({"greeting": "hello-site", "replicas": 2, "nested": {"a": 5, "b": "two"}, "image": "busybox:1.36"})
    );
    let chart_values: Value =
        serde_saphyr::from_str(&std::fs::read_to_string(site.real.join("cert-manager/values.yaml")).unwrap()).unwrap();
    let computed = site.helm_json(&certs, &["get", "values", "--all"]);
    let expected = merged(chart_values, &json!({"crds": {"enabled": true}}));
    if computed != expected {
        let keys = |v: &Value| v.as_object().map(|o| o.keys().cloned().collect::<BTreeSet<_>>()).unwrap_or_default();
        let (ours, theirs) = (keys(&computed), keys(&expected));
        let differ: Vec<String> = ours
            .union(&theirs)
            .filter(|k| computed.get(*k) != expected.get(*k))
            .map(|k| format!("{k}: helm {} | values.yaml {}", computed[k], expected[k]))
            .collect();
        panic!("helm get values --all of cert-manager against its values.yaml with crds.enabled: {differ:#?}");
    }

    // The manifests: exactly what airlock applied of each chart (it said
    // so, and it is live, marked as the release's); the plain manifests
    // in neither.
    let applied = said(&err, "Applied");
    let plain = site.plain_objects();
    let certs_objects = site.manifest_objects(&certs, 1);
    let greeter_objects = site.manifest_objects(&greeter, 1);
    let ns_object = |ns: &str| ("Namespace".to_string(), None, ns.to_string());
    let mut expected: BTreeSet<Id> = certs_objects.union(&greeter_objects).cloned().collect();
    expected.extend(plain.iter().cloned());
    expected.extend([ns_object(&certs.ns), ns_object(&greeter.ns)]);
    let (missing, extra): (Vec<&Id>, Vec<&Id>) =
        (expected.difference(&applied).collect(), applied.difference(&expected).collect());
    assert!(
        missing.is_empty() && extra.is_empty(),
        "Helm's manifests and the plain objects against what airlock applied: in the manifests, not applied: {missing:?}; applied, in no manifest: {extra:?}"
    );
    let crds = certs_objects.iter().filter(|(kind, _, _)| kind == "CustomResourceDefinition").count();
    assert_eq!(crds, 6, "cert-manager's CRDs (crds.enabled) are in its manifest: {certs_objects:?}");
    assert!(
        certs_objects.iter().any(|(kind, ns, name)| kind == "Role"
            && ns.as_deref() == Some("kube-system")
            && name.ends_with(":leaderelection")),
        "{certs_objects:?}"
    );
    assert_eq!(
        greeter_objects,
        BTreeSet::from(
            [("ConfigMap", "greeter-settings"), ("Deployment", "greeter"), ("Service", "greeter")]
                .map(|(kind, name)| (kind.to_string(), Some(greeter.ns.clone()), name.to_string()))
        )
    );
    assert!(plain.is_disjoint(&certs_objects) && plain.is_disjoint(&greeter_objects));
    for (release, objects) in [(&certs, &certs_objects), (&greeter, &greeter_objects)] {
        let live = site.live(objects);
        let found: BTreeSet<Id> = live.keys().cloned().collect();
        assert_eq!(&found, objects, "the objects of {}'s manifest, live", release.name);
        // Live as the manifest has them: every field it sets, as it sets it.
        for (id, document) in site.manifest_documents(release, 1) {
            let differ = live_differences(&id, &live[&id], document);
            assert!(differ.is_empty(), "{id:?} live, against Helm's manifest: {differ:?}");
        }
        for (id, object) in &live {
            let meta = &object["metadata"];
            // CRDs are shared: another test's cert-manager release marks
            // them as its own when it applies them.
            if id.0 != "CustomResourceDefinition" {
                assert_eq!(meta["annotations"]["meta.helm.sh/release-name"], release.name.as_str(), "{id:?}: {meta}");
                assert_eq!(
                    meta["annotations"]["meta.helm.sh/release-namespace"],
                    release.ns.as_str(),
                    "{id:?}: {meta}"
                );
            }
            assert_eq!(meta["labels"]["app.kubernetes.io/managed-by"], "Helm", "{id:?}: {meta}");
        }
        // Nothing else live is marked as this release's.
        let marked = site.live_of_release(release);
        let extra: Vec<&Id> = marked.difference(objects).collect();
        assert!(extra.is_empty(), "live objects marked as {}'s, not in its manifest: {extra:?}", release.name);
    }
    for (id, object) in site.live(&plain) {
        let meta = &object["metadata"];
        assert!(meta["labels"].get("app.kubernetes.io/managed-by").is_none(), "{id:?}: {meta}");
        assert!(meta["annotations"].get("meta.helm.sh/release-name").is_none(), "{id:?}: {meta}");
        assert_eq!(meta["annotations"]["airlock.dev/release"], site.release.as_str(), "{id:?}: {meta}");
    }
    assert_eq!(
        site.object(&format!("/api/v1/namespaces/{}/configmaps/greeter-settings", greeter.ns)).unwrap()["data"],
        json!({"greeting": "hello-site", "a": "5", "b": "two"})
    );

    // Hooks: cert-manager's post-install ones, as airlock ran them.
    let ran = said(&err, "Ran hook post-install");
    let hooks = site.helm_ok(&["get", "hooks", &certs.name, "-n", &certs.ns]);
    let hook_objects = site.objects_of(&certs, &hooks);
    assert_eq!(hook_objects, ran, "helm get hooks against the hooks airlock ran:\n{err}");
    assert_eq!(ran.len(), 4, "cert-manager's startupapicheck Job, its ServiceAccount, Role and RoleBinding:\n{err}");
    assert!(hook_objects.is_disjoint(&certs_objects), "{hook_objects:?}");
    assert_eq!(site.helm_ok(&["get", "hooks", &greeter.name, "-n", &greeter.ns]), "");

    // Each release Secret against what Helm reads from it.
    let record = record_as_helm_reads_it(&site, &certs, 1, "deployed");
    assert_eq!(record["config"], json!({"crds": {"enabled": true}}));
    let job = record["hooks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["kind"] == "Job")
        .unwrap_or_else(|| panic!("no Job among the hooks: {}", record["hooks"]));
    assert!(job["name"].as_str().unwrap().ends_with("-startupapicheck"), "{job}");
    assert_eq!((&job["events"], &job["weight"]), (&json!(["post-install"]), &json!(1)), "{job}");
    assert_eq!(job["delete_policies"], json!(["before-hook-creation", "hook-succeeded"]), "{job}");
    // Each hook that ran is recorded as Helm records a run.
    for hook in record["hooks"].as_array().unwrap() {
        let run = &hook["last_run"];
        assert_eq!(run["phase"], "Succeeded", "{hook}");
        let (started, completed) = (run["started_at"].as_str().unwrap(), run["completed_at"].as_str().unwrap());
        let at = |t: &str| chrono::DateTime::parse_from_rfc3339(t).unwrap_or_else(|e| panic!("{t}: {e}"));
        assert!(at(started) <= at(completed), "{hook}");
    }
    let record = record_as_helm_reads_it(&site, &greeter, 1, "deployed");
    assert!(record.get("hooks").is_none(), "no hooks: none recorded, as Helm leaves an empty list out");
    assert_eq!(record["info"]["notes"], "greeter says hello-site.\n");
    assert_eq!(
        record["chart"]["metadata"],
        json!({"apiVersion": "v2", "name": "greeter", "version": "0.1.0", "appVersion": "1.0"})
    );

    // Upgrade: the test's chart at 0.2.0 (no Service), a new greeting;
    // cert-manager as it was. Each release: revision 1 superseded, 2 deployed.
    let err = site.airlock_ok(&["upgrade", site.bundle("2.0.0", "0.2.0", "bonjour").to_str().unwrap()]);
    let mut expected = vec![
        row(&certs, "2", "deployed", "cert-manager-v0.0.0", "v0.0.0"),
        row(&greeter, "2", "deployed", "greeter-0.2.0", "2.0"),
    ];
    expected.sort();
    assert_eq!(site.listed(), expected, "helm list -A after the upgrade");
    let history = site.history(&greeter);
    let brief: Vec<(u64, &str, &str, &str)> =
        history.iter().map(|h| (h.0, h.1.as_str(), h.2.as_str(), h.4.as_str())).collect();
    assert_eq!(
        brief,
        [(1, "superseded", "greeter-0.1.0", "Install complete"), (2, "deployed", "greeter-0.2.0", "Upgrade complete")]
    );
    let statuses: Vec<(u64, String)> = site.history(&certs).into_iter().map(|h| (h.0, h.1)).collect();
    assert_eq!(statuses, [(1, "superseded".into()), (2, "deployed".into())]);
    assert_eq!(
        site.helm_json(&greeter, &["get", "values"]),
        json!({"replicas": 2, "greeting": "bonjour", "nested": {"a": 5}})
    );
    assert_eq!(site.helm_json(&greeter, &["get", "values", "--revision", "1"])["greeting"], "hello-site");
    let service = (String::from("Service"), Some(greeter.ns.clone()), String::from("greeter"));
    assert!(said(&err, "Deleted").contains(&service), "the Service 0.2.0 drops:\n{err}");
    let greeter_objects = site.manifest_objects(&greeter, 2);
    assert_eq!(greeter_objects.len(), 2, "{greeter_objects:?}");
    assert!(!greeter_objects.contains(&service) && site.manifest_objects(&greeter, 1).contains(&service));
    assert_eq!(site.manifest_objects(&certs, 2), certs_objects, "cert-manager's manifest is unchanged");
    for (release, objects) in [(&certs, &certs_objects), (&greeter, &greeter_objects)] {
        let live = site.live(objects);
        assert_eq!(&live.keys().cloned().collect::<BTreeSet<Id>>(), objects);
        for (id, document) in site.manifest_documents(release, 2) {
            let differ = live_differences(&id, &live[&id], document);
            assert!(differ.is_empty(), "{id:?} live, against Helm's manifest of revision 2: {differ:?}");
        }
        let is_marked = || {
            let marked = site.live_of_release(release);
            marked.difference(objects).next().is_none()
        };
        assert!(site.plane.eventually(30, is_marked), "{}: {:?}", release.name, site.live_of_release(release));
        assert!(plain.is_disjoint(objects));
    }
    assert_eq!(
        site.object(&format!("/api/v1/namespaces/{}/configmaps/greeter-settings", greeter.ns)).unwrap()["data"]
            ["greeting"],
        "bonjour"
    );
    for (release, revision, status) in
        [(&certs, 1, "superseded"), (&certs, 2, "deployed"), (&greeter, 1, "superseded"), (&greeter, 2, "deployed")]
    {
        let record = record_as_helm_reads_it(&site, release, revision, status);
        let description = if revision == 1 { "Install complete" } else { "Upgrade complete" };
        assert_eq!(record["info"]["description"], description, "{} {revision}", release.name);
    }

    // The site's operator upgrades the chart with Helm, keeping the values
    // airlock gave (`--reuse-values`): Helm reads them from airlock's record.
    let chart = site.dir.path().join("2.0.0/greeter");
    site.helm_ok(&["upgrade", &greeter.name, chart.to_str().unwrap(), "-n", &greeter.ns, "--reuse-values"]);
    let history = site.history(&greeter);
    assert_eq!(history.last().map(|h| (h.0, h.1.as_str())), Some((3, "deployed")), "{history:?}");
    assert_eq!(
        site.helm_json(&greeter, &["get", "values"]),
        json!({"replicas": 2, "greeting": "bonjour", "nested": {"a": 5}}),
        "helm upgrade --reuse-values kept the values airlock gave"
    );
    let settings = format!("/api/v1/namespaces/{}/configmaps/greeter-settings", greeter.ns);
    assert_eq!(site.object(&settings).unwrap()["data"]["greeting"], "bonjour");

    // Uninstall: no release left, nor any release Secret.
    site.airlock_ok(&["uninstall", &site.release]);
    assert_eq!(site.listed(), Vec::<[String; 6]>::new(), "helm list -A after the uninstall");
    for release in [&certs, &greeter] {
        assert_eq!(site.helm_secrets(&release.ns), Vec::<String>::new(), "release Secrets left in {}", release.ns);
        let gone = || site.live_of_release(release).iter().all(|(kind, _, _)| kind == "CustomResourceDefinition");
        assert!(site.plane.eventually(60, gone), "{} left {:?}", release.name, site.live_of_release(release));
        let out = site.helm(&["status", &release.name, "-n", &release.ns]);
        assert!(!out.status.success(), "helm status {} after the uninstall", release.name);
    }
}

/// Deletes the test's namespaces when dropped, a failed assertion's
/// unwinding included (cert-manager's CRDs are shared, and stay).
struct DeleteNamespaces(&'static crate::control_plane::ControlPlane, Vec<String>);

impl Drop for DeleteNamespaces {
    fn drop(&mut self) {
        let mut args = vec!["delete", "namespace", "--wait=false", "--ignore-not-found"];
        args.extend(self.1.iter().map(String::as_str));
        let _ = self.0.kubectl(&args);
    }
}

/// A chart whose image the bundle carries, installed with `--registry`:
/// the Deployment runs the image from the registry, and the manifest of its
/// Helm release must say so, as Helm's manifest is what it applied (a
/// `helm rollback` or `helm upgrade --reuse-values` applies it again).
#[test]
fn a_relocated_image_is_in_the_helm_manifest_as_applied() {
    let Some(helm) = built_helm() else { return };
    let dir = tempfile::tempdir().unwrap();
    let corner = Corner::new(dir.path(), "helmimage");
    let ns = corner.ns.clone();
    let _cleanup = DeleteNamespaces(corner.plane, vec![ns.clone()]);
    let d = dir.path();
    crate::support::demo_image(&d.join("hello"));
    std::fs::create_dir_all(d.join("chart/templates")).unwrap();
    std::fs::write(d.join("chart/Chart.yaml"), "apiVersion: v2\nname: web\nversion: 1.0.0\n").unwrap();
    std::fs::write(
        d.join("chart/templates/deployment.yaml"),
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec:\n      containers: [{name: web, image: \"localhost/hello:1.0.0\"}]\n",
    )
    .unwrap();
    let spec = d.join("airlock.yaml");
    std::fs::write(
        &spec,
        format!(
            "apiVersion: airlock.dev/v1\nkind: Bundle\nmetadata: {{name: {}, version: 1.0.0}}\ncomponents:\n  - name: app\n    images: [\"oci-layout:./hello:1.0.0\"]\n    charts: [{{name: web, path: ./chart, namespace: {ns}, images: explicit}}]\n",
            corner.release
        ),
    )
    .unwrap();
    let airlock = Airlock::new();
    let bundle = d.join("web.airlock");
    airlock.ok(&["create", spec.to_str().unwrap(), "-o", bundle.to_str().unwrap()]);
    let kubeconfig = corner.kubeconfig.to_str().unwrap();
    let install = ["install", bundle.to_str().unwrap(), "--registry", "reg.example:5000/mirror", "--allow-unsigned"];
    airlock.ok(&[&install[..], &["--kubeconfig", kubeconfig]].concat());
    helm_reads_every_release(&helm, &unaudited_kubeconfig(), &ns);

    let live = corner.object(&format!("/apis/apps/v1/namespaces/{ns}/deployments/web")).expect("the Deployment");
    let image = |deployment: &Value| deployment["spec"]["template"]["spec"]["containers"][0]["image"].clone();
    let live_image = image(&live);
    assert!(
        live_image.as_str().is_some_and(|i| i.starts_with("reg.example:5000/mirror/hello:1.0.0@sha256:")),
        "{live_image}"
    );
    let out = helm_command(&helm, &d.join("helm"))
        .args(["get", "manifest", "web", "-n", &ns, "--kubeconfig", kubeconfig])
        .output()
        .unwrap();
    let manifest = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "helm get manifest: {}", String::from_utf8_lossy(&out.stderr));
    let yaml = manifest.split_once("# Source: web/templates/deployment.yaml\n").map(|(_, y)| y).unwrap_or_default();
    let stored: Value = serde_saphyr::from_str(yaml).unwrap_or_else(|e| panic!("{e}:\n{manifest}"));
    let uninstall = airlock.run(&["uninstall", &corner.release, "--kubeconfig", kubeconfig]);
    assert!(uninstall.status.success(), "{}", String::from_utf8_lossy(&uninstall.stderr));
    assert_eq!(
        image(&stored),
        image(&live),
        "helm get manifest web shows another image than the one airlock applied:\n{manifest}"
    );
}
