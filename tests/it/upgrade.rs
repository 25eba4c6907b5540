//! `upgrade` and `rollback --k3s`: files a new version drops are removed
//! (and what K3s leaves in the cluster is reported, or deleted through the
//! node's API: here the real API server of control_plane.rs, with the real
//! helm-controller of k3s_node.rs reconciling the HelmCharts), rollback
//! restores an earlier revision byte for byte (images tarball included), and
//! a crash at any point of an install or upgrade converges when rerun.

use crate::control_plane::unique;
use crate::corner::Corner;
use crate::k3s_node::{deploy, helm_controller, helmchart_gone, MANIFESTS};
use crate::support::*;
use std::path::{Path, PathBuf};

/// Two versions of bundle `site`: 1.1 changes the image and the k3s
/// placeholder, drops chart `db` and the manifest of namespace `ns`, adds
/// chart `cache`. The charts install into `ns`.
struct Versions {
    dir: tempfile::TempDir,
    airlock: Airlock,
    v1: PathBuf,
    v2: PathBuf,
    /// The charts' names (and so their HelmCharts' in kube-system).
    web: String,
    db: String,
    cache: String,
    ns: String,
}

fn chart(d: &Path, name: &str, ns: &str) -> String {
    let dir = d.join(format!("chart-{name}"));
    std::fs::create_dir_all(dir.join("templates")).unwrap();
    std::fs::write(dir.join("Chart.yaml"), format!("apiVersion: v2\nname: {name}\nversion: 0.1.0\n")).unwrap();
    std::fs::write(dir.join("templates/cm.yaml"), "kind: ConfigMap\n").unwrap();
    format!("{{name: {name}, path: ./chart-{name}, namespace: {ns}}}")
}

/// With charts `web`, `db`, `cache` in namespace `apps`: for tests of the
/// node's files only.
fn versions() -> Versions {
    versions_named(["web", "db", "cache", "apps"].map(String::from))
}

/// With names no other test uses, for tests that reach the cluster (the
/// HelmCharts share kube-system with every other test's).
fn cluster_versions() -> Versions {
    let web = unique("web");
    versions_named([web.clone(), unique("db"), unique("cache"), format!("{web}-apps")])
}

fn versions_named([web, db, cache, ns]: [String; 4]) -> Versions {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let airlock = Airlock::new();
    let mut bundles = Vec::new();
    for (version, payload, charts, manifests) in
        [("1.0.0", "v1", [&web, &db], "[ns.yaml]"), ("1.1.0", "v2", [&web, &cache], "[]")]
    {
        let mut layout = LayoutBuilder::new(&d.join(format!("image-{payload}")));
        let image = layout.image("amd64", &[layer(&[("hello", payload.as_bytes(), 0o755)])]);
        layout.tag(&image, "1");
        std::fs::write(d.join(format!("k3s-{payload}")), format!("#!/bin/sh\necho k3s {payload}\n")).unwrap();
        let charts: Vec<String> = charts.iter().map(|c| chart(d, c, &ns)).collect();
        std::fs::write(d.join("ns.yaml"), format!("apiVersion: v1\nkind: Namespace\nmetadata: {{name: {ns}}}\n"))
            .unwrap();
        let spec = d.join(format!("airlock-{payload}.yaml"));
        std::fs::write(
            &spec,
            format!(
                "apiVersion: airlock.dev/v1\nkind: Bundle\nmetadata: {{name: site, version: {version}}}\ncomponents:\n  - name: app\n    images: [\"oci-layout:./image-{payload}:1\"]\n    charts: [{}]\n    manifests: {manifests}\n    files: [{{source: k3s-{payload}, target: /usr/local/bin/k3s, mode: \"0755\"}}]\n",
                charts.join(", ")
            ),
        )
        .unwrap();
        let bundle = d.join(format!("site-{version}.airlock"));
        airlock.ok(&["create", spec.to_str().unwrap(), "-o", bundle.to_str().unwrap()]);
        bundles.push(bundle);
    }
    let v2 = bundles.pop().unwrap();
    let v1 = bundles.pop().unwrap();
    Versions { dir, airlock, v1, v2, web, db, cache, ns }
}

