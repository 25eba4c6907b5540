//! Values files as Helm v4 reads them, through `airlock template`: a
//! chart's values.yaml with long blocks of commented-out YAML (more than
//! the parser buffers when it keeps comments), and `-f` files of several
//! YAML documents, each layered over the ones before (empty documents and
//! null ones adding nothing). Checked against fixed expectations, and text
//! for text against the real `helm template` (Helm v4.3.2, built by
//! `scripts/build-tools.sh` into target/tools/bin) when it is there.

use crate::support::{built_helm, Airlock};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The chart and `-f` files of tests/conformance/values-comments.
fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance/values-comments")
}

fn outcome(out: Output) -> Result<String, String> {
    if out.status.success() {
        Ok(String::from_utf8(out.stdout).unwrap().trim_end().to_string())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// `airlock template` of `chart` with `args` (`-f FILE`...): its text or error.
fn ours(airlock: &Airlock, chart: &Path, args: &[&str]) -> Result<String, String> {
    let out = airlock
        .cmd()
        .args(["--quiet", "template"])
        .arg(chart)
        .args(["--name", "rel", "--namespace", "ns"])
        .args(args)
        .output()
        .unwrap();
    outcome(out)
}

/// The same with `helm template`, when helm is built.
fn theirs(helm: &Path, chart: &Path, args: &[&str]) -> Result<String, String> {
    let out = Command::new(helm)
        .args(["template", "rel"])
        .arg(chart)
        .args(["--namespace", "ns"])
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {helm:?}: {e}"));
    outcome(out)
}

/// `.Values` as JSON, as the chart's ConfigMap prints it.
fn values_json(text: &str) -> serde_json::Value {
    let line = text.lines().find_map(|l| l.trim().strip_prefix("values: ")).unwrap_or_else(|| panic!("{text}"));
    let json: String = serde_json::from_str(line).unwrap();
    serde_json::from_str(&json).unwrap()
}

/// Airlock renders `chart` with `args`; when helm is built, it renders the
/// same text (or both refuse). Airlock's text.
fn render_as_helm(airlock: &Airlock, helm: Option<&Path>, chart: &Path, args: &[&str]) -> Result<String, String> {
    let ours = ours(airlock, chart, args);
    if let Some(helm) = helm {
        match (theirs(helm, chart, args), &ours) {
            (Ok(theirs), Ok(ours)) => assert_eq!(&theirs, ours, "{args:?}: airlock's text differs from helm's"),
            (Err(_), Err(_)) => {}
            (theirs, ours) => panic!("{args:?}: helm {theirs:?}\nairlock {ours:?}"),
        }
    }
    ours
}

#[test]
fn values_yaml_with_long_comment_blocks_loads() {
    let airlock = Airlock::new();
    let helm = built_helm();
    let chart = fixtures().join("chart");
    let text = render_as_helm(&airlock, helm.as_deref(), &chart, &[]).unwrap();
    assert_eq!(
        values_json(&text),
        serde_json::json!({
            "enabled": true,
            "extraEnv": [{"name": "A", "value": "1"}, {"name": "B", "value": true}],
            "image": {"mode": 493, "pullPolicy": "IfNotPresent", "repository": "registry.example/app", "tag": "1.0"},
            "podSecurityContext": {"fsGroup": 2000, "runAsUser": 1000},
            "resources": {"limits": {"cpu": "500m"}, "requests": {"cpu": "100m"}},
            "tolerations": [{"key": "node-role.kubernetes.io/control-plane", "operator": "Exists"}]
        })
    );
}

#[test]
fn every_document_of_a_values_file_is_layered() {
    let airlock = Airlock::new();
    let helm = built_helm();
    let chart = fixtures().join("chart");

    // The fixture: five documents (comments only, `~`, empty, two maps),
    // long comment blocks in and between them; a later `null` deletes a
    // default (`enabled`).
    let layered = fixtures().join("layered.yaml");
    let text = render_as_helm(&airlock, helm.as_deref(), &chart, &["-f", layered.to_str().unwrap()]).unwrap();
    assert_eq!(
        values_json(&text),
        serde_json::json!({
            "extraEnv": [{"name": "A", "value": "1"}, {"name": "B", "value": true}],
            "image": {"mode": 493, "pullPolicy": "Always", "repository": "registry.example/app", "tag": "2.0"},
            "podSecurityContext": {"fsGroup": 2000, "runAsUser": 1000},
            "replicas": 3,
            "resources": {"limits": {"cpu": "500m", "memory": "1Gi"}, "requests": {"cpu": "100m"}},
            "tolerations": [{"key": "node-role.kubernetes.io/control-plane", "operator": "Exists"}]
        })
    );

    // Smaller cases: (file, the keys it sets in .Values, or None when
    // refused).
    let dir = tempfile::tempdir().unwrap();
    let cases: &[(&str, Option<serde_json::Value>)] = &[
        ("a: 1\n---\nb: 2\n", Some(serde_json::json!({"a": 1, "b": 2}))),
        ("a: 1\n---\nb: 2\n---\na: 7\n", Some(serde_json::json!({"a": 7, "b": 2}))),
        ("a: 1\n---\n---\nb: 2\n", Some(serde_json::json!({"a": 1, "b": 2}))),
        ("a: 1\n---\n\n---\nb: 2\n", Some(serde_json::json!({"a": 1, "b": 2}))),
        ("a: 1\n---\nnull\n---\nb: 2\n", Some(serde_json::json!({"a": 1, "b": 2}))),
        ("a: 1\n---\n~\n", Some(serde_json::json!({"a": 1}))),
        ("---\nnull\n", Some(serde_json::json!({}))),
        ("a: 1\n---\n{}\n", Some(serde_json::json!({"a": 1}))),
        ("m: {x: 1}\n---\nm: {z: 2}\n", Some(serde_json::json!({"m": {"x": 1, "z": 2}}))),
        ("a: 1\n--- null\n", None),
        ("a: 1\n---\n[]\n", None),
        ("a: 1\n---\nfalse\n", None),
    ];
    let plain = dir.path().join("plain");
    std::fs::create_dir_all(plain.join("templates")).unwrap();
    std::fs::write(plain.join("Chart.yaml"), "apiVersion: v2\nname: plain\nversion: 0.1.0\n").unwrap();
    std::fs::write(plain.join("templates/values.yaml"), "data:\n  values: {{ toJson .Values | quote }}\n").unwrap();
    for (i, (text, want)) in cases.iter().enumerate() {
        let file = dir.path().join(format!("case{i}.yaml"));
        std::fs::write(&file, text).unwrap();
        let got = render_as_helm(&airlock, helm.as_deref(), &plain, &["-f", file.to_str().unwrap()]);
        match (want, got) {
            (Some(want), Ok(rendered)) => assert_eq!(&values_json(&rendered), want, "{text:?}"),
            (None, Err(e)) => assert!(e.contains("cannot read values file"), "{text:?}: {e}"),
            (want, got) => panic!("{text:?}: wanted {want:?}, got {got:?}"),
        }
    }
    // Files later on the command line are layered over the earlier ones.
    let (first, second) = (dir.path().join("case8.yaml"), dir.path().join("case1.yaml"));
    let args = ["-f", first.to_str().unwrap(), "-f", second.to_str().unwrap()];
    let text = render_as_helm(&airlock, helm.as_deref(), &plain, &args).unwrap();
    assert_eq!(values_json(&text), serde_json::json!({"a": 7, "b": 2, "m": {"x": 1, "z": 2}}));
}
