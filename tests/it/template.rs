//! `airlock template` against real Helm (helm-python-sdk in the project
//! venv) on the real charts in shared/testdata and our corner-case chart,
//! plus the errors a chart author sees.

use crate::support::{real_charts, Airlock};
use std::path::Path;
use std::process::Command;

fn venv_python() -> Option<std::path::PathBuf> {
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/venv/bin/python");
    let ok = python.exists()
        && Command::new(&python).args(["-c", "import helm_python, yaml"]).status().is_ok_and(|s| s.success());
    if ok {
        Some(python)
    } else if std::env::var_os("CI").is_some() {
        panic!("helm-python-sdk is missing from target/venv; run scripts/install-deps.sh")
    } else {
        eprintln!("skipping: helm-python-sdk missing from target/venv (run scripts/install-deps.sh)");
        None
    }
}

#[test]
fn every_document_renders_as_helm_renders_it() {
    let Some(python) = venv_python() else { return };
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(python)
        .arg(root.join("scripts/helm_conformance.py"))
        .arg(env!("CARGO_BIN_EXE_airlock"))
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&out.stdout);
    eprintln!("{report}{}", String::from_utf8_lossy(&out.stderr));
    let mut checked = Vec::new();
    for line in report.lines().filter(|l| l.contains(" documents identical")) {
        let (name, counts) = line.split_once(": ").unwrap();
        let numbers: Vec<u32> = counts.split_whitespace().filter_map(|w| w.parse().ok()).collect();
        assert_eq!(numbers.len(), 2, "{line}");
        assert!(numbers[1] > 0, "{name} rendered nothing to compare");
        assert_eq!(numbers[0], numbers[1], "{line}");
        checked.push(name.to_string());
    }
    for wanted in
        ["traefik (defaults)", "redis (defaults)", "cert-manager (defaults)", "corners (defaults)", "redis (sentinel)"]
    {
        assert!(checked.iter().any(|c| c == wanted), "{wanted} was not checked: {checked:?}");
    }
    assert!(out.status.success(), "conformance script failed");
}

#[test]
fn values_files_and_set_flags_layer_as_in_helm() {
    let airlock = Airlock::new();
    let dir = tempfile::tempdir().unwrap();
    let values = dir.path().join("more.yaml");
    std::fs::write(&values, "replicas: 5\nlabels: {a: from-file}\n").unwrap();
    let chart = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/charts/corners");
    let out = airlock.run(&[
        "template",
        chart.to_str().unwrap(),
        "--json",
        "-f",
        values.to_str().unwrap(),
        "--set",
        "labels.b=from-set,big=7",
        "--set-string",
        "replicas=9",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let rendered: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let cm = rendered["corners/templates/configmap.yaml"].as_str().unwrap();
    // --set-string wins over the file, and stays a string (add still counts).
    assert!(cm.contains("numbers: \"9 7 0.25 10 "), "{cm}");
    assert!(cm.contains("a=from-file root=") && cm.contains("b=from-set root="), "{cm}");
}

#[test]
fn template_errors_name_the_file_line_and_column() {
    let airlock = Airlock::new();
    let dir = tempfile::tempdir().unwrap();
    let chart = dir.path().join("broken");
    std::fs::create_dir_all(chart.join("templates")).unwrap();
    std::fs::write(chart.join("Chart.yaml"), "apiVersion: v2\nname: broken\nversion: 0.1.0\n").unwrap();
    std::fs::write(chart.join("templates/ok.yaml"), "a: {{ .Values.x.y }}\n").unwrap();
    let out = airlock.run(&["template", chart.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("broken/templates/ok.yaml:1:13") && err.contains("nil pointer evaluating interface {}.y"),
        "{err}"
    );

    std::fs::write(chart.join("templates/ok.yaml"), "a: {{ if .Values.x }}\n").unwrap();
    let out = airlock.run(&["template", chart.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("broken/templates/ok.yaml") && err.contains("without {{end}}"), "{err}");

    std::fs::write(chart.join("templates/ok.yaml"), "a: {{ nosuchfunc 1 }}\n").unwrap();
    let out = airlock.run(&["template", chart.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("function \"nosuchfunc\" not defined"), "{err}");

    std::fs::write(chart.join("Chart.yaml"), "apiVersion: v2\nname: broken\nversion: 0.1.0\nkubeVersion: '<1.20.0'\n")
        .unwrap();
    std::fs::write(chart.join("templates/ok.yaml"), "a: 1\n").unwrap();
    let out = airlock.run(&["template", chart.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("requires kubeVersion <1.20.0") && err.contains("--kube-version"), "{err}");
    let out = airlock.run(&["template", chart.to_str().unwrap(), "--kube-version", "1.19"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    std::fs::write(
        chart.join("Chart.yaml"),
        "apiVersion: v2\nname: broken\nversion: 0.1.0\ndependencies: [{name: db, version: 1.x, repository: 'https://charts.example.com'}]\n",
    )
    .unwrap();
    let out = airlock.run(&["template", chart.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("dependency db (1.x from https://charts.example.com) is in Chart.yaml but not in charts/"),
        "{err}"
    );
}

#[test]
fn generated_certificates_form_a_chain_openssl_accepts() {
    let Some(real) = real_charts() else { return };
    let work = tempfile::tempdir().unwrap();
    let redis = work.path().join("redis");
    crate::support::run_ok(Command::new("cp").arg("-r").arg(real.join("redis")).arg(work.path()));
    std::fs::create_dir_all(redis.join("charts")).unwrap();
    crate::support::run_ok(Command::new("cp").arg("-r").arg(real.join("common")).arg(redis.join("charts")));
    let airlock = Airlock::new();
    let out = airlock.run(&[
        "template",
        redis.to_str().unwrap(),
        "--json",
        "--set",
        "tls.enabled=true,tls.autoGenerated=true",
        "--namespace",
        "cache",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let rendered: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let secret = rendered["redis/templates/tls-secret.yaml"].as_str().unwrap();
    let field = |name: &str| {
        let line = secret.lines().find(|l| l.trim_start().starts_with(&format!("{name}:"))).unwrap();
        let b64 = line.split_once(':').unwrap().1.trim().trim_matches('"');
        use base64::Engine as _;
        let pem = base64::engine::general_purpose::STANDARD.decode(b64).unwrap();
        let path = work.path().join(name);
        std::fs::write(&path, pem).unwrap();
        path
    };
    let (ca, cert, key) = (field("ca.crt"), field("tls.crt"), field("tls.key"));
    let verify = crate::support::run_ok(Command::new("openssl").arg("verify").arg("-CAfile").arg(&ca).arg(&cert));
    assert!(String::from_utf8_lossy(&verify.stdout).contains(": OK"));
    let text = crate::support::run_ok(Command::new("openssl").args(["x509", "-noout", "-text", "-in"]).arg(&cert));
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("DNS:release-name-redis-master.cache.svc.cluster.local"), "{text}");
    // The key is the certificate's.
    let pubkey =
        |args: &[&str], path: &Path| crate::support::run_ok(Command::new("openssl").args(args).arg(path)).stdout;
    assert_eq!(pubkey(&["x509", "-noout", "-pubkey", "-in"], &cert), pubkey(&["pkey", "-pubout", "-in"], &key));
}