impl Versions {
    /// `airlock VERB BUNDLE --k3s --root ROOT` for an amd64 node, unsigned.
    fn cmd(&self, verb: &str, bundle: &Path, root: &Path) -> std::process::Command {
        let mut cmd = self.airlock.cmd();
        cmd.args([verb, bundle.to_str().unwrap(), "--k3s", "--root", root.to_str().unwrap()]).args([
            "--platform",
            "linux/amd64",
            "--allow-unsigned",
        ]);
        cmd
    }

    fn run(&self, verb: &str, bundle: &Path, root: &Path) -> std::process::Output {
        self.cmd(verb, bundle, root).output().unwrap()
    }

    fn ok(&self, verb: &str, bundle: &Path, root: &Path) -> String {
        let out = self.run(verb, bundle, root);
        assert!(out.status.success(), "{verb}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
    }

    /// `airlock uninstall site --k3s --root ROOT`.
    fn uninstall(&self, root: &Path) -> std::process::Command {
        let mut cmd = self.airlock.cmd();
        cmd.args(["uninstall", "site", "--k3s", "--root", root.to_str().unwrap()]);
        cmd
    }

    fn history(&self, root: &Path) -> Vec<String> {
        let text = self.airlock.ok(&["history", "site", "--k3s", "--root", root.to_str().unwrap()]);
        text.lines().map(str::to_string).collect()
    }

    /// The file airlock writes on the node for this chart's HelmChart.
    fn chart_file(&self, root: &Path, chart: &str) -> PathBuf {
        root.join(MANIFESTS).join(format!("airlock-site-20-chart-{chart}.yaml"))
    }

    /// The API path of this chart's HelmChart.
    fn helmchart(&self, chart: &str) -> String {
        format!("/apis/helm.cattle.io/v1/namespaces/kube-system/helmcharts/{chart}")
    }
}

/// The node's API: the control plane with helm-controller running (so the
/// HelmChart kind is served and HelmCharts are reconciled as in K3s), in a
/// corner of this test's own: its user's kubeconfig, and its DELETE
/// requests (path, status code) as the API server's audit log has them.
fn node_api(dir: &Path) -> Corner {
    helm_controller();
    Corner::new(dir, "k3s-upgrade")
}

/// A snapshot without airlock's own records and store.
fn node_files(
    snapshot: std::collections::BTreeMap<String, (String, u32)>,
) -> std::collections::BTreeMap<String, (String, u32)> {
    snapshot.into_iter().filter(|(path, _)| !path.starts_with("var/lib/airlock/")).collect()
}

fn copy_tree(from: &Path, to: &Path) {
    let status = std::process::Command::new("cp").arg("-a").arg(from).arg(to).status().unwrap();
    assert!(status.success());
}

#[test]
fn upgrade_removes_dropped_files_and_rollback_restores_every_byte() {
    let v = versions();
    let root = v.dir.path().join("node");
    v.ok("install", &v.v1, &root);
    let installed_v1 = snapshot(&root);
    assert!(installed_v1.contains_key(&format!("{MANIFESTS}/airlock-site-20-chart-db.yaml")));
    assert!(installed_v1.contains_key(&format!("{MANIFESTS}/airlock-site-10-app-0.yaml")));

    // A new version is an upgrade, not a second install.
    let out = v.run("install", &v.v2, &root);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("airlock upgrade"), "{err}");
    assert_eq!(snapshot(&root), installed_v1, "a refused install changed files");
    // Nothing to upgrade on an empty node.
    let out = v.run("upgrade", &v.v2, &v.dir.path().join("empty"));
    assert!(String::from_utf8_lossy(&out.stderr).contains("airlock install"));

