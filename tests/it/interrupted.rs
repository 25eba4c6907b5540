//! Issue 21: runs into a cluster cut short. airlock killed by its PID in
//! the middle of an upgrade (while a post-upgrade hook that can never run
//! keeps it waiting) leaves its lease, Helm's `pending-upgrade` revision
//! and its own unfinished record: a second run is refused while the lease
//! holds, and the next run once it is gone finishes going back, so the
//! cluster is object for object what the previous revision made. Against
//! the control plane of control_plane.rs, with the real Helm v4 CLI where
//! it is built.

use crate::corner::Corner;
use crate::support::{built_helm, helm_command, Airlock};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::Output;
use std::time::Duration;

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

/// Version 1: ConfigMap `settings` {v: 1} and Service `web` on port 80.
fn v1() -> Vec<(&'static str, String)> {
    vec![("cm.yaml", settings("1")), ("svc.yaml", service(80))]
}

/// Version `version`: `settings` changed, a ConfigMap `extra` added, the
/// Service on port 81, and a post-upgrade hook Job whose pod can run on
/// no node, so the run waits for it until killed.
fn stuck(version: &str) -> Vec<(&'static str, String)> {
    let hook = "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: slow\n  annotations: {\"helm.sh/hook\": post-upgrade}\nspec: {backoffLimit: 0, template: {spec: {restartPolicy: Never, nodeSelector: {kubernetes.io/arch: s390x}, containers: [{name: s, image: \"busybox:1\"}]}}}\n";
    vec![
        ("cm.yaml", settings(version)),
        ("extra.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: extra}\ndata: {a: b}\n".into()),
        ("svc.yaml", service(81)),
        ("hook.yaml", hook.into()),
    ]
}

fn settings(v: &str) -> String {
    format!("apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: settings}}\ndata: {{v: '{v}'}}\n")
}

fn service(port: u16) -> String {
    format!("apiVersion: v1\nkind: Service\nmetadata: {{name: web}}\nspec: {{selector: {{app: web}}, ports: [{{port: {port}}}]}}\n")
}

impl Site {
    fn new(prefix: &str) -> Site {
        let dir = tempfile::tempdir().unwrap();
        Site { corner: Corner::new(dir.path(), prefix), dir, airlock: Airlock::new() }
    }

    /// A bundle of one chart `app` at `version` into the site's namespace.
    fn bundle(&self, version: &str, templates: &[(&str, String)]) -> PathBuf {
        let templates: Vec<(&str, &str)> = templates.iter().map(|(name, text)| (*name, text.as_str())).collect();
        self.corner.one_chart_bundle(&self.airlock, self.dir.path(), version, &templates)
    }

    fn args(&self, args: &[&str]) -> Vec<String> {
        let mut all: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        all.extend(["--kubeconfig".into(), self.kubeconfig.to_str().unwrap().into()]);
        if matches!(args[0], "install" | "upgrade") {
            all.push("--allow-unsigned".into());
        }
        all
    }

    fn run(&self, args: &[&str]) -> Output {
        self.airlock.cmd().args(self.args(args)).output().unwrap()
    }

