//! A second API server on the run's etcd (control_plane.rs, `ApiServer`):
//! it serves the same cluster as the shared one, and a test can kill it by
//! its PID and start it again on the same port, the shared server and its
//! `kubernetes` Service untouched.

use crate::control_plane::{control_plane, repo, unique, ApiServer};
use std::process::{Command, Output};
use std::time::Instant;

/// kubectl through `server` (not the shared API server).
fn kubectl_via(server: &ApiServer, args: &[&str]) -> Output {
    Command::new(repo().join("target/tools/bin/kubectl"))
        .arg("--kubeconfig")
        .arg(&server.kubeconfig)
        .arg("--request-timeout=10s")
        .args(args)
        .output()
        .expect("kubectl runs")
}

fn kubectl_via_ok(server: &ApiServer, args: &[&str]) -> String {
    let out = kubectl_via(server, args);
    assert!(out.status.success(), "kubectl {args:?} via the second server: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn a_second_api_server_serves_the_cluster_and_can_be_killed_and_started_again() {
    let plane = control_plane();
    let dir = tempfile::tempdir().unwrap();
    let ns = unique("second-apiserver");
    let config_map = format!("/api/v1/namespaces/{ns}/configmaps/made-via-second");
    let kubernetes_service = || {
        let service = plane.object("/api/v1/namespaces/default/services/kubernetes").expect("the kubernetes Service");
        service["spec"].clone()
    };
    let service_before = kubernetes_service();
    // The API servers' identity leases: each object and who holds it.
    let identity_leases = || {
        let mut leases: Vec<(String, String, String)> = plane
            .object("/apis/coordination.k8s.io/v1/namespaces/kube-system/leases")
            .expect("kube-system's leases")["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|l| l["metadata"]["name"].as_str().unwrap().starts_with("apiserver-"))
            .map(|l| {
                let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_string();
                (text(&l["metadata"]["name"]), text(&l["metadata"]["uid"]), text(&l["spec"]["holderIdentity"]))
            })
            .collect();
        leases.sort();
        leases
    };
    let leases_before = identity_leases();
    assert!(!leases_before.is_empty(), "the shared server holds an identity lease");

    let took = Instant::now();
    let mut server = plane.second_api_server(dir.path());
    eprintln!("the second API server (port {}) was ready in {:?}", server.port, took.elapsed());
    let shared_server =
        plane.kubectl_ok(&["config", "view", "--minify", "-o", "jsonpath={.clusters[0].cluster.server}"]);
    let server_url =
        kubectl_via_ok(&server, &["config", "view", "--minify", "-o", "jsonpath={.clusters[0].cluster.server}"]);
    assert_eq!(server_url, format!("https://127.0.0.1:{}", server.port));
    assert_ne!(server_url, shared_server, "the second server has a port of its own");

    // Written through the second server, read through the shared one.
    kubectl_via_ok(&server, &["create", "namespace", &ns]);
    kubectl_via_ok(
        &server,
        &["create", "configmap", "made-via-second", "-n", &ns, "--from-literal=written=via-second"],
    );
    let seen = plane.object(&config_map).expect("the shared server sees the ConfigMap the second one made");
    assert_eq!(seen["data"]["written"], "via-second");

    // Killed: the second server no longer answers; the shared one does.
    let pid = server.pid();
    let took = Instant::now();
    server.kill();
    eprintln!("the second API server was killed in {:?}", took.elapsed());
    // (Its PID is reaped: another process may have it by now, not another API server.)
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    assert!(
        !String::from_utf8_lossy(&cmdline).contains("kube-apiserver"),
        "the second API server (PID {pid}) still runs"
    );
    let out = kubectl_via(&server, &["get", "configmap", "made-via-second", "-n", &ns]);
    assert!(!out.status.success(), "kubectl through a killed API server: {}", String::from_utf8_lossy(&out.stdout));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("connection refused"), "kubectl through a killed API server: {err}");
    assert!(plane.object(&config_map).is_some(), "the shared server still answers");

    // Started again, on the same port, as another process.
    let port = server.port;
    let took = Instant::now();
    server.start();
    eprintln!("the second API server was ready again in {:?}", took.elapsed());
    assert_ne!(server.pid(), pid, "a new process");
    let cmdline = std::fs::read(format!("/proc/{}/cmdline", server.pid())).unwrap_or_default();
    let args: Vec<String> = cmdline.split(|b| *b == 0).map(|a| String::from_utf8_lossy(a).into_owned()).collect();
    assert!(args.contains(&format!("--secure-port={port}")), "the same port: {args:?}");
    let written =
        kubectl_via_ok(&server, &["get", "configmap", "made-via-second", "-n", &ns, "-o", "jsonpath={.data.written}"]);
    assert_eq!(written, "via-second");

    // The shared `kubernetes` Service is as it was (its target port the
    // shared server's), and so is the shared server's identity lease (an
    // API server writes its own within a second of its start, long before
    // this: left on, the second server's would replace it).
    assert_eq!(kubernetes_service(), service_before, "the second server changed the kubernetes Service");
    assert_eq!(identity_leases(), leases_before, "the second server changed the API servers' identity leases");

    drop(server);
    plane.kubectl_ok(&["delete", "namespace", &ns, "--wait=false"]);
}