    let report = v.ok("upgrade", &v.v2, &root);
    let upgraded = snapshot(&root);
    assert!(!upgraded.contains_key(&format!("{MANIFESTS}/airlock-site-20-chart-db.yaml")));
    assert!(!upgraded.contains_key(&format!("{MANIFESTS}/airlock-site-10-app-0.yaml")));
    assert!(upgraded.contains_key(&format!("{MANIFESTS}/airlock-site-20-chart-cache.yaml")));
    assert_eq!(std::fs::read_to_string(root.join("usr/local/bin/k3s")).unwrap(), "#!/bin/sh\necho k3s v2\n");
    let tar = "var/lib/rancher/k3s/agent/images/airlock-site.tar";
    assert_ne!(upgraded[tar], installed_v1[tar], "the images tarball holds the new image");
    // What K3s leaves behind in the cluster is named.
    assert!(report.contains("kubectl delete helmchart.helm.cattle.io db -n kube-system"), "{report}");
    // A namespace is never deleted for you (everything in it would go too).
    assert!(report.contains("Namespace apps (v1) is no longer in the bundle but is left in the cluster"), "{report}");
    let revision: serde_json::Value =
        serde_json::from_slice(&std::fs::read(root.join("var/lib/airlock/site/revision-000002.json")).unwrap())
            .unwrap();
    assert_eq!(revision["pendingDeletions"].as_array().unwrap().len(), 1, "{revision}");
    assert_eq!(v.history(&root).len(), 2);

    // Rollback (default: the revision before) restores 1.0 byte for byte and mode for mode.
    let report = v.airlock.ok(&["rollback", "site", "--k3s", "--root", root.to_str().unwrap()]);
    assert!(report.contains("site 1.0.0: revision 3"), "{report}");
    assert_eq!(snapshot(&root), installed_v1);
    let history = v.history(&root);
    assert_eq!(history.len(), 3);
    assert!(history[2].contains("rollback to 1"), "{history:?}");
    let revision: serde_json::Value =
        serde_json::from_slice(&std::fs::read(root.join("var/lib/airlock/site/revision-000003.json")).unwrap())
            .unwrap();
    // Restored manifests are no longer pending; the chart the rollback dropped is.
    assert_eq!(
        revision["pendingDeletions"],
        serde_json::json!([{"apiVersion": "helm.cattle.io/v1", "kind": "HelmChart", "namespace": "kube-system", "name": "cache"}])
    );

    // And forward again to revision 2.
    v.airlock.ok(&["rollback", "site", "--k3s", "--root", root.to_str().unwrap(), "--to", "2"]);
    assert_eq!(snapshot(&root), upgraded);
    let err = v.airlock.fails(&["rollback", "site", "--k3s", "--root", root.to_str().unwrap(), "--to", "9"]);
    assert!(err.contains("no revision 9"), "{err}");

    // Content of revisions beyond --keep-revisions is dropped, and rolling
    // back to one of them says so without touching anything.
    v.ok("upgrade", &v.v1, &root);
    v.airlock.ok(&["rollback", "site", "--k3s", "--root", root.to_str().unwrap(), "--keep-revisions", "1"]);
    let before = snapshot(&root);
    let err = v.airlock.fails(&["rollback", "site", "--k3s", "--root", root.to_str().unwrap(), "--to", "1"]);
    assert!(err.contains("gone"), "{err}");
    assert_eq!(snapshot(&root), before);
}