    /// stderr of a command that must succeed.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "airlock {args:?} failed:\n{err}");
        err
    }

    fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(1), "airlock {args:?} should have failed:\n{err}");
        err
    }

    /// Starts `airlock upgrade BUNDLE` and kills it by its PID once the
    /// run waits for its post-upgrade hook (every object applied);
    /// returns the PID it had.
    fn upgrade_killed_at_its_hook(&self, bundle: &std::path::Path) -> u32 {
        let mut child = self.upgrade_started(bundle, &self.kubeconfig, std::process::Stdio::null());
        let pid = child.id();
        self.wait_for_its_hook();
        child.kill().unwrap();
        child.wait().unwrap();
        pid
    }

    /// `airlock upgrade BUNDLE` started against the cluster of `kubeconfig`.
    fn upgrade_started(
        &self,
        bundle: &std::path::Path,
        kubeconfig: &std::path::Path,
        stderr: std::process::Stdio,
    ) -> std::process::Child {
        let mut args = vec!["upgrade", bundle.to_str().unwrap(), "--timeout", "120s", "--allow-unsigned"];
        args.extend(["--kubeconfig", kubeconfig.to_str().unwrap()]);
        self.airlock.cmd().args(args).stdout(std::process::Stdio::null()).stderr(stderr).spawn().unwrap()
    }

    /// Waits until a new post-upgrade hook Job `slow` is made: the run
    /// applied every object and waits for it.
    fn wait_for_its_hook(&self) {
        let job = format!("/apis/batch/v1/namespaces/{}/jobs/slow", self.ns);
        // The hook Job of an earlier run is left (Helm's default policy
        // deletes it before the next is made): this run's is a new one.
        let uid = |job: Option<Value>| job.map(|j| j["metadata"]["uid"].clone());
        let earlier = uid(self.object(&job));
        let waiting =
            self.plane.eventually(90, || uid(self.object(&job)).is_some_and(|now| Some(&now) != earlier.as_ref()));
        assert!(waiting, "the upgrade never reached its post-upgrade hook");
    }

    /// The ConfigMaps and Services of the namespace, object for object
    /// (`Corner::snapshot`).
    fn objects(&self) -> Vec<Value> {
        self.corner.snapshot("configmaps,services")
    }

    /// `helm history app`: (revision, status, description), when helm is built.
    fn helm_history(&self) -> Option<Vec<(u64, String, String)>> {
        let helm = built_helm()?;
        let out = helm_command(&helm, &self.dir.path().join("helm"))
            .args(["history", "app", "-o", "json", "--namespace", &self.ns, "--kubeconfig"])
            .arg(&self.kubeconfig)
            .output()
            .unwrap();
        assert!(out.status.success(), "helm history: {}", String::from_utf8_lossy(&out.stderr));
        let history: Value = serde_json::from_slice(&out.stdout).unwrap();
        Some(
            history
                .as_array()
                .unwrap()
                .iter()
                .map(|e| {
                    let text = |k: &str| e[k].as_str().unwrap_or_default().to_string();
                    (e["revision"].as_u64().unwrap(), text("status"), text("description"))
                })
                .collect(),
        )
    }

    fn lease(&self) -> Option<Value> {
        self.object(&format!("/apis/coordination.k8s.io/v1/namespaces/airlock-system/leases/airlock.{}", self.release))
    }
}

