//! `airlock lint SPEC`: a spec with one of each mistake gets each named with
//! its spec line, without anything pulled (a registry image entry points at
//! a dead address, and lint never notices); the five systems' specs lint
//! clean.

use crate::support::*;
use std::path::Path;

#[test]
fn lint_names_every_mistake_with_its_line_and_pulls_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let airlock = Airlock::new();
    let mut layout = LayoutBuilder::new(&d.join("img"));
    let img = layout.image("amd64", &[layer(&[("f", b"x", 0o644)])]);
    layout.tag(&img, "1.0");
    for (name, template) in [
        ("good", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a}\nspec: {template: {spec: {containers: [{name: a, image: \"127.0.0.1:9/app:{{ .Values.tag }}\"}]}}}\n"),
        ("broken", "{{ .Values.missing.deeper }}\n"),
        ("badimage", "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: a, image: \"UPPER/Case:1\"}]}\n"),
        ("old", "apiVersion: policy/v1beta1\nkind: PodSecurityPolicy\nmetadata: {name: psp}\n"),
    ] {
        std::fs::create_dir_all(d.join(name).join("templates")).unwrap();
        std::fs::write(d.join(name).join("Chart.yaml"), format!("apiVersion: v2\nname: {name}\nversion: 0.1.0\n")).unwrap();
        std::fs::write(d.join(name).join("values.yaml"), "tag: \"1\"\n").unwrap();
        std::fs::write(d.join(name).join("templates/t.yaml"), template).unwrap();
    }
    let spec = write_spec(
        d,
        concat!(
            "components:\n",
            "  - name: a\n",
            "    images:\n",
            "      - \"oci-layout:./img:1.0\"\n",
            "      - \"oci-layout:./img:2.0\"\n",
            "      - \"127.0.0.1:9/never/pulled:1\"\n",
            "    charts:\n",
            "      - {name: good, path: ./good}\n",
            "      - {name: broken, path: ./broken}\n",
            "      - {name: badimage, path: ./badimage}\n",
            "      - {name: old, path: ./old}\n",
            "    crds: [missing-crd.yaml]\n",
            "    manifests: [\"manifests/*.yaml\"]\n",
            "    files: [{source: missing-file, target: /etc/x}]\n",
            "environments:\n",
            "  prod:\n",
            "    charts:\n",
            "      good: {values: {tag: \"2\"}}\n",
        ),
    );
    let s = spec.to_str().unwrap();
    let out = airlock.run(&["lint", s]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(FAILURE), "{text}");
    let line = |n: u32| format!("{s}:{n}:");
    for (at, expected) in [
        (line(8), "2.0"),
        (line(12), "chart `broken` does not render"),
        (line(13), "`UPPER/Case:1`"),
        (line(14), "PodSecurityPolicy"),
        (line(15), "missing-crd.yaml does not exist"),
        (line(16), "no file matches `manifests/*.yaml`"),
        (line(17), "missing-file does not exist"),
    ] {
        assert!(
            text.lines().any(|l| l.starts_with(&at) && l.contains(expected)),
            "no `{at} ... {expected}` in:\n{text}"
        );
    }
    assert!(!text.contains("never/pulled") && !text.contains("good`"), "a sound entry was flagged:\n{text}");

    let json: serde_json::Value = serde_json::from_slice(&airlock.run(&["lint", s, "--json"]).stdout).unwrap();
    let findings = json["findings"].as_array().unwrap();
    assert_eq!(findings.iter().filter(|f| f["severity"] == "error").count(), 6, "{json}");
    assert_eq!(findings.iter().filter(|f| f["severity"] == "warning").count(), 1, "{json}");
    assert!(json["chartsRendered"].as_u64().unwrap() >= 2, "{json}");

    // A spec that does not load is one error naming its line.
    std::fs::write(&spec, "apiVersion: airlock.dev/v1\nkind: Bundle\nmetadata: {name: t, version: 1.0.0}\ncomponents: [{name: a, bogus: 1}]\n").unwrap();
    let out = airlock.run(&["lint", s]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains(&format!("{s}:4:")) && err.contains("bogus"), "{err}");
}

#[test]
fn the_systems_specs_lint_clean() {
    let airlock = Airlock::new();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for system in ["penguin", "agent-hub", "pap", "aiaas", "kubechat"] {
        let spec = root.join("bundles").join(system).join("airlock.yaml");
        let json: serde_json::Value =
            serde_json::from_str(&airlock.ok(&["lint", spec.to_str().unwrap(), "--json"])).unwrap();
        assert_eq!(json["findings"].as_array().unwrap().len(), 0, "{system}: {json}");
        assert!(json["chartsRendered"].as_u64().unwrap() >= 1, "{system}: {json}");
    }
}