/// A dry run of an upgrade on a node names the files it would write,
/// replace and remove, and what it would delete through the node's API,
/// exactly those the real upgrade then changes; it writes nothing.
#[test]
fn a_dry_run_names_the_files_an_upgrade_would_change() {
    let v = versions();
    let root = v.dir.path().join("node");
    v.ok("install", &v.v1, &root);
    let installed = snapshot(&root);
    let state = files_with_state(&root);
    let out = v.cmd("upgrade", &v.v2, &root).args(["--dry-run", "--json"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let said: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(snapshot(&root), installed, "a dry run wrote files");
    assert_eq!(files_with_state(&root), state, "a dry run touched airlock's state");
    assert_eq!(v.history(&root).len(), 1);

    let tar = "var/lib/rancher/k3s/agent/images/airlock-site.tar";
    let chart = |name: &str| format!("{MANIFESTS}/airlock-site-20-chart-{name}.yaml");
    let listed = |key: &str| -> Vec<String> {
        let mut paths: Vec<String> = said[key].as_array().unwrap().iter().map(|p| p.as_str().unwrap().into()).collect();
        paths.sort();
        paths
    };
    assert_eq!((said["dryRun"].clone(), said["revision"].clone()), (true.into(), 2.into()), "{said}");
    assert_eq!(listed("written"), [chart("cache")], "{said}");
    assert_eq!(listed("replaced"), ["usr/local/bin/k3s".to_string(), tar.to_string()], "{said}");
    assert_eq!(listed("removed"), [format!("{MANIFESTS}/airlock-site-10-app-0.yaml"), chart("db")], "{said}");
    let deleted: Vec<&str> = said["toDelete"].as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(deleted, ["db"], "the HelmChart of the dropped chart: {said}");
    assert_eq!(said["leftInCluster"][0]["kind"], "Namespace", "{said}");

    // The upgrade itself changes exactly what the dry run said.
    v.ok("upgrade", &v.v2, &root);
    let upgraded = snapshot(&root);
    let mut changed: Vec<String> = upgraded
        .iter()
        .filter(|(path, content)| installed.get(*path).is_some_and(|before| before != *content))
        .map(|(path, _)| path.clone())
        .collect();
    changed.sort();
    assert_eq!(changed, listed("replaced"));
    let added: Vec<&String> = upgraded.keys().filter(|p| !installed.contains_key(*p)).collect();
    assert_eq!(added, listed("written").iter().collect::<Vec<_>>());
    let gone: Vec<&String> = installed.keys().filter(|p| !upgraded.contains_key(*p)).collect();
    assert_eq!(gone, listed("removed").iter().collect::<Vec<_>>());

    // The text form says the same, one line a file.
    let text = v.ok("upgrade", &v.v1, &root);
    assert!(text.contains("site 1.0.0: revision 3"), "{text}");
    let out = v.cmd("upgrade", &v.v2, &root).arg("--dry-run").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(&format!("+ /{}: written", chart("cache"))), "{text}");
    assert!(text.contains(&format!("- /{}: removed", chart("db"))), "{text}");
    assert!(text.contains("~ /usr/local/bin/k3s: replaced"), "{text}");
    assert!(text.contains("HelmChart kube-system/db (helm.cattle.io/v1): deleted through the node's API"), "{text}");
    assert!(text.contains("dry run: site 1.1.0 would be revision 4"), "{text}");
}

/// Every file under `root`, airlock's state included: path -> bytes.
fn files_with_state(root: &Path) -> std::collections::BTreeMap<PathBuf, Vec<u8>> {
    let mut out = std::collections::BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            match entry.path() {
                path if path.is_dir() => stack.push(path),
                path => {
                    out.insert(path.clone(), std::fs::read(&path).unwrap());
                }
            }
        }
    }
    out
}

#[test]
fn a_file_changed_by_hand_is_not_removed() {
    let v = versions();
    let root = v.dir.path().join("node");
    v.ok("install", &v.v1, &root);
    let ns = root.join(MANIFESTS).join("airlock-site-10-app-0.yaml");
    std::fs::write(&ns, "apiVersion: v1\nkind: Namespace\nmetadata: {name: mine}\n").unwrap();
    let report = v.ok("upgrade", &v.v2, &root);
    assert!(ns.exists(), "a file changed by hand was deleted");
    assert!(report.contains("left in place"), "{report}");
}

/// A crash after any write of an install or an upgrade, then a rerun, gives
/// exactly what an uninterrupted run gives.
#[test]
fn a_crash_at_any_point_converges_on_rerun() {
    let v = versions();
    let clean = v.dir.path().join("clean");
    v.ok("install", &v.v1, &clean);
    let clean_v1 = snapshot(&clean);
    let clean_v1_root = v.dir.path().join("clean-v1");
    copy_tree(&clean, &clean_v1_root);
    v.ok("upgrade", &v.v2, &clean);
    let clean_v2 = snapshot(&clean);
    let clean_history = v.history(&clean);

    // Install 1.0 has 7 writes (file, tarball, manifest, 2 charts, ...);
    // upgrade to 1.1 has writes and removals. Crash after each in turn.
    let mut crashes = 0;
    for (verb, bundle, start, expected) in
        [("install", &v.v1, None, &clean_v1), ("upgrade", &v.v2, Some(&clean_v1_root), &clean_v2)]
    {
        let crashed = crash_at_each_write(
            &v,
            verb,
            start.map(|p| p.as_path()),
            |root| v.cmd(verb, bundle, root),
            |root| {
                assert_eq!(&snapshot(root), expected, "{verb}, rerun in {}", root.display());
                let history: Vec<String> = v.history(root);
                assert_eq!(history.len(), if verb == "install" { 1 } else { 2 });
                if verb == "upgrade" {
                    assert_eq!(history, clean_history);
                }
            },
        );
        assert!(crashed >= 3, "{verb} crashed nowhere");
        crashes += crashed;
    }
    assert!(crashes >= 8, "only {crashes} crash points");
}