/// Killed mid-upgrade: the lease refuses a second run while it holds (its
/// holder named with the killed PID); with the lease gone, `airlock
/// rollback` goes where the killed run would have gone back to, leaving
/// the cluster as revision 1 made it, and Helm's history shows the
/// interrupted revision failed. Killed again, the next upgrade goes back
/// first, says so, then upgrades.
#[test]
fn a_killed_upgrade_is_finished_by_the_next_run() {
    let site = Site::new("killed");
    site.ok(&["install", site.bundle("1.0.0", &v1()).to_str().unwrap()]);
    let before = site.objects();
    assert_eq!(before.len(), 2, "{before:?}");

    let pid = site.upgrade_killed_at_its_hook(&site.bundle("2.0.0", &stuck("2")));
    let extra = format!("/api/v1/namespaces/{}/configmaps/extra", site.ns);
    assert!(site.object(&extra).is_some(), "version 2's objects were applied before the hook");
    if let Some(history) = site.helm_history() {
        assert_eq!(history.last().map(|(r, s, _)| (*r, s.as_str())), Some((2, "pending-upgrade")), "{history:?}");
    }
    let out = site.run(&["history", &site.release]);
    let history = String::from_utf8_lossy(&out.stdout);
    assert!(history.lines().nth(1).is_some_and(|l| l.contains("did not finish")), "{history}");

    // Its lease still holds: a second run is refused, naming the holder.
    let lease = site.lease().expect("the killed run's lease is left");
    assert!(lease["spec"]["holderIdentity"].as_str().unwrap().contains(&format!("(pid {pid})")), "{lease}");
    let err = site.fails(&["rollback", &site.release]);
    assert!(err.contains("is being changed by airlock on") && err.contains(&format!("(pid {pid})")), "{err}");
    assert!(err.contains(&format!("kubectl -n airlock-system delete lease airlock.{}", site.release)), "{err}");
    assert!(site.object(&extra).is_some(), "a refused run changes nothing");

    // Gone (as the hint says to do when sure): rollback finishes it.
    site.plane.kubectl_ok(&["-n", "airlock-system", "delete", "lease", &format!("airlock.{}", site.release)]);
    site.ok(&["rollback", &site.release]);
    assert_eq!(site.objects(), before, "the cluster is revision 1's again, object for object");
    assert!(site.lease().is_none(), "a run gives its lease up");
    if let Some(history) = site.helm_history() {
        let brief: Vec<(u64, &str)> = history.iter().map(|(r, s, _)| (*r, s.as_str())).collect();
        assert_eq!(brief, [(1, "superseded"), (2, "failed"), (3, "deployed")], "{history:?}");
        assert!(history[1].2.contains("interrupted"), "{history:?}");
        assert_eq!(history[2].2, "Rollback to 1", "{history:?}");
    }

    // Killed again; its lease left to expire (30 s), the next upgrade
    // goes back first, and says so.
    site.upgrade_killed_at_its_hook(&site.bundle("2.0.1", &stuck("2.1")));
    std::thread::sleep(Duration::from_secs(31));
    let v3 = site.bundle("3.0.0", &[("cm.yaml", settings("3")), ("svc.yaml", service(80))]);
    let err = site.ok(&["upgrade", v3.to_str().unwrap()]);
    assert!(
        err.contains("2.0.1 (revision 4) had failed or been interrupted")
            && err.contains("returned it to revision 3 (as revision 5) first"),
        "{err}"
    );
    let settings = site.object(&format!("/api/v1/namespaces/{}/configmaps/settings", site.ns)).unwrap();
    assert_eq!(settings["data"], json!({"v": "3"}));
    assert!(site.object(&extra).is_none(), "the interrupted version's ConfigMap is gone");
    if let Some(history) = site.helm_history() {
        let statuses: Vec<&str> = history.iter().map(|(_, s, _)| s.as_str()).collect();
        assert_eq!(statuses, ["superseded", "failed", "superseded", "failed", "superseded", "deployed"], "{history:?}");
    }
    site.ok(&["uninstall", &site.release]);
    site.plane.kubectl_ok(&["delete", "namespace", &site.ns, "--wait=false"]);
}

/// The API server airlock talks to killed by its PID in the middle of an
/// upgrade (a second kube-apiserver on the shared etcd, see
/// control_plane.rs, so the other tests keep theirs): airlock cannot go
/// back and says what the next run does; with the server started again
/// (and the cut run's lease lapsed), `airlock rollback` finishes it: the
/// cluster is revision 1's again, object for object, and Helm shows the
/// cut revision failed.
#[test]
fn an_upgrade_that_loses_its_api_server_is_finished_by_the_next_run() {
    let site = Site::new("apikilled");
    let mut server = site.plane.second_api_server(site.dir.path());
    site.ok(&["install", site.bundle("1.0.0", &v1()).to_str().unwrap()]);
    let before = site.objects();

    let stuck = site.bundle("2.0.0", &stuck("2"));
    let child = site.upgrade_started(&stuck, &server.kubeconfig, std::process::Stdio::piped());
    site.wait_for_its_hook();
    server.kill();
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("going back failed too") && err.contains("cannot reach the cluster"), "{err}");
    let next =
        format!("the next `airlock install`, `upgrade` or `rollback` of {} returns to revision 1 first", site.release);
    assert!(err.contains(&next), "{err}");
    assert!(site.objects() != before, "version 2 was applied when the server went away");

    server.start();
    // The cut run could not give its lease up: it lapses 30 s after its
    // last renewal.
    std::thread::sleep(Duration::from_secs(31));
    let rollback = ["rollback", &site.release, "--kubeconfig", server.kubeconfig.to_str().unwrap()];
    let out = site.airlock.cmd().args(rollback).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(site.objects(), before, "the cluster is revision 1's again, object for object");
    if let Some(history) = site.helm_history() {
        let brief: Vec<(u64, &str)> = history.iter().map(|(r, s, _)| (*r, s.as_str())).collect();
        assert_eq!(brief, [(1, "superseded"), (2, "failed"), (3, "deployed")], "{history:?}");
    }
    site.ok(&["uninstall", &site.release]);
    site.plane.kubectl_ok(&["delete", "namespace", &site.ns, "--wait=false"]);
}
