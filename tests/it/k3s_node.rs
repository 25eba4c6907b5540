//! The K3s side of the node the K3s tests (k3s_cluster.rs, upgrade.rs)
//! simulate against the control plane of control_plane.rs: where K3s reads
//! manifests, K3s's deploy step (`deploy`), and the real helm-controller
//! (github.com/k3s-io/helm-controller, the controller K3s embeds, built
//! from its Go module by `scripts/build-tools.sh helm-controller`).
//!
//! helm-controller runs once per test run, on loopback (it opens no port
//! of its own: the pprof server is off without `--debug`), with no proxy
//! settings (which it would copy into its Jobs) and a client certificate of
//! its own (so its requests stay out of the audit log the tests read). It
//! watches HelmCharts in every namespace, as in K3s; tests name their
//! charts (HelmChart names in kube-system) uniquely.

use crate::control_plane::{control_plane, repo, start_for_the_run, ControlPlane};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Where K3s reads manifests on a node (and so where airlock must put
/// them): stated here on K3s's side, not taken from airlock's own
/// `destination::k3s::layout::MANIFESTS_DIR`, so that a wrong path there fails.
pub const MANIFESTS: &str = "var/lib/rancher/k3s/server/manifests";
const CHART_CRD: &str = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/helmcharts.helm.cattle.io";

/// The helm-controller of this test run.
pub struct HelmController {
    /// Its process; SIGTERM reaches this PID when the test process ends
    /// (`setpriv --pdeathsig`, tied to a thread that lives as long).
    pub pid: u32,
    pub log: PathBuf,
}

/// helm-controller, started on first use against the control plane; once
/// this returns, the HelmChart kind is served and every HelmChart is
/// reconciled.
pub fn helm_controller() -> &'static HelmController {
    static CONTROLLER: OnceLock<HelmController> = OnceLock::new();
    CONTROLLER.get_or_init(start_helm_controller)
}

fn start_helm_controller() -> HelmController {
    let plane = control_plane();
    let bin = repo().join("target/tools/bin/helm-controller");
    assert!(bin.exists(), "helm-controller is not built: run scripts/build-tools.sh helm-controller (about 2 minutes)");
    // cluster.sh made it a client certificate and kubeconfig of its own.
    let dir = plane.kubeconfig.parent().expect("cluster.sh's directory").to_path_buf();
    let kubeconfig = dir.join("helm-controller.kubeconfig");
    let log = dir.join("logs/helm-controller.log");
    let out = std::fs::File::create(&log).unwrap();
    let tied = start_for_the_run(&bin, move |command| {
        command.arg("--kubeconfig").arg(&kubeconfig);
        for var in ["KUBECONFIG", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"] {
            command.env_remove(var).env_remove(var.to_lowercase());
        }
        command.stdout(out.try_clone().unwrap()).stderr(out);
    });
    let pid = tied.unwrap_or_else(|e| panic!("{e}")).pid;
    let started = plane.eventually(120, || {
        assert!(
            Path::new(&format!("/proc/{pid}")).exists(),
            "helm-controller exited: {}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        text.contains("All controllers have been started")
            && plane.object(CHART_CRD).is_some_and(|crd| condition(&crd, "Established") == Some("True"))
    });
    assert!(started, "helm-controller did not start within 120 s: {}", std::fs::read_to_string(&log).unwrap());
    HelmController { pid, log }
}

/// The last lines of helm-controller's log.
pub fn log_tail() -> String {
    let text = std::fs::read_to_string(&helm_controller().log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

/// The status of an object's condition of this type.
pub fn condition<'a>(object: &'a Value, kind: &str) -> Option<&'a str> {
    object["status"]["conditions"].as_array()?.iter().find(|c| c["type"] == kind)?["status"].as_str()
}

/// Applies manifest files as K3s's deploy controller does when they appear
/// or change in `server/manifests/`: here a server-side apply with strict
/// field validation, so a field the kind's schema lacks is refused.
pub fn deploy(plane: &ControlPlane, files: &[PathBuf]) {
    for file in files {
        plane.kubectl_ok(&[
            "apply",
            "--server-side",
            "--validate=strict",
            "--field-manager=k3s-deploy",
            "-f",
            file.to_str().unwrap(),
        ]);
    }
}

/// Waits (bounded) until helm-controller has run the uninstall Job of the
/// (deleted) HelmChart at `path` and let it go.
pub fn helmchart_gone(plane: &ControlPlane, path: &str) -> bool {
    plane.eventually(120, || plane.object(path).is_none())
}