/// Runs `command` on a copy of `start` (or an empty root), aborting it
/// after its 1st, 2nd, ... write until it completes; after each abort it
/// is run again, must succeed, and `check` looks at the root. Returns how
/// many aborts there were.
fn crash_at_each_write(
    v: &Versions,
    label: &str,
    start: Option<&Path>,
    command: impl Fn(&Path) -> std::process::Command,
    check: impl Fn(&Path),
) -> usize {
    for after in 1.. {
        let root = v.dir.path().join(format!("crash-{label}-{after}"));
        if let Some(start) = start {
            copy_tree(start, &root);
        }
        let crashed = command(&root).env("AIRLOCK_FAULT_ABORT_AFTER", after.to_string()).output().unwrap();
        if crashed.status.success() {
            // Fewer writes than `after`: every crash point is covered.
            return after - 1;
        }
        let out = command(&root).output().unwrap();
        assert!(out.status.success(), "{label}, rerun after crash {after}: {}", String::from_utf8_lossy(&out.stderr));
        check(&root);
    }
    unreachable!("1.. does not end")
}

/// The same for `uninstall --k3s`: a crash after any removal, then a rerun,
/// gives exactly what an uninterrupted uninstall gives.
#[test]
fn a_crash_during_uninstall_converges_on_rerun() {
    let v = versions();
    let installed = v.dir.path().join("installed");
    v.ok("install", &v.v1, &installed);
    let clean = v.dir.path().join("clean");
    copy_tree(&installed, &clean);
    assert!(v.uninstall(&clean).status().unwrap().success());
    let expected = snapshot(&clean);
    let crashes = crash_at_each_write(
        &v,
        "uninstall",
        Some(&installed),
        |root| v.uninstall(root),
        |root| {
            assert_eq!(snapshot(root), expected, "uninstall, rerun in {}", root.display());
        },
    );
    assert!(crashes >= 4, "only {crashes} crash points");
}

/// `uninstall --k3s`: the files of the newest revision go (the images
/// tarball included), recorded as a revision `uninstall` whose removed
/// manifests' resources are pending deletions; `rollback` brings it back,
/// and a later `install` of another version starts afresh. With the node's
/// API, the pending deletions are done.
#[test]
fn uninstall_removes_the_files_and_can_be_undone() {
    let v = cluster_versions();
    let (web, db, cache) = (&v.web, &v.db, &v.cache);
    let root = v.dir.path().join("node");
    v.ok("install", &v.v1, &root);
    let installed = snapshot(&root);
    let uninstall = |extra: &[&str]| v.uninstall(&root).args(extra).output().unwrap();
    let out = uninstall(&[]);
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("site 1.0.0: uninstalled (") && stdout.contains("revision 2 records it"), "{stdout}");
    // Only airlock's own records and store remain.
    let left = node_files(snapshot(&root));
    assert!(left.is_empty(), "{left:?}");
    assert!(stderr.contains("Removed /usr/local/bin/k3s") && stderr.contains("airlock-site.tar"), "{stderr}");
    // K3s leaves the manifests' resources: no kubeconfig here, so they are named.
    assert!(stderr.contains(&format!("kubectl delete helmchart.helm.cattle.io {db} -n kube-system")), "{stderr}");
    assert!(stderr.contains(&format!("kubectl delete namespace {}", v.ns)), "{stderr}");
    let history = v.airlock.ok(&["history", "site", "--k3s", "--root", root.to_str().unwrap()]);
    assert!(history.lines().nth(1).is_some_and(|l| l.contains("uninstall") && l.contains("0 files")), "{history}");
    // Twice is an error; rollback brings 1.0.0 back byte for byte.
    let again = uninstall(&[]);
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("nothing named `site` is installed"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    let out = v.airlock.run(&["rollback", "site", "--k3s", "--root", root.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(node_files(snapshot(&root)), node_files(installed));
    // After another uninstall, installing a different version is a fresh install.
    assert!(uninstall(&[]).status.success());
    v.ok("install", &v.v2, &root);
    // K3s applies 1.1's HelmCharts (1.0's `db` is not in the cluster).
    let api = node_api(v.dir.path());
    deploy(api.plane, &[v.chart_file(&root, web), v.chart_file(&root, cache)]);
    // With the node's API (the real API server), what K3s leaves is
    // deleted: 1.1's charts, and 1.0's `db`, pending since the first
    // uninstall, which is already gone (404, counted as deleted).
    let out = uninstall(&["--kubeconfig", api.kubeconfig.to_str().unwrap(), "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut deleted = api.deletes_answered();
    deleted.sort();
    assert_eq!(deleted, [(v.helmchart(cache), 200), (v.helmchart(db), 404), (v.helmchart(web), 200)]);
    // `uninstall --json`: the revision recording it, the files removed,
    // and the HelmCharts deleted through the node's API.
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (&report["target"], &report["name"], &report["version"]),
        (&"node".into(), &"site".into(), &"1.1.0".into())
    );
    let history = v.airlock.ok(&["history", "site", "--k3s", "--root", root.to_str().unwrap(), "--json"]);
    let history: serde_json::Value = serde_json::from_str(&history).unwrap();
    let newest = history.as_array().unwrap().last().unwrap();
    assert_eq!((&report["revision"], &newest["action"]), (&newest["revision"], &"uninstall".into()), "{report}");
    assert!(report["removed"].as_array().unwrap().iter().any(|f| f.as_str().unwrap().ends_with("airlock-site.tar")));
    let mut charts: Vec<&str> = report["cleanUp"]["deleted"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            assert_eq!((&r["kind"], &r["namespace"]), (&"HelmChart".into(), &"kube-system".into()), "{r}");
            r["name"].as_str().unwrap()
        })
        .collect();
    charts.sort();
    assert_eq!(charts, [cache, db, web]);
    assert_eq!(report["cleanUp"]["failed"], serde_json::json!([]));
    // helm-controller runs their uninstall Jobs, then lets them go.
    for chart in [web, cache] {
        assert!(
            helmchart_gone(api.plane, &v.helmchart(chart)),
            "HelmChart {chart}: {:?}",
            api.plane.object(&v.helmchart(chart))
        );
    }
    let err = String::from_utf8_lossy(&uninstall(&["--wait"]).stderr).into_owned();
    assert!(err.contains("--wait applies to install, upgrade and rollback"), "{err}");
}

/// What removed manifests created is deleted through the node's API (the
/// real API server, what K3s would have applied from the files seeded with
/// kubectl); when the API cannot be reached, the deletions stay pending, are
/// printed as kubectl commands, and the next run does them. A Namespace (or
/// a CRD) is never deleted.
#[test]
fn upgrade_deletes_what_k3s_leaves_behind() {
    let v = cluster_versions();
    let root = v.dir.path().join("node");
    v.ok("install", &v.v1, &root);
    let api = node_api(v.dir.path());
    let plane = api.plane;
    // What K3s's deploy controller made of 1.0's files.
    let namespace_file = root.join(MANIFESTS).join("airlock-site-10-app-0.yaml");
    deploy(plane, &[namespace_file, v.chart_file(&root, &v.web), v.chart_file(&root, &v.db)]);
    let helmchart = v.helmchart(&v.db);
    let namespace = format!("/api/v1/namespaces/{}", v.ns);
    assert!(plane.object(&helmchart).is_some() && plane.object(&namespace).is_some());

    // The API is down (nothing listens at its port): nothing deleted, everything said.
    let down = plane.kubeconfig_at(v.dir.path(), free_port());
    let upgrade = |kubeconfig: &Path| {
        let out = v.cmd("upgrade", &v.v2, &root).arg("--kubeconfig").arg(kubeconfig).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let err = upgrade(&down);
    assert!(err.contains(&format!("kubectl delete helmchart.helm.cattle.io {} -n kube-system", v.db)), "{err}");
    let left = format!("kubectl delete namespace {}", v.ns);
    assert!(err.contains("left in the cluster") && err.contains(&left), "{err}");
    let pending = |n: u32| -> serde_json::Value {
        let record = root.join(format!("var/lib/airlock/site/revision-{n:06}.json"));
        serde_json::from_slice::<serde_json::Value>(&std::fs::read(record).unwrap()).unwrap()["pendingDeletions"]
            .clone()
    };
    assert_eq!(pending(2).as_array().unwrap().len(), 1);
    assert!(plane.object(&helmchart).is_some());

    // The API is up: the rerun deletes the HelmChart, never the namespace,
    // and records that nothing is pending.
    let err = upgrade(&api.kubeconfig);
    assert!(err.contains(&format!("Deleted HelmChart kube-system/{}", v.db)), "{err}");
    assert_eq!(api.deletes_answered(), [(helmchart.clone(), 200)]);
    assert!(plane.object(&namespace).is_some(), "the namespace was deleted");
    assert!(pending(2).is_null(), "{}", pending(2));
    // helm-controller's uninstall Job runs, then the HelmChart goes.
    assert!(helmchart_gone(plane, &helmchart), "{:?}", plane.object(&helmchart));
    // And a third run has nothing left to delete.
    upgrade(&api.kubeconfig);
    assert_eq!(api.deletes_answered().len(), 1);

    // Leave nothing behind: what airlock rightly left, the operator deletes.
    plane.kubectl_ok(&["delete", "helmchart", &v.web, "-n", "kube-system", "--wait=false"]);
    plane.kubectl_ok(&["delete", "namespace", &v.ns, "--wait=false"]);
}

/// Against a real cluster: the one AIRLOCK_E2E_KUBECONFIG names when set,
/// else the test control plane. A ConfigMap made by a manifest of 1.0 is
/// gone after the upgrade to 1.1 drops that manifest.
#[test]
fn upgrade_deletes_from_a_real_cluster() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // (kubeconfig, the corner whose user airlock runs as on the test control plane)
    let (kubeconfig, audited) = match std::env::var_os("AIRLOCK_E2E_KUBECONFIG") {
        Some(kubeconfig) => (PathBuf::from(kubeconfig), None),
        None => {
            let corner = Corner::new(d, "k3s-e2e");
            (corner.kubeconfig.clone(), Some(corner))
        }
    };
    let tools_kubectl = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/tools/bin/kubectl");
    let kubectl = if tools_kubectl.exists() {
        tools_kubectl
    } else {
        venv_kubectl().expect("kubectl: run scripts/build-tools.sh kubernetes")
    };
    let name = unique("airlock-e2e");
    let airlock = Airlock::new();
    let mut bundles = Vec::new();
    for (version, manifests) in [("1.0.0", "[cm.yaml]"), ("1.1.0", "[]")] {
        std::fs::write(
            d.join("cm.yaml"),
            format!("apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {name}, namespace: default}}\n"),
        )
        .unwrap();
        std::fs::write(d.join("f"), version).unwrap();
        let spec = d.join(format!("{version}.yaml"));
        std::fs::write(&spec, format!("apiVersion: airlock.dev/v1\nkind: Bundle\nmetadata: {{name: e2e, version: {version}}}\ncomponents:\n  - name: a\n    manifests: {manifests}\n    files: [{{source: f, target: /etc/e2e}}]\n")).unwrap();
        let bundle = d.join(format!("{version}.airlock"));
        airlock.ok(&["create", spec.to_str().unwrap(), "-o", bundle.to_str().unwrap()]);
        bundles.push(bundle);
    }
    let root = d.join("node");
    let kube = |args: &[&str]| {
        std::process::Command::new(&kubectl).arg("--kubeconfig").arg(&kubeconfig).args(args).output().unwrap()
    };
    // What K3s would apply from 1.0's manifest.
    let out =
        kube(&["apply", "--server-side", "--field-manager=k3s-deploy", "-f", d.join("cm.yaml").to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    for (verb, bundle) in [("install", &bundles[0]), ("upgrade", &bundles[1])] {
        airlock.ok(&[
            verb,
            bundle.to_str().unwrap(),
            "--k3s",
            "--root",
            root.to_str().unwrap(),
            "--allow-unsigned",
            "--kubeconfig",
            kubeconfig.to_str().unwrap(),
        ]);
    }
    let out = kube(&["get", "configmap", &name, "-n", "default"]);
    assert!(!out.status.success(), "the ConfigMap is still there");
    if let Some(corner) = audited {
        assert_eq!(corner.deletes_answered(), [(format!("/api/v1/namespaces/default/configmaps/{name}"), 200)]);
    }
}
